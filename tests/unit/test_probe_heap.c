/*
 * Unit tests of the probe engine's schedule (daemon/probe_heap.c): the
 * order against a sorted reference under random operations, removal
 * and updates anywhere, equal keys, growth, a failed allocation, and the
 * place each item keeps checked after every operation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/probe_heap.h"

/* What the tests put in the heap: the place is not the first field, on purpose. */
struct item {
	uint64_t key; /* what the test believes the item's key is */
	int in;       /* in the heap, as the test believes */
	uint32_t place;
	unsigned id;
};

#define NITEMS 1500
static struct item items[NITEMS];

/* Allocations fail while this is set (realloc is wrapped at link time). */
static int fail_realloc;
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	return fail_realloc ? NULL : __real_realloc(p, n);
}

static int setup(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < NITEMS; i++)
		items[i] = (struct item){ 0, 0, PROBE_HEAP_NONE, i };
	fail_realloc = 0;
	return 0;
}

static void init(struct probe_heap *h)
{
	probe_heap_init(h, offsetof(struct item, place));
}

/*
 * The heap is what the test believes: ordered, each slot's item in it
 * with its key and its place, every other item out with no place.
 */
static void check(const struct probe_heap *h)
{
	unsigned i, in = 0;

	assert_true(h->len <= h->cap);
	for (i = 0; i < h->len; i++) {
		const struct item *it = h->slot[i].item;

		assert_non_null(it);
		assert_true(it->in);
		assert_int_equal(it->place, i);
		assert_true(h->slot[i].key == it->key);
		if (i > 0)
			assert_true(h->slot[(i - 1) / 2].key <= h->slot[i].key);
	}
	for (i = 0; i < NITEMS; i++) {
		if (items[i].in)
			in++;
		else
			assert_int_equal(items[i].place, PROBE_HEAP_NONE);
	}
	assert_int_equal(in, h->len);
}

static void insert(struct probe_heap *h, unsigned id, uint64_t key)
{
	assert_false(items[id].in);
	items[id].key = key;
	items[id].in = 1;
	assert_int_equal(probe_heap_insert(h, key, &items[id]), 0);
	check(h);
}

static void update(struct probe_heap *h, unsigned id, uint64_t key)
{
	assert_true(items[id].in);
	items[id].key = key;
	probe_heap_update(h, items[id].place, key);
	check(h);
}

static void take_out(struct probe_heap *h, unsigned id)
{
	assert_true(items[id].in);
	items[id].in = 0;
	probe_heap_remove(h, items[id].place);
	check(h);
}

/* The smallest item, taken out: it has the smallest key there was. */
static struct item *pop(struct probe_heap *h)
{
	struct item *it;
	unsigned i;

	assert_true(h->len > 0);
	it = h->slot[0].item;
	for (i = 0; i < h->len; i++)
		assert_true(it->key <= h->slot[i].key);
	take_out(h, it->id);
	return it;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Popping everything gives the keys of want[n], sorted, each item once. */
static void drain_sorted(struct probe_heap *h, uint64_t *want, unsigned n)
{
	unsigned i;

	qsort(want, n, sizeof(*want), cmp_u64);
	assert_int_equal(h->len, n);
	for (i = 0; i < n; i++) {
		struct item *it = pop(h);

		assert_true(it->key == want[i]);
	}
	assert_int_equal(h->len, 0);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

/* xorshift64: a fixed sequence, the same on every run. */
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void empty_heap(void **state)
{
	struct probe_heap h;

	(void)state;
	init(&h);
	assert_int_equal(h.len, 0);
	assert_int_equal(h.cap, 0);
	assert_null(h.slot);
	check(&h);
	probe_heap_free(&h);
	probe_heap_free(&h);
	assert_null(h.slot);
}

static void one_item(void **state)
{
	struct probe_heap h;

	(void)state;
	init(&h);
	insert(&h, 7, 42);
	assert_int_equal(items[7].place, 0);
	update(&h, 7, 0);
	update(&h, 7, UINT64_MAX);
	take_out(&h, 7);
	assert_int_equal(h.len, 0);
	/* In again after being out, as a guest is after a restart. */
	insert(&h, 7, 5);
	assert_int_equal(items[7].place, 0);
	probe_heap_free(&h);
}

/* Ascending, descending and shuffled insertions all come out sorted. */
static void order(void **state)
{
	uint64_t want[200];
	struct probe_heap h;
	unsigned i, pass;

	(void)state;
	init(&h);
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < 200; i++) {
			want[i] = pass == 0 ? i : pass == 1 ? 1000 - i : rnd() % 100000;
			insert(&h, i, want[i]);
		}
		drain_sorted(&h, want, 200);
	}
	probe_heap_free(&h);
}

/* Equal keys, many of them and at the extremes: each item comes out once. */
static void duplicates(void **state)
{
	static const uint64_t keys[] = { 5,          5, 5, 0, 0, UINT64_MAX,
		                         UINT64_MAX, 5, 1, 5, 0, UINT64_MAX };
	uint64_t want[300];
	struct probe_heap h;
	unsigned i, n = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	init(&h);
	for (i = 0; i < n; i++) {
		want[i] = keys[i];
		insert(&h, i, keys[i]);
	}
	drain_sorted(&h, want, n);
	for (i = 0; i < 300; i++) {
		want[i] = 77;
		insert(&h, i, 77);
	}
	/* Updating to the same key, and taking out from the middle of equals. */
	update(&h, 150, 77);
	take_out(&h, 150);
	drain_sorted(&h, want, 299);
	probe_heap_free(&h);
}

/* Taking out the item at each place in turn, the last place included. */
static void remove_anywhere(void **state)
{
	const unsigned n = 100;
	uint64_t want[100];
	struct probe_heap h;
	unsigned i, at, k;

	(void)state;
	init(&h);
	for (at = 0; at < n; at++) {
		for (i = 0; i < n; i++)
			insert(&h, i, rnd() % 50);
		take_out(&h, ((struct item *)h.slot[at].item)->id);
		for (i = 0, k = 0; i < n; i++)
			if (items[i].in)
				want[k++] = items[i].key;
		drain_sorted(&h, want, n - 1);
	}
	probe_heap_free(&h);
}

/* A leaf made the smallest rises to the top; the top made the largest sinks to a leaf. */
static void update_up_and_down(void **state)
{
	uint64_t want[127];
	struct probe_heap h;
	struct item *it;
	unsigned i;

	(void)state;
	init(&h);
	for (i = 0; i < 127; i++)
		insert(&h, i, 1000 + i);
	it = h.slot[126].item;
	update(&h, it->id, 3);
	assert_int_equal(it->place, 0);
	it = h.slot[0].item;
	update(&h, it->id, 5000);
	assert_true(it->place >= 63); /* a leaf of a full tree of 127 */
	/* Inner items moved each way by a little. */
	for (i = 0; i < 127; i += 3)
		update(&h, i, items[i].key + (i % 2 ? 150 : -150ull));
	for (i = 0; i < 127; i++)
		want[i] = items[i].key;
	drain_sorted(&h, want, 127);
	probe_heap_free(&h);
}

/* Past the first 64 slots the array grows, and every place moves along with it. */
static void growth(void **state)
{
	uint64_t want[NITEMS];
	struct probe_heap h;
	unsigned i;

	(void)state;
	init(&h);
	for (i = 0; i < NITEMS; i++) {
		want[i] = rnd();
		items[i].key = want[i];
		items[i].in = 1;
		assert_int_equal(probe_heap_insert(&h, want[i], &items[i]), 0);
		if (i == 0)
			assert_int_equal(h.cap, 64);
		if (i == 64)
			assert_int_equal(h.cap, 128);
	}
	assert_int_equal(h.cap, 2048);
	check(&h);
	drain_sorted(&h, want, NITEMS);
	probe_heap_free(&h);
}

/* An insert that cannot grow the array fails and leaves the heap as it was. */
static void insert_without_memory(void **state)
{
	struct probe_heap h;
	unsigned i;

	(void)state;
	init(&h);
	fail_realloc = 1;
	assert_int_equal(probe_heap_insert(&h, 1, &items[0]), -ENOMEM);
	assert_int_equal(h.len, 0);
	assert_int_equal(items[0].place, PROBE_HEAP_NONE);
	fail_realloc = 0;
	for (i = 0; i < 64; i++)
		insert(&h, i, 64 - i);
	fail_realloc = 1;
	assert_int_equal(probe_heap_insert(&h, 0, &items[64]), -ENOMEM);
	fail_realloc = 0;
	assert_int_equal(h.len, 64);
	assert_int_equal(items[64].place, PROBE_HEAP_NONE);
	check(&h);
	insert(&h, 64, 0);
	assert_int_equal(items[64].place, 0);
	probe_heap_free(&h);
}

/*
 * Random inserts, removals from anywhere, updates both ways, pops, with
 * keys from a narrow range (many equal) and a wide one, checked after
 * each against what the test holds, and drained against a sorted copy.
 */
static void random_against_reference(void **state)
{
	const unsigned pool = 300, ops = 60000;
	uint64_t want[300];
	struct probe_heap h;
	unsigned op, i, n, counts[4] = { 0 };

	(void)state;
	init(&h);
	for (op = 0; op < ops; op++) {
		unsigned id = (unsigned)(rnd() % pool), what = (unsigned)(rnd() % 4);
		uint64_t key = op % 1000 < 500 ? rnd() % 64 : rnd();

		if (what == 3 && h.len) {
			pop(&h);
		} else if (!items[id].in) {
			if (what == 2)
				continue;
			insert(&h, id, key);
			what = 0;
		} else if (what == 0) {
			take_out(&h, id);
			what = 1;
		} else {
			update(&h, id, key);
			what = 2;
		}
		counts[what]++;
	}
	for (i = 0; i < 4; i++)
		assert_true(counts[i] > ops / 20); /* each kind of operation ran, often */
	for (i = 0, n = 0; i < pool; i++)
		if (items[i].in)
			want[n++] = items[i].key;
	drain_sorted(&h, want, n);
	probe_heap_free(&h);
}

/*
 * Collecting the items at or under a limit finds exactly those, each
 * once, stops at max, and leaves the heap as it was, against a count of
 * what the test holds, at limits below, inside and above the keys, after
 * random updates.
 */
static void collect_under_limit(void **state)
{
	static void *out[NITEMS];
	struct probe_heap h;
	unsigned i, round, seen[NITEMS];

	(void)state;
	init(&h);
	assert_int_equal(probe_heap_collect(&h, UINT64_MAX, out, NITEMS), 0);
	for (i = 0; i < 1000; i++)
		insert(&h, i, rnd() % 5000);
	for (round = 0; round < 200; round++) {
		uint64_t limit = round == 0 ? 0 : round == 1 ? UINT64_MAX : rnd() % 5200;
		unsigned want = 0, n, k;

		update(&h, (unsigned)(rnd() % 1000), rnd() % 5000);
		for (i = 0; i < 1000; i++)
			want += items[i].key <= limit;
		n = probe_heap_collect(&h, limit, out, NITEMS);
		assert_int_equal(n, want);
		memset(seen, 0, sizeof(seen));
		for (k = 0; k < n; k++) {
			const struct item *it = out[k];

			assert_true(it->in);
			assert_true(it->key <= limit);
			assert_int_equal(seen[it->id]++, 0);
		}
		check(&h);
		/* At most max, and only items under the limit. */
		if (want > 3) {
			assert_int_equal(probe_heap_collect(&h, limit, out, 3), 3);
			for (k = 0; k < 3; k++)
				assert_true(((const struct item *)out[k])->key <= limit);
		}
	}
	probe_heap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(empty_heap, setup),
		cmocka_unit_test_setup(one_item, setup),
		cmocka_unit_test_setup(order, setup),
		cmocka_unit_test_setup(duplicates, setup),
		cmocka_unit_test_setup(remove_anywhere, setup),
		cmocka_unit_test_setup(update_up_and_down, setup),
		cmocka_unit_test_setup(growth, setup),
		cmocka_unit_test_setup(insert_without_memory, setup),
		cmocka_unit_test_setup(random_against_reference, setup),
		cmocka_unit_test_setup(collect_under_limit, setup),
	};

	return cmocka_run_group_tests_name("probe_heap", tests, NULL, NULL);
}
