/*
 * rate.h - a packet-rate ceiling (the generic cell rate algorithm).
 *
 * rate_take(r, now, n) says whether n more packets may go at time now:
 * packet k is due at t0 + k / rate, and a sender that fell behind may catch
 * up by at most RATE_SLACK_US of them, so in any window of T seconds at
 * most rate * T + rate * RATE_SLACK_US / 1e6 + n packets go out - for
 * --rate 100, exactly 100 in any second. rate_next() says when the next
 * one is due, for a timer. A rate of 0 means no limit. No allocation,
 * no system call: the caller passes the clock.
 */
#ifndef PORTKIT_RATE_H
#define PORTKIT_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_SLACK_US 1000

struct rate_limit {
	double interval_us;	/* 0: unlimited */
	double tat;		/* when the next packet is due (microseconds) */
};

void rate_init(struct rate_limit *r, double per_sec, int64_t now_us);
/* Change the rate from now on (a pacer that adapts). */
void rate_set(struct rate_limit *r, double per_sec);
bool rate_take(struct rate_limit *r, int64_t now_us, unsigned n);
/* When n packets may go; now_us or earlier when they may go at once. */
int64_t rate_next(const struct rate_limit *r, unsigned n);
double rate_get(const struct rate_limit *r);	/* packets per second, 0 unlimited */

#endif
