#include "core/base/rate.h"
#include "core/base/banned.h"

/* The catch-up of RATE_SLACK_US lets packet k go that much before
 * t0 + k / rate after a late wake-up; stretching the interval by as much
 * keeps any second at rate packets or fewer: k packets span at least
 * (k - 1) * interval - slack, which is below one second only for
 * k <= rate. */
#define STRETCH (1.0 + RATE_SLACK_US / 1e6)

void rate_init(struct rate_limit *r, double per_sec, int64_t now_us)
{
	rate_set(r, per_sec);
	r->tat = (double)now_us;
}

void rate_set(struct rate_limit *r, double per_sec)
{
	r->interval_us = per_sec > 0 ? 1e6 / per_sec * STRETCH : 0;
}

double rate_get(const struct rate_limit *r)
{
	return r->interval_us > 0 ? 1e6 / r->interval_us * STRETCH : 0;
}

bool rate_take(struct rate_limit *r, int64_t now_us, unsigned n)
{
	double now = (double)now_us, rest;

	if (r->interval_us <= 0)
		return true;
	/* a burst goes once its last packet is due: none of it early */
	rest = r->interval_us * (n ? n - 1 : 0);
	if (r->tat + rest > now)
		return false;
	/* a sender that fell behind catches up by RATE_SLACK_US at most */
	if (r->tat + rest < now - RATE_SLACK_US)
		r->tat = now - RATE_SLACK_US - rest;
	r->tat += r->interval_us * n;
	return true;
}

/* Packet k left between its rate_take() and now; the one after it must
 * not count on the catch-up from an earlier time than now. */
void rate_sent(struct rate_limit *r, int64_t now_us)
{
	double next = (double)now_us - RATE_SLACK_US + r->interval_us;

	if (r->interval_us > 0 && r->tat < next)
		r->tat = next;
}

int64_t rate_next(const struct rate_limit *r, unsigned n)
{
	return r->interval_us > 0 ? (int64_t)(r->tat + r->interval_us * (n ? n - 1 : 0)) + 1 : 0;
}

void rate_resume(struct rate_limit *r, double per_sec, int64_t now_us, const int64_t *due)
{
	rate_init(r, per_sec, due && *due > now_us ? *due : now_us);
}

void rate_hand_over(const struct rate_limit *r, int64_t *due)
{
	int64_t next = rate_next(r, 1);

	if (due && next > *due)
		*due = next;
}
