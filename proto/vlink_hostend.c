#include <errno.h>
#include <stdlib.h>

#include "vlink_epoch.h"
#include "vlink_hostend.h"

#define BURST VLINK_HOSTEND_BURST

static unsigned taken(const int64_t *idx, unsigned k)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k; i++)
		n += idx[i] >= 0;
	return n;
}

static inline unsigned min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

int vlink_hostend_refill(const struct vlink_hostend *h, unsigned ch)
{
	struct vlink_ring *r = &h->m->ch[ch - 1].fill;
	struct vlink_desc d[BURST];
	unsigned used = r->size - vlink_ring_free_count(r);
	unsigned stock = min_u(r->size, VLINK_HOSTEND_FILL_STOCK), k;

	if (!h->get || used + VLINK_HOSTEND_REFILL > stock)
		return 0;
	k = h->get(h->arg, d, min_u(stock - used, BURST));
	if (!k)
		return -ENOBUFS;
	for (unsigned i = 0; i < k; i++) {
		d[i].len = 0;
		d[i].flags = 0;
	}
	/* from home, so not lent: all are lent, and all fit */
	k = vlink_ledger_lend_burst(h->led, d, k, (uint16_t)ch);
	k = vlink_ring_enqueue_burst(r, d, k);
	if (k)
		vlink_notify_wake(h->notify, ch, r);
	return (int)k;
}

unsigned vlink_hostend_reap(const struct vlink_hostend *h, unsigned ch, unsigned max_bursts)
{
	struct vlink_ring *r = &h->m->ch[ch - 1].done;
	struct vlink_desc d[BURST];
	int64_t idx[BURST];
	unsigned bad = 0;

	for (unsigned b = 0; b < max_bursts; b++) {
		unsigned k = vlink_ring_peek_burst(r, d, BURST);

		if (!k)
			break;
		/* the ledger's takes before the tail store
		 * (vlink_ring_peek_burst) */
		bad += k - vlink_ledger_take_burst(h->led, d, k, (uint16_t)ch, idx);
		vlink_ring_release(r, k);
		h->home(h->arg, idx, k);
		if (k < BURST)
			break;
	}
	return bad;
}

unsigned vlink_hostend_recv(const struct vlink_hostend *h, unsigned ch, struct vlink_desc *d,
			    int64_t *idx, unsigned n, uint64_t *bad)
{
	struct vlink_ring *r = &h->m->ch[ch - 1].tx;
	unsigned k = vlink_ring_peek_burst(r, d, min_u(n, BURST));

	if (k) {
		/* as in reap: the ledger first, then the tail store */
		*bad += k - vlink_ledger_take_burst(h->led, d, k, (uint16_t)ch, idx);
		vlink_ring_release(r, k);
	}
	return k;
}

unsigned vlink_hostend_send(const struct vlink_hostend *h, unsigned ch, struct vlink_desc *d,
			    unsigned n, unsigned *dup)
{
	struct vlink_ring *r = &h->m->ch[ch - 1].rx;
	unsigned j;

	/* the consumer's index only if the cached one is short (the PMD has
	 * just counted the room) */
	n = vlink_ring_room(r, n);
	j = vlink_ledger_lend_burst(h->led, d, n, (uint16_t)ch);
	if (j < n) {
		/* d[j]'s buffer is out already: that descriptor stays here,
		 * and so does any other like it */
		(*dup)++;
		for (unsigned i = j + 1; i < n; i++) {
			if (vlink_ledger_lend(h->led, d[i].pool_offset, (uint16_t)ch) == 0)
				d[j++] = d[i];
			else
				(*dup)++;
		}
	}
	vlink_ring_enqueue_burst(r, d, j);
	if (j)
		vlink_notify_wake(h->notify, ch, r);
	return n;
}

/* A peer asleep on rx would not see the host's state change: wake it on
 * every channel (a reset is rare; a spurious wake is cheap). */
static void wake_all(const struct vlink_hostend *h)
{
	if (!h->notify || !h->notify->live)
		return;
	for (unsigned ch = 1; ch <= h->notify->nch; ch++)
		vlink_notify_signal(h->notify, ch);
}

void vlink_hostend_reset(const struct vlink_hostend *h, int timeout_ms,
			 const volatile bool *stop, uint32_t state,
			 struct vlink_hostend_reset *out)
{
	int64_t idx[BURST];
	uint32_t cursor = 0;
	unsigned k;

	out->epoch = vlink_epoch_host_begin(h->m);
	wake_all(h);    /* to acknowledge the epoch */
	out->wait = vlink_epoch_host_wait(h->m, out->epoch, timeout_ms, stop);
	out->reclaimed = 0;
	/* the loans of the old epoch are void, acknowledged or not */
	while ((k = vlink_ledger_reclaim_burst(h->led, 0, &cursor, idx, BURST)) > 0) {
		h->home(h->arg, idx, k);
		out->reclaimed += k;
	}
	vlink_epoch_host_clear(h->m);
	vlink_epoch_host_set(h->m, state);
	wake_all(h);    /* to find the host up (or down) */
}

int vlink_hostend_drain(const struct vlink_hostend *h, unsigned ch)
{
	struct vlink_linkmem_chan *c = &h->m->ch[ch - 1];
	struct vlink_ring *back[2] = { &c->done, &c->tx };
	struct vlink_ring *out[2] = { &c->rx, &c->fill };
	struct vlink_desc d[BURST], *all;
	int64_t idx[BURST];
	unsigned k;
	int n = 0;

	for (int r = 0; r < 2; r++) {
		while ((k = vlink_ring_dequeue_burst(back[r], d, BURST)) > 0) {
			vlink_ledger_take_burst(h->led, d, k, (uint16_t)ch, idx);
			h->home(h->arg, idx, k);
			n += (int)taken(idx, k);
		}
	}
	/* what a departed peer never took is still in rx and fill, between
	 * its tail and our head: take it back whole (a partial retract would
	 * move nothing); a peer up again is using it */
	if (vlink_epoch_peer_ready(h->m))
		return n;
	all = malloc(sizeof(*all) * h->m->ring_size);
	if (!all)
		return -ENOMEM;
	for (int r = 0; r < 2; r++) {
		k = vlink_ring_retract(out[r], all, h->m->ring_size);
		for (unsigned i = 0; i < k; i += BURST) {
			unsigned b = k - i < BURST ? k - i : BURST;

			/* taken back unused: no length to check */
			for (unsigned j = 0; j < b; j++) {
				all[i + j].len = 0;
				all[i + j].data_off = 0;
			}
			vlink_ledger_take_burst(h->led, all + i, b, (uint16_t)ch, idx);
			h->home(h->arg, idx, b);
			n += (int)taken(idx, b);
		}
	}
	free(all);
	return n;
}
