/*
 * run.c - the audit's pipeline short of printing: snapshot -> listeners ->
 * (verify) -> rules and policy -> baseline compare and save. The findings
 * it returns own copies of everything they print (free f->v); report.c
 * prints them.
 */
#include <stdlib.h>

#include "audit/audit.h"
#include "core/base/log.h"
#include "core/base/banned.h"

int audit_collect(const struct audit_opts *o, const struct policy *p, struct findings *f,
		  size_t *nlisteners)
{
	struct diag_query q = { .tcp = true, .udp = true, .v4 = true, .v6 = true,
				.states = (1u << SS_LISTEN) | (1u << SS_CLOSE) };
	struct snapshot s;
	struct listener *v = NULL;
	size_t n;
	int r = snapshot_take(&q, o->netns, SNAP_OWNERS, &s);

	if (r) {
		snapshot_free(&s);
		return r;
	}
	n = collect_listeners(&s, &v);
	snapshot_free(&s);
	if (!o->no_probe) {
		identify_listeners(v, n);
		for (size_t i = 0; i < n; i++)
			listener_judge(&v[i]);
	}
	if (o->verify)
		verify_listeners(v, n);
	for (size_t i = 0; i < n; i++) {
		size_t first = f->n;

		v[i].numeric = o->cc.numeric && !o->cc.json;
		v[i].allowed = p && policy_allows(p, &v[i]);
		apply_rules(f, &v[i]);
		if (p)
			policy_apply(p, &v[i], f, first);
	}
	if (o->baseline) {
		size_t first = f->n;

		if ((r = baseline_compare(o->baseline, v, n, f)))
			goto done;
		if (p)
			policy_apply(p, NULL, f, first);
	}
	if (o->save_baseline)
		r = baseline_save(o->save_baseline, v, n);
done:
	free(v);
	*nlisteners = n;
	return r;
}

enum severity audit_fail_on(const struct audit_opts *o, const struct policy *p)
{
	if (o->fail_on >= 0)
		return (enum severity)o->fail_on;
	if (p && p->fail_on >= 0)
		return (enum severity)p->fail_on;
	return SEV_MEDIUM;
}
