/*
 * The proc backend's own pieces (proc.h): pause by signal, the tender's
 * report, and the records that let a shoald end the
 * proc tenders an earlier one left.  The rest of the backend is the
 * tender backend's (kvm.c), in its proc mode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/guest_exit.h"
#include "daemon/backend/backend.h"
#include "daemon/backend/proc.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

/* A process's state letter and start time (clock ticks since boot); 0, or -1 when gone. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	int fd, i;
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
	/* starttime is field 22; the state is field 3. */
	for (i = 3; i < 22 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", start) != 1)
		return -1;
	return 0;
}

/* Is pid still the process that started at start (and not a zombie)? */
static int proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long s;
	char st;

	return proc_stat(pid, &st, &s) == 0 && s == start && st != 'Z' && st != 'X';
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
		if (proc_stat(pid, &st, &start) < 0 || st == 'Z' || st == 'X')
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

void proc_tender_end(int ws, struct proc_report *r, int *status, char *reason, size_t len)
{
	const char *line, *colon;

	if (r->npart) /* a last line with no newline */
		proc_tender_report_feed(r, "\n", 1);
	/* The tender's lines start "shoal-proc: NAME: "; the reason is what follows. */
	line = r->line;
	if (!strncmp(line, "shoal-proc: ", 12) && (colon = strstr(line + 12, ": ")))
		line = colon + 2;
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

int proc_tender_record(const char *path, pid_t pid, const char *name, uint64_t instance, char *why,
                       size_t whylen)
{
	unsigned long long start;
	char buf[160], st;
	int fd, n;

	if (proc_stat(pid, &st, &start) < 0)
		return be_fail(why, whylen, "its tender %d is gone", (int)pid);
	n = snprintf(buf, sizeof(buf), "guest %s %llu %llu\n", name, (unsigned long long)instance,
	             start);
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

/* Is this a proc tender's record (tPID.proc)?  Its pid, or 0. */
static pid_t record_pid(const char *file)
{
	const char *p = file + 1;
	long pid = 0;

	if (file[0] != 't' || !(*p >= '0' && *p <= '9'))
		return 0;
	while (*p >= '0' && *p <= '9' && pid < 1 << 30)
		pid = pid * 10 + (*p++ - '0');
	return strcmp(p, ".proc") ? 0 : (pid_t)pid;
}

struct left {
	pid_t pid;
	unsigned long long start;
	char name[GUEST_NAME_MAX + 1];
	unsigned long long instance;
	int killed;
	char path[1100];
};

/*
 * A proc tender cannot be re-attached: it closed its control socket when
 * its guest started, and its console and report pipes were the earlier
 * shoald's.  Left running, it would be a guest nobody watches, probes or
 * places.  So it is ended here, before its guest is started again, and
 * its guest's restart policy decides as for any end, with the reason.
 */
int proc_tender_sweep(const char *dir, const struct backend_host *host)
{
	struct left *l = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int waited, alive;
	DIR *dp;

	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((de = readdir(dp))) {
		pid_t pid = record_pid(de->d_name);
		char buf[200];
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
		if (sscanf(buf, "guest %63s %llu %llu", l[n].name, &l[n].instance, &l[n].start) !=
		        3 ||
		    !spec_name_ok(l[n].name)) {
			log_warnx("proc: %s is not a tender's record: removed", l[n].path);
			unlink(l[n].path);
			continue;
		}
		if (proc_alive(pid, l[n].start)) {
			l[n].killed = kill(pid, SIGKILL) == 0;
			log_warnx("guest %s: its proc tender (pid %d), left by an earlier shoald, "
			          "cannot be re-attached: %s; its restart policy decides",
			          l[n].name, (int)pid,
			          l[n].killed ? "ended it"
			                      : "could not end it (see the next line)");
			if (!l[n].killed)
				log_warn("proc: kill %d", (int)pid);
		}
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
		char reason[300];

		if (l[i].killed)
			snprintf(
			    reason, sizeof(reason),
			    "shoald restarted and cannot re-attach a proc tender: it ended the "
			    "one an earlier shoald left (pid %d)",
			    (int)l[i].pid);
		else if (proc_alive(l[i].pid, l[i].start))
			snprintf(reason, sizeof(reason),
			         "shoald restarted and cannot re-attach a proc tender; the one an "
			         "earlier shoald left (pid %d) could not be ended",
			         (int)l[i].pid);
		else
			snprintf(reason, sizeof(reason),
			         "its proc tender (pid %d) ended while shoald was away, leaving no "
			         "record of how",
			         (int)l[i].pid);
		if (!l[i].killed && proc_alive(l[i].pid, l[i].start))
			log_warnx("guest %s: proc tender %d still runs: its record %s is kept",
			          l[i].name, (int)l[i].pid, l[i].path);
		else
			unlink(l[i].path);
		host->ended_while_away(host->ctx, l[i].name, l[i].instance, -1, reason, NULL, 0);
	}
	free(l);
	return (int)n;
}
