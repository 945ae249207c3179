/* The host end's side of a link's lifecycle, one implementation for every
 * host end (the DPDK PMD net_vlink, tests/vlink-hostend): opening an epoch
 * with the reset handshake (vlink_epoch.h), and taking back what a peer
 * that left returned or never took.  Buffers are named by their ledger
 * index (vlink_ledger.h); each host end keeps them at home its own way (an
 * mbuf pool, a free list) and is handed them through `home`.
 *
 * Like the host functions of vlink_epoch.h, these run while no thread of
 * the host end touches the link's rings. */
#ifndef VLINK_HOSTEND_H
#define VLINK_HOSTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "vlink_ledger.h"
#include "vlink_linkmem.h"

/* k buffers are home again: their ledger indexes (a negative one is a
 * descriptor the ledger refused, counted in its errors: skip it). */
typedef void vlink_hostend_home_fn(void *arg, const int64_t *idx, unsigned k);

struct vlink_hostend {
	struct vlink_linkmem *m;        /* the link, mapped as its host end */
	struct vlink_ledger *led;       /* what this end has lent */
	vlink_hostend_home_fn *home;    /* where buffers go back to */
	void *arg;                      /* home's */
};

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
