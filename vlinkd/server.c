#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "vlink_msg.h"

#define CLIENT_QUEUE_MAX (4u << 20) /* a client that reads nothing is dropped */
#define WHY 512

enum attach { ATT_NONE, ATT_DOMAIN, ATT_LINK };

struct client {
	struct client *next;
	struct server *srv;
	uint32_t id;
	int fd;
	uv_poll_t poll;
	int poll_events;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool hello;
	uint32_t version;          /* the protocol version of this connection */
	bool monitor;
	bool dead;
	Vlink__Role role;
	char name[64];
	enum attach att;
	struct reg_domain *dom;    /* ATT_DOMAIN, and the link's domain */
	struct reg_link *link;     /* ATT_LINK */
	Vlink__End end;
	struct vlink_writer wr;
	struct vlink_reader rd;
};

static void client_close(struct client *c);
static void client_update_poll(struct client *c);

static const char *role_name(Vlink__Role r)
{
	switch (r) {
	case VLINK__ROLE__ROLE_ADMIN: return "admin";
	case VLINK__ROLE__ROLE_QEMU: return "qemu";
	case VLINK__ROLE__ROLE_HOST: return "host";
	case VLINK__ROLE__ROLE_PEER: return "peer";
	default: return "client";
	}
}

static const char *end_name(Vlink__End e)
{
	return e == VLINK__END__END_HOST ? "host" : "peer";
}

/* A client that has not read this much of what it was sent is dropped. */
static bool client_stalled(struct client *c)
{
	if (c->wr.queued <= CLIENT_QUEUE_MAX)
		return false;
	log_warn("client %u (pid %d) is not reading its messages (%zu bytes queued): dropped",
		 c->id, (int)c->pid, c->wr.queued);
	c->dead = true;
	return true;
}

/* Queue one envelope.  A reply (id != 0) is queued whole however large
 * (a list of every link): the client asked for it, and on_frame() drops a
 * client that asks for more before reading it; a pushed message (id 0)
 * drops a client that has let its queue overflow. */
static void send_env(struct client *c, Vlink__Envelope *env, const int *fds, unsigned nfds)
{
	int err;

	if (c->dead)
		return;
	err = vlink_msg_push(&c->wr, env, fds, nfds);
	if (err) {
		log_warn("client %u: cannot queue %s: %s", c->id,
			 vlink_msg_name(env->msg_case), strerror(-err));
		c->dead = true;
		return;
	}
	if (env->id == 0 && client_stalled(c))
		return;
	client_update_poll(c);
}

static void send_error(struct client *c, uint32_t id, int err, const char *msg)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Error e = VLINK__ERROR__INIT;

	e.code = (uint32_t)(err < 0 ? -err : err);
	e.message = (char *)msg;
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_ERROR;
	env.error = &e;
	send_env(c, &env, NULL, 0);
}

static void send_ok(struct client *c, uint32_t id)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Ok ok = VLINK__OK__INIT;

	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_OK;
	env.ok = &ok;
	send_env(c, &env, NULL, 0);
}

static void save_state(struct server *s)
{
	char why[WHY];

	if (state_save(&s->reg, s->state_dir, s->daemon_id, why, sizeof(why)))
		log_err("saving state: %s", why);
}

/* Memory description of a domain: segments and region, fds in order. */
struct memdesc {
	Vlink__Segment seg[MEM_MAX_SEGMENTS];
	Vlink__Segment *segp[MEM_MAX_SEGMENTS];
	Vlink__ChannelRegion reg;
	int fds[MEM_MAX_SEGMENTS + 1];
	unsigned nfds;
};

static void memdesc_fill(const struct reg_domain *d, struct memdesc *m)
{
	for (unsigned i = 0; i < d->pool.nseg; i++) {
		vlink__segment__init(&m->seg[i]);
		m->seg[i].index = i;
		m->seg[i].pool_offset = d->pool.seg[i].pool_offset;
		m->seg[i].size = d->pool.seg[i].size;
		m->seg[i].page_size = d->pool.page_size;
		m->seg[i].fd_index = i;
		m->segp[i] = &m->seg[i];
		m->fds[i] = d->pool.seg[i].fd;
	}
	vlink__channel_region__init(&m->reg);
	m->reg.size = d->region.size;
	m->reg.fd_index = d->pool.nseg;
	m->fds[d->pool.nseg] = d->region.fd;
	m->nfds = d->pool.nseg + 1;
}

/* A domain's map, ready to send: the DomainMap and what it points to. */
struct dmap {
	Vlink__Envelope env;
	Vlink__DomainMap dm;
	struct memdesc m;
	Vlink__LinkLayout *layp[VLINK_MAX_LINKS];
	struct reg_layout lay[VLINK_MAX_LINKS];
};

static struct dmap *dmap_build(struct server *s, struct reg_domain *d, uint32_t id)
{
	struct dmap *x = calloc(1, sizeof(*x));
	unsigned nl = 0;

	if (!x)
		return NULL;
	vlink__envelope__init(&x->env);
	vlink__domain_map__init(&x->dm);
	memdesc_fill(d, &x->m);
	for (struct reg_link *l = s->reg.links; l && nl < VLINK_MAX_LINKS; l = l->next) {
		if (l->dom != d)
			continue;
		reg_link_layout(l, &x->lay[nl]);
		x->layp[nl] = &x->lay[nl].msg;
		nl++;
	}
	x->dm.domain = d->name;
	x->dm.pool_size = d->pool.size;
	x->dm.n_segments = d->pool.nseg;
	x->dm.segments = x->m.segp;
	x->dm.region = &x->m.reg;
	x->dm.n_links = nl;
	x->dm.links = x->layp;
	x->dm.generation = d->generation;
	x->env.id = id;
	x->env.msg_case = VLINK__ENVELOPE__MSG_DOMAIN_MAP;
	x->env.domain_map = &x->dm;
	return x;
}

static void send_domain_map(struct client *c, uint32_t id, struct reg_domain *d)
{
	struct dmap *x = dmap_build(c->srv, d, id);

	if (!x) {
		send_error(c, id, -ENOMEM, "out of memory");
		return;
	}
	send_env(c, &x->env, x->m.fds, x->m.nfds);
	free(x);
}

/* A domain's map goes to QEMU in one frame (it comes with the domain's
 * fds): a link that would make it larger is refused when it is created. */
static int dmap_check(struct server *s, struct reg_link *l, char *why, size_t n)
{
	struct dmap *x = dmap_build(s, l->dom, UINT32_MAX);
	size_t len;

	if (!x) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	len = vlink__envelope__get_packed_size(&x->env);
	free(x);
	if (len <= VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE)
		return 0;
	snprintf(why, n, "with link '%s' the map of domain '%s' would take %zu bytes, more "
		 "than one frame holds (%u): give the link fewer channels or another domain",
		 l->name, l->dom->name, len, VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE);
	return -E2BIG;
}

static void send_link_map(struct client *c, uint32_t id, struct reg_link *l, Vlink__End end)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__LinkMap lm = VLINK__LINK_MAP__INIT;
	struct reg_layout lay;
	struct memdesc m;

	memdesc_fill(l->dom, &m);
	reg_link_layout(l, &lay);
	lm.domain = l->dom->name;
	lm.pool_size = l->dom->pool.size;
	lm.n_segments = l->dom->pool.nseg;
	lm.segments = m.segp;
	lm.region = &m.reg;
	lm.link = &lay.msg;
	lm.end = end;
	lm.generation = l->dom->generation;
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_LINK_MAP;
	env.link_map = &lm;
	send_env(c, &env, m.fds, m.nfds);
}

/* What only the daemon writes in a link's shared memory must be as the
 * daemon wrote it (an end of the link may have scribbled on it): checked
 * before a client maps the link and every GUARD_MS, so that a guest app
 * opening the link after a hostile one finds it intact. */
#define GUARD_MS 1000

static void repair_link(struct reg_link *l, const char *when)
{
	unsigned f = reg_link_repair(l);

	if (f)
		log_warn("link '%s': %s%s%s overwritten in shared memory (by an end of the "
			 "link?); restored %s", l->name,
			 f & REG_REPAIRED_HEADER ? "line 0 of its header (magic, sizes)" : "",
			 f == (REG_REPAIRED_HEADER | REG_REPAIRED_ENTRY) ? " and " : "",
			 f & REG_REPAIRED_ENTRY ? "its link table entry" : "", when);
}

static void repair_for(struct reg_link *l, const struct client *c)
{
	char when[64];

	snprintf(when, sizeof(when), "before client %u maps it", c->id);
	repair_link(l, when);
}

static void on_guard(uv_timer_t *t)
{
	struct server *s = t->data;

	for (struct reg_link *l = s->reg.links; l; l = l->next)
		repair_link(l, "by the periodic check");
}

static struct client *domain_qemu(struct server *s, const struct reg_domain *d)
{
	for (struct client *c = s->clients; c; c = c->next)
		if (c->att == ATT_DOMAIN && c->dom == d)
			return c;
	return NULL;
}

/* Push an event to monitors and to clients attached in `dom`
 * (except `skip`).  QEMU clients of the domain also get a fresh DomainMap
 * when the link table changed. */
static void send_event(struct client *c, Vlink__Event__Kind kind, const char *link,
		       const char *domain, Vlink__End end)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Event ev = VLINK__EVENT__INIT;

	ev.kind = kind;
	ev.link = (char *)(link ? link : "");
	ev.domain = (char *)(domain ? domain : "");
	ev.end = end;
	env.msg_case = VLINK__ENVELOPE__MSG_EVENT;
	env.event = &ev;
	send_env(c, &env, NULL, 0);
}

static void broadcast(struct server *s, Vlink__Event__Kind kind, const char *link,
		      struct reg_domain *dom, Vlink__End end, struct client *skip)
{
	bool table = kind == VLINK__EVENT__KIND__LINK_CREATED ||
		     kind == VLINK__EVENT__KIND__LINK_DELETED;

	for (struct client *c = s->clients; c; c = c->next) {
		bool in_dom = dom && c->att != ATT_NONE && c->dom == dom;

		if (c == skip || !(c->monitor || in_dom || kind == VLINK__EVENT__KIND__DAEMON_EXIT))
			continue;
		send_event(c, kind, link, dom ? dom->name : NULL, end);
		if (table && c->att == ATT_DOMAIN && c->dom == dom)
			send_domain_map(c, 0, dom);
	}
}

static void detach(struct client *c, bool notify)
{
	struct server *s = c->srv;
	struct reg_domain *d = c->dom;

	if (c->att == ATT_NONE)
		return;
	if (c->att == ATT_LINK) {
		struct reg_link *l = c->link;

		if (l->host == c)
			l->host = NULL;
		if (l->peer == c)
			l->peer = NULL;
		log_info("client %u: %s end of link '%s' detached", c->id,
			 end_name(c->end), l->name);
		if (notify)
			broadcast(s, VLINK__EVENT__KIND__END_DOWN, l->name, d, c->end, c);
	} else {
		log_info("client %u: detached from domain '%s'", c->id, d->name);
		if (notify)
			for (struct reg_link *l = s->reg.links; l; l = l->next)
				if (l->dom == d)
					broadcast(s, VLINK__EVENT__KIND__END_DOWN, l->name, d,
						  VLINK__END__END_PEER, c);
	}
	c->att = ATT_NONE;
	c->link = NULL;
	c->dom = NULL;
	d->nattached--;
	/* at shutdown, keep even an empty domain's memory for the next daemon */
	if (!s->stopping && reg_domain_release(&s->reg, d))
		save_state(s);
}

static void fill_info(struct server *s, struct reg_link *l, Vlink__LinkInfo *info,
		      struct reg_layout *lay)
{
	vlink__link_info__init(info);
	reg_link_layout(l, lay);
	info->layout = &lay->msg;
	info->host_attached = l->host != NULL;
	info->peer_attached = l->peer != NULL || domain_qemu(s, l->dom) != NULL;
	info->from_config = l->from_config;
}

static void reply_link_info(struct client *c, uint32_t id, struct reg_link *l)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__LinkInfo info;
	struct reg_layout lay;

	fill_info(c->srv, l, &info, &lay);
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_LINK_INFO;
	env.link_info = &info;
	send_env(c, &env, NULL, 0);
}

static int create_link(struct server *s, const struct reg_link_params *p,
		       struct reg_link **out, char *why, size_t n)
{
	struct reg_link *l;
	int err = reg_link_create(&s->reg, p, &l, why, n);

	if (err)
		return err;
	err = dmap_check(s, l, why, n);
	if (!err)
		err = state_save(&s->reg, s->state_dir, s->daemon_id, why, n);
	if (err) {
		struct reg_domain *d = l->dom;

		reg_link_delete(&s->reg, l, true, NULL, 0);
		reg_domain_release(&s->reg, d);
		return err;
	}
	log_info("link '%s' created: domain '%s', %u data channel(s), ring %u, pool "
		 "offset %llu (+%llu MiB)", l->name, l->dom->name, l->nchannels,
		 l->ring_size, (unsigned long long)l->buf_offset,
		 (unsigned long long)(l->buf_area >> 20));
	broadcast(s, VLINK__EVENT__KIND__LINK_CREATED, l->name, l->dom,
		  VLINK__END__END_UNSPECIFIED, NULL);
	if (out)
		*out = l;
	return 0;
}

static int delete_link(struct server *s, struct reg_link *l, bool force, char *why, size_t n)
{
	struct reg_domain *d = l->dom;
	char name[VLINK_NAME_MAX + 1];
	int err;

	struct client *q = domain_qemu(s, d);

	/* QEMU holding the domain is the guest's (peer) end of every link in it */
	if (q && !force) {
		snprintf(why, n, "link '%s' is in domain '%s', which QEMU (client %u, pid %d) "
			 "has attached; stop the guest's use of it or use --force",
			 l->name, d->name, q->id, (int)q->pid);
		return -EBUSY;
	}
	strcpy(name, l->name);
	err = reg_link_delete(&s->reg, l, force, why, n);
	if (err)
		return err;
	/* the registry freed l; forget it in the clients that held it */
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->att == ATT_LINK && c->link == l) {
			c->att = ATT_NONE;
			c->link = NULL;
			c->dom = NULL;
			d->nattached--;
			log_info("client %u: link '%s' deleted under it (--force)", c->id, name);
			send_event(c, VLINK__EVENT__KIND__LINK_DELETED, name, d->name,
				   VLINK__END__END_UNSPECIFIED);
		}
	}
	log_info("link '%s' deleted", name);
	broadcast(s, VLINK__EVENT__KIND__LINK_DELETED, name, d, VLINK__END__END_UNSPECIFIED,
		  NULL);
	reg_domain_release(&s->reg, d);
	save_state(s);
	return 0;
}

static void on_hello(struct client *c, uint32_t id, const Vlink__Hello *h)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__HelloReply r = VLINK__HELLO_REPLY__INIT;
	struct server *s = c->srv;

	if (h->version < VLINK_PROTOCOL_MIN || h->version > VLINK_PROTOCOL_VERSION) {
		char why[WHY];

		snprintf(why, sizeof(why), "protocol version %u not supported (daemon speaks %d to %d)",
			 h->version, VLINK_PROTOCOL_MIN, VLINK_PROTOCOL_VERSION);
		send_error(c, id, -EPROTONOSUPPORT, why);
		c->dead = true;
		return;
	}
	c->hello = true;
	c->version = h->version;
	c->role = h->role;
	snprintf(c->name, sizeof(c->name), "%s", h->client ? h->client : "");
	for (char *p = c->name; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	log_debug("client %u: hello from %s '%s' (pid %d uid %d)", c->id, role_name(c->role),
		  c->name, (int)c->pid, (int)c->uid);
	r.daemon_version = (char *)PACKAGE_VERSION;
	r.daemon_id = s->daemon_id;
	r.version = c->version;
	r.start_time = (uint64_t)s->start_time;
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_HELLO_REPLY;
	env.hello_reply = &r;
	send_env(c, &env, NULL, 0);
}

static void on_create(struct client *c, uint32_t id, const Vlink__CreateLink *m)
{
	struct reg_link_params p = { 0 };
	struct reg_link *l;
	char why[WHY];
	int err;

	p.name = m->name;
	p.mac = m->mac;
	p.domain = m->domain;
	p.nchannels = m->nchannels;
	p.ring_size = m->ring_size;
	p.mtu = m->mtu;
	err = create_link(c->srv, &p, &l, why, sizeof(why));
	if (err) {
		log_info("client %u: create-link refused: %s", c->id, why);
		send_error(c, id, err, why);
		return;
	}
	reply_link_info(c, id, l);
}

static struct reg_link *need_link(struct client *c, uint32_t id, const char *name)
{
	struct reg_link *l = name ? reg_link_find(&c->srv->reg, name) : NULL;

	if (!l) {
		char why[WHY];

		snprintf(why, sizeof(why), "no link named '%.64s'", name ? name : "");
		send_error(c, id, -ENOENT, why);
	}
	return l;
}

static void on_delete(struct client *c, uint32_t id, const Vlink__DeleteLink *m)
{
	struct reg_link *l = need_link(c, id, m->name);
	char why[WHY];
	int err;

	if (!l)
		return;
	err = delete_link(c->srv, l, m->force, why, sizeof(why));
	if (err) {
		send_error(c, id, err, why);
		return;
	}
	send_ok(c, id);
}

/* A reply whose repeated fields may take several frames (LinkList,
 * StatusReply): up to two fields, sent in order (the second starts once the
 * first is all sent); set() points field f of the message at `count`
 * items from `first`. */
struct parts {
	unsigned nfields;
	void *const *items[2];
	size_t len[2];
	void (*set)(void *msg, unsigned f, void *const *first, size_t count);
	void *msg;
	const char *what;               /* "links": for the version 1 refusal */
	const char *entry;              /* "a link's entry": for one too large */
};

/* Send env (its message set up by p->set) in as many parts as the fields
 * take, each up to the server's part room, Envelope.more on all but the
 * last.  A version 1 client reads one frame per request: it gets an Error
 * instead of a reply that needs more. */
static void send_parts(struct client *c, Vlink__Envelope *env, const struct parts *p)
{
	size_t at[2] = { 0, 0 }, to[2], total = 0;
	char why[WHY];
	bool rest;

	for (unsigned f = 0; f < p->nfields; f++)
		total += p->len[f];
	do {
		size_t left = c->srv->part_room;
		bool moved = false;

		rest = false;
		for (unsigned f = 0; f < p->nfields; f++) {
			to[f] = f && to[f - 1] < p->len[f - 1] ? at[f] :
				vlink_msg_part_fill(p->items[f], at[f], p->len[f], &left);
			moved |= to[f] > at[f];
			rest |= to[f] < p->len[f];
		}
		/* an entry is far smaller than a part (a link has 64 channels
		 * at most) */
		if (!moved && rest) {
			snprintf(why, sizeof(why), "%s does not fit a frame", p->entry);
			send_error(c, env->id, -E2BIG, why);
			return;
		}
		if (rest && c->version < 2) {
			snprintf(why, sizeof(why), "the reply (%zu %s) needs more than one frame: "
				 "protocol version %u clients get one (use a newer client)", total,
				 p->what, c->version);
			send_error(c, env->id, -E2BIG, why);
			return;
		}
		env->more = rest;
		for (unsigned f = 0; f < p->nfields; f++) {
			p->set(p->msg, f, p->items[f] + at[f], to[f] - at[f]);
			at[f] = to[f];
		}
		send_env(c, env, NULL, 0);
	} while (rest && !c->dead);
}

static int info_by_name(const void *a, const void *b)
{
	const Vlink__LinkInfo *x = *(Vlink__LinkInfo *const *)a;
	const Vlink__LinkInfo *y = *(Vlink__LinkInfo *const *)b;

	return strcmp(x->layout->name, y->layout->name);
}

static int domain_info_by_name(const void *a, const void *b)
{
	return strcmp((*(Vlink__DomainInfo *const *)a)->name, (*(Vlink__DomainInfo *const *)b)->name);
}

static void list_set(void *msg, unsigned f, void *const *first, size_t count)
{
	Vlink__LinkList *ll = msg;

	(void)f;
	ll->links = (Vlink__LinkInfo **)first;
	ll->n_links = count;
}

/* Every link in name order, in as many LinkList parts as it takes. */
static void on_list(struct client *c, uint32_t id)
{
	struct server *s = c->srv;
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__LinkList ll = VLINK__LINK_LIST__INIT;
	size_t n = s->reg.nlinks, i = 0;
	Vlink__LinkInfo *info = calloc(n + 1, sizeof(*info));
	Vlink__LinkInfo **infop = calloc(n + 1, sizeof(*infop));
	struct reg_layout *lay = calloc(n + 1, sizeof(*lay));

	if (!info || !infop || !lay) {
		send_error(c, id, -ENOMEM, "out of memory");
		goto out;
	}
	for (struct reg_link *l = s->reg.links; l && i < n; l = l->next, i++) {
		fill_info(s, l, &info[i], &lay[i]);
		infop[i] = &info[i];
	}
	n = i;
	qsort(infop, n, sizeof(*infop), info_by_name);
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_LINK_LIST;
	env.link_list = &ll;
	send_parts(c, &env, &(struct parts){ .nfields = 1, .items = { (void *const *)infop },
					     .len = { n }, .set = list_set, .msg = &ll,
					     .what = "links", .entry = "a link's entry" });
out:
	free(lay);
	free(infop);
	free(info);
}

static void status_set(void *msg, unsigned f, void *const *first, size_t count)
{
	Vlink__StatusReply *r = msg;

	if (f == 0) {
		r->clients = (Vlink__ClientInfo **)first;
		r->n_clients = count;
	} else {
		r->domains = (Vlink__DomainInfo **)first;
		r->n_domains = count;
	}
}

static void on_status(struct client *c, uint32_t id)
{
	struct server *s = c->srv;
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__StatusReply r = VLINK__STATUS_REPLY__INIT;
	size_t nc = 0, nd = 0, i;
	Vlink__ClientInfo *ci, **cip;
	Vlink__DomainInfo *di, **dip;
	char (*att)[96];

	for (struct client *x = s->clients; x; x = x->next)
		nc++;
	for (struct reg_domain *d = s->reg.domains; d; d = d->next)
		nd++;
	ci = calloc(nc + 1, sizeof(*ci));
	cip = calloc(nc + 1, sizeof(*cip));
	att = calloc(nc + 1, sizeof(*att));
	di = calloc(nd + 1, sizeof(*di));
	dip = calloc(nd + 1, sizeof(*dip));
	if (!ci || !cip || !att || !di || !dip) {
		send_error(c, id, -ENOMEM, "out of memory");
		goto out;
	}
	i = 0;
	for (struct client *x = s->clients; x; x = x->next, i++) {
		vlink__client_info__init(&ci[i]);
		ci[i].id = x->id;
		ci[i].role = x->role;
		ci[i].pid = (uint32_t)x->pid;
		ci[i].uid = (uint32_t)x->uid;
		ci[i].client = x->name;
		if (x->att == ATT_LINK)
			snprintf(att[i], sizeof(att[i]), "link %s (%s)", x->link->name,
				 end_name(x->end));
		else if (x->att == ATT_DOMAIN)
			snprintf(att[i], sizeof(att[i]), "domain %s", x->dom->name);
		ci[i].attached = att[i];
		cip[i] = &ci[i];
	}
	i = 0;
	for (struct reg_domain *d = s->reg.domains; d; d = d->next, i++) {
		vlink__domain_info__init(&di[i]);
		di[i].name = d->name;
		di[i].pool_size = d->pool.size;
		di[i].pool_used = reg_pool_used(&s->reg, d);
		di[i].page_size = d->pool.page_size;
		di[i].hugepages = d->pool.hugepages;
		di[i].nsegments = d->pool.nseg;
		di[i].region_size = d->region.size;
		di[i].nlinks = d->nlinks;
		dip[i] = &di[i];
	}
	/* the registry keeps newest first, a restart reverses that: name order */
	qsort(dip, nd, sizeof(*dip), domain_info_by_name);
	r.daemon_version = (char *)PACKAGE_VERSION;
	r.daemon_id = s->daemon_id;
	r.uptime = (uint64_t)(time(NULL) - s->start_time);
	r.pid = (uint32_t)getpid();
	r.nlinks = s->reg.nlinks;
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_STATUS_REPLY;
	env.status_reply = &r;
	/* the clients, then the domains, in as many parts as they take; every
	 * part repeats the daemon's fields */
	send_parts(c, &env, &(struct parts){ .nfields = 2,
					     .items = { (void *const *)cip, (void *const *)dip },
					     .len = { nc, nd }, .set = status_set, .msg = &r,
					     .what = "clients and domains",
					     .entry = "a client's or domain's entry" });
out:
	free(dip);
	free(di);
	free(att);
	free(cip);
	free(ci);
}

static bool check_unattached(struct client *c, uint32_t id)
{
	char why[WHY];

	if (c->att == ATT_NONE)
		return true;
	snprintf(why, sizeof(why), "this connection is already attached to %s '%s'; "
		 "send Detach first", c->att == ATT_LINK ? "link" : "domain",
		 c->att == ATT_LINK ? c->link->name : c->dom->name);
	send_error(c, id, -EISCONN, why);
	return false;
}

static void on_attach_domain(struct client *c, uint32_t id, const Vlink__AttachDomain *m)
{
	struct server *s = c->srv;
	struct reg_domain *d;
	struct client *other;
	bool existed;
	char why[WHY];
	int err;

	if (!check_unattached(c, id))
		return;
	existed = reg_domain_find(&s->reg, m->domain) != NULL;
	err = reg_domain_get(&s->reg, m->domain, &d, why, sizeof(why));
	if (err) {
		send_error(c, id, err, why);
		return;
	}
	other = domain_qemu(s, d);
	if (other) {
		snprintf(why, sizeof(why), "domain '%s' is already attached by client %u (pid %d)",
			 d->name, other->id, (int)other->pid);
		send_error(c, id, -EBUSY, why);
		return;
	}
	/* the guest is the peer end of every link of its domain */
	for (struct reg_link *l = s->reg.links; l; l = l->next) {
		const struct client *p = l->peer;

		if (l->dom == d && p) {
			snprintf(why, sizeof(why), "domain '%s': the peer end of its link '%s' is "
				 "attached through the socket (client %u, pid %d); a guest's domain "
				 "cannot share a link with another peer", d->name, l->name, p->id,
				 (int)p->pid);
			send_error(c, id, -EBUSY, why);
			return;
		}
	}
	if (!existed)
		save_state(s);
	c->att = ATT_DOMAIN;
	c->dom = d;
	d->nattached++;
	log_info("client %u (%s, pid %d): attached domain '%s'", c->id, role_name(c->role),
		 (int)c->pid, d->name);
	for (struct reg_link *l = s->reg.links; l; l = l->next)
		if (l->dom == d)
			repair_for(l, c);
	send_domain_map(c, id, d);
	for (struct reg_link *l = s->reg.links; l; l = l->next)
		if (l->dom == d)
			broadcast(s, VLINK__EVENT__KIND__END_UP, l->name, d,
				  VLINK__END__END_PEER, c);
}

static void on_attach_link(struct client *c, uint32_t id, const Vlink__AttachLink *m)
{
	struct reg_link *l;
	struct client *other;
	char why[WHY];

	if (m->end != VLINK__END__END_OBSERVER && !check_unattached(c, id))
		return;
	if (m->end != VLINK__END__END_HOST && m->end != VLINK__END__END_PEER &&
	    m->end != VLINK__END__END_OBSERVER) {
		send_error(c, id, -EINVAL, "end must be host, peer or observer");
		return;
	}
	l = need_link(c, id, m->link);
	if (!l)
		return;
	if (m->end == VLINK__END__END_OBSERVER) {
		log_debug("client %u: observing link '%s'", c->id, l->name);
		repair_for(l, c);
		send_link_map(c, id, l, m->end);
		return;
	}
	other = m->end == VLINK__END__END_HOST ? l->host : l->peer;
	if (!other && m->end == VLINK__END__END_PEER && domain_qemu(c->srv, l->dom)) {
		other = domain_qemu(c->srv, l->dom);
		snprintf(why, sizeof(why), "link '%s' is in domain '%s', which QEMU (client %u, "
			 "pid %d) has attached: its peer end is the guest", l->name, l->dom->name,
			 other->id, (int)other->pid);
		send_error(c, id, -EBUSY, why);
		return;
	}
	if (other) {
		snprintf(why, sizeof(why), "the %s end of link '%s' is already attached "
			 "(client %u, pid %d)", end_name(m->end), l->name, other->id,
			 (int)other->pid);
		send_error(c, id, -EBUSY, why);
		return;
	}
	c->att = ATT_LINK;
	c->link = l;
	c->dom = l->dom;
	c->end = m->end;
	l->dom->nattached++;
	if (m->end == VLINK__END__END_HOST)
		l->host = c;
	else
		l->peer = c;
	log_info("client %u (%s, pid %d): attached the %s end of link '%s'", c->id,
		 role_name(c->role), (int)c->pid, end_name(m->end), l->name);
	repair_for(l, c);
	send_link_map(c, id, l, m->end);
	broadcast(c->srv, VLINK__EVENT__KIND__END_UP, l->name, l->dom, m->end, c);
}

/* Queue the notifiers of link l's channels (GetNotifiers) in parts of
 * at most VLINK_NOTIFIER_PART channels, the frame's fds; more: whether
 * parts follow those of this link.  No link: one empty Notifiers. */
#define VLINK_NOTIFIER_PART (VLINK_FRAME_MAX_FDS / 2)
static void send_notifiers(struct client *c, uint32_t id, struct reg_link *l, bool more)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Notifiers nm = VLINK__NOTIFIERS__INIT;
	Vlink__ChannelNotifier cn[VLINK_NOTIFIER_PART], *cnp[VLINK_NOTIFIER_PART];

	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_NOTIFIERS;
	env.notifiers = &nm;
	nm.channels = cnp;
	if (!l) {
		send_env(c, &env, NULL, 0);
		return;
	}
	for (uint32_t first = 1; first <= l->nchannels; first += VLINK_NOTIFIER_PART) {
		unsigned k = 0;

		for (uint32_t ch = first; ch <= l->nchannels && k < VLINK_NOTIFIER_PART; ch++, k++) {
			vlink__channel_notifier__init(&cn[k]);
			cn[k].link = l->name;
			cn[k].channel = ch;
			cn[k].wake_host = 2 * k;
			cn[k].wake_peer = 2 * k + 1;
			cnp[k] = &cn[k];
		}
		nm.n_channels = k;
		env.more = more || first + VLINK_NOTIFIER_PART <= l->nchannels;
		send_env(c, &env, &l->notify[2 * (first - 1)], 2 * k);
	}
}

/* GetNotifiers: the attached link's, or the attached domain's links'
 * (one named, or all: a domain with none gets an empty Notifiers). */
static void on_get_notifiers(struct client *c, uint32_t id, const Vlink__GetNotifiers *m)
{
	struct server *s = c->srv;
	struct reg_link *one = NULL, *last = NULL;
	char why[WHY];
	int err;

	if (c->att == ATT_NONE) {
		send_error(c, id, -ENOTCONN, "not attached: attach a link or a domain first");
		return;
	}
	if (c->att == ATT_LINK)
		one = c->link;
	if (m->link[0]) {
		struct reg_link *l = need_link(c, id, m->link);

		if (!l)
			return;
		if (c->att == ATT_LINK ? l != c->link : l->dom != c->dom) {
			snprintf(why, sizeof(why), "link '%s' is not %s '%s'", l->name,
				 c->att == ATT_LINK ? "the attached link" : "in the attached domain",
				 c->att == ATT_LINK ? c->link->name : c->dom->name);
			send_error(c, id, -EINVAL, why);
			return;
		}
		one = l;
	}
	/* make them all first: a client gets all it asked for or an Error */
	for (struct reg_link *l = s->reg.links; l; l = l->next) {
		if (one ? l != one : l->dom != c->dom)
			continue;
		err = reg_link_notifiers(l, why, sizeof(why));
		if (err) {
			send_error(c, id, err, why);
			return;
		}
		last = l;
	}
	if (!last) {
		send_notifiers(c, id, NULL, false);
		return;
	}
	log_debug("client %u: notifiers of %s '%s'", c->id, one ? "link" : "domain",
		  one ? one->name : c->dom->name);
	for (struct reg_link *l = s->reg.links; l && !c->dead; l = l->next)
		if (one ? l == one : l->dom == c->dom)
			send_notifiers(c, id, l, l != last);
}

static void dispatch(struct client *c, Vlink__Envelope *env)
{
	uint32_t id = env->id;
	char why[WHY];

	if (!c->hello && env->msg_case != VLINK__ENVELOPE__MSG_HELLO) {
		send_error(c, id, -EPROTO, "the first message must be Hello");
		return;
	}
	switch (env->msg_case) {
	case VLINK__ENVELOPE__MSG_HELLO:
		if (c->hello)
			send_error(c, id, -EPROTO, "Hello sent twice");
		else
			on_hello(c, id, env->hello);
		break;
	case VLINK__ENVELOPE__MSG_CREATE_LINK:
		on_create(c, id, env->create_link);
		break;
	case VLINK__ENVELOPE__MSG_DELETE_LINK:
		on_delete(c, id, env->delete_link);
		break;
	case VLINK__ENVELOPE__MSG_LIST_LINKS:
		on_list(c, id);
		break;
	case VLINK__ENVELOPE__MSG_SHOW_LINK: {
		struct reg_link *l = need_link(c, id, env->show_link->name);

		if (l)
			reply_link_info(c, id, l);
		break;
	}
	case VLINK__ENVELOPE__MSG_STATUS:
		on_status(c, id);
		break;
	case VLINK__ENVELOPE__MSG_MONITOR:
		c->monitor = true;
		send_ok(c, id);
		break;
	case VLINK__ENVELOPE__MSG_ATTACH_DOMAIN:
		on_attach_domain(c, id, env->attach_domain);
		break;
	case VLINK__ENVELOPE__MSG_ATTACH_LINK:
		on_attach_link(c, id, env->attach_link);
		break;
	case VLINK__ENVELOPE__MSG_GET_NOTIFIERS:
		on_get_notifiers(c, id, env->get_notifiers);
		break;
	case VLINK__ENVELOPE__MSG_DETACH:
		if (c->att == ATT_NONE) {
			send_error(c, id, -ENOTCONN, "not attached");
			break;
		}
		detach(c, true);
		send_ok(c, id);
		break;
	default:
		snprintf(why, sizeof(why), "%s is not a request the daemon answers",
			 vlink_msg_name(env->msg_case));
		send_error(c, id, -EPROTO, why);
		break;
	}
}

static void on_frame(struct client *c, struct vlink_frame *f)
{
	Vlink__Envelope *env;
	int err;

	if (client_stalled(c)) {
		vlink_frame_close_fds(f);
		return;
	}
	if (f->nfds) {
		vlink_frame_close_fds(f);
		send_error(c, 0, -EPROTO, "clients may not send file descriptors");
		return;
	}
	err = vlink_msg_decode(f, &env);
	if (err) {
		log_debug("client %u: undecodable message (%u bytes)", c->id, f->len);
		send_error(c, 0, -EBADMSG, "malformed message (not a vlink Envelope)");
		return;
	}
	dispatch(c, env);
	vlink_msg_free(env);
}

static void client_read(struct client *c)
{
	for (;;) {
		struct vlink_frame f;
		ssize_t n = vlink_reader_fill(&c->rd);
		int k;

		if (n == -EAGAIN)
			return;
		if (n == 0) {
			if (vlink_reader_pending(&c->rd))
				log_info("client %u: closed in the middle of a frame", c->id);
			c->dead = true;
			return;
		}
		while (n > 0 && !c->dead && (k = vlink_reader_next(&c->rd, &f)) == 1)
			on_frame(c, &f);
		if (c->rd.error) {
			log_warn("client %u (pid %d): %s: %s; closing", c->id, (int)c->pid,
				 c->rd.why ? c->rd.why : "read error",
				 strerror(-c->rd.error));
			c->dead = true;
		}
		if (c->dead)
			return;
	}
}

static void on_client_poll(uv_poll_t *h, int status, int events)
{
	struct client *c = h->data;

	if (status < 0) {
		c->dead = true;
	} else {
		if (events & UV_READABLE)
			client_read(c);
		if (!c->dead && vlink_writer_pending(&c->wr)) {
			int err = vlink_writer_flush(&c->wr);

			if (err && err != -EAGAIN)
				c->dead = true;
		}
	}
	if (c->dead)
		client_close(c);
	else
		client_update_poll(c);
}

static void client_update_poll(struct client *c)
{
	int want = UV_READABLE | (vlink_writer_pending(&c->wr) ? UV_WRITABLE : 0);

	if (c->dead || want == c->poll_events)
		return;
	c->poll_events = want;
	uv_poll_start(&c->poll, want, on_client_poll);
}

static void on_client_closed(uv_handle_t *h)
{
	struct client *c = h->data;

	vlink_reader_destroy(&c->rd);
	vlink_writer_destroy(&c->wr);
	close(c->fd);
	free(c);
}

static void client_close(struct client *c)
{
	struct server *s = c->srv;
	struct client **pp;

	for (pp = &s->clients; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	*pp = c->next;
	/* best effort: what is queued (an Error, say) may still go out */
	vlink_writer_flush(&c->wr);
	c->dead = true;
	detach(c, !s->stopping);
	log_debug("client %u: closed", c->id);
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, on_client_closed);
}

static bool allowed(const struct server *s, const struct ucred *cr)
{
	if (cr->uid == 0 || cr->uid == getuid())
		return true;
	for (unsigned i = 0; i < s->nallow_uid; i++)
		if (s->allow_uid[i] == cr->uid)
			return true;
	for (unsigned i = 0; i < s->nallow_gid; i++)
		if (s->allow_gid[i] == cr->gid)
			return true;
	return false;
}

static void refuse(int fd, const struct ucred *cr)
{
	struct vlink_writer w;
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Error e = VLINK__ERROR__INIT;
	char why[WHY];

	snprintf(why, sizeof(why), "uid %d is not allowed to use vlinkd "
		 "(see vlinkd --allow-uid/--allow-gid)", (int)cr->uid);
	log_warn("refused a connection from pid %d uid %d gid %d", (int)cr->pid,
		 (int)cr->uid, (int)cr->gid);
	e.code = EACCES;
	e.message = why;
	env.msg_case = VLINK__ENVELOPE__MSG_ERROR;
	env.error = &e;
	vlink_writer_init(&w, fd);
	if (!vlink_msg_push(&w, &env, NULL, 0))
		vlink_writer_flush(&w);
	vlink_writer_destroy(&w);
	close(fd);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct server *s = h->data;

	(void)status;
	(void)events;

	for (;;) {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		struct client *c;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
			log_warn("SO_PEERCRED: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (!allowed(s, &cr)) {
			refuse(fd, &cr);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->id = ++s->next_client_id;
		c->fd = fd;
		c->pid = cr.pid;
		c->uid = cr.uid;
		c->gid = cr.gid;
		vlink_reader_init(&c->rd, fd);
		vlink_writer_init(&c->wr, fd);
		if (uv_poll_init(s->loop, &c->poll, fd) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->poll.data = c;
		c->next = s->clients;
		s->clients = c;
		client_update_poll(c);
		log_debug("client %u: connected (pid %d uid %d)", c->id, (int)cr.pid,
			  (int)cr.uid);
	}
}

static int listen_socket(struct server *s, char *why, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(s->socket_path) >= sizeof(sa.sun_path)) {
		snprintf(why, n, "socket path %s is too long", s->socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, s->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a live daemon answers; a stale socket file is removed */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		snprintf(why, n, "another vlinkd is listening on %s", s->socket_path);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(s->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(s->socket_path, 0660) < 0 ||
	    (s->socket_gid != (gid_t)-1 && chown(s->socket_path, (uid_t)-1, s->socket_gid) < 0) ||
	    listen(fd, 64) < 0) {
		err = -errno;
		snprintf(why, n, "cannot listen on %s: %s", s->socket_path, strerror(errno));
		close(fd);
		return err;
	}
	s->listen_fd = fd;
	return 0;
}

int server_apply_config(struct server *s, bool startup, char *why, size_t n)
{
	struct config cfg;
	struct reg_link *l, *next;
	int err;

	if (!s->config_path)
		return 0;
	err = config_parse_file(s->config_path, &cfg, why, n);
	if (err)
		return err;
	for (unsigned i = 0; i < cfg.nlinks; i++) {
		const struct config_link *cl = &cfg.links[i];
		struct reg_link_params p = { .name = cl->name, .mac = cl->mac,
					     .domain = cl->domain, .nchannels = cl->nchannels,
					     .from_config = true };
		char msg[WHY];

		l = reg_link_find(&s->reg, cl->name);
		if (l) {
			uint8_t mac[6];

			vlink_mac_parse(cl->mac, mac, NULL, 0);
			if (memcmp(mac, l->mac, 6) || l->nchannels != cl->nchannels ||
			    strcmp(l->dom->name, cl->domain))
				log_warn("%s:%u: link '%s' exists with other parameters; "
					 "left as it is (delete it to apply the file)",
					 s->config_path, cl->line, cl->name);
			continue;
		}
		err = create_link(s, &p, NULL, msg, sizeof(msg));
		if (err) {
			snprintf(why, n, "%s:%u: cannot create link '%s': %s", s->config_path,
				 cl->line, cl->name, msg);
			if (startup) {
				config_free(&cfg);
				return err;
			}
			log_err("%s", why);
		}
	}
	/* links an earlier version of the file created and this one dropped */
	for (l = s->reg.links; l; l = next) {
		bool listed = false;
		char msg[WHY];

		next = l->next;
		if (!l->from_config)
			continue;
		for (unsigned i = 0; i < cfg.nlinks; i++)
			listed |= !strcmp(cfg.links[i].name, l->name);
		if (listed)
			continue;
		if (delete_link(s, l, false, msg, sizeof(msg)))
			log_warn("%s: %s (kept)", s->config_path, msg);
	}
	config_free(&cfg);
	return 0;
}

int server_start(struct server *s, char *why, size_t n)
{
	int err;

	s->listen_fd = -1;
	s->start_time = time(NULL);
	s->part_room = VLINK_PART_ROOM;
	if (getenv("VLINKD_PART_ROOM")) {
		uint64_t v;

		if (vlink_parse_uint(getenv("VLINKD_PART_ROOM"), VLINK_PART_ROOM, &v) || v < 256) {
			snprintf(why, n, "VLINKD_PART_ROOM: a number of bytes from 256 to %u, not '%s'",
				 VLINK_PART_ROOM, getenv("VLINKD_PART_ROOM"));
			return -EINVAL;
		}
		s->part_room = (size_t)v;
		log_info("reply parts of at most %zu bytes (VLINKD_PART_ROOM)", s->part_room);
	}
	err = state_load(&s->reg, s->state_dir, s->daemon_id, why, n);
	if (err)
		return err;
	s->reg.mem.daemon_id = s->daemon_id;
	log_info("state: %u link(s) from %s/state (daemon id %s)", s->reg.nlinks,
		 s->state_dir, s->daemon_id);
	err = state_save(&s->reg, s->state_dir, s->daemon_id, why, n);
	if (err)
		goto err_reg;
	err = server_apply_config(s, true, why, n);
	if (err)
		goto err_reg;
	err = listen_socket(s, why, n);
	if (err)
		goto err_reg;
	err = uv_poll_init(s->loop, &s->listen_poll, s->listen_fd);
	if (err) {
		snprintf(why, n, "uv_poll_init: %s", uv_strerror(err));
		goto err_sock;
	}
	s->listen_poll.data = s;
	uv_poll_start(&s->listen_poll, UV_READABLE, on_accept);
	uv_timer_init(s->loop, &s->guard);
	s->guard.data = s;
	uv_timer_start(&s->guard, on_guard, GUARD_MS, GUARD_MS);
	return 0;

err_sock:
	close(s->listen_fd);
	unlink(s->socket_path);
	s->listen_fd = -1;
err_reg:
	reg_fini(&s->reg);
	return err;
}

void server_stop(struct server *s)
{
	s->stopping = true;
	broadcast(s, VLINK__EVENT__KIND__DAEMON_EXIT, NULL, NULL, VLINK__END__END_UNSPECIFIED,
		  NULL);
	while (s->clients)
		client_close(s->clients);
	save_state(s);
	if (s->listen_fd >= 0) {
		uv_timer_stop(&s->guard);
		uv_close((uv_handle_t *)&s->guard, NULL);
		uv_poll_stop(&s->listen_poll);
		uv_close((uv_handle_t *)&s->listen_poll, NULL);
		close(s->listen_fd);
		unlink(s->socket_path);
		s->listen_fd = -1;
	}
}
