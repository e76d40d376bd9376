/*
 * sv.c - `--sv`: ask every open TCP port what it is, and what version.
 *
 * Each open port gets a plan, one step at a time, each step on a fresh
 * connection with its own wait (so no step starves the next):
 *
 *   1. the banner: connect and listen (SSH, FTP, SMTP, IMAP, MySQL speak first)
 *   2. the probes meant for this port (data/services.txt "ports=")
 *   3. TLS: a real handshake with OpenSSL (TLS 1.3 down to 1.0, SNI); when it
 *      succeeds, the certificate's subject is kept, a banner is awaited
 *      inside TLS (IMAPS, POP3S, SMTPS), else the HTTP probe is sent inside
 *      it, and the service is named from that (nginx over TLS is "https")
 *   4. the remaining plaintext probes, in the file's order
 *
 * The first reply that matches ends the plan. Ports run in parallel on the
 * caller's event loop, at most SV_PARALLEL at a time; a job is one struct
 * job with its socket (an ev_io), its TLS state, and its step deadline (an
 * ev_timer). Nothing here parses TLS: OpenSSL does.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

#define REPLY_MAX 4096
#define WAIT_BANNER_MS 1500
#define WAIT_TLS_MS 3000
#define WAIT_TLS_BANNER_MS 800
#define SV_PARALLEL 256
#define MAX_STEPS 24

enum { STEP_TLS = -1 };		/* a step is a probe number, or this */

struct sv_run;

struct job {
	struct ev_io io;
	struct ev_timer deadline;
	struct sv_run *run;
	struct result *res;
	const struct target *t;
	int steps[MAX_STEPS];
	int nsteps, step;
	int probe;		/* the probe of this step (in TLS: what goes inside) */
	SSL *ssl;		/* this step is TLS */
	bool handshaken, sent, tls_banner;
	uint8_t buf[REPLY_MAX];
	size_t len;
};

struct sv_run {
	struct ev_loop *loop;
	const struct sv_db *db;
	SSL_CTX *tls;
	int null_probe, http_probe;
	struct job *jobs;
	size_t njobs, started, active;
};

static void on_io(struct ev_loop *l, struct ev_io *io, uint32_t events);
static void on_deadline(struct ev_loop *l, struct ev_timer *t);
static void next(struct job *j);

static void banner(struct job *j)
{
	size_t k = 0;

	for (size_t i = 0; i < j->len && k + 1 < sizeof(j->res->banner); i++) {
		uint8_t c = j->buf[i];

		if (c == '\r' || c == '\n')
			break;
		j->res->banner[k++] = (char)(c >= 32 && c < 127 ? c : '.');
	}
	j->res->banner[k] = '\0';
}

static int step_of(const struct sv_run *r, int p)
{
	return sv_probe_tls(r->db, p) ? (r->tls ? STEP_TLS : -2) : p;
}

/* The probes meant for this port first, then the banner, then the rest in
 * the file's order (where "tls" stands for the handshake step). */
static void plan(struct job *j)
{
	const struct sv_db *db = j->run->db;
	int n = sv_db_probes(db);
	bool null_done = false;

	for (int p = 0; p < n && j->nsteps < MAX_STEPS; p++)
		if (sv_probe_hinted(db, p, j->res->port) && step_of(j->run, p) != -2) {
			j->steps[j->nsteps++] = step_of(j->run, p);
			null_done |= p == j->run->null_probe;
		}
	if (!null_done && j->nsteps < MAX_STEPS)
		j->steps[j->nsteps++] = j->run->null_probe;
	for (int p = 0; p < n && j->nsteps < MAX_STEPS; p++)
		if (!sv_probe_hinted(db, p, j->res->port) && p != j->run->null_probe &&
		    step_of(j->run, p) != -2)
			j->steps[j->nsteps++] = step_of(j->run, p);
}

static bool start_step(struct job *j)
{
	struct sockaddr_storage sa;
	struct endpoint ep;
	socklen_t len;
	int fd, s = j->steps[j->step];
	unsigned wait = s == STEP_TLS ? WAIT_TLS_MS
			: s == j->run->null_probe ? WAIT_BANNER_MS : sv_probe_wait(j->run->db, s);

	endpoint_set(&ep, j->t->family, j->t->addr, j->res->port);
	len = endpoint_to_sockaddr(&ep, &sa);
	fd = socket((int)j->t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	j->len = 0;
	j->sent = j->handshaken = j->tls_banner = false;
	j->probe = s == STEP_TLS ? j->run->null_probe : s;
	if (connect(fd, (struct sockaddr *)&sa, len) && errno != EINPROGRESS) {
		close(fd);
		return false;
	}
	if (s == STEP_TLS) {
		char sni[sizeof(j->t->name)];

		j->ssl = SSL_new(j->run->tls);
		SSL_set_fd(j->ssl, fd);
		/* a name for name-based servers; an address is not allowed in SNI */
		snprintf(sni, sizeof(sni), "%s", j->t->name);
		if (sni[0])
			SSL_set_tlsext_host_name(j->ssl, sni);
		SSL_set_connect_state(j->ssl);
	}
	ev_io_add(j->run->loop, &j->io, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, on_io);
	ev_timer_in(j->run->loop, &j->deadline, (int64_t)wait * 1000, on_deadline);
	return true;
}

static void end_step(struct job *j)
{
	ev_io_del(j->run->loop, &j->io);
	ev_timer_stop(j->run->loop, &j->deadline);
	if (j->ssl) {
		SSL_free(j->ssl);
		j->ssl = NULL;
	}
	close(j->io.fd);
	j->io.fd = -1;
}

static void finish(struct job *j)
{
	j->step = j->nsteps;
	j->run->active--;
}

/* What the TLS step learnt: the certificate's subject CN and the protocol. */
static void tls_facts(struct job *j)
{
	X509 *cert = SSL_get1_peer_certificate(j->ssl);

	if (cert) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
					  j->res->tls_cn, sizeof(j->res->tls_cn));
		X509_free(cert);
	}
	snprintf(j->res->tls_version, sizeof(j->res->tls_version), "%s", SSL_get_version(j->ssl));
}

/* Judge this step's reply; on to the next step unless it matched. */
/* An echo service sends the probe back, and a probe's bytes can look like
 * the answer it hopes for (an SMB NEGOTIATE "is" SMB): the same bytes back
 * name the service echo, before any match is tried. */
static bool echoed(struct job *j)
{
	uint8_t req[256];
	size_t n = sv_probe_bytes(j->run->db, j->probe, j->res->port, req);

	if (!n || j->len < n || memcmp(j->buf, req, n))
		return false;
	snprintf(j->res->svc, sizeof(j->res->svc), "echo");
	j->res->product[0] = j->res->version[0] = '\0';
	return true;
}

/* The database's name for what came so far, into res (core's svdb) */
static bool classify(const struct job *j, struct result *res)
{
	struct sv_name nm;

	memset(&nm, 0, sizeof(nm));
	if (!j->len || !sv_classify(j->run->db, j->probe, j->buf, j->len, &nm))
		return false;
	snprintf(res->svc, sizeof(res->svc), "%s", nm.svc);
	snprintf(res->product, sizeof(res->product), "%s", nm.product);
	snprintf(res->version, sizeof(res->version), "%s", nm.version);
	snprintf(res->cpe, sizeof(res->cpe), "%s", nm.cpe);
	return true;
}

static void judge(struct job *j)
{
	bool tls = j->ssl && j->handshaken;
	bool matched = j->len && ((!tls && echoed(j)) ||
				  classify(j, j->res));

	if (j->len && !j->res->banner[0])
		banner(j);
	if (tls) {
		/* the handshake alone says TLS; what answered inside names it */
		tls_facts(j);
		if (matched)
			sv_tls_service(j->res->svc, sizeof(j->res->svc));
		else
			snprintf(j->res->svc, sizeof(j->res->svc), "ssl");
		j->res->tunnel = true;
		matched = true;
	}
	end_step(j);
	if (matched) {
		j->res->probed = true;
		finish(j);
		return;
	}
	next(j);
}

static void next(struct job *j)
{
	while (++j->step < j->nsteps)
		if (start_step(j))
			return;
	finish(j);
}

/* What to ask inside TLS when nothing came: the first probe meant for this
 * port (IRC on 6697), else HTTP. */
static int tls_inner_probe(const struct job *j)
{
	const struct sv_db *db = j->run->db;

	for (int p = 0; p < sv_db_probes(db); p++)
		if (p != j->run->null_probe && !sv_probe_tls(db, p) && sv_probe_hinted(db, p, j->res->port))
			return p;
	return j->run->http_probe;
}

/* Inside TLS, nothing came: ask. Returns false when the step is over. */
static bool tls_ask_http(struct job *j)
{
	uint8_t req[256];
	size_t n;

	if (tls_inner_probe(j) < 0)
		return false;
	j->probe = tls_inner_probe(j);
	n = sv_probe_bytes(j->run->db, j->probe, j->res->port, req);
	j->sent = true;
	return SSL_write(j->ssl, req, (int)n) > 0;
}

static void on_deadline(struct ev_loop *l, struct ev_timer *t)
{
	struct job *j = container_of(t, struct job, deadline);

	if (j->ssl && j->handshaken && !j->len && !j->sent && tls_ask_http(j)) {
		ev_timer_in(l, t, (int64_t)sv_probe_wait(j->run->db, j->probe) * 1000, on_deadline);
		return;
	}
	judge(j);
}

/* Read what is there; false when the step is over (EOF, error, full). */
static bool read_more(struct job *j)
{
	for (;;) {
		int n;

		if (j->len == sizeof(j->buf))
			return false;
		if (j->ssl) {
			n = SSL_read(j->ssl, j->buf + j->len, (int)(sizeof(j->buf) - j->len));
			if (n <= 0)
				return SSL_get_error(j->ssl, n) == SSL_ERROR_WANT_READ;
		} else {
			n = (int)recv(j->io.fd, j->buf + j->len, sizeof(j->buf) - j->len, 0);
			if (n <= 0)
				return n < 0 && errno == EAGAIN;
		}
		j->len += (size_t)n;
	}
}

/* Judge as soon as what came so far names a version: a banner service
 * does not close the connection, and waiting for the deadline would cost
 * its wait. A match without a version may still grow into one (MQTT's
 * CONNACK comes before the broker's version): that waits for the end of
 * the reply or the step's deadline. */
static bool matches(struct job *j)
{
	struct result scratch = *j->res;

	scratch.version[0] = '\0';
	return classify(j, &scratch) && scratch.version[0];
}

static void tls_io(struct job *j)
{
	if (!j->handshaken) {
		int r = SSL_do_handshake(j->ssl);

		if (r != 1) {
			int e = SSL_get_error(j->ssl, r);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				ERR_clear_error();
				end_step(j);	/* not TLS: on with plaintext */
				next(j);
			}
			return;
		}
		j->handshaken = true;
		/* a banner inside TLS (IMAPS, POP3S), else HTTP when it is late */
		ev_timer_in(j->run->loop, &j->deadline, WAIT_TLS_BANNER_MS * 1000LL, on_deadline);
	}
	if (!read_more(j) || matches(j))
		judge(j);
}

static void on_io(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct job *j = container_of(io, struct job, io);

	(void)l;
	if (j->ssl) {
		tls_io(j);
		return;
	}
	if (!j->sent && (events & EPOLLOUT)) {
		uint8_t req[256];
		size_t n = sv_probe_bytes(j->run->db, j->probe, j->res->port, req);

		j->sent = true;
		if (n && send(io->fd, req, n, MSG_NOSIGNAL) < 0) {
			judge(j);
			return;
		}
		if (!(events & EPOLLIN))
			return;
	}
	if (!read_more(j) || matches(j))
		judge(j);
}

static void refill(struct ev_loop *l, void *arg)
{
	struct sv_run *r = arg;

	while (r->started < r->njobs && r->active < SV_PARALLEL) {
		struct job *j = &r->jobs[r->started++];

		r->active++;
		plan(j);
		j->step = -1;
		next(j);
	}
	if (r->started == r->njobs && !r->active)
		ev_break(l);
}

static SSL_CTX *tls_client(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	if (!c)
		return NULL;
	/* we ask what a server is, not whether to trust it: every version and
	 * suite a server might still speak, no verification */
	SSL_CTX_set_security_level(c, 0);
	SSL_CTX_set_min_proto_version(c, 0);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(c, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_IGNORE_UNEXPECTED_EOF);
	return c;
}

int sv_run(struct ev_loop *l, struct scan_store *s)
{
	struct sv_run run = { .loop = l };
	struct sv_db *db;
	int r = sv_db_load(&db);

	if (r)
		return r;
	run.db = db;
	run.null_probe = sv_db_find(db, "null");
	run.http_probe = sv_db_find(db, "http");
	run.tls = tls_client();
	run.jobs = xcalloc(s->n ? s->n : 1, sizeof(*run.jobs));
	for (size_t i = 0; i < s->n; i++) {
		struct result *x = &s->v[i];

		if (x->proto == PROTO_TCP && x->state == ST_OPEN)
			run.jobs[run.njobs++] = (struct job){ .res = x, .t = &s->t->v[x->target],
							      .run = &run, .io.fd = -1 };
	}
	ev_set_hooks(l, refill, NULL, &run);
	if ((r = ev_run(l)))
		r = errorf(r, "event loop failed: %s", strerror(-r));
	ev_set_hooks(l, NULL, NULL, NULL);
	free(run.jobs);
	SSL_CTX_free(run.tls);
	sv_db_free(db);
	return r;
}
