/*
 * fuzz_scan_reply - libFuzzer harness for what --sv reads from a port: the
 * first byte picks the probe whose reply this is, the rest is the reply
 * (banner, HTTP, TLS records with certificates, RDP, ...).
 */
#include <stdint.h>
#include <string.h>

#include "scan/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sv_db *db;
	struct result r;
	int n;

	if (!db && sv_db_load(&db))
		__builtin_trap();
	n = sv_db_probes(db);
	if (size < 1 || n <= 0)
		return 0;
	memset(&r, 0, sizeof(r));
	sv_classify(db, data[0] % n, data + 1, size - 1, &r);
	if (strlen(r.svc) >= sizeof(r.svc) || strlen(r.tls_cn) >= sizeof(r.tls_cn))
		__builtin_trap();
	return 0;
}
