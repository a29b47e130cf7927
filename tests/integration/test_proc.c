/*
 * shoal-proc's event ports, driven as a daemon would drive them: eventfds
 * given with --evtchn, the guest's runtime polling its kick eventfd and
 * writing the notify one.  Real guests built for the proc platform.
 * Prints TAP.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench/benchlib.h"

static int n_test;
static char tender[512], guests[512];

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static char *guest(const char *name)
{
	static char path[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s.proc", guests, name);
	return path[i];
}

/* n probes, spaced; returns how many were answered, the median in *med_us. */
static int probe_many(int kick, int note, int n, int spacing_us, double *med_us)
{
	double *v = calloc((size_t)n, sizeof(double));
	int i, got = 0;

	for (i = 0; i < n; i++) {
		uint64_t rtt = bl_probe(kick, note, 500);

		if (rtt)
			v[got++] = (double)rtt / 1e3;
		usleep((useconds_t)spacing_us);
	}
	*med_us = got ? bl_quantile(v, (size_t)got, 0.5) : 0;
	free(v);
	return got;
}

/* Start name with port's eventfds; the caller probes and ends it. */
static pid_t start(const char *name, unsigned port, int *kick, int *note, char *const args[])
{
	char evt[64];
	char *argv[8] = { tender, "--evtchn", evt, guest(name) };
	int i;

	*kick = eventfd(0, 0);
	*note = eventfd(0, EFD_NONBLOCK);
	snprintf(evt, sizeof(evt), "%u:%d:%d", port, *kick, *note);
	for (i = 0; args && args[i] && i < 3; i++)
		argv[4 + i] = args[i];
	argv[4 + i] = NULL;
	return bl_spawn(argv, 0, -1);
}

static void idle_probes(void)
{
	int kick, note, got;
	double med;
	pid_t pid = start("idle", 1, &kick, &note, NULL);

	usleep(100000);
	got = probe_many(kick, note, 300, 200, &med);
	ok(got == 300, "idle answers every probe through its eventfds (%d/300, median %.1f us)",
	   got, med);
	ok(med > 0 && med < 100000, "probe round trips are timed (median %.1f us)", med);
	kill(pid, SIGTERM);
	ok(bl_wait(pid) == 128 + SIGTERM, "SIGTERM stops the guest");
	close(kick);
	close(note);
}

/* A guest that never blocks still looks at its ports between slices. */
static void busy_probes(void)
{
	char *args[] = { "1000", "1000", NULL };
	int kick, note, got;
	double med;
	pid_t pid = start("spin", 1, &kick, &note, args);

	usleep(100000);
	got = probe_many(kick, note, 50, 1000, &med);
	ok(got == 50, "a CPU-bound guest (spin) answers probes too (%d/50, median %.1f us)", got,
	   med);
	kill(pid, SIGKILL);
	bl_wait(pid);
	close(kick);
	close(note);
}

static void hang_stops_answering(void)
{
	char *args[] = { "1", NULL };
	int kick, note, early, late;
	double med;
	pid_t pid = start("hang", 1, &kick, &note, args);

	usleep(100000);
	early = probe_many(kick, note, 10, 20000, &med);
	usleep(1200000);
	late = probe_many(kick, note, 5, 1000, &med);
	ok(early == 10, "hang answers probes at first (%d/10)", early);
	ok(late == 0, "hang stops answering after its time (%d/5 answered)", late);
	kill(pid, SIGKILL);
	bl_wait(pid);
	close(kick);
	close(note);
}

/* Port 2 with a handler in the guest: answers, masking, pending-while-masked. */
static void handler_port(void)
{
	char *args[] = { "echo", NULL };
	int kick, note, i, answered = 0;
	uint64_t late;
	pid_t pid = start("rtcheck", 2, &kick, &note, args);

	usleep(100000);
	for (i = 0; i < 3; i++)
		if (bl_probe(kick, note, 500))
			answered++;
	ok(answered == 3, "a guest's handler on port 2 answers each notify (%d/3)", answered);
	usleep(50000); /* the guest masks port 2 now, for 300 ms */
	late = bl_probe(kick, note, 100);
	ok(late == 0, "a notify on a masked port is not handled at once");
	{
		struct pollfd p = { note, POLLIN, 0 };

		ok(poll(&p, 1, 1000) == 1, "it is handled once the guest unmasks the port");
	}
	ok(bl_probe(kick, note, 500) != 0, "and the port works normally after");
	kill(pid, SIGKILL);
	bl_wait(pid);
	close(kick);
	close(note);
}

int main(void)
{
	const char *b = getenv("top_builddir");

	if (!b)
		b = ".";
	snprintf(tender, sizeof(tender), "%s/vmm/shoal-proc", b);
	snprintf(guests, sizeof(guests), "%s/unikernel-rt/examples", b);
	if (access(tender, X_OK) != 0) {
		printf("1..0 # SKIP %s was not built\n", tender);
		return 0;
	}
	idle_probes();
	busy_probes();
	hang_stops_answering();
	handler_port();
	printf("1..%d\n", n_test);
	return 0;
}
