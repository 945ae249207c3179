/* A blocking client of vlinkd, for vlinkctl, vlink-peer, libvlinkguest,
 * the PMD and the tests.  One request at a time; events that arrive while
 * a request waits for its reply are queued for vlink_client_event(). */
#ifndef VLINK_CLIENT_H
#define VLINK_CLIENT_H

#include "vlink_msg.h"

#define VLINK_DEFAULT_SOCKET "/run/vlink/vlinkd.sock"

/* A received message and the fds that came with it (owned). */
struct vlink_reply {
	Vlink__Envelope *env;
	unsigned nfds;
	int fds[VLINK_FRAME_MAX_FDS];
	/* a reply of several frames (Envelope.more): the next part, same kind
	 * of message (owned; NULL for the last part and for pushed messages) */
	struct vlink_reply *more;
};

/* The most frames one reply may take (64 MiB of LinkList: about 400,000
 * links); a longer one is refused with -EMSGSIZE. */
#define VLINK_REPLY_PARTS_MAX 1024

struct vlink_client;

/* $VLINK_SOCKET if set, else VLINK_DEFAULT_SOCKET. */
const char *vlink_default_socket(void);

/* Connect to `path` (NULL: the default), say Hello with `role` and `name`
 * and wait for HelloReply.  While the socket is missing or refuses, retry
 * until timeout_ms has passed (0: try once).  Negative errno on failure;
 * *out is NULL then and why[0..n) (if why is not NULL) says what failed,
 * in the daemon's words when it refused the connection. */
int vlink_client_open(struct vlink_client **out, const char *path,
		      Vlink__Role role, const char *name, int timeout_ms,
		      char *why, size_t n);
void vlink_client_close(struct vlink_client *c);
int vlink_client_fd(const struct vlink_client *c);
const Vlink__HelloReply *vlink_client_hello(const struct vlink_client *c);

/* Send `req` (its id is set here) and wait for the reply with the same id,
 * every part of it (rep->more) when it spans several frames.
 * 0 with *rep filled; -code when the daemon answered with an Error (its
 * text in vlink_client_error()); another negative errno on failure. */
int vlink_client_call(struct vlink_client *c, Vlink__Envelope *req,
		      struct vlink_reply *rep, int timeout_ms);
/* Ask for `end` of `link` (AttachLink): 0 with *rep a LinkMap, the link's
 * fds in rep->fds (for vlink_linkmem_map()); -code when vlinkd refused,
 * -EPROTO when it answered with anything else, another negative errno on
 * failure; vlink_client_error() says why. */
int vlink_client_attach(struct vlink_client *c, const char *link, Vlink__End end,
			struct vlink_reply *rep, int timeout_ms);
/* Next pushed message (Event, DomainMap, ...): 0 with *ev filled,
 * -ETIMEDOUT, or another negative errno (-ECONNRESET: daemon gone). */
int vlink_client_event(struct vlink_client *c, struct vlink_reply *ev,
		       int timeout_ms);
/* Text of the last failure: the daemon's Error message or a local one. */
const char *vlink_client_error(const struct vlink_client *c);

void vlink_reply_clear(struct vlink_reply *r);

#endif
