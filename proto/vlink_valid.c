#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vlink_error.h"
#include "vlink_valid.h"

int vlink_check_name(const char *what, const char *s, char *why, size_t n)
{
	size_t len;

	if (!s || !*s)
		return vlink_why(why, n, -EINVAL, "%s is empty (1-%d printable characters)", what,
			   VLINK_NAME_MAX);
	len = strnlen(s, VLINK_NAME_MAX + 1);
	if (len > VLINK_NAME_MAX)
		return vlink_why(why, n, -EINVAL, "%s is longer than %d characters", what,
			   VLINK_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ')
			return vlink_why(why, n, -EINVAL, "%s '%s' contains a space", what, s);
		if (c < 0x21 || c > 0x7e)
			return vlink_why(why, n, -EINVAL,
				   "%s contains a non-printable character (byte 0x%02x at %zu)",
				   what, c, i);
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int vlink_mac_parse(const char *s, uint8_t mac[6], char *why, size_t n)
{
	uint8_t m[6];

	if (!s || strlen(s) != 17)
		goto malformed;
	for (int i = 0; i < 6; i++) {
		int hi = hexval((unsigned char)s[3 * i]);
		int lo = hexval((unsigned char)s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			goto malformed;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	if (m[0] & 1)
		return vlink_why(why, n, -EINVAL, "MAC %s is a multicast address (need unicast)", s);
	if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return vlink_why(why, n, -EINVAL, "MAC 00:00:00:00:00:00 is not a valid address");
	memcpy(mac, m, 6);
	return 0;
malformed:
	return vlink_why(why, n, -EINVAL, "MAC '%s' is malformed (expected xx:xx:xx:xx:xx:xx)",
		   s ? s : "");
}

void vlink_mac_format(const uint8_t mac[6], char out[VLINK_MAC_STRLEN])
{
	snprintf(out, VLINK_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int vlink_check_nchannels(uint64_t v, char *why, size_t n)
{
	if (v < 1 || v > VLINK_NCHANNELS_MAX)
		return vlink_why(why, n, -EINVAL, "channel count %llu out of range (1-%d data channels)",
			   (unsigned long long)v, VLINK_NCHANNELS_MAX);
	return 0;
}

int vlink_check_ring_size(uint64_t v, char *why, size_t n)
{
	if (v < VLINK_RING_MIN || v > VLINK_RING_MAX || (v & (v - 1)))
		return vlink_why(why, n, -EINVAL,
			   "ring size %llu is not a power of two between %d and %d",
			   (unsigned long long)v, VLINK_RING_MIN, VLINK_RING_MAX);
	return 0;
}

int vlink_check_mtu(uint64_t v, char *why, size_t n)
{
	if (v < VLINK_MTU_MIN || v > VLINK_MTU_MAX)
		return vlink_why(why, n, -EINVAL, "MTU %llu out of range (%d-%d)",
				 (unsigned long long)v, VLINK_MTU_MIN, VLINK_MTU_MAX);
	return 0;
}

int vlink_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool big = false;

	if (!s || !*s)
		return -EINVAL;
	/* a character that is not a digit makes it no number, however large
	 * the digits before it were */
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		/* v * 10 cannot overflow once v <= max / 10 */
		if (big || v > max / 10 || (uint64_t)(*s - '0') > max - v * 10)
			big = true;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	if (big)
		return -ERANGE;
	*out = v;
	return 0;
}

int vlink_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t len = s ? strlen(s) : 0;
	unsigned shift = 0;
	uint64_t v;
	int err;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	switch (toupper((unsigned char)num[len - 1])) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	}
	if (shift)
		num[len - 1] = '\0';
	err = vlink_parse_uint(num, UINT64_MAX >> shift, &v);
	if (err)
		return err;
	*out = v << shift;
	return 0;
}
