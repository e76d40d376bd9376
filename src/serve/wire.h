/*
 * wire.h - what the responders share inside src/serve: reading a line
 * (integers in either byte order come from core/wire/wire.h), and the binary
 * protocols' entry points (binary.c, smb.c) for the table in responders.c.
 */
#ifndef PORTKIT_SERVE_WIRE_H
#define PORTKIT_SERVE_WIRE_H

#include <stdint.h>
#include <string.h>

#include "core/wire/wire.h"
#include "serve/serve.h"

/* The next line in d (without its CR LF) and its length with them, or 0
 * when it is not whole yet. */
static inline size_t line_of(const uint8_t *d, size_t n, size_t *len)
{
	const uint8_t *nl = memchr(d, '\n', n);

	if (!nl)
		return 0;
	*len = (size_t)(nl - d);
	if (*len && d[*len - 1] == '\r')
		(*len)--;
	return (size_t)(nl - d) + 1;
}

/* tls.c: a TLS server session over c's bytes (see tls.c); NULL when no
 * key or certificate could be made. Freed by serve_tls_free (NULL too). */
struct serve_tls *serve_tls_new(const char *host);
enum { TLS_FAIL = -1, TLS_MORE = 0, TLS_DATA = 1 };
/* The client's bytes in, the server's appended to c->out: TLS_MORE while
 * the handshake goes on or the client says nothing, TLS_DATA once it has
 * sent application data (read and dropped), TLS_FAIL when the handshake
 * failed (the alert is in c->out) */
int serve_tls_input(struct serve_tls *t, struct conn *c, const uint8_t *d, size_t n);
/* close_notify into c->out */
void serve_tls_close(struct serve_tls *t, struct conn *c);
void serve_tls_free(struct serve_tls *t);

/* binary.c */
void ssh_greet(struct conn *c);
size_t ssh_input(struct conn *c, const uint8_t *d, size_t n);
size_t rdp_input(struct conn *c, const uint8_t *d, size_t n);
void rdp_end(struct conn *c);
/* MS-RDPBCGR 2.2.1.2: a server offering TLS and standard RDP security
 * answers requestedProtocols with the selected protocol (>= 0) or the
 * negated failure code */
int rdp_select(uint32_t requested);

/* smb.c */
size_t smb_input(struct conn *c, const uint8_t *d, size_t n);
/* The NTLMSSP message in a SESSION_SETUP security buffer p[0, n): bare, or
 * the mechanism token of SPNEGO's negTokenInit or negTokenResp; NULL when
 * there is none. The result points into p (*len bytes, at least 12). */
const uint8_t *smb_security_token(const uint8_t *p, size_t n, size_t *len);
void mysql_greet(struct conn *c);
size_t mysql_input(struct conn *c, const uint8_t *d, size_t n);

#endif
