/*
 * policy.c - the audit policy file: what may listen, how severe each rule
 * is, what to ignore. One statement a line, '#' starts a comment:
 *
 *   allow PROTO/PORT[-PORT] [on BIND] [by PROCESS]
 *   severity RULE LEVEL
 *   ignore RULE [PROTO/PORT[-PORT]]
 *   fail-on LEVEL
 *
 * PROTO is tcp, udp or any; BIND is any, loopback, all-interfaces, or an
 * address or CIDR; PROCESS is a command name as in /proc/PID/comm. Errors
 * name the file and line, and nothing is applied from a bad file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "core/base/log.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define MAX_TOKENS 16
#define MAX_POLICY (1u << 20)

struct ctx {
	const char *path;
	unsigned line;
};

static int perr(const struct ctx *c, const char *fmt, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, what);
	return errorf(-EINVAL, "%s:%u: %s", c->path, c->line, msg);
}

/* "tcp/22", "udp/5000-5010", "any/53" */
static int parse_target(const struct ctx *c, const char *s, unsigned *protos,
			uint16_t *lo, uint16_t *hi)
{
	char tmp[64];
	char *slash;
	struct port_range r;

	snprintf(tmp, sizeof(tmp), "%s", s);
	slash = strchr(tmp, '/');
	if (!slash)
		return perr(c, "expected PROTO/PORT (tcp/22), got '%s'", s);
	*slash = '\0';
	if (!strcasecmp(tmp, "tcp"))
		*protos = PROTO_TCP;
	else if (!strcasecmp(tmp, "udp"))
		*protos = PROTO_UDP;
	else if (!strcasecmp(tmp, "any"))
		*protos = PROTO_TCP | PROTO_UDP;
	else
		return perr(c, "unknown protocol '%s' (tcp, udp or any)", tmp);
	if (parse_port_range(slash + 1, &r))
		return perr(c, "%s", error_msg());
	*lo = r.lo;
	*hi = r.hi;
	return 0;
}

static int parse_allow(const struct ctx *c, char **tok, size_t n, struct policy *p)
{
	struct allow a = { .bind = POLICY_ANY_BIND, .line = c->line };

	if (n < 2)
		return perr(c, "%s needs PROTO/PORT", "allow");
	if (parse_target(c, tok[1], &a.protos, &a.lo, &a.hi))
		return -EINVAL;
	for (size_t i = 2; i < n; i += 2) {
		if (i + 1 >= n)
			return perr(c, "'%s' needs a value", tok[i]);
		if (!strcmp(tok[i], "on")) {
			if (!strcmp(tok[i + 1], "any"))
				a.bind = POLICY_ANY_BIND;
			else if (!strcmp(tok[i + 1], "loopback"))
				a.bind = POLICY_LOOPBACK;
			else if (!strcmp(tok[i + 1], "all-interfaces"))
				a.bind = POLICY_ALL;
			else if (!cidr_parse(tok[i + 1], &a.cidr))
				a.bind = POLICY_CIDR;
			else
				return perr(c, "bad bind '%s' (any, loopback, all-interfaces, "
					       "an address or a CIDR)", tok[i + 1]);
		} else if (!strcmp(tok[i], "by")) {
			if (strlen(tok[i + 1]) >= sizeof(a.process))
				return perr(c, "process name '%s' is too long", tok[i + 1]);
			snprintf(a.process, sizeof(a.process), "%s", tok[i + 1]);
		} else {
			return perr(c, "unexpected '%s' (on BIND, by PROCESS)", tok[i]);
		}
	}
	p->allow = xgrow(p->allow, sizeof(*p->allow), p->nallow + 1, &p->capallow);
	p->allow[p->nallow++] = a;
	return 0;
}

static int parse_level(const struct ctx *c, const char *s, enum severity *sev)
{
	if (severity_parse(s, sev))
		return perr(c, "unknown severity '%s' (info, low, medium, high)", s);
	return 0;
}

static int parse_rule(const struct ctx *c, const char *s, int *idx)
{
	*idx = rule_index(s);
	if (*idx < 0)
		return perr(c, "unknown rule '%s' (see " PORTKIT_DOCDIR "/audit.md)", s);
	return 0;
}

static int parse_line(const struct ctx *c, char **tok, size_t n, struct policy *p)
{
	enum severity sev;
	int idx;

	if (!strcmp(tok[0], "allow"))
		return parse_allow(c, tok, n, p);
	if (!strcmp(tok[0], "severity")) {
		if (n != 3)
			return perr(c, "%s takes RULE LEVEL", "severity");
		if (parse_rule(c, tok[1], &idx) || parse_level(c, tok[2], &sev))
			return -EINVAL;
		p->severity[idx] = (int)sev;
		return 0;
	}
	if (!strcmp(tok[0], "ignore")) {
		struct ignore ig = { .protos = PROTO_TCP | PROTO_UDP, .lo = 0, .hi = 65535 };

		if (n < 2 || n > 3)
			return perr(c, "%s takes RULE [PROTO/PORT]", "ignore");
		if (parse_rule(c, tok[1], &idx))
			return -EINVAL;
		ig.rule = rule_id((size_t)idx);
		if (n == 3 && parse_target(c, tok[2], &ig.protos, &ig.lo, &ig.hi))
			return -EINVAL;
		p->ignore = xgrow(p->ignore, sizeof(*p->ignore), p->nignore + 1, &p->capignore);
		p->ignore[p->nignore++] = ig;
		return 0;
	}
	if (!strcmp(tok[0], "fail-on")) {
		if (n != 2)
			return perr(c, "%s takes LEVEL", "fail-on");
		if (parse_level(c, tok[1], &sev))
			return -EINVAL;
		p->fail_on = (int)sev;
		return 0;
	}
	return perr(c, "unknown statement '%s' (allow, severity, ignore, fail-on)", tok[0]);
}

int policy_parse(const char *path, const char *text, struct policy *p)
{
	struct ctx c = { path, 0 };
	const char *s = text;

	memset(p, 0, sizeof(*p));
	p->path = path;
	p->fail_on = -1;
	for (size_t i = 0; i < sizeof(p->severity) / sizeof(p->severity[0]); i++)
		p->severity[i] = -1;
	while (*s) {
		char line[1024];
		char *tok[MAX_TOKENS], *save = NULL;
		size_t len = strcspn(s, "\n"), n = 0;

		c.line++;
		if (len >= sizeof(line)) {
			policy_free(p);
			return perr(&c, "%s", "line too long");
		}
		memcpy(line, s, len);
		line[len] = '\0';
		s += len + (s[len] == '\n');
		line[strcspn(line, "#")] = '\0';
		for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (n == MAX_TOKENS) {
				policy_free(p);
				return perr(&c, "%s", "too many words");
			}
			tok[n++] = t;
		}
		if (n && parse_line(&c, tok, n, p)) {
			policy_free(p);
			return -EINVAL;
		}
	}
	return 0;
}

int policy_load(const char *path, struct policy *p)
{
	char *text;
	int r = text_load(path, MAX_POLICY, "policy", &text);

	if (r)
		return r;
	r = policy_parse(path, text, p);
	free(text);
	return r;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->allow);
	free(p->ignore);
	p->allow = NULL;
	p->ignore = NULL;
	p->nallow = p->nignore = 0;
}

static bool bind_matches(const struct allow *a, const struct listener *l)
{
	switch (a->bind) {
	case POLICY_LOOPBACK: return l->exposure == EXP_LOOPBACK;
	case POLICY_ALL: return l->exposure == EXP_ALL;
	case POLICY_CIDR: return cidr_match(&a->cidr, l->family, l->addr);
	default: return true;
	}
}

bool policy_allows(const struct policy *p, const struct listener *l)
{
	for (size_t i = 0; i < p->nallow; i++) {
		const struct allow *a = &p->allow[i];
		bool by = !a->process[0];

		if (!(a->protos & l->proto) || l->port < a->lo || l->port > a->hi ||
		    !bind_matches(a, l))
			continue;
		for (size_t j = 0; j < l->nown && !by; j++)
			by = !strcmp(l->own[j].comm, a->process);
		if (by)
			return true;
	}
	return false;
}

bool policy_ignores(const struct policy *p, const char *rule, const struct listener *l)
{
	for (size_t i = 0; i < p->nignore; i++) {
		const struct ignore *ig = &p->ignore[i];

		if (!strcmp(ig->rule, rule) && (ig->protos & l->proto) && l->port >= ig->lo &&
		    l->port <= ig->hi)
			return true;
	}
	return false;
}

/* With allow lines, the policy is the list of what may listen: what it
 * does not allow is "not-allowed" instead of merely "exposed". */
static void allow_pass(const struct policy *p, const struct listener *l, struct findings *f,
		       size_t first)
{
	char what[200];
	size_t k = first;

	for (size_t i = first; i < f->n; i++)
		if (strcmp(f->v[i].rule, "exposed"))
			f->v[k++] = f->v[i];
	f->n = k;
	listener_describe(l, what, sizeof(what));
	add_finding(f, "not-allowed", l, "%s: %s (%s)", what, rule_advice(rule_index("not-allowed")),
		    p->path);
}

void policy_apply(const struct policy *p, const struct listener *l, struct findings *f,
		  size_t first)
{
	size_t k = first;

	if (l && p->nallow) {
		if (l->allowed) {
			f->n = first;	/* allowed: no built-in findings */
			return;
		}
		allow_pass(p, l, f, first);
	}
	for (size_t i = first; i < f->n; i++) {
		int idx = rule_index(f->v[i].rule);

		if (policy_ignores(p, f->v[i].rule, &f->v[i].l))
			continue;
		if (idx >= 0 && p->severity[idx] >= 0)
			f->v[i].sev = (enum severity)p->severity[idx];
		f->v[k++] = f->v[i];
	}
	f->n = k;
}
