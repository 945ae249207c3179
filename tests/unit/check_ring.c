/* Unit tests for proto/vlink_ring.c: single-thread semantics, index
 * wraparound past 2^32, resuming after re-attach, a hostile other side, a
 * producer and a consumer thread passing VLINK_RING_TEST_COUNT (default
 * 100,000,000) descriptors through one ring, and a consumer that sleeps on
 * an eventfd whenever the ring is empty (need_wakeup: no lost wake-up). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vlink_ring.h"

/* ---------------------------------------------------------------- helpers */

/* A ring header and `size` slots in a 64-byte-aligned buffer, zeroed. */
static struct vlink_ring_hdr *ring_alloc(uint32_t size)
{
	size_t bytes = vlink_ring_stride(size);
	void *p = NULL;

	ck_assert_int_eq(posix_memalign(&p, VLINK_CACHELINE, bytes), 0);
	memset(p, 0, bytes);
	return p;
}

static struct vlink_desc *slots(struct vlink_ring_hdr *h)
{
	return (struct vlink_desc *)(h + 1);
}

/* Descriptor number `seq`: every field derived from it. */
static struct vlink_desc mkdesc(uint64_t seq)
{
	struct vlink_desc d = {
		.pool_offset = seq,
		.len = (uint32_t)(seq * 0x9e3779b1u),
		.flags = (uint16_t)(seq >> 7),
		.data_off = (uint16_t)(seq ^ (seq >> 21)),
	};

	return d;
}

static int desc_is(const struct vlink_desc *d, uint64_t seq)
{
	struct vlink_desc e = mkdesc(seq);

	return d->pool_offset == e.pool_offset && d->len == e.len &&
	       d->flags == e.flags && d->data_off == e.data_off;
}

/* Enqueue n descriptors seq.. and return how many went in. */
static unsigned push_seq(struct vlink_ring *p, uint64_t seq, unsigned n)
{
	struct vlink_desc d[64];

	if (n > 64)
		ck_abort_msg("push_seq: %u > 64", n);
	for (unsigned i = 0; i < n; i++)
		d[i] = mkdesc(seq + i);
	return vlink_ring_enqueue_burst(p, d, n);
}

/* Dequeue up to n descriptors, expect exactly `want`, numbered seq.. */
static void pop_expect(struct vlink_ring *c, uint64_t seq, unsigned n, unsigned want)
{
	struct vlink_desc d[64];
	unsigned got;

	/* plain ifs in the loops: a passing ck_assert costs Check a write() */
	if (n > 64)
		ck_abort_msg("pop_expect: %u > 64", n);
	got = vlink_ring_dequeue_burst(c, d, n);
	if (got != want)
		ck_abort_msg("dequeued %u of %u, want %u", got, n, want);
	for (unsigned i = 0; i < got; i++)
		if (!desc_is(&d[i], seq + i))
			ck_abort_msg("descriptor %u: got offset %llu, want %llu", i,
				     (unsigned long long)d[i].pool_offset,
				     (unsigned long long)(seq + i));
}

static void attach_pair(struct vlink_ring *p, struct vlink_ring *c,
			struct vlink_ring_hdr *h, uint32_t size)
{
	ck_assert_int_eq(vlink_ring_attach(p, h, size, true), 0);
	ck_assert_int_eq(vlink_ring_attach(c, h, size, false), 0);
}

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* ----------------------------------------------------------------- attach */

START_TEST(test_attach_sizes)
{
	static const uint32_t bad[] = { 0, 3, 6, 12, 1000, 1u << 17, 0x80000000u,
					0xffffffffu, (1u << 16) + 1 };
	struct vlink_ring_hdr *h = ring_alloc(1u << 16);
	struct vlink_ring r;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(vlink_ring_attach(&r, h, bad[i], true), -EINVAL);
		ck_assert_int_eq(vlink_ring_attach(&r, h, bad[i], false), -EINVAL);
	}
	for (uint32_t s = 1; s <= (1u << 16); s <<= 1) {
		ck_assert_int_eq(vlink_ring_attach(&r, h, s, true), 0);
		ck_assert_uint_eq(r.size, s);
		ck_assert_uint_eq(r.mask, s - 1);
		ck_assert_ptr_eq(r.hdr, h);
		ck_assert_ptr_eq(r.desc, slots(h));
		ck_assert(r.producer);
		ck_assert_uint_eq(r.bad_index, 0);
		ck_assert_int_eq(vlink_ring_attach(&r, h, s, false), 0);
		ck_assert(!r.producer);
	}
	free(h);
}
END_TEST

START_TEST(test_attach_bad_hdr)
{
	struct vlink_ring_hdr *h = ring_alloc(64);
	struct vlink_ring r;

	ck_assert_int_eq(vlink_ring_attach(&r, NULL, 64, true), -EINVAL);
	ck_assert_int_eq(vlink_ring_attach(&r, NULL, 64, false), -EINVAL);
	for (unsigned off = 1; off < VLINK_CACHELINE; off++) {
		void *p = (uint8_t *)h + off;

		ck_assert_int_eq(vlink_ring_attach(&r, p, 64, true), -EINVAL);
		ck_assert_int_eq(vlink_ring_attach(&r, p, 64, false), -EINVAL);
	}
	free(h);
}
END_TEST

/* hdr->size is in shared memory: the size given to attach is what counts. */
START_TEST(test_attach_ignores_shared_size)
{
	struct vlink_ring_hdr *h = ring_alloc(8);
	struct vlink_ring p, c;

	h->size = 0xffffffffu;
	attach_pair(&p, &c, h, 8);
	ck_assert_uint_eq(push_seq(&p, 0, 20), 8);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 0);
	ck_assert_uint_eq(vlink_ring_count(&c), 8);
	h->size = 2;
	pop_expect(&c, 0, 20, 8);
	ck_assert_uint_eq(h->size, 2);
	ck_assert_uint_eq(p.bad_index + c.bad_index, 0);
	free(h);
}
END_TEST

/* ----------------------------------------------------------- single thread */

START_TEST(test_empty_full)
{
	struct vlink_ring_hdr *h = ring_alloc(16);
	struct vlink_ring p, c;
	struct vlink_desc d[4];

	attach_pair(&p, &c, h, 16);
	memset(d, 0x5a, sizeof(d));
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 4), 0);
	ck_assert_uint_eq(d[0].pool_offset, 0x5a5a5a5a5a5a5a5aull);
	ck_assert_uint_eq(vlink_ring_count(&c), 0);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 16);
	/* a zero-length burst does nothing on either side */
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&p, d, 0), 0);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 0), 0);
	ck_assert_uint_eq(h->head, 0);

	for (unsigned i = 0; i < 16; i++) {
		ck_assert_uint_eq(push_seq(&p, i, 1), 1);
		ck_assert_uint_eq(vlink_ring_free_count(&p), 15 - i);
		ck_assert_uint_eq(vlink_ring_count(&c), i + 1);
	}
	ck_assert_uint_eq(push_seq(&p, 16, 1), 0);
	ck_assert_uint_eq(push_seq(&p, 16, 5), 0);
	ck_assert_uint_eq(h->head, 16);
	ck_assert_uint_eq(h->tail, 0);
	for (unsigned i = 0; i < 16; i++)
		pop_expect(&c, i, 1, 1);
	pop_expect(&c, 16, 1, 0);
	ck_assert_uint_eq(h->tail, 16);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 16);
	ck_assert_uint_eq(vlink_ring_count(&c), 0);
	ck_assert_uint_eq(p.bad_index + c.bad_index, 0);
	free(h);
}
END_TEST

START_TEST(test_partial_bursts)
{
	struct vlink_ring_hdr *h = ring_alloc(16);
	struct vlink_ring p, c;

	attach_pair(&p, &c, h, 16);
	ck_assert_uint_eq(push_seq(&p, 0, 5), 5);
	ck_assert_uint_eq(push_seq(&p, 5, 7), 7);
	/* burst larger than the free space: only what fits */
	ck_assert_uint_eq(push_seq(&p, 12, 10), 4);
	ck_assert_uint_eq(push_seq(&p, 16, 10), 0);
	/* dequeue more than is there: only what is there, in order */
	pop_expect(&c, 0, 3, 3);
	pop_expect(&c, 3, 20, 13);
	pop_expect(&c, 16, 20, 0);
	/* the producer's cached tail is stale (0): it must reread it */
	ck_assert_uint_eq(push_seq(&p, 16, 16), 16);
	pop_expect(&c, 16, 10, 10);
	ck_assert_uint_eq(push_seq(&p, 32, 20), 10);
	pop_expect(&c, 26, 30, 16);
	ck_assert_uint_eq(p.bad_index + c.bad_index, 0);
	free(h);
}
END_TEST

START_TEST(test_exact_fill)
{
	struct vlink_ring_hdr *h = ring_alloc(32);
	struct vlink_ring p, c;
	uint64_t seq = 0;

	attach_pair(&p, &c, h, 32);
	/* fill the ring exactly, from every starting slot, so the copy
	 * splits at every possible place */
	for (unsigned start = 0; start < 32; start++) {
		ck_assert_uint_eq(push_seq(&p, seq, start + 1), start + 1);
		pop_expect(&c, seq, start + 1, start + 1);
		seq += start + 1;
		ck_assert_uint_eq(push_seq(&p, seq, 32), 32);
		ck_assert_uint_eq(vlink_ring_free_count(&p), 0);
		ck_assert_uint_eq(vlink_ring_count(&c), 32);
		ck_assert_uint_eq(push_seq(&p, seq + 32, 1), 0);
		pop_expect(&c, seq, 32, 32);
		seq += 32;
		ck_assert_uint_eq(vlink_ring_count(&c), 0);
	}
	ck_assert_uint_eq(p.bad_index + c.bad_index, 0);
	free(h);
}
END_TEST

/* Random burst sizes on both sides through a small ring; the sequence
 * comes out in order and the counts agree with a model. */
START_TEST(test_order_random)
{
	struct vlink_ring_hdr *h = ring_alloc(64);
	struct vlink_ring p, c;
	uint64_t in = 0, out = 0;
	uint32_t rnd = 12345;

	attach_pair(&p, &c, h, 64);
	for (int i = 0; i < 20000; i++) {
		unsigned n = xorshift32(&rnd) % 65, room = 64 - (unsigned)(in - out);
		unsigned want = n < room ? n : room;

		if (push_seq(&p, in, n) != want)
			ck_abort_msg("step %d: enqueue of %u did not give %u", i, n, want);
		in += want;
		n = xorshift32(&rnd) % 65;
		want = n < in - out ? n : (unsigned)(in - out);
		pop_expect(&c, out, n, want);
		out += want;
		if (vlink_ring_count(&c) != in - out || vlink_ring_free_count(&p) != 64 - (in - out))
			ck_abort_msg("step %d: counts wrong", i);
	}
	ck_assert_uint_eq(p.bad_index + c.bad_index, 0);
	free(h);
}
END_TEST

/* Size 1: every index is slot 0. */
START_TEST(test_size_one)
{
	struct vlink_ring_hdr *h = ring_alloc(1);
	struct vlink_ring p, c;

	attach_pair(&p, &c, h, 1);
	for (unsigned i = 0; i < 100; i++) {
		ck_assert_uint_eq(push_seq(&p, i, 3), 1);
		ck_assert_uint_eq(push_seq(&p, i + 1, 1), 0);
		pop_expect(&c, i, 3, 1);
		pop_expect(&c, i + 1, 1, 0);
	}
	ck_assert_uint_eq(p.bad_index + c.bad_index, 0);
	free(h);
}
END_TEST

/* Start both indices just below 2^32 and pass several thousand
 * descriptors: the free-running indices wrap and nothing notices. */
START_TEST(test_wraparound)
{
	struct vlink_ring_hdr *h = ring_alloc(256);
	struct vlink_ring p, c;
	uint64_t in = 0, out = 0;
	uint32_t rnd = 777;

	h->head = h->tail = 0xffffff00u;
	attach_pair(&p, &c, h, 256);
	ck_assert_uint_eq(p.mine, 0xffffff00u);
	ck_assert_uint_eq(c.mine, 0xffffff00u);
	ck_assert_uint_eq(vlink_ring_count(&c), 0);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 256);
	/* fill it so that it is full across the wrap */
	while (in < 256)
		in += push_seq(&p, in, 64);
	ck_assert_uint_eq(h->head, 0);
	ck_assert_uint_eq(vlink_ring_count(&c), 256);
	ck_assert_uint_eq(push_seq(&p, in, 1), 0);
	while (in < 10000 || out < in) {
		unsigned n = 1 + xorshift32(&rnd) % 64;

		if (n > 10000 - in)
			n = (unsigned)(10000 - in);
		in += push_seq(&p, in, n);
		n = 1 + xorshift32(&rnd) % 64;
		{
			struct vlink_desc d[64];
			unsigned got = vlink_ring_dequeue_burst(&c, d, n);

			for (unsigned i = 0; i < got; i++)
				if (!desc_is(&d[i], out + i))
					ck_abort_msg("at %llu got %llu",
						     (unsigned long long)(out + i),
						     (unsigned long long)d[i].pool_offset);
			out += got;
		}
	}
	ck_assert_uint_eq(out, 10000);
	ck_assert_uint_eq(h->head, (uint32_t)(0xffffff00u + 10000));
	ck_assert_uint_eq(h->tail, h->head);
	ck_assert_uint_eq(p.bad_index + c.bad_index, 0);
	free(h);
}
END_TEST

/* A new handle on either side carries on from the indices in memory. */
START_TEST(test_resume)
{
	struct vlink_ring_hdr *h = ring_alloc(64);
	struct vlink_ring p, c, p2, c2;

	h->head = h->tail = 0xfffffff0u;
	attach_pair(&p, &c, h, 64);
	ck_assert_uint_eq(push_seq(&p, 0, 40), 40);
	pop_expect(&c, 0, 10, 10);

	/* the producer restarts */
	ck_assert_int_eq(vlink_ring_attach(&p2, h, 64, true), 0);
	ck_assert_uint_eq(p2.mine, (uint32_t)(0xfffffff0u + 40));
	ck_assert_uint_eq(p2.theirs, (uint32_t)(0xfffffff0u + 10));
	ck_assert_uint_eq(vlink_ring_free_count(&p2), 34);
	ck_assert_uint_eq(push_seq(&p2, 40, 64), 34);
	pop_expect(&c, 10, 30, 30);

	/* the consumer restarts */
	ck_assert_int_eq(vlink_ring_attach(&c2, h, 64, false), 0);
	ck_assert_uint_eq(c2.mine, (uint32_t)(0xfffffff0u + 40));
	ck_assert_uint_eq(c2.theirs, (uint32_t)(0xfffffff0u + 74));
	ck_assert_uint_eq(vlink_ring_count(&c2), 34);
	pop_expect(&c2, 40, 64, 34);
	ck_assert_uint_eq(push_seq(&p2, 74, 10), 10);
	pop_expect(&c2, 74, 64, 10);
	ck_assert_uint_eq(p2.bad_index + c2.bad_index, 0);
	free(h);
}
END_TEST

/* The reset handshake's ring operations: either end empties a ring by
 * moving its own index, the other resyncs, and the sequence goes on. */
START_TEST(test_empty_resync)
{
	struct vlink_ring_hdr *h = ring_alloc(16);
	struct vlink_ring p, c;

	attach_pair(&p, &c, h, 16);
	ck_assert_uint_eq(push_seq(&p, 0, 10), 10);
	pop_expect(&c, 0, 4, 4);
	/* the producer takes back the 6 never consumed: head to the tail */
	vlink_ring_empty(&p);
	ck_assert_uint_eq(h->head, 4);
	ck_assert_uint_eq(h->tail, 4);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 16);
	vlink_ring_resync(&c);
	ck_assert_uint_eq(c.theirs, 4);
	ck_assert_uint_eq(vlink_ring_count(&c), 0);
	ck_assert_uint_eq(push_seq(&p, 100, 16), 16);
	pop_expect(&c, 100, 16, 16);
	/* the consumer drops what waits: tail up to the head */
	ck_assert_uint_eq(push_seq(&p, 200, 5), 5);
	vlink_ring_empty(&c);
	ck_assert_uint_eq(h->tail, h->head);
	ck_assert_uint_eq(vlink_ring_count(&c), 0);
	vlink_ring_resync(&p);
	ck_assert_uint_eq(p.theirs, h->tail);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 16);
	ck_assert_uint_eq(push_seq(&p, 300, 3), 3);
	pop_expect(&c, 300, 3, 3);
	free(h);
}
END_TEST

/* The producer takes back what a departed consumer never took. */
START_TEST(test_retract)
{
	struct vlink_ring_hdr *h = ring_alloc(16);
	struct vlink_ring p, c;
	struct vlink_desc d[16];

	attach_pair(&p, &c, h, 16);
	h->head = h->tail = 0xfffffffa; /* across the 2^32 wrap */
	attach_pair(&p, &c, h, 16);
	ck_assert_uint_eq(push_seq(&p, 0, 10), 10);
	pop_expect(&c, 0, 3, 3);
	/* the consumer's handle cannot retract */
	ck_assert_uint_eq(vlink_ring_retract(&c, d, 16), 0);
	/* max below what is left: copied, head stays */
	ck_assert_uint_eq(vlink_ring_retract(&p, d, 4), 4);
	ck_assert_uint_eq(h->head, 0xfffffffa + 10);
	for (unsigned i = 0; i < 4; i++)
		ck_assert(desc_is(&d[i], 3 + i));
	/* all of it: head back to the tail */
	ck_assert_uint_eq(vlink_ring_retract(&p, d, 16), 7);
	for (unsigned i = 0; i < 7; i++)
		ck_assert(desc_is(&d[i], 3 + i));
	ck_assert_uint_eq(h->head, h->tail);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 16);
	/* a new consumer sees an empty ring, then new descriptors */
	ck_assert_int_eq(vlink_ring_attach(&c, h, 16, false), 0);
	ck_assert_uint_eq(vlink_ring_count(&c), 0);
	ck_assert_uint_eq(push_seq(&p, 50, 16), 16);
	pop_expect(&c, 50, 16, 16);
	/* an impossible tail: nothing copied, counted */
	h->tail = h->head + 1;
	ck_assert_uint_eq(vlink_ring_retract(&p, d, 16), 0);
	ck_assert_uint_gt(p.bad_index, 0);
	free(h);
}
END_TEST

/* ---------------------------------------------------------------- hostile */

/* The producer claims one descriptor more than the ring holds. */
START_TEST(test_hostile_head_consumer)
{
	struct vlink_ring_hdr *h = ring_alloc(16);
	struct vlink_ring p, c;
	struct vlink_desc d[32], sentinel[32];

	attach_pair(&p, &c, h, 16);
	ck_assert_uint_eq(push_seq(&p, 0, 5), 5);
	pop_expect(&c, 0, 5, 5);
	for (unsigned i = 0; i < 16; i++)
		slots(h)[i] = mkdesc(1000 + i);
	memset(sentinel, 0xa5, sizeof(sentinel));

	h->head = h->tail + 16 + 1;
	memcpy(d, sentinel, sizeof(d));
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 32), 0);
	ck_assert_uint_eq(c.bad_index, 1);
	ck_assert_mem_eq(d, sentinel, sizeof(d));
	ck_assert_uint_eq(h->tail, 5);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 1), 0);
	ck_assert_uint_eq(c.bad_index, 2);
	ck_assert_mem_eq(d, sentinel, sizeof(d));
	ck_assert_uint_eq(vlink_ring_count(&c), 0);
	ck_assert_uint_eq(c.bad_index, 3);

	/* far away, and behind the tail */
	h->head = h->tail + 0x80000000u;
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 32), 0);
	h->head = h->tail - 1;
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 32), 0);
	ck_assert_uint_eq(c.bad_index, 5);
	ck_assert_mem_eq(d, sentinel, sizeof(d));
	ck_assert_uint_eq(h->tail, 5);

	/* exactly full is believed */
	h->head = h->tail + 16;
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 32), 16);
	ck_assert_uint_eq(c.bad_index, 5);
	for (unsigned i = 0; i < 16; i++)
		ck_assert(desc_is(&d[i], 1000 + ((5 + i) & 15)));
	ck_assert_uint_eq(h->tail, 21);
	ck_assert_uint_eq(p.bad_index, 0);
	free(h);
}
END_TEST

/* A consumer handle attached while the indices are already impossible. */
START_TEST(test_hostile_at_attach)
{
	struct vlink_ring_hdr *h = ring_alloc(16);
	struct vlink_ring p, c;
	struct vlink_desc d[16], sentinel[16];

	memset(sentinel, 0xa5, sizeof(sentinel));
	memcpy(d, sentinel, sizeof(d));
	h->tail = 100;
	h->head = 100 + 17;
	attach_pair(&p, &c, h, 16);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 1), 0);
	ck_assert_uint_eq(c.bad_index, 1);
	ck_assert_mem_eq(d, sentinel, sizeof(d));
	ck_assert_uint_eq(push_seq(&p, 0, 1), 0);
	ck_assert_uint_eq(p.bad_index, 1);
	ck_assert_uint_eq(h->head, 117);
	ck_assert_uint_eq(h->tail, 100);
	free(h);
}
END_TEST

/* The consumer publishes a tail ahead of the head (or too far behind). */
START_TEST(test_hostile_tail_producer)
{
	struct vlink_ring_hdr *h = ring_alloc(16);
	struct vlink_ring p, c;
	struct vlink_desc before[16];

	attach_pair(&p, &c, h, 16);
	ck_assert_uint_eq(push_seq(&p, 0, 16), 16);
	memcpy(before, slots(h), sizeof(before));

	h->tail = h->head + 1;
	ck_assert_uint_eq(push_seq(&p, 100, 4), 0);
	ck_assert_uint_eq(p.bad_index, 1);
	ck_assert_mem_eq(slots(h), before, sizeof(before));
	ck_assert_uint_eq(h->head, 16);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 0);
	ck_assert_uint_eq(p.bad_index, 2);

	h->tail = h->head - 17;
	ck_assert_uint_eq(push_seq(&p, 100, 4), 0);
	ck_assert_uint_eq(p.bad_index, 3);
	ck_assert_mem_eq(slots(h), before, sizeof(before));
	ck_assert_uint_eq(h->head, 16);

	/* a sane tail again: the ring works from where it was */
	h->tail = 8;
	ck_assert_uint_eq(push_seq(&p, 16, 10), 8);
	ck_assert_uint_eq(h->head, 24);
	ck_assert_uint_eq(p.bad_index, 3);
	/* (a consumer resuming from the tail the test wrote) */
	ck_assert_int_eq(vlink_ring_attach(&c, h, 16, false), 0);
	pop_expect(&c, 8, 64, 16);
	ck_assert_uint_eq(c.bad_index, 0);
	free(h);
}
END_TEST

/* ------------------------------------------------------------- two threads */

#define TT_RING 1024
#define TT_BURST 32

struct tt {
	struct vlink_ring_hdr *h;
	uint64_t count;
	int stop;                /* consumer gave up: producer, stop too */
	int err;
};

static void cpu_relax(unsigned *spins)
{
	/* two threads on two cores spin; under valgrind (one thread at a
	 * time) or on a busy machine, give the other one the CPU */
	if (++*spins > 100) {
		*spins = 0;
		sched_yield();
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static void *tt_producer(void *arg)
{
	struct tt *t = arg;
	struct vlink_ring p;
	struct vlink_desc d[TT_BURST];
	uint64_t seq = 0;
	uint32_t rnd = 0x12345678;
	unsigned spins = 0;

	if (vlink_ring_attach(&p, t->h, TT_RING, true)) {
		t->err = 1;
		return NULL;
	}
	while (seq < t->count) {
		unsigned n = 1 + xorshift32(&rnd) % TT_BURST, k = 0;

		if (n > t->count - seq)
			n = (unsigned)(t->count - seq);
		for (unsigned i = 0; i < n; i++)
			d[i] = mkdesc(seq + i);
		while (k < n) {
			unsigned got = vlink_ring_enqueue_burst(&p, d + k, n - k);

			if (!got) {
				if (__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
					return NULL;
				cpu_relax(&spins);
			}
			k += got;
		}
		seq += n;
	}
	if (p.bad_index)
		t->err = 2;
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

START_TEST(test_two_threads)
{
	struct tt t = { 0 };
	struct vlink_ring c;
	struct vlink_desc d[TT_BURST];
	uint64_t seq = 0, bad_at = UINT64_MAX, bad_got = 0;
	uint32_t rnd = 0x9abcdef0;
	unsigned spins = 0;
	const char *env = getenv("VLINK_RING_TEST_COUNT");
	pthread_t th;
	double t0, dt;

	t.count = env ? strtoull(env, NULL, 0) : 100000000ull;
	ck_assert_msg(t.count > 0, "VLINK_RING_TEST_COUNT '%s'", env);
	t.h = ring_alloc(TT_RING);
	ck_assert_int_eq(vlink_ring_attach(&c, t.h, TT_RING, false), 0);

	t0 = now();
	ck_assert_int_eq(pthread_create(&th, NULL, tt_producer, &t), 0);
	while (seq < t.count) {
		unsigned n = 1 + xorshift32(&rnd) % TT_BURST;
		unsigned got = vlink_ring_dequeue_burst(&c, d, n);

		if (!got) {
			cpu_relax(&spins);
			continue;
		}
		for (unsigned i = 0; i < got; i++) {
			if (!desc_is(&d[i], seq + i)) {
				bad_at = seq + i;
				bad_got = d[i].pool_offset;
				break;
			}
		}
		if (bad_at != UINT64_MAX || seq + got > t.count) {
			__atomic_store_n(&t.stop, 1, __ATOMIC_RELAXED);
			break;
		}
		seq += got;
	}
	pthread_join(th, NULL);
	dt = now() - t0;

	ck_assert_msg(bad_at == UINT64_MAX, "descriptor %llu: got offset %llu",
		      (unsigned long long)bad_at, (unsigned long long)bad_got);
	ck_assert_uint_eq(seq, t.count);
	ck_assert_int_eq(t.err, 0);
	ck_assert_uint_eq(c.bad_index, 0);
	/* nothing more after the last one */
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, TT_BURST), 0);
	ck_assert_uint_eq(t.h->head, (uint32_t)t.count);
	ck_assert_uint_eq(t.h->tail, (uint32_t)t.count);
	printf("ring two-thread: %llu descriptors in %.3f s, %.1f M descriptors/s\n",
	       (unsigned long long)t.count, dt, (double)t.count / dt / 1e6);
	fflush(stdout);
	free(t.h);
}
END_TEST

/* vlink_ring_room: what fits, the consumer's index read only when the
 * cached one does not cover the burst. */
START_TEST(test_room)
{
	struct vlink_ring_hdr *h = ring_alloc(8);
	struct vlink_ring p, c;
	struct vlink_desc d[8];

	ck_assert_int_eq(vlink_ring_attach(&p, h, 8, true), 0);
	ck_assert_int_eq(vlink_ring_attach(&c, h, 8, false), 0);
	ck_assert_uint_eq(vlink_ring_room(&p, 5), 5);
	ck_assert_uint_eq(vlink_ring_room(&p, 20), 8);
	ck_assert_uint_eq(push_seq(&p, 0, 6), 6);
	ck_assert_uint_eq(vlink_ring_room(&p, 2), 2);
	/* the consumer frees 4: a burst of 2 is covered by the cache (not
	 * reread), one of 5 is not */
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 4), 4);
	ck_assert_uint_eq(vlink_ring_room(&p, 2), 2);
	ck_assert_uint_eq(p.theirs, 0);
	ck_assert_uint_eq(vlink_ring_room(&p, 5), 5);
	ck_assert_uint_eq(p.theirs, 4);
	ck_assert_uint_eq(vlink_ring_room(&p, 7), 6);
	/* a consumer handle has no room to give */
	ck_assert_uint_eq(vlink_ring_room(&c, 1), 0);
	free(h);
}
END_TEST

/* peek + release: the slots stay the consumer's until released. */
START_TEST(test_peek_release)
{
	struct vlink_ring_hdr *h = ring_alloc(8);
	struct vlink_ring p, c;
	struct vlink_desc d[8], e[8];

	ck_assert_int_eq(vlink_ring_attach(&p, h, 8, true), 0);
	ck_assert_int_eq(vlink_ring_attach(&c, h, 8, false), 0);
	ck_assert_uint_eq(push_seq(&p, 0, 8), 8);
	ck_assert_uint_eq(vlink_ring_peek_burst(&c, d, 5), 5);
	ck_assert_uint_eq(h->tail, 0);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 0);
	/* a second peek sees the same descriptors */
	ck_assert_uint_eq(vlink_ring_peek_burst(&c, e, 5), 5);
	ck_assert_mem_eq(d, e, 5 * sizeof(*d));
	vlink_ring_release(&c, 3);
	ck_assert_uint_eq(h->tail, 3);
	ck_assert_uint_eq(vlink_ring_free_count(&p), 3);
	/* the rest follows on from the first released */
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, e, 8), 5);
	ck_assert_mem_eq(e, d + 3, 2 * sizeof(*d));
	ck_assert_uint_eq(vlink_ring_peek_burst(&c, e, 8), 0);
	free(h);
}
END_TEST

/* ---------------------------------------------------------------- sleeping */

/* One thread: the word's life through a sleep. */
START_TEST(test_sleep_word)
{
	struct vlink_ring_hdr *h = ring_alloc(8);
	struct vlink_ring p, c;
	struct vlink_desc d[8];

	ck_assert_int_eq(vlink_ring_attach(&p, h, 8, true), 0);
	ck_assert_int_eq(vlink_ring_attach(&c, h, 8, false), 0);
	/* nobody asleep: no signal */
	ck_assert_uint_eq(push_seq(&p, 0, 1), 1);
	ck_assert(!vlink_ring_wake_due(&p));
	/* something waiting: no sleep, and the word is left clear */
	ck_assert(!vlink_ring_sleep_begin(&c));
	ck_assert_uint_eq(h->need_wakeup, 0);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 8), 1);
	/* empty: sleep; the next publication signals once */
	ck_assert(vlink_ring_sleep_begin(&c));
	ck_assert_uint_eq(h->need_wakeup, 1);
	ck_assert_uint_eq(push_seq(&p, 1, 2), 2);
	ck_assert(vlink_ring_wake_due(&p));
	ck_assert(!vlink_ring_wake_due(&p));
	ck_assert_uint_eq(push_seq(&p, 3, 1), 1);
	ck_assert(!vlink_ring_wake_due(&p));
	vlink_ring_sleep_end(&c);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&c, d, 8), 3);
	/* a sleep that times out: sleep_end clears the word */
	ck_assert(vlink_ring_sleep_begin(&c));
	vlink_ring_sleep_end(&c);
	ck_assert_uint_eq(h->need_wakeup, 0);
	ck_assert_uint_eq(push_seq(&p, 4, 1), 1);
	ck_assert(!vlink_ring_wake_due(&p));
	/* a producer handle never sleeps */
	ck_assert(!vlink_ring_sleep_begin(&p));
	free(h);
}
END_TEST

struct sl {
	struct vlink_ring_hdr *h;
	int efd;
	uint64_t count;
	uint64_t signals;
	int err;
};

/* Bursts with pauses of random length (often none, sometimes long enough
 * for the consumer to fall asleep); signals when the ring says so. */
static void *sl_producer(void *arg)
{
	struct sl *t = arg;
	struct vlink_ring p;
	uint64_t seq = 0, one = 1;
	uint32_t rnd = 0x12345678;

	if (vlink_ring_attach(&p, t->h, TT_RING, true)) {
		t->err = 1;
		return NULL;
	}
	while (seq < t->count) {
		unsigned n = 1 + xorshift32(&rnd) % 16, r = xorshift32(&rnd) % 64;
		unsigned got;

		if (n > t->count - seq)
			n = (unsigned)(t->count - seq);
		got = push_seq(&p, seq, n);
		seq += got;
		if (got && vlink_ring_wake_due(&p)) {
			t->signals++;
			if (write(t->efd, &one, sizeof(one)) != sizeof(one))
				t->err = 2;
		}
		if (r < 4)
			usleep(r * 50);
		else if (r < 8)
			sched_yield();
	}
	return NULL;
}

/* The consumer sleeps whenever the ring is empty; a sleep that times out
 * (5 s) with descriptors in the ring would be a lost wake-up. */
START_TEST(test_sleep_two_threads)
{
	struct sl t = { 0 };
	struct vlink_ring c;
	struct vlink_desc d[TT_BURST];
	uint64_t seq = 0, sleeps = 0, lost = 0, bad = 0, v;
	pthread_t th;

	t.count = 200000;
	t.h = ring_alloc(TT_RING);
	t.efd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(t.efd, 0);
	ck_assert_int_eq(vlink_ring_attach(&c, t.h, TT_RING, false), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, sl_producer, &t), 0);
	while (seq < t.count && !lost) {
		unsigned got = vlink_ring_dequeue_burst(&c, d, TT_BURST);

		for (unsigned i = 0; i < got; i++)
			bad += !desc_is(&d[i], seq + i);
		seq += got;
		if (got || seq == t.count || !vlink_ring_sleep_begin(&c))
			continue;
		sleeps++;
		struct pollfd pfd = { .fd = t.efd, .events = POLLIN };

		if (poll(&pfd, 1, 5000) == 0)
			lost += vlink_ring_count(&c) > 0 || seq < t.count;
		else if (read(t.efd, &v, sizeof(v)) != sizeof(v))
			lost++;
		vlink_ring_sleep_end(&c);
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(lost, 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(seq, t.count);
	ck_assert_int_eq(t.err, 0);
	/* at most one signal per sleep */
	ck_assert_uint_le(t.signals, sleeps);
	ck_assert_uint_gt(sleeps, 0);
	printf("ring sleep: %llu descriptors, %llu sleeps, %llu signals\n",
	       (unsigned long long)t.count, (unsigned long long)sleeps,
	       (unsigned long long)t.signals);
	close(t.efd);
	free(t.h);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc;

	tc = tcase_create("attach");
	tcase_add_test(tc, test_attach_sizes);
	tcase_add_test(tc, test_attach_bad_hdr);
	tcase_add_test(tc, test_attach_ignores_shared_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("single_thread");
	tcase_add_test(tc, test_empty_full);
	tcase_add_test(tc, test_partial_bursts);
	tcase_add_test(tc, test_exact_fill);
	tcase_add_test(tc, test_order_random);
	tcase_add_test(tc, test_size_one);
	tcase_add_test(tc, test_wraparound);
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_empty_resync);
	tcase_add_test(tc, test_retract);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_test(tc, test_hostile_head_consumer);
	tcase_add_test(tc, test_hostile_at_attach);
	tcase_add_test(tc, test_hostile_tail_producer);
	tcase_add_test(tc, test_sleep_word);
	tcase_add_test(tc, test_room);
	tcase_add_test(tc, test_peek_release);
	suite_add_tcase(s, tc);

	tc = tcase_create("two_threads");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_two_threads);
	tcase_add_test(tc, test_sleep_two_threads);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ring_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
