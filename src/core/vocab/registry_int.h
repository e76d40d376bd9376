/*
 * registry_int.h - the tables tools/genreg writes from data/ at build time.
 * Private to registry.c and the generator; everyone else uses registry.h.
 *
 * reg_port_index: entries with a single port, sorted by port, then protocol,
 * then registry order. reg_range_index: entries with a port range.
 * reg_name_index: entries with a name, sorted by lower-case name, then order.
 */
#ifndef PORTKIT_REGISTRY_INT_H
#define PORTKIT_REGISTRY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/vocab/registry.h"

extern const char reg_pool[];
extern const struct reg_entry reg_entries[];
extern const size_t reg_nentries;
extern const uint16_t reg_port_index[];
extern const size_t reg_port_index_n;
extern const uint16_t reg_range_index[];
extern const size_t reg_range_index_n;
extern const uint16_t reg_range_maxhi[];
extern const uint16_t reg_name_index[];
extern const size_t reg_name_index_n;

#endif
