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

#include "serve/serve.h"
#include "core/banned.h"

enum { T_A = 1, T_TXT = 16, T_AAAA = 28, C_IN = 1, C_CH = 3 };
enum { NOERROR = 0, FORMERR = 1, NXDOMAIN = 3, NOTIMP = 4 };

/* The question's name as text ("server1.lab"), its end in q */
static size_t qname(const uint8_t *q, size_t n, size_t at, char *name, size_t nmax)
{
	size_t k = 0;

	for (;;) {
		size_t len;

		if (at >= n)
			return 0;
		len = q[at++];
		if (!len)
			break;
		if (len > 63 || at + len > n || k + len + 2 > nmax)
			return 0;	/* a pointer (0xc0) or too long */
		if (k)
			name[k++] = '.';
		memcpy(name + k, q + at, len);
		k += len;
		at += len;
	}
	name[k] = '\0';
	return at;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

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
	size_t end, k, ans = 0;
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
	if (q[4] || q[5] != 1 || !(end = qname(q, n, 12, name, sizeof(name))) || end + 4 > n) {
		out[3] = FORMERR;
		return 12;
	}
	qtype = (unsigned)q[end] << 8 | q[end + 1];
	qclass = (unsigned)q[end + 2] << 8 | q[end + 3];
	end += 4;
	if (end - 12 > outmax - 12)
		return 0;
	memcpy(out + 12, q + 12, end - 12);		/* the question */
	out[5] = 1;
	k = end;
	if (qclass == C_CH && qtype == T_TXT && same_name(name, "version.bind")) {
		static const char txt[] = "portkit " PORTKIT_VERSION;

		put16(out + k, 0xc00c);
		put16(out + k + 2, T_TXT);
		put16(out + k + 4, C_CH);
		memset(out + k + 6, 0, 4);		/* TTL 0 */
		put16(out + k + 10, sizeof(txt));
		out[k + 12] = sizeof(txt) - 1;
		memcpy(out + k + 13, txt, sizeof(txt) - 1);
		k += 12 + sizeof(txt);
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
		if (qtype != (v4 ? T_A : T_AAAA) || k + 12 + alen > outmax)
			continue;
		put16(out + k, 0xc00c);
		put16(out + k + 2, v4 ? T_A : T_AAAA);
		put16(out + k + 4, C_IN);
		put16(out + k + 6, 0);
		put16(out + k + 8, 60);			/* TTL 60 s */
		put16(out + k + 10, (unsigned)alen);
		memcpy(out + k + 12, r->addr.addr, alen);
		k += 12 + alen;
		ans++;
	}
	if (!known)
		rcode = NXDOMAIN;
	out[3] = (uint8_t)rcode;
	put16(out + 6, (unsigned)ans);
	return k;
}
