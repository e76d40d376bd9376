/*
 * nat.h - portkit nat: the kernel's connection-tracking table, the session
 * table a Linux router keeps for everything that passes through it, with
 * its address and port translations spelled out (cmd.c). The table itself
 * is read by core/conntrack.c.
 */
#ifndef PORTKIT_NAT_H
#define PORTKIT_NAT_H

#include "core/host/conntrack.h"

#endif
