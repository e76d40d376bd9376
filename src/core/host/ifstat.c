/*
 * ifstat.c - interface counters through rtnetlink (see ifstat.h).
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/ifstat.h"
#include "core/base/banned.h"

#define RECV_BUF (32 * 1024)

static void link_attrs(struct if_stat *s, const uint8_t *p, size_t len)
{
	while (len >= sizeof(struct rtattr)) {
		const struct rtattr *a = (const struct rtattr *)(const void *)p;
		size_t step, pl;

		if (a->rta_len < sizeof(*a) || a->rta_len > len)
			return;
		pl = RTA_PAYLOAD(a);
		if (a->rta_type == IFLA_IFNAME && pl)
			snprintf(s->name, sizeof(s->name), "%.*s", (int)strnlen(RTA_DATA(a), pl),
				 (const char *)RTA_DATA(a));
		else if (a->rta_type == IFLA_STATS64 &&
			 pl >= offsetof(struct rtnl_link_stats64, tx_dropped) + sizeof(uint64_t)) {
			/* the struct grows with kernels (rx_otherhost_dropped in
			 * 5.19): what this one sent, the rest zero */
			struct rtnl_link_stats64 st;

			memset(&st, 0, sizeof(st));
			memcpy(&st, RTA_DATA(a), pl < sizeof(st) ? pl : sizeof(st));
			s->rx_bytes = st.rx_bytes;
			s->tx_bytes = st.tx_bytes;
			s->rx_packets = st.rx_packets;
			s->tx_packets = st.tx_packets;
			s->rx_dropped = st.rx_dropped;
			s->tx_dropped = st.tx_dropped;
		}
		step = RTA_ALIGN(a->rta_len);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

int ifstat_parse(const uint8_t *buf, size_t len, struct if_stat **out, size_t *n, size_t *cap)
{
	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		size_t step;

		memcpy(&h, buf, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			return errorf(-EBADMSG, "malformed netlink message");
		if (h.nlmsg_type == NLMSG_DONE)
			return 0;
		if (h.nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr e;
			int err;

			if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
				return errorf(-EBADMSG, "malformed netlink error");
			memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
			if (!e.error)
				return 0;
			/* an errno, or anything else (INT_MIN cannot be negated) */
			err = e.error < 0 && e.error >= -4095 ? -e.error : EIO;
			return errorf(-err, "interface counters: %s", strerror(err));
		}
		if (h.nlmsg_type == RTM_NEWLINK && h.nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
			struct ifinfomsg ifi;
			size_t off = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(ifi)));
			struct if_stat *s;

			memcpy(&ifi, buf + NLMSG_HDRLEN, sizeof(ifi));
			*out = xgrow(*out, sizeof(**out), *n + 1, cap);
			s = &(*out)[(*n)++];
			memset(s, 0, sizeof(*s));
			s->ifindex = (unsigned)ifi.ifi_index;
			s->flags = ifi.ifi_flags;
			if (h.nlmsg_len > off)
				link_attrs(s, buf + off, h.nlmsg_len - off);
		}
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		buf += step;
		len -= step;
	}
	return 1;
}

int ifstat_read(struct if_stat **out, size_t *n)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req;
	size_t cap = 0;
	uint8_t *rbuf;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), r = 1;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return errorf(-errno, "cannot open a netlink socket: %s", strerror(errno));
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	req.i.ifi_family = AF_UNSPEC;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		r = errorf(-errno, "cannot ask for interface counters: %s", strerror(errno));
		close(fd);
		return r;
	}
	rbuf = xmalloc(RECV_BUF);
	while (r == 1) {
		ssize_t k = recv(fd, rbuf, RECV_BUF, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = errorf(k ? -errno : -EIO, "cannot read interface counters: %s",
				   strerror(k ? errno : EIO));
			break;
		}
		r = ifstat_parse(rbuf, (size_t)k, out, n, &cap);
	}
	free(rbuf);
	close(fd);
	if (r) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}
