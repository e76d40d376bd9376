/*
 * ephemeral.h - this host's ephemeral (client) port range.
 *
 * Linux picks client ports from net.ipv4.ip_local_port_range (32768-60999
 * by default), skipping net.ipv4.ip_local_reserved_ports. ephemeral_here()
 * reads both once, from $PORTKIT_PROC_ROOT (default /proc) so that tests
 * can point it at fixture files, and caches the answer for the process.
 */
#ifndef PORTKIT_EPHEMERAL_H
#define PORTKIT_EPHEMERAL_H

#include <stdbool.h>
#include <stdint.h>

struct ephemeral {
	bool known;	/* false when the files could not be read */
	unsigned lo;
	unsigned hi;
	uint8_t reserved[65536 / 8];
};

/* Parse the two files' contents; reserved may be NULL. 0 or -EINVAL. */
int ephemeral_parse(struct ephemeral *e, const char *range, const char *reserved);
/* Read them below proc_root ("/proc"). 0, or -errno with error_msg(). */
int ephemeral_load(struct ephemeral *e, const char *proc_root);
/* This host's, read once; known is false when /proc could not be read. */
const struct ephemeral *ephemeral_here(void);
bool ephemeral_contains(const struct ephemeral *e, unsigned port);
bool ephemeral_reserved(const struct ephemeral *e, unsigned port);

#endif
