/*
 * Re-placement: one control period's plan.  The guests' latency windows
 * update each latency guest's hysteresis; the guests in violation are
 * grouped by the CPU their vCPU 0 runs on (the runtime answers the probe
 * there, so that CPU is what its latency speaks of), the CPUs are taken
 * worst first, and each gets the cheapest remedy that addresses its
 * cause: batch vCPUs off the CPU and its SMT siblings, then latency
 * guests off a crowded CPU, growing the latency set when every latency
 * CPU is crowded.  A CPU that got its remedy, and every guest moved, is
 * left alone for a cooldown: the 10 s windows need that long to show
 * what the move did, and acting on stale windows is how a policy
 * thrashes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* Latency vCPUs of a crowded CPU that may find no target before its relief gives up. */
#define RELIEVE_MISSES 8

/* Work that is no guest's, from this much of a CPU on, is named in a relief's reason. */
#define OTHER_SAY 0.05

/* The fewest latency vCPUs a CPU holds before crowding by number may grow the latency set. */
#define SPREAD_GROW_VCPUS 4

/* What a CPU's remedy came to. */
enum { R_NONE, R_DONE, R_CUT };

struct plan {
	struct sched *s;
	const struct sched_snapshot *snap;
	struct sched_plan *out;
	uint32_t period;
	int grown;                /* the latency set grew in this plan (once at most) */
	size_t ncand;             /* cand[0 .. ncand) hold the violators; the rest is scratch */
	double mean_latency_load; /* over the latency set, as the snapshot came */
	int starved;              /* the batch set is starved in this snapshot */
	char starve_why[SCHED_REASON_MAX];
};

static int full(const struct plan *p)
{
	return p->out->nmoves >= p->s->cfg.moves_max;
}

static const struct sched_guest *guest(const struct plan *p, size_t i)
{
	return &p->snap->guests[i];
}

static int pinned(const struct sched_guest *g)
{
	return sched__cpuset_any(&g->pin);
}

static struct sched_move *add_move(struct plan *p, enum sched_move_kind kind, size_t gi)
{
	struct sched_move *m = &p->out->moves[p->out->nmoves++];

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->guest = gi;
	m->from_cpu = -1;
	m->to_cpu = -1;
	if (gi != SCHED_NO_GUEST) {
		m->guest_id = guest(p, gi)->id;
		memcpy(m->guest_name, guest(p, gi)->name, sizeof(m->guest_name));
	}
	return m;
}

/* ---- Hysteresis ---- */

static const struct sched_window *window_of(const struct sched *s, const struct sched_guest *g)
{
	if ((uint64_t)g->win_short.samples + g->win_short.misses >= s->cfg.min_samples)
		return &g->win_short;
	if ((uint64_t)g->win_long.samples + g->win_long.misses >= s->cfg.min_samples)
		return &g->win_long;
	return NULL;
}

static int missing(const struct sched *s, const struct sched_window *w)
{
	return (double)w->misses > s->cfg.miss_ratio_max * ((double)w->samples + w->misses);
}

/*
 * Entry needs enter_periods judged periods over the SLO in a row; exit
 * needs p99 at or below SLO * (1 - exit_margin).  Between the two the
 * state stays as it was, so a guest hovering at its SLO neither enters
 * nor leaves on every wobble.  A period without enough samples changes
 * nothing.
 */
static void judge(const struct sched *s, const struct sched_guest *g, struct sched__gstate *e)
{
	const struct sched_window *w = window_of(s, g);
	int miss, under;

	e->over = 0;
	if (!w)
		return;
	miss = missing(s, w);
	e->over = miss || w->p99_us > g->slo_us;
	under = !miss && w->p99_us <= (double)g->slo_us * (1.0 - s->cfg.exit_margin);
	if (e->violating && e->viol_periods < UINT32_MAX)
		e->viol_periods++;
	if (e->over) {
		if (e->over_periods < UINT32_MAX)
			e->over_periods++;
		if (!e->violating && e->over_periods >= s->cfg.enter_periods) {
			e->violating = 1;
			e->viol_periods = e->over_periods;
		}
		return;
	}
	e->over_periods = 0;
	if (under) {
		e->violating = 0;
		e->viol_periods = 0;
		e->strikes = 0;
	}
}

/* How far over its SLO, for ordering: p99 / SLO, 10 for missed probes, at most 10. */
static double badness(const struct sched *s, const struct sched_guest *g)
{
	const struct sched_window *w = window_of(s, g);
	double r;

	if (!w || missing(s, w))
		return 10;
	r = (double)w->p99_us / g->slo_us;
	return r > 10 ? 10 : r;
}

/* "p99 1840 us over SLO 1000 us for 3 periods" */
static void say_violation(const struct plan *p, size_t gi, char *buf, size_t len)
{
	const struct sched_guest *g = guest(p, gi);
	const struct sched_window *w = window_of(p->s, g);
	const struct sched__gstate *e = &p->s->gs[gi];
	uint32_t n;

	if (!w)
		return;
	if (missing(p->s, w))
		sched__sayf(buf, len, "%u of %u probes missed", w->misses, w->samples + w->misses);
	else
		sched__sayf(buf, len, "%sp99 %u us over SLO %u us",
		            w == &g->win_long ? "60 s " : "", w->p99_us, g->slo_us);
	/*
	 * Since the violation began: a period between the SLO and the exit
	 * margin ends the streak over it but not the violation.
	 */
	n = e->violating ? e->viol_periods : e->over_periods;
	sched__sayf(buf, len, " for %u period%s", n, n == 1 ? "" : "s");
}

/* "latency guest a-17 p99 1840 us over SLO 1000 us for 3 periods (and 11 more on cpu 3)" */
static void say_group(const struct plan *p, const struct sched__group *grp, char *buf, size_t len)
{
	char lb[24];

	buf[0] = 0;
	sched__sayf(buf, len, "latency guest %s ",
	            sched__label(guest(p, grp->worst), lb, sizeof(lb)));
	say_violation(p, grp->worst, buf, len);
	if (grp->n > 1)
		sched__sayf(buf, len, " (and %u more on cpu %u)", grp->n - 1, grp->cpu);
	else
		sched__sayf(buf, len, " on cpu %u", grp->cpu);
}

/* ---- Moves ---- */

static void cool(const struct sched *s, struct sched__gstate *e, uint32_t period, int strike)
{
	unsigned shift = e->strikes < s->cfg.backoff_max ? e->strikes : s->cfg.backoff_max;

	if (!strike)
		shift = 0;
	e->cooldown_until = period + (s->cfg.cooldown_periods << shift);
	if (strike && e->strikes < UINT32_MAX)
		e->strikes++;
}

/* Pin vCPU v of guest gi from cpu `from` to `to`, keeping loads and history up to date. */
static struct sched_move *pin(struct plan *p, size_t gi, unsigned v, int from, int to)
{
	struct sched *s = p->s;
	const struct sched_guest *g = guest(p, gi);
	struct sched__gstate *e = &s->gs[gi];
	struct sched_move *m = add_move(p, SCHED_MOVE_PIN, gi);

	m->vcpu = v;
	m->from_cpu = from;
	m->to_cpu = to;
	sched__load_move(s, (enum sched_class)s->cls[gi], sched__vcpu_use(s, g), from, to);
	e->moved_mask |= 1u << v;
	if (v == 0) {
		e->left_cpu[1] = e->left_cpu[0];
		e->left_at[1] = e->left_at[0];
		e->left_cpu[0] = (int16_t)from;
		e->left_at[0] = p->period;
	}
	cool(s, e, p->period, s->cls[gi] == SCHED_CLASS_LATENCY);
	return m;
}

/*
 * A batch CPU for a vCPU of batch guest gi leaving cpu `from`, or -1:
 * on its memory's node if it can, and not a CPU it left lately if
 * another will do.
 */
static int batch_target(const struct plan *p, size_t gi, int from)
{
	const struct sched_guest *g = guest(p, gi);
	struct sched__want w;
	int t = -1, pass;

	memset(&w, 0, sizeof(w));
	w.cls = SCHED_CLASS_BATCH;
	w.role = SCHED_ROLE_BATCH;
	w.exclude = from;
	w.apart = 1;
	w.use = sched__vcpu_use(p->s, g);
	w.period = p->period;
	for (pass = 0; pass < 2 && t < 0; pass++) {
		w.left = pass ? NULL : &p->s->gs[gi];
		w.node = g->node;
		if (g->node >= 0)
			t = sched__pick(p->s, &w);
		w.node = -1;
		if (t < 0)
			t = sched__pick(p->s, &w);
	}
	return t;
}

/*
 * Get batch vCPU v of guest gi (on cpu x) out of a latency guest's way:
 * to a batch CPU, or, pinned or with nowhere to go, a lower weight and
 * then the idle policy.  prefix says why; returns 1 when it did
 * something, 0 when nothing is left to do.
 */
static int shift_batch(struct plan *p, size_t gi, unsigned v, int x, const char *prefix)
{
	struct sched *s = p->s;
	const struct sched_guest *g = guest(p, gi);
	struct sched__gstate *e = &s->gs[gi];
	struct sched_move *m;
	unsigned weight = g->weight ? g->weight : s->cfg.weight_default;
	int t = -1;

	if (!pinned(g))
		t = batch_target(p, gi, x);
	if (t >= 0) {
		m = pin(p, gi, v, x, t);
		sched__sayf(m->reason, sizeof(m->reason), "%s: moves to batch cpu %d", prefix, t);
		return 1;
	}
	if (e->demoted)
		return 1;
	if (weight <= s->cfg.weight_low && g->policy == SCHED_POLICY_IDLE)
		return 0;
	m = add_move(p, weight > s->cfg.weight_low ? SCHED_MOVE_WEIGHT : SCHED_MOVE_POLICY, gi);
	sched__sayf(m->reason, sizeof(m->reason), "%s: %s, ", prefix,
	            pinned(g) ? "pinned there by the operator" : "no batch CPU has room for it");
	if (m->kind == SCHED_MOVE_WEIGHT) {
		m->weight = s->cfg.weight_low;
		sched__sayf(m->reason, sizeof(m->reason), "weight %u -> %u", weight, m->weight);
	} else {
		m->policy = SCHED_POLICY_IDLE;
		sched__sayf(m->reason, sizeof(m->reason), "weight already %u, class policy -> idle",
		            weight);
	}
	e->demoted = 1;
	cool(s, e, p->period, 0);
	return 1;
}

static int cmp_cand(const void *a, const void *b)
{
	const struct sched__cand *x = a, *y = b;

	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * The vCPUs of class cls still on cpu x (those moved in this plan
 * skipped) using at least min_use, into cand[at ..], heaviest first.
 * Returns how many.  Callers nest: each passes an `at` past what it
 * still reads (cand holds twice vcpus_max).
 */
static size_t on_cpu(struct plan *p, unsigned x, enum sched_class cls, double min_use, size_t at)
{
	struct sched *s = p->s;
	const struct sched__load *l = &s->load[x];
	size_t n = 0;
	unsigned i;

	for (i = 0; i < l->n; i++) {
		uint32_t slot = s->slot[l->first + i];
		size_t gi = SCHED__SLOT_GUEST(slot);
		const struct sched_guest *g = guest(p, gi);
		double u;

		if (s->cls[gi] != cls || (s->gs[gi].moved_mask >> SCHED__SLOT_VCPU(slot) & 1))
			continue;
		u = sched__vcpu_use(s, g);
		if (u < min_use)
			continue;
		s->cand[at + n].key = -u;
		s->cand[at + n].slot = slot;
		s->cand[at + n].cpu = (int16_t)x;
		n++;
	}
	qsort(s->cand + at, n, sizeof(*s->cand), cmp_cand);
	return n;
}

/*
 * Move the batch vCPUs off cpu x, which joined the latency set.  Those
 * with nowhere to go stay, and x stays evacuating (no latency guest is
 * moved there) until they are gone.
 */
static int evacuate(struct plan *p, unsigned x, size_t at)
{
	struct sched *s = p->s;
	size_t k, n = on_cpu(p, x, SCHED_CLASS_BATCH, 0, at);
	char lb[24];

	for (k = 0; k < n; k++) {
		uint32_t slot = s->cand[at + k].slot;
		size_t gi = SCHED__SLOT_GUEST(slot);
		const struct sched_guest *g = guest(p, gi);
		struct sched_move *m;
		int t;

		if (full(p))
			return R_CUT;
		if (pinned(g))
			continue;
		t = batch_target(p, gi, (int)x);
		if (t < 0)
			continue;
		m = pin(p, gi, SCHED__SLOT_VCPU(slot), (int)x, t);
		sched__sayf(m->reason, sizeof(m->reason),
		            "cpu %u joined the latency set; batch guest %s using %.0f%% moves to "
		            "batch cpu %d",
		            x, sched__label(g, lb, sizeof(lb)), 100 * sched__vcpu_use(s, g), t);
	}
	if (!s->load[x].vcpus[SCHED_CLASS_BATCH])
		s->cpu[x].evacuating = 0;
	return R_DONE;
}

/*
 * What sched__pick() is asked for a latency vCPU leaving cpu c: a CPU of
 * the latency set but c, on any node, not one of the CPUs `left` says the
 * guest left lately (NULL: any), with apart as sched__want says.
 */
static void latency_want(const struct plan *p, struct sched__want *w, unsigned c,
                         const struct sched__gstate *left, int apart)
{
	memset(w, 0, sizeof(*w));
	w->cls = SCHED_CLASS_LATENCY;
	w->role = SCHED_ROLE_LATENCY;
	w->node = -1;
	w->exclude = (int)c;
	w->left = left;
	w->period = p->period;
	w->apart = apart;
}

/*
 * Every latency CPU is crowded: take the batch core with the fewest
 * batch vCPUs (on cpu c's node if it can) into the latency set and start
 * moving its batch vCPUs off.  At most once a plan, never below
 * batch_cores_min.  Returns R_DONE, R_NONE (not possible) or R_CUT (no
 * room in the plan for the role changes).
 */
static int grow(struct plan *p, unsigned c, const char *prefix, size_t at, int by_count)
{
	struct sched *s = p->s;
	const struct sched__core *core;
	struct sched__want w;
	double batch_use = 0;
	unsigned i, x, nbatch = 0;
	int k, least;

	/* batch_cores_min holds only while a batch guest (or one treated as batch) runs. */
	for (x = 0; x < s->host.ncpus; x++)
		nbatch += s->load[x].vcpus[SCHED_CLASS_BATCH];
	if (p->grown || !sched__cores_with_role(s, SCHED_ROLE_BATCH) ||
	    (nbatch && sched__cores_with_role(s, SCHED_ROLE_BATCH) <= s->cfg.batch_cores_min))
		return R_NONE;
	/* A core lately given back to the batch set stays there a while: no flip-flop. */
	if (s->split_to == SCHED_ROLE_BATCH && p->period - s->split_at < s->cfg.split_hold_periods)
		return R_NONE;
	/* A core draining for the batch set is the cheapest growth: it stays a latency core. */
	for (x = 0, i = 0; x < s->host.ncpus; x++) {
		i |= (unsigned)s->cpu[x].draining;
		s->cpu[x].draining = 0;
	}
	if (i)
		return R_NONE;
	/* Only when the least loaded latency CPU with room is crowded too. */
	latency_want(p, &w, c, NULL, 1);
	least = sched__pick(s, &w);
	if (!by_count && least >= 0 && sched__cpu_load(s, (unsigned)least) < s->cfg.load_high)
		return R_NONE;
	/* Crowded by number, not by use: only a batch core nothing runs on. */
	k = sched__find_core(s, SCHED_ROLE_BATCH, (int)s->host.cpu[c].node, by_count);
	if (k < 0)
		return R_NONE;
	core = &s->core[k];
	/* Not when the batch CPUs left could not carry the batch load: that only moves the
	 * overload. */
	for (x = 0; x < s->host.ncpus; x++)
		if (s->cpu[x].role == SCHED_ROLE_BATCH)
			batch_use += sched__cpu_use(s, x);
	if (batch_use > (sched__cpus_with_role(s, SCHED_ROLE_BATCH) - (unsigned)core->guest_cpus) *
	                    s->cfg.batch_pack_use)
		return R_NONE;
	if (p->out->nmoves + (unsigned)core->guest_cpus > s->cfg.moves_max)
		return R_CUT;
	p->grown = 1;
	s->split_at = p->period;
	s->split_to = SCHED_ROLE_LATENCY;
	sched__set_core_role(s, (unsigned)k, SCHED_ROLE_LATENCY);
	for (i = 0; i < core->n; i++) {
		struct sched_move *m;

		x = s->core_cpu[core->first + i];
		if (s->host.cpu[x].dom0)
			continue;
		m = add_move(p, SCHED_MOVE_CPU_ROLE, SCHED_NO_GUEST);
		m->from_cpu = (int)x;
		m->role = SCHED_ROLE_LATENCY;
		sched__sayf(m->reason, sizeof(m->reason), "%s", prefix);
		if (by_count)
			sched__sayf(
			    m->reason, sizeof(m->reason),
			    "; every latency CPU holds about as many latency vCPUs as cpu %u "
			    "(%u), and batch cpu %u runs none",
			    c, s->load[c].vcpus[SCHED_CLASS_LATENCY], x);
		else if (least >= 0)
			sched__sayf(m->reason, sizeof(m->reason),
			            "; the least loaded latency CPU (cpu %d) is at %.2f", least,
			            sched__cpu_load(s, (unsigned)least));
		else
			sched__sayf(m->reason, sizeof(m->reason), "; no latency CPU has room");
		sched__sayf(m->reason, sizeof(m->reason), ": cpu %u joins the latency set", x);
		s->cpu[x].evacuating = s->load[x].vcpus[SCHED_CLASS_BATCH] > 0;
		s->cpu[x].feed = 0;
	}
	for (i = 0; i < core->n; i++) {
		x = s->core_cpu[core->first + i];
		if (s->cpu[x].evacuating && evacuate(p, x, at) == R_CUT)
			break;
	}
	return R_DONE;
}

/*
 * A latency CPU for latency guest gi leaving cpu c where the others
 * load it to `others`: the least loaded one, on the guest's node if that
 * is good enough, that is at least load_margin less loaded (any with
 * room when others is negative).  -1 when there is none.
 */
static int latency_target_from(const struct plan *p, size_t gi, unsigned c, double others,
                               int avoid_left)
{
	const struct sched *s = p->s;
	const struct sched_guest *g = guest(p, gi);
	struct sched__want w;
	int t, pass;

	latency_want(p, &w, c, avoid_left ? &s->gs[gi] : NULL, sched__apart(s));
	for (pass = 0; pass < 2; pass++) {
		w.node = pass ? -1 : g->node >= 0 ? g->node : (int)s->host.cpu[c].node;
		t = sched__pick(s, &w);
		if (t >= 0 &&
		    (others < 0 || sched__cpu_load(s, (unsigned)t) + s->cfg.load_margin <= others))
			return t;
	}
	return -1;
}

static int latency_target(const struct plan *p, size_t gi, unsigned c, double others)
{
	return latency_target_from(p, gi, c, others, 1);
}

/* A latency target for guest gi leaving c, growing the latency set when there is none. */
static int target_or_grow(struct plan *p, const struct sched__group *grp, size_t gi, double others,
                          size_t at, int *cut)
{
	char prefix[SCHED_REASON_MAX];
	int t = latency_target(p, gi, grp->cpu, others);

	*cut = 0;
	if (t >= 0)
		return t;
	say_group(p, grp, prefix, sizeof(prefix));
	if (grow(p, grp->cpu, prefix, at, 0) == R_CUT || full(p)) {
		*cut = 1;
		return -1;
	}
	return latency_target(p, gi, grp->cpu, others);
}

/*
 * Violating latency guests on a CPU outside the latency set (a batch or
 * Dom0 CPU, where the daemon found them): each that may move goes to the
 * least loaded latency CPU.
 */
static int bring_home(struct plan *p, const struct sched__group *grp)
{
	struct sched *s = p->s;
	unsigned c = grp->cpu, k;
	int moved = 0, cut;

	for (k = 0; k < grp->n; k++) {
		size_t gi = SCHED__SLOT_GUEST(s->cand[grp->first + k].slot);
		const struct sched_guest *g = guest(p, gi);
		struct sched_move *m;
		char lb[24];
		int t;

		if (pinned(g))
			continue;
		if (full(p))
			return R_CUT;
		t = target_or_grow(p, grp, gi, -1, p->ncand, &cut);
		if (cut)
			return R_CUT;
		if (t < 0)
			break;
		m = pin(p, gi, 0, (int)c, t);
		sched__sayf(m->reason, sizeof(m->reason), "latency guest %s ",
		            sched__label(g, lb, sizeof(lb)));
		say_violation(p, gi, m->reason, sizeof(m->reason));
		sched__sayf(m->reason, sizeof(m->reason),
		            " on %s cpu %u (%u batch vCPUs): to latency cpu %d",
		            sched_role_str(s->cpu[c].role), c, s->load[c].vcpus[SCHED_CLASS_BATCH],
		            t);
		moved = 1;
	}
	return moved ? R_DONE : R_NONE;
}

/*
 * A crowded latency CPU: move latency vCPUs off it, heaviest first,
 * until its load fell by `relief`.  The heaviest are moved whether or
 * not they violate themselves (a guest's own use does not delay its own
 * probes, so the one crowding a CPU is often fine): one heavy guest moved
 * relieves every guest there.  A vCPU moves only to a CPU at least
 * load_margin less loaded than what it sees here.
 */
static int relieve(struct plan *p, const struct sched__group *grp)
{
	struct sched *s = p->s;
	unsigned c = grp->cpu;
	double goal = sched__cpu_load(s, c) * (1.0 - s->cfg.relief), lowest;
	size_t k, n = on_cpu(p, c, SCHED_CLASS_LATENCY, 0, p->ncand);
	int moved = 0, cut, misses = 0;

	/*
	 * Not below the set's mean (plus the margin): that would only move
	 * the crowding.  Unless the whole set is crowded (load_high): then
	 * relief is what grows it.
	 */
	lowest = p->mean_latency_load + s->cfg.load_margin;
	if (lowest > s->cfg.load_high)
		lowest = s->cfg.load_high;
	if (goal < lowest)
		goal = lowest;
	/* Carry on towards the goal of a relief cut short last period, not a new one from here. */
	if (s->cpu[c].relief_at && s->cpu[c].relief_at + 1 == p->period)
		goal = s->cpu[c].relief_goal;
	for (k = 0; k < n; k++) {
		uint32_t slot = s->cand[p->ncand + k].slot;
		size_t gi = SCHED__SLOT_GUEST(slot);
		const struct sched_guest *g = guest(p, gi);
		const struct sched__gstate *e = &s->gs[gi];
		double u = sched__vcpu_use(s, g), load = sched__cpu_load(s, c);
		struct sched_move *m;
		char lb[24];
		int t;

		if (load <= goal)
			break;
		if (pinned(g) || p->period < e->cooldown_until)
			continue;
		if (full(p)) {
			s->cpu[c].relief_goal = goal;
			s->cpu[c].relief_at = p->period;
			return R_CUT;
		}
		t = target_or_grow(p, grp, gi, load - u, p->ncand + n, &cut);
		if (cut) {
			s->cpu[c].relief_goal = goal;
			s->cpu[c].relief_at = p->period;
			return R_CUT;
		}
		/*
		 * A lighter one sees more of the load and may still gain; but
		 * when several found nowhere, the set is full: stop looking,
		 * so that a host-wide overload costs a plan little.
		 */
		if (t < 0) {
			if (++misses >= RELIEVE_MISSES)
				break;
			continue;
		}
		m = pin(p, gi, SCHED__SLOT_VCPU(slot), (int)c, t);
		if (e->violating && e->over) {
			sched__sayf(m->reason, sizeof(m->reason), "latency guest %s ",
			            sched__label(g, lb, sizeof(lb)));
			say_violation(p, gi, m->reason, sizeof(m->reason));
			sched__sayf(m->reason, sizeof(m->reason), " on cpu %u", c);
		} else {
			say_group(p, grp, m->reason, sizeof(m->reason));
			sched__sayf(m->reason, sizeof(m->reason),
			            "; latency guest %s using %.0f%% moves off",
			            sched__label(g, lb, sizeof(lb)), 100 * u);
		}
		sched__sayf(m->reason, sizeof(m->reason),
		            "; cpu %u is crowded (load %.2f, %u vCPUs", c, load,
		            sched__cpu_vcpus(s, c) + 1);
		if (s->cpu[c].other_use >= OTHER_SAY)
			sched__sayf(m->reason, sizeof(m->reason),
			            ", %.2f of it work that is no guest's", s->cpu[c].other_use);
		sched__sayf(m->reason, sizeof(m->reason), "), cpu %d has load %.2f", t,
		            sched__cpu_load(s, (unsigned)t) - u);
		moved = 1;
	}
	return moved ? R_DONE : R_NONE;
}

/*
 * The latency CPU with the fewest latency vCPUs (of those latency
 * guest gi may go to, not one it left lately) other than c, when it holds
 * at least two fewer than c and, when `clearly`, at most three quarters
 * as many: -1 otherwise.  A spread starts only where the difference is
 * clear (moving one guest between CPUs that hold 80 and 78 helps nobody)
 * and then goes on until the two are even.
 */
static int fewer_target(const struct plan *p, size_t gi, unsigned c, int clearly)
{
	const struct sched *s = p->s;
	struct sched__want w;
	unsigned have, here;
	double u;
	int t;

	latency_want(p, &w, c, &s->gs[gi], sched__apart(s));
	w.by_count = 1;
	t = sched__pick(s, &w);
	if (t < 0)
		return -1;
	have = s->load[t].vcpus[SCHED_CLASS_LATENCY];
	here = s->load[c].vcpus[SCHED_CLASS_LATENCY];
	if (have + 2 > here || (clearly && 4 * have > 3 * here))
		return -1;
	/* Fewer guests, but never more load than it leaves. */
	u = sched__vcpu_use(s, guest(p, gi));
	if (sched__cpu_load(s, (unsigned)t) + u > sched__cpu_load(s, c) - u)
		return -1;
	return t;
}

/*
 * Latency guests over their SLO on a latency CPU that neither batch
 * vCPUs nor its use explain (relieve() found nothing to do): they wait
 * for each other's wake-ups, one after another, and that grows with how
 * many share the CPU however little each uses.  Its violators move, one
 * vCPU at a time, to the latency CPU with the fewest latency vCPUs while
 * that holds at least two fewer; when none does, the latency set takes a
 * batch core nothing runs on (grow(), by count), and they spread there.
 */
static int spread(struct plan *p, const struct sched__group *grp)
{
	struct sched *s = p->s;
	unsigned c = grp->cpu, k;
	int moved = 0;

	for (k = 0; k < grp->n; k++) {
		uint32_t slot = s->cand[grp->first + k].slot;
		size_t gi = SCHED__SLOT_GUEST(slot);
		const struct sched_guest *g = guest(p, gi);
		unsigned n = s->load[c].vcpus[SCHED_CLASS_LATENCY];
		struct sched_move *m;
		char lb[24];
		int t;

		if (pinned(g) || p->period < s->gs[gi].cooldown_until ||
		    (s->gs[gi].moved_mask >> SCHED__SLOT_VCPU(slot) & 1))
			continue;
		if (full(p))
			return R_CUT;
		t = fewer_target(p, gi, c, !moved);
		/* A guest over its SLO alone, or among a few, is not a crowd. */
		if (t < 0 && !moved && !p->grown && grp->n >= 2 && n >= SPREAD_GROW_VCPUS) {
			char prefix[SCHED_REASON_MAX];

			say_group(p, grp, prefix, sizeof(prefix));
			if (grow(p, c, prefix, p->ncand, 1) == R_CUT || full(p))
				return R_CUT;
			t = fewer_target(p, gi, c, 1);
		}
		if (t < 0)
			break;
		m = pin(p, gi, SCHED__SLOT_VCPU(slot), (int)c, t);
		sched__sayf(m->reason, sizeof(m->reason), "latency guest %s ",
		            sched__label(g, lb, sizeof(lb)));
		say_violation(p, gi, m->reason, sizeof(m->reason));
		sched__sayf(
		    m->reason, sizeof(m->reason),
		    " on cpu %u, crowded by number (%u latency vCPUs, load %.2f): to cpu %d "
		    "(%u)",
		    c, n, sched__cpu_load(s, c), t, s->load[t].vcpus[SCHED_CLASS_LATENCY] - 1);
		moved = 1;
	}
	return moved ? R_DONE : R_NONE;
}

/*
 * Batch vCPUs on cpu c, and those on its SMT siblings using at least
 * batch_sibling_use, are the usual cause of a latency guest's wait: its
 * wake-up queues behind a vCPU that runs whole time slices.
 */
static int clear_batch(struct plan *p, const struct sched__group *grp)
{
	struct sched *s = p->s;
	const struct sched__core *core = &s->core[s->cpu_core[grp->cpu]];
	char prefix[SCHED_REASON_MAX], lb[24];
	int acted = 0, waiting = 0;
	unsigned i;

	say_group(p, grp, prefix, sizeof(prefix));
	for (i = 0; i < core->n; i++) {
		unsigned x = s->core_cpu[core->first + i];
		size_t k, n = on_cpu(p, x, SCHED_CLASS_BATCH,
		                     x == grp->cpu ? 0 : s->cfg.batch_sibling_use, p->ncand);

		for (k = 0; k < n; k++) {
			uint32_t slot = s->cand[p->ncand + k].slot;
			size_t gi = SCHED__SLOT_GUEST(slot);
			char why[SCHED_REASON_MAX];

			if (full(p))
				return R_CUT;
			if (p->period < s->gs[gi].cooldown_until) {
				waiting = 1; /* moved or demoted lately: let that show first */
				continue;
			}
			snprintf(why, sizeof(why), "%s", prefix);
			if (x == grp->cpu)
				sched__sayf(why, sizeof(why), "; cpu %u shared with batch guest %s",
				            x, sched__label(guest(p, gi), lb, sizeof(lb)));
			else
				sched__sayf(why, sizeof(why),
				            "; its SMT sibling cpu %u runs batch guest %s", x,
				            sched__label(guest(p, gi), lb, sizeof(lb)));
			sched__sayf(why, sizeof(why), " using %.0f%%",
			            100 * sched__vcpu_use(s, guest(p, gi)));
			acted |= shift_batch(p, gi, SCHED__SLOT_VCPU(slot), (int)x, why);
			/* The sibling's own violators see the same change: they wait for it too. */
			if (x != grp->cpu)
				s->cpu[x].settle_until = p->period + s->cfg.cooldown_periods;
		}
	}
	return acted || waiting ? R_DONE : R_NONE;
}

static int any_pinned(const struct plan *p, const struct sched__group *grp)
{
	unsigned k;

	for (k = 0; k < grp->n; k++)
		if (pinned(guest(p, SCHED__SLOT_GUEST(p->s->cand[grp->first + k].slot))))
			return 1;
	return 0;
}

static int remedy(struct plan *p, const struct sched__group *grp)
{
	int home = p->s->cpu[grp->cpu].role == SCHED_ROLE_LATENCY, r = R_NONE, rb;

	if (!home) {
		/* A latency guest outside the latency set: bring it home. */
		r = bring_home(p, grp);
		if (r == R_CUT || (r == R_DONE && !any_pinned(p, grp)))
			return r;
	}
	rb = clear_batch(p, grp);
	if (rb != R_NONE)
		return rb;
	if (home) {
		r = relieve(p, grp);
		return r == R_NONE ? spread(p, grp) : r;
	}
	return r;
}

/* ---- A latency guest that behaves as batch ---- */

/* The quiet periods a demoted guest needs before it is a latency guest again. */
static uint32_t restore_needs(const struct sched *s, const struct sched__gstate *e)
{
	unsigned shift = e->class_strikes ? e->class_strikes - 1 : 0;

	if (shift > s->cfg.backoff_max)
		shift = s->cfg.backoff_max;
	return s->cfg.restore_periods << shift;
}

/*
 * Count each latency guest's periods above demote_use (or, demoted, at
 * or below restore_use), mark those whose effective class is due to
 * change, and set s->cls[] to the classes as they stand before.  A
 * period without a measurement changes nothing.
 */
static void classify(struct plan *p)
{
	struct sched *s = p->s;
	size_t i;

	for (i = 0; i < p->snap->nguests; i++) {
		const struct sched_guest *g = guest(p, i);
		struct sched__gstate *e = &s->gs[i];
		double u, busy;

		if (g->cls != SCHED_CLASS_LATENCY || !s->cfg.demote_periods) {
			e->eff_batch = 0;
			e->hot_periods = e->quiet_periods = 0;
			s->cls[i] = (uint8_t)g->cls;
			continue;
		}
		s->cls[i] = e->eff_batch ? SCHED_CLASS_BATCH : SCHED_CLASS_LATENCY;
		if (g->cpu_use < 0)
			continue;
		/*
		 * Runnable: running or waiting for a CPU.  A CPU-bound vCPU on
		 * a CPU it shares with others like it uses only its share, and
		 * waits the rest; a quiet one is seldom either.
		 */
		u = sched__vcpu_use(s, g);
		busy = u + sched__vcpu_wait(g);
		if (!e->eff_batch) {
			int hot = u >= s->cfg.demote_use;

			e->hot_busy =
			    !hot && busy >= s->cfg.demote_busy && u >= s->cfg.demote_busy_use;
			e->hot_periods = hot || e->hot_busy ? e->hot_periods + 1 : 0;
			e->reclass = e->hot_periods >= s->cfg.demote_periods;
		} else {
			e->quiet_periods = busy <= s->cfg.restore_use ? e->quiet_periods + 1 : 0;
			e->reclass = e->quiet_periods >= restore_needs(s, e);
		}
	}
}

/* Switch guest gi's vCPUs in the loads from its class now to cls. */
static void reclass_load(struct plan *p, size_t gi, enum sched_class cls)
{
	struct sched *s = p->s;
	const struct sched_guest *g = guest(p, gi);
	double u = sched__vcpu_use(s, g);
	unsigned v;

	for (v = 0; v < g->vcpus; v++) {
		if (g->cpu[v] < 0)
			continue;
		sched__load_move(s, (enum sched_class)s->cls[gi], u, g->cpu[v], -1);
		sched__load_move(s, cls, u, -1, g->cpu[v]);
	}
	s->cls[gi] = (uint8_t)cls;
}

/* vCPUs of guest gi on CPUs whose role is not `role` (those it may leave, unless pinned). */
static unsigned vcpus_outside(const struct plan *p, size_t gi, enum sched_role role)
{
	const struct sched_guest *g = guest(p, gi);
	unsigned v, n = 0;

	for (v = 0; v < g->vcpus; v++)
		n += g->cpu[v] >= 0 && p->s->cpu[g->cpu[v]].role != role;
	return n;
}

/*
 * A guest treated as batch: its vCPUs off the CPUs that are not batch
 * ones, to batch CPUs.  Those with nowhere to go stay, and a latency
 * guest there that suffers gets the batch remedies (weight, policy).
 */
static void demoted_off(struct plan *p, size_t gi, const char *why)
{
	struct sched *s = p->s;
	const struct sched_guest *g = guest(p, gi);
	unsigned v;

	if (pinned(g) || !sched__apart(s))
		return;
	for (v = 0; v < g->vcpus && !full(p); v++) {
		int c = g->cpu[v], t;
		struct sched_move *m;

		if (c < 0 || s->cpu[c].role == SCHED_ROLE_BATCH || (s->gs[gi].moved_mask >> v & 1))
			continue;
		t = batch_target(p, gi, c);
		if (t < 0)
			continue;
		m = pin(p, gi, v, c, t);
		sched__sayf(m->reason, sizeof(m->reason), "%s: off %s cpu %d to batch cpu %d", why,
		            sched_role_str(s->cpu[c].role), c, t);
	}
}

/* A restored guest: its vCPUs on non-latency CPUs to the least loaded latency CPUs. */
static void restored_home(struct plan *p, size_t gi, const char *why)
{
	struct sched *s = p->s;
	const struct sched_guest *g = guest(p, gi);
	unsigned v;

	if (pinned(g))
		return;
	for (v = 0; v < g->vcpus && !full(p); v++) {
		int c = g->cpu[v], t;
		struct sched_move *m;

		if (c < 0 || s->cpu[c].role == SCHED_ROLE_LATENCY)
			continue;
		/*
		 * Back to the latency set, to the CPU it left when it was
		 * demoted if that is the one with room: the class change's own
		 * hysteresis keeps it from flapping, not the return rule.
		 */
		t = latency_target_from(p, gi, (unsigned)c, -1, 0);
		if (t < 0)
			continue;
		m = pin(p, gi, v, c, t);
		sched__sayf(m->reason, sizeof(m->reason),
		            "%s: off %s cpu %d to latency cpu %d (load %.2f)", why,
		            sched_role_str(s->cpu[c].role), c, t,
		            sched__cpu_load(s, (unsigned)t) - sched__vcpu_use(s, g));
	}
}

/*
 * The class changes classify() found due, each with its moves, when
 * the plan has room for all of them (else in a later period; the
 * counts stay); and the vCPUs of guests demoted earlier still on
 * latency CPUs (no batch CPU had room then) moved when one has.
 */
static void reclass(struct plan *p)
{
	struct sched *s = p->s;
	size_t i;

	for (i = 0; i < p->snap->nguests; i++) {
		const struct sched_guest *g = guest(p, i);
		struct sched__gstate *e = &s->gs[i];
		unsigned need, weight = g->weight ? g->weight : s->cfg.weight_default;
		char why[SCHED_REASON_MAX], lb[24];
		struct sched_move *m;

		if (!e->reclass) {
			if (e->eff_batch && p->period >= e->cooldown_until &&
			    vcpus_outside(p, i, SCHED_ROLE_BATCH)) {
				snprintf(why, sizeof(why),
				         "latency guest %s treated as batch (using %.0f%%)",
				         sched__label(g, lb, sizeof(lb)),
				         100 * sched__vcpu_use(s, g));
				demoted_off(p, i, why);
			}
			continue;
		}
		if (!e->eff_batch) {
			need = 1 + (pinned(g) ? 0 : vcpus_outside(p, i, SCHED_ROLE_BATCH));
			if (p->out->nmoves + need > s->cfg.moves_max) {
				p->out->stats.deferred++;
				continue;
			}
			if (e->restored_at && p->period - e->restored_at <= s->cfg.return_periods)
				e->class_strikes++;
			else
				e->class_strikes = 1;
			e->eff_batch = 1;
			e->quiet_periods = 0;
			e->violating = 0;
			e->viol_periods = 0;
			e->over_periods = 0;
			reclass_load(p, i, SCHED_CLASS_BATCH);
			m = add_move(p, SCHED_MOVE_CLASS, i);
			m->cls = SCHED_CLASS_BATCH;
			if (e->hot_busy)
				sched__sayf(m->reason, sizeof(m->reason),
				            "latency guest %s has been runnable %.0f%% of the time "
				            "per vCPU for %u periods, using %.0f%% of a CPU and "
				            "waiting for one the rest (%.0f%% or more makes it "
				            "batch-like): treated as a batch guest while it is, "
				            "kept off the latency CPUs",
				            sched__label(g, lb, sizeof(lb)),
				            100 * (sched__vcpu_use(s, g) + sched__vcpu_wait(g)),
				            e->hot_periods, 100 * sched__vcpu_use(s, g),
				            100 * s->cfg.demote_busy);
			else
				sched__sayf(
				    m->reason, sizeof(m->reason),
				    "latency guest %s has used %.0f%% of a CPU per vCPU for "
				    "%u periods (%.0f%% or more makes it batch-like): "
				    "treated as a batch guest while it does, kept off the "
				    "latency CPUs",
				    sched__label(g, lb, sizeof(lb)), 100 * sched__vcpu_use(s, g),
				    e->hot_periods, 100 * s->cfg.demote_use);
			snprintf(why, sizeof(why), "latency guest %s is CPU-bound (using %.0f%%)",
			         sched__label(g, lb, sizeof(lb)), 100 * sched__vcpu_use(s, g));
			demoted_off(p, i, why);
			e->hot_periods = 0;
			continue;
		}
		need = 1 + (pinned(g) ? 0 : vcpus_outside(p, i, SCHED_ROLE_LATENCY)) +
		       (weight != s->cfg.weight_default) + (g->policy != SCHED_POLICY_NORMAL);
		if (p->out->nmoves + need > s->cfg.moves_max) {
			p->out->stats.deferred++;
			continue;
		}
		e->eff_batch = 0;
		e->restored_at = p->period;
		reclass_load(p, i, SCHED_CLASS_LATENCY);
		m = add_move(p, SCHED_MOVE_CLASS, i);
		m->cls = SCHED_CLASS_LATENCY;
		sched__sayf(m->reason, sizeof(m->reason),
		            "latency guest %s has used %.0f%% or less of a CPU per vCPU, waits "
		            "for one included, for %u periods: a latency guest again",
		            sched__label(g, lb, sizeof(lb)), 100 * s->cfg.restore_use,
		            e->quiet_periods);
		snprintf(why, sizeof(why), "latency guest %s is quiet again",
		         sched__label(g, lb, sizeof(lb)));
		restored_home(p, i, why);
		if (weight != s->cfg.weight_default) {
			m = add_move(p, SCHED_MOVE_WEIGHT, i);
			m->weight = s->cfg.weight_default;
			sched__sayf(m->reason, sizeof(m->reason), "%s: weight %u -> %u", why,
			            weight, m->weight);
		}
		if (g->policy != SCHED_POLICY_NORMAL) {
			m = add_move(p, SCHED_MOVE_POLICY, i);
			m->policy = SCHED_POLICY_NORMAL;
			sched__sayf(m->reason, sizeof(m->reason), "%s: class policy -> normal",
			            why);
		}
		e->quiet_periods = 0;
	}
	for (i = 0; i < p->snap->nguests; i++)
		p->out->stats.demoted += s->gs[i].eff_batch;
}

/*
 * Under batch_spill, every batch guest (or latency guest treated as
 * batch) that shoald places runs at the idle policy, so that its vCPUs
 * give up the latency CPUs they may use the moment a latency guest wakes.
 * Admission gives a new batch guest the policy; this sets it on those
 * that lack it (a demoted guest, one re-adopted from a daemon without
 * batch_spill).
 */
static void spill_policy(struct plan *p)
{
	struct sched *s = p->s;
	size_t i;

	if (!s->cfg.batch_spill)
		return;
	for (i = 0; i < p->snap->nguests && !full(p); i++) {
		const struct sched_guest *g = guest(p, i);
		struct sched_move *m;
		char lb[24];

		if (g->policy == SCHED_POLICY_IDLE || pinned(g) ||
		    (g->cls != SCHED_CLASS_BATCH && !s->gs[i].eff_batch))
			continue;
		m = add_move(p, SCHED_MOVE_POLICY, i);
		m->policy = SCHED_POLICY_IDLE;
		sched__sayf(m->reason, sizeof(m->reason),
		            "%s guest %s: class policy -> idle, so that it may use the latency "
		            "CPUs' idle time and gives it up the moment a latency guest wakes",
		            g->cls == SCHED_CLASS_BATCH ? "batch" : "latency-as-batch",
		            sched__label(g, lb, sizeof(lb)));
	}
}

/* ---- shoald's own CPU ---- */

/* "shoald probes from cpu 3" or "shoald probes from cpu 35, cpu 3's SMT sibling" */
static void say_prober(const struct sched *s, unsigned c, char *buf, size_t len)
{
	const struct sched__core *core = &s->core[s->cpu_core[c]];
	unsigned i, x;

	if (sched_cpuset_has(&s->prober, c)) {
		sched__sayf(buf, len, "shoald probes from cpu %u", c);
		return;
	}
	for (i = 0; i < core->n; i++) {
		x = s->core_cpu[core->first + i];
		if (sched_cpuset_has(&s->prober, x)) {
			sched__sayf(buf, len, "shoald probes from cpu %u, cpu %u's SMT sibling", x,
			            c);
			return;
		}
	}
}

/*
 * Batch vCPUs (or latency guests treated as batch) on a CPU the prober
 * runs on, or on an SMT sibling of one, delay every probe's wake-up:
 * each moves to a batch CPU away from it, when one has room.
 */
static void clear_prober(struct plan *p)
{
	struct sched *s = p->s;
	unsigned c;

	for (c = 0; c < s->host.ncpus && !full(p); c++) {
		size_t k, n;

		if (!s->cpu[c].near_prober || !s->load[c].vcpus[SCHED_CLASS_BATCH])
			continue;
		n = on_cpu(p, c, SCHED_CLASS_BATCH, 0, p->ncand);
		for (k = 0; k < n && !full(p); k++) {
			uint32_t slot = s->cand[p->ncand + k].slot;
			size_t gi = SCHED__SLOT_GUEST(slot);
			const struct sched_guest *g = guest(p, gi);
			struct sched_move *m;
			char lb[24];
			int t;

			if (pinned(g) || p->period < s->gs[gi].cooldown_until)
				continue;
			t = batch_target(p, gi, (int)c);
			if (t < 0)
				continue;
			m = pin(p, gi, SCHED__SLOT_VCPU(slot), (int)c, t);
			say_prober(s, c, m->reason, sizeof(m->reason));
			sched__sayf(m->reason, sizeof(m->reason),
			            ": %s guest %s using %.0f%% moves to batch cpu %d",
			            g->cls == SCHED_CLASS_BATCH ? "batch" : "batch-like",
			            sched__label(g, lb, sizeof(lb)), 100 * sched__vcpu_use(s, g),
			            t);
		}
	}
}

/* ---- The split the other way: a core back to starved batch guests ---- */

/* The CPUs left to the latency set must hold its vCPUs within this share of their limit. */
#define GIVE_ROOM 0.9

/*
 * Whether the batch set is starved in this snapshot (before any move):
 * every batch CPU at starve_use or more, and its vCPUs wanting more
 * than the batch CPUs give at batch_pack_use each, a hungry one (at
 * hungry_use or more of a full CPU) counted as wanting a whole CPU.
 * Says so in p->starve_why.
 */
static int batch_starved(struct plan *p)
{
	struct sched *s = p->s;
	unsigned c, i, ncpus = 0, hungry = 0;
	double want = 0;

	p->starve_why[0] = 0;
	for (c = 0; c < s->host.ncpus; c++) {
		const struct sched__load *l = &s->load[c];

		if (s->cpu[c].role != SCHED_ROLE_BATCH)
			continue;
		ncpus++;
		if (sched__cpu_use(s, c) < s->cfg.starve_use)
			return 0;
		for (i = 0; i < l->n; i++) {
			size_t gi = SCHED__SLOT_GUEST(s->slot[l->first + i]);
			double u;

			if (s->cls[gi] != SCHED_CLASS_BATCH)
				continue;
			u = sched__vcpu_use(s, guest(p, gi));
			if (u >= s->cfg.hungry_use) {
				hungry++;
				want += 1;
			} else {
				want += u;
			}
		}
	}
	if (!ncpus || want <= ncpus * s->cfg.batch_pack_use)
		return 0;
	snprintf(p->starve_why, sizeof(p->starve_why),
	         "batch guests starved: every batch CPU at %.0f%% or more, %u busy batch vCPUs "
	         "(%.1f CPUs of work) on %u batch CPUs",
	         100 * s->cfg.starve_use, hungry, want, ncpus);
	return 1;
}

/*
 * Whether the latency set can do without `lost` of its CPUs: its mean
 * load over the rest below give_load, and its vCPUs within GIVE_ROOM of
 * their limit there.  *mean is that load.
 */
static int latency_spares(const struct plan *p, unsigned lost, double *mean)
{
	const struct sched *s = p->s;
	unsigned c, n = 0, vcpus = 0;
	double sum = 0;

	*mean = 0;
	for (c = 0; c < s->host.ncpus; c++) {
		if (s->cpu[c].role != SCHED_ROLE_LATENCY)
			continue;
		n++;
		sum += sched__cpu_load(s, c);
		vcpus += s->load[c].vcpus[SCHED_CLASS_LATENCY];
	}
	if (n <= lost)
		return 0;
	*mean = sum / (n - lost);
	return *mean < s->cfg.give_load &&
	       vcpus <= GIVE_ROOM * s->cfg.latency_vcpus_per_cpu * (n - lost);
}

/* 1 when the prober runs on a CPU outside core k (so it can leave k). */
static int prober_elsewhere(const struct sched *s, unsigned k)
{
	unsigned c;

	for (c = sched__cpuset_first_from(&s->prober, 0); c < s->host.ncpus;
	     c = sched__cpuset_first_from(&s->prober, c + 1))
		if (s->cpu_core[c] != k)
			return 1;
	return 0;
}

/*
 * The latency core to give back, or -1: one the prober does not need,
 * with no operator-pinned latency guest, not evacuating; an empty one
 * first, then the fewest latency vCPUs, then the least use.
 */
static int core_to_give(const struct plan *p)
{
	const struct sched *s = p->s;
	unsigned k, i, j, best_nl = 0, best_nv = 0;
	int best = -1, best_near = 0;
	double best_use = 0;

	for (k = 0; k < s->ncores; k++) {
		const struct sched__core *core = &s->core[k];
		unsigned nl = 0, nv = 0;
		double use = 0;
		int skip = 0, near = 0;

		if (!core->guest_cpus || sched__core_role(s, k) != SCHED_ROLE_LATENCY)
			continue;
		for (i = 0; i < core->n && !skip; i++) {
			unsigned c = s->core_cpu[core->first + i];
			const struct sched__load *l = &s->load[c];

			if (s->host.cpu[c].dom0)
				continue;
			skip |= s->cpu[c].evacuating || s->cpu[c].draining;
			near |= s->cpu[c].near_prober;
			nl += l->vcpus[SCHED_CLASS_LATENCY];
			nv += sched__cpu_vcpus(s, c);
			use += sched__cpu_use(s, c);
			for (j = 0; j < l->n; j++) {
				size_t gi = SCHED__SLOT_GUEST(s->slot[l->first + j]);

				if (s->cls[gi] == SCHED_CLASS_LATENCY && pinned(guest(p, gi)))
					skip = 1;
			}
		}
		if (skip || (near && !prober_elsewhere(s, k)))
			continue;
		if (best < 0 || near < best_near ||
		    (near == best_near &&
		     ((nv == 0) > (best_nv == 0) ||
		      ((nv == 0) == (best_nv == 0) &&
		       (nl < best_nl || (nl == best_nl && use < best_use)))))) {
			best = (int)k;
			best_near = near;
			best_nl = nl;
			best_nv = nv;
			best_use = use;
		}
	}
	return best;
}

/* "batch guests starved ...", or what is known of it in a period that did not measure it. */
static void say_starved(const struct plan *p, char *buf, size_t len)
{
	sched__sayf(buf, len, "%s",
	            p->starve_why[0] ? p->starve_why : "batch guests starved lately");
}

/*
 * Move the latency vCPUs off core k, which goes back to the batch set,
 * to the least loaded latency CPUs.  Not a strike against the guests:
 * nothing is wrong with them.  Returns 1 when none is left on it.
 */
static int drain(struct plan *p, unsigned k)
{
	struct sched *s = p->s;
	const struct sched__core *core = &s->core[k];
	unsigned i, left = 0;

	for (i = 0; i < core->n; i++) {
		unsigned x = s->core_cpu[core->first + i];
		size_t j, n;

		if (s->host.cpu[x].dom0)
			continue;
		n = on_cpu(p, x, SCHED_CLASS_LATENCY, 0, p->ncand);
		for (j = 0; j < n && !full(p); j++) {
			uint32_t slot = s->cand[p->ncand + j].slot;
			size_t gi = SCHED__SLOT_GUEST(slot);
			const struct sched_guest *g = guest(p, gi);
			struct sched__gstate *e = &s->gs[gi];
			uint32_t strikes = e->strikes;
			struct sched_move *m;
			char lb[24];
			int t;

			if (pinned(g))
				continue;
			/*
			 * The core leaves the latency set: the return rule does not
			 * hold its guests there, but where they go it holds if it can.
			 */
			t = latency_target_from(p, gi, x, -1, 1);
			if (t < 0)
				t = latency_target_from(p, gi, x, -1, 0);
			if (t < 0)
				continue;
			m = pin(p, gi, SCHED__SLOT_VCPU(slot), (int)x, t);
			e->strikes = strikes;
			say_starved(p, m->reason, sizeof(m->reason));
			sched__sayf(
			    m->reason, sizeof(m->reason),
			    "; cpu %u goes back to the batch set: latency guest %s moves to "
			    "latency cpu %d (load %.2f)",
			    x, sched__label(g, lb, sizeof(lb)), t,
			    sched__cpu_load(s, (unsigned)t) - sched__vcpu_use(s, g));
		}
		left += s->load[x].vcpus[SCHED_CLASS_LATENCY];
	}
	return !left;
}

/*
 * A CPU given back to the batch set: the heaviest hungry batch vCPU of
 * the batch CPU with the most of them (two at least: one alone has its
 * CPU) moves onto it.  1 when it did, or there was none to move.
 */
static int feed(struct plan *p, unsigned x)
{
	struct sched *s = p->s;
	unsigned c, i, most = 1;
	int from = -1;
	size_t k, n;

	for (c = 0; c < s->host.ncpus; c++) {
		const struct sched__load *l = &s->load[c];
		unsigned hungry = 0;

		if (s->cpu[c].role != SCHED_ROLE_BATCH || s->cpu_core[c] == s->cpu_core[x])
			continue;
		for (i = 0; i < l->n; i++) {
			size_t gi = SCHED__SLOT_GUEST(s->slot[l->first + i]);

			hungry +=
			    s->cls[gi] == SCHED_CLASS_BATCH &&
			    !(s->gs[gi].moved_mask >> SCHED__SLOT_VCPU(s->slot[l->first + i]) &
			      1) &&
			    sched__vcpu_use(s, guest(p, gi)) >= s->cfg.hungry_use;
		}
		if (hungry > most) {
			most = hungry;
			from = (int)c;
		}
	}
	if (from < 0)
		return 1;
	n = on_cpu(p, (unsigned)from, SCHED_CLASS_BATCH, s->cfg.hungry_use, p->ncand);
	for (k = 0; k < n; k++) {
		uint32_t slot = s->cand[p->ncand + k].slot;
		size_t gi = SCHED__SLOT_GUEST(slot);
		const struct sched_guest *g = guest(p, gi);
		struct sched_move *m;
		char lb[24];

		if (pinned(g) || p->period < s->gs[gi].cooldown_until)
			continue;
		if (full(p))
			return 0;
		m = pin(p, gi, SCHED__SLOT_VCPU(slot), from, (int)x);
		say_starved(p, m->reason, sizeof(m->reason));
		sched__sayf(m->reason, sizeof(m->reason),
		            "; batch guest %s using %.0f%% moves from batch cpu %d (%u busy batch "
		            "vCPUs) to cpu %u, given back to the batch set",
		            sched__label(g, lb, sizeof(lb)), 100 * sched__vcpu_use(s, g), from,
		            most, x);
		return 1;
	}
	return 1;
}

/* Core k, drained, becomes batch: one move per CPU, then the starved batch vCPUs spread. */
static void give_core(struct plan *p, unsigned k, double mean)
{
	struct sched *s = p->s;
	const struct sched__core *core = &s->core[k];
	unsigned i, x;

	sched__set_core_role(s, k, SCHED_ROLE_BATCH);
	for (i = 0; i < core->n; i++) {
		struct sched_move *m;

		x = s->core_cpu[core->first + i];
		if (s->host.cpu[x].dom0)
			continue;
		s->cpu[x].draining = 0;
		s->cpu[x].feed = 1;
		m = add_move(p, SCHED_MOVE_CPU_ROLE, SCHED_NO_GUEST);
		m->from_cpu = (int)x;
		m->role = SCHED_ROLE_BATCH;
		say_starved(p, m->reason, sizeof(m->reason));
		sched__sayf(m->reason, sizeof(m->reason),
		            "; the latency set's mean load is %.2f on %u CPUs without it: cpu %u "
		            "joins the batch set",
		            mean, sched__cpus_with_role(s, SCHED_ROLE_LATENCY), x);
	}
	s->split_at = p->period;
	s->split_to = SCHED_ROLE_BATCH;
	s->starved_periods = 0;
	s->fed_periods = 0;
}

/*
 * The batch set starved for give_periods while the latency set could
 * spare a core: drain one and give it back (see give_periods in
 * scheduler.h).  One core at a time; a drain carries on over the
 * periods it needs, and stops when the batch set has been fed for
 * give_periods or the latency set can no longer spare the core.
 */
/* Batch guests (or ones treated as batch) run, on fewer batch cores than batch_cores_min. */
static int batch_below_min(const struct plan *p)
{
	const struct sched *s = p->s;
	unsigned c, nbatch = 0;

	for (c = 0; c < s->host.ncpus; c++)
		nbatch += s->load[c].vcpus[SCHED_CLASS_BATCH];
	return nbatch && sched__cores_with_role(s, SCHED_ROLE_BATCH) < s->cfg.batch_cores_min;
}

static void give_back(struct plan *p)
{
	struct sched *s = p->s;
	const struct sched__core *core;
	unsigned c, i, lost = 0;
	int k = -1, below_min;
	double mean = 0;

	if (!s->cfg.give_periods)
		return;
	s->starved_periods = p->starved ? s->starved_periods + 1 : 0;
	for (c = 0; c < s->host.ncpus; c++) {
		if (s->cpu[c].draining) {
			k = (int)s->cpu_core[c];
			lost++;
		}
		/* A CPU given back takes a starved batch vCPU once it is clear of the prober. */
		if (s->cpu[c].feed && (s->cpu[c].role != SCHED_ROLE_BATCH ||
		                       (!s->cpu[c].near_prober && !full(p) && feed(p, c))))
			s->cpu[c].feed = 0;
	}
	below_min = batch_below_min(p);
	if (below_min)
		snprintf(
		    p->starve_why, sizeof(p->starve_why),
		    "batch guests run and the batch set has %u cores, below batch-cores-min %u "
		    "(the latency set grew past it while none ran)",
		    sched__cores_with_role(s, SCHED_ROLE_BATCH), s->cfg.batch_cores_min);
	if (k >= 0) {
		s->fed_periods = p->starved ? 0 : s->fed_periods + 1;
		if (!below_min &&
		    (s->fed_periods >= s->cfg.give_periods || !latency_spares(p, lost, &mean))) {
			for (c = 0; c < s->host.ncpus; c++)
				s->cpu[c].draining = 0;
			return;
		}
		core = &s->core[k];
		if (drain(p, (unsigned)k) &&
		    p->out->nmoves + (unsigned)core->guest_cpus <= s->cfg.moves_max)
			give_core(p, (unsigned)k, mean);
		return;
	}
	/*
	 * Batch guests running with fewer batch cores than batch_cores_min:
	 * the latency set grew past it while none ran, and that cause is
	 * gone.  Starvation's guards do not apply (its latency guests may be
	 * over their SLO because batch guests now share their CPUs).
	 */
	if (p->grown || sched__cores_with_role(s, SCHED_ROLE_LATENCY) <= s->cfg.latency_cores_min)
		return;
	if (!below_min && (s->starved_periods < s->cfg.give_periods || p->out->stats.violating ||
	                   (s->split_to == SCHED_ROLE_LATENCY &&
	                    p->period - s->split_at < s->cfg.split_hold_periods)))
		return;
	for (c = 0; c < s->host.ncpus; c++)
		if (s->cpu[c].evacuating)
			return;
	k = core_to_give(p);
	if (k < 0)
		return;
	core = &s->core[k];
	if (!latency_spares(p, (unsigned)core->guest_cpus, &mean) && !below_min)
		return;
	if (below_min)
		snprintf(
		    p->starve_why, sizeof(p->starve_why),
		    "batch guests run and the batch set has %u cores, below batch-cores-min %u "
		    "(the latency set grew past it while none ran)",
		    sched__cores_with_role(s, SCHED_ROLE_BATCH), s->cfg.batch_cores_min);
	for (i = 0; i < core->n; i++) {
		c = s->core_cpu[core->first + i];
		if (!s->host.cpu[c].dom0)
			s->cpu[c].draining = 1;
	}
	s->fed_periods = 0;
	if (drain(p, (unsigned)k) &&
	    p->out->nmoves + (unsigned)core->guest_cpus <= s->cfg.moves_max)
		give_core(p, (unsigned)k, mean);
}

/* ---- The plan ---- */

static int cmp_group(const void *a, const void *b)
{
	const struct sched__group *x = a, *y = b;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

/*
 * Carry each guest's history over into gs_next in snapshot order, found
 * by (id, name).  A duplicate is an error; gs and index are untouched
 * until the caller swaps.
 */
static int remember(struct sched *s, const struct sched_snapshot *snap, char *why, size_t len)
{
	size_t i, mask = s->index_mask;

	memset(s->index_next, 0, (mask + 1) * sizeof(*s->index_next));
	for (i = 0; i < snap->nguests; i++) {
		const struct sched_guest *g = &snap->guests[i];
		struct sched__gstate *n = &s->gs_next[i];
		uint64_t h = sched__key_hash(g->id, g->name);
		const struct sched__gstate *old = NULL;
		size_t pos;

		for (pos = h & mask; s->index_next[pos]; pos = (pos + 1) & mask) {
			const struct sched__gstate *d = &s->gs_next[s->index_next[pos] - 1];

			if (d->hash == h && d->id == g->id && !strcmp(d->name, g->name)) {
				char lb[24];

				sched__sayf(
				    why, len,
				    "snapshot guest %zu (%s): the same id and name as guest %u", i,
				    sched__label(g, lb, sizeof(lb)), s->index_next[pos] - 1);
				return -EINVAL;
			}
		}
		s->index_next[pos] = (uint32_t)(i + 1);
		for (pos = h & mask; s->index[pos]; pos = (pos + 1) & mask) {
			const struct sched__gstate *d = &s->gs[s->index[pos] - 1];

			if (d->hash == h && d->id == g->id && !strcmp(d->name, g->name)) {
				old = d;
				break;
			}
		}
		if (old) {
			*n = *old;
		} else {
			memset(n, 0, sizeof(*n));
			n->left_cpu[0] = n->left_cpu[1] = -1;
			n->id = g->id;
			n->hash = h;
			memcpy(n->name, g->name, sizeof(n->name));
		}
		n->cls = (uint8_t)g->cls;
		n->over = 0;
		n->demoted = 0;
		n->reclass = 0;
		n->moved_mask = 0;
	}
	return 0;
}

static void swap_memory(struct sched *s, size_t n)
{
	struct sched__gstate *t = s->gs;
	uint32_t *ti = s->index;

	s->gs = s->gs_next;
	s->gs_next = t;
	s->index = s->index_next;
	s->index_next = ti;
	s->ngs = n;
}

/*
 * Judge every latency guest and collect the violators that may be acted
 * upon now into cand[], grouped by CPU (heaviest first within a CPU).
 * Returns the number of groups in s->group.
 */
static unsigned collect(struct plan *p)
{
	struct sched *s = p->s;
	struct sched_plan_stats *st = &p->out->stats;
	unsigned ngroups = 0;
	size_t i, k;

	p->ncand = 0;
	for (i = 0; i < p->snap->nguests; i++) {
		const struct sched_guest *g = guest(p, i);
		struct sched__gstate *e = &s->gs[i];
		int c = g->cpu[0];

		if (g->cls != SCHED_CLASS_LATENCY)
			continue;
		st->latency_guests++;
		if (s->cls[i] != SCHED_CLASS_LATENCY) {
			/* Treated as batch: its own latency is not acted upon. */
			e->over_periods = 0;
			e->violating = 0;
			e->viol_periods = 0;
			continue;
		}
		judge(s, g, e);
		st->over_slo += e->over;
		st->violating += e->violating;
		if (!e->violating || !e->over || c < 0)
			continue;
		if (p->period < e->cooldown_until || p->period < s->cpu[c].settle_until) {
			st->cooling++;
			continue;
		}
		s->cand[p->ncand].key = -sched__vcpu_use(s, g);
		s->cand[p->ncand].slot = SCHED__SLOT(i, 0);
		s->cand[p->ncand].cpu = (int16_t)c;
		p->ncand++;
	}
	qsort(s->cand, p->ncand, sizeof(*s->cand), cmp_cand);
	for (k = 0; k < p->ncand; k++) {
		size_t gi = SCHED__SLOT_GUEST(s->cand[k].slot);
		struct sched__group *grp = &s->group[ngroups ? ngroups - 1 : 0];
		double b = badness(s, guest(p, gi));

		if (!ngroups || grp->cpu != (unsigned)s->cand[k].cpu) {
			grp = &s->group[ngroups++];
			grp->cpu = (unsigned)s->cand[k].cpu;
			grp->first = (unsigned)k;
			grp->n = 0;
			grp->severity = 0;
			grp->worst = gi;
		}
		if (b > badness(s, guest(p, grp->worst)))
			grp->worst = gi;
		grp->severity += b;
		grp->n++;
	}
	qsort(s->group, ngroups, sizeof(*s->group), cmp_group);
	return ngroups;
}

int sched_plan(struct sched *s, const struct sched_snapshot *snap, struct sched_plan *out)
{
	struct plan p;
	unsigned ngroups, k, c;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s || !snap) {
		sched__sayf(out->error, sizeof(out->error), "sched_plan: s and snap are required");
		return -EINVAL;
	}
	if (snap->nguests > s->cfg.guests_max) {
		sched__sayf(out->error, sizeof(out->error),
		            "snapshot: %zu guests; the state was made for %zu", snap->nguests,
		            s->cfg.guests_max);
		return -ENOSPC;
	}
	rc = sched__check_snapshot(s, snap, out->error, sizeof(out->error));
	if (rc)
		return rc;
	if (s->have_now && snap->now_ns < s->now_ns) {
		sched__sayf(out->error, sizeof(out->error),
		            "snapshot: now_ns %llu is before the last plan's %llu",
		            (unsigned long long)snap->now_ns, (unsigned long long)s->now_ns);
		return -EINVAL;
	}
	out->moves = calloc(s->cfg.moves_max, sizeof(*out->moves));
	if (!out->moves)
		return -ENOMEM;
	rc = remember(s, snap, out->error, sizeof(out->error));
	if (rc) {
		sched_plan_free(out);
		return rc;
	}

	/* From here on nothing fails. */
	swap_memory(s, snap->nguests);
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.snap = snap;
	p.out = out;
	p.period = s->period + 1;
	out->stats.period = p.period;
	out->stats.guests = snap->nguests;
	classify(&p);
	sched__load_build(s, snap, 1);
	for (c = 0; c < s->host.ncpus; c++)
		if (s->cpu[c].evacuating && !s->load[c].vcpus[SCHED_CLASS_BATCH])
			s->cpu[c].evacuating = 0;
	p.starved = !s->cfg.batch_spill && batch_starved(&p);
	reclass(&p);
	spill_policy(&p);

	for (c = 0, k = 0; c < s->host.ncpus; c++) {
		if (s->cpu[c].role == SCHED_ROLE_LATENCY) {
			p.mean_latency_load += sched__cpu_load(s, c);
			k++;
		}
	}
	if (k)
		p.mean_latency_load /= k;
	ngroups = collect(&p);
	for (k = 0; k < ngroups; k++) {
		const struct sched__group *grp = &s->group[k];

		if (full(&p)) {
			out->stats.deferred++;
			continue;
		}
		switch (remedy(&p, grp)) {
		case R_DONE:
			s->cpu[grp->cpu].settle_until = p.period + s->cfg.cooldown_periods;
			break;
		case R_NONE:
			out->stats.unremedied += grp->n;
			break;
		default:
			out->stats.deferred++;
			break;
		}
	}
	/* Finish moving batch vCPUs off CPUs that joined the latency set. */
	for (c = 0; c < s->host.ncpus && !full(&p); c++)
		if (s->cpu[c].evacuating)
			evacuate(&p, c, p.ncand);
	clear_prober(&p);
	give_back(&p);

	out->stats.batch_starved = p.starved;
	for (c = 0; c < s->host.ncpus; c++)
		out->stats.draining += (unsigned)s->cpu[c].draining;

	out->stats.latency_cpus = sched__cpus_with_role(s, SCHED_ROLE_LATENCY);
	out->stats.batch_cpus = sched__cpus_with_role(s, SCHED_ROLE_BATCH);
	s->period = p.period;
	s->now_ns = snap->now_ns;
	s->have_now = 1;
	return 0;
}

void sched_plan_free(struct sched_plan *p)
{
	if (!p)
		return;
	free(p->moves);
	p->moves = NULL;
	p->nmoves = 0;
}
