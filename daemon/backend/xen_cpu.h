/*
 * Placement on Xen (xen_cpu.c): the physical host as Xen sees it, and
 * where a domain's vCPUs run and how they are scheduled, through libxl
 * (hard vCPU affinity, credit2 weight, cpupools).  The Xen backend
 * (xen.c) calls these from its ops; nothing here knows the daemon's guests.
 * Every call is synchronous and short (a few hypercalls); none blocks on
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

/* The cpupool that holds the batch CPUs (created by xen_cpu_roles). */
#define XEN_CPU_BATCH_POOL "shoal-batch"
/* credit2's weight of the batch class; xen_cpu_set_weight never gives it. */
#define XEN_CPU_BATCH_WEIGHT 1u

/*
 * Set up placement on this hypervisor: find its scheduler and cpupools
 * (a batch pool left by an earlier shoald is taken over).  ctx stays the
 * caller's and must outlive xc.  NULL with err.
 */
struct xen_cpu *xen_cpu_new(libxl_ctx *ctx, char *err, size_t errlen);
/* Let go; domains keep their placement, the pools stay as they are. */
void xen_cpu_free(struct xen_cpu *xc);

/*
 * The machine: Xen's physical CPUs with their core and NUMA node, and
 * memory per node (libxl_get_cpu_topology, libxl_get_numainfo,
 * libxl_get_physinfo).  CPUs are Xen's pCPU numbers.  Dom0's memory is
 * what Dom0 has now.  A pCPU that is offline, or in a cpupool other than
 * Dom0's and the batch pool (an operator's own), is marked dom0: no
 * guest is placed there.  0, or -1 with err.
 */
int xen_cpu_topology(struct xen_cpu *xc, struct sched_host *h, char *err, size_t errlen);

/*
 * The CPU roles of the daemon's split: batch CPUs go to the batch pool
 * (created when first needed), every other CPU of Dom0's pool or of no
 * pool to Dom0's pool, so Dom0's floating vCPUs (and shoald, the prober,
 * with them) never run beside batch guests.  A CPU that cannot move now
 * (a domain's vCPU is pinned there alone) is left and moved at a later
 * call.  With no batch CPUs left, the batch pool's domains first move to
 * Dom0's pool (with their weight; the daemon sets their affinity again).  Call at start and
 * whenever the split changes.  0, or -1 with err naming the first CPU that could not move.
 */
int xen_cpu_roles(struct xen_cpu *xc, const cpu_set_t *latency, const cpu_set_t *batch, char *err,
                  size_t errlen);

/*
 * Hard affinity of every vCPU of domid to cpus (physical CPU numbers).
 * The domain first moves to the pool holding (most of) those CPUs,
 * keeping its weight and class; its affinity is then cpus within that
 * pool.
 */
int xen_cpu_set_affinity(struct xen_cpu *xc, uint32_t domid, const cpu_set_t *cpus);
/* Weight on cgroup v2's scale (1..10000, 100 the default), mapped onto the scheduler's. */
int xen_cpu_set_weight(struct xen_cpu *xc, uint32_t domid, unsigned weight);
/* batch 1: the batch class (Xen's equivalent of SCHED_IDLE); 0: back to normal. */
int xen_cpu_set_batch(struct xen_cpu *xc, uint32_t domid, int batch);
/* What domid has now: affinity (vCPU 0's), weight on the cgroup scale, class. */
int xen_cpu_get(struct xen_cpu *xc, uint32_t domid, struct be_placement *out);
/*
 * CPU time all of domid's vCPUs used since it was created, in ns.  Every
 * domain's is read at once (one libxl_list_domain, one hypercall) and
 * kept while gen stays the same: the placement period asks for each
 * guest in turn within one loop iteration (the caller passes
 * ev_iteration()), and one call per guest held the loop for a time that
 * grew with the number of guests.
 */
int xen_cpu_time(struct xen_cpu *xc, uint32_t domid, unsigned gen, uint64_t *ns);
/* One line for /v1/placement: how affinity, weight and class are done here. */
const char *xen_cpu_mechanism(struct xen_cpu *xc);

/* ---- The pure parts, for tests ---- */

/* cgroup v2 weight (1..10000; out of range is clamped) to credit2's: 100 is 256, 1 is 3. */
unsigned xen_cpu_weight_to_xen(unsigned weight);
/* credit2 weight (1..65535) back to cgroup's; xen_cpu_weight_from_xen(xen_cpu_weight_to_xen(w)) ==
 * w. */
unsigned xen_cpu_weight_from_xen(unsigned xen_weight);

/*
 * libxl's topology as a sched_host: cpus[0 .. ncpus) (an entry whose
 * core is LIBXL_CPUTOPOLOGY_INVALID_ENTRY is an absent pCPU; it is marked
 * dom0), nodes[0 .. nnodes) (NULL or 0 when Xen gives none: one node of
 * total_mib), dom0_mib spread over the nodes as their memory is.
 * 0, or -1 with err.
 */
int xen_cpu__host_from(const libxl_cputopology *cpus, int ncpus, const libxl_numainfo *nodes,
                       int nnodes, uint64_t total_mib, uint64_t dom0_mib, struct sched_host *h,
                       char *err, size_t errlen);

/*
 * The pool a domain asking for want goes to, given the batch pool's CPUs:
 * 1 for the batch pool when more of want is there than not, else 0 (Dom0's
 * pool).  eff is want within that pool (want itself if that is empty).
 */
int xen_cpu__pool_for(const cpu_set_t *want, const cpu_set_t *batch_pool, cpu_set_t *eff);

/*
 * The credit2 weight to set, and the cgroup-scale weight to keep aside,
 * when a domain whose weight is now cur (credit2 scale) and whose kept
 * weight is kept (0: none) is asked for class batch (1/0) or, with
 * batch -1, for cgroup weight `weight`.  Returns the credit2 weight to
 * set; *keep_out is the weight to keep while batch (0: none kept).
 */
unsigned xen_cpu__decide(unsigned cur, unsigned kept, int batch, unsigned weight,
                         unsigned *keep_out);

#endif
