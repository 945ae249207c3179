/* Unit tests for proto/vlink_ledger.c: init validation, lend/take round
 * trips, every kind of bad returned descriptor (counted under the right
 * reason, changing nothing else), reclaim, offsets near 2^64, and a long
 * randomized run against a reference model. */
#include <check.h>
#include <pthread.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vlink_ledger.h"

#define BASE   (1ull << 20)
#define BSIZE  2048u
#define NBUFS  64u
#define AREA   ((uint64_t)NBUFS * BSIZE)

/* ---------------------------------------------------------------- helpers */

static struct vlink_desc mk(uint64_t off, uint32_t len, uint16_t data_off)
{
	struct vlink_desc d = { .pool_offset = off, .len = len, .data_off = data_off };

	return d;
}

static uint64_t buf(const struct vlink_ledger *l, uint32_t k)
{
	return l->base + (uint64_t)k * l->buf_size;
}

static void init_std(struct vlink_ledger *l)
{
	ck_assert_int_eq(vlink_ledger_init(l, BASE, AREA, BSIZE), 0);
}

/* What a ledger looks like, to check that a refused take changed nothing
 * but its one error counter. */
struct snap {
	uint16_t owner[NBUFS];
	uint32_t lent;
	uint64_t errors[VLINK_LEDGER_NERR];
};

static void snap_take(const struct vlink_ledger *l, struct snap *s)
{
	ck_assert_uint_le(l->nbufs, NBUFS);
	memset(s, 0, sizeof(*s));
	memcpy(s->owner, l->owner, l->nbufs * sizeof(*l->owner));
	s->lent = l->lent;
	memcpy(s->errors, l->errors, sizeof(s->errors));
}

/* take(d, ch) is refused for reason `why`, and nothing else changes. */
static void expect_refused(struct vlink_ledger *l, struct vlink_desc d, uint16_t ch,
			   enum vlink_ledger_err why)
{
	struct snap before, after;

	snap_take(l, &before);
	ck_assert_int_eq(vlink_ledger_take(l, &d, ch), -1);
	snap_take(l, &after);
	before.errors[why]++;
	for (int i = 0; i < VLINK_LEDGER_NERR; i++)
		ck_assert_msg(after.errors[i] == before.errors[i],
			      "offset %#llx len %u data_off %u ch %u: errors[%d] = %llu, want %llu",
			      (unsigned long long)d.pool_offset, d.len, d.data_off, ch, i,
			      (unsigned long long)after.errors[i],
			      (unsigned long long)before.errors[i]);
	ck_assert_uint_eq(after.lent, before.lent);
	ck_assert_mem_eq(after.owner, before.owner, sizeof(after.owner));
}

/* ------------------------------------------------------------------- init */

START_TEST(test_init_bad)
{
	static const uint32_t bad_bs[] = { 0, 1, 2, 32, 63, 65, 100, 3000, 2049,
					   0x80000001u, 0xffffffffu };
	struct vlink_ledger l;

	for (unsigned i = 0; i < sizeof(bad_bs) / sizeof(bad_bs[0]); i++) {
		ck_assert_int_eq(vlink_ledger_init(&l, BASE, (uint64_t)bad_bs[i] * 4, bad_bs[i]),
				 -EINVAL);
		ck_assert_ptr_null(l.owner);
		vlink_ledger_fini(&l);
	}
	/* area zero, not a multiple, smaller than a buffer */
	ck_assert_int_eq(vlink_ledger_init(&l, BASE, 0, BSIZE), -EINVAL);
	ck_assert_int_eq(vlink_ledger_init(&l, BASE, AREA + 1, BSIZE), -EINVAL);
	ck_assert_int_eq(vlink_ledger_init(&l, BASE, AREA - 64, BSIZE), -EINVAL);
	ck_assert_int_eq(vlink_ledger_init(&l, BASE, BSIZE / 2, BSIZE), -EINVAL);
	ck_assert_int_eq(vlink_ledger_init(&l, BASE, BSIZE + BSIZE / 2, BSIZE), -EINVAL);
	/* an area that would run past 2^64 */
	ck_assert_int_eq(vlink_ledger_init(&l, UINT64_MAX - AREA + 2, AREA, BSIZE), -EINVAL);
	ck_assert_int_eq(vlink_ledger_init(&l, UINT64_MAX, BSIZE, BSIZE), -EINVAL);
	/* more buffers than a uint32_t counts */
	ck_assert_int_eq(vlink_ledger_init(&l, 0, (1ull << 32) * 64, 64), -EINVAL);
	ck_assert_ptr_null(l.owner);
	vlink_ledger_fini(&l);
}
END_TEST

START_TEST(test_init_good)
{
	struct vlink_ledger l;

	ck_assert_int_eq(vlink_ledger_init(&l, BASE, AREA, BSIZE), 0);
	ck_assert_uint_eq(l.base, BASE);
	ck_assert_uint_eq(l.buf_size, BSIZE);
	ck_assert_uint_eq(l.nbufs, NBUFS);
	ck_assert_uint_eq(l.lent, 0);
	ck_assert_uint_eq(vlink_ledger_errors(&l), 0);
	for (uint32_t k = 0; k < NBUFS; k++)
		ck_assert_uint_eq(l.owner[k], 0);
	vlink_ledger_fini(&l);
	vlink_ledger_fini(&l);  /* twice is harmless */

	/* one buffer; the smallest buffer; an unaligned base */
	ck_assert_int_eq(vlink_ledger_init(&l, 0, BSIZE, BSIZE), 0);
	ck_assert_uint_eq(l.nbufs, 1);
	vlink_ledger_fini(&l);
	ck_assert_int_eq(vlink_ledger_init(&l, 12345, 64 * 10, 64), 0);
	ck_assert_uint_eq(l.nbufs, 10);
	ck_assert_int_eq(vlink_ledger_index(&l, 12345 + 64 * 3), 3);
	ck_assert_int_eq(vlink_ledger_index(&l, 64 * 3), -1);
	vlink_ledger_fini(&l);
	/* an area ending exactly at 2^64 */
	ck_assert_int_eq(vlink_ledger_init(&l, UINT64_MAX - AREA + 1, AREA, BSIZE), 0);
	ck_assert_uint_eq(l.nbufs, NBUFS);
	vlink_ledger_fini(&l);
}
END_TEST

START_TEST(test_index)
{
	struct vlink_ledger l;

	init_std(&l);
	for (uint32_t k = 0; k < NBUFS; k++) {
		ck_assert_int_eq(vlink_ledger_index(&l, buf(&l, k)), k);
		ck_assert_int_eq(vlink_ledger_index(&l, buf(&l, k) + 1), -1);
		ck_assert_int_eq(vlink_ledger_index(&l, buf(&l, k) + BSIZE / 2), -1);
		ck_assert_int_eq(vlink_ledger_index(&l, buf(&l, k) + BSIZE - 1), -1);
	}
	ck_assert_int_eq(vlink_ledger_index(&l, BASE - BSIZE), -1);
	ck_assert_int_eq(vlink_ledger_index(&l, BASE - 1), -1);
	ck_assert_int_eq(vlink_ledger_index(&l, BASE + AREA), -1);
	ck_assert_int_eq(vlink_ledger_index(&l, 0), -1);
	ck_assert_int_eq(vlink_ledger_index(&l, UINT64_MAX), -1);
	ck_assert_int_eq(vlink_ledger_index(&l, UINT64_MAX - BSIZE + 1), -1);
	vlink_ledger_fini(&l);
}
END_TEST

/* -------------------------------------------------------------- lend/take */

START_TEST(test_lend_errors)
{
	struct vlink_ledger l;

	init_std(&l);
	ck_assert_int_eq(vlink_ledger_lend(&l, BASE - BSIZE, 1), -EINVAL);
	ck_assert_int_eq(vlink_ledger_lend(&l, BASE + AREA, 1), -EINVAL);
	ck_assert_int_eq(vlink_ledger_lend(&l, BASE + 1, 1), -EINVAL);
	ck_assert_int_eq(vlink_ledger_lend(&l, UINT64_MAX, 1), -EINVAL);
	ck_assert_int_eq(vlink_ledger_lend(&l, BASE, 0), -EINVAL);
	ck_assert_uint_eq(l.lent, 0);
	ck_assert_int_eq(vlink_ledger_lend(&l, BASE, 3), 0);
	ck_assert_int_eq(vlink_ledger_lend(&l, BASE, 3), -EALREADY);
	ck_assert_int_eq(vlink_ledger_lend(&l, BASE, 4), -EALREADY);
	ck_assert_uint_eq(l.owner[0], 3);
	ck_assert_uint_eq(l.lent, 1);
	/* host bugs are not the peer's errors */
	ck_assert_uint_eq(vlink_ledger_errors(&l), 0);
	vlink_ledger_fini(&l);
}
END_TEST

START_TEST(test_round_trip)
{
	struct vlink_ledger l;
	struct vlink_desc d;

	init_std(&l);
	for (uint32_t k = 0; k < NBUFS; k++)
		ck_assert_int_eq(vlink_ledger_lend(&l, buf(&l, k), (uint16_t)(1 + k % 5)), 0);
	ck_assert_uint_eq(l.lent, NBUFS);
	for (uint32_t k = 0; k < NBUFS; k++)
		ck_assert_uint_eq(l.owner[k], 1 + k % 5);
	/* return them in another order, each on its own channel, with
	 * lengths up to exactly the buffer */
	for (uint32_t i = 0; i < NBUFS; i++) {
		uint32_t k = (i * 37) % NBUFS;
		uint16_t off = (uint16_t)(i * 16 % BSIZE);

		d = mk(buf(&l, k), BSIZE - off, off);
		ck_assert_int_eq(vlink_ledger_take(&l, &d, (uint16_t)(1 + k % 5)), k);
		ck_assert_uint_eq(l.owner[k], 0);
		ck_assert_uint_eq(l.lent, NBUFS - 1 - i);
	}
	ck_assert_uint_eq(vlink_ledger_errors(&l), 0);
	/* and once more: a buffer can be lent again once it is home */
	ck_assert_int_eq(vlink_ledger_lend(&l, buf(&l, 5), 65535), 0);
	d = mk(buf(&l, 5), 0, 0);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 65535), 5);
	ck_assert_uint_eq(l.lent, 0);
	vlink_ledger_fini(&l);
}
END_TEST

/* ------------------------------------------------------ bad descriptors */

/* A ledger with every other buffer lent, on channels 1 and 2. */
static void init_half_lent(struct vlink_ledger *l)
{
	init_std(l);
	for (uint32_t k = 0; k < NBUFS; k += 2)
		ck_assert_int_eq(vlink_ledger_lend(l, buf(l, k), (uint16_t)(1 + (k / 2) % 2)), 0);
}

START_TEST(test_take_out_of_area)
{
	static const uint64_t offs[] = {
		0, BSIZE, BASE - BSIZE, BASE - 1, BASE + AREA, BASE + AREA + BSIZE,
		BASE + AREA * 2, 1ull << 40, 1ull << 63, UINT64_MAX,
		UINT64_MAX - BSIZE + 1, UINT64_MAX - AREA + 1,
		/* values that wrap into the area if added to something */
		(uint64_t)0 - BSIZE, (uint64_t)0 - BASE, BASE - (1ull << 63),
	};
	struct vlink_ledger l;

	init_half_lent(&l);
	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		expect_refused(&l, mk(offs[i], 64, 0), 1, VLINK_LEDGER_OUT_OF_AREA);
		/* out of area comes first, whatever else is wrong */
		expect_refused(&l, mk(offs[i], UINT32_MAX, 65535), 2,
			       VLINK_LEDGER_OUT_OF_AREA);
	}
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_OUT_OF_AREA],
			  2 * sizeof(offs) / sizeof(offs[0]));
	vlink_ledger_fini(&l);
}
END_TEST

START_TEST(test_take_misaligned)
{
	struct vlink_ledger l;

	init_half_lent(&l);
	expect_refused(&l, mk(BASE + 1, 64, 0), 1, VLINK_LEDGER_MISALIGNED);
	expect_refused(&l, mk(BASE + BSIZE / 2, 64, 0), 1, VLINK_LEDGER_MISALIGNED);
	expect_refused(&l, mk(BASE + BSIZE - 1, 64, 0), 1, VLINK_LEDGER_MISALIGNED);
	expect_refused(&l, mk(BASE + AREA - 1, 64, 0), 1, VLINK_LEDGER_MISALIGNED);
	expect_refused(&l, mk(buf(&l, 2) + 64, 64, 0), 2, VLINK_LEDGER_MISALIGNED);
	/* misaligned comes before a bad length */
	expect_refused(&l, mk(BASE + 1, UINT32_MAX, 65535), 1, VLINK_LEDGER_MISALIGNED);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_MISALIGNED], 6);
	ck_assert_uint_eq(vlink_ledger_errors(&l), 6);
	vlink_ledger_fini(&l);
}
END_TEST

START_TEST(test_take_bad_length)
{
	struct vlink_ledger l;
	struct vlink_desc d;

	init_half_lent(&l);
	/* buffer 0 is lent on channel 1 */
	expect_refused(&l, mk(BASE, BSIZE + 1, 0), 1, VLINK_LEDGER_BAD_LENGTH);
	expect_refused(&l, mk(BASE, BSIZE, 1), 1, VLINK_LEDGER_BAD_LENGTH);
	expect_refused(&l, mk(BASE, 1, BSIZE), 1, VLINK_LEDGER_BAD_LENGTH);
	expect_refused(&l, mk(BASE, UINT32_MAX, 0), 1, VLINK_LEDGER_BAD_LENGTH);
	expect_refused(&l, mk(BASE, 0, 65535), 1, VLINK_LEDGER_BAD_LENGTH);
	/* data_off + len wraps to 99 in 32 bits */
	expect_refused(&l, mk(BASE, UINT32_MAX - 100, 200), 1, VLINK_LEDGER_BAD_LENGTH);
	/* a bad length comes before "not lent" and "wrong channel" */
	expect_refused(&l, mk(buf(&l, 1), BSIZE + 1, 0), 1, VLINK_LEDGER_BAD_LENGTH);
	expect_refused(&l, mk(BASE, BSIZE + 1, 0), 2, VLINK_LEDGER_BAD_LENGTH);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_BAD_LENGTH], 8);
	ck_assert_uint_eq(vlink_ledger_errors(&l), 8);
	/* the buffer is still out, and exactly full is fine */
	d = mk(BASE, BSIZE - 100, 100);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 1), 0);
	vlink_ledger_fini(&l);
}
END_TEST

/* With 64 KiB buffers, UINT32_MAX + 65535 truncated to 32 bits (65534)
 * would fit: the sum has to be 64-bit. */
START_TEST(test_take_bad_length_wrap)
{
	struct vlink_ledger l;
	struct vlink_desc d;

	ck_assert_int_eq(vlink_ledger_init(&l, 0, 65536 * 4, 65536), 0);
	ck_assert_int_eq(vlink_ledger_lend(&l, 65536, 7), 0);
	d = mk(65536, UINT32_MAX, 65535);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 7), -1);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_BAD_LENGTH], 1);
	d = mk(65536, UINT32_MAX - 1, 2);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 7), -1);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_BAD_LENGTH], 2);
	ck_assert_uint_eq(vlink_ledger_errors(&l), 2);
	ck_assert_uint_eq(l.lent, 1);
	d = mk(65536, 1, 65535);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 7), 1);
	vlink_ledger_fini(&l);
}
END_TEST

START_TEST(test_take_not_lent)
{
	struct vlink_ledger l;
	struct vlink_desc d;

	init_half_lent(&l);
	/* never lent: the odd buffers */
	expect_refused(&l, mk(buf(&l, 1), 64, 0), 1, VLINK_LEDGER_NOT_LENT);
	expect_refused(&l, mk(buf(&l, NBUFS - 1), 0, 0), 2, VLINK_LEDGER_NOT_LENT);
	/* returned twice */
	d = mk(buf(&l, 4), 64, 0);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 1), 4);
	expect_refused(&l, d, 1, VLINK_LEDGER_NOT_LENT);
	/* ... also on another channel: not lent comes before wrong channel */
	expect_refused(&l, d, 2, VLINK_LEDGER_NOT_LENT);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_NOT_LENT], 4);
	ck_assert_uint_eq(vlink_ledger_errors(&l), 4);
	ck_assert_uint_eq(l.lent, NBUFS / 2 - 1);
	vlink_ledger_fini(&l);
}
END_TEST

START_TEST(test_take_wrong_channel)
{
	struct vlink_ledger l;
	struct vlink_desc d;

	init_half_lent(&l);
	/* buffer 0 on channel 1, buffer 2 on channel 2 */
	expect_refused(&l, mk(buf(&l, 0), 64, 0), 2, VLINK_LEDGER_WRONG_CHANNEL);
	expect_refused(&l, mk(buf(&l, 0), 64, 0), 0, VLINK_LEDGER_WRONG_CHANNEL);
	expect_refused(&l, mk(buf(&l, 0), 64, 0), 65535, VLINK_LEDGER_WRONG_CHANNEL);
	expect_refused(&l, mk(buf(&l, 2), 64, 0), 1, VLINK_LEDGER_WRONG_CHANNEL);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_WRONG_CHANNEL], 4);
	ck_assert_uint_eq(vlink_ledger_errors(&l), 4);
	/* the right channel still gets it back */
	d = mk(buf(&l, 2), 64, 0);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 2), 2);
	vlink_ledger_fini(&l);
}
END_TEST

/* ---------------------------------------------------------------- reclaim */

START_TEST(test_reclaim)
{
	struct vlink_ledger l;
	struct vlink_desc d;

	init_std(&l);
	for (uint32_t k = 0; k < NBUFS; k++)
		ck_assert_int_eq(vlink_ledger_lend(&l, buf(&l, k), (uint16_t)(1 + k % 4)), 0);
	ck_assert_uint_eq(vlink_ledger_reclaim(&l, 2), NBUFS / 4);
	ck_assert_uint_eq(l.lent, NBUFS - NBUFS / 4);
	for (uint32_t k = 0; k < NBUFS; k++)
		ck_assert_uint_eq(l.owner[k], k % 4 == 1 ? 0 : 1 + k % 4);
	ck_assert_uint_eq(vlink_ledger_reclaim(&l, 2), 0);
	ck_assert_uint_eq(vlink_ledger_reclaim(&l, 9), 0);
	/* a reclaimed buffer coming back late is "not lent" */
	d = mk(buf(&l, 1), 64, 0);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 2), -1);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_NOT_LENT], 1);
	/* and can be lent again */
	ck_assert_int_eq(vlink_ledger_lend(&l, buf(&l, 1), 3), 0);
	ck_assert_uint_eq(vlink_ledger_reclaim(&l, 0), NBUFS - NBUFS / 4 + 1);
	ck_assert_uint_eq(l.lent, 0);
	for (uint32_t k = 0; k < NBUFS; k++)
		ck_assert_uint_eq(l.owner[k], 0);
	ck_assert_uint_eq(vlink_ledger_reclaim(&l, 0), 0);
	vlink_ledger_fini(&l);
}
END_TEST

/* ------------------------------------------------------------- near 2^64 */

START_TEST(test_near_u64_max)
{
	const uint64_t base = UINT64_MAX - AREA + 1;  /* base + area = 2^64 */
	struct vlink_ledger l;
	struct vlink_desc d;

	ck_assert_int_eq(vlink_ledger_init(&l, base, AREA, BSIZE), 0);
	ck_assert_int_eq(vlink_ledger_index(&l, UINT64_MAX - BSIZE + 1), NBUFS - 1);
	ck_assert_int_eq(vlink_ledger_index(&l, base), 0);
	ck_assert_int_eq(vlink_ledger_lend(&l, UINT64_MAX - BSIZE + 1, 1), 0);
	ck_assert_int_eq(vlink_ledger_lend(&l, base, 1), 0);
	expect_refused(&l, mk(UINT64_MAX, 0, 0), 1, VLINK_LEDGER_MISALIGNED);
	expect_refused(&l, mk(base - BSIZE, 0, 0), 1, VLINK_LEDGER_OUT_OF_AREA);
	expect_refused(&l, mk(0, 0, 0), 1, VLINK_LEDGER_OUT_OF_AREA);
	expect_refused(&l, mk(BSIZE, 0, 0), 1, VLINK_LEDGER_OUT_OF_AREA);
	expect_refused(&l, mk(UINT64_MAX - BSIZE + 1, BSIZE + 1, 0), 1,
		       VLINK_LEDGER_BAD_LENGTH);
	d = mk(UINT64_MAX - BSIZE + 1, BSIZE, 0);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 1), NBUFS - 1);
	d = mk(base, 1, 0);
	ck_assert_int_eq(vlink_ledger_take(&l, &d, 1), 0);
	ck_assert_uint_eq(l.lent, 0);
	vlink_ledger_fini(&l);

	/* an ordinary area, offsets near 2^64 */
	init_half_lent(&l);
	for (uint64_t off = UINT64_MAX; off > UINT64_MAX - 4 * AREA; off -= BSIZE / 2)
		expect_refused(&l, mk(off, 64, 0), 1, VLINK_LEDGER_OUT_OF_AREA);
	vlink_ledger_fini(&l);
}
END_TEST

/* ------------------------------------------------------------- randomized */

#define RNBUFS 64u
#define RNCH   4u

struct model {
	bool out[RNBUFS];
	uint16_t ch[RNBUFS];
	uint32_t lent;
	uint64_t errors[VLINK_LEDGER_NERR];
};

static uint64_t rnd64(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* What the model says take(d, ch) does: the index or -1 with the reason. */
static int64_t model_take(struct model *m, const struct vlink_desc *d, uint16_t ch,
			  uint64_t base)
{
	uint64_t rel;
	uint64_t k;
	int why;

	if (d->pool_offset < base || d->pool_offset - base >= (uint64_t)RNBUFS * BSIZE)
		why = VLINK_LEDGER_OUT_OF_AREA;
	else if ((rel = d->pool_offset - base) % BSIZE)
		why = VLINK_LEDGER_MISALIGNED;
	else if ((uint64_t)d->len + d->data_off > BSIZE)
		why = VLINK_LEDGER_BAD_LENGTH;
	else if (!m->out[k = rel / BSIZE])
		why = VLINK_LEDGER_NOT_LENT;
	else if (m->ch[k] != ch)
		why = VLINK_LEDGER_WRONG_CHANNEL;
	else {
		m->out[k] = false;
		m->ch[k] = 0;
		m->lent--;
		return (int64_t)k;
	}
	m->errors[why]++;
	return -1;
}

static void model_compare(const struct vlink_ledger *l, const struct model *m, long step)
{
	/* plain ifs: a passing ck_assert costs Check a write() per call */
	if (l->lent != m->lent)
		ck_abort_msg("step %ld: lent %u, model %u", step, l->lent, m->lent);
	for (uint32_t k = 0; k < RNBUFS; k++)
		if (l->owner[k] != (m->out[k] ? m->ch[k] : 0))
			ck_abort_msg("step %ld: buffer %u owner %u, model %s on %u", step, k,
				     l->owner[k], m->out[k] ? "lent" : "home", m->ch[k]);
	if (memcmp(l->errors, m->errors, sizeof(m->errors)))
		ck_abort_msg("step %ld: error counters differ", step);
}

START_TEST(test_random_model)
{
	const uint64_t base = 0x40000000ull;
	struct vlink_ledger l;
	struct model m;
	uint64_t seed = 0x5eed1234abcdull;

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(vlink_ledger_init(&l, base, (uint64_t)RNBUFS * BSIZE, BSIZE), 0);
	for (long step = 0; step < 1000000; step++) {
		uint64_t r = rnd64(&seed);
		uint32_t k = (uint32_t)(r >> 8) % RNBUFS;
		uint16_t ch = (uint16_t)(1 + (r >> 16) % RNCH);
		unsigned op = (unsigned)(r % 1000);

		if (op < 450) {
			int want = m.out[k] ? -EALREADY : 0;

			int got = vlink_ledger_lend(&l, base + (uint64_t)k * BSIZE, ch);

			if (got != want)
				ck_abort_msg("step %ld: lend of %u on %u: %d, want %d",
					     step, k, ch, got, want);
			if (!want) {
				m.out[k] = true;
				m.ch[k] = ch;
				m.lent++;
			}
		} else if (op < 998) {
			uint64_t r2 = rnd64(&seed);
			struct vlink_desc d = mk(base + (uint64_t)k * BSIZE,
						 (uint32_t)(r2 % (BSIZE + 1)),
						 (uint16_t)((r2 >> 16) % 64));
			int64_t want;

			/* mostly plausible, sometimes forged */
			switch ((r2 >> 32) % 16) {
			case 0:
				d.pool_offset += (r2 >> 40) % BSIZE;
				break;
			case 1:
				d.pool_offset = rnd64(&seed);
				break;
			case 2:
				d.pool_offset = base - BSIZE * (1 + (r2 >> 40) % 4);
				break;
			case 3:
				d.pool_offset = base + (uint64_t)(RNBUFS + (r2 >> 40) % 4) * BSIZE;
				break;
			case 4:
				d.len = (uint32_t)rnd64(&seed);
				break;
			case 5:
				d.data_off = (uint16_t)rnd64(&seed);
				break;
			case 6:
				ch = (uint16_t)(r2 >> 48);
				break;
			}
			want = model_take(&m, &d, ch, base);
			if (vlink_ledger_take(&l, &d, ch) != want)
				ck_abort_msg("step %ld: take of %#llx on %u: want %lld", step,
					     (unsigned long long)d.pool_offset, ch,
					     (long long)want);
		} else {
			uint16_t rc = op == 998 ? ch : 0;
			uint32_t want = 0;

			for (uint32_t i = 0; i < RNBUFS; i++) {
				if (m.out[i] && (!rc || m.ch[i] == rc)) {
					m.out[i] = false;
					m.ch[i] = 0;
					want++;
				}
			}
			m.lent -= want;
			if (vlink_ledger_reclaim(&l, rc) != want)
				ck_abort_msg("step %ld: reclaim of %u: want %u", step, rc, want);
		}
		model_compare(&l, &m, step);
	}
	/* every kind of refusal happened */
	for (int i = 0; i < VLINK_LEDGER_NERR; i++)
		ck_assert_msg(l.errors[i] > 0, "no errors[%d] in the run", i);
	vlink_ledger_fini(&l);
}
END_TEST

/* ------------------------------------------------------------ bursts */

START_TEST(test_bursts)
{
	struct vlink_ledger l;
	struct vlink_desc d[8];
	int64_t idx[8];

	init_std(&l);
	for (unsigned i = 0; i < 8; i++)
		d[i] = mk(buf(&l, i), 10, 0);
	ck_assert_uint_eq(vlink_ledger_lend_burst(&l, d, 8, 3), 8);
	ck_assert_uint_eq(vlink_ledger_lent(&l), 8);
	/* one already lent in the middle: those before it are lent, none after */
	d[0] = mk(buf(&l, 20), 0, 0);
	d[1] = mk(buf(&l, 3), 0, 0);
	d[2] = mk(buf(&l, 21), 0, 0);
	ck_assert_uint_eq(vlink_ledger_lend_burst(&l, d, 3, 3), 1);
	ck_assert_uint_eq(vlink_ledger_lent(&l), 9);
	ck_assert_int_eq(vlink_ledger_index(&l, buf(&l, 21)), 21);
	d[2].len = 1;
	ck_assert_int_eq(vlink_ledger_take(&l, &d[2], 3), -1); /* 21 never lent */
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_NOT_LENT], 1);
	/* take back 0..7 and 20, with a forged one and a duplicate among them */
	for (unsigned i = 0; i < 8; i++)
		d[i] = mk(buf(&l, i), 60, 0);
	d[5] = mk(buf(&l, 2), 60, 0);            /* 2 twice: once refused */
	d[6] = mk(buf(&l, 6) + 1, 60, 0);        /* misaligned */
	ck_assert_uint_eq(vlink_ledger_take_burst(&l, d, 8, 3, idx), 6);
	ck_assert_int_eq(idx[2], 2);
	ck_assert_int_eq(idx[5], -1);
	ck_assert_int_eq(idx[6], -1);
	ck_assert_int_eq(idx[7], 7);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_NOT_LENT], 2);
	ck_assert_uint_eq(l.errors[VLINK_LEDGER_MISALIGNED], 1);
	ck_assert_uint_eq(vlink_ledger_lent(&l), 3); /* 5, 6, 20 */
	vlink_ledger_fini(&l);
}
END_TEST

/* Two threads take back the same descriptors at once (a hostile peer
 * returning every buffer on two rings): each buffer is taken exactly once
 * and `lent` ends at 0. */
#define CNBUFS 4096u
struct racer {
	struct vlink_ledger *l;
	unsigned taken;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct vlink_desc d[32];
	int64_t idx[32];

	for (uint32_t k = 0; k < CNBUFS; k += 32) {
		for (unsigned i = 0; i < 32; i++)
			d[i] = mk(buf(r->l, k + i), 1, 0);
		r->taken += vlink_ledger_take_burst(r->l, d, 32, 1, idx);
	}
	return NULL;
}

START_TEST(test_concurrent_take)
{
	struct vlink_ledger l;
	struct racer a = { &l, 0 }, b = { &l, 0 };
	pthread_t ta, tb;

	for (int round = 0; round < 50; round++) {
		ck_assert_int_eq(vlink_ledger_init(&l, BASE, (uint64_t)CNBUFS * BSIZE, BSIZE), 0);
		for (uint32_t k = 0; k < CNBUFS; k++)
			ck_assert_int_eq(vlink_ledger_lend(&l, buf(&l, k), 1), 0);
		a.taken = b.taken = 0;
		ck_assert_int_eq(pthread_create(&ta, NULL, race, &a), 0);
		ck_assert_int_eq(pthread_create(&tb, NULL, race, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		ck_assert_uint_eq(a.taken + b.taken, CNBUFS);
		ck_assert_uint_eq(vlink_ledger_lent(&l), 0);
		ck_assert_uint_eq(l.errors[VLINK_LEDGER_NOT_LENT], CNBUFS);
		vlink_ledger_fini(&l);
	}
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc;

	tc = tcase_create("init");
	tcase_add_test(tc, test_init_bad);
	tcase_add_test(tc, test_init_good);
	tcase_add_test(tc, test_index);
	suite_add_tcase(s, tc);

	tc = tcase_create("lend_take");
	tcase_add_test(tc, test_lend_errors);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_take_out_of_area);
	tcase_add_test(tc, test_take_misaligned);
	tcase_add_test(tc, test_take_bad_length);
	tcase_add_test(tc, test_take_bad_length_wrap);
	tcase_add_test(tc, test_take_not_lent);
	tcase_add_test(tc, test_take_wrong_channel);
	suite_add_tcase(s, tc);

	tc = tcase_create("reclaim");
	tcase_add_test(tc, test_reclaim);
	tcase_add_test(tc, test_near_u64_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("bursts");
	tcase_add_test(tc, test_bursts);
	tcase_add_test(tc, test_concurrent_take);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_random_model);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ledger_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
