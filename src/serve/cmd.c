/*
 * cmd.c - options of `portkit serve`: which responders on which ports.
 *
 * A spec is PROTO:PORT (http:83), PROTO (its usual port) or PORT (the
 * responder of the service registered there); dns and echo answer on TCP
 * and UDP, PROTO/udp or PROTO/tcp keeps one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd.h"
#include "core/addr.h"
#include "core/log.h"
#include "core/out.h"
#include "core/xalloc.h"
#include "serve/serve.h"
#include "core/banned.h"

enum { OPT_BIND = OPT_CMD_BASE, OPT_DNS, OPT_HOSTS, OPT_HOSTNAME, OPT_IDLE, OPT_COUNT, OPT_LIST,
       OPT_ALL };

struct serve_cmd {
	struct serve_opts o;
	bool list;
};

static int addr_parse(const char *s, struct endpoint *e)
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

static int dns_record(struct serve_opts *o, const char *s)
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
	if (addr_parse(eq + 1, &r->addr))
		return -EINVAL;
	o->ndns++;
	return 0;
}

/* --hosts FILE: "ADDR NAME..." lines as /etc/hosts has them (loopback
 * addresses and comments skipped); every name a DNS record */
static int hosts_file(struct serve_opts *o, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	unsigned ln = 0;
	int r = 0;

	if (!f)
		return errorf(-errno, "cannot open '%s': %s", path, strerror(errno));
	while (!r && fgets(line, sizeof(line), f) && ++ln <= 10000) {
		char *save = NULL, *addr, *name, rec[160];
		struct endpoint e;

		line[strcspn(line, "#\n")] = '\0';
		if (!(addr = strtok_r(line, " \t", &save)))
			continue;
		if (addr_parse(addr, &e)) {
			r = errorf(-EINVAL, "%s:%u: invalid address '%s'", path, ln, addr);
			break;
		}
		if (addr_is_loopback(e.family, e.addr))
			continue;
		while (!r && (name = strtok_r(NULL, " \t", &save))) {
			snprintf(rec, sizeof(rec), "%s=%s", name, addr);
			r = dns_record(o, rec);
		}
	}
	fclose(f);
	return r;
}

static int option(void *ctx, int key, const char *v)
{
	struct serve_cmd *sc = ctx;
	struct serve_opts *o = &sc->o;
	unsigned long long n;

	switch (key) {
	case OPT_BIND:
		return addr_parse(v, &o->bind);
	case OPT_DNS:
		return dns_record(o, v);
	case OPT_HOSTS:
		return hosts_file(o, v);
	case OPT_HOSTNAME:
		if (!*v || strlen(v) > 63 || strpbrk(v, " \t\r\n"))
			return errorf(-EINVAL, "invalid --hostname '%s': one word, at most 63 bytes", v);
		o->hostname = v;
		return 0;
	case OPT_IDLE:
		if (parse_number(v, 1, 86400, "--idle-timeout", &n))
			return -EINVAL;
		o->idle_ms = (unsigned)n * 1000;
		return 0;
	case OPT_COUNT:
		if (parse_number(v, 1, 1ULL << 40, "--count", &n))
			return -EINVAL;
		o->count = (long)n;
		return 0;
	case OPT_LIST:
		sc->list = true;
		return 0;
	case OPT_ALL:
		o->all_ports = true;
		return 0;
	}
	return 1;
}

/* PROTO:PORT, PROTO, PORT, each with an optional /tcp or /udp */
static int add_spec(struct serve_opts *o, const char *arg)
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

static int list(const struct serve_cmd *sc)
{
	static const struct out_col cols[] = {
		{ "RESPONDER", 0 }, { "PORT", OUT_RIGHT }, { "TRANSPORT", 0 },
	};
	struct out *o = cli_out(&sc->o.cc);
	int e;

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
	e = out_close(o);
	return e ? cmd_output_error(e) : 0;
}

static int serve_main(int argc, char **argv, const struct cmd *self)
{
	struct serve_cmd *sc = xcalloc(1, sizeof(*sc));
	int r;

	sc->o.idle_ms = 30000;
	if ((r = cmd_parse(self, argc, argv, &sc->o.cc, option, sc)))
		goto done;
	if (sc->list) {
		r = list(sc);
		goto done;
	}
	if (optind >= argc && !sc->o.all_ports) {
		r = cmd_usage_error(self, "which responders? e.g. http:80 ftp dns:53 (see --list)");
		goto done;
	}
	if (sc->o.all_ports && sc->o.bind.family) {
		r = cmd_usage_error(self, "--all-ports answers on every local address; not with --bind");
		goto done;
	}
	for (int i = optind; i < argc; i++)
		if (add_spec(&sc->o, argv[i])) {
			r = cmd_usage_error(self, "%s", error_msg());
			goto done;
		}
	if (serve_run(&sc->o))
		r = cmd_error("%s", error_msg());
done:
	free(sc);
	return r;
}

static const struct cmd_option options[] = {
	{ "bind", OPT_BIND, "ADDR", "listen on this address only (default: every\n"
				    "address, IPv4 and IPv6)" },
	{ "dns", OPT_DNS, "NAME=ADDR", "a name the dns responder answers (A or AAAA;\n"
				       "repeatable)" },
	{ "hosts", OPT_HOSTS, "FILE", "every name in a hosts file (ADDR NAME... lines)\n"
				      "as a --dns record" },
	{ "hostname", OPT_HOSTNAME, "NAME", "the name in greetings and pages (default portkit)" },
	{ "idle-timeout", OPT_IDLE, "S", "close a connection silent this long (default 30)" },
	{ "count", OPT_COUNT, "N", "stop after N connections (and datagrams)" },
	{ "list", OPT_LIST, NULL, "the responders and their usual ports" },
	{ "all-ports", OPT_ALL, NULL, "answer on every TCP port nothing listens on (an\n"
				      "nftables redirect in this namespace; root)" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd serve_cmd = {
	.name = "serve",
	.summary = "answer on ports as a service would (http, ftp, ssh, dns, rdp, smb, ...)",
	.synopsis = "PROTO[:PORT]... [--all-ports] [--bind ADDR] [--dns NAME=ADDR] [--count N] | --list",
	.about =
	"Responders that speak enough of each protocol for a client, nmap -sV\n"
	"and portkit scan --sv to recognise it: http answers with a page that says\n"
	"which address and port were reached from which, ftp logs anyone in and\n"
	"lists a file over a passive data port, dns answers --dns names. One\n"
	"line (or JSON record) per connection: client and server address and\n"
	"port, bytes each way. A bare PORT gets its registered service's\n"
	"responder; dns and echo answer on TCP and UDP (add /tcp or /udp for one).",
	.options = options,
	.examples =
	"  portkit serve http:80 http:83 ftp dns --dns server1=198.18.0.10\n"
	"  portkit serve rdp:3389 rdp:3350 smb ssh:2222 --json\n"
	"  portkit serve --list\n",
	.run = serve_main,
};
