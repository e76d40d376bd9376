#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/base/cli.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

const struct cmd_option cli_common_options[] = {
	{ "json", OPT_JSON, NULL, "one JSON object per line (NDJSON)" },
	{ "numeric", 'n', NULL, "numbers instead of service names" },
	{ "no-color", OPT_NO_COLOR, NULL, "no colours, even on a terminal" },
	{ "no-colour", OPT_NO_COLOR, NULL, NULL },	/* an alias: not listed */
	{ "help", 'h', NULL, "this help" },
	{ NULL, 0, NULL, NULL },
};

bool cli_common_opt(int c, struct cli_common *cc)
{
	switch (c) {
	case OPT_JSON:
		cc->json = true;
		return true;
	case 'n':
		cc->numeric = true;
		return true;
	case OPT_NO_COLOR:
		cc->no_color = true;
		return true;
	case 'h':
		cc->help = true;
		return true;
	}
	return false;
}

bool cli_color(const struct cli_common *cc)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !cc->no_color && !(nc && *nc);
}

struct out *cli_out(const struct cli_common *cc)
{
	bool tty = isatty(STDOUT_FILENO);
	struct out *o = out_new(stdout, cc->json ? OUT_JSON : OUT_TABLE, cli_color(cc));
	struct winsize ws;

	if (tty && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col)
		out_set_width(o, ws.ws_col);
	return o;
}

static bool has_short(int key)
{
	return key > 0 && key < 128 && isalnum(key);
}

static size_t count(const struct cmd_option *o)
{
	size_t n = 0;

	while (o && o[n].name)
		n++;
	return n;
}

static void add(struct option *lo, size_t *n, char *so, size_t *k, const struct cmd_option *o)
{
	int has = !o->arg ? no_argument : o->arg[0] == '[' ? optional_argument : required_argument;

	lo[(*n)++] = (struct option){ o->name, has, NULL, o->key };
	if (!has_short(o->key) || strchr(so, o->key))
		return;
	so[(*k)++] = (char)o->key;
	if (has != no_argument)
		so[(*k)++] = ':';
	if (has == optional_argument)
		so[(*k)++] = ':';
}

void cli_getopt_tables(const struct cmd_option *opts, struct option **longopts,
		       char **shortopts)
{
	size_t n = 0, k = 0, total = count(opts) + count(cli_common_options) + 1;
	struct option *lo = xcalloc(total, sizeof(*lo));
	char *so = xcalloc(3 * total + 2, 1);

	so[k++] = ':';
	for (size_t i = 0; i < count(opts); i++)
		add(lo, &n, so, &k, &opts[i]);
	for (size_t i = 0; i < count(cli_common_options); i++)
		add(lo, &n, so, &k, &cli_common_options[i]);
	*longopts = lo;
	*shortopts = so;
}

/* "-p, --ports PORTS" */
static void left(const struct cmd_option *o, char *buf, size_t size)
{
	int n = 0;

	if (has_short(o->key))
		n = snprintf(buf, size, "-%c, ", o->key);
	snprintf(buf + n, size - (size_t)n, "--%s%s%s", o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
}

void cli_print_options(const struct cmd_option *v, FILE *f)
{
	for (size_t i = 0; v && v[i].name; i++) {
		char l[64];
		const char *h = v[i].help;

		if (!h)
			continue;
		left(&v[i], l, sizeof(l));
		if (strlen(l) > 24)
			fprintf(f, "  %s\n%28s", l, "");
		else
			fprintf(f, "  %-25s ", l);
		for (; *h; h++) {
			fputc(*h, f);
			if (*h == '\n')
				fprintf(f, "%28s", "");
		}
		fputc('\n', f);
	}
}

void cli_roff(const char *s, FILE *f)
{
	bool bol = true;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
		bol = false;
	}
}

void cli_man_options(const struct cmd_option *v, FILE *f)
{
	for (size_t i = 0; v && v[i].name; i++) {
		const struct cmd_option *o = &v[i];

		if (!o->help)
			continue;
		fputs(".TP\n.B ", f);
		if (has_short(o->key))
			fprintf(f, "\\-%c, ", o->key);
		fputs("\\-\\-", f);
		cli_roff(o->name, f);
		if (o->arg) {
			fputs(" \\fI", f);
			cli_roff(o->arg, f);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		cli_roff(o->help, f);
		fputc('\n', f);
	}
}
