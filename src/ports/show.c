/*
 * show.c - print port records: a table for people, NDJSON for programs.
 *
 * Table: PORT  SERVICE  KNOWN AS  CATEGORY  DESCRIPTION, and the note on
 * the line below (once per port when tcp and udp share it).
 */
#include <stdio.h>
#include <string.h>

#include "core/vocab/ephemeral.h"
#include "ports/ports.h"
#include "core/base/banned.h"

enum { COL_PORT, COL_SERVICE, COL_KNOWN, COL_CATEGORY, COL_DESC };

static const struct out_col cols[] = {
	{ "PORT", 0 }, { "SERVICE", 0 }, { "KNOWN AS", 0 }, { "CATEGORY", 0 },
	{ "DESCRIPTION", 0 },
};

/* What to say about a port nobody registered, from where it lies. */
static const char *unassigned_note(const struct port_rec *r, bool eph)
{
	if (!r->has_port)
		return "Registered as a service name without a port.";
	if (r->reg && !strncmp(reg_desc(r->reg), "Reserved", 8))
		return "Reserved by IANA: not assigned to any service, and not free to take "
		       "either. 'portkit who' shows who uses it here.";
	if (eph)
		return "No service is registered here, and it lies in this host's "
		       "ephemeral range: most likely the client side of an outgoing "
		       "connection.";
	switch (port_category(r->port)) {
	case CAT_DYNAMIC:
		return "Dynamic ports (49152-65535) are never registered: they serve "
		       "client sides and private services. 'portkit who' shows who uses it.";
	case CAT_REGISTERED:
		return "Unassigned by IANA, so free for any application: only the "
		       "listener itself tells what it is ('portkit who').";
	default:
		return "Unassigned or reserved by IANA: nothing standard should use it.";
	}
}

static const char *service_of(const struct port_rec *r)
{
	return r->reg && r->reg->name ? reg_name(r->reg) : NULL;
}

static void print_json(struct out *o, const struct port_rec *r, bool eph, bool reserved)
{
	const char *desc = r->reg ? reg_desc(r->reg) : (r->cur ? NULL : "Unassigned");
	const char *note = r->cur ? r->cur->note : (service_of(r) ? NULL : unassigned_note(r, eph));

	if (r->has_port)
		out_kv_uint(o, "port", r->port);
	else
		out_kv_null(o, "port");
	out_kv_str(o, "proto", r->proto ? proto_name(r->proto) : NULL);
	out_kv_str(o, "service", service_of(r));
	out_kv_str(o, "description", desc && *desc ? desc : NULL);
	out_kv_str(o, "common_name", r->cur ? r->cur->name : NULL);
	if (r->has_port) {
		out_kv_str(o, "category", category_name(port_category(r->port)));
		out_kv_bool(o, "ephemeral_here", eph);
		out_kv_bool(o, "reserved_here", reserved);
	} else {
		out_kv_null(o, "category");
		out_kv_null(o, "ephemeral_here");
		out_kv_null(o, "reserved_here");
	}
	out_kv_str(o, "note", note);
	/* every record has every key: null when it does not apply */
	if (r->reg && r->reg->lo != r->reg->hi) {
		char range[16];

		snprintf(range, sizeof(range), "%u-%u", r->reg->lo, r->reg->hi);
		out_kv_str(o, "registered_range", range);
	} else {
		out_kv_null(o, "registered_range");
	}
}

static void print_row(struct out *o, const struct port_rec *r, bool eph,
		      bool reserved, bool same_note)
{
	const char *svc = service_of(r);
	const char *proto = r->proto ? proto_name(r->proto) : NULL;
	const char *desc = r->reg ? reg_desc(r->reg) : NULL;

	if (!r->has_port)
		out_cell(o, COL_PORT, "(no port)");
	else if (proto)
		out_cell(o, COL_PORT, "%u/%s", r->port, proto);
	else
		out_cell(o, COL_PORT, "%u", r->port);
	out_cell(o, COL_SERVICE, "%s", svc ? svc : "-");
	out_cell(o, COL_KNOWN, "%s", r->cur ? r->cur->name : "-");
	if (r->cur)
		out_cell_style(o, COL_KNOWN, STYLE_BOLD);
	if (r->has_port)
		out_cell(o, COL_CATEGORY, "%s%s%s", category_name(port_category(r->port)),
			 eph ? ", ephemeral here" : "", reserved ? ", reserved here" : "");
	if (desc && *desc && r->reg->lo != r->reg->hi)
		out_cell(o, COL_DESC, "%s (ports %u-%u)", desc, r->reg->lo, r->reg->hi);
	else if (desc && *desc)
		out_cell(o, COL_DESC, "%s", desc);
	else
		out_cell(o, COL_DESC, "%s", r->cur ? "(not in the IANA registry)" : "Unassigned");
	if (!svc && !r->cur)
		out_cell_style(o, COL_DESC, STYLE_DIM);
	if (r->cur && !same_note)
		out_note(o, "%s", r->cur->note);
	else if (!r->cur && !svc)
		out_note(o, "%s", unassigned_note(r, eph));
}

void ports_print(struct out *o, const struct port_list *l)
{
	const struct ephemeral *e = ephemeral_here();

	out_columns(o, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < l->n; i++) {
		const struct port_rec *r = &l->v[i];
		bool eph = r->has_port && ephemeral_contains(e, r->port);
		bool reserved = r->has_port && ephemeral_reserved(e, r->port);
		bool same_note = i > 0 && l->v[i - 1].cur == r->cur && l->v[i - 1].port == r->port;

		out_record_begin(o);
		if (out_is_json(o))
			print_json(o, r, eph, reserved);
		else
			print_row(o, r, eph, reserved, same_note);
		out_record_end(o);
	}
}
