#include <errno.h>
#include <nftables/libnftables.h>
#include <string.h>

#include "core/log.h"
#include "core/nft.h"
#include "core/banned.h"

int nft_apply(const char *text)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int r;

	if (!nft)
		return errorf(-ENOMEM, "cannot start libnftables");
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	r = nft_run_cmd_from_buffer(nft, text);
	if (r) {
		const char *e = nft_ctx_get_error_buffer(nft);

		r = errorf(-EINVAL, "nftables: %.*s", (int)strcspn(e ? e : "", "\n"), e ? e : "");
	}
	nft_ctx_free(nft);
	return r;
}
