#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vlink_client.h"
#include "vlink_error.h"
#include "vlink_guest.h"
#include "vlink_guest_int.h"
#include "vlink_linkmem.h"

#define BURST_MAX VLINK_GUEST_BURST_MAX

/* Socket mode: a re-attach tries again after this long, doubling up to
 * the max while vlinkd stays away or refuses; and waits at most this long
 * for the answer to AttachLink (vlink_guest_poll() must stay short). */
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 1000
#define REATTACH_REPLY_MS 1000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Ask vlinkd for the peer end of `link`: 0 with *rep holding a LinkMap,
 * -code when the daemon refused (why: its words), another negative errno. */
static int ask_link(struct vlink_client *cl, const char *link, int reply_ms,
		    struct vlink_reply *rep, char *why, size_t n)
{
	int err = vlink_client_attach(cl, link, VLINK__END__END_PEER, rep, reply_ms);

	return err ? vlink_why(why, n, err, "%s", vlink_client_error(cl)) : 0;
}

int vlink_guest_open_socket(struct vlink_guest_link **out, const char *socket,
			    const char *link, int timeout_ms, char *why, size_t n)
{
	struct vlink_guest_link *l;
	struct vlink_reply rep;
	int err;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return vlink_why(why, n, -ENOMEM, "out of memory");
	l->socket = strdup(socket ? socket : vlink_default_socket());
	if (!l->socket) {
		err = vlink_why(why, n, -ENOMEM, "out of memory");
		goto err_free;
	}
	snprintf(l->link, sizeof(l->link), "%s", link);
	err = vlink_client_open(&l->cl, l->socket, VLINK__ROLE__ROLE_PEER, "libvlinkguest",
				timeout_ms, why, n);
	if (err)
		goto err_free;
	err = ask_link(l->cl, link, 10000, &rep, why, n);
	if (err)
		goto err_close;
	err = vlink_linkmem_map(&l->m, rep.env->link_map, rep.fds, rep.nfds, false, why, n);
	if (err)
		goto err_rep;
	vlink_reply_clear(&rep); /* the mappings keep the memory */
	/* event mode: without notifiers (a vlinkd before protocol 3) the
	 * handle only polls; vlink_guest_event_fd() says so */
	err = vlink_notify_init(&l->notify, l->m.nch, false);
	if (err) {
		vlink_why(why, n, err, "notifiers: %s", vlink_strerror(err));
		goto err_unmap;
	}
	vlink_notify_fetch(&l->notify, l->cl, l->m.name, 5000, NULL, 0);
	snprintf(l->info.name, sizeof(l->info.name), "%s", l->m.name);
	snprintf(l->info.mac, sizeof(l->info.mac), "%s", l->m.mac);
	snprintf(l->info.domain, sizeof(l->info.domain), "%s", l->m.domain);
	l->info.nchannels = l->m.nch;
	l->info.ring_size = l->m.ring_size;
	l->info.buf_size = l->m.buf_size;
	l->info.mtu = l->m.mtu;
	vlink_epoch_peer_attach(&l->m, &l->ep);
	*out = l;
	return 0;

err_unmap:
	vlink_linkmem_unmap(&l->m);
	goto err_close;
err_rep:
	vlink_reply_clear(&rep);
err_close:
	vlink_client_close(l->cl);
err_free:
	free(l->socket);
	free(l);
	return err;
}

/* Give back what the host lent and the peer has not used: whatever waits
 * in rx and fill goes to done, so the host's ledger comes back to full.
 * The peer is LEAVING meanwhile, so a host does not restock fill; and at
 * most what two rings hold is taken, in case one does. */
static void give_back(struct vlink_guest_link *l)
{
	for (unsigned ch = 1; ch <= l->m.nch; ch++) {
		struct vlink_guest_pkt p[64];
		uint64_t budget = 2ull * l->m.ring_size;
		int k;

		while (budget > 0 && ((k = vlink_guest_rx_burst(l, ch, p, 64)) > 0 ||
				      (k = vlink_guest_tx_alloc(l, ch, p, 64)) > 0)) {
			budget -= (uint64_t)k < budget ? (uint64_t)k : budget;
			int done = 0;

			for (int tries = 0; done < k && tries < 1000; tries++) {
				int r = vlink_guest_free(l, ch, p + done, (unsigned)(k - done));

				if (r > 0)
					done += r;
				else
					usleep(1000); /* done is full: the host is draining it */
			}
			if (done < k)
				return; /* the host is not draining done: give up */
		}
	}
}

void vlink_guest_close(struct vlink_guest_link *l)
{
	if (!l)
		return;
	/* a dead link's memory may be another link's by now: leave it */
	if (l->m.hdr && !l->dead && !l->observer) {
		vlink_epoch_peer_set(&l->m, VLINK_END_LEAVING);
		give_back(l);
		vlink_epoch_peer_set(&l->m, VLINK_END_DOWN);
	}
	vlink_linkmem_unmap(&l->m);
	vlink_client_close(l->cl);
	vlink_notify_fini(&l->notify);
	free(l->socket);
	if (l->pci)
		vlink_guest_pci_close(l);
	free(l);
}

const struct vlink_guest_info *vlink_guest_info(const struct vlink_guest_link *l)
{
	return &l->info;
}

bool vlink_guest_host_up(const struct vlink_guest_link *l)
{
	const struct vlink_link_hdr *h = l->m.hdr;

	return vlink_epoch_host_state(&l->m) == VLINK_END_UP &&
	       (!l->ep.stale_set || __atomic_load_n(&h->host_epoch, __ATOMIC_ACQUIRE) != l->ep.stale);
}

int vlink_guest_wait_host(struct vlink_guest_link *l, int timeout_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int err = vlink_guest_poll(l);

		if (err < 0 && err != -EAGAIN)
			return err;
		/* no channel: acks a new epoch if no channel holds anything */
		if (err != -EAGAIN && !l->observer &&
		    vlink_epoch_peer_sync(&l->m, &l->ep, 0) == VLINK_EPOCH_OK)
			break;
		if (err != -EAGAIN && l->observer && vlink_guest_host_up(l))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (timeout_ms >= 0 && (t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= timeout_ms)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* A descriptor from the host: one of this link's buffers, data inside it.
 * Anything else is dropped without being touched. */
static bool from_host(const struct vlink_linkmem *m, const struct vlink_desc *d,
		      struct vlink_guest_pkt *p)
{
	p->data = vlink_linkmem_desc_data(m, d);
	if (!p->data)
		return false;
	p->len = d->len;
	p->room = m->buf_size - d->data_off;
	p->flags = d->flags & VLINK_GUEST_F_MORE;
	p->data_off = d->data_off;
	p->buf = d->pool_offset;
	return true;
}

static int take(struct vlink_guest_link *l, unsigned ch, struct vlink_guest_pkt *pkts,
		unsigned n, bool rx)
{
	struct vlink_desc d[BURST_MAX];
	struct vlink_guest_stats *st;
	unsigned got, k = 0;
	uint32_t epoch;
	int gate;

	if (ch < 1 || ch > l->m.nch)
		return -EINVAL;
	gate = vlink_guest_gate(l, ch);
	if (gate)
		return gate < 0 ? gate : 0;
	st = &l->st[ch - 1];
	if (n > BURST_MAX)
		n = BURST_MAX;
	epoch = vlink_epoch_peer_current(&l->ep, ch);
	got = vlink_ring_dequeue_burst(rx ? &l->m.ch[ch - 1].rx : &l->m.ch[ch - 1].fill, d, n);
	for (unsigned i = 0; i < got; i++) {
		if (!rx) {
			/* data_off of a fill buffer is the headroom the host
			 * suggests (a DPDK host leaves RTE_PKTMBUF_HEADROOM) */
			d[i].len = 0;
			d[i].flags = 0;
		}
		if (!from_host(&l->m, &d[i], &pkts[k])) {
			st->bad_desc++;
			continue;
		}
		pkts[k].epoch = epoch;
		if (rx) {
			st->rx_pkts++;
			st->rx_bytes += pkts[k].len;
		} else {
			st->allocated++;
		}
		k++;
	}
	return (int)k;
}

int vlink_guest_rx_burst(struct vlink_guest_link *l, unsigned ch,
			 struct vlink_guest_pkt *pkts, unsigned n)
{
	return take(l, ch, pkts, n, true);
}

int vlink_guest_tx_alloc(struct vlink_guest_link *l, unsigned ch,
			 struct vlink_guest_pkt *pkts, unsigned n)
{
	return take(l, ch, pkts, n, false);
}

/* Hand buffers back on tx or done.  Buffers of an epoch older than the
 * newest this channel has seen are the host's again: they are dropped and
 * count as handed back, also while the host is not up. */
static int give(struct vlink_guest_link *l, unsigned ch, const struct vlink_guest_pkt *pkts,
		unsigned n, bool tx)
{
	struct vlink_desc d[BURST_MAX];
	unsigned pos[BURST_MAX];
	struct vlink_guest_stats *st;
	unsigned i, k = 0, sent;
	uint32_t epoch;
	int gate;

	if (ch < 1 || ch > l->m.nch)
		return -EINVAL;
	gate = vlink_guest_gate(l, ch);
	if (gate < 0)
		return gate;
	st = &l->st[ch - 1];
	epoch = __atomic_load_n(&l->ep.seen[ch - 1], __ATOMIC_RELAXED);
	if (n > BURST_MAX)
		n = BURST_MAX;
	for (i = 0; i < n; i++) {
		const struct vlink_guest_pkt *p = &pkts[i];

		if (p->epoch != epoch)
			continue;
		/* ready only for stale buffers: the rest wait for the host */
		if (gate)
			break;
		/* not one of ours, or overflowing it: a caller bug; stop here */
		if (!vlink_linkmem_is_buf(&l->m, p->buf) ||
		    (uint64_t)p->data_off + (tx ? p->len : 0) > l->m.buf_size)
			break;
		d[k].pool_offset = p->buf;
		d[k].len = tx ? p->len : 0;
		d[k].flags = tx ? (p->flags & VLINK_GUEST_F_MORE) : 0;
		d[k].data_off = p->data_off;
		pos[k++] = i;
	}
	if (i == 0 && n > 0 && !gate)
		return -EINVAL;
	sent = vlink_ring_enqueue_burst(tx ? &l->m.ch[ch - 1].tx : &l->m.ch[ch - 1].done, d, k);
	/* a host end asleep in its receive waits for tx */
	if (tx && sent && vlink_notify_wake(&l->notify, ch, &l->m.ch[ch - 1].tx))
		st->wakeups++;
	for (unsigned j = 0; j < sent; j++) {
		if (tx) {
			st->tx_pkts++;
			st->tx_bytes += d[j].len;
		} else {
			st->freed++;
		}
	}
	/* consumed: up to the first buffer that did not go */
	if (sent < k)
		i = pos[sent];
	for (unsigned j = 0; j < i; j++)
		st->stale += pkts[j].epoch != epoch;
	return (int)i;
}

int vlink_guest_tx_burst(struct vlink_guest_link *l, unsigned ch,
			 const struct vlink_guest_pkt *pkts, unsigned n)
{
	return give(l, ch, pkts, n, true);
}

int vlink_guest_free(struct vlink_guest_link *l, unsigned ch,
		     const struct vlink_guest_pkt *pkts, unsigned n)
{
	return give(l, ch, pkts, n, false);
}

int vlink_guest_reflect(struct vlink_guest_link *l, unsigned ch,
			const struct vlink_guest_pkt *pkts, unsigned n)
{
	return give(l, ch, pkts, n, true);
}

int vlink_guest_event_fd(const struct vlink_guest_link *l, unsigned ch)
{
	if (ch < 1 || ch > l->m.nch)
		return -EINVAL;
	return l->notify.live ? l->notify.wait[ch - 1] : -ENOTSUP;
}

int vlink_guest_event_arm(struct vlink_guest_link *l, unsigned ch)
{
	if (ch < 1 || ch > l->m.nch)
		return -EINVAL;
	if (!vlink_notify_arm(&l->notify, ch, &l->m.ch[ch - 1].rx))
		return -ENOTSUP;
	l->st[ch - 1].sleeps++;
	return 0;
}

void vlink_guest_event_disarm(struct vlink_guest_link *l, unsigned ch)
{
	if (ch >= 1 && ch <= l->m.nch)
		vlink_notify_disarm(&l->notify, ch, &l->m.ch[ch - 1].rx);
}

int vlink_guest_wait(struct vlink_guest_link *l, unsigned ch, int timeout_ms)
{
	int r;

	if (ch < 1 || ch > l->m.nch)
		return -EINVAL;
	if (!l->notify.live)
		return -ENOTSUP;
	l->st[ch - 1].sleeps++;
	r = vlink_notify_wait(&l->notify, ch, &l->m.ch[ch - 1].rx, timeout_ms);
	if (r == 2) {
		l->st[ch - 1].late++;
		r = 1;
	}
	return r;
}

void vlink_guest_stats(const struct vlink_guest_link *l, struct vlink_guest_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->resets = __atomic_load_n(&l->ep.resets, __ATOMIC_RELAXED);
	s->reconnects = __atomic_load_n(&l->reconnects, __ATOMIC_RELAXED);
	s->daemon_losses = __atomic_load_n(&l->daemon_losses, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < l->m.nch; i++) {
		const struct vlink_guest_stats *c = &l->st[i];
		const struct vlink_linkmem_chan *r = &l->m.ch[i];

		s->rx_pkts += c->rx_pkts;
		s->rx_bytes += c->rx_bytes;
		s->tx_pkts += c->tx_pkts;
		s->tx_bytes += c->tx_bytes;
		s->freed += c->freed;
		s->allocated += c->allocated;
		s->bad_desc += c->bad_desc;
		s->stale += c->stale;
		s->sleeps += c->sleeps;
		s->wakeups += c->wakeups;
		s->late += c->late;
		s->bad_index += r->rx.bad_index + r->done.bad_index + r->fill.bad_index +
				r->tx.bad_index;
	}
}

static int set_dead(struct vlink_guest_link *l, int err)
{
	__atomic_store_n(&l->dead, err, __ATOMIC_RELAXED);
	return err;
}

static void retry_later(struct vlink_guest_link *l, bool first)
{
	l->backoff_ms = first ? RETRY_MIN_MS :
			l->backoff_ms * 2 < RETRY_MAX_MS ? l->backoff_ms * 2 : RETRY_MAX_MS;
	l->retry_at = now_ms() + l->backoff_ms;
}

/* Socket mode, connected: events are of no use to the peer end (a deleted
 * link shows in its header), so they are dropped; a broken connection is
 * closed, and re-attaching starts. */
static void sock_watch(struct vlink_guest_link *l)
{
	struct vlink_reply ev;
	int err = 0;

	for (int i = 0; i < 64 && !err; i++) {
		err = vlink_client_event(l->cl, &ev, 0);
		if (!err)
			vlink_reply_clear(&ev);
	}
	if (!err || err == -ETIMEDOUT)
		return;
	vlink_client_close(l->cl);
	l->cl = NULL;
	__atomic_fetch_add(&l->daemon_losses, 1, __ATOMIC_RELAXED);
	retry_later(l, true);
}

/* Socket mode, vlinkd away: once retry_at has come, connect (one try) and
 * attach the peer end again.  1 when attached to the same memory, 0 while
 * trying, -ENOLINK / -ESTALE when the link is gone / other memory. */
static int sock_reattach(struct vlink_guest_link *l)
{
	struct vlink_client *cl;
	struct vlink_reply rep;
	int err;

	if (now_ms() < l->retry_at)
		return 0;
	if (vlink_client_open(&cl, l->socket, VLINK__ROLE__ROLE_PEER, "libvlinkguest", 0,
			      NULL, 0)) {
		retry_later(l, false);
		return 0;
	}
	err = ask_link(cl, l->link, REATTACH_REPLY_MS, &rep, NULL, 0);
	if (!err) {
		err = vlink_linkmem_same_files(&l->m, rep.env->link_map, rep.fds, rep.nfds);
		vlink_reply_clear(&rep);
	}
	if (!err) {
		l->cl = cl;
		__atomic_fetch_add(&l->reconnects, 1, __ATOMIC_RELAXED);
		/* the new daemon's notifiers, on the same fd numbers: a host
		 * end that got them first is signalling those */
		if (l->notify.nch)
			vlink_notify_fetch(&l->notify, cl, l->link, REATTACH_REPLY_MS, NULL, 0);
		return 1;
	}
	vlink_client_close(cl);
	/* the daemon's "no link named": it came back without the link */
	if (err == -ENOENT || err == -ESTALE)
		return set_dead(l, err == -ENOENT ? -ENOLINK : -ESTALE);
	/* -EBUSY: another peer end took the link meanwhile; or no answer */
	retry_later(l, false);
	return 0;
}

int vlink_guest_poll(struct vlink_guest_link *l)
{
	int dead = __atomic_load_n(&l->dead, __ATOMIC_RELAXED), r = 0;

	if (dead)
		return dead;
	if (l->pci)
		return vlink_guest_pci_poll(l);
	/* socket mode: the daemon clears a deleted link's header magic */
	if (__atomic_load_n(&l->m.hdr->magic, __ATOMIC_ACQUIRE) != VLINK_LINK_MAGIC)
		return set_dead(l, -ENOLINK);
	if (__atomic_exchange_n(&l->polling, true, __ATOMIC_ACQUIRE))
		return 0;
	if (l->cl)
		sock_watch(l);
	if (!l->cl)
		r = sock_reattach(l);
	__atomic_store_n(&l->polling, false, __ATOMIC_RELEASE);
	return r;
}

void vlink_guest_state(const struct vlink_guest_link *l, struct vlink_guest_state *s)
{
	const struct vlink_link_hdr *h = l->m.hdr;

	s->host_state = vlink_epoch_host_state(&l->m);
	s->host_epoch = __atomic_load_n(&h->host_epoch, __ATOMIC_ACQUIRE);
	s->peer_state = vlink_epoch_peer_state(&l->m);
	s->peer_ack_epoch = __atomic_load_n(&h->peer_ack_epoch, __ATOMIC_ACQUIRE);
}

int vlink_guest_ring_state(const struct vlink_guest_link *l, unsigned ch,
			   struct vlink_guest_ring_state r[4])
{
	const struct vlink_linkmem_chan *c;
	const struct vlink_ring *rings[4];

	if (ch < 1 || ch > l->m.nch)
		return -EINVAL;
	c = &l->m.ch[ch - 1];
	rings[0] = &c->rx;
	rings[1] = &c->done;
	rings[2] = &c->fill;
	rings[3] = &c->tx;
	for (int k = 0; k < 4; k++) {
		r[k].head = __atomic_load_n(&rings[k]->hdr->head, __ATOMIC_ACQUIRE);
		r[k].tail = __atomic_load_n(&rings[k]->hdr->tail, __ATOMIC_ACQUIRE);
	}
	return 0;
}
