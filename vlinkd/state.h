/* Persistent state: the link descriptions and where each domain's memory
 * lives, in STATE_DIR/state (a vlink.State protobuf), written atomically. */
#ifndef VLINKD_STATE_H
#define VLINKD_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#define STATE_ID_LEN 16

/* The file: STATE_MAGIC (12 bytes), the CRC-32 of the payload (u32, little
 * endian), then the payload (a vlink.State).  The checksum catches a file
 * cut short, which protobuf alone would read as fewer links. */
#define STATE_MAGIC    "vlink-state1"
#define STATE_HDR_SIZE 16

uint32_t state_crc32(const uint8_t *p, size_t n);
/* Fill the 16-byte header for `len` bytes of payload. */
void state_header(uint8_t hdr[STATE_HDR_SIZE], const uint8_t *payload, size_t len);

/* Write the registry to dir/state: write a temporary file, fsync, rename,
 * fsync the directory. */
int state_save(const struct registry *r, const char *dir, const char *daemon_id,
	       char *why, size_t n);
/* Load dir/state into an empty registry, reopening each domain's files.
 * A missing file is a fresh start: 0, and a new id in daemon_id.  A corrupt
 * file is an error (the registry is left with no links or domains, its
 * options as they were). */
int state_load(struct registry *r, const char *dir,
	       char daemon_id[STATE_ID_LEN + 1], char *why, size_t n);

#endif
