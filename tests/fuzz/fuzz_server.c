/* libFuzzer target: every message handler of vlinkd (vlinkd/server.c
 * dispatch() and the on_* handlers), with the registry, the state file,
 * the config file and the domain memory behind them.
 *
 * The real server runs in this process on a private socket, state dir and
 * shm dir below /dev/shm (tmpfs: the state file's fsyncs are cheap), with
 * no hugepages and 8 MiB pools so that a link is cheap.  The fuzz input
 * (format in fuzz.h) is a sequence of records, each sent on one of
 * SRV_NCONN client connections: frames the harness wraps, raw bytes, frames
 * with fds, or requests built from small alphabets of names so that links
 * and domains collide; or a config file applied as SIGHUP does, or a
 * restart of the daemon from its state file.  After each record the libuv
 * loop runs until the daemon has read everything and the harness has read
 * every reply.  Each input starts from a fresh daemon (empty state).
 *
 * Checked:
 *  - everything the daemon sends decodes, and the fds it sends are open;
 *  - every request the harness built gets a reply with its id, unless the
 *    daemon closed the connection;
 *  - the registry agrees with itself (link and domain counts, nattached
 *    equals what `vlinkd status` says is attached, at most one host and
 *    one peer per link) and with the shm dir (every domain's files are
 *    there, no file of a domain that is gone);
 *  - a restart reloads exactly the links there were;
 *  - at the end of the input the daemon still answers Hello and Status on
 *    a new connection, and once every client has gone nothing is attached,
 *    no domain is left without a link, and no fd is left open. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "fuzz.h"
#include "log.h"
#include "server.h"
#include "testutil.h"
#include "vlink_error.h"
#include "vlink_frame.h"
#include "vlink_msg.h"

#define MiB        (1ull << 20)
#define MAXRECORDS 64
#define ID_OURS    0x80000000u   /* ids of the requests the harness builds */
#define MAXWAIT    64            /* requests of ours awaiting a reply */

struct conn {
	int fd;                        /* -1: not connected */
	bool eof;                      /* the daemon closed it */
	struct vlink_writer w;
	struct vlink_reader *r;
	uint32_t wait[MAXWAIT];        /* ids of ours not answered yet */
	unsigned nwait;
	/* what the end-of-input check wants: a HelloReply, the last status */
	bool got_hello;
	Vlink__StatusReply *status;
};

static char dir[64], sock_path[96], state_dir[96], shm_dir[96], cfg_path[96];
static uv_loop_t loop;
static struct server srv;
static struct conn conns[SRV_NCONN + 1]; /* the last one: the final check */
static uint32_t next_id;
static int any_fd;                       /* what SRV_FDS sends */
static bool restarted;                   /* this input restarted the daemon */

/* ---- the daemon ------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

/* empty a directory, keep it */
static void wipe(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static unsigned nfiles;

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)ftw;
	nfiles += flag == FTW_F;
	return 0;
}

static unsigned count_files(const char *path)
{
	nfiles = 0;
	nftw(path, count_entry, 16, FTW_PHYS);
	return nfiles;
}

static void server_begin(void)
{
	char why[512];
	int err;

	memset(&srv, 0, sizeof(srv));
	srv.loop = &loop;
	reg_init(&srv.reg);
	srv.reg.mem.run_dir = dir;
	srv.reg.mem.shm_dir = shm_dir;
	srv.reg.mem.no_hugepages = true;
	srv.reg.mem.segment_size = 2 * MiB;
	srv.reg.pool_size = 8 * MiB; /* a config link (ring 1024) fits */
	srv.state_dir = state_dir;
	srv.socket_path = sock_path;
	srv.socket_gid = (gid_t)-1;
	err = server_start(&srv, why, sizeof(why));
	FZ_ASSERT(err == 0, "server_start: %s", why);
}

/* server_stop() closes the clients; the loop runs their close callbacks */
static void server_end(void)
{
	server_stop(&srv);
	for (int i = 0; uv_loop_alive(&loop); i++) {
		FZ_ASSERT(i < 1000, "handles left open after server_stop");
		uv_run(&loop, UV_RUN_NOWAIT);
	}
}

static void cleanup(void)
{
	wipe(dir);
	rmdir(dir);
}

static void setup_once(void)
{
	snprintf(dir, sizeof(dir), "/dev/shm/vlink-fuzz-XXXXXX");
	FZ_ASSERT(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(shm_dir, sizeof(shm_dir), "%s/shm", dir);
	snprintf(cfg_path, sizeof(cfg_path), "%s/vlinkd.conf", dir);
	FZ_ASSERT(!mkdir(state_dir, 0700) && !mkdir(shm_dir, 0700), "mkdir: %s",
		  strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	/* FUZZ_LOG=1: the daemon logs to stderr, to follow a reproduced input */
	log_setup(false, getenv("FUZZ_LOG") != NULL, LOG_DEBUG);
	FZ_ASSERT(!uv_loop_init(&loop), "uv_loop_init");
	for (unsigned i = 0; i <= SRV_NCONN; i++)
		conns[i].fd = -1;
	any_fd = memfd_create("vlink-fuzz-fd", MFD_CLOEXEC);
	FZ_ASSERT(any_fd >= 0, "memfd_create: %s", strerror(errno));
	server_begin();
}

/* ---- client connections ---------------------------------------------- */

static void conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	vlink_reader_destroy(c->r);
	free(c->r);
	vlink_writer_destroy(&c->w);
	close(c->fd);
	if (c->status)
		vlink__status_reply__free_unpacked(c->status, NULL);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void conn_open(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	conn_close(c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	FZ_ASSERT(c->fd >= 0, "socket: %s", strerror(errno));
	strcpy(sa.sun_path, sock_path);
	FZ_ASSERT(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
		  strerror(errno));
	c->r = malloc(sizeof(*c->r));
	FZ_ASSERT(c->r, "out of memory");
	vlink_reader_init(c->r, c->fd);
	vlink_writer_init(&c->w, c->fd);
}

/* A frame from the daemon: it decodes, its fds are open and come only
 * with a map, a map is one a client accepts. */
static void on_reply(struct conn *c, struct vlink_frame *f)
{
	Vlink__Envelope *e;
	char why[256] = "";
	int err = vlink_msg_decode(f, &e);

	FZ_ASSERT(err == 0, "the daemon sent an undecodable frame of %u bytes", f->len);
	for (unsigned i = 0; i < f->nfds; i++)
		FZ_ASSERT(fcntl(f->fds[i], F_GETFD) >= 0, "the daemon sent a closed fd");
	if (e->msg_case == VLINK__ENVELOPE__MSG_DOMAIN_MAP) {
		const Vlink__DomainMap *m = e->domain_map;

		err = vlink_msg_check_map(m->pool_size, m->n_segments, m->segments, m->region,
					  f->nfds, why, sizeof(why));
	} else if (e->msg_case == VLINK__ENVELOPE__MSG_LINK_MAP) {
		const Vlink__LinkMap *m = e->link_map;

		err = vlink_msg_check_map(m->pool_size, m->n_segments, m->segments, m->region,
					  f->nfds, why, sizeof(why));
	} else if (e->msg_case == VLINK__ENVELOPE__MSG_NOTIFIERS) {
		const Vlink__Notifiers *m = e->notifiers;
		uint64_t seen = 0;

		/* a part is one link's channels: checked as a client would */
		FZ_ASSERT(f->nfds == 2 * m->n_channels, "Notifiers: %zu channels, %u fds",
			  m->n_channels, f->nfds);
		if (m->n_channels)
			err = vlink_msg_check_notifiers(m, f->nfds, m->channels[0]->link,
							VLINK_NCHANNELS_MAX, &seen, why,
							sizeof(why));
	} else {
		FZ_ASSERT(f->nfds == 0, "a %s with %u fds", vlink_msg_name(e->msg_case), f->nfds);
	}
	FZ_ASSERT(err == 0, "the daemon sent a %s a client refuses: %s",
		  vlink_msg_name(e->msg_case), why);
	for (unsigned i = 0; i < c->nwait; i++)
		if (c->wait[i] == e->id) {
			c->wait[i] = c->wait[--c->nwait];
			break;
		}
	if (e->msg_case == VLINK__ENVELOPE__MSG_HELLO_REPLY)
		c->got_hello = true;
	if (e->msg_case == VLINK__ENVELOPE__MSG_STATUS_REPLY) {
		if (c->status)
			vlink__status_reply__free_unpacked(c->status, NULL);
		c->status = e->status_reply;
		e->status_reply = NULL;
		e->msg_case = VLINK__ENVELOPE__MSG__NOT_SET;
	}
	vlink_msg_free(e);
	vlink_frame_close_fds(f);
}

/* Read what the daemon sent; true if anything came. */
static bool conn_read(struct conn *c)
{
	bool progress = false;

	for (;;) {
		struct vlink_frame f;
		ssize_t n;
		int k;

		while ((k = vlink_reader_next(c->r, &f)) == 1) {
			on_reply(c, &f);
			progress = true;
		}
		FZ_ASSERT(k == 0, "the daemon sent a bad stream: %s", c->r->why);
		n = vlink_reader_fill(c->r);
		if (n == -EAGAIN)
			return progress;
		if (n == 0 || n == -ECONNRESET) {
			c->eof = true;
			return true;
		}
		FZ_ASSERT(n > 0, "reading from the daemon: %s", vlink_strerror((int)n));
		progress = true;
	}
}

/* Run the loop until the daemon has taken everything sent and the
 * harness has read everything it sent back, twice with nothing moving. */
static void pump(void)
{
	for (unsigned idle = 0, rounds = 0; idle < 2; rounds++) {
		bool progress = false;

		FZ_ASSERT(rounds < 100000, "the daemon does not take what it is sent");
		uv_run(&loop, UV_RUN_NOWAIT);
		for (unsigned i = 0; i <= SRV_NCONN; i++) {
			struct conn *c = &conns[i];
			int queued = 0;

			if (c->fd < 0 || c->eof)
				continue;
			progress |= conn_read(c);
			if (!c->eof && vlink_writer_pending(&c->w)) {
				int err = vlink_writer_flush(&c->w);

				c->eof = err && err != -EAGAIN;
				progress = true;
			}
			if (!c->eof && ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued > 0)
				progress = true;
		}
		idle = progress ? 0 : idle + 1;
	}
	for (unsigned i = 0; i <= SRV_NCONN; i++)
		FZ_ASSERT(conns[i].fd < 0 || conns[i].eof || conns[i].nwait == 0,
			  "connection %u: request %#x got no reply", i, conns[i].wait[0]);
}

static struct conn *conn_get(unsigned i)
{
	struct conn *c = &conns[i];

	if (c->fd < 0 || c->eof)
		conn_open(c);
	return c;
}

/* Queue a request the harness built, with an id of its own. */
static void request(struct conn *c, Vlink__Envelope *env)
{
	int err;

	env->id = ID_OURS | next_id++;
	err = vlink_msg_push(&c->w, env, NULL, 0);
	FZ_ASSERT(err == 0, "push: %s", vlink_strerror(err));
	if (c->nwait < MAXWAIT)
		c->wait[c->nwait++] = env->id;
	pump();
}

/* Bytes as they are, after what is queued, fds on the first sendmsg. */
static void send_raw(struct conn *c, const uint8_t *p, size_t len, unsigned nfds)
{
	int fds[VLINK_FRAME_MAX_FDS];

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = any_fd;
	pump();
	while (len && !c->eof) {
		ssize_t n = fz_sendmsg(c->fd, p, len, fds, nfds);

		if (n < 0) {
			FZ_ASSERT(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET,
				  "sendmsg: %s", strerror(errno));
			if (errno != EAGAIN)
				c->eof = true;
			pump();
			continue;
		}
		nfds = 0;
		p += n;
		len -= (size_t)n;
	}
	pump();
}

static void send_frame(struct conn *c, const uint8_t *payload, size_t len, unsigned claimed,
		       unsigned nfds)
{
	uint8_t *fr = malloc(VLINK_FRAME_HDR_SIZE + len);

	FZ_ASSERT(fr, "out of memory");
	fz_frame_header(fr, len, claimed);
	memcpy(fr + VLINK_FRAME_HDR_SIZE, payload, len);
	send_raw(c, fr, VLINK_FRAME_HDR_SIZE + len, nfds);
	free(fr);
}

/* ---- records ----------------------------------------------------------- */

static uint32_t srv_nchannels(uint8_t b)
{
	static const uint32_t v[] = { 1, 2, 4, 3, 64, 0, 65 };

	return v[b % (sizeof(v) / sizeof(v[0]))];
}

static uint32_t srv_ring(uint8_t b)
{
	static const uint32_t v[] = { 0, 64, 128, 256, 1024, 16384, 100, 32768 };

	return v[b % (sizeof(v) / sizeof(v[0]))];
}

static void rec_hello(struct fz *f, struct conn *c)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Hello h = VLINK__HELLO__INIT;

	h.role = fz_u8(f) % 6;
	h.version = VLINK_PROTOCOL_VERSION + fz_u8(f);
	h.client = (char *)srv_name(fz_u8(f));
	env.msg_case = VLINK__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	request(c, &env);
}

static void rec_create(struct fz *f, struct conn *c)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__CreateLink m = VLINK__CREATE_LINK__INIT;

	m.name = (char *)srv_name(fz_u8(f));
	m.mac = (char *)srv_mac(fz_u8(f));
	m.nchannels = srv_nchannels(fz_u8(f));
	m.ring_size = srv_ring(fz_u8(f));
	m.domain = (char *)srv_domain(fz_u8(f));
	env.msg_case = VLINK__ENVELOPE__MSG_CREATE_LINK;
	env.create_link = &m;
	request(c, &env);
}

static void rec_req(struct fz *f, struct conn *c)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	uint8_t which = fz_u8(f) % SRV_REQ_N, a = fz_u8(f), b = fz_u8(f);
	union {
		Vlink__DeleteLink del;
		Vlink__ShowLink show;
		Vlink__ListLinks list;
		Vlink__Status status;
		Vlink__Monitor monitor;
		Vlink__AttachDomain ad;
		Vlink__AttachLink al;
		Vlink__Detach detach;
		Vlink__GetNotifiers gn;
	} m;

	switch (which) {
	case SRV_REQ_DELETE:
		vlink__delete_link__init(&m.del);
		m.del.name = (char *)srv_name(a);
		m.del.force = b & 1;
		env.msg_case = VLINK__ENVELOPE__MSG_DELETE_LINK;
		env.delete_link = &m.del;
		break;
	case SRV_REQ_SHOW:
		vlink__show_link__init(&m.show);
		m.show.name = (char *)srv_name(a);
		env.msg_case = VLINK__ENVELOPE__MSG_SHOW_LINK;
		env.show_link = &m.show;
		break;
	case SRV_REQ_LIST:
		vlink__list_links__init(&m.list);
		env.msg_case = VLINK__ENVELOPE__MSG_LIST_LINKS;
		env.list_links = &m.list;
		break;
	case SRV_REQ_STATUS:
		vlink__status__init(&m.status);
		env.msg_case = VLINK__ENVELOPE__MSG_STATUS;
		env.status = &m.status;
		break;
	case SRV_REQ_MONITOR:
		vlink__monitor__init(&m.monitor);
		env.msg_case = VLINK__ENVELOPE__MSG_MONITOR;
		env.monitor = &m.monitor;
		break;
	case SRV_REQ_ATTACH_DOMAIN:
		vlink__attach_domain__init(&m.ad);
		m.ad.domain = (char *)srv_domain(a);
		env.msg_case = VLINK__ENVELOPE__MSG_ATTACH_DOMAIN;
		env.attach_domain = &m.ad;
		break;
	case SRV_REQ_ATTACH_LINK:
		vlink__attach_link__init(&m.al);
		m.al.link = (char *)srv_name(a);
		m.al.end = b % 5;
		env.msg_case = VLINK__ENVELOPE__MSG_ATTACH_LINK;
		env.attach_link = &m.al;
		break;
	case SRV_REQ_NOTIFIERS:
		vlink__get_notifiers__init(&m.gn);
		m.gn.link = (char *)(a & 1 ? "" : srv_name(a >> 1));
		env.msg_case = VLINK__ENVELOPE__MSG_GET_NOTIFIERS;
		env.get_notifiers = &m.gn;
		break;
	default:
		vlink__detach__init(&m.detach);
		env.msg_case = VLINK__ENVELOPE__MSG_DETACH;
		env.detach = &m.detach;
		break;
	}
	request(c, &env);
}

/* A config file, applied as SIGHUP applies it: lines from the alphabets,
 * or (mode & 0x80) any text. */
static void rec_config(struct fz *f)
{
	uint8_t mode = fz_u8(f);
	FILE *out = fopen(cfg_path, "we");
	char why[512];

	FZ_ASSERT(out, "%s: %s", cfg_path, strerror(errno));
	if (mode & 0x80) {
		size_t got;
		const uint8_t *p = fz_bytes(f, fz_u16(f) % 4096, &got);

		fwrite(p, 1, got, out);
	} else {
		for (unsigned i = 0; i < mode % 5u; i++) {
			const char *name = srv_name(fz_u8(f)), *mac = srv_mac(fz_u8(f));
			uint32_t nch = srv_nchannels(fz_u8(f));

			fprintf(out, "%s %s %u %s\n", name, mac, nch, srv_domain(fz_u8(f)));
		}
	}
	FZ_ASSERT(fclose(out) == 0, "%s: %s", cfg_path, strerror(errno));
	srv.config_path = cfg_path;
	server_apply_config(&srv, false, why, sizeof(why));
	srv.config_path = NULL;
	pump();
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* the names of the links, sorted, with from_config: what state keeps */
static unsigned link_names(char (*v)[VLINK_NAME_MAX + 2])
{
	unsigned n = 0;

	for (struct reg_link *l = srv.reg.links; l; l = l->next, n++)
		snprintf(v[n], sizeof(v[n]), "%s%c", l->name, l->from_config ? '+' : '-');
	qsort(v, n, sizeof(v[0]), cmp_name);
	return n;
}

/* the daemon stops (clients dropped, state saved) and starts again from
 * its state file: the same links come back */
static void rec_restart(void)
{
	static char before[16][VLINK_NAME_MAX + 2];
	static char after[16][VLINK_NAME_MAX + 2];
	unsigned nb, na;
	char why[512];
	int err;

	FZ_ASSERT(srv.reg.nlinks <= 16, "%u links", srv.reg.nlinks);
	nb = link_names(before);
	server_end();
	for (unsigned i = 0; i < SRV_NCONN; i++)
		conn_close(&conns[i]);
	reg_clear(&srv.reg);
	srv.stopping = false;
	err = server_start(&srv, why, sizeof(why));
	FZ_ASSERT(err == 0, "restart: %s", why);
	restarted = true;
	na = link_names(after);
	for (unsigned i = 0; i < nb || i < na; i++)
		FZ_ASSERT(i < na && i < nb && !strcmp(before[i], after[i]), "link %u: '%s' "
			  "before a restart, '%s' after (+: from the config file)", i,
			  i < nb ? before[i] : "", i < na ? after[i] : "");
}

/* ---- invariants -------------------------------------------------------- */

/* counts agree, every domain's files are there and no others */
static void check_registry(void)
{
	unsigned nl = 0, files = 0;

	for (struct reg_link *l = srv.reg.links; l; l = l->next, nl++) {
		struct reg_domain *d = srv.reg.domains;

		while (d && d != l->dom)
			d = d->next;
		FZ_ASSERT(d, "link '%s' is in a domain the registry does not have", l->name);
	}
	FZ_ASSERT(nl == srv.reg.nlinks, "%u links, nlinks %u", nl, srv.reg.nlinks);
	for (struct reg_domain *d = srv.reg.domains; d; d = d->next) {
		unsigned n = 0;

		for (struct reg_link *l = srv.reg.links; l; l = l->next)
			n += l->dom == d;
		FZ_ASSERT(n == d->nlinks, "domain '%s': %u links, nlinks %u", d->name, n,
			  d->nlinks);
		FZ_ASSERT(n || d->nattached || restarted, "domain '%s' has no links and "
			  "nothing attached, but was not released", d->name);
		files += d->pool.nseg + 1;
	}
	FZ_ASSERT(count_files(shm_dir) == files, "%u files in %s, the domains have %u",
		  count_files(shm_dir), shm_dir, files);
}

static struct reg_domain *domain_of(const char *what)
{
	char name[VLINK_NAME_MAX + 1];

	if (sscanf(what, "domain %32s", name) == 1)
		return reg_domain_find(&srv.reg, name);
	if (sscanf(what, "link %32s", name) == 1) {
		struct reg_link *l = reg_link_find(&srv.reg, name);

		return l ? l->dom : NULL;
	}
	return NULL;
}

/* A new connection gets answers to Hello and Status; what Status says is
 * attached is what the registry counts. */
static void check_answers(void)
{
	struct conn *c = conn_get(SRV_NCONN);
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Hello h = VLINK__HELLO__INIT;
	Vlink__Status st = VLINK__STATUS__INIT;
	const Vlink__StatusReply *r;
	unsigned nd = 0;

	h.role = VLINK__ROLE__ROLE_ADMIN;
	h.version = VLINK_PROTOCOL_VERSION;
	h.client = "fuzz-check";
	env.msg_case = VLINK__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	request(c, &env);
	env.msg_case = VLINK__ENVELOPE__MSG_STATUS;
	env.status = &st;
	request(c, &env);
	FZ_ASSERT(!c->eof && c->got_hello && c->status, "the daemon does not answer Hello "
		  "and Status on a new connection");
	r = c->status;
	FZ_ASSERT(r->nlinks == srv.reg.nlinks, "status: %u links, registry %u", r->nlinks,
		  srv.reg.nlinks);
	for (struct reg_domain *d = srv.reg.domains; d; d = d->next, nd++) {
		unsigned att = 0;

		for (size_t i = 0; i < r->n_clients; i++)
			att += *r->clients[i]->attached && domain_of(r->clients[i]->attached) == d;
		FZ_ASSERT(att == d->nattached, "domain '%s': %u clients attached, nattached %u",
			  d->name, att, d->nattached);
	}
	FZ_ASSERT(r->n_domains == nd, "status: %zu domains, registry %u", r->n_domains, nd);
	for (size_t i = 0; i < r->n_clients; i++)
		FZ_ASSERT(!*r->clients[i]->attached || domain_of(r->clients[i]->attached),
			  "client %u attached to '%s', which does not exist", r->clients[i]->id,
			  r->clients[i]->attached);
}

/* every client gone: nothing attached */
static void check_all_gone(void)
{
	for (unsigned i = 0; i <= SRV_NCONN; i++)
		conn_close(&conns[i]);
	for (int i = 0; srv.clients; i++) {
		FZ_ASSERT(i < 100000, "the daemon does not notice its clients are gone");
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	for (struct reg_domain *d = srv.reg.domains; d; d = d->next)
		FZ_ASSERT(d->nattached == 0, "domain '%s': nattached %u with no client",
			  d->name, d->nattached);
	for (struct reg_link *l = srv.reg.links; l; l = l->next)
		FZ_ASSERT(!l->host && !l->peer, "link '%s' has an end attached with no client",
			  l->name);
	check_registry();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	int fds;

	if (!dir[0])
		setup_once();
	fds = count_fds();
	restarted = false;
	for (unsigned i = 0; f.n && i < MAXRECORDS; i++) {
		uint8_t op = fz_u8(&f);
		unsigned kind = (op >> 2) % SRV_NKINDS;
		struct conn *c = &conns[(op & 3) % SRV_NCONN];
		size_t len, got;
		const uint8_t *p;
		uint8_t b;

		if (kind < SRV_CLOSE)
			c = conn_get((op & 3) % SRV_NCONN);
		switch (kind) {
		case SRV_FRAME:
			len = fz_u16(&f) % (VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE + 1);
			p = fz_bytes(&f, len, &got);
			send_frame(c, p, got, 0, 0);
			break;
		case SRV_RAW:
			p = fz_bytes(&f, fz_u16(&f), &got);
			send_raw(c, p, got, 0);
			break;
		case SRV_FDS:
			b = fz_u8(&f);
			len = fz_u16(&f) % (VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE + 1);
			p = fz_bytes(&f, len, &got);
			send_frame(c, p, got, b >> 4, b & 15);
			break;
		case SRV_HELLO: rec_hello(&f, c); break;
		case SRV_CREATE: rec_create(&f, c); break;
		case SRV_REQ: rec_req(&f, c); break;
		case SRV_CLOSE: conn_close(c); pump(); break;
		case SRV_CONFIG: rec_config(&f); break;
		default: rec_restart(); break;
		}
		check_registry();
	}
	check_answers();
	check_all_gone();

	/* the next input starts from nothing */
	server_end();
	reg_fini(&srv.reg);
	wipe(shm_dir);
	wipe(state_dir);
	unlink(cfg_path);
	server_begin();
	FZ_ASSERT(count_fds() == fds, "%d fds open, %d before the input", count_fds(), fds);
	return 0;
}
