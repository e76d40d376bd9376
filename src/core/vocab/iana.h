/*
 * iana.h - turn one row of IANA's service-names-port-numbers CSV into a
 * registry record. Used by the build-time generator and by the tests.
 *
 * Columns: Service Name, Port Number, Transport Protocol, Description, ...
 * The port column is empty, "N" or "A-B"; the protocol column is empty or
 * tcp/udp/sctp/dccp. Descriptions have their whitespace (including the
 * newlines that quoted fields may hold) collapsed to single spaces.
 */
#ifndef PORTKIT_IANA_H
#define PORTKIT_IANA_H

#include <stdbool.h>

#include "core/base/buf.h"
#include "core/wire/csv.h"

#define IANA_COLUMNS 12

struct iana_rec {
	const char *name;	/* borrowed from the row */
	const char *desc;	/* borrowed from desc_store */
	bool has_port;
	unsigned lo;
	unsigned hi;
	unsigned proto;		/* one PROTO_ bit, PROTO_NONE when empty */
};

/* True when row is the CSV header line. */
bool iana_is_header(const struct csv_row *row);
/* 0, or -EINVAL with error_msg() naming the line and the problem. */
int iana_parse_row(const struct csv_row *row, struct iana_rec *rec,
		   struct buf *desc_store);

#endif
