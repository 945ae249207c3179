/* The peer end's data path, through libvlinkguest's socket mode: a DPDK
 * application (in a container, or a second process) as the other end of a
 * link.
 *
 * Receive passes a one-buffer packet up without a copy: an mbuf of the
 * queue's pool (the application's, with its private area: the rx
 * contract), attached to the buffer as an external buffer whose shared
 * info, from a private pool of them, has a free callback that queues the
 * buffer for `done` (the callback runs on whatever thread frees the mbuf,
 * so it goes through an MP-safe ring that the rx lcore drains).  Transmit
 * sends such an mbuf back in its own buffer when it came from this port's
 * same channel (a zero-copy reflect, as vlink-peer echo does); anything
 * else is copied into buffers taken from fill, and so are chained packets
 * on receive.
 *
 * Queue i is data channel i + 1 (mq only).  The rx lcore consumes rx and
 * produces done; the tx lcore consumes fill and produces tx. */
#include <errno.h>
#include <string.h>

#include <rte_memcpy.h>
#include <rte_ring.h>

#include "vlink_pmd.h"

/* The shared info of a received buffer that an mbuf holds (q->zc_mp). */
struct vl_zc {
	struct rte_mbuf_ext_shared_info si;  /* first: shinfo -> vl_zc */
	struct vl_queue *q;                  /* the rx queue it came from */
	uint64_t buf;                        /* the buffer's pool offset */
	uint32_t epoch;                      /* the host epoch it was lent in */
	bool reflected;                      /* sent back: nothing to free */
};

/* A buffer to give back, in one word (for rte_ring): its pool offset (a
 * pool is at most 1 GiB, wrap() checks) and its epoch. */
static inline uint64_t vl_token(uint64_t buf, uint32_t epoch)
{
	return buf | (uint64_t)epoch << 32;
}

static inline void vl_untoken(uint64_t t, struct vlink_guest_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->buf = t & UINT32_MAX;
	p->epoch = (uint32_t)(t >> 32);
}


/* Give buffers back on done; what does not fit waits in q->give. */
static void give_back(struct vl_queue *q, uint16_t ch, const struct vlink_guest_pkt *p,
		      unsigned k)
{
	struct pmd_internals *pv = q->pv;
	int r;

	if (q->ngive) {
		r = vlink_guest_free(pv->g, ch, q->give, q->ngive);
		if (r > 0) {
			q->ngive -= (unsigned)r;
			memmove(q->give, q->give + r, q->ngive * sizeof(*q->give));
		}
	}
	if (!k)
		return;
	r = q->ngive ? 0 : vlink_guest_free(pv->g, ch, p, k);
	if (r < 0)
		r = 0;
	/* give[] holds two bursts and is drained before every burst */
	memcpy(q->give + q->ngive, p + r, (k - (unsigned)r) * sizeof(*p));
	q->ngive += k - (unsigned)r;
}

static void zc_free(void *addr, void *opaque)
{
	struct vl_zc *z = opaque;
	struct vl_queue *q = z->q;
	bool mine = vl_queue_mine(q);

	(void)addr;
	if (z->reflected) {
		/* sent back in its buffer: nothing to give back */
	} else if (mine && q->nlocal < RTE_DIM(q->local)) {
		q->local[q->nlocal++] = vl_token(z->buf, z->epoch);
	} else if (rte_ring_mp_enqueue(q->ret, (void *)(uintptr_t)vl_token(z->buf, z->epoch))) {
		/* the ring has room for every shared info there is */
		VLOG(ERR, q->pv, "queue %u: lost a buffer (return ring full)", q->qid);
	}
	/* on the queue's thread, no rte_lcore_id() (vl_queue_lcore) */
	if (mine)
		rte_mempool_generic_put(q->zc_mp, (void **)&z, 1,
					rte_mempool_default_cache(q->zc_mp, q->lcore));
	else
		rte_mempool_put(q->zc_mp, z);
}

int vl_peer_rxq_setup(struct vl_queue *q, unsigned socket)
{
	struct pmd_internals *pv = q->pv;
	const struct vlink_guest_info *gi = vlink_guest_info(pv->g);
	unsigned n = 2 * gi->ring_size + 512;
	char name[RTE_MEMPOOL_NAMESIZE];

	static uint32_t made; /* a pool left behind at close keeps its name */
	uint32_t id = __atomic_fetch_add(&made, 1, __ATOMIC_RELAXED);

	snprintf(name, sizeof(name), "vlink%u_zc%u", pv->port, id);
	q->zc_mp = rte_mempool_create(name, n, sizeof(struct vl_zc), 64, 0, NULL, NULL, NULL,
				      NULL, (int)socket, 0);
	if (!q->zc_mp)
		return -rte_errno;
	snprintf(name, sizeof(name), "vlink%u_ret%u", pv->port, id);
	q->ret = rte_ring_create(name, rte_align32pow2(n + 1), (int)socket, RING_F_SC_DEQ);
	if (!q->ret) {
		rte_mempool_free(q->zc_mp);
		q->zc_mp = NULL;
		return -rte_errno;
	}
	q->own = false;
	return 0;
}

bool vl_peer_rxq_free(struct vl_queue *q)
{
	unsigned out = rte_mempool_in_use_count(q->zc_mp);

	if (out) {
		/* mbufs the application still holds point at these shared
		 * infos, and their callbacks at q: keep all three */
		VLOG(WARNING, q->pv, "rx queue %u: %u buffer(s) still in the application's "
		     "mbufs: kept until the process exits", q->qid, out);
		q->own = false;
		return false;
	}
	rte_ring_free(q->ret);
	q->ret = NULL;
	rte_mempool_free(q->zc_mp);
	q->zc_mp = NULL;
	return true;
}

/* Buffers whose mbufs were freed go back on done. */
static void drain_returns(struct vl_queue *q, uint16_t ch)
{
	struct vlink_guest_pkt p[VL_BURST];
	void *off[VL_BURST];
	unsigned k;

	while (q->nlocal && q->ngive < VL_BURST) {
		k = RTE_MIN(q->nlocal, (unsigned)VL_BURST);
		q->nlocal -= k;
		for (unsigned i = 0; i < k; i++)
			vl_untoken(q->local[q->nlocal + i], &p[i]);
		give_back(q, ch, p, k);
	}
	if (q->ngive >= VL_BURST)
		return;
	k = rte_ring_sc_dequeue_burst(q->ret, off, VL_BURST, NULL);
	for (unsigned i = 0; i < k; i++)
		vl_untoken((uint64_t)(uintptr_t)off[i], &p[i]);
	if (k)
		give_back(q, ch, p, k);
}

/* The mbufs and shared infos of a burst's wraps, taken from their pools
 * in one go (n of them, used so far). */
struct vl_wrap_stock {
	struct rte_mbuf *m[VL_BURST];
	void *z[VL_BURST];
	unsigned n, used;
};

/* Stock for up to `want` wraps (none if either pool cannot give them all:
 * wrap() then takes them one at a time). */
static void stock_get(struct vl_queue *q, struct vl_wrap_stock *s, unsigned want)
{
	s->n = s->used = 0;
	if (!want || q->rx_copy)
		return;
	if (rte_mempool_generic_get(q->zc_mp, s->z, want,
				    rte_mempool_default_cache(q->zc_mp, q->lcore)))
		return;
	if (vl_alloc_bulk(q->mp, s->m, want, q->lcore)) {
		rte_mempool_generic_put(q->zc_mp, s->z, want,
					rte_mempool_default_cache(q->zc_mp, q->lcore));
		return;
	}
	s->n = want;
}

/* What the burst did not use goes back (fresh mbufs: straight to the
 * pool). */
static void stock_put(struct vl_queue *q, struct vl_wrap_stock *s)
{
	unsigned left = s->n - s->used;

	if (!left)
		return;
	rte_mempool_generic_put(q->zc_mp, s->z + s->used, left,
				rte_mempool_default_cache(q->zc_mp, q->lcore));
	rte_mempool_generic_put(q->mp, (void **)(s->m + s->used), left,
				rte_mempool_default_cache(q->mp, q->lcore));
}

/* A one-buffer packet, passed up in its buffer attached to an mbuf of the
 * queue's pool; NULL if that cannot be (it is then copied). */
static struct rte_mbuf *wrap(struct vl_queue *q, const struct vlink_guest_pkt *p,
			     struct vl_wrap_stock *s)
{
	struct rte_mbuf *m;
	void *z_;
	struct vl_zc *z;

	if (q->rx_copy || p->buf > UINT32_MAX) /* not a token */
		return NULL;
	if (s->used < s->n) {
		m = s->m[s->used];
		z_ = s->z[s->used++];
	} else {
		if (rte_mempool_get(q->zc_mp, &z_))
			return NULL;
		m = rte_pktmbuf_alloc(q->mp);
		if (!m) {
			rte_mempool_put(q->zc_mp, z_);
			return NULL;
		}
	}
	z = z_;
	z->si.free_cb = zc_free;
	z->si.fcb_opaque = z;
	rte_mbuf_ext_refcnt_set(&z->si, 1);
	z->q = q;
	z->buf = p->buf;
	z->epoch = p->epoch;
	z->reflected = false;
	rte_pktmbuf_attach_extbuf(m, (uint8_t *)p->data - p->data_off, RTE_BAD_IOVA,
				  (uint16_t)q->pv->buf_size, &z->si);
	m->data_off = p->data_off;
	m->data_len = (uint16_t)p->len;
	m->pkt_len = p->len;
	m->port = q->port;
	return m;
}

uint16_t vl_peer_rx(void *qp, struct rte_mbuf **pkts, uint16_t n)
{
	struct vl_queue *q = qp;
	struct pmd_internals *pv = q->pv;
	uint16_t ch = q->ch[0];
	struct vl_chain *c = &q->chain[0];
	struct vlink_guest_pkt p[VL_BURST];
	struct vl_wrap_stock stock;
	uint16_t nout = 0;
	unsigned want = 0;
	int k;

	if (q->ngive >= VL_BURST) { /* done is full: the host is not draining it */
		give_back(q, ch, NULL, 0);
		if (q->ngive >= VL_BURST)
			return 0;
	}
	vl_queue_lcore(q); /* before any mbuf of ours is freed here */
	/* on a reflecting or idle link there is usually nothing: say so
	 * without the call (its frame holds a burst of packets) */
	if (q->nlocal || !rte_ring_empty(q->ret))
		drain_returns(q, ch);
	k = vlink_guest_rx_burst(pv->g, ch, p, RTE_MIN(n, (uint16_t)VL_BURST));
	if (k <= 0) {
		if (q->ngive)
			give_back(q, ch, NULL, 0);
		return 0;
	}
	/* at most this many wraps below */
	for (int i = 0; i < k; i++)
		want += !(p[i].flags & VLINK_GUEST_F_MORE) && p[i].len;
	stock_get(q, &stock, want);
	for (int i = 0; i < k; i++) {
		if (!c->head && !c->bad && !(p[i].flags & VLINK_GUEST_F_MORE) && p[i].len) {
			struct rte_mbuf *m = wrap(q, &p[i], &stock);

			if (m) {
				pkts[nout++] = m;
				p[i].buf = UINT64_MAX; /* not given back now */
				continue;
			}
		}
		if (!c->bad && !vl_chain_append(q, c, p[i].data, p[i].len)) {
			q->st.nombuf++;
			c->bad = true;
		}
		if (c->head && c->head->nb_segs > VL_MAX_CHAIN)
			c->bad = true;
		if (!(p[i].flags & VLINK_GUEST_F_MORE))
			vl_chain_end(q, c, pkts, &nout);
	}
	stock_put(q, &stock);
	/* what was copied goes back now; the rest when its mbuf is freed */
	unsigned ng = 0;

	for (int i = 0; i < k; i++)
		if (p[i].buf != UINT64_MAX)
			p[ng++] = p[i];
	give_back(q, ch, p, ng);
	q->st.pkts += nout;
	for (uint16_t i = 0; i < nout; i++)
		q->st.bytes += pkts[i]->pkt_len;
	return nout;
}

/* Send what is staged (q->give is the rx side's; tx stages in stash[]:
 * entries [0, nout) are filled buffers waiting for the tx ring). */
static bool push(struct vl_queue *q, uint16_t ch, unsigned *nout)
{
	int r;

	if (!*nout)
		return true;
	r = vlink_guest_tx_burst(q->pv->g, ch, q->stash, *nout);
	if (r < 0)
		r = 0;
	*nout -= (unsigned)r;
	memmove(q->stash, q->stash + r, (*nout + q->nstash) * sizeof(*q->stash));
	return *nout == 0;
}

/* An mbuf this port passed up from the same channel, and only this one
 * refers to its buffer: it can go back in that buffer. */
static struct vl_zc *reflectable(const struct vl_queue *q, const struct rte_mbuf *m)
{
	struct vl_zc *z;

	if (!RTE_MBUF_HAS_EXTBUF(m) || m->shinfo->free_cb != zc_free || m->next ||
	    rte_mbuf_refcnt_read(m) != 1 || rte_mbuf_ext_refcnt_read(m->shinfo) != 1)
		return NULL;
	z = (struct vl_zc *)m->shinfo;
	return z->q->pv == q->pv && z->q->ch[0] == q->ch[0] ? z : NULL;
}

uint16_t vl_peer_tx(void *qp, struct rte_mbuf **pkts, uint16_t n)
{
	struct vl_queue *q = qp;
	struct pmd_internals *pv = q->pv;
	uint16_t ch = q->ch[0], i;
	/* stash[0, nout) filled and waiting, stash[nout, nout + nstash)
	 * empty buffers from fill */
	unsigned nout = q->nout, dropped = 0, nfree = 0;
	struct rte_mbuf *fr[VL_BURST];

	if (!push(q, ch, &nout)) {
		q->nout = nout;
		q->st.ring_full++;
		return 0;
	}
	if (!vlink_guest_host_up(pv->g)) {
		q->nout = 0;
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		unsigned need = m->pkt_len ? (m->pkt_len + pv->buf_size - 1) / pv->buf_size : 1;
		struct vl_zc *z = reflectable(q, m);

		/* the mbufs this burst took are freed together, at most a
		 * burst at a time */
		if (nfree == RTE_DIM(fr)) {
			vl_free_bulk(fr, nfree, vl_queue_lcore(q));
			nfree = 0;
		}

		if (z) {
			struct vlink_guest_pkt *b;

			if (nout + q->nstash + 1 > VL_BURST)
				break;
			b = &q->stash[nout];
			memmove(b + 1, b, q->nstash * sizeof(*b));
			b->data = rte_pktmbuf_mtod(m, void *);
			b->len = m->data_len;
			b->room = pv->buf_size - m->data_off;
			b->flags = 0;
			b->data_off = m->data_off;
			b->epoch = z->epoch;
			b->buf = z->buf;
			nout++;
			q->st.bytes += m->data_len;
			z->reflected = true;
			fr[nfree++] = m;
			continue;
		}
		const struct rte_mbuf *s = m;
		uint32_t soff = 0, left = m->pkt_len;

		/* larger than the link's MTU allows */
		if (m->pkt_len > pv->mtu + VLINK_L2_OVERHEAD || need > VL_MAX_CHAIN) {
			fr[nfree++] = m;
			q->st.dropped++;
			dropped++;
			continue;
		}
		if (nout + need > VL_BURST)
			break;
		if (q->nstash < need) {
			int k = vlink_guest_tx_alloc(pv->g, ch, q->stash + nout + q->nstash,
						     VL_BURST - nout - q->nstash);

			if (k > 0)
				q->nstash += (unsigned)k;
			if (q->nstash < need) {
				q->st.nombuf++;
				break;
			}
		}
		for (unsigned j = 0; j < need; j++) {
			struct vlink_guest_pkt *b = &q->stash[nout + j];
			uint32_t len = RTE_MIN(left, pv->buf_size), got = 0;

			/* the whole buffer: the host's headroom hint is for
			 * packets the peer builds, not for copies */
			b->data = (uint8_t *)b->data - b->data_off;
			b->room += b->data_off;
			b->data_off = 0;
			while (got < len && s) {
				uint32_t c = RTE_MIN((uint32_t)s->data_len - soff, len - got);

				rte_memcpy((uint8_t *)b->data + got,
					   rte_pktmbuf_mtod_offset(s, uint8_t *, soff), c);
				got += c;
				soff += c;
				if (soff == s->data_len) {
					s = s->next;
					soff = 0;
				}
			}
			b->len = got;
			b->flags = j + 1 < need ? VLINK_GUEST_F_MORE : 0;
			left -= got;
		}
		nout += need;
		q->nstash -= need;
		q->st.bytes += m->pkt_len;
		q->st.copies++;
		fr[nfree++] = m;
	}
	if (nfree)
		vl_free_bulk(fr, nfree, vl_queue_lcore(q));
	push(q, ch, &nout);
	q->nout = nout;
	q->st.pkts += i - dropped; /* taken: sent, or dropped and counted so */
	return i;
}

void vl_peer_queue_flush(struct vl_queue *q)
{
	struct pmd_internals *pv = q->pv;
	uint16_t ch = q->ch[0];
	unsigned nout = q->nout;

	if (!pv->g)
		return;
	if (q->rx) {
		vl_queue_drop_chains(q);
		q->own = false;
		while (q->ret && (q->nlocal || rte_ring_count(q->ret)) && q->ngive < VL_BURST)
			drain_returns(q, ch);
		for (int tries = 0; q->ngive && tries < 100; tries++) {
			give_back(q, ch, NULL, 0);
			if (q->ngive)
				rte_delay_us_sleep(1000);
		}
		return;
	}
	/* filled buffers not yet sent go out; what cannot, and the empty
	 * ones, go back on done */
	for (int tries = 0; nout && tries < 100; tries++)
		if (!push(q, ch, &nout))
			rte_delay_us_sleep(1000);
	if (nout + q->nstash) {
		int r = vlink_guest_free(pv->g, ch, q->stash, nout + q->nstash);

		if (r < (int)(nout + q->nstash))
			VLOG(WARNING, pv, "queue %u: %d buffer(s) could not be given back",
			     q->qid, (int)(nout + q->nstash) - (r > 0 ? r : 0));
	}
	q->nout = 0;
	q->nstash = 0;
}
