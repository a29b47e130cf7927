/*
 * What the scheduler unit tests share: a small world (a host, the
 * scheduler's state and a guest table the tests edit directly), guests
 * admitted or put on a CPU by hand, scripted latency windows, a plan
 * per period with its moves applied as the daemon would, and lookups in
 * the plan.  Included by each test_sched_*.c after cmocka.h.
 */
#ifndef SHOAL_SCHED_TESTLIB_H
#define SHOAL_SCHED_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/scheduler.h"
#include "scheduler/sim.h"

#define WORLD_GUESTS 1024

struct world {
	struct sched_host host;
	struct sched_config cfg;
	struct sched *s;
	struct sched_guest g[WORLD_GUESTS];
	size_t n;
	uint64_t now_ns;
	struct sched_plan plan;
	int planned;
};

/* A host as the simulator builds it (Linux numbering: siblings ncpus/threads apart). */
static inline struct world *world_new(unsigned cpus, unsigned nodes, unsigned threads,
                                      unsigned dom0_cpus, uint64_t memory_mib)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sim_params p;
	char why[200];

	assert_non_null(w);
	sim_params_default(&p);
	p.cpus = cpus;
	p.nodes = nodes;
	p.threads_per_core = threads;
	p.dom0_cpus = dom0_cpus;
	p.memory_mib = memory_mib;
	p.dom0_memory_mib = 0;
	if (sim_host_build(&w->host, &p, why, sizeof(why)))
		fail_msg("host: %s", why);
	sched_config_default(&w->cfg);
	w->now_ns = 1000000000ull;
	return w;
}

/* Create the scheduler from w->host and w->cfg (change them before). */
static inline void world_start(struct world *w)
{
	char why[200];
	int rc = sched_create(&w->host, &w->cfg, &w->s, why, sizeof(why));

	if (rc)
		fail_msg("sched_create: %d %s", rc, why);
}

static inline void world_free(struct world *w)
{
	if (w->planned)
		sched_plan_free(&w->plan);
	sched_destroy(w->s);
	free(w);
}

/* A guest record as a deploy asks for it: 1 vCPU, 32 MiB, SLO 1000 us, not running. */
static inline void guest_init(struct sched_guest *g, enum sched_class cls, const char *name)
{
	unsigned v;

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->cls = cls;
	g->vcpus = 1;
	g->memory_mib = 32;
	g->node = -1;
	g->slo_us = 1000;
	g->cpu_use = -1;
	for (v = 0; v < SCHED_VCPUS_MAX; v++)
		g->cpu[v] = -1;
}

static inline struct sched_snapshot world_snapshot(const struct world *w)
{
	struct sched_snapshot snap;

	snap.now_ns = w->now_ns;
	snap.guests = w->g;
	snap.nguests = w->n;
	return snap;
}

/* sched_admit() against the world; on success the guest joins it on the CPUs chosen. */
static inline int world_admit(struct world *w, const struct sched_guest *req,
                              struct sched_admission *a)
{
	struct sched_snapshot snap = world_snapshot(w);
	int rc = sched_admit(w->s, &snap, req, a);
	unsigned v;

	if (!rc) {
		assert_true(w->n < WORLD_GUESTS);
		w->g[w->n] = *req;
		for (v = 0; v < req->vcpus; v++)
			w->g[w->n].cpu[v] = a->cpu[v];
		w->g[w->n].node = a->node;
		w->n++;
	}
	return rc;
}

/* Admit a 1-vCPU guest that must fit; returns its index. */
static inline size_t world_add(struct world *w, enum sched_class cls, const char *name)
{
	struct sched_guest g;
	struct sched_admission a;
	int rc;

	guest_init(&g, cls, name);
	rc = world_admit(w, &g, &a);
	if (rc)
		fail_msg("admitting %s: %d %s", name, rc, a.reason);
	return w->n - 1;
}

/* Put a guest on cpu as the daemon found it (no admission), using `use` CPU. */
static inline size_t world_put(struct world *w, enum sched_class cls, const char *name, int cpu,
                               double use)
{
	struct sched_guest *g = &w->g[w->n];

	assert_true(w->n < WORLD_GUESTS);
	guest_init(g, cls, name);
	g->id = w->n + 1;
	g->cpu[0] = (int16_t)cpu;
	g->cpu_use = use;
	return w->n++;
}

/* Both windows with this p99 (p50 half of it) and 100 samples. */
static inline void set_p99(struct sched_guest *g, uint32_t p99_us)
{
	struct sched_window win = { p99_us / 2, p99_us, 100, 0 };

	g->win_short = win;
	g->win_long = win;
}

static inline void world_p99(struct world *w, uint32_t p99_us)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		set_p99(&w->g[i], p99_us);
}

/* Apply a plan's moves to the guests, as the daemon would. */
static inline void world_apply(struct world *w)
{
	size_t k;

	for (k = 0; k < w->plan.nmoves; k++) {
		const struct sched_move *m = &w->plan.moves[k];
		struct sched_guest *g = m->guest == SCHED_NO_GUEST ? NULL : &w->g[m->guest];

		if (m->kind == SCHED_MOVE_PIN) {
			assert_int_equal(g->cpu[m->vcpu], m->from_cpu);
			g->cpu[m->vcpu] = (int16_t)m->to_cpu;
		} else if (m->kind == SCHED_MOVE_WEIGHT) {
			g->weight = m->weight;
		} else if (m->kind == SCHED_MOVE_POLICY) {
			g->policy = m->policy;
		}
	}
}

/* One period: a second later, plan, check the cap, apply.  Returns sched_plan()'s rc. */
static inline int world_period(struct world *w)
{
	struct sched_snapshot snap;
	int rc;

	if (w->planned)
		sched_plan_free(&w->plan);
	w->now_ns += 1000000000ull;
	snap = world_snapshot(w);
	rc = sched_plan(w->s, &snap, &w->plan);
	w->planned = 1;
	if (rc)
		return rc;
	assert_true(w->plan.nmoves <= w->cfg.moves_max);
	world_apply(w);
	return 0;
}

static inline void world_period_ok(struct world *w)
{
	int rc = world_period(w);

	if (rc)
		fail_msg("sched_plan: %d %s", rc, w->plan.error);
}

/* The first move of this kind for the guest named, or NULL. */
static inline const struct sched_move *find_move(const struct world *w, enum sched_move_kind kind,
                                                 const char *name)
{
	size_t k;

	for (k = 0; k < w->plan.nmoves; k++)
		if (w->plan.moves[k].kind == kind &&
		    (!name || !strcmp(w->plan.moves[k].guest_name, name)))
			return &w->plan.moves[k];
	return NULL;
}

/* The first CPU with this role, counting from `from`; fails when none. */
static inline int cpu_with_role(const struct world *w, enum sched_role role, unsigned from)
{
	unsigned c;

	for (c = from; c < w->host.ncpus; c++)
		if (sched_cpu_role(w->s, c) == role)
			return (int)c;
	fail_msg("no %s CPU from cpu %u", sched_role_str(role), from);
	return -1;
}

/* The SMT sibling of cpu on a host built with 2 threads per core. */
static inline int sibling_of(const struct world *w, int cpu)
{
	unsigned half = w->host.ncpus / 2;

	return cpu < (int)half ? cpu + (int)half : cpu - (int)half;
}

/* Assert that reason contains part, showing both when it does not. */
#define assert_reason(reason, part)                                                                \
	do {                                                                                       \
		if (!strstr((reason), (part)))                                                     \
			fail_msg("reason \"%s\" does not say \"%s\"", (reason), (part));           \
	} while (0)

#endif
