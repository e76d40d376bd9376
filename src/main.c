/*
 * main.c - the command table and the options that come before a command.
 * Everything else lives in the commands (src/NAME/) and in src/core/.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/banned.h"

#ifndef PORTKIT_VERSION
#define PORTKIT_VERSION "0.0.0"
#endif

#define DEFAULT_COMMAND "ls"

static const struct cmd commands[] = {
	{ "ls", ls_main, 0,
	  "the session table: sockets, states, owners, services (the default)",
	  "[-tula46pe] [--state S] [--port P] [ADDR[/LEN]...] [--summary | --by remote | --watch]",
	  ls_help },
	{ "who", who_main, 0,
	  "who holds a port: listeners and connections with their processes",
	  "PORT [--proto tcp|udp]", who_help },
	{ "scan", scan_main, 0,
	  "which ports are open on a host (TCP connect and UDP)",
	  "TARGET... [-p PORTS | --top N] [-s connect|udp] [--json] [-oX FILE]", scan_help },
	{ "forward", forward_main, 0,
	  "TCP and UDP port forwarding with access rules and session logs",
	  "LISTEN TARGET [--udp] [--allow CIDR] [--deny CIDR] | -c FILE", forward_help },
	{ "capture", capture_main, 0,
	  "packets and flows seen by port, live or from a pcap file",
	  "[-i IFACE | -r FILE] [-w FILE] [-c COUNT] [--flows] [FILTER...]", capture_help },
	{ "audit", audit_main, 0,
	  "which listening ports should not be open",
	  "[--policy FILE] [--baseline FILE] [--save-baseline FILE] [--fail-on LEVEL]",
	  audit_help },
	{ "port", port_main, 0,
	  "what a port or service is: IANA registry, category, plain-language notes",
	  "ARG... | --search WORDS...", port_help },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: portkit [--version] [--help] COMMAND [ARGS]\n\n"
		   "portkit answers questions about network ports on this host.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!(commands[i].flags & CMD_HIDDEN))
			fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nEvery command takes --json (one JSON object per line), -n (numeric),\n"
		   "--no-color and --help. 'portkit help COMMAND' shows a command's options.\n");
}

void cmd_help(const struct cmd *c, FILE *f)
{
	fprintf(f, "usage: portkit %s %s\n\n%s.\n\n%s", c->name, c->synopsis,
		c->summary, c->help);
	fprintf(f, "\ncommon options:\n"
		   "  --json        one JSON object per line (NDJSON)\n"
		   "  -n, --numeric numbers instead of service names\n"
		   "  --no-color    no colours, even on a terminal\n"
		   "  -h, --help    this help\n");
}

int cmd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnf_suffix("", fmt, ap);
	va_end(ap);
	return 2;
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	char hint[64];
	va_list ap;

	snprintf(hint, sizeof(hint), " (see 'portkit %s --help')", c->name);
	va_start(ap, fmt);
	vwarnf_suffix(hint, fmt, ap);
	va_end(ap);
	return 2;
}

int cmd_bad_option(const struct cmd *c, int opt, char **argv)
{
	if (opt == ':')
		return cmd_usage_error(c, "option '%s' needs a value", argv[optind - 1]);
	return cmd_usage_error(c, "unknown option '%s'", cli_bad_option(argv, opt));
}

static int unknown(const char *name)
{
	size_t n = strlen(name), hits = 0;
	const char *hit = NULL;

	/* suggest, never run: an abbreviation is not a command name */
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strncmp(commands[i].name, name, n) && n) {
			hits++;
			hit = commands[i].name;
		}
	if (hits == 1)
		return cmd_error("unknown command '%s' (did you mean '%s'?)", name, hit);
	return cmd_error("unknown command '%s' (see 'portkit --help')", name);
}

static int finish(int status)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (errno == EPIPE)
			return status;
		cmd_error("cannot write output: %s", strerror(errno ? errno : EIO));
		return 2;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2 || (argv[1][0] == '-' && argv[1][1] &&
			 strcmp(argv[1], "--version") && strcmp(argv[1], "-h") &&
			 strcmp(argv[1], "--help"))) {
		c = find(DEFAULT_COMMAND);
		if (!c) {
			usage(stdout);
			return finish(argc < 2 ? 0 : 2);
		}
		return finish(c->main(argc, argv, c));
	}
	if (!strcmp(argv[1], "--version")) {
		printf("portkit %s\n", PORTKIT_VERSION);
		return finish(0);
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return finish(0);
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage(stdout);
			return finish(0);
		}
		c = find(argv[2]);
		if (!c)
			return unknown(argv[2]);
		cmd_help(c, stdout);
		return finish(0);
	}
	c = find(argv[1]);
	if (!c)
		return unknown(argv[1]);
	return finish(c->main(argc - 1, argv + 1, c));
}
