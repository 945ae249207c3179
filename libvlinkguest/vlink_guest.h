/* libvlinkguest: the peer end of a vlink link.
 *
 * A peer sends and receives packets in buffers of its domain's pool; the
 * host end (the DPDK PMD) lends it the buffers.  Per data channel there are
 * four rings (see vlink_shm.h): the peer receives on `rx`, gives finished
 * buffers back on `done`, takes empty buffers from `fill` and sends on `tx`.
 * Every buffer the peer gets must go back exactly once, on `done` or `tx`.
 *
 * Two ways to reach a link, one data path:
 *  - socket mode: attach through vlinkd (a container, a test, a host
 *    process): vlink_guest_open_socket();
 *  - guest mode: the pci-vlink device inside a VM, through sysfs:
 *    vlink_guest_open_pci().
 * After the open, both modes run exactly the same code (vlink_linkmem, the
 * rings, the checks on every descriptor).
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure; vlink_strerror() turns it into text.  A handle is used by one
 * thread at a time; different links (or channels, see below) may be used
 * from different threads. */
#ifndef VLINK_GUEST_H
#define VLINK_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vlink_guest_link;

/* One packet buffer (one descriptor; a packet larger than a buffer is a
 * chain of them, every one but the last with VLINK_GUEST_F_MORE). */
struct vlink_guest_pkt {
	void *data;          /* where the data starts (buffer + data_off) */
	uint32_t len;        /* bytes of data (tx_alloc: 0) */
	uint32_t room;       /* bytes available from data to the buffer's end */
	uint16_t flags;      /* VLINK_GUEST_F_* */
	uint16_t data_off;   /* offset of data in its buffer */
	uint32_t epoch;      /* the host epoch it was lent in (set by rx_burst
				and tx_alloc; keep it when handing the buffer
				back: one of an older epoch is dropped) */
	uint64_t buf;        /* the buffer's pool offset (identifies it) */
};

#define VLINK_GUEST_F_MORE 1u

/* Counters of one link, summed over its channels. */
struct vlink_guest_stats {
	uint64_t rx_pkts, rx_bytes;   /* descriptors received, their bytes */
	uint64_t tx_pkts, tx_bytes;   /* descriptors sent */
	uint64_t freed;               /* buffers returned on done */
	uint64_t allocated;           /* buffers taken from fill */
	uint64_t bad_desc;            /* host descriptors outside the link's
					 buffers (dropped, never touched) */
	uint64_t bad_index;           /* impossible ring indices seen */
	uint64_t stale;               /* buffers of an older epoch handed back
					 after a reset: dropped (the host
					 took them back) */
	uint64_t resets;              /* host restarts/resets this handle
					 went through after its first epoch */
	uint64_t daemon_losses;       /* socket mode: times vlink_guest_poll()
					 found the connection to vlinkd gone */
	uint64_t reconnects;          /* socket mode: times it attached the
					 peer end again to a vlinkd that came
					 back, keeping the same mappings */
	uint64_t sleeps;              /* event mode: times a channel was armed
					 to sleep (vlink_guest_event_arm,
					 vlink_guest_wait) */
	uint64_t wakeups;             /* event mode: signals sent to a host end
					 asleep in its receive */
	uint64_t late;                /* event mode: vlink_guest_wait()s that
					 ran to their timeout and then found
					 something to receive: a wake-up that
					 did not come (or, rarely, came just as
					 the sleep ended) */
};

struct vlink_guest_info {
	char name[33];
	char mac[18];
	char domain[33];
	uint32_t nchannels;           /* data channels 1..nchannels */
	uint32_t ring_size;
	uint32_t buf_size;
	uint32_t mtu;                 /* the link's MTU: send no packet larger than
					 mtu + 18 bytes (an Ethernet header and a
					 VLAN tag); 0 in a listing whose link header
					 was not readable */
};

/* Attach to the peer end of `link` through vlinkd at `socket` (NULL: the
 * default), waiting up to timeout_ms for the daemon.  why[0..n) says what
 * went wrong on failure (may be NULL).
 *
 * The handle keeps its connection to vlinkd: the daemon counts the peer
 * end attached while it is open, refuses a second peer end, and tells the
 * host end when it closes (END_DOWN: the host then takes back what this
 * end held).  The data path never talks to the daemon; when vlinkd dies,
 * traffic goes on, and vlink_guest_poll() attaches the peer end again to
 * the daemon that comes back (see there), so call it regularly. */
int vlink_guest_open_socket(struct vlink_guest_link **out, const char *socket,
			    const char *link, int timeout_ms, char *why, size_t n);
/* Guest mode: open the peer end of `link` on a pci-vlink device (PCI
 * vendor 0x1234, device 0x564c) inside a VM.  `dev` chooses the device:
 *   NULL            every pci-vlink device under /sys/bus/pci/devices, in
 *                   address order: the first whose domain has the link;
 *   "0000:00:04.0"  the device at that PCI address ("00:04.0" also works);
 *   a path ('/')    a device directory (one with a `vendor` file), or a
 *                   directory of device directories to search (the tests
 *                   use a tree of plain files that looks like sysfs).
 * Steps: enable the device (write 1 to `enable` if it reads 0); mmap
 * resource0 (the registers; MAGIC and VERSION are checked), wait up to
 * timeout_ms (-1: forever) for STATUS MAPPED, note GENERATION, read
 * POOL_SIZE and REGION_SIZE; mmap resource2 (the domain's pool, whole:
 * pool offset == BAR offset) and resource4 (the channel region, whole);
 * copy the link table under its sequence lock (retried while the daemon
 * writes it); find the link by name; take an exclusive lock on the link
 * (an OFD lock on its header's bytes of resource4: a second open in the
 * guest gets -EBUSY, and the lock goes with the process); build the same
 * struct vlink_linkmem as socket mode (vlink_linkmem_from_bars: every
 * ring and buffer checked to lie inside the BARs) and set peer_state up.
 *
 * The handle then watches the device (vlink_guest_poll()): after every
 * GENERATION change (daemon reconnect, link created or deleted) it
 * re-reads the link table.  The BARs are the same guest-physical ranges
 * across such changes, so an unchanged link keeps working with the same
 * mappings; a deleted link makes every call return -ENOLINK, a link whose
 * layout or rings changed under it (deleted and created again, memory
 * lost) -ESTALE: close it and open again.
 *
 * Errors: -ENODEV (no pci-vlink device, or not one at `dev`), -ENOENT (no
 * such link in the device's domain), -ETIMEDOUT (not MAPPED in time),
 * -EPROTO (bad magic or version), -EBUSY (open by another process), -EACCES
 * / -EPERM (not root), -EINVAL (a link table entry that does not fit the
 * BARs); why[] names the device and the reason. */
int vlink_guest_open_pci(struct vlink_guest_link **out, const char *dev,
			 const char *link, int timeout_ms, char *why, size_t n);
/* The same without becoming the peer end: no lock, peer_state untouched,
 * the data path refused with -EPERM; for watching a link that another
 * process serves (vlink_guest_state(), vlink_guest_ring_state()). */
int vlink_guest_observe_pci(struct vlink_guest_link **out, const char *dev,
			    const char *link, int timeout_ms, char *why, size_t n);

/* Check that the link is still there and the same.  Guest mode: reads the
 * device's GENERATION register (one MMIO read); when it changed, waits for
 * the link table to be stable, finds the link again, compares its entry
 * (offsets, sizes, channels) with the one opened, checks its header magic
 * and that the indices this end publishes in shared memory are still the
 * ones it wrote (a recreated link starts from zero).  Socket mode: checks
 * the link header's magic (cleared when the link is deleted), then the
 * connection to vlinkd (events that came are dropped; nothing blocks).
 * When the connection is gone it is closed, and from then on each poll
 * (at most one try per 100 ms, backing off to one per second) connects
 * again (one try, no wait) and asks for the peer end of the link:
 *  - the daemon sends the same memory (vlink_linkmem_same_files: same
 *    files, offsets, layout): the handle goes on with its mappings, the
 *    daemon knows the peer end again; stats: reconnects; returns 1;
 *  - the daemon has no such link any more: -ENOLINK; other memory for it
 *    (its state was lost): -ESTALE (both for good, as below);
 *  - the daemon refuses because another peer end is attached (it took the
 *    link while this end was unknown to the new daemon): this handle keeps
 *    its mapping and keeps trying; both processes then move buffers on one
 *    link and the host end cannot tell them apart: stop one of them;
 *  - no daemon, or no answer in time: tried again later.
 * Only those tries wait, for the daemon's answers (Hello up to 5 s,
 * AttachLink up to 1 s; a daemon that accepts connections answers at
 * once); the data path never waits for the daemon.
 * Returns 0 (nothing changed), 1 (the generation changed and the link is
 * unchanged, or, socket mode, the peer end is attached again: it goes on
 * working with the same mappings), -EAGAIN (the device's memory is not
 * mapped just now: the data path returns 0 until it is), -ENOLINK (the
 * link was deleted), -ESTALE (it changed under us).  In guest mode the
 * data path calls it by itself once every 1024 calls on a channel (socket
 * mode: never, as it may wait for the daemon); vlink_guest_wait_host()
 * on every round.  A program should call it about once a second from a
 * thread where a short wait does not matter (vlink-peer: with its progress
 * line; the PMD's peer end: its control thread).  One poll runs at a time
 * (a concurrent call returns at once).  After
 * -ENOLINK or -ESTALE every call on the handle returns that error and
 * vlink_guest_close() leaves the link's memory alone.  See docs/guest.md. */
int vlink_guest_poll(struct vlink_guest_link *l);

/* Detach: the peer end gives back what it can and goes down.  Buffers
 * still held are the host's again at its next reset. */
void vlink_guest_close(struct vlink_guest_link *l);

const struct vlink_guest_info *vlink_guest_info(const struct vlink_guest_link *l);
/* Is the host end up, in an epoch this handle may join? */
bool vlink_guest_host_up(const struct vlink_guest_link *l);
/* Wait until the host end is up (timeout_ms -1: forever): 0, -ETIMEDOUT,
 * or what vlink_guest_poll() found (-ENOLINK, -ESTALE), which it calls on
 * every round (every millisecond).  Acknowledges a new host epoch meanwhile
 * (see "Epochs" below). */
int vlink_guest_wait_host(struct vlink_guest_link *l, int timeout_ms);

/* The data path.  Guest mode: a handle whose link is gone returns -ENOLINK
 * or -ESTALE (see vlink_guest_poll), an observer handle -EPERM, and while
 * the device's memory is not mapped the calls return 0.
 *
 * Epochs (docs/design.md): a handle starts by asking the host end for a
 * reset and moves nothing until the host is up in a new epoch (so that
 * nothing a dead predecessor held is reused).  When the host end restarts
 * or resets later, every buffer lent before is the host's again: the
 * first call on each channel after that acknowledges the new epoch, the
 * calls return 0 until the host is up again, and buffers of the old epoch
 * the caller still holds are dropped when handed back (tx_burst, free and
 * reflect count them as gone; stats: stale).  The caller does not need to
 * do anything, but must not touch such a buffer's data after the call
 * that acknowledged (a receive it was given is void).  A channel must be
 * served by its calls for the host's reset to go quickly: one that sits
 * idle while holding buffers makes the host wait for its bounded timeout. */

/* Receive up to n buffers on data channel ch (1..nchannels). */
int vlink_guest_rx_burst(struct vlink_guest_link *l, unsigned ch,
			 struct vlink_guest_pkt *pkts, unsigned n);
/* Take up to n empty buffers for transmission: len 0, data at the headroom
 * the host suggests (data_off; 0 from a plain host, RTE_PKTMBUF_HEADROOM
 * from the DPDK PMD), room = what is left of the buffer.  The caller may
 * move the data anywhere in the buffer by changing data and data_off
 * together (data - data_off is the buffer's start). */
int vlink_guest_tx_alloc(struct vlink_guest_link *l, unsigned ch,
			 struct vlink_guest_pkt *pkts, unsigned n);
/* Send up to n buffers (filled by the caller: data, len, flags); returns
 * how many went, from the front (the rest are still the caller's; buffers
 * of an older epoch count as gone). */
int vlink_guest_tx_burst(struct vlink_guest_link *l, unsigned ch,
			 const struct vlink_guest_pkt *pkts, unsigned n);
/* Give up to n buffers back unsent (received or allocated); returns how
 * many went. */
int vlink_guest_free(struct vlink_guest_link *l, unsigned ch,
		     const struct vlink_guest_pkt *pkts, unsigned n);
/* Send received buffers straight back to the host (zero copy echo): the
 * same as vlink_guest_tx_burst on what vlink_guest_rx_burst returned. */
int vlink_guest_reflect(struct vlink_guest_link *l, unsigned ch,
			const struct vlink_guest_pkt *pkts, unsigned n);

void vlink_guest_stats(const struct vlink_guest_link *l, struct vlink_guest_stats *s);

/* Event mode (docs/guest.md "Event mode"): instead of polling an empty
 * channel, sleep until the host end sends on it.  Socket mode: the handle
 * has the link's notifiers from vlinkd (protocol version 3; a vlinkd that
 * came back gives new ones, swapped in by vlink_guest_poll() under the
 * same fd numbers).  Guest mode: the device's INTx when it is bound to
 * uio_pci_generic (one interrupt for every channel: serve the handle's
 * channels from one thread), and its doorbell.  tx_burst and reflect wake
 * a host end asleep in its receive by themselves.
 *
 * The fd to sleep on for channel ch in the caller's own poll/epoll loop:
 * readable while armed and the channel has something to receive; the same
 * fd for the handle's life.  -ENOTSUP without notifiers (a vlinkd too
 * old; in guest mode a device not bound to uio_pci_generic or of register
 * version 1): poll instead. */
int vlink_guest_event_fd(const struct vlink_guest_link *l, unsigned ch);
/* Before sleeping on the event fd: from now on it becomes readable when
 * channel ch has something to receive, at once if it has already.  0, or
 * -ENOTSUP as above. */
int vlink_guest_event_arm(struct vlink_guest_link *l, unsigned ch);
/* After waking (or deciding not to sleep): the host end stops signalling. */
void vlink_guest_event_disarm(struct vlink_guest_link *l, unsigned ch);
/* arm, sleep on the event fd up to timeout_ms (-1: no limit), disarm:
 * 1 something to receive (or a host epoch change to notice), 0 timed out,
 * -ENOTSUP (poll instead), -EINTR.  Sleeps should be bounded (a host end
 * that dies while this end sleeps sends nothing; the next vlink_guest_poll
 * finds it out). */
int vlink_guest_wait(struct vlink_guest_link *l, unsigned ch, int timeout_ms);

/* Both ends' state from the link header (enum: 0 down, 1 up, 2 resetting,
 * 3 leaving). */
struct vlink_guest_state {
	uint32_t host_state, host_epoch;
	uint32_t peer_state, peer_ack_epoch;
};
void vlink_guest_state(const struct vlink_guest_link *l, struct vlink_guest_state *s);
/* The free-running indices of data channel ch's rings, in the order rx,
 * done, fill, tx, as now published in shared memory (head: what the
 * producer has put in, tail: what the consumer has taken).  0 or -EINVAL. */
struct vlink_guest_ring_state {
	uint32_t head, tail;
};
int vlink_guest_ring_state(const struct vlink_guest_link *l, unsigned ch,
			   struct vlink_guest_ring_state r[4]);

/* A pci-vlink device's registers (BAR0), read now. */
struct vlink_guest_dev {
	char addr[64];           /* its sysfs directory name (PCI address) */
	char path[256];          /* its sysfs directory */
	uint32_t version;        /* VERSION */
	uint32_t status;         /* STATUS: VLINK_GUEST_DEV_* bits */
	uint32_t generation;     /* GENERATION: +1 after each DomainMap */
	uint32_t connects;       /* CONNECTS: connections to vlinkd so far */
	uint32_t nsegments;      /* NSEGMENTS: pool segments behind BAR2 */
	uint64_t pool_size;      /* POOL_SIZE: bytes of BAR2 that hold the pool */
	uint64_t region_size;    /* REGION_SIZE: bytes of BAR4 that hold rings */
	uint64_t bar2_size, bar4_size; /* sizes of resource2 and resource4 */
	char domain[33];         /* DOMAIN: the vm_domain property */
	/* vlink_guest_dev_info() on an open handle only: */
	uint32_t seen_generation; /* the generation the handle last validated */
	uint64_t refreshes;      /* generation changes it went through */
};

#define VLINK_GUEST_DEV_CONNECTED 1u  /* connected to vlinkd */
#define VLINK_GUEST_DEV_MAPPED    2u  /* BAR2/BAR4 hold the domain's memory */
#define VLINK_GUEST_DEV_ERROR     4u  /* the device reported an error */

/* The pci-vlink devices `dev` designates (as for vlink_guest_open_pci; NULL:
 * all), up to max of them into out[]; returns how many there are (which
 * may be more than max), or a negative errno (-ENODEV: none). */
int vlink_guest_list_devices(const char *dev, struct vlink_guest_dev *out, unsigned max,
			     char *why, size_t n);
/* The registers of an open guest-mode handle's device, with the handle's
 * view of them; -ENOTSUP in socket mode. */
int vlink_guest_dev_info(const struct vlink_guest_link *l, struct vlink_guest_dev *d);

/* One link of a device's link table (vlink_guest_list_pci). */
struct vlink_guest_listed {
	struct vlink_guest_info info;
	char dev[64];            /* PCI address of the device it was found on */
	uint32_t host_state;     /* from its header: 0 down, 1 up, 2 resetting */
	uint32_t peer_state;
};
/* Guest mode: the links of the domains of the devices `dev` designates
 * (as for vlink_guest_open_pci), read from each device's link table
 * (waiting up to timeout_ms for MAPPED), in table order per device; up to
 * max into out[]; returns how many there are, or a negative errno. */
int vlink_guest_list_pci(const char *dev, struct vlink_guest_listed *out, unsigned max,
			 int timeout_ms, char *why, size_t n);

#endif
