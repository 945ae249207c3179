/* Unit tests for proto/vlink_valid.c: names, MAC addresses, channel counts,
 * ring sizes and the number parsers. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vlink_valid.h"

#define WHY_LEN 256

/* ---------------------------------------------------------------- helpers */

/* Run vlink_check_name("link name", s) and return its result; the message
 * lands in why (pre-filled with a marker so an untouched buffer shows). */
static int name_check(const char *s, char why[WHY_LEN])
{
	strcpy(why, "<untouched>");
	return vlink_check_name("link name", s, why, WHY_LEN);
}

static void assert_name_ok(const char *s)
{
	char why[WHY_LEN];
	int err = name_check(s, why);

	ck_assert_msg(err == 0, "name '%s' refused (%d): %s", s, err, why);
}

/* The name is refused with -EINVAL and the message contains `needle`. */
static void assert_name_bad(const char *s, const char *needle)
{
	char why[WHY_LEN];
	int err = name_check(s, why);

	ck_assert_msg(err == -EINVAL, "name refused with %d, not -EINVAL", err);
	ck_assert_msg(strstr(why, needle) != NULL,
		      "why '%s' does not contain '%s'", why, needle);
	ck_assert_msg(strstr(why, "link name") != NULL,
		      "why '%s' does not name the thing checked", why);
	/* the same result without a message buffer */
	ck_assert_int_eq(vlink_check_name("link name", s, NULL, 0), -EINVAL);
	ck_assert_int_eq(vlink_check_name("link name", s, NULL, WHY_LEN), -EINVAL);
}

/* A string of `len` copies of c. */
static char *repeat(char c, size_t len)
{
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, len);
	s[len] = '\0';
	return s;
}

static const uint8_t SENTINEL_MAC[6] = { 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5 };

/* Parse s, expecting success and the bytes given. */
static void assert_mac_ok(const char *s, const uint8_t want[6])
{
	uint8_t mac[6];
	char why[WHY_LEN] = "<untouched>";
	int err;

	memcpy(mac, SENTINEL_MAC, 6);
	err = vlink_mac_parse(s, mac, why, sizeof(why));
	ck_assert_msg(err == 0, "MAC '%s' refused (%d): %s", s, err, why);
	ck_assert_mem_eq(mac, want, 6);
}

/* Parse s, expecting -EINVAL, a message containing needle and the output
 * left alone. */
static void assert_mac_bad(const char *s, const char *needle)
{
	uint8_t mac[6];
	char why[WHY_LEN] = "<untouched>";
	int err;

	memcpy(mac, SENTINEL_MAC, 6);
	err = vlink_mac_parse(s, mac, why, sizeof(why));
	ck_assert_msg(err == -EINVAL, "MAC '%s' gave %d, not -EINVAL", s ? s : "(null)",
		      err);
	ck_assert_msg(strstr(why, needle) != NULL, "MAC '%s': why '%s' lacks '%s'",
		      s ? s : "(null)", why, needle);
	ck_assert_mem_eq(mac, SENTINEL_MAC, 6);
	/* and with no message buffer */
	ck_assert_int_eq(vlink_mac_parse(s, mac, NULL, 0), -EINVAL);
	ck_assert_mem_eq(mac, SENTINEL_MAC, 6);
}

static const uint64_t SENTINEL_U64 = 0x5a5a5a5a5a5a5a5aULL;

static void assert_uint(const char *s, uint64_t max, int want_err, uint64_t want)
{
	uint64_t v = SENTINEL_U64;
	int err = vlink_parse_uint(s, max, &v);

	ck_assert_msg(err == want_err, "parse_uint('%s', %llu) = %d, want %d",
		      s ? s : "(null)", (unsigned long long)max, err, want_err);
	if (want_err)
		ck_assert_msg(v == SENTINEL_U64, "parse_uint('%s') wrote output on failure",
			      s ? s : "(null)");
	else
		ck_assert_msg(v == want, "parse_uint('%s') = %llu, want %llu",
			      s, (unsigned long long)v, (unsigned long long)want);
}

static void assert_size(const char *s, int want_err, uint64_t want)
{
	uint64_t v = SENTINEL_U64;
	int err = vlink_parse_size(s, &v);

	ck_assert_msg(err == want_err, "parse_size('%s') = %d, want %d",
		      s ? s : "(null)", err, want_err);
	if (want_err)
		ck_assert_msg(v == SENTINEL_U64, "parse_size('%s') wrote output on failure",
			      s ? s : "(null)");
	else
		ck_assert_msg(v == want, "parse_size('%s') = %llu, want %llu",
			      s, (unsigned long long)v, (unsigned long long)want);
}

/* ------------------------------------------------------- vlink_check_name */

START_TEST(test_name_empty)
{
	assert_name_bad("", "empty");
}
END_TEST

START_TEST(test_name_null)
{
	char why[WHY_LEN];

	ck_assert_int_eq(name_check(NULL, why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert_int_eq(vlink_check_name("link name", NULL, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_name_one_char)
{
	assert_name_ok("a");
	assert_name_ok("0");
	assert_name_ok("-");
}
END_TEST

START_TEST(test_name_exactly_32)
{
	char *s = repeat('x', VLINK_NAME_MAX);

	ck_assert_uint_eq(strlen(s), 32);
	assert_name_ok(s);
	free(s);
}
END_TEST

START_TEST(test_name_33_refused)
{
	char *s = repeat('x', VLINK_NAME_MAX + 1);

	assert_name_bad(s, "longer than 32");
	free(s);
}
END_TEST

START_TEST(test_name_very_long_refused)
{
	char *s = repeat('y', 5000);

	assert_name_bad(s, "longer than 32");
	free(s);
}
END_TEST

START_TEST(test_name_space)
{
	assert_name_bad(" ", "space");
	assert_name_bad("a b", "space");
	assert_name_bad(" ab", "space");
	assert_name_bad("ab ", "space");
}
END_TEST

START_TEST(test_name_tab)
{
	assert_name_bad("a\tb", "non-printable");
	assert_name_bad("a\tb", "0x09");
	assert_name_bad("\t", "non-printable");
}
END_TEST

/* Every control character 0x01-0x1f, alone and in the middle of a name. */
START_TEST(test_name_control_chars)
{
	char s[4] = { 'a', (char)_i, 'b', '\0' };
	char hex[8];

	snprintf(hex, sizeof(hex), "0x%02x", _i);
	assert_name_bad(s, "non-printable");
	assert_name_bad(s, hex);
	s[0] = (char)_i;
	s[1] = '\0';
	assert_name_bad(s, hex);
}
END_TEST

START_TEST(test_name_del)
{
	assert_name_bad("a\x7f", "non-printable");
	assert_name_bad("a\x7f", "0x7f");
}
END_TEST

/* Every byte 0x80-0xff is refused. */
START_TEST(test_name_high_bytes)
{
	char s[3] = { 'n', (char)_i, '\0' };
	char hex[8];

	snprintf(hex, sizeof(hex), "0x%02x", _i);
	assert_name_bad(s, "non-printable");
	assert_name_bad(s, hex);
}
END_TEST

START_TEST(test_name_utf8_refused)
{
	assert_name_bad("caf\xc3\xa9", "non-printable");
}
END_TEST

/* Every printable character 0x21-0x7e, alone. */
START_TEST(test_name_every_printable_char)
{
	char s[2] = { (char)_i, '\0' };

	assert_name_ok(s);
}
END_TEST

/* All printable characters in names of 32 (the last shorter). */
START_TEST(test_name_printable_run)
{
	char s[VLINK_NAME_MAX + 1];
	size_t k = 0;

	for (int c = 0x21; c <= 0x7e; c++) {
		s[k++] = (char)c;
		if (k == VLINK_NAME_MAX || c == 0x7e) {
			s[k] = '\0';
			assert_name_ok(s);
			k = 0;
		}
	}
}
END_TEST

START_TEST(test_name_why_uses_what)
{
	char why[WHY_LEN];

	ck_assert_int_eq(vlink_check_name("domain", "a b", why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "domain"));
	ck_assert_ptr_nonnull(strstr(why, "space"));
	ck_assert_int_eq(vlink_check_name("domain", "", why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "domain"));
}
END_TEST

/* A short why buffer gets a truncated, terminated message; nothing beyond
 * n is written. */
START_TEST(test_name_why_truncated)
{
	char why[16];

	memset(why, 'Z', sizeof(why));
	ck_assert_int_eq(vlink_check_name("link name", "a b", why, 8), -EINVAL);
	ck_assert_uint_eq(strlen(why), 7);
	ck_assert_int_eq(why[8], 'Z');
	ck_assert_int_eq(strncmp(why, "link na", 7), 0);
}
END_TEST

/* n == 0 with a buffer: nothing is written. */
START_TEST(test_name_why_zero_len)
{
	char why[4] = "abc";

	ck_assert_int_eq(vlink_check_name("link name", "", why, 0), -EINVAL);
	ck_assert_str_eq(why, "abc");
}
END_TEST

/* On success why is not written. */
START_TEST(test_name_ok_leaves_why)
{
	char why[WHY_LEN] = "keep";

	ck_assert_int_eq(vlink_check_name("link name", "eth0", why, sizeof(why)), 0);
	ck_assert_str_eq(why, "keep");
}
END_TEST

/* -------------------------------------------------------- vlink_mac_parse */

START_TEST(test_mac_lower)
{
	static const uint8_t want[6] = { 0x02, 0xab, 0xcd, 0xef, 0x01, 0x23 };

	assert_mac_ok("02:ab:cd:ef:01:23", want);
}
END_TEST

START_TEST(test_mac_upper_and_mixed)
{
	static const uint8_t want[6] = { 0x02, 0xab, 0xcd, 0xef, 0x01, 0x23 };

	assert_mac_ok("02:AB:CD:EF:01:23", want);
	assert_mac_ok("02:aB:Cd:eF:01:23", want);
}
END_TEST

START_TEST(test_mac_bytes)
{
	static const uint8_t a[6] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t b[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t c[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t d[6] = { 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f };

	assert_mac_ok("00:00:00:00:00:01", a);
	assert_mac_ok("fe:ff:ff:ff:ff:ff", b);
	assert_mac_ok("52:54:00:12:34:56", c);
	assert_mac_ok("0a:1b:2c:3d:4e:5f", d);
}
END_TEST

START_TEST(test_mac_ok_leaves_why)
{
	uint8_t mac[6];
	char why[WHY_LEN] = "keep";

	ck_assert_int_eq(vlink_mac_parse("02:00:00:00:00:01", mac, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "keep");
	ck_assert_int_eq(vlink_mac_parse("02:00:00:00:00:01", mac, NULL, 0), 0);
}
END_TEST

START_TEST(test_mac_null)
{
	assert_mac_bad(NULL, "malformed");
}
END_TEST

static const char *const bad_macs[] = {
	"",                       /* empty */
	"0",
	"02:00:00:00:00:0",       /* 16 characters */
	"02:00:00:00:00",         /* 5 octets */
	"02:00:00:00:00:00:01",   /* 7 octets */
	"02:00:00:00:00:001",     /* 18 characters */
	"02:00:00:00:00:01 ",     /* trailing space */
	"02:00:00:00:00:01\n",    /* trailing newline */
	"02:00:00:00:00:01x",     /* trailing garbage */
	" 02:00:00:00:00:01",     /* leading space */
	"020000000001",           /* no colons */
	"02000000000001000000",   /* no colons, long */
	"02-00-00-00-00-01",      /* '-' separators */
	"02.00.00.00.00.01",      /* '.' separators */
	"02:00-00:00:00:01",      /* one wrong separator */
	"0200:00:00:00:01:",      /* colons in the wrong places, 17 chars */
	"020:00:00:00:0:01",      /* misplaced colon, 17 chars */
	"2:00:00:00:00:001",      /* 17 chars, one-digit first octet */
	"0g:00:00:00:00:01",      /* non-hex */
	"02:00:00:00:00:0g",
	"02:00:00:00:zz:01",
	"02:00:00:00:00:0G",
	"x2:00:00:00:00:01",
	"02:00:00:00: 0:01",
	"02:00:00:00:00:+1",
	"0x:02:00:00:00:0",
	"02:00:00:00:00:\xc3\xa9",
	"::::::::::::::::1",
	"02::00:00:00:00:1",
};

START_TEST(test_mac_malformed)
{
	assert_mac_bad(bad_macs[_i], "malformed");
}
END_TEST

START_TEST(test_mac_malformed_why_quotes_input)
{
	char why[WHY_LEN];
	uint8_t mac[6];

	ck_assert_int_eq(vlink_mac_parse("02-00-00-00-00-01", mac, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "02-00-00-00-00-01"));
	ck_assert_ptr_nonnull(strstr(why, "xx:xx:xx:xx:xx:xx"));
}
END_TEST

START_TEST(test_mac_multicast)
{
	assert_mac_bad("01:00:5e:00:00:01", "multicast");
	assert_mac_bad("01:00:00:00:00:00", "multicast");
	assert_mac_bad("33:33:00:00:00:01", "multicast");
	assert_mac_bad("03:00:00:00:00:01", "multicast");
	assert_mac_bad("ff:ff:ff:ff:ff:ff", "multicast");
	assert_mac_bad("FF:FF:FF:FF:FF:FF", "multicast");
	assert_mac_bad("0F:00:00:00:00:01", "multicast");
}
END_TEST

/* Every odd first octet is multicast, every even one (with a non-zero
 * rest) is accepted. */
START_TEST(test_mac_first_octet)
{
	char s[VLINK_MAC_STRLEN];
	uint8_t want[6] = { (uint8_t)_i, 0, 0, 0, 0, 1 };

	snprintf(s, sizeof(s), "%02x:00:00:00:00:01", _i);
	if (_i & 1)
		assert_mac_bad(s, "multicast");
	else
		assert_mac_ok(s, want);
}
END_TEST

START_TEST(test_mac_all_zero)
{
	assert_mac_bad("00:00:00:00:00:00", "00:00:00:00:00:00");
	assert_mac_bad("00:00:00:00:00:00", "not a valid");
}
END_TEST

/* ------------------------------------------------------- vlink_mac_format */

START_TEST(test_mac_format)
{
	static const uint8_t m[6] = { 0x02, 0xAB, 0x0c, 0x00, 0xff, 0x10 };
	char out[VLINK_MAC_STRLEN];

	memset(out, 'Z', sizeof(out));
	vlink_mac_format(m, out);
	ck_assert_str_eq(out, "02:ab:0c:00:ff:10");
	ck_assert_uint_eq(strlen(out), VLINK_MAC_STRLEN - 1);
}
END_TEST

/* Parse (upper case) -> format gives lower case, and format -> parse gives
 * the bytes back, for every byte value in every position. */
START_TEST(test_mac_round_trip)
{
	for (int pos = 0; pos < 6; pos++) {
		uint8_t m[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }, back[6];
		char out[VLINK_MAC_STRLEN], upper[VLINK_MAC_STRLEN], why[WHY_LEN];

		m[pos] = (uint8_t)_i;
		if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
			continue;
		vlink_mac_format(m, out);
		ck_assert_uint_eq(strlen(out), 17);
		ck_assert_int_eq(vlink_mac_parse(out, back, why, sizeof(why)), 0);
		ck_assert_mem_eq(back, m, 6);

		snprintf(upper, sizeof(upper), "%02X:%02X:%02X:%02X:%02X:%02X", m[0],
			 m[1], m[2], m[3], m[4], m[5]);
		memset(back, 0, sizeof(back));
		ck_assert_int_eq(vlink_mac_parse(upper, back, why, sizeof(why)), 0);
		ck_assert_mem_eq(back, m, 6);
		vlink_mac_format(back, upper);
		ck_assert_str_eq(upper, out);
	}
}
END_TEST

/* -------------------------------------------------- vlink_check_nchannels */

START_TEST(test_nchannels)
{
	char why[WHY_LEN] = "keep";

	ck_assert_int_eq(vlink_check_nchannels(1, why, sizeof(why)), 0);
	ck_assert_int_eq(vlink_check_nchannels(2, why, sizeof(why)), 0);
	ck_assert_int_eq(vlink_check_nchannels(63, why, sizeof(why)), 0);
	ck_assert_int_eq(vlink_check_nchannels(64, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "keep");
	ck_assert_int_eq(vlink_check_nchannels(VLINK_NCHANNELS_MAX, NULL, 0), 0);
}
END_TEST

static void assert_nchannels_bad(uint64_t v, const char *num)
{
	char why[WHY_LEN] = "";

	ck_assert_int_eq(vlink_check_nchannels(v, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "out of range") != NULL, "why: %s", why);
	ck_assert_msg(strstr(why, num) != NULL, "why '%s' lacks '%s'", why, num);
	ck_assert_msg(strstr(why, "1-64") != NULL, "why '%s' lacks the range", why);
	ck_assert_int_eq(vlink_check_nchannels(v, NULL, 0), -EINVAL);
}

START_TEST(test_nchannels_bad)
{
	assert_nchannels_bad(0, "0");
	assert_nchannels_bad(65, "65");
	assert_nchannels_bad(1000, "1000");
	assert_nchannels_bad(UINT32_MAX, "4294967295");
	assert_nchannels_bad((uint64_t)UINT32_MAX + 2, "4294967297");
	assert_nchannels_bad(UINT64_MAX, "18446744073709551615");
}
END_TEST

/* ------------------------------------------------- vlink_check_ring_size */

START_TEST(test_ring_powers_of_two)
{
	char why[WHY_LEN] = "keep";
	unsigned n = 0;

	for (uint64_t v = VLINK_RING_MIN; v <= VLINK_RING_MAX; v <<= 1, n++)
		ck_assert_msg(vlink_check_ring_size(v, why, sizeof(why)) == 0,
			      "ring size %llu refused: %s", (unsigned long long)v, why);
	ck_assert_uint_eq(n, 9); /* 64 .. 16384 */
	ck_assert_str_eq(why, "keep");
	ck_assert_int_eq(vlink_check_ring_size(64, NULL, 0), 0);
	ck_assert_int_eq(vlink_check_ring_size(1024, NULL, 0), 0);
	ck_assert_int_eq(vlink_check_ring_size(16384, NULL, 0), 0);
	ck_assert_int_eq(vlink_check_ring_size(VLINK_RING_DEFAULT, NULL, 0), 0);
}
END_TEST

/* the link's MTU: 68..9000, the default inside, a message that says so */
START_TEST(test_mtu)
{
	static const uint64_t good[] = { VLINK_MTU_MIN, 576, 1500, VLINK_MTU_DEFAULT,
					 VLINK_MTU_MAX };
	static const uint64_t bad[] = { 0, 1, 67, 9001, 65535, 1ULL << 32, UINT64_MAX };
	char why[WHY_LEN], want[WHY_LEN];

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_int_eq(vlink_check_mtu(good[i], NULL, 0), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(vlink_check_mtu(bad[i], why, sizeof(why)), -EINVAL);
		snprintf(want, sizeof(want), "MTU %llu out of range (68-9000)",
			 (unsigned long long)bad[i]);
		ck_assert_str_eq(why, want);
	}
}
END_TEST

static const uint64_t bad_rings[] = {
	0, 1, 2, 4, 32, 63, 65, 96, 100, 127, 1000, 1023, 1025, 3072, 16383, 16385,
	24576, 32768, 65536, 1ULL << 32, 1ULL << 63, UINT64_MAX, UINT64_MAX - 1,
};

START_TEST(test_ring_bad)
{
	uint64_t v = bad_rings[_i];
	char why[WHY_LEN] = "", num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	ck_assert_msg(vlink_check_ring_size(v, why, sizeof(why)) == -EINVAL,
		      "ring size %s accepted", num);
	ck_assert_msg(strstr(why, "power of two") != NULL, "why: %s", why);
	ck_assert_msg(strstr(why, num) != NULL, "why '%s' lacks '%s'", why, num);
	ck_assert_msg(strstr(why, "64") && strstr(why, "16384"), "why: %s", why);
	ck_assert_int_eq(vlink_check_ring_size(v, NULL, 0), -EINVAL);
}
END_TEST

/* ------------------------------------------------------- vlink_parse_uint */

START_TEST(test_uint_basic)
{
	assert_uint("0", UINT64_MAX, 0, 0);
	assert_uint("1", UINT64_MAX, 0, 1);
	assert_uint("42", UINT64_MAX, 0, 42);
	assert_uint("007", UINT64_MAX, 0, 7);
	assert_uint("4294967295", UINT32_MAX, 0, UINT32_MAX);
	assert_uint("1234567890", UINT64_MAX, 0, 1234567890ULL);
}
END_TEST

START_TEST(test_uint_empty_null)
{
	assert_uint("", UINT64_MAX, -EINVAL, 0);
	assert_uint(NULL, UINT64_MAX, -EINVAL, 0);
}
END_TEST

START_TEST(test_uint_max_boundary)
{
	assert_uint("100", 100, 0, 100);
	assert_uint("99", 100, 0, 99);
	assert_uint("101", 100, -ERANGE, 0);
	assert_uint("1000", 100, -ERANGE, 0);
	assert_uint("3600", 3600, 0, 3600);
	assert_uint("3601", 3600, -ERANGE, 0);
	assert_uint("4294967295", UINT32_MAX, 0, UINT32_MAX);
	assert_uint("4294967296", UINT32_MAX, -ERANGE, 0);
	assert_uint("4294967294", UINT32_MAX - 1, 0, UINT32_MAX - 1);
	assert_uint("4294967295", UINT32_MAX - 1, -ERANGE, 0);
	assert_uint("9", 9, 0, 9);
	assert_uint("10", 9, -ERANGE, 0);
	assert_uint("0", 9, 0, 0);
	assert_uint("00000000000000000000000000000", 9, 0, 0);
}
END_TEST

START_TEST(test_uint64_boundary)
{
	assert_uint("18446744073709551615", UINT64_MAX, 0, UINT64_MAX);
	assert_uint("18446744073709551614", UINT64_MAX, 0, UINT64_MAX - 1);
	assert_uint("018446744073709551615", UINT64_MAX, 0, UINT64_MAX);
	assert_uint("18446744073709551616", UINT64_MAX, -ERANGE, 0);
	assert_uint("18446744073709551620", UINT64_MAX, -ERANGE, 0);
	assert_uint("18446744073709551625", UINT64_MAX, -ERANGE, 0);
	assert_uint("99999999999999999999", UINT64_MAX, -ERANGE, 0);
	assert_uint("184467440737095516150", UINT64_MAX, -ERANGE, 0);
	assert_uint("99999999999999999999999999999999999999", UINT64_MAX, -ERANGE, 0);
	/* too large and not a number: not a number (fuzz_frame found this
	 * returning -ERANGE) */
	assert_uint("099999999999999%9", UINT32_MAX, -EINVAL, 0);
	assert_uint("99999999999999999999x", UINT64_MAX, -EINVAL, 0);
}
END_TEST

START_TEST(test_uint_signs_spaces_hex)
{
	static const char *const bad[] = {
		"+1", "-1", "-0", "+", "-", " 1", "1 ", " ", "1\n", "\t1", "1 2",
		"0x10", "0X10", "1a", "a1", "ff", "1.0", "1e3", "1,000", "1_000",
		"1K", "\xc2\xb9",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_uint(bad[i], UINT64_MAX, -EINVAL, 0);
}
END_TEST

/* Regression: with a maximum below 9, `max - digit` used to wrap round and
 * vlink_parse_uint("7", 5) returned 0 and 7. */
START_TEST(test_uint_digit_above_small_max)
{
	assert_uint("5", 5, 0, 5);
	assert_uint("6", 5, -ERANGE, 0);
	assert_uint("7", 5, -ERANGE, 0);
	assert_uint("19", 5, -ERANGE, 0);
	assert_uint("0", 0, 0, 0);
	assert_uint("1", 0, -ERANGE, 0);
	assert_uint("9", 1, -ERANGE, 0);
}
END_TEST

/* ------------------------------------------------------- vlink_parse_size */

START_TEST(test_size_plain)
{
	assert_size("0", 0, 0);
	assert_size("1", 0, 1);
	assert_size("4096", 0, 4096);
	assert_size("18446744073709551615", 0, UINT64_MAX);
	assert_size("18446744073709551616", -ERANGE, 0);
}
END_TEST

START_TEST(test_size_suffixes)
{
	assert_size("2k", 0, 2048);
	assert_size("2K", 0, 2048);
	assert_size("64M", 0, 64ULL << 20);
	assert_size("64m", 0, 64ULL << 20);
	assert_size("1G", 0, 1ULL << 30);
	assert_size("1g", 0, 1ULL << 30);
	assert_size("0K", 0, 0);
	assert_size("0M", 0, 0);
	assert_size("0G", 0, 0);
	assert_size("1024K", 0, 1ULL << 20);
	assert_size("16G", 0, 16ULL << 30);
}
END_TEST

START_TEST(test_size_suffix_boundaries)
{
	assert_size("17179869183G", 0, (UINT64_MAX >> 30) << 30);
	assert_size("17179869184G", -ERANGE, 0);
	assert_size("17592186044415M", 0, (UINT64_MAX >> 20) << 20);
	assert_size("17592186044416M", -ERANGE, 0);
	assert_size("18014398509481983K", 0, (UINT64_MAX >> 10) << 10);
	assert_size("18014398509481984K", -ERANGE, 0);
	assert_size("99999999999G", -ERANGE, 0);
	assert_size("99999999999999999999K", -ERANGE, 0);
}
END_TEST

START_TEST(test_size_garbage)
{
	static const char *const bad[] = {
		"", "M", "K", "G", "k", "MM", "1MM", "1KB", "1MiB", "1T", "1B", "1 M",
		" 1M", "1M ", "M1", "-1", "-1K", "+1K", "1.5G", "0x10", "abc", "1e3",
		"1\n", "1,5M",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_size(bad[i], -EINVAL, 0);
	assert_size(NULL, -EINVAL, 0);
}
END_TEST

/* Strings of 32 characters or more are refused outright. */
START_TEST(test_size_too_long)
{
	char *s = repeat('1', 40);

	assert_size(s, -EINVAL, 0);
	free(s);
	s = repeat('0', 4096);
	assert_size(s, -EINVAL, 0);
	free(s);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *valid_suite(void)
{
	Suite *s = suite_create("vlink_valid");
	TCase *tc;

	tc = tcase_create("name");
	tcase_add_test(tc, test_name_empty);
	tcase_add_test(tc, test_name_null);
	tcase_add_test(tc, test_name_one_char);
	tcase_add_test(tc, test_name_exactly_32);
	tcase_add_test(tc, test_name_33_refused);
	tcase_add_test(tc, test_name_very_long_refused);
	tcase_add_test(tc, test_name_space);
	tcase_add_test(tc, test_name_tab);
	tcase_add_loop_test(tc, test_name_control_chars, 0x01, 0x20);
	tcase_add_test(tc, test_name_del);
	tcase_add_loop_test(tc, test_name_high_bytes, 0x80, 0x100);
	tcase_add_test(tc, test_name_utf8_refused);
	tcase_add_loop_test(tc, test_name_every_printable_char, 0x21, 0x7f);
	tcase_add_test(tc, test_name_printable_run);
	tcase_add_test(tc, test_name_why_uses_what);
	tcase_add_test(tc, test_name_why_truncated);
	tcase_add_test(tc, test_name_why_zero_len);
	tcase_add_test(tc, test_name_ok_leaves_why);
	suite_add_tcase(s, tc);

	tc = tcase_create("mac");
	tcase_add_test(tc, test_mac_lower);
	tcase_add_test(tc, test_mac_upper_and_mixed);
	tcase_add_test(tc, test_mac_bytes);
	tcase_add_test(tc, test_mac_ok_leaves_why);
	tcase_add_test(tc, test_mac_null);
	tcase_add_loop_test(tc, test_mac_malformed, 0,
			    (int)(sizeof(bad_macs) / sizeof(bad_macs[0])));
	tcase_add_test(tc, test_mac_malformed_why_quotes_input);
	tcase_add_test(tc, test_mac_multicast);
	tcase_add_loop_test(tc, test_mac_first_octet, 0, 256);
	tcase_add_test(tc, test_mac_all_zero);
	tcase_add_test(tc, test_mac_format);
	tcase_add_loop_test(tc, test_mac_round_trip, 0, 256);
	suite_add_tcase(s, tc);

	tc = tcase_create("nchannels_ring");
	tcase_add_test(tc, test_nchannels);
	tcase_add_test(tc, test_nchannels_bad);
	tcase_add_test(tc, test_ring_powers_of_two);
	tcase_add_test(tc, test_mtu);
	tcase_add_loop_test(tc, test_ring_bad, 0,
			    (int)(sizeof(bad_rings) / sizeof(bad_rings[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_uint");
	tcase_add_test(tc, test_uint_basic);
	tcase_add_test(tc, test_uint_empty_null);
	tcase_add_test(tc, test_uint_max_boundary);
	tcase_add_test(tc, test_uint64_boundary);
	tcase_add_test(tc, test_uint_signs_spaces_hex);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_size");
	tcase_add_test(tc, test_size_plain);
	tcase_add_test(tc, test_size_suffixes);
	tcase_add_test(tc, test_size_suffix_boundaries);
	tcase_add_test(tc, test_size_garbage);
	tcase_add_test(tc, test_size_too_long);
	suite_add_tcase(s, tc);

	/* bugs found and fixed: keep them fixed */
	tc = tcase_create("regressions");
	tcase_add_test(tc, test_uint_digit_above_small_max);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(valid_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
