/*
 * tls.c - the server side of TLS for a responder that turns to it in the
 * middle of its protocol (RDP once PROTOCOL_SSL is chosen), with OpenSSL
 * over memory BIOs: the responder still owns no socket, the client's
 * bytes go in and the server's come out into c->out, and the fuzzer runs
 * it like the rest.
 *
 * The key and certificate are made at the first handshake and kept for
 * the process: an EC P-256 key (about a millisecond, where RSA would take
 * a hundred), self-signed for --hostname, valid from a day before for a
 * year. TLS 1.2 and 1.3, as xrdp's default. A session costs OpenSSL's
 * few kilobytes while the connection lasts; nothing is stored.
 */
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <time.h>

#include "core/base/xalloc.h"
#include "serve/wire.h"
#include "core/base/banned.h"

struct serve_tls {
	SSL *ssl;
	BIO *in, *out;		/* the client's bytes, the server's (OpenSSL owns both) */
};

/* A self-signed certificate for host, and its key, into a new context */
static SSL_CTX *ctx_new(const char *host)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *ctx = NULL;
	X509_NAME *name;

	if (!key || !x)
		goto done;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	name = X509_get_subject_name(x);
	if (!X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host, -1,
					-1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_sign(x, key, EVP_sha256()))
		goto done;
	if (!(ctx = SSL_CTX_new(TLS_server_method())))
		goto done;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
done:
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

struct serve_tls *serve_tls_new(const char *host)
{
	static SSL_CTX *ctx;
	struct serve_tls *t;

	if (!ctx && !(ctx = ctx_new(host)))
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->in = BIO_new(BIO_s_mem());
	t->out = BIO_new(BIO_s_mem());
	t->ssl = SSL_new(ctx);
	if (!t->in || !t->out || !t->ssl) {
		BIO_free(t->in);
		BIO_free(t->out);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	SSL_set_bio(t->ssl, t->in, t->out);
	SSL_set_accept_state(t->ssl);
	return t;
}

/* What OpenSSL has to say goes out */
static void drain(struct serve_tls *t, struct conn *c)
{
	uint8_t buf[4096];
	int k;

	while ((k = BIO_read(t->out, buf, sizeof(buf))) > 0)
		conn_put(c, buf, (size_t)k);
}

int serve_tls_input(struct serve_tls *t, struct conn *c, const uint8_t *d, size_t n)
{
	uint8_t app[1024];
	int r = TLS_MORE;

	if (n > INT32_MAX || BIO_write(t->in, d, (int)n) != (int)n)
		return TLS_FAIL;
	if (!SSL_is_init_finished(t->ssl)) {
		int k = SSL_do_handshake(t->ssl);

		if (k <= 0 && SSL_get_error(t->ssl, k) != SSL_ERROR_WANT_READ)
			r = TLS_FAIL;	/* the alert, if any, still goes out */
	}
	if (r == TLS_MORE && SSL_is_init_finished(t->ssl)) {
		int k = SSL_read(t->ssl, app, sizeof(app));

		if (k > 0)
			r = TLS_DATA;
		else if (SSL_get_error(t->ssl, k) != SSL_ERROR_WANT_READ)
			r = TLS_FAIL;
	}
	drain(t, c);
	return r;
}

void serve_tls_close(struct serve_tls *t, struct conn *c)
{
	SSL_shutdown(t->ssl);
	drain(t, c);
}

void serve_tls_free(struct serve_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);	/* and its BIOs */
	free(t);
}
