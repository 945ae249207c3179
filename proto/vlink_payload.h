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

/* The receiving side: gathers a chain of buffers into a packet, checks
 * it, and keeps the tally (in order means each sequence number is the one
 * after the last intact packet's). */
struct vlink_payload_rx {
	uint64_t got;              /* packets completed */
	uint64_t ok, corrupt;      /* intact / not */
	uint64_t lost;             /* sequence numbers skipped */
	uint64_t reordered;        /* intact packets older than expected */
	uint64_t bytes;
	uint64_t aborted;          /* partial packets dropped (vlink_payload_rx_abort) */
	uint64_t expect;           /* the sequence number due next */
	uint32_t len;              /* bytes of the packet gathered so far */
	bool bad;                  /* the packet being gathered is not intact */
	uint8_t pkt[VLINK_PAYLOAD_MAX];
};

/* One buffer of a packet.  data NULL: a buffer that could not be read
 * (the packet counts as corrupt).  more: the packet goes on in the next
 * buffer; otherwise it is complete and checked now. */
static inline void vlink_payload_rx_add(struct vlink_payload_rx *rx, const void *data,
					uint32_t len, bool more)
{
	uint64_t seq;

	if (!data || (uint64_t)rx->len + len > sizeof(rx->pkt))
		rx->bad = true;
	else
		memcpy(rx->pkt + rx->len, data, len);
	rx->len += len;
	if (more)
		return;
	rx->got++;
	rx->bytes += rx->len;
	if (rx->bad || !vlink_payload_check(rx->pkt, rx->len, &seq)) {
		rx->corrupt++;
	} else {
		rx->ok++;
		if (seq > rx->expect)
			rx->lost += seq - rx->expect;
		else if (seq < rx->expect)
			rx->reordered++;
		if (seq >= rx->expect)
			rx->expect = seq + 1;
	}
	rx->len = 0;
	rx->bad = false;
}

/* Drop the packet being gathered: its first buffers were voided (a reset
 * of the link), the rest will not come. */
static inline void vlink_payload_rx_abort(struct vlink_payload_rx *rx)
{
	if (rx->len)
		rx->aborted++;
	rx->len = 0;
	rx->bad = false;
}

#endif
