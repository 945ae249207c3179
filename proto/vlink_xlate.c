#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vlink_xlate.h"

/* The pool is at most 1 GiB by design; accept more so a larger pool is a
 * configuration change, not a code change (64 GiB: a 256 KiB fwd table). */
#define XLATE_POOL_MAX (64ull << 30)

/* Cap on the reverse table (2 MiB of uint8_t[2] covering 2 TiB of address
 * space).  Segments mapped by one process sit close together; a span wider
 * than this is refused with -ERANGE rather than falling back to a search,
 * so lookups stay O(1). */
#define XLATE_REV_MAX (1ul << 20)

static bool seg_valid(const struct vlink_xlate_seg *s, uint64_t pool_size, uintptr_t page)
{
	uintptr_t a = (uintptr_t)s->addr;

	if (s->size == 0 || (s->size | s->pool_offset) & (VLINK_XLATE_CHUNK - 1))
		return false;
	if (s->pool_offset >= pool_size || s->size > pool_size - s->pool_offset)
		return false;
	/* the mapping must not wrap around the address space: off() relies
	 * on addr + size being the end of the segment */
	if (!a || a & (page - 1) || s->size > UINTPTR_MAX - a)
		return false;
	return true;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vlink_xlate_init(struct vlink_xlate *x, uint64_t pool_size,
		     const struct vlink_xlate_seg *segs, unsigned nseg)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	size_t nrev;

	/* a failed init leaves x empty: ptr() gives NULL, off() UINT64_MAX,
	 * fini() is harmless */
	memset(x, 0, sizeof(*x));
	if (!segs || nseg == 0 || nseg > VLINK_XLATE_MAX_SEGS)
		return -EINVAL;
	if (pool_size == 0 || pool_size & (VLINK_XLATE_CHUNK - 1) || pool_size > XLATE_POOL_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < nseg; i++) {
		const struct vlink_xlate_seg *s = &segs[i];

		if (!seg_valid(s, pool_size, page))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++) {
			const struct vlink_xlate_seg *t = &segs[j];

			/* overlapping mappings would make off() ambiguous */
			if (ranges_overlap(s->pool_offset, s->size, t->pool_offset, t->size) ||
			    ranges_overlap((uintptr_t)s->addr, s->size, (uintptr_t)t->addr,
					   t->size))
				return -EINVAL;
		}
		if ((uintptr_t)s->addr < lo)
			lo = (uintptr_t)s->addr;
		if ((uintptr_t)s->addr + s->size > hi)
			hi = (uintptr_t)s->addr + s->size;
	}
	/* hi - lo > 0 and hi does not wrap (checked above) */
	if ((hi - lo - 1) >> VLINK_XLATE_CHUNK_SHIFT >= XLATE_REV_MAX)
		return -ERANGE;
	nrev = ((hi - lo - 1) >> VLINK_XLATE_CHUNK_SHIFT) + 1;

	x->fwd = calloc(pool_size >> VLINK_XLATE_CHUNK_SHIFT, sizeof(*x->fwd));
	x->rev = calloc(nrev, sizeof(*x->rev));
	if (!x->fwd || !x->rev) {
		vlink_xlate_fini(x);
		return -ENOMEM;
	}
	x->pool_size = pool_size;
	x->nseg = nseg;
	memcpy(x->seg, segs, nseg * sizeof(*segs));
	x->rlo = lo;
	x->rhi = hi;

	for (unsigned i = 0; i < nseg; i++) {
		const struct vlink_xlate_seg *s = &x->seg[i];
		uint64_t c0 = s->pool_offset >> VLINK_XLATE_CHUNK_SHIFT;
		uintptr_t a = (uintptr_t)s->addr - lo;
		size_t r0 = a >> VLINK_XLATE_CHUNK_SHIFT;
		size_t r1 = (a + s->size - 1) >> VLINK_XLATE_CHUNK_SHIFT;

		for (uint64_t c = 0; c < s->size >> VLINK_XLATE_CHUNK_SHIFT; c++)
			x->fwd[c0 + c] = (uint8_t *)s->addr + (c << VLINK_XLATE_CHUNK_SHIFT);
		for (size_t r = r0; r <= r1; r++) {
			uint8_t *slot = x->rev[r];

			/* segments of >= 2 MiB that do not overlap meet at most
			 * two to a chunk; a third means the checks above are
			 * wrong, so refuse rather than mistranslate */
			if (!slot[0]) {
				slot[0] = (uint8_t)(i + 1);
			} else if (!slot[1]) {
				slot[1] = (uint8_t)(i + 1);
			} else {
				vlink_xlate_fini(x);
				return -EINVAL;
			}
		}
	}
	return 0;
}

void vlink_xlate_fini(struct vlink_xlate *x)
{
	free(x->fwd);
	free(x->rev);
	memset(x, 0, sizeof(*x));
}

uint64_t vlink_xlate_off(const struct vlink_xlate *x, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	const uint8_t *slot;

	if (a < x->rlo || a >= x->rhi)
		return UINT64_MAX;
	slot = x->rev[(a - x->rlo) >> VLINK_XLATE_CHUNK_SHIFT];
	for (int k = 0; k < 2; k++) {
		const struct vlink_xlate_seg *s;

		if (!slot[k])
			break;
		s = &x->seg[slot[k] - 1];
		/* unsigned: an address below s->addr wraps and fails too */
		if (a - (uintptr_t)s->addr < s->size)
			return s->pool_offset + (a - (uintptr_t)s->addr);
	}
	return UINT64_MAX;
}
