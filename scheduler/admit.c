/*
 * Admission: CPUs and a memory node for a new guest, or a refusal a
 * person can act on.  Memory comes first (it cannot be overcommitted),
 * then one CPU per vCPU from the guest's class's set: latency guests
 * spread least-loaded-first, batch guests packed first-fit, both kept in
 * the node that holds their memory where they fit.  When the class's
 * set is full, an empty core of the other set changes sides: nothing
 * runs there, so nothing is disturbed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sched_int.h"

static int refusal_rc(enum sched_refusal r)
{
	switch (r) {
	case SCHED_ADMITTED:
		return 0;
	case SCHED_REFUSE_EXISTS:
		return -EEXIST;
	case SCHED_REFUSE_MEMORY:
		return -ENOMEM;
	case SCHED_REFUSE_OVERCOMMIT:
		return -ENOSPC;
	case SCHED_REFUSE_BAD_GUEST:
	case SCHED_REFUSE_BAD_SNAPSHOT:
	case SCHED_REFUSE_NO_SUCH_CPU:
	case SCHED_REFUSE_DOM0_CPU:
		break;
	}
	return -EINVAL;
}

static int refuse(struct sched_admission *out, enum sched_refusal r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct sched_admission *out, enum sched_refusal r, const char *fmt, ...)
{
	va_list ap;
	unsigned v;

	out->refusal = r;
	out->vcpus = 0;
	out->node = -1;
	for (v = 0; v < SCHED_VCPUS_MAX; v++)
		out->cpu[v] = -1;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	return refusal_rc(r);
}

static int same_guest(const struct sched_guest *a, const struct sched_guest *b)
{
	return a->id == b->id && !strcmp(a->name, b->name);
}

/* Memory per node as guests use it; an interleaved guest counts on every node alike. */
struct memory {
	uint64_t free_mib[SCHED_NODES_MAX];
	uint64_t free_total, host_total, dom0_total, used_total;
	uint8_t fits[SCHED_NODES_MAX]; /* the guest fits in this node alone */
	int any_fits;
};

static void count_memory(const struct sched *s, const struct sched_snapshot *snap,
                         uint64_t need_mib, struct memory *m)
{
	const struct sched_host *h = &s->host;
	uint64_t used[SCHED_NODES_MAX] = { 0 };
	unsigned n;
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < snap->nguests; i++) {
		const struct sched_guest *g = &snap->guests[i];

		m->used_total += g->memory_mib;
		if (g->node >= 0) {
			used[g->node] += g->memory_mib;
			continue;
		}
		for (n = 0; n < h->nnodes; n++)
			used[n] += g->memory_mib / h->nnodes + (n < g->memory_mib % h->nnodes);
	}
	for (n = 0; n < h->nnodes; n++) {
		uint64_t avail = h->node_memory_mib[n] - h->dom0_memory_mib[n];

		m->free_mib[n] = avail > used[n] ? avail - used[n] : 0;
		m->free_total += m->free_mib[n];
		m->host_total += h->node_memory_mib[n];
		m->dom0_total += h->dom0_memory_mib[n];
		m->fits[n] = m->free_mib[n] >= need_mib;
		m->any_fits |= m->fits[n];
	}
}

/* The node for the memory of a guest whose first vCPU is on cpu: its own when it fits. */
static int memory_node(const struct sched *s, const struct memory *m, int cpu)
{
	unsigned n, node = s->host.cpu[cpu].node;
	int best = -1;

	if (m->fits[node])
		return (int)node;
	for (n = 0; n < s->host.nnodes; n++)
		if (m->fits[n] && (best < 0 || m->free_mib[n] > m->free_mib[best]))
			best = (int)n;
	return best;
}

static int check_pins(const struct sched *s, const struct sched_guest *g,
                      struct sched_admission *out)
{
	unsigned c;

	for (c = sched__cpuset_first_from(&g->pin, 0); c < SCHED_CPUS_MAX;
	     c = sched__cpuset_first_from(&g->pin, c + 1)) {
		if (c >= s->host.ncpus)
			return refuse(
			    out, SCHED_REFUSE_NO_SUCH_CPU,
			    "pinned to cpu %u, which the host does not have (it has cpus 0-%u)", c,
			    s->host.ncpus - 1);
		if (s->host.cpu[c].dom0)
			return refuse(out, SCHED_REFUSE_DOM0_CPU,
			              "pinned to cpu %u, which is kept for Dom0", c);
	}
	return 0;
}

/*
 * Take an empty core from the other set for a guest of role `role`, if
 * that set can spare one.  Returns the core or -1.
 */
static int borrow_core(struct sched *s, enum sched_role role, int prefer_node)
{
	enum sched_role other = role == SCHED_ROLE_LATENCY ? SCHED_ROLE_BATCH : SCHED_ROLE_LATENCY;
	unsigned keep =
	    other == SCHED_ROLE_LATENCY ? s->cfg.latency_cores_min : s->cfg.batch_cores_min;
	int k;

	if (sched__cores_with_role(s, other) <= keep)
		return -1;
	k = sched__find_core(s, other, prefer_node, 1);
	if (k >= 0)
		sched__set_core_role(s, (unsigned)k, role);
	return k;
}

static int first_fitting_node(const struct memory *m, unsigned nnodes)
{
	unsigned n;

	for (n = 0; n < nnodes; n++)
		if (m->fits[n])
			return (int)n;
	return -1;
}

int sched_admit(struct sched *s, const struct sched_snapshot *snap, const struct sched_guest *g,
                struct sched_admission *out)
{
	const char *cls_name;
	char why[SCHED_REASON_MAX] = "", lb[24];
	struct sched__want w;
	struct memory m;
	enum sched_role role;
	int rc, pinned, borrowed = -1, node = -1, shared = 0, mixed = 0, near = 0;
	unsigned v, role_cpus;
	size_t i;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s || !snap || !g)
		return refuse(out, SCHED_REFUSE_BAD_GUEST,
		              "sched_admit: s, snap and g are required");
	rc = sched__check_guest(s, g, SCHED__CHECK_REQUEST, why, sizeof(why));
	if (rc)
		return refuse(out, SCHED_REFUSE_BAD_GUEST, "%s", why);
	if (snap->nguests > s->cfg.guests_max)
		return refuse(out, SCHED_REFUSE_BAD_SNAPSHOT,
		              "snapshot: %zu guests; the state was made for %zu", snap->nguests,
		              s->cfg.guests_max);
	rc = sched__check_snapshot(s, snap, why, sizeof(why));
	if (rc == -EINVAL)
		return refuse(out, SCHED_REFUSE_BAD_SNAPSHOT, "%s", why);
	for (i = 0; i < snap->nguests; i++)
		if (same_guest(&snap->guests[i], g))
			return refuse(out, SCHED_REFUSE_EXISTS, "guest %s is already placed",
			              sched__label(g, lb, sizeof(lb)));
	rc = check_pins(s, g, out);
	if (rc)
		return rc;

	count_memory(s, snap, g->memory_mib, &m);
	if (g->memory_mib > m.free_total)
		return refuse(
		    out, SCHED_REFUSE_MEMORY,
		    "memory exhausted: the guest needs %llu MiB and %llu MiB are free for guests "
		    "(%llu MiB on the host, %llu MiB kept for Dom0, %llu MiB used by %zu guests)",
		    (unsigned long long)g->memory_mib, (unsigned long long)m.free_total,
		    (unsigned long long)m.host_total, (unsigned long long)m.dom0_total,
		    (unsigned long long)m.used_total, snap->nguests);

	sched__classes_known(s, snap); /* a latency guest treated as batch counts as batch */
	sched__load_build(s, snap, 0);
	pinned = sched__cpuset_any(&g->pin);
	cls_name = sched_class_str(g->cls);
	role = g->cls == SCHED_CLASS_LATENCY ? SCHED_ROLE_LATENCY : SCHED_ROLE_BATCH;
	if (role == SCHED_ROLE_BATCH && !sched__cores_with_role(s, SCHED_ROLE_BATCH)) {
		role = SCHED_ROLE_LATENCY; /* a host too small for two sets */
		shared = 1;
	}
	memset(&w, 0, sizeof(w));
	w.cls = g->cls;
	w.role = role;
	w.within = pinned ? &g->pin : NULL;
	w.exclude = -1;
	w.apart = sched__apart(s);
	w.use =
	    g->cls == SCHED_CLASS_LATENCY ? s->cfg.assumed_use_latency : s->cfg.assumed_use_batch;

	for (v = 0; v < g->vcpus; v++) {
		int c = -1;

		/* Its memory's node first, then any node with room for the memory, then anywhere.
		 */
		w.node = node;
		w.node_ok = NULL;
		if (node >= 0)
			c = sched__pick(s, &w);
		w.node = -1;
		w.node_ok = m.any_fits && v == 0 ? m.fits : NULL;
		if (c < 0)
			c = sched__pick(s, &w);
		w.node_ok = NULL;
		if (c < 0 && v == 0 && m.any_fits)
			c = sched__pick(s, &w);
		if (c < 0 && !pinned && borrowed < 0) {
			borrowed = borrow_core(
			    s, role, node >= 0 ? node : first_fitting_node(&m, s->host.nnodes));
			if (borrowed >= 0) {
				w.node = node;
				c = sched__pick(s, &w);
				w.node = -1;
				if (c < 0)
					c = sched__pick(s, &w);
			}
		}
		/* Beside the prober only when no other CPU has room. */
		if (c < 0 && g->cls == SCHED_CLASS_BATCH && !pinned) {
			w.near_prober_ok = 1;
			c = sched__pick(s, &w);
			w.near_prober_ok = 0;
			near |= c >= 0 && s->cpu[c].near_prober;
		}
		/*
		 * Every CPU of its set holds vCPUs of the other class (an
		 * operator pinned them there): join one rather than refuse a
		 * guest the CPUs have room for; the control loop separates them.
		 */
		if (c < 0 && w.apart) {
			w.apart = 0;
			w.near_prober_ok = g->cls == SCHED_CLASS_BATCH;
			c = sched__pick(s, &w);
			w.near_prober_ok = 0;
			w.apart = 1;
			mixed |= c >= 0;
		}
		if (c < 0) {
			char room[48] = "";

			if (v)
				snprintf(room, sizeof(room),
				         "room for only %u of its %u vCPUs: ", v, g->vcpus);
			if (pinned)
				return refuse(out, SCHED_REFUSE_OVERCOMMIT,
				              "CPU overcommit limit for %s guests: %snone of the "
				              "CPUs it is pinned to has "
				              "room for another vCPU (limit %u per CPU)",
				              cls_name, room,
				              g->cls == SCHED_CLASS_LATENCY
				                  ? s->cfg.latency_vcpus_per_cpu
				                  : s->cfg.batch_vcpus_per_cpu);
			return refuse(
			    out, SCHED_REFUSE_OVERCOMMIT,
			    "CPU overcommit limit for %s guests: %snone of the %u %s CPUs has room "
			    "for "
			    "another vCPU (limit %u per CPU) and no empty core is left to take",
			    cls_name, room, sched__cpus_with_role(s, role), sched_role_str(role),
			    g->cls == SCHED_CLASS_LATENCY ? s->cfg.latency_vcpus_per_cpu
			                                  : s->cfg.batch_vcpus_per_cpu);
		}
		out->cpu[v] = (int16_t)c;
		if (v == 0)
			node = memory_node(s, &m, c);
		sched__load_move(s, g->cls, w.use, -1, c);
	}

	out->refusal = SCHED_ADMITTED;
	out->vcpus = g->vcpus;
	out->node = node;
	out->policy = s->cfg.batch_spill && !pinned && g->cls == SCHED_CLASS_BATCH
	                  ? SCHED_POLICY_IDLE
	                  : SCHED_POLICY_NORMAL;
	role_cpus = sched__cpus_with_role(s, role);
	sched__sayf(out->reason, sizeof(out->reason), "%s guest on ", cls_name);
	sched__say_cpus(out->reason, sizeof(out->reason), out->cpu, g->vcpus);
	if (pinned)
		sched__sayf(out->reason, sizeof(out->reason), ", as the operator pinned it");
	else if (shared)
		sched__sayf(out->reason, sizeof(out->reason),
		            ", sharing the latency set: the host has no batch CPUs");
	else if (g->cls == SCHED_CLASS_LATENCY)
		sched__sayf(out->reason, sizeof(out->reason),
		            ", the least loaded of %u latency CPUs (%u vCPUs there)", role_cpus,
		            sched__cpu_vcpus(s, (unsigned)out->cpu[0]));
	else
		sched__sayf(out->reason, sizeof(out->reason),
		            ", packed first-fit on %u batch CPUs (%u vCPUs there)", role_cpus,
		            sched__cpu_vcpus(s, (unsigned)out->cpu[0]));
	if (mixed)
		sched__sayf(out->reason, sizeof(out->reason),
		            "; shares a CPU with %s guests: every %s CPU with room has some",
		            g->cls == SCHED_CLASS_LATENCY ? "batch" : "latency",
		            sched_role_str(role));
	if (near)
		sched__sayf(out->reason, sizeof(out->reason),
		            "; beside shoald's CPU: no CPU away from it has room");
	if (node >= 0)
		sched__sayf(out->reason, sizeof(out->reason), "; memory on node %d", node);
	else
		sched__sayf(out->reason, sizeof(out->reason),
		            "; memory interleaved: no node has %llu MiB free",
		            (unsigned long long)g->memory_mib);
	if (node >= 0 && (unsigned)node != s->host.cpu[out->cpu[0]].node)
		sched__sayf(out->reason, sizeof(out->reason),
		            " (node %u, where its CPU is, lacks the memory)",
		            s->host.cpu[out->cpu[0]].node);
	if (out->policy == SCHED_POLICY_IDLE)
		sched__sayf(out->reason, sizeof(out->reason),
		            "; at the idle policy, free to use the latency CPUs' idle time");
	if (borrowed >= 0) {
		const struct sched__core *k = &s->core[borrowed];

		sched__sayf(out->reason, sizeof(out->reason),
		            "; took empty core of cpu %u from the %s set", s->core_cpu[k->first],
		            role == SCHED_ROLE_LATENCY ? "batch" : "latency");
	}
	return 0;
}
