/*
 * bench/probe-floor: the probe round trip of the `idle` guest through
 * shoal-vmm, beside the floor: a bare vCPU in this process running a
 * guest with no runtime (floor-guest.S) on the same notify/wake path
 * (eventfd -> irqfd -> interrupt -> OUT -> ioeventfd -> eventfd).  Both
 * are measured in the same run, with the prober and the vCPU on the
 * same CPU and on different CPUs.  Then the same idle guest deployed
 * through shoald, whose probe engine measures it (at 100 Hz, the engine's
 * fastest, for --engine-s seconds; shoald pinned where the prober was,
 * the guest's vCPU where the floor's was): what an operator sees on
 * GET /v1/guests/NAME/latency, beside the floor probed at the engine's
 * pace.  The pace matters: a vCPU and a prober that sleep 10 ms between
 * probes wake from deeper idle than ones that sleep 300 us.
 *
 *   probe-floor [-n PROBES] [--engine-s S] [--vmm PATH] [--idle PATH] [--floor PATH]
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "vmm/vmm.h"
#include "tests/lib/httpc.h"
#include "tests/lib/shoald_run.h"

#define GAP_US        300   /* between the tight probes */
#define ENGINE_GAP_US 10000 /* the engine's pace at 100 Hz */

struct floor {
	struct vmm_vm vm;
	int kick, note, cpu;
	pthread_t thread;
};

static void *floor_run(void *arg)
{
	struct floor *f = arg;
	struct vmm_hc_result res;

	bl_pin(0, f->cpu);
	vmm_vm_run(&f->vm, NULL, &res);
	fprintf(stderr, "floor guest ended: %s\n", res.reason);
	return NULL;
}

static int floor_start(struct floor *f, const char *image, int cpu)
{
	char err[512], *argv[] = { "floor", NULL };
	struct stat st;
	int fd, status;
	void *img;

	f->cpu = cpu;
	f->kick = eventfd(0, EFD_CLOEXEC);
	f->note = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return -1;
	if (vmm_vm_create(&f->vm, 2u << 20, err, sizeof(err)) < 0 ||
	    vmm_vm_wire_port(&f->vm, SHOAL_PORT_PROBE, f->kick, f->note, err, sizeof(err)) < 0 ||
	    vmm_vm_load(&f->vm, img, (uint64_t)st.st_size, 0, 1, argv, &status, err, sizeof(err)) <
	        0) {
		fprintf(stderr, "floor: %s\n", err);
		return -1;
	}
	return pthread_create(&f->thread, NULL, floor_run, f);
}

/* Probe n times with a pause between probes, so the vCPU is halted each time. */
static int measure(int kick, int note, double *out, int n, int gap_us)
{
	int i, missed = 0;

	for (i = 0; i < 50; i++) /* warm-up */
		bl_probe(kick, note, 1000);
	for (i = 0; i < n; i++) {
		uint64_t rtt = bl_probe(kick, note, 1000);

		if (!rtt)
			missed++;
		out[i] = (double)rtt / 1e3;
		usleep((unsigned)gap_us);
	}
	return missed;
}

/* A number inside a JSON object by a dotted path; -1 when absent. */
static double jnum(const json_t *o, const char *a, const char *b, const char *c)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(o, a), b), c);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/*
 * The idle guest through shoald's probe engine, with shoald on CPU 0 and
 * the guest's vCPU on vcpu_cpu; the 10 s window's median and p99 after
 * `seconds` of probing.  0, or -1 when something did not work.
 */
static int engine_measure(struct shoald_run *sd, const char *idle, int vcpu_cpu, int seconds,
                          double *p50, double *p99, double *samples)
{
	struct http_answer a;
	char spec[4200], path[128];
	json_t *g;
	int tid;

	snprintf(spec, sizeof(spec), "{\"name\":\"floor-%d\",\"image\":\"%s\",\"memory_mib\":8}",
	         vcpu_cpu, idle);
	if (http_req(sd->sock, "POST", "/v1/guests", spec, &a) < 0 || a.status != 201) {
		fprintf(stderr, "deploy through shoald: %d %s\n", a.status, a.body ? a.body : "");
		http_answer_free(&a);
		return -1;
	}
	tid = (int)json_integer_value(json_object_get(a.json, "pid"));
	http_answer_free(&a);
	snprintf(path, sizeof(path), "/v1/guests/floor-%d", vcpu_cpu);
	if (http_req(sd->sock, "GET", path, NULL, &a) == 0 && a.json)
		tid = (int)json_integer_value(json_object_get(a.json, "vcpu_tid"));
	http_answer_free(&a);
	bl_pin(tid, vcpu_cpu);
	sleep((unsigned)seconds);
	snprintf(path, sizeof(path), "/v1/guests/floor-%d/latency", vcpu_cpu);
	if (http_req(sd->sock, "GET", path, NULL, &a) < 0 || !a.json) {
		http_answer_free(&a);
		return -1;
	}
	g = a.json;
	*p50 = jnum(g, "windows", "10s", "p50_us");
	*p99 = jnum(g, "windows", "10s", "p99_us");
	*samples = jnum(g, "windows", "10s", "samples");
	http_answer_free(&a);
	snprintf(path, sizeof(path), "/v1/guests/floor-%d", vcpu_cpu);
	http_req(sd->sock, "DELETE", path, NULL, &a);
	http_answer_free(&a);
	return *p50 > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "probes", required_argument, NULL, 'n' },
		{ "vmm", required_argument, NULL, 'V' },
		{ "idle", required_argument, NULL, 'I' },
		{ "floor", required_argument, NULL, 'F' },
		{ "engine-s", required_argument, NULL, 'E' },

		{ NULL, 0, NULL, 0 },
	};
	static const char *const sd_args[] = { "--probe-hz=100", "--pool-size=1",
		                               "--log-level=warn", NULL };
	struct shoald_run sd;
	int engine_s = 12, have_sd;
	char idle_abs[4096];
	const char *vmm = "vmm/shoal-vmm", *idle = "unikernel-rt/examples/idle.kvm";
	const char *floor_img = "bench/floor-guest.kvm";
	int n = 2000, n_paced, c, cfg, ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	double *a, *b;

	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'V':
			vmm = optarg;
			break;
		case 'I':
			idle = optarg;
			break;
		case 'F':
			floor_img = optarg;
			break;
		case 'E':
			engine_s = atoi(optarg) < 11 ? 11 : atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: probe-floor [-n PROBES] [--engine-s S] [--vmm "
			                "PATH] [--idle PATH] [--floor PATH]\n");
			return 2;
		}
	}
	if (n < 100)
		n = 100;
	n_paced = n / 4 < 100 ? 100 : n / 4;
	a = calloc((size_t)n, sizeof(double));
	b = calloc((size_t)n, sizeof(double));
	if (!a || !b)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (!realpath(idle, idle_abs))
		snprintf(idle_abs, sizeof(idle_abs), "%s", idle);
	have_sd = shoald_start(&sd, sd_args) == 0;
	if (!have_sd)
		fprintf(stderr, "probe-floor: shoald did not start; its engine is not measured\n");
	else
		bl_pin(sd.pid, 0);
	printf("bench/probe-floor: %d probes each, %d us apart (the vCPU halts between probes);\n"
	       "shoald's engine at 100 Hz for %d s (its 10 s window) beside %d floor probes 10 ms "
	       "apart\n",
	       n, GAP_US, engine_s, n_paced);
	for (cfg = 0; cfg < 2; cfg++) {
		int vcpu_cpu = cfg == 0 ? 0 : 1 % ncpu;
		struct floor f;
		char kick_s[16], note_s[16], evt[64];
		char *targv[] = { (char *)vmm, "--evtchn", evt, (char *)idle, NULL };
		int kick = eventfd(0, EFD_CLOEXEC), note = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int miss_f, miss_i;
		double mf, mi;
		pid_t pid;

		if (cfg == 1 && ncpu < 2)
			break;
		bl_pin(0, 0);
		printf("\nprober on CPU 0, vCPU on CPU %d\n", vcpu_cpu);
		/* The tender inherits both eventfds (bl_spawn clears CLOEXEC on one; do both here).
		 */
		fcntl(kick, F_SETFD, 0);
		fcntl(note, F_SETFD, 0);
		snprintf(kick_s, sizeof(kick_s), "%d", kick);
		snprintf(note_s, sizeof(note_s), "%d", note);
		snprintf(evt, sizeof(evt), "%u:%s:%s", SHOAL_PORT_PROBE, kick_s, note_s);
		pid = bl_spawn(targv, 0, -1);
		if (pid < 0)
			return 1;
		bl_pin(pid, vcpu_cpu);
		usleep(200000);
		miss_i = measure(kick, note, b, n, GAP_US);
		kill(pid, SIGKILL);
		bl_wait(pid);
		close(kick);
		close(note);

		if (floor_start(&f, floor_img, vcpu_cpu) < 0)
			return 1;
		usleep(100000);
		miss_f = measure(f.kick, f.note, a, n, GAP_US);

		mf = bl_report("  floor (bare vCPU, no runtime)", a, (size_t)n);
		mi = bl_report("  idle through shoal-vmm", b, (size_t)n);
		printf("  ratio (median) %.2fx   ratio (p99) %.2fx   goal <= 1.5x\n", mi / mf,
		       bl_quantile(b, (size_t)n, 0.99) / bl_quantile(a, (size_t)n, 0.99));
		if (have_sd) {
			double e50, e99, en, mp, p99p;

			measure(f.kick, f.note, a, n_paced, ENGINE_GAP_US);
			mp = bl_report("  floor, 10 ms apart", a, (size_t)n_paced);
			p99p = bl_quantile(a, (size_t)n_paced, 0.99);
			if (engine_measure(&sd, idle_abs, vcpu_cpu, engine_s, &e50, &e99, &en) ==
			    0) {
				printf("%-34s median %9.1f us   p99 %9.1f us   (n=%.0f)\n",
				       "  idle, shoald's engine at 100 Hz", e50, e99, en);
				printf("  engine vs floor 10 ms apart: ratio (median) %.2fx   "
				       "ratio (p99) %.2fx   goal <= 1.5x\n",
				       e50 / mp, e99 / p99p);
			} else {
				printf(
				    "  shoald's probe engine: no measurement (see its log: %s)\n",
				    sd.log);
			}
		}
		if (miss_f || miss_i)
			printf("  missed probes: floor %d, idle %d\n", miss_f, miss_i);
		/* The floor's vCPU thread halts for ever; it goes with the process. */
	}
	if (have_sd)
		shoald_cleanup(&sd);
	return 0;
}
