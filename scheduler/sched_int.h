/*
 * What the scheduler's files share and nobody else needs: the state
 * behind struct sched, the per-CPU load a snapshot adds up to, and the
 * helpers admission and re-placement both use (checking a guest,
 * choosing a CPU, moving a core between the sets, writing reasons).
 */
#ifndef SHOAL_SCHED_INT_H
#define SHOAL_SCHED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler.h"

#define SCHED__NCLASS 2

/* A physical core: its CPUs are core_cpu[first .. first + n). */
struct sched__core {
	unsigned node;
	unsigned first;
	unsigned n;
	int guest_cpus; /* CPUs not kept for Dom0 */
};

/* What the state keeps about a CPU between periods. */
struct sched__cpu {
	enum sched_role role;
	uint32_t settle_until; /* its violators are left alone before this period */
	int evacuating;        /* taken into the latency set; batch vCPUs still to move off */
	int draining;          /* to go back to the batch set; latency vCPUs still to move off */
	int feed;              /* given back to the batch set; a starved batch vCPU to move here */
	int near_prober;       /* the prober runs on this CPU or an SMT sibling */
	double prober_use;     /* the prober's use on this CPU */
	double other_use;      /* work on it that is no guest's and not the prober's */
	double relief_goal;    /* the load a relief the move cap cut short is still heading for */
	uint32_t relief_at;    /* the period that relief was cut in */
};

/* A CPU's load in one snapshot, by class, and its vCPUs (slot[first .. first + n)). */
struct sched__load {
	unsigned vcpus[SCHED__NCLASS];
	double use[SCHED__NCLASS];
	unsigned first;
	unsigned n;
};

/* A vCPU slot: guest index in the snapshot and vCPU number. */
#define SCHED__SLOT(g, v)    ((uint32_t)(g) << 5 | (uint32_t)(v))
#define SCHED__SLOT_GUEST(s) ((s) >> 5)
#define SCHED__SLOT_VCPU(s)  ((s)&31u)
_Static_assert(SCHED_VCPUS_MAX <= 32, "a vCPU number must fit a slot's low 5 bits");

/*
 * What the policy remembers about one guest from period to period, kept
 * in snapshot order (gs[i] is snapshot guest i) and found again next
 * period through the (id, name) index.
 */
struct sched__gstate {
	uint64_t id;
	uint64_t hash;
	char name[SCHED_NAME_MAX + 1];
	uint32_t over_periods;   /* consecutive judged periods over the SLO */
	uint32_t viol_periods;   /* judged periods since the violation began */
	uint32_t cooldown_until; /* not acted upon before this period */
	uint32_t strikes;        /* moves since it was last healthy */
	uint32_t left_at[2];     /* when vCPU 0 left left_cpu[i] (newest first) */
	int16_t left_cpu[2];     /* -1: none */
	uint8_t violating;       /* the hysteresis state */
	uint8_t cls;             /* the guest's own class */
	uint8_t eff_batch;       /* a latency guest treated as batch (demote_use) */
	uint32_t hot_periods;    /* consecutive measured periods at demote_use (or demote_busy) */
	uint8_t hot_busy;        /* the last of them was hot by demote_busy alone */
	uint32_t quiet_periods;  /* demoted: consecutive periods runnable restore_use or less */
	uint32_t class_strikes;  /* demotions soon after a restoration */
	uint32_t restored_at;    /* the period it was last restored (0: never) */
	/* This period only. */
	uint8_t over;        /* judged over the SLO now */
	uint8_t demoted;     /* weight or policy lowered in this plan */
	uint8_t reclass;     /* its effective class is due to change in this plan */
	uint32_t moved_mask; /* vCPUs pinned elsewhere in this plan */
};

/* Scratch entry for sorting candidates: a guest's vCPU slot and its use. */
struct sched__cand {
	double key;
	uint32_t slot;
	int16_t cpu;
};

/* The violators of one CPU in a plan: cand[first .. first + n), heaviest first. */
struct sched__group {
	double severity; /* sum of p99 / SLO over them, each at most 10 */
	unsigned cpu;
	unsigned first;
	unsigned n;
	size_t worst; /* the guest furthest over its SLO */
};

struct sched {
	struct sched_host host;
	struct sched_config cfg;
	unsigned ncores;
	struct sched__core *core;   /* ncores */
	unsigned *core_cpu;         /* ncpus: CPUs grouped by core */
	unsigned *cpu_core;         /* ncpus: core of each CPU */
	struct sched__cpu *cpu;     /* ncpus */
	struct sched__load *load;   /* ncpus */
	uint32_t *slot;             /* vcpus_max */
	struct sched__cand *cand;   /* 2 * vcpus_max */
	struct sched__group *group; /* ncpus */
	struct sched__gstate *gs;   /* guests_max, ngs used */
	struct sched__gstate *gs_next;
	size_t ngs;
	uint32_t *index; /* open addressing: 1 + gs index, 0 empty */
	uint32_t *index_next;
	uint8_t *cls; /* guests_max: each snapshot guest's effective class, for the loads */
	size_t index_mask;
	uint32_t period;
	uint64_t now_ns;
	int have_now;
	struct sched_cpuset prober;
	/* The split's history, for the rules that change it (plan.c). */
	uint32_t starved_periods; /* the batch set starved, in a row */
	uint32_t fed_periods;     /* not starved, in a row, while a core drains */
	uint32_t split_at;        /* when the split last changed in a plan */
	enum sched_role split_to; /* the role the core took then (SCHED_ROLE_DOM0: never) */
};

/* ---- state.c ---- */

/* Append printf output to buf (NUL-terminated, len bytes), truncating. */
void sched__sayf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "a-17", or "#42" for a guest with no name. */
const char *sched__label(const struct sched_guest *g, char *buf, size_t len);

/* Append "cpus 3,5" / "cpu 3" for cpus[0 .. n) to buf. */
void sched__say_cpus(char *buf, size_t len, const int16_t *cpus, unsigned n);

#define SCHED__CHECK_REQUEST  0 /* a request to admit: identity and spec only */
#define SCHED__CHECK_SNAPSHOT 1 /* a snapshot entry: also the live fields and the pin set */

/* 0, or -EINVAL with a sentence about the field in why. */
int sched__check_guest(const struct sched *s, const struct sched_guest *g, int mode, char *why,
                       size_t len);

/* Every entry of snap checked; 0, -EINVAL or -ENOSPC (too many vCPUs) with why. */
int sched__check_snapshot(const struct sched *s, const struct sched_snapshot *snap, char *why,
                          size_t len);

uint64_t sched__key_hash(uint64_t id, const char *name);

/* What the last plan remembered about guest (id, name), or NULL. */
const struct sched__gstate *sched__state_of(const struct sched *s, uint64_t id, const char *name);

/* s->cls[i] for every guest of snap (nguests <= guests_max) from what the last plan knew. */
void sched__classes_known(struct sched *s, const struct sched_snapshot *snap);

/* The lowest CPU in set at or above from, SCHED_CPUS_MAX when none. */
unsigned sched__cpuset_first_from(const struct sched_cpuset *set, unsigned from);

/* 1 when set is not empty. */
int sched__cpuset_any(const struct sched_cpuset *set);

/* Give every guest CPU of a core the role (Dom0 CPUs keep theirs). */
void sched__set_core_role(struct sched *s, unsigned core, enum sched_role role);

/* The role of a core's guest CPUs (SCHED_ROLE_DOM0 when it has none). */
enum sched_role sched__core_role(const struct sched *s, unsigned core);

/* Number of cores whose guest CPUs have this role. */
unsigned sched__cores_with_role(const struct sched *s, enum sched_role role);

/* Number of CPUs with this role. */
unsigned sched__cpus_with_role(const struct sched *s, enum sched_role role);

/* 1 when the host has a batch set: then the classes are kept apart. */
int sched__apart(const struct sched *s);

/* ---- load.c ---- */

/* The CPU use of one of g's vCPUs: measured, or assumed when not measured yet. */
double sched__vcpu_use(const struct sched *s, const struct sched_guest *g);
/* The time one of g's vCPUs waited for a CPU (0 .. 1; 0 when not known). */
double sched__vcpu_wait(const struct sched_guest *g);

/*
 * Add up snap (checked already) into s->load, each guest i counted in
 * its effective class s->cls[i]; with slots, also list every running
 * vCPU in s->slot by CPU.
 */
void sched__load_build(struct sched *s, const struct sched_snapshot *snap, int slots);

/* Move one vCPU of use u and class cls from CPU from to CPU to in s->load. */
void sched__load_move(struct sched *s, enum sched_class cls, double u, int from, int to);

/* All vCPUs on c, both classes. */
unsigned sched__cpu_vcpus(const struct sched *s, unsigned c);

/* CPU use on c itself, both classes. */
double sched__cpu_use(const struct sched *s, unsigned c);

/* c's load: its use plus smt_weight times its SMT siblings' use. */
double sched__cpu_load(const struct sched *s, unsigned c);

/* What a latency vCPU looks for: the lower, the better (load, plus a tenth of assumed_use_latency
 * per vCPU). */
double sched__cpu_score(const struct sched *s, unsigned c);

/* Which CPU a vCPU should go to: see sched__pick(). */
struct sched__want {
	enum sched_class cls;
	enum sched_role role;              /* the set to choose from, unless within is given */
	const struct sched_cpuset *within; /* the operator's CPUs, or NULL */
	const uint8_t *node_ok;            /* nodes allowed (NULL: all) */
	int node;                          /* -1, or the only node allowed */
	int exclude;                       /* a CPU not to choose, or -1 */
	const struct sched__gstate *left;  /* avoid the CPUs this guest left lately, or NULL */
	uint32_t period;
	double use; /* the vCPU's use, for first-fit */
	int apart;  /* in its own set, join no CPU the other class uses (the host has both sets) */
	int near_prober_ok; /* a batch vCPU may join a CPU near the prober */
	int by_count;       /* latency: the fewest latency vCPUs first, then the score */
};

/*
 * The CPU for one vCPU, or -1 when none has room.  A CPU has room when
 * it holds fewer vCPUs than the class's limit; with apart and outside an
 * operator's set it must also hold no vCPU of the other class, and for a
 * latency vCPU not be evacuating or draining, for a batch vCPU not be
 * near the prober (unless near_prober_ok).  Latency: the lowest sched__cpu_score().  Batch: the
 * first CPU (in number order) whose use stays within batch_pack_use,
 * else the least used.
 */
int sched__pick(const struct sched *s, const struct sched__want *w);

/* 1 when cpu c (not an operator's pin) must not take a batch vCPU: the prober is near. */
int sched__prober_near(const struct sched *s, unsigned c);

/*
 * A core of role from to hand over: empty (no vCPU at all) when
 * empty_only, else the one with the fewest batch vCPUs; preferring
 * prefer_node (-1: any) and not evacuating.  -1 when none.
 */
int sched__find_core(const struct sched *s, enum sched_role from, int prefer_node, int empty_only);

#endif
