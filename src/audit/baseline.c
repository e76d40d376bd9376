/*
 * baseline.c - today's listeners to a file, and what changed since.
 *
 * The file is text, one listener a line, tab-separated:
 *   PROTO ADDRESS PORT EXPOSURE OWNERS NETNS
 * OWNERS is a comma-separated list of command names or "-", NETNS "-" for
 * the namespace portkit ran in. Lines starting with '#' are comments.
 * A listener is the same when (netns, protocol, address, port) is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "audit/audit.h"
#include "core/base/log.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define HEADER "# portkit audit baseline 1"
#define MAX_BASELINE (16u << 20)

int baseline_save(const char *path, const struct listener *v, size_t n)
{
	FILE *f = fopen(path, "we");
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!f)
		return errorf(-errno, "cannot write baseline '%s': %s", path, strerror(errno));
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, HEADER "\n# saved %s: proto address port exposure owners netns\n", ts);
	for (size_t i = 0; i < n; i++) {
		const struct listener *l = &v[i];

		fprintf(f, "%s\t%s\t%u\t%s\t", l->proto == PROTO_TCP ? "tcp" : "udp", l->addr_text,
			l->port, exposure_name(l->exposure));
		for (size_t j = 0; j < l->nown; j++)
			fprintf(f, "%s%s", j ? "," : "", l->own[j].comm);
		fprintf(f, "%s\t%s\n", l->nown ? "" : "-", l->netns[0] ? l->netns : "-");
	}
	if (fclose(f))
		return errorf(-errno, "cannot write baseline '%s': %s", path, strerror(errno));
	return 0;
}

static int bad(const char *path, unsigned line, const char *what)
{
	return errorf(-EINVAL, "%s:%u: %s", path, line, what);
}

static void set_owners(struct listener *l, char *list)
{
	char *save = NULL;

	if (!strcmp(list, "-"))
		return;
	for (char *t = strtok_r(list, ",", &save); t && l->nown < MAX_OWNERS;
	     t = strtok_r(NULL, ",", &save))
		snprintf(l->own[l->nown++].comm, sizeof(l->own[0].comm), "%s", t);
}

static int parse_fields(const char *path, unsigned line, char **f, struct listener *l)
{
	struct cidr c;
	uint16_t port;

	memset(l, 0, sizeof(*l));
	if (!strcmp(f[0], "tcp"))
		l->proto = PROTO_TCP;
	else if (!strcmp(f[0], "udp"))
		l->proto = PROTO_UDP;
	else
		return bad(path, line, "protocol must be tcp or udp");
	if (cidr_parse(f[1], &c) || c.prefix != (c.family == AF_INET ? 32 : 128))
		return bad(path, line, "bad address");
	l->family = c.family;
	memcpy(l->addr, c.addr, 16);
	addr_format(c.family, c.addr, l->addr_text);
	if (parse_port(f[2], &port))
		return bad(path, line, "bad port");
	l->port = port;
	if (!strcmp(f[3], "loopback"))
		l->exposure = EXP_LOOPBACK;
	else if (!strcmp(f[3], "all-interfaces"))
		l->exposure = EXP_ALL;
	else if (!strcmp(f[3], "address"))
		l->exposure = EXP_ADDRESS;
	else
		return bad(path, line, "bad exposure");
	set_owners(l, f[4]);
	if (strlen(f[5]) >= sizeof(l->netns))
		return bad(path, line, "namespace name too long");
	snprintf(l->netns, sizeof(l->netns), "%s", strcmp(f[5], "-") ? f[5] : "");
	listener_name(l);
	l->verified = -1;
	return 0;
}

int baseline_parse(const char *path, const char *text, struct listener **out, size_t *n)
{
	struct listener *v = NULL;
	size_t k = 0, cap = 0;
	unsigned line = 0;

	if (strncmp(text, HEADER, strlen(HEADER)))
		return errorf(-EINVAL, "'%s' is not a portkit audit baseline", path);
	while (*text) {
		char buf[1024];
		char *f[6];
		size_t len = strcspn(text, "\n"), nf = 0;

		line++;
		if (len >= sizeof(buf)) {
			free(v);
			return bad(path, line, "line too long");
		}
		memcpy(buf, text, len);
		buf[len] = '\0';
		text += len + (text[len] == '\n');
		if (!buf[0] || buf[0] == '#')
			continue;
		for (char *p = buf; nf < 6; nf++) {
			f[nf] = p;
			p += strcspn(p, "\t");
			if (!*p) {
				nf++;
				break;
			}
			*p++ = '\0';
		}
		v = xgrow(v, sizeof(*v), k + 1, &cap);
		if (nf != 6 || strchr(f[5], '\t')) {
			free(v);
			return bad(path, line, "expected 6 tab-separated fields");
		}
		if (parse_fields(path, line, f, &v[k])) {
			free(v);
			return -EINVAL;
		}
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

static bool same(const struct listener *a, const struct listener *b)
{
	return a->proto == b->proto && a->port == b->port && !strcmp(a->netns, b->netns) &&
	       !strcmp(a->addr_text, b->addr_text);
}

int baseline_compare(const char *path, const struct listener *now, size_t n,
		     struct findings *f)
{
	struct listener *base;
	size_t nb;
	char *text = NULL;
	int r = text_load(path, MAX_BASELINE, "baseline", &text);

	if (r)
		return r;
	r = baseline_parse(path, text, &base, &nb);
	free(text);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = same(&now[i], &base[j]);
		if (!found)
			add_finding(f, "new-listener", &now[i], "%u/%s on %s: new since the "
				    "baseline (%s)", now[i].port, now[i].proto == PROTO_TCP ? "tcp" : "udp",
				    now[i].addr_text, path);
	}
	for (size_t j = 0; j < nb; j++) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++)
			found = same(&now[i], &base[j]);
		if (!found)
			add_finding(f, "removed-listener", &base[j], "%u/%s on %s: listening at "
				    "the baseline (%s), gone now", base[j].port,
				    base[j].proto == PROTO_TCP ? "tcp" : "udp", base[j].addr_text, path);
	}
	free(base);
	return 0;
}
