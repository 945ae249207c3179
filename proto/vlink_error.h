/* vlink error codes: every vlink function returns 0 (or a count) on success
 * and a negative errno value on failure.  vlink_strerror() turns one into
 * text, with vlink's own wording where the generic one would mislead. */
#ifndef VLINK_ERROR_H
#define VLINK_ERROR_H

const char *vlink_strerror(int err);

#endif
