/* Unit tests for vlinkd/state.c: saving the registry, loading it back into a
 * fresh registry, reopening (not recreating) each domain's memory, and what
 * happens when the state file or the memory files are damaged. */
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
#include "state.h"
#include "regtest.h"
#include "vlink.pb-c.h"

#define MAX_REC 80

static char *tmpdir;
static char memdir[4200], state_path[4200], tmp_path[4200];
static struct registry r;
static int fds_before;
static char why[2048];
static char id[STATE_ID_LEN + 1];

/* ---- fixture ---------------------------------------------------------- */

static void reg_setup(void)
{
	reg_test_init(&r, tmpdir);
}

static void setup(void)
{
	log_setup(false, false, LOG_ERR);
	fds_before = count_fds();
	tmpdir = make_tmpdir();
	ck_assert_ptr_nonnull(tmpdir);
	journal_add(tmpdir);
	snprintf(memdir, sizeof(memdir), "%s/vlink-%s", tmpdir, DAEMON_ID);
	snprintf(state_path, sizeof(state_path), "%s/state", tmpdir);
	snprintf(tmp_path, sizeof(tmp_path), "%s/state.tmp", tmpdir);
	reg_setup();
	memset(id, 0, sizeof(id));
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

static struct reg_link *mk(const char *name, const char *dom, uint32_t nch, uint32_t ring,
			   bool from_config)
{
	static unsigned seq = 1;
	char mac[VLINK_MAC_STRLEN];
	struct reg_link_params p = {
		.name = name, .mac = mac, .domain = dom, .nchannels = nch, .ring_size = ring,
		.from_config = from_config,
	};
	struct reg_link *l = NULL;
	int err;

	snprintf(mac, sizeof(mac), "02:5a:%02x:00:%02x:%02x", (seq * 7) & 0xff,
		 (seq >> 8) & 0xff, seq & 0xff);
	seq++;
	err = reg_link_create(&r, &p, &l, why, sizeof(why));
	ck_assert_msg(err == 0, "creating '%s' failed: %d (%s)", name, err, why);
	return l;
}

static void save(void)
{
	int err = state_save(&r, tmpdir, DAEMON_ID, why, sizeof(why));

	ck_assert_msg(err == 0, "state_save: %d (%s)", err, why);
}

/* Drop the registry (as a daemon exit does) and load the state into a fresh
 * one.  Returns state_load's result. */
static int reload(void)
{
	reg_fini(&r);
	reg_setup();
	memset(id, 0, sizeof(id));
	why[0] = '\0';
	return state_load(&r, tmpdir, id, why, sizeof(why));
}

static void reload_ok(void)
{
	int err = reload();

	ck_assert_msg(err == 0, "state_load: %d (%s)", err, why);
}

static struct vlink_ring_hdr *ring_of(const struct reg_link *l, uint32_t ch,
				      enum vlink_ring_id ring)
{
	return (struct vlink_ring_hdr *)((uint8_t *)lhdr_of(l) +
					 vlink_ring_offset(l->ring_size, ch, ring));
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = own(malloc((size_t)st.st_size + 1));
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* What must survive a save and a load. */
struct linkrec {
	char name[VLINK_NAME_MAX + 1], dom[VLINK_NAME_MAX + 1];
	uint8_t mac[6];
	uint32_t nch, ring, buf_size;
	uint64_t hdr, rarea, buf, barea;
	unsigned slot;
	bool from_config;
};

struct domrec {
	char name[VLINK_NAME_MAX + 1];
	uint64_t pool_size, region_size;
	unsigned nseg, nlinks;
	uint64_t seg_off[MEM_MAX_SEGMENTS], seg_size[MEM_MAX_SEGMENTS];
	ino_t seg_ino[MEM_MAX_SEGMENTS], region_ino;
	char seg_path[MEM_MAX_SEGMENTS][4400], region_path[4400];
	uint32_t generation;
};

struct rec {
	unsigned nlinks, ndoms;
	struct linkrec l[MAX_REC];
	struct domrec d[8];
};

/* Records live in static storage: a failing check in CK_FORK=no mode
 * leaves the test function without freeing anything. */
static struct rec rec_before, rec_now;

static int cmp_linkrec(const void *a, const void *b)
{
	return strcmp(((const struct linkrec *)a)->name, ((const struct linkrec *)b)->name);
}

static int cmp_domrec(const void *a, const void *b)
{
	return strcmp(((const struct domrec *)a)->name, ((const struct domrec *)b)->name);
}

static ino_t fd_ino(int fd)
{
	struct stat st;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

static void record(struct rec *s)
{
	memset(s, 0, sizeof(*s));
	for (struct reg_link *l = r.links; l; l = l->next) {
		struct linkrec *x = &s->l[s->nlinks++];

		ck_assert_uint_le(s->nlinks, MAX_REC);
		strcpy(x->name, l->name);
		strcpy(x->dom, l->dom->name);
		memcpy(x->mac, l->mac, 6);
		x->nch = l->nchannels;
		x->ring = l->ring_size;
		x->buf_size = l->buf_size;
		x->hdr = l->hdr_offset;
		x->rarea = l->region_area;
		x->buf = l->buf_offset;
		x->barea = l->buf_area;
		x->slot = l->slot;
		x->from_config = l->from_config;
	}
	for (struct reg_domain *d = r.domains; d; d = d->next) {
		struct domrec *x = &s->d[s->ndoms++];

		ck_assert_uint_le(s->ndoms, 8);
		strcpy(x->name, d->name);
		x->pool_size = d->pool.size;
		x->region_size = d->region.size;
		x->nseg = d->pool.nseg;
		x->nlinks = d->nlinks;
		x->generation = d->generation;
		for (unsigned i = 0; i < d->pool.nseg; i++) {
			x->seg_off[i] = d->pool.seg[i].pool_offset;
			x->seg_size[i] = d->pool.seg[i].size;
			x->seg_ino[i] = fd_ino(d->pool.seg[i].fd);
			snprintf(x->seg_path[i], sizeof(x->seg_path[i]), "%s", d->pool.seg[i].path);
		}
		x->region_ino = fd_ino(d->region.fd);
		snprintf(x->region_path, sizeof(x->region_path), "%s", d->region.path);
	}
	qsort(s->l, s->nlinks, sizeof(s->l[0]), cmp_linkrec);
	qsort(s->d, s->ndoms, sizeof(s->d[0]), cmp_domrec);
}

/* The registry holds what `a` recorded; same_memory: the memory files are
 * the very same files (and each link keeps its table slot). */
static void compare(const struct rec *a, bool same_memory)
{
	struct rec *b = &rec_now;

	record(b);
	ck_assert_uint_eq(b->nlinks, a->nlinks);
	ck_assert_uint_eq(r.nlinks, a->nlinks);
	ck_assert_uint_eq(b->ndoms, a->ndoms);
	for (unsigned i = 0; i < a->nlinks; i++) {
		const struct linkrec *x = &a->l[i], *y = &b->l[i];

		ck_assert_str_eq(y->name, x->name);
		ck_assert_str_eq(y->dom, x->dom);
		ck_assert_mem_eq(y->mac, x->mac, 6);
		ck_assert_uint_eq(y->nch, x->nch);
		ck_assert_uint_eq(y->ring, x->ring);
		ck_assert_uint_eq(y->buf_size, x->buf_size);
		ck_assert_uint_eq(y->hdr, x->hdr);
		ck_assert_uint_eq(y->rarea, x->rarea);
		ck_assert_uint_eq(y->buf, x->buf);
		ck_assert_uint_eq(y->barea, x->barea);
		if (same_memory)
			ck_assert_msg(y->slot == x->slot, "link '%s' moved from slot %u to %u",
				      x->name, x->slot, y->slot);
		ck_assert_msg(y->from_config == x->from_config, "link '%s': from_config",
			      x->name);
	}
	for (unsigned i = 0; i < a->ndoms; i++) {
		const struct domrec *x = &a->d[i], *y = &b->d[i];

		ck_assert_str_eq(y->name, x->name);
		ck_assert_uint_eq(y->pool_size, x->pool_size);
		ck_assert_uint_eq(y->region_size, x->region_size);
		ck_assert_uint_eq(y->nseg, x->nseg);
		ck_assert_uint_eq(y->nlinks, x->nlinks);
		ck_assert_uint_gt(y->generation, x->generation);
		ck_assert_str_eq(y->region_path, x->region_path);
		if (same_memory)
			ck_assert_msg(y->region_ino == x->region_ino,
				      "domain '%s': region file replaced", x->name);
		for (unsigned k = 0; k < x->nseg; k++) {
			ck_assert_uint_eq(y->seg_off[k], x->seg_off[k]);
			ck_assert_uint_eq(y->seg_size[k], x->seg_size[k]);
			ck_assert_str_eq(y->seg_path[k], x->seg_path[k]);
			if (same_memory)
				ck_assert_msg(y->seg_ino[k] == x->seg_ino[k],
					      "domain '%s': pool segment %u replaced", x->name, k);
		}
	}
}

/* The channel region describes every link of every domain. */
static void check_region_tables(void)
{
	for (struct reg_domain *d = r.domains; d; d = d->next) {
		const struct vlink_region_hdr *h = hdr_of(d);
		unsigned used = 0;

		ck_assert_uint_eq(h->magic, VLINK_SHM_MAGIC);
		ck_assert_uint_eq(h->version, VLINK_SHM_VERSION);
		ck_assert_uint_eq(h->max_links, VLINK_MAX_LINKS);
		ck_assert_str_eq(h->domain, d->name);
		ck_assert_uint_eq(h->pool_size, d->pool.size);
		ck_assert_uint_eq(h->generation % 2, 0);
		for (unsigned i = 0; i < VLINK_MAX_LINKS; i++)
			used += (h->links[i].flags & VLINK_LINK_F_USED) != 0;
		ck_assert_uint_eq(used, d->nlinks);
		ck_assert_uint_eq(h->nlinks, d->nlinks);
	}
	for (struct reg_link *l = r.links; l; l = l->next) {
		const struct vlink_link_entry *e = &hdr_of(l->dom)->links[l->slot];
		const struct vlink_link_hdr *lh = lhdr_of(l);

		ck_assert_uint_eq(e->flags, VLINK_LINK_F_USED);
		ck_assert_str_eq(e->name, l->name);
		ck_assert_mem_eq(e->mac, l->mac, 6);
		ck_assert_uint_eq(e->nchannels, l->nchannels);
		ck_assert_uint_eq(e->ring_size, l->ring_size);
		ck_assert_uint_eq(e->ring_stride, vlink_ring_stride(l->ring_size));
		ck_assert_uint_eq(e->hdr_offset, l->hdr_offset);
		ck_assert_uint_eq(e->buf_offset, l->buf_offset);
		ck_assert_uint_eq(e->buf_area, l->buf_area);
		ck_assert_uint_eq(lh->magic, VLINK_LINK_MAGIC);
		ck_assert_uint_eq(lh->nchannels, l->nchannels);
		ck_assert_uint_eq(lh->ring_size, l->ring_size);
		ck_assert_mem_eq(lh->mac, l->mac, 6);
		for (uint32_t ch = 1; ch <= l->nchannels; ch++)
			for (int k = 0; k < VLINK_RINGS_PER_CHAN; k++)
				ck_assert_uint_eq(ring_of(l, ch, (enum vlink_ring_id)k)->size,
						  l->ring_size);
	}
}

static void check_empty_registry(void)
{
	ck_assert_ptr_null(r.links);
	ck_assert_ptr_null(r.domains);
	ck_assert_uint_eq(r.nlinks, 0);
}

static void *map_fd(int fd, size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ck_assert_ptr_ne(m, MAP_FAILED);
	return m;
}

/* A pattern that depends on where it is. */
static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + seed * 17 + (i >> 9));
}

static bool has_pattern(const uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i * 131 + seed * 17 + (i >> 9)))
			return false;
	return true;
}

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A typical registry: two domains with links and one without. */
static void populate(void)
{
	struct reg_domain *d;
	struct reg_link *l;

	set_override(&r, "vm1", 32 * MiB);
	mk("eth0", NULL, 2, 0, true);
	mk("eth1", NULL, 1, 64, false);
	l = mk("vm1-a", "vm1", 4, 256, true);
	lhdr_of(l)->host_epoch = 7; /* the host end's, in the region: it survives */
	mk("vm1-b", "vm1", 1, 2048, false);
	mk("eth2", "default", 3, 128, false);
	ck_assert_int_eq(reg_domain_get(&r, "idle", &d, why, sizeof(why)), 0);
}

/* ---- save and load ---------------------------------------------------- */

START_TEST(test_roundtrip)
{
	struct rec *before = &rec_before;
	struct reg_link *l;

	populate();
	/* a hole: a deleted link's space stays free across the restart */
	ck_assert_int_eq(reg_link_delete(&r, reg_link_find(&r, "eth1"), false, why,
					 sizeof(why)), 0);
	record(before);
	ck_assert_uint_eq(before->nlinks, 4);
	ck_assert_uint_eq(before->ndoms, 3);
	save();
	reload_ok();
	ck_assert_str_eq(id, DAEMON_ID);
	ck_assert_ptr_eq(r.mem.daemon_id, id);
	compare(before, true);
	check_region_tables();
	ck_assert_ptr_nonnull(reg_domain_find(&r, "idle"));
	ck_assert_uint_eq(reg_domain_find(&r, "idle")->nlinks, 0);
	ck_assert_ptr_null(reg_link_find(&r, "eth1"));
	l = reg_link_find(&r, "vm1-a");
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(reg_link_epoch(l), 7);
	ck_assert(l->from_config);
	ck_assert(reg_link_find(&r, "eth0")->from_config);
	ck_assert(!reg_link_find(&r, "eth2")->from_config);
	ck_assert_uint_eq(reg_link_find(&r, "eth0")->ring_size, VLINK_RING_DEFAULT);
	ck_assert_uint_eq(reg_domain_find(&r, "vm1")->pool.size, 32 * MiB);
	ck_assert_ptr_null(l->host);
	ck_assert_ptr_null(l->peer);
	ck_assert_uint_eq(reg_domain_find(&r, "vm1")->nattached, 0);

	/* and again: save what was loaded, load it */
	record(before);
	save();
	reload_ok();
	compare(before, true);
	check_region_tables();
}
END_TEST

START_TEST(test_roundtrip_empty)
{
	char *files;

	save();
	ck_assert(exists(state_path));
	reload_ok();
	ck_assert_str_eq(id, DAEMON_ID);
	check_empty_registry();
	files = list_files(tmpdir);
	ck_assert_msg(!strncmp(files, "state ", 6) && !strchr(files, '/'),
		      "unexpected files: %s", files);
}
END_TEST

START_TEST(test_load_then_create)
{
	struct reg_link *a, *b;
	struct reg_domain *d;
	unsigned slot_b;
	uint64_t hdr_b, buf_b;

	mk("a", NULL, 1, 1024, false);
	b = mk("b", NULL, 2, 512, false);
	mk("c", NULL, 1, 64, false);
	slot_b = b->slot;
	hdr_b = b->hdr_offset;
	buf_b = b->buf_offset;
	ck_assert_int_eq(reg_link_delete(&r, b, false, why, sizeof(why)), 0);
	save();
	reload_ok();
	d = reg_domain_find(&r, "default");
	ck_assert_ptr_nonnull(d);
	/* the reloaded registry knows where everything is: new links fit around */
	b = mk("b2", NULL, 2, 512, false);
	ck_assert_uint_eq(b->slot, slot_b);
	ck_assert_uint_eq(b->hdr_offset, hdr_b);
	ck_assert_uint_eq(b->buf_offset, buf_b);
	a = mk("d", NULL, 4, 1024, false);
	for (struct reg_link *x = r.links; x; x = x->next)
		for (struct reg_link *y = x->next; y; y = y->next) {
			ck_assert(x->slot != y->slot);
			ck_assert(x->hdr_offset + x->region_area <= y->hdr_offset ||
				  y->hdr_offset + y->region_area <= x->hdr_offset);
			ck_assert(x->buf_offset + x->buf_area <= y->buf_offset ||
				  y->buf_offset + y->buf_area <= x->buf_offset);
		}
	(void)a;
	/* names are still taken */
	{
		struct reg_link_params p = {
			.name = "a", .mac = "02:00:00:00:00:99", .nchannels = 1,
		};
		struct reg_link *l;

		ck_assert_int_eq(reg_link_create(&r, &p, &l, why, sizeof(why)), -EEXIST);
	}
	check_region_tables();
}
END_TEST

/* ---- the memory is reopened, not recreated ---------------------------- */

START_TEST(test_reopen_same_memory)
{
	struct rec *before = &rec_before;
	struct reg_domain *d;
	struct reg_link *l;
	unsigned last;
	uint8_t *m;

	populate();
	d = reg_domain_find(&r, "default");
	last = d->pool.nseg - 1;
	ck_assert_uint_eq(d->pool.nseg, 8);
	/* write into the pool through the daemon's fds */
	m = map_fd(d->pool.seg[0].fd, d->pool.seg[0].size);
	fill_pattern(m, 8192, 1);
	fill_pattern(m + d->pool.seg[0].size - 4096, 4096, 2);
	munmap(m, d->pool.seg[0].size);
	m = map_fd(d->pool.seg[last].fd, d->pool.seg[last].size);
	fill_pattern(m + 12345, 100000, 3);
	munmap(m, d->pool.seg[last].size);
	/* and into the channel region what the ends write at run time */
	l = reg_link_find(&r, "eth0");
	lhdr_of(l)->host_state = VLINK_END_UP;
	lhdr_of(l)->host_epoch = 0xabcd;
	lhdr_of(l)->peer_ack_epoch = 0xabcc;
	ring_of(l, 2, VLINK_RING_TX)->head = 1234;
	ring_of(l, 2, VLINK_RING_TX)->tail = 1200;
	record(before);
	save();
	reload_ok();
	compare(before, true);

	d = reg_domain_find(&r, "default");
	m = map_fd(d->pool.seg[0].fd, d->pool.seg[0].size);
	ck_assert(has_pattern(m, 8192, 1));
	ck_assert(has_pattern(m + d->pool.seg[0].size - 4096, 4096, 2));
	munmap(m, d->pool.seg[0].size);
	m = map_fd(d->pool.seg[last].fd, d->pool.seg[last].size);
	ck_assert(has_pattern(m + 12345, 100000, 3));
	munmap(m, d->pool.seg[last].size);
	l = reg_link_find(&r, "eth0");
	ck_assert_uint_eq(lhdr_of(l)->host_state, VLINK_END_UP);
	ck_assert_uint_eq(lhdr_of(l)->host_epoch, 0xabcd);
	ck_assert_uint_eq(lhdr_of(l)->peer_ack_epoch, 0xabcc);
	ck_assert_uint_eq(ring_of(l, 2, VLINK_RING_TX)->head, 1234);
	ck_assert_uint_eq(ring_of(l, 2, VLINK_RING_TX)->tail, 1200);
	check_region_tables();
}
END_TEST

/* ---- the state file --------------------------------------------------- */

START_TEST(test_save_atomic)
{
	struct stat st1, st2;
	size_t len, nd, nl, nseg;
	uint8_t *buf;
	Vlink__State *st;
	uint32_t version;
	char sid[64], dname[64];

	mk("a", NULL, 1, 64, false);
	save();
	ck_assert(!exists(tmp_path));
	ck_assert_int_eq(stat(state_path, &st1), 0);
	ck_assert(S_ISREG(st1.st_mode));
	ck_assert_uint_eq(st1.st_mode & 0777, 0600);
	ck_assert_uint_gt(st1.st_size, 0);
	/* a new save replaces the file (rename), it does not rewrite it */
	mk("b", NULL, 1, 64, false);
	save();
	ck_assert(!exists(tmp_path));
	ck_assert_int_eq(stat(state_path, &st2), 0);
	ck_assert_uint_eq(st2.st_mode & 0777, 0600);
	ck_assert_uint_ne(st1.st_ino, st2.st_ino);
	ck_assert_int_gt(st2.st_size, st1.st_size);
	/* what is in it */
	buf = read_whole(state_path, &len);
	ck_assert_uint_gt(len, STATE_HDR_SIZE);
	ck_assert_mem_eq(buf, STATE_MAGIC, 12);
	st = vlink__state__unpack(NULL, len - STATE_HDR_SIZE, buf + STATE_HDR_SIZE);
	ck_assert_ptr_nonnull(st);
	version = st->version;
	snprintf(sid, sizeof(sid), "%s", st->daemon_id);
	nd = st->n_domains;
	nl = st->n_links;
	nseg = nd ? st->domains[0]->n_segments : 0;
	snprintf(dname, sizeof(dname), "%s", nd ? st->domains[0]->name : "");
	vlink__state__free_unpacked(st, NULL);
	ck_assert_uint_eq(version, 1);
	ck_assert_str_eq(sid, DAEMON_ID);
	ck_assert_uint_eq(nd, 1);
	ck_assert_uint_eq(nl, 2);
	ck_assert_str_eq(dname, "default");
	ck_assert_uint_eq(nseg, 8);
}
END_TEST

/* A state.tmp left by a crash (or made by someone else) must not decide
 * the mode of the state file. */
START_TEST(test_save_ignores_stale_tmp)
{
	struct stat st;
	int fd;

	mk("a", NULL, 1, 64, false);
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	ck_assert_int_eq(write(fd, "garbage that is longer than a state file would be...", 52), 52);
	close(fd);
	save();
	ck_assert(!exists(tmp_path));
	ck_assert_int_eq(stat(state_path, &st), 0);
	ck_assert_msg((st.st_mode & 0777) == 0600,
		      "state file has mode %03o after a save over a stale state.tmp", st.st_mode & 0777);
	reload_ok();
	ck_assert_ptr_nonnull(reg_link_find(&r, "a"));
}
END_TEST

START_TEST(test_save_unwritable_dir)
{
	char dir[4400];
	int err, fds;

	mk("a", NULL, 1, 64, false);
	snprintf(dir, sizeof(dir), "%s/no/such/dir", tmpdir);
	fds = count_fds();
	err = state_save(&r, dir, DAEMON_ID, why, sizeof(why));
	ck_assert_int_eq(err, -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, dir));
	ck_assert_ptr_nonnull(strstr(why, "cannot write"));
	ck_assert_int_eq(count_fds(), fds);
	/* the registry is unchanged and can still be saved elsewhere */
	ck_assert_uint_eq(r.nlinks, 1);
	save();
}
END_TEST

START_TEST(test_load_missing)
{
	char id2[STATE_ID_LEN + 1];
	char *files;

	ck_assert(!exists(state_path));
	reload_ok();
	check_empty_registry();
	ck_assert_uint_eq(strlen(id), STATE_ID_LEN);
	ck_assert_uint_eq(strspn(id, "0123456789abcdef"), STATE_ID_LEN);
	/* nothing is created by loading nothing */
	files = list_files(tmpdir);
	ck_assert_str_eq(files, "");
	/* a fresh id each time */
	memcpy(id2, id, sizeof(id));
	reload_ok();
	ck_assert_uint_eq(strlen(id), STATE_ID_LEN);
	ck_assert_str_ne(id, id2);
	/* the registry is usable with that id */
	r.mem.daemon_id = id;
	mk("a", NULL, 1, 64, false);
	ck_assert_ptr_nonnull(strstr(reg_domain_find(&r, "default")->region.path, id));
	ck_assert_int_eq(state_save(&r, tmpdir, id, why, sizeof(why)), 0);
	memcpy(id2, id, sizeof(id));
	reload_ok();
	ck_assert_str_eq(id, id2);
	ck_assert_ptr_nonnull(reg_link_find(&r, "a"));
}
END_TEST

/* A load that fails leaves an empty registry, its settings, the files as
 * they were, and no open fds. */
static void check_failed_load(int err, const char *text1, const char *text2)
{
	ck_assert_msg(err < 0, "state_load accepted it (%d)", err);
	if (text1)
		ck_assert_msg(strstr(why, text1), "'%s' not in \"%s\"", text1, why);
	if (text2)
		ck_assert_msg(strstr(why, text2), "'%s' not in \"%s\"", text2, why);
	check_empty_registry();
}

static int load_with_checks(void)
{
	char *files_before, *files_after;
	int fds, err;

	reg_fini(&r);
	reg_setup();
	set_override(&r, "keep", 16 * MiB);
	files_before = list_files(tmpdir);
	fds = count_fds();
	why[0] = '\0';
	err = state_load(&r, tmpdir, id, why, sizeof(why));
	if (err < 0) {
		ck_assert_int_eq(count_fds(), fds);
		/* the settings survive a failed load */
		ck_assert_uint_eq(r.npool_sizes, 1);
		ck_assert_str_eq(r.pool_sizes[0].domain, "keep");
		ck_assert_uint_eq(r.pool_sizes[0].size, 16 * MiB);
		ck_assert_uint_eq(r.pool_size, 64 * MiB);
		ck_assert_str_eq(r.mem.shm_dir, tmpdir);
		ck_assert(r.mem.no_hugepages);
		files_after = list_files(tmpdir);
		ck_assert_msg(!strcmp(files_before, files_after),
			      "a failed load changed the files:\n%s---\n%s", files_before,
			      files_after);
	}
	return err;
}

START_TEST(test_load_corrupt_random)
{
	uint8_t buf[4096];
	size_t len = (size_t)(_i % 3 == 0 ? 4096 : _i % 3 == 1 ? 37 : 1000);

	rnd_state = 0x9e3779b97f4a7c15ull * (uint64_t)(_i + 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
	write_file(state_path, buf, len);
	check_failed_load(load_with_checks(), "corrupt", NULL);
	ck_assert_ptr_nonnull(strstr(why, state_path));
}
END_TEST

START_TEST(test_load_corrupt_text)
{
	static const char text[] = "links:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n";

	write_file(state_path, text, sizeof(text) - 1);
	check_failed_load(load_with_checks(), "corrupt", NULL);
	ck_assert_ptr_nonnull(strstr(why, state_path));
}
END_TEST

START_TEST(test_load_truncated)
{
	/* (2 bytes would be a complete "version" field: see below) */
	static const size_t cut[] = { 1, 3, 5, 19, 21, 30, 60 };
	size_t len;
	uint8_t *buf;

	populate();
	save();
	buf = read_whole(state_path, &len);
	ck_assert_uint_gt(len, 200);
	/* cuts inside a field: at the very end, and in the middle */
	for (int k = -1; k < (int)(sizeof(cut) / sizeof(cut[0])); k++) {
		size_t n = k < 0 ? len - 1 : k == 0 ? len / 2 : cut[k];

		if (n >= len)
			continue;
		write_file(state_path, buf, n);
		check_failed_load(load_with_checks(), "corrupt", NULL);
		ck_assert_msg(strstr(why, state_path), "cut at %zu of %zu: %s", n, len, why);
	}
}
END_TEST

/* Regression: a state file cut right after a complete field is a valid
 * protobuf with fewer links; without the checksum a daemon accepted it,
 * forgot links and wiped their table entries. */
START_TEST(test_truncated_at_field_boundary_refused)
{
	Vlink__State *st;
	uint8_t *buf, *part;
	size_t len, plen, nlinks;
	int err;

	populate();
	save();
	buf = read_whole(state_path, &len);
	st = vlink__state__unpack(NULL, len - STATE_HDR_SIZE, buf + STATE_HDR_SIZE);
	ck_assert_ptr_nonnull(st);
	/* the encoding with the last link left off is a prefix of the payload */
	nlinks = st->n_links;
	st->n_links = nlinks - 1;
	plen = vlink__state__get_packed_size(st);
	part = own(malloc(plen));
	vlink__state__pack(st, part);
	st->n_links = nlinks;
	vlink__state__free_unpacked(st, NULL);
	ck_assert_uint_eq(nlinks, 5);
	ck_assert_uint_lt(plen, len - STATE_HDR_SIZE);
	ck_assert_mem_eq(part, buf + STATE_HDR_SIZE, plen);

	write_file(state_path, buf, STATE_HDR_SIZE + plen);
	err = load_with_checks();
	ck_assert_msg(err < 0,
		      "a state file truncated at a field boundary (%zu of %zu bytes) was "
		      "accepted: %u of 5 links loaded, the rest silently forgotten",
		      plen, len, r.nlinks);
	ck_assert_ptr_nonnull(strstr(why, "checksum"));
	ck_assert_ptr_nonnull(strstr(why, state_path));
}
END_TEST

/* Edits of a saved state file; swap() points a field elsewhere and
 * remembers what to put back before the message is freed. */
static void **saved_where;
static void *saved_val;
static size_t *saved_np, saved_n;

static void swap(void *where, const void *val)
{
	saved_where = where;
	saved_val = *saved_where;
	*saved_where = (void *)val;
}


typedef void (*state_edit)(Vlink__State *st);

static void edit_version(Vlink__State *st) { st->version = 2; }
static void edit_id_upper(Vlink__State *st) { swap(&st->daemon_id, "0123456789ABCDEF"); }
static void edit_id_short(Vlink__State *st) { swap(&st->daemon_id, "0123"); }
static void edit_id_empty(Vlink__State *st) { swap(&st->daemon_id, ""); }
static void edit_link_offset(Vlink__State *st) { st->links[0]->layout->header_offset = 1ull << 40; }
static void edit_link_offset_low(Vlink__State *st) { st->links[0]->layout->header_offset = 4096; }
static void edit_link_buf(Vlink__State *st) { st->links[0]->layout->buf_offset = 1ull << 30; }
static void edit_link_domain(Vlink__State *st)
{
	swap(&st->links[st->n_links - 1]->layout->domain, "nowhere");
}
static void edit_link_mac(Vlink__State *st)
{
	swap(&st->links[st->n_links - 1]->layout->mac, "01:00:00:00:00:01");
}
static void edit_link_ring(Vlink__State *st) { st->links[st->n_links - 1]->layout->ring_size = 100; }
static void edit_link_dup(Vlink__State *st)
{
	swap(&st->links[st->n_links - 1]->layout->name, st->links[0]->layout->name);
}
static void edit_link_nolayout(Vlink__State *st)
{
	swap(&st->links[st->n_links - 1]->layout, NULL);
}
static void edit_domain_dup(Vlink__State *st)
{
	swap(&st->domains[st->n_domains - 1]->name, st->domains[0]->name);
}
static void edit_domain_name(Vlink__State *st)
{
	swap(&st->domains[st->n_domains - 1]->name, "bad name");
}
static void edit_domain_noseg(Vlink__State *st)
{
	saved_np = &st->domains[st->n_domains - 1]->n_segments;
	saved_n = *saved_np;
	*saved_np = 0;
}
static void edit_domain_region_small(Vlink__State *st)
{
	st->domains[st->n_domains - 1]->region_size = 100;
}

static const struct bad_state {
	state_edit fn;
	const char *text;
} bad_states[] = {
	{ edit_version, "unsupported version" },
	{ edit_id_upper, "daemon id" },
	{ edit_id_short, "daemon id" },
	{ edit_id_empty, "daemon id" },
	{ edit_link_offset, "outside" },
	{ edit_link_offset_low, "outside" },
	{ edit_link_buf, "outside" },
	{ edit_link_domain, "nowhere" },
	{ edit_link_mac, "multicast" },
	{ edit_link_ring, "ring size" },
	{ edit_link_dup, "already exists" },
	{ edit_link_nolayout, "layout" },
	{ edit_domain_dup, "twice" },
	{ edit_domain_name, "domain" },
	{ edit_domain_noseg, "bad memory description" },
	{ edit_domain_region_small, "bad memory description" },
};

START_TEST(test_load_bad_content)
{
	const struct bad_state *t = &bad_states[_i];
	Vlink__State *st;
	uint8_t *buf, *out;
	size_t len, olen;
	char *files;

	populate();
	save();
	files = list_files(memdir);
	reg_fini(&r);
	reg_setup();

	buf = read_whole(state_path, &len);
	st = vlink__state__unpack(NULL, len - STATE_HDR_SIZE, buf + STATE_HDR_SIZE);
	ck_assert_ptr_nonnull(st);
	saved_where = NULL;
	saved_np = NULL;
	t->fn(st);
	/* a well-formed file (right checksum) with bad content */
	olen = STATE_HDR_SIZE + vlink__state__get_packed_size(st);
	out = own(malloc(olen));
	vlink__state__pack(st, out + STATE_HDR_SIZE);
	state_header(out, out + STATE_HDR_SIZE, olen - STATE_HDR_SIZE);
	if (saved_where)
		*saved_where = saved_val;
	if (saved_np)
		*saved_np = saved_n;
	vlink__state__free_unpacked(st, NULL);
	write_file(state_path, out, olen);

	check_failed_load(load_with_checks(), t->text, NULL);
	/* the memory files are still there, untouched */
	{
		char *after = list_files(memdir);

		ck_assert_str_eq(files, after);
	}
}
END_TEST

/* ---- memory files damaged behind the daemon's back --------------------- */

static void unlink_domain_files(const char *dom, bool pool, bool region)
{
	struct reg_domain *d = reg_domain_find(&r, dom);

	ck_assert_ptr_nonnull(d);
	if (pool)
		for (unsigned i = 0; i < d->pool.nseg; i++)
			ck_assert_int_eq(unlink(d->pool.seg[i].path), 0);
	if (region)
		ck_assert_int_eq(unlink(d->region.path), 0);
}

/* After the memory of `dom` was recreated: new files of the right sizes,
 * every link reinitialised in the new region. */
static void check_recreated(const struct rec *before, const char *dom)
{
	struct reg_domain *d = reg_domain_find(&r, dom);

	ck_assert_ptr_nonnull(d);
	for (unsigned i = 0; i < d->pool.nseg; i++) {
		struct stat st;

		ck_assert_int_eq(stat(d->pool.seg[i].path, &st), 0);
		ck_assert_uint_eq((uint64_t)st.st_size, d->pool.seg[i].size);
		ck_assert_uint_eq(fd_ino(d->pool.seg[i].fd), st.st_ino);
	}
	ck_assert(exists(d->region.path));
	compare(before, false);
	check_region_tables();
}

START_TEST(test_memory_all_deleted)
{
	struct rec *before = &rec_before;
	struct reg_domain *d;
	ino_t vm1_region;
	uint8_t *m;

	populate();
	d = reg_domain_find(&r, "default");
	m = map_fd(d->pool.seg[0].fd, 4096);
	fill_pattern(m, 4096, 5);
	munmap(m, 4096);
	vm1_region = fd_ino(reg_domain_find(&r, "vm1")->region.fd);
	record(before);
	save();
	unlink_domain_files("default", true, true);
	reload_ok();
	check_recreated(before, "default");
	/* new memory: the old content is gone */
	d = reg_domain_find(&r, "default");
	m = map_fd(d->pool.seg[0].fd, 4096);
	ck_assert(all_zero(m, 4096));
	munmap(m, 4096);
	/* the other domain was reopened */
	ck_assert_uint_eq(fd_ino(reg_domain_find(&r, "vm1")->region.fd), vm1_region);
	/* and the result is a normal state again */
	record(before);
	save();
	reload_ok();
	compare(before, true);
}
END_TEST

START_TEST(test_memory_pool_files_deleted)
{
	struct rec *before = &rec_before;

	populate();
	record(before);
	save();
	unlink_domain_files("default", true, false);
	reload_ok();
	check_recreated(before, "default");
}
END_TEST

START_TEST(test_memory_one_segment_deleted)
{
	struct rec *before = &rec_before;

	populate();
	record(before);
	save();
	ck_assert_int_eq(unlink(reg_domain_find(&r, "default")->pool.seg[3].path), 0);
	reload_ok();
	check_recreated(before, "default");
}
END_TEST

START_TEST(test_memory_region_file_deleted)
{
	struct rec *before = &rec_before;

	populate();
	record(before);
	save();
	unlink_domain_files("vm1", false, true);
	reload_ok();
	check_recreated(before, "vm1");
}
END_TEST

START_TEST(test_memory_region_wiped)
{
	struct rec *before = &rec_before;
	struct reg_domain *d;

	populate();
	d = reg_domain_find(&r, "vm1");
	record(before);
	save();
	/* same file, zeroed: the region header is rewritten, the links too */
	memset(d->region.map, 0, d->region.size);
	reload_ok();
	compare(before, false);
	ck_assert_uint_eq(fd_ino(reg_domain_find(&r, "vm1")->region.fd), before->d[2].region_ino);
	check_region_tables();
}
END_TEST

/* ---- the region table after a restart --------------------------------- */

START_TEST(test_stale_entry_cleared)
{
	struct reg_domain *d;
	struct vlink_link_entry *e;
	struct reg_link *l;
	unsigned ghost, nl;

	populate();
	save();
	reload_ok();
	d = reg_domain_find(&r, "default");
	l = reg_link_find(&r, "eth0");
	lhdr_of(l)->host_epoch = 77;
	nl = d->nlinks;
	/* a table entry without a link (a crash between memory and state) */
	for (ghost = 0; ghost < VLINK_MAX_LINKS; ghost++)
		if (!(hdr_of(d)->links[ghost].flags & VLINK_LINK_F_USED))
			break;
	ck_assert_uint_lt(ghost, VLINK_MAX_LINKS);
	e = &hdr_of(d)->links[ghost];
	strcpy(e->name, "ghost");
	e->mac[0] = 2;
	e->nchannels = 1;
	e->ring_size = 64;
	e->hdr_offset = 1 << 20;
	e->buf_offset = 48 * MiB;
	e->buf_area = 2 * MiB;
	e->flags = VLINK_LINK_F_USED;
	hdr_of(d)->nlinks++;
	save();
	reload_ok();
	d = reg_domain_find(&r, "default");
	ck_assert(all_zero(&hdr_of(d)->links[ghost], sizeof(struct vlink_link_entry)));
	ck_assert_uint_eq(hdr_of(d)->nlinks, nl);
	ck_assert_uint_eq(d->nlinks, nl);
	ck_assert_ptr_null(reg_link_find(&r, "ghost"));
	check_region_tables();
	/* the real links were left alone */
	ck_assert_uint_eq(lhdr_of(reg_link_find(&r, "eth0"))->host_epoch, 77);
}
END_TEST

/* Clearing a stale entry changes the link table, which readers (the guest
 * of a QEMU that kept running across the restart) follow with the
 * generation sequence lock: it must move (odd while writing, then even). */
START_TEST(test_stale_entry_cleared_bumps_generation)
{
	struct reg_domain *d;
	struct vlink_link_entry *e;
	uint32_t gen;

	populate();
	save();
	reload_ok();
	d = reg_domain_find(&r, "vm1");
	e = &hdr_of(d)->links[VLINK_MAX_LINKS - 1];
	ck_assert_uint_eq(e->flags, 0);
	strcpy(e->name, "ghost");
	e->flags = VLINK_LINK_F_USED;
	hdr_of(d)->nlinks++;
	gen = hdr_of(d)->generation;
	save();
	reload_ok();
	d = reg_domain_find(&r, "vm1");
	ck_assert(all_zero(&hdr_of(d)->links[VLINK_MAX_LINKS - 1], sizeof(*e)));
	ck_assert_uint_eq(hdr_of(d)->generation % 2, 0);
	ck_assert_msg(hdr_of(d)->generation != gen,
		      "stale table entry cleared without a generation change (still %u)", gen);
}
END_TEST

/* The daemon creates a link (growing the region file), and dies before it
 * saves the state.  The restart must bring back the saved links. */
START_TEST(test_crash_after_create_before_save)
{
	struct rec *before = &rec_before;
	struct reg_domain *d;
	struct reg_link *b;
	uint64_t size_saved, size_grown;
	unsigned bslot;
	int err;

	mk("a", NULL, 1, 64, false);
	d = reg_domain_find(&r, "default");
	record(before);
	save();
	size_saved = d->region.size;
	b = mk("b", NULL, 1, 64, false);
	bslot = b->slot;
	size_grown = d->region.size;
	ck_assert_uint_gt(size_grown, size_saved);
	/* crash: no save */
	err = reload();
	ck_assert_msg(err == 0, "restart after a crash between create and save fails: "
		      "%d (%s)", err, why);
	/* the region keeps its grown size: a client may map it, and shrinking
	 * the file would SIGBUS it */
	ck_assert_uint_eq(before->ndoms, 1);
	before->d[0].region_size = size_grown;
	compare(before, true);
	ck_assert_ptr_null(reg_link_find(&r, "b"));
	d = reg_domain_find(&r, "default");
	ck_assert(all_zero(&hdr_of(d)->links[bslot], sizeof(struct vlink_link_entry)));
	check_region_tables();
}
END_TEST

/* The daemon deletes a link (clearing its table entry) and dies before it
 * saves the state.  On restart the link comes back (the state is the
 * truth), but reinitialising it must not take the table slot of another,
 * live link, nor reset that link's header and rings. */
START_TEST(test_crash_after_delete_keeps_live_link)
{
	struct reg_link *x, *y;
	unsigned xslot;
	uint64_t yhdr;

	x = mk("x", NULL, 1, 64, false);
	y = mk("y", NULL, 1, 64, false);
	xslot = x->slot;
	yhdr = y->hdr_offset;
	lhdr_of(x)->host_epoch = 41;
	ring_of(x, 1, VLINK_RING_RX)->head = 9;
	save();
	ck_assert_int_eq(reg_link_delete(&r, y, false, why, sizeof(why)), 0);
	/* crash: no save */
	reload_ok();
	x = reg_link_find(&r, "x");
	y = reg_link_find(&r, "y");
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_uint_eq(y->hdr_offset, yhdr);
	ck_assert_msg(lhdr_of(x)->host_epoch == 41 && ring_of(x, 1, VLINK_RING_RX)->head == 9,
		      "live link 'x' was reinitialised (host_epoch %u, rx head %u; slot %u -> %u)",
		      lhdr_of(x)->host_epoch, ring_of(x, 1, VLINK_RING_RX)->head, xslot, x->slot);
	ck_assert_msg(x->slot == xslot, "live link 'x' moved from slot %u to slot %u",
		      xslot, x->slot);
	check_region_tables();
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc;

	tc = tcase_create("roundtrip");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_roundtrip_empty);
	tcase_add_test(tc, test_load_then_create);
	tcase_add_test(tc, test_reopen_same_memory);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_save_atomic);
	tcase_add_test(tc, test_save_unwritable_dir);
	tcase_add_test(tc, test_load_missing);
	tcase_add_loop_test(tc, test_load_corrupt_random, 0, 12);
	tcase_add_test(tc, test_load_corrupt_text);
	tcase_add_test(tc, test_load_truncated);
	tcase_add_loop_test(tc, test_load_bad_content, 0,
			    (int)(sizeof(bad_states) / sizeof(bad_states[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_memory_all_deleted);
	tcase_add_test(tc, test_memory_region_wiped);
	tcase_add_test(tc, test_stale_entry_cleared);
	suite_add_tcase(s, tc);

	/* bugs found in state.c and fixed (see each test's comment) */
	tc = tcase_create("regressions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_memory_pool_files_deleted);
	tcase_add_test(tc, test_memory_one_segment_deleted);
	tcase_add_test(tc, test_memory_region_file_deleted);
	tcase_add_test(tc, test_crash_after_create_before_save);
	tcase_add_test(tc, test_crash_after_delete_keeps_live_link);
	tcase_add_test(tc, test_stale_entry_cleared_bumps_generation);
	tcase_add_test(tc, test_truncated_at_field_boundary_refused);
	tcase_add_test(tc, test_save_ignores_stale_tmp);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return regtest_run(state_suite());
}
