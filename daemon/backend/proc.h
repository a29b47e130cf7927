/*
 * What the proc backend does differently from the KVM one (proc.c): the
 * tender backend (kvm.c) runs shoal-proc tenders in this mode.  A proc
 * tender closes its control socket once the guest runs, so its end is
 * the process's wait status and the last line it wrote on stderr (the
 * report); it is paused by SIGSTOP; it enters one empty mount namespace
 * shoald makes at start; its console and report are FIFOs in the run
 * directory, and a record beside them lets the next shoald find it and
 * re-attach it (its probe eventfds by pidfd_getfd, its FIFOs opened
 * again, its end by a pidfd).
 */
#ifndef SHOALD_PROC_H
#define SHOALD_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct backend_host;

/*
 * Hold (pause 1) or let go on (0) tender pid, with SIGSTOP or SIGCONT,
 * and wait (a second at most) until /proc says it is so.  0, or -1 with
 * err (be_fail's convention).
 */
int proc_tender_pause(pid_t pid, int pause, char *err, size_t errlen);

/* The last whole line a tender wrote on stderr, fed as it comes. */
#define PROC_REPORT_MAX 480
struct proc_report {
	char line[PROC_REPORT_MAX]; /* the last whole line, "" if none yet */
	char part[PROC_REPORT_MAX]; /* the line being written (cut at the size) */
	size_t npart;
};
void proc_tender_report_feed(struct proc_report *r, const char *buf, size_t len);

/* The report's last line (a partial one taken as whole), its "shoal-proc: NAME: " left out. */
const char *proc_tender_report_line(struct proc_report *r);

/*
 * How the guest ended, from the tender's wait status and its report:
 * the exit status (the guest's code, a GUEST_EXIT_*, or -1 when a
 * signal ended it) into *status and a sentence into reason.
 */
void proc_tender_end(int wait_status, struct proc_report *r, int *status, char *reason, size_t len);

/*
 * The record of a tender that runs guest name's instance: path gets
 * "v2 guest NAME INSTANCE STARTTIME" when its console and report are the
 * FIFOs beside it (fifos nonzero: it can be re-attached), else version
 * 1's "guest NAME INSTANCE STARTTIME"; STARTTIME is the process's start
 * time from /proc (so that a pid used again is not taken for it).  0, or
 * -1 with why.
 */
int proc_tender_record(const char *path, pid_t pid, const char *name, uint64_t instance, int fifos,
                       char *why, size_t whylen);

/*
 * Make the FIFO path (0600, replacing what is there) and open both its
 * ends: the read end (non-blocking) is returned, the write end (blocking,
 * for the tender's descriptor 1 or 2) goes into *wr.  Both close on exec.
 * -1 with errno.
 */
int proc_tender_fifo(const char *path, int *wr);

/*
 * From /proc/PID/stat: the state letter, the start time (clock ticks
 * since boot) and, when exit_code is not NULL, a zombie's wait status
 * (-1 when there is none to read).  0, or -1 when pid is gone.
 */
int proc_stat(pid_t pid, char *state, unsigned long long *start, int *exit_code);

/*
 * The wait status of tender pid (started at start) that is no child of
 * ours and has ended: from /proc while it is a zombie, else from pidfd
 * (>= 0: one held while it ended; Linux 6.15's PIDFD_INFO_EXIT).  0 with
 * *ws, or -1 when it cannot be known.
 */
int proc_tender_status(pid_t pid, unsigned long long start, int pidfd, int *ws);

/* What re-attaching a running tender gives shoald; every descriptor is shoald's own. */
struct proc_attach {
	int pidfd;                 /* readable once the tender has ended */
	int kick_fd, notify_fd;    /* port 1's eventfds, the same the tender holds */
	int console_fd, report_fd; /* the FIFOs, read ends, non-blocking */
	int stats_fd;              /* the device counters' memfd, -1: none (unchecked) */
	int paused;                /* stopped (SIGSTOP) */
	uint64_t boot_wall_ns;
};

/*
 * Re-attach tender pid (started at start), whose FIFOs are base.out and
 * base.err: its probe eventfds and its counters' page by pidfd_getfd(2)
 * (the boot page it wrote says which), its FIFOs opened again.  Needs ptrace access to it (root).
 * 0, or -1 with why and nothing held.
 */
int proc_tender_attach(pid_t pid, unsigned long long start, const char *base, struct proc_attach *a,
                       char *why, size_t whylen);

/* Close what a proc_attach holds. */
void proc_attach_close(struct proc_attach *a);

/*
 * Take over a running tender the sweep found (its record is kept): 0, or
 * -1 with why, and the sweep ends the tender.
 */
typedef int (*proc_adopt_fn)(void *ctx, pid_t pid, unsigned long long start, const char *name,
                             uint64_t instance, char *why, size_t whylen);

/*
 * The records tPID.proc in dir, left by an earlier shoald: a running
 * tender of a version 2 record is given to adopt (NULL: none is); every
 * other running one is ended (SIGKILL, two seconds at most for it to be
 * gone, so that its taps are free); each guest not adopted is reported
 * through host->ended_while_away(), with the reason (and the wait status
 * where it can still be read), for its restart policy to decide.  Records
 * and FIFOs of what is not adopted are removed.  Returns how many were
 * found; *adopted (if not NULL) how many were adopted.
 */
int proc_tender_sweep(const char *dir, const struct backend_host *host, proc_adopt_fn adopt,
                      void *ctx, unsigned *adopted);

#endif
