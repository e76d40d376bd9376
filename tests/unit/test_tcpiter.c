/*
 * test_tcpiter.c - core/host/tcpiter against sock_diag, as root on a
 * build with BPF: loopback connections with known traffic (IPv4 and IPv6,
 * a TIME-WAIT socket, an orphan in FIN-WAIT-2), then the same sockets,
 * cookies, states, addresses, owners and counters from both; and the
 * namespace walked is the one current when the iterator is created.
 * Elsewhere the tests say why they did not run and pass.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/sockdiag.h"
#include "core/host/tcpiter.h"

#define PAIRS 3

struct conn {
	int c, s;			/* client and accepted ends */
	uint16_t cport;
	uint64_t up, down;		/* bytes client -> server, server -> client */
};

struct fam {
	int family, lfd;
	uint16_t lport;
	struct conn pair[PAIRS];
	struct conn extra;		/* closed: TIME-WAIT or FIN-WAIT-2 */
};

/* Can the iterator run here? false, and why on stderr, when not */
static bool usable(void)
{
	struct diag_query q = { .tcp = true, .v4 = true, .states = 0 };
	struct sock_table t = { 0 };
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "tcpiter: not tested: not root\n");
		return false;
	}
	r = tcpiter_dump(&q, 0, &t);
	sock_table_free(&t);
	if (r) {
#ifdef PORTKIT_BPF
		CHECK(!"tcpiter_dump failed as root");	/* built with BPF: it must load */
#endif
		fprintf(stderr, "tcpiter: not tested: %s\n", error_msg());
		return false;
	}
	return true;
}

static int listener(int family, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sizeof(ss)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int dial(struct fam *f, struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	c->c = socket(f->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->c < 0 || getsockname(f->lfd, (struct sockaddr *)&ss, &len) ||
	    connect(c->c, (struct sockaddr *)&ss, len))
		return -1;
	len = sizeof(ss);
	if ((c->s = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 ||
	    getsockname(c->c, (struct sockaddr *)&ss, &len))
		return -1;
	c->cport = ntohs(f->family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* n bytes from a to b, all read */
static int move(int a, int b, size_t n)
{
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	for (size_t sent = 0; sent < n;) {
		size_t k = n - sent < sizeof(buf) ? n - sent : sizeof(buf);
		ssize_t w = write(a, buf, k), got = 0;

		if (w <= 0)
			return -1;
		while (got < w) {
			ssize_t rd = read(b, buf, (size_t)(w - got));

			if (rd <= 0)
				return -1;
			got += rd;
		}
		sent += (size_t)w;
	}
	return 0;
}

static int by_cookie(const void *a, const void *b)
{
	const struct sock_rec *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/* The sockets of our two listeners' ports */
static void ours(struct diag_query *q, const struct fam *f, uint32_t states)
{
	memset(q, 0, sizeof(*q));
	q->tcp = q->v4 = q->v6 = true;
	q->states = states;
	q->ext = true;
	q->nclauses = 1;
	for (int i = 0; i < 2; i++) {
		struct bc_atom *a = &q->clause[0].atom[q->clause[0].n];

		a[0].kind = BC_SPORT, a[0].lo = a[0].hi = f[i].lport;
		a[1].kind = BC_DPORT, a[1].lo = a[1].hi = f[i].lport;
		q->clause[0].n += 2;
	}
}

static bool client_port(const struct fam *f, uint16_t port)
{
	for (int k = 0; k < PAIRS; k++)
		if (f->pair[k].cport == port)
			return true;
	return f->extra.cport == port;
}

/* Only this run's sockets: a TIME-WAIT socket of an earlier run may have
 * the port our listener has now as its remote port */
static void keep_ours(struct sock_table *t, const struct fam *f)
{
	size_t w = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct sock_rec *r = &t->v[i];
		const struct fam *o = r->family == AF_INET ? &f[0] : &f[1];
		bool mine = (r->lport == o->lport && (!r->rport || client_port(o, r->rport))) ||
			    (r->rport == o->lport && client_port(o, r->lport));

		if (mine)
			t->v[w++] = *r;
		else
			free(r->ext);
	}
	t->n = w;
}

static const struct sock_rec *find(const struct sock_table *t, int family, uint16_t lport,
				   uint16_t rport)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].family == family && t->v[i].lport == lport && t->v[i].rport == rport)
			return &t->v[i];
	return NULL;
}

/* Every client has its bytes acknowledged, each end the other's received,
 * and the closed pairs have settled: 17 sockets, as expected */
static bool settled(const struct sock_table *t, const struct fam *f)
{
	if (t->n != 2 + 2 * 2 * PAIRS + 2 + 1)
		return false;
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < PAIRS; k++) {
			const struct conn *c = &f[i].pair[k];
			const struct sock_rec *a = find(t, f[i].family, c->cport, f[i].lport);
			const struct sock_rec *b = find(t, f[i].family, f[i].lport, c->cport);

			/* the client's acked bytes count its SYN too */
			if (!a || !b || !a->ext || !b->ext || a->ext->bytes_acked != c->up + 1 ||
			    b->ext->bytes_received != c->up || b->ext->bytes_acked != c->down ||
			    a->ext->bytes_received != c->down)
				return false;
		}
	/* v4's extra: the client closed alone, v6's: both closed */
	return find(t, AF_INET, f[0].extra.cport, f[0].lport) &&
	       find(t, AF_INET, f[0].extra.cport, f[0].lport)->state == SS_FIN_WAIT2 &&
	       find(t, AF_INET6, f[1].extra.cport, f[1].lport) &&
	       find(t, AF_INET6, f[1].extra.cport, f[1].lport)->state == SS_TIME_WAIT;
}

/* Nothing moved between two walks (sorted by cookie): a walk is not an
 * instant, and a segment sent during one shows on one end only */
static bool still(const struct sock_table *a, const struct sock_table *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct sock_rec *x = &a->v[i], *y = &b->v[i];

		if (x->cookie != y->cookie || x->state != y->state || !x->ext != !y->ext)
			return false;
		if (x->ext && (x->ext->segs_out != y->ext->segs_out ||
			       x->ext->segs_in != y->ext->segs_in ||
			       x->ext->bytes_acked != y->ext->bytes_acked ||
			       x->ext->bytes_received != y->ext->bytes_received))
			return false;
	}
	return true;
}

static void same(const struct sock_rec *a, const struct sock_rec *b)
{
	CHECK_INT(a->cookie, b->cookie);
	CHECK_INT(a->family, b->family);
	CHECK_INT(a->proto, b->proto);
	CHECK_INT(a->state, b->state);
	CHECK_INT(a->lport, b->lport);
	CHECK_INT(a->rport, b->rport);
	CHECK(!memcmp(a->laddr, b->laddr, 16));
	CHECK(!memcmp(a->raddr, b->raddr, 16));
	CHECK_INT(a->uid, b->uid);
	CHECK_INT(a->inode, b->inode);
	CHECK_INT(a->ifindex, b->ifindex);
	CHECK_INT(!a->ext, !b->ext);
	if (!a->ext || !b->ext)
		return;
	CHECK_INT(a->ext->bytes_acked, b->ext->bytes_acked);
	CHECK_INT(a->ext->bytes_received, b->ext->bytes_received);
	CHECK_INT(a->ext->bytes_retrans, b->ext->bytes_retrans);
	CHECK_INT(a->ext->total_retrans, b->ext->total_retrans);
	CHECK_INT(a->ext->segs_out, b->ext->segs_out);
	CHECK_INT(a->ext->segs_in, b->ext->segs_in);
	CHECK_INT(a->ext->rtt_us, b->ext->rtt_us);
}

/* Both families' listeners with PAIRS connections and one extra each */
static void open_all(struct fam *f)
{
	for (int i = 0; i < 2; i++) {
		CHECK((f[i].lfd = listener(f[i].family, &f[i].lport)) >= 0);
		for (int k = 0; k < PAIRS; k++)
			CHECK_INT(dial(&f[i], &f[i].pair[k]), 0);
		CHECK_INT(dial(&f[i], &f[i].extra), 0);
	}
}

/* Known bytes each way on every pair; v4's extra closed by its client
 * alone (FIN-WAIT-2), v6's by both (TIME-WAIT) */
static void traffic(struct fam *f)
{
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < PAIRS; k++) {
			struct conn *c = &f[i].pair[k];

			c->up = 1000u * (unsigned)(k + 1) + 7 + (unsigned)i * 100000;
			c->down = 500u * (unsigned)(k + 1) + 3;
			CHECK_INT(move(c->c, c->s, c->up), 0);
			CHECK_INT(move(c->s, c->c, c->down), 0);
		}
		close(f[i].extra.c);
		if (i == 1)
			close(f[i].extra.s);
	}
}

static void close_all(struct fam *f)
{
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < PAIRS; k++) {
			close(f[i].pair[k].c);
			close(f[i].pair[k].s);
		}
		if (i == 0)
			close(f[i].extra.s);
		close(f[i].lfd);
	}
}

/* States and families select as in sock_diag */
static void query_selects(struct diag_query q, const struct fam *f)
{
	struct sock_table it = { 0 };

	q.states = 1u << SS_LISTEN;
	CHECK_INT(tcpiter_dump(&q, 0, &it), 0);
	keep_ours(&it, f);
	CHECK_INT(it.n, 2);
	for (size_t i = 0; i < it.n; i++)
		CHECK_INT(it.v[i].state, SS_LISTEN);
	sock_table_free(&it);
	q.states = SS_ALL;
	q.v6 = false;
	CHECK_INT(tcpiter_dump(&q, 0, &it), 0);
	keep_ours(&it, f);
	CHECK_INT(it.n, 1 + 2 * PAIRS + 2);	/* the v4 extra's two ends */
	for (size_t i = 0; i < it.n; i++)
		CHECK_INT(it.v[i].family, AF_INET);
	sock_table_free(&it);
}

TEST(tcpiter_gives_what_sock_diag_gives)
{
	struct fam f[2] = { { .family = AF_INET }, { .family = AF_INET6 } };
	struct sock_table first = { 0 }, it = { 0 }, diag = { 0 };
	struct diag_query q;
	int64_t end;

	if (!usable())
		return;
	open_all(f);
	ours(&q, f, SS_ALL);
	/* the iterator asks for the cookies first: sock_diag must agree */
	CHECK_INT(tcpiter_dump(&q, 3, &first), 0);
	keep_ours(&first, f);
	CHECK_INT(first.n, 2 + 2 * 2 * (PAIRS + 1));
	traffic(f);
	end = ev_now_us() + 3000000;
	for (bool done = false; !done && ev_now_us() < end;) {
		struct sock_table prev = it;

		usleep(10000);
		memset(&it, 0, sizeof(it));
		CHECK_INT(tcpiter_dump(&q, 3, &it), 0);
		keep_ours(&it, f);
		qsort(it.v, it.n, sizeof(*it.v), by_cookie);
		done = settled(&it, f) && still(&prev, &it);
		sock_table_free(&prev);
	}
	CHECK(settled(&it, f));
	CHECK_INT(sockdiag_dump(&q, 3, &diag), 0);
	keep_ours(&diag, f);
	CHECK_INT(it.n, diag.n);
	qsort(diag.v, diag.n, sizeof(*diag.v), by_cookie);
	for (size_t i = 0; i < it.n && i < diag.n; i++) {
		bool closed = it.v[i].state == SS_TIME_WAIT || it.v[i].state == SS_FIN_WAIT2;

		same(&it.v[i], &diag.v[i]);
		CHECK_INT(it.v[i].ns, 3);
		CHECK_INT(it.v[i].ext == NULL, closed);
		CHECK_INT(it.v[i].inode == 0, closed);
	}
	/* every socket still there has the cookie it had (a TIME-WAIT one
	 * inherits it); only v6's extra server end has gone */
	for (size_t i = 0; i < first.n; i++) {
		const struct sock_rec *a = &first.v[i];
		const struct sock_rec *d = find(&diag, a->family, a->lport, a->rport);

		CHECK(a->inode != 0);
		if (d)
			CHECK_INT(d->cookie, a->cookie);
		else
			CHECK(a->family == AF_INET6 && a->lport == f[1].lport &&
			      a->rport == f[1].extra.cport);
	}
	sock_table_free(&first);
	sock_table_free(&it);
	sock_table_free(&diag);
	query_selects(q, f);
	close_all(f);
}

/* In a child in a new network namespace: its one listener, nothing of ours */
static int child_in_new_netns(void)
{
	struct diag_query q = { .tcp = true, .v4 = true, .v6 = true, .states = SS_ALL, .ext = true };
	struct sock_table it = { 0 }, diag = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd;

	if (unshare(CLONE_NEWNET))
		return 2;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		return 3;
	if (tcpiter_dump(&q, 0, &it) || sockdiag_dump(&q, 0, &diag))
		return 4;
	if (it.n != 1 || diag.n != 1 || it.v[0].lport != ntohs(sa.sin_port) ||
	    it.v[0].state != SS_LISTEN || it.v[0].cookie != diag.v[0].cookie ||
	    it.v[0].inode != diag.v[0].inode || !it.v[0].ext)
		return 5;
	return 0;
}

TEST(tcpiter_walks_the_namespace_current_at_its_creation)
{
	struct diag_query q = { .tcp = true, .v4 = true, .states = 1u << SS_LISTEN };
	struct sock_table t = { 0 };
	uint16_t port;
	int lfd, st = -1;
	pid_t pid;

	if (!usable())
		return;
	/* loaded here, with a listener here that the child must not see */
	CHECK((lfd = listener(AF_INET, &port)) >= 0);
	CHECK_INT(tcpiter_dump(&q, 0, &t), 0);
	CHECK(t.n >= 1);
	sock_table_free(&t);
	fflush(NULL);
	if ((pid = fork()) == 0)
		_exit(child_in_new_netns());
	CHECK(pid > 0);
	CHECK_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_INT(WEXITSTATUS(st), 0);
	close(lfd);
}
