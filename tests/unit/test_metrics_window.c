/*
 * Unit tests of the per-guest probe record: window expiry exactly at
 * the boundary, misses per window, window statistics against an exact
 * computation over a log of every outcome, the ring's limits, and the
 * since-start histogram and counters.  Time is driven by the tests.
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
#define W10      METRICS_WINDOW_SHORT_NS
#define W60      METRICS_WINDOW_LONG_NS
#define MISS     UINT64_MAX

/* Every outcome recorded, for the exact answers. */
struct event {
	uint64_t t;
	uint64_t rtt; /* MISS for a miss */
};

struct model {
	struct metrics_guest *g;
	struct event *ev;
	size_t n, cap;
};

static void model_init(struct model *m, uint32_t rate_hz, size_t cap)
{
	assert_int_equal(metrics_guest_new(rate_hz, &m->g), 0);
	m->ev = malloc(cap * sizeof(*m->ev));
	assert_non_null(m->ev);
	m->n = 0;
	m->cap = cap;
}

static void model_free(struct model *m)
{
	metrics_guest_free(m->g);
	free(m->ev);
}

static void model_add(struct model *m, uint64_t t, uint64_t rtt)
{
	assert_true(m->n < m->cap);
	if (rtt == MISS)
		metrics_guest_miss(m->g, t);
	else
		metrics_guest_rtt(m->g, t, rtt);
	m->ev[m->n].t =
	    m->n && t < m->ev[m->n - 1].t ? m->ev[m->n - 1].t : t; /* time held, as documented */
	m->ev[m->n].rtt = rtt;
	m->n++;
}

/* The exact statistics of a window, computed from the log. */
static void model_window(const struct model *m, uint64_t now, uint64_t w,
                         struct metrics_window *out, uint64_t *sorted)
{
	size_t i, n = 0;

	memset(out, 0, sizeof(*out));
	out->window_ns = w;
	for (i = 0; i < m->n; i++) {
		uint64_t t = m->ev[i].t;

		if (t > now || (now >= w && t <= now - w))
			continue;
		if (m->ev[i].rtt == MISS)
			out->misses++;
		else
			sorted[n++] =
			    m->ev[i].rtt > (1ull << 34) - 2 ? (1ull << 34) - 2 : m->ev[i].rtt;
	}
	out->samples = n;
	if (!n)
		return;
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	out->min_ns = sorted[0];
	out->max_ns = sorted[n - 1];
	out->p50_ns = exact_quantile(sorted, n, 0.5);
	out->p90_ns = exact_quantile(sorted, n, 0.9);
	out->p99_ns = exact_quantile(sorted, n, 0.99);
	out->p999_ns = exact_quantile(sorted, n, 0.999);
}

/* The library's window equals the exact one: counts, min, max exactly, quantiles within the error.
 */
static void check_window(const struct model *m, uint64_t now, uint64_t w,
                         const struct metrics_window *got)
{
	struct metrics_window want;
	uint64_t *sorted = malloc((m->n + 1) * sizeof(*sorted));
	char why[160];

	model_window(m, now, w, &want, sorted);
	free(sorted);
	if (got->samples != want.samples || got->misses != want.misses ||
	    got->min_ns != want.min_ns || got->max_ns != want.max_ns || got->window_ns != w ||
	    got->truncated)
		fail_msg("window %llu s at %llu ns: got %llu samples, %llu misses, min %llu, max "
		         "%llu, trunc %d; "
		         "want %llu, %llu, %llu, %llu",
		         (unsigned long long)(w / NS_PER_S), (unsigned long long)now,
		         (unsigned long long)got->samples, (unsigned long long)got->misses,
		         (unsigned long long)got->min_ns, (unsigned long long)got->max_ns,
		         got->truncated, (unsigned long long)want.samples,
		         (unsigned long long)want.misses, (unsigned long long)want.min_ns,
		         (unsigned long long)want.max_ns);
	if (!want.samples) {
		assert_int_equal(got->p50_ns | got->p90_ns | got->p99_ns | got->p999_ns, 0);
		return;
	}
	if (!quantile_ok(want.p50_ns, got->p50_ns, why, sizeof(why)) ||
	    !quantile_ok(want.p90_ns, got->p90_ns, why, sizeof(why)) ||
	    !quantile_ok(want.p99_ns, got->p99_ns, why, sizeof(why)) ||
	    !quantile_ok(want.p999_ns, got->p999_ns, why, sizeof(why)))
		fail_msg("window %llu s at %llu ns: %s", (unsigned long long)(w / NS_PER_S),
		         (unsigned long long)now, why);
}

static int same_window(const struct metrics_window *a, const struct metrics_window *b)
{
	return a->window_ns == b->window_ns && a->samples == b->samples && a->misses == b->misses &&
	       a->min_ns == b->min_ns && a->p50_ns == b->p50_ns && a->p90_ns == b->p90_ns &&
	       a->p99_ns == b->p99_ns && a->p999_ns == b->p999_ns && a->max_ns == b->max_ns &&
	       a->truncated == b->truncated;
}

static uint64_t samples_in(const struct metrics_guest *g, uint64_t now, uint64_t w)
{
	struct metrics_window out;

	assert_int_equal(metrics_guest_window(g, now, w, &out), 0);
	return out.samples;
}

static uint64_t misses_in(const struct metrics_guest *g, uint64_t now, uint64_t w)
{
	struct metrics_window out;

	assert_int_equal(metrics_guest_window(g, now, w, &out), 0);
	return out.misses;
}

static void rejects_bad_rate(void **state)
{
	struct metrics_guest *g = NULL;

	(void)state;
	assert_int_equal(metrics_guest_new(0, &g), -EINVAL);
	assert_int_equal(metrics_guest_new(METRICS_RATE_MAX_HZ + 1, &g), -EINVAL);
	assert_null(g); /* untouched */
	assert_int_equal(metrics_guest_memory_bytes(0), 0);
	assert_int_equal(metrics_guest_new(METRICS_RATE_MAX_HZ, &g), 0);
	metrics_guest_free(g);
	metrics_guest_free(NULL);
}

/*
 * The budget: a guest at shoald's default 10 probes/s fits in 16 KiB at
 * most; one probed at 2 a second for ten minutes, its round trips in 40
 * buckets, holds under 3 KiB; at 10 a second, its ring grows to hold the
 * last 64 s, and no window is truncated on the way.
 */
static void memory_per_guest_within_budget(void **state)
{
	size_t b10 = metrics_guest_memory_bytes(10), quiet;
	struct metrics_guest *g;
	struct metrics_window w;
	uint64_t t = 5 * NS_PER_S;
	int i;

	(void)state;
	assert_true(b10 > 0);
	assert_true(b10 <= 16384);
	/* The ring's limit grows with the rate, the rest does not. */
	assert_int_equal(metrics_guest_memory_bytes(11) - b10,
	                 metrics_guest_memory_bytes(10) - metrics_guest_memory_bytes(9));
	assert_int_equal(metrics_guest_new(13, &g), 0);
	assert_true(metrics_guest_bytes(g) <= 2048);
	for (i = 0; i < 1200; i++, t += NS_PER_S / 2)
		metrics_guest_rtt(g, t, 200000 + (uint64_t)(i % 40) * 3000);
	quiet = metrics_guest_bytes(g);
	assert_true(quiet <= 3072);
	for (i = 0; i < 700; i++, t += NS_PER_S / 10) {
		metrics_guest_rtt(g, t, 200000 + (uint64_t)(i % 40) * 3000);
		assert_int_equal(metrics_guest_window(g, t, METRICS_WINDOW_MAX_NS, &w), 0);
		assert_int_equal(w.truncated, 0);
	}
	/* 60 s at 10 a second in the last window, whole. */
	assert_int_equal(w.samples, 600);
	assert_true(metrics_guest_bytes(g) > quiet);
	assert_true(metrics_guest_bytes(g) <= metrics_guest_memory_bytes(13));
	metrics_guest_free(g);
}

static void rejects_bad_windows(void **state)
{
	struct metrics_guest *g;
	struct metrics_window out[2], poison;
	uint64_t desc[2] = { W60, W10 }, zero = 0, big = W60 + 1;
	struct metrics_hist h;

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	metrics_guest_rtt(g, NS_PER_S, 50000);
	memset(out, 0xa5, sizeof(out));
	poison = out[0];
	assert_int_equal(metrics_guest_windows(g, NS_PER_S, 2, desc, out), -EINVAL);
	assert_int_equal(metrics_guest_windows(g, NS_PER_S, 1, &zero, out), -EINVAL);
	assert_int_equal(metrics_guest_windows(g, NS_PER_S, 1, &big, out), -EINVAL);
	assert_memory_equal(&out[0], &poison, sizeof(poison));
	metrics_hist_init(&h);
	assert_int_equal(metrics_guest_window_hist(g, NS_PER_S, big, &h), -EINVAL);
	assert_int_equal(metrics_hist_count(&h), 0);
	assert_int_equal(metrics_guest_windows(g, NS_PER_S, 0, NULL, NULL), 0);
	metrics_guest_free(g);
}

static void empty_guest_has_empty_windows(void **state)
{
	struct metrics_guest *g;
	struct metrics_window w;
	struct metrics_guest_counters c;

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	assert_int_equal(metrics_guest_window(g, 123 * NS_PER_S, W60, &w), 0);
	assert_int_equal(w.samples | w.misses | w.min_ns | w.p50_ns | w.p999_ns | w.max_ns, 0);
	assert_int_equal(w.truncated, 0);
	assert_int_equal(w.window_ns, W60);
	metrics_guest_counters(g, &c);
	assert_int_equal(c.samples | c.misses | c.sum_ns, 0);
	metrics_guest_free(g);
}

/* A sample at t counts until now reaches t + W, and not a nanosecond longer. */
static void expiry_exact_at_boundary(void **state)
{
	static const uint64_t ts[] = { 5 * NS_PER_S + 300000017ull, 7 * NS_PER_S, 8 * NS_PER_S - 1,
		                       3600 * NS_PER_S + 1 };
	static const uint64_t ws[] = { W10, W60, NS_PER_S, 1, 37 * NS_PER_S + 123 };
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		for (j = 0; j < sizeof(ws) / sizeof(ws[0]); j++) {
			struct metrics_guest *g;
			uint64_t t = ts[i], w = ws[j];

			assert_int_equal(metrics_guest_new(10, &g), 0);
			metrics_guest_rtt(g, t, 42000);
			assert_int_equal(samples_in(g, t, w), 1);
			assert_int_equal(samples_in(g, t + w - 1, w), 1);
			assert_int_equal(samples_in(g, t + w, w), 0);
			assert_int_equal(samples_in(g, t + w + 1, w), 0);
			assert_int_equal(samples_in(g, t - 1, w),
			                 0); /* not yet recorded at t - 1 */
			metrics_guest_free(g);
		}
	}
}

/* Early in the clock (now < W) the window reaches back to time 0. */
static void window_before_clock_reaches_length(void **state)
{
	struct metrics_guest *g;

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	metrics_guest_rtt(g, 0, 42000);
	metrics_guest_rtt(g, 3 * NS_PER_S, 42000);
	assert_int_equal(samples_in(g, 3 * NS_PER_S, W10), 2);
	assert_int_equal(samples_in(g, W10 - 1, W10), 2);
	assert_int_equal(samples_in(g, W10, W10), 1);
	metrics_guest_free(g);
}

/* Misses are counted per window, apart from samples, with the same boundary. */
static void misses_counted_per_window(void **state)
{
	struct metrics_guest *g;
	struct metrics_window w[2];
	const uint64_t both[2] = { W10, W60 };
	uint64_t t0 = 100 * NS_PER_S;

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	metrics_guest_miss(g, t0); /* in 60 s only, by now */
	metrics_guest_rtt(g, t0 + 20 * NS_PER_S, 30000);
	metrics_guest_miss(g, t0 + 55 * NS_PER_S); /* in both */
	metrics_guest_miss(g, t0 + 56 * NS_PER_S); /* in both */
	assert_int_equal(metrics_guest_windows(g, t0 + 60 * NS_PER_S - 1, 2, both, w), 0);
	assert_int_equal(w[0].misses, 2);
	assert_int_equal(w[0].samples, 0);
	assert_int_equal(w[0].max_ns, 0);
	assert_int_equal(w[1].misses, 3);
	assert_int_equal(w[1].samples, 1);
	assert_int_equal(w[1].max_ns, 30000);
	assert_int_equal(misses_in(g, t0 + 60 * NS_PER_S, W60), 2); /* the first miss just left */
	assert_int_equal(misses_in(g, t0 + 65 * NS_PER_S, W10), 1);
	assert_int_equal(misses_in(g, t0 + 66 * NS_PER_S, W10), 0);
	metrics_guest_free(g);
}

/*
 * A guest probed at about 10/s for five minutes, with RTTs log-uniform
 * over the range, 5 % misses and jittered probe times; at random moments
 * both windows are compared with the exact ones.
 */
static void windows_match_exact_computation(void **state)
{
	struct model m;
	struct rng r = { 21 };
	uint64_t t = 1000 * NS_PER_S + 12345, next_q = t;
	const uint64_t both[2] = { W10, W60 };
	int checked = 0;

	(void)state;
	model_init(&m, 10, 4000);
	while (t < 1300 * NS_PER_S) {
		model_add(&m, t, rng_unit(&r) < 0.05 ? MISS : rng_log(&r, 1000, 10 * NS_PER_S));
		t += rng_range(&r, 90, 110) * 1000000ull;
		while (next_q < t) {
			struct metrics_window w[2];

			assert_int_equal(metrics_guest_windows(m.g, next_q, 2, both, w), 0);
			check_window(&m, next_q, W10, &w[0]);
			check_window(&m, next_q, W60, &w[1]);
			checked++;
			next_q += rng_range(&r, 1, 2000) * 1000000ull;
		}
	}
	assert_true(checked > 200);
	model_free(&m);
}

/* The same at 1,000 probes/s: many outcomes per second, the ring wrapping many times. */
static void windows_match_exact_at_high_rate(void **state)
{
	struct model m;
	struct rng r = { 22 };
	uint64_t t = 7 * NS_PER_S, next_q = t + 500 * 1000000ull;
	const uint64_t ws[3] = { NS_PER_S, W10, W60 };

	(void)state;
	model_init(&m, 1000, 200000);
	while (t < 157 * NS_PER_S) {
		model_add(&m, t,
		          rng_unit(&r) < 0.01 ? MISS
		                              : 20000 + (uint64_t)(15000 * fabs(rng_normal(&r))));
		t += rng_range(&r, 900, 1100) * 1000ull;
		if (t > next_q) {
			struct metrics_window w[3];

			assert_int_equal(metrics_guest_windows(m.g, next_q, 3, ws, w), 0);
			check_window(&m, next_q, ws[0], &w[0]);
			check_window(&m, next_q, ws[1], &w[1]);
			check_window(&m, next_q, ws[2], &w[2]);
			next_q += rng_range(&r, 1000, 7000) * 1000000ull;
		}
	}
	model_free(&m);
}

/* Asking for several windows at once answers what asking for each does. */
static void several_windows_equal_one_by_one(void **state)
{
	struct model m;
	struct rng r = { 23 };
	uint64_t t = 50 * NS_PER_S, now;
	const uint64_t ws[4] = { NS_PER_S, W10, W10, W60 };
	struct metrics_window all[4], one;
	size_t i;

	(void)state;
	model_init(&m, 10, 1000);
	for (i = 0; i < 900; i++, t += 100000000ull)
		model_add(&m, t, i % 17 ? rng_log(&r, 1000, 1000000) : MISS);
	for (now = t - 70 * NS_PER_S; now < t + 70 * NS_PER_S; now += 777777777ull) {
		assert_int_equal(metrics_guest_windows(m.g, now, 4, ws, all), 0);
		for (i = 0; i < 4; i++) {
			assert_int_equal(metrics_guest_window(m.g, now, ws[i], &one), 0);
			assert_true(same_window(&one, &all[i]));
		}
	}
	model_free(&m);
}

/* A window's histogram holds exactly the window's RTT samples. */
static void window_hist_holds_window_samples(void **state)
{
	struct model m;
	struct rng r = { 24 };
	struct metrics_hist *got = malloc(sizeof(*got)), *want = malloc(sizeof(*want));
	uint64_t t = 10 * NS_PER_S, now = 75 * NS_PER_S + 5;
	size_t i;

	(void)state;
	model_init(&m, 10, 1000);
	for (i = 0; i < 700; i++, t += 97000000ull)
		model_add(&m, t, i % 9 ? rng_log(&r, 1000, 10 * NS_PER_S) : MISS);
	metrics_hist_init(want);
	for (i = 0; i < m.n; i++)
		if (m.ev[i].t <= now && m.ev[i].t > now - W10 && m.ev[i].rtt != MISS)
			metrics_hist_record(want, m.ev[i].rtt);
	metrics_hist_init(got);
	metrics_hist_record(got, 5000); /* it adds to what dst holds */
	metrics_hist_record(want, 5000);
	assert_int_equal(metrics_guest_window_hist(m.g, now, W10, got), 0);
	assert_memory_equal(got, want, sizeof(*got));
	free(got);
	free(want);
	model_free(&m);
}

/* A now before some outcomes does not count them. */
static void outcomes_after_now_not_counted(void **state)
{
	struct metrics_guest *g;

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	metrics_guest_rtt(g, 20 * NS_PER_S, 1000);
	metrics_guest_rtt(g, 21 * NS_PER_S, 1000);
	metrics_guest_miss(g, 22 * NS_PER_S);
	assert_int_equal(samples_in(g, 20 * NS_PER_S + 5, W10), 1);
	assert_int_equal(misses_in(g, 21 * NS_PER_S, W10), 0);
	assert_int_equal(misses_in(g, 22 * NS_PER_S, W10), 1);
	metrics_guest_free(g);
}

/* A time that goes backwards is held at the last one. */
static void time_going_backwards_is_held(void **state)
{
	struct metrics_guest *g;

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	metrics_guest_rtt(g, 30 * NS_PER_S, 2000);
	metrics_guest_rtt(g, 25 * NS_PER_S, 3000); /* taken as at 30 s */
	assert_int_equal(samples_in(g, 30 * NS_PER_S, W10), 2);
	assert_int_equal(samples_in(g, 40 * NS_PER_S - 1, W10), 2);
	assert_int_equal(samples_in(g, 40 * NS_PER_S, W10), 0);
	metrics_guest_free(g);
}

/* After a long silence the old outcomes are gone, whatever the length of the gap. */
static void long_gaps_forget_old_outcomes(void **state)
{
	static const uint64_t gaps[] = { 61 * NS_PER_S,           64 * NS_PER_S,
		                         65 * NS_PER_S,           3600 * NS_PER_S,
		                         (1ull << 30) + 5,        (1ull << 34) * 3,
		                         49ull * 86400 * NS_PER_S };
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		struct model m;
		uint64_t t = 1000 * NS_PER_S, now;
		struct metrics_window w;

		model_init(&m, 10, 2000);
		for (k = 0; k < 600; k++, t += 100000000ull)
			model_add(&m, t, 1000 + k);
		t += gaps[i];
		for (k = 0; k < 30; k++, t += 100000000ull)
			model_add(&m, t, 900000 + k);
		for (now = t - 5 * NS_PER_S; now < t + 61 * NS_PER_S; now += 1234567891ull) {
			assert_int_equal(metrics_guest_window(m.g, now, W60, &w), 0);
			check_window(&m, now, W60, &w);
			assert_int_equal(metrics_guest_window(m.g, now, W10, &w), 0);
			check_window(&m, now, W10, &w);
		}
		model_free(&m);
	}
}

/*
 * More seconds with outcomes than per-second headers: a guest probed
 * once every 0.9 s for 5 minutes (headers reused many times) still
 * answers exactly.
 */
static void sparse_probes_over_many_seconds(void **state)
{
	struct model m;
	uint64_t t = 3 * NS_PER_S + 999999999ull, now;
	struct metrics_window w;
	size_t k;

	(void)state;
	model_init(&m, 10, 1000);
	for (k = 0; k < 333; k++, t += 900000000ull) {
		model_add(&m, t, 10000 + 100 * k);
		for (now = t; now < t + 900000000ull; now += 300000001ull) {
			assert_int_equal(metrics_guest_window(m.g, now, W60, &w), 0);
			check_window(&m, now, W60, &w);
		}
	}
	model_free(&m);
}

/* A burst within the ring's capacity (640 at 10/s) in one second is all counted. */
static void burst_within_capacity_is_counted(void **state)
{
	struct model m;
	uint64_t t = 42 * NS_PER_S;
	struct metrics_window w;
	size_t k;

	(void)state;
	model_init(&m, 10, 1000);
	for (k = 0; k < 640; k++)
		model_add(&m, t + k * 1000000ull, 5000 + k);
	assert_int_equal(metrics_guest_window(m.g, t + NS_PER_S, W10, &w), 0);
	check_window(&m, t + NS_PER_S, W10, &w);
	assert_int_equal(w.samples, 640);
	model_free(&m);
}

/* Past capacity the oldest outcomes go, and the windows that may miss them say so. */
static void overrun_marks_windows_truncated(void **state)
{
	struct metrics_guest *g;
	struct metrics_window w[2];
	const uint64_t both[2] = { W10, W60 };
	uint64_t t = 100 * NS_PER_S, k;

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	/* 50/s for 60 s: five times the rate the ring was sized for. */
	for (k = 0; k < 3000; k++)
		metrics_guest_rtt(g, t + k * 20000000ull, 10000 + k);
	t += 3000 * 20000000ull;
	assert_int_equal(metrics_guest_windows(g, t, 2, both, w), 0);
	assert_int_equal(w[0].truncated, 0); /* the last 10 s (499) still fit in 640 */
	assert_int_equal(w[0].samples, 499);
	assert_int_equal(w[1].truncated, 1);
	assert_int_equal(w[1].samples, 640);  /* the newest outcomes the ring holds */
	assert_int_equal(w[1].max_ns, 12999); /* newest ones, exactly */
	/* A minute at the planned rate later, the windows are whole again. */
	for (k = 0; k < 600; k++)
		metrics_guest_rtt(g, t + k * 100000000ull, 7000);
	t += 600 * 100000000ull;
	assert_int_equal(metrics_guest_windows(g, t, 2, both, w), 0);
	assert_int_equal(w[0].truncated, 0);
	assert_int_equal(w[1].truncated, 0);
	assert_int_equal(w[1].samples, 599); /* the one at exactly now - 60 s is out */
	metrics_guest_free(g);
}

/* RTTs beyond 17.1 s are kept as 17.1 s in the windows; since-start stays exact. */
static void huge_rtt_saturates_in_window_only(void **state)
{
	struct metrics_guest *g;
	struct metrics_window w;
	struct metrics_hist *h = malloc(sizeof(*h));

	(void)state;
	assert_int_equal(metrics_guest_new(10, &g), 0);
	metrics_guest_rtt(g, NS_PER_S, 1000 * NS_PER_S);
	assert_int_equal(metrics_guest_window(g, NS_PER_S, W10, &w), 0);
	assert_int_equal(w.max_ns, (1ull << 34) - 2);
	metrics_hist_init(h);
	metrics_guest_hist(g, h);
	assert_int_equal(metrics_hist_max(h), 1000 * NS_PER_S);
	assert_int_equal(metrics_hist_overflow(h), 1);
	free(h);
	metrics_guest_free(g);
}

/* The since-start histogram is that of every sample; counters only go up. */
static void since_start_hist_and_counters(void **state)
{
	struct model m;
	struct rng r = { 25 };
	struct metrics_hist *got = malloc(sizeof(*got)), *want = malloc(sizeof(*want));
	struct metrics_guest_counters c, prev = { 0, 0, 0 };
	uint64_t t = NS_PER_S, sum = 0, misses = 0, samples = 0;
	size_t i;

	(void)state;
	model_init(&m, 10, 20000);
	metrics_hist_init(want);
	for (i = 0; i < 20000; i++, t += 100000000ull) {
		uint64_t v = i % 13 ? rng_log(&r, 100, 20 * NS_PER_S) : MISS;

		model_add(&m, t, v);
		if (v == MISS) {
			misses++;
		} else {
			metrics_hist_record(want, v);
			sum += v;
			samples++;
		}
		metrics_guest_counters(m.g, &c);
		assert_true(c.samples >= prev.samples && c.misses >= prev.misses &&
		            c.sum_ns >= prev.sum_ns);
		prev = c;
	}
	assert_int_equal(c.samples, samples);
	assert_int_equal(c.misses, misses);
	assert_int_equal(c.sum_ns, sum);
	metrics_hist_init(got);
	metrics_guest_hist(m.g, got);
	assert_memory_equal(got, want, sizeof(*got));
	/* Adding a second guest's into the same histogram merges. */
	metrics_guest_hist(m.g, got);
	metrics_hist_merge(want, want);
	assert_memory_equal(got, want, sizeof(*got));
	free(got);
	free(want);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rejects_bad_rate),
		cmocka_unit_test(memory_per_guest_within_budget),
		cmocka_unit_test(rejects_bad_windows),
		cmocka_unit_test(empty_guest_has_empty_windows),
		cmocka_unit_test(expiry_exact_at_boundary),
		cmocka_unit_test(window_before_clock_reaches_length),
		cmocka_unit_test(misses_counted_per_window),
		cmocka_unit_test(windows_match_exact_computation),
		cmocka_unit_test(windows_match_exact_at_high_rate),
		cmocka_unit_test(several_windows_equal_one_by_one),
		cmocka_unit_test(window_hist_holds_window_samples),
		cmocka_unit_test(outcomes_after_now_not_counted),
		cmocka_unit_test(time_going_backwards_is_held),
		cmocka_unit_test(long_gaps_forget_old_outcomes),
		cmocka_unit_test(sparse_probes_over_many_seconds),
		cmocka_unit_test(burst_within_capacity_is_counted),
		cmocka_unit_test(overrun_marks_windows_truncated),
		cmocka_unit_test(huge_rtt_saturates_in_window_only),
		cmocka_unit_test(since_start_hist_and_counters),
	};

	return cmocka_run_group_tests_name("metrics_window", tests, NULL, NULL);
}
