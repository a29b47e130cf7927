/*
 * metrics: the latency bookkeeping behind shoald's probes, as a pure
 * library: a log-linear latency histogram (hist.c).
 *
 * The library reads no clock, does no I/O, never logs and never exits.
 * Nothing here is thread-safe: one caller (the daemon's loop) owns each
 * object.
 */
#ifndef SHOAL_METRICS_H
#define SHOAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* ---- Latency histogram (hist.c) ------------------------------------ */

/*
 * Values are nanoseconds.  The tracked range is [1 us, 10 s]; a value
 * below it is counted as underflow and kept in the first bucket, a value
 * above it as overflow and kept in the last one.
 *
 * Bucket layout (HdrHistogram-style, log-linear): every power-of-two
 * octave [2^e, 2^(e+1)) is cut into 64 equal buckets, so a bucket is at
 * most 1/64 of its lower bound wide.  The first bucket starts at exactly
 * 1,000 ns, the last one holds 10 s: 1,486 buckets in all.  A value is
 * stood for by its bucket's midpoint, hence the relative error bound
 * below; the bucket of a value costs one clz and two shifts.
 */
#define METRICS_HIST_MIN_NS   1000ull        /* 1 us */
#define METRICS_HIST_MAX_NS   10000000000ull /* 10 s */
#define METRICS_HIST_NBUCKETS 1486
/* Every quantile is within this relative error of the exact one. */
#define METRICS_HIST_REL_ERR  (1.0 / 128) /* 0.79 % */

/*
 * A dense histogram with 64-bit counts: 11.9 KiB.  Use it for query
 * results, aggregates (many guests merged) and JSON output; its fields
 * are private to hist.c.  Plain memory: embed it, put it on the stack
 * (mind the size) or allocate it; metrics_hist_init() before first use.
 */
struct metrics_hist {
	uint64_t count;
	uint64_t sum_ns; /* saturates at UINT64_MAX */
	uint64_t min_ns; /* UINT64_MAX while empty */
	uint64_t max_ns;
	uint64_t underflow;
	uint64_t overflow;
	uint64_t bucket[METRICS_HIST_NBUCKETS];
};

/* One bucket as iteration reports it: values in [lo_ns, hi_ns). */
struct metrics_bucket {
	uint64_t lo_ns;
	uint64_t hi_ns;
	uint64_t count; /* for the first and last bucket, includes underflow/overflow */
};

/* Make h empty.  Also the way to reset it. */
void metrics_hist_init(struct metrics_hist *h);

/*
 * Count one value.  O(1), no allocation, cannot fail.  min, max and sum
 * keep the exact value, also when it is out of range.
 */
void metrics_hist_record(struct metrics_hist *h, uint64_t value_ns);

/*
 * Add everything counted in src into dst (src is unchanged; dst may
 * already hold values).  The result equals having recorded both sets of
 * values into one histogram.
 */
void metrics_hist_merge(struct metrics_hist *dst, const struct metrics_hist *src);

/* Number of values recorded, including underflow and overflow. */
uint64_t metrics_hist_count(const struct metrics_hist *h);
/* Values below 1 us / above 10 s among them. */
uint64_t metrics_hist_underflow(const struct metrics_hist *h);
uint64_t metrics_hist_overflow(const struct metrics_hist *h);
/* Exact smallest and largest value recorded; 0 when empty. */
uint64_t metrics_hist_min(const struct metrics_hist *h);
uint64_t metrics_hist_max(const struct metrics_hist *h);
/* Exact sum of the values (saturating at UINT64_MAX) and their mean; 0 when empty. */
uint64_t metrics_hist_sum(const struct metrics_hist *h);
double metrics_hist_mean(const struct metrics_hist *h);

/*
 * The q-quantile (0 <= q <= 1, taken to 9 decimal places; outside that
 * or NaN is clamped) by nearest rank: the value of rank ceil(q * count)
 * (at least 1) among the values in ascending order.  Rank 1 and rank
 * count answer the exact min and max.  Otherwise the answer is the
 * representative of the value's bucket, kept within [min, max], and is
 * within METRICS_HIST_REL_ERR of the exact quantile when that lies in
 * [1 us, 10 s].  An exact quantile below 1 us is answered with a value
 * between it and 999 ns; one above 10 s with a value between 10 s + 1 ns
 * and it.  0 when empty.  Cost: one pass over the buckets (1-2 us).
 */
uint64_t metrics_hist_quantile(const struct metrics_hist *h, double q);

/*
 * Number of values <= bound_ns, as the histogram knows them: each value
 * counts as its quantile representative (see above; underflow as 999 ns,
 * overflow as 10 s + 1 ns, all kept within [min, max]).  So it is exact for
 * bound_ns >= max and bound_ns < min, monotone in bound_ns, and
 * otherwise misplaces only values within METRICS_HIST_REL_ERR of
 * bound_ns.  For Prometheus' le buckets.
 */
uint64_t metrics_hist_count_le(const struct metrics_hist *h, uint64_t bound_ns);

/*
 * Iterate over the non-empty buckets in ascending order.  Start with
 * *pos = 0; each call fills *b and returns 1, then 0 when no bucket is
 * left.  *pos is an opaque cursor; h must not change during the walk.
 */
int metrics_hist_next(const struct metrics_hist *h, unsigned *pos, struct metrics_bucket *b);

#endif
