/* A malicious peer end of a link, for testing that the host end survives
 * one (not installed).  See --help.
 *
 * It attaches the peer end through vlinkd like libvlinkguest's socket mode
 * (vlink_linkmem with host=false) and then, round after round, abuses the
 * host end: descriptors the host never lent or could not have lent, ring
 * indices no correct peer would publish, and every word of the link
 * header, its own and the host's.  Between the abuses it behaves (reflects
 * what it receives, sends a few packets from fill), so that the host end
 * has something to get right while it is lied to.
 *
 * It restores its own published ring indices after an index round (so
 * that later rounds reach the host at all), follows the host's resets (it
 * acks every new epoch, drops what it held and takes the host's cleared
 * indices as its own) and, after scribbling on the epoch words, asks for a
 * new epoch as a newcomer does; it never restores the host's words, line 0
 * or the link table entry. */
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
#include "vlink_error.h"
#include "vlink_linkmem.h"
#include "vlink_valid.h"

#include "testtool.h"

#define BURST 32
#define HOLD 64 /* buffers from fill kept per channel for forging */

enum kind {
	K_OUT_OF_AREA, K_OUTSIDE_POOL, K_MISALIGNED, K_BAD_LENGTH, K_NOT_LENT, K_TWICE,
	K_WRONG_CHANNEL, K_HEAD_AHEAD, K_TAIL_BEHIND, K_WRAP, K_HOST_INDICES, K_PEER_WORDS,
	K_HOST_WORDS, K_LINE0, K_TABLE, K_MIX, K_N
};

static const char *const kind_name[K_N] = {
	"out-of-area", "outside-pool", "misaligned", "bad-length", "not-lent", "twice",
	"wrong-channel", "head-ahead", "tail-behind", "wrap", "host-indices", "peer-words",
	"host-words", "line0", "table-entry", "mix",
};

static const char usage[] =
	"Usage: vlink-evilpeer [OPTIONS] LINK\n"
	"Attach the peer end of LINK through vlinkd and abuse the host end, one kind\n"
	"of abuse per round, for a number of seconds; then print what was done.\n"
	"\n"
	"Kinds (in this order, round robin; --kinds picks some):\n"
	"  out-of-area    descriptors on tx and done outside the link's buffers\n"
	"                 (just past the area, just before it)\n"
	"  outside-pool   offsets past the pool: pool size, 2^40, 2^64 - 16, ...\n"
	"  misaligned     a buffer it holds + 1, + half, + size - 1\n"
	"  bad-length     len > buffer, len 2^32 - 1, data_off 65535, data_off +\n"
	"                 len wrapping 32 bits (then the buffer correctly)\n"
	"  not-lent       buffer starts it was never lent\n"
	"  twice          a buffer it holds returned twice (tx + done, tx + tx)\n"
	"  wrong-channel  a buffer lent on channel 1 returned on channel 2 (needs\n"
	"                 2 data channels; skipped otherwise)\n"
	"  head-ahead     its tx and done heads more than a ring ahead\n"
	"  tail-behind    its rx and fill tails more than a ring behind, or ahead\n"
	"                 of the host's head\n"
	"  wrap           indices near 2^32 and 2^31 around the real ones\n"
	"  host-indices   the host's own indices (rx and fill head, done and tx\n"
	"                 tail) and every ring's size word\n"
	"  peer-words     peer_state and peer_ack_epoch set to garbage (incl.\n"
	"                 RESETTING: the host resets, again and again)\n"
	"  host-words     host_state and host_epoch set to garbage\n"
	"  line0          line 0 of the link header: magic, version, sizes, MAC,\n"
	"                 buffer area\n"
	"  table-entry    its entry in the region's link table (what a guest reads\n"
	"                 to find the link): name, sizes, offsets\n"
	"  mix            a random kind every few milliseconds\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH     vlinkd's socket (default $VLINK_SOCKET or\n"
	"                        " VLINK_DEFAULT_SOCKET ")\n"
	"  -t, --seconds N       how long to abuse (default 5; longer if need be\n"
	"                        for every kind to have had one round)\n"
	"  -r, --round-ms N      length of a round (default 200)\n"
	"  -k, --kinds LIST      comma-separated kinds (default all)\n"
	"  -S, --seed N          random seed (default 1)\n"
	"  -w, --wait SECONDS    wait this long for vlinkd and the host end (default 10)\n"
	"  -W, --wedge           last of all, write host_epoch 0, peer_ack_epoch 0 and\n"
	"                        peer_state DOWN: a host end that believed the shared\n"
	"                        host_epoch would take the next peer's request (its\n"
	"                        ack is 0) as served, and never reset for it\n"
	"  -h, --help            this text\n"
	"\n"
	"Output: a line per kind (rounds, forged descriptors, index and header\n"
	"writes) on stdout.  Exit status: 0 it ran, 1 it could not attach or the\n"
	"host end never came up, 2 usage error.\n";

struct evil {
	struct vlink_linkmem m;
	uint64_t pool_size;
	struct vlink_desc held[VLINK_NCHANNELS_MAX][HOLD];
	unsigned nheld[VLINK_NCHANNELS_MAX];
	struct vlink_link_entry *entry; /* its link table entry, NULL if none */
	uint32_t epoch;          /* the host epoch it follows */
	bool quiet_hdr;          /* its header words are garbage on purpose */
	uint64_t rng;
	uint64_t rounds[K_N], forged[K_N], idx_writes[K_N], hdr_writes[K_N];
	uint64_t reflected, sent, resets;
};

static uint32_t rnd(struct evil *e)
{
	return tt_rnd(&e->rng);
}

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static struct vlink_linkmem_chan *chan(struct evil *e, unsigned ch)
{
	return &e->m.ch[ch - 1];
}

/* Put one descriptor on tx or done (whichever `on_tx` says). */
static void put(struct evil *e, unsigned ch, bool on_tx, struct vlink_desc d, enum kind k)
{
	struct vlink_linkmem_chan *c = chan(e, ch);

	if (vlink_ring_enqueue_burst(on_tx ? &c->tx : &c->done, &d, 1) == 1)
		e->forged[k]++;
}

/* A buffer lent to us on channel ch (from fill), or false. */
static bool take(struct evil *e, unsigned ch, struct vlink_desc *d)
{
	unsigned i = ch - 1;

	if (e->nheld[i] == 0)
		e->nheld[i] = vlink_ring_dequeue_burst(&chan(e, ch)->fill, e->held[i], HOLD);
	if (e->nheld[i] == 0)
		return false;
	*d = e->held[i][--e->nheld[i]];
	return true;
}

/* A well-formed packet in a buffer we hold: testpmd forwards it back. */
static void send_good(struct evil *e, unsigned ch, struct vlink_desc d)
{
	uint8_t *p = vlink_xlate_ptr(&e->m.x, d.pool_offset, 64);

	if (!p)
		return;
	memset(p, 0xff, 6);                 /* broadcast */
	memcpy(p + 6, "\x02\x00\x00\x00\xee\x01", 6);
	memcpy(p + 12, "\x88\xb5", 2);      /* local experimental ethertype */
	memset(p + 14, 0x5a, 46);
	d.len = 60;
	d.data_off = 0;
	d.flags = 0;
	if (vlink_ring_enqueue_burst(&chan(e, ch)->tx, &d, 1) == 1)
		e->sent++;
}

/* Behave for a moment on every channel: reflect what came on rx. */
static void behave(struct evil *e)
{
	struct vlink_desc d[BURST];

	for (unsigned ch = 1; ch <= e->m.nch; ch++) {
		struct vlink_linkmem_chan *c = chan(e, ch);
		unsigned k = vlink_ring_dequeue_burst(&c->rx, d, BURST), j;

		j = vlink_ring_enqueue_burst(&c->tx, d, k);
		e->reflected += j;
		if (j < k)
			vlink_ring_enqueue_burst(&c->done, d + j, k - j);
	}
}

/* The host opened a new epoch: ack it; once it is up in it, everything we
 * held is void and the rings restart from where the host cleared them. */
static void follow(struct evil *e)
{
	struct vlink_link_hdr *h = e->m.hdr;
	uint32_t ep = load(&h->host_epoch), hs = load(&h->host_state);

	if (e->quiet_hdr || ep == e->epoch)
		return;
	if (load(&h->peer_ack_epoch) != ep)
		store(&h->peer_ack_epoch, ep);
	if (hs != VLINK_END_UP)
		return;
	for (unsigned ch = 1; ch <= e->m.nch; ch++) {
		struct vlink_linkmem_chan *c = chan(e, ch);
		struct vlink_ring *prod[2] = { &c->tx, &c->done }, *cons[2] = { &c->rx, &c->fill };

		for (int i = 0; i < 2; i++) {
			prod[i]->mine = prod[i]->theirs = load(&prod[i]->hdr->tail);
			store(&prod[i]->hdr->head, prod[i]->mine);
			cons[i]->mine = cons[i]->theirs = load(&cons[i]->hdr->head);
			store(&cons[i]->hdr->tail, cons[i]->mine);
		}
		e->nheld[ch - 1] = 0;
	}
	store(&h->peer_state, VLINK_END_UP);
	e->epoch = ep;
	e->resets++;
}

/* Ask for a new epoch, as a newcomer does, and wait until the host is up
 * in it (bounded). */
static int handshake(struct evil *e, double wait_s)
{
	struct vlink_link_hdr *h = e->m.hdr;
	uint32_t from = load(&h->host_epoch);
	double t0 = tt_now();

	e->quiet_hdr = false;
	e->epoch = from;
	store(&h->peer_ack_epoch, 0);
	store(&h->peer_state, VLINK_END_RESETTING);
	while (load(&h->host_epoch) == from || e->epoch == from || load(&h->host_state) != VLINK_END_UP ||
	       load(&h->peer_state) != VLINK_END_UP) {
		if (tt_stop || tt_now() - t0 > wait_s)
			return -ETIMEDOUT;
		follow(e);
		usleep(1000);
	}
	return 0;
}

/* One forged descriptor of a descriptor kind. */
static void forge(struct evil *e, enum kind k, unsigned ch)
{
	const uint64_t bs = e->m.buf_size, base = e->m.buf_offset, area = e->m.buf_area;
	bool on_tx = rnd(e) & 1;
	struct vlink_desc d = { .len = 60 }, g;

	switch (k) {
	case K_OUT_OF_AREA:
		d.pool_offset = rnd(e) & 1 || base < bs ? base + area + bs * (rnd(e) % 4) :
			        base - bs * (1 + rnd(e) % 4);
		if (d.pool_offset >= e->pool_size)
			d.pool_offset = base + area; /* the area ends the pool */
		put(e, ch, on_tx, d, k);
		break;
	case K_OUTSIDE_POOL: {
		const uint64_t far[] = { e->pool_size, e->pool_size + bs, 1ull << 40, 1ull << 63,
					 UINT64_MAX - 15, UINT64_MAX };

		d.pool_offset = far[rnd(e) % 6];
		d.len = rnd(e) & 1 ? 60 : UINT32_MAX;
		put(e, ch, on_tx, d, k);
		break;
	}
	case K_MISALIGNED:
	case K_BAD_LENGTH:
		if (!take(e, ch, &g))
			return;
		d = g;
		if (k == K_MISALIGNED) {
			const uint64_t by[] = { 1, bs / 2, bs - 1, 8 };

			d.pool_offset += by[rnd(e) % 4];
			d.len = 16;
		} else {
			const struct { uint32_t len; uint16_t off; } bad[] = {
				{ (uint32_t)bs + 1, 0 }, { UINT32_MAX, 0 }, { 1, UINT16_MAX },
				{ 1, (uint16_t)bs }, { UINT32_MAX - 7, 16 }, { (uint32_t)bs, 1 },
			};
			unsigned i = rnd(e) % 6;

			d.len = bad[i].len;
			d.data_off = bad[i].off;
		}
		put(e, ch, on_tx, d, k);
		send_good(e, ch, g); /* the buffer itself, correctly: still taken */
		break;
	case K_NOT_LENT:
		d.pool_offset = base + bs * (rnd(e) % (area / bs));
		put(e, ch, on_tx, d, k);
		break;
	case K_TWICE:
		if (!take(e, ch, &g))
			return;
		send_good(e, ch, g);
		g.len = 60;
		put(e, ch, on_tx, g, k);
		break;
	case K_WRONG_CHANNEL:
		if (e->m.nch < 2 || !take(e, 1, &g))
			return;
		d = g;
		put(e, 2, on_tx, d, k);
		send_good(e, 1, g);
		break;
	default:
		break;
	}
}

/* Index kinds: publish impossible values, hold them for `ms`, restore
 * ours (the host's own indices are not ours to restore). */
static void corrupt_indices(struct evil *e, enum kind k, unsigned ms)
{
	for (unsigned ch = 1; ch <= e->m.nch; ch++) {
		struct vlink_linkmem_chan *c = chan(e, ch);
		struct vlink_ring *mine[4] = { &c->tx, &c->done, &c->rx, &c->fill };

		for (int i = 0; i < 4; i++) {
			struct vlink_ring *r = mine[i];
			uint32_t *w = r->producer ? &r->hdr->head : &r->hdr->tail;
			uint32_t v = r->mine;

			if (k == K_HEAD_AHEAD && r->producer)
				v = r->mine + r->size + 1 + rnd(e) % (4 * r->size);
			else if (k == K_TAIL_BEHIND && !r->producer)
				v = rnd(e) & 1 ? r->mine - r->size - 1 - rnd(e) % r->size :
				    load(&r->hdr->head) + 1 + rnd(e) % 8;
			else if (k == K_WRAP)
				v = (const uint32_t[]){ UINT32_MAX, 0x80000000u, r->mine ^ 0x80000000u,
							r->mine - 0x7fffffffu }[rnd(e) % 4];
			else if (k == K_HOST_INDICES) {
				/* the host's own word, and the size word */
				store(r->producer ? &r->hdr->tail : &r->hdr->head, rnd(e));
				store(&r->hdr->size, rnd(e) % 3 ? rnd(e) : 0);
				e->idx_writes[k] += 2;
				continue;
			} else {
				continue;
			}
			store(w, v);
			e->idx_writes[k]++;
		}
	}
	usleep(ms * 1000);
	if (k == K_HOST_INDICES)
		return;
	for (unsigned ch = 1; ch <= e->m.nch; ch++) {
		struct vlink_linkmem_chan *c = chan(e, ch);

		store(&c->tx.hdr->head, c->tx.mine);
		store(&c->done.hdr->head, c->done.mine);
		store(&c->rx.hdr->tail, c->rx.mine);
		store(&c->fill.hdr->tail, c->fill.mine);
	}
}

static void corrupt_header(struct evil *e, enum kind k)
{
	struct vlink_link_hdr *h = e->m.hdr;
	const uint32_t odd[] = { 0, 1, 2, 3, 4, 0xdeadbeef, UINT32_MAX, 0x80000000u };

	switch (k) {
	case K_PEER_WORDS:
		e->quiet_hdr = true;
		store(&h->peer_state, odd[rnd(e) % 8]);
		store(&h->peer_ack_epoch, rnd(e) & 1 ? odd[rnd(e) % 8] : rnd(e));
		e->hdr_writes[k] += 2;
		break;
	case K_HOST_WORDS:
		e->quiet_hdr = true;
		store(&h->host_state, odd[rnd(e) % 8]);
		store(&h->host_epoch, rnd(e) & 1 ? odd[rnd(e) % 8] : rnd(e));
		e->hdr_writes[k] += 2;
		break;
	case K_TABLE:
		if (!e->entry)
			break;
		e->entry->name[rnd(e) % 8] = (char)(rnd(e) | 1);
		e->entry->nchannels = (uint16_t)rnd(e);
		e->entry->ring_size = rnd(e);
		e->entry->hdr_offset = rnd(e) & 1 ? UINT64_MAX : rnd(e);
		e->entry->buf_offset = (uint64_t)rnd(e) << 20;
		e->entry->buf_area = UINT64_MAX - rnd(e);
		e->hdr_writes[k] += 6;
		break;
	case K_LINE0:
		store(&h->magic, rnd(e) & 1 ? 0 : rnd(e));
		h->version = (uint16_t)rnd(e);
		h->nchannels = (uint16_t)rnd(e);
		h->ring_size = rnd(e) & 1 ? 1u << 31 : 0;
		h->buf_size = rnd(e) % 3;
		h->ring_stride = rnd(e);
		memset(h->mac, 0xff, sizeof(h->mac));
		h->buf_offset = UINT64_MAX - rnd(e);
		h->buf_area = (uint64_t)rnd(e) << 32;
		e->hdr_writes[k] += 9;
		break;
	default:
		break;
	}
}

static bool is_index_kind(enum kind k)
{
	return k >= K_HEAD_AHEAD && k <= K_HOST_INDICES;
}

static bool is_header_kind(enum kind k)
{
	return k >= K_PEER_WORDS && k <= K_TABLE;
}

/* One round (or, for mix, one short piece of a round) of kind k. */
static void round_of(struct evil *e, enum kind k, unsigned ms, double wait_s)
{
	double end = tt_now() + ms / 1000.0;

	e->rounds[k]++;
	for (unsigned ch = 1; ch <= e->m.nch; ch++) {
		struct vlink_desc g;

		for (int i = 0; i < 4 && take(e, ch, &g); i++)
			send_good(e, ch, g);
	}
	if (is_index_kind(k)) {
		corrupt_indices(e, k, ms);
		return;
	}
	while (!tt_stop && tt_now() < end) {
		behave(e);
		follow(e);
		if (is_header_kind(k))
			corrupt_header(e, k);
		else
			for (unsigned ch = 1; ch <= e->m.nch; ch++)
				for (int i = 0; i < 4; i++)
					forge(e, k, ch);
		usleep(500);
	}
	/* its own words and the host's epoch are garbage: ask for a new
	 * epoch to go on (the host may be slow to answer a peer that lied) */
	if ((k == K_PEER_WORDS || k == K_HOST_WORDS) && handshake(e, wait_s))
		fprintf(stderr, "vlink-evilpeer: the host end did not open a new epoch after "
			"%s in %.0f s; going on\n", kind_name[k], wait_s);
}

static int parse_kinds(const char *s, bool on[K_N])
{
	char buf[512], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = 0; k < K_N && strcmp(t, kind_name[k]); k++)
			;
		if (k == K_N) {
			fprintf(stderr, "vlink-evilpeer: unknown kind '%s'\nTry 'vlink-evilpeer "
				"--help'.\n", t);
			return -1;
		}
		on[k] = true;
	}
	return 0;
}

static int attach(struct evil *e, const char *sock, const char *link, int wait_ms,
		  struct vlink_client **cl)
{
	int err = tt_attach("vlink-evilpeer", sock, link, false, wait_ms, cl, &e->m, &e->pool_size);

	if (err)
		return err;
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++) {
		struct vlink_link_entry *t = &((struct vlink_region_hdr *)e->m.region)->links[i];

		if ((t->flags & VLINK_LINK_F_USED) &&
		    t->hdr_offset == (uint64_t)((uint8_t *)e->m.hdr - e->m.region))
			e->entry = t;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "round-ms", required_argument, NULL, 'r' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 'S' },
		{ "wait", required_argument, NULL, 'w' },
		{ "wedge", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = vlink_default_socket();
	uint64_t seconds = 5, round_ms = 200, seed = 1, wait_s = 10;
	bool on[K_N] = { false }, any = false, wedge = false;
	struct vlink_client *cl = NULL;
	struct evil *e;
	double t_end;
	int c, err;

	while ((c = getopt_long(argc, argv, "s:t:r:k:S:w:Wh", lo, NULL)) != -1) {
		uint64_t *dst = c == 't' ? &seconds : c == 'r' ? &round_ms : c == 'S' ? &seed :
				c == 'w' ? &wait_s : NULL;

		switch (c) {
		case 's': sock = optarg; break;
		case 'k':
			if (parse_kinds(optarg, on))
				return 2;
			break;
		case 'W': wedge = true; break;
		case 'h': fputs(usage, stdout); return 0;
		case 't': case 'r': case 'S': case 'w':
			if (vlink_parse_uint(optarg, c == 'S' ? UINT64_MAX : 86400000, dst) ||
			    (c == 'r' && *dst == 0)) {
				fprintf(stderr, "vlink-evilpeer: option -%c wants a number, not '%s'\n"
					"Try 'vlink-evilpeer --help'.\n", c, optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "Try 'vlink-evilpeer --help'.\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "vlink-evilpeer: wants exactly one LINK\nTry 'vlink-evilpeer "
			"--help'.\n");
		return 2;
	}
	for (int k = 0; k < K_N; k++)
		any |= on[k];
	if (!any)
		for (int k = 0; k < K_N; k++)
			on[k] = true;

	e = calloc(1, sizeof(*e));
	if (!e)
		return 1;
	e->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	tt_catch_stop();
	err = attach(e, sock, argv[optind], (int)wait_s * 1000, &cl);
	if (err) {
		free(e);
		return 1;
	}
	/* behave first: up in an epoch of the host's, so that it lends */
	if (handshake(e, (double)wait_s)) {
		fprintf(stderr, "vlink-evilpeer: the host end of %s did not come up in %" PRIu64
			" s\n", argv[optind], wait_s);
		err = -ETIMEDOUT;
		goto out;
	}
	fprintf(stderr, "vlink-evilpeer: peer end of %s up in epoch %u (%u channel(s), %" PRIu64
		" buffers); abusing for %" PRIu64 " s\n", argv[optind], e->epoch, e->m.nch,
		e->m.buf_area / e->m.buf_size, seconds);

	t_end = tt_now() + (double)seconds;
	/* a whole first cycle even if the host end is slow to reset */
	for (int k = 0; !tt_stop && (tt_now() < t_end || k != 0); k = (k + 1) % K_N) {
		if (!on[k])
			continue;
		if (k != K_MIX) {
			round_of(e, (enum kind)k, (unsigned)round_ms, (double)wait_s);
			continue;
		}
		e->rounds[K_MIX]++;
		for (double end = tt_now() + round_ms / 1000.0; !tt_stop && tt_now() < end;) {
			enum kind p = (enum kind)(rnd(e) % K_MIX);
			uint64_t f = e->forged[p], x = e->idx_writes[p], h = e->hdr_writes[p];

			/* counted as mix, not as p */
			round_of(e, p, 10 + rnd(e) % 20, (double)wait_s);
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
		if (on[k])
			printf("evilpeer %-13s %4" PRIu64 " round(s): %8" PRIu64 " forged descriptors, "
			       "%6" PRIu64 " index writes, %6" PRIu64 " header writes\n", kind_name[k],
			       e->rounds[k], e->forged[k], e->idx_writes[k], e->hdr_writes[k]);
	if (wedge) {
		store(&e->m.hdr->host_epoch, 0);
		store(&e->m.hdr->peer_ack_epoch, 0);
		store(&e->m.hdr->peer_state, VLINK_END_DOWN);
		printf("evilpeer: left host_epoch 0, peer_ack_epoch 0, peer_state down\n");
	}
	printf("evilpeer: %" PRIu64 " good packets sent, %" PRIu64 " reflected, %" PRIu64
	       " new epochs followed\n", e->sent, e->reflected, e->resets);
	err = 0;
out:
	vlink_linkmem_unmap(&e->m);
	vlink_client_close(cl);
	free(e);
	return err ? 1 : 0;
}
