/*
 * metrics: the latency bookkeeping behind shoald's probes, as a pure
 * library.  Three pieces: a log-linear latency histogram (hist.c), the
 * per-guest probe record with its sliding windows and since-start
 * counters (guest.c), and Prometheus text exposition (prom.c).
 *
 * The library reads no clock, does no I/O, never logs and never exits.
 * Times are monotonic nanoseconds passed in by the caller; errors are
 * negative errno values (-EINVAL, -ENOMEM, -ENOSPC).  Nothing here is
 * thread-safe: one caller (the daemon's loop) owns each object.
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
#define METRICS_HIST_REL_ERR (1.0 / 128) /* 0.79 % */

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

/* ---- Per-guest probe record (guest.c) ------------------------------ */

/*
 * Everything shoald keeps about one guest's probes:
 *
 *  - the since-start histogram of round-trip times and counters (RTT
 *    samples, their sum, misses) for Prometheus: they never go down.
 *    The histogram keeps 32-bit counts to stay small; a bucket stops at
 *    2^32 - 1 (13 years of 10 probes/s all falling in one 1/64-octave
 *    bucket), while the total count and sum are 64-bit.
 *  - the probe outcomes (RTT or miss) of the last minute, each with its
 *    exact time, from which the sliding windows are computed on demand.
 *    An outcome is 8 bytes: its RTT (saturating at 2^34 - 2 ns, 17.1 s)
 *    and its offset within its second; a small ring of per-second
 *    headers holds the seconds themselves.
 *
 * Both grow with what the guest needs, not with what it might: the
 * histogram keeps only the buckets used (a guest's round trips fill a
 * few dozen of the 1,486; 6 bytes each), and the outcome ring starts
 * at 64 outcomes and doubles when an outcome of the last 64 s would be
 * overwritten, up to max_rate_hz outcomes a second over 64 s.  A guest
 * probed at 2 a second, as shoald's adaptive rate probes a quiet one,
 * holds about 2.5 KiB; metrics_guest_bytes() says what one holds, and
 * metrics_guest_memory_bytes() the most it can (15,196 bytes at 10
 * probes/s, every bucket used and the ring at its largest).
 */
#define METRICS_WINDOW_MAX_NS   60000000000ull /* longest window: 60 s */
#define METRICS_WINDOW_SHORT_NS 10000000000ull /* the 10 s window */
#define METRICS_WINDOW_LONG_NS  METRICS_WINDOW_MAX_NS
#define METRICS_RATE_MAX_HZ     100000u

struct metrics_guest; /* opaque */

/* Statistics of one window; every _ns field is 0 when samples == 0. */
struct metrics_window {
	uint64_t window_ns;
	uint64_t samples; /* RTT samples in the window */
	uint64_t misses;  /* probes missed in the window */
	uint64_t min_ns;  /* exact */
	uint64_t p50_ns;  /* quantiles as metrics_hist_quantile() */
	uint64_t p90_ns;
	uint64_t p99_ns;
	uint64_t p999_ns;
	uint64_t max_ns; /* exact (up to the 17.1 s saturation) */
	/*
	 * 1 when some outcomes that may belong to the window were already
	 * overwritten because the guest was probed faster than max_rate_hz:
	 * the counts and quantiles then cover only the newest outcomes.
	 */
	int truncated;
};

/* Since-start counters; each only ever goes up. */
struct metrics_guest_counters {
	uint64_t samples; /* RTT samples recorded */
	uint64_t sum_ns;  /* their sum, saturating at UINT64_MAX */
	uint64_t misses;  /* probes missed */
};

/*
 * Allocate an empty record for a guest probed at most max_rate_hz times
 * a second (10 is shoald's default; 1..METRICS_RATE_MAX_HZ).  Returns 0
 * and *out, -EINVAL for a rate out of range, -ENOMEM.  Free with
 * metrics_guest_free().
 */
int metrics_guest_new(uint32_t max_rate_hz, struct metrics_guest **out);

/* Free g (NULL is fine). */
void metrics_guest_free(struct metrics_guest *g);

/* The most bytes a record for this rate can hold (0 if out of range). */
size_t metrics_guest_memory_bytes(uint32_t max_rate_hz);
/* The bytes g holds now. */
size_t metrics_guest_bytes(const struct metrics_guest *g);

/*
 * Record a probe answered after rtt_ns, at time now_ns (when the answer
 * came).  Cannot fail: it allocates only when the guest first uses a
 * bucket or its ring must grow (amortized O(1)); without memory, the
 * sample is counted but in no bucket, and the ring keeps its size (its
 * windows may then say truncated).  Times must not go backwards: a
 * now_ns earlier than the previous one is taken as the previous one.
 */
void metrics_guest_rtt(struct metrics_guest *g, uint64_t now_ns, uint64_t rtt_ns);

/* Record a probe not answered in time, at now_ns (same rules). */
void metrics_guest_miss(struct metrics_guest *g, uint64_t now_ns);

/*
 * Statistics of the windows window_ns[0..n) at now_ns, into out[0..n).
 * A window of length W holds the outcomes recorded at t with
 * now_ns - W < t <= now_ns: an outcome stops counting exactly when
 * now_ns reaches t + W.  Window lengths must be ascending, each in
 * (0, METRICS_WINDOW_MAX_NS]; they are computed in one pass, so asking
 * for 10 s and 60 s together costs about what 60 s alone does (a few
 * microseconds at 10 probes/s).  Outcomes recorded after now_ns are not
 * counted; a now_ns in the past sees only as far back as the 64 most
 * recent seconds that have outcomes.  Uses about 12 KiB of stack.
 * Returns 0, or -EINVAL for a bad window list (out is then untouched).
 */
int metrics_guest_windows(const struct metrics_guest *g, uint64_t now_ns, size_t n,
                          const uint64_t window_ns[], struct metrics_window out[]);

/* One window; as metrics_guest_windows(). */
int metrics_guest_window(const struct metrics_guest *g, uint64_t now_ns, uint64_t window_ns,
                         struct metrics_window *out);

/*
 * Add the RTT samples of the window (same rules) into dst, e.g. to list
 * a window's buckets.  Returns 0 or -EINVAL (dst untouched).
 */
int metrics_guest_window_hist(const struct metrics_guest *g, uint64_t now_ns, uint64_t window_ns,
                              struct metrics_hist *dst);

/* Add the guest's since-start RTT histogram into dst. */
void metrics_guest_hist(const struct metrics_guest *g, struct metrics_hist *dst);

/* The guest's since-start counters. */
void metrics_guest_counters(const struct metrics_guest *g, struct metrics_guest_counters *out);

/* ---- Prometheus text exposition, format 0.0.4 (prom.c) ------------- */

/*
 * A text buffer.  Growable (metrics_buf_init, heap memory the buffer
 * owns) or fixed (metrics_buf_init_fixed, the caller's memory, never
 * grown).  data is NUL-terminated and holds len bytes of text.  Every
 * writer below appends all of its lines or nothing: on failure the
 * buffer is left as it was, so it always holds whole lines.  Errors are
 * sticky: after one, every writer returns it and appends nothing, so a
 * caller may write a whole page and check once.
 */
struct metrics_buf {
	char *data;
	size_t len;
	size_t cap;
	int err;   /* 0, -ENOMEM (could not grow) or -ENOSPC (fixed and full) */
	int fixed; /* private */
};

/* Start an empty growable buffer (allocates on first write). */
void metrics_buf_init(struct metrics_buf *b);
/* Use mem[0, size) as the buffer, NUL included (size 0: full from the start). */
void metrics_buf_init_fixed(struct metrics_buf *b, char *mem, size_t size);
/* Empty the buffer and clear its error; keeps its memory. */
void metrics_buf_reset(struct metrics_buf *b);
/* Free a growable buffer's memory (not a fixed one's) and empty it. */
void metrics_buf_free(struct metrics_buf *b);
/* The sticky error: 0, -ENOMEM or -ENOSPC. */
int metrics_buf_error(const struct metrics_buf *b);
/* Append n bytes of text as they are (all or nothing); 0 or the sticky error. */
int metrics_buf_put(struct metrics_buf *b, const char *s, size_t n);
/* Drop the first n bytes (all when n >= len): what a stream has sent. */
void metrics_buf_consume(struct metrics_buf *b, size_t n);

/* A label of a sample: name must match [a-zA-Z_][a-zA-Z0-9_]*, not start with "__". */
struct metrics_label {
	const char *name;
	const char *value; /* any UTF-8 text; escaped on output */
};

enum metrics_prom_type {
	METRICS_PROM_COUNTER,
	METRICS_PROM_GAUGE,
	METRICS_PROM_HISTOGRAM,
};

/* 1 when name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), else 0. */
int metrics_prom_name_ok(const char *name);
/* 1 when name is a valid label name (see struct metrics_label), else 0. */
int metrics_prom_label_name_ok(const char *name);

/*
 * Append s as a label value (\ " and newline escaped as \\ \" \n) or
 * as HELP text (\ and newline escaped).  The writers below do this
 * themselves.  Returns 0 or the buffer's error.
 */
int metrics_prom_escape_label_value(struct metrics_buf *b, const char *s);
int metrics_prom_escape_help(struct metrics_buf *b, const char *s);

/*
 * Start a metric family: "# HELP name help" (skipped when help is NULL)
 * and "# TYPE name type".  Call once per family, then write all of the
 * family's samples before starting another (the format wants a family's
 * lines together).  Returns 0, -EINVAL for an invalid name or type, or
 * the buffer's error.
 */
int metrics_prom_family(struct metrics_buf *b, const char *name, enum metrics_prom_type type,
                        const char *help);

/*
 * One sample line "name{labels} value" of a counter or a gauge.  A
 * gauge's value is written in the shortest form that reads back exactly
 * (NaN, +Inf, -Inf as the format spells them), by the C library, so
 * LC_NUMERIC must stay "C" (a program that never calls setlocale keeps
 * it).  Returns 0, -EINVAL for an invalid or repeated metric or label
 * name or a NULL label value, or the buffer's error.
 */
int metrics_prom_counter(struct metrics_buf *b, const char *name,
                         const struct metrics_label *labels, size_t nlabels, uint64_t value);
int metrics_prom_gauge(struct metrics_buf *b, const char *name, const struct metrics_label *labels,
                       size_t nlabels, double value);

/*
 * The samples of one histogram, in seconds (name should end in
 * _seconds): name_bucket{labels,le="b"} for each bound (nanoseconds,
 * strictly ascending, written as exact decimal seconds), then le="+Inf"
 * (= count), name_sum and name_count.  Bucket counts come from
 * metrics_hist_count_le(), so they never decrease along the bounds.
 * Returns 0, -EINVAL (bad name or labels, a label named "le", bounds not
 * strictly ascending or UINT64_MAX, which +Inf stands for), or the
 * buffer's error.
 */
int metrics_prom_histogram(struct metrics_buf *b, const char *name,
                           const struct metrics_label *labels, size_t nlabels,
                           const struct metrics_hist *h, const uint64_t bounds_ns[],
                           size_t nbounds);

/* A coarse default set of le bounds for RTTs: 10 us .. 10 s, 1-2.5-5 steps. */
extern const uint64_t metrics_prom_rtt_bounds_ns[];
extern const size_t metrics_prom_rtt_nbounds;

#endif
