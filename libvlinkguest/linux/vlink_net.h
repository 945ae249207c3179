/* SPDX-License-Identifier: GPL-2.0 */
/* vlink_net: the pci-vlink device's links as network interfaces in a Linux
 * guest (docs/kernel-driver.md).  vlink_net_pci.c is the device (BARs,
 * interrupts, the link table, one net_device per link), vlink_net_dev.c
 * a link's interface (NAPI receive, transmit, the peer end's epochs,
 * ethtool).  The rings, epochs, layout checks and the link table are the
 * project's own code from proto/, compiled into the module. */
#ifndef VLINK_NET_H
#define VLINK_NET_H

#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "vlink_epoch.h"
#include "vlink_linkmem.h"
#include "vlink_pci.h"
#include "vlink_shm.h"

/* descriptors one NAPI round or one refill of the transmit stash moves at
 * most (libvlinkguest's VLINK_GUEST_BURST_MAX) */
#define VN_BURST 64
/* buffers in one received packet at most (what the PMD accepts too) */
#define VN_CHAIN_MAX 16
/* the watchdog's period: the device's GENERATION and STATUS, the links'
 * header magic and carrier, and one NAPI round per open channel, so that
 * a lost or never-sent interrupt (a host end that died, a hostile one)
 * delays at most this long */
#define VN_WATCHDOG_MS 100
/* how long the link table may stay odd (vlinkd writing it) */
#define VN_TABLE_WAIT_MS 2000

/* Per channel counters: written under the channel's lock, read without it
 * (64-bit loads do not tear on x86_64, the only architecture built). */
struct vn_stats {
	u64 rx_packets, rx_bytes, tx_packets, tx_bytes;
	u64 rx_dropped;      /* no skb, or a chain too long or too short */
	u64 rx_bad_desc;     /* rx descriptors refused (not one of the link's
				buffers, or data past its end) */
	u64 fill_bad_desc;   /* fill descriptors refused */
	u64 tx_dropped;      /* too long, or the host not up in our epoch */
	u64 tx_stops;        /* transmit queue stopped: no fill buffer or no
				room on tx (the packet waits, not dropped) */
	u64 stale;           /* fill buffers of an older epoch dropped */
	u64 doorbells;       /* host end woken (DOORBELL) */
	u64 sleeps;          /* rx armed (need_wakeup) before NAPI completed */
	u64 polls;           /* NAPI rounds */
};

struct vn_link;

struct vn_chan {
	struct vn_link *link;
	unsigned int ch;             /* data channel, 1-based */
	/* The channel's rings and its part of the epoch handshake: NAPI
	 * (rx, done), transmit (fill, tx), the watchdog and open/stop; never
	 * held while packets go up the stack (an ICMP reply is transmitted
	 * from the receive path). */
	spinlock_t lock;
	struct napi_struct napi;
	bool armed;                  /* need_wakeup set on rx */
	bool tx_stopped;             /* our transmit queue stopped, waiting
					for fill (need_wakeup on fill) */
	/* transmit: fill buffers taken and not used yet, of epoch stash_epoch */
	struct vlink_desc stash[VN_BURST];
	unsigned int nstash;
	u32 stash_epoch;
	/* receive: a chain being assembled (epoch rx_epoch), or the rest of
	 * one being dropped */
	struct sk_buff *rx_skb;
	u32 rx_epoch;
	unsigned int rx_nbuf;
	bool rx_skip;
	struct vn_stats st;
};

struct vn_dev;

/* A link: the net_device's private part. */
struct vn_link {
	struct net_device *nd;
	struct vn_dev *vd;
	unsigned int slot;           /* in the link table: the doorbell's and
					the vectors' name for it */
	struct vlink_link_entry entry; /* as the link was created */
	char name[VLINK_SHM_NAME_LEN + 1];
	struct vlink_linkmem m;      /* BAR2/BAR4 as this link's memory
					(vlink_linkmem_from_bars) */
	struct vlink_epoch_peer ep;  /* the peer end's epoch state */
	bool open;                   /* ndo_open..ndo_stop: the peer end is ours */
	bool dead;                   /* its memory is no longer its own (link
					deleted or rebuilt): touch nothing */
	unsigned int nch;
	struct vn_chan ch[];
};

struct vn_vec {
	struct vn_dev *vd;
	unsigned int v;
};

struct vn_dev {
	struct pci_dev *pdev;
	void __iomem *regs;
	u32 version;                 /* VERSION: 2 has VECTORS, DOORBELL, ISR */
	void *pool, *region;         /* BAR2 and BAR4, whole, memremap WB */
	u64 bar2_size, bar4_size;
	u64 pool_size, region_size;  /* POOL_SIZE, REGION_SIZE at the last look */
	char domain[VLINK_REG_DOMAIN_LEN + 1];
	unsigned int nvec;           /* MSI-X vectors (VECTORS); 0: INTx */
	struct vn_vec *vecs;
	int intx_irq;                /* -1 unless INTx */
	struct mutex lock;           /* links[] changes; the watchdog */
	struct vn_link __rcu *links[VLINK_MAX_LINKS];
	u32 generation;              /* GENERATION the table was read at */
	bool mapped;
	bool removing;
	struct vlink_region_hdr *table; /* the last copy of the link table */
	struct vlink_link_entry refused[VLINK_MAX_LINKS]; /* entries that failed
					the checks (said once each) */
	struct work_struct cfg_work;
	struct delayed_work watchdog;
};

/* vlink_net_dev.c */
struct vn_link *vn_link_alloc(struct vn_dev *vd, unsigned int slot,
			      const struct vlink_link_entry *e);
int vn_link_register(struct vn_link *l);
void vn_link_destroy(struct vn_link *l);
void vn_link_kill(struct vn_link *l);
void vn_link_kick(struct vn_link *l);
void vn_link_carrier(struct vn_link *l);

static inline void vn_doorbell(struct vn_dev *vd, unsigned int slot, unsigned int ch)
{
	if (vd->version >= 2)
		iowrite32(VLINK_DOORBELL(slot, ch), vd->regs + VLINK_REG_DOORBELL);
}

#endif
