/*
 * The one abstraction over hypervisors: an ops table per backend (kvm,
 * proc, xen, libvirt), its state behind an opaque pointer, registered in
 * one static array (backend.c).  The daemon never asks which backend it has.
 *
 * Everything is asynchronous and runs on the daemon's loop: start() sends
 * the guest on its way and the backend reports back through struct
 * backend_host (started, start_failed, exited, console, probe_answer).
 * A guest's backend state lives in g->be, made by start() or adopt() and
 * released by the backend after it reported exited() or start_failed().
 *
 * One error convention for every op that can fail: it returns 0, or -1
 * with one line in err (at most errlen bytes, NUL-terminated) that says
 * what could not be done and why, for the daemon to log or answer with.
 * err names no guest (the daemon's message does).
 */
#ifndef SHOALD_BACKEND_H
#define SHOALD_BACKEND_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

struct backend;
struct guest;
struct sched_host;
struct shoald_config;

/* A disk for the guest: a file the backend opens (read-only when readonly). */
#define BE_DISKS_MAX 8
struct be_disk {
	const char *name; /* the operator's name for it, as the guest opens it */
	const char *path; /* an image in the image store, or the guest's own copy */
	int readonly;
};

/*
 * A NIC for the guest: a tap of that name the backend makes on the bridge
 * (KVM), with the guest's addresses for its device table.
 */
#define BE_NICS_MAX 4
struct be_nic {
	const char *name;   /* the operator's name for it */
	const char *bridge; /* on the configuration's allow-list */
	const char *tap;    /* the tap's name, unique on the host */
	uint8_t mac[6];
	uint32_t ipv4; /* host order; 0: none */
	unsigned prefix_len;
	uint32_t gateway; /* host order; 0: none */
};

/* What the daemon needs to start one guest. */
struct be_start {
	const char *image_path; /* a checked image in the image store */
	unsigned memory_mib;
	unsigned vcpus;
	unsigned nargs;
	char *const *args; /* argv[1..]; argv[0] is the guest's name */
	uint64_t instance;
	unsigned ndisks; /* disks[0..ndisks), at most BE_DISKS_MAX */
	struct be_disk disks[BE_DISKS_MAX];
	unsigned nnics; /* nics[0..nnics), at most BE_NICS_MAX */
	struct be_nic nics[BE_NICS_MAX];
	uint64_t net_rate_pps, net_rate_bytes; /* each way, across the NICs; 0: no limit */
};

/* A device's counters (dev_stats), by kind: a disk's or a NIC's. */
struct be_dev_stats {
	char name[32];
	int nic;                                                          /* 0: a disk */
	uint64_t reads, writes, flushes, read_bytes, write_bytes, errors; /* a disk's */
	uint64_t tx_packets, tx_bytes, tx_errors, tx_dropped, tx_held;    /* a NIC's, */
	uint64_t rx_packets, rx_bytes, rx_errors, rx_dropped, rx_held;    /* guest's view */
	uint64_t tx_rate_dropped, rx_rate_dropped; /* frames a kernel rate limit dropped (proc) */
	int up; /* a NIC's: the guest has brought it up (its frames reach it from now on) */
};

/* Where a running guest's vCPUs are and how they are scheduled (placement_get). */
struct be_placement {
	cpu_set_t cpus;  /* where its vCPU may run */
	unsigned weight; /* 1..10000, cgroup v2's cpu.weight scale; 100 is the default */
	int batch;       /* 1: the idle class policy (SCHED_IDLE or the like) */
};

/* A running guest found by adopt(). */
struct be_found {
	const char *name;
	uint64_t instance;
	int pid;
	int vcpu_tid;
	uint64_t boot_wall_ns;
	uint64_t console_dropped;
	int paused; /* held by a pause op of the daemon before */
};

/* The daemon's side: the backend calls these from the loop. */
struct backend_host {
	void *ctx;
	/* start() succeeded: the guest runs. */
	void (*started)(struct guest *g, int pid, int vcpu_tid, uint64_t boot_wall_ns);
	/* start() failed after returning 0; http is the status a deploy answers with. */
	void (*start_failed)(struct guest *g, int http, const char *reason);
	/* The guest ended: status is a GUEST_EXIT_* or the guest's code 0..199
	 * (common/guest_exit.h), -1 if unknown. */
	void (*exited)(struct guest *g, int status, const char *reason);
	/*
	 * Console output.  Returns 0, or while the guest floods its console
	 * over the rate limit, how long (ns) the backend may leave its
	 * console unread, where what the guest writes meanwhile is dropped
	 * at the guest's cost rather than shoald's (a proc guest's own write
	 * to a full FIFO fails); a backend that cannot may read on.
	 */
	uint64_t (*console)(struct guest *g, const char *data, size_t len);
	/*
	 * n (>= 1) notifications of the guest's probe port arrived at now_ns
	 * (monotonic): the probe engine's probe_answer().  Returns how many
	 * of them were unsolicited (no probe asked for them); a backend that
	 * reports one per wake-up may count exactly from then on.
	 */
	uint64_t (*probe_answer)(struct guest *g, uint64_t now_ns, uint64_t n);
	/*
	 * adopt() found a guest: return the registry entry to attach it to,
	 * or NULL if the daemon does not know it (the backend then stops it).
	 */
	struct guest *(*found)(void *ctx, const struct be_found *f);
	/* A guest that ended while no daemon ran (found through its exit record). */
	void (*ended_while_away)(void *ctx, const char *name, uint64_t instance, int status,
	                         const char *reason, const char *console, size_t console_len);
	/*
	 * Nonzero while someone waits on a start's speed (a DNS query for a
	 * guest it woke): work of the backend's own that can wait, such as
	 * refilling its pool, waits (a while at most), off that start's CPU
	 * and loop.  NULL: never.
	 */
	int (*hurry)(void *ctx);
};

struct backend_ops {
	const char *name;
	/* The image platform it runs (SHOAL_PLATFORM_*), for image checks. */
	unsigned platform;
	/* The most disks and NICs it gives one guest (a deploy asking more is refused). */
	unsigned max_disks, max_nics;
	/* Nonzero: it limits a guest's network rate (net_rate_*); else a deploy asking is refused.
	 */
	unsigned net_rate;
	const char *net_rate_missing; /* with net_rate 0: why not, for the refusal; or NULL */
	/*
	 * Nonzero: a guest's vCPUs may be allowed on several CPUs at its idle
	 * class policy (set_batch), which any other vCPU preempts at once,
	 * so batch guests can use latency CPUs' idle time (batch-spill).
	 */
	unsigned batch_spill;
	/*
	 * Probe the hypervisor and set up.  On failure, err is one line that
	 * says why (no /dev/kvm, no Xen, no libvirtd) and -1 is returned.
	 */
	int (*init)(struct backend **be, struct ev_loop *loop, const struct shoald_config *cfg,
	            const struct backend_host *host, char *err, size_t errlen);
	/* Let go of everything; running guests keep running. */
	void (*fini)(struct backend *be);
	/* Find guests left running by an earlier daemon; host->found() for each.  Returns how many.
	 */
	int (*adopt)(struct backend *be);
	/* Start a guest (asynchronous); -1 with err when it cannot even begin. */
	int (*start)(struct backend *be, struct guest *g, const struct be_start *req, char *err,
	             size_t errlen);
	/* Stop a guest; exited() follows.  -1 with err when it has no running instance here. */
	int (*stop)(struct backend *be, struct guest *g, char *err, size_t errlen);
	/*
	 * Hold a running guest's vCPUs (pause 1) or let them go on (0);
	 * synchronous: 0 once it is so, -1 with err.  A held guest keeps its
	 * memory and its place, answers nothing, and stays held across a
	 * daemon restart (adopt() reports it with found.paused).
	 */
	int (*pause)(struct backend *be, struct guest *g, int pause, char *err, size_t errlen);
	/*
	 * Placement: where the guest's vCPUs may run, their weight (1..10000,
	 * cgroup v2's scale, 100 the default) and class policy.  -1 with err
	 * when it cannot be done (the guest holds no vCPU, or the host refused).
	 */
	int (*set_affinity)(struct backend *be, struct guest *g, const cpu_set_t *cpus, char *err,
	                    size_t errlen);
	int (*set_weight)(struct backend *be, struct guest *g, unsigned weight, char *err,
	                  size_t errlen);
	int (*set_batch)(struct backend *be, struct guest *g, int batch, char *err, size_t errlen);
	/* What the guest has now (a guest re-adopted after a restart brings its own); 0 or -1 with
	 * err. */
	int (*placement_get)(struct backend *be, struct guest *g, struct be_placement *out,
	                     char *err, size_t errlen);
	/*
	 * CPU time the guest's vCPUs used since it started, in ns, and where
	 * the host says, the time they were runnable but waited for a CPU
	 * (*wait_ns; left as it was where it does not); 0 or -1 with err.
	 */
	int (*cpu_time)(struct backend *be, struct guest *g, uint64_t *ns, uint64_t *wait_ns,
	                char *err, size_t errlen);
	/* How this host does each of the three (for /v1/placement): one line. */
	const char *(*placement_mechanism)(struct backend *be);
	/*
	 * Optional (NULL: the daemon reads sysfs and /proc/meminfo, as on
	 * KVM).  The machine as the hypervisor sees it, for a backend whose
	 * host CPUs are not the daemon's own (Xen: Dom0's vCPUs float over
	 * the physical CPUs).  Every CPU number in the placement calls is
	 * then the hypervisor's, and shoald does not pin itself (its CPU
	 * numbers would be Dom0's vCPUs).  Called once, after init().  0 or
	 * -1 with err.
	 */
	int (*host_topology)(struct backend *be, struct sched_host *h, char *err, size_t errlen);
	/*
	 * Optional: the split of the CPUs between latency and batch guests
	 * (the rest are Dom0's), at start and whenever it changes, before
	 * the guests are moved to match (Xen: batch CPUs in a cpupool of
	 * their own).  -1 with err when part of it could not be done yet;
	 * the daemon calls again at the next period.
	 */
	int (*cpu_roles)(struct backend *be, const cpu_set_t *latency, const cpu_set_t *batch,
	                 char *err, size_t errlen);
	/*
	 * The probe channel, in two calls the probe engine makes (probe.c):
	 *
	 * probe_drain() takes every answer already waiting, now, and hands
	 * each to host->probe_answer() (the guest's outstanding probe, or a
	 * late answer the engine counts as such).  The engine calls it once
	 * in each loop iteration in which it sends, before the first send:
	 * an answer that came after its probe timed out, while the loop was
	 * held up, still waits in the backend's queue, and taken after the
	 * next probe went it would pass for that probe's answer at once.
	 * A backend never drains on its own inside probe().
	 *
	 * probe() sends one probe and returns at once; the answer comes
	 * through host->probe_answer() from the loop.  0, or -1 with err
	 * when it could not be sent (the engine counts a send error).  A
	 * guest whose runtime has not opened its channel yet may be "sent"
	 * a probe that nobody answers, so that it is missed, then hung.
	 */
	void (*probe_drain)(struct backend *be);
	int (*probe)(struct backend *be, struct guest *g, char *err, size_t errlen);
	/*
	 * Optional: stop (on = 0) or start again (on = 1) listening to the
	 * guest's probe port, for a guest whose notifications storm (probe.c):
	 * while not listened to, they cost the daemon nothing and no
	 * host->probe_answer() comes for them.  Both idempotent; on = 1 also
	 * for a guest whose instance changed since.  Starting again returns
	 * how many notifications came while not listened to, if the backend
	 * can tell (KVM: the eventfd's counter), else -1 (Xen: one pending
	 * bit); 0 for on = 0.
	 */
	long long (*probe_listen)(struct backend *be, struct guest *g, int on);
	/* The backend's own figures for /v1/host (warm pool and such). */
	json_t *(*stats)(struct backend *be);
	/*
	 * Optional: the running guest's device counters, disks then NICs,
	 * into out[0, max); how many (0 when it has none or the backend
	 * cannot tell).  Cheap: /metrics calls it for every guest.
	 */
	unsigned (*dev_stats)(struct backend *be, struct guest *g, struct be_dev_stats *out,
	                      unsigned max);
	/*
	 * Optional: the guest of that name, with no running instance, will
	 * not be started again soon (removed, or stopped and not restarted;
	 * an on-demand guest's wake is such a start): the backend lets go of
	 * what it keeps for the guest's next run (KVM and proc: its taps).
	 */
	void (*let_go)(struct backend *be, const char *name);
};

/* Format one line into err (the ops' error convention); returns -1. */
int be_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, with ": " and strerror(errno) appended. */
int be_fail_errno(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The compiled-in backends, by name; NULL when there is no such backend here. */
const struct backend_ops *backend_lookup(const char *name);
/* Why a backend this shoald knows of is not built into it, or NULL. */
const char *backend_missing(const char *name);
/* Names of the compiled-in backends, comma-separated. */
const char *backend_names(void);

extern const struct backend_ops backend_kvm;
/* The same tender backend with shoal-proc: guests as sandboxed processes (no /dev/kvm). */
extern const struct backend_ops backend_proc;
/* Built when configure finds libxl (HAVE_XEN): 64-bit PV and PVH domains. */
extern const struct backend_ops backend_xen;
extern const struct backend_ops backend_xen_pvh;
/* Built when configure finds libvirt (HAVE_LIBVIRT): guests as libvirt domains. */
extern const struct backend_ops backend_libvirt;

#endif
