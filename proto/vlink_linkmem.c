#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vlink_error.h"
#include "vlink_linkmem.h"
#include "vlink_msg.h"

static int file_of(int fd, uint64_t pool_offset, uint64_t size, struct vlink_linkmem_file *f)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->pool_offset = pool_offset;
	f->size = size;
	return 0;
}

static void unmap_all(struct vlink_linkmem *l)
{
	for (unsigned i = 0; i < l->nseg && !l->borrowed; i++)
		munmap(l->seg_map[i], l->seg_size[i]);
	l->nseg = 0;
	if (l->region && !l->borrowed)
		munmap(l->region, l->region_size);
	l->region = NULL;
}

/* A link's layout as either mode describes it: a LinkMap's LinkLayout
 * (socket mode) or the region's link table entry (guest mode). */
struct layout {
	const char *name;
	uint32_t nch, ring_size, ring_stride, buf_size;
	uint64_t hdr_offset, buf_offset, buf_area;
};

/* The one check of a link's layout against the memory it is in, for both
 * modes: every field in range, the link header and every ring (where
 * vlink_shm.h puts them) inside the channel region, the buffers inside the
 * pool, no sum that can wrap. */
static int layout_check(const struct layout *y, uint64_t pool_size, uint64_t region_size,
			char *why, size_t n)
{
	uint64_t end;

	if (y->nch == 0 || y->nch > VLINK_NCHANNELS_MAX ||
	    y->ring_size < VLINK_RING_MIN || y->ring_size > VLINK_RING_MAX ||
	    (y->ring_size & (y->ring_size - 1)) ||
	    y->ring_stride != vlink_ring_stride(y->ring_size) || y->buf_size < 64 ||
	    (y->buf_size & (y->buf_size - 1)) || y->buf_area == 0 ||
	    y->buf_area % y->buf_size || y->buf_offset > pool_size ||
	    y->buf_area > pool_size - y->buf_offset)
		return vlink_why(why, n, -EINVAL, "link %s: layout does not fit its memory "
				 "(%u channels, ring %u, stride %u, buffers of %u B at %llu + "
				 "%llu in a pool of %llu B)", y->name, y->nch, y->ring_size,
				 y->ring_stride, y->buf_size, (unsigned long long)y->buf_offset,
				 (unsigned long long)y->buf_area, (unsigned long long)pool_size);
	/* the header and the rings of every channel, as one block */
	end = vlink_ring_offset(y->ring_size, y->nch + 1u, VLINK_RING_RX);
	if (y->hdr_offset % 64 || y->hdr_offset < VLINK_REGION_HDR_SIZE ||
	    y->hdr_offset > region_size || end > region_size - y->hdr_offset)
		return vlink_why(why, n, -EINVAL, "link %s: header or rings outside the channel "
				 "region (%llu + %llu of %llu B)", y->name,
				 (unsigned long long)y->hdr_offset, (unsigned long long)end,
				 (unsigned long long)region_size);
	return 0;
}

/* Take this end of every ring of a checked layout (l->region mapped), and
 * check the link header there: its magic and version, and that it says
 * what the layout says.  Fills l's view of the link. */
static int layout_attach(struct vlink_linkmem *l, const struct layout *y, bool host,
			 char *why, size_t n)
{
	const struct vlink_link_hdr *h;
	int err;

	for (unsigned i = 0; i < y->nch; i++) {
		struct vlink_ring *r[4] = { &l->ch[i].rx, &l->ch[i].done, &l->ch[i].fill,
					    &l->ch[i].tx };
		/* the host produces rx and fill, the peer done and tx */
		const bool prod[4] = { host, !host, host, !host };

		for (int k = 0; k < 4; k++) {
			uint64_t off = y->hdr_offset +
				       vlink_ring_offset(y->ring_size, i + 1, (enum vlink_ring_id)k);

			err = vlink_ring_attach(r[k], l->region + off, y->ring_size, prod[k]);
			if (err)
				return vlink_why(why, n, err, "link %s: bad ring", y->name);
		}
	}
	l->hdr = (struct vlink_link_hdr *)(l->region + y->hdr_offset);
	h = l->hdr;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != VLINK_LINK_MAGIC ||
	    h->version != VLINK_SHM_VERSION)
		return vlink_why(why, n, -EPROTO, "link %s: header: bad magic or layout version",
				 y->name);
	if (h->nchannels != y->nch || h->ring_size != y->ring_size ||
	    h->buf_size != y->buf_size || h->buf_offset != y->buf_offset ||
	    h->buf_area != y->buf_area)
		return vlink_why(why, n, -EPROTO, "link %s: its header and its layout disagree",
				 y->name);
	if (vlink_check_mtu(h->mtu, NULL, 0))
		return vlink_why(why, n, -EPROTO, "link %s: header: MTU %u out of range (%d-%d)",
				 y->name, h->mtu, VLINK_MTU_MIN, VLINK_MTU_MAX);
	l->mtu = h->mtu;
	l->nch = y->nch;
	l->buf_offset = y->buf_offset;
	l->buf_area = y->buf_area;
	l->buf_size = y->buf_size;
	l->ring_size = y->ring_size;
	return 0;
}

int vlink_linkmem_map(struct vlink_linkmem *l, const Vlink__LinkMap *m, const int *fds,
		      unsigned nfds, bool host, char *why, size_t n)
{
	const Vlink__LinkLayout *ly = m->link;
	struct vlink_xlate_seg segs[VLINK_XLATE_MAX_SEGS];
	struct layout y;
	int err;

	l->borrowed = false;
	l->host_epoch = 0;
	err = vlink_msg_check_map(m->pool_size, m->n_segments, m->segments, m->region,
				  nfds, why, n);
	if (err)
		return err;
	if (!ly)
		return vlink_why(why, n, -EINVAL, "the LinkMap has no link layout");
	err = vlink_check_name("link name", ly->name, why, n);
	if (err)
		return err;
	if (ly->n_channels != ly->nchannels)
		return vlink_why(why, n, -EINVAL, "link %s: %zu channel layouts for %u channels",
				 ly->name, ly->n_channels, ly->nchannels);
	y = (struct layout){ ly->name, ly->nchannels, ly->ring_size, ly->ring_stride,
			     ly->buf_size, ly->header_offset, ly->buf_offset, ly->buf_area };
	err = layout_check(&y, m->pool_size, m->region->size, why, n);
	if (err)
		return err;
	/* the rings are where vlink_shm.h puts them: the offsets are only
	 * compared, the same computation places them in both modes */
	for (unsigned i = 0; i < ly->nchannels; i++) {
		const Vlink__ChannelLayout *c = ly->channels[i];
		uint64_t b = ly->header_offset;

		if (c->rx != b + vlink_ring_offset(ly->ring_size, i + 1, VLINK_RING_RX) ||
		    c->done != b + vlink_ring_offset(ly->ring_size, i + 1, VLINK_RING_DONE) ||
		    c->fill != b + vlink_ring_offset(ly->ring_size, i + 1, VLINK_RING_FILL) ||
		    c->tx != b + vlink_ring_offset(ly->ring_size, i + 1, VLINK_RING_TX))
			return vlink_why(why, n, -EINVAL, "link %s: the rings of channel %u are not "
					 "where the layout puts them", ly->name, i + 1);
	}
	if (m->n_segments > VLINK_XLATE_MAX_SEGS)
		return vlink_why(why, n, -EINVAL, "too many segments");
	l->region_size = m->region->size;
	err = file_of(fds[m->region->fd_index], 0, l->region_size, &l->region_file);
	if (err)
		return vlink_why(why, n, err, "cannot stat the channel region: %s",
				 vlink_strerror(err));
	l->region = mmap(NULL, l->region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fds[m->region->fd_index], 0);
	if (l->region == MAP_FAILED) {
		l->region = NULL;
		return vlink_why(why, n, -errno, "cannot map the channel region: %s",
				 strerror(errno));
	}
	for (size_t i = 0; i < m->n_segments; i++) {
		const Vlink__Segment *s = m->segments[i];
		void *p;

		err = file_of(fds[s->fd_index], s->pool_offset, s->size, &l->seg_file[i]);
		if (err) {
			vlink_why(why, n, err, "cannot stat pool segment %zu: %s", i,
				  vlink_strerror(err));
			goto fail;
		}
		p = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[s->fd_index], 0);
		if (p == MAP_FAILED) {
			err = vlink_why(why, n, -errno, "cannot map pool segment %zu: %s", i,
					strerror(errno));
			goto fail;
		}
		l->seg_map[l->nseg] = p;
		l->seg_size[l->nseg++] = s->size;
		segs[i].pool_offset = s->pool_offset;
		segs[i].size = s->size;
		segs[i].addr = p;
	}
	err = vlink_xlate_init(&l->x, m->pool_size, segs, (unsigned)m->n_segments);
	if (err) {
		vlink_why(why, n, err, "cannot index the pool: %s", vlink_strerror(err));
		goto fail;
	}

	err = layout_attach(l, &y, host, why, n);
	if (err)
		goto fail_x;
	snprintf(l->name, sizeof(l->name), "%s", ly->name);
	snprintf(l->mac, sizeof(l->mac), "%s", ly->mac);
	snprintf(l->domain, sizeof(l->domain), "%s", ly->domain);
	return 0;

fail_x:
	vlink_xlate_fini(&l->x);
fail:
	unmap_all(l);
	return err;
}

void vlink_linkmem_unmap(struct vlink_linkmem *l)
{
	vlink_xlate_fini(&l->x);
	unmap_all(l);
	l->hdr = NULL;
}

static int same_file(const struct vlink_linkmem_file *f, int fd, uint64_t pool_offset,
		     uint64_t size)
{
	struct vlink_linkmem_file g = { 0 };
	int err = file_of(fd, pool_offset, size, &g);

	if (err)
		return err;
	return f->dev == g.dev && f->ino == g.ino && f->pool_offset == g.pool_offset &&
	       f->size == g.size ? 0 : -ESTALE;
}

static bool same_layout(const struct vlink_linkmem *l, const Vlink__LinkLayout *ly)
{
	if (ly->nchannels != l->nch || ly->n_channels != l->nch ||
	    ly->ring_size != l->ring_size || ly->buf_offset != l->buf_offset ||
	    ly->buf_area != l->buf_area || ly->buf_size != l->buf_size ||
	    ly->header_offset != (uint64_t)((uint8_t *)l->hdr - l->region))
		return false;
	for (unsigned i = 0; i < l->nch; i++) {
		const Vlink__ChannelLayout *c = ly->channels[i];
		const struct vlink_linkmem_chan *h = &l->ch[i];

		if (c->rx != (uint64_t)((uint8_t *)h->rx.hdr - l->region) ||
		    c->done != (uint64_t)((uint8_t *)h->done.hdr - l->region) ||
		    c->fill != (uint64_t)((uint8_t *)h->fill.hdr - l->region) ||
		    c->tx != (uint64_t)((uint8_t *)h->tx.hdr - l->region))
			return false;
	}
	return true;
}

int vlink_linkmem_same_files(const struct vlink_linkmem *l, const Vlink__LinkMap *m,
			     const int *fds, unsigned nfds)
{
	int err;

	if (!m->link || vlink_msg_check_map(m->pool_size, m->n_segments, m->segments,
					    m->region, nfds, NULL, 0))
		return -EINVAL;
	if (l->borrowed || !l->region)
		return -EINVAL;
	if (m->n_segments != l->nseg || m->pool_size != l->x.pool_size ||
	    !same_layout(l, m->link))
		return -ESTALE;
	err = same_file(&l->region_file, fds[m->region->fd_index], 0, m->region->size);
	for (size_t i = 0; i < m->n_segments && !err; i++)
		err = same_file(&l->seg_file[i], fds[m->segments[i]->fd_index],
				m->segments[i]->pool_offset, m->segments[i]->size);
	return err;
}

int vlink_linkmem_from_bars(struct vlink_linkmem *l, void *pool, uint64_t pool_size,
			    void *region, uint64_t region_size,
			    const struct vlink_link_entry *e, const char *domain, bool host,
			    char *why, size_t n)
{
	struct vlink_xlate_seg seg = { 0, pool_size, pool };
	char name[VLINK_SHM_NAME_LEN + 1];
	struct layout y;
	int err;

	memset(l, 0, sizeof(*l));
	l->borrowed = true;
	memcpy(name, e->name, VLINK_SHM_NAME_LEN);
	name[VLINK_SHM_NAME_LEN] = '\0';
	err = vlink_check_name("link name", name, why, n);
	if (err)
		return err;
	if (!pool || !region || region_size < VLINK_REGION_HDR_SIZE)
		return vlink_why(why, n, -EINVAL, "link %s: no pool or channel region", name);
	y = (struct layout){ name, e->nchannels, e->ring_size, e->ring_stride, e->buf_size,
			     e->hdr_offset, e->buf_offset, e->buf_area };
	err = layout_check(&y, pool_size, region_size, why, n);
	if (err)
		return err;
	err = vlink_xlate_init(&l->x, pool_size, &seg, 1);
	if (err)
		return vlink_why(why, n, err, "cannot index the pool: %s", vlink_strerror(err));
	l->region = region;
	l->region_size = region_size;
	l->nseg = 1;
	l->seg_map[0] = pool;
	l->seg_size[0] = pool_size;
	err = layout_attach(l, &y, host, why, n);
	if (err)
		goto fail;
	snprintf(l->name, sizeof(l->name), "%.*s", VLINK_NAME_MAX, name);
	vlink_mac_format(e->mac, l->mac);
	snprintf(l->domain, sizeof(l->domain), "%s", domain ? domain : "");
	return 0;

fail:
	vlink_linkmem_unmap(l);
	return err;
}
