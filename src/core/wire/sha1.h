/*
 * sha1.h - SHA-1 (FIPS 180-4) for Community ID flow hashes, and base64.
 * Not for anything that needs collision resistance.
 */
#ifndef PORTKIT_SHA1_H
#define PORTKIT_SHA1_H

#include <stddef.h>
#include <stdint.h>

void sha1(const void *data, size_t len, uint8_t out[20]);
/* Standard base64 with padding; out needs 4 * ((n + 2) / 3) + 1 bytes. */
void base64(const uint8_t *in, size_t n, char *out);

#endif
