/*
 * Placement on Xen through libxl: the physical topology, hard vCPU
 * affinity, credit2 weight, the batch class and the batch cpupool.
 *
 * The batch class (what SCHED_IDLE is on KVM) is credit2 weight 1, the
 * scheduler's floor, and not a cap.  SCHED_IDLE's contract is "run only
 * when nothing else wants the CPU, but then at full speed".  A cap is the
 * opposite on both counts: it throttles the guest even on an idle CPU,
 * and below its cap the guest competes at full weight, so it does nothing
 * for a latency neighbour's wake-up.  At weight 1 a vCPU burns credit
 * 256 times faster than a neighbour of the default weight, so the
 * neighbour waking up almost always holds more credit and credit2
 * preempts the batch vCPU at once (at most the pool's ratelimit later,
 * 1 ms by default); alone on its CPU the batch vCPU still gets all of it.
 * Weight 1 is never produced by the weight mapping (cgroup weight 1 is
 * credit2 3), so the class reads back unambiguously; the guest's own
 * weight is kept in xenstore (/local/domain/<domid>/shoal/weight, written
 * by Dom0, read-only to the guest) while it is batch, so that it survives
 * a daemon restart and comes back when the class does.
 *
 * The batch CPUs of the daemon's split form a cpupool of their own
 * (XEN_CPU_BATCH_POOL, credit2); Dom0's pool keeps the Dom0 and latency
 * CPUs.  That is what shoald's self-pinning does on KVM: Dom0's vCPUs
 * float over Xen's pCPUs, and Dom0 cannot be moved out of its pool, so
 * with the batch CPUs in another pool Dom0 (shoald, the prober, and the
 * backends that answer guests) never waits behind a CPU-bound guest.  A
 * pool is also hard isolation: a batch guest in the batch pool cannot
 * land on a latency CPU whatever its affinity says.  A domain follows its
 * CPUs: set_affinity moves it to the pool of the CPUs it is given first
 * (Xen resets weight and affinity on a move; both are put back).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl_utils.h>
#include <xenstore.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/xen_cpu.h"
#include "daemon/backend/xen_weight.h"
#include "scheduler/scheduler.h"

#define XEN_WEIGHT_MAX 65535u

struct xen_cpu {
	libxl_ctx *ctx;
	struct xs_handle *xs;
	libxl_scheduler sched; /* Dom0's pool's */
	uint32_t dom0_pool;
	int have_batch_pool;
	uint32_t batch_pool;
	char mechanism[512];
	/* Every domain's info as of generation times_gen (xen_cpu_time()). */
	libxl_dominfo *times;
	int ntimes;
	unsigned times_gen;
};

/* ---- the pure parts ---- */

unsigned xen_cpu_weight_to_xen(unsigned weight)
{
	return xen_weight_to_credit(weight);
}

unsigned xen_cpu_weight_from_xen(unsigned xen_weight)
{
	return xen_weight_from_credit(xen_weight);
}

unsigned xen_cpu__decide(unsigned cur, unsigned kept, int batch, unsigned weight,
                         unsigned *keep_out)
{
	int is_batch = cur == XEN_CPU_BATCH_WEIGHT;

	*keep_out = 0;
	if (batch < 0) { /* a new weight */
		if (!is_batch)
			return xen_cpu_weight_to_xen(weight);
		*keep_out = weight < 1 ? 1 : weight > 10000 ? 10000 : weight;
		return XEN_CPU_BATCH_WEIGHT;
	}
	if (batch) {
		*keep_out = is_batch ? kept : xen_cpu_weight_from_xen(cur);
		return XEN_CPU_BATCH_WEIGHT;
	}
	return is_batch ? xen_cpu_weight_to_xen(kept ? kept : 100) : cur;
}

int xen_cpu__host_from(const libxl_cputopology *cpus, int ncpus, const libxl_numainfo *nodes,
                       int nnodes, uint64_t total_mib, uint64_t dom0_mib, struct sched_host *h,
                       char *err, size_t errlen)
{
	uint64_t key[SCHED_CPUS_MAX], node_sum = 0;
	unsigned n, i, j, ncores = 0, valid_nodes = 0;
	int last = -1, c;

	for (c = 0; c < ncpus && c < SCHED_CPUS_MAX; c++)
		if (cpus[c].core != LIBXL_CPUTOPOLOGY_INVALID_ENTRY)
			last = c;
	if (last < 0) {
		snprintf(err, errlen, "Xen reports no online physical CPU");
		return -1;
	}
	/* Nodes Xen knows, up to the last one with memory or a CPU. */
	if (nodes && nnodes > 0)
		for (i = 0; i < (unsigned)nnodes && i < SCHED_NODES_MAX; i++)
			if (nodes[i].size != LIBXL_NUMAINFO_INVALID_ENTRY && nodes[i].size)
				valid_nodes = i + 1;
	n = valid_nodes ? valid_nodes : 1;
	sched_host_init(h, (unsigned)last + 1, total_mib);
	h->nnodes = n;
	for (c = 0; c <= last; c++) {
		const libxl_cputopology *t = &cpus[c];

		if (t->core == LIBXL_CPUTOPOLOGY_INVALID_ENTRY) {
			h->cpu[c].dom0 = 1; /* offline: no guest goes there */
			h->cpu[c].core = ncores++;
			key[c] = UINT64_MAX;
			continue;
		}
		key[c] = (uint64_t)t->socket << 32 | t->core;
		for (j = 0; j < (unsigned)c && key[j] != key[c]; j++)
			;
		h->cpu[c].core = j < (unsigned)c ? h->cpu[j].core : ncores++;
		h->cpu[c].node =
		    t->node != LIBXL_CPUTOPOLOGY_INVALID_ENTRY && t->node < n ? t->node : 0;
	}
	for (i = 0; i < n; i++) {
		h->node_memory_mib[i] = valid_nodes && nodes[i].size != LIBXL_NUMAINFO_INVALID_ENTRY
		                            ? nodes[i].size >> 20
		                            : total_mib;
		node_sum += h->node_memory_mib[i];
	}
	if (!node_sum) {
		snprintf(err, errlen, "Xen reports no memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		h->dom0_memory_mib[i] = dom0_mib * h->node_memory_mib[i] / node_sum;
	return 0;
}

int xen_cpu__pool_for(const cpu_set_t *want, const cpu_set_t *batch_pool, cpu_set_t *eff)
{
	cpu_set_t in, out;
	int to_batch;

	CPU_AND(&in, want, batch_pool);
	CPU_XOR(&out, want, &in);
	to_batch = CPU_COUNT(&in) > CPU_COUNT(&out);
	*eff = to_batch ? in : out;
	if (!CPU_COUNT(eff))
		*eff = *want;
	return to_batch;
}

/* ---- libxl ---- */

static int set_xen_weight(struct xen_cpu *xc, uint32_t domid, unsigned w);

static int fail_rc(int rc)
{
	errno = rc == ERROR_DOMAIN_NOTFOUND ? ESRCH
	        : rc == ERROR_NOMEM         ? ENOMEM
	        : rc == ERROR_INVAL         ? EINVAL
	                                    : EIO;
	return -1;
}

static int to_bitmap(libxl_ctx *ctx, const cpu_set_t *set, libxl_bitmap *bm)
{
	int c;

	libxl_bitmap_init(bm);
	if (libxl_cpu_bitmap_alloc(ctx, bm, 0))
		return fail_rc(ERROR_NOMEM);
	for (c = 0; c < CPU_SETSIZE && libxl_bitmap_cpu_valid(bm, c); c++)
		if (CPU_ISSET(c, set))
			libxl_bitmap_set(bm, c);
	return 0;
}

static void from_bitmap(const libxl_bitmap *bm, cpu_set_t *set)
{
	int c;

	CPU_ZERO(set);
	for (c = 0; c < CPU_SETSIZE && c < (int)bm->size * 8; c++)
		if (libxl_bitmap_test(bm, c))
			CPU_SET(c, set);
}

/* The CPUs of pool id (empty set when it has none or is gone); 0 or -1. */
static int pool_cpus(struct xen_cpu *xc, uint32_t id, cpu_set_t *set, libxl_scheduler *sched)
{
	libxl_cpupoolinfo info;
	int rc;

	libxl_cpupoolinfo_init(&info);
	rc = libxl_cpupool_info(xc->ctx, &info, id);
	if (rc) {
		libxl_cpupoolinfo_dispose(&info);
		return fail_rc(rc);
	}
	from_bitmap(&info.cpumap, set);
	if (sched)
		*sched = info.sched;
	libxl_cpupoolinfo_dispose(&info);
	return 0;
}

static void describe(struct xen_cpu *xc)
{
	if (xc->sched != LIBXL_SCHEDULER_CREDIT2 && xc->sched != LIBXL_SCHEDULER_CREDIT) {
		/* Weights need credit2 (or credit); their calls answer ENOTSUP. */
		snprintf(xc->mechanism, sizeof(xc->mechanism),
		         "affinity: libxl_set_vcpuaffinity (hard, every vCPU); weight and idle "
		         "class: none, Xen's "
		         "scheduler is %s (boot Xen with sched=credit2); batch CPUs: cpupool %s",
		         libxl_scheduler_to_string(xc->sched), XEN_CPU_BATCH_POOL);
		return;
	}
	snprintf(xc->mechanism, sizeof(xc->mechanism),
	         "affinity: libxl_set_vcpuaffinity (hard, every vCPU); weight: %s weight (cgroup "
	         "100 = 256); "
	         "idle class: %s weight %u; batch CPUs: %s",
	         libxl_scheduler_to_string(xc->sched), libxl_scheduler_to_string(xc->sched),
	         XEN_CPU_BATCH_WEIGHT,
	         xc->have_batch_pool ? "cpupool " XEN_CPU_BATCH_POOL " (Dom0 stays off them)"
	                             : "cpupool " XEN_CPU_BATCH_POOL " once there are any");
}

struct xen_cpu *xen_cpu_new(libxl_ctx *ctx, char *err, size_t errlen)
{
	struct xen_cpu *xc = calloc(1, sizeof(*xc));
	libxl_dominfo d0;
	int rc;

	if (!xc) {
		snprintf(err, errlen, "placement: out of memory");
		return NULL;
	}
	xc->ctx = ctx;
	libxl_dominfo_init(&d0);
	rc = libxl_domain_info(ctx, &d0, 0);
	xc->dom0_pool = rc ? 0 : d0.cpupool;
	libxl_dominfo_dispose(&d0);
	if (rc) {
		snprintf(err, errlen, "placement: cannot read Dom0's domain info (libxl error %d)",
		         rc);
		goto fail;
	}
	{
		cpu_set_t unused;

		if (pool_cpus(xc, xc->dom0_pool, &unused, &xc->sched) < 0) {
			snprintf(err, errlen, "placement: cannot read Dom0's cpupool %u",
			         xc->dom0_pool);
			goto fail;
		}
	}
	if (libxl_name_to_cpupoolid(ctx, XEN_CPU_BATCH_POOL, &xc->batch_pool) == 0)
		xc->have_batch_pool = 1;
	xc->xs = xs_open(0);
	if (!xc->xs) {
		snprintf(err, errlen, "placement: cannot reach xenstore: %s", strerror(errno));
		goto fail;
	}
	describe(xc);
	return xc;
fail:
	free(xc);
	return NULL;
}

void xen_cpu_free(struct xen_cpu *xc)
{
	if (!xc)
		return;
	if (xc->xs)
		xs_close(xc->xs);
	if (xc->times)
		libxl_dominfo_list_free(xc->times, xc->ntimes);
	free(xc);
}

int xen_cpu_topology(struct xen_cpu *xc, struct sched_host *h, char *err, size_t errlen)
{
	libxl_cputopology *cpus = NULL;
	libxl_numainfo *nodes = NULL;
	libxl_physinfo pi;
	libxl_dominfo d0;
	libxl_cpupoolinfo *pools = NULL;
	int ncpus = 0, nnodes = 0, npools = 0, rc = -1, r, i, c;
	uint64_t total_mib, dom0_mib = 0;

	libxl_physinfo_init(&pi);
	libxl_dominfo_init(&d0);
	r = libxl_get_physinfo(xc->ctx, &pi);
	if (r) {
		snprintf(err, errlen, "libxl_get_physinfo failed (libxl error %d)", r);
		goto out;
	}
	cpus = libxl_get_cpu_topology(xc->ctx, &ncpus);
	if (!cpus) {
		snprintf(err, errlen, "libxl_get_cpu_topology failed");
		goto out;
	}
	nodes = libxl_get_numainfo(xc->ctx, &nnodes); /* NULL: no NUMA information, one node */
	if (libxl_domain_info(xc->ctx, &d0, 0) == 0)
		dom0_mib = d0.current_memkb >> 10;
	total_mib = pi.total_pages * 4096 >> 20;
	if (xen_cpu__host_from(cpus, ncpus, nodes, nodes ? nnodes : 0, total_mib, dom0_mib, h, err,
	                       errlen) < 0)
		goto out;
	/* pCPUs in an operator's own cpupool are not ours to place on. */
	pools = libxl_list_cpupool(xc->ctx, &npools);
	for (i = 0; pools && i < npools; i++) {
		cpu_set_t set;

		if (pools[i].poolid == xc->dom0_pool ||
		    (xc->have_batch_pool && pools[i].poolid == xc->batch_pool))
			continue;
		from_bitmap(&pools[i].cpumap, &set);
		for (c = 0; c < (int)h->ncpus; c++)
			if (CPU_ISSET(c, &set))
				h->cpu[c].dom0 = 1;
	}
	rc = 0;
out:
	if (pools)
		libxl_cpupoolinfo_list_free(pools, npools);
	if (nodes)
		libxl_numainfo_list_free(nodes, nnodes);
	if (cpus)
		libxl_cputopology_list_free(cpus, ncpus);
	libxl_physinfo_dispose(&pi);
	libxl_dominfo_dispose(&d0);
	return rc;
}

/* The pool CPU c is in: 0 and *pool, or -1 when it is in none (free). */
static int pool_of_cpu(const cpu_set_t *dom0_pool, const cpu_set_t *batch_pool, int c,
                       int *in_batch)
{
	if (CPU_ISSET(c, batch_pool)) {
		*in_batch = 1;
		return 0;
	}
	*in_batch = 0;
	return CPU_ISSET(c, dom0_pool) ? 0 : -1;
}

/*
 * No batch CPUs any more: the pool's domains go to Dom0's pool first,
 * with their weight (a pool's last CPU cannot leave while it has
 * domains).  Their affinity is set again by the daemon.
 */
static int empty_pool(struct xen_cpu *xc, int *failed, char *err, size_t errlen)
{
	libxl_dominfo *doms;
	int n = 0, i;

	doms = libxl_list_domain(xc->ctx, &n);
	if (!doms) {
		snprintf(err, errlen, "cannot list the domains of cpupool %s", XEN_CPU_BATCH_POOL);
		return -1;
	}
	for (i = 0; i < n; i++) {
		libxl_domain_sched_params p;
		int r, rw;

		if (doms[i].cpupool != xc->batch_pool)
			continue;
		libxl_domain_sched_params_init(&p);
		rw = libxl_domain_sched_params_get(xc->ctx, doms[i].domid, &p);
		r = libxl_cpupool_movedomain(xc->ctx, xc->dom0_pool, doms[i].domid);
		if (r == 0 && rw == 0 && p.weight > 0)
			r = set_xen_weight(xc, doms[i].domid, (unsigned)p.weight) < 0;
		if (r && !(*failed)++)
			snprintf(err, errlen, "domain %u cannot leave cpupool %s (libxl error %d)",
			         doms[i].domid, XEN_CPU_BATCH_POOL, r);
	}
	libxl_dominfo_list_free(doms, n);
	return 0;
}

int xen_cpu_roles(struct xen_cpu *xc, const cpu_set_t *latency, const cpu_set_t *batch, char *err,
                  size_t errlen)
{
	cpu_set_t p0, pb, free_cpus;
	libxl_bitmap bm;
	int c, r, in_batch, failed = 0;

	CPU_ZERO(&pb);
	if (pool_cpus(xc, xc->dom0_pool, &p0, NULL) < 0) {
		snprintf(err, errlen, "cannot read Dom0's cpupool %u", xc->dom0_pool);
		return -1;
	}
	if (!xc->have_batch_pool && CPU_COUNT(batch)) {
		libxl_uuid uuid;
		libxl_bitmap none;

		libxl_uuid_generate(&uuid);
		libxl_bitmap_init(&none);
		if (libxl_cpu_bitmap_alloc(xc->ctx, &none, 0)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		xc->batch_pool = LIBXL_CPUPOOL_POOLID_ANY;
		r = libxl_cpupool_create(xc->ctx, XEN_CPU_BATCH_POOL, LIBXL_SCHEDULER_CREDIT2, none,
		                         &uuid, &xc->batch_pool);
		libxl_bitmap_dispose(&none);
		if (r) {
			snprintf(err, errlen, "cannot create cpupool %s (libxl error %d)",
			         XEN_CPU_BATCH_POOL, r);
			return fail_rc(r);
		}
		xc->have_batch_pool = 1;
		describe(xc);
	}
	if (xc->have_batch_pool && pool_cpus(xc, xc->batch_pool, &pb, NULL) < 0) {
		/* Gone (an operator destroyed it): made again next time. */
		xc->have_batch_pool = 0;
		describe(xc);
		snprintf(err, errlen, "cpupool %s is gone", XEN_CPU_BATCH_POOL);
		return -1;
	}
	if (xc->have_batch_pool && !CPU_COUNT(batch) && CPU_COUNT(&pb) &&
	    empty_pool(xc, &failed, err, errlen) < 0)
		return -1;
	if (libxl_get_freecpus(xc->ctx, &bm) == 0) {
		from_bitmap(&bm, &free_cpus);
		libxl_bitmap_dispose(&bm);
	} else {
		CPU_ZERO(&free_cpus);
	}
	for (c = 0; c < CPU_SETSIZE; c++) {
		int want_batch = CPU_ISSET(c, batch),
		    want_p0 = CPU_ISSET(c, latency) && !want_batch;
		int known = pool_of_cpu(&p0, &pb, c, &in_batch) == 0,
		    is_free = CPU_ISSET(c, &free_cpus);

		if (!want_batch && !want_p0 && !is_free)
			continue; /* Dom0's own CPUs and the operator's pools stay as they are */
		if (!known && !is_free)
			continue; /* in an operator's pool */
		if (known && in_batch == want_batch && (want_batch || want_p0))
			continue;
		if (known) {
			r = libxl_cpupool_cpuremove(xc->ctx,
			                            in_batch ? xc->batch_pool : xc->dom0_pool, c);
			if (r) {
				if (!failed++)
					snprintf(
					    err, errlen,
					    "CPU %d cannot leave cpupool %s yet (libxl error %d)",
					    c, in_batch ? XEN_CPU_BATCH_POOL : "of Dom0", r);
				continue;
			}
		}
		if (want_batch && xc->have_batch_pool)
			r = libxl_cpupool_cpuadd(xc->ctx, xc->batch_pool, c);
		else
			r = libxl_cpupool_cpuadd(xc->ctx, xc->dom0_pool,
			                         c); /* a free CPU, or one back from batch */
		if (r && !failed++)
			snprintf(err, errlen, "CPU %d cannot join cpupool %s (libxl error %d)", c,
			         want_batch ? XEN_CPU_BATCH_POOL : "of Dom0", r);
	}
	if (failed) {
		errno = EBUSY;
		return -1;
	}
	return 0;
}

static int get_params(struct xen_cpu *xc, uint32_t domid, libxl_domain_sched_params *p)
{
	int rc;

	libxl_domain_sched_params_init(p);
	rc = libxl_domain_sched_params_get(xc->ctx, domid, p);
	if (rc)
		return fail_rc(rc);
	if (p->sched != LIBXL_SCHEDULER_CREDIT2 && p->sched != LIBXL_SCHEDULER_CREDIT) {
		errno = ENOTSUP;
		return -1;
	}
	return 0;
}

static int set_xen_weight(struct xen_cpu *xc, uint32_t domid, unsigned w)
{
	libxl_domain_sched_params p;
	int rc;

	libxl_domain_sched_params_init(&p);
	p.sched = LIBXL_SCHEDULER_UNKNOWN; /* the domain's pool's */
	p.weight = (int)w;
	rc = libxl_domain_sched_params_set(xc->ctx, domid, &p);
	return rc ? fail_rc(rc) : 0;
}

/* The cgroup-scale weight kept in xenstore while the domain is batch; 0 when none (or not a number
 * in range). */
static unsigned kept_weight(struct xen_cpu *xc, uint32_t domid)
{
	char path[64], *v, *end;
	unsigned int len;
	unsigned long w;

	snprintf(path, sizeof(path), "/local/domain/%u/shoal/weight", domid);
	v = xs_read(xc->xs, XBT_NULL, path, &len);
	if (!v)
		return 0;
	errno = 0;
	w = len && len < 8 ? strtoul(v, &end, 10) : 0;
	if (errno || !len || len >= 8 || *end)
		w = 0;
	free(v);
	return w >= 1 && w <= 10000 ? (unsigned)w : 0;
}

static int keep_weight(struct xen_cpu *xc, uint32_t domid, unsigned w)
{
	char path[64], val[16];

	snprintf(path, sizeof(path), "/local/domain/%u/shoal/weight", domid);
	if (!w)
		return xs_rm(xc->xs, XBT_NULL, path) || errno == ENOENT ? 0 : -1;
	snprintf(val, sizeof(val), "%u", w);
	return xs_write(xc->xs, XBT_NULL, path, val, strlen(val)) ? 0 : -1;
}

static int change(struct xen_cpu *xc, uint32_t domid, int batch, unsigned weight)
{
	libxl_domain_sched_params p;
	unsigned cur, set, keep;

	if (get_params(xc, domid, &p) < 0)
		return -1;
	cur = p.weight > 0 ? (unsigned)p.weight : XEN_WEIGHT_DEFAULT;
	set = xen_cpu__decide(cur, cur == XEN_CPU_BATCH_WEIGHT ? kept_weight(xc, domid) : 0, batch,
	                      weight, &keep);
	/* Keep the weight first: a class set without it could not come back. */
	if (keep_weight(xc, domid, keep) < 0)
		return -1;
	return set == cur ? 0 : set_xen_weight(xc, domid, set);
}

int xen_cpu_set_weight(struct xen_cpu *xc, uint32_t domid, unsigned weight)
{
	if (weight < 1 || weight > 10000) {
		errno = EINVAL;
		return -1;
	}
	return change(xc, domid, -1, weight);
}

int xen_cpu_set_batch(struct xen_cpu *xc, uint32_t domid, int batch)
{
	return change(xc, domid, !!batch, 0);
}

int xen_cpu_set_affinity(struct xen_cpu *xc, uint32_t domid, const cpu_set_t *cpus)
{
	libxl_dominfo info;
	libxl_bitmap hard;
	cpu_set_t pb, eff;
	uint32_t pool;
	int rc, r;

	if (!CPU_COUNT(cpus)) {
		errno = EINVAL;
		return -1;
	}
	libxl_dominfo_init(&info);
	r = libxl_domain_info(xc->ctx, &info, domid);
	if (r) {
		libxl_dominfo_dispose(&info);
		return fail_rc(r);
	}
	eff = *cpus;
	pool = xc->dom0_pool;
	if (xc->have_batch_pool && pool_cpus(xc, xc->batch_pool, &pb, NULL) == 0 &&
	    xen_cpu__pool_for(cpus, &pb, &eff))
		pool = xc->batch_pool;
	if (info.cpupool != pool &&
	    (info.cpupool == xc->dom0_pool || info.cpupool == xc->batch_pool)) {
		libxl_domain_sched_params p;

		/* Xen gives a moved domain the new pool's defaults: its weight goes with it. */
		libxl_domain_sched_params_init(&p);
		r = libxl_domain_sched_params_get(xc->ctx, domid, &p);
		rc = libxl_cpupool_movedomain(xc->ctx, pool, domid);
		if (rc) {
			libxl_dominfo_dispose(&info);
			return fail_rc(rc);
		}
		if (r == 0 && p.weight > 0 && set_xen_weight(xc, domid, (unsigned)p.weight) < 0) {
			libxl_dominfo_dispose(&info);
			return -1;
		}
	}
	if (to_bitmap(xc->ctx, &eff, &hard) < 0) {
		libxl_dominfo_dispose(&info);
		return -1;
	}
	rc = libxl_set_vcpuaffinity_all(xc->ctx, domid, info.vcpu_max_id + 1, &hard, NULL);
	libxl_bitmap_dispose(&hard);
	libxl_dominfo_dispose(&info);
	return rc ? fail_rc(rc) : 0;
}

int xen_cpu_get(struct xen_cpu *xc, uint32_t domid, struct be_placement *out)
{
	libxl_domain_sched_params p;
	libxl_vcpuinfo *v;
	int nv = 0, ncpus = 0;
	unsigned kept;

	if (get_params(xc, domid, &p) < 0)
		return -1;
	v = libxl_list_vcpu(xc->ctx, domid, &nv, &ncpus);
	if (!v || nv < 1) {
		if (v)
			libxl_vcpuinfo_list_free(v, nv);
		errno = ESRCH;
		return -1;
	}
	from_bitmap(&v[0].cpumap, &out->cpus);
	libxl_vcpuinfo_list_free(v, nv);
	out->batch = p.weight == (int)XEN_CPU_BATCH_WEIGHT;
	if (out->batch) {
		kept = kept_weight(xc, domid);
		out->weight = kept ? kept : 1;
	} else {
		out->weight =
		    xen_cpu_weight_from_xen(p.weight > 0 ? (unsigned)p.weight : XEN_WEIGHT_DEFAULT);
	}
	return 0;
}

int xen_cpu_time(struct xen_cpu *xc, uint32_t domid, unsigned gen, uint64_t *ns)
{
	int lo, hi;

	if (!xc->times || xc->times_gen != gen) {
		if (xc->times)
			libxl_dominfo_list_free(xc->times, xc->ntimes);
		xc->ntimes = 0;
		xc->times = libxl_list_domain(xc->ctx, &xc->ntimes);
		xc->times_gen = gen;
		if (!xc->times) {
			errno = EIO;
			return -1;
		}
	}
	/* Xen lists the domains by number. */
	for (lo = 0, hi = xc->ntimes - 1; lo <= hi;) {
		int mid = lo + (hi - lo) / 2;

		if (xc->times[mid].domid == domid) {
			*ns = xc->times[mid].cpu_time;
			return 0;
		}
		if (xc->times[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	errno = ESRCH;
	return -1;
}

const char *xen_cpu_mechanism(struct xen_cpu *xc)
{
	return xc->mechanism;
}
