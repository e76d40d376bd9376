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
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "forward/forward.h"
#include "core/base/banned.h"

#define MAX_CONFIG (1u << 20)

static int parse_endpoint(const char *s, bool listen, struct endpoint *e)
{
	if (endpoint_parse(s, listen ? EP_BARE_PORT | EP_PORT_ZERO : EP_PORT_ZERO, e))
		return -EINVAL;
	/* port 0 would mean a different random port for every worker */
	if (!e->port)
		return errorf(-EINVAL, "invalid %s '%s': port 0", listen ? "listen address" : "target",
			      s);
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

/* Is an address this host's own? Binding to it says so, nothing is sent. */
static bool local_address(const struct endpoint *a)
{
	struct endpoint e = *a;
	struct sockaddr_storage sa;
	socklen_t len;
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool mine;

	if (fd < 0)
		return false;
	e.port = 0;
	len = endpoint_to_sockaddr(&e, &sa);
	mine = !bind(fd, (const struct sockaddr *)&sa, len);
	close(fd);
	return mine;
}

/* A target that is the listener itself would feed every byte back in. */
static bool forwards_to_itself(const struct fwd_rule *r)
{
	struct endpoint l = r->listen, t = r->target;

	if (l.port != t.port)
		return false;
	endpoint_unmap(&l);
	endpoint_unmap(&t);
	if (addr_is_any(l.family, l.addr))	/* [::] takes both families, 0.0.0.0 IPv4 */
		return (l.family == AF_INET6 || t.family == AF_INET) && local_address(&t);
	return l.family == t.family && !memcmp(l.addr, t.addr, l.family == AF_INET ? 4 : 16);
}

int fwd_rule_quick(const char *listen, const char *target, bool udp, struct fwd_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->proto = udp ? FWD_UDP : FWD_TCP;
	defaults(r);
	if (parse_endpoint(listen, true, &r->listen) || parse_endpoint(target, false, &r->target))
		return -EINVAL;
	if (forwards_to_itself(r))
		return errorf(-ELOOP, "the target is this rule's own listener");
	fwd_rule_name(r);
	return 0;
}

int fwd_rule_acl(struct fwd_rule *r, bool allow, const char *cidrs)
{
	const char *what = allow ? "allow" : "deny";

	if (!*cidrs)
		return errorf(-EINVAL, "empty %s list: name at least one CIDR (0.0.0.0/0 and ::/0 "
				       "for everyone)", what);
	/* every item whole, or an error: a list is never cut short */
	for (const char *t = cidrs;; t++) {
		size_t n = strcspn(t, ",");
		char item[INET6_ADDRSTRLEN + 8];

		if (!n)
			return errorf(-EINVAL, "empty entry in the %s list '%s'", what, cidrs);
		if (n >= sizeof(item))
			return errorf(-EINVAL, "invalid CIDR '%.*s' in the %s list: too long",
				      (int)(n > 60 ? 60 : n), t, what);
		if (r->nacl == MAX_ACL)
			return errorf(-E2BIG, "too many allow/deny entries (at most %d a rule)", MAX_ACL);
		memcpy(item, t, n);
		item[n] = '\0';
		if (cidr_parse(item, &r->acl[r->nacl].cidr))
			return -EINVAL;
		r->acl[r->nacl++].allow = allow;
		t += n;
		if (!*t)
			return 0;
	}
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

/* The next blank-separated token of *s, NUL-terminated in place; NULL at the end. */
static char *token(char **s)
{
	char *t = *s + strspn(*s, " \t\r");
	size_t n = strcspn(t, " \t\r");

	if (!*t)
		return NULL;
	*s = t + n + (t[n] != '\0');
	t[n] = '\0';
	return t;
}

static int parse_line(char *line, unsigned no, struct fwd_rule *r)
{
	char *tok[3], *t;

	for (size_t i = 0; i < 3; i++)
		if (!(tok[i] = token(&line)))
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
	/* every option on the line, however many */
	while ((t = token(&line)))
		if (option(r, t))
			return -EINVAL;
	if (r->proxy && r->proto == FWD_UDP)
		return errorf(-EINVAL, "the PROXY protocol is for tcp rules");
	if (forwards_to_itself(r))
		return errorf(-ELOOP, "the target is this rule's own listener");
	fwd_rule_name(r);
	return 0;
}

int fwd_config_parse(const char *path, const char *text, struct fwd_config *c)
{
	size_t cap = 0;
	unsigned no = 0;

	memset(c, 0, sizeof(*c));
	while (*text) {
		size_t len = strcspn(text, "\n");
		char *line = xstrndup(text, len);	/* a line of any length, whole */
		int bad;

		no++;
		text += len + (text[len] == '\n');
		line[strcspn(line, "#")] = '\0';
		if (!line[strspn(line, " \t\r")]) {
			free(line);
			continue;
		}
		c->rules = xgrow(c->rules, sizeof(*c->rules), c->n + 1, &cap);
		bad = parse_line(line, no, &c->rules[c->n]);
		free(line);
		if (bad) {
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
	char *text = NULL;
	struct stat st;
	int r;

	/* a regular file only: the rules are read again at every SIGHUP, which
	 * a pipe or a device cannot give (text_load() says what else is wrong) */
	if (!stat(path, &st) && !S_ISREG(st.st_mode))
		return errorf(-EINVAL, "config '%s' is %s, not a file", path,
			      S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a pipe"
			      : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
	if ((r = text_load(path, MAX_CONFIG, "config", &text)))
		return r;
	r = fwd_config_parse(path, text, c);
	free(text);
	return r;
}

bool fwd_acl_permits(const struct fwd_rule *r, const struct endpoint *client)
{
	bool any_allow = false;

	for (size_t i = 0; i < r->nacl; i++) {
		const struct cidr *c = &r->acl[i].cidr;
		bool hit = cidr_match(c, client->family, client->addr);

		if (!hit && c->family == AF_INET6 && client->family == AF_INET) {
			/* an IPv6 entry sees an IPv4 client as ::ffff:a.b.c.d, the form a
			 * dual-stack listener would show (as HAProxy matches it) */
			uint8_t m[16] = { [10] = 0xff, [11] = 0xff };

			memcpy(m + 12, client->addr, 4);
			hit = cidr_match(c, AF_INET6, m);
		}
		if (hit)
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

/* Does the rule's listener take clients of this family? [::] and a bare
 * port take both (dual-stack), 0.0.0.0 and an IPv4 address IPv4 only */
static bool takes(const struct fwd_rule *r, unsigned family)
{
	const struct endpoint *l = &r->listen;

	if (family == AF_INET6)
		return l->family == AF_INET6;
	return l->family == AF_INET || addr_is_any(l->family, l->addr);
}

/* An IPv4 "everyone" (x.x.x.x/0) with no IPv6 one (::/0) beside it */
static const struct acl_entry *v4_everyone_only(const struct fwd_rule *r)
{
	const struct acl_entry *v4 = NULL;

	for (size_t i = 0; i < r->nacl; i++) {
		if (r->acl[i].cidr.prefix)
			continue;
		if (r->acl[i].cidr.family == AF_INET6)
			return NULL;
		v4 = v4 ? v4 : &r->acl[i];
	}
	return v4;
}

void fwd_config_warn(const struct fwd_config *c, bool kernel,
		     void (*say)(void *arg, const char *msg), void *arg)
{
	char msg[400];

	for (size_t i = 0; i < c->n; i++) {
		const struct fwd_rule *r = &c->rules[i];
		const struct acl_entry *e = v4_everyone_only(r);
		unsigned other = r->target.family == AF_INET ? AF_INET6 : AF_INET;

		/* deny=0.0.0.0/0 reads as "everyone" and is not (HAProxy's
		 * 'src 0.0.0.0/0' does not match an IPv6 client either) */
		if (e && takes(r, AF_INET6)) {
			snprintf(msg, sizeof(msg), "rule '%s': %s=0.0.0.0/0 matches IPv4 clients only; "
				 "add ::/0 to %s IPv6 clients too", r->name,
				 e->allow ? "allow" : "deny", e->allow ? "allow" : "deny");
			say(arg, msg);
		}
		/* the kernel translates within a family: no NAT from IPv6 to IPv4 */
		if (kernel && takes(r, r->target.family) && takes(r, other)) {
			const char *t = other == AF_INET6 ? "IPv4" : "IPv6";

			snprintf(msg, sizeof(msg), "rule '%s': --kernel forwards only its %s clients (no "
				 "NAT from %s to an %s target)", r->name, t,
				 other == AF_INET6 ? "IPv6" : "IPv4", t);
			say(arg, msg);
		}
	}
}

int fwd_config_kernel_families(const struct fwd_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct fwd_rule *r = &c->rules[i];

		if (!takes(r, r->target.family))
			return errorf(-EAFNOSUPPORT, "rule '%s': --kernel cannot forward %s clients to an "
				      "%s target (no NAT between families); forward it in user space",
				      r->name, r->target.family == AF_INET ? "IPv6" : "IPv4",
				      r->target.family == AF_INET ? "IPv4" : "IPv6");
	}
	return 0;
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
