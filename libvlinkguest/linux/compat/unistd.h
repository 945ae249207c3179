/* libc names for the freestanding proto/ files in the kernel (see ../Kbuild):
 * vlink_xlate.c checks that mappings are page aligned */
#include <asm/page.h>

#define _SC_PAGESIZE 30

static inline long sysconf(int name)
{
	return name == _SC_PAGESIZE ? (long)PAGE_SIZE : -1;
}
