/*
 * serve.h - portkit serve: responders that speak enough of a protocol for a
 * client, nmap -sV and portkit scan --sv to recognise it.
 *
 * The engine (engine.c) owns the sockets and the one event loop: listeners,
 * connections, idle timers, FTP data channels, the connection log. A
 * responder (responders.c, binary.c, smb.c, dns.c; tls.c for RDP's TLS)
 * owns no socket: it sees a connection's bytes through its input() and
 * answers by appending to c->out, so the same code runs under the fuzzer
 * with no network at all. What a responder
 * needs from the engine (a passive FTP data port) goes through struct
 * serve_ops, which the fuzzer stubs.
 *
 * Memory: an idle connection is its struct conn (a few hundred bytes);
 * input that does not yet make a whole request is kept in c->in (bounded by
 * IN_MAX), output the socket did not take in c->out (bounded by OUT_MAX).
 */
#ifndef PORTKIT_SERVE_H
#define PORTKIT_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vocab/addr.h"
#include "core/base/buf.h"
#include "core/base/cli.h"
#include "core/base/ev.h"
#include "core/base/list.h"
#include "core/base/out.h"

#define IN_MAX 16384		/* a request line, headers, a DNS message */
#define OUT_MAX (1 << 20)	/* an answer the client is slow to read */

enum { SV_TCP = 1, SV_UDP = 2 };

struct conn;

/* What a responder may ask of the engine. */
struct serve_ops {
	/* Open a passive data port on the connection's local address for one
	 * transfer; returns the port, or 0 with nothing opened. */
	uint16_t (*data_open)(struct conn *c);
	/* Send bytes over the data port once a client is on it, then close it
	 * and append `done` to the control connection's output. */
	void (*data_send)(struct conn *c, const void *p, size_t n, const char *done);
};

struct responder {
	const char *name;	/* "http": what the spec and the log call it */
	uint16_t port;		/* its usual port, for "serve http" */
	unsigned transports;	/* SV_TCP, SV_UDP */
	/* The server speaks first (FTP, SSH, SMTP, ...); may be NULL. */
	void (*greet)(struct conn *c);
	/* Bytes in c->in (n of them): consume what makes whole requests,
	 * answer in c->out; return the bytes consumed. Set c->closing to end
	 * the connection once the output is sent. */
	size_t (*input)(struct conn *c, const uint8_t *d, size_t n);
	/* One UDP datagram in, at most one out (into out, *outlen). */
	void (*datagram)(const struct conn *c, const uint8_t *d, size_t n, uint8_t *out,
			 size_t *outlen, size_t outmax);
	/* The connection ends: free what the responder hung on it (c->tls);
	 * may be NULL. */
	void (*end)(struct conn *c);
};

/* Names and addresses the DNS responder answers for ("server1" A ...). */
struct dns_record {
	char name[64];
	struct endpoint addr;	/* family and address; port unused */
};

struct serve_opts {
	struct cli_common cc;
	struct serve_spec {
		const struct responder *r;
		uint16_t port;
		unsigned transports;
	} spec[64];
	size_t nspec;
	struct endpoint bind;		/* family 0: every address (::, dual stack) */
	struct dns_record dns[64];
	size_t ndns;
	unsigned idle_ms;		/* a connection with nothing to say ends */
	long count;			/* stop after this many connections (0: never) */
	bool all_ports;			/* every TCP port nothing listens on (nftables) */
	const char *hostname;		/* in greetings and pages */
};

struct conn {
	struct ev_io io;
	struct ev_timer idle;
	struct serve_engine *eng;
	const struct responder *r;
	const struct serve_ops *ops;
	const struct serve_opts *o;
	struct endpoint local, peer;
	int64_t start_ms;
	uint64_t bytes_in, bytes_out;
	struct buf in;			/* input not yet consumed */
	struct buf out;			/* output not yet written */
	bool closing;			/* end once out is written */
	bool want_out;			/* EPOLLOUT is on */
	uint8_t state;			/* the responder's own */
	uint8_t tries;
	struct ftp_data *data;		/* FTP passive channel, or NULL */
	struct serve_tls *tls;		/* RDP after it chose TLS, or NULL */
	struct list link;		/* the engine's list, to end them all */
};

/* spec.c: 0, or -errno with error_msg() */
/* PROTO:PORT, PROTO or PORT, each with an optional /tcp or /udp */
int serve_spec_add(struct serve_opts *o, const char *arg);
/* A numeric IPv4 or IPv6 address (--bind, --dns), port 0 */
int serve_addr_parse(const char *s, struct endpoint *e);
/* --dns NAME=ADDR: one record more (at most 64) */
int serve_dns_add(struct serve_opts *o, const char *name_eq_addr);
/* --hosts FILE: "ADDR NAME..." lines as /etc/hosts has them (loopback
 * addresses and comments skipped); every name a DNS record */
int serve_hosts_load(struct serve_opts *o, const char *path);
/* --list: the responders, their usual ports and transports */
void serve_list(struct out *o);

/* responders.c */
const struct responder *responder_find(const char *name);
/* The responder for a bare port: its registered service's, or NULL. */
const struct responder *responder_for_port(uint16_t port);
/* --all-ports: a port with no responder of its own gets this one: a line
 * that says which port was reached, then close */
extern const struct responder banner_responder;
size_t responder_count(void);
const struct responder *responder_at(size_t i);
/* Append to c->out (bounded; a full buffer drops the rest and closes). */
void conn_put(struct conn *c, const void *p, size_t n);
void conn_putf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dns.c: one DNS message in (without TCP's length), the answer out */
size_t dns_answer(const struct serve_opts *o, const uint8_t *q, size_t n, uint8_t *out,
		  size_t outmax);

/* engine.c */
int serve_run(const struct serve_opts *o);

#endif
