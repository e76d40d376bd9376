/*
 * test_serve.c - portkit serve without sockets: request bytes into a
 * responder (as the engine hands them over, in pieces), reply bytes out;
 * the DNS answerer's reading of queries, malformed ones included; and what
 * the command line asks for (specs, --dns, --hosts, --list).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "unit.h"
#include "core/base/log.h"
#include "serve/serve.h"
#include "serve/wire.h"

#define VER "portkit/" PORTKIT_VERSION

/* ---- a connection with no socket ---- */

/* The engine's FTP data channel: c->data only marks one as open (no
 * responder looks inside it); what would cross it is kept here. */
static char sent[1024];

static uint16_t data_open(struct conn *c)
{
	c->data = (struct ftp_data *)(void *)sent;
	return 40000;
}

static void data_send(struct conn *c, const void *p, size_t n, const char *done)
{
	snprintf(sent, sizeof(sent), "%.*s", (int)n, (const char *)p);
	conn_putf(c, "%s", done);
}

static const struct serve_ops ops = { data_open, data_send };

static struct serve_opts opts = { .hostname = "test" };

static void conn_open(struct conn *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->r = responder_find(name);
	c->o = &opts;
	c->ops = &ops;
	c->local.family = c->peer.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.10", c->local.addr);
	inet_pton(AF_INET, "198.18.0.20", c->peer.addr);
	c->local.port = c->r ? c->r->port : 0;
	c->peer.port = 40001;
	buf_init(&c->in, IN_MAX);
	buf_init(&c->out, OUT_MAX);
	if (c->r && c->r->greet)
		c->r->greet(c);
}

/* n bytes arrive; the responder consumes what makes whole requests */
static void feed(struct conn *c, const void *d, size_t n)
{
	size_t used;

	if (buf_add(&c->in, d, n))
		return;
	used = c->r->input(c, (const uint8_t *)c->in.data, c->in.len);
	if (used > c->in.len)
		abort();
	memmove(c->in.data, c->in.data + used, c->in.len - used);
	c->in.len -= used;
}

static void feeds(struct conn *c, const char *s)
{
	feed(c, s, strlen(s));
}

/* What the responder said since the last call, as a string (borrowed
 * until the next call). */
static const char *said(struct conn *c)
{
	static char text[OUT_MAX + 1];

	memcpy(text, c->out.data ? c->out.data : "", c->out.len);
	text[c->out.len] = '\0';
	buf_reset(&c->out);
	return text;
}

static void conn_done(struct conn *c)
{
	if (c->r && c->r->end)
		c->r->end(c);
	buf_free(&c->in);
	buf_free(&c->out);
}

/* ---- text protocols ---- */

TEST(serve_echo_and_http)
{
	struct conn c;
	const char *page, *body;
	uint8_t out[64];
	size_t outlen = 0;

	conn_open(&c, "echo");
	feeds(&c, "hello\r\n");
	CHECK_STR(said(&c), "hello\r\n");
	c.r->datagram(&c, (const uint8_t *)"ping", 4, out, &outlen, sizeof(out));
	CHECK(outlen == 4 && !memcmp(out, "ping", 4));
	conn_done(&c);

	conn_open(&c, "http");
	feeds(&c, "GET / HTTP/1.1\r\nHost: x\r\n");	/* no blank line yet: wait */
	CHECK_STR(said(&c), "");
	CHECK(!c.closing);
	feeds(&c, "\r\n");
	page = said(&c);
	CHECK(!strncmp(page, "HTTP/1.1 200 OK\r\nDate: ", 23));
	CHECK(strstr(page, "\r\nServer: " VER "\r\n") != NULL);
	CHECK(strstr(page, "You reached port 80 on test") != NULL);
	CHECK(strstr(page, "listens on <b>198.18.0.10:80</b>") != NULL);
	CHECK(strstr(page, "came from <b>198.18.0.20:40001</b>") != NULL);
	body = strstr(page, "\r\n\r\n");
	if (body) {
		char want[64];

		snprintf(want, sizeof(want), "Content-Length: %zu\r\n", strlen(body + 4));
		CHECK(strstr(page, want) != NULL);
	}
	CHECK(c.closing);	/* one request a connection */
	conn_done(&c);

	conn_open(&c, "http");
	feeds(&c, "HEAD / HTTP/1.0\r\n\r\n");
	page = said(&c);
	CHECK(!strncmp(page, "HTTP/1.1 200 OK\r\n", 17));
	body = strstr(page, "\r\n\r\n");
	CHECK(body && !body[4]);	/* headers only */
	conn_done(&c);

	/* not a request line, and not text: 400 at once, then close */
	conn_open(&c, "http");
	feeds(&c, "hello there\r\n");
	CHECK_STR(said(&c), "HTTP/1.1 400 Bad Request\r\nServer: " VER "\r\nContent-Length: 0\r\n"
			    "Connection: close\r\n\r\n");
	CHECK(c.closing);
	conn_done(&c);
	conn_open(&c, "http");
	feed(&c, "\x16\x03\x01\x00", 4);	/* a TLS ClientHello */
	CHECK(!strncmp(said(&c), "HTTP/1.1 400 Bad Request\r\n", 26));
	CHECK(c.closing);
	conn_done(&c);
}

/* One exchange: what the client sends (NULL: nothing, as before a
 * greeting), what the responder must answer to it; a NULL reply ends a
 * script. */
struct turn {
	const char *send, *reply;
};

static void talk(int line, struct conn *c, const struct turn *t)
{
	for (size_t i = 0; t[i].reply; i++) {
		const char *got;

		if (t[i].send)
			feeds(c, t[i].send);
		got = said(c);
		if (strcmp(got, t[i].reply))
			unit_fail(__FILE__, line, "%s turn %zu said \"%s\", expected \"%s\"",
				  c->r->name, i, got, t[i].reply);
	}
}
#define TALK(c, script) talk(__LINE__, c, script)

TEST(serve_ftp_session)
{
	static const struct turn ftp[] = {
		{ NULL, "220 test FTP server (" VER ") ready\r\n" },
		{ "PWD\r\n", "530 Please login with USER and PASS\r\n" },
		{ "US", "" },	/* a line in two pieces */
		{ "ER anonymous\r\n", "331 Please give your e-mail address as the password\r\n" },
		{ "PASS me@example.org\r\nPWD\r\nCWD /\r\nTYPE I\r\n",
		  "230 Login successful\r\n257 \"/\" is the current directory\r\n"
		  "250 Directory successfully changed\r\n200 Switching to Binary mode\r\n" },
		{ "LIST\r\n", "425 Use PASV or EPSV first\r\n" },
		{ "pasv\r\n", "227 Entering Passive Mode (198,18,0,10,156,64)\r\n" },  /* any case */
		{ "EPSV\r\nPORT 1,2,3,4,5,6\r\nRETR nope\r\nNLST\r\n",
		  "229 Entering Extended Passive Mode (|||40000|)\r\n"
		  "502 Active mode is not offered: use PASV or EPSV\r\n550 No such file\r\n"
		  "150 Here comes the directory listing\r\n226 Directory send OK\r\n" },
		{ NULL, NULL },
	};
	struct conn c;
	const char *r;

	conn_open(&c, "ftp");
	TALK(&c, ftp);
	CHECK_STR(sent, "README.txt\r\n");
	feeds(&c, "RETR README.txt\r\n");
	r = said(&c);
	CHECK(strstr(r, "150 Opening BINARY mode data connection for README.txt (") == r);
	CHECK(strstr(r, " bytes)\r\n226 Transfer complete\r\n") != NULL);
	CHECK(strstr(sent, "This is portkit serve's FTP responder") == sent);
	feeds(&c, "QUIT\r\n");
	CHECK_STR(said(&c), "221 Goodbye\r\n");
	CHECK(c.closing);
	conn_done(&c);

	conn_open(&c, "ftp");
	said(&c);
	feed(&c, "USER \x00\x01\r\n", 8);
	CHECK_STR(said(&c), "500 Not a command line: closing\r\n");
	CHECK(c.closing);
	conn_done(&c);
}

TEST(serve_smtp_telnet_redis)
{
	static const struct turn smtp[] = {
		{ NULL, "220 test ESMTP " VER "\r\n" },
		{ "EHLO client\r\nMAIL FROM:<a@b>\r\nDATA\r\n",
		  "250-test\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 HELP\r\n"
		  "250 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n" },
		{ "Subject: x\r\n\r\nQUIT\r\n.\r\nQUIT\r\n",	/* QUIT in the body is text */
		  "250 OK: message accepted and dropped (this is a test server)\r\n221 Bye\r\n" },
		{ NULL, NULL },
	}, telnet[] = {
		{ "secret\r\nroot\r\nx\r\n",
		  "\r\nLogin incorrect\r\nlogin: Password: \r\nLogin incorrect\r\nlogin: " },
		{ "root\r\nx\r\n", "Password: \r\nLogin incorrect\r\n" },	/* three tries */
		{ NULL, NULL },
	}, redis[] = {
		{ "*1\r\n$4\r\nping\r\nECHO hello\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n",
		  "+PONG\r\n$5\r\nhello\r\n$2\r\nhi\r\n" },
		{ "*2\r\n$4\r\nECHO\r\n$5\r\nhel", "" },	/* a bulk string not whole yet */
		{ "lo\r\nFLUSHALL\r\n", "$5\r\nhello\r\n-ERR unknown command 'FLUSHALL' "
		  "(portkit serve knows PING, ECHO, INFO, QUIT)\r\n" },
		{ "*x\r\n", "-ERR Protocol error\r\n" },
		{ NULL, NULL },
	};
	/* the client's option answers (with a NUL inside) before its login */
	static const uint8_t answers[] = { 0xff, 0xfd, 0x01, 0xff, 0xfa, 0x18, 0x00, 'x', 't', 'e',
					   'r', 'm', 0xff, 0xf0, 'r', 'o', 'o', 't', '\r', '\n' };
	struct conn c;

	conn_open(&c, "smtp");
	TALK(&c, smtp);
	CHECK(c.closing);
	conn_done(&c);

	conn_open(&c, "telnet");
	CHECK_STR(said(&c), "\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\r\ntest (portkit serve)\r\n\r\n"
			    "login: ");
	feed(&c, answers, sizeof(answers));
	CHECK_STR(said(&c), "Password: ");
	TALK(&c, telnet);
	CHECK(c.closing);
	conn_done(&c);

	conn_open(&c, "redis");
	TALK(&c, redis);
	CHECK(c.closing);
	conn_done(&c);
}

/* ---- binary protocols ---- */

/* SPNEGO's negTokenInit naming NTLMSSP, as the NEGOTIATE response has it */
static const uint8_t NEG_TOKEN_INIT[] = {
	0x60, 0x1c, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x12, 0x30, 0x10,
	0xa0, 0x0e, 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02,
	0x02, 0x0a,
};


TEST(serve_ssh_rdp_smb_mysql)
{
	/* X.224 Connection Request with a cookie and an RDP Negotiation Request */
	static const uint8_t rdp_neg[] = {
		3, 0, 0, 39, 34, 0xe0, 0, 0, 0, 0, 0,
		'C', 'o', 'o', 'k', 'i', 'e', ':', ' ', 'm', 's', 't', 's', 'h', 'a', 's', 'h',
		'=', 'a', '\r', '\n', 1, 0, 8, 0, 3, 0, 0, 0 };
	static const uint8_t rdp_cc[] = { 3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0,
					  2, 0, 8, 0, 1, 0, 0, 0 };	/* TLS chosen */
	static const uint8_t rdp_plain[] = { 3, 0, 0, 11, 6, 0xe0, 0, 0, 0, 0, 0 };
	uint8_t smb[4 + 64 + 36 + 6];
	struct conn c;
	const uint8_t *o;

	conn_open(&c, "ssh");
	CHECK_STR(said(&c), "SSH-2.0-portkit_" PORTKIT_VERSION "\r\n");
	feeds(&c, "SSH-2.0-OpenSSH_9.2p1\r\n");
	o = (const uint8_t *)c.out.data;
	/* one binary packet: length, padding length, SSH_MSG_KEXINIT */
	CHECK(c.out.len > 6 && o[5] == 20);
	CHECK(c.out.len > 6 && ((size_t)o[0] << 24 | (size_t)o[1] << 16 | (size_t)o[2] << 8 | o[3])
		+ 4 == c.out.len && c.out.len % 8 == 0);
	CHECK(memmem(c.out.data, c.out.len, "curve25519-sha256", 17) != NULL);
	said(&c);
	feed(&c, "\0\0\0\x0c\x0a\x14", 6);	/* the client's KEXINIT: we stop here */
	o = (const uint8_t *)c.out.data;
	CHECK(c.out.len > 9 && o[5] == 1 && o[9] == 3);	/* DISCONNECT, key exchange failed */
	CHECK(c.closing);
	conn_done(&c);
	conn_open(&c, "ssh");
	said(&c);
	feeds(&c, "GET / HTTP/1.0\r\n");
	CHECK_STR(said(&c), "Invalid SSH identification string.\r\n");
	conn_done(&c);

	conn_open(&c, "rdp");
	feed(&c, rdp_neg, 20);	/* a TPKT in pieces */
	CHECK_INT(c.out.len, 0);
	feed(&c, rdp_neg + 20, sizeof(rdp_neg) - 20);
	CHECK(c.out.len == sizeof(rdp_cc) && !memcmp(c.out.data, rdp_cc, sizeof(rdp_cc)));
	CHECK(!c.closing && c.tls);	/* the TLS handshake comes next */
	said(&c);
	feed(&c, "\x16\x03\x01\x00\x05hello", 10);	/* a broken ClientHello: an alert, close */
	o = (const uint8_t *)c.out.data;
	CHECK(c.out.len >= 7 && o[0] == 21 && c.closing);
	conn_done(&c);
	CHECK(c.tls == NULL);
	conn_open(&c, "rdp");
	feed(&c, rdp_plain, sizeof(rdp_plain));
	CHECK(c.out.len == 11 && !memcmp(c.out.data, "\x03\x00\x00\x0b\x06\xd0", 6));
	conn_done(&c);

	/* SMB2 NEGOTIATE offering 2.0.2, 3.1.1 and 2.1: 2.1 is the best both know */
	memset(smb, 0, sizeof(smb));
	smb[3] = 64 + 36 + 6;
	memcpy(smb + 4, "\xfeSMB", 4);
	smb[4 + 24] = 7;			/* MessageId */
	smb[4 + 64 + 2] = 3;			/* DialectCount */
	memcpy(smb + 4 + 64 + 36, "\x02\x02\x11\x03\x10\x02", 6);
	conn_open(&c, "smb");
	feed(&c, smb, sizeof(smb));
	o = (const uint8_t *)c.out.data;
	CHECK_INT(c.out.len, 4 + 64 + 64 + sizeof(NEG_TOKEN_INIT));
	if (c.out.len == 4 + 64 + 64 + sizeof(NEG_TOKEN_INIT)) {
		CHECK(!memcmp(o + 4, "\xfeSMB", 4));
		CHECK_INT(o[4 + 24], 7);		/* MessageId as asked */
		CHECK_INT(o[4 + 64 + 4] | o[4 + 64 + 5] << 8, 0x0210);
		/* the security buffer: SPNEGO offering NTLMSSP */
		CHECK_INT(o[4 + 64 + 56] | o[4 + 64 + 57] << 8, 128);
		CHECK_INT(o[4 + 64 + 58] | o[4 + 64 + 59] << 8, sizeof(NEG_TOKEN_INIT));
		CHECK(!memcmp(o + 4 + 128, NEG_TOKEN_INIT, sizeof(NEG_TOKEN_INIT)));
	}
	CHECK(!c.closing);	/* a session setup comes next */
	conn_done(&c);

	conn_open(&c, "mysql");
	o = (const uint8_t *)c.out.data;
	CHECK(c.out.len > 5 && o[3] == 0 && o[4] == 10);	/* protocol 10 */
	/* a MySQL 8.0 version first: nmap takes a leading 0 for Sphinx Search */
	CHECK(c.out.len > 20 && !memcmp(o + 5, "8.0.36-portkit-" PORTKIT_VERSION "\0",
					 sizeof("8.0.36-portkit-" PORTKIT_VERSION)));
	CHECK_INT(o[0] + 4, c.out.len);
	said(&c);
	feed(&c, "\x05\x00\x00\x01hello", 9);
	o = (const uint8_t *)c.out.data;
	CHECK(c.out.len > 7 && o[3] == 2 && o[4] == 0xff && (o[5] | o[6] << 8) == 1045);
	CHECK(memmem(c.out.data, c.out.len, "#28000Access denied", 19) != NULL);
	CHECK(c.closing);
	conn_done(&c);
}

/* ---- rdp: the negotiation, then TLS ---- */

TEST(serve_rdp_negotiation)
{
	/* a Connection Request with only requestedProtocols (no cookie) */
	uint8_t cr[19] = { 3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0 };
	static const struct { uint32_t asked; int got; } offer[] = {
		{ 0, 0 }, { 1, 1 }, { 3, 1 }, { 0xb, 1 }, { 0x1f, 1 },
		{ 2, -1 }, { 4, -1 }, { 8, -1 }, { 0xa, -1 }, { 0x10, -1 },
	};
	struct conn c;

	/* TLS whenever it is offered, standard RDP security when nothing is,
	 * SSL_REQUIRED_BY_SERVER for CredSSP or RDSTLS alone */
	for (size_t i = 0; i < sizeof(offer) / sizeof(offer[0]); i++)
		if (rdp_select(offer[i].asked) != offer[i].got)
			unit_fail(__FILE__, __LINE__, "requestedProtocols %#x: %d", offer[i].asked,
				  rdp_select(offer[i].asked));
	conn_open(&c, "rdp");
	cr[15] = 2;			/* CredSSP only */
	feed(&c, cr, sizeof(cr));
	CHECK(c.out.len == 19 && !memcmp(c.out.data, "\x03\0\0\x13\x0e\xd0\0\0\x12\x34\0"
					  "\x03\0\x08\0\x01\0\0\0", 19));
	CHECK(c.closing && !c.tls);
	conn_done(&c);
	conn_open(&c, "rdp");
	cr[15] = 0;			/* standard RDP security: confirmed, then closed */
	feed(&c, cr, sizeof(cr));
	CHECK(c.out.len == 19 && ((const uint8_t *)c.out.data)[11] == 2 &&
	      ((const uint8_t *)c.out.data)[15] == 0 && c.closing);
	conn_done(&c);
}

/* Bytes from one side to the other: an OpenSSL client's BIO and the responder */
static void tls_to_server(struct conn *c, BIO *from)
{
	uint8_t b[8192];
	int k;

	while ((k = BIO_read(from, b, sizeof(b))) > 0)
		feed(c, b, (size_t)k);
}

TEST(serve_rdp_tls_handshake)
{
	static const uint8_t cr[19] = { 3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 1 };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *cl = ctx ? SSL_new(ctx) : NULL;
	BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
	struct conn c;
	int r = -1;

	CHECK(cl != NULL);
	if (!cl)
		return;
	SSL_set_bio(cl, in, out);
	SSL_set_connect_state(cl);
	conn_open(&c, "rdp");
	feed(&c, cr, sizeof(cr));
	CHECK(c.out.len == 19 && ((const uint8_t *)c.out.data)[15] == 1);
	said(&c);
	/* the handshake, in as many round trips as it takes */
	for (int i = 0; i < 8 && r != 1; i++) {
		r = SSL_do_handshake(cl);
		tls_to_server(&c, out);
		BIO_write(in, c.out.data ? c.out.data : "", (int)c.out.len);
		said(&c);
	}
	CHECK_INT(r, 1);
	{
		X509 *x = SSL_get_peer_certificate(cl);	/* a reference of our own */
		char cn[64] = "";

		if (x) {
			X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
						  sizeof(cn));
			X509_free(x);
		}
		CHECK_STR(cn, "test");		/* --hostname */
	}
	CHECK(!c.closing);
	/* the client's first PDU (its MCS Connect Initial): close_notify, close */
	CHECK_INT(SSL_write(cl, "\x03\0\0\x08\x02\xf0\x80\x7f", 8), 8);
	tls_to_server(&c, out);
	CHECK(c.closing && c.out.len > 0);
	BIO_write(in, c.out.data ? c.out.data : "", (int)c.out.len);
	{
		char b[16];

		CHECK(SSL_read(cl, b, sizeof(b)) <= 0 &&
		      SSL_get_error(cl, 0) == SSL_ERROR_ZERO_RETURN);
	}
	conn_done(&c);
	SSL_free(cl);
	SSL_CTX_free(ctx);
}

/* ---- smb: SESSION_SETUP, SPNEGO, NTLMSSP ---- */

/* A client's first token: negTokenInit with NTLMSSP NEGOTIATE inside */
static const uint8_t spnego_init[] = {
	0x60, 0x40, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x36,
	0x30, 0x34, 0xa0, 0x0e, 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
	0x01, 0x82, 0x37, 0x02, 0x02, 0x0a, 0xa2, 0x22, 0x04, 0x20, 0x4e, 0x54,
	0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x01, 0x00, 0x00, 0x00, 0x15, 0x82,
	0x08, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* and its second: negTokenResp with an NTLMSSP AUTHENTICATE (64 bytes,
 * all zero after the message type: no user, as anonymous) inside */
static const uint8_t spnego_auth[8 + 64] =
	"\xa1\x46\x30\x44\xa2\x42\x04\x40NTLMSSP\0\x03";

/* An SMB2 request over direct TCP: NetBIOS length, header, body */
static size_t smb2_msg(uint8_t *out, uint16_t cmd, uint8_t mid, const uint8_t *body, size_t n)
{
	memset(out, 0, 4 + 64);
	out[1] = (uint8_t)((64 + n) >> 16);
	out[2] = (uint8_t)((64 + n) >> 8);
	out[3] = (uint8_t)(64 + n);
	memcpy(out + 4, "\xfeSMB\x40", 5);
	out[4 + 12] = (uint8_t)cmd;
	out[4 + 14] = 31;		/* credits asked */
	out[4 + 24] = mid;
	memcpy(out + 4 + 64, body, n);
	return 4 + 64 + n;
}

/* SESSION_SETUP with this security buffer */
static size_t smb2_setup(uint8_t *out, uint8_t mid, const uint8_t *tok, size_t n)
{
	uint8_t b[24 + 128] = { 25 };

	b[12] = 64 + 24;		/* SecurityBufferOffset */
	b[14] = (uint8_t)n;
	memcpy(b + 24, tok, n);
	return smb2_msg(out, 1, mid, b, 24 + n);
}

#define SMB_STATUS(o) ((uint32_t)(o)[4 + 8] | (uint32_t)(o)[4 + 9] << 8 | \
		       (uint32_t)(o)[4 + 10] << 16 | (uint32_t)(o)[4 + 11] << 24)

TEST(serve_smb_logon_refused)
{
	static const uint8_t dialects[36 + 4] = { 36, 0, 2, [36] = 0x02, 0x02, 0x02, 0x03 };
	uint8_t m[512];
	struct conn c;
	const uint8_t *o, *tok;
	size_t n, len = 0;

	conn_open(&c, "smb");
	n = smb2_msg(m, 0, 0, dialects, sizeof(dialects));
	feed(&c, m, n);
	o = (const uint8_t *)c.out.data;
	CHECK(c.out.len > 4 + 64 + 6 && (o[4 + 64 + 4] | o[4 + 64 + 5] << 8) == 0x0302);
	said(&c);
	/* NTLMSSP NEGOTIATE: more processing, a session id, the CHALLENGE */
	n = smb2_setup(m, 1, spnego_init, sizeof(spnego_init));
	feed(&c, m, n - 10);	/* in two pieces */
	CHECK_INT(c.out.len, 0);
	feed(&c, m + n - 10, 10);
	o = (const uint8_t *)c.out.data;
	CHECK(c.out.len > 4 + 64 + 8 + 20);
	if (c.out.len <= 4 + 64 + 8 + 20)
		return;
	CHECK_INT(SMB_STATUS(o), 0xc0000016);
	CHECK_INT(o[4 + 12], 1);			/* SESSION_SETUP */
	CHECK_INT(o[4 + 14], 31);			/* the credits asked */
	CHECK_INT(o[4 + 24], 1);			/* MessageId */
	CHECK(!memcmp(o + 4 + 40, "\x01\0\0\0\0\x10\0\0", 8));	/* SessionId */
	CHECK_INT(o[4 + 64], 9);
	CHECK_INT(o[4 + 64 + 4], 72);			/* SecurityBufferOffset */
	CHECK_INT((size_t)(o[4 + 64 + 6] | o[4 + 64 + 7] << 8), c.out.len - 4 - 72);
	/* negTokenResp: accept-incomplete, NTLMSSP, the challenge as its token */
	CHECK(!memcmp(o + 4 + 72, "\xa1\x81", 2) && !memcmp(o + 4 + 72 + 3, "\x30\x81", 2));
	CHECK(!memcmp(o + 4 + 72 + 6, "\xa0\x03\x0a\x01\x01\xa1\x0c\x06\x0a\x2b", 10));
	tok = smb_security_token(o + 4 + 72, c.out.len - 4 - 72, &len);
	CHECK(tok && len > 56 && !memcmp(tok, "NTLMSSP\0\x02\0\0\0", 12));
	if (tok && len > 56) {
		/* flags: what the client asked that a server grants (not
		 * VERSION), NTLM, a server as the target, its target info */
		CHECK_INT(tok[20] | tok[21] << 8 | tok[22] << 16 | (uint32_t)tok[23] << 24,
			  0x608a8215);
		CHECK(!memcmp(tok + 12, "\x08\0\x08\0\x38\0\0\0", 8));	/* TargetName */
		CHECK(!memcmp(tok + 56, "T\0E\0S\0T\0", 8));		/* --hostname test */
		CHECK(memmem(tok, len, "\x01\0\x08\0T\0E\0S\0T\0\x04\0\x08\0t\0e\0s\0t\0",
			     24) != NULL);	/* NetBIOS and DNS names as AV pairs */
	}
	CHECK(!c.closing);
	said(&c);
	/* NTLMSSP AUTHENTICATE: refused, with the ERROR body */
	n = smb2_setup(m, 2, spnego_auth, sizeof(spnego_auth));
	feed(&c, m, n);
	o = (const uint8_t *)c.out.data;
	CHECK_INT(c.out.len, 4 + 64 + 9);
	CHECK(c.out.len == 4 + 64 + 9 && SMB_STATUS(o) == 0xc000006d && o[4 + 64] == 9);
	said(&c);
	/* a tree connect without a session; a second try, the third ends it */
	n = smb2_msg(m, 3, 3, (const uint8_t *)"\x09\0\0\0\0\0\0\0\0", 9);
	feed(&c, m, n);
	o = (const uint8_t *)c.out.data;
	CHECK(c.out.len == 4 + 64 + 9 && SMB_STATUS(o) == 0xc0000203);
	said(&c);
	n = smb2_setup(m, 4, spnego_init, sizeof(spnego_init));
	feed(&c, m, n);
	CHECK(c.out.len > 12 && SMB_STATUS((const uint8_t *)c.out.data) == 0xc0000016);
	said(&c);
	n = smb2_setup(m, 5, spnego_auth + 8, sizeof(spnego_auth) - 8);	/* bare NTLMSSP */
	feed(&c, m, n);
	CHECK(c.out.len > 12 && SMB_STATUS((const uint8_t *)c.out.data) == 0xc000006d);
	CHECK(!c.closing);
	said(&c);
	n = smb2_setup(m, 6, (const uint8_t *)"junk", 4);
	feed(&c, m, n);
	CHECK(c.out.len > 12 && SMB_STATUS((const uint8_t *)c.out.data) == 0xc000006d);
	CHECK(c.closing);
	conn_done(&c);
}

/* The security buffer's reader on what it must refuse */
TEST(serve_spnego_reading)
{
	static const struct { size_t at; uint8_t to; } bad[] = {
		{ 33, 0x21 }, { 1, 0x80 }, { 12, 0x3f }, { 1, 0x84 }, { 9, 0x03 }, { 30, 0xa3 },
		{ 34, 'X' },
	};
	uint8_t t[sizeof(spnego_init) + 8];
	size_t len = 0;
	const uint8_t *tok = smb_security_token(spnego_init, sizeof(spnego_init), &len);

	CHECK(tok == spnego_init + 34 && len == 32);
	tok = smb_security_token(spnego_auth, sizeof(spnego_auth), &len);
	CHECK(tok == spnego_auth + 8 && len == 64);
	/* cut anywhere: nothing */
	for (size_t n = 0; n < sizeof(spnego_init); n++)
		if (smb_security_token(spnego_init, n, &len))
			unit_fail(__FILE__, __LINE__, "a token cut at %zu was read", n);
	/* one byte changed: a length past the end, an indefinite length, a
	 * high tag number, a length in 4 bytes, another OID, no mechToken (the
	 * MIC's tag instead), not NTLMSSP inside */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(t, spnego_init, sizeof(spnego_init));
		t[bad[i].at] = bad[i].to;
		if (smb_security_token(t, sizeof(spnego_init), &len))
			unit_fail(__FILE__, __LINE__, "byte %zu as %#x was read", bad[i].at, bad[i].to);
	}
	/* the long form, two bytes, is read */
	memcpy(t, "\x60\x82\x00\x40", 4);
	memcpy(t + 4, spnego_init + 2, sizeof(spnego_init) - 2);
	tok = smb_security_token(t, sizeof(spnego_init) + 2, &len);
	CHECK(tok == t + 36 && len == 32);
}

/* ---- dns ---- */

/* A query: id 0x1234, RD, one question of name (dotted) type and class */
static size_t query(uint8_t *q, const char *name, unsigned type, unsigned cls)
{
	size_t k = 12;

	memset(q, 0, 12);
	q[0] = 0x12;
	q[1] = 0x34;
	q[2] = 1;		/* RD */
	q[5] = 1;		/* QDCOUNT */
	while (*name) {
		size_t len = strcspn(name, ".");

		q[k++] = (uint8_t)len;
		memcpy(q + k, name, len);
		k += len;
		name += len + (name[len] == '.');
	}
	q[k++] = 0;
	q[k++] = (uint8_t)(type >> 8);
	q[k++] = (uint8_t)type;
	q[k++] = (uint8_t)(cls >> 8);
	q[k++] = (uint8_t)cls;
	return k;
}

static struct serve_opts dns_opts(void)
{
	struct serve_opts o = { .ndns = 0 };

	CHECK_INT(serve_dns_add(&o, "server1.lab.=198.18.0.10"), 0);
	CHECK_INT(serve_dns_add(&o, "server1.lab=2001:db8::10"), 0);
	CHECK_INT(serve_dns_add(&o, "v4only.lab=198.18.0.11"), 0);
	return o;
}

#define RCODE(a) ((a)[3] & 15)
#define ANCOUNT(a) ((a)[6] << 8 | (a)[7])
#define NSCOUNT(a) ((a)[8] << 8 | (a)[9])

/* The SOA of "lab" after a question for NAME.lab with NAME 6 bytes long:
 * owner, MNAME's zone and RNAME's point at "lab" in the question (19) */
static const char SOA_LAB[] =
	"\xc0\x13\x00\x06\x00\x01\x00\x00\x00\x3c\x00\x2b"
	"\x07portkit\xc0\x13\x0ahostmaster\xc0\x13"
	"\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x02\x58\x00\x01\x51\x80\x00\x00\x00\x3c";

TEST(serve_dns_answers)
{
	struct serve_opts o = dns_opts();
	uint8_t q[512], a[600];
	size_t n, m;

	n = query(q, "SERVER1.lab", 1, 1);	/* A, any case */
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK_INT(m, n + 16);
	CHECK(a[0] == 0x12 && a[1] == 0x34 && a[2] == 0x85);	/* QR AA RD */
	CHECK_INT(RCODE(a), 0);
	CHECK_INT(ANCOUNT(a), 1);
	CHECK(!memcmp(a + 12, q + 12, n - 12));		/* the question, as asked */
	CHECK(!memcmp(a + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x12\x00\x0a",
		      16));
	n = query(q, "server1.lab", 28, 1);	/* AAAA */
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK_INT(m, n + 28);
	CHECK_INT(ANCOUNT(a), 1);
	CHECK(!memcmp(a + n + 12, "\x20\x01\x0d\xb8", 4));
	/* a known name's other type: NODATA; an unknown name: NXDOMAIN; both
	 * with the zone's SOA in the authority section (RFC 2308), its owner
	 * and names pointing at "lab" in the question (offset 19 here) */
	n = query(q, "nobody.lab", 1, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 3 && ANCOUNT(a) == 0 && NSCOUNT(a) == 1);
	CHECK_INT(m, n + sizeof(SOA_LAB) - 1);
	CHECK(m == n + sizeof(SOA_LAB) - 1 && !memcmp(a + n, SOA_LAB, sizeof(SOA_LAB) - 1));
	n = query(q, "v4only.lab", 28, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 0 && ANCOUNT(a) == 0 && NSCOUNT(a) == 1);
	CHECK(m == n + 55 && !memcmp(a + n, "\xc0\x13\x00\x06", 4));	/* "lab" at 19 too */
	/* the apex has the SOA; a name outside every zone is in the root's */
	n = query(q, "LAB", 6, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 0 && ANCOUNT(a) == 1 && NSCOUNT(a) == 0 && m == n + 55);
	n = query(q, "www.example.com", 1, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 3 && NSCOUNT(a) == 1);
	CHECK(m > n + 4 && !memcmp(a + n, "\x00\x00\x06\x00\x01", 5));	/* owner: the root */
	/* PTR for the records' addresses, IPv4 and IPv6 */
	n = query(q, "10.0.18.198.in-addr.arpa", 12, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 0 && ANCOUNT(a) == 1 && NSCOUNT(a) == 0);
	CHECK(m == n + 12 + 13 && !memcmp(a + n, "\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x3c"
					   "\x00\x0d\x07server1\x03lab\x00", 25));
	n = query(q, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		  12, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 0 && ANCOUNT(a) == 1 && m == n + 25);
	/* another address in the reverse zone: NXDOMAIN with that zone's SOA */
	n = query(q, "99.0.18.198.in-addr.arpa", 12, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 3 && NSCOUNT(a) == 1 && m > n + 2 && !memcmp(a + n, "\xc0\x0f", 2));
	/* a forward name asked for PTR: NODATA */
	n = query(q, "v4only.lab", 12, 1);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(RCODE(a) == 0 && ANCOUNT(a) == 0 && NSCOUNT(a) == 1);
	/* version.bind CH TXT says what answers */
	n = query(q, "version.bind", 16, 3);
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK_INT(ANCOUNT(a), 1);
	CHECK(m > n + 13 && a[n + 12] == m - n - 13 &&
	      !memcmp(a + n + 13, "portkit " PORTKIT_VERSION, m - n - 13));
	/* answers that do not fit are left out whole, and TC says so */
	{
		struct serve_opts many = { .ndns = 0 };

		for (int i = 0; i < 40; i++)
			CHECK_INT(serve_dns_add(&many, "many.lab=198.18.0.1"), 0);
		n = query(q, "many.lab", 1, 1);
		m = dns_answer(&many, q, n, a, 512);
		CHECK((size_t)ANCOUNT(a) == (512 - n) / 16 && m == n + 16 * (size_t)ANCOUNT(a));
		CHECK(a[2] & 0x02);
	}
	/* another opcode (a NOTIFY): NOTIMP, the header only */
	n = query(q, "server1.lab", 1, 1);
	q[2] = 4 << 3;
	m = dns_answer(&o, q, n, a, sizeof(a));
	CHECK(m == 12 && RCODE(a) == 4 && a[2] == (0x80 | 4 << 3 | 0x04));
}

TEST(serve_dns_malformed_queries)
{
	struct serve_opts o = dns_opts();
	uint8_t q[600], a[600];
	size_t n;

	/* not a query at all: no answer (a response, too short, no room) */
	n = query(q, "server1.lab", 1, 1);
	q[2] |= 0x80;
	CHECK_INT(dns_answer(&o, q, n, a, sizeof(a)), 0);
	q[2] &= 0x7f;
	CHECK_INT(dns_answer(&o, q, 11, a, sizeof(a)), 0);
	CHECK_INT(dns_answer(&o, q, n, a, 511), 0);
	/* FORMERR, the header only: two questions, a compression pointer, a
	 * label past the end, a label over 63 bytes, a name over 255, no type */
	q[5] = 2;
	CHECK(dns_answer(&o, q, n, a, sizeof(a)) == 12 && RCODE(a) == 1);
	n = query(q, "x", 1, 1);
	q[12] = 0xc0;
	q[13] = 0x0c;
	CHECK(dns_answer(&o, q, n, a, sizeof(a)) == 12 && RCODE(a) == 1);
	n = query(q, "server1.lab", 1, 1);
	q[12] = 40;
	CHECK(dns_answer(&o, q, n, a, sizeof(a)) == 12 && RCODE(a) == 1);
	{
		char name[320];

		memset(name, 'a', 64);
		name[64] = '\0';
		n = query(q, name, 1, 1);
		CHECK(dns_answer(&o, q, n, a, sizeof(a)) == 12 && RCODE(a) == 1);
		/* 5 labels of 60: 305 bytes of name */
		for (int i = 0; i < 5; i++) {
			memset(name + 61 * i, 'b', 60);
			name[61 * i + 60] = '.';
		}
		name[61 * 5 - 1] = '\0';
		n = query(q, name, 1, 1);
		CHECK(dns_answer(&o, q, n, a, sizeof(a)) == 12 && RCODE(a) == 1);
	}
	n = query(q, "server1.lab", 1, 1);
	CHECK(dns_answer(&o, q, n - 2, a, sizeof(a)) == 12 && RCODE(a) == 1);
	CHECK(dns_answer(&o, q, 13, a, sizeof(a)) == 12 && RCODE(a) == 1);	/* name cut */
	/* the same ID comes back even on FORMERR */
	CHECK(a[0] == 0x12 && a[1] == 0x34);
}

TEST(serve_dns_over_tcp)
{
	struct serve_opts o = dns_opts();
	uint8_t q[2 * 64], *p = q;
	size_t n1, n2;
	struct conn c;

	conn_open(&c, "dns");
	c.o = &o;
	n1 = query(q + 2, "server1.lab", 1, 1);
	q[0] = 0;
	q[1] = (uint8_t)n1;
	n2 = query(q + 4 + n1, "nobody.lab", 1, 1);
	q[2 + n1] = 0;
	q[3 + n1] = (uint8_t)n2;
	feed(&c, p, 1);		/* not even the length yet */
	CHECK_INT(c.out.len, 0);
	feed(&c, p + 1, n1 + 4 + n2 - 1);	/* the rest: two messages */
	p = (uint8_t *)c.out.data;
	CHECK_INT(c.out.len, 2 + n1 + 16 + 2 + n2 + 55);	/* NXDOMAIN has the SOA */
	if (c.out.len == 2 + n1 + 16 + 2 + n2 + 55) {
		CHECK((p[0] << 8 | p[1]) == (int)(n1 + 16) && RCODE(p + 2) == 0);
		CHECK(RCODE(p + 2 + n1 + 16 + 2) == 3);
	}
	CHECK(!c.closing);
	said(&c);
	feed(&c, "\x00\x02\x12\x34", 4);	/* too short to answer: close */
	CHECK(c.closing);
	conn_done(&c);
}

/* ---- what the command line asks for ---- */

static void spec_fails(int line, const char *arg, const char *msg)
{
	struct serve_opts o = { .nspec = 0 };

	CHECK_INT(serve_spec_add(&o, "http:80"), 0);
	if (!serve_spec_add(&o, arg))
		unit_fail(__FILE__, line, "'%s' was taken", arg);
	else if (strcmp(error_msg(), msg))
		unit_fail(__FILE__, line, "'%s' said \"%s\"", arg, error_msg());
}

TEST(serve_specs)
{
	struct serve_opts o = { .nspec = 0 };

	CHECK_INT(serve_spec_add(&o, "http:83"), 0);
	CHECK_INT(serve_spec_add(&o, "dns/udp"), 0);
	CHECK_INT(serve_spec_add(&o, "dns:5353"), 0);
	CHECK_INT(serve_spec_add(&o, "22"), 0);		/* the registered service's */
	CHECK_INT(serve_spec_add(&o, "ms-wbt-server"), 0);	/* an alias */
	CHECK_INT(o.nspec, 5);
	CHECK(o.spec[0].port == 83 && o.spec[0].transports == SV_TCP);
	CHECK(o.spec[1].port == 53 && o.spec[1].transports == SV_UDP);
	CHECK(o.spec[2].port == 5353 && o.spec[2].transports == (SV_TCP | SV_UDP));
	CHECK_STR(o.spec[3].r->name, "ssh");
	CHECK(o.spec[4].port == 3389 && !strcmp(o.spec[4].r->name, "rdp"));
	CHECK_INT(serve_spec_add(&o, "dns/tcp"), 0);	/* 53/udp is taken, 53/tcp not */

	spec_fails(__LINE__, "bogus", "unknown responder 'bogus' (see 'portkit serve --list')");
	spec_fails(__LINE__, "9999", "no responder for port 9999: name one (http:9999, echo:9999; "
		   "see --list)");
	spec_fails(__LINE__, "http/udp", "http answers on tcp only");
	spec_fails(__LINE__, "http/sctp", "invalid responder 'http/sctp': /tcp or /udp");
	spec_fails(__LINE__, "http:0", "invalid responder 'http:0': port 0");
	spec_fails(__LINE__, "echo:80", "port 80 is given twice");
	spec_fails(__LINE__, "http:70000", "invalid port '70000': must be 0-65535");
	spec_fails(__LINE__, "abcdefghijklmnopqrstuvwxyz0123456789",
		   "invalid responder 'abcdefghijklmnopqrstuvwxyz0123456789'");
	memset(&o, 0, sizeof(o));
	for (unsigned p = 1; p <= 64; p++) {
		char s[32];

		snprintf(s, sizeof(s), "echo:%u", 1000 + p);
		CHECK_INT(serve_spec_add(&o, s), 0);
	}
	CHECK_INT(serve_spec_add(&o, "echo:999"), -E2BIG);
	CHECK_STR(error_msg(), "too many responders (at most 64)");
	CHECK(responder_for_port(80) == responder_find("http"));
	CHECK(responder_find("domain") == responder_find("dns"));
	CHECK(responder_for_port(9999) == NULL);
	/* the http-alt ports (--all-ports, a bare "serve 8080") speak HTTP */
	CHECK(responder_for_port(8080) == responder_find("http"));
	CHECK(responder_for_port(8000) == responder_find("http"));
	CHECK(responder_for_port(8888) == responder_find("http"));
}

TEST(serve_dns_records_and_hosts_file)
{
	struct serve_opts o = { .ndns = 0 };
	char path[] = "/tmp/portkit-unit-hosts-XXXXXX";
	int fd;
	FILE *f;

	CHECK_INT(serve_dns_add(&o, "a.lab=198.18.0.1"), 0);
	CHECK_INT(serve_dns_add(&o, "=198.18.0.1"), -EINVAL);
	CHECK_STR(error_msg(), "invalid --dns '=198.18.0.1': expected NAME=ADDR");
	CHECK_INT(serve_dns_add(&o, "a.lab"), -EINVAL);
	CHECK_INT(serve_dns_add(&o, "a.lab=example.org"), -EINVAL);
	CHECK_STR(error_msg(), "invalid address 'example.org' (numeric IPv4 or IPv6)");
	CHECK_INT(o.ndns, 1);

	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	fputs("# the lab\n127.0.0.1 localhost\n::1 ip6-localhost\n\n"
	      "198.18.0.10 server1 server1.lab # a comment\n2001:db8::5\tv6.lab\n", f);
	fclose(f);
	memset(&o, 0, sizeof(o));
	CHECK_INT(serve_hosts_load(&o, path), 0);
	CHECK_INT(o.ndns, 3);	/* loopback lines skipped */
	CHECK_STR(o.dns[0].name, "server1");
	CHECK_STR(o.dns[1].name, "server1.lab");
	CHECK(o.dns[2].addr.family == AF_INET6 && !strcmp(o.dns[2].name, "v6.lab"));
	f = fopen(path, "a");
	fputs("198.18.0.300 broken\n", f);
	fclose(f);
	CHECK_INT(serve_hosts_load(&o, path), -EINVAL);
	{
		char want[128];

		snprintf(want, sizeof(want), "%s:7: invalid address '198.18.0.300'", path);
		CHECK_STR(error_msg(), want);
	}
	unlink(path);
	CHECK_INT(serve_hosts_load(&o, path), -ENOENT);
	CHECK(strstr(error_msg(), "cannot open hosts file '/tmp/portkit-unit-hosts-") == error_msg());
	CHECK_INT(serve_hosts_load(&o, "/etc"), -EISDIR);
	CHECK_STR(error_msg(), "hosts file '/etc' is a directory, not a file");
}

TEST(serve_list_records)
{
	char *text = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *o = out_new(f, OUT_JSON, false);
	const char *first = "{\"responder\":\"http\",\"port\":80,\"transport\":\"tcp\"}\n";

	serve_list(o);
	CHECK_INT(out_close(o), 0);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	CHECK_INT(lines, responder_count());
	CHECK(text && !strncmp(text, first, strlen(first)));
	CHECK(text && strstr(text, "{\"responder\":\"dns\",\"port\":53,\"transport\":\"tcp+udp\"}\n"));
	free(text);
}
