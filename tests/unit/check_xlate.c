/* Unit tests for proto/vlink_xlate.c: the pool offset <-> local address
 * index, with real mappings placed at chosen addresses (gaps, reversed
 * order, two segments sharing a 2 MiB window of address space), holes in
 * the pool, every boundary, and invalid segment lists. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vlink_xlate.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define CHUNK VLINK_XLATE_CHUNK
#define PAGE (4 * KiB)

/* --------------------------------------------------------------- layout */

/* The pool (32 MiB) and where each segment lives in it and in the address
 * space.  Addresses are relative to `lo`, one page into a 2 MiB aligned
 * reservation, so chunks of the reverse table (counted from lo) do not
 * line up with the address space's own 2 MiB boundaries.  By address:
 *
 *   rel [0, 6M)         seg3 (pool 20M..26M)           lowest: rlo
 *   rel [6M, 7M)        gap
 *   rel [7M, 15M)       seg2 (pool 10M..18M)
 *   rel [15M, 19M)      seg1 (pool 4M..8M)             adjacent to seg2;
 *                                                      chunk 7 holds both
 *   rel [19M, 19M+8K)   gap
 *   rel [19M+8K, 21M+8K) seg0 (pool 0..2M)             chunk 9 holds seg1's
 *                                                      end and seg0's start
 *   rel [21M+8K, 40M)   gap
 *   rel [40M, 42M)      seg4 (pool 28M..30M)           highest: rhi
 *
 * Pool holes: [2M,4M) [8M,10M) [18M,20M) [26M,28M) [30M,32M). */
#define POOL_SIZE (32 * MiB)
#define NSEG 5
#define RES_LEN (48 * MiB)

static const struct {
	uint64_t pool_offset, size, rel;
} layout[NSEG] = {
	{ 0,        2 * MiB, 19 * MiB + 8 * KiB },
	{ 4 * MiB,  4 * MiB, 15 * MiB },
	{ 10 * MiB, 8 * MiB, 7 * MiB },
	{ 20 * MiB, 6 * MiB, 0 },
	{ 28 * MiB, 2 * MiB, 40 * MiB },
};

static uint8_t *res;                   /* PROT_NONE reservation */
static uint8_t *lo;                    /* 2 MiB aligned + one page */
static struct vlink_xlate_seg segs[NSEG];
static struct vlink_xlate x;

/* Map `len` bytes read-write at exactly `at`, inside the reservation.
 * MAP_FIXED_NOREPLACE refuses to replace the reservation itself, so that
 * piece is unmapped first; the address is checked because kernels before
 * 4.17 (and valgrind 3.19) take the flag as a mere hint. */
static void *map_at(uint8_t *at, uint64_t len)
{
	void *p;

	ck_assert_int_eq(munmap(at, len), 0);
	p = mmap(at, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_msg(p != MAP_FAILED, "mmap at %p: %s", (void *)at, strerror(errno));
	ck_assert_ptr_eq(p, at);
	return p;
}

static void setup(void)
{
	uintptr_t base;

	res = mmap(NULL, RES_LEN + CHUNK, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(res, MAP_FAILED);
	base = ((uintptr_t)res + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
	lo = (uint8_t *)base + PAGE;
	for (int i = 0; i < NSEG; i++) {
		segs[i].pool_offset = layout[i].pool_offset;
		segs[i].size = layout[i].size;
		segs[i].addr = map_at(lo + layout[i].rel, layout[i].size);
	}
	ck_assert_int_eq(vlink_xlate_init(&x, POOL_SIZE, segs, NSEG), 0);
}

static void teardown(void)
{
	vlink_xlate_fini(&x);
	munmap(res, RES_LEN + CHUNK);
}

/* -------------------------------------------------------------- models */

/* What ptr() must give: a linear search, and the range must also stay in
 * one 2 MiB chunk of the pool (the index refuses ranges crossing one, even
 * inside a segment, as its header says). */
static void *model_ptr(uint64_t off, uint64_t len)
{
	if (off >= POOL_SIZE || (off & (CHUNK - 1)) + len > CHUNK)
		return NULL;
	for (int i = 0; i < NSEG; i++)
		if (off >= segs[i].pool_offset && off - segs[i].pool_offset < segs[i].size)
			return (uint8_t *)segs[i].addr + (off - segs[i].pool_offset);
	return NULL;
}

static uint64_t model_off(uintptr_t a)
{
	for (int i = 0; i < NSEG; i++) {
		uintptr_t s = (uintptr_t)segs[i].addr;

		if (a >= s && a - s < segs[i].size)
			return segs[i].pool_offset + (a - s);
	}
	return UINT64_MAX;
}

static void assert_ptr(uint64_t off, uint32_t len)
{
	void *want = model_ptr(off, len);
	void *got = vlink_xlate_ptr(&x, off, len);

	ck_assert_msg(got == want, "ptr(0x%llx, %u) = %p, want %p",
		      (unsigned long long)off, len, got, want);
}

static void assert_off(uintptr_t a)
{
	uint64_t want = model_off(a);
	uint64_t got = vlink_xlate_off(&x, (const void *)a);

	ck_assert_msg(got == want, "off(%p) = 0x%llx, want 0x%llx", (void *)a,
		      (unsigned long long)got, (unsigned long long)want);
}

/* ---------------------------------------------------------------- build */

/* Reverse chunk r names segments a and b (-1: none), in either order. */
static void assert_rev(size_t r, int a, int b)
{
	int s0 = x.rev[r][0] - 1, s1 = x.rev[r][1] - 1;

	ck_assert_msg((s0 == a && s1 == b) || (s0 == b && s1 == a),
		      "rev[%zu] = {%d, %d}, want {%d, %d}", r, s0, s1, a, b);
	/* a used slot never follows an empty one */
	ck_assert(x.rev[r][0] || !x.rev[r][1]);
}

START_TEST(test_init_fields)
{
	ck_assert_uint_eq(x.pool_size, POOL_SIZE);
	ck_assert_uint_eq(x.nseg, NSEG);
	ck_assert_ptr_eq((void *)x.rlo, segs[3].addr);
	ck_assert_ptr_eq((void *)x.rhi, (uint8_t *)segs[4].addr + segs[4].size);
	ck_assert_uint_eq(x.rlo, (uintptr_t)lo);
	for (uint64_t c = 0; c < POOL_SIZE / CHUNK; c++)
		ck_assert_ptr_eq(x.fwd[c], model_ptr(c * CHUNK, 1));
	ck_assert_uint_eq(x.rhi - x.rlo, 42 * MiB);
	/* chunk 7 of [rlo, rhi): end of seg2, start of seg1 */
	assert_rev(7, 2, 1);
	/* chunk 9: end of seg1, the 8 KiB gap, start of seg0 */
	assert_rev(9, 1, 0);
	/* chunk 3: the gap and the start of seg2 only */
	assert_rev(3, 2, -1);
	/* chunk 15: inside the big gap; chunk 20: seg4 alone */
	assert_rev(15, -1, -1);
	assert_rev(20, 4, -1);
}
END_TEST

/* The table is an input copy: changing the caller's array afterwards does
 * not change the index. */
START_TEST(test_init_copies_segments)
{
	void *a0 = segs[0].addr;

	segs[0].addr = segs[4].addr;
	ck_assert_ptr_eq(vlink_xlate_ptr(&x, 0, 1), a0);
	ck_assert_uint_eq(vlink_xlate_off(&x, a0), 0);
	segs[0].addr = a0;
}
END_TEST

START_TEST(test_fini_zeroes)
{
	static const struct vlink_xlate zero;

	vlink_xlate_fini(&x);
	ck_assert_int_eq(memcmp(&x, &zero, sizeof(x)), 0);
	ck_assert_ptr_null(vlink_xlate_ptr(&x, 0, 1));
	ck_assert_uint_eq(vlink_xlate_off(&x, segs[0].addr), UINT64_MAX);
	vlink_xlate_fini(&x);      /* twice is harmless */
	ck_assert_int_eq(vlink_xlate_init(&x, POOL_SIZE, segs, NSEG), 0);
	ck_assert_ptr_eq(vlink_xlate_ptr(&x, 0, 1), segs[0].addr);
}
END_TEST

/* ----------------------------------------------- forward: offset -> ptr */

START_TEST(test_ptr_segment_bounds)
{
	const struct vlink_xlate_seg *s = &segs[_i];
	uint8_t *a = s->addr;
	uint64_t po = s->pool_offset;

	ck_assert_ptr_eq(vlink_xlate_ptr(&x, po, 1), a);
	ck_assert_ptr_eq(vlink_xlate_ptr(&x, po, 0), a);
	ck_assert_ptr_eq(vlink_xlate_ptr(&x, po + s->size - 1, 1), a + s->size - 1);
	ck_assert_ptr_eq(vlink_xlate_ptr(&x, po + s->size - 64, 64), a + s->size - 64);
	ck_assert_ptr_null(vlink_xlate_ptr(&x, po + s->size - 64, 65));
	/* every segment here borders a hole or the start of the pool */
	if (po)
		ck_assert_ptr_null(vlink_xlate_ptr(&x, po - 1, 1));
	ck_assert_ptr_null(vlink_xlate_ptr(&x, po + s->size, 1));
	for (uint64_t off = po; off < po + s->size; off += CHUNK) {
		assert_ptr(off - 1, 1);
		assert_ptr(off, 1);
		assert_ptr(off + CHUNK - 1, 1);
	}
}
END_TEST

START_TEST(test_ptr_holes)
{
	static const uint64_t holes[][2] = {
		{ 2 * MiB, 4 * MiB }, { 8 * MiB, 10 * MiB }, { 18 * MiB, 20 * MiB },
		{ 26 * MiB, 28 * MiB }, { 30 * MiB, 32 * MiB },
	};

	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		for (uint64_t off = holes[i][0]; off < holes[i][1]; off += PAGE) {
			ck_assert_ptr_null(vlink_xlate_ptr(&x, off, 1));
			ck_assert_ptr_null(vlink_xlate_ptr(&x, off + PAGE - 1, 1));
		}
		ck_assert_ptr_null(vlink_xlate_ptr(&x, holes[i][0], 0));
	}
}
END_TEST

START_TEST(test_ptr_outside_pool)
{
	static const uint64_t bad[] = {
		POOL_SIZE, POOL_SIZE + 1, POOL_SIZE + CHUNK, 64 * GiB, 1ull << 63,
		UINT64_MAX, UINT64_MAX - CHUNK + 1,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_ptr_null(vlink_xlate_ptr(&x, bad[i], 0));
		ck_assert_ptr_null(vlink_xlate_ptr(&x, bad[i], 1));
	}
}
END_TEST

/* A range must end in the chunk it starts in: off + len crossing a 2 MiB
 * boundary gives NULL, whether the next chunk is a hole, another segment or
 * the same segment. */
START_TEST(test_ptr_len_crossing_chunk)
{
	uint8_t *s2 = segs[2].addr;        /* pool 10M..18M */
	uint64_t end = 12 * MiB;           /* a chunk end inside seg2 */

	ck_assert_ptr_eq(vlink_xlate_ptr(&x, end - 10, 10), s2 + 2 * MiB - 10);
	ck_assert_ptr_null(vlink_xlate_ptr(&x, end - 10, 11));
	ck_assert_ptr_null(vlink_xlate_ptr(&x, end - 1, 2));
	ck_assert_ptr_eq(vlink_xlate_ptr(&x, end - 1, 1), s2 + 2 * MiB - 1);
	/* a whole chunk is fine, one byte more is not */
	ck_assert_ptr_eq(vlink_xlate_ptr(&x, 10 * MiB, (uint32_t)CHUNK), s2);
	ck_assert_ptr_null(vlink_xlate_ptr(&x, 10 * MiB, (uint32_t)CHUNK + 1));
	ck_assert_ptr_null(vlink_xlate_ptr(&x, 10 * MiB + 1, (uint32_t)CHUNK));
	ck_assert_ptr_null(vlink_xlate_ptr(&x, 10 * MiB, UINT32_MAX));
	/* into a hole: seg2 ends at 18M */
	ck_assert_ptr_null(vlink_xlate_ptr(&x, 18 * MiB - 4, 8));
	/* the last chunk of the pool's last segment (seg4: 28M..30M) */
	ck_assert_ptr_null(vlink_xlate_ptr(&x, 30 * MiB - 1, 2));
	/* the last byte of the pool is a hole */
	ck_assert_ptr_null(vlink_xlate_ptr(&x, POOL_SIZE - 1, 1));
	/* len is compared without overflow */
	ck_assert_ptr_null(vlink_xlate_ptr(&x, 20 * MiB + 1, UINT32_MAX));
}
END_TEST

/* ----------------------------------------------- reverse: ptr -> offset */

START_TEST(test_off_segment_bounds)
{
	const struct vlink_xlate_seg *s = &segs[_i];
	uint8_t *a = s->addr;
	uint64_t po = s->pool_offset;

	ck_assert_uint_eq(vlink_xlate_off(&x, a), po);
	ck_assert_uint_eq(vlink_xlate_off(&x, a + 1), po + 1);
	ck_assert_uint_eq(vlink_xlate_off(&x, a + s->size - 1), po + s->size - 1);
	/* one before / one after: a gap, a neighbour, or outside [rlo, rhi) */
	assert_off((uintptr_t)a - 1);
	assert_off((uintptr_t)a + s->size);
	/* each chunk boundary of the address space inside the segment */
	for (uint64_t o = 0; o < s->size; o += PAGE) {
		assert_off((uintptr_t)a + o);
		assert_off((uintptr_t)a + o + PAGE - 1);
	}
}
END_TEST

/* Exact values at the seams, not only agreement with the model. */
START_TEST(test_off_seams)
{
	uint8_t *s0 = segs[0].addr, *s1 = segs[1].addr, *s2 = segs[2].addr;

	/* seg2 ends where seg1 starts: adjacent addresses, distant offsets */
	ck_assert_ptr_eq(s2 + segs[2].size, s1);
	ck_assert_uint_eq(vlink_xlate_off(&x, s1 - 1), 18 * MiB - 1);
	ck_assert_uint_eq(vlink_xlate_off(&x, s1), 4 * MiB);
	/* seg1's end, 8 KiB of gap, seg0's start, all in chunk 9 */
	ck_assert_uint_eq(vlink_xlate_off(&x, s1 + segs[1].size - 1), 8 * MiB - 1);
	ck_assert_uint_eq(vlink_xlate_off(&x, s1 + segs[1].size), UINT64_MAX);
	ck_assert_uint_eq(vlink_xlate_off(&x, s0 - 1), UINT64_MAX);
	ck_assert_uint_eq(vlink_xlate_off(&x, s0), 0);
	ck_assert_uint_eq(vlink_xlate_off(&x, s0 + segs[0].size - 1), 2 * MiB - 1);
}
END_TEST

START_TEST(test_off_outside)
{
	int on_stack;
	void *heap = malloc(16);
	const uintptr_t bad[] = {
		0, 1, PAGE, (uintptr_t)lo - 1, (uintptr_t)lo - PAGE,
		(uintptr_t)res,
		(uintptr_t)lo + 6 * MiB, (uintptr_t)lo + 7 * MiB - 1,       /* gap */
		(uintptr_t)lo + 19 * MiB, (uintptr_t)lo + 19 * MiB + 8 * KiB - 1,
		(uintptr_t)lo + 21 * MiB + 8 * KiB, (uintptr_t)lo + 30 * MiB,
		(uintptr_t)lo + 40 * MiB - 1,
		x.rhi, x.rhi + 1, x.rhi + CHUNK, x.rhi + GiB,
		(uintptr_t)&on_stack, (uintptr_t)heap, (uintptr_t)&x,
		UINTPTR_MAX, UINTPTR_MAX - CHUNK, (uintptr_t)1 << 63,
	};

	ck_assert_ptr_nonnull(heap);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vlink_xlate_off(&x, (const void *)bad[i]) == UINT64_MAX,
			      "off(%p) is not UINT64_MAX", (void *)bad[i]);
	ck_assert_uint_eq(vlink_xlate_off(&x, NULL), UINT64_MAX);
	free(heap);
}
END_TEST

/* ----------------------------------------------------------- round trips */

/* Every 4 KiB of the pool: ptr() agrees with the model, off() takes it
 * back, and a tag written through ptr() is found through the segment's own
 * mapping (so the write landed in the right segment). */
START_TEST(test_round_trip_pool)
{
	unsigned mapped = 0;

	for (uint64_t off = 0; off < POOL_SIZE; off += PAGE) {
		uint8_t *p = vlink_xlate_ptr(&x, off, (uint32_t)PAGE);

		ck_assert_ptr_eq(p, model_ptr(off, PAGE));
		if (!p)
			continue;
		mapped++;
		ck_assert_uint_eq(vlink_xlate_off(&x, p), off);
		ck_assert_uint_eq(vlink_xlate_off(&x, p + PAGE - 1), off + PAGE - 1);
		memcpy(p, &off, sizeof(off));
		p[PAGE - 1] = (uint8_t)(off >> 12);
	}
	ck_assert_uint_eq(mapped, 22 * MiB / PAGE);
	for (int i = 0; i < NSEG; i++) {
		const uint8_t *a = segs[i].addr;

		for (uint64_t o = 0; o < segs[i].size; o += PAGE) {
			uint64_t tag;

			memcpy(&tag, a + o, sizeof(tag));
			ck_assert_uint_eq(tag, segs[i].pool_offset + o);
			ck_assert_uint_eq(a[o + PAGE - 1], (uint8_t)((segs[i].pool_offset + o) >> 12));
		}
	}
}
END_TEST

/* Every 4 KiB of the reservation (before rlo, the gaps, after rhi): off()
 * agrees with the model and ptr() takes a hit back. */
START_TEST(test_round_trip_addr)
{
	uintptr_t start = (uintptr_t)res, end = (uintptr_t)res + RES_LEN + CHUNK;
	unsigned hits = 0;

	for (uintptr_t a = start; a < end; a += PAGE) {
		uint64_t off = vlink_xlate_off(&x, (const void *)a);

		ck_assert_uint_eq(off, model_off(a));
		assert_off(a + PAGE - 1);
		if (off == UINT64_MAX)
			continue;
		hits++;
		ck_assert_ptr_eq(vlink_xlate_ptr(&x, off, 1), (void *)a);
	}
	ck_assert_uint_eq(hits, 22 * MiB / PAGE);
}
END_TEST

/* ---------------------------------------------------------- valid extremes */

#define FAKE ((uintptr_t)0x100000000000ull)  /* never dereferenced */

/* 16 one-chunk segments, in reverse order in the address space with a page
 * between neighbours, so every reverse chunk but the last holds two. */
START_TEST(test_max_segments)
{
	struct vlink_xlate_seg s[VLINK_XLATE_MAX_SEGS];
	struct vlink_xlate y;

	for (unsigned i = 0; i < VLINK_XLATE_MAX_SEGS; i++) {
		s[i].pool_offset = i * CHUNK;
		s[i].size = CHUNK;
		s[i].addr = (void *)(FAKE + (VLINK_XLATE_MAX_SEGS - 1 - i) * (CHUNK + PAGE));
	}
	ck_assert_int_eq(vlink_xlate_init(&y, 16 * CHUNK, s, VLINK_XLATE_MAX_SEGS), 0);
	for (unsigned i = 0; i < VLINK_XLATE_MAX_SEGS; i++) {
		uintptr_t a = (uintptr_t)s[i].addr;

		ck_assert_ptr_eq(vlink_xlate_ptr(&y, i * CHUNK, 1), s[i].addr);
		ck_assert_ptr_eq(vlink_xlate_ptr(&y, i * CHUNK + CHUNK - 1, 1),
				 (void *)(a + CHUNK - 1));
		ck_assert_uint_eq(vlink_xlate_off(&y, (void *)a), i * CHUNK);
		ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(a + CHUNK - 1)), i * CHUNK + CHUNK - 1);
		ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(a + CHUNK)), UINT64_MAX);
		ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(a - 1)), UINT64_MAX);
	}
	vlink_xlate_fini(&y);
}
END_TEST

/* The largest pool accepted: 64 GiB as one segment, and as two with a
 * hole. */
START_TEST(test_max_pool)
{
	struct vlink_xlate_seg s[2] = {
		{ 0, 64 * GiB, (void *)FAKE },
	};
	struct vlink_xlate y;

	ck_assert_int_eq(vlink_xlate_init(&y, 64 * GiB, s, 1), 0);
	ck_assert_ptr_eq(vlink_xlate_ptr(&y, 64 * GiB - 1, 1), (void *)(FAKE + 64 * GiB - 1));
	ck_assert_ptr_null(vlink_xlate_ptr(&y, 64 * GiB, 1));
	ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(FAKE + 64 * GiB - 1)), 64 * GiB - 1);
	ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(FAKE + 64 * GiB)), UINT64_MAX);
	vlink_xlate_fini(&y);

	s[0].size = 2 * GiB;
	s[1] = (struct vlink_xlate_seg){ 62 * GiB, 2 * GiB, (void *)(FAKE - 2 * GiB) };
	ck_assert_int_eq(vlink_xlate_init(&y, 64 * GiB, s, 2), 0);
	ck_assert_ptr_null(vlink_xlate_ptr(&y, 2 * GiB, 1));
	ck_assert_ptr_eq(vlink_xlate_ptr(&y, 62 * GiB, 1), (void *)(FAKE - 2 * GiB));
	ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(FAKE - 1)), 64 * GiB - 1);
	vlink_xlate_fini(&y);
}
END_TEST

/* The reverse table is capped at 2^20 chunks (2 TiB): a span of exactly
 * that is accepted, one page more is -ERANGE. */
START_TEST(test_span_cap)
{
	const uint64_t cap = (1ull << 20) * CHUNK;
	struct vlink_xlate_seg s[2] = {
		{ 0, CHUNK, (void *)FAKE },
		{ CHUNK, CHUNK, (void *)(FAKE + cap - CHUNK) },
	};
	struct vlink_xlate y;
	static const struct vlink_xlate zero;

	ck_assert_int_eq(vlink_xlate_init(&y, 4 * CHUNK, s, 2), 0);
	ck_assert_uint_eq(y.rhi - y.rlo, cap);
	ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(FAKE + cap - 1)), 2 * CHUNK - 1);
	ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(FAKE + cap / 2)), UINT64_MAX);
	vlink_xlate_fini(&y);

	s[1].addr = (void *)(FAKE + cap - CHUNK + PAGE);
	ck_assert_int_eq(vlink_xlate_init(&y, 4 * CHUNK, s, 2), -ERANGE);
	ck_assert_int_eq(memcmp(&y, &zero, sizeof(y)), 0);
	s[1].addr = (void *)(FAKE + 64 * (1ull << 40));
	ck_assert_int_eq(vlink_xlate_init(&y, 4 * CHUNK, s, 2), -ERANGE);
	vlink_xlate_fini(&y);
}
END_TEST

/* ----------------------------------------------------------- bad inputs */

/* Case i of a valid two-segment list (pool 32 MiB: 0..4M at A, 8M..10M at
 * A + 16M) with one thing broken; s has room for 17.  Returns its name, or
 * NULL (the valid list) for an unknown i. */
static const char *bad_case(int i, uint64_t *pool, struct vlink_xlate_seg *s,
			    const struct vlink_xlate_seg **sp, unsigned *n)
{
	/* for "nseg 17": seventeen valid, disjoint one-chunk segments */
	for (unsigned k = 2; k < VLINK_XLATE_MAX_SEGS + 1; k++)
		s[k] = (struct vlink_xlate_seg){ k * CHUNK, CHUNK, (void *)(FAKE + k * 4 * CHUNK) };
	*pool = 32 * MiB;
	s[0] = (struct vlink_xlate_seg){ 0, 4 * MiB, (void *)FAKE };
	s[1] = (struct vlink_xlate_seg){ 8 * MiB, 2 * MiB, (void *)(FAKE + 16 * MiB) };
	*sp = s;
	*n = 2;
	switch (i) {
	case 0:  s[0].pool_offset = PAGE; return "offset 4 KiB";
	case 1:  s[1].pool_offset = 9 * MiB; return "offset 1 MiB into a chunk";
	case 2:  s[0].size = 3 * MiB; return "size 3 MiB";
	case 3:  s[0].size = PAGE; return "size 4 KiB";
	case 4:  s[0].size = 0; return "size 0";
	case 5:  s[1].size = CHUNK + PAGE; return "size 2 MiB + 4 KiB";
	case 6:  s[1].pool_offset = 32 * MiB; return "offset == pool size";
	case 7:  s[1].pool_offset = 30 * MiB; s[1].size = 4 * MiB; return "crosses the pool end";
	case 8:  s[1].pool_offset = 64 * MiB; return "offset beyond the pool";
	case 9:  s[1].pool_offset = UINT64_MAX & ~(CHUNK - 1); s[1].size = 4 * MiB;
		 return "offset + size wraps";
	case 10: s[1].size = UINT64_MAX & ~(CHUNK - 1); return "huge size";
	case 11: s[1].pool_offset = 2 * MiB; return "overlap in the pool";
	case 12: s[1].pool_offset = 0; return "same pool offset";
	case 13: s[1].pool_offset = 0; s[1].size = 32 * MiB; return "one inside the other";
	case 14: s[0].addr = NULL; return "NULL addr";
	case 15: s[0].addr = (void *)(FAKE + 1); return "addr + 1";
	case 16: s[1].addr = (void *)(FAKE + 16 * MiB + 2048); return "addr not page aligned";
	case 17: s[1].addr = (void *)(FAKE + 2 * MiB); return "mappings overlap";
	case 18: s[1].addr = s[0].addr; return "same mapping";
	case 19: s[1].addr = (void *)(FAKE + 4 * MiB - PAGE); return "mappings overlap by a page";
	case 20: s[1].addr = (void *)(UINTPTR_MAX - CHUNK + 1); s[1].size = 4 * MiB;
		 return "mapping wraps the address space";
	case 21: *n = 0; return "nseg 0";
	case 22: s[0].size = CHUNK;
		 s[1] = (struct vlink_xlate_seg){ CHUNK, CHUNK, (void *)(FAKE + 4 * CHUNK) };
		 *pool = 64 * MiB;
		 *n = VLINK_XLATE_MAX_SEGS + 1;
		 return "nseg 17";
	case 23: *n = UINT32_MAX; return "nseg UINT_MAX";
	case 24: *sp = NULL; return "segs NULL";
	case 25: *pool = 0; return "pool size 0";
	case 26: *pool = 33 * MiB; return "pool size 33 MiB";
	case 27: *pool = 32 * MiB + PAGE; return "pool size + 4 KiB";
	case 28: *pool = 64 * GiB + CHUNK; return "pool over 64 GiB";
	case 29: *pool = UINT64_MAX; return "pool size UINT64_MAX";
	case 30: *pool = 8 * MiB; return "segment outside a smaller pool";
	}
	return NULL;
}
#define NBAD 31

START_TEST(test_init_invalid)
{
	struct vlink_xlate_seg s[VLINK_XLATE_MAX_SEGS + 1];
	const struct vlink_xlate_seg *sp;
	static const struct vlink_xlate zero;
	struct vlink_xlate y;
	const char *what;
	uint64_t pool;
	unsigned n;

	what = bad_case(_i, &pool, s, &sp, &n);
	ck_assert_ptr_nonnull(what);
	memset(&y, 0xa5, sizeof(y));
	ck_assert_msg(vlink_xlate_init(&y, pool, sp, n) == -EINVAL, "%s: not -EINVAL", what);
	/* a refused index is empty and safe to use and to fini */
	ck_assert_msg(memcmp(&y, &zero, sizeof(y)) == 0, "%s: index not left empty", what);
	ck_assert_ptr_null(vlink_xlate_ptr(&y, 0, 1));
	ck_assert_uint_eq(vlink_xlate_off(&y, (void *)FAKE), UINT64_MAX);
	vlink_xlate_fini(&y);
}
END_TEST

/* The valid list bad_case() starts from is accepted (so each case fails for
 * its own reason), and so is the nseg-17 list cut to 16. */
START_TEST(test_init_bad_case_base_valid)
{
	struct vlink_xlate_seg s[VLINK_XLATE_MAX_SEGS + 1];
	const struct vlink_xlate_seg *sp;
	struct vlink_xlate y;
	uint64_t pool;
	unsigned n;

	ck_assert_ptr_null(bad_case(-1, &pool, s, &sp, &n));
	ck_assert_int_eq(vlink_xlate_init(&y, pool, sp, n), 0);
	vlink_xlate_fini(&y);
	ck_assert_str_eq(bad_case(22, &pool, s, &sp, &n), "nseg 17");
	ck_assert_int_eq(vlink_xlate_init(&y, pool, sp, n - 1), 0);
	ck_assert_uint_eq(vlink_xlate_off(&y, (void *)(FAKE + 15 * 4 * CHUNK)), 15 * CHUNK);
	vlink_xlate_fini(&y);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *xlate_suite(void)
{
	Suite *s = suite_create("vlink_xlate");
	TCase *tc;

	tc = tcase_create("build");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init_fields);
	tcase_add_test(tc, test_init_copies_segments);
	tcase_add_test(tc, test_fini_zeroes);
	suite_add_tcase(s, tc);

	tc = tcase_create("ptr");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_ptr_segment_bounds, 0, NSEG);
	tcase_add_test(tc, test_ptr_holes);
	tcase_add_test(tc, test_ptr_outside_pool);
	tcase_add_test(tc, test_ptr_len_crossing_chunk);
	suite_add_tcase(s, tc);

	tc = tcase_create("off");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_off_segment_bounds, 0, NSEG);
	tcase_add_test(tc, test_off_seams);
	tcase_add_test(tc, test_off_outside);
	suite_add_tcase(s, tc);

	tc = tcase_create("round_trip");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip_pool);
	tcase_add_test(tc, test_round_trip_addr);
	suite_add_tcase(s, tc);

	tc = tcase_create("extremes");
	tcase_add_test(tc, test_max_segments);
	tcase_add_test(tc, test_max_pool);
	tcase_add_test(tc, test_span_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_loop_test(tc, test_init_invalid, 0, NBAD);
	tcase_add_test(tc, test_init_bad_case_base_valid);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(xlate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
