#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "vlink_error.h"
#include "vlink_linkmem.h"
#include "vlink_msg.h"

static void unmap_all(struct vlink_linkmem *l)
{
	for (unsigned i = 0; i < l->nseg; i++)
		munmap(l->seg_map[i], l->seg_size[i]);
	l->nseg = 0;
	if (l->region)
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

	err = vlink_msg_check_map(m->pool_size, m->n_segments, m->segments, m->region,
				  nfds, why, n);
	if (err)
		return err;
	if (m->n_segments > VLINK_XLATE_MAX_SEGS)
		return vlink_why(why, n, -EINVAL, "too many segments");
	l->region_size = m->region->size;
	l->region = mmap(NULL, l->region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fds[m->region->fd_index], 0);
	if (l->region == MAP_FAILED) {
		l->region = NULL;
		return vlink_why(why, n, -errno, "cannot map the channel region: %s",
				 strerror(errno));
	}
	for (size_t i = 0; i < m->n_segments; i++) {
		const Vlink__Segment *s = m->segments[i];
		void *p = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fds[s->fd_index], 0);

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
