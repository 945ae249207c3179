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
 *  - guest mode: the pci-vlink device inside a VM (comes with the QEMU
 *    device).
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
};

struct vlink_guest_info {
	char name[33];
	char mac[18];
	char domain[33];
	uint32_t nchannels;           /* data channels 1..nchannels */
	uint32_t ring_size;
	uint32_t buf_size;
};

/* Attach to the peer end of `link` through vlinkd at `socket` (NULL: the
 * default), waiting up to timeout_ms for the daemon.  why[0..n) says what
 * went wrong on failure (may be NULL). */
int vlink_guest_open_socket(struct vlink_guest_link **out, const char *socket,
			    const char *link, int timeout_ms, char *why, size_t n);
/* Detach: the peer end goes down.  Buffers still held are lost to the
 * host until it reclaims them. */
void vlink_guest_close(struct vlink_guest_link *l);

const struct vlink_guest_info *vlink_guest_info(const struct vlink_guest_link *l);
/* Is the host end up? */
bool vlink_guest_host_up(const struct vlink_guest_link *l);
/* Wait until the host end is up: 0, or -ETIMEDOUT. */
int vlink_guest_wait_host(struct vlink_guest_link *l, int timeout_ms);

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
 * how many went (the rest are still the caller's). */
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

#endif
