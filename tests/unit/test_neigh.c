/*
 * test_neigh.c - core/host/neigh: the kernel's neighbour table, in a
 * network namespace of a child's own (a tap device stands for the link),
 * and the reader of the kernel's answers on hand-made bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "core/host/neigh.h"

/* A tap device pkn0, up, 198.18.99.1/24; the fd keeps it (and its
 * carrier) alive. */
static int tap_up(int *ifindex)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sa = (struct sockaddr_in *)&ifr.ifr_addr;
	int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC), s = socket(AF_INET, SOCK_DGRAM, 0);

	if (tap < 0 || s < 0)
		return -1;
	strcpy(ifr.ifr_name, "pkn0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(tap, TUNSETIFF, &ifr))
		return -1;
	sa->sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.99.1", &sa->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		return -1;
	inet_pton(AF_INET, "255.255.255.0", &sa->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &ifr))
		return -1;
	ifr.ifr_flags = IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		return -1;
	close(s);
	*ifindex = (int)if_nametoindex("pkn0");
	return tap;
}

static int child(void)
{
	static const uint8_t a[6] = { 2, 0, 0, 0, 0, 0xa }, b[6] = { 2, 0, 0, 0, 0, 0xb },
			     c[6] = { 2, 0, 0, 0, 0, 0xc };
	uint8_t two[4] = { 198, 18, 99, 2 }, four[4] = { 198, 18, 99, 4 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct neigh n;
	struct neigh_entry e;
	int ifindex, tap, u;

	if (unshare(CLONE_NEWNET))
		return 10;
	if ((tap = tap_up(&ifindex)) < 0)
		return 11;
	if (neigh_open(&n))
		return 12;
	/* absent: written, REACHABLE with its address */
	if (neigh_get(&n, ifindex, AF_INET, two, &e) != 0)
		return 13;
	if (neigh_learn(&n, ifindex, AF_INET, two, a, 6) != 1)
		return 14;
	if (neigh_get(&n, ifindex, AF_INET, two, &e) != 1 || e.state != NUD_REACHABLE ||
	    e.lllen != 6 || memcmp(e.lladdr, a, 6))
		return 15;
	/* valid: left as it is */
	if (neigh_learn(&n, ifindex, AF_INET, two, b, 6) != 0)
		return 16;
	if (neigh_get(&n, ifindex, AF_INET, two, &e) != 1 || memcmp(e.lladdr, a, 6))
		return 17;
	/* the kernel's own resolution under way (nobody answers on the
	 * tap): replaced */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	memcpy(&to.sin_addr, four, 4);
	if (u < 0 || sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1)
		return 18;
	if (neigh_get(&n, ifindex, AF_INET, four, &e) != 1 || e.state != NUD_INCOMPLETE)
		return 19;
	if (neigh_learn(&n, ifindex, AF_INET, four, c, 6) != 1)
		return 20;
	if (neigh_get(&n, ifindex, AF_INET, four, &e) != 1 || e.state != NUD_REACHABLE ||
	    memcmp(e.lladdr, c, 6))
		return 21;
	/* a device that is not there */
	if (neigh_learn(&n, ifindex + 100, AF_INET, four, c, 6) >= 0)
		return 22;
	neigh_close(&n);
	close(u);
	close(tap);
	return 0;
}

TEST(neigh_learn_writes_absent_and_resolving_entries_only)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
		printf("  (skipped: needs root and /dev/net/tun)\n");
		return;
	}
	CHECK_INT(unit_in_child(child), 0);
}

static size_t msg(uint8_t *buf, uint16_t type, const void *body, size_t blen, const void *attrs,
		  size_t alen)
{
	struct nlmsghdr h = { .nlmsg_type = type };

	h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + NLMSG_ALIGN(blen) + alen);
	memset(buf, 0, h.nlmsg_len);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + NLMSG_HDRLEN, body, blen);
	if (alen)
		memcpy(buf + NLMSG_HDRLEN + NLMSG_ALIGN(blen), attrs, alen);
	return h.nlmsg_len;
}

TEST(neigh_parse_reads_answers_and_refuses_the_rest)
{
	uint8_t buf[256], attrs[16] = { 10, 0, NDA_LLADDR, 0, 1, 2, 3, 4, 5, 6 };
	struct ndmsg nd = { .ndm_family = AF_INET, .ndm_state = NUD_STALE };
	struct nlmsgerr err = { .error = -ENOENT };
	struct neigh_entry e;
	size_t n;

	n = msg(buf, RTM_NEWNEIGH, &nd, sizeof(nd), attrs, 12);
	CHECK_INT(neigh_parse(buf, n, &e), 1);
	CHECK_INT(e.state, NUD_STALE);
	CHECK_INT(e.lllen, 6);
	CHECK(e.lladdr[0] == 1 && e.lladdr[5] == 6);
	/* every truncation: refused (the header says more than came; "<= 1"
	 * held for any reader, and buf is longer than every k) */
	for (size_t k = 0; k < n; k++)
		CHECK_INT(neigh_parse(buf, k, &e), -EBADMSG);
	/* a message that ends inside its NDA_LLADDR: an entry without one */
	((struct nlmsghdr *)(void *)buf)->nlmsg_len = (uint32_t)(n - 6);
	CHECK_INT(neigh_parse(buf, n - 6, &e), 1);
	CHECK_INT(e.lllen, 0);
	/* an attribute longer than the message */
	attrs[0] = 200;
	n = msg(buf, RTM_NEWNEIGH, &nd, sizeof(nd), attrs, 12);
	CHECK_INT(neigh_parse(buf, n, &e), 1);
	CHECK_INT(e.lllen, 0);
	n = msg(buf, NLMSG_ERROR, &err, sizeof(err), NULL, 0);
	CHECK_INT(neigh_parse(buf, n, &e), 0);
	err.error = -EPERM;
	n = msg(buf, NLMSG_ERROR, &err, sizeof(err), NULL, 0);
	CHECK_INT(neigh_parse(buf, n, &e), -EPERM);
	err.error = -2147483647 - 1;
	n = msg(buf, NLMSG_ERROR, &err, sizeof(err), NULL, 0);
	CHECK_INT(neigh_parse(buf, n, &e), -EBADMSG);
	n = msg(buf, RTM_NEWLINK, &nd, sizeof(nd), NULL, 0);
	CHECK_INT(neigh_parse(buf, n, &e), -EBADMSG);
}
