/*
 * shoalctl latency and top: the probe round-trip figures shoald keeps
 * per guest.  Both read only what the server sends: a guest without a
 * "latency" object (no data yet, or a shoald that does not send it) shows
 * "-", and a shoald without GET /v1/guests/NAME/latency answers 404,
 * shown as it comes.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shoalctl/ctl.h"

#define BAR_WIDTH 40

static void window_row(struct ctl_table *t, const char *name, const json_t *w)
{
	char samples[24] = "-", misses[24] = "-", f[6][32];

	if (ctl_jint(w, "samples", -1) >= 0)
		snprintf(samples, sizeof(samples), "%lld", ctl_jint(w, "samples", 0));
	if (ctl_jint(w, "misses", -1) >= 0)
		snprintf(misses, sizeof(misses), "%lld", ctl_jint(w, "misses", 0));
	ctl_table_row(t, name, samples, misses, ctl_fmt_lat(w, "min_us", f[0], sizeof(f[0])),
	              ctl_fmt_lat(w, "p50_us", f[1], sizeof(f[1])),
	              ctl_fmt_lat(w, "p90_us", f[2], sizeof(f[2])),
	              ctl_fmt_lat(w, "p99_us", f[3], sizeof(f[3])),
	              ctl_fmt_lat(w, "p999_us", f[4], sizeof(f[4])),
	              ctl_fmt_lat(w, "max_us", f[5], sizeof(f[5])),
	              !json_is_object(w)                         ? "-"
	              : json_is_true(json_object_get(w, "hung")) ? "yes"
	                                                         : "no");
}

/*
 * The server's buckets are fine (1/64 of an octave); for people they are
 * gathered into half octaves, from the first to the last that has any.
 */
#define HALF_OCTAVES 64

static void histogram(const json_t *buckets)
{
	long long count[HALF_OCTAVES] = { 0 }, most = 0;
	int first = HALF_OCTAVES, last = -1, k;
	const json_t *b;
	size_t i;

	json_array_foreach(buckets, i, b)
	{
		double lo = 0;
		long long n = ctl_jint(b, "count", 0);

		if (n <= 0 || ctl_jnum(b, "lo_us", &lo) < 0 || lo < 1)
			continue;
		k = (int)floor(2 * log2(lo));
		k = k < 0 ? 0 : k >= HALF_OCTAVES ? HALF_OCTAVES - 1 : k;
		count[k] += n;
		first = k < first ? k : first;
		last = k > last ? k : last;
	}
	for (k = first; k <= last; k++)
		most = count[k] > most ? count[k] : most;
	if (most <= 0) {
		printf("histogram: no probes yet\n");
		return;
	}
	printf("histogram of round trips:\n");
	for (k = first; k <= last; k++) {
		char lo[32], hi[32], bar[BAR_WIDTH + 1];
		int w = (int)ceil((double)count[k] * BAR_WIDTH / (double)most);

		memset(bar, '#', (size_t)w);
		bar[w] = '\0';
		printf("  %10s - %-10s %-*s %lld\n", ctl_fmt_us(exp2(k / 2.0), lo, sizeof(lo)),
		       ctl_fmt_us(exp2((k + 1) / 2.0), hi, sizeof(hi)), BAR_WIDTH, bar, count[k]);
	}
}

static int show_latency(const json_t *l, const char *unused)
{
	static const char *const heads[] = { "WINDOW", "SAMPLES", "MISSES", "MIN",  "P50", "P90",
		                             "P99",    "P99.9",   "MAX",    "HUNG", NULL };
	const json_t *wins = json_object_get(l, "windows"), *tot = json_object_get(l, "total");
	struct ctl_table *t;
	char mean[32];

	(void)unused;
	printf("%s: probed %lld times a second\n", ctl_jstr(l, "name") ? ctl_jstr(l, "name") : "?",
	       ctl_jint(l, "probe_hz", 0));
	t = ctl_table_new(heads, "SAMPLES MISSES MIN P50 P90 P99 P99.9 MAX");
	window_row(t, "10 s", json_object_get(wins, "10s"));
	window_row(t, "60 s", json_object_get(wins, "60s"));
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	printf("in all: %lld probes, %lld missed, mean %s\n", ctl_jint(tot, "samples", 0),
	       ctl_jint(tot, "misses", 0), ctl_fmt_lat(tot, "mean_us", mean, sizeof(mean)));
	histogram(json_object_get(l, "buckets"));
	return 0;
}

/* The histogram's span: the server's default (60 s), or --buckets 10s, 60s or all. */
int ctl_cmd_latency(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_BUCKETS = 'b' };
	static const struct option lo[] = { CTL_GLOBAL_LONGOPTS,
		                            { "buckets", required_argument, NULL, OPT_BUCKETS },
		                            { NULL, 0, NULL, 0 } };
	static const struct ctl_simple req = { "GET", "/v1/guests/", 1, "/latency", show_latency };
	const char *buckets = NULL;
	char query[32] = "";
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":hb:", lo, NULL)) != -1) {
		if (ch == OPT_BUCKETS) {
			buckets = optarg;
			if (strcmp(buckets, "10s") && strcmp(buckets, "60s") &&
			    strcmp(buckets, "all"))
				return ctl_usage_error(
				    cmd, "--buckets is 10s, 60s or all, not \"%s\"", buckets);
			continue;
		}
		rc = ctl_opt_common(c, cmd, ch, argv);
		if (rc != 0)
			return rc;
	}
	rc = ctl_want_name(cmd, argc, argv);
	if (rc != 0)
		return rc;
	if (buckets)
		snprintf(query, sizeof(query), "?buckets=%s", buckets);
	return ctl_simple_send(c, &req, argv[optind], query);
}

/* ---- top ---- */

/* Worst 10 s p99 first; guests without figures last, by name. */
static int by_p99(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *nx = ctl_jstr(x, "name"), *ny = ctl_jstr(y, "name");
	double px, py;
	int hx = ctl_jnum(json_object_get(x, "latency"), "p99_us", &px) == 0;
	int hy = ctl_jnum(json_object_get(y, "latency"), "p99_us", &py) == 0;

	if (hx != hy)
		return hy - hx;
	if (hx && px != py)
		return px < py ? 1 : -1;
	return strcmp(nx ? nx : "", ny ? ny : "");
}

static void top_table(const json_t *all)
{
	static const char *const heads[] = { "NAME", "STATE", "CLASS", "SLO",    "P50",
		                             "P99",  "P99.9", "MAX",   "MISSES", NULL };
	size_t i, n = json_array_size(all);
	json_t **gs = calloc(n + 1, sizeof(*gs));
	struct ctl_table *t;

	if (!gs)
		return;
	for (i = 0; i < n; i++)
		gs[i] = json_array_get(all, i);
	qsort(gs, n, sizeof(*gs), by_p99);
	t = ctl_table_new(heads, "SLO P50 P99 P99.9 MAX MISSES");
	for (i = 0; i < n; i++) {
		const json_t *spec = json_object_get(gs[i], "spec"),
		             *lat = json_object_get(gs[i], "latency");
		char slo[32] = "-", f[4][32], misses[24] = "-";

		if (ctl_jint(spec, "slo_us", -1) >= 0)
			ctl_fmt_us((double)ctl_jint(spec, "slo_us", 0), slo, sizeof(slo));
		if (ctl_jint(lat, "misses", -1) >= 0)
			snprintf(misses, sizeof(misses), "%lld", ctl_jint(lat, "misses", 0));
		ctl_table_row(t, ctl_jstr(gs[i], "name"), ctl_jstr(gs[i], "state"),
		              ctl_jstr(spec, "latency_class"), slo,
		              ctl_fmt_lat(lat, "p50_us", f[0], sizeof(f[0])),
		              ctl_fmt_lat(lat, "p99_us", f[1], sizeof(f[1])),
		              ctl_fmt_lat(lat, "p999_us", f[2], sizeof(f[2])),
		              ctl_fmt_lat(lat, "max_us", f[3], sizeof(f[3])), misses);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	free(gs);
}

static void pause_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	while (!ctl_interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int ctl_cmd_top(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_INTERVAL = 'i', OPT_COUNT = 'n' };
	static const struct option lo[] = { CTL_GLOBAL_LONGOPTS,
		                            { "interval", required_argument, NULL, OPT_INTERVAL },
		                            { "count", required_argument, NULL, OPT_COUNT },
		                            { NULL, 0, NULL, 0 } };
	unsigned long long count = 0, i;
	int ch, rc, tty = isatty(STDOUT_FILENO);
	double interval = 1;

	while ((ch = getopt_long(argc, argv, ":hi:n:", lo, NULL)) != -1) {
		if (ch == OPT_INTERVAL)
			rc = ctl_parse_seconds(cmd, "--interval", optarg, &interval);
		else if (ch == OPT_COUNT)
			rc = ctl_parse_uint(cmd, "-n", optarg, 1ull << 40, &count);
		else
			rc = ctl_opt_common(c, cmd, ch, argv);
		if (rc != 0)
			return rc;
	}
	rc = ctl_want_args(cmd, argc, argv, 0, NULL);
	if (rc == 0 && interval < 0.1)
		rc = ctl_usage_error(cmd, "--interval must be at least 0.1 s");
	if (rc != 0)
		return rc;
	ctl_catch_interrupt();
	for (i = 0; !ctl_interrupted && (count == 0 || i < count); i++) {
		struct ctl_answer a;
		char when[16];
		time_t now;
		struct tm tm;

		if (i > 0)
			pause_s(interval);
		if (ctl_interrupted)
			break;
		rc = ctl_http(c, "GET", "/v1/guests", NULL, &a);
		if (rc < 0)
			return rc;
		if (c->json) {
			fwrite(a.body, 1, a.len, stdout);
		} else {
			now = time(NULL);
			localtime_r(&now, &tm);
			strftime(when, sizeof(when), "%H:%M:%S", &tm);
			if (tty)
				fputs("\033[H\033[2J", stdout);
			else if (i > 0)
				putchar('\n');
			printf("shoalctl top: %zu guests at %s, every %g s, worst 10 s p99 first\n",
			       json_array_size(a.json), when, interval);
			top_table(a.json);
		}
		fflush(stdout);
		ctl_answer_free(&a);
	}
	return 0;
}
