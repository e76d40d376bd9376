/*
 * fuzz_scan_reply - libFuzzer harness for what --sv reads from a port: the
 * first byte picks the probe whose reply this is, the rest is the reply
 * (banner, HTTP, RDP, DNS, ...); the same bytes then go through the UDP
 * answer reader (DNS version.bind, NTP, SNMP sysDescr, memcached, SIP).
 */
#include <stdint.h>
#include <string.h>

#include "scan/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sv_db *db;
	struct result r;
	struct sv_name nm;
	int n;

	if (!db && sv_db_load(&db))
		__builtin_trap();
	n = sv_db_probes(db);
	if (size < 1 || n <= 0)
		return 0;
	memset(&nm, 0, sizeof(nm));
	sv_classify(db, data[0] % n, data + 1, size - 1, &nm);
	if (strlen(nm.product) >= sizeof(nm.product) || strlen(nm.version) >= sizeof(nm.version))
		__builtin_trap();
	memset(&r, 0, sizeof(r));
	udp_identify(data + 1, size - 1, &r);	/* the UDP answers too */
	if (strlen(r.banner) >= sizeof(r.banner) || strlen(r.version) >= sizeof(r.version))
		__builtin_trap();
	if (strlen(r.svc) >= sizeof(r.svc) || strlen(r.tls_cn) >= sizeof(r.tls_cn))
		__builtin_trap();
	return 0;
}
