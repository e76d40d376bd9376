/*
 * httpreq.h - a small, strict HTTP/1.x request-head reader for portkit's
 * own endpoints (forward --metrics). It reads only what a scraper sends: a
 * request line and headers, no body. Everything else is refused with the
 * status to answer, never guessed at.
 */
#ifndef PORTKIT_HTTPREQ_H
#define PORTKIT_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPREQ_MAX 8192	/* a request head longer than this gets 431 */

struct http_req {
	char method[8];
	char path[256];		/* without the query string */
	char query[256];	/* what followed '?' in the target, or "" */
	int minor;		/* HTTP/1.<minor> */
	bool keep_alive;	/* the connection may carry another request */
	bool openmetrics;	/* Accept names application/openmetrics-text */
	char host[256];		/* the Host header's value, or "" */
	char origin[256];	/* the Origin header's value, or "" (a browser's, on a POST) */
};

/*
 * Parse the head at the start of buf (n bytes so far): the head's length
 * when it is complete, 0 when more bytes are needed, or minus the HTTP
 * status to answer (400 malformed, 414 path too long, 431 head too large,
 * 501 a body or transfer coding, 505 not HTTP/1.x).
 */
int http_req_parse(const char *buf, size_t n, struct http_req *r);

#endif
