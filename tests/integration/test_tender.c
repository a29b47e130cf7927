/*
 * shoal-vmm driven as the daemon drives it: event ports through eventfds
 * (cold, --evtchn) and the warm-start control protocol (READY, DISK, NIC,
 * BOOT, STARTED and its counters' page, EXITED/ERROR), with real guests
 * on /dev/kvm.  The NICs' taps live in a network namespace of the test's
 * own.  Prints TAP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "common/vmm_proto.h"
#include "tests/lib/tap.h"

static char vmm[512], guests[512];

static void skip(int n, const char *why)
{
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_count, why);
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
	tap_ok(got == 300,
	       "cold idle answers every probe through its eventfds (%d/300, median %.1f us)", got,
	       med);
	tap_ok(med > 0 && med < 100000, "probe round trips are timed (median %.1f us)", med);
	kill(pid, SIGTERM);
	tap_ok(bl_wait(pid) == 128 + SIGTERM, "SIGTERM stops the tender");
	close(kick);
	close(note);
}

static void warm_hello(void)
{
	struct bl_warm w;
	char *argv[] = { "hello", "warm", NULL };
	int st = -1, r;

	tap_ok(bl_warm_start(vmm, 32, &w) == 0,
	       "a warm tender sends READY with the probe port's eventfds");
	tap_ok(w.kick_fd >= 0 && w.notify_fd >= 0 && w.vcpu_tid > 0,
	       "READY names the vCPU thread (%u)", w.vcpu_tid);
	r = bl_warm_boot(&w, guest("hello"), "hello", 2, argv);
	tap_ok(r == 0 && bl_warm_wait_started(&w, &st) == 1, "BOOT of hello answers STARTED");
	st = bl_warm_wait_exit(&w, NULL);
	tap_ok(st == 0, "hello exits 0 and the tender with it (status %d)", st);
	bl_warm_close(&w);
}

static void warm_idle_probes(void)
{
	struct bl_warm w;
	char *argv[] = { "idle-w", NULL };
	double med;
	int st = -1, got;

	if (bl_warm_start(vmm, 64, &w) < 0) {
		tap_ok(0, "warm idle: tender started");
		return;
	}
	bl_warm_boot(&w, guest("idle"), "idle-w", 1, argv);
	tap_ok(bl_warm_wait_started(&w, &st) == 1,
	       "BOOT of idle into a 64 MiB shell answers STARTED");
	usleep(100000);
	got = probe_many(w.kick_fd, w.notify_fd, 200, 300, &med);
	tap_ok(got == 200,
	       "warm idle answers every probe on READY's eventfds (%d/200, median %.1f us)", got,
	       med);
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
		tap_ok(r == 0 && st == 203, "BOOT of a non-ELF file answers ERROR 203 (got %d/%d)",
		       r, st);
		tap_ok(bl_warm_wait_exit(&w, NULL) == 203, "and the tender exits 203");
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
		tap_ok(r == 0 && st == 205, "a BOOT whose argc lies answers ERROR 205 (got %d/%d)",
		       r, st);
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
		tap_ok(r == 0 && st == 205,
		       "a BOOT asking more memory than the shell has answers ERROR (got %d/%d)", r,
		       st);
		bl_warm_close(&w);
	}

	if (bl_warm_start(vmm, 32, &w) == 0) {
		struct vmm_msg_hdr h = { VMM_MSG_BOOT, VMM_PROTO_VERSION };

		vmm_msg_send(w.sock, &h, sizeof(h), NULL, 0);
		r = bl_warm_wait_started(&w, &st);
		tap_ok(r == 0 && st == 205, "a truncated BOOT answers ERROR 205 (got %d/%d)", r,
		       st);
		bl_warm_close(&w);
	}

	if (bl_warm_start(vmm, 32, &w) == 0) {
		pid_t pid = w.pid;

		close(w.sock);
		w.sock = -1;
		tap_ok(bl_wait(pid) == 205,
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

/* The counters' page on fd, mapped read-only; NULL if it cannot be. */
static const struct vmm_stats *stats_map(int fd)
{
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, VMM_STATS_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static uint64_t stat_of(const struct vmm_stats *s, unsigned dev, unsigned i)
{
	return __atomic_load_n(&s->dev[dev].c[i], __ATOMIC_RELAXED);
}

/* Two descriptors of one file. */
static int page_same(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* The page is a sealed memfd of VMM_STATS_BYTES. */
static void check_page_file(int fd)
{
	struct stat st;
	int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;

	tap_ok(
	    fd >= 0 && fstat(fd, &st) == 0 && st.st_size == VMM_STATS_BYTES &&
	        seals == (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
	    "  a memfd of %d bytes, sealed against growing, shrinking and more seals (seals 0x%x)",
	    VMM_STATS_BYTES, seals);
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
		tap_ok(0, "re-attach: set-up");
		return;
	}
	bl_warm_boot_ex(&w, guest("spin"), "spinner", 3, argv, 77, lst, -1);
	tap_ok(bl_warm_wait_started(&w, &st) == 1, "a guest booted with a re-attach socket starts");
	close(lst);
	close(w.sock); /* the daemon dies */
	w.sock = -1;
	usleep(500000);
	s = connect_to(path);
	r = s < 0 ? -1 : vmm_msg_recv(s, &at, sizeof(at), fds, &nfds);
	tap_ok(r == (long)sizeof(at) && at.hdr.type == VMM_MSG_ATTACHED && nfds == 4,
	       "a new daemon connecting gets ATTACHED with 4 descriptors (%ld bytes, %u fds)", r,
	       nfds);
	if (r != (long)sizeof(at) || nfds != 4) {
		bl_warm_close(&w);
		return;
	}
	tap_ok(!strcmp(at.name, "spinner") && at.instance == 77 && at.pid == (uint32_t)w.pid,
	       "ATTACHED names the guest, its instance and the tender's pid");
	tap_ok(at.boot_wall_ns > 0 && at.mem_bytes == 32ull << 20,
	       "ATTACHED gives boot time and memory");
	{
		const struct vmm_stats *sp = stats_map(fds[3]), *sw = stats_map(w.stats_fd);

		tap_ok(sp && sp->magic == VMM_STATS_MAGIC && sp->ndevs == 0 && sw &&
		           page_same(fds[3], w.stats_fd),
		       "its last descriptor is the counters' page STARTED gave (no devices)");
		if (sp)
			munmap((void *)sp, VMM_STATS_BYTES);
		if (sw)
			munmap((void *)sw, VMM_STATS_BYTES);
	}
	drain(fds[2], con, sizeof(con), 1000);
	tap_ok(strstr(con, "spin: work=") != NULL,
	       "console written while no daemon was attached is handed over");
	r = probe_many(fds[0], fds[1], 20, 1000, &med);
	tap_ok(r == 20, "the re-attached eventfds reach the guest's probe port (median %.1f us)",
	       med);
	usleep(300000);
	tap_ok(drain(fds[2], con, sizeof(con), 1000) > 0 && strstr(con, "spin: work="),
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
		tap_ok(0, "exit record: set-up");
		return;
	}
	bl_warm_boot_ex(&w, guest("spin"), "shortspin", 4, argv, 5, -1, fd);
	bl_warm_wait_started(&w, &st);
	close(w.sock);
	w.sock = -1;
	tap_ok(bl_wait(w.pid) == 0, "the guest runs to its end with no daemon attached");
	w.pid = 0;
	n = (size_t)pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n < sizeof(buf) ? n : 0] = '\0';
	reason[0] = '\0';
	st = vmm_exit_record_parse(buf, n, &status, reason, sizeof(reason), &off);
	tap_ok(st == 0 && status == 0 && !strcmp(reason, "guest exited with code 0"),
	       "its exit record gives status 0 and the reason (%d, \"%s\")", status, reason);
	tap_ok(off < n && strstr(buf + off, "spin: done work="),
	       "and the console it wrote meanwhile");
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
		tap_ok(0, "warm disks: a disk file is made");
		return;
	}
	close(fd);
	if (bl_warm_start(vmm, 32, &w) < 0) {
		tap_ok(0, "warm disks: tender started");
		unlink(path);
		return;
	}
	tap_ok(bl_warm_disk(&w, "www", path, 1) == 0 && bl_warm_disk(&w, "data", path, 0) == 0,
	       "a warm tender takes two disks after READY");
	bl_warm_boot(&w, guest("blkcheck"), "blkcheck", 6, verify);
	r = bl_warm_wait_started(&w, &st);
	tap_ok(r == 1 && w.stats_fd >= 0, "STARTED carries a descriptor");
	check_page_file(w.stats_fd);
	st = bl_warm_wait_exit(&w, NULL);
	tap_ok(st == 0, "the guest reads on its disk what the host wrote there (exit %d)", st);
	{
		const struct vmm_stats *sp = stats_map(w.stats_fd);

		tap_ok(sp && sp->magic == VMM_STATS_MAGIC && sp->version == VMM_STATS_VERSION &&
		           sp->ndevs == 2,
		       "the counters' page names its magic, version and 2 devices");
		tap_ok(sp && !strcmp(sp->dev[0].name, "www") &&
		           sp->dev[0].kind == VMM_STAT_KIND_DISK &&
		           !strcmp(sp->dev[1].name, "data") &&
		           sp->dev[1].kind == VMM_STAT_KIND_DISK,
		       "  the disks www and data, in the order they were given");
		tap_ok(sp && stat_of(sp, 1, VMM_STAT_DISK_READS) >= 1 &&
		           stat_of(sp, 1, VMM_STAT_DISK_READ_BYTES) == 64 * 512 &&
		           stat_of(sp, 1, VMM_STAT_DISK_WRITES) == 0 &&
		           stat_of(sp, 1, VMM_STAT_DISK_ERRORS) == 0,
		       "  data counts the guest's reads: %llu requests, %llu bytes (64 sectors)",
		       sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_DISK_READS) : 0,
		       sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_DISK_READ_BYTES) : 0);
		tap_ok(sp && stat_of(sp, 0, VMM_STAT_DISK_READS) == 0 &&
		           stat_of(sp, 0, VMM_STAT_DISK_READ_BYTES) == 0,
		       "  www, which the guest did not open, counts nothing");
		if (sp)
			munmap((void *)sp, VMM_STATS_BYTES);
	}
	bl_warm_close(&w);

	if (bl_warm_start(vmm, 32, &w) == 0) {
		bl_warm_disk(&w, "www", path, 1);
		bl_warm_boot(&w, guest("blkcheck"), "blkcheck", 3, rowrite);
		st = bl_warm_wait_exit(&w, NULL);
		tap_ok(st == 0, "a read-only disk refuses the guest's write (exit %d)", st);
		bl_warm_close(&w);
	}

	if (bl_warm_start(vmm, 32, &w) == 0) {
		bl_warm_disk(&w, "../x", path, 1);
		r = bl_warm_wait_started(&w, &st);
		tap_ok(r == 0 && st == GUEST_EXIT_USAGE,
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
		tap_ok(r == 0 && st == GUEST_EXIT_USAGE,
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
		tap_ok(r == 0 && st == GUEST_EXIT_USAGE,
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
		tap_ok(r == 0 && st == GUEST_EXIT_USAGE,
		       "a DISK message with no file is refused (status %d)", st);
		bl_warm_close(&w);
	}
	unlink(path);
}

/* ---- NICs given by message, on taps the test makes (in its own network namespace) ---- */

static char tap_prefix[12];

/* A tun device attached to a new tap (or tun) name<suffix>, with flags; -1 with errno. */
static int make_tap(char suffix, short flags, int nonblock)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)), e;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s%c", tap_prefix, suffix);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static const char *tap_name(char suffix)
{
	static char name[4][IFNAMSIZ];
	static int i;

	i = (i + 1) % 4;
	snprintf(name[i], sizeof(name[i]), "%s%c", tap_prefix, suffix);
	return name[i];
}

/* The host's side of tap <suffix>: addr/24, up, no IPv6 (its chatter is not the guest's). */
static int tap_up(char suffix, const char *addr)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	char path[128];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), fd, r = -1;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", tap_name(suffix));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap_name(suffix));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	if (s < 0 || ioctl(s, SIOCSIFADDR, &ifr) < 0)
		goto out;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto out;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto out;
	r = 0;
out:
	if (s >= 0)
		close(s);
	return r;
}

/* A sound NIC message for NIC name on tap <suffix>, without addresses. */
static void nic_msg(struct vmm_msg_nic *m, const char *name, char suffix)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x78, 0x00, 0x02 };

	memset(m, 0, sizeof(*m));
	m->hdr.type = VMM_MSG_NIC;
	m->hdr.version = VMM_PROTO_VERSION;
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->ifname, sizeof(m->ifname), "%s", tap_name(suffix));
	memcpy(m->mac, mac, 6);
}

/* What a warm tender answers to the messages sent so far: its ERROR's reason has want. */
static void refused(struct bl_warm *w, const char *what, const char *want)
{
	struct pollfd p = { w->sock, POLLIN, 0 };
	int st = -1, r = poll(&p, 1, 10000) == 1 ? bl_warm_wait_started(w, &st) : -2;

	tap_ok(r == 0 && st == GUEST_EXIT_USAGE && strstr(w->reason, want),
	       "%s: refused with ERROR %d \"%s\"", what, st,
	       r == 0    ? w->reason
	       : r == -2 ? "(no answer in 10 s)"
	                 : "(no ERROR)");
	bl_warm_close(w);
}

/* A fresh warm tender sent one NIC message (len bytes, fds): refused with want. */
static void nic_refused(const char *what, const struct vmm_msg_nic *m, size_t len, const int *fds,
                        unsigned nfds, const char *want)
{
	struct bl_warm w;

	if (bl_warm_start(vmm, 32, &w) < 0) {
		tap_ok(0, "%s: a warm tender starts", what);
		return;
	}
	vmm_msg_send(w.sock, m, len, fds, nfds);
	refused(&w, what, want);
}

static void warm_nic_refusals(int tap)
{
	char path[] = "/tmp/shoal-test-nicdisk-XXXXXX";
	struct vmm_msg_nic m;
	struct bl_warm w;
	int pipefd[2] = { -1, -1 }, fd, two[2] = { tap, tap }, taps[5], i;

	nic_msg(&m, "lan", 'a');
	nic_refused("a NIC message with no descriptor", &m, sizeof(m), NULL, 0,
	            "0 descriptors, want 1");
	nic_refused("a NIC message with two descriptors", &m, sizeof(m), two, 2,
	            "2 descriptors, want 1");
	nic_refused("a NIC message cut short", &m, sizeof(m) - 8, &tap, 1, "88 bytes, want 96");
	if (pipe2(pipefd, O_CLOEXEC) == 0)
		nic_refused("a pipe for a tap", &m, sizeof(m), &pipefd[0], 1,
		            "its descriptor is not a tap");
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	nic_refused("/dev/net/tun attached to nothing", &m, sizeof(m), &fd, 1,
	            "not attached to a tap");
	close(fd);
	fd = make_tap('t', IFF_TUN | IFF_NO_PI, 1);
	nic_msg(&m, "lan", 't');
	nic_refused("a tun for a tap", &m, sizeof(m), &fd, 1, "is a tun, not a tap");
	close(fd);
	fd = make_tap('v', IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, 1);
	nic_msg(&m, "lan", 'v');
	nic_refused("a tap with IFF_VNET_HDR", &m, sizeof(m), &fd, 1,
	            "puts a header before its frames");
	close(fd);
	/*
	 * TUNGETIFF tells a tap without IFF_NO_PI only while a socket filter
	 * is on it (the bit is IFF_NOFILTER's too): one that lets all through.
	 */
	fd = make_tap('p', IFF_TAP, 1);
	{
		struct sock_filter all = BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
		struct sock_fprog prog = { 1, &all };

		if (fd >= 0 && ioctl(fd, TUNATTACHFILTER, &prog) < 0) {
			close(fd);
			fd = -1;
		}
	}
	nic_msg(&m, "lan", 'p');
	if (fd >= 0)
		nic_refused("a tap without IFF_NO_PI (and a filter, to tell)", &m, sizeof(m), &fd,
		            1, "puts a header before its frames");
	else
		tap_ok(0, "a tap without IFF_NO_PI: made, with a filter");
	close(fd);
	nic_msg(&m, "lan", 'b');
	nic_refused("a tap other than the one the message names", &m, sizeof(m), &tap, 1,
	            "its tap is ");
	nic_msg(&m, "lan", 'a');
	memset(m.mac, 0, 6);
	nic_refused("a MAC of zeros", &m, sizeof(m), &tap, 1,
	            "MAC 00:00:00:00:00:00 is not a unicast address");
	memset(m.mac, 0xff, 6);
	nic_refused("the broadcast MAC", &m, sizeof(m), &tap, 1,
	            "MAC ff:ff:ff:ff:ff:ff is not a unicast address");
	nic_msg(&m, "lan", 'a');
	m.mac[0] = 0x01;
	nic_refused("a multicast MAC", &m, sizeof(m), &tap, 1, "is not a unicast address");
	nic_msg(&m, "lan", 'a');
	memset(m.name, 'n', sizeof(m.name));
	nic_refused("a name with no NUL", &m, sizeof(m), &tap, 1, "the name has no NUL");
	nic_msg(&m, "lan", 'a');
	memset(m.ifname, 'i', sizeof(m.ifname));
	nic_refused("a tap name with no NUL", &m, sizeof(m), &tap, 1, "ifname has no NUL");
	nic_msg(&m, "../lan", 'a');
	nic_refused("a NIC name that is a path", &m, sizeof(m), &tap, 1, "NIC name \"../lan\"");
	nic_msg(&m, "lan", 'a');
	m.mtu = 9000;
	nic_refused("an MTU of 9000", &m, sizeof(m), &tap, 1,
	            "MTU 9000: this tender serves 1500 only");
	m.mtu = 100;
	nic_refused("an MTU of 100", &m, sizeof(m), &tap, 1, "MTU 100: want 0 or 576 to 9000");
	nic_msg(&m, "lan", 'a');
	inet_pton(AF_INET, "10.78.0.2", &m.ipv4);
	m.prefix_len = 33;
	nic_refused("a prefix of 33", &m, sizeof(m), &tap, 1, "prefix_len is over 32");
	m.prefix_len = 24;
	inet_pton(AF_INET, "10.79.0.1", &m.gateway);
	nic_refused("a gateway off the NIC's network", &m, sizeof(m), &tap, 1,
	            "the gateway is not another address on the NIC's network");
	m.ipv4 = 0;
	nic_refused("a gateway without an address", &m, sizeof(m), &tap, 1,
	            "a prefix or a gateway without an address");

	/* With what came before. */
	fd = mkstemp(path);
	if (fd >= 0 && ftruncate(fd, 64 << 10) == 0 && bl_warm_start(vmm, 32, &w) == 0) {
		bl_warm_disk(&w, "www", path, 1);
		nic_msg(&m, "www", 'a');
		vmm_msg_send(w.sock, &m, sizeof(m), &tap, 1);
		refused(&w, "a NIC named as a disk", "a disk and a NIC are named www");
	} else {
		tap_ok(0, "a NIC named as a disk: set-up");
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	for (i = 0; i < 5; i++)
		taps[i] = make_tap((char)('a' + i), IFF_TAP | IFF_NO_PI, 1);
	taps[0] = tap; /* 'a' is the caller's */
	if (bl_warm_start(vmm, 32, &w) == 0) {
		for (i = 0; i < 5; i++) {
			char name[8];

			snprintf(name, sizeof(name), "n%d", i);
			nic_msg(&m, name, (char)('a' + i));
			vmm_msg_send(w.sock, &m, sizeof(m), &taps[i], 1);
		}
		refused(&w, "a fifth NIC", "more than 4 NICs");
	}
	if (bl_warm_start(vmm, 32, &w) == 0) {
		nic_msg(&m, "lan", 'a');
		vmm_msg_send(w.sock, &m, sizeof(m), &taps[0], 1);
		nic_msg(&m, "lan2", 'a');
		vmm_msg_send(w.sock, &m, sizeof(m), &taps[0], 1);
		refused(&w, "a second NIC on the same tap", "are both on tap");
	}
	if (bl_warm_start(vmm, 32, &w) == 0) {
		nic_msg(&m, "lan", 'a');
		m.rate_pps = 100;
		vmm_msg_send(w.sock, &m, sizeof(m), &taps[0], 1);
		nic_msg(&m, "lan2", 'b');
		m.rate_pps = 200;
		vmm_msg_send(w.sock, &m, sizeof(m), &taps[1], 1);
		refused(&w, "a second NIC with another rate limit",
		        "a rate limit other than the first NIC's");
	}
	for (i = 1; i < 5; i++)
		if (taps[i] >= 0)
			close(taps[i]);
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
}

/* Send a datagram to the echo guest until it comes back (up to timeout_ms); its length or -1. */
static int udp_echo(int s, const struct sockaddr_in *to, const char *data, int timeout_ms)
{
	uint64_t end = bl_now_ns() + (uint64_t)timeout_ms * 1000000u;
	char back[2048];

	while (bl_now_ns() < end) {
		struct pollfd p = { s, POLLIN, 0 };
		ssize_t r;

		sendto(s, data, strlen(data), 0, (const struct sockaddr *)to, sizeof(*to));
		if (poll(&p, 1, 300) != 1)
			continue;
		r = recv(s, back, sizeof(back), 0);
		if (r == (ssize_t)strlen(data) && !memcmp(back, data, (size_t)r))
			return (int)r;
	}
	return -1;
}

/*
 * The echo guest on a NIC given by message, with a disk before it: the
 * host's side of the tap answers from 10.78.0.1, the guest is 10.78.0.2.
 * rate_pps 0: no limit; else a burst is sent and must be held back.
 */
static void warm_nic_echo(int tap, uint64_t rate_pps)
{
	char path[] = "/tmp/shoal-test-nicdisk-XXXXXX";
	char *argv[] = { "echo", "lan", "idle_s=2", NULL };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(7) };
	const struct vmm_stats *sp = NULL;
	struct vmm_msg_nic m;
	struct bl_warm w;
	int fd, s, st = -1, fl, i, got;
	char data[64];

	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 64 << 10) < 0 || bl_warm_start(vmm, 32, &w) < 0) {
		tap_ok(0, "warm NIC: set-up");
		return;
	}
	close(fd);
	bl_warm_disk(&w, "www", path, 1);
	nic_msg(&m, "lan", 'x');
	inet_pton(AF_INET, "10.78.0.2", &m.ipv4);
	inet_pton(AF_INET, "10.78.0.1", &m.gateway);
	m.prefix_len = 24;
	m.rate_pps = rate_pps;
	vmm_msg_send(w.sock, &m, sizeof(m), &tap, 1);
	bl_warm_boot(&w, guest("echo"), "echo", 3, argv);
	tap_ok(bl_warm_wait_started(&w, &st) == 1,
	       "%s: a warm tender given a disk and a NIC by message starts echo%s%s",
	       rate_pps ? "limited" : "unlimited", w.reason[0] ? ": " : "", w.reason);
	sp = stats_map(w.stats_fd);
	if (!rate_pps) {
		fl = fcntl(tap, F_GETFL);
		tap_ok(fl >= 0 && (fl & O_NONBLOCK),
		       "  the blocking tap it was given is non-blocking now");
		tap_ok(sp && sp->magic == VMM_STATS_MAGIC && sp->ndevs == 2 &&
		           !strcmp(sp->dev[0].name, "www") &&
		           sp->dev[0].kind == VMM_STAT_KIND_DISK &&
		           !strcmp(sp->dev[1].name, "lan") && sp->dev[1].kind == VMM_STAT_KIND_NIC,
		       "  its counters' page lists the disk www, then the NIC lan");
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "10.78.0.2", &to.sin_addr);
	got = udp_echo(s, &to, "hello through a tap given by message", 30000);
	tap_ok(got > 0, "  the guest on 10.78.0.2 echoes a datagram from the host's side");
	if (rate_pps) {
		/* 12 datagrams at once at 4 frames a second: the limit must hold some back. */
		uint64_t t0 = bl_now_ns();

		for (i = 0; i < 12; i++) {
			snprintf(data, sizeof(data), "burst %d", i);
			sendto(s, data, strlen(data), 0, (struct sockaddr *)&to, sizeof(to));
		}
		for (i = 0; i < 12; i++) {
			struct pollfd p = { s, POLLIN, 0 };

			if (poll(&p, 1, 8000) != 1 || recv(s, data, sizeof(data), 0) <= 0)
				break;
		}
		tap_ok(i == 12, "  a burst of 12 datagrams comes back whole (%d) in %.1f s", i,
		       (double)(bl_now_ns() - t0) / 1e9);
		tap_ok(sp && stat_of(sp, 1, VMM_STAT_NIC_RX_HELD) +
		                     stat_of(sp, 1, VMM_STAT_NIC_TX_HELD) >
		                 0,
		       "  the message's rate limit held frames back (rx %llu, tx %llu times)",
		       sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_NIC_RX_HELD) : 0,
		       sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_NIC_TX_HELD) : 0);
	} else {
		/* The tender counts a frame after the tap took it: the reply may come first. */
		for (i = 0; i < 200 && sp &&
		            (stat_of(sp, 1, VMM_STAT_NIC_TX_PACKETS) < 2 ||
		             stat_of(sp, 1, VMM_STAT_NIC_TX_BYTES) < 60 + (uint64_t)got);
		     i++)
			usleep(10000);
		tap_ok(
		    sp && stat_of(sp, 1, VMM_STAT_NIC_RX_PACKETS) >= 2 &&
		        stat_of(sp, 1, VMM_STAT_NIC_RX_BYTES) >= 60 + (uint64_t)got &&
		        stat_of(sp, 1, VMM_STAT_NIC_TX_PACKETS) >= 2 &&
		        stat_of(sp, 1, VMM_STAT_NIC_TX_BYTES) >= 60 + (uint64_t)got,
		    "  its counters move while it runs: rx %llu frames %llu bytes, tx %llu frames "
		    "%llu bytes",
		    sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_NIC_RX_PACKETS) : 0,
		    sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_NIC_RX_BYTES) : 0,
		    sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_NIC_TX_PACKETS) : 0,
		    sp ? (unsigned long long)stat_of(sp, 1, VMM_STAT_NIC_TX_BYTES) : 0);
		tap_ok(sp && stat_of(sp, 1, VMM_STAT_NIC_TX_ERRORS) == 0 &&
		           stat_of(sp, 1, VMM_STAT_NIC_RX_ERRORS) == 0 &&
		           stat_of(sp, 1, VMM_STAT_NIC_RX_HELD) == 0 &&
		           stat_of(sp, 1, VMM_STAT_NIC_TX_HELD) == 0 &&
		           stat_of(sp, 0, VMM_STAT_DISK_READS) == 0,
		       "  and no errors, nothing held back, no disk reads");
	}
	close(s);
	{
		struct pollfd p = { w.sock, POLLIN, 0 };

		st = poll(&p, 1, 20000) == 1 ? bl_warm_wait_exit(&w, NULL) : -1;
		tap_ok(st == 0, "  the guest ends once idle, exit %d", st);
	}
	if (sp)
		munmap((void *)sp, VMM_STATS_BYTES);
	bl_warm_close(&w);
	unlink(path);
}

static void warm_nics(void)
{
	int tap, echo_tap;

	snprintf(tap_prefix, sizeof(tap_prefix), "shtt%d", (int)getpid() % 1000000);
	if (unshare(CLONE_NEWNET) < 0) {
		skip(36, "cannot make a network namespace for the taps");
		return;
	}
	tap = make_tap('a', IFF_TAP | IFF_NO_PI, 1);
	echo_tap = make_tap('x', IFF_TAP | IFF_NO_PI, 0);
	if (tap < 0 || echo_tap < 0) {
		skip(36, "cannot make a tap (/dev/net/tun, TUNSETIFF)");
		if (tap >= 0)
			close(tap);
		if (echo_tap >= 0)
			close(echo_tap);
		return;
	}
	warm_nic_refusals(tap);
	close(tap);
	if (access(guest("echo"), R_OK) != 0) {
		skip(12,
		     "no echo guest: lwIP was not built (scripts/lwip.sh, configure --with-lwip)");
	} else if (tap_up('x', "10.78.0.1") < 0) {
		skip(12, "cannot give the tap an address");
	} else {
		warm_nic_echo(echo_tap, 0);
		warm_nic_echo(echo_tap, 4);
	}
	close(echo_tap);
}

int main(void)
{
	const char *b = getenv("top_builddir"), *no_kvm = getenv("SHOAL_TEST_NO_KVM");

	if (no_kvm && *no_kvm && strcmp(no_kvm, "0")) {
		printf("1..0 # SKIP no /dev/kvm (SHOAL_TEST_NO_KVM is set)\n");
		return 0;
	}
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
	warm_nics();
	return tap_done();
}
