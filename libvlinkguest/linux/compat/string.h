/* libc names for the freestanding proto/ files in the kernel (see ../Kbuild) */
#include <linux/string.h>

/* vlink_strerror()'s fallback (vlink_error.c): the kernel has no table of
 * messages; its logs print the code itself (%pe) */
static inline const char *strerror(int err)
{
	(void)err;
	return "error";
}
