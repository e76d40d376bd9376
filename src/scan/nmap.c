/*
 * nmap.c - scan results in nmap's file formats: XML (-oX), which nmap's
 * own tools (ndiff) read, and the grepable lines (-oG).
 *
 * Printers only: they read a sorted store and the scan's metadata (command
 * line, times) and write to the FILE they are handed; opening, checking
 * and closing it is the caller's.
 */
#include <string.h>

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

static void xml_port(FILE *f, const struct result *x)
{
	const char *svc = x->probed ? x->svc : port_service(x->port, x->proto);

	if (x->tunnel && svc)
		svc = xml_name(svc);
	fprintf(f, "<port protocol=\"%s\" portid=\"%u\"><state state=\"%s\" reason=\"%s\" "
		   "reason_ttl=\"0\"/>", x->proto == PROTO_TCP ? "tcp" : "udp", x->port,
		port_state_name(x->state), x->reason);
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

void scan_print_xml(FILE *f, const struct scan_store *s, const struct scan_meta *m)
{
	const struct target_list *tl = s->t;
	size_t up = scan_store_hosts_up(s);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n"
		   "<nmaprun scanner=\"portkit\" args=\"");
	xml_escape(f, m->args);
	fprintf(f, "\" start=\"%lld\" version=\"0.1.0\" xmloutputversion=\"1.05\">\n"
		   "<scaninfo type=\"%s\" protocol=\"%s\" numservices=\"0\" services=\"\"/>\n",
		(long long)m->start, m->method == M_UDP ? "udp" : m->method == M_SYN ? "syn"
										: "connect",
		m->method == M_UDP ? "udp" : "tcp");
	for (uint32_t t = 0; t < tl->n; t++) {
		const struct scan_host *h = &s->host[t];
		char a[ADDR_STRLEN];

		if (h->status != HOST_UP)
			continue;	/* as nmap: down hosts are only counted */
		fprintf(f, "<host starttime=\"%lld\" endtime=\"%lld\"><status state=\"up\" "
			   "reason=\"%s\" reason_ttl=\"0\"/>\n<address addr=\"%s\" addrtype=\"%s\"/>\n",
			(long long)m->start, (long long)m->end, h->why ? h->why : "user-set",
			target_text(&tl->v[t], a), tl->v[t].family == AF_INET ? "ipv4" : "ipv6");
		if (tl->v[t].name[0]) {
			fprintf(f, "<hostnames><hostname name=\"");
			xml_escape(f, tl->v[t].name);
			fprintf(f, "\" type=\"user\"/></hostnames>\n");
		}
		fprintf(f, "<ports>");
		xml_extraports(f, h, m->all);
		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].target == t)
				xml_port(f, &s->v[i]);
		fprintf(f, "</ports>\n<times srtt=\"0\" rttvar=\"0\" to=\"0\"/>\n</host>\n");
	}
	fprintf(f, "<runstats><finished time=\"%lld\" elapsed=\"%.2f\" exit=\"success\"/>"
		   "<hosts up=\"%zu\" down=\"%zu\" total=\"%zu\"/></runstats>\n</nmaprun>\n",
		(long long)m->end, m->seconds, up, tl->n - up, tl->n);
}

/* nmap's grepable format (-oG): a status line and a ports line per host. */
void scan_print_grepable(FILE *f, const struct scan_store *s, const struct scan_meta *m)
{
	const struct target_list *tl = s->t;
	size_t i = 0, up = scan_store_hosts_up(s);

	fprintf(f, "# portkit scan initiated as: %s\n", m->args);
	for (uint32_t t = 0; t < tl->n; t++) {
		const struct scan_host *h = &s->host[t];
		char a[ADDR_STRLEN];
		const char *sep = "";

		target_text(&tl->v[t], a);
		fprintf(f, "Host: %s (%s)\tStatus: %s\n", a, tl->v[t].name,
			h->status == HOST_UP ? "Up" : "Down");
		if (h->status != HOST_UP)
			continue;
		fprintf(f, "Host: %s (%s)\tPorts: ", a, tl->v[t].name);
		for (; i < s->n && s->v[i].target < t; i++)
			;
		for (; i < s->n && s->v[i].target == t; i++, sep = ", ") {
			const struct result *x = &s->v[i];
			const char *svc = x->probed ? x->svc : port_service(x->port, x->proto);

			fprintf(f, "%s%u/%s/%s//%s//%s%s%s/", sep, x->port, port_state_name(x->state),
				x->proto == PROTO_TCP ? "tcp" : "udp", svc ? svc : "", x->product,
				x->version[0] ? " " : "", x->version);
		}
		if (!m->all && h->per[ST_CLOSED])
			fprintf(f, "\tIgnored State: closed (%zu)", h->per[ST_CLOSED]);
		fputc('\n', f);
	}
	fprintf(f, "# portkit done -- %zu IP address%s (%zu host%s up) scanned in %.2f seconds\n",
		tl->n, tl->n == 1 ? "" : "es", up, up == 1 ? "" : "s", m->seconds);
}
