/*
 * Unit tests of a guest console's ring (daemon/console.c): it grows as
 * output comes, up to its limit, and keeps the last ring_bytes of what
 * the guest said, in order, across growth and wrap-around; the tail of
 * an empty console is empty.  Checked against a plain copy of the
 * whole output, for sizes that cross every growth step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/daemon.h"

static struct console *ring_only(size_t ring_bytes)
{
	struct console_limits lim = { .ring_bytes = ring_bytes,
		                      .file_bytes = 0,
		                      .rate_bytes = 1u << 30,
		                      .burst_bytes = 1u << 30 };
	struct console *c = console_new(&lim, NULL);

	assert_non_null(c);
	return c;
}

static void expect_tail(struct console *c, const char *all, size_t all_len, size_t keep,
                        size_t tail)
{
	size_t len = 99, want = all_len < keep ? all_len : keep;
	char *t;

	if (tail && tail < want)
		want = tail;
	t = console_tail(c, tail, &len);
	assert_non_null(t);
	assert_int_equal(len, want);
	assert_memory_equal(t, all + all_len - want, want);
	assert_int_equal(t[len], '\0');
	free(t);
}

static void empty_console_has_empty_tail(void **state)
{
	struct console *c = ring_only(65536);
	size_t len = 99;
	char *t = console_tail(c, 0, &len);

	(void)state;
	assert_non_null(t);
	assert_int_equal(len, 0);
	assert_string_equal(t, "");
	free(t);
	t = console_tail(c, 10, &len);
	assert_int_equal(len, 0);
	free(t);
	console_free(c);
}

/* Pieces of varied sizes, each a run of distinct bytes, up to 3x the limit. */
static void keeps_the_last_bytes_in_order(void **state)
{
	static const size_t limits[] = { 1024, 4000, 65536 };
	static const size_t pieces[] = { 1, 7, 100, 1023, 1024, 1025, 3000, 70000 };
	size_t li, pi;

	(void)state;
	for (li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
		for (pi = 0; pi < sizeof(pieces) / sizeof(pieces[0]); pi++) {
			size_t total = 3 * limits[li] + pieces[pi], have = 0, i;
			char *all = malloc(total), *p = malloc(pieces[pi]);
			struct console *c = ring_only(limits[li]);
			uint64_t now = 1;

			assert_non_null(all);
			assert_non_null(p);
			while (have < total) {
				size_t n = total - have < pieces[pi] ? total - have : pieces[pi];

				for (i = 0; i < n; i++)
					p[i] = (char)('!' + (have + i) % 90);
				memcpy(all + have, p, n);
				console_feed(c, p, n, now++);
				have += n;
				expect_tail(c, all, have, limits[li], 0);
				expect_tail(c, all, have, limits[li], 5);
			}
			assert_int_equal(console_dropped(c), 0);
			console_free(c);
			free(all);
			free(p);
		}
	}
}

/* A note starts on a line of its own, also when the ring has only just grown. */
static void note_after_unfinished_line(void **state)
{
	struct console *c = ring_only(2048);
	size_t len;
	char *t;

	(void)state;
	console_feed(c, "booting", 7, 1);
	console_note(c, "stopped by %s", "shoald");
	t = console_tail(c, 0, &len);
	assert_string_equal(t, "booting\n-- shoald: stopped by shoald\n");
	free(t);
	console_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_console_has_empty_tail),
		cmocka_unit_test(keeps_the_last_bytes_in_order),
		cmocka_unit_test(note_after_unfinished_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
