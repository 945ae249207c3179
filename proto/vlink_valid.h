/* Validation of the values users and clients hand to vlink.  Each check
 * returns 0 or -EINVAL and, on failure, writes a sentence saying what was
 * wrong into why[0..n) (why may be NULL). */
#ifndef VLINK_VALID_H
#define VLINK_VALID_H

#include <stddef.h>
#include <stdint.h>

#define VLINK_NAME_MAX       32     /* link and domain names */
#define VLINK_NCHANNELS_MAX  64     /* data channels per link */
#define VLINK_RING_MIN       64
#define VLINK_RING_MAX       16384
#define VLINK_RING_DEFAULT   1024
#define VLINK_DEFAULT_DOMAIN "default"
/* A link's MTU: the largest packet an end may send is MTU +
 * VLINK_L2_OVERHEAD bytes (an Ethernet header and one VLAN tag).  The
 * default is the largest every end handles (chains of 2 KiB buffers). */
#define VLINK_MTU_MIN        68
#define VLINK_MTU_MAX        9000
#define VLINK_MTU_DEFAULT    9000
#define VLINK_L2_OVERHEAD    18
#define VLINK_MAC_STRLEN     18     /* "xx:xx:xx:xx:xx:xx" + NUL */

/* Names: 1-32 printable ASCII characters, no spaces.  `what` names the
 * thing in the message ("link name", "domain"). */
int vlink_check_name(const char *what, const char *s, char *why, size_t n);
/* "xx:xx:xx:xx:xx:xx", unicast, not all zero. */
int vlink_mac_parse(const char *s, uint8_t mac[6], char *why, size_t n);
void vlink_mac_format(const uint8_t mac[6], char out[VLINK_MAC_STRLEN]);
int vlink_check_nchannels(uint64_t n, char *why, size_t len);
/* A power of two in [VLINK_RING_MIN, VLINK_RING_MAX]. */
int vlink_check_ring_size(uint64_t n, char *why, size_t len);
/* In [VLINK_MTU_MIN, VLINK_MTU_MAX]. */
int vlink_check_mtu(uint64_t mtu, char *why, size_t len);
/* Decimal number with an optional K, M or G suffix (binary units). */
int vlink_parse_size(const char *s, uint64_t *out);
/* Decimal unsigned number, whole string, no sign, at most max. */
int vlink_parse_uint(const char *s, uint64_t max, uint64_t *out);

#endif
