/*
 * The KVM backend's placement mechanics (kvm_cpu.c): a tender's weight by
 * cgroup v2 cpu.weight, cgroup v1 cpu.shares or nice, whichever the host
 * has, and its vCPU thread's CPU time.
 */
#ifndef SHOALD_KVM_CPU_H
#define SHOALD_KVM_CPU_H

#include <stdint.h>
#include <sys/types.h>

enum kvm_weight_kind { KVM_WEIGHT_NICE, KVM_WEIGHT_CGROUP2, KVM_WEIGHT_CGROUP1 };

struct kvm_weight {
	enum kvm_weight_kind kind;
	char base[1100]; /* the tenders' cgroups live here (cgroup kinds) */
	char desc[1400]; /* what was chosen and, when nice, why no cgroup */
};

/* Find the best means this host has (and clear cgroups of tenders long gone). */
void kvm_weight_init(struct kvm_weight *w);
/* Give tender pid (vCPU thread tid) weight 1..10000 (100: the default); 0 or -1 with errno. */
int kvm_weight_set(struct kvm_weight *w, pid_t pid, pid_t tid, unsigned weight);
/* The weight it has now (100 when it never got one). */
/*
 * The tender's group, if it has one, at the idle policy or not (cgroup
 * cpu.idle): a SCHED_IDLE thread is idle only among its group's threads,
 * so a group of its own must be idle too for any other vCPU to preempt
 * it at once.  0 when done or there is no group; -1 with errno.
 */
int kvm_weight_idle(const struct kvm_weight *w, pid_t pid, int idle);
unsigned kvm_weight_get(const struct kvm_weight *w, pid_t pid, pid_t tid);
/* The tender is gone: remove its cgroup. */
void kvm_weight_forget(const struct kvm_weight *w, pid_t pid);
/*
 * CPU time of thread tid of pid, in ns, and the time it was runnable but
 * waited for a CPU (*wait_ns, where schedstat has it); 0 or -1.
 */
int kvm_thread_cpu_ns(pid_t pid, pid_t tid, uint64_t *ns, uint64_t *wait_ns);

#endif
