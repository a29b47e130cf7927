/*
 * Placement in the daemon: the host's topology read from sysfs (or
 * from the hypervisor, when the backend has host_topology), the
 * scheduler library's admission at deploy and start, and its control
 * loop every placement period: measure each guest's CPU use and latency
 * windows, ask for a plan, apply its moves through the backend, and log
 * each move with its reason (event log, /v1/placement, /metrics).
 *
 * With placement off (--placement=off) guests are not pinned and the
 * loop does not run: the host's scheduler puts vCPUs where it likes, the
 * naive default to measure against.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "metrics/metrics.h"
#include "scheduler/scheduler.h"

#define MOVE_LOG 256 /* moves kept for /v1/placement */

struct move_rec {
	uint64_t wall_ns;
	uint32_t period;
	int applied;
	struct sched_move m; /* its guest index means nothing once the plan is gone */
};

struct placement {
	struct sched *s;
	struct sched_host host;
	struct sched_config cfg;
	cpu_set_t dom0;
	struct sched_guest *snap;  /* the snapshot, rebuilt each time */
	struct guest **snap_guest; /* its entries' guests */
	size_t snap_cap;
	struct move_rec log[MOVE_LOG];
	unsigned log_len, log_head;
	uint64_t moves[SCHED_MOVE_KINDS];
	uint64_t move_failures, periods, plan_errors;
	uint64_t last_plan_us;
	struct sched_plan_stats last;
	cpu_set_t self;                   /* where shoald itself runs */
	uint64_t self_cpu_ns, self_at_ns; /* its CPU time at self_at_ns, for its use */
	double self_use;                  /* CPUs it used over the last period */
	/*
	 * Work on each CPU that is no guest's and not shoald's (measure_other()):
	 * /proc/stat's busy ticks at other_at_ns, read into stat_now each period.
	 */
	unsigned long long *stat_busy, *stat_now;
	uint64_t other_at_ns;
	double *other_use; /* per CPU, as the policy was last told */
	int other_blind;   /* /proc/stat could not be read (said once) */
	int hv_cpus;       /* CPU numbers are the hypervisor's (host_topology), not shoald's own */
	int roles_sent;    /* the backend has roles_latency/roles_batch */
	cpu_set_t roles_latency, roles_batch;
	char roles_why[256]; /* why they were not all applied at the last try (said once) */
};

/* ---- CPU lists ---- */

int cpulist_parse(const char *s, cpu_set_t *out, char *err, size_t errlen)
{
	const char *p = s;

	CPU_ZERO(out);
	while (*p == ' ')
		p++;
	if (!*p || !strcmp(p, "none"))
		return 0;
	while (*p) {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*p))
			goto bad;
		lo = hi = strtoul(p, &end, 10);
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				goto bad;
			hi = strtoul(end + 1, &end, 10);
		}
		if (lo > hi || hi >= CPU_SETSIZE) {
			snprintf(err, errlen,
			         "CPU list \"%.100s\": %lu-%lu is not a range of CPUs below %d", s,
			         lo, hi, CPU_SETSIZE);
			return -1;
		}
		for (; lo <= hi; lo++)
			CPU_SET(lo, out);
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "CPU list \"%.100s\" is not like 0,2-3 (at \"%.20s\")", s, p);
	return -1;
}

static void place_self(struct shoald *d);
static void tell_prober(struct shoald *d);
/* Control periods in `seconds` (at least one). */
static unsigned periods_of(const struct shoald *d, double seconds)
{
	double n = ceil(seconds * 1000.0 / d->cfg.placement_period_ms);

	return n < 1 ? 1 : (unsigned)n;
}

static void sync_roles(struct shoald *d);
static void allowed_cpus(const struct shoald *d, const struct guest *g, cpu_set_t *set);
static int spills(const struct shoald *d, const struct guest *g);
static void hasten_cpu(struct shoald *d, int cpu, const struct guest *except, const char *why);

/* ---- the host, from sysfs ---- */

static int read_uint(const char *path, unsigned long *v)
{
	FILE *f = fopen(path, "re");
	int ok = f && fscanf(f, "%lu", v) == 1;

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ok = f && fgets(buf, (int)len, f);

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok ? 0 : -1;
}

/*
 * CPUs with their core (physical package and core id, so that SMT
 * siblings share one) and NUMA node; memory per node.  A host without
 * the files is one node of independent CPUs.
 */
static void read_topology(struct shoald *d, struct sched_host *h)
{
	unsigned long pkg_core[SCHED_CPUS_MAX];
	unsigned ncpus = d->host_cpus < SCHED_CPUS_MAX ? d->host_cpus : SCHED_CPUS_MAX, i, j, n,
	         ncores = 0;
	char path[128], line[4096], err[160];

	sched_host_init(h, ncpus, d->host_mem_mib);
	for (i = 0; i < ncpus; i++) {
		unsigned long core = i, pkg = 0;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/topology/core_id", i);
		read_uint(path, &core);
		snprintf(path, sizeof(path),
		         "/sys/devices/system/cpu/cpu%u/topology/physical_package_id", i);
		read_uint(path, &pkg);
		pkg_core[i] = pkg << 20 | (core & 0xfffff);
		for (j = 0; j < i && pkg_core[j] != pkg_core[i]; j++)
			;
		h->cpu[i].core = j < i ? h->cpu[j].core : ncores++;
	}
	for (n = 0; n < SCHED_NODES_MAX; n++) {
		cpu_set_t set;
		unsigned long long kib = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist", n);
		if (read_line(path, line, sizeof(line)) < 0 ||
		    cpulist_parse(line, &set, err, sizeof(err)) < 0)
			break;
		for (i = 0; i < ncpus; i++)
			if (CPU_ISSET(i, &set))
				h->cpu[i].node = n;
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo", n);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Node %*u MemTotal: %llu kB", &kib) == 1)
				break;
		if (f)
			fclose(f);
		h->node_memory_mib[n] = kib ? kib >> 10 : 0;
	}
	if (n > 1) {
		h->nnodes = n;
		for (i = 0; i < n; i++)
			h->node_memory_mib[i] =
			    h->node_memory_mib[i] ? h->node_memory_mib[i] : d->host_mem_mib / n;
	} else {
		h->nnodes = 1;
		h->node_memory_mib[0] = d->host_mem_mib;
		for (i = 0; i < ncpus; i++)
			h->cpu[i].node = 0;
	}
	/* The host's memory reserve, spread over the nodes as their memory is. */
	for (i = 0; i < h->nnodes; i++)
		h->dom0_memory_mib[i] =
		    d->host_mem_mib
		        ? (uint64_t)d->cfg.reserve_mib * h->node_memory_mib[i] / d->host_mem_mib
		        : 0;
}

int placement_init(struct shoald *d, char *err, size_t errlen)
{
	struct placement *pl = calloc(1, sizeof(*pl));
	unsigned i, guest_cpus = 0;
	char why[320];

	if (!pl) {
		snprintf(err, errlen, "placement: out of memory");
		return -1;
	}
	if (cpulist_parse(d->cfg.reserve_cpus, &pl->dom0, err, errlen) < 0)
		goto fail;
	if (d->be_ops->host_topology) {
		/*
		 * The hypervisor's physical CPUs and memory: guests' vCPUs and
		 * memory come from those, not from Dom0's.  reserve-cpus then
		 * names physical CPUs kept for Dom0, and the memory kept is what
		 * Dom0 holds now plus reserve-mib.
		 */
		uint64_t total = 0;

		if (d->be_ops->host_topology(d->be, &pl->host, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "placement: the host's topology from %s: %s",
			         d->be_ops->name, why);
			goto fail;
		}
		for (i = 0; i < pl->host.nnodes; i++)
			total += pl->host.node_memory_mib[i];
		for (i = 0; i < pl->host.nnodes; i++)
			pl->host.dom0_memory_mib[i] +=
			    total
			        ? (uint64_t)d->cfg.reserve_mib * pl->host.node_memory_mib[i] / total
			        : 0;
		d->host_cpus = pl->host.ncpus;
		d->host_mem_mib = total;
		pl->hv_cpus = 1;
	} else {
		read_topology(d, &pl->host);
	}
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &pl->dom0))
			continue;
		if (i >= pl->host.ncpus) {
			snprintf(err, errlen, "reserve-cpus: this host has no CPU %u (it has 0-%u)",
			         i, pl->host.ncpus - 1);
			goto fail;
		}
		pl->host.cpu[i].dom0 = 1;
	}
	for (i = 0; i < pl->host.ncpus; i++)
		guest_cpus += !pl->host.cpu[i].dom0;
	if (!guest_cpus) {
		snprintf(err, errlen,
		         "reserve-cpus keeps every CPU for the host: guests would have none");
		goto fail;
	}
	sched_config_default(&pl->cfg);
	pl->cfg.guests_max = d->cfg.max_guests + 1;
	pl->cfg.vcpus_max = pl->cfg.guests_max;
	pl->cfg.moves_max = d->cfg.placement_moves_max;
	pl->cfg.latency_vcpus_per_cpu = d->cfg.latency_vcpus_per_cpu;
	pl->cfg.batch_vcpus_per_cpu = d->cfg.batch_vcpus_per_cpu;
	pl->cfg.latency_share = d->cfg.latency_cores_percent / 100.;
	/* A host with one core for guests shares it; the split needs two. */
	pl->cfg.batch_cores_min = guest_cpus < 2 ? 0 : d->cfg.batch_cores_min;
	pl->cfg.batch_spill = d->cfg.batch_spill && d->be_ops->batch_spill;
	/*
	 * The library counts in periods; its defaults are for a period of
	 * about a second.  Acting (enter_periods) scales with the period;
	 * what must last a while is kept in seconds.
	 */
	pl->cfg.demote_periods = periods_of(d, 1.0);
	if (pl->cfg.demote_periods < 2)
		pl->cfg.demote_periods = 2;
	pl->cfg.cooldown_periods = periods_of(d, d->cfg.placement_window_s + 1.0);
	pl->cfg.restore_periods = periods_of(d, 10.0);
	pl->cfg.return_periods = periods_of(d, 60.0);
	pl->cfg.give_periods = periods_of(d, 5.0);
	pl->cfg.split_hold_periods = periods_of(d, 60.0);
	if (sched_create(&pl->host, &pl->cfg, &pl->s, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "placement: %s", why);
		goto fail;
	}
	pl->snap_cap = pl->cfg.guests_max;
	pl->snap = calloc(pl->snap_cap, sizeof(*pl->snap));
	pl->snap_guest = calloc(pl->snap_cap, sizeof(*pl->snap_guest));
	pl->stat_busy = calloc(pl->host.ncpus, sizeof(*pl->stat_busy));
	pl->stat_now = calloc(pl->host.ncpus, sizeof(*pl->stat_now));
	pl->other_use = calloc(pl->host.ncpus, sizeof(*pl->other_use));
	if (!pl->snap || !pl->snap_guest || !pl->stat_busy || !pl->stat_now || !pl->other_use) {
		snprintf(err, errlen, "placement: out of memory");
		goto fail;
	}
	d->pl = pl;
	place_self(d);
	sync_roles(d);
	if (pl->hv_cpus)
		log_info("shoald does not pin itself: CPU numbers are %s's physical CPUs, shoald's "
		         "own are Dom0's vCPUs",
		         d->be_ops->name);
	log_info("placement %s: %u CPUs (%u for guests) on %u node%s; %s",
	         d->cfg.placement ? "on" : "off", pl->host.ncpus, guest_cpus, pl->host.nnodes,
	         pl->host.nnodes > 1 ? "s" : "",
	         d->be_ops->placement_mechanism ? d->be_ops->placement_mechanism(d->be) : "");
	return 0;
fail:
	if (pl)
		sched_destroy(pl->s);
	if (pl) {
		free(pl->snap);
		free(pl->snap_guest);
		free(pl->stat_busy);
		free(pl->stat_now);
		free(pl->other_use);
	}
	free(pl);
	return -1;
}

void placement_fini(struct shoald *d)
{
	struct placement *pl = d->pl;

	if (!pl)
		return;
	sched_destroy(pl->s);
	free(pl->snap);
	free(pl->snap_guest);
	free(pl->stat_busy);
	free(pl->stat_now);
	free(pl->other_use);
	free(pl);
	d->pl = NULL;
}

/*
 * shoald is the prober: it runs on the host's CPUs (reserve-cpus), or
 * without those on the latency CPUs, never beside batch guests, whose
 * CPU-bound vCPUs would delay its wake-ups and so every probe.
 */
static void place_self(struct shoald *d)
{
	struct placement *pl = d->pl;
	cpu_set_t want;
	unsigned c;

	if (!d->cfg.placement && !CPU_COUNT(&pl->dom0))
		return;
	/*
	 * With the hypervisor's CPU numbers (physical CPUs) shoald's own are
	 * Dom0's vCPUs: pinning to them would mean nothing.  Keeping Dom0 off
	 * the batch CPUs is then the backend's (cpu_roles).
	 */
	if (pl->hv_cpus) {
		tell_prober(d);
		return;
	}
	want = pl->dom0;
	if (!CPU_COUNT(&want))
		for (c = 0; c < pl->host.ncpus; c++)
			if (sched_cpu_role(pl->s, c) == SCHED_ROLE_LATENCY)
				CPU_SET(c, &want);
	if (!CPU_COUNT(&want) || CPU_EQUAL(&want, &pl->self))
		return;
	if (sched_setaffinity(0, sizeof(want), &want) < 0) {
		log_warn("cannot move shoald onto its CPUs");
		return;
	}
	pl->self = want;
	tell_prober(d);
	log_info("shoald runs on %s CPUs (%d of them)",
	         CPU_COUNT(&pl->dom0) ? "the host's reserved" : "the latency", CPU_COUNT(&want));
}

/*
 * Tell the policy where the prober runs and what it uses, so that it
 * keeps batch vCPUs off those CPUs and their SMT siblings: shoald's own
 * CPUs, or on a hypervisor's CPU numbers Dom0's reserved ones (Dom0
 * probes from there), or none known.
 */
static void tell_prober(struct shoald *d)
{
	struct placement *pl = d->pl;
	const cpu_set_t *from = pl->hv_cpus ? &pl->dom0 : &pl->self;
	struct sched_cpuset set;
	unsigned c, n = 0;
	double use;

	sched_cpuset_zero(&set);
	for (c = 0; c < pl->host.ncpus && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, from)) {
			sched_cpuset_add(&set, c);
			n++;
		}
	use = pl->hv_cpus ? 0 : pl->self_use < n ? pl->self_use : n;
	if (sched_set_prober(pl->s, &set, use) < 0)
		log_warnx("placement: the prober's CPUs were not taken");
}

/* shoald's own CPU use since the last period, for tell_prober(). */
static void measure_self(struct placement *pl, uint64_t now)
{
	struct rusage ru;
	uint64_t ns;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	     (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
	if (pl->self_at_ns && now > pl->self_at_ns && ns >= pl->self_cpu_ns)
		pl->self_use = (double)(ns - pl->self_cpu_ns) / (double)(now - pl->self_at_ns);
	pl->self_cpu_ns = ns;
	pl->self_at_ns = now;
}

/*
 * Tell the backend the split (cpu_roles) when it changed, and put the
 * running guests on CPUs that changed role where they belong again (on
 * Xen a domain follows its CPU into the CPU's new cpupool).
 */
static void sync_roles(struct shoald *d)
{
	struct placement *pl = d->pl;
	cpu_set_t lat, bat, changed;
	struct guest *g;
	char why[256];
	unsigned c;
	int spill_moved;

	if (!d->cfg.placement || (!d->be_ops->cpu_roles && !pl->cfg.batch_spill))
		return;
	CPU_ZERO(&lat);
	CPU_ZERO(&bat);
	for (c = 0; c < pl->host.ncpus && c < CPU_SETSIZE; c++) {
		enum sched_role r = sched_cpu_role(pl->s, c);

		if (r == SCHED_ROLE_LATENCY)
			CPU_SET(c, &lat);
		else if (r == SCHED_ROLE_BATCH)
			CPU_SET(c, &bat);
	}
	if (pl->roles_sent && CPU_EQUAL(&lat, &pl->roles_latency) &&
	    CPU_EQUAL(&bat, &pl->roles_batch))
		return;
	why[0] = '\0';
	if (d->be_ops->cpu_roles && d->be_ops->cpu_roles(d->be, &lat, &bat, why, sizeof(why)) < 0) {
		if (strcmp(why, pl->roles_why))
			log_warnx("placement: the CPU roles are not all applied yet: %s", why);
		snprintf(pl->roles_why, sizeof(pl->roles_why), "%s", why);
		pl->roles_sent = 0; /* again at the next period */
		return;
	}
	if (pl->roles_why[0])
		log_info("placement: the CPU roles are applied");
	pl->roles_why[0] = '\0';
	CPU_XOR(&changed, &bat, &pl->roles_batch); /* roles_batch: the last split applied whole */
	spill_moved = pl->cfg.batch_spill && !CPU_EQUAL(&lat, &pl->roles_latency);
	pl->roles_sent = 1;
	pl->roles_latency = lat;
	pl->roles_batch = bat;
	for (g = d->guests; g; g = g->next) {
		cpu_set_t set;

		if (!guest_state_live(g->state) || !g->place.placed || g->place.cpu < 0 ||
		    !(CPU_ISSET(g->place.cpu, &changed) || (spill_moved && spills(d, g))))
			continue;
		allowed_cpus(d, g, &set);
		if (d->be_ops->set_affinity(d->be, g, &set, why, sizeof(why)) < 0)
			log_warnx("guest %s: cannot keep its vCPU on CPU %d after the CPU's role "
			          "changed: %s",
			          g->name, g->place.cpu, why);
	}
}

/* ---- snapshots ---- */

static int state_holds_cpu(const struct guest *g)
{
	return g->place.placed &&
	       (g->desired_running ||
	        !(g->state == GS_STOPPED || g->state == GS_EXITED || g->state == GS_FAILED));
}

static uint32_t sat_us(uint64_t ns)
{
	return ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
}

/* The spec's part of a guest's entry (what admission reads). */
static void fill_spec(struct sched_guest *sg, const char *name, const struct guest_spec *spec)
{
	unsigned i;

	memset(sg, 0, sizeof(*sg));
	snprintf(sg->name, sizeof(sg->name), "%s", name);
	sg->cls = spec->latency_class == CLASS_BATCH ? SCHED_CLASS_BATCH : SCHED_CLASS_LATENCY;
	sg->vcpus = spec->vcpus ? spec->vcpus : 1;
	sg->memory_mib = spec->memory_mib;
	sg->slo_us = spec->slo_us ? spec->slo_us : 1;
	sg->node = -1;
	sg->cpu_use = -1;
	sched_cpuset_zero(&sg->pin);
	for (i = 0; i < spec->ncpus; i++)
		sched_cpuset_add(&sg->pin, (unsigned)spec->cpus[i]);
	for (i = 0; i < SCHED_VCPUS_MAX; i++)
		sg->cpu[i] = -1;
}

/* The window placement judges a guest's p99 over (placement-window-s), in ns. */
static uint64_t judge_window_ns(const struct shoald *d)
{
	uint64_t w = (uint64_t)d->cfg.placement_window_s * 1000000000ull;

	return w < METRICS_WINDOW_LONG_NS ? w : METRICS_WINDOW_LONG_NS / 2;
}

/* A guest's entry; with its latency windows when `windows` (the plan's, not admission's). */
static void fill_live(struct sched_guest *sg, const struct guest *g, uint64_t now, int windows)
{
	const uint64_t win[2] = { judge_window_ns(g->d), METRICS_WINDOW_LONG_NS };
	struct metrics_window w[2];

	fill_spec(sg, g->name, &g->spec);
	sg->node = g->place.node;
	sg->cpu[0] = (int16_t)g->place.cpu;
	sg->cpu_use = guest_state_live(g->state) ? g->place.cpu_use : -1;
	sg->cpu_wait = sg->cpu_use >= 0 ? g->place.cpu_wait : -1;
	sg->weight = g->place.weight;
	sg->policy = g->place.idle ? SCHED_POLICY_IDLE : SCHED_POLICY_NORMAL;
	if (windows && g->probe.lat && metrics_guest_windows(g->probe.lat, now, 2, win, w) == 0) {
		sg->win_short =
		    (struct sched_window){ sat_us(w[0].p50_ns), sat_us(w[0].p99_ns),
			                   (uint32_t)w[0].samples, (uint32_t)w[0].misses };
		sg->win_long =
		    (struct sched_window){ sat_us(w[1].p50_ns), sat_us(w[1].p99_ns),
			                   (uint32_t)w[1].samples, (uint32_t)w[1].misses };
	}
}

/*
 * Every guest that holds a CPU, but `except`.  Admission reads no
 * latency: computing every guest's windows for each deploy made a
 * deploy's cost grow with the guests running (10 ms at 1,000).
 */
static size_t build_snapshot(struct shoald *d, const char *except, uint64_t now, int windows)
{
	struct placement *pl = d->pl;
	struct guest *g;
	size_t n = 0;

	for (g = d->guests; g && n < pl->snap_cap; g = g->next) {
		if (!state_holds_cpu(g) || (except && !strcmp(g->name, except)))
			continue;
		fill_live(&pl->snap[n], g, now, windows);
		pl->snap_guest[n++] = g;
	}
	return n;
}

/*
 * Each CPU's busy time from /proc/stat, in clock ticks: user, nice,
 * system, irq, softirq and steal (a guest's time is in user and nice
 * already; steal is time the hypervisor gave to others, which delays our
 * guests as surely).  0, or -1 when it cannot be read.
 */
static int read_stat_busy(unsigned ncpus, unsigned long long *busy)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[512];
	unsigned seen = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8];
		unsigned c;

		if (strncmp(line, "cpu", 3) || !isdigit((unsigned char)line[3]))
			continue;
		if (sscanf(line + 3, "%u %llu %llu %llu %llu %llu %llu %llu %llu", &c, &v[0], &v[1],
		           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
		    c >= ncpus)
			continue;
		busy[c] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		seen++;
	}
	fclose(f);
	return seen ? 0 : -1;
}

/*
 * The work on each CPU over the last period that is neither a guest's
 * (the snapshot's cpu_use, on the CPUs its vCPUs are on) nor shoald's
 * own (its use, shared over the CPUs it runs on), for the policy to
 * count in the CPU's load (sched_set_other_use()): another process of
 * the host's beside the latency guests crowds their CPU as a batch
 * guest would, and neither their use nor their run delay shows it.
 * Only where CPU numbers are shoald's own (not a hypervisor's: Dom0's
 * /proc/stat is about Dom0's vCPUs).  While a batch guest spills onto
 * the latency CPUs at the idle policy, its time there cannot be told
 * from other work, so those CPUs are taken to have none.
 */
static void measure_other(struct shoald *d, uint64_t now, size_t n)
{
	struct placement *pl = d->pl;
	unsigned nc = pl->host.ncpus, c, nself = 0, v;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long *t;
	int spilling = 0;
	size_t i;

	if (pl->hv_cpus || hz <= 0 || read_stat_busy(nc, pl->stat_now) < 0) {
		if (!pl->hv_cpus && !pl->other_blind)
			log_warn(
			    "placement: cannot read /proc/stat: work that is no guest's is not "
			    "counted in the CPUs' load");
		pl->other_blind = !pl->hv_cpus;
		memset(pl->other_use, 0, nc * sizeof(*pl->other_use));
		sched_set_other_use(pl->s, NULL, 0);
		return;
	}
	if (pl->other_at_ns && now > pl->other_at_ns) {
		double span = (double)(now - pl->other_at_ns) / 1e9;

		for (c = 0; c < nc; c++)
			pl->other_use[c] =
			    pl->stat_now[c] >= pl->stat_busy[c]
			        ? (double)(pl->stat_now[c] - pl->stat_busy[c]) / (double)hz / span
			        : 0;
		for (i = 0; i < n; i++) {
			const struct sched_guest *g = &pl->snap[i];
			double per;

			spilling |= spills(d, pl->snap_guest[i]);
			if (g->cpu_use < 0)
				continue;
			per = (g->cpu_use < g->vcpus ? g->cpu_use : g->vcpus) / g->vcpus;
			for (v = 0; v < g->vcpus; v++)
				if (g->cpu[v] >= 0 && (unsigned)g->cpu[v] < nc)
					pl->other_use[g->cpu[v]] -= per;
		}
		for (c = 0; c < nc && c < CPU_SETSIZE; c++)
			nself += CPU_ISSET(c, &pl->self) != 0;
		for (c = 0; c < nc; c++) {
			double *o = &pl->other_use[c];

			if (nself && c < CPU_SETSIZE && CPU_ISSET(c, &pl->self))
				*o -= pl->self_use / nself;
			if (spilling && sched_cpu_role(pl->s, c) == SCHED_ROLE_LATENCY)
				*o = 0;
			*o = *o < 0 ? 0 : *o > 1 ? 1 : *o;
		}
		if (sched_set_other_use(pl->s, pl->other_use, nc) < 0)
			log_warnx("placement: the CPUs' other work was not taken");
	}
	t = pl->stat_busy;
	pl->stat_busy = pl->stat_now;
	pl->stat_now = t;
	pl->other_at_ns = now;
}

/* ---- admission ---- */

int placement_admit(struct shoald *d, const char *name, const struct guest_spec *spec,
                    struct guest_place *out, struct sd_err *err)
{
	struct placement *pl = d->pl;
	struct sched_snapshot snap;
	struct sched_admission adm;
	struct sched_guest req;
	unsigned i;

	memset(out, 0, sizeof(*out));
	out->cpu = out->node = -1;
	out->weight = 100;
	out->cpu_use = -1;
	for (i = 0; i < spec->ncpus; i++)
		if (CPU_ISSET(spec->cpus[i], &pl->dom0))
			return sd_err_set(
			    err, 409, "reserved_cpu", "cpus",
			    "CPU %d is kept for the host (reserve-cpus %s); no guest runs there",
			    spec->cpus[i], d->cfg.reserve_cpus);
	if (!d->cfg.placement)
		return 0;
	snap.now_ns = now_mono_ns();
	snap.nguests = build_snapshot(d, name, snap.now_ns, 0);
	snap.guests = pl->snap;
	fill_spec(&req, name, spec);
	if (sched_admit(pl->s, &snap, &req, &adm) < 0) {
		switch (adm.refusal) {
		case SCHED_REFUSE_MEMORY:
			return sd_err_set(err, 409, "memory_exhausted", "memory_mib",
			                  "guest %s does not fit: %s", name, adm.reason);
		case SCHED_REFUSE_OVERCOMMIT:
			return sd_err_set(err, 409, "cpu_overcommit", "latency_class",
			                  "guest %s does not fit: %s (%s)", name, adm.reason,
			                  req.cls == SCHED_CLASS_LATENCY ? "latency-vcpus-per-cpu"
			                                                 : "batch-vcpus-per-cpu");
		case SCHED_REFUSE_NO_SUCH_CPU:
			return sd_err_set(err, 400, "no_such_cpu", "cpus", "guest %s: %s", name,
			                  adm.reason);
		case SCHED_REFUSE_DOM0_CPU:
			return sd_err_set(err, 409, "reserved_cpu", "cpus", "guest %s: %s", name,
			                  adm.reason);
		case SCHED_REFUSE_BAD_GUEST:
			return sd_err_set(err, 400, "invalid_spec", "", "guest %s: %s", name,
			                  adm.reason);
		default:
			return sd_err_set(err, 500, "placement_failed", "",
			                  "placing guest %s failed: %s", name, adm.reason);
		}
	}
	out->placed = 1;
	out->cpu = adm.cpu[0];
	out->node = adm.node;
	out->idle = adm.policy == SCHED_POLICY_IDLE;
	log_debug("guest %s placed on CPU %d: %s", name, out->cpu, adm.reason);
	return 0;
}

void placement_release(struct guest *g)
{
	g->place.placed = 0;
	g->place.cpu_use = -1;
	g->place.cpu_wait = -1;
}

static void cpu_only(int cpu, cpu_set_t *set)
{
	CPU_ZERO(set);
	CPU_SET(cpu, set);
}

/*
 * Does the guest's vCPU also run on the latency CPUs at the idle policy
 * (batch-spill)?  A batch guest, or a latency guest treated as batch,
 * that the operator did not pin.
 */
static int spills(const struct shoald *d, const struct guest *g)
{
	int ec;

	if (!d->pl || !d->pl->cfg.batch_spill || g->spec.ncpus)
		return 0;
	ec = sched_effective_class(d->pl->s, 0, g->name);
	if (ec < 0)
		ec = g->spec.latency_class == CLASS_BATCH ? SCHED_CLASS_BATCH : SCHED_CLASS_LATENCY;
	return ec == SCHED_CLASS_BATCH;
}

/*
 * Where a guest's vCPU may run: its CPU when shoald places it (and the
 * latency CPUs too when it spills), else the CPUs the operator pinned it
 * to, else anywhere.
 */
static void allowed_cpus(const struct shoald *d, const struct guest *g, cpu_set_t *set)
{
	unsigned i;

	if (d->cfg.placement && g->place.cpu >= 0) {
		cpu_only(g->place.cpu, set);
		if (spills(d, g)) {
			struct sched_cpuset spill;

			sched_spill_cpus(d->pl->s, &spill);
			for (i = 0; i < d->pl->host.ncpus && i < CPU_SETSIZE; i++)
				if (sched_cpuset_has(&spill, i))
					CPU_SET(i, set);
		}
		return;
	}
	CPU_ZERO(set);
	for (i = 0; i < (g->spec.ncpus ? g->spec.ncpus : d->host_cpus); i++)
		CPU_SET(g->spec.ncpus ? (unsigned)g->spec.cpus[i] : i, set);
}

/*
 * The CPU a re-adopted guest's vCPU was placed on, from its affinity: its
 * one CPU, or for a batch guest at the idle policy that spilled, the one
 * CPU of its set that is not a latency CPU; -1 when neither fits.
 */
static int own_cpu(const struct shoald *d, const struct guest *g, const struct be_placement *now)
{
	const struct placement *pl = d->pl;
	cpu_set_t own = now->cpus;
	int c, found = -1;

	if (CPU_COUNT(&own) > 1 && now->batch && spills(d, g))
		for (c = 0; c < (int)pl->host.ncpus && c < CPU_SETSIZE; c++)
			if (sched_cpu_role(pl->s, (unsigned)c) == SCHED_ROLE_LATENCY)
				CPU_CLR(c, &own);
	if (CPU_COUNT(&own) != 1)
		return -1;
	for (c = 0; c < CPU_SETSIZE && found < 0; c++)
		if (CPU_ISSET(c, &own))
			found = c;
	return (unsigned)found < pl->host.ncpus && !pl->host.cpu[found].dom0 ? found : -1;
}

void placement_guest_running(struct guest *g, int adopted)
{
	struct shoald *d = g->d;
	struct be_placement now;
	cpu_set_t set;
	char why[256];

	g->place.cpu_use = -1;
	g->place.cpu_wait = -1;
	g->place.run_at_ns = 0;
	if (!d->cfg.placement) {
		/* shoald does not place; the operator's own pin still holds. */
		if (!g->spec.ncpus)
			return;
		allowed_cpus(d, g, &set);
		if (d->be_ops->set_affinity(d->be, g, &set, why, sizeof(why)) < 0)
			log_warnx("guest %s: cannot pin its vCPU to the CPUs asked for: %s",
			          g->name, why);
		return;
	}
	/*
	 * A re-adopted guest brings its placement: a vCPU pinned to one CPU
	 * stays there, with the weight and class policy it has; one that
	 * floats (it ran under placement off) is admitted now.
	 */
	if (adopted && d->be_ops->placement_get &&
	    d->be_ops->placement_get(d->be, g, &now, why, sizeof(why)) == 0) {
		int c = own_cpu(d, g, &now);

		g->place.weight = now.weight;
		g->place.idle = now.batch;
		if (c >= 0) {
			g->place.placed = 1;
			g->place.cpu = c;
			g->place.node = (int)d->pl->host.cpu[c].node;
			if (CPU_COUNT(&now.cpus) >
			    1) { /* a spilling one: onto today's latency CPUs */
				allowed_cpus(d, g, &set);
				if (d->be_ops->set_affinity(d->be, g, &set, why, sizeof(why)) < 0)
					log_warnx(
					    "guest %s: cannot put its vCPU back on CPU %d: %s",
					    g->name, c, why);
			}
			return;
		}
	}
	if (!g->place.placed) {
		struct guest_place p;
		struct sd_err err;

		if (placement_admit(d, g->name, &g->spec, &p, &err) < 0) {
			log_warnx("guest %s runs unplaced: %s", g->name, err.message);
			return;
		}
		p.weight = g->place.weight ? g->place.weight : 100;
		p.idle = p.idle || g->place.idle;
		g->place = p;
	}
	sync_roles(d); /* admission may have lent a core */
	allowed_cpus(d, g, &set);
	if (d->be_ops->set_affinity(d->be, g, &set, why, sizeof(why)) < 0)
		log_warnx("guest %s: cannot put its vCPU on CPU %d: %s", g->name, g->place.cpu,
		          why);
	if (g->place.weight != 100 &&
	    d->be_ops->set_weight(d->be, g, g->place.weight, why, sizeof(why)) < 0)
		log_warnx("guest %s: cannot set its weight %u: %s", g->name, g->place.weight, why);
	if (g->place.idle && d->be_ops->set_batch(d->be, g, 1, why, sizeof(why)) < 0)
		log_warnx("guest %s: cannot give it the idle class policy: %s", g->name, why);
	snprintf(why, sizeof(why), "guest %.64s was placed on its CPU", g->name);
	hasten_cpu(d, g->place.cpu, g, why); /* it has its own start */
}

/*
 * Something changed on cpu (why): its guests are probed at the full rate
 * for a while (probe.c), so that their windows show what it did.
 */
/*
 * Something changed on a CPU: its guests are probed at the full rate for
 * a while, at most HASTEN_CPU_MAX of them: those whose last round trip
 * came nearest their SLO, whom a change pushes over first.  The rest are
 * still probed at probe-hz-min, and a breach hastens a guest by itself;
 * a dense host (a thousand guests a CPU) would otherwise probe every
 * guest at the full rate for as long as deploys go on.
 */
#define HASTEN_CPU_MAX 32

static double nearness(const struct guest *g)
{
	return (double)g->probe.last_rtt_ns / ((double)(g->spec.slo_us ? g->spec.slo_us : 1) * 1e3);
}

static void hasten_cpu(struct shoald *d, int cpu, const struct guest *except, const char *why)
{
	struct guest *g, *pick[HASTEN_CPU_MAX];
	double near[HASTEN_CPU_MAX];
	unsigned n = 0, i, least = 0;

	if (cpu < 0)
		return;
	for (g = d->guests; g; g = g->next) {
		double k;

		if (g == except || g->place.cpu != cpu || !guest_state_live(g->state))
			continue;
		k = nearness(g);
		if (n < HASTEN_CPU_MAX) {
			pick[n] = g;
			near[n++] = k;
		} else if (k > near[least]) {
			pick[least] = g;
			near[least] = k;
		} else {
			continue;
		}
		for (i = 1, least = 0; i < n; i++)
			if (near[i] < near[least])
				least = i;
	}
	for (i = 0; i < n; i++)
		probe_hasten(pick[i], why);
}

/* ---- the control period ---- */

static void measure(struct shoald *d, uint64_t now)
{
	char why[256];
	struct guest *g;

	for (g = d->guests; g; g = g->next) {
		uint64_t ns, wait = UINT64_MAX;

		if (!guest_state_live(g->state) || !d->be_ops->cpu_time ||
		    d->be_ops->cpu_time(d->be, g, &ns, &wait, why, sizeof(why)) < 0) {
			g->place.cpu_use = g->place.cpu_wait = -1;
			g->place.run_at_ns = 0;
			continue;
		}
		if (g->place.run_at_ns && now > g->place.run_at_ns && ns >= g->place.run_ns) {
			double span = (double)(now - g->place.run_at_ns);

			g->place.cpu_use = (double)(ns - g->place.run_ns) / span;
			g->place.cpu_wait = wait != UINT64_MAX && g->place.wait_ns != UINT64_MAX &&
			                            wait >= g->place.wait_ns
			                        ? (double)(wait - g->place.wait_ns) / span
			                        : -1;
		}
		g->place.run_ns = ns;
		g->place.wait_ns = wait;
		g->place.run_at_ns = now;
	}
}

static void log_move(struct placement *pl, const struct sched_move *m, uint32_t period, int applied)
{
	struct move_rec *r = &pl->log[pl->log_head];

	pl->log_head = (pl->log_head + 1) % MOVE_LOG;
	if (pl->log_len < MOVE_LOG)
		pl->log_len++;
	r->wall_ns = now_wall_ns();
	r->period = period;
	r->applied = applied;
	r->m = *m;
	pl->moves[m->kind]++;
	pl->move_failures += !applied;
}

/* Carry out one move on guest g (NULL for a CPU's new role); 1 when done. */
static int apply_move(struct shoald *d, struct guest *g, const struct sched_move *m)
{
	cpu_set_t set;
	char why[256];
	int ok = 1;

	if (m->kind == SCHED_MOVE_CPU_ROLE || m->kind == SCHED_MOVE_CLASS || !g)
		return 1;
	switch (m->kind) {
	case SCHED_MOVE_PIN: {
		int was = g->place.cpu;

		g->place.cpu = m->to_cpu;
		allowed_cpus(d, g, &set);
		ok = !guest_state_live(g->state) ||
		     d->be_ops->set_affinity(d->be, g, &set, why, sizeof(why)) == 0;
		if (ok)
			g->place.node = (int)d->pl->host.cpu[m->to_cpu].node;
		else
			g->place.cpu = was;
		break;
	}
	case SCHED_MOVE_CLASS:
		/* Whether it spills onto the latency CPUs changed with its class. */
		if (d->pl->cfg.batch_spill && guest_state_live(g->state) && g->place.cpu >= 0) {
			allowed_cpus(d, g, &set);
			ok = d->be_ops->set_affinity(d->be, g, &set, why, sizeof(why)) == 0;
		}
		break;
	case SCHED_MOVE_WEIGHT:
		ok = !guest_state_live(g->state) ||
		     d->be_ops->set_weight(d->be, g, m->weight, why, sizeof(why)) == 0;
		if (ok)
			g->place.weight = m->weight;
		break;
	case SCHED_MOVE_POLICY:
		ok = !guest_state_live(g->state) ||
		     d->be_ops->set_batch(d->be, g, m->policy == SCHED_POLICY_IDLE, why,
		                          sizeof(why)) == 0;
		if (ok)
			g->place.idle = m->policy == SCHED_POLICY_IDLE;
		break;
	default:
		break;
	}
	if (!ok)
		log_warnx("guest %s: placement %s could not be applied: %s", g->name,
		          sched_move_kind_str(m->kind), why);
	return ok;
}

/* The guests a move touched are probed at the full rate for a while (what: the move). */
static void hasten_move(struct shoald *d, struct guest *g, const struct sched_move *m,
                        const char *what)
{
	char why[160];

	if (m->kind == SCHED_MOVE_CPU_ROLE) {
		snprintf(why, sizeof(why), "its CPU became a %s CPU", sched_role_str(m->role));
		hasten_cpu(d, m->from_cpu, NULL, why);
		return;
	}
	if (!g)
		return;
	snprintf(why, sizeof(why), "guest %.32s on its CPU: %.80s", g->name, what);
	if (m->kind == SCHED_MOVE_PIN) {
		hasten_cpu(d, m->from_cpu, NULL, why);
		hasten_cpu(d, m->to_cpu, NULL, why); /* g among them */
	} else {
		hasten_cpu(d, g->place.cpu, NULL, why);
	}
}

static void describe_move(const struct sched_move *m, char *buf, size_t len)
{
	switch (m->kind) {
	case SCHED_MOVE_PIN:
		snprintf(buf, len, "vCPU %u from CPU %d to CPU %d", m->vcpu, m->from_cpu,
		         m->to_cpu);
		break;
	case SCHED_MOVE_WEIGHT:
		snprintf(buf, len, "weight %u", m->weight);
		break;
	case SCHED_MOVE_POLICY:
		snprintf(buf, len, "class policy %s",
		         m->policy == SCHED_POLICY_IDLE ? "idle" : "normal");
		break;
	case SCHED_MOVE_CLASS:
		snprintf(buf, len, "treated as a %s guest", sched_class_str(m->cls));
		break;
	default:
		snprintf(buf, len, "CPU %d becomes a %s CPU", m->from_cpu, sched_role_str(m->role));
		break;
	}
}

void placement_period(struct shoald *d)
{
	struct placement *pl = d->pl;
	struct sched_snapshot snap;
	struct sched_plan plan;
	uint64_t now, t0;
	size_t i;

	if (!pl || !d->cfg.placement)
		return;
	now = now_mono_ns();
	measure(d, now);
	measure_self(pl, now);
	tell_prober(d);
	snap.now_ns = now;
	snap.nguests = build_snapshot(d, NULL, now, 1);
	snap.guests = pl->snap;
	measure_other(d, now, snap.nguests);
	t0 = now_mono_ns();
	if (sched_plan(pl->s, &snap, &plan) < 0) {
		pl->plan_errors++;
		log_warnx("placement: no plan this period: %s",
		          plan.error[0] ? plan.error : "out of memory");
		return;
	}
	pl->last_plan_us = (now_mono_ns() - t0) / 1000;
	pl->periods++;
	place_self(d); /* the split may have changed */
	sync_roles(d);
	pl->last = plan.stats;
	for (i = 0; i < plan.nmoves; i++) {
		const struct sched_move *m = &plan.moves[i];
		struct guest *g = m->guest < snap.nguests ? pl->snap_guest[m->guest] : NULL;
		char what[96];
		int ok = apply_move(d, g, m);

		log_move(pl, m, plan.stats.period, ok);
		describe_move(m, what, sizeof(what));
		if (ok)
			hasten_move(d, g, m, what);
		event_emit(d, "placement", m->kind == SCHED_MOVE_CPU_ROLE ? "" : m->guest_name,
		           "%s%s%s%s: %s", m->kind == SCHED_MOVE_CPU_ROLE ? "" : "guest ",
		           m->guest_name, m->kind == SCHED_MOVE_CPU_ROLE ? "" : " ", what,
		           m->reason);
		if (!ok)
			event_emit(d, "placement_failed", m->guest_name,
			           "guest %s: %s could not be applied", m->guest_name, what);
	}
	sync_roles(d); /* a part that had to wait for the moves */
	sched_plan_free(&plan);
}

/* ---- what the API and /metrics show ---- */

static json_t *cpus_json(struct shoald *d, const double *use, const unsigned *vcpus)
{
	struct placement *pl = d->pl;
	json_t *a = json_array();
	unsigned c;

	for (c = 0; c < pl->host.ncpus; c++) {
		json_t *names = json_array();
		struct guest *g;

		for (g = d->guests; g; g = g->next)
			if (state_holds_cpu(g) && g->place.cpu == (int)c)
				json_array_append_new(names, json_string(g->name));
		json_array_append_new(a, json_pack("{s:i, s:i, s:i, s:s, s:i, s:f, s:f, s:o}",
		                                   "cpu", (int)c, "node", (int)pl->host.cpu[c].node,
		                                   "core", (int)pl->host.cpu[c].core, "role",
		                                   sched_role_str(sched_cpu_role(pl->s, c)),
		                                   "vcpus", (int)vcpus[c], "use", use[c],
		                                   "other_use", pl->other_use[c], "guests", names));
	}
	return a;
}

static json_t *guest_place_json(struct shoald *d, struct guest *g)
{
	struct metrics_window w;
	json_t *pin = json_array(), *j;
	unsigned i;

	for (i = 0; i < g->spec.ncpus; i++)
		json_array_append_new(pin, json_integer(g->spec.cpus[i]));
	j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:I}", "name", g->name, "state",
	              guest_state_str(g->state), "class", latency_class_str(g->spec.latency_class),
	              "pinned", pin, "weight", (json_int_t)g->place.weight, "policy",
	              g->place.idle ? "idle" : "normal", "slo_us", (json_int_t)g->spec.slo_us);
	if (!j)
		return NULL;
	json_object_set_new(j, "cpu",
	                    state_holds_cpu(g) && g->place.cpu >= 0 ? json_integer(g->place.cpu)
	                                                            : json_null());
	json_object_set_new(j, "node",
	                    g->place.node >= 0 ? json_integer(g->place.node) : json_null());
	json_object_set_new(j, "cpu_use",
	                    g->place.cpu_use >= 0 ? json_real(g->place.cpu_use) : json_null());
	json_object_set_new(j, "cpu_wait",
	                    g->place.cpu_use >= 0 && g->place.cpu_wait >= 0
	                        ? json_real(g->place.cpu_wait)
	                        : json_null());
	{
		/* What placement treats it as: a latency guest that keeps a CPU busy is batch while
		 * it does. */
		int ec = d->pl && d->pl->s ? sched_effective_class(d->pl->s, 0, g->name) : -1;

		json_object_set_new(j, "effective_class",
		                    json_string(ec >= 0
		                                    ? sched_class_str((enum sched_class)ec)
		                                    : latency_class_str(g->spec.latency_class)));
	}
	if (g->probe.lat &&
	    metrics_guest_window(g->probe.lat, now_mono_ns(), judge_window_ns(d), &w) == 0 &&
	    w.samples) {
		json_object_set_new(j, "p99_us", json_real((double)w.p99_ns / 1e3));
		json_object_set_new(j, "over_slo", json_boolean(w.p99_ns / 1000 > g->spec.slo_us));
	}
	return j;
}

static json_t *moves_json(const struct placement *pl)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; i < pl->log_len; i++) {
		const struct move_rec *r =
		    &pl->log[(pl->log_head + MOVE_LOG - pl->log_len + i) % MOVE_LOG];
		const struct sched_move *mv = &r->m;
		time_t t = (time_t)(r->wall_ns / 1000000000u);
		char when[40];
		struct tm tm;
		json_t *m;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03uZ",
		         (unsigned)(r->wall_ns / 1000000u % 1000u));
		m = json_pack("{s:s, s:I, s:s, s:s, s:b, s:s}", "time", when, "period",
		              (json_int_t)r->period, "guest", mv->guest_name, "kind",
		              sched_move_kind_str(mv->kind), "applied", r->applied, "reason",
		              mv->reason);
		if (mv->kind == SCHED_MOVE_PIN) {
			json_object_set_new(m, "vcpu", json_integer(mv->vcpu));
			json_object_set_new(m, "from", json_integer(mv->from_cpu));
			json_object_set_new(m, "to", json_integer(mv->to_cpu));
		} else if (mv->kind == SCHED_MOVE_WEIGHT) {
			json_object_set_new(m, "weight", json_integer(mv->weight));
		} else if (mv->kind == SCHED_MOVE_POLICY) {
			json_object_set_new(
			    m, "policy",
			    json_string(mv->policy == SCHED_POLICY_IDLE ? "idle" : "normal"));
		} else if (mv->kind == SCHED_MOVE_CLASS) {
			json_object_set_new(m, "class", json_string(sched_class_str(mv->cls)));
		} else {
			json_object_set_new(m, "cpu", json_integer(mv->from_cpu));
			json_object_set_new(m, "role", json_string(sched_role_str(mv->role)));
		}
		json_array_append_new(a, m);
	}
	return a;
}

/* Each CPU's vCPUs and CPU use, from the guests that hold one. */
static void per_cpu(struct shoald *d, double *use, unsigned *vcpus)
{
	struct guest *g;

	memset(use, 0, sizeof(double) * d->pl->host.ncpus);
	memset(vcpus, 0, sizeof(unsigned) * d->pl->host.ncpus);
	for (g = d->guests; g; g = g->next) {
		if (!state_holds_cpu(g) || g->place.cpu < 0 ||
		    (unsigned)g->place.cpu >= d->pl->host.ncpus)
			continue;
		vcpus[g->place.cpu]++;
		if (g->place.cpu_use > 0)
			use[g->place.cpu] += g->place.cpu_use;
	}
}

json_t *placement_json(struct shoald *d)
{
	struct placement *pl = d->pl;
	double *use = calloc(pl->host.ncpus, sizeof(double));
	unsigned *vcpus = calloc(pl->host.ncpus, sizeof(unsigned));
	json_t *guests = json_array(), *j;
	struct guest *g;

	if (!use || !vcpus) {
		free(use);
		free(vcpus);
		return NULL;
	}
	per_cpu(d, use, vcpus);
	for (g = d->guests; g; g = g->next)
		json_array_append_new(guests, guest_place_json(d, g));
	j = json_pack(
	    "{s:b, s:s, s:I, s:I, s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
	    "s:o}",
	    "enabled", d->cfg.placement, "reserve_cpus", d->cfg.reserve_cpus, "period_ms",
	    (json_int_t)d->cfg.placement_period_ms, "periods", (json_int_t)pl->periods, "mechanism",
	    d->be_ops->placement_mechanism ? d->be_ops->placement_mechanism(d->be) : "", "cpus",
	    cpus_json(d, use, vcpus), "guests", guests, "last_period", "latency_guests",
	    (json_int_t)pl->last.latency_guests, "over_slo", (json_int_t)pl->last.over_slo,
	    "violating", (json_int_t)pl->last.violating, "cooling", (json_int_t)pl->last.cooling,
	    "unremedied", (json_int_t)pl->last.unremedied, "deferred",
	    (json_int_t)pl->last.deferred, "latency_cpus", (json_int_t)pl->last.latency_cpus,
	    "batch_cpus", (json_int_t)pl->last.batch_cpus, "plan_us", (json_int_t)pl->last_plan_us,
	    "moves", moves_json(pl));
	if (j) {
		json_t *lp = json_object_get(j, "last_period");

		json_object_set_new(lp, "demoted", json_integer((json_int_t)pl->last.demoted));
		json_object_set_new(lp, "batch_starved", json_boolean(pl->last.batch_starved));
		json_object_set_new(lp, "draining", json_integer((json_int_t)pl->last.draining));
		json_object_set_new(j, "window_s",
		                    json_integer((json_int_t)(judge_window_ns(d) / 1000000000ull)));
		json_object_set_new(j, "batch_spill", json_boolean(pl->cfg.batch_spill));
	}
	free(use);
	free(vcpus);
	return j;
}

void placement_metrics(struct shoald *d, struct metrics_buf *b)
{
	static const char mv[] = "shoal_placement_moves_total", role[] = "shoal_cpu_role",
	                  gc[] = "shoal_guest_cpu";
	struct placement *pl = d->pl;
	struct guest *g;
	unsigned k, c;

	metrics_prom_family(b, mv, METRICS_PROM_COUNTER, "placement moves made, by kind");
	for (k = 0; k < SCHED_MOVE_KINDS; k++) {
		struct metrics_label l = { "kind", sched_move_kind_str((enum sched_move_kind)k) };

		metrics_prom_counter(b, mv, &l, 1, pl->moves[k]);
	}
	metrics_prom_family(b, "shoal_placement_move_failures_total", METRICS_PROM_COUNTER,
	                    "placement moves the backend could not apply");
	metrics_prom_counter(b, "shoal_placement_move_failures_total", NULL, 0, pl->move_failures);
	metrics_prom_family(b, "shoal_placement_periods_total", METRICS_PROM_COUNTER,
	                    "placement control periods run");
	metrics_prom_counter(b, "shoal_placement_periods_total", NULL, 0, pl->periods);
	metrics_prom_family(
	    b, "shoal_placement_violating_guests", METRICS_PROM_GAUGE,
	    "latency guests over their SLO for long enough to act on, at the last period");
	metrics_prom_gauge(b, "shoal_placement_violating_guests", NULL, 0,
	                   (double)pl->last.violating);
	metrics_prom_family(
	    b, "shoal_placement_over_slo_guests", METRICS_PROM_GAUGE,
	    "latency guests whose p99 over the placement window was over their SLO at the last "
	    "period");
	metrics_prom_gauge(b, "shoal_placement_over_slo_guests", NULL, 0,
	                   (double)pl->last.over_slo);
	metrics_prom_family(b, "shoal_placement_demoted_guests", METRICS_PROM_GAUGE,
	                    "latency-class guests treated as batch for their CPU use, at the last "
	                    "period");
	metrics_prom_gauge(b, "shoal_placement_demoted_guests", NULL, 0, (double)pl->last.demoted);
	metrics_prom_family(b, "shoal_placement_batch_starved", METRICS_PROM_GAUGE,
	                    "1 when the batch CPUs could not carry the batch guests at the last "
	                    "period");
	metrics_prom_gauge(b, "shoal_placement_batch_starved", NULL, 0,
	                   pl->last.batch_starved ? 1 : 0);
	metrics_prom_family(b, "shoal_placement_draining_cpus", METRICS_PROM_GAUGE,
	                    "latency CPUs being emptied to go back to the batch set");
	metrics_prom_gauge(b, "shoal_placement_draining_cpus", NULL, 0, (double)pl->last.draining);
	metrics_prom_family(b, role, METRICS_PROM_GAUGE,
	                    "1 for each CPU's role: dom0, latency or batch");
	for (c = 0; c < pl->host.ncpus; c++) {
		char cpu[16];
		struct metrics_label l[2] = {
			{ "cpu", cpu }, { "role", sched_role_str(sched_cpu_role(pl->s, c)) }
		};

		snprintf(cpu, sizeof(cpu), "%u", c);
		metrics_prom_gauge(b, role, l, 2, 1);
	}
	metrics_prom_family(b, "shoal_cpu_other_use", METRICS_PROM_GAUGE,
	                    "work on a CPU over the last period that is neither a guest's nor "
	                    "shoald's, in CPUs, as placement counts it in the CPU's load");
	for (c = 0; c < pl->host.ncpus; c++) {
		char cpu[16];
		struct metrics_label l = { "cpu", cpu };

		snprintf(cpu, sizeof(cpu), "%u", c);
		metrics_prom_gauge(b, "shoal_cpu_other_use", &l, 1, pl->other_use[c]);
	}
	metrics_prom_family(b, gc, METRICS_PROM_GAUGE,
	                    "the CPU a guest's vCPU is placed on (-1: none)");
	for (g = d->guests; g; g = g->next) {
		struct metrics_label l = { "guest", g->name };

		metrics_prom_gauge(b, gc, &l, 1, state_holds_cpu(g) ? g->place.cpu : -1);
	}
}

/* ---- the operator's pin ---- */

int shoald_guest_pin(struct shoald *d, const char *name, const json_t *body, json_t **out,
                     struct sd_err *err)
{
	struct guest *g = guest_find(d, name);
	struct guest_place old, p;
	struct spec_limits lim;
	struct guest_spec ns;
	const char *key;
	json_t *j, *v;

	if (!g)
		return sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s",
		                  name);
	if (!json_is_object(body))
		return sd_err_set(err, 400, "invalid_body", "body",
		                  "the body must be a JSON object like {\"cpus\": [2]}");
	json_object_foreach((json_t *)body, key, v) if (strcmp(key, "cpus"))
	{
		char shown[48];

		sd_cut(shown, sizeof(shown), key, 40);
		return sd_err_set(err, 400, "unknown_field", shown,
		                  "unknown field \"%s\" (known: cpus)", shown);
	}
	if (!json_object_get(body, "cpus"))
		return sd_err_set(err, 400, "missing_field", "cpus",
		                  "cpus is missing: the CPUs to pin to, [] for none");
	/* The new spec goes through the spec's own checks. */
	j = spec_to_json(&g->spec);
	if (!j)
		return sd_err_set(err, 500, "internal", "", "out of memory");
	json_object_set(j, "cpus", json_object_get(body, "cpus"));
	spec_limits_of(d, &lim);
	if (spec_from_json(j, &lim, &ns, err) < 0) {
		json_decref(j);
		return -1;
	}
	old = g->place;
	p = old;
	/*
	 * A pin is admitted within the CPUs asked for.  An unpinned guest
	 * stays where it is: from now on the control loop may move it, and
	 * says why when it does.
	 */
	if ((state_holds_cpu(g) || g->desired_running) && (ns.ncpus || !old.placed)) {
		if (placement_admit(d, g->name, &ns, &p, err) < 0) {
			spec_free(&ns);
			json_decref(j);
			return -1;
		}
		p.weight = old.weight;
		p.idle = old.idle;
		p.run_ns = old.run_ns;
		p.run_at_ns = old.run_at_ns;
		p.wait_ns = old.wait_ns;
		p.cpu_use = old.cpu_use;
		p.cpu_wait = old.cpu_wait;
	}
	if (store_deploy_set_spec(d->store, g->deploy_id, j) < 0) {
		spec_free(&ns);
		json_decref(j);
		return sd_err_set(err, 500, "store_failed", "",
		                  "could not record the pin in the state store");
	}
	json_decref(j);
	spec_free(&g->spec);
	g->spec = ns;
	g->place = p;
	if (guest_state_live(g->state)) {
		cpu_set_t set;
		char why[256];

		allowed_cpus(d, g, &set);
		if (d->be_ops->set_affinity(d->be, g, &set, why, sizeof(why)) < 0)
			log_warnx("guest %s: cannot apply the new pin: %s", g->name, why);
	}
	if (g->spec.ncpus)
		event_emit(d, "pinned", g->name,
		           "guest %s pinned by the operator to %u CPU%s (now on CPU %d)", g->name,
		           g->spec.ncpus, g->spec.ncpus > 1 ? "s" : "", g->place.cpu);
	else
		event_emit(d, "pinned", g->name,
		           "guest %s unpinned by the operator: shoald places it", g->name);
	*out = guest_place_json(d, g);
	return 0;
}

json_t *shoald_guest_placement_json(struct shoald *d, const char *name, struct sd_err *err)
{
	struct guest *g = guest_find(d, name);

	if (!g) {
		sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s", name);
		return NULL;
	}
	return guest_place_json(d, g);
}

json_t *shoald_placement_json(struct shoald *d)
{
	return placement_json(d);
}
