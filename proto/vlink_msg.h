/* Envelopes on frames: encode, decode, and check the maps clients build
 * their memory from. */
#ifndef VLINK_MSG_H
#define VLINK_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "vlink.pb-c.h"
#include "vlink_frame.h"

/* The protocol version clients send in Hello and the oldest the daemon
 * still speaks.  2: a reply may go on over several frames
 * (Envelope.more); a version 1 client gets one frame or an E2BIG Error.
 * 3: GetNotifiers (event mode); older daemons answer it with EPROTO. */
#define VLINK_PROTOCOL_VERSION 3
#define VLINK_PROTOCOL_MIN     1
/* The most a reply part's repeated fields may take: a frame's payload
 * less room for the envelope and the message's other fields. */
#define VLINK_PART_ROOM (VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE - 1024u)

/* Pack `env` and queue it on `w` with `nfds` fds (dup()ed). */
int vlink_msg_push(struct vlink_writer *w, const Vlink__Envelope *env,
		   const int *fds, unsigned nfds);
/* Take items[from..n) (messages of one repeated field) into a reply part
 * while they fit in *left bytes, which is reduced by what they take: the
 * index after the last item taken. */
size_t vlink_msg_part_fill(void *const *items, size_t from, size_t n, size_t *left);
/* Decode a frame's payload: 0 and *out (free with vlink_msg_free), or
 * -EBADMSG when it is not an Envelope with a message set. */
int vlink_msg_decode(const struct vlink_frame *f, Vlink__Envelope **out);
void vlink_msg_free(Vlink__Envelope *env);
/* The Envelope field name of a message ("create_link", "error", ...), for
 * logs and error texts. */
const char *vlink_msg_name(Vlink__Envelope__MsgCase c);

/* Check a DomainMap's or LinkMap's memory description against the fds of
 * its frame: every fd_index in range and used once, every fd of the frame
 * used, segments inside the pool, page aligned, not overlapping.  0 or
 * -EINVAL with a reason. */
int vlink_msg_check_map(uint64_t pool_size, size_t nseg,
			Vlink__Segment *const *segs, const Vlink__ChannelRegion *reg,
			unsigned nfds, char *why, size_t n);

/* Check a Notifiers message (one frame of nfds fds) for link: every entry
 * names link, a channel in 1..nch not seen before (*seen: bit ch - 1,
 * accumulated over the frames of one reply; 64 channels at most) and two
 * distinct fd indexes in range, used once.  0 or -EPROTO with why.  The
 * client's vlink_notify_fetch() and QEMU's device use it. */
int vlink_msg_check_notifiers(const Vlink__Notifiers *m, unsigned nfds, const char *link,
			      unsigned nch, uint64_t *seen, char *why, size_t len);

#endif
