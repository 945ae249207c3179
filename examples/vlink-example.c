/* vlink-example: the smallest complete peer end of a vlink link, using only
 * the installed API of libvlinkguest (vlink_guest.h).  It attaches to a
 * link through vlinkd (socket mode), waits for the host end, sends every
 * packet it receives straight back (zero copy) until it has reflected COUNT
 * packets, and closes the link.  See docs/libvlinkguest.md.
 *
 * Build against an installed libvlinkguest:
 *   cc -o vlink-example vlink-example.c -lvlinkguest */
#define _DEFAULT_SOURCE /* usleep(), clock_gettime() under -std=c99 too */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vlink_guest.h>

#define BURST 32

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char usage[] =
	"Usage: vlink-example [--socket PATH] [--timeout SECONDS] LINK [COUNT]\n"
	"Attach to the peer end of LINK through vlinkd, wait for the host end,\n"
	"send every received packet back (zero copy) until COUNT packets have\n"
	"been reflected (default 0: until SIGINT or SIGTERM), then close.\n"
	"  -s, --socket PATH      vlinkd's socket (default: $VLINK_SOCKET or the\n"
	"                         library's default)\n"
	"  -t, --timeout SECONDS  give up after this long without a packet, and\n"
	"                         wait this long for vlinkd and the host end\n"
	"                         (default 10)\n"
	"  -h, --help             this text\n"
	"Exit status: 0 done, 1 failed, 2 usage error.\n";

/* Send all n buffers back on channel ch; they are the library's again. */
static int reflect_all(struct vlink_guest_link *l, unsigned ch,
		       const struct vlink_guest_pkt *p, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		int k = vlink_guest_reflect(l, ch, p + done, n - done);

		if (k < 0)
			return k;
		if (k == 0) {
			/* tx is full: the host has not drained it yet */
			int err = vlink_guest_poll(l);

			if (err < 0 && err != -EAGAIN)
				return err;
			usleep(10);
		}
		done += (unsigned)k;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket = NULL;
	unsigned long timeout = 10;
	unsigned long long count = 0, pkts = 0, descs = 0, bytes = 0;
	struct vlink_guest_link *l;
	char why[512] = "", *end;
	double last;
	int c, err, rc = 0;

	while ((c = getopt_long(argc, argv, "s:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket = optarg;
			break;
		case 't':
			timeout = strtoul(optarg, &end, 10);
			if (*end || !*optarg || timeout > 86400) {
				fprintf(stderr, "vlink-example: bad --timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc - optind == 2) {
		count = strtoull(argv[optind + 1], &end, 10);
		if (*end || !*argv[optind + 1]) {
			fprintf(stderr, "vlink-example: bad COUNT '%s'\n", argv[optind + 1]);
			return 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* every call returns 0 (or a count) or a negative errno; the opens
	 * also say why in why[] */
	err = vlink_guest_open_socket(&l, socket, argv[optind], (int)timeout * 1000, why,
				      sizeof(why));
	if (err) {
		fprintf(stderr, "vlink-example: cannot open link %s: %s\n", argv[optind], why);
		return 1;
	}
	printf("vlink-example: link %s (domain %s, MAC %s): %u data channel(s), ring %u\n",
	       vlink_guest_info(l)->name, vlink_guest_info(l)->domain, vlink_guest_info(l)->mac,
	       vlink_guest_info(l)->nchannels, vlink_guest_info(l)->ring_size);
	fflush(stdout);
	err = vlink_guest_wait_host(l, (int)timeout * 1000);
	if (err) {
		fprintf(stderr, "vlink-example: host end: %s\n", strerror(-err));
		vlink_guest_close(l);
		return 1;
	}

	last = now();
	while (!stop && (!count || pkts < count)) {
		bool idle = true;

		for (unsigned ch = 1; ch <= vlink_guest_info(l)->nchannels; ch++) {
			struct vlink_guest_pkt p[BURST];
			int k = vlink_guest_rx_burst(l, ch, p, BURST);

			if (k > 0)
				err = reflect_all(l, ch, p, (unsigned)k);
			else
				err = k;
			if (err < 0)
				goto out;
			idle &= k == 0;
			for (int i = 0; i < k; i++) {
				descs++;
				bytes += p[i].len;
				/* a packet ends at its first buffer without MORE */
				if (!(p[i].flags & VLINK_GUEST_F_MORE))
					pkts++;
			}
		}
		if (!idle) {
			last = now();
			continue;
		}
		/* socket mode: the data path does not notice a deleted link */
		err = vlink_guest_poll(l);
		if (err < 0 && err != -EAGAIN)
			goto out;
		err = 0;
		if (now() - last > (double)timeout) {
			err = -ETIMEDOUT;
			goto out;
		}
		usleep(100);
	}
out:
	if (err) {
		fprintf(stderr, "vlink-example: link %s: %s\n", argv[optind],
			err == -ENOLINK ? "deleted" : strerror(-err));
		rc = 1;
	} else if (count && pkts < count) {
		rc = 1; /* interrupted */
	}
	printf("vlink-example: reflected %llu packets (%llu descriptors, %llu bytes)\n",
	       pkts, descs, bytes);
	vlink_guest_close(l);
	return rc;
}
