/* Unit tests for libvlinkguest's guest mode (libvlinkguest/vlink_guest_pci.c)
 * and vlink_linkmem_from_bars(), on a fake pci-vlink device made of plain
 * files in a temporary directory: resource0 (registers), resource2 (the
 * pool), resource4 (a channel region this test lays out itself), plus
 * vendor, device and enable.  The test plays the host end on its own
 * mappings of the same files.  Also run under valgrind (no VM needed). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakedev.h"
#include "testutil.h"
#include "vlink_epoch.h"
#include "vlink_guest.h"
#include "vlink_linkmem.h"
#include "vlink_shm.h"

#define REG(name) FAKEDEV_REG(regs, name)

#define POOL (4u << 20)
#define REGION (64u << 10)
#define RING 64u
#define HDR0 8192u                  /* link 0's header */
#define HDR1 (HDR0 + 8192u)         /* link 1's */
#define BUF_AREA (RING * 4 * VLINK_BUF_SIZE)

static char *dir, dev[256];
static uint32_t *regs;              /* the test's view of resource0 */
static uint8_t *region, *pool;      /* ... of resource4 and resource2 */

static void write_file(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dev, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void *map_file(const char *name, size_t size)
{
	char p[512];
	int fd;
	void *m;

	snprintf(p, sizeof(p), "%s/%s", dev, name);
	fd = open(p, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	close(fd);
	return m;
}

static struct vlink_link_entry *entry(unsigned i)
{
	return &((struct vlink_region_hdr *)region)->links[i];
}

/* a link as vlinkd lays it out: table entry, then its header */
static void add_link(unsigned slot, const char *name, uint64_t hdr_off, uint64_t buf_off)
{
	struct vlink_region_hdr *h = (struct vlink_region_hdr *)region;
	struct vlink_link_entry *e = entry(slot);
	struct vlink_link_hdr *lh = (struct vlink_link_hdr *)(region + hdr_off);
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	memcpy(e->mac, mac, 6);
	e->mac[5] = (uint8_t)(slot + 1);
	e->nchannels = 1;
	e->ring_size = RING;
	e->buf_size = VLINK_BUF_SIZE;
	e->flags = VLINK_LINK_F_USED;
	e->ring_stride = vlink_ring_stride(RING);
	e->hdr_offset = hdr_off;
	e->buf_offset = buf_off;
	e->buf_area = BUF_AREA;
	memset(lh, 0, vlink_link_region_size(1, RING));
	lh->version = VLINK_SHM_VERSION;
	lh->nchannels = 1;
	lh->ring_size = RING;
	lh->buf_size = VLINK_BUF_SIZE;
	lh->ring_stride = vlink_ring_stride(RING);
	memcpy(lh->mac, e->mac, 6);
	lh->buf_offset = buf_off;
	lh->buf_area = BUF_AREA;
	for (int r = 0; r < 4; r++)
		((struct vlink_ring_hdr *)(region + hdr_off +
					   vlink_ring_offset(RING, 1, (enum vlink_ring_id)r)))->size = RING;
	lh->mtu = 1500;
	lh->magic = VLINK_LINK_MAGIC;
	h->nlinks++;
}

static void setup(void)
{
	struct vlink_region_hdr *h;

	dir = make_tmpdir();
	ck_assert_ptr_nonnull(dir);
	snprintf(dev, sizeof(dev), "%s/0000:00:04.0", dir);
	ck_assert_int_eq(mkdir(dev, 0755), 0);
	write_file("vendor", XSTR(VLINK_PCI_VENDOR_ID) "\n");
	write_file("device", XSTR(VLINK_PCI_DEVICE_ID) "\n");
	write_file("enable", "0\n");
	regs = map_file("resource0", 4096);
	pool = map_file("resource2", POOL);
	region = map_file("resource4", REGION);
	fakedev_regs(regs, POOL, REGION, "vm1");
	REG(CONNECTS) = 1;
	h = (struct vlink_region_hdr *)region;
	h->magic = VLINK_SHM_MAGIC;
	h->version = VLINK_SHM_VERSION;
	h->max_links = VLINK_MAX_LINKS;
	h->generation = 2;
	h->region_size = REGION;
	h->pool_size = POOL;
	snprintf(h->domain, sizeof(h->domain), "vm1");
	add_link(0, "L", HDR0, 0);
	add_link(1, "M", HDR1, 2u << 20);
}

static void teardown(void)
{
	munmap(regs, 4096);
	munmap(pool, POOL);
	munmap(region, REGION);
	rm_rf(dir);
	free(dir);
}

static struct vlink_link_hdr *lhdr(uint64_t off)
{
	return (struct vlink_link_hdr *)(region + off);
}

/* the host end of link L on the test's own mappings */
static void host_map(struct vlink_linkmem *m, unsigned slot)
{
	char why[256];
	struct vlink_link_entry e = *entry(slot);

	ck_assert_int_eq(vlink_linkmem_from_bars(m, pool, POOL, region, REGION, &e, "vm1", true,
						 why, sizeof(why)), 0);
}

START_TEST(open_echo_close)
{
	struct vlink_guest_link *l;
	struct vlink_linkmem h;
	struct vlink_guest_pkt p[4];
	struct vlink_desc d = { 0 };
	struct vlink_guest_stats st;
	uint32_t e;
	struct vlink_guest_dev di;
	char why[256], buf[8], path[512];
	int fds = count_fds();

	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 1000, why, sizeof(why)), 0);
	ck_assert_str_eq(vlink_guest_info(l)->name, "L");
	ck_assert_str_eq(vlink_guest_info(l)->domain, "vm1");
	ck_assert_str_eq(vlink_guest_info(l)->mac, "02:00:00:00:00:01");
	ck_assert_uint_eq(vlink_guest_info(l)->ring_size, RING);
	/* a new peer asks for a new epoch */
	ck_assert_uint_eq(lhdr(HDR0)->peer_state, VLINK_END_RESETTING);
	/* enabled */
	snprintf(path, sizeof(path), "%s/enable", dev);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_int_eq(buf[0], '1');
	ck_assert_int_eq(vlink_guest_dev_info(l, &di), 0);
	ck_assert_str_eq(di.addr, "0000:00:04.0");
	ck_assert_uint_eq(di.generation, 1);
	ck_assert_uint_eq(di.bar2_size, POOL);

	/* one packet host -> guest -> host (reflect) */
	host_map(&h, 0);
	ck_assert_int_eq(vlink_guest_wait_host(l, 0), -ETIMEDOUT);
	/* up, but in the epoch the peer found: its predecessor's */
	h.hdr->host_state = VLINK_END_UP;
	ck_assert_int_eq(vlink_guest_wait_host(l, 0), -ETIMEDOUT);
	ck_assert(!vlink_guest_host_up(l));
	e = vlink_epoch_host_begin(&h);
	ck_assert_int_eq(vlink_guest_wait_host(l, 0), -ETIMEDOUT);
	ck_assert_int_eq(vlink_epoch_host_wait(&h, e, 1000, NULL), 0);
	ck_assert_uint_eq(h.hdr->peer_ack_epoch, e);
	vlink_epoch_host_clear(&h);
	vlink_epoch_host_set(&h, VLINK_END_UP);
	ck_assert_int_eq(vlink_guest_wait_host(l, 1000), 0);
	ck_assert(vlink_guest_host_up(l));
	ck_assert_uint_eq(lhdr(HDR0)->peer_state, VLINK_END_UP);
	memcpy(pool + 5 * VLINK_BUF_SIZE + 16, "hello", 5);
	d.pool_offset = 5 * VLINK_BUF_SIZE;
	d.len = 5;
	d.data_off = 16;
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&h.ch[0].rx, &d, 1), 1);
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 4), 1);
	ck_assert_mem_eq(p[0].data, "hello", 5);
	ck_assert_uint_eq(p[0].buf, 5 * VLINK_BUF_SIZE);
	ck_assert_int_eq(vlink_guest_reflect(l, 1, p, 1), 1);
	memset(&d, 0, sizeof(d));
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&h.ch[0].tx, &d, 1), 1);
	ck_assert_uint_eq(d.pool_offset, 5 * VLINK_BUF_SIZE);
	ck_assert_uint_eq(d.len, 5);
	/* a descriptor outside the link's buffers is dropped, never touched */
	d.pool_offset = POOL - VLINK_BUF_SIZE;
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&h.ch[0].rx, &d, 1), 1);
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 4), 0);
	vlink_guest_stats(l, &st);
	ck_assert_uint_eq(st.bad_desc, 1);
	ck_assert_uint_eq(st.rx_pkts, 1);

	/* a reset while the guest holds a buffer: the first call after it
	 * acks and moves nothing; the old buffer handed back is dropped */
	d.pool_offset = 6 * VLINK_BUF_SIZE;
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&h.ch[0].rx, &d, 1), 1);
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 4), 1);
	e = vlink_epoch_host_begin(&h);
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, &p[1], 3), 0);
	ck_assert_int_eq(vlink_epoch_host_wait(&h, e, 1000, NULL), 0);
	ck_assert_int_eq(vlink_guest_reflect(l, 1, p, 1), 1); /* gone, not sent */
	vlink_epoch_host_clear(&h);
	vlink_epoch_host_set(&h, VLINK_END_UP);
	ck_assert_int_eq(vlink_guest_reflect(l, 1, p, 1), 1);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&h.ch[0].tx, &d, 1), 0);
	vlink_guest_stats(l, &st);
	ck_assert_uint_eq(st.stale, 2);
	ck_assert_uint_eq(st.resets, 1);
	ck_assert_uint_eq(st.tx_pkts, 1);
	/* the new epoch works */
	d.pool_offset = 7 * VLINK_BUF_SIZE;
	ck_assert_uint_eq(vlink_ring_enqueue_burst(&h.ch[0].rx, &d, 1), 1);
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 4), 1);
	ck_assert_uint_eq(p[0].epoch, e);
	ck_assert_int_eq(vlink_guest_reflect(l, 1, p, 1), 1);
	ck_assert_uint_eq(vlink_ring_dequeue_burst(&h.ch[0].tx, &d, 1), 1);
	ck_assert_uint_eq(d.pool_offset, 7 * VLINK_BUF_SIZE);

	/* a generation bump with nothing changed: 1, then 0 */
	ck_assert_int_eq(vlink_guest_poll(l), 0);
	REG(GENERATION) = 2;
	ck_assert_int_eq(vlink_guest_poll(l), 1);
	ck_assert_int_eq(vlink_guest_poll(l), 0);
	ck_assert_int_eq(vlink_guest_dev_info(l, &di), 0);
	ck_assert_uint_eq(di.seen_generation, 2);
	ck_assert_uint_eq(di.refreshes, 1);
	/* not mapped for a while: the data path waits without touching rings */
	REG(STATUS) = VLINK_DEV_STATUS_CONNECTED;
	ck_assert_int_eq(vlink_guest_poll(l), -EAGAIN);
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 4), 0);
	REG(STATUS) = VLINK_DEV_STATUS_CONNECTED | VLINK_DEV_STATUS_MAPPED;
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 4), 0);
	ck_assert_int_eq(vlink_guest_poll(l), 0);
	REG(STATUS) = VLINK_DEV_STATUS_CONNECTED;
	ck_assert_int_eq(vlink_guest_poll(l), -EAGAIN);
	REG(STATUS) = VLINK_DEV_STATUS_CONNECTED | VLINK_DEV_STATUS_MAPPED;
	REG(GENERATION) = 3;
	ck_assert_int_eq(vlink_guest_poll(l), 1);
	ck_assert_int_eq(vlink_guest_dev_info(l, &di), 0);
	ck_assert_uint_eq(di.refreshes, 2);

	vlink_guest_close(l);
	ck_assert_uint_eq(lhdr(HDR0)->peer_state, VLINK_END_DOWN);
	vlink_linkmem_unmap(&h);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(busy_and_observer)
{
	struct vlink_guest_link *a, *b, *o;
	struct vlink_guest_state s;
	struct vlink_guest_ring_state r[4];
	struct vlink_guest_pkt p[1];
	char why[256];

	ck_assert_int_eq(vlink_guest_open_pci(&a, dev, "L", 0, why, sizeof(why)), 0);
	ck_assert_int_eq(vlink_guest_open_pci(&b, "", "L", 0, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(vlink_guest_open_pci(&b, dev, "L", 0, why, sizeof(why)), -EBUSY);
	ck_assert_ptr_nonnull(strstr(why, "already open in this guest"));
	/* another link of the device is free */
	ck_assert_int_eq(vlink_guest_open_pci(&b, dir, "M", 0, why, sizeof(why)), 0);
	ck_assert_int_eq(vlink_guest_observe_pci(&o, dir, "L", 0, why, sizeof(why)), 0);
	vlink_guest_state(o, &s);
	ck_assert_uint_eq(s.peer_state, VLINK_END_RESETTING);
	ck_assert_int_eq(vlink_guest_ring_state(o, 1, r), 0);
	ck_assert_int_eq(vlink_guest_ring_state(o, 2, r), -EINVAL);
	ck_assert_int_eq(vlink_guest_rx_burst(o, 1, p, 1), -EPERM);
	vlink_guest_close(o);
	ck_assert_uint_eq(lhdr(HDR0)->peer_state, VLINK_END_RESETTING); /* untouched */
	vlink_guest_close(a);
	vlink_guest_close(b);
	ck_assert_int_eq(vlink_guest_open_pci(&a, dev, "L", 0, why, sizeof(why)), 0);
	vlink_guest_close(a);
}
END_TEST

/* The host end opens a new epoch for a peer that asked (l acks it). */
static void host_epoch(struct vlink_linkmem *h, struct vlink_guest_link *l)
{
	uint32_t e = vlink_epoch_host_begin(h);

	ck_assert_int_eq(vlink_guest_wait_host(l, 0), -ETIMEDOUT);
	ck_assert_int_eq(vlink_epoch_host_wait(h, e, 1000, NULL), 0);
	vlink_epoch_host_clear(h);
	vlink_epoch_host_set(h, VLINK_END_UP);
	ck_assert_int_eq(vlink_guest_wait_host(l, 1000), 0);
}

START_TEST(deleted_and_recreated)
{
	struct vlink_guest_link *l;
	struct vlink_linkmem h;
	struct vlink_guest_pkt p[8];
	struct vlink_desc d[8];
	char why[256];

	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), 0);
	host_map(&h, 0);
	host_epoch(&h, l);
	/* more than a burst of traffic (a burst of lag is allowed) */
	for (int round = 0; round < 25; round++) {
		for (int i = 0; i < 8; i++)
			d[i] = (struct vlink_desc){ .pool_offset = (uint64_t)i * VLINK_BUF_SIZE,
						    .len = 64 };
		ck_assert_uint_eq(vlink_ring_enqueue_burst(&h.ch[0].rx, d, 8), 8);
		ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 8), 8);
		ck_assert_int_eq(vlink_guest_free(l, 1, p, 8), 8);
		ck_assert_uint_eq(vlink_ring_dequeue_burst(&h.ch[0].done, d, 8), 8);
	}
	/* recreated in the same place: the rings start from 0 again */
	for (int r = 0; r < 4; r++) {
		struct vlink_ring_hdr *rh = (struct vlink_ring_hdr *)
			(region + HDR0 + vlink_ring_offset(RING, 1, (enum vlink_ring_id)r));

		rh->head = rh->tail = 0;
	}
	ck_assert_int_eq(vlink_guest_poll(l), 0); /* same generation: not looked at */
	REG(GENERATION)++;
	ck_assert_int_eq(vlink_guest_poll(l), -ESTALE);
	ck_assert_int_eq(vlink_guest_rx_burst(l, 1, p, 8), -ESTALE);
	ck_assert_int_eq(vlink_guest_wait_host(l, 0), -ESTALE);
	lhdr(HDR0)->peer_state = 7;
	vlink_guest_close(l); /* leaves a stale link's memory alone */
	ck_assert_uint_eq(lhdr(HDR0)->peer_state, 7);
	vlink_linkmem_unmap(&h);

	/* deleted: magic first (seen without a generation change) */
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), 0);
	lhdr(HDR0)->magic = 0;
	ck_assert_int_eq(vlink_guest_poll(l), -ENOLINK);
	ck_assert_int_eq(vlink_guest_tx_burst(l, 1, p, 1), -ENOLINK);
	vlink_guest_close(l);
	/* ... or gone from the table after a generation change */
	lhdr(HDR0)->magic = VLINK_LINK_MAGIC;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), 0);
	memset(entry(0), 0, sizeof(*entry(0)));
	REG(GENERATION)++;
	ck_assert_int_eq(vlink_guest_poll(l), -ENOLINK);
	vlink_guest_close(l);
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "no link named 'L' on 0000:00:04.0 (domain vm1"));
}
END_TEST

START_TEST(moved_link)
{
	struct vlink_guest_link *l;
	char why[256];

	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "M", 0, why, sizeof(why)), 0);
	entry(1)->buf_offset = 0; /* another layout under the same name */
	REG(GENERATION)++;
	ck_assert_int_eq(vlink_guest_poll(l), -ESTALE);
	vlink_guest_close(l);
}
END_TEST

/* every way the device or the table can be wrong is refused with a reason */
START_TEST(refusals)
{
	struct vlink_guest_link *l;
	struct vlink_link_entry save = *entry(0);
	char why[256];

	ck_assert_int_eq(vlink_guest_open_pci(&l, "zz", "L", 0, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(vlink_guest_open_pci(&l, "/nonexistent", "L", 0, why, sizeof(why)),
			 -ENODEV);
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "bad name", 0, why, sizeof(why)), -EINVAL);
	write_file("device", "0x1111\n");
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -ENODEV);
	ck_assert_int_eq(vlink_guest_open_pci(&l, dev, "L", 0, why, sizeof(why)), -ENODEV);
	ck_assert_ptr_nonnull(strstr(why, "is not a pci-vlink device"));
	write_file("device", "0x564c\n");

	REG(MAGIC) = 0x12345678;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EPROTO);
	REG(MAGIC) = VLINK_DEV_MAGIC;
	REG(STATUS) = VLINK_DEV_STATUS_CONNECTED;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 30, why, sizeof(why)), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(why, "not mapped after 30 ms"));
	REG(STATUS) = VLINK_DEV_STATUS_CONNECTED | VLINK_DEV_STATUS_MAPPED;
	REG(POOL_LO) = POOL * 2;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(why, "POOL_SIZE"));
	REG(POOL_LO) = POOL;
	REG(REGION_LO) = REGION * 2;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EPROTO);
	REG(REGION_LO) = REGION;
	((struct vlink_region_hdr *)region)->magic = 0;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EPROTO);
	((struct vlink_region_hdr *)region)->magic = VLINK_SHM_MAGIC;

	/* table entries that do not fit the BARs */
	entry(0)->ring_size = 100;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EINVAL);
	*entry(0) = save;
	entry(0)->ring_stride = 64;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EINVAL);
	*entry(0) = save;
	entry(0)->buf_offset = POOL - VLINK_BUF_SIZE;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EINVAL);
	*entry(0) = save;
	entry(0)->hdr_offset = REGION - 256;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "outside the channel region"));
	*entry(0) = save;
	entry(0)->hdr_offset = UINT64_MAX - 63;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EINVAL);
	*entry(0) = save;
	entry(0)->nchannels = 0;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EINVAL);
	*entry(0) = save;
	lhdr(HDR0)->magic = 0;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EPROTO);
	lhdr(HDR0)->magic = VLINK_LINK_MAGIC;
	lhdr(HDR0)->ring_size = 128;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(why, "disagree"));
	lhdr(HDR0)->ring_size = RING;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), 0);
	vlink_guest_close(l);
}
END_TEST

/* a link table the daemon never finishes writing: bounded, -EAGAIN */
START_TEST(table_stays_odd)
{
	struct vlink_guest_link *l;
	char why[256];

	((struct vlink_region_hdr *)region)->generation = 3;
	ck_assert_int_eq(vlink_guest_open_pci(&l, dir, "L", 0, why, sizeof(why)), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(why, "stayed busy"));
}
END_TEST

START_TEST(listing)
{
	struct vlink_guest_listed ls[4];
	struct vlink_guest_dev d[2];
	char why[256];

	lhdr(HDR1)->host_state = VLINK_END_UP;
	ck_assert_int_eq(vlink_guest_list_pci(dir, ls, 4, 0, why, sizeof(why)), 2);
	ck_assert_str_eq(ls[0].info.name, "L");
	ck_assert_str_eq(ls[1].info.name, "M");
	ck_assert_str_eq(ls[1].info.mac, "02:00:00:00:00:02");
	ck_assert_str_eq(ls[1].dev, "0000:00:04.0");
	ck_assert_uint_eq(ls[0].host_state, VLINK_END_DOWN);
	ck_assert_uint_eq(ls[1].host_state, VLINK_END_UP);
	ck_assert_int_eq(vlink_guest_list_pci(dir, ls, 1, 0, why, sizeof(why)), 2);
	ck_assert_int_eq(vlink_guest_list_devices(dir, d, 2, why, sizeof(why)), 1);
	ck_assert_str_eq(d[0].domain, "vm1");
	ck_assert_uint_eq(d[0].status, 3);
	ck_assert_uint_eq(d[0].pool_size, POOL);
	ck_assert_uint_eq(d[0].region_size, REGION);
	ck_assert_uint_eq(d[0].bar4_size, REGION);
	ck_assert_uint_eq(d[0].connects, 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("guest_pci");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, open_echo_close);
	tcase_add_test(t, busy_and_observer);
	tcase_add_test(t, deleted_and_recreated);
	tcase_add_test(t, moved_link);
	tcase_add_test(t, refusals);
	tcase_add_test(t, table_stays_odd);
	tcase_add_test(t, listing);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
