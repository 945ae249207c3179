/* The pci-vlink device as a guest sees it: identity, BARs and the BAR0
 * register map (docs/pci-vlink.md).  One definition for every end that
 * touches the device: the QEMU device (qemu/pci-vlink.c, which gets a copy
 * of this file next to it from qemu/build-qemu.sh), libvlinkguest's guest
 * mode, the tests, and the guest drivers to come.
 *
 * BAR0 holds 32-bit little-endian read-only registers; the layout is a
 * contract with guests: append, never move.  Plain C, no dependency: QEMU
 * builds it with its own headers. */
#ifndef VLINK_PCI_H
#define VLINK_PCI_H

/* identity */
#define VLINK_PCI_VENDOR_ID      0x1234      /* PCI_VENDOR_ID_QEMU */
#define VLINK_PCI_DEVICE_ID      0x564c      /* "VL" */
#define VLINK_PCI_REVISION       1
/* the BARs */
#define VLINK_PCI_BAR_REGS       0           /* the registers below */
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
#define VLINK_REG_END            0x60        /* the registers a reader needs */
#define VLINK_REGS_SIZE          0x1000      /* BAR0's size */

#define VLINK_DEV_MAGIC          0x4b4e4c56u /* "VLNK" */
#define VLINK_DEV_VERSION        1

/* STATUS bits */
#define VLINK_DEV_STATUS_CONNECTED 0x1u      /* socket up, HelloReply received */
#define VLINK_DEV_STATUS_MAPPED    0x2u      /* BAR2/BAR4 hold the domain */
#define VLINK_DEV_STATUS_ERROR     0x4u      /* the last DomainMap was refused */

#endif
