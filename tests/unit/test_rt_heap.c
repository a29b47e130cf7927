/*
 * Unit tests of the guest runtime's heap and formatter, compiled for the
 * host: the allocator over a real arena (random workloads checked byte by
 * byte, coalescing, exhaustion) and rt_vsnprintf against expectations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <shoal/rt.h>

/* The platform under test: an arena from the host heap. */
static uint8_t *arena;
static size_t arena_bytes = 1u << 20;
static jmp_buf aborted;

void plat_heap_range(uintptr_t *start, uintptr_t *end);
void plat_heap_range(uintptr_t *start, uintptr_t *end)
{
	*start = (uintptr_t)arena + 8; /* deliberately misaligned */
	*end = (uintptr_t)arena + arena_bytes - 3;
}

void rt__abort(const char *file, unsigned line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
	longjmp(aborted, 1);
}

/* Console output of rt_printf is not under test here. */
void plat_console_writev(const struct rt_iov *iov, unsigned n);
void plat_console_writev(const struct rt_iov *iov, unsigned n)
{
	(void)iov;
	(void)n;
}

/* Each test process gets one arena; the heap initialises on first use. */
static int setup_arena(void **state)
{
	(void)state;
	if (!arena)
		arena = aligned_alloc(4096, arena_bytes);
	return 0;
}

struct blk {
	uint8_t *p;
	size_t n;
	uint8_t tag;
};

static void random_workload_keeps_data(void **state)
{
	struct blk b[512] = { 0 };
	unsigned seed = 12345, i, round;
	size_t before;

	(void)state;
	before = rt_heap_free_bytes();
	for (round = 0; round < 20000; round++) {
		struct blk *x;
		size_t k;

		seed = seed * 1103515245u + 12345u;
		x = &b[(seed >> 8) % 512];
		if (x->p) {
			for (k = 0; k < x->n; k++)
				if (x->p[k] != x->tag)
					fail_msg("block of %zu bytes corrupted at %zu", x->n, k);
			if ((seed >> 4) & 1) {
				size_t n2 = (seed >> 12) % 3000;
				uint8_t *q = rt_realloc(x->p, n2);

				if (n2 == 0) {
					assert_null(q);
					x->p = NULL;
					continue;
				}
				assert_non_null(q);
				for (k = 0; k < (n2 < x->n ? n2 : x->n); k++)
					assert_int_equal(q[k], x->tag);
				x->p = q;
				x->n = n2;
				memset(x->p, x->tag, x->n);
			} else {
				rt_free(x->p);
				x->p = NULL;
			}
		} else {
			x->n = (seed >> 12) % 2000 + 1;
			x->p = rt_malloc(x->n);
			assert_non_null(x->p);
			assert_int_equal((uintptr_t)x->p % 16, 0);
			x->tag = (uint8_t)(seed >> 20);
			memset(x->p, x->tag, x->n);
		}
	}
	for (i = 0; i < 512; i++)
		rt_free(b[i].p);
	/* Everything freed coalesces back into one block. */
	assert_int_equal(rt_heap_free_bytes(), before);
}

static void exhaustion_returns_null(void **state)
{
	void *p[64];
	int n = 0;

	(void)state;
	while (n < 64 && (p[n] = rt_malloc(100000)) != NULL)
		n++;
	assert_true(n > 5 && n < 12);
	assert_null(rt_malloc(arena_bytes));
	assert_null(rt_malloc(SIZE_MAX));
	assert_null(rt_calloc(SIZE_MAX / 2, 4));
	while (n)
		rt_free(p[--n]);
	assert_non_null(p[0] = rt_malloc(500000));
	rt_free(p[0]);
}

static void calloc_zeroes_reused_memory(void **state)
{
	uint8_t *p, *q;
	size_t i;

	(void)state;
	p = rt_malloc(256);
	memset(p, 0xAA, 256);
	rt_free(p);
	q = rt_calloc(16, 16);
	for (i = 0; i < 256; i++)
		assert_int_equal(q[i], 0);
	rt_free(q);
}

static void double_free_aborts(void **state)
{
	void *p;

	(void)state;
	p = rt_malloc(64);
	rt_free(p);
	if (setjmp(aborted) == 0) {
		rt_free(p);
		fail_msg("double free was not caught");
	}
	if (setjmp(aborted) == 0) {
		rt_free((uint8_t *)arena + arena_bytes + 4096);
		fail_msg("foreign pointer was not caught");
	}
}

static char *fmt(const char *f, ...)
{
	static char buf[256];
	va_list ap;

	va_start(ap, f);
	rt_vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return buf;
}

static void printf_formats(void **state)
{
	char small[8];
	int n;

	(void)state;
	assert_string_equal(fmt("%d %i %u", -42, 7, 3000000000u), "-42 7 3000000000");
	assert_string_equal(fmt("%ld %lu", (long)INT64_MIN, (unsigned long)UINT64_MAX),
	                    "-9223372036854775808 18446744073709551615");
	assert_string_equal(fmt("%x %X %lx", 0xbeefu, 0xbeefu, 0x1234567890abcdeful),
	                    "beef BEEF 1234567890abcdef");
	assert_string_equal(fmt("[%5d] [%05d] [%-3d] [%05d] [%-4s]", 42, 42, 7, -42, "ab"),
	                    "[   42] [00042] [7  ] [-0042] [ab  ]");
	assert_string_equal(fmt("%s|%6s|%s", "a", "bc", (char *)NULL), "a|    bc|(null)");
	assert_string_equal(fmt("%c%c %% %p", 'o', 'k', (void *)0x1000), "ok % 0x1000");
	assert_string_equal(fmt("%zu trailing %", (size_t)5), "5 trailing ");
	n = rt_snprintf(small, sizeof(small), "%s", "abcdefghij");
	assert_int_equal(n, 10);
	assert_string_equal(small, "abcdefg");
	assert_int_equal(rt_snprintf(NULL, 0, "%d", 12345), 5);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(random_workload_keeps_data, setup_arena),
		cmocka_unit_test_setup(exhaustion_returns_null, setup_arena),
		cmocka_unit_test_setup(calloc_zeroes_reused_memory, setup_arena),
		cmocka_unit_test_setup(double_free_aborts, setup_arena),
		cmocka_unit_test(printf_formats),
	};

	return cmocka_run_group_tests_name("rt_heap", tests, NULL, NULL);
}
