/*
 * holdreap PID: keep process PID's end from its parent for as long as
 * the caller likes, as if PID were slow to die.  It traces PID
 * (PTRACE_SEIZE: root or CAP_SYS_PTRACE), lets whatever stops it
 * meanwhile go on, and once PID has ended (a SIGKILL, say) leaves it a
 * zombie its parent cannot reap yet: Linux tells a tracee's end to its
 * tracer, and to its parent only once the tracer lets go.  Where the
 * kernel stops a dying tracee at the start of its exit
 * (PTRACE_EVENT_EXIT), it is held there, its descriptors still open, so
 * that nothing of its end shows before it is let go.  Prints "held"
 * once it traces PID and "ended" once PID has ended, then waits for
 * SIGTERM (or SIGINT, SIGUSR1) and exits, which hands the end to the
 * parent.
 *
 * For test_dns.sh: shoald's stop of a guest lasts until its tender's
 * control socket closes (or, on proc, until it is reaped), so this holds
 * a guest in "stopping" for exactly as long as the test needs, with
 * nothing in shoald made for the test.
 *
 * Exit status: 0, 1 when PID cannot be traced or waited for, 2 on misuse.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	sigset_t release;
	char *end;
	long v;
	pid_t pid;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: holdreap PID\n");
		return 2;
	}
	errno = 0;
	v = strtol(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || v <= 1 || v > (1l << 22)) {
		fprintf(stderr, "holdreap: %s is not a process id\n", argv[1]);
		return 2;
	}
	pid = (pid_t)v;
	/* Taken by sigwait below, whenever they come. */
	sigemptyset(&release);
	sigaddset(&release, SIGTERM);
	sigaddset(&release, SIGINT);
	sigaddset(&release, SIGUSR1);
	sigprocmask(SIG_BLOCK, &release, NULL);
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT) < 0) {
		fprintf(stderr, "holdreap: cannot trace process %d: %s\n", (int)pid,
		        strerror(errno));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	for (;;) {
		siginfo_t si;
		int st;

		/* WNOWAIT: an end is only looked at, and stays the tracer's to release. */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | WNOWAIT | __WALL) < 0) {
			fprintf(stderr, "holdreap: waiting for process %d: %s\n", (int)pid,
			        strerror(errno));
			return 1;
		}
		if (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
		    si.si_code == CLD_DUMPED)
			break;
		/* A stop for a signal (or a group stop): take it, and the signal goes on. */
		if (waitpid(pid, &st, __WALL) < 0) {
			fprintf(stderr, "holdreap: waiting for process %d: %s\n", (int)pid,
			        strerror(errno));
			return 1;
		}
		if (!WIFSTOPPED(st))
			break;
		if (st >> 8 == (SIGTRAP | PTRACE_EVENT_EXIT << 8)) {
			/* Its exit has begun: held there, descriptors still open, until released.
			 */
			printf("ended\n");
			fflush(stdout);
			sigwait(&release, &sig);
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
			return 0;
		}
		ptrace(PTRACE_CONT, pid, NULL,
		       (void *)(long)((st >> 16)                ? 0
		                      : WSTOPSIG(st) == SIGTRAP ? 0
		                                                : WSTOPSIG(st)));
	}
	printf("ended\n");
	fflush(stdout);
	sigwait(&release, &sig);
	return 0;
}
