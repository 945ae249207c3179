/* Unit tests for vlinkd/registry.c: domains, links, their place in the
 * domain's pool and channel region, and what the channel region holds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"
#include "regtest.h"

#define BUF_ALIGN (2 * MiB)

static char *tmpdir;
static char memdir[4200];
static struct registry r;
static int fds_before;
static char why[1024];

/* ---- fixture ---------------------------------------------------------- */

static void setup(void)
{
	log_setup(false, false, LOG_ERR);
	fds_before = count_fds();
	tmpdir = make_tmpdir();
	ck_assert_ptr_nonnull(tmpdir);
	journal_add(tmpdir);
	snprintf(memdir, sizeof(memdir), "%s/vlink-%s", tmpdir, DAEMON_ID);
	reg_test_init(&r, tmpdir);
	why[0] = '\0';
}

static void teardown(void)
{
	int fds;

	reg_fini(&r);
	free_owned();
	fds = count_fds();
	rm_rf(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
	ck_assert_msg(fds == fds_before, "fd leak: %d open before the test, %d after reg_fini",
		      fds_before, fds);
}

/* ---- helpers ---------------------------------------------------------- */

static void mac_for(unsigned i, char out[VLINK_MAC_STRLEN])
{
	snprintf(out, VLINK_MAC_STRLEN, "02:00:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
}

/* Create a link with a unique MAC; returns the error, *out the link. */
static int mk(const char *name, const char *dom, uint32_t nch, uint32_t ring,
	      struct reg_link **out)
{
	static unsigned seq = 1;
	char mac[VLINK_MAC_STRLEN];
	struct reg_link_params p = {
		.name = name, .mac = mac, .domain = dom, .nchannels = nch, .ring_size = ring,
	};
	struct reg_link *l = NULL;
	int err;

	mac_for(seq++, mac);
	why[0] = '\0';
	err = reg_link_create(&r, &p, &l, why, sizeof(why));
	if (out)
		*out = err ? NULL : l;
	return err;
}

static struct reg_link *mk_ok(const char *name, const char *dom, uint32_t nch, uint32_t ring)
{
	struct reg_link *l;
	int err = mk(name, dom, nch, ring, &l);

	ck_assert_msg(err == 0, "creating '%s' failed: %d (%s)", name, err, why);
	ck_assert_ptr_nonnull(l);
	return l;
}

static unsigned count_domains(void)
{
	unsigned n = 0;

	for (struct reg_domain *d = r.domains; d; d = d->next)
		n++;
	return n;
}

static off_t file_size(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_size;
}

/* Everything a refused operation must leave alone. */
struct snap {
	unsigned nlinks, ndomains;
	char *files;
	char names[VLINK_MAX_LINKS * 4][VLINK_NAME_MAX + 1];
	struct {
		const struct reg_domain *d;
		unsigned nlinks;
		uint32_t generation;
		uint64_t size;
		uint8_t *region;   /* copy of the whole channel region */
	} dom[8];
};

static void snap_take(struct snap *s)
{
	unsigned i = 0;

	memset(s, 0, sizeof(*s));
	s->nlinks = r.nlinks;
	s->ndomains = count_domains();
	s->files = list_files(tmpdir);
	for (struct reg_link *l = r.links; l && i < VLINK_MAX_LINKS * 4; l = l->next)
		strcpy(s->names[i++], l->name);
	i = 0;
	for (struct reg_domain *d = r.domains; d; d = d->next, i++) {
		ck_assert_uint_lt(i, 8);
		s->dom[i].d = d;
		s->dom[i].nlinks = d->nlinks;
		s->dom[i].generation = d->generation;
		s->dom[i].size = d->region.size;
		s->dom[i].region = own(malloc(d->region.size));
		memcpy(s->dom[i].region, d->region.map, d->region.size);
	}
}

static void snap_free(struct snap *s)
{
	memset(s, 0, sizeof(*s));   /* the blocks are owned */
}

/* Check that nothing changed since `a` was taken; frees `a`. */
static void snap_same(struct snap *a, const char *what)
{
	struct snap b;

	snap_take(&b);
	ck_assert_msg(a->nlinks == b.nlinks, "%s: registry nlinks %u -> %u", what,
		      a->nlinks, b.nlinks);
	ck_assert_msg(a->ndomains == b.ndomains, "%s: domains %u -> %u", what,
		      a->ndomains, b.ndomains);
	ck_assert_msg(!strcmp(a->files, b.files), "%s: files changed:\n%s---\n%s", what,
		      a->files, b.files);
	ck_assert_msg(!memcmp(a->names, b.names, sizeof(a->names)), "%s: link list changed",
		      what);
	for (unsigned i = 0; i < 8 && a->dom[i].d; i++) {
		ck_assert_msg(a->dom[i].d == b.dom[i].d, "%s: domain list changed", what);
		ck_assert_msg(a->dom[i].nlinks == b.dom[i].nlinks,
			      "%s: domain '%s' nlinks changed", what, a->dom[i].d->name);
		ck_assert_msg(a->dom[i].generation == b.dom[i].generation,
			      "%s: domain '%s' generation changed", what, a->dom[i].d->name);
		ck_assert_msg(a->dom[i].size == b.dom[i].size,
			      "%s: domain '%s' region size %llu -> %llu", what,
			      a->dom[i].d->name, (unsigned long long)a->dom[i].size,
			      (unsigned long long)b.dom[i].size);
		ck_assert_msg(!memcmp(a->dom[i].region, b.dom[i].region, a->dom[i].size),
			      "%s: domain '%s' channel region content changed", what,
			      a->dom[i].d->name);
	}
	snap_free(a);
	snap_free(&b);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The links of one domain must not overlap each other anywhere. */
static void check_no_overlap(const struct reg_domain *d)
{
	for (const struct reg_link *a = r.links; a; a = a->next) {
		if (a->dom != d)
			continue;
		ck_assert_uint_ge(a->hdr_offset, VLINK_REGION_HDR_SIZE);
		ck_assert_uint_le(a->hdr_offset + a->region_area, d->region.size);
		ck_assert_uint_le(a->buf_offset + a->buf_area, d->pool.size);
		ck_assert_uint_eq(a->buf_offset % BUF_ALIGN, 0);
		ck_assert_uint_eq(a->hdr_offset % 4096, 0);
		for (const struct reg_link *b = a->next; b; b = b->next) {
			if (b->dom != d)
				continue;
			ck_assert_msg(!ranges_overlap(a->hdr_offset, a->region_area,
						      b->hdr_offset, b->region_area),
				      "links '%s' and '%s' overlap in the channel region",
				      a->name, b->name);
			ck_assert_msg(!ranges_overlap(a->buf_offset, a->buf_area,
						      b->buf_offset, b->buf_area),
				      "links '%s' and '%s' overlap in the pool", a->name, b->name);
			ck_assert_msg(a->slot != b->slot, "links '%s' and '%s' share slot %u",
				      a->name, b->name, a->slot);
		}
	}
}

/* The region's table entry and link header agree with the link. */
static void check_entry(const struct reg_link *l)
{
	const struct vlink_link_entry *e = &hdr_of(l->dom)->links[l->slot];
	const struct vlink_link_hdr *lh = lhdr_of(l);

	ck_assert_uint_lt(l->slot, VLINK_MAX_LINKS);
	ck_assert_uint_eq(e->flags, VLINK_LINK_F_USED);
	ck_assert_str_eq(e->name, l->name);
	ck_assert_mem_eq(e->mac, l->mac, 6);
	ck_assert_uint_eq(e->nchannels, l->nchannels);
	ck_assert_uint_eq(e->ring_size, l->ring_size);
	ck_assert_uint_eq(e->buf_size, VLINK_BUF_SIZE);
	ck_assert_uint_eq(e->ring_stride, vlink_ring_stride(l->ring_size));
	ck_assert_uint_eq(e->hdr_offset, l->hdr_offset);
	ck_assert_uint_eq(e->buf_offset, l->buf_offset);
	ck_assert_uint_eq(e->buf_area, l->buf_area);
	ck_assert_uint_eq(lh->magic, VLINK_LINK_MAGIC);
	ck_assert_uint_eq(lh->nchannels, l->nchannels);
	ck_assert_uint_eq(lh->ring_size, l->ring_size);
	ck_assert_uint_eq(lh->mtu, l->mtu);
}

static unsigned used_entries(const struct reg_domain *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++)
		n += (hdr_of(d)->links[i].flags & VLINK_LINK_F_USED) != 0;
	return n;
}

/* ---- creation and lookup ---------------------------------------------- */

/* the link's MTU: the default, one given, and out of range refused */
START_TEST(test_create_mtu)
{
	struct reg_link_params p = { .name = "m1", .mac = "02:00:00:00:aa:01", .nchannels = 1 };
	struct reg_layout lay;
	struct reg_link *l;

	ck_assert_int_eq(reg_link_create(&r, &p, &l, why, sizeof(why)), 0);
	ck_assert_uint_eq(l->mtu, VLINK_MTU_DEFAULT);
	p.name = "m2", p.mac = "02:00:00:00:aa:02", p.mtu = 1500;
	ck_assert_int_eq(reg_link_create(&r, &p, &l, why, sizeof(why)), 0);
	ck_assert_uint_eq(l->mtu, 1500);
	ck_assert_uint_eq(lhdr_of(l)->mtu, 1500);
	reg_link_layout(l, &lay);
	ck_assert_uint_eq(lay.msg.mtu, 1500);
	for (unsigned k = 0; k < 2; k++) {
		p.name = "m3", p.mac = "02:00:00:00:aa:03", p.mtu = k ? 9001 : 67;
		ck_assert_int_eq(reg_link_create(&r, &p, &l, why, sizeof(why)), -EINVAL);
		ck_assert_msg(strstr(why, k ? "MTU 9001 out of range (68-9000)" :
				       "MTU 67 out of range (68-9000)"), "%s", why);
	}
	ck_assert_ptr_null(reg_link_find(&r, "m3"));
}
END_TEST

START_TEST(test_create_defaults)
{
	struct reg_link *l;
	struct reg_domain *d;
	struct reg_link_params p = {
		.name = "eth0", .mac = "02:11:22:33:44:55", .nchannels = 2, .from_config = true,
	};

	ck_assert_ptr_null(reg_link_find(&r, "eth0"));
	ck_assert_ptr_null(reg_domain_find(&r, VLINK_DEFAULT_DOMAIN));
	ck_assert_int_eq(reg_link_create(&r, &p, &l, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l->name, "eth0");
	ck_assert_uint_eq(l->ring_size, VLINK_RING_DEFAULT);
	ck_assert_uint_eq(l->ring_size, 1024);
	ck_assert_uint_eq(l->nchannels, 2);
	ck_assert_uint_eq(l->buf_size, VLINK_BUF_SIZE);
	ck_assert_uint_eq(reg_link_epoch(l), 0);
	ck_assert(l->from_config);
	ck_assert_ptr_null(l->host);
	ck_assert_ptr_null(l->peer);
	ck_assert_mem_eq(l->mac, ((uint8_t[6]){ 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }), 6);
	d = reg_domain_find(&r, "default");
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_eq(l->dom, d);
	ck_assert_str_eq(d->name, "default");
	ck_assert_uint_eq(d->nlinks, 1);
	ck_assert_uint_eq(d->nattached, 0);
	ck_assert_uint_eq(r.nlinks, 1);
	ck_assert_ptr_eq(reg_link_find(&r, "eth0"), l);
	ck_assert_ptr_null(reg_link_find(&r, "eth1"));
	ck_assert_ptr_null(reg_link_find(&r, "eth"));
	ck_assert_ptr_null(reg_link_find(&r, "eth00"));
	ck_assert_ptr_null(reg_domain_find(&r, "defaul"));

	/* "" also means the default domain; from_config defaults to false */
	p.name = "eth1";
	p.mac = "02:11:22:33:44:56";
	p.domain = "";
	p.ring_size = 64;
	p.from_config = false;
	ck_assert_int_eq(reg_link_create(&r, &p, &l, why, sizeof(why)), 0);
	ck_assert_ptr_eq(l->dom, d);
	ck_assert_uint_eq(l->ring_size, 64);
	ck_assert(!l->from_config);
	ck_assert_uint_eq(d->nlinks, 2);
	ck_assert_uint_eq(r.nlinks, 2);
	ck_assert_uint_eq(count_domains(), 1);
	ck_assert_ptr_eq(reg_link_find(&r, "eth1"), l);
	ck_assert_ptr_ne(reg_link_find(&r, "eth0"), l);
	/* an explicit "default" is the same domain */
	l = mk_ok("eth2", "default", 1, 0);
	ck_assert_ptr_eq(l->dom, d);
	ck_assert_uint_eq(count_domains(), 1);
	check_no_overlap(d);
}
END_TEST

START_TEST(test_create_upper_case_mac)
{
	struct reg_link *l;
	struct reg_link_params p = {
		.name = "m", .mac = "0A:BC:DE:F0:12:34", .nchannels = 1,
	};
	struct reg_layout lay;

	ck_assert_int_eq(reg_link_create(&r, &p, &l, why, sizeof(why)), 0);
	ck_assert_mem_eq(l->mac, ((uint8_t[6]){ 0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34 }), 6);
	reg_link_layout(l, &lay);
	ck_assert_str_eq(lay.msg.mac, "0a:bc:de:f0:12:34");
}
END_TEST

START_TEST(test_layout)
{
	struct reg_link *l;
	struct reg_domain *d;
	const uint32_t stride = 128 + 256 * 16;
	struct reg_layout lay;
	uint64_t prev_tx = 0;

	r.pool_size = 256 * MiB;   /* room for a 16384-descriptor ring below */
	l = mk_ok("lay", "vmA", 3, 256);
	d = l->dom;

	reg_link_layout(l, &lay);
	ck_assert_str_eq(lay.msg.name, "lay");
	ck_assert_str_eq(lay.msg.domain, "vmA");
	ck_assert_str_eq(lay.msg.mac, lay.mac);
	ck_assert_uint_eq(strlen(lay.msg.mac), 17);
	ck_assert_uint_eq(lay.msg.nchannels, 3);
	ck_assert_uint_eq(lay.msg.ring_size, 256);
	ck_assert_uint_eq(lay.msg.ring_stride, stride);
	ck_assert_uint_eq(lay.msg.ring_stride, vlink_ring_stride(256));
	ck_assert_uint_ge(lay.msg.header_offset, 8192);
	ck_assert_uint_eq(lay.msg.header_offset, l->hdr_offset);
	ck_assert_uint_eq(lay.msg.buf_size, VLINK_BUF_SIZE);
	ck_assert_uint_eq(lay.msg.epoch, 0);
	ck_assert_uint_eq(lay.msg.buf_offset, l->buf_offset);
	ck_assert_uint_eq(lay.msg.buf_area, l->buf_area);
	ck_assert_uint_eq(lay.msg.buf_offset % BUF_ALIGN, 0);
	ck_assert_uint_eq(lay.msg.buf_area % BUF_ALIGN, 0);
	/* enough buffers for every descriptor of rx and fill plus the host's */
	ck_assert_uint_ge(lay.msg.buf_area, 3ull * 256 * 4 * VLINK_BUF_SIZE);
	ck_assert_uint_le(lay.msg.buf_offset + lay.msg.buf_area, d->pool.size);
	ck_assert_uint_eq(lay.msg.n_channels, 3);
	for (unsigned i = 0; i < 3; i++) {
		const Vlink__ChannelLayout *c = lay.msg.channels[i];

		ck_assert_uint_eq(c->channel, i + 1);
		ck_assert_uint_eq(c->rx, l->hdr_offset + VLINK_LINK_HDR_SIZE + 4ull * i * stride);
		ck_assert_uint_lt(c->rx, c->done);
		ck_assert_uint_lt(c->done, c->fill);
		ck_assert_uint_lt(c->fill, c->tx);
		ck_assert_uint_eq(c->done - c->rx, stride);
		ck_assert_uint_eq(c->fill - c->done, stride);
		ck_assert_uint_eq(c->tx - c->fill, stride);
		if (i)
			ck_assert_uint_eq(c->rx - prev_tx, stride);
		prev_tx = c->tx;
		ck_assert_uint_le(c->tx + stride, l->hdr_offset + l->region_area);
		ck_assert_uint_le(c->tx + stride, d->region.size);
	}

	/* one channel at the largest ring, and the defaults */
	l = mk_ok("big", "vmA", 1, VLINK_RING_MAX);
	reg_link_layout(l, &lay);
	ck_assert_uint_eq(lay.msg.ring_stride, 128 + 16384 * 16);
	ck_assert_uint_eq(lay.msg.n_channels, 1);
	ck_assert_uint_eq(lay.msg.channels[0]->tx - lay.msg.channels[0]->rx,
			  3ull * (128 + 16384 * 16));
	ck_assert_uint_ge(lay.msg.header_offset, 8192);
	ck_assert_uint_eq(lay.msg.buf_offset % BUF_ALIGN, 0);
	ck_assert_uint_le(lay.msg.buf_offset + lay.msg.buf_area, d->pool.size);
	lhdr_of(l)->host_epoch = 9; /* a host end opened epoch 9 */
	reg_link_layout(l, &lay);
	ck_assert_uint_eq(lay.msg.epoch, 9);
	check_no_overlap(d);
}
END_TEST

START_TEST(test_layout_64_channels)
{
	struct reg_link *l;
	struct reg_layout lay;
	uint32_t stride = vlink_ring_stride(64);

	r.pool_size = 128 * MiB;
	l = mk_ok("wide", NULL, VLINK_NCHANNELS_MAX, 64);
	reg_link_layout(l, &lay);
	ck_assert_uint_eq(lay.msg.n_channels, 64);
	for (unsigned i = 0; i < 64; i++) {
		ck_assert_uint_eq(lay.msg.channels[i]->channel, i + 1);
		ck_assert_uint_eq(lay.msg.channels[i]->rx,
				  l->hdr_offset + VLINK_LINK_HDR_SIZE + 4ull * i * stride);
		ck_assert_uint_eq(lay.msg.channels[i]->tx, lay.msg.channels[i]->rx + 3ull * stride);
	}
	ck_assert_uint_le(lay.msg.channels[63]->tx + stride, l->dom->region.size);
	check_entry(l);
}
END_TEST

/* ---- the channel region ----------------------------------------------- */

START_TEST(test_region_content)
{
	struct reg_link *a = mk_ok("ra", "dom1", 2, 128);
	struct reg_domain *d = a->dom;
	const struct vlink_region_hdr *h;
	const struct vlink_link_hdr *lh;
	const struct vlink_link_entry *e;
	struct reg_link *b;
	uint32_t gen1, gen2;
	struct stat st;
	uint8_t *map;
	int fd;

	gen1 = hdr_of(d)->generation;
	ck_assert_uint_eq(gen1 % 2, 0);
	ck_assert_uint_gt(gen1, 0);
	b = mk_ok("rb", "dom1", 3, 512);
	gen2 = hdr_of(d)->generation;
	ck_assert_uint_eq(gen2 % 2, 0);
	ck_assert_uint_gt(gen2, gen1);

	/* read the file itself, not the daemon's mapping */
	ck_assert_ptr_nonnull(d->region.path);
	ck_assert(!strncmp(d->region.path, memdir, strlen(memdir)));
	fd = open(d->region.path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, d->region.size);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	close(fd);

	h = (const struct vlink_region_hdr *)map;
	ck_assert_uint_eq(h->magic, VLINK_SHM_MAGIC);
	ck_assert_uint_eq(h->version, VLINK_SHM_VERSION);
	ck_assert_uint_eq(h->max_links, VLINK_MAX_LINKS);
	ck_assert_uint_eq(h->generation, gen2);
	ck_assert_uint_eq(h->nlinks, 2);
	ck_assert_uint_eq(h->region_size, d->region.size);
	ck_assert_uint_eq(h->pool_size, 64 * MiB);
	ck_assert_uint_eq(h->pool_size, d->pool.size);
	ck_assert_str_eq(h->domain, "dom1");

	for (int k = 0; k < 2; k++) {
		const struct reg_link *l = k ? b : a;

		e = &h->links[l->slot];
		ck_assert_str_eq(e->name, l->name);
		ck_assert_mem_eq(e->mac, l->mac, 6);
		ck_assert_uint_eq(e->nchannels, l->nchannels);
		ck_assert_uint_eq(e->ring_size, l->ring_size);
		ck_assert_uint_eq(e->buf_size, VLINK_BUF_SIZE);
		ck_assert_uint_eq(e->ring_stride, vlink_ring_stride(l->ring_size));
		ck_assert_uint_eq(e->hdr_offset, l->hdr_offset);
		ck_assert_uint_eq(e->buf_offset, l->buf_offset);
		ck_assert_uint_eq(e->buf_area, l->buf_area);
		ck_assert_uint_eq(e->flags, VLINK_LINK_F_USED);
		ck_assert(all_zero(e->reserved, sizeof(e->reserved)));

		lh = (const struct vlink_link_hdr *)(map + l->hdr_offset);
		ck_assert_uint_eq(lh->magic, VLINK_LINK_MAGIC);
		ck_assert_uint_eq(lh->version, VLINK_SHM_VERSION);
		ck_assert_uint_eq(lh->nchannels, l->nchannels);
		ck_assert_uint_eq(lh->ring_size, l->ring_size);
		ck_assert_uint_eq(lh->buf_size, VLINK_BUF_SIZE);
		ck_assert_uint_eq(lh->ring_stride, vlink_ring_stride(l->ring_size));
		ck_assert_mem_eq(lh->mac, l->mac, 6);
		ck_assert_uint_eq(lh->mtu, VLINK_MTU_DEFAULT);
		ck_assert_uint_eq(lh->buf_offset, l->buf_offset);
		ck_assert_uint_eq(lh->buf_area, l->buf_area);
		ck_assert_uint_eq(lh->host_state, VLINK_END_DOWN);
		ck_assert_uint_eq(lh->host_epoch, 0);
		ck_assert_uint_eq(lh->peer_state, VLINK_END_DOWN);
		ck_assert_uint_eq(lh->peer_ack_epoch, 0);
		for (uint32_t ch = 1; ch <= l->nchannels; ch++)
			for (int ring = 0; ring < VLINK_RINGS_PER_CHAN; ring++) {
				const struct vlink_ring_hdr *rh = (const void *)((const uint8_t *)lh +
					vlink_ring_offset(l->ring_size, ch, (enum vlink_ring_id)ring));

				ck_assert_uint_eq(rh->size, l->ring_size);
				ck_assert_uint_eq(rh->head, 0);
				ck_assert_uint_eq(rh->tail, 0);
			}
	}
	/* the other slots are empty */
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++)
		if (i != a->slot && i != b->slot)
			ck_assert(all_zero(&h->links[i], sizeof(h->links[i])));
	munmap(map, (size_t)st.st_size);
}
END_TEST

/* An end of the link scribbled on what only the daemon writes: repair
 * restores exactly that and leaves the ends' words alone. */
START_TEST(test_repair)
{
	struct reg_link *a = mk_ok("ra", "dom1", 2, 128);
	struct reg_domain *d = a->dom;
	struct vlink_link_hdr *lh = (struct vlink_link_hdr *)((uint8_t *)d->region.map +
							      a->hdr_offset);
	struct vlink_link_entry *e = &hdr_of(d)->links[a->slot];
	struct vlink_link_hdr hdr0;
	struct vlink_link_entry e0;
	uint32_t gen;

	ck_assert_uint_eq(reg_link_repair(a), 0);
	memcpy(&hdr0, lh, sizeof(hdr0));
	e0 = *e;
	gen = hdr_of(d)->generation;

	lh->peer_state = 77;
	lh->host_epoch = 9;
	ck_assert_uint_eq(reg_link_repair(a), 0);
	ck_assert_uint_eq(hdr_of(d)->generation, gen);

	lh->magic = 0;
	lh->ring_size = 1u << 30;
	lh->buf_area = UINT64_MAX;
	lh->mac[0] = 0xff;
	ck_assert_uint_eq(reg_link_repair(a), REG_REPAIRED_HEADER);
	ck_assert_mem_eq(lh, &hdr0, offsetof(struct vlink_link_hdr, host_state));
	ck_assert_uint_eq(lh->peer_state, 77);
	ck_assert_uint_eq(lh->host_epoch, 9);
	ck_assert_uint_eq(hdr_of(d)->generation, gen);

	e->buf_offset = 1;
	e->name[0] = 'X';
	lh->version = 0;
	ck_assert_uint_eq(reg_link_repair(a), REG_REPAIRED_HEADER | REG_REPAIRED_ENTRY);
	ck_assert_mem_eq(e, &e0, sizeof(e0));
	ck_assert_mem_eq(lh, &hdr0, offsetof(struct vlink_link_hdr, host_state));
	/* the table changed under its sequence lock */
	ck_assert_uint_eq(hdr_of(d)->generation % 2, 0);
	ck_assert_uint_gt(hdr_of(d)->generation, gen);
	ck_assert_uint_eq(reg_link_repair(a), 0);
}
END_TEST

START_TEST(test_region_generation_sequence)
{
	struct reg_link *a, *b;
	struct reg_domain *d;
	uint32_t g[5], dg[5];

	a = mk_ok("g1", NULL, 1, 64);
	d = a->dom;
	g[0] = hdr_of(d)->generation;
	dg[0] = d->generation;
	b = mk_ok("g2", NULL, 1, 64);
	g[1] = hdr_of(d)->generation;
	dg[1] = d->generation;
	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), 0);
	g[2] = hdr_of(d)->generation;
	dg[2] = d->generation;
	ck_assert_int_eq(reg_link_delete(&r, b, false, why, sizeof(why)), 0);
	g[3] = hdr_of(d)->generation;
	dg[3] = d->generation;
	mk_ok("g3", NULL, 1, 64);
	g[4] = hdr_of(d)->generation;
	dg[4] = d->generation;
	for (int i = 0; i < 5; i++) {
		ck_assert_msg(g[i] % 2 == 0, "region generation %u is odd after step %d", g[i], i);
		if (i) {
			ck_assert_uint_gt(g[i], g[i - 1]);
			ck_assert_uint_gt(dg[i], dg[i - 1]);
		}
	}
	ck_assert_uint_eq(hdr_of(d)->nlinks, 1);
}
END_TEST

START_TEST(test_region_grows)
{
	struct reg_link *l[6];
	struct reg_domain *d;
	uint64_t end = 0;

	for (int i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "gr%d", i);
		l[i] = mk_ok(name, NULL, 2, 256);
		d = l[i]->dom;
		ck_assert_uint_eq(hdr_of(d)->region_size, d->region.size);
		ck_assert_uint_eq((uint64_t)file_size(d->region.path), d->region.size);
		if (l[i]->hdr_offset + l[i]->region_area > end)
			end = l[i]->hdr_offset + l[i]->region_area;
		ck_assert_uint_ge(d->region.size, end);
		/* every earlier link is still intact after the region moved */
		for (int j = 0; j <= i; j++)
			check_entry(l[j]);
	}
	check_no_overlap(d);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 6);
	ck_assert_uint_eq(used_entries(d), 6);
}
END_TEST

/* ---- pool files ------------------------------------------------------- */

static void check_pool(const struct reg_domain *d, uint64_t size, unsigned nseg,
		       uint64_t segsize)
{
	uint64_t off = 0;

	ck_assert_uint_eq(d->pool.size, size);
	ck_assert_uint_eq(d->pool.nseg, nseg);
	ck_assert(!d->pool.hugepages);
	for (unsigned i = 0; i < d->pool.nseg; i++) {
		const struct mem_segment *s = &d->pool.seg[i];
		struct stat st, fst;

		ck_assert_uint_eq(s->pool_offset, off);
		if (segsize)
			ck_assert_uint_eq(s->size, i + 1 < nseg ? segsize : size - off);
		ck_assert_uint_gt(s->size, 0);
		off += s->size;
		ck_assert_ptr_nonnull(s->path);
		ck_assert_msg(!strncmp(s->path, memdir, strlen(memdir)),
			      "segment %s not in %s", s->path, memdir);
		ck_assert_int_eq(stat(s->path, &st), 0);
		ck_assert(S_ISREG(st.st_mode));
		ck_assert_uint_eq((uint64_t)st.st_size, s->size);
		ck_assert_uint_eq(st.st_mode & 0777, 0600);
		ck_assert_int_ge(s->fd, 0);
		ck_assert_int_eq(fstat(s->fd, &fst), 0);
		ck_assert_uint_eq(fst.st_ino, st.st_ino);
		ck_assert_uint_eq(fst.st_dev, st.st_dev);
	}
	ck_assert_uint_eq(off, size);
}

START_TEST(test_pool_files)
{
	struct reg_link *l = mk_ok("p", NULL, 1, 64);
	struct reg_domain *d = l->dom;
	char path[4400];
	struct stat st;

	check_pool(d, 64 * MiB, 8, 8 * MiB);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "%s/default.pool%u", memdir, i);
		ck_assert_str_eq(d->pool.seg[i].path, path);
	}
	snprintf(path, sizeof(path), "%s/default.chan", memdir);
	ck_assert_str_eq(d->region.path, path);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, d->region.size);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(memdir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
}
END_TEST

START_TEST(test_pool_sizes)
{
	struct reg_domain *d;

	/* 16 MiB: two segments */
	r.pool_size = 16 * MiB;
	d = mk_ok("p16", "d16", 1, 64)->dom;
	check_pool(d, 16 * MiB, 2, 8 * MiB);
	/* 20 MiB: 8 + 8 + 4 */
	r.pool_size = 20 * MiB;
	d = mk_ok("p20", "d20", 1, 64)->dom;
	check_pool(d, 20 * MiB, 3, 8 * MiB);
	/* not a multiple of 2 MiB: rounded up */
	r.pool_size = 5 * MiB + 1;
	d = mk_ok("p5", "d5", 1, 64)->dom;
	check_pool(d, 6 * MiB, 1, 0);
	ck_assert_uint_eq(hdr_of(d)->pool_size, 6 * MiB);
	/* 256 MiB with 8 MiB segments would be 32 files: capped at 15 */
	r.pool_size = 256 * MiB;
	d = mk_ok("p256", "d256", 1, 64)->dom;
	ck_assert_uint_le(d->pool.nseg, MEM_MAX_SEGMENTS);
	check_pool(d, 256 * MiB, d->pool.nseg, 0);
	/* distinct domains, distinct files */
	ck_assert_str_ne(reg_domain_find(&r, "d16")->pool.seg[0].path,
			 reg_domain_find(&r, "d20")->pool.seg[0].path);
}
END_TEST

START_TEST(test_domain_name_encoding)
{
	struct reg_domain *a = mk_ok("e1", "vm/../x", 1, 64)->dom;
	struct reg_domain *b = mk_ok("e2", "vm%2F..%2Fx", 1, 64)->dom;
	struct reg_domain *c = mk_ok("e3", "..", 1, 64)->dom;

	/* file names stay inside the memory dir and never collide */
	ck_assert_ptr_null(strchr(a->region.path + strlen(memdir) + 1, '/'));
	ck_assert_ptr_null(strchr(b->region.path + strlen(memdir) + 1, '/'));
	ck_assert_ptr_null(strchr(c->region.path + strlen(memdir) + 1, '/'));
	ck_assert_str_ne(a->region.path, b->region.path);
	ck_assert_str_ne(a->pool.seg[0].path, b->pool.seg[0].path);
	check_pool(a, 64 * MiB, 8, 8 * MiB);
	check_pool(b, 64 * MiB, 8, 8 * MiB);
	check_pool(c, 64 * MiB, 8, 8 * MiB);
	ck_assert_str_eq(hdr_of(a)->domain, "vm/../x");
	ck_assert_str_eq(hdr_of(b)->domain, "vm%2F..%2Fx");
}
END_TEST

/* ---- refusals --------------------------------------------------------- */

static const char name33[] = "abcdefghijklmnopqrstuvwxyz0123456";

static const struct refusal {
	const char *name, *mac, *domain;
	uint32_t nch, ring;
	int err;
	bool check_sees_it;        /* reg_link_check refuses it too */
	const char *text[4];
} refusals[] = {
	{ "", "02:00:00:00:01:01", NULL, 1, 0, -EINVAL, true, { "link name", "empty" } },
	{ NULL, "02:00:00:00:01:01", NULL, 1, 0, -EINVAL, true, { "link name", "empty" } },
	{ "has space", "02:00:00:00:01:01", NULL, 1, 0, -EINVAL, true,
	  { "link name", "space" } },
	{ name33, "02:00:00:00:01:01", NULL, 1, 0, -EINVAL, true, { "link name", "32" } },
	{ "tab\tx", "02:00:00:00:01:01", NULL, 1, 0, -EINVAL, true,
	  { "link name", "non-printable" } },
	{ "nl\xc3\xa9", "02:00:00:00:01:01", NULL, 1, 0, -EINVAL, true,
	  { "link name", "non-printable" } },
	{ "x", "01:00:5e:00:00:01", NULL, 1, 0, -EINVAL, true,
	  { "MAC", "01:00:5e:00:00:01", "multicast" } },
	{ "x", "ff:ff:ff:ff:ff:ff", NULL, 1, 0, -EINVAL, true, { "MAC", "multicast" } },
	{ "x", "03:11:22:33:44:55", NULL, 1, 0, -EINVAL, true, { "MAC", "multicast" } },
	{ "x", "00:00:00:00:00:00", NULL, 1, 0, -EINVAL, true,
	  { "MAC", "00:00:00:00:00:00", "not a valid" } },
	{ "x", "02:00:00:00:00", NULL, 1, 0, -EINVAL, true, { "MAC", "malformed" } },
	{ "x", "02-00-00-00-00-01", NULL, 1, 0, -EINVAL, true, { "MAC", "malformed" } },
	{ "x", "0g:00:00:00:00:01", NULL, 1, 0, -EINVAL, true, { "MAC", "malformed" } },
	{ "x", NULL, NULL, 1, 0, -EINVAL, true, { "MAC", "malformed" } },
	{ "x", "", NULL, 1, 0, -EINVAL, true, { "MAC", "malformed" } },
	{ "x", "02:00:00:00:01:01", NULL, 0, 0, -EINVAL, true,
	  { "channel count 0", "1-64" } },
	{ "x", "02:00:00:00:01:01", NULL, 65, 0, -EINVAL, true,
	  { "channel count 65", "1-64" } },
	{ "x", "02:00:00:00:01:01", NULL, 1, 100, -EINVAL, true,
	  { "ring size 100", "power of two", "64", "16384" } },
	{ "x", "02:00:00:00:01:01", NULL, 1, 32768, -EINVAL, true,
	  { "ring size 32768", "power of two" } },
	{ "x", "02:00:00:00:01:01", NULL, 1, 32, -EINVAL, true, { "ring size 32" } },
	{ "x", "02:00:00:00:01:01", NULL, 1, 1, -EINVAL, true, { "ring size 1" } },
	{ "x", "02:00:00:00:01:01", NULL, 1, 1536, -EINVAL, true, { "ring size 1536" } },
	{ "x", "02:00:00:00:01:01", "bad dom", 1, 0, -EINVAL, true, { "domain", "space" } },
	{ "x", "02:00:00:00:01:01", name33, 1, 0, -EINVAL, true, { "domain", "32" } },
	{ "x", "02:00:00:00:01:01", "ctl\x7f", 1, 0, -EINVAL, true,
	  { "domain", "non-printable" } },
	/* duplicates: names are global, the message says where the link lives */
	{ "a", "02:00:00:00:01:01", NULL, 1, 0, -EEXIST, true,
	  { "link 'a'", "already exists", "domain 'default'" } },
	{ "a", "02:00:00:00:01:01", "default", 4, 256, -EEXIST, true,
	  { "link 'a'", "already exists", "domain 'default'" } },
	{ "a", "02:00:00:00:01:01", "vm1", 1, 0, -EEXIST, true,
	  { "link 'a'", "already exists", "domain 'default'" } },
	{ "a", "02:00:00:00:01:01", "brandnew", 1, 0, -EEXIST, true,
	  { "link 'a'", "already exists", "domain 'default'" } },
	{ "b", "02:00:00:00:01:01", NULL, 1, 0, -EEXIST, true,
	  { "link 'b'", "already exists", "domain 'vm1'" } },
	/* a bad value and a duplicate: the bad value is reported */
	{ "a", "02:00:00:00:01:01", NULL, 0, 0, -EINVAL, true, { "channel count 0" } },
	/* the pool (64 MiB) cannot hold 64 channels x 1024 x 4 x 2 KiB = 512 MiB */
	{ "huge", "02:00:00:00:01:01", NULL, 64, 1024, -ENOSPC, false,
	  { "pool", "64 MiB", "512 MiB", "domain 'default'" } },
	{ "huge", "02:00:00:00:01:01", "vm1", 64, 1024, -ENOSPC, false,
	  { "pool", "64 MiB", "512 MiB", "domain 'vm1'" } },
	{ "huge", "02:00:00:00:01:01", "brandnew", 64, 1024, -ENOSPC, false,
	  { "pool", "64 MiB", "512 MiB", "domain 'brandnew'" } },
	/* 56 MiB are free in default, but 64 MiB are needed */
	{ "huge", "02:00:00:00:01:01", NULL, 4, 2048, -ENOSPC, false,
	  { "pool", "56 MiB free of 64 MiB", "needs 64 MiB", "link 'huge'" } },
};

START_TEST(test_refusal)
{
	const struct refusal *t = &refusals[_i];
	struct reg_link_params p = {
		.name = t->name, .mac = t->mac, .domain = t->domain, .nchannels = t->nch,
		.ring_size = t->ring,
	};
	struct reg_link *l = NULL;
	struct snap s;
	int err;

	/* something to refuse against: default (a: 8 MiB) and vm1 (b) */
	mk_ok("a", NULL, 1, 1024);
	mk_ok("b", "vm1", 2, 64);

	snap_take(&s);
	why[0] = '\0';
	err = reg_link_check(&r, &p, why, sizeof(why));
	if (t->check_sees_it) {
		ck_assert_msg(err == t->err, "case %d: reg_link_check gave %d, want %d (%s)", _i,
			      err, t->err, why);
		for (int k = 0; k < 4 && t->text[k]; k++)
			ck_assert_msg(strstr(why, t->text[k]),
				      "case %d: reg_link_check: '%s' not in \"%s\"", _i,
				      t->text[k], why);
	} else {
		ck_assert_msg(err == 0, "case %d: reg_link_check gave %d (%s)", _i, err, why);
	}
	snap_same(&s, "reg_link_check");

	snap_take(&s);
	why[0] = '\0';
	err = reg_link_create(&r, &p, &l, why, sizeof(why));
	ck_assert_msg(err == t->err, "case %d: reg_link_create gave %d, want %d (%s)", _i,
		      err, t->err, why);
	for (int k = 0; k < 4 && t->text[k]; k++)
		ck_assert_msg(strstr(why, t->text[k]), "case %d: '%s' not in \"%s\"", _i,
			      t->text[k], why);
	snap_same(&s, "reg_link_create");
	ck_assert_ptr_null(reg_domain_find(&r, "brandnew"));
	if (t->name && strcmp(t->name, "a") && strcmp(t->name, "b"))
		ck_assert_ptr_null(reg_link_find(&r, t->name));
	/* the registry still works */
	mk_ok("after", t->domain && *t->domain && !strchr(t->domain, ' ') &&
		       strlen(t->domain) <= VLINK_NAME_MAX && !strchr(t->domain, 0x7f)
		       ? t->domain : NULL, 1, 64);
	for (struct reg_domain *d = r.domains; d; d = d->next)
		check_no_overlap(d);
}
END_TEST

START_TEST(test_refusal_null_why)
{
	struct reg_link_params p = {
		.name = "x", .mac = "01:00:00:00:00:01", .nchannels = 1,
	};
	struct reg_link *l;

	mk_ok("a", NULL, 1, 1024);
	ck_assert_int_eq(reg_link_create(&r, &p, &l, NULL, 0), -EINVAL);
	p.mac = "02:00:00:00:00:01";
	p.name = "a";
	ck_assert_int_eq(reg_link_create(&r, &p, &l, NULL, 0), -EEXIST);
	p.name = "x";
	p.nchannels = 64;
	ck_assert_int_eq(reg_link_create(&r, &p, &l, NULL, 0), -ENOSPC);
	ck_assert_int_eq(reg_link_create(&r, &p, &l, why, 1), -ENOSPC);
	ck_assert_str_eq(why, "");
	ck_assert_uint_eq(r.nlinks, 1);
}
END_TEST

START_TEST(test_pool_full_16m)
{
	struct reg_link *a;
	struct snap s;
	char *files;

	r.pool_size = 16 * MiB;
	/* a new domain: the domain and its files go away again */
	files = list_files(tmpdir);
	ck_assert_str_eq(files, "");
	ck_assert_int_eq(mk("big", "vm16", 64, 1024, NULL), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(why, "pool"));
	ck_assert_ptr_nonnull(strstr(why, "16 MiB free of 16 MiB"));
	ck_assert_ptr_nonnull(strstr(why, "512 MiB"));
	ck_assert_ptr_nonnull(strstr(why, "'big'"));
	ck_assert_ptr_nonnull(strstr(why, "'vm16'"));
	ck_assert_ptr_null(r.domains);
	ck_assert_ptr_null(reg_domain_find(&r, "vm16"));
	ck_assert_uint_eq(r.nlinks, 0);
	files = list_files(tmpdir);
	ck_assert_msg(!strcmp(files, ""), "files left behind:\n%s", files);

	/* an existing domain, half full: 8 MiB left, 16 MiB wanted */
	a = mk_ok("a", "vm16", 1, 1024);
	ck_assert_uint_eq(a->buf_area, 8 * MiB);
	snap_take(&s);
	ck_assert_int_eq(mk("b", "vm16", 2, 1024, NULL), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(why, "8 MiB free of 16 MiB"));
	ck_assert_ptr_nonnull(strstr(why, "needs 16 MiB"));
	snap_same(&s, "pool full");
	/* exactly the rest fits */
	mk_ok("c", "vm16", 1, 1024);
	snap_take(&s);
	ck_assert_int_eq(mk("d", "vm16", 1, 64, NULL), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(why, "0 MiB free of 16 MiB"));
	snap_same(&s, "pool exhausted");
	check_no_overlap(a->dom);
}
END_TEST

START_TEST(test_failed_create_new_domain)
{
	struct snap s;
	char *files;

	/* with another domain around, and nothing around */
	for (int round = 0; round < 2; round++) {
		if (round)
			mk_ok("keep", NULL, 1, 64);
		snap_take(&s);
		ck_assert_int_eq(mk("big", "newdom", 64, 16384, NULL), -ENOSPC);
		ck_assert_ptr_null(reg_domain_find(&r, "newdom"));
		snap_same(&s, "failed create in a new domain");
		files = list_files(tmpdir);
		ck_assert_ptr_null(strstr(files, "newdom"));
		}
}
END_TEST

START_TEST(test_failed_domain_memory)
{
	struct snap s;

	mk_ok("a", NULL, 1, 64);
	/* a pool size the memory layer refuses */
	set_override(&r, "toobig", 2ull << 30);
	snap_take(&s);
	ck_assert_int_eq(mk("x", "toobig", 1, 64, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "pool size"));
	snap_same(&s, "pool size out of range");
	ck_assert_ptr_null(reg_domain_find(&r, "toobig"));
	/* no place to put the files */
	r.mem.shm_dir = "/nonexistent/vlink-test";
	snap_take(&s);
	ck_assert_int_lt(mk("y", "nowhere", 1, 64, NULL), 0);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/vlink-test"));
	snap_same(&s, "unwritable shm dir");
	ck_assert_ptr_null(reg_domain_find(&r, "nowhere"));
	/* existing domains still work: their files already exist */
	mk_ok("b", NULL, 1, 64);
	r.mem.shm_dir = tmpdir;
}
END_TEST

/* ---- several links ---------------------------------------------------- */

START_TEST(test_two_links_no_overlap)
{
	struct reg_link *a = mk_ok("a", "vm", 2, 1024);
	struct reg_link *b = mk_ok("b", "vm", 4, 512);
	struct reg_link *c = mk_ok("c", "vm", 1, 64);
	struct reg_domain *d = a->dom;

	ck_assert_ptr_eq(b->dom, d);
	ck_assert_ptr_eq(c->dom, d);
	ck_assert_uint_eq(d->nlinks, 3);
	ck_assert_uint_eq(r.nlinks, 3);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 3);
	ck_assert_uint_eq(used_entries(d), 3);
	/* exact sizes */
	ck_assert_uint_eq(a->buf_area, 16 * MiB);
	ck_assert_uint_eq(b->buf_area, 16 * MiB);
	ck_assert_uint_eq(c->buf_area, 2 * MiB);
	ck_assert_uint_eq(a->region_area, vlink_link_region_size(2, 1024));
	/* packed from the start */
	ck_assert_uint_eq(a->buf_offset, 0);
	ck_assert_uint_eq(a->hdr_offset, VLINK_REGION_HDR_SIZE);
	check_no_overlap(d);
	check_entry(a);
	check_entry(b);
	check_entry(c);
}
END_TEST

START_TEST(test_delete_reuse)
{
	struct reg_link *a, *b, *c;
	struct reg_domain *d;
	uint64_t a_buf, a_hdr, a_area;
	unsigned a_slot;
	uint32_t gen;

	r.pool_size = 16 * MiB;
	a = mk_ok("a", NULL, 1, 1024);         /* 8 MiB */
	b = mk_ok("b", NULL, 1, 1024);         /* 8 MiB: the pool is full */
	d = a->dom;
	ck_assert_int_eq(mk("c", NULL, 1, 1024, NULL), -ENOSPC);
	a_buf = a->buf_offset;
	a_hdr = a->hdr_offset;
	a_area = a->region_area;
	a_slot = a->slot;
	gen = hdr_of(d)->generation;

	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), 0);
	ck_assert_ptr_null(reg_link_find(&r, "a"));
	ck_assert_ptr_eq(reg_link_find(&r, "b"), b);
	ck_assert_uint_eq(r.nlinks, 1);
	ck_assert_uint_eq(d->nlinks, 1);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 1);
	ck_assert(all_zero(&hdr_of(d)->links[a_slot], sizeof(struct vlink_link_entry)));
	ck_assert_uint_eq(((struct vlink_link_hdr *)((uint8_t *)d->region.map + a_hdr))->magic, 0);
	ck_assert_uint_eq(hdr_of(d)->generation % 2, 0);
	ck_assert_uint_gt(hdr_of(d)->generation, gen);
	check_entry(b);
	/* the domain stays (the caller decides about releasing it) */
	ck_assert_ptr_eq(reg_domain_find(&r, "default"), d);

	c = mk_ok("c", NULL, 1, 1024);
	ck_assert_uint_eq(c->buf_offset, a_buf);
	ck_assert_uint_eq(c->hdr_offset, a_hdr);
	ck_assert_uint_eq(c->region_area, a_area);
	ck_assert_uint_eq(c->slot, a_slot);
	check_entry(c);
	check_entry(b);
	check_no_overlap(d);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 2);
}
END_TEST

START_TEST(test_delete_reuse_smaller_and_larger)
{
	struct reg_link *a, *b, *c, *e;
	struct reg_domain *d;
	uint64_t a_buf, a_hdr, size_before;

	a = mk_ok("a", NULL, 2, 1024);   /* 16 MiB pool, 2 rings of stride 16512 */
	b = mk_ok("b", NULL, 1, 64);
	d = a->dom;
	a_buf = a->buf_offset;
	a_hdr = a->hdr_offset;
	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), 0);
	size_before = d->region.size;
	/* a smaller one goes into the hole */
	c = mk_ok("c", NULL, 1, 64);
	ck_assert_uint_eq(c->buf_offset, a_buf);
	ck_assert_uint_eq(c->hdr_offset, a_hdr);
	ck_assert_uint_eq(d->region.size, size_before);
	/* a larger one does not fit the rest of the hole: it goes after b */
	e = mk_ok("e", NULL, 4, 1024);
	ck_assert_uint_gt(e->hdr_offset, b->hdr_offset);
	ck_assert_uint_gt(e->buf_offset, b->buf_offset);
	check_no_overlap(d);
	check_entry(b);
	check_entry(c);
	check_entry(e);
}
END_TEST

START_TEST(test_delete_busy)
{
	struct reg_link *a = mk_ok("a", NULL, 1, 64);
	struct reg_link *b = mk_ok("b", NULL, 1, 64);
	struct reg_domain *d = a->dom;
	int dummy;
	struct snap s;

	a->host = &dummy;
	snap_take(&s);
	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), -EBUSY);
	ck_assert_ptr_nonnull(strstr(why, "'a'"));
	ck_assert_ptr_nonnull(strstr(why, "host"));
	ck_assert_ptr_nonnull(strstr(why, "force"));
	snap_same(&s, "delete with the host attached");
	ck_assert_ptr_eq(reg_link_find(&r, "a"), a);
	check_entry(a);

	a->host = NULL;
	a->peer = &dummy;
	snap_take(&s);
	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), -EBUSY);
	ck_assert_ptr_nonnull(strstr(why, "peer"));
	snap_same(&s, "delete with the peer attached");

	a->host = &dummy;
	snap_take(&s);
	ck_assert_int_eq(reg_link_delete(&r, a, false, NULL, 0), -EBUSY);
	snap_same(&s, "delete with both ends attached");

	/* forced */
	ck_assert_int_eq(reg_link_delete(&r, a, true, why, sizeof(why)), 0);
	ck_assert_ptr_null(reg_link_find(&r, "a"));
	ck_assert_uint_eq(d->nlinks, 1);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 1);
	/* force with nothing attached is an ordinary delete */
	ck_assert_int_eq(reg_link_delete(&r, b, true, why, sizeof(why)), 0);
	ck_assert_uint_eq(r.nlinks, 0);
	ck_assert_uint_eq(d->nlinks, 0);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 0);
	ck_assert_uint_eq(used_entries(d), 0);
}
END_TEST

START_TEST(test_delete_unknown)
{
	struct reg_link *a = mk_ok("a", NULL, 1, 64);
	struct reg_link ghost = *a;
	struct snap s;

	ghost.next = NULL;
	strcpy(ghost.name, "ghost");
	snap_take(&s);
	ck_assert_int_eq(reg_link_delete(&r, &ghost, false, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "ghost"));
	snap_same(&s, "delete of a link not in the registry");
	check_entry(a);
}
END_TEST

/* ---- domains ---------------------------------------------------------- */

START_TEST(test_domain_release)
{
	struct reg_link *a = mk_ok("a", "vm1", 1, 64);
	struct reg_domain *d = a->dom;
	char *paths[MEM_MAX_SEGMENTS + 1];
	unsigned np = 0;
	char *files;

	for (unsigned i = 0; i < d->pool.nseg; i++)
		paths[np++] = own(strdup(d->pool.seg[i].path));
	paths[np++] = own(strdup(d->region.path));
	mk_ok("keep", "vm2", 1, 64);

	/* not with a link */
	ck_assert(!reg_domain_release(&r, d));
	ck_assert_ptr_eq(reg_domain_find(&r, "vm1"), d);
	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), 0);
	ck_assert_ptr_eq(reg_domain_find(&r, "vm1"), d);
	/* not while something is attached */
	d->nattached = 1;
	ck_assert(!reg_domain_release(&r, d));
	ck_assert_ptr_eq(reg_domain_find(&r, "vm1"), d);
	for (unsigned i = 0; i < np; i++)
		ck_assert_msg(exists(paths[i]), "%s removed too early", paths[i]);
	/* the domain is reused by the next link */
	d->nattached = 0;
	a = mk_ok("a2", "vm1", 1, 64);
	ck_assert_ptr_eq(a->dom, d);
	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), 0);
	/* empty and unattached: gone with its files */
	ck_assert(reg_domain_release(&r, d));
	ck_assert_ptr_null(reg_domain_find(&r, "vm1"));
	for (unsigned i = 0; i < np; i++) {
		ck_assert_msg(!exists(paths[i]), "%s left behind", paths[i]);
	}
	files = list_files(tmpdir);
	ck_assert_ptr_null(strstr(files, "vm1"));
	ck_assert_ptr_nonnull(strstr(files, "vm2.chan"));
	/* the other domain is untouched */
	ck_assert_ptr_nonnull(reg_domain_find(&r, "vm2"));
	check_entry(reg_link_find(&r, "keep"));
	/* a new domain of the same name starts fresh */
	a = mk_ok("a3", "vm1", 1, 64);
	ck_assert_ptr_ne(a->dom, NULL);
	ck_assert_uint_eq(a->slot, 0);
	ck_assert_uint_eq(a->buf_offset, 0);
	ck_assert_uint_eq(hdr_of(a->dom)->nlinks, 1);
}
END_TEST

START_TEST(test_domain_get)
{
	struct reg_domain *d, *d2;

	ck_assert_int_eq(reg_domain_get(&r, "solo", &d, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->name, "solo");
	ck_assert_uint_eq(d->nlinks, 0);
	ck_assert_uint_eq(hdr_of(d)->magic, VLINK_SHM_MAGIC);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 0);
	ck_assert_uint_eq(d->region.size, VLINK_REGION_HDR_SIZE);
	ck_assert_int_eq(reg_domain_get(&r, "solo", &d2, why, sizeof(why)), 0);
	ck_assert_ptr_eq(d, d2);
	ck_assert_uint_eq(count_domains(), 1);
	ck_assert_int_eq(reg_domain_get(&r, "bad name", &d2, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "domain"));
	ck_assert_uint_eq(count_domains(), 1);
	ck_assert(reg_domain_release(&r, d));
	ck_assert_ptr_null(r.domains);
}
END_TEST

START_TEST(test_max_links)
{
	struct reg_link *l[VLINK_MAX_LINKS];
	struct reg_domain *d;
	struct snap s;
	bool slots[VLINK_MAX_LINKS] = { false };
	char name[16];
	unsigned freed;

	r.pool_size = 256 * MiB;
	for (int i = 0; i < VLINK_MAX_LINKS; i++) {
		snprintf(name, sizeof(name), "l%02d", i);
		l[i] = mk_ok(name, "full", 1, 64);
		ck_assert(!slots[l[i]->slot]);
		slots[l[i]->slot] = true;
	}
	d = l[0]->dom;
	ck_assert_uint_eq(d->nlinks, 63);
	ck_assert_uint_eq(hdr_of(d)->nlinks, 63);
	ck_assert_uint_eq(used_entries(d), 63);
	check_no_overlap(d);
	for (int i = 0; i < VLINK_MAX_LINKS; i++)
		check_entry(l[i]);

	snap_take(&s);
	ck_assert_int_eq(mk("l63", "full", 1, 64, NULL), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(why, "'full'"));
	ck_assert_ptr_nonnull(strstr(why, "63"));
	snap_same(&s, "64th link");

	/* other domains are not limited by this one */
	set_override(&r, "elsewhere", 16 * MiB);
	mk_ok("other", "elsewhere", 1, 64);
	/* a freed slot is used again */
	freed = l[20]->slot;
	ck_assert_int_eq(reg_link_delete(&r, l[20], false, why, sizeof(why)), 0);
	l[20] = mk_ok("again", "full", 1, 64);
	ck_assert_uint_eq(l[20]->slot, freed);
	check_entry(l[20]);
	ck_assert_int_eq(mk("l64", "full", 1, 64, NULL), -ENOSPC);
	check_no_overlap(d);
}
END_TEST

START_TEST(test_domains_independent)
{
	struct reg_link *a = mk_ok("a", "vm1", 2, 256);
	struct reg_link *b = mk_ok("b", "vm2", 2, 256);
	struct reg_domain *d1 = a->dom, *d2 = b->dom;
	struct snap s;
	uint8_t *copy;

	ck_assert_ptr_ne(d1, d2);
	ck_assert_uint_eq(count_domains(), 2);
	ck_assert_str_ne(d1->region.path, d2->region.path);
	for (unsigned i = 0; i < d1->pool.nseg; i++)
		for (unsigned j = 0; j < d2->pool.nseg; j++)
			ck_assert_str_ne(d1->pool.seg[i].path, d2->pool.seg[j].path);
	/* each domain's memory starts at the beginning */
	ck_assert_uint_eq(a->buf_offset, 0);
	ck_assert_uint_eq(b->buf_offset, 0);
	ck_assert_uint_eq(a->hdr_offset, VLINK_REGION_HDR_SIZE);
	ck_assert_uint_eq(b->hdr_offset, VLINK_REGION_HDR_SIZE);
	ck_assert_uint_eq(a->slot, 0);
	ck_assert_uint_eq(b->slot, 0);
	ck_assert_uint_eq(d1->nlinks, 1);
	ck_assert_uint_eq(d2->nlinks, 1);
	ck_assert_uint_eq(r.nlinks, 2);
	ck_assert_str_eq(hdr_of(d1)->domain, "vm1");
	ck_assert_str_eq(hdr_of(d2)->domain, "vm2");
	ck_assert_str_eq(hdr_of(d1)->links[0].name, "a");
	ck_assert_str_eq(hdr_of(d2)->links[0].name, "b");
	ck_assert_uint_eq(hdr_of(d1)->nlinks, 1);
	ck_assert_uint_eq(hdr_of(d2)->nlinks, 1);

	/* changes in vm1 leave vm2's region alone */
	copy = own(malloc(d2->region.size));
	memcpy(copy, d2->region.map, d2->region.size);
	mk_ok("c", "vm1", 4, 1024);
	ck_assert_int_eq(reg_link_delete(&r, a, false, why, sizeof(why)), 0);
	ck_assert_mem_eq(copy, d2->region.map, d2->region.size);
	/* a full vm1 does not affect vm2 */
	ck_assert_int_eq(mk("d", "vm1", 8, 1024, NULL), -ENOSPC);
	mk_ok("d", "vm2", 4, 1024);
	/* releasing vm2 does not touch vm1 */
	ck_assert_int_eq(reg_link_delete(&r, b, false, why, sizeof(why)), 0);
	ck_assert_int_eq(reg_link_delete(&r, reg_link_find(&r, "d"), false, why, sizeof(why)), 0);
	snap_take(&s);
	ck_assert(reg_domain_release(&r, d2));
	ck_assert_uint_eq(count_domains(), 1);
	ck_assert_ptr_eq(r.domains, d1);
	ck_assert(exists(d1->region.path));
	check_entry(reg_link_find(&r, "c"));
	snap_free(&s);
}
END_TEST

START_TEST(test_pool_size_for)
{
	struct reg_domain *d;

	ck_assert_uint_eq(reg_pool_size_for(&r, "anything"), 64 * MiB);
	set_override(&r, "big", 128 * MiB);
	set_override(&r, "small", 16 * MiB);
	ck_assert_uint_eq(reg_pool_size_for(&r, "big"), 128 * MiB);
	ck_assert_uint_eq(reg_pool_size_for(&r, "small"), 16 * MiB);
	ck_assert_uint_eq(reg_pool_size_for(&r, "default"), 64 * MiB);
	ck_assert_uint_eq(reg_pool_size_for(&r, "bi"), 64 * MiB);
	ck_assert_uint_eq(reg_pool_size_for(&r, "bigger"), 64 * MiB);
	r.pool_size = 32 * MiB;
	ck_assert_uint_eq(reg_pool_size_for(&r, "other"), 32 * MiB);
	ck_assert_uint_eq(reg_pool_size_for(&r, "big"), 128 * MiB);

	d = mk_ok("b", "big", 1, 64)->dom;
	ck_assert_uint_eq(d->pool.size, 128 * MiB);
	ck_assert_uint_eq(hdr_of(d)->pool_size, 128 * MiB);
	ck_assert_uint_le(d->pool.nseg, MEM_MAX_SEGMENTS);
	check_pool(d, 128 * MiB, d->pool.nseg, 0);
	d = mk_ok("s", "small", 1, 64)->dom;
	check_pool(d, 16 * MiB, 2, 8 * MiB);
	d = mk_ok("o", "other", 1, 64)->dom;
	check_pool(d, 32 * MiB, 4, 8 * MiB);
	/* the override decides what fits */
	ck_assert_int_eq(mk("s2", "small", 2, 1024, NULL), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(why, "of 16 MiB"));
	mk_ok("b2", "big", 4, 1024);
	/* changing the default later does not affect existing domains */
	r.pool_size = 8 * MiB;
	ck_assert_uint_eq(reg_domain_find(&r, "other")->pool.size, 32 * MiB);
}
END_TEST

START_TEST(test_reg_fini_keeps_files)
{
	struct reg_link *a = mk_ok("a", NULL, 1, 64);
	char *files = list_files(tmpdir), *after;

	(void)a;
	reg_fini(&r);
	ck_assert_ptr_null(r.links);
	ck_assert_ptr_null(r.domains);
	ck_assert_uint_eq(r.nlinks, 0);
	after = list_files(tmpdir);
	ck_assert_str_eq(files, after);
	ck_assert_ptr_nonnull(strstr(after, "default.chan"));
	ck_assert_ptr_nonnull(strstr(after, "default.pool7"));
	/* reg_fini twice is harmless (teardown does it again) */
	reg_fini(&r);
}
END_TEST

static Suite *registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create_defaults);
	tcase_add_test(tc, test_create_mtu);
	tcase_add_test(tc, test_create_upper_case_mac);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_layout_64_channels);
	tcase_add_test(tc, test_domain_get);
	suite_add_tcase(s, tc);

	tc = tcase_create("region");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_region_content);
	tcase_add_test(tc, test_region_generation_sequence);
	tcase_add_test(tc, test_region_grows);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pool_files);
	tcase_add_test(tc, test_pool_sizes);
	tcase_add_test(tc, test_domain_name_encoding);
	tcase_add_test(tc, test_pool_size_for);
	tcase_add_test(tc, test_reg_fini_keeps_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_refusal, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, test_refusal_null_why);
	tcase_add_test(tc, test_pool_full_16m);
	tcase_add_test(tc, test_failed_create_new_domain);
	tcase_add_test(tc, test_failed_domain_memory);
	suite_add_tcase(s, tc);

	tc = tcase_create("links");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_two_links_no_overlap);
	tcase_add_test(tc, test_delete_reuse);
	tcase_add_test(tc, test_delete_reuse_smaller_and_larger);
	tcase_add_test(tc, test_delete_busy);
	tcase_add_test(tc, test_delete_unknown);
	tcase_add_test(tc, test_max_links);
	tcase_add_test(tc, test_repair);
	suite_add_tcase(s, tc);

	tc = tcase_create("domains");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_domain_release);
	tcase_add_test(tc, test_domains_independent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return regtest_run(registry_suite());
}
