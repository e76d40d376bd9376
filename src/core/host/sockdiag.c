/*
 * sockdiag.c - dump and parse inet_diag sockets (see sockdiag.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/host/sockdiag.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define RECV_BUF (64 * 1024)
#define SAVE_MAGIC "PKDIAG1\n"

static const char *const state_names[SS_MAX] = {
	[0] = "UNKNOWN", [SS_ESTABLISHED] = "ESTAB", [SS_SYN_SENT] = "SYN-SENT",
	[SS_SYN_RECV] = "SYN-RECV", [SS_FIN_WAIT1] = "FIN-WAIT-1",
	[SS_FIN_WAIT2] = "FIN-WAIT-2", [SS_TIME_WAIT] = "TIME-WAIT",
	[SS_CLOSE] = "UNCONN", [SS_CLOSE_WAIT] = "CLOSE-WAIT",
	[SS_LAST_ACK] = "LAST-ACK", [SS_LISTEN] = "LISTEN", [SS_CLOSING] = "CLOSING",
};

const char *state_name(unsigned state)
{
	return state < SS_MAX ? state_names[state] : "UNKNOWN";
}

#define B(s) (1u << (s))

static const struct {
	const char *name;
	uint32_t mask;
} state_words[] = {
	{ "established", B(SS_ESTABLISHED) }, { "estab", B(SS_ESTABLISHED) },
	{ "syn-sent", B(SS_SYN_SENT) }, { "syn-recv", B(SS_SYN_RECV) },
	{ "syn-received", B(SS_SYN_RECV) }, { "fin-wait-1", B(SS_FIN_WAIT1) },
	{ "fin-wait-2", B(SS_FIN_WAIT2) }, { "time-wait", B(SS_TIME_WAIT) },
	{ "closed", B(SS_CLOSE) }, { "close", B(SS_CLOSE) }, { "unconn", B(SS_CLOSE) },
	{ "unconnected", B(SS_CLOSE) }, { "close-wait", B(SS_CLOSE_WAIT) },
	{ "last-ack", B(SS_LAST_ACK) }, { "listen", B(SS_LISTEN) },
	{ "listening", B(SS_LISTEN) }, { "closing", B(SS_CLOSING) },
	{ "all", SS_ALL },
	{ "connected", SS_ALL & ~(B(SS_LISTEN) | B(SS_CLOSE)) },
	{ "synchronized", SS_ALL & ~(B(SS_LISTEN) | B(SS_CLOSE) | B(SS_SYN_SENT)) },
	{ "bucket", B(SS_SYN_RECV) | B(SS_TIME_WAIT) },
	{ "big", SS_ALL & ~(B(SS_SYN_RECV) | B(SS_TIME_WAIT)) },
};

int state_parse(const char *arg, uint32_t *mask)
{
	char s[32];

	/* conntrack's and the kernel's TIME_WAIT is time-wait too */
	snprintf(s, sizeof(s), "%s", arg);
	for (char *p = s; *p; p++)
		if (*p == '_')
			*p = '-';
	if (strlen(arg) >= sizeof(s))
		s[0] = '\0';	/* too long for any state: no cut-off match */
	for (size_t i = 0; i < sizeof(state_words) / sizeof(state_words[0]); i++) {
		if (!strcasecmp(s, state_words[i].name)) {
			*mask = state_words[i].mask;
			return 0;
		}
	}
	/* accept ss's own upper-case spellings too (ESTAB, TIME-WAIT, UNCONN) */
	for (unsigned st = 1; st < SS_MAX; st++) {
		if (!strcasecmp(s, state_names[st])) {
			*mask = B(st);
			return 0;
		}
	}
	return errorf(-EINVAL, "unknown state '%s' (try established, listen, time-wait, "
			       "syn-sent, close-wait, all, connected, ...)", arg);
}

void sock_table_free(struct sock_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].ext);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static void fill_ext(struct sock_rec *r, const struct rtattr *a)
{
	struct tcp_info ti;
	size_t n = RTA_PAYLOAD(a);

	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, RTA_DATA(a), n < sizeof(ti) ? n : sizeof(ti));
	if (!r->ext)
		r->ext = xcalloc(1, sizeof(*r->ext));
	r->ext->rtt_us = ti.tcpi_rtt;
	r->ext->rttvar_us = ti.tcpi_rttvar;
	r->ext->min_rtt_us = ti.tcpi_min_rtt;
	r->ext->rto_us = ti.tcpi_rto;
	r->ext->cwnd = ti.tcpi_snd_cwnd;
	r->ext->ssthresh = ti.tcpi_snd_ssthresh;
	r->ext->unacked = ti.tcpi_unacked;
	r->ext->retrans = ti.tcpi_retrans;
	r->ext->total_retrans = ti.tcpi_total_retrans;
	r->ext->lost = ti.tcpi_lost;
	r->ext->bytes_acked = ti.tcpi_bytes_acked;
	r->ext->bytes_received = ti.tcpi_bytes_received;
	r->ext->bytes_sent = ti.tcpi_bytes_sent;
	r->ext->bytes_retrans = ti.tcpi_bytes_retrans;
	r->ext->segs_out = ti.tcpi_segs_out;
	r->ext->segs_in = ti.tcpi_segs_in;
	r->ext->delivery_rate = ti.tcpi_delivery_rate;
}

/* INET_DIAG_PROTOCOL: a destroy message names its protocol (a dump's
 * request did); first, as the attributes after it depend on it */
static void parse_proto(struct sock_rec *r, const uint8_t *p, size_t len)
{
	while (len >= sizeof(struct rtattr)) {
		const struct rtattr *a = (const struct rtattr *)p;
		size_t step;

		if (a->rta_len < sizeof(*a) || a->rta_len > len)
			return;
		if (a->rta_type == INET_DIAG_PROTOCOL && RTA_PAYLOAD(a) >= 1) {
			uint8_t v = *(const uint8_t *)RTA_DATA(a);

			if (v == IPPROTO_TCP || v == IPPROTO_UDP)
				r->proto = v;
			return;
		}
		step = RTA_ALIGN(a->rta_len);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

static void parse_attrs(struct sock_rec *r, const uint8_t *p, size_t len, bool want_ext)
{
	parse_proto(r, p, len);
	while (len >= sizeof(struct rtattr)) {
		const struct rtattr *a = (const struct rtattr *)p;
		size_t step;

		if (a->rta_len < sizeof(*a) || a->rta_len > len)
			return;
		if (a->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(a) >= 1)
			r->v6only = (int8_t)*(const uint8_t *)RTA_DATA(a);
		else if (want_ext && a->rta_type == INET_DIAG_INFO && r->proto == IPPROTO_TCP)
			fill_ext(r, a);
		else if (want_ext && a->rta_type == INET_DIAG_CONG && r->proto == IPPROTO_TCP) {
			if (!r->ext)
				r->ext = xcalloc(1, sizeof(*r->ext));
			snprintf(r->ext->cong, sizeof(r->ext->cong), "%.*s",
				 (int)strnlen(RTA_DATA(a), RTA_PAYLOAD(a)), (const char *)RTA_DATA(a));
		}
		step = RTA_ALIGN(a->rta_len);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

static void add_record(const struct inet_diag_msg *m, const uint8_t *attrs, size_t alen,
		       unsigned proto, const struct diag_query *q, const uint8_t *bc,
		       size_t bclen, uint16_t ns, struct sock_table *t)
{
	struct sock_rec r;

	memset(&r, 0, sizeof(r));
	r.family = m->idiag_family;
	r.proto = (uint8_t)proto;
	r.state = m->idiag_state;
	r.timer = m->idiag_timer;
	r.retrans = m->idiag_retrans;
	r.v6only = -1;
	r.lport = ntohs(m->id.idiag_sport);
	r.rport = ntohs(m->id.idiag_dport);
	r.ns = ns;
	memcpy(r.laddr, m->id.idiag_src, 16);
	memcpy(r.raddr, m->id.idiag_dst, 16);
	r.ifindex = m->id.idiag_if;
	r.expires_ms = m->idiag_expires;
	r.rqueue = m->idiag_rqueue;
	r.wqueue = m->idiag_wqueue;
	r.uid = m->idiag_uid;
	r.inode = m->idiag_inode;
	r.cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	if (r.state >= SS_MAX || !(q->states & B(r.state)))
		return;
	if (bc && !bc_run(bc, bclen, &r))
		return;
	parse_attrs(&r, attrs, alen, q->ext);
	t->v = xgrow(t->v, sizeof(*t->v), t->n + 1, &t->cap);
	t->v[t->n++] = r;
}

int sockdiag_parse(const uint8_t *buf, size_t len, unsigned family, unsigned proto,
		   const struct diag_query *q, const uint8_t *bc, size_t bclen,
		   uint16_t ns, struct sock_table *t)
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

			if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
				return errorf(-EBADMSG, "malformed netlink error");
			memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
			if (e.error == 0)
				return 0;
			/* a kernel errno is 1-4095; anything else is -EIO (and
			 * INT_MIN has no negation) */
			e.error = e.error < 0 && e.error >= -4095 ? e.error : -EIO;
			return errorf(e.error, "sock_diag: %s", strerror(-e.error));
		}
		if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h.nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
			struct inet_diag_msg m;
			size_t off = NLMSG_LENGTH(sizeof(m));

			memcpy(&m, buf + NLMSG_HDRLEN, sizeof(m));
			off = NLMSG_ALIGN(off);
			if (m.idiag_family == family ||
			    (family == AF_UNSPEC &&
			     (m.idiag_family == AF_INET || m.idiag_family == AF_INET6)))
				add_record(&m, buf + off, h.nlmsg_len > off ? h.nlmsg_len - off : 0,
					   proto, q, bc, bclen, ns, t);
		}
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		buf += step;
		len -= step;
	}
	return 1;
}

/* ---- recording and replay ---- */

struct dump_hdr {
	uint8_t family;
	uint8_t proto;
	uint16_t zero;
	uint32_t len;
};

static int save_dump(const char *path, unsigned family, unsigned proto, const struct buf *b)
{
	static FILE *f;
	struct dump_hdr h = { (uint8_t)family, (uint8_t)proto, 0, (uint32_t)b->len };

	if (!f) {
		f = fopen(path, "wb");
		if (!f)
			return errorf(-errno, "cannot write '%s': %s", path, strerror(errno));
		fwrite(SAVE_MAGIC, 1, strlen(SAVE_MAGIC), f);
	}
	fwrite(&h, sizeof(h), 1, f);
	fwrite(b->data ? b->data : "", 1, b->len, f);
	if (fflush(f))
		return errorf(-EIO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

static int replay(const char *path, unsigned family, unsigned proto,
		  const struct diag_query *q, const uint8_t *bc, size_t bclen,
		  uint16_t ns, struct sock_table *t)
{
	FILE *f = fopen(path, "rb");
	char magic[8];
	struct dump_hdr h;
	int r = 0;

	if (!f)
		return errorf(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (fread(magic, 1, 8, f) != 8 || memcmp(magic, SAVE_MAGIC, 8)) {
		fclose(f);
		return errorf(-EINVAL, "'%s' is not a portkit sock_diag recording", path);
	}
	while (fread(&h, sizeof(h), 1, f) == 1) {
		uint8_t *data;

		if (h.len > (64u << 20)) {
			r = errorf(-EINVAL, "'%s': recording too large", path);
			break;
		}
		data = xmalloc(h.len ? h.len : 1);
		if (fread(data, 1, h.len, f) != h.len) {
			free(data);
			r = errorf(-EINVAL, "'%s': truncated recording", path);
			break;
		}
		if (h.family == family && h.proto == proto)
			r = sockdiag_parse(data, h.len, family, proto, q, bc, bclen, ns, t);
		free(data);
		if (r < 0)
			break;
		r = 0;
	}
	fclose(f);
	return r;
}

/* ---- live dumps ---- */

static int request(int fd, unsigned family, unsigned proto, const struct diag_query *q,
		   const uint8_t *bc, size_t bclen)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req;
	struct rtattr rta;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct iovec iov[3];
	struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = iov };

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req) + (bclen ? RTA_LENGTH(bclen) : 0);
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = (uint8_t)proto;
	req.r.idiag_states = q->states;
	if (q->ext && proto == IPPROTO_TCP)
		req.r.idiag_ext = (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_CONG - 1));
	iov[0] = (struct iovec){ &req, sizeof(req) };
	msg.msg_iovlen = 1;
	if (bclen) {
		rta.rta_type = INET_DIAG_REQ_BYTECODE;
		rta.rta_len = (unsigned short)RTA_LENGTH(bclen);
		iov[1] = (struct iovec){ &rta, sizeof(rta) };
		iov[2] = (struct iovec){ (void *)bc, bclen };
		msg.msg_iovlen = 3;
	}
	if (sendmsg(fd, &msg, 0) < 0)
		return errorf(-errno, "cannot ask the kernel for sockets: %s", strerror(errno));
	return 0;
}

static int dump_one(int fd, uint8_t *rbuf, unsigned family, unsigned proto,
		    const struct diag_query *q, const uint8_t *bc, size_t bclen,
		    uint16_t ns, struct sock_table *t, const char *save)
{
	struct buf saved = BUF_INIT((size_t)1 << 30);
	int r = request(fd, family, proto, q, bc, bclen);

	while (!r) {
		ssize_t n = recv(fd, rbuf, RECV_BUF, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errorf(-errno, "cannot read sockets from the kernel: %s", strerror(errno));
			break;
		}
		if (save)
			buf_add(&saved, rbuf, (size_t)n);
		/* bytecode already ran in the kernel */
		r = sockdiag_parse(rbuf, (size_t)n, family, proto, q, NULL, 0, ns, t);
		if (r == 1)
			r = 0;
		else
			break;
	}
	if (r == -ENOENT && proto == IPPROTO_UDP)
		r = errorf(-ENOENT, "this kernel cannot list UDP sockets (udp_diag not loaded)");
	if (!r && save)
		r = save_dump(save, family, proto, &saved);
	buf_free(&saved);
	return r;
}

int sockdiag_dump(const struct diag_query *q, uint16_t ns, struct sock_table *t)
{
	const char *replay_path = getenv("PORTKIT_DIAG_FILE");
	const char *save = getenv("PORTKIT_DIAG_SAVE");
	const unsigned fams[2] = { AF_INET, AF_INET6 };
	const unsigned protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
	uint8_t *bc = NULL, *rbuf = NULL;
	size_t bclen = bc_compile(q, &bc);
	int fd = -1, r = 0;

	if (replay_path && !*replay_path)
		replay_path = NULL;
	if (!replay_path) {
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		if (fd < 0) {
			r = errorf(-errno, "cannot open a sock_diag socket: %s", strerror(errno));
			goto out;
		}
		rbuf = xmalloc(RECV_BUF);
	}
	for (int p = 0; p < 2 && !r; p++) {
		if (!(p == 0 ? q->tcp : q->udp))
			continue;
		for (int f = 0; f < 2 && !r; f++) {
			if (!(f == 0 ? q->v4 : q->v6))
				continue;
			if (replay_path)
				r = replay(replay_path, fams[f], protos[p], q, bc, bclen, ns, t);
			else
				r = dump_one(fd, rbuf, fams[f], protos[p], q, bc, bclen, ns, t,
					     save && *save ? save : NULL);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(rbuf);
	free(bc);
	return r;
}
