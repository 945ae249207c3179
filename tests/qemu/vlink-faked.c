/* A hostile stand-in for vlinkd, for the pci-vlink tests.
 *
 *   vlink-faked SOCKET SCENARIO...
 *
 * Listens on SOCKET and serves QEMU's pci-vlink: on every connection it
 * reads Hello and AttachDomain, answers HelloReply and a good DomainMap
 * (two 2 MiB memfd segments at pool offsets 0 and 4 MiB of an 8 MiB pool,
 * marked "faked seg0 v1" / "faked seg1 vN" at offset 0x1000 of each, and
 * a 64 KiB channel region whose link table has one link, "fl", of 2 data
 * channels in slot 3), then plays the scenarios in order.  A scenario
 * that QEMU must answer by dropping the connection ends the connection;
 * the next one (QEMU reconnects) goes on with the rest.  After the last
 * scenario it prints "done" and holds the connection until QEMU closes it
 * or the program is killed.
 *
 * Scenarios QEMU must refuse and survive, keeping the connection:
 *   overlap oversize region-too-big not-a-file short-file readonly domain
 *   fd-index extra-fd fds-on-event undecodable
 * Scenarios after which QEMU must drop the connection:
 *   garbage wrong-nfds fds-middle big-frame bad-version
 * And good ones:
 *   good (the same map again: QEMU keeps everything)
 *   remap (segment 1 becomes a new file marked "faked seg1 v2")
 * And "pause": wait for SIGUSR1 before going on.
 * Notifiers (each sends the good map again, then answers the GetNotifiers
 * QEMU sends after it):
 *   notifiers-eproto   Error EPROTO, as a vlinkd without notifiers
 *   notifiers-good     both channels' eventfds in one part; then checks
 *                      that QEMU wrote every wake_host once after its swap
 *   notifiers-parts    the same in two parts (Envelope.more)
 *   notifiers-pipe     a pipe instead of an eventfd       (QEMU refuses)
 *   notifiers-missing  channel 1 only                     (QEMU refuses)
 *   notifiers-link     a link QEMU's map does not have    (QEMU refuses)
 *   notifiers-stray    a Notifiers no request asked for   (QEMU ignores)
 *
 * Exit status 0 when every scenario was played, 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vlink_msg.h"
#include "vlink_shm.h"

#define MIB        (1024 * 1024ull)
#define SEG_SIZE   (2 * MIB)
#define POOL_SIZE  (8 * MIB)
#define REG_SIZE   (64 * 1024ull)
#define MARK_OFF   0x1000
#define LINK_NAME  "fl"
#define LINK_SLOT  3
#define LINK_NCH   2
#define LINK_HDR   8192

static int seg_fd[2], reg_fd;
static unsigned seg1_version = 1;
static char domain[64];
static unsigned conn_no;
static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	go = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "vlink-faked: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int make_file(const char *name, uint64_t size, const char *mark)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	char *p;

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die("memfd");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	if (mark)
		strcpy(p + MARK_OFF, mark);
	munmap(p, size);
	return fd;
}

static void make_region(void)
{
	struct vlink_region_hdr *h;
	struct vlink_link_hdr *lh;

	reg_fd = make_file("vlink-faked-region", REG_SIZE, NULL);
	h = mmap(NULL, REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, reg_fd, 0);
	if (h == MAP_FAILED)
		die("mmap");
	h->magic = VLINK_SHM_MAGIC;
	h->version = VLINK_SHM_VERSION;
	h->max_links = VLINK_MAX_LINKS;
	h->region_size = REG_SIZE;
	h->pool_size = POOL_SIZE;
	strcpy(h->domain, "faked");
	h->nlinks = 1;
	strcpy(h->links[LINK_SLOT].name, LINK_NAME);
	h->links[LINK_SLOT].nchannels = LINK_NCH;
	h->links[LINK_SLOT].ring_size = 16;
	h->links[LINK_SLOT].flags = VLINK_LINK_F_USED;
	h->links[LINK_SLOT].hdr_offset = LINK_HDR;
	h->links[LINK_SLOT].ring_stride = vlink_ring_stride(16);
	/* its header and ring headers, as vlinkd lays them out */
	lh = (struct vlink_link_hdr *)((uint8_t *)h + LINK_HDR);
	lh->magic = VLINK_LINK_MAGIC;
	lh->version = VLINK_SHM_VERSION;
	lh->nchannels = LINK_NCH;
	lh->ring_size = 16;
	lh->ring_stride = vlink_ring_stride(16);
	for (uint32_t ch = 1; ch <= LINK_NCH; ch++)
		for (int ring = 0; ring < VLINK_RINGS_PER_CHAN; ring++)
			((struct vlink_ring_hdr *)((uint8_t *)lh +
				vlink_ring_offset(16, ch, (enum vlink_ring_id)ring)))->size = 16;
	munmap(h, REG_SIZE);
}

static void put_hdr(uint8_t *h, uint16_t magic, uint8_t ver, uint8_t nfds, uint32_t len)
{
	h[0] = magic & 0xff;
	h[1] = magic >> 8;
	h[2] = ver;
	h[3] = nfds;
	h[4] = len & 0xff;
	h[5] = (len >> 8) & 0xff;
	h[6] = (len >> 16) & 0xff;
	h[7] = len >> 24;
}

/* One sendmsg() of buf with fds riding on it. */
static void send_raw(int s, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	char ctl[CMSG_SPACE(sizeof(int) * 16)];
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(ctl, 0, sizeof(ctl));
	if (nfds) {
		struct cmsghdr *c;

		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(s, &msg, MSG_NOSIGNAL) != (ssize_t)len)
		die("sendmsg");
}

static void send_env(int s, Vlink__Envelope *env, const int *fds, unsigned nfds)
{
	size_t len = vlink__envelope__get_packed_size(env);
	uint8_t *buf = malloc(8 + len);

	if (!buf)
		die("malloc");
	put_hdr(buf, VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, (uint8_t)nfds, (uint32_t)len);
	vlink__envelope__pack(env, buf + 8);
	send_raw(s, buf, 8 + len, fds, nfds);
	free(buf);
}

/* A DomainMap, good unless `kind` spoils it. */
static void send_map(int s, uint32_t id, const char *kind)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__DomainMap dm = VLINK__DOMAIN_MAP__INIT;
	Vlink__Segment sg[2], *sp[2] = { &sg[0], &sg[1] };
	Vlink__ChannelRegion reg = VLINK__CHANNEL_REGION__INIT;
	Vlink__LinkLayout ll = VLINK__LINK_LAYOUT__INIT, *llp = &ll;
	int fds[4] = { seg_fd[0], seg_fd[1], reg_fd, -1 };
	unsigned nfds = 3;
	int extra = -1, pipefd[2] = { -1, -1 };

	for (int i = 0; i < 2; i++) {
		vlink__segment__init(&sg[i]);
		sg[i].index = (uint32_t)i;
		sg[i].pool_offset = i * 4 * MIB;
		sg[i].size = SEG_SIZE;
		sg[i].page_size = 4096;
		sg[i].fd_index = (uint32_t)i;
	}
	reg.size = REG_SIZE;
	reg.fd_index = 2;
	dm.domain = domain;
	dm.pool_size = POOL_SIZE;
	dm.n_segments = 2;
	dm.segments = sp;
	dm.region = &reg;
	dm.generation = 1;
	ll.name = (char *)LINK_NAME;
	ll.nchannels = LINK_NCH;
	ll.ring_size = 16;
	ll.domain = domain;
	ll.header_offset = LINK_HDR;
	dm.n_links = 1;
	dm.links = &llp;

	if (!strcmp(kind, "overlap")) {
		sg[1].pool_offset = 1 * MIB;
	} else if (!strcmp(kind, "oversize")) {
		dm.pool_size = 2048 * MIB;
	} else if (!strcmp(kind, "region-too-big")) {
		extra = make_file("vlink-faked-bigregion", 32 * MIB, NULL);
		fds[2] = extra;
		reg.size = 32 * MIB;
	} else if (!strcmp(kind, "not-a-file")) {
		if (pipe(pipefd) < 0)
			die("pipe");
		fds[1] = pipefd[0];
	} else if (!strcmp(kind, "short-file")) {
		sg[1].size = 4 * MIB;
	} else if (!strcmp(kind, "readonly")) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", seg_fd[1]);
		extra = open(path, O_RDONLY | O_CLOEXEC);
		if (extra < 0)
			die("open read-only");
		fds[1] = extra;
	} else if (!strcmp(kind, "domain")) {
		dm.domain = (char *)"someone-else";
	} else if (!strcmp(kind, "fd-index")) {
		sg[1].fd_index = 5;
	} else if (!strcmp(kind, "extra-fd")) {
		extra = make_file("vlink-faked-extra", 4096, NULL);
		fds[3] = extra;
		nfds = 4;
	}
	env.id = id;
	env.msg_case = VLINK__ENVELOPE__MSG_DOMAIN_MAP;
	env.domain_map = &dm;
	send_env(s, &env, fds, nfds);
	if (extra >= 0)
		close(extra);
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
}

/* Wait for a frame from QEMU: 1 and *env, 0 at end of stream. */
static int recv_env(struct vlink_reader *r, Vlink__Envelope **env, int timeout_ms)
{
	struct vlink_frame f;
	int err;

	for (;;) {
		struct pollfd p = { .fd = r->sock, .events = POLLIN };
		ssize_t n;

		err = vlink_reader_next(r, &f);
		if (err < 0) {
			fprintf(stderr, "vlink-faked: bad frame from QEMU: %s\n", r->why);
			exit(1);
		}
		if (err == 1)
			break;
		if (poll(&p, 1, timeout_ms) <= 0) {
			fprintf(stderr, "vlink-faked: QEMU sent nothing for %d ms\n", timeout_ms);
			exit(1);
		}
		n = vlink_reader_fill(r);
		if (n == 0 || n == -ECONNRESET)
			return 0;
		if (n < 0 && n != -EAGAIN) {
			errno = (int)-n;
			die("recvmsg");
		}
	}
	if (f.nfds) {
		fprintf(stderr, "vlink-faked: QEMU sent %u fds\n", f.nfds);
		exit(1);
	}
	if (vlink_msg_decode(&f, env)) {
		fprintf(stderr, "vlink-faked: undecodable message from QEMU\n");
		exit(1);
	}
	return 1;
}

/* Read and drop what QEMU has sent (GetNotifiers after earlier maps)
 * until it has been quiet for quiet_ms. */
static void drain_frames(struct vlink_reader *r, int quiet_ms)
{
	struct vlink_frame f;

	for (;;) {
		struct pollfd p = { .fd = r->sock, .events = POLLIN };
		Vlink__Envelope *env;
		ssize_t n;

		while (vlink_reader_next(r, &f) == 1)
			if (!vlink_msg_decode(&f, &env))
				vlink_msg_free(env);
		if (poll(&p, 1, quiet_ms) <= 0)
			return;
		n = vlink_reader_fill(r);
		if (n == 0 || (n < 0 && n != -EAGAIN))
			return;
	}
}

/* The next GetNotifiers from QEMU: its id (exits when none comes). */
static uint32_t await_get_notifiers(struct vlink_reader *r)
{
	Vlink__Envelope *env;
	uint32_t id;

	for (;;) {
		if (!recv_env(r, &env, 5000)) {
			fprintf(stderr, "vlink-faked: QEMU closed the connection, no GetNotifiers\n");
			exit(1);
		}
		if (env->msg_case == VLINK__ENVELOPE__MSG_GET_NOTIFIERS)
			break;
		vlink_msg_free(env);
	}
	if (env->get_notifiers->link[0]) {
		fprintf(stderr, "vlink-faked: GetNotifiers for link '%s', not all\n",
			env->get_notifiers->link);
		exit(1);
	}
	id = env->id;
	vlink_msg_free(env);
	return id;
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		die("eventfd");
	return fd;
}

/* One Notifiers part: channels first..first+n-1 of `link`, their fds
 * (wake_host, wake_peer of each) from fds[]. */
static void send_notifiers(int s, uint32_t id, const char *link, unsigned first, unsigned n,
			   const int *fds, bool more)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Notifiers nm = VLINK__NOTIFIERS__INIT;
	Vlink__ChannelNotifier cn[LINK_NCH], *cnp[LINK_NCH];

	for (unsigned k = 0; k < n; k++) {
		vlink__channel_notifier__init(&cn[k]);
		cn[k].link = (char *)link;
		cn[k].channel = first + k;
		cn[k].wake_host = 2 * k;
		cn[k].wake_peer = 2 * k + 1;
		cnp[k] = &cn[k];
	}
	nm.n_channels = n;
	nm.channels = cnp;
	env.id = id;
	env.more = more;
	env.msg_case = VLINK__ENVELOPE__MSG_NOTIFIERS;
	env.notifiers = &nm;
	send_env(s, &env, fds, 2 * n);
}

/* A notifiers scenario: the good map again, then an answer to QEMU's
 * GetNotifiers that `kind` says. */
static void play_notifiers(int s, struct vlink_reader *r, const char *kind)
{
	int fds[2 * LINK_NCH], pipefd[2] = { -1, -1 };
	uint32_t id;

	for (unsigned i = 0; i < 2 * LINK_NCH; i++)
		fds[i] = new_eventfd();
	drain_frames(r, 300);
	send_map(s, 0, "good");
	id = await_get_notifiers(r);
	if (!strcmp(kind, "notifiers-eproto")) {
		Vlink__Envelope env = VLINK__ENVELOPE__INIT;
		Vlink__Error e = VLINK__ERROR__INIT;

		e.code = EPROTO;
		e.message = (char *)"GetNotifiers is not a request the daemon answers";
		env.id = id;
		env.msg_case = VLINK__ENVELOPE__MSG_ERROR;
		env.error = &e;
		send_env(s, &env, NULL, 0);
	} else if (!strcmp(kind, "notifiers-good")) {
		send_notifiers(s, id, LINK_NAME, 1, LINK_NCH, fds, false);
		/* QEMU writes every new wake_host once after the swap */
		for (unsigned ch = 1; ch <= LINK_NCH; ch++) {
			struct pollfd p = { .fd = fds[2 * (ch - 1)], .events = POLLIN };
			uint64_t v;

			if (poll(&p, 1, 5000) == 1 && read(p.fd, &v, sizeof(v)) == sizeof(v))
				printf("connection %u: wake_host of channel %u signalled (%llu)\n",
				       conn_no, ch, (unsigned long long)v);
			else
				printf("connection %u: wake_host of channel %u not signalled\n",
				       conn_no, ch);
		}
	} else if (!strcmp(kind, "notifiers-parts")) {
		send_notifiers(s, id, LINK_NAME, 1, 1, fds, true);
		send_notifiers(s, id, LINK_NAME, 2, 1, fds + 2, false);
	} else if (!strcmp(kind, "notifiers-pipe")) {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			die("pipe");
		close(fds[3]);
		fds[3] = pipefd[0];
		send_notifiers(s, id, LINK_NAME, 1, LINK_NCH, fds, false);
		close(pipefd[1]);
	} else if (!strcmp(kind, "notifiers-missing")) {
		send_notifiers(s, id, LINK_NAME, 1, 1, fds, false);
	} else if (!strcmp(kind, "notifiers-link")) {
		send_notifiers(s, id, "zz", 1, 1, fds, false);
	} else if (!strcmp(kind, "notifiers-stray")) {
		send_notifiers(s, 9999, LINK_NAME, 1, LINK_NCH, fds, false);
	}
	for (unsigned i = 0; i < 2 * LINK_NCH; i++)
		close(fds[i]);
}

static int handshake(int s, struct vlink_reader *r)
{
	Vlink__Envelope *hello, *att;
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__HelloReply hr = VLINK__HELLO_REPLY__INIT;
	uint32_t id;

	if (!recv_env(r, &hello, 10000) || hello->msg_case != VLINK__ENVELOPE__MSG_HELLO) {
		fprintf(stderr, "vlink-faked: expected Hello\n");
		exit(1);
	}
	if (!recv_env(r, &att, 10000) || att->msg_case != VLINK__ENVELOPE__MSG_ATTACH_DOMAIN) {
		fprintf(stderr, "vlink-faked: expected AttachDomain\n");
		exit(1);
	}
	snprintf(domain, sizeof(domain), "%s", att->attach_domain->domain);
	printf("connection %u: Hello role %d version %u client '%s', AttachDomain '%s'\n",
	       conn_no, hello->hello->role, hello->hello->version, hello->hello->client, domain);
	hr.daemon_version = (char *)"faked";
	hr.daemon_id = (char *)"0000000000000000";
	hr.version = VLINK_PROTOCOL_VERSION;
	env.id = hello->id;
	env.msg_case = VLINK__ENVELOPE__MSG_HELLO_REPLY;
	env.hello_reply = &hr;
	send_env(s, &env, NULL, 0);
	id = att->id;
	vlink_msg_free(hello);
	vlink_msg_free(att);
	return (int)id;
}

/* Returns true when QEMU is expected to drop the connection. */
static bool play(int s, struct vlink_reader *r, const char *kind)
{
	uint8_t buf[4096];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	if (!strcmp(kind, "pause")) {
		printf("connection %u: paused (SIGUSR1 goes on)\n", conn_no);
		while (!go)
			usleep(10000);
	} else if (!strncmp(kind, "notifiers-", 10)) {
		play_notifiers(s, r, kind);
	} else if (!strcmp(kind, "good")) {
		send_map(s, 0, "good");
	} else if (!strcmp(kind, "remap")) {
		char mark[32];

		snprintf(mark, sizeof(mark), "faked seg1 v%u", ++seg1_version);
		close(seg_fd[1]);
		seg_fd[1] = make_file("vlink-faked-seg1", SEG_SIZE, mark);
		send_map(s, 0, "good");
	} else if (!strcmp(kind, "fds-on-event")) {
		Vlink__Envelope env = VLINK__ENVELOPE__INIT;
		Vlink__Event ev = VLINK__EVENT__INIT;

		ev.kind = VLINK__EVENT__KIND__LINK_CREATED;
		ev.link = (char *)"x";
		ev.domain = domain;
		env.msg_case = VLINK__ENVELOPE__MSG_EVENT;
		env.event = &ev;
		send_env(s, &env, &seg_fd[0], 1);
	} else if (!strcmp(kind, "undecodable")) {
		put_hdr(buf, VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 0, 40);
		memset(buf + 8, 0xff, 40);
		send_raw(s, buf, 48, NULL, 0);
	} else if (!strcmp(kind, "garbage")) {
		send_raw(s, buf, sizeof(buf), NULL, 0);
		return true;
	} else if (!strcmp(kind, "wrong-nfds")) {
		int fds[2] = { seg_fd[0], seg_fd[1] };

		put_hdr(buf, VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 3, 16);
		send_raw(s, buf, 24, fds, 2);
		return true;
	} else if (!strcmp(kind, "fds-middle")) {
		put_hdr(buf, VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 0, 16);
		send_raw(s, buf, 8, NULL, 0);
		usleep(100000);
		send_raw(s, buf + 8, 16, &seg_fd[0], 1);
		return true;
	} else if (!strcmp(kind, "big-frame")) {
		put_hdr(buf, VLINK_FRAME_MAGIC, VLINK_FRAME_VERSION, 0, 1 << 20);
		send_raw(s, buf, 64, NULL, 0);
		return true;
	} else if (!strcmp(kind, "bad-version")) {
		put_hdr(buf, VLINK_FRAME_MAGIC, 9, 0, 16);
		send_raw(s, buf, 24, NULL, 0);
		return true;
	} else {
		send_map(s, 0, kind);
	}
	return false;
}

/* After a drop scenario: QEMU must close the connection (false: it did
 * not within timeout_ms; -1 waits forever).  What QEMU sends (a
 * GetNotifiers after each good map) is read and dropped. */
static bool wait_eof(int s, int timeout_ms)
{
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = read(s, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return true;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls, i = 2;

	if (argc < 2) {
		fprintf(stderr, "usage: vlink-faked SOCKET SCENARIO...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	seg_fd[0] = make_file("vlink-faked-seg0", SEG_SIZE, "faked seg0 v1");
	seg_fd[1] = make_file("vlink-faked-seg1", SEG_SIZE, "faked seg1 v1");
	make_region();

	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0)
		die("listen");
	printf("listening on %s\n", argv[1]);

	for (;;) {
		struct vlink_reader *r = malloc(sizeof(*r));
		int s, id;
		bool dropped = false;

		if (!r)
			die("malloc");
		s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0)
			die("accept");
		conn_no++;
		vlink_reader_init(r, s);
		id = handshake(s, r);
		send_map(s, (uint32_t)id, "good");
		printf("connection %u: sent good map\n", conn_no);
		for (; i < argc && !dropped; i++) {
			dropped = play(s, r, argv[i]);
			printf("connection %u: sent %s\n", conn_no, argv[i]);
			usleep(20000);
			if (dropped) {
				if (!wait_eof(s, 10000)) {
					printf("connection %u: QEMU did not drop the connection after %s\n",
					       conn_no, argv[i]);
					return 1;
				}
				printf("connection %u: QEMU dropped the connection after %s\n",
				       conn_no, argv[i]);
			}
		}
		if (!dropped) {
			printf("done\n");
			wait_eof(s, -1);
			vlink_reader_destroy(r);
			free(r);
			close(s);
			break;
		}
		vlink_reader_destroy(r);
		free(r);
		close(s);
	}
	close(ls);
	unlink(argv[1]);
	return 0;
}
