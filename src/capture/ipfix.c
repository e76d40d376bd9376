/*
 * ipfix.c - capture --flows --ipfix HOST:PORT: flow records to a collector.
 *
 * IPFIX (RFC 7011, information elements from IANA's registry, RFC 7012)
 * over UDP or TCP, or NetFlow v9 (RFC 3954) over UDP with --netflow9.
 * portkit's flows are two-way (Zeek's model); IPFIX and v9 records are
 * one-way, so a flow becomes a record per direction that sent something
 * since its last export, with octet and packet deltas (IP bytes, as the
 * elements define them). Interim records (--interval) end with reason
 * "active timeout"; the final one with idle timeout, end of flow detected
 * (a TCP FIN or RST was seen), forced end (the capture ended) or lack of
 * resources (--max-flows).
 *
 * The clock is the capture's: export times and NetFlow's uptime follow the
 * packets' timestamps, so a file replays with its own times (as softflowd
 * -r does). Nothing here ever blocks the capture: UDP sends are
 * non-blocking and a failed one is a counted drop; TCP keeps a bounded
 * queue (QUEUE_MAX) and drops whole messages past it. One warning the
 * first time, the count at the end.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/flows.h"
#include "core/vocab/addr.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

/* RFC 5612's enterprise number for documentation: portkit has no IANA
 * number of its own; its two elements are documented in docs/ipfix.md */
#define PEN 32473
enum { IE_COMMUNITY_ID = 1, IE_CONN_STATE = 2 };
enum { TPL_V4 = 256, TPL_V6 = 257 };
#define UDP_MSG_MAX 1400		/* one message per datagram, under a 1500 path MTU */
#define TCP_MSG_MAX 16384
#define QUEUE_MAX (4u << 20)		/* TCP: bytes waiting before messages are dropped */
#define TPL_EVERY_MSGS 64		/* UDP: templates again after this many messages */
#define TPL_EVERY_MS 60000		/* ... or this much capture time */
#define BATCH 32			/* UDP from a file: messages per sendmmsg */
#define LINGER_MS 1000			/* live: a message waits at most this long */

struct ipfix {
	int fd;
	bool tcp, v9, connected, failed, warned;
	char to[ENDPOINT_STRLEN];
	uint32_t domain;
	unsigned cid_seed;
	bool live;
	size_t msg_max;
	uint8_t *msg;			/* the message being built */
	uint8_t (*slot)[UDP_MSG_MAX];	/* UDP: messages built, not yet sent */
	size_t slen[BATCH];
	unsigned sdata[BATCH], nslot, batch;
	int64_t opened_ms;		/* wall clock: when the open message began */
	size_t len;			/* 0: no message open */
	size_t set_at;			/* the open data set's header, 0 none */
	uint16_t set_id;
	unsigned nrec;			/* records (and v9 templates) in the message */
	unsigned ndata;			/* data records in the message */
	uint32_t seq;			/* IPFIX: data records sent; v9: packets sent */
	int64_t now_ms, base_ms;	/* the capture clock; v9's uptime zero */
	int64_t tpl_ms;
	unsigned since_tpl;
	bool tpl_due;
	uint8_t *q;			/* TCP: bytes not yet written */
	size_t qlen, qoff;
	uint64_t records, messages, drop_msgs, drop_records;
};

static void put8(struct ipfix *x, unsigned v)
{
	x->msg[x->len++] = (uint8_t)v;
}

static void put16(struct ipfix *x, unsigned v)
{
	put8(x, v >> 8);
	put8(x, v);
}

static void put32(struct ipfix *x, uint32_t v)
{
	put16(x, v >> 16);
	put16(x, v & 0xffff);
}

static void put64(struct ipfix *x, uint64_t v)
{
	put32(x, (uint32_t)(v >> 32));
	put32(x, (uint32_t)v);
}

static void set16(struct ipfix *x, size_t at, unsigned v)
{
	x->msg[at] = (uint8_t)(v >> 8);
	x->msg[at + 1] = (uint8_t)v;
}

static void warn_once(struct ipfix *x, const char *why)
{
	if (!x->warned)
		warnf("flow export to %s: %s (flows go on; drops are counted)", x->to, why);
	x->warned = true;
}

/* ---- sending ---- */

static void tcp_drain(struct ipfix *x)
{
	while (x->qoff < x->qlen && !x->failed) {
		ssize_t n = send(x->fd, x->q + x->qoff, x->qlen - x->qoff, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ENOTCONN ||
			    errno == EINPROGRESS)
				break;
			x->failed = true;
			warn_once(x, strerror(errno));
			break;
		}
		x->qoff += (size_t)n;
	}
	if (x->qoff == x->qlen)
		x->qoff = x->qlen = 0;
	else if (x->qoff > QUEUE_MAX / 2) {
		memmove(x->q, x->q + x->qoff, x->qlen - x->qoff);
		x->qlen -= x->qoff;
		x->qoff = 0;
	}
}

/* UDP: the messages built so far, one datagram each, in as few system
 * calls as the kernel takes them; a refused one is dropped and counted */
static void udp_flush(struct ipfix *x)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	unsigned i = 0;

	for (unsigned k = 0; k < x->nslot; k++) {
		iov[k] = (struct iovec){ x->slot[k], x->slen[k] };
		m[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
	}
	while (i < x->nslot) {		/* bounded: each turn sends or drops one at least */
		int r = sendmmsg(x->fd, m + i, x->nslot - i, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r > 0) {
			i += (unsigned)r;
			continue;
		}
		warn_once(x, errno == EAGAIN ? "the socket buffer is full"
			  : errno == ECONNREFUSED ? "nothing listens there (port unreachable)"
			  : strerror(errno));
		x->drop_msgs++;
		x->drop_records += x->sdata[i++];
	}
	x->nslot = 0;
}

static void send_msg(struct ipfix *x, size_t n, unsigned ndata)
{
	x->messages++;
	if (x->tcp) {
		tcp_drain(x);
		if (x->failed || x->qlen + n > QUEUE_MAX) {
			if (!x->failed)
				warn_once(x, "the collector does not keep up (queue full)");
			x->drop_msgs++;
			x->drop_records += ndata;
			return;
		}
		memcpy(x->q + x->qlen, x->msg, n);
		x->qlen += n;
		tcp_drain(x);
		return;
	}
	x->slen[x->nslot] = n;
	x->sdata[x->nslot++] = ndata;
	if (x->nslot == x->batch)
		udp_flush(x);
	x->msg = x->slot[x->nslot];
}

/* ---- messages ---- */

static void close_set(struct ipfix *x)
{
	if (!x->set_at)
		return;
	while (x->v9 && (x->len - x->set_at) % 4)
		put8(x, 0);	/* v9 flowsets end on a 32-bit boundary */
	set16(x, x->set_at + 2, (unsigned)(x->len - x->set_at));
	x->set_at = 0;
}

static void finish_msg(struct ipfix *x)
{
	if (!x->len)
		return;
	close_set(x);
	if (x->v9) {
		set16(x, 2, x->nrec);
		x->seq++;
	} else {
		set16(x, 2, (unsigned)x->len);
		x->seq += x->ndata;
	}
	x->records += x->ndata;
	send_msg(x, x->len, x->ndata);
	x->len = 0;
}

static void template_fields(struct ipfix *x, bool v6)
{
	/* (element, length); an enterprise element: id | 0x8000, then the PEN */
	static const uint16_t common[][2] = {
		{ 7, 2 }, { 11, 2 }, { 4, 1 }, { 6, 2 }, { 1, 8 }, { 2, 8 },
	};
	unsigned n = 2 + 6 + (x->v9 ? 2 : 3 + 2);

	put16(x, v6 ? TPL_V6 : TPL_V4);
	put16(x, n);
	put16(x, v6 ? 27 : 8);			/* sourceIPv{4,6}Address */
	put16(x, v6 ? 16 : 4);
	put16(x, v6 ? 28 : 12);			/* destinationIPv{4,6}Address */
	put16(x, v6 ? 16 : 4);
	for (unsigned i = 0; i < 6; i++) {
		put16(x, common[i][0]);		/* ports, protocol, TCP flags, octets, packets */
		put16(x, x->v9 && common[i][0] == 6 ? 1 : common[i][1]);
	}
	if (x->v9) {
		put16(x, 22);			/* FIRST_SWITCHED, uptime ms */
		put16(x, 4);
		put16(x, 21);			/* LAST_SWITCHED */
		put16(x, 4);
		return;
	}
	put16(x, 152);				/* flowStartMilliseconds */
	put16(x, 8);
	put16(x, 153);				/* flowEndMilliseconds */
	put16(x, 8);
	put16(x, 136);				/* flowEndReason */
	put16(x, 1);
	put16(x, 0x8000 | IE_COMMUNITY_ID);
	put16(x, 0xffff);			/* variable length */
	put32(x, PEN);
	put16(x, 0x8000 | IE_CONN_STATE);
	put16(x, 0xffff);
	put32(x, PEN);
}

static void start_msg(struct ipfix *x)
{
	x->opened_ms = x->live ? ev_now_ms() : 0;
	x->len = 0;
	x->nrec = x->ndata = 0;
	x->set_at = 0;
	if (x->v9) {
		/* the collector takes boot = unix_secs - sysUptime: both from the
		 * same whole second, so that the flows' times come out exact */
		int64_t up = x->now_ms / 1000 * 1000 - x->base_ms;

		put16(x, 9);
		put16(x, 0);				/* count, at the end */
		put32(x, (uint32_t)(up < 0 ? 0 : up));	/* sysUptime */
		put32(x, (uint32_t)(x->now_ms / 1000));
		put32(x, x->seq);
		put32(x, x->domain);
	} else {
		put16(x, 10);
		put16(x, 0);				/* length, at the end */
		put32(x, (uint32_t)(x->now_ms / 1000));	/* export time */
		put32(x, x->seq);
		put32(x, x->domain);
	}
	if (x->tpl_due) {
		size_t at = x->len;

		put16(x, x->v9 ? 0 : 2);		/* template set */
		put16(x, 0);
		template_fields(x, false);
		template_fields(x, true);
		set16(x, at + 2, (unsigned)(x->len - at));
		x->nrec += 2;
		x->tpl_due = false;
		x->tpl_ms = x->now_ms;
		x->since_tpl = 0;
	}
}

/* Room for n more bytes of a record of set id in the open message */
static void need(struct ipfix *x, uint16_t id, size_t n)
{
	if (x->len && (x->len + n + 4 + 3 > x->msg_max || (x->set_at && x->set_id != id) ||
		       x->tpl_due)) {
		finish_msg(x);
	}
	if (!x->len) {
		if (!x->tcp && (x->since_tpl >= TPL_EVERY_MSGS || x->now_ms - x->tpl_ms >= TPL_EVERY_MS))
			x->tpl_due = true;
		start_msg(x);
		x->since_tpl++;
	}
	if (!x->set_at) {
		x->set_at = x->len;
		x->set_id = id;
		put16(x, id);
		put16(x, 0);
	}
}

static void put_str(struct ipfix *x, const char *s)
{
	size_t n = strlen(s);

	put8(x, (unsigned)n);		/* short form: under 255 bytes */
	memcpy(x->msg + x->len, s, n);
	x->len += n;
}

/* IPFIX flowEndReason */
static unsigned end_reason(const struct flow_rec *f, bool interim)
{
	if (interim)
		return 2;		/* active timeout */
	if (f->evicted)
		return 5;		/* lack of resources */
	if (f->flushed)
		return 4;		/* forced end */
	if (f->proto == 6 && ((f->oflags | f->rflags) & 0x05))
		return 3;		/* end of flow detected: FIN or RST */
	return 1;			/* idle timeout */
}

static void record(struct ipfix *x, const struct flow_rec *f, bool reverse, uint64_t pkts,
		   uint64_t octets, bool interim, const char *cid, const char *state)
{
	bool v6 = f->ipver == 6;
	size_t alen = v6 ? 16 : 4;
	size_t n = 2 * alen + 2 + 2 + 1 + (x->v9 ? 1 : 2) + 16 + (x->v9 ? 8 : 17) +
		   (x->v9 ? 0 : 2 + strlen(cid) + strlen(state));

	need(x, v6 ? TPL_V6 : TPL_V4, n);
	memcpy(x->msg + x->len, reverse ? f->raddr : f->oaddr, alen);
	x->len += alen;
	memcpy(x->msg + x->len, reverse ? f->oaddr : f->raddr, alen);
	x->len += alen;
	put16(x, reverse ? f->rport : f->oport);
	put16(x, reverse ? f->oport : f->rport);
	put8(x, f->proto);
	if (x->v9)
		put8(x, reverse ? f->rflags : f->oflags);
	else
		put16(x, reverse ? f->rflags : f->oflags);
	put64(x, octets);
	put64(x, pkts);
	if (x->v9) {
		int64_t a = f->start / 1000 - x->base_ms, b = f->last / 1000 - x->base_ms;

		put32(x, (uint32_t)(a < 0 ? 0 : a));
		put32(x, (uint32_t)(b < 0 ? 0 : b));
	} else {
		put64(x, (uint64_t)(f->start / 1000));
		put64(x, (uint64_t)(f->last / 1000));
		put8(x, end_reason(f, interim));
		put_str(x, cid);
		put_str(x, state);
	}
	x->nrec++;
	x->ndata++;
}

void ipfix_emit(struct flow_rec *f, bool interim, void *arg)
{
	struct ipfix *x = arg;
	uint64_t po = f->opkts - f->xopkts, pr = f->rpkts - f->xrpkts;
	uint64_t bo = f->oip - f->xoip, br = f->rip - f->xrip;
	char cid[40] = "";
	const char *state = "";
	int64_t last = f->last / 1000;

	if (last > x->now_ms)
		x->now_ms = last;
	if (!x->base_ms)
		x->base_ms = f->start / 1000 - 86400000LL;	/* v9 uptime: a day of slack */
	if (!po && !pr)
		return;		/* nothing new since the last report */
	if (!x->v9) {
		flow_community_id(f, x->cid_seed, cid);
		state = flow_conn_state(f);
	}
	if (po)
		record(x, f, false, po, bo, interim, cid, state);
	if (pr)
		record(x, f, true, pr, br, interim, cid, state);
	f->xopkts = f->opkts;
	f->xrpkts = f->rpkts;
	f->xoip = f->oip;
	f->xrip = f->rip;
	if (x->live)
		ipfix_tick(x);
}

void ipfix_tick(struct ipfix *x)
{
	if (x && x->live && x->len && ev_now_ms() - x->opened_ms >= LINGER_MS) {
		finish_msg(x);
		if (!x->tcp)
			udp_flush(x);
	}
}

struct ipfix *ipfix_new(const struct cap_opts *o)
{
	struct ipfix *x;
	struct endpoint e;
	struct sockaddr_storage sa;
	socklen_t len;
	int fd;

	if (endpoint_parse(o->ipfix, 0, &e)) {
		errorf(-EINVAL, "--ipfix: %s", error_msg());
		return NULL;
	}
	fd = socket(e.family, (o->ipfix_tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		errorf(-errno, "--ipfix: %s", strerror(errno));
		return NULL;
	}
	len = endpoint_to_sockaddr(&e, &sa);
	if (connect(fd, (const struct sockaddr *)&sa, len) && errno != EINPROGRESS) {
		int err = errno;

		close(fd);
		errorf(-err, "--ipfix: cannot reach %s: %s", o->ipfix, strerror(err));
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	x->fd = fd;
	x->tcp = o->ipfix_tcp;
	x->v9 = o->netflow9;
	x->domain = o->domain;
	x->cid_seed = o->cid_seed;
	x->msg_max = x->tcp ? TCP_MSG_MAX : UDP_MSG_MAX;
	x->live = !o->read;
	/* from a file, datagrams go in batches; live, each as it is made */
	x->batch = x->live ? 1 : BATCH;
	x->slot = xmalloc(x->tcp ? TCP_MSG_MAX : sizeof(*x->slot) * BATCH);
	x->msg = x->slot[0];
	x->tpl_due = true;
	endpoint_str(&e, x->to);
	if (x->tcp)
		x->q = xmalloc(QUEUE_MAX);
	return x;
}

void ipfix_discard(struct ipfix *x)
{
	if (!x)
		return;
	close(x->fd);
	free(x->q);
	free(x->slot);
	free(x);
}

int ipfix_close(struct ipfix *x, char *say, size_t n)
{
	int64_t end;

	*say = '\0';
	if (!x)
		return 0;
	finish_msg(x);
	if (!x->tcp)
		udp_flush(x);
	/* TCP: what is queued gets up to 5 s to go, then it is dropped */
	end = ev_now_ms() + 5000;
	while (x->tcp && x->qlen > x->qoff && !x->failed && ev_now_ms() < end) {
		if (ev_wait_fd(x->fd, EPOLLOUT, (end - ev_now_ms()) * 1000) <= 0)
			break;
		tcp_drain(x);
	}
	if (x->tcp && x->qlen > x->qoff) {
		warn_once(x, "the collector did not take everything before the end");
		x->drop_msgs++;		/* the rest, counted as one */
	}
	char dropped[96] = "";

	if (x->drop_msgs)
		snprintf(dropped, sizeof(dropped), "; %llu messages (%llu records) dropped",
			 (unsigned long long)x->drop_msgs, (unsigned long long)x->drop_records);
	/* for the log: one line, the collector's name cut if long */
	snprintf(say, n, "sent %llu flow records in %llu %s messages to %.80s%s%s",
	      (unsigned long long)(x->records - x->drop_records),
	      (unsigned long long)(x->messages - x->drop_msgs), x->v9 ? "NetFlow v9" : "IPFIX",
	      x->to, x->tcp ? " (tcp)" : "", dropped);
	ipfix_discard(x);
	return 0;
}
