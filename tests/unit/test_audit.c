/* test_audit.c - the built-in rules, and a policy applied as a pass over
 * their findings. */
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"
#include "audit/audit.h"
#include "core/base/log.h"

static struct listener listener(unsigned proto, unsigned port, enum exposure exp)
{
	struct listener l;

	memset(&l, 0, sizeof(l));
	l.proto = proto;
	l.family = AF_INET;
	l.port = port;
	l.exposure = exp;
	if (exp == EXP_LOOPBACK)
		l.addr[0] = 127, l.addr[3] = 1;
	snprintf(l.addr_text, sizeof(l.addr_text), exp == EXP_LOOPBACK ? "127.0.0.1" : "0.0.0.0");
	l.nown = 1;
	l.owners_known = true;
	l.verified = -1;
	listener_name(&l);
	return l;
}

static bool has(const struct findings *f, const char *rule, enum severity sev)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].rule, rule) && f->v[i].sev == sev)
			return true;
	return false;
}

TEST(audit_builtin_rules)
{
	struct findings f = { 0 };
	struct listener telnet = listener(PROTO_TCP, 23, EXP_ALL);
	struct listener redis_lo = listener(PROTO_TCP, 6379, EXP_LOOPBACK);
	struct listener ntp = listener(PROTO_UDP, 123, EXP_ALL);
	struct listener web = listener(PROTO_TCP, 8080, EXP_ALL);

	apply_rules(&f, &telnet);
	CHECK_INT(f.n, 1);
	CHECK(has(&f, "cleartext-login", SEV_HIGH));
	CHECK(strstr(f.v[0].message, "(23/tcp) on all interfaces") != NULL);
	apply_rules(&f, &redis_lo);	/* loopback: nothing */
	CHECK_INT(f.n, 1);
	apply_rules(&f, &ntp);
	CHECK(has(&f, "udp-amplification", SEV_MEDIUM));
	apply_rules(&f, &web);	/* nothing worse: exposed */
	CHECK_INT(f.n, 3);
	CHECK(has(&f, "exposed", SEV_INFO));
	free(f.v);
}

TEST(audit_policy_is_a_pass_over_findings)
{
	struct policy p;
	struct findings f = { 0 };
	struct listener telnet = listener(PROTO_TCP, 23, EXP_ALL);
	struct listener web = listener(PROTO_TCP, 8080, EXP_ALL);
	struct listener ntp = listener(PROTO_UDP, 123, EXP_ALL);
	size_t first;

	CHECK_INT(policy_parse("p", "allow tcp/8080\nseverity udp-amplification low\n"
			       "ignore cleartext-login tcp/23\n", &p), 0);
	/* allowed: no finding at all */
	web.allowed = policy_allows(&p, &web);
	CHECK(web.allowed);
	apply_rules(&f, &web);
	policy_apply(&p, &web, &f, 0);
	CHECK_INT(f.n, 0);
	/* not allowed: the ignored rule goes, not-allowed comes */
	telnet.allowed = policy_allows(&p, &telnet);
	apply_rules(&f, &telnet);
	policy_apply(&p, &telnet, &f, 0);
	CHECK_INT(f.n, 1);
	CHECK(has(&f, "not-allowed", SEV_MEDIUM));
	/* severity overridden; not-allowed replaces exposed */
	first = f.n;
	apply_rules(&f, &ntp);
	policy_apply(&p, &ntp, &f, first);
	CHECK(has(&f, "udp-amplification", SEV_LOW));
	CHECK(!has(&f, "exposed", SEV_INFO));
	CHECK_INT(f.n, 3);
	free(f.v);
	policy_free(&p);
}

TEST(audit_policy_without_allows_keeps_exposed)
{
	struct policy p;
	struct findings f = { 0 };
	struct listener web = listener(PROTO_TCP, 8080, EXP_ALL);

	CHECK_INT(policy_parse("p", "severity exposed low\n", &p), 0);
	apply_rules(&f, &web);
	policy_apply(&p, &web, &f, 0);
	CHECK_INT(f.n, 1);
	CHECK(has(&f, "exposed", SEV_LOW));
	free(f.v);
	policy_free(&p);
}

TEST(audit_policy_errors_name_the_line)
{
	struct policy p;

	CHECK(policy_parse("pol", "allow tcp/22\nalow tcp/80\n", &p) < 0);
	CHECK(strstr(error_msg(), "pol:2: unknown statement 'alow'") != NULL);
	CHECK(policy_parse("pol", "severity exposed catastrophic\n", &p) < 0);
	CHECK(strstr(error_msg(), "pol:1:") != NULL);
}
