#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vlink_client.h"
#include "vlink_error.h"

struct qmsg {
	struct qmsg *next;
	struct vlink_reply r;
};

struct vlink_client {
	int sock;
	uint32_t next_id;
	struct vlink_writer wr;
	Vlink__Envelope *hello;
	struct qmsg *qhead, *qtail;
	char err[512];
	struct vlink_reader rd;
};

const char *vlink_default_socket(void)
{
	const char *s = getenv("VLINK_SOCKET");

	return s && *s ? s : VLINK_DEFAULT_SOCKET;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t l = deadline - now_ms();

	return l < 0 ? 0 : (int)l;
}

static int seterr(struct vlink_client *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int seterr(struct vlink_client *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

void vlink_reply_clear(struct vlink_reply *r)
{
	for (struct vlink_reply *p = r->more, *next; p; p = next) {
		next = p->more;
		p->more = NULL;
		vlink_reply_clear(p);
		free(p);
	}
	r->more = NULL;
	vlink_msg_free(r->env);
	r->env = NULL;
	for (unsigned i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
}

/* Read one message, waiting until the deadline. */
static int recv_one(struct vlink_client *c, struct vlink_reply *out, int64_t deadline)
{
	for (;;) {
		struct vlink_frame f;
		int n = vlink_reader_next(&c->rd, &f);

		if (n < 0)
			return seterr(c, n, "bad frame from vlinkd: %s", c->rd.why);
		if (n == 1) {
			int err = vlink_msg_decode(&f, &out->env);

			if (err) {
				vlink_frame_close_fds(&f);
				return seterr(c, err, "undecodable message from vlinkd");
			}
			out->nfds = f.nfds;
			memcpy(out->fds, f.fds, sizeof(int) * f.nfds);
			return 0;
		}
		ssize_t r = vlink_reader_fill(&c->rd);

		if (r == 0)
			return seterr(c, -ECONNRESET, "vlinkd closed the connection");
		if (r == -EAGAIN) {
			struct pollfd p = { .fd = c->sock, .events = POLLIN };
			int left = deadline < 0 ? -1 : left_ms(deadline);

			if (deadline >= 0 && left == 0)
				return seterr(c, -ETIMEDOUT, "no answer from vlinkd");
			if (poll(&p, 1, left) < 0 && errno != EINTR)
				return seterr(c, -errno, "poll: %s", strerror(errno));
			continue;
		}
		if (r < 0)
			return seterr(c, (int)r, "reading from vlinkd: %s",
				      vlink_strerror((int)r));
	}
}

static int send_env(struct vlink_client *c, Vlink__Envelope *env, int64_t deadline)
{
	int err = vlink_msg_push(&c->wr, env, NULL, 0);

	if (!err)
		err = vlink_writer_flush_wait(&c->wr, deadline < 0 ? -1 : left_ms(deadline));
	if (err)
		return seterr(c, err, "sending to vlinkd: %s", vlink_strerror(err));
	return 0;
}

static void enqueue(struct vlink_client *c, struct vlink_reply *r)
{
	struct qmsg *q = malloc(sizeof(*q));

	if (!q) {
		vlink_reply_clear(r);
		return;
	}
	q->next = NULL;
	q->r = *r;
	if (c->qtail)
		c->qtail->next = q;
	else
		c->qhead = q;
	c->qtail = q;
}

/* The next message with id `id` (or a connection Error with id 0); other
 * messages are queued for vlink_client_event(). */
static int recv_reply(struct vlink_client *c, uint32_t id, struct vlink_reply *rep,
		      int64_t deadline)
{
	for (;;) {
		struct vlink_reply r = { 0 };
		int err = recv_one(c, &r, deadline);

		if (err)
			return err;
		/* an Error with id 0 is about the connection (e.g. access refused) */
		if (r.env->id != id &&
		    !(r.env->id == 0 && r.env->msg_case == VLINK__ENVELOPE__MSG_ERROR)) {
			enqueue(c, &r);
			continue;
		}
		if (r.env->msg_case == VLINK__ENVELOPE__MSG_ERROR) {
			Vlink__Error *e = r.env->error;
			int code = e->code > 0 && e->code < 4096 ? -(int)e->code : -EPROTO;

			seterr(c, code, "%s", e->message);
			vlink_reply_clear(&r);
			return code;
		}
		*rep = r;
		return 0;
	}
}

int vlink_client_call(struct vlink_client *c, Vlink__Envelope *req,
		      struct vlink_reply *rep, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct vlink_reply **tail, *last;
	unsigned parts = 1;
	int err;

	memset(rep, 0, sizeof(*rep));
	req->id = ++c->next_id;
	if (req->id == 0)
		req->id = c->next_id = 1;
	err = send_env(c, req, deadline);
	if (err == -EPIPE || err == -ECONNRESET) {
		/* the daemon may have hung up after saying why: read that */
		struct vlink_reply r = { 0 };

		if (recv_one(c, &r, now_ms() + 200) == 0) {
			if (r.env->msg_case == VLINK__ENVELOPE__MSG_ERROR)
				err = seterr(c, -(int)(r.env->error->code ? r.env->error->code : EPROTO),
					     "%s", r.env->error->message);
			vlink_reply_clear(&r);
		}
		return err;
	}
	if (err)
		return err;
	err = recv_reply(c, req->id, rep, deadline);
	if (err)
		return err;
	/* a reply split over several frames: its parts, in order, in rep->more */
	for (tail = &rep->more, last = rep; last->env->more; tail = &last->more) {
		struct vlink_reply *p;

		if (++parts > VLINK_REPLY_PARTS_MAX) {
			err = seterr(c, -EMSGSIZE, "vlinkd's reply goes on over more than %d frames",
				     VLINK_REPLY_PARTS_MAX);
			goto fail;
		}
		p = calloc(1, sizeof(*p));
		if (!p) {
			err = seterr(c, -ENOMEM, "out of memory");
			goto fail;
		}
		err = recv_reply(c, req->id, p, deadline);
		if (err) {
			free(p);
			goto fail;
		}
		*tail = last = p;
		if (p->env->msg_case != rep->env->msg_case) {
			err = seterr(c, -EPROTO, "vlinkd's reply changed from %s to %s on the way",
				     vlink_msg_name(rep->env->msg_case),
				     vlink_msg_name(p->env->msg_case));
			goto fail;
		}
	}
	return 0;
fail:
	vlink_reply_clear(rep);
	return err;
}

int vlink_client_attach(struct vlink_client *c, const char *link, Vlink__End end,
			struct vlink_reply *rep, int timeout_ms)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__AttachLink m = VLINK__ATTACH_LINK__INIT;
	int err;

	m.link = (char *)link;
	m.end = end;
	env.msg_case = VLINK__ENVELOPE__MSG_ATTACH_LINK;
	env.attach_link = &m;
	err = vlink_client_call(c, &env, rep, timeout_ms);
	if (err)
		return err;
	if (rep->env->msg_case != VLINK__ENVELOPE__MSG_LINK_MAP) {
		err = seterr(c, -EPROTO, "vlinkd answered AttachLink with %s",
			     vlink_msg_name(rep->env->msg_case));
		vlink_reply_clear(rep);
	}
	return err;
}

int vlink_client_event(struct vlink_client *c, struct vlink_reply *ev, int timeout_ms)
{
	memset(ev, 0, sizeof(*ev));
	if (c->qhead) {
		struct qmsg *q = c->qhead;

		c->qhead = q->next;
		if (!c->qhead)
			c->qtail = NULL;
		*ev = q->r;
		free(q);
		return 0;
	}
	return recv_one(c, ev, timeout_ms < 0 ? -1 : now_ms() + timeout_ms);
}

static int try_connect(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	*out = s;
	return 0;
}

int vlink_client_open(struct vlink_client **out, const char *path,
		      Vlink__Role role, const char *name, int timeout_ms,
		      char *why, size_t n)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Hello hello = VLINK__HELLO__INIT;
	struct vlink_reply rep;
	struct vlink_client *c;
	int err;

	*out = NULL;
	if (!path)
		path = vlink_default_socket();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (;;) {
		err = try_connect(path, &c->sock);
		if (!err)
			break;
		if ((err != -ENOENT && err != -ECONNREFUSED) || left_ms(deadline) == 0) {
			seterr(c, err, "cannot connect to %s: %s", path, vlink_strerror(err));
			goto err_free;
		}
		usleep(50 * 1000);
	}
	vlink_reader_init(&c->rd, c->sock);
	vlink_writer_init(&c->wr, c->sock);

	hello.role = role;
	hello.version = VLINK_PROTOCOL_VERSION;
	hello.client = (char *)(name ? name : "");
	env.msg_case = VLINK__ENVELOPE__MSG_HELLO;
	env.hello = &hello;
	err = vlink_client_call(c, &env, &rep, timeout_ms > 0 ? timeout_ms + 5000 : 5000);
	if (err)
		goto err_close;
	if (rep.env->msg_case != VLINK__ENVELOPE__MSG_HELLO_REPLY) {
		vlink_reply_clear(&rep);
		err = seterr(c, -EPROTO, "%s: not a vlinkd (no HelloReply)", path);
		goto err_close;
	}
	c->hello = rep.env;
	rep.env = NULL;
	vlink_reply_clear(&rep);
	*out = c;
	return 0;

err_close:
	vlink_reader_destroy(&c->rd);
	vlink_writer_destroy(&c->wr);
	close(c->sock);
err_free:
	if (why && n)
		snprintf(why, n, "%s", c->err);
	free(c);
	return err;
}

void vlink_client_close(struct vlink_client *c)
{
	if (!c)
		return;
	while (c->qhead) {
		struct qmsg *q = c->qhead;

		c->qhead = q->next;
		vlink_reply_clear(&q->r);
		free(q);
	}
	vlink_msg_free(c->hello);
	vlink_reader_destroy(&c->rd);
	vlink_writer_destroy(&c->wr);
	close(c->sock);
	free(c);
}

int vlink_client_fd(const struct vlink_client *c)
{
	return c->sock;
}

const Vlink__HelloReply *vlink_client_hello(const struct vlink_client *c)
{
	return c->hello->hello_reply;
}

const char *vlink_client_error(const struct vlink_client *c)
{
	return c->err;
}
