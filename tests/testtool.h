/* What the test programs (tests/vlink-hostend, vlink-evilpeer,
 * vlink-evilhost) share: a clock, a seeded random sequence, and a stop flag
 * for SIGINT/SIGTERM.  Each is one program's single file, so the
 * definitions here are static. */
#ifndef VLINK_TESTTOOL_H
#define VLINK_TESTTOOL_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

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
