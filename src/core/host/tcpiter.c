/*
 * tcpiter.c - TCP sockets and their counters from a BPF tcp iterator (see
 * tcpiter.h): bpf/tcpiter.bpf.c embedded as a light skeleton at build time
 * (no libbpf at run time: plain bpf(2) system calls), loaded at the first
 * call and kept with its link; each call is one BPF_ITER_CREATE and reads.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/host/tcpiter.h"

#ifdef PORTKIT_BPF
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "tcpiter.lskel.h"
#endif

#include "core/base/banned.h"

#define WINDOW 512		/* records per read: 52 KiB */

/* the program writes 112 bytes a record (bpf/tcpiter.bpf.c checks the same) */
_Static_assert(sizeof(struct tcpiter_rec) == 112, "struct tcpiter_rec is not the program's");

static int64_t load_us;

int64_t tcpiter_load_us(void)
{
	return load_us;
}

#ifdef PORTKIT_BPF
/* One record into t when it passes q */
static void add(const struct tcpiter_rec *k, const struct diag_query *q, const uint8_t *bc,
		size_t bclen, uint16_t ns, struct sock_table *t)
{
	struct sock_rec r;

	if (!(k->family == AF_INET && q->v4) && !(k->family == AF_INET6 && q->v6))
		return;
	if (k->state >= SS_MAX || !(q->states & (1u << k->state)))
		return;
	memset(&r, 0, sizeof(r));
	r.family = k->family;
	r.proto = IPPROTO_TCP;
	r.state = k->state;
	r.v6only = -1;
	r.lport = k->lport;
	r.rport = k->rport;
	r.ns = ns;
	memcpy(r.laddr, k->laddr, 16);
	memcpy(r.raddr, k->raddr, 16);
	r.ifindex = k->ifindex;
	r.uid = k->uid;
	r.inode = k->inode;
	r.cookie = k->cookie;
	if (bc && !bc_run(bc, bclen, &r))
		return;
	if (k->full && q->ext) {
		r.ext = xcalloc(1, sizeof(*r.ext));
		r.ext->rtt_us = k->srtt_us >> 3;	/* as tcp_get_info() */
		r.ext->total_retrans = k->total_retrans;
		r.ext->bytes_acked = k->bytes_acked;
		r.ext->bytes_received = k->bytes_received;
		r.ext->bytes_retrans = k->bytes_retrans;
		r.ext->bytes_sent = k->bytes_sent;
		r.ext->segs_out = k->segs_out;
		r.ext->segs_in = k->segs_in;
	}
	t->v = xgrow(t->v, sizeof(*t->v), t->n + 1, &t->cap);
	t->v[t->n++] = r;
}

static struct tcpiter_bpf *skel;
static char broken[200];	/* why it cannot be used, once known */
static size_t last_n;		/* records the last call read: the next one's size */

static const char *why(int err)
{
	if (err == EPERM || err == EACCES)
		return "BPF needs root (CAP_BPF and CAP_PERFMON)";
	return strerror(err);
}

/* Load and attach once; 0, or -ENOTSUP with the reason kept in broken */
static int load(void)
{
	int64_t t0 = ev_now_us();
	int r;

	if (skel)
		return 0;
	if (broken[0])
		return errorf(-ENOTSUP, "%s", broken);
	if (!(skel = tcpiter_bpf__open())) {
		snprintf(broken, sizeof(broken), "TCP iterator: cannot open the BPF program");
	} else if ((r = tcpiter_bpf__load(skel))) {
		r = r < 0 ? -r : EINVAL;
		snprintf(broken, sizeof(broken), "TCP iterator: the kernel refused the BPF program: %s",
			 why(r));
	} else if ((r = tcpiter_bpf__attach(skel)) < 0) {
		snprintf(broken, sizeof(broken), "TCP iterator: cannot attach it: %s", why(-r));
	}
	if (broken[0]) {
		tcpiter_bpf__destroy(skel);
		skel = NULL;
		return errorf(-ENOTSUP, "%s", broken);
	}
	load_us = ev_now_us() - t0;
	return 0;
}

/* The iterator's records through a fixed window into t; 0 or -errno */
static int read_all(int fd, const struct diag_query *q, const uint8_t *bc, size_t bclen,
		    uint16_t ns, struct sock_table *t)
{
	struct tcpiter_rec *buf = xmalloc(WINDOW * sizeof(*buf));
	size_t len = 0;
	int r = 0;

	for (;;) {		/* bounded: the iterator ends with read() == 0 */
		ssize_t k = read(fd, (char *)buf + len, WINDOW * sizeof(*buf) - len);
		size_t whole;

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = errorf(-errno, "TCP iterator: cannot read it: %s", strerror(errno));
			break;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		whole = len / sizeof(*buf);
		for (size_t i = 0; i < whole; i++)
			add(&buf[i], q, bc, bclen, ns, t);
		len -= whole * sizeof(*buf);	/* a record cut by the read */
		memmove(buf, buf + whole, len);
	}
	free(buf);
	return r;
}

int tcpiter_dump(const struct diag_query *q, uint16_t ns, struct sock_table *t)
{
	size_t n0 = t->n, bclen;
	union bpf_attr a;
	uint8_t *bc = NULL;
	int fd, r;

	if (!q->tcp || !(q->v4 || q->v6))
		return 0;
	if ((r = load()))
		return r;
	memset(&a, 0, sizeof(a));
	a.iter_create.link_fd = (uint32_t)skel->links.tcpiter_fd;
	/* the namespace is the one current now: the caller may have entered one */
	if ((fd = skel_sys_bpf(BPF_ITER_CREATE, &a, sizeof(a))) < 0)
		return errorf(-errno, "TCP iterator: cannot start it: %s", strerror(errno));
	/* room for as many as last time and a little more: growing a table of
	 * 100,000 records step by step costs more in copies and page faults
	 * than the kernel's whole walk */
	t->v = xgrow(t->v, sizeof(*t->v), n0 + last_n + last_n / 8, &t->cap);
	bclen = bc_compile(q, &bc);
	r = read_all(fd, q, bclen ? bc : NULL, bclen, ns, t);
	last_n = t->n - n0;
	close(fd);
	free(bc);
	if (r) {
		for (size_t i = n0; i < t->n; i++)
			free(t->v[i].ext);
		t->n = n0;
	}
	return r;
}

void tcpiter_close(void)
{
	if (skel)
		tcpiter_bpf__destroy(skel);
	skel = NULL;
}
#else
int tcpiter_dump(const struct diag_query *q, uint16_t ns, struct sock_table *t)
{
	(void)q, (void)ns, (void)t;
	return errorf(-ENOTSUP, "TCP iterator: this portkit was built without BPF (clang, bpftool "
		      "or libbpf-dev was missing)");
}

void tcpiter_close(void)
{
}
#endif
