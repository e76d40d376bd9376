/*
 * test_nat.c - the nat library on a recorded router (tests/data/nat, made
 * by its make-fixture): the dump replayed gives the records portkit nat
 * printed live from those same bytes; filters, the table and the summary;
 * the recorded events replayed through --watch's handling give what it
 * printed, and a loss is a record in the stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "nat/nat.h"

struct capture {
	char *text;
	size_t len;
	FILE *f;
};

static void capture_open(struct capture *c)
{
	c->text = NULL;
	c->f = open_memstream(&c->text, &c->len);
}

static const char *capture_text(struct capture *c)
{
	fflush(c->f);
	return c->text ? c->text : "";
}

static void capture_close(struct capture *c)
{
	fclose(c->f);
	free(c->text);
}

static struct nat_job job(const char *file, char **bytes)
{
	struct nat_job j = { .f_out = NULL };
	size_t n = 0;

	*bytes = unit_slurp(unit_data(file), &n);
	if (!*bytes)
		unit_fail(__FILE__, __LINE__, "cannot read %s", unit_data(file));
	j.replay = *bytes ? *bytes : "";
	j.replay_len = n;
	return j;
}

/* The listing of the recorded dump with j's filters: records printed,
 * text into out (the caller frees) */
static size_t list(struct nat_job *j, bool json, char **out)
{
	struct capture c;
	struct out *o;
	size_t seen = 0, shown = 0;

	capture_open(&c);
	o = out_new(c.f, json ? OUT_JSON : OUT_TABLE, false);
	CHECK_INT(nat_list(j, o, &seen, &shown), 0);
	CHECK_INT(out_close(o), 0);
	CHECK_INT(seen, 5);
	*out = strdup(capture_text(&c));
	capture_close(&c);
	return shown;
}

TEST(nat_replayed_dump_is_what_nat_printed_live)
{
	char *bytes, *want, *got;
	size_t n;
	struct nat_job j = job("nat/dump.bin", &bytes);

	want = unit_slurp(unit_data("nat/list.json"), &n);
	CHECK_INT(list(&j, true, &got), 5);
	CHECK(want && !strcmp(got, want));
	/* the port forward is also masqueraded (it leaves through the same
	 * interface), the other three sessions are source NAT only */
	CHECK(strstr(got, "\"orig_dst_port\":8080,\"reply_src_addr\":\"198.18.21.2\","
			  "\"reply_src_port\":80"));
	CHECK(strstr(got, "\"translation\":\"both\""));
	CHECK(strstr(got, "\"orig_bytes\":") && !strstr(got, "\"orig_bytes\":null"));
	free(got);
	free(want);
	free(bytes);
}

TEST(nat_filters_on_the_replayed_dump)
{
	static const struct { struct nat_filter f; size_t n; } cases[] = {
		{ { .dnat = true }, 1 },
		{ { .snat = true }, 4 },
		{ { .udp = true }, 2 },
		{ { .tcp = true, .udp = true }, 4 },
		{ { .state = "ESTAB" }, 2 },
		{ { .state = "TIME-WAIT" }, 0 },
	};
	struct port_range p8080 = { 8080, 8080 }, p53 = { 53, 53 };
	char *bytes, *got;
	struct nat_job j = job("nat/dump.bin", &bytes);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j.f = cases[i].f;
		CHECK_INT(list(&j, true, &got), cases[i].n);
		free(got);
	}
	j.f = (struct nat_filter){ .ports = &p8080, .nports = 1 };
	CHECK_INT(list(&j, true, &got), 1);
	free(got);
	j.f = (struct nat_filter){ .ports = &p53, .nports = 1 };	/* either side */
	CHECK_INT(list(&j, true, &got), 1);
	free(got);
	free(bytes);
}

TEST(nat_table_spells_out_the_translation)
{
	char *bytes, *got;
	struct nat_job j = job("nat/dump.bin", &bytes);

	j.numeric = true;
	CHECK_INT(list(&j, false, &got), 5);
	CHECK(!strncmp(got, "PROTO  STATE", 12));
	CHECK(!strstr(got, "SERVICE"));	/* -n: no column of dashes */
	CHECK(strstr(got, "198.18.20.1:57920 -> 198.18.20.2:8080 "));
	CHECK(strstr(got, "  forwarded to 198.18.21.2:80, from 198.18.21.1:57920 (port forward "
			  "and source NAT)  "));
	CHECK(strstr(got, "leaves as 198.18.21.1:33166 (source NAT)"));
	CHECK(strstr(got, "icmp   replied"));
	CHECK(strstr(got, "[2001:db8:20::1]:48576 -> [2001:db8:21::2]:5353  -"));
	free(got);
	free(bytes);
}

TEST(nat_summary_of_the_replayed_dump)
{
	char *bytes;
	struct capture c;
	struct nat_job j = job("nat/dump.bin", &bytes);

	capture_open(&c);
	j.f_out = c.f;
	CHECK_INT(nat_summary(&j), 0);
	/* a recording has no nf_conntrack_count: no "(table: ...)" */
	CHECK_STR(capture_text(&c), "5 tracked sessions\n"
				    "TCP: ESTAB 2\n"
				    "UDP: replied 2, unreplied 0\n"
				    "other protocols: 1\n"
				    "translated: 4 source NAT, 1 port forward\n"
				    "  forwarded port 8080/tcp: 1 session\n");
	capture_close(&c);
	free(bytes);
}

/* text with every "time":"..." value blanked, so two runs compare */
static char *no_times(const char *s)
{
	char *out = strdup(s), *p = out;

	while ((p = strstr(p, "\"time\":\""))) {
		char *v = p + 8, *end = strchr(v, '"');

		if (!end)
			break;
		memmove(v, end, strlen(end) + 1);
		p = v;
	}
	return out;
}

/* The recorded events through --watch's handling, as JSON or text */
static char *watch(struct nat_job *j, const void *bytes, size_t n, int *stopped)
{
	struct capture c;
	struct nat_watcher *w;
	char *out;

	capture_open(&c);
	j->f_out = c.f;
	w = nat_watcher_new(j);
	*stopped = ct_follow_feed(&nat_watcher_ops, w, bytes, n);
	nat_watcher_ops.lost(7, w);
	CHECK_INT(nat_watcher_free(w), 0);
	out = no_times(capture_text(&c));
	capture_close(&c);
	return out;
}

TEST(nat_watch_replayed_events_and_the_lost_record)
{
	char *bytes, *want, *got, *w0;
	size_t n, wn;
	int stopped;
	struct nat_job j = { .json = true };

	bytes = unit_slurp(unit_data("nat/events.bin"), &n);
	want = unit_slurp(unit_data("nat/watch.json"), &wn);
	CHECK(bytes && want);
	if (!bytes || !want)
		return;
	got = watch(&j, bytes, n, &stopped);
	w0 = no_times(want);
	CHECK_INT(stopped, 0);
	/* every event as it was printed live, then the loss said in the stream */
	CHECK(!strncmp(got, w0, strlen(w0)));
	CHECK_STR(got + strlen(w0), "{\"event\":\"lost\",\"time\":\"\",\"count\":7,"
				    "\"reason\":\"buffer-full\",\"netns\":null}\n");
	free(got);
	free(w0);

	/* --count 3: three events, then the follower is told to stop */
	j.count = 3;
	got = watch(&j, bytes, n, &stopped);
	CHECK_INT(stopped, 1);
	CHECK(strstr(got, "\"event\":\"update\",\"time\":\"\",\"proto\":\"tcp\"") &&
	      !strstr(got, "\"proto\":\"udp\"") && !strstr(got, "\"event\":\"lost\""));
	free(got);

	/* text: one line an event, the loss a line of its own */
	j = (struct nat_job){ .f = { .udp = true } };
	got = watch(&j, bytes, n, &stopped);
	CHECK(strstr(got, " destroy udp [2001:db8:20::1]:48576 -> [2001:db8:21::2]:5353\n"));
	CHECK(strstr(got, " new     udp 198.18.20.1:33166 -> 198.18.21.2:53  leaves as "
			  "198.18.21.1:33166 (source NAT)\n"));
	CHECK(strstr(got, " lost    7 events the kernel dropped: the receive buffer was full "
			  "(--buffer-size)\n"));
	CHECK(!strstr(got, " tcp "));
	free(got);
	free(want);
	free(bytes);
}

TEST(nat_states_are_spelled_as_ls_and_read_either_way)
{
	static const struct { const char *in; const char *out; } v[] = {
		{ "ESTABLISHED", "ESTAB" }, { "estab", "ESTAB" }, { "time_wait", "TIME-WAIT" },
		{ "TIME-WAIT", "TIME-WAIT" }, { "Syn_Sent", "SYN-SENT" }, { "SYN-RECV", "SYN-RECV" },
		{ "fin_wait", "FIN-WAIT" }, { "close-wait", "CLOSE-WAIT" }, { "LAST_ACK", "LAST-ACK" },
	};
	unsigned s;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_INT(nat_tcp_state_parse(v[i].in, &s), 0);
		CHECK_STR(nat_tcp_state(s), v[i].out);
	}
	CHECK(nat_tcp_state_parse("TIME WAIT", &s) < 0);
	CHECK(nat_tcp_state_parse("", &s) < 0);
}
