/*
 * The jail a proc guest runs in, set up by the tender on itself just
 * before it jumps to the guest: what the process can see (an empty mount
 * namespace), who it is (an unprivileged uid and gid, no capabilities),
 * what it holds (the guest's descriptors only), what it may use
 * (rlimits) and what it may ask the kernel (the filter).  The order
 * matters: each step needs what the next one takes away (the limits
 * forbid new memory, so the handlers' stack comes before them), and the
 * filter comes last, once the tender makes no more calls of its own.
 *
 * The tender's code stays mapped under the guest: its signal handlers
 * report a fault or a refused call in one line on the report descriptor
 * and end the process with the status shoal-vmm would give.  They run on
 * a stack of their own and never return, so the guest needs no
 * rt_sigreturn.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include "vmm/proc.h"
#include "vmm/jail.h"
#include "common/fail.h"
#include "vmm/vmm.h"
#include "proc_seccomp_bpf.h"

#define ALTSTACK_BYTES (64u * 1024)

static char report_name[SHOAL_NAME_MAX] = "?";

static void note(const struct proc_jail *j, const char *what)
{
	char buf[300];
	int n;

	if (!j->verbose)
		return;
	n = snprintf(buf, sizeof(buf), "shoal-proc: %s: %s\n", j->guest_name, what);
	if (n > 0)
		(void)!write(SHOAL_PROC_REPORT_FD, buf, (size_t)n);
}

/* One line on the report descriptor, then the end: the status says how. */
__attribute__((noreturn)) static void report_exit(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report_exit(int status, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "shoal-proc: %s: ", report_name);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	(void)!write(SHOAL_PROC_REPORT_FD, buf, (size_t)n);
	_exit(status);
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	const greg_t *r = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < PROC_SYSCALL_NAMES && proc_syscall_names[nr]
	                       ? proc_syscall_names[nr]
	                       : "unknown";

	(void)sig;
	report_exit(GUEST_EXIT_BADCALL,
	            "bad system call %d (%s) at rip 0x%llx: arguments 0x%llx, 0x%llx, 0x%llx, "
	            "0x%llx",
	            nr, name, (unsigned long long)r[REG_RIP], (unsigned long long)r[REG_RDI],
	            (unsigned long long)r[REG_RSI], (unsigned long long)r[REG_RDX],
	            (unsigned long long)r[REG_R10]);
}

/* A CPU exception in the guest, described as shoal-vmm describes it. */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	const greg_t *r = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	struct shoal_hc_fault f;
	char why[400];

	(void)sig;
	memset(&f, 0, sizeof(f));
	f.vector = (uint64_t)r[REG_TRAPNO];
	f.error_code = (uint64_t)r[REG_ERR];
	f.rip = (uint64_t)r[REG_RIP];
	f.cs = (uint64_t)r[REG_CSGSFS] & 0xffff;
	f.rflags = (uint64_t)r[REG_EFL];
	f.rsp = (uint64_t)r[REG_RSP];
	f.cr2 = (uint64_t)(uintptr_t)si->si_addr;
	vmm_describe_fault(&f, why, sizeof(why));
	report_exit(GUEST_EXIT_FAULT, "%s", why);
}

static int handlers(char *err, size_t errlen)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
	struct sigaction sa;
	stack_t ss;
	unsigned i;

	ss.ss_sp = malloc(ALTSTACK_BYTES);
	ss.ss_size = ALTSTACK_BYTES;
	ss.ss_flags = 0;
	if (!ss.ss_sp || sigaltstack(&ss, NULL) < 0)
		return fail_text(err, errlen, "sigaltstack");
	memset(&sa, 0, sizeof(sa));
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sa.sa_sigaction = on_sigsys;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return fail_text(err, errlen, "sigaction SIGSYS");
	sa.sa_sigaction = on_fault;
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (sigaction(faults[i], &sa, NULL) < 0)
			return fail_text(err, errlen, "sigaction");
	/* A console whose reader left, or a disk write past the limit: an error, not a death. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	return 0;
}

/*
 * An empty root: the mount namespace given, or a new one (inside a new
 * user namespace when not root) with a read-only tmpfs over /tmp as the
 * root.  Where
 * the kernel refuses, the guest goes on without one (its filter lets it
 * open nothing anyway) and -v says so.
 */
static void empty_root(const struct proc_jail *j)
{
	int flags = CLONE_NEWNS | (geteuid() == 0 ? 0 : CLONE_NEWUSER);

	/* setns makes the namespace's root the process's root and directory. */
	if (j->mntns_fd >= 0) {
		if (setns(j->mntns_fd, CLONE_NEWNS) < 0)
			note(j,
			     "cannot enter the given mount namespace: the root stays the host's");
		return;
	}

	if (unshare(flags) < 0) {
		note(j, "no mount namespace (unshare refused): the root stays the host's");
		return;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("shoal-proc", "/tmp", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          "size=4k,nr_inodes=1,mode=0555") < 0 ||
	    chdir("/tmp") < 0 || chroot(".") < 0 || chdir("/") < 0)
		note(j, "no empty root (mount or chroot refused): the root stays the host's");
}

/*
 * The given network namespace, and ipc and uts namespaces of its own:
 * as root (a daemon's tender) a refusal is the end; a tender run by hand
 * without privilege goes on without them and -v says so.
 */
static int namespaces(const struct proc_jail *j, char *err, size_t errlen)
{
	struct vmm_jail vj = { .mntns_fd = -1, .netns_fd = j->netns_fd };

	if (geteuid() == 0)
		return vmm_jail_namespaces(&vj, err, errlen);
	if (j->netns_fd >= 0 && setns(j->netns_fd, CLONE_NEWNET) < 0)
		note(j, "cannot enter the given network namespace: the host's stays");
	if (unshare(CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		note(j, "no ipc and uts namespaces of its own (unshare refused)");
	return 0;
}

static int limits(const struct proc_guest *g, int maxfd, char *err, size_t errlen)
{
	struct rlimit zero = { 0, 0 }, nofile = { (rlim_t)maxfd + 1, (rlim_t)maxfd + 1 };
	/*
	 * Memory: everything the guest may use is mapped already (guest memory,
	 * the handlers' stack), so no new address space at all; what it
	 * touches of guest memory is the cgroup's to bound.
	 */
	struct rlimit fsize = { (rlim_t)g->max_disk_bytes, (rlim_t)g->max_disk_bytes };

	if (setrlimit(RLIMIT_AS, &zero) < 0 || setrlimit(RLIMIT_DATA, &zero) < 0 ||
	    setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_MEMLOCK, &zero) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_NPROC, &zero) < 0 ||
	    setrlimit(RLIMIT_MSGQUEUE, &zero) < 0)
		return fail_text(err, errlen, "setrlimit");
	/*
	 * A writable disk must not grow past its size (the filter cannot see
	 * offsets): no file of the guest's may.  It applies to a console
	 * redirected to a file as well, so only with a writable disk.
	 */
	if (g->max_disk_bytes && setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		return fail_text(err, errlen, "setrlimit RLIMIT_FSIZE");
	return 0;
}

static int drop_ids(const struct proc_jail *j, char *err, size_t errlen)
{
	/* The ids only as root; the capabilities a user namespace gave go either way. */
	struct vmm_jail vj = {
		.uid = geteuid() == 0 ? j->uid : 0,
		.gid = j->gid,
		.mntns_fd = -1,
		.netns_fd = -1,
	};

	return vmm_jail_drop(&vj, err, errlen);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every descriptor but the guest's; returns the highest kept. */
static int keep_only(const struct proc_guest *g)
{
	int keep[3 + 2 * PROC_PORTS_MAX + SHOAL_DEVICES_MAX], n = 0, i, next = 0;
	unsigned k;

	keep[n++] = SHOAL_PROC_CONSOLE_FD;
	keep[n++] = SHOAL_PROC_REPORT_FD;
	for (k = 0; k < g->nports; k++) {
		if (g->ports[k].kick_fd >= 0)
			keep[n++] = g->ports[k].kick_fd;
		if (g->ports[k].notify_fd >= 0)
			keep[n++] = g->ports[k].notify_fd;
	}
	for (k = 0; k < g->ndevs; k++)
		keep[n++] = g->dev_fd[k];
	/* Not the guest's to use: kept so that a restarted daemon can take it back. */
	if (g->stats_fd >= 0)
		keep[n++] = g->stats_fd;
	qsort(keep, (size_t)n, sizeof(keep[0]), cmp_int);
	for (i = 0; i < n; i++) {
		if (keep[i] > next)
			syscall(SYS_close_range, next, keep[i] - 1, 0);
		next = keep[i] + 1;
	}
	syscall(SYS_close_range, next, ~0u, 0);
	return next - 1;
}

/* The guest's first instruction: its stack, the boot page in RDI, no other register set. */
__attribute__((noreturn)) static void jump(uint64_t entry, uint64_t rsp)
{
	__asm__ volatile("mov %0, %%rsp\n\t"
	                 "mov %1, %%r11\n\t"
	                 "mov %2, %%edi\n\t"
	                 "xor %%eax, %%eax\n\t"
	                 "xor %%ebx, %%ebx\n\t"
	                 "xor %%ecx, %%ecx\n\t"
	                 "xor %%edx, %%edx\n\t"
	                 "xor %%esi, %%esi\n\t"
	                 "xor %%ebp, %%ebp\n\t"
	                 "xor %%r8d, %%r8d\n\t"
	                 "xor %%r9d, %%r9d\n\t"
	                 "xor %%r10d, %%r10d\n\t"
	                 "xor %%r12d, %%r12d\n\t"
	                 "xor %%r13d, %%r13d\n\t"
	                 "xor %%r14d, %%r14d\n\t"
	                 "xor %%r15d, %%r15d\n\t"
	                 "cld\n\t"
	                 "jmp *%%r11"
	                 :
	                 : "r"(rsp), "r"(entry), "i"(SHOAL_PROC_BOOT_INFO)
	                 : "memory");
	__builtin_unreachable();
}

int proc_jail_early(struct proc_jail *j, char *err, size_t errlen)
{
	struct vmm_jail vj = {
		.uid = j->uid,
		.gid = j->gid,
		.mntns_fd = j->mntns_fd,
		.netns_fd = j->netns_fd,
	};

	if (!j->jail || geteuid() != 0 || j->mntns_fd < 0)
		return 0;
	if (vmm_jail_namespaces(&vj, err, errlen) < 0 || vmm_jail_drop(&vj, err, errlen) < 0)
		return -1;
	j->entered = 1;
	return 0;
}

int proc_enter(const struct proc_guest *g, const struct proc_jail *j, uint64_t entry, char *err,
               size_t errlen)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(proc_seccomp_bpf) / sizeof(proc_seccomp_bpf[0])),
		.filter = (struct sock_filter *)proc_seccomp_bpf,
	};
	int maxfd;

	errno = 0;
	snprintf(report_name, sizeof(report_name), "%s", j->guest_name);
	if (!j->jail) {
		/*
		 * Under valgrind: its own mappings grow as it translates, its
		 * descriptors and limits are its to keep, and its output file is
		 * written at the end; the guest runs as the tender was started.
		 */
		char line[300];
		int n = snprintf(line, sizeof(line),
		                 "shoal-proc: %s: no jail and no syscall filter (--no-jail: for "
		                 "profiling only)\n",
		                 j->guest_name);

		if (n > 0)
			(void)!write(SHOAL_PROC_REPORT_FD, line, (size_t)n);
		keep_only(g);
		if (handlers(err, errlen) < 0)
			return -1;
		jump(entry, g->mem_bytes - 8);
	}
	if (!j->entered) {
		empty_root(j);
		if (namespaces(j, err, errlen) < 0)
			return -1;
	}
	maxfd = keep_only(g);
	/* The handlers' stack is allocated before the limits forbid it. */
	if (handlers(err, errlen) < 0 || drop_ids(j, err, errlen) < 0 ||
	    limits(g, maxfd, err, errlen) < 0)
		return -1;
	if (j->seccomp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return fail_text(err, errlen, "cannot install the syscall filter");
	jump(entry, g->mem_bytes - 8);
}
