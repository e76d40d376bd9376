/*
 * udp.c - what to send to a UDP port so that a service answers: a probe
 * per well-known service, built by us from the protocols' specifications.
 * Every probe goes to every port scanned, so services on other ports than
 * their own answer too; silence shows as open|filtered, never as open.
 * WireGuard answers nothing to anyone without a key: silent by design.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/vocab/svdb.h"
#include "core/wire/wire.h"
#include "scan/scan.h"
#include "core/base/banned.h"

/* DNS: id 0x706b, one question: version.bind CH TXT - any server answers
 * (a refusal is an answer), and dnsmasq and BIND say their version */
static const uint8_t dns[] = { 0x70, 0x6b, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
			       7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0,
			       0, 16, 0, 3 };
/* NTP v4 client request (mode 3) */
static const uint8_t ntp[48] = { 0x23 };
/* SNMPv1 get-request, community "public", sysDescr.0 */
static const uint8_t snmp[] = {
	0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c', 0xa0, 0x19,
	0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06,
	0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
};
/* NetBIOS name service: node status request for "*" */
static const uint8_t nbns[] = {
	0x70, 0x6b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 'C', 'K',
	'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A',
	'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 0x00, 0x00, 0x21, 0x00, 0x01,
};
static const char ssdp[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
			   "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
/* memcached binary-safe text command over UDP: frame header + "stats\r\n" */
static const uint8_t memcached[] = { 0, 1, 0, 0, 0, 1, 0, 0, 's', 't', 'a', 't', 's', '\r', '\n' };
static const char sip[] = "OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=z9hG4bK-pk\r\n"
			  "From: <sip:nm@nm>;tag=pk\r\nTo: <sip:nm2@nm2>\r\nCall-ID: pk@nm\r\n"
			  "CSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
/* IKEv1 main mode header with an empty SA: enough for a notify back */
static const uint8_t ike[] = {
	0x70, 0x6b, 0x70, 0x6b, 0x70, 0x6b, 0x70, 0x6b, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x10,
	0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x1c,
};
/* OpenVPN P_CONTROL_HARD_RESET_CLIENT_V2 */
static const uint8_t openvpn[] = { 0x38, 0x70, 0x6b, 0x70, 0x6b, 0x70, 0x6b, 0x70, 0x6b, 0x00,
				   0x00, 0x00, 0x00, 0x00 };
/* mDNS: one question "_services._dns-sd._udp.local" PTR */
static const uint8_t mdns[] = {
	0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, '_', 's', 'e', 'r', 'v', 'i', 'c', 'e', 's', 7,
	'_', 'd', 'n', 's', '-', 's', 'd', 4, '_', 'u', 'd', 'p', 5, 'l', 'o', 'c', 'a', 'l', 0,
	0, 12, 0, 1,
};

static const struct {
	uint16_t port;
	const uint8_t *data;
	size_t len;
} probes[] = {
	{ 53, dns, sizeof(dns) }, { 5353, mdns, sizeof(mdns) }, { 123, ntp, sizeof(ntp) },
	{ 161, snmp, sizeof(snmp) }, { 137, nbns, sizeof(nbns) },
	{ 1900, (const uint8_t *)ssdp, sizeof(ssdp) - 1 },
	{ 11211, memcached, sizeof(memcached) }, { 5060, (const uint8_t *)sip, sizeof(sip) - 1 },
	{ 500, ike, sizeof(ike) }, { 4500, ike, sizeof(ike) }, { 1194, openvpn, sizeof(openvpn) },
};

size_t udp_probe_count(void)
{
	return sizeof(probes) / sizeof(probes[0]) + 1;
}

const uint8_t *udp_probe(size_t i, size_t *len)
{
	static const uint8_t empty[1];

	if (i >= sizeof(probes) / sizeof(probes[0])) {
		*len = 0;	/* last, an empty datagram: some echo anything */
		return empty;
	}
	*len = probes[i].len;
	return probes[i].data;
}


/* ---- what answered: a service (and a version) from a UDP reply ---- */

static void text(char *out, size_t size, const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < size; i++)
		out[k++] = p[i] >= 32 && p[i] < 127 ? (char)p[i] : '.';
	out[k] = '\0';
}

/* The length of s up to a character of stop, at most max. */
static int span(const char *s, const char *stop, int max)
{
	size_t n = strcspn(s, stop);

	return n < (size_t)max ? (int)n : max;
}

/* The version.bind TXT answer: core's reader, shared with --sv over TCP */
static void dns_version(const uint8_t *b, size_t n, struct result *r)
{
	struct sv_name nm = { 0 };

	if (!sv_dns_version(b, n, &nm))
		return;
	snprintf(r->product, sizeof(r->product), "%s", nm.product);
	snprintf(r->version, sizeof(r->version), "%s", nm.version);
}

/* SNMP GetResponse: the sysDescr value after its OID. */
static void snmp_descr(const uint8_t *b, size_t n, struct result *r)
{
	static const uint8_t oid[] = { 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00 };

	for (size_t i = 0; i + sizeof(oid) + 2 <= n; i++) {
		size_t v = i + sizeof(oid);

		if (memcmp(b + i, oid, sizeof(oid)) || b[v] != 0x04 || (b[v + 1] & 0x80))
			continue;
		text(r->banner, sizeof(r->banner), b + v + 2,
		     v + 2 + b[v + 1] <= n ? b[v + 1] : n - v - 2);
		return;
	}
}

/* "Server: X/1.2" or "User-Agent: X/1.2" in a text reply. */
static void header_product(const char *t, const char *name, struct result *r)
{
	const char *h = strstr(t, name);
	size_t len;

	if (!h)
		return;
	h += strlen(name);
	len = strcspn(h, "\r\n");
	snprintf(r->product, sizeof(r->product), "%.*s", (int)len, h);
}

bool udp_identify(const uint8_t *b, size_t n, struct result *r)
{
	char t[512];

	text(t, sizeof(t), b, n);
	if (n >= 48 && (b[0] & 7) == 4 && ((b[0] >> 3) & 7) >= 1) {
		snprintf(r->svc, sizeof(r->svc), "ntp");
		snprintf(r->version, sizeof(r->version), "v%u", (b[0] >> 3) & 7);
	} else if (n >= 12 && get_be16(b) == 0x706b && (b[2] & 0x80) && get_be16(b + 6) &&
		   n > 56 && b[56] == 0x21) {
		snprintf(r->svc, sizeof(r->svc), "netbios-ns");
	} else if (n >= 12 && get_be16(b) == 0x706b && (b[2] & 0x80)) {
		snprintf(r->svc, sizeof(r->svc), "domain");
		dns_version(b, n, r);
	} else if (n >= 12 && get_be16(b) == 0 && (b[2] & 0x80)) {
		snprintf(r->svc, sizeof(r->svc), "mdns");
	} else if (n > 2 && b[0] == 0x30 && memmem(b, n, "public", 6)) {
		snprintf(r->svc, sizeof(r->svc), "snmp");
		snmp_descr(b, n, r);
	} else if (n >= 13 && !memcmp(b + 8, "STAT ", 5)) {
		const char *v = strstr(t, "STAT version ");

		snprintf(r->svc, sizeof(r->svc), "memcached");
		snprintf(r->product, sizeof(r->product), "memcached");
		if (v)
			snprintf(r->version, sizeof(r->version), "%.*s", span(v + 13, "\r\n\t ", 31),
				 v + 13);
	} else if (!strncmp(t, "SIP/2.0 ", 8)) {
		snprintf(r->svc, sizeof(r->svc), "sip");
		header_product(t, "Server: ", r);
		if (!r->product[0])
			header_product(t, "User-Agent: ", r);
	} else if (!strncmp(t, "HTTP/1.1 200 OK", 15) && strstr(t, "ST:")) {
		snprintf(r->svc, sizeof(r->svc), "ssdp");
		header_product(t, "SERVER: ", r);
	} else if (n >= 28 && !memcmp(b, "\x70\x6b\x70\x6b\x70\x6b\x70\x6b", 8)) {
		snprintf(r->svc, sizeof(r->svc), "isakmp");
	} else if (n >= 14 && (b[0] >> 3) == 8) {
		snprintf(r->svc, sizeof(r->svc), "openvpn");
	} else {
		return false;
	}
	return true;
}
