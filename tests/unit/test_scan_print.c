/* test_scan_print.c - scan's result store and printers on a canned scan,
 * without root and without a scan: each printer's output is compared byte
 * for byte with tests/data/scan, written by the code before the printers
 * were their own module (see the README there). */
#include <stdlib.h>

#include "unit.h"
#include "core/base/out.h"
#include "core/vocab/registry.h"
#include "scan/scan.h"

/* The scan the printers are shown: seven targets given in this order, the
 * events in the order an engine would report them (hosts from discovery
 * first), then the options of each golden set. */
static const char *const canned_targets[] = {
	"198.18.0.1", "198.18.0.2", "2001:db8::5", "198.18.0.3", "198.18.0.4", "198.18.0.5",
	"198.18.0.9",
};

#define TCP_OPEN(t, p, rtt) .target = t, .port = p, .proto = PROTO_TCP, .state = ST_OPEN, \
	.reason = "syn-ack", .rtt_us = rtt
#define NAMED(s, prod, ver) .probed = true, .svc = s, .product = prod, .version = ver

static const struct canned_event {
	bool host;		/* a host found up or down, else a result */
	bool up;
	const char *why;
	struct result r;	/* r.target is the host's for both */
} canned_events[] = {
	{ .host = true, .up = true, .why = "echo-reply", .r = { .target = 0 } },
	{ .host = true, .up = false, .why = "no-response", .r = { .target = 1 } },
	{ .host = true, .up = true, .why = "syn-ack", .r = { .target = 3 } },
	{ .host = true, .up = false, .why = "host-unreach", .r = { .target = 4 } },
	{ .host = true, .up = true, .why = "arp-response", .r = { .target = 5 } },
	{ .r = { TCP_OPEN(0, 443, 1200), NAMED("https", "nginx", "1.22.1"),
		 .tls_cn = "web.example.test", .tls_version = "TLSv1.3", .tunnel = true } },
	{ .r = { TCP_OPEN(0, 22, 350), NAMED("ssh", "OpenSSH", "9.2p1"),
		 .banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" } },
	{ .r = { .target = 0, .port = 23, .proto = PROTO_TCP, .state = ST_CLOSED,
		 .reason = "reset", .rtt_us = 300 } },
	{ .r = { TCP_OPEN(0, 3389, 2500), NAMED("http", "Acme <Web> & \"Co\"", "2.4/beta") } },
	{ .r = { TCP_OPEN(0, 8080, 410) } },
	{ .r = { .target = 0, .port = 135, .proto = PROTO_TCP, .state = ST_FILTERED,
		 .reason = "no-response" } },
	{ .r = { .target = 0, .port = 25, .proto = PROTO_TCP, .state = ST_CLOSED,
		 .reason = "reset", .rtt_us = 280 } },
	{ .r = { TCP_OPEN(0, 993, 900), NAMED("imaps", "Dovecot imapd", ""), .tunnel = true,
		 .tls_version = "TLSv1.2" } },
	{ .r = { TCP_OPEN(0, 3306, 520), NAMED("mysql", "MySQL", "8.0.36"),
		 .banner = "J...8.0.36" } },
	{ .r = { TCP_OPEN(2, 21, 90), NAMED("ftp", "vsftpd", "3.0.3"),
		 .banner = "220 (vsFTPd 3.0.3)" } },
	{ .r = { TCP_OPEN(2, 80, 95), .banner = "HTTP/1.0 400 Bad Request" } },
	{ .r = { .target = 2, .port = 445, .proto = PROTO_TCP, .state = ST_FILTERED,
		 .reason = "admin-prohibited", .rtt_us = 120 } },
	{ .r = { TCP_OPEN(2, 61234, 101) } },
	{ .r = { .target = 3, .port = 53, .proto = PROTO_UDP, .state = ST_OPEN,
		 .reason = "udp-response", .rtt_us = 700, NAMED("domain", "ISC BIND", "9.18.24") } },
	{ .r = { .target = 3, .port = 161, .proto = PROTO_UDP, .state = ST_OPEN_FILTERED,
		 .reason = "no-response" } },
	{ .r = { .target = 3, .port = 123, .proto = PROTO_UDP, .state = ST_CLOSED,
		 .reason = "port-unreach", .rtt_us = 650 } },
	{ .r = { .target = 3, .port = 69, .proto = PROTO_UDP, .state = ST_FILTERED,
		 .reason = "admin-prohibited", .rtt_us = 640 } },
	{ .r = { TCP_OPEN(3, 53, 610) } },
	{ .r = { .target = 5, .port = 80, .proto = PROTO_TCP, .state = ST_CLOSED,
		 .reason = "reset", .rtt_us = 40 } },
	{ .r = { .target = 5, .port = 443, .proto = PROTO_TCP, .state = ST_CLOSED,
		 .reason = "reset", .rtt_us = 41 } },
	{ .r = { .target = 5, .port = 8443, .proto = PROTO_TCP, .state = ST_FILTERED,
		 .reason = "no-response" } },
};

/* The golden sets: tests/data/scan/NAME.{txt,json,xml,gnmap} */
static const struct canned_set {
	const char *name;
	enum scan_method method;
	bool sv, all, open_only, numeric, json;	/* json: NAME.json exists */
	bool discover_only, list_only;	/* -sn: the host events only; -sL: none */
} canned_sets[] = {
	{ "default", M_SYN, .sv = true },
	{ "all", M_UDP, .all = true, .json = true },
	{ "numeric", M_CONNECT, .all = true, .open_only = true, .numeric = true, .json = true },
	{ "plain", M_CONNECT, .json = true },
	{ "discover", M_SYN, .json = true, .discover_only = true },
	{ "list", M_SYN, .json = true, .list_only = true },
};

/* The command line and times the -oX and -oG headers are given. */
static const char *const canned_argv[] = {
	"portkit", "scan", "198.18.0.0/29", "2001:db8::5", "-p", "1-65535", "-oX", "a&b \"<c>\".xml",
};
#define CANNED_START 1700000000
#define CANNED_END 1700000042
#define CANNED_SECONDS 41.5
/* a target given by name */
#define CANNED_NAMED 2
#define CANNED_NAME "files.example.test"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The canned targets; the events through the store as the pipeline puts
 * them, each record printed to json (when not NULL) as it comes. */
static void canned_scan(struct target_list *t, struct scan_store *s, const struct canned_set *c,
			struct out *json)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < COUNT(canned_targets); i++)
		CHECK_INT(targets_add(t, canned_targets[i]), 0);
	snprintf(t->v[CANNED_NAMED].name, sizeof(t->v[0].name), "%s", CANNED_NAME);
	scan_store_init(s, t, c->all && !c->open_only);
	for (size_t i = 0; c->list_only && json && i < t->n; i++)
		scan_print_json_listed(json, &t->v[i]);
	for (size_t i = 0; i < COUNT(canned_events) && !c->list_only; i++) {
		const struct canned_event *e = &canned_events[i];
		const struct result *x;

		if (!e->host && c->discover_only)
			continue;
		if (e->host) {
			uint32_t k = scan_store_host(s, e->r.target, e->up, e->why);

			if (json)
				scan_print_json_host(json, &t->v[k], e->up, e->why);
		} else if ((x = scan_store_add(s, &e->r)) && json) {
			scan_print_json_result(json, t, x);
		}
	}
}

/* got against tests/data/scan/NAME: the first line that differs */
static void expect_golden(const char *got, size_t len, const char *name)
{
	char rel[64];
	size_t n, line = 1, bol = 0, i = 0;
	char *want;

	snprintf(rel, sizeof(rel), "scan/%s", name);
	want = unit_slurp(unit_data(rel), &n);
	if (!want) {
		unit_fail(__FILE__, __LINE__, "cannot read %s", unit_data(rel));
		return;
	}
	for (; i < len && i < n && got[i] == want[i]; i++)
		if (got[i] == '\n') {
			line++;
			bol = i + 1;
		}
	if (i < len || i < n)
		unit_fail(__FILE__, __LINE__, "%s line %zu: got \"%.*s\", expected \"%.*s\" (%zu "
			  "bytes, expected %zu)", name, line, (int)strcspn(got + bol, "\n"), got + bol,
			  (int)strcspn(want + bol, "\n"), want + bol, len, n);
	free(want);
}

TEST(scan_store_maps_and_counts)
{
	/* the engine scans the hosts discovery found up: targets 0 and 2 */
	static const uint32_t map[] = { 0, 2 };
	struct result r = { .target = 1, .port = 80, .proto = PROTO_TCP, .state = ST_OPEN,
			    .reason = "syn-ack" };
	struct target_list t = { 0 };
	const struct result *x;
	struct scan_store s;

	CHECK_INT(targets_add(&t, "198.18.0.0/30"), 0);
	scan_store_init(&s, &t, false);
	CHECK_INT(scan_store_host(&s, 3, false, "no-response"), 3);
	scan_store_map(&s, map);
	x = scan_store_add(&s, &r);
	CHECK(x && x->target == 2 && x->port == 80);
	CHECK_INT(s.host[2].status, HOST_UP);	/* a port answered: up (-Pn) */
	CHECK(!s.host[2].why);
	r.state = ST_CLOSED;
	CHECK(!scan_store_add(&s, &r));		/* counted, not kept */
	CHECK_INT(s.n, 1);
	CHECK_INT(s.host[2].per[ST_CLOSED], 1);
	CHECK_INT(s.count[ST_CLOSED], 1);
	CHECK_INT(scan_store_host(&s, 1, false, "host-unreach"), 2);
	CHECK_STR(s.host[2].why, "host-unreach");
	CHECK_INT(s.unroutable, 1);
	CHECK(!scan_store_none_routable(&s));
	/* 0 and 1 never heard of: not known to be down */
	CHECK_INT(scan_store_hosts_up(&s), 2);
	scan_store_release(&s);
	scan_store_init(&s, &t, true);
	CHECK(scan_store_add(&s, &r));		/* --all keeps it */
	for (uint32_t i = 0; i < t.n; i++)
		scan_store_host(&s, i, false, "net-unreach");
	CHECK(scan_store_none_routable(&s));
	CHECK_INT(scan_store_hosts_up(&s), 0);
	scan_store_release(&s);
	targets_free(&t);
}

static void expect_printer(scan_printer print, const struct scan_store *s, const struct scan_meta *m,
			   const char *set, const char *ext)
{
	char *buf = NULL, name[64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	print(f, s, m);
	fclose(f);
	snprintf(name, sizeof(name), "%s.%s", set, ext);
	expect_golden(buf, len, name);
	free(buf);
}

TEST(scan_print_goldens)
{
	static uint16_t canned_ports[65535];	/* -p 1-65535, as canned_argv says */
	char args[512];
	size_t k = 0;

	for (size_t i = 0; i < COUNT(canned_ports); i++)
		canned_ports[i] = (uint16_t)(i + 1);
	for (size_t i = 0; i < COUNT(canned_argv); i++)
		k += (size_t)snprintf(args + k, sizeof(args) - k, "%s%s", i ? " " : "", canned_argv[i]);
	for (size_t i = 0; i < COUNT(canned_sets); i++) {
		const struct canned_set *c = &canned_sets[i];
		struct scan_meta m = { .method = c->method, .all = c->all, .sv = c->sv,
				       .numeric = c->numeric, .args = args, .version = "0.1.0",
				       .discover_only = c->discover_only, .list_only = c->list_only,
				       .start = CANNED_START, .end = CANNED_END,
				       .seconds = CANNED_SECONDS, .ports = canned_ports,
				       .nports = COUNT(canned_ports) };
		struct target_list t;
		struct scan_store s;

		canned_scan(&t, &s, c, NULL);
		scan_store_sort(&s);
		expect_printer(scan_print_text, &s, &m, c->name, "txt");
		expect_printer(scan_print_xml, &s, &m, c->name, "xml");
		expect_printer(scan_print_grepable, &s, &m, c->name, "gnmap");
		scan_store_release(&s);
		targets_free(&t);
		if (c->json) {
			char *buf = NULL, name[64];
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);
			struct out *o = out_new(f, OUT_JSON, false);

			canned_scan(&t, &s, c, o);
			CHECK_INT(out_close(o), 0);
			fclose(f);
			snprintf(name, sizeof(name), "%s.json", c->name);
			expect_golden(buf, len, name);
			free(buf);
			scan_store_release(&s);
			targets_free(&t);
		}
	}
}
