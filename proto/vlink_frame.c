#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vlink_frame.h"

struct vlink_txframe {
	struct vlink_txframe *next;
	size_t len, done;
	unsigned nfds;
	int fds[VLINK_FRAME_MAX_FDS];
	uint8_t data[];
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void vlink_frame_hdr_encode(uint8_t *out, unsigned nfds, uint32_t len)
{
	put_le16(out, VLINK_FRAME_MAGIC);
	out[2] = VLINK_FRAME_VERSION;
	out[3] = (uint8_t)nfds;
	put_le32(out + 4, len);
}

int vlink_frame_hdr_decode(const uint8_t *in, struct vlink_frame_hdr *h, char *why, size_t n)
{
	h->magic = get_le16(in);
	h->version = in[2];
	h->nfds = in[3];
	h->len = get_le32(in + 4);
	if (h->magic != VLINK_FRAME_MAGIC) {
		snprintf(why, n, "bad frame magic 0x%04x", h->magic);
		return -EPROTO;
	}
	if (h->version != VLINK_FRAME_VERSION) {
		snprintf(why, n, "unsupported frame version %u (this end speaks %u)", h->version,
			 VLINK_FRAME_VERSION);
		return -EPROTO;
	}
	if (h->nfds > VLINK_FRAME_MAX_FDS) {
		snprintf(why, n, "frame claims %u fds (at most %u)", h->nfds, VLINK_FRAME_MAX_FDS);
		return -ETOOMANYREFS;
	}
	if (h->len > VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE) {
		snprintf(why, n, "frame of %" PRIu32 " payload bytes (at most %u)", h->len,
			 VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE);
		return -EMSGSIZE;
	}
	return 0;
}

static int fcntl_dupfd_cloexec(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return d < 0 ? -errno : d;
}

static void close_all(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void vlink_frame_close_fds(struct vlink_frame *f)
{
	close_all(f->fds, f->nfds);
	f->nfds = 0;
}

void vlink_reader_init(struct vlink_reader *r, int sock)
{
	r->sock = sock;
	r->start = r->end = 0;
	r->off = 0;
	r->nfdq = 0;
	r->error = 0;
	r->why = NULL;
}

static void fdq_drop(struct vlink_reader *r)
{
	for (unsigned i = 0; i < r->nfdq; i++)
		close(r->fdq[i].fd);
	r->nfdq = 0;
}

void vlink_reader_destroy(struct vlink_reader *r)
{
	fdq_drop(r);
}

static int fail(struct vlink_reader *r, int err, const char *why)
{
	fdq_drop(r);
	r->error = err;
	r->why = why;
	return err;
}

size_t vlink_reader_pending(const struct vlink_reader *r)
{
	return r->end - r->start;
}

ssize_t vlink_reader_fill(struct vlink_reader *r)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * VLINK_FRAME_MAX_FDS)];
	} ctl;
	struct msghdr msg = { 0 };
	struct iovec iov;
	struct cmsghdr *c;
	int got[VLINK_FRAME_MAX_FDS];
	unsigned ngot = 0;
	bool bad_cmsg = false;
	ssize_t n;

	if (r->error)
		return r->error;
	/* a zero-length read would look like end of stream (and could take
	 * fds with no bytes): the caller must take frames out first */
	if (r->start == 0 && r->end == sizeof(r->buf))
		return -ENOBUFS;
	if (r->start > 0 && r->end + VLINK_FRAME_MAX > sizeof(r->buf)) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	iov.iov_base = r->buf + r->end;
	iov.iov_len = sizeof(r->buf) - r->end;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(r->sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		return fail(r, -errno, "recvmsg failed");
	}

	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			const int *p = (const int *)CMSG_DATA(c);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, p + i, sizeof(fd));
				if (ngot < VLINK_FRAME_MAX_FDS)
					got[ngot++] = fd;
				else
					close(fd);
			}
		} else {
			bad_cmsg = true;
		}
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		close_all(got, ngot);
		return fail(r, -ETOOMANYREFS,
			    "more than 16 fds sent at once (control data truncated)");
	}
	if (bad_cmsg) {
		close_all(got, ngot);
		return fail(r, -EPROTO, "unexpected control message");
	}
	if (ngot > 0 && n == 0) {
		close_all(got, ngot);
		return fail(r, -EPROTO, "fds without data");
	}
	if (r->nfdq + ngot > sizeof(r->fdq) / sizeof(r->fdq[0])) {
		close_all(got, ngot);
		return fail(r, -ETOOMANYREFS, "too many fds queued");
	}
	{
		uint64_t from = r->off + (r->end - r->start);

		for (unsigned i = 0; i < ngot; i++) {
			r->fdq[r->nfdq].fd = got[i];
			r->fdq[r->nfdq].from = from;
			r->fdq[r->nfdq].to = from + (uint64_t)n;
			r->nfdq++;
		}
	}
	r->end += (size_t)n;
	return n;
}

int vlink_reader_next(struct vlink_reader *r, struct vlink_frame *f)
{
	const uint8_t *h = r->buf + r->start;
	size_t avail = r->end - r->start;
	struct vlink_frame_hdr fh;
	unsigned nfds;
	uint32_t len;
	int err;

	f->nfds = 0;
	if (r->error)
		return r->error;
	/* fds that came with bytes before this frame's start belong to no frame */
	if (r->nfdq > 0 && r->fdq[0].to <= r->off)
		return fail(r, -EPROTO, "fds not attached to the first byte of a frame");
	if (avail < VLINK_FRAME_HDR_SIZE)
		return 0;
	err = vlink_frame_hdr_decode(h, &fh, r->why_hdr, sizeof(r->why_hdr));
	if (err)
		return fail(r, err, r->why_hdr);
	nfds = fh.nfds;
	len = fh.len;
	if (nfds > r->nfdq)
		return fail(r, -EPROTO, "frame claims more fds than were sent with it");
	for (unsigned i = 0; i < nfds; i++)
		if (r->fdq[i].from > r->off || r->fdq[i].to <= r->off)
			return fail(r, -EPROTO, "fds not sent with the frame claiming them");
	if (avail < VLINK_FRAME_HDR_SIZE + (size_t)len)
		return 0;

	for (unsigned i = 0; i < nfds; i++)
		f->fds[i] = r->fdq[i].fd;
	f->nfds = nfds;
	r->nfdq -= nfds;
	memmove(r->fdq, r->fdq + nfds, r->nfdq * sizeof(r->fdq[0]));
	f->data = h + VLINK_FRAME_HDR_SIZE;
	f->len = len;
	r->start += VLINK_FRAME_HDR_SIZE + len;
	r->off += VLINK_FRAME_HDR_SIZE + len;
	if (r->start == r->end)
		r->start = r->end = 0;
	return 1;
}

void vlink_writer_init(struct vlink_writer *w, int sock)
{
	w->sock = sock;
	w->head = w->tail = NULL;
	w->queued = 0;
}

static void txframe_free(struct vlink_txframe *t)
{
	close_all(t->fds, t->nfds);
	free(t);
}

void vlink_writer_destroy(struct vlink_writer *w)
{
	while (w->head) {
		struct vlink_txframe *t = w->head;

		w->head = t->next;
		txframe_free(t);
	}
	w->tail = NULL;
	w->queued = 0;
}

bool vlink_writer_pending(const struct vlink_writer *w)
{
	return w->head != NULL;
}

int vlink_writer_push(struct vlink_writer *w, const void *payload, size_t len,
		      const int *fds, unsigned nfds)
{
	struct vlink_txframe *t;
	int err;

	if (nfds > VLINK_FRAME_MAX_FDS)
		return -ETOOMANYREFS;
	if (len > VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE)
		return -EMSGSIZE;
	t = malloc(sizeof(*t) + VLINK_FRAME_HDR_SIZE + len);
	if (!t)
		return -ENOMEM;
	t->next = NULL;
	t->len = VLINK_FRAME_HDR_SIZE + len;
	t->done = 0;
	t->nfds = 0;
	for (unsigned i = 0; i < nfds; i++) {
		int d = fcntl_dupfd_cloexec(fds[i]);

		if (d < 0) {
			err = d;
			goto err_close;
		}
		t->fds[t->nfds++] = d;
	}
	vlink_frame_hdr_encode(t->data, nfds, (uint32_t)len);
	if (len)
		memcpy(t->data + VLINK_FRAME_HDR_SIZE, payload, len);
	if (w->tail)
		w->tail->next = t;
	else
		w->head = t;
	w->tail = t;
	w->queued += t->len;
	return 0;

err_close:
	txframe_free(t);
	return err;
}

int vlink_writer_flush(struct vlink_writer *w)
{
	while (w->head) {
		struct vlink_txframe *t = w->head;
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * VLINK_FRAME_MAX_FDS)];
		} ctl;
		struct msghdr msg = { 0 };
		struct iovec iov = { t->data + t->done, t->len - t->done };
		ssize_t n;

		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (t->done == 0 && t->nfds > 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = ctl.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * t->nfds);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * t->nfds);
			memcpy(CMSG_DATA(c), t->fds, sizeof(int) * t->nfds);
		}
		do
			n = sendmsg(w->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			return -errno;
		}
		if (t->done == 0 && t->nfds > 0) {
			/* the kernel holds its own references now */
			close_all(t->fds, t->nfds);
			t->nfds = 0;
		}
		t->done += (size_t)n;
		w->queued -= (size_t)n;
		if (t->done == t->len) {
			w->head = t->next;
			if (!w->head)
				w->tail = NULL;
			free(t);
		}
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vlink_writer_flush_wait(struct vlink_writer *w, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = w->sock, .events = POLLOUT };
		int err = vlink_writer_flush(w), left, n;

		if (err != -EAGAIN)
			return err;
		left = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		if (timeout_ms >= 0 && left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left);
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}
