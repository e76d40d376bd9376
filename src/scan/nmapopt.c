/*
 * nmapopt.c - what scan's command line takes beyond getopt: nmap's
 * spellings, target files and -6.
 *
 * nmap's options of two letters and more (-sS, -sSV, -sn, -oX FILE,
 * -iL FILE, -Pn) are not getopt's: scan_nmap_argv() rewrites them into
 * portkit's long options before cmd_parse() sees the line, and refuses
 * the ones portkit does not do (-sA, -sC, -oS, -iR, -PE) with one line
 * naming portkit's way. Target files (-iL, --excludefile) are read through
 * core's text_load(), with its checks and its size limit. Nothing here
 * sends or prints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "scan/scan.h"
#include "core/base/banned.h"

#define MAX_TARGET_FILE (16u << 20)

/* nmap's words that are portkit options under another name; value: the
 * next word is the option's value and is not rewritten */
static const struct {
	const char *nmap, *ours;
	bool value;
} same[] = {
	{ "-Pn", "--no-ping", false }, { "-sn", "--discover", false }, { "-sP", "--discover", false },
	{ "-sL", "--list", false }, { "-oX", "--xml", true }, { "-oG", "--grepable", true },
	{ "-oN", "--normal", true }, { "-oA", "--all-formats", true },
	{ "-iL", "--targets-from", true },
};

/* nmap's words portkit refuses, and what to use instead */
static const struct {
	const char *nmap, *what, *instead;
} refused[] = {
	{ "-oS", "script kiddie output", "-oN FILE writes the table" },
	{ "-oM", "machine output", "-oG FILE" },
	{ "-iR", "random targets", "give the targets (or -iL FILE)" },
};

/* -s and letters: what each one is in portkit, or why not */
static const struct {
	char letter;
	const char *ours;	/* NULL: refused */
	const char *what;	/* nmap's name for it */
} stype[] = {
	{ 'S', "--method=syn", "SYN scan" }, { 'T', "--method=connect", "connect scan" },
	{ 'U', "--method=udp", "UDP scan" }, { 'V', "--sv", "version detection" },
	{ 'A', NULL, "ACK scan" }, { 'W', NULL, "window scan" }, { 'M', NULL, "Maimon scan" },
	{ 'N', NULL, "NULL scan" }, { 'F', NULL, "FIN scan" }, { 'X', NULL, "Xmas scan" },
	{ 'I', NULL, "idle scan" }, { 'O', NULL, "IP protocol scan" },
	{ 'Y', NULL, "SCTP INIT scan" }, { 'Z', NULL, "SCTP COOKIE ECHO scan" },
	{ 'C', NULL, "scripts" }, { 'R', NULL, "RPC scan" },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool all_upper(const char *s)
{
	for (; *s; s++)
		if (*s < 'A' || *s > 'Z')
			return false;
	return true;
}

/* "-sSV": one option per letter into out; 0 or -EINVAL */
static int scan_letters(const char *word, char **out, int *n)
{
	bool method = false;

	for (const char *l = word + 2; *l; l++) {
		size_t k = 0;

		while (k < COUNT(stype) && stype[k].letter != *l)
			k++;
		if (k == COUNT(stype))
			return errorf(-EINVAL, "'%s': -s%c is not a scan type of nmap's or portkit's "
				      "(-sS, -sT, -sU, -sV, -sn, -sL)", word, *l);
		if (!stype[k].ours)
			return errorf(-EINVAL, "'%s': nmap's -s%c (%s) is not portkit's; %s", word, *l,
				      stype[k].what, *l == 'C' ? "--sv names services and versions"
				      : "portkit scans with -sS, -sT or -sU (-s syn, connect, udp)");
		if (*l != 'V' && method)
			return errorf(-EINVAL, "'%s': one method per scan (-s syn, connect or udp); run "
				      "TCP and UDP as two scans", word);
		method |= *l != 'V';
		out[(*n)++] = (char *)stype[k].ours;
	}
	return 0;
}

char **scan_nmap_argv(int argc, char **argv, int *argc_out)
{
	/* a word becomes at most 4 options (-sSV) */
	char **v = xmalloc(((size_t)argc * 4 + 1) * sizeof(*v));
	int n = 0;
	bool ended = false;

	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		size_t k;

		if (ended || i == 0 || w[0] != '-' || w[1] == '-' || !w[1]) {
			ended |= !strcmp(w, "--");
			v[n++] = argv[i];
			continue;
		}
		for (k = 0; k < COUNT(same) && strcmp(w, same[k].nmap); k++)
			;
		if (k < COUNT(same)) {
			v[n++] = (char *)same[k].ours;
			if (same[k].value && i + 1 < argc)
				v[n++] = argv[++i];
			continue;
		}
		for (k = 0; k < COUNT(refused) && strcmp(w, refused[k].nmap); k++)
			;
		if (k < COUNT(refused)) {
			errorf(-EINVAL, "%s: nmap's %s (%s) is not portkit's; %s", w, w,
			       refused[k].what, refused[k].instead);
			goto fail;
		}
		/* -s with nmap's capital letters; -ssyn, -sudp are portkit's own */
		if (w[1] == 's' && w[2] && strlen(w) <= 6 && all_upper(w + 2)) {
			if (scan_letters(w, v, &n))
				goto fail;
			continue;
		}
		if (w[1] == 'P' && w[2] >= 'A' && w[2] <= 'Z') {	/* -PE, -PS443 */
			errorf(-EINVAL, "'%s': nmap's discovery probes are not portkit's; it picks "
			       "ARP, ICMP echo, SYN 443 and ACK 80 itself, -Pn skips discovery", w);
			goto fail;
		}
		v[n++] = argv[i];
	}
	v[n] = NULL;
	*argc_out = n;
	return v;
fail:
	free(v);
	return NULL;
}

/* -oA BASE: BASE.xml, BASE.gnmap and BASE.nmap, as nmap names them */
int scan_formats(struct scan_opts *o, const char *base)
{
	static const char *const ext[3] = { ".xml", ".gnmap", ".nmap" };

	if (!base[0] || !strcmp(base, "-"))
		return errorf(-EINVAL, "-oA needs a base name for three files; '-' (stdout) holds "
			      "one format (-oX -, -oG - or -oN -)");
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(base) + strlen(ext[i]) + 1;

		free(o->formats[i]);
		o->formats[i] = xmalloc(n);
		snprintf(o->formats[i], n, "%s%s", base, ext[i]);
	}
	o->xml = o->formats[0];
	o->grepable = o->formats[1];
	o->normal = o->formats[2];
	return 0;
}

int scan_file_words(const char *path, const char *what,
		    int (*each)(void *arg, const char *word), void *arg)
{
	char *text, *p;
	size_t line = 1;
	int r;

	if ((r = text_load(path, MAX_TARGET_FILE, what, &text)))
		return r;
	for (p = text; *p; line++) {
		size_t len = strcspn(p, "\n");
		char *w, *save = NULL, *next = p + len + (p[len] != '\0');

		p[len] = '\0';
		p[strcspn(p, "#")] = '\0';	/* a comment ends the line */
		for (w = strtok_r(p, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
			if ((r = each(arg, w))) {
				char why[256];

				snprintf(why, sizeof(why), "%s", error_msg());
				r = errorf(r, "%s '%s' line %zu: %s", what, path, line, why);
				goto done;
			}
		}
		p = next;
	}
done:
	free(text);
	return r;
}

int targets_only_ipv6(struct target_list *t, size_t from, const char *spec)
{
	size_t k = from, before = t->n - from;

	for (size_t i = from; i < t->n; i++) {
		if (t->v[i].family == AF_INET6)
			t->v[k++] = t->v[i];
		else if (!t->v[i].name[0])
			return errorf(-EINVAL, "'%s' is IPv4; -6 scans IPv6 targets only", spec);
	}
	t->n = k;
	if (before && k == from)
		return errorf(-ENOENT, "cannot resolve '%s': no IPv6 address (-6)", spec);
	return 0;
}

struct adding {
	const struct scan_opts *o;
	struct target_list *t;
};

static int add_one(void *arg, const char *spec)
{
	struct adding *a = arg;
	size_t from = a->t->n;
	int r = targets_add(a->t, spec);

	return r ? r : a->o->ipv6 ? targets_only_ipv6(a->t, from, spec) : 0;
}

static int exclude_one(void *arg, const char *spec)
{
	return targets_exclude(arg, spec);
}

int scan_targets(const struct scan_opts *o, struct target_list *t, int n, char **specs)
{
	struct adding a = { o, t };
	int r;

	if (o->targets_from && (r = scan_file_words(o->targets_from, "target file", add_one, &a)))
		return r;
	for (int i = 0; i < n; i++)
		if ((r = add_one(&a, specs[i])))
			return r;
	targets_dedup(t);
	if (o->exclude && (r = targets_exclude(t, o->exclude)))
		return r;
	if (o->exclude_file &&
	    (r = scan_file_words(o->exclude_file, "exclude file", exclude_one, t)))
		return r;
	return 0;
}
