/*
 * udpcount_bpf.h - the kernel side of core/udpcount: bpf/udpcount.bpf.c
 * loaded as a light skeleton, attached to the root cgroup v2 with two BPF
 * links, and its map read in batches. Private to core/udpcount.c.
 */
#ifndef PORTKIT_UDPCOUNT_BPF_H
#define PORTKIT_UDPCOUNT_BPF_H

#include <stddef.h>
#include <stdint.h>

/* The map's value, as bpf/udpcount.bpf.c writes it: cumulative counters */
struct udp_val {
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
	uint8_t family, pad;
	uint16_t lport, rport;	/* host order */
	uint8_t pad2[2];
	uint32_t uid;
	uint8_t laddr[16], raddr[16];
};

struct udpcount_kern;

/* Load and attach; 0, or -errno with error_msg() ("UDP counters: ...") */
int udpcount_kern_open(struct udpcount_kern **out);
/* Every entry of the map into (*keys, *vals), grown as needed (*cap
 * entries; the caller frees both): BPF_MAP_LOOKUP_BATCH, or one lookup per
 * key where the kernel has no batches. 0 or -errno. */
int udpcount_kern_dump(struct udpcount_kern *k, uint64_t **keys, struct udp_val **vals,
		       size_t *n, size_t *cap);
/* Delete cookie's entry, giving its last value: 1, 0 when it is not there,
 * -errno */
int udpcount_kern_take(struct udpcount_kern *k, uint64_t cookie, struct udp_val *v);
/* Datagrams the programs could not count (the map full), summed over CPUs */
uint64_t udpcount_kern_lost(const struct udpcount_kern *k);
/* Detach (closing the links) and unload; accepts NULL */
void udpcount_kern_close(struct udpcount_kern *k);

#endif
