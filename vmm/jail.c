/*
 * The tenders' jail (jail.h).  The order matters: the namespaces need
 * CAP_SYS_ADMIN, the bounding set CAP_SETPCAP and the ids CAP_SETUID and
 * CAP_SETGID, so each comes before the step that takes its capability
 * away.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fail.h"
#include "common/guest_exit.h"
#include "vmm/jail.h"

/*
 * A jailed tender is pid 1 of its pid namespace, and the kernel delivers
 * a pid 1 only the signals it handles (SIGKILL and SIGSTOP aside, from
 * outside): without handlers, SIGTERM at a host's shutdown or a
 * container's power-off, or SIGINT from a terminal, would do nothing
 * until the SIGKILL that follows a timeout.  The handlers end it as the
 * default action would, with a status of its own since it cannot die by
 * the signal.
 */
static void on_end_signal(int sig)
{
	(void)sig;
	_exit(GUEST_EXIT_SIGNAL);
}

static int end_on_signals(char *err, size_t errlen)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	unsigned i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_end_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return fail_text(err, errlen, "sigaction");
	return 0;
}

int vmm_jail_namespaces(const struct vmm_jail *j, char *err, size_t errlen)
{
	/* setns makes the mount namespace's root the process's root and directory. */
	if (j->mntns_fd >= 0 && setns(j->mntns_fd, CLONE_NEWNS) < 0)
		return fail_text(err, errlen, "cannot enter the empty mount namespace");
	if (j->netns_fd >= 0 && setns(j->netns_fd, CLONE_NEWNET) < 0)
		return fail_text(err, errlen, "cannot enter the empty network namespace");
	if (unshare(CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return fail_text(err, errlen, "cannot make ipc and uts namespaces (unshare)");
	if (getpid() == 1)
		return end_on_signals(err, errlen);
	return 0;
}

int vmm_jail_drop(const struct vmm_jail *j, char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	int cap;

	/* The bounding set first: dropping from it takes CAP_SETPCAP, which the ids take away. */
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			return fail_text(err, errlen,
			                 "cannot drop capability %d from the bounding set", cap);
	if (j->uid) {
		if (setgroups(0, NULL) < 0 || setresgid(j->gid, j->gid, j->gid) < 0 ||
		    setresuid(j->uid, j->uid, j->uid) < 0)
			return fail_text(err, errlen, "cannot become uid %u gid %u", j->uid,
			                 j->gid);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail_text(err, errlen, "cannot clear the ambient capabilities");
	if (syscall(SYS_capset, &h, d) < 0)
		return fail_text(err, errlen, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail_text(err, errlen, "prctl");
	return 0;
}

int vmm_jail_limits(uint64_t as_bytes, unsigned more_fds, unsigned tasks, char *err, size_t errlen)
{
	struct rlimit zero = { 0, 0 }, as = { (rlim_t)as_bytes, (rlim_t)as_bytes }, nofile,
	              nproc = { tasks, tasks };
	int fd, high = 2, gap = 0;

	/*
	 * The highest descriptor open: none is past a gap as long as the
	 * descriptors still to come, so the limit leaves that many free.
	 */
	for (fd = 3; gap <= (int)more_fds; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			high = fd;
			gap = 0;
		} else {
			gap++;
		}
	}
	nofile.rlim_cur = nofile.rlim_max = (rlim_t)high + 1 + more_fds;
#ifndef __SANITIZE_ADDRESS__
	if (setrlimit(RLIMIT_AS, &as) < 0 || setrlimit(RLIMIT_DATA, &as) < 0)
		return fail_text(err, errlen, "setrlimit of the address space to %llu bytes",
		                 (unsigned long long)as_bytes);
#else
	/*
	 * A --enable-sanitizers build: ASan's shadow memory is terabytes of
	 * address space reserved at start, so any limit the guest's size
	 * gives would fail its next allocation.  No address-space limit there.
	 */
	(void)as;
#endif
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &zero) < 0 ||
	    setrlimit(RLIMIT_NPROC, &nproc) < 0 || setrlimit(RLIMIT_MEMLOCK, &zero) < 0)
		return fail_text(err, errlen, "setrlimit");
	return 0;
}
