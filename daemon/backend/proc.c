/*
 * The proc backend's own pieces (proc.h): pause by signal, the tender's
 * report, its console and report FIFOs, and the records by which a
 * shoald re-attaches the proc tenders an earlier one left (or ends those
 * it cannot).  The rest of the backend is the tender backend's (kvm.c),
 * in its proc mode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/guest_exit.h"
#include "daemon/backend/backend.h"
#include "daemon/backend/proc.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "shoal/abi.h"

/*
 * Field n (3 or more) of a /proc/PID/stat line whose fields from 3 on
 * start at p, or NULL.
 */
static const char *stat_field(const char *p, int n)
{
	int i;

	for (i = 3; i < n && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p;
}

int proc_stat(pid_t pid, char *state, unsigned long long *start, int *exit_code)
{
	char path[64], buf[1024];
	const char *p, *f;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The name may hold anything, a ')' too: the fields start after the last one. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	*state = *p;
	/* starttime is field 22, exit_code (a zombie's wait status, Linux 3.5) field 52. */
	f = stat_field(p, 22);
	if (!f || sscanf(f, "%llu", start) != 1)
		return -1;
	if (exit_code) {
		f = stat_field(p, 52);
		if (!f || sscanf(f, "%d", exit_code) != 1)
			*exit_code = -1;
	}
	return 0;
}

/* Is pid still the process that started at start (and not a zombie)? */
static int proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long s;
	char st;

	return proc_stat(pid, &st, &s, NULL) == 0 && s == start && st != 'Z' && st != 'X';
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int proc_tender_pause(pid_t pid, int pause, char *err, size_t errlen)
{
	unsigned long long start;
	char st;
	int i;

	if (kill(pid, pause ? SIGSTOP : SIGCONT) < 0)
		return be_fail_errno(err, errlen, "%s to its tender %d",
		                     pause ? "SIGSTOP" : "SIGCONT", (int)pid);
	/* Delivered at once to a process that runs; a thousand looks is a second. */
	for (i = 0; i < 1000; i++) {
		if (proc_stat(pid, &st, &start, NULL) < 0 || st == 'Z' || st == 'X')
			return be_fail(err, errlen, "its tender %d is ending", (int)pid);
		if ((st == 'T') == !!pause)
			return 0;
		sleep_ms(1);
	}
	return be_fail(err, errlen, "its tender %d is not %s after a second", (int)pid,
	               pause ? "stopped" : "running again");
}

void proc_tender_report_feed(struct proc_report *r, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (r->npart) {
				memcpy(r->line, r->part, r->npart);
				r->line[r->npart] = '\0';
			}
			r->npart = 0;
			continue;
		}
		/* Kept printable: the line ends up in logs, events and the API. */
		if (r->npart < sizeof(r->part) - 1)
			r->part[r->npart++] =
			    (unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e ? '?'
			                                                                 : buf[i];
	}
}

const char *proc_tender_report_line(struct proc_report *r)
{
	const char *line, *colon;

	if (r->npart) /* a last line with no newline */
		proc_tender_report_feed(r, "\n", 1);
	/* The tender's lines start "shoal-proc: NAME: "; the reason is what follows. */
	line = r->line;
	if (!strncmp(line, "shoal-proc: ", 12) && (colon = strstr(line + 12, ": ")))
		line = colon + 2;
	return line;
}

void proc_tender_end(int ws, struct proc_report *r, int *status, char *reason, size_t len)
{
	const char *line = proc_tender_report_line(r);

	if (WIFEXITED(ws)) {
		*status = WEXITSTATUS(ws);
		if (*status <= GUEST_EXIT_GUEST_MAX)
			snprintf(reason, len, "guest exited with code %d", *status);
		else if (line[0])
			snprintf(reason, len, "%s", line);
		else
			snprintf(reason, len, "the tender exited with status %d (%s)", *status,
			         guest_exit_str(*status));
	} else if (WIFSIGNALED(ws)) {
		*status = -1;
		snprintf(reason, len, "the tender was killed by signal %d (%s)", WTERMSIG(ws),
		         strsignal(WTERMSIG(ws)));
	} else {
		*status = -1;
		snprintf(reason, len, "the tender ended (wait status 0x%x)", ws);
	}
}

/*
 * The record's first word is its version.  1 (no version word, "guest
 * NAME INSTANCE STARTTIME"): an earlier shoald's, whose tender wrote to
 * pipes; it cannot be re-attached.  2 ("v2 guest ..."): the tender's
 * console and report are the FIFOs tPID.out and tPID.err beside it.
 */
#define RECORD_VERSION 2

int proc_tender_record(const char *path, pid_t pid, const char *name, uint64_t instance, int fifos,
                       char *why, size_t whylen)
{
	unsigned long long start;
	char buf[160], st;
	int fd, n;

	if (proc_stat(pid, &st, &start, NULL) < 0)
		return be_fail(why, whylen, "its tender %d is gone", (int)pid);
	if (fifos)
		n = snprintf(buf, sizeof(buf), "v%d guest %s %llu %llu\n", RECORD_VERSION, name,
		             (unsigned long long)instance, start);
	else
		n = snprintf(buf, sizeof(buf), "guest %s %llu %llu\n", name,
		             (unsigned long long)instance, start);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return be_fail_errno(why, whylen, "cannot make its tender's record %s", path);
	if (write(fd, buf, (size_t)n) != n) {
		be_fail_errno(why, whylen, "cannot write its tender's record %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

int proc_tender_fifo(const char *path, int *wr)
{
	int rd;

	*wr = -1;
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		return -1;
	/* A reader first, so that opening the writer does not wait. */
	rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rd < 0) {
		unlink(path);
		return -1;
	}
	/*
	 * Non-blocking, the guest's end: while shoald leaves a flooding
	 * console unread, the guest's writes fail (EAGAIN) and are dropped
	 * rather than stall it.
	 */
	*wr = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (*wr < 0) {
		close(rd);
		unlink(path);
		return -1;
	}
	return rd;
}

/* linux/pidfd.h's PIDFD_GET_INFO (Linux 6.15), for older headers: its first version. */
struct proc_pidfd_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PROC_PIDFD_GET_INFO  _IOWR(0xFF, 11, struct proc_pidfd_info)
#define PROC_PIDFD_INFO_EXIT (1ull << 3)

int proc_tender_status(pid_t pid, unsigned long long start, int pidfd, int *ws)
{
	struct proc_pidfd_info info;
	unsigned long long s;
	int code;
	char st;

	/* A zombie still has its wait status in /proc. */
	if (proc_stat(pid, &st, &s, &code) == 0 && s == start && st == 'Z' && code >= 0) {
		*ws = code;
		return 0;
	}
	/* Reaped by another: a pidfd held while it ended keeps its status (Linux 6.15). */
	memset(&info, 0, sizeof(info));
	info.mask = PROC_PIDFD_INFO_EXIT;
	if (pidfd >= 0 && ioctl(pidfd, PROC_PIDFD_GET_INFO, &info) == 0 &&
	    (info.mask & PROC_PIDFD_INFO_EXIT)) {
		*ws = info.exit_code;
		return 0;
	}
	return -1;
}

/* Is fd an eventfd? */
static int is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return !strcmp(link, "anon_inode:[eventfd]");
}

/* One of the FIFOs base.out or base.err, read end, or -1 with why. */
static int fifo_reopen(const char *base, const char *ext, char *why, size_t whylen)
{
	char path[1200];
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s.%s", base, ext);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return be_fail_errno(why, whylen, "cannot open %s", path);
	if (fstat(fd, &sb) < 0 || !S_ISFIFO(sb.st_mode)) {
		close(fd);
		return be_fail(why, whylen, "%s is not a FIFO", path);
	}
	return fd;
}

void proc_attach_close(struct proc_attach *a)
{
	int *fds[] = { &a->pidfd,      &a->kick_fd,   &a->notify_fd,
		       &a->console_fd, &a->report_fd, &a->stats_fd };
	unsigned i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * Re-attaching a tender that runs its guest.  Its control socket is long
 * closed and it can open nothing, so everything comes from outside it:
 * the boot page it wrote (read-only to the guest) names the descriptors
 * of port 1 and of the device counters' page, which pidfd_getfd(2)
 * duplicates into shoald (the same eventfds, so probes go on as before;
 * the same page); its console and report are the FIFOs shoald made,
 * opened again (a reader that comes back sees what the writer writes
 * from then on; while nobody reads, the guest's writes fail with EPIPE
 * and are dropped: the tender ignores SIGPIPE and the runtime does not
 * look at a console write's result); and the pidfd tells of its end,
 * which proc_tender_status() then reads.
 */
int proc_tender_attach(pid_t pid, unsigned long long start, const char *base, struct proc_attach *a,
                       char *why, size_t whylen)
{
	struct shoal_boot_info bi;
	struct shoal_proc_fds pf;
	struct iovec local[2] = { { &bi, sizeof(bi) }, { &pf, sizeof(pf) } };
	struct iovec remote[2] = { { (void *)(uintptr_t)SHOAL_PROC_BOOT_INFO, sizeof(bi) },
		                   { (void *)(uintptr_t)SHOAL_PROC_FDS, sizeof(pf) } };
	unsigned long long s;
	char st;

	memset(a, 0, sizeof(*a));
	a->pidfd = a->kick_fd = a->notify_fd = a->console_fd = a->report_fd = a->stats_fd = -1;
	a->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (a->pidfd < 0)
		return be_fail_errno(why, whylen, "pidfd_open");
	/* Held from here on: the pid cannot name another process while we look. */
	if (proc_stat(pid, &st, &s, NULL) < 0 || s != start || st == 'Z' || st == 'X') {
		be_fail(why, whylen, "it is ending");
		goto fail;
	}
	a->paused = st == 'T';
	if (process_vm_readv(pid, local, 2, remote, 2, 0) != (ssize_t)(sizeof(bi) + sizeof(pf))) {
		be_fail_errno(why, whylen, "cannot read its boot page");
		goto fail;
	}
	if (pf.nports < 1 || pf.nports > 8 || pf.ports[0].port != 1 || pf.ports[0].kick_fd < 0 ||
	    pf.ports[0].notify_fd < 0) {
		be_fail(why, whylen, "its boot page names no probe port");
		goto fail;
	}
	a->boot_wall_ns = bi.boot_wall_ns;
	a->kick_fd = (int)syscall(SYS_pidfd_getfd, a->pidfd, pf.ports[0].kick_fd, 0);
	a->notify_fd = (int)syscall(SYS_pidfd_getfd, a->pidfd, pf.ports[0].notify_fd, 0);
	if (a->kick_fd < 0 || a->notify_fd < 0) {
		be_fail_errno(why, whylen, "pidfd_getfd of its probe eventfds %d and %d",
		              pf.ports[0].kick_fd, pf.ports[0].notify_fd);
		goto fail;
	}
	if (!is_eventfd(a->kick_fd) || !is_eventfd(a->notify_fd)) {
		be_fail(why, whylen, "its descriptors %d and %d are not eventfds",
		        pf.ports[0].kick_fd, pf.ports[0].notify_fd);
		goto fail;
	}
	/*
	 * The counters' page, if the boot page names one (0: a tender from
	 * before it had one): taken back the same way.  Without it the guest
	 * runs on and shows no counters; shoald checks what it gets as it
	 * checks the page itself (kvm.c's map_stats).
	 */
	if (pf.stats_fd > 2) {
		a->stats_fd = (int)syscall(SYS_pidfd_getfd, a->pidfd, pf.stats_fd, 0);
		if (a->stats_fd < 0)
			log_warn("proc: tender %d: pidfd_getfd of its counters' page %d", (int)pid,
			         pf.stats_fd);
	}
	a->console_fd = fifo_reopen(base, "out", why, whylen);
	if (a->console_fd < 0)
		goto fail;
	a->report_fd = fifo_reopen(base, "err", why, whylen);
	if (a->report_fd < 0)
		goto fail;
	return 0;
fail:
	proc_attach_close(a);
	return -1;
}

/* Is this a proc tender's file (tPID.EXT)?  Its pid, or 0. */
static pid_t tender_file_pid(const char *file, const char *ext)
{
	const char *p = file + 1;
	long pid = 0;

	if (file[0] != 't' || !(*p >= '0' && *p <= '9'))
		return 0;
	while (*p >= '0' && *p <= '9' && pid < 1 << 30)
		pid = pid * 10 + (*p++ - '0');
	return *p == '.' && !strcmp(p + 1, ext) ? (pid_t)pid : 0;
}

struct left {
	pid_t pid;
	unsigned long long start;
	char name[GUEST_NAME_MAX + 1];
	unsigned long long instance;
	int killed;
	char why[300]; /* why a version 2 tender could not be re-attached */
	char path[1100];
};

static void unlink_fifos(const char *dir, pid_t pid)
{
	char path[1200];

	snprintf(path, sizeof(path), "%.900s/t%d.out", dir, (int)pid);
	unlink(path);
	snprintf(path, sizeof(path), "%.900s/t%d.err", dir, (int)pid);
	unlink(path);
}

/* FIFOs no record names any more: a pool tender's, or a gone tender's. */
static void sweep_fifos(const char *dir)
{
	struct dirent *de;
	DIR *dp;

	dp = opendir(dir);
	if (!dp)
		return;
	while ((de = readdir(dp))) {
		pid_t pid = tender_file_pid(de->d_name, "out");
		char rec[1200];

		if (pid <= 0)
			pid = tender_file_pid(de->d_name, "err");
		if (pid <= 0)
			continue;
		snprintf(rec, sizeof(rec), "%.900s/t%d.proc", dir, (int)pid);
		if (access(rec, F_OK) < 0)
			unlink_fifos(dir, pid);
	}
	closedir(dp);
}

/*
 * The tenders an earlier shoald left: each is re-attached when its record
 * is of version 2 and adopt() takes it; else (an older shoald's tender,
 * one that cannot be re-attached, or a kvm shoald) it is ended here,
 * before its guest is started again, and its guest's restart policy
 * decides as for any end, with the reason.  A tender that ended while no
 * shoald ran is reported with its wait status where it can still be read.
 */
int proc_tender_sweep(const char *dir, const struct backend_host *host, proc_adopt_fn adopt,
                      void *ctx, unsigned *adopted)
{
	struct left *l = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int waited, alive;
	DIR *dp;

	if (adopted)
		*adopted = 0;
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((de = readdir(dp))) {
		pid_t pid = tender_file_pid(de->d_name, "proc");
		char buf[200];
		int version = 1, off = 0;
		ssize_t r;
		int fd;

		if (pid <= 0)
			continue;
		if (n == cap) {
			struct left *m = realloc(l, (cap ? 2 * cap : 16) * sizeof(*l));

			if (!m)
				break;
			l = m;
			cap = cap ? 2 * cap : 16;
		}
		memset(&l[n], 0, sizeof(l[n]));
		l[n].pid = pid;
		snprintf(l[n].path, sizeof(l[n].path), "%.800s/%.255s", dir, de->d_name);
		fd = open(l[n].path, O_RDONLY | O_CLOEXEC);
		r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[r > 0 ? r : 0] = '\0';
		/* A version this shoald does not know is ended, not re-attached. */
		if (buf[0] != 'v' || sscanf(buf, "v%d %n", &version, &off) != 1 || off == 0) {
			version = 1;
			off = 0;
		}
		if (sscanf(buf + off, "guest %63s %llu %llu", l[n].name, &l[n].instance,
		           &l[n].start) != 3 ||
		    !spec_name_ok(l[n].name)) {
			log_warnx("proc: %s is not a tender's record: removed", l[n].path);
			unlink(l[n].path);
			unlink_fifos(dir, pid);
			continue;
		}
		if (!proc_alive(pid, l[n].start)) {
			n++;
			continue;
		}
		if (version == RECORD_VERSION && adopt) {
			if (adopt(ctx, pid, l[n].start, l[n].name, l[n].instance, l[n].why,
			          sizeof(l[n].why)) == 0) {
				if (adopted)
					(*adopted)++;
				continue; /* its record and FIFOs stay, the new shoald's now */
			}
		} else if (adopt && version == 1) {
			snprintf(l[n].why, sizeof(l[n].why),
			         "its record is of version 1: it writes to no FIFO");
		} else if (adopt) {
			snprintf(l[n].why, sizeof(l[n].why), "its record's version %d is unknown",
			         version);
		} else {
			snprintf(l[n].why, sizeof(l[n].why), "a kvm shoald runs no proc tender");
		}
		l[n].killed = kill(pid, SIGKILL) == 0;
		log_warnx(
		    "guest %s: its proc tender (pid %d), left by an earlier shoald, cannot be "
		    "re-attached (%s): %s; its restart policy decides",
		    l[n].name, (int)pid, l[n].why,
		    l[n].killed ? "ended it" : "could not end it (see the next line)");
		if (!l[n].killed)
			log_warn("proc: kill %d", (int)pid);
		n++;
	}
	closedir(dp);
	/* Gone, so that what they held (taps, disks) is free for the guests' next start. */
	for (waited = 0; waited < 2000; waited += 10) {
		for (i = 0, alive = 0; i < n; i++)
			alive += l[i].killed && proc_alive(l[i].pid, l[i].start);
		if (!alive)
			break;
		sleep_ms(10);
	}
	for (i = 0; i < n; i++) {
		struct proc_report none = { .npart = 0 };
		char reason[800], how[600];
		int status = -1, ws;

		if (l[i].killed)
			snprintf(reason, sizeof(reason),
			         "shoald restarted and cannot re-attach a proc tender (%s): it "
			         "ended the one an earlier shoald left (pid %d)",
			         l[i].why, (int)l[i].pid);
		else if (proc_alive(l[i].pid, l[i].start))
			snprintf(reason, sizeof(reason),
			         "shoald restarted and cannot re-attach a proc tender (%s); the "
			         "one an earlier shoald left (pid %d) could not be ended",
			         l[i].why, (int)l[i].pid);
		else if (proc_tender_status(l[i].pid, l[i].start, -1, &ws) == 0) {
			none.line[0] = '\0';
			proc_tender_end(ws, &none, &status, how, sizeof(how));
			snprintf(reason, sizeof(reason),
			         "%s: its proc tender (pid %d) ended while shoald was away", how,
			         (int)l[i].pid);
		} else
			snprintf(reason, sizeof(reason),
			         "its proc tender (pid %d) ended while shoald was away; how is not "
			         "known (it was no child of this shoald, and nobody read its "
			         "report)",
			         (int)l[i].pid);
		if (!l[i].killed && proc_alive(l[i].pid, l[i].start))
			log_warnx("guest %s: proc tender %d still runs: its record %s is kept",
			          l[i].name, (int)l[i].pid, l[i].path);
		else {
			unlink(l[i].path);
			unlink_fifos(dir, l[i].pid);
		}
		host->ended_while_away(host->ctx, l[i].name, l[i].instance, status, reason, NULL,
		                       0);
	}
	free(l);
	sweep_fifos(dir);
	return (int)n + (adopted ? (int)*adopted : 0);
}
