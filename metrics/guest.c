/*
 * One guest's probe record: the since-start histogram and counters, and
 * the last minute of probe outcomes from which the sliding windows are
 * computed when asked.  Recording is O(1) and never allocates; a window
 * query walks the outcomes newest first into a scratch histogram.
 *
 * Why outcomes and not per-second histograms: at 10 probes/s a minute is
 * 600 outcomes, 8 bytes each, where 60 dense 1 %-error histograms would
 * be 350 KiB.  Each outcome keeps its exact time, so a window boundary
 * is exact to the nanosecond; the ring of per-second headers (the second
 * and the sequence number of its first outcome) supplies the high bits
 * of the time, which keeps an outcome to 8 bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_int.h"

#define NS_PER_S 1000000000ull

/* An outcome: RTT (or MISS) in the top 34 bits, ns within its second in the low 30. */
#define EV_OFF_BITS 30
#define EV_OFF_MASK ((1ull << EV_OFF_BITS) - 1)
#define EV_MISS     ((1ull << (64 - EV_OFF_BITS)) - 1)
#define EV_RTT_MAX  (EV_MISS - 1) /* 17.1 s: longer RTTs are kept as this */

_Static_assert(NS_PER_S <= EV_OFF_MASK + 1, "an offset within a second must fit the offset field");
_Static_assert(EV_RTT_MAX > METRICS_HIST_MAX_NS, "in-range RTTs must be kept exactly");

/*
 * Per-second headers.  A second gets one when its first outcome comes;
 * 64 of them cover at least the 61 distinct seconds a 60 s window can
 * touch, so a window never needs a header that was reused.
 */
#define NSLOTS       64
#define RING_SECONDS 64 /* the outcome ring holds max_rate_hz times this */

_Static_assert(NSLOTS *NS_PER_S > METRICS_WINDOW_MAX_NS + NS_PER_S,
               "headers must cover the longest window");
_Static_assert(RING_SECONDS *NS_PER_S > METRICS_WINDOW_MAX_NS + NS_PER_S,
               "ring must cover the longest window");

struct slot {
	uint64_t sec;   /* now_ns / 1 s of its outcomes */
	uint64_t first; /* sequence number of its first outcome */
};

struct metrics_guest {
	/* Since start. */
	uint64_t count; /* RTT samples */
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t underflow;
	uint64_t overflow;
	uint64_t misses;
	uint64_t unbucketed; /* samples counted but in no bucket (its array could not grow) */
	/* The last minute. */
	uint64_t last_ns; /* time of the newest outcome */
	uint64_t head;    /* outcomes ever recorded: sequence number of the next */
	uint32_t cap;     /* outcomes the ring holds now */
	uint32_t cap_max; /* and at most: max_rate_hz times RING_SECONDS */
	uint32_t pos;     /* ring index of the next outcome */
	uint32_t slot_head;
	uint32_t nslots;
	/*
	 * The since-start histogram, sparse: the buckets used so far, by
	 * index.  A guest's round trips fill a few dozen of the 1,486.
	 */
	uint32_t nb, nb_cap;
	uint16_t *b_idx;
	uint32_t *b_count; /* saturating */
	uint64_t *ev;      /* cap outcomes, a ring */
	struct slot slot[NSLOTS];
};

/* Outcomes a ring starts with: 12 s at the slowest adaptive rate, 2 Hz, in one 512-byte block. */
#define RING_MIN 64u
/* Buckets the histogram starts with. */
#define BUCKETS_MIN 16u

size_t metrics_guest_memory_bytes(uint32_t max_rate_hz)
{
	if (max_rate_hz < 1 || max_rate_hz > METRICS_RATE_MAX_HZ)
		return 0;
	return sizeof(struct metrics_guest) +
	       (size_t)max_rate_hz * RING_SECONDS * sizeof(uint64_t) +
	       METRICS_HIST_NBUCKETS * (sizeof(uint16_t) + sizeof(uint32_t));
}

size_t metrics_guest_bytes(const struct metrics_guest *g)
{
	return sizeof(*g) + (size_t)g->cap * sizeof(uint64_t) +
	       (size_t)g->nb_cap * (sizeof(uint16_t) + sizeof(uint32_t));
}

int metrics_guest_new(uint32_t max_rate_hz, struct metrics_guest **out)
{
	struct metrics_guest *g;

	if (!metrics_guest_memory_bytes(max_rate_hz))
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->cap_max = max_rate_hz * RING_SECONDS;
	g->cap = g->cap_max < RING_MIN ? g->cap_max : RING_MIN;
	g->ev = malloc((size_t)g->cap * sizeof(uint64_t));
	if (!g->ev) {
		free(g);
		return -ENOMEM;
	}
	g->min_ns = UINT64_MAX;
	g->slot_head = NSLOTS - 1;
	*out = g;
	return 0;
}

void metrics_guest_free(struct metrics_guest *g)
{
	if (!g)
		return;
	free(g->ev);
	free(g->b_idx);
	free(g->b_count);
	free(g);
}

/*
 * The ring is full and the next outcome would overwrite the oldest:
 * grow it (doubling, up to cap_max) when that outcome is still inside
 * the last RING_SECONDS, so that no window loses it.  A ring that
 * cannot grow keeps overwriting, as a full one does at cap_max.
 */
static void ring_maybe_grow(struct metrics_guest *g, uint64_t now_ns)
{
	uint64_t oldest = g->head - g->cap, sec = 0, *ev;
	uint32_t k, cap, i;
	int found = 0;

	if (g->head < g->cap || g->cap >= g->cap_max)
		return;
	/* The second of the oldest outcome: the newest header at or before it. */
	for (k = 0; k < g->nslots; k++) {
		const struct slot *s = &g->slot[(g->slot_head + NSLOTS - k) % NSLOTS];

		if (s->first <= oldest) {
			sec = s->sec;
			found = 1;
			break;
		}
	}
	if (!found || sec + RING_SECONDS <= now_ns / NS_PER_S)
		return;
	cap = g->cap > g->cap_max / 2 ? g->cap_max : g->cap * 2;
	ev = malloc((size_t)cap * sizeof(uint64_t));
	if (!ev)
		return;
	for (i = 0; i < g->cap; i++)
		ev[i] = g->ev[(g->pos + i) % g->cap];
	free(g->ev);
	g->ev = ev;
	g->pos = g->cap;
	g->cap = cap;
}

/* Count one sample in bucket i of the sparse histogram. */
static void bucket_add(struct metrics_guest *g, unsigned i)
{
	uint32_t lo = 0, hi = g->nb;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (g->b_idx[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->nb && g->b_idx[lo] == i) {
		if (g->b_count[lo] != UINT32_MAX)
			g->b_count[lo]++;
		return;
	}
	if (g->nb == g->nb_cap) {
		uint32_t ncap = g->nb_cap ? g->nb_cap * 2 : BUCKETS_MIN;
		uint16_t *bi;
		uint32_t *bc;

		if (ncap > METRICS_HIST_NBUCKETS)
			ncap = METRICS_HIST_NBUCKETS;
		bi = realloc(g->b_idx, ncap * sizeof(*bi));
		if (bi)
			g->b_idx = bi;
		bc = bi ? realloc(g->b_count, ncap * sizeof(*bc)) : NULL;
		if (!bc) {
			g->unbucketed++;
			return;
		}
		g->b_count = bc;
		g->nb_cap = ncap;
	}
	memmove(g->b_idx + lo + 1, g->b_idx + lo, (g->nb - lo) * sizeof(*g->b_idx));
	memmove(g->b_count + lo + 1, g->b_count + lo, (g->nb - lo) * sizeof(*g->b_count));
	g->b_idx[lo] = (uint16_t)i;
	g->b_count[lo] = 1;
	g->nb++;
}

/* Append an outcome at now_ns; times that go backwards are held at the last one. */
static void push(struct metrics_guest *g, uint64_t now_ns, uint64_t val)
{
	uint64_t sec;

	if (now_ns < g->last_ns)
		now_ns = g->last_ns;
	g->last_ns = now_ns;
	sec = now_ns / NS_PER_S;
	if (!g->nslots || g->slot[g->slot_head].sec != sec) {
		g->slot_head = (g->slot_head + 1) % NSLOTS;
		g->slot[g->slot_head].sec = sec;
		g->slot[g->slot_head].first = g->head;
		if (g->nslots < NSLOTS)
			g->nslots++;
	}
	ring_maybe_grow(g, now_ns);
	g->ev[g->pos] = val << EV_OFF_BITS | (now_ns - sec * NS_PER_S);
	if (++g->pos == g->cap)
		g->pos = 0;
	g->head++;
}

void metrics_guest_rtt(struct metrics_guest *g, uint64_t now_ns, uint64_t rtt_ns)
{
	bucket_add(g, metrics__bucket_of(rtt_ns));
	g->count++;
	g->sum_ns = g->sum_ns + rtt_ns < g->sum_ns ? UINT64_MAX : g->sum_ns + rtt_ns;
	if (rtt_ns < g->min_ns)
		g->min_ns = rtt_ns;
	if (rtt_ns > g->max_ns)
		g->max_ns = rtt_ns;
	if (rtt_ns < METRICS_HIST_MIN_NS)
		g->underflow++;
	else if (rtt_ns > METRICS_HIST_MAX_NS)
		g->overflow++;
	push(g, now_ns, rtt_ns > EV_RTT_MAX ? EV_RTT_MAX : rtt_ns);
}

void metrics_guest_miss(struct metrics_guest *g, uint64_t now_ns)
{
	g->misses++;
	push(g, now_ns, EV_MISS);
}

static const double window_q[] = { 0.5, 0.9, 0.99, 0.999 };

static void finish(struct metrics_window *w, uint64_t window_ns, const struct metrics_hist *h,
                   uint64_t misses, int truncated)
{
	uint64_t q[sizeof(window_q) / sizeof(window_q[0])];

	metrics__hist_quantiles(h, window_q, sizeof(window_q) / sizeof(window_q[0]), q);
	w->window_ns = window_ns;
	w->samples = h->count;
	w->misses = misses;
	w->min_ns = metrics_hist_min(h);
	w->p50_ns = q[0];
	w->p90_ns = q[1];
	w->p99_ns = q[2];
	w->p999_ns = q[3];
	w->max_ns = metrics_hist_max(h);
	w->truncated = truncated;
}

/* Is time t before the window of length w ending at now? */
static int before(uint64_t t, uint64_t now, uint64_t w)
{
	return now >= w && t <= now - w;
}

/*
 * Walk the outcomes newest first, recording RTTs into h.  Windows
 * wins[0..n) are ascending; as the walk passes the start of one, its
 * statistics are taken from h into out[] (when out is not NULL).  The
 * walk stops at the start of the longest window, at the oldest outcome
 * the ring still holds, or when the headers run out.
 */
static void walk(const struct metrics_guest *g, uint64_t now, size_t n, const uint64_t wins[],
                 struct metrics_hist *h, struct metrics_window out[])
{
	uint64_t min_seq = g->head > g->cap ? g->head - g->cap : 0;
	uint64_t seq = g->head, misses = 0;
	uint64_t oldest_t = UINT64_MAX; /* time of the oldest outcome seen */
	uint32_t idx = g->pos;
	unsigned k;
	size_t j = 0;

	for (k = 0; k < g->nslots && j < n; k++) {
		const struct slot *s = &g->slot[(g->slot_head + NSLOTS - k) % NSLOTS];
		uint64_t base = s->sec * NS_PER_S, start = s->first > min_seq ? s->first : min_seq;

		if (before(base + NS_PER_S - 1, now, wins[n - 1]))
			break; /* the whole second is older than every window */
		for (; seq > start; seq--) {
			uint64_t e, t;

			idx = idx ? idx - 1 : g->cap - 1;
			e = g->ev[idx];
			t = base + (e & EV_OFF_MASK);
			oldest_t = t;
			while (j < n && before(t, now, wins[j])) {
				if (out)
					finish(&out[j], wins[j], h, misses, 0);
				j++;
			}
			if (j == n)
				break;
			if (t > now)
				continue;
			if (e >> EV_OFF_BITS == EV_MISS)
				misses++;
			else
				metrics_hist_record(h, e >> EV_OFF_BITS);
		}
		if (j < n && s->first < min_seq) {
			/*
			 * The ring overwrote older outcomes of this second.  The
			 * newest of them is no newer than the oldest outcome seen,
			 * nor than the end of the second: the windows reaching past
			 * that may be missing outcomes.
			 */
			uint64_t lost_t =
			    base + NS_PER_S - 1 < oldest_t ? base + NS_PER_S - 1 : oldest_t;

			for (; j < n; j++)
				if (out)
					finish(&out[j], wins[j], h, misses,
					       !before(lost_t, now, wins[j]));
			return;
		}
	}
	for (; j < n; j++)
		if (out)
			finish(&out[j], wins[j], h, misses, 0);
}

static int check_windows(size_t n, const uint64_t wins[])
{
	size_t j;

	for (j = 0; j < n; j++) {
		if (wins[j] == 0 || wins[j] > METRICS_WINDOW_MAX_NS)
			return -EINVAL;
		if (j && wins[j] < wins[j - 1])
			return -EINVAL;
	}
	return 0;
}

/*
 * The windows' histogram, zero between uses: after one, only the buckets
 * between its minimum's and its maximum's are cleared, not all 11.6 KiB
 * (shoald computes every guest's windows each placement period).
 */
static _Thread_local struct metrics_hist scratch;
static _Thread_local int scratch_ready;

static struct metrics_hist *scratch_take(void)
{
	if (!scratch_ready) {
		metrics_hist_init(&scratch);
		scratch_ready = 1;
	}
	return &scratch;
}

static void scratch_give_back(struct metrics_hist *h)
{
	if (h->count) {
		unsigned lo = metrics__bucket_of(h->min_ns), hi = metrics__bucket_of(h->max_ns);

		memset(&h->bucket[lo], 0, (hi - lo + 1) * sizeof(h->bucket[0]));
	}
	h->count = h->sum_ns = h->max_ns = h->underflow = h->overflow = 0;
	h->min_ns = UINT64_MAX;
}

int metrics_guest_windows(const struct metrics_guest *g, uint64_t now_ns, size_t n,
                          const uint64_t window_ns[], struct metrics_window out[])
{
	struct metrics_hist *h;
	int rc;

	rc = check_windows(n, window_ns);
	if (rc)
		return rc;
	if (!n)
		return 0;
	h = scratch_take();
	walk(g, now_ns, n, window_ns, h, out);
	scratch_give_back(h);
	return 0;
}

int metrics_guest_window(const struct metrics_guest *g, uint64_t now_ns, uint64_t window_ns,
                         struct metrics_window *out)
{
	return metrics_guest_windows(g, now_ns, 1, &window_ns, out);
}

int metrics_guest_window_hist(const struct metrics_guest *g, uint64_t now_ns, uint64_t window_ns,
                              struct metrics_hist *dst)
{
	int rc;

	rc = check_windows(1, &window_ns);
	if (rc)
		return rc;
	walk(g, now_ns, 1, &window_ns, dst, NULL);
	return 0;
}

void metrics_guest_hist(const struct metrics_guest *g, struct metrics_hist *dst)
{
	unsigned i;

	if (!g->count)
		return;
	for (i = 0; i < g->nb; i++)
		dst->bucket[g->b_idx[i]] += g->b_count[i];
	dst->count += g->count - g->unbucketed;
	dst->sum_ns = dst->sum_ns + g->sum_ns < dst->sum_ns ? UINT64_MAX : dst->sum_ns + g->sum_ns;
	if (g->min_ns < dst->min_ns)
		dst->min_ns = g->min_ns;
	if (g->max_ns > dst->max_ns)
		dst->max_ns = g->max_ns;
	dst->underflow += g->underflow;
	dst->overflow += g->overflow;
}

void metrics_guest_counters(const struct metrics_guest *g, struct metrics_guest_counters *out)
{
	out->samples = g->count;
	out->sum_ns = g->sum_ns;
	out->misses = g->misses;
}
