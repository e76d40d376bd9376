/*
 * fuzz_policy - libFuzzer harness for the audit's readers of outside text:
 * the policy file and the baseline file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 64);
	struct policy p;
	struct listener *v;
	size_t n;

	memcpy(text, data, size);
	text[size] = '\0';
	if (!policy_parse("fuzz", text, &p))
		policy_free(&p);
	/* the baseline reader also sees the input behind a valid header */
	if (!baseline_parse("fuzz", text, &v, &n))
		free(v);
	memmove(text + 27, text, size + 1);
	memcpy(text, "# portkit audit baseline 1\n", 27);
	if (!baseline_parse("fuzz", text, &v, &n))
		free(v);
	free(text);
	return 0;
}
