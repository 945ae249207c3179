/* The test payload vlink-peer and the host-end test program exchange: a
 * 16-byte header {u32 magic, u32 size, u64 seq} then 8-byte words derived
 * from seq and their position, so that every byte of a packet is checked
 * and a packet from another sequence number never passes.  Little-endian
 * hosts only (x86_64, arm64). */
#ifndef VLINK_PAYLOAD_H
#define VLINK_PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define VLINK_PAYLOAD_MAGIC 0x45504c56u /* "VLPE" */
#define VLINK_PAYLOAD_MIN   16u
#define VLINK_PAYLOAD_MAX   65536u

static inline uint64_t vlink_payload_word(uint64_t seq, uint64_t i)
{
	uint64_t x = (seq + 1) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;

	return x ^ (x >> 31);
}

/* Write a packet of `size` bytes (>= VLINK_PAYLOAD_MIN) into buf. */
static inline void vlink_payload_fill(uint8_t *buf, uint32_t size, uint64_t seq)
{
	uint32_t magic = VLINK_PAYLOAD_MAGIC;
	uint32_t i;

	memcpy(buf, &magic, 4);
	memcpy(buf + 4, &size, 4);
	memcpy(buf + 8, &seq, 8);
	for (i = 16; i + 8 <= size; i += 8) {
		uint64_t w = vlink_payload_word(seq, i);

		memcpy(buf + i, &w, 8);
	}
	if (i < size) {
		uint64_t w = vlink_payload_word(seq, i);

		memcpy(buf + i, &w, size - i);
	}
}

/* Check a whole packet: true and *seq when every byte is as sent. */
static inline bool vlink_payload_check(const uint8_t *buf, uint32_t len, uint64_t *seq)
{
	uint32_t magic, size, i;
	uint64_t s;

	if (len < VLINK_PAYLOAD_MIN)
		return false;
	memcpy(&magic, buf, 4);
	memcpy(&size, buf + 4, 4);
	memcpy(&s, buf + 8, 8);
	if (magic != VLINK_PAYLOAD_MAGIC || size != len)
		return false;
	for (i = 16; i + 8 <= len; i += 8) {
		uint64_t w = vlink_payload_word(s, i), got;

		memcpy(&got, buf + i, 8);
		if (got != w)
			return false;
	}
	if (i < len) {
		uint64_t w = vlink_payload_word(s, i);

		if (memcmp(buf + i, &w, len - i))
			return false;
	}
	*seq = s;
	return true;
}

#endif
