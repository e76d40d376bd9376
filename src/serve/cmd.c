/*
 * cmd.c - options of `portkit serve`: which responders on which ports
 * (read by spec.c), then serve_run() (engine.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/xalloc.h"
#include "serve/serve.h"
#include "core/base/banned.h"

enum { OPT_BIND = OPT_CMD_BASE, OPT_DNS, OPT_HOSTS, OPT_HOSTNAME, OPT_IDLE, OPT_COUNT, OPT_LIST,
       OPT_ALL };

struct serve_cmd {
	struct serve_opts o;
	bool list;
};

static int option(void *ctx, int key, const char *v)
{
	struct serve_cmd *sc = ctx;
	struct serve_opts *o = &sc->o;
	unsigned long long n;

	switch (key) {
	case OPT_BIND:
		return serve_addr_parse(v, &o->bind);
	case OPT_DNS:
		return serve_dns_add(o, v);
	case OPT_HOSTS:
		return serve_hosts_load(o, v);
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

static int list(const struct serve_cmd *sc)
{
	struct out *o = cli_out(&sc->o.cc);
	int e;

	serve_list(o);
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
		if (serve_spec_add(&sc->o, argv[i])) {
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
