#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "vlink_error.h"
#include "state.h"

#define STATE_VERSION 1
#define STATE_MAX (16u << 20)

uint32_t state_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

void state_header(uint8_t hdr[STATE_HDR_SIZE], const uint8_t *payload, size_t len)
{
	uint32_t crc = state_crc32(payload, len);

	memcpy(hdr, STATE_MAGIC, 12);
	for (int i = 0; i < 4; i++)
		hdr[12 + i] = (uint8_t)(crc >> (8 * i));
}

int state_save(const struct registry *r, const char *dir, const char *daemon_id,
	       char *why, size_t n)
{
	Vlink__State st = VLINK__STATE__INIT;
	unsigned nd = 0, nl = 0, k;
	Vlink__StateDomain *doms = NULL, **domp = NULL;
	Vlink__StateSegment *segs = NULL, **segp = NULL;
	Vlink__StateLink *links = NULL, **linkp = NULL;
	struct reg_layout *lay = NULL;
	char tmp[4096], path[4096];
	uint8_t *buf = NULL;
	size_t len;
	int fd, err = -ENOMEM, dfd;

	for (struct reg_domain *d = r->domains; d; d = d->next)
		nd++;
	nl = r->nlinks;
	doms = calloc(nd + 1, sizeof(*doms));
	domp = calloc(nd + 1, sizeof(*domp));
	segs = calloc(nd * MEM_MAX_SEGMENTS + 1, sizeof(*segs));
	segp = calloc(nd * MEM_MAX_SEGMENTS + 1, sizeof(*segp));
	links = calloc(nl + 1, sizeof(*links));
	linkp = calloc(nl + 1, sizeof(*linkp));
	lay = calloc(nl + 1, sizeof(*lay));
	if (!doms || !domp || !segs || !segp || !links || !linkp || !lay)
		goto out;

	k = 0;
	nd = 0;
	for (struct reg_domain *d = r->domains; d; d = d->next, nd++) {
		Vlink__StateDomain *sd = &doms[nd];

		vlink__state_domain__init(sd);
		sd->name = (char *)d->name;
		sd->pool_size = d->pool.size;
		sd->page_size = d->pool.page_size;
		sd->hugepages = d->pool.hugepages;
		sd->region_path = d->region.path;
		sd->region_size = d->region.size;
		sd->generation = d->generation;
		sd->n_segments = d->pool.nseg;
		sd->segments = &segp[k];
		for (unsigned i = 0; i < d->pool.nseg; i++, k++) {
			vlink__state_segment__init(&segs[k]);
			segs[k].pool_offset = d->pool.seg[i].pool_offset;
			segs[k].size = d->pool.seg[i].size;
			segs[k].path = d->pool.seg[i].path;
			segp[k] = &segs[k];
		}
		domp[nd] = sd;
	}
	nl = 0;
	for (struct reg_link *l = r->links; l; l = l->next, nl++) {
		vlink__state_link__init(&links[nl]);
		reg_link_layout(l, &lay[nl]);
		links[nl].layout = &lay[nl].msg;
		links[nl].from_config = l->from_config;
		linkp[nl] = &links[nl];
	}
	st.version = STATE_VERSION;
	st.daemon_id = (char *)daemon_id;
	st.n_domains = nd;
	st.domains = domp;
	st.n_links = nl;
	st.links = linkp;

	len = vlink__state__get_packed_size(&st);
	buf = malloc(STATE_HDR_SIZE + len + 1);
	if (!buf)
		goto out;
	vlink__state__pack(&st, buf + STATE_HDR_SIZE);
	state_header(buf, buf + STATE_HDR_SIZE, len);
	len += STATE_HDR_SIZE;

	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", dir);
	/* a leftover temporary file (or a link planted there) is not reused */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = vlink_why(why, n, -errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	err = write_all(fd, buf, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		vlink_why(why, n, err, "cannot write %s: %s", path, strerror(-err));
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	err = 0;
out:
	if (err == -ENOMEM)
		vlink_why(why, n, err, "out of memory saving state");
	free(buf);
	free(lay);
	free(linkp);
	free(links);
	free(segp);
	free(segs);
	free(domp);
	free(doms);
	return err;
}

static int new_id(char out[STATE_ID_LEN + 1])
{
	uint8_t b[STATE_ID_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size > STATE_MAX) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int err = r < 0 ? -errno : -EIO;

			close(fd);
			free(buf);
			return err;
		}
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

/* Open a domain's files, or recreate its memory if they are gone. Returns
 * 1 when the memory is new (link areas must be initialised). */
static int load_domain(struct registry *r, const Vlink__StateDomain *sd,
		       struct reg_domain **out, char *why, size_t n)
{
	struct reg_domain *d;
	char err_open[512];
	int fresh = 0, err;

	err = vlink_check_name("domain", sd->name, why, n);
	if (err)
		return err;
	if (sd->n_segments == 0 || sd->n_segments > MEM_MAX_SEGMENTS ||
	    !sd->region_path || !*sd->region_path || sd->region_size < VLINK_REGION_HDR_SIZE)
		return vlink_why(why, n, -EINVAL, "domain '%s': bad memory description", sd->name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	strcpy(d->name, sd->name);
	d->generation = sd->generation + 1;
	d->pool.size = sd->pool_size;
	d->pool.page_size = sd->page_size;
	d->pool.hugepages = sd->hugepages;
	d->pool.nseg = (unsigned)sd->n_segments;
	for (unsigned i = 0; i < d->pool.nseg; i++) {
		d->pool.seg[i].pool_offset = sd->segments[i]->pool_offset;
		d->pool.seg[i].size = sd->segments[i]->size;
		d->pool.seg[i].path = strdup(sd->segments[i]->path);
		d->pool.seg[i].fd = -1;
	}
	d->region.path = strdup(sd->region_path);
	d->region.size = sd->region_size;
	d->region.fd = -1;

	/* What survives is reused; what is gone is made again.  A pool with a
	 * missing or damaged segment is made again whole. */
	err = mem_pool_open(&d->pool, err_open, sizeof(err_open));
	if (err) {
		log_warn("domain '%s': pool memory lost (%s); allocating a new pool",
			 d->name, err_open);
		mem_pool_destroy(&d->pool);
		err = mem_pool_create(&r->mem, d->name, sd->pool_size, &d->pool, why, n);
		if (err)
			goto err_free;
	}
	err = mem_region_open(&d->region, err_open, sizeof(err_open));
	if (err) {
		uint64_t size = sd->region_size;

		log_warn("domain '%s': channel region lost (%s); making a new one",
			 d->name, err_open);
		mem_region_destroy(&d->region);
		err = mem_region_create(&r->mem, d->name, size, &d->region, why, n);
		if (err) {
			mem_pool_close(&d->pool);
			goto err_free;
		}
		fresh = 1;
	}
	if (fresh || ((struct vlink_region_hdr *)d->region.map)->magic != VLINK_SHM_MAGIC) {
		reg_region_init(d);
		fresh = 1;
	}
	d->next = r->domains;
	r->domains = d;
	*out = d;
	return fresh;

err_free:
	mem_region_close(&d->region);
	free(d);
	return err;
}

static int load_link(struct registry *r, const Vlink__StateLink *sl, char *why, size_t n)
{
	const Vlink__LinkLayout *ly = sl->layout;
	struct reg_link_params p;
	struct vlink_region_hdr *h;
	struct reg_domain *d;
	struct reg_link *l;
	bool found = false;
	int err;

	if (!ly)
		return vlink_why(why, n, -EINVAL, "link without layout");
	/* a state file of a release before has no MTU (0: the default): its
	 * links took 9000 B packets (the header said 1500, and nobody read it) */
	p = (struct reg_link_params){ .name = ly->name, .mac = ly->mac, .domain = ly->domain,
				      .nchannels = ly->nchannels, .ring_size = ly->ring_size,
				      .mtu = ly->mtu, .from_config = sl->from_config };
	err = reg_link_new(r, &p, &l, why, n);
	if (err)
		return err;
	d = reg_domain_find(r, ly->domain);
	if (!d) {
		free(l);
		return vlink_why(why, n, -EINVAL, "link '%s': unknown domain '%s'", ly->name,
			   ly->domain);
	}
	/* where it was placed, and its buffer size then */
	l->buf_size = ly->buf_size ? ly->buf_size : VLINK_BUF_SIZE;
	l->dom = d;
	l->hdr_offset = ly->header_offset;
	l->buf_offset = ly->buf_offset;
	l->buf_area = ly->buf_area;
	if (l->hdr_offset < VLINK_REGION_HDR_SIZE ||
	    l->hdr_offset + l->region_area > d->region.size ||
	    l->buf_offset + l->buf_area > d->pool.size || d->nlinks >= VLINK_MAX_LINKS) {
		free(l);
		return vlink_why(why, n, -EINVAL, "link '%s': layout outside its domain's memory",
			   ly->name);
	}
	h = d->region.map;
	for (unsigned i = 0; i < VLINK_MAX_LINKS; i++) {
		const struct vlink_link_entry *e = &h->links[i];

		if ((e->flags & VLINK_LINK_F_USED) && e->hdr_offset == l->hdr_offset &&
		    !strncmp(e->name, l->name, sizeof(e->name))) {
			l->slot = i;
			found = true;
			break;
		}
	}
	/* placed by reg_reconcile() once every link has claimed its entry */
	if (!found)
		l->slot = VLINK_MAX_LINKS;
	reg_link_insert(r, l, false);
	return 0;
}

int state_load(struct registry *r, const char *dir,
	       char daemon_id[STATE_ID_LEN + 1], char *why, size_t n)
{
	char path[4096], msg[512];
	Vlink__State *st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	snprintf(path, sizeof(path), "%s/state", dir);
	err = read_file(path, &buf, &len);
	if (err == -ENOENT) {
		err = new_id(daemon_id);
		return err ? vlink_why(why, n, err, "getrandom: %s", strerror(-err)) : 0;
	}
	if (err)
		return vlink_why(why, n, err, "cannot read %s: %s", path, strerror(-err));
	if (len < STATE_HDR_SIZE || memcmp(buf, STATE_MAGIC, 12)) {
		free(buf);
		return vlink_why(why, n, -EBADMSG, "%s is corrupt (not a vlink state file); move "
			   "it away to start with no links", path);
	}
	{
		uint8_t hdr[STATE_HDR_SIZE];

		state_header(hdr, buf + STATE_HDR_SIZE, len - STATE_HDR_SIZE);
		if (memcmp(hdr, buf, STATE_HDR_SIZE)) {
			free(buf);
			return vlink_why(why, n, -EBADMSG, "%s is corrupt (checksum mismatch: "
				   "truncated or damaged); move it away to start with no "
				   "links", path);
		}
	}
	st = vlink__state__unpack(NULL, len - STATE_HDR_SIZE, buf + STATE_HDR_SIZE);
	free(buf);
	if (!st)
		return vlink_why(why, n, -EBADMSG,
			   "%s is corrupt (not a vlink state file); move it away to start "
			   "with no links", path);
	if (st->version != STATE_VERSION || !st->daemon_id ||
	    strlen(st->daemon_id) != STATE_ID_LEN ||
	    strspn(st->daemon_id, "0123456789abcdef") != STATE_ID_LEN) {
		err = vlink_why(why, n, -EBADMSG, "%s: unsupported version or bad daemon id",
			  path);
		goto out;
	}
	strcpy(daemon_id, st->daemon_id);
	r->mem.daemon_id = daemon_id;
	for (size_t i = 0; i < st->n_domains; i++) {
		struct reg_domain *d;

		if (reg_domain_find(r, st->domains[i]->name)) {
			err = vlink_why(why, n, -EBADMSG, "%s: domain '%s' twice", path,
				  st->domains[i]->name);
			goto out;
		}
		err = load_domain(r, st->domains[i], &d, msg, sizeof(msg));
		if (err < 0) {
			vlink_why(why, n, err, "%s: %s", path, msg);
			goto out;
		}
	}
	for (size_t i = 0; i < st->n_links; i++) {
		err = load_link(r, st->links[i], msg, sizeof(msg));
		if (err < 0) {
			vlink_why(why, n, err, "%s: %s", path, msg);
			goto out;
		}
	}
	reg_reconcile(r);
	err = 0;
out:
	vlink__state__free_unpacked(st, NULL);
	if (err)
		reg_clear(r);
	return err;
}
