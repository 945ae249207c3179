/* net_vlink: a DPDK poll-mode driver for vlink links.
 *
 *   --vdev net_vlink0,link=NAME[,end=host|peer|guest][,mode=mq|bond][,socket=PATH]
 *                    [,dev=PCI-ADDRESS][,wait=S][,reset_timeout=MS]
 *   -a 0000:00:04.0[,link=NAME][,wait=S]     (inside a VM: a pci-vlink device)
 *
 * end=host (default) is the zero-copy host end (vlink_host.c); end=peer the
 * peer end through libvlinkguest (vlink_peer.c), attached through vlinkd's
 * socket; end=guest the same peer end inside a VM, on the links of a
 * pci-vlink device (libvlinkguest's guest mode: the device's BARs through
 * sysfs, no kernel driver).  The PCI driver net_vlink_pci does the same
 * for every pci-vlink device EAL probes: one port per link of the
 * device's domain (or only link=NAME), named ADDRESS_LINK.  This file:
 * devargs, attaching, the ethdev ops, stats, and a control thread that
 * follows the other end's state (link status, LSC events) and reconnects
 * to vlinkd in the background when it goes away. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <bus_pci_driver.h>
#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_telemetry.h>

#include "vlink_epoch.h"
#include "vlink_error.h"
#include "vlink_pci.h"
#include "vlink_pmd.h"
#include "vlink_shm.h"
#include "vlink_valid.h"

RTE_LOG_REGISTER_DEFAULT(vlink_logtype, NOTICE);

#define ARG_LINK "link"
#define ARG_END "end"
#define ARG_MODE "mode"
#define ARG_SOCKET "socket"
#define ARG_DEV "dev"
#define ARG_WAIT "wait"
#define ARG_RESET "reset_timeout"
#define ARG_COPYBREAK "rx_copybreak"

#define WAIT_DEFAULT 5        /* seconds the probe waits for vlinkd */
#define RESET_DEFAULT 1000    /* ms a reset waits for the peer's ack */
#define COPYBREAK_DEFAULT 0   /* bytes: host rx copies packets this small */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ------------------------------------------------------------- devargs */

/* Each parser takes its key's value into pv: 0, or -EINVAL after saying
 * why. */

static int arg_link(struct pmd_internals *pv, const char *k, const char *v)
{
	char why[256];
	int err = vlink_check_name("link", v, why, sizeof(why));

	if (err)
		VLOG(ERR, pv, "%s=%s: %s", k, v, why);
	snprintf(pv->link, sizeof(pv->link), "%s", v);
	return err;
}

/* v is one of the n words: its index, or -EINVAL after naming them */
static int arg_word(struct pmd_internals *pv, const char *k, const char *v,
		    const char *const *words, unsigned n)
{
	char list[64];
	size_t off = 0;

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(v, words[i]))
			return (int)i;
	for (unsigned i = 0; i < n && off < sizeof(list); i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%s",
				!i ? "" : i + 1 < n ? ", " : " or ", words[i]);
	VLOG(ERR, pv, "%s=%s: must be %s", k, v, list);
	return -EINVAL;
}

static int arg_end(struct pmd_internals *pv, const char *k, const char *v)
{
	/* guest: the peer end, on a pci-vlink device in a VM */
	static const char *const ends[] = { "host", "peer", "guest" };
	int i = arg_word(pv, k, v, ends, RTE_DIM(ends));

	if (i < 0)
		return i;
	pv->end = i ? VL_END_PEER : VL_END_HOST;
	pv->guest = i == 2;
	return 0;
}

static int arg_mode(struct pmd_internals *pv, const char *k, const char *v)
{
	static const char *const modes[] = { "mq", "bond" };
	int i = arg_word(pv, k, v, modes, RTE_DIM(modes));

	if (i < 0)
		return i;
	pv->mode = i ? VL_MODE_BOND : VL_MODE_MQ;
	return 0;
}

/* a path or address: not empty, fits dst */
static int arg_string(struct pmd_internals *pv, const char *k, const char *v, char *dst,
		      size_t size)
{
	if (!*v || strlen(v) >= size) {
		VLOG(ERR, pv, "%s=%s: empty or longer than %zu bytes", k, v, size - 1);
		return -EINVAL;
	}
	snprintf(dst, size, "%s", v);
	return 0;
}

static int arg_socket(struct pmd_internals *pv, const char *k, const char *v)
{
	return arg_string(pv, k, v, pv->socket, sizeof(pv->socket));
}

static int arg_dev(struct pmd_internals *pv, const char *k, const char *v)
{
	return arg_string(pv, k, v, pv->pci_dev, sizeof(pv->pci_dev));
}

/* v is a number of `unit` from 0 to max */
static int arg_uint(struct pmd_internals *pv, const char *k, const char *v, unsigned max,
		    const char *unit, unsigned *out)
{
	uint64_t u;

	if (vlink_parse_uint(v, max, &u)) {
		VLOG(ERR, pv, "%s=%s: must be a number of %s, 0 to %u", k, v, unit, max);
		return -EINVAL;
	}
	*out = (unsigned)u;
	return 0;
}

static int arg_wait(struct pmd_internals *pv, const char *k, const char *v)
{
	return arg_uint(pv, k, v, 3600, "seconds", &pv->wait_s);
}

static int arg_reset(struct pmd_internals *pv, const char *k, const char *v)
{
	return arg_uint(pv, k, v, 60000, "milliseconds", &pv->reset_ms);
}

static int arg_copybreak(struct pmd_internals *pv, const char *k, const char *v)
{
	return arg_uint(pv, k, v, UINT16_MAX, "bytes", &pv->copybreak);
}

static const struct devarg {
	const char *key;
	int (*parse)(struct pmd_internals *pv, const char *k, const char *v);
	bool pci;    /* also for a pci-vlink device (-a ADDRESS,...) */
} devargs[] = {
	{ ARG_LINK, arg_link, true },
	{ ARG_END, arg_end, false },
	{ ARG_MODE, arg_mode, true },
	{ ARG_SOCKET, arg_socket, false },
	{ ARG_DEV, arg_dev, false },
	{ ARG_WAIT, arg_wait, true },
	{ ARG_RESET, arg_reset, false },
	{ ARG_COPYBREAK, arg_copybreak, false },
};

static int parse_arg(struct pmd_internals *pv, const char *k, const char *v, bool pci)
{
	char valid[128];
	size_t off = 0;

	if (!v) {
		VLOG(ERR, pv, "argument '%s' needs a value (%s=...)", k, k);
		return -EINVAL;
	}
	for (size_t i = 0; i < RTE_DIM(devargs); i++)
		if (!strcmp(k, devargs[i].key) && (devargs[i].pci || !pci))
			return devargs[i].parse(pv, k, v);
	valid[0] = '\0';
	for (size_t i = 0; i < RTE_DIM(devargs) && off < sizeof(valid); i++)
		if (devargs[i].pci || !pci)
			off += snprintf(valid + off, sizeof(valid) - off, "%s%s", off ? ", " : "",
					devargs[i].key);
	VLOG(ERR, pv, "unknown argument '%s'%s (valid: %s)", k,
	     pci ? " for a pci-vlink device" : "", valid);
	return -EINVAL;
}

/* The devargs of a vdev, or (pci) of a pci-vlink device: there link=
 * (optional: without it, a port per link), mode and wait. */
static int parse_args(struct pmd_internals *pv, const char *args, bool pci)
{
	struct rte_kvargs *kv;
	int err = 0;

	pv->link[0] = '\0'; /* link= is required: an empty name is refused */
	pv->end = VL_END_HOST;
	pv->mode = VL_MODE_MQ;
	pv->wait_s = WAIT_DEFAULT;
	pv->reset_ms = RESET_DEFAULT;
	pv->copybreak = COPYBREAK_DEFAULT;
	snprintf(pv->socket, sizeof(pv->socket), "%s", vlink_default_socket());
	kv = rte_kvargs_parse(args ? args : "", NULL);
	if (!kv) {
		VLOG(ERR, pv, "cannot parse the arguments '%s' (key=value,...)", args);
		return -EINVAL;
	}
	for (unsigned i = 0; i < kv->count && !err; i++)
		err = parse_arg(pv, kv->pairs[i].key, kv->pairs[i].value, pci);
	rte_kvargs_free(kv);
	if (pci) {
		pv->end = VL_END_PEER;
		pv->guest = true;
	} else if (!err && !pv->link[0]) {
		VLOG(ERR, pv, "missing argument link=NAME (the vlink link to attach)");
		err = -EINVAL;
	}
	if (!err && pv->pci_dev[0] && !pv->guest) {
		VLOG(ERR, pv, "dev=%s is for end=guest (a pci-vlink device in a VM)", pv->pci_dev);
		err = -EINVAL;
	}
	if (!err && pv->end == VL_END_PEER && pv->mode == VL_MODE_BOND) {
		VLOG(ERR, pv, "mode=bond is for the host end; the peer end is mq only");
		err = -EINVAL;
	}
	return err;
}

static const char *end_name(const struct pmd_internals *pv)
{
	return pv->end == VL_END_HOST ? "host" : pv->guest ? "guest" : "peer";
}

/* ------------------------------------------------------------- attaching */

/* The link's notifiers from vlinkd, swapped in on the fd numbers the port
 * has had from the start; without them (a vlinkd before protocol 3) the
 * port only polls: rx interrupts are refused. */
static void notify_fetch(struct pmd_internals *pv, struct vlink_client *cl)
{
	char why[256];

	if (vlink_notify_fetch(&pv->notify, cl, pv->link, 5000, why, sizeof(why)))
		VLOG(WARNING, pv, "no notifiers from vlinkd (%s): the port polls, rx "
		     "interrupts are off", why);
}

static int host_attach(struct pmd_internals *pv, char *why, size_t n)
{
	struct vlink_reply rep;
	int err;

	err = vlink_client_open(&pv->cl, pv->socket, VLINK__ROLE__ROLE_HOST, "net_vlink",
				(int)pv->wait_s * 1000, why, n);
	if (err)
		return err;
	err = vlink_client_attach(pv->cl, pv->link, VLINK__END__END_HOST, &rep, 10000);
	if (err) {
		vlink_why(why, n, err, "vlinkd refused to attach link '%s': %s", pv->link,
			  vlink_client_error(pv->cl));
		goto err_close;
	}
	err = vlink_linkmem_map(&pv->m, rep.env->link_map, rep.fds, rep.nfds, true, why, n);
	if (err)
		goto err_rep;
	vlink_reply_clear(&rep); /* the mappings hold the memory */
	pv->nch = pv->m.nch;
	pv->buf_size = pv->m.buf_size;
	pv->mtu = pv->m.mtu;
	memcpy(pv->mac.addr_bytes, pv->m.hdr->mac, RTE_ETHER_ADDR_LEN);
	err = vlink_notify_init(&pv->notify, pv->m.nch, true);
	if (err) {
		vlink_why(why, n, err, "notifiers: %s", vlink_strerror(err));
		goto err_unmap;
	}
	notify_fetch(pv, pv->cl);
	err = vl_host_setup(pv, why, n);
	if (err)
		goto err_notify;
	return 0;

err_notify:
	vlink_notify_fini(&pv->notify);
err_unmap:
	vlink_linkmem_unmap(&pv->m);
	goto err_close;
err_rep:
	vlink_reply_clear(&rep);
err_close:
	vlink_client_close(pv->cl);
	pv->cl = NULL;
	return err;
}

/* vlinkd came back: attach again, and keep the mapping if it is the same
 * memory (it is, unless the daemon lost its state). */
static int host_reattach(struct pmd_internals *pv, char *why, size_t n)
{
	struct vlink_client *cl;
	struct vlink_reply rep;
	int err;

	err = vlink_client_open(&cl, pv->socket, VLINK__ROLE__ROLE_HOST, "net_vlink", 0,
				why, n);
	if (err)
		return err;
	err = vlink_client_attach(cl, pv->link, VLINK__END__END_HOST, &rep, 10000);
	if (err) {
		vlink_why(why, n, err, "vlinkd refused to attach link '%s' again: %s", pv->link,
			  vlink_client_error(cl));
		vlink_client_close(cl);
		return err;
	}
	err = vlink_linkmem_same_files(&pv->m, rep.env->link_map, rep.fds, rep.nfds);
	vlink_reply_clear(&rep);
	if (err == -ESTALE) {
		vlink_client_close(cl);
		return vlink_why(why, n, err, "vlinkd now has other memory for link '%s' (its "
				 "state was lost?): this port keeps the old memory; restart it "
				 "to use the new", pv->link);
	}
	if (err) {
		vlink_client_close(cl);
		return vlink_why(why, n, err, "vlinkd sent a bad map of link '%s': %s", pv->link,
				 vlink_strerror(err));
	}
	pv->cl = cl;
	/* the new daemon's: a sleeping peer waits on those now */
	notify_fetch(pv, cl);
	return 0;
}

/* Extended stats: per-queue counters, then the port's. */
enum { QX_RX_BAD, QX_RX_NOMBUF, QX_RX_DROPPED, QX_RX_COPIES, QX_TX_COPIES, QX_TX_RING_FULL,
       QX_TX_NOMBUF, QX_N };
static const char *const qx_names[QX_N] = {
	"rx_q%u_bad_desc", "rx_q%u_nombuf", "rx_q%u_dropped", "rx_q%u_copies",
	"tx_q%u_copies", "tx_q%u_ring_full", "tx_q%u_nobuf",
};
static const char *const ledger_names[VLINK_LEDGER_NERR] = {
	"bad_desc_out_of_area", "bad_desc_misaligned", "bad_desc_bad_length",
	"bad_desc_not_lent", "bad_desc_wrong_channel",
};
static const char *const px_names[] = {
	"reconnects", "daemon_losses", "buffers_lent", "ring_bad_index",
	"resets", "reset_timeouts", "reset_reclaimed", "buffers_in_app",
};
#define PX_FIXED RTE_DIM(px_names)
#define PX_N (PX_FIXED + VLINK_LEDGER_NERR) /* then the ledger's refusals */
static_assert(PX_N <= VL_XPUB_MAX, "pmd_internals.xpub too small");

/* ------------------------------------------------------- link & control */

static uint32_t other_state(const struct pmd_internals *pv)
{
	if (pv->end == VL_END_PEER)
		return !__atomic_load_n(&pv->peer_gone, __ATOMIC_RELAXED) &&
		       vlink_guest_host_up(pv->g) ? VLINK_END_UP : VLINK_END_DOWN;
	return vlink_epoch_peer_state(&pv->m);
}

static int vl_link_update(struct rte_eth_dev *dev, int wait)
{
	struct pmd_internals *pv = dev->data->dev_private;
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_100G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
	};

	(void)wait;
	link.link_status = pv->started && other_state(pv) == VLINK_END_UP ?
			   RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
	return rte_eth_linkstatus_set(dev, &link);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void ctl_link(struct pmd_internals *pv)
{
	struct rte_eth_dev *dev = pv->dev;
	int before = dev->data->dev_link.link_status;

	vl_link_update(dev, 0);
	if (dev->data->dev_link.link_status != before) {
		VLOG(INFO, pv, "link %s", dev->data->dev_link.link_status ? "up" : "down");
		if (dev->data->dev_conf.intr_conf.lsc)
			rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, NULL);
	}
}

/* Host end, started: a reset while the lcores poll (they skip their
 * bursts meanwhile). */
static void ctl_reset(struct pmd_internals *pv, const char *why, unsigned timeout_ms)
{
	pthread_mutex_lock(&pv->reset_mx);
	if (pv->started) {
		VLOG(NOTICE, pv, "%s: resetting the link", why);
		vl_queues_hold(pv->dev, true);
		vl_host_reset(pv->dev, timeout_ms, VLINK_END_UP);
		vl_queues_hold(pv->dev, false);
	}
	pthread_mutex_unlock(&pv->reset_mx);
}

/* An event from vlinkd: the peer end's connection went away.  A peer that
 * closed (peer_state DOWN) gave back what it held and what it sent is
 * still on its way in: nothing to do.  One that died (its process or its
 * QEMU) left its buffers lent: they are ours again. */
static void ctl_event(struct pmd_internals *pv, const Vlink__Envelope *env)
{
	const Vlink__Event *e = env->msg_case == VLINK__ENVELOPE__MSG_EVENT ? env->event : NULL;

	if (e && e->kind == VLINK__EVENT__KIND__END_DOWN && e->end == VLINK__END__END_PEER &&
	    e->link && !strcmp(e->link, pv->link) &&
	    vlink_epoch_peer_state(&pv->m) != VLINK_END_DOWN)
		ctl_reset(pv, "vlinkd says the peer end is gone", 0);
}

/* Host end: watch the daemon connection; when it breaks, reconnect with
 * backoff.  The data path never needs the daemon. */
static void ctl_daemon(struct pmd_internals *pv, uint64_t *next_try, unsigned *backoff)
{
	struct vlink_reply ev;
	char why[512];
	int err;

	if (pv->cl) {
		err = vlink_client_event(pv->cl, &ev, 100);
		if (!err) {
			ctl_event(pv, ev.env);
			vlink_reply_clear(&ev);
			return;
		}
		if (err == -ETIMEDOUT)
			return;
		VLOG(WARNING, pv, "lost vlinkd (%s); traffic goes on, reconnecting in the "
		     "background", vlink_strerror(err));
		vlink_client_close(pv->cl);
		pv->cl = NULL;
		pv->daemon_losses++;
		pv->reattach_err = 0;
		*backoff = BACKOFF_MIN_MS;
		*next_try = now_ms() + *backoff;
		return;
	}
	rte_delay_us_sleep(100 * 1000);
	if (now_ms() < *next_try)
		return;
	err = host_reattach(pv, why, sizeof(why));
	if (!err) {
		pv->reconnects++;
		VLOG(NOTICE, pv, "vlinkd is back: link '%s' re-attached, same memory, "
		     "nothing remapped", pv->link);
		return;
	}
	/* each new reason once (no daemon yet is no news) */
	if (err != -ENOENT && err != -ECONNREFUSED && err != pv->reattach_err)
		VLOG(WARNING, pv, "reconnecting: %s", why);
	pv->reattach_err = err;
	*backoff = RTE_MIN(*backoff * 2, (unsigned)BACKOFF_MAX_MS);
	*next_try = now_ms() + *backoff;
}

/* Guest end: the device's link table was read again after a generation
 * change (by whichever thread polled first: the data path polls too), and
 * the link found unchanged; say so, and whether the device had reconnected
 * to vlinkd (its CONNECTS register). */
static void ctl_guest_dev(struct pmd_internals *pv)
{
	struct vlink_guest_dev d;

	if (vlink_guest_dev_info(pv->g, &d) || d.refreshes == pv->dev_refreshes)
		return;
	if (d.connects != pv->dev_connects) {
		pv->reconnects++;
		VLOG(NOTICE, pv, "vlinkd is back: the device reconnected (connection %u), link "
		     "'%s' checked, same memory, nothing remapped", d.connects, pv->link);
	} else {
		VLOG(INFO, pv, "the device's link table changed (generation %u): link '%s' "
		     "unchanged", d.generation, pv->link);
	}
	pv->dev_refreshes = d.refreshes;
	pv->dev_connects = d.connects;
}

/* Peer end: libvlinkguest watches the daemon connection and re-attaches
 * (vlink_guest_poll); say what it found. */
static void ctl_peer(struct pmd_internals *pv)
{
	struct vlink_guest_stats gs;
	int r = vlink_guest_poll(pv->g);

	vlink_guest_stats(pv->g, &gs);
	if (gs.daemon_losses != pv->daemon_losses) {
		pv->daemon_losses = gs.daemon_losses;
		VLOG(WARNING, pv, "lost vlinkd; traffic goes on, reconnecting in the background");
	}
	if (r == 1 && !pv->guest)
		VLOG(NOTICE, pv, "vlinkd is back: link '%s' re-attached, same memory, nothing "
		     "remapped", pv->link);
	if (pv->guest)
		ctl_guest_dev(pv);
	/* acknowledge a new host epoch even while no lcore polls (before
	 * the application starts forwarding: it may wait for link up) */
	if (r >= 0)
		vlink_guest_wait_host(pv->g, 0);
	if (r < 0 && r != -EAGAIN && !pv->peer_gone) {
		__atomic_store_n(&pv->peer_gone, true, __ATOMIC_RELAXED);
		ctl_link(pv); /* link down now */
		VLOG(ERR, pv, "link '%s': %s; this port moves nothing any more: close it and "
		     "probe it again", pv->link, r == -ENOLINK ? "vlinkd no longer has it" :
		     r == -ESTALE ? "vlinkd now has other memory for it" : vlink_strerror(r));
	}
}

static uint64_t px_value(const struct pmd_internals *pv, unsigned k);

/* For secondary processes and telemetry, which must not touch the link's
 * mappings or libvlinkguest's handle. */
static void ctl_publish(struct pmd_internals *pv)
{
	for (unsigned k = 0; k < PX_N; k++)
		__atomic_store_n(&pv->xpub[k], px_value(pv, k), __ATOMIC_RELAXED);
	if (pv->end == VL_END_HOST)
		__atomic_store_n(&pv->epoch_pub, pv->m.host_epoch, __ATOMIC_RELAXED);
}

static void *ctl_main(void *arg)
{
	struct pmd_internals *pv = arg;
	uint64_t next_try = 0;
	unsigned backoff = BACKOFF_MIN_MS;

	while (!pv->ctl_stop) {
		ctl_publish(pv);
		ctl_link(pv);
		if (pv->end == VL_END_HOST && pv->started && vlink_epoch_peer_asks(&pv->m))
			ctl_reset(pv, "a new peer end asks for a new epoch", pv->reset_ms);
		if (pv->end == VL_END_HOST) {
			ctl_daemon(pv, &next_try, &backoff);
		} else {
			ctl_peer(pv);
			rte_delay_us_sleep(100 * 1000);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ ethdev ops */

/* The data channels queue qid serves: mq mode, channel qid + 1; bond
 * mode, all. */
static unsigned queue_channels(const struct pmd_internals *pv, uint16_t qid, uint16_t *ch)
{
	if (pv->mode == VL_MODE_MQ) {
		ch[0] = (uint16_t)(qid + 1);
		return 1;
	}
	for (unsigned i = 0; i < pv->nch; i++)
		ch[i] = (uint16_t)(i + 1);
	return pv->nch;
}

/* The fd this end sleeps on for channel ch (stable for the port's life),
 * or -1 without notifiers. */
static int chan_wait_fd(const struct pmd_internals *pv, unsigned ch)
{
	int fd;

	if (pv->end == VL_END_HOST)
		return pv->notify.live ? pv->notify.wait[ch - 1] : -1;
	fd = vlink_guest_event_fd(pv->g, ch);
	return fd < 0 ? -1 : fd;
}

static void intr_free(struct pmd_internals *pv)
{
	for (unsigned i = 0; i < RTE_DIM(pv->intr_fd); i++) {
		if (pv->intr_own[i])
			close(pv->intr_fd[i]);
		pv->intr_own[i] = false;
	}
	if (pv->intr) {
		/* only ours: a PCI port may hold its device's */
		if (pv->dev->intr_handle == pv->intr)
			pv->dev->intr_handle = NULL;
		rte_intr_vec_list_free(pv->intr);
		rte_intr_instance_free(pv->intr);
	}
	pv->intr = NULL;
}

/* Rx interrupts (DPDK's rte_eth_dev_rx_intr_ctl_q, rte_epoll_wait): an
 * rx queue's fd is what its channels' notifiers wake, so an application's
 * lcore sleeps until the other end sends (docs/pmd.md, "Rx interrupts").
 * The fds are the port's for good (vlink_notify.h): the application's
 * epoll registrations outlive a vlinkd restart. */
static int intr_setup(struct rte_eth_dev *dev)
{
	struct pmd_internals *pv = dev->data->dev_private;
	uint16_t nq = dev->data->nb_rx_queues, ch[VLINK_NCHANNELS_MAX];
	int err = -ENOMEM;

	intr_free(pv);
	if (chan_wait_fd(pv, 1) < 0) {
		if (pv->guest)
			VLOG(ERR, pv, "rx interrupts in a guest need the pci-vlink device bound "
			     "to uio_pci_generic (its INTx; docs/guest.md, \"Event mode\") and a "
			     "device of register version 2: poll instead");
		else
			VLOG(ERR, pv, "rx interrupts need vlinkd's notifiers (protocol version "
			     "3), which this port does not have: poll instead, or upgrade vlinkd");
		return -ENOTSUP;
	}
	pv->intr = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (!pv->intr)
		goto fail;
	for (uint16_t q = 0; q < nq; q++) {
		unsigned k = queue_channels(pv, q, ch);

		if (k == 1) {
			pv->intr_fd[q] = chan_wait_fd(pv, ch[0]);
		} else {
			/* one fd for the queue: an epoll fd of its channels' */
			pv->intr_fd[q] = epoll_create1(EPOLL_CLOEXEC);
			if (pv->intr_fd[q] < 0) {
				err = -errno;
				goto fail;
			}
			pv->intr_own[q] = true;
			for (unsigned i = 0; i < k; i++) {
				struct epoll_event ev = { .events = EPOLLIN,
							  .data.u32 = ch[i] };

				if (epoll_ctl(pv->intr_fd[q], EPOLL_CTL_ADD,
					      chan_wait_fd(pv, ch[i]), &ev) < 0) {
					err = -errno;
					goto fail;
				}
			}
		}
		if (rte_intr_efds_index_set(pv->intr, q, pv->intr_fd[q]))
			goto fail_rte;
	}
	/* EAL reads nothing from the fds (counter size 0): disarm drains */
	if (rte_intr_type_set(pv->intr, RTE_INTR_HANDLE_VDEV) ||
	    rte_intr_efd_counter_size_set(pv->intr, 0) ||
	    rte_intr_nb_efd_set(pv->intr, nq) ||
	    rte_intr_max_intr_set(pv->intr, nq + 1) ||
	    rte_intr_vec_list_alloc(pv->intr, "vlink_intr_vec", nq))
		goto fail_rte;
	for (uint16_t q = 0; q < nq; q++)
		if (rte_intr_vec_list_index_set(pv->intr, q, RTE_INTR_VEC_RXTX_OFFSET + q))
			goto fail_rte;
	dev->intr_handle = pv->intr;
	VLOG(INFO, pv, "rx interrupts on %u queue(s)", nq);
	return 0;
fail_rte:
	err = -rte_errno;
fail:
	VLOG(ERR, pv, "rx interrupts: %s", rte_strerror(-err));
	intr_free(pv);
	return err;
}

static int vl_configure(struct rte_eth_dev *dev)
{
	struct pmd_internals *pv = dev->data->dev_private;
	uint16_t nq = RTE_MAX(dev->data->nb_rx_queues, dev->data->nb_tx_queues);

	if (pv->mode == VL_MODE_MQ && nq < pv->nch)
		VLOG(WARNING, pv, "%u queue(s) for %u data channels: channels %u-%u unused "
		     "(mq mode maps queue i to channel i + 1)", nq, pv->nch, nq + 1, pv->nch);
	if (dev->data->dev_conf.intr_conf.rxq)
		return intr_setup(dev);
	intr_free(pv);
	return 0;
}

/* Before the application's lcore sleeps on the queue's fd: from now on it
 * becomes readable when a channel of the queue gets something to receive
 * (at once if one has: vlink_notify_arm). */
static int vl_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct pmd_internals *pv = dev->data->dev_private;
	uint16_t ch[VLINK_NCHANNELS_MAX];
	unsigned k = queue_channels(pv, qid, ch);

	for (unsigned i = 0; i < k; i++) {
		if (pv->end == VL_END_HOST)
			vlink_notify_arm(&pv->notify, ch[i], &pv->m.ch[ch[i] - 1].tx);
		else
			vlink_guest_event_arm(pv->g, ch[i]);
	}
	return 0;
}

static int vl_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct pmd_internals *pv = dev->data->dev_private;
	uint16_t ch[VLINK_NCHANNELS_MAX];
	unsigned k = queue_channels(pv, qid, ch);

	for (unsigned i = 0; i < k; i++) {
		if (pv->end == VL_END_HOST)
			vlink_notify_disarm(&pv->notify, ch[i], &pv->m.ch[ch[i] - 1].tx);
		else
			vlink_guest_event_disarm(pv->g, ch[i]);
	}
	return 0;
}

static int vl_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct pmd_internals *pv = dev->data->dev_private;
	uint16_t nq = pv->mode == VL_MODE_MQ ? (uint16_t)pv->nch : 1;

	info->max_mac_addrs = 1;
	/* the link's MTU, which both ends honour (ethdev takes the difference
	 * of the two as the L2 overhead) */
	info->max_rx_pktlen = pv->mtu + VLINK_L2_OVERHEAD;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = (uint16_t)pv->mtu;
	info->max_rx_queues = nq;
	info->max_tx_queues = nq;
	info->min_rx_bufsize = 0;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->speed_capa = RTE_ETH_LINK_SPEED_FIXED;
	info->rx_desc_lim.nb_max = VLINK_RING_MAX;
	info->tx_desc_lim.nb_max = VLINK_RING_MAX;
	info->default_rxportconf.ring_size = (uint16_t)RTE_MIN(pv->m.ring_size ? pv->m.ring_size :
							       1024u, 4096u);
	return 0;
}

static int vl_start(struct rte_eth_dev *dev)
{
	struct pmd_internals *pv = dev->data->dev_private;

	if (pv->end == VL_END_HOST) {
		/* whatever an earlier host end (this one, or a process that
		 * died) lent is void: a new epoch */
		pthread_mutex_lock(&pv->reset_mx);
		vl_host_reset(dev, pv->reset_ms, VLINK_END_UP);
		pv->started = true;
		pthread_mutex_unlock(&pv->reset_mx);
	} else {
		pv->started = true;
	}
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	vl_link_update(dev, 0); /* -1 only says "unchanged" */
	return 0;
}

/* Peer end: give back what the queues hold.  (The host end's last reset
 * drops its partial chains.) */
static void peer_queues_flush(struct rte_eth_dev *dev)
{
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		if (dev->data->rx_queues[i])
			vl_peer_queue_flush(dev->data->rx_queues[i]);
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		if (dev->data->tx_queues[i])
			vl_peer_queue_flush(dev->data->tx_queues[i]);
}

static int vl_stop(struct rte_eth_dev *dev)
{
	struct pmd_internals *pv = dev->data->dev_private;

	if (pv->end == VL_END_HOST) {
		pthread_mutex_lock(&pv->reset_mx);
		pv->started = false;
		vl_host_drain(pv);
		/* and what the peer still holds: a last epoch, down, so that
		 * everything is home at close whether or not the peer stays */
		vl_host_reset(dev, pv->reset_ms, VLINK_END_DOWN);
		pthread_mutex_unlock(&pv->reset_mx);
	} else {
		pv->started = false;
		peer_queues_flush(dev);
	}
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	vl_link_update(dev, 0);
	return 0;
}

static int queue_setup(struct rte_eth_dev *dev, uint16_t qid, unsigned socket,
		       struct rte_mempool *mp, bool rx)
{
	struct pmd_internals *pv = dev->data->dev_private;
	void **slot = rx ? &dev->data->rx_queues[qid] : &dev->data->tx_queues[qid];
	struct vl_queue *q;

	if (pv->mode == VL_MODE_MQ && qid >= pv->nch) {
		VLOG(ERR, pv, "queue %u: the link has %u data channel(s)", qid, pv->nch);
		return -EINVAL;
	}
	q = rte_zmalloc_socket("vlink_queue", sizeof(*q), RTE_CACHE_LINE_SIZE, (int)socket);
	if (!q)
		return -ENOMEM;
	q->pv = pv;
	q->qid = qid;
	q->port = dev->data->port_id;
	q->rx = rx;
	q->mp = mp;
	/* an mbuf of a pool with pinned external buffers cannot take ours,
	 * nor can buf_len (16 bits) describe a buffer of 64 KiB */
	q->rx_copy = rx && ((rte_pktmbuf_priv_flags(mp) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF) ||
			    pv->buf_size > UINT16_MAX);
	/* host end: single-buffer packets up to this size are copied into
	 * the application's mbuf (at most what its data room holds) */
	if (rx && pv->end == VL_END_HOST && !q->rx_copy)
		q->copybreak = RTE_MIN(pv->copybreak,
				       (unsigned)RTE_MAX(0, (int)rte_pktmbuf_data_room_size(mp) -
						    RTE_PKTMBUF_HEADROOM));
	if (q->rx_copy)
		VLOG(NOTICE, pv, "rx queue %u: pool %s %s: received packets are copied", qid,
		     mp->name, pv->buf_size > UINT16_MAX ? "cannot describe 64 KiB buffers" :
		     "has pinned external buffers");
	q->nch = queue_channels(pv, qid, q->ch);
	if (rx && pv->end == VL_END_PEER) {
		int err = vl_peer_rxq_setup(q, socket);

		if (err) {
			VLOG(ERR, pv, "queue %u: cannot create its header pool: %s", qid,
			     rte_strerror(-err));
			rte_free(q);
			return err;
		}
	}
	*slot = q;
	return 0;
}

static int vl_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			     unsigned socket, const struct rte_eth_rxconf *conf,
			     struct rte_mempool *mp)
{
	(void)nb_desc;
	(void)conf;
	return queue_setup(dev, qid, socket, mp, true);
}

static int vl_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			     unsigned socket, const struct rte_eth_txconf *conf)
{
	(void)nb_desc;
	(void)conf;
	return queue_setup(dev, qid, socket, NULL, false);
}

static void vl_queue_release(struct rte_eth_dev *dev, uint16_t qid, bool rx)
{
	struct pmd_internals *pv = dev->data->dev_private;
	void **slot = rx ? &dev->data->rx_queues[qid] : &dev->data->tx_queues[qid];
	struct vl_queue *q = *slot;

	if (!q)
		return;
	*slot = NULL;
	if (pv->end == VL_END_PEER) {
		vl_peer_queue_flush(q);
		if (q->rx && !vl_peer_rxq_free(q))
			return;
	} else {
		vl_queue_drop_chains(q);
	}
	rte_free(q);
}

static void vl_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	vl_queue_release(dev, qid, true);
}

static void vl_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	vl_queue_release(dev, qid, false);
}

static int vl_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *s)
{
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
		const struct vl_queue *q = dev->data->rx_queues[i];

		if (!q)
			continue;
		s->ipackets += q->st.pkts;
		s->ibytes += q->st.bytes;
		s->ierrors += q->st.bad_desc + q->st.dropped;
		s->rx_nombuf += q->st.nombuf;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			s->q_ipackets[i] = q->st.pkts;
			s->q_ibytes[i] = q->st.bytes;
			s->q_errors[i] = q->st.bad_desc + q->st.dropped;
		}
	}
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++) {
		const struct vl_queue *q = dev->data->tx_queues[i];

		if (!q)
			continue;
		s->opackets += q->st.pkts;
		s->obytes += q->st.bytes;
		s->oerrors += q->st.dropped;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			s->q_opackets[i] = q->st.pkts;
			s->q_obytes[i] = q->st.bytes;
		}
	}
	return 0;
}

static void reset_queues(struct rte_eth_dev *dev)
{
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		if (dev->data->rx_queues[i])
			memset(&((struct vl_queue *)dev->data->rx_queues[i])->st, 0,
			       sizeof(struct vl_qstats));
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		if (dev->data->tx_queues[i])
			memset(&((struct vl_queue *)dev->data->tx_queues[i])->st, 0,
			       sizeof(struct vl_qstats));
}

static int vl_stats_reset(struct rte_eth_dev *dev)
{
	reset_queues(dev);
	return 0;
}


static unsigned nxstats(const struct rte_eth_dev *dev)
{
	return (unsigned)RTE_MAX(dev->data->nb_rx_queues, dev->data->nb_tx_queues) * QX_N + PX_N;
}

static uint64_t qx_value(const struct rte_eth_dev *dev, unsigned q, unsigned k)
{
	const struct vl_queue *rq = q < dev->data->nb_rx_queues ? dev->data->rx_queues[q] : NULL;
	const struct vl_queue *tq = q < dev->data->nb_tx_queues ? dev->data->tx_queues[q] : NULL;

	switch (k) {
	case QX_RX_BAD: return rq ? rq->st.bad_desc : 0;
	case QX_RX_NOMBUF: return rq ? rq->st.nombuf : 0;
	case QX_RX_DROPPED: return rq ? rq->st.dropped : 0;
	case QX_RX_COPIES: return rq ? rq->st.rx_copies : 0;
	case QX_TX_COPIES: return tq ? tq->st.copies : 0;
	case QX_TX_RING_FULL: return tq ? tq->st.ring_full : 0;
	default: return tq ? tq->st.nombuf : 0;
	}
}

static uint64_t px_value(const struct pmd_internals *pv, unsigned k)
{
	uint64_t bad = 0;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return __atomic_load_n(&pv->xpub[k], __ATOMIC_RELAXED);

	/* socket mode: libvlinkguest's connection; guest mode: the device's
	 * (ctl_guest_dev) */
	if (pv->end == VL_END_PEER && !pv->guest && k <= 1) {
		struct vlink_guest_stats gs;

		vlink_guest_stats(pv->g, &gs);
		return k == 0 ? gs.reconnects : gs.daemon_losses;
	}
	switch (k) {
	case 0: return pv->reconnects;
	case 1: return pv->daemon_losses;
	case 2: return pv->end == VL_END_HOST ? vlink_ledger_lent(&pv->led) : 0;
	case 3:
		if (pv->end == VL_END_HOST) {
			for (unsigned c = 0; c < pv->nch; c++)
				bad += pv->m.ch[c].rx.bad_index + pv->m.ch[c].done.bad_index +
				       pv->m.ch[c].fill.bad_index + pv->m.ch[c].tx.bad_index;
		} else {
			struct vlink_guest_stats gs;

			vlink_guest_stats(pv->g, &gs);
			bad = gs.bad_index;
		}
		return bad;
	case 4:
		if (pv->end == VL_END_PEER) {
			struct vlink_guest_stats gs;

			vlink_guest_stats(pv->g, &gs);
			return gs.resets;
		}
		return pv->resets;
	case 5: return pv->reset_timeouts;
	case 6: return pv->reclaimed;
	case 7:
		if (pv->end == VL_END_HOST)
			return pv->mp ? vl_host_in_app(pv) : 0;
		for (uint16_t i = 0; i < pv->dev->data->nb_rx_queues; i++) {
			const struct vl_queue *q = pv->dev->data->rx_queues[i];

			bad += q && q->zc_mp ? rte_mempool_in_use_count(q->zc_mp) : 0;
		}
		return bad;
	default:
		return pv->end == VL_END_HOST ?
		       __atomic_load_n(&pv->led.errors[k - PX_FIXED], __ATOMIC_RELAXED) : 0;
	}
}

static int vl_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
			       unsigned size)
{
	unsigned n = nxstats(dev), i = 0;
	uint16_t nq = RTE_MAX(dev->data->nb_rx_queues, dev->data->nb_tx_queues);

	if (!names || size < n)
		return (int)n;
	for (unsigned q = 0; q < nq; q++)
		for (unsigned k = 0; k < QX_N; k++, i++)
			snprintf(names[i].name, sizeof(names[i].name), qx_names[k], q);
	for (unsigned k = 0; k < PX_N; k++, i++)
		snprintf(names[i].name, sizeof(names[i].name), "%s",
			 k < PX_FIXED ? px_names[k] : ledger_names[k - PX_FIXED]);
	return (int)n;
}

static int vl_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned size)
{
	struct pmd_internals *pv = dev->data->dev_private;
	unsigned n = nxstats(dev), i = 0;
	uint16_t nq = RTE_MAX(dev->data->nb_rx_queues, dev->data->nb_tx_queues);

	if (!xs || size < n)
		return (int)n;
	for (unsigned q = 0; q < nq; q++)
		for (unsigned k = 0; k < QX_N; k++, i++) {
			xs[i].id = i;
			xs[i].value = qx_value(dev, q, k);
		}
	for (unsigned k = 0; k < PX_N; k++, i++) {
		xs[i].id = i;
		xs[i].value = px_value(pv, k);
	}
	return (int)n;
}

static int vl_promisc(struct rte_eth_dev *dev)
{
	(void)dev;
	return 0; /* a point-to-point link: every packet is for us */
}

static int vl_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	struct pmd_internals *pv = dev->data->dev_private;

	if (mtu > pv->mtu) {
		VLOG(ERR, pv, "MTU %u is larger than the link's (%u; vlinkctl create-link --mtu)",
		     mtu, pv->mtu);
		return -EINVAL;
	}
	return 0;
}

static int vl_close(struct rte_eth_dev *dev);

static const struct eth_dev_ops vl_ops = {
	.dev_configure = vl_configure,
	.dev_infos_get = vl_infos_get,
	.dev_start = vl_start,
	.dev_stop = vl_stop,
	.dev_close = vl_close,
	.rx_queue_setup = vl_rx_queue_setup,
	.tx_queue_setup = vl_tx_queue_setup,
	.rx_queue_release = vl_rx_queue_release,
	.tx_queue_release = vl_tx_queue_release,
	.link_update = vl_link_update,
	.stats_get = vl_stats_get,
	.stats_reset = vl_stats_reset,
	.xstats_get = vl_xstats_get,
	.xstats_get_names = vl_xstats_get_names,
	.xstats_reset = vl_stats_reset,
	.promiscuous_enable = vl_promisc,
	.promiscuous_disable = vl_promisc,
	.allmulticast_enable = vl_promisc,
	.allmulticast_disable = vl_promisc,
	.mtu_set = vl_mtu_set,
	.rx_queue_intr_enable = vl_rx_intr_enable,
	.rx_queue_intr_disable = vl_rx_intr_disable,
};

/* A secondary process (dpdk-proc-info, dpdk-dumpcap, a multi-process
 * application) sees the primary's port: its data (dev_private, the queues'
 * counters) is in shared memory, the link's mappings and the daemon
 * connection are the primary's alone.  So: what can be read, and no data
 * path (dumpcap's capture runs in the primary, through rte_pdump). */
static int vl_link_update_secondary(struct rte_eth_dev *dev, int wait)
{
	(void)dev;
	(void)wait;
	return 0; /* dev_link is shared: the primary keeps it current */
}

static uint16_t vl_no_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	(void)q;
	(void)pkts;
	(void)n;
	return 0;
}

static const struct eth_dev_ops vl_ops_secondary = {
	.dev_infos_get = vl_infos_get,
	.link_update = vl_link_update_secondary,
	.stats_get = vl_stats_get,
	.stats_reset = vl_stats_reset,
	.xstats_get = vl_xstats_get,
	.xstats_get_names = vl_xstats_get_names,
	.xstats_reset = vl_stats_reset,
	.promiscuous_enable = vl_promisc,
	.promiscuous_disable = vl_promisc,
	.allmulticast_enable = vl_promisc,
	.allmulticast_disable = vl_promisc,
};

static int vl_probe_secondary(const char *name, struct rte_device *device)
{
	struct rte_eth_dev *dev = rte_eth_dev_attach_secondary(name);

	if (!dev) {
		RTE_LOG(ERR, PMD, "net_vlink: %s: the primary process has no such port\n", name);
		return -ENODEV;
	}
	dev->dev_ops = &vl_ops_secondary;
	dev->device = device;
	dev->rx_pkt_burst = vl_no_burst;
	dev->tx_pkt_burst = vl_no_burst;
	rte_eth_dev_probing_finish(dev);
	return 0;
}

/* ---------------------------------------------------------- telemetry */

static struct pmd_internals *vl_port(int port)
{
	if (port < 0 || port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)port))
		return NULL;
	if (rte_eth_devices[port].dev_ops != &vl_ops &&
	    rte_eth_devices[port].dev_ops != &vl_ops_secondary)
		return NULL;
	return rte_eth_devices[port].data->dev_private;
}

/* /vlink/list: the ports of net_vlink. */
static int vl_tel_list(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (int p = 0; p < RTE_MAX_ETHPORTS; p++)
		if (vl_port(p))
			rte_tel_data_add_array_int(d, p);
	return 0;
}

/* /vlink/info,PORT: what an operator asks first about a port (the
 * counters are the control thread's, at most 100 ms old). */
static int vl_tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct pmd_internals *pv;
	char *end;
	long port;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	(void)cmd;
	if (!params || !*params)
		return -EINVAL;
	port = strtol(params, &end, 10);
	if (*end || !(pv = vl_port((int)port)))
		return -EINVAL;
	rte_ether_format_addr(mac, sizeof(mac), &pv->mac);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "port", (int)port);
	rte_tel_data_add_dict_string(d, "name", pv->devname);
	rte_tel_data_add_dict_string(d, "link", pv->link);
	rte_tel_data_add_dict_string(d, "end", end_name(pv));
	rte_tel_data_add_dict_string(d, "mode", pv->mode == VL_MODE_MQ ? "mq" : "bond");
	rte_tel_data_add_dict_string(d, "mac", mac);
	if (pv->guest)
		rte_tel_data_add_dict_string(d, "dev", pv->pci_dev);
	else
		rte_tel_data_add_dict_string(d, "socket", pv->socket);
	rte_tel_data_add_dict_int(d, "channels", (int)pv->nch);
	rte_tel_data_add_dict_int(d, "buf_size", (int)pv->buf_size);
	/* not pv->dev: the primary's pointer (telemetry runs in secondary
	 * processes too) */
	rte_tel_data_add_dict_string(d, "link_status",
				     rte_eth_devices[port].data->dev_link.link_status ?
				     "up" : "down");
	rte_tel_data_add_dict_int(d, "started", pv->started);
	if (pv->end == VL_END_HOST) {
		rte_tel_data_add_dict_u64(d, "epoch", __atomic_load_n(&pv->epoch_pub,
								      __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(d, "buffers", pv->led.nbufs);
	}
	for (unsigned k = 0; k < PX_N; k++)
		rte_tel_data_add_dict_u64(d, k < PX_FIXED ? px_names[k] : ledger_names[k - PX_FIXED],
					  __atomic_load_n(&pv->xpub[k], __ATOMIC_RELAXED));
	return 0;
}

RTE_INIT(vl_telemetry_init)
{
	rte_telemetry_register_cmd("/vlink/list", vl_tel_list,
				   "Returns the net_vlink port ids. Takes no parameters");
	rte_telemetry_register_cmd("/vlink/info", vl_tel_info,
				   "Returns a net_vlink port's link, end, epoch and buffers. "
				   "Parameters: int port_id");
}

/* ---------------------------------------------------------- probe/close */

static void release(struct pmd_internals *pv)
{
	if (pv->ctl_running) {
		pv->ctl_stop = true;
		pthread_join(pv->ctl, NULL);
		pv->ctl_running = false;
	}
	if (pv->end == VL_END_HOST && pv->mp) {
		unsigned home, app;
		uint32_t lent;

		vl_host_drain(pv);
		home = rte_mempool_avail_count(pv->mp);
		lent = vlink_ledger_lent(&pv->led);
		app = vl_host_in_app(pv);
		VLOG(NOTICE, pv, "closed: %u of %u buffers home, %u of %u mbufs in the pool, "
		     "%" PRIu64 " bad descriptors", home, pv->led.nbufs, home,
		     pv->led.nbufs, vlink_ledger_errors(&pv->led));
		if (lent)
			VLOG(WARNING, pv, "%u buffer(s) still held by the peer end, which is %s",
			     lent, other_state(pv) == VLINK_END_UP ? "up" : "down");
		if (app) {
			/* its mbufs still point into the link's memory, and
			 * their free callbacks at pv->ext: keep both */
			VLOG(WARNING, pv, "%u buffer(s) still in the application's mbufs: the "
			     "link's memory stays mapped until the process exits", app);
			pv->mp = NULL;
			pv->m.region = NULL;
		} else {
			vl_host_teardown(pv);
		}
	}
	if (pv->m.region)
		vlink_linkmem_unmap(&pv->m);
	if (pv->g) {
		struct vlink_guest_stats gs;
		uint64_t took, back;

		/* what this end took from the host and handed back (or lost
		 * to a reset, which the host took back itself) */
		vlink_guest_stats(pv->g, &gs);
		took = gs.rx_pkts + gs.allocated;
		back = gs.tx_pkts + gs.freed + gs.stale;
		VLOG(NOTICE, pv, "closed: %" PRIu64 " buffers taken (rx %" PRIu64 ", fill %" PRIu64
		     "), %" PRIu64 " handed back (tx %" PRIu64 ", done %" PRIu64 ", void after "
		     "a reset %" PRIu64 "), %" PRIu64 " held, %" PRIu64 " bad descriptors", took,
		     gs.rx_pkts, gs.allocated, back, gs.tx_pkts, gs.freed, gs.stale,
		     took > back ? took - back : 0, gs.bad_desc);
		vlink_guest_close(pv->g);
	}
	pv->g = NULL;
	intr_free(pv);
	vlink_notify_fini(&pv->notify);
	vlink_client_close(pv->cl);
	pv->cl = NULL;
}

static int vl_close(struct rte_eth_dev *dev)
{
	struct pmd_internals *pv = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY || !pv)
		return 0;
	if (pv->started)
		vl_stop(dev);
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		vl_rx_queue_release(dev, i);
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		vl_tx_queue_release(dev, i);
	release(pv);
	dev->data->mac_addrs = NULL; /* points into dev_private */
	return 0;
}

/* The peer end, through vlinkd's socket or (guest) a pci-vlink device. */
static int peer_open(struct pmd_internals *pv, char *why, size_t n)
{
	const struct vlink_guest_info *gi;
	int wait = (int)pv->wait_s * 1000, err;

	if (pv->guest)
		err = vlink_guest_open_pci(&pv->g, pv->pci_dev[0] ? pv->pci_dev : NULL, pv->link,
					   wait, why, n);
	else
		err = vlink_guest_open_socket(&pv->g, pv->socket, pv->link, wait, why, n);
	if (err)
		return err;
	if (pv->guest) {
		struct vlink_guest_dev d;

		if (!vlink_guest_dev_info(pv->g, &d)) {
			pv->dev_connects = d.connects;
			pv->dev_refreshes = d.refreshes;
		}
	}
	gi = vlink_guest_info(pv->g);
	pv->nch = gi->nchannels;
	pv->buf_size = gi->buf_size;
	pv->mtu = gi->mtu;
	rte_ether_unformat_addr(gi->mac, &pv->mac);
	return 0;
}

/* Attach pv's link and make dev a port of it: what the vdev and the PCI
 * probes share (dev is allocated; pv, its dev_private, holds the devargs).
 * On failure the caller releases dev. */
static int port_init(struct rte_eth_dev *dev, struct pmd_internals *pv)
{
	char why[512], tname[RTE_MAX_THREAD_NAME_LEN], mac[RTE_ETHER_ADDR_FMT_SIZE];
	int err;

	pv->dev = dev;
	pv->port = dev->data->port_id;
	pthread_mutex_init(&pv->reset_mx, NULL);
	if (pv->end == VL_END_HOST)
		err = host_attach(pv, why, sizeof(why));
	else
		err = peer_open(pv, why, sizeof(why));
	if (err) {
		VLOG(ERR, pv, "%s", why);
		return err;
	}

	dev->data->mac_addrs = &pv->mac;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->dev_ops = &vl_ops;
	dev->rx_pkt_burst = pv->end == VL_END_HOST ? vl_host_rx : vl_peer_rx;
	dev->tx_pkt_burst = pv->end == VL_END_HOST ? vl_host_tx : vl_peer_tx;

	snprintf(tname, sizeof(tname), "vlink-ctl-%u", pv->port);
	if (rte_ctrl_thread_create(&pv->ctl, tname, NULL, ctl_main, pv)) {
		VLOG(ERR, pv, "cannot start the control thread");
		release(pv);
		dev->data->mac_addrs = NULL;
		return -EAGAIN;
	}
	pv->ctl_running = true;
	rte_eth_dev_probing_finish(dev);
	rte_ether_format_addr(mac, sizeof(mac), &pv->mac);
	VLOG(NOTICE, pv, "%s end of link '%s' (MAC %s, %u data channel(s), %s mode) on port %u",
	     end_name(pv), pv->link, mac, pv->nch, pv->mode == VL_MODE_MQ ? "mq" : "bond",
	     pv->port);
	return 0;
}

static int vl_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct pmd_internals *pv;
	int err;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return vl_probe_secondary(name, &vdev->device);
	dev = rte_eth_vdev_allocate(vdev, sizeof(*pv));
	if (!dev)
		return -ENOMEM;
	pv = dev->data->dev_private;
	snprintf(pv->devname, sizeof(pv->devname), "%s", name);
	err = parse_args(pv, rte_vdev_device_args(vdev), false);
	if (!err)
		err = port_init(dev, pv);
	if (err)
		rte_eth_dev_release_port(dev);
	return err;
}

static int vl_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (!dev)
		return 0;
	vl_close(dev);
	rte_eth_dev_release_port(dev);
	return 0;
}

static struct rte_vdev_driver vl_driver = {
	.probe = vl_probe,
	.remove = vl_remove,
};

RTE_PMD_REGISTER_VDEV(net_vlink, vl_driver);
RTE_PMD_REGISTER_ALIAS(net_vlink, eth_vlink);
RTE_PMD_REGISTER_PARAM_STRING(net_vlink,
	"link=<name> "
	"end=host|peer|guest "
	"mode=mq|bond "
	"socket=<path> "
	"dev=<pci address> "
	"wait=<seconds> "
	"reset_timeout=<ms> "
	"rx_copybreak=<bytes>");

/* ------------------------------------------------------- the PCI driver */

/* One port per link of the device's domain (devargs link=NAME: that one),
 * named ADDRESS_LINK.  EAL probes a device only when a kernel driver is
 * bound to it (DPDK 22.11's PCI scan skips unbound devices): bind
 * uio_pci_generic, or use --vdev net_vlink0,end=guest,link=NAME, which
 * needs none (docs/guest.md).  The BARs are mapped through sysfs either
 * way (libvlinkguest), whatever the binding. */
static int vl_pci_probe(struct rte_pci_driver *drv, struct rte_pci_device *pdev)
{
	const char *args = pdev->device.devargs ? pdev->device.devargs->args : NULL;
	struct vlink_guest_listed *links;
	struct pmd_internals opt;
	char why[512];
	int n, err = 0, made = 0, found = 0;

	(void)drv;
	memset(&opt, 0, sizeof(opt));
	snprintf(opt.devname, sizeof(opt.devname), "%s", pdev->name);
	err = parse_args(&opt, args, true);
	if (err)
		return err;
	snprintf(opt.pci_dev, sizeof(opt.pci_dev), "%s", pdev->name);
	links = calloc(VLINK_MAX_LINKS, sizeof(*links));
	if (!links)
		return -ENOMEM;
	n = vlink_guest_list_pci(pdev->name, links, VLINK_MAX_LINKS, (int)opt.wait_s * 1000,
				 why, sizeof(why));
	if (n < 0) {
		VLOG(ERR, &opt, "%s", why);
		free(links);
		return n;
	}
	for (int i = 0; i < RTE_MIN(n, VLINK_MAX_LINKS); i++) {
		char name[RTE_ETH_NAME_MAX_LEN];
		struct rte_eth_dev *dev;
		struct pmd_internals *pv;
		int e;

		if (opt.link[0] && strcmp(opt.link, links[i].info.name))
			continue;
		found++;
		snprintf(name, sizeof(name), "%s_%s", pdev->name, links[i].info.name);
		if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
			e = vl_probe_secondary(name, &pdev->device);
			made += !e;
			err = e ? e : err;
			continue;
		}
		dev = rte_eth_dev_allocate(name);
		if (!dev) {
			err = -ENOMEM;
			break;
		}
		pv = rte_zmalloc_socket(name, sizeof(*pv), RTE_CACHE_LINE_SIZE,
					pdev->device.numa_node);
		if (!pv) {
			rte_eth_dev_release_port(dev);
			err = -ENOMEM;
			break;
		}
		*pv = opt;
		snprintf(pv->devname, sizeof(pv->devname), "%s", name);
		snprintf(pv->link, sizeof(pv->link), "%s", links[i].info.name);
		dev->data->dev_private = pv;
		dev->device = &pdev->device;
		/* a link another process serves (-EBUSY) is that one's; the
		 * others still get their ports */
		e = port_init(dev, pv);
		if (e) {
			rte_eth_dev_release_port(dev);
			err = e;
			continue;
		}
		made++;
	}
	free(links);
	if (opt.link[0] && !found) {
		VLOG(ERR, &opt, "no link '%s' in the device's domain", opt.link);
		return -ENOENT;
	}
	if (!made && !found)
		VLOG(NOTICE, &opt, "no links in the device's domain yet: no ports");
	return made || !found ? 0 : err;
}

static int vl_pci_remove(struct rte_pci_device *pdev)
{
	uint16_t port;

	RTE_ETH_FOREACH_DEV_OF(port, &pdev->device) {
		struct rte_eth_dev *dev = &rte_eth_devices[port];

		vl_close(dev);
		rte_eth_dev_release_port(dev);
	}
	return 0;
}

static const struct rte_pci_id vl_pci_ids[] = {
	{ RTE_PCI_DEVICE(VLINK_PCI_VENDOR_ID, VLINK_PCI_DEVICE_ID) },
	{ .vendor_id = 0 },
};

static struct rte_pci_driver vl_pci_driver = {
	.id_table = vl_pci_ids,
	/* no NEED_MAPPING: libvlinkguest maps the BARs itself, through
	 * sysfs, bound to a kernel driver or not */
	.drv_flags = 0,
	.probe = vl_pci_probe,
	.remove = vl_pci_remove,
};

RTE_PMD_REGISTER_PCI(net_vlink_pci, vl_pci_driver);
RTE_PMD_REGISTER_PCI_TABLE(net_vlink_pci, vl_pci_ids);
RTE_PMD_REGISTER_KMOD_DEP(net_vlink_pci, "* uio_pci_generic | vfio-pci | none");
RTE_PMD_REGISTER_PARAM_STRING(net_vlink_pci,
	"link=<name> "
	"mode=mq "
	"wait=<seconds>");
