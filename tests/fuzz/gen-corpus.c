/* Write the seed inputs of the fuzz targets (formats in fuzz.h) into
 * DIR/fuzz_<target>/seed-*, valid inputs each target's fuzzer grows from.
 *
 *   tests/fuzz/gen-corpus DIR        (make fuzz-corpus)
 *
 * The seeds are committed; run this again when a format changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "vlink_frame.h"
#include "vlink_msg.h"

struct buf {
	uint8_t b[65536];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > sizeof(b->b)) {
		fprintf(stderr, "gen-corpus: seed too large\n");
		exit(1);
	}
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void u16(struct buf *b, uint16_t v)
{
	u8(b, (uint8_t)v);
	u8(b, (uint8_t)(v >> 8));
}

static void u32(struct buf *b, uint32_t v)
{
	u16(b, (uint16_t)v);
	u16(b, (uint16_t)(v >> 16));
}

/* a packed envelope, u16 length first */
static void env(struct buf *b, Vlink__Envelope *e)
{
	uint8_t p[4096];
	size_t n = vlink__envelope__get_packed_size(e);

	if (n > sizeof(p)) {
		fprintf(stderr, "gen-corpus: envelope too large\n");
		exit(1);
	}
	vlink__envelope__pack(e, p);
	u16(b, (uint16_t)n);
	put(b, p, n);
}

static const char *outdir;
static unsigned nwritten;

static void save(const char *target, const char *name, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "gen-corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->b, 1, b->n, f) != b->n || fclose(f)) {
		fprintf(stderr, "gen-corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	nwritten++;
}

/* ---- messages --------------------------------------------------------- */

static void hello(struct buf *b)
{
	Vlink__Envelope e = VLINK__ENVELOPE__INIT;
	Vlink__Hello h = VLINK__HELLO__INIT;

	h.role = VLINK__ROLE__ROLE_ADMIN;
	h.version = VLINK_PROTOCOL_VERSION;
	h.client = "seed";
	e.id = 1;
	e.msg_case = VLINK__ENVELOPE__MSG_HELLO;
	e.hello = &h;
	env(b, &e);
}

static void create(struct buf *b)
{
	Vlink__Envelope e = VLINK__ENVELOPE__INIT;
	Vlink__CreateLink m = VLINK__CREATE_LINK__INIT;

	m.name = "l0";
	m.mac = "02:00:00:00:00:01";
	m.nchannels = 1;
	m.ring_size = 64;
	m.domain = "vm1";
	e.id = 2;
	e.msg_case = VLINK__ENVELOPE__MSG_CREATE_LINK;
	e.create_link = &m;
	env(b, &e);
}

/* a map of 2 segments and a region: 3 fds */
static void maps(struct buf *b, bool link)
{
	Vlink__Envelope e = VLINK__ENVELOPE__INIT;
	Vlink__Segment s[2] = { VLINK__SEGMENT__INIT, VLINK__SEGMENT__INIT };
	Vlink__Segment *sp[2] = { &s[0], &s[1] };
	Vlink__ChannelRegion r = VLINK__CHANNEL_REGION__INIT;
	Vlink__LinkLayout l = VLINK__LINK_LAYOUT__INIT;
	Vlink__LinkLayout *lp = &l;
	Vlink__DomainMap dm = VLINK__DOMAIN_MAP__INIT;
	Vlink__LinkMap lm = VLINK__LINK_MAP__INIT;

	for (int i = 0; i < 2; i++) {
		s[i].index = (uint32_t)i;
		s[i].pool_offset = (uint64_t)i << 21;
		s[i].size = 2u << 20;
		s[i].page_size = 2u << 20;
		s[i].fd_index = (uint32_t)i;
	}
	r.size = 1u << 20;
	r.fd_index = 2;
	l.name = "l0";
	l.mac = "02:00:00:00:00:01";
	l.nchannels = 1;
	l.ring_size = 64;
	l.domain = "vm1";
	if (link) {
		lm.domain = "vm1";
		lm.pool_size = 4u << 20;
		lm.n_segments = 2;
		lm.segments = sp;
		lm.region = &r;
		lm.link = &l;
		lm.end = VLINK__END__END_HOST;
		e.msg_case = VLINK__ENVELOPE__MSG_LINK_MAP;
		e.link_map = &lm;
	} else {
		dm.domain = "vm1";
		dm.pool_size = 4u << 20;
		dm.n_segments = 2;
		dm.segments = sp;
		dm.region = &r;
		dm.n_links = 1;
		dm.links = &lp;
		e.msg_case = VLINK__ENVELOPE__MSG_DOMAIN_MAP;
		e.domain_map = &dm;
	}
	env(b, &e);
}

static void error_msg(struct buf *b)
{
	Vlink__Envelope e = VLINK__ENVELOPE__INIT;
	Vlink__Error m = VLINK__ERROR__INIT;

	m.code = 22;
	m.message = "no link named 'x'";
	e.id = 3;
	e.msg_case = VLINK__ENVELOPE__MSG_ERROR;
	e.error = &m;
	env(b, &e);
}

/* ---- fuzz_frame ------------------------------------------------------- */

static void frame_seeds(void)
{
	static const uint8_t bad_magic[] = { 'X', 'L', 1, 0, 0, 0, 0, 0 };
	static const uint8_t claims[] = { 0x56, 0x4c, 1, 3, 0, 0, 0, 0 };
	struct buf b = { .n = 0 };

	/* well-formed: a frame of each kind, split and joined, maps with fds */
	u8(&b, FRAME_F_VALID);
	u8(&b, 0), u8(&b, 0), hello(&b);
	u8(&b, 0), u8(&b, FRAME_SPLIT_JOIN), create(&b);
	u8(&b, 3), u8(&b, 2), maps(&b, false);
	u8(&b, 3), u8(&b, 3), maps(&b, true);
	u8(&b, 0), u8(&b, 1 | FRAME_SPLIT_JOIN), error_msg(&b);
	save("fuzz_frame", "valid", &b);

	b.n = 0;
	u8(&b, FRAME_F_VALID | FRAME_F_SMALLBUF);
	u8(&b, 1), u8(&b, 3), u16(&b, 40000);
	for (int i = 0; i < 40000; i++)
		u8(&b, (uint8_t)i);
	u8(&b, 0), u8(&b, 0), hello(&b);
	save("fuzz_frame", "large", &b);

	/* raw: a bad magic; fds claimed and not sent; a header in two reads
	 * with the fds on the second */
	b.n = 0;
	u8(&b, 0);
	u8(&b, FRAME_RAW_DRAIN), u16(&b, sizeof(bad_magic)), put(&b, bad_magic, sizeof(bad_magic));
	save("fuzz_frame", "bad-magic", &b);
	b.n = 0;
	u8(&b, 0);
	u8(&b, 1), u16(&b, sizeof(claims)), put(&b, claims, sizeof(claims));
	save("fuzz_frame", "fds-claimed", &b);
	b.n = 0;
	u8(&b, 0);
	u8(&b, FRAME_RAW_DRAIN), u16(&b, 4), put(&b, claims, 4);
	u8(&b, 3), u16(&b, 4), put(&b, claims + 4, 4);
	save("fuzz_frame", "fds-late", &b);
}

/* ---- fuzz_server ------------------------------------------------------ */

static void rec(struct buf *b, unsigned kind, unsigned conn)
{
	u8(b, (uint8_t)(kind << 2 | conn));
}

static void s_hello(struct buf *b, unsigned conn, uint8_t role)
{
	rec(b, SRV_HELLO, conn), u8(b, role), u8(b, 0), u8(b, 0);
}

static void s_req(struct buf *b, unsigned conn, uint8_t which, uint8_t a, uint8_t x)
{
	rec(b, SRV_REQ, conn), u8(b, which), u8(b, a), u8(b, x);
}

static void s_create(struct buf *b, unsigned conn, uint8_t name, uint8_t mac, uint8_t dom)
{
	/* 1 channel, ring 64 */
	rec(b, SRV_CREATE, conn), u8(b, name), u8(b, mac), u8(b, 0), u8(b, 1), u8(b, dom);
}

static void server_seeds(void)
{
	struct buf b = { .n = 0 };

	/* an admin creates two links; a host and a peer attach to one, a
	 * monitor watches; delete refused, then forced */
	s_hello(&b, 0, VLINK__ROLE__ROLE_ADMIN);
	s_req(&b, 0, SRV_REQ_MONITOR, 0, 0);
	s_create(&b, 0, 0, 0, 0);
	s_create(&b, 0, 1, 1, 2);
	s_hello(&b, 1, VLINK__ROLE__ROLE_HOST);
	s_req(&b, 1, SRV_REQ_ATTACH_LINK, 0, VLINK__END__END_HOST);
	s_hello(&b, 2, VLINK__ROLE__ROLE_PEER);
	s_req(&b, 2, SRV_REQ_ATTACH_LINK, 0, VLINK__END__END_PEER);
	s_req(&b, 0, SRV_REQ_LIST, 0, 0);
	s_req(&b, 0, SRV_REQ_STATUS, 0, 0);
	s_req(&b, 0, SRV_REQ_SHOW, 1, 0);
	s_req(&b, 0, SRV_REQ_DELETE, 0, 0);
	s_req(&b, 0, SRV_REQ_DELETE, 0, 1);
	s_req(&b, 2, SRV_REQ_DETACH, 0, 0);
	rec(&b, SRV_CLOSE, 1);
	save("fuzz_server", "links", &b);

	/* QEMU attaches a domain, links are created in it, it detaches */
	b.n = 0;
	s_hello(&b, 0, VLINK__ROLE__ROLE_ADMIN);
	s_hello(&b, 1, VLINK__ROLE__ROLE_QEMU);
	s_req(&b, 1, SRV_REQ_ATTACH_DOMAIN, 2, 0);
	s_create(&b, 0, 3, 2, 2);
	s_req(&b, 2, SRV_REQ_ATTACH_LINK, 3, VLINK__END__END_OBSERVER);
	s_req(&b, 0, SRV_REQ_DELETE, 3, 0);
	s_req(&b, 1, SRV_REQ_DETACH, 0, 0);
	s_req(&b, 0, SRV_REQ_DELETE, 3, 0);
	save("fuzz_server", "domain", &b);

	/* a config file, a restart, the config dropped */
	b.n = 0;
	rec(&b, SRV_CONFIG, 0), u8(&b, 2);
	u8(&b, 0), u8(&b, 0), u8(&b, 0), u8(&b, 0);
	u8(&b, 1), u8(&b, 1), u8(&b, 1), u8(&b, 3);
	s_hello(&b, 0, VLINK__ROLE__ROLE_HOST);
	s_req(&b, 0, SRV_REQ_ATTACH_LINK, 1, VLINK__END__END_HOST);
	rec(&b, SRV_RESTART, 0);
	s_hello(&b, 0, VLINK__ROLE__ROLE_ADMIN);
	s_req(&b, 0, SRV_REQ_LIST, 0, 0);
	rec(&b, SRV_CONFIG, 0), u8(&b, 0);
	save("fuzz_server", "config", &b);

	/* frames the harness wraps: a packed Hello and CreateLink, a frame
	 * with fds, a wrong version, garbage */
	b.n = 0;
	rec(&b, SRV_FRAME, 0), hello(&b);
	rec(&b, SRV_FRAME, 0), create(&b);
	rec(&b, SRV_FDS, 0), u8(&b, 0x22), hello(&b);
	rec(&b, SRV_HELLO, 1), u8(&b, 1), u8(&b, 1), u8(&b, 0);
	rec(&b, SRV_RAW, 2), u16(&b, 8), put(&b, "VL\1\0\xff\xff\0\0", 8);
	rec(&b, SRV_FDS, 0), u8(&b, 0x12), hello(&b);
	save("fuzz_server", "frames", &b);
}

/* ---- fuzz_hostend ----------------------------------------------------- */

static void host_seeds(void)
{
	struct buf b = { .n = 0 };

	/* 2 channels, ring 8, 2 KiB buffers, 32 buffers, base 2 MiB: lend
	 * on rx and fill, the peer returns them, the host takes them back */
	u8(&b, 1), u8(&b, 2), u8(&b, 5), u8(&b, 31), u8(&b, HOST_BASE_2M);
	for (uint8_t ch = 0; ch < 2; ch++) {
		u8(&b, HOST_LEND), u8(&b, ch), u8(&b, 0), u8(&b, 8), u8(&b, 3), u8(&b, 0);
		u8(&b, HOST_LEND), u8(&b, ch), u8(&b, 1), u8(&b, 8), u8(&b, 0), u8(&b, 0);
		u8(&b, HOST_PEER), u8(&b, ch), u8(&b, 0), u8(&b, 8), u8(&b, 0), u8(&b, 0);
		u8(&b, HOST_PEER), u8(&b, ch), u8(&b, 1), u8(&b, 8), u8(&b, 0x40), u8(&b, 0);
		u8(&b, HOST_TAKE), u8(&b, ch), u8(&b, 0), u8(&b, 8);
		u8(&b, HOST_TAKE), u8(&b, ch), u8(&b, 1), u8(&b, 8);
	}
	save("fuzz_hostend", "roundtrip", &b);

	/* duplicates, a buffer returned on the other channel, a forged
	 * descriptor and index, a retract and a reclaim */
	b.n = 0;
	u8(&b, 1), u8(&b, 1), u8(&b, 2), u8(&b, 15), u8(&b, HOST_BASE_ZERO);
	u8(&b, HOST_LEND), u8(&b, 0), u8(&b, 0), u8(&b, 4), u8(&b, 1), u8(&b, 0);
	u8(&b, HOST_PEER), u8(&b, 0), u8(&b, 0), u8(&b, 2), u8(&b, 1), u8(&b, 0);
	u8(&b, HOST_PEER), u8(&b, 0), u8(&b, 0), u8(&b, 2), u8(&b, 0x80), u8(&b, 1);
	u8(&b, HOST_TAKE), u8(&b, 0), u8(&b, 0), u8(&b, 8);
	u8(&b, HOST_TAKE), u8(&b, 1), u8(&b, 0), u8(&b, 8);
	u8(&b, HOST_FORGE_DESC), u8(&b, 1), u8(&b, 1), u8(&b, 0), u8(&b, 1), u32(&b, 77);
	u16(&b, 100), u16(&b, 0), u16(&b, 0);
	u8(&b, HOST_FORGE_INDEX), u8(&b, 1), u8(&b, 1), u8(&b, 0), u32(&b, 1);
	u8(&b, HOST_TAKE), u8(&b, 1), u8(&b, 0), u8(&b, 8);
	u8(&b, HOST_LEND), u8(&b, 1), u8(&b, 1), u8(&b, 4), u8(&b, 0), u8(&b, 0);
	u8(&b, HOST_RETRACT), u8(&b, 1), u8(&b, 1), u8(&b, 2);
	u8(&b, HOST_LEND_ONE), u8(&b, 0), u8(&b, 2), u8(&b, 0), u32(&b, 3);
	u8(&b, HOST_RECLAIM), u8(&b, 0), u8(&b, 0);
	u8(&b, HOST_RESET), u8(&b, 0), u8(&b, 0);
	save("fuzz_hostend", "hostile", &b);
}

/* ---- fuzz_guest ------------------------------------------------------- */

static void guest_seeds(void)
{
	struct buf b = { .n = 0 };

	/* slot 0, 2 channels, ring 64, header at 8 KiB, area 0; no pokes; the
	 * host puts good buffers on rx and fill, the guest takes, reflects,
	 * sends and frees them, a poll with a new generation */
	u8(&b, 0), u8(&b, 1), u8(&b, 0), u8(&b, 0), u8(&b, 0);
	u8(&b, 0);
	for (uint8_t ch = 1; ch <= 2; ch++) {
		u8(&b, GUEST_OP_PUT), u8(&b, ch), u8(&b, 3), u8(&b, 0);
		for (uint32_t i = 0; i < 4; i++)
			u8(&b, 1), u32(&b, i), u16(&b, 60), u16(&b, 64);
		u8(&b, GUEST_OP_PUT), u8(&b, ch), u8(&b, 1), u8(&b, 1);
		u8(&b, 1), u32(&b, 9), u16(&b, 0), u16(&b, 128);
		u8(&b, 1), u32(&b, 10), u16(&b, 0), u16(&b, 128);
		u8(&b, GUEST_OP_RX), u8(&b, ch), u8(&b, 8);
		u8(&b, GUEST_OP_ALLOC), u8(&b, ch), u8(&b, 8);
		u8(&b, GUEST_OP_GIVE), u8(&b, ch), u8(&b, 2), u8(&b, 2);
		u8(&b, GUEST_OP_GIVE), u8(&b, ch), u8(&b, 1), u8(&b, 0);
		u8(&b, GUEST_OP_GIVE), u8(&b, ch), u8(&b, 8), u8(&b, 1);
	}
	u8(&b, GUEST_OP_POLL), u8(&b, GUEST_F_FLAGS), u8(&b, 2), u32(&b, 0), u8(&b, 1);
	save("fuzz_guest", "datapath", &b);

	/* the same, then the host resets while the guest holds buffers: the
	 * guest acks, hands the old ones back (dropped), goes on in the new
	 * epoch */
	u8(&b, GUEST_OP_RX), u8(&b, 1), u8(&b, 2);
	u8(&b, GUEST_OP_EPOCH), u8(&b, 0);
	u8(&b, GUEST_OP_RX), u8(&b, 1), u8(&b, 8);
	u8(&b, GUEST_OP_GIVE), u8(&b, 1), u8(&b, 8), u8(&b, 1);
	u8(&b, GUEST_OP_EPOCH), u8(&b, 1);
	u8(&b, GUEST_OP_PUT), u8(&b, 1), u8(&b, 1), u8(&b, 0);
	u8(&b, 1), u32(&b, 5), u16(&b, 60), u16(&b, 64);
	u8(&b, GUEST_OP_RX), u8(&b, 1), u8(&b, 8);
	u8(&b, GUEST_OP_GIVE), u8(&b, 1), u8(&b, 8), u8(&b, 0);
	save("fuzz_guest", "epoch", &b);

	/* hostile descriptors and indices, then the table changes under a
	 * poll (buffer area moved: the link is stale) */
	b.n = 0;
	u8(&b, 3), u8(&b, 0), u8(&b, 1), u8(&b, 1), u8(&b, 1);
	u8(&b, 0);
	u8(&b, GUEST_OP_PUT), u8(&b, 1), u8(&b, 3), u8(&b, 0);
	u8(&b, 0x10), u32(&b, 0x12345), u16(&b, 60), u16(&b, 0);
	u8(&b, 1), u32(&b, 1), u16(&b, 2000), u16(&b, 100);
	u8(&b, 5), u32(&b, 2), u16(&b, 0), u16(&b, 0xffff);
	u8(&b, 3), u32(&b, 3), u32(&b, 0xffffffffu), u16(&b, 0);
	u8(&b, GUEST_OP_RX), u8(&b, 1), u8(&b, 8);
	u8(&b, GUEST_OP_INDEX), u8(&b, 1), u8(&b, 4), u32(&b, 1000);
	u8(&b, GUEST_OP_RX), u8(&b, 1), u8(&b, 64);
	u8(&b, GUEST_OP_POLL), u8(&b, GUEST_F_BUF_OFFSET), u8(&b, 0), u32(&b, 1u << 20), u8(&b, 1);
	u8(&b, GUEST_OP_RX), u8(&b, 1), u8(&b, 8);
	save("fuzz_guest", "hostile", &b);

	/* a forged table: each field off by a little before the open */
	for (uint8_t fld = 0; fld < GUEST_F_N; fld++) {
		char name[32];

		b.n = 0;
		u8(&b, 0), u8(&b, 0), u8(&b, 0), u8(&b, 0), u8(&b, 0);
		u8(&b, 1);
		u8(&b, fld), u8(&b, 2), u32(&b, fld & 1 ? 1 : 0xff);
		u8(&b, GUEST_OP_PUT), u8(&b, 1), u8(&b, 0), u8(&b, 0);
		u8(&b, 1), u32(&b, 0), u16(&b, 10), u16(&b, 0);
		u8(&b, GUEST_OP_RX), u8(&b, 1), u8(&b, 4);
		snprintf(name, sizeof(name), "field-%02u", fld);
		save("fuzz_guest", name, &b);
	}
}

/* ---- fuzz_linkmem ----------------------------------------------------- */

static void linkmem_seeds(void)
{
	struct buf b = { .n = 0 };

	/* a valid link of 2 channels, ring 128, as it is */
	u8(&b, 1), u8(&b, 1);
	save("fuzz_linkmem", "valid", &b);
	/* a header offset that wraps the sum; a stride the ring does not
	 * give; a ring moved in the LinkMap; a header that disagrees; buffers
	 * past the pool */
	b.n = 0;
	u8(&b, 0), u8(&b, 0), u8(&b, LINKMEM_F_HDR_OFFSET), u8(&b, 2), u8(&b, 16);
	save("fuzz_linkmem", "wrap", &b);
	b.n = 0;
	u8(&b, 0), u8(&b, 0), u8(&b, LINKMEM_F_STRIDE), u8(&b, 1), u8(&b, 64);
	save("fuzz_linkmem", "stride", &b);
	b.n = 0;
	u8(&b, 3), u8(&b, 2), u8(&b, LINKMEM_F_CHAN_SHIFT), u8(&b, 1), u8(&b, 1);
	save("fuzz_linkmem", "moved-ring", &b);
	b.n = 0;
	u8(&b, 0), u8(&b, 0), u8(&b, LINKMEM_F_HDR_RING), u8(&b, 2), u8(&b, 5);
	save("fuzz_linkmem", "header-disagrees", &b);
	b.n = 0;
	u8(&b, 0), u8(&b, 0), u8(&b, LINKMEM_F_BUF_AREA), u8(&b, 2), u8(&b, 12);
	save("fuzz_linkmem", "past-the-pool", &b);
}

int main(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: gen-corpus DIR\n"
			"Write the seed inputs of the fuzz targets into DIR/fuzz_<target>/.\n");
		return argc == 2 ? 0 : 2;
	}
	outdir = argv[1];
	frame_seeds();
	server_seeds();
	host_seeds();
	guest_seeds();
	linkmem_seeds();
	printf("gen-corpus: %u seeds in %s\n", nwritten, outdir);
	return 0;
}
