#include <errno.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/host/nft.h"
#include "core/base/banned.h"

struct nft_session {
	struct nft_ctx *ctx;	/* its netlink socket owns the session's tables */
};

static struct nft_ctx *ctx_new(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (nft) {
		nft_ctx_buffer_output(nft);
		nft_ctx_buffer_error(nft);
	}
	return nft;
}

/* text through nft, on ctx (a session's) or on a context of its own */
static int run_on(struct nft_ctx *ctx, const char *text, bool dry, char **out)
{
	struct nft_ctx *nft = ctx ? ctx : ctx_new();
	int r;

	if (!nft)
		return errorf(-ENOMEM, "cannot start libnftables");
	nft_ctx_set_dry_run(nft, dry);
	r = nft_run_cmd_from_buffer(nft, text);
	if (r) {
		const char *e = nft_ctx_get_error_buffer(nft);

		r = errorf(-EINVAL, "nftables: %.*s", (int)strcspn(e ? e : "", "\n"), e ? e : "");
	} else if (out) {
		const char *o = nft_ctx_get_output_buffer(nft);

		*out = strdup(o ? o : "");
	}
	if (!ctx)
		nft_ctx_free(nft);
	return r;
}

struct nft_session *nft_session_open(void)
{
	struct nft_session *s = calloc(1, sizeof(*s));

	if (s && !(s->ctx = ctx_new())) {
		free(s);
		s = NULL;
	}
	return s;
}

int nft_session_apply(struct nft_session *s, const char *text)
{
	return run_on(s->ctx, text, false, NULL);
}

void nft_session_close(struct nft_session *s)
{
	if (s) {
		nft_ctx_free(s->ctx);
		free(s);
	}
}

int nft_apply(const char *text)
{
	return run_on(NULL, text, false, NULL);
}

int nft_check(const char *text)
{
	return run_on(NULL, text, true, NULL);
}

char *nft_list(const char *cmd)
{
	char *out = NULL;

	return run_on(NULL, cmd, false, &out) ? NULL : out;
}
