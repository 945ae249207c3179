/* net_vlink: internal structures shared by the PMD's files (not installed).
 *
 * rte_eth_vlink.c  probe/remove, devargs, ethdev ops, stats, the control
 *                  thread (link state, daemon reconnect)
 * vlink_host.c     the host end's data path: zero-copy over the link's pool
 * vlink_peer.c     the peer end's data path, through libvlinkguest */
#ifndef VLINK_PMD_H
#define VLINK_PMD_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ethdev_driver.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "vlink_client.h"
#include "vlink_guest.h"
#include "vlink_hostend.h"
#include "vlink_ledger.h"
#include "vlink_linkmem.h"
#include "vlink_notify.h"

extern int vlink_logtype;
#define VLOG(level, pv, fmt, ...) \
	rte_log(RTE_LOG_##level, vlink_logtype, "net_vlink: %s: " fmt "\n", \
		(pv)->devname, ##__VA_ARGS__)

#define VL_BURST 64          /* descriptors handled per ring operation (host
				end: VLINK_HOSTEND_BURST, fill's stock there) */
#define VL_MAX_CHAIN 16      /* buffers in one packet (9000 B / 2 KiB) */

#define VL_XPUB_MAX 16       /* port-wide xstats published (>= PX_N) */

enum vl_end { VL_END_HOST, VL_END_PEER };
enum vl_mode { VL_MODE_MQ, VL_MODE_BOND };

/* Counters of one queue.  Written by the lcore polling the queue only. */
struct vl_qstats {
	uint64_t pkts, bytes;
	uint64_t bad_desc;       /* rx: descriptors refused by the ledger */
	uint64_t nombuf;         /* rx: no mbuf to stock fill / copy into */
	uint64_t copies;         /* tx: packets copied (not from the link's pool) */
	uint64_t ring_full;      /* tx: bursts cut short by a full ring */
	uint64_t dropped;        /* rx: packets dropped (a bad chain, too long) */
	uint64_t rx_copies;      /* rx: packets copied into the application's
				    mbufs instead of attached */
};

/* Host end: the shared info of one link buffer while an mbuf of the
 * application's pool holds it as an external buffer (one per buffer,
 * pv->ext[k] for buffer k).  Its free callback puts the buffer home. */
struct vl_ext {
	struct rte_mbuf_ext_shared_info si;  /* first: shinfo -> vl_ext */
	struct rte_mbuf *home;   /* the buffer's mbuf in pv->mp */
	/* the buffer's address and IOVA, as home has them: receive attaches
	 * the buffer from here, a line it writes anyway (si's refcnt),
	 * rather than from home's header, which is cold while the buffer is
	 * out */
	void *addr;
	rte_iova_t iova;
	bool sent;   /* the application sent it on this port: it is lent to
			the peer now, and freeing the mbuf puts nothing home */
} __rte_cache_aligned;

struct pmd_internals;

/* A partial packet: the chain of a channel whose last descriptor has not
 * arrived yet. */
struct vl_chain {
	struct rte_mbuf *head, *tail;
	bool bad;                /* drop it when it ends */
};

struct vl_queue {
	/* host end: the lcore's bursts and the control thread's resets
	 * exclude each other (vl_burst_begin, vl_queues_hold) */
	uint32_t busy;           /* the lcore is in a burst */
	uint32_t hold;           /* a reset is on: bursts do nothing */
	struct pmd_internals *pv;
	uint16_t qid;
	uint16_t port;
	bool rx;
	unsigned nch;            /* channels this queue serves */
	uint16_t ch[VLINK_NCHANNELS_MAX]; /* their ids (1-based) */
	unsigned next;           /* rx: round robin over ch[] */
	struct rte_mempool *mp;  /* rx: the application's pool; every mbuf
				    rx_burst returns comes from it */
	bool rx_copy;            /* rx: mp cannot take external buffers
				    (pinned): copy into its mbufs */
	unsigned copybreak;      /* host rx: a packet of one buffer and at
				    most this many bytes is copied into the
				    mbuf and its buffer goes home at once */
	struct vl_chain chain[VLINK_NCHANNELS_MAX]; /* rx: per ch[] index */
	uint8_t empty[VLINK_NCHANNELS_MAX]; /* host rx: empty polls in a row */
	/* peer end, tx: buffers taken from fill, not yet used */
	struct vlink_guest_pkt stash[VL_BURST];
	unsigned nstash;
	unsigned nout;           /* of which the first nout are filled, unsent */
	/* peer end, rx: buffers to give back that done had no room for */
	struct vlink_guest_pkt give[VL_BURST * 2];
	unsigned ngive;
	/* peer end, rx: the shared infos of received buffers attached to
	 * mp's mbufs (struct vl_zc), and the buffers their mbufs released
	 * (from any thread) */
	struct rte_mempool *zc_mp;
	struct rte_ring *ret;
	/* ... or, freed on the thread polling this queue, here (no atomics);
	 * both hold vl_token()s: the buffer and the epoch it was lent in */
	unsigned nlocal;
	uint64_t local[VL_BURST * 4];
	/* the thread in this queue's bursts, as vl_queue_lcore() last saw it
	 * (own: thread is valid; vl_self()), and its lcore */
	bool own;
	uintptr_t thread;
	unsigned lcore;
	struct vl_qstats st;
};

/* The calling thread, in one load: its thread pointer (unique per live
 * thread; pthread_self() is the same on glibc, but a call through the
 * PLT, once per freed mbuf in zc_free). */
static inline uintptr_t vl_self(void)
{
#ifdef __has_builtin
#if __has_builtin(__builtin_thread_pointer)
#define VL_HAVE_THREAD_POINTER
#endif
#endif
#ifdef VL_HAVE_THREAD_POINTER
	return (uintptr_t)__builtin_thread_pointer();
#else
	return (uintptr_t)pthread_self();
#endif
}

/* The lcore of the thread in a burst of q.  rte_lcore_id() from a plugin
 * loaded with -d is a call to __tls_get_addr (the general-dynamic TLS
 * model), and every rte_mempool_put/get and rte_pktmbuf_free/alloc makes
 * one; vl_self() is one load: so the lcore is read again only when
 * another thread polls the queue, and passed to vl_free_bulk and
 * vl_alloc_bulk. */
static inline unsigned vl_queue_lcore(struct vl_queue *q)
{
	uintptr_t self = vl_self();

	if (unlikely(!q->own || q->thread != self)) {
		q->own = false;
		rte_compiler_barrier();
		q->lcore = rte_lcore_id();
		q->thread = self;
		rte_compiler_barrier();
		q->own = true;
	}
	return q->lcore;
}

/* The calling thread is the one in q's bursts. */
static inline bool vl_queue_mine(const struct vl_queue *q)
{
	return q->own && q->thread == vl_self();
}

/* rte_pktmbuf_alloc_bulk through lcore's cache of mp. */
static inline int vl_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **m, unsigned n,
				unsigned lcore)
{
	if (rte_mempool_generic_get(mp, (void **)m, n, rte_mempool_default_cache(mp, lcore)))
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_reset(m[i]);
	return 0;
}

/* rte_pktmbuf_free_bulk (every segment of n packets, each pool's in one
 * put) through lcore's caches. */
static inline void vl_free_bulk(struct rte_mbuf **pkts, unsigned n, unsigned lcore)
{
	struct rte_mbuf *put[VL_BURST];
	unsigned np = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *s = pkts[i], *next;

		for (; s; s = next) {
			next = s->next;
			s = rte_pktmbuf_prefree_seg(s);
			if (!s)
				continue;
			if (np && (np == RTE_DIM(put) || s->pool != put[0]->pool)) {
				rte_mempool_generic_put(put[0]->pool, (void **)put, np,
					rte_mempool_default_cache(put[0]->pool, lcore));
				np = 0;
			}
			put[np++] = s;
		}
	}
	if (np)
		rte_mempool_generic_put(put[0]->pool, (void **)put, np,
					rte_mempool_default_cache(put[0]->pool, lcore));
}

/* The process is registered for membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED). */
extern bool vl_membarrier;

/* Host end, an lcore: start a burst of q; false while a reset holds the
 * queue (the burst is skipped).  A lock taken and released per burst
 * cost two locked instructions on the data path, each waiting for the
 * store buffer to drain (the ring and descriptor stores just made): the
 * largest single item of the host end's profile.  Instead the lcore
 * marks itself busy with a plain store and then looks at hold; the
 * control thread sets hold, puts a full barrier on every thread of the
 * process (membarrier) and waits for busy to drop, so either it sees the
 * lcore busy or the lcore sees hold (Dekker's pattern, the lcore's
 * fence moved to the rare side).  Without membarrier the lcore fences. */
static inline bool vl_burst_begin(struct vl_queue *q)
{
	__atomic_store_n(&q->busy, 1, __ATOMIC_RELAXED);
	if (unlikely(!vl_membarrier))
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		rte_compiler_barrier(); /* the CPU's barrier is membarrier's */
	if (unlikely(__atomic_load_n(&q->hold, __ATOMIC_ACQUIRE))) {
		__atomic_store_n(&q->busy, 0, __ATOMIC_RELEASE);
		return false;
	}
	return true;
}

static inline void vl_burst_end(struct vl_queue *q)
{
	__atomic_store_n(&q->busy, 0, __ATOMIC_RELEASE);
}

struct pmd_internals {
	char devname[RTE_DEV_NAME_MAX_LEN];
	char link[VLINK_NAME_MAX + 1];
	char socket[108];
	enum vl_end end;
	bool guest;               /* peer end in a VM, on a pci-vlink device
				     (end=guest, or the PCI driver) */
	char pci_dev[64];         /* guest: its PCI address ("": any) */
	uint32_t dev_connects;    /* guest: the device's CONNECTS, last seen */
	uint64_t dev_refreshes;   /* guest: link-table re-reads, last seen */
	enum vl_mode mode;
	unsigned wait_s;          /* probe: how long to wait for vlinkd */
	unsigned reset_ms;        /* host: how long a reset waits for the peer */
	unsigned copybreak;       /* host: rx_copybreak, bytes */
	uint16_t port;
	struct rte_eth_dev *dev;
	struct rte_ether_addr mac;
	unsigned nch;             /* the link's data channels */
	uint32_t buf_size;
	uint32_t mtu;             /* the link's MTU (link header): the largest
				     packet either end sends is mtu +
				     VLINK_L2_OVERHEAD bytes */
	bool started;

	/* host end */
	struct vlink_client *cl;  /* NULL while vlinkd is away */
	struct vlink_linkmem m;
	struct vlink_ledger led;
	struct vlink_hostend he;  /* m and led with the pool below as home */
	struct rte_mempool *mp;   /* extbuf pool over the link's buffers: the
				     buffers at home (never the application's) */
	struct vl_ext *ext;       /* buffer index -> its mbuf in mp, and its
				     shared info while the application has it */
	bool extmem;              /* the link's segments are registered
				     (rte_extmem_register) */
	pthread_mutex_t reset_mx; /* one reset or start/stop at a time */
	uint64_t resets;          /* epochs opened */
	uint64_t reset_timeouts;  /* of which the peer did not acknowledge */
	uint64_t reclaimed;       /* buffers taken back from the peer by resets */
	int reattach_err;         /* the last reason a re-attach failed */
	struct vlink_notify notify; /* event mode: the link's notifiers (live
				     once vlinkd gave them; swapped in again
				     when it comes back) */

	/* peer end */
	struct vlink_guest_link *g;
	bool peer_gone;           /* the link went away for good (link down) */

	/* rx interrupts (intr_conf.rxq): per rx queue, the fd that wakes it
	 * (its channel's wait fd, or an epoll fd of its channels' that this
	 * port made: intr_own) */
	struct rte_intr_handle *intr;
	int intr_fd[VLINK_NCHANNELS_MAX];
	bool intr_own[VLINK_NCHANNELS_MAX];

	/* control thread */
	pthread_t ctl;
	bool ctl_running;
	volatile bool ctl_stop;
	uint64_t reconnects;      /* times vlinkd came back and we re-attached */
	uint64_t daemon_losses;   /* (peer end: the library's count, last logged) */
	uint32_t other_state;     /* last seen state of the other end */

	/* the port's own counters as the control thread last read them
	 * (every 100 ms), for secondary processes: dev_private is shared
	 * memory, the link's mappings and libvlinkguest's handle are not */
	uint64_t xpub[VL_XPUB_MAX];
	uint32_t epoch_pub;       /* host end: the epoch; peer end: 0 */
};

/* vlink_host.c */
int vl_host_setup(struct pmd_internals *pv, char *why, size_t n);
void vl_host_teardown(struct pmd_internals *pv);
/* Buffers the application holds in mbufs rx_burst gave it (neither home
 * nor lent to the peer). */
unsigned vl_host_in_app(const struct pmd_internals *pv);
uint16_t vl_host_rx(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vl_host_tx(void *q, struct rte_mbuf **pkts, uint16_t n);
/* Take back what came home on done and tx (no lcore may be polling). */
void vl_host_drain(struct pmd_internals *pv);
/* Open a new epoch (vlink_epoch.h): wait up to timeout_ms for the peer's
 * ack, take back every lent buffer, empty the rings, drop partial rx
 * chains, then host_state `state` (UP, or DOWN when the port stops).  No
 * lcore may be in a burst: the caller holds every queue (vl_queues_hold), or none
 * runs. */
void vl_host_reset(struct rte_eth_dev *dev, unsigned timeout_ms, uint32_t state);
void vl_queue_drop_chains(struct vl_queue *q);
/* Control thread: hold every queue of the port (wait for bursts under way
 * to end; later ones do nothing), or let them go. */
void vl_queues_hold(struct rte_eth_dev *dev, bool hold);
/* The last piece of a packet came: pass the chain up (out[(*nout)++]) or
 * drop it (bad, or empty); either way the chain is reset. */
void vl_chain_end(struct vl_queue *q, struct vl_chain *c, struct rte_mbuf **out,
		  uint16_t *nout);
uint32_t vl_flow_hash(const struct rte_mbuf *m);

/* vlink_peer.c */
uint16_t vl_peer_rx(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vl_peer_tx(void *q, struct rte_mbuf **pkts, uint16_t n);
/* Copy len bytes to the end of chain c in mbufs of q->mp: false if out of
 * mbufs (the chain is then incomplete: drop it). */
bool vl_chain_append(struct vl_queue *q, struct vl_chain *c, const uint8_t *src, uint32_t len);
/* Give back everything the queue holds (stash, pending, chains). */
void vl_peer_queue_flush(struct vl_queue *q);
int vl_peer_rxq_setup(struct vl_queue *q, unsigned socket);
/* Free what vl_peer_rxq_setup made: false if the application still holds
 * received buffers (then q and what it has are kept: their callbacks use
 * them). */
bool vl_peer_rxq_free(struct vl_queue *q);

#endif
