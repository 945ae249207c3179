/* The host end of a link, one implementation for every host end (the DPDK
 * PMD net_vlink, tests/vlink-hostend): its data path (lending buffers on
 * fill and rx, taking them back from done and tx through the ledger, and
 * how many empty buffers fill is kept stocked with), opening an epoch with
 * the reset handshake (vlink_epoch.h), and taking back what a peer that
 * left returned or never took.  Buffers are named by their ledger index
 * (vlink_ledger.h); each host end keeps them at home its own way (an mbuf
 * pool, a free list), takes them from there through `get` and puts them
 * back through `home`.
 *
 * Threads: on each channel, the ring operations of the data path have one
 * thread each side (refill and recv: the thread receiving; send and reap:
 * the thread sending); the ledger is safe for the two.  reset and drain
 * run, like the host functions of vlink_epoch.h, while no thread of the
 * host end touches the link's rings. */
#ifndef VLINK_HOSTEND_H
#define VLINK_HOSTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "vlink_ledger.h"
#include "vlink_linkmem.h"
#include "vlink_notify.h"

#define VLINK_HOSTEND_BURST 64       /* most descriptors per ring operation */
#define VLINK_HOSTEND_FILL_STOCK 256 /* empty buffers kept on fill */
#define VLINK_HOSTEND_REFILL 32      /* stock fill by at least this many */

/* k buffers are home again: their ledger indexes (a negative one is a
 * descriptor the ledger refused, counted in its errors: skip it). */
typedef void vlink_hostend_home_fn(void *arg, const int64_t *idx, unsigned k);
/* Take up to n (<= VLINK_HOSTEND_BURST) buffers from home for the peer to
 * write into: d[i].pool_offset, and d[i].data_off where it should start (a
 * hint); returns how many (0: home is empty). */
typedef unsigned vlink_hostend_get_fn(void *arg, struct vlink_desc *d, unsigned n);

struct vlink_hostend {
	struct vlink_linkmem *m;        /* the link, mapped as its host end */
	struct vlink_ledger *led;       /* what this end has lent */
	vlink_hostend_home_fn *home;    /* where buffers go back to */
	void *arg;                      /* home's and get's */
	vlink_hostend_get_fn *get;      /* where refill finds buffers (NULL:
					   this end never refills) */
	struct vlink_notify *notify;    /* event mode: send and reset wake
					   a peer asleep on rx, refill one
					   waiting for fill; NULL: never */
};

/* The data path, on data channel ch (1..nch). */

/* Keep min(ring size, VLINK_HOSTEND_FILL_STOCK) empty buffers on fill for
 * the peer to send in (not more: a peer that only receives would hold
 * them), topping up by VLINK_HOSTEND_REFILL or more at a time, and wake a
 * peer that waits for them (need_wakeup on fill: the guest kernel driver,
 * whose transmit queue stops while fill is empty).  Returns how many
 * buffers were lent, or -ENOBUFS if some were due and home had none. */
int vlink_hostend_refill(const struct vlink_hostend *h, unsigned ch);

/* Take home what the peer has finished with on done, up to max_bursts
 * bursts; returns how many descriptors the ledger refused (forged, or
 * returned twice). */
unsigned vlink_hostend_reap(const struct vlink_hostend *h, unsigned ch, unsigned max_bursts);

/* Receive: up to n (<= VLINK_HOSTEND_BURST) descriptors from tx into d,
 * each checked by the ledger: idx[i] is its buffer, now the caller's, or
 * -1 for one refused (never to be read: its packet is lost).  Returns how
 * many descriptors came; *bad is increased by the refused. */
unsigned vlink_hostend_recv(const struct vlink_hostend *h, unsigned ch, struct vlink_desc *d,
			    int64_t *idx, unsigned n, uint64_t *bad);

/* Send: lend and publish on rx (waking the peer if it sleeps there) the
 * first of d[0..n) the ring has room for, in order (a packet's pieces may
 * be split across calls: the peer waits for its last).  A descriptor whose buffer is lent already (the
 * application sent it twice) does not go; it is counted in *dup, and d's
 * entries after it are moved down over it.  Returns how many of d were
 * used up, sent or not. */
unsigned vlink_hostend_send(const struct vlink_hostend *h, unsigned ch, struct vlink_desc *d,
			    unsigned n, unsigned *dup);

/* What a reset did. */
struct vlink_hostend_reset {
	uint32_t epoch;                 /* the epoch it opened */
	int wait;                       /* 0: the peer acknowledged, or there is
					   none; -ETIMEDOUT: it did not in time;
					   -EINTR: *stop ended the wait */
	unsigned reclaimed;             /* buffers taken back from the peer */
};

/* Reset the link: open a new epoch, wait up to timeout_ms for the peer to
 * acknowledge it (a true *stop, which may be NULL, ends the wait early),
 * take back every buffer lent whatever the peer said, empty every ring,
 * then set this end's state to `state` (VLINK_END_UP, or VLINK_END_DOWN
 * when the end goes away). */
void vlink_hostend_reset(const struct vlink_hostend *h, int timeout_ms,
			 const volatile bool *stop, uint32_t state,
			 struct vlink_hostend_reset *out);

/* The peer has left (it said so, or the daemon did): on data channel ch,
 * take home what it returned on done and tx (as unused buffers) and, if
 * it is not up again meanwhile, what it never took from rx and fill
 * (vlink_ring_retract: all of it or nothing).  Returns how many buffers
 * came home, or -ENOMEM. */
int vlink_hostend_drain(const struct vlink_hostend *h, unsigned ch);

#endif
