/* Unit tests for proto/vlink_frame.c (stream framing with fd passing) and
 * proto/vlink_msg.c (Envelopes on frames, map checks).
 *
 * Every test talks over an AF_UNIX SOCK_STREAM socketpair(): sv[0] is the
 * writing end, sv[1] the reading end.  Raw frames are built by hand where the
 * test needs control over the bytes (split points, bad headers, fds on the
 * wrong piece); everything else goes through vlink_writer / vlink_msg_push.
 * Every test checks at its end that it left no fd open. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "testutil.h"
#include "vlink_frame.h"
#include "vlink_msg.h"

#define HDR          VLINK_FRAME_HDR_SIZE
#define MAX_PAYLOAD  (VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE)
#define MAX_FDS      VLINK_FRAME_MAX_FDS
#define SEND_FDS_MAX 32          /* send_raw() can pass this many fds */
#define WHY_LEN      256
#define MiB          (1024ull * 1024)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* protobuf-c wants char * for strings; the fixtures are literals */
#define S(x) ((char *)(x))

/* The test must close everything it opened: compare with the count taken
 * at its start. */
#define ASSERT_NO_FD_LEAK(before)                                             \
	do {                                                                  \
		int now_ = count_fds();                                       \
		ck_assert_msg(now_ == (before),                               \
			      "fd leak: %d fds open at the start, %d at the end", \
			      (before), now_);                                \
	} while (0)

/* ====================================================== generic helpers */

static void make_pair(int sv[2])
{
	ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
		      "socketpair: %s", strerror(errno));
}

static void close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* Write a frame header with arbitrary field values. */
static void put_hdr(uint8_t *p, uint16_t magic, uint8_t version, uint8_t nfds,
		    uint32_t len)
{
	p[0] = magic & 0xff;
	p[1] = magic >> 8;
	p[2] = version;
	p[3] = nfds;
	for (int i = 0; i < 4; i++)
		p[4 + i] = (len >> (8 * i)) & 0xff;
}

/* A well-formed frame in buf: header claiming nfds, then the payload.
 * Returns its size. */
static size_t make_frame(uint8_t *buf, uint8_t nfds, const void *payload, uint32_t len)
{
	put_hdr(buf, VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, nfds, len);
	if (len)
		memcpy(buf + HDR, payload, len);
	return HDR + len;
}

/* One sendmsg() of len bytes with nfds fds as SCM_RIGHTS (none when 0);
 * the whole buffer must go out. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SEND_FDS_MAX)];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	ck_assert_uint_le(nfds, SEND_FDS_MAX);
	ck_assert_msg(nfds == 0 || fds != NULL, "send_raw: %u fds but no array", nfds);
	if (fds != NULL && nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	ck_assert_msg(n == (ssize_t)len, "sendmsg of %zu bytes with %u fds: %zd (%s)",
		      len, nfds, n, n < 0 ? strerror(errno) : "short");
}

/* n fresh, distinct temporary files, made in a private directory from
 * make_tmpdir().  Files and directory are removed at once (the fds keep the
 * files alive), so nothing is left behind even when a test fails. */
static void open_files(unsigned n, int *fds)
{
	char *dir = make_tmpdir();

	ck_assert_msg(dir != NULL, "make_tmpdir: %s", strerror(errno));
	for (unsigned i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/fd%u-XXXXXX", dir, i);
		fds[i] = mkostemp(path, O_CLOEXEC);
		if (fds[i] < 0 || unlink(path) != 0) {
			int e = errno;

			rm_rf(dir);
			ck_abort_msg("temp file %s: %s", path, strerror(e));
		}
	}
	ck_assert_msg(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
	free(dir);
}

/* n fds on /dev/null, for tests that only count fds. */
static void open_null(unsigned n, int *fds)
{
	for (unsigned i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		ck_assert_msg(fds[i] >= 0, "open /dev/null: %s", strerror(errno));
	}
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* `got` (received) and `orig` (sent) are the same open file: same inode and
 * a pattern written through `got` reads back through `orig`.  `got` must be
 * a new descriptor with FD_CLOEXEC. */
static void assert_same_file(int orig, int got, const char *what, unsigned i)
{
	static unsigned serial;
	struct stat a, b;
	char pat[96], back[96];
	int len, fl;

	ck_assert_msg(got >= 0 && got != orig, "%s: fd %u: received %d for sent %d",
		      what, i, got, orig);
	fl = fcntl(got, F_GETFD);
	ck_assert_msg(fl >= 0, "%s: fd %u: received fd %d is not open", what, i, got);
	ck_assert_msg(fl & FD_CLOEXEC, "%s: fd %u: received fd %d lacks FD_CLOEXEC",
		      what, i, got);
	ck_assert_int_eq(fstat(orig, &a), 0);
	ck_assert_int_eq(fstat(got, &b), 0);
	ck_assert_msg(a.st_ino == b.st_ino && a.st_dev == b.st_dev,
		      "%s: fd %u: received fd is another file (ino %lu/%lu)", what, i,
		      (unsigned long)b.st_ino, (unsigned long)a.st_ino);
	len = snprintf(pat, sizeof(pat), "[%s #%u serial %u]", what, i, ++serial);
	ck_assert_int_eq(pwrite(got, pat, (size_t)len, 0), len);
	memset(back, 0, sizeof(back));
	ck_assert_int_eq(pread(orig, back, (size_t)len, 0), len);
	ck_assert_msg(memcmp(pat, back, (size_t)len) == 0,
		      "%s: fd %u: wrote '%s' through the received fd, read '%.*s'",
		      what, i, pat, len, back);
}

/* The frame carries exactly n fds, the same files as orig[], in order. */
static void assert_frame_fds(const struct vlink_frame *f, const int *orig, unsigned n,
			     const char *what)
{
	ck_assert_msg(f->nfds == n, "%s: frame carries %u fds, want %u", what, f->nfds, n);
	for (unsigned i = 0; i < n; i++) {
		assert_same_file(orig[i], f->fds[i], what, i);
		for (unsigned j = 0; j < i; j++)
			ck_assert_msg(f->fds[i] != f->fds[j], "%s: fds %u and %u both %d",
				      what, j, i, f->fds[i]);
	}
}

/* Alternate vlink_reader_next() and vlink_reader_fill() until a frame comes
 * out (1), the socket has nothing more for now or is at EOF (0), or the
 * reader fails (negative errno). */
static int get_frame(struct vlink_reader *r, struct vlink_frame *f)
{
	for (;;) {
		int k = vlink_reader_next(r, f);
		ssize_t n;

		if (k != 0)
			return k;
		n = vlink_reader_fill(r);
		if (n == -EAGAIN || n == 0)
			return 0;
		if (n < 0)
			return (int)n;
	}
}

static void expect_frame(struct vlink_reader *r, struct vlink_frame *f, const char *what)
{
	int k = get_frame(r, f);

	ck_assert_msg(k == 1, "%s: no frame: %d (%s), why: %s", what, k,
		      k < 0 ? strerror(-k) : "need more bytes", r->why ? r->why : "-");
}

/* Nothing more is in the socket, nothing buffered, no error. */
static void expect_drained(struct vlink_reader *r, const char *what)
{
	struct vlink_frame f;
	int k = get_frame(r, &f);

	ck_assert_msg(k == 0, "%s: expected no more frames, got %d (why: %s)", what, k,
		      r->why ? r->why : "-");
	ck_assert_msg(vlink_reader_pending(r) == 0, "%s: %zu bytes left over", what,
		      vlink_reader_pending(r));
	ck_assert_uint_eq(r->nfdq, 0);
	ck_assert_int_eq(r->error, 0);
}

/* Pack an Error envelope (id, code = id, message) into buf. */
static size_t pack_error_env(uint8_t *buf, size_t cap, uint32_t id, const char *message)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Error err = VLINK__ERROR__INIT;
	size_t len;

	err.code = id;
	err.message = S(message);
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_ERROR;
	env.error = &err;
	len = vlink__envelope__get_packed_size(&env);
	ck_assert_uint_le(len, cap);
	ck_assert_uint_eq(vlink__envelope__pack(&env, buf), len);
	return len;
}

/* The frame holds the Error envelope pack_error_env(id, message) made. */
static void assert_error_env(const struct vlink_frame *f, uint32_t id, const char *message)
{
	Vlink__Envelope *e = NULL;
	int err = vlink_msg_decode(f, &e);

	ck_assert_msg(err == 0, "frame %u: decode failed: %d", id, err);
	ck_assert_int_eq(e->msg_case, VLINK__ENVELOPE__MSG_ERROR);
	ck_assert_uint_eq(e->id, id);
	ck_assert_uint_eq(e->error->code, id);
	ck_assert_str_eq(e->error->message, message);
	vlink_msg_free(e);
}

/* A frame of payload pack_error_env(id, "frame <id>") claiming nfds. */
static size_t make_error_frame(uint8_t *buf, size_t cap, uint32_t id, uint8_t nfds)
{
	uint8_t payload[128];
	char text[32];
	size_t len;

	snprintf(text, sizeof(text), "frame %u", id);
	len = pack_error_env(payload, sizeof(payload), id, text);
	ck_assert_uint_le(HDR + len, cap);
	return make_frame(buf, nfds, payload, (uint32_t)len);
}

static void expect_error_frame(struct vlink_reader *r, uint32_t id, const int *fds,
			       unsigned nfds)
{
	struct vlink_frame f;
	char text[32], what[48];

	snprintf(text, sizeof(text), "frame %u", id);
	snprintf(what, sizeof(what), "frame %u", id);
	expect_frame(r, &f, what);
	assert_frame_fds(&f, fds, nfds, what);
	assert_error_env(&f, id, text);
	vlink_frame_close_fds(&f);
	ck_assert_uint_eq(f.nfds, 0);
}

/* ================================================= message fixtures */

static const char *const NAMES[2] = { "uplink", "backhaul-7" };
static const char *const MACS[2] = { "02:00:00:00:00:01", "02:ab:cd:ef:01:ff" };
static const char *const DOMAINS[2] = { "default", "dom-b" };
#define FIX_POOL_SIZE   (8 * MiB)
#define FIX_REGION_SIZE 0x21000u
#define FIX_PAGE        (2 * MiB)
#define FIX_NFDS        3        /* region fd 0, segments fd 1 and 2 */

/* One instance of every message the Envelope can carry, with values that
 * differ from the defaults (so they are really on the wire). */
struct fixture {
	char long_text[301];
	Vlink__Hello hello;
	Vlink__HelloReply hello_reply;
	Vlink__CreateLink create_link;
	Vlink__DeleteLink delete_link;
	Vlink__ListLinks list_links;
	Vlink__ShowLink show_link;
	Vlink__Status status;
	Vlink__Monitor monitor;
	Vlink__AttachDomain attach_domain;
	Vlink__AttachLink attach_link;
	Vlink__Detach detach;
	Vlink__ChannelLayout chan[2][2];
	Vlink__ChannelLayout *chanp[2][2];
	Vlink__LinkLayout layout[2];
	Vlink__LinkLayout *layoutp[2];
	Vlink__Segment seg[2];
	Vlink__Segment *segp[2];
	Vlink__ChannelRegion region;
	Vlink__DomainMap domain_map;
	Vlink__LinkMap link_map;
	Vlink__LinkInfo info[2];
	Vlink__LinkInfo *infop[2];
	Vlink__LinkList link_list;
	Vlink__ClientInfo client[2];
	Vlink__ClientInfo *clientp[2];
	Vlink__DomainInfo domain;
	Vlink__DomainInfo *domainp[1];
	Vlink__StatusReply status_reply;
	Vlink__Event event;
	Vlink__Ok ok;
	Vlink__Error error;
};

static void fill_layout(struct fixture *fx, unsigned k)
{
	Vlink__LinkLayout *l = &fx->layout[k];

	*l = (Vlink__LinkLayout)VLINK__LINK_LAYOUT__INIT;
	l->name = S(NAMES[k]);
	l->mac = S(MACS[k]);
	l->nchannels = 2;
	l->ring_size = 256u << k;
	l->domain = S(DOMAINS[k]);
	l->header_offset = 0x1000ull * (k + 1);
	l->ring_stride = 0x4000 + 64 * k;
	for (unsigned j = 0; j < 2; j++) {
		Vlink__ChannelLayout *c = &fx->chan[k][j];

		*c = (Vlink__ChannelLayout)VLINK__CHANNEL_LAYOUT__INIT;
		c->channel = j + 1;
		c->rx = 0x10000ull * (j + 1) + 0x100ull * k;
		c->done = c->rx + 0x40;
		c->fill = c->rx + 0x80;
		c->tx = c->rx + 0xc0;
		fx->chanp[k][j] = c;
	}
	l->n_channels = 2;
	l->channels = fx->chanp[k];
	l->buf_offset = (1ull << 33) + 4096ull * k;  /* > 32 bits on purpose */
	l->buf_area = 3ull << 32;
	l->buf_size = 2048 + k;
	l->epoch = 7 + k;
	fx->layoutp[k] = l;
}

static void check_layout(const Vlink__LinkLayout *l, unsigned k)
{
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l->name, NAMES[k]);
	ck_assert_str_eq(l->mac, MACS[k]);
	ck_assert_uint_eq(l->nchannels, 2);
	ck_assert_uint_eq(l->ring_size, 256u << k);
	ck_assert_str_eq(l->domain, DOMAINS[k]);
	ck_assert_uint_eq(l->header_offset, 0x1000ull * (k + 1));
	ck_assert_uint_eq(l->ring_stride, 0x4000 + 64 * k);
	ck_assert_uint_eq(l->n_channels, 2);
	for (unsigned j = 0; j < 2; j++) {
		const Vlink__ChannelLayout *c = l->channels[j];
		uint64_t rx = 0x10000ull * (j + 1) + 0x100ull * k;

		ck_assert_uint_eq(c->channel, j + 1);
		ck_assert_uint_eq(c->rx, rx);
		ck_assert_uint_eq(c->done, rx + 0x40);
		ck_assert_uint_eq(c->fill, rx + 0x80);
		ck_assert_uint_eq(c->tx, rx + 0xc0);
	}
	ck_assert_uint_eq(l->buf_offset, (1ull << 33) + 4096ull * k);
	ck_assert_uint_eq(l->buf_area, 3ull << 32);
	ck_assert_uint_eq(l->buf_size, 2048 + k);
	ck_assert_uint_eq(l->epoch, 7 + k);
}

/* Segment j: [j * 4 MiB, + (j + 1) * 2 MiB) of 2 MiB pages, fd j + 1; the
 * region is fd 0. */
static void fill_memory(struct fixture *fx)
{
	for (unsigned j = 0; j < 2; j++) {
		Vlink__Segment *s = &fx->seg[j];

		*s = (Vlink__Segment)VLINK__SEGMENT__INIT;
		s->index = j;
		s->pool_offset = 4 * MiB * j;
		s->size = 2 * MiB * (j + 1);
		s->page_size = FIX_PAGE;
		s->fd_index = j + 1;
		fx->segp[j] = s;
	}
	fx->region = (Vlink__ChannelRegion)VLINK__CHANNEL_REGION__INIT;
	fx->region.size = FIX_REGION_SIZE;
	fx->region.fd_index = 0;
}

static void check_memory(uint64_t pool_size, size_t nseg, Vlink__Segment *const *segs,
			 const Vlink__ChannelRegion *reg)
{
	char why[WHY_LEN] = "";

	ck_assert_uint_eq(pool_size, FIX_POOL_SIZE);
	ck_assert_uint_eq(nseg, 2);
	for (unsigned j = 0; j < 2; j++) {
		ck_assert_uint_eq(segs[j]->index, j);
		ck_assert_uint_eq(segs[j]->pool_offset, 4 * MiB * j);
		ck_assert_uint_eq(segs[j]->size, 2 * MiB * (j + 1));
		ck_assert_uint_eq(segs[j]->page_size, FIX_PAGE);
		ck_assert_uint_eq(segs[j]->fd_index, j + 1);
	}
	ck_assert_ptr_nonnull(reg);
	ck_assert_uint_eq(reg->size, FIX_REGION_SIZE);
	ck_assert_uint_eq(reg->fd_index, 0);
	/* what arrived is a map the clients accept */
	ck_assert_msg(vlink_msg_check_map(pool_size, nseg, segs, reg, FIX_NFDS, why,
					  sizeof(why)) == 0,
		      "decoded map refused: %s", why);
}

static void fixture_init(struct fixture *fx)
{
	memset(fx->long_text, 'x', sizeof(fx->long_text) - 1);
	memcpy(fx->long_text, "check_frame ", 12);
	fx->long_text[sizeof(fx->long_text) - 1] = '\0';

	fx->hello = (Vlink__Hello)VLINK__HELLO__INIT;
	fx->hello.role = VLINK__ROLE__ROLE_PEER;
	fx->hello.version = VLINK_PROTOCOL_VERSION;
	fx->hello.client = fx->long_text;   /* 300 bytes: two-byte length */

	fx->hello_reply = (Vlink__HelloReply)VLINK__HELLO_REPLY__INIT;
	fx->hello_reply.daemon_version = S("vlinkd 1.2.3");
	fx->hello_reply.daemon_id = S("3f2a9c0d-daemon");
	fx->hello_reply.version = 77;
	fx->hello_reply.start_time = 0x1122334455667788ull;

	fx->create_link = (Vlink__CreateLink)VLINK__CREATE_LINK__INIT;
	fx->create_link.name = S(NAMES[0]);
	fx->create_link.mac = S(MACS[0]);
	fx->create_link.nchannels = 64;
	fx->create_link.ring_size = 4096;
	fx->create_link.domain = S(DOMAINS[1]);

	fx->delete_link = (Vlink__DeleteLink)VLINK__DELETE_LINK__INIT;
	fx->delete_link.name = S(NAMES[1]);
	fx->delete_link.force = 1;

	fx->list_links = (Vlink__ListLinks)VLINK__LIST_LINKS__INIT;

	fx->show_link = (Vlink__ShowLink)VLINK__SHOW_LINK__INIT;
	fx->show_link.name = S(NAMES[0]);

	fx->status = (Vlink__Status)VLINK__STATUS__INIT;
	fx->monitor = (Vlink__Monitor)VLINK__MONITOR__INIT;

	fx->attach_domain = (Vlink__AttachDomain)VLINK__ATTACH_DOMAIN__INIT;
	fx->attach_domain.domain = S(DOMAINS[1]);

	fx->attach_link = (Vlink__AttachLink)VLINK__ATTACH_LINK__INIT;
	fx->attach_link.link = S(NAMES[1]);
	fx->attach_link.end = VLINK__END__END_HOST;

	fx->detach = (Vlink__Detach)VLINK__DETACH__INIT;

	fill_layout(fx, 0);
	fill_layout(fx, 1);
	fill_memory(fx);

	fx->domain_map = (Vlink__DomainMap)VLINK__DOMAIN_MAP__INIT;
	fx->domain_map.domain = S(DOMAINS[1]);
	fx->domain_map.pool_size = FIX_POOL_SIZE;
	fx->domain_map.n_segments = 2;
	fx->domain_map.segments = fx->segp;
	fx->domain_map.region = &fx->region;
	fx->domain_map.n_links = 2;
	fx->domain_map.links = fx->layoutp;
	fx->domain_map.generation = 0xfffffffe;

	fx->link_map = (Vlink__LinkMap)VLINK__LINK_MAP__INIT;
	fx->link_map.domain = S(DOMAINS[0]);
	fx->link_map.pool_size = FIX_POOL_SIZE;
	fx->link_map.n_segments = 2;
	fx->link_map.segments = fx->segp;
	fx->link_map.region = &fx->region;
	fx->link_map.link = &fx->layout[1];
	fx->link_map.end = VLINK__END__END_PEER;
	fx->link_map.generation = 5;

	for (unsigned k = 0; k < 2; k++) {
		Vlink__LinkInfo *i = &fx->info[k];

		*i = (Vlink__LinkInfo)VLINK__LINK_INFO__INIT;
		i->layout = &fx->layout[k];
		i->host_attached = k == 0;
		i->peer_attached = k == 1;
		i->from_config = 1;
		fx->infop[k] = i;
	}
	fx->link_list = (Vlink__LinkList)VLINK__LINK_LIST__INIT;
	fx->link_list.n_links = 2;
	fx->link_list.links = fx->infop;

	for (unsigned k = 0; k < 2; k++) {
		Vlink__ClientInfo *c = &fx->client[k];

		*c = (Vlink__ClientInfo)VLINK__CLIENT_INFO__INIT;
		c->id = 100 + k;
		c->role = k ? VLINK__ROLE__ROLE_QEMU : VLINK__ROLE__ROLE_ADMIN;
		c->pid = 4000000 + k;
		c->uid = 1000 * k;
		c->client = S(k ? "qemu-system-x86_64" : "vlinkctl");
		c->attached = S(k ? "domain dom-b" : "");
		fx->clientp[k] = c;
	}
	fx->domain = (Vlink__DomainInfo)VLINK__DOMAIN_INFO__INIT;
	fx->domain.name = S(DOMAINS[1]);
	fx->domain.pool_size = 1ull << 40;
	fx->domain.pool_used = 6 * MiB;
	fx->domain.page_size = FIX_PAGE;
	fx->domain.hugepages = 1;
	fx->domain.nsegments = 2;
	fx->domain.region_size = FIX_REGION_SIZE;
	fx->domain.nlinks = 2;
	fx->domainp[0] = &fx->domain;

	fx->status_reply = (Vlink__StatusReply)VLINK__STATUS_REPLY__INIT;
	fx->status_reply.daemon_version = S("vlinkd 1.2.3");
	fx->status_reply.daemon_id = S("3f2a9c0d-daemon");
	fx->status_reply.uptime = 86400ull * 365;
	fx->status_reply.pid = 4242;
	fx->status_reply.n_clients = 2;
	fx->status_reply.clients = fx->clientp;
	fx->status_reply.n_domains = 1;
	fx->status_reply.domains = fx->domainp;
	fx->status_reply.nlinks = 2;

	fx->event = (Vlink__Event)VLINK__EVENT__INIT;
	fx->event.kind = VLINK__EVENT__KIND__END_DOWN;
	fx->event.link = S(NAMES[0]);
	fx->event.domain = S(DOMAINS[1]);
	fx->event.end = VLINK__END__END_PEER;

	fx->ok = (Vlink__Ok)VLINK__OK__INIT;

	fx->error = (Vlink__Error)VLINK__ERROR__INIT;
	fx->error.code = EEXIST;
	fx->error.message = S("link \"uplink\" exists");
}

/* Every member of the Envelope's oneof, with its field name. */
static const struct {
	Vlink__Envelope__MsgCase c;
	const char *name;
} CASES[] = {
	{ VLINK__ENVELOPE__MSG_HELLO, "hello" },
	{ VLINK__ENVELOPE__MSG_HELLO_REPLY, "hello_reply" },
	{ VLINK__ENVELOPE__MSG_CREATE_LINK, "create_link" },
	{ VLINK__ENVELOPE__MSG_DELETE_LINK, "delete_link" },
	{ VLINK__ENVELOPE__MSG_LIST_LINKS, "list_links" },
	{ VLINK__ENVELOPE__MSG_SHOW_LINK, "show_link" },
	{ VLINK__ENVELOPE__MSG_STATUS, "status" },
	{ VLINK__ENVELOPE__MSG_MONITOR, "monitor" },
	{ VLINK__ENVELOPE__MSG_ATTACH_DOMAIN, "attach_domain" },
	{ VLINK__ENVELOPE__MSG_ATTACH_LINK, "attach_link" },
	{ VLINK__ENVELOPE__MSG_DETACH, "detach" },
	{ VLINK__ENVELOPE__MSG_DOMAIN_MAP, "domain_map" },
	{ VLINK__ENVELOPE__MSG_LINK_MAP, "link_map" },
	{ VLINK__ENVELOPE__MSG_LINK_INFO, "link_info" },
	{ VLINK__ENVELOPE__MSG_LINK_LIST, "link_list" },
	{ VLINK__ENVELOPE__MSG_STATUS_REPLY, "status_reply" },
	{ VLINK__ENVELOPE__MSG_EVENT, "event" },
	{ VLINK__ENVELOPE__MSG_OK, "ok" },
	{ VLINK__ENVELOPE__MSG_ERROR, "error" },
};

/* Request ids: distinct per message and fd count; an event has id 0 and the
 * Error the largest id there is. */
static uint32_t env_id(Vlink__Envelope__MsgCase c, unsigned nfds)
{
	if (c == VLINK__ENVELOPE__MSG_EVENT)
		return 0;
	if (c == VLINK__ENVELOPE__MSG_ERROR)
		return UINT32_MAX;
	return 0x10000u * (uint32_t)c + nfds + 1;
}

static void build_env(struct fixture *fx, Vlink__Envelope *env, Vlink__Envelope__MsgCase c,
		      uint32_t id)
{
	*env = (Vlink__Envelope)VLINK__ENVELOPE__INIT;
	env->id = id;
	env->msg_case = c;
	switch (c) {
	case VLINK__ENVELOPE__MSG_HELLO: env->hello = &fx->hello; break;
	case VLINK__ENVELOPE__MSG_HELLO_REPLY: env->hello_reply = &fx->hello_reply; break;
	case VLINK__ENVELOPE__MSG_CREATE_LINK: env->create_link = &fx->create_link; break;
	case VLINK__ENVELOPE__MSG_DELETE_LINK: env->delete_link = &fx->delete_link; break;
	case VLINK__ENVELOPE__MSG_LIST_LINKS: env->list_links = &fx->list_links; break;
	case VLINK__ENVELOPE__MSG_SHOW_LINK: env->show_link = &fx->show_link; break;
	case VLINK__ENVELOPE__MSG_STATUS: env->status = &fx->status; break;
	case VLINK__ENVELOPE__MSG_MONITOR: env->monitor = &fx->monitor; break;
	case VLINK__ENVELOPE__MSG_ATTACH_DOMAIN: env->attach_domain = &fx->attach_domain; break;
	case VLINK__ENVELOPE__MSG_ATTACH_LINK: env->attach_link = &fx->attach_link; break;
	case VLINK__ENVELOPE__MSG_DETACH: env->detach = &fx->detach; break;
	case VLINK__ENVELOPE__MSG_DOMAIN_MAP: env->domain_map = &fx->domain_map; break;
	case VLINK__ENVELOPE__MSG_LINK_MAP: env->link_map = &fx->link_map; break;
	case VLINK__ENVELOPE__MSG_LINK_INFO: env->link_info = &fx->info[1]; break;
	case VLINK__ENVELOPE__MSG_LINK_LIST: env->link_list = &fx->link_list; break;
	case VLINK__ENVELOPE__MSG_STATUS_REPLY: env->status_reply = &fx->status_reply; break;
	case VLINK__ENVELOPE__MSG_EVENT: env->event = &fx->event; break;
	case VLINK__ENVELOPE__MSG_OK: env->ok = &fx->ok; break;
	case VLINK__ENVELOPE__MSG_ERROR: env->error = &fx->error; break;
	default: ck_abort_msg("no fixture for message case %d", (int)c);
	}
}

/* The decoded envelope carries what build_env() put in. */
static void check_env(const struct fixture *fx, const Vlink__Envelope *e,
		      Vlink__Envelope__MsgCase c, uint32_t id)
{
	ck_assert_msg(e->msg_case == c, "decoded %s, sent %s", vlink_msg_name(e->msg_case),
		      vlink_msg_name(c));
	ck_assert_uint_eq(e->id, id);
	switch (c) {
	case VLINK__ENVELOPE__MSG_HELLO:
		ck_assert_int_eq(e->hello->role, VLINK__ROLE__ROLE_PEER);
		ck_assert_uint_eq(e->hello->version, VLINK_PROTOCOL_VERSION);
		ck_assert_str_eq(e->hello->client, fx->long_text);
		break;
	case VLINK__ENVELOPE__MSG_HELLO_REPLY:
		ck_assert_str_eq(e->hello_reply->daemon_version, "vlinkd 1.2.3");
		ck_assert_str_eq(e->hello_reply->daemon_id, "3f2a9c0d-daemon");
		ck_assert_uint_eq(e->hello_reply->version, 77);
		ck_assert_uint_eq(e->hello_reply->start_time, 0x1122334455667788ull);
		break;
	case VLINK__ENVELOPE__MSG_CREATE_LINK:
		ck_assert_str_eq(e->create_link->name, NAMES[0]);
		ck_assert_str_eq(e->create_link->mac, MACS[0]);
		ck_assert_uint_eq(e->create_link->nchannels, 64);
		ck_assert_uint_eq(e->create_link->ring_size, 4096);
		ck_assert_str_eq(e->create_link->domain, DOMAINS[1]);
		break;
	case VLINK__ENVELOPE__MSG_DELETE_LINK:
		ck_assert_str_eq(e->delete_link->name, NAMES[1]);
		ck_assert(e->delete_link->force);
		break;
	case VLINK__ENVELOPE__MSG_LIST_LINKS:
		ck_assert_ptr_nonnull(e->list_links);
		break;
	case VLINK__ENVELOPE__MSG_SHOW_LINK:
		ck_assert_str_eq(e->show_link->name, NAMES[0]);
		break;
	case VLINK__ENVELOPE__MSG_STATUS:
		ck_assert_ptr_nonnull(e->status);
		break;
	case VLINK__ENVELOPE__MSG_MONITOR:
		ck_assert_ptr_nonnull(e->monitor);
		break;
	case VLINK__ENVELOPE__MSG_ATTACH_DOMAIN:
		ck_assert_str_eq(e->attach_domain->domain, DOMAINS[1]);
		break;
	case VLINK__ENVELOPE__MSG_ATTACH_LINK:
		ck_assert_str_eq(e->attach_link->link, NAMES[1]);
		ck_assert_int_eq(e->attach_link->end, VLINK__END__END_HOST);
		break;
	case VLINK__ENVELOPE__MSG_DETACH:
		ck_assert_ptr_nonnull(e->detach);
		break;
	case VLINK__ENVELOPE__MSG_DOMAIN_MAP: {
		const Vlink__DomainMap *m = e->domain_map;

		ck_assert_str_eq(m->domain, DOMAINS[1]);
		check_memory(m->pool_size, m->n_segments, m->segments, m->region);
		ck_assert_uint_eq(m->n_links, 2);
		check_layout(m->links[0], 0);
		check_layout(m->links[1], 1);
		ck_assert_uint_eq(m->generation, 0xfffffffe);
		break;
	}
	case VLINK__ENVELOPE__MSG_LINK_MAP: {
		const Vlink__LinkMap *m = e->link_map;

		ck_assert_str_eq(m->domain, DOMAINS[0]);
		check_memory(m->pool_size, m->n_segments, m->segments, m->region);
		check_layout(m->link, 1);
		ck_assert_int_eq(m->end, VLINK__END__END_PEER);
		ck_assert_uint_eq(m->generation, 5);
		break;
	}
	case VLINK__ENVELOPE__MSG_LINK_INFO:
		check_layout(e->link_info->layout, 1);
		ck_assert(!e->link_info->host_attached);
		ck_assert(e->link_info->peer_attached);
		ck_assert(e->link_info->from_config);
		break;
	case VLINK__ENVELOPE__MSG_LINK_LIST:
		ck_assert_uint_eq(e->link_list->n_links, 2);
		for (unsigned k = 0; k < 2; k++) {
			const Vlink__LinkInfo *i = e->link_list->links[k];

			check_layout(i->layout, k);
			ck_assert_int_eq(!!i->host_attached, k == 0);
			ck_assert_int_eq(!!i->peer_attached, k == 1);
			ck_assert(i->from_config);
		}
		break;
	case VLINK__ENVELOPE__MSG_STATUS_REPLY: {
		const Vlink__StatusReply *s = e->status_reply;
		const Vlink__DomainInfo *d;

		ck_assert_str_eq(s->daemon_version, "vlinkd 1.2.3");
		ck_assert_str_eq(s->daemon_id, "3f2a9c0d-daemon");
		ck_assert_uint_eq(s->uptime, 86400ull * 365);
		ck_assert_uint_eq(s->pid, 4242);
		ck_assert_uint_eq(s->nlinks, 2);
		ck_assert_uint_eq(s->n_clients, 2);
		for (unsigned k = 0; k < 2; k++) {
			const Vlink__ClientInfo *ci = s->clients[k];

			ck_assert_uint_eq(ci->id, 100 + k);
			ck_assert_int_eq(ci->role, k ? VLINK__ROLE__ROLE_QEMU : VLINK__ROLE__ROLE_ADMIN);
			ck_assert_uint_eq(ci->pid, 4000000 + k);
			ck_assert_uint_eq(ci->uid, 1000 * k);
			ck_assert_str_eq(ci->client, k ? "qemu-system-x86_64" : "vlinkctl");
			ck_assert_str_eq(ci->attached, k ? "domain dom-b" : "");
		}
		ck_assert_uint_eq(s->n_domains, 1);
		d = s->domains[0];
		ck_assert_str_eq(d->name, DOMAINS[1]);
		ck_assert_uint_eq(d->pool_size, 1ull << 40);
		ck_assert_uint_eq(d->pool_used, 6 * MiB);
		ck_assert_uint_eq(d->page_size, FIX_PAGE);
		ck_assert(d->hugepages);
		ck_assert_uint_eq(d->nsegments, 2);
		ck_assert_uint_eq(d->region_size, FIX_REGION_SIZE);
		ck_assert_uint_eq(d->nlinks, 2);
		break;
	}
	case VLINK__ENVELOPE__MSG_EVENT:
		ck_assert_int_eq(e->event->kind, VLINK__EVENT__KIND__END_DOWN);
		ck_assert_str_eq(e->event->link, NAMES[0]);
		ck_assert_str_eq(e->event->domain, DOMAINS[1]);
		ck_assert_int_eq(e->event->end, VLINK__END__END_PEER);
		break;
	case VLINK__ENVELOPE__MSG_OK:
		ck_assert_ptr_nonnull(e->ok);
		break;
	case VLINK__ENVELOPE__MSG_ERROR:
		ck_assert_uint_eq(e->error->code, EEXIST);
		ck_assert_str_eq(e->error->message, "link \"uplink\" exists");
		break;
	default:
		ck_abort_msg("unexpected message case %d", (int)c);
	}
}

/* Read one frame, check its fds against files[], decode it and compare it
 * with the fixture. */
static void expect_env(struct vlink_reader *r, const struct fixture *fx,
		       Vlink__Envelope__MsgCase c, uint32_t id, const int *files,
		       unsigned nfds)
{
	struct vlink_frame f;
	Vlink__Envelope *e = NULL;
	char what[64];
	int err;

	snprintf(what, sizeof(what), "%s with %u fds", vlink_msg_name(c), nfds);
	expect_frame(r, &f, what);
	assert_frame_fds(&f, files, nfds, what);
	err = vlink_msg_decode(&f, &e);
	ck_assert_msg(err == 0, "%s: vlink_msg_decode: %d", what, err);
	check_env(fx, e, c, id);
	vlink_msg_free(e);
	vlink_frame_close_fds(&f);
	ck_assert_uint_eq(f.nfds, 0);
}

/* ================================================ 1. round trips */

/* Every message type, with nfds fds: first one frame per flush, then all
 * of them queued and flushed at once. */
static void roundtrip_all(unsigned nfds)
{
	int before = count_fds();
	struct fixture *fx = calloc(1, sizeof(*fx));
	int sv[2], files[MAX_FDS];
	struct vlink_writer w;
	struct vlink_reader r;

	ck_assert_ptr_nonnull(fx);
	fixture_init(fx);
	make_pair(sv);
	open_files(nfds, files);
	vlink_writer_init(&w, sv[0]);
	vlink_reader_init(&r, sv[1]);

	for (size_t i = 0; i < ARRAY_SIZE(CASES); i++) {
		Vlink__Envelope env;
		uint32_t id = env_id(CASES[i].c, nfds);

		build_env(fx, &env, CASES[i].c, id);
		ck_assert_int_eq(vlink_msg_push(&w, &env, files, nfds), 0);
		ck_assert(vlink_writer_pending(&w));
		ck_assert_int_eq(vlink_writer_flush(&w), 0);
		ck_assert(!vlink_writer_pending(&w));
		ck_assert_uint_eq(w.queued, 0);
		expect_env(&r, fx, CASES[i].c, id, files, nfds);
	}
	expect_drained(&r, "one at a time");

	for (size_t i = 0; i < ARRAY_SIZE(CASES); i++) {
		Vlink__Envelope env;

		build_env(fx, &env, CASES[i].c, env_id(CASES[i].c, nfds));
		ck_assert_int_eq(vlink_msg_push(&w, &env, files, nfds), 0);
	}
	ck_assert_int_eq(vlink_writer_flush(&w), 0);
	ck_assert(!vlink_writer_pending(&w));
	for (size_t i = 0; i < ARRAY_SIZE(CASES); i++)
		expect_env(&r, fx, CASES[i].c, env_id(CASES[i].c, nfds), files, nfds);
	expect_drained(&r, "batch");

	/* the caller's fds are its own: still open */
	for (unsigned i = 0; i < nfds; i++)
		ck_assert(fd_is_open(files[i]));
	vlink_writer_destroy(&w);
	vlink_reader_destroy(&r);
	close_fds(files, nfds);
	close_pair(sv);
	free(fx);
	ASSERT_NO_FD_LEAK(before);
}

START_TEST(test_roundtrip_all_types_no_fds)
{
	roundtrip_all(0);
}
END_TEST

START_TEST(test_roundtrip_all_types_1_fd)
{
	roundtrip_all(1);
}
END_TEST

START_TEST(test_roundtrip_all_types_16_fds)
{
	roundtrip_all(MAX_FDS);
}
END_TEST

START_TEST(test_msg_name)
{
	int before = count_fds();

	for (size_t i = 0; i < ARRAY_SIZE(CASES); i++)
		ck_assert_str_eq(vlink_msg_name(CASES[i].c), CASES[i].name);
	ck_assert_str_eq(vlink_msg_name(VLINK__ENVELOPE__MSG__NOT_SET), "unknown");
	ck_assert_str_eq(vlink_msg_name((Vlink__Envelope__MsgCase)9999), "unknown");
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ====================================== 2. split at every byte boundary */

static void split_every_boundary(unsigned nfds)
{
	int before = count_fds();
	int sv[2], files[MAX_FDS];
	uint8_t payload[128], frame[HDR + 128];
	size_t plen, flen;
	struct vlink_reader r;
	struct vlink_frame f;

	make_pair(sv);
	open_files(nfds, files);
	plen = pack_error_env(payload, sizeof(payload), 4242, "split at every byte boundary");
	flen = make_frame(frame, (uint8_t)nfds, payload, (uint32_t)plen);
	vlink_reader_init(&r, sv[1]);

	for (size_t k = 1; k < flen; k++) {
		char what[64];

		snprintf(what, sizeof(what), "split at %zu of %zu", k, flen);
		/* the fds ride on the first piece */
		send_raw(sv[0], frame, k, files, nfds);
		ck_assert_msg(get_frame(&r, &f) == 0, "%s: frame before the second piece (why: %s)",
			      what, r.why ? r.why : "-");
		ck_assert_msg(vlink_reader_pending(&r) == k, "%s: %zu bytes pending", what,
			      vlink_reader_pending(&r));
		ck_assert_uint_eq(r.nfdq, nfds);
		send_raw(sv[0], frame + k, flen - k, NULL, 0);
		expect_frame(&r, &f, what);
		ck_assert_uint_eq(f.len, plen);
		ck_assert_msg(memcmp(f.data, payload, plen) == 0, "%s: payload differs", what);
		assert_frame_fds(&f, files, nfds, what);
		assert_error_env(&f, 4242, "split at every byte boundary");
		vlink_frame_close_fds(&f);
		expect_drained(&r, what);
	}

	/* one byte per write, the fds on the first */
	for (size_t k = 0; k < flen; k++) {
		send_raw(sv[0], frame + k, 1, files, k == 0 ? nfds : 0);
		if (k + 1 < flen)
			ck_assert_msg(get_frame(&r, &f) == 0, "byte %zu: frame too early", k);
	}
	expect_frame(&r, &f, "byte by byte");
	assert_frame_fds(&f, files, nfds, "byte by byte");
	assert_error_env(&f, 4242, "split at every byte boundary");
	vlink_frame_close_fds(&f);
	expect_drained(&r, "byte by byte");

	vlink_reader_destroy(&r);
	close_fds(files, nfds);
	close_pair(sv);
	ASSERT_NO_FD_LEAK(before);
}

START_TEST(test_split_every_boundary_with_fds)
{
	split_every_boundary(MAX_FDS);
}
END_TEST

START_TEST(test_split_every_boundary_no_fds)
{
	split_every_boundary(0);
}
END_TEST

/* ============================================ 3. several frames at once */

START_TEST(test_several_frames_one_write)
{
	int before = count_fds();
	int sv[2], files[MAX_FDS], more[MAX_FDS];
	uint8_t buf[8 * 256];
	size_t len;
	struct vlink_reader r;
	struct vlink_frame f;

	make_pair(sv);
	open_files(2, files);
	open_files(MAX_FDS, more);
	vlink_reader_init(&r, sv[1]);

	/* five frames in one sendmsg(), the first claiming the 2 fds */
	len = 0;
	for (uint32_t id = 1; id <= 5; id++)
		len += make_error_frame(buf + len, sizeof(buf) - len, id, id == 1 ? 2 : 0);
	send_raw(sv[0], buf, len, files, 2);
	expect_error_frame(&r, 1, files, 2);
	for (uint32_t id = 2; id <= 5; id++)
		expect_error_frame(&r, id, NULL, 0);
	expect_drained(&r, "five in one write");

	/* frames without fds, then a frame with fds, then without again; and a
	 * frame with fds followed by one without in the same sendmsg() */
	len = make_error_frame(buf, sizeof(buf), 10, 0);
	len += make_error_frame(buf + len, sizeof(buf) - len, 11, 0);
	len += make_error_frame(buf + len, sizeof(buf) - len, 12, 0);
	send_raw(sv[0], buf, len, NULL, 0);
	len = make_error_frame(buf, sizeof(buf), 13, 2);
	send_raw(sv[0], buf, len, files, 2);
	len = make_error_frame(buf, sizeof(buf), 14, 0);
	len += make_error_frame(buf + len, sizeof(buf) - len, 15, 0);
	send_raw(sv[0], buf, len, NULL, 0);
	len = make_error_frame(buf, sizeof(buf), 16, 1);
	len += make_error_frame(buf + len, sizeof(buf) - len, 17, 0);
	send_raw(sv[0], buf, len, more, 1);
	for (uint32_t id = 10; id <= 12; id++)
		expect_error_frame(&r, id, NULL, 0);
	expect_error_frame(&r, 13, files, 2);
	expect_error_frame(&r, 14, NULL, 0);
	expect_error_frame(&r, 15, NULL, 0);
	expect_error_frame(&r, 16, more, 1);
	expect_error_frame(&r, 17, NULL, 0);
	expect_drained(&r, "mixed");

	/* two frames with 16 fds each, both sent before anything is read */
	len = make_error_frame(buf, sizeof(buf), 20, MAX_FDS);
	send_raw(sv[0], buf, len, more, MAX_FDS);
	len = make_error_frame(buf, sizeof(buf), 21, MAX_FDS);
	send_raw(sv[0], buf, len, more, MAX_FDS);
	expect_error_frame(&r, 20, more, MAX_FDS);
	expect_error_frame(&r, 21, more, MAX_FDS);
	expect_drained(&r, "two full frames");

	/* a frame with fds right after the second half of one without (the
	 * reader may get both in one recvmsg()) */
	len = make_error_frame(buf, sizeof(buf), 30, 0);
	send_raw(sv[0], buf, len / 2, NULL, 0);
	ck_assert_int_eq(get_frame(&r, &f), 0);
	send_raw(sv[0], buf + len / 2, len - len / 2, NULL, 0);
	len = make_error_frame(buf, sizeof(buf), 31, 3);
	send_raw(sv[0], buf, len, more, 3);
	expect_error_frame(&r, 30, NULL, 0);
	expect_error_frame(&r, 31, more, 3);
	expect_drained(&r, "after a split frame");

	vlink_reader_destroy(&r);
	close_fds(files, 2);
	close_fds(more, MAX_FDS);
	close_pair(sv);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ================================================ 4. truncated stream */

START_TEST(test_truncated_stream)
{
	int before = count_fds();
	int sv[2], fds[4];
	uint8_t frame[256];
	size_t flen = make_error_frame(frame, sizeof(frame), 7, 4);
	struct vlink_reader r;
	struct vlink_frame f;

	open_null(4, fds);

	/* empty socket: -EAGAIN, nothing pending */
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	ck_assert_int_eq(vlink_reader_fill(&r), -EAGAIN);
	ck_assert_int_eq(vlink_reader_next(&r, &f), 0);
	ck_assert_uint_eq(vlink_reader_pending(&r), 0);

	/* half a frame with its fds, then EOF */
	send_raw(sv[0], frame, flen / 2, fds, 4);
	close(sv[0]);
	sv[0] = -1;
	ck_assert_int_eq(vlink_reader_fill(&r), (ssize_t)(flen / 2));
	ck_assert_int_eq(vlink_reader_next(&r, &f), 0);
	ck_assert_int_eq(vlink_reader_fill(&r), 0);        /* end of stream */
	ck_assert_int_eq(vlink_reader_next(&r, &f), 0);
	ck_assert_uint_eq(f.nfds, 0);
	ck_assert_uint_eq(vlink_reader_pending(&r), flen / 2);
	ck_assert_int_eq(vlink_reader_fill(&r), 0);        /* still EOF */
	ck_assert_uint_eq(vlink_reader_pending(&r), flen / 2);
	ck_assert_int_eq(r.error, 0);
	vlink_reader_destroy(&r);                          /* closes the 4 fds */
	close_pair(sv);

	/* EOF inside the header */
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], frame, 3, NULL, 0);
	close(sv[0]);
	sv[0] = -1;
	ck_assert_int_eq(get_frame(&r, &f), 0);
	ck_assert_int_eq(vlink_reader_fill(&r), 0);
	ck_assert_uint_eq(vlink_reader_pending(&r), 3);
	vlink_reader_destroy(&r);
	close_pair(sv);

	/* EOF exactly at a frame boundary: clean */
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], frame, flen, fds, 4);
	close(sv[0]);
	sv[0] = -1;
	expect_frame(&r, &f, "before a clean EOF");
	vlink_frame_close_fds(&f);
	ck_assert_int_eq(vlink_reader_fill(&r), 0);
	ck_assert_uint_eq(vlink_reader_pending(&r), 0);
	vlink_reader_destroy(&r);
	close_pair(sv);

	close_fds(fds, 4);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ==================================== helpers for the bad-stream tests */

/* Send `len` bytes (with nfds fds on the sendmsg()), read: expect `good`
 * well-formed frames, then error `want`, with r.why set, every queued fd
 * closed and the error sticky for next() and fill() even when more good
 * bytes arrive. */
static void expect_stream_error(const void *bytes, size_t len, const int *fds, unsigned nfds,
				unsigned good, int want, const char *what)
{
	int sv[2], k;
	unsigned seen = 0;
	uint8_t ok[128];
	size_t oklen;
	const char *why;
	struct vlink_reader r;
	struct vlink_frame f;

	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], bytes, len, fds, nfds);
	while ((k = get_frame(&r, &f)) == 1) {
		vlink_frame_close_fds(&f);
		seen++;
	}
	ck_assert_msg(k == want, "%s: got %d (%s), want %d (%s)", what, k,
		      k ? strerror(-k) : "no error", want, strerror(-want));
	ck_assert_msg(seen == good, "%s: %u good frames before the error, want %u", what,
		      seen, good);
	ck_assert_msg(r.why != NULL, "%s: no reason given", what);
	ck_assert_int_eq(r.error, want);
	ck_assert_msg(r.nfdq == 0, "%s: %u fds still queued after the error", what, r.nfdq);
	why = r.why;

	/* sticky, even with a good frame behind it */
	oklen = make_error_frame(ok, sizeof(ok), 1, 0);
	send_raw(sv[0], ok, oklen, NULL, 0);
	ck_assert_int_eq(vlink_reader_next(&r, &f), want);
	ck_assert_uint_eq(f.nfds, 0);
	ck_assert_int_eq(vlink_reader_fill(&r), want);
	ck_assert_int_eq(vlink_reader_next(&r, &f), want);
	ck_assert_ptr_eq(r.why, why);

	vlink_reader_destroy(&r);
	close_pair(sv);
}

/* A header with the given fields and `plen` payload bytes of 0x5a. */
static size_t raw_frame(uint8_t *buf, size_t cap, uint16_t magic, uint8_t version,
			uint8_t nfds, uint32_t len, size_t plen)
{
	ck_assert_uint_le(HDR + plen, cap);
	put_hdr(buf, magic, version, nfds, len);
	memset(buf + HDR, 0x5a, plen);
	return HDR + plen;
}

/* ================================================ 5. oversized frames */

START_TEST(test_oversized_frame)
{
	int before = count_fds();
	int sv[2], fds[3];
	uint8_t buf[64];
	uint8_t *big = malloc(MAX_PAYLOAD + 2);
	size_t len;
	struct vlink_writer w;
	struct vlink_reader r;
	struct vlink_frame f;

	ck_assert_ptr_nonnull(big);
	open_null(3, fds);

	/* reader: one byte too long, far too long, too long with fds */
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 0,
			MAX_PAYLOAD + 1, 16);
	expect_stream_error(buf, len, NULL, 0, 0, -EMSGSIZE, "length 65529");
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 0,
			UINT32_MAX, 16);
	expect_stream_error(buf, len, NULL, 0, 0, -EMSGSIZE, "length 2^32-1");
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 3,
			1u << 31, 16);
	expect_stream_error(buf, len, fds, 3, 0, -EMSGSIZE, "length 2^31 with fds");
	/* after a good frame */
	len = make_error_frame(buf, sizeof(buf), 9, 0);
	len += raw_frame(buf + len, sizeof(buf) - len, VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION,
			 0, 70000, 0);
	expect_stream_error(buf, len, NULL, 0, 1, -EMSGSIZE, "after a good frame");

	/* writer: refuses more than the maximum, queues nothing */
	make_pair(sv);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	vlink_writer_init(&w, sv[0]);
	vlink_reader_init(&r, sv[1]);
	memset(big, 0xa5, MAX_PAYLOAD + 2);
	ck_assert_int_eq(vlink_writer_push(&w, big, MAX_PAYLOAD + 1, NULL, 0), -EMSGSIZE);
	ck_assert_int_eq(vlink_writer_push(&w, big, MAX_PAYLOAD + 1, fds, 3), -EMSGSIZE);
	ck_assert_int_eq(vlink_writer_push(&w, big, SIZE_MAX, NULL, 0), -EMSGSIZE);
	ck_assert(!vlink_writer_pending(&w));
	ck_assert_uint_eq(w.queued, 0);
	{
		Vlink__Envelope env = VLINK__ENVELOPE__INIT;
		Vlink__Error err = VLINK__ERROR__INIT;

		big[MAX_PAYLOAD] = '\0';             /* a string that cannot fit */
		err.code = 1;
		err.message = (char *)big;
		env.msg_case = VLINK__ENVELOPE__MSG_ERROR;
		env.error = &err;
		ck_assert_int_eq(vlink_msg_push(&w, &env, fds, 3), -EMSGSIZE);
		ck_assert(!vlink_writer_pending(&w));
	}
	ck_assert_int_eq(count_fds(), before + 5);   /* no dup left behind */

	/* exactly the maximum goes through, with fds */
	for (size_t i = 0; i < MAX_PAYLOAD; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	ck_assert_int_eq(vlink_writer_push(&w, big, MAX_PAYLOAD, fds, 3), 0);
	ck_assert_uint_eq(w.queued, VLINK_FRAME_MAX);
	for (int i = 0;; i++) {
		int err = vlink_writer_flush(&w), k;

		ck_assert_msg(err == 0 || err == -EAGAIN, "flush: %d", err);
		k = get_frame(&r, &f);
		ck_assert_msg(k >= 0, "max frame: reader error %d: %s", k, r.why);
		if (k == 1)
			break;
		ck_assert_msg(err == -EAGAIN && i < 100000, "max frame never arrived");
	}
	ck_assert_uint_eq(f.len, MAX_PAYLOAD);
	ck_assert_msg(memcmp(f.data, big, MAX_PAYLOAD) == 0, "max frame payload differs");
	ck_assert_uint_eq(f.nfds, 3);
	vlink_frame_close_fds(&f);
	ck_assert_int_eq(vlink_writer_flush(&w), 0);
	expect_drained(&r, "max frame");

	vlink_writer_destroy(&w);
	vlink_reader_destroy(&r);
	close_pair(sv);
	close_fds(fds, 3);
	free(big);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ============================================ 6. bad magic and version */

START_TEST(test_bad_magic_and_version)
{
	int before = count_fds();
	int fds[2];
	uint8_t buf[128];
	size_t len;

	open_null(2, fds);
	len = raw_frame(buf, sizeof(buf), 0x564c, VLINK_FRAME_VERSION, 0, 4, 4);
	expect_stream_error(buf, len, NULL, 0, 0, -EPROTO, "magic byte-swapped");
	len = raw_frame(buf, sizeof(buf), 0, 0, 0, 0, 0);
	expect_stream_error(buf, len, NULL, 0, 0, -EPROTO, "all zero header");
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC ^ 0x100, VLINK_FRAME_VERSION, 2, 4, 4);
	expect_stream_error(buf, len, fds, 2, 0, -EPROTO, "magic off by one bit, with fds");
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, 0, 0, 4, 4);
	expect_stream_error(buf, len, NULL, 0, 0, -EPROTO, "version 0");
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION + 1, 2, 4, 4);
	expect_stream_error(buf, len, fds, 2, 0, -EPROTO, "version 2, with fds");
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, 0xff, 0, 4, 4);
	expect_stream_error(buf, len, NULL, 0, 0, -EPROTO, "version 255");
	/* a bad header behind two good frames */
	len = make_error_frame(buf, sizeof(buf), 1, 0);
	len += make_error_frame(buf + len, sizeof(buf) - len, 2, 0);
	len += raw_frame(buf + len, sizeof(buf) - len, 0xbeef, VLINK_FRAME_VERSION, 0, 0, 0);
	expect_stream_error(buf, len, NULL, 0, 2, -EPROTO, "bad magic after 2 frames");
	/* "VL" the other way round: ASCII 'L','V' */
	memcpy(buf, "LV\x01\x00\x00\x00\x00\x00", HDR);
	expect_stream_error(buf, HDR, NULL, 0, 0, -EPROTO, "\"LV\"");
	close_fds(fds, 2);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ====================================================== 7. fd abuse */

START_TEST(test_too_many_fds_in_header)
{
	int before = count_fds();
	int fds[MAX_FDS];
	uint8_t buf[64];
	size_t len;

	open_null(MAX_FDS, fds);
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION,
			MAX_FDS + 1, 4, 4);
	expect_stream_error(buf, len, NULL, 0, 0, -ETOOMANYREFS, "nfds 17, none sent");
	expect_stream_error(buf, len, fds, MAX_FDS, 0, -ETOOMANYREFS, "nfds 17, 16 sent");
	len = raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 255, 4, 4);
	expect_stream_error(buf, len, fds, 1, 0, -ETOOMANYREFS, "nfds 255");
	close_fds(fds, MAX_FDS);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

START_TEST(test_too_many_fds_in_one_sendmsg)
{
	int before = count_fds();
	int fds[20];
	uint8_t buf[256];
	size_t len;

	open_null(20, fds);
	/* the kernel hands the reader 16, drops 4 and sets MSG_CTRUNC */
	len = make_error_frame(buf, sizeof(buf), 1, MAX_FDS);
	expect_stream_error(buf, len, fds, 20, 0, -ETOOMANYREFS, "20 fds, frame claims 16");
	len = make_error_frame(buf, sizeof(buf), 1, 0);
	expect_stream_error(buf, len, fds, 17, 0, -ETOOMANYREFS, "17 fds, frame claims 0");
	/* ours are untouched */
	for (unsigned i = 0; i < 20; i++)
		ck_assert(fd_is_open(fds[i]));
	close_fds(fds, 20);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

START_TEST(test_frame_claims_more_fds_than_sent)
{
	int before = count_fds();
	int sv[2], fds[3];
	uint8_t buf[256];
	size_t len;
	struct vlink_reader r;
	struct vlink_frame f;

	open_null(3, fds);
	len = make_error_frame(buf, sizeof(buf), 1, 3);
	expect_stream_error(buf, len, fds, 2, 0, -EPROTO, "claims 3, 2 sent");
	expect_stream_error(buf, len, NULL, 0, 0, -EPROTO, "claims 3, none sent");
	len = make_error_frame(buf, sizeof(buf), 1, MAX_FDS);
	expect_stream_error(buf, len, fds, 1, 0, -EPROTO, "claims 16, 1 sent");

	/* the fds come with the second piece of the frame, not its first byte:
	 * (a) header complete without them */
	len = make_error_frame(buf, sizeof(buf), 1, 2);
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], buf, HDR + 1, NULL, 0);
	ck_assert_int_eq(get_frame(&r, &f), -EPROTO);
	ck_assert_ptr_nonnull(r.why);
	vlink_reader_destroy(&r);
	close_pair(sv);
	/* (b) header still incomplete when they arrive */
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], buf, 4, NULL, 0);
	ck_assert_int_eq(get_frame(&r, &f), 0);
	send_raw(sv[0], buf + 4, len - 4, fds, 2);
	ck_assert_int_eq(get_frame(&r, &f), -EPROTO);
	ck_assert_ptr_nonnull(r.why);
	ck_assert_uint_eq(r.nfdq, 0);
	vlink_reader_destroy(&r);
	close_pair(sv);

	close_fds(fds, 3);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

START_TEST(test_orphan_fds)
{
	int before = count_fds();
	int sv[2], fds[2];
	uint8_t a[256], b[256];
	size_t alen, blen;
	struct vlink_reader r;
	struct vlink_frame f;

	open_null(2, fds);
	alen = make_error_frame(a, sizeof(a), 1, 0);

	/* A says nfds=0 but carries 2 fds, B (nfds=0) follows */
	blen = make_error_frame(b, sizeof(b), 2, 0);
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], a, alen, fds, 2);
	expect_error_frame(&r, 1, NULL, 0);
	send_raw(sv[0], b, blen, NULL, 0);
	ck_assert_int_eq(get_frame(&r, &f), -EPROTO);
	ck_assert_ptr_nonnull(r.why);
	ck_assert_uint_eq(r.nfdq, 0);
	ck_assert_int_eq(get_frame(&r, &f), -EPROTO);
	vlink_reader_destroy(&r);
	close_pair(sv);

	/* the same, but B claims the 2 fds that came with A */
	blen = make_error_frame(b, sizeof(b), 2, 2);
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], a, alen, fds, 2);
	expect_error_frame(&r, 1, NULL, 0);
	send_raw(sv[0], b, blen, NULL, 0);
	ck_assert_int_eq(get_frame(&r, &f), -EPROTO);
	ck_assert_uint_eq(f.nfds, 0);
	ck_assert_uint_eq(r.nfdq, 0);
	vlink_reader_destroy(&r);
	close_pair(sv);

	/* a frame claims 1 fd but 2 came with it: the spare one is an orphan */
	alen = make_error_frame(a, sizeof(a), 1, 1);
	blen = make_error_frame(b, sizeof(b), 2, 0);
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], a, alen, fds, 2);
	expect_frame(&r, &f, "frame with a spare fd");
	ck_assert_uint_eq(f.nfds, 1);
	vlink_frame_close_fds(&f);
	send_raw(sv[0], b, blen, NULL, 0);
	ck_assert_int_eq(get_frame(&r, &f), -EPROTO);
	ck_assert_uint_eq(r.nfdq, 0);
	vlink_reader_destroy(&r);
	close_pair(sv);

	close_fds(fds, 2);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* More than the fd queue holds (2 x 16) arrives before next() is called. */
START_TEST(test_fd_queue_overflow)
{
	int before = count_fds();
	int sv[2], fds[MAX_FDS];
	uint8_t buf[HDR + 64];
	struct vlink_reader r;
	struct vlink_frame f;

	open_null(MAX_FDS, fds);
	raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, MAX_FDS, 64, 64);
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], buf, 20, fds, MAX_FDS);
	ck_assert_int_eq(vlink_reader_fill(&r), 20);
	send_raw(sv[0], buf + 20, 20, fds, MAX_FDS);
	ck_assert_int_eq(vlink_reader_fill(&r), 20);
	ck_assert_uint_eq(r.nfdq, 2 * MAX_FDS);
	send_raw(sv[0], buf + 40, 8, fds, 1);
	ck_assert_int_eq(vlink_reader_fill(&r), -ETOOMANYREFS);
	ck_assert_ptr_nonnull(r.why);
	ck_assert_uint_eq(r.nfdq, 0);
	ck_assert_int_eq(vlink_reader_next(&r, &f), -ETOOMANYREFS);
	vlink_reader_destroy(&r);
	close_pair(sv);
	close_fds(fds, MAX_FDS);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* Control data other than SCM_RIGHTS (credentials, because the reading
 * socket has SO_PASSCRED) is a protocol error; fds with it are closed. */
START_TEST(test_unexpected_control_message)
{
	int before = count_fds();
	int sv[2], fds[2], one = 1;
	uint8_t buf[256];
	size_t len = make_error_frame(buf, sizeof(buf), 1, 2);
	struct vlink_reader r;
	struct vlink_frame f;

	open_null(2, fds);
	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], buf, len, fds, 2);
	ck_assert_int_eq(get_frame(&r, &f), -EPROTO);
	ck_assert_ptr_nonnull(r.why);
	ck_assert_uint_eq(r.nfdq, 0);
	vlink_reader_destroy(&r);
	close_pair(sv);
	close_fds(fds, 2);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ============================================== 8. garbage protobuf */

/* A frame of `len` bytes with `nfds` fds that must not decode; the frame
 * itself is fine and the reader stays healthy. */
static void expect_undecodable(struct vlink_reader *r, size_t len, unsigned nfds,
			       const char *what)
{
	struct vlink_frame f;
	Vlink__Envelope sentinel, *e = &sentinel;   /* must not be touched */
	int err;

	expect_frame(r, &f, what);
	ck_assert_uint_eq(f.len, len);
	ck_assert_uint_eq(f.nfds, nfds);
	err = vlink_msg_decode(&f, &e);
	ck_assert_msg(err == -EBADMSG, "%s: vlink_msg_decode returned %d, not -EBADMSG",
		      what, err);
	ck_assert_ptr_eq(e, &sentinel);
	vlink_frame_close_fds(&f);
	ck_assert_int_eq(r->error, 0);
}

START_TEST(test_garbage_protobuf)
{
	int before = count_fds();
	int sv[2], fds[2];
	uint8_t rnd[64], buf[256];
	uint32_t x = 0x12345678;
	size_t len;
	struct vlink_writer w;
	struct vlink_reader r;
	static const uint8_t ff[12] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t id_only[] = { 0x08, 0x05 };              /* id=5, no msg */
	static const uint8_t unknown_only[] = { 0xf8, 0x01, 0x01 };   /* field 31 */
	static const uint8_t short_hello[] = { 0x52, 0x05, 0x08 };    /* len 5, 1 there */
	static const uint8_t bad_hello[] = { 0x52, 0x01, 0xff };      /* truncated varint */
	static const uint8_t bad_wire[] = { 0x0f, 0x00 };             /* wire type 7 */
	const struct {
		const uint8_t *p;
		size_t len;
		const char *what;
	} bad[] = {
		{ rnd, sizeof(rnd), "64 random bytes" },
		{ NULL, 0, "empty payload (Envelope with no message)" },
		{ ff, sizeof(ff), "0xff x 12" },
		{ id_only, sizeof(id_only), "envelope with only an id" },
		{ unknown_only, sizeof(unknown_only), "only an unknown field" },
		{ short_hello, sizeof(short_hello), "hello longer than the payload" },
		{ bad_hello, sizeof(bad_hello), "hello with a truncated varint" },
		{ bad_wire, sizeof(bad_wire), "wire type 7" },
	};

	for (size_t i = 0; i < sizeof(rnd); i++) {  /* fixed-seed LCG: deterministic */
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	open_null(2, fds);
	make_pair(sv);
	vlink_writer_init(&w, sv[0]);
	vlink_reader_init(&r, sv[1]);

	/* each bad payload (every other one carrying fds, which the frame still
	 * hands out) is followed by a good frame that must decode */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[32];
		struct vlink_frame f;

		ck_assert_int_eq(vlink_writer_push(&w, bad[i].p, bad[i].len, fds,
						   i % 2 ? 2 : 0), 0);
		snprintf(text, sizeof(text), "good %zu", i);
		len = pack_error_env(buf, sizeof(buf), (uint32_t)(100 + i), text);
		ck_assert_int_eq(vlink_writer_push(&w, buf, len, NULL, 0), 0);
		ck_assert_int_eq(vlink_writer_flush(&w), 0);
		expect_undecodable(&r, bad[i].len, i % 2 ? 2 : 0, bad[i].what);
		expect_frame(&r, &f, bad[i].what);
		assert_error_env(&f, (uint32_t)(100 + i), text);
	}
	expect_drained(&r, "garbage");

	vlink_writer_destroy(&w);
	vlink_reader_destroy(&r);
	close_pair(sv);
	close_fds(fds, 2);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ======================================= 9. partial writes, flush_wait */

#define BIG_FRAMES 48

/* Frame `seq` of the big-stream tests: 16..65527 bytes that tell their
 * sequence number and are checkable byte by byte. */
static size_t big_len(unsigned seq)
{
	return 16 + (size_t)(seq * 7919u + 12345u) % (MAX_PAYLOAD - 16);
}

static uint8_t big_byte(unsigned seq, size_t j)
{
	return (uint8_t)(seq * 131u + j * 17u + (j >> 9));
}

static void big_fill(uint8_t *buf, unsigned seq)
{
	size_t len = big_len(seq);

	memcpy(buf, &seq, sizeof(seq));
	for (size_t j = sizeof(seq); j < len; j++)
		buf[j] = big_byte(seq, j);
}

/* Empty string when the frame is big frame `seq`, else what is wrong. */
static const char *big_check(const struct vlink_frame *f, unsigned seq, unsigned nfds,
			     const struct stat *st)
{
	unsigned got;

	if (f->len != big_len(seq))
		return "wrong length";
	memcpy(&got, f->data, sizeof(got));
	if (got != seq)
		return "out of order";
	for (size_t j = sizeof(seq); j < f->len; j++)
		if (f->data[j] != big_byte(seq, j))
			return "payload corrupted";
	if (f->nfds != nfds)
		return "wrong number of fds";
	for (unsigned i = 0; i < nfds; i++) {
		struct stat s;

		if (fstat(f->fds[i], &s) != 0 || s.st_ino != st->st_ino ||
		    s.st_dev != st->st_dev)
			return "wrong fd";
		if (!(fcntl(f->fds[i], F_GETFD) & FD_CLOEXEC))
			return "fd without FD_CLOEXEC";
	}
	return "";
}

/* every 5th frame carries the file */
static unsigned big_nfds(unsigned seq)
{
	return seq % 5 == 0 ? 1 : 0;
}

static void push_big(struct vlink_writer *w, uint8_t *buf, unsigned seq, int file)
{
	big_fill(buf, seq);
	ck_assert_int_eq(vlink_writer_push(w, buf, big_len(seq), &file, big_nfds(seq)), 0);
}

struct rx_ctx {
	struct vlink_reader *r;
	unsigned next, end;     /* expect frames next..end-1 */
	struct stat st;         /* the file the fds must be */
	char err[160];          /* empty: all good */
};

/* Reads frames ctx->next..end-1 with poll(), for the flush_wait test. */
static void *rx_thread(void *arg)
{
	struct rx_ctx *ctx = arg;

	while (ctx->next < ctx->end) {
		struct vlink_frame f;
		int k = vlink_reader_next(ctx->r, &f);

		if (k == 1) {
			const char *bad = big_check(&f, ctx->next, big_nfds(ctx->next), &ctx->st);

			vlink_frame_close_fds(&f);
			if (*bad) {
				snprintf(ctx->err, sizeof(ctx->err), "frame %u: %s", ctx->next, bad);
				return NULL;
			}
			ctx->next++;
		} else if (k < 0) {
			snprintf(ctx->err, sizeof(ctx->err), "reader: %d %s", k, ctx->r->why);
			return NULL;
		} else {
			ssize_t n = vlink_reader_fill(ctx->r);
			struct pollfd p = { .fd = ctx->r->sock, .events = POLLIN };

			if (n == -EAGAIN) {
				/* generous bound, only so a broken writer cannot hang us */
				if (poll(&p, 1, 120000) == 0) {
					snprintf(ctx->err, sizeof(ctx->err), "nothing for 120 s");
					return NULL;
				}
			} else if (n <= 0) {
				snprintf(ctx->err, sizeof(ctx->err), "fill: %zd", n);
				return NULL;
			}
		}
	}
	return NULL;
}

START_TEST(test_writer_partial_writes)
{
	int before = count_fds();
	int sv[2], file, sndbuf = 4096;
	uint8_t *buf = malloc(MAX_PAYLOAD);
	struct vlink_writer w;
	struct vlink_reader *r = malloc(sizeof(*r));
	struct rx_ctx ctx;
	struct stat st;
	pthread_t th;
	unsigned next = 0, eagain = 0;
	size_t total = 0, last_queued;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(r);
	open_files(1, &file);
	ck_assert_int_eq(fstat(file, &st), 0);
	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	vlink_writer_init(&w, sv[0]);
	vlink_reader_init(r, sv[1]);

	/* > 1 MiB queued at once; alternate flushing and reading */
	for (unsigned seq = 0; seq < BIG_FRAMES; seq++) {
		push_big(&w, buf, seq, file);
		total += HDR + big_len(seq);
	}
	ck_assert_uint_gt(total, MiB);
	ck_assert_uint_eq(w.queued, total);
	last_queued = w.queued;
	for (unsigned iter = 0; next < BIG_FRAMES; iter++) {
		struct vlink_frame f;
		int err = vlink_writer_flush(&w), k;

		ck_assert_msg(iter < 1000000, "no progress after %u rounds", iter);
		ck_assert_msg(err == 0 || err == -EAGAIN, "flush: %d", err);
		if (err == -EAGAIN)
			eagain++;
		ck_assert_uint_le(w.queued, last_queued);
		last_queued = w.queued;
		while ((k = get_frame(r, &f)) == 1) {
			const char *bad = big_check(&f, next, big_nfds(next), &st);

			vlink_frame_close_fds(&f);
			ck_assert_msg(!*bad, "frame %u: %s", next, bad);
			next++;
		}
		ck_assert_msg(k == 0, "reader: %d (%s)", k, r->why);
	}
	ck_assert_msg(eagain > 0, "flush never returned -EAGAIN with a %d-byte SO_SNDBUF",
		      sndbuf);
	ck_assert_int_eq(vlink_writer_flush(&w), 0);
	ck_assert(!vlink_writer_pending(&w));
	ck_assert_uint_eq(w.queued, 0);
	expect_drained(r, "partial writes");

	/* flush_wait: nothing to do is success */
	ck_assert_int_eq(vlink_writer_flush_wait(&w, 0), 0);
	ck_assert_int_eq(vlink_writer_flush_wait(&w, -1), 0);

	/* nobody reads: the queue cannot drain, flush_wait times out */
	for (unsigned seq = BIG_FRAMES; seq < 2 * BIG_FRAMES; seq++)
		push_big(&w, buf, seq, file);
	ck_assert_int_eq(vlink_writer_flush_wait(&w, 0), -ETIMEDOUT);
	ck_assert_int_eq(vlink_writer_flush_wait(&w, 20), -ETIMEDOUT);
	ck_assert(vlink_writer_pending(&w));

	/* a reader thread drains it: flush_wait finishes */
	memset(&ctx, 0, sizeof(ctx));
	ctx.r = r;
	ctx.next = BIG_FRAMES;
	ctx.end = 2 * BIG_FRAMES;
	ctx.st = st;
	ck_assert_int_eq(pthread_create(&th, NULL, rx_thread, &ctx), 0);
	ck_assert_int_eq(vlink_writer_flush_wait(&w, 120000), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(ctx.err[0] == '\0', "reader thread: %s", ctx.err);
	ck_assert_uint_eq(ctx.next, 2 * BIG_FRAMES);
	ck_assert(!vlink_writer_pending(&w));
	expect_drained(r, "flush_wait");

	vlink_writer_destroy(&w);
	vlink_reader_destroy(r);
	close_pair(sv);
	close(file);
	free(r);
	free(buf);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

START_TEST(test_writer_errors)
{
	int before = count_fds();
	int sv[2], fds[MAX_FDS + 1], badfds[3];
	uint8_t payload[32] = "payload";
	struct vlink_writer w;

	open_null(MAX_FDS + 1, fds);
	make_pair(sv);
	vlink_writer_init(&w, sv[0]);

	/* more than 16 fds */
	ck_assert_int_eq(vlink_writer_push(&w, payload, sizeof(payload), fds, MAX_FDS + 1),
			 -ETOOMANYREFS);
	ck_assert(!vlink_writer_pending(&w));
	/* a bad fd among good ones: the dups already made are closed again */
	badfds[0] = fds[0];
	badfds[1] = fds[1];
	badfds[2] = -1;
	ck_assert_int_eq(vlink_writer_push(&w, payload, sizeof(payload), badfds, 3), -EBADF);
	ck_assert(!vlink_writer_pending(&w));
	ck_assert_uint_eq(w.queued, 0);
	ck_assert_int_eq(count_fds(), before + MAX_FDS + 1 + 2);

	/* the peer is gone: -EPIPE (and no SIGPIPE) */
	ck_assert_int_eq(vlink_writer_push(&w, payload, sizeof(payload), fds, 2), 0);
	close(sv[1]);
	sv[1] = -1;
	ck_assert_int_eq(vlink_writer_flush(&w), -EPIPE);
	ck_assert_int_eq(vlink_writer_flush_wait(&w, 1000), -EPIPE);
	ck_assert(vlink_writer_pending(&w));
	vlink_writer_destroy(&w);
	ck_assert(!vlink_writer_pending(&w));
	ck_assert_uint_eq(w.queued, 0);
	/* destroy twice is harmless */
	vlink_writer_destroy(&w);

	close_pair(sv);
	close_fds(fds, MAX_FDS + 1);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ============================================== 10. vlink_msg_check_map */

struct map {
	uint64_t pool;
	Vlink__Segment seg[3];
	Vlink__Segment *segp[3];
	size_t nseg;
	Vlink__ChannelRegion reg;
	const Vlink__ChannelRegion *regp;
	unsigned nfds;
};

/* 8 MiB pool of 2 MiB pages: [0, 2M) on fd 1, [4M, 8M) on fd 2, a 132 KiB
 * region on fd 0. */
static void map_init(struct map *m)
{
	memset(m, 0, sizeof(*m));
	m->pool = 8 * MiB;
	for (unsigned j = 0; j < 3; j++) {
		m->seg[j] = (Vlink__Segment)VLINK__SEGMENT__INIT;
		m->seg[j].index = j;
		m->seg[j].page_size = 2 * MiB;
		m->segp[j] = &m->seg[j];
	}
	m->seg[0].pool_offset = 0;
	m->seg[0].size = 2 * MiB;
	m->seg[0].fd_index = 1;
	m->seg[1].pool_offset = 4 * MiB;
	m->seg[1].size = 4 * MiB;
	m->seg[1].fd_index = 2;
	m->nseg = 2;
	m->reg = (Vlink__ChannelRegion)VLINK__CHANNEL_REGION__INIT;
	m->reg.size = 0x21000;
	m->reg.fd_index = 0;
	m->regp = &m->reg;
	m->nfds = 3;
}

static int map_check(const struct map *m, char *why, size_t n)
{
	return vlink_msg_check_map(m->pool, m->nseg, m->segp, m->regp, m->nfds, why, n);
}

static void expect_map_ok(const struct map *m, const char *what)
{
	char why[WHY_LEN] = "";
	int err = map_check(m, why, sizeof(why));

	ck_assert_msg(err == 0, "%s: refused (%d): %s", what, err, why);
}

/* Refused with -EINVAL and a reason containing `needle`; also without a
 * buffer, and with a tiny one (NUL-terminated, not overrun). */
static void expect_map_bad(const struct map *m, const char *needle, const char *what)
{
	char why[WHY_LEN] = "";
	char tiny[8 + 4];
	int err = map_check(m, why, sizeof(why));

	ck_assert_msg(err == -EINVAL, "%s: got %d, want -EINVAL", what, err);
	ck_assert_msg(strstr(why, needle) != NULL, "%s: reason '%s' lacks '%s'", what, why,
		      needle);
	ck_assert_int_eq(map_check(m, NULL, 0), -EINVAL);
	memset(tiny, 'Z', sizeof(tiny));
	ck_assert_int_eq(map_check(m, tiny, 8), -EINVAL);
	ck_assert_msg(memchr(tiny, '\0', 8) != NULL, "%s: short reason not terminated", what);
	for (size_t i = 8; i < sizeof(tiny); i++)
		ck_assert_msg(tiny[i] == 'Z', "%s: reason overran its buffer", what);
}

/* vlink_msg_part_fill: what it takes is exactly what the LinkList part
 * packs to, never more than the room, and every item goes into one part,
 * in order, whatever the room (items of 120 to 4000 bytes: a name grows). */
START_TEST(test_part_fill)
{
	enum { N = 300 };
	static Vlink__LinkInfo info[N];
	static Vlink__LinkLayout lay[N];
	static char names[N][4001];
	static void *items[N];
	const size_t rooms[] = { 256, 1000, 4096, VLINK_PART_ROOM };

	for (size_t i = 0; i < N; i++) {
		size_t len = 1 + (i * 37) % 4000;

		memset(names[i], 'a' + (int)(i % 26), len);
		names[i][len] = '\0';
		vlink__link_layout__init(&lay[i]);
		lay[i].name = names[i];
		lay[i].nchannels = (uint32_t)i;
		vlink__link_info__init(&info[i]);
		info[i].layout = &lay[i];
		info[i].host_attached = i % 2;
		items[i] = &info[i];
	}
	for (size_t r = 0; r < sizeof(rooms) / sizeof(rooms[0]); r++) {
		size_t i = 0, parts = 0;

		while (i < N) {
			Vlink__LinkList ll = VLINK__LINK_LIST__INIT;
			size_t left = rooms[r];
			size_t k = vlink_msg_part_fill(items, i, N, &left);

			if (k == i) { /* one item larger than the room: a caller's error */
				ck_assert_uint_gt(protobuf_c_message_get_packed_size(items[i]), rooms[r]);
				i++;
				continue;
			}
			ll.n_links = k - i;
			ll.links = (Vlink__LinkInfo **)&items[i];
			ck_assert_uint_eq(vlink__link_list__get_packed_size(&ll), rooms[r] - left);
			ck_assert_uint_le(rooms[r] - left, rooms[r]);
			/* the next item would not have fitted */
			if (k < N)
				ck_assert_uint_gt(protobuf_c_message_get_packed_size(items[k]) + 3, left);
			parts++;
			i = k;
		}
		ck_assert_uint_ge(parts, 1);
	}
	/* nothing to take, and a room of 0 takes nothing */
	{
		size_t left = 10;

		ck_assert_uint_eq(vlink_msg_part_fill(items, N, N, &left), N);
		ck_assert_uint_eq(left, 10);
		left = 0;
		ck_assert_uint_eq(vlink_msg_part_fill(items, 0, N, &left), 0);
	}
}
END_TEST

START_TEST(test_check_map)
{
	int before = count_fds();
	struct map m;

	/* accepted */
	map_init(&m);
	expect_map_ok(&m, "the base map");
	map_init(&m);
	m.nseg = 1;
	m.seg[0].size = 8 * MiB;
	m.nfds = 2;
	expect_map_ok(&m, "one segment, the whole pool");
	/* a frame with an fd the map does not refer to */
	m.nfds = 3;
	expect_map_bad(&m, "fds the map does not use", "a stray fd");
	map_init(&m);
	m.seg[1].pool_offset = 2 * MiB;
	m.seg[1].size = 2 * MiB;
	expect_map_ok(&m, "adjacent segments");
	map_init(&m);
	m.seg[2].pool_offset = 2 * MiB + 4096;
	m.seg[2].size = 8192;
	m.seg[2].page_size = 4096;
	m.seg[2].fd_index = 3;
	m.nseg = 3;
	m.nfds = 4;
	expect_map_ok(&m, "three segments, 4 KiB pages in the gap");
	map_init(&m);
	m.reg.fd_index = 2;
	m.seg[0].fd_index = 0;
	m.seg[1].fd_index = 1;
	expect_map_ok(&m, "fd indexes in another order");
	map_init(&m);
	m.nfds = 32;
	m.reg.fd_index = 31;
	m.seg[0].fd_index = 30;
	m.seg[1].fd_index = 0;
	/* high indexes are fine, but every fd of the frame must be used */
	expect_map_bad(&m, "fds the map does not use", "fd index 31 of 32, 3 used");
	map_init(&m);
	m.pool = 1ull << 63;
	m.seg[1].pool_offset = (1ull << 63) - 2 * MiB;
	m.seg[1].size = 2 * MiB;
	expect_map_ok(&m, "a segment at the end of a 2^63-byte pool");

	/* refused: the region */
	map_init(&m);
	m.regp = NULL;
	expect_map_bad(&m, "no channel region", "missing region");
	map_init(&m);
	m.reg.fd_index = 3;
	expect_map_bad(&m, "out of range", "region fd index = nfds");
	map_init(&m);
	m.reg.size = 0;
	expect_map_bad(&m, "4 KiB", "region size 0");
	map_init(&m);
	m.reg.size = 4097;
	expect_map_bad(&m, "4 KiB", "region size 4097");

	/* refused: fd indexes */
	map_init(&m);
	m.seg[1].fd_index = 3;
	expect_map_bad(&m, "fd index", "segment fd index = nfds");
	map_init(&m);
	m.seg[1].fd_index = UINT32_MAX;
	expect_map_bad(&m, "fd index", "segment fd index 2^32-1");
	map_init(&m);
	m.seg[0].fd_index = 0;
	expect_map_bad(&m, "reused", "segment uses the region's fd");
	map_init(&m);
	m.seg[1].fd_index = 1;
	expect_map_bad(&m, "reused", "two segments on one fd");
	map_init(&m);
	m.nfds = 33;
	expect_map_bad(&m, "too many fds", "33 fds");
	map_init(&m);
	m.nfds = 0;
	expect_map_bad(&m, "out of range", "no fds at all");

	/* refused: segments */
	map_init(&m);
	m.nseg = 0;
	expect_map_bad(&m, "no pool segments", "no segments");
	map_init(&m);
	m.seg[0].page_size = 0;
	expect_map_bad(&m, "page size", "page size 0");
	map_init(&m);
	m.seg[0].page_size = 2048;
	expect_map_bad(&m, "page size", "page size 2048");
	map_init(&m);
	m.seg[0].page_size = 3 * 4096;
	expect_map_bad(&m, "page size", "page size 12 KiB");
	map_init(&m);
	m.seg[0].size = 0;
	expect_map_bad(&m, "not page aligned", "segment size 0");
	map_init(&m);
	m.seg[0].size = 3 * MiB;
	expect_map_bad(&m, "not page aligned", "size 3 MiB of 2 MiB pages");
	map_init(&m);
	m.seg[1].pool_offset = 5 * MiB;
	m.seg[1].size = 2 * MiB;
	expect_map_bad(&m, "not page aligned", "offset 5 MiB of 2 MiB pages");

	/* refused: outside the pool */
	map_init(&m);
	m.seg[1].pool_offset = 8 * MiB;
	m.seg[1].size = 2 * MiB;
	expect_map_bad(&m, "outside", "starts at the end of the pool");
	map_init(&m);
	m.seg[1].pool_offset = 6 * MiB;
	m.seg[1].size = 4 * MiB;
	expect_map_bad(&m, "outside", "runs past the end of the pool");
	map_init(&m);
	m.seg[1].pool_offset = 0ull - 2 * MiB;        /* offset + size wraps */
	m.seg[1].size = 4 * MiB;
	expect_map_bad(&m, "outside", "offset + size overflows");
	map_init(&m);
	m.seg[1].pool_offset = 2 * MiB;
	m.seg[1].size = 0ull - 2 * MiB;
	expect_map_bad(&m, "outside", "size near 2^64");

	/* refused: overlaps */
	map_init(&m);
	m.seg[1] = m.seg[0];
	m.seg[1].fd_index = 2;
	expect_map_bad(&m, "overlap", "the same range twice");
	map_init(&m);
	m.seg[1].pool_offset = 0;
	m.seg[1].size = 8 * MiB;
	expect_map_bad(&m, "overlap", "second contains the first");
	map_init(&m);
	m.seg[1].pool_offset = 1 * MiB;
	m.seg[1].size = 64 * 1024;
	m.seg[1].page_size = 4096;
	expect_map_bad(&m, "overlap", "second inside the first");
	map_init(&m);
	m.seg[2].pool_offset = 7 * MiB;
	m.seg[2].size = 4096;
	m.seg[2].page_size = 4096;
	m.seg[2].fd_index = 3;
	m.nseg = 3;
	m.nfds = 4;
	expect_map_bad(&m, "overlap", "third overlaps the second");
	map_init(&m);
	m.seg[2].pool_offset = 2 * MiB - 4096;
	m.seg[2].size = 8192;
	m.seg[2].page_size = 4096;
	m.seg[2].fd_index = 3;
	m.nseg = 3;
	m.nfds = 4;
	expect_map_bad(&m, "overlap", "third straddles the end of the first");

	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* =================================== 11. destroy closes the queued fds */

START_TEST(test_reader_destroy_closes_fds)
{
	int before = count_fds();
	int sv[2], fds[MAX_FDS];
	uint8_t buf[HDR + 64];
	struct vlink_reader r;
	struct vlink_frame f;

	open_null(MAX_FDS, fds);
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	/* an incomplete frame holding 16 fds */
	raw_frame(buf, sizeof(buf), VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, MAX_FDS, 64, 64);
	send_raw(sv[0], buf, 30, fds, MAX_FDS);
	ck_assert_int_eq(get_frame(&r, &f), 0);
	ck_assert_uint_eq(r.nfdq, MAX_FDS);
	ck_assert_int_eq(count_fds(), before + 2 + 2 * MAX_FDS);
	vlink_reader_destroy(&r);
	ck_assert_uint_eq(r.nfdq, 0);
	ck_assert_int_eq(count_fds(), before + 2 + MAX_FDS);
	vlink_reader_destroy(&r);                     /* twice is harmless */
	close_pair(sv);

	/* fds queued behind a header not complete yet */
	make_pair(sv);
	vlink_reader_init(&r, sv[1]);
	send_raw(sv[0], buf, 3, fds, 5);
	ck_assert_int_eq(get_frame(&r, &f), 0);
	ck_assert_uint_eq(r.nfdq, 5);
	vlink_reader_destroy(&r);
	close_pair(sv);

	for (unsigned i = 0; i < MAX_FDS; i++)
		ck_assert(fd_is_open(fds[i]));
	close_fds(fds, MAX_FDS);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

START_TEST(test_writer_destroy_closes_fds)
{
	int before = count_fds();
	int sv[2], fds[MAX_FDS], sndbuf = 4096;
	uint8_t *big = calloc(1, MAX_PAYLOAD);
	struct vlink_writer w;

	ck_assert_ptr_nonnull(big);
	open_null(MAX_FDS, fds);
	make_pair(sv);
	vlink_writer_init(&w, sv[0]);

	/* never flushed: the dups are the writer's */
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(vlink_writer_push(&w, big, 100, fds, MAX_FDS), 0);
	ck_assert_int_eq(count_fds(), before + MAX_FDS + 2 + 3 * MAX_FDS);
	vlink_writer_destroy(&w);
	ck_assert(!vlink_writer_pending(&w));
	ck_assert_int_eq(count_fds(), before + MAX_FDS + 2);

	/* the first frame half sent (its fds went with it), two more queued */
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	ck_assert_int_eq(vlink_writer_push(&w, big, MAX_PAYLOAD, fds, 4), 0);
	ck_assert_int_eq(vlink_writer_push(&w, big, MAX_PAYLOAD, fds + 4, 4), 0);
	ck_assert_int_eq(vlink_writer_push(&w, big, 10, fds + 8, 8), 0);
	ck_assert_int_eq(count_fds(), before + MAX_FDS + 2 + 16);
	ck_assert_int_eq(vlink_writer_flush(&w), -EAGAIN);
	ck_assert(vlink_writer_pending(&w));
	ck_assert_uint_gt(w.queued, 0);
	ck_assert_int_eq(count_fds(), before + MAX_FDS + 2 + 12);
	vlink_writer_destroy(&w);
	ck_assert_int_eq(count_fds(), before + MAX_FDS + 2);
	/* nothing of ours was closed by mistake */
	for (unsigned i = 0; i < MAX_FDS; i++)
		ck_assert(fd_is_open(fds[i]));
	ck_assert(fd_is_open(sv[0]) && fd_is_open(sv[1]));

	close_pair(sv);
	close_fds(fds, MAX_FDS);
	free(big);
	ASSERT_NO_FD_LEAK(before);
}
END_TEST

/* ===================================================== regressions */

/* Regression: vlink_reader_fill() on a full buffer (start == 0, end ==
 * sizeof(buf)) used to call recvmsg() with an empty iovec: with plain data
 * queued it returned 0 ("end of stream") although the peer was open; with
 * fds queued the kernel handed them over with 0 bytes and the stream died
 * ("fds without data"), losing the two buffered frames.  It now returns
 * -ENOBUFS (not sticky) and the frames are all delivered. */
static void fill_full_buffer(bool with_fd)
{
	int before = count_fds();
	int sv[2], file = -1, sndbuf = 512 * 1024, queued = 0;
	uint8_t *big = malloc(VLINK_FRAME_MAX);
	uint8_t small[128];
	size_t slen;
	ssize_t n;
	struct vlink_reader r;
	struct vlink_frame f;

	ck_assert_ptr_nonnull(big);
	if (with_fd)
		open_files(1, &file);
	make_pair(sv);
	/* room for 128 KiB + a bit in the socket: best effort, the default is
	 * already enough */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	vlink_reader_init(&r, sv[1]);
	memset(big + HDR, 0x3c, MAX_PAYLOAD);
	make_frame(big, 0, big + HDR, MAX_PAYLOAD);
	send_raw(sv[0], big, VLINK_FRAME_MAX, NULL, 0);
	send_raw(sv[0], big, VLINK_FRAME_MAX, NULL, 0);
	slen = make_error_frame(small, sizeof(small), 3, with_fd ? 1 : 0);
	send_raw(sv[0], small, slen, &file, with_fd ? 1 : 0);
	free(big);

	/* fill() until the reader's buffer is full; the small frame is left */
	while (vlink_reader_pending(&r) < 2 * VLINK_FRAME_MAX) {
		n = vlink_reader_fill(&r);
		ck_assert_msg(n > 0, "filling: %zd", n);
	}
	ck_assert_int_eq(ioctl(sv[1], FIONREAD, &queued), 0);
	ck_assert_int_eq(queued, (int)slen);

	n = vlink_reader_fill(&r);
	ck_assert_msg(n == -ENOBUFS,
		      "vlink_reader_fill with a full buffer and %d bytes queued: %zd, "
		      "want -ENOBUFS", queued, n);
	ck_assert_msg(r.error == 0, "a full buffer made the stream fail: %d (%s)",
		      r.error, r.why ? r.why : "-");

	/* a fixed reader delivers all three frames */
	for (int i = 0; i < 2; i++) {
		expect_frame(&r, &f, "buffered max frame");
		ck_assert_uint_eq(f.len, MAX_PAYLOAD);
	}
	expect_error_frame(&r, 3, &file, with_fd ? 1 : 0);
	expect_drained(&r, "full buffer");

	vlink_reader_destroy(&r);
	close_pair(sv);
	if (with_fd)
		close(file);
	ASSERT_NO_FD_LEAK(before);
}

START_TEST(test_fill_full_buffer_no_false_eof)
{
	fill_full_buffer(false);
}
END_TEST

START_TEST(test_fill_full_buffer_keeps_fds)
{
	fill_full_buffer(true);
}
END_TEST

/* ================================================================ main */

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc;

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_roundtrip_all_types_no_fds);
	tcase_add_test(tc, test_roundtrip_all_types_1_fd);
	tcase_add_test(tc, test_roundtrip_all_types_16_fds);
	tcase_add_test(tc, test_msg_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_split_every_boundary_with_fds);
	tcase_add_test(tc, test_split_every_boundary_no_fds);
	tcase_add_test(tc, test_several_frames_one_write);
	tcase_add_test(tc, test_truncated_stream);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_streams");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_oversized_frame);
	tcase_add_test(tc, test_bad_magic_and_version);
	tcase_add_test(tc, test_too_many_fds_in_header);
	tcase_add_test(tc, test_too_many_fds_in_one_sendmsg);
	tcase_add_test(tc, test_frame_claims_more_fds_than_sent);
	tcase_add_test(tc, test_orphan_fds);
	tcase_add_test(tc, test_fd_queue_overflow);
	tcase_add_test(tc, test_unexpected_control_message);
	tcase_add_test(tc, test_garbage_protobuf);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_writer_partial_writes);
	tcase_add_test(tc, test_writer_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("check_map");
	tcase_add_test(tc, test_check_map);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply_parts");
	tcase_add_test(tc, test_part_fill);
	suite_add_tcase(s, tc);

	tc = tcase_create("destroy");
	tcase_add_test(tc, test_reader_destroy_closes_fds);
	tcase_add_test(tc, test_writer_destroy_closes_fds);
	suite_add_tcase(s, tc);

	/* library bugs found by this suite: expected to fail until fixed */
	tc = tcase_create("regressions");
	tcase_add_test(tc, test_fill_full_buffer_no_false_eof);
	tcase_add_test(tc, test_fill_full_buffer_keeps_fds);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
