/*
 * dns.c - the DNS responder's one function: a query in, an answer out
 * (RFC 1035 4.1). Authoritative for the names it was given (--dns NAME=ADDR,
 * the lab's hosts): A and AAAA, and PTR for their addresses (in-addr.arpa,
 * ip6.arpa); version.bind CH TXT says what it is, as BIND and dnsmasq do.
 *
 * Its zones are the parents of those names ("lab" for server1.lab, the root
 * for a bare "server1", 0.18.198.in-addr.arpa for 198.18.0.10); a name's
 * zone is the longest of them it is in, the root when none. A negative
 * answer carries that zone's SOA in the authority section (RFC 2308 2.1,
 * 2.2), so a resolver knows for how long (its MINIMUM, 60 s): NXDOMAIN for
 * a name that is not there, NODATA (NOERROR, no answer) for a name that is
 * but not with that type. A zone's apex answers SOA. NOTIMP for other
 * opcodes, FORMERR for a query that is not one question. Queries are read
 * with bounds on every byte; names in queries use no compression (a
 * pointer is FORMERR); names in answers point back into the question.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/wire/wire.h"
#include "serve/serve.h"
#include "core/base/banned.h"

enum { T_A = 1, T_SOA = 6, T_PTR = 12, T_TXT = 16, T_AAAA = 28, C_IN = 1, C_CH = 3 };
enum { NOERROR = 0, FORMERR = 1, NXDOMAIN = 3, NOTIMP = 4 };
enum { TTL = 60 };	/* every record's, and the SOA MINIMUM: the negative TTL */

/* A name's length without its trailing dot ("lab." and "lab" are one name) */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);

	return n && s[n - 1] == '.' ? n - 1 : n;
}

static bool same_name(const char *a, const char *b)
{
	size_t la = name_len(a), lb = name_len(b);

	return la == lb && !strncasecmp(a, b, la);
}

/* Is name (nl bytes) the zone (zl bytes; 0 is the root) or under it? */
static bool within(const char *name, size_t nl, const char *zone, size_t zl)
{
	if (!zl)
		return true;
	if (nl < zl || strncasecmp(name + nl - zl, zone, zl))
		return false;
	return nl == zl || name[nl - zl - 1] == '.';
}

/* The reverse name of an address (RFC 1035 3.5, RFC 3596 2.5) */
static void reverse_name(const struct endpoint *a, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;

	out[0] = '\0';
	if (a->family == AF_INET) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", a->addr[3], a->addr[2], a->addr[1],
			 a->addr[0]);
		return;
	}
	for (int i = 15; i >= 0 && k + 4 < size; i--) {
		out[k++] = hex[a->addr[i] & 15];
		out[k++] = '.';
		out[k++] = hex[a->addr[i] >> 4];
		out[k++] = '.';
	}
	snprintf(out + k, size - k, "ip6.arpa");
}

/* The zone name is in: the longest parent of a record's name (forward or
 * reverse) that holds it, "" (the root) when none does. Sets *exists when
 * name is a record's or an apex. */
static void zone_of(const struct serve_opts *o, const char *name, char *zone, size_t size,
		    bool *exists)
{
	size_t nl = name_len(name), best = 0;

	zone[0] = '\0';
	*exists = !nl;
	for (size_t i = 0; o && i < o->ndns; i++)
		for (int rev = 0; rev < 2; rev++) {
			char rn[80];
			const char *r = o->dns[i].name, *p;
			size_t pl;

			if (rev) {
				reverse_name(&o->dns[i].addr, rn, sizeof(rn));
				r = rn;
			}
			p = strchr(r, '.');
			p = p ? p + 1 : r + strlen(r);
			pl = name_len(p);
			if (same_name(name, r) || (pl == nl && within(name, nl, p, pl)))
				*exists = true;
			if (pl > best && pl < size && within(name, nl, p, pl)) {
				best = pl;
				snprintf(zone, size, "%.*s", (int)pl, p);
			}
		}
}

/* A dotted name's labels (empty ones skipped), without the end */
static void put_labels(struct wr *w, const char *s)
{
	while (*s) {
		size_t len = strcspn(s, ".");

		if (len && len <= 63) {
			wr_u8(w, (uint8_t)len);
			wr_bytes(w, s, len);
		}
		s += len + (s[len] == '.');
	}
}

/* Where zone starts in the question's name (a compression pointer to
 * it), or 0 for the root or when it is not there */
static uint16_t zone_ptr(const uint8_t *m, size_t qend, const char *zone)
{
	char at[256];

	if (!*zone)
		return 0;
	for (size_t off = 12; off < qend && m[off]; off += 1 + m[off])
		if (dns_name_read(m, qend, off, at, sizeof(at), DNS_NAME_NO_PTR) && same_name(at, zone))
			return (uint16_t)(0xc000 | off);
	return 0;
}

/* A name: a pointer to the zone where there is one, else in full */
static void put_in_zone(struct wr *w, uint16_t ptr, const char *zone)
{
	if (ptr) {
		wr_be16(w, ptr);
	} else {
		put_labels(w, zone);
		wr_u8(w, 0);
	}
}

/* The server's own name for MNAME: a record's that is --hostname with a
 * domain ("server1.lab" for server1), else NULL */
static const char *own_name(const struct serve_opts *o, const char *host)
{
	size_t hl = strlen(host);

	for (size_t i = 0; o && i < o->ndns; i++)
		if (!strncasecmp(o->dns[i].name, host, hl) && o->dns[i].name[hl] == '.' &&
		    o->dns[i].name[hl + 1])
			return o->dns[i].name;
	return NULL;
}

/* The zone's SOA record: the server as MNAME (its own record's name, else
 * --hostname in the zone), hostmaster@zone, the negative TTL as MINIMUM */
static void put_soa(struct wr *w, const struct serve_opts *o, const uint8_t *m, size_t qend,
		    const char *zone)
{
	const char *host = o && o->hostname ? o->hostname : "portkit", *own = own_name(o, host);
	uint16_t ptr = zone_ptr(m, qend, zone);
	size_t rdlen_at;

	put_in_zone(w, ptr, zone);
	wr_be16(w, T_SOA);
	wr_be16(w, C_IN);
	wr_be32(w, TTL);
	rdlen_at = w->len;
	wr_be16(w, 0);
	put_labels(w, own ? own : host);
	if (own || strchr(host, '.'))
		wr_u8(w, 0);
	else
		put_in_zone(w, ptr, zone);
	put_labels(w, "hostmaster");
	put_in_zone(w, ptr, zone);
	wr_be32(w, 1);		/* SERIAL: the zone never changes while serve runs */
	wr_be32(w, 3600);	/* REFRESH */
	wr_be32(w, 600);	/* RETRY */
	wr_be32(w, 86400);	/* EXPIRE */
	wr_be32(w, TTL);	/* MINIMUM */
	if (!w->full)
		put_be16(w->p + rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
}

/* The record just written did not fit: it goes, and the answer says it
 * is cut short (TC). Returns whether it fit. */
static bool fits(struct wr *w, size_t at)
{
	if (!w->full)
		return true;
	w->len = at;
	w->full = false;
	w->p[2] |= 0x02;
	return false;
}

/* The IN answers to name: A, AAAA, PTR of the records, the apex's SOA;
 * returns how many */
static unsigned in_answers(const struct serve_opts *o, const char *name, unsigned qtype,
			   const char *zone, struct wr *w, size_t qend)
{
	unsigned ans = 0;

	for (size_t i = 0; o && i < o->ndns; i++) {
		const struct dns_record *r = &o->dns[i];
		bool v4 = r->addr.family == AF_INET;
		size_t alen = v4 ? 4 : 16, at = w->len;
		char rn[80];

		reverse_name(&r->addr, rn, sizeof(rn));
		if (qtype == (v4 ? T_A : T_AAAA) && same_name(name, r->name)) {
			wr_be16(w, 0xc00c);		/* the question's name */
			wr_be16(w, v4 ? T_A : T_AAAA);
			wr_be16(w, C_IN);
			wr_be32(w, TTL);
			wr_be16(w, (uint16_t)alen);
			wr_bytes(w, r->addr.addr, alen);
			ans += fits(w, at);
		} else if (qtype == T_PTR && same_name(name, rn)) {
			wr_be16(w, 0xc00c);
			wr_be16(w, T_PTR);
			wr_be16(w, C_IN);
			wr_be32(w, TTL);
			wr_be16(w, 0);
			put_labels(w, r->name);
			wr_u8(w, 0);
			if (fits(w, at)) {
				put_be16(w->p + at + 10, (uint16_t)(w->len - at - 12));
				ans++;
			}
		}
	}
	if (qtype == T_SOA && same_name(name, zone)) {
		size_t at = w->len;

		put_soa(w, o, w->p, qend, zone);
		ans += fits(w, at);
	}
	return ans;
}

size_t dns_answer(const struct serve_opts *o, const uint8_t *q, size_t n, uint8_t *out,
		  size_t outmax)
{
	char name[256], zone[256];
	size_t end;
	struct wr w;
	unsigned qtype, qclass, opcode, ans = 0;
	bool exists = false;

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
		put_be16(out + 6, 1);
		return w.len;
	}
	if (qclass != C_IN) {
		out[3] = NXDOMAIN;	/* no zone in another class */
		return w.len;
	}
	zone_of(o, name, zone, sizeof(zone), &exists);
	ans = in_answers(o, name, qtype, zone, &w, end);
	put_be16(out + 6, (uint16_t)ans);
	if (!exists)
		out[3] = NXDOMAIN;
	if (!ans) {	/* NXDOMAIN or NODATA: the SOA says for how long (RFC 2308 3) */
		size_t at = w.len;

		put_soa(&w, o, out, end, zone);
		if (fits(&w, at))
			put_be16(out + 8, 1);	/* NSCOUNT */
	}
	return w.len;
}
