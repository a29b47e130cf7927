/*
 * What the metrics files share and nobody else needs: the bucket
 * arithmetic of the log-linear layout described in metrics.h, and the
 * multi-quantile walk the windows use.
 */
#ifndef SHOAL_METRICS_INT_H
#define SHOAL_METRICS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

/*
 * Octave e = floor(log2(v)) is cut into 2^SUB_BITS buckets of width
 * 2^(e - SUB_BITS).  Raw index ((e - E_MIN) << SUB_BITS) + sub counts
 * from 512 ns; the layout starts at raw index FIRST_RAW, whose lower
 * bound is 1,000 ns exactly.
 */
#define METRICS__SUB_BITS 6
#define METRICS__SUB      (1u << METRICS__SUB_BITS)
#define METRICS__E_MIN    9  /* 2^9 = 512 <= 1,000 < 2^10 */
#define METRICS__E_MAX    33 /* 2^33 <= 10^10 < 2^34 */
#define METRICS__FIRST_RAW                                                                         \
	((unsigned)(METRICS_HIST_MIN_NS >> (METRICS__E_MIN - METRICS__SUB_BITS)) - METRICS__SUB)

/* The bucket holding v (out-of-range values clamp to the ends). */
static inline unsigned metrics__bucket_of(uint64_t v)
{
	unsigned e;

	if (v < METRICS_HIST_MIN_NS)
		v = METRICS_HIST_MIN_NS;
	else if (v > METRICS_HIST_MAX_NS)
		v = METRICS_HIST_MAX_NS;
	e = 63u - (unsigned)__builtin_clzll(v);
	return ((e - METRICS__E_MIN) << METRICS__SUB_BITS) +
	       (unsigned)(v >> (e - METRICS__SUB_BITS)) - METRICS__SUB - METRICS__FIRST_RAW;
}

/* Lower bound of bucket i (inclusive). */
static inline uint64_t metrics__bucket_lo(unsigned i)
{
	unsigned raw = i + METRICS__FIRST_RAW;
	unsigned e = (raw >> METRICS__SUB_BITS) + METRICS__E_MIN;

	return (uint64_t)(METRICS__SUB + (raw & (METRICS__SUB - 1))) << (e - METRICS__SUB_BITS);
}

/* Upper bound of bucket i (exclusive). */
static inline uint64_t metrics__bucket_hi(unsigned i)
{
	unsigned raw = i + METRICS__FIRST_RAW;
	unsigned e = (raw >> METRICS__SUB_BITS) + METRICS__E_MIN;

	return metrics__bucket_lo(i) + (1ull << (e - METRICS__SUB_BITS));
}

/*
 * Quantiles q[0..n) (ascending) of h in one pass over the buckets, as
 * metrics_hist_quantile() answers each.  out[] gets 0s when h is empty.
 */
void metrics__hist_quantiles(const struct metrics_hist *h, const double q[], size_t n,
                             uint64_t out[]);

#endif
