/* vlink_epoch_host_wait(): the one epoch function that sleeps, apart from
 * vlink_epoch.c, which the guest kernel driver compiles too. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "vlink_epoch.h"

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int vlink_epoch_host_wait(const struct vlink_linkmem *m, uint32_t epoch, int timeout_ms,
			  const volatile bool *stop)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (load(&m->hdr->peer_ack_epoch) == epoch ||
		    load(&m->hdr->peer_state) == VLINK_END_DOWN)
			return 0;
		if (stop && *stop)
			return -EINTR;
		if (ms_since(&t0) >= timeout_ms)
			return -ETIMEDOUT;
		usleep(200);
	}
}
