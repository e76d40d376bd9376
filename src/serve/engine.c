/*
 * engine.c - portkit serve's sockets on one core/ev loop: a listener per
 * spec and transport, a struct conn per TCP connection, FTP passive data
 * channels, one log record per connection (per datagram for UDP).
 *
 * A connection's input is read into a 16 KiB stack buffer and handed to its
 * responder; only what does not yet make a whole request is copied to
 * c->in, and only what the socket did not take waits in c->out, so an idle
 * connection holds no buffer. Every connection has an idle timer; a client
 * that sends nothing for --idle-timeout is closed. Out of descriptors,
 * accepting pauses for 100 ms instead of spinning. SIGINT and SIGTERM come
 * through the loop too (ev_signal_add): either ends it, and the connections
 * still open are logged as they close.
 *
 * UDP answers leave from the address the query came to (IP_PKTINFO), so a
 * listener on every address answers correctly on a host with several.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/host/listen.h"
#include "core/base/log.h"
#include "core/host/nft.h"
#include "core/base/out.h"
#include "core/host/snapshot.h"
#include "core/base/xalloc.h"
#include "serve/serve.h"
#include "core/base/banned.h"

/* from linux/netfilter_ipv4.h and ip6_tables.h, which clash with glibc's
 * netinet/in.h: conntrack's original destination of a redirected socket */
#define SO_ORIGINAL_DST 80
#define IP6T_SO_ORIGINAL_DST 80
#define ALL_TABLE "inet portkit_serve"	/* --all-ports */

struct listener {
	struct ev_io io;
	struct ev_timer pause;
	struct serve_engine *eng;
	const struct serve_spec *spec;
	bool udp;
};

struct serve_engine {
	struct ev_loop *loop;
	const struct serve_opts *o;
	struct listener *ls;
	size_t nls;
	struct out *json;
	unsigned long conns, done;
	struct list conns_open;		/* every open connection */
	int err;
	/* --all-ports: the session that owns the table (nftables' owner
	 * flag): the kernel removes the table when it closes, also when serve
	 * is killed; NULL: no table of ours */
	struct nft_session *all;
};

struct ftp_data {
	struct ev_io lis, io;
	struct ev_timer wait;
	struct conn *ctl;
	struct buf pending;
	char done[64];
	bool have;
	uint16_t port;
};

static void conn_close(struct conn *c);
static void conn_flush(struct conn *c);

/* ---- the log ---- */

static void log_record(struct serve_engine *e, const char *transport, const char *service,
		       const struct endpoint *peer, const struct endpoint *local, uint64_t in,
		       uint64_t out, int64_t start_ms)
{
	struct endpoint p = *peer, l = *local;
	char pa[ADDR_STRLEN], la[ADDR_STRLEN], t[TIME_STRLEN];
	int64_t dur = ev_now_ms() - start_ms;

	endpoint_unmap(&p);
	endpoint_unmap(&l);
	addr_format(p.family, p.addr, pa);
	addr_format(l.family, l.addr, la);
	time_rfc3339(t, NULL);
	if (e->json) {
		out_record_begin(e->json);
		out_kv_str(e->json, "time", t);
		out_kv_str(e->json, "proto", transport);
		out_kv_str(e->json, "service", service);
		out_kv_str(e->json, "client_addr", pa);
		out_kv_uint(e->json, "client_port", p.port);
		out_kv_str(e->json, "server_addr", la);
		out_kv_uint(e->json, "server_port", l.port);
		out_kv_uint(e->json, "bytes_in", in);
		out_kv_uint(e->json, "bytes_out", out);
		out_kv_fixed(e->json, "duration", dur, 3);
		out_record_end(e->json);
	} else {
		char pe[ENDPOINT_STRLEN], le[ENDPOINT_STRLEN];

		printf("%s %s %s %s -> %s in=%llu out=%llu duration=%lld.%03llds\n", t, service,
		       transport, endpoint_str(&p, pe), endpoint_str(&l, le), (unsigned long long)in,
		       (unsigned long long)out, (long long)(dur / 1000), (long long)(dur % 1000));
		fflush(stdout);
	}
	if (ferror(stdout))
		e->err = -EIO;
	if (e->o->count && ++e->done >= (unsigned long)e->o->count)
		ev_break(e->loop);
}

/* ---- FTP passive data channels ---- */

/* --all-ports: an FTP data port must not be redirected to the others */
static void keep_port(struct serve_engine *e, uint16_t port, bool add)
{
	char cmd[128];

	if (!e->all || !port)
		return;
	snprintf(cmd, sizeof(cmd), "%s element " ALL_TABLE " keep { %u }", add ? "add" : "delete",
		 port);
	nft_session_apply(e->all, cmd);
}

static void data_free(struct conn *c)
{
	struct ftp_data *d = c->data;

	if (!d)
		return;
	keep_port(c->eng, d->port, false);
	if (d->lis.fd >= 0) {
		ev_io_del(c->eng->loop, &d->lis);
		close(d->lis.fd);
	}
	if (d->io.fd >= 0) {
		ev_io_del(c->eng->loop, &d->io);
		close(d->io.fd);
	}
	ev_timer_stop(c->eng->loop, &d->wait);
	buf_free(&d->pending);
	free(d);
	c->data = NULL;
}

/* Both sides are there: send, close, tell the control connection. */
static void data_go(struct conn *c)
{
	struct ftp_data *d = c->data;
	ssize_t n = 0;

	if (d->pending.len)
		n = send(d->io.fd, d->pending.data, d->pending.len, MSG_NOSIGNAL);
	conn_putf(c, "%s", n < 0 || (size_t)n < d->pending.len ? "426 Transfer aborted\r\n"
								: d->done);
	c->bytes_out += n > 0 ? (uint64_t)n : 0;
	data_free(c);
	conn_flush(c);
}

static void data_accept(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct ftp_data *d = container_of(io, struct ftp_data, lis);
	int fd = accept_on(io->fd, NULL);

	(void)events;
	if (fd < 0)
		return;
	ev_io_del(l, io);
	close(io->fd);
	io->fd = -1;
	d->io.fd = fd;
	if (d->have)
		data_go(d->ctl);
}

static void data_timeout(struct ev_loop *l, struct ev_timer *t)
{
	struct ftp_data *d = container_of(t, struct ftp_data, wait);
	struct conn *c = d->ctl;

	(void)l;
	if (d->have)
		conn_putf(c, "425 No data connection came\r\n");
	data_free(c);
	conn_flush(c);
}

static uint16_t data_open(struct conn *c)
{
	struct ftp_data *d;
	struct sockaddr_storage sa;
	struct endpoint e = c->local;
	socklen_t len;
	int fd;

	data_free(c);
	e.port = 0;
	len = endpoint_to_sockaddr(&e, &sa);
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 1) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) || endpoint_from_sockaddr(&e, &sa)) {
		close(fd);
		return 0;
	}
	d = xcalloc(1, sizeof(*d));
	d->ctl = c;
	d->io.fd = -1;
	buf_init(&d->pending, 1 << 16);
	if (ev_io_add(c->eng->loop, &d->lis, fd, EPOLLIN, data_accept)) {
		close(fd);
		free(d);
		return 0;
	}
	c->data = d;
	d->port = e.port;
	keep_port(c->eng, e.port, true);
	ev_timer_in(c->eng->loop, &d->wait, 30 * 1000000LL, data_timeout);
	return e.port;
}

static void data_send(struct conn *c, const void *p, size_t n, const char *done)
{
	struct ftp_data *d = c->data;

	if (!d)
		return;
	buf_add(&d->pending, p, n);
	snprintf(d->done, sizeof(d->done), "%s", done);
	d->have = true;
	if (d->io.fd >= 0)
		data_go(c);
}

static const struct serve_ops ops = { data_open, data_send };

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	struct serve_engine *e = c->eng;

	log_record(e, "tcp", c->r->name, &c->peer, &c->local, c->bytes_in, c->bytes_out,
		   c->start_ms);
	if (c->r->end)
		c->r->end(c);
	data_free(c);
	list_del(&c->link);
	ev_timer_stop(e->loop, &c->idle);
	ev_io_del(e->loop, &c->io);
	close(c->io.fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	e->conns--;
}

/* Write what waits; close once a closing connection has said all. */
static void conn_flush(struct conn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->io.fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->bytes_out += (uint64_t)n;
		memmove(c->out.data, c->out.data + n, c->out.len - (size_t)n);
		c->out.len -= (size_t)n;
	}
	if (!c->out.len) {
		buf_free(&c->out);
		buf_init(&c->out, OUT_MAX);
		if (c->closing) {
			conn_close(c);
			return;
		}
	}
	if (!!c->out.len != c->want_out) {
		c->want_out = c->out.len != 0;
		ev_io_mod(c->eng->loop, &c->io, EPOLLIN | (c->want_out ? EPOLLOUT : 0));
	}
}

static void conn_idle(struct ev_loop *l, struct ev_timer *t)
{
	(void)l;
	conn_close(container_of(t, struct conn, idle));
}

static void conn_read(struct conn *c)
{
	uint8_t tmp[16384];
	const uint8_t *d = tmp;
	ssize_t n = recv(c->io.fd, tmp, sizeof(tmp), 0);
	size_t len, used;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || c->closing) {
		/* the client is done (or we are): what is still to say goes out */
		if (n <= 0) {
			c->closing = true;
			if (c->data)
				data_free(c);
		}
		conn_flush(c);
		return;
	}
	c->bytes_in += (uint64_t)n;
	ev_timer_in(c->eng->loop, &c->idle, (int64_t)c->o->idle_ms * 1000, conn_idle);
	len = (size_t)n;
	if (c->in.len) {
		if (buf_add(&c->in, tmp, len)) {
			conn_close(c);
			return;
		}
		d = (const uint8_t *)c->in.data;
		len = c->in.len;
	}
	used = c->r->input(c, d, len);
	if (used > len)
		used = len;
	if (c->in.len) {
		memmove(c->in.data, c->in.data + used, len - used);
		c->in.len = len - used;
		if (!c->in.len) {
			buf_free(&c->in);
			buf_init(&c->in, IN_MAX);
		}
	} else if (len > used && buf_add(&c->in, d + used, len - used)) {
		conn_close(c);
		return;
	}
	conn_flush(c);
}

static void conn_event(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct conn *c = container_of(io, struct conn, io);

	(void)l;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(c);
	else if (events & EPOLLOUT)
		conn_flush(c);
}

static void resume(struct ev_loop *l, struct ev_timer *t)
{
	struct listener *ls = container_of(t, struct listener, pause);

	ev_io_mod(l, &ls->io, EPOLLIN);
}

/* Where a redirected connection was going (conntrack's record). */
static int original_dst(int fd, struct endpoint *e)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (e->family == AF_INET6 && !getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &sa, &len))
		return endpoint_from_sockaddr(e, &sa);
	len = sizeof(sa);
	if (e->family == AF_INET && !getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &sa, &len))
		return endpoint_from_sockaddr(e, &sa);
	return -1;
}

static void tcp_accept(struct listener *ls)
{
	struct serve_engine *e = ls->eng;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage local;
		socklen_t llen = sizeof(local);
		struct endpoint peer;
		int fd = accept_on(ls->io.fd, &peer);
		struct conn *c;

		if (fd < 0) {
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				ev_io_mod(e->loop, &ls->io, 0);
				ev_timer_in(e->loop, &ls->pause, 100000, resume);
			}
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->eng = e;
		c->r = ls->spec->r;
		c->ops = &ops;
		c->o = e->o;
		c->start_ms = ev_now_ms();
		buf_init(&c->in, IN_MAX);
		buf_init(&c->out, OUT_MAX);
		getsockname(fd, (struct sockaddr *)&local, &llen);
		c->peer = peer;
		if (!peer.family || endpoint_from_sockaddr(&c->local, &local) ||
		    ev_io_add(e->loop, &c->io, fd, EPOLLIN, conn_event)) {
			close(fd);
			free(c);
			continue;
		}
		if (!ls->spec->r && original_dst(fd, &c->local)) {
			ev_io_del(e->loop, &c->io);
			close(fd);
			free(c);
			continue;
		}
		if (!ls->spec->r) {	/* --all-ports: the port it was meant for */
			c->r = responder_for_port(c->local.port);
			if (!c->r || !(c->r->transports & SV_TCP))
				c->r = &banner_responder;
		}
		endpoint_unmap(&c->peer);
		endpoint_unmap(&c->local);
		e->conns++;
		list_add(&e->conns_open, &c->link);
		ev_timer_in(e->loop, &c->idle, (int64_t)e->o->idle_ms * 1000, conn_idle);
		if (c->r->greet)
			c->r->greet(c);
		conn_flush(c);
	}
}

/* ---- UDP ---- */

static void udp_event(struct listener *ls)
{
	struct serve_engine *e = ls->eng;

	for (int i = 0; i < 64; i++) {
		uint8_t in[65536], out[4096];
		union { char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } cb;
		struct sockaddr_storage peer;
		struct iovec iov = { in, sizeof(in) };
		struct msghdr m = { .msg_name = &peer, .msg_namelen = sizeof(peer), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = cb.buf,
				    .msg_controllen = sizeof(cb.buf) };
		struct conn c = { .o = e->o, .r = ls->spec->r };
		ssize_t n = recvmsg(ls->io.fd, &m, MSG_DONTWAIT);
		size_t outlen = 0;
		struct cmsghdr *h;

		if (n < 0)
			return;
		if (endpoint_from_sockaddr(&c.peer, &peer))
			continue;
		/* the address the datagram came to: the answer leaves from it */
		for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(h);

				endpoint_set(&c.local, AF_INET, &pi->ipi_addr, ls->spec->port);
				pi->ipi_spec_dst = pi->ipi_addr;
				pi->ipi_ifindex = 0;
			} else if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(h);

				endpoint_set(&c.local, AF_INET6, &pi->ipi6_addr, ls->spec->port);
			}
		}
		ls->spec->r->datagram(&c, in, (size_t)n, out, &outlen, sizeof(out));
		if (outlen) {
			iov.iov_base = out;
			iov.iov_len = outlen;
			m.msg_flags = 0;
			if (sendmsg(ls->io.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				outlen = 0;
		}
		if (!c.local.family)
			c.local.family = c.peer.family;
		endpoint_unmap(&c.peer);
		endpoint_unmap(&c.local);
		log_record(e, "udp", ls->spec->r->name, &c.peer, &c.local, (uint64_t)n, outlen,
			   ev_now_ms());
		if (e->o->count && e->done >= (unsigned long)e->o->count)
			return;
	}
}

static void listener_event(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct listener *ls = container_of(io, struct listener, io);

	(void)l;
	(void)events;
	if (ls->udp)
		udp_event(ls);
	else
		tcp_accept(ls);
}

/* One listening socket; errorf on failure. */
static int open_listener(const struct serve_opts *o, const struct serve_spec *s, bool udp,
			 int *out)
{
	struct endpoint e = o->bind;
	char ep[ENDPOINT_STRLEN];
	int fd;

	if (!e.family)
		e.family = AF_INET6;	/* [::], IPv4 too */
	e.port = s->port;
	/* one socket for both families, but --all-ports has two on one port */
	fd = listen_on(&e, LISTEN_REUSEADDR | (udp ? LISTEN_UDP | LISTEN_PKTINFO : 0) |
			       (s->r ? 0 : LISTEN_V6ONLY), 4096);
	if (fd < 0)
		return errorf(fd, "cannot listen on %s/%s for %s: %s", endpoint_str(&e, ep),
			      udp ? "udp" : "tcp", s->r ? s->r->name : "--all-ports", strerror(-fd));
	*out = fd;
	return 0;
}

/* --all-ports: listeners on one port P chosen by the kernel (IPv4 and
 * IPv6), and an nftables table that redirects every TCP connection to a
 * local address here to P unless something listens on its port: from
 * outside, the kernel's socket lookup says so (a listener started later
 * counts too); for local clients, whose own socket that lookup finds, the
 * set `keep` does (the listeners now, read from sock_diag, and each FTP
 * data port while it is open). A remote shell keeps working. The table is
 * removed when serve ends, by serve or, when serve is killed, by the
 * kernel: it carries nftables' owner flag, so it belongs to the session's
 * netlink socket and goes when that closes. */

static int all_ports_ruleset(uint16_t p, struct buf *b)
{
	struct diag_query q = { .tcp = true, .v4 = true, .v6 = true, .states = 1u << SS_LISTEN };
	struct snapshot snap;
	int r = snapshot_take(&q, NULL, 0, &snap);

	if (r)
		return r;
	buf_addf(b, "table " ALL_TABLE " {\n flags owner;\n"
		    " set keep { type inet_service; elements = { %u", p);
	for (size_t i = 0; i < snap.t.n; i++)
		if (snap.t.v[i].lport != p)
			buf_addf(b, ", %u", snap.t.v[i].lport);
	snapshot_free(&snap);
	buf_addf(b, " } }\n"
		    " chain pre { type nat hook prerouting priority dstnat; policy accept;\n"
		    "  meta l4proto tcp socket transparent 0 accept\n"
		    "  fib daddr type local tcp dport != @keep redirect to :%u\n }\n"
		    " chain out { type nat hook output priority -100; policy accept;\n"
		    "  fib daddr type local tcp dport != @keep redirect to :%u\n }\n}\n", p, p);
	return 0;
}

static int all_ports(struct serve_engine *e, struct serve_spec *spec)
{
	struct serve_opts o4 = *e->o, o6 = *e->o;
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct buf b = BUF_INIT(1 << 20);
	struct endpoint got;
	int fd4, fd6, r;

	if (!nft_apply("list table " ALL_TABLE))
		return errorf(-EEXIST, "nftables table '%s' exists: another serve --all-ports runs "
			      "in this namespace, or an older portkit left it (nft delete table %s)",
			      ALL_TABLE, ALL_TABLE);
	memset(&o4.bind, 0, sizeof(o4.bind));
	o4.bind.family = AF_INET;
	spec->port = 0;
	if ((r = open_listener(&o4, spec, false, &fd4)))
		return r;
	if (getsockname(fd4, (struct sockaddr *)&sa, &len) || endpoint_from_sockaddr(&got, &sa)) {
		close(fd4);
		return errorf(-EIO, "cannot read the port chosen for --all-ports");
	}
	spec->port = got.port;
	memset(&o6.bind, 0, sizeof(o6.bind));
	o6.bind.family = AF_INET6;
	if ((r = open_listener(&o6, spec, false, &fd6))) {
		close(fd4);
		return r;
	}
	if (!(e->all = nft_session_open()))
		r = errorf(-ENOMEM, "cannot start libnftables");
	if (r || (r = all_ports_ruleset(spec->port, &b)) || (r = nft_session_apply(e->all, buf_str(&b)))) {
		nft_session_close(e->all);
		e->all = NULL;
		buf_free(&b);
		close(fd4);
		close(fd6);
		return r;
	}
	buf_free(&b);
	for (int i = 0; i < 2; i++) {
		struct listener *ls = &e->ls[e->nls];

		ls->eng = e;
		ls->spec = spec;
		if (ev_io_add(e->loop, &ls->io, i ? fd6 : fd4, EPOLLIN, listener_event)) {
			close(i ? fd6 : fd4);
			continue;
		}
		e->nls++;
	}
	return 0;
}

/* "http on [::]:80/tcp, dns on [::]:53/tcp+udp" for the ready line */
static void ready_line(const struct serve_opts *o, uint16_t all)
{
	struct buf b = BUF_INIT(8192);

	if (all)
		buf_addf(&b, "every TCP port nothing listens on (redirected to port %u)%s", all,
			 o->nspec ? ", " : "");

	for (size_t i = 0; i < o->nspec; i++) {
		struct endpoint e = o->bind;
		char ep[ENDPOINT_STRLEN];

		if (!e.family)
			e.family = AF_INET6;
		e.port = o->spec[i].port;
		buf_addf(&b, "%s%s on %s/%s", i && b.len ? ", " : "", o->spec[i].r->name, endpoint_str(&e, ep),
			 o->spec[i].transports == (SV_TCP | SV_UDP) ? "tcp+udp"
			 : o->spec[i].transports == SV_UDP ? "udp" : "tcp");
	}
	warnf("serving %s", buf_str(&b));	/* a notice: "portkit: serving ..." */
	buf_free(&b);
}

int serve_run(const struct serve_opts *o)
{
	struct serve_engine e = { .o = o, .conns_open = LIST_INIT(e.conns_open) };
	struct serve_spec all = { .r = NULL, .transports = SV_TCP };
	int r = 0;

	fd_limit_raise();
	signal(SIGPIPE, SIG_IGN);
	if (!(e.loop = ev_loop_new()))
		return errorf(-errno, "cannot create an event loop: %s", strerror(errno));
	e.ls = xcalloc(2 * o->nspec + 2, sizeof(*e.ls));
	for (size_t i = 0; i < o->nspec && !r; i++)
		for (int t = 0; t < 2 && !r; t++) {
			struct listener *ls = &e.ls[e.nls];
			int fd = -1;

			if (!(o->spec[i].transports & (t ? SV_UDP : SV_TCP)))
				continue;
			if ((r = open_listener(o, &o->spec[i], t, &fd)))
				break;
			ls->eng = &e;
			ls->spec = &o->spec[i];
			ls->udp = t;
			if ((r = ev_io_add(e.loop, &ls->io, fd, EPOLLIN, listener_event))) {
				close(fd);
				r = errorf(r, "cannot watch a socket: %s", strerror(-r));
				break;
			}
			e.nls++;
		}
	if (!r && o->all_ports)
		r = all_ports(&e, &all);
	if (!r && (r = ev_stop_on_signals(e.loop, NULL)))
		r = errorf(r, "cannot watch signals: %s", strerror(-r));
	if (!r) {
		if (o->cc.json) {
			e.json = out_new(stdout, OUT_JSON, false);
			out_set_stream(e.json, true);
		}
		ready_line(o, o->all_ports ? all.port : 0);
		r = ev_run(e.loop);
		if (r)
			r = errorf(r, "event loop failed: %s", strerror(-r));
	}
	/* connections still open are logged as they close now */
	while (!list_empty(&e.conns_open))
		conn_close(list_entry(list_first(&e.conns_open), struct conn, link));
	for (size_t i = 0; i < e.nls; i++) {
		ev_io_del(e.loop, &e.ls[i].io);
		ev_timer_stop(e.loop, &e.ls[i].pause);
		close(e.ls[i].io.fd);
	}
	if (e.all && nft_session_apply(e.all, "delete table " ALL_TABLE) && !r)
		r = -EIO;	/* nft_session_apply's message stands */
	nft_session_close(e.all);	/* the kernel's part, were the delete refused */
	if (e.json && out_close(e.json) && !r)
		r = errorf(-EIO, "cannot write output");
	free(e.ls);
	ev_loop_free(e.loop);
	if (!r && e.err)
		r = errorf(e.err, "cannot write output");
	return r;
}
