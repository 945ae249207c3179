/* Micro-benchmark of the translation index (proto/vlink_xlate.c) against
 * what DPDK offers for the same question ("where is this buffer?"):
 * rte_mem_virt2phy(), which reads /proc/self/pagemap on every call, and
 * rte_mem_virt2iova() after rte_eal_init().
 *
 * A 64 MiB pool is mapped as four memfd segments at scattered addresses,
 * indexed, and every method is timed over the same random samples in one
 * run.  Build with `make bench/xlate` (needs libdpdk), run as root (without
 * CAP_SYS_ADMIN pagemap hides the frame numbers).
 *
 *   bench/xlate [EAL arguments]     default: see eal_default[] below */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "vlink_xlate.h"

#define MiB (1ull << 20)
#define POOL_SIZE (64 * MiB)
#define NSEG 4
#define RES_LEN (256 * MiB)
#define NSAMPLES (1u << 20)            /* 8 MiB per sample array: cycled */
#define ITERS_FAST 10000000u
#define ITERS_SYSCALL 200000u
#define REPS 3                         /* report the best of REPS timed passes */
#define LEN 64                         /* bytes per ptr() lookup: a cache line */

/* Pool order vs address order differ, and no mapping is 2 MiB aligned
 * relative to the lowest, so reverse chunks hold two segments. */
static const struct {
	uint64_t pool_offset, size, rel;
} layout[NSEG] = {
	{ 0,       8 * MiB,  100 * MiB + 20 * 4096 },
	{ 8 * MiB, 24 * MiB, 40 * MiB + 3 * 4096 },
	{ 32 * MiB, 16 * MiB, 4096 },
	{ 48 * MiB, 16 * MiB, 180 * MiB + 16 * 4096 },
};

static const char *const eal_default[] = {
	"-l", "0", "--no-pci", "--no-huge", "-m", "128", "--iova-mode=pa",
	"--log-level=error", "--file-prefix=xlatebench",
};

static volatile uint64_t sink;
static struct vlink_xlate x;
static struct vlink_xlate_seg segs[NSEG];
static uint64_t *offs;
static void **addrs;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* xorshift64*: fixed seed, so every run looks the same things up */
static uint64_t rng(void)
{
	static uint64_t s = 0x9e3779b97f4a7c15ull;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dull;
}

static void die(const char *what)
{
	fprintf(stderr, "xlate: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void map_pool(void)
{
	uint8_t *res = mmap(NULL, RES_LEN, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (res == MAP_FAILED)
		die("reserve address space");
	for (int i = 0; i < NSEG; i++) {
		int fd = memfd_create("vlink-xlate-bench", MFD_CLOEXEC);
		void *p;

		if (fd < 0 || ftruncate(fd, (off_t)layout[i].size) < 0)
			die("memfd");
		/* MAP_FIXED over our own reservation: nothing else lives there */
		p = mmap(res + layout[i].rel, layout[i].size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0);
		if (p == MAP_FAILED)
			die("map segment");
		close(fd);
		/* present pages, or pagemap reports no frame */
		memset(p, 0x5a, layout[i].size);
		segs[i].pool_offset = layout[i].pool_offset;
		segs[i].size = layout[i].size;
		segs[i].addr = p;
	}
}

/* Random cache-line offsets in the pool and their addresses, the latter
 * computed from the segment list, not the index, so the check below means
 * something. */
static void make_samples(void)
{
	offs = malloc(NSAMPLES * sizeof(*offs));
	addrs = malloc(NSAMPLES * sizeof(*addrs));
	if (!offs || !addrs)
		die("malloc");
	for (unsigned i = 0; i < NSAMPLES; i++) {
		uint64_t off = (rng() % POOL_SIZE) & ~(uint64_t)(LEN - 1);

		offs[i] = off;
		for (int k = 0; k < NSEG; k++)
			if (off - segs[k].pool_offset < segs[k].size)
				addrs[i] = (uint8_t *)segs[k].addr + (off - segs[k].pool_offset);
	}
	for (unsigned i = 0; i < NSAMPLES; i++)
		if (vlink_xlate_ptr(&x, offs[i], LEN) != addrs[i] ||
		    vlink_xlate_off(&x, addrs[i]) != offs[i]) {
			fprintf(stderr, "xlate: index disagrees at offset 0x%" PRIx64 "\n", offs[i]);
			exit(1);
		}
}

enum method { M_LOOP, M_PTR, M_OFF, M_PHY, M_IOVA };

/* One timed pass of `iters` lookups; ns per lookup. */
static double pass(enum method m, unsigned iters, unsigned *bad)
{
	uint64_t sum = 0, t0 = now_ns();
	unsigned nbad = 0;

	switch (m) {
	case M_LOOP:
		for (unsigned i = 0; i < iters; i++)
			sum += offs[i & (NSAMPLES - 1)] + (uintptr_t)addrs[i & (NSAMPLES - 1)];
		break;
	case M_PTR:
		for (unsigned i = 0; i < iters; i++)
			sum += (uintptr_t)vlink_xlate_ptr(&x, offs[i & (NSAMPLES - 1)], LEN);
		break;
	case M_OFF:
		for (unsigned i = 0; i < iters; i++)
			sum += vlink_xlate_off(&x, addrs[i & (NSAMPLES - 1)]);
		break;
	case M_PHY:
		for (unsigned i = 0; i < iters; i++) {
			phys_addr_t pa = rte_mem_virt2phy(addrs[i & (NSAMPLES - 1)]);

			nbad += pa == RTE_BAD_PHYS_ADDR;
			sum += pa;
		}
		break;
	case M_IOVA:
		for (unsigned i = 0; i < iters; i++) {
			rte_iova_t iova = rte_mem_virt2iova(addrs[i & (NSAMPLES - 1)]);

			nbad += iova == RTE_BAD_IOVA;
			sum += iova;
		}
		break;
	}
	sink += sum;
	if (bad)
		*bad = nbad;
	return (double)(now_ns() - t0) / iters;
}

/* Warm up, then the best of REPS passes. */
static double measure(enum method m, unsigned iters, unsigned *bad)
{
	double best = 1e300;

	pass(m, iters / 10, NULL);
	for (int r = 0; r < REPS; r++) {
		double ns = pass(m, iters, bad);

		if (ns < best)
			best = ns;
	}
	return best;
}

struct eal_result {
	int ok;                         /* rte_eal_init() succeeded */
	int err;                        /* rte_errno if not */
	int mode;                       /* rte_eal_iova_mode() */
	unsigned iters, bad;
	double ns;
};

/* rte_eal_init() can be called once per process, so each attempt (pa, then
 * va) runs in a child that measures virt2iova and reports back. */
static struct eal_result eal_attempt(int argc, char **argv)
{
	struct eal_result r = { 0 };
	int pfd[2], st;
	pid_t pid;

	if (pipe(pfd) < 0)
		die("pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pfd[0]);
		if (rte_eal_init(argc, argv) < 0) {
			r.err = rte_errno;
		} else {
			r.ok = 1;
			r.mode = rte_eal_iova_mode();
			/* VA mode: virt2iova returns its argument, as fast as a
			 * load; PA mode: a pagemap read per call */
			r.iters = r.mode == RTE_IOVA_VA ? ITERS_FAST : ITERS_SYSCALL;
			r.ns = measure(M_IOVA, r.iters, &r.bad);
			rte_eal_cleanup();
		}
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &r, sizeof(r)) != sizeof(r))
		r.ok = 0;
	close(pfd[0]);
	waitpid(pid, &st, 0);
	return r;
}

static const char *mode_name(int m)
{
	return m == RTE_IOVA_VA ? "VA" : m == RTE_IOVA_PA ? "PA" : "DC";
}

/* argv for EAL: the user's, or the defaults with --iova-mode=<mode>. */
static char **eal_argv(int argc, char **argv, const char *mode, int *n)
{
	static char *v[64];
	static char iova[32];
	int k = 0;

	v[k++] = argv[0];
	if (argc > 1) {
		for (int i = 1; i < argc && k < 63; i++)
			v[k++] = argv[i];
	} else {
		for (size_t i = 0; i < sizeof(eal_default) / sizeof(eal_default[0]); i++) {
			if (!strncmp(eal_default[i], "--iova-mode=", 12)) {
				snprintf(iova, sizeof(iova), "--iova-mode=%s", mode);
				v[k++] = iova;
			} else {
				v[k++] = (char *)eal_default[i];
			}
		}
	}
	v[k] = NULL;
	*n = k;
	return v;
}

static void row(const char *name, double ns, unsigned iters, double ref)
{
	printf("| %-38s | %10.2f | %10u | %9.1f |\n", name, ns, iters, ns / ref);
}

int main(int argc, char **argv)
{
	struct eal_result e;
	const char *asked = "pa";
	double loop, ptr, off, phy, ref;
	unsigned bad_phy;
	cpu_set_t cpus;
	char **v;
	int n;

	/* the same core EAL's -l 0 puts its main thread on */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	map_pool();
	if (vlink_xlate_init(&x, POOL_SIZE, segs, NSEG) < 0) {
		fprintf(stderr, "xlate: vlink_xlate_init failed\n");
		return 1;
	}
	make_samples();
	printf("pool %llu MiB in %d segments:", POOL_SIZE / MiB, NSEG);
	for (int i = 0; i < NSEG; i++)
		printf(" [%llu MiB @ pool %llu MiB -> %p]", (unsigned long long)(segs[i].size / MiB),
		       (unsigned long long)(segs[i].pool_offset / MiB), segs[i].addr);
	printf("\nindex: %llu forward entries, %llu reverse chunks over %llu MiB of address space\n",
	       POOL_SIZE / VLINK_XLATE_CHUNK,
	       (unsigned long long)((x.rhi - x.rlo + VLINK_XLATE_CHUNK - 1) / VLINK_XLATE_CHUNK),
	       (unsigned long long)((x.rhi - x.rlo) / MiB));

	loop = measure(M_LOOP, ITERS_FAST, NULL);
	ptr = measure(M_PTR, ITERS_FAST, NULL);
	off = measure(M_OFF, ITERS_FAST, NULL);
	/* before rte_eal_init(): with --no-huge EAL marks physical addresses
	 * unavailable and rte_mem_virt2phy() then returns at once */
	phy = measure(M_PHY, ITERS_SYSCALL, &bad_phy);

	v = eal_argv(argc, argv, "pa", &n);
	e = eal_attempt(n, v);
	if (!e.ok && argc == 1) {
		fprintf(stderr, "xlate: rte_eal_init with --iova-mode=pa failed (%s), retrying va\n",
			rte_strerror(e.err));
		asked = "va";
		v = eal_argv(argc, argv, "va", &n);
		e = eal_attempt(n, v);
	}

	/* the index's slower direction is the reference */
	ref = ptr > off ? ptr : off;
	printf("\nbest of %d passes each, ns per lookup, ratio = ns / %s\n\n", REPS,
	       ptr > off ? "vlink_xlate_ptr" : "vlink_xlate_off");
	printf("| %-38s | %10s | %10s | %9s |\n", "method", "ns/lookup", "iterations", "ratio");
	printf("|%s|%s|%s|%s|\n", "----------------------------------------", "-----------:",
	       "-----------:", "----------:");
	row("loop only (sample loads, no lookup)", loop, ITERS_FAST, ref);
	row("(a) vlink_xlate_ptr (offset -> addr)", ptr, ITERS_FAST, ref);
	row("(b) vlink_xlate_off (addr -> offset)", off, ITERS_FAST, ref);
	row("(c) rte_mem_virt2phy (pagemap)", phy, ITERS_SYSCALL, ref);
	if (e.ok) {
		char name[64];

		snprintf(name, sizeof(name), "(d) rte_mem_virt2iova (IOVA as %s)",
			 mode_name(e.mode));
		row(name, e.ns, e.iters, ref);
	} else {
		printf("| %-38s | %10s | %10s | %9s |\n", "(d) rte_mem_virt2iova", "n/a", "-", "-");
	}

	printf("\n");
	if (bad_phy)
		printf("warning: rte_mem_virt2phy() failed %u of %u times (not root?): the time is "
		       "still the pagemap read\n", bad_phy, ITERS_SYSCALL);
	if (e.ok) {
		if (argc > 1)
			printf("EAL: arguments from the command line, EAL runs IOVA as %s\n",
			       mode_name(e.mode));
		else
			printf("EAL: asked for --iova-mode=%s, EAL runs IOVA as %s\n", asked,
			       mode_name(e.mode));
		if (e.mode == RTE_IOVA_VA)
			printf("note: in VA mode rte_mem_virt2iova() returns the virtual address "
			       "itself (no lookup), so (d) is not a translation; in PA mode it "
			       "is rte_mem_virt2phy(), i.e. (c)\n");
		if (e.bad)
			printf("warning: rte_mem_virt2iova() failed %u of %u times\n", e.bad, e.iters);
	} else {
		printf("EAL: rte_eal_init failed (%s); (d) not measured\n", rte_strerror(e.err));
	}
	printf("xlate speedup vs pagemap: %.0fx\n", phy / ref);

	vlink_xlate_fini(&x);
	free(offs);
	free(addrs);
	return 0;
}
