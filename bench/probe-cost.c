/*
 * bench/probe-cost: shoald's own CPU use while it probes 100, 500 and
 * 1,000 idle guests at a fixed 10 Hz (--probe-hz-min=10), and at the
 * adaptive rate (the default probe-hz-min, 2 Hz for a guest where nothing
 * happens, once the 10 s at the full rate after the restart are over),
 * from /proc/PID/stat over --seconds (30 by default) at each level,
 * beside the baseline measured in the same run:
 * the same shoald holding the same guests with probing off (it is
 * restarted with --probe-hz=0 and re-adopts them; then restarted with
 * probing on again for the next level), and beside the floor: the least
 * a prober pays on this host for the same probes, measured by a bare
 * prober in this process (no daemon: as many idle tenders of its own,
 * kicked at the same rate in 0.5 ms batches, answers taken edge-triggered
 * from one epoll set), while shoald's guests sit unprobed.
 *
 * The guests are latency guests with an SLO they meet (--slo-us, 20 ms
 * by default: their p99 at 1,000 guests is a few ms on an emulated host),
 * since a guest near or over its SLO is probed at the full rate, as it
 * should be.
 *
 *   probe-cost [--seconds S] [--levels 100,500,1000] [--hz HZ] [--slo-us US]
 *
 * The goals: the fixed rate within 1.1x the bare prober's cost, the
 * adaptive one <= 5 % of one core at 1,000 guests.  Never pass/fail.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "bench/fleet.h"
#include "tests/lib/httpc.h"
#include "tests/lib/shoald_run.h"

static struct shoald_run sd;

/* utime + stime of a process, in seconds. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A counter from /metrics ("name value" at a line start); -1 when absent. */
static double metric(const char *name)
{
	struct http_answer a;
	double v = -1;
	size_t n = strlen(name);
	const char *p;

	if (http_req(sd.sock, "GET", "/metrics", NULL, &a) == 0 && a.body)
		for (p = a.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, name, n) && p[n] == ' ') {
				v = atof(p + n + 1);
				break;
			}
	http_answer_free(&a);
	return v;
}

static double self_cpu_s(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec +
	       r.ru_stime.tv_usec / 1e6;
}

/*
 * The floor: n idle tenders of our own, probed hz times a second each for
 * `seconds`; our CPU as % of one core, or -1.  *answered_out: answers/s.
 */
static double floor_cost(const char *vmm, const char *image, int n, int hz, int seconds,
                         double *answered_out)
{
	struct bl_warm *w = calloc((size_t)n, sizeof(*w));
	char *gargv[] = { "idle", NULL };
	uint64_t t0, next, gap_ns = 500000, per_gap, sent = 0, answered = 0;
	double c0, pct = -1;
	int ep = epoll_create1(EPOLL_CLOEXEC), i, started = 0, idx = 0;

	if (!w || ep < 0)
		goto out;
	for (i = 0; i < n; i++, started++) {
		struct epoll_event e = { .events = EPOLLIN | EPOLLET };
		int st;

		if (bl_warm_start(vmm, 4, &w[i]) < 0 ||
		    bl_warm_boot(&w[i], image, "idle", 1, gargv) < 0 ||
		    bl_warm_wait_started(&w[i], &st) != 1)
			goto out;
		e.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, w[i].notify_fd, &e);
	}
	sleep(1);
	per_gap = (uint64_t)n * (uint64_t)hz * gap_ns / 1000000000ull;
	if (!per_gap)
		per_gap = 1, gap_ns = 1000000000ull / ((uint64_t)n * (uint64_t)hz);
	c0 = self_cpu_s();
	t0 = next = bl_now_ns();
	while (bl_now_ns() - t0 < (uint64_t)seconds * 1000000000ull) {
		struct epoll_event ev[256];
		uint64_t now = bl_now_ns(), k;
		int r;

		if (now >= next) {
			for (k = 0; k < per_gap; k++, idx = (idx + 1) % n) {
				uint64_t one = 1;

				if (write(w[idx].kick_fd, &one, sizeof(one)) == sizeof(one))
					sent++;
			}
			next += gap_ns;
		}
		now = bl_now_ns();
		r = epoll_wait(ep, ev, 256,
		               next > now ? (int)((next - now + 999999) / 1000000) : 0);
		if (r > 0)
			answered += (uint64_t)r;
	}
	pct = (self_cpu_s() - c0) / seconds * 100;
	*answered_out = (double)answered / seconds;
	(void)sent;
out:
	for (i = 0; i < started; i++)
		bl_warm_close(&w[i]);
	if (ep >= 0)
		close(ep);
	free(w);
	return pct;
}

static unsigned slo_us = 20000;

static int deploy(int i, const char *image)
{
	struct http_answer a;
	char spec[4200];
	int ok;

	snprintf(spec, sizeof(spec),
	         "{\"name\":\"idle-%04d\",\"image\":\"%s\",\"memory_mib\":4,\"slo_us\":%u}", i,
	         image, slo_us);
	ok = http_req(sd.sock, "POST", "/v1/guests", spec, &a) == 0 && a.status == 201;
	if (!ok)
		fprintf(stderr, "deploy idle-%04d: %d %s\n", i, a.status, a.body ? a.body : "");
	http_answer_free(&a);
	return ok ? 0 : -1;
}

/* shoald again with probe-hz hz; hzmin NULL: probe-hz-min's default (the adaptive rate). */
static int relaunch(const char *hz, const char *hzmin)
{
	char hzopt[32], minopt[40];
	/*
	 * All 1,000 are latency guests, on a host that runs no batch guests:
	 * every core is a latency CPU, with room for them all.
	 */
	const char *extra[] = { "--log-level=warn",
		                "--max-guests=2000",
		                "--latency-vcpus-per-cpu=2000",
		                "--latency-cores-percent=100",
		                "--batch-cores-min=0",
		                hzopt,
		                hzmin ? minopt : NULL,
		                NULL };

	snprintf(hzopt, sizeof(hzopt), "--probe-hz=%s", hz);
	snprintf(minopt, sizeof(minopt), "--probe-hz-min=%s", hzmin ? hzmin : "");
	if (sd.pid > 0)
		shoald_kill(&sd, SIGTERM);
	return sd.pid > 0 || sd.dir[0] ? shoald_restart(&sd, extra) : shoald_start(&sd, extra);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "levels", required_argument, NULL, 'L' },
		{ "hz", required_argument, NULL, 'H' },
		{ "slo-us", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	char levels_arg[128] = "100,500,1000", hz[16] = "10", *tok, *save = NULL, image[4096],
	     vmm[4200];
	int seconds = 30, c, levels[8], nlev = 0, running = 0, l;

	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (c == 's')
			seconds = atoi(optarg) < 5 ? 5 : atoi(optarg);
		else if (c == 'L')
			snprintf(levels_arg, sizeof(levels_arg), "%s", optarg);
		else if (c == 'H')
			snprintf(hz, sizeof(hz), "%d", atoi(optarg) < 1 ? 1 : atoi(optarg));
		else if (c == 'S')
			slo_us = atoi(optarg) < 1 ? 1 : (unsigned)atoi(optarg);
		else {
			fprintf(stderr,
			        "usage: probe-cost [--seconds S] [--levels 100,500,1000] [--hz HZ] "
			        "[--slo-us US]\n");
			return 2;
		}
	}
	for (tok = strtok_r(levels_arg, ",", &save); tok && nlev < 8;
	     tok = strtok_r(NULL, ",", &save))
		levels[nlev++] = atoi(tok);
	signal(SIGPIPE, SIG_IGN);
	memset(&sd, 0, sizeof(sd));
	if (relaunch(hz, hz) < 0) {
		fprintf(stderr, "shoald did not start\n");
		shoald_dump_log(&sd);
		shoald_cleanup(&sd);
		return 1;
	}
	snprintf(image, sizeof(image), "%s", shoald_guest_image(&sd, "idle"));
	snprintf(vmm, sizeof(vmm), "%s/vmm/shoal-vmm", sd.builddir);
	printf(
	    "bench/probe-cost: shoald's CPU over %d s at each level, probes at a fixed %s Hz, then "
	    "adaptive;\n"
	    "baseline: the same guests, shoald restarted with --probe-hz=0 (it re-adopts them), "
	    "and a bare prober.\n"
	    "CPU is %% of one core.  The guests' SLO: %u us.\n\n",
	    seconds, hz, slo_us);
	printf("%-7s %12s %13s %11s %10s %9s %9s %9s %10s %7s %12s %10s\n", "guests", "fixed cpu",
	       "probes off", "bare prober", "vs bare", "probes/s", "p50 med", "p99 med",
	       "p99 worst", "misses", "adaptive cpu", "probes/s");
	for (l = 0; l < nlev; l++) {
		double c0, c1, s0, s1, m0, m1, on, off, rate, bare, bare_rate = 0, ad, ad_rate;
		struct fleet_latency fl;

		while (running < levels[l]) {
			if (deploy(running, image) < 0)
				goto out;
			running++;
		}
		sleep(3); /* the deploys' own work is over */
		c0 = proc_cpu_s(sd.pid);
		s0 = metric("shoal_probes_sent_total");
		m0 = metric("shoal_probe_misses_total");
		sleep((unsigned)seconds);
		c1 = proc_cpu_s(sd.pid);
		s1 = metric("shoal_probes_sent_total");
		m1 = metric("shoal_probe_misses_total");
		fleet_latency(sd.sock, "", 0, &fl);
		on = (c1 - c0) / seconds * 100;
		rate = (s1 - s0) / seconds;

		/* Adaptive: once the full rate after the restart (10 s) is over. */
		if (relaunch(hz, NULL) < 0)
			goto out;
		sleep(12);
		c0 = proc_cpu_s(sd.pid);
		s0 = metric("shoal_probes_sent_total");
		sleep((unsigned)seconds);
		c1 = proc_cpu_s(sd.pid);
		s1 = metric("shoal_probes_sent_total");
		ad = (c1 - c0) / seconds * 100;
		ad_rate = (s1 - s0) / seconds;

		if (relaunch("0", NULL) < 0)
			goto out;
		sleep(3);
		c0 = proc_cpu_s(sd.pid);
		sleep((unsigned)seconds);
		c1 = proc_cpu_s(sd.pid);
		off = (c1 - c0) / seconds * 100;
		bare = floor_cost(vmm, image, running, atoi(hz), seconds, &bare_rate);
		printf("%-7d %11.2f%% %12.2f%% %10.2f%% %9.2fx %9.0f %7.1fus %7.1fus %8.1fus %7.0f "
		       "%11.2f%% %10.0f\n",
		       running, on, off, bare, bare > 0 ? on / bare : 0, rate, fl.p50_med,
		       fl.p99_med, fl.p99_worst, m1 - m0, ad, ad_rate);
		fflush(stdout);
		if (relaunch(hz, hz) < 0)
			goto out;
	}
	printf("\nfixed cpu: all of shoald's CPU while probing at the fixed rate; bare prober: the "
	       "same probes from a minimal loop\n"
	       "(goal: within 1.1x); adaptive cpu: shoald's CPU at the adaptive rate, its guests "
	       "idle (goal: <= 5%% of one\n"
	       "core at 1,000 guests).\n");
out:
	shoald_cleanup(&sd);
	return 0;
}
