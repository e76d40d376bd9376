/*
 * metrics.h - forward --metrics: the Prometheus endpoint on the main
 * thread's loop. Private to src/forward.
 */
#ifndef PORTKIT_FWD_METRICS_H
#define PORTKIT_FWD_METRICS_H

#include "core/base/buf.h"
#include "core/base/ev.h"
#include "core/wire/metrics.h"

struct engine;
struct fwd_metrics;

enum { RELOAD_OK, RELOAD_REJECTED, RELOAD_IGNORED };

/* addr as --metrics takes it (ADDR:PORT), parsed into *e: 0, or -EINVAL
 * with error_msg() one line naming --metrics (and --check says it) */
struct endpoint;
int fwd_metrics_addr(const char *addr, struct endpoint *e);
/* Listen on addr ("127.0.0.1:9464"); 0 or errorf */
int fwd_metrics_start(struct ev_loop *loop, const char *addr, struct fwd_metrics **out);
/* The engine whose counters it shows (none yet: no rules) */
void fwd_metrics_engine(struct fwd_metrics *m, struct engine *eng);
/* Or --kernel's: what conntrack's events tell (see docs/metrics.md for
 * what the kernel forwarder cannot know) */
struct klog;
void fwd_metrics_kernel(struct fwd_metrics *m, struct klog *k);
void fwd_metrics_reload(struct fwd_metrics *m, int result);
void fwd_metrics_stop(struct fwd_metrics *m);
/* The exposition text now (for the endpoint and tests) */
void fwd_metrics_text(struct fwd_metrics *m, enum metrics_format fmt, struct buf *b);

#endif
