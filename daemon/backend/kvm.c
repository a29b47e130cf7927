/*
 * The tender backends: the built-in KVM one, one shoal-vmm tender per
 * guest (see common/vmm_proto.h for the protocol), and the proc one, the
 * same with shoal-proc tenders, which run the guest as the process
 * itself (its own pieces are in proc.c).
 *
 * Deploy speed comes from a pool of warm tenders whose VM and vCPU exist
 * already; a start takes one and sends it the image, and the pool is
 * refilled in the background.  A start that needs more memory than pool
 * tenders have gets a tender of its own, made on the spot.
 *
 * Surviving a daemon restart: each tender listens on run-dir/tenders/tPID.sock
 * and keeps an exit record beside it (made while it waits in the pool, so a
 * deploy creates no files; the record starts with "guest NAME INSTANCE",
 * written at boot).  adopt() connects to every socket it finds and takes
 * over the tenders that answer; a socket nobody answers on belongs to a
 * tender that is gone, and its exit record says how its guest ended.
 *
 * The proc mode differs where shoal-proc does (doc/guests.md): its
 * tenders enter one empty mount namespace made at init; it closes its
 * control socket once the guest runs, so the guest's end is the wait
 * status and the last line of its stderr (the report), and pause is
 * SIGSTOP; and it leaves no socket to re-attach to: its console and
 * report are FIFOs (tPID.out, tPID.err) and a record (tPID.proc) lets the
 * next shoald find it, take its probe eventfds back with pidfd_getfd and
 * learn of its end by a pidfd (proc_adopt, proc.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/kvm_cpu.h"
#include "daemon/backend/kvm_net.h"
#include "daemon/backend/proc.h"
#include "daemon/backend/proc_rate.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "common/mntns.h"
#include "common/proc_status.h"
#include "common/vmm_proto.h"
#include "shoal/abi.h"

#define BOOT_TIMEOUT_S 10.0
#define SPAWN_RETRY_S  1.0

extern char **environ;

enum shell_state {
	SH_SPAWNING, /* started, no READY yet */
	SH_READY,    /* in the pool */
	SH_BOOTING,  /* BOOT sent, no STARTED yet */
	SH_RUNNING,
	SH_ENDED, /* the guest's end is reported; waiting for the process */
};

struct shell {
	struct backend *be;
	struct shell *next;
	enum shell_state state;
	pid_t pid; /* our child, unless adopted */
	int adopted;
	int sock;       /* control connection */
	int console_fd; /* the tender's stdout */
	int kick_fd, notify_fd;
	int vcpu_tid;
	unsigned mem_mib;
	ev_io sock_w, console_w;
	ev_timer console_hold; /* a flooding console left unread for a while */
	int notify_watched;    /* in the backend's answer set */
	int notify_counted;    /* its eventfd's counter is read at each wake-up (answers_drain) */
	uint64_t notify_seen; /* wake-ups reported as one notification since the counter was read */
	ev_child child_w;     /* our own tenders only */
	ev_timer boot_timer;
	struct guest *g;
	struct be_start req; /* kept until the dedicated shell is READY */
	char *req_image;
	char **req_args;
	char *req_disk[BE_DISKS_MAX][2]; /* name and path of each of req.disks, our copies */
	struct vmm_msg_nic req_nic[BE_NICS_MAX]; /* req.nics as the NIC messages say them */
	char req_bridge[BE_NICS_MAX][16];
	const struct vmm_stats *stats; /* the tender's device counters (read-only), or NULL */
	char path[1100]; /* the re-attach socket (tPID.sock); its exit record is path + ".exit" */
	int listen_fd;   /* made while the shell waits in the pool */
	int exit_fd;
	int got_exited;
	int exit_status;
	char exit_reason[512];
	int reaped;
	int wait_status;
	int report_fd; /* proc: the tender's stderr */
	ev_io report_w;
	struct proc_report report;
	int fifos; /* proc: its console and report are tPID.out and tPID.err */
	int pidfd; /* proc, adopted: tells of its end (it is no child of ours) */
	ev_io pidfd_w;
	unsigned long long start;      /* proc, adopted: its start time, for its status */
	int rate_fd;                   /* proc: its rate limit's counters (proc_rate.h), or -1 */
	int rate_ifindex[BE_NICS_MAX]; /* each NIC's tap, where the counters keep its drops */
	uint32_t uid;                  /* its uid and gid, from tender-uid-range; 0: none */
	int killed;                    /* shoald sent it SIGKILL (a stop) */
	struct kvm_tap *taps[BE_NICS_MAX]; /* the taps it was given, held by shoald (kvm_net.c) */
	unsigned ntaps;
};

/* This backend's state; the daemon only ever holds a pointer to it. */
struct backend {
	const char *name;    /* "kvm" or "proc", for messages */
	const char *tender;  /* the tender binary */
	int proc;            /* shoal-proc tenders (the file's comment) */
	int mntns_fd;        /* the one empty mount namespace every tender enters */
	int netns_fd;        /* the one network namespace (no device up) every tender enters */
	int kvm_fd;          /* kvm: /dev/kvm, handed to every tender */
	uint8_t *uids;       /* tender-uid-range, a bit a uid: taken */
	uint32_t uid_next;   /* where the next search for a free uid starts (an offset) */
	char spawn_why[160]; /* why the last shell_spawn failed, for the start's error */
	struct ev_loop *loop;
	const struct shoald_config *cfg;
	struct backend_host host;
	char tender_dir[1100];
	struct shell *shells;
	unsigned ready, spawning;
	uint64_t spawned, boots, boot_failures;
	ev_timer refill_retry;    /* also used to refill a little after a start, off its path */
	double refill_held_since; /* ev_now when host.hurry() first held a refill back; 0: none */
	int answer_ep;            /* epoll set of every guest's probe-answer eventfd */
	ev_io answer_w;
	struct kvm_weight weight;
	char mechanism[1600];
	double spawn_blocked_until;
	struct kvm_tap
	    *taps; /* every tap shoald holds, in use or waiting for its guest's next run */
};

static void shell_refill(struct backend *be);
static void shell_boot(struct shell *sh);
static void on_child(struct ev_loop *loop, ev_child *w, int revents);

static void shell_unlink(struct shell *sh)
{
	struct shell **pp;

	for (pp = &sh->be->shells; *pp; pp = &(*pp)->next)
		if (*pp == sh) {
			*pp = sh->next;
			return;
		}
}

static void shell_free_req(struct shell *sh)
{
	unsigned i;

	if (sh->req_args) {
		for (i = 0; sh->req_args[i]; i++)
			free(sh->req_args[i]);
		free(sh->req_args);
	}
	free(sh->req_image);
	sh->req_args = NULL;
	sh->req_image = NULL;
	for (i = 0; i < BE_DISKS_MAX; i++) {
		free(sh->req_disk[i][0]);
		free(sh->req_disk[i][1]);
		sh->req_disk[i][0] = sh->req_disk[i][1] = NULL;
	}
	sh->req.ndisks = 0;
	sh->req.nnics = 0;
}

/* proc: the tender's console and report FIFOs, tPID.out and tPID.err. */
static void fifo_path(const struct shell *sh, const char *ext, char *path, size_t len)
{
	snprintf(path, len, "%.900s/t%d.%s", sh->be->tender_dir, (int)sh->pid, ext);
}

static void fifos_unlink(const struct shell *sh)
{
	char path[1100];

	fifo_path(sh, "out", path, sizeof(path));
	unlink(path);
	fifo_path(sh, "err", path, sizeof(path));
	unlink(path);
}

/* Close everything of a shell; the process (if still there) is left to SIGCHLD. */
static void shell_close(struct shell *sh)
{
	struct ev_loop *loop = sh->be->loop;

	ev_io_stop(loop, &sh->sock_w);
	ev_io_stop(loop, &sh->console_w);
	ev_timer_stop(loop, &sh->console_hold);
	ev_io_stop(loop, &sh->report_w);
	ev_io_stop(loop, &sh->pidfd_w);
	if (sh->notify_watched)
		epoll_ctl(sh->be->answer_ep, EPOLL_CTL_DEL, sh->notify_fd, NULL);
	sh->notify_watched = 0;
	ev_timer_stop(loop, &sh->boot_timer);
	if (sh->sock >= 0)
		close(sh->sock);
	if (sh->console_fd >= 0)
		close(sh->console_fd);
	if (sh->kick_fd >= 0)
		close(sh->kick_fd);
	if (sh->notify_fd >= 0)
		close(sh->notify_fd);
	if (sh->listen_fd >= 0)
		close(sh->listen_fd);
	if (sh->exit_fd >= 0)
		close(sh->exit_fd);
	if (sh->report_fd >= 0)
		close(sh->report_fd);
	if (sh->pidfd >= 0)
		close(sh->pidfd);
	/* The last hold on the limit's map: the taps' filters went with the taps. */
	if (sh->rate_fd >= 0)
		close(sh->rate_fd);
	sh->rate_fd = -1;
	sh->sock = sh->console_fd = sh->kick_fd = sh->notify_fd = sh->listen_fd = sh->exit_fd = -1;
	sh->report_fd = sh->pidfd = -1;
	/* Its taps wait for the guest's next run (or for the daemon to let go of them). */
	while (sh->ntaps)
		kvm_tap_idle(sh->taps[--sh->ntaps]);
	if (sh->fifos)
		fifos_unlink(sh);
	sh->fifos = 0;
	if (sh->stats)
		munmap((void *)sh->stats, VMM_STATS_BYTES);
	sh->stats = NULL;
	if (sh->path[0]) {
		char rec[1200];

		snprintf(rec, sizeof(rec), "%s.exit", sh->path);
		unlink(sh->path);
		if (!sh->be->proc)
			unlink(rec);
		sh->path[0] = '\0';
	}
	shell_free_req(sh);
}

/*
 * ---- the tenders' uids ----
 *
 * Each tender runs under a uid, and the gid of the same number, of its
 * own from tender-uid-range, so that none may signal, trace or read
 * another.  They are taken next-fit: a uid given back (its tender may be
 * in the kernel's teardown still) is the last to be taken again.  At
 * start every process already under one (a tender an earlier shoald
 * left, adopted or on its way out) has its uid marked, read from /proc,
 * so a restart never gives a running tender's uid to another; a mark
 * with no tender adopted stays until shoald restarts.  The search starts
 * at a random place in the range: two shoalds on one host (the test
 * suite's) that were given the same range would otherwise both start at
 * its first uid (a host with two needs a range for each).
 */
static int uid_bit(const struct backend *be, uint32_t uid, uint32_t *off)
{
	if (uid < be->cfg->tender_uid_first || uid > be->cfg->tender_uid_last)
		return 0;
	*off = uid - be->cfg->tender_uid_first;
	return 1;
}

static void uid_give(struct backend *be, uint32_t uid)
{
	uint32_t off;

	if (uid && uid_bit(be, uid, &off))
		be->uids[off / 8] &= (uint8_t) ~(1u << (off % 8));
}

/* A free uid, now taken; 0 when every one is. */
static uint32_t uid_take(struct backend *be)
{
	uint32_t n = be->cfg->tender_uid_last - be->cfg->tender_uid_first + 1, i, off;

	for (i = 0; i < n; i++) {
		off = (be->uid_next + i) % n;
		if (!(be->uids[off / 8] & (1u << (off % 8)))) {
			be->uids[off / 8] |= (uint8_t)(1u << (off % 8));
			be->uid_next = (off + 1) % n;
			return be->cfg->tender_uid_first + off;
		}
	}
	return 0;
}

/* The real uid of process pid, from /proc; 0 when it cannot be read. */
static uint32_t uid_of(pid_t pid)
{
	char val[256];
	unsigned long uid = 0;

	if (proc_status_field(pid, "Uid:", val, sizeof(val)) < 0 || sscanf(val, "%lu", &uid) != 1)
		return 0;
	return (uint32_t)uid;
}

/* Mark the uid of every process already running under one of the range. */
static void uids_mark_running(struct backend *be)
{
	struct dirent *de;
	uint32_t uid, off;
	unsigned marked = 0;
	DIR *d = opendir("/proc");

	if (!d) {
		log_warn("%s: cannot list /proc for tenders already running", be->name);
		return;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		uid = uid_of((pid_t)pid);
		if (uid && uid_bit(be, uid, &off)) {
			be->uids[off / 8] |= (uint8_t)(1u << (off % 8));
			marked++;
		}
	}
	closedir(d);
	if (marked)
		log_debug(
		    "%s: %u processes run under tender-uid-range already; their uids are kept",
		    be->name, marked);
}

/* Forget a shell entirely once its process is gone (or is not ours). */
static void shell_maybe_free(struct shell *sh)
{
	if (sh->state != SH_ENDED || (!sh->adopted && !sh->reaped))
		return;
	if (sh->pid > 0)
		kvm_weight_forget(&sh->be->weight, sh->pid);
	uid_give(sh->be, sh->uid);
	shell_close(sh);
	shell_unlink(sh);
	free(sh);
}

/* Report the guest's end once, then let go of the guest. */
static void shell_report_end(struct shell *sh, int status, const char *reason)
{
	struct guest *g = sh->g;
	int was_booting = sh->state == SH_BOOTING || sh->state == SH_SPAWNING;

	if (sh->state == SH_READY)
		sh->be->ready--;
	if (sh->state == SH_SPAWNING)
		sh->be->spawning--;
	sh->state = SH_ENDED;
	sh->g = NULL;
	/* The console may still hold the guest's last words: read them now. */
	if (g && sh->console_fd >= 0) {
		char buf[65536];
		ssize_t r;

		while ((r = read(sh->console_fd, buf, sizeof(buf))) > 0)
			sh->be->host.console(g, buf, (size_t)r);
	}
	shell_close(sh);
	if (g) {
		g->be = NULL;
		if (was_booting) {
			sh->be->boot_failures++;
			sh->be->host.start_failed(g, status == GUEST_EXIT_IMAGE ? 422 : 500,
			                          reason);
		} else {
			sh->be->host.exited(g, status, reason);
		}
	}
	shell_maybe_free(sh);
}

static void describe_wait(int ws, char *buf, size_t len)
{
	if (WIFEXITED(ws))
		snprintf(buf, len, "the tender exited with status %d (%s)", WEXITSTATUS(ws),
		         guest_exit_str(WEXITSTATUS(ws)));
	else if (WIFSIGNALED(ws))
		snprintf(buf, len, "the tender was killed by signal %d (%s)", WTERMSIG(ws),
		         strsignal(WTERMSIG(ws)));
	else
		snprintf(buf, len, "the tender ended (wait status 0x%x)", ws);
}

/* proc: what the tender wrote on stderr that is not taken yet; only its last line is kept. */
static void report_drain(struct shell *sh)
{
	char buf[4096];
	ssize_t r;

	while (sh->report_fd >= 0 && (r = read(sh->report_fd, buf, sizeof(buf))) > 0)
		proc_tender_report_feed(&sh->report, buf, (size_t)r);
}

static void on_report(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shell *sh = w->data;
	char buf[4096];
	ssize_t r = read(sh->report_fd, buf, sizeof(buf));

	(void)revents;
	if (r > 0) {
		proc_tender_report_feed(&sh->report, buf, (size_t)r);
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ev_io_stop(loop, w);
}

/* The control connection closed: the tender is gone or going. */
static void shell_lost(struct shell *sh)
{
	char why[PROC_REPORT_MAX + 100];
	int status = -1;

	ev_io_stop(sh->be->loop, &sh->sock_w);
	if (sh->state == SH_ENDED)
		return;
	if (sh->got_exited) {
		shell_report_end(sh, sh->exit_status, sh->exit_reason);
		return;
	}
	if (!sh->adopted && !sh->reaped && sh->killed && !sh->be->proc) {
		/*
		 * shoald killed it to stop the guest, and its control socket
		 * closes once every one of its threads has left: the guest has
		 * ended, whatever is left of the tender's exit, which holds no
		 * stop, restart or redeploy up (the kernel closes the socket
		 * late in the exit, so here SIGCHLD comes within a millisecond).
		 * SIGCHLD reaps it later, and only then is its uid given back
		 * (shell_maybe_free).  Its taps are shoald's too (kvm_net.c): the
		 * tender's exit does not unregister them, the next run takes them.
		 */
		snprintf(why, sizeof(why), "the tender was killed by signal %d (%s)", SIGKILL,
		         strsignal(SIGKILL));
		shell_report_end(sh, -1, why);
		return;
	}
	if (!sh->adopted && !sh->reaped)
		return; /* SIGCHLD will tell us how it ended */
	if (sh->reaped && sh->be->proc) {
		/* A proc tender's word on the guest's end is its status and its report. */
		report_drain(sh);
		proc_tender_end(sh->wait_status, &sh->report, &status, why, sizeof(why));
	} else if (sh->reaped) {
		describe_wait(sh->wait_status, why, sizeof(why));
		status = WIFEXITED(sh->wait_status) ? WEXITSTATUS(sh->wait_status) : -1;
	} else {
		snprintf(why, sizeof(why), "the tender went away without a report");
	}
	shell_report_end(sh, status, why);
}

/*
 * The guest's console.  A proc guest's, while it floods over its rate
 * limit, is left unread for the time the host says: its FIFO
 * (non-blocking at the guest's end) fills, and what the guest writes
 * meanwhile is dropped at its own cost, not read and dropped by shoald.
 * A KVM tender's pipe is blocking at its end, so that output is never
 * lost behind a daemon that reads late; leaving it unread would stall
 * the vCPU, and it is read on (an emulated guest's flood costs shoald
 * about 1 % of a core here).
 */
static void on_console_hold(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct shell *sh = w->data;

	(void)revents;
	if (sh->console_fd >= 0)
		ev_io_start(loop, &sh->console_w);
}

static void on_console(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shell *sh = w->data;
	char buf[65536];
	ssize_t r = read(sh->console_fd, buf, sizeof(buf));

	(void)revents;
	if (r > 0) {
		uint64_t hold = sh->g ? sh->be->host.console(sh->g, buf, (size_t)r) : 0;

		if (hold && sh->be->proc) {
			ev_io_stop(loop, w);
			ev_timer_set(&sh->console_hold, (double)hold / 1e9, 0.);
			ev_timer_start(loop, &sh->console_hold);
		}
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ev_io_stop(loop, w);
}

/*
 * Probe answers.  Every guest's answer eventfd sits in one epoll set,
 * edge-triggered, watched by the loop as one descriptor: a wake-up takes
 * all the answers that came, with one epoll_wait and no read() each.
 * Edge-triggered, an eventfd reports every signal, also while its counter
 * is not zero, so the counter need not be read: each wake-up is taken for
 * one notification (the counter cannot overflow: the kernel saturates
 * it, and 2^64 answers would take longer than any host lives).  One time
 * stamp serves the answers one epoll_wait returns.
 *
 * A wake-up may stand for many notifications, though: the writes that
 * came since the last epoll_wait make one.  Once the probe engine finds
 * one of a guest's notifications unsolicited, its counter is read at each
 * of its wake-ups from then on (notify_counted), so that what a storming
 * guest did is counted exactly: the first read gives every notification
 * since the counter was last read, less the wake-ups already reported.
 * A read that finds it zero (the writes were taken by the read before,
 * and their edge came after) reports nothing.
 */
static uint64_t notify_read(struct shell *sh)
{
	uint64_t v = 0;

	if (read(sh->notify_fd, &v, sizeof(v)) != sizeof(v))
		return 0; /* EAGAIN: nothing since the last read (the tender made it non-blocking)
		           */
	return v;
}

static void answer(struct backend *be, struct shell *sh, uint64_t now)
{
	uint64_t n;

	if (sh->notify_counted) {
		n = notify_read(sh);
		if (n)
			be->host.probe_answer(sh->g, now, n);
		return;
	}
	if (!be->host.probe_answer(sh->g, now, 1)) {
		sh->notify_seen++;
		return;
	}
	/* Unsolicited: count exactly from now on, starting with what was not reported. */
	sh->notify_counted = 1;
	n = notify_read(sh);
	n = n > sh->notify_seen + 1 ? n - sh->notify_seen - 1 : 0;
	sh->notify_seen = 0;
	if (n && sh->g && sh->state == SH_RUNNING)
		be->host.probe_answer(sh->g, now, n);
}

static void answers_drain(struct backend *be)
{
	struct epoll_event ev[256];
	int n, i;

	do {
		uint64_t now;

		n = epoll_wait(be->answer_ep, ev, 256, 0);
		now = now_mono_ns();
		for (i = 0; i < n; i++) {
			struct shell *sh = ev[i].data.ptr;

			/* An earlier answer of this batch may have made it deaf (a storm). */
			if (sh->g && sh->state == SH_RUNNING && sh->notify_watched)
				answer(be, sh, now);
		}
	} while (n == 256);
}

static void on_answers(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	answers_drain(w->data);
}

/* Into the answer set, or out of it; 0, or -1 (logged). */
static int notify_watch(struct shell *sh, int on)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.ptr = sh };

	if (sh->notify_fd < 0 || sh->notify_watched == on)
		return 0;
	if (epoll_ctl(sh->be->answer_ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, sh->notify_fd,
	              on ? &e : NULL) < 0) {
		log_warn("%s: tender %d: cannot %s its probe answers", sh->be->name, (int)sh->pid,
		         on ? "watch" : "stop watching");
		return -1;
	}
	sh->notify_watched = on;
	return 0;
}

static void watch_guest_fds(struct shell *sh)
{
	struct ev_loop *loop = sh->be->loop;

	if (sh->console_fd >= 0) {
		fcntl(sh->console_fd, F_SETFL, O_NONBLOCK);
		ev_io_init(&sh->console_w, on_console, sh->console_fd, EV_READ);
		sh->console_w.data = sh;
		ev_io_start(loop, &sh->console_w);
	}
	if (sh->notify_fd >= 0 && !sh->notify_watched) {
		/*
		 * What an earlier daemon left in the counter is not this one's
		 * to count (notify_seen starts at 0).
		 */
		notify_read(sh);
		sh->notify_seen = 0;
		notify_watch(sh, 1);
	}
}

static int listen_at(const char *path);

/* The re-attach socket and exit record, made while the shell is not yet needed. */
static int shell_files(struct shell *sh)
{
	char rec[1200];

	snprintf(sh->path, sizeof(sh->path), "%.900s/t%d.sock", sh->be->tender_dir, (int)sh->pid);
	snprintf(rec, sizeof(rec), "%s.exit", sh->path);
	sh->listen_fd = listen_at(sh->path);
	sh->exit_fd = open(rec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (sh->listen_fd < 0 || sh->exit_fd < 0) {
		log_warn("%s: %s", sh->be->name, sh->listen_fd < 0 ? sh->path : rec);
		return -1;
	}
	return 0;
}

/*
 * Map the tender's device counters' page, read-only; a descriptor that is
 * not one (too small, not mappable, not sealed against shrinking: a page
 * cut short under the mapping would fault in shoald) is left alone and
 * the guest simply shows no counters.  On proc the page is the guest's
 * own to write: kvm_dev_stats trusts nothing in it either way.
 */
static void map_stats(struct shell *sh, int fd)
{
	struct stat st;
	int seals;
	void *p;

	if (sh->stats || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)VMM_STATS_BYTES)
		return;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return;
	p = mmap(NULL, VMM_STATS_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED)
		sh->stats = p;
}

/*
 * The host's id of a tender's thread that it knows as ns_tid in its pid
 * namespace (NSpid in /proc/PID/task/TID/status: the host's first, its
 * own last).  ns_tid itself for a tender with no namespace of its own;
 * -1 when no thread has it.
 */
static int host_tid(pid_t pid, uint32_t ns_tid)
{
	char path[300], line[256];
	struct dirent *de;
	int found = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/status", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *last;
			unsigned long host;

			if (strncmp(line, "NSpid:", 6))
				continue;
			host = strtoul(line + 6, NULL, 10);
			last = strrchr(line, '\t');
			if (last && strtoul(last + 1, NULL, 10) == ns_tid)
				found = (int)host;
			break;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* A message that breaks the protocol: the tender is not to be trusted further. */
static void tender_malformed(struct shell *sh, const char *what)
{
	log_warnx("%s: tender %d sent a malformed %s message: killing it", sh->be->name, sh->pid,
	          what);
	if (sh->pid > 0)
		kill(sh->pid, SIGKILL);
}

/* ERROR or EXITED: how the guest ended, as the tender says. */
static void tender_ended(struct shell *sh, int32_t status, const char *reason)
{
	sh->got_exited = 1;
	sh->exit_status = status;
	snprintf(sh->exit_reason, sizeof(sh->exit_reason), "%s", reason);
	shell_report_end(sh, sh->exit_status, sh->exit_reason);
}

static void on_sock(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shell *sh = w->data;
	union {
		struct vmm_msg_hdr h;
		struct vmm_msg_ready ready;
		struct vmm_msg_started started;
		struct vmm_msg_exited exited;
		char raw[1024];
	} m;
	int fds[2 * VMM_PORTS_MAX];
	unsigned nfds = 2 * VMM_PORTS_MAX, i;
	long r;

	(void)loop;
	(void)revents;
	r = vmm_msg_recv(sh->sock, &m, sizeof(m), fds, &nfds);
	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0 && r != -EMSGSIZE) {
		shell_lost(sh);
		return;
	}
	if (r == -EMSGSIZE || r < (long)sizeof(m.h) || m.h.version != VMM_PROTO_VERSION) {
		for (i = 0; r > 0 && i < nfds; i++)
			close(fds[i]);
		ev_io_stop(sh->be->loop, &sh->sock_w);
		tender_malformed(sh, r == -EMSGSIZE          ? "oversized"
		                     : r < (long)sizeof(m.h) ? "truncated"
		                                             : "wrong-version");
		return;
	}
	/*
	 * Every message is checked for its exact length before a member is
	 * read (a tender runs guest-facing code: its words are outside input).
	 */
	switch (m.h.type) {
	case VMM_MSG_READY:
		if (sh->state != SH_SPAWNING || r != (long)sizeof(m.ready) ||
		    nfds != 2 * m.ready.nports || m.ready.nports < 1 || m.ready.ports[0] != 1) {
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			tender_malformed(sh, "READY");
			return;
		}
		sh->kick_fd = fds[0];
		sh->notify_fd = fds[1];
		for (i = 2; i < nfds; i++)
			close(fds[i]);
		/* It says its vCPU's thread as it sees it, in its pid namespace. */
		sh->vcpu_tid = host_tid(sh->pid, m.ready.vcpu_tid);
		if (sh->vcpu_tid <= 0) {
			tender_malformed(sh, "READY (a vCPU thread it does not have)");
			return;
		}
		sh->be->spawning--;
		/* A proc tender has no socket to re-attach to: its record is made at boot. */
		if (!sh->be->proc && shell_files(sh) < 0) {
			kill(sh->pid, SIGKILL);
			sh->state = sh->g ? SH_BOOTING : SH_SPAWNING;
			sh->be->spawning += sh->state == SH_SPAWNING;
			shell_report_end(
			    sh, GUEST_EXIT_SETUP,
			    "cannot make the tender's re-attach socket or exit record");
			return;
		}
		if (sh->g) {
			sh->state = SH_BOOTING;
			shell_boot(sh);
		} else {
			sh->state = SH_READY;
			sh->be->ready++;
		}
		break;
	case VMM_MSG_STARTED:
		/* Its one descriptor is the device counters' page. */
		if (nfds >= 1 && r == (long)sizeof(m.started) && sh->state == SH_BOOTING && sh->g)
			map_stats(sh, fds[0]);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (r != (long)sizeof(m.started)) {
			tender_malformed(sh, "STARTED");
			return;
		}
		if (sh->state != SH_BOOTING || !sh->g)
			break;
		ev_timer_stop(sh->be->loop, &sh->boot_timer);
		sh->state = SH_RUNNING;
		sh->be->boots++;
		watch_guest_fds(sh);
		sh->be->host.started(sh->g, sh->pid, sh->vcpu_tid, m.started.boot_wall_ns);
		break;
	case VMM_MSG_ERROR:
	case VMM_MSG_EXITED: /* one layout (vmm_proto.h) */
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (r != (long)sizeof(m.exited)) {
			tender_malformed(sh, m.h.type == VMM_MSG_ERROR ? "ERROR" : "EXITED");
			return;
		}
		m.exited.reason[sizeof(m.exited.reason) - 1] = '\0';
		tender_ended(sh, m.exited.status, m.exited.reason);
		break;
	default:
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		break;
	}
}

static void on_boot_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct shell *sh = t->data;

	(void)loop;
	(void)revents;
	log_warnx("%s: tender %d did not start its guest within %.0f s: killing it", sh->be->name,
	          sh->pid, BOOT_TIMEOUT_S);
	if (sh->pid > 0)
		kill(sh->pid, SIGKILL);
	shell_report_end(sh, GUEST_EXIT_INTERNAL, "the tender did not start the guest in time");
}

/* A shell holding nothing yet. */
static struct shell *shell_new(struct backend *be)
{
	struct shell *sh = calloc(1, sizeof(*sh));

	if (!sh)
		return NULL;
	sh->be = be;
	sh->sock = sh->console_fd = sh->kick_fd = sh->notify_fd = sh->listen_fd = sh->exit_fd = -1;
	sh->report_fd = sh->pidfd = sh->rate_fd = -1;
	ev_timer_init(&sh->console_hold, on_console_hold, 0., 0.);
	sh->console_hold.data = sh;
	return sh;
}

/*
 * proc: the tender's console and report are FIFOs, so that a later
 * shoald can open them again (proc.c's proc_tender_attach).  They are
 * made under names of their own, tmp, and take the tender's pid once it
 * has one (fifos_name).  out and rep get the read end, then the write
 * end.  0, or -1 (logged) with nothing left.
 */
static int fifos_make(struct backend *be, int out[2], int rep[2], char tmp[2][1100])
{
	static unsigned seq;

	seq++;
	snprintf(tmp[0], sizeof(tmp[0]), "%.900s/n%d-%u.out", be->tender_dir, (int)getpid(), seq);
	snprintf(tmp[1], sizeof(tmp[1]), "%.900s/n%d-%u.err", be->tender_dir, (int)getpid(), seq);
	out[0] = proc_tender_fifo(tmp[0], &out[1]);
	if (out[0] < 0) {
		log_warn("%s: cannot make the FIFO %s", be->name, tmp[0]);
		return -1;
	}
	rep[0] = proc_tender_fifo(tmp[1], &rep[1]);
	if (rep[0] < 0) {
		log_warn("%s: cannot make the FIFO %s", be->name, tmp[1]);
		close(out[0]);
		close(out[1]);
		unlink(tmp[0]);
		out[0] = out[1] = -1;
		return -1;
	}
	return 0;
}

/* The FIFOs take the tender's pid; if they cannot, it runs, but cannot be re-attached. */
static void fifos_name(struct shell *sh, char tmp[2][1100])
{
	char out[1100], err[1100];

	fifo_path(sh, "out", out, sizeof(out));
	fifo_path(sh, "err", err, sizeof(err));
	if (rename(tmp[0], out) == 0 && rename(tmp[1], err) == 0) {
		sh->fifos = 1;
		return;
	}
	log_warn("%s: tender %d: cannot name its FIFOs %s and %s (a later shoald will end it)",
	         sh->be->name, (int)sh->pid, out, err);
	unlink(tmp[0]);
	unlink(tmp[1]);
	unlink(out);
}

/*
 * What a tender's process does between clone and exec: the descriptors
 * it is started with in their places (to[i] = from[i], in order) and no
 * other, a session of its own, every signal at its default and none
 * blocked.
 */
struct tender_exec {
	const char *path;
	char **argv;
	int n, from[8], to[8];
	int err; /* set by the child when a step or the exec fails (memory is shared) */
};

static int tender_child(void *arg)
{
	struct tender_exec *x = arg;
	struct sigaction dfl;
	sigset_t none;
	int sig, i, fd, high = 0;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		goto fail;
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || (fd != 0 && (dup2(fd, 0) < 0 || close(fd) < 0)))
		goto fail;
	for (i = 0; i < x->n; i++) {
		if (dup2(x->from[i], x->to[i]) < 0)
			goto fail;
		high = x->to[i] > high ? x->to[i] : high;
	}
	/*
	 * Nothing else: whatever shoald's own parent left open without
	 * close-on-exec would otherwise reach the tender.
	 */
	if (syscall(SYS_close_range, high + 1, ~0u, 0) < 0)
		goto fail;
	execve(x->path, x->argv, environ);
fail:
	x->err = errno;
	_exit(127);
}

/*
 * Start the tender as the first process of a new pid namespace, so that
 * it sees no other process (and its kill(pid, 0) finds none): clone
 * with CLONE_NEWPID, on this stack, sharing shoald's memory until the
 * exec (CLONE_VM | CLONE_VFORK, as posix_spawn does).  Signals stay
 * blocked here meanwhile: no handler of shoald's may run on the child's
 * stack.  The pid, or -1 with errno.
 */
static pid_t tender_clone(struct tender_exec *x)
{
	char stack[32768] __attribute__((aligned(16)));
	sigset_t all, old;
	pid_t pid;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(tender_child, stack + sizeof(stack),
	            CLONE_VM | CLONE_VFORK | CLONE_NEWPID | SIGCHLD, (void *)x);
	e = pid < 0 ? errno : x->err;
#ifdef __SANITIZE_ADDRESS__
	/*
	 * The child's frames left the address sanitizer's marks on this
	 * array in the memory they shared; the frames that reuse this part
	 * of the stack must not find them (a false report in the next
	 * snprintf onto a local buffer there).
	 */
	__asan_unpoison_memory_region(stack, sizeof(stack));
#endif
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid > 0 && e) /* it ended before its exec: the zombie is libev's to reap */
		pid = -1;
	errno = e;
	return pid;
}

/* Start a tender process with `mem_mib` of guest memory; it reports READY. */
static struct shell *shell_spawn(struct backend *be, unsigned mem_mib)
{
	struct tender_exec x;
	struct shell *sh;
	char memarg[16], userarg[32];
	/*
	 * The jail's descriptors: proc's at 4 and 5 (its stderr is the
	 * report), kvm's /dev/kvm at 4 and the namespaces at 5 and 6.
	 */
	char *argv[16] = { (char *)be->tender,
		           "--mem",
		           memarg,
		           "--control-fd",
		           "3",
		           "--user",
		           userarg,
		           "--mntns-fd",
		           be->proc ? "4" : "5",
		           "--netns-fd",
		           be->proc ? "5" : "6",
		           be->proc ? NULL : "--kvm-fd",
		           "4" };
	int sv[2] = { -1, -1 }, out[2] = { -1, -1 }, rep[2] = { -1, -1 }, r;
	char tmp[2][1100] = { "", "" };

	snprintf(be->spawn_why, sizeof(be->spawn_why), "shoald's log says why");
	sh = shell_new(be);
	if (!sh)
		return NULL;
	sh->mem_mib = mem_mib;
	sh->uid = uid_take(be);
	if (!sh->uid) {
		snprintf(be->spawn_why, sizeof(be->spawn_why),
		         "no uid of tender-uid-range (%u-%u) is free", be->cfg->tender_uid_first,
		         be->cfg->tender_uid_last);
		log_warnx("%s: no uid of tender-uid-range (%u-%u) is free: no tender can start "
		          "until one ends",
		          be->name, be->cfg->tender_uid_first, be->cfg->tender_uid_last);
		goto fail;
	}
	snprintf(userarg, sizeof(userarg), "%u:%u", sh->uid, sh->uid);
	if (be->proc && fifos_make(be, out, rep, tmp) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    (!be->proc && pipe2(out, O_CLOEXEC) < 0)) {
		snprintf(be->spawn_why, sizeof(be->spawn_why), "cannot make its sockets: %s",
		         strerror(errno));
		log_warn("%s: cannot make a tender's sockets", be->name);
		goto fail;
	}
	snprintf(memarg, sizeof(memarg), "%u", mem_mib);
	memset(&x, 0, sizeof(x));
	x.path = be->tender;
	x.argv = argv;
#define PLACE(fd, at) (x.from[x.n] = (fd), x.to[x.n++] = (at))
	PLACE(out[1], 1);
	PLACE(sv[1], 3);
	if (be->proc) {
		/* Its stderr is the guest's report; kvm's tenders write to shoald's own. */
		PLACE(rep[1], 2);
		PLACE(be->mntns_fd, 4);
		PLACE(be->netns_fd, 5);
	} else {
		PLACE(be->kvm_fd, 4);
		PLACE(be->mntns_fd, 5);
		PLACE(be->netns_fd, 6);
	}
#undef PLACE
	sh->pid = tender_clone(&x);
	r = sh->pid < 0 ? errno : 0;
	close(sv[1]);
	close(out[1]);
	if (rep[1] >= 0)
		close(rep[1]);
	sv[1] = out[1] = rep[1] = -1;
	if (r != 0) {
		errno = r;
		snprintf(be->spawn_why, sizeof(be->spawn_why), "%s", strerror(r));
		log_warn("%s: cannot start %s", be->name, be->tender);
		goto fail;
	}
	sh->sock = sv[0];
	sh->console_fd = out[0];
	sh->report_fd = rep[0];
	if (be->proc)
		fifos_name(sh, tmp);
	if (sh->report_fd >= 0) {
		fcntl(sh->report_fd, F_SETFL, O_NONBLOCK);
		ev_io_init(&sh->report_w, on_report, sh->report_fd, EV_READ);
		sh->report_w.data = sh;
		ev_io_start(be->loop, &sh->report_w);
	}
	fcntl(sh->sock, F_SETFL, O_NONBLOCK);
	ev_io_init(&sh->sock_w, on_sock, sh->sock, EV_READ);
	sh->sock_w.data = sh;
	ev_io_start(be->loop, &sh->sock_w);
	ev_timer_init(&sh->boot_timer, on_boot_timeout, BOOT_TIMEOUT_S, 0.);
	sh->boot_timer.data = sh;
	ev_child_init(&sh->child_w, on_child, sh->pid, 0);
	sh->child_w.data = sh;
	ev_child_start(be->loop, &sh->child_w);
	sh->state = SH_SPAWNING;
	sh->next = be->shells;
	be->shells = sh;
	be->spawning++;
	be->spawned++;
	return sh;
fail:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (rep[0] >= 0)
		close(rep[0]);
	if (rep[1] >= 0)
		close(rep[1]);
	if (tmp[0][0])
		unlink(tmp[0]);
	if (tmp[1][0])
		unlink(tmp[1]);
	uid_give(be, sh->uid);
	free(sh);
	return NULL;
}

static void on_refill_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	shell_refill(t->data);
}

/* Pool tenders on their way (dedicated ones already have their guest). */
static unsigned pool_pending(const struct backend *be)
{
	const struct shell *sh;
	unsigned n = 0;

	for (sh = be->shells; sh; sh = sh->next)
		n += sh->state == SH_SPAWNING && !sh->g;
	return n;
}

/* How long at most a refill waits for host.hurry() (a woken guest's query) to be over. */
#define REFILL_HOLD_MAX_S 0.25

static void shell_refill(struct backend *be)
{
	double now = ev_now(be->loop);

	/*
	 * A spawn holds shoald's loop until the tender is exec'd (its clone
	 * is a vfork) and the new tender then takes CPU while it makes its
	 * VM: on a woken guest's path, both were measured to cost it (the
	 * loop held 0.1 to 13 ms on a busy host, before its STARTED or its
	 * first probe).  The pool waits for the query, a while at most.
	 */
	if (be->host.hurry && be->host.hurry(be->host.ctx) &&
	    (!be->refill_held_since || now - be->refill_held_since < REFILL_HOLD_MAX_S)) {
		if (!be->refill_held_since)
			be->refill_held_since = now;
		if (!ev_is_active(&be->refill_retry)) {
			ev_timer_set(&be->refill_retry, 0.002, 0.);
			ev_timer_start(be->loop, &be->refill_retry);
		}
		return;
	}
	be->refill_held_since = 0;
	if (now < be->spawn_blocked_until) {
		if (!ev_is_active(&be->refill_retry)) {
			ev_timer_set(&be->refill_retry, be->spawn_blocked_until - now, 0.);
			ev_timer_start(be->loop, &be->refill_retry);
		}
		return;
	}
	while (be->ready + pool_pending(be) < be->cfg->pool_size)
		if (!shell_spawn(be, be->cfg->pool_mem_mib))
			break;
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	unlink(path);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
	    listen(s, 4) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/*
 * The guest's disks, one DISK message each, before BOOT: shoald opens the
 * files (read-only for a read-only disk) and the tender gets only the
 * descriptors.  0, or -1 with why.
 */
static int send_disks(struct shell *sh, char *why, size_t whylen)
{
	unsigned i;

	for (i = 0; i < sh->req.ndisks; i++) {
		const char *name = sh->req_disk[i][0], *path = sh->req_disk[i][1];
		int ro = sh->req.disks[i].readonly, fd;
		struct vmm_msg_disk m;

		if (!name || !path || strlen(name) >= sizeof(m.name))
			return be_fail(why, whylen, "disk %u: out of memory, or a name too long",
			               i);
		fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			return be_fail_errno(why, whylen, "cannot open disk %s (%s)", name, path);
		memset(&m, 0, sizeof(m));
		m.hdr.type = VMM_MSG_DISK;
		m.hdr.version = VMM_PROTO_VERSION;
		memcpy(m.name, name, strlen(name) + 1);
		m.readonly = ro ? 1 : 0;
		if (vmm_msg_send(sh->sock, &m, sizeof(m), &fd, 1) < 0) {
			close(fd);
			return be_fail(why, whylen, "the tender did not take disk %s", name);
		}
		close(fd);
	}
	return 0;
}

/*
 * The guest's NICs, one NIC message each, after the disks and before
 * BOOT: shoald makes each tap on its bridge, or takes the one it holds
 * from the guest's last run, and the tender gets only a copy of the
 * descriptor.  0, or -1 with why.
 */
static int send_nics(struct shell *sh, char *why, size_t whylen)
{
	unsigned i;

	for (i = 0; i < sh->req.nnics; i++) {
		struct vmm_msg_nic *m = &sh->req_nic[i];
		struct kvm_tap *t;
		char tapwhy[300];

		if (kvm_tap_take(&sh->be->taps, sh->g->name, m->ifname, sh->req_bridge[i],
		                 sh->be->proc, &t, tapwhy, sizeof(tapwhy)) < 0)
			return be_fail(why, whylen, "NIC %s: %s", m->name, tapwhy);
		sh->taps[sh->ntaps++] = t;
		/* proc: a past run's limit comes off; this run's, if any, goes on (limit_nics). */
		if (t->limited)
			proc_rate_detach(t->name);
		t->limited = 0;
		if (vmm_msg_send(sh->sock, m, sizeof(*m), &t->fd, 1) < 0)
			return be_fail(why, whylen, "the tender did not take NIC %s", m->name);
	}
	return 0;
}

/*
 * proc: the guest's rate limit on its taps, made by send_nics, before
 * BOOT: the guest never sends or receives a frame unlimited.  0, or -1
 * with why (and nothing left on the taps).
 */
static int limit_nics(struct shell *sh, char *why, size_t whylen)
{
	const char *taps[BE_NICS_MAX];
	unsigned i;

	if (!sh->be->proc || !sh->req.nnics || (!sh->req.net_rate_pps && !sh->req.net_rate_bytes))
		return 0;
	for (i = 0; i < sh->req.nnics; i++)
		taps[i] = sh->req_nic[i].ifname;
	sh->rate_fd = proc_rate_attach(taps, sh->req.nnics, sh->req.net_rate_pps,
	                               sh->req.net_rate_bytes, sh->rate_ifindex, why, whylen);
	if (sh->rate_fd < 0)
		return -1;
	for (i = 0; i < sh->ntaps; i++)
		sh->taps[i]->limited = 1;
	log_debug("guest %s: its taps limited to %llu packets and %llu bytes a second each way",
	          sh->g->name, (unsigned long long)sh->req.net_rate_pps,
	          (unsigned long long)sh->req.net_rate_bytes);
	return 0;
}

/* Send BOOT to a READY shell for its guest. */
static void shell_boot(struct shell *sh)
{
	static union {
		struct vmm_msg_boot b;
		char raw[VMM_MSG_MAX];
	} m;
	struct backend *be = sh->be;
	struct guest *g = sh->g;
	int fds[3] = { -1, -1, -1 }, hn;
	char head[128], why[600];
	size_t pos = 0;
	unsigned i;

	memset(&m.b, 0, sizeof(m.b));
	m.b.hdr.type = VMM_MSG_BOOT;
	m.b.hdr.version = VMM_PROTO_VERSION;
	snprintf(m.b.name, sizeof(m.b.name), "%s", g->name);
	m.b.instance = sh->req.instance;
	m.b.mem_bytes = (uint64_t)sh->req.memory_mib << 20;
	/* A proc tender keeps no re-attach socket or exit record: it has its record here. */
	m.b.flags = be->proc ? 0 : VMM_BOOT_LISTEN | VMM_BOOT_EXITREC;
	m.b.argc = sh->req.nargs + 1;
	for (i = 0; i < sh->req.nargs; i++) {
		size_t n = strlen(sh->req_args[i]) + 1;

		memcpy(m.b.args + pos, sh->req_args[i], n); /* fits: the spec limits arguments */
		pos += n;
	}
	m.b.args_bytes = (uint32_t)pos;
	/* The record says whose it is, for a daemon that finds it after a restart. */
	hn = snprintf(head, sizeof(head), "guest %s %llu\n", g->name,
	              (unsigned long long)sh->req.instance);
	if (send_disks(sh, why, sizeof(why)) < 0 || send_nics(sh, why, sizeof(why)) < 0 ||
	    limit_nics(sh, why, sizeof(why)) < 0)
		goto fail;
	if (be->proc) {
		snprintf(sh->path, sizeof(sh->path), "%.900s/t%d.proc", be->tender_dir,
		         (int)sh->pid);
		if (proc_tender_record(sh->path, sh->pid, g->name, sh->req.instance, sh->fifos, why,
		                       sizeof(why)) < 0) {
			sh->path[0] = '\0';
			goto fail;
		}
	}
	fds[0] = open(sh->req_image, O_RDONLY | O_CLOEXEC);
	fds[1] = sh->listen_fd;
	fds[2] = sh->exit_fd;
	if (fds[0] < 0 || (!be->proc && write(sh->exit_fd, head, (size_t)hn) != hn)) {
		snprintf(why, sizeof(why), "cannot prepare the guest's %s: %s",
		         fds[0] < 0 ? "image" : "exit record", strerror(errno));
		goto fail;
	}
	if (vmm_msg_send(sh->sock, &m, sizeof(m.b) + pos, fds, be->proc ? 1 : 3) < 0) {
		snprintf(why, sizeof(why), "the tender did not take the image");
		goto fail;
	}
	/* The tender owns the socket and the record now. */
	close(fds[0]);
	if (sh->listen_fd >= 0)
		close(sh->listen_fd);
	if (sh->exit_fd >= 0)
		close(sh->exit_fd);
	sh->listen_fd = sh->exit_fd = -1;
	shell_free_req(sh);
	ev_timer_start(be->loop, &sh->boot_timer);
	return;
fail:
	if (fds[0] >= 0)
		close(fds[0]);
	kill(sh->pid, SIGKILL);
	shell_report_end(sh, GUEST_EXIT_SETUP, why); /* state BOOTING: a failed start */
}

static int kvm_start(struct backend *b, struct guest *g, const struct be_start *req, char *err,
                     size_t errlen)
{
	struct backend *be = b;
	struct shell *sh, *best = NULL;
	char *image, **args;
	const char *keep[BE_NICS_MAX];
	unsigned i;

	/* Built without the rate limit, proc limits no rate; the daemon refuses such a spec first
	 * (ops' net_rate). */
	if (be->proc && req->nnics && (req->net_rate_pps || req->net_rate_bytes)) {
		char why[200];

		if (!proc_rate_built(why, sizeof(why)))
			return be_fail(err, errlen,
			               "net_rate: the proc backend cannot limit a guest's network "
			               "rate: %s",
			               why);
	}
	image = strdup(req->image_path);
	args = calloc(req->nargs + 1, sizeof(char *));
	for (i = 0; args && i < req->nargs; i++)
		if (!(args[i] = strdup(req->args[i])))
			break;
	if (!image || !args || i < req->nargs) {
		for (i = 0; args && args[i]; i++)
			free(args[i]);
		free(args);
		free(image);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (sh = be->shells; sh; sh = sh->next)
		if (sh->state == SH_READY && sh->mem_mib >= req->memory_mib &&
		    (!best || sh->mem_mib < best->mem_mib))
			best = sh;
	if (best) {
		sh = best;
		be->ready--;
	} else {
		sh = shell_spawn(be, req->memory_mib);
		if (!sh) {
			for (i = 0; args[i]; i++)
				free(args[i]);
			free(args);
			free(image);
			snprintf(err, errlen, "cannot start a tender (%s): %s", be->tender,
			         be->spawn_why);
			return -1;
		}
	}
	sh->g = g;
	g->be = sh;
	sh->req = *req;
	sh->req_image = image;
	sh->req_args = args;
	sh->req.ndisks = req->ndisks < BE_DISKS_MAX ? req->ndisks : BE_DISKS_MAX;
	for (i = 0; i < sh->req.ndisks; i++) {
		sh->req_disk[i][0] = strdup(req->disks[i].name);
		sh->req_disk[i][1] = strdup(req->disks[i].path);
		/* Out of memory: the boot fails on the missing name, with a reason. */
	}
	sh->req.nnics = req->nnics < BE_NICS_MAX ? req->nnics : BE_NICS_MAX;
	for (i = 0; i < sh->req.nnics; i++) {
		const struct be_nic *n = &req->nics[i];
		struct vmm_msg_nic *m = &sh->req_nic[i];

		memset(m, 0, sizeof(*m));
		m->hdr.type = VMM_MSG_NIC;
		m->hdr.version = VMM_PROTO_VERSION;
		snprintf(m->name, sizeof(m->name), "%s", n->name);
		snprintf(m->ifname, sizeof(m->ifname), "%s", n->tap);
		memcpy(m->mac, n->mac, 6);
		m->ipv4 = htonl(n->ipv4);
		m->gateway = htonl(n->gateway);
		m->prefix_len = n->ipv4 ? n->prefix_len : 0;
		/* shoal-proc refuses a rate: on proc the host kernel keeps it (limit_nics). */
		m->rate_pps = be->proc ? 0 : req->net_rate_pps;
		m->rate_bytes = be->proc ? 0 : req->net_rate_bytes;
		snprintf(sh->req_bridge[i], sizeof(sh->req_bridge[i]), "%s", n->bridge);
		keep[i] = n->tap;
	}
	/* A tap held for a NIC the guest no longer has goes. */
	kvm_tap_let_go(&be->taps, g->name, keep, sh->req.nnics);
	if (best) {
		sh->state = SH_BOOTING;
		shell_boot(sh);
	}
	/* Refill a moment later: spawning a tender takes a millisecond this start need not wait
	 * for. */
	if (!ev_is_active(&be->refill_retry)) {
		ev_timer_set(&be->refill_retry, 0.005, 0.);
		ev_timer_start(be->loop, &be->refill_retry);
	}
	return 0;
}

static void kvm_let_go(struct backend *b, const char *name)
{
	unsigned n = kvm_tap_let_go(&b->taps, name, NULL, 0);

	if (n)
		log_debug("guest %s: %u taps let go of", name, n);
}

static int kvm_stop(struct backend *b, struct guest *g, char *err, size_t errlen)
{
	struct shell *sh = g->be;

	(void)b;
	if (!sh)
		return be_fail(err, errlen, "it has no tender");
	sh->killed = 1;
	if (sh->pid > 0 && kill(sh->pid, SIGKILL) < 0 && errno == ESRCH)
		shell_lost(sh);
	return 0;
}

/* The guest's running tender, or NULL with err set. */
static struct shell *running_shell(struct guest *g, char *err, size_t errlen);

static int kvm_set_affinity(struct backend *b, struct guest *g, const cpu_set_t *cpus, char *err,
                            size_t errlen)
{
	struct shell *sh = running_shell(g, err, errlen);

	(void)b;
	if (!sh)
		return -1;
	if (sched_setaffinity(sh->vcpu_tid, sizeof(*cpus), cpus) < 0)
		return be_fail_errno(err, errlen, "sched_setaffinity of its vCPU thread %d",
		                     sh->vcpu_tid);
	return 0;
}

static struct shell *running_shell(struct guest *g, char *err, size_t errlen)
{
	struct shell *sh = g->be;

	if (!sh || sh->vcpu_tid <= 0 || sh->pid <= 0) {
		be_fail(err, errlen, "it has no running tender");
		return NULL;
	}
	return sh;
}

/*
 * PAUSE or RESUME to the tender, and its answer, waited for here: the
 * control thread answers within the vCPU's way out of KVM_RUN (2 s at
 * most, its own limit).  Anything else first on the socket is the
 * guest's end, left for on_sock().
 */
#define PAUSE_ANSWER_MS 3000

static int kvm_pause(struct backend *b, struct guest *g, int pause, char *err, size_t errlen)
{
	struct shell *sh = running_shell(g, err, errlen);
	struct vmm_msg_hdr req = { pause ? VMM_MSG_PAUSE : VMM_MSG_RESUME, VMM_PROTO_VERSION };
	struct vmm_msg_paused m;
	uint64_t deadline = now_mono_ns() + PAUSE_ANSWER_MS * 1000000ull;
	long r;

	(void)b;
	if (!sh || sh->state != SH_RUNNING) {
		snprintf(err, errlen, "its tender is not running the guest");
		return -1;
	}
	/* A proc tender is the guest: the signals hold it and let it go. */
	if (b->proc)
		return proc_tender_pause(sh->pid, pause, err, errlen);
	r = vmm_msg_send(sh->sock, &req, sizeof(req), NULL, 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot ask tender %d: %s", (int)sh->pid, strerror((int)-r));
		return -1;
	}
	for (;;) {
		struct pollfd pf = { sh->sock, POLLIN, 0 };
		uint64_t now = now_mono_ns();
		struct vmm_msg_hdr h;
		unsigned nfds = 0;

		if (now >= deadline || poll(&pf, 1, (int)((deadline - now) / 1000000u) + 1) == 0) {
			snprintf(err, errlen, "tender %d did not answer within %d ms", (int)sh->pid,
			         PAUSE_ANSWER_MS);
			return -1;
		}
		r = recv(sh->sock, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < (long)sizeof(h) || h.type != VMM_MSG_PAUSED) {
			snprintf(err, errlen, "the guest is ending");
			return -1;
		}
		r = vmm_msg_recv(sh->sock, &m, sizeof(m), NULL, &nfds);
		if (r != (long)sizeof(m)) {
			snprintf(err, errlen, "tender %d sent a malformed PAUSED", (int)sh->pid);
			return -1;
		}
		if (m.status != 0 || (int)m.paused != pause) {
			m.reason[sizeof(m.reason) - 1] = '\0';
			snprintf(err, errlen, "tender %d: %s", (int)sh->pid,
			         m.reason[0] ? m.reason : "the vCPU is not as asked");
			return -1;
		}
		return 0;
	}
}

static int kvm_set_weight(struct backend *b, struct guest *g, unsigned weight, char *err,
                          size_t errlen)
{
	struct shell *sh = running_shell(g, err, errlen);

	if (!sh)
		return -1;
	if (kvm_weight_set(&b->weight, sh->pid, sh->vcpu_tid, weight) < 0)
		return be_fail_errno(err, errlen, "weight %u by %s", weight, b->mechanism);
	return 0;
}

static int kvm_set_batch(struct backend *b, struct guest *g, int batch, char *err, size_t errlen)
{
	struct shell *sh = running_shell(g, err, errlen);
	struct sched_param p = { 0 };

	if (!sh)
		return -1;
	if (sched_setscheduler(sh->vcpu_tid, batch ? SCHED_IDLE : SCHED_OTHER, &p) < 0)
		return be_fail_errno(err, errlen, "sched_setscheduler(%s) of its vCPU thread %d",
		                     batch ? "SCHED_IDLE" : "SCHED_OTHER", sh->vcpu_tid);
	if (kvm_weight_idle(&b->weight, sh->pid, batch) < 0)
		return be_fail_errno(err, errlen, "cpu.idle %d of its cgroup", batch);
	return 0;
}

static int kvm_placement_get(struct backend *b, struct guest *g, struct be_placement *out,
                             char *err, size_t errlen)
{
	struct shell *sh = running_shell(g, err, errlen);

	if (!sh)
		return -1;
	if (sched_getaffinity(sh->vcpu_tid, sizeof(out->cpus), &out->cpus) < 0)
		return be_fail_errno(err, errlen, "sched_getaffinity of its vCPU thread %d",
		                     sh->vcpu_tid);
	out->weight = kvm_weight_get(&b->weight, sh->pid, sh->vcpu_tid);
	out->batch = sched_getscheduler(sh->vcpu_tid) == SCHED_IDLE;
	return 0;
}

static int kvm_cpu_time(struct backend *b, struct guest *g, uint64_t *ns, uint64_t *wait_ns,
                        char *err, size_t errlen)
{
	struct shell *sh = running_shell(g, err, errlen);

	(void)b;
	if (!sh)
		return -1;
	if (kvm_thread_cpu_ns(sh->pid, sh->vcpu_tid, ns, wait_ns) < 0)
		return be_fail_errno(err, errlen, "the CPU time of its vCPU thread %d",
		                     sh->vcpu_tid);
	return 0;
}

static const char *kvm_placement_mechanism(struct backend *b)
{
	return b->mechanism;
}

static void kvm_probe_drain(struct backend *b)
{
	answers_drain(b);
}

static int kvm_probe(struct backend *b, struct guest *g, char *err, size_t errlen)
{
	struct shell *sh = g->be;
	uint64_t one = 1;

	(void)b;
	if (!sh || sh->kick_fd < 0 || sh->state != SH_RUNNING)
		return be_fail(err, errlen, "it has no running tender");
	if (write(sh->kick_fd, &one, sizeof(one)) != sizeof(one))
		return be_fail_errno(err, errlen, "writing its probe eventfd");
	return 0;
}

/*
 * A storming guest's eventfd leaves the answer set: its writes then only
 * add to the counter, and wake nobody.  Back in, the counter says how
 * many came meanwhile, and is counted at each wake-up from then on.
 */
static long long kvm_probe_listen(struct backend *b, struct guest *g, int on)
{
	struct shell *sh = g->be;
	uint64_t n;

	(void)b;
	if (!sh || sh->notify_fd < 0)
		return -1;
	if (!on) {
		if (!sh->notify_counted) {
			notify_read(sh); /* reported already, one a wake-up */
			sh->notify_counted = 1;
		}
		notify_watch(sh, 0);
		return 0;
	}
	n = notify_read(sh);
	if (!sh->notify_counted)
		n = 0; /* counted as wake-ups while it was listened to */
	sh->notify_counted = 1;
	sh->notify_seen = 0;
	if (notify_watch(sh, 1) < 0)
		return -1;
	return n > LLONG_MAX ? LLONG_MAX : (long long)n;
}

static json_t *kvm_stats(struct backend *b)
{
	struct backend *be = b;

	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "tender", be->tender,
	                 "pool_size", (json_int_t)be->cfg->pool_size, "pool_mem_mib",
	                 (json_int_t)be->cfg->pool_mem_mib, "pool_ready", (json_int_t)be->ready,
	                 "pool_spawning", (json_int_t)be->spawning, "tenders_started",
	                 (json_int_t)be->spawned, "boots", (json_int_t)be->boots, "boot_failures",
	                 (json_int_t)be->boot_failures);
}

/*
 * One of our tenders ended.  libev's default loop reaps every child
 * itself and hands the status to the child watcher of that pid, so a
 * watcher per tender is the only way to see it (a SIGCHLD handler of our
 * own would race libev's waitpid).
 */
static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct shell *sh = w->data;
	struct backend *be = sh->be;

	(void)revents;
	ev_child_stop(loop, w);
	sh->reaped = 1;
	sh->wait_status = w->rstatus;
	if (sh->state == SH_SPAWNING && !sh->g) {
		char why[200];

		describe_wait(w->rstatus, why, sizeof(why));
		report_drain(sh);
		log_warnx("%s: a pool tender ended before it was ready: %s%s%s; retrying in %.0f s",
		          be->name, why, sh->report.line[0] ? ": " : "", sh->report.line,
		          SPAWN_RETRY_S);
		be->spawn_blocked_until = ev_now(be->loop) + SPAWN_RETRY_S;
	}
	if (sh->state == SH_ENDED)
		shell_maybe_free(sh);
	else if (!ev_is_active(&sh->sock_w))
		shell_lost(sh);
	/* Otherwise on_sock still has EXITED or the end of the stream to read. */
	shell_refill(be);
}

/* ---- adoption after a daemon restart ---- */

struct pending_attach {
	int sock;
	char path[1100];
};

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Is this a tender socket (tPID.sock)? */
static int is_tender_socket(const char *file)
{
	const char *p = file + 1;

	if (file[0] != 't' || !(*p >= '0' && *p <= '9'))
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return !strcmp(p, ".sock");
}

/* A tender that is gone: report what its exit record says, then clear up. */
static void adopt_gone(struct backend *be, const char *path)
{
	char rec[1200], reason[512], name[GUEST_NAME_MAX + 1], *buf, *nl;
	unsigned long long instance;
	int fd, status = -1;
	size_t off = 0;
	ssize_t n = 0;

	snprintf(rec, sizeof(rec), "%s.exit", path);
	buf = malloc(128 * 1024);
	fd = open(rec, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && buf) {
		n = read(fd, buf, 128 * 1024 - 1);
		close(fd);
	}
	if (buf && n > 0) {
		buf[n] = '\0';
		nl = memchr(buf, '\n', (size_t)n);
		/* No "guest" line: a pool tender that never had a guest. */
		if (nl && sscanf(buf, "guest %63s %llu", name, &instance) == 2 &&
		    spec_name_ok(name)) {
			size_t hl = (size_t)(nl + 1 - buf);

			snprintf(reason, sizeof(reason),
			         "the tender ended while shoald was away, leaving no record");
			if (vmm_exit_record_parse(buf + hl, (size_t)n - hl, &status, reason,
			                          sizeof(reason), &off) == 0)
				be->host.ended_while_away(be->host.ctx, name, instance, status,
				                          reason, buf + hl + off,
				                          (size_t)n - hl - off);
			else
				be->host.ended_while_away(be->host.ctx, name, instance, -1, reason,
				                          NULL, 0);
		}
	}
	free(buf);
	unlink(path);
	unlink(rec);
}

/* What either mode does with a tender it took over: its guest runs on it, watched. */
static void shell_adopted(struct shell *sh, struct guest *g)
{
	struct backend *be = sh->be;
	uint32_t off;
	unsigned i;

	/* Its uid was marked at start (uids_mark_running): it is given back with the shell. */
	sh->uid = uid_of(sh->pid);
	if (!uid_bit(be, sh->uid, &off)) {
		log_warnx("guest %s: its tender (pid %d) runs as uid %u, outside tender-uid-range "
		          "(%u-%u): left by a shoald with another range, or not jailed",
		          g->name, (int)sh->pid, sh->uid, be->cfg->tender_uid_first,
		          be->cfg->tender_uid_last);
		sh->uid = 0;
	}

	sh->adopted = 1;
	sh->g = g;
	g->be = sh;
	sh->state = SH_RUNNING;
	/* Its taps live as long as the tender holds them: they should be there, on their bridges.
	 */
	for (i = 0; i < g->nnics; i++) {
		char why[300];

		if (kvm_tap_check(g->nics[i].tap, g->nics[i].bridge, why, sizeof(why)) < 0)
			log_warnx("guest %s: NIC %s: %s", g->name, g->nics[i].name, why);
		else
			log_info("guest %s: NIC %s found again: tap %s on bridge %s", g->name,
			         g->nics[i].name, g->nics[i].tap, g->nics[i].bridge);
	}
	/* proc: its rate limit stayed on its taps; its counters are found through them. */
	for (i = 0; be->proc && i < g->nnics && i < BE_NICS_MAX; i++) {
		int fd = proc_rate_find(g->nics[i].tap, &sh->rate_ifindex[i]);

		if (fd < 0)
			continue;
		if (sh->rate_fd < 0) {
			sh->rate_fd = fd;
			log_info("guest %s: its network rate limit found again on tap %s", g->name,
			         g->nics[i].tap);
		} else {
			close(fd); /* the same map, by another tap */
		}
	}
	if (be->proc && g->nnics && sh->rate_fd < 0 &&
	    (g->spec.has_net_rate ? g->spec.net_rate_pps || g->spec.net_rate_bytes
	                          : be->cfg->net_rate_pps || be->cfg->net_rate_bytes))
		log_warnx("guest %s: its taps carry no network rate limit (removed by hand?): it "
		          "runs unlimited until it starts again",
		          g->name);
	ev_timer_init(&sh->boot_timer, on_boot_timeout, BOOT_TIMEOUT_S, 0.);
	sh->boot_timer.data = sh;
	watch_guest_fds(sh);
	sh->next = be->shells;
	be->shells = sh;
}

static void adopt_one(struct backend *be, struct pending_attach *p,
                      const struct vmm_msg_attached *at, const int *fds, unsigned nfds)
{
	struct be_found f;
	struct shell *sh;
	struct guest *g;
	pid_t pid;
	unsigned i;

	/*
	 * Its pid and vCPU thread as the host knows them: the pid its socket's
	 * name (tPID.sock) gives, the thread found from the one it says in its
	 * pid namespace.
	 */
	pid = (pid_t)atoi(strrchr(p->path, '/') + 2);
	f.name = at->name;
	f.instance = at->instance;
	f.pid = (int)pid;
	f.vcpu_tid = host_tid(pid, at->vcpu_tid);
	f.boot_wall_ns = at->boot_wall_ns;
	f.console_dropped = at->console_dropped;
	f.paused = at->paused != 0;
	g = f.vcpu_tid > 0 ? be->host.found(be->host.ctx, &f) : NULL;
	sh = g ? shell_new(be) : NULL;
	if (!sh) {
		if (f.vcpu_tid <= 0)
			log_warnx("%s: the tender at %s says a vCPU thread %u it does not have: "
			          "ending it",
			          be->name, p->path, at->vcpu_tid);
		kill(pid, SIGKILL);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		close(p->sock);
		unlink(p->path);
		return;
	}
	sh->pid = pid;
	sh->vcpu_tid = f.vcpu_tid;
	sh->mem_mib = (unsigned)(at->mem_bytes >> 20);
	sh->sock = p->sock;
	sh->kick_fd = fds[0];
	sh->notify_fd = fds[1];
	/* The ports', the console's, then the counters' page. */
	for (i = 2; i < 2 * at->nports; i++)
		close(fds[i]);
	sh->console_fd = fds[2 * at->nports];
	map_stats(sh, fds[nfds - 1]);
	close(fds[nfds - 1]);
	snprintf(sh->path, sizeof(sh->path), "%s", p->path);
	fcntl(sh->sock, F_SETFL, O_NONBLOCK);
	ev_io_init(&sh->sock_w, on_sock, sh->sock, EV_READ);
	sh->sock_w.data = sh;
	ev_io_start(be->loop, &sh->sock_w);
	shell_adopted(sh, g);
}

static int kvm_adopt(struct backend *b)
{
	struct backend *be = b;
	struct pending_attach *pend = NULL;
	unsigned npend = 0, cap = 0, i, left, adopted = 0;
	struct dirent *de;
	uint64_t deadline;
	DIR *dir;

	dir = opendir(be->tender_dir);
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		char path[1100];
		int s;

		if (!is_tender_socket(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%.800s/%.255s", be->tender_dir, de->d_name);
		s = connect_to(path);
		if (s < 0) {
			adopt_gone(be, path);
			continue;
		}
		if (npend == cap) {
			struct pending_attach *n =
			    realloc(pend, (cap ? 2 * cap : 64) * sizeof(*pend));

			if (!n) {
				close(s);
				break;
			}
			pend = n;
			cap = cap ? 2 * cap : 64;
		}
		pend[npend].sock = s;
		snprintf(pend[npend].path, sizeof(pend[npend].path), "%s", path);
		npend++;
	}
	closedir(dir);

	/* Every live tender answers at once; give slow ones two seconds in all. */
	deadline = now_mono_ns() + 2000000000ull;
	left = npend;
	while (left && now_mono_ns() < deadline) {
		struct pollfd *pf = calloc(npend, sizeof(*pf));

		if (!pf)
			break;
		for (i = 0; i < npend; i++)
			pf[i] = (struct pollfd){ pend[i].sock, POLLIN, 0 };
		if (poll(pf, npend, (int)((deadline - now_mono_ns()) / 1000000u) + 1) <= 0) {
			free(pf);
			break;
		}
		for (i = 0; i < npend; i++) {
			struct vmm_msg_attached at;
			int fds[VMM_FDS_MAX];
			unsigned nfds = VMM_FDS_MAX;
			long r;

			if (pend[i].sock < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = vmm_msg_recv(pend[i].sock, &at, sizeof(at), fds, &nfds);
			left--;
			if (r != (long)sizeof(at) || at.hdr.type != VMM_MSG_ATTACHED ||
			    at.nports > VMM_PORTS_MAX || nfds != 2 * at.nports + 2 ||
			    at.nports < 1 || !memchr(at.name, '\0', sizeof(at.name))) {
				unsigned k;

				for (k = 0; r > 0 && k < nfds; k++)
					close(fds[k]);
				log_warnx("kvm: %s did not answer as a tender; left alone",
				          pend[i].path);
				close(pend[i].sock);
				pend[i].sock = -1;
				continue;
			}
			adopt_one(be, &pend[i], &at, fds, nfds);
			pend[i].sock = -1;
			adopted++;
		}
		free(pf);
	}
	for (i = 0; i < npend; i++)
		if (pend[i].sock >= 0) {
			log_warnx(
			    "kvm: the tender at %s did not answer in time (paused?); left running",
			    pend[i].path);
			close(pend[i].sock);
		}
	free(pend);
	return (int)adopted;
}

/* ---- proc: re-attaching the tenders an earlier shoald left ---- */

/*
 * An adopted proc tender ended.  It is no child of ours: its status is
 * read from /proc while it is a zombie, or from the pidfd once another
 * reaped it (proc_tender_status); its report line came on the FIFO.
 */
static void on_pidfd(struct ev_loop *loop, ev_io *w, int revents)
{
	struct shell *sh = w->data;
	char why[PROC_REPORT_MAX + 100];
	int status = -1, ws;

	(void)revents;
	ev_io_stop(loop, w);
	if (sh->state == SH_ENDED)
		return;
	report_drain(sh);
	if (proc_tender_status(sh->pid, sh->start, sh->pidfd, &ws) == 0) {
		proc_tender_end(ws, &sh->report, &status, why, sizeof(why));
	} else {
		const char *line = proc_tender_report_line(&sh->report);

		/* Its report may still say what happened; the status itself is lost. */
		snprintf(
		    why, sizeof(why),
		    "the tender (pid %d, no child of this shoald) ended, its status unknown%s%s",
		    (int)sh->pid, line[0] ? ": " : "", line);
	}
	shell_report_end(sh, status, why);
}

/* proc_tender_sweep's adopt: a tender whose guest runs, taken over as on KVM. */
static int proc_adopt(void *ctx, pid_t pid, unsigned long long start, const char *name,
                      uint64_t instance, char *why, size_t whylen)
{
	struct backend *be = ctx;
	struct proc_attach a;
	struct be_found f;
	struct shell *sh;
	struct guest *g;
	char base[1100];

	snprintf(base, sizeof(base), "%.900s/t%d", be->tender_dir, (int)pid);
	if (proc_tender_attach(pid, start, base, &a, why, whylen) < 0)
		return -1;
	sh = shell_new(be);
	if (!sh) {
		proc_attach_close(&a);
		return be_fail(why, whylen, "out of memory");
	}
	memset(&f, 0, sizeof(f));
	f.name = name;
	f.instance = instance;
	f.pid = (int)pid;
	f.vcpu_tid = (int)pid;
	f.boot_wall_ns = a.boot_wall_ns;
	f.paused = a.paused;
	g = be->host.found(be->host.ctx, &f);
	if (!g) {
		proc_attach_close(&a);
		free(sh);
		return be_fail(why, whylen, "this shoald does not know its guest");
	}
	sh->pid = pid;
	sh->vcpu_tid = (int)pid;
	sh->start = start;
	sh->fifos = 1;
	sh->pidfd = a.pidfd;
	sh->kick_fd = a.kick_fd;
	sh->notify_fd = a.notify_fd;
	sh->console_fd = a.console_fd;
	sh->report_fd = a.report_fd;
	if (a.stats_fd >= 0) {
		map_stats(sh, a.stats_fd);
		close(a.stats_fd);
	}
	snprintf(sh->path, sizeof(sh->path), "%.900s/t%d.proc", be->tender_dir, (int)pid);
	ev_io_init(&sh->report_w, on_report, sh->report_fd, EV_READ);
	sh->report_w.data = sh;
	ev_io_start(be->loop, &sh->report_w);
	ev_io_init(&sh->pidfd_w, on_pidfd, sh->pidfd, EV_READ);
	sh->pidfd_w.data = sh;
	ev_io_start(be->loop, &sh->pidfd_w);
	shell_adopted(sh, g);
	log_info("guest %s: its proc tender (pid %d), left by an earlier shoald, is re-attached%s",
	         name, (int)pid, a.paused ? " (paused)" : "");
	return 0;
}

/* ---- set-up ---- */

/*
 * A descriptor the tenders are handed, moved out of the way of those a
 * tender is started with (0 to 6).  -1 with err.
 */
static int high_fd(int fd, const char *name, const char *what, char *err, size_t errlen)
{
	int high;

	if (fd < 0) {
		snprintf(err, errlen, "%s backend: cannot make the tenders' %s: %s", name, what,
		         strerror(errno));
		return -1;
	}
	high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	if (high < 0)
		snprintf(err, errlen, "%s backend: dup of the tenders' %s: %s", name, what,
		         strerror(errno));
	close(fd);
	return high;
}

/*
 * What both modes set up: the tender (it must be there), the jail's
 * namespaces (one empty mount namespace and one network namespace with
 * no device up, which every tender enters: each is spared making and
 * tearing down its own), the tenders' uids, their directory, the answer
 * set, the weight mechanism.  kvm_fd: /dev/kvm for kvm's tenders, -1 for
 * proc; taken either way.
 */
static int tender_init(struct backend **out, struct ev_loop *loop, const struct shoald_config *cfg,
                       const struct backend_host *host, int proc, int kvm_fd, char *err,
                       size_t errlen)
{
	const char *name = proc ? "proc" : "kvm", *tender = proc ? cfg->proc_path : cfg->vmm_path;
	struct backend *be = NULL;
	int mntns_fd = -1, netns_fd = -1;

	if (access(tender, X_OK) < 0) {
		snprintf(err, errlen, "%s backend: the tender %s cannot be run: %s", name, tender,
		         strerror(errno));
		goto fail;
	}
	if (kvm_fd >= 0 && (kvm_fd = high_fd(kvm_fd, name, "/dev/kvm descriptor", err, errlen)) < 0)
		goto fail;
	mntns_fd = high_fd(mntns_empty(), name,
	                   "empty mount namespace (unshare, mount or pivot_root)", err, errlen);
	if (mntns_fd < 0)
		goto fail;
	netns_fd = high_fd(netns_empty(), name, "network namespace (unshare)", err, errlen);
	if (netns_fd < 0)
		goto fail;
	be = calloc(1, sizeof(*be));
	if (be)
		be->uids = calloc(1, (cfg->tender_uid_last - cfg->tender_uid_first) / 8 + 1);
	if (!be || !be->uids) {
		snprintf(err, errlen, "%s backend: out of memory", name);
		goto fail;
	}
	be->name = name;
	be->tender = tender;
	be->proc = proc;
	be->mntns_fd = mntns_fd;
	be->netns_fd = netns_fd;
	be->kvm_fd = kvm_fd;
	be->loop = loop;
	be->cfg = cfg;
	be->host = *host;
	snprintf(be->tender_dir, sizeof(be->tender_dir), "%s/tenders", cfg->run_dir);
	if (mkdir(be->tender_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s backend: cannot make %s: %s", name, be->tender_dir,
		         strerror(errno));
		goto fail;
	}
	ev_timer_init(&be->refill_retry, on_refill_retry, 0., 0.);
	be->refill_retry.data = be;
	be->answer_ep = epoll_create1(EPOLL_CLOEXEC);
	if (be->answer_ep < 0) {
		snprintf(err, errlen, "%s backend: epoll_create1: %s", name, strerror(errno));
		goto fail;
	}
	uids_mark_running(be);
	{
		uint32_t v = (uint32_t)getpid() ^ (uint32_t)time(NULL);

		(void)!getrandom(&v, sizeof(v), GRND_NONBLOCK);
		be->uid_next = v % (cfg->tender_uid_last - cfg->tender_uid_first + 1);
	}
	kvm_weight_init(&be->weight);
	snprintf(be->mechanism, sizeof(be->mechanism),
	         "affinity: sched_setaffinity on the %s; weight: %s; idle class: "
	         "SCHED_IDLE on the %s (and cpu.idle on its cgroup)",
	         proc ? "guest's process" : "vCPU thread", be->weight.desc,
	         proc ? "guest's process" : "vCPU thread");
	ev_io_init(&be->answer_w, on_answers, be->answer_ep, EV_READ);
	be->answer_w.data = be;
	ev_io_start(loop, &be->answer_w);
	*out = be;
	return 0;
fail:
	if (be)
		free(be->uids);
	free(be);
	if (kvm_fd >= 0)
		close(kvm_fd);
	if (mntns_fd >= 0)
		close(mntns_fd);
	if (netns_fd >= 0)
		close(netns_fd);
	return -1;
}

static int kvm_init(struct backend **out, struct ev_loop *loop, const struct shoald_config *cfg,
                    const struct backend_host *host, char *err, size_t errlen)
{
	int fd, v;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "kvm backend: cannot open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		close(fd);
		snprintf(err, errlen, "kvm backend: /dev/kvm speaks API version %d, not %d", v,
		         KVM_API_VERSION);
		return -1;
	}
	/* The tenders open nothing by name: each is handed this descriptor. */
	return tender_init(out, loop, cfg, host, 0, fd, err, errlen);
}

/* The proc backend needs no hypervisor, only shoal-proc (tender_init). */
static int proc_init(struct backend **out, struct ev_loop *loop, const struct shoald_config *cfg,
                     const struct backend_host *host, char *err, size_t errlen)
{
	char why[200];

	if ((cfg->net_rate_pps || cfg->net_rate_bytes) && !proc_rate_built(why, sizeof(why))) {
		snprintf(err, errlen, "proc backend: net-rate-pps and net-rate-bytes must be 0: %s",
		         why);
		return -1;
	}
	return tender_init(out, loop, cfg, host, 1, -1, err, errlen);
}

static void kvm_fini(struct backend *b)
{
	struct backend *be = b;
	struct shell *sh;
	unsigned left = 0;

	ev_timer_stop(be->loop, &be->refill_retry);
	ev_io_stop(be->loop, &be->answer_w);
	while ((sh = be->shells)) {
		be->shells = sh->next;
		ev_child_stop(be->loop, &sh->child_w);
		/* Pool tenders end when their socket closes; running guests keep running. */
		if (sh->state == SH_RUNNING || sh->state == SH_BOOTING) {
			sh->path[0] = '\0'; /* keep the socket file or record for the next daemon */
			left += !sh->be->proc || sh->fifos;
			sh->fifos = 0;
		}
		shell_close(sh);
		free(sh);
	}
	if (be->proc && left)
		log_info("proc: %u guests left running, for the next shoald to re-attach", left);
	/* A running guest's taps stay with its tender; a stopped guest's go. */
	while (be->taps)
		kvm_tap_drop(&be->taps, be->taps);
	if (be->mntns_fd >= 0)
		close(be->mntns_fd);
	if (be->netns_fd >= 0)
		close(be->netns_fd);
	if (be->kvm_fd >= 0)
		close(be->kvm_fd);
	close(be->answer_ep);
	free(be->uids);
	free(be);
}

/*
 * Filled in at the first adopt(): pool tenders start after adoption.  A
 * proc shoald re-attaches the proc tenders an earlier one left and no KVM
 * tender; a kvm shoald ends the proc tenders it finds (proc.c).
 */
static int kvm_adopt_then_fill(struct backend *b)
{
	unsigned adopted = 0;
	int n = b->proc ? 0 : kvm_adopt(b);

	proc_tender_sweep(b->tender_dir, &b->host, b->proc ? proc_adopt : NULL, b, &adopted);
	shell_refill(b);
	return n + (int)adopted;
}

/* proc: what its rate limit dropped on the NIC named o->name (proc_rate.h). */
static void rate_drops(const struct shell *sh, const struct guest *g, struct be_dev_stats *o)
{
	unsigned j;

	if (sh->rate_fd < 0)
		return;
	for (j = 0; j < g->nnics && j < BE_NICS_MAX; j++)
		if (!strcmp(g->nics[j].name, o->name)) {
			proc_rate_drops(sh->rate_fd, sh->rate_ifindex[j], &o->tx_rate_dropped,
			                &o->rx_rate_dropped);
			return;
		}
}

/*
 * The counters' page is the tender's, and the tender runs a guest (on
 * proc, the guest writes it itself): each read checks it again, copies
 * names with their bounds and takes only names a spec could give.
 */
static unsigned kvm_dev_stats(struct backend *b, struct guest *g, struct be_dev_stats *out,
                              unsigned max)
{
	const struct shell *sh = g->be;
	const struct vmm_stats *st;
	unsigned i, n, k;

	(void)b;
	if (!sh || !sh->stats || sh->state != SH_RUNNING)
		return 0;
	st = sh->stats;
	n = __atomic_load_n(&st->ndevs, __ATOMIC_RELAXED);
	if (__atomic_load_n(&st->magic, __ATOMIC_RELAXED) != VMM_STATS_MAGIC ||
	    __atomic_load_n(&st->version, __ATOMIC_RELAXED) != VMM_STATS_VERSION ||
	    n > VMM_STATS_DEVS)
		return 0;
	for (i = k = 0; i < n && k < max; i++) {
		const struct vmm_dev_stats *d = &st->dev[i];
		struct be_dev_stats *o = &out[k];
		uint64_t c[VMM_STAT_COUNTERS];
		uint32_t kind = __atomic_load_n(&d->kind, __ATOMIC_RELAXED);
		unsigned j;

		if (kind != VMM_STAT_KIND_DISK && kind != VMM_STAT_KIND_NIC)
			continue;
		memset(o, 0, sizeof(*o));
		for (j = 0; j < sizeof(o->name) - 1 && j < sizeof(d->name); j++) {
			char ch = __atomic_load_n(&d->name[j], __ATOMIC_RELAXED);

			if (!ch)
				break;
			o->name[j] = ch;
		}
		/* A name goes into /metrics' labels: one a spec could give, or the device is left
		 * out. */
		if (!spec_disk_name_ok(o->name))
			continue;
		for (j = 0; j < VMM_STAT_COUNTERS; j++)
			c[j] = __atomic_load_n(&d->c[j], __ATOMIC_RELAXED);
		o->nic = kind == VMM_STAT_KIND_NIC;
		if (o->nic) {
			o->tx_packets = c[VMM_STAT_NIC_TX_PACKETS];
			o->tx_bytes = c[VMM_STAT_NIC_TX_BYTES];
			o->tx_errors = c[VMM_STAT_NIC_TX_ERRORS];
			o->tx_dropped = c[VMM_STAT_NIC_TX_DROPPED];
			o->tx_held = c[VMM_STAT_NIC_TX_HELD];
			o->rx_packets = c[VMM_STAT_NIC_RX_PACKETS];
			o->rx_bytes = c[VMM_STAT_NIC_RX_BYTES];
			o->rx_errors = c[VMM_STAT_NIC_RX_ERRORS];
			o->rx_dropped = c[VMM_STAT_NIC_RX_DROPPED];
			o->rx_held = c[VMM_STAT_NIC_RX_HELD];
			rate_drops(sh, g, o);
			o->up = c[VMM_STAT_NIC_UP] != 0;
		} else {
			o->reads = c[VMM_STAT_DISK_READS];
			o->writes = c[VMM_STAT_DISK_WRITES];
			o->flushes = c[VMM_STAT_DISK_FLUSHES];
			o->read_bytes = c[VMM_STAT_DISK_READ_BYTES];
			o->write_bytes = c[VMM_STAT_DISK_WRITE_BYTES];
			o->errors = c[VMM_STAT_DISK_ERRORS];
		}
		k++;
	}
	return k;
}

/*
 * One table for both modes: what differs is the name, the image platform,
 * the set-up (init) and whether a network rate can be limited.
 */
#define TENDER_BACKEND_OPS(NAME, PLATFORM, INIT, NET_RATE, NET_RATE_MISSING)                       \
	{                                                                                          \
		.name = NAME, .platform = PLATFORM, .max_disks = BE_DISKS_MAX,                     \
		.max_nics = BE_NICS_MAX, .net_rate = NET_RATE,                                     \
		.net_rate_missing = NET_RATE_MISSING, .batch_spill = 1, .init = INIT,              \
		.fini = kvm_fini, .adopt = kvm_adopt_then_fill, .start = kvm_start,                \
		.stop = kvm_stop, .pause = kvm_pause, .set_affinity = kvm_set_affinity,            \
		.set_weight = kvm_set_weight, .set_batch = kvm_set_batch,                          \
		.placement_get = kvm_placement_get, .cpu_time = kvm_cpu_time,                      \
		.placement_mechanism = kvm_placement_mechanism, .probe_drain = kvm_probe_drain,    \
		.probe = kvm_probe, .probe_listen = kvm_probe_listen, .stats = kvm_stats,          \
		.dev_stats = kvm_dev_stats, .let_go = kvm_let_go,                                  \
	}

const struct backend_ops backend_kvm =
    TENDER_BACKEND_OPS("kvm", SHOAL_PLATFORM_KVM, kvm_init, 1, NULL);
/* The same guests as sandboxed processes; the host kernel limits their network rate (proc_rate.h),
 * when this shoald was built with it. */
#ifdef HAVE_PROC_RATE
#define PROC_NET_RATE     1
#define PROC_RATE_MISSING NULL
#else
#define PROC_NET_RATE 0
#endif
const struct backend_ops backend_proc =
    TENDER_BACKEND_OPS("proc", SHOAL_PLATFORM_PROC, proc_init, PROC_NET_RATE, PROC_RATE_MISSING);
