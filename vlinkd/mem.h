/* Domain memory: the pool (hugetlbfs segment files, or /dev/shm files when
 * no hugepages are free) and the channel region file.  The daemon keeps one
 * fd per file open and passes it to clients; the files outlive the daemon so
 * that a restarted daemon reopens the same memory. */
#ifndef VLINKD_MEM_H
#define VLINKD_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_SEGMENTS 15          /* plus the region fd: 16 per frame */
#define MEM_POOL_MAX     (1ull << 30) /* the BAR limit */
#define MEM_POOL_DEFAULT (64ull << 20)
#define MEM_SEGMENT_DEFAULT (128ull << 20)

struct mem_opts {
	const char *run_dir;       /* hugetlbfs is mounted below it if needed */
	const char *shm_dir;       /* /dev/shm */
	const char *daemon_id;     /* makes file names private to one daemon */
	uint64_t segment_size;     /* wanted segment size */
	uint64_t page_size;        /* 0: 2 MiB, or 1 GiB where the pool allows */
	bool no_hugepages;         /* always use shm_dir */
};

struct mem_segment {
	uint64_t pool_offset;
	uint64_t size;
	char *path;
	int fd;
};

struct mem_pool {
	uint64_t size;
	uint64_t page_size;
	bool hugepages;
	unsigned nseg;
	struct mem_segment seg[MEM_MAX_SEGMENTS];
};

struct mem_region {
	char *path;
	int fd;
	uint64_t size;
	void *map;
};

/* Create the files of a new pool of `size` bytes for `domain`. */
int mem_pool_create(const struct mem_opts *o, const char *domain, uint64_t size,
		    struct mem_pool *p, char *why, size_t n);
/* Reopen the files of a pool described by state (paths and sizes set).
 * On failure none is left open. */
int mem_pool_open(struct mem_pool *p, char *why, size_t n);
void mem_pool_close(struct mem_pool *p);
/* Close and unlink the files. */
void mem_pool_destroy(struct mem_pool *p);

int mem_region_create(const struct mem_opts *o, const char *domain, uint64_t size,
		      struct mem_region *r, char *why, size_t n);
/* Reopen a region file (path and size set); a larger file is accepted and
 * r->size updated (the region never shrinks). */
int mem_region_open(struct mem_region *r, char *why, size_t n);
int mem_region_resize(struct mem_region *r, uint64_t size);
void mem_region_close(struct mem_region *r);
void mem_region_destroy(struct mem_region *r);

/* Directory for a domain's files: DIR/vlink-ID, created 0700. */
int mem_dir(const char *base, const char *daemon_id, char *out, size_t n);

#endif
