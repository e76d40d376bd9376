/*
 * nmap.c - scan results in nmap's file formats: XML (-oX), which nmap's
 * own tools (ndiff) read, and the grepable lines (-oG).
 *
 * Printers only: they read a sorted store and the scan's metadata (command
 * line, times) and write to the FILE they are handed; opening, checking
 * and closing it is the caller's.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/xalloc.h"
#include "core/vocab/port.h"
#include "core/vocab/registry.h"
#include "scan/scan.h"
#include "core/base/banned.h"

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* name="value", escaped; nothing when value is empty */
static void xml_attr(FILE *f, const char *name, const char *value)
{
	if (!value[0])
		return;
	fprintf(f, " %s=\"", name);
	xml_escape(f, value);
	fputc('"', f);
}

/* nmap writes what answered inside TLS under its plain name, with
 * tunnel="ssl": https is http, imaps is imap. */
static const char *xml_name(const char *svc)
{
	static const char *const pairs[][2] = {
		{ "https", "http" }, { "imaps", "imap" }, { "pop3s", "pop3" }, { "smtps", "smtp" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (!strcmp(svc, pairs[i][0]))
			return pairs[i][1];
	return svc;
}

/* The ports a host's <ports> does not list, by state, as nmap counts them. */
static void xml_extraports(FILE *f, const struct scan_host *h, bool all)
{
	static const int hidden[] = { ST_CLOSED, ST_FILTERED, ST_OPEN_FILTERED };

	for (size_t k = 0; k < 3 && !all; k++) {
		int st = hidden[k];

		if (st == ST_OPEN_FILTERED || !h->per[st])
			continue;	/* open|filtered ports are listed */
		fprintf(f, "<extraports state=\"%s\" count=\"%zu\"/>\n", port_state_name(st),
			h->per[st]);
	}
}

/* nmap's grepable fields hold no '/': it writes '|' (OpenSSL/3.0.11 is
 * "OpenSSL|3.0.11"), as nmap 7.93 does */
static void grep_field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '/' ? '|' : *s, f);
}

static const char *tcp_udp(const struct result *x)
{
	return x->proto == PROTO_TCP ? "tcp" : "udp";
}

/* What answered, as nmap names it: the plain name with tunnel="ssl" for
 * what spoke inside TLS; NULL when there is no name. */
static const char *service_name(const struct result *x)
{
	const char *svc = x->probed ? x->svc : port_service(x->port, x->proto);

	return x->tunnel && svc ? xml_name(svc) : svc;
}

static void xml_port(FILE *f, const struct result *x)
{
	const char *svc = service_name(x);

	fprintf(f, "<port protocol=\"%s\" portid=\"%u\"><state state=\"%s\" reason=\"%s\" "
		   "reason_ttl=\"0\"/>", tcp_udp(x), x->port, port_state_name(x->state),
		x->reason);
	if (svc) {
		fprintf(f, "<service name=\"");
		xml_escape(f, svc);
		fprintf(f, "\" method=\"%s\" conf=\"%d\"%s", x->probed ? "probed" : "table",
			x->probed ? 10 : 3, x->tunnel ? " tunnel=\"ssl\"" : "");
		xml_attr(f, "product", x->product);
		xml_attr(f, "version", x->version);
		if (x->cpe[0]) {	/* nmap's DTD: <cpe> inside <service> */
			fprintf(f, "><cpe>");
			xml_escape(f, x->cpe);
			fprintf(f, "</cpe></service>");
		} else {
			fprintf(f, "/>");
		}
	}
	fprintf(f, "</port>\n");
}

/* ctime()'s shape in UTC, as nmap's startstr and timestr (it uses local time) */
static const char *when(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%a %b %e %H:%M:%S %Y", &tm))
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

/* <scaninfo>'s services: the ports probed, sorted, as ranges ("1-1000,8080") */
static void xml_scaninfo(FILE *f, const struct scan_meta *m)
{
	bool *on;
	size_t n = 0;
	const char *sep = "";

	if (m->discover_only || m->list_only)
		return;		/* as nmap: no port scan, no <scaninfo> */
	on = xcalloc(65536, sizeof(*on));
	for (size_t i = 0; i < m->nports; i++)
		if (!on[m->ports[i]]) {
			on[m->ports[i]] = true;
			n++;
		}
	fprintf(f, "<scaninfo type=\"%s\" protocol=\"%s\" numservices=\"%zu\" services=\"",
		m->method == M_UDP ? "udp" : m->method == M_SYN ? "syn" : "connect",
		m->method == M_UDP ? "udp" : "tcp", n);
	for (unsigned p = 0; p < 65536; p++) {
		unsigned q = p;

		if (!on[p])
			continue;
		while (q + 1 < 65536 && on[q + 1])
			q++;
		fprintf(f, q > p ? "%s%u-%u" : "%s%u", sep, p, q);
		sep = ",";
		p = q;
	}
	fprintf(f, "\"/>\n");
	free(on);
}

/* <times>: the host's round trips as nmap writes them (microseconds), from
 * the ports shown; nothing when none was measured */
static void xml_times(FILE *f, const struct scan_store *s, uint32_t t)
{
	uint64_t sum = 0, dev = 0, n = 0, srtt;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].target == t && s->v[i].rtt_us) {
			sum += s->v[i].rtt_us;
			n++;
		}
	if (!n)
		return;
	srtt = sum / n;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].target == t && s->v[i].rtt_us)
			dev += s->v[i].rtt_us > srtt ? s->v[i].rtt_us - srtt : srtt - s->v[i].rtt_us;
	dev /= n;
	/* nmap's timeout: srtt + 4 rttvar, at least 100 ms */
	fprintf(f, "<times srtt=\"%llu\" rttvar=\"%llu\" to=\"%llu\"/>\n", (unsigned long long)srtt,
		(unsigned long long)dev,
		(unsigned long long)(srtt + 4 * dev > 100000 ? srtt + 4 * dev : 100000));
}

static void xml_host(FILE *f, const struct scan_store *s, const struct scan_meta *m, uint32_t t)
{
	const struct target *tg = &s->t->v[t];
	const struct scan_host *h = &s->host[t];
	char a[ADDR_STRLEN];

	if (m->list_only)
		fprintf(f, "<host><status state=\"unknown\" reason=\"user-set\" reason_ttl=\"0\"/>\n");
	else
		fprintf(f, "<host starttime=\"%lld\" endtime=\"%lld\"><status state=\"up\" reason=\"%s\" "
			   "reason_ttl=\"0\"/>\n", (long long)m->start, (long long)m->end,
			h->why ? h->why : "user-set");
	fprintf(f, "<address addr=\"%s\" addrtype=\"%s\"/>\n<hostnames>\n", target_text(tg, a),
		tg->family == AF_INET ? "ipv4" : "ipv6");
	if (tg->name[0]) {
		fprintf(f, "<hostname name=\"");
		xml_escape(f, tg->name);
		fprintf(f, "\" type=\"user\"/>\n");
	}
	fprintf(f, "</hostnames>\n");
	if (!m->list_only && !m->discover_only) {
		fprintf(f, "<ports>");
		xml_extraports(f, h, m->all);
		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].target == t)
				xml_port(f, &s->v[i]);
		fprintf(f, "</ports>\n");
	}
	xml_times(f, s, t);
	fprintf(f, "</host>\n");
}

/* Hosts up: none for -sL (nothing was sent) */
static size_t hosts_up(const struct scan_store *s, const struct scan_meta *m)
{
	return m->list_only ? 0 : scan_store_hosts_up(s);
}

/*
 * Valid against nmap's DTD (/usr/share/nmap/nmap.dtd): its scanner
 * attribute allows "nmap" alone, so that is what it says; that portkit
 * wrote the file is in version, args, the comment and the summary.
 */
void scan_print_xml(FILE *f, const struct scan_store *s, const struct scan_meta *m)
{
	const struct target_list *tl = s->t;
	size_t up = hosts_up(s, m);
	char start[64], end[64];

	when(m->start, start, sizeof(start));
	when(m->end, end, sizeof(end));
	/* a comment may not hold "--": the command line is in args="" only */
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n"
		   "<!-- portkit %s scan initiated %s -->\n<nmaprun scanner=\"nmap\" args=\"",
		m->version, start);
	xml_escape(f, m->args);
	fprintf(f, "\" start=\"%lld\" startstr=\"%s\" version=\"portkit %s\" "
		   "xmloutputversion=\"1.05\">\n", (long long)m->start, start, m->version);
	xml_scaninfo(f, m);
	fprintf(f, "<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n");
	for (uint32_t t = 0; t < tl->n; t++)
		if (m->list_only || s->host[t].status == HOST_UP)
			xml_host(f, s, m, t);	/* as nmap: down hosts are only counted */
	fprintf(f, "<runstats><finished time=\"%lld\" timestr=\"%s\" summary=\"portkit done at %s; "
		   "%zu IP address%s (%zu host%s up) scanned in %.2f seconds\" elapsed=\"%.2f\" "
		   "exit=\"success\"/><hosts up=\"%zu\" down=\"%zu\" total=\"%zu\"/>\n</runstats>\n"
		   "</nmaprun>\n", (long long)m->end, end, end, tl->n, tl->n == 1 ? "" : "es", up,
		up == 1 ? "" : "s", m->seconds, m->seconds, up, tl->n - up, tl->n);
}

/* One port of the Ports: field, nmap's port/state/proto/owner/service/rpc/version/ */
static void grep_port(FILE *f, const struct result *x)
{
	const char *svc = service_name(x);

	fprintf(f, "%u/%s/%s//%s", x->port, port_state_name(x->state), tcp_udp(x),
		x->tunnel && svc ? "ssl|" : "");
	grep_field(f, svc ? svc : "");
	fprintf(f, "//");
	grep_field(f, x->product);
	fprintf(f, "%s", x->product[0] && x->version[0] ? " " : "");
	grep_field(f, x->version);
	fputc('/', f);
}

/* nmap's grepable format (-oG): a status line and a ports line per host. */
void scan_print_grepable(FILE *f, const struct scan_store *s, const struct scan_meta *m)
{
	static const int hidden[] = { ST_CLOSED, ST_FILTERED };	/* nmap's order */
	const struct target_list *tl = s->t;
	size_t i = 0, up = hosts_up(s, m);
	char start[64], end[64];

	fprintf(f, "# portkit %s scan initiated %s as: %s\n", m->version,
		when(m->start, start, sizeof(start)), m->args);
	for (uint32_t t = 0; t < tl->n; t++) {
		const struct scan_host *h = &s->host[t];
		char a[ADDR_STRLEN];
		const char *sep = "";

		target_text(&tl->v[t], a);
		fprintf(f, "Host: %s (%s)\tStatus: %s\n", a, tl->v[t].name, m->list_only ? "Unknown"
			: h->status == HOST_UP ? "Up" : "Down");
		if (h->status != HOST_UP || m->list_only || m->discover_only)
			continue;
		fprintf(f, "Host: %s (%s)\tPorts: ", a, tl->v[t].name);
		for (; i < s->n && s->v[i].target < t; i++)
			;
		for (; i < s->n && s->v[i].target == t; i++, sep = ", ") {
			fputs(sep, f);
			grep_port(f, &s->v[i]);
		}
		/* the ports not listed, by state; nmap lists the smaller groups,
		 * which portkit does not keep: each gets its count */
		for (size_t k = 0; k < 2 && !m->all; k++)
			if (h->per[hidden[k]])
				fprintf(f, "\tIgnored State: %s (%zu)", port_state_name(hidden[k]),
					h->per[hidden[k]]);
		fputc('\n', f);
	}
	fprintf(f, "# portkit done at %s -- %zu IP address%s (%zu host%s up) scanned in %.2f "
		   "seconds\n", when(m->end, end, sizeof(end)), tl->n, tl->n == 1 ? "" : "es", up,
		up == 1 ? "" : "s", m->seconds);
}
