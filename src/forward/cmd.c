/*
 * cmd.c - `portkit forward`: options, startup checks, privileges, and the
 * main thread's signal loop (SIGHUP reload, SIGTERM/SIGINT drain).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cmd.h"
#include "core/addr.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/conntrack.h"
#include "core/ev.h"
#include "core/nft.h"
#include "core/xalloc.h"
#include "forward/forward.h"
#include "forward/metrics.h"
#include "core/banned.h"

enum { OPT_UDP = OPT_CMD_BASE, OPT_ALLOW, OPT_DENY, OPT_LOG, OPT_WORKERS, OPT_MAX_CONNS,
       OPT_DRAIN, OPT_USER, OPT_CHECK, OPT_KERNEL, OPT_REMOVE, OPT_PERSIST, OPT_FORWARDING,
       OPT_METRICS };

struct fwd_opts {
	struct cli_common cc;
	bool udp, check, kernel, remove, persist, forwarding, user_space_only;
	const char *config, *log, *user, *metrics;
	const char *acl[MAX_ACL];	/* CIDR lists, in the order given */
	int acl_order[MAX_ACL * 2];
	size_t nacl;
	struct engine_opts eo;
};

static int option(void *ctx, int c, const char *optarg)
{
	struct fwd_opts *o = ctx;
	unsigned long long v;

	switch (c) {
	case OPT_UDP: o->udp = true; break;
	case OPT_CHECK: o->check = true; break;
	case OPT_KERNEL: o->kernel = true; break;
	case OPT_REMOVE: o->remove = true; break;
	case OPT_PERSIST: o->persist = true; break;
	case OPT_FORWARDING: o->forwarding = true; break;
	case 'c': o->config = optarg; break;
	case OPT_LOG: o->log = optarg; break;
	case OPT_USER: o->user = optarg; o->user_space_only = true; break;
	case OPT_METRICS: o->metrics = optarg; o->user_space_only = true; break;
	case OPT_ALLOW:
	case OPT_DENY:
		if (o->nacl == MAX_ACL)
			return errorf(-E2BIG, "too many --allow/--deny");
		o->acl[o->nacl] = optarg;
		o->acl_order[o->nacl++] = c == OPT_ALLOW;
		break;
	case OPT_WORKERS:
	case OPT_MAX_CONNS:
	case OPT_DRAIN:
		if (parse_number(optarg, c == OPT_DRAIN ? 0 : 1, c == OPT_WORKERS ? 64 : 10000000,
				 c == OPT_WORKERS ? "workers" : c == OPT_DRAIN ? "drain-timeout"
								 : "max-conns", &v))
			return -1;
		if (c == OPT_WORKERS)
			o->eo.workers = (unsigned)v;
		else if (c == OPT_DRAIN)
			o->eo.drain_ms = (unsigned)v * 1000;
		else
			o->eo.max_conns = (unsigned)v;
		break;
	}
	return 0;
}

static int build(struct fwd_opts *o, int argc, char **argv, const struct cmd *self,
		 struct fwd_config **out)
{
	struct fwd_config *c = xcalloc(1, sizeof(*c));

	if (o->config) {
		if (optind != argc || o->nacl || o->udp) {
			free(c);
			return cmd_usage_error(self, "with -c, rules come from the file only");
		}
		if (fwd_config_load(o->config, c)) {
			free(c);
			return cmd_error("%s", error_msg());
		}
	} else {
		if (argc - optind != 2) {
			free(c);
			return cmd_usage_error(self, "expected LISTEN TARGET (or -c FILE)");
		}
		c->rules = xcalloc(1, sizeof(*c->rules));
		c->n = 1;
		atomic_init(&c->refs, 1);
		if (fwd_rule_quick(argv[optind], argv[optind + 1], o->udp, &c->rules[0]))
			goto bad;
		for (size_t i = 0; i < o->nacl; i++)
			if (fwd_rule_acl(&c->rules[0], o->acl_order[i], o->acl[i]))
				goto bad;
	}
	if (fwd_config_check(c))
		goto bad;
	*out = c;
	return 0;
bad:
	fwd_config_unref(c);
	return cmd_error("%s", error_msg());
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return errorf(-EINVAL, "unknown user '%s'", user);
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		return errorf(-errno, "cannot become '%s': %s", user, strerror(errno));
	return 0;
}

/* The log: --log FILE (appended) or stderr; errorf when it cannot open. */
static int open_log(const struct fwd_opts *o, struct slog *log)
{
	log->json = o->cc.json;
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
	struct stat st;

	if (!fstat(log->fd, &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		log->no_sessions = true;
	return 0;
}

/* SIGHUP: the file read and checked whole, or NULL with the event logged
 * (the running rules stay) */
static struct fwd_config *reload_config(const struct slog *log, const char *path)
{
	struct fwd_config *c = xcalloc(1, sizeof(*c));

	if (fwd_config_load(path, c)) {
		slog_event(log, "reload-rejected", NULL, -1, "the running rules stay: %s", error_msg());
		free(c);	/* a failed load keeps no rules */
		return NULL;
	}
	if (fwd_config_check(c)) {
		slog_event(log, "reload-rejected", NULL, -1, "the running rules stay: %s", error_msg());
		fwd_config_unref(c);	/* the rules and the config */
		return NULL;
	}
	return c;
}

static int reload(const struct slog *log, struct engine *eng, const char *path)
{
	struct fwd_config *c = reload_config(log, path);

	if (!c)
		return RELOAD_REJECTED;
	if (engine_reload(eng, c)) {
		slog_event(log, "reload-rejected", NULL, -1, "the running rules stay: %s", error_msg());
		return RELOAD_REJECTED;
	}
	slog_event(log, "reloaded", NULL, (long long)c->n, "%s: %zu rules", path, c->n);
	return RELOAD_OK;
}

/* The signals the forwarder acts on: reload, and the two that stop it */
static void control_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/* The main thread: signals, and the metrics endpoint when asked for, on
 * one event loop; the workers relay. */
struct main_loop {
	struct ev_loop *loop;
	struct ev_io sig;
	struct fwd_opts *o;
	struct engine *eng;
	struct fwd_metrics *metrics;
};

static void on_signal(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct main_loop *ml = container_of(io, struct main_loop, sig);
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (ml->o->config) {
				fwd_metrics_reload(ml->metrics, reload(ml->o->eo.log, ml->eng,
								       ml->o->config));
			} else {
				slog_event(ml->o->eo.log, "reload-ignored", NULL, -1,
					   "SIGHUP: nothing to reload without -c");
				fwd_metrics_reload(ml->metrics, RELOAD_IGNORED);
			}
			continue;
		}
		ev_break(l);
		return;
	}
}

/* The loop and, with --metrics, its listener: made before the workers
 * start and before root is dropped, so a bad address stops everything */
static int main_loop_open(struct fwd_opts *o, struct main_loop *ml)
{
	sigset_t set;
	int sfd;

	memset(ml, 0, sizeof(*ml));
	ml->o = o;
	control_signals(&set);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return errorf(-errno, "cannot watch signals: %s", strerror(errno));
	if (!(ml->loop = ev_loop_new())) {
		close(sfd);
		return errorf(-errno, "cannot make an event loop: %s", strerror(errno));
	}
	ev_io_add(ml->loop, &ml->sig, sfd, EPOLLIN, on_signal);
	if (o->metrics && fwd_metrics_start(ml->loop, o->metrics, &ml->metrics)) {
		ev_loop_free(ml->loop);
		close(sfd);
		return -EINVAL;
	}
	return 0;
}

static void main_loop_close(struct main_loop *ml)
{
	fwd_metrics_stop(ml->metrics);
	if (ml->loop) {
		close(ml->sig.fd);
		ev_loop_free(ml->loop);
	}
	ml->loop = NULL;
	ml->metrics = NULL;
}

static int serve(struct main_loop *ml, struct engine *eng)
{
	struct fwd_opts *o = ml->o;

	ml->eng = eng;
	fwd_metrics_engine(ml->metrics, eng);
	ev_run(ml->loop);
	slog_event(o->eo.log, "stopping", NULL, -1, "no new sessions, %u ms for the live ones to finish",
		   o->eo.drain_ms);
	main_loop_close(ml);
	engine_stop(eng, o->eo.drain_ms);
	slog_event(o->eo.log, "stopped", NULL, -1, "all sessions ended");
	return 0;
}

/* A relay needs two descriptors a session: take the hard limit, as
 * servers do (a root login's soft limit is 1024). */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int write_one(const char *path)
{
	FILE *f = fopen(path, "we");
	int r = f && fputs("1\n", f) >= 0 ? 0 : -1;

	if (f && fclose(f))
		r = -1;
	return r;
}

/* --kernel's session log: a session is one of ours when its DNAT took the
 * client from a rule's port to its target; it is logged when conntrack
 * forgets it, with its start from the "new" event (when seen). */
#define KSTARTS 4096
struct klog {
	const struct slog *log;
	struct fwd_config *cfg;
	struct kstart { uint32_t id; int64_t ms; } starts[KSTARTS];
};

static const struct fwd_rule *kernel_rule(const struct fwd_config *c, const struct nat_entry *e)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct fwd_rule *r = &c->rules[i];
		unsigned proto = r->proto == FWD_TCP ? IPPROTO_TCP : IPPROTO_UDP;

		if (e->proto == proto && e->orig.dport == r->listen.port &&
		    e->reply.sport == r->target.port && e->family == r->target.family &&
		    !memcmp(e->reply.src, r->target.addr, r->target.family == AF_INET ? 4 : 16))
			return r;
	}
	return NULL;
}

static int kernel_event(const struct nat_entry *e, const char *event, void *arg)
{
	struct klog *k = arg;
	const struct fwd_rule *r = (e->status & IPS_DST_NAT) || !strcmp(event, "new")
				   ? kernel_rule(k->cfg, e) : NULL;
	struct kstart *slot = &k->starts[e->id % KSTARTS];
	struct endpoint client;
	int64_t now = ev_now_ms();

	if (!r)
		return 0;
	if (!strcmp(event, "new")) {
		slot->id = e->id;
		slot->ms = now;
		return 0;
	}
	if (strcmp(event, "destroy"))
		return 0;
	endpoint_set(&client, e->family, e->orig.src, e->orig.sport);
	slog_session(k->log, &(struct slog_rec){
		.rule = r, .client = &client, .bytes_in = e->orig_bytes,
		.bytes_out = e->reply_bytes, .start_ms = slot->id == e->id ? slot->ms : now,
		.end_ms = now, .close_reason = "ended", .no_bytes = !e->counters,
		.translation = "dnat" });
	return 0;
}

/* --kernel: apply, wait for signals, remove; the log gets events. */
static int kernel_main(struct fwd_opts *o, struct fwd_config *c, struct slog *log)
{
	static struct klog k;
	char name[32], *text = NULL;
	sigset_t set;
	int sig, r, sfd;

	for (size_t i = 0; i < c->n; i++)
		if (c->rules[i].proxy || c->rules[i].max_conns) {
			r = cmd_error("rule '%s': the kernel forward has no PROXY header and no session "
				      "limits; forward it in user space", c->rules[i].name);
			fwd_config_unref(c);
			return r;
		}
	snprintf(name, sizeof(name), o->persist ? "fwdpersist" : "fwd%d", (int)getpid());
	if (o->check) {
		r = fwd_kernel_ruleset(c, name, &text) ?: nft_check(text);
		free(text);
		if (r) {
			fwd_config_unref(c);
			return cmd_error("%s", error_msg());
		}
		printf(o->cc.json ? "{\"ok\":true,\"rules\":%zu,\"kernel\":true}\n"
				  : "%zu rule%s OK (kernel, nothing applied)\n", c->n, c->n == 1 ? "" : "s");
		fwd_config_unref(c);
		return 0;
	}
	if (o->forwarding) {
		if (write_one("/proc/sys/net/ipv4/ip_forward") ||
		    write_one("/proc/sys/net/ipv6/conf/all/forwarding")) {
			fwd_config_unref(c);
			return cmd_error("cannot turn on IP forwarding: %s", strerror(errno));
		}
		slog_event(log, "forwarding-on", NULL, -1, "net.ipv4.ip_forward and "
			   "net.ipv6.conf.all.forwarding set to 1 (--enable-forwarding)");
	}
	if (fwd_kernel_apply(c, name)) {
		fwd_config_unref(c);
		return cmd_error("%s", error_msg());
	}
	for (size_t i = 0; i < c->n; i++)
		slog_event(log, "listening", &c->rules[i], -1, "in the kernel (nftables DNAT)");
	if (o->persist) {
		char *t = nft_list("list table inet portkit");

		fwd_config_unref(c);
		printf("#!/usr/sbin/nft -f\n# portkit forward --kernel --persist: load with nft -f, or "
		       "put in /etc/nftables.conf\n%s", t ? t : "");
		free(t);
		return 0;
	}
	k.log = log;
	k.cfg = c;
	control_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		r = cmd_error("cannot watch signals: %s", strerror(errno));
		fwd_kernel_remove(name);
		fwd_config_unref(k.cfg);
		return r;
	}
	for (;;) {
		struct signalfd_siginfo si;

		/* the sessions' log from conntrack events, until a signal comes;
		 * without events (no conntrack here, or --log none: then the
		 * kernel sends none) the read below just waits */
		if (!log->no_sessions && nat_watch(NULL, sfd, false, kernel_event, &k))
			slog_event(log, "error", NULL, -1, "no session log: %s", error_msg());
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		sig = (int)si.ssi_signo;
		if (sig == SIGHUP && o->config) {
			struct fwd_config *n = reload_config(log, o->config);

			if (!n) {
				continue;
			} else if (fwd_kernel_apply(n, name)) {
				slog_event(log, "reload-rejected", NULL, -1, "the running rules stay: %s",
					   error_msg());
				fwd_config_unref(n);
			} else {
				slog_event(log, "reloaded", NULL, (long long)n->n, "%s: %zu rules",
					   o->config, n->n);
				fwd_config_unref(k.cfg);
				k.cfg = n;
			}
			continue;
		}
		if (sig == SIGHUP)
			continue;
		break;
	}
	close(sfd);
	r = fwd_kernel_remove(name);
	slog_event(log, "stopped", NULL, -1, r ? "could not remove the rules: %s"
					       : "the kernel rules are removed%s", r ? error_msg() : "");
	fwd_config_unref(k.cfg);
	return r ? 2 : 0;
}

static int forward_main(int argc, char **argv, const struct cmd *self)
{
	struct fwd_opts o = { .eo.drain_ms = 10000 };
	struct slog log = { .fd = STDERR_FILENO };
	struct fwd_config *c = NULL;
	struct engine *eng = NULL;
	struct main_loop ml;
	sigset_t set;
	int r = cmd_parse(self, argc, argv, &o.cc, option, &o);

	if (r)
		return r;
	if (o.remove) {
		size_t n;

		if (optind < argc || o.config || o.kernel)
			return cmd_usage_error(self, "--remove takes nothing else: it removes the kernel "
					       "rules of forwarders that are gone");
		if (fwd_kernel_remove_dead(&n))
			return cmd_error("%s", error_msg());
		printf("removed the kernel rules of %zu forwarder%s that had ended\n", n,
		       n == 1 ? "" : "s");
		return 0;
	}
	if ((o.persist || o.forwarding) && !o.kernel)
		return cmd_usage_error(self, "--persist and --enable-forwarding go with --kernel");
	if (o.kernel && (o.user_space_only || o.eo.workers || o.eo.max_conns))
		return cmd_usage_error(self, "--user, --workers and --max-conns are for the user-space "
				       "forwarder, not --kernel");
	if ((r = build(&o, argc, argv, self, &c)))
		return r;
	if (o.kernel) {
		if (open_log(&o, &log)) {
			fwd_config_unref(c);
			return cmd_error("%s", error_msg());
		}
		return kernel_main(&o, c, &log);
	}
	/* an unknown user is an error before anything binds, and for --check */
	if (o.user && !getpwnam(o.user)) {
		fwd_config_unref(c);
		return cmd_error("unknown user '%s'", o.user);
	}
	if (o.check) {
		if (o.cc.json)
			printf("{\"ok\":true,\"rules\":%zu}\n", c->n);
		else
			printf("%zu rule%s OK\n", c->n, c->n == 1 ? "" : "s");
		fwd_config_unref(c);
		return 0;
	}
	if (open_log(&o, &log)) {
		fwd_config_unref(c);
		return cmd_error("%s", error_msg());
	}
	o.eo.log = &log;
	if (!o.eo.workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o.eo.workers = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
	}
	raise_fd_limit();
	/* signals go to the main thread's signalfd, never to a worker */
	control_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (main_loop_open(&o, &ml)) {
		fwd_config_unref(c);
		return cmd_error("%s", error_msg());
	}
	if (engine_start(c, &o.eo, &eng)) {
		r = cmd_error("%s", error_msg());
		engine_stop(eng, 0);
		main_loop_close(&ml);
		fwd_config_unref(c);
		return r;
	}
	fwd_config_unref(c);	/* the workers hold it now */
	if (o.user && drop_privileges(o.user)) {
		slog_event(&log, "error", NULL, -1, "%s", error_msg());
		engine_stop(eng, 0);
		main_loop_close(&ml);
		return cmd_error("%s", error_msg());
	}
	if (o.metrics)
		slog_event(&log, "metrics", NULL, -1, "Prometheus metrics at http://%s/metrics",
			   o.metrics);
	return serve(&ml, eng);
}

static const struct cmd_option options[] = {
	{ "udp", OPT_UDP, NULL, "forward UDP instead of TCP" },
	{ "allow", OPT_ALLOW, "CIDR", "allow clients from CIDR (repeatable; first match wins)" },
	{ "deny", OPT_DENY, "CIDR", "deny clients from CIDR" },
	{ "config", 'c', "FILE", "rules from FILE" },
	{ "check", OPT_CHECK, NULL, "validate the rules and exit" },
	{ "log", OPT_LOG, "FILE", "session log (default: stderr); with --json, NDJSON;\n"
				  "none: no session lines (events stay on stderr)" },
	{ "workers", OPT_WORKERS, "N", "worker threads (default: one per CPU)" },
	{ "max-conns", OPT_MAX_CONNS, "N", "TCP sessions over all rules" },
	{ "drain-timeout", OPT_DRAIN, "S", "on SIGTERM, how long sessions may finish (default 10)" },
	{ "user", OPT_USER, "USER", "drop root after binding" },
	{ "metrics", OPT_METRICS, "ADDR:PORT", "serve Prometheus metrics at http://ADDR:PORT/metrics" },
	{ "kernel", OPT_KERNEL, NULL, "forward in the kernel: the rules as nftables DNAT\n"
				      "(table inet portkit), removed at exit" },
	{ "persist", OPT_PERSIST, NULL, "with --kernel: leave the rules and print them as a\n"
					"file nft -f loads" },
	{ "remove", OPT_REMOVE, NULL, "remove the kernel rules of forwarders that ended\n"
				      "(killed, crashed)" },
	{ "enable-forwarding", OPT_FORWARDING, NULL, "with --kernel: set net.ipv4.ip_forward "
						     "(and IPv6's) to 1" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd forward_cmd = {
	.name = "forward",
	.summary = "TCP and UDP port forwarding with access rules and session logs",
	.synopsis = "LISTEN TARGET [--udp] [--allow CIDR] [--deny CIDR] | -c FILE",
	.about =
	"Forwards connections (or UDP datagrams) arriving on LISTEN to TARGET,\n"
	"with access rules and one log line per session. LISTEN is PORT,\n"
	"ADDR:PORT or [V6]:PORT; TARGET is ADDR:PORT (a port may be a service\n"
	"name). With -c FILE, many rules, one a line (format:\n" PORTKIT_DOCDIR "/forward.md);\n"
	"SIGHUP reloads the file.",
	.options = options,
	.examples =
	"  portkit forward 8080 198.18.0.2:80\n"
	"  portkit forward 5353 127.0.0.1:53 --udp --allow 10.0.0.0/8\n"
	"  portkit forward -c /etc/portkit/forward.conf --json --log /var/log/portkit.log\n",
	.run = forward_main,
};
