/* A malicious host end of a link, for testing that a peer end (libvlinkguest,
 * and the DPDK PMD's peer and guest ends over it) survives one (not
 * installed).  See --help.
 *
 * It attaches the host end through vlinkd and behaves with the host end's
 * own code (proto/vlink_hostend.c: a reset opens an epoch, fill is kept
 * stocked, packets go out on rx and what comes back on tx and done goes
 * home), and round after round lies to the peer: descriptors on rx and
 * fill that do not point into the link's buffers or do not fit one, ring
 * indices no correct host would publish, and host_state/host_epoch
 * garbage.  After each round it opens a new epoch properly, so that the
 * next round, and a well-behaved host end after it, reach a peer that is
 * still there. */
#include <errno.h>
#include <getopt.h>
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
#include "vlink_linkmem.h"
#include "vlink_valid.h"

#include "testtool.h"

#define BURST VLINK_HOSTEND_BURST

enum kind { K_OUT_OF_AREA, K_OUTSIDE_POOL, K_BAD_LENGTH, K_CRUMBS, K_HEAD_AHEAD, K_TAIL_AHEAD,
	    K_WRAP, K_HOST_WORDS, K_MIX, K_N };

static const char *const kind_name[K_N] = {
	"out-of-area", "outside-pool", "bad-length", "crumbs", "head-ahead", "tail-ahead", "wrap",
	"host-words", "mix",
};

static const char usage[] =
	"Usage: vlink-evilhost [OPTIONS] LINK\n"
	"Attach the host end of LINK through vlinkd and lie to its peer end, one kind\n"
	"of lie per round, for a number of seconds; between the rounds it is a\n"
	"correct host end (it sends 60-byte packets and takes back what returns).\n"
	"\n"
	"Kinds (round robin):\n"
	"  out-of-area    descriptors on rx and fill outside the link's buffers (just\n"
	"                 before and after the area)\n"
	"  outside-pool   offsets past the pool: 2^40, 2^63, 2^64 - 16\n"
	"  bad-length     len > buffer, len 2^32 - 1, data_off 65535, data_off + len\n"
	"                 wrapping 32 bits\n"
	"  crumbs         fill buffers of the link with 1 to 8 bytes of room past\n"
	"                 data_off (valid, and useless: a peer must not wait on them)\n"
	"  head-ahead     rx and fill heads more than a ring ahead of the peer's tail\n"
	"  tail-ahead     done and tx tails ahead of the peer's head\n"
	"  wrap           indices near 2^32 and 2^31 around the real ones\n"
	"  host-words     host_state and host_epoch set to garbage\n"
	"  mix            a random kind every few milliseconds\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH     vlinkd's socket (default $VLINK_SOCKET or\n"
	"                        " VLINK_DEFAULT_SOCKET ")\n"
	"  -t, --seconds N       how long to lie (default 5; at least one round of each)\n"
	"  -r, --round-ms N      length of a round (default 200)\n"
	"  -S, --seed N          random seed (default 1)\n"
	"  -w, --wait SECONDS    wait this long for vlinkd and the peer end (default 10)\n"
	"  -h, --help            this text\n"
	"\n"
	"Output: a line per kind on stdout.  Exit status: 0 it ran, 1 it could not\n"
	"attach or no peer end acknowledged its first epoch, 2 usage error.\n";

struct evil {
	struct vlink_linkmem m;
	struct vlink_ledger led;
	struct vlink_hostend he;
	uint32_t *home;          /* a stack of buffer indexes at home */
	uint32_t nhome;
	uint64_t pool_size;
	uint64_t rng;
	uint64_t rounds[K_N], forged[K_N], idx_writes[K_N], hdr_writes[K_N];
	uint64_t sent, back, resets, timeouts;
};

static uint32_t rnd(struct evil *e)
{
	return tt_rnd(&e->rng);
}

static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* vlink_hostend's home and get: the stack */
static void home_cb(void *arg, const int64_t *idx, unsigned k)
{
	struct evil *e = arg;

	for (unsigned i = 0; i < k; i++)
		if (idx[i] >= 0)
			e->home[e->nhome++] = (uint32_t)idx[i];
}

static unsigned get_cb(void *arg, struct vlink_desc *d, unsigned n)
{
	struct evil *e = arg;
	unsigned k = 0;

	for (; k < n && e->nhome; k++) {
		d[k].pool_offset = e->m.buf_offset + (uint64_t)e->home[--e->nhome] * e->m.buf_size;
		d[k].data_off = 0;
	}
	return k;
}

/* A correct host end for a moment: take back what came, keep fill
 * stocked, send a few 60-byte packets. */
static void behave(struct evil *e)
{
	struct vlink_desc d[BURST];
	int64_t idx[BURST];
	uint64_t bad = 0;

	if (!vlink_epoch_peer_ready(&e->m))
		return;
	for (unsigned ch = 1; ch <= e->m.nch; ch++) {
		unsigned k, n = 0, dup = 0;

		vlink_hostend_reap(&e->he, ch, 4);
		k = vlink_hostend_recv(&e->he, ch, d, idx, BURST, &bad);
		home_cb(e, idx, k);
		e->back += k;
		vlink_hostend_refill(&e->he, ch);
		while (n < 8 && get_cb(e, &d[n], 1)) {
			uint8_t *p = vlink_xlate_ptr(&e->m.x, d[n].pool_offset, 60);

			memset(p, 0xff, 6);
			memcpy(p + 6, "\x02\x00\x00\x00\xee\x02", 6);
			memcpy(p + 12, "\x88\xb5", 2);
			memset(p + 14, 0x5a, 46);
			d[n].len = 60;
			d[n].flags = 0;
			n++;
		}
		k = vlink_hostend_send(&e->he, ch, d, n, &dup);
		e->sent += k;
		for (unsigned i = k; i < n; i++) /* no room: home again */
			e->home[e->nhome++] = (uint32_t)((d[i].pool_offset - e->m.buf_offset) /
							 e->m.buf_size);
	}
}

/* A new epoch, as a correct host end opens one: every buffer lent comes
 * home, the rings start empty. */
static void reset(struct evil *e)
{
	struct vlink_hostend_reset r;

	vlink_hostend_reset(&e->he, 2000, NULL, VLINK_END_UP, &r);
	e->resets++;
	e->timeouts += r.wait != 0;
}

/* One forged descriptor on rx or fill (at random, or fill if to_fill) of
 * channel ch, written straight into the ring (the ledger is not told: none
 * of these is a buffer). */
static void forge(struct evil *e, enum kind k, unsigned ch, bool to_fill)
{
	const uint64_t bs = e->m.buf_size, base = e->m.buf_offset, area = e->m.buf_area;
	struct vlink_linkmem_chan *c = &e->m.ch[ch - 1];
	struct vlink_ring *r = !to_fill && k != K_CRUMBS && rnd(e) & 1 ? &c->rx : &c->fill;
	struct vlink_desc d = { .len = 60 };

	switch (k) {
	case K_OUT_OF_AREA:
		d.pool_offset = rnd(e) & 1 || base < bs ? base + area + bs * (rnd(e) % 4) :
			        base - bs * (1 + rnd(e) % 4);
		break;
	case K_OUTSIDE_POOL: {
		const uint64_t far[] = { e->pool_size, 1ull << 40, 1ull << 63, UINT64_MAX - 15 };

		d.pool_offset = far[rnd(e) % 4];
		d.len = rnd(e) & 1 ? 60 : UINT32_MAX;
		break;
	}
	case K_BAD_LENGTH: {
		const struct { uint32_t len; uint16_t off; } bad[] = {
			{ (uint32_t)bs + 1, 0 }, { UINT32_MAX, 0 }, { 1, UINT16_MAX },
			{ UINT32_MAX - 7, 16 }, { (uint32_t)bs, 1 },
		};
		unsigned i = rnd(e) % 5;

		d.pool_offset = base + bs * (rnd(e) % (area / bs));
		d.len = bad[i].len;
		d.data_off = bad[i].off;
		break;
	}
	case K_CRUMBS:
		d.pool_offset = base + bs * (rnd(e) % (area / bs));
		d.len = 0;
		d.data_off = (uint16_t)(bs - 1 - rnd(e) % 8);
		break;
	default:
		return;
	}
	if (vlink_ring_enqueue_burst(r, &d, 1) == 1)
		e->forged[k]++;
}

/* Index and header kinds: impossible values written over the host's own
 * words, held for ms; the reset after the round puts them right. */
static void corrupt(struct evil *e, enum kind k, unsigned ms)
{
	double end = tt_now() + ms / 1000.0;

	while (!tt_stop && tt_now() < end) {
		for (unsigned ch = 1; ch <= e->m.nch; ch++) {
			struct vlink_linkmem_chan *c = &e->m.ch[ch - 1];
			uint32_t ring = e->m.ring_size;

			switch (k) {
			case K_HEAD_AHEAD:
				store(&c->rx.hdr->head, c->rx.hdr->tail + ring + 1 + rnd(e) % ring);
				store(&c->fill.hdr->head, c->fill.hdr->tail + ring * 4);
				e->idx_writes[k] += 2;
				break;
			case K_TAIL_AHEAD:
				store(&c->done.hdr->tail, c->done.hdr->head + 1 + rnd(e) % ring);
				store(&c->tx.hdr->tail, c->tx.hdr->head + ring);
				e->idx_writes[k] += 2;
				break;
			case K_WRAP:
				store(&c->rx.hdr->head, UINT32_MAX - rnd(e) % 4);
				store(&c->fill.hdr->head, 0x80000000u + rnd(e) % 4);
				store(&c->tx.hdr->tail, UINT32_MAX);
				e->idx_writes[k] += 3;
				break;
			default:
				break;
			}
		}
		if (k == K_HOST_WORDS) {
			store(&e->m.hdr->host_state, rnd(e) % 2 ? rnd(e) : VLINK_END_UP);
			store(&e->m.hdr->host_epoch, rnd(e) % 3 ? rnd(e) : 0);
			e->hdr_writes[k] += 2;
		}
		usleep(500);
	}
}

static void round_of(struct evil *e, enum kind k, unsigned ms)
{
	double end = tt_now() + ms / 1000.0;

	e->rounds[k]++;
	/* the rings are empty after the last round's reset: lies first on
	 * fill, ahead of the good buffers, or a peer that transmits little
	 * (a guest kernel pinging) never takes one from under the stock */
	for (unsigned ch = 1; k < K_HEAD_AHEAD && ch <= e->m.nch; ch++)
		for (int i = 0; i < 8; i++)
			forge(e, k, ch, true);
	behave(e);
	if (k >= K_HEAD_AHEAD) {
		corrupt(e, k, ms);
	} else {
		while (!tt_stop && tt_now() < end) {
			behave(e);
			for (unsigned ch = 1; ch <= e->m.nch; ch++)
				for (int i = 0; i < 4; i++)
					forge(e, k, ch, false);
			usleep(500);
		}
	}
	reset(e);
}

static int attach(struct evil *e, const char *sock, const char *link, int wait_ms,
		  struct vlink_client **cl)
{
	int err = tt_attach("vlink-evilhost", sock, link, true, wait_ms, cl, &e->m, &e->pool_size);

	if (err)
		return err;
	err = vlink_ledger_init(&e->led, e->m.buf_offset, e->m.buf_area, e->m.buf_size);
	if (err) {
		fprintf(stderr, "vlink-evilhost: ledger: %s\n", vlink_strerror(err));
		goto err_unmap;
	}
	e->home = malloc(sizeof(*e->home) * e->led.nbufs);
	if (!e->home) {
		err = -ENOMEM;
		goto err_ledger;
	}
	for (uint32_t i = e->led.nbufs; i > 0; i--)
		e->home[e->nhome++] = i - 1;
	e->he = (struct vlink_hostend){ .m = &e->m, .led = &e->led, .home = home_cb, .arg = e,
					.get = get_cb };
	return 0;

err_ledger:
	vlink_ledger_fini(&e->led);
err_unmap:
	vlink_linkmem_unmap(&e->m);
	vlink_client_close(*cl);
	*cl = NULL;
	return err;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "round-ms", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 'S' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = vlink_default_socket();
	uint64_t seconds = 5, round_ms = 200, seed = 1, wait_s = 10;
	struct vlink_client *cl = NULL;
	struct evil *e;
	double t_end, t0;
	int c, err;

	while ((c = getopt_long(argc, argv, "s:t:r:S:w:h", lo, NULL)) != -1) {
		uint64_t *dst = c == 't' ? &seconds : c == 'r' ? &round_ms : c == 'S' ? &seed :
				c == 'w' ? &wait_s : NULL;

		switch (c) {
		case 's': sock = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case 't': case 'r': case 'S': case 'w':
			if (vlink_parse_uint(optarg, c == 'S' ? UINT64_MAX : 86400000, dst) ||
			    (c == 'r' && *dst == 0)) {
				fprintf(stderr, "vlink-evilhost: option -%c wants a number, not '%s'\n"
					"Try 'vlink-evilhost --help'.\n", c, optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "Try 'vlink-evilhost --help'.\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "vlink-evilhost: wants exactly one LINK\nTry 'vlink-evilhost "
			"--help'.\n");
		return 2;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return 1;
	e->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	tt_catch_stop();
	if (attach(e, sock, argv[optind], (int)wait_s * 1000, &cl)) {
		free(e);
		return 1;
	}
	/* correct first: a peer up in our epoch, so that lies reach it.  A
	 * peer that acknowledged the epoch says UP only once it has seen us
	 * UP in it: give it a second for that (a guest kernel's NAPI under
	 * TCG is not a busy-polling PMD) before opening another epoch. */
	err = -ETIMEDOUT;
	for (t0 = tt_now(); !tt_stop && err && tt_now() - t0 < (double)wait_s; usleep(10000)) {
		reset(e);
		for (double t1 = tt_now(); !tt_stop && tt_now() - t1 < 1.0; usleep(1000)) {
			if (vlink_epoch_peer_ready(&e->m)) {
				err = 0;
				break;
			}
		}
	}
	if (err) {
		fprintf(stderr, "vlink-evilhost: no peer end of %s acknowledged an epoch in %" PRIu64
			" s\n", argv[optind], wait_s);
		goto out;
	}
	fprintf(stderr, "vlink-evilhost: host end of %s up in epoch %u (%u channel(s)); lying "
		"for %" PRIu64 " s\n", argv[optind], e->m.host_epoch, e->m.nch, seconds);
	t_end = tt_now() + (double)seconds;
	for (int k = 0; !tt_stop && (tt_now() < t_end || k != 0); k = (k + 1) % K_N) {
		if (k != K_MIX) {
			round_of(e, (enum kind)k, (unsigned)round_ms);
			continue;
		}
		e->rounds[K_MIX]++;
		for (double end = tt_now() + round_ms / 1000.0; !tt_stop && tt_now() < end;) {
			enum kind p = (enum kind)(rnd(e) % K_MIX);
			uint64_t f = e->forged[p], x = e->idx_writes[p], h = e->hdr_writes[p];

			round_of(e, p, 10 + rnd(e) % 20);
			e->rounds[p]--;
			e->forged[K_MIX] += e->forged[p] - f;
			e->idx_writes[K_MIX] += e->idx_writes[p] - x;
			e->hdr_writes[K_MIX] += e->hdr_writes[p] - h;
			e->forged[p] = f;
			e->idx_writes[p] = x;
			e->hdr_writes[p] = h;
		}
	}
	for (int k = 0; k < K_N; k++)
		printf("evilhost %-13s %4" PRIu64 " round(s): %8" PRIu64 " forged descriptors, "
		       "%6" PRIu64 " index writes, %6" PRIu64 " header writes\n", kind_name[k],
		       e->rounds[k], e->forged[k], e->idx_writes[k], e->hdr_writes[k]);
	printf("evilhost: %" PRIu64 " good packets sent, %" PRIu64 " came back, %" PRIu64
	       " epochs opened (%" PRIu64 " not acknowledged in 2 s)\n", e->sent, e->back,
	       e->resets, e->timeouts);
	/* leave as a correct host end does: down, everything taken back */
	vlink_hostend_reset(&e->he, 0, NULL, VLINK_END_DOWN, &(struct vlink_hostend_reset){ 0 });
out:
	vlink_ledger_fini(&e->led);
	free(e->home);
	vlink_linkmem_unmap(&e->m);
	vlink_client_close(cl);
	free(e);
	return err ? 1 : 0;
}
