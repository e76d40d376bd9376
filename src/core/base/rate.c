#include "core/base/rate.h"
#include "core/base/banned.h"

void rate_init(struct rate_limit *r, double per_sec, int64_t now_us)
{
	r->interval_us = per_sec > 0 ? 1e6 / per_sec : 0;
	r->tat = (double)now_us;
}

void rate_set(struct rate_limit *r, double per_sec)
{
	r->interval_us = per_sec > 0 ? 1e6 / per_sec : 0;
}

double rate_get(const struct rate_limit *r)
{
	return r->interval_us > 0 ? 1e6 / r->interval_us : 0;
}

bool rate_take(struct rate_limit *r, int64_t now_us, unsigned n)
{
	double now = (double)now_us;

	if (r->interval_us <= 0)
		return true;
	if (r->tat > now)
		return false;
	/* a sender that fell behind catches up by RATE_SLACK_US at most */
	if (r->tat < now - RATE_SLACK_US)
		r->tat = now - RATE_SLACK_US;
	r->tat += r->interval_us * n;
	return true;
}

int64_t rate_next(const struct rate_limit *r, unsigned n)
{
	(void)n;
	return r->interval_us > 0 ? (int64_t)r->tat + 1 : 0;
}
