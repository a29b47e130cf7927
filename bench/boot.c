/*
 * bench/boot: how long a guest takes from "run this image" to its exit,
 * beside fork+exec+wait of /bin/true measured in the same run.
 *
 *   cold: fork+exec of shoal-vmm, VM created, image loaded, run to exit
 *   warm: a tender whose VM and vCPU exist already is handed the image;
 *         timed from the hand-over to the guest's exit (EXITED message),
 *         and to the tender process being reaped
 *   proc: fork+exec of shoal-proc, the guest loaded into the process,
 *         jailed and run to exit (no VM at all); and warm, a shoal-proc
 *         that sent READY is handed the image, timed to the guest reaped
 *         (a proc guest sends no EXITED: its end is its exit status); and
 *         cold again as shoald starts every proc guest: in the one empty
 *         mount namespace it makes at its start (--mntns-fd) instead of a
 *         new one each run, whose making and teardown (~0.1 ms, in the
 *         kernel) is the rest of the by-hand figure
 *   jail: warm tenders of both kinds started as shoald starts them (a uid
 *         of their own, a pid namespace of their own, the one empty mount
 *         and network namespaces, /dev/kvm handed over), beside the same
 *         unjailed, interleaved: spawn to READY (the pool's refill, or
 *         what a tender made on the spot adds) and hand-over to exit
 *
 * Runs are interleaved with the baseline so that both see the same noise.
 *   boot [-n RUNS] [--vmm PATH] [--image PATH] [--proc PATH] [--proc-image PATH]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib.h"

/* Cold proc starts in one mount namespace made ahead, beside /bin/true. */
static void proc_shared_ns(const char *proc, const char *image, int runs, double *t_true,
                           double *t_proc, int *bad, double *m_true, double *m_proc)
{
	char *true_argv[] = { "/bin/true", NULL };
	char arg[16];
	char *argv[] = { (char *)proc, "--mntns-fd", arg, (char *)image, "a", "b", "c", NULL };
	int ns = bl_empty_mntns(), i;

	if (ns < 0) {
		printf("  (cold in a shared mount namespace: skipped, one cannot be made here)\n");
		return;
	}
	snprintf(arg, sizeof(arg), "%d", ns);
	for (i = 0; i < runs; i++) {
		uint64_t t0 = bl_now_ns();
		int st = bl_wait(bl_spawn(true_argv, 1, -1));

		t_true[i] = (double)(bl_now_ns() - t0) / 1e3;
		*bad += st != 0;
		t0 = bl_now_ns();
		st = bl_wait(bl_spawn(argv, 1, ns));
		t_proc[i] = (double)(bl_now_ns() - t0) / 1e3;
		*bad += st != 0;
	}
	close(ns);
	printf("  cold as shoald starts it: in the one empty mount namespace shoald makes at its "
	       "start (--mntns-fd):\n");
	*m_true = bl_report("  fork+exec+wait /bin/true", t_true, (size_t)runs);
	*m_proc = bl_report("  shoal-proc hello, cold, as shoald starts it", t_proc, (size_t)runs);
	printf("  ratio (median) %.2fx   ratio (p99) %.2fx   goal <= 1.2x\n", *m_proc / *m_true,
	       bl_quantile(t_proc, (size_t)runs, 0.99) / bl_quantile(t_true, (size_t)runs, 0.99));
}

/* One warm run: spawn to READY, then hand-over to the guest's end (EXITED, or reaped for proc). */
static int warm_once(const char *tender, const char *image, int proc, const struct bl_jail *j,
                     double *ready_us, double *run_us)
{
	char *guest_argv[] = { "hello", "a", "b", "c", NULL };
	struct bl_warm w;
	uint64_t t0, t_exit = 0;
	int st;

	t0 = bl_now_ns();
	if (bl_warm_start_jailed(tender, 32, j, &w) < 0)
		return -1;
	*ready_us = (double)(bl_now_ns() - t0) / 1e3;
	t0 = bl_now_ns();
	st = bl_warm_boot(&w, image, "hello", 4, guest_argv);
	if (st == 0 && proc && bl_warm_wait_started(&w, &st) == 1)
		st = bl_warm_wait_exit(&w, NULL);
	else if (st == 0 && !proc)
		st = bl_warm_wait_exit(&w, &t_exit);
	*run_us = (double)((proc ? bl_now_ns() : t_exit) - t0) / 1e3;
	bl_warm_close(&w);
	return st;
}

/* Jailed against unjailed warm tenders, interleaved (the file's comment). */
static void jail_compare(const char *tender, const char *image, int proc, int runs, int *bad)
{
	double *r_u = calloc((size_t)runs, sizeof(double)),
	       *r_j = calloc((size_t)runs, sizeof(double));
	double *x_u = calloc((size_t)runs, sizeof(double)),
	       *x_j = calloc((size_t)runs, sizeof(double));
	double m_ru, m_rj, m_xu, m_xj;
	struct bl_jail j;
	int i;

	if (!r_u || !r_j || !x_u || !x_j || bl_jail_make(&j, 2900000100u) < 0) {
		printf("\njail: skipped (its namespaces cannot be made here: not root?)\n");
		goto out;
	}
	if (proc) {
		close(j.kvm_fd);
		j.kvm_fd = -1;
	}
	for (i = 0; i < runs; i++) {
		*bad += warm_once(tender, image, proc, NULL, &r_u[i], &x_u[i]) != 0;
		*bad += warm_once(tender, image, proc, &j, &r_j[i], &x_j[i]) != 0;
	}
	printf("\n%s warm, jailed as shoald starts it, against unjailed (interleaved)\n",
	       proc ? "shoal-proc" : "shoal-vmm");
	m_ru = bl_report("  unjailed: spawn to READY", r_u, (size_t)runs);
	m_rj = bl_report("  jailed:   spawn to READY", r_j, (size_t)runs);
	m_xu = bl_report(proc ? "  unjailed: hand-over to reaped" : "  unjailed: hand-over to exit",
	                 x_u, (size_t)runs);
	m_xj = bl_report(proc ? "  jailed:   hand-over to reaped" : "  jailed:   hand-over to exit",
	                 x_j, (size_t)runs);
	printf("  jailed / unjailed (median): spawn to READY %.2fx, hand-over %.2fx\n", m_rj / m_ru,
	       m_xj / m_xu);
	close(j.mntns_fd);
	close(j.netns_fd);
	if (j.kvm_fd >= 0)
		close(j.kvm_fd);
out:
	free(r_u);
	free(r_j);
	free(x_u);
	free(x_j);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "vmm", required_argument, NULL, 'V' },
		{ "image", required_argument, NULL, 'I' },
		{ "proc", required_argument, NULL, 'P' },
		{ "proc-image", required_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vmm = "vmm/shoal-vmm", *image = "unikernel-rt/examples/hello.kvm";
	const char *proc = "vmm/shoal-proc", *proc_image = "unikernel-rt/examples/hello.proc";
	int runs = 200, c, i, bad = 0;
	double *t_true, *t_cold, *t_true2, *t_warm, *t_warm_reap, *t_true3, *t_proc, *t_pwarm;
	double *t_true4, *t_pns;
	double m_true, m_cold, m_true2, m_warm, m_reap, m_true3, m_proc, m_pwarm, m_true4, m_pns;
	char *true_argv[] = { "/bin/true", NULL };

	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			runs = atoi(optarg);
			break;
		case 'V':
			vmm = optarg;
			break;
		case 'I':
			image = optarg;
			break;
		case 'P':
			proc = optarg;
			break;
		case 'Q':
			proc_image = optarg;
			break;
		default:
			fprintf(stderr, "usage: boot [-n RUNS] [--vmm PATH] [--image PATH] "
			                "[--proc PATH] [--proc-image PATH]\n");
			return 2;
		}
	}
	if (runs < 10)
		runs = 10;
	t_true = calloc((size_t)runs, sizeof(double));
	t_cold = calloc((size_t)runs, sizeof(double));
	t_true2 = calloc((size_t)runs, sizeof(double));
	t_warm = calloc((size_t)runs, sizeof(double));
	t_warm_reap = calloc((size_t)runs, sizeof(double));
	t_true3 = calloc((size_t)runs, sizeof(double));
	t_proc = calloc((size_t)runs, sizeof(double));
	t_pwarm = calloc((size_t)runs, sizeof(double));
	t_true4 = calloc((size_t)runs, sizeof(double));
	t_pns = calloc((size_t)runs, sizeof(double));
	if (!t_true || !t_cold || !t_true2 || !t_warm || !t_warm_reap || !t_true3 || !t_proc ||
	    !t_pwarm || !t_true4 || !t_pns)
		return 1;

	printf("bench/boot: %s through %s, %d runs each, interleaved with /bin/true\n", image, vmm,
	       runs);
	for (i = 0; i < runs; i++) {
		char *cold_argv[] = { (char *)vmm, (char *)image, "a", "b", "c", NULL };
		uint64_t t0;
		int st;

		t0 = bl_now_ns();
		st = bl_wait(bl_spawn(true_argv, 1, -1));
		t_true[i] = (double)(bl_now_ns() - t0) / 1e3;
		if (st != 0)
			bad++;
		t0 = bl_now_ns();
		st = bl_wait(bl_spawn(cold_argv, 1, -1));
		t_cold[i] = (double)(bl_now_ns() - t0) / 1e3;
		if (st != 0)
			bad++;
	}
	for (i = 0; i < runs; i++) {
		char *guest_argv[] = { "hello", "a", "b", "c", NULL };
		struct bl_warm w;
		uint64_t t0, t_exit = 0;
		int st;

		if (bl_warm_start(vmm, 32, &w) < 0) {
			fprintf(stderr, "cannot start a warm tender\n");
			return 1;
		}
		t0 = bl_now_ns();
		st = bl_warm_boot(&w, image, "hello", 4, guest_argv);
		if (st == 0)
			st = bl_warm_wait_exit(&w, &t_exit);
		t_warm_reap[i] = (double)(bl_now_ns() - t0) / 1e3;
		t_warm[i] = (double)(t_exit - t0) / 1e3;
		if (st != 0)
			bad++;
		bl_warm_close(&w);
		t0 = bl_now_ns();
		st = bl_wait(bl_spawn(true_argv, 1, -1));
		t_true2[i] = (double)(bl_now_ns() - t0) / 1e3;
		if (st != 0)
			bad++;
	}
	printf("\ncold\n");
	m_true = bl_report("  fork+exec+wait /bin/true", t_true, (size_t)runs);
	m_cold = bl_report("  shoal-vmm hello, cold", t_cold, (size_t)runs);
	printf("  ratio (median) %.2fx   ratio (p99) %.2fx   goal <= 5x\n", m_cold / m_true,
	       bl_quantile(t_cold, (size_t)runs, 0.99) / bl_quantile(t_true, (size_t)runs, 0.99));
	printf("\nwarm (VM and vCPU made ahead of time)\n");
	m_true2 = bl_report("  fork+exec+wait /bin/true", t_true2, (size_t)runs);
	m_warm = bl_report("  hand-over to guest exit", t_warm, (size_t)runs);
	m_reap = bl_report("  hand-over to tender reaped", t_warm_reap, (size_t)runs);
	printf("  ratio (median) %.2fx   ratio (p99) %.2fx   goal <= 1x\n", m_warm / m_true2,
	       bl_quantile(t_warm, (size_t)runs, 0.99) / bl_quantile(t_true2, (size_t)runs, 0.99));
	printf("  with reaping:  ratio (median) %.2fx\n", m_reap / m_true2);

	if (access(proc, X_OK) != 0 || access(proc_image, R_OK) != 0) {
		printf("\nproc: skipped (%s or %s is missing)\n", proc, proc_image);
	} else {
		for (i = 0; i < runs; i++) {
			char *proc_argv[] = {
				(char *)proc, (char *)proc_image, "a", "b", "c", NULL
			};
			uint64_t t0;
			int st;

			t0 = bl_now_ns();
			st = bl_wait(bl_spawn(true_argv, 1, -1));
			t_true3[i] = (double)(bl_now_ns() - t0) / 1e3;
			if (st != 0)
				bad++;
			t0 = bl_now_ns();
			st = bl_wait(bl_spawn(proc_argv, 1, -1));
			t_proc[i] = (double)(bl_now_ns() - t0) / 1e3;
			if (st != 0)
				bad++;
		}
		for (i = 0; i < runs; i++) {
			char *guest_argv[] = { "hello", "a", "b", "c", NULL };
			struct bl_warm w;
			uint64_t t0;
			int st;

			if (bl_warm_start(proc, 32, &w) < 0) {
				fprintf(stderr, "cannot start a warm shoal-proc\n");
				return 1;
			}
			t0 = bl_now_ns();
			st = bl_warm_boot(&w, proc_image, "hello", 4, guest_argv);
			if (st == 0 && bl_warm_wait_started(&w, &st) == 1)
				st = bl_warm_wait_exit(&w, NULL);
			t_pwarm[i] = (double)(bl_now_ns() - t0) / 1e3;
			if (st != 0)
				bad++;
			bl_warm_close(&w);
		}
		printf("\nproc (the guest as a sandboxed process: %s)\n", proc_image);
		m_true3 = bl_report("  fork+exec+wait /bin/true", t_true3, (size_t)runs);
		m_proc = bl_report("  shoal-proc hello, cold, run by hand", t_proc, (size_t)runs);
		printf(
		    "  ratio (median) %.2fx   ratio (p99) %.2fx   (its own mount namespace, made "
		    "and torn down each run)\n",
		    m_proc / m_true3,
		    bl_quantile(t_proc, (size_t)runs, 0.99) /
		        bl_quantile(t_true3, (size_t)runs, 0.99));
		m_pwarm = bl_report("  shoal-proc hello, warm: hand-over to reaped", t_pwarm,
		                    (size_t)runs);
		printf("  warm ratio (median) %.2fx\n", m_pwarm / m_true3);
		proc_shared_ns(proc, proc_image, runs, t_true4, t_pns, &bad, &m_true4, &m_pns);
	}
	jail_compare(vmm, image, 0, runs, &bad);
	if (access(proc, X_OK) == 0 && access(proc_image, R_OK) == 0)
		jail_compare(proc, proc_image, 1, runs, &bad);
	if (bad)
		printf("\nWARNING: %d runs did not exit 0\n", bad);
	return bad ? 1 : 0;
}
