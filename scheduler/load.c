/*
 * What a snapshot adds up to per CPU (vCPUs and CPU use by class, the
 * vCPUs themselves), and the choice of a CPU for one vCPU that both
 * admission and re-placement make from it.  One pass over the guests
 * and then O(CPUs) per choice, so a plan stays linear in the guests.
 */
#include <string.h>

#include "sched_int.h"

double sched__vcpu_use(const struct sched *s, const struct sched_guest *g)
{
	double u = g->cpu_use;

	if (u < 0)
		return g->cls == SCHED_CLASS_LATENCY ? s->cfg.assumed_use_latency
		                                     : s->cfg.assumed_use_batch;
	if (u > g->vcpus)
		u = g->vcpus;
	return u / g->vcpus;
}

double sched__vcpu_wait(const struct sched_guest *g)
{
	double w = g->cpu_wait / g->vcpus;

	return w > 0 ? w < 1 ? w : 1 : 0;
}

void sched__load_build(struct sched *s, const struct sched_snapshot *snap, int slots)
{
	unsigned c, ncpus = s->host.ncpus, first = 0;
	size_t i;

	memset(s->load, 0, ncpus * sizeof(*s->load));
	for (i = 0; i < snap->nguests; i++) {
		const struct sched_guest *g = &snap->guests[i];
		double u = sched__vcpu_use(s, g);
		unsigned v;

		for (v = 0; v < g->vcpus; v++) {
			if (g->cpu[v] < 0)
				continue;
			s->load[g->cpu[v]].vcpus[s->cls[i]]++;
			s->load[g->cpu[v]].use[s->cls[i]] += u;
		}
	}
	if (!slots)
		return;
	for (c = 0; c < ncpus; c++) {
		s->load[c].first = first;
		first += s->load[c].vcpus[0] + s->load[c].vcpus[1];
	}
	for (i = 0; i < snap->nguests; i++) {
		const struct sched_guest *g = &snap->guests[i];
		unsigned v;

		for (v = 0; v < g->vcpus; v++) {
			struct sched__load *l;

			if (g->cpu[v] < 0)
				continue;
			l = &s->load[g->cpu[v]];
			s->slot[l->first + l->n++] = SCHED__SLOT(i, v);
		}
	}
}

void sched__load_move(struct sched *s, enum sched_class cls, double u, int from, int to)
{
	if (from >= 0) {
		s->load[from].vcpus[cls]--;
		s->load[from].use[cls] -= u;
		if (s->load[from].use[cls] < 0)
			s->load[from].use[cls] = 0;
	}
	if (to >= 0) {
		s->load[to].vcpus[cls]++;
		s->load[to].use[cls] += u;
	}
}

unsigned sched__cpu_vcpus(const struct sched *s, unsigned c)
{
	return s->load[c].vcpus[0] + s->load[c].vcpus[1];
}

double sched__cpu_use(const struct sched *s, unsigned c)
{
	return s->load[c].use[0] + s->load[c].use[1] + s->cpu[c].prober_use + s->cpu[c].other_use;
}

int sched__prober_near(const struct sched *s, unsigned c)
{
	return s->cpu[c].near_prober;
}

double sched__cpu_load(const struct sched *s, unsigned c)
{
	const struct sched__core *k = &s->core[s->cpu_core[c]];
	double sib = 0;
	unsigned i;

	for (i = 0; i < k->n; i++) {
		unsigned x = s->core_cpu[k->first + i];

		if (x != c)
			sib += sched__cpu_use(s, x);
	}
	return sched__cpu_use(s, c) + s->cfg.smt_weight * sib;
}

double sched__cpu_score(const struct sched *s, unsigned c)
{
	/* The count is a tiebreak: measured use decides, idle guests still spread by number. */
	return sched__cpu_load(s, c) + sched__cpu_vcpus(s, c) * s->cfg.assumed_use_latency / 10;
}

static enum sched_role home_role(enum sched_class cls)
{
	return cls == SCHED_CLASS_LATENCY ? SCHED_ROLE_LATENCY : SCHED_ROLE_BATCH;
}

static int has_room(const struct sched *s, const struct sched__want *w, unsigned c)
{
	const struct sched__load *l = &s->load[c];
	unsigned cap = w->cls == SCHED_CLASS_LATENCY ? s->cfg.latency_vcpus_per_cpu
	                                             : s->cfg.batch_vcpus_per_cpu;
	unsigned i;

	if (w->within) {
		if (!sched_cpuset_has(w->within, c) || s->host.cpu[c].dom0)
			return 0;
	} else if (s->cpu[c].role != w->role) {
		return 0;
	}
	if ((int)c == w->exclude || (w->node >= 0 && (int)s->host.cpu[c].node != w->node))
		return 0;
	if (w->node_ok && !w->node_ok[s->host.cpu[c].node])
		return 0;
	if (l->vcpus[0] + l->vcpus[1] >= cap)
		return 0;
	/* Kept apart: in its own set a vCPU joins no CPU the other class uses. */
	if (!w->within && w->apart && w->role == home_role(w->cls) && l->vcpus[1 - w->cls])
		return 0;
	if (!w->within && w->cls == SCHED_CLASS_LATENCY &&
	    (s->cpu[c].evacuating || s->cpu[c].draining))
		return 0;
	if (!w->within && w->cls == SCHED_CLASS_BATCH && s->cpu[c].near_prober &&
	    !w->near_prober_ok)
		return 0;
	if (w->left)
		for (i = 0; i < 2; i++)
			if (w->left->left_cpu[i] == (int)c &&
			    w->period - w->left->left_at[i] < s->cfg.return_periods)
				return 0;
	return 1;
}

int sched__pick(const struct sched *s, const struct sched__want *w)
{
	unsigned c;
	int best = -1;
	double best_v = 0;

	for (c = 0; c < s->host.ncpus; c++) {
		double v;

		if (!has_room(s, w, c))
			continue;
		if (w->cls == SCHED_CLASS_LATENCY) {
			v = sched__cpu_score(s, c);
			if (w->by_count)
				v += 1000.0 * s->load[c].vcpus[SCHED_CLASS_LATENCY];
		} else {
			v = sched__cpu_use(s, c);
			if (v + w->use <= s->cfg.batch_pack_use)
				return (int)c; /* first fit */
		}
		if (best < 0 || v < best_v) {
			best = (int)c;
			best_v = v;
		}
	}
	return best;
}

int sched__find_core(const struct sched *s, enum sched_role from, int prefer_node, int empty_only)
{
	unsigned k, i, best_nb = 0;
	int best = -1, best_far = 0;
	double best_use = 0;

	for (k = 0; k < s->ncores; k++) {
		const struct sched__core *core = &s->core[k];
		unsigned nv = 0, nb = 0;
		double use = 0;
		int busy = 0, far;

		if (!core->guest_cpus || sched__core_role(s, k) != from)
			continue;
		for (i = 0; i < core->n; i++) {
			unsigned c = s->core_cpu[core->first + i];

			busy |= s->cpu[c].evacuating || s->cpu[c].draining;
			nv += sched__cpu_vcpus(s, c);
			nb += s->load[c].vcpus[SCHED_CLASS_BATCH];
			use += sched__cpu_use(s, c);
		}
		if (busy || (empty_only && nv))
			continue;
		far = prefer_node >= 0 && (int)core->node != prefer_node;
		if (best < 0 || far < best_far ||
		    (far == best_far && (nb < best_nb || (nb == best_nb && use < best_use)))) {
			best = (int)k;
			best_far = far;
			best_nb = nb;
			best_use = use;
		}
	}
	return best;
}
