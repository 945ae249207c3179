/* A link's memory as one process sees it: the pool segments and channel
 * region of a LinkMap mapped, the translation index built, the layout
 * checked against what was mapped, and a ring handle per ring for one end
 * (host: producer of rx and fill, consumer of done and tx; peer: the
 * opposite).  Shared by libvlinkguest, the host-end test program and the
 * PMD, so that only the way memory is found differs between them; the
 * guest kernel driver (libvlinkguest/linux/) compiles vlink_linkmem.c too
 * (the checks and the guest's view of the link table: no libc), but not
 * vlink_linkmem_map.c (socket mode's files). */
#ifndef VLINK_LINKMEM_H
#define VLINK_LINKMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vlink_ring.h"
#include "vlink_shm.h"
#include "vlink_valid.h"
#include "vlink_xlate.h"

/* vlink.pb-c.h's, for socket mode's functions (not needed to use the rest) */
typedef struct Vlink__LinkMap Vlink__LinkMap;

struct vlink_linkmem_chan {
	struct vlink_ring rx, done, fill, tx;
};

struct vlink_linkmem {
	uint8_t *region;            /* channel region mapping */
	uint64_t region_size;
	struct vlink_link_hdr *hdr; /* this link's header (control channel) */
	uint64_t buf_offset;        /* the link's buffers in the pool */
	uint64_t buf_area;
	uint32_t buf_size;
	uint32_t ring_size;
	uint32_t mtu;               /* the link's MTU (link header): no end sends
				       more than mtu + VLINK_L2_OVERHEAD bytes */
	uint32_t host_epoch;        /* host end: the epoch it opened last
				       (vlink_epoch.h); its own copy, since the
				       peer can write the shared one */
	unsigned nch;               /* data channels; channel i is ch[i - 1] */
	struct vlink_linkmem_chan ch[VLINK_NCHANNELS_MAX];
	unsigned nseg;
	void *seg_map[VLINK_XLATE_MAX_SEGS];
	uint64_t seg_size[VLINK_XLATE_MAX_SEGS];
	struct vlink_xlate x;       /* pool offset <-> local address */
	/* vlink_linkmem_map: the files mapped, to know them again */
	struct vlink_linkmem_file {
		dev_t dev;
		ino_t ino;
		uint64_t pool_offset;   /* segments; 0 for the region */
		uint64_t size;
	} seg_file[VLINK_XLATE_MAX_SEGS], region_file;
	char name[VLINK_NAME_MAX + 1];
	char mac[VLINK_MAC_STRLEN];
	char domain[VLINK_NAME_MAX + 1];
	bool borrowed;              /* vlink_linkmem_from_bars: the mappings
				       are the caller's, unmap leaves them */
};

/* Map a LinkMap (its fds are not consumed: the mappings hold the memory,
 * the caller closes the fds).  The map is checked (vlink_msg_check_map),
 * then the link's layout by the check vlink_linkmem_from_bars makes too:
 * counts and sizes in range, the ring stride the ring size gives, the link
 * header and every ring inside the channel region, the buffers inside the
 * pool, no sum that wraps; the LinkLayout's ring offsets must be where
 * vlink_shm.h puts the rings, and the link header must say what the
 * layout says.  0 or a negative errno with why filled. */
int vlink_linkmem_map(struct vlink_linkmem *m, const Vlink__LinkMap *lm, const int *fds,
		      unsigned nfds, bool host, char *why, size_t n);
void vlink_linkmem_unmap(struct vlink_linkmem *m);

/* Does the LinkMap `lm` (with its fds; checked with vlink_msg_check_map
 * first) name exactly what `m` mapped: the same files (device and inode)
 * of the same sizes, every pool segment at the same pool offset, and the
 * same layout for the link (header, rings, buffers)?  For a daemon that
 * came back: then the mappings go on as they are.  0 when it does,
 * -ESTALE when not, -EINVAL for a bad LinkMap or a linkmem that was not
 * mapped from one (vlink_linkmem_from_bars), another negative errno if an
 * fd cannot be examined.  The fds stay the caller's. */
int vlink_linkmem_same_files(const struct vlink_linkmem *m, const Vlink__LinkMap *lm,
			     const int *fds, unsigned nfds);

/* The same for memory someone else has mapped already: a guest's pci-vlink
 * BAR2 (the domain's pool as one piece, pool offset == offset in the
 * mapping) and BAR4 (the channel region), and the link's entry from the
 * region's link table.  `e` must be a private copy of the entry (read
 * under the table's sequence lock), not the live one; pool_size and
 * region_size are how much of each mapping holds the pool and the region
 * (the device's POOL_SIZE and REGION_SIZE registers), pool_size a multiple
 * of 2 MiB.  The entry is checked as vlink_linkmem_map checks a LinkMap's
 * layout (one function does both).  `domain` (may be NULL) is
 * only copied into m->domain.  vlink_linkmem_unmap() then drops the index
 * and leaves the mappings to the caller (the guest kernel driver, without
 * vlink_linkmem_map.c: vlink_xlate_fini(&m->x)).  0 or a negative errno with why
 * filled. */
int vlink_linkmem_from_bars(struct vlink_linkmem *m, void *pool, uint64_t pool_size,
			    void *region, uint64_t region_size,
			    const struct vlink_link_entry *e, const char *domain, bool host,
			    char *why, size_t n);

/* Is `off` the start of one of this link's buffers? */
static inline bool vlink_linkmem_is_buf(const struct vlink_linkmem *m, uint64_t off)
{
	uint64_t rel = off - m->buf_offset;

	return off >= m->buf_offset && rel < m->buf_area && rel % m->buf_size == 0;
}

/* A descriptor the other end handed over (rx, fill; or done, tx for the
 * host, which also checks its ledger): the address of its data if it names
 * one of this link's buffers and the data lies inside that buffer, else
 * NULL: the descriptor is bad, to be counted and dropped untouched.  (On
 * fill, set len and flags to 0 first: the host leaves them undefined.) */
static inline uint8_t *vlink_linkmem_desc_data(const struct vlink_linkmem *m,
					       const struct vlink_desc *d)
{
	if (!vlink_linkmem_is_buf(m, d->pool_offset) ||
	    (uint64_t)d->data_off + d->len > m->buf_size)
		return NULL;
	return (uint8_t *)vlink_xlate_ptr(&m->x, d->pool_offset + d->data_off,
					  m->buf_size - d->data_off);
}

/* The guest's view of the link table (guest mode and the guest kernel
 * driver: BAR4 starts with the region header). */

/* One try at copying the region header with the link table under its
 * sequence lock: 0; -EAGAIN when vlinkd was changing it (try again in a
 * while: libvlinkguest every 100 us for up to 2 s); -EPROTO when the copy
 * has no vlink magic or another layout version. */
int vlink_table_copy(const struct vlink_region_hdr *live, struct vlink_region_hdr *h);
/* The entry in use named `name` in a copy of the table, or NULL. */
const struct vlink_link_entry *vlink_table_find(const struct vlink_region_hdr *h,
						const char *name);
/* Do two entries describe the same link memory (channels, rings, offsets,
 * buffers, MAC)? */
bool vlink_link_entry_same(const struct vlink_link_entry *a, const struct vlink_link_entry *b);
/* Are the indices this end publishes (rx and fill tails, done and tx heads
 * for a peer) still the ones it wrote, up to `lag` behind its private
 * ones (a thread between moving an index and publishing it)?  Only this
 * end writes them; after a link is recreated, or its memory lost and
 * reinitialised, they read 0. */
bool vlink_linkmem_indices_intact(const struct vlink_linkmem *m, uint32_t lag);

/* Internal to vlink_linkmem.c and vlink_linkmem_map.c: a link's layout as
 * either mode describes it (a LinkMap's LinkLayout in socket mode, the
 * link table's entry in guest mode), its one check against the memory it
 * is in (every field in range, the link header and every ring inside the
 * channel region, the buffers inside the pool, no sum that can wrap), and
 * taking this end of every ring of a checked layout (l->region mapped)
 * with the check of the link header there. */
struct vlink_layout {
	const char *name;
	uint32_t nch, ring_size, ring_stride, buf_size;
	uint64_t hdr_offset, buf_offset, buf_area;
};
int vlink_layout_check(const struct vlink_layout *y, uint64_t pool_size, uint64_t region_size,
		       char *why, size_t n);
int vlink_layout_attach(struct vlink_linkmem *l, const struct vlink_layout *y, bool host,
			char *why, size_t n);

#endif
