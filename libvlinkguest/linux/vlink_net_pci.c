// SPDX-License-Identifier: GPL-2.0
/* vlink_net: the pci-vlink device (docs/pci-vlink.md) as network
 * interfaces in a Linux guest. */
#include <linux/module.h>
#include <linux/pci.h>

#include "proto/vlink_pci.h"

static int vlink_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	void __iomem *regs;
	int err;

	err = pcim_enable_device(pdev);
	if (err)
		return err;
	err = pcim_iomap_regions(pdev, BIT(VLINK_PCI_BAR_REGS), KBUILD_MODNAME);
	if (err)
		return err;
	regs = pcim_iomap_table(pdev)[VLINK_PCI_BAR_REGS];
	dev_info(&pdev->dev, "magic 0x%08x version %u status 0x%x generation %u\n",
		 ioread32(regs + VLINK_REG_MAGIC), ioread32(regs + VLINK_REG_VERSION),
		 ioread32(regs + VLINK_REG_STATUS), ioread32(regs + VLINK_REG_GENERATION));
	return 0;
}

static void vlink_remove(struct pci_dev *pdev)
{
}

static const struct pci_device_id vlink_ids[] = {
	{ PCI_DEVICE(VLINK_PCI_VENDOR_ID, VLINK_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vlink_ids);

static struct pci_driver vlink_driver = {
	.name = KBUILD_MODNAME,
	.id_table = vlink_ids,
	.probe = vlink_probe,
	.remove = vlink_remove,
};
module_pci_driver(vlink_driver);

MODULE_DESCRIPTION("vlink: pci-vlink links as network interfaces");
MODULE_LICENSE("GPL");
