/*
 * test_records.c - the ls and nat JSON records (core/host/records) that
 * ls, nat and lab web share: every field, which end is the server.
 */
#include <linux/netfilter/nf_conntrack_common.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unit.h"
#include "core/base/out.h"
#include "core/host/records.h"

static char *sock_text(const struct sock_rec *r, char side)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *o = out_new(f, OUT_JSON, false);

	out_record_begin(o);
	sock_record_json(o, r, side, "lan");
	out_record_end(o);
	CHECK_INT(out_close(o), 0);
	fclose(f);
	return text;
}

static struct sock_rec client_rec(void)
{
	struct sock_rec r = { .family = AF_INET, .proto = IPPROTO_TCP, .state = SS_ESTABLISHED,
			      .v6only = -1, .lport = 45892, .rport = 80, .uid = 0, .inode = 7 };

	memcpy(r.laddr, (uint8_t[]){ 198, 18, 10, 12 }, 4);
	memcpy(r.raddr, (uint8_t[]){ 198, 18, 10, 10 }, 4);
	return r;
}

TEST(records_sock_client)
{
	struct sock_rec r = client_rec();
	char *t;

	CHECK_INT(sock_server_side(&r, 0), 'r');
	CHECK_INT(sock_server_side(&r, -1), 'r');
	t = sock_text(&r, 'r');
	CHECK_STR(t, "{\"proto\":\"tcp\",\"family\":\"inet\",\"local_addr\":\"198.18.10.12\","
		  "\"local_port\":45892,\"remote_addr\":\"198.18.10.10\",\"remote_port\":80,"
		  "\"state\":\"ESTAB\",\"recv_q\":0,\"send_q\":0,\"service\":\"http\","
		  "\"common_name\":\"HTTP\",\"server_side\":\"remote\",\"local_category\":\"registered\","
		  "\"remote_category\":\"well-known\",\"uid\":0,\"inode\":7,\"interface\":null,"
		  "\"v6only\":null}\n");
	free(t);
}

TEST(records_sock_listener_has_no_remote)
{
	struct sock_rec r = client_rec();
	char *t;

	r.state = SS_LISTEN;
	r.lport = 3350;
	r.rport = 0;
	memset(r.raddr, 0, sizeof(r.raddr));
	r.ifindex = 3;
	CHECK_INT(sock_server_side(&r, -1), 'l');
	t = sock_text(&r, 'l');
	CHECK(strstr(t, "\"remote_addr\":null,\"remote_port\":null,\"state\":\"LISTEN\""));
	CHECK(strstr(t, "\"local_port\":3350"));
	CHECK(strstr(t, "\"remote_category\":null"));
	CHECK(strstr(t, "\"interface\":\"lan\""));
	free(t);
	/* a listener on the local port makes a high port the server's */
	r = client_rec();
	r.lport = 50000;
	r.rport = 50001;
	CHECK_INT(sock_server_side(&r, 1), 'l');
}

TEST(records_nat_forward)
{
	struct nat_entry e = { .family = AF_INET, .proto = IPPROTO_TCP, .tcp_state = 3,
			       .status = IPS_DST_NAT | IPS_SEEN_REPLY, .id = 9 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *o = out_new(f, OUT_JSON, false);

	memcpy(e.orig.src, (uint8_t[]){ 198, 19, 1, 10 }, 4);
	memcpy(e.orig.dst, (uint8_t[]){ 198, 19, 0, 2 }, 4);
	e.orig.sport = 40000;
	e.orig.dport = 8080;
	memcpy(e.reply.src, (uint8_t[]){ 198, 18, 10, 10 }, 4);
	memcpy(e.reply.dst, (uint8_t[]){ 198, 19, 1, 10 }, 4);
	e.reply.sport = 80;
	e.reply.dport = 40000;
	CHECK_INT(nat_server_port(&e), 80);
	CHECK_STR(nat_l4_name(IPPROTO_UDP), "udp");
	out_record_begin(o);
	nat_record_json(o, &e, "pkl-router");
	out_record_end(o);
	CHECK_INT(out_close(o), 0);
	fclose(f);
	CHECK(strstr(text, "\"orig_dst_addr\":\"198.19.0.2\",\"orig_dst_port\":8080"));
	CHECK(strstr(text, "\"reply_src_addr\":\"198.18.10.10\",\"reply_src_port\":80"));
	CHECK(strstr(text, "\"translation\":\"dnat\",\"service\":\"http\""));
	CHECK(strstr(text, "\"orig_packets\":null"));
	CHECK(strstr(text, "\"id\":9,\"netns\":\"pkl-router\"}"));
	free(text);
}
