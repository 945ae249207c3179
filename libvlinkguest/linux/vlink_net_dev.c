// SPDX-License-Identifier: GPL-2.0
/* vlink_net: one link as a network interface, this guest its peer end
 * (docs/shm.md: rx and fill come from the host end, done and tx go back).
 *
 * Per data channel: a NAPI context woken by the channel's MSI-X vector
 * (the host end writes its wake_peer when the rx ring's need_wakeup asks
 * for it), and a transmit queue.  Received packets are copied out of the
 * link's buffers into skbs and the buffers go back on done at once;
 * transmitted ones are copied into buffers taken from fill and published
 * on tx, and DOORBELL wakes a host end asleep on tx.  Every descriptor the
 * host hands over is checked (vlink_linkmem_desc_data, as libvlinkguest
 * does) and every ring index (vlink_ring.c) before it is used.  The peer
 * end's half of the epoch handshake (vlink_epoch.c) runs per channel under
 * the channel's lock, before anything moves on its rings. */
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>

#include "vlink_net.h"

static struct vlink_linkmem_chan *rings(struct vn_chan *c)
{
	return &c->link->m.ch[c->ch - 1];
}

static unsigned int max_frame(const struct vn_link *l)
{
	return l->m.mtu + VLINK_L2_OVERHEAD;
}

/* The host end is up in the epoch this end has joined on some channel. */
static bool host_with_us(struct vn_link *l)
{
	u32 e = READ_ONCE(l->m.hdr->host_epoch);

	if (vlink_epoch_host_state(&l->m) != VLINK_END_UP)
		return false;
	if (!READ_ONCE(l->open))
		return true;
	for (unsigned int ch = 1; ch <= l->nch; ch++)
		if (vlink_epoch_peer_current(&l->ep, ch) == e)
			return true;
	return false;
}

void vn_link_carrier(struct vn_link *l)
{
	bool on = !READ_ONCE(l->dead) && READ_ONCE(l->vd->mapped) && host_with_us(l);

	if (on && !netif_carrier_ok(l->nd))
		netif_carrier_on(l->nd);
	else if (!on && netif_carrier_ok(l->nd))
		netif_carrier_off(l->nd);
}

/* Run every channel's NAPI once (the watchdog, and after open). */
void vn_link_kick(struct vn_link *l)
{
	if (!READ_ONCE(l->open))
		return;
	local_bh_disable();
	for (unsigned int i = 0; i < l->nch; i++)
		napi_schedule(&l->ch[i].napi);
	local_bh_enable();
}

/* Its memory is another link's now: nothing touches it from here on. */
void vn_link_kill(struct vn_link *l)
{
	WRITE_ONCE(l->dead, true);
	/* whoever was inside a channel's section has left it */
	for (unsigned int i = 0; i < l->nch; i++) {
		spin_lock_bh(&l->ch[i].lock);
		spin_unlock_bh(&l->ch[i].lock);
	}
	netif_carrier_off(l->nd);
}

/* Under c->lock: in step with the host's epoch?  Buffers and a partial
 * chain of an older epoch are the host's again: dropped. */
static bool chan_sync(struct vn_chan *c)
{
	struct vn_link *l = c->link;
	u32 e;

	if (READ_ONCE(l->dead))
		return false;
	if (vlink_epoch_peer_sync(&l->m, &l->ep, c->ch) != VLINK_EPOCH_OK)
		return false;
	e = vlink_epoch_peer_current(&l->ep, c->ch);
	if (c->nstash && c->stash_epoch != e) {
		c->st.stale += c->nstash;
		c->nstash = 0;
	}
	if (c->rx_epoch != e) {
		if (c->rx_skb) {
			dev_kfree_skb_any(c->rx_skb);
			c->rx_skb = NULL;
			c->st.rx_dropped++;
		}
		c->rx_skip = false;
		c->rx_epoch = e;
	}
	return true;
}

/* ---- receive ------------------------------------------------------------ */

/* One descriptor from rx (checked): its data into the packet being built;
 * a finished packet onto q. */
static void rx_one(struct vn_chan *c, const struct vlink_desc *d, const u8 *data,
		   struct sk_buff_head *q)
{
	struct vn_link *l = c->link;
	bool more = d->flags & VLINK_DESC_F_MORE;

	if (!c->rx_skb && !c->rx_skip) {
		c->rx_skb = napi_alloc_skb(&c->napi, more ? max_frame(l) : d->len);
		c->rx_nbuf = 0;
		if (!c->rx_skb) {
			c->st.rx_dropped++;
			c->rx_skip = true;
		}
	}
	if (c->rx_skb) {
		struct sk_buff *skb = c->rx_skb;

		if (skb->len + d->len > max_frame(l) || ++c->rx_nbuf > VN_CHAIN_MAX) {
			dev_kfree_skb_any(skb);
			c->rx_skb = NULL;
			c->rx_skip = true;
			c->st.rx_dropped++;
		} else {
			skb_put_data(skb, data, d->len);
		}
	}
	if (more)
		return;
	c->rx_skip = false;
	if (!c->rx_skb)
		return;
	if (c->rx_skb->len < ETH_HLEN) {
		dev_kfree_skb_any(c->rx_skb);
		c->st.rx_dropped++;
	} else {
		c->st.rx_packets++;
		c->st.rx_bytes += c->rx_skb->len;
		__skb_queue_tail(q, c->rx_skb);
	}
	c->rx_skb = NULL;
}

/* Under c->lock: up to `budget` descriptors from rx, each given back on
 * done once copied (a bad one is dropped untouched, as libvlinkguest does);
 * returns how many were taken. */
static int rx_burst(struct vn_chan *c, int budget, struct sk_buff_head *q)
{
	struct vlink_linkmem_chan *r = rings(c);
	struct vlink_desc d[VN_BURST]; /* what goes back is compacted in place */
	unsigned int n, k = 0, want = min(budget, VN_BURST);

	/* as many as done has room for: every buffer taken goes back now */
	want = vlink_ring_room(&r->done, want);
	n = want ? vlink_ring_dequeue_burst(&r->rx, d, want) : 0;
	for (unsigned int i = 0; i < n; i++) {
		const u8 *data = vlink_linkmem_desc_data(&c->link->m, &d[i]);

		if (!data) {
			c->st.rx_bad_desc++;
			/* the rest of a chain it belonged to is no packet */
			if (c->rx_skb) {
				dev_kfree_skb_any(c->rx_skb);
				c->rx_skb = NULL;
				c->st.rx_dropped++;
			}
			c->rx_skip = d[i].flags & VLINK_DESC_F_MORE;
			continue;
		}
		rx_one(c, &d[i], data, q);
		d[k] = (struct vlink_desc){ .pool_offset = d[i].pool_offset,
					    .data_off = d[i].data_off };
		k++;
	}
	if (k)
		vlink_ring_enqueue_burst(&r->done, d, k); /* room checked above */
	return n;
}

/* Under c->lock: can a packet (of one buffer at least) go now? */
static bool tx_ready(struct vn_chan *c)
{
	struct vlink_linkmem_chan *r = rings(c);

	return (c->nstash || vlink_ring_count(&r->fill)) && vlink_ring_room(&r->tx, 1);
}

/* Under c->lock, from NAPI: a transmit queue stopped for want of fill
 * buffers (or tx room) goes on once there are some; else it waits for the
 * host end's refill to signal (need_wakeup on fill, armed again here) or
 * for the next round (the watchdog's, at the latest: a host end that
 * never drains tx sends no signal).  True: wake the queue. */
static bool tx_restart_due(struct vn_chan *c)
{
	if (!c->tx_stopped)
		return false;
	if (!tx_ready(c) && (vlink_ring_sleep_begin(&rings(c)->fill) || !tx_ready(c)))
		return false;
	vlink_ring_sleep_end(&rings(c)->fill);
	c->tx_stopped = false;
	return true;
}

static int vn_poll(struct napi_struct *napi, int budget)
{
	struct vn_chan *c = container_of(napi, struct vn_chan, napi);
	struct vn_link *l = c->link;
	struct sk_buff_head q;
	struct sk_buff *skb;
	int work = 0, n;
	bool up, sleep, restart;

	__skb_queue_head_init(&q);
	spin_lock(&c->lock);
	c->st.polls++;
	if (c->armed) {
		vlink_ring_sleep_end(&rings(c)->rx);
		c->armed = false;
	}
	up = chan_sync(c);
	while (up && work < budget && (n = rx_burst(c, budget - work, &q)) > 0)
		work += n;
	restart = up && tx_restart_due(c);
	spin_unlock(&c->lock);
	if (restart)
		netif_tx_wake_queue(netdev_get_tx_queue(l->nd, c->ch - 1));

	/* up the stack without the lock: a reply may be transmitted from here */
	while ((skb = __skb_dequeue(&q))) {
		skb->protocol = eth_type_trans(skb, l->nd);
		skb_record_rx_queue(skb, c->ch - 1);
		napi_gro_receive(napi, skb);
	}
	if (work >= budget)
		return budget;
	/* ask the host end for a signal before completing: a packet
	 * published meanwhile is seen here (repoll) or signalled (Dekker,
	 * docs/shm.md "Sleeping"); an interrupt that comes before
	 * napi_complete_done makes NAPI run again (NAPIF_STATE_MISSED).
	 * Not while out of step with the host: its reset signals anyway. */
	spin_lock(&c->lock);
	sleep = !up || READ_ONCE(l->dead);
	if (!sleep) {
		sleep = vlink_ring_sleep_begin(&rings(c)->rx);
		c->armed = sleep;
		if (sleep)
			c->st.sleeps++;
	}
	spin_unlock(&c->lock);
	if (!up)
		vn_link_carrier(l);
	if (!sleep)
		return budget;
	if (up && !netif_carrier_ok(l->nd))
		vn_link_carrier(l);
	napi_complete_done(napi, work);
	return work;
}

/* ---- transmit ----------------------------------------------------------- */

/* Under c->lock: fill the stash from the fill ring (checked descriptors;
 * len and flags are not the host's to say there). */
static void stash_refill(struct vn_chan *c)
{
	struct vlink_desc d[VN_BURST];
	unsigned int n = vlink_ring_dequeue_burst(&rings(c)->fill, d, VN_BURST - c->nstash);

	for (unsigned int i = 0; i < n; i++) {
		d[i].len = 0;
		d[i].flags = 0;
		if (!vlink_linkmem_desc_data(&c->link->m, &d[i]) ||
		    d[i].data_off >= c->link->m.buf_size) {
			c->st.fill_bad_desc++;
			continue;
		}
		c->stash[c->nstash++] = d[i];
	}
	c->stash_epoch = vlink_epoch_peer_current(&c->link->ep, c->ch);
}

enum vn_tx { VN_TX_SENT, VN_TX_DROP, VN_TX_BUSY };

/* Under c->lock: the skb into buffers from the stash, as one chain on tx;
 * VN_TX_BUSY: not now (fill is empty, or tx full), VN_TX_DROP: never. */
static enum vn_tx tx_one(struct vn_chan *c, struct sk_buff *skb)
{
	struct vn_link *l = c->link;
	struct vlink_linkmem_chan *r = rings(c);
	struct vlink_desc d[VN_CHAIN_MAX];
	unsigned int need = 0, off = 0, room = 0;

	if (skb->len > max_frame(l))
		return VN_TX_DROP;
	/* buffers enough from the top of the stash, each with its own
	 * headroom (the data_off the host suggests) */
	for (;;) {
		unsigned int had = c->nstash;

		need = 0;
		room = 0;
		while (need < c->nstash && room < skb->len) {
			room += l->m.buf_size - c->stash[c->nstash - 1 - need].data_off;
			need++;
		}
		if (room >= skb->len && need)
			break;
		stash_refill(c);
		if (c->nstash == had)
			/* fill is empty: wait for more.  A full stash that
			 * cannot hold the frame is a hostile host's crumbs
			 * (buffers with almost no room past data_off; honest
			 * ones hold any frame up to max_frame in far fewer):
			 * waiting would spin, the packet is dropped */
			return had < VN_BURST ? VN_TX_BUSY : VN_TX_DROP;
	}
	if (need > VN_CHAIN_MAX)
		return VN_TX_DROP;
	if (vlink_ring_room(&r->tx, need) < need)
		return VN_TX_BUSY;
	for (unsigned int i = 0; i < need; i++) {
		struct vlink_desc *b = &c->stash[c->nstash - 1 - i];
		unsigned int len = min_t(unsigned int, skb->len - off,
					 l->m.buf_size - b->data_off);
		u8 *data = vlink_linkmem_desc_data(&l->m, b);

		/* checked when taken: data is the buffer at data_off */
		skb_copy_bits(skb, off, data, len);
		d[i] = *b;
		d[i].len = len;
		d[i].flags = i + 1 < need ? VLINK_DESC_F_MORE : 0;
		off += len;
	}
	vlink_ring_enqueue_burst(&r->tx, d, need); /* room checked above */
	c->nstash -= need;
	return VN_TX_SENT;
}

static netdev_tx_t vn_xmit(struct sk_buff *skb, struct net_device *nd)
{
	struct vn_link *l = netdev_priv(nd);
	unsigned int q = skb_get_queue_mapping(skb);
	struct vn_chan *c = &l->ch[q < l->nch ? q : 0];
	unsigned int len = skb->len;
	bool poll = false;
	enum vn_tx res;

	spin_lock(&c->lock);
	res = chan_sync(c) ? tx_one(c, skb) : VN_TX_DROP;
	if (res == VN_TX_SENT) {
		c->st.tx_packets++;
		c->st.tx_bytes += len;
	} else if (res == VN_TX_DROP) {
		c->st.tx_dropped++;
	} else {
		/* the packet waits in the qdisc, not dropped: the queue goes
		 * on when the host end gives fill buffers (tx_restart_due,
		 * from NAPI, which its refill signals once need_wakeup is
		 * set); buffers there already: NAPI looks at once */
		netif_tx_stop_queue(netdev_get_tx_queue(nd, c->ch - 1));
		c->tx_stopped = true;
		c->st.tx_stops++;
		poll = !vlink_ring_sleep_begin(&rings(c)->fill);
	}
	/* a host end asleep in its receive waits for this (once per sleep);
	 * also when this packet waits: what the batch sent before it must
	 * not */
	if ((res == VN_TX_BUSY || (res == VN_TX_SENT && !netdev_xmit_more())) &&
	    vlink_ring_wake_due(&rings(c)->tx)) {
		vn_doorbell(l->vd, l->slot, c->ch);
		c->st.doorbells++;
	}
	spin_unlock(&c->lock);
	if (poll)
		napi_schedule(&c->napi);
	if (res == VN_TX_BUSY)
		return NETDEV_TX_BUSY;
	dev_consume_skb_any(skb);
	return NETDEV_TX_OK;
}

/* ---- open, stop --------------------------------------------------------- */

static int vn_open(struct net_device *nd)
{
	struct vn_link *l = netdev_priv(nd);

	if (READ_ONCE(l->dead))
		return -ENOLINK;
	/* take up the peer end's indices where they are in shared memory
	 * (another peer may have had the link since), and ask for a reset:
	 * the loans of whoever was the peer before are void */
	for (unsigned int i = 0; i < l->nch; i++) {
		struct vn_chan *c = &l->ch[i];
		struct vlink_linkmem_chan *r = &l->m.ch[i];

		struct vlink_ring *rr[4] = { &r->rx, &r->done, &r->fill, &r->tx };

		spin_lock_bh(&c->lock);
		for (unsigned int k = 0; k < 4; k++) {
			u64 bad = rr[k]->bad_index;

			/* cannot fail: it was attached so before */
			vlink_ring_attach(rr[k], rr[k]->hdr, rr[k]->size, rr[k]->producer);
			rr[k]->bad_index = bad;
		}
		c->nstash = 0;
		c->rx_skb = NULL;
		c->rx_skip = false;
		c->armed = false;
		c->tx_stopped = false;
		spin_unlock_bh(&c->lock);
	}
	vlink_epoch_peer_attach(&l->m, &l->ep);
	for (unsigned int i = 0; i < l->nch; i++)
		napi_enable(&l->ch[i].napi);
	WRITE_ONCE(l->open, true);
	netif_carrier_off(nd);
	netif_tx_start_all_queues(nd);
	vn_link_kick(l);
	return 0;
}

/* Give back what the host lent and this end holds or has not taken yet:
 * the stash, whatever waits in rx and fill (libvlinkguest's close does the
 * same), while LEAVING; then DOWN.  Bounded: a host that drains nothing
 * does not hold the interface. */
static void give_back(struct vn_link *l)
{
	vlink_epoch_peer_set(&l->m, VLINK_END_LEAVING);
	for (unsigned int i = 0; i < l->nch; i++) {
		struct vn_chan *c = &l->ch[i];
		struct vlink_linkmem_chan *r = &l->m.ch[i];
		u64 budget = 2ull * l->m.ring_size + VN_BURST;
		int tries = 0;

		for (;;) {
			struct vlink_desc d[VN_BURST];
			unsigned int n = 0, k, room;

			spin_lock_bh(&c->lock);
			if (!chan_sync(c)) {
				spin_unlock_bh(&c->lock);
				break;
			}
			room = vlink_ring_room(&r->done, VN_BURST);
			while (c->nstash && n < room) {
				d[n] = c->stash[--c->nstash];
				d[n].len = 0;
				d[n].flags = 0;
				n++;
			}
			if (n < room) {
				k = vlink_ring_dequeue_burst(&r->rx, d + n, room - n);
				k += vlink_ring_dequeue_burst(&r->fill, d + n + k, room - n - k);
				k += n;
				for (unsigned int j = n; j < k; j++) {
					d[j].len = 0;
					d[j].flags = 0;
					if (vlink_linkmem_desc_data(&l->m, &d[j]))
						d[n++] = d[j];
					else
						c->st.rx_bad_desc++;
				}
			}
			if (n)
				vlink_ring_enqueue_burst(&r->done, d, n);
			spin_unlock_bh(&c->lock);
			if (!room && ++tries < 1000) {
				usleep_range(1000, 2000); /* done is full: the host drains it */
				continue;
			}
			if (!n || n >= budget)
				break;
			budget -= n;
		}
	}
	vlink_epoch_peer_set(&l->m, VLINK_END_DOWN);
}

static int vn_stop(struct net_device *nd)
{
	struct vn_link *l = netdev_priv(nd);

	WRITE_ONCE(l->open, false);
	netif_tx_disable(nd);
	for (unsigned int i = 0; i < l->nch; i++)
		napi_disable(&l->ch[i].napi);
	if (!READ_ONCE(l->dead))
		give_back(l);
	for (unsigned int i = 0; i < l->nch; i++) {
		struct vn_chan *c = &l->ch[i];

		spin_lock_bh(&c->lock);
		if (c->armed && !READ_ONCE(l->dead))
			vlink_ring_sleep_end(&l->m.ch[i].rx);
		if (c->tx_stopped && !READ_ONCE(l->dead))
			vlink_ring_sleep_end(&l->m.ch[i].fill);
		c->armed = false;
		c->tx_stopped = false;
		c->nstash = 0;
		if (c->rx_skb)
			dev_kfree_skb_any(c->rx_skb);
		c->rx_skb = NULL;
		spin_unlock_bh(&c->lock);
	}
	netif_carrier_off(nd);
	return 0;
}

static void vn_get_stats64(struct net_device *nd, struct rtnl_link_stats64 *s)
{
	struct vn_link *l = netdev_priv(nd);

	for (unsigned int i = 0; i < l->nch; i++) {
		const struct vn_stats *st = &l->ch[i].st;

		s->rx_packets += READ_ONCE(st->rx_packets);
		s->rx_bytes += READ_ONCE(st->rx_bytes);
		s->tx_packets += READ_ONCE(st->tx_packets);
		s->tx_bytes += READ_ONCE(st->tx_bytes);
		s->rx_dropped += READ_ONCE(st->rx_dropped);
		s->tx_dropped += READ_ONCE(st->tx_dropped);
		s->rx_errors += READ_ONCE(st->rx_bad_desc);
		s->tx_errors += READ_ONCE(st->fill_bad_desc);
	}
}

static const struct net_device_ops vn_netdev_ops = {
	.ndo_open = vn_open,
	.ndo_stop = vn_stop,
	.ndo_start_xmit = vn_xmit,
	.ndo_get_stats64 = vn_get_stats64,
	.ndo_validate_addr = eth_validate_addr,
};

/* ---- ethtool ------------------------------------------------------------ */

static const char vn_chan_stat_names[][ETH_GSTRING_LEN - 8] = {
	"rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "rx_dropped", "rx_bad_desc",
	"fill_bad_desc", "bad_index", "tx_dropped", "tx_stops", "stale", "doorbells", "sleeps",
	"polls",
};
#define VN_CHAN_STATS ARRAY_SIZE(vn_chan_stat_names)
static const char vn_link_stat_names[][ETH_GSTRING_LEN] = {
	"resets", "host_epoch", "host_state", "peer_state",
};
#define VN_LINK_STATS ARRAY_SIZE(vn_link_stat_names)

static void vn_get_drvinfo(struct net_device *nd, struct ethtool_drvinfo *info)
{
	struct vn_link *l = netdev_priv(nd);

	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->bus_info, pci_name(l->vd->pdev), sizeof(info->bus_info));
	snprintf(info->fw_version, sizeof(info->fw_version), "pci-vlink v%u slot %u",
		 l->vd->version, l->slot);
}

static int vn_get_sset_count(struct net_device *nd, int sset)
{
	struct vn_link *l = netdev_priv(nd);

	return sset == ETH_SS_STATS ? VN_LINK_STATS + l->nch * VN_CHAN_STATS : -EOPNOTSUPP;
}

static void vn_get_strings(struct net_device *nd, u32 sset, u8 *p)
{
	struct vn_link *l = netdev_priv(nd);

	if (sset != ETH_SS_STATS)
		return;
	for (unsigned int i = 0; i < VN_LINK_STATS; i++)
		ethtool_sprintf(&p, "%s", vn_link_stat_names[i]);
	for (unsigned int ch = 1; ch <= l->nch; ch++)
		for (unsigned int i = 0; i < VN_CHAN_STATS; i++)
			ethtool_sprintf(&p, "ch%u_%s", ch, vn_chan_stat_names[i]);
}

static void vn_get_ethtool_stats(struct net_device *nd, struct ethtool_stats *es, u64 *v)
{
	struct vn_link *l = netdev_priv(nd);
	bool alive = !READ_ONCE(l->dead);

	*v++ = __atomic_load_n(&l->ep.resets, __ATOMIC_RELAXED);
	*v++ = alive ? READ_ONCE(l->m.hdr->host_epoch) : 0;
	*v++ = alive ? vlink_epoch_host_state(&l->m) : 0;
	*v++ = alive ? vlink_epoch_peer_state(&l->m) : 0;
	for (unsigned int i = 0; i < l->nch; i++) {
		const struct vn_stats *st = &l->ch[i].st;
		const struct vlink_linkmem_chan *r = &l->m.ch[i];

		*v++ = READ_ONCE(st->rx_packets);
		*v++ = READ_ONCE(st->rx_bytes);
		*v++ = READ_ONCE(st->tx_packets);
		*v++ = READ_ONCE(st->tx_bytes);
		*v++ = READ_ONCE(st->rx_dropped);
		*v++ = READ_ONCE(st->rx_bad_desc);
		*v++ = READ_ONCE(st->fill_bad_desc);
		*v++ = READ_ONCE(r->rx.bad_index) + READ_ONCE(r->done.bad_index) +
		       READ_ONCE(r->fill.bad_index) + READ_ONCE(r->tx.bad_index);
		*v++ = READ_ONCE(st->tx_dropped);
		*v++ = READ_ONCE(st->tx_stops);
		*v++ = READ_ONCE(st->stale);
		*v++ = READ_ONCE(st->doorbells);
		*v++ = READ_ONCE(st->sleeps);
		*v++ = READ_ONCE(st->polls);
	}
}

static void vn_get_channels(struct net_device *nd, struct ethtool_channels *ch)
{
	struct vn_link *l = netdev_priv(nd);

	ch->max_combined = l->nch;
	ch->combined_count = l->nch;
}

static const struct ethtool_ops vn_ethtool_ops = {
	.get_drvinfo = vn_get_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_sset_count = vn_get_sset_count,
	.get_strings = vn_get_strings,
	.get_ethtool_stats = vn_get_ethtool_stats,
	.get_channels = vn_get_channels,
};

/* ---- life --------------------------------------------------------------- */

struct vn_link *vn_link_alloc(struct vn_dev *vd, unsigned int slot,
			      const struct vlink_link_entry *e)
{
	unsigned int nch = e->nchannels;
	struct net_device *nd;
	struct vn_link *l;
	char why[160];
	int err;

	if (nch < 1 || nch > VLINK_NCHANNELS_MAX) {
		dev_warn(&vd->pdev->dev, "link table slot %u: %u channels (1-%d): ignored\n",
			 slot, nch, VLINK_NCHANNELS_MAX);
		return ERR_PTR(-EINVAL);
	}
	nd = alloc_netdev_mqs(struct_size(l, ch, nch), "vlink%d", NET_NAME_ENUM, ether_setup,
			      nch, nch);
	if (!nd)
		return ERR_PTR(-ENOMEM);
	l = netdev_priv(nd);
	l->nd = nd;
	l->vd = vd;
	l->slot = slot;
	l->nch = nch;
	l->entry = *e;
	memcpy(l->name, e->name, VLINK_SHM_NAME_LEN);
	l->name[VLINK_SHM_NAME_LEN] = '\0';
	/* the one check of a link's layout, and the link header's */
	err = vlink_linkmem_from_bars(&l->m, vd->pool, vd->pool_size, vd->region,
				      vd->region_size, e, vd->domain, false, why, sizeof(why));
	if (err) {
		dev_warn(&vd->pdev->dev, "link table slot %u: %s: ignored\n", slot, why);
		free_netdev(nd);
		return ERR_PTR(err);
	}
	for (unsigned int i = 0; i < nch; i++) {
		struct vn_chan *c = &l->ch[i];

		c->link = l;
		c->ch = i + 1;
		spin_lock_init(&c->lock);
		netif_napi_add(nd, &c->napi, vn_poll);
	}
	nd->netdev_ops = &vn_netdev_ops;
	nd->ethtool_ops = &vn_ethtool_ops;
	nd->features = NETIF_F_SG;
	nd->hw_features = NETIF_F_SG;
	nd->min_mtu = VLINK_MTU_MIN;
	nd->max_mtu = l->m.mtu;
	nd->mtu = l->m.mtu;
	if (is_valid_ether_addr(e->mac)) {
		eth_hw_addr_set(nd, e->mac);
	} else {
		eth_hw_addr_random(nd);
		dev_warn(&vd->pdev->dev, "link %s: MAC %pM is not a unicast address: a random one\n",
			 l->name, e->mac);
	}
	SET_NETDEV_DEV(nd, &vd->pdev->dev);
	netif_carrier_off(nd);
	return l;
}

int vn_link_register(struct vn_link *l)
{
	int err = register_netdev(l->nd);

	if (err) {
		dev_warn(&l->vd->pdev->dev, "link %s: register_netdev: %pe\n", l->name,
			 ERR_PTR(err));
		vlink_xlate_fini(&l->m.x);
		free_netdev(l->nd);
		return err;
	}
	dev_set_alias(l->nd, l->name, strlen(l->name));
	netdev_info(l->nd, "link %s (domain %s, slot %u): %u channel(s) of %u descriptors, "
		    "MTU %u, MAC %pM\n", l->name, l->vd->domain, l->slot, l->nch,
		    l->m.ring_size, l->m.mtu, l->nd->dev_addr);
	vn_link_carrier(l);
	return 0;
}

void vn_link_destroy(struct vn_link *l)
{
	struct net_device *nd = l->nd;

	unregister_netdev(nd); /* stops it first if it is up */
	for (unsigned int i = 0; i < l->nch; i++)
		netif_napi_del(&l->ch[i].napi);
	vlink_xlate_fini(&l->m.x);
	free_netdev(nd);
}
