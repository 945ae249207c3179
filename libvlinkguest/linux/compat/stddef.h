/* libc names for the freestanding proto/ files in the kernel (see ../Kbuild) */
#include <linux/stddef.h>
#include <linux/types.h>
