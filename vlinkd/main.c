/* vlinkd: the vlink daemon.  See vlinkd(8). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "vlink_valid.h"

#define RUN_DIR   "/run/vlink"
#define STATE_DIR "/var/lib/vlink"

static const char usage[] =
	"Usage: vlinkd [OPTION]...\n"
	"The vlink daemon: owns hugepage pools and link descriptions and passes them\n"
	"as file descriptors to QEMU (pci-vlink), DPDK (net_vlink) and peers.\n"
	"\n"
	"  -s, --socket PATH        control socket (default " RUN_DIR "/vlinkd.sock)\n"
	"  -r, --run-dir DIR        runtime dir: socket, pid file, hugetlbfs mount\n"
	"                           (default " RUN_DIR ")\n"
	"  -d, --state-dir DIR      link descriptions (default " STATE_DIR ")\n"
	"  -c, --config FILE        links to create at start-up, one per line:\n"
	"                           NAME MAC NCHANNELS [DOMAIN]; re-read on SIGHUP\n"
	"  -p, --pid-file FILE      (default RUN_DIR/vlinkd.pid)\n"
	"      --pool-size SIZE     pool size of new domains (default 64M, max 1G)\n"
	"      --domain-pool-size DOMAIN=SIZE\n"
	"                           pool size of one domain (repeatable)\n"
	"      --segment-size SIZE  pool segment size (default 128M)\n"
	"      --page-size SIZE     hugepage size: 2M or 1G (default: 2M, or 1G where\n"
	"                           the pool is whole gigabytes and 1G pages are free)\n"
	"      --no-hugepages       put pools in --shm-dir files (no hugepages)\n"
	"      --shm-dir DIR        channel region files, and pool files when there\n"
	"                           are no hugepages (default /dev/shm)\n"
	"  -u, --allow-uid UID      also accept clients of this uid (repeatable)\n"
	"  -g, --allow-gid GID      also accept clients whose primary gid is GID\n"
	"                           (repeatable)\n"
	"  -G, --group GROUP        group of the socket file (mode 0660), so that\n"
	"                           allowed users can open it\n"
	"  -f, --foreground         do not detach; log to stderr\n"
	"      --syslog             log to syslog as well\n"
	"  -v, --verbose            log debug messages\n"
	"  -h, --help               this text\n"
	"  -V, --version            print the version\n"
	"\n"
	"Signals: SIGTERM/SIGINT save state and exit; SIGHUP re-reads the config file.\n";

enum { OPT_POOL = 256, OPT_DOMPOOL, OPT_SEG, OPT_PAGE, OPT_NOHUGE, OPT_SHM, OPT_SYSLOG };

static const struct option longopts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "run-dir", required_argument, NULL, 'r' },
	{ "state-dir", required_argument, NULL, 'd' },
	{ "config", required_argument, NULL, 'c' },
	{ "pid-file", required_argument, NULL, 'p' },
	{ "pool-size", required_argument, NULL, OPT_POOL },
	{ "domain-pool-size", required_argument, NULL, OPT_DOMPOOL },
	{ "segment-size", required_argument, NULL, OPT_SEG },
	{ "page-size", required_argument, NULL, OPT_PAGE },
	{ "no-hugepages", no_argument, NULL, OPT_NOHUGE },
	{ "shm-dir", required_argument, NULL, OPT_SHM },
	{ "allow-uid", required_argument, NULL, 'u' },
	{ "allow-gid", required_argument, NULL, 'g' },
	{ "group", required_argument, NULL, 'G' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static struct server srv;
static uv_signal_t sig_term, sig_int, sig_hup;

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "vlinkd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vlinkd --help'.\n");
	exit(2);
}

static uint64_t size_arg(const char *opt, const char *s)
{
	uint64_t v;

	if (vlink_parse_size(s, &v) || v == 0)
		die_usage("bad size for %s (examples: 64M, 1G)", opt);
	return v;
}

static uid_t uid_arg(const char *s)
{
	struct passwd *pw = getpwnam(s);
	uint64_t v;

	if (pw)
		return pw->pw_uid;
	if (vlink_parse_uint(s, UINT32_MAX - 1, &v))
		die_usage("unknown user '%s'", s);
	return (uid_t)v;
}

static gid_t gid_arg(const char *s)
{
	struct group *gr = getgrnam(s);
	uint64_t v;

	if (gr)
		return gr->gr_gid;
	if (vlink_parse_uint(s, UINT32_MAX - 1, &v))
		die_usage("unknown group '%s'", s);
	return (gid_t)v;
}

static void add_domain_pool(struct registry *r, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[VLINK_NAME_MAX + 1];
	struct reg_pool_size *ps;

	if (!eq || (size_t)(eq - arg) > VLINK_NAME_MAX)
		die_usage("--domain-pool-size wants DOMAIN=SIZE, not '%s'", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if (vlink_check_name("domain", name, NULL, 0))
		die_usage("bad domain name in '%s'", arg);
	ps = realloc(r->pool_sizes, (r->npool_sizes + 1) * sizeof(*ps));
	if (!ps)
		exit(1);
	r->pool_sizes = ps;
	strcpy(ps[r->npool_sizes].domain, name);
	ps[r->npool_sizes].size = size_arg("--domain-pool-size", eq + 1);
	if (ps[r->npool_sizes].size > MEM_POOL_MAX)
		die_usage("pool size in '%s' is above 1G (the BAR limit)", arg);
	r->npool_sizes++;
}

static int mkdirs(const char *path, mode_t mode)
{
	char tmp[4096];

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Lock and write the pid file; the lock says "a daemon owns this". */
static int pidfile_open(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "vlinkd: cannot open pid file %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t k = read(fd, buf, sizeof(buf) - 1);

		buf[k > 0 ? k : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fprintf(stderr, "vlinkd: already running (pid %s, pid file %s)\n",
			*buf ? buf : "?", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void pidfile_write(int fd)
{
	char buf[32];
	int k = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)k, 0) != k)
		log_warn("cannot write the pid file: %s", strerror(errno));
}

static void on_signal(uv_signal_t *h, int signum)
{
	if (signum == SIGHUP) {
		char why[512];

		log_info("SIGHUP: re-reading %s", srv.config_path ? srv.config_path : "(no config)");
		if (server_apply_config(&srv, false, why, sizeof(why)))
			log_err("config not applied: %s", why);
		return;
	}
	log_info("%s: saving state and exiting", strsignal(signum));
	server_stop(&srv);
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
}

/* Fork; the parent waits until the child is serving (or failed) so that
 * "vlinkd && vlinkctl ..." works and start-up errors reach the terminal. */
static int daemonize(int *notify_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		exit(read(p[0], &c, 1) == 1 && c == 0 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	*notify_fd = p[1];
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

/* Every domain keeps its pool segments and channel region open, every
 * client its socket: 400 domains and their QEMUs pass the usual soft limit
 * of 1024 fds.  Take what the hard limit allows (systemd's advice for
 * programs that need many fds), as vlinkd uses neither select() nor
 * FD_SETSIZE. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise the open file limit to %llu: %s",
			 (unsigned long long)rl.rlim_max, strerror(errno));
	else
		log_debug("open file limit raised to %llu", (unsigned long long)rl.rlim_max);
}

int main(int argc, char **argv)
{
	const char *run_dir = RUN_DIR, *pid_path = NULL;
	char sock_buf[4096], pid_buf[4096], why[512];
	bool foreground = false, use_syslog = false;
	int level = LOG_INFO, opt, pid_fd, notify_fd = -1, err;
	uv_loop_t loop;

	reg_init(&srv.reg);
	srv.state_dir = STATE_DIR;
	srv.socket_gid = (gid_t)-1;
	srv.reg.mem.shm_dir = "/dev/shm";
	srv.reg.mem.segment_size = MEM_SEGMENT_DEFAULT;
	while ((opt = getopt_long(argc, argv, "s:r:d:c:p:u:g:G:fvhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': srv.socket_path = optarg; break;
		case 'r': run_dir = optarg; break;
		case 'd': srv.state_dir = optarg; break;
		case 'c': srv.config_path = optarg; break;
		case 'p': pid_path = optarg; break;
		case OPT_POOL:
			srv.reg.pool_size = size_arg("--pool-size", optarg);
			if (srv.reg.pool_size > MEM_POOL_MAX)
				die_usage("--pool-size %s is above 1G (the BAR limit)", optarg);
			break;
		case OPT_DOMPOOL: add_domain_pool(&srv.reg, optarg); break;
		case OPT_SEG: srv.reg.mem.segment_size = size_arg("--segment-size", optarg); break;
		case OPT_PAGE:
			srv.reg.mem.page_size = size_arg("--page-size", optarg);
			if (srv.reg.mem.page_size != 2ull << 20 && srv.reg.mem.page_size != 1ull << 30)
				die_usage("--page-size must be 2M or 1G, not %s", optarg);
			break;
		case OPT_NOHUGE: srv.reg.mem.no_hugepages = true; break;
		case OPT_SHM: srv.reg.mem.shm_dir = optarg; break;
		case 'u':
			if (srv.nallow_uid == SERVER_MAX_ALLOW)
				die_usage("too many --allow-uid (max 32)%s", "");
			srv.allow_uid[srv.nallow_uid++] = uid_arg(optarg);
			break;
		case 'g':
			if (srv.nallow_gid == SERVER_MAX_ALLOW)
				die_usage("too many --allow-gid (max 32)%s", "");
			srv.allow_gid[srv.nallow_gid++] = gid_arg(optarg);
			break;
		case 'G': srv.socket_gid = gid_arg(optarg); break;
		case 'f': foreground = true; break;
		case OPT_SYSLOG: use_syslog = true; break;
		case 'v': level = LOG_DEBUG; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': puts("vlinkd " PACKAGE_VERSION); return 0;
		default: fprintf(stderr, "Try 'vlinkd --help'.\n"); return 2;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);

	if (!srv.socket_path) {
		snprintf(sock_buf, sizeof(sock_buf), "%s/vlinkd.sock", run_dir);
		srv.socket_path = sock_buf;
	}
	if (!pid_path) {
		snprintf(pid_buf, sizeof(pid_buf), "%s/vlinkd.pid", run_dir);
		pid_path = pid_buf;
	}
	srv.reg.mem.run_dir = run_dir;
	{
		const char *dirs[] = { run_dir, srv.state_dir, srv.reg.mem.shm_dir };

		for (int i = 0; i < 3; i++) {
			err = mkdirs(dirs[i], i == 1 ? 0700 : 0755);
			if (err) {
				fprintf(stderr, "vlinkd: cannot create %s: %s\n", dirs[i],
					strerror(-err));
				return 1;
			}
		}
	}
	signal(SIGPIPE, SIG_IGN);
	pid_fd = pidfile_open(pid_path);
	if (pid_fd < 0)
		return 1;
	if (!foreground) {
		err = daemonize(&notify_fd);
		if (err) {
			fprintf(stderr, "vlinkd: fork: %s\n", strerror(-err));
			return 1;
		}
		/* flock is shared with the parent's fd; take it again in the child */
		flock(pid_fd, LOCK_EX | LOCK_NB);
	}
	log_setup(use_syslog || !foreground, true, level);
	raise_fd_limit();

	uv_loop_init(&loop);
	srv.loop = &loop;
	err = server_start(&srv, why, sizeof(why));
	if (err) {
		log_err("%s", why);
		unlink(pid_path);
		return 1;
	}
	pidfile_write(pid_fd);
	uv_signal_init(&loop, &sig_term);
	uv_signal_init(&loop, &sig_int);
	uv_signal_init(&loop, &sig_hup);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	log_info("vlinkd %s listening on %s (pid %d)", PACKAGE_VERSION, srv.socket_path,
		 (int)getpid());
	if (notify_fd >= 0) {
		char ok = 0;

		if (write(notify_fd, &ok, 1) != 1)
			log_warn("cannot notify the parent: %s", strerror(errno));
		close(notify_fd);
		log_setup(true, false, level);
		detach_stdio();
	}

	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	reg_fini(&srv.reg);
	unlink(pid_path);
	close(pid_fd);
	log_info("stopped");
	return 0;
}
