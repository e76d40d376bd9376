/*
 * state.c - what one scan is (its identity), and `--resume FILE`.
 *
 * Identity: hashes of the target list (every address, in order), the port
 * list and the options that change what is probed, with the method, the
 * seed and --shard I/N. Shards of one scan differ only in I; a resumed
 * scan must match its state file in all of it. With --shard or --resume
 * and no --seed, the seed is derived from the identity, so every shard of
 * one command line orders the pairs alike without being told a seed.
 *
 * The state file, text, one item a line, rewritten whole (write to
 * FILE.tmp, fsync, rename over FILE: a SIGKILL leaves the old state or the
 * new one, never half of one):
 *
 *   # portkit scan state 1
 *   scan <method> <targets> <ports> <options> <seed> <shard> <shards>  hashes in hex
 *   phase discovered|done
 *   h <target> up|down <reason>          every target, once discovery is over
 *   p <target> <port> <tcp|udp> <state> <reason> <rtt_us>   every result so far
 *
 * Costs: the file holds every result (closed ones too), about 30 bytes
 * each, and the scan rewrites it at most once a second (less often when a
 * write takes long); the scan keeps 24 bytes a result for it (struct
 * scan_done), and loading it a bit per (target, port) pair besides.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/textfile.h"
#include "core/base/xalloc.h"
#include "core/vocab/registry.h"
#include "scan/scan.h"
#include "core/base/banned.h"

#define STATE_HEADER "# portkit scan state 1"
#define STATE_MAX (1ull << 32)	/* bytes a state file may hold */

static const char *const method_names[] = { [M_CONNECT] = "connect", [M_UDP] = "udp",
					     [M_SYN] = "syn" };

const char *scan_method_name(enum scan_method m)
{
	return method_names[m];
}

/* Reasons are static strings everywhere (results point at them): a
 * reason read back from a file is mapped onto the same ones. */
const char *scan_reason_intern(const char *s)
{
	static const char *const known[] = {
		"syn-ack", "reset", "conn-refused", "no-response", "udp-response", "port-unreach",
		"proto-unreach", "host-unreach", "net-unreach", "host-prohibited",
		"net-prohibited", "admin-prohibited", "error", "self-connect",
		"localhost-response", "arp-response", "echo-reply", "user-set",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(s, known[i]))
			return known[i];
	return NULL;
}

int scan_port_state_parse(const char *s)
{
	for (unsigned k = ST_OPEN; k <= ST_OPEN_FILTERED; k++)
		if (!strcmp(s, port_state_name((enum port_state)k)))
			return (int)k;
	return -1;
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	return hash_add(h, &v, sizeof(v));
}

void scan_ident_make(struct scan_ident *id, const struct scan_opts *o, const struct target_list *t,
		     const uint16_t *ports, size_t nports)
{
	uint64_t h = HASH_INIT;

	memset(id, 0, sizeof(*id));
	for (size_t i = 0; i < t->n; i++)
		h = hash_add(h, t->v[i].addr, t->v[i].family == AF_INET ? 4 : 16);
	id->targets = hash_u64(h, t->n);
	id->ports = hash_u64(hash_add(HASH_INIT, ports, nports * sizeof(*ports)), nports);
	h = HASH_INIT;
	h = hash_u64(h, o->retries);
	h = hash_u64(h, o->timeout_ms);
	h = hash_u64(h, o->no_ping);
	h = hash_u64(h, o->all);
	h = hash_u64(h, o->open_only);
	id->options = hash_u64(h, o->sv);
	id->method = o->method;
	id->shard = o->shards ? o->shard : 1;
	id->shards = o->shards ? o->shards : 1;
	if (o->seed)
		id->seed = o->seed;
	else if (o->shards || o->resume)	/* the same on every shard */
		id->seed = hash_u64(id->targets ^ id->ports ^ id->options, o->method) | 1;
	else if (getrandom(&id->seed, sizeof(id->seed), 0) != sizeof(id->seed) || !id->seed)
		id->seed = hash_u64((uint64_t)getpid(), (uint64_t)ev_now_us()) | 1;
}

/* What differs between two identities, named as the user knows it; NULL
 * when they are shards of one scan (same_shard: the same shard too). */
const char *scan_ident_differs(const struct scan_ident *a, const struct scan_ident *b,
			       bool same_shard)
{
	if (a->method != b->method)
		return "method";
	if (a->targets != b->targets)
		return "targets";
	if (a->ports != b->ports)
		return "ports";
	if (a->seed != b->seed)
		return "seed";
	if (a->shards != b->shards)
		return "shard count";
	if (a->options != b->options)
		return "options (--retries, --timeout, -Pn, --all, --open or --sv)";
	if (same_shard && a->shard != b->shard)
		return "shard";
	return NULL;
}

struct scan_state {
	struct scan_ident id;
	bool discovered, done;
	uint8_t *host_up;		/* per target: 0 unknown, 1 up, 2 down */
	const char **host_why;
	struct scan_done *v;		/* every result so far */
	size_t n, cap;
	uint8_t *pairs;			/* bit (port index * T + target): done */
	int32_t *port_index;		/* port -> index in the port list, -1 */
	size_t ntargets;
};

static int bad_line(const char *path, unsigned line, const char *what)
{
	return errorf(-EINVAL, "cannot resume from '%s': line %u: %s", path, line, what);
}

static int parse_ident(const char *s, struct scan_ident *id)
{
	char m[16];
	unsigned long long tg, po, op, seed;
	int used = 0;

	if (sscanf(s, "scan %15s %llx %llx %llx %llu %u %u%n", m, &tg, &po, &op, &seed, &id->shard,
		   &id->shards, &used) != 7 || s[used])
		return -1;
	id->targets = tg;
	id->ports = po;
	id->options = op;
	id->seed = seed;
	for (unsigned k = 0; k < 3; k++)
		if (!strcmp(m, method_names[k]))
			id->method = (enum scan_method)k;
	return strcmp(m, method_names[id->method]) ? -1 : 0;
}

static int parse_host(struct scan_state *st, const char *s)
{
	unsigned long long t;
	char up[8], why[32];

	if (sscanf(s, "h %llu %7s %31s", &t, up, why) != 3 || t >= st->ntargets ||
	    (strcmp(up, "up") && strcmp(up, "down")))
		return -1;
	st->host_up[t] = up[0] == 'u' ? 1 : 2;
	st->host_why[t] = scan_reason_intern(why);
	if (!st->host_why[t])
		return -1;
	if (st->host_why[t] == scan_reason_intern("user-set"))
		st->host_why[t] = NULL;		/* -Pn's, as the store keeps it */
	return 0;
}

static int parse_result(struct scan_state *st, const char *s)
{
	unsigned long long t, port, rtt;
	char proto[4], state[16], why[32];
	struct scan_done r;
	int32_t pi;
	uint64_t bit;
	int state_k;

	memset(&r, 0, sizeof(r));
	if (sscanf(s, "p %llu %llu %3s %15s %31s %llu", &t, &port, proto, state, why, &rtt) != 6 ||
	    t >= st->ntargets || port > 65535 || (pi = st->port_index[port]) < 0 ||
	    !(r.reason = scan_reason_intern(why)))
		return -1;
	r.target = (uint32_t)t;
	r.port = (uint16_t)port;
	r.proto = !strcmp(proto, "udp") ? PROTO_UDP : PROTO_TCP;
	r.rtt_us = (uint32_t)rtt;
	if ((state_k = scan_port_state_parse(state)) < 0)
		return -1;
	r.state = (uint8_t)state_k;
	bit = (uint64_t)pi * st->ntargets + t;
	if (st->pairs[bit / 8] >> (bit % 8) & 1)
		return 0;	/* a pair once */
	st->pairs[bit / 8] |= (uint8_t)(1u << (bit % 8));
	st->v = xgrow(st->v, sizeof(*st->v), st->n + 1, &st->cap);
	st->v[st->n++] = r;
	return 0;
}

static int other_scan(const char *path, const char *diff)
{
	return errorf(-EINVAL, "'%s' is the state of another scan (not the same %s); not resuming",
		      path, diff);
}

/* The identity line comes first: a state of another scan is refused
 * before its lines are read with this scan's meaning. */
static int parse_state(struct scan_state *st, const struct scan_ident *id, const char *path,
		       char *text)
{
	const char *diff;

	unsigned line = 0;
	char *save = NULL;

	for (char *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		int bad = 0;

		if (++line == 1) {
			if (strcmp(s, STATE_HEADER))
				return errorf(-EINVAL, "'%s' is not a portkit scan state file", path);
			continue;
		}
		if (line == 2) {
			if (parse_ident(s, &st->id))
				return bad_line(path, line, "not a scan line");
			if ((diff = scan_ident_differs(&st->id, id, true)))
				return other_scan(path, diff);
		} else if (!strcmp(s, "phase discovered")) {
			st->discovered = true;
		} else if (!strcmp(s, "phase done")) {
			st->done = st->discovered = true;
		} else if (s[0] == 'h') {
			bad = parse_host(st, s);
		} else if (s[0] == 'p') {
			bad = parse_result(st, s);
		} else {
			bad = -1;
		}
		if (bad)
			return bad_line(path, line, "unreadable");
	}
	return line < 2 ? errorf(-EINVAL, "'%s' is not a portkit scan state file", path) : 0;
}

int scan_state_load(const char *path, const struct scan_ident *id, const struct target_list *t,
		    const uint16_t *ports, size_t nports, struct scan_state **out)
{
	struct scan_state *st;
	char *text = NULL;
	int r;

	*out = NULL;
	if (access(path, F_OK) && errno == ENOENT)
		return 0;	/* a new scan: the file comes with the first save */
	if ((r = text_load(path, STATE_MAX, "scan state", &text)))
		return r;
	st = xcalloc(1, sizeof(*st));
	st->ntargets = t->n;
	st->host_up = xcalloc(t->n ? t->n : 1, 1);
	st->host_why = xcalloc(t->n ? t->n : 1, sizeof(*st->host_why));
	st->pairs = xcalloc((size_t)((uint64_t)t->n * nports / 8 + 1), 1);
	st->port_index = xmalloc(65536 * sizeof(*st->port_index));
	for (size_t p = 0; p < 65536; p++)
		st->port_index[p] = -1;
	for (size_t i = 0; i < nports; i++)
		st->port_index[ports[i]] = (int32_t)i;
	r = parse_state(st, id, path, text);
	free(text);
	if (r) {
		scan_state_free(st);
		return r;
	}
	*out = st;
	return 0;
}

void scan_state_free(struct scan_state *st)
{
	if (!st)
		return;
	free(st->host_up);
	free(st->host_why);
	free(st->v);
	free(st->pairs);
	free(st->port_index);
	free(st);
}

bool scan_state_discovered(const struct scan_state *st)
{
	return st && st->discovered;
}

int scan_state_host(const struct scan_state *st, size_t target, const char **why)
{
	*why = st->host_why[target];
	return st->host_up[target];
}

const struct scan_done *scan_state_results(const struct scan_state *st, size_t *n)
{
	*n = st ? st->n : 0;
	return st ? st->v : NULL;
}

bool scan_state_done(void *arg, uint64_t target, uint64_t port_index)
{
	const struct scan_state *st = arg;
	uint64_t bit = port_index * st->ntargets + target;

	return st->pairs[bit / 8] >> (bit % 8) & 1;
}

static void write_state(FILE *f, const struct scan_ident *id, const struct scan_store *s,
			const struct scan_done *v, size_t n, bool discovered, bool done)
{
	fprintf(f, "%s\nscan %s %llx %llx %llx %llu %u %u\n", STATE_HEADER,
		method_names[id->method], (unsigned long long)id->targets,
		(unsigned long long)id->ports, (unsigned long long)id->options,
		(unsigned long long)id->seed, id->shard, id->shards);
	if (discovered)
		fprintf(f, "phase %s\n", done ? "done" : "discovered");
	for (size_t i = 0; discovered && i < s->t->n; i++)
		if (s->host[i].status != HOST_UNKNOWN)
			fprintf(f, "h %zu %s %s\n", i, s->host[i].status == HOST_UP ? "up" : "down",
				s->host[i].why ? s->host[i].why : "user-set");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "p %u %u %s %s %s %u\n", v[i].target, v[i].port,
			v[i].proto == PROTO_UDP ? "udp" : "tcp",
			port_state_name((enum port_state)v[i].state), v[i].reason, v[i].rtt_us);
}

int scan_state_save(const char *path, const struct scan_ident *id, const struct scan_store *s,
		    const struct scan_done *v, size_t n, bool discovered, bool done)
{
	char tmp[4096];
	FILE *f;
	int e = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return errorf(-ENAMETOOLONG, "cannot write '%s': the name is too long", path);
	if (!(f = fopen(tmp, "we")))
		return errorf(-errno, "cannot write '%s': %s", tmp, strerror(errno));
	write_state(f, id, s, v, n, discovered, done);
	errno = 0;
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		e = errno ? errno : EIO;
	if (fclose(f) && !e)
		e = errno ? errno : EIO;
	if (!e && rename(tmp, path))
		e = errno;
	if (e) {
		unlink(tmp);
		return errorf(-e, "cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

/* "1-1000,2000": the port list in its order, for the scan record (a list
 * a shard's merge can read back with the same meaning). */
static char *ports_text(const uint16_t *ports, size_t n)
{
	char *s = xmalloc(n * 12 + 1);
	size_t k = 0;

	s[0] = '\0';
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && ports[j + 1] == ports[j] + 1)
			j++;
		k += (size_t)snprintf(s + k, n * 12 + 1 - k, j > i ? "%s%u-%u" : "%s%u",
				      k ? "," : "", ports[i], ports[j]);
		i = j + 1;
	}
	return s;
}

static void kv_hex(struct out *o, const char *key, uint64_t v)
{
	char b[20];

	snprintf(b, sizeof(b), "%016llx", (unsigned long long)v);
	out_kv_str(o, key, b);
}

void scan_print_json_scan(struct out *o, const struct scan_ident *id, const struct scan_opts *opt,
			  const uint16_t *ports, size_t nports)
{
	char *p = ports_text(ports, nports);

	out_record_begin(o);
	out_kv_str(o, "scan", "portkit");
	out_kv_str(o, "method", method_names[id->method]);
	out_kv_str(o, "targets", opt->target_spec);
	out_kv_str(o, "exclude", opt->exclude);
	out_kv_str(o, "ports", p);
	out_kv_uint(o, "seed", id->seed);
	out_kv_uint(o, "shard", id->shard);
	out_kv_uint(o, "shards", id->shards);
	kv_hex(o, "targets_id", id->targets);
	kv_hex(o, "ports_id", id->ports);
	kv_hex(o, "options_id", id->options);
	out_record_end(o);
	free(p);
}
