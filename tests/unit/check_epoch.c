/* The epoch/reset handshake (proto/vlink_epoch.c) and the host end's data
 * path (proto/vlink_hostend.c): both ends of a link in one process, over
 * memory laid out as vlinkd lays out a link. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vlink_epoch.h"
#include "vlink_hostend.h"
#include "vlink_ledger.h"
#include "vlink_linkmem.h"
#include "vlink_notify.h"
#include "vlink_shm.h"

#define POOL (2u << 20)
#define REGION (64u << 10)
#define RING 64u
#define NCH 2u
#define HDR 8192u
#define NBUFS 256u

static uint8_t *pool, *region;
static struct vlink_linkmem host, peer;

static struct vlink_link_hdr *lh(void)
{
	return (struct vlink_link_hdr *)(region + HDR);
}

static void map_end(struct vlink_linkmem *m, bool is_host)
{
	struct vlink_link_entry e = ((struct vlink_region_hdr *)region)->links[0];
	char why[256];

	ck_assert_msg(vlink_linkmem_from_bars(m, pool, POOL, region, REGION, &e, "d", is_host,
					      why, sizeof(why)) == 0, "%s", why);
}

static void setup(void)
{
	struct vlink_region_hdr *h;
	struct vlink_link_entry *e;

	pool = aligned_alloc(4096, POOL);
	region = aligned_alloc(4096, REGION);
	ck_assert_ptr_nonnull(pool);
	ck_assert_ptr_nonnull(region);
	memset(pool, 0, POOL);
	memset(region, 0, REGION);
	h = (struct vlink_region_hdr *)region;
	h->magic = VLINK_SHM_MAGIC;
	h->version = VLINK_SHM_VERSION;
	h->max_links = VLINK_MAX_LINKS;
	h->region_size = REGION;
	h->pool_size = POOL;
	e = &h->links[0];
	snprintf(e->name, sizeof(e->name), "L");
	e->nchannels = NCH;
	e->ring_size = RING;
	e->buf_size = VLINK_BUF_SIZE;
	e->flags = VLINK_LINK_F_USED;
	e->ring_stride = vlink_ring_stride(RING);
	e->hdr_offset = HDR;
	e->buf_area = NBUFS * VLINK_BUF_SIZE;
	lh()->version = VLINK_SHM_VERSION;
	lh()->nchannels = NCH;
	lh()->ring_size = RING;
	lh()->buf_size = VLINK_BUF_SIZE;
	lh()->ring_stride = e->ring_stride;
	lh()->buf_area = e->buf_area;
	for (unsigned c = 1; c <= NCH; c++)
		for (int r = 0; r < 4; r++)
			((struct vlink_ring_hdr *)(region + HDR +
				vlink_ring_offset(RING, c, (enum vlink_ring_id)r)))->size = RING;
	lh()->mtu = 1500;
	lh()->magic = VLINK_LINK_MAGIC;
	h->nlinks = 1;
	map_end(&host, true);
	map_end(&peer, false);
}

static void teardown(void)
{
	vlink_linkmem_unmap(&host);
	vlink_linkmem_unmap(&peer);
	free(pool);
	free(region);
}

static struct vlink_desc desc(unsigned i)
{
	return (struct vlink_desc){ .pool_offset = (uint64_t)i * VLINK_BUF_SIZE, .len = 64 };
}

START_TEST(epoch_never_zero)
{
	lh()->host_epoch = UINT32_MAX;
	ck_assert_uint_eq(vlink_epoch_host_begin(&host), 1);
	ck_assert_uint_eq(lh()->host_state, VLINK_END_RESETTING);
	ck_assert_uint_eq(vlink_epoch_host_begin(&host), 2);
}
END_TEST

START_TEST(newcomer_waits_for_a_new_epoch)
{
	struct vlink_epoch_peer p;

	/* a host up in epoch 5, the ack of a dead predecessor still there */
	lh()->host_epoch = 5;
	host.host_epoch = 5;
	lh()->host_state = VLINK_END_UP;
	lh()->peer_ack_epoch = 5;
	ck_assert(!vlink_epoch_peer_asks(&host));
	vlink_epoch_peer_attach(&peer, &p);
	ck_assert_uint_eq(lh()->peer_state, VLINK_END_RESETTING);
	ck_assert_uint_eq(lh()->peer_ack_epoch, 0);
	ck_assert(vlink_epoch_peer_asks(&host));
	ck_assert(!vlink_epoch_peer_ready(&host));
	/* epoch 5 may be full of the predecessor's buffers: never joined */
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_WAIT);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 0), VLINK_EPOCH_WAIT);
	ck_assert_uint_eq(lh()->peer_ack_epoch, 0);

	ck_assert_uint_eq(vlink_epoch_host_begin(&host), 6);
	ck_assert_int_eq(vlink_epoch_host_wait(&host, 6, 0, NULL), -ETIMEDOUT);
	/* RESETTING: acked, still waiting */
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_WAIT);
	ck_assert_uint_eq(lh()->peer_ack_epoch, 6);
	ck_assert_int_eq(vlink_epoch_host_wait(&host, 6, 1000, NULL), 0);
	ck_assert(!vlink_epoch_peer_asks(&host));
	vlink_epoch_host_clear(&host);
	vlink_epoch_host_set(&host, VLINK_END_UP);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_OK);
	ck_assert_uint_eq(vlink_epoch_peer_current(&p, 1), 6);
	ck_assert_uint_eq(lh()->peer_state, VLINK_END_UP);
	ck_assert(vlink_epoch_peer_ready(&host));
	/* the first epoch is not a reset */
	ck_assert_uint_eq(p.resets, 0);
}
END_TEST

/* A hostile peer writes the host's words of the link header and leaves:
 * the host still hears the next peer's request and opens an epoch newer
 * than its own last one, and only a peer up in that epoch is lent to. */
START_TEST(forged_host_epoch)
{
	struct vlink_epoch_peer p;

	ck_assert_uint_eq(vlink_epoch_host_begin(&host), 1);
	vlink_epoch_host_set(&host, VLINK_END_UP);
	/* it pretends to be up in an epoch it made up */
	lh()->host_epoch = 0;
	lh()->peer_ack_epoch = 0;
	lh()->peer_state = VLINK_END_UP;
	ck_assert(!vlink_epoch_peer_ready(&host));
	/* the newcomer finds host_epoch 0 and clears its ack to 0: it asks */
	vlink_epoch_peer_attach(&peer, &p);
	ck_assert_uint_eq(p.stale, 0);
	ck_assert(vlink_epoch_peer_asks(&host));
	/* 0 + 1 is the host's current epoch: not a new one */
	ck_assert_uint_eq(vlink_epoch_host_begin(&host), 2);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_WAIT);
	ck_assert_int_eq(vlink_epoch_host_wait(&host, 2, 1000, NULL), 0);
	vlink_epoch_host_clear(&host);
	vlink_epoch_host_set(&host, VLINK_END_UP);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_OK);
	ck_assert(vlink_epoch_peer_ready(&host));
	ck_assert(!vlink_epoch_peer_asks(&host));
	/* rewound by one: the next epoch is still a new one */
	lh()->host_epoch = 1;
	ck_assert_uint_eq(vlink_epoch_host_begin(&host), 3);
}
END_TEST

START_TEST(ack_waits_for_every_channel_in_use)
{
	struct vlink_epoch_peer p;
	uint32_t e;

	vlink_epoch_peer_attach(&peer, &p);
	e = vlink_epoch_host_begin(&host);
	vlink_epoch_host_set(&host, VLINK_END_UP);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_OK);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 2), VLINK_EPOCH_OK);
	ck_assert_uint_eq(lh()->peer_ack_epoch, e);

	e = vlink_epoch_host_begin(&host);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_WAIT);
	/* channel 2's thread may still hold buffers of the old epoch */
	ck_assert_uint_eq(lh()->peer_ack_epoch, e - 1);
	ck_assert_int_eq(vlink_epoch_host_wait(&host, e, 0, NULL), -ETIMEDOUT);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 2), VLINK_EPOCH_WAIT);
	ck_assert_uint_eq(lh()->peer_ack_epoch, e);
	ck_assert_int_eq(vlink_epoch_host_wait(&host, e, 0, NULL), 0);
	vlink_epoch_host_clear(&host);
	vlink_epoch_host_set(&host, VLINK_END_UP);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 2), VLINK_EPOCH_OK);
	ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, 1), VLINK_EPOCH_OK);
	ck_assert_uint_eq(p.resets, 1);
}
END_TEST

START_TEST(host_wait_ends)
{
	bool stop = true;

	ck_assert_int_eq(vlink_epoch_host_wait(&host, 1, 50, NULL), 0); /* no peer */
	lh()->peer_state = VLINK_END_UP;
	ck_assert_int_eq(vlink_epoch_host_wait(&host, 1, 50, NULL), -ETIMEDOUT);
	ck_assert_int_eq(vlink_epoch_host_wait(&host, 1, 60000, &stop), -EINTR);
	lh()->peer_ack_epoch = 1;
	ck_assert_int_eq(vlink_epoch_host_wait(&host, 1, 0, NULL), 0);
}
END_TEST

/* Whatever was in flight either way is gone after a reset, for both ends,
 * and the rings work again from where they are. */
START_TEST(clear_empties_every_ring)
{
	struct vlink_epoch_peer p;
	struct vlink_desc d[8];
	uint32_t e;

	vlink_epoch_peer_attach(&peer, &p);
	vlink_epoch_host_begin(&host);
	vlink_epoch_host_set(&host, VLINK_END_UP);
	for (unsigned c = 0; c < NCH; c++) {
		ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, c + 1), VLINK_EPOCH_OK);
		for (unsigned i = 0; i < 5; i++) {
			d[i] = desc(c * 16 + i);
			ck_assert_uint_eq(vlink_ring_enqueue_burst(&host.ch[c].rx, &d[i], 1), 1);
			ck_assert_uint_eq(vlink_ring_enqueue_burst(&host.ch[c].fill, &d[i], 1), 1);
			ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[c].tx, &d[i], 1), 1);
			ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[c].done, &d[i], 1), 1);
		}
		/* the peer has seen some of it: its cached view is not empty */
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[c].rx, d, 2), 2);
	}
	e = vlink_epoch_host_begin(&host);
	for (unsigned c = 0; c < NCH; c++)
		ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, c + 1), VLINK_EPOCH_WAIT);
	ck_assert_int_eq(vlink_epoch_host_wait(&host, e, 1000, NULL), 0);
	vlink_epoch_host_clear(&host);
	vlink_epoch_host_set(&host, VLINK_END_UP);
	for (unsigned c = 0; c < NCH; c++) {
		ck_assert_int_eq(vlink_epoch_peer_sync(&peer, &p, c + 1), VLINK_EPOCH_OK);
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[c].rx, d, 8), 0);
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[c].fill, d, 8), 0);
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&host.ch[c].tx, d, 8), 0);
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&host.ch[c].done, d, 8), 0);
		/* full room again, and traffic goes both ways */
		ck_assert_uint_eq(vlink_ring_free_count(&host.ch[c].rx), RING);
		ck_assert_uint_eq(vlink_ring_free_count(&peer.ch[c].tx), RING);
		d[0] = desc(100 + c);
		ck_assert_uint_eq(vlink_ring_enqueue_burst(&host.ch[c].rx, d, 1), 1);
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[c].rx, d, 8), 1);
		ck_assert_uint_eq(d[0].pool_offset, (100 + c) * VLINK_BUF_SIZE);
		ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[c].tx, d, 1), 1);
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&host.ch[c].tx, d, 8), 1);
		ck_assert_uint_eq(host.ch[c].rx.bad_index + peer.ch[c].rx.bad_index, 0);
	}
}
END_TEST

/* A host end that resets over and over under traffic, a peer thread that
 * receives and frees: the peer never sees a buffer of an epoch it is not
 * in (each buffer carries the epoch it was lent in), the host never takes
 * back what it did not lend, and every buffer is home after each reset. */
#define RESETS 300

struct race {
	struct vlink_epoch_peer p;
	volatile bool stop;
	uint64_t received, wrong_epoch;
};

static void *peer_main(void *arg)
{
	struct race *r = arg;
	struct vlink_desc d[16];

	while (!r->stop) {
		unsigned n;
		uint32_t e;

		if (vlink_epoch_peer_sync(&peer, &r->p, 1) != VLINK_EPOCH_OK) {
			sched_yield(); /* let the host run (valgrind has one CPU) */
			continue;
		}
		e = vlink_epoch_peer_current(&r->p, 1);
		n = vlink_ring_dequeue_burst(&peer.ch[0].rx, d, 16);
		for (unsigned i = 0; i < n; i++) {
			uint32_t tag;

			memcpy(&tag, pool + d[i].pool_offset, sizeof(tag));
			r->wrong_epoch += tag != e;
		}
		__atomic_fetch_add(&r->received, n, __ATOMIC_RELAXED);
		if (!n)
			sched_yield();
		/* what does not fit waits for the next round in a real peer;
		 * here the host reaps fast enough that it always fits */
		vlink_ring_enqueue_burst(&peer.ch[0].done, d, n);
	}
	return NULL;
}

/* vlink_hostend's home for the tests: counts what comes back */
static void count_home(void *arg, const int64_t *idx, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		*(unsigned *)arg += idx[i] >= 0;
}

START_TEST(resets_under_traffic)
{
	struct vlink_ledger led;
	struct race r = { 0 };
	unsigned homes = 0;
	struct vlink_hostend he = { .m = &host, .led = &led, .home = count_home,
				    .arg = &homes };
	pthread_t t;
	unsigned timeouts = 0;

	ck_assert_int_eq(vlink_ledger_init(&led, 0, NBUFS * VLINK_BUF_SIZE, VLINK_BUF_SIZE), 0);
	vlink_epoch_peer_attach(&peer, &r.p);
	ck_assert_int_eq(pthread_create(&t, NULL, peer_main, &r), 0);
	for (unsigned k = 0; k < RESETS; k++) {
		struct vlink_hostend_reset rr;
		uint32_t e;
		unsigned n;

		/* the reset every host end runs (the PMD's, vlink-hostend's) */
		homes = 0;
		vlink_hostend_reset(&he, 5000, NULL, VLINK_END_UP, &rr);
		e = rr.epoch;
		timeouts += rr.wait != 0;
		ck_assert_uint_eq(vlink_ledger_lent(&led), 0);
		ck_assert_uint_eq(homes, rr.reclaimed);
		ck_assert_uint_eq(vlink_epoch_host_state(&host), VLINK_END_UP);
		/* lend a few rounds of buffers tagged with the epoch */
		for (unsigned round = 0; round < 4; round++) {
			struct vlink_desc d[16];

			for (unsigned i = 0; i < 16; i++) {
				unsigned b = (k * 64 + round * 16 + i) % NBUFS;

				d[i] = desc(b);
				if (vlink_ledger_lend(&led, d[i].pool_offset, 1))
					break; /* still out: next round */
				memcpy(pool + d[i].pool_offset, &e, sizeof(e));
				n = vlink_ring_enqueue_burst(&host.ch[0].rx, &d[i], 1);
				ck_assert_uint_eq(n, 1);
			}
			n = vlink_ring_dequeue_burst(&host.ch[0].done, d, 16);
			for (unsigned i = 0; i < n; i++)
				ck_assert_int_ge(vlink_ledger_take(&led, &d[i], 1), 0);
		}
	}
	/* the last epoch stays up with buffers on rx until the peer has had
	 * some (on a loaded machine the resets can all go by before the peer
	 * thread runs once) */
	for (unsigned i = 0; i < 10000 && !__atomic_load_n(&r.received, __ATOMIC_RELAXED); i++)
		usleep(1000);
	r.stop = true;
	pthread_join(t, NULL);
	ck_assert_uint_eq(timeouts, 0);
	ck_assert_uint_eq(r.wrong_epoch, 0);
	ck_assert_uint_gt(r.received, 0);
	ck_assert_uint_eq(vlink_ledger_errors(&led), 0);
	vlink_ledger_fini(&led);
}
END_TEST

/* A peer that left: what it returned (done, tx) and what it never took
 * (rx, fill) comes home, every buffer; a peer up again keeps what it has. */
START_TEST(drain_takes_back)
{
	struct vlink_ledger led;
	unsigned homes = 0;
	struct vlink_hostend he = { .m = &host, .led = &led, .home = count_home,
				    .arg = &homes };
	struct vlink_desc d[8];

	ck_assert_int_eq(vlink_ledger_init(&led, 0, NBUFS * VLINK_BUF_SIZE, VLINK_BUF_SIZE), 0);
	for (unsigned i = 0; i < 8; i++) {
		d[i] = desc(i);
		ck_assert_int_eq(vlink_ledger_lend(&led, d[i].pool_offset, 1), 0);
	}
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&host.ch[0].rx, d, 5), 5);
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&host.ch[0].fill, d + 5, 3), 3);
	/* the peer took two from rx: one back on done, one sent on tx */
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[0].rx, d, 2), 2);
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[0].done, d, 1), 1);
	d[1].len = 60;
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[0].tx, d + 1, 1), 1);
	ck_assert_int_eq(vlink_hostend_drain(&he, 1), 8);
	ck_assert_uint_eq(homes, 8);
	ck_assert_uint_eq(vlink_ledger_lent(&led), 0);
	ck_assert_uint_eq(vlink_ledger_errors(&led), 0);
	ck_assert_uint_eq(vlink_ring_free_count(&host.ch[0].rx), RING);
	ck_assert_uint_eq(vlink_ring_free_count(&host.ch[0].fill), RING);
	vlink_ledger_fini(&led);
}
END_TEST

/* A host end whose home is a stack of buffer indexes, as in
 * tests/vlink-hostend.c. */
struct stack {
	uint32_t b[NBUFS];
	unsigned n;
};

static void stack_home(void *arg, const int64_t *idx, unsigned k)
{
	struct stack *s = arg;

	for (unsigned i = 0; i < k; i++)
		if (idx[i] >= 0)
			s->b[s->n++] = (uint32_t)idx[i];
}

static unsigned stack_get(void *arg, struct vlink_desc *d, unsigned n)
{
	struct stack *s = arg;
	unsigned k = 0;

	for (; k < n && s->n; k++) {
		d[k] = desc(s->b[--s->n]);
		d[k].data_off = 128;
	}
	return k;
}

/* Refill keeps the stock and no more; what the peer sends comes through the
 * ledger (a forged descriptor refused and counted, never a buffer); send
 * publishes what fits, not a buffer twice; reap takes done home. */
START_TEST(data_path)
{
	struct vlink_ledger led;
	static struct stack home;
	struct vlink_hostend he = { .m = &host, .led = &led, .home = stack_home,
				    .arg = &home, .get = stack_get };
	struct vlink_desc d[VLINK_HOSTEND_BURST], s[RING + 8];
	int64_t idx[VLINK_HOSTEND_BURST];
	uint64_t bad = 0;
	unsigned dup = 0, n;

	ck_assert_int_eq(vlink_ledger_init(&led, 0, NBUFS * VLINK_BUF_SIZE, VLINK_BUF_SIZE), 0);
	home.n = 0;
	for (uint32_t k = NBUFS; k > 0; k--)
		home.b[home.n++] = k - 1;
	/* a ring of 64 is stocked whole, a burst at a time */
	ck_assert_int_eq(vlink_hostend_refill(&he, 1), (int)RING);
	ck_assert_int_eq(vlink_hostend_refill(&he, 1), 0);
	ck_assert_uint_eq(vlink_ledger_lent(&led), RING);
	/* the peer takes 40 and sends 3 of them back as packets, plus a forged one */
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[0].fill, d, 40), 40);
	ck_assert_uint_eq(d[0].data_off, 128);
	ck_assert_uint_eq(d[0].len, 0);
	for (unsigned i = 0; i < 3; i++)
		d[i].len = 100;
	d[3] = d[0];   /* the same buffer again */
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[0].tx, d, 4), 4);
	/* 40 out of 64: more than VLINK_HOSTEND_REFILL below the stock */
	ck_assert_int_eq(vlink_hostend_refill(&he, 1), 40);
	n = vlink_hostend_recv(&he, 1, s, idx, VLINK_HOSTEND_BURST, &bad);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(bad, 1);
	ck_assert_int_eq(idx[0], (int64_t)(d[0].pool_offset / VLINK_BUF_SIZE));
	ck_assert_int_ge(idx[2], 0);
	ck_assert_int_eq(idx[3], -1);
	ck_assert_uint_eq(led.errors[VLINK_LEDGER_NOT_LENT], 1);
	stack_home(&home, idx, n);
	/* the home gets empty: refill says so */
	{
		struct stack keep = home;

		home.n = 0;
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[0].fill, d, 40), 40);
		ck_assert_int_eq(vlink_hostend_refill(&he, 1), -ENOBUFS);
		ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[0].done, d, 40), 40);
		home = keep;
	}
	/* send: a ring of 64 takes 64 of 70; a buffer sent twice goes once */
	n = vlink_hostend_reap(&he, 1, 1);
	ck_assert_uint_eq(n, 0);
	for (unsigned i = 0; i < RING + 6; i++) {
		s[i] = desc(home.b[--home.n]);
		s[i].len = 60;
	}
	s[1] = s[0];
	ck_assert_uint_eq(vlink_hostend_send(&he, 2, s, RING + 6, &dup), RING);
	ck_assert_uint_eq(dup, 1);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[1].rx, d, VLINK_HOSTEND_BURST), RING - 1);
	/* the peer returns them on done, one of them twice */
	d[RING - 1] = d[5];
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[1].done, d, RING), RING);
	ck_assert_uint_eq(vlink_hostend_reap(&he, 2, 4), 1);
	ck_assert_uint_eq(led.errors[VLINK_LEDGER_NOT_LENT], 2);
	/* out now: channel 1's first stock, less the 3 sent back (the 40 of
	 * the refill came back on done) */
	ck_assert_uint_eq(vlink_ledger_lent(&led), RING - 3);
	ck_assert_uint_eq(home.n + vlink_ledger_lent(&led) + 7, NBUFS);
	vlink_ledger_fini(&led);
}
END_TEST

/* A peer whose transmit waits for fill buffers sets need_wakeup on fill
 * (the guest kernel driver): the host end's refill signals it, once; a
 * peer that does not wait is not signalled. */
START_TEST(refill_wakes_a_peer_waiting_for_fill)
{
	struct vlink_ledger led;
	static struct stack home;
	struct vlink_notify n;
	struct vlink_hostend he = { .m = &host, .led = &led, .home = stack_home,
				    .arg = &home, .get = stack_get, .notify = &n };
	struct vlink_desc d[RING];
	uint64_t v, before;

	ck_assert_int_eq(vlink_ledger_init(&led, 0, NBUFS * VLINK_BUF_SIZE, VLINK_BUF_SIZE), 0);
	home.n = 0;
	for (uint32_t k = NBUFS; k > 0; k--)
		home.b[home.n++] = k - 1;
	ck_assert_int_eq(vlink_notify_init(&n, NCH, true), 0);
	for (unsigned ch = 1; ch <= NCH; ch++)
		ck_assert_int_eq(vlink_notify_swap(&n, ch, eventfd(0, EFD_NONBLOCK),
						   eventfd(0, EFD_NONBLOCK)), 0);
	n.live = true; /* as vlink_notify_fetch does once all are in */
	/* the swap signalled each channel once: drain channel 1's */
	ck_assert_int_eq(read(n.theirs[0], &v, sizeof(v)), (ssize_t)sizeof(v));
	/* not waiting: no signal */
	before = n.signals;
	ck_assert_int_eq(vlink_hostend_refill(&he, 1), (int)RING);
	ck_assert_uint_eq(n.signals, before);
	/* the peer takes every buffer, finds fill empty and waits */
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[0].fill, d, RING), RING);
	ck_assert(vlink_ring_sleep_begin(&peer.ch[0].fill));
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[0].done, d, RING), RING);
	ck_assert_uint_eq(vlink_hostend_reap(&he, 1, 4), 0); /* none bad */
	ck_assert_int_eq(vlink_hostend_refill(&he, 1), (int)RING);
	ck_assert_uint_eq(n.signals, before + 1);
	ck_assert_int_eq(read(n.theirs[0], &v, sizeof(v)), (ssize_t)sizeof(v));
	ck_assert_uint_eq(v, 1);
	/* once per wait: the word was taken */
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&peer.ch[0].fill, d, RING), RING);
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&peer.ch[0].done, d, RING), RING);
	ck_assert_uint_eq(vlink_hostend_reap(&he, 1, 4), 0); /* none bad */
	ck_assert_int_eq(vlink_hostend_refill(&he, 1), (int)RING);
	ck_assert_uint_eq(n.signals, before + 1);
	vlink_notify_fini(&n);
	vlink_ledger_fini(&led);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("epoch");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, epoch_never_zero);
	tcase_add_test(tc, newcomer_waits_for_a_new_epoch);
	tcase_add_test(tc, forged_host_epoch);
	tcase_add_test(tc, ack_waits_for_every_channel_in_use);
	tcase_add_test(tc, host_wait_ends);
	tcase_add_test(tc, clear_empties_every_ring);
	tcase_add_test(tc, resets_under_traffic);
	tcase_add_test(tc, drain_takes_back);
	tcase_add_test(tc, data_path);
	tcase_add_test(tc, refill_wakes_a_peer_waiting_for_fill);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
