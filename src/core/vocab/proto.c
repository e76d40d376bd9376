/* proto.c - protocol names <-> PROTO_ bits (kept apart from the generated
 * tables so that the build-time generator can use it). */
#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "core/vocab/registry.h"
#include "core/base/banned.h"

static const struct {
	const char *name;
	unsigned bits;
} protos[] = {
	{ "tcp", PROTO_TCP },
	{ "udp", PROTO_UDP },
	{ "sctp", PROTO_SCTP },
	{ "dccp", PROTO_DCCP },
	{ "all", PROTO_ALL },
};

const char *proto_name(unsigned proto)
{
	for (size_t i = 0; i < 4; i++)
		if (protos[i].bits == proto)
			return protos[i].name;
	return NULL;
}

int proto_parse(const char *s, unsigned *bits)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcasecmp(s, protos[i].name)) {
			*bits = protos[i].bits;
			return 0;
		}
	}
	return -EINVAL;
}
