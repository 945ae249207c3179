#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "vlink_error.h"
#include "registry.h"

#define BUF_ALIGN (2ull << 20)
#define BUFS_PER_DESC 4 /* rx + fill lent to the peer, plus the host's own */

static uint64_t roundup(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

void reg_init(struct registry *r)
{
	memset(r, 0, sizeof(*r));
	r->pool_size = MEM_POOL_DEFAULT;
}

static void domain_free(struct reg_domain *d, bool unlink_files)
{
	if (unlink_files) {
		mem_pool_destroy(&d->pool);
		mem_region_destroy(&d->region);
	} else {
		mem_pool_close(&d->pool);
		mem_region_close(&d->region);
	}
	free(d);
}

void reg_clear(struct registry *r)
{
	while (r->links) {
		struct reg_link *l = r->links;

		r->links = l->next;
		reg_link_free(l);
	}
	while (r->domains) {
		struct reg_domain *d = r->domains;

		r->domains = d->next;
		domain_free(d, false);
	}
	r->nlinks = 0;
}

void reg_fini(struct registry *r)
{
	reg_clear(r);
	free(r->pool_sizes);
	r->pool_sizes = NULL;
	r->npool_sizes = 0;
}

uint64_t reg_pool_size_for(const struct registry *r, const char *domain)
{
	for (unsigned i = 0; i < r->npool_sizes; i++)
		if (!strcmp(r->pool_sizes[i].domain, domain))
			return r->pool_sizes[i].size;
	return r->pool_size;
}

struct reg_link *reg_link_find(const struct registry *r, const char *name)
{
	for (struct reg_link *l = r->links; l; l = l->next)
		if (!strcmp(l->name, name))
			return l;
	return NULL;
}

struct reg_domain *reg_domain_find(const struct registry *r, const char *name)
{
	for (struct reg_domain *d = r->domains; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static struct vlink_region_hdr *region_hdr(struct reg_domain *d)
{
	return d->region.map;
}

void reg_region_init(struct reg_domain *d)
{
	struct vlink_region_hdr *h = region_hdr(d);

	memset(h, 0, sizeof(*h));
	h->magic = VLINK_SHM_MAGIC;
	h->version = VLINK_SHM_VERSION;
	h->max_links = VLINK_MAX_LINKS;
	h->region_size = d->region.size;
	h->pool_size = d->pool.size;
	strncpy(h->domain, d->name, sizeof(h->domain) - 1);
}

/* Sequence lock around changes of the link table: odd while writing. */
static void table_begin(struct reg_domain *d)
{
	struct vlink_region_hdr *h = region_hdr(d);

	__atomic_store_n(&h->generation, h->generation | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void table_end(struct reg_domain *d)
{
	struct vlink_region_hdr *h = region_hdr(d);

	h->region_size = d->region.size;
	__atomic_store_n(&h->generation, (h->generation | 1) + 1, __ATOMIC_RELEASE);
}

int reg_domain_get(struct registry *r, const char *name, struct reg_domain **out,
		   char *why, size_t n)
{
	struct reg_domain *d = reg_domain_find(r, name);
	int err;

	if (d) {
		*out = d;
		return 0;
	}
	err = vlink_check_name("domain", name, why, n);
	if (err)
		return err;
	d = calloc(1, sizeof(*d));
	if (!d)
		return vlink_why(why, n, -ENOMEM, "out of memory");
	strcpy(d->name, name);
	err = mem_pool_create(&r->mem, name, reg_pool_size_for(r, name), &d->pool, why, n);
	if (err)
		goto err_free;
	err = mem_region_create(&r->mem, name, VLINK_REGION_HDR_SIZE, &d->region, why, n);
	if (err)
		goto err_pool;
	reg_region_init(d);
	d->generation = 1;
	d->next = r->domains;
	r->domains = d;
	log_info("domain '%s': pool %llu MiB in %u segment(s) (%s), region %s",
		 name, (unsigned long long)(d->pool.size >> 20), d->pool.nseg,
		 d->pool.hugepages ? "hugepages" : "shared memory, no hugepages",
		 d->region.path);
	*out = d;
	return 0;

err_pool:
	mem_pool_destroy(&d->pool);
err_free:
	free(d);
	return err;
}

bool reg_domain_release(struct registry *r, struct reg_domain *d)
{
	struct reg_domain **pp;

	if (d->nlinks || d->nattached)
		return false;
	for (pp = &r->domains; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			log_info("domain '%s' has no links and no clients: memory freed",
				 d->name);
			domain_free(d, true);
			return true;
		}
	}
	return false;
}

static uint64_t buf_area_size(uint32_t nch, uint32_t ring)
{
	return roundup((uint64_t)nch * ring * BUFS_PER_DESC * VLINK_BUF_SIZE, BUF_ALIGN);
}

/* First fit of `size` bytes at `align` in [lo, hi) avoiding the ranges the
 * domain's links use; `pool` selects the pool ranges, else the region's. */
static int first_fit(const struct registry *r, const struct reg_domain *d, bool pool,
		     uint64_t lo, uint64_t hi, uint64_t size, uint64_t align,
		     uint64_t *out)
{
	uint64_t at = roundup(lo, align);

	for (;;) {
		bool moved = false;

		if (at + size > hi || at + size < at)
			return -ENOSPC;
		for (const struct reg_link *l = r->links; l; l = l->next) {
			uint64_t s = pool ? l->buf_offset : l->hdr_offset;
			uint64_t e = s + (pool ? l->buf_area : l->region_area);

			if (l->dom != d || e <= at || s >= at + size)
				continue;
			at = roundup(e, align);
			moved = true;
		}
		if (!moved) {
			*out = at;
			return 0;
		}
	}
}

uint64_t reg_pool_used(const struct registry *r, const struct reg_domain *d)
{
	uint64_t used = 0;

	for (const struct reg_link *l = r->links; l; l = l->next)
		if (l->dom == d)
			used += l->buf_area;
	return used;
}

int reg_link_check(const struct registry *r, const struct reg_link_params *p,
		   char *why, size_t n)
{
	const char *dom = p->domain && *p->domain ? p->domain : VLINK_DEFAULT_DOMAIN;
	uint32_t ring = p->ring_size ? p->ring_size : VLINK_RING_DEFAULT;
	const struct reg_link *l;
	uint8_t mac[6];
	int err;

	if ((err = vlink_check_name("link name", p->name, why, n)) ||
	    (err = vlink_mac_parse(p->mac, mac, why, n)) ||
	    (err = vlink_check_nchannels(p->nchannels, why, n)) ||
	    (err = vlink_check_ring_size(ring, why, n)) ||
	    (err = vlink_check_mtu(p->mtu ? p->mtu : VLINK_MTU_DEFAULT, why, n)) ||
	    (err = vlink_check_name("domain", dom, why, n)))
		return err;
	l = reg_link_find(r, p->name);
	if (l)
		return vlink_why(why, n, -EEXIST, "link '%s' already exists (domain '%s')",
			   p->name, l->dom->name);
	return 0;
}

int reg_link_new(const struct registry *r, const struct reg_link_params *p,
		 struct reg_link **out, char *why, size_t n)
{
	struct reg_link *l;
	int err = reg_link_check(r, p, why, n);

	if (err)
		return err;
	l = calloc(1, sizeof(*l));
	if (!l)
		return vlink_why(why, n, -ENOMEM, "out of memory");
	strcpy(l->name, p->name);
	vlink_mac_parse(p->mac, l->mac, NULL, 0);
	l->nchannels = p->nchannels;
	l->ring_size = p->ring_size ? p->ring_size : VLINK_RING_DEFAULT;
	l->mtu = p->mtu ? p->mtu : VLINK_MTU_DEFAULT;
	l->buf_size = VLINK_BUF_SIZE;
	l->from_config = p->from_config;
	l->region_area = vlink_link_region_size(l->nchannels, l->ring_size);
	l->buf_area = buf_area_size(l->nchannels, l->ring_size);
	*out = l;
	return 0;
}

int reg_link_insert(struct registry *r, struct reg_link *l, bool init_memory)
{
	struct vlink_region_hdr *h = region_hdr(l->dom);

	if (init_memory)
		reg_link_init_memory(l);
	else if (l->slot < VLINK_MAX_LINKS && h->links[l->slot].flags & VLINK_LINK_F_USED &&
		 strncmp(h->links[l->slot].name, l->name, sizeof(h->links[0].name)))
		return -EEXIST;
	l->next = r->links;
	r->links = l;
	r->nlinks++;
	l->dom->nlinks++;
	return 0;
}

static unsigned free_slot(const struct registry *r, const struct reg_domain *d)
{
	bool used[VLINK_MAX_LINKS] = { false };

	for (const struct reg_link *l = r->links; l; l = l->next)
		if (l->dom == d && l->slot < VLINK_MAX_LINKS)
			used[l->slot] = true;
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++)
		if (!used[i])
			return i;
	return VLINK_MAX_LINKS;
}

void reg_reconcile(struct registry *r)
{
	for (struct reg_domain *d = r->domains; d; d = d->next) {
		struct vlink_region_hdr *h = region_hdr(d);
		bool claimed[VLINK_MAX_LINKS] = { false };
		uint32_t cnt = 0;

		for (const struct reg_link *l = r->links; l; l = l->next)
			if (l->dom == d && l->slot < VLINK_MAX_LINKS)
				claimed[l->slot] = true;
		table_begin(d);
		for (unsigned i = 0; i < VLINK_MAX_LINKS; i++) {
			if (claimed[i])
				cnt++;
			else
				memset(&h->links[i], 0, sizeof(h->links[i]));
		}
		h->nlinks = cnt;
		table_end(d);
	}
	for (struct reg_link *l = r->links; l; l = l->next) {
		if (l->slot < VLINK_MAX_LINKS)
			continue;
		l->slot = free_slot(r, l->dom);
		log_warn("link '%s': not in its channel region's table; header and rings "
			 "reinitialised", l->name);
		reg_link_init_memory(l);
	}
}

/* What the daemon writes in line 0 of a link's header and in its table
 * entry: built privately, so that they can be compared with the shared
 * copies as well as written. */
static void line0_of(const struct reg_link *l, struct vlink_link_hdr *lh)
{
	memset(lh, 0, offsetof(struct vlink_link_hdr, host_state));
	lh->magic = VLINK_LINK_MAGIC;
	lh->version = VLINK_SHM_VERSION;
	lh->nchannels = (uint16_t)l->nchannels;
	lh->ring_size = l->ring_size;
	lh->buf_size = l->buf_size;
	lh->ring_stride = vlink_ring_stride(l->ring_size);
	memcpy(lh->mac, l->mac, 6);
	lh->mtu = (uint16_t)l->mtu;
	lh->buf_offset = l->buf_offset;
	lh->buf_area = l->buf_area;
}

static void entry_of(const struct reg_link *l, struct vlink_link_entry *e)
{
	memset(e, 0, sizeof(*e));
	strncpy(e->name, l->name, sizeof(e->name) - 1);
	memcpy(e->mac, l->mac, 6);
	e->nchannels = (uint16_t)l->nchannels;
	e->ring_size = l->ring_size;
	e->buf_size = l->buf_size;
	e->ring_stride = vlink_ring_stride(l->ring_size);
	e->hdr_offset = l->hdr_offset;
	e->buf_offset = l->buf_offset;
	e->buf_area = l->buf_area;
	e->flags = VLINK_LINK_F_USED;
}

/* Line 0 with the magic last: a reader that sees the magic sees the rest. */
static void line0_write(struct vlink_link_hdr *lh, const struct vlink_link_hdr *want)
{
	const size_t skip = sizeof(lh->magic);

	memcpy((uint8_t *)lh + skip, (const uint8_t *)want + skip,
	       offsetof(struct vlink_link_hdr, host_state) - skip);
	__atomic_store_n(&lh->magic, VLINK_LINK_MAGIC, __ATOMIC_RELEASE);
}

void reg_link_init_memory(struct reg_link *l)
{
	struct reg_domain *d = l->dom;
	uint8_t *base = (uint8_t *)d->region.map + l->hdr_offset;
	struct vlink_link_hdr want;

	memset(base, 0, l->region_area);
	for (uint32_t ch = 1; ch <= l->nchannels; ch++)
		for (int ring = 0; ring < VLINK_RINGS_PER_CHAN; ring++) {
			struct vlink_ring_hdr *rh = (struct vlink_ring_hdr *)(base +
				vlink_ring_offset(l->ring_size, ch, (enum vlink_ring_id)ring));

			rh->size = l->ring_size;
		}
	line0_of(l, &want);
	line0_write((struct vlink_link_hdr *)base, &want);

	table_begin(d);
	entry_of(l, &region_hdr(d)->links[l->slot]);
	region_hdr(d)->nlinks++;
	table_end(d);
}

unsigned reg_link_repair(struct reg_link *l)
{
	struct reg_domain *d = l->dom;
	struct vlink_link_hdr *lh = (struct vlink_link_hdr *)((uint8_t *)d->region.map +
							      l->hdr_offset);
	struct vlink_link_entry *e = &region_hdr(d)->links[l->slot];
	struct vlink_link_hdr want;
	struct vlink_link_entry ewant;
	unsigned fixed = 0;

	line0_of(l, &want);
	if (memcmp(lh, &want, offsetof(struct vlink_link_hdr, host_state))) {
		line0_write(lh, &want);
		fixed |= REG_REPAIRED_HEADER;
	}
	entry_of(l, &ewant);
	if (l->slot < VLINK_MAX_LINKS && memcmp(e, &ewant, sizeof(ewant))) {
		table_begin(d);
		*e = ewant;
		table_end(d);
		fixed |= REG_REPAIRED_ENTRY;
	}
	return fixed;
}

int reg_link_create(struct registry *r, const struct reg_link_params *p,
		    struct reg_link **out, char *why, size_t n)
{
	const char *dname = p->domain && *p->domain ? p->domain : VLINK_DEFAULT_DOMAIN;
	struct reg_domain *d;
	struct reg_link *l;
	bool new_domain;
	uint64_t need_region, old_size;
	int err;

	err = reg_link_new(r, p, &l, why, n);
	if (err)
		return err;
	new_domain = reg_domain_find(r, dname) == NULL;
	err = reg_domain_get(r, dname, &d, why, n);
	if (err)
		goto err_free;
	l->dom = d;
	if (d->nlinks >= VLINK_MAX_LINKS) {
		err = vlink_why(why, n, -ENOSPC, "domain '%s' already has %d links", dname,
			  VLINK_MAX_LINKS);
		goto err_domain;
	}
	if (first_fit(r, d, true, 0, d->pool.size, l->buf_area, BUF_ALIGN,
		      &l->buf_offset)) {
		err = vlink_why(why, n, -ENOSPC,
			  "domain '%s': the pool has %llu MiB free of %llu MiB, link '%s' "
			  "needs %llu MiB in one piece (%u channels x ring %u x %d buffers "
			  "of %d B); use a smaller ring size or give the domain a larger "
			  "pool (vlinkd --pool-size)",
			  dname, (unsigned long long)((d->pool.size - reg_pool_used(r, d)) >> 20),
			  (unsigned long long)(d->pool.size >> 20), p->name,
			  (unsigned long long)(l->buf_area >> 20), l->nchannels,
			  l->ring_size, BUFS_PER_DESC, VLINK_BUF_SIZE);
		goto err_domain;
	}
	first_fit(r, d, false, VLINK_REGION_HDR_SIZE, UINT64_MAX, l->region_area, 4096,
		  &l->hdr_offset);
	need_region = l->hdr_offset + l->region_area;
	old_size = d->region.size;
	if (need_region > old_size) {
		err = mem_region_resize(&d->region, need_region);
		if (err) {
			vlink_why(why, n, err, "domain '%s': cannot grow the channel region to "
			    "%llu bytes: %s", dname, (unsigned long long)need_region,
			    strerror(-err));
			goto err_domain;
		}
	}
	l->slot = free_slot(r, d);
	reg_link_insert(r, l, true);
	d->generation++;
	*out = l;
	return 0;

err_domain:
	if (new_domain)
		reg_domain_release(r, d);
err_free:
	free(l);
	return err;
}

int reg_link_delete(struct registry *r, struct reg_link *l, bool force,
		    char *why, size_t n)
{
	struct reg_domain *d = l->dom;
	struct vlink_link_hdr *lh;
	struct reg_link **pp;

	if (!force && (l->host || l->peer))
		return vlink_why(why, n, -EBUSY,
			   "link '%s' has its %s end attached; detach it first or use --force",
			   l->name, l->host ? "host" : "peer");
	for (pp = &r->links; *pp && *pp != l; pp = &(*pp)->next)
		;
	if (!*pp)
		return vlink_why(why, n, -ENOENT, "no link '%s'", l->name);
	*pp = l->next;
	r->nlinks--;
	d->nlinks--;

	lh = (struct vlink_link_hdr *)((uint8_t *)d->region.map + l->hdr_offset);
	__atomic_store_n(&lh->magic, 0, __ATOMIC_RELEASE);
	table_begin(d);
	memset(&region_hdr(d)->links[l->slot], 0, sizeof(struct vlink_link_entry));
	region_hdr(d)->nlinks--;
	table_end(d);
	d->generation++;
	reg_link_free(l);
	return 0;
}

int reg_link_notifiers(struct reg_link *l, char *why, size_t n)
{
	unsigned nfd = 2 * l->nchannels, i;
	int *fd;

	if (l->notify)
		return 0;
	fd = malloc(nfd * sizeof(*fd));
	if (!fd)
		return vlink_why(why, n, -ENOMEM, "out of memory");
	for (i = 0; i < nfd; i++) {
		/* non-blocking: vlinkd never reads them, but an end that
		 * drains its own must not block on one that is empty */
		fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd[i] < 0) {
			int err = -errno;

			while (i--)
				close(fd[i]);
			free(fd);
			return vlink_why(why, n, err, "link '%s': eventfd: %s", l->name,
					 vlink_strerror(err));
		}
	}
	l->notify = fd;
	return 0;
}

void reg_link_free(struct reg_link *l)
{
	if (l->notify)
		for (unsigned i = 0; i < 2 * l->nchannels; i++)
			close(l->notify[i]);
	free(l->notify);
	free(l);
}

uint32_t reg_link_epoch(const struct reg_link *l)
{
	const uint8_t *region = l->dom->region.map;

	if (!region || l->slot >= VLINK_MAX_LINKS)
		return 0;
	return __atomic_load_n(&((const struct vlink_link_hdr *)(region + l->hdr_offset))->host_epoch,
			       __ATOMIC_ACQUIRE);
}

void reg_link_layout(const struct reg_link *l, struct reg_layout *o)
{
	vlink__link_layout__init(&o->msg);
	vlink_mac_format(l->mac, o->mac);
	o->msg.name = (char *)l->name;
	o->msg.mac = o->mac;
	o->msg.nchannels = l->nchannels;
	o->msg.ring_size = l->ring_size;
	o->msg.domain = (char *)l->dom->name;
	o->msg.header_offset = l->hdr_offset;
	o->msg.ring_stride = vlink_ring_stride(l->ring_size);
	o->msg.buf_offset = l->buf_offset;
	o->msg.buf_area = l->buf_area;
	o->msg.buf_size = l->buf_size;
	o->msg.epoch = reg_link_epoch(l);
	o->msg.mtu = l->mtu;
	o->msg.n_channels = l->nchannels;
	o->msg.channels = o->chp;
	for (uint32_t i = 0; i < l->nchannels; i++) {
		Vlink__ChannelLayout *c = &o->ch[i];
		uint64_t b = l->hdr_offset;

		vlink__channel_layout__init(c);
		c->channel = i + 1;
		c->rx = b + vlink_ring_offset(l->ring_size, i + 1, VLINK_RING_RX);
		c->done = b + vlink_ring_offset(l->ring_size, i + 1, VLINK_RING_DONE);
		c->fill = b + vlink_ring_offset(l->ring_size, i + 1, VLINK_RING_FILL);
		c->tx = b + vlink_ring_offset(l->ring_size, i + 1, VLINK_RING_TX);
		o->chp[i] = c;
	}
}
