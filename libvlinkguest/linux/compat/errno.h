/* libc names for the freestanding proto/ files in the kernel (see ../Kbuild) */
#include <linux/errno.h>
