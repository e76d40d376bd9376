/*
 * listeners.c - what is listening: TCP sockets in LISTEN and bound UDP
 * sockets, one entry per (namespace, protocol, address, port) with every
 * process holding any of its sockets (SO_REUSEPORT groups merge), and how
 * far each is exposed: loopback only, all interfaces, or one address.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "audit/audit.h"
#include "core/vocab/port.h"
#include "core/base/buf.h"
#include "core/base/xalloc.h"
#include "core/base/banned.h"

static bool is_listener(const struct sock_rec *r)
{
	if (r->proto == IPPROTO_TCP)
		return r->state == SS_LISTEN;
	return r->state == SS_CLOSE && r->lport != 0;
}

static int cmp_listener(const void *pa, const void *pb)
{
	const struct listener *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->netns, b->netns)))
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

static void add_owner(struct listener *l, const struct proc_owner *p)
{
	for (size_t i = 0; i < l->nown; i++)
		if (l->own[i].pid == p->pid)
			return;
	if (l->nown < MAX_OWNERS)
		l->own[l->nown++] = *p;
}

/* What the port is, by the port vocabulary: a listener is the server end. */
void listener_name(struct listener *l)
{
	struct port_info pi;

	port_info((uint16_t)l->port, l->proto, &pi);
	l->service = pi.service;
	l->cur = pi.curated;
	l->rule_port = (uint16_t)l->port;
}

void listener_judge(struct listener *l)
{
	struct port_info pi;
	uint16_t usual;

	if (!l->answers[0] || port_parse_name(l->answers, l->proto, &usual))
		return;
	port_info(usual, l->proto, &pi);
	l->service = pi.service;
	l->cur = pi.curated;
	l->rule_port = usual;
}

static void fill(struct listener *l, const struct snapshot *s, const struct sock_rec *r)
{
	const struct proc_owner *ow[MAX_OWNERS];
	size_t n = owners_get(s->owners, r->inode, ow, MAX_OWNERS);
	const char *ns = snapshot_netns(s, r->ns);

	memset(l, 0, sizeof(*l));
	l->proto = proto_from_ip(r->proto);
	l->family = r->family;
	memcpy(l->addr, r->laddr, 16);
	addr_format(r->family, r->laddr, l->addr_text);
	l->port = r->lport;
	l->exposure = addr_is_loopback(r->family, r->laddr) ? EXP_LOOPBACK
		      : addr_is_any(r->family, r->laddr) ? EXP_ALL : EXP_ADDRESS;
	listener_name(l);
	for (size_t i = 0; i < n && i < MAX_OWNERS; i++)
		add_owner(l, ow[i]);
	snprintf(l->netns, sizeof(l->netns), "%s", ns ? ns : "");
	l->owners_known = s->owners && !owners_unreadable(s->owners);
	l->verified = -1;
}

size_t collect_listeners(const struct snapshot *s, struct listener **out)
{
	struct listener *v = xcalloc(s->t.n ? s->t.n : 1, sizeof(*v));
	size_t n = 0, k = 0;

	for (size_t i = 0; i < s->t.n; i++)
		if (is_listener(&s->t.v[i]))
			fill(&v[n++], s, &s->t.v[i]);
	qsort(v, n, sizeof(*v), cmp_listener);
	for (size_t i = 0; i < n; i++) {
		if (k && !cmp_listener(&v[k - 1], &v[i])) {
			for (size_t j = 0; j < v[i].nown; j++)
				add_owner(&v[k - 1], &v[i].own[j]);
			continue;
		}
		v[k++] = v[i];
	}
	*out = v;
	return k;
}

void listener_owners_text(const struct listener *l, char *buf, size_t size)
{
	size_t k = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->nown && k < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%s[%d]", i ? "," : "",
				      l->own[i].comm, l->own[i].pid);
	if (!l->nown)
		snprintf(buf, size, "-");
}
