/*
 * scheduler: where shoald's guests run, as a pure library.  Two parts
 * (DESIGN.md, "Placement"): admission, which chooses CPUs and a NUMA
 * node for a new guest or refuses it with a reason a person can act on,
 * and re-placement, which every control period turns the guests' latency
 * windows and CPU use into a short plan of moves that brings guests over
 * their SLO back under it.
 *
 * The library does no I/O, reads no clock (times are passed in), never
 * logs and never exits, and depends on no other shoal header.  It
 * allocates only in sched_create() and for the moves of a plan (freed
 * with sched_plan_free()).  Errors are negative errno values.  Nothing is
 * thread-safe: one caller (the daemon's loop) owns a struct sched.
 *
 * How a daemon drives it:
 *
 *   at start     fill a struct sched_host, sched_config_default() and
 *                adjust, sched_create().  Keep the struct sched for the
 *                daemon's lifetime: it holds everything the policy
 *                remembers between periods (the split of CPUs between
 *                latency and batch guests, per-guest hysteresis counters,
 *                cooldowns, the CPUs a guest left recently).  A host
 *                whose CPUs or memory change needs a new one.
 *   on a deploy  fill a snapshot of the guests already placed and a
 *                struct sched_guest for the new one; sched_admit().  Pin
 *                the guest's vCPUs to the CPUs it answers, put its memory
 *                on its node, and from then on list it in every snapshot
 *                with those CPUs as its current ones, started or not.
 *   each period  (about 1 s) fill a snapshot of every guest with its
 *                current CPUs, CPU use, weight, class policy and latency
 *                windows; sched_plan(); apply the moves in order (pin,
 *                weight, policy; a CPU role or class change is only
 *                logged), log
 *                each with its reason, show them and sched_cpu_role() in
 *                /v1/placement; sched_plan_free().  The plan assumes its
 *                moves are applied: the next snapshot must show them.
 *                A move that failed shows in the next snapshot as not
 *                made and is planned again after the cooldown.
 *
 * The policy in short (details at each knob of struct sched_config):
 * CPUs are Dom0's, latency CPUs or batch CPUs; whole SMT cores go to one
 * set, spread over the NUMA nodes.  Latency guests are spread
 * least-loaded-first over the latency set, batch guests packed first-fit
 * on the batch set, each within a per-class limit of vCPUs per CPU, with
 * memory and CPUs in one node where the guest fits.  Re-placement acts on
 * latency guests only: a guest enters violation after enter_periods
 * periods over its SLO and leaves it only below SLO * (1 - exit_margin).
 * For the CPU of a violating guest it first moves batch guests off the
 * CPU and its SMT siblings (or lowers their weight, then their class
 * policy, when they are pinned or have nowhere to go); a violator found
 * outside the latency set is brought into it; a crowded latency CPU
 * sheds its heaviest latency vCPUs (violating or not: a guest's own use
 * does not delay its own probes) to clearly less loaded latency CPUs,
 * and when every latency CPU is loaded the latency set takes a core from
 * the batch set, if the batch set can spare it (batch_cores_min holds
 * only while a batch guest runs); the other way, when batch guests are
 * starved while the latency set idles, a latency core is drained and
 * given back (starve_use), and after either neither happens the other
 * way for split_hold_periods.  Batch vCPUs are kept off the prober's
 * CPUs and their SMT siblings (sched_set_prober()).  A latency guest whose own CPU use
 * stays high (demote_use), or that stays runnable (demote_busy), is treated as a batch guest until
 * it quiets down (restore_use), announced by a SCHED_MOVE_CLASS.  Then the CPU and the moved guests
 * are left alone for a cooldown, so the latency windows can show the effect; a guest moved again
 * before it recovered waits twice as long each time; no guest is moved back to a CPU it left within
 * return_periods; operator-pinned guests never change CPU; at most
 * moves_max moves a period.
 */
#ifndef SHOAL_SCHEDULER_H
#define SHOAL_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_CPUS_MAX   1024 /* CPU numbers are 0 .. SCHED_CPUS_MAX - 1 */
#define SCHED_NODES_MAX  64
#define SCHED_VCPUS_MAX  32
#define SCHED_NAME_MAX   63  /* a guest's name, without its NUL */
#define SCHED_REASON_MAX 320 /* a reason sentence, with its NUL */

/* ---- CPU sets ------------------------------------------------------ */

/* A set of CPU numbers; all-zero is the empty set. */
struct sched_cpuset {
	uint64_t bits[SCHED_CPUS_MAX / 64];
};

static inline void sched_cpuset_zero(struct sched_cpuset *set)
{
	unsigned i;

	for (i = 0; i < SCHED_CPUS_MAX / 64; i++)
		set->bits[i] = 0;
}

/* Add cpu (< SCHED_CPUS_MAX; larger numbers are ignored). */
static inline void sched_cpuset_add(struct sched_cpuset *set, unsigned cpu)
{
	if (cpu < SCHED_CPUS_MAX)
		set->bits[cpu / 64] |= 1ull << (cpu % 64);
}

static inline int sched_cpuset_has(const struct sched_cpuset *set, unsigned cpu)
{
	return cpu < SCHED_CPUS_MAX && (set->bits[cpu / 64] >> (cpu % 64) & 1);
}

static inline unsigned sched_cpuset_count(const struct sched_cpuset *set)
{
	unsigned i, n = 0;

	for (i = 0; i < SCHED_CPUS_MAX / 64; i++)
		n += (unsigned)__builtin_popcountll(set->bits[i]);
	return n;
}

/* ---- The host ------------------------------------------------------ */

struct sched_host_cpu {
	unsigned node; /* NUMA node, < nnodes */
	unsigned core; /* physical core id (< SCHED_CPUS_MAX); CPUs sharing it are SMT siblings */
	int dom0;      /* nonzero: kept for Dom0, never given to a guest */
};

/*
 * The machine as the daemon finds it (sysfs on KVM, libxl's topology on
 * Xen).  CPUs are 0 .. ncpus-1.  Memory is per node; dom0_memory_mib[n]
 * of node n's memory is kept for Dom0 and never given to guests.
 */
struct sched_host {
	unsigned ncpus;  /* 1 .. SCHED_CPUS_MAX */
	unsigned nnodes; /* 1 .. SCHED_NODES_MAX */
	struct sched_host_cpu cpu[SCHED_CPUS_MAX];
	uint64_t node_memory_mib[SCHED_NODES_MAX];
	uint64_t dom0_memory_mib[SCHED_NODES_MAX];
};

/*
 * A host without topology: ncpus CPUs on one node, each its own core,
 * none kept for Dom0, memory_mib in all.  Adjust the fields after (Dom0
 * CPUs, SMT cores, nodes) as the machine has them.
 */
void sched_host_init(struct sched_host *h, unsigned ncpus, uint64_t memory_mib);

/* ---- Guests and snapshots ------------------------------------------ */

enum sched_class {
	SCHED_CLASS_LATENCY = 0, /* held to its SLO; kept apart from batch guests */
	SCHED_CLASS_BATCH = 1,   /* CPU-bound; packed; its latency is not acted upon */
};

/* The host scheduler's class policy for a guest's vCPUs. */
enum sched_policy {
	SCHED_POLICY_NORMAL = 0,
	SCHED_POLICY_IDLE =
	    1, /* runs only when nothing else wants the CPU (SCHED_IDLE, credit2 cap) */
};

/* One latency window as the daemon's probe record reports it (metrics.h). */
struct sched_window {
	uint32_t p50_us;
	uint32_t p99_us;
	uint32_t samples; /* RTT samples in the window */
	uint32_t misses;  /* probes not answered in time */
};

/*
 * One guest.  The same record serves as a snapshot entry and as the
 * request to sched_admit() (which reads only the identity, class,
 * vcpus, memory_mib, slo_us and pin).
 *
 * A guest is identified by the pair (id, name): a stable integer, a name
 * (NUL-terminated, at most SCHED_NAME_MAX characters), or both; they may
 * not both be empty (0 and "").  The pair must be unique in a snapshot and
 * stay the same from period to period, or the guest's history (hysteresis,
 * cooldown) is lost.  The name also appears in reasons.
 */
struct sched_guest {
	uint64_t id;
	char name[SCHED_NAME_MAX + 1];
	enum sched_class cls;
	unsigned vcpus;      /* 1 .. SCHED_VCPUS_MAX */
	uint64_t memory_mib; /* > 0 */
	int node; /* node holding its memory (as admission chose); -1: interleaved or unknown */
	uint32_t slo_us; /* > 0: the p99 probe round trip it should stay under */
	/*
	 * CPUs the operator pinned the guest to; empty: shoald places it.  A
	 * pinned guest never changes CPU; a pinned batch guest may still have
	 * its weight or class policy lowered.
	 */
	struct sched_cpuset pin;
	/* Snapshot only: the CPU each vCPU i < vcpus runs on now, -1 while it does not run. */
	int16_t cpu[SCHED_VCPUS_MAX];
	/*
	 * Snapshot only: CPU time used over the last period in CPUs, over all
	 * its vCPUs (0 .. vcpus; up to 2 * vcpus is accepted as measurement
	 * noise and read as vcpus).  Negative: not measured yet (a guest that
	 * has not run a whole period); the policy then assumes
	 * assumed_use_latency or assumed_use_batch per vCPU.
	 */
	double cpu_use;
	/*
	 * Snapshot only: the time its vCPUs were runnable but waited for a
	 * CPU over the same period, in CPUs as cpu_use (Linux's run delay).
	 * A vCPU that would run all the time on a crowded CPU shows a small
	 * use and a large wait.  0 or negative: not known (the hypervisor
	 * does not say), read as no wait.
	 */
	double cpu_wait;
	unsigned weight; /* snapshot only: current weight (1 .. 10000); 0: weight_default */
	enum sched_policy policy; /* snapshot only: current class policy */
	/*
	 * Snapshot only: the probe windows of the last 10 s and 60 s.  The
	 * short one judges the guest; the long one stands in when the short
	 * one has fewer than min_samples samples (a slow probe rate).
	 */
	struct sched_window win_short;
	struct sched_window win_long;
};

/*
 * What the daemon knows at one moment.  guests[0 .. nguests) is read,
 * never kept: the library copies what it remembers.  now_ns is the
 * daemon's monotonic clock; it must not go backwards between plans.
 */
struct sched_snapshot {
	uint64_t now_ns;
	const struct sched_guest *guests;
	size_t nguests;
};

/* ---- Configuration ------------------------------------------------- */

struct sched_config {
	/* Sizes: sched_create() allocates for snapshots this large. */
	size_t guests_max; /* 8192 */
	size_t vcpus_max;  /* 32768: all vCPUs of a snapshot together */

	/*
	 * The split.  latency_share (0.75) of the non-Dom0 cores start in
	 * the latency set.  Admission lends an empty core to the other set
	 * but never leaves the latency set below latency_cores_min (1);
	 * re-placement grows the latency set but never leaves the batch set
	 * below batch_cores_min (1).
	 */
	double latency_share;
	unsigned latency_cores_min;
	unsigned batch_cores_min;

	/*
	 * Admission.  A latency guest joins a CPU holding fewer than
	 * latency_vcpus_per_cpu (128) vCPUs, a batch guest one holding fewer
	 * than batch_vcpus_per_cpu (256): the density shoald is for (5,000
	 * mostly idle guests on 64 CPUs) needs about 80 a CPU.  A vCPU not
	 * measured yet counts as assumed_use_latency (0.01) or
	 * assumed_use_batch (0.5) CPU; the latency spread also counts every
	 * vCPU on a CPU at a tenth of assumed_use_latency, so guests that
	 * measure idle still spread by number.  First-fit fills a batch CPU up to batch_pack_use
	 * (1.0) CPU of use.  A CPU's load is its use plus smt_weight (0.25) times its SMT siblings'
	 * use.
	 */
	unsigned latency_vcpus_per_cpu;
	unsigned batch_vcpus_per_cpu;
	double assumed_use_latency;
	double assumed_use_batch;
	double batch_pack_use;
	double smt_weight;

	/*
	 * Violation.  A window with fewer than min_samples (20) probes does
	 * not judge; more missed probes than miss_ratio_max (0.01) counts as
	 * over the SLO.  A guest enters violation after enter_periods (3)
	 * judged periods over its SLO in a row and leaves it only at p99 <=
	 * SLO * (1 - exit_margin) (0.1).
	 */
	uint32_t min_samples;
	double miss_ratio_max;
	unsigned enter_periods;
	double exit_margin;

	/*
	 * How much a plan may do.  At most moves_max (16) entries a plan.
	 * After a move the guest and the CPU it left are left alone for
	 * cooldown_periods (12; keep it above the short window's length in
	 * periods, so the windows show the move's effect first); a guest
	 * moved again before it recovered waits twice as long each time, up
	 * to 2^backoff_max (4) times.  No vCPU 0 is moved back to a CPU it
	 * left within return_periods (60).
	 */
	unsigned moves_max;
	unsigned cooldown_periods;
	unsigned backoff_max;
	unsigned return_periods;

	/*
	 * Remedies.  A latency vCPU moves only to a CPU at least load_margin
	 * (0.1) less loaded than what it sees where it is; off a crowded CPU
	 * they move until its load fell by relief (0.5), but not below the
	 * latency set's mean load plus load_margin (lower would only move the
	 * crowding elsewhere; capped at load_high).  The latency set grows
	 * when the least loaded latency CPU is at load_high (0.75) or more
	 * and the batch CPUs left could carry the batch load at
	 * batch_pack_use each.  Batch vCPUs on an SMT sibling of a
	 * violator's CPU are moved off when they use batch_sibling_use (0.25)
	 * or more.  A batch guest that cannot be moved off gets weight_low
	 * (10, from weight_default 100, cgroup v2's cpu.weight scale), then
	 * the idle policy.
	 */
	double load_margin;
	double relief;
	double load_high;
	double batch_sibling_use;
	unsigned weight_default;
	unsigned weight_low;

	/*
	 * A latency guest that behaves as a batch guest.  One whose vCPUs
	 * each use demote_use (0.5) CPU or more, or are each runnable
	 * (running or waiting for a CPU: cpu_use plus cpu_wait)
	 * demote_busy (0.9) of the time while they use demote_busy_use
	 * (0.1) or more (CPU-bound on a CPU shared with other CPU-bound
	 * vCPUs, which leave it less than demote_use), for demote_periods
	 * (2) measured periods in a row is treated as a batch guest: its
	 * effective class (sched_effective_class(); the spec keeps the
	 * operator's) becomes batch, a SCHED_MOVE_CLASS says so, and its
	 * vCPUs move off the latency CPUs to batch CPUs; from then on the
	 * remedies count it as batch (moved, or its weight and policy
	 * lowered, for a latency guest's sake) and its own latency is not
	 * acted upon.  It is a latency guest again after restore_periods
	 * (10) periods in a row runnable restore_use (0.2) or less: a
	 * SCHED_MOVE_CLASS, its vCPUs to the least loaded latency CPUs, its
	 * weight and policy back to weight_default and normal.  Each
	 * demotion within return_periods of its last restoration doubles
	 * the quiet periods the next restoration needs, up to 2^backoff_max
	 * times, so a guest whose load comes and goes settles as batch
	 * rather than flapping.  demote_periods 0: never.
	 */
	double demote_use;
	double demote_busy;
	double demote_busy_use;
	unsigned demote_periods;
	double restore_use;
	unsigned restore_periods;

	/*
	 * The split the other way: batch guests starved while latency CPUs
	 * sit idle.  The batch set is starved when every batch CPU uses
	 * starve_use (0.9) or more and its batch vCPUs want more than the
	 * batch CPUs give at batch_pack_use each: a batch vCPU using
	 * hungry_use (0.2) or more of such a CPU counts as wanting a whole
	 * CPU (it gets a share of one), a lighter one as its use.  After
	 * give_periods (5) starved periods in a row the latency set gives
	 * one core back, if it has more than latency_cores_min, no latency
	 * guest is in violation, and its mean load spread over one core
	 * fewer stays below give_load (0.5; well under load_high, so that
	 * the growth rule and this one leave a gap between them) with room
	 * for its vCPUs.  An empty latency core changes role at once;
	 * otherwise the core with the fewest latency vCPUs (none pinned,
	 * not the prober's) drains: its latency vCPUs move to the other
	 * latency CPUs within the move cap, then it changes role, then a
	 * hungry batch vCPU from the most crowded batch CPU moves onto each
	 * of its CPUs.  A drain stops when the batch set is fed for
	 * give_periods in a row or the latency set could no longer spare
	 * the core.  After the split changed one way (a core given back,
	 * or the latency set grown), neither rule changes it the other way
	 * for split_hold_periods (60).  give_periods 0: never.
	 */
	double starve_use;
	double hungry_use;
	unsigned give_periods;
	double give_load;
	unsigned split_hold_periods;

	/*
	 * Work-conserving batch guests (batch_spill, 0: off).  When the host
	 * can run a vCPU at an idle class policy that any other thread
	 * preempts at once (KVM: SCHED_IDLE, and cpu.idle on its cgroup), a
	 * batch guest's vCPUs may also run on the latency CPUs
	 * (sched_spill_cpus()) at that policy: they use the time latency
	 * guests leave idle and give it up the moment one wakes.  Every
	 * batch guest, and every latency guest treated as batch, then runs
	 * at the idle policy (admission says so; a plan sets it on one that
	 * lacks it); operator-pinned guests stay on their own CPUs and keep
	 * their policy.  The batch set is never starved while latency CPUs
	 * idle, so no core is given back for starvation (a core still goes
	 * back when batch guests run below batch_cores_min); its CPUs' use
	 * counts all of its guests' work, wherever it ran.
	 */
	int batch_spill;
};

/* The defaults written above. */
void sched_config_default(struct sched_config *cfg);

/* ---- The state ------------------------------------------------------ */

struct sched; /* opaque */

enum sched_role {
	SCHED_ROLE_DOM0 = 0,
	SCHED_ROLE_LATENCY = 1,
	SCHED_ROLE_BATCH = 2,
};

/*
 * Check host and config, split the CPUs, and allocate the state for
 * guests_max guests.  Returns 0 and *out, -EINVAL with a sentence in why
 * (why may be NULL) for a bad host or config, or -ENOMEM.  The host is
 * copied.  Free with sched_destroy().
 */
int sched_create(const struct sched_host *host, const struct sched_config *cfg, struct sched **out,
                 char *why, size_t whylen);

/* Free s (NULL is fine). */
void sched_destroy(struct sched *s);

/*
 * A CPU's current role (SCHED_ROLE_DOM0 for a number the host does not
 * have).  The split changes in sched_admit() (an empty core lent) and
 * sched_plan() (the latency set grown, or a core given back to batch).
 */
enum sched_role sched_cpu_role(const struct sched *s, unsigned cpu);

/*
 * Where the prober (shoald, which sends every probe and takes every
 * answer) runs: the CPUs it is pinned to, and the CPU it uses in all
 * (0 .. the number of CPUs in the set, shared out evenly over them).
 * Call after sched_create() and again whenever the daemon moves itself
 * (an empty set: unknown, the default).  Batch guests, and latency
 * guests treated as batch, are kept off those CPUs and their SMT
 * siblings: admission chooses them for a batch guest only when no other
 * CPU has room, and a plan moves a batch vCPU found there to a batch CPU
 * away from them ("shoald probes from cpu N").  The prober's use counts
 * in the load of the CPUs it runs on (and, at smt_weight, of their
 * siblings) wherever the policy weighs latency CPUs.  A core holding a
 * prober CPU is given back to the batch set only when the prober also
 * runs elsewhere (then the daemon moves off it).  Returns 0, or -EINVAL
 * for a CPU the host does not have or a use out of range (nothing
 * changes then).
 */
int sched_set_prober(struct sched *s, const struct sched_cpuset *cpus, double use);

/*
 * The work on each CPU that is neither a guest's nor the prober's (the
 * host's other processes, its interrupts, time the hypervisor took), as
 * the daemon measured it over the last period: use[c] for CPU c < n, in
 * CPUs (0 .. 1; CPUs from n on, and all when use is NULL, have none).
 * Call before each sched_plan() that should see it.  It counts in the
 * CPU's load like a guest's use, so a latency CPU that other work crowds
 * is relieved (its latency vCPUs move to less loaded CPUs, the reason
 * saying how much of the load was not a guest's) and admission avoids
 * it; the policy cannot move that work, only the guests beside it.
 * Returns 0, or -EINVAL for n over the host's CPUs or a use out of range
 * (nothing changes then).
 */
int sched_set_other_use(struct sched *s, const double *use, unsigned n);

/* Number of plans made so far (the period counter the cooldowns count in). */
uint32_t sched_periods(const struct sched *s);

/* ---- Admission ------------------------------------------------------ */

enum sched_refusal {
	SCHED_ADMITTED = 0,
	SCHED_REFUSE_BAD_GUEST,    /* -EINVAL: the request is malformed (0 vCPUs, no name, ...) */
	SCHED_REFUSE_BAD_SNAPSHOT, /* -EINVAL: a snapshot entry is malformed */
	SCHED_REFUSE_EXISTS,       /* -EEXIST: a guest with this id and name is in the snapshot */
	SCHED_REFUSE_NO_SUCH_CPU,  /* -EINVAL: a pinned CPU the host does not have */
	SCHED_REFUSE_DOM0_CPU,     /* -EINVAL: a pinned CPU kept for Dom0 */
	SCHED_REFUSE_MEMORY,       /* -ENOMEM: not enough memory left for guests */
	SCHED_REFUSE_OVERCOMMIT,   /* -ENOSPC: every CPU it may use is at its class's vCPU limit */
};

struct sched_admission {
	enum sched_refusal refusal;
	unsigned vcpus;               /* admitted: cpu[0 .. vcpus) are set */
	int16_t cpu[SCHED_VCPUS_MAX]; /* the CPU for each vCPU */
	int node;                     /* node for its memory, -1: interleave over the nodes */
	enum sched_policy policy;     /* its class policy (idle: a batch guest under batch_spill) */
	char reason[SCHED_REASON_MAX]; /* why these CPUs, or why refused: one sentence */
};

/*
 * Choose CPUs (one per vCPU) and a memory node for guest g among the
 * guests of snap, or refuse it.  Returns 0 when admitted, else the
 * negative errno of the refusal (see enum sched_refusal); out is always
 * filled.  Costs one pass over the snapshot.  Nothing changes in s
 * except, when the guest's class has no CPU with room, that an empty
 * core (no vCPU on it) may move from the other set to the guest's; the
 * reason says so.  Every guest admitted before must be in snap.
 */
int sched_admit(struct sched *s, const struct sched_snapshot *snap, const struct sched_guest *g,
                struct sched_admission *out);

/* A stable word for a refusal, for an API error code ("memory", "overcommit", ...). */
const char *sched_refusal_str(enum sched_refusal r);

/* ---- Re-placement --------------------------------------------------- */

enum sched_move_kind {
	SCHED_MOVE_PIN,      /* pin vCPU `vcpu` of the guest to to_cpu (it runs on from_cpu) */
	SCHED_MOVE_WEIGHT,   /* set the guest's weight to `weight` */
	SCHED_MOVE_POLICY,   /* set the guest's class policy to `policy` */
	SCHED_MOVE_CPU_ROLE, /* CPU from_cpu now has role `role` (no guest; nothing to apply) */
	SCHED_MOVE_CLASS,    /* the guest's effective class is now `cls` (nothing to apply) */
};

#define SCHED_MOVE_KINDS (SCHED_MOVE_CLASS + 1)

#define SCHED_NO_GUEST ((size_t)-1)

struct sched_move {
	enum sched_move_kind kind;
	size_t guest; /* index in the snapshot, SCHED_NO_GUEST for SCHED_MOVE_CPU_ROLE */
	uint64_t guest_id;
	char guest_name[SCHED_NAME_MAX + 1];
	unsigned vcpu;
	int from_cpu;
	int to_cpu;
	unsigned weight;
	enum sched_policy policy;
	enum sched_role role;
	enum sched_class cls; /* SCHED_MOVE_CLASS */
	char reason[SCHED_REASON_MAX];
};

/* What the period looked like, for the daemon's metrics and log. */
struct sched_plan_stats {
	uint32_t period;       /* this plan's number, from 1 */
	size_t guests;         /* in the snapshot */
	size_t latency_guests; /* of which latency class */
	size_t over_slo;       /* latency guests over their SLO in this snapshot */
	size_t violating;      /* latency guests in violation (the hysteresis state) */
	size_t cooling;        /* violating, but left alone: guest or CPU in cooldown */
	size_t unremedied;     /* violating, no remedy found (it is alone, or nowhere better) */
	size_t deferred;       /* CPUs whose remedy the move cap left for a later period */
	size_t demoted;    /* latency guests treated as batch (effective class) after the plan */
	int batch_starved; /* the batch set is starved (see starve_use) in this snapshot */
	unsigned draining; /* latency CPUs being emptied to go back to the batch set */
	unsigned latency_cpus; /* the split after the plan */
	unsigned batch_cpus;
};

struct sched_plan {
	struct sched_move *moves; /* moves[0 .. nmoves), in the order to apply them */
	size_t nmoves;            /* <= moves_max */
	struct sched_plan_stats stats;
	char error[SCHED_REASON_MAX]; /* on failure: which snapshot entry is wrong, and how */
};

/*
 * One period's plan from snap.  Updates the hysteresis, cooldowns and
 * split in s as if every move will be applied.  Returns 0 and fills out
 * (free its moves with sched_plan_free(), also when there are none), or:
 * -EINVAL with out->error for a malformed snapshot (an entry out of
 * range, a duplicate guest, a now_ns earlier than the last plan's),
 * -ENOSPC for more guests or vCPUs than guests_max/vcpus_max, -ENOMEM.
 * On failure s is unchanged and out->moves is NULL.  Cost: one pass
 * over the guests and their vCPUs, sorts of the violators and of the
 * vCPUs of the CPUs remedied, O(CPUs) per move: O(n log n), about
 * 0.3 ms at 64 CPUs / 5,000 guests (bench/sched-plan).  No allocation
 * but the moves.
 */
int sched_plan(struct sched *s, const struct sched_snapshot *snap, struct sched_plan *out);

/* Free a plan's moves (and set them to NULL/0). */
void sched_plan_free(struct sched_plan *p);

/*
 * The class the policy treats the guest (id, name) as since the last
 * plan: SCHED_CLASS_BATCH for a latency guest demoted for its CPU use
 * (see demote_use), else its own class; -ENOENT for a guest the last
 * plan's snapshot did not hold.
 */
int sched_effective_class(const struct sched *s, uint64_t id, const char *name);

/*
 * Under batch_spill, the CPUs a batch vCPU may use besides its own (the
 * latency set, now: it changes with the split); the empty set when
 * batch_spill is off.  A guest of effective class batch that is not
 * operator-pinned runs on its CPU and these, at the idle policy.
 */
void sched_spill_cpus(const struct sched *s, struct sched_cpuset *out);

/* "pin", "weight", "policy", "cpu-role", "class". */
const char *sched_move_kind_str(enum sched_move_kind k);
/* "dom0", "latency", "batch". */
const char *sched_role_str(enum sched_role r);
/* "latency", "batch". */
const char *sched_class_str(enum sched_class c);

#endif
