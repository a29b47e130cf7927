/*
 * See probe_heap.h.  Every move of a slot goes through set(), which
 * writes the item's new place into it: the places stay right after every
 * operation, which the probe engine relies on to find a guest's slot.
 */
#include <errno.h>
#include <stdlib.h>

#include "daemon/probe_heap.h"

static void set(struct probe_heap *h, uint32_t i, struct probe_heap_slot slot)
{
	h->slot[i] = slot;
	*(uint32_t *)((char *)slot.item + h->idx_off) = i;
}

static void sift_up(struct probe_heap *h, uint32_t i)
{
	struct probe_heap_slot x = h->slot[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (h->slot[parent].key <= x.key)
			break;
		set(h, i, h->slot[parent]);
		i = parent;
	}
	set(h, i, x);
}

static void sift_down(struct probe_heap *h, uint32_t i)
{
	struct probe_heap_slot x = h->slot[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= h->len)
			break;
		if (c + 1 < h->len && h->slot[c + 1].key < h->slot[c].key)
			c++;
		if (x.key <= h->slot[c].key)
			break;
		set(h, i, h->slot[c]);
		i = c;
	}
	set(h, i, x);
}

void probe_heap_init(struct probe_heap *h, size_t idx_off)
{
	h->slot = NULL;
	h->len = h->cap = 0;
	h->idx_off = idx_off;
}

void probe_heap_free(struct probe_heap *h)
{
	free(h->slot);
	h->slot = NULL;
	h->len = h->cap = 0;
}

void probe_heap_update(struct probe_heap *h, uint32_t i, uint64_t key)
{
	h->slot[i].key = key;
	if (i > 0 && h->slot[(i - 1) / 2].key > h->slot[i].key)
		sift_up(h, i);
	else
		sift_down(h, i);
}

int probe_heap_insert(struct probe_heap *h, uint64_t key, void *item)
{
	if (h->len == h->cap) {
		uint32_t cap = h->cap ? 2 * h->cap : 64;
		struct probe_heap_slot *s = realloc(h->slot, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		h->slot = s;
		h->cap = cap;
	}
	set(h, h->len++, (struct probe_heap_slot){ key, item });
	sift_up(h, h->len - 1);
	return 0;
}

void probe_heap_remove(struct probe_heap *h, uint32_t i)
{
	struct probe_heap_slot last;

	*(uint32_t *)((char *)h->slot[i].item + h->idx_off) = PROBE_HEAP_NONE;
	last = h->slot[--h->len];
	if (i == h->len)
		return;
	set(h, i, last);
	probe_heap_update(h, i, last.key);
}

/* A slot's key at most limit: it, then its children (theirs are no smaller). */
static void collect(const struct probe_heap *h, uint32_t i, uint64_t limit, void **out,
                    uint32_t max, uint32_t *n)
{
	if (i >= h->len || h->slot[i].key > limit || *n == max)
		return;
	out[(*n)++] = h->slot[i].item;
	collect(h, 2 * i + 1, limit, out, max, n);
	collect(h, 2 * i + 2, limit, out, max, n);
}

uint32_t probe_heap_collect(const struct probe_heap *h, uint64_t limit, void **out, uint32_t max)
{
	uint32_t n = 0;

	collect(h, 0, limit, out, max, &n);
	return n;
}
