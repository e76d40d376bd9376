/* test_forward.c - forwarding rules: the config grammar and ACL matching. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"
#include "core/base/log.h"
#include "forward/forward.h"

static struct endpoint ep(const char *s)
{
	struct endpoint e;

	if (endpoint_parse(s, 0, &e))
		unit_fail(__FILE__, __LINE__, "bad endpoint %s", s);
	return e;
}

TEST(forward_config_rules)
{
	struct fwd_config c;
	char buf[ENDPOINT_STRLEN];

	CHECK_INT(fwd_config_parse("t.conf",
				   "# comment\n"
				   "0.0.0.0:8080 tcp 198.18.0.2:80 allow=198.18.0.0/24 deny=0.0.0.0/0\n"
				   "\n"
				   "[::]:5353 udp [2001:db8::1]:domain idle-timeout=60s\n"
				   "8443 tcp 127.0.0.1:443 proxy=v2 max-conns=500 connect-timeout=3s\n",
				   &c), 0);
	CHECK_INT(c.n, 3);
	CHECK_STR(c.rules[0].name, "0.0.0.0:8080/tcp -> 198.18.0.2:80");
	CHECK_INT(c.rules[0].line, 2);
	CHECK_INT(c.rules[0].nacl, 2);
	CHECK_INT(c.rules[1].proto, FWD_UDP);
	CHECK_STR(endpoint_str(&c.rules[1].target, buf), "[2001:db8::1]:53");
	CHECK_INT(c.rules[1].idle_timeout_ms, 60000);
	CHECK_STR(endpoint_str(&c.rules[2].listen, buf), "[::]:8443");
	CHECK_INT(c.rules[2].proxy, 2);
	CHECK_INT(c.rules[2].max_conns, 500);
	CHECK_INT(c.rules[2].connect_timeout_ms, 3000);
	CHECK(!fwd_same_listener(&c.rules[0], &c.rules[2]));
	CHECK(fwd_same_listener(&c.rules[0], &c.rules[0]));
	free(c.rules);
}

TEST(forward_config_errors_name_the_line)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "127.0.0.1:80 tcp\n", "x.conf:1: expected LISTEN PROTO TARGET" },
		{ "\n127.0.0.1:80 tcp 127.0.0.1:0\n", "x.conf:2: invalid target '127.0.0.1:0': port 0" },
		{ "127.0.0.1:80 tcp 127.0.0.1:81 allow=10.0.0.0/99\n", "x.conf:1: invalid CIDR" },
		{ "127.0.0.1:80 tcp 127.0.0.1:81 idle-timeout=soon\n", "x.conf:1: invalid idle-timeout" },
		{ "127.0.0.1:80 sctp 127.0.0.1:81\n", "x.conf:1:" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fwd_config c;

		if (!fwd_config_parse("x.conf", bad[i].text, &c)) {
			unit_fail(__FILE__, __LINE__, "accepted: %s", bad[i].text);
			free(c.rules);
			continue;
		}
		if (strncmp(error_msg(), bad[i].msg, strlen(bad[i].msg)))
			unit_fail(__FILE__, __LINE__, "'%s': said '%s'", bad[i].text, error_msg());
	}
}

TEST(forward_acl_first_match_wins)
{
	struct fwd_rule r;
	struct endpoint a = ep("198.18.0.5:1000"), b = ep("198.18.1.5:1000");
	struct endpoint m = ep("[::ffff:198.18.0.5]:1000"), six = ep("[2001:db8::5]:1");

	CHECK_INT(fwd_rule_quick("8080", "127.0.0.1:80", false, &r), 0);
	CHECK(fwd_acl_permits(&r, &a));		/* no rules: everyone */
	CHECK_INT(fwd_rule_acl(&r, false, "198.18.0.5/32"), 0);
	CHECK_INT(fwd_rule_acl(&r, true, "198.18.0.0/16,2001:db8::/32"), 0);
	CHECK(!fwd_acl_permits(&r, &a));	/* the deny comes first */
	CHECK(!fwd_acl_permits(&r, &m));	/* also as IPv4-mapped */
	CHECK(fwd_acl_permits(&r, &b));
	CHECK(fwd_acl_permits(&r, &six));
	/* with an allow, what matches nothing is denied */
	CHECK(!fwd_acl_permits(&r, &(struct endpoint){ .family = AF_INET, .addr = { 10, 0, 0, 1 } }));
}

/* a line is taken whole: options past the 40th token and allow lists past
 * 1,023 bytes count; IPv6 entries see IPv4 clients in their mapped form */
TEST(forward_config_taken_whole)
{
	struct fwd_config c;
	char line[4096];
	size_t n = 0;
	struct endpoint v4 = { .family = AF_INET, .addr = { 127, 0, 0, 1 } };
	struct endpoint six = ep("[::1]:1");

	n += (size_t)snprintf(line + n, sizeof(line) - n, "127.0.0.1:8080 tcp 127.0.0.1:80");
	for (int i = 0; i < 45; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " idle-timeout=1h");
	snprintf(line + n, sizeof(line) - n, " deny=127.0.0.0/8\n");
	CHECK_INT(fwd_config_parse("t.conf", line, &c), 0);
	CHECK_INT(c.rules[0].nacl, 1);
	CHECK(!fwd_acl_permits(&c.rules[0], &v4));
	free(c.rules);

	n = (size_t)snprintf(line, sizeof(line), "[::1]:8080 tcp 127.0.0.1:80 allow=");
	for (int i = 0; i < 22; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff/128,");
	snprintf(line + n, sizeof(line) - n, "1.2.3.4,1.2.3.4,1.2.3.4,::2/128\n");
	CHECK_INT(fwd_config_parse("t.conf", line, &c), 0);
	CHECK_INT(c.rules[0].nacl, 26);
	CHECK_INT(c.rules[0].acl[25].cidr.prefix, 128);
	CHECK(!fwd_acl_permits(&c.rules[0], &six));
	free(c.rules);

	CHECK_INT(fwd_config_parse("t.conf", "127.0.0.1:8080 tcp 127.0.0.1:80 "
				   "deny=::ffff:127.0.0.0/104\n", &c), 0);
	CHECK(!fwd_acl_permits(&c.rules[0], &v4));
	CHECK(fwd_acl_permits(&c.rules[0], &(struct endpoint){ .family = AF_INET,
							  .addr = { 10, 0, 0, 1 } }));
	free(c.rules);

	CHECK(fwd_config_parse("t.conf", "127.0.0.1:8080 tcp 127.0.0.1:80 allow=\n", &c) < 0);
	CHECK(fwd_config_parse("t.conf", "127.0.0.1:8080 tcp 127.0.0.1:80 allow=1.2.3.4,\n",
			       &c) < 0);
	CHECK(fwd_config_parse("t.conf", "127.0.0.1:0 tcp 127.0.0.1:80\n", &c) < 0);
}

/* The log lines of slog.c, read back from a file */
static char *logged(bool json, void (*write_lines)(const struct slog *l))
{
	FILE *f = tmpfile();
	struct slog l = { .fd = fileno(f), .json = json };
	static char text[4096];
	size_t n;

	write_lines(&l);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void kernel_sessions(const struct slog *l)
{
	struct fwd_rule r;
	struct endpoint client = ep("198.18.8.1:40000");

	fwd_rule_quick("8080", "198.18.9.2:80", false, &r);
	/* a start that was seen; one that was not (its new event lost) */
	slog_session(l, &(struct slog_rec){ .rule = &r, .client = &client, .start_ms = 1000,
					    .end_ms = 2500, .close_reason = "ended", .no_bytes = true,
					    .translation = "dnat" });
	slog_session(l, &(struct slog_rec){ .rule = &r, .client = &client, .start_ms = 2500,
					    .end_ms = 2500, .no_start = true, .close_reason = "ended",
					    .no_bytes = true, .translation = "dnat" });
	slog_lost(l, 12, "buffer-full", "12 sessions \"lost\"");
}

TEST(forward_log_unknown_is_null_and_loss_is_a_line)
{
	char *j = logged(true, kernel_sessions), *t;

	CHECK(strstr(j, "\"bytes_in\":null,\"bytes_out\":null,\"spliced\":0,\"start\":"));
	CHECK(strstr(j, "\"duration\":1.500,\"close_reason\":\"ended\",\"translation\":\"dnat\"}\n"));
	CHECK(strstr(j, "\"start\":null,\"duration\":null,\"close_reason\":\"ended\""));
	CHECK(strstr(j, "\"event\":\"lost\",\"rule\":null,\"proto\":null,\"listen\":null,"
			"\"target\":null,\"count\":12,\"message\":\"12 sessions \\\"lost\\\"\","
			"\"reason\":\"buffer-full\"}\n"));
	t = logged(false, kernel_sessions);
	CHECK(strstr(t, " in=- out=- duration=1.500s close=ended via=kernel-dnat\n"));
	CHECK(strstr(t, " in=- out=- duration=- close=ended via=kernel-dnat\n"));
	CHECK(strstr(t, " lost count=12 reason=buffer-full msg=\"12 sessions 'lost'\"\n"));
}
