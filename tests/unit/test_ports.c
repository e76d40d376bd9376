/*
 * test_ports.c - the port and service lookup of `portkit port`
 * (src/ports): arguments to records, the word search, --proto, and the
 * printer's records. The registry is the generated one the binary has.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/base/log.h"
#include "ports/ports.h"

/* The record for port/proto in l, or NULL. */
static const struct port_rec *find(const struct port_list *l, unsigned port, unsigned proto)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].has_port && l->v[i].port == port && l->v[i].proto == proto)
			return &l->v[i];
	return NULL;
}

TEST(ports_numbers_ranges_and_protocols)
{
	struct port_list l = { 0 };
	const struct port_rec *r;

	CHECK_INT(ports_add_arg(&l, "22", PROTO_ALL), 0);
	CHECK(l.n >= 2);
	r = find(&l, 22, PROTO_TCP);
	CHECK(r && r->reg && r->cur);
	if (r && r->reg && r->cur) {
		CHECK_STR(reg_name(r->reg), "ssh");
		CHECK_STR(r->cur->name, "SSH");
	}
	CHECK(find(&l, 22, PROTO_UDP) != NULL);
	port_list_free(&l);
	CHECK(l.n == 0 && !l.v);
	/* /udp keeps one protocol; --proto narrows further */
	CHECK_INT(ports_add_arg(&l, "53/udp", PROTO_ALL), 0);
	CHECK(find(&l, 53, PROTO_UDP) && !find(&l, 53, PROTO_TCP));
	port_list_free(&l);
	CHECK_INT(ports_add_arg(&l, "22", PROTO_TCP), 0);
	CHECK_INT(l.n, 1);
	port_list_free(&l);
	/* a range: every port in it, each with an answer */
	CHECK_INT(ports_add_arg(&l, "8000-8002", PROTO_TCP), 0);
	for (unsigned p = 8000; p <= 8002; p++) {
		bool any = false;

		for (size_t i = 0; i < l.n; i++)
			any |= l.v[i].has_port && l.v[i].port == p;
		CHECK(any);
	}
	port_list_free(&l);
	/* a port nobody registered still gets its line */
	CHECK_INT(ports_add_arg(&l, "59210", PROTO_ALL), 0);
	CHECK_INT(l.n, 1);
	CHECK(l.v[0].has_port && l.v[0].port == 59210 && !l.v[0].cur);
	port_list_free(&l);
}

TEST(ports_names_and_aliases)
{
	struct port_list l = { 0 };
	const struct port_rec *r;

	/* the name people use: rdp is an alias of ms-wbt-server's curated entry */
	CHECK_INT(ports_add_arg(&l, "rdp", PROTO_ALL), 0);
	r = find(&l, 3389, PROTO_TCP);
	CHECK(r && r->cur && r->reg);
	if (r && r->cur && r->reg) {
		CHECK_STR(r->cur->name, "RDP");
		CHECK_STR(reg_name(r->reg), "ms-wbt-server");
	}
	port_list_free(&l);
	CHECK_INT(ports_add_arg(&l, "ms-wbt-server", PROTO_ALL), 0);
	CHECK(find(&l, 3389, PROTO_TCP) != NULL);
	port_list_free(&l);
	CHECK_INT(ports_add_arg(&l, "https/tcp", PROTO_ALL), 0);
	CHECK(find(&l, 443, PROTO_TCP) && !find(&l, 443, PROTO_UDP));
	port_list_free(&l);
}

TEST(ports_argument_errors)
{
	static const struct {
		const char *arg;
		unsigned protos;
		int err;
		const char *msg;
	} v[] = {
		{ "70000", PROTO_ALL, -ERANGE, "invalid port '70000': must be 0-65535" },
		{ "nosuchservice", PROTO_ALL, -ENOENT, "unknown port or service 'nosuchservice' "
		  "(try: portkit port --search 'nosuchservice')" },
		{ "22/bogus", PROTO_ALL, -EINVAL, "invalid protocol 'bogus' in '22/bogus'" },
		{ "53/sctp", PROTO_TCP, -EINVAL, "'53/sctp' asks for a protocol excluded by --proto" },
		{ "", PROTO_ALL, -EINVAL, "invalid port ''" },
		{ "/tcp", PROTO_ALL, -EINVAL, "invalid port ''" },
		{ "9-1", PROTO_ALL, -EINVAL, NULL },
	};
	char big[200];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct port_list l = { 0 };
		int r = ports_add_arg(&l, v[i].arg, v[i].protos);

		if (r != v[i].err)
			unit_fail(__FILE__, __LINE__, "'%s' gave %d, expected %d", v[i].arg, r, v[i].err);
		else if (v[i].msg && strcmp(error_msg(), v[i].msg))
			unit_fail(__FILE__, __LINE__, "'%s' said \"%s\"", v[i].arg, error_msg());
		port_list_free(&l);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		struct port_list l = { 0 };

		CHECK_INT(ports_add_arg(&l, big, PROTO_ALL), -EINVAL);
		CHECK(strstr(error_msg(), "': too long") != NULL);
		CHECK(strlen(error_msg()) < 100);
		port_list_free(&l);
	}
}

TEST(ports_search_words)
{
	struct port_list l = { 0 };
	char *words[] = { "remote", "desktop" }, *none[] = { "zzzqqqxxx" };
	struct port_opts o = { .protos = PROTO_ALL, .search = true };

	CHECK(ports_search(&l, words, 2, PROTO_ALL) > 0);
	CHECK(find(&l, 3389, PROTO_TCP) != NULL);
	/* sorted by port, no record twice */
	for (size_t i = 1; i < l.n; i++)
		CHECK(!l.v[i].has_port || !l.v[i - 1].has_port || l.v[i - 1].port <= l.v[i].port);
	port_list_free(&l);
	CHECK_INT(ports_lookup(&l, none, 1, &o), 1);	/* found nothing: status 1 */
	CHECK_INT(l.n, 0);
	CHECK_INT(ports_lookup(&l, words, 2, &o), 0);
	port_list_free(&l);
	o.search = false;
	CHECK_INT(ports_lookup(&l, none, 1, &o), -EINVAL);
	CHECK(strstr(error_msg(), "unknown port or service 'zzzqqqxxx'") != NULL);
	port_list_free(&l);
}

TEST(ports_protos_list)
{
	unsigned p = 0;
	char big[400];
	size_t n = 0;

	CHECK_INT(ports_protos_parse("tcp", &p), 0);
	CHECK_INT(p, PROTO_TCP);
	CHECK_INT(ports_protos_parse("udp,sctp", &p), 0);
	CHECK_INT(p, PROTO_UDP | PROTO_SCTP);
	CHECK_INT(ports_protos_parse("all", &p), 0);
	CHECK_INT(p, PROTO_ALL);
	p = 99;
	CHECK_INT(ports_protos_parse("tcp,bogus", &p), -EINVAL);
	CHECK_STR(error_msg(), "invalid protocol 'bogus': expected tcp, udp, sctp, dccp or all");
	CHECK_INT(p, 99);	/* untouched on failure */
	CHECK_INT(ports_protos_parse(",", &p), -EINVAL);
	CHECK_STR(error_msg(), "invalid protocol ',': expected tcp, udp, sctp, dccp or all");
	/* a long list is read whole: the last word counts */
	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "tcp,");
	snprintf(big + n, sizeof(big) - n, "dccp");
	CHECK_INT(ports_protos_parse(big, &p), 0);
	CHECK_INT(p, PROTO_TCP | PROTO_DCCP);
}

TEST(ports_print_records)
{
	struct port_list l = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out *o = out_new(f, OUT_JSON, false);
	const char *want = "{\"port\":22,\"proto\":\"tcp\",\"service\":\"ssh\","
			   "\"description\":\"The Secure Shell (SSH) Protocol\","
			   "\"common_name\":\"SSH\",\"category\":\"well-known\",";

	CHECK_INT(ports_add_arg(&l, "22/tcp", PROTO_ALL), 0);
	ports_print(o, &l);
	CHECK_INT(out_close(o), 0);
	fclose(f);
	CHECK(text && !strncmp(text, want, strlen(want)));
	CHECK(text && strchr(text, '\n') == text + len - 1);	/* one record, one line */
	free(text);
	port_list_free(&l);
}
