#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define LINE_MAX_LEN 1024 /* characters, without the line ending */

static int bad(char *why, size_t n, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int bad(char *why, size_t n, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!why || !n)
		return -EINVAL;
	k = snprintf(why, n, "%s:%u: ", file, line);
	if (k > 0 && (size_t)k < n) {
		va_start(ap, fmt);
		vsnprintf(why + k, n - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_line(char *s, struct config_link *l, char *msg, size_t n)
{
	char *tok[5], *save = NULL;
	unsigned nt = 0;
	uint64_t nch;
	uint8_t mac[6];
	int err;

	for (char *t = strtok_r(s, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (nt == 4) {
			snprintf(msg, n, "too many fields (expected NAME MAC NCHANNELS [DOMAIN])");
			return -EINVAL;
		}
		tok[nt++] = t;
	}
	if (nt < 3) {
		snprintf(msg, n, "too few fields (expected NAME MAC NCHANNELS [DOMAIN])");
		return -EINVAL;
	}
	if ((err = vlink_check_name("link name", tok[0], msg, n)) ||
	    (err = vlink_mac_parse(tok[1], mac, msg, n)))
		return err;
	if (vlink_parse_uint(tok[2], UINT32_MAX, &nch)) {
		snprintf(msg, n, "channel count '%s' is not a number", tok[2]);
		return -EINVAL;
	}
	if ((err = vlink_check_nchannels(nch, msg, n)))
		return err;
	if (nt == 4 && (err = vlink_check_name("domain", tok[3], msg, n)))
		return err;
	strcpy(l->name, tok[0]);
	vlink_mac_format(mac, l->mac);
	l->nchannels = (uint32_t)nch;
	strcpy(l->domain, nt == 4 ? tok[3] : VLINK_DEFAULT_DOMAIN);
	return 0;
}

int config_parse_stream(FILE *f, const char *name, struct config *out, char *why, size_t n)
{
	struct config c = { NULL, 0 };
	char *line = NULL, msg[256];
	size_t cap_line = 0;
	unsigned lineno = 0, cap = 0;
	ssize_t len;
	int err = 0;

	while ((len = getline(&line, &cap_line, f)) >= 0) {
		struct config_link l = { 0 };
		char *hash;

		lineno++;
		/* judge the line by what was read, not by strlen() */
		if (memchr(line, '\0', (size_t)len)) {
			err = bad(why, n, name, lineno, "NUL byte in line");
			goto fail;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > LINE_MAX_LEN) {
			err = bad(why, n, name, lineno, "line longer than %d characters",
				  LINE_MAX_LEN);
			goto fail;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		if (line[strspn(line, " \t\r")] == '\0')
			continue;
		if (parse_line(line, &l, msg, sizeof(msg))) {
			err = bad(why, n, name, lineno, "%s", msg);
			goto fail;
		}
		for (unsigned i = 0; i < c.nlinks; i++)
			if (!strcmp(c.links[i].name, l.name)) {
				err = bad(why, n, name, lineno, "link '%s' already defined on line %u",
					  l.name, c.links[i].line);
				goto fail;
			}
		l.line = lineno;
		if (c.nlinks == cap) {
			struct config_link *nl;

			cap = cap ? 2 * cap : 8;
			nl = realloc(c.links, cap * sizeof(*nl));
			if (!nl) {
				err = bad(why, n, name, lineno, "out of memory");
				goto fail;
			}
			c.links = nl;
		}
		c.links[c.nlinks++] = l;
	}
	if (ferror(f)) {
		err = bad(why, n, name, lineno, "read error");
		goto fail;
	}
	free(line);
	*out = c;
	return 0;
fail:
	free(line);
	free(c.links);
	return err ? err : -EINVAL;
}

int config_parse_file(const char *path, struct config *out, char *why, size_t n)
{
	FILE *f = fopen(path, "re");
	int err;

	if (!f) {
		err = -errno;
		if (why && n)
			snprintf(why, n, "%s: cannot open: %s", path, strerror(errno));
		return err;
	}
	err = config_parse_stream(f, path, out, why, n);
	fclose(f);
	return err;
}

void config_free(struct config *c)
{
	free(c->links);
	c->links = NULL;
	c->nlinks = 0;
}
