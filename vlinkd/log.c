#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static bool to_syslog;
static bool to_stderr = true;
static int max_level = LOG_INFO;

void log_setup(bool use_syslog, bool use_stderr, int level)
{
	to_syslog = use_syslog;
	to_stderr = use_stderr;
	max_level = level;
	if (use_syslog)
		openlog("vlinkd", LOG_PID, LOG_DAEMON);
}

void vlog(int prio, const char *fmt, ...)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
	};
	va_list ap;

	if (prio > max_level)
		return;
	if (to_stderr) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "vlinkd %s.%03ld %s: ", when, ts.tv_nsec / 1000000,
			names[prio & 7]);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (to_syslog) {
		va_start(ap, fmt);
		vsyslog(prio, fmt, ap);
		va_end(ap);
	}
}
