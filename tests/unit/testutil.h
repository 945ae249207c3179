/* Helpers shared by the Check unit tests. */
#ifndef VLINK_TESTUTIL_H
#define VLINK_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Number of open fds of this process (entries of /proc/self/fd, minus the
 * one opendir() itself holds). */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* A fresh private directory under /tmp; remove it with rm_rf(). */
static inline char *make_tmpdir(void)
{
	char *p = strdup("/tmp/vlink-test-XXXXXX");

	if (!p || !mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

static inline void rm_rf(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "rm -rf %s failed\n", path);
}

#endif
