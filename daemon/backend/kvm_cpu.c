/*
 * The KVM backend's placement mechanics for a tender: where its vCPU
 * thread runs (sched_setaffinity), its class policy (SCHED_IDLE for the
 * idle class) and its weight, by the best means the host has: cgroup v2
 * cpu.weight, else cgroup v1 cpu.shares, else the vCPU thread's nice
 * value.  Each tender that gets a weight has a cgroup of its own, named
 * after its pid (tPID), so it is found again by a shoald that re-adopts
 * it after a restart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend/kvm_cpu.h"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r, e;

	if (fd < 0)
		return -1;
	r = (int)write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = e;
	return r == (int)strlen(text) ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return 0;
}

/* Is word in the space-separated list? */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n' || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * Where a cgroup hierarchy is mounted: v2 (type cgroup2), or the v1 one
 * whose super options hold the cpu controller.  From /proc/self/mountinfo.
 */
static int find_mount(int v2, char *mnt, size_t len)
{
	char line[2048];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char point[512], type[64], opts[512];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", point) != 1 ||
		    sscanf(dash + 3, "%63s %*s %511s", type, opts) != 2)
			continue;
		if (v2 ? !strcmp(type, "cgroup2")
		       : !strcmp(type, "cgroup") && has_word(opts, "cpu")) {
			snprintf(mnt, len, "%s", point);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* This process's cgroup path in the v2 hierarchy ("0::/x") or the v1 one holding cpu
 * ("N:cpu,cpuacct:/x"). */
static int self_cgroup(int v2, char *path, size_t len)
{
	char line[2048];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *nl;

		if (!c2)
			continue;
		*c2 = '\0';
		if (v2 ? !strcmp(c1 + 1, "") && !strncmp(line, "0", 1) : has_word(c1 + 1, "cpu")) {
			if ((nl = strchr(c2 + 1, '\n')))
				*nl = '\0';
			snprintf(path, len, "%s", c2 + 1);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/*
 * cgroup v2: shoald's own cgroup must hand the cpu controller down.  A
 * cgroup other than the root may not both hold processes and enable
 * controllers for its children, so shoald first moves itself into a
 * child of its own ("shoald"); the tenders' cgroups go under "guests".
 */
static int setup_v2(struct kvm_weight *w, char *why, size_t whylen)
{
	char mnt[512], self[512], base[1100], path[1400], ctl[512] = "", pid[32];

	if (find_mount(1, mnt, sizeof(mnt)) < 0 || self_cgroup(1, self, sizeof(self)) < 0)
		return -1;
	snprintf(base, sizeof(base), "%.500s%.500s", mnt, strcmp(self, "/") ? self : "");
	snprintf(path, sizeof(path), "%s/cgroup.controllers", base);
	if (read_file(path, ctl, sizeof(ctl)) < 0 || !has_word(ctl, "cpu"))
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
	if (write_file(path, "+cpu") < 0) {
		if (errno != EBUSY)
			goto fail;
		snprintf(path, sizeof(path), "%s/shoald", base);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			goto fail;
		snprintf(path, sizeof(path), "%s/shoald/cgroup.procs", base);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (write_file(path, pid) < 0)
			goto fail;
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
		if (write_file(path, "+cpu") < 0)
			goto fail;
	}
	snprintf(w->base, sizeof(w->base), "%.1000s/guests", base);
	if (mkdir(w->base, 0755) < 0 && errno != EEXIST)
		goto fail;
	w->kind = KVM_WEIGHT_CGROUP2;
	return 0;
fail:
	snprintf(why, whylen, "cgroup v2 at %.200s: %s", base, strerror(errno));
	return -1;
}

static int setup_v1(struct kvm_weight *w, char *why, size_t whylen)
{
	char mnt[512], self[512];

	if (find_mount(0, mnt, sizeof(mnt)) < 0 || self_cgroup(0, self, sizeof(self)) < 0)
		return -1;
	snprintf(w->base, sizeof(w->base), "%.500s%.500s/shoal-guests", mnt,
	         strcmp(self, "/") ? self : "");
	if (mkdir(w->base, 0755) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "cgroup v1 at %.200s: %s", w->base, strerror(errno));
		return -1;
	}
	w->kind = KVM_WEIGHT_CGROUP1;
	return 0;
}

/* Tenders' cgroups whose tender is gone (it ended while no shoald ran). */
static void sweep(struct kvm_weight *w)
{
	DIR *dir = opendir(w->base);
	struct dirent *de;

	while (dir && (de = readdir(dir))) {
		char path[1400];
		int pid;

		if (sscanf(de->d_name, "t%d", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue; /* its tender is still there */
		snprintf(path, sizeof(path), "%s/%s", w->base, de->d_name);
		rmdir(path);
	}
	if (dir)
		closedir(dir);
}

void kvm_weight_init(struct kvm_weight *w)
{
	char why2[300] = "", why1[300] = "";

	memset(w, 0, sizeof(*w));
	if (setup_v2(w, why2, sizeof(why2)) == 0 || setup_v1(w, why1, sizeof(why1)) == 0) {
		sweep(w);
		snprintf(w->desc, sizeof(w->desc), "%s in %s",
		         w->kind == KVM_WEIGHT_CGROUP2 ? "cgroup v2 cpu.weight"
		                                       : "cgroup v1 cpu.shares",
		         w->base);
		return;
	}
	w->kind = KVM_WEIGHT_NICE;
	snprintf(w->desc, sizeof(w->desc),
	         "the vCPU thread's nice value (no cgroup cpu controller%s%s%s%s)",
	         why2[0] || why1[0] ? ": " : "", why2, why2[0] && why1[0] ? "; " : "", why1);
}

/* cpu.weight 1..10000 as a nice value: each nice step is 1.25 times the weight of the next. */
static int nice_of(unsigned weight)
{
	double n = -log((double)weight / 100.) / log(1.25);

	return n < -20 ? -20 : n > 19 ? 19 : (int)lround(n);
}

static unsigned weight_of_nice(int nice)
{
	double w = 100. * pow(1.25, -nice);

	return w < 1 ? 1 : w > 10000 ? 10000 : (unsigned)lround(w);
}

static void group_path(const struct kvm_weight *w, pid_t pid, const char *file, char *buf,
                       size_t len)
{
	snprintf(buf, len, "%s/t%d%s%s", w->base, (int)pid, file ? "/" : "", file ? file : "");
}

int kvm_weight_set(struct kvm_weight *w, pid_t pid, pid_t tid, unsigned weight)
{
	char path[1400], val[32];

	if (weight < 1 || weight > 10000) {
		errno = EINVAL;
		return -1;
	}
	if (w->kind == KVM_WEIGHT_NICE)
		return setpriority(PRIO_PROCESS, (id_t)tid, nice_of(weight));
	group_path(w, pid, NULL, path, sizeof(path));
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	group_path(w, pid, "cgroup.procs", path, sizeof(path));
	snprintf(val, sizeof(val), "%d", (int)pid);
	if (write_file(path, val) < 0)
		return -1;
	if (w->kind == KVM_WEIGHT_CGROUP2) {
		group_path(w, pid, "cpu.weight", path, sizeof(path));
		snprintf(val, sizeof(val), "%u", weight);
	} else {
		group_path(w, pid, "cpu.shares", path, sizeof(path));
		snprintf(val, sizeof(val), "%u", weight * 1024 / 100 < 2 ? 2 : weight * 1024 / 100);
	}
	if (write_file(path, val) < 0)
		return -1;
	/* A vCPU at SCHED_IDLE in a group of its own: the group must be idle too. */
	return sched_getscheduler(tid) == SCHED_IDLE ? kvm_weight_idle(w, pid, 1) : 0;
}

int kvm_weight_idle(const struct kvm_weight *w, pid_t pid, int idle)
{
	char path[1400];

	if (w->kind == KVM_WEIGHT_NICE)
		return 0;
	group_path(w, pid, NULL, path, sizeof(path));
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : -1;
	group_path(w, pid, "cpu.idle", path, sizeof(path));
	if (write_file(path, idle ? "1" : "0") < 0)
		return errno == ENOENT && !idle ? 0 : -1; /* a kernel without cpu.idle (< 5.15) */
	return 0;
}

unsigned kvm_weight_get(const struct kvm_weight *w, pid_t pid, pid_t tid)
{
	char path[1400], val[32];
	unsigned long v;

	if (w->kind == KVM_WEIGHT_NICE) {
		int nice;

		errno = 0;
		nice = getpriority(PRIO_PROCESS, (id_t)tid);
		return errno ? 100 : weight_of_nice(nice);
	}
	group_path(w, pid, w->kind == KVM_WEIGHT_CGROUP2 ? "cpu.weight" : "cpu.shares", path,
	           sizeof(path));
	if (read_file(path, val, sizeof(val)) < 0 || sscanf(val, "%lu", &v) != 1)
		return 100; /* no cgroup of its own: the default */
	if (w->kind == KVM_WEIGHT_CGROUP1)
		v = (v * 100 + 512) / 1024; /* back from shares = weight * 1024 / 100 */
	return v < 1 ? 1 : v > 10000 ? 10000 : (unsigned)v;
}

void kvm_weight_forget(const struct kvm_weight *w, pid_t pid)
{
	char path[1400];

	if (w->kind == KVM_WEIGHT_NICE)
		return;
	group_path(w, pid, NULL, path, sizeof(path));
	rmdir(path); /* ENOENT: it never had one; EBUSY: the tender is still there (the sweep gets
	                it) */
}

int kvm_thread_cpu_ns(pid_t pid, pid_t tid, uint64_t *ns, uint64_t *wait_ns)
{
	char path[96], buf[128];
	unsigned long long v, w;

	/* schedstat: time on a CPU, time runnable waiting for one, timeslices. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	switch (sscanf(buf, "%llu %llu", &v, &w)) {
	case 2:
		*wait_ns = w;
		/* fall through */
	case 1:
		*ns = v;
		return 0;
	default:
		return -1;
	}
}
