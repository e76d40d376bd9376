/*
 * binary.c - the responders of binary protocols: SSH (identification and
 * KEXINIT, RFC 4253), RDP (X.224 Connection Confirm and the security
 * layer it negotiates, MS-RDPBCGR; TLS itself is tls.c's), MySQL
 * (protocol 10 handshake); SMB has smb.c. Each reads by the protocol's
 * length fields and only appends to c->out.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "serve/wire.h"
#include "core/base/banned.h"

/* ---- ssh ---- */

enum { SSH_IDENT, SSH_KEX, SSH_DONE };

void ssh_greet(struct conn *c)
{
	conn_putf(c, "SSH-2.0-portkit_%s\r\n", PORTKIT_VERSION);
}

/* One SSH binary packet (RFC 4253 6) with no MAC: length, padding, payload */
static void ssh_packet(struct conn *c, const uint8_t *payload, size_t n)
{
	uint8_t hdr[5], pad[16] = { 0 };
	size_t padn = 8 - ((n + 5) % 8);

	if (padn < 4)
		padn += 8;
	put_be32(hdr, (uint32_t)(n + padn + 1));
	hdr[4] = (uint8_t)padn;
	conn_put(c, hdr, 5);
	conn_put(c, payload, n);
	conn_put(c, pad, padn);
}

static size_t namelist(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	put_be32(p, (uint32_t)n);
	memcpy(p + 4, s, n);
	return 4 + n;
}

static void ssh_kexinit(struct conn *c)
{
	static const char *const lists[10] = {
		"curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
		"ssh-ed25519,rsa-sha2-256",
		"aes128-ctr,aes256-ctr", "aes128-ctr,aes256-ctr",
		"hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "",
	};
	uint8_t p[512];
	size_t k = 0;

	p[k++] = 20;	/* SSH_MSG_KEXINIT */
	for (int i = 0; i < 16; i++)
		p[k++] = (uint8_t)(0x5a ^ (i * 37));	/* the cookie: not secret, nothing follows */
	for (int i = 0; i < 10; i++)
		k += namelist(p + k, lists[i]);
	p[k++] = 0;	/* first_kex_packet_follows */
	put_be32(p + k, 0);
	k += 4;
	ssh_packet(c, p, k);
}

size_t ssh_input(struct conn *c, const uint8_t *d, size_t n)
{
	size_t len, k;

	if (c->state == SSH_IDENT) {
		if (!(k = line_of(d, n, &len))) {
			if (n >= 255)	/* RFC 4253: the identification is at most 255 bytes */
				c->closing = true;
			return n >= 255 ? n : 0;
		}
		if (len < 4 || memcmp(d, "SSH-", 4)) {
			conn_putf(c, "Invalid SSH identification string.\r\n");
			c->closing = true;
			return n;
		}
		c->state = SSH_KEX;
		ssh_kexinit(c);
		return k;
	}
	if (c->state == SSH_KEX && n >= 6) {
		/* whatever the client sends now would need a real key exchange */
		static const char why[] = "portkit serve offers no key exchange: it only answers "
					  "so the service can be recognised";
		uint8_t p[256];
		size_t m = 0;

		p[m++] = 1;	/* SSH_MSG_DISCONNECT */
		put_be32(p + m, 3);	/* SSH_DISCONNECT_KEY_EXCHANGE_FAILED */
		m += 4;
		m += namelist(p + m, why);
		m += namelist(p + m, "en");
		ssh_packet(c, p, m);
		c->state = SSH_DONE;
		c->closing = true;
	}
	return c->state == SSH_DONE ? n : 0;
}

/* ---- rdp (X.224 over TPKT, MS-RDPBCGR 2.2.1.1, 2.2.1.2, 5.4.5.1) ---- */

/* The offer is xrdp's default one: TLS, and standard RDP security for a
 * client that asks for nothing else. After TLS the client's first PDU (MCS
 * Connect Initial) ends the connection, with close_notify; a client on
 * standard RDP security is closed after the Connection Confirm: its next
 * step would need the server's RSA key exchange. */
enum { RDP_CR, RDP_TLS };	/* c->state: waiting for the request, in TLS */

enum {
	PROTOCOL_RDP = 0, PROTOCOL_SSL = 1,
	SSL_REQUIRED_BY_SERVER = 1, SSL_CERT_NOT_ON_SERVER = 3,
};

int rdp_select(uint32_t requested)
{
	if (requested & PROTOCOL_SSL)
		return PROTOCOL_SSL;
	if (!requested)
		return PROTOCOL_RDP;
	/* CredSSP, CredSSP with early user authorization, RDSTLS, Azure AD
	 * only: "if only CredSSP was requested then the server only supports
	 * TLS" (2.2.1.2.2) says what this server does */
	return -SSL_REQUIRED_BY_SERVER;
}

/* Where the RDP Negotiation Request starts in a Connection Request (after
 * the optional cookie or routing token line), or 0 when there is none. */
static size_t rdp_neg_req(const uint8_t *d, size_t len)
{
	size_t at = 11;		/* TPKT 4, X.224 CR 7 */

	if (at < len && d[at] != 1) {	/* a "Cookie: ..." line ends with CR LF */
		const uint8_t *nl = memchr(d + at, '\n', len - at);

		if (!nl)
			return 0;
		at = (size_t)(nl - d) + 1;
	}
	return at + 8 <= len && d[at] == 1 ? at : 0;
}

/* The Connection Confirm to a Connection Request of len bytes */
static void rdp_confirm(struct conn *c, const uint8_t *d, size_t len)
{
	/* TPKT, X.224 CC (source reference 0x1234), RDP_NEG_RSP or _FAILURE */
	uint8_t cc[19] = { 3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0 };
	size_t at = rdp_neg_req(d, len);
	int sel;

	if (!at) {	/* a client that did not negotiate: standard RDP security */
		cc[3] = 11;
		cc[4] = 6;
		conn_put(c, cc, 11);
		return;
	}
	sel = rdp_select(get_le32(d + at + 4));
	if (sel == PROTOCOL_SSL && !(c->tls = serve_tls_new(c->o && c->o->hostname ?
							    c->o->hostname : "portkit")))
		sel = -SSL_CERT_NOT_ON_SERVER;
	if (sel < 0)
		cc[11] = 3;	/* TYPE_RDP_NEG_FAILURE, then close (3.3.5.3.2) */
	put_le32(cc + 15, (uint32_t)(sel < 0 ? -sel : sel));
	conn_put(c, cc, sizeof(cc));
	if (sel == PROTOCOL_SSL)
		c->state = RDP_TLS;
}

size_t rdp_input(struct conn *c, const uint8_t *d, size_t n)
{
	size_t len;

	if (c->state == RDP_TLS) {
		switch (serve_tls_input(c->tls, c, d, n)) {
		case TLS_DATA:
			serve_tls_close(c->tls, c);
			/* fall through */
		case TLS_FAIL:
			c->closing = true;
		}
		return n;
	}
	if (n < 4)
		return 0;
	len = get_be16(d + 2);
	if (d[0] != 3 || len < 11) {
		c->closing = true;
		return n;
	}
	if (n < len)
		return 0;
	if ((d[5] & 0xf0) != 0xe0) {	/* not a Connection Request */
		c->closing = true;
		return n;
	}
	rdp_confirm(c, d, len);
	if (c->state != RDP_TLS) {
		c->closing = true;
		return n;
	}
	return len + (n > len ? rdp_input(c, d + len, n - len) : 0);
}

void rdp_end(struct conn *c)
{
	serve_tls_free(c->tls);
	c->tls = NULL;
}

/* ---- mysql (client/server protocol 10) ---- */

/* A MySQL 8.0 version first, as a server's own suffix (Debian's
 * "-0+deb12u1", "-log") follows it: clients and nmap read the leading
 * number as the server's generation (nmap takes a 0 first for Sphinx
 * Search), and portkit's own after. */
#define MYSQL_VERSION "8.0.36-portkit-" PORTKIT_VERSION

void mysql_greet(struct conn *c)
{
	static const char ver[] = MYSQL_VERSION;
	uint8_t p[128];
	size_t k = 4;

	p[k++] = 10;
	memcpy(p + k, ver, sizeof(ver));		/* with its NUL */
	k += sizeof(ver);
	put_be32(p + k, 0x01000000);			/* connection id 1 (little-endian) */
	k += 4;
	memcpy(p + k, "pkscramb", 8);			/* auth-plugin-data part 1 */
	k += 8;
	p[k++] = 0;
	put_le16(p + k, 0xf7ff);				/* capabilities, lower */
	k += 2;
	p[k++] = 45;					/* utf8mb4 */
	put_le16(p + k, 2);				/* SERVER_STATUS_AUTOCOMMIT */
	k += 2;
	put_le16(p + k, 0x81ff);				/* capabilities, upper */
	k += 2;
	p[k++] = 21;					/* auth-plugin-data length */
	memset(p + k, 0, 10);
	k += 10;
	memcpy(p + k, "le-portkit-x", 12);		/* part 2: 12 bytes and a NUL */
	k += 12;
	p[k++] = 0;
	memcpy(p + k, "mysql_native_password", 22);
	k += 22;
	p[0] = (uint8_t)(k - 4);
	p[1] = p[2] = 0;
	p[3] = 0;					/* sequence */
	conn_put(c, p, k);
}

size_t mysql_input(struct conn *c, const uint8_t *d, size_t n)
{
	static const char msg[] = "Access denied: portkit serve accepts no logins";
	uint8_t p[128];
	size_t len, k = 4;

	if (n < 4)
		return 0;
	len = (size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16;
	if (len > IN_MAX - 8) {
		c->closing = true;
		return n;
	}
	if (n < 4 + len)
		return 0;
	p[k++] = 0xff;
	put_le16(p + k, 1045);
	k += 2;
	memcpy(p + k, "#28000", 6);
	k += 6;
	memcpy(p + k, msg, sizeof(msg) - 1);
	k += sizeof(msg) - 1;
	p[0] = (uint8_t)(k - 4);
	p[1] = p[2] = 0;
	p[3] = (uint8_t)(d[3] + 1);
	conn_put(c, p, k);
	c->closing = true;
	return n;
}

