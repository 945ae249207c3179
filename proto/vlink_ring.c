#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vlink_ring.h"

int vlink_ring_attach(struct vlink_ring *r, void *hdr, uint32_t size, bool producer)
{
	struct vlink_ring_hdr *h = hdr;

	/* size comes from the caller: hdr->size is in shared memory and the
	 * other side could have rewritten it */
	if (!h || ((uintptr_t)h & (VLINK_CACHELINE - 1)) || size == 0 ||
	    size > (1u << 16) || (size & (size - 1)))
		return -EINVAL;
	r->hdr = h;
	r->desc = (struct vlink_desc *)(h + 1);
	r->size = size;
	r->mask = size - 1;
	r->producer = producer;
	r->bad_index = 0;
	/* resume where the previous owner of this side left off; an
	 * impossible pair is caught (and counted) by the first burst */
	if (producer) {
		r->mine = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
		r->theirs = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
	} else {
		r->mine = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
		r->theirs = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
	}
	return 0;
}

void vlink_ring_resync(struct vlink_ring *r)
{
	r->theirs = __atomic_load_n(r->producer ? &r->hdr->tail : &r->hdr->head,
				    __ATOMIC_ACQUIRE);
}

void vlink_ring_empty(struct vlink_ring *r)
{
	vlink_ring_resync(r);
	r->mine = r->theirs;
	__atomic_store_n(r->producer ? &r->hdr->head : &r->hdr->tail, r->mine,
			 __ATOMIC_RELEASE);
}

unsigned vlink_ring_retract(struct vlink_ring *r, struct vlink_desc *d, unsigned max)
{
	uint32_t tail, n;

	if (!r->producer)
		return 0;
	tail = __atomic_load_n(&r->hdr->tail, __ATOMIC_ACQUIRE);
	n = r->mine - tail;
	if (n > r->size) {
		r->bad_index++;
		return 0;
	}
	if (n > max)
		n = max;
	for (uint32_t i = 0; i < n; i++)
		d[i] = r->desc[(tail + i) & r->mask];
	if (tail + n == r->mine) {
		r->mine = tail;
		r->theirs = tail;
		__atomic_store_n(&r->hdr->head, tail, __ATOMIC_RELEASE);
	}
	return n;
}

/* Descriptors in the ring by the other side's index as now published:
 * refreshes the cache, or returns -1 (counted) if the index is impossible.
 * The acquire load pairs with the other side's release store: the
 * producer sees the slots the consumer freed as read, the consumer sees
 * the descriptors the producer wrote. */
static int64_t refresh(struct vlink_ring *r)
{
	uint32_t t, used;

	if (r->producer) {
		t = __atomic_load_n(&r->hdr->tail, __ATOMIC_ACQUIRE);
		used = r->mine - t;
	} else {
		t = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);
		used = t - r->mine;
	}
	if (used > r->size) {
		r->bad_index++;
		return -1;
	}
	r->theirs = t;
	return used;
}

/* How many of n descriptors a burst moves (the producer: free slots; the
 * consumer: descriptors waiting), from our next slot (*slot), *first of
 * them before the ring wraps to slot 0.  The cached other index only lags
 * behind the real one, so it is reread only when it does not cover n (or
 * is impossible, which only an index read at attach time can be).
 * `producer` is a constant in each caller (not r->producer): inlined, each
 * burst keeps only its own side's arithmetic, no branch on the data path. */
static inline uint32_t burst_span(struct vlink_ring *r, unsigned n, bool producer,
				  uint32_t *slot, uint32_t *first)
{
	uint32_t have = producer ? r->size - (r->mine - r->theirs) : r->theirs - r->mine;

	if (have < n || have > r->size) {
		int64_t used = refresh(r);

		if (used < 0)
			return 0;
		have = producer ? r->size - (uint32_t)used : (uint32_t)used;
	}
	if (n > have)
		n = have;
	if (!n)
		return 0;
	*slot = r->mine & r->mask;
	*first = r->size - *slot;
	if (*first > n)
		*first = n;
	return n;
}

unsigned vlink_ring_enqueue_burst(struct vlink_ring *r, const struct vlink_desc *d,
				  unsigned n)
{
	uint32_t slot, first;

	n = burst_span(r, n, true, &slot, &first);
	if (!n)
		return 0;
	memcpy(&r->desc[slot], d, (size_t)first * sizeof(*d));
	memcpy(&r->desc[0], d + first, (size_t)(n - first) * sizeof(*d));
	r->mine += n;
	__atomic_store_n(&r->hdr->head, r->mine, __ATOMIC_RELEASE);
	return n;
}

unsigned vlink_ring_peek_burst(struct vlink_ring *r, struct vlink_desc *d, unsigned n)
{
	uint32_t slot, first;

	n = burst_span(r, n, false, &slot, &first);
	if (!n)
		return 0;
	memcpy(d, &r->desc[slot], (size_t)first * sizeof(*d));
	memcpy(d + first, &r->desc[0], (size_t)(n - first) * sizeof(*d));
	return n;
}

void vlink_ring_release(struct vlink_ring *r, unsigned n)
{
	r->mine += n;
	/* release: our reads of the slots are done before the producer may
	 * see them free and overwrite them */
	__atomic_store_n(&r->hdr->tail, r->mine, __ATOMIC_RELEASE);
}

unsigned vlink_ring_dequeue_burst(struct vlink_ring *r, struct vlink_desc *d,
				  unsigned n)
{
	n = vlink_ring_peek_burst(r, d, n);
	if (n)
		vlink_ring_release(r, n);
	return n;
}

unsigned vlink_ring_free_count(struct vlink_ring *r)
{
	int64_t used = refresh(r);

	return used < 0 ? 0 : r->size - (uint32_t)used;
}

unsigned vlink_ring_room(struct vlink_ring *r, unsigned n)
{
	uint32_t slot, first;

	return r->producer ? burst_span(r, n, true, &slot, &first) : 0;
}

unsigned vlink_ring_count(struct vlink_ring *r)
{
	int64_t used = refresh(r);

	return used < 0 ? 0 : (uint32_t)used;
}

/* A full barrier (stores before it visible before loads after it), as
 * cheap as the CPU has it: on x86-64 a locked add to the stack rather
 * than the mfence __atomic_thread_fence() emits, which also waits for
 * non-temporal stores and costs about twice as much (Linux's smp_mb() is
 * the same instruction).  The producer pays it once per burst in event
 * mode. */
static inline void full_fence(void)
{
#if defined(__x86_64__)
	__asm__ __volatile__("lock; addl $0,-4(%%rsp)" ::: "memory", "cc");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

bool vlink_ring_sleep_begin(struct vlink_ring *r)
{
	if (r->producer)
		return false;
	__atomic_store_n(&r->hdr->need_wakeup, 1, __ATOMIC_RELAXED);
	/* the store before the load of head (vlink_ring_wake_due: the other
	 * way round) */
	full_fence();
	if (vlink_ring_count(r) == 0)
		return true;
	vlink_ring_sleep_end(r);
	return false;
}

void vlink_ring_sleep_end(struct vlink_ring *r)
{
	__atomic_store_n(&r->hdr->need_wakeup, 0, __ATOMIC_RELAXED);
}

bool vlink_ring_wake_due(struct vlink_ring *r)
{
	/* head, published with release by the enqueue, before the load */
	full_fence();
	if (!__atomic_load_n(&r->hdr->need_wakeup, __ATOMIC_RELAXED))
		return false;
	return __atomic_exchange_n(&r->hdr->need_wakeup, 0, __ATOMIC_RELAXED) != 0;
}
