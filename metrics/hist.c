/*
 * The latency histogram: log-linear buckets over [1 us, 10 s] (layout in
 * metrics.h and metrics_int.h), O(1) recording, and the quantile and
 * cumulative-count queries the windows, the JSON API and Prometheus use.
 */
#include <string.h>

#include "metrics_int.h"

_Static_assert(METRICS__FIRST_RAW == 61, "1,000 ns must start a bucket of octave 9");
_Static_assert((1ull << METRICS__E_MAX) <= METRICS_HIST_MAX_NS &&
                   METRICS_HIST_MAX_NS < (2ull << METRICS__E_MAX),
               "10 s must fall in octave E_MAX");
_Static_assert(((METRICS__E_MAX - METRICS__E_MIN) << METRICS__SUB_BITS) +
                       (unsigned)(METRICS_HIST_MAX_NS >> (METRICS__E_MAX - METRICS__SUB_BITS)) -
                       METRICS__SUB - METRICS__FIRST_RAW + 1 ==
                   METRICS_HIST_NBUCKETS,
               "METRICS_HIST_NBUCKETS must end with the bucket of 10 s");
_Static_assert(METRICS_HIST_REL_ERR * 2 * METRICS__SUB == 1.0,
               "error bound is half a bucket's relative width");

/* How the histogram stands for an underflowed / overflowed value. */
#define REP_UNDERFLOW (METRICS_HIST_MIN_NS - 1)
#define REP_OVERFLOW  (METRICS_HIST_MAX_NS + 1)

void metrics_hist_init(struct metrics_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

void metrics_hist_record(struct metrics_hist *h, uint64_t value_ns)
{
	h->bucket[metrics__bucket_of(value_ns)]++;
	h->count++;
	h->sum_ns = add_sat(h->sum_ns, value_ns);
	if (value_ns < h->min_ns)
		h->min_ns = value_ns;
	if (value_ns > h->max_ns)
		h->max_ns = value_ns;
	if (value_ns < METRICS_HIST_MIN_NS)
		h->underflow++;
	else if (value_ns > METRICS_HIST_MAX_NS)
		h->overflow++;
}

void metrics_hist_merge(struct metrics_hist *dst, const struct metrics_hist *src)
{
	unsigned i;

	if (!src->count)
		return;
	for (i = 0; i < METRICS_HIST_NBUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum_ns = add_sat(dst->sum_ns, src->sum_ns);
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	dst->underflow += src->underflow;
	dst->overflow += src->overflow;
}

uint64_t metrics_hist_count(const struct metrics_hist *h)
{
	return h->count;
}

uint64_t metrics_hist_underflow(const struct metrics_hist *h)
{
	return h->underflow;
}

uint64_t metrics_hist_overflow(const struct metrics_hist *h)
{
	return h->overflow;
}

uint64_t metrics_hist_min(const struct metrics_hist *h)
{
	return h->count ? h->min_ns : 0;
}

uint64_t metrics_hist_max(const struct metrics_hist *h)
{
	return h->count ? h->max_ns : 0;
}

uint64_t metrics_hist_sum(const struct metrics_hist *h)
{
	return h->sum_ns;
}

double metrics_hist_mean(const struct metrics_hist *h)
{
	return h->count ? (double)h->sum_ns / (double)h->count : 0.0;
}

/*
 * The histogram read in value order is a list of "cells", each a count
 * and the value standing for it: the underflowed values (999 ns), the
 * in-range part of each bucket (its midpoint; the first and last bucket
 * also hold the underflowed/overflowed values), the overflowed values
 * (10 s + 1 ns); each kept within [min, max].  Cells never overlap in
 * value and their values ascend, so the value of rank r lies in the
 * cell where the running count reaches r.
 */
static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Midpoint of the in-range values of bucket i. */
static uint64_t bucket_rep(unsigned i)
{
	uint64_t lo = metrics__bucket_lo(i), hi = metrics__bucket_hi(i) - 1;

	if (hi > METRICS_HIST_MAX_NS)
		hi = METRICS_HIST_MAX_NS;
	return lo + (hi - lo) / 2;
}

/*
 * The in-range count of bucket i.  Saturating, because a guest's 32-bit
 * buckets may have stopped counting while its underflow and overflow
 * counts went on.
 */
static uint64_t in_range(const struct metrics_hist *h, unsigned i)
{
	uint64_t c = h->bucket[i];

	if (i == 0)
		c = c > h->underflow ? c - h->underflow : 0;
	if (i == METRICS_HIST_NBUCKETS - 1)
		c = c > h->overflow ? c - h->overflow : 0;
	return c;
}

/* ceil(q * n), at least 1, with q rounded to 9 decimal places: exact for 0.999 and friends. */
static uint64_t rank_of(double q, uint64_t n)
{
	uint64_t q_e9;

	if (!(q > 0.0)) /* also NaN */
		q = 0.0;
	if (q > 1.0)
		q = 1.0;
	q_e9 = (uint64_t)(q * 1e9 + 0.5);
	n = (uint64_t)(((unsigned __int128)q_e9 * n + 999999999u) / 1000000000u);
	return n ? n : 1;
}

void metrics__hist_quantiles(const struct metrics_hist *h, const double q[], size_t n,
                             uint64_t out[])
{
	uint64_t rank[8], seen;
	size_t j = 0, k;
	unsigned i;

	if (n > sizeof(rank) / sizeof(rank[0])) { /* more than the windows ask for: one walk each */
		for (k = 0; k < n; k++)
			metrics__hist_quantiles(h, &q[k], 1, &out[k]);
		return;
	}
	for (k = 0; k < n; k++)
		rank[k] = rank_of(q[k], h->count);
	/* Ranks 1 and count are the exact min and max; an empty histogram answers 0. */
	while (j < n && (!h->count || rank[j] == 1)) {
		out[j] = metrics_hist_min(h);
		j++;
	}
	seen = h->underflow;
	while (j < n && rank[j] <= seen && rank[j] < h->count)
		out[j++] = clamp(REP_UNDERFLOW, h->min_ns, h->max_ns);
	/* No bucket below the minimum's holds a count: start there (most guests use a few dozen).
	 */
	i = h->min_ns < METRICS_HIST_MIN_NS ? 0 : metrics__bucket_of(h->min_ns);
	for (; i < METRICS_HIST_NBUCKETS && j < n && rank[j] < h->count; i++) {
		if (!h->bucket[i])
			continue;
		seen += in_range(h, i);
		while (j < n && rank[j] <= seen && rank[j] < h->count)
			out[j++] = clamp(bucket_rep(i), h->min_ns, h->max_ns);
	}
	/* Overflow, and what the count says is there beyond saturated buckets. */
	while (j < n && rank[j] < h->count)
		out[j++] = clamp(REP_OVERFLOW, h->min_ns, h->max_ns);
	while (j < n)
		out[j++] = h->max_ns;
}

uint64_t metrics_hist_quantile(const struct metrics_hist *h, double q)
{
	uint64_t v;

	metrics__hist_quantiles(h, &q, 1, &v);
	return v;
}

uint64_t metrics_hist_count_le(const struct metrics_hist *h, uint64_t bound_ns)
{
	uint64_t n = 0;
	unsigned i, top;

	if (!h->count || bound_ns < h->min_ns)
		return 0;
	if (bound_ns >= h->max_ns)
		return h->count;
	/* From here min <= bound < max: a cell counts when its own value is <= bound. */
	if (clamp(REP_UNDERFLOW, h->min_ns, h->max_ns) <= bound_ns)
		n += h->underflow;
	if (bound_ns < METRICS_HIST_MIN_NS)
		return n; /* every bucket's value is above 1 us */
	/* Buckets below the bound's own have values below it; above it, above it. */
	top = metrics__bucket_of(bound_ns);
	for (i = 0; i < top; i++)
		n += in_range(h, i);
	if (clamp(bucket_rep(top), h->min_ns, h->max_ns) <= bound_ns)
		n += in_range(h, top);
	if (bound_ns > METRICS_HIST_MAX_NS && clamp(REP_OVERFLOW, h->min_ns, h->max_ns) <= bound_ns)
		n += h->overflow;
	return n;
}

int metrics_hist_next(const struct metrics_hist *h, unsigned *pos, struct metrics_bucket *b)
{
	unsigned i;

	for (i = *pos; i < METRICS_HIST_NBUCKETS; i++) {
		if (!h->bucket[i])
			continue;
		b->lo_ns = metrics__bucket_lo(i);
		b->hi_ns = metrics__bucket_hi(i);
		b->count = h->bucket[i];
		*pos = i + 1;
		return 1;
	}
	*pos = METRICS_HIST_NBUCKETS;
	return 0;
}
