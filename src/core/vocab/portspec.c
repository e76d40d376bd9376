/*
 * portspec.c - option values that name ports, where a port may be a
 * service name: port lists ("22,80-83,rdp") and endpoints ("host:ssh").
 * Declared in core/addr.h with the rest of the address vocabulary; kept
 * apart from addr.c, which knows nothing of names, so that addr.c and
 * port.c do not include each other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/vocab/port.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

static int port_or(const char *s, size_t n, uint16_t dflt, uint16_t *out, const char *whole)
{
	char tmp[16];
	unsigned long long v;

	if (!n) {
		*out = dflt;
		return 0;
	}
	if (n >= sizeof(tmp))
		return errorf(-ERANGE, "invalid port '%.*s': must be 0-65535", (int)n, s);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!is_number(tmp))
		return errorf(-EINVAL, "invalid port '%s' in '%s': not a number", tmp, whole);
	if (parse_number(tmp, 0, 65535, "port", &v))
		return -ERANGE;
	*out = (uint16_t)v;
	return 0;
}

static int range_parse(const char *s, size_t len, struct port_range *r,
		       bool open_ends, const char *whole)
{
	const char *dash = memchr(s, '-', len);
	int e;

	if (!len)
		return errorf(-EINVAL, "invalid port list '%s': empty item", whole);
	if (!dash) {
		e = port_or(s, len, 0, &r->lo, whole);
		r->hi = r->lo;
		return e;
	}
	if (!open_ends && (dash == s || dash == s + len - 1))
		return errorf(-EINVAL, "invalid port range '%s': expected A-B", whole);
	if ((e = port_or(s, (size_t)(dash - s), 0, &r->lo, whole)) ||
	    (e = port_or(dash + 1, len - (size_t)(dash - s) - 1, 65535, &r->hi, whole)))
		return e;
	if (memchr(dash + 1, '-', len - (size_t)(dash - s) - 1))
		return errorf(-EINVAL, "invalid port range '%s': expected A-B", whole);
	if (r->lo > r->hi)
		return errorf(-EINVAL, "invalid port range '%s': %u is above %u", whole,
			      r->lo, r->hi);
	return 0;
}

int parse_port_range(const char *s, struct port_range *r)
{
	return range_parse(s, strlen(s), r, false, s);
}

/* A service name in a port list: every port registered for it. */
static int name_ranges(const char *p, size_t len, const char *whole, struct port_range **v,
		       size_t *k, size_t *cap)
{
	char name[64];
	struct port_range r[16];
	size_t n;

	if (len >= sizeof(name))
		return errorf(-EINVAL, "invalid port list '%.60s': unknown service name", whole);
	snprintf(name, sizeof(name), "%.*s", (int)len, p);
	n = port_ranges_by_name(name, PROTO_TCP | PROTO_UDP, r, 16);
	if (!n)
		return errorf(-EINVAL, "invalid port '%s' in '%.60s': not a number or a known "
			      "service name", name, whole);
	*v = xgrow(*v, sizeof(**v), *k + n, cap);
	memcpy(*v + *k, r, n * sizeof(*r));
	*k += n;
	return 0;
}

int portspec_parse(const char *s, struct port_range **out, size_t *n)
{
	struct port_range *v = NULL;
	size_t cap = 0, k = 0;
	const char *p = s;
	int e = 0;

	if (!*s)
		return errorf(-EINVAL, "invalid port list '': empty");
	for (;;) {
		size_t len = strcspn(p, ",");

		if (k >= PORTSPEC_MAX) {
			e = errorf(-E2BIG, "invalid port list '%.40s...': more than %d items",
				   s, PORTSPEC_MAX);
			break;
		}
		if (len && strspn(p, "0123456789-") < len) {
			e = name_ranges(p, len, s, &v, &k, &cap);
		} else {
			v = xgrow(v, sizeof(*v), k + 1, &cap);
			e = range_parse(p, len, &v[k], true, s);
			k += !e;
		}
		if (e)
			break;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (e) {
		free(v);
		return e;
	}
	*out = v;
	*n = k;
	return 0;
}

static int endpoint_split(const char *s, unsigned flags, char *host, size_t size,
			  const char **port)
{
	if ((flags & EP_BARE_PORT) && !strchr(s, ':')) {
		host[0] = '\0';
		*port = s;
		return 0;
	}
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= size)
			return errorf(-EINVAL, "invalid address '%.60s': expected [IPV6]:PORT", s);
		snprintf(host, size, "%.*s", (int)(end - s - 1), s + 1);
		*port = end + 2;
		return 0;
	}
	{
		const char *colon = strrchr(s, ':');

		if (!colon || (size_t)(colon - s) >= size || memchr(s, ':', (size_t)(colon - s)))
			return errorf(-EINVAL, "invalid address '%.60s': expected ADDR:PORT "
				      "or [IPV6]:PORT", s);
		snprintf(host, size, "%.*s", (int)(colon - s), s);
		*port = colon + 1;
	}
	return 0;
}

int endpoint_parse(const char *s, unsigned flags, struct endpoint *e)
{
	char host[INET6_ADDRSTRLEN + 8 + 16];	/* and a zone: "%" and an interface */
	unsigned family;
	const char *port = "";
	uint16_t p = 0;
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = endpoint_split(s, flags, host, sizeof(host), &port)))
		return r;
	if ((r = port_parse_name(port, PROTO_TCP | PROTO_UDP, &p)))
		return r;
	if (!p && !(flags & EP_PORT_ZERO))
		return errorf(-EINVAL, "invalid address '%.60s': port 0", s);
	e->port = p;
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (!host[0]) {
		e->family = AF_INET6;	/* [::]: both families */
	} else if (!addr_parse(host, &family, e->addr, &e->scope)) {
		e->family = (uint8_t)family;
	} else if (!strchr(host, '%')) {
		return errorf(-EINVAL, "invalid address '%.60s' (numeric addresses only)", s);
	} else {
		return -EINVAL;		/* the zone's trouble, as addr_parse said it */
	}
	return 0;
}

