/*
 * conntrack.c - the conntrack table through ctnetlink, read with libmnl.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/host/netns.h"
#include "core/base/xalloc.h"
#include "core/wire/wire.h"
#include "core/host/conntrack.h"
#include "core/host/conntrack_int.h"
#include "core/base/banned.h"

/*
 * The messages are read straight from the netlink socket (libmnl for the
 * socket and the attribute walk), one pass per message into a struct
 * nat_entry: no intermediate object per entry. Every attribute's length is
 * checked before it is read; what is not understood is skipped.
 */

/* attributes in network order (core/wire.h reads them) */
static uint16_t be16(const struct nlattr *a)
{
	return get_be16(mnl_attr_get_payload(a));
}

static uint32_t be32(const struct nlattr *a)
{
	return get_be32(mnl_attr_get_payload(a));
}

static uint64_t be64(const struct nlattr *a)
{
	return get_be64(mnl_attr_get_payload(a));
}

static size_t len(const struct nlattr *a)
{
	return mnl_attr_get_payload_len(a);
}

/* Nested attributes of a in order; false when one is cut short */
#define NESTED(x, a) mnl_attr_for_each_nested(x, a)

static int tuple(const struct nlattr *nest, struct nat_tuple *t, uint8_t *proto)
{
	const struct nlattr *a, *b;

	NESTED(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_IP:
			NESTED(b, a) {
				unsigned type = mnl_attr_get_type(b);
				size_t n = type == CTA_IP_V4_SRC || type == CTA_IP_V4_DST ? 4
					   : type == CTA_IP_V6_SRC || type == CTA_IP_V6_DST ? 16 : 0;

				if (!n)
					continue;
				if (len(b) < n)
					return -1;
				memcpy(type == CTA_IP_V4_SRC || type == CTA_IP_V6_SRC ? t->src : t->dst,
				       mnl_attr_get_payload(b), n);
			}
			break;
		case CTA_TUPLE_PROTO:
			NESTED(b, a) {
				unsigned type = mnl_attr_get_type(b);

				if (type == CTA_PROTO_NUM && len(b) >= 1)
					*proto = *(const uint8_t *)mnl_attr_get_payload(b);
				else if (type == CTA_PROTO_SRC_PORT && len(b) >= 2)
					t->sport = be16(b);
				else if (type == CTA_PROTO_DST_PORT && len(b) >= 2)
					t->dport = be16(b);
			}
			break;
		}
	}
	return 0;
}

static void counters(const struct nlattr *nest, uint64_t *packets, uint64_t *bytes)
{
	const struct nlattr *a;

	NESTED(a, nest) {
		unsigned type = mnl_attr_get_type(a);
		uint64_t v = len(a) >= 8 ? be64(a) : len(a) >= 4 ? be32(a) : 0;

		if (type == CTA_COUNTERS_PACKETS || type == CTA_COUNTERS32_PACKETS)
			*packets = v;
		else if (type == CTA_COUNTERS_BYTES || type == CTA_COUNTERS32_BYTES)
			*bytes = v;
	}
}

static void timestamps(const struct nlattr *nest, struct nat_entry *e)
{
	const struct nlattr *a;

	NESTED(a, nest) {
		unsigned type = mnl_attr_get_type(a);

		if (len(a) < 8)
			continue;
		if (type == CTA_TIMESTAMP_START)
			e->ts_start_ns = be64(a);
		else if (type == CTA_TIMESTAMP_STOP)
			e->ts_stop_ns = be64(a);
	}
}

static void tcp_state(const struct nlattr *nest, uint8_t *state)
{
	const struct nlattr *a, *b;

	NESTED(a, nest)
		if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP)
			NESTED(b, a)
				if (mnl_attr_get_type(b) == CTA_PROTOINFO_TCP_STATE && len(b) >= 1)
					*state = *(const uint8_t *)mnl_attr_get_payload(b);
}

int nat_parse_msg(const void *msg, size_t size, struct nat_entry *e)
{
	const struct nlmsghdr *nlh = msg;
	const struct nfgenmsg *g;
	const struct nlattr *a;
	uint8_t rproto = 0;

	memset(e, 0, sizeof(*e));
	if (size < sizeof(*nlh) || nlh->nlmsg_len < NLMSG_SPACE(sizeof(*g)) || nlh->nlmsg_len > size)
		return -1;
	g = mnl_nlmsg_get_payload(nlh);
	if (g->nfgen_family != AF_INET && g->nfgen_family != AF_INET6)
		return -1;
	e->family = g->nfgen_family;
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			if (tuple(a, &e->orig, &e->proto))
				return -1;
			break;
		case CTA_TUPLE_REPLY:
			if (tuple(a, &e->reply, &rproto))
				return -1;
			break;
		case CTA_STATUS:
			if (len(a) >= 4)
				e->status = be32(a);
			break;
		case CTA_PROTOINFO:
			tcp_state(a, &e->tcp_state);
			break;
		case CTA_TIMEOUT:
			if (len(a) >= 4)
				e->timeout = be32(a);
			break;
		case CTA_MARK:
			if (len(a) >= 4)
				e->mark = be32(a);
			break;
		case CTA_ZONE:
			if (len(a) >= 2)
				e->zone = be16(a);
			break;
		case CTA_ID:
			if (len(a) >= 4)
				e->id = be32(a);
			break;
		case CTA_TIMESTAMP:
			timestamps(a, e);
			break;
		case CTA_COUNTERS_ORIG:
			e->counters = true;
			counters(a, &e->orig_packets, &e->orig_bytes);
			break;
		case CTA_COUNTERS_REPLY:
			e->counters = true;
			counters(a, &e->reply_packets, &e->reply_bytes);
			break;
		}
	}
	if (e->proto != IPPROTO_TCP)
		e->tcp_state = 0;
	return e->proto ? 0 : -1;
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

const struct nlmsghdr *nat_ct_next(const void *buf, size_t size, const struct nlmsghdr *prev)
{
	size_t off = prev ? (size_t)((const char *)prev - (const char *)buf) +
			    NLMSG_ALIGN((size_t)prev->nlmsg_len) : 0;
	const struct nlmsghdr *h = (const void *)((const char *)buf + off);

	if (off > size || size - off < sizeof(*h) || h->nlmsg_len < sizeof(*h) ||
	    h->nlmsg_len > size - off)
		return NULL;
	return h;
}

int ct_run_batch(const char *buf, size_t n, unsigned seq, unsigned portid,
		 int (*cb)(const struct nlmsghdr *nlh, void *arg), void *arg)
{
	for (const struct nlmsghdr *h = nat_ct_next(buf, n, NULL); h; h = nat_ct_next(buf, n, h)) {
		if ((seq && h->nlmsg_seq != seq) || (portid && h->nlmsg_pid && h->nlmsg_pid != portid))
			continue;	/* not the answer to our request */
		if (h->nlmsg_type == NLMSG_DONE)
			return MNL_CB_STOP;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) || !e->error)
				continue;
			errno = e->error < 0 ? -e->error : e->error;
			return -1;
		}
		if (h->nlmsg_type < NLMSG_MIN_TYPE)
			continue;
		if (cb(h, arg) == MNL_CB_STOP)
			return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

void ct_save(const void *buf, size_t n)
{
	static FILE *f;
	static bool tried;
	const char *path = getenv("PORTKIT_CT_SAVE");

	if (!tried && path && *path)
		f = fopen(path, "abe");
	tried = true;
	if (f && (fwrite(buf, 1, n, f) != n || fflush(f)))
		warnf("cannot write '%s': %s", path, strerror(errno));
}

int ct_error(int e, const char *what)
{
	if (e == EPERM || e == EACCES)
		return errorf(-e, "%s the conntrack table needs root (CAP_NET_ADMIN)", what);
	if (e == ENOENT || e == EOPNOTSUPP || e == EPROTONOSUPPORT)
		return errorf(-e, "no connection tracking here: the nf_conntrack module is not "
			      "loaded (modprobe nf_conntrack, or any NAT or stateful rule loads it)");
	return errorf(-e, "cannot read the conntrack table: %s", strerror(e));
}

struct mnl_socket *ct_open(unsigned groups)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);

	if (nl && mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

/*
 * A dump runs on two threads: one receives the kernel's messages (the
 * kernel builds them in that thread's system calls), the caller's parses
 * and hands out entries while the next batch is being made. Between them a
 * ring of NCHUNK receive buffers; the receiver waits when it is full, so
 * memory stays bounded whatever the table's size.
 */
#define NCHUNK 32
#define CHUNK (1 << 16)		/* a dump message batch is at most 32 KiB */

struct chunk {
	char buf[CHUNK];
	ssize_t n;
	int err;
};

struct dumper {
	struct mnl_socket *nl;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk *c;
	unsigned head, tail;	/* received, consumed */
	bool done, quit;
};

/* The batch ends the dump: it holds NLMSG_DONE or an error */
static bool last_batch(const char *buf, size_t n)
{
	for (const struct nlmsghdr *h = nat_ct_next(buf, n, NULL); h; h = nat_ct_next(buf, n, h))
		if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
			return true;
	return false;
}

static void *receiver(void *arg)
{
	struct dumper *d = arg;
	bool end = false;

	while (!end) {
		struct chunk *c;

		pthread_mutex_lock(&d->mu);
		while (d->head - d->tail == NCHUNK && !d->quit)
			pthread_cond_wait(&d->cv, &d->mu);
		end = d->quit;
		c = &d->c[d->head % NCHUNK];
		pthread_mutex_unlock(&d->mu);
		if (end)
			break;
		c->n = mnl_socket_recvfrom(d->nl, c->buf, CHUNK);
		c->err = c->n < 0 ? errno : 0;
		if (c->n > 0)
			ct_save(c->buf, (size_t)c->n);
		end = c->n <= 0 || last_batch(c->buf, (size_t)c->n);
		pthread_mutex_lock(&d->mu);
		d->head++;
		d->done = end;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
	}
	return NULL;
}

struct each {
	int (*fn)(const struct nat_entry *e, void *arg);
	void *arg;
	int stopped;
};

static int on_entry(const struct nlmsghdr *nlh, void *arg)
{
	struct each *x = arg;
	struct nat_entry e;

	if (nat_parse_msg(nlh, nlh->nlmsg_len, &e))
		return MNL_CB_OK;
	if ((x->stopped = x->fn(&e, x->arg)))
		return MNL_CB_STOP;
	return MNL_CB_OK;
}

static int request(struct mnl_socket *nl, unsigned seq)
{
	char buf[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

static int dump(int (*fn)(const struct nat_entry *e, void *arg), void *arg, long *count, long *max)
{
	struct dumper d = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct each x = { fn, arg, 0 };
	unsigned seq = (unsigned)time(NULL), portid;
	pthread_t th;
	int r = 0;

	if (!(d.nl = ct_open(0)))
		return ct_error(errno, "reading");
	portid = mnl_socket_get_portid(d.nl);
	if (request(d.nl, seq)) {
		r = ct_error(errno, "reading");
		mnl_socket_close(d.nl);
		return r;
	}
	d.c = xmalloc(sizeof(*d.c) * NCHUNK);
	if (pthread_create(&th, NULL, receiver, &d)) {
		free(d.c);
		mnl_socket_close(d.nl);
		return errorf(-EAGAIN, "cannot start a thread");
	}
	for (;;) {
		struct chunk *c;
		int cb;

		pthread_mutex_lock(&d.mu);
		while (d.tail == d.head && !d.done)
			pthread_cond_wait(&d.cv, &d.mu);
		if (d.tail == d.head) {		/* done, and every batch consumed */
			pthread_mutex_unlock(&d.mu);
			break;
		}
		c = &d.c[d.tail % NCHUNK];
		pthread_mutex_unlock(&d.mu);
		if (c->n < 0) {
			r = ct_error(c->err, "reading");
			break;
		}
		cb = c->n ? ct_run_batch(c->buf, (size_t)c->n, seq, portid, on_entry, &x) : MNL_CB_STOP;
		if (cb < 0) {
			r = ct_error(errno, "reading");
			break;
		}
		pthread_mutex_lock(&d.mu);
		d.tail++;
		pthread_cond_broadcast(&d.cv);
		pthread_mutex_unlock(&d.mu);
		if (cb == MNL_CB_STOP)
			break;
	}
	pthread_mutex_lock(&d.mu);
	d.quit = true;	/* the receiver ends at its next turn: each recv gets the
			 * dump's next batch, so it never waits long */
	pthread_cond_broadcast(&d.cv);
	pthread_mutex_unlock(&d.mu);
	pthread_join(th, NULL);
	mnl_socket_close(d.nl);
	free(d.c);
	if (!r && count)
		*count = read_long("/proc/sys/net/netfilter/nf_conntrack_count");
	if (!r && max)
		*max = read_long("/proc/sys/net/netfilter/nf_conntrack_max");
	return r;
}

int nat_each(const char *netns, int (*fn)(const struct nat_entry *e, void *arg), void *arg,
	     long *count, long *max)
{
	struct netns ns;
	int saved = -1, r;

	if (!netns)
		return dump(fn, arg, count, max);
	if ((r = netns_resolve(netns, &ns)))
		return r;
	if (!ns.current && (r = netns_enter(&ns, &saved))) {
		netns_release(&ns);
		return r;
	}
	r = dump(fn, arg, count, max);
	if (saved >= 0 && netns_restore(saved) && !r)
		r = errorf(-EIO, "cannot come back from namespace '%s'", netns);
	netns_release(&ns);
	return r;
}

int nat_each_ns(const struct netns *ns, int (*fn)(const struct nat_entry *e, void *arg),
		void *arg, long *count, long *max)
{
	int saved = -1, r;

	if (!ns->current && (r = netns_enter(ns, &saved)))
		return r;
	r = dump(fn, arg, count, max);
	if (saved >= 0 && netns_restore(saved) && !r)
		r = errorf(-EIO, "cannot come back from namespace '%s'", ns->name);
	return r;
}

int nat_each_bytes(const void *buf, size_t size, int (*fn)(const struct nat_entry *e, void *arg),
		   void *arg)
{
	struct each x = { fn, arg, 0 };

	return ct_run_batch(buf, size, 0, 0, on_entry, &x) < 0 ? ct_error(errno, "reading") : 0;
}

static const char *const tcp_states[] = {
	"NONE", "SYN-SENT", "SYN-RECV", "ESTAB", "FIN-WAIT", "CLOSE-WAIT",
	"LAST-ACK", "TIME-WAIT", "CLOSE", "SYN-SENT2",
};

const char *nat_tcp_state(unsigned s)
{
	return s < sizeof(tcp_states) / sizeof(tcp_states[0]) ? tcp_states[s] : "UNKNOWN";
}

/* equal but for case and '-' against '_' */
static bool same_word(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)(*a == '_' ? '-' : *a)) !=
		    tolower((unsigned char)(*b == '_' ? '-' : *b)))
			return false;
	return !*a && !*b;
}

int nat_tcp_state_parse(const char *s, unsigned *state)
{
	static const struct { const char *word; unsigned state; } more[] = {
		{ "established", 3 }, { "syn-received", 2 }, { "fin-wait-1", 4 },
		{ "fin-wait-2", 4 }, { "closed", 8 },
	};

	for (unsigned i = 0; i < sizeof(tcp_states) / sizeof(tcp_states[0]); i++)
		if (same_word(s, tcp_states[i])) {
			*state = i;
			return 0;
		}
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (same_word(s, more[i].word)) {
			*state = more[i].state;
			return 0;
		}
	return errorf(-EINVAL, "unknown state '%s' (ESTAB, SYN-SENT, TIME-WAIT, ...; '-' or '_')",
		      s);
}

const char *nat_translation(const struct nat_entry *e)
{
	bool s = e->status & IPS_SRC_NAT, d = e->status & IPS_DST_NAT;

	return s && d ? "both" : s ? "snat" : d ? "dnat" : NULL;
}

