/* A link's memory as one process sees it: the pool segments and channel
 * region of a LinkMap mapped, the translation index built, the layout
 * checked against what was mapped, and a ring handle per ring for one end
 * (host: producer of rx and fill, consumer of done and tx; peer: the
 * opposite).  Shared by libvlinkguest, the host-end test program and the
 * PMD, so that only the way memory is found differs between them. */
#ifndef VLINK_LINKMEM_H
#define VLINK_LINKMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vlink.pb-c.h"
#include "vlink_ring.h"
#include "vlink_shm.h"
#include "vlink_valid.h"
#include "vlink_xlate.h"

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
 * and leaves the mappings to the caller.  0 or a negative errno with why
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

#endif
