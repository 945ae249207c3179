/* vlink_linkmem (proto/vlink_linkmem.c): a LinkMap mapped from memfds, and
 * vlink_linkmem_same_files() telling the same memory from other memory
 * when a daemon that came back sends the link's map again. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "vlink.pb-c.h"
#include "vlink_linkmem.h"
#include "vlink_shm.h"

#define SEG (2u << 20)
#define POOL (2 * SEG)
#define REGION (64u << 10)
#define RING 64u
#define HDR 8192u

enum { FD_SEG0, FD_SEG1, FD_REGION, NFDS };

/* a LinkMap and the memory it names */
struct fixture {
	int fds[NFDS];
	Vlink__Segment seg[2];
	Vlink__Segment *segp[2];
	Vlink__ChannelRegion region;
	Vlink__ChannelLayout chan;
	Vlink__ChannelLayout *chanp[1];
	Vlink__LinkLayout layout;
	Vlink__LinkMap map;
};

static struct fixture fx;
static int fds_before;

static int make_memfd(uint64_t size)
{
	int fd = memfd_create("check_linkmem", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* the link header vlinkd writes when it creates a link */
static void write_header(int fd)
{
	struct vlink_link_hdr *h = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ck_assert_ptr_ne(h, MAP_FAILED);
	h = (struct vlink_link_hdr *)((uint8_t *)h + HDR);
	h->magic = VLINK_LINK_MAGIC;
	h->version = VLINK_SHM_VERSION;
	h->nchannels = 1;
	h->ring_size = RING;
	h->buf_size = 2048;
	h->buf_offset = SEG - 64 * 2048;
	h->buf_area = 128 * 2048;
	h->mtu = 1500;
	munmap((uint8_t *)h - HDR, REGION);
}

/* the LinkMap of the fixture's memory (fx.fds), as vlinkd sends it */
static void fixture_map(void)
{
	uint64_t stride = vlink_ring_stride(RING);

	for (int i = 0; i < 2; i++) {
		fx.seg[i] = (Vlink__Segment)VLINK__SEGMENT__INIT;
		fx.seg[i].fd_index = (uint32_t)(i == 0 ? FD_SEG0 : FD_SEG1);
		fx.seg[i].pool_offset = (uint64_t)i * SEG;
		fx.seg[i].size = SEG;
		fx.seg[i].page_size = 4096;
		fx.segp[i] = &fx.seg[i];
	}
	fx.region = (Vlink__ChannelRegion)VLINK__CHANNEL_REGION__INIT;
	fx.region.fd_index = FD_REGION;
	fx.region.size = REGION;
	fx.chan = (Vlink__ChannelLayout)VLINK__CHANNEL_LAYOUT__INIT;
	fx.chan.rx = HDR + VLINK_LINK_HDR_SIZE;
	fx.chan.done = fx.chan.rx + stride;
	fx.chan.fill = fx.chan.done + stride;
	fx.chan.tx = fx.chan.fill + stride;
	fx.chanp[0] = &fx.chan;
	fx.layout = (Vlink__LinkLayout)VLINK__LINK_LAYOUT__INIT;
	fx.layout.name = "l1";
	fx.layout.mac = "02:00:00:00:00:01";
	fx.layout.domain = "d";
	fx.layout.nchannels = 1;
	fx.layout.ring_size = RING;
	fx.layout.header_offset = HDR;
	fx.layout.ring_stride = (uint32_t)stride;
	fx.layout.n_channels = 1;
	fx.layout.channels = fx.chanp;
	fx.layout.buf_offset = SEG - 64 * 2048; /* across both segments */
	fx.layout.buf_area = 128 * 2048;
	fx.layout.buf_size = 2048;
	fx.map = (Vlink__LinkMap)VLINK__LINK_MAP__INIT;
	fx.map.domain = "d";
	fx.map.pool_size = POOL;
	fx.map.n_segments = 2;
	fx.map.segments = fx.segp;
	fx.map.region = &fx.region;
	fx.map.link = &fx.layout;
	fx.map.end = VLINK__END__END_PEER;
}

static void setup(void)
{
	fds_before = count_fds();
	memset(&fx, 0, sizeof(fx));
	fx.fds[FD_SEG0] = make_memfd(SEG);
	fx.fds[FD_SEG1] = make_memfd(SEG);
	fx.fds[FD_REGION] = make_memfd(REGION);
	write_header(fx.fds[FD_REGION]);
	fixture_map();
}

static void teardown(void)
{
	for (int i = 0; i < NFDS; i++)
		close(fx.fds[i]);
	ck_assert_int_eq(count_fds(), fds_before);
}

static void map(struct vlink_linkmem *m)
{
	char why[256];

	memset(m, 0, sizeof(*m));
	ck_assert_msg(vlink_linkmem_map(m, &fx.map, fx.fds, NFDS, false, why, sizeof(why)) == 0,
		      "%s", why);
}

/* A LinkMap whose link layout is wrong is refused, with the reason, and
 * leaves nothing mapped; the same checks as in guest mode (one function). */
START_TEST(test_layout_refused)
{
	struct vlink_linkmem m;
	char why[256];
	int err;
	struct {
		const char *what, *reason;
		int err;
	} cases[] = {
		{ "no layout", "has no link layout", -EINVAL },
		{ "a ring stride the ring size does not give", "layout does not fit", -EINVAL },
		{ "a ring size below 64", "layout does not fit", -EINVAL },
		{ "one channel layout for two channels", "1 channel layouts for 2 channels",
		  -EINVAL },
		{ "a ring moved by 64 bytes", "rings of channel 1 are not where", -EINVAL },
		{ "a header offset that wraps the sum", "header or rings outside", -EINVAL },
		{ "a header offset in the region header", "header or rings outside", -EINVAL },
		{ "buffers past the pool", "layout does not fit", -EINVAL },
		{ "a header that says another ring size", "header and its layout disagree",
		  -EPROTO },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture_map();
		switch (i) {
		case 0: fx.map.link = NULL; break;
		case 1: fx.layout.ring_stride += 64; break;
		case 2: fx.layout.ring_size = 32; fx.layout.ring_stride = vlink_ring_stride(32);
			break;
		case 3: fx.layout.nchannels = 2; break;
		case 4: fx.chan.fill += 64; break;
		case 5: fx.layout.header_offset = UINT64_MAX - 255; break;
		case 6: fx.layout.header_offset = 4096; break;
		case 7: fx.layout.buf_area = POOL; break;
		case 8: fx.layout.ring_size = 128; fx.layout.ring_stride = vlink_ring_stride(128);
			fx.chan.done = fx.chan.rx + vlink_ring_stride(128);
			fx.chan.fill = fx.chan.done + vlink_ring_stride(128);
			fx.chan.tx = fx.chan.fill + vlink_ring_stride(128);
			break;
		}
		memset(&m, 0, sizeof(m));
		why[0] = '\0';
		err = vlink_linkmem_map(&m, &fx.map, fx.fds, NFDS, false, why, sizeof(why));
		ck_assert_msg(err == cases[i].err && strstr(why, cases[i].reason),
			      "%s: %d '%s' (want %d, '%s')", cases[i].what, err, why, cases[i].err,
			      cases[i].reason);
		ck_assert_ptr_null(m.region);
		ck_assert_uint_eq(m.nseg, 0);
	}
}
END_TEST

START_TEST(test_same)
{
	struct vlink_linkmem m;
	int again[NFDS];

	map(&m);
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), 0);
	/* a new daemon sends new fds for the same files, maybe in another order */
	again[0] = dup(fx.fds[FD_REGION]);
	again[1] = dup(fx.fds[FD_SEG1]);
	again[2] = dup(fx.fds[FD_SEG0]);
	fx.region.fd_index = 0;
	fx.seg[1].fd_index = 1;
	fx.seg[0].fd_index = 2;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, again, NFDS), 0);
	for (int i = 0; i < NFDS; i++)
		close(again[i]);
	vlink_linkmem_unmap(&m);
}
END_TEST

START_TEST(test_other_file)
{
	struct vlink_linkmem m;
	int other = make_memfd(SEG), old;

	map(&m);
	for (int i = 0; i < NFDS; i++) {
		old = fx.fds[i];
		fx.fds[i] = other;
		ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -ESTALE);
		fx.fds[i] = old;
	}
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), 0);
	close(other);
	vlink_linkmem_unmap(&m);
}
END_TEST

START_TEST(test_other_offset)
{
	struct vlink_linkmem m;

	map(&m);
	/* the same two files, their places in the pool swapped */
	fx.seg[0].pool_offset = SEG;
	fx.seg[1].pool_offset = 0;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -ESTALE);
	fx.seg[0].pool_offset = 0;
	fx.seg[1].pool_offset = SEG;
	/* the same files, a bigger pool or a smaller segment */
	fx.map.pool_size = 2 * POOL;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -ESTALE);
	fx.map.pool_size = POOL;
	fx.seg[1].size = SEG / 2;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -ESTALE);
	fx.seg[1].size = SEG;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), 0);
	vlink_linkmem_unmap(&m);
}
END_TEST

START_TEST(test_other_layout)
{
	struct vlink_linkmem m;

	map(&m);
	/* same files, the link laid out elsewhere in them (recreated) */
	fx.layout.buf_offset += 2048;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -ESTALE);
	fx.layout.buf_offset -= 2048;
	fx.chan.tx += 64;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -ESTALE);
	fx.chan.tx -= 64;
	fx.layout.header_offset += 256;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -ESTALE);
	fx.layout.header_offset -= 256;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), 0);
	vlink_linkmem_unmap(&m);
}
END_TEST

START_TEST(test_bad_map)
{
	struct vlink_linkmem m, bars;
	struct vlink_link_entry e = { 0 };
	int extra[NFDS + 1], bad;
	void *pool, *region;
	char why[256];

	map(&m);
	/* an fd the map does not use, an index out of range, no layout */
	memcpy(extra, fx.fds, sizeof(fx.fds));
	extra[NFDS] = fx.fds[0];
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, extra, NFDS + 1), -EINVAL);
	fx.seg[1].fd_index = NFDS;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -EINVAL);
	fx.seg[1].fd_index = FD_SEG1;
	fx.map.link = NULL;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), -EINVAL);
	fx.map.link = &fx.layout;
	/* an fd that cannot be examined */
	bad = dup(fx.fds[FD_SEG1]);
	close(bad);
	memcpy(extra, fx.fds, sizeof(fx.fds));
	extra[FD_SEG1] = bad;
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, extra, NFDS), -EBADF);
	ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fx.fds, NFDS), 0);
	vlink_linkmem_unmap(&m);

	/* memory someone else mapped has no files to compare */
	pool = mmap(NULL, SEG, PROT_READ | PROT_WRITE, MAP_SHARED, fx.fds[FD_SEG0], 0);
	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fx.fds[FD_REGION], 0);
	ck_assert_ptr_ne(pool, MAP_FAILED);
	ck_assert_ptr_ne(region, MAP_FAILED);
	memcpy(e.name, "l1", 2);
	e.nchannels = 1;
	e.ring_size = RING;
	e.ring_stride = vlink_ring_stride(RING);
	e.buf_size = 2048;
	e.buf_offset = 0;
	e.buf_area = 64 * 2048;
	e.hdr_offset = HDR;
	((struct vlink_link_hdr *)((uint8_t *)region + HDR))->nchannels = 1;
	((struct vlink_link_hdr *)((uint8_t *)region + HDR))->ring_size = RING;
	((struct vlink_link_hdr *)((uint8_t *)region + HDR))->buf_size = 2048;
	((struct vlink_link_hdr *)((uint8_t *)region + HDR))->buf_area = 64 * 2048;
	((struct vlink_link_hdr *)((uint8_t *)region + HDR))->buf_offset = 0;
	ck_assert_msg(vlink_linkmem_from_bars(&bars, pool, SEG, region, REGION, &e, "d", false,
					      why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(vlink_linkmem_same_files(&bars, &fx.map, fx.fds, NFDS), -EINVAL);
	vlink_linkmem_unmap(&bars);
	munmap(pool, SEG);
	munmap(region, REGION);
}
END_TEST

/* many comparisons leave no fd and no mapping behind (teardown counts fds) */
START_TEST(test_no_leak)
{
	struct vlink_linkmem m;
	int other = make_memfd(SEG);

	for (int round = 0; round < 50; round++) {
		int fds[NFDS] = { fx.fds[0], round % 2 ? other : fx.fds[1], fx.fds[2] };

		map(&m);
		ck_assert_int_eq(vlink_linkmem_same_files(&m, &fx.map, fds, NFDS),
				 round % 2 ? -ESTALE : 0);
		vlink_linkmem_unmap(&m);
	}
	close(other);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("linkmem");
	TCase *tc = tcase_create("same_files");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_same);
	tcase_add_test(tc, test_other_file);
	tcase_add_test(tc, test_other_offset);
	tcase_add_test(tc, test_other_layout);
	tcase_add_test(tc, test_bad_map);
	tcase_add_test(tc, test_no_leak);
	tcase_add_test(tc, test_layout_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
