#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vlink_error.h"
#include "vlink_notify.h"

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

static int arm(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int vlink_notify_init(struct vlink_notify *n, unsigned nch, bool host)
{
	int err = -ENOMEM;

	memset(n, 0, sizeof(*n));
	n->host = host;
	n->mine = malloc(nch * sizeof(int));
	n->theirs = malloc(nch * sizeof(int));
	n->wait = malloc(nch * sizeof(int));
	if (!n->mine || !n->theirs || !n->wait)
		goto fail;
	for (; n->nch < nch; n->nch++) {
		int *m = &n->mine[n->nch], *t = &n->theirs[n->nch], *w = &n->wait[n->nch];

		*m = new_eventfd();
		*t = *m < 0 ? -1 : new_eventfd();
		*w = *t < 0 ? -1 : epoll_create1(EPOLL_CLOEXEC);
		err = *m < 0 ? *m : *t < 0 ? *t : *w < 0 ? -errno : arm(*w, *m);
		if (err) {
			/* this channel's own fds, then the whole ones */
			if (*w >= 0)
				close(*w);
			if (*t >= 0)
				close(*t);
			if (*m >= 0)
				close(*m);
			goto fail;
		}
	}
	return 0;
fail:
	vlink_notify_fini(n);
	return err;
}

int vlink_notify_init_dev(struct vlink_notify *n, unsigned nch,
			  const struct vlink_notify_dev *dev)
{
	int err = vlink_notify_init(n, nch, false);

	for (unsigned i = 0; i < nch && !err; i++)
		err = arm(n->wait[i], dev->fd);
	if (err) {
		vlink_notify_fini(n);
		return err;
	}
	n->dev = dev;
	n->live = true;
	return 0;
}

void vlink_notify_fini(struct vlink_notify *n)
{
	for (unsigned i = 0; i < n->nch; i++) {
		close(n->wait[i]);
		close(n->theirs[i]);
		close(n->mine[i]);
	}
	free(n->wait);
	free(n->theirs);
	free(n->mine);
	memset(n, 0, sizeof(*n));
}

void vlink_notify_signal(struct vlink_notify *n, unsigned ch)
{
	uint64_t one = 1;

	/* EAGAIN (the counter is full) still leaves it readable: the other
	 * end wakes anyway */
	__atomic_fetch_add(&n->signals, 1, __ATOMIC_RELAXED);
	if (n->dev) {
		n->dev->doorbell(n->dev->arg, ch);
		return;
	}
	if (write(n->theirs[ch - 1], &one, sizeof(one)) < 0)
		return;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static void drain(const struct vlink_notify *n, unsigned ch)
{
	uint64_t v;

	/* non-blocking (vlinkd made them so, and init did): one read empties
	 * the counter */
	if (read(n->mine[ch - 1], &v, sizeof(v)) < 0)
		return;
}

bool vlink_notify_arm(const struct vlink_notify *n, unsigned ch, struct vlink_ring *r)
{
	if (!n->live)
		return false;
	drain(n, ch);
	if (n->dev)
		n->dev->arm(n->dev->arg);
	if (!vlink_ring_sleep_begin(r))
		kick(n->mine[ch - 1]);  /* came meanwhile: readable at once */
	return true;
}

void vlink_notify_disarm(const struct vlink_notify *n, unsigned ch, struct vlink_ring *r)
{
	if (!n->live)
		return;
	vlink_ring_sleep_end(r);
	drain(n, ch);
	/* one interrupt for every channel, consumed here: a waiter on another
	 * channel would not see it any more */
	if (n->dev && n->dev->disarm(n->dev->arg))
		for (unsigned i = 0; i < n->nch; i++)
			if (i != ch - 1)
				kick(n->mine[i]);
}

int vlink_notify_wait(const struct vlink_notify *n, unsigned ch, struct vlink_ring *r,
		      int timeout_ms)
{
	struct epoll_event ev;
	int k;

	if (!vlink_notify_arm(n, ch, r))
		return 0;
	k = epoll_wait(n->wait[ch - 1], &ev, 1, timeout_ms);
	if (k < 0)
		k = -errno;
	vlink_notify_disarm(n, ch, r);
	if (k == 0 && vlink_ring_count(r) > 0)
		return 2;
	return k < 0 ? k : k > 0;
}

int vlink_notify_swap(struct vlink_notify *n, unsigned ch, int wake_host, int wake_peer)
{
	int mine = n->host ? wake_host : wake_peer, theirs = n->host ? wake_peer : wake_host;
	int i = (int)ch - 1, err = 0;

	if (ch < 1 || ch > n->nch) {
		err = -EINVAL;
		goto out;
	}
	/* take the old one out of the wait fd before its number gets the new
	 * file: epoll keys an entry by file and number */
	epoll_ctl(n->wait[i], EPOLL_CTL_DEL, n->mine[i], NULL);
	if (dup3(mine, n->mine[i], O_CLOEXEC) < 0 || dup3(theirs, n->theirs[i], O_CLOEXEC) < 0)
		err = -errno;
	/* re-armed whatever happened: on failure, with what the number holds */
	if (arm(n->wait[i], n->mine[i]) && !err)
		err = -errno;
	kick(n->mine[i]);
	kick(n->theirs[i]);
out:
	close(wake_host);
	close(wake_peer);
	return err;
}

int vlink_notify_fetch(struct vlink_notify *n, struct vlink_client *c, const char *link,
		       int timeout_ms, char *why, size_t len)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__GetNotifiers m = VLINK__GET_NOTIFIERS__INIT;
	struct vlink_reply rep;
	uint64_t seen = 0;
	int err;

	m.link = (char *)link;
	env.msg_case = VLINK__ENVELOPE__MSG_GET_NOTIFIERS;
	env.get_notifiers = &m;
	err = vlink_client_call(c, &env, &rep, timeout_ms);
	if (err)
		return vlink_why(why, len, err, "GetNotifiers: %s", vlink_client_error(c));
	for (struct vlink_reply *p = &rep; p && !err; p = p->more)
		err = p->env->msg_case != VLINK__ENVELOPE__MSG_NOTIFIERS ?
			vlink_why(why, len, -EPROTO, "vlinkd answered GetNotifiers with %s",
				  vlink_msg_name(p->env->msg_case)) :
			vlink_msg_check_notifiers(p->env->notifiers, p->nfds, link, n->nch, &seen,
					   why, len);
	if (!err && seen != (n->nch == 64 ? ~0ull : (1ull << n->nch) - 1))
		err = vlink_why(why, len, -EPROTO, "vlinkd sent the notifiers of some of the "
				"%u channels of link '%s' only", n->nch, link);
	for (struct vlink_reply *p = &rep; p && !err; p = p->more) {
		for (size_t i = 0; i < p->env->notifiers->n_channels && !err; i++) {
			const Vlink__ChannelNotifier *cn = p->env->notifiers->channels[i];
			int h = fcntl(p->fds[cn->wake_host], F_DUPFD_CLOEXEC, 0);
			int w = h < 0 ? -1 : fcntl(p->fds[cn->wake_peer], F_DUPFD_CLOEXEC, 0);

			if (h < 0 || w < 0) {
				err = vlink_why(why, len, -errno, "dup: %s", vlink_strerror(-errno));
				if (h >= 0)
					close(h);
				break;
			}
			err = vlink_notify_swap(n, cn->channel, h, w);
			if (err)
				vlink_why(why, len, err, "channel %u: %s", cn->channel,
					  vlink_strerror(err));
		}
	}
	if (!err)
		n->live = true;
	vlink_reply_clear(&rep);
	return err;
}
