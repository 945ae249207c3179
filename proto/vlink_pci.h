/* The pci-vlink device as a guest sees it: identity, BARs and the BAR0
 * register map (docs/pci-vlink.md).  One definition for every end that
 * touches the device: the QEMU device (qemu/pci-vlink.c, which gets a copy
 * of this file next to it from qemu/build-qemu.sh), libvlinkguest's guest
 * mode, the tests, and the guest drivers to come.
 *
 * BAR0 holds 32-bit little-endian registers, read-only but for DOORBELL
 * (write-only) and ISR (read to clear); the layout is a contract with
 * guests: append, never move.  Plain C, no dependency: QEMU builds it with
 * its own headers. */
#ifndef VLINK_PCI_H
#define VLINK_PCI_H

#include <stdint.h>

/* identity */
#define VLINK_PCI_VENDOR_ID      0x1234      /* PCI_VENDOR_ID_QEMU */
#define VLINK_PCI_DEVICE_ID      0x564c      /* "VL" */
#define VLINK_PCI_REVISION       1
/* the BARs */
#define VLINK_PCI_BAR_REGS       0           /* the registers below */
#define VLINK_PCI_BAR_MSIX       1           /* the MSI-X table and PBA (VERSION >= 2) */
#define VLINK_PCI_BAR_POOL       2           /* the pool: BAR offset == pool offset */
#define VLINK_PCI_BAR_REGION     4           /* the channel region, at offset 0 */

/* BAR0 registers (byte offsets) */
#define VLINK_REG_MAGIC          0x00        /* VLINK_DEV_MAGIC */
#define VLINK_REG_VERSION        0x04        /* VLINK_DEV_VERSION */
#define VLINK_REG_STATUS         0x08        /* VLINK_DEV_STATUS_* bits */
#define VLINK_REG_GENERATION     0x0c        /* +1 at every new mapping */
#define VLINK_REG_POOL_LO        0x10        /* pool bytes mapped in BAR2 */
#define VLINK_REG_POOL_HI        0x14
#define VLINK_REG_REGION_LO      0x18        /* channel region bytes mapped in BAR4 */
#define VLINK_REG_REGION_HI      0x1c
#define VLINK_REG_NSEGMENTS      0x20        /* pool segment files mapped */
#define VLINK_REG_CONNECTS       0x24        /* connections to vlinkd so far */
#define VLINK_REG_DOMAIN         0x40        /* the domain name, NUL padded */
#define VLINK_REG_DOMAIN_LEN     32
/* 0x28..0x3f: reserved, read 0.  VERSION 2 appends (docs/pci-vlink.md,
 * "Interrupts and notifiers"): */
#define VLINK_REG_VECTORS        0x60        /* MSI-X vectors the device has */
#define VLINK_REG_DOORBELL       0x64        /* write-only: VLINK_DOORBELL(slot, ch) */
#define VLINK_REG_ISR            0x68        /* read to clear: VLINK_ISR_* (INTx) */
#define VLINK_REG_END            0x6c        /* the end of the registers */
#define VLINK_REGS_SIZE          0x1000      /* BAR0's size */

#define VLINK_DEV_MAGIC          0x4b4e4c56u /* "VLNK" */
#define VLINK_DEV_VERSION        2           /* 1: up to DOMAIN; 2: VECTORS..ISR, MSI-X */

/* STATUS bits */
#define VLINK_DEV_STATUS_CONNECTED 0x1u      /* socket up, HelloReply received */
#define VLINK_DEV_STATUS_MAPPED    0x2u      /* BAR2/BAR4 hold the domain */
#define VLINK_DEV_STATUS_ERROR     0x4u      /* the last DomainMap was refused */

/* ISR bits: why INTx is up (MSI-X off); reading ISR clears them and
 * lowers INTx */
#define VLINK_ISR_CONFIG         0x1u        /* GENERATION or STATUS changed */
#define VLINK_ISR_DATA           0x2u        /* a host end woke a data channel */

/* The doorbell value that wakes the host end of the link in link-table
 * slot `slot` (0..62) on data channel `ch` (1..64). */
#define VLINK_DOORBELL(slot, ch) ((uint32_t)(slot) << 16 | (uint32_t)(ch))

/* MSI-X vectors: 0 is the config vector (GENERATION or STATUS changed);
 * data channel `ch` of the link in slot `slot` interrupts on this vector
 * of `nvectors` (VECTORS, >= 2).  A link's channels get distinct vectors,
 * and so do different links' first channels, as far as there are vectors
 * enough; beyond that they share (the guest then checks every ring of a
 * shared vector). */
static inline unsigned vlink_pci_vector(unsigned slot, unsigned ch, unsigned nvectors)
{
	return 1 + (slot + ch - 1) % (nvectors - 1);
}

#endif
