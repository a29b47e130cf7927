/*
 * shoald's insides, shared by the files of daemon/: the configuration, the
 * guest registry and its state machine, the console, the event log, the
 * state store and the image store.  The API sees none of this (it uses
 * shoald.h); backends see struct guest only through backend.h.
 */
#ifndef SHOALD_DAEMON_H
#define SHOALD_DAEMON_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

#include "daemon/probe_heap.h"
#include "daemon/shoald.h"
#include "daemon/spec.h"

struct backend;
struct backend_host;
struct backend_ops;
struct image_import;
struct pending_deploy;
struct console;
struct store;
struct api;
struct dns;
struct metrics_buf;

/* ---- configuration (config.c) ---- */

/*
 * A bridge guests may have NICs on (the allow-list, "bridge = NAME
 * [A.B.C.D/P] [gateway=A.B.C.D|none]"), with the pool a NIC's address
 * comes from when its spec gives none: every address of the network but
 * its own, its broadcast and the gateway (the host's address on the
 * bridge: by default the network's first).
 */
#define BRIDGES_MAX 32
struct bridge_conf {
	char name[16];
	uint32_t net;        /* host order */
	unsigned prefix_len; /* 0: no pool (a NIC there needs its ipv4 in the spec, or has none) */
	uint32_t gateway;    /* host order; 0: none */
};

struct shoald_config {
	char config_file[1024];
	char state_dir[1024];
	char run_dir[1024];
	char socket_path[1024];
	char socket_group[64];
	char listen_tcp[128]; /* TCP with TLS and tokens; "" for none */
	char tls_cert[1024];
	char tls_key[1024];
	char token_file[1024];
	char backend[16];
	char xen_create[16];   /* the Xen backend's domain maker: libxl, direct; "": by backend */
	char libvirt_uri[256]; /* the libvirt backend's connection */
	char vmm_path[1024];
	char proc_path[1024]; /* the proc backend's tender, shoal-proc */
	char ui_dir[1024];    /* the dashboard's files; "": no dashboard */
	int log_level;
	unsigned pool_size;
	unsigned pool_mem_mib;
	uint32_t tender_uid_first, tender_uid_last; /* each tender's uid and gid, one apiece */
	unsigned max_guests;
	unsigned max_memory_mib; /* 0: host memory minus the reserve */
	unsigned reserve_mib;    /* kept back for the host (Dom0) */
	unsigned guest_mem_max_mib;
	size_t max_body_bytes;
	uint64_t max_image_bytes;
	unsigned restart_backoff_ms;
	unsigned restart_backoff_max_ms;
	unsigned restart_stable_s;
	size_t console_ring_bytes;
	uint64_t console_file_bytes;
	unsigned console_rate_bytes; /* per second, sustained */
	unsigned console_burst_bytes;
	unsigned watchdog;      /* honour WATCHDOG_USEC */
	unsigned state_backups; /* backups of the state store kept; 0: none */
	unsigned state_backup_interval_s;
	unsigned probe_hz;         /* probes per guest per second; 0: none */
	unsigned probe_hz_min;     /* ... for a guest where nothing happens (at most probe_hz) */
	unsigned probe_timeout_ms; /* an answer later than this is a miss */
	unsigned hung_misses;      /* misses in a row that make a guest hung */
	unsigned storm_rate;       /* unsolicited notifications/s that make a storm; 0: no check */
	unsigned storm_restart_s;  /* a storm this long is a failure; 0: never */
	unsigned placement;        /* latency-driven placement on (1) or off */
	unsigned placement_period_ms;
	unsigned placement_window_s; /* the probe window placement judges p99 over */
	unsigned placement_moves_max;
	char reserve_cpus[256]; /* CPU list kept for the host (Dom0) */
	unsigned latency_vcpus_per_cpu;
	unsigned batch_vcpus_per_cpu;
	unsigned latency_cores_percent; /* of the guests' cores, latency CPUs at start */
	unsigned batch_cores_min;
	unsigned batch_spill; /* batch guests at the idle policy may use latency CPUs */
	unsigned nbridges;
	struct bridge_conf bridges[BRIDGES_MAX];
	int bridges_from_cli;                  /* a --bridge was given: the file's are dropped */
	uint64_t net_rate_pps, net_rate_bytes; /* a guest's default rate limit each way; 0: none */
	/* Names (dns.c): the zone without its final dot, in lower case; "": no DNS. */
	char dns_zone[HOSTNAME_MAX + 2];
	char dns_socket[1024]; /* the PowerDNS remote backend's socket */
	char dns_socket_group[64];
	unsigned dns_ttl;
	unsigned dns_wake_timeout_ms;          /* an on-demand guest's wake, before SERVFAIL */
	char dns_ns[HOSTNAME_MAX + 2];         /* the zone's name server (NS, SOA MNAME) */
	char dns_hostmaster[HOSTNAME_MAX + 2]; /* the SOA's RNAME */
	int check_only;                        /* -n */
};

/*
 * tender-uid-range: tenders run under uids (and gids of the same numbers)
 * of their own from it.  The default lies just past systemd's range for
 * containers' uids (524288-1879048191), where no account lives.
 */
#define TENDER_UIDS_DEFAULT "1879048192-1879113727"
#define TENDER_UIDS_MAX     (1u << 20)
/* Parse "FIRST-LAST" into first and last; 0, or -1 with err naming what is wrong. */
int tender_uids_parse(const char *v, uint32_t *first, uint32_t *last, char *err, size_t errlen);

/* Parse a bridge setting's value into b; 0, or -1 with err. */
int bridge_conf_parse(const char *v, struct bridge_conf *b, char *err, size_t errlen);
/* The allow-listed bridge of that name, or NULL. */
const struct bridge_conf *bridge_conf_find(const struct shoald_config *c, const char *name);

/*
 * Defaults, then the config file (the default path may be missing; a
 * given one may not), then the command line, which wins.  Returns 0, 1
 * for --help/--version (already printed), or -1 with err naming the
 * option or the file and line.
 */
int config_load(struct shoald_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* ---- guests (guest.c) ---- */

enum guest_state {
	GS_PENDING,  /* accepted, waiting for its disks' copies before the backend */
	GS_STARTING, /* the backend is booting it */
	GS_RUNNING,
	GS_STOPPING,
	GS_STOPPED, /* stopped on request, or ended and not to be restarted */
	GS_EXITED,  /* ended by itself; restart policy says no */
	GS_FAILED,  /* could not be started (bad image, no resources) */
	GS_BACKOFF, /* ended; will be restarted after a delay */
	GS_PAUSED,  /* running, its vCPUs held on request; not probed */
	GS__COUNT
};

/* Its backend instance runs (paused or not): it has vCPUs and a place. */
static inline int guest_state_live(enum guest_state s)
{
	return s == GS_RUNNING || s == GS_PAUSED;
}

const char *guest_state_str(enum guest_state s);

struct guest_waiter;
struct guest_disk_copy;
struct metrics_guest;

/* A guest's probing (probe.c). */
struct guest_probe {
	struct metrics_guest *lat; /* RTTs and misses, for the guest's life in the registry */
	uint32_t heap_idx;         /* place in the engine's heap; PROBE_HEAP_NONE: not probed */
	uint64_t due_ns;           /* the next probe (monotonic) */
	uint64_t sent_ns;          /* the outstanding probe; 0: none */
	uint64_t last_answer_ns;
	uint64_t last_rtt_ns; /* the last answered probe's round trip */
	unsigned consecutive_misses;
	int hung;
	uint64_t sent, answered, missed, late, send_errors;
	/*
	 * Notifications nobody asked for (an answer with no probe outstanding,
	 * or more than one for a probe), and the storm they make beyond
	 * storm-rate: the engine then stops listening to the guest (muted)
	 * until storm_until_ns, and does not probe it.
	 */
	uint64_t unsolicited, storms;
	uint64_t win_start_ns; /* the current one-second detection window */
	uint64_t win_unsolicited;
	int storming;
	int muted;        /* the backend is not listening to it until storm_until_ns */
	int deaf;         /* the backend was told not to listen (even after a stop) */
	int storm_ending; /* storm-restart-s is reached: stop it at storm_until_ns */
	uint64_t storm_since_ns, storm_muted_ns, storm_until_ns, storm_backoff_ns;
	uint64_t storm_check_until_ns; /* listening again to decide (backend could not count) */
	double storm_rate;             /* unsolicited/s last measured */
	/*
	 * The adaptive rate: probe-hz until fast_until_ns (something happened
	 * to the guest or its CPU, fast_why says what), probe-hz-min after.
	 */
	uint64_t fast_until_ns;
	char fast_why[120];
	unsigned near; /* round trips in a row over half its SLO */
};

/* Where a guest runs (placement.c).  One vCPU: the tender runs one. */
struct guest_place {
	int placed;      /* holds a CPU in the placement model */
	int cpu;         /* its vCPU's CPU; -1: none (placement off) */
	int node;        /* NUMA node of its memory; -1: any */
	unsigned weight; /* 1..10000, 100 the default */
	int idle;        /* the idle class policy */
	uint64_t run_ns; /* CPU time at the last period, and when it was read */
	uint64_t run_at_ns;
	uint64_t wait_ns; /* time waiting for a CPU at the last period; UINT64_MAX: unknown */
	double cpu_use;   /* CPUs used over the last period; -1: not measured yet */
	double cpu_wait;  /* CPUs waited for over the last period; -1: not known */
};

/*
 * A NIC as the guest has it: its spec's, with the address and MAC the
 * daemon handed out where the spec gave none, and its tap.  Kept in the
 * store with the guest, so that they stay the guest's across restarts,
 * deploys and daemon restarts, and nobody else's until it is deleted.
 */
struct guest_nic {
	char name[DISK_NAME_MAX + 1];
	char bridge[BRIDGE_NAME_MAX + 1];
	char tap[16];
	uint8_t mac[6];
	uint32_t ipv4; /* host order; 0: none */
	unsigned prefix_len;
	uint32_t gateway; /* host order; 0: none */
};

struct guest {
	struct shoald *d;
	uint64_t serial; /* 1, 2, ... in the order guests were made: d->guests runs newest first */
	char name[GUEST_NAME_MAX + 1];
	struct guest_spec spec; /* the current deploy's */
	char image_sha256[65];
	char disk_sha256[SPEC_DISKS_MAX][65]; /* the stored image of each disk of spec */
	struct guest_disk_copy *disk_copies;  /* its writable disks' copies being made */
	unsigned nnics;                       /* spec.nnics once deployed */
	struct guest_nic nics[SPEC_NICS_MAX]; /* spec.nics with what the daemon handed out */
	int64_t deploy_id;
	int desired_running;
	enum guest_state state;
	uint64_t instance;       /* this run's id; tender sockets carry it */
	uint64_t created_ns;     /* wall clock */
	uint64_t started_ns;     /* wall clock when this instance booted */
	uint64_t state_since_ns; /* monotonic */
	pid_t pid;
	int vcpu_tid;
	unsigned restarts; /* restarts done by the supervisor */
	unsigned failures; /* consecutive failed runs, for back-off */
	int last_status;   /* -1: none yet */
	char last_reason[512];
	uint64_t last_exit_ns;
	int stop_requested;     /* the end that follows is not a failure */
	int restart_after_stop; /* restart/deploy: start again once stopped */
	int delete_after_stop;
	ev_timer backoff;
	struct console *console;
	struct guest_waiter *waiters;
	struct guest_probe probe;
	struct guest_place place;
	/* On demand (dns.c): its NICs' packets at the last look, and since when they are still. */
	uint64_t demand_instance, demand_packets, demand_quiet_since_ns;
	uint64_t demand_nic_up_instance; /* the run whose NIC was seen up (dns.c); 0: none */
	int hung_stop;                   /* the supervisor stops it for being hung */
	int storm_stop; /* ... or for a storm that went on; storm_reason says how */
	char storm_reason[160];
	void *be; /* the backend's per-guest state */
	struct guest *next;
};

struct guest *guest_find(struct shoald *d, const char *name);
/* Make the registry entry for a spec loaded from the store or deployed. */
struct guest *guest_new(struct shoald *d, const char *name);
/* Bring the guest towards its desired state (start it if it should run). */
/*
 * After adoption: a guest that should run and had run (an instance) but
 * was neither found nor reported ended by the backend ended while no
 * shoald ran, with no status: its restart policy decides, as for any end
 * (never: it stays stopped).
 */
void guest_lost_while_away(struct guest *g);
void guest_converge(struct guest *g);
json_t *guest_json(struct guest *g, int detail);
void guest_free(struct guest *g);

/* ---- NICs (net.c) ---- */

/*
 * The NICs spec gives guest `name` (existing: its registry entry, or
 * NULL), into out[0, spec->nnics): each bridge on the allow-list (400
 * naming net[i].bridge), each address in its bridge's network and each
 * address and MAC nobody else has (409); what the spec leaves out is the
 * NIC's from before (same name, same bridge) or handed out now: the
 * lowest free address of the pool, a random locally administered MAC.
 * 0, or -1 with err.
 */
int net_assign(struct shoald *d, const char *name, const struct guest *existing,
               const struct guest_spec *spec, struct guest_nic *out, struct sd_err *err);
/* The guest's NICs as the API shows them. */
json_t *net_nics_json(const struct guest *g);

/* ---- names (dns.c) ---- */

/* Serve PowerDNS's remote backend on dns-socket when dns-zone is set; 0 or -1 with err. */
int dns_start(struct shoald *d, char *err, size_t errlen);
void dns_stop(struct shoald *d);
/*
 * The spec's own names for guest `name`: not the zone itself nor a name
 * directly under it (the guests' own: 400), held by no other guest
 * (409), each naming dns[i].  0, or -1 with err.
 */
int dns_check(struct shoald *d, const char *name, const struct guest_spec *spec,
              struct sd_err *err);
/* The guest's names as the API shows them: NAME.ZONE (with an address), then its spec's. */
json_t *dns_names_json(const struct guest *g);
/* The backend's state for the host's answer (null without a zone). */
json_t *dns_stats_json(const struct shoald *d);
/* How many queries wait for a guest they woke to come up. */
unsigned dns_waiting(const struct shoald *d);
/* Its counters for /metrics (nothing without a zone). */
void dns_metrics(struct shoald *d, struct metrics_buf *b);

/* The limits a spec is checked against here (the configuration's). */
void spec_limits_of(const struct shoald *d, struct spec_limits *lim);
/* The probe engine found the guest hung: act on its restart policy. */
void guest_hung(struct guest *g);
/*
 * The probe engine found the guest's events storming for secs at rate
 * notifications/s, past storm-restart-s: stop it, and its restart policy
 * decides, as for a hung guest.
 */
void guest_stormed(struct guest *g, double secs, double rate);
/* What a backend calls back (started, exited, console, ...), for the backend's init(). */
const struct backend_host *guest_backend_host(struct shoald *d);

/* ---- placement (placement.c) ---- */

struct placement;

/* A CPU list like "0,2-3" ("" or "none": empty); -1 with err naming what is wrong. */
int cpulist_parse(const char *s, cpu_set_t *out, char *err, size_t errlen);
/* Read the host's topology and set the policy up; -1 with err (one line). */
int placement_init(struct shoald *d, char *err, size_t errlen);
void placement_fini(struct shoald *d);
/*
 * Admission for a guest named name with spec (an existing guest's own
 * CPU is not counted against it): fills *out, or refuses with err (409:
 * no memory, CPUs full; 400: CPUs that do not exist).  With placement
 * off it only checks the operator's CPUs.
 */
int placement_admit(struct shoald *d, const char *name, const struct guest_spec *spec,
                    struct guest_place *out, struct sd_err *err);
/* The guest no longer runs and is not to: its CPU is free. */
void placement_release(struct guest *g);
/* The guest runs (started or re-adopted): put its vCPU where it belongs. */
void placement_guest_running(struct guest *g, int adopted);
/* One control period: measure, plan, apply the moves (from the cron). */
void placement_period(struct shoald *d);
json_t *placement_json(struct shoald *d);
/* Prometheus lines for the page (metrics_page.c). */
void placement_metrics(struct shoald *d, struct metrics_buf *b);

/* ---- probes (probe.c) ---- */

#define LOOP_HELD_BOUNDS 3

struct probe_engine {
	struct probe_heap heap; /* the guests on their next deadline (probe_heap.h) */
	ev_timer timer;
	ev_prepare prepare; /* serves what is nearly due before the loop sleeps */
	uint64_t armed_ns;  /* when the timer fires; 0: not armed */
	uint64_t rng;
	unsigned drained_iter; /* ev_iteration() of the last probe_drain op */
	void **batch;          /* the guests one timer wake-up may send ahead (run_due) */
	uint32_t batch_cap;
	uint64_t sent, answered, missed, late, send_errors, wakeups;
	uint64_t unsolicited, storms;
	unsigned storming; /* guests storming now */
	uint64_t hastened; /* times a guest went to the full rate */
	/*
	 * How long the loop held each time it woke (from ev_check, after the
	 * poll, to the next ev_prepare, before it): what a slow call made on
	 * the loop costs every guest's probes and the API.
	 */
	ev_check check;
	uint64_t woke_ns; /* 0: not awake since the last prepare */
	uint64_t iterations, held_max_ns;
	uint64_t held_over[LOOP_HELD_BOUNDS]; /* iterations held over LOOP_HELD_MS[i] */
};

/* The bounds /v1/host and /metrics count loop iterations over. */
extern const unsigned LOOP_HELD_MS[LOOP_HELD_BOUNDS];

void probe_init(struct shoald *d);
void probe_fini(struct shoald *d);
/* The guest's metrics record (at guest_new); 0 or -ENOMEM. */
int probe_guest_init(struct guest *g);
void probe_guest_free(struct guest *g);
/* Begin probing a guest that runs; stop when it no longer does.  Both idempotent. */
void probe_guest_start(struct guest *g);
void probe_guest_stop(struct guest *g);
/* Probe it now rather than at its random phase (a guest woken for a DNS answer that waits). */
void probe_guest_soon(struct guest *g);
/*
 * The backend saw n (>= 1) notifications of the guest at now_ns
 * (monotonic): the answer to the outstanding probe, if there is one, and
 * the rest unsolicited.  Returns how many were unsolicited.
 */
uint64_t probe_answer(struct guest *g, uint64_t now_ns, uint64_t n);
/*
 * Something happened to the guest or its CPU (why, a phrase): probe it at
 * probe-hz for the next 10 s, its next probe within a period of that.
 */
void probe_hasten(struct guest *g, const char *why);
/* Is the guest probed at probe-hz now (not at probe-hz-min)? */
int probe_is_fast(const struct guest *g, uint64_t now);
/* The 10 s window for a guest list: an object, or JSON null with no data yet. */
json_t *probe_summary_json(struct guest *g);
/* Both windows, totals and the buckets of one window (0: since start). */
json_t *probe_latency_json(struct guest *g, uint64_t bucket_window_ns);

/* A follower of a console or of the event log (shoald_unsubscribe ends either). */
struct shoald_sub {
	struct shoald_sub *next;
	struct console *console; /* NULL for an event follower */
	void (*console_fn)(void *ctx, const char *data, size_t len);
	void (*event_fn)(void *ctx, const json_t *ev);
	void *ctx;
	int latency; /* an event follower that wants the latency summaries */
};

/* ---- console (console.c) ---- */

struct console_limits {
	size_t ring_bytes;
	uint64_t file_bytes;
	unsigned rate_bytes;
	unsigned burst_bytes;
};

/* A console ring with its bounded file at path (NULL: no file). */
struct console *console_new(const struct console_limits *lim, const char *path);
void console_free(struct console *c);
/* Guest output arrives; rate-limited, then kept in the ring and the file. */
void console_feed(struct console *c, const char *data, size_t len, uint64_t now_ns);
/* A line from shoald itself ("-- shoald: ..."), never rate-limited. */
void console_note(struct console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy of the last tail bytes (0: all); caller frees. */
char *console_tail(struct console *c, size_t tail, size_t *len);
uint64_t console_dropped(const struct console *c);
int console_flooding(const struct console *c);
/*
 * 0, or when the feed at now_ns dropped output, how long to leave the
 * console unread (ns) for its rate limit to have room again.
 */
uint64_t console_hold_ns(const struct console *c, uint64_t now_ns);
/* Called by console_feed when a guest starts or stops flooding. */
typedef void (*console_flood_fn)(void *ctx, int flooding, uint64_t dropped);
void console_on_flood(struct console *c, console_flood_fn fn, void *ctx);
struct shoald_sub *console_subscribe(struct console *c,
                                     void (*fn)(void *ctx, const char *data, size_t len),
                                     void *ctx);
void console_unsubscribe(struct console *c, struct shoald_sub *s);
/* End every follower (the guest is going away). */
void console_close_followers(struct console *c);
/* Load the tail of the console file into the ring (after a daemon restart). */
void console_reload(struct console *c);

/* ---- events (events.c) ---- */

void events_init(struct shoald *d);
/* Record an event: kept in memory and the store, sent to followers, logged. */
void event_emit(struct shoald *d, const char *type, const char *guest, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void events_fini(struct shoald *d);
/*
 * Once a second (from the cron): every guest's 10 s latency window, as one
 * "latency" event to the followers that asked for it.  Not kept anywhere.
 */
void events_latency_summary(struct shoald *d);

/* ---- state store (store.c) ---- */

struct store_guest {
	char name[GUEST_NAME_MAX + 1];
	int64_t deploy_id;
	int desired_running;
	uint64_t instance;
	unsigned restarts;
	uint64_t created_ns;
	int last_status;
	char last_reason[512];
	json_t *spec; /* owned by the caller after store_load_guests */
	char image_sha256[65];
	unsigned ndisks; /* the sha256 of each disk of the spec, in its order */
	char disk_sha256[SPEC_DISKS_MAX][65];
	int deleting; /* a DELETE was begun: finish it */
};

/*
 * Open the store at path, made when there is none.  One that is there is
 * checked first (its header, then PRAGMA quick_check) and a newer
 * schema's is refused: NULL with err saying what is wrong and how to
 * recover (the damaged file aside, the newest backup copied in).  An older
 * schema is migrated in place.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/* Ends a backup under way (its temporary file removed). */
void store_close(struct store *s);
/* The store's file. */
const char *store_path(const struct store *s);
/* 1 when the store's last failure was its file system full (SQLITE_FULL). */
int store_failed_full(const struct store *s);
/*
 * Backups through SQLite's online backup, from a read-only connection of
 * their own (one snapshot, the store's writes going on meanwhile): into
 * PATH.tmp, then PATH.1 once whole and synced, the one before it PATH.2
 * and so on up to PATH.keep (older ones removed).  A failure is logged,
 * its temporary file removed and the backups there kept.
 * store_backup makes one now (start-up, before the loop); 0 or -1.
 * store_backup_begin starts one in a thread (0; also when one is under
 * way); store_backup_poll joins it once it is over (wait: until it is),
 * 1 while it goes on, 0 when none is under way.  store_close waits for it.
 */
int store_backup(struct store *s, unsigned keep);
int store_backup_begin(struct store *s, unsigned keep);
int store_backup_poll(struct store *s, int wait);
/* Every guest, with its current deploy's spec; fn takes ownership of sg->spec. */
int store_load_guests(struct store *s, void (*fn)(void *ctx, struct store_guest *sg), void *ctx);
/*
 * Record a deploy (new row in the history, guest's current deploy moved to
 * it, guest created if new) in one transaction.  sha256: its image's;
 * disk_sha: each disk's, in the spec's order.  parent: the deploy it
 * replaces (0: none).  Returns the deploy id or -1.
 */
int64_t store_deploy(struct store *s, const char *name, const json_t *spec, const char *sha256,
                     const char (*disk_sha)[65], unsigned ndisks, int64_t parent, const char *note,
                     uint64_t now_ns);
/* The deploy a rollback of `current` returns to: its parent's spec and images; 0 when none. */
int64_t store_rollback_target(struct store *s, int64_t current, json_t **spec, char *sha256,
                              char (*disk_sha)[65], unsigned *ndisks, int64_t *parent);
int store_guest_update(struct store *s, const struct guest *g);
/* Change a deploy's spec in place (an operator's new CPU pin: not a new deploy). */
int store_deploy_set_spec(struct store *s, int64_t deploy_id, const json_t *spec);
int store_guest_delete(struct store *s, const char *name);
/* Next instance id, persisted (ids never repeat across restarts). */
uint64_t store_next_instance(struct store *s);
/*
 * An instance a running tender has: the next id handed out is above it
 * (a store restored from a backup may be behind the ids given since).
 */
void store_instance_seen(struct store *s, uint64_t instance);
int store_event(struct store *s, uint64_t id, uint64_t time_ns, const char *type, const char *guest,
                const char *message);
/* The highest event id stored (events continue from there). */
uint64_t store_last_event_id(struct store *s);
/* Recent events, oldest first, into fn. */
int store_events(struct store *s, uint64_t since, unsigned limit,
                 void (*fn)(void *ctx, uint64_t id, uint64_t time_ns, const char *type,
                            const char *guest, const char *message),
                 void *ctx);
int store_prune_events(struct store *s, unsigned keep);
/* Record a stored image of kind "guest" or "disk" (a known sha256 keeps its record). */
int store_image_add(struct store *s, const char *sha256, uint64_t bytes, uint64_t now_ns,
                    const char *source, const char *kind);
/* The kind recorded for an image: 1 with kind filled, 0 when it is not recorded, -1. */
int store_image_kind(struct store *s, const char *sha256, char *kind, size_t len);
json_t *store_images_json(struct store *s);
/*
 * A guest's own copy of a writable disk: record that it was made from
 * sha256 (replacing an older record), and find it (1 with sha256, 0 when
 * the guest has no copy of that disk, -1).  store_guest_delete forgets a
 * guest's copies with it.
 */
int store_disk_copy_add(struct store *s, const char *guest, const char *name, const char *sha256,
                        uint64_t now_ns);
int store_disk_copy_get(struct store *s, const char *guest, const char *name, char sha256[65]);
/* A guest's NICs, all of them at once (store_guest_delete forgets them); 0 or -1. */
int store_nics_set(struct store *s, const char *guest, const struct guest_nic *nics, unsigned n);
/* A guest's NICs into out[0, max): how many, or -1. */
int store_nics_get(struct store *s, const char *guest, struct guest_nic *out, unsigned max);
json_t *store_history_json(struct store *s, const char *name);

/* ---- image store (images.c) ---- */

/* 1 when errno e says a file system is full (ENOSPC, EDQUOT). */
int shoald_no_space(int e);
/*
 * A 507 (no_space) for field that names path, its file system's mount
 * point and the space left there; returns -1 (as sd_err_set).
 */
int shoald_err_no_space(struct sd_err *err, const char *field, const char *path);
/* "guest" or "disk", as the store and the API name them. */
const char *image_kind_str(enum image_kind k);
/* Path of a stored image (state-dir/images/sha256). */
void image_path(const struct shoald *d, const char *sha256, char *buf, size_t len);
/* The worker threads' way back to the loop (images_init, before any import). */
void images_init(struct shoald *d);
/* Waits for the copies under way to end and drops their results. */
void images_fini(struct shoald *d);
/*
 * Copy a host file into the store off the loop: read and hashed in a
 * worker thread, then checked (kind: a guest for this backend, or a disk)
 * and recorded on the loop, where fn(ctx, sha256, err) is called once:
 * sha256 of the stored image, or NULL with err (404/409/413/422/500)
 * naming field ("image", "disks[1].image").  -1 with err when the copy
 * cannot even begin.
 */
typedef void (*image_import_fn)(void *ctx, const char *sha256, struct sd_err *err);
int image_import_start(struct shoald *d, const char *path, enum image_kind kind, const char *field,
                       image_import_fn fn, void *ctx, struct sd_err *err);
/*
 * Resolve a spec's image to a stored one: a sha256 must be in the store; a
 * host path must have been imported already (imported: its sha256, from
 * image_import_start).  Then the image is checked against the guest's
 * memory.  Fills sha256 or err (404/422).
 */
int image_resolve(struct shoald *d, const struct guest_spec *spec, const char *imported,
                  char sha256[65], struct sd_err *err);
/*
 * The same for the spec's disk i: a disk image of the store (not a guest
 * image), whole sectors.  Fills sha256 or err naming disks[i].image
 * (404/422).
 */
int disk_resolve(struct shoald *d, const struct guest_spec *spec, unsigned i, const char *imported,
                 char sha256[65], struct sd_err *err);
/* Where a guest keeps its own copy of a writable disk: state-dir/disks/GUEST/DISK.img. */
void disk_copy_path(const struct shoald *d, const char *guest, const char *disk, char *buf,
                    size_t len);
/*
 * Make a guest's copy of the stored disk image sha256 at dst off the loop
 * (a reflink where the file system can, else a sparse copy, into a
 * temporary file renamed to dst).  fn(ctx, err) follows on the loop:
 * err NULL once dst is there.  If shoald stops first, ctx is freed with
 * free() instead.  -1 with err when it cannot even begin (ctx untouched).
 */
typedef void (*disk_copy_fn)(void *ctx, const struct sd_err *err);
int disk_copy_start(struct shoald *d, const char *sha256, const char *dst, const char *field,
                    disk_copy_fn fn, void *ctx, struct sd_err *err);

/* ---- the daemon ---- */

struct event_rec;

/* A long answer made a piece at a time (shoald.h); what each kind keeps of its place. */
struct shoald_pager {
	struct shoald *d;
	int (*fill)(struct shoald_pager *p, struct metrics_buf *b, size_t want);
	int begun;
	uint64_t serial; /* guests: the last written (UINT64_MAX: none yet) */
	unsigned step;   /* the metrics page: its next part */
};

struct shoald {
	struct shoald_config cfg;
	struct ev_loop *loop;
	struct store *store;
	const struct backend_ops *be_ops;
	struct backend *be;
	struct api *api;
	struct dns *dns; /* PowerDNS's remote backend; NULL without dns-zone */
	struct guest *guests;
	unsigned nguests;
	uint64_t guest_serial; /* the last given */
	uint64_t start_ns;     /* monotonic */
	uint64_t start_wall_ns;
	unsigned host_cpus;
	uint64_t host_mem_mib;
	/* events */
	uint64_t next_event_id;
	struct event_rec *ev_ring;
	unsigned ev_ring_cap, ev_ring_len, ev_ring_head;
	struct shoald_sub *ev_subs;
	/* periodic work */
	ev_timer cron;
	uint64_t cron_ticks;
	struct probe_engine probes;
	struct placement *pl;
	/* image copies from host paths under way in worker threads (images.c) */
	struct {
		pthread_mutex_t lock;
		ev_async async;
		struct image_import *done; /* handed back by the workers, under lock */
		unsigned running;
	} imports;
	struct pending_deploy
	    *pending_deploys; /* deploys from a host path, their image being copied */
	ev_signal sig_term, sig_int, sig_hup;
	int watchdog_usec_half;
	int stopping;
	uint64_t api_refused; /* callers the API refused, for /metrics */
};

uint64_t now_mono_ns(void);
uint64_t now_wall_ns(void);
/* Memory promised to guests that are not stopped. */
uint64_t shoald_memory_used_mib(const struct shoald *d);
uint64_t shoald_memory_limit_mib(const struct shoald *d);

#endif
