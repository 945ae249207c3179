/* Epochs: how the two ends of a link agree on who owns which buffer after
 * either of them restarted (docs/design.md, "Epochs and the reset
 * handshake").
 *
 * The host end owns every buffer and lends them; a lent buffer is the
 * peer's until it comes back.  When the host end restarts, or a new peer
 * attaches in place of one that died, the loans of the old epoch are
 * void: the host takes every buffer back and both ends start again from
 * empty rings.  The link header (vlink_shm.h) carries the handshake, each
 * word written by one end only:
 *
 *   host: host_state := RESETTING, host_epoch := e + 1
 *   peer: sees host_epoch change: forgets every buffer of the old epoch,
 *         peer_ack_epoch := e + 1, and touches no ring until host UP
 *   host: waits for the ack (bounded: a peer that never answers does not
 *         hold it up), takes back everything it had lent, empties the
 *         four rings of every channel (moving only its own indices),
 *         host_state := UP
 *   peer: host UP in the epoch it acked: re-reads the host's ring
 *         indices, peer_state := UP, goes on
 *
 * A new peer asks for a reset by setting peer_state RESETTING and waits
 * for an epoch newer than the one it found at attach; a host end resets
 * when it starts, when it stops (so that everything is home at close) and
 * when it sees that request.
 *
 * Host functions run while no thread of the host end touches the link's
 * rings.  Peer functions run per data channel, from whatever thread serves
 * the channel (the peer's channels may be served by different threads). */
#ifndef VLINK_EPOCH_H
#define VLINK_EPOCH_H

#include <stdbool.h>
#include <stdint.h>

#include "vlink_linkmem.h"

/* Host end: open a new epoch (host_state RESETTING, host_epoch + 1; never
 * 0, which a new peer's state starts from, nor the host's own last epoch,
 * m->host_epoch, which becomes the new one).  Returns it.  Whether the peer
 * asks or is ready is judged against m->host_epoch, not the shared word,
 * which the peer can overwrite. */
uint32_t vlink_epoch_host_begin(struct vlink_linkmem *m);
/* Host end: wait up to timeout_ms for the peer to acknowledge `epoch`.
 * 0 when it did or when there is no peer (peer_state DOWN), -ETIMEDOUT
 * otherwise; `*stop` (may be NULL) becoming true ends the wait early with
 * -EINTR. */
int vlink_epoch_host_wait(const struct vlink_linkmem *m, uint32_t epoch, int timeout_ms,
			  const volatile bool *stop);
/* Host end: empty all four rings of every data channel by moving the
 * host's own index of each (rx and fill: head back to the peer's tail;
 * done and tx: tail up to the peer's head).  The caller takes back every
 * buffer it lent itself (its ledger says which). */
void vlink_epoch_host_clear(struct vlink_linkmem *m);
/* Host end: the epoch is open (UP) or the end goes away (DOWN). */
void vlink_epoch_host_set(struct vlink_linkmem *m, uint32_t state);
/* Peer end: it is leaving (LEAVING: giving its buffers back) or gone
 * (DOWN); vlink_epoch_peer_attach and _sync set RESETTING and UP. */
void vlink_epoch_peer_set(struct vlink_linkmem *m, uint32_t state);
/* Either end: an end's state word (VLINK_END_*), as the other one wrote it. */
uint32_t vlink_epoch_host_state(const struct vlink_linkmem *m);
uint32_t vlink_epoch_peer_state(const struct vlink_linkmem *m);
/* Does the peer ask for a reset (a new peer, or one that lost track)? */
bool vlink_epoch_peer_asks(const struct vlink_linkmem *m);
/* Is the peer up in the host's current epoch (what is lent now will be
 * seen, not voided by the reset a newcomer asks for)? */
bool vlink_epoch_peer_ready(const struct vlink_linkmem *m);

/* The peer end's side of it. */
struct vlink_epoch_peer {
	uint32_t stale;                 /* host_epoch at attach: not good enough */
	bool stale_set;
	uint32_t synced[VLINK_NCHANNELS_MAX]; /* per channel: epoch its rings are in
					   (0: none yet) */
	uint32_t seen[VLINK_NCHANNELS_MAX];   /* per channel: newest epoch its
					   thread has seen (atomic) */
	bool used[VLINK_NCHANNELS_MAX]; /* the channel has been served */
	uint32_t resets;                /* new epochs acked after the first one:
					   host restarts and resets (atomic) */
};

enum vlink_epoch_sync {
	VLINK_EPOCH_OK = 0,   /* in step with the host: go on */
	VLINK_EPOCH_WAIT = 1, /* the host is not up in an epoch we can use yet:
				 move nothing, call again */
};

/* Peer end, at attach: remember the epoch found (a new peer never joins
 * it: the buffers of that epoch may be its predecessor's) and ask the host
 * for a reset. */
void vlink_epoch_peer_attach(struct vlink_linkmem *m, struct vlink_epoch_peer *p);
/* Peer end, before moving anything on data channel ch (1-based; 0 for no
 * channel, as when waiting for the host with nothing held): checks
 * the host's epoch and state (two loads when nothing changed), acks a new
 * epoch once every channel in use has seen it, and re-reads the host's
 * indices of the channel's rings when the host opens it. */
enum vlink_epoch_sync vlink_epoch_peer_sync_slow(struct vlink_linkmem *m,
						 struct vlink_epoch_peer *p, unsigned ch);
static inline enum vlink_epoch_sync vlink_epoch_peer_sync(struct vlink_linkmem *m,
							  struct vlink_epoch_peer *p,
							  unsigned ch)
{
	/* every burst of the data path comes here: nothing changed is
	 * decided inline, the rest by the _slow function (which starts over) */
	uint32_t e = __atomic_load_n(&m->hdr->host_epoch, __ATOMIC_ACQUIRE);
	uint32_t hs = __atomic_load_n(&m->hdr->host_state, __ATOMIC_ACQUIRE);

	if (__builtin_expect(ch && hs == VLINK_END_UP && e != 0 &&
			     e == __atomic_load_n(&p->synced[ch - 1], __ATOMIC_RELAXED), 1))
		return VLINK_EPOCH_OK;
	return vlink_epoch_peer_sync_slow(m, p, ch);
}
/* The epoch channel ch is in step with (0: none). */
static inline uint32_t vlink_epoch_peer_current(const struct vlink_epoch_peer *p, unsigned ch)
{
	return __atomic_load_n(&p->synced[ch - 1], __ATOMIC_RELAXED);
}

#endif
