/*
 * run.c - the forwarder's main thread: one event loop for the signals
 * (SIGHUP reloads -c FILE, SIGTERM and SIGINT stop), the --metrics
 * endpoint and, with --kernel, conntrack's events for the session log.
 * The user-space workers relay on loops of their own (engine.c); the
 * kernel forwarder relays nothing and has only this loop. Both stop the
 * same way: the loop ends, then the mode's own teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/host/listen.h"
#include "core/host/nft.h"
#include "core/base/xalloc.h"
#include "forward/forward.h"
#include "forward/metrics.h"
#include "core/base/banned.h"

struct fwd_main {
	struct ev_loop *loop;
	const struct fwd_run_opts *o;
	struct slog log;
	struct fwd_metrics *metrics;
	struct engine *eng;		/* user space */
	struct klog *klog;		/* --kernel */
	struct fwd_config *kcfg;	/* --kernel: the rules applied (a reference) */
	char kname[32];			/* --kernel: the chains' name */
};

/* The log: --log FILE (appended) or stderr; errorf when it cannot open. */
static int open_log(const struct fwd_run_opts *o, struct slog *log)
{
	struct stat st;

	log->fd = STDERR_FILENO;
	log->json = o->json;
	if (!o->log)
		return 0;
	if (!strcmp(o->log, "none")) {
		log->no_sessions = true;	/* events still go to stderr */
		return 0;
	}
	if ((log->fd = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0)
		return errorf(-errno, "cannot open log '%s': %s", o->log, strerror(errno));
	/* /dev/null (by whatever name) keeps nothing: spare each session the
	 * formatting and the write(2) of a line nobody reads */
	if (!fstat(log->fd, &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		log->no_sessions = true;
	return 0;
}

/* Could --log FILE be opened for appending? Asked without creating it:
 * an existing file must take writes, a new one needs a directory that
 * does (--check changes nothing) */
static int check_log(const char *path)
{
	struct stat st;
	char dir[4096];
	const char *slash;
	int fd;

	if (!strcmp(path, "none"))
		return 0;
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return errorf(-EISDIR, "cannot open log '%s': %s", path, strerror(EISDIR));
		fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return errorf(-errno, "cannot open log '%s': %s", path, strerror(errno));
		close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return errorf(-errno, "cannot open log '%s': %s", path, strerror(errno));
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	if (access(dir, W_OK | X_OK))
		return errorf(-errno, "cannot open log '%s': %s", path, strerror(errno));
	return 0;
}

int fwd_check_opts(const struct fwd_run_opts *o)
{
	struct endpoint e;

	if (o->metrics && fwd_metrics_addr(o->metrics, &e))
		return -EINVAL;
	return o->log ? check_log(o->log) : 0;
}

static void close_log(struct slog *log)
{
	if (log->fd > STDERR_FILENO)
		close(log->fd);
}

static void rejected(const struct slog *log)
{
	slog_event(log, "reload-rejected", NULL, -1, "the running rules stay: %s", error_msg());
}

/* SIGHUP: the file read and checked whole, or NULL with the event logged
 * (the running rules stay) */
static struct fwd_config *reload_config(const struct slog *log, const char *path)
{
	struct fwd_config *c = xcalloc(1, sizeof(*c));

	if (fwd_config_load(path, c)) {
		rejected(log);
		free(c);	/* a failed load keeps no rules */
		return NULL;
	}
	if (fwd_config_check(c)) {
		rejected(log);
		fwd_config_unref(c);	/* the rules and the config */
		return NULL;
	}
	return c;
}

void fwd_say_warning(void *arg, const char *msg)
{
	(void)arg;
	warnf("warning: %s", msg);
}

static void warn_event(void *arg, const char *msg)
{
	slog_event(arg, "warning", NULL, -1, "%s", msg);
}

/* The new rules in place of the running ones, in the mode's way; c is
 * taken. 0, or -1 with error_msg() set (the running rules stay). */
static int apply(struct fwd_main *m, struct fwd_config *c)
{
	if (m->eng)
		return engine_reload(m->eng, c) ? -1 : 0;
	klog_drain(m->klog);	/* what came so far under the running rules */
	if (fwd_kernel_apply(c, m->kname)) {
		fwd_config_unref(c);
		return -1;
	}
	klog_reload(m->klog, c);
	fwd_config_unref(m->kcfg);
	m->kcfg = c;
	return 0;
}

static void on_hup(struct ev_loop *l, int signo, void *arg)
{
	struct fwd_main *m = arg;
	const char *path = m->o->config;
	struct fwd_config *c;
	size_t n;

	(void)l, (void)signo;
	if (!path) {
		slog_event(&m->log, "reload-ignored", NULL, -1, "SIGHUP: nothing to reload without -c");
		fwd_metrics_reload(m->metrics, RELOAD_IGNORED);
		return;
	}
	if ((c = reload_config(&m->log, path)))
		fwd_config_warn(c, !m->eng, warn_event, &m->log);
	if (!c || (n = c->n, apply(m, c))) {
		if (c)
			rejected(&m->log);
		fwd_metrics_reload(m->metrics, RELOAD_REJECTED);
		return;
	}
	slog_event(&m->log, "reloaded", NULL, (long long)n, "%s: %zu rules", path, n);
	fwd_metrics_reload(m->metrics, RELOAD_OK);
}

/* The loop, its signals and, with --metrics, its listener: made before the
 * workers start (they inherit the blocked signals) and before root is
 * dropped, so a bad address stops everything */
static int main_open(const struct fwd_run_opts *o, struct fwd_main *m)
{
	int r;

	memset(m, 0, sizeof(*m));
	m->o = o;
	if ((r = open_log(o, &m->log)))
		return r;
	if (!(m->loop = ev_loop_new()))
		return errorf(-errno, "cannot make an event loop: %s", strerror(errno));
	if ((r = ev_signal_add(m->loop, SIGHUP, on_hup, m)) ||
	    (r = ev_stop_on_signals(m->loop, NULL)))
		return errorf(r, "cannot watch signals: %s", strerror(-r));
	if (o->metrics && fwd_metrics_start(m->loop, o->metrics, &m->metrics))
		return -EINVAL;
	return 0;
}

static void main_close(struct fwd_main *m)
{
	fwd_metrics_stop(m->metrics);
	m->metrics = NULL;
	ev_loop_free(m->loop);
	m->loop = NULL;
}

static int fail(struct fwd_main *m, struct fwd_config *c, int r)
{
	main_close(m);
	close_log(&m->log);
	fwd_config_unref(c);
	return r;
}

/* ---- user space ---- */

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return errorf(-EINVAL, "unknown user '%s'", user);
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		return errorf(-errno, "cannot become '%s': %s", user, strerror(errno));
	return 0;
}

int fwd_run_user(const struct fwd_run_opts *o, struct fwd_config *c)
{
	struct engine_opts eo = o->eo;
	struct fwd_main m;
	int r;

	/* a relay needs two descriptors a session: take the hard limit, as
	 * servers do (a root login's soft limit is 1024) */
	fd_limit_raise();
	signal(SIGPIPE, SIG_IGN);
	if ((r = main_open(o, &m)))
		return fail(&m, c, r);
	eo.log = &m.log;
	if ((r = engine_start(c, &eo, &m.eng))) {
		engine_stop(m.eng, 0);
		return fail(&m, c, r);
	}
	/* said once the rules listen, in the session log as a reload says them */
	fwd_config_warn(c, false, warn_event, &m.log);
	fwd_config_unref(c);	/* the workers hold it now */
	if (o->user && (r = drop_privileges(o->user))) {
		slog_event(&m.log, "error", NULL, -1, "%s", error_msg());
		engine_stop(m.eng, 0);
		return fail(&m, NULL, r);
	}
	if (o->metrics)
		slog_event(&m.log, "metrics", NULL, -1, "Prometheus metrics at http://%s/metrics",
			   o->metrics);
	fwd_metrics_engine(m.metrics, m.eng);
	ev_run(m.loop);
	slog_event(&m.log, "stopping", NULL, -1, "no new sessions, %u ms for the live ones to finish",
		   eo.drain_ms);
	main_close(&m);
	engine_stop(m.eng, eo.drain_ms);
	slog_event(&m.log, "stopped", NULL, -1, "all sessions ended");
	close_log(&m.log);
	return 0;
}

/* ---- the kernel ---- */

static int write_one(const char *path)
{
	FILE *f = fopen(path, "we");
	int r = f && fputs("1\n", f) >= 0 ? 0 : -1;

	if (f && fclose(f))
		r = -1;
	return r;
}

/* --check and --persist: the rules checked or left in place, printed */
static int kernel_once(const struct fwd_run_opts *o, struct fwd_config *c, const char *name)
{
	char *text = NULL;
	int r;

	if (o->check) {
		r = fwd_kernel_ruleset(c, name, &text) ?: nft_check(text);
		free(text);
		if (!r)
			fwd_config_warn(c, true, fwd_say_warning, NULL);
		if (!r)
			printf(o->json ? "{\"ok\":true,\"rules\":%zu,\"kernel\":true}\n"
				       : "%zu rule%s OK (kernel, nothing applied)\n", c->n,
			       c->n == 1 ? "" : "s");
		return r;
	}
	text = nft_list("list table inet portkit");
	printf("#!/usr/sbin/nft -f\n# portkit forward --kernel --persist: load with nft -f, or "
	       "put in /etc/nftables.conf\n%s", text ? text : "");
	free(text);
	return 0;
}

static int kernel_refuses(const struct fwd_config *c)
{
	if (fwd_config_kernel_families(c))
		return -EAFNOSUPPORT;
	for (size_t i = 0; i < c->n; i++) {
		if (c->rules[i].proxy || c->rules[i].max_conns)
			return errorf(-EINVAL, "rule '%s': the kernel forward has no PROXY header and no "
				      "session limits; forward it in user space", c->rules[i].name);
		/* an nftables address match has no zone: it would take every link */
		if (c->rules[i].listen.scope || c->rules[i].target.scope)
			return errorf(-EINVAL, "rule '%s': the kernel forward takes no zone ids "
				      "(%%IFACE); forward it in user space", c->rules[i].name);
	}
	return 0;
}

int fwd_run_kernel(const struct fwd_run_opts *o, struct fwd_config *c)
{
	struct fwd_main m;
	char name[32];
	int r;

	snprintf(name, sizeof(name), o->persist ? "fwdpersist" : "fwd%d", (int)getpid());
	if ((r = kernel_refuses(c)) || o->check) {
		r = r ?: kernel_once(o, c, name);
		fwd_config_unref(c);
		return r;
	}
	if ((r = main_open(o, &m)))
		return fail(&m, c, r);
	memcpy(m.kname, name, sizeof(name));
	if (o->forwarding) {
		if (write_one("/proc/sys/net/ipv4/ip_forward") ||
		    write_one("/proc/sys/net/ipv6/conf/all/forwarding"))
			return fail(&m, c, errorf(-errno, "cannot turn on IP forwarding: %s",
						  strerror(errno)));
		slog_event(&m.log, "forwarding-on", NULL, -1, "net.ipv4.ip_forward and "
			   "net.ipv6.conf.all.forwarding set to 1 (--enable-forwarding)");
	}
	/* the events followed before the rules go in: no session is missed */
	if ((!m.log.no_sessions || o->metrics) && !o->persist &&
	    (r = klog_start(m.loop, &m.log, c, o->rcvbuf, &m.klog)))
		slog_event(&m.log, "error", NULL, -1, "no session log: %s", error_msg());
	if ((r = fwd_kernel_apply(c, m.kname))) {
		klog_stop(m.klog);
		return fail(&m, c, r);
	}
	for (size_t i = 0; i < c->n; i++)
		slog_event(&m.log, "listening", &c->rules[i], -1, "in the kernel (nftables DNAT)");
	fwd_config_warn(c, true, warn_event, &m.log);
	if (o->persist) {
		r = kernel_once(o, c, m.kname);
		return fail(&m, c, r);
	}
	m.kcfg = c;
	fwd_metrics_kernel(m.metrics, m.klog);
	if (o->metrics)
		slog_event(&m.log, "metrics", NULL, -1, "Prometheus metrics at http://%s/metrics",
			   o->metrics);
	ev_run(m.loop);
	fwd_metrics_stop(m.metrics);
	m.metrics = NULL;
	klog_stop(m.klog);	/* the events queued are logged, the last loss said */
	r = fwd_kernel_remove(m.kname);
	slog_event(&m.log, "stopped", NULL, -1, r ? "could not remove the rules: %s"
					       : "the kernel rules are removed%s", r ? error_msg() : "");
	fail(&m, m.kcfg, 0);
	return r ? 2 : 0;
}
