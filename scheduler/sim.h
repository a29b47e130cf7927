/*
 * The scheduler's simulator: a model host of any size and a model of
 * wake-up latency, driven period after period through the same
 * sched_admit() and sched_plan() shoald calls, so the policy can be
 * watched far past what one test machine holds (64 CPUs, 5,000 guests).
 * Used by scheduler/sim (the program), the unit tests and the bench.
 *
 * The latency model.  A probe to a latency guest on CPU c waits for the
 * other vCPUs there: each adds its CPU use times its time slice (a
 * latency vCPU runs short bursts, a batch vCPU whole slices; a lowered
 * weight scales that by weight / 100, the idle policy by 0.01), the sum
 * grows by 1 / (1 - use of c) as c fills up (capped at 10x; batch use
 * scaled the same way), and busy SMT siblings slow the whole round
 * trip:
 *
 *   rtt = (base + wait * X) * (1 + smt_slowdown * sibling use) + jitter * X'
 *
 * where wait also has wake_us for each other latency vCPU on c, however
 * little it uses (0 by default): crowding by number, as wake-ups that
 * come together are served one after another.
 *
 * with X, X' drawn from a seeded generator (X has mean 1 and a
 * Gamma(2) tail), so a run is repeatable.  A latency guest that turns
 * CPU-bound (spin) runs whole slices as a batch vCPU does.  Each period every latency
 * guest gets probes_per_period probes; its windows are the last 10 and
 * 60 periods of them, exactly as the daemon's 10 s and 60 s windows at
 * one period a second.  Batch guests are not probed.
 */
#ifndef SHOAL_SCHED_SIM_H
#define SHOAL_SCHED_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler.h"

/* Something that happens to the guests at a period. */
enum sim_disturb_kind {
	SIM_HOG,   /* `count` of the batch guests on latency CPUs (--shared) jump to `use` */
	SIM_SURGE, /* on `cpus` latency CPUs, `count` latency guests each jump to `use` */
	SIM_CALM,  /* every guest a disturbance changed goes back to its earlier use */
	SIM_SPIN,  /* on `count` latency CPUs, `per` latency guests each turn CPU-bound at `use` */
	SIM_BUSY,  /* `count` batch guests on the batch CPUs (round the CPUs) jump to `use` */
	/*
	 * On `count` latency CPUs, work that is no guest's (another process of
	 * the host's) takes `use` of the CPU, delaying probes as a batch vCPU
	 * does; the policy cannot move it.
	 */
	SIM_OUTSIDE,
};

struct sim_disturb {
	enum sim_disturb_kind kind;
	unsigned at; /* period, from 1 */
	unsigned count;
	unsigned cpus;
	unsigned per;
	double use;
};

#define SIM_DISTURB_MAX 16

struct sim_params {
	/* The host: cpus = nodes * cores * threads, numbered as Linux does (siblings cpus/threads
	 * apart). */
	unsigned cpus;
	unsigned nodes;
	unsigned threads_per_core;
	unsigned dom0_cpus; /* whole cores from cpu 0 */
	uint64_t memory_mib;
	uint64_t dom0_memory_mib;
	/* The guests, admitted one by one in a random order of classes. */
	unsigned guests;
	double batch_fraction;
	unsigned shared; /* batch guests then found on latency CPUs, idle */
	uint64_t guest_memory_mib;
	uint32_t slo_us;
	double latency_use_min, latency_use_max; /* CPU use, drawn uniformly */
	double batch_use_min, batch_use_max;
	/* The latency model (see above). */
	double base_us;
	double jitter_us;
	double slice_latency_us;
	double slice_batch_us;
	double smt_slowdown;
	double wake_us; /* each other latency vCPU on the CPU adds this to the wait, however idle */
	double use_noise; /* relative noise of the measured CPU use */
	/*
	 * What the daemon measures of a CPU asked for more than it has
	 * (0: each vCPU's use as asked, as if it got it).  1: each vCPU's
	 * share of it, in proportion to what it asks, and the rest as its
	 * wait (cpu_wait), as Linux's schedstat shows a CPU-bound thread
	 * among others.
	 */
	int fair_share;
	/*
	 * 1: the daemon does not measure work that is no guest's (no
	 * sched_set_other_use()), as shoald on a hypervisor, or before it
	 * learnt to: the control for SIM_OUTSIDE.
	 */
	int other_untold;
	unsigned probes_per_period;
	unsigned osc_periods; /* a move back to a CPU left this recently is an oscillation */
	uint64_t seed;
	unsigned ndisturb;
	struct sim_disturb disturb[SIM_DISTURB_MAX];
};

/* One period. */
struct sim_report {
	unsigned period;
	/*
	 * Latency guests the policy holds to their SLO (effective class
	 * latency) whose 10 s p99 is over it (the model's own count); and
	 * by the p99 of the last 2 s alone, which shows a recovery
	 * without the 10 s window's memory.
	 */
	size_t over_slo;
	size_t over_slo_2s;
	size_t violating; /* in violation as the plan's hysteresis has it */
	size_t moves;     /* entries in the plan */
	size_t pins, weights, policies, roles, classes;
	size_t oscillations;
	size_t pinned_moved; /* pins of operator-pinned guests (must stay 0) */
	/*
	 * CPU time the batch guests got this period, in CPUs: on each CPU
	 * what they ask for, up to what the latency guests there leave of
	 * one CPU.
	 */
	double batch_work;
	uint64_t plan_ns; /* sched_plan() alone */
	uint64_t
	    plan_cpu_ns; /* ... its thread's CPU time: what a loaded host's preemption leaves out */
	unsigned latency_cpus, batch_cpus;
};

struct sim;

/* 64 CPUs (2 nodes, SMT pairs, 2 for Dom0), 5,000 guests, 10 % batch, seed 1; no disturbance. */
void sim_params_default(struct sim_params *p);

/*
 * Add a disturbance from text: "hog:AT:COUNT[:USE]" (USE 1.0 if left
 * out), "surge:AT:CPUS:COUNT:USE", "spin:AT:COUNT[:USE[:PER]]",
 * "busy:AT:COUNT[:USE]", "outside:AT:COUNT[:USE]", "calm:AT".  Returns 0 or -EINVAL with
 * a sentence in why.
 */
int sim_parse_disturb(struct sim_params *p, const char *spec, char *why, size_t len);

/* A host as sim_params describes it. */
int sim_host_build(struct sched_host *h, const struct sim_params *p, char *why, size_t len);

/*
 * Build the host, create the scheduler with cfg (NULL: the defaults),
 * admit the guests through sched_admit() and set up the model.  Returns
 * 0, -EINVAL with why, or -ENOMEM.
 */
int sim_create(const struct sim_params *p, const struct sched_config *cfg, struct sim **out,
               char *why, size_t len);
void sim_destroy(struct sim *sim);

/*
 * One period: disturbances due, probes, windows, sched_plan(), the moves
 * applied.  Returns 0 or sched_plan()'s error.
 */
int sim_step(struct sim *sim, struct sim_report *r);

/* Run n periods into r[0 .. n). */
int sim_run(struct sim *sim, unsigned n, struct sim_report *r);

/*
 * The first period from `from` on after which over_slo stays at most
 * tolerance to the end of r[0 .. n), or 0 when it never settles.
 */
unsigned sim_settled_at(const struct sim_report *r, unsigned n, unsigned from, size_t tolerance);

struct sched *sim_sched(struct sim *sim);
/* The snapshot the last period planned from (the guests as they were then). */
const struct sched_snapshot *sim_snapshot(const struct sim *sim);
/* The last period's plan, valid until the next sim_step(). */
const struct sched_plan *sim_plan(const struct sim *sim);
/* The guests, to change between periods (pins, uses) in tests. */
struct sched_guest *sim_guests(struct sim *sim, size_t *n);
/* Set a guest's true CPU use (the model's; the snapshot gets it with noise). */
void sim_set_use(struct sim *sim, size_t guest, double use);
/* "About none" over SLO: 0.1 % of the latency guests, rounded down. */
size_t sim_tolerance(const struct sim *sim);

/* Admissions refused while building (the host was full). */
size_t sim_refused(const struct sim *sim);

#endif
