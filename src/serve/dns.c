/*
 * dns.c - the DNS responder's one function: a query in, an answer out
 * (RFC 1035 4.1). Authoritative for the names it was given (--dns NAME=ADDR,
 * the lab's hosts), A and AAAA; version.bind CH TXT says what it is, as
 * BIND and dnsmasq do. Anything else: NXDOMAIN for unknown names, NODATA
 * for a known name's other types, NOTIMP for other opcodes, FORMERR for a
 * query that is not one question. Queries are read with bounds on every
 * byte; names in queries use no compression (a pointer is FORMERR).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/wire/wire.h"
#include "serve/serve.h"
#include "core/base/banned.h"

enum { T_A = 1, T_TXT = 16, T_AAAA = 28, C_IN = 1, C_CH = 3 };
enum { NOERROR = 0, FORMERR = 1, NXDOMAIN = 3, NOTIMP = 4 };

static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && !strncasecmp(a, b, la);
}

size_t dns_answer(const struct serve_opts *o, const uint8_t *q, size_t n, uint8_t *out,
		  size_t outmax)
{
	char name[256];
	size_t end, ans = 0;
	struct wr w;
	unsigned qtype, qclass, opcode, rcode = NOERROR;
	bool known = false;

	if (n < 12 || outmax < 512 || (q[2] & 0x80))
		return 0;	/* not a query: no answer at all */
	opcode = (q[2] >> 3) & 15;
	memcpy(out, q, 2);				/* ID */
	out[2] = (uint8_t)(0x80 | (opcode << 3) | 0x04 | (q[2] & 1));	/* QR AA RD */
	out[3] = 0;
	memset(out + 4, 0, 8);
	if (opcode) {
		out[3] = NOTIMP;
		return 12;
	}
	end = dns_name_read(q, n, 12, name, sizeof(name), DNS_NAME_NO_PTR | DNS_NAME_WHOLE);
	if (q[4] || q[5] != 1 || !end || end + 4 > n) {
		out[3] = FORMERR;
		return 12;
	}
	qtype = get_be16(q + end);
	qclass = get_be16(q + end + 2);
	end += 4;
	if (end - 12 > outmax - 12)
		return 0;
	memcpy(out + 12, q + 12, end - 12);		/* the question */
	out[5] = 1;
	w = wr_at(out, outmax);
	w.len = end;
	if (qclass == C_CH && qtype == T_TXT && same_name(name, "version.bind")) {
		static const char txt[] = "portkit " PORTKIT_VERSION;

		wr_be16(&w, 0xc00c);			/* the question's name */
		wr_be16(&w, T_TXT);
		wr_be16(&w, C_CH);
		wr_be32(&w, 0);				/* TTL 0 */
		wr_be16(&w, sizeof(txt));
		wr_u8(&w, sizeof(txt) - 1);
		wr_bytes(&w, txt, sizeof(txt) - 1);
		ans = 1;
		known = true;
	}
	for (size_t i = 0; o && i < o->ndns && qclass == C_IN; i++) {
		const struct dns_record *r = &o->dns[i];
		bool v4 = r->addr.family == AF_INET;
		size_t alen = v4 ? 4 : 16;

		if (!same_name(name, r->name))
			continue;
		known = true;
		if (qtype != (v4 ? T_A : T_AAAA) || w.len + 12 + alen > outmax)
			continue;
		wr_be16(&w, 0xc00c);
		wr_be16(&w, v4 ? T_A : T_AAAA);
		wr_be16(&w, C_IN);
		wr_be32(&w, 60);			/* TTL 60 s */
		wr_be16(&w, (uint16_t)alen);
		wr_bytes(&w, r->addr.addr, alen);
		ans++;
	}
	if (!known)
		rcode = NXDOMAIN;
	out[3] = (uint8_t)rcode;
	put_be16(out + 6, (uint16_t)ans);
	return w.len;
}
