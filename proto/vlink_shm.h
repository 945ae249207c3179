/* vlink shared-memory layout (see docs/design.md, "Shared memory").
 *
 * A domain has a channel region, one file that the daemon creates and that
 * QEMU exposes as BAR4:
 *
 *   0                       struct vlink_region_hdr (8 KiB, link table)
 *   link->hdr_offset        struct vlink_link_hdr (256 B): channel 0, the
 *                           control channel of the link
 *   + VLINK_LINK_HDR_SIZE   data channel 1: rings rx, done, fill, tx
 *                           (each VLINK_RING_HDR_SIZE + ring_size * 16 B)
 *   ...                     data channels 2..nchannels
 *
 * Everything is little-endian and naturally aligned; the structures below
 * are the layout (checked at compile time).  Fields are written by exactly
 * one party: the daemon (at creation), the host end, or the peer end. */
#ifndef VLINK_SHM_H
#define VLINK_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define VLINK_SHM_MAGIC        0x4b4e4c56u /* "VLNK" */
#define VLINK_LINK_MAGIC       0x4b4e494cu /* "LINK" */
#define VLINK_SHM_VERSION      1
#define VLINK_CACHELINE        64
#define VLINK_MAX_LINKS        63          /* links per domain */
#define VLINK_REGION_HDR_SIZE  8192
#define VLINK_LINK_HDR_SIZE    256
#define VLINK_RING_HDR_SIZE    128
#define VLINK_DESC_SIZE        16
#define VLINK_RINGS_PER_CHAN   4
#define VLINK_BUF_SIZE         2048        /* one packet buffer in the pool */
#define VLINK_SHM_NAME_LEN     40          /* name fields, NUL padded */

enum vlink_ring_id {
	VLINK_RING_RX = 0,   /* host -> peer: packets */
	VLINK_RING_DONE = 1, /* peer -> host: buffers the peer finished with */
	VLINK_RING_FILL = 2, /* host -> peer: empty buffers to transmit into */
	VLINK_RING_TX = 3,   /* peer -> host: packets */
};

/* One descriptor: a buffer in the pool.  pool_offset is the start of a
 * buffer (buf_offset + k * buf_size of the link); the data is at
 * pool_offset + data_off, and data_off + len <= buf_size.  A packet larger
 * than one buffer is a chain: every descriptor but the last has
 * VLINK_DESC_F_MORE, and the chain is consecutive in the ring. */
struct vlink_desc {
	uint64_t pool_offset;  /* start of the buffer in the domain pool */
	uint32_t len;          /* bytes of data */
	uint16_t flags;        /* VLINK_DESC_F_* */
	uint16_t data_off;     /* where the data starts in the buffer */
};

#define VLINK_DESC_F_MORE 1u /* the packet continues in the next descriptor */

/* Ring header; ring_size descriptors follow it. */
struct vlink_ring_hdr {
	uint32_t head;         /* producer: free-running index */
	uint32_t size;         /* daemon: descriptors, a power of two */
	uint8_t pad0[VLINK_CACHELINE - 8];
	uint32_t tail;         /* consumer: free-running index */
	uint32_t need_wakeup;  /* consumer: 1 = asleep, signal me (the producer
				  takes it back to 0 when it signals) */
	uint8_t pad1[VLINK_CACHELINE - 8];
};

/* Link table entry in the region header (daemon-written). */
struct vlink_link_entry {
	char name[VLINK_SHM_NAME_LEN];
	uint8_t mac[6];
	uint16_t nchannels;    /* data channels */
	uint32_t ring_size;
	uint32_t buf_size;
	uint32_t flags;        /* VLINK_LINK_F_* */
	uint32_t ring_stride;  /* bytes from one ring to the next */
	uint64_t hdr_offset;   /* link header in the channel region */
	uint64_t buf_offset;   /* this link's buffers in the pool */
	uint64_t buf_area;     /* their total size */
	uint8_t reserved[40];
};

#define VLINK_LINK_F_USED 1u

/* Channel region header (daemon-written).  `generation` is a sequence
 * lock: odd while the daemon changes the link table; readers retry. */
struct vlink_region_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t max_links;
	uint32_t generation;
	uint32_t nlinks;
	uint64_t region_size;
	uint64_t pool_size;
	char domain[VLINK_SHM_NAME_LEN];
	uint8_t reserved[56];
	struct vlink_link_entry links[VLINK_MAX_LINKS];
};

enum vlink_end_state {
	VLINK_END_DOWN = 0,
	VLINK_END_UP = 1,
	VLINK_END_RESETTING = 2,
	VLINK_END_LEAVING = 3,  /* peer: giving back what it holds before it
				   goes down; the host lends nothing more but
				   leaves the rings alone until DOWN */
};

/* Link header = control channel (channel 0). */
struct vlink_link_hdr {
	/* line 0: written once by the daemon when the link is created */
	uint32_t magic;
	uint16_t version;
	uint16_t nchannels;
	uint32_t ring_size;
	uint32_t buf_size;
	uint32_t ring_stride;
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t reserved0;
	uint64_t buf_offset;
	uint64_t buf_area;
	uint8_t pad0[VLINK_CACHELINE - 48];
	/* line 1: written by the host end only */
	uint32_t host_state;   /* enum vlink_end_state */
	uint32_t host_epoch;
	uint8_t pad1[VLINK_CACHELINE - 8];
	/* line 2: written by the peer end only */
	uint32_t peer_state;
	uint32_t peer_ack_epoch;
	uint8_t pad2[VLINK_CACHELINE - 8];
	/* line 3: reserved */
	uint8_t pad3[VLINK_CACHELINE];
};

static_assert(sizeof(struct vlink_desc) == VLINK_DESC_SIZE, "desc size");
static_assert(sizeof(struct vlink_ring_hdr) == VLINK_RING_HDR_SIZE, "ring hdr");
static_assert(offsetof(struct vlink_ring_hdr, tail) == VLINK_CACHELINE, "tail line");
static_assert(sizeof(struct vlink_link_entry) == 128, "link entry");
static_assert(offsetof(struct vlink_region_hdr, links) == 128, "link table");
static_assert(sizeof(struct vlink_region_hdr) == VLINK_REGION_HDR_SIZE, "region hdr");
static_assert(sizeof(struct vlink_link_hdr) == VLINK_LINK_HDR_SIZE, "link hdr");
static_assert(offsetof(struct vlink_link_hdr, host_state) == VLINK_CACHELINE, "host line");
static_assert(offsetof(struct vlink_link_hdr, peer_state) == 2 * VLINK_CACHELINE, "peer line");

static inline uint32_t vlink_ring_stride(uint32_t ring_size)
{
	return VLINK_RING_HDR_SIZE + ring_size * VLINK_DESC_SIZE;
}

/* Offset of ring `r` of data channel `ch` (1-based) from the link header. */
static inline uint64_t vlink_ring_offset(uint32_t ring_size, uint32_t ch,
					 enum vlink_ring_id r)
{
	return VLINK_LINK_HDR_SIZE +
	       ((uint64_t)(ch - 1) * VLINK_RINGS_PER_CHAN + r) * vlink_ring_stride(ring_size);
}

/* Bytes of channel region a link takes, rounded up to 4 KiB. */
static inline uint64_t vlink_link_region_size(uint32_t nchannels, uint32_t ring_size)
{
	uint64_t s = vlink_ring_offset(ring_size, nchannels + 1, VLINK_RING_RX);

	return (s + 4095) & ~(uint64_t)4095;
}

#endif
