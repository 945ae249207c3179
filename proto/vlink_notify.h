/* One end's notifiers of a link, for event mode (docs/shm.md "Sleeping",
 * docs/protocol.md "Notifiers").  vlinkd makes two eventfds per data
 * channel; an end sleeps on its own ("mine": wake_host for the host end)
 * after vlink_ring_sleep_begin() and writes the other end's ("theirs")
 * when vlink_ring_wake_due() says so.
 *
 * The fd numbers here never change: before vlinkd's notifiers come they
 * are private eventfds (a signal goes nowhere, a wait waits for a timeout
 * or a swap), and vlink_notify_swap() puts vlinkd's (new ones after it
 * restarted) onto the same numbers with dup3().  So a data thread may
 * signal and drain while a control thread swaps, and an application that
 * registered an fd in its epoll once (DPDK's rx interrupts) keeps it:
 * what it waits on is wait[] (an epoll fd holding mine[], re-armed at each
 * swap), never mine[] itself.  After a swap each end signals both of the
 * channel's notifiers once, so a wake-up written to the old ones while
 * the ends swapped is not lost (it costs a spurious wake at most). */
#ifndef VLINK_NOTIFY_H
#define VLINK_NOTIFY_H

#include <stdbool.h>

#include "vlink_client.h"
#include "vlink_ring.h"

/* A device in place of vlinkd's eventfds: a guest's pci-vlink (docs/guest.md,
 * "Event mode").  The other end is woken through a register (the device's
 * doorbell, which QEMU wires to the host end's eventfd), this end by the
 * device's interrupt, whose fd every channel's wait fd then holds. */
struct vlink_notify_dev {
	void (*doorbell)(void *arg, unsigned ch); /* wake the other end on ch */
	void (*arm)(void *arg);    /* before a sleep: acknowledge the interrupt
				      and let it come again */
	bool (*disarm)(void *arg); /* after: consume what it counted; true if
				      an interrupt came (it was every
				      channel's: the others are woken too) */
	void *arg;
	int fd;                    /* readable when the interrupt came */
};

struct vlink_notify {
	unsigned nch;           /* data channels (1..) */
	bool host;              /* this end is the host end */
	bool live;              /* vlinkd's notifiers are in (a swap succeeded),
				   or a device's (vlink_notify_init_dev) */
	const struct vlink_notify_dev *dev; /* NULL: vlinkd's eventfds */
	int *mine;              /* [ch - 1]: the eventfd this end sleeps on */
	int *theirs;            /* [ch - 1]: the eventfd the other end sleeps on */
	int *wait;              /* [ch - 1]: an epoll fd holding mine[ch - 1] */
	uint64_t signals;       /* times this end wrote the other's (atomic:
				   channels may be served by several threads) */
};

/* Private eventfds and wait fds for nch channels.  0 or -errno. */
int vlink_notify_init(struct vlink_notify *n, unsigned nch, bool host);
/* A peer end's notifiers through a device (dev is the caller's and must
 * outlive n): init, then dev->fd in every channel's wait fd; live at once.
 * theirs[] is unused (signals ring the doorbell).  0 or -errno. */
int vlink_notify_init_dev(struct vlink_notify *n, unsigned nch,
			  const struct vlink_notify_dev *dev);
/* Close them all (a zeroed struct is fine). */
void vlink_notify_fini(struct vlink_notify *n);

/* Put channel ch's new notifiers in (the fds become n's: they are closed
 * here, on every path), re-arm its wait fd and signal both.  0 or -errno
 * (the channel keeps its old ones then). */
int vlink_notify_swap(struct vlink_notify *n, unsigned ch, int wake_host, int wake_peer);

/* Ask vlinkd for the attached link's notifiers (GetNotifiers) and swap
 * them all in: 0, or -errno and why[0..len) saying what failed (-EPROTO
 * also when vlinkd is too old to have them).  A reply that is not whole
 * and right swaps nothing. */
int vlink_notify_fetch(struct vlink_notify *n, struct vlink_client *c, const char *link,
		       int timeout_ms, char *why, size_t len);

/* Write the other end's notifier of channel ch. */
void vlink_notify_signal(struct vlink_notify *n, unsigned ch);
/* The producer's side: after publishing on r (the ring of channel ch the
 * other end consumes), signal it if it sleeps (vlink_ring_wake_due); true
 * if it did.  Does nothing, not even the fence, while n is NULL or not
 * live: an end without notifiers never sleeps on them. */
static inline bool vlink_notify_wake(struct vlink_notify *n, unsigned ch,
				     struct vlink_ring *r)
{
	if (!n || !n->live || !vlink_ring_wake_due(r))
		return false;
	vlink_notify_signal(n, ch);
	return true;
}

/* The consumer's side, for r, the ring of channel ch this end consumes.
 * arm: from now on wait[ch - 1] becomes readable when r has descriptors,
 * at once if it has some already (drains old signals, sets need_wakeup,
 * looks again; vlink_ring_sleep_begin).  disarm: awake again (clears
 * need_wakeup and drains).  Between them the thread sleeps on wait[ch - 1]
 * in its own poll or epoll (DPDK's rx interrupts), or in
 * vlink_notify_wait().  Both return false and do nothing while n is not
 * live. */
bool vlink_notify_arm(const struct vlink_notify *n, unsigned ch, struct vlink_ring *r);
void vlink_notify_disarm(const struct vlink_notify *n, unsigned ch, struct vlink_ring *r);
/* arm, sleep until r has descriptors or timeout_ms passes (-1: no limit),
 * disarm: 1 woken, 0 timed out (or not live: the caller polls), 2 timed
 * out with descriptors on r: a wake-up that did not come (or, rarely, one
 * published as the sleep ended), -errno (-EINTR: a signal handler ran). */
int vlink_notify_wait(const struct vlink_notify *n, unsigned ch, struct vlink_ring *r,
		      int timeout_ms);

#endif
