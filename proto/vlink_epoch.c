/* Freestanding (no libc but memset, __atomic builtins): the guest kernel
 * driver compiles this file too (libvlinkguest/linux/).  The host's wait,
 * which sleeps, is in vlink_epoch_wait.c. */
#include <errno.h>
#include <string.h>

#include "vlink_epoch.h"

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

uint32_t vlink_epoch_host_begin(struct vlink_linkmem *m)
{
	/* newer than what the peer may be in (the shared word: a restarted
	 * host goes on from it) and than the host's own last epoch (the
	 * shared word may be a peer's forgery) */
	uint32_t e = load(&m->hdr->host_epoch) + 1;

	while (e == 0 || e == m->host_epoch)
		e++;
	m->host_epoch = e;
	/* RESETTING first: a peer that sees the new epoch must not find the
	 * host still UP in it */
	store(&m->hdr->host_state, VLINK_END_RESETTING);
	store(&m->hdr->host_epoch, e);
	return e;
}

void vlink_epoch_host_clear(struct vlink_linkmem *m)
{
	for (unsigned i = 0; i < m->nch; i++) {
		vlink_ring_empty(&m->ch[i].rx);
		vlink_ring_empty(&m->ch[i].done);
		vlink_ring_empty(&m->ch[i].fill);
		vlink_ring_empty(&m->ch[i].tx);
	}
}

void vlink_epoch_host_set(struct vlink_linkmem *m, uint32_t state)
{
	store(&m->hdr->host_state, state);
}

void vlink_epoch_peer_set(struct vlink_linkmem *m, uint32_t state)
{
	store(&m->hdr->peer_state, state);
}

uint32_t vlink_epoch_host_state(const struct vlink_linkmem *m)
{
	return load(&m->hdr->host_state);
}

uint32_t vlink_epoch_peer_state(const struct vlink_linkmem *m)
{
	return load(&m->hdr->peer_state);
}

/* Both compare with the host's own copy of its epoch: a peer that wrote
 * the shared host_epoch (say, 0 to match the 0 a newcomer acks) must not
 * make the host deaf to the next peer's request. */
bool vlink_epoch_peer_asks(const struct vlink_linkmem *m)
{
	return load(&m->hdr->peer_state) == VLINK_END_RESETTING &&
	       load(&m->hdr->peer_ack_epoch) != m->host_epoch;
}

bool vlink_epoch_peer_ready(const struct vlink_linkmem *m)
{
	return m->host_epoch != 0 && load(&m->hdr->peer_state) == VLINK_END_UP &&
	       load(&m->hdr->peer_ack_epoch) == m->host_epoch;
}

void vlink_epoch_peer_attach(struct vlink_linkmem *m, struct vlink_epoch_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->stale = load(&m->hdr->host_epoch);
	p->stale_set = true;
	/* a predecessor's ack means nothing for us: clear it before asking,
	 * or the host would take our request as already served */
	store(&m->hdr->peer_ack_epoch, 0);
	store(&m->hdr->peer_state, VLINK_END_RESETTING);
}

/* Ack e once every channel in use has seen it (each channel's thread may
 * hold buffers of the old epoch until its own next call). */
static void ack_if_all(struct vlink_linkmem *m, struct vlink_epoch_peer *p, uint32_t e)
{
	for (unsigned i = 0; i < m->nch; i++)
		if (__atomic_load_n(&p->used[i], __ATOMIC_RELAXED) &&
		    __atomic_load_n(&p->seen[i], __ATOMIC_ACQUIRE) != e)
			return;
	if (load(&m->hdr->peer_ack_epoch) == e)
		return;
	for (unsigned i = 0; i < m->nch; i++) {
		if (__atomic_load_n(&p->synced[i], __ATOMIC_RELAXED)) {
			__atomic_fetch_add(&p->resets, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	store(&m->hdr->peer_ack_epoch, e);
}

enum vlink_epoch_sync vlink_epoch_peer_sync_slow(struct vlink_linkmem *m,
						 struct vlink_epoch_peer *p, unsigned ch)
{
	struct vlink_link_hdr *h = m->hdr;
	uint32_t e = load(&h->host_epoch);
	uint32_t hs = load(&h->host_state);
	uint32_t old = ch ? __atomic_load_n(&p->synced[ch - 1], __ATOMIC_RELAXED) : 0;

	if (hs == VLINK_END_UP && e == old && old != 0)
		return VLINK_EPOCH_OK; /* it changed back meanwhile */
	/* the host is between two stores of a reset: look again later */
	if (load(&h->host_epoch) != e)
		return VLINK_EPOCH_WAIT;
	if (p->stale_set && e == p->stale)
		return VLINK_EPOCH_WAIT; /* our request (peer_state) is pending */
	if (ch) {
		__atomic_store_n(&p->used[ch - 1], true, __ATOMIC_RELAXED);
		if (__atomic_load_n(&p->seen[ch - 1], __ATOMIC_RELAXED) != e)
			__atomic_store_n(&p->seen[ch - 1], e, __ATOMIC_RELEASE);
	}
	ack_if_all(m, p, e);
	if (hs != VLINK_END_UP)
		return VLINK_EPOCH_WAIT;
	/* UP in e: the host acted on our ack (or gave up waiting for it; a
	 * channel that has not seen e yet drops its old buffers when it does)
	 * and emptied the rings */
	if (ch) {
		struct vlink_linkmem_chan *c = &m->ch[ch - 1];

		vlink_ring_resync(&c->rx);
		vlink_ring_resync(&c->done);
		vlink_ring_resync(&c->fill);
		vlink_ring_resync(&c->tx);
		__atomic_store_n(&p->synced[ch - 1], e, __ATOMIC_RELAXED);
	}
	/* UP after our request; a peer that is LEAVING stays so */
	if (load(&h->peer_state) == VLINK_END_RESETTING)
		store(&h->peer_state, VLINK_END_UP);
	return VLINK_EPOCH_OK;
}
