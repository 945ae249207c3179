#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vlink_error.h"

const char *vlink_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EPROTO:
		return "protocol error";
	case EBADMSG:
		return "malformed message";
	case EMSGSIZE:
		return "frame too large";
	case ETOOMANYREFS:
		return "too many file descriptors in one frame";
	case ECONNRESET:
		return "connection closed by the other side";
	case ETIMEDOUT:
		return "timed out";
	default:
		return strerror(err);
	}
}

int vlink_why(char *why, size_t n, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return err;
}
