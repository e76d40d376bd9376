/*
 * records.c - the ls and nat JSON records (records.h).
 */
#include <linux/netfilter/nf_conntrack_common.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/host/records.h"
#include "core/vocab/addr.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "core/base/banned.h"

char sock_server_side(const struct sock_rec *r, int listens)
{
	struct side_hints h = { 0 };

	/* a listening or unconnected socket is the server end itself */
	if (r->state == SS_LISTEN || r->state == SS_CLOSE)
		h.a_listens = HINT_YES;
	else if (r->proto == IPPROTO_TCP && listens > 0)
		h.a_listens = HINT_YES;
	else if (r->proto == IPPROTO_TCP && listens == 0)
		h.a_listens = HINT_NO;	/* no listener here: we are the client */
	return port_server_side(proto_from_ip(r->proto), r->lport, r->rport, &h) == 'a' ? 'l' : 'r';
}

static bool remote_any(const struct sock_rec *r)
{
	return r->rport == 0 && addr_is_any(r->family, r->raddr);
}

void sock_record_json(struct out *o, const struct sock_rec *r, char side, const char *ifname)
{
	char la[ADDR_STRLEN], ra[ADDR_STRLEN];
	unsigned port = side == 'l' ? r->lport : side == 'r' ? r->rport : 0;
	struct port_info pi = { 0 };

	if (port)
		port_info((uint16_t)port, proto_from_ip(r->proto), &pi);
	out_kv_str(o, "proto", r->proto == IPPROTO_TCP ? "tcp" : "udp");
	out_kv_str(o, "family", r->family == AF_INET ? "inet" : "inet6");
	out_kv_str(o, "local_addr", addr_format(r->family, r->laddr, la));
	out_kv_uint(o, "local_port", r->lport);
	/* a listener or an unconnected UDP socket has no remote end: null */
	if (remote_any(r)) {
		out_kv_null(o, "remote_addr");
		out_kv_null(o, "remote_port");
	} else {
		out_kv_str(o, "remote_addr", addr_format(r->family, r->raddr, ra));
		out_kv_uint(o, "remote_port", r->rport);
	}
	out_kv_str(o, "state", state_name(r->state));
	out_kv_uint(o, "recv_q", r->rqueue);
	out_kv_uint(o, "send_q", r->wqueue);
	out_kv_str(o, "service", port ? pi.service : NULL);
	out_kv_str(o, "common_name", port ? pi.common : NULL);
	out_kv_str(o, "server_side", side == 'l' ? "local" : side == 'r' ? "remote" : NULL);
	out_kv_str(o, "local_category", category_name(port_category(r->lport)));
	if (remote_any(r))
		out_kv_null(o, "remote_category");
	else
		out_kv_str(o, "remote_category", category_name(port_category(r->rport)));
	out_kv_uint(o, "uid", r->uid);
	out_kv_uint(o, "inode", r->inode);
	/* every record has every key; null where it does not apply */
	out_kv_str(o, "interface", r->ifindex ? ifname : NULL);
	if (r->v6only >= 0 && r->family == AF_INET6)
		out_kv_bool(o, "v6only", r->v6only);
	else
		out_kv_null(o, "v6only");
}

const char *nat_l4_name(unsigned p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_ICMP ? "icmp"
	       : p == IPPROTO_ICMPV6 ? "icmpv6" : p == IPPROTO_SCTP ? "sctp" : "other";
}

uint16_t nat_server_port(const struct nat_entry *e)
{
	return e->status & IPS_DST_NAT ? e->reply.sport : e->orig.dport;
}

static bool has_ports(const struct nat_entry *e)
{
	return e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP || e->proto == IPPROTO_SCTP;
}

static void kv_count(struct out *o, const char *key, bool known, uint64_t v)
{
	if (known)
		out_kv_uint(o, key, v);
	else
		out_kv_null(o, key);
}

void nat_record_json(struct out *o, const struct nat_entry *e, const char *netns)
{
	char a[ADDR_STRLEN];
	bool ports = has_ports(e);
	const struct nat_tuple *t[2] = { &e->orig, &e->reply };
	static const char *const keys[2][4] = {
		{ "orig_src_addr", "orig_src_port", "orig_dst_addr", "orig_dst_port" },
		{ "reply_src_addr", "reply_src_port", "reply_dst_addr", "reply_dst_port" },
	};
	const struct curated *c = ports ? curated_at(nat_server_port(e), proto_from_ip(e->proto))
					: NULL;

	out_kv_str(o, "proto", nat_l4_name(e->proto));
	out_kv_str(o, "family", e->family == AF_INET ? "inet" : "inet6");
	out_kv_str(o, "state", e->proto == IPPROTO_TCP ? nat_tcp_state(e->tcp_state) : NULL);
	out_kv_bool(o, "assured", e->status & IPS_ASSURED);
	out_kv_bool(o, "unreplied", !(e->status & IPS_SEEN_REPLY));
	for (int i = 0; i < 2; i++) {
		out_kv_str(o, keys[i][0], addr_format(e->family, t[i]->src, a));
		kv_count(o, keys[i][1], ports, t[i]->sport);
		out_kv_str(o, keys[i][2], addr_format(e->family, t[i]->dst, a));
		kv_count(o, keys[i][3], ports, t[i]->dport);
	}
	out_kv_str(o, "translation", nat_translation(e));
	out_kv_str(o, "service", ports ? registry_service(nat_server_port(e), proto_from_ip(e->proto))
				       : NULL);
	out_kv_str(o, "common_name", c ? c->name : NULL);
	out_kv_uint(o, "timeout", e->timeout);
	out_kv_uint(o, "mark", e->mark);
	out_kv_uint(o, "zone", e->zone);
	kv_count(o, "orig_packets", e->counters, e->orig_packets);
	kv_count(o, "orig_bytes", e->counters, e->orig_bytes);
	kv_count(o, "reply_packets", e->counters, e->reply_packets);
	kv_count(o, "reply_bytes", e->counters, e->reply_bytes);
	out_kv_uint(o, "id", e->id);
	out_kv_str(o, "netns", netns);
}
