/*
 * list.h - an intrusive doubly-linked list (the kernel's list_head, in
 * brief): the links live in the listed object, found again with
 * container_of. A head is a list node that is its own neighbour when the
 * list is empty, so adding and removing never test for the ends.
 */
#ifndef PORTKIT_LIST_H
#define PORTKIT_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
	struct list *prev, *next;
};

#define LIST_INIT(h) { &(h), &(h) }
#define list_entry(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

static inline void list_init(struct list *h)
{
	h->prev = h->next = h;
}

static inline bool list_empty(const struct list *h)
{
	return h->next == h;
}

static inline void list_insert(struct list *n, struct list *prev, struct list *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

/* n first (most recent) / last in h */
static inline void list_add(struct list *h, struct list *n)
{
	list_insert(n, h, h->next);
}

static inline void list_add_tail(struct list *h, struct list *n)
{
	list_insert(n, h->prev, h);
}

/* Take n out; it is then a list of its own (list_del again is harmless). */
static inline void list_del(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

/* n to the front of h (an LRU's touch) */
static inline void list_move(struct list *h, struct list *n)
{
	list_del(n);
	list_add(h, n);
}

/* The first or last node, or NULL when empty. */
static inline struct list *list_first(const struct list *h)
{
	return list_empty(h) ? NULL : h->next;
}

static inline struct list *list_last(const struct list *h)
{
	return list_empty(h) ? NULL : h->prev;
}

/* Every node, the current one free to be deleted. */
#define list_each_safe(pos, tmp, h) \
	for ((pos) = (h)->next, (tmp) = (pos)->next; (pos) != (h); (pos) = (tmp), (tmp) = (pos)->next)

#endif
