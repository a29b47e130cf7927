/*
 * What the metrics unit tests share: a seeded random generator and the
 * distributions drawn from it, exact nearest-rank quantiles by sorting,
 * and the check of an estimate against the exact value under the error
 * contract of metrics.h.  Included by each test_metrics_*.c.
 */
#ifndef SHOAL_METRICS_TESTLIB_H
#define SHOAL_METRICS_TESTLIB_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics/metrics.h"

/* splitmix64: small, fast, and the same sequence everywhere. */
struct rng {
	uint64_t s;
};

static inline uint64_t rng_u64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double rng_unit(struct rng *r)
{
	return ((double)(rng_u64(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* Uniform integer in [lo, hi]. */
static inline uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return lo + rng_u64(r) % (hi - lo + 1);
}

/* Log-uniform in [lo, hi]. */
static inline uint64_t rng_log(struct rng *r, uint64_t lo, uint64_t hi)
{
	double v = exp(log((double)lo) + rng_unit(r) * (log((double)hi) - log((double)lo)));

	return v < (double)lo ? lo : v > (double)hi ? hi : (uint64_t)v;
}

static inline double rng_normal(struct rng *r)
{
	return sqrt(-2.0 * log(rng_unit(r))) * cos(2.0 * M_PI * rng_unit(r));
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The rank metrics.h promises: ceil(q * n) with q to 9 decimals, at least 1. */
static inline uint64_t test_rank(double q, uint64_t n)
{
	uint64_t q_e9 = (uint64_t)(q * 1e9 + 0.5);
	uint64_t r = (uint64_t)(((unsigned __int128)q_e9 * n + 999999999u) / 1000000000u);

	return r ? r : 1;
}

/* Exact q-quantile of sorted[0..n). */
static inline uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q)
{
	return sorted[test_rank(q, n) - 1];
}

/*
 * Does est keep the contract for an exact quantile?  In range: within
 * METRICS_HIST_REL_ERR.  Below 1 us: in [exact, 999].  Above 10 s: in
 * [10 s + 1, exact].  On failure, a sentence in why.
 */
static inline int quantile_ok(uint64_t exact, uint64_t est, char *why, size_t len)
{
	int ok;

	if (exact < METRICS_HIST_MIN_NS)
		ok = est >= exact && est <= METRICS_HIST_MIN_NS - 1;
	else if (exact > METRICS_HIST_MAX_NS)
		ok = est >= METRICS_HIST_MAX_NS + 1 && est <= exact;
	else
		ok = fabs((double)est - (double)exact) <= (double)exact * METRICS_HIST_REL_ERR;
	if (!ok)
		snprintf(why, len, "exact %llu, estimate %llu (%+.4f %%)",
		         (unsigned long long)exact, (unsigned long long)est,
		         100.0 * ((double)est - (double)exact) / (double)(exact ? exact : 1));
	return ok;
}

#endif
