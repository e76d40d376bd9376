/*
 * test_nft.c - core/host/nft's sessions, in a network namespace of a
 * child's own: a table with the owner flag can be changed through its
 * session only, and is gone once the session closes.
 */
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "core/host/nft.h"

static int child(void)
{
	struct nft_session *s;
	char *l;

	if (unshare(CLONE_NEWNET))
		return 10;
	if (!(s = nft_session_open()))
		return 11;
	if (nft_session_apply(s, "table inet pkt { flags owner; set k { type inet_service; }; }"))
		return 12;
	if (!(l = nft_list("list table inet pkt")))
		return 13;
	free(l);
	if (!nft_apply("add element inet pkt k { 5 }"))	/* another socket: refused */
		return 14;
	if (nft_session_apply(s, "add element inet pkt k { 5 }"))
		return 15;
	nft_session_close(s);
	if ((l = nft_list("list table inet pkt"))) {	/* the kernel removed it */
		free(l);
		return 16;
	}
	nft_session_close(NULL);
	return 0;
}

TEST(nft_session_owns_its_tables_until_it_closes)
{
	if (geteuid() != 0) {
		printf("  (skipped: needs root)\n");
		return;
	}
	CHECK_INT(unit_in_child(child), 0);
}
