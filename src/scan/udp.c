/*
 * udp.c - what to send to a UDP port so that a service answers: a probe
 * per well-known service, built by us from the protocols' specifications.
 * Every probe goes to every port scanned, so services on other ports than
 * their own answer too; silence shows as open|filtered, never as open.
 * WireGuard answers nothing to anyone without a key: silent by design.
 */
#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"
#include "core/banned.h"

/* DNS: id 0x706b, recursion desired, one question: "." IN NS */
static const uint8_t dns[] = { 0x70, 0x6b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1 };
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

