/* libc names for the freestanding proto/ files in the kernel (see ../Kbuild):
 * vlink_xlate.c's two tables, allocated where sleeping is allowed */
#include <linux/mm.h>
#include <linux/slab.h>

static inline void *calloc(size_t n, size_t size)
{
	return kvcalloc(n, size, GFP_KERNEL);
}

static inline void free(void *p)
{
	kvfree(p);
}
