/*
 * top.c - our own ranking of the ports most often found open, for --top N.
 *
 * Written by us from the curated table (src/core/vocab/curated.c) and common
 * experience of what servers and appliances run; not derived from nmap's
 * data files (no measured ranking with a usable licence was at hand: see
 * docs/scan.md). Past the list come the ports our curated table knows, then
 * the ports IANA registers a service on for this protocol, each in port
 * order, then the rest, so --top N always yields N ports and the filler is
 * services, not port numbers.
 */
#include <stdbool.h>
#include <string.h>

#include "core/vocab/registry.h"
#include "scan/scan.h"
#include "core/base/banned.h"

static const uint16_t tcp_rank[] = {
	80, 443, 22, 21, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 23, 993, 995, 587,
	8443, 111, 5900, 1723, 465, 5432, 6379, 8000, 8888, 3000, 5000, 9000, 27017, 9200, 11211,
	2375, 2379, 6443, 10250, 1433, 1521, 389, 636, 88, 464, 3268, 5985, 5986, 873, 2049, 179,
	1080, 3128, 8081, 8008, 8009, 9090, 9100, 5601, 15672, 5672, 1883, 8883, 6667, 5060, 5061,
	554, 548, 631, 515, 2222, 4444, 5555, 7001, 8086, 8200, 8500, 9042, 9092, 2181, 5984,
	25565, 27015, 50070, 8088, 1099, 4369, 10255, 10000, 10050, 10051, 902, 7474, 7687, 3690,
	9418, 8123, 4222, 5044, 20000, 102, 502, 44818, 1194, 990, 119, 79, 513, 512, 514,
};

static const uint16_t udp_rank[] = {
	53, 123, 161, 137, 138, 67, 68, 69, 500, 4500, 514, 520, 1900, 5353, 5355, 11211, 1434,
	5060, 1194, 51820, 162, 111, 2049, 3478, 1812, 1813, 623, 427, 389, 88, 464, 19, 17, 7,
	13, 37, 1701, 4789, 5683, 47808, 27015, 8125, 443, 3389, 631, 177, 1645, 1646, 2000,
	10000, 20000, 44818, 3702, 5004, 5005, 6881, 9987, 10001, 1024, 1025, 49152, 49153,
	49154, 9200, 2048, 8000, 8080, 6000, 4000, 3283, 5351, 1604, 26000, 2302, 2303, 6112,
	7777, 7778, 12203, 25565, 27016, 28960, 33434, 17185, 546, 547, 521, 853, 2055, 4739,
	6343, 9995, 2123, 2152, 3784, 626, 10161, 5632, 1812, 1900, 5355, 3074, 3544, 4380,
};

size_t top_ports(unsigned proto, unsigned n, uint16_t *out)
{
	const uint16_t *rank = proto == PROTO_UDP ? udp_rank : tcp_rank;
	size_t nrank = proto == PROTO_UDP ? sizeof(udp_rank) / sizeof(udp_rank[0])
					  : sizeof(tcp_rank) / sizeof(tcp_rank[0]);
	static bool taken[65536];
	size_t k = 0;

	memset(taken, 0, sizeof(taken));
	for (size_t i = 0; i < nrank && k < n; i++) {
		if (taken[rank[i]])
			continue;
		taken[rank[i]] = true;
		out[k++] = rank[i];
	}
	for (size_t i = 0; i < curated_count() && k < n; i++) {
		const struct curated *c = curated_entry(i);

		if (!(c->protos & proto))
			continue;
		for (unsigned p = c->lo; p <= c->hi && k < n; p++)
			if (!taken[p]) {
				taken[p] = true;
				out[k++] = (uint16_t)p;
			}
	}
	for (unsigned p = 1; p < 65536 && k < n; p++) {
		if (!taken[p] && registry_service((uint16_t)p, proto)) {
			taken[p] = true;
			out[k++] = (uint16_t)p;
		}
	}
	for (unsigned p = 1; p < 65536 && k < n; p++) {
		if (!taken[p]) {
			taken[p] = true;
			out[k++] = (uint16_t)p;
		}
	}
	return k;
}
