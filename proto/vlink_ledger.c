#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vlink_ledger.h"

int vlink_ledger_init(struct vlink_ledger *l, uint64_t base, uint64_t area,
		      uint32_t buf_size)
{
	uint64_t n;

	memset(l, 0, sizeof(*l));
	if (buf_size < 64 || (buf_size & (buf_size - 1)) || area == 0 ||
	    (area & (buf_size - 1)))
		return -EINVAL;
	/* the last byte of the area must be a pool offset: base + area may
	 * be 2^64 exactly, not more */
	if (area - 1 > UINT64_MAX - base)
		return -EINVAL;
	n = area / buf_size;
	if (n > UINT32_MAX)
		return -EINVAL;
	l->owner = calloc(n, sizeof(*l->owner));
	if (!l->owner)
		return -ENOMEM;
	l->base = base;
	l->buf_size = buf_size;
	l->nbufs = (uint32_t)n;
	return 0;
}

void vlink_ledger_fini(struct vlink_ledger *l)
{
	free(l->owner);
	l->owner = NULL;
	l->nbufs = 0;
	l->lent = 0;
}

static uint64_t area_size(const struct vlink_ledger *l)
{
	return (uint64_t)l->nbufs * l->buf_size;
}

/* Offset from base without ever forming base + area (which may be 2^64)
 * or off - base for off < base: a huge off must not wrap into the area. */
static bool in_area(const struct vlink_ledger *l, uint64_t off, uint64_t *rel)
{
	if (off < l->base)
		return false;
	*rel = off - l->base;
	return *rel < area_size(l);
}

int64_t vlink_ledger_index(const struct vlink_ledger *l, uint64_t off)
{
	uint64_t rel;

	if (!in_area(l, off, &rel) || (rel & (l->buf_size - 1)))
		return -1;
	return (int64_t)(rel >> __builtin_ctz(l->buf_size));
}

/* A buffer is lent only by the thread that holds it (an mbuf it owns), so
 * a plain check-then-store is enough here; only take races (a peer may
 * return one buffer on two rings at once). */
static int lend_one(struct vlink_ledger *l, uint64_t off, uint16_t ch)
{
	int64_t k = vlink_ledger_index(l, off);

	if (k < 0 || ch == 0)
		return -EINVAL;
	if (__atomic_load_n(&l->owner[k], __ATOMIC_RELAXED))
		return -EALREADY;
	__atomic_store_n(&l->owner[k], ch, __ATOMIC_RELAXED);
	return 0;
}

int vlink_ledger_lend(struct vlink_ledger *l, uint64_t off, uint16_t ch)
{
	int err = lend_one(l, off, ch);

	if (!err)
		__atomic_fetch_add(&l->lent, 1, __ATOMIC_RELAXED);
	return err;
}

unsigned vlink_ledger_lend_burst(struct vlink_ledger *l, const struct vlink_desc *d,
				 unsigned n, uint16_t ch)
{
	unsigned i = 0;

	while (i < n && lend_one(l, d[i].pool_offset, ch) == 0)
		i++;
	if (i)
		__atomic_fetch_add(&l->lent, i, __ATOMIC_RELAXED);
	return i;
}

static int64_t refuse(struct vlink_ledger *l, enum vlink_ledger_err why)
{
	__atomic_fetch_add(&l->errors[why], 1, __ATOMIC_RELAXED);
	return -1;
}

/* Takes exclude each other with a lock held for a burst (vlink_ledger.h):
 * one locked instruction per burst where a compare-and-swap per
 * descriptor cost one per packet. */
static void take_lock(struct vlink_ledger *l)
{
	while (__atomic_exchange_n(&l->taking, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->taking, __ATOMIC_RELAXED))
			;
}

static void take_unlock(struct vlink_ledger *l)
{
	__atomic_store_n(&l->taking, 0, __ATOMIC_RELEASE);
}

/* Check one descriptor and mark its buffer home (take_lock held; `lent` is
 * the caller's). */
static int64_t take_one(struct vlink_ledger *l, const struct vlink_desc *d, uint16_t ch)
{
	uint64_t off = d->pool_offset;
	uint64_t end = (uint64_t)d->data_off + d->len; /* no 32-bit wrap */
	uint64_t rel;
	uint64_t k;
	uint16_t was;

	if (!in_area(l, off, &rel))
		return refuse(l, VLINK_LEDGER_OUT_OF_AREA);
	if (rel & (l->buf_size - 1))
		return refuse(l, VLINK_LEDGER_MISALIGNED);
	if (end > l->buf_size)
		return refuse(l, VLINK_LEDGER_BAD_LENGTH);
	k = rel >> __builtin_ctz(l->buf_size);
	/* no other take runs; a lend stores only into an entry that is 0 */
	was = __atomic_load_n(&l->owner[k], __ATOMIC_RELAXED);
	if (was == ch) {
		__atomic_store_n(&l->owner[k], 0, __ATOMIC_RELAXED);
		return (int64_t)k;
	}
	return refuse(l, was ? VLINK_LEDGER_WRONG_CHANNEL : VLINK_LEDGER_NOT_LENT);
}

int64_t vlink_ledger_take(struct vlink_ledger *l, const struct vlink_desc *d, uint16_t ch)
{
	int64_t k;

	take_lock(l);
	k = take_one(l, d, ch);
	take_unlock(l);
	if (k >= 0)
		__atomic_fetch_sub(&l->lent, 1, __ATOMIC_RELAXED);
	return k;
}

unsigned vlink_ledger_take_burst(struct vlink_ledger *l, const struct vlink_desc *d,
				 unsigned n, uint16_t ch, int64_t *idx)
{
	unsigned good = 0;

	take_lock(l);
	for (unsigned i = 0; i < n; i++) {
		idx[i] = take_one(l, &d[i], ch);
		good += idx[i] >= 0;
	}
	take_unlock(l);
	if (good)
		__atomic_fetch_sub(&l->lent, good, __ATOMIC_RELAXED);
	return good;
}

unsigned vlink_ledger_reclaim_burst(struct vlink_ledger *l, uint16_t ch, uint32_t *cursor,
				    int64_t *idx, unsigned max)
{
	unsigned n = 0;
	uint32_t k;

	for (k = *cursor; k < l->nbufs && n < max; k++) {
		if (l->owner[k] && (!ch || l->owner[k] == ch)) {
			l->owner[k] = 0;
			idx[n++] = k;
		}
	}
	*cursor = k;
	l->lent -= n;
	return n;
}

uint32_t vlink_ledger_reclaim(struct vlink_ledger *l, uint16_t ch)
{
	int64_t idx[64];
	uint32_t cursor = 0, n = 0;
	unsigned k;

	while ((k = vlink_ledger_reclaim_burst(l, ch, &cursor, idx, 64)) > 0)
		n += k;
	return n;
}

uint64_t vlink_ledger_errors(const struct vlink_ledger *l)
{
	uint64_t n = 0;

	for (int i = 0; i < VLINK_LEDGER_NERR; i++)
		n += l->errors[i];
	return n;
}
