/*
 * responders.c - what portkit serve says on each protocol (the binary ones,
 * ssh, rdp and mysql, are in binary.c, smb in smb.c), and the table.
 * Enough of each for a real client to get a real answer and for nmap -sV
 * and portkit scan --sv to name the service; nothing that keeps state
 * beyond a connection.
 *
 * Text protocols are read a line at a time (CRLF or LF, at most IN_MAX
 * bytes: a longer line is an error and ends the connection); binary ones by
 * their length fields. Every responder only appends to c->out.
 *
 *   http    one request (headers up to the blank line), one page that says
 *           which address and port were reached from which; then close
 *   ftp     anonymous login, PWD/CWD/TYPE/SYST/FEAT, PASV/EPSV and
 *           LIST/NLST/RETR of a small virtual tree, QUIT
 *   smtp    greeting, EHLO/HELO, MAIL/RCPT/DATA (the message is dropped)
 *   ssh     identification line, then KEXINIT; a client that goes on is
 *           told key exchange is not offered (DISCONNECT)
 *   telnet  option negotiation, login prompt, every login refused
 *   rdp     X.224 Connection Confirm to a Connection Request: TLS when
 *           offered, then the handshake (tls.c); standard RDP security
 *           when nothing else is; CredSSP or RDSTLS alone refused
 *   smb     SMB2 NEGOTIATE response (to SMB2, or SMB1 offering SMB2), then
 *           SESSION_SETUP: the NTLMSSP challenge, every logon refused
 *           (STATUS_LOGON_FAILURE, anonymous too): see smb.c
 *   redis   PING, ECHO, INFO, QUIT (RESP and inline commands)
 *   mysql   protocol 10 handshake as MySQL 8.0 (8.0.36-portkit-VERSION);
 *           every login refused (error 1045)
 *   dns     A, AAAA and PTR of the names given, SOA-backed NXDOMAIN and
 *           NODATA: see dns.c (TCP: two-byte length before each message)
 *   echo    everything back
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/vocab/registry.h"
#include "serve/wire.h"
#include "core/base/banned.h"

#define VERSION_TEXT "portkit/" PORTKIT_VERSION

void conn_put(struct conn *c, const void *p, size_t n)
{
	if (buf_add(&c->out, p, n))
		c->closing = true;	/* a client that reads nothing: drop it */
}

void conn_putf(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		conn_put(c, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* "VERB rest": the verb upper-cased into verb, the rest borrowed */
static const char *verb_of(const uint8_t *d, size_t len, char *verb, size_t vmax,
			   size_t *restlen)
{
	size_t i = 0;

	while (i < len && d[i] != ' ' && i + 1 < vmax) {
		char ch = (char)d[i];

		verb[i++] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
	}
	verb[i] = '\0';
	while (i < len && d[i] == ' ')
		i++;
	*restlen = len - i;
	return (const char *)d + i;
}

/* A control byte no text protocol sends (NUL, ESC, ...): binary probing, a
 * wrong client. A real server would wait for a line that never comes; these
 * answer at once and hang up, so a scanner's next guess need not wait. */
static bool not_text(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((d[i] < 0x20 && d[i] != '\r' && d[i] != '\n' && d[i] != '\t') || d[i] == 0x7f)
			return true;
	return false;
}

/* Text protocols: whole lines to fn; a line longer than IN_MAX, or bytes
 * that are not text, end it (with `bad` said first). */
static size_t by_lines(struct conn *c, const uint8_t *d, size_t n,
		       void (*fn)(struct conn *c, const uint8_t *line, size_t len), const char *bad)
{
	size_t used = 0, len, k;

	if (not_text(d, n)) {
		conn_putf(c, "%s", bad);
		c->closing = true;
		return n;
	}

	while (!c->closing && (k = line_of(d + used, n - used, &len))) {
		fn(c, d + used, len);
		used += k;
	}
	if (n - used >= IN_MAX - 1) {
		c->closing = true;
		return n;
	}
	return used;
}

static const char *host(const struct conn *c)
{
	return c->o && c->o->hostname ? c->o->hostname : "portkit";
}

/* ---- echo ---- */

static size_t echo_input(struct conn *c, const uint8_t *d, size_t n)
{
	conn_put(c, d, n);
	return n;
}

static void echo_datagram(const struct conn *c, const uint8_t *d, size_t n, uint8_t *out,
			  size_t *outlen, size_t outmax)
{
	(void)c;
	*outlen = n < outmax ? n : outmax;
	memcpy(out, d, *outlen);
}

/* ---- http ---- */

static size_t http_input(struct conn *c, const uint8_t *d, size_t n)
{
	char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN], page[2048], method[16];
	const uint8_t *end = NULL;
	size_t restlen, len;
	int k;

	for (size_t i = 0; i + 1 < n; i++)
		if (d[i] == '\n' && (d[i + 1] == '\n' || (d[i + 1] == '\r' && i + 2 < n &&
							    d[i + 2] == '\n'))) {
			end = d + i;
			break;
		}
	/* not HTTP: control bytes, or a whole first line that is no request line */
	if (not_text(d, end ? (size_t)(end - d) : n) ||
	    (!end && line_of(d, n, &len) && (len < 14 || memcmp(d + len - 8, "HTTP/1.", 7)))) {
		conn_putf(c, "HTTP/1.1 400 Bad Request\r\nServer: %s\r\nContent-Length: 0\r\n"
			  "Connection: close\r\n\r\n", VERSION_TEXT);
		c->closing = true;
		return n;
	}
	if (!end) {
		if (n >= IN_MAX - 1) {
			conn_putf(c, "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: %s\r\n"
				  "Content-Length: 0\r\nConnection: close\r\n\r\n", VERSION_TEXT);
			c->closing = true;
			return n;
		}
		return 0;
	}
	c->closing = true;	/* one request a connection */
	if (!line_of(d, n, &len))
		return n;
	verb_of(d, len, method, sizeof(method), &restlen);
	if (restlen < 10 || memcmp(d + len - 8, "HTTP/1.", 7)) {
		conn_putf(c, "HTTP/1.1 400 Bad Request\r\nServer: %s\r\nContent-Length: 0\r\n"
			  "Connection: close\r\n\r\n", VERSION_TEXT);
		return n;
	}
	endpoint_str(&c->local, local);
	endpoint_str(&c->peer, peer);
	k = snprintf(page, sizeof(page),
		     "<!doctype html>\n<html><head><title>portkit serve on %s</title></head><body>\n"
		     "<h1>You reached port %u on %s</h1>\n"
		     "<p>This server listens on <b>%s</b>. Your connection came from <b>%s</b>: "
		     "that port is the one your system picked for this session (an ephemeral "
		     "port), and it is how both ends tell this session from every other.</p>\n"
		     "<p>If you came through a router that translates addresses, the address above "
		     "is the one it showed this server.</p>\n</body></html>\n",
		     host(c), c->local.port, host(c), local, peer);
	if (k < 0 || (size_t)k >= sizeof(page))
		k = 0;
	{
		char date[64];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		conn_putf(c, "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: %s\r\n"
			  "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n"
			  "Connection: close\r\n\r\n", date, VERSION_TEXT, k);
	}
	if (strcmp(method, "HEAD"))
		conn_put(c, page, (size_t)k);
	return n;
}

/* ---- ftp ---- */

enum { FTP_USER, FTP_PASS, FTP_IN };

static const char README[] =
	"This is portkit serve's FTP responder: an anonymous login, a listing, this file.\r\n"
	"The listing came over a second connection, to a port the server picked (PASV):\r\n"
	"FTP is the classic protocol with a control port (21) and data ports.\r\n";

static void ftp_greet(struct conn *c)
{
	conn_putf(c, "220 %s FTP server (%s) ready\r\n", host(c), VERSION_TEXT);
}

static void ftp_data(struct conn *c, bool list, bool names, const char *arg, size_t alen)
{
	char listing[256];
	int k;

	if (!c->ops || !c->data) {
		conn_putf(c, "425 Use PASV or EPSV first\r\n");
		return;
	}
	if (!list) {
		if (alen != 10 || memcmp(arg, "README.txt", 10)) {
			conn_putf(c, "550 No such file\r\n");
			return;
		}
		conn_putf(c, "150 Opening BINARY mode data connection for README.txt (%zu bytes)\r\n",
			  sizeof(README) - 1);
		c->ops->data_send(c, README, sizeof(README) - 1, "226 Transfer complete\r\n");
		return;
	}
	k = names ? snprintf(listing, sizeof(listing), "README.txt\r\n")
		  : snprintf(listing, sizeof(listing),
			     "-rw-r--r--    1 0        0             %3zu Jan 01 00:00 README.txt\r\n",
			     sizeof(README) - 1);
	conn_putf(c, "150 Here comes the directory listing\r\n");
	c->ops->data_send(c, listing, k > 0 ? (size_t)k : 0, "226 Directory send OK\r\n");
}

static void ftp_line(struct conn *c, const uint8_t *d, size_t len)
{
	char v[8];
	size_t alen;
	const char *arg = verb_of(d, len, v, sizeof(v), &alen);

	if (!strcmp(v, "QUIT")) {
		conn_putf(c, "221 Goodbye\r\n");
		c->closing = true;
	} else if (!strcmp(v, "USER")) {
		c->state = FTP_PASS;
		conn_putf(c, alen == 9 && !memcmp(arg, "anonymous", 9) ? "331 Please give your e-mail "
			  "address as the password\r\n" : "331 Any password will do for anonymous\r\n");
	} else if (!strcmp(v, "PASS")) {
		if (c->state != FTP_PASS) {
			conn_putf(c, "503 Login with USER first\r\n");
		} else {
			c->state = FTP_IN;
			conn_putf(c, "230 Login successful\r\n");
		}
	} else if (!strcmp(v, "FEAT")) {
		conn_putf(c, "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n UTF8\r\n211 End\r\n");
	} else if (!strcmp(v, "SYST")) {
		conn_putf(c, "215 UNIX Type: L8\r\n");
	} else if (!strcmp(v, "NOOP")) {
		conn_putf(c, "200 NOOP ok\r\n");
	} else if (!strcmp(v, "OPTS")) {
		conn_putf(c, "200 Always in UTF8 mode\r\n");
	} else if (c->state != FTP_IN) {
		conn_putf(c, "530 Please login with USER and PASS\r\n");
	} else if (!strcmp(v, "PWD") || !strcmp(v, "XPWD")) {
		conn_putf(c, "257 \"/\" is the current directory\r\n");
	} else if (!strcmp(v, "CWD")) {
		conn_putf(c, alen == 1 && arg[0] == '/' ? "250 Directory successfully changed\r\n"
							: "550 Failed to change directory\r\n");
	} else if (!strcmp(v, "TYPE")) {
		conn_putf(c, "200 Switching to %s mode\r\n", alen && (arg[0] | 32) == 'a' ? "ASCII"
												: "Binary");
	} else if (!strcmp(v, "SIZE")) {
		if (alen == 10 && !memcmp(arg, "README.txt", 10))
			conn_putf(c, "213 %zu\r\n", sizeof(README) - 1);
		else
			conn_putf(c, "550 Could not get file size\r\n");
	} else if (!strcmp(v, "PASV") || !strcmp(v, "EPSV")) {
		uint16_t port = c->ops ? c->ops->data_open(c) : 0;

		if (!port)
			conn_putf(c, "425 Cannot open a data port\r\n");
		else if (v[0] == 'E')
			conn_putf(c, "229 Entering Extended Passive Mode (|||%u|)\r\n", port);
		else if (c->local.family != AF_INET)
			conn_putf(c, "425 PASV is IPv4 only: use EPSV\r\n");
		else
			conn_putf(c, "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u)\r\n",
				  c->local.addr[0], c->local.addr[1], c->local.addr[2],
				  c->local.addr[3], port >> 8, port & 255);
	} else if (!strcmp(v, "LIST") || !strcmp(v, "NLST")) {
		ftp_data(c, true, v[0] == 'N', arg, alen);
	} else if (!strcmp(v, "RETR")) {
		ftp_data(c, false, false, arg, alen);
	} else if (!strcmp(v, "PORT") || !strcmp(v, "EPRT")) {
		conn_putf(c, "502 Active mode is not offered: use PASV or EPSV\r\n");
	} else {
		conn_putf(c, "502 Command not implemented\r\n");
	}
}

static size_t ftp_input(struct conn *c, const uint8_t *d, size_t n)
{
	return by_lines(c, d, n, ftp_line, "500 Not a command line: closing\r\n");
}

/* ---- smtp ---- */

enum { SMTP_CMD, SMTP_DATA };

static void smtp_greet(struct conn *c)
{
	conn_putf(c, "220 %s ESMTP %s\r\n", host(c), VERSION_TEXT);
}

static void smtp_line(struct conn *c, const uint8_t *d, size_t len)
{
	char v[8];
	size_t alen;

	if (c->state == SMTP_DATA) {
		if (len == 1 && d[0] == '.') {
			c->state = SMTP_CMD;
			conn_putf(c, "250 OK: message accepted and dropped (this is a test server)\r\n");
		}
		return;
	}
	verb_of(d, len, v, sizeof(v), &alen);
	if (!strcmp(v, "EHLO"))
		conn_putf(c, "250-%s\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 HELP\r\n", host(c));
	else if (!strcmp(v, "HELO"))
		conn_putf(c, "250 %s\r\n", host(c));
	else if (!strcmp(v, "MAIL") || !strcmp(v, "RCPT") || !strcmp(v, "RSET") ||
		 !strcmp(v, "NOOP"))
		conn_putf(c, "250 OK\r\n");
	else if (!strcmp(v, "DATA")) {
		c->state = SMTP_DATA;
		conn_putf(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	} else if (!strcmp(v, "QUIT")) {
		conn_putf(c, "221 Bye\r\n");
		c->closing = true;
	} else
		conn_putf(c, "502 Command not implemented\r\n");
}

static size_t smtp_input(struct conn *c, const uint8_t *d, size_t n)
{
	return by_lines(c, d, n, smtp_line, c->state == SMTP_DATA ? "554 Not text: closing\r\n"
							     : "500 5.5.2 Not a command line: closing\r\n");
}

/* ---- telnet ---- */

enum { TN_LOGIN, TN_PASSWORD };

static void telnet_greet(struct conn *c)
{
	/* IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC DO TERMINAL-TYPE */
	static const uint8_t opts[] = { 255, 251, 1, 255, 251, 3, 255, 253, 24 };

	conn_put(c, opts, sizeof(opts));
	conn_putf(c, "\r\n%s (portkit serve)\r\n\r\nlogin: ", host(c));
}

static size_t telnet_input(struct conn *c, const uint8_t *d, size_t n)
{
	size_t used = 0;

	while (used < n && !c->closing) {
		/* option negotiation: IAC cmd opt, or IAC SB ... IAC SE; skipped */
		if (d[used] == 255) {
			if (n - used < 2)
				break;
			if (d[used + 1] == 250) {
				const uint8_t *se = NULL;

				for (size_t i = used + 2; i + 1 < n; i++)
					if (d[i] == 255 && d[i + 1] == 240) {
						se = d + i;
						break;
					}
				if (!se)
					break;
				used = (size_t)(se - d) + 2;
			} else if (d[used + 1] >= 251) {
				if (n - used < 3)
					break;
				used += 3;
			} else {
				used += 2;
			}
			continue;
		}
		{
			size_t len, k;
			const uint8_t *iac = memchr(d + used, 255, n - used);
			size_t span = iac ? (size_t)(iac - (d + used)) : n - used;

			if (!(k = line_of(d + used, span, &len))) {
				if (!iac)
					break;
				used += span;	/* text before an option: keep reading */
				continue;
			}
			used += k;
			if (c->state == TN_LOGIN) {
				c->state = TN_PASSWORD;
				conn_putf(c, "Password: ");
			} else {
				conn_putf(c, "\r\nLogin incorrect\r\n");
				if (++c->tries >= 3)
					c->closing = true;
				else {
					c->state = TN_LOGIN;
					conn_putf(c, "login: ");
				}
			}
		}
	}
	if (!c->closing && n - used >= IN_MAX - 1)
		c->closing = true;
	return c->closing ? n : used;
}

/* ---- redis (RESP) ---- */

/* One command: a RESP array of bulk strings, or an inline line. Its first
 * word in cmd (upper case), the second in arg; returns bytes used, 0 when
 * not whole, (size_t)-1 when malformed. */
static size_t resp_command(const uint8_t *d, size_t n, char *cmd, size_t cmax, char *arg,
			   size_t amax)
{
	size_t len, k = line_of(d, n, &len), used, count;

	cmd[0] = arg[0] = '\0';
	if (!k)
		return n >= IN_MAX - 1 ? (size_t)-1 : 0;
	if (d[0] != '*') {
		size_t rest;
		const char *a = verb_of(d, len, cmd, cmax, &rest);

		snprintf(arg, amax, "%.*s", (int)(rest < amax ? rest : amax - 1), a);
		return k;
	}
	count = 0;
	for (size_t i = 1; i < len; i++) {
		if (d[i] < '0' || d[i] > '9' || count > 1024)
			return (size_t)-1;
		count = count * 10 + (size_t)(d[i] - '0');
	}
	used = k;
	for (size_t w = 0; w < count; w++) {
		size_t blen = 0, bl;

		if (!(k = line_of(d + used, n - used, &bl)))
			return 0;
		if (d[used] != '$' || bl < 2)
			return (size_t)-1;
		for (size_t i = 1; i < bl; i++) {
			if (d[used + i] < '0' || d[used + i] > '9' || blen > IN_MAX)
				return (size_t)-1;
			blen = blen * 10 + (size_t)(d[used + i] - '0');
		}
		used += k;
		if (n - used < blen + 2)
			return blen + 2 > IN_MAX ? (size_t)-1 : 0;
		if (w < 2) {
			char *to = w ? arg : cmd;
			size_t max = w ? amax : cmax, m = blen < max ? blen : max - 1;

			for (size_t i = 0; i < m; i++) {
				char ch = (char)d[used + i];

				to[i] = !w && ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
			}
			to[m] = '\0';
		}
		used += blen + 2;
	}
	return used;
}

static size_t redis_input(struct conn *c, const uint8_t *d, size_t n)
{
	size_t used = 0, k;
	char cmd[32], arg[256];

	if (n && d[0] != '*' && not_text(d, n)) {	/* inline commands are text */
		conn_putf(c, "-ERR Protocol error: not a command\r\n");
		c->closing = true;
		return n;
	}
	while (!c->closing && used < n &&
	       (k = resp_command(d + used, n - used, cmd, sizeof(cmd), arg, sizeof(arg)))) {
		if (k == (size_t)-1) {
			conn_putf(c, "-ERR Protocol error\r\n");
			c->closing = true;
			return n;
		}
		used += k;
		if (!strcmp(cmd, "PING"))
			conn_putf(c, "+PONG\r\n");
		else if (!strcmp(cmd, "ECHO"))
			conn_putf(c, "$%zu\r\n%s\r\n", strlen(arg), arg);
		else if (!strcmp(cmd, "QUIT")) {
			conn_putf(c, "+OK\r\n");
			c->closing = true;
		} else if (!strcmp(cmd, "INFO")) {
			char info[256];
			int m = snprintf(info, sizeof(info), "# Server\r\nredis_version:%s\r\n"
					 "redis_mode:standalone\r\nportkit_serve:1\r\nos:Linux\r\n",
					 PORTKIT_VERSION);

			conn_putf(c, "$%d\r\n%s\r\n", m, info);
		} else if (cmd[0])
			conn_putf(c, "-ERR unknown command '%.40s' (portkit serve knows PING, ECHO, "
				  "INFO, QUIT)\r\n", cmd);
	}
	return c->closing ? n : used;
}

/* ---- dns over TCP ---- */

static size_t dns_tcp_input(struct conn *c, const uint8_t *d, size_t n)
{
	size_t used = 0;

	while (!c->closing && n - used >= 2) {
		size_t len = (size_t)d[used] << 8 | d[used + 1];
		uint8_t out[4096 + 2];
		size_t m;

		if (n - used - 2 < len)
			break;
		m = dns_answer(c->o, d + used + 2, len, out + 2, sizeof(out) - 2);
		if (m) {
			out[0] = (uint8_t)(m >> 8);
			out[1] = (uint8_t)m;
			conn_put(c, out, m + 2);
		} else {
			c->closing = true;
		}
		used += 2 + len;
	}
	return c->closing ? n : used;
}

static void dns_datagram(const struct conn *c, const uint8_t *d, size_t n, uint8_t *out,
			 size_t *outlen, size_t outmax)
{
	*outlen = dns_answer(c->o, d, n, out, outmax);
}

/* ---- banner (--all-ports) ---- */

static void banner_greet(struct conn *c)
{
	conn_putf(c, "portkit serve on %s: you reached port %u/tcp\r\n", host(c), c->local.port);
	c->closing = true;
}

static size_t banner_input(struct conn *c, const uint8_t *d, size_t n)
{
	(void)d;
	c->closing = true;
	return n;
}

const struct responder banner_responder = { "banner", 0, SV_TCP, banner_greet, banner_input, NULL };

static const struct responder responders[] = {
	{ "http", 80, SV_TCP, NULL, http_input, NULL },
	{ "ftp", 21, SV_TCP, ftp_greet, ftp_input, NULL },
	{ "ssh", 22, SV_TCP, ssh_greet, ssh_input, NULL },
	{ "telnet", 23, SV_TCP, telnet_greet, telnet_input, NULL },
	{ "smtp", 25, SV_TCP, smtp_greet, smtp_input, NULL },
	{ "dns", 53, SV_TCP | SV_UDP, NULL, dns_tcp_input, dns_datagram },
	{ "smb", 445, SV_TCP, NULL, smb_input, NULL },
	{ "mysql", 3306, SV_TCP, mysql_greet, mysql_input, NULL },
	{ "rdp", 3389, SV_TCP, NULL, rdp_input, NULL, rdp_end },
	{ "redis", 6379, SV_TCP, NULL, redis_input, NULL },
	{ "echo", 7, SV_TCP | SV_UDP, NULL, echo_input, echo_datagram },
};

size_t responder_count(void)
{
	return sizeof(responders) / sizeof(responders[0]);
}

const struct responder *responder_at(size_t i)
{
	return i < responder_count() ? &responders[i] : NULL;
}

const struct responder *responder_find(const char *name)
{
	static const struct { const char *alias, *name; } aliases[] = {
		{ "www", "http" }, { "http-alt", "http" }, { "domain", "dns" }, { "ms-wbt-server", "rdp" },
		{ "microsoft-ds", "smb" }, { "cifs", "smb" }, { "samba", "smb" },
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(name, aliases[i].alias))
			name = aliases[i].name;
	for (size_t i = 0; i < responder_count(); i++)
		if (!strcmp(responders[i].name, name))
			return &responders[i];
	return NULL;
}

const struct responder *responder_for_port(uint16_t port)
{
	/* where HTTP servers are run though the registry names another
	 * service (8008 and 8080 are http-alt, an alias) */
	static const struct { uint16_t port; const char *name; } usual[] = {
		{ 8000, "http" },	/* irdmi */
		{ 8888, "http" },	/* ddi-tcp-1 */
	};
	const char *svc = registry_service(port, PROTO_TCP);

	for (size_t i = 0; i < responder_count(); i++)
		if (responders[i].port == port)
			return &responders[i];
	for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++)
		if (usual[i].port == port)
			return responder_find(usual[i].name);
	return svc ? responder_find(svc) : NULL;
}
