/*
 * genreg - build-time generator: IANA CSV -> C tables (core/vocab/registry_int.h).
 *
 * usage: genreg INPUT.csv OUTPUT.c
 *
 * Reads every record through the same CSV and row parsers the tests cover,
 * interns names and descriptions into one string pool (so the binary holds
 * offsets, not pointers: no relocations to apply at start-up), and writes
 * the record array and the three sorted indexes. Any malformed row stops
 * the build with its line number.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/base/buf.h"
#include "core/wire/csv.h"
#include "core/vocab/iana.h"
#include "core/base/log.h"
#include "core/vocab/registry.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define HASH_SIZE (1u << 16)

struct pool {
	struct buf text;
	uint32_t *slot;	/* offset + 1, 0 = empty */
};

static struct reg_entry *ents;
static size_t nents, cap;
static struct pool pool;

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static uint32_t intern(const char *s)
{
	uint32_t i = hash(s) & (HASH_SIZE - 1);
	uint32_t off;

	if (!*s)
		return 0;
	while (pool.slot[i]) {
		off = pool.slot[i] - 1;
		if (!strcmp(pool.text.data + off, s))
			return off;
		i = (i + 1) & (HASH_SIZE - 1);
	}
	off = (uint32_t)pool.text.len;
	if (buf_add(&pool.text, s, strlen(s) + 1)) {
		fprintf(stderr, "genreg: string pool full\n");
		exit(1);
	}
	pool.slot[i] = off + 1;
	return off;
}

static const char *name_of(uint16_t i)
{
	return pool.text.data + ents[i].name;
}

static int cmp_port(const void *a, const void *b)
{
	const struct reg_entry *x = &ents[*(const uint16_t *)a];
	const struct reg_entry *y = &ents[*(const uint16_t *)b];

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return *(const uint16_t *)a < *(const uint16_t *)b ? -1 : 1;
}

static int cmp_name(const void *a, const void *b)
{
	int c = strcasecmp(name_of(*(const uint16_t *)a), name_of(*(const uint16_t *)b));

	if (c)
		return c;
	return *(const uint16_t *)a < *(const uint16_t *)b ? -1 : 1;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *data;

	if (!f || fstat(fileno(f), &st)) {
		fprintf(stderr, "genreg: cannot open '%s': %s\n", path, strerror(errno));
		exit(1);
	}
	data = xmalloc((size_t)st.st_size + 1);
	*len = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	return data;
}

static void read_csv(const char *path)
{
	struct csv c;
	struct csv_row row;
	struct buf desc = BUF_INIT(1 << 16);
	size_t len;
	char *data = slurp(path, &len);
	int r;

	csv_init(&c, data, len);
	while ((r = csv_next(&c, &row)) > 0) {
		struct iana_rec rec;

		if (iana_is_header(&row))
			continue;
		if (iana_parse_row(&row, &rec, &desc)) {
			fprintf(stderr, "genreg: %s: %s\n", path, error_msg());
			exit(1);
		}
		if (nents == 65535) {
			fprintf(stderr, "genreg: too many records\n");
			exit(1);
		}
		ents = xgrow(ents, sizeof(*ents), nents + 1, &cap);
		ents[nents++] = (struct reg_entry){
			.name = intern(rec.name),
			.desc = intern(rec.desc),
			.lo = (uint16_t)rec.lo,
			.hi = (uint16_t)rec.hi,
			.proto = (uint8_t)rec.proto,
			.flags = rec.has_port ? REG_HAS_PORT : 0,
		};
	}
	if (r < 0) {
		fprintf(stderr, "genreg: %s: %s\n", path, error_msg());
		exit(1);
	}
	csv_free(&c);
	buf_free(&desc);
	free(data);
}

static void emit_index(FILE *f, const char *name, uint16_t *idx, size_t n)
{
	fprintf(f, "const size_t %s_n = %zu;\nconst uint16_t %s[] = {", name, n, name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%u,", i % 16 ? "" : "\n", idx[i]);
	fprintf(f, "\n0 };\n\n");
}

static void emit_pool(FILE *f)
{
	fprintf(f, "const char reg_pool[] =\n\"");
	for (size_t i = 0; i < pool.text.len; i++) {
		unsigned char ch = (unsigned char)pool.text.data[i];

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\%03o", ch);
		else
			fputc(ch, f);
		if (ch == '\0' && i + 1 < pool.text.len)
			fprintf(f, "\"\n\"");
	}
	fprintf(f, "\";\n\n");
}

int main(int argc, char **argv)
{
	uint16_t *byport, *byrange, *byname, *maxhi;
	size_t np = 0, nr = 0, nn = 0;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: genreg INPUT.csv OUTPUT.c\n");
		return 2;
	}
	buf_init(&pool.text, 1u << 26);
	buf_addch(&pool.text, '\0');
	pool.slot = xcalloc(HASH_SIZE, sizeof(*pool.slot));
	read_csv(argv[1]);

	byport = xcalloc(nents, sizeof(*byport));
	byrange = xcalloc(nents, sizeof(*byrange));
	byname = xcalloc(nents, sizeof(*byname));
	maxhi = xcalloc(nents, sizeof(*maxhi));
	for (size_t i = 0; i < nents; i++) {
		if ((ents[i].flags & REG_HAS_PORT) && ents[i].lo == ents[i].hi)
			byport[np++] = (uint16_t)i;
		else if (ents[i].flags & REG_HAS_PORT)
			byrange[nr++] = (uint16_t)i;
		if (ents[i].name)
			byname[nn++] = (uint16_t)i;
	}
	qsort(byport, np, sizeof(*byport), cmp_port);
	qsort(byrange, nr, sizeof(*byrange), cmp_port);
	qsort(byname, nn, sizeof(*byname), cmp_name);

	f = fopen(argv[2], "w");
	if (!f) {
		fprintf(stderr, "genreg: cannot write '%s': %s\n", argv[2], strerror(errno));
		return 1;
	}
	fprintf(f, "/* generated by tools/genreg from %s: do not edit */\n", argv[1]);
	fprintf(f, "#include \"core/vocab/registry_int.h\"\n\n");
	emit_pool(f);
	fprintf(f, "const size_t reg_nentries = %zu;\n", nents);
	fprintf(f, "const struct reg_entry reg_entries[] = {\n");
	for (size_t i = 0; i < nents; i++)
		fprintf(f, "{%u,%u,%u,%u,%u,%u},\n", ents[i].name, ents[i].desc,
			ents[i].lo, ents[i].hi, ents[i].proto, ents[i].flags);
	fprintf(f, "};\n\n");
	emit_index(f, "reg_port_index", byport, np);
	emit_index(f, "reg_range_index", byrange, nr);
	emit_index(f, "reg_name_index", byname, nn);
	for (size_t i = 0; i < nr; i++) {
		uint16_t hi = ents[byrange[i]].hi;

		maxhi[i] = i && maxhi[i - 1] > hi ? maxhi[i - 1] : hi;
	}
	emit_index(f, "reg_range_maxhi", maxhi, nr);
	if (fclose(f)) {
		fprintf(stderr, "genreg: cannot write '%s': %s\n", argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
