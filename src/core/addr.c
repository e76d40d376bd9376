#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "core/banned.h"

bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int parse_number(const char *s, unsigned long long min, unsigned long long max,
		 const char *what, unsigned long long *out)
{
	unsigned long long v = 0;
	bool over = false;

	if (!is_number(s))
		return errorf(-EINVAL, "invalid %s '%s': not a number", what, s);
	for (const char *p = s; *p && !over; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > max / 10 || v * 10 > max - (d > max ? max : d))
			over = true;
		else
			v = v * 10 + d;
	}
	if (over || v < min || v > max)
		return errorf(-ERANGE, "invalid %s '%s': must be %llu-%llu", what, s,
			      min, max);
	*out = v;
	return 0;
}

int parse_port(const char *s, uint16_t *port)
{
	unsigned long long v;
	int r = parse_number(s, 0, 65535, "port", &v);

	if (!r)
		*port = (uint16_t)v;
	return r;
}

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

		if (k == PORTSPEC_MAX) {
			e = errorf(-E2BIG, "invalid port list '%.40s...': more than %d items",
				   s, PORTSPEC_MAX);
			break;
		}
		v = xgrow(v, sizeof(*v), k + 1, &cap);
		e = range_parse(p, len, &v[k], true, s);
		if (e)
			break;
		k++;
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

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return ((a[bytes] ^ b[bytes]) & mask) == 0;
	}
	return true;
}

int cidr_parse(const char *s, struct cidr *c)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	char *slash;
	unsigned max;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(tmp))
		return errorf(-EINVAL, "invalid address '%.60s': too long", s);
	snprintf(tmp, sizeof(tmp), "%s", s);
	slash = strchr(tmp, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, tmp, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return errorf(-EINVAL, "invalid address '%s': not an IPv4 or IPv6 address", s);
	}
	c->prefix = (uint8_t)max;
	if (slash) {
		unsigned long long v;

		if (!is_number(slash + 1) || parse_number(slash + 1, 0, max, "prefix", &v))
			return errorf(-EINVAL, "invalid CIDR '%s': prefix must be 0-%u", s, max);
		c->prefix = (uint8_t)v;
	}
	/* clear host bits so that equal networks compare equal */
	for (unsigned i = c->prefix; i < max; i++)
		c->addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	return 0;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool cidr_match(const struct cidr *c, unsigned family, const uint8_t *addr)
{
	if (c->family == family)
		return prefix_match(addr, c->addr, c->prefix);
	if (c->family == AF_INET && family == AF_INET6 && !memcmp(addr, v4mapped, 12))
		return prefix_match(addr + 12, c->addr, c->prefix);
	return false;
}

static char *put_uint(char *p, unsigned v)
{
	char tmp[12];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* IPv4 by hand: inet_ntop's generic path is a measurable cost at 100,000 rows. */
static char *put_ipv4(char *p, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		p = put_uint(p, a[i]);
		if (i < 3)
			*p++ = '.';
	}
	return p;
}

const char *addr_format(unsigned family, const uint8_t *addr, char *buf)
{
	if (family == AF_INET)
		*put_ipv4(buf, addr) = '\0';
	else if (!inet_ntop((int)family, addr, buf, ADDR_STRLEN))
		snprintf(buf, ADDR_STRLEN, "?");
	return buf;
}

const char *endpoint_format(unsigned family, const uint8_t *addr, unsigned port, char *buf)
{
	char *p = buf;

	if (family == AF_INET) {
		p = put_ipv4(p, addr);
	} else {
		*p++ = '[';
		addr_format(family, addr, p);
		p += strlen(p);
		*p++ = ']';
	}
	*p++ = ':';
	*put_uint(p, port) = '\0';
	return buf;
}

char *utoa(unsigned long long v, char *buf)
{
	char tmp[24];
	size_t n = 0;
	char *p = buf;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	*p = '\0';
	return buf;
}

bool addr_is_any(unsigned family, const uint8_t *addr)
{
	static const uint8_t zero[16];

	return !memcmp(addr, zero, family == AF_INET ? 4 : 16);
}

bool addr_is_loopback(unsigned family, const uint8_t *addr)
{
	static const uint8_t one6[16] = { [15] = 1 };

	if (family == AF_INET)
		return addr[0] == 127;
	if (!memcmp(addr, v4mapped, 12))
		return addr[12] == 127;
	return !memcmp(addr, one6, 16);
}
