/*
 * run.c - a capture's runtime: libpcap opened (a live interface or a
 * file), its packets taken on the event loop and sent down the packet path
 * (path.c) to the printer, the flow table, the IPFIX exporter or a pcap
 * file, until the end of the input, the count or a signal.
 *
 * Live, the loop watches the capture's descriptor (libpcap in non-blocking
 * mode) and a timer moves the flow table's clock, so that quiet flows end
 * and interim records come with no packet at all, and the IPFIX
 * exporter's waiting message goes. A file is read in batches, one a loop
 * round, with packet time as its only clock.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/base/cli.h"
#include "core/base/ev.h"
#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

#define BATCH 1024		/* packets between two looks at the loop */
#define TICK_US (250 * 1000)	/* the live flow clock's step */
/* the live clock stays this far behind now: a packet the kernel holds for
 * its 100 ms buffer timeout is then not older than the table's clock */
#define LAG_US (250 * 1000)

#define READ_BUF (1 << 20)

/* A pipe, FIFO or terminal as input: libpcap's reads would block where
 * no signal can end them (they are blocked, and come through the loop),
 * so each read first waits on the loop's signals too. */
struct pipe_in {
	int fd;
	struct ev_loop *const *loop;	/* NULL until the loop is made */
};

static ssize_t pipe_read(void *cookie, char *buf, size_t size)
{
	struct pipe_in *p = cookie;

	for (;;) {
		ssize_t n;

		if (*p->loop) {
			int r = ev_wait_readable(*p->loop, p->fd);

			if (r <= 0)
				return r ? -1 : 0;	/* a signal: the input ends here */
		}
		n = read(p->fd, buf, size);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

static int pipe_close(void *cookie)
{
	struct pipe_in *p = cookie;
	int r = close(p->fd);

	free(p);
	return r;
}

static FILE *open_pipe(int fd, struct ev_loop *const *loop)
{
	struct pipe_in *p = xmalloc(sizeof(*p));
	FILE *f;

	p->fd = fd;
	p->loop = loop;
	f = fopencookie(p, "rb", (cookie_io_functions_t){ .read = pipe_read, .close = pipe_close });
	if (!f) {
		free(p);
		close(fd);
	}
	return f;
}

/* buf (READ_BUF bytes, -r only) must outlive the pcap handle. */
static pcap_t *open_input(const struct cap_opts *o, char *err, char *buf,
			  struct ev_loop *const *loop)
{
	pcap_t *h;

	if (o->read) {
		/* our own FILE with a 1 MiB buffer: libpcap's default reads 4 KiB a
		 * system call, a fifth of the time on a big file */
		int fd = strcmp(o->read, "-") ? open(o->read, O_RDONLY | O_CLOEXEC) : dup(0);
		struct stat st;
		FILE *f = NULL;

		if (fd >= 0 && !fstat(fd, &st) && !S_ISREG(st.st_mode))
			f = open_pipe(fd, loop);
		else if (fd >= 0 && !(f = fdopen(fd, "rb")))
			close(fd);
		if (!f) {
			snprintf(err, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
			return NULL;
		}
		/* glibc ignores the size unless it is given the buffer */
		setvbuf(f, buf, _IOFBF, READ_BUF);
		h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, err);
		if (!h)
			fclose(f);
		return h;
	}
	h = pcap_create(o->iface ? o->iface : "any", err);
	if (!h)
		return NULL;
	pcap_set_snaplen(h, (int)(o->snaplen ? o->snaplen : 262144));
	pcap_set_timeout(h, 100);
	pcap_set_buffer_size(h, 16 << 20);
	pcap_set_tstamp_precision(h, PCAP_TSTAMP_PRECISION_MICRO);
	/* people watching want each packet at once; a pipe wants the block ring */
	if (isatty(STDOUT_FILENO))
		pcap_set_immediate_mode(h, 1);
	if (pcap_activate(h) < 0) {
		snprintf(err, PCAP_ERRBUF_SIZE, "%s%s", pcap_geterr(h),
			 geteuid() ? " (capturing needs root or CAP_NET_RAW)" : "");
		pcap_close(h);
		return NULL;
	}
	return h;
}

static int set_filter(pcap_t *h, const char *filter)
{
	struct bpf_program prog;

	if (!*filter)
		return 0;
	if (pcap_compile(h, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return errorf(-EINVAL, "invalid filter '%s': %.80s", filter, pcap_geterr(h));
	if (pcap_setfilter(h, &prog) < 0) {
		pcap_freecode(&prog);
		return errorf(-EINVAL, "cannot set filter '%s': %s", filter, pcap_geterr(h));
	}
	pcap_freecode(&prog);
	return 0;
}

struct sinks {
	struct printer *pr;
	struct flow_table *ft;
	struct flow_out *fo;
	struct ipfix *ix;
	pcap_dumper_t *dump;
	int werr;		/* errno of the first failed write to dump */
};

struct cap_run {
	const struct cap_opts *o;
	pcap_t *h;
	int link;
	struct sinks s;
	struct cap_path *path;
	struct ev_loop *loop;
	struct ev_io io;	/* live: the capture's descriptor */
	struct ev_timer tick;	/* live: the flow clock, the IPFIX linger */
	struct ev_timer next;	/* file: the next batch */
	long seen;
	bool failed;		/* libpcap's read failed: pcap_geterr says why */
	bool signalled;		/* SIGINT or SIGTERM ended it */
	int loop_err;		/* errno: the loop could not run */
};

/* The latest time a packet can carry: 9999-12-31T23:59:59.999999Z, so
 * that every date printed has four digits of year and no sum of a time and
 * a timeout can overflow. */
#define TIME_MAX_US (253402300799LL * 1000000 + 999999)

/* A packet's time in microseconds since 1970. Capture files store times
 * without a sign (classic pcap: 32-bit seconds, up to 2106-02-07; pcapng:
 * 64-bit units), but libpcap up to 1.10 reads classic pcap's seconds into
 * a signed 32-bit field, so from 2038-01-19T03:14:08Z on they come out
 * negative, as dates in 1901 or 1902: those 32 bits are taken back as the
 * unsigned number they are. No format can say "before 1970", and nothing
 * later than TIME_MAX_US is kept either. */
static int64_t packet_time_us(const struct timeval *tv)
{
	int64_t sec = tv->tv_sec;

	if (sec < 0 && sec >= INT32_MIN)
		sec += 1LL << 32;
	if (sec < 0)
		return 0;
	if (sec > TIME_MAX_US / 1000000)
		return TIME_MAX_US;
	return sec * 1000000 + (tv->tv_usec >= 0 && tv->tv_usec < 1000000 ? tv->tv_usec : 0);
}

/* Up to BATCH packets down the path; true when more may be waiting. */
static bool read_some(struct cap_run *c)
{
	const struct cap_opts *o = c->o;
	struct pcap_pkthdr *hdr;
	const u_char *data;

	for (int k = 0; k < BATCH; k++) {
		int r;

		if (o->count && c->seen >= o->count)
			goto done;
		r = pcap_next_ex(c->h, &hdr, &data);
		if (r == 0)
			return false;	/* live: nothing waiting now */
		if (r == PCAP_ERROR_BREAK)
			goto done;	/* the end of the file */
		if (r < 0) {
			/* a read a signal cut short mid-record is the end asked for */
			c->failed = !c->signalled;
			goto done;
		}
		c->seen++;
		if (c->s.dump) {
			errno = 0;
			pcap_dump((u_char *)c->s.dump, hdr, data);
			if (ferror(pcap_dump_file(c->s.dump))) {
				c->s.werr = errno ? errno : EIO;	/* a full disk: stop, say so */
				goto done;
			}
			continue;
		}
		cap_path_frame(c->path, c->link, data, hdr->caplen, hdr->len,
			       packet_time_us(&hdr->ts));
	}
	return true;
done:
	ev_break(c->loop);
	return false;
}

static void on_packets(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	(void)l;
	(void)events;
	read_some(container_of(io, struct cap_run, io));
}

static void on_batch(struct ev_loop *l, struct ev_timer *t)
{
	if (read_some(container_of(t, struct cap_run, next)))
		ev_timer_in(l, t, 0, on_batch);
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void on_tick(struct ev_loop *l, struct ev_timer *t)
{
	struct cap_run *c = container_of(t, struct cap_run, tick);

	int64_t end = ev_now_us() + TICK_US / 4;
	bool more;

	/* what waits in the ring first: the clock may not pass a packet not
	 * yet read (a reader that fell behind, or was stopped, would end its
	 * flows early); while the ring does not empty, packets move it */
	while ((more = read_some(c)) && ev_now_us() < end)
		;
	if (c->s.ft && !more)
		flow_table_tick(c->s.ft, wall_us() - LAG_US);
	ipfix_tick(c->s.ix);	/* a waiting flow record goes out */
	ev_timer_in(l, t, TICK_US, on_tick);
}

/* The loop, with the signals that end it: made before the capture says
 * it listens, so a signal from then on ends it cleanly. 0 or -1. */
static int loop_open(struct cap_run *c, char *err)
{
	int r, fd;

	if (!(c->loop = ev_loop_new()))
		return -1;
	if ((r = ev_stop_on_signals(c->loop, &c->signalled)))
		goto fail;
	if (c->o->read) {
		ev_timer_in(c->loop, &c->next, 0, on_batch);
		return 0;
	}
	if (pcap_setnonblock(c->h, 1, err) < 0)
		goto fail_said;
	if ((fd = pcap_get_selectable_fd(c->h)) < 0) {
		r = -EOPNOTSUPP;
		goto fail;
	}
	if ((r = ev_io_add(c->loop, &c->io, fd, EPOLLIN, on_packets)))
		goto fail;
	ev_timer_in(c->loop, &c->tick, TICK_US, on_tick);
	return 0;
fail:
	snprintf(err, PCAP_ERRBUF_SIZE, "%s", strerror(-r));
fail_said:
	ev_loop_free(c->loop);
	c->loop = NULL;
	return -1;
}

static void stats(pcap_t *h, const struct cap_opts *o, long seen)
{
	struct pcap_stat st;

	if (o->read) {
		if (o->write)
			warnf("%ld packets written to '%s'", seen, o->write);
		return;
	}
	if (pcap_stats(h, &st) == 0)
		warnf("%ld packet%s captured, %u received by filter, %u dropped by kernel%s", seen,
		      seen == 1 ? "" : "s",
		      st.ps_recv, st.ps_drop, st.ps_ifdrop ? ", some dropped by the interface" : "");
}

/* Open the input, set the filter and the dump file; NULL after saying why. */
static pcap_t *prepare(const struct cap_opts *o, char *rbuf, struct sinks *s, int *status,
		       struct ev_loop *const *loop)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *h = open_input(o, err, rbuf, loop);

	*status = 2;
	if (!h) {
		warnf("cannot %s '%s': %s", o->read ? "read" : "capture on",
			  o->read ? o->read : o->iface ? o->iface : "any", err);
		return NULL;
	}
	if (!pkt_link_known(pcap_datalink(h)) && !o->write)
		warnf("link type %d is not decoded: packets will show as 'unknown link'",
		      pcap_datalink(h));
	if (set_filter(h, o->filter)) {
		warnf("%s", error_msg());
		pcap_close(h);
		return NULL;
	}
	if (o->write && !(s->dump = pcap_dump_open(h, o->write))) {
		/* libpcap says "NAME: reason", cut at 256 bytes: the name is quoted
		 * (and cut) already, and a long one leaves only fopen's errno */
		int e = errno;
		const char *why = pcap_geterr(h);
		size_t n = strlen(o->write), w = strlen(why);

		if (!strncmp(why, o->write, n) && !strncmp(why + n, ": ", 2))
			why += n + 2;
		else if (!strncmp(why, o->write, w < n ? w : n))
			why = strerror(e ? e : EIO);
		warnf("cannot write '%s': %s", o->write, why);
		pcap_close(h);
		return NULL;
	}
	/* the file's header now: a file that cannot be written (/dev/full, a
	 * full disk) is refused before "listening on", in one line */
	errno = 0;
	if (s->dump && (pcap_dump_flush(s->dump) || ferror(pcap_dump_file(s->dump)))) {
		warnf("cannot write '%s': %s", o->write, strerror(errno ? errno : EIO));
		pcap_dump_close(s->dump);
		s->dump = NULL;
		pcap_close(h);
		return NULL;
	}
	*status = 0;
	return h;
}

/* --flows with --ipfix: each record printed and exported */
static void both_emit(struct flow_rec *f, bool interim, void *arg)
{
	struct sinks *s = arg;

	flow_out_emit(f, interim, s->fo);
	ipfix_emit(f, interim, s->ix);
}

int capture_run(const struct cap_opts *o, int *out_err)
{
	struct cap_run c = { .o = o };
	struct sinks *s = &c.s;
	int r, werr = 0;
	uint64_t too_deep;
	size_t evicted = 0;
	char err[PCAP_ERRBUF_SIZE], sent[256] = "";
	char *rbuf = o->read ? xbig_zalloc(READ_BUF, 1) : NULL;	/* one huge page, not 256 faults */

	*out_err = 0;
	/* the collector's socket before the input: an exporter that cannot be
	 * made refuses the run before an interface is opened */
	if (o->ipfix && !(s->ix = ipfix_new(o))) {
		warnf("%s", error_msg());
		xbig_free(rbuf);
		return 2;
	}
	if (!(c.h = prepare(o, rbuf, s, &r, &c.loop))) {
		ipfix_discard(s->ix);
		xbig_free(rbuf);
		return r;
	}
	c.link = pcap_datalink(c.h);
	if (loop_open(&c, err)) {
		warnf("cannot %s '%s': %s", o->read ? "read" : "capture on",
		      o->read ? o->read : o->iface ? o->iface : "any", err);
		if (s->dump)
			pcap_dump_close(s->dump);
		ipfix_discard(s->ix);
		pcap_close(c.h);
		xbig_free(rbuf);
		return 2;
	}
	if (!o->read) {
		const char *lt = pcap_datalink_val_to_name(c.link);

		/* as tcpdump says it: from here on, packets are seen */
		warnf("listening on %s, link-type %s, snapshot length %d bytes",
		      o->iface ? o->iface : "any", lt ? lt : "?", pcap_snapshot(c.h));
	}
	if (o->flows) {
		if (o->print_flows)
			s->fo = flow_out_new(o);
		s->ft = s->ix && s->fo ? flow_table_new(o, both_emit, s)
			: s->ix ? flow_table_new(o, ipfix_emit, s->ix)
				: flow_table_new(o, flow_out_emit, s->fo);
	} else if (!o->write) {
		s->pr = printer_new(stdout, o);
	}
	c.path = cap_path_new(o, s->ft, s->pr);
	if ((r = ev_run(c.loop)))
		c.loop_err = -r;
	ev_loop_free(c.loop);
	c.loop = NULL;	/* the pipe reader must not wait on it now */
	/* what was read is shown even when the file turns out to be broken */
	too_deep = cap_path_too_deep(c.path);
	cap_path_free(c.path);
	if (s->ft) {
		flow_table_flush(s->ft);
		if (s->fo)
			werr = flow_out_close(s->fo, s->ft);
		evicted = flow_table_evicted(s->ft);
		ipfix_close(s->ix, sent, sizeof(sent));
		flow_table_free(s->ft);
	}
	if (s->pr)
		werr = printer_free(s->pr);
	errno = 0;
	if (s->dump && !s->werr && (pcap_dump_flush(s->dump) || ferror(pcap_dump_file(s->dump))))
		s->werr = errno ? errno : EIO;
	if (s->werr) {
		werr = s->werr;
		c.seen = -1;	/* nothing may claim it was written */
	}
	if (s->dump)
		pcap_dump_close(s->dump);
	r = 0;
	if (c.failed || c.loop_err) {
		warnf("'%s': %s (after %ld packets)", o->read ? o->read : o->iface ? o->iface : "any",
		      c.failed ? pcap_geterr(c.h) : strerror(c.loop_err), c.seen);
		r = 2;
	} else if (werr && o->write) {
		warnf("cannot write '%s': %s", o->write, strerror(werr > 0 ? werr : EIO));
		r = 2;
	} else if (werr) {
		*out_err = werr;
	} else {
		/* the notices of a run that ended well: one that failed says
		 * one line, the error */
		if (c.seen >= 0)
			stats(c.h, o, c.seen);
		if (evicted)
			warnf("%zu flows were %s early to stay within --max-flows", evicted,
			      s->fo ? "written" : "exported");
		if (*sent)
			warnf("%s", sent);
		if (too_deep)
			warnf("%llu packet%s came in more than %d nested tunnels: what the "
			      "innermost carried was not read", (unsigned long long)too_deep,
			      too_deep == 1 ? "" : "s", PKT_MAX_TUNNELS);
	}
	pcap_close(c.h);
	xbig_free(rbuf);
	return r;
}

/* -D: the interfaces a live capture can use, as libpcap finds them */
int capture_list_interfaces(const struct cap_opts *o, int *out_err)
{
	static const struct out_col cols[] = {
		{ "INTERFACE", 0 }, { "STATE", 0 }, { "ADDRESSES", 0 }, { "DESCRIPTION", 0 },
	};
	char err[PCAP_ERRBUF_SIZE];
	pcap_if_t *all = NULL;
	struct out *out;

	if (pcap_findalldevs(&all, err))
		{
		warnf("cannot list interfaces: %s", err);
		return 2;
	}
	out = cli_out(&o->cc);
	out_columns(out, cols, 4);
	for (pcap_if_t *d = all; d; d = d->next) {
		struct buf addrs = BUF_INIT(4096);
		bool up = d->flags & PCAP_IF_UP, running = d->flags & PCAP_IF_RUNNING;

		out_record_begin(out);
		out_kv_str(out, "name", d->name);
		out_kv_bool(out, "up", up);
		out_kv_bool(out, "running", running);
		out_kv_bool(out, "loopback", d->flags & PCAP_IF_LOOPBACK);
		out_kv_str(out, "description", d->description);
		out_arr_begin(out, "addrs");
		for (pcap_addr_t *a = d->addresses; a; a = a->next) {
			char t[ADDR_STRLEN];
			int fam = a->addr ? a->addr->sa_family : 0;

			if (fam != AF_INET && fam != AF_INET6)
				continue;
			addr_format(fam, fam == AF_INET
				    ? (const void *)&((struct sockaddr_in *)a->addr)->sin_addr
				    : (const void *)&((struct sockaddr_in6 *)a->addr)->sin6_addr, t);
			out_kv_str(out, NULL, t);
			buf_addf(&addrs, "%s%s", addrs.len ? " " : "", t);
		}
		out_arr_end(out);
		out_cell_str(out, 0, d->name);
		out_cell_str(out, 1, d->flags & PCAP_IF_LOOPBACK ? (up ? "up, loopback" : "down, loopback")
				     : !up ? "down" : running ? "up, running" : "up");
		out_cell_str(out, 2, addrs.len ? buf_str(&addrs) : "-");
		out_cell_str(out, 3, d->description ? d->description : "-");
		out_record_end(out);
		buf_free(&addrs);
	}
	pcap_freealldevs(all);
	*out_err = out_close(out);
	return 0;
}

