/*
 * rate.h - a packet-rate ceiling (the generic cell rate algorithm).
 *
 * rate_take(r, now, n) says whether n more packets may go at time now:
 * packet k is due at t0 + k * interval, n go once the last of them is
 * due, and a sender that fell behind may catch up by at most
 * RATE_SLACK_US. The interval is 1 / rate stretched by that slack
 * (1 + RATE_SLACK_US / 1e6), so catching up never puts more than rate
 * packets in any window of one second: --rate is a ceiling over every
 * second, not an average, at a cost of 0.1 % of the rate. That holds for
 * senders that take one packet at a time (every prober does); n taken at
 * once and sent at once may put n - 1 more in a second. The wire sees a
 * packet some time after rate_take() let it go; rate_sent(r, now) after
 * the send call says by when it had left, so that one the kernel held (a
 * sender preempted in the call) does not let the next ones go early, and
 * the ceiling holds on the wire too. rate_next() says
 * when the next n are due, for a timer. A rate of 0 means no limit. No
 * allocation, no system call: the caller passes the clock.
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
/* What rate_take() let go was handed to the kernel by now_us. */
void rate_sent(struct rate_limit *r, int64_t now_us);
/* When n packets may go (the last of them is due); now_us or earlier
 * when they may go at once. */
int64_t rate_next(const struct rate_limit *r, unsigned n);
double rate_get(const struct rate_limit *r);	/* packets per second, 0 unlimited */
/* A limiter that goes on from where another stopped (discovery, then the
 * engine; a scan's passes): rate_init() at now, or at *due when that is
 * later, and *due set to when the next packet may go when it is done - so
 * the ceiling holds across the hand-over. due NULL: a fresh start. */
void rate_resume(struct rate_limit *r, double per_sec, int64_t now_us, const int64_t *due);
void rate_hand_over(const struct rate_limit *r, int64_t *due);

#endif
