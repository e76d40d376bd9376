#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/vocab/ephemeral.h"
#include "core/base/log.h"
#include "core/vocab/port.h"
#include "core/base/banned.h"

const char *port_service(uint16_t port, unsigned proto)
{
	return registry_service(port, proto);
}

const char *port_display(uint16_t port, unsigned proto)
{
	const struct curated *c = curated_at(port, proto);

	return c ? c->name : registry_service(port, proto);
}

void port_info(uint16_t port, unsigned proto, struct port_info *pi)
{
	const struct ephemeral *e = ephemeral_here();

	pi->service = registry_service(port, proto);
	pi->curated = curated_at(port, proto);
	pi->common = pi->curated ? pi->curated->name : NULL;
	pi->category = port_category(port);
	pi->ephemeral_here = e->known && ephemeral_contains(e, port) &&
			     !ephemeral_reserved(e, port);
}

unsigned proto_from_ip(unsigned ipproto)
{
	switch (ipproto) {
	case IPPROTO_TCP: return PROTO_TCP;
	case IPPROTO_UDP: return PROTO_UDP;
	case IPPROTO_SCTP: return PROTO_SCTP;
	case IPPROTO_DCCP: return PROTO_DCCP;
	default: return 0;
	}
}

unsigned proto_to_ip(unsigned proto)
{
	switch (proto) {
	case PROTO_TCP: return IPPROTO_TCP;
	case PROTO_UDP: return IPPROTO_UDP;
	case PROTO_SCTP: return IPPROTO_SCTP;
	case PROTO_DCCP: return IPPROTO_DCCP;
	default: return 0;
	}
}

static bool client_side(const struct ephemeral *e, unsigned port)
{
	return port >= 49152 || ephemeral_contains(e, port);
}

bool port_client_side(unsigned port)
{
	return client_side(ephemeral_here(), port);
}

static int by_hints(unsigned proto, const struct side_hints *h)
{
	if (!h)
		return 0;
	if (h->a_listens == HINT_YES)
		return 'a';
	if (h->b_listens == HINT_YES)
		return 'b';
	if (proto == PROTO_TCP && (h->tcp_flags & 0x02))	/* SYN */
		return h->tcp_flags & 0x10 ? 'a' : 'b';		/* +ACK: a answered */
	if (proto == PROTO_TCP && h->a_listens == HINT_NO)
		return 'b';
	if (proto == PROTO_TCP && h->b_listens == HINT_NO)
		return 'a';
	return 0;
}

char port_server_side(unsigned proto, unsigned a, unsigned b, const struct side_hints *h)
{
	return port_server_side_in(ephemeral_here(), proto, a, b, h);
}

char port_server_side_in(const struct ephemeral *e, unsigned proto, unsigned a, unsigned b,
			 const struct side_hints *h)
{
	int side = by_hints(proto, h);
	bool ca, cb, ra, rb;

	if (side)
		return (char)side;
	if ((a < 1024) != (b < 1024))
		return a < 1024 ? 'a' : 'b';
	ca = client_side(e, a);
	cb = client_side(e, b);
	if (ca != cb)
		return ca ? 'b' : 'a';
	ra = registry_service((uint16_t)a, proto) != NULL;
	rb = registry_service((uint16_t)b, proto) != NULL;
	if (ra != rb)
		return ra ? 'a' : 'b';
	return a <= b ? 'a' : 'b';
}

bool port_likely_server(unsigned proto, unsigned port)
{
	const struct curated *c = port <= 0xffff ? curated_at((uint16_t)port, proto) : NULL;

	return c && !strstr(c->name, "client");
}

size_t port_ranges_by_name(const char *name, unsigned protos, struct port_range *out,
			   size_t max)
{
	const struct reg_entry *e[32];
	const struct curated *c[16];
	size_t ne = registry_by_name(name, e, 32), nc = curated_by_alias(name, c, 16), n = 0;

	/* the curated entry first: "rdp" means 3389 before anything else */
	for (size_t i = 0; i < nc && i < 16 && n < max; i++)
		if (c[i]->protos & protos)
			out[n++] = (struct port_range){ c[i]->lo, c[i]->hi };
	for (size_t i = 0; i < ne && i < 32 && n < max; i++) {
		bool dup = false;

		if (!(e[i]->flags & REG_HAS_PORT) || !(e[i]->proto & protos))
			continue;
		for (size_t k = 0; k < n && !dup; k++)
			dup = out[k].lo == e[i]->lo && out[k].hi == e[i]->hi;
		if (!dup)
			out[n++] = (struct port_range){ e[i]->lo, e[i]->hi };
	}
	return n;
}

int port_parse_name(const char *s, unsigned protos, uint16_t *port)
{
	struct port_range r;

	if (is_number(s) || !*s)
		return parse_port(s, port);
	if (!port_ranges_by_name(s, protos, &r, 1))
		return errorf(-EINVAL, "invalid port '%.60s': not a number or a known service name", s);
	*port = r.lo;
	return 0;
}
