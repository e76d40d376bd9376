/*
 * cmd.c - `portkit audit`: options, then the findings (audit_collect:
 * snapshot -> listeners -> rules, policy and baseline) -> report. Exit 0
 * clean, 1 findings at or above --fail-on, 2 errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cmd.h"
#include "core/base/log.h"
#include "core/base/banned.h"

enum { OPT_POLICY = OPT_CMD_BASE, OPT_BASELINE, OPT_SAVE, OPT_FAIL_ON, OPT_VERIFY, OPT_NETNS,
       OPT_METRICS, OPT_NO_PROBE };

static int option(void *ctx, int key, const char *value)
{
	struct audit_opts *o = ctx;
	enum severity sev;

	switch (key) {
	case OPT_POLICY: o->policy = value; break;
	case OPT_BASELINE: o->baseline = value; break;
	case OPT_SAVE: o->save_baseline = value; break;
	case OPT_VERIFY: o->verify = true; break;
	case OPT_NETNS: o->netns = value; break;
	case OPT_METRICS: o->metrics = true; break;
	case OPT_NO_PROBE: o->no_probe = true; break;
	case OPT_FAIL_ON:
		if (severity_parse(value, &sev))
			return errorf(-EINVAL, "invalid --fail-on '%s': info, low, medium or high",
				      value);
		o->fail_on = (int)sev;
		break;
	}
	return 0;
}

static int run(const struct audit_opts *o, const struct policy *p)
{
	struct findings f = { 0 };
	size_t n = 0;
	int r = audit_collect(o, p, &f, &n);

	if (r)
		r = cmd_error("%s", error_msg());
	else if ((r = report(o, &f, n, audit_fail_on(o, p))) < 0)
		r = cmd_output_error(r);
	free(f.v);
	return r;
}

static int audit_main(int argc, char **argv, const struct cmd *self)
{
	struct audit_opts o = { .fail_on = -1 };
	struct policy p;
	int r = cmd_parse(self, argc, argv, &o.cc, option, &o);

	if (r)
		return r;
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	/* one output format, never silently another */
	if (o.metrics && o.cc.json)
		return cmd_usage_error(self, "--metrics is its own format: not with --json");
	/* a bad policy stops everything before any socket is looked at */
	if (o.policy && policy_load(o.policy, &p))
		return cmd_error("%s", error_msg());
	r = run(&o, o.policy ? &p : NULL);
	if (o.policy)
		policy_free(&p);
	return r;
}

static const struct cmd_option options[] = {
	{ "policy", OPT_POLICY, "FILE", "what may listen; anything else is a finding" },
	{ "save-baseline", OPT_SAVE, "FILE", "record today's listeners" },
	{ "baseline", OPT_BASELINE, "FILE", "report listeners that appeared or vanished since" },
	{ "fail-on", OPT_FAIL_ON, "LEVEL", "exit 1 at this severity or above (default medium)",
	  "info low medium high" },
	{ "verify", OPT_VERIFY, NULL, "connect to exposed TCP listeners through this\n"
				      "host's own addresses to confirm they answer" },
	{ "no-probe", OPT_NO_PROBE, NULL, "judge each listener by its port number only: ask\n"
					"none what it is (no connection is made)" },
	{ "netns", OPT_NETNS, "NAME|PID|all", "another network namespace, or all of them",
	  "@netns" },
	{ "metrics", OPT_METRICS, NULL, "findings as Prometheus text (for node_exporter's\n"
					"textfile collector); the exit status as without" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd audit_cmd = {
	.name = "audit",
	.summary = "which listening ports should not be open",
	.synopsis = "[--policy FILE] [--baseline FILE] [--save-baseline FILE] [--fail-on LEVEL] "
		    "[--verify] [--no-probe] [--netns NAME|PID|all]",
	.about =
	"Checks every listening TCP socket and bound UDP socket on this host:\n"
	"how far it is exposed (loopback, all interfaces, one address), what it\n"
	"is (an exposed TCP port is asked, as scan --sv does: RDP on 3350 is\n"
	"judged as RDP), who holds it, and whether it should be open: cleartext\n"
	"logins, services without authentication, databases and remote access\n"
	"beyond loopback, UDP amplifiers, listeners nobody owns or in the\n"
	"ephemeral range. Rules and the policy format: " PORTKIT_DOCDIR "/audit.md.\nExit status: 0 no\n"
	"findings at --fail-on or above, 1 some, 2 error.",
	.options = options,
	.run = audit_main,
};
