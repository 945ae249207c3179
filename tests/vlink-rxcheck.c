/* vlink-rxcheck: a DPDK application that checks the rx contract of the
 * port it is given, as OVS and VPP rely on it: every mbuf rx_burst returns
 * (every segment) comes from the mempool given to the rx queue, with that
 * pool's private area as the application left it.  The private area of
 * every mbuf of the pool is stamped with its own address before the port
 * starts (OVS keeps its dp_packet there); a wrong pool, or a private area
 * changed, is counted.  Buffers are released in the ways applications
 * release them: plain free, a clone freed after the original, the
 * original freed after its clone, and (--echo) sent back on the port.
 *
 *   vlink-rxcheck EAL-ARGS -- --count N [--echo] [--hold] [--timeout S]
 *
 * --hold keeps the port open (polling) after the N-th packet until
 * SIGTERM or SIGINT, so that the other end can take what was echoed
 * before the port's close takes it back.
 * Port 0 is the port under test (one rx and one tx queue).  Prints one
 * line of counts and exits 0 if N packets came and every check held.
 * The PMD's own line at close says whether every buffer came home. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define PRIV_SIZE 64   /* like OVS's struct dp_packet, more or less */
#define NB_MBUF 8191
#define BURST 32

struct counts {
	uint64_t pkts, segs, attached, wrong_pool, priv_changed, clones, echoed, freed;
};

static volatile bool stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = true;
}

/* The stamp: the mbuf's own address, repeated over its private area. */
static void stamp(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	uint64_t *p = rte_mbuf_to_priv(obj);

	(void)mp;
	(void)arg;
	(void)i;
	for (unsigned k = 0; k < PRIV_SIZE / sizeof(*p); k++)
		p[k] = (uint64_t)(uintptr_t)obj;
}

static bool stamped(const struct rte_mbuf *m)
{
	const uint64_t *p = rte_mbuf_to_priv((struct rte_mbuf *)(uintptr_t)m);

	if (m->priv_size != PRIV_SIZE)
		return false;
	for (unsigned k = 0; k < PRIV_SIZE / sizeof(*p); k++)
		if (p[k] != (uint64_t)(uintptr_t)m)
			return false;
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int port_start(uint16_t port, struct rte_mempool *mp, double timeout)
{
	struct rte_eth_conf conf;
	struct rte_eth_link link;
	double t0 = now_s();
	int err;

	memset(&conf, 0, sizeof(conf));
	if ((err = rte_eth_dev_configure(port, 1, 1, &conf)) ||
	    (err = rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL, mp)) ||
	    (err = rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL)) ||
	    (err = rte_eth_dev_start(port))) {
		fprintf(stderr, "vlink-rxcheck: port %u: %s\n", port, rte_strerror(-err));
		return err;
	}
	do {
		if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status)
			return 0;
		rte_delay_ms(10);
	} while (now_s() - t0 < timeout && !stop);
	fprintf(stderr, "vlink-rxcheck: port %u: link not up after %.0f s\n", port, timeout);
	return -ETIMEDOUT;
}

/* The port's non-zero extended stats, one "xstat NAME VALUE" line each. */
static void print_xstats(uint16_t port)
{
	int n = rte_eth_xstats_get(port, NULL, 0);
	struct rte_eth_xstat *xs = n > 0 ? calloc((size_t)n, sizeof(*xs)) : NULL;
	struct rte_eth_xstat_name *names = n > 0 ? calloc((size_t)n, sizeof(*names)) : NULL;

	if (xs && names && rte_eth_xstats_get(port, xs, (unsigned)n) == n &&
	    rte_eth_xstats_get_names(port, names, (unsigned)n) == n)
		for (int i = 0; i < n; i++)
			if (xs[i].value)
				printf("xstat %s %" PRIu64 "\n", names[xs[i].id].name, xs[i].value);
	free(xs);
	free(names);
}

/* Check one received packet, then let it go one of the ways. */
static void check(struct rte_mbuf *m, struct rte_mempool *mp, struct counts *c,
		  struct rte_mbuf **echo, unsigned *nech, bool do_echo)
{
	c->pkts++;
	for (struct rte_mbuf *s = m; s; s = s->next) {
		c->segs++;
		c->attached += RTE_MBUF_HAS_EXTBUF(s) != 0;
		if (s->pool != mp)
			c->wrong_pool++;
		else if (!stamped(s))
			c->priv_changed++;
	}
	if (do_echo) {
		echo[(*nech)++] = m;
		return;
	}
	switch (c->pkts % 3) {
	case 0: {
		/* a clone (a second reference to the same buffers), freed
		 * after the original: the buffer goes home once, at the end */
		struct rte_mbuf *cl = rte_pktmbuf_clone(m, mp);

		rte_pktmbuf_free(m);
		if (cl) {
			c->clones++;
			rte_pktmbuf_free(cl);
		}
		break;
	}
	case 1: {
		/* the other order */
		struct rte_mbuf *cl = rte_pktmbuf_clone(m, mp);

		if (cl) {
			c->clones++;
			rte_pktmbuf_free(cl);
		}
		rte_pktmbuf_free(m);
		break;
	}
	default:
		rte_pktmbuf_free(m);
	}
	c->freed++;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "echo", no_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "hold", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct counts c = { 0 };
	struct rte_mempool *mp;
	uint64_t want = 0;
	double timeout = 30, last;
	bool do_echo = false, hold = false;
	int n, o, rc = 1;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "vlink-rxcheck: cannot init EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	while ((o = getopt_long(argc, argv, "n:et:", opts, NULL)) != -1) {
		switch (o) {
		case 'n': want = strtoull(optarg, NULL, 10); break;
		case 'e': do_echo = true; break;
		case 't': timeout = atof(optarg); break;
		case 'H': hold = true; break;
		default:
			fprintf(stderr, "usage: vlink-rxcheck EAL-ARGS -- --count N [--echo] "
				"[--hold] [--timeout S]\n");
			goto out;
		}
	}
	if (!want || rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "vlink-rxcheck: need --count N and a port\n");
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mp = rte_pktmbuf_pool_create("rxcheck", NB_MBUF, 256, PRIV_SIZE,
				     RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!mp) {
		fprintf(stderr, "vlink-rxcheck: pool: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	rte_mempool_obj_iter(mp, stamp, NULL);
	if (port_start(0, mp, timeout))
		goto out_pool;
	printf("vlink-rxcheck: port 0 up, waiting for %" PRIu64 " packets\n", want);
	fflush(stdout);
	last = now_s();
	while (c.pkts < want && !stop && now_s() - last < timeout) {
		struct rte_mbuf *pkts[BURST], *echo[BURST];
		unsigned nech = 0;
		uint16_t k = rte_eth_rx_burst(0, 0, pkts, BURST);

		if (k)
			last = now_s();
		for (uint16_t i = 0; i < k; i++)
			check(pkts[i], mp, &c, echo, &nech, do_echo);
		for (unsigned sent = 0; sent < nech && !stop;) {
			sent += rte_eth_tx_burst(0, 0, echo + sent, (uint16_t)(nech - sent));
			if (now_s() - last > timeout)
				break;
		}
		c.echoed += nech;
	}
	if (hold) {
		printf("vlink-rxcheck: %" PRIu64 " packets; holding the port open\n", c.pkts);
		fflush(stdout);
		while (!stop) {
			struct rte_mbuf *pkts[BURST];
			uint16_t k = rte_eth_rx_burst(0, 0, pkts, BURST);

			c.pkts += k; /* more than N: the check below fails */
			rte_pktmbuf_free_bulk(pkts, k);
			rte_eth_tx_burst(0, 0, NULL, 0); /* reap what came home */
			rte_delay_us_sleep(1000);
		}
	}
	printf("vlink-rxcheck: %" PRIu64 " packets, %" PRIu64 " segments, %" PRIu64
	       " attached, %" PRIu64 " from another pool, %" PRIu64
	       " with the private area changed, %" PRIu64 " clones, %" PRIu64 " echoed\n",
	       c.pkts, c.segs, c.attached, c.wrong_pool, c.priv_changed, c.clones, c.echoed);
	rc = c.pkts == want && !c.wrong_pool && !c.priv_changed ? 0 : 1;
	print_xstats(0);
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	/* every mbuf is back in the pool: nothing the PMD kept */
	printf("vlink-rxcheck: pool %u of %u mbufs free after close\n",
	       rte_mempool_avail_count(mp), NB_MBUF);
	if (rte_mempool_avail_count(mp) != NB_MBUF)
		rc = 1;
out_pool:
	rte_mempool_free(mp);
out:
	rte_eal_cleanup();
	return rc;
}
