/* The peer end's data path, through libvlinkguest's socket mode: a DPDK
 * application (in a container, or a second process) as the other end of a
 * link.  It copies: received buffers into mbufs of the queue's mempool,
 * mbufs into buffers taken from fill; the zero-copy peer is libvlinkguest
 * used directly (vlink-peer echo reflects without a copy).
 *
 * Queue i is data channel i + 1 (mq only).  The rx lcore consumes rx and
 * produces done; the tx lcore consumes fill and produces tx. */
#include <errno.h>
#include <string.h>

#include <rte_memcpy.h>

#include "vlink_pmd.h"

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

/* Append len bytes to the chain being built; false if out of mbufs. */
static bool append(struct vl_queue *q, struct vl_chain *c, const uint8_t *src, uint32_t len)
{
	while (len) {
		struct rte_mbuf *t = c->tail;
		uint32_t room = t ? rte_pktmbuf_tailroom(t) : 0, n;

		if (!room) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(q->mp);

			if (!m)
				return false;
			m->port = q->port;
			if (!c->head) {
				c->head = m;
			} else {
				t->next = m;
				c->head->nb_segs++;
			}
			c->tail = m;
			continue;
		}
		n = RTE_MIN(room, len);
		rte_memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), src, n);
		t->data_len += n;
		c->head->pkt_len += n;
		src += n;
		len -= n;
	}
	return true;
}

uint16_t vl_peer_rx(void *qp, struct rte_mbuf **pkts, uint16_t n)
{
	struct vl_queue *q = qp;
	struct pmd_internals *pv = q->pv;
	uint16_t ch = q->ch[0];
	struct vl_chain *c = &q->chain[0];
	struct vlink_guest_pkt p[VL_BURST];
	uint16_t nout = 0;
	int k;

	if (q->ngive >= VL_BURST) { /* done is full: the host is not draining it */
		give_back(q, ch, NULL, 0);
		if (q->ngive >= VL_BURST)
			return 0;
	}
	k = vlink_guest_rx_burst(pv->g, ch, p, RTE_MIN(n, (uint16_t)VL_BURST));
	if (k <= 0) {
		if (q->ngive)
			give_back(q, ch, NULL, 0);
		return 0;
	}
	for (int i = 0; i < k; i++) {
		if (!c->bad && !append(q, c, p[i].data, p[i].len)) {
			q->st.nombuf++;
			c->bad = true;
		}
		if (c->head && c->head->nb_segs > VL_MAX_CHAIN)
			c->bad = true;
		if (!(p[i].flags & VLINK_GUEST_F_MORE)) {
			if (c->head && !c->bad && c->head->pkt_len) {
				q->st.bytes += c->head->pkt_len;
				pkts[nout++] = c->head;
			} else {
				if (c->head)
					rte_pktmbuf_free(c->head);
				q->st.dropped++;
			}
			c->head = c->tail = NULL;
			c->bad = false;
		}
	}
	give_back(q, ch, p, (unsigned)k);
	q->st.pkts += nout;
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

uint16_t vl_peer_tx(void *qp, struct rte_mbuf **pkts, uint16_t n)
{
	struct vl_queue *q = qp;
	struct pmd_internals *pv = q->pv;
	uint16_t ch = q->ch[0], i;
	/* stash[0, nout) filled and waiting, stash[nout, nout + nstash)
	 * empty buffers from fill */
	unsigned nout = q->nout;

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
		const struct rte_mbuf *s = m;
		uint32_t soff = 0, left = m->pkt_len;

		if (need > VL_MAX_CHAIN) {
			rte_pktmbuf_free(m);
			q->st.dropped++;
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
		rte_pktmbuf_free(m);
	}
	push(q, ch, &nout);
	q->nout = nout;
	q->st.pkts += i;
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
