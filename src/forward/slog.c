/*
 * slog.c - the session log: one line per session when it ends, and event
 * lines (startup, reload, errors). Each line is formatted whole and written
 * with one write(2), so lines from several workers never interleave.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/out.h"
#include "forward/forward.h"
#include "core/base/banned.h"

static void slog_line(const struct slog *l, const struct slog_rec *r);

static void put(const struct slog *l, const char *s, size_t n)
{
	if (write(l->fd, s, n) < 0)
		return;	/* nowhere left to say it */
}

/* s as the inside of a JSON string: quotes and backslashes escaped,
 * control bytes as \u00XX; cut whole at size */
static const char *jstr(const char *s, char *out, size_t size)
{
	size_t k = 0;

	for (; *s && k + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[k++] = '\\';
			out[k++] = (char)c;
		} else if (c < 0x20) {
			k += (size_t)snprintf(out + k, size - k, "\\u%04x", c);
		} else {
			out[k++] = (char)c;
		}
	}
	out[k] = '\0';
	return out;
}

void slog_session(const struct slog *l, const struct slog_rec *r)
{
	if (l->no_sessions)
		return;
	slog_line(l, r);
}

/* a number of milliseconds as seconds with three decimals, or unknown */
static const char *secs(char buf[32], bool known, long long ms, const char *unknown)
{
	if (!known)
		return unknown;
	snprintf(buf, 32, "%lld.%03lld", ms / 1000, ms % 1000);
	return buf;
}

static void slog_line(const struct slog *l, const struct slog_rec *r)
{
	char line[1024], ts[64], ca[ADDR_STRLEN], ta[ADDR_STRLEN], rule[160];
	char cep[ENDPOINT_STRLEN], tep[ENDPOINT_STRLEN], sbuf[32], dbuf[32];
	/* an IPv4 client of a dual-stack listener is logged as the IPv4 it is */
	struct endpoint client = *r->client;
	const struct endpoint *target = &r->rule->target;
	int64_t dur = r->end_ms - r->start_ms;
	bool known = !r->no_start;	/* unknown is null, never a 0 that did not happen */
	char bin[24] = "null", bout[24] = "null", tr[24] = "null";
	struct timespec now;
	long long start_ms;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	start_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 - dur;
	time_rfc3339(ts, NULL);
	endpoint_unmap(&client);
	addr_format(client.family, client.addr, ca);
	addr_format(target->family, target->addr, ta);
	if (!r->no_bytes) {
		snprintf(bin, sizeof(bin), "%llu", (unsigned long long)r->bytes_in);
		snprintf(bout, sizeof(bout), "%llu", (unsigned long long)r->bytes_out);
	}
	if (r->translation)
		snprintf(tr, sizeof(tr), "\"%s\"", r->translation);
	if (l->json)
		n = snprintf(line, sizeof(line),
			     "{\"time\":\"%s\",\"rule\":\"%s\",\"proto\":\"%s\",\"client_addr\":\"%s\","
			     "\"client_port\":%u,\"target_addr\":\"%s\",\"target_port\":%u,"
			     "\"bytes_in\":%s,\"bytes_out\":%s,\"spliced\":%llu,\"start\":%s,"
			     "\"duration\":%s,\"close_reason\":\"%s\",\"translation\":%s}\n",
			     ts, jstr(r->rule->name, rule, sizeof(rule)),
			     r->rule->proto == FWD_TCP ? "tcp" : "udp", ca, client.port, ta, target->port,
			     bin, bout, (unsigned long long)r->spliced,
			     secs(sbuf, known, start_ms, "null"), secs(dbuf, known, dur, "null"),
			     r->close_reason, tr);
	else
		n = snprintf(line, sizeof(line),
			     "%s session rule=\"%s\" client=%s target=%s in=%s out=%s "
			     "duration=%s%s close=%s%s%s\n", ts, r->rule->name,
			     endpoint_str(&client, cep), endpoint_str(target, tep),
			     r->no_bytes ? "-" : bin, r->no_bytes ? "-" : bout,
			     secs(dbuf, known, dur, "-"), known ? "s" : "", r->close_reason,
			     r->translation ? " via=kernel-" : "", r->translation ? r->translation : "");
	if (n > 0)
		put(l, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* An event line; reason (a "lost" record's) NULL for the others, which
 * carry no such key */
static void event_line(const struct slog *l, const char *event, const struct fwd_rule *rule,
		       long long count, const char *reason, const char *text)
{
	char line[2048], ts[TIME_STRLEN], rkey[64] = "", msg[600];
	int n;

	snprintf(msg, sizeof(msg), "%s", text);
	time_rfc3339(ts, NULL);
	if (reason)
		snprintf(rkey, sizeof(rkey), l->json ? ",\"reason\":\"%s\"" : " reason=%s", reason);
	if (l->json) {
		char emsg[800], ename[400], lep[ENDPOINT_STRLEN], tep[ENDPOINT_STRLEN], num[32];

		snprintf(num, sizeof(num), "%lld", count);
		if (rule)
			n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"event\":\"%s\","
				     "\"rule\":\"%s\",\"proto\":\"%s\",\"listen\":\"%s\","
				     "\"target\":\"%s\",\"count\":%s,\"message\":\"%s\"%s}\n",
				     ts, event, jstr(rule->name, ename, sizeof(ename)),
				     rule->proto == FWD_TCP ? "tcp" : "udp", endpoint_str(&rule->listen, lep),
				     endpoint_str(&rule->target, tep), count >= 0 ? num : "null",
				     jstr(msg, emsg, sizeof(emsg)), rkey);
		else
			n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"event\":\"%s\","
				     "\"rule\":null,\"proto\":null,\"listen\":null,\"target\":null,"
				     "\"count\":%s,\"message\":\"%s\"%s}\n", ts, event,
				     count >= 0 ? num : "null", jstr(msg, emsg, sizeof(emsg)), rkey);
	} else {
		/* as the session lines: key=value, strings quoted */
		char lep[ENDPOINT_STRLEN], tep[ENDPOINT_STRLEN], what[256] = "", num[40] = "";

		if (rule)
			snprintf(what, sizeof(what), " rule=\"%s\" listen=%s target=%s", rule->name,
				 endpoint_str(&rule->listen, lep), endpoint_str(&rule->target, tep));
		if (count >= 0)
			snprintf(num, sizeof(num), " count=%lld", count);
		for (char *p = msg; *p; p++)
			if (*p == '"' || (unsigned char)*p < 0x20)
				*p = '\'';
		n = snprintf(line, sizeof(line), "%s %s%s%s%s msg=\"%s\"\n", ts, event, what, num,
			     rkey, msg);
	}
	if (n > 0)
		put(l, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void slog_event(const struct slog *l, const char *event, const struct fwd_rule *rule,
		long long count, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event_line(l, event, rule, count, NULL, msg);
}

void slog_dropped(const struct slog *l, const char *event, const struct fwd_rule *rule,
		  long long count, const char *reason, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event_line(l, event, rule, count, reason, msg);
}

void slog_lost(const struct slog *l, long long count, const char *reason, const char *msg)
{
	event_line(l, "lost", NULL, count, reason, msg);
}
