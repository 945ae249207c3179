/* The --config file: one link per line, "NAME MAC NCHANNELS [DOMAIN]",
 * '#' starts a comment, blank lines are ignored. */
#ifndef VLINKD_CONFIG_H
#define VLINKD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "vlink_valid.h"

struct config_link {
	char name[VLINK_NAME_MAX + 1];
	char mac[VLINK_MAC_STRLEN];
	uint32_t nchannels;
	char domain[VLINK_NAME_MAX + 1];
	unsigned line;
};

struct config {
	struct config_link *links;
	unsigned nlinks;
};

/* Parse the whole file; on the first bad line fail with -EINVAL and
 * "FILE:LINE: what is wrong" in why.  *out is untouched on failure. */
int config_parse_stream(FILE *f, const char *name, struct config *out,
			char *why, size_t n);
int config_parse_file(const char *path, struct config *out, char *why, size_t n);
void config_free(struct config *c);

#endif
