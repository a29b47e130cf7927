/*
 * bench/deploy: API deploy -> running latency of one guest while 1, 100
 * and 500 guests already run, beside the bare tender's boot time measured
 * in the same run (cold: fork+exec of shoal-vmm to guest exit; warm: a
 * pre-made tender handed the image, to guest exit).
 *
 *   deploy [-n SAMPLES] [--levels 1,100,500]
 *
 * Each sample deploys an idle guest through the API with wait=1 (the
 * answer comes once the guest runs), then deletes it, so the number of
 * running guests stays at the level.  Samples are 20 ms apart.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "tests/lib/httpc.h"
#include "tests/lib/shoald_run.h"

static struct shoald_run sd;

static int deploy(const char *name, const char *image, double *ms)
{
	char spec[1024];
	struct http_answer a;
	uint64_t t0;
	int st;

	snprintf(spec, sizeof(spec), "{\"name\":\"%s\",\"image\":\"%s\",\"memory_mib\":16}", name,
	         image);
	t0 = bl_now_ns();
	if (http_req(sd.sock, "POST", "/v1/guests", spec, &a) < 0)
		return -1;
	*ms = (double)(bl_now_ns() - t0) / 1e6;
	st = a.status;
	if (st != 201)
		fprintf(stderr, "deploy %s: %d %s\n", name, st, a.body);
	http_answer_free(&a);
	return st == 201 ? 0 : -1;
}

static void delete (const char *name)
{
	struct http_answer a;
	char path[128];

	snprintf(path, sizeof(path), "/v1/guests/%s", name);
	http_req(sd.sock, "DELETE", path, NULL, &a);
	http_answer_free(&a);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "samples", required_argument, NULL, 'n' },
		{ "levels", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	/* Only latency guests here: every core is a latency CPU, with room for them all. */
	static const char *const extra[] = { "--log-level=warn",
		                             "--max-guests=4096",
		                             "--latency-vcpus-per-cpu=4096",
		                             "--latency-cores-percent=100",
		                             "--batch-cores-min=0",
		                             NULL };
	char levels_arg[128] = "1,100,500", *tok, *save = NULL;
	int n = 60, c, levels[8], nlev = 0, running = 0, i, l;
	double *cold, *warm, *t, p99_first = 0;
	const char *idle, *hello;
	char *vmm;

	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'L')
			snprintf(levels_arg, sizeof(levels_arg), "%s", optarg);
		else {
			fprintf(stderr, "usage: deploy [-n SAMPLES] [--levels 1,100,500]\n");
			return 2;
		}
	}
	if (n < 10)
		n = 10;
	for (tok = strtok_r(levels_arg, ",", &save); tok && nlev < 8;
	     tok = strtok_r(NULL, ",", &save))
		levels[nlev++] = atoi(tok);
	signal(SIGPIPE, SIG_IGN);
	cold = calloc((size_t)n, sizeof(double));
	warm = calloc((size_t)n, sizeof(double));
	t = calloc((size_t)n, sizeof(double));
	if (shoald_start(&sd, extra) < 0) {
		fprintf(stderr, "shoald did not start; its log:\n");
		shoald_dump_log(&sd);
		shoald_cleanup(&sd);
		return 1;
	}
	idle = shoald_guest_image(&sd, "idle");
	hello = shoald_guest_image(&sd, "hello");
	vmm = malloc(strlen(sd.builddir) + 32);
	sprintf(vmm, "%s/vmm/shoal-vmm", sd.builddir);

	/* The bare tender, in the same run. */
	for (i = 0; i < n; i++) {
		char *argv_cold[] = { vmm, (char *)hello, NULL };
		char *guest_argv[] = { "hello", NULL };
		struct bl_warm w;
		uint64_t t0, t_exit = 0;

		t0 = bl_now_ns();
		bl_wait(bl_spawn(argv_cold, 1, -1));
		cold[i] = (double)(bl_now_ns() - t0) / 1e6;
		if (bl_warm_start(vmm, 32, &w) == 0) {
			t0 = bl_now_ns();
			bl_warm_boot(&w, hello, "hello", 1, guest_argv);
			bl_warm_wait_exit(&w, &t_exit);
			warm[i] = (double)(t_exit - t0) / 1e6;
			bl_warm_close(&w);
		}
	}
	printf("bench/deploy: %d samples per level, 20 ms apart; shoald's warm pool: 4 tenders\n\n",
	       n);
	printf("bare tender, hello to exit:  cold median %.2f ms p99 %.2f ms   warm median %.2f ms "
	       "p99 %.2f ms\n\n",
	       bl_quantile(cold, (size_t)n, 0.5), bl_quantile(cold, (size_t)n, 0.99),
	       bl_quantile(warm, (size_t)n, 0.5), bl_quantile(warm, (size_t)n, 0.99));
	printf("%-18s %12s %12s %12s %16s\n", "guests running", "p50 (ms)", "p99 (ms)", "max (ms)",
	       "p99 vs first");
	for (l = 0; l < nlev; l++) {
		char name[64];
		double p50, p99;
		int bad = 0;

		while (running < levels[l]) {
			double ms;

			snprintf(name, sizeof(name), "bg-%04d", running);
			if (deploy(name, idle, &ms) < 0) {
				fprintf(stderr, "could not deploy background guest %d\n", running);
				goto out;
			}
			running++;
		}
		usleep(500000);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "m-%d-%d", levels[l], i);
			if (deploy(name, idle, &t[i]) < 0)
				bad++;
			delete (name);
			usleep(20000);
		}
		p50 = bl_quantile(t, (size_t)n, 0.5);
		p99 = bl_quantile(t, (size_t)n, 0.99);
		if (l == 0)
			p99_first = p99;
		printf("%-18d %12.2f %12.2f %12.2f %15.2fx%s\n", levels[l], p50, p99, t[n - 1],
		       p99 / p99_first, bad ? "  (some deploys failed)" : "");
	}
	printf("\ngoal: p99 with %d running <= 1.5x p99 with %d running\n", levels[nlev - 1],
	       levels[0]);
out:
	shoald_cleanup(&sd);
	return 0;
}
