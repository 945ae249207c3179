/* What the test programs (tests/vlink-hostend, vlink-evilpeer,
 * vlink-evilhost) share: attaching an end of a link, a clock, a seeded
 * random sequence, and a stop flag for SIGINT/SIGTERM.  Each is one
 * program's single file, so the definitions here are static. */
#ifndef VLINK_TESTTOOL_H
#define VLINK_TESTTOOL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "vlink_client.h"
#include "vlink_linkmem.h"

/* Connect to vlinkd at sock (waiting up to wait_ms), attach `end` of
 * `link` and map it into *m (host: as its host end); *pool_size (may be
 * NULL) is the domain's pool size.  0, or a negative errno after printing
 * why, prefixed with `prog`; on success *cl holds the connection, which
 * keeps the end attached. */
static inline int tt_attach(const char *prog, const char *sock, const char *link, bool host,
			    int wait_ms, struct vlink_client **cl, struct vlink_linkmem *m,
			    uint64_t *pool_size)
{
	struct vlink_reply rep;
	char why[512];
	int err;

	err = vlink_client_open(cl, sock, host ? VLINK__ROLE__ROLE_HOST : VLINK__ROLE__ROLE_PEER,
				prog, wait_ms, why, sizeof(why));
	if (err) {
		fprintf(stderr, "%s: %s\n", prog, why);
		return err;
	}
	err = vlink_client_attach(*cl, link, host ? VLINK__END__END_HOST : VLINK__END__END_PEER,
				  &rep, 10000);
	if (err) {
		fprintf(stderr, "%s: attach %s: %s\n", prog, link, vlink_client_error(*cl));
		goto err_close;
	}
	err = vlink_linkmem_map(m, rep.env->link_map, rep.fds, rep.nfds, host, why, sizeof(why));
	if (pool_size)
		*pool_size = rep.env->link_map->pool_size;
	vlink_reply_clear(&rep);
	if (err) {
		fprintf(stderr, "%s: %s\n", prog, why);
		goto err_close;
	}
	return 0;

err_close:
	vlink_client_close(*cl);
	*cl = NULL;
	return err;
}

/* seconds on the monotonic clock */
static inline double tt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64: the same sequence for the same seed (*state != 0) */
static inline uint32_t tt_rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (uint32_t)(*state >> 11);
}

/* set by SIGINT and SIGTERM once tt_catch_stop() ran */
static volatile sig_atomic_t tt_stop;

static void tt_on_stop(int sig)
{
	(void)sig;
	tt_stop = 1;
}

static inline void tt_catch_stop(void)
{
	signal(SIGINT, tt_on_stop);
	signal(SIGTERM, tt_on_stop);
}

#endif
