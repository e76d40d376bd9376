/*
 * fuzz_forward_config - libFuzzer harness for the forwarding config parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forward/forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct fwd_config c;

	memcpy(text, data, size);
	text[size] = '\0';
	if (!fwd_config_parse("fuzz", text, &c))
		free(c.rules);
	free(text);
	return 0;
}
