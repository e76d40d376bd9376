/*
 * engine.h - what the worker loop, the TCP relay and the UDP table share.
 * Private to src/forward.
 */
#ifndef PORTKIT_FWD_ENGINE_H
#define PORTKIT_FWD_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/base/ev.h"
#include "core/base/list.h"
#include "forward/forward.h"

struct usess;
struct worker;

struct listener {
	struct ev_io io;
	struct worker *w;
	int fd;
	int spare;			/* TCP: a target socket made ahead, or -1 */
	struct fwd_rule *rule;
	struct fwd_config *gen;
	bool paused;
	int64_t resume_ms;
	/* UDP: sessions by client address, and in order of last use */
	struct usess **buckets;
	size_t nbuckets, nsess;
	struct list lru;		/* usess.link: the most recent first */
	uint64_t hseed;		/* the buckets' hash start, random */
	uint64_t dropped[FWD_DROP_MAX];	/* datagrams dropped, logged by the sweep */
	uint32_t kdrops;		/* the kernel's drops at this socket counted so far */
	struct listener *next;
};

struct conn;

#define PIPE_POOL 256
#define RBUF_SIZE (64 * 1024)	/* tcp.c: the most one copied read takes */
#define QUARANTINE_MS 30000
#define QUARANTINE_MAX 4096

struct quarantine {
	int fd[QUARANTINE_MAX];
	int64_t until[QUARANTINE_MAX];
	struct fwd_count *count[QUARANTINE_MAX];	/* its listener's counters */
	uint32_t kdrops[QUARANTINE_MAX];	/* the socket's kernel drops counted so far */
	size_t head, n;
	uint64_t late_orphan;	/* late replies of listeners gone: logged by the worker */
};

struct worker {
	pthread_t th;
	unsigned id;
	struct engine *eng;
	struct ev_loop *loop;
	struct ev_timer sweep;		/* every 100 ms: deadlines, paused listeners */
	int wake;			/* eventfd: reload or stop */
	struct ev_io wake_io;
	unsigned seen_gen;
	struct listener *ls;
	struct list conns;		/* conn.link: every TCP session */
	size_t nconns;
	/* closed during this batch of events: freed after it, since another
	 * event of the same batch may still point at them */
	struct conn *dead;
	struct usess *dead_sess;
	struct fwd_config *cfg;		/* current generation (a reference) */
	struct quarantine quar;		/* UDP: ended sessions' sockets */
	/* TCP: copied bytes pass through here, read and written at once;
	 * only what the destination does not take moves to the session */
	char rbuf[RBUF_SIZE];
	int pool[PIPE_POOL][2];
	int64_t small_pipes_until;	/* no new pipe tried before (ms) */
	size_t npool;
	int64_t emfile_logged;
	bool stopping;
	int64_t drain_deadline;
};

struct engine {
	struct worker *w;
	unsigned n;
	struct engine_opts o;
	atomic_uint active;		/* TCP sessions, all rules */
	pthread_mutex_t lock;		/* guards next and the flags below */
	struct fwd_config *next;	/* set by reload, taken by each worker */
	struct fwd_config *cur;		/* the rules last given (main thread) */
	atomic_uint reload_gen;
	atomic_bool stop;
	struct fwd_count *counts;	/* one per listener ever configured */
	unsigned started;		/* worker threads running */
};

int listener_open(const struct fwd_rule *r, int *fd);
/* (Re)register a listener with its worker's loop. */
void listener_watch(struct listener *l);

/* tcp.c */
void tcp_accept(struct worker *w, struct listener *l);
void tcp_sweep(struct worker *w, int64_t now);
/* End every session at once with a reset to both sides (the drain deadline) */
void tcp_close_all(struct worker *w, const char *reason);
void tcp_reap(struct worker *w);

/* udp.c */
void udp_listener_event(struct worker *w, struct listener *l);
void udp_sweep(struct worker *w, struct listener *l, int64_t now);
void udp_close_all(struct listener *l, const char *reason);
/* Event lines for the datagrams dropped since the last ones */
void udp_log_drops(struct worker *w, struct listener *l);
/* Close the oldest quarantined socket now (none: nothing) */
void udp_quarantine_retire(struct worker *w);
/* Free the calling worker thread's datagram buffers, as it ends */
void udp_thread_done(void);
/* Log the late replies of listeners that are gone (engine_stop) */
void udp_log_orphans(struct worker *w);
void udp_reap(struct worker *w);
/* Close quarantined sockets whose time is up (all of them with all). */
void udp_quarantine_sweep(struct worker *w, int64_t now, bool all);

#endif
