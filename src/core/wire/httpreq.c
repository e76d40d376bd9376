/*
 * httpreq.c - HTTP/1.x request heads (RFC 9112): the request line, then
 * header fields up to the empty line. Strict where it matters: no NUL or
 * bare control bytes, tokens for the method and field names, CRLF or LF
 * line ends, no obsolete line folding, no body.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/wire/httpreq.h"
#include "core/base/banned.h"

static bool tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the head (the byte after the empty line), or NULL */
static const char *head_end(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n' && ((i >= 1 && buf[i - 1] == '\n') ||
				       (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')))
			return buf + i + 1;
	return NULL;
}

/* One line from *p up to end: its start and length without CR LF */
static const char *line(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));

	if (!nl)
		return NULL;
	*p = nl + 1;
	*len = (size_t)(nl - s) - (nl > s && nl[-1] == '\r');
	return s;
}

static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t k = strlen(tok);

	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(v + i, tok, k))
			return true;
	return false;
}

static int request_line(const char *s, size_t n, struct http_req *r)
{
	size_t i = 0, m = 0, p = 0;

	while (i < n && tchar((unsigned char)s[i]) && m + 1 < sizeof(r->method))
		r->method[m++] = s[i++];
	r->method[m] = '\0';
	if (!m || i >= n || s[i] != ' ')
		return -400;
	i++;
	if (i >= n || s[i] != '/')
		return -400;	/* origin form only */
	for (; i < n && s[i] != ' '; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return -400;
		if (p + 1 >= sizeof(r->path))
			return -414;
		r->path[p++] = (char)c;
	}
	r->path[p] = '\0';
	r->query[0] = '\0';
	if (strchr(r->path, '?')) {
		char *q = strchr(r->path, '?');

		snprintf(r->query, sizeof(r->query), "%s", q + 1);	/* as long as path: fits */
		*q = '\0';
	}
	if (i >= n || s[i] != ' ')
		return -400;
	i++;
	if (n - i != 8 || memcmp(s + i, "HTTP/1.", 7) || !isdigit((unsigned char)s[i + 7]))
		return n - i == 8 && !memcmp(s + i, "HTTP/", 5) ? -505 : -400;
	r->minor = s[i + 7] - '0';
	r->keep_alive = r->minor >= 1;
	return 0;
}

int http_req_parse(const char *buf, size_t n, struct http_req *r)
{
	const char *end, *p = buf, *s;
	size_t len;
	int e;

	memset(r, 0, sizeof(*r));
	if (memchr(buf, '\0', n))
		return -400;
	end = head_end(buf, n > HTTPREQ_MAX ? HTTPREQ_MAX : n);
	if (!end)
		return n >= HTTPREQ_MAX ? -431 : 0;
	while ((s = line(&p, end, &len)) && !len)
		;		/* empty lines before a request are allowed */
	if (!s)
		return -400;
	if ((e = request_line(s, len, r)))
		return e;
	while ((s = line(&p, end, &len)) && len) {
		size_t k = 0;
		const char *v;
		size_t vn;

		while (k < len && tchar((unsigned char)s[k]))
			k++;
		if (!k || k >= len || s[k] != ':')
			return -400;	/* also obsolete folding: a line that starts with space */
		for (size_t i = k + 1; i < len; i++)
			if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
				return -400;
		v = s + k + 1;
		vn = len - k - 1;
		if ((k == 14 && !strncasecmp(s, "Content-Length", 14)) ||
		    (k == 17 && !strncasecmp(s, "Transfer-Encoding", 17))) {
			size_t i = 0;

			while (i < vn && (v[i] == ' ' || v[i] == '\t'))
				i++;
			if (k == 17 || i == vn || v[i] != '0' || (i + 1 < vn && v[i + 1] != ' ' &&
								     v[i + 1] != '\t'))
				return -501;	/* a body: nothing here takes one */
		} else if (k == 10 && !strncasecmp(s, "Connection", 10)) {
			if (has_token(v, vn, "close"))
				r->keep_alive = false;
			else if (has_token(v, vn, "keep-alive"))
				r->keep_alive = true;
		} else if (k == 6 && !strncasecmp(s, "Accept", 6)) {
			r->openmetrics = has_token(v, vn, "application/openmetrics-text");
		} else if ((k == 4 && !strncasecmp(s, "Host", 4)) ||
			   (k == 6 && !strncasecmp(s, "Origin", 6))) {
			char *to = k == 4 ? r->host : r->origin;
			size_t size = k == 4 ? sizeof(r->host) : sizeof(r->origin);

			while (vn && (*v == ' ' || *v == '\t'))
				v++, vn--;
			while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (vn >= size || to[0])
				return -400;	/* too long, or said twice */
			memcpy(to, v, vn);
			to[vn] = '\0';
		}
	}
	return (int)(end - buf);
}
