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

#include "forward/forward.h"
#include "core/banned.h"

static void put(const struct slog *l, const char *s, size_t n)
{
	if (write(l->fd, s, n) < 0)
		return;	/* nowhere left to say it */
}

static void stamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void slog_session(const struct slog *l, const struct slog_rec *r)
{
	char line[1024], ts[64], ca[ADDR_STRLEN], ta[ADDR_STRLEN], rule[160];
	char cep[ENDPOINT_STRLEN], tep[ENDPOINT_STRLEN];
	/* an IPv4 client of a dual-stack listener is logged as the IPv4 it is */
	struct endpoint client = *r->client;
	const struct endpoint *target = &r->rule->target;
	int64_t dur = r->end_ms - r->start_ms;
	int n;

	struct timespec now;
	long long start_ms;

	clock_gettime(CLOCK_REALTIME, &now);
	start_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 - dur;
	stamp(ts, sizeof(ts));
	endpoint_unmap(&client);
	addr_format(client.family, client.addr, ca);
	addr_format(target->family, target->addr, ta);
	snprintf(rule, sizeof(rule), "%s", r->rule->name);
	if (l->json)
		n = snprintf(line, sizeof(line),
			     "{\"time\":\"%s\",\"rule\":\"%s\",\"proto\":\"%s\",\"client_addr\":\"%s\","
			     "\"client_port\":%u,\"target_addr\":\"%s\",\"target_port\":%u,"
			     "\"bytes_in\":%llu,\"bytes_out\":%llu,\"spliced\":%llu,\"start\":%lld.%03lld,"
			     "\"duration\":%lld.%03lld,\"close_reason\":\"%s\"}\n",
			     ts, rule, r->rule->proto == FWD_TCP ? "tcp" : "udp", ca, client.port, ta,
			     target->port,
			     (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
			     (unsigned long long)r->spliced, start_ms / 1000, start_ms % 1000,
			     (long long)(dur / 1000), (long long)(dur % 1000), r->close_reason);
	else
		n = snprintf(line, sizeof(line),
			     "%s session rule=\"%s\" client=%s target=%s in=%llu out=%llu "
			     "duration=%lld.%03llds close=%s\n", ts, rule, endpoint_str(&client, cep),
			     endpoint_str(target, tep),
			     (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
			     (long long)(dur / 1000), (long long)(dur % 1000), r->close_reason);
	if (n > 0)
		put(l, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void slog_event(const struct slog *l, const char *fmt, ...)
{
	char line[1024], ts[64], msg[900];
	va_list ap;
	int n;

	stamp(ts, sizeof(ts));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->json) {
		char esc[1800];
		size_t k = 0;

		for (const char *p = msg; *p && k + 2 < sizeof(esc); p++) {
			if (*p == '"' || *p == '\\')
				esc[k++] = '\\';
			esc[k++] = (unsigned char)*p < 32 ? ' ' : *p;
		}
		esc[k] = '\0';
		n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"event\":\"%s\"}\n", ts, esc);
	} else {
		n = snprintf(line, sizeof(line), "%s %s\n", ts, msg);
	}
	if (n > 0)
		put(l, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
