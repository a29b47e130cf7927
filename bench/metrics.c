/*
 * Figures for the metrics library: memory per guest, the cost of
 * recording a probe, of a guest's window query and of a /metrics page.
 * Prints numbers; never passes or fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "metrics/metrics.h"

#define NS_PER_S 1000000000ull

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* RTT-like values: mostly tens of microseconds, a tail into milliseconds. */
static void fill_values(uint64_t *v, size_t n)
{
	uint64_t s = 88172645463325252ull;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = xorshift(&s);

		v[i] = r % 100 < 95 ? 20000 + r % 60000 : 100000 + r % 20000000;
	}
}

/* A guest with 70 s of probes at rate_hz; returns the time of the last one. */
static uint64_t fill_guest(struct metrics_guest *g, uint32_t rate_hz, const uint64_t *v, size_t nv)
{
	uint64_t t = 1000 * NS_PER_S, step = NS_PER_S / rate_hz;
	size_t i, n = (size_t)rate_hz * 70;

	for (i = 0; i < n; i++, t += step) {
		if (i % 50 == 49)
			metrics_guest_miss(g, t);
		else
			metrics_guest_rtt(g, t, v[i % nv]);
	}
	return t - step;
}

static void bench_window(uint32_t rate_hz, const uint64_t *v, size_t nv)
{
	static const uint64_t both[2] = { METRICS_WINDOW_SHORT_NS, METRICS_WINDOW_LONG_NS };
	struct metrics_window w[2];
	struct metrics_guest *g;
	uint64_t t, t0, t1;
	int i, iters = 20000 / (int)(rate_hz / 10 ? rate_hz / 10 : 1) + 100;

	if (metrics_guest_new(rate_hz, &g)) {
		fprintf(stderr, "metrics_guest_new failed\n");
		exit(1);
	}
	t = fill_guest(g, rate_hz, v, nv);
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		metrics_guest_windows(g, t + (uint64_t)(i % 7), 2, both, w);
		sink += w[1].p99_ns;
	}
	t1 = now_ns();
	printf("window query, 10 s + 60 s together, %5u probes/s (%llu + %llu samples): %7.2f us\n",
	       rate_hz, (unsigned long long)w[0].samples, (unsigned long long)w[1].samples,
	       (double)(t1 - t0) / iters / 1e3);
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		metrics_guest_window(g, t + (uint64_t)(i % 7), METRICS_WINDOW_SHORT_NS, w);
		sink += w[0].p99_ns;
	}
	t1 = now_ns();
	printf("window query, 10 s alone,            %5u probes/s:                     %7.2f us\n",
	       rate_hz, (double)(t1 - t0) / iters / 1e3);
	metrics_guest_free(g);
}

int main(void)
{
	enum { NV = 1 << 20, NREC = 20000000, NGUESTS = 1000 };
	uint64_t *v = malloc(NV * sizeof(*v)), t0, t1, t;
	struct metrics_hist *h = malloc(sizeof(*h));
	struct metrics_guest *g, **guests = calloc(NGUESTS, sizeof(*guests));
	struct metrics_buf b;
	size_t i;
	int k;

	if (!v || !h || !guests)
		return 1;
	fill_values(v, NV);

	printf("per-guest memory: %zu bytes at 10 probes/s, %zu at 100, %zu at 1000 "
	       "(1,000 guests at 10/s: %.1f MiB)\n",
	       metrics_guest_memory_bytes(10), metrics_guest_memory_bytes(100),
	       metrics_guest_memory_bytes(1000),
	       1000.0 * (double)metrics_guest_memory_bytes(10) / (1 << 20));
	printf("struct metrics_hist: %zu bytes\n", sizeof(struct metrics_hist));

	metrics_hist_init(h);
	t0 = now_ns();
	for (i = 0; i < NREC; i++)
		metrics_hist_record(h, v[i & (NV - 1)]);
	t1 = now_ns();
	printf("metrics_hist_record:   %6.2f ns\n", (double)(t1 - t0) / NREC);

	t0 = now_ns();
	for (k = 0; k < 20000; k++)
		sink += metrics_hist_quantile(h, 0.99);
	t1 = now_ns();
	printf("metrics_hist_quantile: %6.2f us (one dense histogram)\n",
	       (double)(t1 - t0) / 20000 / 1e3);

	if (metrics_guest_new(10, &g))
		return 1;
	t = 0;
	t0 = now_ns();
	for (i = 0; i < NREC; i++, t += 100000000ull)
		metrics_guest_rtt(g, t, v[i & (NV - 1)]);
	t1 = now_ns();
	printf("metrics_guest_rtt:     %6.2f ns (since-start histogram + outcome ring)\n",
	       (double)(t1 - t0) / NREC);
	metrics_guest_free(g);

	bench_window(10, v, NV);
	bench_window(100, v, NV);
	bench_window(1000, v, NV);

	/* A /metrics page: 1,000 guests' since-start histograms and miss counters. */
	for (i = 0; i < NGUESTS; i++) {
		if (metrics_guest_new(10, &guests[i]))
			return 1;
		fill_guest(guests[i], 10, v + i, NV - NGUESTS);
	}
	metrics_buf_init(&b);
	t0 = now_ns();
	for (k = 0; k < 10; k++) {
		metrics_buf_reset(&b);
		metrics_prom_family(&b, "shoal_guest_rtt_seconds", METRICS_PROM_HISTOGRAM,
		                    "Probe round-trip time.");
		for (i = 0; i < NGUESTS; i++) {
			char name[32];
			struct metrics_label l = { "guest", name };

			snprintf(name, sizeof(name), "guest-%zu", i);
			metrics_hist_init(h);
			metrics_guest_hist(guests[i], h);
			metrics_prom_histogram(&b, "shoal_guest_rtt_seconds", &l, 1, h,
			                       metrics_prom_rtt_bounds_ns,
			                       metrics_prom_rtt_nbounds);
		}
	}
	t1 = now_ns();
	printf("/metrics RTT histograms of %d guests: %.2f ms, %zu bytes\n", NGUESTS,
	       (double)(t1 - t0) / 10 / 1e6, b.len);
	metrics_buf_free(&b);
	for (i = 0; i < NGUESTS; i++)
		metrics_guest_free(guests[i]);
	free(guests);
	free(h);
	free(v);
	return 0;
}
