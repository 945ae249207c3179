/* vlinkctl: administer vlinkd.  See vlinkctl(8). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vlink_client.h"
#include "vlink_error.h"
#include "vlink_valid.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define CALL_TIMEOUT 10000

struct ctx {
	const char *socket;
	bool json;
	int wait_ms;
	struct vlink_client *cl;
};

struct cmd {
	const char *name;
	int (*run)(struct ctx *x, const struct cmd *c, int argc, char **argv);
	const char *args;
	const char *summary;
	const char *help;
};

static int usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vlinkctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vlinkctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

static void print_cmd_help(const struct cmd *c, FILE *f)
{
	fprintf(f, "Usage: vlinkctl %s%s%s\n%s\n\n%s", c->name, *c->args ? " " : "", c->args,
		c->summary, c->help);
	fprintf(f, "\nCommon options: --socket PATH, --json, --wait SECONDS, --help\n");
}

static int connect_daemon(struct ctx *x)
{
	const char *path = x->socket ? x->socket : vlink_default_socket();
	char why[512];
	int err = vlink_client_open(&x->cl, path, VLINK__ROLE__ROLE_ADMIN, "vlinkctl",
				    x->wait_ms, why, sizeof(why));

	if (err) {
		fprintf(stderr, "vlinkctl: %s%s\n", why,
			err == -ENOENT || err == -ECONNREFUSED ? " (is vlinkd running?)" : "");
		return EXIT_REFUSED;
	}
	return 0;
}

/* What a command prints of its reply (all its parts); arg is the
 * command's own. */
typedef void (*print_fn)(const struct ctx *x, const struct vlink_reply *rep, const void *arg);

/* Send `req` (its message set) and give a reply of kind `want` to `print`
 * (NULL: the reply only says done), then free it.  0, or EXIT_REFUSED after
 * saying why: no daemon, an Error reply, a reply of another kind. */
static int request(struct ctx *x, Vlink__Envelope *req, Vlink__Envelope__MsgCase want,
		   print_fn print, const void *arg)
{
	struct vlink_reply rep;
	int err = connect_daemon(x);

	if (err)
		return err;
	err = vlink_client_call(x->cl, req, &rep, CALL_TIMEOUT);
	if (err) {
		fprintf(stderr, "vlinkctl: %s\n", *vlink_client_error(x->cl) ?
			vlink_client_error(x->cl) : vlink_strerror(err));
		return EXIT_REFUSED;
	}
	if (rep.env->msg_case != want) {
		fprintf(stderr, "vlinkctl: unexpected %s from vlinkd\n",
			vlink_msg_name(rep.env->msg_case));
		vlink_reply_clear(&rep);
		return EXIT_REFUSED;
	}
	if (print)
		print(x, &rep, arg);
	vlink_reply_clear(&rep);
	return 0;
}

/* JSON output */

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_kv_str(const char *k, const char *v, bool comma)
{
	printf("\"%s\": ", k);
	json_str(v);
	if (comma)
		printf(", ");
}

static void json_kv_u64(const char *k, uint64_t v, bool comma)
{
	printf("\"%s\": %" PRIu64 "%s", k, v, comma ? ", " : "");
}

static void json_kv_bool(const char *k, bool v, bool comma)
{
	printf("\"%s\": %s%s", k, v ? "true" : "false", comma ? ", " : "");
}

static void json_link(const Vlink__LinkInfo *li)
{
	const Vlink__LinkLayout *l = li->layout;

	printf("{");
	json_kv_str("name", l->name, true);
	json_kv_str("domain", l->domain, true);
	json_kv_str("mac", l->mac, true);
	json_kv_u64("channels", l->nchannels, true);
	json_kv_u64("ring_size", l->ring_size, true);
	json_kv_u64("mtu", l->mtu, true);
	json_kv_u64("buf_size", l->buf_size, true);
	json_kv_u64("buf_offset", l->buf_offset, true);
	json_kv_u64("buf_area", l->buf_area, true);
	json_kv_u64("header_offset", l->header_offset, true);
	json_kv_u64("epoch", l->epoch, true);
	json_kv_bool("host_attached", li->host_attached, true);
	json_kv_bool("peer_attached", li->peer_attached, true);
	json_kv_bool("from_config", li->from_config, false);
	printf("}");
}

static void text_link(const Vlink__LinkInfo *li)
{
	const Vlink__LinkLayout *l = li->layout;

	printf("link: %s\n", l->name);
	printf("  domain: %s\n", l->domain);
	printf("  mac: %s\n", l->mac);
	printf("  data channels: %u (plus control channel 0)\n", l->nchannels);
	printf("  ring size: %u descriptors\n", l->ring_size);
	printf("  mtu: %u (packets of up to %u B)\n", l->mtu, l->mtu + VLINK_L2_OVERHEAD);
	printf("  buffers: %" PRIu64 " x %u B at pool offset 0x%" PRIx64 " (%" PRIu64 " MiB)\n",
	       l->buf_size ? l->buf_area / l->buf_size : 0, l->buf_size, l->buf_offset,
	       l->buf_area >> 20);
	printf("  link header: channel region offset 0x%" PRIx64 "\n", l->header_offset);
	printf("  epoch: %u\n", l->epoch);
	printf("  host end: %s\n", li->host_attached ? "attached" : "not attached");
	printf("  peer end: %s\n", li->peer_attached ? "attached" : "not attached");
	printf("  created by: %s\n", li->from_config ? "config file" : "request");
}

/* Parse the options common to every command plus `extra`; returns the
 * index of the first operand or -1 after printing an error. */
static int parse_opts(struct ctx *x, const struct cmd *c, int argc, char **argv,
		      const struct option *extra, int (*on_extra)(int, const char *, void *),
		      void *arg)
{
	struct option opts[16];
	char shortopts[] = ":hjs:w:";
	int n = 0, o;

	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	opts[n++] = (struct option){ "socket", required_argument, NULL, 's' };
	opts[n++] = (struct option){ "wait", required_argument, NULL, 'w' };
	for (; extra && extra->name; extra++)
		opts[n++] = *extra;
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		uint64_t v;

		switch (o) {
		case 'h':
			print_cmd_help(c, stdout);
			exit(0);
		case 'j':
			x->json = true;
			break;
		case 's':
			x->socket = optarg;
			break;
		case 'w':
			if (vlink_parse_uint(optarg, 3600, &v)) {
				usage_err(c->name, "--wait wants seconds (0-3600), not '%s'", optarg);
				return -1;
			}
			x->wait_ms = (int)v * 1000;
			break;
		case '?':
			usage_err(c->name, "unknown option '%s'", argv[optind - 1]);
			return -1;
		case ':':
			usage_err(c->name, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		default:
			if (!on_extra || on_extra(o, optarg, arg))
				return -1;
		}
	}
	return optind;
}

static int want_operands(const struct cmd *c, int have, int min, int max)
{
	if (have < min)
		return usage_err(c->name, "missing %s", c->args);
	if (have > max)
		return usage_err(c->name, "too many arguments");
	return 0;
}

/* Options, then between min and max operands: the index of the first
 * operand, or -1 after a usage message. */
static int cmd_args(struct ctx *x, const struct cmd *c, int argc, char **argv, int min,
		    int max, const struct option *extra,
		    int (*on_extra)(int, const char *, void *), void *arg)
{
	int i = parse_opts(x, c, argc, argv, extra, on_extra, arg);

	if (i < 0 || want_operands(c, argc - i, min, max))
		return -1;
	return i;
}

/* create-link */

struct create_opts {
	const char *domain;
	uint64_t ring, mtu;
};

static int create_extra(int o, const char *val, void *arg)
{
	struct create_opts *co = arg;
	char why[200];

	if (o == 'd') {
		co->domain = val;
		return 0;
	}
	if (o == 'm') {
		if (vlink_parse_uint(val, UINT32_MAX, &co->mtu) ||
		    vlink_check_mtu(co->mtu, why, sizeof(why))) {
			usage_err("create-link", "bad --mtu '%s': must be a number from %d to %d",
				  val, VLINK_MTU_MIN, VLINK_MTU_MAX);
			return -1;
		}
		return 0;
	}
	if (vlink_parse_uint(val, UINT32_MAX, &co->ring) ||
	    vlink_check_ring_size(co->ring, why, sizeof(why))) {
		usage_err("create-link", "bad --ring-size '%s': must be a power of two "
			  "between %d and %d", val, VLINK_RING_MIN, VLINK_RING_MAX);
		return -1;
	}
	return 0;
}

static void print_created(const struct ctx *x, const struct vlink_reply *rep, const void *arg)
{
	const Vlink__LinkLayout *l = rep->env->link_info->layout;

	(void)arg;
	if (x->json) {
		json_link(rep->env->link_info);
		putchar('\n');
		return;
	}
	printf("created link %s (domain %s, %s, %u data channel%s, ring %u, MTU %u)\n",
	       l->name, l->domain, l->mac, l->nchannels, l->nchannels == 1 ? "" : "s",
	       l->ring_size, l->mtu);
}

static int cmd_create(struct ctx *x, const struct cmd *c, int argc, char **argv)
{
	static const struct option extra[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "mtu", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_opts co = { NULL, 0, 0 };
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__CreateLink m = VLINK__CREATE_LINK__INIT;
	uint64_t nch;
	int i = cmd_args(x, c, argc, argv, 3, 3, extra, create_extra, &co);

	if (i < 0)
		return EXIT_USAGE;
	if (vlink_parse_uint(argv[i + 2], UINT32_MAX, &nch))
		return usage_err(c->name, "NCHANNELS '%s' is not a number", argv[i + 2]);
	m.name = argv[i];
	m.mac = argv[i + 1];
	m.nchannels = (uint32_t)nch;
	m.ring_size = (uint32_t)co.ring;
	m.mtu = (uint32_t)co.mtu;
	m.domain = (char *)(co.domain ? co.domain : "");
	env.msg_case = VLINK__ENVELOPE__MSG_CREATE_LINK;
	env.create_link = &m;
	return request(x, &env, VLINK__ENVELOPE__MSG_LINK_INFO, print_created, NULL);
}

/* delete-link */

static int delete_extra(int o, const char *val, void *arg)
{
	(void)o;
	(void)val;
	*(bool *)arg = true;
	return 0;
}

/* arg: the link's name (the reply is an Ok) */
static void print_deleted(const struct ctx *x, const struct vlink_reply *rep, const void *arg)
{
	(void)rep;
	if (x->json) {
		printf("{");
		json_kv_str("deleted", arg, false);
		printf("}\n");
	}
	else
		printf("deleted link %s\n", (const char *)arg);
}

static int cmd_delete(struct ctx *x, const struct cmd *c, int argc, char **argv)
{
	static const struct option extra[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__DeleteLink m = VLINK__DELETE_LINK__INIT;
	bool force = false;
	int i = cmd_args(x, c, argc, argv, 1, 1, extra, delete_extra, &force);

	if (i < 0)
		return EXIT_USAGE;
	m.name = argv[i];
	m.force = force;
	env.msg_case = VLINK__ENVELOPE__MSG_DELETE_LINK;
	env.delete_link = &m;
	return request(x, &env, VLINK__ENVELOPE__MSG_OK, print_deleted, argv[i]);
}

/* list */

static void print_list(const struct ctx *x, const struct vlink_reply *rep, const void *arg)
{
	size_t n = 0, shown = 0;

	(void)arg;
	/* the reply may come in parts (rep->more), each with some of the links */
	for (const struct vlink_reply *p = rep; p; p = p->more)
		n += p->env->link_list->n_links;
	if (x->json)
		printf("[");
	else if (n == 0)
		printf("no links\n");
	else
		printf("%-32s %-16s %-17s %8s %6s %-4s %-4s\n", "NAME", "DOMAIN", "MAC",
		       "CHANNELS", "RING", "HOST", "PEER");
	for (const struct vlink_reply *p = rep; p; p = p->more) {
		const Vlink__LinkList *ll = p->env->link_list;

		for (size_t k = 0; k < ll->n_links; k++) {
			const Vlink__LinkInfo *li = ll->links[k];

			if (x->json) {
				printf("%s", shown++ ? ", " : "");
				json_link(li);
				continue;
			}
			printf("%-32s %-16s %-17s %8u %6u %-4s %-4s\n", li->layout->name,
			       li->layout->domain, li->layout->mac, li->layout->nchannels,
			       li->layout->ring_size, li->host_attached ? "up" : "-",
			       li->peer_attached ? "up" : "-");
		}
	}
	if (x->json)
		printf("]\n");
}

static int cmd_list(struct ctx *x, const struct cmd *c, int argc, char **argv)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__ListLinks m = VLINK__LIST_LINKS__INIT;

	if (cmd_args(x, c, argc, argv, 0, 0, NULL, NULL, NULL) < 0)
		return EXIT_USAGE;
	env.msg_case = VLINK__ENVELOPE__MSG_LIST_LINKS;
	env.list_links = &m;
	return request(x, &env, VLINK__ENVELOPE__MSG_LINK_LIST, print_list, NULL);
}

/* show */

static void print_shown(const struct ctx *x, const struct vlink_reply *rep, const void *arg)
{
	(void)arg;
	if (x->json) {
		json_link(rep->env->link_info);
		putchar('\n');
	} else {
		text_link(rep->env->link_info);
	}
}

static int cmd_show(struct ctx *x, const struct cmd *c, int argc, char **argv)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__ShowLink m = VLINK__SHOW_LINK__INIT;
	int i = cmd_args(x, c, argc, argv, 1, 1, NULL, NULL, NULL);

	if (i < 0)
		return EXIT_USAGE;
	m.name = argv[i];
	env.msg_case = VLINK__ENVELOPE__MSG_SHOW_LINK;
	env.show_link = &m;
	return request(x, &env, VLINK__ENVELOPE__MSG_LINK_INFO, print_shown, NULL);
}

/* status */

static const char *role_str(Vlink__Role r)
{
	static const char *const n[] = { "client", "admin", "qemu", "host", "peer" };

	return (unsigned)r < 5 ? n[r] : "client";
}

static void status_domain(const struct ctx *x, const Vlink__DomainInfo *d, size_t nth)
{
	if (x->json) {
		printf("%s{", nth ? ", " : "");
		json_kv_str("name", d->name, true);
		json_kv_u64("pool_size", d->pool_size, true);
		json_kv_u64("pool_used", d->pool_used, true);
		json_kv_u64("page_size", d->page_size, true);
		json_kv_bool("hugepages", d->hugepages, true);
		json_kv_u64("segments", d->nsegments, true);
		json_kv_u64("region_size", d->region_size, true);
		json_kv_u64("links", d->nlinks, false);
		printf("}");
		return;
	}
	printf("domain %s: pool %" PRIu64 " MiB (%" PRIu64 " MiB used), %s, "
	       "%u segment(s), channel region %" PRIu64 " KiB, %u link(s)\n",
	       d->name, d->pool_size >> 20, d->pool_used >> 20,
	       d->hugepages ? (d->page_size >= (1u << 30) ? "1 GiB hugepages"
			       : "2 MiB hugepages")
	       : "no hugepages (shared memory files)",
	       d->nsegments, d->region_size >> 10, d->nlinks);
}

static void status_client(const struct ctx *x, const Vlink__ClientInfo *ci, size_t nth)
{
	if (x->json) {
		printf("%s{", nth ? ", " : "");
		json_kv_u64("id", ci->id, true);
		json_kv_str("role", role_str(ci->role), true);
		json_kv_u64("pid", ci->pid, true);
		json_kv_u64("uid", ci->uid, true);
		json_kv_str("client", ci->client, true);
		json_kv_str("attached", ci->attached, false);
		printf("}");
		return;
	}
	printf("  #%u %-6s %-16s pid %-7u uid %-5u %s\n", ci->id,
	       role_str(ci->role), ci->client, ci->pid, ci->uid, ci->attached);
}

static void print_status(const struct ctx *x, const struct vlink_reply *rep, const void *arg)
{
	/* the reply may come in parts (rep->more): the daemon's fields in each,
	 * the clients and then the domains spread over them */
	const Vlink__StatusReply *s = rep->env->status_reply;
	size_t nclients = 0, shown = 0;

	(void)arg;
	for (const struct vlink_reply *p = rep; p; p = p->more)
		nclients += p->env->status_reply->n_clients;
	if (x->json) {
		printf("{");
		json_kv_str("daemon_version", s->daemon_version, true);
		json_kv_str("daemon_id", s->daemon_id, true);
		json_kv_u64("pid", s->pid, true);
		json_kv_u64("uptime", s->uptime, true);
		json_kv_u64("links", s->nlinks, true);
		printf("\"domains\": [");
	} else {
		printf("vlinkd %s, pid %u, daemon id %s, up %" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s\n",
		       s->daemon_version, s->pid, s->daemon_id, s->uptime / 3600,
		       s->uptime / 60 % 60, s->uptime % 60);
		printf("links: %u\n", s->nlinks);
	}
	for (const struct vlink_reply *p = rep; p; p = p->more)
		for (size_t k = 0; k < p->env->status_reply->n_domains; k++)
			status_domain(x, p->env->status_reply->domains[k], shown++);
	if (x->json)
		printf("], \"clients\": [");
	else
		printf("clients: %zu\n", nclients);
	shown = 0;
	for (const struct vlink_reply *p = rep; p; p = p->more)
		for (size_t k = 0; k < p->env->status_reply->n_clients; k++)
			status_client(x, p->env->status_reply->clients[k], shown++);
	if (x->json)
		printf("]}\n");
}

static int cmd_status(struct ctx *x, const struct cmd *c, int argc, char **argv)
{
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Status m = VLINK__STATUS__INIT;

	if (cmd_args(x, c, argc, argv, 0, 0, NULL, NULL, NULL) < 0)
		return EXIT_USAGE;
	env.msg_case = VLINK__ENVELOPE__MSG_STATUS;
	env.status = &m;
	return request(x, &env, VLINK__ENVELOPE__MSG_STATUS_REPLY, print_status, NULL);
}

/* monitor */

struct monitor_opts {
	uint64_t count;
	uint64_t timeout;
};

static int monitor_extra(int o, const char *val, void *arg)
{
	struct monitor_opts *mo = arg;

	if (vlink_parse_uint(val, o == 'c' ? UINT32_MAX : 86400,
			     o == 'c' ? &mo->count : &mo->timeout)) {
		usage_err("monitor", "--%s wants a number%s, not '%s'",
			  o == 'c' ? "count" : "timeout", o == 'c' ? "" : " of seconds (0-86400)",
			  val);
		return -1;
	}
	return 0;
}

static const char *event_name(Vlink__Event__Kind k)
{
	switch (k) {
	case VLINK__EVENT__KIND__LINK_CREATED: return "link-created";
	case VLINK__EVENT__KIND__LINK_DELETED: return "link-deleted";
	case VLINK__EVENT__KIND__END_UP: return "end-up";
	case VLINK__EVENT__KIND__END_DOWN: return "end-down";
	case VLINK__EVENT__KIND__DAEMON_EXIT: return "daemon-exit";
	default: return "unknown";
	}
}

static int cmd_monitor(struct ctx *x, const struct cmd *c, int argc, char **argv)
{
	static const struct option extra[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct monitor_opts mo = { 0, 0 };
	Vlink__Envelope env = VLINK__ENVELOPE__INIT;
	Vlink__Monitor m = VLINK__MONITOR__INIT;
	struct vlink_reply rep;
	uint64_t seen = 0;
	int err;

	if (cmd_args(x, c, argc, argv, 0, 0, extra, monitor_extra, &mo) < 0)
		return EXIT_USAGE;
	env.msg_case = VLINK__ENVELOPE__MSG_MONITOR;
	env.monitor = &m;
	err = request(x, &env, VLINK__ENVELOPE__MSG_OK, NULL, NULL);
	if (err)
		return err;
	if (!x->json)
		fprintf(stderr, "monitoring vlinkd events (Ctrl-C to stop)\n");
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!mo.count || seen < mo.count) {
		const Vlink__Event *ev;

		err = vlink_client_event(x->cl, &rep, mo.timeout ? (int)mo.timeout * 1000 : -1);
		if (err == -ETIMEDOUT)
			break;
		if (err) {
			fprintf(stderr, "vlinkctl: %s\n", vlink_client_error(x->cl));
			return EXIT_REFUSED;
		}
		if (rep.env->msg_case != VLINK__ENVELOPE__MSG_EVENT) {
			vlink_reply_clear(&rep);
			continue;
		}
		ev = rep.env->event;
		if (x->json) {
			printf("{");
			json_kv_str("event", event_name(ev->kind), true);
			json_kv_str("link", ev->link, true);
			json_kv_str("domain", ev->domain, ev->end != VLINK__END__END_UNSPECIFIED);
			if (ev->end != VLINK__END__END_UNSPECIFIED)
				json_kv_str("end", ev->end == VLINK__END__END_HOST ? "host" : "peer",
					    false);
			printf("}\n");
		} else {
			printf("%s", event_name(ev->kind));
			if (*ev->link)
				printf(" link %s", ev->link);
			if (*ev->domain)
				printf(" domain %s", ev->domain);
			if (ev->end != VLINK__END__END_UNSPECIFIED)
				printf(" end %s", ev->end == VLINK__END__END_HOST ? "host" : "peer");
			printf("\n");
		}
		seen++;
		if (ev->kind == VLINK__EVENT__KIND__DAEMON_EXIT) {
			vlink_reply_clear(&rep);
			break;
		}
		vlink_reply_clear(&rep);
	}
	return 0;
}

static int cmd_help(struct ctx *x, const struct cmd *c, int argc, char **argv);

static const struct cmd cmds[] = {
	{ "create-link", cmd_create,
	  "NAME MAC NCHANNELS [--domain D] [--ring-size N] [--mtu N]",
	  "Create a link.",
	  "NAME is 1-32 printable characters without spaces; MAC a unicast address\n"
	  "(xx:xx:xx:xx:xx:xx); NCHANNELS the number of data channels, 1-64 (each\n"
	  "link also has control channel 0).\n"
	  "  --domain D       the domain (VM) whose pool the link uses (default: default)\n"
	  "  --ring-size N    descriptors per ring, a power of two 64-16384 (default 1024)\n"
	  "  --mtu N          the link's MTU, 68-9000 (default 9000): no end sends a\n"
	  "                   packet larger than N + 18 bytes\n"
	  "  --json           print the created link as JSON\n" },
	{ "delete-link", cmd_delete, "NAME [--force]", "Delete a link.",
	  "Refused while an end is attached, unless --force (the attached ends are told).\n" },
	{ "list", cmd_list, "", "List the links.",
	  "One line per link: name, domain, MAC, data channels, ring size, and whether\n"
	  "the host and peer ends are attached.  --json prints an array.\n" },
	{ "show", cmd_show, "NAME", "Show one link in detail.",
	  "Layout, buffers, attached ends.  --json prints an object.\n" },
	{ "status", cmd_status, "", "Show the daemon's status.",
	  "Version, daemon id, uptime, domains with their pools, connected clients.\n"
	  "--json prints an object.\n" },
	{ "monitor", cmd_monitor, "[--count N] [--timeout SECONDS]",
	  "Print events as they happen.",
	  "Link created/deleted, host or peer end up/down, daemon exit.\n"
	  "  --count N          exit after N events (0: no limit, the default)\n"
	  "  --timeout SECONDS  exit when no event came for this long (0: wait forever)\n"
	  "  --json             one JSON object per line\n" },
	{ "help", cmd_help, "[COMMAND]", "Show help.", "" },
};

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void main_usage(FILE *f)
{
	fprintf(f, "Usage: vlinkctl [--socket PATH] [--json] [--wait SECONDS] COMMAND [ARGS]\n"
		   "Administer vlinkd, the vlink daemon.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nThe socket defaults to $VLINK_SOCKET or %s.\n"
		   "'vlinkctl COMMAND --help' describes a command.\n"
		   "Exit status: 0 done, 1 refused or failed, 2 usage error.\n",
		VLINK_DEFAULT_SOCKET);
}

static int cmd_help(struct ctx *x, const struct cmd *c, int argc, char **argv)
{
	const struct cmd *topic;

	(void)x;
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		print_cmd_help(c, stdout);
		return 0;
	}
	if (argc < 2) {
		main_usage(stdout);
		return 0;
	}
	topic = find_cmd(argv[1]);
	if (!topic)
		return usage_err(NULL, "unknown command '%s'", argv[1]);
	print_cmd_help(topic, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx x = { 0 };
	const struct cmd *c;
	int i = 1, rc;

	/* global options come before the command */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			main_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			puts("vlinkctl " PACKAGE_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			x.json = true;
			i++;
		} else if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) && i + 1 < argc) {
			x.socket = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			x.socket = argv[i] + 9;
			i++;
		} else if (((!strcmp(argv[i], "-w") || !strcmp(argv[i], "--wait")) && i + 1 < argc) ||
			   !strncmp(argv[i], "--wait=", 7)) {
			bool eq = !strncmp(argv[i], "--wait=", 7);
			const char *val = eq ? argv[i] + 7 : argv[i + 1];
			uint64_t v;

			if (vlink_parse_uint(val, 3600, &v))
				return usage_err(NULL, "--wait wants seconds (0-3600), not '%s'", val);
			x.wait_ms = (int)v * 1000;
			i += eq ? 1 : 2;
		} else {
			return usage_err(NULL, "unknown option '%s'", argv[i]);
		}
	}
	if (i == argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	c = find_cmd(argv[i]);
	if (!c)
		return usage_err(NULL, "unknown command '%s'", argv[i]);
	rc = c->run(&x, c, argc - i, argv + i);
	vlink_client_close(x.cl);
	return rc;
}
