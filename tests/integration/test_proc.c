/*
 * shoal-proc driven as a daemon would drive it: event ports through
 * eventfds given with --evtchn (the guest's runtime polling its kick
 * eventfd and writing the notify one), and the warm start (READY with
 * the probe port's eventfds, DISK, BOOT, STARTED with the counters' page
 * the guest counts its disk's reads in, then the guest's exit status).  Real guests built for the
 * proc platform.  Prints TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "common/vmm_proto.h"
#include "tests/lib/tap.h"

static char tender[512], guests[512];

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
	tap_ok(got == 300, "idle answers every probe through its eventfds (%d/300, median %.1f us)",
	       got, med);
	tap_ok(med > 0 && med < 100000, "probe round trips are timed (median %.1f us)", med);
	kill(pid, SIGTERM);
	tap_ok(bl_wait(pid) == 128 + SIGTERM, "SIGTERM stops the guest");
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
	tap_ok(got == 50, "a CPU-bound guest (spin) answers probes too (%d/50, median %.1f us)",
	       got, med);
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
	tap_ok(early == 10, "hang answers probes at first (%d/10)", early);
	tap_ok(late == 0, "hang stops answering after its time (%d/5 answered)", late);
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
	tap_ok(answered == 3, "a guest's handler on port 2 answers each notify (%d/3)", answered);
	usleep(50000); /* the guest masks port 2 now, for 300 ms */
	late = bl_probe(kick, note, 100);
	tap_ok(late == 0, "a notify on a masked port is not handled at once");
	{
		struct pollfd p = { note, POLLIN, 0 };

		tap_ok(poll(&p, 1, 1000) == 1, "it is handled once the guest unmasks the port");
	}
	tap_ok(bl_probe(kick, note, 500) != 0, "and the port works normally after");
	kill(pid, SIGKILL);
	bl_wait(pid);
	close(kick);
	close(note);
}

static void warm_hello(void)
{
	struct bl_warm w;
	char *argv[] = { "hello", "warm", NULL };
	int st = -1, r;

	tap_ok(bl_warm_start(tender, 32, &w) == 0, "a warm shoal-proc sends READY with the probe "
	                                           "port's eventfds");
	tap_ok(w.kick_fd >= 0 && w.notify_fd >= 0 && w.vcpu_tid == (unsigned)w.pid,
	       "READY names the process as the guest's only thread (%u)", w.vcpu_tid);
	r = bl_warm_boot(&w, guest("hello"), "hello", 2, argv);
	tap_ok(r == 0 && bl_warm_wait_started(&w, &st) == 1, "BOOT of hello answers STARTED");
	st = bl_warm_wait_exit(&w, NULL);
	tap_ok(st == 0, "hello exits 0, the control socket closed at the jump (status %d)", st);
	bl_warm_close(&w);
}

static void warm_idle_probes(void)
{
	struct bl_warm w;
	char *argv[] = { "idle-w", NULL };
	double med;
	int st = -1, got;

	if (bl_warm_start(tender, 32, &w) < 0 ||
	    bl_warm_boot(&w, guest("idle"), "idle-w", 1, argv) < 0 ||
	    bl_warm_wait_started(&w, &st) != 1) {
		tap_ok(0, "a warm idle guest starts");
		bl_warm_close(&w);
		return;
	}
	got = probe_many(w.kick_fd, w.notify_fd, 100, 200, &med);
	tap_ok(got == 100,
	       "a warm idle guest answers probes on READY's eventfds (%d/100, median %.1f us)", got,
	       med);
	bl_warm_close(&w);
}

/*
 * STARTED's counters' page: sealed as shoal-vmm's, its one disk named,
 * and the guest's reads of its 64 KiB counted there by the guest itself.
 */
static void counted(const struct bl_warm *w)
{
	const struct vmm_stats *s;
	int seals = w->stats_fd >= 0 ? fcntl(w->stats_fd, F_GET_SEALS) : -1;
	void *p = MAP_FAILED;

	tap_ok(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW),
	       "STARTED carries the counters' page, sealed against shrinking and growing");
	if (seals >= 0)
		p = mmap(NULL, VMM_STATS_BYTES, PROT_READ, MAP_SHARED, w->stats_fd, 0);
	if (p == MAP_FAILED) {
		tap_ok(0, "the page names the disk");
		tap_ok(0, "and counts the guest's reads");
		return;
	}
	s = p;
	tap_ok(s->magic == VMM_STATS_MAGIC && s->version == VMM_STATS_VERSION && s->ndevs == 1 &&
	           s->dev[0].kind == VMM_STAT_KIND_DISK && !strcmp(s->dev[0].name, "data"),
	       "the page names the disk");
	tap_ok(s->dev[0].c[VMM_STAT_DISK_READS] >= 1 &&
	           s->dev[0].c[VMM_STAT_DISK_READ_BYTES] == 65536 &&
	           s->dev[0].c[VMM_STAT_DISK_WRITES] == 0 && s->dev[0].c[VMM_STAT_DISK_ERRORS] == 0,
	       "and counts the guest's reads (%llu reads, %llu bytes)",
	       (unsigned long long)s->dev[0].c[VMM_STAT_DISK_READS],
	       (unsigned long long)s->dev[0].c[VMM_STAT_DISK_READ_BYTES]);
	munmap(p, VMM_STATS_BYTES);
}

static void warm_disk(void)
{
	char path[] = "/tmp/shoal-proc-disk-XXXXXX";
	char *argv[] = { "blk", "list", NULL };
	char *sum[] = { "blk", "sum", "data", NULL };
	struct bl_warm w;
	int fd = mkstemp(path), st = -1;

	if (fd < 0 || ftruncate(fd, 65536) < 0) {
		tap_ok(0, "a disk file for the warm guest");
		return;
	}
	close(fd);
	tap_ok(bl_warm_start(tender, 32, &w) == 0 && bl_warm_disk(&w, "data", path, 0) == 0 &&
	           bl_warm_boot(&w, guest("blkcheck"), "blk", 2, argv) == 0 &&
	           bl_warm_wait_started(&w, &st) == 1 && bl_warm_wait_exit(&w, NULL) == 0,
	       "a DISK message gives a warm guest its disk (blkcheck list exits 0)");
	bl_warm_close(&w);
	tap_ok(bl_warm_start(tender, 32, &w) == 0 && bl_warm_disk(&w, "data", path, 0) == 0 &&
	           bl_warm_boot(&w, guest("blkcheck"), "blk", 3, sum) == 0 &&
	           bl_warm_wait_started(&w, &st) == 1 && bl_warm_wait_exit(&w, NULL) == 0,
	       "a warm guest reads its disk whole (blkcheck sum exits 0)");
	counted(&w);
	bl_warm_close(&w);
	tap_ok(bl_warm_start(tender, 32, &w) == 0 && bl_warm_disk(&w, "Bad Name", path, 0) == 0 &&
	           bl_warm_wait_started(&w, &st) == 0 && st == 205 && strstr(w.reason, "disk name"),
	       "a DISK message with a bad name is answered with ERROR naming it (%s)", w.reason);
	bl_warm_close(&w);
	unlink(path);
}

static void warm_refuses_reattach(void)
{
	char *argv[] = { "hello", NULL };
	struct bl_warm w;
	int sv[2], st = -1;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		tap_ok(0, "a socket pair");
		return;
	}
	tap_ok(bl_warm_start(tender, 32, &w) == 0 &&
	           bl_warm_boot_ex(&w, guest("hello"), "hello", 1, argv, 1, sv[0], -1) == 0 &&
	           bl_warm_wait_started(&w, &st) == 0 && st == 205 && strstr(w.reason, "re-attach"),
	       "BOOT with a re-attach socket is refused, and says why (%s)", w.reason);
	bl_warm_close(&w);
	close(sv[0]);
	close(sv[1]);
}

static void skip(int n, const char *why)
{
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_count, why);
	fflush(stdout);
}

/* The mount namespace a daemon makes once, given to each guest with --mntns-fd. */
static void shared_mntns(void)
{
	char arg[16], path[64], want[64] = "", got[64] = "";
	char *idle[] = { tender, "--mntns-fd", arg, guest("idle"), NULL };
	char *hello[] = { tender, "--mntns-fd", arg, guest("hello"), NULL };
	int ns = bl_empty_mntns(), entries = -1;
	struct dirent *e;
	DIR *d;
	pid_t pid;

	if (ns < 0) {
		skip(3, "cannot make a mount namespace (not root)");
		return;
	}
	snprintf(arg, sizeof(arg), "%d", ns);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ns);
	if (readlink(path, want, sizeof(want) - 1) < 0)
		want[0] = '\0';
	pid = bl_spawn(idle, 1, ns);
	usleep(200000);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (readlink(path, got, sizeof(got) - 1) < 0)
		got[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/root/", (int)pid);
	d = opendir(path);
	if (d) {
		entries = 0;
		while ((e = readdir(d)))
			entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
		closedir(d);
	}
	kill(pid, SIGKILL);
	bl_wait(pid);
	tap_ok(want[0] && !strcmp(want, got),
	       "--mntns-fd: the guest is in the namespace given (%s)", got);
	tap_ok(entries == 0, "and its root is the namespace's empty one (%d entries)", entries);
	tap_ok(bl_wait(bl_spawn(hello, 1, ns)) == 0, "hello runs there and exits 0");
	close(ns);
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
	warm_hello();
	warm_idle_probes();
	warm_disk();
	warm_refuses_reattach();
	shared_mntns();
	return tap_done();
}
