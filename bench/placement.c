/*
 * bench/placement: the scenario matrix of latency-driven placement.  Each
 * scenario's fleet runs under --placement=off (the host's scheduler puts
 * every vCPU where it likes: the naive default) and with placement on,
 * alternating, ROUNDS times each, in one run; each time, once the fleet
 * has settled, it reads over the last 10 s the latency guests' probe
 * round trips (median and worst guest's p99, how many are over their
 * SLO), the batch guests' work done (the spin guest reports it), shoald's
 * CPU, and the moves placement made.  Never pass/fail.
 *
 *   1 batch     idle latency guests beside CPU-bound batch guests
 *   2 hog       a latency-class guest that turns CPU-bound among idle
 *               neighbours (spin, idle for its first seconds)
 *   3 storm     a guest whose events storm (the storm guest), beside idle
 *               neighbours
 *   4 crowd     more latency guests than one CPU holds well, no batch guest
 *   5 churn     batch guests started and stopped every few seconds beside
 *               idle latency guests
 *   6 outside   idle latency guests beside a CPU-bound process of the
 *               host's (not a guest: shoald cannot move it), pinned to the
 *               last CPU from the start
 *
 *   placement [--scenario N[,N...]] [--rounds R] [--settle S] [--slo-us US]
 *             [--on-arg=--OPT=VALUE ...]
 *
 * --on-arg passes an option to shoald in the placement-on runs only, to
 * weigh one of its knobs (e.g. --on-arg=--batch-spill=off); --on-only
 * leaves out the placement-off runs (a long run for stability:
 * --scenario 5 --settle 600 --on-only).  "moves" counts every move of a
 * run, "returns" the pin moves that took a guest back to a CPU it had
 * left within the last 60 s (back and forth).
 */
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "bench/fleet.h"
#include "tests/lib/httpc.h"
#include "tests/lib/shoald_run.h"

#define SCENARIOS 6

struct scenario {
	const char *name;
	const char *what;
	int nlat;    /* idle latency guests, lat-NN */
	int nbatch;  /* spinning batch guests, batch-N */
	int hog;     /* one latency-class spin that turns CPU-bound, hog */
	int storm;   /* one storm guest, storm */
	int churn_s; /* batch guests stopped and started every churn_s seconds */
	int outside; /* a CPU-bound process of the host's pinned to the last CPU */
};

static const struct scenario scenarios[SCENARIOS] = {
	{ "batch", "16 idle latency guests beside 2 CPU-bound batch guests", 16, 2, 0, 0, 0, 0 },
	{ "hog", "15 idle latency guests and a latency-class guest that turns CPU-bound after 5 s",
	  15, 0, 1, 0, 0, 0 },
	{ "storm", "15 idle latency guests beside a guest whose events storm after 5 s", 15, 0, 0,
	  1, 0, 0 },
	{ "crowd", "64 idle latency guests, no batch guest (more than one CPU holds well)", 64, 0,
	  0, 0, 0, 0 },
	{ "churn", "16 idle latency guests, 2 batch guests stopped and started every 4 s", 16, 2, 0,
	  0, 4, 0 },
	{ "outside",
	  "16 idle latency guests beside a CPU-bound process of the host's on the last CPU", 16, 0,
	  0, 0, 0, 1 },
};

/* A CPU-bound process, not a guest, pinned to the last CPU: its pid, or -1. */
static pid_t outside_start(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		cpu_set_t set;
		volatile unsigned long n = 0;

		CPU_ZERO(&set);
		CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (;;)
			n++;
	}
	return pid;
}

struct figures {
	struct fleet_latency lat;
	double
	    work_rate; /* batch work a second (spin's iterations), summed over the batch guests */
	double shoald_cpu; /* shoald's CPU over the measured window, in CPUs */
	long moves;        /* every move of the run, all kinds */
	long returns;      /* pin moves back to a CPU the guest left within the last 60 s */
	int ok;
};

/*
 * The run's moves, gathered from /v1/placement every second (its log
 * keeps the last 256): how many, and how many pin moves took a guest
 * back to a CPU it had left within the last 60 s (back and forth).
 */
#define PINS_MAX 4096
struct move_track {
	long last_period, moves, returns, period_ms;
	size_t npins;
	struct {
		char guest[64];
		long period;
		int from;
	} pin[PINS_MAX];
};

static void track_moves(struct shoald_run *sd, struct move_track *t)
{
	struct http_answer a;
	json_t *m;
	long top = t->last_period;
	size_t i, k;

	if (http_req(sd->sock, "GET", "/v1/placement", NULL, &a) < 0 || !a.json) {
		http_answer_free(&a);
		return;
	}
	t->period_ms = (long)json_integer_value(json_object_get(a.json, "period_ms"));
	json_array_foreach(json_object_get(a.json, "moves"), i, m)
	{
		long period = (long)json_integer_value(json_object_get(m, "period"));
		const char *guest = json_string_value(json_object_get(m, "guest")) ?: "",
		           *kind = json_string_value(json_object_get(m, "kind")) ?: "";
		long window = t->period_ms > 0 ? 60000 / t->period_ms : 60;
		int to = (int)json_integer_value(json_object_get(m, "to"));

		if (period <= t->last_period)
			continue;
		top = period > top ? period : top;
		t->moves++;
		if (strcmp(kind, "pin"))
			continue;
		for (k = 0; k < t->npins; k++)
			if (!strcmp(t->pin[k].guest, guest) && t->pin[k].from == to &&
			    period - t->pin[k].period <= window) {
				t->returns++;
				break;
			}
		if (t->npins < PINS_MAX) {
			snprintf(t->pin[t->npins].guest, sizeof(t->pin[0].guest), "%s", guest);
			t->pin[t->npins].period = period;
			t->pin[t->npins++].from =
			    (int)json_integer_value(json_object_get(m, "from"));
		}
	}
	t->last_period = top;
	http_answer_free(&a);
}

static int post(struct shoald_run *sd, const char *path, const char *body, int want)
{
	struct http_answer a;
	int ok = http_req(sd->sock, "POST", path, body, &a) == 0 && a.status == want;

	if (!ok)
		fprintf(stderr, "POST %s: %d %s\n", path, a.status, a.body ? a.body : "");
	http_answer_free(&a);
	return ok ? 0 : -1;
}

static int deploy(struct shoald_run *sd, const char *name, const char *image, const char *cls,
                  unsigned slo_us, const char *args)
{
	char spec[4400];

	snprintf(spec, sizeof(spec),
	         "{\"name\":\"%s\",\"image\":\"%s\",\"memory_mib\":8,\"latency_class\":\"%s\","
	         "\"slo_us\":%u,\"args\":[%s]}",
	         name, image, cls, slo_us, args);
	return post(sd, "/v1/guests", spec, 201);
}

/*
 * The work a spin guest reported in the window: from its console's
 * "spin: work=W ... elapsed_ms=E" lines, the rate between the last line
 * and the last one at least window_ms older.  0 when it has not said.
 */
static double spin_rate(struct shoald_run *sd, const char *name, unsigned window_ms)
{
	struct http_answer a;
	char path[128];
	double w[4096], e[4096], rate = 0;
	size_t n = 0;
	const char *p;

	snprintf(path, sizeof(path), "/v1/guests/%s/console", name);
	if (http_req(sd->sock, "GET", path, NULL, &a) < 0 || a.status != 200 || !a.body) {
		http_answer_free(&a);
		return 0;
	}
	for (p = a.body; (p = strstr(p, "spin: work=")) && n < 4096; p++) {
		unsigned long long work, slices, el;

		if (sscanf(p, "spin: work=%llu slices=%llu elapsed_ms=%llu", &work, &slices, &el) ==
		    3) {
			w[n] = (double)work;
			e[n++] = (double)el;
		}
	}
	http_answer_free(&a);
	if (n >= 2) {
		size_t i = n - 1, j = n - 2;

		while (j > 0 && e[i] - e[j] < window_ms)
			j--;
		/* A restart starts the counts again: only a run that grew counts. */
		if (e[i] > e[j] && w[i] >= w[j])
			rate = (w[i] - w[j]) / ((e[i] - e[j]) / 1000.0);
	}
	return rate;
}

static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stop or start every batch guest (the churn), without waiting. */
static void batch_all(struct shoald_run *sd, int n, const char *action)
{
	char path[96];
	struct http_answer a;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/v1/guests/batch-%d/%s?wait=0", i, action);
		http_req(sd->sock, "POST", path, "", &a);
		http_answer_free(&a);
	}
}

#define ON_ARGS_MAX 8
static const char *on_args[ON_ARGS_MAX + 1];

static int run(const struct scenario *sc, const char *mode, unsigned slo_us, int settle_s,
               struct figures *f)
{
	char opt[32], name[32];
	const char *extra[ON_ARGS_MAX + 3] = { opt, "--log-level=warn" };
	struct shoald_run sd;
	struct move_track *mt = calloc(1, sizeof(*mt));
	double t, cpu0 = 0, t0 = 0, churn_at;
	int i, rc = -1, stopped = 0;
	pid_t outside = -1;

	memset(f, 0, sizeof(*f));
	snprintf(opt, sizeof(opt), "--placement=%s", mode);
	for (i = 0; !strcmp(mode, "on") && on_args[i]; i++)
		extra[2 + i] = on_args[i];
	if (shoald_start(&sd, extra) < 0) {
		fprintf(stderr, "shoald did not start\n");
		shoald_dump_log(&sd);
		goto out;
	}
	for (i = 0; i < sc->nbatch; i++) {
		snprintf(name, sizeof(name), "batch-%d", i);
		if (deploy(&sd, name, shoald_guest_image(&sd, "spin"), "batch", 1000000,
		           "\"500\"") < 0)
			goto out;
	}
	if (sc->hog && deploy(&sd, "hog", shoald_guest_image(&sd, "spin"), "latency", slo_us,
	                      "\"500\",\"1000\",\"0\",\"5000\"") < 0)
		goto out;
	if (sc->storm && access(shoald_guest_image(&sd, "storm"), R_OK) != 0) {
		rc = -2; /* no storm guest in this build */
		goto out;
	}
	if (sc->storm && deploy(&sd, "storm", shoald_guest_image(&sd, "storm"), "latency", slo_us,
	                        "\"delay_ms=5000\"") < 0)
		goto out;
	for (i = 0; i < sc->nlat; i++) {
		snprintf(name, sizeof(name), "lat-%02d", i);
		if (deploy(&sd, name, shoald_guest_image(&sd, "idle"), "latency", slo_us, "") < 0)
			goto out;
	}
	if (sc->outside && (outside = outside_start()) < 0)
		goto out;
	/* The control loop acts, then the 10 s window fills with what it did. */
	churn_at = now_s() + sc->churn_s;
	for (t = now_s(); now_s() - t < settle_s;) {
		double left = settle_s - (now_s() - t);

		if (left <= 10.0 && !t0) {
			t0 = now_s();
			cpu0 = cpu_seconds(sd.pid);
		}
		if (sc->churn_s && now_s() >= churn_at) {
			batch_all(&sd, sc->nbatch, stopped ? "start" : "stop");
			stopped = !stopped;
			churn_at += sc->churn_s;
		}
		sleep(1);
		if (mt)
			track_moves(&sd, mt);
	}
	if (!t0) {
		t0 = now_s();
		cpu0 = cpu_seconds(sd.pid);
		sleep(1);
	}
	f->shoald_cpu = (cpu_seconds(sd.pid) - cpu0) / (now_s() - t0);
	fleet_latency(sd.sock, "lat-", slo_us, &f->lat);
	for (i = 0; i < sc->nbatch; i++) {
		snprintf(name, sizeof(name), "batch-%d", i);
		f->work_rate += spin_rate(&sd, name, 5000);
	}
	if (sc->hog)
		f->work_rate += spin_rate(&sd, "hog", 5000);
	if (mt) {
		track_moves(&sd, mt);
		f->moves = mt->moves;
		f->returns = mt->returns;
	}
	f->ok = 1;
	rc = 0;
out:
	if (outside > 0) {
		kill(outside, SIGKILL);
		waitpid(outside, NULL, 0);
	}
	shoald_cleanup(&sd);
	free(mt);
	return rc;
}

static void line(const char *label, const struct figures *f, int batch)
{
	char work[32] = "-";

	if (batch)
		snprintf(work, sizeof(work), "%.3g/s", f->work_rate);
	printf("  %-14s %10.1fus %10.1fus %7d/%-3d %7ld %11s %9.2f%% %6ld %7ld\n", label,
	       f->lat.p99_med, f->lat.p99_worst, f->lat.over_slo, f->lat.guests, f->lat.misses,
	       work, 100 * f->shoald_cpu, f->moves, f->returns);
}

static double mean(const double *v, int n)
{
	double s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += v[i];
	return n ? s / n : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "settle", required_argument, NULL, 's' },
		{ "slo-us", required_argument, NULL, 'S' },
		{ "on-arg", required_argument, NULL, 'o' },
		{ "on-only", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	int want[SCENARIOS] = { 1, 1, 1, 1, 1, 1 }, rounds = 2, settle = 25, c, k, non = 0,
	    on_only = 0;
	unsigned slo = 500;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'c') {
			char *p = optarg;

			memset(want, 0, sizeof(want));
			while (*p) {
				long n = strtol(p, &p, 10);

				if (n >= 1 && n <= SCENARIOS)
					want[n - 1] = 1;
				while (*p == ',')
					p++;
				if (*p && (*p < '0' || *p > '9'))
					break;
			}
		} else if (c == 'r')
			rounds = atoi(optarg) < 1 ? 1 : atoi(optarg) > 10 ? 10 : atoi(optarg);
		else if (c == 's')
			settle = atoi(optarg) < 12 ? 12 : atoi(optarg);
		else if (c == 'S')
			slo = (unsigned)(atoi(optarg) < 1 ? 1 : atoi(optarg));
		else if (c == 'o' && non < ON_ARGS_MAX && !strncmp(optarg, "--", 2))
			on_args[non++] = optarg;
		else if (c == 'O')
			on_only = 1;
		else {
			fprintf(
			    stderr,
			    "usage: placement [--scenario N[,N...]] [--rounds R] "
			    "[--settle S] [--slo-us US] [--on-arg=--OPT=VALUE ...] [--on-only]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	printf("bench/placement: the scenario matrix, %ld CPUs, SLO %u us; placement off "
	       "(the baseline) and on, alternating, %d rounds each; figures over the last 10 s, "
	       "%d s after the fleet was deployed\n",
	       sysconf(_SC_NPROCESSORS_ONLN), slo, rounds, settle);
	for (c = 0; c < non; c++)
		printf("%s shoald %s in the placement-on runs", c ? "," : "", on_args[c]);
	if (non)
		printf("\n");
	for (k = 0; k < SCENARIOS; k++) {
		const struct scenario *sc = &scenarios[k];
		struct figures off[10] = { 0 }, on[10] = { 0 };
		double p99m[2][10], p99w[2][10], work[2][10], cpu[2][10];
		int r, batch = sc->nbatch || sc->hog;

		if (!want[k])
			continue;
		printf("\n%d. %s: %s\n", k + 1, sc->name, sc->what);
		printf("  %-14s %12s %12s %11s %7s %11s %10s %6s %7s\n", "", "p99 median",
		       "p99 worst", "over SLO", "misses", "batch work", "shoald CPU", "moves",
		       "returns");
		for (r = 0; r < rounds; r++) {
			char label[32];

			int ro = on_only ? 0 : run(sc, "off", slo, settle, &off[r]);

			if (ro == -2) {
				printf("  (skipped: no storm guest in this build)\n");
				break;
			}
			if (ro < 0 || run(sc, "on", slo, settle, &on[r]) < 0)
				return 1;
			snprintf(label, sizeof(label), "off (round %d)", r + 1);
			if (!on_only)
				line(label, &off[r], batch);
			snprintf(label, sizeof(label), "on  (round %d)", r + 1);
			line(label, &on[r], batch);
			p99m[0][r] = off[r].lat.p99_med;
			p99m[1][r] = on[r].lat.p99_med;
			p99w[0][r] = off[r].lat.p99_worst;
			p99w[1][r] = on[r].lat.p99_worst;
			work[0][r] = off[r].work_rate;
			work[1][r] = on[r].work_rate;
			cpu[0][r] = off[r].shoald_cpu;
			cpu[1][r] = on[r].shoald_cpu;
		}
		if (r < rounds || on_only)
			continue;
		printf(
		    "  off/on, means of the rounds: median guest's p99 %.1fx lower, worst guest's "
		    "%.1fx lower",
		    mean(p99m[1], rounds) > 0 ? mean(p99m[0], rounds) / mean(p99m[1], rounds) : 0,
		    mean(p99w[1], rounds) > 0 ? mean(p99w[0], rounds) / mean(p99w[1], rounds) : 0);
		if (batch && mean(work[0], rounds) > 0)
			printf(", batch work %+.0f %%",
			       100 * (mean(work[1], rounds) / mean(work[0], rounds) - 1));
		printf("; shoald %.2f %% of a core off, %.2f %% on\n", 100 * mean(cpu[0], rounds),
		       100 * mean(cpu[1], rounds));
	}
	return 0;
}
