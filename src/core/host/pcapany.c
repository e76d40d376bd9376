/*
 * pcapany.c - a capture on "any" for live readers (pcapany.h).
 */
#include <errno.h>

#include "core/base/log.h"
#include "core/host/pcapany.h"
#include "core/wire/pkt.h"
#include "core/base/banned.h"

#define PCAP_TIMEOUT_MS 100

int pcap_any_open(const char *what, const char *filter, int snaplen, int bufsize, pcap_t **out)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	pcap_t *h = pcap_create("any", err);
	int r;

	if (!h)
		return errorf(-ENODEV, "%s: cannot capture on 'any': %.120s", what, err);
	pcap_set_snaplen(h, snaplen);
	pcap_set_timeout(h, PCAP_TIMEOUT_MS);
	pcap_set_buffer_size(h, bufsize);
	/* each packet readable at once (TPACKET_V2), not a block per 100 ms: a
	 * read drains the ring first, so it sees every packet sent before it */
	pcap_set_immediate_mode(h, 1);
	if ((r = pcap_activate(h)) < 0) {
		r = r == PCAP_ERROR_PERM_DENIED ? -EPERM : -ENODEV;
		errorf(r, "%s: cannot capture on 'any': %.120s%s", what, pcap_geterr(h),
		       r == -EPERM ? " (capturing needs root)" : "");
		pcap_close(h);
		return r;
	}
	/* SLL2 where libpcap has it: it names the interface (callers read
	 * pcap_datalink()) */
	pcap_set_datalink(h, LINK_SLL2);
	if (pcap_compile(h, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		r = errorf(-EINVAL, "%s: cannot compile the filter: %.120s", what, pcap_geterr(h));
	} else {
		r = pcap_setfilter(h, &prog);
		pcap_freecode(&prog);
		if (r < 0)
			r = errorf(-EINVAL, "%s: cannot set the filter: %.120s", what, pcap_geterr(h));
		else if (pcap_setnonblock(h, 1, err) < 0)
			r = errorf(-EINVAL, "%s: %.120s", what, err);
	}
	if (r < 0) {
		pcap_close(h);
		return r;
	}
	*out = h;
	return 0;
}
