/*
 * The probe engine's schedule (probe.c): a binary min-heap of items on a
 * 64-bit key, each item keeping its own place in the heap so that it can
 * be found, updated and removed in O(log n).  Pure: it knows nothing of
 * guests or of the daemon, only where in an item its place is kept.
 */
#ifndef SHOALD_PROBE_HEAP_H
#define SHOALD_PROBE_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* An item's place while it is in no heap. */
#define PROBE_HEAP_NONE UINT32_MAX

/*
 * Slots carry their key, so ordering the heap reads only the slot array,
 * never the items (a guest is big; 1,000 of them do not stay in the
 * cache between probes).
 */
struct probe_heap_slot {
	uint64_t key;
	void *item;
};

struct probe_heap {
	struct probe_heap_slot *slot; /* slot[0] has the smallest key; len of cap used */
	uint32_t len, cap;
	size_t idx_off; /* where each item keeps its place: a uint32_t at this offset */
};

/*
 * An empty heap whose items keep their place in the uint32_t at idx_off
 * bytes into them (offsetof(struct guest, probe.heap_idx)).  Takes no
 * memory until the first insert.
 */
void probe_heap_init(struct probe_heap *h, size_t idx_off);
/* Frees the slots; the items are the caller's and are not touched. */
void probe_heap_free(struct probe_heap *h);
/*
 * Adds item (in no heap) with key; its place is written into it.  Equal
 * keys are allowed, in no particular order among themselves.  0, or
 * -ENOMEM with the heap unchanged.
 */
int probe_heap_insert(struct probe_heap *h, uint64_t key, void *item);
/*
 * Takes out the item at place i (< len; the place its item keeps); that
 * item's place becomes PROBE_HEAP_NONE.  The smallest is at place 0.
 */
void probe_heap_remove(struct probe_heap *h, uint32_t i);
/* Gives the item at place i (< len) a new key, larger or smaller, and restores the order. */
void probe_heap_update(struct probe_heap *h, uint32_t i, uint64_t key);
/*
 * Up to max of the items whose key is at most limit, into out (in no
 * particular order); how many.  Visits only those slots and their
 * children, never the rest of the heap: O(k) for k such items.  The heap
 * is not changed.
 */
uint32_t probe_heap_collect(const struct probe_heap *h, uint64_t limit, void **out, uint32_t max);

#endif
