/*
 * cmd.c - `portkit forward`: its options and startup checks; the rules
 * built, then handed to the runtime (run.c): the user-space workers or
 * the kernel's nftables DNAT.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/cli.h"
#include "core/host/ctfollow.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "forward/forward.h"
#include "core/base/banned.h"

enum { OPT_UDP = OPT_CMD_BASE, OPT_ALLOW, OPT_DENY, OPT_LOG, OPT_WORKERS, OPT_MAX_CONNS,
       OPT_DRAIN, OPT_USER, OPT_CHECK, OPT_KERNEL, OPT_REMOVE, OPT_PERSIST, OPT_FORWARDING,
       OPT_METRICS, OPT_BUFFER };

struct fwd_opts {
	struct cli_common cc;
	bool udp, kernel, remove, buffer_given;
	const char *acl[MAX_ACL];	/* CIDR lists, in the order given */
	int acl_order[MAX_ACL * 2];
	size_t nacl;
	struct fwd_run_opts ro;
};

static int option(void *ctx, int c, const char *optarg)
{
	struct fwd_opts *o = ctx;
	unsigned long long v;

	switch (c) {
	case OPT_UDP: o->udp = true; break;
	case OPT_CHECK: o->ro.check = true; break;
	case OPT_KERNEL: o->kernel = true; break;
	case OPT_REMOVE: o->remove = true; break;
	case OPT_PERSIST: o->ro.persist = true; break;
	case OPT_FORWARDING: o->ro.forwarding = true; break;
	case 'c': o->ro.config = optarg; break;
	case OPT_LOG: o->ro.log = optarg; break;
	case OPT_USER: o->ro.user = optarg; break;
	case OPT_METRICS: o->ro.metrics = optarg; break;
	case OPT_BUFFER:
		o->buffer_given = true;
		if (parse_size(optarg, 4096, 1ULL << 30, "--buffer-size", &v))
			return -1;
		o->ro.rcvbuf = (size_t)v;
		break;
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
			o->ro.eo.workers = (unsigned)v;
		else if (c == OPT_DRAIN)
			o->ro.eo.drain_ms = (unsigned)v * 1000;
		else
			o->ro.eo.max_conns = (unsigned)v;
		break;
	}
	return 0;
}

static int build(struct fwd_opts *o, int argc, char **argv, const struct cmd *self,
		 struct fwd_config **out)
{
	struct fwd_config *c = xcalloc(1, sizeof(*c));

	if (o->ro.config) {
		if (optind != argc || o->nacl || o->udp) {
			free(c);
			return cmd_usage_error(self, "with -c, rules come from the file only");
		}
		if (fwd_config_load(o->ro.config, c)) {
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

/* The options that go with one mode only; NULL when they fit */
static const char *conflict(const struct fwd_opts *o)
{
	const struct fwd_run_opts *ro = &o->ro;

	if ((ro->persist || ro->forwarding) && !o->kernel)
		return "--persist and --enable-forwarding go with --kernel";
	if (ro->persist && ro->json)
		return "--persist prints an nftables ruleset (for nft -f): not with --json";
	if (o->buffer_given && !o->kernel)
		return "--buffer-size goes with --kernel (conntrack's events)";
	if (o->kernel && (ro->user || ro->eo.workers || ro->eo.max_conns))
		return "--user, --workers and --max-conns are for the user-space forwarder, not --kernel";
	return NULL;
}

static int remove_dead(int argc, const struct fwd_opts *o, const struct cmd *self)
{
	size_t n;

	if (optind < argc || o->ro.config || o->kernel)
		return cmd_usage_error(self, "--remove takes nothing else: it removes the kernel "
				       "rules of forwarders that are gone");
	if (fwd_kernel_remove_dead(&n))
		return cmd_error("%s", error_msg());
	if (o->cc.json)
		printf("{\"removed\":%zu}\n", n);
	else
		printf("removed the kernel rules of %zu forwarder%s that had ended\n", n,
		       n == 1 ? "" : "s");
	return 0;
}

/* Runtime result to exit status: -errno still to be said, 2 said */
static int status(int r)
{
	return r < 0 ? cmd_error("%s", error_msg()) : r;
}

static int forward_main(int argc, char **argv, const struct cmd *self)
{
	struct fwd_opts o = { .ro = { .eo.drain_ms = 10000, .rcvbuf = CT_RCVBUF_DEFAULT } };
	struct fwd_config *c = NULL;
	const char *why;
	int r = cmd_parse(self, argc, argv, &o.cc, option, &o);

	if (r)
		return r;
	o.ro.json = o.cc.json;
	if (o.remove)
		return remove_dead(argc, &o, self);
	if ((why = conflict(&o)))
		return cmd_usage_error(self, "%s", why);
	if ((r = build(&o, argc, argv, self, &c)))
		return r;
	if (o.ro.check && fwd_check_opts(&o.ro)) {
		fwd_config_unref(c);
		return cmd_error("%s", error_msg());
	}
	if (o.kernel)
		return status(fwd_run_kernel(&o.ro, c));
	/* an unknown user is an error before anything binds, and for --check */
	if (o.ro.user && !getpwnam(o.ro.user)) {
		fwd_config_unref(c);
		return cmd_error("unknown user '%s'", o.ro.user);
	}
	if (o.ro.check) {
		/* after every check: a run that fails says one line, the error */
		fwd_config_warn(c, false, fwd_say_warning, NULL);
		if (o.cc.json)
			printf("{\"ok\":true,\"rules\":%zu}\n", c->n);
		else
			printf("%zu rule%s OK\n", c->n, c->n == 1 ? "" : "s");
		fwd_config_unref(c);
		return 0;
	}
	if (!o.ro.eo.workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o.ro.eo.workers = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
	}
	return status(fwd_run_user(&o.ro, c));
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
	{ "user", OPT_USER, "USER", "drop root after binding", "@user" },
	{ "metrics", OPT_METRICS, "ADDR:PORT", "serve Prometheus metrics at http://ADDR:PORT/metrics" },
	{ "kernel", OPT_KERNEL, NULL, "forward in the kernel: the rules as nftables DNAT\n"
				      "(table inet portkit), removed at exit" },
	{ "buffer-size", OPT_BUFFER, "BYTES", "with --kernel: the receive buffer for conntrack's\n"
					      "events (default 16M; K, M, G); overflow is logged as lost" },
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
	"ADDR:PORT or [V6]:PORT ([fe80::1%eth0]:PORT: a link-local address with\n"
	"its zone); TARGET is ADDR:PORT (a port may be a service\n"
	"name). With -c FILE, many rules, one a line (format:\n" PORTKIT_DOCDIR "/forward.md);\n"
	"SIGHUP reloads the file.",
	.options = options,
	.examples =
	"  portkit forward 8080 198.18.0.2:80\n"
	"  portkit forward 5353 127.0.0.1:53 --udp --allow 10.0.0.0/8\n"
	"  portkit forward -c /etc/portkit/forward.conf --json --log /var/log/portkit.log\n",
	.run = forward_main,
};
