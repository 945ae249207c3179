/* libc names for the freestanding proto/ files in the kernel (see ../Kbuild) */
#include <linux/types.h>
#include <linux/limits.h>
#define UINT32_MAX U32_MAX
#define UINT64_MAX U64_MAX
#define UINTPTR_MAX ULONG_MAX
