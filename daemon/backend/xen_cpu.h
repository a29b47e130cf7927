/*
 * Placement on Xen (xen_cpu.c): the physical host as Xen sees it, and
 * where a domain's vCPUs run and how they are scheduled, through libxl
 * (hard vCPU affinity, credit2 weight and cap, cpupools).  The Xen backend
 * (xen.c) calls these from its ops; nothing here knows the daemon's guests.
 * Every call is synchronous and short (a hypercall or two); none blocks on
 * a guest.  Errors: -1 with errno set (ENOTSUP: not on this hypervisor's
 * scheduler) and, where there is an err buffer, one line saying why.
 */
#ifndef SHOALD_XEN_CPU_H
#define SHOALD_XEN_CPU_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include <libxl.h>

struct be_placement;
struct sched_host;
struct xen_cpu;

/* Set up placement on this hypervisor (its scheduler, its cpupools); NULL with err. */
struct xen_cpu *xen_cpu_new(libxl_ctx *ctx, char *err, size_t errlen);
/* Let go; domains keep their placement. */
void xen_cpu_free(struct xen_cpu *xc);

/*
 * The machine: Xen's physical CPUs with their core and NUMA node, and
 * memory per node (libxl_get_cpu_topology, libxl_get_numainfo).  Dom0's
 * memory is what Dom0 has now.  0, or -1 with err.
 */
int xen_cpu_topology(struct xen_cpu *xc, struct sched_host *h, char *err, size_t errlen);

/* Hard affinity of every vCPU of domid to cpus (physical CPU numbers). */
int xen_cpu_set_affinity(struct xen_cpu *xc, uint32_t domid, const cpu_set_t *cpus);
/* Weight on cgroup v2's scale (1..10000, 100 the default), mapped onto the scheduler's. */
int xen_cpu_set_weight(struct xen_cpu *xc, uint32_t domid, unsigned weight);
/* batch 1: the batch class (Xen's equivalent of SCHED_IDLE); 0: back to normal. */
int xen_cpu_set_batch(struct xen_cpu *xc, uint32_t domid, int batch);
/* What domid has now: affinity (vCPU 0's), weight on the cgroup scale, class. */
int xen_cpu_get(struct xen_cpu *xc, uint32_t domid, struct be_placement *out);
/* CPU time all of domid's vCPUs used since it was created, in ns. */
int xen_cpu_time(struct xen_cpu *xc, uint32_t domid, uint64_t *ns);
/* One line for /v1/placement: how affinity, weight and class are done here. */
const char *xen_cpu_mechanism(struct xen_cpu *xc);

#endif
