/* The BAR0 registers of a fake pci-vlink device (vlink_pci.h) as QEMU's
 * device sets them once it has mapped a domain, for the tests that play
 * the device with plain files (tests/guest/check_guest_pci.c,
 * tests/fuzz/fuzz_guest.c). */
#ifndef VLINK_FAKEDEV_H
#define VLINK_FAKEDEV_H

#include <stdint.h>
#include <string.h>

#include "vlink_pci.h"

/* a BAR0 register; XSTR: a macro's value as a string */
#define FAKEDEV_REG(regs, name) ((regs)[VLINK_REG_##name / 4])
#define STR_(x) #x
#define XSTR(x) STR_(x)

/* Connected and mapped: generation 1, one segment, the sizes, the domain
 * (at most 31 characters); every other register 0. */
static inline void fakedev_regs(uint32_t *regs, uint32_t pool_size, uint32_t region_size,
				const char *domain)
{
	memset(regs, 0, VLINK_REG_END);
	FAKEDEV_REG(regs, MAGIC) = VLINK_DEV_MAGIC;
	FAKEDEV_REG(regs, VERSION) = VLINK_DEV_VERSION;
	FAKEDEV_REG(regs, STATUS) = VLINK_DEV_STATUS_CONNECTED | VLINK_DEV_STATUS_MAPPED;
	FAKEDEV_REG(regs, GENERATION) = 1;
	FAKEDEV_REG(regs, POOL_LO) = pool_size;
	FAKEDEV_REG(regs, REGION_LO) = region_size;
	FAKEDEV_REG(regs, NSEGMENTS) = 1;
	strncpy((char *)&FAKEDEV_REG(regs, DOMAIN), domain, VLINK_REG_DOMAIN_LEN - 1);
}

#endif
