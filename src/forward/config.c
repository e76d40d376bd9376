/*
 * config.c - forwarding rules.
 *
 * A config file has one rule a line; '#' starts a comment:
 *
 *   LISTEN  PROTO  TARGET  [KEY=VALUE ...]
 *   0.0.0.0:8080   tcp  198.18.0.2:80  allow=10.0.0.0/8 deny=0.0.0.0/0
 *   [::]:5353      udp  [2001:db8::1]:53  idle-timeout=60s max-sessions=10000
 *   8443           tcp  127.0.0.1:443  proxy=v2 max-conns=500 connect-timeout=3s
 *
 * LISTEN is ADDR:PORT, [V6]:PORT or a bare port ([::], both families).
 * allow= and deny= take comma lists of CIDRs and are checked in the order
 * written, first match wins; when none matches, a rule that has any allow=
 * denies, one without allows. Keys: allow, deny, connect-timeout (5s),
 * idle-timeout (tcp 3600s, udp 60s), halfclose-timeout (60s), max-conns,
 * max-sessions (udp, 65536), proxy (v1, v2). Times take ms, s, m or h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/textfile.h"
#include "core/xalloc.h"
#include "forward/forward.h"
#include "core/banned.h"

#define MAX_CONFIG (1u << 20)

static int parse_endpoint(const char *s, bool listen, struct endpoint *e)
{
	if (endpoint_parse(s, listen ? EP_BARE_PORT | EP_PORT_ZERO : EP_PORT_ZERO, e))
		return -EINVAL;
	if (!listen && !e->port)
		return errorf(-EINVAL, "invalid target '%s': port 0", s);
	return 0;
}

void fwd_rule_name(struct fwd_rule *r)
{
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];

	snprintf(r->name, sizeof(r->name), "%s/%s -> %s", endpoint_str(&r->listen, a),
		 r->proto == FWD_TCP ? "tcp" : "udp", endpoint_str(&r->target, b));
}

static void defaults(struct fwd_rule *r)
{
	r->connect_timeout_ms = 5000;
	r->idle_timeout_ms = r->proto == FWD_TCP ? 3600000 : 60000;
	r->halfclose_timeout_ms = 60000;
	r->max_sessions = 65536;
}

int fwd_rule_quick(const char *listen, const char *target, bool udp, struct fwd_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->proto = udp ? FWD_UDP : FWD_TCP;
	defaults(r);
	if (parse_endpoint(listen, true, &r->listen) || parse_endpoint(target, false, &r->target))
		return -EINVAL;
	fwd_rule_name(r);
	return 0;
}

int fwd_rule_acl(struct fwd_rule *r, bool allow, const char *cidrs)
{
	char tmp[1024];
	char *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", cidrs);
	for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (r->nacl == MAX_ACL)
			return errorf(-E2BIG, "too many allow/deny entries (at most %d)", MAX_ACL);
		if (cidr_parse(t, &r->acl[r->nacl].cidr))
			return -EINVAL;
		r->acl[r->nacl++].allow = allow;
	}
	return 0;
}

static int parse_time(const char *v, unsigned *ms)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	unsigned long mul;

	if (end == v)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "s") || !*end)
		mul = 1000;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else
		return -EINVAL;
	if (n > 24UL * 3600000 / mul || !n)
		return -ERANGE;
	*ms = (unsigned)(n * mul);
	return 0;
}

static int option(struct fwd_rule *r, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[32];
	const char *v;
	unsigned long long n;

	if (!eq || (size_t)(eq - kv) >= sizeof(key))
		return errorf(-EINVAL, "expected KEY=VALUE, got '%s'", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	v = eq + 1;
	if (!strcmp(key, "allow") || !strcmp(key, "deny"))
		return fwd_rule_acl(r, key[0] == 'a', v);
	if (!strcmp(key, "connect-timeout") || !strcmp(key, "idle-timeout") ||
	    !strcmp(key, "halfclose-timeout")) {
		unsigned *t = key[0] == 'c' ? &r->connect_timeout_ms
			      : key[0] == 'i' ? &r->idle_timeout_ms : &r->halfclose_timeout_ms;

		if (parse_time(v, t))
			return errorf(-EINVAL, "invalid %s '%s' (like 30s, 500ms, 5m)", key, v);
		return 0;
	}
	if (!strcmp(key, "max-conns") || !strcmp(key, "max-sessions")) {
		if (parse_number(v, 1, 10000000, key, &n))
			return -EINVAL;
		*(key[4] == 'c' ? &r->max_conns : &r->max_sessions) = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "proxy")) {
		if (!strcmp(v, "v1") || !strcmp(v, "v2")) {
			r->proxy = (unsigned)(v[1] - '0');
			return 0;
		}
		return errorf(-EINVAL, "invalid proxy '%s' (v1 or v2)", v);
	}
	return errorf(-EINVAL, "unknown option '%s' (allow, deny, connect-timeout, idle-timeout, "
			       "halfclose-timeout, max-conns, max-sessions, proxy)", key);
}

static int parse_line(char *line, unsigned no, struct fwd_rule *r)
{
	char *tok[40], *save = NULL;
	size_t n = 0;

	for (char *t = strtok_r(line, " \t\r", &save); t && n < 40; t = strtok_r(NULL, " \t\r", &save))
		tok[n++] = t;
	if (n < 3)
		return errorf(-EINVAL, "expected LISTEN PROTO TARGET [KEY=VALUE...]");
	memset(r, 0, sizeof(*r));
	r->line = no;
	if (!strcmp(tok[1], "tcp"))
		r->proto = FWD_TCP;
	else if (!strcmp(tok[1], "udp"))
		r->proto = FWD_UDP;
	else
		return errorf(-EINVAL, "unknown protocol '%s' (tcp or udp)", tok[1]);
	defaults(r);
	if (parse_endpoint(tok[0], true, &r->listen) || parse_endpoint(tok[2], false, &r->target))
		return -EINVAL;
	for (size_t i = 3; i < n; i++)
		if (option(r, tok[i]))
			return -EINVAL;
	if (r->proxy && r->proto == FWD_UDP)
		return errorf(-EINVAL, "the PROXY protocol is for tcp rules");
	fwd_rule_name(r);
	return 0;
}

int fwd_config_parse(const char *path, const char *text, struct fwd_config *c)
{
	size_t cap = 0;
	unsigned no = 0;

	memset(c, 0, sizeof(*c));
	while (*text) {
		char line[2048];
		size_t len = strcspn(text, "\n");

		no++;
		if (len >= sizeof(line)) {
			free(c->rules);
			return errorf(-EINVAL, "%s:%u: line too long", path, no);
		}
		memcpy(line, text, len);
		line[len] = '\0';
		text += len + (text[len] == '\n');
		line[strcspn(line, "#")] = '\0';
		if (!line[strspn(line, " \t\r")])
			continue;
		c->rules = xgrow(c->rules, sizeof(*c->rules), c->n + 1, &cap);
		if (parse_line(line, no, &c->rules[c->n])) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", error_msg());
			free(c->rules);
			c->rules = NULL;
			return errorf(-EINVAL, "%s:%u: %s", path, no, msg);
		}
		for (size_t i = 0; i < c->n; i++) {
			if (fwd_same_listener(&c->rules[i], &c->rules[c->n])) {
				unsigned first = c->rules[i].line;

				free(c->rules);
				c->rules = NULL;
				return errorf(-EINVAL, "%s:%u: listens where line %u already does", path,
					      no, first);
			}
		}
		c->n++;
	}
	if (!c->n)
		return errorf(-EINVAL, "%s: no rules", path);
	atomic_init(&c->refs, 1);
	return 0;
}

int fwd_config_load(const char *path, struct fwd_config *c)
{
	char *text;
	int r = text_load(path, MAX_CONFIG, "config", &text);

	if (r)
		return r;
	r = fwd_config_parse(path, text, c);
	free(text);
	return r;
}

bool fwd_acl_permits(const struct fwd_rule *r, const struct endpoint *client)
{
	bool any_allow = false;

	for (size_t i = 0; i < r->nacl; i++) {
		if (cidr_match(&r->acl[i].cidr, client->family, client->addr))
			return r->acl[i].allow;
		any_allow |= r->acl[i].allow;
	}
	return !any_allow;
}

bool fwd_same_listener(const struct fwd_rule *a, const struct fwd_rule *b)
{
	return a->proto == b->proto && endpoint_equal(&a->listen, &b->listen);
}

void fwd_config_ref(struct fwd_config *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void fwd_config_unref(struct fwd_config *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
		free(c->rules);
		free(c);
	}
}

int fwd_config_check(const struct fwd_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct fwd_rule *r = &c->rules[i];
		/* a UDP connect() only asks the routing table: nothing is sent */
		int fd = socket(r->target.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_storage sa;
		socklen_t len = endpoint_to_sockaddr(&r->target, &sa);
		int e = 0;

		if (fd < 0)
			return errorf(-errno, "rule '%s': %s", r->name, strerror(errno));
		if (connect(fd, (const struct sockaddr *)&sa, len))
			e = errno;
		close(fd);
		if (e == ENETUNREACH || e == EHOSTUNREACH || e == EADDRNOTAVAIL) {
			char where[32] = "";

			if (r->line)
				snprintf(where, sizeof(where), " (line %u)", r->line);
			return errorf(-e, "rule '%s'%s: target unreachable: %s", r->name, where,
				      strerror(e));
		}
	}
	return 0;
}
