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

int vlink_linkmem_map(struct vlink_linkmem *l, const Vlink__LinkMap *m, const int *fds,
		      unsigned nfds, bool host, char *why, size_t n)
{
	const Vlink__LinkLayout *ly = m->link;
	struct vlink_xlate_seg segs[VLINK_XLATE_MAX_SEGS];
	uint64_t stride = 0, end;
	int err;

	l->borrowed = false;
	l->host_epoch = 0;
	err = vlink_msg_check_map(m->pool_size, m->n_segments, m->segments, m->region,
				  nfds, why, n);
	if (err)
		return err;
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

	/* the layout must fit the memory it describes */
	if (ly->nchannels == 0 || ly->nchannels > VLINK_NCHANNELS_MAX || ly->ring_size == 0 ||
	    (ly->ring_size & (ly->ring_size - 1)) || ly->buf_size < 64 ||
	    (ly->buf_size & (ly->buf_size - 1)) || ly->buf_area % ly->buf_size ||
	    ly->buf_offset > m->pool_size || ly->buf_area > m->pool_size - ly->buf_offset ||
	    ly->n_channels != ly->nchannels) {
		err = vlink_why(why, n, -EINVAL, "link layout does not fit its memory");
		goto fail_x;
	}
	end = ly->header_offset + VLINK_LINK_HDR_SIZE;
	stride = vlink_ring_stride(ly->ring_size);
	if (ly->header_offset % 64 || end > l->region_size) {
		err = vlink_why(why, n, -EINVAL, "link header outside the channel region");
		goto fail_x;
	}
	for (unsigned i = 0; i < ly->nchannels; i++) {
		const Vlink__ChannelLayout *c = ly->channels[i];
		uint64_t off[4] = { c->rx, c->done, c->fill, c->tx };
		struct vlink_ring *r[4] = { &l->ch[i].rx, &l->ch[i].done, &l->ch[i].fill,
					    &l->ch[i].tx };
		/* the host produces rx and fill, the peer done and tx */
		const bool prod[4] = { host, !host, host, !host };

		for (int k = 0; k < 4; k++) {
			if (off[k] % 64 || off[k] + stride > l->region_size ||
			    off[k] + stride < off[k]) {
				err = vlink_why(why, n, -EINVAL, "ring outside the channel region");
				goto fail_x;
			}
			err = vlink_ring_attach(r[k], l->region + off[k], ly->ring_size, prod[k]);
			if (err) {
				vlink_why(why, n, err, "bad ring");
				goto fail_x;
			}
		}
	}
	l->hdr = (struct vlink_link_hdr *)(l->region + ly->header_offset);
	if (__atomic_load_n(&l->hdr->magic, __ATOMIC_ACQUIRE) != VLINK_LINK_MAGIC ||
	    l->hdr->version != VLINK_SHM_VERSION) {
		err = vlink_why(why, n, -EPROTO, "link header: bad magic or layout version");
		goto fail_x;
	}
	l->nch = ly->nchannels;
	l->buf_offset = ly->buf_offset;
	l->buf_area = ly->buf_area;
	l->buf_size = ly->buf_size;
	l->ring_size = ly->ring_size;
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
	uint64_t end;
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
	if (e->nchannels == 0 || e->nchannels > VLINK_NCHANNELS_MAX ||
	    e->ring_size < VLINK_RING_MIN || e->ring_size > VLINK_RING_MAX ||
	    (e->ring_size & (e->ring_size - 1)) ||
	    e->ring_stride != vlink_ring_stride(e->ring_size) || e->buf_size < 64 ||
	    (e->buf_size & (e->buf_size - 1)) || e->buf_area == 0 ||
	    e->buf_area % e->buf_size || e->buf_offset > pool_size ||
	    e->buf_area > pool_size - e->buf_offset)
		return vlink_why(why, n, -EINVAL, "link %s: layout does not fit its memory "
				 "(%u channels, ring %u, stride %u, buffers of %u B at %llu + "
				 "%llu in a pool of %llu B)", name, e->nchannels, e->ring_size,
				 e->ring_stride, e->buf_size, (unsigned long long)e->buf_offset,
				 (unsigned long long)e->buf_area, (unsigned long long)pool_size);
	end = vlink_ring_offset(e->ring_size, e->nchannels + 1u, VLINK_RING_RX);
	if (e->hdr_offset % 64 || e->hdr_offset < VLINK_REGION_HDR_SIZE ||
	    e->hdr_offset > region_size || end > region_size - e->hdr_offset)
		return vlink_why(why, n, -EINVAL, "link %s: header or rings outside the channel "
				 "region (%llu + %llu of %llu B)", name,
				 (unsigned long long)e->hdr_offset, (unsigned long long)end,
				 (unsigned long long)region_size);
	err = vlink_xlate_init(&l->x, pool_size, &seg, 1);
	if (err)
		return vlink_why(why, n, err, "cannot index the pool: %s", vlink_strerror(err));
	l->region = region;
	l->region_size = region_size;
	l->nseg = 1;
	l->seg_map[0] = pool;
	l->seg_size[0] = pool_size;
	for (unsigned i = 0; i < e->nchannels; i++) {
		struct vlink_ring *r[4] = { &l->ch[i].rx, &l->ch[i].done, &l->ch[i].fill,
					    &l->ch[i].tx };
		const bool prod[4] = { host, !host, host, !host };

		for (int k = 0; k < 4; k++) {
			uint64_t off = e->hdr_offset +
				       vlink_ring_offset(e->ring_size, i + 1, (enum vlink_ring_id)k);

			err = vlink_ring_attach(r[k], l->region + off, e->ring_size, prod[k]);
			if (err) {
				vlink_why(why, n, err, "link %s: bad ring", name);
				goto fail;
			}
		}
	}
	l->hdr = (struct vlink_link_hdr *)(l->region + e->hdr_offset);
	if (__atomic_load_n(&l->hdr->magic, __ATOMIC_ACQUIRE) != VLINK_LINK_MAGIC ||
	    l->hdr->version != VLINK_SHM_VERSION) {
		err = vlink_why(why, n, -EPROTO, "link %s: header: bad magic or layout version",
				name);
		goto fail;
	}
	if (l->hdr->nchannels != e->nchannels || l->hdr->ring_size != e->ring_size ||
	    l->hdr->buf_size != e->buf_size || l->hdr->buf_offset != e->buf_offset ||
	    l->hdr->buf_area != e->buf_area) {
		err = vlink_why(why, n, -EPROTO, "link %s: header and link table disagree",
				name);
		goto fail;
	}
	l->nch = e->nchannels;
	l->buf_offset = e->buf_offset;
	l->buf_area = e->buf_area;
	l->buf_size = e->buf_size;
	l->ring_size = e->ring_size;
	snprintf(l->name, sizeof(l->name), "%.*s", VLINK_NAME_MAX, name);
	vlink_mac_format(e->mac, l->mac);
	snprintf(l->domain, sizeof(l->domain), "%s", domain ? domain : "");
	return 0;

fail:
	vlink_linkmem_unmap(l);
	return err;
}
