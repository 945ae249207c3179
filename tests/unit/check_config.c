/* Unit tests for vlinkd/config.c: the --config file parser. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

#define NAME "test.conf"
#define WHY_LEN 512
#define LINE_MAX_LEN 1024 /* as in config.c */

/* ---------------------------------------------------------------- helpers */

/* A struct config that failures must leave alone. */
static struct config_link sentinel_link;
#define SENTINEL_NLINKS 0xdeadbeefu

static void set_sentinel(struct config *c)
{
	c->links = &sentinel_link;
	c->nlinks = SENTINEL_NLINKS;
}

static void assert_sentinel(const struct config *c)
{
	ck_assert_msg(c->links == &sentinel_link && c->nlinks == SENTINEL_NLINKS,
		      "*out was modified on failure");
}

/* Parse `len` bytes of text as the file NAME. */
static int parse_mem(const void *text, size_t len, struct config *out, char *why,
		     size_t n)
{
	FILE *f = fmemopen((void *)text, len, "r");
	int err;

	ck_assert_ptr_nonnull(f);
	err = config_parse_stream(f, NAME, out, why, n);
	fclose(f);
	return err;
}

static int parse_str(const char *text, struct config *out, char *why, size_t n)
{
	return parse_mem(text, strlen(text), out, why, n);
}

/* Parse text expecting success; the caller frees *c. */
static void parse_ok(const char *text, struct config *c)
{
	char why[WHY_LEN] = "";
	int err;

	set_sentinel(c);
	err = parse_str(text, c, why, sizeof(why));
	ck_assert_msg(err == 0, "parse failed (%d): %s", err, why);
}

/* Parse text expecting -EINVAL, "NAME:line: " at the start of why, and
 * needle in the rest; *out untouched. */
static void parse_bad(const char *text, unsigned line, const char *needle)
{
	struct config c;
	char why[WHY_LEN], prefix[64];
	int err;

	set_sentinel(&c);
	strcpy(why, "<untouched>");
	err = parse_str(text, &c, why, sizeof(why));
	ck_assert_msg(err == -EINVAL, "parse gave %d, not -EINVAL (why: %s)", err, why);
	assert_sentinel(&c);
	snprintf(prefix, sizeof(prefix), NAME ":%u: ", line);
	ck_assert_msg(strncmp(why, prefix, strlen(prefix)) == 0,
		      "why '%s' does not start with '%s'", why, prefix);
	ck_assert_msg(strstr(why + strlen(prefix), needle) != NULL,
		      "why '%s' does not contain '%s'", why, needle);

	/* the same failure without a message buffer */
	set_sentinel(&c);
	ck_assert_int_eq(parse_str(text, &c, NULL, 0), -EINVAL);
	assert_sentinel(&c);
}

static void assert_link(const struct config *c, unsigned i, const char *name,
			const char *mac, uint32_t nch, const char *domain, unsigned line)
{
	ck_assert_uint_lt(i, c->nlinks);
	ck_assert_str_eq(c->links[i].name, name);
	ck_assert_str_eq(c->links[i].mac, mac);
	ck_assert_uint_eq(c->links[i].nchannels, nch);
	ck_assert_str_eq(c->links[i].domain, domain);
	ck_assert_uint_eq(c->links[i].line, line);
}

static char *repeat(char ch, size_t len)
{
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, ch, len);
	s[len] = '\0';
	return s;
}

/* A malloc'd copy of a printf format. */
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(r, 0);
	return s;
}

/* A valid link line of exactly `len` characters (without the newline),
 * padded with a trailing comment. */
static char *line_of_len(size_t len)
{
	const char *base = "padded 02:00:00:00:00:01 1 #";
	size_t bl = strlen(base);
	char *s;

	ck_assert_uint_ge(len, bl);
	s = repeat('p', len);
	memcpy(s, base, bl);
	return s;
}

/* --------------------------------------------------------- valid content */

START_TEST(test_valid_full)
{
	static const char text[] =
		"# vlinkd configuration\n"                                /* 1 */
		"\n"                                                      /* 2 */
		"   \n"                                                   /* 3 */
		"\t\t\n"                                                  /* 4 */
		"eth0 02:00:00:00:00:01 1\n"                              /* 5 */
		"eth1\t02:00:00:00:00:02\t4\tblue\n"                      /* 6 */
		"   # indented comment\n"                                 /* 7 */
		"  eth2   02:00:00:00:00:03   64   red   # trailing\n"    /* 8 */
		"eth3 02:00:00:00:00:04 2# no space before the hash\n"    /* 9 */
		"\t eth4 \t 02:00:00:00:00:05 \t 3 \t green \t \n"       /* 10 */
		"#eth5 02:00:00:00:00:06 1\n"                             /* 11 */
		"eth6 02:00:00:00:00:07 8 default\n";                     /* 12 */
	struct config c;

	parse_ok(text, &c);
	ck_assert_uint_eq(c.nlinks, 6);
	ck_assert_ptr_nonnull(c.links);
	assert_link(&c, 0, "eth0", "02:00:00:00:00:01", 1, "default", 5);
	assert_link(&c, 1, "eth1", "02:00:00:00:00:02", 4, "blue", 6);
	assert_link(&c, 2, "eth2", "02:00:00:00:00:03", 64, "red", 8);
	assert_link(&c, 3, "eth3", "02:00:00:00:00:04", 2, "default", 9);
	assert_link(&c, 4, "eth4", "02:00:00:00:00:05", 3, "green", 10);
	assert_link(&c, 5, "eth6", "02:00:00:00:00:07", 8, "default", 12);
	config_free(&c);
}
END_TEST

START_TEST(test_three_fields_default_domain)
{
	struct config c;

	parse_ok("a 02:00:00:00:00:01 1\n", &c);
	ck_assert_uint_eq(c.nlinks, 1);
	ck_assert_str_eq(c.links[0].domain, VLINK_DEFAULT_DOMAIN);
	ck_assert_str_eq(c.links[0].domain, "default");
	config_free(&c);
}
END_TEST

START_TEST(test_four_fields)
{
	struct config c;

	parse_ok("a 02:00:00:00:00:01 1 mydomain\n", &c);
	assert_link(&c, 0, "a", "02:00:00:00:00:01", 1, "mydomain", 1);
	config_free(&c);
}
END_TEST

START_TEST(test_crlf)
{
	static const char text[] =
		"# comment\r\n"
		"a 02:00:00:00:00:01 1\r\n"
		"\r\n"
		"b 02:00:00:00:00:02 2 dom\r\n"
		"c 02:00:00:00:00:03 3 # comment\r\n"
		"d\t02:00:00:00:00:04\t4\tdom2\r\n";
	struct config c;

	parse_ok(text, &c);
	ck_assert_uint_eq(c.nlinks, 4);
	assert_link(&c, 0, "a", "02:00:00:00:00:01", 1, "default", 2);
	assert_link(&c, 1, "b", "02:00:00:00:00:02", 2, "dom", 4);
	assert_link(&c, 2, "c", "02:00:00:00:00:03", 3, "default", 5);
	assert_link(&c, 3, "d", "02:00:00:00:00:04", 4, "dom2", 6);
	config_free(&c);
}
END_TEST

START_TEST(test_crlf_error_line)
{
	parse_bad("a 02:00:00:00:00:01 1\r\n\r\nb 02:00:00:00:00:02\r\n", 3, "too few fields");
}
END_TEST

START_TEST(test_no_final_newline)
{
	struct config c;

	parse_ok("a 02:00:00:00:00:01 1\nb 02:00:00:00:00:02 2 x", &c);
	ck_assert_uint_eq(c.nlinks, 2);
	assert_link(&c, 1, "b", "02:00:00:00:00:02", 2, "x", 2);
	config_free(&c);
}
END_TEST

START_TEST(test_mac_lowercased)
{
	struct config c;

	parse_ok("a 02:AB:cd:EF:0A:FF 1\nb 52:54:00:AA:BB:CC 2\n", &c);
	ck_assert_str_eq(c.links[0].mac, "02:ab:cd:ef:0a:ff");
	ck_assert_str_eq(c.links[1].mac, "52:54:00:aa:bb:cc");
	config_free(&c);
}
END_TEST

START_TEST(test_limits_accepted)
{
	char *name = repeat('n', VLINK_NAME_MAX), *dom = repeat('d', VLINK_NAME_MAX);
	char *text = xasprintf("%s 02:00:00:00:00:01 64 %s\n"
			       "x 02:00:00:00:00:02 1 ~!@$%%^&*()_+{}|:\"<>?`-=[]\\;',./\n",
			       name, dom);
	struct config c;

	parse_ok(text, &c);
	ck_assert_uint_eq(c.nlinks, 2);
	assert_link(&c, 0, name, "02:00:00:00:00:01", 64, dom, 1);
	assert_link(&c, 1, "x", "02:00:00:00:00:02", 1, "~!@$%^&*()_+{}|:\"<>?`-=[]\\;',./", 2);
	config_free(&c);
	free(text);
	free(name);
	free(dom);
}
END_TEST

START_TEST(test_empty_stream)
{
	struct config c;

	parse_ok("", &c);
	ck_assert_uint_eq(c.nlinks, 0);
	config_free(&c);
	ck_assert_ptr_null(c.links);
}
END_TEST

START_TEST(test_only_comments_and_blanks)
{
	struct config c;

	parse_ok("# one\n\n   \n\t\n#two\n  # three\r\n\r\n", &c);
	ck_assert_uint_eq(c.nlinks, 0);
	config_free(&c);
}
END_TEST

/* A line of exactly LINE_MAX_LEN characters is fine, with or without a
 * newline after it. */
START_TEST(test_line_exactly_max)
{
	char *l = line_of_len(LINE_MAX_LEN);
	char *text = xasprintf("%s\n%s", l, "b 02:00:00:00:00:02 2\n");
	struct config c;

	ck_assert_uint_eq(strlen(l), LINE_MAX_LEN);
	parse_ok(text, &c);
	ck_assert_uint_eq(c.nlinks, 2);
	assert_link(&c, 0, "padded", "02:00:00:00:00:01", 1, "default", 1);
	assert_link(&c, 1, "b", "02:00:00:00:00:02", 2, "default", 2);
	config_free(&c);

	parse_ok(l, &c); /* at EOF without a newline */
	ck_assert_uint_eq(c.nlinks, 1);
	config_free(&c);
	free(text);
	free(l);
}
END_TEST

/* 100 links, in order, with their line numbers. */
START_TEST(test_hundred_links)
{
	size_t cap = 100 * 64, len = 0;
	char *text = malloc(cap);
	struct config c;

	ck_assert_ptr_nonnull(text);
	for (unsigned i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"link%03u 02:00:00:00:%02x:%02X %u%s\n", i, i / 16,
					i * 3 % 256, i % 64 + 1, i % 2 ? " odd" : "");
	ck_assert_uint_lt(len, cap);
	parse_ok(text, &c);
	ck_assert_uint_eq(c.nlinks, 100);
	for (unsigned i = 0; i < 100; i++) {
		char name[16], mac[VLINK_MAC_STRLEN];

		snprintf(name, sizeof(name), "link%03u", i);
		snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", i / 16, i * 3 % 256);
		assert_link(&c, i, name, mac, i % 64 + 1, i % 2 ? "odd" : "default", i + 1);
	}
	config_free(&c);
	free(text);
}
END_TEST

/* Same name twice is an error, but the same MAC or domain is not the
 * parser's business. */
START_TEST(test_same_mac_different_names)
{
	struct config c;

	parse_ok("a 02:00:00:00:00:01 1 d\nb 02:00:00:00:00:01 1 d\n", &c);
	ck_assert_uint_eq(c.nlinks, 2);
	config_free(&c);
}
END_TEST

/* Names are compared exactly (case matters). */
START_TEST(test_names_case_sensitive)
{
	struct config c;

	parse_ok("eth 02:00:00:00:00:01 1\nETH 02:00:00:00:00:02 1\n", &c);
	ck_assert_uint_eq(c.nlinks, 2);
	config_free(&c);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(test_too_few_fields)
{
	parse_bad("a 02:00:00:00:00:01\n", 1, "too few fields");
	parse_bad("a\n", 1, "too few fields");
	parse_bad("a 02:00:00:00:00:01 # 1\n", 1, "too few fields");
	parse_bad("# c\n\na 02:00:00:00:00:01 1\n\tb 02:00:00:00:00:02\n", 4,
		  "too few fields");
	parse_bad("a 02:00:00:00:00:01 1\nb", 2, "too few fields");
}
END_TEST

START_TEST(test_too_many_fields)
{
	parse_bad("a 02:00:00:00:00:01 1 dom extra\n", 1, "too many fields");
	parse_bad("a 02:00:00:00:00:01 1 dom x y z\n", 1, "too many fields");
	parse_bad("\n\na 02:00:00:00:00:01 1 d\tx # c\n", 3, "too many fields");
}
END_TEST

START_TEST(test_bad_name)
{
	char *name = repeat('n', VLINK_NAME_MAX + 1);
	char *text = xasprintf("ok 02:00:00:00:00:01 1\n%s 02:00:00:00:00:02 1\n", name);

	parse_bad(text, 2, "link name is longer than 32");
	free(text);
	free(name);
	parse_bad("a\x01z 02:00:00:00:00:01 1\n", 1, "link name contains a non-printable");
	parse_bad("a\x7fz 02:00:00:00:00:01 1\n", 1, "0x7f");
	parse_bad("caf\xc3\xa9 02:00:00:00:00:01 1\n", 1, "non-printable");
	parse_bad("a\vb 02:00:00:00:00:01 1\n", 1, "non-printable");
}
END_TEST

START_TEST(test_bad_mac)
{
	parse_bad("a 01:00:5e:00:00:01 1\n", 1, "multicast");
	parse_bad("a 02:00:00:00:00:01 1\nb ff:ff:ff:ff:ff:ff 1\n", 2, "multicast");
	parse_bad("a 33:33:00:00:00:01 1\n", 1, "multicast");
	parse_bad("a 02:00:00:00:00 1\n", 1, "malformed");
	parse_bad("a 02-00-00-00-00-01 1\n", 1, "malformed");
	parse_bad("a 02:00:00:00:00:0g 1\n", 1, "malformed");
	parse_bad("a 0200.0000.0001 1\n", 1, "malformed");
	parse_bad("a 02:00:00:00:00:01x 1\n", 1, "malformed");
	parse_bad("a 00:00:00:00:00:00 1\n", 1, "00:00:00:00:00:00");
	parse_bad("a 1 02:00:00:00:00:01\n", 1, "MAC");
}
END_TEST

START_TEST(test_bad_nchannels)
{
	parse_bad("a 02:00:00:00:00:01 x\n", 1, "channel count 'x' is not a number");
	parse_bad("a 02:00:00:00:00:01 -1\n", 1, "not a number");
	parse_bad("a 02:00:00:00:00:01 +1\n", 1, "not a number");
	parse_bad("a 02:00:00:00:00:01 1.5\n", 1, "not a number");
	parse_bad("a 02:00:00:00:00:01 0x4\n", 1, "not a number");
	parse_bad("a 02:00:00:00:00:01 4294967296\n", 1, "not a number");
	parse_bad("a 02:00:00:00:00:01 99999999999999999999999\n", 1, "not a number");
	parse_bad("a 02:00:00:00:00:01 0\n", 1, "channel count 0 out of range");
	parse_bad("\n\n\na 02:00:00:00:00:01 65\n", 4, "channel count 65 out of range");
	parse_bad("a 02:00:00:00:00:01 4294967295\n", 1, "out of range");
}
END_TEST

START_TEST(test_bad_domain)
{
	char *dom = repeat('d', VLINK_NAME_MAX + 1);
	char *text = xasprintf("a 02:00:00:00:00:01 1 %s\n", dom);

	parse_bad(text, 1, "domain is longer than 32");
	free(text);
	free(dom);
	parse_bad("a 02:00:00:00:00:01 1 do\x7fm\n", 1, "domain contains a non-printable");
	parse_bad("a 02:00:00:00:00:01 1 d\x01\n", 1, "domain");
}
END_TEST

START_TEST(test_duplicate_name)
{
	parse_bad("a 02:00:00:00:00:01 1\n"
		  "# c\n"
		  "b 02:00:00:00:00:02 1\n"
		  "a 02:00:00:00:00:03 1 other\n",
		  4, "link 'a' already defined on line 1");
	parse_bad("\n\nx 02:00:00:00:00:01 1\ny 02:00:00:00:00:02 1\n"
		  "y 02:00:00:00:00:02 1\n",
		  5, "already defined on line 4");
}
END_TEST

START_TEST(test_overlong_line)
{
	char *l = line_of_len(LINE_MAX_LEN + 1);
	char *text = xasprintf("a 02:00:00:00:00:01 1\n# c\n%s\nb 02:00:00:00:00:02 1\n", l);

	parse_bad(text, 3, "line longer than 1024 characters");
	free(text);
	parse_bad(l, 1, "longer than 1024"); /* at EOF, no newline */
	free(l);

	l = repeat('#', 5000); /* even a comment */
	text = xasprintf("\n%s\n", l);
	parse_bad(text, 2, "longer than 1024");
	free(text);
	free(l);
}
END_TEST

/* The first bad line is the one reported. */
START_TEST(test_first_error_reported)
{
	parse_bad("a 02:00:00:00:00:01 1\nb 02:00:00:00:00:02\nc 01:00:00:00:00:00 1\n", 2,
		  "too few fields");
}
END_TEST

/* The FILE name given is the one in the message. */
START_TEST(test_error_names_file)
{
	FILE *f = fmemopen((void *)"a\n", 2, "r");
	struct config c;
	char why[WHY_LEN];

	ck_assert_ptr_nonnull(f);
	set_sentinel(&c);
	ck_assert_int_eq(config_parse_stream(f, "/etc/vlink/links.conf", &c, why, sizeof(why)),
			 -EINVAL);
	fclose(f);
	assert_sentinel(&c);
	ck_assert_str_eq(why, "/etc/vlink/links.conf:1: too few fields "
			      "(expected NAME MAC NCHANNELS [DOMAIN])");
}
END_TEST

/* A short why buffer: truncated but terminated, nothing written past n. */
START_TEST(test_error_why_truncated)
{
	char why[32];
	struct config c;

	for (size_t n = 1; n < 20; n++) {
		memset(why, 'Z', sizeof(why));
		set_sentinel(&c);
		ck_assert_int_eq(parse_str("a 02:00:00:00:00:01\n", &c, why, n), -EINVAL);
		assert_sentinel(&c);
		ck_assert_uint_eq(strlen(why), n - 1);
		ck_assert_int_eq(strncmp(why, NAME ":1: too few", n - 1), 0);
		ck_assert_int_eq(why[n], 'Z');
	}
}
END_TEST

/* A stream that cannot be read fails. */
START_TEST(test_read_error)
{
	FILE *f = fopen("/dev/null", "w");
	struct config c;
	char why[WHY_LEN] = "";

	ck_assert_ptr_nonnull(f);
	set_sentinel(&c);
	ck_assert_int_eq(config_parse_stream(f, NAME, &c, why, sizeof(why)), -EINVAL);
	fclose(f);
	assert_sentinel(&c);
	ck_assert_msg(strncmp(why, NAME ":", strlen(NAME ":")) == 0, "why: %s", why);
	ck_assert_ptr_nonnull(strstr(why, "read error"));
}
END_TEST

/* An error after many links (the array has grown) frees it: valgrind
 * checks there is no leak. */
START_TEST(test_error_after_many_links)
{
	size_t cap = 50 * 40, len = 0;
	char *text = malloc(cap);

	ck_assert_ptr_nonnull(text);
	for (unsigned i = 0; i < 40; i++)
		len += (size_t)snprintf(text + len, cap - len, "l%u 02:00:00:00:00:%02x 1\n",
					i, i + 2);
	len += (size_t)snprintf(text + len, cap - len, "l7 02:00:00:00:00:99 1\n");
	ck_assert_uint_lt(len, cap);
	parse_bad(text, 41, "link 'l7' already defined on line 8");
	free(text);
}
END_TEST

/* ------------------------------------------------------ config_parse_file */

static char *write_file(const char *dir, const char *base, const char *text)
{
	char *path = xasprintf("%s/%s", dir, base);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

START_TEST(test_file_valid)
{
	char *dir = make_tmpdir(), *path;
	struct config c;
	char why[WHY_LEN] = "";
	int fds;

	ck_assert_ptr_nonnull(dir);
	path = write_file(dir, "links.conf",
			  "# links\nx 02:00:00:00:00:0A 2 blue\ny 02:00:00:00:00:0b 1\n");
	fds = count_fds();
	set_sentinel(&c);
	ck_assert_int_eq(config_parse_file(path, &c, why, sizeof(why)), 0);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_uint_eq(c.nlinks, 2);
	assert_link(&c, 0, "x", "02:00:00:00:00:0a", 2, "blue", 2);
	assert_link(&c, 1, "y", "02:00:00:00:00:0b", 1, "default", 3);
	config_free(&c);
	free(path);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_file_error_uses_path)
{
	char *dir = make_tmpdir(), *path, *prefix;
	struct config c;
	char why[WHY_LEN] = "";
	int fds;

	ck_assert_ptr_nonnull(dir);
	path = write_file(dir, "bad.conf", "a 02:00:00:00:00:01 1\n\nb 01:00:00:00:00:01 1\n");
	fds = count_fds();
	set_sentinel(&c);
	ck_assert_int_eq(config_parse_file(path, &c, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(count_fds(), fds);
	assert_sentinel(&c);
	prefix = xasprintf("%s:3: ", path);
	ck_assert_msg(strncmp(why, prefix, strlen(prefix)) == 0, "why '%s'", why);
	ck_assert_ptr_nonnull(strstr(why, "multicast"));
	free(prefix);
	free(path);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_file_empty)
{
	char *dir = make_tmpdir(), *path;
	struct config c;
	char why[WHY_LEN] = "";

	ck_assert_ptr_nonnull(dir);
	path = write_file(dir, "empty.conf", "");
	set_sentinel(&c);
	ck_assert_int_eq(config_parse_file(path, &c, why, sizeof(why)), 0);
	ck_assert_uint_eq(c.nlinks, 0);
	config_free(&c);
	ck_assert_ptr_null(c.links);
	free(path);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_file_missing)
{
	char *dir = make_tmpdir(), *path;
	struct config c;
	char why[WHY_LEN] = "";
	int fds;

	ck_assert_ptr_nonnull(dir);
	path = xasprintf("%s/does-not-exist.conf", dir);
	fds = count_fds();
	set_sentinel(&c);
	ck_assert_int_eq(config_parse_file(path, &c, why, sizeof(why)), -ENOENT);
	ck_assert_int_eq(count_fds(), fds);
	assert_sentinel(&c);
	ck_assert_msg(strstr(why, path) != NULL, "why '%s' does not name %s", why, path);
	ck_assert_msg(strstr(why, "cannot open") != NULL, "why '%s'", why);
	ck_assert_msg(strstr(why, strerror(ENOENT)) != NULL, "why '%s'", why);

	/* no message buffer */
	ck_assert_int_eq(config_parse_file(path, &c, NULL, 0), -ENOENT);
	assert_sentinel(&c);
	free(path);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A directory opens but cannot be read. */
START_TEST(test_file_directory)
{
	char *dir = make_tmpdir();
	struct config c;
	char why[WHY_LEN] = "";
	int err, fds;

	ck_assert_ptr_nonnull(dir);
	fds = count_fds();
	set_sentinel(&c);
	err = config_parse_file(dir, &c, why, sizeof(why));
	ck_assert_int_lt(err, 0);
	ck_assert_int_eq(count_fds(), fds);
	assert_sentinel(&c);
	ck_assert_msg(strstr(why, dir) != NULL, "why '%s' does not name %s", why, dir);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* ------------------------------------------------------------ config_free */

START_TEST(test_free_zeroes)
{
	struct config c;

	parse_ok("a 02:00:00:00:00:01 1\nb 02:00:00:00:00:02 2\n", &c);
	ck_assert_uint_eq(c.nlinks, 2);
	config_free(&c);
	ck_assert_ptr_null(c.links);
	ck_assert_uint_eq(c.nlinks, 0);
	config_free(&c); /* twice is harmless */
	ck_assert_ptr_null(c.links);
	ck_assert_uint_eq(c.nlinks, 0);
}
END_TEST

START_TEST(test_free_zero_struct)
{
	struct config c = { NULL, 0 };

	config_free(&c);
	ck_assert_ptr_null(c.links);
	ck_assert_uint_eq(c.nlinks, 0);
}
END_TEST

/* ------------------------------------------------------------ regressions */

/* Regression: with CRLF line endings the '\r' used to count towards the
 * 1024-character limit, so a 1024-character line ending in "\r\n" was
 * refused although the same line ending in "\n" is accepted. */
START_TEST(test_crlf_line_of_max_len)
{
	/* static: under CK_FORK=no a failure longjmps past any free() */
	static char text[LINE_MAX_LEN + 64];
	char *l = line_of_len(LINE_MAX_LEN);
	struct config c;

	snprintf(text, sizeof(text), "%s\r\nb 02:00:00:00:00:02 2\r\n", l);
	free(l);
	parse_ok(text, &c);
	ck_assert_uint_eq(c.nlinks, 2);
	assert_link(&c, 0, "padded", "02:00:00:00:00:01", 1, "default", 1);
	assert_link(&c, 1, "b", "02:00:00:00:00:02", 2, "default", 2);
	config_free(&c);
}
END_TEST

/* Regression: the overlong-line check used strlen() of what fgets() read,
 * so a NUL byte hid the length of a 1100-byte line 1 "# c\0xxx...x", the
 * rest was parsed as a new line 2 and the valid physical line 2 was
 * blamed.  NUL bytes are now refused, on the line that has them. */
START_TEST(test_nul_byte_refused_on_its_line)
{
	char text[2048];
	size_t n = 0;
	struct config c;
	char why[WHY_LEN] = "";

	memcpy(text, "# c", 3);
	n = 3;
	text[n++] = '\0';
	memset(text + n, 'x', 1100);
	n += 1100;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\nb 02:00:00:00:00:02 1\n");
	set_sentinel(&c);
	ck_assert_int_eq(parse_mem(text, n, &c, why, sizeof(why)), -EINVAL);
	assert_sentinel(&c);
	ck_assert_msg(strncmp(why, NAME ":1: ", strlen(NAME ":1: ")) == 0,
		      "error blamed on the wrong line: %s", why);
	ck_assert_msg(strstr(why, "NUL byte") != NULL, "no reason: %s", why);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, test_valid_full);
	tcase_add_test(tc, test_three_fields_default_domain);
	tcase_add_test(tc, test_four_fields);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_crlf_error_line);
	tcase_add_test(tc, test_no_final_newline);
	tcase_add_test(tc, test_mac_lowercased);
	tcase_add_test(tc, test_limits_accepted);
	tcase_add_test(tc, test_empty_stream);
	tcase_add_test(tc, test_only_comments_and_blanks);
	tcase_add_test(tc, test_line_exactly_max);
	tcase_add_test(tc, test_hundred_links);
	tcase_add_test(tc, test_same_mac_different_names);
	tcase_add_test(tc, test_names_case_sensitive);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_too_few_fields);
	tcase_add_test(tc, test_too_many_fields);
	tcase_add_test(tc, test_bad_name);
	tcase_add_test(tc, test_bad_mac);
	tcase_add_test(tc, test_bad_nchannels);
	tcase_add_test(tc, test_bad_domain);
	tcase_add_test(tc, test_duplicate_name);
	tcase_add_test(tc, test_overlong_line);
	tcase_add_test(tc, test_first_error_reported);
	tcase_add_test(tc, test_error_names_file);
	tcase_add_test(tc, test_error_why_truncated);
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_error_after_many_links);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_test(tc, test_file_valid);
	tcase_add_test(tc, test_file_error_uses_path);
	tcase_add_test(tc, test_file_empty);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_file_directory);
	suite_add_tcase(s, tc);

	tc = tcase_create("free");
	tcase_add_test(tc, test_free_zeroes);
	tcase_add_test(tc, test_free_zero_struct);
	suite_add_tcase(s, tc);

	/* bugs found and fixed: keep them fixed */
	tc = tcase_create("regressions");
	tcase_add_test(tc, test_crlf_line_of_max_len);
	tcase_add_test(tc, test_nul_byte_refused_on_its_line);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
