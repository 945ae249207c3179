/* A qtest client for the pci-vlink tests: speaks QEMU's qtest text protocol
 * over the socket of `-qtest unix:PATH,server=on,wait=off`, plays firmware
 * (PCI config space through ports 0xcf8/0xcfc) and reads the device's
 * BARs.  No guest code runs.  Each invocation is one connection; the BAR
 * addresses that `probe` assigned stay in the device's config space for the
 * next ones.
 *
 *   vlink-qtest QTEST_SOCKET probe
 *       find the pci-vlink device (vendor 0x1234, device 0x564c) on bus 0,
 *       print its ids, class and revision and the size and type of each
 *       BAR (sized by writing all-ones), assign addresses (the 32-bit BARs
 *       from 0xc0000000 up: BAR0 there, BAR1 (MSI-X) after it; the 64-bit
 *       BARs from 4 GiB up, largest first) and enable memory decoding.
 *   vlink-qtest QTEST_SOCKET regs
 *       print the BAR0 registers, one "name value" per line (not ISR:
 *       reading it clears it).
 *   vlink-qtest QTEST_SOCKET isr
 *       read ISR (which clears it and lowers INTx): "isr 0xN".
 *   vlink-qtest QTEST_SOCKET intx
 *       "intx 1" while the device asserts INTx (the PCI status register's
 *       interrupt bit), "intx 0" otherwise.
 *   vlink-qtest QTEST_SOCKET doorbell SLOT CHANNEL
 *       write VLINK_DOORBELL(SLOT, CHANNEL) to DOORBELL (32 bits).
 *   vlink-qtest QTEST_SOCKET msix on RAM_ADDR | off
 *       on: enable bus mastering, point every MSI-X vector v at guest RAM
 *       RAM_ADDR + 4 v with data VLINK_MSI_DATA(v), unmask them and enable
 *       MSI-X (under qtest an MSI is a write to memory); prints "msix on N
 *       vectors".  off: disable MSI-X (the device falls back to INTx).
 *   vlink-qtest QTEST_SOCKET fired RAM_ADDR [clear]
 *       "fired V..." : the vectors whose word at RAM_ADDR + 4 v holds their
 *       data (an MSI came), or "fired none"; clear: zero those words.
 *   vlink-qtest QTEST_SOCKET slot LINK
 *       the slot of LINK in the link table read through BAR4.
 *   vlink-qtest QTEST_SOCKET read BAR OFFSET LEN
 *       print LEN bytes at OFFSET of BAR (0, 2 or 4) as hex.
 *   vlink-qtest QTEST_SOCKET write BAR OFFSET HEX
 *       write the bytes HEX at OFFSET of BAR.
 *   vlink-qtest QTEST_SOCKET links
 *       read the channel region's header through BAR4 (retrying while its
 *       generation is odd or changes), print it and every link in the
 *       table, and check each link's header (magic, channels, ring size)
 *       and the size word of every ring header.
 *
 * Exit status: 0 done (and every check passed), 1 failure, 2 usage. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vlink_pci.h"
#include "vlink_shm.h"

#define BAR32_BASE       0xc0000000ull
#define BAR64_BASE       0x100000000ull
#define VLINK_MSI_DATA(v) (0x564c0000u | (v))   /* "VL" and the vector */
#define PCI_CAP_ID_MSIX  0x11

static FILE *qt_in, *qt_out;
static char *line;
static size_t line_cap;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vlink-qtest: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void qt_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int fd2;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect %s: %s", path, strerror(errno));
	fd2 = dup(fd);
	qt_in = fdopen(fd, "r");
	qt_out = fdopen(fd2, "w");
	if (!qt_in || !qt_out)
		die("fdopen: %s", strerror(errno));
}

/* Send one command and return the text after "OK" (maybe empty); async
 * lines ("IRQ ...") are skipped. */
static const char *qt_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *qt_cmd(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fprintf(qt_out, "%s\n", cmd);
	fflush(qt_out);
	for (;;) {
		n = getline(&line, &line_cap, qt_in);
		if (n <= 0)
			die("'%s': QEMU closed the qtest connection", cmd);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (!strncmp(line, "IRQ", 3))
			continue;
		if (!strcmp(line, "OK"))
			return "";
		if (!strncmp(line, "OK ", 3))
			return line + 3;
		die("'%s': %s", cmd, line);
	}
}

static uint64_t qt_num(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static uint64_t qt_num(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	const char *r;
	char *end;
	uint64_t v;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = qt_cmd("%s", cmd);
	errno = 0;
	v = strtoull(r, &end, 0);
	if (errno || end == r)
		die("'%s': unexpected answer '%s'", cmd, r);
	return v;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Guest-physical memory. */
static void mem_read(uint64_t addr, void *buf, size_t len)
{
	const char *r = qt_cmd("read 0x%" PRIx64 " %zu", addr, len);
	uint8_t *b = buf;

	if (strncmp(r, "0x", 2) || strlen(r + 2) != 2 * len)
		die("read 0x%" PRIx64 " %zu: unexpected answer of %zu characters", addr, len,
		    strlen(r));
	r += 2;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(r[2 * i]), lo = hexval(r[2 * i + 1]);

		if (hi < 0 || lo < 0)
			die("read: bad hex in the answer");
		b[i] = (uint8_t)(hi << 4 | lo);
	}
}

static uint32_t mem_readl(uint64_t addr)
{
	return (uint32_t)qt_num("readl 0x%" PRIx64, addr);
}

/* PCI configuration space, mechanism #1. */
static uint32_t cfg_addr(unsigned dev, unsigned reg)
{
	return 0x80000000u | (dev << 11) | (reg & 0xfc);
}

static uint32_t cfg_read(unsigned dev, unsigned reg)
{
	qt_cmd("outl 0xcf8 0x%x", cfg_addr(dev, reg));
	return (uint32_t)qt_num("inl 0xcfc");
}

static void cfg_write(unsigned dev, unsigned reg, uint32_t v)
{
	qt_cmd("outl 0xcf8 0x%x", cfg_addr(dev, reg));
	qt_cmd("outl 0xcfc 0x%x", v);
}

static unsigned find_device(void)
{
	for (unsigned dev = 0; dev < 32; dev++)
		if (cfg_read(dev, 0) == (VLINK_PCI_DEVICE_ID << 16 | VLINK_PCI_VENDOR_ID))
			return dev;
	die("no pci-vlink device (1234:564c) on bus 0");
}

/* The address of BAR `bar` as programmed (0: not assigned). */
static uint64_t bar_addr(unsigned dev, unsigned bar)
{
	uint32_t lo = cfg_read(dev, 0x10 + 4 * bar);
	uint64_t a = lo & ~0xfull;

	if ((lo & 0x6) == 0x4)
		a |= (uint64_t)cfg_read(dev, 0x14 + 4 * bar) << 32;
	return a;
}

static uint64_t need_bar(unsigned dev, unsigned bar)
{
	uint64_t a = bar_addr(dev, bar);

	if (!a)
		die("BAR%u is not assigned: run 'probe' first", bar);
	if (!(cfg_read(dev, 4) & 2))
		die("memory decoding is off: run 'probe' first");
	return a;
}

static int cmd_probe(void)
{
	unsigned dev = find_device();
	uint32_t id = cfg_read(dev, 0), cr = cfg_read(dev, 8);
	struct { unsigned bar; uint64_t size; bool is64; } bars[6];
	unsigned nb = 0;
	uint64_t next64 = BAR64_BASE, next32 = BAR32_BASE;

	printf("device 00:%02x.0 vendor 0x%04x device 0x%04x revision %u class 0x%04x\n", dev,
	       id & 0xffff, id >> 16, cr & 0xff, cr >> 16);
	for (unsigned b = 0; b < 6; b++) {
		unsigned reg = 0x10 + 4 * b;
		uint32_t orig = cfg_read(dev, reg), v;
		uint64_t mask;
		bool is64, pref;

		cfg_write(dev, reg, 0xffffffff);
		v = cfg_read(dev, reg);
		cfg_write(dev, reg, orig);
		if (!v) {
			printf("bar%u none\n", b);
			continue;
		}
		if (v & 1) {
			printf("bar%u io\n", b);
			continue;
		}
		is64 = (v & 0x6) == 0x4;
		pref = v & 0x8;
		mask = v & ~0xfull;
		if (is64) {
			uint32_t oh = cfg_read(dev, reg + 4), vh;

			cfg_write(dev, reg + 4, 0xffffffff);
			vh = cfg_read(dev, reg + 4);
			cfg_write(dev, reg + 4, oh);
			mask |= (uint64_t)vh << 32;
		} else {
			mask |= 0xffffffff00000000ull;
		}
		bars[nb].bar = b;
		bars[nb].size = ~mask + 1;
		bars[nb].is64 = is64;
		printf("bar%u size %" PRIu64 " %s%s\n", b, bars[nb].size, is64 ? "mem64" : "mem32",
		       pref ? " prefetchable" : "");
		nb++;
		if (is64) {
			printf("bar%u upper-half\n", b + 1);
			b++;
		}
	}
	/* 64-bit BARs: largest first, each aligned to its size */
	for (unsigned k = 0; k < nb; k++) {
		unsigned best = nb;

		for (unsigned i = 0; i < nb; i++)
			if (bars[i].is64 && bars[i].size &&
			    (best == nb || bars[i].size > bars[best].size))
				best = i;
		if (best == nb)
			break;
		next64 = (next64 + bars[best].size - 1) & ~(bars[best].size - 1);
		cfg_write(dev, 0x10 + 4 * bars[best].bar, (uint32_t)next64);
		cfg_write(dev, 0x14 + 4 * bars[best].bar, (uint32_t)(next64 >> 32));
		next64 += bars[best].size;
		bars[best].size = 0;    /* done */
	}
	/* 32-bit BARs in order, each aligned to its size */
	for (unsigned i = 0; i < nb; i++)
		if (!bars[i].is64) {
			next32 = (next32 + bars[i].size - 1) & ~(bars[i].size - 1);
			cfg_write(dev, 0x10 + 4 * bars[i].bar, (uint32_t)next32);
			next32 += bars[i].size;
		}
	cfg_write(dev, 4, cfg_read(dev, 4) | 0x2);  /* memory space enable */
	for (unsigned b = 0; b < 6; b++) {
		uint64_t a = bar_addr(dev, b);

		if (a)
			printf("bar%u address 0x%" PRIx64 "\n", b, a);
		if ((cfg_read(dev, 0x10 + 4 * b) & 0x7) == 0x4)
			b++;
	}
	printf("command 0x%04x\n", cfg_read(dev, 4) & 0xffff);
	return 0;
}

static int cmd_regs(void)
{
	unsigned dev = find_device();
	uint64_t a = need_bar(dev, VLINK_PCI_BAR_REGS);
	uint32_t st = mem_readl(a + VLINK_REG_STATUS);
	char dom[VLINK_REG_DOMAIN_LEN + 1] = { 0 };

	printf("magic 0x%08x\n", mem_readl(a + VLINK_REG_MAGIC));
	printf("version %u\n", mem_readl(a + VLINK_REG_VERSION));
	printf("status 0x%x%s%s%s\n", st, st & VLINK_DEV_STATUS_CONNECTED ? " connected" : "",
	       st & VLINK_DEV_STATUS_MAPPED ? " mapped" : "",
	       st & VLINK_DEV_STATUS_ERROR ? " error" : "");
	printf("generation %u\n", mem_readl(a + VLINK_REG_GENERATION));
	printf("vectors %u\n", mem_readl(a + VLINK_REG_VECTORS));
	printf("pool_size %" PRIu64 "\n", mem_readl(a + VLINK_REG_POOL_LO) |
	       (uint64_t)mem_readl(a + VLINK_REG_POOL_HI) << 32);
	printf("region_size %" PRIu64 "\n", mem_readl(a + VLINK_REG_REGION_LO) |
	       (uint64_t)mem_readl(a + VLINK_REG_REGION_HI) << 32);
	printf("nsegments %u\n", mem_readl(a + VLINK_REG_NSEGMENTS));
	printf("connects %u\n", mem_readl(a + VLINK_REG_CONNECTS));
	for (unsigned i = 0; i < VLINK_REG_DOMAIN_LEN; i += 4) {
		uint32_t w = mem_readl(a + VLINK_REG_DOMAIN + i);

		memcpy(dom + i, &w, 4);     /* little-endian host */
	}
	printf("domain %s\n", dom);
	/* reserved ones, and DOORBELL (write-only) */
	printf("reg_0x28 0x%x reg_0x64 0x%x reg_0x6c 0x%x reg_0xffc 0x%x\n", mem_readl(a + 0x28),
	       mem_readl(a + VLINK_REG_DOORBELL), mem_readl(a + VLINK_REG_END),
	       mem_readl(a + 0xffc));
	return 0;
}

static int cmd_isr(void)
{
	unsigned dev = find_device();
	uint64_t a = need_bar(dev, VLINK_PCI_BAR_REGS);

	printf("isr 0x%x\n", mem_readl(a + VLINK_REG_ISR));
	return 0;
}

static int cmd_intx(void)
{
	unsigned dev = find_device();

	/* status register (config 0x06) bit 3: the function's INTx is asserted */
	printf("intx %u\n", (cfg_read(dev, 4) >> 16 & 0x8) ? 1 : 0);
	return 0;
}

static uint64_t parse_u64(const char *s, const char *what);

static int cmd_doorbell(char **argv)
{
	unsigned dev = find_device();
	uint64_t a = need_bar(dev, VLINK_PCI_BAR_REGS);
	uint64_t slot = parse_u64(argv[0], "slot"), ch = parse_u64(argv[1], "channel");

	if (slot > 0xffff || ch > 0xffff)
		die("slot and channel are 16 bits each");
	qt_cmd("writel 0x%" PRIx64 " 0x%x", a + VLINK_REG_DOORBELL, VLINK_DOORBELL(slot, ch));
	printf("doorbell 0x%08x\n", VLINK_DOORBELL(slot, ch));
	return 0;
}

/* The MSI-X capability's offset in config space (0: none). */
static unsigned find_msix(unsigned dev)
{
	unsigned pos, n = 0;

	if (!(cfg_read(dev, 4) >> 16 & 0x10))         /* status: capability list */
		return 0;
	for (pos = cfg_read(dev, 0x34) & 0xfc; pos && n < 48; n++) {
		uint32_t w = cfg_read(dev, pos);

		if ((w & 0xff) == PCI_CAP_ID_MSIX)
			return pos;
		pos = (w >> 8) & 0xfc;
	}
	return 0;
}

/* The MSI-X table's address and the number of vectors. */
static uint64_t msix_table(unsigned dev, unsigned cap, unsigned *nvec)
{
	uint32_t tab = cfg_read(dev, cap + 4);

	*nvec = ((cfg_read(dev, cap) >> 16) & 0x7ff) + 1;
	return need_bar(dev, tab & 7) + (tab & ~7u);
}

static int cmd_msix(int argc, char **argv)
{
	unsigned dev = find_device(), cap = find_msix(dev), nvec;
	uint32_t ctl;
	uint64_t tab, ram;

	if (!cap)
		die("the device has no MSI-X capability");
	ctl = cfg_read(dev, cap);
	if (!strcmp(argv[0], "off")) {
		cfg_write(dev, cap, ctl & ~(0x8000u << 16));
		printf("msix off\n");
		return 0;
	}
	if (strcmp(argv[0], "on") || argc < 2)
		die("msix on RAM_ADDR | off");
	ram = parse_u64(argv[1], "RAM address");
	tab = msix_table(dev, cap, &nvec);
	cfg_write(dev, 4, cfg_read(dev, 4) | 0x4);        /* bus master: MSIs are DMA */
	for (unsigned v = 0; v < nvec; v++) {
		uint64_t e = tab + 16 * v, addr = ram + 4 * v;

		qt_cmd("writel 0x%" PRIx64 " 0x%x", e, (uint32_t)addr);
		qt_cmd("writel 0x%" PRIx64 " 0x%x", e + 4, (uint32_t)(addr >> 32));
		qt_cmd("writel 0x%" PRIx64 " 0x%x", e + 8, VLINK_MSI_DATA(v));
		qt_cmd("writel 0x%" PRIx64 " 0x0", e + 12);   /* unmasked */
	}
	/* enable, function mask clear */
	cfg_write(dev, cap, (ctl | 0x8000u << 16) & ~(0x4000u << 16));
	printf("msix on %u vectors\n", nvec);
	return 0;
}

static int cmd_fired(int argc, char **argv)
{
	unsigned dev = find_device(), cap = find_msix(dev), nvec, n = 0;
	uint64_t ram = parse_u64(argv[0], "RAM address");
	bool clear = argc > 1 && !strcmp(argv[1], "clear");
	uint32_t *w;

	if (!cap)
		die("the device has no MSI-X capability");
	msix_table(dev, cap, &nvec);
	w = calloc(nvec, sizeof(*w));
	if (!w)
		die("out of memory");
	mem_read(ram, w, 4 * nvec);                     /* little-endian host */
	printf("fired");
	for (unsigned v = 0; v < nvec; v++)
		if (w[v] == VLINK_MSI_DATA(v)) {
			printf(" %u", v);
			n++;
			if (clear)
				qt_cmd("writel 0x%" PRIx64 " 0x0", ram + 4 * v);
		}
	printf("%s\n", n ? "" : " none");
	free(w);
	return 0;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("bad %s '%s'", what, s);
	return v;
}

static uint64_t bar_arg(unsigned dev, const char *s)
{
	uint64_t b = parse_u64(s, "BAR");

	if (b != 0 && b != 2 && b != 4)
		die("BAR must be 0, 2 or 4");
	return need_bar(dev, (unsigned)b);
}

static int cmd_read(char **argv)
{
	unsigned dev = find_device();
	uint64_t a = bar_arg(dev, argv[0]), off = parse_u64(argv[1], "offset");
	uint64_t len = parse_u64(argv[2], "length");
	const char *r;

	if (!len || len > 1 << 20)
		die("length must be 1..1M");
	r = qt_cmd("read 0x%" PRIx64 " %" PRIu64, a + off, len);
	if (strncmp(r, "0x", 2))
		die("unexpected answer %s", r);
	printf("%s\n", r + 2);
	return 0;
}

static int cmd_write(char **argv)
{
	unsigned dev = find_device();
	uint64_t a = bar_arg(dev, argv[0]), off = parse_u64(argv[1], "offset");
	const char *hex = argv[2];
	size_t n = strlen(hex);

	if (!n || n % 2)
		die("HEX must be an even number of hex digits");
	for (size_t i = 0; i < n; i++)
		if (hexval(hex[i]) < 0)
			die("HEX must be hex digits");
	qt_cmd("write 0x%" PRIx64 " %zu 0x%s", a + off, n / 2, hex);
	printf("wrote %zu bytes at BAR%s offset 0x%" PRIx64 "\n", n / 2, argv[0], off);
	return 0;
}

/* The channel region's header through BAR4 (at BAR address a), read
 * under its sequence lock. */
static void read_region_hdr(uint64_t a, struct vlink_region_hdr *h)
{
	uint32_t g1, g2;
	int tries = 0;

	do {
		if (tries++ > 100)
			die("the region's generation never settled");
		g1 = mem_readl(a + offsetof(struct vlink_region_hdr, generation));
		if (g1 & 1)
			continue;
		mem_read(a, h, sizeof(*h));
		g2 = mem_readl(a + offsetof(struct vlink_region_hdr, generation));
	} while ((g1 & 1) || g1 != g2);
}

static int cmd_slot(const char *link)
{
	unsigned dev = find_device();
	static struct vlink_region_hdr h;

	read_region_hdr(need_bar(dev, VLINK_PCI_BAR_REGION), &h);
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++)
		if ((h.links[i].flags & VLINK_LINK_F_USED) &&
		    !strncmp(h.links[i].name, link, sizeof(h.links[i].name))) {
			printf("%u\n", i);
			return 0;
		}
	fprintf(stderr, "vlink-qtest: no link '%s' in the link table\n", link);
	return 1;
}

static int cmd_links(void)
{
	unsigned dev = find_device();
	uint64_t a = need_bar(dev, VLINK_PCI_BAR_REGION);
	static struct vlink_region_hdr h;
	int bad = 0;

	read_region_hdr(a, &h);
	h.domain[sizeof(h.domain) - 1] = 0;
	printf("region magic 0x%08x version %u generation %u nlinks %u region_size %" PRIu64
	       " pool_size %" PRIu64 " domain %s\n", h.magic, h.version, h.generation, h.nlinks,
	       h.region_size, h.pool_size, h.domain);
	if (h.magic != VLINK_SHM_MAGIC) {
		printf("bad region magic\n");
		return 1;
	}
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++) {
		struct vlink_link_entry *e = &h.links[i];
		struct vlink_link_hdr lh;
		unsigned ring_bad = 0;

		if (!(e->flags & VLINK_LINK_F_USED))
			continue;
		e->name[sizeof(e->name) - 1] = 0;
		mem_read(a + e->hdr_offset, &lh, sizeof(lh));
		for (uint32_t ch = 1; ch <= e->nchannels; ch++)
			for (unsigned r = 0; r < VLINK_RINGS_PER_CHAN; r++) {
				uint64_t o = e->hdr_offset +
					     vlink_ring_offset(e->ring_size, ch, (enum vlink_ring_id)r);

				if (mem_readl(a + o + offsetof(struct vlink_ring_hdr, size)) !=
				    e->ring_size)
					ring_bad++;
			}
		printf("link %s channels %u ring %u stride %u hdr 0x%" PRIx64 " buf 0x%" PRIx64
		       " area %" PRIu64 " magic %s channels-hdr %u ring-hdr %u rings %s\n", e->name,
		       e->nchannels, e->ring_size, e->ring_stride, e->hdr_offset, e->buf_offset,
		       e->buf_area, lh.magic == VLINK_LINK_MAGIC ? "ok" : "BAD", lh.nchannels,
		       lh.ring_size, ring_bad ? "BAD" : "ok");
		if (lh.magic != VLINK_LINK_MAGIC || lh.nchannels != e->nchannels ||
		    lh.ring_size != e->ring_size || ring_bad)
			bad = 1;
	}
	return bad;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: vlink-qtest QTEST_SOCKET probe|regs|links|isr|intx|"
			"read BAR OFF LEN|write BAR OFF HEX|doorbell SLOT CH|msix on ADDR|off|"
			"fired ADDR [clear]|slot LINK\n");
		return 2;
	}
	qt_connect(argv[1]);
	if (!strcmp(argv[2], "probe"))
		rc = cmd_probe();
	else if (!strcmp(argv[2], "regs"))
		rc = cmd_regs();
	else if (!strcmp(argv[2], "links"))
		rc = cmd_links();
	else if (!strcmp(argv[2], "read") && argc == 6)
		rc = cmd_read(argv + 3);
	else if (!strcmp(argv[2], "write") && argc == 6)
		rc = cmd_write(argv + 3);
	else if (!strcmp(argv[2], "isr"))
		rc = cmd_isr();
	else if (!strcmp(argv[2], "intx"))
		rc = cmd_intx();
	else if (!strcmp(argv[2], "doorbell") && argc == 5)
		rc = cmd_doorbell(argv + 3);
	else if (!strcmp(argv[2], "msix") && argc >= 4)
		rc = cmd_msix(argc - 3, argv + 3);
	else if (!strcmp(argv[2], "fired") && argc >= 4)
		rc = cmd_fired(argc - 3, argv + 3);
	else if (!strcmp(argv[2], "slot") && argc == 4)
		rc = cmd_slot(argv[3]);
	else {
		fprintf(stderr, "vlink-qtest: unknown command or wrong arguments: %s\n", argv[2]);
		return 2;
	}
	fclose(qt_out);
	fclose(qt_in);
	free(line);
	return rc;
}
