/*
 * snapshot.h - one look at the session table: the sockets a query selects,
 * in one network namespace, a named one or all of them, with their owners
 * if asked. Shared by `ls`, `who` and `audit`.
 *
 * Per namespace: the sock_diag dump, plus a map of the TCP ports listened
 * on (from an extra listener-only dump when the query may not include every
 * listener) so that callers can tell the server side of a session. Owners
 * are looked up after the dump, or, for a query without port/address
 * conditions, by walking /proc in background threads while the kernel
 * dumps. The snapshot owns everything: snapshot_free().
 */
#ifndef PORTKIT_SNAPSHOT_H
#define PORTKIT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host/netns.h"
#include "core/host/owners.h"
#include "core/host/sockdiag.h"

enum {
	SNAP_OWNERS = 1,	/* look up the processes holding the sockets */
	SNAP_FIRST_OWNER = 2,	/* a narrow query: stop once each has one */
};

struct snapshot {
	struct sock_table t;
	struct netns *ns;	/* [0] is the current one unless --netns said otherwise */
	size_t nns;
	struct owner_map *owners;	/* NULL without SNAP_OWNERS */
	uint8_t *listen_tcp;	/* nns maps of 65536 bits */
};

/* netns: NULL (this one), a name, a pid, or "all". 0 or -errno with
 * error_msg(); on error the snapshot still needs snapshot_free(). */
int snapshot_take(const struct diag_query *q, const char *netns, unsigned flags,
		  struct snapshot *s);
void snapshot_free(struct snapshot *s);
/* Is TCP port listened on in namespace ns of the snapshot? */
bool snapshot_listens(const struct snapshot *s, unsigned ns, unsigned port);
/* The namespace's name, or NULL for the current one. */
const char *snapshot_netns(const struct snapshot *s, unsigned ns);

#endif
