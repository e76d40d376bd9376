/*
 * lab.h - portkit lab: the article's office network in network namespaces.
 *
 * A topology (topo.c) is segments (each a bridge: the switch), nodes (each
 * a namespace with one interface per segment it is on, a default gateway,
 * responders to run), NAT and port forwards on a router. build.c makes it
 * with iproute2 and libnftables and records what it made under
 * /run/portkit/lab/NAME, so that `lab down` removes exactly that, also
 * after a crash. IPv4 only for now.
 */
#ifndef PORTKIT_LAB_H
#define PORTKIT_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAB_MAX_SEGS 8
#define LAB_MAX_NODES 24
#define LAB_MAX_IFS 4
#define LAB_MAX_FWDS 16
#define LAB_NAME_MAX 12		/* node and segment names: interface names derive from them */

struct lab_seg {
	char name[LAB_NAME_MAX];
	uint8_t net[4];
	unsigned len;
};

struct lab_if {
	int seg;
	uint8_t addr[4];
};

struct lab_node {
	char name[LAB_NAME_MAX];
	char role[16];			/* pc, server, router, internet, host */
	struct lab_if ifs[LAB_MAX_IFS];
	size_t nifs;
	bool has_gw;
	uint8_t gw[4];
	char serve[256];		/* responder specs for portkit serve, or "" */
	int nat_seg;			/* masquerade out through this segment, or -1 */
};

struct lab_fwd {
	int node;			/* the router that forwards */
	bool udp;
	uint16_t port;
	uint8_t to[4];
	uint16_t to_port;
};

struct lab_topo {
	struct lab_seg segs[LAB_MAX_SEGS];
	size_t nsegs;
	struct lab_node nodes[LAB_MAX_NODES];
	size_t nnodes;
	struct lab_fwd fwds[LAB_MAX_FWDS];
	size_t nfwds;
};

/* topo.c */
extern const char lab_default_topology[];
/* Parse text (from file `name`, for messages "NAME:LINE: ..."); errorf. */
int lab_parse(const char *name, const char *text, struct lab_topo *t);
int lab_node_find(const struct lab_topo *t, const char *name);
/* Is IPv4 address a (4 bytes) inside segment s? */
bool lab_seg_contains(const struct lab_seg *s, const uint8_t *a);

/* build.c */
struct lab_opts {
	const char *name;		/* the lab's name: namespaces are NAME-NODE */
	const char *self;		/* this binary, for the responders */
	bool quiet;
};
int lab_up(const struct lab_opts *o, const char *source, const char *text);
int lab_down(const struct lab_opts *o, bool *was_up);
/* The topology text of the lab that is up (caller frees), or NULL with errorf. */
char *lab_state_topology(const struct lab_opts *o);
int lab_ns_name(const struct lab_opts *o, const char *node, char *buf, size_t size);

/* tour.c: the article's steps in the lab that is up (only: one step, 1-based) */
size_t lab_tour_steps(void);
int lab_tour(const struct lab_opts *o, const struct lab_topo *t, unsigned only, bool pause);

#endif
