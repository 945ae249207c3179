/* Socket mode: a LinkMap's files mapped (mmap), and compared with those of
 * a LinkMap that came later.  The layout checks are vlink_linkmem.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vlink.pb-c.h"
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

int vlink_linkmem_map(struct vlink_linkmem *l, const Vlink__LinkMap *m, const int *fds,
		      unsigned nfds, bool host, char *why, size_t n)
{
	const Vlink__LinkLayout *ly = m->link;
	struct vlink_xlate_seg segs[VLINK_XLATE_MAX_SEGS];
	struct vlink_layout y;
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
	y = (struct vlink_layout){ ly->name, ly->nchannels, ly->ring_size, ly->ring_stride,
			     ly->buf_size, ly->header_offset, ly->buf_offset, ly->buf_area };
	err = vlink_layout_check(&y, m->pool_size, m->region->size, why, n);
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

	err = vlink_layout_attach(l, &y, host, why, n);
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

