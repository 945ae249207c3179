/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c) and the seed
 * generator (gen-corpus.c): the cursor that reads a fuzz input, the
 * invariant check, and the input formats of the targets.
 *
 * Every target reads its input as a short header and then a sequence of
 * records, each an op byte and its arguments; a record cut short by the
 * end of the input reads as zeros, so every byte string is a valid input.
 * The formats are documented here and in tests/fuzz/README.md; the
 * generator writes seeds in them. */
#ifndef VLINK_FUZZ_H
#define VLINK_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "vlink_frame.h"

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t v = fz_u8(f);

	return (uint16_t)(v | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t v = fz_u16(f);

	return v | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t v = fz_u32(f);

	return v | (uint64_t)fz_u32(f) << 32;
}

/* Up to len bytes: where they are, and how many there were. */
static inline const uint8_t *fz_bytes(struct fz *f, size_t len, size_t *got)
{
	const uint8_t *p = f->p;

	if (len > f->n)
		len = f->n;
	f->p += len;
	f->n -= len;
	*got = len;
	return p;
}

/* A broken invariant is a crash: libFuzzer keeps the input that did it. */
#define FZ_ASSERT(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "\n%s:%d: invariant broken: %s: ",      \
				__FILE__, __LINE__, #cond);                    \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* A frame header as vlink_frame.h describes it, written by hand so that a
 * harness can claim any number of fds. */
static inline void fz_frame_header(uint8_t h[VLINK_FRAME_HDR_SIZE], size_t len, unsigned nfds)
{
	h[0] = VLINK_FRAME_MAGIC & 0xff;
	h[1] = VLINK_FRAME_MAGIC >> 8;
	h[2] = VLINK_FRAME_VERSION;
	h[3] = (uint8_t)nfds;
	for (int i = 0; i < 4; i++)
		h[4 + i] = (uint8_t)(len >> (8 * i));
}

#define FZ_MAX_SEND 31 /* fds on one fz_sendmsg() */

/* One non-blocking sendmsg() of up to len bytes with nfds fds
 * (SCM_RIGHTS): bytes sent, or -1 with errno. */
static inline ssize_t fz_sendmsg(int sock, const void *p, size_t len, const int *fds,
				 unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FZ_MAX_SEND)];
	} ctl;
	struct iovec iov = { (void *)p, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		if (nfds > FZ_MAX_SEND)
			nfds = FZ_MAX_SEND;
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* ---- fuzz_frame -------------------------------------------------------
 * byte 0: FRAME_F_* flags.  Then, with FRAME_F_VALID, records
 *   u8 nfds (mod 17), u8 split (FRAME_SPLIT_*), u16 len, len payload bytes
 * each a frame the harness frames correctly and sends in 1-4 pieces, its
 * fds with the first piece; without it, records
 *   u8 ctl (FRAME_RAW_*), u16 len, len bytes sent as they are. */
#define FRAME_F_VALID     0x01  /* well-formed stream: every frame must come out */
#define FRAME_F_SMALLBUF  0x02  /* tiny socket buffers: partial reads and writes */
#define FRAME_SPLIT_PIECES 0x03 /* pieces - 1 */
#define FRAME_SPLIT_JOIN   0x04 /* (no fds) same sendmsg as the previous piece */
#define FRAME_RAW_NFDS     0x1f /* fds on this sendmsg (more than 16 truncates) */
#define FRAME_RAW_DRAIN    0x80 /* read everything sent so far after it */

/* ---- fuzz_server ------------------------------------------------------
 * Records: u8 op = kind << 2 | connection (mod SRV_NCONN), then by kind:
 *   SRV_FRAME   u16 len, payload: one frame, header made by the harness
 *   SRV_RAW     u16 len, bytes sent as they are
 *   SRV_FDS     u8 sent | claimed << 4, u16 len, payload: a frame claiming
 *               `claimed` fds, `sent` fds on its sendmsg
 *   SRV_CREATE  u8 name, u8 mac, u8 nchannels, u8 ring, u8 domain: a
 *               CreateLink from small alphabets (srv_name() and friends)
 *   SRV_REQ     u8 which (SRV_REQ_*), u8 a, u8 b: any other request
 *   SRV_CLOSE   close the connection (the next record on it reconnects)
 *   SRV_HELLO   u8 role, u8 version - VLINK_PROTOCOL_VERSION, u8 name
 *   SRV_CONFIG  u8 mode: with 0x80, u16 len and any text; else mode % 5
 *               lines of u8 name, u8 mac, u8 nchannels, u8 domain: write
 *               the config file and apply it as SIGHUP does
 *   SRV_RESTART stop the daemon and start it again from its state file
 * A connection is opened when a record needs it. */
#define SRV_NCONN 3
enum { SRV_FRAME, SRV_RAW, SRV_FDS, SRV_HELLO, SRV_CREATE, SRV_REQ, SRV_CLOSE,
       SRV_CONFIG, SRV_RESTART, SRV_NKINDS };
enum { SRV_REQ_DELETE, SRV_REQ_SHOW, SRV_REQ_LIST, SRV_REQ_STATUS, SRV_REQ_MONITOR,
       SRV_REQ_ATTACH_DOMAIN, SRV_REQ_ATTACH_LINK, SRV_REQ_DETACH, SRV_REQ_NOTIFIERS,
       SRV_REQ_N };

/* names from a byte: a few links and domains so that they collide, and
 * now and then an invalid one */
static inline const char *srv_name(uint8_t b)
{
	static const char *const v[] = { "l0", "l1", "l2", "vm1.eth0", "", "bad name",
					 "x23456789012345678901234567890123", "l\x01" };

	return v[b % (sizeof(v) / sizeof(v[0]))];
}

static inline const char *srv_domain(uint8_t b)
{
	static const char *const v[] = { "", "default", "vm1", "vm2", "d%/x", "bad dom" };

	return v[b % (sizeof(v) / sizeof(v[0]))];
}

static inline const char *srv_mac(uint8_t b)
{
	static const char *const v[] = { "02:00:00:00:00:01", "02:00:00:00:00:02",
					 "02:aa:bb:cc:dd:ee", "03:00:00:00:00:01",
					 "00:00:00:00:00:00", "02:00:00:00:00", "zz:00:00:00:00:01" };

	return v[b % (sizeof(v) / sizeof(v[0]))];
}

/* ---- fuzz_hostend -----------------------------------------------------
 * Header: u8 channels (1 + mod 4), u8 ring (2 << mod 5), u8 buffer size
 * (64 << mod 6), u8 buffers (1 + mod 64), u8 base mode (HOST_BASE_*),
 * u64 base (HOST_BASE_ANY only).  Then records: u8 op (HOST_*), u8 ch,
 * and the op's arguments (see fuzz_hostend.c). */
enum { HOST_BASE_ZERO, HOST_BASE_2M, HOST_BASE_TOP, HOST_BASE_ANY, HOST_BASE_N };
enum { HOST_LEND, HOST_TAKE, HOST_FORGE_INDEX, HOST_FORGE_DESC, HOST_PEER,
       HOST_RETRACT, HOST_RECLAIM, HOST_LEND_ONE, HOST_RESET, HOST_REFILL, HOST_N };

/* ---- fuzz_guest -------------------------------------------------------
 * Header: u8 slot, u8 channels (1 + mod 4), u8 ring (64 << mod 3), u8
 * header offset (4 KiB steps), u8 buffer area (which one in the pool): a
 * valid link "L".  Then u8 how: how % 8 pokes, each u8 field (GUEST_F_*),
 * u8 mode (1: a u64 value follows, else a u32; 2: add the value as an
 * int8 to what is there), the value; with how & 0x80 the link is observed,
 * not opened.  Then records: u8 op (GUEST_OP_*) and its arguments (see
 * fuzz_guest.c). */
enum { GUEST_F_REG_STATUS, GUEST_F_REG_MAGIC, GUEST_F_REG_POOL, GUEST_F_REG_REGION,
       GUEST_F_REG_DOMAIN, GUEST_F_MAGIC, GUEST_F_VERSION, GUEST_F_NAME, GUEST_F_FLAGS,
       GUEST_F_NCHANNELS, GUEST_F_RING, GUEST_F_BUF_SIZE, GUEST_F_STRIDE,
       GUEST_F_HDR_OFFSET, GUEST_F_BUF_OFFSET, GUEST_F_BUF_AREA, GUEST_F_MAC,
       GUEST_F_LHDR, GUEST_F_RING_SIZE, GUEST_F_N };
enum { GUEST_OP_PUT, GUEST_OP_INDEX, GUEST_OP_RX, GUEST_OP_ALLOC, GUEST_OP_GIVE,
       GUEST_OP_POLL, GUEST_OP_EPOCH, GUEST_OP_N };

/* ---- fuzz_linkmem -----------------------------------------------------
 * Header: u8 channels (1 + mod 4), u8 ring (64 << mod 3): a valid link.
 * Then records, each u8 field (LINKMEM_F_*), u8 kind (mod 3: 0 a u64
 * follows, 1 a u8 follows, 2 a u8 picks one of the boundary values of
 * fuzz_linkmem.c), the value.  LINKMEM_F_LAYOUT_* set a field of the
 * layout in both modes (the LinkLayout and the table entry);
 * LINKMEM_F_HDR_* a field of the link header in the region; CHAN_SHIFT
 * moves one ring of the LinkLayout and N_CHANNELS sets its count of
 * channel layouts (socket mode only). */
enum { LINKMEM_F_NCH, LINKMEM_F_RING, LINKMEM_F_STRIDE, LINKMEM_F_BUF_SIZE,
       LINKMEM_F_HDR_OFFSET, LINKMEM_F_BUF_OFFSET, LINKMEM_F_BUF_AREA,
       LINKMEM_F_HDR_NCH, LINKMEM_F_HDR_RING, LINKMEM_F_HDR_BUF_SIZE,
       LINKMEM_F_HDR_BUF_OFFSET, LINKMEM_F_HDR_MAGIC, LINKMEM_F_CHAN_SHIFT,
       LINKMEM_F_N_CHANNELS, LINKMEM_F_N };

#endif
