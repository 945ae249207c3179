/* libFuzzer target: the host end's checks of what a hostile peer writes
 * into shared memory: proto/vlink_ring.c as the host end uses it (producer
 * of rx and fill, consumer of done and tx) and proto/vlink_ledger.c.
 *
 * One link of 1-4 data channels.  Each ring is a heap block of exactly its
 * size, so that ASan reports any access outside it; the buffers are a heap
 * block the harness writes data_off..data_off+len of for every descriptor
 * the ledger takes back, at the address the host would compute from the
 * descriptor.  The peer is the fuzz input: it writes any index or
 * descriptor into any ring, or moves descriptors with its own ring handles
 * (the real ring code), duplicated, altered or onto another channel.  The
 * host lends, takes back, retracts and reclaims with the code the PMD and
 * tests/vlink-hostend.c run: vlink_hostend_send, _recv, _reap and _refill
 * (proto/vlink_hostend.c) over the link's rings, and the ring and ledger
 * calls they are made of.
 *
 * Checked after every step, against a model the harness keeps:
 *  - a take is accepted or refused exactly as the ledger's documented order
 *    of checks says (area, alignment, length, lent, channel), with the
 *    reason counted; so a refused descriptor never becomes a pointer and a
 *    lent buffer comes back at most once;
 *  - the ledger's owner table equals the model, and `lent` is the number of
 *    buffers that are not home;
 *  - a dequeue returns at most what a believable producer index allows,
 *    and exactly what the slots held; an enqueue writes only its own
 *    slots; a host ring never caches an impossible index. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vlink_hostend.h"
#include "vlink_ledger.h"
#include "vlink_ring.h"

#define MAXCH    4
#define MAXRING  64
#define MAXBURST (2 * MAXRING)
#define MAXOPS   512

enum { RX = VLINK_RING_RX, DONE = VLINK_RING_DONE, FILL = VLINK_RING_FILL,
       TX = VLINK_RING_TX };

struct chan {
	struct vlink_ring_hdr *mem[4];
	struct vlink_ring peer[4];
};

static struct {
	unsigned nch;
	uint32_t ring, buf_size, nbufs;
	uint64_t base;
	struct vlink_ledger led;
	uint16_t *model;              /* per buffer: channel it is lent on, 0 home */
	uint64_t errors[VLINK_LEDGER_NERR];
	uint8_t *pool;
	unsigned cursor;              /* where the host looks for a home buffer */
	struct chan ch[MAXCH];
	struct vlink_linkmem lm;      /* the host's handles of the rings */
	struct vlink_hostend he;      /* the host end over lm and led */
	int64_t homed[MAXBURST];      /* what he.home was given last */
	unsigned nhomed;
	bool got_called;              /* he.get was called */
} h;

/* the host's handle of ring k of channel index c */
static struct vlink_ring *host_ring(unsigned c, int k)
{
	struct vlink_linkmem_chan *lc = &h.lm.ch[c];

	return k == RX ? &lc->rx : k == DONE ? &lc->done : k == FILL ? &lc->fill : &lc->tx;
}

static void home_cb(void *arg, const int64_t *idx, unsigned k)
{
	(void)arg;
	FZ_ASSERT(h.nhomed + k <= MAXBURST, "home given %u after %u", k, h.nhomed);
	memcpy(h.homed + h.nhomed, idx, k * sizeof(*idx));
	h.nhomed += k;
}

static bool host_produces(int k)
{
	return k == RX || k == FILL;
}

static struct vlink_desc *slots(struct vlink_ring_hdr *m)
{
	return (struct vlink_desc *)(m + 1);
}

static uint32_t lent_in_model(void)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < h.nbufs; k++)
		n += h.model[k] != 0;
	return n;
}

static void check_all(void)
{
	for (uint32_t k = 0; k < h.nbufs; k++)
		FZ_ASSERT(h.led.owner[k] == h.model[k], "buffer %u: ledger says channel %u, "
			  "model %u", k, h.led.owner[k], h.model[k]);
	FZ_ASSERT(h.led.lent == lent_in_model(), "lent %u, %u buffers not home",
		  h.led.lent, lent_in_model());
	for (int e = 0; e < VLINK_LEDGER_NERR; e++)
		FZ_ASSERT(h.led.errors[e] == h.errors[e], "errors[%d] %llu, model %llu", e,
			  (unsigned long long)h.led.errors[e], (unsigned long long)h.errors[e]);
	for (unsigned c = 0; c < h.nch; c++)
		for (int k = 0; k < 4; k++) {
			const struct vlink_ring *r = host_ring(c, k);
			uint32_t used = host_produces(k) ? r->mine - r->theirs :
							   r->theirs - r->mine;

			FZ_ASSERT(used <= h.ring, "channel %u ring %d caches an impossible "
				  "index (mine %u, theirs %u)", c + 1, k, r->mine, r->theirs);
		}
}

/* What the ledger must answer for d on channel ch, by its documented order
 * of checks (written with division, not the ledger's masks and shifts);
 * the model is updated as the ledger should be. */
static int64_t expect_take(const struct vlink_desc *d, uint16_t ch)
{
	uint64_t area = (uint64_t)h.nbufs * h.buf_size, rel, k;

	if (d->pool_offset < h.base || d->pool_offset - h.base >= area) {
		h.errors[VLINK_LEDGER_OUT_OF_AREA]++;
		return -1;
	}
	rel = d->pool_offset - h.base;
	if (rel % h.buf_size) {
		h.errors[VLINK_LEDGER_MISALIGNED]++;
		return -1;
	}
	if ((uint64_t)d->data_off + d->len > h.buf_size) {
		h.errors[VLINK_LEDGER_BAD_LENGTH]++;
		return -1;
	}
	k = rel / h.buf_size;
	if (h.model[k] == ch) {
		h.model[k] = 0;
		return (int64_t)k;
	}
	h.errors[h.model[k] ? VLINK_LEDGER_WRONG_CHANNEL : VLINK_LEDGER_NOT_LENT]++;
	return -1;
}

/* The host took back n descriptors the peer returned on ch, the ledger
 * saying idx[] (lent was `lent` before): check each against the model, and
 * use each accepted buffer where the descriptor says its data is. */
static void check_taken(const struct vlink_desc *d, const int64_t *idx, unsigned n,
			uint16_t ch, uint32_t lent)
{
	unsigned want = 0;

	for (unsigned i = 0; i < n; i++) {
		int64_t e = expect_take(&d[i], ch);

		FZ_ASSERT(idx[i] == e, "descriptor %u {off %#llx len %u data_off %u} on "
			  "channel %u: ledger %lld, expected %lld", i,
			  (unsigned long long)d[i].pool_offset, d[i].len, d[i].data_off, ch,
			  (long long)idx[i], (long long)e);
		if (idx[i] < 0)
			continue;
		want++;
		/* the host's pointer comes from the descriptor, not from idx */
		memset(h.pool + (d[i].pool_offset - h.base) + d[i].data_off, 0xa5, d[i].len);
	}
	FZ_ASSERT(lent - want == h.led.lent, "%u taken, lent %u -> %u", want, lent,
		  h.led.lent);
}

/* Take back n descriptors the peer returned on ch, as the host does. */
static void take_back(const struct vlink_desc *d, unsigned n, uint16_t ch)
{
	int64_t idx[MAXBURST];
	uint32_t lent = h.led.lent;
	unsigned good = vlink_ledger_take_burst(&h.led, d, n, ch, idx);

	FZ_ASSERT(good == lent - h.led.lent, "take_burst said %u, lent %u -> %u", good, lent,
		  h.led.lent);
	check_taken(d, idx, n, ch, lent);
}

static unsigned burst_arg(struct fz *f)
{
	return fz_u8(f) % (2 * h.ring + 1);
}

/* the host lends home buffers on rx or fill, as much as the ring takes */
static void op_lend(struct fz *f, unsigned c)
{
	int k = fz_u8(f) & 1 ? FILL : RX;
	unsigned want = burst_arg(f), room, n = 0;
	uint8_t lseed = fz_u8(f), dseed = fz_u8(f);
	struct vlink_ring *r = host_ring(c, k);
	struct vlink_desc d[MAXBURST], before[MAXRING];
	uint32_t mine = r->mine;

	room = vlink_ring_free_count(r);
	FZ_ASSERT(room <= h.ring, "free count %u in a ring of %u", room, h.ring);
	for (uint32_t tries = 0; n < want && n < room && tries < h.nbufs; tries++) {
		uint32_t b = h.cursor++ % h.nbufs;
		uint16_t doff = (uint16_t)(dseed % h.buf_size);

		if (h.model[b])
			continue;
		d[n].pool_offset = h.base + (uint64_t)b * h.buf_size;
		d[n].data_off = doff;
		d[n].len = k == RX ? (uint32_t)(lseed * 7u + n) % (h.buf_size - doff + 1) : 0;
		d[n].flags = 0;
		n++;
	}
	for (unsigned i = 0; i < n; i++)
		h.model[(d[i].pool_offset - h.base) / h.buf_size] = (uint16_t)(c + 1);
	memcpy(before, slots(h.ch[c].mem[k]), h.ring * sizeof(*before));
	if (k == RX) {
		/* a packet: the host end's send; a few more than fit, once */
		unsigned dup = 0;

		FZ_ASSERT(vlink_hostend_send(&h.he, c + 1, d, n, &dup) == n && !dup,
			  "send of %u home buffers with room for %u", n, room);
	} else {
		FZ_ASSERT(vlink_ledger_lend_burst(&h.led, d, n, (uint16_t)(c + 1)) == n,
			  "lending %u home buffers failed", n);
		FZ_ASSERT(vlink_ring_enqueue_burst(r, d, n) == n, "free count said %u, "
			  "enqueue took fewer of %u", room, n);
	}
	for (uint32_t i = 0; i < h.ring; i++) {
		uint32_t at = (i - mine) & (h.ring - 1); /* position after mine */
		const struct vlink_desc *want_d = at < n ? &d[at] : &before[i];

		FZ_ASSERT(!memcmp(&slots(h.ch[c].mem[k])[i], want_d, sizeof(*want_d)),
			  "enqueue of %u at %u changed slot %u", n, mine, i);
	}
	if (n)
		FZ_ASSERT(h.ch[c].mem[k]->head == mine + n, "head %u published, want %u",
			  h.ch[c].mem[k]->head, mine + n);
}

/* the host consumes done (vlink_hostend_reap, all there is) or tx
 * (vlink_hostend_recv) and takes back what it got */
static void op_take(struct fz *f, unsigned c)
{
	int k = fz_u8(f) & 1 ? TX : DONE;
	unsigned want = burst_arg(f), got, good = 0;
	struct vlink_ring *r = host_ring(c, k);
	struct vlink_ring_hdr *m = h.ch[c].mem[k];
	struct vlink_desc d[MAXBURST], before[MAXRING];
	int64_t idx[MAXBURST];
	uint32_t mine = r->mine, theirs = r->theirs, head = m->head, lent = h.led.lent;
	uint64_t bad = 0;

	memcpy(before, slots(m), h.ring * sizeof(*before));
	if (k == TX) {
		got = vlink_hostend_recv(&h.he, c + 1, d, idx, want, &bad);
		FZ_ASSERT(got <= want && got <= VLINK_HOSTEND_BURST, "received %u of %u", got,
			  want);
	} else {
		h.nhomed = 0;
		bad = vlink_hostend_reap(&h.he, c + 1, 1);
		got = r->mine - mine;
		FZ_ASSERT(h.nhomed == got, "%u reaped, home given %u", got, h.nhomed);
		memcpy(idx, h.homed, got * sizeof(*idx));
		for (unsigned i = 0; i < got && i < MAXRING; i++)
			d[i] = before[(mine + i) & (h.ring - 1)];
	}
	FZ_ASSERT(got <= h.ring, "dequeued %u (ring %u)", got, h.ring);
	FZ_ASSERT(r->mine == mine + got, "tail moved by %u for %u", r->mine - mine, got);
	FZ_ASSERT(r->theirs == theirs || r->theirs == head, "cached head %u is neither "
		  "the old %u nor the published %u", r->theirs, theirs, head);
	FZ_ASSERT(r->theirs - mine <= h.ring && got <= r->theirs - mine,
		  "took %u with head %u tail %u", got, r->theirs, mine);
	if (got)
		FZ_ASSERT(m->tail == r->mine, "tail %u published, want %u", m->tail, r->mine);
	for (unsigned i = 0; i < got; i++) {
		FZ_ASSERT(!memcmp(&d[i], &before[(mine + i) & (h.ring - 1)], sizeof(d[i])),
			  "descriptor %u is not what slot %u held", i, (mine + i) & (h.ring - 1));
		good += idx[i] >= 0;
	}
	FZ_ASSERT(bad == got - good, "%llu counted bad of %u, %u taken",
		  (unsigned long long)bad, got, good);
	check_taken(d, idx, got, (uint16_t)(c + 1), lent);
}

/* he.get: home buffers in the model's order, from the cursor on */
static unsigned get_cb(void *arg, struct vlink_desc *d, unsigned n)
{
	unsigned k = 0;

	(void)arg;
	h.got_called = true;
	FZ_ASSERT(n && n <= VLINK_HOSTEND_BURST, "asked for %u buffers", n);
	for (uint32_t tries = 0; k < n && tries < h.nbufs; tries++) {
		uint32_t b = h.cursor++ % h.nbufs;
		bool taken = false;

		if (h.model[b])
			continue;
		for (unsigned i = 0; i < k; i++)
			taken |= d[i].pool_offset == h.base + (uint64_t)b * h.buf_size;
		if (taken)
			continue;
		d[k].pool_offset = h.base + (uint64_t)b * h.buf_size;
		d[k].data_off = (uint16_t)(b % h.buf_size);
		k++;
	}
	return k;
}

/* the host keeps fill stocked (vlink_hostend_refill) */
static void op_refill(struct fz *f, unsigned c)
{
	struct vlink_ring *r = host_ring(c, FILL);
	struct vlink_ring_hdr *m = h.ch[c].mem[FILL];
	uint32_t mine = r->mine, used, stock = h.ring < VLINK_HOSTEND_FILL_STOCK ?
							 h.ring : VLINK_HOSTEND_FILL_STOCK;
	uint32_t home = h.nbufs - lent_in_model();
	int got;

	(void)f;
	used = h.ring - vlink_ring_free_count(r);
	h.got_called = false;
	got = vlink_hostend_refill(&h.he, c + 1);
	if (used + VLINK_HOSTEND_REFILL > stock) {
		FZ_ASSERT(got == 0 && !h.got_called, "refill with %u of %u on fill: %d", used,
			  stock, got);
		return;
	}
	if (!home) {
		FZ_ASSERT(got == -ENOBUFS, "refill with nothing home: %d", got);
		return;
	}
	FZ_ASSERT(got > 0 && (uint32_t)got <= stock - used && (uint32_t)got <= home,
		  "refill of %d with %u on fill of %u, %u home", got, used, stock, home);
	for (int i = 0; i < got; i++) {
		const struct vlink_desc *d = &slots(m)[(mine + (uint32_t)i) & (h.ring - 1)];
		uint64_t b = (d->pool_offset - h.base) / h.buf_size;

		FZ_ASSERT(d->len == 0 && d->flags == 0 && b < h.nbufs && !h.model[b],
			  "refill put {off %#llx len %u}", (unsigned long long)d->pool_offset,
			  d->len);
		h.model[b] = (uint16_t)(c + 1);
	}
	FZ_ASSERT(m->head == mine + (uint32_t)got, "head %u after a refill of %d from %u",
		  m->head, got, mine);
}

/* an offset from a mode byte and a seed: a buffer start (maybe past the
 * end), misaligned, anywhere, just below the area, near the top */
static uint64_t forged_offset(uint8_t mode, uint32_t a)
{
	switch (mode % 5) {
	case 0: return h.base + (uint64_t)(a % (h.nbufs + 2)) * h.buf_size;
	case 1: return h.base + (uint64_t)(a % h.nbufs) * h.buf_size + 1 + a % (h.buf_size - 1);
	case 2: return (uint64_t)a * 0x9e3779b97f4a7c15ull;
	case 3: return h.base - 1 - a % 4096;
	default: return UINT64_MAX - a;
	}
}

/* the peer writes an index: head or tail of any ring */
static void op_forge_index(struct fz *f, unsigned c)
{
	struct vlink_ring_hdr *m = h.ch[c].mem[fz_u8(f) & 3];
	uint8_t mode = fz_u8(f);
	uint32_t v = fz_u32(f);
	uint32_t *idx = mode & 1 ? &m->tail : &m->head;
	uint32_t other = mode & 1 ? m->head : m->tail;

	switch ((mode >> 1) & 3) {
	case 0: *idx = v; break;
	case 1: *idx += (uint32_t)(int8_t)v; break;
	case 2: *idx = other + v % (2 * h.ring + 1) - (mode & 1 ? 0 : h.ring); break;
	default: *idx = other + (mode & 1 ? -(h.ring + 1) : h.ring + 1); break;
	}
}

/* the peer writes a descriptor into any slot of any ring */
static void op_forge_desc(struct fz *f, unsigned c)
{
	struct vlink_ring_hdr *m = h.ch[c].mem[fz_u8(f) & 3];
	struct vlink_desc *s = &slots(m)[fz_u8(f) % h.ring];
	uint8_t mode = fz_u8(f);
	uint32_t a = fz_u32(f);

	s->pool_offset = forged_offset(mode, a);
	s->len = mode & 0x80 ? fz_u32(f) : fz_u16(f) % (h.buf_size + 2);
	s->data_off = fz_u16(f);
	if (!(mode & 0x40))
		s->data_off %= h.buf_size + 1;
	s->flags = fz_u16(f);
}

/* the peer takes from rx or fill with its own ring handle and gives back
 * on done or tx, maybe duplicated, altered, or on another channel */
static void op_peer(struct fz *f, unsigned c)
{
	int from = fz_u8(f) & 1 ? FILL : RX;
	unsigned want = burst_arg(f), got, n = 0;
	uint8_t how = fz_u8(f), to = fz_u8(f);
	struct vlink_desc in[MAXBURST], out[2 * MAXBURST];
	struct chan *dst = &h.ch[to % h.nch];

	got = vlink_ring_dequeue_burst(&h.ch[c].peer[from], in, want);
	FZ_ASSERT(got <= h.ring, "peer dequeued %u from a ring of %u", got, h.ring);
	for (unsigned i = 0; i < got; i++) {
		struct vlink_desc d = in[i];

		switch (how & 3) {
		case 0: break;
		case 1: out[n++] = d; break;                      /* twice */
		case 2: d.len = h.buf_size + 1 - d.data_off; break;
		default: d.pool_offset += how >> 2; break;
		}
		out[n++] = d;
	}
	if (!(how & 0x80))
		dst = &h.ch[c];
	for (unsigned i = 0; i < n; i += MAXBURST)
		vlink_ring_enqueue_burst(&dst->peer[how & 0x40 ? TX : DONE], out + i,
					 n - i < MAXBURST ? n - i : MAXBURST);
}

/* the peer is gone: the host takes back what it never consumed */
static void op_retract(struct fz *f, unsigned c)
{
	int k = fz_u8(f) & 1 ? FILL : RX;
	unsigned max = burst_arg(f), got;
	struct vlink_ring *r = host_ring(c, k);
	struct vlink_ring_hdr *m = h.ch[c].mem[k];
	struct vlink_desc d[MAXBURST], before[MAXRING];
	uint32_t mine = r->mine, tail = m->tail, bad = (uint32_t)r->bad_index;

	memcpy(before, slots(m), h.ring * sizeof(*before));
	got = vlink_ring_retract(r, d, max);
	if (mine - tail > h.ring) {
		FZ_ASSERT(got == 0 && r->bad_index == bad + 1u && r->mine == mine,
			  "retract believed tail %u with head %u", tail, mine);
		return;
	}
	FZ_ASSERT(got == (mine - tail < max ? mine - tail : max), "retracted %u, %u "
		  "unconsumed, max %u", got, mine - tail, max);
	for (unsigned i = 0; i < got; i++)
		FZ_ASSERT(!memcmp(&d[i], &before[(tail + i) & (h.ring - 1)], sizeof(d[i])),
			  "retracted descriptor %u is not what slot %u held", i,
			  (tail + i) & (h.ring - 1));
	if (tail + got == mine)
		FZ_ASSERT(r->mine == tail && m->head == tail && r->theirs == tail,
			  "everything retracted but head %u (published %u), tail %u",
			  r->mine, m->head, tail);
	else
		FZ_ASSERT(r->mine == mine, "a partial retract moved head");
	for (unsigned i = 0; i < got; i++)
		d[i].len = d[i].data_off = 0;
	take_back(d, got, (uint16_t)(c + 1));
}

static void op_reclaim(struct fz *f, unsigned c)
{
	uint16_t ch = fz_u8(f) & 1 ? 0 : (uint16_t)(c + 1);
	uint32_t want = 0;

	for (uint32_t k = 0; k < h.nbufs; k++)
		if (h.model[k] && (!ch || h.model[k] == ch)) {
			h.model[k] = 0;
			want++;
		}
	FZ_ASSERT(vlink_ledger_reclaim(&h.led, ch) == want, "reclaim of channel %u", ch);
}

/* lend one buffer by offset, on any channel number (0 and > nch too) */
static void op_lend_one(struct fz *f, unsigned c)
{
	uint16_t ch = fz_u8(f) % (MAXCH + 2);
	uint8_t mode = fz_u8(f);
	uint64_t off = forged_offset(mode, fz_u32(f)), area = (uint64_t)h.nbufs * h.buf_size;
	int64_t k = -1;
	int want, err;

	(void)c;
	if (off >= h.base && off - h.base < area && (off - h.base) % h.buf_size == 0)
		k = (int64_t)((off - h.base) / h.buf_size);
	FZ_ASSERT(vlink_ledger_index(&h.led, off) == k, "index of %#llx",
		  (unsigned long long)off);
	want = k < 0 || ch == 0 ? -EINVAL : h.model[k] ? -EALREADY : 0;
	err = vlink_ledger_lend(&h.led, off, ch);
	FZ_ASSERT(err == want, "lend %#llx on %u: %d, expected %d", (unsigned long long)off,
		  ch, err, want);
	if (!err)
		h.model[k] = ch;
}

/* the reset handshake's ring step (vlink_epoch_host_clear), on a ring the
 * host produces: empty, whatever the peer's index says */
static void op_reset(struct fz *f, unsigned c)
{
	int k = fz_u8(f) & 1 ? FILL : RX;
	struct vlink_ring *r = host_ring(c, k);
	uint32_t tail = r->hdr->tail;

	vlink_ring_empty(r);
	FZ_ASSERT(r->mine == tail && r->theirs == tail && r->hdr->head == tail &&
		  r->hdr->tail == tail && vlink_ring_free_count(r) == r->size,
		  "emptying left head %u, tail %u (was %u)", r->hdr->head, r->hdr->tail, tail);
}

static int setup(struct fz *f)
{
	static const uint64_t bases[] = { 0, 2ull << 20 };
	uint8_t mode;
	uint64_t area;
	int err, want;

	memset(&h, 0, sizeof(h));
	h.nch = 1 + fz_u8(f) % MAXCH;
	h.ring = 2u << fz_u8(f) % 6;
	h.buf_size = 64u << fz_u8(f) % 6;
	h.nbufs = 1 + fz_u8(f) % 64u;
	area = (uint64_t)h.nbufs * h.buf_size;
	mode = fz_u8(f) % HOST_BASE_N;
	h.base = mode == HOST_BASE_ANY ? fz_u64(f) :
		 mode == HOST_BASE_TOP ? 0 - area : bases[mode];
	/* the ledger takes an area whose last byte is a pool offset */
	want = area - 1 > UINT64_MAX - h.base ? -EINVAL : 0;
	err = vlink_ledger_init(&h.led, h.base, area, h.buf_size);
	FZ_ASSERT(err == want, "ledger_init(%#llx, %llu, %u): %d, expected %d",
		  (unsigned long long)h.base, (unsigned long long)area, h.buf_size, err, want);
	if (err)
		return err;
	h.model = calloc(h.nbufs, sizeof(*h.model));
	h.pool = malloc(area);
	FZ_ASSERT(h.model && h.pool, "out of memory");
	for (unsigned c = 0; c < h.nch; c++)
		for (int k = 0; k < 4; k++) {
			void *m;

			FZ_ASSERT(!posix_memalign(&m, VLINK_CACHELINE, sizeof(struct vlink_ring_hdr) +
						  h.ring * sizeof(struct vlink_desc)),
				  "out of memory");
			memset(m, 0, sizeof(struct vlink_ring_hdr) + h.ring * sizeof(struct vlink_desc));
			h.ch[c].mem[k] = m;
			h.ch[c].mem[k]->size = h.ring;
			FZ_ASSERT(!vlink_ring_attach(host_ring(c, k), m, h.ring, host_produces(k)) &&
				  !vlink_ring_attach(&h.ch[c].peer[k], m, h.ring, !host_produces(k)),
				  "ring attach");
		}
	h.lm.nch = h.nch;
	h.lm.ring_size = h.ring;
	h.he = (struct vlink_hostend){ .m = &h.lm, .led = &h.led, .home = home_cb,
				       .get = get_cb };
	return 0;
}

static void teardown(void)
{
	for (unsigned c = 0; c < h.nch; c++)
		for (int k = 0; k < 4; k++)
			free(h.ch[c].mem[k]);
	vlink_ledger_fini(&h.led);
	free(h.pool);
	free(h.model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const ops[HOST_N])(struct fz *, unsigned) = {
		[HOST_LEND] = op_lend, [HOST_TAKE] = op_take,
		[HOST_FORGE_INDEX] = op_forge_index, [HOST_FORGE_DESC] = op_forge_desc,
		[HOST_PEER] = op_peer, [HOST_RETRACT] = op_retract,
		[HOST_RECLAIM] = op_reclaim, [HOST_LEND_ONE] = op_lend_one,
		[HOST_RESET] = op_reset, [HOST_REFILL] = op_refill,
	};
	struct fz f = { data, size };

	if (setup(&f))
		return 0;
	for (unsigned i = 0; f.n && i < MAXOPS; i++) {
		uint8_t op = fz_u8(&f) % HOST_N;
		unsigned c = fz_u8(&f) % h.nch;

		ops[op](&f, c);
		check_all();
	}
	/* the end of the link: everything comes home */
	op_reclaim(&(struct fz){ (const uint8_t *)"\1", 1 }, 0);
	check_all();
	FZ_ASSERT(h.led.lent == 0, "%u buffers still lent after reclaim", h.led.lent);
	teardown();
	return 0;
}
