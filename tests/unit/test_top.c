/*
 * test_top.c - top's --metrics accounting (struct topn): the top N keys
 * with the rest in "other", exact sums and counters that only grow.
 */
#include <netinet/in.h>
#include <stdlib.h>

#include "unit.h"
#include "top/top.h"

static struct topn_key port(uint16_t p)
{
	struct topn_key k = { .proto = IPPROTO_TCP, .side = 'l', .port = p };

	return k;
}

struct seen {
	uint64_t tx[8], rx[8];	/* a series per port 1-7, as last scraped (0: none) */
	uint64_t otx, orx, all_tx, all_rx;
};

/* Scrape: every shown series and other; the sums exact, nothing shown
 * decreased while shown, other never decreased */
static void scrape(const struct topn *t, struct seen *s)
{
	uint64_t stx = 0, srx = 0, otx, orx;
	struct seen now = { 0 };

	CHECK(topn_count(t) <= 2);
	for (size_t i = 0; i < topn_count(t); i++) {
		struct topn_key k;
		uint64_t tx, rx;

		topn_get(t, i, &k, &tx, &rx);
		CHECK(k.port >= 1 && k.port <= 7);
		now.tx[k.port] = tx;
		now.rx[k.port] = rx;
		stx += tx;
		srx += rx;
		/* a series that stays only grows */
		if (s->tx[k.port] || s->rx[k.port])
			CHECK(tx >= s->tx[k.port] && rx >= s->rx[k.port]);
	}
	topn_other(t, &otx, &orx);
	CHECK(otx >= s->otx && orx >= s->orx);
	CHECK_INT(stx + otx, s->all_tx);
	CHECK_INT(srx + orx, s->all_rx);
	for (int p = 0; p < 8; p++) {
		s->tx[p] = now.tx[p];
		s->rx[p] = now.rx[p];
	}
	s->otx = otx;
	s->orx = orx;
}

static void add(struct topn *t, struct seen *s, uint16_t p, uint64_t tx, uint64_t rx)
{
	struct topn_key k = port(p);

	topn_add(t, &k, tx, rx);
	s->all_tx += tx;
	s->all_rx += rx;
}

TEST(top_metrics_topn_sums_stay_exact_and_grow)
{
	struct topn *t = topn_new(2);
	struct seen s = { 0 };
	struct topn_key k;
	uint64_t tx, rx;

	/* a new key goes in with every byte of its first interval */
	add(t, &s, 1, 1000, 10);
	add(t, &s, 2, 500, 0);
	add(t, &s, 3, 100, 0);
	topn_settle(t);
	scrape(t, &s);
	CHECK_INT(topn_count(t), 2);
	topn_get(t, 0, &k, &tx, &rx);
	CHECK(k.port == 1 && tx == 1000 && rx == 10);
	topn_get(t, 1, &k, &tx, &rx);
	CHECK(k.port == 2 && tx == 500 && rx == 0);
	CHECK(s.otx == 100);
	/* 3 climbs over 2: 2's series goes to other, 3 starts from this
	 * interval (its first 100 stay in other) */
	add(t, &s, 3, 600, 5);
	topn_settle(t);
	scrape(t, &s);
	topn_get(t, 1, &k, &tx, &rx);
	CHECK(k.port == 3 && tx == 600 && rx == 5);
	CHECK(s.tx[2] == 0 && s.otx == 600);
	/* 2 comes back above 3: from 0 again */
	add(t, &s, 2, 300, 0);
	topn_settle(t);
	scrape(t, &s);
	topn_get(t, 1, &k, &tx, &rx);
	CHECK(k.port == 2 && tx == 300);
	/* a tie keeps the one shown: 3 has 800 since start, as 2 has */
	add(t, &s, 3, 95, 0);
	topn_settle(t);
	scrape(t, &s);
	topn_get(t, 1, &k, &tx, &rx);
	CHECK(k.port == 2);
	/* a quiet interval changes nothing; zero bytes make no key */
	add(t, &s, 7, 0, 0);
	topn_settle(t);
	scrape(t, &s);
	CHECK_INT(topn_count(t), 2);
	/* churn: random moves, the sums exact and every count growing */
	srand(3);
	for (int i = 0; i < 2000; i++) {
		for (int n = rand() % 4; n; n--)
			add(t, &s, (uint16_t)(1 + rand() % 7), (uint64_t)(rand() % 5000),
			    (uint64_t)(rand() % 50));
		topn_settle(t);
		scrape(t, &s);
	}
	topn_free(t);
	topn_free(NULL);
}

TEST(top_metrics_topn_forgets_the_idle_but_keeps_the_sums)
{
	struct topn *t = topn_new(3);
	uint64_t otx, orx, sum = 0, all = 0;

	/* more keys than it remembers: each moves once */
	for (unsigned i = 1; i <= 9000; i++) {
		struct topn_key k = { .pid = (int32_t)i };

		topn_add(t, &k, i, 1);
		all += i;
		if (i % 100 == 0)
			topn_settle(t);
	}
	topn_settle(t);
	for (size_t i = 0; i < topn_count(t); i++) {
		struct topn_key k;
		uint64_t tx, rx;

		topn_get(t, i, &k, &tx, &rx);
		sum += tx;
		CHECK(k.pid >= 8998);	/* the three biggest, all new in the last batch */
	}
	CHECK_INT(topn_count(t), 3);
	topn_other(t, &otx, &orx);
	CHECK_INT(sum + otx, all);
	CHECK_INT(orx + 3, 9000);
	topn_free(t);
}
