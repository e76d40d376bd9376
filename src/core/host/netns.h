/*
 * netns.h - network namespaces: find them, enter them, come back.
 *
 * A namespace is named by `ip netns` (a file in /run/netns), by a PID
 * (its /proc/PID/ns/net), or found by netns_all(), which walks
 * /proc/[pid]/ns/net and keeps one entry per namespace inode, named after
 * /run/netns when it has a name there and "pid:N" otherwise. Entering needs
 * CAP_SYS_ADMIN. Each struct netns owns its fd: netns_release().
 */
#ifndef PORTKIT_NETNS_H
#define PORTKIT_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netns {
	int fd;
	uint64_t ino;
	bool current;
	char name[64];
};

int netns_resolve(const char *spec, struct netns *out);
/* Every namespace in use, the current one first. *out is malloc()ed. */
int netns_all(struct netns **out, size_t *n);
/* Switch this thread into ns; *saved keeps the way back. */
int netns_enter(const struct netns *ns, int *saved);
int netns_restore(int saved);
void netns_release(struct netns *ns);
/* 0 while the name ns was resolved from (netns_resolve() of a name) still
 * names the namespace ns holds, -ENOENT once it was deleted or now names
 * another (a held descriptor keeps a deleted namespace alive, empty) */
int netns_still_named(const struct netns *ns);

#endif
