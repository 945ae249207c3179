/* Stream framing for the vlink control socket.
 *
 * A frame is an 8-byte header followed by `length` bytes of payload (one
 * protobuf-c Envelope).  The header is little-endian:
 *
 *   offset 0  u16 magic    VLINK_FRAME_MAGIC
 *   offset 2  u8  version  VLINK_FRAME_VERSION
 *   offset 3  u8  nfds     file descriptors carried by this frame (0..16)
 *   offset 4  u32 length   payload bytes (header + payload <= 64 KiB)
 *
 * The fds ride with SCM_RIGHTS on the sendmsg() that carries the frame's
 * first byte.  The reader accepts fds only in the recvmsg() chunk that holds
 * the first byte of the frame claiming them; anything else is a protocol
 * error.  Every fd the reader received and did not hand out is closed on
 * every error path and by vlink_reader_destroy(). */
#ifndef VLINK_FRAME_H
#define VLINK_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VLINK_FRAME_MAGIC    0x4c56u /* "VL" on the wire */
#define VLINK_FRAME_VERSION  1
#define VLINK_FRAME_HDR_SIZE 8
#define VLINK_FRAME_MAX      65536u  /* header + payload */
#define VLINK_FRAME_MAX_FDS  16

/* A frame header, decoded. */
struct vlink_frame_hdr {
	uint16_t magic;
	uint8_t version;
	uint8_t nfds;                   /* fds the frame carries */
	uint32_t len;                   /* payload bytes */
};

/* Write the VLINK_FRAME_HDR_SIZE bytes of the header of a frame of `len`
 * payload bytes carrying `nfds` fds at `out`. */
void vlink_frame_hdr_encode(uint8_t *out, unsigned nfds, uint32_t len);
/* Decode the header at `in` into *h and check it: 0, or -EPROTO (magic,
 * version), -ETOOMANYREFS (more than VLINK_FRAME_MAX_FDS fds) or -EMSGSIZE
 * (longer than a frame) with the reason in why[n], e.g. "bad frame magic
 * 0x0a03".  Every reader of the stream (vlink_reader, QEMU's device) uses
 * it; whether the fds came is the reader's to check. */
int vlink_frame_hdr_decode(const uint8_t *in, struct vlink_frame_hdr *h, char *why, size_t n);

/* A received frame.  `data` points into the reader's buffer and is valid
 * until the next call on that reader; the fds belong to the caller. */
struct vlink_frame {
	const uint8_t *data;            /* payload */
	uint32_t len;                   /* payload length */
	unsigned nfds;                  /* number of fds in fds[] */
	int fds[VLINK_FRAME_MAX_FDS];   /* received fds, O_CLOEXEC */
};

struct vlink_fdq_entry {
	int fd;
	uint64_t from, to;              /* stream bytes of the chunk it came with */
};

/* Read side of a connection.  Not thread-safe; one per socket. */
struct vlink_reader {
	int sock;                       /* not owned */
	size_t start, end;              /* unparsed bytes: buf[start..end) */
	uint64_t off;                   /* stream offset of buf[start] */
	unsigned nfdq;                  /* fds received, not yet claimed */
	struct vlink_fdq_entry fdq[2 * VLINK_FRAME_MAX_FDS];
	int error;                      /* sticky: once set, every call fails */
	const char *why;                /* human-readable reason for `error` */
	char why_hdr[80];               /* `why` of a bad header */
	uint8_t buf[2 * VLINK_FRAME_MAX];
};

void vlink_reader_init(struct vlink_reader *r, int sock);
/* Close every queued fd; the socket is left alone. */
void vlink_reader_destroy(struct vlink_reader *r);
/* One recvmsg(): bytes read (> 0), 0 at end of stream, -EAGAIN when the
 * socket has nothing, -ENOBUFS when the buffer holds two full frames (take
 * them with vlink_reader_next() first; not sticky), another negative errno
 * on error (sticky). */
ssize_t vlink_reader_fill(struct vlink_reader *r);
/* Take the next complete frame: 1 and *f filled, 0 when more bytes are
 * needed, a negative errno when the stream is bad (sticky; r->why says
 * what was wrong). */
int vlink_reader_next(struct vlink_reader *r, struct vlink_frame *f);
/* Bytes buffered that are not a complete frame yet (for EOF checks). */
size_t vlink_reader_pending(const struct vlink_reader *r);

void vlink_frame_close_fds(struct vlink_frame *f);

struct vlink_txframe;

/* Write side: a queue of frames for a non-blocking socket. */
struct vlink_writer {
	int sock;                       /* not owned */
	struct vlink_txframe *head, *tail;
	size_t queued;                  /* bytes queued, for back-pressure */
};

void vlink_writer_init(struct vlink_writer *w, int sock);
/* Drop every queued frame and close the fds it holds. */
void vlink_writer_destroy(struct vlink_writer *w);
/* Queue one frame.  The fds are dup()ed: the caller keeps its own. */
int vlink_writer_push(struct vlink_writer *w, const void *payload, size_t len,
		      const int *fds, unsigned nfds);
/* Write as much as the socket takes: 0 when the queue is empty, -EAGAIN
 * when frames are left, another negative errno on error. */
int vlink_writer_flush(struct vlink_writer *w);
bool vlink_writer_pending(const struct vlink_writer *w);
/* Flush, waiting with poll() for at most timeout_ms (-1: forever). */
int vlink_writer_flush_wait(struct vlink_writer *w, int timeout_ms);

#endif
