/*
 * Unit tests of the latency histogram: the bucket layout, quantiles
 * against exact ones (sorted samples) for random and adversarial
 * samples, merging, the exact summary values, iteration and the
 * cumulative counts Prometheus uses.
 */
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

static struct metrics_hist *new_hist(void)
{
	struct metrics_hist *h = malloc(sizeof(*h));

	assert_non_null(h);
	metrics_hist_init(h);
	return h;
}

/*
 * Record v[0..n) into a histogram and compare its quantiles with the
 * exact ones on a grid of q (every 0.001 and the far tail), or at every
 * rank when every_rank is set.  Sorts v.
 */
static void check_quantiles(const char *what, uint64_t *v, size_t n, int every_rank)
{
	static const double tail[] = { 0.0, 1e-6, 1e-4, 0.9999, 0.99999, 0.999999, 1.0 };
	struct metrics_hist *h = new_hist();
	char why[160];
	size_t i;

	for (i = 0; i < n; i++)
		metrics_hist_record(h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_int_equal(metrics_hist_count(h), n);
	if (every_rank) {
		for (i = 0; i < n; i++) {
			double q = ((double)i + 0.5) / (double)n;

			if (!quantile_ok(v[i], metrics_hist_quantile(h, q), why, sizeof(why)))
				fail_msg("%s: rank %zu of %zu: %s", what, i + 1, n, why);
		}
	}
	for (i = 0; i <= 1000; i++) {
		double q = (double)i / 1000.0;

		if (!quantile_ok(exact_quantile(v, n, q), metrics_hist_quantile(h, q), why,
		                 sizeof(why)))
			fail_msg("%s: q=%.3f: %s", what, q, why);
	}
	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		if (!quantile_ok(exact_quantile(v, n, tail[i]), metrics_hist_quantile(h, tail[i]),
		                 why, sizeof(why)))
			fail_msg("%s: q=%g: %s", what, tail[i], why);
	assert_int_equal(metrics_hist_quantile(h, 0.0), v[0]);
	assert_int_equal(metrics_hist_quantile(h, 1.0), v[n - 1]);
	free(h);
}

#define BIG 1000000

/* Every bucket: contiguous from 1 us, narrow enough, the last holding 10 s. */
static void layout_is_log_linear_over_range(void **state)
{
	struct metrics_hist *h = new_hist();
	struct metrics_bucket b;
	uint64_t v = METRICS_HIST_MIN_NS;
	unsigned pos, n = 0;

	(void)state;
	while (v <= METRICS_HIST_MAX_NS) {
		metrics_hist_init(h);
		metrics_hist_record(h, v);
		pos = 0;
		assert_true(metrics_hist_next(h, &pos, &b));
		assert_int_equal(b.lo_ns, v); /* contiguous with the previous bucket */
		assert_true(b.hi_ns > b.lo_ns);
		assert_true((b.hi_ns - b.lo_ns) * 64 <= b.lo_ns); /* at most 1/64 wide */
		metrics_hist_init(h);
		metrics_hist_record(h, b.hi_ns - 1); /* the top value is in the same bucket */
		pos = 0;
		assert_true(metrics_hist_next(h, &pos, &b));
		assert_int_equal(b.lo_ns, v);
		v = b.hi_ns;
		n++;
	}
	assert_int_equal(n, METRICS_HIST_NBUCKETS);
	assert_true(b.lo_ns <= METRICS_HIST_MAX_NS && METRICS_HIST_MAX_NS < b.hi_ns);
	free(h);
}

static void quantiles_uniform(void **state)
{
	struct rng r = { 1 };
	uint64_t *v = malloc(BIG * sizeof(*v));
	size_t i;

	(void)state;
	for (i = 0; i < BIG; i++)
		v[i] = rng_range(&r, METRICS_HIST_MIN_NS, METRICS_HIST_MAX_NS);
	check_quantiles("uniform 1 us..10 s", v, BIG, 0);
	for (i = 0; i < BIG; i++)
		v[i] = rng_range(&r, 20000, 80000);
	check_quantiles("uniform 20..80 us", v, BIG, 0);
	free(v);
}

static void quantiles_log_uniform(void **state)
{
	struct rng r = { 2 };
	uint64_t *v = malloc(BIG * sizeof(*v));
	size_t i;

	(void)state;
	for (i = 0; i < BIG; i++)
		v[i] = rng_log(&r, METRICS_HIST_MIN_NS, METRICS_HIST_MAX_NS);
	check_quantiles("log-uniform 1 us..10 s", v, BIG, 0);
	free(v);
}

/* Most events fast, some slow (the vCPU was descheduled): two far modes. */
static void quantiles_bimodal(void **state)
{
	struct rng r = { 3 };
	uint64_t *v = malloc(BIG * sizeof(*v));
	size_t i;

	(void)state;
	for (i = 0; i < BIG; i++) {
		double x = rng_unit(&r) < 0.7 ? 40000.0 + 5000.0 * rng_normal(&r)
		                              : 3e6 * exp(0.5 * rng_normal(&r));

		v[i] = x < 1500.0 ? 1500 : (uint64_t)x;
	}
	check_quantiles("bimodal 40 us / 3 ms", v, BIG, 0);
	/* An exact 50/50 split: the median sits on the edge between the modes. */
	for (i = 0; i < BIG; i++)
		v[i] = i % 2 ? 5000000 + rng_range(&r, 0, 1000) : 30000 + rng_range(&r, 0, 100);
	check_quantiles("bimodal 50/50", v, BIG, 0);
	free(v);
}

/* Pareto tail (alpha 0.8 from 20 us, no finite mean): runs off the top of the range. */
static void quantiles_heavy_tailed(void **state)
{
	struct rng r = { 4 };
	uint64_t *v = malloc(BIG * sizeof(*v));
	size_t i, over = 0;

	(void)state;
	for (i = 0; i < BIG; i++) {
		double x = 20000.0 / pow(rng_unit(&r), 1.0 / 0.8);

		v[i] = x > 1e18 ? (uint64_t)1e18 : (uint64_t)x;
		over += v[i] > METRICS_HIST_MAX_NS;
	}
	assert_true(over > 0); /* the tail does leave the range */
	check_quantiles("pareto 0.8", v, BIG, 0);
	free(v);
}

/* All one value: every quantile is that value, exactly. */
static void quantiles_all_one_value(void **state)
{
	static const uint64_t vals[] = {
		0,         1,      999,           1000,          1003,           1007,
		1008,      123456, 9932111872ull, 9999999999ull, 10000000000ull, 10000000001ull,
		UINT64_MAX
	};
	struct metrics_hist *h = new_hist();
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		metrics_hist_init(h);
		for (k = 0; k < 1000; k++)
			metrics_hist_record(h, vals[i]);
		for (k = 0; k <= 100; k++)
			if (metrics_hist_quantile(h, k / 100.0) != vals[i])
				fail_msg("all %llu: q=%.2f answers %llu",
				         (unsigned long long)vals[i], k / 100.0,
				         (unsigned long long)metrics_hist_quantile(h, k / 100.0));
	}
	free(h);
}

/* The lowest and highest value of every bucket, each rank checked. */
static void quantiles_at_bucket_edges(void **state)
{
	struct metrics_hist *probe = new_hist();
	struct metrics_bucket b;
	uint64_t *v = malloc(4 * METRICS_HIST_NBUCKETS * sizeof(*v)), x = METRICS_HIST_MIN_NS;
	size_t n = 0;
	unsigned pos;
	struct rng r = { 5 };

	(void)state;
	while (x <= METRICS_HIST_MAX_NS) {
		metrics_hist_init(probe);
		metrics_hist_record(probe, x);
		pos = 0;
		assert_true(metrics_hist_next(probe, &pos, &b));
		v[n++] = b.lo_ns;
		v[n++] = b.hi_ns - 1;
		x = b.hi_ns;
	}
	check_quantiles("bucket edges", v, n, 1);
	/* Only the upper edges, some repeated: ranks land on bucket tops. */
	n = 0;
	x = METRICS_HIST_MIN_NS;
	while (x <= METRICS_HIST_MAX_NS) {
		unsigned k, rep = (unsigned)rng_range(&r, 1, 3);

		metrics_hist_init(probe);
		metrics_hist_record(probe, x);
		pos = 0;
		assert_true(metrics_hist_next(probe, &pos, &b));
		for (k = 0; k < rep; k++)
			v[n++] = b.hi_ns - 1;
		x = b.hi_ns;
	}
	check_quantiles("bucket tops", v, n, 1);
	free(v);
	free(probe);
}

/* The ends of the range and beyond: counted as underflow/overflow, quantiles as promised. */
static void quantiles_at_range_ends_and_outside(void **state)
{
	static const uint64_t ends[] = { 0,
		                         1,
		                         500,
		                         998,
		                         999,
		                         1000,
		                         1001,
		                         1007,
		                         1008,
		                         9999999999ull,
		                         10000000000ull,
		                         10000000001ull,
		                         1ull << 40,
		                         UINT64_MAX - 1,
		                         UINT64_MAX };
	struct rng r = { 6 };
	struct metrics_hist *h = new_hist();
	uint64_t *v = malloc(20000 * sizeof(*v));
	uint64_t under = 0, over = 0;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 20000; i++) {
		uint64_t x = i % 3 ? ends[rng_range(&r, 0, sizeof(ends) / sizeof(ends[0]) - 1)]
		                   : rng_log(&r, 1000, 10 * NS_PER_S);

		v[n++] = x;
		metrics_hist_record(h, x);
		under += x < METRICS_HIST_MIN_NS;
		over += x > METRICS_HIST_MAX_NS;
	}
	assert_int_equal(metrics_hist_underflow(h), under);
	assert_int_equal(metrics_hist_overflow(h), over);
	assert_int_equal(metrics_hist_min(h), 0);
	assert_int_equal(metrics_hist_max(h), UINT64_MAX);
	assert_int_equal(metrics_hist_sum(h), UINT64_MAX); /* saturated, not wrapped */
	/* Below 1 us counts as below 1 us, above 10 s as above 10 s. */
	assert_int_equal(metrics_hist_count_le(h, METRICS_HIST_MIN_NS - 1), under);
	assert_int_equal(metrics_hist_count_le(h, METRICS_HIST_MAX_NS), n - over);
	check_quantiles("range ends", v, n, 1);
	free(v);
	free(h);
}

/* One slow event among three million fast ones: seen as max, not smeared. */
static void single_outlier_among_millions(void **state)
{
	enum { N = 3000000 };
	struct rng r = { 7 };
	struct metrics_hist *h = new_hist();
	uint64_t sum = 0, v;
	char why[160];
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		v = rng_range(&r, 50000, 50100);
		sum += v;
		metrics_hist_record(h, v);
	}
	metrics_hist_record(h, 9 * NS_PER_S);
	sum += 9 * NS_PER_S;
	assert_int_equal(metrics_hist_max(h), 9 * NS_PER_S);
	assert_int_equal(metrics_hist_quantile(h, 1.0), 9 * NS_PER_S);
	assert_int_equal(metrics_hist_sum(h), sum);
	if (!quantile_ok(50050, metrics_hist_quantile(h, 0.5), why, sizeof(why)))
		fail_msg("p50: %s", why);
	if (!quantile_ok(50100, metrics_hist_quantile(h, 0.999999), why, sizeof(why)))
		fail_msg("p99.9999: %s", why);
	assert_true(metrics_hist_quantile(h, 0.999999) <=
	            50100); /* the outlier is not in p99.9999 */
	assert_int_equal(metrics_hist_count_le(h, NS_PER_S), N);
	assert_int_equal(metrics_hist_count_le(h, 9 * NS_PER_S), N + 1);
	/* And a single fast one among the slow: the min is exact. */
	metrics_hist_init(h);
	for (i = 0; i < N; i++)
		metrics_hist_record(h, 5000000 + rng_range(&r, 0, 1000));
	metrics_hist_record(h, 1234);
	assert_int_equal(metrics_hist_min(h), 1234);
	assert_int_equal(metrics_hist_quantile(h, 0.0), 1234);
	assert_true(metrics_hist_quantile(h, 0.000001) >= 5000000 * (1 - METRICS_HIST_REL_ERR));
	free(h);
}

/* Merging parts equals recording everything into one, field by field. */
static void merge_equals_recording_into_one(void **state)
{
	enum { PARTS = 7, N = 200000 };
	struct rng r = { 8 };
	struct metrics_hist *all = new_hist(), *sum = new_hist(), *part[PARTS];
	size_t i;

	(void)state;
	for (i = 0; i < PARTS; i++)
		part[i] = new_hist();
	for (i = 0; i < N; i++) {
		uint64_t v = i % 101 == 0 ? rng_u64(&r) >> rng_range(&r, 0, 63)
		                          : rng_log(&r, 1000, 10 * NS_PER_S);
		size_t p = rng_range(&r, 0, PARTS - 2); /* the last part stays empty */

		metrics_hist_record(all, v);
		metrics_hist_record(part[p], v);
	}
	for (i = 0; i < PARTS; i++)
		metrics_hist_merge(sum, part[i]);
	assert_memory_equal(sum, all, sizeof(*all));
	/* Merging into a non-empty histogram adds. */
	metrics_hist_merge(part[0], part[1]);
	metrics_hist_init(sum);
	for (i = 0; i < PARTS; i++)
		if (i != 1)
			metrics_hist_merge(sum, part[i]);
	assert_memory_equal(sum, all, sizeof(*all));
	for (i = 0; i < PARTS; i++)
		free(part[i]);
	free(all);
	free(sum);
}

/* count, min, max, sum, mean are exact. */
static void summary_values_are_exact(void **state)
{
	struct rng r = { 9 };
	struct metrics_hist *h = new_hist();
	uint64_t min = UINT64_MAX, max = 0, sum = 0;
	size_t i;

	(void)state;
	for (i = 0; i < 100000; i++) {
		uint64_t v = rng_log(&r, 10, 20 * NS_PER_S);

		metrics_hist_record(h, v);
		min = v < min ? v : min;
		max = v > max ? v : max;
		sum += v;
	}
	assert_int_equal(metrics_hist_count(h), 100000);
	assert_int_equal(metrics_hist_min(h), min);
	assert_int_equal(metrics_hist_max(h), max);
	assert_int_equal(metrics_hist_sum(h), sum);
	assert_true(metrics_hist_mean(h) == (double)sum / 100000.0);
	free(h);
}

static void empty_histogram_answers_zero(void **state)
{
	struct metrics_hist *h = new_hist();
	struct metrics_bucket b;
	unsigned pos = 0;

	(void)state;
	assert_int_equal(metrics_hist_count(h), 0);
	assert_int_equal(metrics_hist_min(h), 0);
	assert_int_equal(metrics_hist_max(h), 0);
	assert_int_equal(metrics_hist_sum(h), 0);
	assert_true(metrics_hist_mean(h) == 0.0);
	assert_int_equal(metrics_hist_quantile(h, 0.5), 0);
	assert_int_equal(metrics_hist_count_le(h, UINT64_MAX), 0);
	assert_int_equal(metrics_hist_next(h, &pos, &b), 0);
	free(h);
}

/* q below 0, above 1 or NaN is clamped. */
static void quantile_argument_is_clamped(void **state)
{
	struct metrics_hist *h = new_hist();
	uint64_t i;

	(void)state;
	for (i = 1; i <= 1000; i++)
		metrics_hist_record(h, i * 10000);
	assert_int_equal(metrics_hist_quantile(h, -1.0), 10000);
	assert_int_equal(metrics_hist_quantile(h, NAN), 10000);
	assert_int_equal(metrics_hist_quantile(h, 2.0), 10000000);
	assert_int_equal(metrics_hist_quantile(h, INFINITY), 10000000);
	free(h);
}

/* Iteration: ascending non-empty buckets, each holding its values, counts adding up. */
static void iteration_lists_nonempty_buckets(void **state)
{
	struct rng r = { 10 };
	struct metrics_hist *h = new_hist(), *one = new_hist();
	struct metrics_bucket b, prev = { 0, 0, 0 };
	uint64_t total = 0, nb = 0;
	unsigned pos = 0;
	size_t i;

	(void)state;
	for (i = 0; i < 5000; i++)
		metrics_hist_record(h, rng_log(&r, 1000, 100000000));
	while (metrics_hist_next(h, &pos, &b)) {
		assert_true(b.count > 0);
		assert_true(b.lo_ns < b.hi_ns);
		assert_true(b.lo_ns >= prev.hi_ns);
		total += b.count;
		nb++;
		prev = b;
	}
	assert_int_equal(total, metrics_hist_count(h));
	assert_int_equal(metrics_hist_next(h, &pos, &b), 0); /* stays at the end */
	/* Each value is reported inside [lo, hi) of its bucket. */
	for (i = 0; i < 5000; i++) {
		uint64_t v = rng_log(&r, 1000, 10 * NS_PER_S);

		metrics_hist_init(one);
		metrics_hist_record(one, v);
		pos = 0;
		assert_true(metrics_hist_next(one, &pos, &b));
		assert_true(b.lo_ns <= v && v < b.hi_ns);
		assert_int_equal(b.count, 1);
		assert_int_equal(metrics_hist_next(one, &pos, &b), 0);
	}
	assert_true(nb > 100);
	free(h);
	free(one);
}

/* Out-of-range values are kept in the first and last bucket. */
static void iteration_keeps_out_of_range_in_end_buckets(void **state)
{
	struct metrics_hist *h = new_hist();
	struct metrics_bucket b;
	unsigned pos = 0;

	(void)state;
	metrics_hist_record(h, 3);
	metrics_hist_record(h, 1000);
	metrics_hist_record(h, 60 * NS_PER_S);
	assert_true(metrics_hist_next(h, &pos, &b));
	assert_int_equal(b.lo_ns, 1000);
	assert_int_equal(b.count, 2);
	assert_true(metrics_hist_next(h, &pos, &b));
	assert_true(b.lo_ns <= METRICS_HIST_MAX_NS && METRICS_HIST_MAX_NS < b.hi_ns);
	assert_int_equal(b.count, 1);
	assert_int_equal(metrics_hist_next(h, &pos, &b), 0);
	assert_int_equal(metrics_hist_underflow(h), 1);
	assert_int_equal(metrics_hist_overflow(h), 1);
	free(h);
}

/* count_le: monotone, exact at the extremes, off only within the error of the bound. */
static void count_le_brackets_exact_count(void **state)
{
	enum { N = 200000 };
	struct rng r = { 11 };
	struct metrics_hist *h = new_hist();
	uint64_t *v = malloc(N * sizeof(*v)), prev = 0, b;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		v[i] = rng_log(&r, 1000, 10 * NS_PER_S);
		metrics_hist_record(h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	assert_int_equal(metrics_hist_count_le(h, v[0] - 1), 0);
	assert_int_equal(metrics_hist_count_le(h, v[N - 1]), N);
	assert_int_equal(metrics_hist_count_le(h, UINT64_MAX), N);
	for (b = 900; b < 11 * NS_PER_S; b += b / 300 + 1) {
		uint64_t n = metrics_hist_count_le(h, b);
		double lo = (double)b / (1 + METRICS_HIST_REL_ERR),
		       hi = (double)b / (1 - METRICS_HIST_REL_ERR);
		size_t exact_lo = 0, exact_hi = 0;

		assert_true(n >= prev);
		prev = n;
		/* Values v with v * (1 + err) <= b are counted; those with v * (1 - err) > b are
		 * not. */
		while (exact_lo < N && (double)v[exact_lo] <= lo)
			exact_lo++;
		while (exact_hi < N && (double)v[exact_hi] <= hi)
			exact_hi++;
		if (n < exact_lo || n > exact_hi)
			fail_msg("le %llu: %llu counted, exact between %zu and %zu",
			         (unsigned long long)b, (unsigned long long)n, exact_lo, exact_hi);
	}
	free(v);
	free(h);
}

/*
 * count_le agrees with quantile: the value answered for rank r has at
 * least r values <= it and fewer than r below it (ranks 1 and count,
 * answered with the exact min and max, aside).
 */
static void count_le_agrees_with_quantile(void **state)
{
	struct rng r = { 12 };
	struct metrics_hist *h = new_hist();
	size_t i;

	(void)state;
	for (i = 0; i < 50000; i++)
		metrics_hist_record(h, i % 50 ? rng_log(&r, 1000, 10 * NS_PER_S)
		                              : rng_u64(&r) >> rng_range(&r, 20, 63));
	for (i = 0; i <= 1000; i++) {
		double q = i / 1000.0;
		uint64_t v = metrics_hist_quantile(h, q),
		         rank = test_rank(q, metrics_hist_count(h));

		if (rank == 1 || rank == metrics_hist_count(h))
			continue;
		if (metrics_hist_count_le(h, v) < rank || metrics_hist_count_le(h, v - 1) >= rank)
			fail_msg(
			    "q=%.3f: answer %llu, rank %llu, count_le %llu, count_le below %llu", q,
			    (unsigned long long)v, (unsigned long long)rank,
			    (unsigned long long)metrics_hist_count_le(h, v),
			    (unsigned long long)metrics_hist_count_le(h, v - 1));
	}
	free(h);
}

/*
 * A guest's 32-bit buckets can stop counting while its 64-bit totals go
 * on, so a histogram may hold fewer values in its end buckets than it
 * counts as underflow/overflow: answers must stay within [min, max] and
 * [0, count].
 */
static void saturated_buckets_stay_bounded(void **state)
{
	struct metrics_hist *h = new_hist();
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++) {
		metrics_hist_record(h, 500);
		metrics_hist_record(h, 20 * NS_PER_S);
		metrics_hist_record(h, 50000);
	}
	h->bucket[0] = 10; /* as if bucket 0 had stopped at 10 */
	h->bucket[METRICS_HIST_NBUCKETS - 1] = 10;
	/* The in-range parts of the end buckets now count as empty. */
	assert_int_equal(metrics_hist_quantile(h, 0.3), 999);
	assert_true(metrics_hist_quantile(h, 0.5) >= 50000 * (1 - METRICS_HIST_REL_ERR) &&
	            metrics_hist_quantile(h, 0.5) <= 50000 * (1 + METRICS_HIST_REL_ERR));
	assert_int_equal(metrics_hist_quantile(h, 0.9), METRICS_HIST_MAX_NS + 1);
	assert_int_equal(metrics_hist_count_le(h, 999), 100);
	assert_int_equal(metrics_hist_count_le(h, 60000), 200);
	assert_int_equal(metrics_hist_count_le(h, 10 * NS_PER_S), 200);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_is_log_linear_over_range),
		cmocka_unit_test(quantiles_uniform),
		cmocka_unit_test(quantiles_log_uniform),
		cmocka_unit_test(quantiles_bimodal),
		cmocka_unit_test(quantiles_heavy_tailed),
		cmocka_unit_test(quantiles_all_one_value),
		cmocka_unit_test(quantiles_at_bucket_edges),
		cmocka_unit_test(quantiles_at_range_ends_and_outside),
		cmocka_unit_test(single_outlier_among_millions),
		cmocka_unit_test(merge_equals_recording_into_one),
		cmocka_unit_test(summary_values_are_exact),
		cmocka_unit_test(empty_histogram_answers_zero),
		cmocka_unit_test(quantile_argument_is_clamped),
		cmocka_unit_test(iteration_lists_nonempty_buckets),
		cmocka_unit_test(iteration_keeps_out_of_range_in_end_buckets),
		cmocka_unit_test(count_le_brackets_exact_count),
		cmocka_unit_test(count_le_agrees_with_quantile),
		cmocka_unit_test(saturated_buckets_stay_bounded),
	};

	return cmocka_run_group_tests_name("metrics_hist", tests, NULL, NULL);
}
