/*
 * svdb.c - the service database behind `scan --sv` and `audit`: probes to
 * send and what their answers mean (svdb.h).
 *
 * The probes and matches are data/services.txt, compiled in, parsed into
 * a struct sv_db that the caller owns (sv_db_load/sv_db_free). Most
 * matches are regexes; what a regex cannot take apart is read here by
 * bounded parsers of the reply (fuzzed through sv_classify): the software
 * in an HTTP Server header, a version.bind TXT answer, the SMB2 dialect.
 * A named product gets its CPE from the file's "cpe" lines.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/log.h"
#include "core/vocab/addr.h"
#include "core/base/xalloc.h"
#include "core/vocab/svdb.h"
#include "core/wire/wire.h"
#include "core/base/banned.h"

extern const char services_db[];

#define MAX_PROBES 32
#define MAX_MATCHES 256
#define MAX_CPES 96
#define REPLY_MAX 4096

enum { PAT_REGEX, PAT_PREFIX, PAT_EXACT };

#define MAX_HINTS 16

struct probe {
	char name[16];
	uint8_t data[256];
	size_t len;
	uint16_t ports[MAX_HINTS];	/* where to try it first */
	size_t nports;
	unsigned wait_ms;		/* how long an answer may take */
	bool tls;			/* "@tls": the TLS handshake step, not bytes */
};

struct match {
	char service[32];
	int probe;
	int kind;
	regex_t re;
	uint8_t bytes[64];
	bool wild[64];
	size_t len;
	char product[64], version[64];
};

/* "cpe PRODUCT VENDOR:NAME": the CPE of a product as the matches name it */
struct cpe {
	char product[64], id[64];
};

struct sv_db {
	struct cpe cpes[MAX_CPES];
	size_t ncpes;
	struct probe probes[MAX_PROBES];
	size_t nprobes;
	struct match matches[MAX_MATCHES];
	size_t nmatches;
};

/* "..." with \r \n \t \\ \" \xHH \? into bytes; returns the length or -1 */
static long unquote(const char **pp, uint8_t *out, bool *wild, size_t max)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p++ != '"')
		return -1;
	while (*p && *p != '"') {
		uint8_t c = (uint8_t)*p++;
		bool w = false;

		if (c == '\\') {
			char e = *p++;

			if (e == 'r') c = '\r';
			else if (e == 'n') c = '\n';
			else if (e == 't') c = '\t';
			else if (e == '?') { c = 0; w = true; }
			else if (e == 'x' && p[0] && p[1]) {
				char hex[3] = { p[0], p[1], 0 };

				c = (uint8_t)strtoul(hex, NULL, 16);
				p += 2;
			} else c = (uint8_t)e;
		}
		if (n >= max)
			return -1;
		if (wild)
			wild[n] = w;
		out[n++] = c;
	}
	if (*p != '"')
		return -1;
	*pp = p + 1;
	return (long)n;
}

int sv_db_find(const struct sv_db *db, const char *name)
{
	for (size_t i = 0; i < db->nprobes; i++)
		if (!strcmp(db->probes[i].name, name))
			return (int)i;
	return -1;
}

/* KEY=VALUE or KEY="VALUE WITH SPACES" anywhere after the pattern. */
static void kv(const char *line, const char *key, char *out, size_t size)
{
	const char *k = strstr(line, key);
	size_t n;

	out[0] = '\0';
	if (!k)
		return;
	k += strlen(key);
	if (*k == '"') {
		k++;
		n = strcspn(k, "\"");
	} else {
		n = strcspn(k, " \t");
	}
	snprintf(out, size, "%.*s", (int)n, k);
}

static int parse_match(struct sv_db *db, const char *line, unsigned no)
{
	struct match *m = &db->matches[db->nmatches];
	char probe[16];
	const char *p;
	int n = 0;

	memset(m, 0, sizeof(*m));
	if (db->nmatches == MAX_MATCHES || sscanf(line, "match %31s %15s %n", m->service, probe, &n) < 2)
		return errorf(-EINVAL, "services.txt:%u: bad match", no);
	if (!strcmp(probe, "*"))
		m->probe = -1;		/* an answer to any probe */
	else if ((m->probe = sv_db_find(db, probe)) < 0)
		return errorf(-EINVAL, "services.txt:%u: unknown probe '%s'", no, probe);
	p = line + n;
	if (*p == '/') {
		const char *end = strstr(p, "/ ") ? strstr(p, "/ ") : strrchr(p, '/');
		char re[256];

		if (end == p || (size_t)(end - p - 1) >= sizeof(re))
			return errorf(-EINVAL, "services.txt:%u: bad regex", no);
		snprintf(re, sizeof(re), "%.*s", (int)(end - p - 1), p + 1);
		if (regcomp(&m->re, re, REG_EXTENDED))
			return errorf(-EINVAL, "services.txt:%u: bad regex", no);
		m->kind = PAT_REGEX;
	} else {
		long len;

		m->kind = *p == '=' ? PAT_EXACT : PAT_PREFIX;
		if (*p == '=')
			p++;
		len = unquote(&p, m->bytes, m->wild, sizeof(m->bytes));
		if (len < 0)
			return errorf(-EINVAL, "services.txt:%u: bad pattern", no);
		m->len = (size_t)len;
	}
	kv(line, "product=", m->product, sizeof(m->product));
	kv(line, "version=", m->version, sizeof(m->version));
	db->nmatches++;
	return 0;
}

/* cpe "Apache httpd" apache:http_server */
static int parse_cpe(struct sv_db *db, const char *line, unsigned no)
{
	struct cpe *c = &db->cpes[db->ncpes];
	const char *p = line + 4;
	uint8_t name[64];
	long n;

	if (*p != '"') {	/* a product of one word needs no quotes */
		n = (long)strcspn(p, " ");
		if (n >= (long)sizeof(name))
			n = -1;
		else
			memcpy(name, p, (size_t)n);
		p += n > 0 ? n : 0;
	} else {
		n = unquote(&p, name, NULL, sizeof(name) - 1);
	}
	if (db->ncpes == MAX_CPES || n <= 0 || sscanf(p, " %63s", c->id) != 1 ||
	    !strchr(c->id, ':'))
		return errorf(-EINVAL, "services.txt:%u: bad cpe", no);
	memcpy(c->product, name, (size_t)n);
	c->product[n] = '\0';
	db->ncpes++;
	return 0;
}

int sv_db_probes(const struct sv_db *db)
{
	return (int)db->nprobes;
}

void sv_db_free(struct sv_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->nmatches; i++)
		if (db->matches[i].kind == PAT_REGEX)
			regfree(&db->matches[i].re);
	free(db);
}

/* ports=22,2222 wait=1500 after a probe's bytes */
static int probe_opts(struct probe *p, const char *rest)
{
	char ports[128], wait[16];
	struct port_range *v = NULL;
	size_t n = 0;
	unsigned long long w = 1500;

	kv(rest, "ports=", ports, sizeof(ports));
	kv(rest, "wait=", wait, sizeof(wait));
	if (wait[0] && parse_number(wait, 100, 10000, "wait", &w))
		return -EINVAL;
	p->wait_ms = (unsigned)w;
	if (!ports[0])
		return 0;
	if (portspec_parse(ports, &v, &n))
		return -EINVAL;
	for (size_t i = 0; i < n && p->nports < MAX_HINTS; i++)
		for (unsigned x = v[i].lo; x <= v[i].hi && p->nports < MAX_HINTS; x++)
			p->ports[p->nports++] = (uint16_t)x;
	free(v);
	return 0;
}

static int db_parse(struct sv_db *db)
{
	const char *s = services_db;
	unsigned no = 0;

	while (*s) {
		char line[512];
		size_t len = strcspn(s, "\n");

		no++;
		snprintf(line, sizeof(line), "%.*s", (int)len, s);
		s += len + (s[len] == '\n');
		if (!strncmp(line, "probe ", 6)) {
			struct probe *p = &db->probes[db->nprobes];
			const char *q;
			int n = 0;

			if (db->nprobes == MAX_PROBES || sscanf(line, "probe %15s %n", p->name, &n) < 1)
				return errorf(-EINVAL, "services.txt:%u: bad probe", no);
			q = line + n;
			if (!strncmp(q, "@tls", 4)) {
				p->tls = true;
				if (probe_opts(p, q + 4))
					return errorf(-EINVAL, "services.txt:%u: bad probe", no);
			} else {
				long l = unquote(&q, p->data, NULL, sizeof(p->data));

				if (l < 0 || probe_opts(p, q))
					return errorf(-EINVAL, "services.txt:%u: bad probe", no);
				p->len = (size_t)l;
			}
			db->nprobes++;
		} else if (!strncmp(line, "match ", 6) && parse_match(db, line, no)) {
			return -EINVAL;
		} else if (!strncmp(line, "cpe ", 4) && parse_cpe(db, line, no)) {
			return -EINVAL;
		}
	}
	return 0;
}

int sv_db_load(struct sv_db **out)
{
	struct sv_db *db = xcalloc(1, sizeof(*db));
	int r = db_parse(db);

	if (r) {
		sv_db_free(db);
		return r;
	}
	*out = db;
	return 0;
}

static bool pattern_ok(const struct match *m, const uint8_t *r, size_t n, const char *text,
		       regmatch_t *g)
{
	if (m->kind == PAT_REGEX)
		return !regexec(&m->re, text, 10, g, 0);
	if (n < m->len || (m->kind == PAT_EXACT && n != m->len))
		return false;
	for (size_t i = 0; i < m->len; i++)
		if (!m->wild[i] && r[i] != m->bytes[i])
			return false;
	return true;
}

static void expand(const char *tmpl, const char *text, const regmatch_t *g, char *out, size_t size)
{
	size_t k = 0;

	for (const char *p = tmpl; *p && k + 1 < size; p++) {
		if (*p == '$' && p[1] >= '1' && p[1] <= '9' && g[p[1] - '0'].rm_so >= 0) {
			const regmatch_t *m = &g[p[1] - '0'];

			for (regoff_t i = m->rm_so; i < m->rm_eo && k + 1 < size; i++)
				out[k++] = text[i];
			p++;
		} else {
			out[k++] = *p;
		}
	}
	out[k] = '\0';
}

/* Printable ASCII of p[0, n) into out, the rest as '.' */
static void printable(char *out, size_t size, const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < size; i++)
		out[k++] = p[i] >= 32 && p[i] < 127 ? (char)p[i] : '.';
	out[k] = '\0';
}

/* What DNS servers put in version.bind, and whose words they are. BIND's
 * own answer is its bare version ("9.18.41-1~deb12u1-Debian"), which no
 * other server here sends: that, and only that, names BIND. */
static const struct {
	const char *prefix, *product;
} dns_versions[] = {
	{ "dnsmasq-", "dnsmasq" },
	{ "unbound ", "Unbound" },
	{ "NSD ", "NSD" },
	{ "Knot DNS ", "Knot DNS" },
	{ "PowerDNS Authoritative Server ", "PowerDNS Authoritative Server" },
	{ "PowerDNS Recursor ", "PowerDNS Recursor" },
	{ "portkit ", "portkit" },
};

static bool bind_like(const char *t)
{
	size_t n = strspn(t, "0123456789.");
	int dots = 0;

	for (size_t i = 0; i < n; i++)
		dots += t[i] == '.';
	return n > 4 && t[0] == '9' && t[1] == '.' && t[n - 1] != '.' && dots == 2 &&
	       (!t[n] || t[n] == '-' || t[n] == '~' || t[n] == ' ');
}

bool sv_dns_version(const uint8_t *b, size_t n, struct sv_name *r)
{
	size_t off = 12, len;
	char txt[64];

	/* one question, an answer: the question's name and type/class, the
	 * answer's name, then its type (TXT), class, TTL, length, the string */
	if (n < 12 || get_be16(b + 4) != 1 || !get_be16(b + 6) ||
	    !(off = dns_name_read(b, n, off, NULL, 0, 0)) || (off += 4) > n ||
	    !(off = dns_name_read(b, n, off, NULL, 0, 0)) || off + 11 > n || get_be16(b + off) != 16)
		return false;
	off += 10;
	if (off >= n || b[off] == 0 || off + 1 + b[off] > n)
		return false;
	printable(txt, sizeof(txt), b + off + 1, b[off]);
	for (size_t i = 0; i < sizeof(dns_versions) / sizeof(dns_versions[0]); i++) {
		len = strlen(dns_versions[i].prefix);
		if (strncmp(txt, dns_versions[i].prefix, len))
			continue;
		snprintf(r->product, sizeof(r->product), "%s", dns_versions[i].product);
		snprintf(r->version, sizeof(r->version), "%.*s", (int)strcspn(txt + len, " "),
			 txt + len);
		return true;
	}
	if (!bind_like(txt))
		return false;
	snprintf(r->product, sizeof(r->product), "ISC BIND");
	snprintf(r->version, sizeof(r->version), "%.*s", (int)strcspn(txt, "-~ "), txt);
	return true;
}

/* Tokens of a Server header that are protocols or platforms, not the
 * software that answered ("Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0") */
static const char *const not_products[] = {
	"Debian", "Ubuntu", "Raspbian", "Linux", "Unix", "UNIX", "POSIX", "Win32", "Win64",
	"CentOS", "Fedora", "FreeBSD", "HTTP", "UPnP", "DLNADOC", "IPP",
};

static bool not_product(const char *t, size_t n)
{
	for (size_t i = 0; i < sizeof(not_products) / sizeof(not_products[0]); i++)
		if (strlen(not_products[i]) == n && !strncmp(t, not_products[i], n))
			return true;
	return false;
}

/* RFC 9110 10.2.4: Server = product *( RWS ( product / comment ) ), a
 * product token ["/" version]: the first product that is not a protocol
 * or a platform, its version when it starts with a digit. In the header
 * block only (text is the reply with unprintable bytes as '.'). */
static void http_server(const char *text, struct sv_name *r)
{
	const char *end = strstr(text, "\r\n\r\n"), *h = text, *eol;

	for (;;) {
		h = strstr(h, "\r\n");
		if (!h || (end && h >= end))
			return;
		h += 2;
		if (!strncasecmp(h, "Server:", 7))
			break;
	}
	h += 7;
	eol = h + strcspn(h, "\r\n");
	while (h < eol) {
		size_t t, v = 0;
		const char *tok, *ver = NULL;

		if (*h == ' ' || *h == '\t') {
			h++;
			continue;
		}
		if (*h == '(') {		/* a comment, nested ones too */
			for (int depth = 0; h < eol; h++)
				if ((depth += (*h == '(') - (*h == ')')) == 0)
					break;
			h++;
			continue;
		}
		tok = h;
		t = strcspn(h, " \t/(\r\n");
		h += t;
		if (*h == '/') {
			ver = ++h;
			v = strcspn(h, " \t(\r\n;,");
			h += v;
		}
		if (!t || not_product(tok, t))
			continue;
		snprintf(r->product, sizeof(r->product), "%.*s", (int)t, tok);
		if (ver && v && ver[0] >= '0' && ver[0] <= '9')
			snprintf(r->version, sizeof(r->version), "%.*s", (int)v, ver);
		return;
	}
}

/* Products and versions that need more than a regex: product=@NAME */
static void extract_product(const char *name, const uint8_t *b, size_t n, const char *text,
			    struct sv_name *r)
{
	r->product[0] = r->version[0] = '\0';
	if (!strcmp(name, "http-server"))
		http_server(text, r);
	else if (!strcmp(name, "dns-version") && n > 2)
		sv_dns_version(b + 2, n - 2, r);	/* over TCP: a 2-byte length first */
}

/* Versions that sit in binary fields: version=@NAME in a match. */
static void extract(const char *name, const uint8_t *b, size_t n, char *out, size_t size)
{
	out[0] = '\0';
	/* SMB2 NEGOTIATE response: 4 bytes of NetBIOS, 64 of header, then
	 * StructureSize (2), SecurityMode (2), DialectRevision (2, LE) */
	if (!strcmp(name, "smb2-dialect") && n >= 4 + 64 + 6) {
		unsigned d = b[72] | b[73] << 8;

		snprintf(out, size, "SMB %x.%x.%x", d >> 8, (d >> 4) & 15, d & 15);
		if ((d & 15) == 0)
			snprintf(out, size, "SMB %x.%x", d >> 8, (d >> 4) & 15);
	}
}

void sv_tls_service(char *svc, size_t size)
{
	static const char *const names[][2] = {
		{ "http", "https" }, { "irc", "ircs-u" }, { "ipp", "ipps" },
	};
	size_t n = strlen(svc);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(svc, names[i][0])) {
			snprintf(svc, size, "%s", names[i][1]);
			return;
		}
	if (n + 1 < size)
		snprintf(svc + n, size - n, "s");	/* imaps, pop3s, smtps */
}

/* cpe:/a:VENDOR:NAME[:VERSION] for a product the file has a CPE for */
static void cpe(const struct sv_db *db, struct sv_name *r)
{
	r->cpe[0] = '\0';
	for (size_t i = 0; i < db->ncpes && r->product[0]; i++) {
		if (strcmp(db->cpes[i].product, r->product))
			continue;
		snprintf(r->cpe, sizeof(r->cpe), "cpe:/a:%s%s%.*s", db->cpes[i].id,
			 r->version[0] ? ":" : "", (int)strcspn(r->version, " "), r->version);
		return;
	}
}

bool sv_classify(const struct sv_db *db, int probe, const uint8_t *buf, size_t len,
		 struct sv_name *res)
{
	char text[REPLY_MAX + 1];
	regmatch_t g[10];

	if (probe < 0 || probe >= (int)db->nprobes)
		return false;
	if (len > REPLY_MAX)
		len = REPLY_MAX;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];

		text[i] = (char)((c >= 32 && c < 127) || c == '\r' || c == '\n' || c == '\t' ? c : '.');
	}
	text[len] = '\0';
	for (size_t i = 0; i < db->nmatches; i++) {
		const struct match *m = &db->matches[i];

		if ((m->probe != probe && m->probe != -1) || !pattern_ok(m, buf, len, text, g))
			continue;
		snprintf(res->svc, sizeof(res->svc), "%s", m->service);
		if (m->kind == PAT_REGEX) {
			expand(m->product, text, g, res->product, sizeof(res->product));
			expand(m->version, text, g, res->version, sizeof(res->version));
		} else {
			snprintf(res->product, sizeof(res->product), "%s", m->product);
			snprintf(res->version, sizeof(res->version), "%s", m->version);
		}
		if (res->product[0] == '@')
			extract_product(m->product + 1, buf, len, text, res);
		if (res->version[0] == '@')
			extract(res->version + 1, buf, len, res->version, sizeof(res->version));
		cpe(db, res);
		return true;
	}
	return false;
}

size_t sv_probe_bytes(const struct sv_db *db, int probe, uint16_t port, uint8_t *out)
{
	const struct probe *p = &db->probes[probe];

	memcpy(out, p->data, p->len);
	for (size_t i = 0; i + 5 <= p->len; i++)
		if (!memcmp(out + i, "%PORT", 5)) {
			char digits[6];

			snprintf(digits, sizeof(digits), "%05u", port);
			memcpy(out + i, digits, 5);
		}
	return p->len;
}

bool sv_probe_tls(const struct sv_db *db, int probe)
{
	return db->probes[probe].tls;
}

unsigned sv_probe_wait(const struct sv_db *db, int probe)
{
	return db->probes[probe].wait_ms;
}

const char *sv_probe_name(const struct sv_db *db, int probe)
{
	return db->probes[probe].name;
}

bool sv_probe_hinted(const struct sv_db *db, int probe, uint16_t port)
{
	for (size_t i = 0; i < db->probes[probe].nports; i++)
		if (db->probes[probe].ports[i] == port)
			return true;
	return false;
}
