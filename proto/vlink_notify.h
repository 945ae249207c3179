/* One end's notifiers of a link, for event mode (docs/shm.md "Sleeping",
 * docs/protocol.md "Notifiers").  vlinkd makes two eventfds per data
 * channel; an end sleeps on its own ("mine": wake_host for the host end)
 * after vlink_ring_sleep_begin() and writes the other end's ("theirs")
 * when vlink_ring_wake_due() says so.
 *
 * The fd numbers here never change: before vlinkd's notifiers come they
 * are private eventfds (a signal goes nowhere, a wait waits for a timeout
 * or a swap), and vlink_notify_swap() puts vlinkd's (new ones after it
 * restarted) onto the same numbers with dup3().  So a data thread may
 * signal and drain while a control thread swaps, and an application that
 * registered an fd in its epoll once (DPDK's rx interrupts) keeps it:
 * what it waits on is wait[] (an epoll fd holding mine[], re-armed at each
 * swap), never mine[] itself.  After a swap each end signals both of the
 * channel's notifiers once, so a wake-up written to the old ones while
 * the ends swapped is not lost (it costs a spurious wake at most). */
#ifndef VLINK_NOTIFY_H
#define VLINK_NOTIFY_H

#include <stdbool.h>

#include "vlink_client.h"

struct vlink_notify {
	unsigned nch;           /* data channels (1..) */
	bool host;              /* this end is the host end */
	bool live;              /* vlinkd's notifiers are in (a swap succeeded) */
	int *mine;              /* [ch - 1]: the eventfd this end sleeps on */
	int *theirs;            /* [ch - 1]: the eventfd the other end sleeps on */
	int *wait;              /* [ch - 1]: an epoll fd holding mine[ch - 1] */
};

/* Private eventfds and wait fds for nch channels.  0 or -errno. */
int vlink_notify_init(struct vlink_notify *n, unsigned nch, bool host);
/* Close them all (a zeroed struct is fine). */
void vlink_notify_fini(struct vlink_notify *n);

/* Put channel ch's new notifiers in (the fds become n's: they are closed
 * here, on every path), re-arm its wait fd and signal both.  0 or -errno
 * (the channel keeps its old ones then). */
int vlink_notify_swap(struct vlink_notify *n, unsigned ch, int wake_host, int wake_peer);

/* Ask vlinkd for the attached link's notifiers (GetNotifiers) and swap
 * them all in: 0, or -errno and why[0..len) saying what failed (-EPROTO
 * also when vlinkd is too old to have them).  A reply that is not whole
 * and right swaps nothing. */
int vlink_notify_fetch(struct vlink_notify *n, struct vlink_client *c, const char *link,
		       int timeout_ms, char *why, size_t len);

/* Wake the other end on channel ch (after vlink_ring_wake_due()). */
void vlink_notify_signal(const struct vlink_notify *n, unsigned ch);
/* Consume pending signals on this end's notifier of channel ch. */
void vlink_notify_drain(const struct vlink_notify *n, unsigned ch);
/* Sleep until channel ch is signalled or timeout_ms passes (-1: no
 * limit): 1 signalled, 0 timed out, -errno (-EINTR: a signal handler
 * ran).  The caller has called vlink_ring_sleep_begin(); it drains. */
int vlink_notify_wait(const struct vlink_notify *n, unsigned ch, int timeout_ms);

#endif
