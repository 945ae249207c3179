/* The host end's private record of which buffers it has lent to the peer,
 * and on which channel (never in shared memory: the peer cannot forge it).
 *
 * Buffers are the link's buffer area split into buf_size pieces: buffer k
 * starts at pool offset base + k * buf_size.  Every descriptor the peer
 * returns (on `done` or `tx`) is checked before anything else touches it:
 * its pool_offset is inside the area and at the start of a buffer,
 * data_off + len <= buf_size, the buffer is lent, lent to this channel, and
 * not already returned.  A bad descriptor is counted (by reason) and
 * refused; it never becomes a pointer.
 *
 * Two threads may lend and take at the same time (the PMD's rx and tx
 * lcores share one ledger): takes hold a lock (`taking`) for a burst, so
 * a buffer a hostile peer returns twice at once (on tx and on done) is
 * taken once (a compare-and-swap per descriptor did the same with a
 * locked instruction per packet; the lock costs one per burst, and a
 * thread preempted while it holds it delays the other's takes, as an
 * rte_ring does); lending is a plain store, since only the thread holding
 * a buffer lends it, into an entry no take changes (it is 0); `lent` and
 * errors[] are updated atomically (relaxed), once per burst.  init, fini
 * and reclaim are not concurrent with anything. */
#ifndef VLINK_LEDGER_H
#define VLINK_LEDGER_H

#include <stdint.h>

#include "vlink_shm.h"

enum vlink_ledger_err {
	VLINK_LEDGER_OUT_OF_AREA,    /* pool_offset outside the buffer area */
	VLINK_LEDGER_MISALIGNED,     /* not the start of a buffer */
	VLINK_LEDGER_BAD_LENGTH,     /* data_off + len > buf_size */
	VLINK_LEDGER_NOT_LENT,       /* never lent, or already returned */
	VLINK_LEDGER_WRONG_CHANNEL,  /* lent on another channel */
	VLINK_LEDGER_NERR
};

struct vlink_ledger {
	uint64_t base;               /* buffer area: pool offset of buffer 0 */
	uint32_t buf_size;
	uint32_t nbufs;
	uint16_t *owner;             /* per buffer: 0 = home, else channel */
	uint32_t lent;               /* buffers out now */
	uint32_t taking;             /* a take is under way (the lock) */
	uint64_t errors[VLINK_LEDGER_NERR];
};

/* area = nbufs * buf_size bytes at pool offset base; buf_size a power of
 * two >= 64.  0, -EINVAL or -ENOMEM. */
int vlink_ledger_init(struct vlink_ledger *l, uint64_t base, uint64_t area,
		      uint32_t buf_size);
void vlink_ledger_fini(struct vlink_ledger *l);

/* Index of the buffer starting at pool offset `off`, or -1. */
int64_t vlink_ledger_index(const struct vlink_ledger *l, uint64_t off);
/* Record that the buffer at `off` goes to the peer on channel ch (1..):
 * 0, or -EINVAL (not a buffer start) / -EALREADY (already lent: a host
 * bug, counted nowhere). */
int vlink_ledger_lend(struct vlink_ledger *l, uint64_t off, uint16_t ch);
/* Check and take back a descriptor the peer returned on channel ch: the
 * buffer index (>= 0), or -1 with the reason counted in errors[]. */
int64_t vlink_ledger_take(struct vlink_ledger *l, const struct vlink_desc *d, uint16_t ch);
/* The same for n descriptors: the buffer of each in idx[i] (-1 if
 * refused); returns how many were taken. */
unsigned vlink_ledger_take_burst(struct vlink_ledger *l, const struct vlink_desc *d,
				 unsigned n, uint16_t ch, int64_t *idx);
/* Lend the buffers of n descriptors (their pool_offset) on channel ch, in
 * order, stopping at the first that vlink_ledger_lend would refuse;
 * returns how many were lent (n if all). */
unsigned vlink_ledger_lend_burst(struct vlink_ledger *l, const struct vlink_desc *d,
			    unsigned n, uint16_t ch);
/* Buffers out now (safe to call from any thread). */
static inline uint32_t vlink_ledger_lent(const struct vlink_ledger *l)
{
	return __atomic_load_n(&l->lent, __ATOMIC_RELAXED);
}
/* Take back every buffer lent on channel ch (0: on every channel), e.g.
 * after the peer died; returns how many. */
uint32_t vlink_ledger_reclaim(struct vlink_ledger *l, uint16_t ch);
/* The same a burst at a time, saying which: up to max buffers lent on ch
 * (0: any) at index *cursor or above are taken back, their indices put in
 * idx[]; *cursor moves past them.  Start with *cursor = 0 and call until
 * it returns 0. */
unsigned vlink_ledger_reclaim_burst(struct vlink_ledger *l, uint16_t ch, uint32_t *cursor,
				    int64_t *idx, unsigned max);
uint64_t vlink_ledger_errors(const struct vlink_ledger *l);

#endif
