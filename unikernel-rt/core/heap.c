/*
 * The guest heap: first fit over one arena [heap_start, heap_end) given by
 * the platform, with boundary tags so that free() coalesces in O(1).
 * Set up lazily on the first allocation: a guest that never allocates
 * pays nothing at boot.
 *
 * Block layout: a header word (size | used bit), the payload, and a footer
 * word (the same value).  Sizes are multiples of 16 and include both
 * tags; payloads are 16-byte aligned.  Free blocks keep a doubly linked
 * list in their payload.
 */
#include "rt_internal.h"

#define ALIGN     16u
#define TAGS      16u /* header + footer, rounded to keep alignment */
#define MIN_BLOCK 48u /* tags + two list pointers, rounded */
#define USED      1u

struct free_block {
	struct free_block *next, *prev;
};

static uint8_t *arena_lo, *arena_hi; /* first and one-past-last block byte */
static struct free_block *free_list;
static int heap_ready;

static inline size_t *hdr_of(uint8_t *block)
{
	return (size_t *)(block + 8);
}

static inline size_t block_size(uint8_t *block)
{
	return *hdr_of(block) & ~(size_t)USED;
}

static inline size_t *ftr_of(uint8_t *block)
{
	return (size_t *)(block + block_size(block));
}

static inline void set_tags(uint8_t *block, size_t size, size_t used)
{
	*hdr_of(block) = size | used;
	*(size_t *)(block + size) = size | used;
}

static inline void *payload(uint8_t *block)
{
	return block + TAGS;
}

static inline uint8_t *block_of(void *p)
{
	return (uint8_t *)p - TAGS;
}

/*
 * A block at address b occupies [b + 8, b + 8 + size): the header at b+8,
 * payload from b+16, footer at b+size (which is the 8 bytes before the
 * next block's header at b+size+8).  Each block's first 8 bytes overlap
 * the previous block's footer, which is how the footer of the previous
 * block is found.
 */
static void list_push(uint8_t *block)
{
	struct free_block *f = payload(block);

	f->prev = NULL;
	f->next = free_list;
	if (free_list)
		free_list->prev = f;
	free_list = f;
}

static void list_remove(uint8_t *block)
{
	struct free_block *f = payload(block);

	if (f->prev)
		f->prev->next = f->next;
	else
		free_list = f->next;
	if (f->next)
		f->next->prev = f->prev;
}

static int heap_init(void)
{
	uintptr_t lo, hi;

	plat_heap_range(&lo, &hi);
	lo = (lo + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
	hi &= ~(uintptr_t)(ALIGN - 1);
	if (hi <= lo || hi - lo < 2 * MIN_BLOCK)
		return -1;
	/*
	 * Sentinels: the 8 bytes at lo are a "used" footer for a block before
	 * the arena; a used header of size 0 at the end stops coalescing.
	 */
	arena_lo = (uint8_t *)lo;
	arena_hi = (uint8_t *)hi - 16;
	*(size_t *)arena_lo = USED;
	set_tags(arena_lo, (size_t)(arena_hi - arena_lo), 0);
	*hdr_of(arena_hi) = USED;
	list_push(arena_lo);
	heap_ready = 1;
	return 0;
}

static size_t request_size(size_t n)
{
	size_t size;

	if (n > (size_t)1 << 40)
		return 0;
	size = (n + TAGS + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	return size < MIN_BLOCK ? MIN_BLOCK : size;
}

void *rt_malloc(size_t n)
{
	struct free_block *f;
	size_t size = request_size(n);

	if (!size)
		return NULL;
	if (!heap_ready && heap_init() < 0)
		return NULL;
	for (f = free_list; f; f = f->next) {
		uint8_t *b = block_of(f);
		size_t have = block_size(b);

		if (have < size)
			continue;
		list_remove(b);
		if (have - size >= MIN_BLOCK) {
			uint8_t *rest = b + size;

			set_tags(rest, have - size, 0);
			list_push(rest);
			have = size;
		}
		set_tags(b, have, USED);
		return payload(b);
	}
	return NULL;
}

void rt_free(void *p)
{
	uint8_t *b, *next;
	size_t size, prev_tag;

	if (!p)
		return;
	b = block_of(p);
	if (b < arena_lo || b >= arena_hi || !(*hdr_of(b) & USED))
		rt_abort("rt_free: pointer not from rt_malloc, or freed twice");
	size = block_size(b);
	next = b + size;
	if (!(*hdr_of(next) & USED)) {
		list_remove(next);
		size += block_size(next);
	}
	prev_tag = *(size_t *)b; /* footer of the block before */
	if (!(prev_tag & USED)) {
		uint8_t *prev = b - (prev_tag & ~(size_t)USED);

		list_remove(prev);
		size += prev_tag & ~(size_t)USED;
		b = prev;
	}
	set_tags(b, size, 0);
	list_push(b);
}

void *rt_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = rt_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *rt_realloc(void *p, size_t n)
{
	void *q;
	size_t have;

	if (!p)
		return rt_malloc(n);
	if (n == 0) {
		rt_free(p);
		return NULL;
	}
	have = block_size(block_of(p)) - TAGS;
	if (n <= have)
		return p;
	q = rt_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	rt_free(p);
	return q;
}

size_t rt_heap_free_bytes(void)
{
	struct free_block *f;
	size_t best = 0;

	if (!heap_ready && heap_init() < 0)
		return 0;
	for (f = free_list; f; f = f->next) {
		size_t s = block_size(block_of(f));

		if (s > best)
			best = s;
	}
	return best > TAGS ? best - TAGS : 0;
}

void *rt_pages_alloc(size_t pages, void **block)
{
	const uintptr_t page = 4096;

	*block = rt_calloc(1, (pages + 1) * page);
	if (!*block)
		return NULL;
	return (void *)(((uintptr_t)*block + page - 1) & ~(page - 1));
}

void *rt__pages_alloc_raw(size_t pages, void **block)
{
	const uintptr_t page = 4096;

	if (pages > SIZE_MAX / page - 1)
		return NULL;
	*block = rt_malloc((pages + 1) * page);
	if (!*block)
		return NULL;
	return (void *)(((uintptr_t)*block + page - 1) & ~(page - 1));
}
