/*
 * rules.c - the built-in rules: each an id, a severity and advice in plain
 * words, with the ports it applies to. Port tables, not strcmp chains.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "core/vocab/ephemeral.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

enum {
	R_CLEARTEXT, R_UNAUTH, R_DATABASE, R_REMOTE, R_AMPLIFY, R_UNKNOWN_OWNER,
	R_EPHEMERAL, R_EXPOSED, R_NOT_ALLOWED, R_NEW, R_REMOVED, R_COUNT
};

static const struct {
	const char *id;
	enum severity sev;
	const char *advice;
} rules[R_COUNT] = {
	[R_CLEARTEXT] = { "cleartext-login", SEV_HIGH,
		"logins and data cross the network in cleartext: use the encrypted "
		"alternative (SSH, SFTP, IMAPS, POP3S, VNC over SSH) or bind it to 127.0.0.1" },
	[R_UNAUTH] = { "unauthenticated-service", SEV_HIGH,
		"it has no authentication by default, so whoever reaches the port controls "
		"the service: bind it to 127.0.0.1 or a private address, turn authentication "
		"on, and firewall it" },
	[R_DATABASE] = { "database-exposed", SEV_MEDIUM,
		"a database should not be reachable from every network: bind it to "
		"127.0.0.1 or a private address and allow only the hosts that need it" },
	[R_REMOTE] = { "remote-access-exposed", SEV_MEDIUM,
		"remote-access ports are attacked around the clock: put them behind a VPN "
		"or allow only known source addresses" },
	[R_AMPLIFY] = { "udp-amplification", SEV_MEDIUM,
		"it answers small spoofed UDP requests with large replies, which makes it "
		"a DDoS amplifier: answer only trusted networks or bind it to a private address" },
	[R_UNKNOWN_OWNER] = { "unknown-owner", SEV_MEDIUM,
		"no process holds it: a kernel service, a process in another PID namespace, "
		"or something hiding; find out what it is" },
	[R_EPHEMERAL] = { "ephemeral-range-listener", SEV_LOW,
		"the port lies in this host's ephemeral range, so outgoing connections can "
		"collide with it and it is often a temporary service: use a fixed port "
		"outside the range or reserve it (net.ipv4.ip_local_reserved_ports)" },
	[R_EXPOSED] = { "exposed", SEV_INFO,
		"reachable from every network this host is on unless a firewall says otherwise" },
	[R_NOT_ALLOWED] = { "not-allowed", SEV_MEDIUM,
		"the policy does not allow it" },
	[R_NEW] = { "new-listener", SEV_MEDIUM, "it was not listening at the baseline" },
	[R_REMOVED] = { "removed-listener", SEV_LOW, "it was listening at the baseline and is gone" },
};

struct port_rule {
	uint16_t lo, hi;
	uint8_t protos;
	uint8_t rule;
};

#define T PROTO_TCP
#define U PROTO_UDP

/* Exposure beyond loopback is what makes these findings. */
static const struct port_rule port_rules[] = {
	{ 21, 21, T, R_CLEARTEXT }, { 23, 23, T, R_CLEARTEXT }, { 110, 110, T, R_CLEARTEXT },
	{ 143, 143, T, R_CLEARTEXT }, { 512, 514, T, R_CLEARTEXT },
	{ 5900, 5909, T, R_CLEARTEXT },
	{ 1099, 1099, T, R_UNAUTH }, { 2181, 2181, T, R_UNAUTH }, { 2375, 2375, T, R_UNAUTH },
	{ 2379, 2379, T, R_UNAUTH }, { 4369, 4369, T, R_UNAUTH }, { 5555, 5555, T, R_UNAUTH },
	{ 5984, 5984, T, R_UNAUTH }, { 6379, 6379, T, R_UNAUTH }, { 8086, 8086, T, R_UNAUTH },
	{ 8088, 8088, T, R_UNAUTH }, { 9042, 9042, T, R_UNAUTH }, { 9200, 9200, T, R_UNAUTH },
	{ 9300, 9300, T, R_UNAUTH }, { 10250, 10250, T, R_UNAUTH },
	{ 10255, 10255, T, R_UNAUTH }, { 11211, 11211, T, R_UNAUTH },
	{ 11434, 11434, T, R_UNAUTH }, { 27017, 27018, T, R_UNAUTH },
	{ 1433, 1433, T, R_DATABASE }, { 1521, 1521, T, R_DATABASE },
	{ 3306, 3306, T, R_DATABASE }, { 5432, 5432, T, R_DATABASE },
	{ 135, 135, T, R_REMOTE }, { 139, 139, T, R_REMOTE }, { 445, 445, T, R_REMOTE },
	{ 3389, 3389, T | U, R_REMOTE }, { 5985, 5986, T, R_REMOTE },
	{ 17, 17, U, R_AMPLIFY }, { 19, 19, U, R_AMPLIFY }, { 53, 53, U, R_AMPLIFY },
	{ 111, 111, U, R_AMPLIFY }, { 123, 123, U, R_AMPLIFY }, { 137, 137, U, R_AMPLIFY },
	{ 161, 161, U, R_AMPLIFY }, { 389, 389, U, R_AMPLIFY }, { 427, 427, U, R_AMPLIFY },
	{ 623, 623, U, R_AMPLIFY }, { 1434, 1434, U, R_AMPLIFY }, { 1900, 1900, U, R_AMPLIFY },
	{ 3702, 3702, U, R_AMPLIFY }, { 5353, 5353, U, R_AMPLIFY }, { 5683, 5683, U, R_AMPLIFY },
	{ 11211, 11211, U, R_AMPLIFY },
};

const char *rule_id(size_t i)
{
	return i < R_COUNT ? rules[i].id : NULL;
}

int rule_index(const char *id)
{
	for (size_t i = 0; i < R_COUNT; i++)
		if (!strcmp(rules[i].id, id))
			return (int)i;
	return -1;
}

static const char *const sev_names[SEV_COUNT] = { "info", "low", "medium", "high" };

const char *severity_name(enum severity s)
{
	return s < SEV_COUNT ? sev_names[s] : "?";
}

int severity_parse(const char *s, enum severity *out)
{
	for (int i = 0; i < SEV_COUNT; i++) {
		if (!strcasecmp(s, sev_names[i])) {
			*out = (enum severity)i;
			return 0;
		}
	}
	return -1;
}

const char *exposure_name(enum exposure e)
{
	static const char *const names[] = { "loopback", "all-interfaces", "address" };

	return names[e];
}

const char *rule_advice(int idx)
{
	return idx >= 0 && idx < R_COUNT ? rules[idx].advice : NULL;
}

void add_finding(struct findings *f, const char *rule, const struct listener *l,
		 const char *fmt, ...)
{
	int idx = rule_index(rule);
	struct finding *x;
	va_list ap;

	if (idx < 0)
		return;
	f->v = xgrow(f->v, sizeof(*f->v), f->n + 1, &f->cap);
	x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	x->rule = rules[idx].id;
	x->sev = rules[idx].sev;
	x->l = *l;
	va_start(ap, fmt);
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
	va_end(ap);
}

void listener_describe(const struct listener *l, char *buf, size_t size)
{
	/* "Redis (6379/tcp) on all interfaces" */
	const char *name = l->numeric ? NULL : l->cur ? l->cur->name : l->service;

	snprintf(buf, size, "%s%s%u/%s%s on %s%s", name ? name : "", name ? " (" : "", l->port,
		 l->proto == PROTO_TCP ? "tcp" : "udp", name ? ")" : "",
		 l->exposure == EXP_ALL ? "all interfaces"
		 : l->exposure == EXP_LOOPBACK ? "loopback" : "address ",
		 l->exposure == EXP_ADDRESS ? l->addr_text : "");
}

/* The port rules judge the service: at its usual port when a probe named
 * it (identify.c), else at the port itself; moved says so. */
static void port_findings(struct findings *f, const struct listener *l, const char *what,
			  const char *moved, bool *flagged)
{
	for (size_t i = 0; i < sizeof(port_rules) / sizeof(port_rules[0]); i++) {
		const struct port_rule *pr = &port_rules[i];

		if (l->rule_port < pr->lo || l->rule_port > pr->hi || !(pr->protos & l->proto))
			continue;
		add_finding(f, rules[pr->rule].id, l, "%s: %s%s", what, rules[pr->rule].advice, moved);
		*flagged = true;
	}
}

void apply_rules(struct findings *f, const struct listener *l)
{
	const struct ephemeral *e = ephemeral_here();
	char what[200], moved[200] = "";
	bool flagged = false;

	listener_describe(l, what, sizeof(what));
	if (l->rule_port != l->port)
		snprintf(moved, sizeof(moved), "; %s answers on this non-standard port (its usual "
			 "one is %u): moving a port hides it only from scanners that go by the number",
			 l->cur ? l->cur->name : l->answers, l->rule_port);
	if (l->exposure != EXP_LOOPBACK)
		port_findings(f, l, what, moved, &flagged);
	if (!l->nown && l->owners_known)
		add_finding(f, rules[R_UNKNOWN_OWNER].id, l, "%s: %s", what,
			    rules[R_UNKNOWN_OWNER].advice);
	if (l->proto == PROTO_TCP && ephemeral_contains(e, l->port))
		add_finding(f, rules[R_EPHEMERAL].id, l, "%s: %s (%u-%u)", what,
			    rules[R_EPHEMERAL].advice, e->lo, e->hi);
	if (l->exposure == EXP_ALL && !flagged)
		add_finding(f, rules[R_EXPOSED].id, l, "%s: %s%s", what, rules[R_EXPOSED].advice,
			    moved);
}
