// SPDX-License-Identifier: GPL-2.0
/* vlink_net: the pci-vlink device (docs/pci-vlink.md).
 *
 * BAR0 registers (pcim_iomap: uncached MMIO); BAR2, the domain's pool, and
 * BAR4, the channel region, mapped whole with memremap(MEMREMAP_WB): they
 * are RAM in QEMU (host files every end maps write-back), the rings'
 * acquire/release protocol is written for ordinary cacheable memory, and
 * packet copies should not be uncached; write-combining would be wrong (WC
 * stores may pass each other: a consumer could see head move before the
 * descriptors).  MSI-X with VECTORS vectors: 0 for GENERATION/STATUS
 * changes (the link table is read again in a work item), the others for
 * the data channels (vlink_pci_vector()); INTx with ISR when MSI-X cannot
 * be had.  A watchdog every VN_WATCHDOG_MS covers what an interrupt may
 * not say. */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>

#include "vlink_net.h"

static u32 reg(const struct vn_dev *vd, unsigned int off)
{
	return ioread32(vd->regs + off);
}

static u64 reg64(const struct vn_dev *vd, unsigned int lo)
{
	return reg(vd, lo) | (u64)reg(vd, lo + 4) << 32;
}

static void read_domain(struct vn_dev *vd)
{
	for (unsigned int i = 0; i < VLINK_REG_DOMAIN_LEN / 4; i++) {
		__le32 w = cpu_to_le32(reg(vd, VLINK_REG_DOMAIN + 4 * i));

		memcpy(vd->domain + 4 * i, &w, 4);
	}
	vd->domain[VLINK_REG_DOMAIN_LEN] = '\0';
}

static struct vn_link *link_at(struct vn_dev *vd, unsigned int slot)
{
	return rcu_dereference_protected(vd->links[slot], lockdep_is_held(&vd->lock));
}

/* A link whose memory is no longer its own: its interface goes. */
static void link_remove(struct vn_dev *vd, unsigned int slot, const char *why)
{
	struct vn_link *l = link_at(vd, slot);

	if (why)
		netdev_info(l->nd, "link %s (slot %u) %s: interface removed\n", l->name, slot,
			    why);
	if (why)
		vn_link_kill(l);
	rcu_assign_pointer(vd->links[slot], NULL);
	synchronize_rcu(); /* no interrupt handler looks at it any more */
	vn_link_destroy(l);
}

static void link_add(struct vn_dev *vd, unsigned int slot, const struct vlink_link_entry *e)
{
	struct vn_link *l;

	/* an entry refused once is not tried (nor logged) again unchanged */
	if (!memcmp(&vd->refused[slot], e, sizeof(*e)))
		return;
	l = vn_link_alloc(vd, slot, e);
	if (IS_ERR(l)) {
		vd->refused[slot] = *e;
		return;
	}
	if (vn_link_register(l)) {
		vd->refused[slot] = *e;
		return;
	}
	memset(&vd->refused[slot], 0, sizeof(vd->refused[slot]));
	rcu_assign_pointer(vd->links[slot], l);
	vn_link_kick(l);
}

/* Read GENERATION, the sizes and the link table (under its sequence lock)
 * and bring the interfaces in line: links gone or changed lose theirs,
 * new ones get one.  The checks are libvlinkguest's (vlink_guest_poll:
 * the same functions). */
static void cfg_work(struct work_struct *w)
{
	struct vn_dev *vd = container_of(w, struct vn_dev, cfg_work);
	const struct vlink_region_hdr *live = vd->region;
	unsigned long t0 = jiffies;
	u32 gen, st;
	int err;

	mutex_lock(&vd->lock);
	if (vd->removing)
		goto out;
	st = reg(vd, VLINK_REG_STATUS);
	gen = reg(vd, VLINK_REG_GENERATION);
	if (!(st & VLINK_DEV_STATUS_MAPPED) || reg(vd, VLINK_REG_MAGIC) != VLINK_DEV_MAGIC) {
		if (vd->mapped)
			dev_info(&vd->pdev->dev, "the device's memory is not mapped (status 0x%x)\n",
				 st);
		vd->mapped = false;
		goto carrier;
	}
	/* the generation first: a change after this is seen next time */
	rmb();
	vd->pool_size = reg64(vd, VLINK_REG_POOL_LO);
	vd->region_size = reg64(vd, VLINK_REG_REGION_LO);
	read_domain(vd);
	if (vd->region_size < VLINK_REGION_HDR_SIZE || vd->region_size > vd->bar4_size ||
	    vd->pool_size > vd->bar2_size) {
		dev_warn_ratelimited(&vd->pdev->dev, "registers say pool %llu B, region %llu B: "
				     "more than BAR2 (%llu B) or BAR4 (%llu B) holds\n",
				     vd->pool_size, vd->region_size, vd->bar2_size, vd->bar4_size);
		vd->mapped = false;
		goto carrier;
	}
	while ((err = vlink_table_copy(live, vd->table)) == -EAGAIN) {
		if (time_after(jiffies, t0 + msecs_to_jiffies(VN_TABLE_WAIT_MS))) {
			dev_warn(&vd->pdev->dev, "the link table stayed busy for %d ms\n",
				 VN_TABLE_WAIT_MS);
			schedule_delayed_work(&vd->watchdog, 0);
			goto out;
		}
		usleep_range(100, 200);
	}
	if (err) {
		dev_warn_ratelimited(&vd->pdev->dev, "BAR4 holds no vlink region (magic 0x%08x "
				     "version %u)\n", vd->table->magic, vd->table->version);
		vd->mapped = false;
		goto carrier;
	}
	if (!vd->mapped || gen != vd->generation)
		dev_info(&vd->pdev->dev, "domain %s, generation %u: pool %llu MiB, region %llu KiB, "
			 "%u link(s)\n", vd->domain, gen, vd->pool_size >> 20,
			 vd->region_size >> 10, vd->table->nlinks);
	vd->mapped = true;
	vd->generation = gen;
	for (unsigned int s = 0; s < VLINK_MAX_LINKS; s++) {
		const struct vlink_link_entry *e = &vd->table->links[s];
		bool used = e->flags & VLINK_LINK_F_USED;
		struct vn_link *l = link_at(vd, s);

		if (l) {
			if (!used || strncmp(e->name, l->entry.name, sizeof(e->name)) ||
			    READ_ONCE(l->m.hdr->magic) != VLINK_LINK_MAGIC)
				link_remove(vd, s, "was deleted");
			else if (!vlink_link_entry_same(e, &l->entry) ||
				 !vlink_linkmem_indices_intact(&l->m, VN_BURST) ||
				 vd->pool_size < l->m.buf_offset + l->m.buf_area ||
				 vd->region_size < l->m.region_size)
				link_remove(vd, s, "has other memory now");
		}
		if (used && !link_at(vd, s))
			link_add(vd, s, e);
		if (!used)
			memset(&vd->refused[s], 0, sizeof(vd->refused[s]));
	}
carrier:
	for (unsigned int s = 0; s < VLINK_MAX_LINKS; s++)
		if (link_at(vd, s))
			vn_link_carrier(link_at(vd, s));
out:
	mutex_unlock(&vd->lock);
}

static void watchdog(struct work_struct *w)
{
	struct vn_dev *vd = container_of(to_delayed_work(w), struct vn_dev, watchdog);
	bool again = false;

	mutex_lock(&vd->lock);
	if (vd->removing) {
		mutex_unlock(&vd->lock);
		return;
	}
	if (reg(vd, VLINK_REG_GENERATION) != vd->generation ||
	    !!(reg(vd, VLINK_REG_STATUS) & VLINK_DEV_STATUS_MAPPED) != vd->mapped)
		again = true;
	for (unsigned int s = 0; s < VLINK_MAX_LINKS; s++) {
		struct vn_link *l = link_at(vd, s);

		if (!l)
			continue;
		/* vlinkd clears a deleted link's magic first */
		if (READ_ONCE(l->m.hdr->magic) != VLINK_LINK_MAGIC)
			again = true;
		vn_link_kick(l);
		vn_link_carrier(l);
	}
	mutex_unlock(&vd->lock);
	if (again)
		schedule_work(&vd->cfg_work);
	schedule_delayed_work(&vd->watchdog, msecs_to_jiffies(VN_WATCHDOG_MS));
}

static void schedule_data(struct vn_dev *vd, int v)
{
	rcu_read_lock();
	for (unsigned int s = 0; s < VLINK_MAX_LINKS; s++) {
		struct vn_link *l = rcu_dereference(vd->links[s]);

		if (!l || !READ_ONCE(l->open))
			continue;
		for (unsigned int ch = 1; ch <= l->nch; ch++)
			if (v < 0 || vlink_pci_vector(s, ch, vd->nvec) == (unsigned int)v)
				napi_schedule(&l->ch[ch - 1].napi);
	}
	rcu_read_unlock();
}

static irqreturn_t cfg_irq(int irq, void *arg)
{
	struct vn_vec *vv = arg;

	schedule_work(&vv->vd->cfg_work);
	return IRQ_HANDLED;
}

static irqreturn_t data_irq(int irq, void *arg)
{
	struct vn_vec *vv = arg;

	schedule_data(vv->vd, vv->v);
	return IRQ_HANDLED;
}

static irqreturn_t intx_irq(int irq, void *arg)
{
	struct vn_dev *vd = arg;
	u32 isr = reg(vd, VLINK_REG_ISR);

	if (!isr)
		return IRQ_NONE;
	if (isr & VLINK_ISR_CONFIG)
		schedule_work(&vd->cfg_work);
	if (isr & VLINK_ISR_DATA)
		schedule_data(vd, -1);
	return IRQ_HANDLED;
}

static void free_irqs(struct vn_dev *vd)
{
	for (unsigned int i = 0; i < vd->nvec; i++)
		free_irq(pci_irq_vector(vd->pdev, i), &vd->vecs[i]);
	if (vd->intx_irq >= 0)
		free_irq(vd->intx_irq, vd);
	pci_free_irq_vectors(vd->pdev);
	vd->nvec = 0;
	vd->intx_irq = -1;
}

/* MSI-X with all VECTORS vectors (the device fires the one the formula
 * gives: fewer would leave channels unheard), else INTx, else none (the
 * watchdog polls). */
static void setup_irqs(struct vn_dev *vd)
{
	struct pci_dev *pdev = vd->pdev;
	unsigned int nvec = vd->version >= 2 ? reg(vd, VLINK_REG_VECTORS) : 0;
	int err = -ENODEV;

	vd->intx_irq = -1;
	if (vd->version < 2) {
		dev_info(&pdev->dev, "register VERSION %u: no interrupts, polling\n", vd->version);
		return;
	}
	/* INTx is only raised once ISR was read (docs/pci-vlink.md) */
	(void)reg(vd, VLINK_REG_ISR);
	if (nvec >= 2 && nvec <= 2048) {
		vd->vecs = devm_kcalloc(&pdev->dev, nvec, sizeof(*vd->vecs), GFP_KERNEL);
		if (vd->vecs)
			err = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	}
	if (err >= 0) {
		unsigned int i;

		for (i = 0; i < nvec; i++) {
			vd->vecs[i] = (struct vn_vec){ vd, i };
			err = request_irq(pci_irq_vector(pdev, i), i ? data_irq : cfg_irq, 0,
					  i ? "vlink-data" : "vlink-config", &vd->vecs[i]);
			if (err)
				break;
			vd->nvec = i + 1;
		}
		if (!err) {
			dev_info(&pdev->dev, "MSI-X: %u vectors\n", nvec);
			return;
		}
		free_irqs(vd);
	}
	dev_info(&pdev->dev, "no MSI-X with %u vectors (%d): INTx\n", nvec, err);
	err = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_LEGACY);
	if (err >= 0) {
		err = request_irq(pci_irq_vector(pdev, 0), intx_irq, IRQF_SHARED, "vlink", vd);
		if (!err) {
			vd->intx_irq = pci_irq_vector(pdev, 0);
			return;
		}
		pci_free_irq_vectors(pdev);
	}
	dev_warn(&pdev->dev, "no interrupt (%d): polling every %d ms\n", err, VN_WATCHDOG_MS);
}

static int map_bar(struct vn_dev *vd, int bar, void **p, u64 *size)
{
	struct pci_dev *pdev = vd->pdev;
	int err;

	*size = pci_resource_len(pdev, bar);
	if (!*size || !(pci_resource_flags(pdev, bar) & IORESOURCE_MEM)) {
		dev_err(&pdev->dev, "BAR%d is not assigned\n", bar);
		return -ENODEV;
	}
	err = pci_request_region(pdev, bar, KBUILD_MODNAME);
	if (err)
		return err;
	*p = devm_memremap(&pdev->dev, pci_resource_start(pdev, bar), *size, MEMREMAP_WB);
	if (IS_ERR(*p)) {
		dev_err(&pdev->dev, "BAR%d: cannot map %llu B: %pe\n", bar, *size, *p);
		return PTR_ERR(*p);
	}
	return 0;
}

static int vn_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vn_dev *vd;
	int err;

	vd = devm_kzalloc(&pdev->dev, sizeof(*vd), GFP_KERNEL);
	if (!vd)
		return -ENOMEM;
	vd->pdev = pdev;
	mutex_init(&vd->lock);
	INIT_WORK(&vd->cfg_work, cfg_work);
	INIT_DELAYED_WORK(&vd->watchdog, watchdog);
	vd->generation = ~0u;
	vd->table = devm_kzalloc(&pdev->dev, sizeof(*vd->table), GFP_KERNEL);
	if (!vd->table)
		return -ENOMEM;
	err = pcim_enable_device(pdev);
	if (err)
		return err;
	/* MSI-X messages are the device's writes: bus mastering */
	pci_set_master(pdev);
	err = pcim_iomap_regions(pdev, BIT(VLINK_PCI_BAR_REGS), KBUILD_MODNAME);
	if (err)
		return err;
	vd->regs = pcim_iomap_table(pdev)[VLINK_PCI_BAR_REGS];
	if (pci_resource_len(pdev, VLINK_PCI_BAR_REGS) < VLINK_REG_END)
		return -ENODEV;
	vd->version = reg(vd, VLINK_REG_VERSION);
	if (reg(vd, VLINK_REG_MAGIC) != VLINK_DEV_MAGIC || vd->version < 1 ||
	    vd->version > VLINK_DEV_VERSION) {
		dev_err(&pdev->dev, "registers say magic 0x%08x version %u (want 0x%08x, 1 to %u)\n",
			reg(vd, VLINK_REG_MAGIC), vd->version, VLINK_DEV_MAGIC, VLINK_DEV_VERSION);
		return -ENODEV;
	}
	err = map_bar(vd, VLINK_PCI_BAR_POOL, &vd->pool, &vd->bar2_size);
	if (!err)
		err = map_bar(vd, VLINK_PCI_BAR_REGION, &vd->region, &vd->bar4_size);
	if (err)
		return err;
	if (vd->bar4_size < VLINK_REGION_HDR_SIZE)
		return -ENODEV;
	pci_set_drvdata(pdev, vd);
	setup_irqs(vd);
	schedule_work(&vd->cfg_work);
	schedule_delayed_work(&vd->watchdog, msecs_to_jiffies(VN_WATCHDOG_MS));
	return 0;
}

static void vn_remove(struct pci_dev *pdev)
{
	struct vn_dev *vd = pci_get_drvdata(pdev);

	mutex_lock(&vd->lock);
	vd->removing = true;
	mutex_unlock(&vd->lock);
	free_irqs(vd);
	cancel_delayed_work_sync(&vd->watchdog);
	cancel_work_sync(&vd->cfg_work);
	mutex_lock(&vd->lock);
	for (unsigned int s = 0; s < VLINK_MAX_LINKS; s++)
		if (link_at(vd, s))
			link_remove(vd, s, NULL);
	mutex_unlock(&vd->lock);
}

static const struct pci_device_id vn_ids[] = {
	{ PCI_DEVICE(VLINK_PCI_VENDOR_ID, VLINK_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vn_ids);

static struct pci_driver vn_driver = {
	.name = KBUILD_MODNAME,
	.id_table = vn_ids,
	.probe = vn_probe,
	.remove = vn_remove,
};
module_pci_driver(vn_driver);

MODULE_DESCRIPTION("vlink: the links of a pci-vlink device as network interfaces");
MODULE_LICENSE("GPL");
