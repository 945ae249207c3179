/* Single-producer single-consumer descriptor rings in shared memory.
 *
 * A struct vlink_ring is one process's private handle on one ring: either
 * its producer or its consumer, never both.  Indices are free-running
 * 32-bit counters; the slot of index i is i & mask.  The producer publishes
 * `head` with a release store after writing descriptors; the consumer reads
 * it with an acquire load before reading them (and the other way round for
 * `tail`), so the rings are correct on weakly ordered CPUs.  Each side keeps
 * its own index privately (the copy in shared memory is only published,
 * never read back) and caches the other side's index, reading the other
 * side's cache line only when the cached value does not cover the burst.
 *
 * The other side may be hostile: an index it publishes that would put more
 * than `size` descriptors in the ring is not believed; the call returns 0
 * and counts the ring as corrupt (`bad_index`).  Descriptors themselves are
 * only copied here; checking them is the ledger's job (vlink_ledger.h). */
#ifndef VLINK_RING_H
#define VLINK_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "vlink_shm.h"

struct vlink_ring {
	struct vlink_ring_hdr *hdr;    /* in shared memory */
	struct vlink_desc *desc;       /* hdr + 1: the slots */
	uint32_t size;                 /* a power of two, from the LinkMap */
	uint32_t mask;                 /* size - 1 */
	uint32_t mine;                 /* producer: head; consumer: tail */
	uint32_t theirs;               /* cached copy of the other index */
	bool producer;
	uint64_t bad_index;            /* times the other index was impossible */
};

/* Take the producer (or consumer) side of the ring whose header is at
 * `hdr`, `size` descriptors (which the caller got from the daemon, not from
 * shared memory).  Starts from the indices currently in shared memory
 * (resuming after a restart); 0 or -EINVAL (size not a power of two,
 * hdr NULL or not 64-byte aligned). */
int vlink_ring_attach(struct vlink_ring *r, void *hdr, uint32_t size, bool producer);
/* Either end: make the ring empty by moving this end's own index to the
 * other's (producer: head back to the consumer's tail; consumer: tail up
 * to the producer's head).  The host's half of the reset handshake
 * (vlink_epoch_host_clear); what was in the ring is the caller's to
 * account for (its ledger). */
void vlink_ring_empty(struct vlink_ring *r);
/* Either end: the other end has moved its own index (vlink_ring_empty on
 * its side): forget the cached copy and read it again. */
void vlink_ring_resync(struct vlink_ring *r);

/* Producer, once the consumer is known to be gone (it said so, or the
 * daemon did): copy out what it never consumed (between its tail and our
 * head) and, if that was all of it (at most max), move head back to the
 * tail so that no later consumer sees those buffers.  Returns how many
 * descriptors were copied (0 if the consumer's index is impossible). */
unsigned vlink_ring_retract(struct vlink_ring *r, struct vlink_desc *d, unsigned max);

/* Producer: copy up to n descriptors in; returns how many (0..n). */
unsigned vlink_ring_enqueue_burst(struct vlink_ring *r, const struct vlink_desc *d,
				  unsigned n);
/* Consumer: copy up to n descriptors out; returns how many (0..n). */
unsigned vlink_ring_dequeue_burst(struct vlink_ring *r, struct vlink_desc *d,
				  unsigned n);
/* The same in two steps: copy out without freeing the slots (a second
 * peek copies the same descriptors), then free the first n copied
 * (publish tail).  A consumer that does locked work per descriptor (the
 * host's ledger) does it in between: its tail store, to a line the
 * producer reads, would otherwise be waited for by the first locked
 * instruction after it. */
unsigned vlink_ring_peek_burst(struct vlink_ring *r, struct vlink_desc *d, unsigned n);
void vlink_ring_release(struct vlink_ring *r, unsigned n);
/* Producer: free slots; consumer: descriptors waiting (both refresh the
 * cached index). */
unsigned vlink_ring_free_count(struct vlink_ring *r);
unsigned vlink_ring_count(struct vlink_ring *r);
/* Producer: how many of n descriptors would fit now (n, or fewer), reading
 * the consumer's index only when the cached one does not cover n, as an
 * enqueue does (vlink_ring_free_count always reads it). */
unsigned vlink_ring_room(struct vlink_ring *r, unsigned n);

/* Sleeping (event mode).  A consumer that finds the ring empty may sleep
 * on a notifier (an eventfd, an interrupt) instead of polling.  It sets
 * the ring's need_wakeup word (in its own cache line, after tail) and then
 * looks at head once more; the producer, after publishing head, takes the
 * word back to 0 and, if it was set, signals.  Each side's store is
 * followed by a full fence before it loads the other's word (Dekker's
 * pattern): either the consumer sees the new head and does not sleep, or
 * the producer sees the word and signals, so no wake-up is lost.  Under
 * load the consumer never sleeps and the producer only reads a word it
 * finds 0; each sleep costs at most one signal.  A hostile consumer can
 * only make its producer signal more; a hostile producer can only leave
 * its consumer asleep, so consumers bound their sleep. */

/* Consumer: about to sleep.  true: the ring is still empty and need_wakeup
 * is set: sleep until signalled; false: descriptors came meanwhile (the
 * word is cleared): take them instead. */
bool vlink_ring_sleep_begin(struct vlink_ring *r);
/* Consumer: awake again (signalled, or the sleep timed out): clear
 * need_wakeup. */
void vlink_ring_sleep_end(struct vlink_ring *r);
/* Producer, after an enqueue that published descriptors: true if the
 * consumer is asleep and asked to be woken (once per sleep): signal it. */
bool vlink_ring_wake_due(struct vlink_ring *r);

#endif
