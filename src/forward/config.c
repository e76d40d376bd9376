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

static int parse_endpoint(const char *s, bool listen, struct sockaddr_storage *ss,
			  socklen_t *len)
{
	char host[128];
	const char *port;
	uint16_t p;

	memset(ss, 0, sizeof(*ss));
	if (listen && is_number(s)) {
		host[0] = '\0';
		port = s;
	} else if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			return errorf(-EINVAL, "invalid address '%s': expected [IPV6]:PORT", s);
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return errorf(-EINVAL, "invalid address '%s': expected ADDR:PORT", s);
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	if (parse_port(port, &p))
		return -EINVAL;
	if (!listen && !p)
		return errorf(-EINVAL, "invalid target '%s': port 0", s);
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (!host[0] || strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		if (host[0] && inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return errorf(-EINVAL, "invalid address '%s'", s);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return errorf(-EINVAL, "invalid address '%s' (numeric addresses only)", s);
		*len = sizeof(*s4);
	}
	return 0;
}

void fwd_rule_name(struct fwd_rule *r)
{
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
	const struct sockaddr_storage *l = &r->listen, *t = &r->target;
	const uint8_t *la = l->ss_family == AF_INET6
		? ((const struct sockaddr_in6 *)l)->sin6_addr.s6_addr
		: (const uint8_t *)&((const struct sockaddr_in *)l)->sin_addr;
	const uint8_t *ta = t->ss_family == AF_INET6
		? ((const struct sockaddr_in6 *)t)->sin6_addr.s6_addr
		: (const uint8_t *)&((const struct sockaddr_in *)t)->sin_addr;
	unsigned lp = ntohs(((const struct sockaddr_in *)l)->sin_port);
	unsigned tp = ntohs(((const struct sockaddr_in *)t)->sin_port);

	snprintf(r->name, sizeof(r->name), "%s/%s -> %s", endpoint_format(l->ss_family, la, lp, a),
		 r->proto == FWD_TCP ? "tcp" : "udp", endpoint_format(t->ss_family, ta, tp, b));
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
	if (parse_endpoint(listen, true, &r->listen, &r->listen_len) ||
	    parse_endpoint(target, false, &r->target, &r->target_len))
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
	if (parse_endpoint(tok[0], true, &r->listen, &r->listen_len) ||
	    parse_endpoint(tok[2], false, &r->target, &r->target_len))
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

static bool in_cidr(const struct cidr *c, const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return cidr_match(c, AF_INET, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	return cidr_match(c, AF_INET6, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
}

bool fwd_acl_permits(const struct fwd_rule *r, const struct sockaddr_storage *sa)
{
	bool any_allow = false;

	for (size_t i = 0; i < r->nacl; i++) {
		if (in_cidr(&r->acl[i].cidr, sa))
			return r->acl[i].allow;
		any_allow |= r->acl[i].allow;
	}
	return !any_allow;
}

bool fwd_same_listener(const struct fwd_rule *a, const struct fwd_rule *b)
{
	return a->proto == b->proto && a->listen_len == b->listen_len &&
	       !memcmp(&a->listen, &b->listen, a->listen_len);
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
		int fd = socket(r->target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int e = 0;

		if (fd < 0)
			return errorf(-errno, "rule '%s': %s", r->name, strerror(errno));
		if (connect(fd, (const struct sockaddr *)&r->target, r->target_len))
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
