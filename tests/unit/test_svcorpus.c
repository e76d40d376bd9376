/* test_svcorpus.c - the recordings of bench/svcorpus (what real Debian
 * daemons answered to each probe, plain and inside TLS) replayed through
 * the matcher in the order --sv asks them (scan/sv.c plan(): the probes
 * meant for the port, the banner, then the rest in the file's order; the
 * TLS step asks the banner, then the port's own probe, then HTTP). Each
 * recording's "want SERVICE|PRODUCT|VERSION" line is the truth ("-": the
 * wire does not say it), and the replay must give exactly that. No
 * network: the replies are the files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"
#include "core/vocab/svdb.h"

#define MAX_REPLIES 64

struct reply {
	char name[32];		/* a probe's name, "tls", or "tls:" and a probe's name */
	uint8_t *data;
	size_t len;
};

struct recording {
	struct reply r[MAX_REPLIES];
	size_t n;
	char want[3][64];
	unsigned port;
};

static int hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool load(const char *path, struct recording *g)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char *v = strchr(line, ' ');

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "want")) {
			sscanf(v, "%63[^|]|%63[^|]|%63[^\n]", g->want[0], g->want[1], g->want[2]);
			continue;
		}
		if (g->n == MAX_REPLIES)
			break;
		struct reply *r = &g->r[g->n++];

		snprintf(r->name, sizeof(r->name), "%s", line);
		r->data = malloc(strlen(v) / 2 + 1);
		for (size_t i = 0; strcmp(v, "-") && hex(v[i]) >= 0 && hex(v[i + 1]) >= 0; i += 2)
			r->data[r->len++] = (uint8_t)(hex(v[i]) << 4 | hex(v[i + 1]));
	}
	free(line);
	fclose(f);
	return true;
}

static const struct reply *find(const struct recording *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->r[i].name, name))
			return &g->r[i];
	return NULL;
}

static bool try_probe(const struct sv_db *db, const struct recording *g, const char *prefix,
		      int p, struct sv_name *nm)
{
	char key[40];
	const struct reply *r;

	snprintf(key, sizeof(key), "%s%s", prefix, sv_probe_name(db, p));
	r = find(g, key);
	return r && r->len && sv_classify(db, p, r->data, r->len, memset(nm, 0, sizeof(*nm)));
}

/* The TLS step: a handshake, then the banner, the port's own probe, HTTP */
static bool tls_step(const struct sv_db *db, const struct recording *g, struct sv_name *nm)
{
	int inner = sv_db_find(db, "http");

	if (!find(g, "tls"))
		return false;
	for (int p = 0; p < sv_db_probes(db); p++)
		if (!sv_probe_tls(db, p) && p != sv_db_find(db, "null") &&
		    sv_probe_hinted(db, p, (uint16_t)g->port)) {
			inner = p;
			break;
		}
	if (try_probe(db, g, "tls:", sv_db_find(db, "null"), nm) ||
	    try_probe(db, g, "tls:", inner, nm))
		sv_tls_service(nm->svc, sizeof(nm->svc));
	else
		snprintf(nm->svc, sizeof(nm->svc), "ssl"), nm->product[0] = nm->version[0] = '\0';
	return true;
}

static bool step(const struct sv_db *db, const struct recording *g, int p, struct sv_name *nm)
{
	return sv_probe_tls(db, p) ? tls_step(db, g, nm) : try_probe(db, g, "", p, nm);
}

/* sv.c's plan: the port's probes, the banner, the others */
static bool replay(const struct sv_db *db, const struct recording *g, struct sv_name *nm)
{
	int null = sv_db_find(db, "null"), n = sv_db_probes(db);
	bool null_done = false;

	for (int p = 0; p < n; p++)
		if (sv_probe_hinted(db, p, (uint16_t)g->port)) {
			if (step(db, g, p, nm))
				return true;
			null_done |= p == null;
		}
	if (!null_done && step(db, g, null, nm))
		return true;
	for (int p = 0; p < n; p++)
		if (!sv_probe_hinted(db, p, (uint16_t)g->port) && p != null && step(db, g, p, nm))
			return true;
	return false;
}

static const char *dash(const char *s)
{
	return s[0] ? s : "-";
}

TEST(svcorpus_recordings_replay_to_the_truth)
{
	const char *dir = unit_data("../../bench/svcorpus/recordings");
	char path[512];
	struct sv_db *db;
	struct dirent *e;
	DIR *d = opendir(dir);
	int seen = 0;

	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_INT(sv_db_load(&db), 0);
	while ((e = readdir(d))) {
		struct recording *g = calloc(1, sizeof(*g));
		struct sv_name nm = { 0 };
		const char *dash_at = strrchr(e->d_name, '-');

		if (!dash_at || !strstr(e->d_name, ".txt")) {
			free(g);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		g->port = (unsigned)atoi(dash_at + 1);
		CHECK(load(path, g));
		seen++;
		if (!replay(db, g, &nm))
			snprintf(nm.svc, sizeof(nm.svc), "-");
		if (strcmp(dash(nm.svc), g->want[0]) || strcmp(dash(nm.product), g->want[1]) ||
		    strcmp(dash(nm.version), g->want[2]))
			unit_fail(__FILE__, __LINE__, "%s: got %s|%s|%s, the truth is %s|%s|%s",
				  e->d_name, dash(nm.svc), dash(nm.product), dash(nm.version),
				  g->want[0], g->want[1], g->want[2]);
		for (size_t i = 0; i < g->n; i++)
			free(g->r[i].data);
		free(g);
	}
	closedir(d);
	sv_db_free(db);
	CHECK(seen >= 20);	/* the corpus is there, not an empty folder */
}
