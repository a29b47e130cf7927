/*
 * shoal-vmm driven as the daemon drives it: event ports through eventfds
 * (cold, --evtchn) and the warm-start control protocol (READY, BOOT,
 * STARTED, EXITED/ERROR), with real guests on /dev/kvm.  Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "common/vmm_proto.h"

static int n_test;
static char vmm[512], guests[512];

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
	snprintf(path[i], sizeof(path[i]), "%s/%s.kvm", guests, name);
	return path[i];
}

/* n probes, spaced; returns how many were answered, medians in *med_us. */
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

static void cold_probes(void)
{
	int kick = eventfd(0, 0), note = eventfd(0, EFD_NONBLOCK);
	char evt[64];
	char *argv[] = { vmm, "--evtchn", evt, guest("idle"), NULL };
	double med;
	int got;
	pid_t pid;

	snprintf(evt, sizeof(evt), "1:%d:%d", kick, note);
	pid = bl_spawn(argv, 0, -1);
	usleep(200000);
	got = probe_many(kick, note, 300, 200, &med);
	ok(got == 300,
	   "cold idle answers every probe through its eventfds (%d/300, median %.1f us)", got, med);
	ok(med > 0 && med < 100000, "probe round trips are timed (median %.1f us)", med);
	kill(pid, SIGTERM);
	ok(bl_wait(pid) == 128 + SIGTERM, "SIGTERM stops the tender");
	close(kick);
	close(note);
}

static void warm_hello(void)
{
	struct bl_warm w;
	char *argv[] = { "hello", "warm", NULL };
	int st = -1, r;

	ok(bl_warm_start(vmm, 32, &w) == 0,
	   "a warm tender sends READY with the probe port's eventfds");
	ok(w.kick_fd >= 0 && w.notify_fd >= 0 && w.vcpu_tid > 0, "READY names the vCPU thread (%u)",
	   w.vcpu_tid);
	r = bl_warm_boot(&w, guest("hello"), "hello", 2, argv);
	ok(r == 0 && bl_warm_wait_started(&w, &st) == 1, "BOOT of hello answers STARTED");
	st = bl_warm_wait_exit(&w, NULL);
	ok(st == 0, "hello exits 0 and the tender with it (status %d)", st);
	bl_warm_close(&w);
}

static void warm_idle_probes(void)
{
	struct bl_warm w;
	char *argv[] = { "idle-w", NULL };
	double med;
	int st = -1, got;

	if (bl_warm_start(vmm, 64, &w) < 0) {
		ok(0, "warm idle: tender started");
		return;
	}
	bl_warm_boot(&w, guest("idle"), "idle-w", 1, argv);
	ok(bl_warm_wait_started(&w, &st) == 1, "BOOT of idle into a 64 MiB shell answers STARTED");
	usleep(100000);
	got = probe_many(w.kick_fd, w.notify_fd, 200, 300, &med);
	ok(got == 200, "warm idle answers every probe on READY's eventfds (%d/200, median %.1f us)",
	   got, med);
	bl_warm_close(&w);
}

static void warm_refusals(void)
{
	struct bl_warm w;
	char bad[] = "/tmp/shoal-test-notelf-XXXXXX";
	char *argv[] = { "x", NULL };
	int fd = mkstemp(bad), st = -1, r;

	(void)!write(fd, "not an image\n", 13);
	close(fd);
	if (bl_warm_start(vmm, 32, &w) == 0) {
		bl_warm_boot(&w, bad, "x", 1, argv);
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == 203, "BOOT of a non-ELF file answers ERROR 203 (got %d/%d)", r,
		   st);
		ok(bl_warm_wait_exit(&w, NULL) == 203, "and the tender exits 203");
		bl_warm_close(&w);
	}
	unlink(bad);

	if (bl_warm_start(vmm, 32, &w) == 0) {
		struct vmm_msg_boot b;

		memset(&b, 0, sizeof(b));
		b.hdr.type = VMM_MSG_BOOT;
		b.hdr.version = VMM_PROTO_VERSION;
		strcpy(b.name, "liar");
		b.argc = 3; /* but no argument strings */
		fd = open(guest("hello"), O_RDONLY);
		vmm_msg_send(w.sock, &b, sizeof(b), &fd, 1);
		close(fd);
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == 205, "a BOOT whose argc lies answers ERROR 205 (got %d/%d)", r,
		   st);
		bl_warm_close(&w);
	}

	if (bl_warm_start(vmm, 32, &w) == 0) {
		struct vmm_msg_boot b;

		memset(&b, 0, sizeof(b));
		b.hdr.type = VMM_MSG_BOOT;
		b.hdr.version = VMM_PROTO_VERSION;
		strcpy(b.name, "greedy");
		b.argc = 1;
		b.mem_bytes = 64ull << 20;
		fd = open(guest("hello"), O_RDONLY);
		vmm_msg_send(w.sock, &b, sizeof(b), &fd, 1);
		close(fd);
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == 205,
		   "a BOOT asking more memory than the shell has answers ERROR (got %d/%d)", r, st);
		bl_warm_close(&w);
	}

	if (bl_warm_start(vmm, 32, &w) == 0) {
		struct vmm_msg_hdr h = { VMM_MSG_BOOT, VMM_PROTO_VERSION };

		vmm_msg_send(w.sock, &h, sizeof(h), NULL, 0);
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == 205, "a truncated BOOT answers ERROR 205 (got %d/%d)", r, st);
		bl_warm_close(&w);
	}

	if (bl_warm_start(vmm, 32, &w) == 0) {
		pid_t pid = w.pid;

		close(w.sock);
		w.sock = -1;
		ok(bl_wait(pid) == 205,
		   "a tender whose daemon goes away before BOOT exits on its own");
		w.pid = 0;
		bl_warm_close(&w);
	}
}

static void hang_stops_answering(void)
{
	int kick = eventfd(0, 0), note = eventfd(0, EFD_NONBLOCK);
	char evt[64];
	char *argv[] = { vmm, "--evtchn", evt, guest("hang"), "1", NULL };
	double med;
	int early, late;
	pid_t pid;

	snprintf(evt, sizeof(evt), "1:%d:%d", kick, note);
	pid = bl_spawn(argv, 0, -1);
	usleep(200000);
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
	int kick = eventfd(0, 0), note = eventfd(0, EFD_NONBLOCK);
	char evt[64];
	char *argv[] = { vmm, "--evtchn", evt, guest("rtcheck"), "echo", NULL };
	int i, answered = 0;
	uint64_t late;
	pid_t pid;

	snprintf(evt, sizeof(evt), "2:%d:%d", kick, note);
	pid = bl_spawn(argv, 0, -1);
	usleep(200000);
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

static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0)
		return -1;
	return s;
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return s;
}

/* Read what is in a pipe now (waiting up to timeout_ms for the first byte). */
static size_t drain(int fd, char *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t got = 0;

	while (got < cap - 1 && poll(&p, 1, got ? 50 : timeout_ms) == 1) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	return got;
}

/*
 * A daemon goes away and a new one attaches: the guest keeps running, the
 * new daemon gets working probe eventfds and the console written meanwhile.
 */
static void reattach(void)
{
	char path[] = "/tmp/shoal-test-reattach.sock";
	char *argv[] = { "spinner", "100", "200", NULL };
	struct vmm_msg_attached at;
	struct bl_warm w;
	int fds[4], lst, s, st = -1;
	unsigned nfds = 4;
	char con[8192];
	long r;
	double med = 0;

	lst = listen_at(path);
	if (lst < 0 || bl_warm_start(vmm, 32, &w) < 0) {
		ok(0, "re-attach: set-up");
		return;
	}
	bl_warm_boot_ex(&w, guest("spin"), "spinner", 3, argv, 77, lst, -1);
	ok(bl_warm_wait_started(&w, &st) == 1, "a guest booted with a re-attach socket starts");
	close(lst);
	close(w.sock); /* the daemon dies */
	w.sock = -1;
	usleep(500000);
	s = connect_to(path);
	r = s < 0 ? -1 : vmm_msg_recv(s, &at, sizeof(at), fds, &nfds);
	ok(r == (long)sizeof(at) && at.hdr.type == VMM_MSG_ATTACHED && nfds == 4,
	   "a new daemon connecting gets ATTACHED with 4 descriptors (%ld bytes, %u fds)", r, nfds);
	if (r != (long)sizeof(at) || nfds != 4) {
		bl_warm_close(&w);
		return;
	}
	ok(!strcmp(at.name, "spinner") && at.instance == 77 && at.pid == (uint32_t)w.pid,
	   "ATTACHED names the guest, its instance and the tender's pid");
	ok(at.boot_wall_ns > 0 && at.mem_bytes == 32ull << 20,
	   "ATTACHED gives boot time and memory");
	drain(fds[2], con, sizeof(con), 1000);
	ok(strstr(con, "spin: work=") != NULL,
	   "console written while no daemon was attached is handed over");
	r = probe_many(fds[0], fds[1], 20, 1000, &med);
	ok(r == 20, "the re-attached eventfds reach the guest's probe port (median %.1f us)", med);
	usleep(300000);
	ok(drain(fds[2], con, sizeof(con), 1000) > 0 && strstr(con, "spin: work="),
	   "console keeps flowing to the new daemon");
	close(s);
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	close(fds[3]);
	bl_warm_close(&w);
	unlink(path);
}

/* A guest that ends while no daemon is attached leaves an exit record. */
static void exit_record(void)
{
	char path[] = "/tmp/shoal-test-exitrec-XXXXXX";
	char *argv[] = { "shortspin", "100", "200", "400", NULL };
	char buf[8192], reason[256];
	struct bl_warm w;
	int fd = mkstemp(path), st = -1, status = -1;
	size_t n, off = 0;

	if (fd < 0 || bl_warm_start(vmm, 32, &w) < 0) {
		ok(0, "exit record: set-up");
		return;
	}
	bl_warm_boot_ex(&w, guest("spin"), "shortspin", 4, argv, 5, -1, fd);
	bl_warm_wait_started(&w, &st);
	close(w.sock);
	w.sock = -1;
	ok(bl_wait(w.pid) == 0, "the guest runs to its end with no daemon attached");
	w.pid = 0;
	n = (size_t)pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n < sizeof(buf) ? n : 0] = '\0';
	reason[0] = '\0';
	st = vmm_exit_record_parse(buf, n, &status, reason, sizeof(reason), &off);
	ok(st == 0 && status == 0 && !strcmp(reason, "guest exited with code 0"),
	   "its exit record gives status 0 and the reason (%d, \"%s\")", status, reason);
	ok(off < n && strstr(buf + off, "spin: done work="), "and the console it wrote meanwhile");
	close(fd);
	unlink(path);
	bl_warm_close(&w);
}

/* blkcheck's pattern, the same bytes on the host's side. */
static uint8_t pattern(uint64_t seed, uint64_t byte)
{
	uint64_t x = (seed + byte / 8) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> (8 * (byte % 8)));
}

/* Disks handed to a warm tender after READY (DISK), as shoald hands them. */
static void warm_disks(void)
{
	char path[] = "/tmp/shoal-test-disk-XXXXXX";
	char *verify[] = { "blkcheck", "verify", "data", "8", "64", "5", NULL };
	char *rowrite[] = { "blkcheck", "rowrite", "www", NULL };
	uint8_t buf[64 * 512];
	struct bl_warm w;
	int fd, st = -1, i, r;

	fd = mkstemp(path);
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = pattern(5, (uint64_t)i);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0 ||
	    pwrite(fd, buf, sizeof(buf), 8 * 512) != sizeof(buf)) {
		ok(0, "warm disks: a disk file is made");
		return;
	}
	close(fd);
	if (bl_warm_start(vmm, 32, &w) < 0) {
		ok(0, "warm disks: tender started");
		unlink(path);
		return;
	}
	ok(bl_warm_disk(&w, "www", path, 1) == 0 && bl_warm_disk(&w, "data", path, 0) == 0,
	   "a warm tender takes two disks after READY");
	bl_warm_boot(&w, guest("blkcheck"), "blkcheck", 6, verify);
	st = bl_warm_wait_exit(&w, NULL);
	ok(st == 0, "the guest reads on its disk what the host wrote there (exit %d)", st);
	bl_warm_close(&w);

	if (bl_warm_start(vmm, 32, &w) == 0) {
		bl_warm_disk(&w, "www", path, 1);
		bl_warm_boot(&w, guest("blkcheck"), "blkcheck", 3, rowrite);
		st = bl_warm_wait_exit(&w, NULL);
		ok(st == 0, "a read-only disk refuses the guest's write (exit %d)", st);
		bl_warm_close(&w);
	}

	if (bl_warm_start(vmm, 32, &w) == 0) {
		bl_warm_disk(&w, "../x", path, 1);
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == GUEST_EXIT_USAGE,
		   "a disk name that is a path is refused with an ERROR (status %d)", st);
		bl_warm_close(&w);
	}
	if (bl_warm_start(vmm, 32, &w) == 0) {
		for (i = 0; i < 9; i++) {
			char name[8];

			snprintf(name, sizeof(name), "d%d", i);
			bl_warm_disk(&w, name, path, 1);
		}
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == GUEST_EXIT_USAGE,
		   "a ninth disk is refused with an ERROR (status %d)", st);
		bl_warm_close(&w);
	}
	if (bl_warm_start(vmm, 32, &w) == 0) {
		struct vmm_msg_disk m;
		int dfd = open(path, O_RDONLY | O_CLOEXEC);

		memset(&m, 0, sizeof(m));
		m.hdr.type = VMM_MSG_DISK;
		m.hdr.version = VMM_PROTO_VERSION;
		memcpy(m.name, "www", 4);
		vmm_msg_send(w.sock, &m, sizeof(m) - 8, &dfd, 1);
		close(dfd);
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == GUEST_EXIT_USAGE,
		   "a DISK message cut short is refused (status %d)", st);
		bl_warm_close(&w);
	}
	if (bl_warm_start(vmm, 32, &w) == 0) {
		struct vmm_msg_disk m;

		memset(&m, 0, sizeof(m));
		m.hdr.type = VMM_MSG_DISK;
		m.hdr.version = VMM_PROTO_VERSION;
		memcpy(m.name, "www", 4);
		vmm_msg_send(w.sock, &m, sizeof(m), NULL, 0);
		r = bl_warm_wait_started(&w, &st);
		ok(r == 0 && st == GUEST_EXIT_USAGE,
		   "a DISK message with no file is refused (status %d)", st);
		bl_warm_close(&w);
	}
	unlink(path);
}

int main(void)
{
	const char *b = getenv("top_builddir");

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("1..0 # SKIP /dev/kvm is not available (%s)\n", strerror(errno));
		return 0;
	}
	snprintf(vmm, sizeof(vmm), "%s/vmm/shoal-vmm", b ? b : ".");
	snprintf(guests, sizeof(guests), "%s/unikernel-rt/examples", b ? b : ".");
	signal(SIGPIPE, SIG_IGN);
	cold_probes();
	warm_hello();
	warm_idle_probes();
	warm_refusals();
	hang_stops_answering();
	handler_port();
	reattach();
	exit_record();
	warm_disks();
	printf("1..%d\n", n_test);
	return 0;
}
