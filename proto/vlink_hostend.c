#include <errno.h>
#include <stdlib.h>

#include "vlink_epoch.h"
#include "vlink_hostend.h"

#define BURST 64

static unsigned taken(const int64_t *idx, unsigned k)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k; i++)
		n += idx[i] >= 0;
	return n;
}

void vlink_hostend_reset(const struct vlink_hostend *h, int timeout_ms,
			 const volatile bool *stop, uint32_t state,
			 struct vlink_hostend_reset *out)
{
	int64_t idx[BURST];
	uint32_t cursor = 0;
	unsigned k;

	out->epoch = vlink_epoch_host_begin(h->m);
	out->wait = vlink_epoch_host_wait(h->m, out->epoch, timeout_ms, stop);
	out->reclaimed = 0;
	/* the loans of the old epoch are void, acknowledged or not */
	while ((k = vlink_ledger_reclaim_burst(h->led, 0, &cursor, idx, BURST)) > 0) {
		h->home(h->arg, idx, k);
		out->reclaimed += k;
	}
	vlink_epoch_host_clear(h->m);
	vlink_epoch_host_set(h->m, state);
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
