/*
 * test_metrics.c - the Prometheus writer and the HTTP request reader.
 */
#include <string.h>

#include "core/wire/httpreq.h"
#include "core/wire/metrics.h"
#include "unit.h"

TEST(metrics_text_and_openmetrics)
{
	struct buf b = BUF_INIT(1 << 16);
	struct metrics m;
	const char *l[] = { "rule", "a \"b\"\\c\nd", "proto", "tcp" };

	metrics_init(&m, &b, METRICS_TEXT);
	metrics_family(&m, "pk_bytes", METRIC_COUNTER, "bytes", "Bytes moved.\nSecond \\ line");
	metrics_sample_u(&m, 18446744073709551615ULL, 2, l);
	metrics_family(&m, "pk_open", METRIC_GAUGE, NULL, "Open.");
	metrics_sample(&m, 0.25, 0, NULL);
	metrics_end(&m);
	CHECK_STR(buf_str(&b),
		  "# HELP pk_bytes_total Bytes moved.\\nSecond \\\\ line\n"
		  "# TYPE pk_bytes_total counter\n"
		  "pk_bytes_total{rule=\"a \\\"b\\\"\\\\c\\nd\",proto=\"tcp\"} 18446744073709551615\n"
		  "# HELP pk_open Open.\n# TYPE pk_open gauge\npk_open 0.25\n");
	buf_reset(&b);
	metrics_init(&m, &b, METRICS_OPENMETRICS);
	metrics_family(&m, "pk_bytes", METRIC_COUNTER, "bytes", "Bytes moved.");
	metrics_sample_u(&m, 7, 0, NULL);
	metrics_end(&m);
	CHECK_STR(buf_str(&b), "# TYPE pk_bytes counter\n# UNIT pk_bytes bytes\n"
		  "# HELP pk_bytes Bytes moved.\npk_bytes_total 7\n# EOF\n");
	buf_free(&b);
}

static int parse(const char *s, struct http_req *r)
{
	return http_req_parse(s, strlen(s), r);
}

TEST(metrics_label_values_are_utf8)
{
	struct buf b = BUF_INIT(1 << 12);
	struct metrics m;
	/* a process named with bytes that are not UTF-8, and one in it */
	const char *l[] = { "comm", "ev\xe9l\xc3\xa9\xed\xa0\x80" };

	metrics_init(&m, &b, METRICS_TEXT);
	metrics_family(&m, "pk_x", METRIC_GAUGE, NULL, "X.");
	metrics_sample_u(&m, 1, 1, l);
	CHECK_STR(buf_str(&b), "# HELP pk_x X.\n# TYPE pk_x gauge\n"
		  "pk_x{comm=\"ev\xef\xbf\xbdl\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 1\n");
	buf_free(&b);
}

TEST(httpreq_reads_a_scrape)
{
	struct http_req r;
	const char *scrape = "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
			     "Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n"
			     "User-Agent: Prometheus/2.42.0\r\n\r\nGET / HTTP/1.1\r\n";

	CHECK_INT(parse(scrape, &r), (long long)(strstr(scrape, "\r\n\r\n") + 4 - scrape));
	CHECK_STR(r.method, "GET");
	CHECK_STR(r.path, "/metrics");
	CHECK_STR(r.query, "x=1");
	CHECK_STR(r.host, "127.0.0.1:9");
	CHECK_STR(r.origin, "");
	CHECK(r.keep_alive && r.openmetrics && r.minor == 1);
	/* Origin as a browser sends it on a POST; a header said twice is refused */
	CHECK_INT(parse("POST /tour?step=1 HTTP/1.1\r\nHost: a:1\r\nOrigin:  http://a:1 \r\n\r\n",
			&r), 63);
	CHECK_STR(r.origin, "http://a:1");
	CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &r), -400);
	CHECK_INT(parse("GET /metrics HTTP/1.0\n\n", &r), 23);
	CHECK(!r.keep_alive && !r.openmetrics);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", &r), 44);
	CHECK(!r.keep_alive);
	/* incomplete: wait for more */
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &r), 0);
	CHECK_INT(parse("", &r), 0);
}

TEST(httpreq_refuses_what_it_does_not_take)
{
	struct http_req r;
	char big[HTTPREQ_MAX + 10];

	CHECK_INT(parse("GET metrics HTTP/1.1\r\n\r\n", &r), -400);
	CHECK_INT(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), -505);
	CHECK_INT(parse("GET /metrics FTP/1.1\r\n\r\n", &r), -400);
	CHECK_INT(parse("GET  /metrics HTTP/1.1\r\n\r\n", &r), -400);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n", &r), -400);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n", &r), -400);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nX: a\x01\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &r), -501);
	CHECK_INT(parse("POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), -501);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r), 44);
	CHECK_INT(http_req_parse("GET /\0 HTTP/1.1\r\n\r\n", 20, &r), -400);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	CHECK_INT(http_req_parse(big, sizeof(big), &r), -431);
	memcpy(big + 300, " HTTP/1.1\r\n\r\n", 13);
	CHECK_INT(http_req_parse(big, 313, &r), -414);
}
