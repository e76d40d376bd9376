#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/cli.h"
#include "core/log.h"
#include "ports/ports.h"
#include "core/banned.h"

const char port_help[] =
	"Each ARG is a port (3389), a range (8000-8010), a service name or\n"
	"common name (ms-wbt-server, rdp, postgres), optionally with /PROTO\n"
	"(53/udp). Shows the IANA registration, the name people use, the\n"
	"category (well-known 0-1023, registered 1024-49151, dynamic\n"
	"49152-65535), whether this host uses the port as an ephemeral (client)\n"
	"port, and what an exposed port means.\n"
	"\n"
	"options:\n"
	"  -P, --proto P   only tcp, udp, sctp or dccp (comma list; default all)\n"
	"  -s, --search    ARGs are words to find in names and descriptions\n"
	"\n"
	"examples:\n"
	"  portkit port 22 80 3389 59210\n"
	"  portkit port rdp\n"
	"  portkit port 8000-8010 --proto tcp\n"
	"  portkit port --search remote desktop\n"
	"\n"
	"A port with no registration gets one line saying so (service null).\n"
	"Exit status: 0 found, 1 --search found nothing, 2 error.\n";

enum { OPT_PROTO = OPT_CMD_BASE, OPT_SEARCH };

static int parse_protos(const char *s, unsigned *out)
{
	char tmp[64];
	char *save = NULL;
	unsigned all = 0;

	snprintf(tmp, sizeof(tmp), "%s", s);
	for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned bits;

		if (proto_parse(t, &bits))
			return errorf(-EINVAL, "invalid protocol '%s': expected tcp, udp, sctp, dccp or all", t);
		all |= bits;
	}
	if (!all)
		return errorf(-EINVAL, "invalid protocol '%s': expected tcp, udp, sctp, dccp or all", s);
	*out = all;
	return 0;
}

int port_main(int argc, char **argv, const struct cmd *self)
{
	static const struct option longopts[] = {
		{ "proto", required_argument, NULL, 'P' },
		{ "search", no_argument, NULL, 's' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cc = { 0 };
	struct port_opts opts = { .protos = PROTO_ALL };
	struct port_list list = { 0 };
	struct out *o;
	int c, status = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":P:s" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_common_opt(c, &cc))
			continue;
		switch (c) {
		case 'P':
			if (parse_protos(optarg, &opts.protos))
				return cmd_usage_error(self, "%s", error_msg());
			break;
		case 's':
			opts.search = true;
			break;
		default:
			return cmd_bad_option(self, c, argv);
		}
	}
	if (cc.help) {
		cmd_help(self, stdout);
		return 0;
	}
	if (optind >= argc)
		return cmd_usage_error(self, opts.search ? "--search needs words"
							 : "which port? give a number, range or name");
	if (opts.search) {
		if (!ports_search(&list, argv + optind, (size_t)(argc - optind), opts.protos))
			status = 1;
	} else {
		for (int i = optind; i < argc; i++) {
			if (ports_add_arg(&list, argv[i], opts.protos)) {
				port_list_free(&list);
				return cmd_error("%s", error_msg());
			}
		}
	}
	o = cli_out(&cc);
	ports_print(o, &list);
	port_list_free(&list);
	if (out_close(o))
		return cmd_error("cannot write output: %s", strerror(EIO));
	return status;
}
