/*
 * bench/deploy: how shoald's costs grow with the guests it runs.  At each
 * level (by default 1, 500, 1,000 and 2,000 idle guests running) it
 * measures, beside the bare tender's boot time from the same run (cold:
 * fork+exec of shoal-vmm to guest exit; warm: a pre-made tender handed
 * the image, to guest exit):
 *   - API deploy -> running (POST with wait=1: answered once the guest runs);
 *   - stop -> tender gone (DELETE, then until the tender's process is gone);
 *   - GET /v1/guests and GET /metrics: to the answer's first byte and to
 *     its last;
 *   - host memory per guest (MemAvailable's fall over the guests started,
 *     beside the guest RAM a tender has touched) and shoald's RSS per guest;
 *     the running guests' tenders' own share, from their /proc/PID/status
 *     (anonymous memory, page tables, threads): figures of their own, which
 *     other work on the machine does not move as it moves MemAvailable.
 *
 *   deploy [-n SAMPLES] [--levels 1,500,1000,2000] [--devices] [--memory-mib N]
 *
 * --devices gives every guest a NIC, on two bridges in turn (a Linux
 * bridge holds at most 1,024 ports), and a read-only disk: the bench
 * runs in a network namespace of its own and makes the bridges there.
 * Each sample deploys a guest, then deletes it, so the number running
 * stays at the level.  Samples are 20 ms apart.  Never pass/fail.
 *
 * SIGINT, SIGTERM or SIGHUP ends it as its end does: shoald and every
 * tender stopped, its directory removed (the levels done reported); it
 * then ends by that signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "tests/lib/httpc.h"
#include "tests/lib/shoald_run.h"

#define NBRIDGES 2

static struct shoald_run sd;
static int devices;
static char disk_sha[80];
static unsigned memory_mib = 16;
/* The signal that asked the bench to end, or 0: the loops look at it between requests. */
static volatile sig_atomic_t stop_sig;

static void on_stop_signal(int sig)
{
	stop_sig = sig;
}

/* The spec's devices: a NIC on bridge (i % NBRIDGES) and the disk, or "". */
static void spec_devices(int i, char *buf, size_t len)
{
	if (!devices) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len,
	         ",\"net\":[{\"name\":\"lan\",\"bridge\":\"shoalb%d\"}],"
	         "\"disks\":[{\"name\":\"d\",\"image\":\"%s\",\"readonly\":true}]",
	         i % NBRIDGES, disk_sha);
}

/* Deploy; *ms the time to the answer, *pid the tender's (0 if not said). */
static int deploy(const char *name, int i, const char *image, double *ms, long *pid)
{
	char spec[1024], dev[256];
	struct http_answer a;
	uint64_t t0;
	int st;

	spec_devices(i, dev, sizeof(dev));
	snprintf(spec, sizeof(spec), "{\"name\":\"%s\",\"image\":\"%s\",\"memory_mib\":%u%s}", name,
	         image, memory_mib, dev);
	t0 = bl_now_ns();
	if (http_req(sd.sock, "POST", "/v1/guests", spec, &a) < 0)
		return -1;
	*ms = (double)(bl_now_ns() - t0) / 1e6;
	st = a.status;
	if (st != 201)
		fprintf(stderr, "deploy %s: %d %s\n", name, st, a.body);
	if (pid) {
		json_t *p = a.json ? json_object_get(a.json, "pid") : NULL;

		*pid = json_is_integer(p) ? (long)json_integer_value(p) : 0;
	}
	http_answer_free(&a);
	return st == 201 ? 0 : -1;
}

/* 1 while pid is a process that has not ended (a zombie has ended). */
static int alive(long pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* DELETE, then wait (up to 5 s) for the tender to be gone: the time to that, in ms. */
static double delete_gone(const char *name, long pid)
{
	struct http_answer a;
	char path[128];
	uint64_t t0 = bl_now_ns();

	snprintf(path, sizeof(path), "/v1/guests/%s", name);
	http_req(sd.sock, "DELETE", path, NULL, &a);
	http_answer_free(&a);
	while (pid > 0 && alive(pid) && bl_now_ns() - t0 < 5000000000ull)
		usleep(50);
	return (double)(bl_now_ns() - t0) / 1e6;
}

/* GET path on a fresh connection: ms to the first byte and to the last; bytes read. -1 on error. */
static long get_timed(const char *path, double *first_ms, double *all_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[256], buf[65536];
	uint64_t t0;
	long total = 0;
	ssize_t r;
	int fd;

	if (strlen(sd.sock) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, sd.sock, strlen(sd.sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: shoald\r\nConnection: close\r\n\r\n",
	         path);
	t0 = bl_now_ns();
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	*first_ms = -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
		if (r <= 0)
			continue;
		if (*first_ms < 0)
			*first_ms = (double)(bl_now_ns() - t0) / 1e6;
		total += r;
	}
	*all_ms = (double)(bl_now_ns() - t0) / 1e6;
	close(fd);
	return total;
}

/* A /proc/meminfo or /proc/PID/status field, in KiB; -1 if absent. */
static long kib_field(const char *file, const char *field)
{
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The guest RAM a tender has touched: the Rss of its largest mapping, in KiB. */
static long guest_ram_kib(long pid)
{
	char path[64], line[256];
	unsigned long lo, hi, best = 0;
	long best_rss = -1;
	int in_best = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/smaps", pid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' '), *dash = strchr(line, '-');

		if (dash && sp && dash < sp && sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in_best = hi - lo > best;
			if (in_best)
				best = hi - lo;
		} else if (in_best && !strncmp(line, "Rss:", 4)) {
			best_rss = strtol(line + 4, NULL, 10);
			in_best = 0;
		}
	}
	fclose(f);
	return best_rss;
}

static int sh(const char *cmd)
{
	int r = system(cmd);

	if (r != 0)
		fprintf(stderr, "bench/deploy: \"%s\" failed\n", cmd);
	return r;
}

/* --devices: a network namespace of our own, with the bridges. */
static int devices_setup(void)
{
	char cmd[256];
	int i;

	/* And a mount namespace with the new network namespace's /sys, as ip netns exec makes. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		perror("bench/deploy: unshare(CLONE_NEWNET | CLONE_NEWNS) (--devices needs root)");
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2("/sys", MNT_DETACH) < 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) < 0) {
		perror("bench/deploy: a /sys of the new network namespace");
		return -1;
	}
	if (sh("ip link set lo up") != 0)
		return -1;
	for (i = 0; i < NBRIDGES; i++) {
		snprintf(cmd, sizeof(cmd),
		         "ip link add shoalb%d type bridge && ip link set shoalb%d up", i, i);
		if (sh(cmd) != 0)
			return -1;
	}
	return 0;
}

/* The guests' read-only disk: 1 MiB of zeros, uploaded once. */
static int disk_upload(void)
{
	const size_t size = 1 << 20;
	struct http_answer a;
	char *req;
	json_t *sha;
	int hl, r = -1;

	if (!(req = calloc(1, 256 + size)))
		return -1;
	hl = snprintf(req, 256,
	              "POST /v1/images?kind=disk HTTP/1.1\r\nHost: shoald\r\nContent-Type: "
	              "application/octet-stream\r\nContent-Length: %zu\r\nConnection: "
	              "close\r\n\r\n",
	              size);
	if (http_raw(sd.sock, req, (size_t)hl + size, 10000, &a) == 0 && a.status == 201 &&
	    a.json && json_is_string(sha = json_object_get(a.json, "sha256"))) {
		snprintf(disk_sha, sizeof(disk_sha), "%s", json_string_value(sha));
		r = 0;
	} else
		fprintf(stderr, "bench/deploy: the disk upload failed: %d %s\n", a.status,
		        a.body ? a.body : "");
	http_answer_free(&a);
	free(req);
	return r;
}

/* One level's samples: deploy -> running and stop -> gone, in ms. */
static int sample_level(int level, int n, const char *idle, double *t_dep, double *t_stop)
{
	char name[64];
	int i, bad = 0;

	for (i = 0; i < n && !stop_sig; i++) {
		long pid = 0;

		snprintf(name, sizeof(name), "m-%d-%d", level, i);
		if (deploy(name, level + i, idle, &t_dep[i], &pid) < 0)
			bad++;
		t_stop[i] = delete_gone(name, pid);
		usleep(20000);
	}
	return bad;
}

/* k GETs of path: the median to the first byte and to the last, and the size. */
static void get_level(const char *path, int k, double *first, double *all, long *bytes)
{
	double f[16], a[16];
	int i, got = 0;

	for (i = 0; i < k && i < 16; i++) {
		long b = get_timed(path, &f[got], &a[got]);

		if (b > 0) {
			*bytes = b;
			got++;
		}
	}
	*first = got ? bl_quantile(f, (size_t)got, 0.5) : -1;
	*all = got ? bl_quantile(a, (size_t)got, 0.5) : -1;
}

/* Where a guest's host memory goes, from /proc/meminfo (KiB). */
static const char *const mem_fields[] = { "AnonPages", "PageTables", "KernelStack", "SUnreclaim",
	                                  "Shmem" };
#define NMEM (sizeof(mem_fields) / sizeof(mem_fields[0]))

static void mem_sample(long out[NMEM])
{
	size_t i;

	for (i = 0; i < NMEM; i++)
		out[i] = kib_field("/proc/meminfo", mem_fields[i]);
}

/* Of a tender's, from /proc/PID/status (Threads is a count, the rest KiB). */
static const char *const tender_fields[] = { "RssAnon", "VmPTE", "Threads" };
#define NTENDER (sizeof(tender_fields) / sizeof(tender_fields[0]))

/* The mean of each of tender_fields over the tenders pids (gone ones left out). */
static void tender_sample(const long *pids, int n, double out[NTENDER])
{
	size_t j;
	int i, got = 0;

	memset(out, 0, NTENDER * sizeof(out[0]));
	for (i = 0; i < n; i++) {
		char path[64];
		long v[NTENDER];

		snprintf(path, sizeof(path), "/proc/%ld/status", pids[i]);
		for (j = 0; j < NTENDER; j++)
			if ((v[j] = kib_field(path, tender_fields[j])) < 0)
				break;
		if (j < NTENDER)
			continue;
		for (j = 0; j < NTENDER; j++)
			out[j] += (double)v[j];
		got++;
	}
	for (j = 0; j < NTENDER; j++)
		out[j] = got ? out[j] / got : -1;
}

struct level_figs {
	int level;
	double mem_kib[NMEM];   /* per guest, by mem_fields */
	double tender[NTENDER]; /* a running guest's tender, by tender_fields */
	double dep50, dep99, stop50, stop99;
	double guests_first, guests_all, metrics_first, metrics_all;
	long guests_bytes, metrics_bytes;
	double host_kib, ram_kib, rss_kib; /* per guest */
	int bad;
};

static void report(const struct level_figs *figs, int nfigs)
{
	size_t j;
	int i;

	printf("%-8s %21s %21s %27s %27s %26s\n", "guests", "deploy->running ms",
	       "stop->tender gone ms", "GET /v1/guests ms", "GET /metrics ms",
	       "per guest: host / RAM / shoald");
	printf("%-8s %10s %10s %10s %10s %8s %8s %9s %8s %8s %9s %8s %8s %8s\n", "running", "p50",
	       "p99", "p50", "p99", "first", "last", "KiB", "first", "last", "KiB", "KiB", "KiB",
	       "KiB");
	for (i = 0; i < nfigs; i++) {
		const struct level_figs *f = &figs[i];

		printf("%-8d %10.2f %10.2f %10.2f %10.2f %8.2f %8.2f %9ld %8.2f %8.2f %9ld %8.0f "
		       "%8.0f "
		       "%8.1f%s\n",
		       f->level, f->dep50, f->dep99, f->stop50, f->stop99, f->guests_first,
		       f->guests_all, f->guests_bytes / 1024, f->metrics_first, f->metrics_all,
		       f->metrics_bytes / 1024, f->host_kib, f->ram_kib, f->rss_kib,
		       f->bad ? "  (some deploys failed)" : "");
	}
	printf("\nagainst the first level (%d running):\n", figs[0].level);
	for (i = 1; i < nfigs; i++) {
		const struct level_figs *f = &figs[i], *b = &figs[0];

		printf("%-8d deploy p99 %.2fx (goal <= 1.5x)   stop p99 %.2fx (goal <= 1.5x)   "
		       "/v1/guests first byte %.2fx, last %.2fx   /metrics first byte %.2fx, last "
		       "%.2fx (goal <= 5x)\n",
		       f->level, f->dep99 / b->dep99, f->stop99 / b->stop99,
		       f->guests_first / b->guests_first, f->guests_all / b->guests_all,
		       f->metrics_first / b->metrics_first, f->metrics_all / b->metrics_all);
	}
	printf("\nhost memory per guest by kind (KiB, from /proc/meminfo):\n%-8s", "running");
	for (j = 0; j < NMEM; j++)
		printf(" %12s", mem_fields[j]);
	printf("\n");
	for (i = 0; i < nfigs; i++) {
		printf("%-8d", figs[i].level);
		for (j = 0; j < NMEM; j++)
			printf(" %12.1f", figs[i].mem_kib[j]);
		printf("\n");
	}
	printf("\na running guest's tender (mean over them, from /proc/PID/status):\n%-8s",
	       "running");
	for (j = 0; j < NTENDER; j++)
		printf(" %12s", tender_fields[j]);
	printf("\n");
	for (i = 0; i < nfigs; i++) {
		printf("%-8d", figs[i].level);
		for (j = 0; j < NTENDER; j++)
			printf(" %12.1f", figs[i].tender[j]);
		printf("\n");
	}
	printf("memory goals: host memory per idle guest <= 1024 KiB beyond the guest RAM it "
	       "touched (the RAM column: the first guest's tender, its largest mapping's Rss); "
	       "shoald's RSS per guest <= 16 KiB\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "samples", required_argument, NULL, 'n' },
		{ "levels", required_argument, NULL, 'L' },
		{ "devices", no_argument, NULL, 'D' },
		{ "memory-mib", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	/* Only latency guests here: every core is a latency CPU, with room for them all. */
	const char *extra[16] = { "--log-level=warn",
		                  "--max-guests=4096",
		                  "--latency-vcpus-per-cpu=4096",
		                  "--latency-cores-percent=100",
		                  "--batch-cores-min=0",
		                  NULL };
	char levels_arg[128] = "1,500,1000,2000", *tok, *save = NULL, status_path[64], uids[64];
	unsigned long uid0;
	int n = 60, c, levels[8], nlev = 0, running = 0, i, l, ne = 5;
	double *cold, *warm, *t, *t2;
	struct level_figs figs[8];
	long mem0, rss0, sample_pid = 0, kinds0[NMEM], kinds[NMEM], *pids;
	const char *idle, *hello;
	char *vmm;
	struct sigaction sa;

	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'L')
			snprintf(levels_arg, sizeof(levels_arg), "%s", optarg);
		else if (c == 'D')
			devices = 1;
		else if (c == 'M' && atoi(optarg) >= 2 && atoi(optarg) <= 1024)
			memory_mib = (unsigned)atoi(optarg);
		else {
			fprintf(stderr,
			        "usage: deploy [-n SAMPLES] [--levels 1,500,1000,2000] [--devices] "
			        "[--memory-mib N (2 to 1024; default 16)]\n");
			return 2;
		}
	}
	if (n < 10)
		n = 10;
	for (tok = strtok_r(levels_arg, ",", &save); tok && nlev < 8;
	     tok = strtok_r(NULL, ",", &save))
		levels[nlev++] = atoi(tok);
	signal(SIGPIPE, SIG_IGN);
	/* The loops stop at their next turn (a request under way may be cut short) and the end
	 * cleans up. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	cold = calloc((size_t)n, sizeof(double));
	warm = calloc((size_t)n, sizeof(double));
	t = calloc((size_t)n, sizeof(double));
	t2 = calloc((size_t)n, sizeof(double));
	for (i = l = 0; i < nlev; i++)
		l = levels[i] > l ? levels[i] : l;
	pids = calloc((size_t)l + 1, sizeof(long));
	/*
	 * A uid for each tender: the largest level, the samples' guests and
	 * the pool, in a slice of the default range of this run's own (a
	 * test's shoald has 1,024, too few here).
	 */
	uid0 = 1879048192ul + (unsigned long)(getpid() % 15) * 4096;
	snprintf(uids, sizeof(uids), "--tender-uid-range=%lu-%lu", uid0, uid0 + 4095);
	extra[ne++] = uids;
	if (devices) {
		if (devices_setup() < 0)
			return 1;
		extra[ne++] = "--bridge=shoalb0 10.96.0.0/21";
		extra[ne++] = "--bridge=shoalb1 10.96.8.0/21";
	}
	if (shoald_start(&sd, extra) < 0) {
		fprintf(stderr, "shoald did not start; its log:\n");
		shoald_dump_log(&sd);
		shoald_cleanup(&sd);
		return 1;
	}
	if (stop_sig || (devices && disk_upload() < 0))
		goto out;
	idle = shoald_guest_image(&sd, "idle");
	hello = shoald_guest_image(&sd, "hello");
	vmm = malloc(strlen(sd.builddir) + 32);
	/* On proc the bare tender is shoal-proc, the guest run natively in its process. */
	sprintf(vmm, "%s/vmm/%s", sd.builddir, shoald_on_proc() ? "shoal-proc" : "shoal-vmm");
	snprintf(status_path, sizeof(status_path), "/proc/%d/status", (int)sd.pid);

	/* The bare tender, in the same run. */
	for (i = 0; i < n && !stop_sig; i++) {
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
			/* A warm shoal-proc says it started before it ends (as bench/boot reads
			 * it). */
			if (shoald_on_proc()) {
				int st;

				if (bl_warm_wait_started(&w, &st) == 1)
					bl_warm_wait_exit(&w, NULL);
			} else {
				bl_warm_wait_exit(&w, &t_exit);
			}
			if (!t_exit)
				t_exit = bl_now_ns();
			warm[i] = (double)(t_exit - t0) / 1e6;
			bl_warm_close(&w);
		}
	}
	printf("bench/deploy: %d samples per level, 20 ms apart; shoald's warm pool: 4 tenders; "
	       "guests (%s): idle, %u MiB%s\n\n",
	       n, shoald_on_proc() ? "proc, natively in sandboxed processes" : "kvm", memory_mib,
	       devices ? ", a NIC (on 2 bridges in turn) and a read-only 1 MiB disk each" : "");
	printf("bare tender, hello to exit:  cold median %.2f ms p99 %.2f ms   warm median %.2f ms "
	       "p99 %.2f ms\n\n",
	       bl_quantile(cold, (size_t)n, 0.5), bl_quantile(cold, (size_t)n, 0.99),
	       bl_quantile(warm, (size_t)n, 0.5), bl_quantile(warm, (size_t)n, 0.99));
	fflush(stdout);
	if (stop_sig)
		goto out;
	usleep(500000);
	mem0 = kib_field("/proc/meminfo", "MemAvailable");
	rss0 = kib_field(status_path, "VmRSS");
	mem_sample(kinds0);
	for (l = 0; l < nlev; l++) {
		struct level_figs *f = &figs[l];
		char name[64];

		memset(f, 0, sizeof(*f));
		f->level = levels[l];
		while (running < levels[l] && !stop_sig) {
			double ms;
			long pid = 0;

			snprintf(name, sizeof(name), "bg-%04d", running);
			if (deploy(name, running, idle, &ms, &pid) < 0) {
				if (!stop_sig) /* else the signal cut its request short */
					fprintf(stderr, "could not deploy background guest %d\n",
					        running);
				break;
			}
			if (!sample_pid)
				sample_pid = pid;
			pids[running++] = pid;
		}
		if (running < levels[l] || stop_sig)
			break;
		sleep(2); /* the pool refilled, the new guests' first fast probes over */
		f->host_kib = (double)(mem0 - kib_field("/proc/meminfo", "MemAvailable")) / running;
		f->rss_kib = (double)(kib_field(status_path, "VmRSS") - rss0) / running;
		f->ram_kib = sample_pid ? (double)guest_ram_kib(sample_pid) : -1;
		mem_sample(kinds);
		tender_sample(pids, running, f->tender);
		for (i = 0; i < (int)NMEM; i++)
			f->mem_kib[i] = (double)(kinds[i] - kinds0[i]) / running;
		get_level("/v1/guests", 9, &f->guests_first, &f->guests_all, &f->guests_bytes);
		get_level("/metrics", 9, &f->metrics_first, &f->metrics_all, &f->metrics_bytes);
		f->bad = sample_level(levels[l], n, idle, t, t2);
		if (stop_sig)
			break;
		f->dep50 = bl_quantile(t, (size_t)n, 0.5);
		f->dep99 = bl_quantile(t, (size_t)n, 0.99);
		f->stop50 = bl_quantile(t2, (size_t)n, 0.5);
		f->stop99 = bl_quantile(t2, (size_t)n, 0.99);
		fprintf(stderr, "bench/deploy: level %d done\n", levels[l]);
	}
	if (l > 0)
		report(figs, l);
out:
	shoald_cleanup(&sd);
	if (stop_sig) {
		fprintf(stderr,
		        "bench/deploy: ended by signal %d: shoald and its tenders stopped\n",
		        (int)stop_sig);
		signal(stop_sig, SIG_DFL);
		raise(stop_sig);
	}
	return 0;
}
