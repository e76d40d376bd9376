/*
 * fuzz_httpreq - libFuzzer harness for the HTTP request-head reader
 * (core/wire/httpreq.c) behind forward --metrics: every prefix of the input, as
 * the bytes would arrive in pieces, and the whole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct http_req r;

	memcpy(buf, data, size);
	for (size_t n = 0; n <= size; n += 1 + n / 4) {
		int k = http_req_parse(buf, n, &r);

		if (k > 0 && (size_t)k > n)
			abort();	/* a head longer than the bytes given */
		if (k > 0 && (!r.method[0] || r.path[0] != '/'))
			abort();
	}
	free(buf);
	return 0;
}
