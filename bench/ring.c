/* bench/ring: descriptors per second through one vlink ring between two
 * threads (producer and consumer on different cores), bursts of 32, every
 * descriptor checked by the consumer.  Usage: bench/ring [COUNT] [RING]. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vlink_ring.h"

#define BURST 32

static struct vlink_ring prod, cons;
static uint64_t count;

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static void *producer(void *arg)
{
	struct vlink_desc d[BURST];
	uint64_t seq = 0;

	(void)arg;
	pin(0);
	while (seq < count) {
		unsigned n = count - seq < BURST ? (unsigned)(count - seq) : BURST, k;

		for (unsigned i = 0; i < n; i++) {
			d[i].pool_offset = seq + i;
			d[i].len = (uint32_t)(seq + i);
			d[i].flags = 0;
			d[i].data_off = 0;
		}
		k = vlink_ring_enqueue_burst(&prod, d, n);
		seq += k;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint32_t size = argc > 2 ? (uint32_t)atoi(argv[2]) : 1024;
	struct vlink_desc d[BURST];
	uint64_t seq = 0, bad = 0;
	pthread_t t;
	void *mem;
	double t0, t1;

	count = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000000ull;
	if (posix_memalign(&mem, 64, VLINK_RING_HDR_SIZE + (size_t)size * VLINK_DESC_SIZE))
		return 1;
	((struct vlink_ring_hdr *)mem)->head = ((struct vlink_ring_hdr *)mem)->tail = 0;
	if (vlink_ring_attach(&prod, mem, size, true) || vlink_ring_attach(&cons, mem, size, false)) {
		fprintf(stderr, "bad ring size %u\n", size);
		return 1;
	}
	t0 = now();
	pthread_create(&t, NULL, producer, NULL);
	pin(1);
	while (seq < count) {
		unsigned k = vlink_ring_dequeue_burst(&cons, d, BURST);

		for (unsigned i = 0; i < k; i++, seq++)
			bad += d[i].pool_offset != seq || d[i].len != (uint32_t)seq;
	}
	t1 = now();
	pthread_join(t, NULL);
	printf("ring %u, bursts of %d, %llu descriptors in %.3f s: %.1f M descriptors/s, "
	       "%llu out of sequence\n", size, BURST, (unsigned long long)count, t1 - t0,
	       count / (t1 - t0) / 1e6, (unsigned long long)bad);
	free(mem);
	return bad ? 1 : 0;
}
