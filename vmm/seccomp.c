/*
 * Loads the tender's syscall filter (generated at build time, see
 * seccomp_gen.c) into every thread of the process.  A call outside the policy raises SIGSYS; the
 * handler names the syscall and ends the tender with GUEST_EXIT_INTERNAL, so a missing rule is a
 * clear message rather than a silent kill.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/vmm.h"
#include "vmm_seccomp_bpf.h"

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg),
	             "shoal-vmm: syscall %d is not allowed by the tender's filter\n",
	             si->si_syscall);
	if (n > 0)
		(void)!write(2, msg, (size_t)n);
	_exit(GUEST_EXIT_INTERNAL);
}

int vmm_seccomp_apply(char *err, size_t errlen)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(vmm_seccomp_bpf) / sizeof(vmm_seccomp_bpf[0])),
		.filter = (struct sock_filter *)vmm_seccomp_bpf,
	};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
		snprintf(err, errlen, "cannot install the syscall filter: %s", strerror(errno));
		return -1;
	}
	return 0;
}
