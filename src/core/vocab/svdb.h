/*
 * svdb.h - the service database: the probes `scan --sv` and `audit` send
 * to a TCP port and what the answers mean, from data/services.txt
 * (compiled in). Loading parses it once (regexes compiled: a few hundred
 * microseconds); the caller owns the struct sv_db (sv_db_free accepts
 * NULL). Classifying reads only the reply it is given: no I/O here.
 */
#ifndef PORTKIT_SVDB_H
#define PORTKIT_SVDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What answered, as the matching line names it. */
struct sv_name {
	char svc[32];		/* "rdp", "http", "ssh": the file's service words */
	char product[64];
	char version[32];
	char cpe[96];		/* "cpe:/a:openbsd:openssh:9.2p1", "" when unknown */
};

struct sv_db;
/* 0 or -EINVAL with error_msg() */
int sv_db_load(struct sv_db **out);
void sv_db_free(struct sv_db *db);
int sv_db_probes(const struct sv_db *db);
/* The bytes of probe number probe into out (256 bytes), each "%PORT" in
 * them the port asked, in five digits (IRC's nick: two ports of one server
 * asked at once must not register the same nick); returns the length, 0
 * for "just listen". */
size_t sv_probe_bytes(const struct sv_db *db, int probe, uint16_t port, uint8_t *out);
unsigned sv_probe_wait(const struct sv_db *db, int probe);	/* ms */
bool sv_probe_tls(const struct sv_db *db, int probe);	/* the handshake step */
const char *sv_probe_name(const struct sv_db *db, int probe);
/* The probe called name, or -1. */
int sv_db_find(const struct sv_db *db, const char *name);
/* Is port one the probe is meant for (tried before the others)? */
bool sv_probe_hinted(const struct sv_db *db, int probe, uint16_t port);
/* The reply parser itself: does what answered probe number `probe` match
 * a service? Fills res when it does. (fuzzed) */
bool sv_classify(const struct sv_db *db, int probe, const uint8_t *buf, size_t len,
		 struct sv_name *res);

/* svc as the registry names it inside TLS: https, ircs-u, ipps, else svc
 * with an "s" (imaps, pop3s, smtps); svc holds size bytes. */
void sv_tls_service(char *svc, size_t size);

/* A DNS message answering version.bind CH TXT (msg[0, n), no TCP length):
 * the product and version when the text names them ("unbound 1.17.1",
 * "dnsmasq-2.90", BIND's bare "9.18.41-1~deb12u1-Debian"); false when the
 * message is no such answer or the text names nobody. (fuzzed) */
bool sv_dns_version(const uint8_t *msg, size_t n, struct sv_name *out);

#endif
