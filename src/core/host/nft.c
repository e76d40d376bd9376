#include <errno.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/host/nft.h"
#include "core/base/banned.h"

static int run(const char *text, bool dry, char **out)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int r;

	if (!nft)
		return errorf(-ENOMEM, "cannot start libnftables");
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	nft_ctx_set_dry_run(nft, dry);
	r = nft_run_cmd_from_buffer(nft, text);
	if (r) {
		const char *e = nft_ctx_get_error_buffer(nft);

		r = errorf(-EINVAL, "nftables: %.*s", (int)strcspn(e ? e : "", "\n"), e ? e : "");
	} else if (out) {
		const char *o = nft_ctx_get_output_buffer(nft);

		*out = strdup(o ? o : "");
	}
	nft_ctx_free(nft);
	return r;
}

int nft_apply(const char *text)
{
	return run(text, false, NULL);
}

int nft_check(const char *text)
{
	return run(text, true, NULL);
}

char *nft_list(const char *cmd)
{
	char *out = NULL;

	return run(cmd, false, &out) ? NULL : out;
}
