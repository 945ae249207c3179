/* libvlinkguest guest mode: the pci-vlink device through sysfs.
 *
 * The device (docs/pci-vlink.md): BAR0 registers, BAR2 the domain's pool
 * (pool offset == BAR offset), BAR4 the channel region with the link
 * table.  Everything here is about finding the memory and watching it;
 * once found, the link is a struct vlink_linkmem like in socket mode and
 * vlink_guest.c's data path runs unchanged. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vlink_error.h"
#include "vlink_guest.h"
#include "vlink_guest_int.h"
#include "vlink_linkmem.h"
#include "vlink_pci.h"

#define PCI_SYSFS "/sys/bus/pci/devices"
#define MAX_DEVS 16

/* vlink_guest.h's STATUS bits are the device's (vlink_pci.h) */
_Static_assert(VLINK_GUEST_DEV_CONNECTED == VLINK_DEV_STATUS_CONNECTED &&
	       VLINK_GUEST_DEV_MAPPED == VLINK_DEV_STATUS_MAPPED &&
	       VLINK_GUEST_DEV_ERROR == VLINK_DEV_STATUS_ERROR, "STATUS bits");
_Static_assert(sizeof(((struct vlink_guest_dev *)0)->domain) == VLINK_REG_DOMAIN_LEN + 1,
	       "vlink_guest_dev.domain holds DOMAIN");

/* how long a link table may stay odd (being written) before we give up */
#define TABLE_WAIT_MS 2000

struct vlink_guest_pci {
	char path[PATH_MAX];
	char addr[64];
	int fd0, fd2, fd4;
	const volatile uint32_t *regs;
	size_t regs_map;
	uint8_t *pool, *region;       /* whole BAR2 and BAR4 mappings */
	uint64_t bar2_size, bar4_size;
	uint64_t pool_size, region_size;
	char domain[VLINK_REG_DOMAIN_LEN + 1];
	uint32_t generation;          /* the one the link was last validated at */
	uint64_t refreshes;
	struct vlink_link_entry entry; /* the link as opened */
	uint32_t version;             /* VERSION: 1, or 2 with the doorbell and ISR */
	unsigned slot;                /* the link's index in the link table */
	/* event mode (docs/guest.md): the device bound to uio_pci_generic */
	int uio;                      /* /dev/uioN, or -1 */
	int cfg;                      /* its sysfs config space, or -1 */
	volatile uint32_t *bell;      /* BAR0 mapped writable, for DOORBELL */
	struct vlink_notify_dev ndev; /* doorbell, INTx through uio */
};

/* dst = a "/" b, or false if that does not fit */
static bool join(char *dst, size_t n, const char *a, const char *b)
{
	int k = snprintf(dst, n, "%s/%s", a, b);

	return k >= 0 && (size_t)k < n;
}

/* strlcpy */
static void copy(char *dst, size_t n, const char *src)
{
	size_t k = strnlen(src, n - 1);

	memcpy(dst, src, k);
	dst[k] = '\0';
}

static uint32_t reg(const struct vlink_guest_pci *p, unsigned off)
{
	/* one aligned 32-bit load: an MMIO read on the real device */
	return le32toh(p->regs[off / 4]);
}

static uint64_t reg64(const struct vlink_guest_pci *p, unsigned lo)
{
	return reg(p, lo) | (uint64_t)reg(p, lo + 4) << 32;
}

/* DOMAIN: 32 bytes, NUL padded, read a register at a time */
static void reg_domain(const struct vlink_guest_pci *p, char out[VLINK_REG_DOMAIN_LEN + 1])
{
	for (unsigned i = 0; i < VLINK_REG_DOMAIN_LEN / 4; i++) {
		uint32_t w = htole32(reg(p, VLINK_REG_DOMAIN + 4 * i));

		memcpy(out + 4 * i, &w, 4);
	}
	out[VLINK_REG_DOMAIN_LEN] = '\0';
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int read_file(const char *dir, const char *name, char *buf, size_t n)
{
	char p[PATH_MAX];
	ssize_t k;
	int fd;

	if (!join(p, sizeof(p), dir, name))
		return -ENAMETOOLONG;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = read(fd, buf, n - 1);
	close(fd);
	if (k < 0)
		return -errno;
	buf[k] = '\0';
	return 0;
}

static bool is_vlink_dev(const char *dir)
{
	char v[32], d[32];

	return read_file(dir, "vendor", v, sizeof(v)) == 0 &&
	       read_file(dir, "device", d, sizeof(d)) == 0 &&
	       strtoul(v, NULL, 16) == VLINK_PCI_VENDOR_ID &&
	       strtoul(d, NULL, 16) == VLINK_PCI_DEVICE_ID;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The device directories `dev` designates, sorted; returns how many (up to
 * MAX_DEVS) or a negative errno.  paths[] are malloc()ed. */
static int find_devices(const char *dev, char *paths[MAX_DEVS], char *why, size_t n)
{
	char dir[PATH_MAX], one[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int k = 0;

	if (dev && !strchr(dev, '/')) {
		/* a PCI address: 0000:00:04.0, or 00:04.0 in domain 0 */
		unsigned a, b, c, f;
		char tail;

		if (sscanf(dev, "%x:%x:%x.%x%c", &a, &b, &c, &f, &tail) == 4)
			snprintf(one, sizeof(one), PCI_SYSFS "/%04x:%02x:%02x.%x", a, b, c, f);
		else if (sscanf(dev, "%x:%x.%x%c", &b, &c, &f, &tail) == 3)
			snprintf(one, sizeof(one), PCI_SYSFS "/0000:%02x:%02x.%x", b, c, f);
		else
			return vlink_why(why, n, -EINVAL, "'%s' is not a PCI address "
					 "(DDDD:BB:SS.F) or a sysfs path", dev);
		dev = one;
	}
	snprintf(dir, sizeof(dir), "%s", dev ? dev : PCI_SYSFS);
	if (dev) {
		struct stat st;
		char v[PATH_MAX];

		if (join(v, sizeof(v), dir, "vendor") && stat(v, &st) == 0) {
			if (!is_vlink_dev(dir))
				return vlink_why(why, n, -ENODEV, "%s is not a pci-vlink device "
						 "(vendor %04x, device %04x)", dir,
						 VLINK_PCI_VENDOR_ID, VLINK_PCI_DEVICE_ID);
			paths[0] = strdup(dir);
			return paths[0] ? 1 : vlink_why(why, n, -ENOMEM, "out of memory");
		}
	}
	d = opendir(dir);
	if (!d)
		return vlink_why(why, n, errno == ENOENT ? -ENODEV : -errno, "%s: %s", dir,
				 strerror(errno));
	while ((e = readdir(d)) && k < MAX_DEVS) {
		char p[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		if (!join(p, sizeof(p), dir, e->d_name) || !is_vlink_dev(p))
			continue;
		paths[k] = strdup(p);
		if (!paths[k])
			break;
		k++;
	}
	closedir(d);
	if (k == 0)
		return vlink_why(why, n, -ENODEV, "no pci-vlink device (PCI %04x:%04x) in %s",
				 VLINK_PCI_VENDOR_ID, VLINK_PCI_DEVICE_ID, dir);
	qsort(paths, (size_t)k, sizeof(*paths), cmp_str);
	return k;
}

static void free_paths(char *paths[], int k)
{
	for (int i = 0; i < k; i++)
		free(paths[i]);
}

static void pci_unmap(struct vlink_guest_pci *p)
{
	if (p->bell)
		munmap((void *)p->bell, p->regs_map);
	if (p->uio >= 0)
		close(p->uio);
	if (p->cfg >= 0)
		close(p->cfg);
	if (p->regs)
		munmap((void *)p->regs, p->regs_map);
	if (p->pool)
		munmap(p->pool, p->bar2_size);
	if (p->region)
		munmap(p->region, p->bar4_size);
	if (p->fd0 >= 0)
		close(p->fd0);
	if (p->fd2 >= 0)
		close(p->fd2);
	if (p->fd4 >= 0)
		close(p->fd4);
	free(p);
}

static int open_res(struct vlink_guest_pci *p, int bar, int flags, uint64_t *size,
		    char *why, size_t n)
{
	char path[PATH_MAX + 16];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/resource%d", p->path, bar);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return vlink_why(why, n, -errno, "%s: %s%s", path, strerror(errno),
				 errno == EACCES || errno == EPERM ? " (guest mode needs root)" : "");
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return vlink_why(why, n, -ENODEV, "%s: no BAR %d", path, bar);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static void *map_res(int fd, uint64_t size, int prot, const char *what,
		     const struct vlink_guest_pci *p, int *err, char *why, size_t n)
{
	void *m = mmap(NULL, size, prot, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED) {
		*err = vlink_why(why, n, -errno, "%s: cannot map %s (%llu B): %s", p->path, what,
				 (unsigned long long)size, strerror(errno));
		return NULL;
	}
	return m;
}

/* Enable the device (memory decoding): write 1 to `enable` unless it
 * already reads non-zero (each write of 1 is one more enable count). */
static int enable(const char *dir, char *why, size_t n)
{
	char v[16], p[PATH_MAX];
	int fd;

	if (read_file(dir, "enable", v, sizeof(v)) == 0 && atoi(v) != 0)
		return 0;
	snprintf(p, sizeof(p), "%s/enable", dir);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return vlink_why(why, n, -e, "%s: cannot enable the device: %s", p, strerror(e));
	}
	close(fd);
	return 0;
}

/* The name of the kernel driver the device at `dir` is bound to, "" for
 * none. */
static const char *driver_of(const char *dir, char *out, size_t n)
{
	char link[PATH_MAX], buf[PATH_MAX + 16];
	ssize_t k;

	snprintf(buf, sizeof(buf), "%s/driver", dir);
	k = readlink(buf, link, sizeof(link) - 1);
	if (k < 0) {
		out[0] = '\0';
		return out;
	}
	link[k] = '\0';
	copy(out, n, strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	return out;
}

/* A handle on the device at `path` (its sysfs directory), enabled,
 * nothing mapped yet. */
static int pci_new(struct vlink_guest_pci **out, const char *path, char *why, size_t n)
{
	struct vlink_guest_pci *p = calloc(1, sizeof(*p));
	int err;

	*out = NULL;
	if (!p)
		return vlink_why(why, n, -ENOMEM, "out of memory");
	p->fd0 = p->fd2 = p->fd4 = p->uio = p->cfg = -1;
	snprintf(p->path, sizeof(p->path), "%s", path);
	snprintf(p->addr, sizeof(p->addr), "%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	err = enable(path, why, n);
	if (err) {
		pci_unmap(p);
		return err;
	}
	*out = p;
	return 0;
}

/* Map the registers, wait for MAPPED, map BAR2 (unless !pool) and BAR4. */
static int pci_open(struct vlink_guest_pci **out, const char *path, bool pool,
		    int timeout_ms, char *why, size_t n)
{
	struct vlink_guest_pci *p;
	struct timespec t0;
	char drvname[64];
	uint64_t size;
	uint32_t st;
	int err;

	*out = NULL;
	err = pci_new(&p, path, why, n);
	if (err)
		return err;
	p->fd0 = open_res(p, VLINK_PCI_BAR_REGS, O_RDONLY, &size, why, n);
	if (p->fd0 < 0) {
		err = p->fd0;
		goto fail;
	}
	if (size < VLINK_REG_END) {
		err = vlink_why(why, n, -ENODEV, "%s: BAR0 is %llu B, too small for the "
				"registers", path, (unsigned long long)size);
		goto fail;
	}
	p->regs_map = size < 4096 ? (size_t)size : 4096;
	p->regs = map_res(p->fd0, p->regs_map, PROT_READ, "BAR0", p, &err, why, n);
	if (!p->regs)
		goto fail;
	/* registers are only ever appended: a version 1 device has all but
	 * those of event mode */
	p->version = reg(p, VLINK_REG_VERSION);
	if (reg(p, VLINK_REG_MAGIC) != VLINK_DEV_MAGIC || p->version < 1 ||
	    p->version > VLINK_DEV_VERSION) {
		err = vlink_why(why, n, -EPROTO, "%s: registers say magic 0x%08x version %u "
				"(want 0x%08x version 1 to %u)", path, reg(p, VLINK_REG_MAGIC),
				p->version, VLINK_DEV_MAGIC, VLINK_DEV_VERSION);
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!((st = reg(p, VLINK_REG_STATUS)) & VLINK_GUEST_DEV_MAPPED)) {
		if (timeout_ms >= 0 && ms_since(&t0) >= timeout_ms) {
			err = vlink_why(why, n, -ETIMEDOUT, "%s: the device's memory is not "
					"mapped after %d ms (status 0x%x: %s%s)", path, timeout_ms,
					st, st & VLINK_GUEST_DEV_CONNECTED ? "connected to vlinkd" :
					"not connected to vlinkd",
					st & VLINK_GUEST_DEV_ERROR ? ", error" : "");
			goto fail;
		}
		usleep(10000);
	}
	/* the generation first: a change after this is seen by the next poll */
	p->generation = reg(p, VLINK_REG_GENERATION);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	p->pool_size = reg64(p, VLINK_REG_POOL_LO);
	p->region_size = reg64(p, VLINK_REG_REGION_LO);
	reg_domain(p, p->domain);
	/* the guest kernel driver maps the BARs write-back: a user-space
	 * mapping of them is refused (conflicting memory types) */
	if (!strcmp(driver_of(path, drvname, sizeof(drvname)), "vlink_net")) {
		err = vlink_why(why, n, -EBUSY, "%s is bound to vlink_net, the guest kernel "
				"driver: its links are network interfaces there (ip link); to "
				"use it from user space, unbind it first (echo %s > "
				"/sys/bus/pci/drivers/vlink_net/unbind)", path, p->addr);
		goto fail;
	}
	p->fd4 = open_res(p, VLINK_PCI_BAR_REGION, O_RDWR, &p->bar4_size, why, n);
	if (p->fd4 < 0) {
		err = p->fd4;
		goto fail;
	}
	if (p->region_size < VLINK_REGION_HDR_SIZE || p->region_size > p->bar4_size) {
		err = vlink_why(why, n, -EPROTO, "%s: REGION_SIZE %llu does not fit BAR4 "
				"(%llu B)", path, (unsigned long long)p->region_size,
				(unsigned long long)p->bar4_size);
		goto fail;
	}
	p->region = map_res(p->fd4, p->bar4_size, PROT_READ | PROT_WRITE, "BAR4", p, &err,
			    why, n);
	if (!p->region)
		goto fail;
	if (pool) {
		p->fd2 = open_res(p, VLINK_PCI_BAR_POOL, O_RDWR, &p->bar2_size, why, n);
		if (p->fd2 < 0) {
			err = p->fd2;
			goto fail;
		}
		if (p->pool_size == 0 || p->pool_size > p->bar2_size) {
			err = vlink_why(why, n, -EPROTO, "%s: POOL_SIZE %llu does not fit BAR2 "
					"(%llu B)", path, (unsigned long long)p->pool_size,
					(unsigned long long)p->bar2_size);
			goto fail;
		}
		p->pool = map_res(p->fd2, p->bar2_size, PROT_READ | PROT_WRITE, "BAR2", p,
				  &err, why, n);
		if (!p->pool)
			goto fail;
	}
	*out = p;
	return 0;

fail:
	pci_unmap(p);
	return err;
}

/* Copy the region header (with the link table) under its sequence lock. */
static int read_table(const struct vlink_guest_pci *p, struct vlink_region_hdr *h,
		      char *why, size_t n)
{
	const struct vlink_region_hdr *live = (const struct vlink_region_hdr *)p->region;
	struct timespec t0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((err = vlink_table_copy(live, h)) == -EAGAIN) {
		if (ms_since(&t0) >= TABLE_WAIT_MS)
			return vlink_why(why, n, -EAGAIN, "%s: the link table stayed busy for "
					 "%d ms (generation %u)", p->path, TABLE_WAIT_MS,
					 __atomic_load_n(&live->generation, __ATOMIC_RELAXED));
		usleep(100);
	}
	if (err)
		return vlink_why(why, n, err, "%s: the channel region (BAR4) has magic "
				 "0x%08x version %u, not a vlink region", p->path, h->magic,
				 h->version);
	return 0;
}

/* The devices a `dev` argument designates, one at a time, each mapped
 * and with its link table read: for opening a link and for listing them. */
struct dev_walk {
	char *paths[MAX_DEVS];
	int k, next;
	struct vlink_region_hdr *h; /* the table of the device walk_next gave last */
};

static int walk_start(struct dev_walk *w, const char *dev, char *why, size_t n)
{
	w->next = 0;
	w->h = malloc(sizeof(*w->h));
	if (!w->h)
		return vlink_why(why, n, -ENOMEM, "out of memory");
	w->k = find_devices(dev, w->paths, why, n);
	if (w->k < 0) {
		free(w->h);
		return w->k;
	}
	return 0;
}

/* The next device in *p (BAR2 mapped too if `pool`), its table in w->h:
 * 1, or 0 after the last device, or a negative errno (*p is NULL then). */
static int walk_next(struct dev_walk *w, struct vlink_guest_pci **p, bool pool,
		     int timeout_ms, char *why, size_t n)
{
	int err;

	*p = NULL;
	if (w->next == w->k)
		return 0;
	err = pci_open(p, w->paths[w->next++], pool, timeout_ms, why, n);
	if (err)
		return err;
	err = read_table(*p, w->h, why, n);
	if (err) {
		pci_unmap(*p);
		*p = NULL;
		return err;
	}
	return 1;
}

static void walk_end(struct dev_walk *w)
{
	free_paths(w->paths, w->k);
	free(w->h);
}

static void fill_info(struct vlink_guest_info *i, const struct vlink_link_entry *e,
		      const char *domain)
{
	char mac[VLINK_MAC_STRLEN];

	memset(i, 0, sizeof(*i));
	memcpy(i->name, e->name, VLINK_NAME_MAX);
	i->name[VLINK_NAME_MAX] = '\0';
	vlink_mac_format(e->mac, mac);
	snprintf(i->mac, sizeof(i->mac), "%s", mac);
	snprintf(i->domain, sizeof(i->domain), "%s", domain);
	i->nchannels = e->nchannels;
	i->ring_size = e->ring_size;
	i->buf_size = e->buf_size;
}

/* the domain: the DOMAIN register, or the region's if that is empty */
static const char *domain_of(const struct vlink_guest_pci *p, const struct vlink_region_hdr *h,
			     char buf[VLINK_SHM_NAME_LEN + 1])
{
	if (p->domain[0])
		return p->domain;
	snprintf(buf, VLINK_SHM_NAME_LEN + 1, "%.*s", VLINK_SHM_NAME_LEN, h->domain);
	return buf;
}

/* Event mode's doorbell: wake the host end of this link's channel ch (QEMU
 * signals its notifier; docs/pci-vlink.md "Interrupts and notifiers"). */
static void ev_doorbell(void *arg, unsigned ch)
{
	struct vlink_guest_pci *p = arg;

	p->bell[VLINK_REG_DOORBELL / 4] = htole32(VLINK_DOORBELL(p->slot, ch));
}

/* Before a sleep: read ISR (clears the causes, lowers INTx), then unmask
 * INTx: uio_pci_generic's handler masked it at the last interrupt (the
 * command register's INTx-disable bit) and has no irqcontrol, so the bit
 * is cleared through the config space, as DPDK does for UIO_INTX.  A
 * cause that comes after the ISR read raises INTx again. */
#define PCI_COMMAND_OFF 4
#define PCI_COMMAND_INTX_OFF 0x400
static void ev_arm(void *arg)
{
	struct vlink_guest_pci *p = arg;
	uint16_t cmd;

	(void)le32toh(p->bell[VLINK_REG_ISR / 4]);
	if (pread(p->cfg, &cmd, sizeof(cmd), PCI_COMMAND_OFF) != sizeof(cmd))
		return; /* nothing better to do: the sleep is bounded */
	cmd = le16toh(cmd);
	if (!(cmd & PCI_COMMAND_INTX_OFF))
		return;
	cmd = htole16(cmd & ~PCI_COMMAND_INTX_OFF);
	if (pwrite(p->cfg, &cmd, sizeof(cmd), PCI_COMMAND_OFF) != sizeof(cmd))
		return;
}

/* After: take the interrupt count (the uio fd is readable until then);
 * true if an interrupt came. */
static bool ev_disarm(void *arg)
{
	struct vlink_guest_pci *p = arg;
	uint32_t count;

	return read(p->uio, &count, sizeof(count)) == sizeof(count); /* EAGAIN: none */
}

/* The uio device of a pci-vlink bound to uio_pci_generic: /dev/uioN, or
 * -errno (-ENOTSUP when it is not bound to it). */
static int uio_open(const struct vlink_guest_pci *p)
{
	char drv[64], buf[PATH_MAX + 16], dev[64] = "";
	struct dirent *d;
	DIR *dir;
	int fd;

	if (strcmp(driver_of(p->path, drv, sizeof(drv)), "uio_pci_generic"))
		return -ENOTSUP;
	snprintf(buf, sizeof(buf), "%s/uio", p->path);
	dir = opendir(buf);
	if (!dir)
		return -errno;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "uio", 3) && strlen(d->d_name) < 32)
			snprintf(dev, sizeof(dev), "/dev/%s", d->d_name);
	closedir(dir);
	if (!dev[0])
		return -ENOENT;
	fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Event mode for an open peer end, when the device has it (VERSION 2) and
 * its interrupt reaches this process (uio_pci_generic: INTx, one for every
 * channel); otherwise the handle has no notifiers and its users poll. */
static void events_open(struct vlink_guest_link *l)
{
	struct vlink_guest_pci *p = l->pci;
	char cfg[PATH_MAX + 16];
	int fd0;

	if (p->version < 2)
		return;
	p->uio = uio_open(p);
	if (p->uio < 0)
		return;
	snprintf(cfg, sizeof(cfg), "%s/config", p->path);
	p->cfg = open(cfg, O_RDWR | O_CLOEXEC);
	fd0 = open_res(p, VLINK_PCI_BAR_REGS, O_RDWR, &(uint64_t){ 0 }, NULL, 0);
	if (fd0 >= 0) {
		void *m = mmap(NULL, p->regs_map, PROT_READ | PROT_WRITE, MAP_SHARED, fd0, 0);

		p->bell = m == MAP_FAILED ? NULL : m;
		close(fd0);
	}
	p->ndev = (struct vlink_notify_dev){ .doorbell = ev_doorbell, .arm = ev_arm,
					     .disarm = ev_disarm, .arg = p, .fd = p->uio };
	if (!p->bell || p->cfg < 0 || vlink_notify_init_dev(&l->notify, l->m.nch, &p->ndev)) {
		if (p->bell)
			munmap((void *)p->bell, p->regs_map);
		p->bell = NULL;
		if (p->cfg >= 0)
			close(p->cfg);
		p->cfg = -1;
		close(p->uio);
		p->uio = -1;
	}
}

static int open_pci(struct vlink_guest_link **out, const char *dev, const char *link,
		    int timeout_ms, bool observer, char *why, size_t n)
{
	char dom[VLINK_SHM_NAME_LEN + 1], seen[256] = "";
	struct dev_walk w;
	struct vlink_guest_link *l = NULL;
	struct vlink_guest_pci *p;
	const struct vlink_link_entry *e = NULL;
	int err;

	*out = NULL;
	err = vlink_check_name("link name", link, why, n);
	if (err)
		return err;
	err = walk_start(&w, dev, why, n);
	if (err)
		return err;
	while ((err = walk_next(&w, &p, true, timeout_ms, why, n)) > 0) {
		size_t len = strlen(seen);

		e = vlink_table_find(w.h, link);
		if (e)
			break;
		snprintf(seen + len, sizeof(seen) - len, "%s%s (domain %s, %u link(s))",
			 len ? ", " : "", p->addr, domain_of(p, w.h, dom), w.h->nlinks);
		pci_unmap(p);
	}
	if (!err)
		err = vlink_why(why, n, -ENOENT, "no link named '%s' on %s", link, seen);
	if (err < 0)
		goto fail; /* p is NULL */
	p->entry = *e;
	p->slot = (unsigned)(e - w.h->links);
	l = calloc(1, sizeof(*l));
	if (!l) {
		err = vlink_why(why, n, -ENOMEM, "out of memory");
		goto fail;
	}
	l->pci = p;
	l->observer = observer;
	if (!observer) {
		/* one peer end per link in this guest: a write lock on the
		 * link header's bytes of BAR4, dropped when the process goes */
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = (off_t)e->hdr_offset, .l_len = VLINK_LINK_HDR_SIZE };

		if (fcntl(p->fd4, F_OFD_SETLK, &fl) < 0) {
			err = errno == EAGAIN || errno == EACCES ?
			      vlink_why(why, n, -EBUSY, "link %s is already open in this guest "
					"(another process holds its peer end)", link) :
			      vlink_why(why, n, -errno, "%s: cannot lock link %s: %s", p->path,
					link, strerror(errno));
			goto fail;
		}
	}
	err = vlink_linkmem_from_bars(&l->m, p->pool, p->pool_size, p->region, p->region_size,
				      &p->entry, domain_of(p, w.h, dom), false, why, n);
	if (err)
		goto fail;
	walk_end(&w);
	fill_info(&l->info, &p->entry, l->m.domain);
	l->info.mtu = l->m.mtu;
	if (!observer) {
		vlink_epoch_peer_attach(&l->m, &l->ep);
		events_open(l);
	}
	*out = l;
	return 0;

fail:
	walk_end(&w);
	if (p)
		pci_unmap(p);
	free(l);
	return err;
}

int vlink_guest_open_pci(struct vlink_guest_link **out, const char *dev, const char *link,
			 int timeout_ms, char *why, size_t n)
{
	return open_pci(out, dev, link, timeout_ms, false, why, n);
}

int vlink_guest_observe_pci(struct vlink_guest_link **out, const char *dev,
			    const char *link, int timeout_ms, char *why, size_t n)
{
	return open_pci(out, dev, link, timeout_ms, true, why, n);
}

void vlink_guest_pci_close(struct vlink_guest_link *l)
{
	pci_unmap(l->pci);
	l->pci = NULL;
}

/* One poll at a time per handle (a thread that finds one running returns
 * what is known); the results go to l->dead and l->unmapped atomically. */
static int pci_poll(struct vlink_guest_link *l)
{
	struct vlink_guest_pci *p = l->pci;
	const struct vlink_link_entry *e;
	struct vlink_region_hdr *h;
	uint32_t gen, st;
	int dead = 0;

	st = reg(p, VLINK_REG_STATUS);
	if (!(st & VLINK_GUEST_DEV_MAPPED) || reg(p, VLINK_REG_MAGIC) != VLINK_DEV_MAGIC) {
		__atomic_store_n(&l->unmapped, true, __ATOMIC_RELAXED);
		return -EAGAIN;
	}
	gen = reg(p, VLINK_REG_GENERATION);
	if (gen == p->generation && !__atomic_load_n(&l->unmapped, __ATOMIC_RELAXED)) {
		/* cheap: the header is in BAR4 (memory, not registers) */
		if (__atomic_load_n(&l->m.hdr->magic, __ATOMIC_ACQUIRE) != VLINK_LINK_MAGIC)
			dead = -ENOLINK;
		goto out;
	}
	/* the generation moved (only after the new mapping was in place):
	 * read the table again */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	h = malloc(sizeof(*h));
	if (!h || read_table(p, h, NULL, 0)) {
		free(h);
		/* busy, or not ours right now: the data path waits, we retry */
		__atomic_store_n(&l->unmapped, true, __ATOMIC_RELAXED);
		return -EAGAIN;
	}
	__atomic_store_n(&l->unmapped, false, __ATOMIC_RELAXED);
	e = vlink_table_find(h, l->m.name);
	if (!e || __atomic_load_n(&l->m.hdr->magic, __ATOMIC_ACQUIRE) != VLINK_LINK_MAGIC)
		dead = -ENOLINK;
	else if (!vlink_link_entry_same(e, &p->entry) || !vlink_linkmem_indices_intact(&l->m, VLINK_GUEST_BURST_MAX) ||
		 reg64(p, VLINK_REG_POOL_LO) < l->m.buf_offset + l->m.buf_area ||
		 reg64(p, VLINK_REG_REGION_LO) < p->region_size)
		dead = -ESTALE;
	free(h);
	if (!dead) {
		if (gen == p->generation)
			return 0; /* back from unmapped, nothing else moved */
		p->generation = gen;
		p->refreshes++;
		return 1;
	}
out:
	if (dead)
		__atomic_store_n(&l->dead, dead, __ATOMIC_RELAXED);
	return dead;
}

int vlink_guest_pci_poll(struct vlink_guest_link *l)
{
	int dead = __atomic_load_n(&l->dead, __ATOMIC_RELAXED), r;

	if (dead)
		return dead;
	if (__atomic_exchange_n(&l->polling, true, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&l->unmapped, __ATOMIC_RELAXED) ? -EAGAIN : 0;
	r = pci_poll(l);
	__atomic_store_n(&l->polling, false, __ATOMIC_RELEASE);
	return r;
}

static void dev_regs(const struct vlink_guest_pci *p, struct vlink_guest_dev *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->addr, sizeof(d->addr), "%s", p->addr);
	copy(d->path, sizeof(d->path), p->path);
	d->version = reg(p, VLINK_REG_VERSION);
	d->status = reg(p, VLINK_REG_STATUS);
	d->generation = reg(p, VLINK_REG_GENERATION);
	d->connects = reg(p, VLINK_REG_CONNECTS);
	d->nsegments = reg(p, VLINK_REG_NSEGMENTS);
	d->pool_size = reg64(p, VLINK_REG_POOL_LO);
	d->region_size = reg64(p, VLINK_REG_REGION_LO);
	reg_domain(p, d->domain);
}

int vlink_guest_dev_info(const struct vlink_guest_link *l, struct vlink_guest_dev *d)
{
	if (!l->pci)
		return -ENOTSUP;
	dev_regs(l->pci, d);
	d->bar2_size = l->pci->bar2_size;
	d->bar4_size = l->pci->bar4_size;
	d->seen_generation = l->pci->generation;
	d->refreshes = l->pci->refreshes;
	return 0;
}

/* Registers only: BAR0 (and the sizes of resource2/4), no waiting. */
static int probe(const char *path, struct vlink_guest_dev *d, char *why, size_t n)
{
	struct vlink_guest_pci *p;
	char r[PATH_MAX + 16];
	struct stat st;
	uint64_t size = 0;
	int err = pci_new(&p, path, why, n);

	if (err)
		return err;
	p->fd0 = open_res(p, VLINK_PCI_BAR_REGS, O_RDONLY, &size, why, n);
	err = p->fd0 < 0 ? p->fd0 : 0;
	if (!err && size < VLINK_REG_END)
		err = vlink_why(why, n, -ENODEV, "%s: BAR0 too small", path);
	if (!err) {
		p->regs_map = size < 4096 ? (size_t)size : 4096;
		p->regs = map_res(p->fd0, p->regs_map, PROT_READ, "BAR0", p, &err, why, n);
	}
	if (!err) {
		dev_regs(p, d);
		snprintf(r, sizeof(r), "%s/resource%d", path, VLINK_PCI_BAR_POOL);
		d->bar2_size = stat(r, &st) == 0 ? (uint64_t)st.st_size : 0;
		snprintf(r, sizeof(r), "%s/resource%d", path, VLINK_PCI_BAR_REGION);
		d->bar4_size = stat(r, &st) == 0 ? (uint64_t)st.st_size : 0;
		if (reg(p, VLINK_REG_MAGIC) != VLINK_DEV_MAGIC)
			err = vlink_why(why, n, -EPROTO, "%s: bad magic 0x%08x", path,
					reg(p, VLINK_REG_MAGIC));
	}
	pci_unmap(p);
	return err;
}

int vlink_guest_list_devices(const char *dev, struct vlink_guest_dev *out, unsigned max,
			     char *why, size_t n)
{
	char *paths[MAX_DEVS];
	int k = find_devices(dev, paths, why, n), err = 0;

	if (k < 0)
		return k;
	for (int i = 0; i < k && !err; i++) {
		struct vlink_guest_dev d;

		err = probe(paths[i], &d, why, n);
		if (!err && (unsigned)i < max)
			out[i] = d;
	}
	free_paths(paths, k);
	return err ? err : k;
}

int vlink_guest_list_pci(const char *dev, struct vlink_guest_listed *out, unsigned max,
			 int timeout_ms, char *why, size_t n)
{
	char dom[VLINK_SHM_NAME_LEN + 1];
	struct vlink_guest_pci *p;
	struct dev_walk w;
	unsigned total = 0;
	int err = walk_start(&w, dev, why, n);

	if (err)
		return err;
	while ((err = walk_next(&w, &p, false, timeout_ms, why, n)) > 0) {
		for (unsigned j = 0; j < VLINK_MAX_LINKS; j++) {
			const struct vlink_link_entry *e = &w.h->links[j];
			struct vlink_guest_listed *o;
			const struct vlink_link_hdr *lh;

			if (!(e->flags & VLINK_LINK_F_USED))
				continue;
			if (total++ >= max)
				continue;
			o = &out[total - 1];
			fill_info(&o->info, e, domain_of(p, w.h, dom));
			snprintf(o->dev, sizeof(o->dev), "%s", p->addr);
			o->host_state = o->peer_state = VLINK_END_DOWN;
			if (e->hdr_offset % 64 == 0 && e->hdr_offset >= VLINK_REGION_HDR_SIZE &&
			    e->hdr_offset + VLINK_LINK_HDR_SIZE <= p->region_size) {
				lh = (const struct vlink_link_hdr *)(p->region + e->hdr_offset);
				o->host_state = __atomic_load_n(&lh->host_state, __ATOMIC_ACQUIRE);
				o->peer_state = __atomic_load_n(&lh->peer_state, __ATOMIC_ACQUIRE);
				o->info.mtu = lh->mtu;
			}
		}
		pci_unmap(p);
	}
	walk_end(&w);
	return err ? err : (int)total;
}
