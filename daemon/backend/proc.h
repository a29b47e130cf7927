/*
 * What the proc backend does differently from the KVM one (proc.c): the
 * tender backend (kvm.c) runs shoal-proc tenders in this mode.  A proc
 * tender closes its control socket once the guest runs, so its end is
 * the process's wait status and the last line it wrote on stderr (the
 * report); it is paused by SIGSTOP; it enters one empty mount namespace
 * shoald makes at start; and, as it cannot be re-attached, a record in
 * the run directory lets the next shoald find and end it.
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

/*
 * How the guest ended, from the tender's wait status and its report:
 * the exit status (the guest's code, a GUEST_EXIT_*, or -1 when a
 * signal ended it) into *status and a sentence into reason.
 */
void proc_tender_end(int wait_status, struct proc_report *r, int *status, char *reason, size_t len);

/*
 * The record of a tender that runs guest name's instance: path gets
 * "guest NAME INSTANCE STARTTIME", STARTTIME the process's start time
 * from /proc (so that a pid used again is not taken for it).  0, or -1
 * with why.
 */
int proc_tender_record(const char *path, pid_t pid, const char *name, uint64_t instance, char *why,
                       size_t whylen);

/*
 * End every tender an earlier shoald left (the records tPID.proc in dir)
 * and report each guest through host->ended_while_away(), with the
 * reason, for its restart policy to decide; remove the records.  Waits
 * two seconds at most for them to be gone (so that their taps are
 * free).  Returns how many were found.
 */
int proc_tender_sweep(const char *dir, const struct backend_host *host);

#endif
