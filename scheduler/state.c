/*
 * The scheduler's state: configuration defaults and checks, the host's
 * cores and the first split of CPUs between the latency and batch sets,
 * and the checks every guest record from outside goes through before any
 * of it is used.  Also the small text helpers the reasons are written
 * with.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

#define WEIGHT_MAX 10000u

void sched__sayf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

const char *sched__label(const struct sched_guest *g, char *buf, size_t len)
{
	if (g->name[0])
		return g->name;
	snprintf(buf, len, "#%llu", (unsigned long long)g->id);
	return buf;
}

void sched__say_cpus(char *buf, size_t len, const int16_t *cpus, unsigned n)
{
	unsigned i;

	sched__sayf(buf, len, "cpu%s ", n > 1 ? "s" : "");
	for (i = 0; i < n; i++)
		sched__sayf(buf, len, "%s%d", i ? "," : "", cpus[i]);
}

void sched_host_init(struct sched_host *h, unsigned ncpus, uint64_t memory_mib)
{
	unsigned c;

	memset(h, 0, sizeof(*h));
	h->ncpus = ncpus > SCHED_CPUS_MAX ? SCHED_CPUS_MAX : ncpus;
	h->nnodes = 1;
	for (c = 0; c < h->ncpus; c++)
		h->cpu[c].core = c;
	h->node_memory_mib[0] = memory_mib;
}

void sched_config_default(struct sched_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->guests_max = 8192;
	cfg->vcpus_max = 32768;
	cfg->latency_share = 0.75;
	cfg->latency_cores_min = 1;
	cfg->batch_cores_min = 1;
	cfg->latency_vcpus_per_cpu = 128;
	cfg->batch_vcpus_per_cpu = 256;
	cfg->assumed_use_latency = 0.01;
	cfg->assumed_use_batch = 0.5;
	cfg->batch_pack_use = 1.0;
	cfg->smt_weight = 0.25;
	cfg->min_samples = 20;
	cfg->miss_ratio_max = 0.01;
	cfg->enter_periods = 3;
	cfg->exit_margin = 0.1;
	cfg->moves_max = 16;
	cfg->cooldown_periods = 12;
	cfg->backoff_max = 4;
	cfg->return_periods = 60;
	cfg->load_margin = 0.1;
	cfg->relief = 0.5;
	cfg->load_high = 0.75;
	cfg->batch_sibling_use = 0.25;
	cfg->weight_default = 100;
	cfg->weight_low = 10;
	cfg->demote_use = 0.5;
	cfg->demote_busy = 0.9;
	cfg->demote_busy_use = 0.1;
	cfg->demote_periods = 2;
	cfg->restore_use = 0.2;
	cfg->restore_periods = 10;
	cfg->starve_use = 0.9;
	cfg->hungry_use = 0.2;
	cfg->give_periods = 5;
	cfg->give_load = 0.5;
	cfg->split_hold_periods = 60;
	cfg->batch_spill = 0;
}

static int set_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A double knob within [lo, hi] (and not NaN). */
static int range_ok(double v, double lo, double hi)
{
	return v >= lo && v <= hi;
}

static int check_config(const struct sched_config *c, char *why, size_t len)
{
	if (c->guests_max < 1 || c->guests_max > (1u << 24))
		return set_why(why, len, "config: guests_max is %zu; it must be 1 to 16777216",
		               c->guests_max);
	if (c->vcpus_max < c->guests_max || c->vcpus_max > (1u << 26))
		return set_why(why, len,
		               "config: vcpus_max is %zu; it must be guests_max (%zu) to 67108864",
		               c->vcpus_max, c->guests_max);
	if (!range_ok(c->latency_share, 0.0, 1.0))
		return set_why(why, len, "config: latency_share must be between 0 and 1");
	if (c->latency_cores_min < 1)
		return set_why(why, len, "config: latency_cores_min must be at least 1");
	if (c->latency_vcpus_per_cpu < 1 || c->batch_vcpus_per_cpu < 1 ||
	    c->latency_vcpus_per_cpu > 65535 || c->batch_vcpus_per_cpu > 65535)
		return set_why(why, len, "config: the vCPUs per CPU limits must be 1 to 65535");
	if (!range_ok(c->assumed_use_latency, 0.0, 1.0) ||
	    !range_ok(c->assumed_use_batch, 0.0, 1.0))
		return set_why(why, len, "config: assumed uses must be between 0 and 1 CPU");
	if (!range_ok(c->batch_pack_use, 0.0, 64.0) || !range_ok(c->smt_weight, 0.0, 1.0))
		return set_why(why, len,
		               "config: batch_pack_use must be 0 to 64, smt_weight 0 to 1");
	if (!range_ok(c->miss_ratio_max, 0.0, 1.0))
		return set_why(why, len, "config: miss_ratio_max must be between 0 and 1");
	if (c->enter_periods < 1 || c->enter_periods > 1000)
		return set_why(why, len, "config: enter_periods must be 1 to 1000");
	if (!range_ok(c->exit_margin, 0.0, 0.99))
		return set_why(why, len, "config: exit_margin must be between 0 and 0.99");
	if (c->moves_max < 1 || c->moves_max > 4096)
		return set_why(why, len, "config: moves_max must be 1 to 4096");
	if (c->cooldown_periods > 100000 || c->return_periods > 100000 || c->backoff_max > 16)
		return set_why(why, len,
		               "config: cooldown_periods and return_periods must be at most "
		               "100000, backoff_max at most 16");
	if (!range_ok(c->load_margin, 0.0, 64.0) || !range_ok(c->relief, 0.01, 1.0) ||
	    !range_ok(c->load_high, 0.0, 64.0) || !range_ok(c->batch_sibling_use, 0.0, 1.0))
		return set_why(why, len,
		               "config: load_margin, load_high (0 to 64), relief (0.01 to 1) or "
		               "batch_sibling_use (0 to 1) out of range");
	if (!range_ok(c->demote_use, 0.01, 1.0) || !range_ok(c->restore_use, 0.0, c->demote_use) ||
	    c->restore_use >= c->demote_use || c->demote_periods > 1000 || c->restore_periods < 1 ||
	    c->restore_periods > 100000 || !range_ok(c->demote_busy, 0.01, 1.0) ||
	    c->restore_use >= c->demote_busy || !range_ok(c->demote_busy_use, 0.0, c->demote_use))
		return set_why(
		    why, len,
		    "config: demote_use and demote_busy must be 0.01 to 1, restore_use "
		    "below both, demote_busy_use 0 to demote_use, demote_periods at most "
		    "1000, restore_periods 1 to 100000");
	if (!range_ok(c->starve_use, 0.0, 1.0) || !range_ok(c->hungry_use, 0.01, 1.0) ||
	    !range_ok(c->give_load, 0.0, 64.0) ||
	    (c->give_periods && c->give_load >= c->load_high) || c->give_periods > 100000 ||
	    c->split_hold_periods > 100000)
		return set_why(why, len,
		               "config: starve_use must be 0 to 1, hungry_use 0.01 to 1, "
		               "give_load below load_high, give_periods and split_hold_periods "
		               "at most 100000");
	if (c->weight_default < 1 || c->weight_default > WEIGHT_MAX || c->weight_low < 1 ||
	    c->weight_low >= c->weight_default)
		return set_why(why, len,
		               "config: weights must be 1 to %u, weight_low below weight_default",
		               WEIGHT_MAX);
	return 0;
}

static int check_host(const struct sched_host *h, char *why, size_t len)
{
	unsigned c, n, guest_cpus = 0;

	if (h->ncpus < 1 || h->ncpus > SCHED_CPUS_MAX)
		return set_why(why, len, "host: ncpus is %u; it must be 1 to %u", h->ncpus,
		               SCHED_CPUS_MAX);
	if (h->nnodes < 1 || h->nnodes > SCHED_NODES_MAX)
		return set_why(why, len, "host: nnodes is %u; it must be 1 to %u", h->nnodes,
		               SCHED_NODES_MAX);
	for (c = 0; c < h->ncpus; c++) {
		if (h->cpu[c].node >= h->nnodes)
			return set_why(why, len,
			               "host: cpu %u is on node %u; the host has %u nodes", c,
			               h->cpu[c].node, h->nnodes);
		if (h->cpu[c].core >= SCHED_CPUS_MAX)
			return set_why(why, len,
			               "host: cpu %u has core id %u; core ids must be below %u", c,
			               h->cpu[c].core, SCHED_CPUS_MAX);
		if (!h->cpu[c].dom0)
			guest_cpus++;
	}
	if (!guest_cpus)
		return set_why(why, len, "host: every CPU is kept for Dom0; guests have none");
	for (n = 0; n < h->nnodes; n++)
		if (h->dom0_memory_mib[n] > h->node_memory_mib[n])
			return set_why(why, len,
			               "host: node %u keeps %llu MiB for Dom0 but has %llu MiB", n,
			               (unsigned long long)h->dom0_memory_mib[n],
			               (unsigned long long)h->node_memory_mib[n]);
	return 0;
}

/* Group the CPUs by core; a core must not span nodes. */
static int build_cores(struct sched *s, char *why, size_t len)
{
	const struct sched_host *h = &s->host;
	int ix[SCHED_CPUS_MAX];
	unsigned fill[SCHED_CPUS_MAX];
	unsigned c, k;

	for (c = 0; c < SCHED_CPUS_MAX; c++)
		ix[c] = -1;
	s->ncores = 0;
	for (c = 0; c < h->ncpus; c++) {
		unsigned id = h->cpu[c].core;

		if (ix[id] < 0) {
			ix[id] = (int)s->ncores;
			s->core[s->ncores].node = h->cpu[c].node;
			s->core[s->ncores].n = 0;
			s->core[s->ncores].guest_cpus = 0;
			s->ncores++;
		} else if (s->core[ix[id]].node != h->cpu[c].node) {
			return set_why(
			    why, len,
			    "host: cpu %u is on node %u but shares core %u with a CPU on node %u",
			    c, h->cpu[c].node, id, s->core[ix[id]].node);
		}
		k = (unsigned)ix[id];
		s->cpu_core[c] = k;
		s->core[k].n++;
		if (!h->cpu[c].dom0)
			s->core[k].guest_cpus++;
	}
	for (k = 0, c = 0; k < s->ncores; k++) {
		s->core[k].first = c;
		c += s->core[k].n;
	}
	/* Second pass: each core's CPUs, in CPU order. */
	for (k = 0; k < s->ncores; k++)
		fill[k] = 0;
	for (c = 0; c < h->ncpus; c++) {
		k = s->cpu_core[c];
		s->core_cpu[s->core[k].first + fill[k]++] = c;
	}
	return 0;
}

void sched__set_core_role(struct sched *s, unsigned core, enum sched_role role)
{
	const struct sched__core *k = &s->core[core];
	unsigned i;

	for (i = 0; i < k->n; i++) {
		unsigned c = s->core_cpu[k->first + i];

		if (!s->host.cpu[c].dom0)
			s->cpu[c].role = role;
	}
}

enum sched_role sched__core_role(const struct sched *s, unsigned core)
{
	const struct sched__core *k = &s->core[core];
	unsigned i;

	for (i = 0; i < k->n; i++) {
		unsigned c = s->core_cpu[k->first + i];

		if (!s->host.cpu[c].dom0)
			return s->cpu[c].role;
	}
	return SCHED_ROLE_DOM0;
}

unsigned sched__cores_with_role(const struct sched *s, enum sched_role role)
{
	unsigned k, n = 0;

	for (k = 0; k < s->ncores; k++)
		if (s->core[k].guest_cpus && sched__core_role(s, k) == role)
			n++;
	return n;
}

unsigned sched__cpus_with_role(const struct sched *s, enum sched_role role)
{
	unsigned c, n = 0;

	for (c = 0; c < s->host.ncpus; c++)
		n += s->cpu[c].role == role;
	return n;
}

int sched__apart(const struct sched *s)
{
	return sched__cores_with_role(s, SCHED_ROLE_BATCH) > 0;
}

/*
 * The first split: latency_share of the guest cores go to the latency
 * set, shared out over the nodes in proportion to their cores (largest
 * remainder), so that latency guests can find CPUs next to their memory
 * on every node.  Within a node the lowest-numbered cores are latency
 * ones.  Whole cores: a latency vCPU should not share a core's execution
 * units with a CPU-bound batch vCPU.
 */
static void split(struct sched *s)
{
	unsigned cores_on[SCHED_NODES_MAX] = { 0 }, lat_on[SCHED_NODES_MAX] = { 0 };
	double frac[SCHED_NODES_MAX];
	unsigned k, n, total = 0, lat, given = 0;

	for (k = 0; k < s->ncores; k++) {
		if (s->core[k].guest_cpus) {
			cores_on[s->core[k].node]++;
			total++;
		}
	}
	lat = (unsigned)(s->cfg.latency_share * total + 0.5);
	if (total > s->cfg.batch_cores_min && lat > total - s->cfg.batch_cores_min)
		lat = total - s->cfg.batch_cores_min;
	if (lat < s->cfg.latency_cores_min)
		lat = s->cfg.latency_cores_min;
	if (lat > total)
		lat = total;
	for (n = 0; n < s->host.nnodes; n++) {
		double want = (double)lat * cores_on[n] / total;

		lat_on[n] = (unsigned)want;
		frac[n] = want - lat_on[n];
		given += lat_on[n];
	}
	while (given < lat) {
		unsigned best = 0;

		for (n = 1; n < s->host.nnodes; n++)
			if (frac[n] > frac[best] && lat_on[n] < cores_on[n])
				best = n;
		lat_on[best]++;
		frac[best] = -1;
		given++;
	}
	for (k = 0; k < s->ncores; k++) {
		if (!s->core[k].guest_cpus)
			continue;
		n = s->core[k].node;
		if (lat_on[n]) {
			sched__set_core_role(s, k, SCHED_ROLE_LATENCY);
			lat_on[n]--;
		} else {
			sched__set_core_role(s, k, SCHED_ROLE_BATCH);
		}
	}
}

int sched_create(const struct sched_host *host, const struct sched_config *cfg, struct sched **out,
                 char *why, size_t whylen)
{
	struct sched *s = NULL;
	size_t slots;
	unsigned c;
	int rc;

	if (why && whylen)
		why[0] = 0;
	if (!host || !cfg || !out)
		return set_why(why, whylen, "sched_create: host, cfg and out are required");
	*out = NULL;
	rc = check_config(cfg, why, whylen);
	if (rc)
		return rc;
	rc = check_host(host, why, whylen);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->host = *host;
	s->cfg = *cfg;
	for (slots = 16; slots < 2 * cfg->guests_max; slots *= 2)
		;
	s->index_mask = slots - 1;
	rc = -ENOMEM;
	s->core = calloc(host->ncpus, sizeof(*s->core));
	s->core_cpu = calloc(host->ncpus, sizeof(*s->core_cpu));
	s->cpu_core = calloc(host->ncpus, sizeof(*s->cpu_core));
	s->cpu = calloc(host->ncpus, sizeof(*s->cpu));
	s->load = calloc(host->ncpus, sizeof(*s->load));
	s->group = calloc(host->ncpus, sizeof(*s->group));
	s->slot = calloc(cfg->vcpus_max, sizeof(*s->slot));
	s->cand = calloc(2 * cfg->vcpus_max, sizeof(*s->cand));
	s->gs = calloc(cfg->guests_max, sizeof(*s->gs));
	s->gs_next = calloc(cfg->guests_max, sizeof(*s->gs_next));
	s->index = calloc(slots, sizeof(*s->index));
	s->index_next = calloc(slots, sizeof(*s->index_next));
	s->cls = calloc(cfg->guests_max, sizeof(*s->cls));
	if (!s->cls || !s->core || !s->core_cpu || !s->cpu_core || !s->cpu || !s->load ||
	    !s->group || !s->slot || !s->cand || !s->gs || !s->gs_next || !s->index ||
	    !s->index_next)
		goto out;
	rc = build_cores(s, why, whylen);
	if (rc)
		goto out;
	for (c = 0; c < host->ncpus; c++)
		s->cpu[c].role = SCHED_ROLE_DOM0;
	split(s);
	*out = s;
	s = NULL;
	rc = 0;
out:
	sched_destroy(s);
	return rc;
}

void sched_destroy(struct sched *s)
{
	if (!s)
		return;
	free(s->core);
	free(s->core_cpu);
	free(s->cpu_core);
	free(s->cpu);
	free(s->load);
	free(s->group);
	free(s->slot);
	free(s->cand);
	free(s->gs);
	free(s->gs_next);
	free(s->index);
	free(s->index_next);
	free(s->cls);
	free(s);
}

enum sched_role sched_cpu_role(const struct sched *s, unsigned cpu)
{
	if (!s || cpu >= s->host.ncpus)
		return SCHED_ROLE_DOM0;
	return s->cpu[cpu].role;
}

int sched_set_prober(struct sched *s, const struct sched_cpuset *cpus, double use)
{
	unsigned c, n, k, i;

	if (!s || !cpus || !(use >= 0 && use <= SCHED_CPUS_MAX))
		return -EINVAL;
	if (sched__cpuset_first_from(cpus, s->host.ncpus) < SCHED_CPUS_MAX)
		return -EINVAL;
	n = sched_cpuset_count(cpus);
	if (use > n)
		return -EINVAL;
	s->prober = *cpus;
	for (c = 0; c < s->host.ncpus; c++) {
		s->cpu[c].prober_use = sched_cpuset_has(cpus, c) ? use / n : 0;
		s->cpu[c].near_prober = 0;
	}
	for (c = 0; c < s->host.ncpus; c++) {
		const struct sched__core *core;

		if (!sched_cpuset_has(cpus, c))
			continue;
		core = &s->core[s->cpu_core[c]];
		for (i = 0; i < core->n; i++) {
			k = s->core_cpu[core->first + i];
			s->cpu[k].near_prober = 1;
		}
	}
	return 0;
}

int sched_set_other_use(struct sched *s, const double *use, unsigned n)
{
	unsigned c;

	if (!s || n > s->host.ncpus || (n && !use))
		return -EINVAL;
	for (c = 0; c < n; c++)
		if (!(use[c] >= 0 && use[c] <= 1))
			return -EINVAL;
	for (c = 0; c < s->host.ncpus; c++)
		s->cpu[c].other_use = c < n ? use[c] : 0;
	return 0;
}

uint32_t sched_periods(const struct sched *s)
{
	return s ? s->period : 0;
}

unsigned sched__cpuset_first_from(const struct sched_cpuset *set, unsigned from)
{
	unsigned w;

	for (w = from / 64; w < SCHED_CPUS_MAX / 64; w++) {
		uint64_t bits = set->bits[w];

		if (w == from / 64)
			bits &= ~0ull << (from % 64);
		if (bits)
			return w * 64 + (unsigned)__builtin_ctzll(bits);
	}
	return SCHED_CPUS_MAX;
}

int sched__cpuset_any(const struct sched_cpuset *set)
{
	unsigned w;

	for (w = 0; w < SCHED_CPUS_MAX / 64; w++)
		if (set->bits[w])
			return 1;
	return 0;
}

uint64_t sched__key_hash(uint64_t id, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull, z = id + 0x9e3779b97f4a7c15ull;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return h ^ z ^ (z >> 31);
}

const struct sched__gstate *sched__state_of(const struct sched *s, uint64_t id, const char *name)
{
	uint64_t h = sched__key_hash(id, name);
	size_t pos;

	for (pos = h & s->index_mask; s->index[pos]; pos = (pos + 1) & s->index_mask) {
		const struct sched__gstate *d = &s->gs[s->index[pos] - 1];

		if (d->hash == h && d->id == id && !strcmp(d->name, name))
			return d;
	}
	return NULL;
}

void sched__classes_known(struct sched *s, const struct sched_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nguests; i++) {
		const struct sched_guest *g = &snap->guests[i];
		const struct sched__gstate *e;

		s->cls[i] = (uint8_t)g->cls;
		if (g->cls != SCHED_CLASS_LATENCY || !s->ngs)
			continue;
		e = sched__state_of(s, g->id, g->name);
		if (e && e->eff_batch)
			s->cls[i] = SCHED_CLASS_BATCH;
	}
}

int sched_effective_class(const struct sched *s, uint64_t id, const char *name)
{
	const struct sched__gstate *e;

	if (!s || !name)
		return -ENOENT;
	e = sched__state_of(s, id, name);
	if (!e)
		return -ENOENT;
	return e->eff_batch ? SCHED_CLASS_BATCH : (int)e->cls;
}

void sched_spill_cpus(const struct sched *s, struct sched_cpuset *out)
{
	unsigned c;

	sched_cpuset_zero(out);
	if (!s || !s->cfg.batch_spill)
		return;
	for (c = 0; c < s->host.ncpus; c++)
		if (s->cpu[c].role == SCHED_ROLE_LATENCY)
			sched_cpuset_add(out, c);
}

int sched__check_guest(const struct sched *s, const struct sched_guest *g, int mode, char *why,
                       size_t len)
{
	const struct sched_host *h = &s->host;
	unsigned i;

	if (!memchr(g->name, 0, sizeof(g->name)))
		return set_why(why, len, "name is not NUL-terminated within %d characters",
		               SCHED_NAME_MAX);
	if (!g->id && !g->name[0])
		return set_why(why, len, "the guest has neither an id nor a name");
	if ((unsigned)g->cls > SCHED_CLASS_BATCH)
		return set_why(why, len, "class is %u; it must be latency (0) or batch (1)",
		               (unsigned)g->cls);
	if (g->vcpus < 1 || g->vcpus > SCHED_VCPUS_MAX)
		return set_why(why, len, "vcpus is %u; it must be 1 to %d", g->vcpus,
		               SCHED_VCPUS_MAX);
	if (!g->memory_mib)
		return set_why(why, len, "memory_mib is 0");
	if (!g->slo_us)
		return set_why(why, len, "slo_us is 0");
	if (mode == SCHED__CHECK_REQUEST)
		return 0;
	if (g->node < -1 || g->node >= (int)h->nnodes)
		return set_why(why, len, "node is %d; the host has %u nodes (or -1)", g->node,
		               h->nnodes);
	i = sched__cpuset_first_from(&g->pin, h->ncpus);
	if (i < SCHED_CPUS_MAX)
		return set_why(why, len, "pinned to cpu %u; the host has %u CPUs", i, h->ncpus);
	for (i = 0; i < g->vcpus; i++)
		if (g->cpu[i] < -1 || g->cpu[i] >= (int)h->ncpus)
			return set_why(why, len,
			               "vCPU %u is on cpu %d; the host has %u CPUs (or -1)", i,
			               g->cpu[i], h->ncpus);
	if (isnan(g->cpu_use) || isinf(g->cpu_use) || g->cpu_use > 2.0 * g->vcpus)
		return set_why(why, len, "cpu_use is %g; it must be at most twice its %u vCPUs",
		               g->cpu_use, g->vcpus);
	if (g->weight > WEIGHT_MAX)
		return set_why(why, len, "weight is %u; it must be 1 to %u (or 0)", g->weight,
		               WEIGHT_MAX);
	if ((unsigned)g->policy > SCHED_POLICY_IDLE)
		return set_why(why, len, "policy is %u; it must be normal (0) or idle (1)",
		               (unsigned)g->policy);
	return 0;
}

int sched__check_snapshot(const struct sched *s, const struct sched_snapshot *snap, char *why,
                          size_t len)
{
	char sub[SCHED_REASON_MAX], lb[24];
	size_t i, vcpus = 0;
	int rc;

	if (snap->nguests && !snap->guests)
		return set_why(why, len, "snapshot: %zu guests but no array", snap->nguests);
	for (i = 0; i < snap->nguests; i++) {
		const struct sched_guest *g = &snap->guests[i];

		sub[0] = 0;
		rc = sched__check_guest(s, g, SCHED__CHECK_SNAPSHOT, sub, sizeof(sub));
		if (rc) {
			/* A name that is not terminated must not be printed. */
			if (!memchr(g->name, 0, sizeof(g->name)))
				return set_why(why, len, "snapshot guest %zu: %s", i, sub);
			return set_why(why, len, "snapshot guest %zu (%s): %s", i,
			               sched__label(g, lb, sizeof(lb)), sub);
		}
		vcpus += g->vcpus;
	}
	if (vcpus > s->cfg.vcpus_max) {
		set_why(why, len, "snapshot: %zu vCPUs; the state was made for %zu", vcpus,
		        s->cfg.vcpus_max);
		return -ENOSPC;
	}
	return 0;
}

const char *sched_refusal_str(enum sched_refusal r)
{
	switch (r) {
	case SCHED_ADMITTED:
		return "admitted";
	case SCHED_REFUSE_BAD_GUEST:
		return "bad_guest";
	case SCHED_REFUSE_BAD_SNAPSHOT:
		return "bad_snapshot";
	case SCHED_REFUSE_EXISTS:
		return "exists";
	case SCHED_REFUSE_NO_SUCH_CPU:
		return "no_such_cpu";
	case SCHED_REFUSE_DOM0_CPU:
		return "dom0_cpu";
	case SCHED_REFUSE_MEMORY:
		return "memory";
	case SCHED_REFUSE_OVERCOMMIT:
		return "overcommit";
	}
	return "unknown";
}

const char *sched_move_kind_str(enum sched_move_kind k)
{
	switch (k) {
	case SCHED_MOVE_PIN:
		return "pin";
	case SCHED_MOVE_WEIGHT:
		return "weight";
	case SCHED_MOVE_POLICY:
		return "policy";
	case SCHED_MOVE_CPU_ROLE:
		return "cpu-role";
	case SCHED_MOVE_CLASS:
		return "class";
	}
	return "unknown";
}

const char *sched_role_str(enum sched_role r)
{
	switch (r) {
	case SCHED_ROLE_DOM0:
		return "dom0";
	case SCHED_ROLE_LATENCY:
		return "latency";
	case SCHED_ROLE_BATCH:
		return "batch";
	}
	return "unknown";
}

const char *sched_class_str(enum sched_class c)
{
	return c == SCHED_CLASS_BATCH ? "batch" : c == SCHED_CLASS_LATENCY ? "latency" : "unknown";
}
