#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

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

int parse_size(const char *s, unsigned long long min, unsigned long long max,
	       const char *what, unsigned long long *out)
{
	static const char units[] = "kKmMgG";
	size_t n = strlen(s);
	const char *u = n ? memchr(units, s[n - 1], sizeof(units) - 1) : NULL;
	unsigned shift = u ? 10 * (unsigned)((u - units) / 2 + 1) : 0;
	char digits[32];
	unsigned long long v;

	n -= u != NULL;
	if (!n || n >= sizeof(digits))
		goto bad;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (!is_number(digits))
		goto bad;
	if (parse_number(digits, 0, max >> shift, what, &v) || (v << shift) < min)
		return errorf(-ERANGE, "invalid %s '%s': must be %llu-%llu bytes", what, s, min, max);
	*out = v << shift;
	return 0;
bad:
	return errorf(-EINVAL, "invalid %s '%s': a number of bytes, or one with K, M or G", what, s);
}

int parse_port(const char *s, uint16_t *port)
{
	unsigned long long v;
	int r = parse_number(s, 0, 65535, "port", &v);

	if (!r)
		*port = (uint16_t)v;
	return r;
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

int addr_zone_split(const char *s, char *out, size_t size, unsigned *ifindex)
{
	const char *pct = strchr(s, '%');
	char zone[IF_NAMESIZE];
	size_t zlen, head;

	*ifindex = 0;
	if (strlen(s) >= size)
		return errorf(-EINVAL, "invalid address '%.60s': too long", s);
	if (!pct) {
		snprintf(out, size, "%s", s);
		return 0;
	}
	head = (size_t)(pct - s);
	zlen = strcspn(pct + 1, "/]");
	if (!zlen)
		return errorf(-EINVAL, "invalid address '%s': an empty zone after '%%'", s);
	if (zlen >= sizeof(zone))
		return errorf(-EINVAL, "invalid address '%s': zone is not an interface name", s);
	memcpy(zone, pct + 1, zlen);
	zone[zlen] = '\0';
	if (is_number(zone)) {
		unsigned long long v;

		if (parse_number(zone, 1, 0x7fffffff, "zone", &v))
			return errorf(-EINVAL, "invalid address '%s': zone index out of range", s);
		if (!if_indextoname((unsigned)v, zone))
			return errorf(-ENODEV, "invalid address '%s': no interface %llu here", s, v);
		*ifindex = (unsigned)v;
	} else if (!(*ifindex = if_nametoindex(zone))) {
		return errorf(-ENODEV, "invalid address '%s': no interface '%s' here", s, zone);
	}
	snprintf(out, size, "%.*s%s", (int)head, s, pct + 1 + zlen);
	return 0;
}

int addr_zone_check(const char *s, unsigned family, unsigned ifindex)
{
	if (ifindex && family != AF_INET6)
		return errorf(-EINVAL, "invalid address '%s': a zone (%%IFACE) goes with an IPv6 "
			      "address", s);
	return 0;
}

int cidr_parse_zone(const char *s, struct cidr *c, unsigned *ifindex)
{
	char tmp[INET6_ADDRSTRLEN + 8 + IF_NAMESIZE + 1];
	int r = addr_zone_split(s, tmp, sizeof(tmp), ifindex);

	if (r)
		return r;
	if ((r = cidr_parse(tmp, c)))
		return *ifindex ? errorf(r, "invalid address '%s': not an IPv6 address with a zone",
					 s) : r;
	return addr_zone_check(s, c->family, *ifindex);
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Does an IPv6 address need a zone to say where it is? (RFC 4007) */
static bool zoned(const uint8_t *a)
{
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;				/* link-local unicast */
	return a[0] == 0xff && ((a[1] & 0x0f) == 1 || (a[1] & 0x0f) == 2);
}

int addr_parse(const char *s, unsigned *family, uint8_t *addr, uint32_t *scope)
{
	char host[ADDR_STRLEN + IF_NAMESIZE + 1];
	unsigned ifindex;
	int r;

	*scope = 0;
	memset(addr, 0, 16);
	if ((r = addr_zone_split(s, host, sizeof(host), &ifindex)))
		return r;
	if (inet_pton(AF_INET, host, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		*family = AF_INET6;
	else
		return errorf(-EINVAL, "invalid address '%.60s': not an IPv4 or IPv6 address", s);
	if (ifindex && (*family == AF_INET || !zoned(addr)))
		return errorf(-EINVAL, "invalid address '%.60s': a zone (%%IFACE) is for link-local "
			      "addresses (fe80::/10) only", s);
	*scope = ifindex;
	return 0;
}

const char *addr_zone_str(uint32_t scope, char *buf)
{
	char name[IF_NAMESIZE];

	if (!scope)
		buf[0] = '\0';
	else if (if_indextoname(scope, name))
		snprintf(buf, ADDR_ZONE_STRLEN, "%%%s", name);
	else
		snprintf(buf, ADDR_ZONE_STRLEN, "%%%u", scope);
	return buf;
}

bool cidr_match(const struct cidr *c, unsigned family, const uint8_t *addr)
{
	if (c->family == family)
		return prefix_match(addr, c->addr, c->prefix);
	if (c->family == AF_INET && family == AF_INET6 && !memcmp(addr, v4mapped, 12))
		return prefix_match(addr + 12, c->addr, c->prefix);
	return false;
}

char *utoa_at(char *p, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* IPv4 by hand: inet_ntop's generic path is a measurable cost at 100,000 rows. */
static char *put_octet(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		*p++ = (char)('0' + v / 10);
	} else if (v >= 10) {
		*p++ = (char)('0' + v / 10);
	}
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *put_ipv4(char *p, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		p = put_octet(p, a[i]);
		if (i < 3)
			*p++ = '.';
	}
	return p;
}

/*
 * IPv6 as glibc's inet_ntop writes it (RFC 5952: the first longest run of two
 * or more zero groups as "::", lower-case hex; IPv4-mapped and IPv4-compatible
 * forms with a dotted quad) -- by hand, as its sprintf per group costs more
 * than the rest of a flow record.
 */
static char *put_ipv6(char *p, const uint8_t *a)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, blen = 0;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (int i = 0; i < 8; ) {
		int j = i;

		while (j < 8 && !w[j])
			j++;
		if (j - i > blen && j - i >= 2)
			best = i, blen = j - i;
		i = j > i ? j : i + 1;
	}
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + blen) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && best == 0 &&
		    (blen == 6 || (blen == 7 && w[7] != 1) || (blen == 5 && w[5] == 0xffff)))
			return put_ipv4(p, a + 12);
		for (int shift = 12, lead = 1; shift >= 0; shift -= 4) {
			unsigned d = w[i] >> shift & 15;

			if (d || !lead || !shift) {
				*p++ = hex[d];
				lead = 0;
			}
		}
	}
	if (best >= 0 && best + blen == 8)
		*p++ = ':';
	return p;
}

const char *addr_format(unsigned family, const uint8_t *addr, char *buf)
{
	if (family == AF_INET)
		*put_ipv4(buf, addr) = '\0';
	else if (family == AF_INET6)
		*put_ipv6(buf, addr) = '\0';
	else
		snprintf(buf, ADDR_STRLEN, "?");
	return buf;
}

const char *endpoint_format(unsigned family, const uint8_t *addr, unsigned port, char *buf)
{
	char *p = buf;

	if (family == AF_INET) {
		p = put_ipv4(p, addr);
	} else if (family == AF_INET6) {
		*p++ = '[';
		p = put_ipv6(p, addr);
		*p++ = ']';
	} else {
		*p++ = '?';
	}
	*p++ = ':';
	*utoa_at(p, port) = '\0';
	return buf;
}

char *utoa(unsigned long long v, char *buf)
{
	*utoa_at(buf, v) = '\0';
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

bool addr_is_v4mapped(unsigned family, const uint8_t *addr)
{
	return family == AF_INET6 && !memcmp(addr, v4mapped, 12);
}

void endpoint_set(struct endpoint *e, unsigned family, const void *addr, unsigned port)
{
	memset(e, 0, sizeof(*e));
	e->family = (uint8_t)family;
	e->port = (uint16_t)port;
	if (addr)
		memcpy(e->addr, addr, family == AF_INET ? 4 : 16);
}

const char *endpoint_str(const struct endpoint *e, char *buf)
{
	char a[ADDR_STRLEN], z[ADDR_ZONE_STRLEN];

	if (e->family != AF_INET6 || !e->scope)
		return endpoint_format(e->family, e->addr, e->port, buf);
	snprintf(buf, ENDPOINT_STRLEN, "[%s%s]:%u", addr_format(e->family, e->addr, a),
		 addr_zone_str(e->scope, z), e->port);
	return buf;
}

socklen_t endpoint_to_sockaddr(const struct endpoint *e, struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (e->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(e->port);
		memcpy(&s4->sin_addr, e->addr, 4);
		return sizeof(*s4);
	}
	{
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(e->port);
		memcpy(&s6->sin6_addr, e->addr, 16);
		s6->sin6_scope_id = e->scope;
		return sizeof(*s6);
	}
}

int endpoint_from_sockaddr(struct endpoint *e, const void *sa)
{
	const struct sockaddr *g = sa;

	memset(e, 0, sizeof(*e));
	if (g->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = sa;

		endpoint_set(e, AF_INET, &s4->sin_addr, ntohs(s4->sin_port));
		return 0;
	}
	if (g->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = sa;

		endpoint_set(e, AF_INET6, &s6->sin6_addr, ntohs(s6->sin6_port));
		e->scope = s6->sin6_scope_id;
		return 0;
	}
	return -EAFNOSUPPORT;
}

bool endpoint_unmap(struct endpoint *e)
{
	if (!addr_is_v4mapped(e->family, e->addr))
		return false;
	memmove(e->addr, e->addr + 12, 4);
	memset(e->addr + 4, 0, 12);
	e->family = AF_INET;
	return true;
}

bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family && a->port == b->port && a->scope == b->scope &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}
