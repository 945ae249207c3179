/* Translation index: pool offset <-> local address, both O(1).
 *
 * Each process maps the pool's segments wherever mmap() puts them.  The
 * index is built from the segment list of a LinkMap or DomainMap (pool
 * offset and size of each segment) and the local address of each mapping.
 * Forward: one table load per lookup (a table of VLINK_XLATE_CHUNK-sized
 * chunks of the pool, each pointing into its segment's mapping).  Reverse:
 * a table keyed by (address - lowest mapping) / chunk giving at most two
 * candidate segments, each checked by bounds, so no search.  Out-of-range input gives NULL or UINT64_MAX, never
 * a wild pointer. */
#ifndef VLINK_XLATE_H
#define VLINK_XLATE_H

#include <stddef.h>
#include <stdint.h>

/* Segments are multiples of 2 MiB and 2 MiB aligned in the pool. */
#define VLINK_XLATE_CHUNK_SHIFT 21
#define VLINK_XLATE_CHUNK (1ull << VLINK_XLATE_CHUNK_SHIFT)
#define VLINK_XLATE_MAX_SEGS 16

struct vlink_xlate_seg {
	uint64_t pool_offset;
	uint64_t size;
	void *addr;                 /* local mapping of the segment */
};

struct vlink_xlate {
	uint64_t pool_size;
	unsigned nseg;
	struct vlink_xlate_seg seg[VLINK_XLATE_MAX_SEGS];
	uint8_t **fwd;              /* per pool chunk: its local address, or NULL */
	uintptr_t rlo, rhi;         /* lowest mapped address, highest + 1 */
	uint8_t (*rev)[2];          /* per chunk of [rlo, rhi): the (at most two)
				       segments overlapping it, as index + 1
				       (0: none); mappings are page aligned, so
				       a chunk can hold the end of one segment
				       and the start of the next */
};

/* Build from the segments (pool offsets, sizes, local addresses).  0, or
 * -EINVAL (segments unaligned, overlapping, outside pool_size) / -ENOMEM /
 * -ERANGE (mappings spread over more than 2 TiB of address space). */
int vlink_xlate_init(struct vlink_xlate *x, uint64_t pool_size,
		     const struct vlink_xlate_seg *segs, unsigned nseg);
void vlink_xlate_fini(struct vlink_xlate *x);

/* Local address of pool offset `off` for `len` bytes (the range must lie in
 * one segment), or NULL. */
static inline void *vlink_xlate_ptr(const struct vlink_xlate *x, uint64_t off, uint32_t len)
{
	uint8_t *base;
	uint64_t in = off & (VLINK_XLATE_CHUNK - 1);

	if (off >= x->pool_size || len > VLINK_XLATE_CHUNK - in)
		return NULL;
	base = x->fwd[off >> VLINK_XLATE_CHUNK_SHIFT];
	return base ? base + in : NULL;
}

/* Pool offset of local address p, or UINT64_MAX if p is in no segment. */
uint64_t vlink_xlate_off(const struct vlink_xlate *x, const void *p);

#endif
