/*
 * shoald's /metrics page in Prometheus text format: per guest its state,
 * restarts, probe RTT histogram, misses and windowed quantiles; the host's
 * CPU time and memory; shoald's own CPU, memory and probe counters.  The
 * writing itself is metrics/'s; this file only knows what to say.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "metrics/metrics.h"

struct page {
	struct metrics_buf *b;
	struct shoald *d;
	int oom;
};

static void family(struct page *p, const char *name, enum metrics_prom_type type, const char *help)
{
	metrics_prom_family(p->b, name, type, help);
}

static void gauge(struct page *p, const char *name, const char *help, double v)
{
	family(p, name, METRICS_PROM_GAUGE, help);
	metrics_prom_gauge(p->b, name, NULL, 0, v);
}

static void counter(struct page *p, const char *name, const char *help, uint64_t v)
{
	family(p, name, METRICS_PROM_COUNTER, help);
	metrics_prom_counter(p->b, name, NULL, 0, v);
}

/* ---- per guest ---- */

typedef double (*guest_value_fn)(const struct guest *g);

/* One sample per guest; a counter's values are whole numbers, written the same way. */
static void guest_family(struct page *p, const char *name, enum metrics_prom_type type,
                         const char *help, guest_value_fn fn)
{
	const struct guest *g;

	family(p, name, type, help);
	for (g = p->d->guests; g; g = g->next) {
		struct metrics_label l = { "guest", g->name };

		metrics_prom_gauge(p->b, name, &l, 1, fn(g));
	}
}

static double g_hung(const struct guest *g)
{
	return g->probe.hung;
}

static double g_restarts(const struct guest *g)
{
	return g->restarts;
}

static double g_sent(const struct guest *g)
{
	return (double)g->probe.sent;
}

static double g_missed(const struct guest *g)
{
	return (double)g->probe.missed;
}

static double g_late(const struct guest *g)
{
	return (double)g->probe.late;
}

static double g_unsolicited(const struct guest *g)
{
	return (double)g->probe.unsolicited;
}

static double g_storming(const struct guest *g)
{
	return g->probe.storming;
}

static double g_storms(const struct guest *g)
{
	return (double)g->probe.storms;
}

static double g_memory(const struct guest *g)
{
	return (double)g->spec.memory_mib * 1048576.;
}

static double g_slo(const struct guest *g)
{
	return g->spec.slo_us / 1e6;
}

static double g_uptime(const struct guest *g)
{
	return guest_state_live(g->state) && g->started_ns
	           ? (double)(now_wall_ns() - g->started_ns) / 1e9
	           : 0.;
}

static double g_console_dropped(const struct guest *g)
{
	return (double)console_dropped(g->console);
}

static void guest_states(struct page *p)
{
	static const char name[] = "shoal_guest_state";
	const struct guest *g;

	family(p, name, METRICS_PROM_GAUGE, "1 for the state the guest is in");
	for (g = p->d->guests; g; g = g->next) {
		struct metrics_label l[3] = {
			{ "guest", g->name },
			{ "state", guest_state_str(g->state) },
			{ "class", g->spec.latency_class == CLASS_BATCH ? "batch" : "latency" }
		};

		metrics_prom_gauge(p->b, name, l, 3, 1);
	}
}

static void guest_rtt(struct page *p)
{
	static const char name[] = "shoal_guest_probe_rtt_seconds";
	struct metrics_hist *h = malloc(sizeof(*h));
	const struct guest *g;

	if (!h) {
		p->oom = 1;
		return;
	}
	family(p, name, METRICS_PROM_HISTOGRAM,
	       "event-channel probe round trips since the guest was registered");
	for (g = p->d->guests; g; g = g->next) {
		struct metrics_label l = { "guest", g->name };

		metrics_hist_init(h);
		metrics_guest_hist(g->probe.lat, h);
		metrics_prom_histogram(p->b, name, &l, 1, h, metrics_prom_rtt_bounds_ns,
		                       metrics_prom_rtt_nbounds);
	}
	free(h);
}

/*
 * p50, p99 and p99.9 of the 10 s and 60 s windows as gauges, for
 * dashboards that want them ready-made (one family per quantile: a
 * "quantile" label belongs to summaries only).
 */
static void guest_quantiles(struct page *p)
{
	static const char *const names[3] = { "shoal_guest_probe_rtt_p50_seconds",
		                              "shoal_guest_probe_rtt_p99_seconds",
		                              "shoal_guest_probe_rtt_p999_seconds" };
	static const char *const helps[3] = {
		"median probe RTT over a sliding window (NaN: no samples)",
		"99th percentile probe RTT over a sliding window (NaN: no samples)",
		"99.9th percentile probe RTT over a sliding window (NaN: no samples)"
	};
	static const uint64_t win[2] = { METRICS_WINDOW_SHORT_NS, METRICS_WINDOW_LONG_NS };
	static const char *const win_name[2] = { "10s", "60s" };
	struct metrics_window *w;
	const struct guest *g;
	uint64_t now = now_mono_ns();
	unsigned n = 0, i, k;
	int q;

	/* Windows first (the costly part), then one family at a time. */
	w = calloc(p->d->nguests ? p->d->nguests * 2 : 1, sizeof(*w));
	if (!w) {
		p->oom = 1;
		return;
	}
	for (g = p->d->guests; g && n < p->d->nguests; g = g->next, n++)
		if (metrics_guest_windows(g->probe.lat, now, 2, win, &w[2 * n]) < 0)
			memset(&w[2 * n], 0, 2 * sizeof(*w));
	for (q = 0; q < 3; q++) {
		family(p, names[q], METRICS_PROM_GAUGE, helps[q]);
		for (g = p->d->guests, k = 0; g && k < n; g = g->next, k++)
			for (i = 0; i < 2; i++) {
				const struct metrics_window *x = &w[2 * k + i];
				uint64_t v = q == 0 ? x->p50_ns : q == 1 ? x->p99_ns : x->p999_ns;
				struct metrics_label l[2] = { { "guest", g->name },
					                      { "window", win_name[i] } };

				metrics_prom_gauge(p->b, names[q], l, 2,
				                   x->samples ? (double)v / 1e9 : NAN);
			}
	}
	free(w);
}

/* ---- host and daemon ---- */

static void host_cpu(struct page *p)
{
	static const char name[] = "shoal_host_cpu_seconds_total";
	static const char *const modes[] = { "user",   "nice", "system",  "idle",
		                             "iowait", "irq",  "softirq", "steal" };
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "re");
	int n = 0, i;

	if (f) {
		n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		           &v[3], &v[4], &v[5], &v[6], &v[7]);
		fclose(f);
	}
	if (n != 8 || hz <= 0)
		return;
	family(p, name, METRICS_PROM_COUNTER,
	       "CPU time of the whole host, all CPUs, by mode (from /proc/stat)");
	for (i = 0; i < 8; i++) {
		struct metrics_label l = { "mode", modes[i] };

		/* A counter with a fractional value: the gauge writer writes it. */
		metrics_prom_gauge(p->b, name, &l, 1, (double)v[i] / (double)hz);
	}
}

static void host_memory(struct page *p)
{
	static const char name[] = "shoal_host_memory_bytes";
	static const char *const keys[] = { "MemTotal:", "MemFree:", "MemAvailable:" };
	static const char *const kinds[] = { "total", "free", "available" };
	unsigned long long kib[3] = { 0 };
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");
	int i, found = 0;

	while (f && fgets(line, sizeof(line), f))
		for (i = 0; i < 3; i++)
			if (!strncmp(line, keys[i], strlen(keys[i])) &&
			    sscanf(line + strlen(keys[i]), "%llu", &kib[i]) == 1)
				found |= 1 << i;
	if (f)
		fclose(f);
	family(p, name, METRICS_PROM_GAUGE, "the host's memory (from /proc/meminfo)");
	for (i = 0; i < 3; i++) {
		struct metrics_label l = { "kind", kinds[i] };

		if (found & (1 << i))
			metrics_prom_gauge(p->b, name, &l, 1, (double)kib[i] * 1024.);
	}
	gauge(p, "shoal_host_memory_promised_bytes", "memory promised to guests that run or should",
	      (double)shoald_memory_used_mib(p->d) * 1048576.);
	gauge(p, "shoal_host_memory_limit_bytes", "memory guests may have in all (max-memory-mib)",
	      (double)shoald_memory_limit_mib(p->d) * 1048576.);
	gauge(p, "shoal_host_cpus", "CPUs online", p->d->host_cpus);
}

static void daemon_self(struct page *p)
{
	static const char cpu[] = "shoal_daemon_cpu_seconds_total";
	struct metrics_label lu = { "mode", "user" }, ls = { "mode", "system" };
	const struct probe_engine *e = &p->d->probes;
	unsigned long long pages = 0, resident = 0;
	struct rusage ru;
	FILE *f;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		family(p, cpu, METRICS_PROM_COUNTER, "CPU time shoald itself used, by mode");
		metrics_prom_gauge(p->b, cpu, &lu, 1,
		                   (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6);
		metrics_prom_gauge(p->b, cpu, &ls, 1,
		                   (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	}
	f = fopen("/proc/self/statm", "re");
	if (f && fscanf(f, "%llu %llu", &pages, &resident) == 2)
		gauge(p, "shoal_daemon_resident_bytes", "shoald's resident memory",
		      (double)resident * (double)sysconf(_SC_PAGESIZE));
	if (f)
		fclose(f);
	gauge(p, "shoal_daemon_uptime_seconds", "how long this shoald has run",
	      (double)(now_mono_ns() - p->d->start_ns) / 1e9);
	gauge(p, "shoal_probe_hz", "probes per guest per second (probe-hz)", p->d->cfg.probe_hz);
	gauge(p, "shoal_probed_guests", "guests being probed now", e->heap.len);
	gauge(p, "shoal_probe_hz_min",
	      "probes per second of a guest where nothing happens (probe-hz-min)",
	      p->d->cfg.probe_hz_min < p->d->cfg.probe_hz ? p->d->cfg.probe_hz_min
	                                                  : p->d->cfg.probe_hz);
	{
		uint64_t now = now_mono_ns();
		unsigned fast = 0;
		size_t k;

		for (k = 0; k < e->heap.len; k++)
			fast += probe_is_fast(e->heap.slot[k].item, now);
		gauge(p, "shoal_probe_fast_guests",
		      "probed guests at probe-hz now: something happened to them or their CPU "
		      "within 10 s",
		      fast);
	}
	counter(p, "shoal_probe_hastened_total",
	        "times a guest went from probe-hz-min to probe-hz, all guests", e->hastened);
	counter(p, "shoal_probes_sent_total", "probes sent, all guests", e->sent);
	counter(p, "shoal_probe_answers_total", "probes answered in time, all guests", e->answered);
	counter(p, "shoal_probe_misses_total", "probes not answered in time, all guests",
	        e->missed);
	counter(p, "shoal_probe_late_answers_total",
	        "answers that came after their probe was counted missed", e->late);
	counter(p, "shoal_probe_unsolicited_events_total",
	        "probe-port notifications no probe asked for, all guests", e->unsolicited);
	counter(p, "shoal_probe_storms_total", "storms of a guest's events, all guests", e->storms);
	gauge(p, "shoal_probe_storming_guests", "guests whose events storm now", e->storming);
	counter(p, "shoal_probe_send_errors_total", "probes the backend could not send",
	        e->send_errors);
	counter(p, "shoal_probe_timer_wakeups_total", "wake-ups of the probe timer", e->wakeups);
	counter(p, "shoal_loop_iterations_total", "times shoald's loop woke and did its work",
	        e->iterations);
	metrics_prom_family(p->b, "shoal_loop_held_total", METRICS_PROM_COUNTER,
	                    "times shoald's loop held longer than over_ms in one wake-up (every "
	                    "guest's probes and the API wait meanwhile)");
	{
		unsigned i;

		for (i = 0; i < LOOP_HELD_BOUNDS; i++) {
			char ms[16];
			struct metrics_label l = { "over_ms", ms };

			snprintf(ms, sizeof(ms), "%u", LOOP_HELD_MS[i]);
			metrics_prom_counter(p->b, "shoal_loop_held_total", &l, 1, e->held_over[i]);
		}
	}
	counter(p, "shoal_api_refused_total",
	        "API callers refused: no or a wrong token on TCP, no TLS, a unix caller outside "
	        "socket-group",
	        p->d->api_refused);
}

static void guests_by_state(struct page *p)
{
	static const char name[] = "shoal_guests";
	unsigned n[GS__COUNT] = { 0 };
	const struct guest *g;
	int i;

	for (g = p->d->guests; g; g = g->next)
		n[g->state]++;
	family(p, name, METRICS_PROM_GAUGE, "guests by state");
	for (i = 0; i < GS__COUNT; i++) {
		struct metrics_label l = { "state", guest_state_str((enum guest_state)i) };

		metrics_prom_gauge(p->b, name, &l, 1, n[i]);
	}
}

/* ---- per device ---- */

struct dev_sample {
	const struct guest *g;
	struct be_dev_stats st;
};

struct dev_family {
	const char *name;
	int nic;
	size_t off; /* of the counter in struct be_dev_stats */
	const char *help;
};

#define DEV_OFF(f) offsetof(struct be_dev_stats, f)
static const struct dev_family dev_families[] = {
	{ "shoal_disk_reads_total", 0, DEV_OFF(reads), "read requests the disk served" },
	{ "shoal_disk_writes_total", 0, DEV_OFF(writes), "write requests the disk served" },
	{ "shoal_disk_flushes_total", 0, DEV_OFF(flushes), "flush requests the disk served" },
	{ "shoal_disk_read_bytes_total", 0, DEV_OFF(read_bytes), "bytes the guest read" },
	{ "shoal_disk_written_bytes_total", 0, DEV_OFF(write_bytes), "bytes the guest wrote" },
	{ "shoal_disk_errors_total", 0, DEV_OFF(errors),
	  "requests answered with an error (refused or failed)" },
	{ "shoal_nic_tx_packets_total", 1, DEV_OFF(tx_packets), "frames the guest sent" },
	{ "shoal_nic_tx_bytes_total", 1, DEV_OFF(tx_bytes), "bytes the guest sent" },
	{ "shoal_nic_tx_errors_total", 1, DEV_OFF(tx_errors),
	  "transmit requests refused (a bad page, length or slot)" },
	{ "shoal_nic_tx_dropped_total", 1, DEV_OFF(tx_dropped),
	  "frames the guest sent that the tap did not take" },
	{ "shoal_nic_tx_rate_limited_total", 1, DEV_OFF(tx_held),
	  "times the rate limit held the guest's frames back" },
	{ "shoal_nic_tx_rate_dropped_total", 1, DEV_OFF(tx_rate_dropped),
	  "frames the guest sent that the rate limit dropped (proc: the host kernel's)" },
	{ "shoal_nic_rx_packets_total", 1, DEV_OFF(rx_packets), "frames given to the guest" },
	{ "shoal_nic_rx_bytes_total", 1, DEV_OFF(rx_bytes), "bytes given to the guest" },
	{ "shoal_nic_rx_errors_total", 1, DEV_OFF(rx_errors), "receive requests refused" },
	{ "shoal_nic_rx_dropped_total", 1, DEV_OFF(rx_dropped),
	  "frames for the guest dropped (it had posted no buffer)" },
	{ "shoal_nic_rx_rate_limited_total", 1, DEV_OFF(rx_held),
	  "times the rate limit held frames for the guest back" },
	{ "shoal_nic_rx_rate_dropped_total", 1, DEV_OFF(rx_rate_dropped),
	  "frames for the guest that the rate limit dropped (proc: the host kernel's)" },
};

/* Every running guest's device counters, as the backend reads them, by family. */
static void devices(struct page *p)
{
	struct dev_sample *v;
	const struct guest *g;
	size_t n = 0, cap = 0, i, f;

	if (!p->d->be_ops->dev_stats)
		return;
	for (g = p->d->guests; g; g = g->next)
		cap += g->spec.ndisks + g->spec.nnics;
	if (!cap)
		return;
	v = calloc(cap, sizeof(*v));
	if (!v) {
		p->oom = 1;
		return;
	}
	for (g = p->d->guests; g && n < cap; g = g->next) {
		struct be_dev_stats st[BE_DISKS_MAX + BE_NICS_MAX];
		unsigned k, m;

		if (!guest_state_live(g->state))
			continue;
		m = p->d->be_ops->dev_stats(p->d->be, (struct guest *)g, st,
		                            BE_DISKS_MAX + BE_NICS_MAX);
		for (k = 0; k < m && n < cap; k++) {
			v[n].g = g;
			v[n++].st = st[k];
		}
	}
	for (f = 0; f < sizeof(dev_families) / sizeof(dev_families[0]); f++) {
		const struct dev_family *df = &dev_families[f];

		family(p, df->name, METRICS_PROM_COUNTER, df->help);
		for (i = 0; i < n; i++) {
			struct metrics_label l[2] = { { "guest", v[i].g->name },
				                      { df->nic ? "nic" : "disk", v[i].st.name } };
			uint64_t c;

			if (v[i].st.nic != df->nic)
				continue;
			memcpy(&c, (const char *)&v[i].st + df->off, sizeof(c));
			metrics_prom_counter(p->b, df->name, l, 2, c);
		}
	}
	free(v);
}

/* One sample per guest of each of these families, in this order. */
static const struct {
	const char *name;
	enum metrics_prom_type type;
	const char *help;
	guest_value_fn fn;
} guest_families[] = {
	{ "shoal_guest_restarts_total", METRICS_PROM_COUNTER,
	  "restarts done by the supervisor (kept across shoald restarts)", g_restarts },
	{ "shoal_guest_hung", METRICS_PROM_GAUGE, "1 while the guest does not answer its probes",
	  g_hung },
	{ "shoal_guest_memory_bytes", METRICS_PROM_GAUGE, "guest memory", g_memory },
	{ "shoal_guest_slo_seconds", METRICS_PROM_GAUGE, "the guest's probe RTT objective (slo_us)",
	  g_slo },
	{ "shoal_guest_uptime_seconds", METRICS_PROM_GAUGE,
	  "how long this instance has run (0 when it does not)", g_uptime },
	{ "shoal_guest_console_dropped_bytes_total", METRICS_PROM_COUNTER,
	  "console output dropped by the rate limit", g_console_dropped },
	{ "shoal_guest_probes_sent_total", METRICS_PROM_COUNTER, "probes sent to the guest",
	  g_sent },
	{ "shoal_guest_probe_misses_total", METRICS_PROM_COUNTER,
	  "probes the guest did not answer in time", g_missed },
	{ "shoal_guest_probe_late_answers_total", METRICS_PROM_COUNTER,
	  "answers after the probe was counted missed", g_late },
	{ "shoal_guest_unsolicited_events_total", METRICS_PROM_COUNTER,
	  "probe-port notifications no probe asked for (late answers and storms)", g_unsolicited },
	{ "shoal_guest_storming", METRICS_PROM_GAUGE,
	  "1 while the guest's events storm and shoald does not listen to it", g_storming },
	{ "shoal_guest_storms_total", METRICS_PROM_COUNTER,
	  "storms of the guest's events (over storm-rate a second)", g_storms },
};
#define NGUEST_FAMILIES (sizeof(guest_families) / sizeof(guest_families[0]))

static void build_info(struct page *p)
{
	struct metrics_label lv[2] = { { "version", PACKAGE_VERSION },
		                       { "backend", p->d->be_ops->name } };

	family(p, "shoal_build_info", METRICS_PROM_GAUGE, "shoald's version and backend");
	metrics_prom_gauge(p->b, "shoal_build_info", lv, 2, 1);
}

static void placement_part(struct page *p)
{
	placement_metrics(p->d, p->b);
}

static void dns_part(struct page *p)
{
	dns_metrics(p->d, p->b);
}

/* The page's parts in order; the per-guest families go after the first `guest_families_at`. */
static void (*const parts_before[])(struct page *) = { build_info, guests_by_state, guest_states };
static void (*const parts_after[])(struct page *) = {
	guest_rtt,   guest_quantiles, devices,        host_cpu,
	host_memory, daemon_self,     placement_part, dns_part,
};
#define NBEFORE (sizeof(parts_before) / sizeof(parts_before[0]))
#define NAFTER  (sizeof(parts_after) / sizeof(parts_after[0]))

/* Write part k of the page; 0 when there is no part k. */
static int page_part(struct page *p, unsigned k)
{
	if (k < NBEFORE) {
		parts_before[k](p);
		return 1;
	}
	k -= NBEFORE;
	if (k < NGUEST_FAMILIES) {
		guest_family(p, guest_families[k].name, guest_families[k].type,
		             guest_families[k].help, guest_families[k].fn);
		return 1;
	}
	k -= NGUEST_FAMILIES;
	if (k < NAFTER) {
		parts_after[k](p);
		return 1;
	}
	return 0;
}

/* Whole parts until b holds want bytes or the page is done. */
static int page_fill(struct shoald_pager *pg, struct metrics_buf *b, size_t want)
{
	struct page p = { .b = b, .d = pg->d };

	while (b->len < want) {
		if (!page_part(&p, pg->step))
			return p.oom || metrics_buf_error(b) ? -1 : 0;
		pg->step++;
		if (p.oom || metrics_buf_error(b))
			return -1;
	}
	return 1;
}

struct shoald_pager *shoald_metrics_pager(struct shoald *d)
{
	struct shoald_pager *pg = calloc(1, sizeof(*pg));

	if (pg) {
		pg->d = d;
		pg->fill = page_fill;
	}
	return pg;
}
