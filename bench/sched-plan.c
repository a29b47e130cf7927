/*
 * Figures for the scheduler: the time of one sched_plan() at 64 CPUs /
 * 5,000 guests over many periods of the simulator (steady ones, and
 * ones with a disturbance to remedy), beside baselines measured in the
 * same run: merely copying and reading the snapshot the daemon would
 * fill, and sched_plan() on a small host (8 CPUs / 100 guests).  Also one
 * sched_admit() against 5,000 guests.  Prints numbers; never passes or
 * fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchlib.h"
#include "scheduler/scheduler.h"
#include "scheduler/sim.h"

#define PERIODS 240

static volatile double sink;

/*
 * A simulator with disturbances to remedy: 40 hogs at period 20, a
 * surge at 90, 8 latency guests turned CPU-bound at 150 (treated as
 * batch, then restored), 40 batch guests turned CPU-bound at 195 (the
 * batch set starved: latency cores drained and given back).  Latency
 * guests use up to 0.4 % of a CPU, so that the latency set can spare
 * cores.
 */
static struct sim *make(unsigned cpus, unsigned guests, unsigned shared)
{
	static const char *const script[] = { "hog:20:40",  "calm:60",    "surge:90:4:5:0.15",
		                              "calm:130",   "spin:150:8", "calm:190",
		                              "busy:195:40" };
	struct sim_params p;
	struct sim *sim;
	char why[256];
	size_t i;

	sim_params_default(&p);
	p.cpus = cpus;
	p.guests = guests;
	p.shared = shared;
	p.latency_use_max = 0.004;
	for (i = 0; shared >= 40 && i < sizeof(script) / sizeof(script[0]); i++)
		if (sim_parse_disturb(&p, script[i], why, sizeof(why)))
			goto bad;
	if (sim_create(&p, NULL, &sim, why, sizeof(why)))
		goto bad;
	return sim;
bad:
	fprintf(stderr, "sched-plan: %s\n", why);
	exit(1);
}

/*
 * Run the periods; plan times (us) of every period, and of those with
 * moves; with cpu_us, each period's CPU time of the plan too (on a loaded
 * host the wall time holds the preemptions as well).
 */
static void run(struct sim *sim, double *all_us, double *busy_us, size_t *nbusy, size_t *moves,
                double *cpu_us)
{
	struct sim_report r;
	unsigned i;

	*nbusy = 0;
	*moves = 0;
	for (i = 0; i < PERIODS; i++) {
		if (sim_step(sim, &r)) {
			fprintf(stderr, "sched-plan: sched_plan failed: %s\n",
			        sim_plan(sim)->error);
			exit(1);
		}
		all_us[i] = r.plan_ns / 1e3;
		if (cpu_us)
			cpu_us[i] = r.plan_cpu_ns / 1e3;
		if (r.moves)
			busy_us[(*nbusy)++] = r.plan_ns / 1e3;
		*moves += r.moves;
	}
}

/* The floor of any plan: copy the snapshot's guests and read each one's use and p99. */
static void copy_baseline(const struct sched_snapshot *snap, double *us, size_t n)
{
	struct sched_guest *copy = malloc(snap->nguests * sizeof(*copy));
	size_t i, k;

	if (!copy)
		exit(1);
	for (k = 0; k < n; k++) {
		uint64_t t0 = bl_now_ns();
		double sum = 0;

		memcpy(copy, snap->guests, snap->nguests * sizeof(*copy));
		for (i = 0; i < snap->nguests; i++)
			sum += copy[i].cpu_use + copy[i].win_short.p99_us;
		sink += sum;
		us[k] = (bl_now_ns() - t0) / 1e3;
	}
	free(copy);
}

static void admit_once(struct sim *sim, double *us, size_t n)
{
	const struct sched_snapshot *snap = sim_snapshot(sim);
	struct sched_admission a;
	struct sched_guest g;
	size_t k;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "new");
	g.vcpus = 1;
	g.memory_mib = 32;
	g.slo_us = 1000;
	for (k = 0; k < n; k++) {
		uint64_t t0 = bl_now_ns();

		g.cls = k % 2 ? SCHED_CLASS_BATCH : SCHED_CLASS_LATENCY;
		sched_admit(sim_sched(sim), snap, &g, &a);
		us[k] = (bl_now_ns() - t0) / 1e3;
	}
}

int main(void)
{
	double *all = calloc(PERIODS, sizeof(*all)), *busy = calloc(PERIODS, sizeof(*busy));
	double *base = calloc(PERIODS, sizeof(*base)), *small = calloc(PERIODS, sizeof(*small));
	double *scratch = calloc(PERIODS, sizeof(*scratch)), *cpu = calloc(PERIODS, sizeof(*cpu));
	struct sim *big, *tiny;
	size_t nbusy, moves, nsmall_busy, small_moves;
	double med, med_base, med_small;

	if (!all || !busy || !base || !small || !scratch || !cpu)
		return 1;
	big = make(64, 5000, 40);
	tiny = make(8, 100, 0);
	printf("scheduler, %d periods each; the plan's cost limit is 10 ms at 64 CPUs / 5,000 "
	       "guests\n",
	       PERIODS);
	run(big, all, busy, &nbusy, &moves, cpu);
	run(tiny, small, scratch, &nsmall_busy, &small_moves, NULL);
	copy_baseline(sim_snapshot(big), base, PERIODS);

	med = bl_report("sched_plan, 64 CPUs / 5000 guests", all, PERIODS);
	printf("%-34s max    %9.1f us\n", "", bl_quantile(all, PERIODS, 1.0));
	bl_report("  its CPU time (the thread's)", cpu, PERIODS);
	printf("%-34s max    %9.1f us\n", "", bl_quantile(cpu, PERIODS, 1.0));
	bl_report("  periods that moved something", busy, nbusy);
	printf("  (%zu moves in %zu of the %d periods: 40 hogs at 20, a surge at 90, 8 spinning "
	       "latency guests at 150, 40 busy batch guests at 195)\n",
	       moves, nbusy, PERIODS);
	med_base = bl_report("baseline: copy + read the snapshot", base, PERIODS);
	printf("  (%zu guests, %zu KiB)\n", sim_snapshot(big)->nguests,
	       sim_snapshot(big)->nguests * sizeof(struct sched_guest) / 1024);
	med_small = bl_report("baseline: sched_plan, 8 CPUs / 100", small, PERIODS);
	printf("ratio: plan / copy %.1fx, plan at 64/5000 / plan at 8/100 %.0fx\n", med / med_base,
	       med / med_small);
	admit_once(big, scratch, PERIODS);
	bl_report("sched_admit against 5000 guests", scratch, PERIODS);
	sim_destroy(big);
	sim_destroy(tiny);
	free(all);
	free(busy);
	free(base);
	free(small);
	free(scratch);
	free(cpu);
	return 0;
}
