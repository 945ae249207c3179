/* The host end's data path.
 *
 * Every buffer of the link is the data buffer of exactly one mbuf of a
 * private extbuf pool (pv->mp: headers in this process's memory, data in
 * the domain's pool), so a buffer index and its mbuf are one table lookup
 * apart both ways.  That pool holds the buffers at home; the application
 * never sees its mbufs.  Lending a buffer to the peer means keeping its
 * mbuf out of the pool until the buffer comes home.
 *
 * Receive keeps the rx contract applications rely on (OVS and VPP keep
 * their own metadata in the private area of the mbufs of the pool they
 * gave the queue): a received buffer is attached, without a copy, as an
 * external buffer to an mbuf of the queue's pool; its shared info
 * (pv->ext[k]) puts it home when the last reference goes, on whatever
 * thread that is.  Transmit sends such an mbuf of this port in its own
 * buffer; anything else is copied into buffers from home.
 *
 *   tx lcore: app mbufs -> rx ring (zero copy if attached to one of our
 *             buffers, else copied into buffers from home); done ring ->
 *             buffers home
 *   rx lcore: buffers from home -> fill ring; tx ring -> buffers attached
 *             to the application's mbufs
 *
 * so each ring has one producer and one consumer thread.  The ledger is
 * shared by both lcores (it is safe for that) and checks every descriptor
 * the peer returns before its buffer is touched. */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/membarrier.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>

#include "vlink_epoch.h"
#include "vlink_error.h"
#include "vlink_pmd.h"

_Static_assert(VL_BURST >= VLINK_HOSTEND_BURST, "a burst of vlink_hostend fits the PMD's");

/* The pool offset of the buffer of m, an mbuf of pv->mp: in its private
 * area since setup (index_mbuf), so the data path does not go through the
 * translation index for it. */
static inline uint64_t buf_off(const struct rte_mbuf *m)
{
	return *(const uint64_t *)rte_mbuf_to_priv((struct rte_mbuf *)(uintptr_t)m);
}

/* Free callback of a received buffer's shared info: the last mbuf that
 * referred to it is gone.  Any thread (rte_mempool_put is safe there). */
static void ext_free(void *addr, void *opaque)
{
	struct vl_ext *e = opaque;

	(void)addr;
	if (e->sent) {
		e->sent = false; /* lent to the peer: it comes home on done */
		return;
	}
	rte_mempool_put(e->home->pool, e->home);
}

/* Where a device finds the buffers: with IOVA as VA their address; with
 * IOVA as PA none is known here (the pages belong to vlinkd's files and
 * EAL's physical-address lookup is per page and may be refused), so a
 * device cannot DMA them and must be given copies. */
static rte_iova_t seg_iova(const void *addr)
{
	return rte_eal_iova_mode() == RTE_IOVA_VA ? (rte_iova_t)(uintptr_t)addr : RTE_BAD_IOVA;
}

/* Register the link's segments as external memory, so that
 * rte_mem_virt2memseg() and drivers that register memory with their
 * device (rte_dev_dma_map) find them.  Best effort: the data path does not
 * need it. */
static void extmem_register(struct pmd_internals *pv)
{
	const struct vlink_xlate *x = &pv->m.x;
	unsigned i;

	for (i = 0; i < x->nseg; i++) {
		/* EAL keeps a memseg per "page"; with no IOVA to record, any
		 * size that divides the mapping serves: the largest (fewest
		 * memsegs) */
		size_t page = RTE_PGSIZE_2M;
		uintptr_t a = (uintptr_t)x->seg[i].addr;

		while (page > RTE_PGSIZE_4K && ((a | x->seg[i].size) & (page - 1)))
			page >>= 1;
		if (rte_extmem_register(x->seg[i].addr, x->seg[i].size, NULL, 0, page)) {
			VLOG(INFO, pv, "segment %u not registered as external memory (%s): "
			     "devices cannot DMA from the link's buffers", i,
			     rte_strerror(rte_errno));
			break;
		}
	}
	if (i == x->nseg) {
		pv->extmem = true;
		return;
	}
	while (i--)
		rte_extmem_unregister(x->seg[i].addr, x->seg[i].size);
}

static void extmem_unregister(struct pmd_internals *pv)
{
	if (!pv->extmem)
		return;
	for (unsigned i = 0; i < pv->m.x.nseg; i++)
		rte_extmem_unregister(pv->m.x.seg[i].addr, pv->m.x.seg[i].size);
	pv->extmem = false;
}

static void index_mbuf(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	struct pmd_internals *pv = arg;
	struct rte_mbuf *m = obj;
	uint64_t off = vlink_xlate_off(&pv->m.x, m->buf_addr);
	int64_t k = vlink_ledger_index(&pv->led, off);

	(void)mp;
	(void)i;
	*(uint64_t *)rte_mbuf_to_priv(m) = off;
	if (k >= 0) {
		pv->ext[k].home = m;
		pv->ext[k].addr = m->buf_addr;
		pv->ext[k].iova = rte_mbuf_iova_get(m);
	}
}

/* Put home the mbufs of buffers that came back (idx from the ledger). */
static void put_home(struct pmd_internals *pv, const int64_t *idx, unsigned k)
{
	struct rte_mbuf *home[VL_BURST];
	unsigned j = 0;

	for (unsigned i = 0; i < k; i++) {
		struct rte_mbuf *m;

		if (idx[i] < 0)
			continue;
		m = pv->ext[idx[i]].home;
		/* a segment of a chain we sent: it comes home on its own */
		m->next = NULL;
		m->nb_segs = 1;
		home[j++] = m;
	}
	if (j)
		rte_mempool_put_bulk(pv->mp, (void **)home, j);
}

/* vlink_hostend's home: the buffers' mbufs back in the extbuf pool */
static void home_cb(void *arg, const int64_t *idx, unsigned k)
{
	for (unsigned i = 0; i < k; i += VL_BURST)
		put_home(arg, idx + i, RTE_MIN(k - i, (unsigned)VL_BURST));
}

/* vlink_hostend's get: buffers from the extbuf pool, for fill; they carry
 * the mbuf's headroom as data_off, a hint the peer may use */
static unsigned get_cb(void *arg, struct vlink_desc *d, unsigned n)
{
	struct pmd_internals *pv = arg;
	struct rte_mbuf *mb[VLINK_HOSTEND_BURST];

	if (rte_pktmbuf_alloc_bulk(pv->mp, mb, n)) {
		n = RTE_MIN(n, (unsigned)VLINK_HOSTEND_REFILL);
		if (rte_pktmbuf_alloc_bulk(pv->mp, mb, n))
			return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		d[i].pool_offset = buf_off(mb[i]);
		d[i].data_off = mb[i]->data_off;
	}
	return n;
}

int vl_host_setup(struct pmd_internals *pv, char *why, size_t n)
{
	struct rte_pktmbuf_extmem ext[VLINK_XLATE_MAX_SEGS];
	const struct vlink_xlate *x = &pv->m.x;
	uint64_t off = pv->m.buf_offset, end = pv->m.buf_offset + pv->m.buf_area;
	unsigned next = 0, cache;
	char name[RTE_MEMPOOL_NAMESIZE];
	int err;

	err = vlink_ledger_init(&pv->led, pv->m.buf_offset, pv->m.buf_area, pv->m.buf_size);
	if (err)
		return vlink_why(why, n, err, "bad buffer area in the link map");
	/* one piece of external memory per segment the buffer area crosses */
	while (off < end) {
		const struct vlink_xlate_seg *s = NULL;
		uint64_t piece;

		for (unsigned i = 0; i < x->nseg; i++)
			if (off >= x->seg[i].pool_offset &&
			    off - x->seg[i].pool_offset < x->seg[i].size)
				s = &x->seg[i];
		if (!s || next == VLINK_XLATE_MAX_SEGS) {
			err = vlink_why(why, n, -EINVAL, "buffer area not covered by the pool");
			goto err_ledger;
		}
		piece = RTE_MIN(end, s->pool_offset + s->size) - off;
		if (piece % pv->m.buf_size) {
			err = vlink_why(why, n, -EINVAL, "a buffer straddles two segments");
			goto err_ledger;
		}
		ext[next].buf_ptr = (uint8_t *)s->addr + (off - s->pool_offset);
		ext[next].buf_iova = seg_iova(ext[next].buf_ptr);
		ext[next].buf_len = piece;
		ext[next].elt_size = (uint16_t)pv->m.buf_size;
		next++;
		off += piece;
	}
	pv->ext = rte_zmalloc("vlink_ext", sizeof(*pv->ext) * pv->led.nbufs, RTE_CACHE_LINE_SIZE);
	if (!pv->ext) {
		err = vlink_why(why, n, -ENOMEM, "out of memory");
		goto err_ledger;
	}
	for (uint32_t k = 0; k < pv->led.nbufs; k++) {
		pv->ext[k].si.free_cb = ext_free;
		pv->ext[k].si.fcb_opaque = &pv->ext[k];
	}
	static uint32_t pools; /* a pool left behind at close keeps its name */

	snprintf(name, sizeof(name), "vlink%u_home%u", pv->port,
		 __atomic_fetch_add(&pools, 1, __ATOMIC_RELAXED));
	cache = RTE_MIN(256u, pv->led.nbufs / 4);
	pv->mp = rte_pktmbuf_pool_create_extbuf(name, pv->led.nbufs, cache,
						RTE_ALIGN(sizeof(uint64_t), RTE_MBUF_PRIV_ALIGN),
						(uint16_t)pv->m.buf_size, rte_socket_id(),
						ext, next);
	if (!pv->mp) {
		err = vlink_why(why, n, -rte_errno, "cannot create the mbuf pool %s: %s", name,
				rte_strerror(rte_errno));
		goto err_table;
	}
	rte_mempool_obj_iter(pv->mp, index_mbuf, pv);
	for (uint32_t k = 0; k < pv->led.nbufs; k++) {
		if (!pv->ext[k].home) {
			err = vlink_why(why, n, -EINVAL, "buffer %u has no mbuf", k);
			goto err_pool;
		}
	}
	pv->he = (struct vlink_hostend){ .m = &pv->m, .led = &pv->led, .notify = &pv->notify,
					 .home = home_cb,
					 .arg = pv, .get = get_cb };
	extmem_register(pv);
	return 0;

err_pool:
	rte_mempool_free(pv->mp);
	pv->mp = NULL;
err_table:
	rte_free(pv->ext);
	pv->ext = NULL;
err_ledger:
	vlink_ledger_fini(&pv->led);
	return err;
}

unsigned vl_host_in_app(const struct pmd_internals *pv)
{
	return pv->led.nbufs - vlink_ledger_lent(&pv->led) - rte_mempool_avail_count(pv->mp);
}

void vl_host_teardown(struct pmd_internals *pv)
{
	extmem_unregister(pv);
	rte_mempool_free(pv->mp);
	pv->mp = NULL;
	rte_free(pv->ext);
	pv->ext = NULL;
	vlink_ledger_fini(&pv->led);
}

static inline bool peer_up(const struct pmd_internals *pv)
{
	return vlink_epoch_peer_ready(&pv->m);
}

void vl_chain_end(struct vl_queue *q, struct vl_chain *c, struct rte_mbuf **out,
		  uint16_t *nout)
{
	if (c->head && !c->bad && c->head->pkt_len > 0) {
		out[(*nout)++] = c->head;
	} else {
		if (c->head)
			rte_pktmbuf_free(c->head);
		q->st.dropped++;
	}
	c->head = c->tail = NULL;
	c->bad = false;
}

bool vl_chain_append(struct vl_queue *q, struct vl_chain *c, const uint8_t *src, uint32_t len)
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

/* Buffer k, as descriptor d describes it, to the application in mbuf m
 * of its pool: attached, or (rx_copy) copied and put home. */
static inline void rx_hand_over(struct vl_queue *q, struct rte_mbuf *m, int64_t k,
				const struct vlink_desc *d)
{
	struct vl_ext *e = &q->pv->ext[k];

	rte_mbuf_ext_refcnt_set(&e->si, 1);
	/* rx_copy is set for buffers whose size buf_len cannot hold */
	rte_pktmbuf_attach_extbuf(m, e->addr, e->iova, (uint16_t)q->pv->buf_size, &e->si);
	m->data_off = d->data_off;
	m->data_len = (uint16_t)d->len;
	m->pkt_len = d->len;
	m->port = q->port;
}

/* Append a received piece to chain c (it is bad already, or becomes so if
 * it cannot be added). */
static inline void rx_chain_add(struct vl_chain *c, struct rte_mbuf *m)
{
	if (!c->head) {
		c->head = c->tail = m;
	} else if (c->head->nb_segs >= VL_MAX_CHAIN) {
		rte_pktmbuf_free(m);
		c->bad = true;
	} else {
		c->tail->next = m;
		c->tail = m;
		c->head->nb_segs++;
		c->head->pkt_len += m->data_len;
	}
}

/* Tx ring: the peer's packets, in buffers we lent on fill (or on rx, when
 * it reflects).  At most n descriptors, so at most n packets. */
static uint16_t rx_chan(struct vl_queue *q, unsigned ci, struct rte_mbuf **out, uint16_t n)
{
	struct pmd_internals *pv = q->pv;
	uint16_t ch = q->ch[ci];
	struct vl_chain *c = &q->chain[ci];
	struct vlink_desc d[VL_BURST];
	struct rte_mbuf *am[VL_BURST];
	int64_t idx[VL_BURST], home[VL_BURST];
	uint16_t nout = 0;
	unsigned k, good = 0, a = 0, nhome = 0;

	/* fill's stock: refill reads the peer's index on fill, a cache line
	 * the peer writes when it takes buffers to send in; what it takes
	 * comes back on tx, so after a poll that brought packets, and
	 * otherwise on every 8th empty poll in a row */
	if ((q->empty[ci] & 7) == 0 && peer_up(pv) &&
	    vlink_hostend_refill(&pv->he, ch) == -ENOBUFS)
		q->st.nombuf++;
	k = vlink_hostend_recv(&pv->he, ch, d, idx, n, &q->st.bad_desc);
	if (!k) {
		q->empty[ci]++;
		return 0;
	}
	q->empty[ci] = 0;
	for (unsigned i = 0; i < k; i++)
		good += idx[i] >= 0;
	if (!q->rx_copy && good && vl_alloc_bulk(q->mp, am, good, vl_queue_lcore(q))) {
		/* the application's pool is empty: these packets are lost */
		q->st.nombuf++;
		put_home(pv, idx, k);
		for (unsigned i = 0; i < k; i++)
			idx[i] = -1;
	}
	for (unsigned i = 0; i < k; i++) {
		if (idx[i] < 0) {
			c->bad = true; /* a forged piece, or no mbuf: the packet is lost */
		} else if (d[i].len <= q->copybreak && !c->head &&
			   !(d[i].flags & VLINK_DESC_F_MORE)) {
			/* small and whole: a copy costs less than the external
			 * buffer's attach, refcount and free callback, and the
			 * buffer goes home hot (copybreak is 0 with rx_copy) */
			struct rte_mbuf *m = am[a++];

			rte_memcpy(rte_pktmbuf_mtod(m, void *),
				   (uint8_t *)pv->ext[idx[i]].addr + d[i].data_off, d[i].len);
			m->data_len = (uint16_t)d[i].len;
			m->pkt_len = d[i].len;
			m->port = q->port;
			rx_chain_add(c, m);
			home[nhome++] = idx[i];
			q->st.rx_copies++;
		} else if (!q->rx_copy) {
			rx_hand_over(q, am[a], idx[i], &d[i]);
			rx_chain_add(c, am[a++]);
		} else {
			if (!c->bad && !vl_chain_append(q, c, (uint8_t *)pv->ext[idx[i]].addr +
							 d[i].data_off, d[i].len)) {
				q->st.nombuf++;
				c->bad = true;
			}
			home[nhome++] = idx[i];
		}
		if (!(d[i].flags & VLINK_DESC_F_MORE)) {
			if (q->rx_copy && c->head && !c->bad)
				q->st.rx_copies++;
			vl_chain_end(q, c, out, &nout);
		}
	}
	/* the copied ones, a put for the burst */
	if (nhome)
		put_home(pv, home, nhome);
	return nout;
}

uint16_t vl_host_rx(void *qp, struct rte_mbuf **pkts, uint16_t n)
{
	struct vl_queue *q = qp;
	uint16_t nout = 0;

	if (unlikely(!vl_burst_begin(q)))
		return 0; /* a reset is going on */
	for (unsigned t = 0; t < q->nch && nout < n; t++) {
		unsigned ci = q->next;

		q->next = ci + 1 == q->nch ? 0 : ci + 1;
		nout += rx_chan(q, ci, pkts + nout, n - nout);
	}
	q->st.pkts += nout;
	for (uint16_t i = 0; i < nout; i++)
		q->st.bytes += pkts[i]->pkt_len;
	vl_burst_end(q);
	return nout;
}

void vl_queue_drop_chains(struct vl_queue *q)
{
	for (unsigned i = 0; i < q->nch; i++) {
		if (q->chain[i].head)
			rte_pktmbuf_free(q->chain[i].head);
		q->chain[i].head = q->chain[i].tail = NULL;
		q->chain[i].bad = false;
	}
}

/* The shared info of one of this port's buffers that m holds, or NULL. */
static inline struct vl_ext *ours(const struct pmd_internals *pv, const struct rte_mbuf *m)
{
	struct vl_ext *e = (struct vl_ext *)m->shinfo;

	if (!RTE_MBUF_HAS_EXTBUF(m) || e < pv->ext || e >= pv->ext + pv->led.nbufs)
		return NULL;
	return e;
}

/* Can the packet go as it is: every segment in one of our buffers, and
 * the only reference to it (the peer may write into what it receives)? */
static bool zero_copy(const struct pmd_internals *pv, const struct rte_mbuf *m)
{
	for (const struct rte_mbuf *s = m; s; s = s->next)
		if (!ours(pv, s) || rte_mbuf_refcnt_read(s) != 1 ||
		    rte_mbuf_ext_refcnt_read(s->shinfo) != 1)
			return false;
	return true;
}

static unsigned copy_need(const struct pmd_internals *pv, const struct rte_mbuf *m)
{
	return m->pkt_len ? (m->pkt_len + pv->buf_size - 1) / pv->buf_size : 1;
}

/* Copy packet m into `need` fresh pool buffers, data at offset 0. */
static int copy_in(struct pmd_internals *pv, const struct rte_mbuf *m, unsigned need,
		   struct vlink_desc *d)
{
	struct rte_mbuf *mb[VL_MAX_CHAIN];
	const struct rte_mbuf *s = m;
	uint32_t soff = 0, left = m->pkt_len;

	if (rte_pktmbuf_alloc_bulk(pv->mp, mb, need))
		return -ENOBUFS;
	for (unsigned j = 0; j < need; j++) {
		uint32_t len = RTE_MIN(left, pv->buf_size), got = 0;
		uint8_t *dst = mb[j]->buf_addr;

		while (got < len && s) {
			uint32_t c = RTE_MIN((uint32_t)s->data_len - soff, len - got);

			rte_memcpy(dst + got, rte_pktmbuf_mtod_offset(s, uint8_t *, soff), c);
			got += c;
			soff += c;
			if (soff == s->data_len) {
				s = s->next;
				soff = 0;
			}
		}
		d[j].pool_offset = buf_off(mb[j]);
		d[j].len = got;
		d[j].flags = j + 1 < need ? VLINK_DESC_F_MORE : 0;
		d[j].data_off = 0;
		left -= got;
	}
	return 0;
}

/* Free the mbufs of packets staged (fr[0, *nfree)), then lend and publish
 * their descriptors (the room was counted).  In that order: once
 * published, a buffer can come back and be attached to another mbuf with
 * its shared info, which freeing the old mbuf would then change. */
static void flush(struct vl_queue *q, uint16_t ch, struct vlink_desc *d, unsigned nd,
		  struct rte_mbuf **fr, unsigned *nfree)
{
	struct pmd_internals *pv = q->pv;
	unsigned dup = 0;

	if (*nfree) {
		vl_free_bulk(fr, *nfree, vl_queue_lcore(q));
		*nfree = 0;
	}

	vlink_hostend_send(&pv->he, ch, d, nd, &dup);
	if (dup)
		VLOG(ERR, pv, "tx: %u buffer(s) sent while already lent (mbuf sent twice?)", dup);
}

static uint16_t host_tx(struct vl_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct pmd_internals *pv = q->pv;
	struct vlink_desc d[VL_BURST];
	struct rte_mbuf *fr[VL_BURST]; /* the packets staged in d */
	struct vlink_ring *rr = NULL;  /* cur's rx ring */
	unsigned nd = 0, room = 0, cur = UINT32_MAX, dropped = 0, nfree = 0;
	uint64_t bytes = 0;
	uint16_t i;

	for (unsigned c = 0; c < q->nch; c++)
		q->st.bad_desc += vlink_hostend_reap(&pv->he, q->ch[c], 4);
	if (!peer_up(pv))
		return 0; /* nobody to send to: the application drops */
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		unsigned ci = q->nch == 1 ? 0 : vl_flow_hash(m) % q->nch;
		bool zc = zero_copy(pv, m);
		uint32_t len = m->pkt_len;
		unsigned need = zc ? m->nb_segs : copy_need(pv, m);

		if (ci != cur) {
			if (cur != UINT32_MAX)
				flush(q, q->ch[cur], d, nd, fr, &nfree);
			nd = 0;
			cur = ci;
			rr = &pv->m.ch[q->ch[ci] - 1].rx;
			/* room for the rest of the burst, a descriptor each, by
			 * the cached consumer index if it covers that (reading
			 * the index the peer writes costs a cache miss) */
			room = vlink_ring_room(rr, n - i);
		}
		/* larger than the link's MTU allows, or in more pieces than a
		 * packet may take */
		if (len > pv->mtu + VLINK_L2_OVERHEAD || need > VL_MAX_CHAIN) {
			rte_pktmbuf_free(m);
			q->st.dropped++;
			dropped++;
			continue;
		}
		if (nd + need > VL_BURST) {
			flush(q, q->ch[cur], d, nd, fr, &nfree);
			room -= nd;
			nd = 0;
		}
		if (need > room - nd) {
			room = vlink_ring_free_count(rr); /* the peer's index now */
			if (need > room - nd) {
				q->st.ring_full++;
				break;
			}
		}
		if (zc) {
			for (struct rte_mbuf *s = m; s; s = s->next) {
				struct vl_ext *e = ours(pv, s);

				d[nd].pool_offset = pv->led.base +
						    (uint64_t)(e - pv->ext) * pv->led.buf_size;
				d[nd].len = s->data_len;
				d[nd].flags = s->next ? VLINK_DESC_F_MORE : 0;
				d[nd].data_off = s->data_off;
				nd++;
				e->sent = true; /* freeing m puts nothing home */
			}
			fr[nfree++] = m;
		} else {
			if (copy_in(pv, m, need, d + nd)) {
				q->st.nombuf++;
				break;
			}
			nd += need;
			q->st.copies++;
			fr[nfree++] = m;
		}
		bytes += len;
	}
	if (cur != UINT32_MAX)
		flush(q, q->ch[cur], d, nd, fr, &nfree);
	q->st.pkts += i - dropped; /* taken: sent, or dropped and counted so */
	q->st.bytes += bytes;
	return i;
}

uint16_t vl_host_tx(void *qp, struct rte_mbuf **pkts, uint16_t n)
{
	struct vl_queue *q = qp;
	uint16_t sent;

	if (unlikely(!vl_burst_begin(q)))
		return 0; /* a reset is going on */
	sent = host_tx(q, pkts, n);
	vl_burst_end(q);
	return sent;
}

bool vl_membarrier;

RTE_INIT(vl_membarrier_init)
{
	/* once per process; kernels before 4.14 (or a seccomp filter)
	 * refuse it: the lcores then fence (vl_burst_begin) */
	vl_membarrier = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
				0, 0) == 0;
}

void vl_queues_hold(struct rte_eth_dev *dev, bool hold)
{
	unsigned nq = dev->data->nb_rx_queues + dev->data->nb_tx_queues;

	for (unsigned i = 0; i < nq; i++) {
		struct vl_queue *q = i < dev->data->nb_rx_queues ? dev->data->rx_queues[i] :
				     dev->data->tx_queues[i - dev->data->nb_rx_queues];

		if (q)
			__atomic_store_n(&q->hold, hold, __ATOMIC_RELEASE);
	}
	if (!hold)
		return;
	/* hold's stores before the loads of busy, on this thread and, for
	 * their busy stores and hold loads, on every lcore */
	if (!vl_membarrier ||
	    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < nq; i++) {
		struct vl_queue *q = i < dev->data->nb_rx_queues ? dev->data->rx_queues[i] :
				     dev->data->tx_queues[i - dev->data->nb_rx_queues];

		while (q && __atomic_load_n(&q->busy, __ATOMIC_ACQUIRE))
			rte_pause();
	}
}

void vl_host_drain(struct pmd_internals *pv)
{
	for (unsigned ch = 1; ch <= pv->nch; ch++)
		if (vlink_hostend_drain(&pv->he, ch) < 0)
			VLOG(ERR, pv, "out of memory taking back channel %u's buffers", ch);
}

void vl_host_reset(struct rte_eth_dev *dev, unsigned timeout_ms, uint32_t state)
{
	struct pmd_internals *pv = dev->data->dev_private;
	struct vlink_hostend_reset r;

	/* partial packets of the old epoch: their buffers go home first */
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		if (dev->data->rx_queues[i])
			vl_queue_drop_chains(dev->data->rx_queues[i]);
	vlink_hostend_reset(&pv->he, (int)timeout_ms, &pv->ctl_stop, state, &r);
	if (r.wait == -ETIMEDOUT && timeout_ms) {
		pv->reset_timeouts++;
		VLOG(WARNING, pv, "epoch %u: the peer end did not acknowledge in %u ms: its "
		     "buffers are taken back anyway", r.epoch, timeout_ms);
	}
	pv->resets++;
	pv->reclaimed += r.reclaimed;
	VLOG(INFO, pv, "epoch %u: %s, %u buffer(s) taken back from the peer end%s", r.epoch,
	     state == VLINK_END_UP ? "up" : "down", r.reclaimed,
	     r.wait ? "" : " (it acknowledged)");
}

static inline uint32_t mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

/* A flow's packets always take the same channel, so bond mode keeps each
 * flow in order: IP addresses, protocol and ports, else the MACs. */
uint32_t vl_flow_hash(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len, h = 0, w;
	uint16_t type;

	if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)
		return m->hash.rss;
	if (len < sizeof(struct rte_ether_hdr))
		return 0;
	memcpy(&type, p + 12, 2);
	p += sizeof(struct rte_ether_hdr);
	len -= sizeof(struct rte_ether_hdr);
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && len >= 20) {
		const struct rte_ipv4_hdr *ip = (const void *)p;
		uint32_t ihl = (ip->version_ihl & 0xf) * 4u;

		h = ip->src_addr ^ ip->dst_addr ^ ip->next_proto_id;
		if ((ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) &&
		    !(ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK |
							     RTE_IPV4_HDR_MF_FLAG)) &&
		    ihl >= 20 && len >= ihl + 4) {
			memcpy(&w, p + ihl, 4);
			h ^= w;
		}
	} else if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) && len >= 40) {
		const struct rte_ipv6_hdr *ip = (const void *)p;

		for (int i = 0; i < 32; i += 4) {
			memcpy(&w, ip->src_addr + i, 4);
			h ^= mix(w + (uint32_t)i);
		}
		h ^= ip->proto;
		if ((ip->proto == IPPROTO_TCP || ip->proto == IPPROTO_UDP) && len >= 44) {
			memcpy(&w, p + 40, 4);
			h ^= w;
		}
	} else {
		const uint8_t *e = rte_pktmbuf_mtod(m, const uint8_t *);

		for (int i = 0; i < 12; i += 4) {
			memcpy(&w, e + i, 4);
			h ^= mix(w + (uint32_t)i);
		}
	}
	return mix(h);
}
