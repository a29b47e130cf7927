/*
 * Unit tests of the proc backend's own pieces (daemon/backend/proc.c):
 * the report line kept from what a tender writes on stderr, the guest's
 * end told from a wait status and that line, and the sweep of the
 * records an earlier shoald left (a live tender ended, a gone one
 * reported as such, a bad record removed), against a stub daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/proc.h"

/* A wait status as the kernel makes it. */
#define EXITED(code) ((code) << 8)
#define KILLED(sig)  (sig)

static void feed(struct proc_report *r, const char *s)
{
	proc_tender_report_feed(r, s, strlen(s));
}

static void report_keeps_the_last_whole_line(void **state)
{
	struct proc_report r;

	(void)state;
	memset(&r, 0, sizeof(r));
	feed(&r, "first\nsec");
	assert_string_equal(r.line, "first");
	feed(&r, "ond\n\nthi");
	assert_string_equal(r.line, "second"); /* an empty line does not count */
	feed(&r, "rd\x01\xff\n");
	assert_string_equal(r.line, "third??"); /* kept printable */
}

static void report_cuts_a_long_line(void **state)
{
	struct proc_report r;
	char big[2000];

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	feed(&r, big);
	feed(&r, "\n");
	assert_int_equal(strlen(r.line), PROC_REPORT_MAX - 1);
}

struct end_case {
	int ws;
	const char *report; /* what the tender wrote */
	int status;
	const char *reason;
};

static void end_from_status_and_report(void **state)
{
	static const struct end_case cases[] = {
		{ EXITED(0), "", 0, "guest exited with code 0" },
		{ EXITED(3), "shoal-proc: g: stray words\n", 3, "guest exited with code 3" },
		{ EXITED(201), "shoal-proc: web-1: guest fault: page fault (#PF) at rip 0x1\n", 201,
		  "guest fault: page fault (#PF) at rip 0x1" },
		{ EXITED(202), "shoal-proc: g: bad system call 777 (unknown)", 202,
		  "bad system call 777 (unknown)" }, /* no newline: still the last line */
		{ EXITED(200), "not the tender's words\n", 200, "not the tender's words" },
		{ EXITED(204), "", 204, "the tender exited with status 204 (VM setup failed)" },
		{ KILLED(SIGKILL), "shoal-proc: g: whatever\n", -1,
		  "the tender was killed by signal 9 (Killed)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proc_report r;
		char reason[600];
		int status = 12345;

		memset(&r, 0, sizeof(r));
		feed(&r, cases[i].report);
		proc_tender_end(cases[i].ws, &r, &status, reason, sizeof(reason));
		assert_int_equal(status, cases[i].status);
		assert_string_equal(reason, cases[i].reason);
	}
}

/* ---- the sweep, against a stub daemon ---- */

static char dir[] = "/tmp/shoal-proc-tender-XXXXXX";
static struct {
	char name[64];
	uint64_t instance;
	int status;
	char reason[300];
} ended[8];
static unsigned nended;

static void stub_ended(void *ctx, const char *name, uint64_t instance, int status,
                       const char *reason, const char *console, size_t console_len)
{
	(void)ctx;
	(void)console;
	(void)console_len;
	assert_true(nended < 8);
	snprintf(ended[nended].name, sizeof(ended[nended].name), "%s", name);
	ended[nended].instance = instance;
	ended[nended].status = status;
	snprintf(ended[nended].reason, sizeof(ended[nended].reason), "%s", reason);
	nended++;
}

static void put(const char *file, const char *text)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int there(const char *file)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static const char *reason_of(const char *name)
{
	unsigned i;

	for (i = 0; i < nended; i++)
		if (!strcmp(ended[i].name, name))
			return ended[i].reason;
	return NULL;
}

/* A child that waits for ever, and its start time from /proc. */
static pid_t child_waiting(unsigned long long *start)
{
	pid_t child;
	char st;

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(proc_stat(child, &st, start, NULL), 0);
	return child;
}

static void sweep_ends_what_it_finds(void **state)
{
	struct backend_host host = { .ended_while_away = stub_ended };
	unsigned long long start = 0;
	char file[64], rec[200];
	int i, ws;
	pid_t child;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* A live "tender": a child of ours, with its start time as the record says. */
	child = child_waiting(&start);
	snprintf(file, sizeof(file), "t%d.proc", (int)child);
	snprintf(rec, sizeof(rec), "guest live 7 %llu\n", start);
	put(file, rec);
	/* The same pid with another start time: a pid used again, not our tender. */
	put("t1.proc", "guest reused 3 1\n");
	put("t999999999.proc", "guest gone 5 42\n");
	put("t12.proc", "nonsense\n");
	put("t13.proc", "guest Bad_Name 1 1\n");
	put("t14.sock", "a KVM tender's socket is not the sweep's\n");

	assert_int_equal(proc_tender_sweep(dir, &host, NULL, NULL, NULL), 3);
	/* Our child was killed (a zombie until we reap it, which counts as gone). */
	assert_int_equal(waitpid(child, &ws, 0), child);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	assert_int_equal(nended, 3);
	assert_non_null(reason_of("live"));
	assert_non_null(strstr(reason_of("live"), "cannot re-attach a proc tender"));
	assert_non_null(strstr(reason_of("reused"), "ended while shoald was away"));
	assert_non_null(strstr(reason_of("gone"), "ended while shoald was away"));
	for (i = 0; i < (int)nended; i++)
		assert_int_equal(ended[i].status, -1);
	assert_false(there(file));
	assert_false(there("t1.proc"));
	assert_false(there("t999999999.proc"));
	assert_false(there("t12.proc"));
	assert_false(there("t13.proc"));
	assert_true(there("t14.sock"));
	unlink(strcat(strcpy(rec, dir), "/t14.sock"));
	rmdir(dir);
}

static pid_t adopt_pid;
static unsigned long long adopt_start;

static int stub_adopt(void *ctx, pid_t pid, unsigned long long start, const char *name,
                      uint64_t instance, char *why, size_t whylen)
{
	(void)ctx;
	(void)instance;
	if (!strcmp(name, "refused")) {
		snprintf(why, whylen, "refused by the test");
		return -1;
	}
	adopt_pid = pid;
	adopt_start = start;
	return 0;
}

/*
 * Version 2: a running tender is handed to adopt() and its record and
 * FIFOs stay; one adopt() refuses is ended with its reason; a version 1
 * record is ended even when adopt() would take it; a tender that ended
 * (a zombie here) is reported with its wait status; FIFOs no record names
 * are removed.
 */
static void sweep_adopts_version_2(void **state)
{
	struct backend_host host = { .ended_while_away = stub_ended };
	unsigned long long s_live, s_refused, s_old, s_dead;
	pid_t live, refused, old, dead;
	char file[64], rec[200], fifo[200];
	unsigned adopted = 0;
	int ws, wr, rd;

	(void)state;
	nended = 0;
	strcpy(dir, "/tmp/shoal-proc-tender-XXXXXX");
	assert_non_null(mkdtemp(dir));
	live = child_waiting(&s_live);
	refused = child_waiting(&s_refused);
	old = child_waiting(&s_old);
	dead = child_waiting(&s_dead);
	snprintf(file, sizeof(file), "t%d.proc", (int)live);
	snprintf(rec, sizeof(rec), "v2 guest live 7 %llu\n", s_live);
	put(file, rec);
	snprintf(file, sizeof(file), "t%d.proc", (int)refused);
	snprintf(rec, sizeof(rec), "v2 guest refused 8 %llu\n", s_refused);
	put(file, rec);
	snprintf(file, sizeof(file), "t%d.proc", (int)old);
	snprintf(rec, sizeof(rec), "guest old 9 %llu\n", s_old);
	put(file, rec);
	snprintf(file, sizeof(file), "t%d.proc", (int)dead);
	snprintf(rec, sizeof(rec), "v2 guest dead 10 %llu\n", s_dead);
	put(file, rec);
	/* A version this shoald does not know is read as 1. */
	put("t999999998.proc", "v3 guest future 11 1\n");
	/* The live one's FIFOs stay; a pool tender's, with no record, go. */
	snprintf(fifo, sizeof(fifo), "%s/t%d.out", dir, (int)live);
	rd = proc_tender_fifo(fifo, &wr);
	assert_true(rd >= 0 && wr >= 0);
	assert_int_equal(write(wr, "x", 1), 1);
	assert_int_equal(read(rd, rec, sizeof(rec)), 1);
	close(rd);
	close(wr);
	put("t4242.out", "");
	put("t4242.err", "");
	/* Killed, and left a zombie: its wait status is still in /proc. */
	kill(dead, SIGKILL);
	for (ws = 0; ws < 200; ws++) {
		char st[64], b[256];
		FILE *f;

		snprintf(st, sizeof(st), "/proc/%d/stat", (int)dead);
		f = fopen(st, "r");
		assert_non_null(f);
		assert_non_null(fgets(b, sizeof(b), f));
		fclose(f);
		if (strstr(b, ") Z "))
			break;
		usleep(10000);
	}

	assert_int_equal(proc_tender_sweep(dir, &host, stub_adopt, NULL, &adopted), 5);
	assert_int_equal(adopted, 1);
	assert_int_equal(adopt_pid, live);
	assert_true(adopt_start == s_live);
	assert_int_equal(waitpid(refused, &ws, 0), refused);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	assert_int_equal(waitpid(old, &ws, 0), old);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	assert_int_equal(waitpid(dead, &ws, 0), dead);
	assert_int_equal(nended, 4);
	assert_null(reason_of("live"));
	assert_non_null(strstr(reason_of("refused"), "refused by the test"));
	assert_non_null(strstr(reason_of("old"), "cannot re-attach a proc tender"));
	assert_non_null(strstr(reason_of("dead"), "killed by signal 9"));
	assert_non_null(strstr(reason_of("dead"), "ended while shoald was away"));
	assert_non_null(strstr(reason_of("future"), "ended while shoald was away"));
	snprintf(file, sizeof(file), "t%d.proc", (int)live);
	assert_true(there(file));
	snprintf(file, sizeof(file), "t%d.out", (int)live);
	assert_true(there(file));
	assert_false(there("t4242.out"));
	assert_false(there("t4242.err"));
	snprintf(file, sizeof(file), "t%d.proc", (int)dead);
	assert_false(there(file));
	kill(live, SIGKILL);
	waitpid(live, &ws, 0);
	snprintf(rec, sizeof(rec), "rm -rf %s", dir);
	assert_int_equal(system(rec), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(report_keeps_the_last_whole_line),
		cmocka_unit_test(report_cuts_a_long_line),
		cmocka_unit_test(end_from_status_and_report),
		cmocka_unit_test(sweep_ends_what_it_finds),
		cmocka_unit_test(sweep_adopts_version_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
