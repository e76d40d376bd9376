/*
 * who.c - `portkit who PORT`: every socket on the port and every process
 * that holds it, with command line, systemd unit and container.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/host/procinfo.h"
#include "core/host/users.h"
#include "core/vocab/registry.h"
#include "sessions/sessions.h"
#include "core/base/banned.h"

enum { W_PROTO, W_STATE, W_LOCAL, W_REMOTE, W_PID, W_USER, W_COMMAND, W_UNIT, W_CONTAINER,
       W_NETNS };

struct pinfo {
	char cmdline[1024];
	char unit[256];
	char container[80];
};

static void info(const struct proc_owner *p, struct pinfo *pi)
{
	proc_cmdline(proc_root(), p->pid, pi->cmdline, sizeof(pi->cmdline));
	proc_cgroup(proc_root(), p->pid, pi->unit, sizeof(pi->unit), pi->container,
		    sizeof(pi->container));
}

static void json_rec(struct out *o, const struct session_set *s, const struct sock_rec *r)
{
	const struct proc_owner *ow[64];
	size_t n = owners_get(s->snap.owners, r->inode, ow, 64);
	struct pinfo first = { "", "", "" };

	session_json(o, s, r, false, false);
	out_arr_begin(o, "owners");
	for (size_t i = 0; i < n && i < 64; i++) {
		struct pinfo pi;

		info(ow[i], &pi);
		if (!i)
			first = pi;
		out_obj_begin(o, NULL);
		owner_fields_json(o, ow[i]);
		out_kv_str(o, "cmdline", pi.cmdline);
		out_kv_str(o, "unit", pi.unit[0] ? pi.unit : NULL);
		out_kv_str(o, "container", pi.container[0] ? pi.container : NULL);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_kv_str(o, "cmdline", n ? first.cmdline : NULL);
	out_kv_str(o, "unit", first.unit[0] ? first.unit : NULL);
	out_kv_str(o, "container", first.container[0] ? first.container : NULL);
}

static void cells(struct out *o, const struct session_set *s, const struct sock_rec *r)
{
	char ep[ENDPOINT_STRLEN];
	const char *ns = netns_name(s, r);

	out_cell(o, W_PROTO, "%s", r->proto == IPPROTO_TCP ? "tcp" : "udp");
	out_cell(o, W_STATE, "%s", state_name(r->state));
	out_cell(o, W_LOCAL, "%s", endpoint_format(r->family, r->laddr, r->lport, ep));
	if (r->rport || !addr_is_any(r->family, r->raddr))
		out_cell(o, W_REMOTE, "%s", endpoint_format(r->family, r->raddr, r->rport, ep));
	else
		out_cell(o, W_REMOTE, "*");
	out_cell(o, W_NETNS, "%s", ns ? ns : "");
}

/* "docker-<64 hex>.scope" reads as "docker-ab12ab12ab12….scope" in a table;
 * the JSON keeps the whole name. */
static const char *short_unit(const char *unit, char *out)
{
	size_t i = 0, k = 0;

	while (unit[i] && k < 250) {
		size_t h = strspn(unit + i, "0123456789abcdef");

		if (h >= 32) {
			k += (size_t)snprintf(out + k, 256 - k, "%.12s\u2026", unit + i);
			i += h;
			continue;
		}
		out[k++] = unit[i++];
	}
	out[k] = '\0';
	return out;
}

static void text_rec(struct out *o, const struct session_set *s, const struct sock_rec *r)
{
	char unit[256];

	const struct proc_owner *ow[64];
	size_t n = owners_get(s->snap.owners, r->inode, ow, 64);

	if (!n) {
		out_record_begin(o);
		cells(o, s, r);
		out_cell(o, W_PID, "-");
		out_cell(o, W_USER, "-");
		out_cell(o, W_COMMAND, "%s", r->inode ? "(not visible)" : "(kernel: no process)");
		out_record_end(o);
		return;
	}
	for (size_t i = 0; i < n && i < 64; i++) {
		struct pinfo pi;
		const char *u = user_name(ow[i]->uid);

		info(ow[i], &pi);
		out_record_begin(o);
		cells(o, s, r);
		out_cell(o, W_PID, "%d", ow[i]->pid);
		if (u)
			out_cell(o, W_USER, "%s", u);
		else
			out_cell(o, W_USER, "%u", ow[i]->uid);
		out_cell(o, W_COMMAND, "%s", ow[i]->comm);
		out_cell(o, W_UNIT, "%s", pi.unit[0] ? short_unit(pi.unit, unit) : "-");
		out_cell(o, W_CONTAINER, "%.12s", pi.container[0] ? pi.container : "-");
		if (pi.cmdline[0])
			out_note(o, "%s", pi.cmdline);
		out_record_end(o);
	}
}

int who_show(const struct ls_opts *opt, const struct session_set *s)
{
	struct out_col cols[] = {
		{ "PROTO", 0 }, { "STATE", 0 }, { "LOCAL", 0 }, { "REMOTE", 0 },
		{ "PID", OUT_RIGHT }, { "USER", 0 }, { "COMMAND", 0 }, { "UNIT", 0 },
		{ "CONTAINER", 0 }, { "NETNS", 0 },
	};
	struct out *o = cli_out(&opt->cc);
	int e;

	if (!(s->snap.nns > 1 || (s->snap.nns == 1 && !s->snap.ns[0].current)))
		cols[W_NETNS].flags |= OUT_HIDDEN;
	out_columns(o, cols, W_NETNS + 1);
	for (size_t i = 0; i < s->n; i++) {
		const struct sock_rec *r = &s->snap.t.v[s->order[i]];

		if (out_is_json(o)) {
			out_record_begin(o);
			json_rec(o, s, r);
			out_record_end(o);
		} else {
			text_rec(o, s, r);
		}
	}
	if ((e = out_close(o)))
		return e;	/* the command reports it: cmd_output_error() */
	return s->n ? 0 : 1;
}

/* "tcp" or "udp" at s, ended by ':', '@' or the end: its PROTO_ bit */
static unsigned proto_word(const char *s, size_t *len)
{
	unsigned bit = !strncasecmp(s, "tcp", 3) ? PROTO_TCP : !strncasecmp(s, "udp", 3) ? PROTO_UDP : 0;

	if (!bit || (s[3] && s[3] != ':' && s[3] != '@'))
		return 0;
	*len = 3;
	return bit;
}

int who_target_parse(const char *spec, struct who_target *t)
{
	const char *p = spec;
	char *slash;
	size_t len = 0;
	unsigned bit;

	t->protos = PROTO_TCP | PROTO_UDP;
	t->v4 = t->v6 = true;
	/* lsof -i [46][PROTO][@HOST][:PORT] */
	/* (not "6a44", a service name) */
	if ((p[0] == '4' || p[0] == '6') && (proto_word(p + 1, &len) || p[1] == ':' ||
					     p[1] == '@')) {
		t->v4 = p[0] == '4';
		t->v6 = p[0] == '6';
		p++;
	}
	if ((bit = proto_word(p, &len))) {
		t->protos = bit;
		p += len;
	}
	if (*p == '@')
		return errorf(-EINVAL, "'%s': lsof's @HOST is not who's: who answers for this "
			      "host's ports (sessions with a host: portkit ls --dst HOST -p)", spec);
	if (*p == ':')
		p++;
	if (!*p)
		return errorf(-EINVAL, "which port in '%s'? give a port or service name", spec);
	snprintf(t->port, sizeof(t->port), "%s", p);
	/* netstat's and /etc/services' "80/tcp" */
	if ((slash = strrchr(t->port, '/')) && (bit = proto_word(slash + 1, &len)) && !slash[4]) {
		if (!(t->protos & bit))
			return errorf(-EINVAL, "'%s' names two protocols", spec);
		t->protos = bit;
		*slash = '\0';
	}
	/* a listener's remote end shows as port 0: it would match them all */
	if (is_number(t->port) && strspn(t->port, "0") == strlen(t->port))
		return errorf(-EINVAL, "port 0 is nobody's: no socket is bound to it or connected "
			      "from it");
	return 0;
}
