#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "log.h"
#include "vlink_error.h"
#include "mem.h"

#define HUGE_2M (2ull << 20)
#define HUGE_1G (1ull << 30)

static uint64_t roundup(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int mem_dir(const char *base, const char *daemon_id, char *out, size_t n)
{
	if ((size_t)snprintf(out, n, "%s/vlink-%s", base, daemon_id) >= n)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Domain names may hold any printable character; keep file names tame. */
static void encode_name(const char *s, char *out, size_t n)
{
	size_t k = 0;

	for (; *s && k + 4 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
			out[k++] = (char)c;
		else
			k += (size_t)snprintf(out + k, n - k, "%%%02X", c);
	}
	out[k] = '\0';
}

static uint64_t sysfs_u64(uint64_t page, const char *file)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/%s",
		 (unsigned long long)(page >> 10), file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static uint64_t free_hugepages(uint64_t page)
{
	uint64_t f = sysfs_u64(page, "free_hugepages");
	uint64_t r = sysfs_u64(page, "resv_hugepages");

	return f > r ? f - r : 0;
}

#define OWN_MOUNT "vlink-hugetlbfs" /* the source of the mounts we make */

/* A hugetlbfs mount with pages of `page` bytes: an existing one, or one we
 * mount under run_dir.  Not another vlinkd's own (under its run dir, gone
 * with it): two daemons on one host (a test's next to the system's) keep
 * their files apart. */
static int find_hugetlbfs(const struct mem_opts *o, uint64_t page, char *out, size_t n)
{
	char dev[256], dir[4096], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	size_t rl = strlen(o->run_dir);
	struct statfs sf;

	if (f) {
		while (fscanf(f, "%255s %4095s %63s %*s %*d %*d", dev, dir, type) == 3) {
			if (strcmp(type, "hugetlbfs") || statfs(dir, &sf) < 0 ||
			    (uint64_t)sf.f_bsize != page || access(dir, W_OK) < 0)
				continue;
			if (!strcmp(dev, OWN_MOUNT) &&
			    (strncmp(dir, o->run_dir, rl) || dir[rl] != '/'))
				continue;
			fclose(f);
			snprintf(out, n, "%s", dir);
			return 0;
		}
		fclose(f);
	}
	if ((size_t)snprintf(out, n, "%s/hugepages-%lluM", o->run_dir,
			     (unsigned long long)(page >> 20)) >= n)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (statfs(out, &sf) == 0 && sf.f_type == HUGETLBFS_MAGIC)
		return 0;
	snprintf(dev, sizeof(dev), "pagesize=%lluM", (unsigned long long)(page >> 20));
	if (mount(OWN_MOUNT, out, "hugetlbfs", MS_NOSUID | MS_NODEV, dev) < 0)
		return -errno;
	log_info("mounted hugetlbfs (%s) at %s", dev, out);
	return 0;
}

static int make_file(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	/* Reserve the memory now: failing here is better than SIGBUS later. */
	err = posix_fallocate(fd, 0, (off_t)size);
	if (err) {
		errno = err;
		goto fail;
	}
	return fd;
fail:
	err = -errno;
	close(fd);
	unlink(path);
	return err;
}

static void pool_clear(struct mem_pool *p, bool unlink_files)
{
	for (unsigned i = 0; i < p->nseg; i++) {
		if (p->seg[i].fd >= 0)
			close(p->seg[i].fd);
		if (unlink_files && p->seg[i].path)
			unlink(p->seg[i].path);
		free(p->seg[i].path);
		p->seg[i].path = NULL;
		p->seg[i].fd = -1;
	}
	p->nseg = 0;
}

static int pool_files(const struct mem_opts *o, const char *dir, const char *domain,
		      struct mem_pool *p)
{
	char enc[160], path[4096];
	uint64_t seg = roundup(o->segment_size ? o->segment_size : MEM_SEGMENT_DEFAULT,
			       p->page_size);
	uint64_t min = roundup((p->size + MEM_MAX_SEGMENTS - 1) / MEM_MAX_SEGMENTS,
			       p->page_size);

	if (seg < min)
		seg = min;
	encode_name(domain, enc, sizeof(enc));
	p->nseg = 0;
	for (uint64_t off = 0; off < p->size; off += seg) {
		struct mem_segment *s = &p->seg[p->nseg];
		uint64_t size = seg < p->size - off ? seg : p->size - off;
		int fd;

		snprintf(path, sizeof(path), "%s/%s.pool%u", dir, enc, p->nseg);
		fd = make_file(path, size);
		if (fd < 0) {
			pool_clear(p, true);
			return fd;
		}
		s->fd = fd;
		s->pool_offset = off;
		s->size = size;
		s->path = strdup(path);
		p->nseg++;
		if (!s->path) {
			pool_clear(p, true);
			return -ENOMEM;
		}
	}
	return 0;
}

int mem_pool_create(const struct mem_opts *o, const char *domain, uint64_t size,
		    struct mem_pool *p, char *why, size_t n)
{
	char mnt[4096], dir[4096];
	uint64_t page = o->page_size;
	int err = 0;

	memset(p, 0, sizeof(*p));
	if (size == 0 || size > MEM_POOL_MAX)
		return vlink_why(why, n, -EINVAL, "pool size %llu out of range (1 byte - 1 GiB, rounded up to pages)",
			   (unsigned long long)size);
	if (!o->no_hugepages) {
		if (!page)
			page = size % HUGE_1G == 0 && free_hugepages(HUGE_1G) >= size / HUGE_1G
				       ? HUGE_1G : HUGE_2M;
		p->size = roundup(size, page);
		p->page_size = page;
		p->hugepages = true;
		if (free_hugepages(page) < p->size / page) {
			log_warn("domain '%s': not enough free %llu MiB hugepages (need %llu, "
				 "%llu free): using %s (4 KiB pages, slower); reserve more with "
				 "'echo N > /proc/sys/vm/nr_hugepages'",
				 domain, (unsigned long long)(page >> 20),
				 (unsigned long long)(p->size / page),
				 (unsigned long long)free_hugepages(page), o->shm_dir);
		} else if ((err = find_hugetlbfs(o, page, mnt, sizeof(mnt))) < 0) {
			log_warn("domain '%s': no usable hugetlbfs mount (%s): using %s",
				 domain, strerror(-err), o->shm_dir);
		} else if ((err = mem_dir(mnt, o->daemon_id, dir, sizeof(dir))) < 0 ||
			   (err = pool_files(o, dir, domain, p)) < 0) {
			log_warn("domain '%s': cannot allocate hugepages in %s (%s): using %s",
				 domain, mnt, strerror(-err), o->shm_dir);
		} else {
			return 0;
		}
	}
	p->page_size = 4096;
	p->size = roundup(size, HUGE_2M);
	p->hugepages = false;
	err = mem_dir(o->shm_dir, o->daemon_id, dir, sizeof(dir));
	if (err < 0)
		return vlink_why(why, n, err, "cannot create %s/vlink-%s: %s", o->shm_dir,
			   o->daemon_id, strerror(-err));
	err = pool_files(o, dir, domain, p);
	if (err < 0)
		return vlink_why(why, n, err, "cannot allocate a %llu MiB pool in %s: %s",
			   (unsigned long long)(p->size >> 20), dir, strerror(-err));
	return 0;
}

/* Open an existing memory file of `*size` bytes; with `grow`, a larger
 * file is accepted too and *size updated. */
static int open_sized(const char *path, uint64_t *size, bool grow, char *why, size_t n)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return vlink_why(why, n, -errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < *size ||
	    (!grow && (uint64_t)st.st_size != *size)) {
		close(fd);
		return vlink_why(why, n, -EINVAL, "%s is not a %llu-byte file", path,
			   (unsigned long long)*size);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int mem_pool_open(struct mem_pool *p, char *why, size_t n)
{
	for (unsigned i = 0; i < p->nseg; i++) {
		int fd = open_sized(p->seg[i].path, &p->seg[i].size, false, why, n);

		if (fd < 0) {
			for (unsigned j = 0; j < i; j++) {
				close(p->seg[j].fd);
				p->seg[j].fd = -1;
			}
			return fd;
		}
		p->seg[i].fd = fd;
	}
	return 0;
}

void mem_pool_close(struct mem_pool *p)
{
	pool_clear(p, false);
}

void mem_pool_destroy(struct mem_pool *p)
{
	pool_clear(p, true);
}

static int region_map(struct mem_region *r)
{
	void *m = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);

	if (m == MAP_FAILED)
		return -errno;
	r->map = m;
	return 0;
}

int mem_region_create(const struct mem_opts *o, const char *domain, uint64_t size,
		      struct mem_region *r, char *why, size_t n)
{
	char dir[4096], enc[160], path[4096];
	int err;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	err = mem_dir(o->shm_dir, o->daemon_id, dir, sizeof(dir));
	if (err < 0)
		return vlink_why(why, n, err, "cannot create %s/vlink-%s: %s", o->shm_dir,
			   o->daemon_id, strerror(-err));
	encode_name(domain, enc, sizeof(enc));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.chan", dir, enc) >= sizeof(path))
		return vlink_why(why, n, -ENAMETOOLONG, "path of %s's channel region is too long",
			   domain);
	r->fd = make_file(path, size);
	if (r->fd < 0)
		return vlink_why(why, n, r->fd, "cannot create %s: %s", path, strerror(-r->fd));
	r->size = size;
	r->path = strdup(path);
	err = r->path ? region_map(r) : -ENOMEM;
	if (err < 0) {
		mem_region_destroy(r);
		return vlink_why(why, n, err, "cannot map %s: %s", path, strerror(-err));
	}
	return 0;
}

int mem_region_open(struct mem_region *r, char *why, size_t n)
{
	int err;

	r->map = NULL;
	/* the region only grows: a daemon that died after growing it and
	 * before saving its state left it larger, and a client may map that */
	r->fd = open_sized(r->path, &r->size, true, why, n);
	if (r->fd < 0)
		return r->fd;
	err = region_map(r);
	if (err < 0) {
		close(r->fd);
		r->fd = -1;
		return vlink_why(why, n, err, "cannot map %s: %s", r->path, strerror(-err));
	}
	return 0;
}

int mem_region_resize(struct mem_region *r, uint64_t size)
{
	void *m;

	if (size == r->size)
		return 0;
	if (size > r->size && posix_fallocate(r->fd, (off_t)r->size, (off_t)(size - r->size)))
		return -ENOSPC;
	if (ftruncate(r->fd, (off_t)size) < 0)
		return -errno;
	m = mremap(r->map, r->size, size, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		return -errno;
	r->map = m;
	r->size = size;
	return 0;
}

void mem_region_close(struct mem_region *r)
{
	if (r->map)
		munmap(r->map, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->map = NULL;
	r->fd = -1;
	free(r->path);
	r->path = NULL;
}

void mem_region_destroy(struct mem_region *r)
{
	if (r->path)
		unlink(r->path);
	mem_region_close(r);
}
