/*
 * See benchlib.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "common/mntns.h"
#include "common/vmm_proto.h"

uint64_t bl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bl_quantile(double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (double)n + 0.5);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return v[i];
}

int bl_pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

pid_t bl_spawn(char *const argv[], int quiet, int extra_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			if (quiet)
				dup2(null, 2);
		}
		if (extra_fd >= 0) {
			int fl = fcntl(extra_fd, F_GETFD);

			fcntl(extra_fd, F_SETFD, fl & ~FD_CLOEXEC);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int bl_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int bl_jail_make(struct bl_jail *j, unsigned uid)
{
	j->uid = uid;
	j->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	j->mntns_fd = mntns_empty();
	j->netns_fd = netns_empty();
	return j->mntns_fd >= 0 && j->netns_fd >= 0 ? 0 : -1;
}

/* As bl_spawn, the jail's descriptors kept open, in a pid namespace of its own. */
static pid_t spawn_jailed(char *const argv[], int ctl_fd, const struct bl_jail *j)
{
	int keep[4] = { ctl_fd, j->kvm_fd, j->mntns_fd, j->netns_fd }, i;
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		for (i = 0; i < 4; i++)
			if (keep[i] >= 0)
				fcntl(keep[i], F_SETFD, 0);
		setsid();
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int bl_warm_start(const char *vmm, unsigned mem_mib, struct bl_warm *w)
{
	return bl_warm_start_jailed(vmm, mem_mib, NULL, w);
}

int bl_warm_start_jailed(const char *vmm, unsigned mem_mib, const struct bl_jail *j,
                         struct bl_warm *w)
{
	struct vmm_msg_ready ready;
	char fdarg[16], memarg[16], user[32], kvm[16], mnt[16], net[16];
	char *argv[16] = { (char *)vmm, "--mem", memarg, "--control-fd", fdarg, NULL };
	int sv[2], fds[2], n = 5;
	unsigned nfds = 2;
	long r;

	memset(w, 0, sizeof(*w));
	w->sock = w->kick_fd = w->notify_fd = w->stats_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	snprintf(memarg, sizeof(memarg), "%u", mem_mib);
	if (j) {
		snprintf(user, sizeof(user), "%u:%u", j->uid, j->uid);
		snprintf(kvm, sizeof(kvm), "%d", j->kvm_fd);
		snprintf(mnt, sizeof(mnt), "%d", j->mntns_fd);
		snprintf(net, sizeof(net), "%d", j->netns_fd);
		argv[n++] = "--user";
		argv[n++] = user;
		argv[n++] = "--mntns-fd";
		argv[n++] = mnt;
		argv[n++] = "--netns-fd";
		argv[n++] = net;
		if (j->kvm_fd >= 0 && !strstr(vmm, "shoal-proc")) {
			argv[n++] = "--kvm-fd";
			argv[n++] = kvm;
		}
		argv[n] = NULL;
		w->pid = spawn_jailed(argv, sv[1], j);
	} else {
		w->pid = bl_spawn(argv, 0, sv[1]);
	}
	close(sv[1]);
	w->sock = sv[0];
	if (w->pid < 0)
		return -1;
	r = vmm_msg_recv(w->sock, &ready, sizeof(ready), fds, &nfds);
	if (r != (long)sizeof(ready) || ready.hdr.type != VMM_MSG_READY || nfds != 2) {
		fprintf(stderr, "warm tender: no READY (got %ld bytes, %u fds)\n", r, nfds);
		return -1;
	}
	w->kick_fd = fds[0];
	w->notify_fd = fds[1];
	w->vcpu_tid = ready.vcpu_tid;
	return 0;
}

int bl_warm_boot(struct bl_warm *w, const char *image, const char *name, int argc,
                 char *const argv[])
{
	return bl_warm_boot_ex(w, image, name, argc, argv, 0, -1, -1);
}

int bl_warm_disk(struct bl_warm *w, const char *name, const char *path, int readonly)
{
	struct vmm_msg_disk m;
	int fd, r;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMM_MSG_DISK;
	m.hdr.version = VMM_PROTO_VERSION;
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.readonly = readonly ? 1 : 0;
	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = vmm_msg_send(w->sock, &m, sizeof(m), &fd, 1);
	close(fd);
	return r < 0 ? -1 : 0;
}

int bl_warm_boot_ex(struct bl_warm *w, const char *image, const char *name, int argc,
                    char *const argv[], uint64_t instance, int listen_fd, int exit_fd)
{
	static union {
		struct vmm_msg_boot b;
		char raw[VMM_MSG_MAX];
	} m;
	size_t pos = 0;
	int fds[3], i, r;
	unsigned nfds = 1;

	memset(&m.b, 0, sizeof(m.b));
	m.b.hdr.type = VMM_MSG_BOOT;
	m.b.hdr.version = VMM_PROTO_VERSION;
	snprintf(m.b.name, sizeof(m.b.name), "%s", name);
	m.b.argc = (uint32_t)argc;
	for (i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (pos + n > sizeof(m) - sizeof(m.b))
			return -1;
		memcpy(m.b.args + pos, argv[i], n);
		pos += n;
	}
	m.b.args_bytes = (uint32_t)pos;
	m.b.instance = instance;
	fds[0] = open(image, O_RDONLY | O_CLOEXEC);
	if (fds[0] < 0)
		return -1;
	if (listen_fd >= 0) {
		m.b.flags |= VMM_BOOT_LISTEN;
		fds[nfds++] = listen_fd;
	}
	if (exit_fd >= 0) {
		m.b.flags |= VMM_BOOT_EXITREC;
		fds[nfds++] = exit_fd;
	}
	r = vmm_msg_send(w->sock, &m, sizeof(m.b) + pos, fds, nfds);
	close(fds[0]);
	return r < 0 ? -1 : 0;
}

int bl_warm_wait_started(struct bl_warm *w, int *status)
{
	union {
		struct vmm_msg_hdr h;
		struct vmm_msg_error e;
		struct vmm_msg_exited x;
		char raw[1024];
	} m;
	unsigned nfds = 1;
	int fd = -1;
	long r = vmm_msg_recv(w->sock, &m, sizeof(m), &fd, &nfds);

	if (r >= (long)sizeof(m.h) && m.h.type == VMM_MSG_STARTED && nfds == 1) {
		if (w->stats_fd >= 0)
			close(w->stats_fd);
		w->stats_fd = fd;
		return 1;
	}
	if (nfds == 1)
		close(fd);
	if (r < (long)sizeof(m.h))
		return -1;
	if (m.h.type == VMM_MSG_STARTED)
		return 1;
	if ((m.h.type == VMM_MSG_ERROR || m.h.type == VMM_MSG_EXITED) && r == (long)sizeof(m.e)) {
		*status = m.e.status;
		snprintf(w->reason, sizeof(w->reason), "%.*s", (int)sizeof(m.e.reason), m.e.reason);
		return 0;
	}
	return -1;
}

int bl_warm_wait_exit(struct bl_warm *w, uint64_t *exited_ns)
{
	union {
		struct vmm_msg_hdr h;
		struct vmm_msg_exited x;
		char raw[1024];
	} m;
	long r;

	for (;;) {
		r = vmm_msg_recv(w->sock, &m, sizeof(m), NULL, NULL);
		if (r < (long)sizeof(m.h))
			break;
		if (m.h.type == VMM_MSG_EXITED || m.h.type == VMM_MSG_ERROR) {
			if (exited_ns)
				*exited_ns = bl_now_ns();
			break;
		}
	}
	r = bl_wait(w->pid);
	w->pid = 0;
	return (int)r;
}

void bl_warm_close(struct bl_warm *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		bl_wait(w->pid);
	}
	if (w->sock >= 0)
		close(w->sock);
	if (w->kick_fd >= 0)
		close(w->kick_fd);
	if (w->notify_fd >= 0)
		close(w->notify_fd);
	if (w->stats_fd >= 0)
		close(w->stats_fd);
	w->pid = 0;
	w->sock = w->kick_fd = w->notify_fd = w->stats_fd = -1;
}

uint64_t bl_probe(int kick_fd, int notify_fd, int timeout_ms)
{
	struct pollfd p = { notify_fd, POLLIN, 0 };
	uint64_t one = 1, v, t0;

	/* A late answer to an earlier, timed-out probe must not count for this one. */
	(void)!read(notify_fd, &v, sizeof(v));
	t0 = bl_now_ns();
	if (write(kick_fd, &one, sizeof(one)) != sizeof(one))
		return 0;
	for (;;) {
		int r = poll(&p, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		break;
	}
	if (read(notify_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return bl_now_ns() - t0;
}

double bl_report(const char *label, double *v_us, size_t n)
{
	double med = bl_quantile(v_us, n, 0.5), p99 = bl_quantile(v_us, n, 0.99);

	printf("%-34s median %9.1f us   p99 %9.1f us   (n=%zu)\n", label, med, p99, n);
	return med;
}

int bl_empty_mntns(void)
{
	return mntns_empty();
}
