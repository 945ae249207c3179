/* A host end of a link without DPDK, for testing libvlinkguest and
 * vlink-peer (not installed).  It is a thin program over the code the PMD
 * runs: vlink_linkmem, and the host end's data path, reset and drain
 * (vlink_hostend, over the rings and the ledger); what differs is only
 * where buffers wait at home (a free stack here, an mbuf pool there) and
 * how packets are made and checked.
 *
 *   vlink-hostend SOCKET LINK send|recv|pingpong|latency COUNT [SIZE[-MAX]] [CHANNEL]
 *
 *   send      put COUNT packets on rx (the peer runs vlink-peer recv)
 *   recv      keep fill stocked, check COUNT packets from tx (vlink-peer send)
 *   pingpong  send COUNT packets and check that all come back on tx
 *             (vlink-peer echo)
 *   latency   COUNT round trips through vlink-peer echo, one packet at a
 *             time (SIZE, one buffer): send it, wait until it is back on
 *             tx (polling, or asleep with --event), then the gap of
 *             --gaps N,MS (N is taken as 1); the summary adds the round
 *             trips' p50, p99 and max (bench/events.sh)
 *
 * Every buffer the host lends is recorded in the ledger and every
 * descriptor coming back is checked by it; at the end the host waits until
 * every buffer is home and exits 0 only if every packet was intact, in
 * order, and the ledger is full with no error.
 *
 *   vlink-hostend --hostile SOCKET LINK recv ...
 *
 * The first peer is hostile (tests/vlink-evilpeer): until SIGUSR1, what
 * comes on tx is taken home but not counted, and the descriptors the
 * ledger refuses are reported but do not fail the run; SIGUSR1 starts the
 * count afresh for the well-behaved peer that follows.
 *
 *   vlink-hostend [--gaps N,MS] [--event] SOCKET LINK ...
 *
 * Event mode (the link's notifiers from vlinkd, as the PMD gets them):
 * sending wakes a peer asleep on rx, whatever the options.  --gaps N,MS:
 * send in bursts of N packets with MS milliseconds of idle between them
 * (the peer's receiver falls asleep in the gaps).  --event: while nothing
 * comes, sleep on the host end's own notifier of the channel (woken by
 * the peer's tx) instead of polling, 100 ms at most.  The summary says how
 * often it slept and signalled (always: a sending host end signals a peer
 * asleep whatever the options). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vlink_client.h"
#include "vlink_epoch.h"
#include "vlink_error.h"
#include "vlink_hostend.h"
#include "vlink_ledger.h"
#include "vlink_linkmem.h"
#include "vlink_notify.h"
#include "vlink_payload.h"
#include "vlink_valid.h"

#include "testtool.h"

#define BURST VLINK_HOSTEND_BURST

enum mode { SEND, RECV, PINGPONG, LATENCY };

struct host {
	struct vlink_linkmem m;
	struct vlink_ledger led;
	struct vlink_hostend he;   /* m and led, with the free stack as home */
	struct vlink_notify notify; /* event mode */
	uint32_t *free_bufs;       /* stack of buffer indexes at home */
	uint32_t nfree;
	unsigned ch;
	struct vlink_payload_rx rx; /* receive side */
	bool hostile;              /* --hostile, until SIGUSR1 */
	uint64_t err_base;         /* ledger errors when the hostile phase ended */
};

static volatile sig_atomic_t hostile_over;

static void on_usr1(int sig)
{
	(void)sig;
	hostile_over = 1;
}

static uint64_t buf_off(const struct host *h, uint32_t idx)
{
	return h->m.buf_offset + (uint64_t)idx * h->m.buf_size;
}

static void take_home(struct host *h, int64_t idx)
{
	if (idx >= 0)
		h->free_bufs[h->nfree++] = (uint32_t)idx;
}

static uint64_t bad_indices(const struct host *h)
{
	const struct vlink_linkmem_chan *c = &h->m.ch[h->ch - 1];

	return c->rx.bad_index + c->done.bad_index + c->fill.bad_index + c->tx.bad_index;
}

/* vlink_hostend's home: the free stack */
static void home_cb(void *arg, const int64_t *idx, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		take_home(arg, idx[i]);
}

/* vlink_hostend's get: the top of the free stack, for fill */
static unsigned get_cb(void *arg, struct vlink_desc *d, unsigned n)
{
	struct host *h = arg;
	unsigned k = 0;

	for (; k < n && h->nfree > 0; k++) {
		d[k].pool_offset = buf_off(h, h->free_bufs[--h->nfree]);
		d[k].data_off = 0;
	}
	return k;
}

/* Take back what the peer returned: done (unused) and tx (packets, checked
 * unless `check` is false).  Returns whether anything came. */
static bool reap(struct host *h, bool check)
{
	bool progress = false;
	struct vlink_desc d[BURST];
	int64_t idx[BURST];
	uint64_t bad = 0;
	uint32_t nfree = h->nfree;
	unsigned k;

	/* the ledger counts what it refuses */
	vlink_hostend_reap(&h->he, h->ch, 1);
	if (h->nfree != nfree)
		progress = true;
	k = vlink_hostend_recv(&h->he, h->ch, d, idx, BURST, &bad);
	for (unsigned i = 0; i < k; i++) {
		if (h->hostile) {
			take_home(h, idx[i]);
			continue;
		}
		if (idx[i] < 0) {
			/* a forged descriptor: never read, its packet is corrupt */
			vlink_payload_rx_add(&h->rx, NULL, 0, true);
			continue;
		}
		if (check)
			vlink_payload_rx_add(&h->rx,
					     vlink_xlate_ptr(&h->m.x, d[i].pool_offset +
							     d[i].data_off, d[i].len),
					     d[i].len, d[i].flags & VLINK_DESC_F_MORE);
		take_home(h, idx[i]);
	}
	return progress || k > 0;
}

/* The peer has left: what it never took from rx and fill is still in those
 * rings, between its tail and our head.  Take exactly those back (checked
 * by the ledger like anything else; vlink_hostend_drain, as the PMD does);
 * a buffer still lent after that was lost by the peer. */
static unsigned reclaim_unconsumed(struct host *h)
{
	int n = vlink_hostend_drain(&h->he, h->ch);

	if (n < 0) {
		fprintf(stderr, "vlink-hostend: out of memory\n");
		exit(1);
	}
	return (unsigned)n;
}

/* A new epoch (docs/design.md; vlink_hostend_reset, as the PMD does):
 * wait for the peer's ack, take back every buffer lent in the old one,
 * empty the rings, up.  Returns how many buffers were taken back. */
static unsigned host_reset(struct host *h)
{
	struct vlink_hostend_reset r;

	vlink_hostend_reset(&h->he, 2000, NULL, VLINK_END_UP, &r);
	if (r.wait)
		fprintf(stderr, "vlink-hostend: the peer did not acknowledge epoch %u in 2 s: "
			"taking its buffers back anyway\n", r.epoch);
	return r.reclaimed;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The latency mode: count round trips of one packet of `size` bytes (one
 * buffer) through the peer's echo, gap_ms apart, each timed from just
 * before vlink_hostend_send to the reap that finds it back on tx, into
 * us[] (microseconds).  0, or 1 when a packet was not back in 10 s. */
static int latency(struct host *h, uint64_t count, uint32_t size, unsigned gap_ms, bool event,
		   unsigned *sleeps, uint64_t *sent, uint64_t *bytes, double *us)
{
	static uint8_t pkt[VLINK_PAYLOAD_MAX];

	for (uint64_t i = 0; i < count; i++) {
		struct vlink_desc d = { .len = size };
		unsigned dup = 0;
		double t = tt_now(), t_send;
		uint64_t got = h->rx.got;

		/* a peer up in this epoch (a new one asks for a reset first) */
		while (!vlink_epoch_peer_ready(&h->m)) {
			if (vlink_epoch_peer_asks(&h->m))
				host_reset(h);
			if (tt_now() - t > 10)
				goto stuck;
			usleep(1000);
		}
		d.pool_offset = buf_off(h, h->free_bufs[--h->nfree]);
		vlink_payload_fill(pkt, size, i);
		memcpy(vlink_xlate_ptr(&h->m.x, d.pool_offset, size), pkt, size);
		t_send = tt_now();
		while (vlink_hostend_send(&h->he, h->ch, &d, 1, &dup) == 0)
			if (tt_now() - t_send > 10)
				goto stuck;
		(*sent)++;
		*bytes += size;
		while (h->rx.got == got) {
			if (reap(h, true))
				continue;
			if (tt_now() - t_send > 10)
				goto stuck;
			if (event && vlink_notify_wait(&h->notify, h->ch, &h->m.ch[h->ch - 1].tx,
						       100) >= 0)
				(*sleeps)++;
		}
		us[i] = (tt_now() - t_send) * 1e6;
		if (gap_ms)
			usleep(gap_ms * 1000);
	}
	return 0;
stuck:
	fprintf(stderr, "vlink-hostend: packet %" PRIu64 " not back in 10 s\n", *sent);
	return 1;
}

int main(int argc, char **argv)
{
	static uint8_t pkt[VLINK_PAYLOAD_MAX];
	struct vlink_desc pend[64];
	unsigned npend = 0;
	struct vlink_client *cl;
	struct host *h;
	enum mode mode;
	uint64_t count, sent = 0, bytes = 0;
	unsigned reclaimed = 0, reset_reclaimed = 0, resets = 0;
	bool peer_gone = false, event = false;
	unsigned gap_n = 0, gap_ms = 0, sleeps = 0;
	double gap_until = 0;
	uint32_t smin = 64, smax = 64;
	double t0, last, *us = NULL;
	int err, rc = 0;

	h = calloc(1, sizeof(*h));
	for (; argc > 1 && argv[1][0] == '-'; argv++, argc--) {
		if (!strcmp(argv[1], "--hostile")) {
			h->hostile = true;
			signal(SIGUSR1, on_usr1);
		} else if (!strcmp(argv[1], "--event")) {
			event = true;
		} else if (!strcmp(argv[1], "--gaps") && argc > 2 &&
			   sscanf(argv[2], "%u,%u", &gap_n, &gap_ms) == 2 && gap_n) {
			argv++;
			argc--;
		} else {
			fprintf(stderr, "vlink-hostend: unknown option or bad value: %s\n", argv[1]);
			return 2;
		}
	}
	if (argc < 5) {
		fprintf(stderr, "usage: vlink-hostend [--hostile] [--gaps N,MS] [--event] SOCKET "
			"LINK send|recv|pingpong|latency COUNT [SIZE[-MAX]] [CHANNEL]\n");
		return 2;
	}
	mode = !strcmp(argv[3], "send") ? SEND : !strcmp(argv[3], "recv") ? RECV :
	       !strcmp(argv[3], "latency") ? LATENCY : PINGPONG;
	count = strtoull(argv[4], NULL, 10);
	if (argc > 5 && sscanf(argv[5], "%u-%u", &smin, &smax) < 2)
		smax = smin;
	h->ch = argc > 6 ? (unsigned)atoi(argv[6]) : 1;

	if (tt_attach("vlink-hostend", argv[1], argv[2], true, 10000, &cl, &h->m, NULL))
		return 1;
	if (h->ch < 1 || h->ch > h->m.nch) {
		fprintf(stderr, "vlink-hostend: no channel %u: link %s has %u\n", h->ch, argv[2],
			h->m.nch);
		return 1;
	}
	if (mode == LATENCY && (smin < VLINK_PAYLOAD_MIN || smin > h->m.buf_size || !count ||
				!(us = malloc(count * sizeof(*us))))) {
		fprintf(stderr, "vlink-hostend: latency: a packet is one buffer of %u-%u B, and "
			"COUNT 1 or more\n", VLINK_PAYLOAD_MIN, h->m.buf_size);
		return 2;
	}
	err = vlink_ledger_init(&h->led, h->m.buf_offset, h->m.buf_area, h->m.buf_size);
	if (err) {
		fprintf(stderr, "vlink-hostend: ledger: %s\n", vlink_strerror(err));
		return 1;
	}
	err = vlink_notify_init(&h->notify, h->m.nch, true);
	if (!err) {
		char why[256];

		err = vlink_notify_fetch(&h->notify, cl, argv[2], 5000, why, sizeof(why));
		if (err)
			fprintf(stderr, "vlink-hostend: %s\n", why);
	}
	if (err)
		return 1;
	h->he = (struct vlink_hostend){ .m = &h->m, .led = &h->led, .home = home_cb,
					.arg = h, .get = get_cb, .notify = &h->notify };
	h->free_bufs = malloc(sizeof(uint32_t) * h->led.nbufs);
	for (uint32_t i = h->led.nbufs; i > 0; i--)
		h->free_bufs[h->nfree++] = i - 1;
	host_reset(h);
	fprintf(stderr, "vlink-hostend: host end of %s up: %u buffers of %u B, ring %u, "
		"channel %u, %s %" PRIu64 " packets of %u-%u B\n", argv[2], h->led.nbufs,
		h->m.buf_size, h->m.ring_size, h->ch, argv[3], count, smin, smax);

	t0 = last = tt_now();
	if (mode == LATENCY)
		rc = latency(h, count, smin, gap_ms, event, &sleeps, &sent, &bytes, us);
	while (mode != LATENCY) {
		bool progress;

		if (h->hostile && hostile_over) {
			h->hostile = false;
			h->err_base = vlink_ledger_errors(&h->led);
			memset(&h->rx, 0, sizeof(h->rx));
			fprintf(stderr, "vlink-hostend: hostile phase over: %" PRIu64 " bad "
				"descriptors refused, %" PRIu64 " impossible ring indices; counting "
				"afresh\n", h->err_base, bad_indices(h));
		}
		/* a new peer in place of one that left or died */
		if (vlink_epoch_peer_asks(&h->m)) {
			/* not lent yet: home */
			for (; npend > 0; npend--)
				take_home(h, vlink_ledger_index(&h->led,
								pend[npend - 1].pool_offset));
			reset_reclaimed += host_reset(h);
			resets++;
		}
		progress = reap(h, mode != SEND);
		/* lend only to a peer in this epoch: a newcomer's reset would
		 * void what is lent before */
		bool ready = vlink_epoch_peer_ready(&h->m);

		/* once everything is in, stop lending: the peer gives back */
		if (ready && mode == RECV && h->rx.got < count)
			vlink_hostend_refill(&h->he, h->ch);
		if (ready && mode != RECV && !h->hostile) {
			if (npend) {
				unsigned dup = 0;
				unsigned k = vlink_hostend_send(&h->he, h->ch, pend, npend, &dup);

				if (dup) {
					fprintf(stderr, "vlink-hostend: sent a buffer twice\n");
					exit(1);
				}
				npend -= k;
				memmove(pend, pend + k, npend * sizeof(*pend));
				progress |= k > 0;
			} else if (sent < count && gap_n && sent % gap_n == 0 && sent &&
				   gap_until == 0) {
				gap_until = tt_now() + gap_ms / 1000.0; /* a gap begins */
			} else if (sent < count && gap_until && tt_now() < gap_until) {
				progress = true;       /* a gap is not a stall */
			} else if (sent < count) {
				gap_until = 0;
				uint32_t size = smin + (uint32_t)((sent * 2654435761u) %
								  (smax - smin + 1));
				uint32_t room = h->m.buf_size, need = (size + room - 1) / room;

				if (h->nfree >= need) {
					vlink_payload_fill(pkt, size, sent);
					for (uint32_t i = 0; i < need; i++) {
						uint32_t idx = h->free_bufs[--h->nfree];
						uint32_t len = size - i * room < room ? size - i * room : room;
						uint64_t off = buf_off(h, idx);

						memcpy(vlink_xlate_ptr(&h->m.x, off, len),
						       pkt + (size_t)i * room, len);
						pend[npend].pool_offset = off;
						pend[npend].len = len;
						pend[npend].data_off = 0;
						pend[npend].flags = i + 1 < need ? VLINK_DESC_F_MORE : 0;
						npend++;
					}
					sent++;
					bytes += size;
					progress = true;
				}
			}
		}
		if (progress)
			last = tt_now();
		bool all_in = mode == SEND ? sent == count && !npend : h->rx.got >= count;

		if (all_in && h->led.lent && !peer_gone &&
		    vlink_epoch_peer_state(&h->m) == VLINK_END_DOWN) {
			reap(h, mode != SEND);
			reclaimed = reclaim_unconsumed(h);
			peer_gone = true;
		}
		if (all_in && h->led.lent == 0)
			break;
		if (tt_now() - last > 10) {
			fprintf(stderr, "vlink-hostend: stuck for 10 s (sent %" PRIu64 ", got %"
				PRIu64 ", %u buffers still lent)\n", sent, h->rx.got, h->led.lent);
			rc = 1;
			break;
		}
		if (!progress && event && !h->hostile && vlink_notify_wait(&h->notify, h->ch,
									  &h->m.ch[h->ch - 1].tx, 100) >= 0)
			sleeps++;
		else if (!progress || gap_until)
			usleep(gap_until ? 1000 : 0);
	}
	vlink_epoch_host_set(&h->m, VLINK_END_DOWN);
	printf("hostend: event mode: %u sleeps, %" PRIu64 " wake-ups sent to the peer\n",
	       sleeps, h->notify.signals);
	/* a sample per packet back (one buffer each) */
	uint64_t n = h->rx.got < sent ? h->rx.got : sent;

	if (mode == LATENCY && n) {
		qsort(us, n, sizeof(*us), cmp_double);
		/* nearest rank */
		printf("latency: %" PRIu64 " samples, p50 %.1f us, p99 %.1f us, max %.1f us\n",
		       n, us[(n * 50 + 99) / 100 - 1], us[(n * 99 + 99) / 100 - 1], us[n - 1]);
	}
	if (resets)
		printf("hostend: %u reset(s) asked by a new peer, %u buffer(s) taken back\n",
		       resets, reset_reclaimed);
	printf("hostend %s: sent %" PRIu64 " (%" PRIu64 " bytes), received %" PRIu64
	       " (%" PRIu64 " intact, %" PRIu64 " corrupt, %" PRIu64 " lost, %" PRIu64
	       " out of order) in %.3f s; ledger: %u of %u buffers home, %" PRIu64
	       " bad descriptors; %u taken back unconsumed from rx/fill after the peer "
	       "left\n", argv[3], sent, bytes, h->rx.got, h->rx.ok, h->rx.corrupt, h->rx.lost,
	       h->rx.reordered, tt_now() - t0, h->led.nbufs - h->led.lent, h->led.nbufs,
	       vlink_ledger_errors(&h->led) - h->err_base, reclaimed);
	if (h->err_base)
		printf("hostend: before that, a hostile peer: %" PRIu64 " bad descriptors refused "
		       "(out of area %" PRIu64 ", misaligned %" PRIu64 ", bad length %" PRIu64
		       ", not lent %" PRIu64 ", wrong channel %" PRIu64 "), %" PRIu64
		       " impossible ring indices\n", h->err_base,
		       h->led.errors[VLINK_LEDGER_OUT_OF_AREA], h->led.errors[VLINK_LEDGER_MISALIGNED],
		       h->led.errors[VLINK_LEDGER_BAD_LENGTH], h->led.errors[VLINK_LEDGER_NOT_LENT],
		       h->led.errors[VLINK_LEDGER_WRONG_CHANNEL], bad_indices(h));
	if (mode != SEND && (h->rx.got != count || h->rx.ok != count || h->rx.lost || h->rx.reordered))
		rc = 1;
	if (h->led.lent || vlink_ledger_errors(&h->led) != h->err_base || h->hostile)
		rc = 1;
	vlink_ledger_fini(&h->led);
	vlink_linkmem_unmap(&h->m);
	vlink_client_close(cl);
	free(h->free_bufs);
	free(h);
	free(us);
	return rc;
}
