/*
 * spec.c - what `portkit serve` is asked to run: responder specs
 * (PROTO:PORT as http:83, PROTO for its usual port, PORT for the responder
 * of the service registered there; /tcp or /udp keeps one transport of
 * dns and echo), the DNS responder's records (--dns NAME=ADDR, --hosts
 * FILE), and the responder list. Everything goes into struct serve_opts,
 * which owns no memory: a spec points at the static responder table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/textfile.h"
#include "serve/serve.h"
#include "core/base/banned.h"

int serve_addr_parse(const char *s, struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, s, e->addr) == 1)
		e->family = AF_INET;
	else if (inet_pton(AF_INET6, s, e->addr) == 1)
		e->family = AF_INET6;
	else
		return errorf(-EINVAL, "invalid address '%s' (numeric IPv4 or IPv6)", s);
	return 0;
}

int serve_dns_add(struct serve_opts *o, const char *s)
{
	const char *eq = strchr(s, '=');
	struct dns_record *r;

	if (o->ndns == sizeof(o->dns) / sizeof(o->dns[0]))
		return errorf(-E2BIG, "too many --dns records (at most %zu)",
			      sizeof(o->dns) / sizeof(o->dns[0]));
	if (!eq || eq == s || (size_t)(eq - s) >= sizeof(r->name))
		return errorf(-EINVAL, "invalid --dns '%s': expected NAME=ADDR", s);
	r = &o->dns[o->ndns];
	snprintf(r->name, sizeof(r->name), "%.*s", (int)(eq - s), s);
	if (serve_addr_parse(eq + 1, &r->addr))
		return -EINVAL;
	o->ndns++;
	return 0;
}

int serve_hosts_load(struct serve_opts *o, const char *path)
{
	char *text = NULL, *save = NULL, *line;
	unsigned ln = 0;
	int r;

	/* textfile's checks: no directory, device or binary file, 1 MiB */
	if ((r = text_load(path, 1 << 20, "hosts file", &text)))
		return r;
	for (char *p = text; !r && p; p = line) {
		char *addr, *name, rec[160];
		struct endpoint e;

		line = strchr(p, '\n');
		if (line)
			*line++ = '\0';
		ln++;
		p[strcspn(p, "#")] = '\0';
		save = NULL;
		if (!(addr = strtok_r(p, " \t\r", &save)))
			continue;
		if (serve_addr_parse(addr, &e)) {
			r = errorf(-EINVAL, "%s:%u: invalid address '%s'", path, ln, addr);
			break;
		}
		if (addr_is_loopback(e.family, e.addr))
			continue;
		while (!r && (name = strtok_r(NULL, " \t\r", &save))) {
			snprintf(rec, sizeof(rec), "%s=%s", name, addr);
			r = serve_dns_add(o, rec);
		}
	}
	free(text);
	return r;
}

int serve_spec_add(struct serve_opts *o, const char *arg)
{
	char name[32], *colon, *slash;
	const struct responder *r;
	struct serve_spec *s;
	unsigned want = 0;
	uint16_t port;

	if (o->nspec == sizeof(o->spec) / sizeof(o->spec[0]))
		return errorf(-E2BIG, "too many responders (at most %zu)",
			      sizeof(o->spec) / sizeof(o->spec[0]));
	if (strlen(arg) >= sizeof(name))
		return errorf(-EINVAL, "invalid responder '%s'", arg);
	snprintf(name, sizeof(name), "%s", arg);
	if ((slash = strchr(name, '/'))) {
		*slash++ = '\0';
		if (!strcmp(slash, "tcp"))
			want = SV_TCP;
		else if (!strcmp(slash, "udp"))
			want = SV_UDP;
		else
			return errorf(-EINVAL, "invalid responder '%s': /tcp or /udp", arg);
	}
	if ((colon = strchr(name, ':')))
		*colon++ = '\0';
	if (!colon && is_number(name)) {
		if (parse_port(name, &port))
			return -EINVAL;
		if (!(r = responder_for_port(port)))
			return errorf(-EINVAL, "no responder for port %u: name one (http:%u, echo:%u; "
				      "see --list)", port, port, port);
	} else {
		if (!(r = responder_find(name)))
			return errorf(-EINVAL, "unknown responder '%s' (see 'portkit serve --list')",
				      name);
		port = r->port;
		if (colon && parse_port(colon, &port))
			return -EINVAL;
	}
	if (!port)
		return errorf(-EINVAL, "invalid responder '%s': port 0", arg);
	if (want && !(r->transports & want))
		return errorf(-EINVAL, "%s answers on %s only", r->name,
			      r->transports & SV_TCP ? "tcp" : "udp");
	for (size_t i = 0; i < o->nspec; i++)
		if (o->spec[i].port == port && (o->spec[i].transports & (want ? want : r->transports)))
			return errorf(-EINVAL, "port %u is given twice", port);
	s = &o->spec[o->nspec++];
	s->r = r;
	s->port = port;
	s->transports = want ? want : r->transports;
	return 0;
}

void serve_list(struct out *o)
{
	static const struct out_col cols[] = {
		{ "RESPONDER", 0 }, { "PORT", OUT_RIGHT }, { "TRANSPORT", 0 },
	};

	out_columns(o, cols, 3);
	for (size_t i = 0; i < responder_count(); i++) {
		const struct responder *r = responder_at(i);
		const char *t = r->transports == (SV_TCP | SV_UDP) ? "tcp+udp"
				: r->transports == SV_UDP ? "udp" : "tcp";

		out_record_begin(o);
		out_kv_str(o, "responder", r->name);
		out_kv_uint(o, "port", r->port);
		out_kv_str(o, "transport", t);
		out_cell_str(o, 0, r->name);
		out_cell_uint(o, 1, r->port);
		out_cell_str(o, 2, t);
		out_record_end(o);
	}
}
