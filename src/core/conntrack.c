/*
 * conntrack.c - the conntrack table through ctnetlink (libnetfilter_conntrack).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/netns.h"
#include "core/xalloc.h"
#include "core/conntrack.h"
#include "core/banned.h"

static void tuple(const struct nf_conntrack *ct, bool orig, uint8_t family, struct nat_tuple *t)
{
	if (family == AF_INET) {
		uint32_t s = nfct_get_attr_u32(ct, orig ? ATTR_ORIG_IPV4_SRC : ATTR_REPL_IPV4_SRC);
		uint32_t d = nfct_get_attr_u32(ct, orig ? ATTR_ORIG_IPV4_DST : ATTR_REPL_IPV4_DST);

		memcpy(t->src, &s, 4);
		memcpy(t->dst, &d, 4);
	} else {
		const void *s = nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_SRC : ATTR_REPL_IPV6_SRC);
		const void *d = nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_DST : ATTR_REPL_IPV6_DST);

		if (s)
			memcpy(t->src, s, 16);
		if (d)
			memcpy(t->dst, d, 16);
	}
	if (nfct_attr_is_set(ct, orig ? ATTR_ORIG_PORT_SRC : ATTR_REPL_PORT_SRC) > 0) {
		t->sport = ntohs(nfct_get_attr_u16(ct, orig ? ATTR_ORIG_PORT_SRC : ATTR_REPL_PORT_SRC));
		t->dport = ntohs(nfct_get_attr_u16(ct, orig ? ATTR_ORIG_PORT_DST : ATTR_REPL_PORT_DST));
	}
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *arg)
{
	struct nat_table *t = arg;
	struct nat_entry *e;

	(void)type;
	t->v = xgrow(t->v, sizeof(*t->v), t->n + 1, &t->cap);
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	e->family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	e->proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	tuple(ct, true, e->family, &e->orig);
	tuple(ct, false, e->family, &e->reply);
	if (e->proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0)
		e->tcp_state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	e->status = nfct_get_attr_u32(ct, ATTR_STATUS);
	e->timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	e->mark = nfct_get_attr_u32(ct, ATTR_MARK);
	e->zone = nfct_attr_is_set(ct, ATTR_ZONE) > 0 ? nfct_get_attr_u16(ct, ATTR_ZONE) : 0;
	e->id = nfct_get_attr_u32(ct, ATTR_ID);
	if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_PACKETS) > 0) {
		e->counters = true;
		e->orig_packets = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
		e->orig_bytes = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
		e->reply_packets = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
		e->reply_bytes = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
	}
	return NFCT_CB_CONTINUE;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int dump(struct nat_table *t)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	uint32_t family = AF_UNSPEC;
	int r;

	if (!h) {
		if (errno == EPERM || errno == EACCES)
			return errorf(-errno, "reading the conntrack table needs root (CAP_NET_ADMIN)");
		return errorf(-errno, "cannot open ctnetlink: %s", strerror(errno));
	}
	nfct_callback_register(h, NFCT_T_ALL, on_entry, t);
	r = nfct_query(h, NFCT_Q_DUMP, &family);
	if (r < 0) {
		int e = errno;

		nfct_close(h);
		if (e == EPERM || e == EACCES)
			return errorf(-e, "reading the conntrack table needs root (CAP_NET_ADMIN)");
		if (e == ENOENT || e == EOPNOTSUPP || e == EPROTONOSUPPORT)
			return errorf(-e, "no connection tracking here: the nf_conntrack module is not "
				      "loaded (modprobe nf_conntrack, or any NAT or stateful rule loads it)");
		return errorf(-e, "cannot dump the conntrack table: %s", strerror(e));
	}
	nfct_close(h);
	t->count = read_long("/proc/sys/net/netfilter/nf_conntrack_count");
	t->max = read_long("/proc/sys/net/netfilter/nf_conntrack_max");
	return 0;
}

int nat_collect(const char *netns, struct nat_table *t)
{
	struct netns ns;
	int saved = -1, r;

	memset(t, 0, sizeof(*t));
	if (!netns)
		return dump(t);
	if ((r = netns_resolve(netns, &ns)))
		return r;
	if (!ns.current && (r = netns_enter(&ns, &saved))) {
		netns_release(&ns);
		return r;
	}
	r = dump(t);
	if (saved >= 0 && netns_restore(saved) && !r)
		r = errorf(-EIO, "cannot come back from namespace '%s'", netns);
	netns_release(&ns);
	return r;
}

void nat_table_free(struct nat_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const char *nat_tcp_state(unsigned s)
{
	static const char *const names[] = {
		"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
		"LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "UNKNOWN";
}

const char *nat_translation(const struct nat_entry *e)
{
	bool s = e->status & IPS_SRC_NAT, d = e->status & IPS_DST_NAT;

	return s && d ? "both" : s ? "snat" : d ? "dnat" : NULL;
}


struct watch {
	int (*fn)(const struct nat_entry *e, const char *event, void *arg);
	void *arg;
	struct nat_table one;
	int stop;
};

static int on_event(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *arg)
{
	struct watch *w = arg;

	w->one.n = 0;
	on_entry(type, ct, &w->one);
	if (w->fn(&w->one.v[0], type == NFCT_T_NEW ? "new" : type == NFCT_T_DESTROY ? "destroy"
			       : "update", w->arg)) {
		w->stop = 1;
		return NFCT_CB_STOP;
	}
	return NFCT_CB_CONTINUE;
}

static int follow(int stop_fd, struct watch *w)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, NFCT_ALL_CT_GROUPS);
	int fd, r = 0;

	if (!h)
		return errorf(-errno, errno == EPERM ? "following the conntrack table needs root "
			      "(CAP_NET_ADMIN)" : "cannot open ctnetlink events: %s", strerror(errno));
	fd = nfct_fd(h);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	nfct_callback_register(h, NFCT_T_ALL, on_event, w);
	while (!w->stop) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { stop_fd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = errorf(-errno, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (nfct_catch(h) < 0 && errno != EAGAIN && errno != EINTR && !w->stop) {
			if (errno == ENOBUFS) {
				warnf("events came faster than they were read: some were lost");
				continue;
			}
			r = errorf(-errno, "reading conntrack events: %s", strerror(errno));
			break;
		}
	}
	nfct_close(h);
	return r;
}

int nat_watch(const char *netns, int stop_fd,
	      int (*fn)(const struct nat_entry *e, const char *event, void *arg), void *arg)
{
	struct watch w = { .fn = fn, .arg = arg };
	struct netns ns;
	int saved = -1, r;

	if (netns) {
		if ((r = netns_resolve(netns, &ns)))
			return r;
		if (!ns.current && (r = netns_enter(&ns, &saved))) {
			netns_release(&ns);
			return r;
		}
	}
	r = follow(stop_fd, &w);
	if (saved >= 0)
		netns_restore(saved);
	if (netns)
		netns_release(&ns);
	free(w.one.v);
	return r;
}
