/*
 * show.c - the session list: an aligned table, or one JSON object per
 * socket with the fields of CLI.md's ls record.
 */
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/vocab/registry.h"
#include "core/host/records.h"
#include "core/host/users.h"
#include "sessions/sessions.h"
#include "core/base/banned.h"

enum { C_PROTO, C_STATE, C_RECVQ, C_SENDQ, C_LOCAL, C_REMOTE, C_SERVICE, C_PROCESS, C_NETNS };

static const char *const timer_names[] = { "", "on", "keepalive", "timewait", "persist" };

static bool remote_any(const struct sock_rec *r)
{
	return r->rport == 0 && addr_is_any(r->family, r->raddr);
}

static void owners_json(struct out *o, const struct session_set *s, const struct sock_rec *r)
{
	const struct proc_owner *ow[64];
	size_t n = owners_get(s->snap.owners, r->inode, ow, 64);

	out_arr_begin(o, "owners");
	for (size_t i = 0; i < n && i < 64; i++) {
		out_obj_begin(o, NULL);
		owner_fields_json(o, ow[i]);
		out_obj_end(o);
	}
	out_arr_end(o);
}

static void ext_json(struct out *o, const struct sock_rec *r)
{
	const struct tcp_ext *x = r->ext;

	if (r->timer && r->timer < 5) {
		out_kv_str(o, "timer", timer_names[r->timer]);
		out_kv_uint(o, "timer_expires_ms", r->expires_ms);
	} else {
		out_kv_null(o, "timer");
		out_kv_null(o, "timer_expires_ms");
	}
	if (!x) {
		out_kv_null(o, "tcp_info");	/* UDP */
		return;
	}
	out_obj_begin(o, "tcp_info");
	out_kv_uint(o, "rtt_us", x->rtt_us);
	out_kv_uint(o, "rttvar_us", x->rttvar_us);
	out_kv_uint(o, "min_rtt_us", x->min_rtt_us);
	out_kv_uint(o, "rto_us", x->rto_us);
	out_kv_uint(o, "cwnd", x->cwnd);
	out_kv_uint(o, "ssthresh", x->ssthresh);
	out_kv_uint(o, "unacked", x->unacked);
	out_kv_uint(o, "retrans", x->retrans);
	out_kv_uint(o, "total_retrans", x->total_retrans);
	out_kv_uint(o, "lost", x->lost);
	out_kv_uint(o, "bytes_acked", x->bytes_acked);
	out_kv_uint(o, "bytes_received", x->bytes_received);
	out_kv_uint(o, "bytes_sent", x->bytes_sent);
	out_kv_uint(o, "delivery_rate_bps", x->delivery_rate * 8);
	out_kv_str(o, "congestion", x->cong[0] ? x->cong : NULL);
	out_obj_end(o);
}

void session_json(struct out *o, const struct session_set *s, const struct sock_rec *r,
		  bool with_owners, bool extended)
{
	sock_record_json(o, r, server_side(s, r), r->ifindex ? ifname(r->ifindex) : NULL);
	if (with_owners)
		owners_json(o, s, r);
	out_kv_str(o, "netns", netns_name(s, r));
	if (extended)
		ext_json(o, r);
}

static void endpoint_cell(struct out *o, size_t col, const struct sock_rec *r, bool local)
{
	char ep[ENDPOINT_STRLEN + IF_NAMESIZE + 2];
	const uint8_t *addr = local ? r->laddr : r->raddr;
	unsigned port = local ? r->lport : r->rport;

	if (!local && remote_any(r)) {
		out_cell_str(o, col, "*");
		return;
	}
	if (local && r->ifindex) {
		char a[ADDR_STRLEN];

		addr_format(r->family, addr, a);
		out_cell(o, col, r->family == AF_INET6 ? "[%s]%%%s:%u" : "%s%%%s:%u", a,
			 ifname(r->ifindex), port);
		return;
	}
	endpoint_format(r->family, addr, port, ep);
	if (!port && !local) {
		/* a connected UDP socket's peer always has a port; this is "any" */
		size_t n = strlen(ep);

		ep[n - 1] = '*';
	}
	out_cell_str(o, col, ep);
}

static void process_cell(struct out *o, const struct session_set *s, const struct sock_rec *r)
{
	const struct proc_owner *ow[64];
	size_t n = owners_get(s->snap.owners, r->inode, ow, 64);
	struct buf b = BUF_INIT(4096);

	for (size_t i = 0; i < n && i < 64; i++)
		buf_addf(&b, "%s%s[%d]", i ? "," : "", ow[i]->comm, ow[i]->pid);
	out_cell(o, C_PROCESS, "%s", n ? buf_str(&b) : "-");
	buf_free(&b);
}

static void ext_note(struct out *o, const struct sock_rec *r)
{
	const struct tcp_ext *x = r->ext;
	struct buf b = BUF_INIT(1024);

	if (x)
		buf_addf(&b, "rtt %.2f/%.2f ms  cwnd %u  retrans %u/%u  sent %llu  acked %llu"
			     "  received %llu%s%s",
			 x->rtt_us / 1000.0, x->rttvar_us / 1000.0, x->cwnd, x->retrans,
			 x->total_retrans, (unsigned long long)x->bytes_sent,
			 (unsigned long long)x->bytes_acked,
			 (unsigned long long)x->bytes_received, x->cong[0] ? "  " : "", x->cong);
	if (r->timer && r->timer < 5)
		buf_addf(&b, "%stimer %s %.1fs", b.len ? "  " : "", timer_names[r->timer],
			 r->expires_ms / 1000.0);
	if (b.len)
		out_note(o, "%s", buf_str(&b));
	buf_free(&b);
}

void session_row(struct out *o, const struct ls_opts *opt, const struct session_set *s,
		 const struct sock_rec *r)
{
	const char *iana, *common, *ns = netns_name(s, r);
	char side = server_side(s, r);

	char num[24];

	out_cell_str(o, C_PROTO, r->proto == IPPROTO_TCP ? "tcp" : "udp");
	out_cell_str(o, C_STATE, state_name(r->state));
	out_cell_str(o, C_RECVQ, utoa(r->rqueue, num));
	out_cell_str(o, C_SENDQ, utoa(r->wqueue, num));
	endpoint_cell(o, C_LOCAL, r, true);
	endpoint_cell(o, C_REMOTE, r, false);
	if (r->state == SS_LISTEN)
		out_cell_style(o, C_STATE, STYLE_GREEN);
	if (!opt->cc.numeric) {
		server_service(s, r, &iana, &common);
		if (r->state == SS_LISTEN || r->state == SS_CLOSE)
			out_cell_str(o, C_SERVICE, common ? common : iana ? iana : "-");
		else if (common || iana)
			out_cell(o, C_SERVICE, "%s%s", common ? common : iana,
				 side == 'l' ? " (in)" : " (out)");
		else
			out_cell_str(o, C_SERVICE, "-");
	}
	if (opt->owners)
		process_cell(o, s, r);
	if (s->snap.nns > 1 || (s->snap.nns == 1 && !s->snap.ns[0].current))
		out_cell(o, C_NETNS, "%s", ns ? ns : "(this)");
	if (opt->q.ext)
		ext_note(o, r);
}

int show_list(const struct ls_opts *opt, const struct session_set *s)
{
	struct out_col cols[] = {
		{ "PROTO", 0 }, { "STATE", 0 }, { "RECV-Q", OUT_RIGHT }, { "SEND-Q", OUT_RIGHT },
		{ "LOCAL", 0 }, { "REMOTE", 0 }, { "SERVICE", 0 }, { "PROCESS", 0 },
		{ "NETNS", 0 },
	};
	struct out *o = cli_out(&opt->cc);

	if (opt->cc.numeric)
		cols[C_SERVICE].flags |= OUT_HIDDEN;
	if (!opt->owners)
		cols[C_PROCESS].flags |= OUT_HIDDEN;
	if (!(s->snap.nns > 1 || (s->snap.nns == 1 && !s->snap.ns[0].current)))
		cols[C_NETNS].flags |= OUT_HIDDEN;
	out_columns(o, cols, C_NETNS + 1);
	for (size_t i = 0; i < s->n; i++) {
		const struct sock_rec *r = &s->snap.t.v[s->order[i]];

		out_record_begin(o);
		if (out_is_json(o))
			session_json(o, s, r, opt->owners, opt->q.ext);
		else
			session_row(o, opt, s, r);
		out_record_end(o);
	}
	/* an empty screen is puzzling; a pipe gets nothing, as it asked */
	if (!s->n && !out_is_json(o) && isatty(STDOUT_FILENO))
		warnf("no sessions match%s", opt->states_set || opt->q.states == SS_ALL ? ""
					     : " (-l shows listeners, -a every state)");
	return out_close(o);
}

int ls_show(const struct ls_opts *o, const struct session_set *s)
{
	switch (o->view) {
	case VIEW_SUMMARY: return o->metrics ? show_summary_metrics(o, s) : show_summary(o, s);
	case VIEW_BY_REMOTE: return show_by_remote(o, s);
	default: return show_list(o, s);
	}
}
