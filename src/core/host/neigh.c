/*
 * neigh.c - the kernel's neighbour table through rtnetlink (see neigh.h).
 */
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/host/neigh.h"
#include "core/base/banned.h"

#define ATTR_SPACE 64	/* NDA_DST (16) and NDA_LLADDR (32), aligned */
/* the kernel's own NUD_VALID (include/net/neighbour.h): states whose
 * address is used as it is */
#define VALID (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

int neigh_open(struct neigh *n)
{
	struct timeval tv = { .tv_sec = 1 };

	n->seq = 0;
	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (n->fd < 0)
		return -errno;
	/* the kernel answers within the send; this bounds a wait that
	 * cannot happen */
	setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

void neigh_close(struct neigh *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

static void put_attr(uint8_t *msg, struct nlmsghdr *h, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(void *)(msg + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void entry_attrs(struct neigh_entry *e, const uint8_t *p, size_t len)
{
	while (len >= sizeof(struct rtattr)) {
		struct rtattr a;
		size_t step;

		memcpy(&a, p, sizeof(a));
		if (a.rta_len < sizeof(a) || a.rta_len > len)
			return;
		if (a.rta_type == NDA_LLADDR && a.rta_len - RTA_LENGTH(0) <= sizeof(e->lladdr)) {
			e->lllen = a.rta_len - RTA_LENGTH(0);
			memcpy(e->lladdr, p + RTA_LENGTH(0), e->lllen);
		}
		step = RTA_ALIGN(a.rta_len);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

int neigh_parse(const uint8_t *buf, size_t len, struct neigh_entry *e)
{
	struct nlmsghdr h;

	memset(e, 0, sizeof(*e));
	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
		return -EBADMSG;
	if (h.nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr err;

		if (h.nlmsg_len < NLMSG_LENGTH(sizeof(err)))
			return -EBADMSG;
		memcpy(&err, buf + NLMSG_HDRLEN, sizeof(err));
		if (err.error == -ENOENT)
			return 0;
		/* 0 is an acknowledgement, which answers no question; INT_MIN
		 * has no positive errno */
		return err.error < 0 && err.error > -4096 ? err.error : -EBADMSG;
	}
	if (h.nlmsg_type == RTM_NEWNEIGH && h.nlmsg_len >= NLMSG_LENGTH(sizeof(struct ndmsg))) {
		struct ndmsg nd;
		size_t at = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nd)));

		memcpy(&nd, buf + NLMSG_HDRLEN, sizeof(nd));
		e->state = nd.ndm_state;
		if (at < h.nlmsg_len)
			entry_attrs(e, buf + at, h.nlmsg_len - at);
		return 1;
	}
	return -EBADMSG;
}

/* Send one request and read its one answer (a reply or the ack). */
static int ask(struct neigh *n, uint8_t *msg, struct neigh_entry *e)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)msg;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	uint8_t buf[1024];
	ssize_t got;

	h->nlmsg_seq = ++n->seq;
	if (sendto(n->fd, msg, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (int i = 0; i < 8; i++) {	/* an earlier question's late answer is skipped */
		struct nlmsghdr r;

		if ((got = recv(n->fd, buf, sizeof(buf), 0)) < 0)
			return -errno;
		if ((size_t)got < sizeof(r))
			return -EBADMSG;
		memcpy(&r, buf, sizeof(r));
		if (r.nlmsg_seq != n->seq)
			continue;
		if (h->nlmsg_type == RTM_NEWNEIGH) {	/* the ack: error 0 is success */
			struct nlmsgerr err;

			if (r.nlmsg_type != NLMSG_ERROR || r.nlmsg_len > (size_t)got ||
			    r.nlmsg_len < NLMSG_LENGTH(sizeof(err)))
				return -EBADMSG;
			memcpy(&err, buf + NLMSG_HDRLEN, sizeof(err));
			return err.error <= 0 && err.error > -4096 ? err.error : -EBADMSG;
		}
		return neigh_parse(buf, (size_t)got, e);
	}
	return -EBADMSG;
}

static void request(uint8_t *msg, uint16_t type, uint16_t flags, int ifindex, int family,
		    const uint8_t *addr)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)msg;
	struct ndmsg *nd = NLMSG_DATA(h);

	memset(msg, 0, NLMSG_SPACE(sizeof(*nd)) + ATTR_SPACE);
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*nd));
	h->nlmsg_type = type;
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = ifindex;
	put_attr(msg, h, NDA_DST, addr, family == AF_INET ? 4 : 16);
}

int neigh_get(struct neigh *n, int ifindex, int family, const uint8_t *addr,
	      struct neigh_entry *e)
{
	uint8_t msg[NLMSG_SPACE(sizeof(struct ndmsg)) + ATTR_SPACE];

	request(msg, RTM_GETNEIGH, 0, ifindex, family, addr);
	return ask(n, msg, e);
}

int neigh_learn(struct neigh *n, int ifindex, int family, const uint8_t *addr,
		const uint8_t *lladdr, size_t lllen)
{
	uint8_t msg[NLMSG_SPACE(sizeof(struct ndmsg)) + ATTR_SPACE];
	struct neigh_entry e;
	int r;

	if (lllen > sizeof(e.lladdr))
		return -EINVAL;
	r = neigh_get(n, ifindex, family, addr, &e);
	if (r < 0)
		return r;
	/* the kernel's valid entries and an administrator's stay */
	if (r == 1 && (e.state & VALID))
		return 0;
	request(msg, RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, ifindex, family, addr);
	((struct ndmsg *)NLMSG_DATA((struct nlmsghdr *)(void *)msg))->ndm_state = NUD_REACHABLE;
	put_attr(msg, (struct nlmsghdr *)(void *)msg, NDA_LLADDR, lladdr, lllen);
	r = ask(n, msg, &e);
	return r < 0 ? r : 1;
}
