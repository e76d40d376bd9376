/*
 * cmd.c - `portkit audit`: options, then snapshot -> listeners -> rules,
 * policy and baseline -> report. Exit 0 clean, 1 findings at or above
 * --fail-on, 2 errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cmd.h"
#include "core/log.h"
#include "core/banned.h"

const char audit_help[] =
	"Checks every listening TCP socket and bound UDP socket on this host:\n"
	"how far it is exposed (loopback, all interfaces, one address), what it\n"
	"is, who holds it, and whether it should be open: cleartext logins,\n"
	"services without authentication, databases and remote access beyond\n"
	"loopback, UDP amplifiers, listeners nobody owns or in the ephemeral\n"
	"range. Rules and the policy format: docs/audit.md.\n"
	"\n"
	"options:\n"
	"  --policy FILE         what may listen; anything else is a finding\n"
	"  --save-baseline FILE  record today's listeners\n"
	"  --baseline FILE       report listeners that appeared or vanished since\n"
	"  --fail-on LEVEL       exit 1 at this severity or above (default medium)\n"
	"  --verify              connect to exposed TCP listeners through this\n"
	"                        host's own addresses to confirm they answer\n"
	"  --netns NAME|PID|all  another network namespace, or all of them\n"
	"\n"
	"Exit status: 0 no findings at --fail-on or above, 1 some, 2 error.\n";

enum { OPT_POLICY = OPT_CMD_BASE, OPT_BASELINE, OPT_SAVE, OPT_FAIL_ON, OPT_VERIFY, OPT_NETNS };

static int parse(int argc, char **argv, const struct cmd *self, struct audit_opts *o)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "save-baseline", required_argument, NULL, OPT_SAVE },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "netns", required_argument, NULL, OPT_NETNS },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 1;
	o->fail_on = -1;
	while ((c = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		enum severity sev;

		if (cli_common_opt(c, &o->cc))
			continue;
		switch (c) {
		case OPT_POLICY: o->policy = optarg; break;
		case OPT_BASELINE: o->baseline = optarg; break;
		case OPT_SAVE: o->save_baseline = optarg; break;
		case OPT_VERIFY: o->verify = true; break;
		case OPT_NETNS: o->netns = optarg; break;
		case OPT_FAIL_ON:
			if (severity_parse(optarg, &sev))
				return cmd_usage_error(self, "invalid --fail-on '%s': info, low, "
							     "medium or high", optarg);
			o->fail_on = (int)sev;
			break;
		default:
			return cmd_bad_option(self, c, argv);
		}
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	return 0;
}

static int run(const struct audit_opts *o, struct policy *p)
{
	struct diag_query q = { .tcp = true, .udp = true, .v4 = true, .v6 = true,
				.states = (1u << SS_LISTEN) | (1u << SS_CLOSE) };
	struct snapshot s;
	struct listener *v = NULL;
	struct findings f = { 0 };
	size_t n;
	int r;
	enum severity fail_on = SEV_MEDIUM;

	r = snapshot_take(&q, o->netns, SNAP_OWNERS, &s);
	if (r) {
		snapshot_free(&s);
		return cmd_error("%s", error_msg());
	}
	n = collect_listeners(&s, &v);
	snapshot_free(&s);
	if (o->verify)
		verify_listeners(v, n);
	for (size_t i = 0; i < n; i++) {
		size_t first = f.n;

		v[i].allowed = p && policy_allows(p, &v[i]);
		apply_rules(&f, &v[i]);
		if (p)
			policy_apply(p, &v[i], &f, first);
	}
	r = 0;
	if (o->baseline) {
		size_t first = f.n;

		if (baseline_compare(o->baseline, v, n, &f))
			r = cmd_error("%s", error_msg());
		else if (p)
			policy_apply(p, NULL, &f, first);
	}
	if (!r && o->save_baseline && baseline_save(o->save_baseline, v, n))
		r = cmd_error("%s", error_msg());
	if (!r) {
		if (o->fail_on >= 0)
			fail_on = (enum severity)o->fail_on;
		else if (p && p->fail_on >= 0)
			fail_on = (enum severity)p->fail_on;
		r = report(o, &f, n, fail_on);
		if (r < 0)
			r = cmd_error("cannot write output: write error");
	}
	free(v);
	free(f.v);
	return r;
}

int audit_main(int argc, char **argv, const struct cmd *self)
{
	struct audit_opts o = { 0 };
	struct policy p;
	int r = parse(argc, argv, self, &o);

	if (r)
		return r;
	if (o.cc.help) {
		cmd_help(self, stdout);
		return 0;
	}
	/* a bad policy stops everything before any socket is looked at */
	if (o.policy && policy_load(o.policy, &p))
		return cmd_error("%s", error_msg());
	r = run(&o, o.policy ? &p : NULL);
	if (o.policy)
		policy_free(&p);
	return r;
}
