/* libFuzzer target: the read side of the control protocol
 * (proto/vlink_frame.c), the envelope decode (proto/vlink_msg.c) and the
 * checks of what a message carries (proto/vlink_valid.c,
 * vlink_msg_check_map()), and the write side on what was decoded.
 *
 * The input is a byte stream sent over an AF_UNIX stream socketpair in
 * pieces, each with its own sendmsg() and any number of fds (0-31; more
 * than 16 truncate), read with vlink_reader as the daemon reads: a partial
 * read, several frames in one read, a bad header, fds on the wrong piece,
 * fds claimed and not sent.  With FRAME_F_VALID the harness frames the
 * payloads itself (correct headers, each frame's fds with its first byte)
 * and the stream must come out whole.  Each fd sent is one of 64 memfds,
 * so the harness knows which fd a frame got.
 *
 * Checked:
 *  - every frame is the next bytes of the stream (header and payload) and
 *    gets the next fds sent, each O_CLOEXEC, none sent after the frame's
 *    first byte's sendmsg;
 *  - a well-formed stream gives every frame and no error; an error is
 *    sticky, says why, and leaves no fd queued;
 *  - no fd is left open when the reader is destroyed (count of
 *    /proc/self/fd);
 *  - a decodable payload has a message; the validators agree with an
 *    independent statement of their rules (names, MACs, channel counts,
 *    ring sizes, sizes and numbers, the memory maps of DomainMap and
 *    LinkMap);
 *  - what decoded, pushed with its fds through vlink_writer (partial writes
 *    with FRAME_F_SMALLBUF) and read back, is the packed envelope with the
 *    same fds. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "testutil.h"
#include "vlink_error.h"
#include "vlink_frame.h"
#include "vlink_msg.h"
#include "vlink_valid.h"

#define NMARK     64       /* distinct fds to send: one memfd each */
#define MAXPIECE  4

static int mark[NMARK];
static ino_t mark_ino[NMARK];
static int base_fds;

/* one input's run */
static struct {
	int sv[2];                     /* sv[0] sends, sv[1] is read */
	struct vlink_reader *r;
	uint8_t *sent;                 /* every byte sent, in order */
	size_t nsent, cap;
	uint64_t fd_to[4 * NMARK];     /* per fd sent: end of the bytes sent with it */
	unsigned fds_sent, fds_got;
	size_t consumed;               /* stream bytes handed out as frames */
	bool valid;
	/* the write side, for the round trip */
	int rt[2];
	struct vlink_writer w;
	struct vlink_reader *rr;
} s;

static void init_marks(void)
{
	for (int i = 0; i < NMARK; i++) {
		struct stat st;

		mark[i] = memfd_create("vlink-fuzz-mark", MFD_CLOEXEC);
		FZ_ASSERT(mark[i] >= 0 && fstat(mark[i], &st) == 0, "memfd: %s",
			  strerror(errno));
		mark_ino[i] = st.st_ino;
	}
}

static int mark_of(int fd)
{
	struct stat st;

	FZ_ASSERT(fstat(fd, &st) == 0, "a received fd is not open: %s", strerror(errno));
	for (int i = 0; i < NMARK; i++)
		if (st.st_ino == mark_ino[i])
			return i;
	return -1;
}

/* ---- validators against their rules, stated again ----------------- */

static bool printable_name(const char *p)
{
	size_t len = strlen(p);

	if (len < 1 || len > VLINK_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return false;
	return true;
}

static void check_name(const char *p)
{
	char why[256] = "";
	int err = vlink_check_name("name", p, why, sizeof(why));

	FZ_ASSERT((err == 0) == printable_name(p), "check_name('%s') = %d", p, err);
	FZ_ASSERT(err == 0 || (err == -EINVAL && *why), "check_name('%s'): %d, why '%s'",
		  p, err, why);
}

static void check_mac(const char *p)
{
	uint8_t mac[6], m[6] = { 0 };
	char why[256] = "", back[VLINK_MAC_STRLEN];
	bool ok = strlen(p) == 17, zero = true;
	int err;

	for (int i = 0; ok && i < 6; i++) {
		char hex[3] = { p[3 * i], p[3 * i + 1], 0 };

		ok = isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1]) &&
		     (i == 5 || p[3 * i + 2] == ':');
		m[i] = (uint8_t)strtoul(hex, NULL, 16);
		zero &= m[i] == 0;
	}
	ok = ok && !(m[0] & 1) && !zero;
	err = vlink_mac_parse(p, mac, why, sizeof(why));
	FZ_ASSERT((err == 0) == ok, "mac_parse('%s') = %d", p, err);
	if (err) {
		FZ_ASSERT(err == -EINVAL && *why, "mac_parse('%s'): %d, why '%s'", p, err, why);
		return;
	}
	FZ_ASSERT(!memcmp(mac, m, 6), "mac_parse('%s') got other bytes", p);
	vlink_mac_format(mac, back);
	for (int i = 0; i < 17; i++)
		FZ_ASSERT(back[i] == tolower((unsigned char)p[i]), "'%s' formats back as '%s'",
			  p, back);
}

static void check_counts(uint64_t nch, uint64_t ring)
{
	bool ring_ok = ring >= VLINK_RING_MIN && ring <= VLINK_RING_MAX &&
		       __builtin_popcountll(ring) == 1;

	FZ_ASSERT(!vlink_check_nchannels(nch, NULL, 0) == (nch >= 1 && nch <= 64),
		  "check_nchannels(%llu)", (unsigned long long)nch);
	FZ_ASSERT(!vlink_check_ring_size(ring, NULL, 0) == ring_ok, "check_ring_size(%llu)",
		  (unsigned long long)ring);
}

/* vlink_parse_uint and vlink_parse_size, computed in 128 bits */
static void check_numbers(const char *p)
{
	size_t len = strlen(p), digits = len;
	unsigned shift = 0;
	unsigned __int128 v = 0;
	bool num = len > 0;
	uint64_t got;
	int err;

	for (size_t i = 0; i < len && num; i++) {
		num = p[i] >= '0' && p[i] <= '9';
		if (v <= UINT64_MAX)
			v = v * 10 + (unsigned)(p[i] - '0');
	}
	err = vlink_parse_uint(p, UINT32_MAX, &got);
	FZ_ASSERT(err == (!num ? -EINVAL : v > UINT32_MAX ? -ERANGE : 0) &&
		  (err || got == v), "parse_uint('%s') = %d", p, err);

	if (len && strchr("kKmMgG", p[len - 1])) {
		shift = p[len - 1] == 'k' || p[len - 1] == 'K' ? 10 :
			p[len - 1] == 'm' || p[len - 1] == 'M' ? 20 : 30;
		digits--;
	}
	num = digits > 0 && len < 32;
	v = 0;
	for (size_t i = 0; i < digits && num; i++) {
		num = p[i] >= '0' && p[i] <= '9';
		if (v <= UINT64_MAX)
			v = v * 10 + (unsigned)(p[i] - '0');
	}
	err = vlink_parse_size(p, &got);
	FZ_ASSERT(err == (!num ? -EINVAL : v << shift > UINT64_MAX ? -ERANGE : 0) &&
		  (err || got == v << shift), "parse_size('%s') = %d", p, err);
}

static void check_string(const char *p)
{
	check_name(p);
	check_mac(p);
	check_numbers(p);
}

/* vlink_msg_check_map's rules, in 128-bit arithmetic */
static bool map_ok(uint64_t pool, size_t nseg, Vlink__Segment *const *seg,
		   const Vlink__ChannelRegion *reg, unsigned nfds)
{
	bool used[32] = { false };
	unsigned __int128 total = 0;

	if (nfds > 32 || !reg || reg->fd_index >= nfds || reg->size == 0 ||
	    reg->size % 4096 || nseg == 0)
		return false;
	used[reg->fd_index] = true;
	for (size_t i = 0; i < nseg; i++) {
		const Vlink__Segment *a = seg[i];
		unsigned __int128 end = (unsigned __int128)a->pool_offset + a->size;

		if (a->fd_index >= nfds || used[a->fd_index])
			return false;
		used[a->fd_index] = true;
		if (a->page_size < 4096 || __builtin_popcountll(a->page_size) != 1 ||
		    a->size == 0 || a->size % a->page_size || a->pool_offset % a->page_size ||
		    end > pool)
			return false;
		for (size_t j = 0; j < i; j++)
			if (a->pool_offset < (unsigned __int128)seg[j]->pool_offset + seg[j]->size &&
			    seg[j]->pool_offset < end)
				return false;
		total += a->size;
	}
	for (unsigned i = 0; i < nfds; i++)
		if (!used[i])
			return false;
	return total <= pool;
}

static void check_map(uint64_t pool, size_t nseg, Vlink__Segment *const *seg,
		      const Vlink__ChannelRegion *reg, unsigned nfds)
{
	char why[256] = "";
	int err = vlink_msg_check_map(pool, nseg, seg, reg, nfds, why, sizeof(why));

	FZ_ASSERT((err == 0) == map_ok(pool, nseg, seg, reg, nfds),
		  "check_map: %d (%s) for %zu segments, %u fds", err, why, nseg, nfds);
	FZ_ASSERT(err == 0 || (err == -EINVAL && *why), "check_map: %d, why '%s'", err, why);
}

static void check_layout(const Vlink__LinkLayout *l)
{
	if (!l)
		return;
	check_string(l->name);
	check_string(l->mac);
	check_name(l->domain);
	check_counts(l->nchannels, l->ring_size);
}

static void check_fields(const Vlink__Envelope *e, unsigned nfds)
{
	switch (e->msg_case) {
	case VLINK__ENVELOPE__MSG_HELLO:
		check_string(e->hello->client);
		break;
	case VLINK__ENVELOPE__MSG_CREATE_LINK:
		check_string(e->create_link->name);
		check_string(e->create_link->mac);
		check_name(e->create_link->domain);
		check_counts(e->create_link->nchannels, e->create_link->ring_size);
		break;
	case VLINK__ENVELOPE__MSG_DELETE_LINK:
		check_string(e->delete_link->name);
		break;
	case VLINK__ENVELOPE__MSG_SHOW_LINK:
		check_string(e->show_link->name);
		break;
	case VLINK__ENVELOPE__MSG_ATTACH_DOMAIN:
		check_string(e->attach_domain->domain);
		break;
	case VLINK__ENVELOPE__MSG_ATTACH_LINK:
		check_string(e->attach_link->link);
		break;
	case VLINK__ENVELOPE__MSG_DOMAIN_MAP: {
		const Vlink__DomainMap *m = e->domain_map;

		check_map(m->pool_size, m->n_segments, m->segments, m->region, nfds);
		for (size_t i = 0; i < m->n_links; i++)
			check_layout(m->links[i]);
		break;
	}
	case VLINK__ENVELOPE__MSG_LINK_MAP: {
		const Vlink__LinkMap *m = e->link_map;

		check_map(m->pool_size, m->n_segments, m->segments, m->region, nfds);
		check_layout(m->link);
		break;
	}
	case VLINK__ENVELOPE__MSG_ERROR:
		check_string(e->error->message);
		break;
	default:
		break;
	}
}

/* ---- the write side: push what decoded, read it back ---------------- */

static void roundtrip(const Vlink__Envelope *e, const struct vlink_frame *f)
{
	size_t len = vlink__envelope__get_packed_size(e);
	uint8_t *packed = malloc(len ? len : 1);
	struct vlink_frame back;
	int err, k = 0;

	FZ_ASSERT(packed, "out of memory");
	vlink__envelope__pack(e, packed);
	err = vlink_msg_push(&s.w, e, f->fds, f->nfds);
	if (len > VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE) {
		FZ_ASSERT(err == -EMSGSIZE, "push of %zu bytes: %d", len, err);
		free(packed);
		return;
	}
	FZ_ASSERT(err == 0, "push: %s", vlink_strerror(err));
	for (int rounds = 0; k == 0; rounds++) {
		err = vlink_writer_flush(&s.w);
		FZ_ASSERT(err == 0 || err == -EAGAIN, "flush: %s", vlink_strerror(err));
		k = vlink_reader_next(s.rr, &back);
		if (k == 0) {
			ssize_t n = vlink_reader_fill(s.rr);

			FZ_ASSERT(n > 0 || n == -EAGAIN, "reading back: %zd (%s)", n,
				  s.rr->why ? s.rr->why : "");
		}
		FZ_ASSERT(k >= 0 && rounds < 100000, "reading back: %d (%s)", k,
			  s.rr->why ? s.rr->why : "stuck");
	}
	FZ_ASSERT(!vlink_writer_pending(&s.w) && s.w.queued == 0, "writer still holds %zu",
		  s.w.queued);
	FZ_ASSERT(back.len == len && !memcmp(back.data, packed, len) && back.nfds == f->nfds,
		  "read back %u bytes %u fds, sent %zu bytes %u fds", back.len, back.nfds,
		  len, f->nfds);
	for (unsigned i = 0; i < back.nfds; i++)
		FZ_ASSERT(mark_of(back.fds[i]) == mark_of(f->fds[i]), "fd %u changed on the way",
			  i);
	vlink_frame_close_fds(&back);
	free(packed);
}

/* ---- the read side --------------------------------------------------- */

static void on_frame(struct vlink_frame *f)
{
	const uint8_t *h = s.sent + s.consumed;
	Vlink__Envelope *e;
	int err;

	FZ_ASSERT(s.consumed + VLINK_FRAME_HDR_SIZE + f->len <= s.nsent,
		  "a frame of %u bytes at %zu, only %zu sent", f->len, s.consumed, s.nsent);
	FZ_ASSERT(h[0] == (VLINK_FRAME_MAGIC & 0xff) && h[1] == VLINK_FRAME_MAGIC >> 8 &&
		  h[2] == VLINK_FRAME_VERSION && h[3] == f->nfds && f->nfds <= 16 &&
		  (uint32_t)(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24) == f->len,
		  "frame at %zu does not match its header", s.consumed);
	FZ_ASSERT(f->data == NULL || f->len == 0 ||
		  !memcmp(f->data, h + VLINK_FRAME_HDR_SIZE, f->len),
		  "payload of the frame at %zu is not what was sent", s.consumed);
	for (unsigned i = 0; i < f->nfds; i++, s.fds_got++) {
		int m = mark_of(f->fds[i]);

		FZ_ASSERT(m == (int)(s.fds_got % NMARK), "frame at %zu got fd #%d as fd %u of "
			  "the stream (want #%u)", s.consumed, m, s.fds_got, s.fds_got % NMARK);
		FZ_ASSERT(s.consumed < s.fd_to[s.fds_got], "frame at %zu got an fd sent with "
			  "bytes that end at %llu", s.consumed,
			  (unsigned long long)s.fd_to[s.fds_got]);
		FZ_ASSERT(fcntl(f->fds[i], F_GETFD) & FD_CLOEXEC, "received fd not O_CLOEXEC");
	}
	s.consumed += VLINK_FRAME_HDR_SIZE + f->len;

	err = vlink_msg_decode(f, &e);
	if (err) {
		FZ_ASSERT(err == -EBADMSG, "decode: %d", err);
	} else {
		FZ_ASSERT(e->msg_case != VLINK__ENVELOPE__MSG__NOT_SET &&
			  strcmp(vlink_msg_name(e->msg_case), "unknown"),
			  "decoded an envelope without a message");
		check_fields(e, f->nfds);
		roundtrip(e, f);
		vlink_msg_free(e);
	}
	vlink_frame_close_fds(f);
}

static void check_sticky(int err)
{
	struct vlink_frame f;

	FZ_ASSERT(s.r->error == err && s.r->why && *s.r->why, "error %d, reason '%s'",
		  err, s.r->why ? s.r->why : "(none)");
	FZ_ASSERT(s.r->nfdq == 0, "%u fds still queued after an error", s.r->nfdq);
	FZ_ASSERT(vlink_reader_next(s.r, &f) == err && f.nfds == 0 &&
		  vlink_reader_fill(s.r) == err, "error %d is not sticky", err);
	FZ_ASSERT(!s.valid, "a well-formed stream was refused at %zu: %s", s.consumed,
		  s.r->why);
}

/* Read what is there; true at end of stream or after an error. */
static bool drain(void)
{
	struct vlink_frame f;

	for (;;) {
		int k = vlink_reader_next(s.r, &f);
		ssize_t n;

		if (k == 1) {
			on_frame(&f);
			continue;
		}
		if (k < 0) {
			check_sticky(k);
			return true;
		}
		n = vlink_reader_fill(s.r);
		if (n == -EAGAIN)
			return false;
		FZ_ASSERT(n != -ENOBUFS, "buffer full without a whole frame in it");
		if (n == 0)
			return true;
		if (n < 0) {
			check_sticky((int)n);
			return true;
		}
	}
}

/* One sendmsg of len bytes with nfds fds (the next marks), all of it,
 * reading whenever the socket is full. */
static void send_piece(const uint8_t *p, size_t len, unsigned nfds)
{
	int fds[FZ_MAX_SEND];

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = mark[(s.fds_sent + i) % NMARK];
	while (len) {
		ssize_t n = fz_sendmsg(s.sv[0], p, len, fds, nfds);

		if (n < 0) {
			FZ_ASSERT(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET,
				  "sendmsg: %s", strerror(errno));
			if (errno != EAGAIN || drain())
				return; /* the reader gave up: the rest goes nowhere */
			continue;
		}
		if (s.nsent + (size_t)n > s.cap) {
			s.cap = 2 * (s.nsent + (size_t)n);
			s.sent = realloc(s.sent, s.cap);
			FZ_ASSERT(s.sent, "out of memory");
		}
		memcpy(s.sent + s.nsent, p, (size_t)n);
		s.nsent += (size_t)n;
		for (unsigned i = 0; i < nfds; i++)
			s.fd_to[s.fds_sent++] = s.nsent;
		nfds = 0;
		p += n;
		len -= (size_t)n;
	}
}

/* well-formed: each frame's pieces, its fds with the first; an fd-less
 * frame may ride on the previous piece's sendmsg */
static void run_valid(struct fz *f)
{
	uint8_t *pend = malloc(2 * VLINK_FRAME_MAX);
	size_t npend = 0;
	unsigned pend_fds = 0;

	FZ_ASSERT(pend, "out of memory");
	while (f->n) {
		unsigned nfds = fz_u8(f) % (VLINK_FRAME_MAX_FDS + 1);
		uint8_t split = fz_u8(f);
		size_t len = fz_u16(f), got, total;
		const uint8_t *payload;
		uint8_t frame[VLINK_FRAME_MAX];
		unsigned pieces = 1 + (split & FRAME_SPLIT_PIECES);

		if (s.fds_sent + nfds > sizeof(s.fd_to) / sizeof(s.fd_to[0]) - FZ_MAX_SEND)
			nfds = 0;
		if (len > VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE)
			len = VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE;
		payload = fz_bytes(f, len, &got);
		total = VLINK_FRAME_HDR_SIZE + got;
		fz_frame_header(frame, got, nfds);
		memcpy(frame + VLINK_FRAME_HDR_SIZE, payload, got);
		for (unsigned k = 0; k < pieces; k++) {
			size_t from = total * k / pieces, to = total * (k + 1) / pieces;

			if (!(k == 0 && nfds == 0 && (split & FRAME_SPLIT_JOIN))) {
				send_piece(pend, npend, pend_fds);
				npend = 0;
				pend_fds = k == 0 ? nfds : 0;
			}
			memcpy(pend + npend, frame + from, to - from);
			npend += to - from;
		}
	}
	send_piece(pend, npend, pend_fds);
	free(pend);
}

static void run_raw(struct fz *f)
{
	while (f->n) {
		uint8_t ctl = fz_u8(f);
		size_t len = fz_u16(f), got;
		const uint8_t *p = fz_bytes(f, len, &got);
		unsigned nfds = got ? ctl & FRAME_RAW_NFDS : 0;

		if (s.fds_sent + nfds > sizeof(s.fd_to) / sizeof(s.fd_to[0]) - FZ_MAX_SEND)
			nfds = 0;
		send_piece(p, got, nfds);
		if ((ctl & FRAME_RAW_DRAIN) && drain())
			return;
	}
}

static void pair(int sv[2], bool small)
{
	int sz = 4096;

	FZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
		  "socketpair: %s", strerror(errno));
	if (small)
		FZ_ASSERT(!setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) &&
			  !setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)),
			  "setsockopt: %s", strerror(errno));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t flags = fz_u8(&f);
	bool ended;

	/* counted for each input: libFuzzer itself opens pipes between inputs
	 * (to symbolize a new function it prints) */
	if (!mark_ino[0])
		init_marks();
	base_fds = count_fds();
	memset(&s, 0, sizeof(s));
	s.valid = flags & FRAME_F_VALID;
	s.r = malloc(sizeof(*s.r));
	s.rr = malloc(sizeof(*s.rr));
	FZ_ASSERT(s.r && s.rr, "out of memory");
	pair(s.sv, flags & FRAME_F_SMALLBUF);
	pair(s.rt, flags & FRAME_F_SMALLBUF);
	FZ_ASSERT(fcntl(s.rt[0], F_SETFL, O_NONBLOCK) == 0, "fcntl");
	vlink_reader_init(s.r, s.sv[1]);
	vlink_reader_init(s.rr, s.rt[1]);
	vlink_writer_init(&s.w, s.rt[0]);

	if (s.valid)
		run_valid(&f);
	else
		run_raw(&f);
	shutdown(s.sv[0], SHUT_WR);
	ended = drain();
	FZ_ASSERT(ended, "no end of stream after shutdown");
	if (s.valid)
		FZ_ASSERT(s.consumed == s.nsent && !s.r->error && s.fds_got == s.fds_sent &&
			  vlink_reader_pending(s.r) == 0, "well-formed stream: %zu of %zu bytes "
			  "and %u of %u fds came out", s.consumed, s.nsent, s.fds_got, s.fds_sent);

	vlink_reader_destroy(s.r);
	vlink_reader_destroy(s.rr);
	vlink_writer_destroy(&s.w);
	close(s.sv[0]);
	close(s.sv[1]);
	close(s.rt[0]);
	close(s.rt[1]);
	free(s.r);
	free(s.rr);
	free(s.sent);
	FZ_ASSERT(count_fds() == base_fds, "%d fds open, %d before the input", count_fds(),
		  base_fds);
	return 0;
}
