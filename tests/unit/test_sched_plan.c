/*
 * Unit tests of re-placement: which move a violating guest's CPU gets
 * and the reason it carries (batch guests off the CPU or its SMT
 * sibling, lower weight then idle policy for pinned ones, a crowded CPU
 * relieved, a guest outside the latency set brought home, the latency
 * set grown), hysteresis on entry and exit, a guest hovering at its SLO,
 * operator pins, the cap on moves, cooldowns, a latency core given back
 * to starved batch guests and its guards, batch guests kept away from
 * shoald's own CPU, and snapshots refused
 * without a change to the state.
 *
 * The host: 16 CPUs in 8 SMT cores (siblings 8 apart), Dom0 on core 0;
 * latency CPUs 1-5 and 9-13, batch CPUs 6, 7, 14 and 15.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sched_testlib.h"

static struct world *host16(void)
{
	struct world *w = world_new(16, 1, 2, 2, 65536);

	world_start(w);
	return w;
}

static void pin_to(struct sched_guest *g, unsigned cpu)
{
	sched_cpuset_add(&g->pin, cpu);
}

/* Periods until the plan has a move, at most max; the plan is then the one with moves. */
static unsigned periods_until_move(struct world *w, unsigned max)
{
	unsigned i;

	for (i = 1; i <= max; i++) {
		world_period_ok(w);
		if (w->plan.nmoves)
			return i;
	}
	return 0;
}

static void violating_guest_gets_a_move_with_its_reason(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	size_t l = world_put(w, SCHED_CLASS_LATENCY, "l-1", 3, 0.01);

	(void)state;
	world_put(w, SCHED_CLASS_BATCH, "b-7", 3, 0.95);
	set_p99(&w->g[l], 1840);
	world_period_ok(w);
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0);
	assert_int_equal(w->plan.stats.over_slo, 1);
	assert_int_equal(w->plan.stats.violating, 0);
	world_period_ok(w);
	assert_int_equal(w->plan.stats.violating, 1);
	assert_int_equal(w->plan.nmoves, 1);
	m = find_move(w, SCHED_MOVE_PIN, "b-7");
	assert_non_null(m);
	assert_int_equal(m->from_cpu, 3);
	assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_BATCH);
	assert_int_equal(m->guest, 1);
	assert_int_equal(m->guest_id, 2);
	assert_reason(m->reason,
	              "latency guest l-1 p99 1840 us over SLO 1000 us for 3 periods on cpu 3");
	assert_reason(m->reason,
	              "; cpu 3 shared with batch guest b-7 using 95%: moves to batch cpu 6");
	/* Its window still shows the past: the CPU is left to settle. */
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0);
	assert_int_equal(w->plan.stats.cooling, 1);
	world_free(w);
}

static void crowded_cpu_is_relieved_heaviest_first(void **state)
{
	struct world *w = host16();
	size_t k, i;
	char name[16];

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "h-%zu", i);
		world_put(w, SCHED_CLASS_LATENCY, name, 3, 0.2);
	}
	world_put(w, SCHED_CLASS_LATENCY, "v-0", 3, 0.01);
	world_put(w, SCHED_CLASS_LATENCY, "v-1", 3, 0.01);
	world_p99(w, 500);
	set_p99(&w->g[4], 3000);
	set_p99(&w->g[5], 3000);
	assert_int_equal(periods_until_move(w, 5), 3);
	/* Load 0.82 down to at most half: the three heaviest go, healthy or not. */
	assert_int_equal(w->plan.nmoves, 3);
	for (k = 0; k < 3; k++) {
		const struct sched_move *m = &w->plan.moves[k];

		snprintf(name, sizeof(name), "h-%zu", k);
		assert_string_equal(m->guest_name, name);
		assert_int_equal(m->from_cpu, 3);
		assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_LATENCY);
		assert_reason(m->reason, "latency guest v-0 p99 3000 us over SLO 1000 us for 3 "
		                         "periods (and 1 more on cpu 3)");
		assert_reason(m->reason, "moves off; cpu 3 is crowded");
	}
	assert_reason(w->plan.moves[0].reason, "crowded (load 0.82, 6 vCPUs)");
	assert_null(find_move(w, SCHED_MOVE_PIN, "v-0"));
	world_free(w);
}

static void heavy_violator_moves_to_a_less_loaded_cpu(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	size_t v, i;

	(void)state;
	v = world_put(w, SCHED_CLASS_LATENCY, "v", 3, 0.3);
	for (i = 0; i < 4; i++)
		world_put(w, SCHED_CLASS_LATENCY, "n", 3, 0.1);
	world_p99(w, 400);
	set_p99(&w->g[v], 2500);
	assert_int_equal(periods_until_move(w, 5), 3);
	m = &w->plan.moves[0];
	assert_string_equal(m->guest_name, "v");
	assert_reason(
	    m->reason,
	    "latency guest v p99 2500 us over SLO 1000 us for 3 periods on cpu 3; cpu 3 is "
	    "crowded (load 0.70, 5 vCPUs), cpu 1 has load 0.00");
	assert_int_equal(w->g[v].cpu[0], 1);
	world_free(w);
}

/*
 * Work that is no guest's takes most of cpu 3 (sched_set_other_use()):
 * its violators are relieved as if a guest used it, the reason says how
 * much of the load it was, admission then avoids the CPU, and bad values
 * change nothing.
 */
static void outside_work_counts_in_a_cpus_load(void **state)
{
	struct world *w = host16();
	double other[16] = { 0 }, bad[16] = { 0 };
	const struct sched_move *m;
	size_t v;

	(void)state;
	v = world_put(w, SCHED_CLASS_LATENCY, "v", 3, 0.02);
	world_put(w, SCHED_CLASS_LATENCY, "n", 3, 0.02);
	world_p99(w, 400);
	set_p99(&w->g[v], 2500);
	other[3] = 0.9;
	bad[3] = 1.5;
	assert_int_equal(sched_set_other_use(w->s, bad, 16), -EINVAL);
	assert_int_equal(sched_set_other_use(w->s, other, 17), -EINVAL);
	assert_int_equal(sched_set_other_use(w->s, NULL, 3), -EINVAL);
	assert_int_equal(sched_set_other_use(w->s, other, 16), 0);
	assert_int_equal(periods_until_move(w, 5), 3);
	m = &w->plan.moves[0];
	assert_int_equal(m->from_cpu, 3);
	assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_LATENCY);
	assert_reason(m->reason, "cpu 3 is crowded (load 0.94, 2 vCPUs, 0.90 of it work that is "
	                         "no guest's), cpu");
	/* A new latency guest is not put beside it. */
	assert_int_not_equal(w->g[world_add(w, SCHED_CLASS_LATENCY, "new")].cpu[0], 3);
	/* Cleared: no load left on cpu 3 but its guest's. */
	assert_int_equal(sched_set_other_use(w->s, NULL, 0), 0);
	world_free(w);
}

static void hog_on_an_smt_sibling_is_moved(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;

	(void)state;
	world_put(w, SCHED_CLASS_LATENCY, "l-1", 3, 0.01);
	world_put(w, SCHED_CLASS_BATCH, "hog", 11, 0.9);
	world_put(w, SCHED_CLASS_BATCH, "light", 11, 0.1);
	world_p99(w, 100);
	set_p99(&w->g[0], 2000);
	assert_int_equal(periods_until_move(w, 5), 3);
	assert_int_equal(w->plan.nmoves, 1);
	m = find_move(w, SCHED_MOVE_PIN, "hog");
	assert_non_null(m);
	assert_int_equal(m->from_cpu, 11);
	assert_reason(
	    m->reason,
	    "its SMT sibling cpu 11 runs batch guest hog using 90%: moves to batch cpu 6");
	assert_null(find_move(w, SCHED_MOVE_PIN, "light"));
	world_free(w);
}

static void pinned_batch_guest_gets_weight_then_idle_policy(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	size_t b, l;
	unsigned i, first = 0, second = 0, away = 0;

	(void)state;
	l = world_put(w, SCHED_CLASS_LATENCY, "l-1", 3, 0.01);
	b = world_put(w, SCHED_CLASS_BATCH, "b-p", 3, 0.95);
	pin_to(&w->g[b], 3);
	set_p99(&w->g[l], 5000);
	for (i = 1; i <= 40; i++) {
		world_period_ok(w);
		assert_null(find_move(w, SCHED_MOVE_PIN, "b-p"));
		if ((m = find_move(w, SCHED_MOVE_WEIGHT, "b-p")) != NULL) {
			assert_int_equal(m->weight, 10);
			assert_reason(
			    m->reason,
			    "b-p using 95%: pinned there by the operator, weight 100 -> 10");
			first = i;
		}
		if ((m = find_move(w, SCHED_MOVE_POLICY, "b-p")) != NULL) {
			assert_int_equal(m->policy, SCHED_POLICY_IDLE);
			assert_reason(m->reason, "weight already 10, class policy -> idle");
			second = i;
		}
		if (find_move(w, SCHED_MOVE_PIN, "l-1"))
			away = i;
	}
	assert_int_equal(first, 3);
	assert_int_equal(second, 3 + 12);
	/* Nothing left to lower: the latency guest leaves the CPU it cannot have. */
	assert_int_equal(away, 3 + 24);
	assert_int_equal(w->g[b].cpu[0], 3);
	assert_int_equal(w->g[b].weight, 10);
	assert_int_equal(w->g[b].policy, SCHED_POLICY_IDLE);
	world_free(w);
}

static void operator_pinned_latency_guests_never_move(void **state)
{
	struct world *w = host16();
	size_t i, k;
	unsigned p;

	(void)state;
	for (i = 0; i < 5; i++) {
		world_put(w, SCHED_CLASS_LATENCY, "pinned", 3, 0.2);
		pin_to(&w->g[i], 3);
	}
	world_p99(w, 4000);
	for (p = 1; p <= 40; p++) {
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
		if (p == 3)
			assert_int_equal(w->plan.stats.unremedied, 5);
	}
	/* With one that may move, only that one moves. */
	world_put(w, SCHED_CLASS_LATENCY, "free", 3, 0.01);
	set_p99(&w->g[5], 4000);
	for (p = 1; p <= 40; p++) {
		world_period_ok(w);
		for (k = 0; k < w->plan.nmoves; k++)
			assert_string_equal(w->plan.moves[k].guest_name, "free");
	}
	for (i = 0; i < 5; i++)
		assert_int_equal(w->g[i].cpu[0], 3);
	assert_int_not_equal(w->g[5].cpu[0], 3);
	world_free(w);
}

/* A latency guest at 0.01 on cpu 3 beside two healthy ones at 0.4; the rest of the latency set
 * empty. */
static struct world *crowded_pair(size_t *guest)
{
	struct world *w = host16();

	/* Crowded by latency guests, none of them batch-like (demote_use). */
	world_put(w, SCHED_CLASS_LATENCY, "heavy", 3, 0.4);
	pin_to(&w->g[0], 3);
	world_put(w, SCHED_CLASS_LATENCY, "heavy-2", 3, 0.4);
	pin_to(&w->g[1], 3);
	*guest = world_put(w, SCHED_CLASS_LATENCY, "g", 3, 0.01);
	world_p99(w, 300);
	return w;
}

static void entry_needs_enter_periods_in_a_row(void **state)
{
	static const uint32_t p99[] = { 1500, 1500, 800, 1500, 1500, 1500 };
	size_t g, i;
	struct world *w = crowded_pair(&g);

	(void)state;
	for (i = 0; i < sizeof(p99) / sizeof(p99[0]); i++) {
		set_p99(&w->g[g], p99[i]);
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, i == 5 ? 1 : 0);
	}
	assert_reason(w->plan.moves[0].reason, "for 3 periods");
	world_free(w);
}

/*
 * A period between the SLO and the exit margin ends the streak over the
 * SLO but not the violation: a move made after it says how long the
 * violation has lasted, not the new streak.
 */
static void a_reason_counts_the_whole_violation(void **state)
{
	static const uint32_t p99[] = { 1500, 1500, 1500, 950, 1500 };
	size_t g, i;
	struct world *w = crowded_pair(&g);

	(void)state;
	/* Pinned while it enters violation and hovers: nowhere to go. */
	pin_to(&w->g[g], 3);
	for (i = 0; i < sizeof(p99) / sizeof(p99[0]); i++) {
		set_p99(&w->g[g], p99[i]);
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
		assert_int_equal(w->plan.stats.violating, i >= 2);
	}
	sched_cpuset_zero(&w->g[g].pin);
	world_period_ok(w);
	assert_true(w->plan.nmoves >= 1);
	assert_reason(w->plan.moves[0].reason, "p99 1500 us over SLO 1000 us for 6 periods");
	world_free(w);
}

static void exit_needs_the_margin(void **state)
{
	static const struct {
		uint32_t p99;
		size_t violating, over;
	} steps[] = {
		{ 1200, 0, 1 }, { 1200, 0, 1 }, { 1200, 1, 1 }, { 950, 1, 0 },
		{ 905, 1, 0 },  { 1200, 1, 1 }, { 890, 0, 0 },  { 1200, 0, 1 },
	};
	struct world *w = host16();
	size_t i;

	(void)state;
	/* Pinned and alone: nothing to do, so only the hysteresis shows. */
	world_put(w, SCHED_CLASS_LATENCY, "g", 3, 0.01);
	pin_to(&w->g[0], 3);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		set_p99(&w->g[0], steps[i].p99);
		world_period_ok(w);
		assert_int_equal(w->plan.stats.violating, steps[i].violating);
		assert_int_equal(w->plan.stats.over_slo, steps[i].over);
		assert_int_equal(w->plan.nmoves, 0);
	}
	world_free(w);
}

static void alternating_at_the_slo_never_moves(void **state)
{
	size_t g;
	struct world *w = crowded_pair(&g);
	unsigned i;

	(void)state;
	for (i = 0; i < 100; i++) {
		set_p99(&w->g[g], i % 2 ? 950 : 1050);
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
	}
	world_free(w);
}

/* Every vCPU 0 move of the run, to check that none goes back. */
struct history {
	int16_t left[WORLD_GUESTS][64];
	unsigned nleft[WORLD_GUESTS];
	unsigned moves[WORLD_GUESTS];
};

static void record(const struct world *w, struct history *h)
{
	size_t k, j;

	for (k = 0; k < w->plan.nmoves; k++) {
		const struct sched_move *m = &w->plan.moves[k];

		if (m->kind != SCHED_MOVE_PIN)
			continue;
		for (j = 0; j < h->nleft[m->guest]; j++)
			if (h->left[m->guest][j] == m->to_cpu)
				fail_msg("%s moved back to cpu %d", m->guest_name, m->to_cpu);
		h->left[m->guest][h->nleft[m->guest]++ % 64] = (int16_t)m->from_cpu;
		h->moves[m->guest]++;
	}
}

static void hovering_guest_does_not_ping_pong(void **state)
{
	struct world *w = host16();
	struct history *h = calloc(1, sizeof(*h));
	uint64_t rng = 42;
	size_t g, i, total = 0;
	unsigned p;

	(void)state;
	assert_non_null(h);
	g = world_put(w, SCHED_CLASS_LATENCY, "hover", 3, 0.01);
	for (i = 0; i < 5; i++)
		world_put(w, SCHED_CLASS_LATENCY, "heavy", 3, 0.15);
	world_p99(w, 300);
	for (p = 0; p < 200; p++) {
		/* p99 within 3 % of the SLO, whatever the placement does. */
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		set_p99(&w->g[g], 970 + (uint32_t)(rng >> 33) % 61);
		world_period_ok(w);
		record(w, h);
	}
	for (i = 0; i < w->n; i++) {
		assert_true(h->moves[i] <= 1);
		total += h->moves[i];
	}
	assert_true(h->moves[g] <= 1);
	assert_true(total <= 6);
	free(h);
	world_free(w);
}

static void moves_are_capped_per_period(void **state)
{
	struct world *w = world_new(64, 2, 2, 2, 1 << 18);
	unsigned c, done = 0, p;
	size_t i, hogs = 0;

	(void)state;
	w->cfg.moves_max = 4;
	world_start(w);
	for (c = 0; c < 64 && hogs < 20; c++) {
		if (sched_cpu_role(w->s, c) != SCHED_ROLE_LATENCY)
			continue;
		world_put(w, SCHED_CLASS_LATENCY, "l", (int)c, 0.01);
		world_put(w, SCHED_CLASS_BATCH, "hog", (int)c, 0.95);
		hogs++;
	}
	world_p99(w, 5000);
	for (p = 1; p <= 10; p++) {
		world_period_ok(w);
		assert_true(w->plan.nmoves <= 4);
		if (p == 3) {
			assert_int_equal(w->plan.nmoves, 4);
			assert_int_equal(w->plan.stats.deferred, 16);
		}
		done += (unsigned)w->plan.nmoves;
	}
	assert_int_equal(done, 20);
	for (i = 0; i < w->n; i++)
		if (w->g[i].cls == SCHED_CLASS_BATCH)
			assert_int_equal(sched_cpu_role(w->s, (unsigned)w->g[i].cpu[0]),
			                 SCHED_ROLE_BATCH);
	world_free(w);
}

/* Make cpu crowded with a pinned healthy guest, so only g can leave. */
static void crowd(struct world *w, int cpu)
{
	unsigned i;

	/* Two of them: one at 0.9 would be batch-like (demote_use). */
	for (i = 0; i < 2; i++) {
		size_t k = world_put(w, SCHED_CLASS_LATENCY, "crowd", cpu, 0.45);

		pin_to(&w->g[k], (unsigned)cpu);
		set_p99(&w->g[k], 300);
	}
}

static void cooldown_is_respected_and_backs_off(void **state)
{
	struct world *w = host16();
	size_t g;
	unsigned p, moves[3], n = 0;
	int first_cpu;

	(void)state;
	crowd(w, 3);
	g = world_put(w, SCHED_CLASS_LATENCY, "g", 3, 0.01);
	set_p99(&w->g[g], 3000);
	first_cpu = 3;
	for (p = 1; p <= 60 && n < 3; p++) {
		world_period_ok(w);
		if (!find_move(w, SCHED_MOVE_PIN, "g"))
			continue;
		moves[n++] = p;
		assert_int_not_equal(w->g[g].cpu[0], first_cpu);
		/* Wherever it goes, make that crowded too: it stays in violation. */
		crowd(w, w->g[g].cpu[0]);
	}
	assert_int_equal(n, 3);
	assert_int_equal(moves[0], 3);
	assert_int_equal(moves[1], 3 + 12);      /* cooldown */
	assert_int_equal(moves[2], 3 + 12 + 24); /* doubled: the move did not help */
	world_free(w);
}

static void violator_outside_the_latency_set_is_brought_home(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;

	(void)state;
	world_put(w, SCHED_CLASS_LATENCY, "lost", 6, 0.01);
	world_put(w, SCHED_CLASS_BATCH, "b-1", 6, 0.5);
	world_p99(w, 100);
	set_p99(&w->g[0], 9000);
	assert_int_equal(periods_until_move(w, 5), 3);
	m = find_move(w, SCHED_MOVE_PIN, "lost");
	assert_non_null(m);
	assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_LATENCY);
	assert_reason(m->reason, "on batch cpu 6 (1 batch vCPUs): to latency cpu");
	assert_null(find_move(w, SCHED_MOVE_PIN, "b-1"));
	world_free(w);
}

/* n idle latency guests on cpu, each at p99_us. */
static void idle_crowd(struct world *w, int cpu, unsigned n, uint32_t p99_us)
{
	unsigned i;

	for (i = 0; i < n; i++)
		set_p99(&w->g[world_put(w, SCHED_CLASS_LATENCY, "idle", cpu, 0.005)], p99_us);
}

/*
 * Twelve idle latency guests over their SLO on cpu 1, one healthy guest
 * on each other latency CPU: neither batch vCPUs nor use explain it, so
 * they spread by number to the CPUs that hold fewer, and the latency set
 * does not grow.
 */
static void guests_crowded_by_number_spread(void **state)
{
	struct world *w = host16();
	unsigned c, pins = 0;
	size_t k;

	(void)state;
	idle_crowd(w, 1, 12, 4000);
	for (c = 2; c < 16; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
			idle_crowd(w, (int)c, 1, 100);
	assert_int_equal(periods_until_move(w, 5), 3);
	for (k = 0; k < w->plan.nmoves; k++) {
		const struct sched_move *m = &w->plan.moves[k];

		assert_int_equal(m->kind, SCHED_MOVE_PIN);
		assert_int_equal(m->from_cpu, 1);
		assert_int_not_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_BATCH);
		assert_reason(m->reason, "crowded by number (");
		pins++;
	}
	/* From 12 against 1: until cpu 1 holds no more than two over the others. */
	assert_true(pins >= 5 && pins <= 9);
	assert_int_equal(w->plan.stats.latency_cpus, 10);
	world_free(w);
}

/*
 * Eight idle latency guests over their SLO on every latency CPU and no
 * batch guest: the latency set takes an empty batch core (past
 * batch_cores_min, as no batch guest runs) and the guests spread onto
 * it; with a batch guest on every batch core, it does not grow.
 */
static void latency_set_grows_by_number_into_an_idle_batch_core(void **state)
{
	struct world *w = host16();
	unsigned c, roles = 0, pins = 0;
	size_t k;

	(void)state;
	for (c = 1; c < 16; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
			idle_crowd(w, (int)c, 8, 4000);
	assert_int_equal(periods_until_move(w, 5), 3);
	for (k = 0; k < w->plan.nmoves; k++) {
		const struct sched_move *m = &w->plan.moves[k];

		if (m->kind == SCHED_MOVE_CPU_ROLE) {
			roles++;
			assert_int_equal(m->role, SCHED_ROLE_LATENCY);
			assert_reason(m->reason,
			              "every latency CPU holds about as many latency vCPUs");
			assert_reason(m->reason, "runs none: cpu");
			assert_reason(m->reason, "joins the latency set");
		} else {
			assert_int_equal(m->kind, SCHED_MOVE_PIN);
			assert_reason(m->reason, " latency vCPUs, load 0.0");
			assert_reason(m->reason, "crowded by number (");
			assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu),
			                 SCHED_ROLE_LATENCY);
			pins++;
		}
	}
	assert_int_equal(roles, 2);
	assert_true(pins >= 2);
	assert_int_equal(w->plan.stats.latency_cpus, 12);
	world_free(w);

	w = host16();
	for (c = 1; c < 16; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
			idle_crowd(w, (int)c, 8, 4000);
	world_put(w, SCHED_CLASS_BATCH, "b-1", 6, 0.3);
	world_put(w, SCHED_CLASS_BATCH, "b-2", 7, 0.3);
	for (c = 1; c <= 10; c++) {
		world_period_ok(w);
		for (k = 0; k < w->plan.nmoves; k++)
			assert_int_not_equal(w->plan.moves[k].kind, SCHED_MOVE_CPU_ROLE);
	}
	assert_int_equal(w->plan.stats.latency_cpus, 10);
	world_free(w);
}

static void latency_set_grows_when_every_latency_cpu_is_loaded(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	unsigned c;
	size_t v, k, roles = 0;

	(void)state;
	for (c = 1; c < 16; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
			crowd(w, (int)c);
	v = world_put(w, SCHED_CLASS_LATENCY, "v", 3, 0.01);
	set_p99(&w->g[v], 4000);
	/* Core 6 (cpus 6, 14) has three batch vCPUs, core 7 (cpus 7, 15) two: core 7 is taken. */
	world_put(w, SCHED_CLASS_BATCH, "b-1", 6, 0.1);
	world_put(w, SCHED_CLASS_BATCH, "b-2", 7, 0.1);
	world_put(w, SCHED_CLASS_BATCH, "b-3", 15, 0.1);
	world_put(w, SCHED_CLASS_BATCH, "b-4", 14, 0.1);
	world_put(w, SCHED_CLASS_BATCH, "b-5", 14, 0.1);
	assert_int_equal(periods_until_move(w, 5), 3);
	for (k = 0; k < w->plan.nmoves; k++) {
		m = &w->plan.moves[k];
		if (m->kind != SCHED_MOVE_CPU_ROLE)
			continue;
		roles++;
		assert_int_equal(m->guest, SCHED_NO_GUEST);
		assert_int_equal(m->role, SCHED_ROLE_LATENCY);
		assert_true(m->from_cpu == 7 || m->from_cpu == 15);
		assert_reason(m->reason, "joins the latency set");
		assert_reason(m->reason, "the least loaded latency CPU");
	}
	assert_int_equal(roles, 2);
	assert_int_equal(sched_cpu_role(w->s, 7), SCHED_ROLE_LATENCY);
	assert_int_equal(sched_cpu_role(w->s, 15), SCHED_ROLE_LATENCY);
	m = find_move(w, SCHED_MOVE_PIN, "b-2");
	assert_non_null(m);
	assert_reason(
	    m->reason,
	    "cpu 7 joined the latency set; batch guest b-2 using 10% moves to batch cpu 6");
	assert_non_null(find_move(w, SCHED_MOVE_PIN, "b-3"));
	/* Evacuated in the same plan, so the violator could follow. */
	m = find_move(w, SCHED_MOVE_PIN, "v");
	assert_non_null(m);
	assert_true(m->to_cpu == 7 || m->to_cpu == 15);
	assert_int_equal(w->plan.stats.latency_cpus, 12);
	assert_int_equal(w->plan.stats.batch_cpus, 2);
	world_free(w);
}

static void latency_set_does_not_grow_into_a_busy_batch_set(void **state)
{
	struct world *w = host16();
	unsigned c, p;

	(void)state;
	for (c = 1; c < 16; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
			crowd(w, (int)c);
	world_put(w, SCHED_CLASS_LATENCY, "v", 3, 0.01);
	set_p99(&w->g[w->n - 1], 4000);
	/* 3 CPUs of batch work on 4 batch CPUs: 2 could not carry it. */
	for (c = 6; c < 16; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_BATCH && c != 15)
			world_put(w, SCHED_CLASS_BATCH, "busy", (int)c, 1.0);
	for (p = 0; p < 20; p++) {
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
	}
	assert_int_equal(w->plan.stats.batch_cpus, 4);
	world_free(w);
}

static void a_forgotten_guest_starts_afresh(void **state)
{
	size_t g;
	struct world *w = crowded_pair(&g);
	struct sched_guest saved;

	(void)state;
	set_p99(&w->g[g], 2000);
	world_period_ok(w);
	world_period_ok(w);
	saved = w->g[g];
	w->n--; /* it stopped */
	world_period_ok(w);
	w->g[w->n++] = saved; /* and came back */
	world_period_ok(w);
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0);
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 1);
	world_free(w);
}

static void the_long_window_stands_in_for_a_thin_short_one(void **state)
{
	size_t g;
	struct world *w = crowded_pair(&g);
	struct sched_window thin = { 500, 600, 5, 0 }, wide = { 900, 2000, 300, 0 };

	(void)state;
	w->g[g].win_short = thin;
	w->g[g].win_long = wide;
	assert_int_equal(periods_until_move(w, 5), 3);
	assert_reason(w->plan.moves[0].reason, "60 s p99 2000 us over SLO 1000 us for 3 periods");
	/* Neither window with enough samples: no judgement at all. */
	world_free(w);
	w = crowded_pair(&g);
	wide.samples = 10;
	w->g[g].win_short = thin;
	w->g[g].win_long = wide;
	assert_int_equal(periods_until_move(w, 10), 0);
	assert_int_equal(w->plan.stats.over_slo, 0);
	world_free(w);
}

static void missed_probes_count_as_over(void **state)
{
	size_t g;
	struct world *w = crowded_pair(&g);
	struct sched_window missing = { 200, 300, 90, 10 };

	(void)state;
	w->g[g].win_short = missing;
	assert_int_equal(periods_until_move(w, 5), 3);
	assert_reason(w->plan.moves[0].reason,
	              "latency guest g 10 of 100 probes missed for 3 periods");
	world_free(w);
}

/* The number of moves of this kind for the guest named in the current plan. */
static unsigned count_moves(const struct world *w, enum sched_move_kind kind, const char *name)
{
	unsigned n = 0;
	size_t k;

	for (k = 0; k < w->plan.nmoves; k++)
		n += w->plan.moves[k].kind == kind && !strcmp(w->plan.moves[k].guest_name, name);
	return n;
}

/*
 * A latency guest that turns CPU-bound among idle neighbours is treated
 * as batch after demote_periods and moved to a batch CPU with the
 * reason; quiet again for restore_periods, it is a latency guest again
 * on the least loaded latency CPU (the one it left may be it: on a host
 * with one latency CPU there is no other), its operator class unchanged
 * all along.
 */
static void a_cpu_bound_latency_guest_is_treated_as_batch(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	size_t spin, i;
	unsigned p;

	(void)state;
	spin = world_put(w, SCHED_CLASS_LATENCY, "spin", 3, 0.01);
	for (i = 0; i < 4; i++)
		world_put(w, SCHED_CLASS_LATENCY, "idle", 3, 0.01);
	world_p99(w, 200);
	world_period_ok(w);
	assert_int_equal(sched_effective_class(w->s, w->g[spin].id, "spin"), SCHED_CLASS_LATENCY);
	assert_int_equal(sched_effective_class(w->s, 999, "nobody"), -ENOENT);
	w->g[spin].cpu_use = 0.97;
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0); /* one period is not a habit */
	world_period_ok(w);
	m = find_move(w, SCHED_MOVE_CLASS, "spin");
	assert_non_null(m);
	assert_int_equal(m->cls, SCHED_CLASS_BATCH);
	assert_reason(m->reason, "latency guest spin has used 97% of a CPU per vCPU for 2 periods");
	assert_reason(m->reason, "treated as a batch guest while it does");
	m = find_move(w, SCHED_MOVE_PIN, "spin");
	assert_non_null(m);
	assert_int_equal(m->from_cpu, 3);
	assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_BATCH);
	assert_reason(m->reason, "latency guest spin is CPU-bound (using 97%): off latency cpu 3");
	assert_int_equal(w->plan.nmoves, 2);
	assert_int_equal(w->plan.stats.demoted, 1);
	assert_int_equal(sched_effective_class(w->s, w->g[spin].id, "spin"), SCHED_CLASS_BATCH);
	assert_int_equal(w->g[spin].cls, SCHED_CLASS_LATENCY);
	/* Still busy: it stays batch, whatever its own p99 on the batch CPU. */
	set_p99(&w->g[spin], 5000);
	for (p = 0; p < 30; p++) {
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
	}
	/* Quiet: restore_periods (10) below restore_use, then home. */
	w->g[spin].cpu_use = 0.05;
	set_p99(&w->g[spin], 200);
	for (p = 1; p <= 9; p++) {
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
	}
	world_period_ok(w);
	m = find_move(w, SCHED_MOVE_CLASS, "spin");
	assert_non_null(m);
	assert_int_equal(m->cls, SCHED_CLASS_LATENCY);
	assert_reason(m->reason, "20% or less of a CPU per vCPU, waits for one included, for 10 "
	                         "periods: a latency guest");
	m = find_move(w, SCHED_MOVE_PIN, "spin");
	assert_non_null(m);
	assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_LATENCY);
	assert_reason(m->reason, "latency guest spin is quiet again: off batch cpu");
	assert_int_equal(sched_effective_class(w->s, w->g[spin].id, "spin"), SCHED_CLASS_LATENCY);
	assert_int_equal(w->plan.stats.demoted, 0);
	world_free(w);
}

/*
 * CPU-bound latency guests that share one CPU each get only a share of
 * it, below demote_use; runnable all the time (their run delay is the
 * rest), they are batch-like all the same.  An idle neighbour that waits
 * for them at each wake-up is not; and a demoted guest starved on a
 * crowded batch CPU (little use, much wait) is not quiet.
 */
static void crowded_cpu_bound_latency_guests_are_treated_as_batch(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	size_t spin[3], idle, i;
	unsigned p;
	char name[16];

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "spin-%zu", i);
		spin[i] = world_put(w, SCHED_CLASS_LATENCY, name, 3, 0.01);
	}
	idle = world_put(w, SCHED_CLASS_LATENCY, "idle", 3, 0.01);
	world_p99(w, 200);
	world_period_ok(w);
	for (i = 0; i < 3; i++) {
		w->g[spin[i]].cpu_use = 0.32;
		w->g[spin[i]].cpu_wait = 0.66;
	}
	w->g[idle].cpu_use = 0.02;
	w->g[idle].cpu_wait = 0.4;
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0);
	world_period_ok(w);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "spin-%zu", i);
		m = find_move(w, SCHED_MOVE_CLASS, name);
		assert_non_null(m);
		assert_int_equal(m->cls, SCHED_CLASS_BATCH);
		assert_reason(m->reason,
		              "has been runnable 98% of the time per vCPU for 2 periods, "
		              "using 32% of a CPU and waiting for one the rest (90% or more");
		m = find_move(w, SCHED_MOVE_PIN, name);
		assert_non_null(m);
		assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_BATCH);
	}
	assert_null(find_move(w, SCHED_MOVE_CLASS, "idle"));
	assert_int_equal(w->plan.stats.demoted, 3);
	/* Starved where they are now: still batch-like, never quiet. */
	for (p = 0; p < 40; p++) {
		for (i = 0; i < 3; i++) {
			w->g[spin[i]].cpu_use = 0.08;
			w->g[spin[i]].cpu_wait = 0.9;
		}
		world_period_ok(w);
		assert_null(find_move(w, SCHED_MOVE_CLASS, "spin-0"));
	}
	assert_int_equal(sched_effective_class(w->s, w->g[spin[0]].id, "spin-0"),
	                 SCHED_CLASS_BATCH);
	assert_int_equal(sched_effective_class(w->s, w->g[idle].id, "idle"), SCHED_CLASS_LATENCY);
	/* Runnable seldom: a latency guest again after restore_periods. */
	for (p = 1; p <= 10; p++) {
		for (i = 0; i < 3; i++) {
			w->g[spin[i]].cpu_use = 0.05;
			w->g[spin[i]].cpu_wait = 0.05;
		}
		world_period_ok(w);
	}
	assert_non_null(find_move(w, SCHED_MOVE_CLASS, "spin-0"));
	assert_int_equal(sched_effective_class(w->s, w->g[spin[0]].id, "spin-0"),
	                 SCHED_CLASS_LATENCY);
	world_free(w);
}

/* Busy every other period never makes a guest batch; once demoted, a busy-quiet rhythm keeps it so.
 */
static void class_changes_do_not_flap(void **state)
{
	struct world *w = host16();
	size_t spin;
	unsigned p, classes = 0, first = ~0u, second = 0;

	(void)state;
	spin = world_put(w, SCHED_CLASS_LATENCY, "spin", 3, 0.01);
	world_put(w, SCHED_CLASS_LATENCY, "idle", 3, 0.01);
	world_p99(w, 200);
	for (p = 0; p < 100; p++) {
		w->g[spin].cpu_use = p % 2 ? 0.9 : 0.01;
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
	}
	/* Busy 5 periods, quiet 15, over and over: one demotion, one restoration, then it stays
	 * batch (a second restoration needs twice the quiet). */
	for (p = 0; p < 200; p++) {
		w->g[spin].cpu_use = p % 20 < 5 ? 0.9 : 0.01;
		world_period_ok(w);
		if (find_move(w, SCHED_MOVE_CLASS, "spin")) {
			classes++;
			if (find_move(w, SCHED_MOVE_CLASS, "spin")->cls == SCHED_CLASS_LATENCY)
				second = p;
			else if (first == ~0u)
				first = p;
		}
		assert_true(count_moves(w, SCHED_MOVE_CLASS, "spin") <= 1);
	}
	print_message("# busy 5 of every 20 periods: %u class changes in 200 periods (first %u, "
	              "restored %u)\n",
	              classes, first, second);
	assert_int_equal(classes, 3);
	assert_int_equal(sched_effective_class(w->s, w->g[spin].id, "spin"), SCHED_CLASS_BATCH);
	world_free(w);
}

/* Pinned where it is, a CPU-bound latency guest gets what a pinned batch guest gets. */
static void a_pinned_cpu_bound_latency_guest_gets_the_batch_remedies(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	size_t spin, v;
	unsigned p;

	(void)state;
	spin = world_put(w, SCHED_CLASS_LATENCY, "spin", 3, 0.95);
	pin_to(&w->g[spin], 3);
	v = world_put(w, SCHED_CLASS_LATENCY, "victim", 3, 0.01);
	pin_to(&w->g[v], 3);
	world_p99(w, 200);
	set_p99(&w->g[v], 3000);
	for (p = 1; p <= 5 && !find_move(w, SCHED_MOVE_WEIGHT, "spin"); p++) {
		world_period_ok(w);
		assert_null(find_move(w, SCHED_MOVE_PIN, "spin"));
	}
	m = find_move(w, SCHED_MOVE_WEIGHT, "spin");
	assert_non_null(m);
	assert_reason(m->reason, "cpu 3 shared with batch guest spin");
	assert_reason(m->reason, "pinned there by the operator, weight 100 -> 10");
	world_free(w);
}

static void steady_state_makes_no_moves(void **state)
{
	struct world *w = host16();
	size_t i;
	unsigned p;
	char name[16];

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "g-%zu", i);
		world_add(w, i % 4 ? SCHED_CLASS_LATENCY : SCHED_CLASS_BATCH, name);
		/* 2.5 CPUs of batch work on 4 batch CPUs: busy, not starved. */
		w->g[i].cpu_use = i % 4 ? 0.004 : 0.05;
	}
	world_p99(w, 400);
	for (p = 0; p < 30; p++) {
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
	}
	assert_int_equal(w->plan.stats.latency_guests, 150);
	assert_int_equal(w->plan.stats.period, 30);
	assert_int_equal(sched_periods(w->s), 30);
	world_free(w);
}

static void batch_latency_and_idle_guests_are_not_acted_upon(void **state)
{
	struct world *w = host16();
	unsigned p;

	(void)state;
	world_put(w, SCHED_CLASS_BATCH, "b", 6, 1.0);
	world_put(w, SCHED_CLASS_BATCH, "b2", 6, 1.0);
	world_put(w, SCHED_CLASS_LATENCY, "stopped", -1, 0);
	world_p99(w, 50000);
	for (p = 0; p < 10; p++) {
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
	}
	assert_int_equal(w->plan.stats.latency_guests, 1);
	world_free(w);
}

/* One field made wrong, and the words the error must say. */
static const struct {
	int what;
	const char *says;
} bad_cases[] = {
	{ 0, "vCPU 0 is on cpu 900" },
	{ 1, "vCPU 0 is on cpu -2" },
	{ 2, "cpu_use is nan" },
	{ 3, "cpu_use is 5" },
	{ 4, "weight is 20000" },
	{ 5, "policy is 9" },
	{ 6, "node is 5" },
	{ 7, "pinned to cpu 100" },
	{ 8, "vcpus is 0" },
	{ 9, "class is 3" },
	{ 10, "not NUL-terminated" },
	{ 11, "the same id and name as guest 0" },
	{ 12, "now_ns" },
	{ 13, "guests but no array" },
	{ 14, "cpu_use is inf" },
};

static void break_snapshot(struct world *w, int what, struct sched_snapshot *snap)
{
	struct sched_guest *g = &w->g[1];

	switch (what) {
	case 0:
		g->cpu[0] = 900;
		break;
	case 1:
		g->cpu[0] = -2;
		break;
	case 2:
		g->cpu_use = NAN;
		break;
	case 3:
		g->cpu_use = 5;
		break;
	case 4:
		g->weight = 20000;
		break;
	case 5:
		g->policy = (enum sched_policy)9;
		break;
	case 6:
		g->node = 5;
		break;
	case 7:
		sched_cpuset_add(&g->pin, 100);
		break;
	case 8:
		g->vcpus = 0;
		break;
	case 9:
		g->cls = (enum sched_class)3;
		break;
	case 10:
		memset(g->name, 'x', sizeof(g->name));
		break;
	case 11:
		g->id = w->g[0].id;
		memcpy(g->name, w->g[0].name, sizeof(g->name));
		break;
	case 12:
		snap->now_ns -= 2000000000ull;
		break;
	case 13:
		snap->guests = NULL;
		break;
	case 14:
		g->cpu_use = INFINITY;
		break;
	}
}

static void bad_snapshots_are_refused_and_change_nothing(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		size_t g;
		struct world *w = crowded_pair(&g);
		struct sched_guest saved;
		struct sched_snapshot snap;
		struct sched_plan plan;
		int rc;

		set_p99(&w->g[g], 2000);
		world_period_ok(w);
		world_period_ok(w);
		saved = w->g[1];
		w->now_ns += 1000000000ull;
		snap = world_snapshot(w);
		break_snapshot(w, bad_cases[i].what, &snap);
		rc = sched_plan(w->s, &snap, &plan);
		if (rc != -EINVAL)
			fail_msg("case %d: rc %d, not -EINVAL", bad_cases[i].what, rc);
		assert_null(plan.moves);
		assert_reason(plan.error, bad_cases[i].says);
		assert_int_equal(sched_periods(w->s), 2);
		/* The state is as before: the third good period over the SLO moves the guest. */
		w->g[1] = saved;
		world_period_ok(w);
		if (w->plan.nmoves != 1)
			fail_msg("case %d: %zu moves after the refused snapshot, not 1",
			         bad_cases[i].what, w->plan.nmoves);
		world_free(w);
	}
}

static void oversized_snapshots_are_refused(void **state)
{
	struct world *w = world_new(16, 1, 2, 2, 65536);
	struct sched_snapshot snap;
	struct sched_plan plan;
	size_t i;

	(void)state;
	w->cfg.guests_max = 4;
	w->cfg.vcpus_max = 8;
	world_start(w);
	for (i = 0; i < 5; i++)
		world_put(w, SCHED_CLASS_LATENCY, "g", 3, 0.01);
	snap = world_snapshot(w);
	assert_int_equal(sched_plan(w->s, &snap, &plan), -ENOSPC);
	assert_reason(plan.error, "5 guests; the state was made for 4");
	w->n = 4;
	w->g[0].vcpus = 6;
	w->g[0].cpu[1] = w->g[0].cpu[2] = w->g[0].cpu[3] = w->g[0].cpu[4] = w->g[0].cpu[5] = 3;
	snap = world_snapshot(w);
	assert_int_equal(sched_plan(w->s, &snap, &plan), -ENOSPC);
	assert_reason(plan.error, "9 vCPUs; the state was made for 8");
	w->g[0].vcpus = 5;
	snap = world_snapshot(w);
	assert_int_equal(sched_plan(w->s, &snap, &plan), 0);
	sched_plan_free(&plan);
	assert_int_equal(sched_plan(NULL, &snap, &plan), -EINVAL);
	assert_int_equal(sched_plan(w->s, NULL, &plan), -EINVAL);
	assert_int_equal(sched_plan(w->s, &snap, NULL), -EINVAL);
	sched_plan_free(NULL);
	world_free(w);
}

/* ---- A core back to starved batch guests ---- */

/* Three hungry batch vCPUs on each batch CPU (6, 7, 14, 15): 12 CPUs of work on 4. */
static void starve(struct world *w, double use)
{
	static const int batch[] = { 6, 7, 14, 15 };
	unsigned i, k;

	for (i = 0; i < 4; i++)
		for (k = 0; k < 3; k++)
			world_put(w, SCHED_CLASS_BATCH, "hungry", batch[i], use);
}

/* The CPU role moves of the last plan, and what they said. */
static unsigned role_moves(const struct world *w, enum sched_role role, int *cpus)
{
	unsigned k, n = 0;

	for (k = 0; k < w->plan.nmoves; k++) {
		const struct sched_move *m = &w->plan.moves[k];

		if (m->kind != SCHED_MOVE_CPU_ROLE || m->role != role)
			continue;
		if (cpus)
			cpus[n] = m->from_cpu;
		n++;
	}
	return n;
}

static void an_empty_latency_core_goes_back_to_starved_batch_guests(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	int cpus[4];
	unsigned c, p, k, fed = 0;

	(void)state;
	/* Core 5 (cpus 5 and 13) has no guest. */
	for (c = 1; c < 13; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY && c != 5)
			world_put(w, SCHED_CLASS_LATENCY, "idle", (int)c, 0.01);
	starve(w, 0.33);
	world_p99(w, 100);
	for (p = 1; p < 5; p++) {
		world_period_ok(w);
		assert_int_equal(w->plan.nmoves, 0);
		assert_true(w->plan.stats.batch_starved);
	}
	world_period_ok(w);
	assert_int_equal(role_moves(w, SCHED_ROLE_BATCH, cpus), 2);
	assert_int_equal(cpus[0], 5);
	assert_int_equal(cpus[1], 13);
	m = find_move(w, SCHED_MOVE_CPU_ROLE, NULL);
	assert_reason(m->reason, "batch guests starved: every batch CPU at 90% or more, 12 busy "
	                         "batch vCPUs (12.0 CPUs of work) on 4 batch CPUs");
	assert_reason(m->reason, "without it: cpu 5 joins the batch set");
	assert_int_equal(sched_cpu_role(w->s, 5), SCHED_ROLE_BATCH);
	assert_int_equal(sched_cpu_role(w->s, 13), SCHED_ROLE_BATCH);
	assert_int_equal(w->plan.stats.latency_cpus, 8);
	assert_int_equal(w->plan.stats.batch_cpus, 6);
	/* The next period a starved batch vCPU moves onto each CPU given back. */
	world_period_ok(w);
	for (k = 0; k < w->plan.nmoves; k++) {
		m = &w->plan.moves[k];
		if (m->kind != SCHED_MOVE_PIN)
			continue;
		assert_true(m->to_cpu == 5 || m->to_cpu == 13);
		assert_string_equal(m->guest_name, "hungry");
		assert_reason(m->reason, "(3 busy batch vCPUs) to cpu");
		assert_reason(m->reason, "given back to the batch set");
		fed++;
	}
	assert_int_equal(fed, 2);
	/* Still starved (12 hungry vCPUs on 6 CPUs): the next core needs give_periods again. */
	for (p = 0; p < 4; p++) {
		world_period_ok(w);
		assert_int_equal(role_moves(w, SCHED_ROLE_BATCH, NULL), 0);
	}
	world_free(w);
}

static void a_busy_latency_core_is_drained_first(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	unsigned c, p;
	size_t k;

	(void)state;
	w->cfg.moves_max = 2;
	sched_destroy(w->s);
	world_start(w);
	/* Two idle latency guests on every latency CPU, one on cpus 4 and 12. */
	for (c = 1; c < 14; c++) {
		if (sched_cpu_role(w->s, c) != SCHED_ROLE_LATENCY)
			continue;
		world_put(w, SCHED_CLASS_LATENCY, "l", (int)c, 0.01);
		if (c != 4 && c != 12)
			world_put(w, SCHED_CLASS_LATENCY, "l", (int)c, 0.01);
	}
	starve(w, 0.33);
	world_p99(w, 100);
	for (p = 1; p < 5; p++)
		world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0);
	/* Period 5: core 4 drains, both its guests move within the cap of 2. */
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 2);
	m = &w->plan.moves[0];
	assert_int_equal(m->kind, SCHED_MOVE_PIN);
	assert_int_equal(m->from_cpu, 4);
	assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_LATENCY);
	assert_reason(m->reason, "batch guests starved");
	assert_reason(m->reason, "; cpu 4 goes back to the batch set: latency guest l moves to "
	                         "latency cpu");
	assert_int_equal(w->plan.moves[1].from_cpu, 12);
	assert_int_equal(w->plan.stats.draining, 2);
	assert_int_equal(sched_cpu_role(w->s, 4), SCHED_ROLE_LATENCY);
	/* Period 6: empty, it changes role. */
	world_period_ok(w);
	assert_int_equal(role_moves(w, SCHED_ROLE_BATCH, NULL), 2);
	assert_int_equal(sched_cpu_role(w->s, 4), SCHED_ROLE_BATCH);
	assert_int_equal(sched_cpu_role(w->s, 12), SCHED_ROLE_BATCH);
	assert_int_equal(w->plan.stats.draining, 0);
	/* Nothing latency was put on it meanwhile. */
	for (k = 0; k < w->n; k++)
		if (w->g[k].cls == SCHED_CLASS_LATENCY)
			assert_true(w->g[k].cpu[0] != 4 && w->g[k].cpu[0] != 12);
	world_free(w);
}

/* The host of the give-back tests, with one change before the periods; no role change in 20. */
static void no_core_goes_back(int what)
{
	struct world *w = host16();
	unsigned c, p;

	if (what == 2) {
		w->cfg.latency_cores_min = 5;
		sched_destroy(w->s);
		world_start(w);
	}
	for (c = 1; c < 14; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
			world_put(w, SCHED_CLASS_LATENCY, "l", (int)c, what == 0 ? 0.35 : 0.01);
	starve(w, 0.33);
	world_p99(w, 100);
	if (what == 1) /* one batch CPU has room: 2 hungry vCPUs at 0.33 */
		w->n--;
	if (what == 3) /* a latency guest in violation */
		set_p99(&w->g[0], 5000);
	for (p = 0; p < 20; p++) {
		world_period_ok(w);
		assert_int_equal(role_moves(w, SCHED_ROLE_BATCH, NULL), 0);
		assert_int_equal(w->plan.stats.draining, 0);
		assert_int_equal(w->plan.stats.batch_starved, what != 1);
	}
	assert_int_equal(w->plan.stats.latency_cpus, 10);
	world_free(w);
}

static void a_core_goes_back_only_when_the_latency_set_can_spare_it(void **state)
{
	(void)state;
	no_core_goes_back(0); /* mean load 0.44 now, 0.55 on one core fewer: over give_load */
	no_core_goes_back(1); /* not starved */
	no_core_goes_back(2); /* latency_cores_min */
	no_core_goes_back(3); /* a violator */
}

/*
 * A core given back, then the batch load goes and the latency set is
 * crowded: it grows again only split_hold_periods after.
 */
static void the_split_does_not_flip_flop(void **state)
{
	struct world *w = host16();
	unsigned c, p, given = 0, grown = 0;
	size_t k;

	(void)state;
	w->cfg.split_hold_periods = 20;
	sched_destroy(w->s);
	world_start(w);
	for (c = 1; c < 13; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY && c != 5)
			world_put(w, SCHED_CLASS_LATENCY, "idle", (int)c, 0.01);
	starve(w, 0.33);
	world_p99(w, 100);
	for (p = 1; p <= 60 && !grown; p++) {
		if (p == 8) {
			/* The batch work ends; the latency CPUs fill up and a guest suffers. */
			for (k = 0; k < w->n; k++)
				if (w->g[k].cls == SCHED_CLASS_BATCH)
					w->g[k].cpu_use = 0.01;
			for (c = 1; c < 14; c++)
				if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
					crowd(w, (int)c);
			k = world_put(w, SCHED_CLASS_LATENCY, "v", 3, 0.01);
			set_p99(&w->g[k], 4000);
		}
		world_period_ok(w);
		if (role_moves(w, SCHED_ROLE_BATCH, NULL))
			given = p;
		if (role_moves(w, SCHED_ROLE_LATENCY, NULL))
			grown = p;
	}
	assert_int_equal(given, 5);
	assert_true(grown >= given + 20 && grown <= given + 22);
	world_free(w);
}

/* ---- shoald's own CPU ---- */

static void set_prober(struct world *w, int cpu, double use)
{
	struct sched_cpuset set;

	sched_cpuset_zero(&set);
	sched_cpuset_add(&set, (unsigned)cpu);
	assert_int_equal(sched_set_prober(w->s, &set, use), 0);
}

static void batch_guests_are_admitted_away_from_the_prober(void **state)
{
	struct world *w = host16();
	struct sched_admission a;
	struct sched_guest g;
	struct sched_cpuset bad;
	unsigned i;

	(void)state;
	sched_cpuset_zero(&bad);
	sched_cpuset_add(&bad, 16);
	assert_int_equal(sched_set_prober(w->s, &bad, 0), -EINVAL);
	sched_cpuset_zero(&bad);
	sched_cpuset_add(&bad, 6);
	assert_int_equal(sched_set_prober(w->s, &bad, 1.5), -EINVAL);
	set_prober(w, 6, 0.05);
	for (i = 0; i < 20; i++) {
		size_t k;
		char name[16];

		snprintf(name, sizeof(name), "b-%u", i);
		k = world_add(w, SCHED_CLASS_BATCH, name);

		assert_true(w->g[k].cpu[0] == 7 || w->g[k].cpu[0] == 15);
	}
	/* Full elsewhere: beside the prober, and said so. */
	w->cfg.batch_vcpus_per_cpu = 2;
	sched_destroy(w->s);
	world_start(w);
	w->n = 0;
	set_prober(w, 6, 0.05);
	/* A latency guest on every latency CPU: no empty core to lend. */
	for (i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "l-%u", i);
		world_add(w, SCHED_CLASS_LATENCY, name);
	}
	world_add(w, SCHED_CLASS_BATCH, "b-1");
	world_add(w, SCHED_CLASS_BATCH, "b-2");
	world_add(w, SCHED_CLASS_BATCH, "b-3");
	world_add(w, SCHED_CLASS_BATCH, "b-4");
	guest_init(&g, SCHED_CLASS_BATCH, "late");
	assert_int_equal(world_admit(w, &g, &a), 0);
	assert_true(a.cpu[0] == 6 || a.cpu[0] == 14);
	assert_reason(a.reason, "beside shoald's CPU: no CPU away from it has room");
	world_free(w);
}

static void the_prober_s_load_counts_for_latency_guests(void **state)
{
	struct world *w = host16();
	unsigned i;

	(void)state;
	set_prober(w, 3, 0.9);
	for (i = 0; i < 8; i++) {
		size_t k;
		char name[16];

		snprintf(name, sizeof(name), "l-%u", i);
		k = world_add(w, SCHED_CLASS_LATENCY, name);

		assert_true(w->g[k].cpu[0] != 3 && w->g[k].cpu[0] != 11);
	}
	world_free(w);
}

static void a_batch_vcpu_near_the_prober_is_moved(void **state)
{
	struct world *w = host16();
	const struct sched_move *m;
	size_t pinned;

	(void)state;
	world_put(w, SCHED_CLASS_BATCH, "b-1", 11, 0.05);
	world_put(w, SCHED_CLASS_BATCH, "b-2", 3, 0.05);
	pinned = world_put(w, SCHED_CLASS_BATCH, "b-3", 11, 0.05);
	pin_to(&w->g[pinned], 11);
	world_p99(w, 100);
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0); /* nobody suffers, no prober known */
	set_prober(w, 3, 0.02);
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 2);
	m = find_move(w, SCHED_MOVE_PIN, "b-2");
	assert_non_null(m);
	assert_reason(m->reason, "shoald probes from cpu 3: batch guest b-2 using 5% moves to "
	                         "batch cpu");
	m = find_move(w, SCHED_MOVE_PIN, "b-1");
	assert_non_null(m);
	assert_reason(m->reason, "shoald probes from cpu 3, cpu 11's SMT sibling: batch guest b-1");
	assert_int_equal(sched_cpu_role(w->s, (unsigned)m->to_cpu), SCHED_ROLE_BATCH);
	assert_null(find_move(w, SCHED_MOVE_PIN, "b-3"));
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0);
	world_free(w);
}

/*
 * A two-CPU host: busy latency guests with no batch guest grow the latency
 * set over the batch CPU (batch_cores_min holds only while a batch guest
 * runs); once batch guests run, the batch set is below batch_cores_min and
 * a core goes back at once, whatever the latency guests' SLOs say and
 * however recently the split changed.
 */
static void batch_cores_min_comes_back_with_batch_guests(void **state)
{
	struct world *w = world_new(2, 1, 1, 0, 8192);
	const struct sched_move *m;
	size_t k;
	unsigned c, lat = 2, p;
	int cpus[4];

	(void)state;
	world_start(w);
	for (c = 0; c < 2; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY)
			lat = c;
	assert_true(lat < 2);
	for (k = 0; k < 6; k++)
		world_put(w, SCHED_CLASS_LATENCY, "web", (int)lat, 0.18);
	world_p99(w, 5000);
	assert_true(periods_until_move(w, 6) > 0);
	assert_int_equal(role_moves(w, SCHED_ROLE_LATENCY, cpus), 1);
	assert_int_equal(cpus[0], (int)(1 - lat));
	m = find_move(w, SCHED_MOVE_CPU_ROLE, NULL);
	assert_reason(m->reason, "joins the latency set");
	for (p = 0; p < 70; p++) /* past every cooldown and the return rule */
		world_period_ok(w);
	assert_int_equal(sched_cpu_role(w->s, 1 - lat), SCHED_ROLE_LATENCY);
	/* The web guests quiet down, and batch guests arrive where admission found room. */
	for (k = 0; k < 6; k++)
		w->g[k].cpu_use = 0.01;
	world_put(w, SCHED_CLASS_BATCH, "b-0", (int)lat, 0.5);
	world_put(w, SCHED_CLASS_BATCH, "b-1", (int)(1 - lat), 0.5);
	/* The core's latency vCPUs drain first (within the move cap), then its role changes. */
	for (p = 0; p < 3; p++) {
		world_period_ok(w);
		if (role_moves(w, SCHED_ROLE_BATCH, cpus))
			break;
	}
	assert_true(p < 3);
	assert_int_equal(role_moves(w, SCHED_ROLE_BATCH, cpus), 1);
	m = find_move(w, SCHED_MOVE_CPU_ROLE, NULL);
	assert_reason(m->reason, "batch guests run and the batch set has 0 cores, below "
	                         "batch-cores-min 1");
	assert_int_equal(w->plan.stats.batch_cpus, 1);
	world_free(w);
}

static void a_core_the_prober_needs_is_not_given_back(void **state)
{
	struct world *w = host16();
	unsigned c, p;

	(void)state;
	for (c = 1; c < 13; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY && c != 5)
			world_put(w, SCHED_CLASS_LATENCY, "idle", (int)c, 0.01);
	starve(w, 0.33);
	world_p99(w, 100);
	set_prober(w, 13, 0.01); /* on the empty core */
	for (p = 0; p < 6; p++)
		world_period_ok(w);
	assert_int_equal(w->plan.stats.latency_cpus, 8);
	assert_int_equal(sched_cpu_role(w->s, 5), SCHED_ROLE_LATENCY);
	assert_int_equal(sched_cpu_role(w->s, 13), SCHED_ROLE_LATENCY);
	world_free(w);
}

/* ---- Work-conserving batch guests (batch_spill) ---- */

static void batch_spill_runs_batch_guests_at_the_idle_policy(void **state)
{
	struct world *w = world_new(16, 1, 2, 2, 65536);
	struct sched_cpuset spill;
	struct sched_guest req;
	struct sched_admission a;
	const struct sched_move *m;
	size_t spin, old, pinned;
	unsigned c, p;

	(void)state;
	w->cfg.batch_spill = 1;
	world_start(w);
	/* The spill set is the latency set, and follows it. */
	sched_spill_cpus(w->s, &spill);
	for (c = 0; c < 16; c++)
		assert_int_equal(sched_cpuset_has(&spill, c),
		                 sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY);
	assert_true(sched_cpuset_count(&spill) > 0);
	/* Admission gives a batch guest the idle policy, a latency guest not. */
	guest_init(&req, SCHED_CLASS_BATCH, "new-batch");
	assert_int_equal(world_admit(w, &req, &a), 0);
	assert_int_equal(a.policy, SCHED_POLICY_IDLE);
	assert_reason(a.reason, "at the idle policy, free to use the latency CPUs' idle time");
	w->g[w->n - 1].policy = a.policy;
	guest_init(&req, SCHED_CLASS_LATENCY, "new-latency");
	assert_int_equal(world_admit(w, &req, &a), 0);
	assert_int_equal(a.policy, SCHED_POLICY_NORMAL);
	/* A batch guest found at the normal policy gets the idle one; a pinned one keeps its. */
	old = world_put(w, SCHED_CLASS_BATCH, "old-batch", 6, 0.9);
	pinned = world_put(w, SCHED_CLASS_BATCH, "pinned-batch", 7, 0.9);
	pin_to(&w->g[pinned], 7);
	spin = world_put(w, SCHED_CLASS_LATENCY, "spin", 3, 0.01);
	world_p99(w, 200);
	world_period_ok(w);
	m = find_move(w, SCHED_MOVE_POLICY, "old-batch");
	assert_non_null(m);
	assert_int_equal(m->policy, SCHED_POLICY_IDLE);
	assert_reason(m->reason, "batch guest old-batch: class policy -> idle");
	assert_null(find_move(w, SCHED_MOVE_POLICY, "pinned-batch"));
	assert_null(find_move(w, SCHED_MOVE_POLICY, "new-batch"));
	assert_int_equal(w->g[old].policy, SCHED_POLICY_IDLE);
	world_period_ok(w);
	assert_int_equal(w->plan.nmoves, 0);
	/* A latency guest treated as batch gets it the period it is demoted... */
	w->g[spin].cpu_use = 0.97;
	world_period_ok(w);
	world_period_ok(w);
	assert_non_null(find_move(w, SCHED_MOVE_CLASS, "spin"));
	m = find_move(w, SCHED_MOVE_POLICY, "spin");
	assert_non_null(m);
	assert_int_equal(m->policy, SCHED_POLICY_IDLE);
	assert_reason(m->reason, "latency-as-batch guest spin: class policy -> idle");
	/* ...and the normal policy back with its class. */
	w->g[spin].cpu_use = 0.01;
	for (p = 0; p < 10; p++)
		world_period_ok(w);
	assert_non_null(find_move(w, SCHED_MOVE_CLASS, "spin"));
	m = find_move(w, SCHED_MOVE_POLICY, "spin");
	assert_non_null(m);
	assert_int_equal(m->policy, SCHED_POLICY_NORMAL);
	assert_int_equal(w->g[spin].policy, SCHED_POLICY_NORMAL);
	world_free(w);
}

static void batch_spill_gives_no_core_back_for_starvation(void **state)
{
	struct world *w = world_new(16, 1, 2, 2, 65536);
	unsigned c, p;

	(void)state;
	w->cfg.batch_spill = 1;
	world_start(w);
	for (c = 1; c < 13; c++)
		if (sched_cpu_role(w->s, c) == SCHED_ROLE_LATENCY && c != 5)
			world_put(w, SCHED_CLASS_LATENCY, "idle", (int)c, 0.01);
	starve(w, 0.33);
	world_p99(w, 100);
	/* The same load that gets a core back without it: the batch guests use the idle time. */
	for (p = 0; p < 20; p++) {
		world_period_ok(w);
		assert_false(w->plan.stats.batch_starved);
		assert_int_equal(role_moves(w, SCHED_ROLE_BATCH, NULL), 0);
	}
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(violating_guest_gets_a_move_with_its_reason),
		cmocka_unit_test(batch_cores_min_comes_back_with_batch_guests),
		cmocka_unit_test(crowded_cpu_is_relieved_heaviest_first),
		cmocka_unit_test(heavy_violator_moves_to_a_less_loaded_cpu),
		cmocka_unit_test(outside_work_counts_in_a_cpus_load),
		cmocka_unit_test(hog_on_an_smt_sibling_is_moved),
		cmocka_unit_test(pinned_batch_guest_gets_weight_then_idle_policy),
		cmocka_unit_test(operator_pinned_latency_guests_never_move),
		cmocka_unit_test(entry_needs_enter_periods_in_a_row),
		cmocka_unit_test(a_reason_counts_the_whole_violation),
		cmocka_unit_test(exit_needs_the_margin),
		cmocka_unit_test(alternating_at_the_slo_never_moves),
		cmocka_unit_test(hovering_guest_does_not_ping_pong),
		cmocka_unit_test(moves_are_capped_per_period),
		cmocka_unit_test(cooldown_is_respected_and_backs_off),
		cmocka_unit_test(violator_outside_the_latency_set_is_brought_home),
		cmocka_unit_test(guests_crowded_by_number_spread),
		cmocka_unit_test(latency_set_grows_by_number_into_an_idle_batch_core),
		cmocka_unit_test(latency_set_grows_when_every_latency_cpu_is_loaded),
		cmocka_unit_test(latency_set_does_not_grow_into_a_busy_batch_set),
		cmocka_unit_test(a_forgotten_guest_starts_afresh),
		cmocka_unit_test(the_long_window_stands_in_for_a_thin_short_one),
		cmocka_unit_test(missed_probes_count_as_over),
		cmocka_unit_test(a_cpu_bound_latency_guest_is_treated_as_batch),
		cmocka_unit_test(crowded_cpu_bound_latency_guests_are_treated_as_batch),
		cmocka_unit_test(class_changes_do_not_flap),
		cmocka_unit_test(a_pinned_cpu_bound_latency_guest_gets_the_batch_remedies),
		cmocka_unit_test(steady_state_makes_no_moves),
		cmocka_unit_test(batch_latency_and_idle_guests_are_not_acted_upon),
		cmocka_unit_test(bad_snapshots_are_refused_and_change_nothing),
		cmocka_unit_test(oversized_snapshots_are_refused),
		cmocka_unit_test(an_empty_latency_core_goes_back_to_starved_batch_guests),
		cmocka_unit_test(a_busy_latency_core_is_drained_first),
		cmocka_unit_test(a_core_goes_back_only_when_the_latency_set_can_spare_it),
		cmocka_unit_test(the_split_does_not_flip_flop),
		cmocka_unit_test(batch_guests_are_admitted_away_from_the_prober),
		cmocka_unit_test(the_prober_s_load_counts_for_latency_guests),
		cmocka_unit_test(a_batch_vcpu_near_the_prober_is_moved),
		cmocka_unit_test(a_core_the_prober_needs_is_not_given_back),
		cmocka_unit_test(batch_spill_runs_batch_guests_at_the_idle_policy),
		cmocka_unit_test(batch_spill_gives_no_core_back_for_starvation),
	};

	return cmocka_run_group_tests_name("sched_plan", tests, NULL, NULL);
}
