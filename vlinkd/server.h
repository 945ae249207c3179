/* vlinkd's socket server: accepts clients on the control socket, answers
 * their requests from the registry, passes memory fds, pushes events. */
#ifndef VLINKD_SERVER_H
#define VLINKD_SERVER_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <uv.h>

#include "registry.h"
#include "state.h"

#define SERVER_MAX_ALLOW 32

struct client;

struct server {
	uv_loop_t *loop;
	int listen_fd;
	uv_poll_t listen_poll;
	uv_timer_t guard;          /* restores what only the daemon writes */
	const char *socket_path;
	const char *state_dir;
	const char *config_path;   /* NULL: no config file */
	unsigned nallow_uid, nallow_gid;
	uid_t allow_uid[SERVER_MAX_ALLOW];
	gid_t allow_gid[SERVER_MAX_ALLOW];
	gid_t socket_gid;          /* group of the socket file, or (gid_t)-1 */
	struct registry reg;
	char daemon_id[STATE_ID_LEN + 1];
	struct client *clients;
	uint32_t next_client_id;
	time_t start_time;
	bool stopping;
	/* the most a reply part's repeated fields take: VLINK_PART_ROOM, or
	 * less from $VLINKD_PART_ROOM (tests: many parts from few links) */
	size_t part_room;
};

/* Load state and config, open the listening socket.  0 or a negative
 * errno with the reason in why. */
int server_start(struct server *s, char *why, size_t n);
/* Apply the config file (start-up and SIGHUP).  Links it lists are
 * created; links it created before and no longer lists are deleted unless
 * something is attached.  A bad file changes nothing. */
int server_apply_config(struct server *s, bool startup, char *why, size_t n);
/* Tell clients, save state, close everything, remove the socket. */
void server_stop(struct server *s);

#endif
