/*
 * fuzz_serve - libFuzzer harness for portkit serve's request parsers: the
 * first byte picks a responder, the rest arrives in pieces whose sizes the
 * next bytes choose, as the engine hands it over (what a responder leaves
 * unconsumed is kept and offered again with more). The DNS answerer also
 * gets the whole input as one datagram, and SMB's reader of SPNEGO and
 * NTLMSSP (which a SESSION_SETUP reaches only after a NEGOTIATE) as one
 * security buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"
#include "serve/wire.h"

static uint16_t data_open(struct conn *c)
{
	(void)c;
	return 40000;
}

static void data_send(struct conn *c, const void *p, size_t n, const char *done)
{
	(void)p;
	(void)n;
	conn_putf(c, "%s", done);
}

static const struct serve_ops ops = { data_open, data_send };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct serve_opts o = { .ndns = 2, .hostname = "fuzz" };
	struct conn c;
	uint8_t out[4096];
	size_t outlen = 0, at = 1;

	if (!size)
		return 0;
	strcpy(o.dns[0].name, "server1.lab");
	o.dns[0].addr.family = 2;
	strcpy(o.dns[1].name, "server1.lab");
	o.dns[1].addr.family = 10;
	memset(&c, 0, sizeof(c));
	c.r = responder_at(data[0] % responder_count());
	c.o = &o;
	c.ops = &ops;
	c.local.family = c.peer.family = 2;
	c.local.port = c.r->port;
	buf_init(&c.in, IN_MAX);
	buf_init(&c.out, OUT_MAX);
	if (c.r->greet)
		c.r->greet(&c);
	while (at < size && !c.closing) {
		size_t piece = 1 + data[at++] % 64, used;

		if (piece > size - at)
			piece = size - at;
		if (buf_add(&c.in, data + at, piece))
			break;
		at += piece;
		used = c.r->input(&c, (const uint8_t *)c.in.data, c.in.len);
		if (used > c.in.len)
			abort();	/* a responder must not claim more than it got */
		memmove(c.in.data, c.in.data + used, c.in.len - used);
		c.in.len -= used;
		c.out.len = 0;	/* as if written */
	}
	if (c.r->datagram)
		c.r->datagram(&c, data + 1, size - 1, out, &outlen, sizeof(out));
	if (outlen > sizeof(out))
		abort();
	{
		size_t len = 0;
		const uint8_t *tok = smb_security_token(data + 1, size - 1, &len);

		if (tok && (tok < data + 1 || len < 12 || len > (size_t)(data + size - tok)))
			abort();	/* the token lies inside the buffer */
	}
	if (c.r->end)
		c.r->end(&c);
	buf_free(&c.in);
	buf_free(&c.out);
	return 0;
}
