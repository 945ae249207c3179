/* libvlinkguest internals shared by socket mode (vlink_guest.c) and guest
 * mode (vlink_guest_pci.c).  Not installed. */
#ifndef VLINK_GUEST_INT_H
#define VLINK_GUEST_INT_H

#include <errno.h>

#include "vlink_epoch.h"
#include "vlink_guest.h"
#include "vlink_linkmem.h"
#include "vlink_notify.h"

/* Guest mode polls the device's GENERATION register from the data path
 * once every this many calls (rx_burst, tx_alloc, tx_burst, free,
 * reflect) on a channel, and on every vlink_guest_poll() and wait_host()
 * round.  Channels may be served by different threads: the counters are
 * per channel, `dead` and `unmapped` are read and written atomically, and
 * one poll runs at a time (a thread that finds one running goes on). */
#define VLINK_GUEST_POLL_CALLS 1024

/* The most descriptors one data-path call moves. */
#define VLINK_GUEST_BURST_MAX 64

struct vlink_guest_pci;

struct vlink_guest_link {
	/* socket mode: the daemon connection (NULL while vlinkd is away),
	 * and what vlink_guest_poll() needs to attach again */
	struct vlink_client *cl;
	char *socket;                   /* the daemon's socket path */
	char link[VLINK_NAME_MAX + 1];
	uint64_t retry_at;              /* monotonic ms: next re-attach try */
	unsigned backoff_ms;            /* and the wait after a failed one */
	uint64_t reconnects;            /* read by vlink_guest_stats() from any */
	uint64_t daemon_losses;         /* thread: atomic */
	struct vlink_guest_pci *pci;    /* guest mode: the device */
	struct vlink_guest_info info;
	struct vlink_linkmem m;
	struct vlink_epoch_peer ep;     /* where this end is in the host's epochs */
	struct vlink_guest_stats st[VLINK_NCHANNELS_MAX];
	int dead;                       /* a negative errno once the link is gone
					   (deleted, or its memory rebuilt under
					   it): every call returns it */
	bool observer;                  /* read-only handle: no data path */
	bool unmapped;                  /* guest mode: the device's memory is
					   not mapped right now (data path
					   returns 0 until it is) */
	bool polling;                   /* a poll is running */
	unsigned calls[VLINK_NCHANNELS_MAX]; /* data-path calls per channel
					   since that channel's last poll */
	struct vlink_notify notify;     /* event mode: vlinkd's notifiers (live
					   once it gave them), or in guest mode
					   the device's (vlink_notify_init_dev) */
};

/* Guest mode: poll the device, updating l->dead and l->unmapped; returns
 * vlink_guest_poll()'s value. */
int vlink_guest_pci_poll(struct vlink_guest_link *l);
void vlink_guest_pci_close(struct vlink_guest_link *l);

/* The data path's gate: 0 to go on, 1 to return 0 packets (the memory is
 * not mapped just now, or the host is not up in our epoch yet), or a
 * negative errno (dead, or an observer). */
static inline int vlink_guest_gate(struct vlink_guest_link *l, unsigned ch)
{
	int dead = __atomic_load_n(&l->dead, __ATOMIC_RELAXED);

	if (dead)
		return dead;
	if (l->observer)
		return -EPERM;
	if (l->pci && (++l->calls[ch - 1] >= VLINK_GUEST_POLL_CALLS ||
		       __atomic_load_n(&l->unmapped, __ATOMIC_RELAXED))) {
		int err;

		l->calls[ch - 1] = 0;
		err = vlink_guest_pci_poll(l);
		if (err < 0 && err != -EAGAIN)
			return err;
		if (__atomic_load_n(&l->unmapped, __ATOMIC_RELAXED))
			return 1;
	}
	return vlink_epoch_peer_sync(&l->m, &l->ep, ch) == VLINK_EPOCH_OK ? 0 : 1;
}

#endif
