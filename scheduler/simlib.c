/*
 * The simulator behind scheduler/sim, the scheduler's tests and its
 * bench: a model host, guests admitted through sched_admit(), and each
 * period the latency model's probes, the guests' windows, sched_plan()
 * and its moves applied.  See sim.h for the model.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define SHORT_PERIODS 10 /* the 10 s window at one period a second */
#define LONG_PERIODS  60 /* the 60 s window */
#define RECENT        2  /* the last 2 s, for the recovery figure */
#define DEPARTURES    4  /* CPUs remembered per guest for the oscillation count */
#define NO_LAT        UINT32_MAX

struct model {
	double use;      /* true CPU use */
	double base_use; /* before a disturbance changed it */
	int disturbed;
	int shared;   /* a batch guest found on a latency CPU */
	int bound;    /* a latency guest turned CPU-bound: it runs whole slices */
	uint32_t lat; /* row in the sample ring, NO_LAT for batch guests */
	int16_t dep_cpu[DEPARTURES];
	uint32_t dep_at[DEPARTURES];
};

struct sim {
	struct sim_params p;
	struct sched_host host;
	struct sched *sched;
	struct sched_guest *g;
	struct model *m;
	size_t n;
	size_t nlat;
	size_t refused;
	uint32_t *ring;    /* nlat rows of LONG_PERIODS * probes_per_period RTTs (us) */
	uint32_t *scratch; /* one row */
	double *wait_us;   /* per CPU: sum of use * slice * scale */
	double *busy;      /* per CPU: sum of use */
	double *queue;     /* per CPU: sum of use, batch vCPUs' scaled as their waits are */
	double *bwant;     /* per CPU: sum of the batch guests' use */
	double *other;     /* per CPU: work that is no guest's (SIM_OUTSIDE) */
	double batch_work; /* the batch guests' CPU time this period (sim_report) */
	unsigned period;
	uint64_t rng;
	struct sched_snapshot snap;
	struct sched_plan plan;
};

static int fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* splitmix64: small, and the same sequence everywhere. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double unit(uint64_t *s)
{
	return ((double)(rnd(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double uniform(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * unit(s);
}

static double expo(uint64_t *s)
{
	return -log(unit(s));
}

void sim_params_default(struct sim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->cpus = 64;
	p->nodes = 2;
	p->threads_per_core = 2;
	p->dom0_cpus = 2;
	p->memory_mib = 256 * 1024;
	p->dom0_memory_mib = 8 * 1024;
	p->guests = 5000;
	p->batch_fraction = 0.1;
	p->guest_memory_mib = 32;
	p->slo_us = 1000;
	p->latency_use_min = 0.001;
	p->latency_use_max = 0.009;
	p->batch_use_min = 0.01;
	p->batch_use_max = 0.05;
	p->base_us = 20;
	p->jitter_us = 5;
	p->slice_latency_us = 100;
	p->slice_batch_us = 2000;
	p->smt_slowdown = 0.25;
	p->use_noise = 0.05;
	p->probes_per_period = 10;
	p->osc_periods = 30;
	p->seed = 1;
}

int sim_parse_disturb(struct sim_params *p, const char *spec, char *why, size_t len)
{
	struct sim_disturb d;
	char kind[16], extra;
	int n;

	memset(&d, 0, sizeof(d));
	if (p->ndisturb >= SIM_DISTURB_MAX)
		return fail(why, len, "at most %d disturbances", SIM_DISTURB_MAX);
	if (sscanf(spec, "%15[a-z]:", kind) != 1)
		return fail(why, len,
		            "disturbance '%s': expected hog:..., surge:..., spin:... or calm:...",
		            spec);
	if (!strcmp(kind, "hog")) {
		d.kind = SIM_HOG;
		d.use = 1.0;
		n = sscanf(spec, "hog:%u:%u:%lf%c", &d.at, &d.count, &d.use, &extra);
		if (n != 2 && n != 3)
			return fail(why, len, "disturbance '%s': expected hog:AT:COUNT[:USE]",
			            spec);
	} else if (!strcmp(kind, "surge")) {
		d.kind = SIM_SURGE;
		n = sscanf(spec, "surge:%u:%u:%u:%lf%c", &d.at, &d.cpus, &d.count, &d.use, &extra);
		if (n != 4)
			return fail(why, len, "disturbance '%s': expected surge:AT:CPUS:COUNT:USE",
			            spec);
	} else if (!strcmp(kind, "spin")) {
		d.kind = SIM_SPIN;
		d.use = 1.0;
		d.per = 1;
		n = sscanf(spec, "spin:%u:%u:%lf:%u%c", &d.at, &d.count, &d.use, &d.per, &extra);
		if ((n != 2 && n != 3 && n != 4) || d.per < 1)
			return fail(
			    why, len,
			    "disturbance '%s': expected spin:AT:COUNT[:USE[:PER]] (PER 1 or "
			    "more)",
			    spec);
	} else if (!strcmp(kind, "busy")) {
		d.kind = SIM_BUSY;
		d.use = 1.0;
		n = sscanf(spec, "busy:%u:%u:%lf%c", &d.at, &d.count, &d.use, &extra);
		if (n != 2 && n != 3)
			return fail(why, len, "disturbance '%s': expected busy:AT:COUNT[:USE]",
			            spec);
	} else if (!strcmp(kind, "outside")) {
		d.kind = SIM_OUTSIDE;
		d.use = 1.0;
		n = sscanf(spec, "outside:%u:%u:%lf%c", &d.at, &d.count, &d.use, &extra);
		if (n != 2 && n != 3)
			return fail(why, len, "disturbance '%s': expected outside:AT:COUNT[:USE]",
			            spec);
	} else if (!strcmp(kind, "calm")) {
		d.kind = SIM_CALM;
		n = sscanf(spec, "calm:%u%c", &d.at, &extra);
		if (n != 1)
			return fail(why, len, "disturbance '%s': expected calm:AT", spec);
	} else {
		return fail(why, len,
		            "disturbance '%s': unknown kind '%s' (hog, surge, spin, busy, outside, "
		            "calm)",
		            spec, kind);
	}
	if (d.at < 1)
		return fail(why, len, "disturbance '%s': periods count from 1", spec);
	if (!(d.use >= 0 && d.use <= 1))
		return fail(why, len, "disturbance '%s': a use is 0 to 1 CPU", spec);
	p->disturb[p->ndisturb++] = d;
	return 0;
}

int sim_host_build(struct sched_host *h, const struct sim_params *p, char *why, size_t len)
{
	unsigned c, cores, per_node, dom0_cores;

	if (!p->cpus || p->cpus > SCHED_CPUS_MAX || !p->nodes || p->nodes > SCHED_NODES_MAX ||
	    !p->threads_per_core || p->cpus % (p->nodes * p->threads_per_core))
		return fail(
		    why, len,
		    "host: %u CPUs do not make %u nodes of %u-thread cores (at most %d CPUs)",
		    p->cpus, p->nodes, p->threads_per_core, SCHED_CPUS_MAX);
	cores = p->cpus / p->threads_per_core;
	per_node = cores / p->nodes;
	dom0_cores = (p->dom0_cpus + p->threads_per_core - 1) / p->threads_per_core;
	if (dom0_cores >= cores)
		return fail(why, len, "host: %u Dom0 CPUs leave no core for guests", p->dom0_cpus);
	if (p->dom0_memory_mib >= p->memory_mib / p->nodes)
		return fail(why, len, "host: Dom0's %llu MiB do not fit in node 0",
		            (unsigned long long)p->dom0_memory_mib);
	sched_host_init(h, p->cpus, 0);
	h->nnodes = p->nodes;
	for (c = 0; c < p->cpus; c++) {
		unsigned core = c % cores;

		h->cpu[c].core = core;
		h->cpu[c].node = core / per_node;
		h->cpu[c].dom0 = core < dom0_cores;
	}
	for (c = 0; c < p->nodes; c++)
		h->node_memory_mib[c] = p->memory_mib / p->nodes;
	h->dom0_memory_mib[0] = p->dom0_memory_mib;
	return 0;
}

static int check_params(const struct sim_params *p, const struct sched_config *cfg, char *why,
                        size_t len)
{
	unsigned i;

	if (!p->guests || p->guests > cfg->guests_max)
		return fail(why, len, "guests: %u; the scheduler is configured for 1 to %zu",
		            p->guests, cfg->guests_max);
	if (!(p->batch_fraction >= 0 && p->batch_fraction <= 1))
		return fail(why, len, "batch fraction must be 0 to 1");
	if (!p->probes_per_period || p->probes_per_period > 1000)
		return fail(why, len, "probes per period must be 1 to 1000");
	if (!p->slo_us || !p->guest_memory_mib)
		return fail(why, len, "SLO and guest memory must be above 0");
	if (!(p->latency_use_min >= 0 && p->latency_use_min <= p->latency_use_max &&
	      p->latency_use_max <= 1 && p->batch_use_min >= 0 &&
	      p->batch_use_min <= p->batch_use_max && p->batch_use_max <= 1))
		return fail(why, len, "use ranges must be 0 <= min <= max <= 1");
	for (i = 0; i < p->ndisturb; i++)
		if (p->disturb[i].kind == SIM_HOG && p->disturb[i].count > p->shared)
			return fail(why, len,
			            "a hog of %u guests needs as many batch guests on latency CPUs "
			            "(shared %u)",
			            p->disturb[i].count, p->shared);
	return 0;
}

/* Admit the guests one by one, as deploys would come. */
static int admit_all(struct sim *sim, char *why, size_t len)
{
	const struct sim_params *p = &sim->p;
	struct sched_admission a;
	size_t i;
	int rc;

	for (i = 0; i < p->guests; i++) {
		struct sched_guest *g = &sim->g[sim->n];
		struct model *m = &sim->m[sim->n];
		int batch = unit(&sim->rng) < p->batch_fraction;

		memset(g, 0, sizeof(*g));
		g->id = i + 1;
		snprintf(g->name, sizeof(g->name), "%c-%zu", batch ? 'b' : 'l', i + 1);
		g->cls = batch ? SCHED_CLASS_BATCH : SCHED_CLASS_LATENCY;
		g->vcpus = 1;
		g->memory_mib = p->guest_memory_mib;
		g->slo_us = p->slo_us;
		g->cpu_use = -1; /* just deployed */
		sim->snap.guests = sim->g;
		sim->snap.nguests = sim->n;
		rc = sched_admit(sim->sched, &sim->snap, g, &a);
		if (rc == -ENOMEM || rc == -ENOSPC) {
			sim->refused++;
			continue;
		}
		if (rc)
			return fail(why, len, "admitting %s: %s", g->name, a.reason);
		g->cpu[0] = a.cpu[0];
		g->node = a.node;
		g->policy = a.policy;
		memset(m, 0, sizeof(*m));
		m->use = batch ? uniform(&sim->rng, p->batch_use_min, p->batch_use_max)
		               : uniform(&sim->rng, p->latency_use_min, p->latency_use_max);
		m->base_use = m->use;
		m->lat = batch ? NO_LAT : (uint32_t)sim->nlat++;
		memset(m->dep_cpu, 0xff, sizeof(m->dep_cpu));
		sim->n++;
	}
	return 0;
}

/* The batch guests the daemon "found" on latency CPUs: idle, until a hog wakes them. */
static void place_shared(struct sim *sim)
{
	const struct sim_params *p = &sim->p;
	unsigned lat_cpus[SCHED_CPUS_MAX], nlat = 0, c, k = 0;
	size_t i, done = 0;

	for (c = 0; c < sim->host.ncpus; c++)
		if (sched_cpu_role(sim->sched, c) == SCHED_ROLE_LATENCY)
			lat_cpus[nlat++] = c;
	for (c = nlat; c > 1; c--) {
		unsigned j = (unsigned)(rnd(&sim->rng) % c), t = lat_cpus[c - 1];

		lat_cpus[c - 1] = lat_cpus[j];
		lat_cpus[j] = t;
	}
	for (i = 0; i < sim->n && done < p->shared && nlat; i++) {
		if (sim->g[i].cls != SCHED_CLASS_BATCH)
			continue;
		sim->g[i].cpu[0] = (int16_t)lat_cpus[k++ % nlat];
		sim->m[i].shared = 1;
		sim->m[i].use = sim->m[i].base_use =
		    uniform(&sim->rng, p->latency_use_min, p->latency_use_max);
		done++;
	}
}

int sim_create(const struct sim_params *p, const struct sched_config *cfg, struct sim **out,
               char *why, size_t len)
{
	struct sched_config def;
	struct sim *sim = NULL;
	int rc;

	*out = NULL;
	if (!cfg) {
		sched_config_default(&def);
		cfg = &def;
	}
	rc = check_params(p, cfg, why, len);
	if (rc)
		return rc;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return -ENOMEM;
	sim->p = *p;
	sim->rng = p->seed;
	rc = sim_host_build(&sim->host, p, why, len);
	if (rc)
		goto out;
	rc = sched_create(&sim->host, cfg, &sim->sched, why, len);
	if (rc)
		goto out;
	rc = -ENOMEM;
	sim->g = calloc(p->guests, sizeof(*sim->g));
	sim->m = calloc(p->guests, sizeof(*sim->m));
	sim->wait_us = calloc(sim->host.ncpus, sizeof(*sim->wait_us));
	sim->busy = calloc(sim->host.ncpus, sizeof(*sim->busy));
	sim->queue = calloc(sim->host.ncpus, sizeof(*sim->queue));
	sim->bwant = calloc(sim->host.ncpus, sizeof(*sim->bwant));
	sim->other = calloc(sim->host.ncpus, sizeof(*sim->other));
	sim->scratch = calloc((size_t)LONG_PERIODS * p->probes_per_period, sizeof(*sim->scratch));
	if (!sim->g || !sim->m || !sim->wait_us || !sim->busy || !sim->queue || !sim->bwant ||
	    !sim->other || !sim->scratch)
		goto out;
	rc = admit_all(sim, why, len);
	if (rc)
		goto out;
	place_shared(sim);
	rc = -ENOMEM;
	sim->ring = calloc(sim->nlat ? sim->nlat * LONG_PERIODS * p->probes_per_period : 1,
	                   sizeof(*sim->ring));
	if (!sim->ring)
		goto out;
	sim->snap.guests = sim->g;
	sim->snap.nguests = sim->n;
	*out = sim;
	sim = NULL;
	rc = 0;
out:
	sim_destroy(sim);
	return rc;
}

void sim_destroy(struct sim *sim)
{
	if (!sim)
		return;
	sched_plan_free(&sim->plan);
	sched_destroy(sim->sched);
	free(sim->g);
	free(sim->m);
	free(sim->ring);
	free(sim->scratch);
	free(sim->wait_us);
	free(sim->busy);
	free(sim->queue);
	free(sim->bwant);
	free(sim->other);
	free(sim);
}

static void disturb(struct sim *sim, const struct sim_disturb *d)
{
	unsigned lat_cpus[SCHED_CPUS_MAX], nlat = 0, c, k;
	size_t i, hit = 0;

	switch (d->kind) {
	case SIM_HOG:
		for (i = 0; i < sim->n && hit < d->count; i++) {
			if (!sim->m[i].shared)
				continue;
			sim->m[i].disturbed = 1;
			sim->m[i].use = d->use;
			hit++;
		}
		break;
	case SIM_SURGE:
		for (c = 0; c < sim->host.ncpus; c++)
			if (sched_cpu_role(sim->sched, c) == SCHED_ROLE_LATENCY)
				lat_cpus[nlat++] = c;
		for (k = 0; k < d->cpus && nlat; k++) {
			unsigned j = (unsigned)(rnd(&sim->rng) % nlat);

			c = lat_cpus[j];
			lat_cpus[j] = lat_cpus[--nlat];
			for (i = 0, hit = 0; i < sim->n && hit < d->count; i++) {
				if (sim->g[i].cls != SCHED_CLASS_LATENCY ||
				    sim->g[i].cpu[0] != (int)c || sim->m[i].disturbed)
					continue;
				sim->m[i].disturbed = 1;
				sim->m[i].use = d->use;
				hit++;
			}
		}
		break;
	case SIM_SPIN:
		for (c = 0; c < sim->host.ncpus; c++)
			if (sched_cpu_role(sim->sched, c) == SCHED_ROLE_LATENCY)
				lat_cpus[nlat++] = c;
		for (k = 0; k < d->count && nlat; k++) {
			unsigned j = (unsigned)(rnd(&sim->rng) % nlat);

			c = lat_cpus[j];
			lat_cpus[j] = lat_cpus[--nlat];
			for (i = 0, hit = 0; i < sim->n && hit < d->per; i++) {
				if (sim->g[i].cls != SCHED_CLASS_LATENCY ||
				    sim->g[i].cpu[0] != (int)c || sim->m[i].disturbed)
					continue;
				sim->m[i].disturbed = 1;
				sim->m[i].bound = 1;
				sim->m[i].use = d->use;
				hit++;
			}
		}
		break;
	case SIM_BUSY:
		for (c = 0; c < sim->host.ncpus; c++)
			if (sched_cpu_role(sim->sched, c) == SCHED_ROLE_BATCH)
				lat_cpus[nlat++] = c; /* here: the batch CPUs */
		for (k = 0; k < d->count && nlat; k++) {
			c = lat_cpus[k % nlat];
			for (i = 0; i < sim->n; i++) {
				if (sim->g[i].cls != SCHED_CLASS_BATCH ||
				    sim->g[i].cpu[0] != (int)c || sim->m[i].disturbed)
					continue;
				sim->m[i].disturbed = 1;
				sim->m[i].use = d->use;
				break;
			}
		}
		break;
	case SIM_OUTSIDE:
		for (c = 0; c < sim->host.ncpus; c++)
			if (sched_cpu_role(sim->sched, c) == SCHED_ROLE_LATENCY && !sim->other[c])
				lat_cpus[nlat++] = c;
		for (k = 0; k < d->count && nlat; k++) {
			unsigned j = (unsigned)(rnd(&sim->rng) % nlat);

			sim->other[lat_cpus[j]] = d->use;
			lat_cpus[j] = lat_cpus[--nlat];
		}
		break;
	case SIM_CALM:
		memset(sim->other, 0, sim->host.ncpus * sizeof(*sim->other));
		for (i = 0; i < sim->n; i++) {
			if (!sim->m[i].disturbed)
				continue;
			sim->m[i].disturbed = 0;
			sim->m[i].bound = 0;
			sim->m[i].use = sim->m[i].base_use;
		}
		break;
	}
}

/* How much of its slice a batch vCPU takes from a waking one, given its weight and policy. */
static double batch_scale(const struct sched_guest *g)
{
	double w = g->weight ? g->weight / 100.0 : 1.0;

	if (g->policy == SCHED_POLICY_IDLE)
		return 0.01; /* SCHED_IDLE: weight 3 against 1024, and preempted by any waking vCPU
		              */
	return w < 0.01 ? 0.01 : w > 1 ? 1 : w;
}

static void swap_u32(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;

	*a = *b;
	*b = t;
}

/* Put the k-th smallest of a[0 .. n) at a[k], none larger before it (Hoare's select). */
static uint32_t select_k(uint32_t *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t x = a[lo + (hi - lo) / 2];
		size_t i = lo - 1, j = hi + 1; /* unsigned wrap-around: i++ comes first */

		for (;;) {
			do
				i++;
			while (a[i] < x);
			do
				j--;
			while (a[j] > x);
			if (i >= j)
				break;
			swap_u32(&a[i], &a[j]);
		}
		if (k <= j)
			hi = j;
		else
			lo = j + 1;
	}
	return a[k];
}

/* Nearest rank: the value of rank ceil(q n), as the daemon's histograms answer. */
static size_t rank_index(double q, size_t n)
{
	size_t r = (size_t)ceil(q * (double)n);

	return r ? r - 1 : 0;
}

static void window(struct sim *sim, const struct model *m, unsigned periods, struct sched_window *w)
{
	unsigned per = sim->p.probes_per_period,
	         have = sim->period < periods ? sim->period : periods, k;
	size_t n = (size_t)have * per, i99, i50;
	const uint32_t *row = sim->ring + (size_t)m->lat * LONG_PERIODS * per;

	for (k = 0; k < have; k++) {
		unsigned slot = (sim->period - 1 - k) % LONG_PERIODS;

		memcpy(sim->scratch + (size_t)k * per, row + (size_t)slot * per,
		       per * sizeof(*row));
	}
	memset(w, 0, sizeof(*w));
	w->samples = (uint32_t)n;
	if (!n)
		return;
	i99 = rank_index(0.99, n);
	i50 = rank_index(0.5, n);
	w->p99_us = select_k(sim->scratch, n, i99);
	w->p50_us = i50 < i99 ? select_k(sim->scratch, i99, i50) : w->p99_us;
}

/* This period's probes for every latency guest, then its windows. */
static void probe(struct sim *sim)
{
	const struct sim_params *p = &sim->p;
	const struct sched_host *h = &sim->host;
	unsigned c, cores = h->ncpus / p->threads_per_core, per = p->probes_per_period, k;
	size_t i;

	memset(sim->wait_us, 0, h->ncpus * sizeof(*sim->wait_us));
	memset(sim->busy, 0, h->ncpus * sizeof(*sim->busy));
	memset(sim->queue, 0, h->ncpus * sizeof(*sim->queue));
	memset(sim->bwant, 0, h->ncpus * sizeof(*sim->bwant));
	/* Work that is no guest's runs as a batch vCPU would: whole slices. */
	for (c = 0; c < h->ncpus; c++) {
		sim->busy[c] = sim->other[c];
		sim->queue[c] = sim->other[c];
		sim->wait_us[c] = sim->other[c] * p->slice_batch_us;
	}
	for (i = 0; i < sim->n; i++) {
		const struct sched_guest *g = &sim->g[i];
		int lat = g->cls == SCHED_CLASS_LATENCY && !sim->m[i].bound;
		double u = sim->m[i].use, scale = lat ? 1 : batch_scale(g);

		c = (unsigned)g->cpu[0];
		sim->busy[c] += u;
		if (g->cls == SCHED_CLASS_BATCH)
			sim->bwant[c] += u;
		sim->queue[c] += u * scale;
		sim->wait_us[c] += u * scale * (lat ? p->slice_latency_us : p->slice_batch_us);
		if (lat)
			sim->wait_us[c] += p->wake_us;
	}
	sim->batch_work = 0;
	{
		struct sched_cpuset spill;
		double unmet = 0, spare = 0;

		for (c = 0; c < h->ncpus; c++) {
			double room = 1 - (sim->busy[c] - sim->bwant[c]);

			room = room < 0 ? 0 : room;
			sim->batch_work += sim->bwant[c] < room ? sim->bwant[c] : room;
			unmet += sim->bwant[c] > room ? sim->bwant[c] - room : 0;
		}
		/*
		 * batch_spill: batch work the batch CPUs cannot give runs, at
		 * the idle policy, in the time the latency CPUs leave idle; it
		 * waits for no latency vCPU, so it adds nothing to their wait.
		 */
		sched_spill_cpus(sim->sched, &spill);
		for (c = 0; c < h->ncpus; c++)
			if (sched_cpuset_has(&spill, c) && sim->busy[c] < 1)
				spare += 1 - sim->busy[c];
		sim->batch_work += unmet < spare ? unmet : spare;
	}
	for (i = 0; i < sim->n; i++) {
		struct sched_guest *g = &sim->g[i];
		const struct model *m = &sim->m[i];
		double wait, sib = 0, q;
		uint32_t *row;

		/*
		 * What the daemon would measure: the true use with some noise
		 * (under fair_share, its share of a CPU asked for too much, and
		 * the rest as its wait).
		 */
		c = (unsigned)g->cpu[0];
		g->cpu_use = m->use;
		g->cpu_wait = 0;
		if (p->fair_share && sim->busy[c] > 1) {
			g->cpu_use = m->use / sim->busy[c];
			g->cpu_wait = m->use - g->cpu_use;
		}
		g->cpu_use *= 1 + p->use_noise * (2 * unit(&sim->rng) - 1);
		if (m->lat == NO_LAT)
			continue;
		for (k = c % cores; k < h->ncpus; k += cores)
			if (k != c)
				sib += sim->busy[k];
		sib = sib > 1 ? 1 : sib;
		q = 1.0 / (1.0 - (sim->queue[c] < 0.9 ? sim->queue[c] : 0.9));
		wait = (sim->wait_us[c] -
		        m->use *
		            (m->bound ? batch_scale(g) * p->slice_batch_us : p->slice_latency_us) -
		        (m->bound ? 0 : p->wake_us)) *
		       q;
		if (wait < 0)
			wait = 0;
		row = sim->ring +
		      ((size_t)m->lat * LONG_PERIODS + (sim->period - 1) % LONG_PERIODS) * per;
		for (k = 0; k < per; k++) {
			double x = (expo(&sim->rng) + expo(&sim->rng)) / 2;
			double rtt = (p->base_us + wait * x) * (1 + p->smt_slowdown * sib) +
			             p->jitter_us * expo(&sim->rng);

			row[k] = rtt > 4e9 ? 4000000000u : (uint32_t)rtt;
		}
		window(sim, m, SHORT_PERIODS, &g->win_short);
		window(sim, m, LONG_PERIODS, &g->win_long);
	}
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Apply the plan as the daemon would, and count what it did. */
static void apply(struct sim *sim, struct sim_report *r)
{
	size_t k;
	unsigned d;

	for (k = 0; k < sim->plan.nmoves; k++) {
		const struct sched_move *mv = &sim->plan.moves[k];
		struct sched_guest *g = mv->guest != SCHED_NO_GUEST ? &sim->g[mv->guest] : NULL;
		struct model *m = g ? &sim->m[mv->guest] : NULL;

		switch (mv->kind) {
		case SCHED_MOVE_PIN:
			r->pins++;
			if (sched_cpuset_count(&g->pin))
				r->pinned_moved++;
			for (d = 0; d < DEPARTURES; d++)
				if (m->dep_cpu[d] == mv->to_cpu &&
				    sim->period - m->dep_at[d] <= sim->p.osc_periods)
					r->oscillations++;
			memmove(m->dep_cpu + 1, m->dep_cpu, (DEPARTURES - 1) * sizeof(*m->dep_cpu));
			memmove(m->dep_at + 1, m->dep_at, (DEPARTURES - 1) * sizeof(*m->dep_at));
			m->dep_cpu[0] = (int16_t)mv->from_cpu;
			m->dep_at[0] = sim->period;
			g->cpu[mv->vcpu] = (int16_t)mv->to_cpu;
			break;
		case SCHED_MOVE_WEIGHT:
			r->weights++;
			g->weight = mv->weight;
			break;
		case SCHED_MOVE_POLICY:
			r->policies++;
			g->policy = mv->policy;
			break;
		case SCHED_MOVE_CPU_ROLE:
			r->roles++;
			break;
		case SCHED_MOVE_CLASS:
			r->classes++;
			break;
		}
	}
}

int sim_step(struct sim *sim, struct sim_report *r)
{
	uint64_t t0, c0;
	unsigned d;
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	sched_plan_free(&sim->plan);
	sim->period++;
	for (d = 0; d < sim->p.ndisturb; d++)
		if (sim->p.disturb[d].at == sim->period)
			disturb(sim, &sim->p.disturb[d]);
	probe(sim);
	for (i = 0; i < sim->n; i++) {
		const struct sched_guest *g = &sim->g[i];
		struct sched_window w;

		if (sim->m[i].lat == NO_LAT ||
		    sched_effective_class(sim->sched, g->id, g->name) == SCHED_CLASS_BATCH)
			continue;
		if (g->win_short.p99_us > g->slo_us)
			r->over_slo++;
		window(sim, &sim->m[i], RECENT, &w);
		if (w.p99_us > g->slo_us)
			r->over_slo_2s++;
	}
	sim->snap.guests = sim->g;
	sim->snap.nguests = sim->n;
	sim->snap.now_ns = (uint64_t)sim->period * 1000000000ull;
	/* As the daemon measures it: exactly (the noise is the guests'). */
	rc = sched_set_other_use(sim->sched, sim->p.other_untold ? NULL : sim->other,
	                         sim->p.other_untold ? 0 : sim->host.ncpus);
	if (rc)
		return rc;
	t0 = mono_ns();
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	rc = sched_plan(sim->sched, &sim->snap, &sim->plan);
	r->plan_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	r->plan_ns = mono_ns() - t0;
	r->period = sim->period;
	r->batch_work = sim->batch_work;
	if (rc)
		return rc;
	r->violating = sim->plan.stats.violating;
	r->moves = sim->plan.nmoves;
	r->latency_cpus = sim->plan.stats.latency_cpus;
	r->batch_cpus = sim->plan.stats.batch_cpus;
	apply(sim, r);
	return 0;
}

int sim_run(struct sim *sim, unsigned n, struct sim_report *r)
{
	unsigned i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = sim_step(sim, &r[i]);
		if (rc)
			return rc;
	}
	return 0;
}

unsigned sim_settled_at(const struct sim_report *r, unsigned n, unsigned from, size_t tolerance)
{
	unsigned i, last_bad = 0;

	for (i = 0; i < n; i++)
		if (r[i].period >= from && r[i].over_slo > tolerance)
			last_bad = r[i].period;
	if (n && last_bad == r[n - 1].period)
		return 0;
	return last_bad ? last_bad + 1 : from;
}

struct sched *sim_sched(struct sim *sim)
{
	return sim->sched;
}

const struct sched_snapshot *sim_snapshot(const struct sim *sim)
{
	return &sim->snap;
}

const struct sched_plan *sim_plan(const struct sim *sim)
{
	return &sim->plan;
}

struct sched_guest *sim_guests(struct sim *sim, size_t *n)
{
	*n = sim->n;
	return sim->g;
}

void sim_set_use(struct sim *sim, size_t guest, double use)
{
	if (guest < sim->n)
		sim->m[guest].use = use;
}

size_t sim_tolerance(const struct sim *sim)
{
	return sim->nlat / 1000;
}

size_t sim_refused(const struct sim *sim)
{
	return sim->refused;
}
