/*
 * pcapany.h - one capture on every interface of the current network
 * namespace ("any"), as portkit's live readers want it: SLL2 frames (each
 * names its interface and direction), the first snaplen bytes, every packet
 * readable at once (immediate mode), a BPF filter, non-blocking for an
 * event loop. A libpcap without SLL2 gives SLL: pcap_datalink() says which.
 * Shared by top's UDP counters without BPF and lab web's
 * ladders. The handle is the caller's: pcap_close().
 */
#ifndef PORTKIT_PCAPANY_H
#define PORTKIT_PCAPANY_H

#include <pcap/pcap.h>

/* The capture into *out: 0, or -errno with errorf "WHAT: ..." (no
 * permission said so) */
int pcap_any_open(const char *what, const char *filter, int snaplen, int bufsize, pcap_t **out);

#endif
