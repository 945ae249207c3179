/* Test client for the integration tests (not installed).
 *
 *   vlink-testclient SOCKET attach LINK host|peer write|check SEED [HOLD_SECONDS]
 *       attach one end of LINK, map the pool from the LinkMap fds, and write
 *       (or check) a pattern derived from SEED over the link's whole buffer
 *       area and the first 4 KiB of every segment; then stay attached for
 *       HOLD_SECONDS (default 0).  Prints "segment I inode N" per segment.
 *   vlink-testclient SOCKET domain NAME [HOLD_SECONDS]
 *       attach a domain, check the DomainMap and print its segments; then
 *       stay attached for HOLD_SECONDS (default 0).
 *   vlink-testclient SOCKET garbage COUNT SEED
 *       COUNT connections, each sending one kind of malformed input (bad
 *       frames, random bytes, undecodable or unexpected messages, fds);
 *       afterwards the daemon must still answer on a new connection.
 *   vlink-testclient SOCKET poke LINK POOL_OFFSET HEX
 *       attach LINK as an observer (no end is taken), map its domain's pool
 *       and write the bytes HEX (hex digits) at POOL_OFFSET, which must lie
 *       in one segment.
 *   vlink-testclient SOCKET peek LINK POOL_OFFSET LEN
 *       the same, reading: prints LEN bytes at POOL_OFFSET as hex.
 *   vlink-testclient SOCKET notify LINK host|peer
 *       attach one end of LINK, get its notifiers (GetNotifiers) and, on
 *       every channel in turn, exchange a mark with the other end (run it
 *       for both ends): the host end writes its peer's notifier and waits
 *       for the mark back on its own, the peer end the other way round.
 *       That both see the other's marks proves they were given the same
 *       eventfds.  Prints "notifiers: N channels" and "exchanged marks on
 *       N channels".
 *   vlink-testclient SOCKET woken LINK CH [SECONDS]
 *       attach the host end of LINK, get its notifiers, drain them all and
 *       print "ready"; then wait up to SECONDS (10) for a signal on
 *       channel CH's wake_host (the peer's doorbell): "woken on channel
 *       CH", and "also woken on channel X" for every other channel
 *       signalled meanwhile.  Exit status 1 when CH was not signalled.
 *   vlink-testclient SOCKET ring LINK CH GO_FILE
 *       attach the host end of LINK, get its notifiers and print "ready";
 *       once GO_FILE exists (at most 20 s later), signal channel CH's
 *       wake_peer once: "signalled channel CH".  (Getting the notifiers
 *       signals every channel once: the test waits for those before it
 *       creates GO_FILE.)
 * Exit status 0 when every check passed. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vlink_client.h"
#include "vlink_notify.h"
#include "vlink_error.h"

static const char *sock_path;

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "vlink-testclient: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static uint8_t pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ (off / 8) * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (off % 8)));
}

struct mapped {
	void *addr;
	uint64_t off, size;
};

static int walk(struct mapped *m, size_t n, uint64_t off, uint64_t len, uint64_t seed,
		bool write)
{
	uint64_t bad = 0;

	for (uint64_t p = off; p < off + len; p++) {
		size_t i;

		for (i = 0; i < n && !(p >= m[i].off && p < m[i].off + m[i].size); i++)
			;
		if (i == n) {
			fprintf(stderr, "pool offset %llu is in no segment\n",
				(unsigned long long)p);
			return 1;
		}
		uint8_t *b = (uint8_t *)m[i].addr + (p - m[i].off);

		if (write)
			*b = pattern(seed, p);
		else if (*b != pattern(seed, p) && bad++ < 5)
			fprintf(stderr, "mismatch at pool offset %llu: %02x != %02x\n",
				(unsigned long long)p, *b, pattern(seed, p));
	}
	if (bad) {
		fprintf(stderr, "%llu bytes differ\n", (unsigned long long)bad);
		return 1;
	}
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__AttachLink m = VLINK__ATTACH_LINK__INIT;
	struct vlink_client *c;
	struct vlink_reply rep;
	struct mapped map[16];
	const Vlink__LinkMap *lm;
	char why[256];
	uint64_t seed;
	bool write;
	int err, rc = 0;

	if (argc < 4)
		return fail("usage: attach LINK host|peer write|check SEED [HOLD]%s", "");
	write = !strcmp(argv[2], "write");
	seed = strtoull(argv[3], NULL, 0);
	err = vlink_client_open(&c, sock_path, VLINK__ROLE__ROLE_PEER, "testclient", 5000, NULL, 0);
	if (err)
		return fail("connect: %s", vlink_strerror(err));
	m.link = argv[0];
	m.end = !strcmp(argv[1], "host") ? VLINK__END__END_HOST : VLINK__END__END_PEER;
	env.msg_case = VLINK__ENVELOPE__MSG_ATTACH_LINK;
	env.attach_link = &m;
	err = vlink_client_call(c, &env, &rep, 5000);
	if (err) {
		printf("refused: %s\n", vlink_client_error(c));
		vlink_client_close(c);
		return 3;
	}
	if (rep.env->msg_case != VLINK__ENVELOPE__MSG_LINK_MAP)
		return fail("expected LinkMap, got %s", vlink_msg_name(rep.env->msg_case));
	lm = rep.env->link_map;
	if (vlink_msg_check_map(lm->pool_size, lm->n_segments, lm->segments, lm->region,
				rep.nfds, why, sizeof(why)))
		return fail("bad LinkMap: %s", why);
	for (size_t i = 0; i < lm->n_segments; i++) {
		const Vlink__Segment *s = lm->segments[i];
		struct stat st;

		fstat(rep.fds[s->fd_index], &st);
		printf("segment %u inode %llu size %llu\n", s->index,
		       (unsigned long long)st.st_ino, (unsigned long long)s->size);
		map[i].off = s->pool_offset;
		map[i].size = s->size;
		map[i].addr = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED,
				   rep.fds[s->fd_index], 0);
		if (map[i].addr == MAP_FAILED)
			return fail("mmap: %s", strerror(errno));
	}
	{
		struct stat st;

		fstat(rep.fds[lm->region->fd_index], &st);
		printf("region inode %llu size %llu\n", (unsigned long long)st.st_ino,
		       (unsigned long long)lm->region->size);
	}
	rc |= walk(map, lm->n_segments, lm->link->buf_offset, lm->link->buf_area, seed, write);
	printf("%s %llu bytes at pool offset %llu: %s\n", write ? "wrote" : "checked",
	       (unsigned long long)lm->link->buf_area,
	       (unsigned long long)lm->link->buf_offset, rc ? "MISMATCH" : "ok");
	fflush(stdout);
	if (argc > 4)
		sleep((unsigned)atoi(argv[4]));
	for (size_t i = 0; i < lm->n_segments; i++)
		munmap(map[i].addr, map[i].size);
	vlink_reply_clear(&rep);
	vlink_client_close(c);
	return rc;
}

static int cmd_domain(int argc, char **argv)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__AttachDomain m = VLINK__ATTACH_DOMAIN__INIT;
	struct vlink_client *c;
	struct vlink_reply rep;
	const Vlink__DomainMap *dm;
	char why[256];
	int err;

	if (argc < 1)
		return fail("usage: domain NAME [HOLD]%s", "");
	err = vlink_client_open(&c, sock_path, VLINK__ROLE__ROLE_QEMU, "testclient", 5000, NULL, 0);
	if (err)
		return fail("connect: %s", vlink_strerror(err));
	m.domain = argv[0];
	env.msg_case = VLINK__ENVELOPE__MSG_ATTACH_DOMAIN;
	env.attach_domain = &m;
	err = vlink_client_call(c, &env, &rep, 5000);
	if (err) {
		printf("refused: %s\n", vlink_client_error(c));
		vlink_client_close(c);
		return 3;
	}
	dm = rep.env->domain_map;
	if (rep.env->msg_case != VLINK__ENVELOPE__MSG_DOMAIN_MAP ||
	    vlink_msg_check_map(dm->pool_size, dm->n_segments, dm->segments, dm->region,
				rep.nfds, why, sizeof(why)))
		return fail("bad DomainMap: %s", why);
	printf("domain %s pool %llu segments %zu links %zu region %llu\n", dm->domain,
	       (unsigned long long)dm->pool_size, dm->n_segments, dm->n_links,
	       (unsigned long long)dm->region->size);
	fflush(stdout);
	if (argc > 1)
		sleep((unsigned)atoi(argv[1]));
	vlink_reply_clear(&rep);
	vlink_client_close(c);
	return 0;
}

/* Far above what swaps and vlink_notify_signal() add (1 each). */
#define MARK (1ull << 20)

/* Undo notify_end(); returns rc. */
static int notify_close(struct vlink_client *c, struct vlink_reply *rep, struct vlink_notify *n,
			int rc)
{
	vlink_notify_fini(n);
	vlink_reply_clear(rep);
	vlink_client_close(c);
	return rc;
}

/* Attach one end of link and get its notifiers into *n: 0, or the exit
 * status (the attachment closed). */
static int notify_end(const char *link, bool host, struct vlink_client **cp,
		      struct vlink_reply *rep, struct vlink_notify *n)
{
	struct vlink_client *c;
	char why[256];
	int err;

	err = vlink_client_open(&c, sock_path, host ? VLINK__ROLE__ROLE_HOST : VLINK__ROLE__ROLE_PEER,
				"testclient", 5000, NULL, 0);
	if (err)
		return fail("connect: %s", vlink_strerror(err));
	err = vlink_client_attach(c, link, host ? VLINK__END__END_HOST : VLINK__END__END_PEER,
				  rep, 5000);
	if (err) {
		printf("refused: %s\n", vlink_client_error(c));
		vlink_client_close(c);
		return 3;
	}
	err = vlink_notify_init(n, rep->env->link_map->link->nchannels, host);
	if (err)
		snprintf(why, sizeof(why), "%s", vlink_strerror(err));
	else
		err = vlink_notify_fetch(n, c, link, 5000, why, sizeof(why));
	if (err) {
		printf("no notifiers: %s\n", why);
		return notify_close(c, rep, n, 1);
	}
	*cp = c;
	return 0;
}

static unsigned channel_arg(const char *s, const struct vlink_notify *n)
{
	unsigned long ch = strtoul(s, NULL, 0);

	return ch >= 1 && ch <= n->nch ? (unsigned)ch : 0;
}

/* notify_end() for the host end, and the data channel named by chs in *ch:
 * 0, or the exit status (the attachment closed). */
static int notify_host_chan(const char *link, const char *chs, struct vlink_client **cp,
			    struct vlink_reply *rep, struct vlink_notify *n, unsigned *ch)
{
	int rc = notify_end(link, true, cp, rep, n);

	if (rc)
		return rc;
	*ch = channel_arg(chs, n);
	if (!*ch) {
		fail("channel %s: the link has no such data channel", chs);
		return notify_close(*cp, rep, n, 1);
	}
	return 0;
}

/* This end's notifier of channel ch, raw (no ring): read_mine takes what
 * it has counted (0: nothing); wait_mine waits up to ms for it to be
 * written: what it counted, 0 if it was not, -1 on error. */
static uint64_t read_mine(const struct vlink_notify *n, unsigned ch)
{
	uint64_t v;

	return read(n->mine[ch - 1], &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static int64_t wait_mine(const struct vlink_notify *n, unsigned ch, int ms)
{
	struct pollfd p = { .fd = n->wait[ch - 1], .events = POLLIN };
	int r = poll(&p, 1, ms);

	return r < 0 ? -1 : r == 0 ? 0 : (int64_t)read_mine(n, ch);
}

/* Wait up to 10 s for a MARK on this end's notifier of channel ch. */
static int await_mark(const struct vlink_notify *n, unsigned ch)
{
	uint64_t got = 0;

	while (got < MARK) {
		int64_t v = wait_mine(n, ch, 10000);

		if (v <= 0) {
			fprintf(stderr, "vlink-testclient: no mark on channel %u within 10 s\n", ch);
			return 1;
		}
		got += (uint64_t)v;
	}
	return 0;
}

static int cmd_woken(int argc, char **argv)
{
	struct vlink_client *c;
	struct vlink_reply rep;
	struct vlink_notify n = { 0 };
	unsigned ch, secs = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
	int64_t r;
	int rc;

	if (argc < 2)
		return fail("usage: woken LINK CH [SECONDS]%s", "");
	rc = notify_host_chan(argv[0], argv[1], &c, &rep, &n, &ch);
	if (rc)
		return rc;
	rc = 1;
	/* what came before (the fetch's own signals, QEMU's at its swap) is
	 * not the doorbell */
	for (unsigned i = 1; i <= n.nch; i++)
		read_mine(&n, i);
	printf("ready\n");
	fflush(stdout);
	r = wait_mine(&n, ch, (int)secs * 1000);
	if (r <= 0) {
		printf("not woken on channel %u within %u s%s\n", ch, secs, r < 0 ? " (error)" : "");
		goto out;
	}
	printf("woken on channel %u\n", ch);
	for (unsigned i = 1; i <= n.nch; i++)
		if (i != ch && wait_mine(&n, i, 0) > 0)
			printf("also woken on channel %u\n", i);
	rc = 0;
out:
	return notify_close(c, &rep, &n, rc);
}

static int cmd_ring(int argc, char **argv)
{
	struct vlink_client *c;
	struct vlink_reply rep;
	struct vlink_notify n = { 0 };
	unsigned ch;
	int rc, i;

	if (argc < 3)
		return fail("usage: ring LINK CH GO_FILE%s", "");
	rc = notify_host_chan(argv[0], argv[1], &c, &rep, &n, &ch);
	if (rc)
		return rc;
	rc = 1;
	printf("ready\n");
	fflush(stdout);
	for (i = 0; i < 2000 && access(argv[2], F_OK); i++)
		usleep(10000);
	if (i == 2000) {
		fail("%s did not appear within 20 s", argv[2]);
		goto out;
	}
	vlink_notify_signal(&n, ch);
	printf("signalled channel %u\n", ch);
	rc = 0;
out:
	return notify_close(c, &rep, &n, rc);
}

static int cmd_notify(int argc, char **argv)
{
	struct vlink_client *c;
	struct vlink_reply rep;
	struct vlink_notify n = { 0 };
	bool host;
	int rc;

	if (argc < 2)
		return fail("usage: notify LINK host|peer%s", "");
	host = !strcmp(argv[1], "host");
	rc = notify_end(argv[0], host, &c, &rep, &n);
	if (rc)
		return rc;
	rc = 1;
	printf("notifiers: %u channels\n", n.nch);
	fflush(stdout);
	for (unsigned ch = 1; ch <= n.nch; ch++) {
		uint64_t mark = MARK;

		if (!host && await_mark(&n, ch))
			goto out;
		if (write(n.theirs[ch - 1], &mark, sizeof(mark)) != sizeof(mark)) {
			fail("write: %s", strerror(errno));
			goto out;
		}
		if (host && await_mark(&n, ch))
			goto out;
	}
	printf("exchanged marks on %u channels\n", n.nch);
	rc = 0;
out:
	return notify_close(c, &rep, &n, rc);
}

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* poke / peek: bytes at a pool offset through an observer's mapping. */
static int cmd_poke(int argc, char **argv, bool write)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__AttachLink m = VLINK__ATTACH_LINK__INIT;
	struct vlink_client *c;
	struct vlink_reply rep;
	const Vlink__LinkMap *lm;
	const Vlink__Segment *seg = NULL;
	uint64_t off, len;
	uint8_t *p;
	char why[256];
	int err, rc = 0;

	if (argc < 3)
		return fail("usage: poke LINK POOL_OFFSET HEX | peek LINK POOL_OFFSET LEN%s", "");
	off = strtoull(argv[1], NULL, 0);
	len = write ? strlen(argv[2]) / 2 : strtoull(argv[2], NULL, 0);
	if (!len || (write && strlen(argv[2]) % 2))
		return fail("bad length or hex string '%s'", argv[2]);
	err = vlink_client_open(&c, sock_path, VLINK__ROLE__ROLE_ADMIN, "testclient", 5000, NULL, 0);
	if (err)
		return fail("connect: %s", vlink_strerror(err));
	m.link = argv[0];
	m.end = VLINK__END__END_OBSERVER;
	env.msg_case = VLINK__ENVELOPE__MSG_ATTACH_LINK;
	env.attach_link = &m;
	err = vlink_client_call(c, &env, &rep, 5000);
	if (err) {
		printf("refused: %s\n", vlink_client_error(c));
		vlink_client_close(c);
		return 3;
	}
	lm = rep.env->link_map;
	if (rep.env->msg_case != VLINK__ENVELOPE__MSG_LINK_MAP ||
	    vlink_msg_check_map(lm->pool_size, lm->n_segments, lm->segments, lm->region,
				rep.nfds, why, sizeof(why)))
		return fail("bad LinkMap: %s", why);
	for (size_t i = 0; i < lm->n_segments; i++)
		if (off >= lm->segments[i]->pool_offset &&
		    off + len <= lm->segments[i]->pool_offset + lm->segments[i]->size)
			seg = lm->segments[i];
	if (!seg) {
		vlink_reply_clear(&rep);
		vlink_client_close(c);
		return fail("pool offset %s: the bytes are not inside one segment", argv[1]);
	}
	p = mmap(NULL, seg->size, PROT_READ | PROT_WRITE, MAP_SHARED, rep.fds[seg->fd_index], 0);
	if (p == MAP_FAILED)
		return fail("mmap: %s", strerror(errno));
	p += off - seg->pool_offset;
	for (uint64_t i = 0; i < len; i++) {
		if (write) {
			int hi = hexdigit(argv[2][2 * i]), lo = hexdigit(argv[2][2 * i + 1]);

			if (hi < 0 || lo < 0) {
				rc = fail("'%s' is not hex", argv[2]);
				break;
			}
			p[i] = (uint8_t)(hi << 4 | lo);
		} else {
			printf("%02x", p[i]);
		}
	}
	if (write && !rc)
		printf("poked %llu bytes at pool offset %llu (segment %u)", (unsigned long long)len,
		       (unsigned long long)off, seg->index);
	printf("\n");
	munmap(p - (off - seg->pool_offset), seg->size);
	vlink_reply_clear(&rep);
	vlink_client_close(c);
	return rc;
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return s;
}

static void put_hdr(uint8_t *h, uint16_t magic, uint8_t ver, uint8_t nfds, uint32_t len)
{
	h[0] = magic & 0xff;
	h[1] = magic >> 8;
	h[2] = ver;
	h[3] = nfds;
	memcpy(h + 4, &len, 4);
}

static void send_fds(int s, const void *buf, size_t len, int nfds)
{
	char ctl[CMSG_SPACE(sizeof(int) * 32)] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int fds[32];

	for (int i = 0; i < nfds; i++)
		fds[i] = 0;
	msg.msg_control = ctl;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	(void)!sendmsg(s, &msg, MSG_NOSIGNAL);
}

/* One malformed exchange, chosen by `kind`. */
static void garbage_one(unsigned kind, unsigned seed)
{
	uint8_t buf[4096];
	size_t len = 0;
	int s = raw_connect();

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand_r(&seed);
	switch (kind % 10) {
	case 0: /* random bytes */
		len = 1 + rand_r(&seed) % sizeof(buf);
		break;
	case 1: /* bad magic */
		put_hdr(buf, 0x1234, 1, 0, 16);
		len = 24;
		break;
	case 2: /* bad version */
		put_hdr(buf, 0x4c56, 9, 0, 16);
		len = 24;
		break;
	case 3: /* oversized */
		put_hdr(buf, 0x4c56, 1, 0, 1u << 20);
		len = 4096;
		break;
	case 4: /* undecodable protobuf, several times on one connection */
		for (int i = 0; i < 8; i++) {
			put_hdr(buf + 64 * i, 0x4c56, 1, 0, 56);
		}
		len = 512;
		break;
	case 5: /* claims fds it does not carry */
		put_hdr(buf, 0x4c56, 1, 4, 16);
		len = 24;
		break;
	case 6: /* carries fds it does not claim, then a frame */
		put_hdr(buf, 0x4c56, 1, 0, 0);
		put_hdr(buf + 8, 0x4c56, 1, 0, 0);
		send_fds(s, buf, 8, 3);
		len = 0;
		(void)!write(s, buf + 8, 8);
		break;
	case 7: /* too many fds */
		put_hdr(buf, 0x4c56, 1, 16, 0);
		send_fds(s, buf, 8, 20);
		break;
	case 8: /* truncated frame, then close */
		put_hdr(buf, 0x4c56, 1, 0, 100);
		len = 8 + rand_r(&seed) % 100;
		break;
	case 9: { /* a valid frame with a message the daemon must refuse */
		Vlink__Envelope env = VLINK__ENVELOPE__INIT;
		Vlink__Ok ok = VLINK__OK__INIT;
		size_t n;

		env.msg_case = VLINK__ENVELOPE__MSG_OK;
		env.ok = &ok;
		n = vlink__envelope__get_packed_size(&env);
		put_hdr(buf, 0x4c56, 1, 0, (uint32_t)n);
		vlink__envelope__pack(&env, buf + 8);
		len = 8 + n;
		break;
	}
	}
	if (len)
		(void)!write(s, buf, len);
	usleep(1000);
	close(s);
}

static int cmd_garbage(int argc, char **argv)
{
	struct vlink_client *c;
	unsigned count, seed;
	int err;

	if (argc < 2)
		return fail("usage: garbage COUNT SEED%s", "");
	count = (unsigned)atoi(argv[0]);
	seed = (unsigned)atoi(argv[1]);
	for (unsigned i = 0; i < count; i++)
		garbage_one(i, seed + i);
	err = vlink_client_open(&c, sock_path, VLINK__ROLE__ROLE_ADMIN, "testclient", 5000,
				NULL, 0);
	if (err)
		return fail("daemon gone after garbage: %s", vlink_strerror(err));
	vlink_client_close(c);
	printf("sent %u malformed inputs; daemon still answers\n", count);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: vlink-testclient SOCKET attach|domain|garbage|poke|peek|notify|woken|ring ...\n");
		return 2;
	}
	sock_path = argv[1];
	signal(SIGPIPE, SIG_IGN); /* the daemon hangs up on bad input */
	if (!strcmp(argv[2], "attach"))
		return cmd_attach(argc - 3, argv + 3);
	if (!strcmp(argv[2], "domain"))
		return cmd_domain(argc - 3, argv + 3);
	if (!strcmp(argv[2], "garbage"))
		return cmd_garbage(argc - 3, argv + 3);
	if (!strcmp(argv[2], "poke"))
		return cmd_poke(argc - 3, argv + 3, true);
	if (!strcmp(argv[2], "notify"))
		return cmd_notify(argc - 3, argv + 3);
	if (!strcmp(argv[2], "woken"))
		return cmd_woken(argc - 3, argv + 3);
	if (!strcmp(argv[2], "ring"))
		return cmd_ring(argc - 3, argv + 3);
	if (!strcmp(argv[2], "peek"))
		return cmd_poke(argc - 3, argv + 3, false);
	return fail("unknown command %s", argv[2]);
}
