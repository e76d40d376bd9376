/*
 * conntrack_int.h - what conntrack.c (the table) and ctfollow.c (its
 * events) share: the socket, the message walk and the error words. Private
 * to src/core.
 */
#ifndef PORTKIT_CONNTRACK_INT_H
#define PORTKIT_CONNTRACK_INT_H

#include <stddef.h>

struct mnl_socket;
struct nlmsghdr;

/* A NETLINK_NETFILTER socket bound to the conntrack event groups (0: none,
 * for a dump); NULL with errno set */
struct mnl_socket *ct_open(unsigned groups);
/* With PORTKIT_CT_SAVE set, the bytes received (dumps and events) are
 * appended to that file as they came: recordings for tests, replayed by
 * nat_each_bytes() and ct_follow_feed() */
void ct_save(const void *buf, size_t n);
/* errorf for errno e while `what` ("reading", "following") the table: a
 * missing module or permission said plainly */
int ct_error(int e, const char *what);
/* The messages of one received batch: cb(each entry or event), skipping
 * what does not answer seq/portid (0: any); MNL_CB_STOP at the dump's end
 * or when cb says so, -1 with errno for an error the kernel sent */
int ct_run_batch(const char *buf, size_t n, unsigned seq, unsigned portid,
		 int (*cb)(const struct nlmsghdr *nlh, void *arg), void *arg);

#endif
