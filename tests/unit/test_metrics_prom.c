/*
 * Unit tests of the Prometheus text exposition: escaping, names, the
 * exact lines of families, counters, gauges and histograms (checked line
 * by line), and the buffer's all-or-nothing writes and sticky errors.
 * test_metrics_promtool.c has promtool check a page.
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

#include "metrics_testlib.h"

#define NS_PER_S 1000000000ull

static const struct metrics_label weird[] = {
	{ "guest", "web\\1 \"prod\"\nline2" },
	{ "cpu", "3" },
};

/* ---- A small reader of the text format, to check output line by line ---- */

/* Parse a metric name at *p; returns its length (0: none). */
static size_t name_len(const char *p)
{
	size_t n = 0;

	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
	       p[n] == ':' || (n && p[n] >= '0' && p[n] <= '9'))
		n++;
	return n;
}

/*
 * Check one sample line "name{l="v",...} value" and return its parts:
 * the name, the (unescaped) value of label le or "" and the value.
 * Fails the test on any syntax error.
 */
struct sample {
	char name[128];
	char le[256];
	char guest[256];
	double value;
};

static void parse_sample(const char *line, struct sample *s)
{
	const char *p = line;
	size_t n = name_len(p);
	char *end;

	memset(s, 0, sizeof(*s));
	if (!n || n >= sizeof(s->name))
		fail_msg("bad metric name in: %s", line);
	memcpy(s->name, p, n);
	p += n;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			char lname[64], val[256];
			size_t ln = name_len(p), vn = 0;

			if (!ln || ln >= sizeof(lname) || p[ln] != '=' || p[ln + 1] != '"')
				fail_msg("bad label in: %s", line);
			memcpy(lname, p, ln);
			lname[ln] = '\0';
			p += ln + 2;
			while (*p != '"') {
				char c = *p++;

				if (!c || c == '\n')
					fail_msg("unterminated label value in: %s", line);
				if (c == '\\') {
					c = *p++;
					if (c == 'n')
						c = '\n';
					else if (c != '\\' && c != '"')
						fail_msg("bad escape \\%c in: %s", c, line);
				}
				if (vn + 1 >= sizeof(val))
					fail_msg("label value too long in: %s", line);
				val[vn++] = c;
			}
			val[vn] = '\0';
			p++;
			if (!strcmp(lname, "le"))
				snprintf(s->le, sizeof(s->le), "%s", val);
			if (!strcmp(lname, "guest"))
				snprintf(s->guest, sizeof(s->guest), "%s", val);
			if (*p == ',')
				p++;
			else if (*p != '}')
				fail_msg("expected , or } in: %s", line);
		}
		p++;
	}
	if (*p++ != ' ')
		fail_msg("expected one space before the value in: %s", line);
	if (!strcmp(p, "+Inf") || !strcmp(p, "-Inf") || !strcmp(p, "NaN")) {
		s->value = strtod(p, NULL);
		return;
	}
	s->value = strtod(p, &end);
	if (end == p || *end)
		fail_msg("bad value \"%s\" in: %s", p, line);
}

/* Split text into lines (every line must end in \n); returns their count. */
static size_t split_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			fail_msg("output does not end in a newline: \"%s\"", p);
		*nl = '\0';
		if (n == max)
			fail_msg("more than %zu lines", max);
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

/* ---- Tests ---- */

static void escapes_label_values(void **state)
{
	struct metrics_buf b;

	(void)state;
	metrics_buf_init(&b);
	assert_int_equal(metrics_prom_escape_label_value(&b, "a\\b\"c\nd"), 0);
	assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
	metrics_buf_reset(&b);
	assert_int_equal(metrics_prom_escape_label_value(&b, "plain, {x}=y \t'"), 0);
	assert_string_equal(b.data, "plain, {x}=y \t'");
	metrics_buf_reset(&b);
	assert_int_equal(metrics_prom_escape_label_value(&b, "\\\\\n\n\"\""), 0);
	assert_string_equal(b.data, "\\\\\\\\\\n\\n\\\"\\\"");
	metrics_buf_free(&b);
}

static void escapes_help_text(void **state)
{
	struct metrics_buf b;

	(void)state;
	metrics_buf_init(&b);
	assert_int_equal(metrics_prom_escape_help(&b, "a\\b \"quoted\"\nnext"), 0);
	assert_string_equal(b.data,
	                    "a\\\\b \"quoted\"\\nnext"); /* quotes stay as they are in HELP */
	metrics_buf_free(&b);
}

static void validates_names(void **state)
{
	static const char *good[] = { "a", "_", ":", "shoal_guest_rtt_seconds", "a:b_c9", "A" };
	static const char *bad[] = { "", "9a", "a-b", "a b", "a.b", "é", "a{", "a\n" };
	static const char *good_label[] = { "a", "_a", "guest", "cpu_9", "Le" };
	static const char *bad_label[] = { "", "9", "__name__", "__x", "a:b", "a-b", "a b" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(metrics_prom_name_ok(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (metrics_prom_name_ok(bad[i]))
			fail_msg("metric name \"%s\" accepted", bad[i]);
	assert_false(metrics_prom_name_ok(NULL));
	for (i = 0; i < sizeof(good_label) / sizeof(good_label[0]); i++)
		assert_true(metrics_prom_label_name_ok(good_label[i]));
	for (i = 0; i < sizeof(bad_label) / sizeof(bad_label[0]); i++)
		if (metrics_prom_label_name_ok(bad_label[i]))
			fail_msg("label name \"%s\" accepted", bad_label[i]);
}

static void writes_family_header(void **state)
{
	struct metrics_buf b;

	(void)state;
	metrics_buf_init(&b);
	assert_int_equal(
	    metrics_prom_family(&b, "shoal_probes_missed_total", METRICS_PROM_COUNTER,
	                        "Probes not answered in time.\nPer guest \\ since start."),
	    0);
	assert_int_equal(metrics_prom_family(&b, "shoal_guests", METRICS_PROM_GAUGE, NULL), 0);
	assert_int_equal(metrics_prom_family(&b, "x_seconds", METRICS_PROM_HISTOGRAM, ""), 0);
	assert_string_equal(b.data, "# HELP shoal_probes_missed_total "
	                            "Probes not answered in time.\\nPer guest \\\\ since start.\n"
	                            "# TYPE shoal_probes_missed_total counter\n"
	                            "# TYPE shoal_guests gauge\n"
	                            "# HELP x_seconds \n"
	                            "# TYPE x_seconds histogram\n");
	metrics_buf_free(&b);
}

static void writes_counter_lines(void **state)
{
	struct metrics_buf b;

	(void)state;
	metrics_buf_init(&b);
	assert_int_equal(metrics_prom_counter(&b, "c_total", NULL, 0, 0), 0);
	assert_int_equal(metrics_prom_counter(&b, "c_total", weird, 2, UINT64_MAX), 0);
	assert_int_equal(metrics_prom_counter(&b, "c_total", weird + 1, 1, 42), 0);
	assert_string_equal(
	    b.data,
	    "c_total 0\n"
	    "c_total{guest=\"web\\\\1 \\\"prod\\\"\\nline2\",cpu=\"3\"} 18446744073709551615\n"
	    "c_total{cpu=\"3\"} 42\n");
	metrics_buf_free(&b);
}

static void writes_gauge_values_exactly(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0.0, "0" },          { 42.0, "42" },
		{ -1.5, "-1.5" },      { 0.1, "0.1" },
		{ 1e-9, "1e-09" },     { 123456789.0, "123456789" },
		{ NAN, "NaN" },        { INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" }, { 1.0 / 3.0, "0.33333333333333331" },
	};
	struct metrics_buf b;
	char want[96];
	size_t i;

	(void)state;
	metrics_buf_init(&b);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_buf_reset(&b);
		assert_int_equal(metrics_prom_gauge(&b, "g", NULL, 0, cases[i].v), 0);
		snprintf(want, sizeof(want), "g %s\n", cases[i].text);
		assert_string_equal(b.data, want);
		if (!isnan(cases[i].v))
			assert_true(strtod(b.data + 2, NULL) ==
			            cases[i].v); /* reads back exactly */
	}
	metrics_buf_free(&b);
}

/* Invalid names and labels are refused; nothing is written and the buffer stays usable. */
static void refuses_invalid_arguments(void **state)
{
	static const struct metrics_label bad_name[] = { { "9x", "v" } };
	static const struct metrics_label reserved[] = { { "__name__", "v" } };
	static const struct metrics_label twice[] = { { "a", "1" }, { "a", "2" } };
	static const struct metrics_label le[] = { { "le", "1" } };
	static const struct metrics_label null_value[] = { { "a", NULL } };
	static const uint64_t desc[] = { 2000, 1000 }, dup[] = { 1000, 1000 },
	                      inf[] = { UINT64_MAX };
	struct metrics_hist *h = malloc(sizeof(*h));
	struct metrics_buf b;

	(void)state;
	metrics_hist_init(h);
	metrics_buf_init(&b);
	assert_int_equal(metrics_prom_counter(&b, "ok_total", NULL, 0, 1), 0);
	assert_int_equal(metrics_prom_counter(&b, "bad-name", NULL, 0, 1), -EINVAL);
	assert_int_equal(metrics_prom_counter(&b, NULL, NULL, 0, 1), -EINVAL);
	assert_int_equal(metrics_prom_gauge(&b, "g", bad_name, 1, 1), -EINVAL);
	assert_int_equal(metrics_prom_gauge(&b, "g", reserved, 1, 1), -EINVAL);
	assert_int_equal(metrics_prom_gauge(&b, "g", twice, 2, 1), -EINVAL);
	assert_int_equal(metrics_prom_gauge(&b, "g", null_value, 1, 1), -EINVAL);
	assert_int_equal(metrics_prom_gauge(&b, "g", NULL, 1, 1), -EINVAL);
	assert_int_equal(metrics_prom_family(&b, "g", (enum metrics_prom_type)7, "x"), -EINVAL);
	assert_int_equal(metrics_prom_family(&b, "a b", METRICS_PROM_GAUGE, "x"), -EINVAL);
	assert_int_equal(metrics_prom_histogram(&b, "h_seconds", le, 1, h, NULL, 0), -EINVAL);
	assert_int_equal(metrics_prom_histogram(&b, "h_seconds", NULL, 0, h, desc, 2), -EINVAL);
	assert_int_equal(metrics_prom_histogram(&b, "h_seconds", NULL, 0, h, dup, 2), -EINVAL);
	assert_int_equal(metrics_prom_histogram(&b, "h_seconds", NULL, 0, h, inf, 1), -EINVAL);
	assert_string_equal(b.data, "ok_total 1\n");
	assert_int_equal(metrics_buf_error(&b), 0); /* not sticky: the buffer is fine */
	assert_int_equal(metrics_prom_gauge(&b, "le", le, 1, 1),
	                 0); /* le is only reserved in histograms */
	metrics_buf_free(&b);
	free(h);
}

/* le bounds are written as exact decimal seconds. */
static void writes_le_as_exact_seconds(void **state)
{
	static const uint64_t bounds[] = {
		1,         1000,     10000,         25000,         2500000,
		999999999, NS_PER_S, 2500000000ull, 10 * NS_PER_S, 123456789012ull
	};
	static const char *text[] = { "0.000000001", "0.000001",     "0.00001", "0.000025",
		                      "0.0025",      "0.999999999",  "1",       "2.5",
		                      "10",          "123.456789012" };
	struct metrics_hist *h = malloc(sizeof(*h));
	struct metrics_buf b;
	char *lines[32];
	struct sample s;
	size_t n, i;

	(void)state;
	metrics_hist_init(h);
	metrics_hist_record(h, 1500000);
	metrics_hist_record(h, 2500000);
	metrics_buf_init(&b);
	assert_int_equal(metrics_prom_histogram(&b, "x_seconds", NULL, 0, h, bounds, 10), 0);
	n = split_lines(b.data, lines, 32);
	assert_int_equal(n, 10 + 3);
	for (i = 0; i < 10; i++) {
		parse_sample(lines[i], &s);
		assert_string_equal(s.le, text[i]);
	}
	parse_sample(lines[10], &s);
	assert_string_equal(s.le, "+Inf");
	assert_string_equal(lines[11], "x_seconds_sum 0.004");
	assert_string_equal(lines[12], "x_seconds_count 2");
	metrics_buf_free(&b);
	free(h);
}

/*
 * A histogram family checked line by line: names in order, labels kept
 * and escaped, le ascending, counts cumulative and monotone and equal to
 * count_le, +Inf = _count = count, _sum = the exact sum in seconds.
 */
static void histogram_lines_are_cumulative(void **state)
{
	struct rng r = { 31 };
	struct metrics_hist *h = malloc(sizeof(*h));
	struct metrics_buf b;
	char *lines[64], want_sum[64];
	struct sample s;
	double prev = -1, prev_le = -1;
	size_t n, i;

	(void)state;
	metrics_hist_init(h);
	for (i = 0; i < 100000; i++)
		metrics_hist_record(h, i % 1000 ? rng_log(&r, 2000, 20000000) : rng_u64(&r) >> 24);
	metrics_buf_init(&b);
	assert_int_equal(metrics_prom_histogram(&b, "shoal_guest_rtt_seconds", weird, 2, h,
	                                        metrics_prom_rtt_bounds_ns,
	                                        metrics_prom_rtt_nbounds),
	                 0);
	n = split_lines(b.data, lines, 64);
	assert_int_equal(n, metrics_prom_rtt_nbounds + 3);
	for (i = 0; i <= metrics_prom_rtt_nbounds; i++) {
		parse_sample(lines[i], &s);
		assert_string_equal(s.name, "shoal_guest_rtt_seconds_bucket");
		assert_string_equal(s.guest, weird[0].value); /* escaped and read back */
		assert_true(strstr(lines[i], ",cpu=\"3\",le=\"") != NULL);
		assert_true(s.value >= prev); /* cumulative */
		prev = s.value;
		if (i < metrics_prom_rtt_nbounds) {
			double le = strtod(s.le, NULL);

			assert_true(le > prev_le);
			prev_le = le;
			assert_true(s.value == (double)metrics_hist_count_le(
			                           h, metrics_prom_rtt_bounds_ns[i]));
		} else {
			assert_string_equal(s.le, "+Inf");
			assert_true(s.value == (double)metrics_hist_count(h));
		}
	}
	parse_sample(lines[i], &s);
	assert_string_equal(s.name, "shoal_guest_rtt_seconds_sum");
	snprintf(want_sum, sizeof(want_sum), "%llu.%09llu",
	         (unsigned long long)(metrics_hist_sum(h) / NS_PER_S),
	         (unsigned long long)(metrics_hist_sum(h) % NS_PER_S));
	while (want_sum[strlen(want_sum) - 1] == '0')
		want_sum[strlen(want_sum) - 1] = '\0';
	assert_string_equal(strrchr(lines[i], ' ') + 1, want_sum);
	parse_sample(lines[i + 1], &s);
	assert_string_equal(s.name, "shoal_guest_rtt_seconds_count");
	assert_true(s.value == (double)metrics_hist_count(h));
	metrics_buf_free(&b);
	free(h);
}

static void empty_histogram_lines_are_zero(void **state)
{
	struct metrics_hist *h = malloc(sizeof(*h));
	static const uint64_t bounds[] = { 1000, 1000000 };
	struct metrics_buf b;

	(void)state;
	metrics_hist_init(h);
	metrics_buf_init(&b);
	assert_int_equal(metrics_prom_histogram(&b, "e_seconds", NULL, 0, h, bounds, 2), 0);
	assert_string_equal(b.data, "e_seconds_bucket{le=\"0.000001\"} 0\n"
	                            "e_seconds_bucket{le=\"0.001\"} 0\n"
	                            "e_seconds_bucket{le=\"+Inf\"} 0\n"
	                            "e_seconds_sum 0\n"
	                            "e_seconds_count 0\n");
	metrics_buf_free(&b);
	free(h);
}

/*
 * A fixed buffer that fills up: the failing write appends nothing, the
 * error is -ENOSPC and sticks, the text holds whole lines only; reset
 * clears the error.
 */
static void fixed_buffer_truncates_cleanly(void **state)
{
	char mem[100];
	struct metrics_buf b;
	size_t before;
	int rc = 0, writes = 0;

	(void)state;
	metrics_buf_init_fixed(&b, mem, sizeof(mem));
	while (!rc) {
		before = b.len;
		rc = metrics_prom_counter(&b, "shoal_probes_total", weird + 1, 1, 1234567);
		writes++;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(writes, 3); /* two 36-byte lines fit in 99 bytes, a third does not */
	assert_int_equal(b.len, 72);
	assert_int_equal(b.len, before);
	assert_int_equal(strlen(b.data), b.len);
	assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
	assert_int_equal(metrics_buf_error(&b), -ENOSPC);
	assert_int_equal(metrics_prom_counter(&b, "x", NULL, 0, 1),
	                 -ENOSPC); /* would fit, but sticky */
	assert_int_equal(b.len, before);
	metrics_buf_reset(&b);
	assert_int_equal(metrics_buf_error(&b), 0);
	assert_int_equal(metrics_prom_counter(&b, "x", NULL, 0, 1), 0);
	assert_string_equal(mem, "x 1\n");
	metrics_buf_free(&b); /* not ours to free: only emptied */
	assert_int_equal(b.len, 0);
	/* A zero-size buffer is full from the start. */
	metrics_buf_init_fixed(&b, mem, 0);
	assert_int_equal(metrics_prom_counter(&b, "x", NULL, 0, 1), -ENOSPC);
}

/* Build a page for many guests, as shoald's /metrics would. */
static void write_page(struct metrics_buf *b, size_t nguests)
{
	struct metrics_hist *h = malloc(sizeof(*h));
	struct rng r = { 32 };
	char name[32];
	size_t g, i;

	assert_non_null(h);
	metrics_prom_family(b, "shoal_guests", METRICS_PROM_GAUGE, "Guests running.");
	metrics_prom_gauge(b, "shoal_guests", NULL, 0, (double)nguests);
	metrics_prom_family(b, "shoal_guest_probes_missed_total", METRICS_PROM_COUNTER,
	                    "Probes a guest did not answer in time, since shoald started.");
	for (g = 0; g < nguests; g++) {
		struct metrics_label l = { "guest", name };

		snprintf(name, sizeof(name), "guest-%zu \"%s\"", g, g % 2 ? "a\\b" : "c\nd");
		metrics_prom_counter(b, "shoal_guest_probes_missed_total", &l, 1, g * 3);
	}
	metrics_prom_family(
	    b, "shoal_guest_rtt_seconds", METRICS_PROM_HISTOGRAM,
	    "Event-channel round-trip time of a guest's probes, since shoald started.");
	for (g = 0; g < nguests; g++) {
		struct metrics_label l = { "guest", name };

		snprintf(name, sizeof(name), "guest-%zu \"%s\"", g, g % 2 ? "a\\b" : "c\nd");
		metrics_hist_init(h);
		for (i = 0; i < 100; i++)
			metrics_hist_record(h, rng_log(&r, 500, 20 * NS_PER_S));
		metrics_prom_histogram(b, "shoal_guest_rtt_seconds", &l, 1, h,
		                       metrics_prom_rtt_bounds_ns, metrics_prom_rtt_nbounds);
	}
	free(h);
}

/* The growable buffer grows to any size and says exactly what a big fixed buffer says. */
static void growable_buffer_matches_fixed(void **state)
{
	struct metrics_buf grow, fixed;
	size_t size = 4 << 20;
	char *mem = malloc(size), *lines[1 << 16];
	struct sample s;
	size_t n, i;

	(void)state;
	metrics_buf_init(&grow);
	metrics_buf_init_fixed(&fixed, mem, size);
	write_page(&grow, 1000);
	write_page(&fixed, 1000);
	assert_int_equal(metrics_buf_error(&grow), 0);
	assert_int_equal(metrics_buf_error(&fixed), 0);
	assert_true(grow.len > 1000000);
	assert_int_equal(grow.len, fixed.len);
	assert_string_equal(grow.data, fixed.data);
	/* Every line of the page reads back. */
	n = split_lines(grow.data, lines, 1 << 16);
	for (i = 0; i < n; i++)
		if (lines[i][0] != '#')
			parse_sample(lines[i], &s);
	metrics_buf_free(&grow);
	assert_null(grow.data);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes_label_values),
		cmocka_unit_test(escapes_help_text),
		cmocka_unit_test(validates_names),
		cmocka_unit_test(writes_family_header),
		cmocka_unit_test(writes_counter_lines),
		cmocka_unit_test(writes_gauge_values_exactly),
		cmocka_unit_test(refuses_invalid_arguments),
		cmocka_unit_test(writes_le_as_exact_seconds),
		cmocka_unit_test(histogram_lines_are_cumulative),
		cmocka_unit_test(empty_histogram_lines_are_zero),
		cmocka_unit_test(fixed_buffer_truncates_cleanly),
		cmocka_unit_test(growable_buffer_matches_fixed),
	};

	return cmocka_run_group_tests_name("metrics_prom", tests, NULL, NULL);
}
