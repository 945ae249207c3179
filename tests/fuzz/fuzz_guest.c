/* libFuzzer target: libvlinkguest in guest mode against a forged pci-vlink
 * device: the link table read and checked when a link is opened and on
 * every poll (libvlinkguest/vlink_guest_pci.c, vlink_linkmem_from_bars()),
 * and the data path's checks of the descriptors the host puts on rx and
 * fill (from_host() in libvlinkguest/vlink_guest.c).
 *
 * The device is plain files in a directory below /dev/shm, as in
 * tests/guest/check_guest_pci.c: resource0 (registers), resource2 (the
 * pool), resource4 (the channel region), vendor, device, enable.  Each
 * input lays out one valid link "L" (channels, ring and buffer area from
 * the input), then pokes any of the registers, region header, table entry
 * and link header fields (fuzz.h, GUEST_F_*), opens the link, and plays
 * the host: descriptors of any offset, length and data offset on rx and
 * fill, any ring index, more pokes with a generation bump before a poll.
 *
 * Checked:
 *  - an open either fails with a reason, or gives a link whose rings lie
 *    inside the channel region and whose buffers lie inside the pool;
 *  - every packet the data path hands out is one of the link's buffers,
 *    with data_off + len <= buf_size, room = buf_size - data_off, and its
 *    data pointer is where that buffer is in the pool file (bytes written
 *    through it are read back through the harness's own mapping);
 *  - a burst never returns more than asked;
 *  - no fd is left open after close. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "fakedev.h"
#include "testutil.h"
#include "vlink_epoch.h"
#include "vlink_guest.h"
#include "vlink_guest_int.h"
#include "vlink_ring.h"
#include "vlink_shm.h"

#define REG(name) FAKEDEV_REG(regs, name)

#define POOL    (2u << 20)
#define REGION  (256u << 10)
#define HELDMAX 256
#define BURST   VLINK_GUEST_BURST_MAX

static char dir[64], dev[96];
static bool trace;                     /* FUZZ_LOG=1: say what happened */
static uint32_t *regs;
static uint8_t *pool, *region;

/* one input's run */
static struct {
	struct vlink_guest_link *l;
	struct vlink_guest_pkt held[HELDMAX];
	unsigned nheld;
} g;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *name, const char *text)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dev, name);
	f = fopen(p, "we");
	FZ_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0, "%s: %s", p, strerror(errno));
}

static void *map_file(const char *name, size_t size)
{
	char p[160];
	void *m;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dev, name);
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	FZ_ASSERT(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "%s: %s", p, strerror(errno));
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FZ_ASSERT(m != MAP_FAILED, "mmap %s: %s", p, strerror(errno));
	close(fd);
	return m;
}

static void setup_once(void)
{
	snprintf(dir, sizeof(dir), "/dev/shm/vlink-fuzz-guest-XXXXXX");
	FZ_ASSERT(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	snprintf(dev, sizeof(dev), "%s/0000:00:04.0", dir);
	FZ_ASSERT(mkdir(dev, 0755) == 0, "mkdir: %s", strerror(errno));
	write_file("vendor", XSTR(VLINK_PCI_VENDOR_ID) "\n");
	write_file("device", XSTR(VLINK_PCI_DEVICE_ID) "\n");
	regs = map_file("resource0", 4096);
	pool = map_file("resource2", POOL);
	region = map_file("resource4", REGION);
}

static struct vlink_region_hdr *rhdr(void)
{
	return (struct vlink_region_hdr *)region;
}

/* ---- the device, as QEMU and vlinkd lay it out -------------------------- */

static void layout(struct fz *f)
{
	struct vlink_region_hdr *h = rhdr();
	struct vlink_link_entry *e = &h->links[fz_u8(f) % VLINK_MAX_LINKS];
	uint32_t nch = 1 + fz_u8(f) % 4, ring = 64u << fz_u8(f) % 3;
	uint64_t hdr_off = VLINK_REGION_HDR_SIZE + 4096u * (fz_u8(f) % 4);
	uint64_t area = (uint64_t)nch * ring * 4 * VLINK_BUF_SIZE;
	uint64_t buf_off = area < POOL ? (fz_u8(f) % (POOL / area)) * area : 0;
	struct vlink_link_hdr *lh = (struct vlink_link_hdr *)(region + hdr_off);
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

	write_file("enable", "0\n");
	memset(regs, 0, 4096);
	memset(region, 0, REGION);
	fakedev_regs(regs, POOL, REGION, "vm1");
	h->magic = VLINK_SHM_MAGIC;
	h->version = VLINK_SHM_VERSION;
	h->max_links = VLINK_MAX_LINKS;
	h->generation = 2;
	h->region_size = REGION;
	h->pool_size = POOL;
	h->nlinks = 1;
	snprintf(h->domain, sizeof(h->domain), "vm1");
	if (area > POOL) /* 4 channels of ring 256: fewer channels */
		nch = 1, area = (uint64_t)ring * 4 * VLINK_BUF_SIZE;
	snprintf(e->name, sizeof(e->name), "L");
	memcpy(e->mac, mac, 6);
	e->nchannels = (uint16_t)nch;
	e->ring_size = ring;
	e->buf_size = VLINK_BUF_SIZE;
	e->flags = VLINK_LINK_F_USED;
	e->ring_stride = vlink_ring_stride(ring);
	e->hdr_offset = hdr_off;
	e->buf_offset = buf_off;
	e->buf_area = area;
	lh->version = VLINK_SHM_VERSION;
	lh->nchannels = (uint16_t)nch;
	lh->ring_size = ring;
	lh->buf_size = VLINK_BUF_SIZE;
	lh->ring_stride = e->ring_stride;
	memcpy(lh->mac, mac, 6);
	lh->buf_offset = buf_off;
	lh->buf_area = area;
	lh->host_state = VLINK_END_UP;
	for (uint32_t c = 1; c <= nch; c++)
		for (int r = 0; r < 4; r++)
			((struct vlink_ring_hdr *)(region + hdr_off +
				vlink_ring_offset(ring, c, (enum vlink_ring_id)r)))->size = ring;
	lh->mtu = 1500;
	lh->magic = VLINK_LINK_MAGIC;
}

/* the entry of "L" (the first used one named L) and its header */
static struct vlink_link_entry *entry_l(void)
{
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++)
		if (!strcmp(rhdr()->links[i].name, "L"))
			return &rhdr()->links[i];
	return &rhdr()->links[0];
}

static uint8_t *lhdr_field(size_t off, size_t len)
{
	uint64_t h = entry_l()->hdr_offset;

	return h < REGION && REGION - h >= off + len ? region + h + off : NULL;
}

/* Change one field of what the device shows (GUEST_F_*). */
static void poke(struct fz *f)
{
	uint8_t what = fz_u8(f) % GUEST_F_N, mode = fz_u8(f);
	uint64_t v = mode & 1 ? fz_u64(f) : fz_u32(f);
	struct vlink_link_entry *e = entry_l();
	uint8_t *p = NULL;
	size_t len = 4;

#define AT(lv) (p = (uint8_t *)&(lv), len = sizeof(lv))
	switch (what) {
	case GUEST_F_REG_STATUS: AT(REG(STATUS)); break;
	case GUEST_F_REG_MAGIC: AT(REG(MAGIC)); break;
	case GUEST_F_REG_POOL: AT(REG(POOL_LO)); break;
	case GUEST_F_REG_REGION: AT(REG(REGION_LO)); break;
	case GUEST_F_REG_DOMAIN: AT(REG(DOMAIN)); break;
	case GUEST_F_MAGIC: AT(rhdr()->magic); break;
	case GUEST_F_VERSION: AT(rhdr()->version); break;
	case GUEST_F_NAME: AT(e->name[v % 4]); break;
	case GUEST_F_FLAGS: AT(e->flags); break;
	case GUEST_F_NCHANNELS: AT(e->nchannels); break;
	case GUEST_F_RING: AT(e->ring_size); break;
	case GUEST_F_BUF_SIZE: AT(e->buf_size); break;
	case GUEST_F_STRIDE: AT(e->ring_stride); break;
	case GUEST_F_HDR_OFFSET: AT(e->hdr_offset); break;
	case GUEST_F_BUF_OFFSET: AT(e->buf_offset); break;
	case GUEST_F_BUF_AREA: AT(e->buf_area); break;
	case GUEST_F_MAC: AT(e->mac[v % 6]); break;
	case GUEST_F_LHDR: {
		/* any 4 bytes of the link header (line 0: what the daemon wrote) */
		size_t off = (v >> 32) % (VLINK_LINK_HDR_SIZE / 4) * 4;

		p = lhdr_field(off, 4);
		len = 4;
		break;
	}
	default: {
		/* the size field of any ring header */
		const struct vlink_link_entry *x = entry_l();
		uint64_t at = vlink_ring_offset(x->ring_size, 1 + (uint32_t)(v >> 32) % 4,
						 (enum vlink_ring_id)((v >> 40) & 3));

		p = x->ring_size <= 16384 ? lhdr_field(at + offsetof(struct vlink_ring_hdr, size), 4) :
		    NULL;
		len = 4;
		break;
	}
	}
#undef AT
	if (!p)
		return;
	if (mode & 2) { /* a small change: off by a little */
		uint64_t cur = 0;

		memcpy(&cur, p, len);
		v = cur + (uint64_t)(int8_t)v;
	}
	memcpy(p, &v, len);
}

/* ---- checks --------------------------------------------------------------- */

static void check_linkmem(const struct vlink_linkmem *m)
{
	FZ_ASSERT(m->region_size <= REGION && m->buf_size > 0 && m->nch >= 1 &&
		  m->buf_offset <= POOL && m->buf_area <= POOL - m->buf_offset,
		  "opened a link outside the device: region %llu, buffers %llu+%llu of %u B",
		  (unsigned long long)m->region_size, (unsigned long long)m->buf_offset,
		  (unsigned long long)m->buf_area, m->buf_size);
	FZ_ASSERT((uint8_t *)m->hdr >= m->region &&
		  (uint64_t)((uint8_t *)m->hdr - m->region) + VLINK_LINK_HDR_SIZE <= m->region_size,
		  "link header outside the region");
	for (unsigned c = 0; c < m->nch; c++) {
		const struct vlink_ring *r[4] = { &m->ch[c].rx, &m->ch[c].done, &m->ch[c].fill,
						  &m->ch[c].tx };

		for (int k = 0; k < 4; k++) {
			uint64_t at = (uint64_t)((uint8_t *)r[k]->hdr - m->region);

			FZ_ASSERT((uint8_t *)r[k]->hdr >= m->region &&
				  at + VLINK_RING_HDR_SIZE + (uint64_t)r[k]->size * VLINK_DESC_SIZE <=
				  m->region_size, "channel %u ring %d (%u slots) at %llu is outside "
				  "a region of %llu", c + 1, k, r[k]->size, (unsigned long long)at,
				  (unsigned long long)m->region_size);
		}
	}
}

static void check_pkts(const struct vlink_guest_pkt *p, int got, unsigned n)
{
	const struct vlink_linkmem *m = &g.l->m;

	FZ_ASSERT(got <= (int)n, "a burst of %u returned %d", n, got);
	for (int i = 0; i < got; i++) {
		uint8_t *mine;

		FZ_ASSERT(vlink_linkmem_is_buf(m, p[i].buf) && p[i].buf + m->buf_size <= POOL &&
			  p[i].data_off <= m->buf_size &&
			  p[i].len <= m->buf_size - p[i].data_off &&
			  p[i].room == m->buf_size - p[i].data_off,
			  "packet {buf %#llx data_off %u len %u room %u} is not inside one of the "
			  "link's buffers", (unsigned long long)p[i].buf, p[i].data_off, p[i].len,
			  p[i].room);
		/* the bytes are where the buffer is in the pool file (a host may
		 * suggest a data_off at the buffer's end: no room, nothing to
		 * write) */
		mine = pool + p[i].buf + p[i].data_off;
		if (p[i].room) {
			memset(p[i].data, 0x5a, p[i].room);
			FZ_ASSERT(mine[0] == 0x5a && mine[p[i].room - 1] == 0x5a,
				  "packet data is not at its buffer");
			memset(mine, 0, p[i].room);
		}
		if (g.nheld < HELDMAX)
			g.held[g.nheld++] = p[i];
	}
}

/* ---- the host and the application ----------------------------------------- */

static unsigned chan(struct fz *f)
{
	return fz_u8(f) % (g.l->m.nch + 2); /* 0 and nch + 1 are refused */
}

/* the host puts descriptors on rx or fill, as it likes */
static void op_put(struct fz *f)
{
	unsigned c = chan(f), n = 1 + fz_u8(f) % 8;
	bool fill = fz_u8(f) & 1;
	const struct vlink_linkmem *m = &g.l->m;
	struct vlink_ring r;

	if (c < 1 || c > m->nch)
		return;
	r = fill ? m->ch[c - 1].fill : m->ch[c - 1].rx;
	for (unsigned i = 0; i < n; i++) {
		uint8_t kind = fz_u8(f);
		uint32_t a = fz_u32(f);
		struct vlink_desc *d = &r.desc[r.hdr->head & r.mask];

		d->pool_offset = kind & 1 ? m->buf_offset + (uint64_t)(a % (m->buf_area /
				 m->buf_size + 1)) * m->buf_size : (uint64_t)a << (kind >> 4);
		d->len = kind & 2 ? fz_u32(f) : fz_u16(f) % (VLINK_BUF_SIZE + 2);
		d->data_off = fz_u16(f);
		if (!(kind & 4))
			d->data_off %= VLINK_BUF_SIZE + 1;
		d->flags = kind & 8;
		__atomic_store_n(&r.hdr->head, r.hdr->head + 1, __ATOMIC_RELEASE);
	}
}

/* the host writes any index of any ring */
static void op_index(struct fz *f)
{
	unsigned c = chan(f);
	uint8_t which = fz_u8(f);
	uint32_t v = fz_u32(f);
	const struct vlink_linkmem *m = &g.l->m;
	const struct vlink_ring *r;

	if (c < 1 || c > m->nch)
		return;
	r = (const struct vlink_ring *[]){ &m->ch[c - 1].rx, &m->ch[c - 1].done,
					   &m->ch[c - 1].fill, &m->ch[c - 1].tx }[which & 3];
	if (which & 4)
		r->hdr->head = v;
	else
		r->hdr->tail = v;
}

static void op_take(struct fz *f, bool rx)
{
	struct vlink_guest_pkt p[BURST + 8];
	unsigned c = chan(f), n = fz_u8(f) % (BURST + 8);
	int got = rx ? vlink_guest_rx_burst(g.l, c, p, n) : vlink_guest_tx_alloc(g.l, c, p, n);

	if (trace)
		fprintf(stderr, "fuzz_guest: %s channel %u, %u: %d\n", rx ? "rx_burst" : "tx_alloc",
			c, n, got);
	if (got < 0) {
		FZ_ASSERT(got == -EINVAL || got == -ENOLINK || got == -ESTALE || got == -EPERM,
			  "%s on channel %u: %d", rx ? "rx_burst" : "tx_alloc", c, got);
		return;
	}
	check_pkts(p, got, n);
}

/* give held packets back: sent, freed or reflected */
static void op_give(struct fz *f)
{
	unsigned c = chan(f), n = fz_u8(f) % (g.nheld + 1), how = fz_u8(f) % 3;
	int sent;

	for (unsigned i = 0; i < n; i++)
		g.held[i].len = g.held[i].len <= g.held[i].room ? g.held[i].len : g.held[i].room;
	sent = how == 0 ? vlink_guest_tx_burst(g.l, c, g.held, n) :
	       how == 1 ? vlink_guest_free(g.l, c, g.held, n) :
			  vlink_guest_reflect(g.l, c, g.held, n);
	if (trace)
		fprintf(stderr, "fuzz_guest: give %u (%s) on channel %u: %d\n", n,
			how == 0 ? "tx" : how == 1 ? "free" : "reflect", c, sent);
	FZ_ASSERT(sent <= (int)n, "gave %d of %u", sent, n);
	if (sent > 0) {
		memmove(g.held, g.held + sent, (g.nheld - (unsigned)sent) * sizeof(g.held[0]));
		g.nheld -= (unsigned)sent;
	}
}

/* the device changes something and says so: a new generation, a poll */
static void op_poll(struct fz *f)
{
	int r;

	poke(f);
	if (fz_u8(f) & 1)
		REG(GENERATION)++;
	r = vlink_guest_poll(g.l);
	if (trace)
		fprintf(stderr, "fuzz_guest: poll: %d\n", r);
	FZ_ASSERT(r >= 0 || r == -EAGAIN || r == -ENOLINK || r == -ESTALE, "poll: %d", r);
	if (r >= 0 && !g.l->dead && !g.l->unmapped)
		check_linkmem(&g.l->m);
}

/* the host end opens a new epoch (what the peer then holds is void) and
 * goes up in it, or stays resetting for a while */
static void op_epoch(struct fz *f)
{
	vlink_epoch_host_begin(&g.l->m);
	if (fz_u8(f) & 1)
		vlink_epoch_host_set(&g.l->m, VLINK_END_UP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	char why[512] = "";
	unsigned npokes;
	uint8_t how;
	int fds, err;

	if (!dir[0]) {
		setup_once();
		trace = getenv("FUZZ_LOG") != NULL;
	}
	fds = count_fds();
	layout(&f);
	how = fz_u8(&f);
	npokes = how % 8;
	for (unsigned i = 0; i < npokes; i++)
		poke(&f);
	memset(&g, 0, sizeof(g));
	err = how & 0x80 ? vlink_guest_observe_pci(&g.l, dir, "L", 0, why, sizeof(why)) :
			   vlink_guest_open_pci(&g.l, dir, "L", 0, why, sizeof(why));
	if (trace)
		fprintf(stderr, "fuzz_guest: open: %d %s\n", err, why);
	if (err) {
		FZ_ASSERT(err < 0 && why[0] && !g.l, "open failed (%d) without a reason", err);
	} else {
		check_linkmem(&g.l->m);
		/* a new peer waits for a new epoch: the host opens one */
		if (!(how & 0x80)) {
			vlink_epoch_host_begin(&g.l->m);
			vlink_epoch_host_set(&g.l->m, VLINK_END_UP);
		}
		for (unsigned i = 0; f.n && i < 256; i++) {
			switch (fz_u8(&f) % GUEST_OP_N) {
			case GUEST_OP_PUT: op_put(&f); break;
			case GUEST_OP_INDEX: op_index(&f); break;
			case GUEST_OP_RX: op_take(&f, true); break;
			case GUEST_OP_ALLOC: op_take(&f, false); break;
			case GUEST_OP_GIVE: op_give(&f); break;
			case GUEST_OP_EPOCH: op_epoch(&f); break;
			default: op_poll(&f); break;
			}
		}
		vlink_guest_close(g.l);
	}
	FZ_ASSERT(count_fds() == fds, "%d fds open, %d before the input", count_fds(), fds);
	return 0;
}
