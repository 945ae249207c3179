/* Fixture pieces shared by the registry and state tests (check_registry.c,
 * check_state.c): heap blocks freed at teardown, a journal of test
 * directories cleaned up after the run, a registry on private files. */
#ifndef VLINK_REGTEST_H
#define VLINK_REGTEST_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "testutil.h"

#define MiB (1ull << 20)
#define DAEMON_ID "0123456789abcdef"

/* Heap blocks freed by teardown: a failing check (longjmp in CK_FORK=no
 * mode) must not turn into a leak report. */
static void *owned[512];
static unsigned nowned;

static inline void *own(void *p)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_lt(nowned, sizeof(owned) / sizeof(owned[0]));
	owned[nowned++] = p;
	return p;
}

static inline void free_owned(void)
{
	while (nowned)
		free(owned[--nowned]);
}

/* In CK_FORK mode a failing check ends the test's process at once, without
 * the teardown.  So that no directory (with its pool files) is left behind,
 * every test directory is written down in a journal that main() goes
 * through after the run. */
static char journal[4200];

static inline void journal_add(const char *dir)
{
	FILE *f = fopen(journal, "ae");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", dir);
	fclose(f);
}

static inline void journal_cleanup(void)
{
	char line[4300];
	FILE *f = fopen(journal, "re");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (!strncmp(line, "/tmp/vlink-test-", 16))
				rm_rf(line);
		}
		fclose(f);
	}
	*strrchr(journal, '/') = '\0';
	rm_rf(journal);
}

/* A registry whose memory files go to `dir`: no hugepages, 8 MiB
 * segments, 64 MiB pools. */
static inline void reg_test_init(struct registry *reg, const char *dir)
{
	reg_init(reg);
	reg->mem.run_dir = dir;
	reg->mem.shm_dir = dir;
	reg->mem.daemon_id = DAEMON_ID;
	reg->mem.no_hugepages = true;
	reg->mem.segment_size = 8 * MiB;
	reg->pool_size = 64 * MiB;
}

/* ---- helpers both suites use --------------------------------------- */

static inline void set_override(struct registry *reg, const char *dom, uint64_t size)
{
	struct reg_pool_size *ps = realloc(reg->pool_sizes, (reg->npool_sizes + 1) * sizeof(*ps));

	ck_assert_ptr_nonnull(ps);
	reg->pool_sizes = ps;
	snprintf(ps[reg->npool_sizes].domain, sizeof(ps[0].domain), "%s", dom);
	ps[reg->npool_sizes].size = size;
	reg->npool_sizes++;
}

/* Every regular file below dir as "relative/path size inode\n", sorted. */
static inline int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void collect(const char *base, const char *rel, char ***v, size_t *nv)
{
	char path[4600];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "%s%s%s", base, *rel ? "/" : "", rel);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char sub[4600], full[9300];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", base, sub);
		if (lstat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			collect(base, sub, v, nv);
		} else {
			char *s;

			ck_assert_int_ge(asprintf(&s, "%s %lld %llu\n", sub, (long long)st.st_size,
						  (unsigned long long)st.st_ino), 0);
			*v = realloc(*v, (*nv + 1) * sizeof(**v));
			ck_assert_ptr_nonnull(*v);
			(*v)[(*nv)++] = s;
		}
	}
	closedir(dir);
}

/* name, size and inode of every file: equal lists mean nothing was
 * created, removed, resized or replaced */
static inline char *list_files(const char *dir)
{
	char **v = NULL, *out;
	size_t nv = 0, len = 1;

	collect(dir, "", &v, &nv);
	qsort(v, nv, sizeof(*v), cmp_str);
	for (size_t i = 0; i < nv; i++)
		len += strlen(v[i]);
	out = own(calloc(1, len));
	for (size_t i = 0; i < nv; i++) {
		strcat(out, v[i]);
		free(v[i]);
	}
	free(v);
	return out;
}

static inline bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static inline bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static inline struct vlink_region_hdr *hdr_of(const struct reg_domain *d)
{
	return d->region.map;
}

static inline struct vlink_link_hdr *lhdr_of(const struct reg_link *l)
{
	return (struct vlink_link_hdr *)((uint8_t *)l->dom->region.map + l->hdr_offset);
}

/* Run a suite with the journal around it; the exit status of main(). */
static inline int regtest_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	char *jdir = make_tmpdir();
	int failed;

	if (!jdir)
		return EXIT_FAILURE;
	snprintf(journal, sizeof(journal), "%s/dirs", jdir);
	free(jdir);
	srunner_run_all(sr, CK_NORMAL);
	journal_cleanup();
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
