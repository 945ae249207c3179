/* vlink error codes: every vlink function returns 0 (or a count) on success
 * and a negative errno value on failure.  vlink_strerror() turns one into
 * text, with vlink's own wording where the generic one would mislead. */
#ifndef VLINK_ERROR_H
#define VLINK_ERROR_H

#include <stddef.h>

const char *vlink_strerror(int err);

/* Write a printf-style reason into why[0..n) (when why is not NULL and n
 * is not 0) and return err: `return vlink_why(why, n, -EINVAL, ...)`. */
int vlink_why(char *why, size_t n, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
