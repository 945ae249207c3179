/* vlinkd logging: stderr (with time stamps) and, optionally, syslog. */
#ifndef VLINKD_LOG_H
#define VLINKD_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_setup(bool use_syslog, bool use_stderr, int level);
void vlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   vlog(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  vlog(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  vlog(LOG_INFO, __VA_ARGS__)
#define log_debug(...) vlog(LOG_DEBUG, __VA_ARGS__)

#endif
