/*
 * bench/probe-floor: the probe round trip of the `idle` guest through
 * shoal-vmm, beside the floor: a bare vCPU in this process running a
 * guest with no runtime (floor-guest.S) on the same notify/wake path
 * (eventfd -> irqfd -> interrupt -> OUT -> ioeventfd -> eventfd).  Both
 * are measured in the same run, with the prober and the vCPU on the
 * same CPU and on different CPUs.
 *
 *   probe-floor [-n PROBES] [--vmm PATH] [--idle PATH] [--floor PATH]
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
#include "daemon/vmm/vmm.h"

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
	    vmm_vm_load(&f->vm, img, (uint64_t)st.st_size, 0, 1, argv, &status, err, sizeof(err)) < 0) {
		fprintf(stderr, "floor: %s\n", err);
		return -1;
	}
	return pthread_create(&f->thread, NULL, floor_run, f);
}

/* Probe n times with a pause between probes, so the vCPU is halted each time. */
static int measure(int kick, int note, double *out, int n)
{
	int i, missed = 0;

	for (i = 0; i < 50; i++) /* warm-up */
		bl_probe(kick, note, 1000);
	for (i = 0; i < n; i++) {
		uint64_t rtt = bl_probe(kick, note, 1000);

		if (!rtt)
			missed++;
		out[i] = (double)rtt / 1e3;
		usleep(300);
	}
	return missed;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "probes", required_argument, NULL, 'n' },
		{ "vmm", required_argument, NULL, 'V' },
		{ "idle", required_argument, NULL, 'I' },
		{ "floor", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vmm = "daemon/vmm/shoal-vmm", *idle = "unikernel-rt/examples/idle.kvm";
	const char *floor_img = "bench/floor-guest.kvm";
	int n = 2000, c, cfg, ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
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
		default:
			fprintf(stderr, "usage: probe-floor [-n PROBES] [--vmm PATH] [--idle PATH] [--floor PATH]\n");
			return 2;
		}
	}
	if (n < 100)
		n = 100;
	a = calloc((size_t)n, sizeof(double));
	b = calloc((size_t)n, sizeof(double));
	if (!a || !b)
		return 1;
	printf("bench/probe-floor: %d probes each, 300 us apart (the vCPU halts between probes)\n", n);
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
		/* The tender inherits both eventfds (bl_spawn clears CLOEXEC on one; do both here). */
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
		miss_i = measure(kick, note, b, n);
		kill(pid, SIGKILL);
		bl_wait(pid);
		close(kick);
		close(note);

		if (floor_start(&f, floor_img, vcpu_cpu) < 0)
			return 1;
		usleep(100000);
		miss_f = measure(f.kick, f.note, a, n);

		mf = bl_report("  floor (bare vCPU, no runtime)", a, (size_t)n);
		mi = bl_report("  idle through shoal-vmm", b, (size_t)n);
		printf("  ratio (median) %.2fx   ratio (p99) %.2fx   goal <= 1.5x\n", mi / mf,
		       bl_quantile(b, (size_t)n, 0.99) / bl_quantile(a, (size_t)n, 0.99));
		if (miss_f || miss_i)
			printf("  missed probes: floor %d, idle %d\n", miss_f, miss_i);
		/* The floor's vCPU thread halts for ever; it goes with the process. */
	}
	return 0;
}
