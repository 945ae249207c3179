/* A link's memory: the checks of its layout and the guest's view of the
 * link table.  Freestanding (no libc but memcpy/memset/snprintf, through
 * vlink_valid.c and vlink_error.c): the guest kernel driver compiles it
 * too (libvlinkguest/linux/).  Mapping a LinkMap's files is
 * vlink_linkmem_map.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vlink_error.h"
#include "vlink_linkmem.h"

/* The one check of a link's layout against the memory it is in, for both
 * modes: every field in range, the link header and every ring (where
 * vlink_shm.h puts them) inside the channel region, the buffers inside the
 * pool, no sum that can wrap. */
int vlink_layout_check(const struct vlink_layout *y, uint64_t pool_size, uint64_t region_size,
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
int vlink_layout_attach(struct vlink_linkmem *l, const struct vlink_layout *y, bool host,
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

int vlink_linkmem_from_bars(struct vlink_linkmem *l, void *pool, uint64_t pool_size,
			    void *region, uint64_t region_size,
			    const struct vlink_link_entry *e, const char *domain, bool host,
			    char *why, size_t n)
{
	struct vlink_xlate_seg seg = { 0, pool_size, pool };
	char name[VLINK_SHM_NAME_LEN + 1];
	struct vlink_layout y;
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
	y = (struct vlink_layout){ name, e->nchannels, e->ring_size, e->ring_stride, e->buf_size,
			     e->hdr_offset, e->buf_offset, e->buf_area };
	err = vlink_layout_check(&y, pool_size, region_size, why, n);
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
	err = vlink_layout_attach(l, &y, host, why, n);
	if (err)
		goto fail;
	snprintf(l->name, sizeof(l->name), "%.*s", VLINK_NAME_MAX, name);
	vlink_mac_format(e->mac, l->mac);
	snprintf(l->domain, sizeof(l->domain), "%s", domain ? domain : "");
	return 0;

fail:
	/* borrowed: only the index is ours */
	vlink_xlate_fini(&l->x);
	l->nseg = 0;
	l->region = NULL;
	l->hdr = NULL;
	return err;
}

int vlink_table_copy(const struct vlink_region_hdr *live, struct vlink_region_hdr *h)
{
	uint32_t g1 = __atomic_load_n(&live->generation, __ATOMIC_ACQUIRE), g2;

	if (g1 & 1)
		return -EAGAIN;
	memcpy(h, live, sizeof(*h));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	g2 = __atomic_load_n(&live->generation, __ATOMIC_RELAXED);
	if (g1 != g2)
		return -EAGAIN;
	if (h->magic != VLINK_SHM_MAGIC || h->version != VLINK_SHM_VERSION)
		return -EPROTO;
	return 0;
}

const struct vlink_link_entry *vlink_table_find(const struct vlink_region_hdr *h,
						const char *name)
{
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++) {
		const struct vlink_link_entry *e = &h->links[i];

		if ((e->flags & VLINK_LINK_F_USED) &&
		    !strncmp(e->name, name, sizeof(e->name)) && strlen(name) < sizeof(e->name))
			return e;
	}
	return NULL;
}

bool vlink_link_entry_same(const struct vlink_link_entry *a, const struct vlink_link_entry *b)
{
	return a->nchannels == b->nchannels && a->ring_size == b->ring_size &&
	       a->buf_size == b->buf_size && a->ring_stride == b->ring_stride &&
	       a->hdr_offset == b->hdr_offset && a->buf_offset == b->buf_offset &&
	       a->buf_area == b->buf_area && !memcmp(a->mac, b->mac, 6);
}

/* Another thread may be between moving its private index and publishing
 * it, so a published index up to `lag` behind ours is still ours. */
static bool published(uint32_t mine, const uint32_t *shared, uint32_t lag)
{
	return mine - __atomic_load_n(shared, __ATOMIC_RELAXED) <= lag;
}

bool vlink_linkmem_indices_intact(const struct vlink_linkmem *m, uint32_t lag)
{
	for (unsigned i = 0; i < m->nch; i++) {
		const struct vlink_linkmem_chan *c = &m->ch[i];

		if (!published(__atomic_load_n(&c->rx.mine, __ATOMIC_RELAXED), &c->rx.hdr->tail, lag) ||
		    !published(__atomic_load_n(&c->fill.mine, __ATOMIC_RELAXED), &c->fill.hdr->tail,
			       lag) ||
		    !published(__atomic_load_n(&c->done.mine, __ATOMIC_RELAXED), &c->done.hdr->head,
			       lag) ||
		    !published(__atomic_load_n(&c->tx.mine, __ATOMIC_RELAXED), &c->tx.hdr->head, lag))
			return false;
	}
	return true;
}
