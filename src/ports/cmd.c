/*
 * cmd.c - options of `portkit port`; the answers come from lookup.c and
 * are printed by show.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/base/cli.h"
#include "core/base/log.h"
#include "ports/ports.h"
#include "core/base/banned.h"

struct port_cmd_opts {
	struct cli_common cc;
	struct port_opts p;
};

static int option(void *ctx, int key, const char *value)
{
	struct port_cmd_opts *o = ctx;

	if (key == 'P')
		return ports_protos_parse(value, &o->p.protos);
	o->p.search = true;	/* -s */
	return 0;
}

static int port_main(int argc, char **argv, const struct cmd *self)
{
	struct port_cmd_opts po = { .p.protos = PROTO_ALL };
	struct port_opts opts;
	struct port_list list = { 0 };
	struct out *o;
	int status = 0, r;

	if ((status = cmd_parse(self, argc, argv, &po.cc, option, &po)))
		return status;
	opts = po.p;
	if (po.cc.numeric)	/* names for numbers are this command's answer */
		return cmd_usage_error(self, "-n drops service names, and they are what port "
				       "shows; for scripts use --json");
	if (optind >= argc)
		return cmd_usage_error(self, opts.search ? "--search needs words"
							 : "which port? give a number, range or name");
	if ((status = ports_lookup(&list, argv + optind, (size_t)(argc - optind), &opts)) < 0) {
		port_list_free(&list);
		return cmd_error("%s", error_msg());
	}
	o = cli_out(&po.cc);
	ports_print(o, &list);
	port_list_free(&list);
	if ((r = out_close(o)))
		return cmd_output_error(r);
	return status;
}

static const struct cmd_option options[] = {
	{ "proto", 'P', "P", "only tcp, udp, sctp or dccp (comma list; default all)",
	  "tcp udp sctp dccp" },
	{ "search", 's', NULL, "ARGs are words to find in names and descriptions" },
	{ NULL, 0, NULL, NULL },
};

const struct cmd port_cmd = {
	.name = "port",
	.summary = "what a port or service is: IANA registry, category, plain-language notes",
	.synopsis = "ARG... | --search WORDS...",
	.operands = "@service",
	.about =
	"Each ARG is a port (3389), a range (8000-8010), a service name or\n"
	"common name (ms-wbt-server, rdp, postgres), optionally with /PROTO\n"
	"(53/udp). Shows the IANA registration, the name people use, the\n"
	"category (well-known 0-1023, registered 1024-49151, dynamic\n"
	"49152-65535), whether this host uses the port as an ephemeral (client)\n"
	"port, and what an exposed port means. A port with no registration\n"
	"gets one line saying so (service null). Exit status: 0 found,\n"
	"1 --search found nothing, 2 error.",
	.options = options,
	.examples =
	"  portkit port 22 80 3389 59210\n"
	"  portkit port rdp\n"
	"  portkit port 8000-8010 --proto tcp\n"
	"  portkit port --search remote desktop\n",
	.run = port_main,
};
