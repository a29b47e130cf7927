/*
 * Helpers shared by the benchmarks and the integration tests that drive
 * shoal-vmm directly: clocks, order statistics, starting tenders (cold and
 * warm) and sending probes through a guest's event channel.
 */
#ifndef SHOAL_BENCHLIB_H
#define SHOAL_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

uint64_t bl_now_ns(void);

/* Sort v[0..n) and return the q-quantile (0 <= q <= 1), nearest rank. */
double bl_quantile(double *v, size_t n, double q);

/* Pin the calling thread (tid 0) or thread tid to one CPU; -1 on error. */
int bl_pin(pid_t tid, int cpu);

/*
 * fork + exec argv with stdout (and stderr if quiet) sent to /dev/null,
 * extra_fd kept open in the child (or -1); returns the pid or -1.
 */
pid_t bl_spawn(char *const argv[], int quiet, int extra_fd);
/* waitpid; returns the exit status, or 128 + signal, or -1. */
int bl_wait(pid_t pid);

/* A warm tender: VM made, waiting for an image on its control socket. */
struct bl_warm {
	pid_t pid;
	int sock;
	int kick_fd, notify_fd; /* probe port's eventfds, from READY */
	uint32_t vcpu_tid;
	int stats_fd;     /* the device counters' page, from STARTED; -1 before */
	char reason[512]; /* ERROR's or EXITED's, from bl_warm_wait_started */
};

/* Start `vmm --control-fd` and wait for READY.  Returns 0 or -1. */
int bl_warm_start(const char *vmm, unsigned mem_mib, struct bl_warm *w);

/*
 * The jail shoald starts a tender in (doc/install.md): uid (and gid) uid,
 * /dev/kvm on kvm_fd (-1 for shoal-proc), the one empty mount and network
 * namespaces on mntns_fd and netns_fd, and a pid namespace of its own.
 */
struct bl_jail {
	unsigned uid;
	int kvm_fd, mntns_fd, netns_fd;
};
/* Make j's descriptors (root only); 0, or -1 when this machine cannot. */
int bl_jail_make(struct bl_jail *j, unsigned uid);
/* bl_warm_start, jailed as shoald jails it (j NULL: not jailed). */
int bl_warm_start_jailed(const char *vmm, unsigned mem_mib, const struct bl_jail *j,
                         struct bl_warm *w);
/*
 * Send BOOT: image path (opened here), name, argv[1..argc-1].  Returns 0
 * or -1.  Then bl_warm_wait_exit() collects EXITED and the process.
 */
int bl_warm_boot(struct bl_warm *w, const char *image, const char *name, int argc,
                 char *const argv[]);
/*
 * BOOT with a re-attach socket and an exit-record file (either -1 for none),
 * as shoald sends it.
 */
int bl_warm_boot_ex(struct bl_warm *w, const char *image, const char *name, int argc,
                    char *const argv[], uint64_t instance, int listen_fd, int exit_fd);
/* Send DISK (before BOOT): the file at path, opened read-only when readonly. 0 or -1. */
int bl_warm_disk(struct bl_warm *w, const char *name, const char *path, int readonly);
/*
 * Wait for STARTED (1, its counters' page kept in w->stats_fd), or for
 * ERROR/EXITED (0, status and w->reason set). -1 on error.
 */
int bl_warm_wait_started(struct bl_warm *w, int *status);
/* Wait for EXITED then reap; returns the tender's exit status, -1 on error. */
int bl_warm_wait_exit(struct bl_warm *w, uint64_t *exited_ns);
void bl_warm_close(struct bl_warm *w);

/*
 * One probe: kick the guest, wait up to timeout_ms for its notify.
 * Returns the round trip in ns, or 0 on timeout.  notify_fd must be
 * non-blocking (a stale answer is drained first).
 */
uint64_t bl_probe(int kick_fd, int notify_fd, int timeout_ms);

/*
 * An empty mount namespace for shoal-proc's --mntns-fd, as a daemon would
 * make it once for all its proc guests: a child unshares, pivots into an
 * empty read-only tmpfs and leaves; the descriptor returned (of its nsfs
 * file, close-on-exec) keeps the namespace.  -1 when it cannot (not root).
 */
int bl_empty_mntns(void);

/* Print "label: median X us, p99 Y us (n=N)" style summary; returns the median. */
double bl_report(const char *label, double *v_us, size_t n);

#endif
