/* The link registry: domains (pool + channel region) and links, with the
 * space each link takes in its domain's memory.  Pure bookkeeping plus the
 * writes into the channel region; no sockets, no persistence. */
#ifndef VLINKD_REGISTRY_H
#define VLINKD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"
#include "vlink.pb-c.h"
#include "vlink_shm.h"
#include "vlink_valid.h"

struct reg_domain {
	struct reg_domain *next;
	char name[VLINK_NAME_MAX + 1];
	struct mem_pool pool;
	struct mem_region region;
	uint32_t generation;       /* bumped whenever the domain map changes */
	unsigned nlinks;
	unsigned nattached;        /* clients attached to it or to its links */
};

struct reg_link {
	struct reg_link *next;
	char name[VLINK_NAME_MAX + 1];
	uint8_t mac[6];
	uint32_t nchannels;
	uint32_t ring_size;
	uint32_t buf_size;
	uint32_t mtu;
	struct reg_domain *dom;
	unsigned slot;             /* index in the region's link table;
				      VLINK_MAX_LINKS: not placed yet */
	uint64_t hdr_offset, region_area; /* in the channel region */
	uint64_t buf_offset, buf_area;    /* in the pool */
	bool from_config;
	void *host, *peer;         /* attached clients (owned by the server) */
	int *notify;               /* NULL, or per data channel c (1..): eventfds
				      [2(c-1)] wake the host end, [2(c-1)+1]
				      wake the peer end (reg_link_notifiers) */
};

struct reg_pool_size {
	char domain[VLINK_NAME_MAX + 1];
	uint64_t size;
};

struct registry {
	struct mem_opts mem;
	uint64_t pool_size;        /* for new domains without an override */
	unsigned npool_sizes;
	struct reg_pool_size *pool_sizes;
	struct reg_domain *domains;
	struct reg_link *links;
	unsigned nlinks;
};

struct reg_link_params {
	const char *name;
	const char *mac;
	const char *domain;        /* NULL or "": VLINK_DEFAULT_DOMAIN */
	uint32_t nchannels;
	uint32_t ring_size;        /* 0: VLINK_RING_DEFAULT */
	uint32_t mtu;              /* 0: VLINK_MTU_DEFAULT */
	bool from_config;
};

/* A LinkLayout message with its storage. */
struct reg_layout {
	Vlink__LinkLayout msg;
	Vlink__ChannelLayout ch[VLINK_NCHANNELS_MAX];
	Vlink__ChannelLayout *chp[VLINK_NCHANNELS_MAX];
	char mac[VLINK_MAC_STRLEN];
};

void reg_init(struct registry *r);
/* Forget every link and domain, closing their fds and mappings; the files
 * stay (a restart reopens them) and the options stay set. */
void reg_clear(struct registry *r);
/* reg_clear(), and free the options (pool size overrides). */
void reg_fini(struct registry *r);

uint64_t reg_pool_size_for(const struct registry *r, const char *domain);
/* Bytes of the domain's pool its links' buffer areas take. */
uint64_t reg_pool_used(const struct registry *r, const struct reg_domain *d);
struct reg_link *reg_link_find(const struct registry *r, const char *name);
struct reg_domain *reg_domain_find(const struct registry *r, const char *name);
/* Find or create (allocating its memory) the domain `name`. */
int reg_domain_get(struct registry *r, const char *name, struct reg_domain **out,
		   char *why, size_t n);
/* Remove the domain, unlinking its files, if it has no links and nothing
 * is attached.  Returns true if it was removed. */
bool reg_domain_release(struct registry *r, struct reg_domain *d);

/* Validate and create a link.  On failure nothing has changed. */
int reg_link_create(struct registry *r, const struct reg_link_params *p,
		    struct reg_link **out, char *why, size_t n);
/* Check parameters only (no side effects). */
int reg_link_check(const struct registry *r, const struct reg_link_params *p,
		   char *why, size_t n);
/* Check p (reg_link_check) and make the link it describes, in no domain
 * and with no memory yet: name, MAC, channels, ring size and MTU (0: the
 * defaults), buffer size, the sizes of its region and buffer areas.  For
 * reg_link_create and for loading the state (free() it if not inserted). */
int reg_link_new(const struct registry *r, const struct reg_link_params *p,
		 struct reg_link **out, char *why, size_t n);
/* Delete a link; refused with -EBUSY when an end is attached unless force. */
int reg_link_delete(struct registry *r, struct reg_link *l, bool force,
		    char *why, size_t n);

/* The link's notifiers (l->notify), made the first time they are asked
 * for; they live as long as the link in this daemon.  0 or -errno. */
int reg_link_notifiers(struct reg_link *l, char *why, size_t n);
/* Free a link that is in no list: its notifiers too. */
void reg_link_free(struct reg_link *l);

/* The host end's epoch now (the link header's host_epoch; 0 for a link
 * not placed in its region yet). */
uint32_t reg_link_epoch(const struct reg_link *l);
void reg_link_layout(const struct reg_link *l, struct reg_layout *out);

/* Internal to the registry and state loading: place a link whose offsets
 * are already known (from state) into its domain. */
int reg_link_insert(struct registry *r, struct reg_link *l, bool init_memory);
/* After loading links with reg_link_insert(l, false): clear the table
 * entries no link claims (under the sequence lock) and give every link
 * whose slot is VLINK_MAX_LINKS (its entry was not found) a free slot and
 * fresh memory. */
void reg_reconcile(struct registry *r);
/* Write the link's header, rings and table entry into the region. */
void reg_link_init_memory(struct reg_link *l);
/* The parts of a link's shared memory only the daemon writes (line 0 of
 * the link header: magic, version, sizes, MAC, buffer area; the link's
 * table entry) are also mapped writable by its ends, and a hostile end can
 * overwrite them.  Compare them with the registry's record and rewrite
 * what differs (the entry under the table's sequence lock).  Returns the
 * REG_REPAIRED_* bits of what was rewritten, 0 if all was intact. */
#define REG_REPAIRED_HEADER 1u
#define REG_REPAIRED_ENTRY  2u
unsigned reg_link_repair(struct reg_link *l);
/* Write the region header (magic, sizes) of a fresh region. */
void reg_region_init(struct reg_domain *d);

#endif
