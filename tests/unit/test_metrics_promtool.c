/*
 * Has Prometheus' own promtool (`promtool check metrics`: its parser and
 * its linter) read a /metrics page built the way shoald builds one:
 * per-guest counters, window gauges and since-start histograms, with
 * guest names that need escaping.  Without promtool in PATH the test
 * reports SKIP with the reason (a TAP "1..0 # SKIP" plan, since
 * cmocka 1.1's own skip reads as a failure to automake's TAP driver).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics_testlib.h"

#define NS_PER_S 1000000000ull
#define NGUESTS  40

static char promtool[4096];

static int find_in_path(const char *prog, char *out, size_t len)
{
	const char *p = getenv("PATH");

	while (p && *p) {
		size_t n = strcspn(p, ":");

		snprintf(out, len, "%.*s/%s", (int)n, p, prog);
		if (n && access(out, X_OK) == 0)
			return 1;
		p += n;
		if (*p == ':')
			p++;
	}
	return 0;
}

static void guest_name(char *buf, size_t len, size_t i)
{
	static const char *odd[] = { "plain",     "back\\slash", "\"quoted\"",
		                     "new\nline", "ütf-8 ✓",     "a=b,c{d}" };

	snprintf(buf, len, "web-%zu %s", i, odd[i % (sizeof(odd) / sizeof(odd[0]))]);
}

static void write_page(struct metrics_buf *b, struct metrics_guest **g, uint64_t now)
{
	static const struct {
		const char *name, *help;
		size_t field;
	} gauges[] = {
		{ "shoal_guest_rtt_p99_seconds", "p99 probe RTT over the window.",
		  offsetof(struct metrics_window, p99_ns) },
		{ "shoal_guest_rtt_max_seconds", "Largest probe RTT in the window.",
		  offsetof(struct metrics_window, max_ns) },
	};
	static const char *windows[] = { "10s", "60s" };
	const uint64_t both[2] = { METRICS_WINDOW_SHORT_NS, METRICS_WINDOW_LONG_NS };
	struct metrics_window w[NGUESTS][2];
	struct metrics_guest_counters c;
	struct metrics_hist *h = malloc(sizeof(*h));
	char name[64];
	size_t i, k, j;

	assert_non_null(h);
	for (i = 0; i < NGUESTS; i++)
		assert_int_equal(metrics_guest_windows(g[i], now, 2, both, w[i]), 0);
	metrics_prom_family(b, "shoal_guests", METRICS_PROM_GAUGE, "Guests shoald runs.");
	metrics_prom_gauge(b, "shoal_guests", NULL, 0, NGUESTS);
	metrics_prom_family(b, "shoal_guest_probes_missed_total", METRICS_PROM_COUNTER,
	                    "Probes not answered in time, since shoald started.");
	for (i = 0; i < NGUESTS; i++) {
		struct metrics_label l = { "guest", name };

		guest_name(name, sizeof(name), i);
		metrics_guest_counters(g[i], &c);
		metrics_prom_counter(b, "shoal_guest_probes_missed_total", &l, 1, c.misses);
	}
	for (k = 0; k < sizeof(gauges) / sizeof(gauges[0]); k++) {
		metrics_prom_family(b, gauges[k].name, METRICS_PROM_GAUGE, gauges[k].help);
		for (i = 0; i < NGUESTS; i++) {
			for (j = 0; j < 2; j++) {
				struct metrics_label l[2] = { { "guest", name },
					                      { "window", windows[j] } };
				uint64_t ns;

				guest_name(name, sizeof(name), i);
				memcpy(&ns, (const char *)&w[i][j] + gauges[k].field, sizeof(ns));
				metrics_prom_gauge(b, gauges[k].name, l, 2, (double)ns / 1e9);
			}
		}
	}
	metrics_prom_family(b, "shoal_guest_rtt_seconds", METRICS_PROM_HISTOGRAM,
	                    "Event-channel round-trip time of probes, since shoald started.");
	for (i = 0; i < NGUESTS; i++) {
		struct metrics_label l = { "guest", name };

		guest_name(name, sizeof(name), i);
		metrics_hist_init(h);
		metrics_guest_hist(g[i], h);
		metrics_prom_histogram(b, "shoal_guest_rtt_seconds", &l, 1, h,
		                       metrics_prom_rtt_bounds_ns, metrics_prom_rtt_nbounds);
	}
	free(h);
}

static void promtool_accepts_page(void **state)
{
	struct metrics_guest *g[NGUESTS];
	struct rng r = { 41 };
	char file[] = "/tmp/shoal-metrics-XXXXXX", cmd[8300], out[4096];
	struct metrics_buf b;
	uint64_t t = 0;
	size_t i, k, got;
	FILE *f, *p;
	int fd, status;

	(void)state;
	for (i = 0; i < NGUESTS; i++)
		assert_int_equal(metrics_guest_new(10, &g[i]), 0);
	for (k = 0; k < 900; k++, t += 100000000ull)
		for (i = 0; i < NGUESTS; i++)
			if (rng_unit(&r) < 0.02)
				metrics_guest_miss(g[i], t);
			else
				metrics_guest_rtt(g[i], t, rng_log(&r, 500, 20 * NS_PER_S));
	metrics_buf_init(&b);
	write_page(&b, g, t);
	assert_int_equal(metrics_buf_error(&b), 0);
	fd = mkstemp(file);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "'%s' check metrics < '%s' 2>&1", promtool, file);
	p = popen(cmd, "r");
	assert_non_null(p);
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	status = pclose(p);
	unlink(file);
	metrics_buf_free(&b);
	for (i = 0; i < NGUESTS; i++)
		metrics_guest_free(g[i]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("promtool check metrics: status %d: %s", status, out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(promtool_accepts_page),
	};

	if (!find_in_path("promtool", promtool, sizeof(promtool))) {
		printf("1..0 # SKIP promtool not found in PATH (Debian: apt-get install "
		       "prometheus)\n");
		return 0;
	}
	return cmocka_run_group_tests_name("metrics_promtool", tests, NULL, NULL);
}
