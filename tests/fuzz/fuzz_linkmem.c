/* libFuzzer target: the link layout check both modes share
 * (proto/vlink_linkmem.c): vlink_linkmem_map() on a LinkMap in socket
 * mode, vlink_linkmem_from_bars() on a link table entry in guest mode.
 *
 * The memory: a pool of two 2 MiB memfd segments (socket mode) or one 4
 * MiB anonymous mapping (guest mode), and one 64 KiB channel region memfd
 * both modes use.  Each input starts from a valid link "L" (its header
 * written in the region), then changes any field of its layout, the same
 * way in the LinkLayout and in the table entry, or of its link header, or
 * (socket mode only) moves a ring of the LinkLayout or changes its count
 * of channel layouts (fuzz.h, LINKMEM_F_*); then both modes take the link.
 *
 * Checked:
 *  - each mode either refuses with a reason and leaves nothing mapped, or
 *    gives a link whose header and rings lie inside the channel region,
 *    whose buffers lie inside the pool, and whose sizes are the header's;
 *  - the two modes give the same answer (0, or the same errno) for the
 *    same layout: one check, not two;
 *  - no fd is left open. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "testutil.h"
#include "vlink.pb-c.h"
#include "vlink_linkmem.h"
#include "vlink_shm.h"

#define SEG    (2u << 20)
#define POOL   (2 * SEG)
#define REGION (64u << 10)
#define HDR    8192u

enum { FD_SEG0, FD_SEG1, FD_REGION, NFDS };

static int fds[NFDS] = { -1, -1, -1 };
static uint8_t *region;          /* the harness's own mapping of the region */
static void *guest_pool;         /* guest mode's pool: one mapping */

static int make_memfd(uint64_t size)
{
	int fd = memfd_create("fuzz_linkmem", MFD_CLOEXEC);

	FZ_ASSERT(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "memfd");
	return fd;
}

static void setup_once(void)
{
	fds[FD_SEG0] = make_memfd(SEG);
	fds[FD_SEG1] = make_memfd(SEG);
	fds[FD_REGION] = make_memfd(REGION);
	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fds[FD_REGION], 0);
	guest_pool = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	FZ_ASSERT(region != MAP_FAILED && guest_pool != MAP_FAILED, "mmap");
}

/* the layout both modes are given */
struct lay {
	uint64_t nch, ring, stride, buf_size, hdr_offset, buf_offset, buf_area;
};

static uint64_t value(struct fz *f)
{
	static const uint64_t edge[] = {
		0, 1, 2, 63, 64, 128, 2048, 4096, HDR, REGION - 256, REGION, SEG, POOL,
		UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX, UINT64_MAX - 255,
		VLINK_NCHANNELS_MAX, VLINK_NCHANNELS_MAX + 1, 16384, 32768,
	};

	switch (fz_u8(f) % 3) {
	case 0: return fz_u64(f);
	case 1: return fz_u8(f);
	default: return edge[fz_u8(f) % (sizeof(edge) / sizeof(edge[0]))];
	}
}

/* Is p..p+len inside the region mapping `base` of `size` bytes? */
static bool inside(const void *p, uint64_t len, const uint8_t *base, uint64_t size)
{
	const uint8_t *q = p;

	return q >= base && (uint64_t)(q - base) <= size && len <= size - (uint64_t)(q - base);
}

static void check_link(const struct vlink_linkmem *m, const char *mode)
{
	FZ_ASSERT(inside(m->hdr, VLINK_LINK_HDR_SIZE, m->region, m->region_size),
		  "%s: header outside the region", mode);
	FZ_ASSERT(m->nch >= 1 && m->nch <= VLINK_NCHANNELS_MAX && m->nch == m->hdr->nchannels,
		  "%s: %u channels, header %u", mode, m->nch, m->hdr->nchannels);
	FZ_ASSERT(m->ring_size >= 64 && !(m->ring_size & (m->ring_size - 1)) &&
		  m->ring_size == m->hdr->ring_size, "%s: ring %u", mode, m->ring_size);
	FZ_ASSERT(m->buf_size == m->hdr->buf_size && m->buf_offset <= POOL &&
		  m->buf_area <= POOL - m->buf_offset && m->buf_area % m->buf_size == 0,
		  "%s: buffers %llu + %llu", mode, (unsigned long long)m->buf_offset,
		  (unsigned long long)m->buf_area);
	for (unsigned i = 0; i < m->nch; i++) {
		const struct vlink_ring *r[4] = { &m->ch[i].rx, &m->ch[i].done, &m->ch[i].fill,
						  &m->ch[i].tx };

		for (int k = 0; k < 4; k++)
			FZ_ASSERT(inside(r[k]->hdr, vlink_ring_stride(m->ring_size), m->region,
					 m->region_size) && r[k]->size == m->ring_size,
				  "%s: channel %u ring %d outside the region", mode, i + 1, k);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct lay y;
	struct vlink_link_hdr *h;
	Vlink__Segment seg[2], *segp[2];
	Vlink__ChannelRegion creg = VLINK__CHANNEL_REGION__INIT;
	Vlink__ChannelLayout chan[VLINK_NCHANNELS_MAX], *chanp[VLINK_NCHANNELS_MAX];
	Vlink__LinkLayout ly = VLINK__LINK_LAYOUT__INIT;
	Vlink__LinkMap lm = VLINK__LINK_MAP__INIT;
	struct vlink_link_entry e;
	struct vlink_linkmem ms, mg;
	bool socket_only = false;
	int64_t shift = 0;
	uint64_t nchan = 0;
	bool nchan_set = false;
	char why_s[256] = "", why_g[256] = "";
	int fd0, err_s, err_g;

	if (fds[0] < 0)
		setup_once();
	fd0 = count_fds();

	/* a valid link: 1-4 channels, ring 64-256, header at 8 KiB, 64
	 * buffers across both segments */
	y.nch = 1 + fz_u8(&f) % 4;
	y.ring = 64u << fz_u8(&f) % 3;
	y.stride = vlink_ring_stride((uint32_t)y.ring);
	y.buf_size = 2048;
	y.hdr_offset = HDR;
	y.buf_offset = SEG - 32 * 2048;
	y.buf_area = 64 * 2048;
	memset(region, 0, REGION);
	h = (struct vlink_link_hdr *)(region + HDR);
	h->magic = VLINK_LINK_MAGIC;
	h->version = VLINK_SHM_VERSION;
	h->nchannels = (uint32_t)y.nch;
	h->ring_size = (uint32_t)y.ring;
	h->buf_size = (uint32_t)y.buf_size;
	h->buf_offset = y.buf_offset;
	h->buf_area = y.buf_area;
	h->mtu = 1500;

	for (unsigned i = 0; f.n && i < 8; i++) {
		unsigned field = fz_u8(&f) % LINKMEM_F_N;
		uint64_t v = value(&f);

		switch (field) {
		case LINKMEM_F_NCH: y.nch = v; break;
		case LINKMEM_F_RING: y.ring = v; break;
		case LINKMEM_F_STRIDE: y.stride = v; break;
		case LINKMEM_F_BUF_SIZE: y.buf_size = v; break;
		case LINKMEM_F_HDR_OFFSET: y.hdr_offset = v; break;
		case LINKMEM_F_BUF_OFFSET: y.buf_offset = v; break;
		case LINKMEM_F_BUF_AREA: y.buf_area = v; break;
		case LINKMEM_F_HDR_NCH: h->nchannels = (uint32_t)v; break;
		case LINKMEM_F_HDR_RING: h->ring_size = (uint32_t)v; break;
		case LINKMEM_F_HDR_BUF_SIZE: h->buf_size = (uint32_t)v; break;
		case LINKMEM_F_HDR_BUF_OFFSET: h->buf_offset = v; break;
		case LINKMEM_F_HDR_MAGIC: h->magic = (uint32_t)v; break;
		case LINKMEM_F_CHAN_SHIFT: shift = (int64_t)(int8_t)v * 64; socket_only = true;
			break;
		default: nchan = v % (VLINK_NCHANNELS_MAX + 1); nchan_set = true;
			socket_only = true; break;
		}
	}
	/* the LinkMap and the table entry carry 32-bit sizes, the entry a
	 * 16-bit channel count: both modes get what fits both */
	y.nch = (uint16_t)y.nch;
	y.ring = (uint32_t)y.ring;
	y.stride = (uint32_t)y.stride;
	y.buf_size = (uint32_t)y.buf_size;

	/* socket mode: two segments, the region, the layout with its rings
	 * where vlink_shm.h puts them (or one moved) */
	for (int i = 0; i < 2; i++) {
		seg[i] = (Vlink__Segment)VLINK__SEGMENT__INIT;
		seg[i].fd_index = (uint32_t)(i ? FD_SEG1 : FD_SEG0);
		seg[i].pool_offset = (uint64_t)i * SEG;
		seg[i].size = SEG;
		seg[i].page_size = 4096;
		segp[i] = &seg[i];
	}
	creg.fd_index = FD_REGION;
	creg.size = REGION;
	if (!nchan_set)
		nchan = y.nch <= VLINK_NCHANNELS_MAX ? y.nch : VLINK_NCHANNELS_MAX;
	for (unsigned i = 0; i < nchan; i++) {
		uint64_t b = y.hdr_offset;
		uint32_t r = (uint32_t)y.ring;

		chan[i] = (Vlink__ChannelLayout)VLINK__CHANNEL_LAYOUT__INIT;
		chan[i].channel = i + 1;
		chan[i].rx = b + vlink_ring_offset(r, i + 1, VLINK_RING_RX);
		chan[i].done = b + vlink_ring_offset(r, i + 1, VLINK_RING_DONE);
		chan[i].fill = b + vlink_ring_offset(r, i + 1, VLINK_RING_FILL) +
			       (i == 0 ? (uint64_t)shift : 0);
		chan[i].tx = b + vlink_ring_offset(r, i + 1, VLINK_RING_TX);
		chanp[i] = &chan[i];
	}
	ly.name = "L";
	ly.mac = "02:00:00:00:00:01";
	ly.domain = "d";
	ly.nchannels = (uint32_t)y.nch;
	ly.ring_size = (uint32_t)y.ring;
	ly.ring_stride = (uint32_t)y.stride;
	ly.header_offset = y.hdr_offset;
	ly.buf_offset = y.buf_offset;
	ly.buf_area = y.buf_area;
	ly.buf_size = (uint32_t)y.buf_size;
	ly.n_channels = nchan;
	ly.channels = chanp;
	lm.domain = "d";
	lm.pool_size = POOL;
	lm.n_segments = 2;
	lm.segments = segp;
	lm.region = &creg;
	lm.link = &ly;
	lm.end = VLINK__END__END_PEER;
	memset(&ms, 0, sizeof(ms));
	err_s = vlink_linkmem_map(&ms, &lm, fds, NFDS, false, why_s, sizeof(why_s));

	/* guest mode: the same layout as a link table entry */
	memset(&e, 0, sizeof(e));
	memcpy(e.name, "L", 1);
	e.nchannels = (uint32_t)y.nch;
	e.ring_size = (uint32_t)y.ring;
	e.ring_stride = (uint32_t)y.stride;
	e.buf_size = (uint32_t)y.buf_size;
	e.hdr_offset = y.hdr_offset;
	e.buf_offset = y.buf_offset;
	e.buf_area = y.buf_area;
	e.flags = VLINK_LINK_F_USED;
	err_g = vlink_linkmem_from_bars(&mg, guest_pool, POOL, region, REGION, &e, "d", true,
					why_g, sizeof(why_g));

	if (err_s) {
		FZ_ASSERT(err_s < 0 && why_s[0], "socket mode refused (%d) without a reason", err_s);
		FZ_ASSERT(!ms.region && ms.nseg == 0, "socket mode refused and left a mapping");
	} else {
		check_link(&ms, "socket mode");
		vlink_linkmem_unmap(&ms);
	}
	if (err_g) {
		FZ_ASSERT(err_g < 0 && why_g[0], "guest mode refused (%d) without a reason", err_g);
	} else {
		check_link(&mg, "guest mode");
		vlink_linkmem_unmap(&mg);
	}
	FZ_ASSERT(socket_only || err_s == err_g,
		  "the modes disagree: socket mode %d (%s), guest mode %d (%s)", err_s, why_s,
		  err_g, why_g);
	FZ_ASSERT(count_fds() == fd0, "%d fds open, %d before the input", count_fds(), fd0);
	return 0;
}
