/*
 * main.c - the options that come before a command, and the dispatch.
 * The command table is src/cmd.c; the commands live in src/NAME/.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "core/vocab/addr.h"
#include "core/base/banned.h"

#ifndef PORTKIT_VERSION
#define PORTKIT_VERSION "0.0.0"
#endif

#define DEFAULT_COMMAND "ls"

static void usage(FILE *f)
{
	fprintf(f, "usage: portkit [-V|--version] [--help] [--json] [-n] [--no-color] COMMAND [ARGS]\n\n"
		   "portkit answers questions about network ports on this host.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < ncommands; i++)
		if (!(commands[i]->flags & CMD_HIDDEN))
			fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nEvery command takes --json (one JSON object per line), -n (no service names),\n"
		   "--no-color and --help. 'portkit help COMMAND' shows a command's options.\n");
}

static int unknown(const char *name)
{
	size_t n = strlen(name), hits = 0;
	const char *hit = NULL;

	/* suggest, never run: an abbreviation is not a command name */
	for (size_t i = 0; i < ncommands; i++)
		if (n && !strncmp(commands[i]->name, name, n)) {
			hits++;
			hit = commands[i]->name;
		}
	if (hits == 1)
		return cmd_error("unknown command '%s' (did you mean '%s'?)", name, hit);
	return cmd_error("unknown command '%s' (see 'portkit --help')", name);
}

static int finish(int status)
{
	/* a reader that went away (EPIPE with SIGPIPE ignored) is an error
	 * like any other: exit 2 with its line, as the contract says */
	if (fflush(stdout) || ferror(stdout)) {
		cmd_error("cannot write output: %s", strerror(cmd_stdout_errno()));
		return 2;
	}
	return status;
}

static int run(const struct cmd *c, int argc, char **argv)
{
	int r = c->run(argc, argv, c);

	return finish(r == CMD_EXIT_OK ? 0 : r);
}

/* The common options (flags all) may come before the command's name:
 * `portkit --json port 22` is `portkit port --json 22`. Moves the name
 * to argv[1] and returns its command, or NULL when there is none. */
static const struct cmd *common_first(int argc, char **argv)
{
	static const char *const flags[] = { "--json", "-n", "--numeric", "--no-color",
					     "--no-colour" };
	const struct cmd *c;
	char *name;
	int i = 1;

	for (; i < argc; i++) {
		size_t k = 0;

		while (k < sizeof(flags) / sizeof(flags[0]) && strcmp(argv[i], flags[k]))
			k++;
		if (k == sizeof(flags) / sizeof(flags[0]))
			break;
	}
	if (i == 1 || i == argc || !(c = cmd_find(argv[i])))
		return NULL;
	name = argv[i];
	memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof(*argv));
	argv[1] = name;
	return c;
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	cmd_stdout_init();
	if (argc >= 2 && (c = common_first(argc, argv)))
		return run(c, argc - 1, argv + 1);
	if (argc < 2 || (argv[1][0] == '-' && argv[1][1] &&
			 strcmp(argv[1], "--version") && strcmp(argv[1], "-V") &&
			 strcmp(argv[1], "-h") && strcmp(argv[1], "--help")))
		return run(cmd_find(DEFAULT_COMMAND), argc, argv);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
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
		if (!(c = cmd_find(argv[2])))
			return unknown(argv[2]);
		cmd_help(c, stdout);
		return finish(0);
	}
	if (!(c = cmd_find(argv[1]))) {
		/* `portkit 127.0.0.1`, `portkit state established`: ls's operands */
		static const char *const ss_words[] = { "state", "exclude", "dport", "sport", "dst",
							"src" };
		struct cidr cidr;
		unsigned zone;

		for (size_t i = 0; i < sizeof(ss_words) / sizeof(ss_words[0]); i++)
			if (!strcmp(argv[1], ss_words[i]))
				return run(cmd_find(DEFAULT_COMMAND), argc, argv);
		if (strpbrk(argv[1], ".:") && !cidr_parse_zone(argv[1], &cidr, &zone))
			return run(cmd_find(DEFAULT_COMMAND), argc, argv);
		return unknown(argv[1]);
	}
	return run(c, argc - 1, argv + 1);
}
