/* vlink-peer: the peer end of a vlink link from the command line, through
 * libvlinkguest: list links, echo packets back (zero copy), send and receive
 * sequence-numbered packets whose every byte is checked.  See --help. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
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
#include "vlink_guest.h"
#include "vlink_linkmem.h"
#include "vlink_payload.h"
#include "vlink_valid.h"

#define BURST 32

static volatile sig_atomic_t stop;

struct opts {
	const char *socket;
	bool pci;                  /* guest mode (--pci) */
	const char *pci_dev;       /* --pci=ADDR or path; NULL: find it */
	const char *link;
	unsigned channel;          /* 0: every channel (echo) */
	uint64_t count;            /* 0: no limit */
	uint32_t size_min, size_max;
	uint64_t rate;             /* packets per second, 0: as fast as possible */
	uint64_t first;            /* send: sequence number of the first packet */
	unsigned timeout;          /* seconds without progress before giving up */
	unsigned wait;             /* seconds to wait for the daemon and host */
	bool quiet;
	enum { MODE_ADAPTIVE, MODE_POLL, MODE_EVENT } mode; /* echo, recv: idle */
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char usage[] =
	"Usage: vlink-peer [--socket PATH | --pci[=ADDR]] COMMAND [OPTIONS]\n"
	"The peer end of a vlink link: through vlinkd (socket mode, the default)\n"
	"or, inside a VM, through the pci-vlink device (guest mode, --pci).\n"
	"\n"
	"Commands:\n"
	"  list                     the links vlinkd knows (guest mode: the links\n"
	"                           in the device's link table)\n"
	"  echo LINK                send every received packet straight back\n"
	"                           (zero copy), on every data channel\n"
	"  send LINK --count N --size S[-MAX] [--rate R] [--first SEQ]\n"
	"                           send N sequence-numbered packets of S bytes\n"
	"                           (or sizes cycling from S to MAX)\n"
	"  recv LINK --count N      receive N packets, check sequence and every\n"
	"                           byte, report loss and corruption\n"
	"  stats LINK               the state of both ends and, per data channel,\n"
	"                           what each ring has carried (read from the\n"
	"                           link's memory: works while another process\n"
	"                           is the peer)\n"
	"  device                   guest mode: the device's registers (status,\n"
	"                           generation, connects, sizes, domain)\n"
	"\n"
	"Options:\n"
	"  -p, --pci[=ADDR]         guest mode: the pci-vlink device at PCI address\n"
	"                           ADDR (0000:00:04.0) or sysfs path ADDR; without\n"
	"                           ADDR, the first device whose domain has the link\n"
	"  -s, --socket PATH        vlinkd's socket (default $VLINK_SOCKET or\n"
	"                           " VLINK_DEFAULT_SOCKET ")\n"
	"  -c, --channel N          data channel for send/recv (default 1); for\n"
	"                           echo, only this channel (default: all)\n"
	"  -n, --count N            packets (echo: stop after N; default no limit)\n"
	"  -z, --size S[-MAX]       packet size in bytes, 16-65536 (default 64)\n"
	"  -r, --rate R             packets per second (default: as fast as possible)\n"
	"  -f, --first SEQ          send: sequence number of the first packet\n"
	"                           (default 0; a restarted sender goes on)\n"
	"  -t, --timeout SECONDS    give up after this long without progress\n"
	"                           (default 10)\n"
	"  -w, --wait SECONDS       wait this long for vlinkd and the host end\n"
	"                           (default 30)\n"
	"  -m, --mode MODE          echo, recv: what an idle channel does: poll\n"
	"                           (spin), event (sleep until the host end\n"
	"                           sends, after 50 us without packets), adaptive\n"
	"                           (poll while busy, sleep after 1 ms without\n"
	"                           packets; the default).  Sleeping needs\n"
	"                           vlinkd's notifiers, in guest mode the device\n"
	"                           bound to uio_pci_generic; else it polls\n"
	"  -q, --quiet              no progress lines\n"
	"  -h, --help               this text\n"
	"\n"
	"A progress line goes to stderr every second; the summary to stdout.  In\n"
	"guest mode a line also says when the device's generation changed (vlinkd\n"
	"reconnected, links changed) and the link was found unchanged.\n"
	"Exit status: 0 done (recv: every packet, in order, intact), 1 failed,\n"
	"2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vlink-peer: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vlink-peer --help'.\n");
	return 2;
}

static int parse_sizes(const char *s, struct opts *o)
{
	char buf[64], *dash;
	uint64_t a, b;

	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (vlink_parse_uint(buf, VLINK_PAYLOAD_MAX, &a))
		return -1;
	b = a;
	if (dash && vlink_parse_uint(dash + 1, VLINK_PAYLOAD_MAX, &b))
		return -1;
	if (a < VLINK_PAYLOAD_MIN || b < a)
		return -1;
	o->size_min = (uint32_t)a;
	o->size_max = (uint32_t)b;
	return 0;
}

/* what libvlinkguest's "link gone" errors mean */
static const char *gone_text(int err)
{
	return err == -ENOLINK ? "the link was deleted" :
	       err == -ESTALE ? "the link changed under us (deleted and created again, or "
				"its memory rebuilt): open it again" : vlink_strerror(err);
}

static struct vlink_guest_link *attach(const struct opts *o)
{
	struct vlink_guest_link *l;
	char why[512];
	int err = o->pci ? vlink_guest_open_pci(&l, o->pci_dev, o->link, (int)o->wait * 1000,
						why, sizeof(why)) :
			   vlink_guest_open_socket(&l, o->socket, o->link, (int)o->wait * 1000,
						   why, sizeof(why));

	if (err) {
		fprintf(stderr, "vlink-peer: cannot attach to link %s: %s\n", o->link, why);
		return NULL;
	}
	if (o->channel && (o->channel > vlink_guest_info(l)->nchannels)) {
		fprintf(stderr, "vlink-peer: link %s has data channels 1-%u, not %u\n",
			o->link, vlink_guest_info(l)->nchannels, o->channel);
		vlink_guest_close(l);
		return NULL;
	}
	if (o->size_max > vlink_guest_info(l)->mtu + VLINK_L2_OVERHEAD) {
		fprintf(stderr, "vlink-peer: packets of up to %u B do not fit link %s: its MTU "
			"is %u (packets of at most %u B)\n", o->size_max, o->link,
			vlink_guest_info(l)->mtu, vlink_guest_info(l)->mtu + VLINK_L2_OVERHEAD);
		vlink_guest_close(l);
		return NULL;
	}
	if (!o->quiet)
		fprintf(stderr, "vlink-peer: attached to %s (domain %s, %u channel(s), ring %u, "
			"buffers of %u B, MTU %u); waiting for the host end\n", o->link,
			vlink_guest_info(l)->domain, vlink_guest_info(l)->nchannels,
			vlink_guest_info(l)->ring_size, vlink_guest_info(l)->buf_size,
			vlink_guest_info(l)->mtu);
	/* in slices, so that a signal ends the wait */
	for (double t0 = now();;) {
		err = vlink_guest_wait_host(l, 100);
		if (err != -ETIMEDOUT || stop || now() - t0 >= o->wait)
			break;
	}
	if (err) {
		if (stop)
			fprintf(stderr, "vlink-peer: interrupted while waiting for the host end\n");
		else if (err == -ETIMEDOUT)
			fprintf(stderr, "vlink-peer: the host end of %s did not come up in %u s\n",
				o->link, o->wait);
		else
			fprintf(stderr, "vlink-peer: link %s: %s\n", o->link, gone_text(err));
		vlink_guest_close(l);
		return NULL;
	}
	return l;
}

struct progress {
	const char *what;
	double start, last;
	uint64_t last_n;
	bool quiet;
	struct vlink_guest_link *l;
	uint64_t refreshes;        /* guest mode: generation changes reported */
	int dead;                  /* the link went away (a negative errno) */
	const struct vlink_payload_rx *rx; /* recv: its tally goes on the line */
};

static int link_gone(struct progress *p, int err)
{
	if (!p->dead)
		fprintf(stderr, "vlink-peer: link %s: %s\n",
			p->l ? vlink_guest_info(p->l)->name : "?", gone_text(err));
	p->dead = err;
	return err;
}

/* Once a second: the progress line, and a look at the link (guest mode:
 * the device's generation).  Returns 0, or the error that ended the link
 * (also kept in p->dead). */
static int progress(struct progress *p, uint64_t n, uint64_t bytes)
{
	struct vlink_guest_dev d;
	double t = now();
	int err;

	if (t - p->last < 1.0)
		return p->dead;
	if (!p->quiet && p->rx)
		fprintf(stderr, "vlink-peer %s: %" PRIu64 " packets, %.0f pkt/s, %.1f MB total; "
			"%" PRIu64 " intact, %" PRIu64 " corrupt, %" PRIu64 " lost, %" PRIu64
			" out of order\n", p->what, n, (double)(n - p->last_n) / (t - p->last),
			bytes / 1e6, p->rx->ok, p->rx->corrupt, p->rx->lost, p->rx->reordered);
	else if (!p->quiet)
		fprintf(stderr, "vlink-peer %s: %" PRIu64 " packets, %.0f pkt/s, %.1f MB total\n",
			p->what, n, (double)(n - p->last_n) / (t - p->last), bytes / 1e6);
	p->last = t;
	p->last_n = n;
	if (!p->l)
		return 0;
	err = vlink_guest_poll(p->l);
	if (err < 0 && err != -EAGAIN)
		return link_gone(p, err);
	if (vlink_guest_dev_info(p->l, &d) == 0 && d.refreshes != p->refreshes) {
		p->refreshes = d.refreshes;
		fprintf(stderr, "vlink-peer: device %s generation %u (connects %u): link %s "
			"checked, unchanged\n", d.addr, d.seen_generation, d.connects,
			vlink_guest_info(p->l)->name);
	}
	return 0;
}

/* Channels lo..hi had nothing to receive.  Poll mode (and a handle
 * without notifiers): yield and come back.  Event mode once they have been
 * idle for EVENT_SPIN (50 us: one yield), adaptive mode after
 * ADAPTIVE_IDLE (1 ms):
 * sleep until the host end sends on one of them, 100 ms at most (the
 * progress line and the look at the link go on).  *idle_since: when they
 * went idle (0: busy). */
#define ADAPTIVE_IDLE 0.001
#define EVENT_SPIN 0.00005
#define SLEEP_MAX_MS 100
static void idle_wait(const struct opts *o, struct vlink_guest_link *l, unsigned lo, unsigned hi,
		 double *idle_since)
{
	struct pollfd pf[64];
	unsigned n = 0;

	if (*idle_since == 0)
		*idle_since = now();
	/* event mode yields once before it sleeps: a producer only a little
	 * slower than this receiver leaves the ring empty for microseconds at
	 * a time, and a sleep for each of those would cost it a signal (some
	 * 5 us) and this end a wake-up.  (A yield rather than a spin: a
	 * receiver spinning on the producer's cache line slows the producer.) */
	if (o->mode == MODE_POLL || vlink_guest_event_fd(l, lo) < 0 ||
	    (o->mode == MODE_EVENT && now() - *idle_since < EVENT_SPIN) ||
	    (o->mode == MODE_ADAPTIVE && now() - *idle_since < ADAPTIVE_IDLE)) {
		usleep(0);
		return;
	}
	if (lo == hi) {
		if (vlink_guest_wait(l, lo, SLEEP_MAX_MS) > 0)
			*idle_since = 0;
		return;
	}
	for (unsigned ch = lo; ch <= hi; ch++) {
		if (vlink_guest_event_arm(l, ch) < 0)
			break;
		pf[n].fd = vlink_guest_event_fd(l, ch);
		pf[n++].events = POLLIN;
	}
	if (n == hi - lo + 1 && poll(pf, n, SLEEP_MAX_MS) > 0)
		*idle_since = 0;
	for (unsigned ch = lo; ch < lo + n; ch++)
		vlink_guest_event_disarm(l, ch);
}

/* The summary's event-mode line (also in poll mode when this end woke a
 * host end asleep in its receive). */
static void print_events(const char *what, const struct opts *o, const struct vlink_guest_stats *st)
{
	if (o->mode != MODE_POLL || st->wakeups)
		printf("%s: %" PRIu64 " sleeps, %" PRIu64 " late, %" PRIu64 " wake-ups sent to "
		       "the host end\n", what, st->sleeps, st->late, st->wakeups);
}

/* At exit: hand buffers back unsent, waiting a second at most for room on
 * the ring (a host end that is gone takes them back at its next epoch). */
static void free_all(struct vlink_guest_link *l, unsigned ch, const struct vlink_guest_pkt *p,
		     unsigned n)
{
	double t0 = now();

	while (n) {
		int r = vlink_guest_free(l, ch, p, n);

		if (r < 0 || (r == 0 && now() - t0 > 1.0))
			return;
		p += r;
		n -= (unsigned)r;
	}
}

static int cmd_echo(const struct opts *o)
{
	struct vlink_guest_pkt pend[64][BURST];
	unsigned npend[64] = { 0 };
	struct progress pr = { .what = "echo", .start = now(), .last = now(),
				.quiet = o->quiet };
	struct vlink_guest_link *l = attach(o);
	struct vlink_guest_stats st;
	unsigned lo, hi;
	uint64_t n = 0;
	double idle_since = 0;

	if (!l)
		return 1;
	pr.l = l;
	lo = o->channel ? o->channel : 1;
	hi = o->channel ? o->channel : vlink_guest_info(l)->nchannels;
	/* n counts descriptors: a chained packet is several */
	while (!stop && !pr.dead && (!o->count || n < o->count)) {
		bool idle = true;

		for (unsigned ch = lo; ch <= hi && !pr.dead; ch++) {
			struct vlink_guest_pkt *p = pend[ch - 1];
			int k;

			if (npend[ch - 1] == 0) {
				k = vlink_guest_rx_burst(l, ch, p, BURST);
				if (k < 0)
					link_gone(&pr, k);
				if (k <= 0)
					continue;
				npend[ch - 1] = (unsigned)k;
			}
			k = vlink_guest_reflect(l, ch, p, npend[ch - 1]);
			if (k < 0)
				link_gone(&pr, k);
			if (k > 0) {
				idle = false;
				n += (unsigned)k;
				npend[ch - 1] -= (unsigned)k;
				memmove(p, p + k, npend[ch - 1] * sizeof(*p));
			}
		}
		if (idle)
			idle_wait(o, l, lo, hi, &idle_since);
		else
			idle_since = 0;
		vlink_guest_stats(l, &st);
		progress(&pr, n, st.tx_bytes);
	}
	/* what was received and not yet sent back goes back unsent */
	for (unsigned ch = lo; ch <= hi && !pr.dead; ch++)
		if (npend[ch - 1])
			free_all(l, ch, pend[ch - 1], npend[ch - 1]);
	vlink_guest_stats(l, &st);
	printf("echo: %" PRIu64 " descriptors (%" PRIu64 " bytes) sent back, %" PRIu64
	       " bad descriptors\n", st.tx_pkts, st.tx_bytes, st.bad_desc);
	print_events("echo", o, &st);
	vlink_guest_close(l);
	return pr.dead ? 1 : 0;
}

static uint32_t size_of(const struct opts *o, uint64_t seq)
{
	uint32_t span = o->size_max - o->size_min + 1;

	/* spread sizes over the range without division on the fast path */
	return o->size_min + (uint32_t)((seq * 2654435761u) % span);
}

static int cmd_send(const struct opts *o)
{
	static uint8_t pkt[VLINK_PAYLOAD_MAX];
	struct vlink_guest_pkt have[BURST * 2], out[64];
	unsigned nhave = 0, nout = 0, ch = o->channel ? o->channel : 1;
	struct progress pr = { .what = "send", .start = now(), .last = now(),
				.quiet = o->quiet };
	struct vlink_guest_link *l = attach(o);
	struct vlink_guest_stats st;
	double t0 = now(), last_progress = t0;
	uint64_t seq = 0, bytes = 0;
	uint32_t room;

	if (!l)
		return 1;
	pr.l = l;
	room = vlink_guest_info(l)->buf_size;
	while (!stop && (seq < o->count || nout)) {
		if (progress(&pr, seq, bytes))
			break;
		/* what the tx ring did not take goes first, in order */
		if (nout) {
			int k = vlink_guest_tx_burst(l, ch, out, nout);

			if (k < 0) {
				link_gone(&pr, k);
				break;
			}
			if (k > 0) {
				nout -= (unsigned)k;
				memmove(out, out + k, nout * sizeof(*out));
				last_progress = now();
			} else if (now() - last_progress > o->timeout) {
				break;
			}
			continue;
		}
		if (o->rate && seq > (uint64_t)((now() - t0) * (double)o->rate)) {
			usleep(100);
			continue;
		}
		uint32_t size = size_of(o, o->first + seq);
		unsigned need = (size + room - 1) / room;

		while (nhave < need) {
			int k = vlink_guest_tx_alloc(l, ch, have + nhave,
						     sizeof(have) / sizeof(have[0]) - nhave);

			if (k < 0)
				link_gone(&pr, k);
			if (k <= 0)
				break;
			nhave += (unsigned)k;
		}
		if (pr.dead)
			break;
		if (nhave < need) {
			if (now() - last_progress > o->timeout)
				break;
			usleep(0);
			continue;
		}
		vlink_payload_fill(pkt, size, o->first + seq);
		for (unsigned i = 0; i < need; i++) {
			/* keep the host's headroom only where the packet fits */
			if (need > 1 || size > have[i].room) {
				have[i].data = (uint8_t *)have[i].data - have[i].data_off;
				have[i].room += have[i].data_off;
				have[i].data_off = 0;
			}
			uint32_t len = size - i * room < room ? size - i * room : room;

			memcpy(have[i].data, pkt + (size_t)i * room, len);
			have[i].len = len;
			have[i].flags = i + 1 < need ? VLINK_GUEST_F_MORE : 0;
			out[nout++] = have[i];
		}
		nhave -= need;
		memmove(have, have + need, nhave * sizeof(*have));
		seq++;
		bytes += size;
		last_progress = now();
	}
	/* interrupted or timed out: what was filled but not sent goes back
	 * unsent (the receiver sees a gap, not a packet cut short) */
	if (!pr.dead) {
		free_all(l, ch, out, nout);
		free_all(l, ch, have, nhave);
	}
	vlink_guest_stats(l, &st);
	printf("send: %" PRIu64 " packets (%" PRIu64 " bytes) in %.3f s, %" PRIu64
	       " descriptors\n", seq, bytes, now() - t0, st.tx_pkts);
	/* tx_burst wakes a host end asleep in its receive */
	if (vlink_guest_event_fd(l, ch) >= 0)
		printf("send: %" PRIu64 " wake-ups sent to the host end\n", st.wakeups);
	vlink_guest_close(l);
	if (seq < o->count || nout) {
		fprintf(stderr, "vlink-peer: send stopped after %" PRIu64 " of %" PRIu64
			" packets (%s)\n", seq, o->count,
			stop ? "interrupted" : pr.dead ? gone_text(pr.dead) :
			"no buffers or ring space for too long");
		return 1;
	}
	return 0;
}

static int cmd_recv(const struct opts *o)
{
	static struct vlink_payload_rx rx;
	struct vlink_guest_pkt p[BURST];
	struct progress pr = { .what = "recv", .start = now(), .last = now(),
				.quiet = o->quiet, .rx = &rx };
	struct vlink_guest_link *l = attach(o);
	unsigned ch = o->channel ? o->channel : 1;
	double t0 = now(), last = t0, idle_since = 0;
	uint32_t epoch = 0;        /* of the packet being gathered */
	struct vlink_guest_stats st;

	if (!l)
		return 1;
	pr.l = l;
	while (!stop && rx.got < o->count) {
		int k;

		if (progress(&pr, rx.got, rx.bytes))
			break;
		k = vlink_guest_rx_burst(l, ch, p, BURST);
		if (k < 0) {
			link_gone(&pr, k);
			break;
		}
		if (k == 0) {
			if (now() - last > o->timeout)
				break;
			idle_wait(o, l, ch, ch, &idle_since);
			continue;
		}
		last = now();
		idle_since = 0;
		for (int i = 0; i < k; i++) {
			/* a reset in the middle of a chain: its head is void */
			if (p[i].epoch != epoch)
				vlink_payload_rx_abort(&rx);
			epoch = p[i].epoch;
			vlink_payload_rx_add(&rx, p[i].data, p[i].len,
					     p[i].flags & VLINK_GUEST_F_MORE);
		}
		/* checked: the buffers go back */
		for (int done = 0; done < k;) {
			int r = vlink_guest_free(l, ch, p + done, (unsigned)(k - done));

			if (r < 0) {
				link_gone(&pr, r);
				break;
			}
			if (r > 0)
				done += r;
			else
				usleep(0);
		}
	}
	if (rx.got < o->count && rx.expect < o->count && !stop)
		rx.lost += o->count - (rx.expect > rx.got ? rx.expect : rx.got);
	printf("recv: %" PRIu64 " packets (%" PRIu64 " bytes) in %.3f s: %" PRIu64
	       " intact, %" PRIu64 " corrupt, %" PRIu64 " lost, %" PRIu64 " out of order\n",
	       rx.got, rx.bytes, now() - t0, rx.ok, rx.corrupt, rx.lost, rx.reordered);
	vlink_guest_stats(l, &st);
	print_events("recv", o, &st);
	if (st.resets || rx.aborted)
		printf("recv: %" PRIu64 " reset(s) of the link, %" PRIu64 " partial packet(s) "
		       "dropped\n", st.resets, rx.aborted);
	vlink_guest_close(l);
	return rx.got == o->count && rx.ok == rx.got && !rx.lost && !rx.reordered ? 0 : 1;
}

static const char *state_name(uint32_t st)
{
	return st == VLINK_END_UP ? "up" : st == VLINK_END_RESETTING ? "resetting" :
	       st == VLINK_END_LEAVING ? "leaving" : "down";
}

static void print_rings(unsigned ch, const struct vlink_guest_ring_state r[4],
			uint32_t ring_size)
{
	static const char *const names[4] = { "rx", "done", "fill", "tx" };

	for (int k = 0; k < 4; k++)
		printf("%-8u %-5s %12u %12u %8u%s\n", ch, names[k], r[k].head, r[k].tail,
		       r[k].head - r[k].tail,
		       r[k].head - r[k].tail > ring_size ? "  (corrupt)" : "");
}

/* stats in guest mode: the link's memory through the device, as an
 * observer (the peer end may be another process in this guest) */
static int cmd_stats_pci(const struct opts *o)
{
	struct vlink_guest_link *l;
	const struct vlink_guest_info *i;
	struct vlink_guest_state s;
	struct vlink_guest_dev d;
	char why[512];
	int err = vlink_guest_observe_pci(&l, o->pci_dev, o->link, (int)o->wait * 1000, why,
					  sizeof(why));

	if (err) {
		fprintf(stderr, "vlink-peer: cannot observe link %s: %s\n", o->link, why);
		return 1;
	}
	i = vlink_guest_info(l);
	vlink_guest_dev_info(l, &d);
	vlink_guest_state(l, &s);
	printf("link %s (domain %s, %s): %u data channel(s), ring %u, buffers of %u B; "
	       "device %s generation %u\n", i->name, i->domain, i->mac, i->nchannels,
	       i->ring_size, i->buf_size, d.addr, d.generation);
	printf("host end: %s, epoch %u; peer end: %s, acked epoch %u\n",
	       state_name(s.host_state), s.host_epoch, state_name(s.peer_state),
	       s.peer_ack_epoch);
	printf("%-8s %-5s %12s %12s %8s   (descriptors, 32-bit counters)\n", "channel",
	       "ring", "produced", "consumed", "waiting");
	for (unsigned ch = 1; ch <= i->nchannels; ch++) {
		struct vlink_guest_ring_state r[4];

		vlink_guest_ring_state(l, ch, r);
		print_rings(ch, r, i->ring_size);
	}
	vlink_guest_close(l);
	return 0;
}

/* The free-running ring indices are the link's counters: rx head is what
 * the host has sent, rx tail what the peer has taken, and so on. */
static int cmd_stats(const struct opts *o)
{
	static struct vlink_linkmem lm;
	struct vlink_client *c;
	struct vlink_reply rep;
	char why[512];
	int err;

	if (o->pci)
		return cmd_stats_pci(o);
	err = vlink_client_open(&c, o->socket, VLINK__ROLE__ROLE_ADMIN, "vlink-peer stats",
				(int)o->wait * 1000, why, sizeof(why));
	if (err) {
		fprintf(stderr, "vlink-peer: %s\n", why);
		return 1;
	}
	err = vlink_client_attach(c, o->link, VLINK__END__END_OBSERVER, &rep, 10000);
	if (err) {
		fprintf(stderr, "vlink-peer: cannot observe link %s: %s\n", o->link,
			vlink_client_error(c));
		vlink_client_close(c);
		return 1;
	}
	err = vlink_linkmem_map(&lm, rep.env->link_map, rep.fds, rep.nfds, false, why,
				sizeof(why));
	vlink_reply_clear(&rep);
	vlink_client_close(c);
	if (err) {
		fprintf(stderr, "vlink-peer: %s\n", why);
		return 1;
	}
	printf("link %s (domain %s, %s): %u data channel(s), ring %u, %" PRIu64
	       " buffers of %u B\n", lm.name, lm.domain, lm.mac, lm.nch, lm.ring_size,
	       lm.buf_area / lm.buf_size, lm.buf_size);
	printf("host end: %s, epoch %u; peer end: %s, acked epoch %u\n",
	       state_name(vlink_epoch_host_state(&lm)),
	       __atomic_load_n(&lm.hdr->host_epoch, __ATOMIC_ACQUIRE),
	       state_name(vlink_epoch_peer_state(&lm)),
	       __atomic_load_n(&lm.hdr->peer_ack_epoch, __ATOMIC_ACQUIRE));
	printf("%-8s %-5s %12s %12s %8s   (descriptors, 32-bit counters)\n", "channel",
	       "ring", "produced", "consumed", "waiting");
	for (unsigned ch = 1; ch <= lm.nch; ch++) {
		const struct vlink_linkmem_chan *r = &lm.ch[ch - 1];
		const struct vlink_ring *rings[4] = { &r->rx, &r->done, &r->fill, &r->tx };
		static const char *const names[4] = { "rx", "done", "fill", "tx" };

		for (int k = 0; k < 4; k++) {
			uint32_t head = __atomic_load_n(&rings[k]->hdr->head, __ATOMIC_ACQUIRE);
			uint32_t tail = __atomic_load_n(&rings[k]->hdr->tail, __ATOMIC_ACQUIRE);

			printf("%-8u %-5s %12u %12u %8u%s\n", ch, names[k], head, tail,
			       head - tail, head - tail > lm.ring_size ? "  (corrupt)" : "");
		}
	}
	vlink_linkmem_unmap(&lm);
	return 0;
}

static int cmd_list_pci(const struct opts *o)
{
	static struct vlink_guest_listed ls[64 * 16];
	const unsigned max = sizeof(ls) / sizeof(ls[0]);
	char why[512];
	int k = vlink_guest_list_pci(o->pci_dev, ls, max, (int)o->wait * 1000, why,
				     sizeof(why));

	if (k < 0) {
		fprintf(stderr, "vlink-peer: %s\n", why);
		return 1;
	}
	for (int i = 0; i < k && (unsigned)i < max; i++)
		printf("%-32s %-16s %s %u channel(s) host %s peer %s device %s\n",
		       ls[i].info.name, ls[i].info.domain, ls[i].info.mac, ls[i].info.nchannels,
		       state_name(ls[i].host_state), state_name(ls[i].peer_state), ls[i].dev);
	return 0;
}

static const char *status_text(uint32_t st, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", st & VLINK_GUEST_DEV_CONNECTED ? "connected" : "disconnected",
		 st & VLINK_GUEST_DEV_MAPPED ? ",mapped" : ",unmapped",
		 st & VLINK_GUEST_DEV_ERROR ? ",error" : "");
	return buf;
}

/* the device's registers, one line per device, key=value */
static int cmd_device(const struct opts *o)
{
	struct vlink_guest_dev d[16];
	char why[512], st[64];
	int k = vlink_guest_list_devices(o->pci_dev, d, 16, why, sizeof(why));

	if (k < 0) {
		fprintf(stderr, "vlink-peer: %s\n", why);
		return 1;
	}
	for (int i = 0; i < k && i < 16; i++)
		printf("device %s domain=%s status=%s generation=%u connects=%u pool=%" PRIu64
		       " segments=%u region=%" PRIu64 " bar2=%" PRIu64 " bar4=%" PRIu64
		       " version=%u\n", d[i].addr, d[i].domain[0] ? d[i].domain : "-",
		       status_text(d[i].status, st, sizeof(st)), d[i].generation, d[i].connects,
		       d[i].pool_size, d[i].nsegments, d[i].region_size, d[i].bar2_size,
		       d[i].bar4_size, d[i].version);
	return 0;
}

static int cmd_list(const struct opts *o)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__ListLinks m = VLINK__LIST_LINKS__INIT;
	struct vlink_client *c;
	struct vlink_reply rep;
	char why[512];
	int err;

	if (o->pci)
		return cmd_list_pci(o);
	err = vlink_client_open(&c, o->socket, VLINK__ROLE__ROLE_PEER, "vlink-peer",
				(int)o->wait * 1000, why, sizeof(why));
	if (err) {
		fprintf(stderr, "vlink-peer: %s\n", why);
		return 1;
	}
	env.msg_case = VLINK__ENVELOPE__MSG_LIST_LINKS;
	env.list_links = &m;
	err = vlink_client_call(c, &env, &rep, 10000);
	if (err || rep.env->msg_case != VLINK__ENVELOPE__MSG_LINK_LIST) {
		fprintf(stderr, "vlink-peer: %s\n", err ? vlink_client_error(c) : "bad reply");
		if (!err)
			vlink_reply_clear(&rep);
		vlink_client_close(c);
		return 1;
	}
	for (size_t i = 0; i < rep.env->link_list->n_links; i++) {
		const Vlink__LinkInfo *li = rep.env->link_list->links[i];

		printf("%-32s %-16s %s %u channel(s) peer %s\n", li->layout->name,
		       li->layout->domain, li->layout->mac, li->layout->nchannels,
		       li->peer_attached ? "attached" : "free");
	}
	vlink_reply_clear(&rep);
	vlink_client_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "pci", optional_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'z' },
		{ "rate", required_argument, NULL, 'r' },
		{ "first", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .size_min = 64, .size_max = 64, .timeout = 10, .wait = 30 };
	const char *cmd;
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:p::c:n:z:r:f:t:w:m:qh", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'p':
			o.pci = true;
			o.pci_dev = optarg && *optarg ? optarg : NULL;
			break;
		case 'c':
			if (vlink_parse_uint(optarg, VLINK_NCHANNELS_MAX, &v) || v == 0)
				return usage_error("--channel wants 1-64, not '%s'", optarg);
			o.channel = (unsigned)v;
			break;
		case 'n':
			if (vlink_parse_uint(optarg, UINT64_MAX, &o.count))
				return usage_error("--count wants a number, not '%s'", optarg);
			break;
		case 'z':
			if (parse_sizes(optarg, &o))
				return usage_error("--size wants S or S-MAX, 16-65536, not '%s'",
						   optarg);
			break;
		case 'r':
			if (vlink_parse_uint(optarg, UINT32_MAX, &o.rate))
				return usage_error("--rate wants packets per second, not '%s'",
						   optarg);
			break;
		case 'f':
			if (vlink_parse_uint(optarg, UINT64_MAX / 2, &o.first))
				return usage_error("--first wants a sequence number, not '%s'",
						   optarg);
			break;
		case 't':
		case 'w':
			if (vlink_parse_uint(optarg, 86400, &v))
				return usage_error("wants seconds, not '%s'", optarg);
			if (c == 't')
				o.timeout = (unsigned)v;
			else
				o.wait = (unsigned)v;
			break;
		case 'q': o.quiet = true; break;
		case 'm':
			if (!strcmp(optarg, "poll"))
				o.mode = MODE_POLL;
			else if (!strcmp(optarg, "event"))
				o.mode = MODE_EVENT;
			else if (!strcmp(optarg, "adaptive"))
				o.mode = MODE_ADAPTIVE;
			else
				return usage_error("--mode is poll, event or adaptive, not '%s'",
						   optarg);
			break;
		case 'h': fputs(usage, stdout); return 0;
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command%s", "");
	cmd = argv[optind++];
	if (o.pci && o.socket)
		return usage_error("--pci (guest mode) and --socket (socket mode) exclude each "
				   "other%s", "");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "list"))
		return optind == argc ? cmd_list(&o) : usage_error("list takes no link%s", "");
	if (!strcmp(cmd, "device")) {
		if (!o.pci)
			return usage_error("device is for guest mode: add --pci[=ADDR]%s", "");
		return optind == argc ? cmd_device(&o) : usage_error("device takes no link%s", "");
	}
	if (strcmp(cmd, "echo") && strcmp(cmd, "send") && strcmp(cmd, "recv") &&
	    strcmp(cmd, "stats"))
		return usage_error("unknown command '%s'", cmd);
	if (optind != argc - 1)
		return usage_error("%s wants exactly one LINK", cmd);
	o.link = argv[optind];
	if (!strcmp(cmd, "echo"))
		return cmd_echo(&o);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(&o);
	if (!o.count)
		return usage_error("%s needs --count N", cmd);
	return !strcmp(cmd, "send") ? cmd_send(&o) : cmd_recv(&o);
}
