/*
 * merge.c - `portkit scan --merge A.json B.json ...`: the --json outputs
 * of one scan's shards, made one result.
 *
 * Each file opens with the scan record --shard writes (state.c): the
 * method, the targets and ports as given, the seed, which shard, and
 * hashes of the target list, the port list and the options. Files whose
 * records differ in anything but the shard index are refused, naming
 * what differs, and so is a shard given twice. The target list is
 * rebuilt from the record (names are resolved again; if they now give
 * other addresses, its hash says so and the merge is refused); host
 * records say up when any shard found the host up; port records are
 * read back into results. The job then prints them as one scan does:
 * hosts in target order, ports by target, protocol and port.
 *
 * The reader takes NDJSON objects of scalar values only (what scan
 * --json writes), a line at most LINE_MAX bytes; anything else is an
 * error naming the file and line. Memory: the files' text, one at a time,
 * and the results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "core/vocab/registry.h"
#include "scan/scan.h"
#include "core/base/banned.h"

#define MERGE_FILE_MAX (1ull << 32)
#define MAX_FIELDS 32

struct field {
	char key[32];
	char val[512];
	bool null;
};

struct rec {
	struct field f[MAX_FIELDS];
	size_t n;
};

static const char *get(const struct rec *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->f[i].key, key))
			return r->f[i].null ? NULL : r->f[i].val;
	return NULL;
}

static void put_utf8(char *out, size_t *k, size_t max, unsigned c)
{
	uint8_t b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (uint8_t)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | c >> 6);
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		n = 2;
	} else {
		b[0] = (uint8_t)(0xe0 | c >> 12);
		b[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		n = 3;
	}
	for (size_t i = 0; i < n && *k + 1 < max; i++)
		out[(*k)++] = (char)b[i];
}

/* A JSON string at *p (after its quote) into out; 0, or -1 when it is not one. */
static int json_string(const char **p, char *out, size_t max)
{
	const char *s = *p;
	size_t k = 0;

	for (; *s && *s != '"'; s++) {
		unsigned c = (unsigned char)*s;

		if (c == '\\') {
			static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
			const char *e;

			if (!*++s)
				return -1;
			if (*s == 'u') {
				unsigned v = 0;

				for (int i = 1; i <= 4; i++) {
					char h = s[i];

					if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
					      (h >= 'A' && h <= 'F')))
						return -1;
					v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
				}
				s += 4;
				put_utf8(out, &k, max, v);
				continue;
			}
			for (e = esc; *e && *e != *s; e += 2)
				;
			if (!*e)
				return -1;
			c = (unsigned char)e[1];
		}
		if (k + 1 < max)
			out[k++] = (char)c;
	}
	if (*s != '"')
		return -1;
	out[k] = '\0';
	*p = s + 1;
	return 0;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

/* One flat JSON object: {"key": "string" | number | true | false | null, ...} */
static int json_flat(const char *s, struct rec *r)
{
	r->n = 0;
	s = skip_ws(s);
	if (*s++ != '{')
		return -1;
	s = skip_ws(s);
	if (*s == '}')
		return *skip_ws(s + 1) ? -1 : 0;
	for (;;) {
		struct field *f;

		if (r->n == MAX_FIELDS || *s++ != '"')
			return -1;
		f = &r->f[r->n++];
		f->null = false;
		if (json_string(&s, f->key, sizeof(f->key)) || *(s = skip_ws(s)) != ':')
			return -1;
		s = skip_ws(s + 1);
		if (*s == '"') {
			s++;
			if (json_string(&s, f->val, sizeof(f->val)))
				return -1;
		} else {
			size_t k = strspn(s, "0123456789+-.eEtruefalsn");

			if (!k || k >= sizeof(f->val))
				return -1;
			memcpy(f->val, s, k);
			f->val[k] = '\0';
			f->null = !strcmp(f->val, "null");
			s += k;
		}
		s = skip_ws(s);
		if (*s == '}')
			return *skip_ws(s + 1) ? -1 : 0;
		if (*s++ != ',')
			return -1;
		s = skip_ws(s);
	}
}

static uint64_t hex_or_num(const char *s, int base)
{
	return s ? strtoull(s, NULL, base) : 0;
}

static int read_ident(const struct rec *r, struct scan_ident *id)
{
	const char *m = get(r, "method");

	if (!get(r, "scan") || strcmp(get(r, "scan"), "portkit") || !m)
		return -1;
	memset(id, 0, sizeof(*id));
	id->method = !strcmp(m, "syn") ? M_SYN : !strcmp(m, "udp") ? M_UDP : M_CONNECT;
	id->targets = hex_or_num(get(r, "targets_id"), 16);
	id->ports = hex_or_num(get(r, "ports_id"), 16);
	id->options = hex_or_num(get(r, "options_id"), 16);
	id->seed = hex_or_num(get(r, "seed"), 10);
	id->shard = (unsigned)hex_or_num(get(r, "shard"), 10);
	id->shards = (unsigned)hex_or_num(get(r, "shards"), 10);
	return id->shard >= 1 && id->shard <= id->shards && id->shards <= 65536 ? 0 : -1;
}

struct merge {
	const char *first;		/* the file whose scan record the others must match */
	struct scan_ident id;
	uint8_t *have;			/* per shard: seen in which file + 1 */
	struct tindex tix;
	struct scan_merged *out;
	const struct target_list *t;
};

/* The targets and ports from the first scan record, as that scan built them. */
static int rebuild(struct merge *mg, const struct rec *r, const struct scan_opts *o,
		   struct target_list *t, const char *path)
{
	const char *targets = get(r, "targets"), *ports = get(r, "ports"), *ex = get(r, "exclude");
	struct scan_opts po = *o;
	struct scan_ident id;
	char buf[sizeof(r->f[0].val)], *save = NULL;

	if (!targets || !ports)
		return errorf(-EINVAL, "'%s': its scan record names no targets or ports", path);
	snprintf(buf, sizeof(buf), "%s", targets);
	for (char *s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save))
		if (targets_add(t, s))
			return errorf(-EINVAL, "'%s': %s", path, error_msg());
	targets_dedup(t);
	if (ex && targets_exclude(t, ex))
		return errorf(-EINVAL, "'%s': %s", path, error_msg());
	po.ports = NULL;
	if (portspec_parse(ports, &po.ports, &po.nports))
		return errorf(-EINVAL, "'%s': %s", path, error_msg());
	mg->out->nports = scan_port_list(&po, &mg->out->ports);
	free(po.ports);
	po.method = mg->id.method;
	scan_ident_make(&id, &po, t, mg->out->ports, mg->out->nports);
	if (id.targets != mg->id.targets || id.ports != mg->id.ports)
		return errorf(-EINVAL, "'%s': its %s no longer give the same list (names resolve "
			      "to other addresses now?)", path, id.targets != mg->id.targets
			      ? "targets" : "ports");
	mg->out->method = mg->id.method;
	return 0;
}

static int64_t find_addr(const struct merge *mg, const char *a)
{
	uint8_t addr[16];
	unsigned family;
	uint32_t scope;

	if (!a || addr_parse(a, &family, addr, &scope))
		return -1;
	return tindex_find(&mg->tix, family, addr);
}

static void str_field(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%s", v ? v : "");
}

static int port_record(struct merge *mg, const struct rec *r)
{
	struct scan_merged *out = mg->out;
	int64_t t = find_addr(mg, get(r, "addr"));
	const char *state = get(r, "state"), *why = get(r, "reason"), *proto = get(r, "proto");
	const char *src = get(r, "service_source");
	struct result x;
	int st;

	memset(&x, 0, sizeof(x));
	if (t < 0 || !state || !proto || !why || !(x.reason = scan_reason_intern(why)))
		return -1;
	x.target = (uint32_t)t;
	x.port = (uint16_t)hex_or_num(get(r, "port"), 10);
	x.proto = !strcmp(proto, "udp") ? PROTO_UDP : PROTO_TCP;
	if ((st = scan_port_state_parse(state)) < 0)
		return -1;
	x.state = (uint8_t)st;
	x.rtt_us = (uint32_t)hex_or_num(get(r, "rtt_us"), 10);
	x.probed = src && !strcmp(src, "probe");
	if (x.probed)
		str_field(x.svc, sizeof(x.svc), get(r, "service"));
	str_field(x.product, sizeof(x.product), get(r, "product"));
	str_field(x.version, sizeof(x.version), get(r, "version"));
	str_field(x.tls_cn, sizeof(x.tls_cn), get(r, "tls_subject"));
	str_field(x.tls_version, sizeof(x.tls_version), get(r, "tls_version"));
	str_field(x.banner, sizeof(x.banner), get(r, "banner"));
	x.tunnel = get(r, "tunnel") != NULL;
	out->v = xgrow(out->v, sizeof(*out->v), out->n + 1, &out->cap);
	out->v[out->n++] = x;
	return 0;
}

static int host_record(struct merge *mg, const struct rec *r)
{
	int64_t t = find_addr(mg, get(r, "addr"));
	const char *st = get(r, "status"), *why = get(r, "reason");
	const char *w = why ? scan_reason_intern(why) : NULL;

	if (t < 0 || !st || !w)
		return -1;
	if (!strcmp(st, "up") && mg->out->host_up[t] != 1) {
		mg->out->host_up[t] = 1;	/* up when any shard found it up */
		mg->out->host_why[t] = w;
	} else if (!strcmp(st, "down") && !mg->out->host_up[t]) {
		mg->out->host_up[t] = 2;
		mg->out->host_why[t] = w;
	}
	return 0;
}

/* The first line: this file's scan record, checked against the first file's. */
static int scan_record(struct merge *mg, const struct rec *r, const char *path,
		       const struct scan_opts *o, struct target_list *t)
{
	struct scan_ident id;
	const char *diff;
	int e;

	if (read_ident(r, &id))
		return errorf(-EINVAL, "'%s' does not begin with a scan record: --merge takes the "
			      "--json output of scans run with --shard", path);
	if (!mg->first) {
		mg->first = path;
		mg->id = id;
		mg->have = xcalloc(id.shards + 1, 1);
		if ((e = rebuild(mg, r, o, t, path)))
			return e;
		mg->t = t;
		tindex_build(&mg->tix, t);
		mg->out->host_up = xcalloc(t->n ? t->n : 1, 1);
		mg->out->host_why = xcalloc(t->n ? t->n : 1, sizeof(*mg->out->host_why));
	} else if ((diff = scan_ident_differs(&mg->id, &id, false))) {
		return errorf(-EINVAL, "'%s' is from another scan than '%s' (not the same %s)", path,
			      mg->first, diff);
	}
	if (mg->have[id.shard])
		return errorf(-EINVAL, "'%s' is shard %u/%u again (as another file given)", path,
			      id.shard, id.shards);
	mg->have[id.shard] = 1;
	return 0;
}

static int merge_file(struct merge *mg, const char *path, const struct scan_opts *o,
		      struct target_list *t)
{
	char *text, *save = NULL;
	unsigned line = 0;
	int e = text_load(path, MERGE_FILE_MAX, "scan output", &text);
	static struct rec r;	/* 17 KB: not on the stack */

	if (e)
		return e;
	for (char *s = strtok_r(text, "\n", &save); s && !e; s = strtok_r(NULL, "\n", &save)) {
		line++;
		if (json_flat(s, &r))
			e = errorf(-EINVAL, "'%s': line %u is not a JSON record of scan", path, line);
		else if (line == 1)
			e = scan_record(mg, &r, path, o, t);
		else if (get(&r, "port") && port_record(mg, &r))
			e = errorf(-EINVAL, "'%s': line %u: a port record of another scan", path, line);
		else if (!get(&r, "port") && get(&r, "status") && host_record(mg, &r))
			e = errorf(-EINVAL, "'%s': line %u: a host record of another scan", path, line);
	}
	if (!e && !line)
		e = errorf(-EINVAL, "'%s' is empty: --merge takes the --json output of scans run "
			   "with --shard", path);
	free(text);
	return e;
}

int scan_merge(const struct scan_opts *o, int nfiles, char **files, struct target_list *t,
	       struct scan_merged *out)
{
	struct merge mg = { .out = out };
	unsigned missing = 0, first_missing = 0;
	int e = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < nfiles && !e; i++)
		e = merge_file(&mg, files[i], o, t);
	if (!e) {
		size_t k = 0;

		qsort(out->v, out->n, sizeof(*out->v), scan_result_cmp);
		for (size_t i = 0; i < out->n; i++)	/* a pair once, whatever the files say */
			if (!k || scan_result_cmp(&out->v[k - 1], &out->v[i]))
				out->v[k++] = out->v[i];
		out->n = k;
		for (unsigned s = mg.id.shards; s >= 1; s--)
			if (!mg.have[s]) {
				missing++;
				first_missing = s;
			}
		if (missing)
			warnf("%u of %u shards missing (%u/%u first): the result covers the others only",
			      missing, mg.id.shards, first_missing, mg.id.shards);
	}
	if (mg.t)
		tindex_free(&mg.tix);
	free(mg.have);
	return e;
}

void scan_merged_free(struct scan_merged *m)
{
	free(m->v);
	free(m->host_up);
	free(m->host_why);
	free(m->ports);
	memset(m, 0, sizeof(*m));
}
