/*
 * The guest registry and its supervisor: every guest's desired and actual
 * state, deploys, start/stop/restart/rollback/delete, the restart policy
 * with exponential back-off, and the waiters of API requests that answer
 * once a guest runs or has stopped.
 *
 * A guest moves PENDING -> STARTING -> RUNNING, and on its end to STOPPED
 * (asked to stop, or a clean end that is not restarted), EXITED (ended
 * and not restarted), BACKOFF (to be restarted after a delay) or, when it
 * never ran, FAILED.  desired_running is what the operator asked for and
 * what a restarted shoald brings it back to; the supervisor clears it when
 * its policy gives a guest up.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "common/guest_exit.h"
#include "metrics/metrics.h"

_Static_assert(SPEC_DISKS_MAX <= BE_DISKS_MAX, "every disk of a spec fits a backend start");
_Static_assert(SPEC_NICS_MAX <= BE_NICS_MAX, "every NIC of a spec fits a backend start");

enum want { WANT_RUNNING, WANT_STOPPED };

/*
 * A copy of a writable disk being made for a guest (images.c's worker).
 * g is cleared when the guest goes away first: the copy is then removed.
 */
struct guest_disk_copy {
	struct shoald *d;
	struct guest *g;
	char guest[GUEST_NAME_MAX + 1];
	char disk[DISK_NAME_MAX + 1];
	char sha256[65];
	char path[1200];
	struct guest_disk_copy *next;
};

struct guest_waiter {
	struct guest_waiter *next;
	struct guest *g;
	enum want want;
	int http_ok;
	shoald_done_fn done;
	void *ctx;
};

const char *guest_state_str(enum guest_state s)
{
	static const char *const names[] = {
		[GS_PENDING] = "pending",   [GS_STARTING] = "starting", [GS_RUNNING] = "running",
		[GS_STOPPING] = "stopping", [GS_STOPPED] = "stopped",   [GS_EXITED] = "exited",
		[GS_FAILED] = "failed",     [GS_BACKOFF] = "backoff",   [GS_PAUSED] = "paused",
	};

	return names[s];
}

static int state_is_down(enum guest_state s)
{
	return s == GS_STOPPED || s == GS_EXITED || s == GS_FAILED;
}

uint64_t shoald_memory_used_mib(const struct shoald *d)
{
	const struct guest *g;
	uint64_t sum = 0;

	for (g = d->guests; g; g = g->next)
		if (!state_is_down(g->state) || g->desired_running)
			sum += g->spec.memory_mib;
	return sum;
}

uint64_t shoald_memory_limit_mib(const struct shoald *d)
{
	if (d->cfg.max_memory_mib)
		return d->cfg.max_memory_mib;
	return d->host_mem_mib > d->cfg.reserve_mib ? d->host_mem_mib - d->cfg.reserve_mib : 0;
}

struct guest *guest_find(struct shoald *d, const char *name)
{
	struct guest *g;

	for (g = d->guests; g; g = g->next)
		if (!strcmp(g->name, name))
			return g;
	return NULL;
}

static void on_backoff(struct ev_loop *loop, ev_timer *t, int revents);
static void on_flood(void *ctx, int flooding, uint64_t dropped);

struct guest *guest_new(struct shoald *d, const char *name)
{
	struct console_limits lim = { d->cfg.console_ring_bytes, d->cfg.console_file_bytes,
		                      d->cfg.console_rate_bytes, d->cfg.console_burst_bytes };
	char path[1200];
	struct guest *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->d = d;
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(path, sizeof(path), "%s/console/%s.log", d->cfg.state_dir, name);
	g->console = console_new(&lim, path);
	if (!g->console || probe_guest_init(g) < 0) {
		console_free(g->console);
		free(g);
		return NULL;
	}
	console_on_flood(g->console, on_flood, g);
	g->last_status = -1;
	g->place.cpu = g->place.node = -1;
	g->place.weight = 100;
	g->place.cpu_use = -1;
	g->place.cpu_wait = -1;
	g->state = GS_STOPPED;
	g->state_since_ns = now_mono_ns();
	g->created_ns = now_wall_ns();
	ev_timer_init(&g->backoff, on_backoff, 0., 0.);
	g->backoff.data = g;
	g->serial = ++d->guest_serial;
	g->next = d->guests;
	d->guests = g;
	d->nguests++;
	return g;
}

void guest_free(struct guest *g)
{
	struct shoald *d = g->d;
	struct guest **pp;

	for (pp = &d->guests; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			d->nguests--;
			break;
		}
	ev_timer_stop(d->loop, &g->backoff);
	while (g->disk_copies) {
		struct guest_disk_copy *c = g->disk_copies;

		g->disk_copies = c->next;
		c->g = NULL;
		c->next = NULL;
	}
	probe_guest_free(g);
	console_close_followers(g->console);
	console_free(g->console);
	spec_free(&g->spec);
	free(g);
}

static void on_flood(void *ctx, int flooding, uint64_t dropped)
{
	struct guest *g = ctx;

	if (flooding)
		event_emit(g->d, "console_flood", g->name,
		           "guest %s floods its console: output over the rate limit is dropped",
		           g->name);
	else
		event_emit(
		    g->d, "console_flood_end", g->name,
		    "guest %s's console is back under its rate limit (%llu bytes dropped in all)",
		    g->name, (unsigned long long)dropped);
}

static char *iso_time(uint64_t wall_ns, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ns / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/*
 * The guest's disks: each disk of its spec with the stored image it
 * names; a writable one with its copy, once made (copy_of: the image it
 * was made from, which a later deploy naming another image does not
 * change).
 */
static json_t *disks_json(struct guest *g)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a && i < g->spec.ndisks; i++) {
		const struct spec_disk *dk = &g->spec.disks[i];
		char from[65], path[1200];
		struct stat st;
		json_t *o = json_pack("{s:s, s:s, s:b}", "name", dk->name, "image_sha256",
		                      g->disk_sha256[i], "readonly", dk->readonly);

		if (o && !dk->readonly &&
		    store_disk_copy_get(g->d->store, g->name, dk->name, from) == 1) {
			disk_copy_path(g->d, g->name, dk->name, path, sizeof(path));
			if (stat(path, &st) == 0) {
				json_object_set_new(o, "copy_of", json_string(from));
				json_object_set_new(o, "copy_bytes", json_integer(st.st_size));
			}
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* Each disk's and NIC's counters, as the backend reads them, into the entry of that name. */
static void devices_counters(struct guest *g, json_t *disks, json_t *nics)
{
	struct be_dev_stats st[BE_DISKS_MAX + BE_NICS_MAX];
	unsigned n, k;
	size_t i;

	if (!g->d->be_ops->dev_stats || !g->be || !guest_state_live(g->state))
		return;
	n = g->d->be_ops->dev_stats(g->d->be, g, st, BE_DISKS_MAX + BE_NICS_MAX);
	for (k = 0; k < n; k++) {
		const struct be_dev_stats *c = &st[k];
		json_t *a = c->nic ? nics : disks, *e;

		json_array_foreach(a, i, e)
		{
			json_t *name = json_object_get(e, "name");

			if (!json_is_string(name) || strcmp(json_string_value(name), c->name))
				continue;
			if (c->nic)
				json_object_set_new(
				    e, "counters",
				    json_pack(
				        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
				        "s:I}",
				        "tx_packets", (json_int_t)c->tx_packets, "tx_bytes",
				        (json_int_t)c->tx_bytes, "tx_errors",
				        (json_int_t)c->tx_errors, "tx_dropped",
				        (json_int_t)c->tx_dropped, "tx_rate_limited",
				        (json_int_t)c->tx_held, "tx_rate_dropped",
				        (json_int_t)c->tx_rate_dropped, "rx_packets",
				        (json_int_t)c->rx_packets, "rx_bytes",
				        (json_int_t)c->rx_bytes, "rx_errors",
				        (json_int_t)c->rx_errors, "rx_dropped",
				        (json_int_t)c->rx_dropped, "rx_rate_limited",
				        (json_int_t)c->rx_held, "rx_rate_dropped",
				        (json_int_t)c->rx_rate_dropped));
			else
				json_object_set_new(
				    e, "counters",
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "reads",
				              (json_int_t)c->reads, "writes", (json_int_t)c->writes,
				              "flushes", (json_int_t)c->flushes, "read_bytes",
				              (json_int_t)c->read_bytes, "written_bytes",
				              (json_int_t)c->write_bytes, "errors",
				              (json_int_t)c->errors));
			break;
		}
	}
}

json_t *guest_json(struct guest *g, int detail)
{
	char t1[32], t2[32], t3[32];
	json_t *j, *spec;

	spec = spec_to_json(&g->spec);
	j = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:s, s:I}", "name", g->name, "state",
	              guest_state_str(g->state), "desired",
	              g->desired_running ? "running" : "stopped", "spec", spec ? spec : json_null(),
	              "image_sha256", g->image_sha256, "deploy_id", (json_int_t)g->deploy_id,
	              "instance", (json_int_t)g->instance, "created",
	              iso_time(g->created_ns, t1, sizeof(t1)), "restarts", (json_int_t)g->restarts);
	if (!j)
		return NULL;
	if (guest_state_live(g->state) || g->state == GS_STARTING || g->state == GS_STOPPING) {
		json_object_set_new(j, "pid", json_integer(g->pid));
		if (g->started_ns) {
			json_object_set_new(j, "started",
			                    json_string(iso_time(g->started_ns, t2, sizeof(t2))));
			json_object_set_new(
			    j, "uptime_s",
			    json_real((double)(now_wall_ns() - g->started_ns) / 1e9));
		}
	}
	if (g->last_status != -1 || g->last_reason[0])
		json_object_set_new(j, "last_exit",
		                    json_pack("{s:i, s:s, s:s}", "status", g->last_status, "reason",
		                              g->last_reason, "time",
		                              iso_time(g->last_exit_ns, t3, sizeof(t3))));
	json_object_set_new(j, "latency", probe_summary_json(g));
	json_object_set_new(j, "disks", disks_json(g));
	json_object_set_new(j, "net", net_nics_json(g));
	json_object_set_new(j, "dns", dns_names_json(g));
	if (detail)
		devices_counters(g, json_object_get(j, "disks"), json_object_get(j, "net"));
	if (detail) {
		json_object_set_new(j, "vcpu_tid", json_integer(g->vcpu_tid));
		json_object_set_new(j, "console",
		                    json_pack("{s:I, s:b}", "dropped_bytes",
		                              (json_int_t)console_dropped(g->console), "flooding",
		                              console_flooding(g->console)));
		json_object_set_new(j, "history", store_history_json(g->d->store, g->name));
	}
	return j;
}

static json_t *error_json(const struct sd_err *e)
{
	return json_pack("{s:{s:s, s:s, s:s}}", "error", "code", e->code, "message", e->message,
	                 "field", e->field);
}

/* ---- waiters ---- */

static struct guest_waiter *waiter_add(struct guest *g, enum want want, int http_ok,
                                       shoald_done_fn done, void *ctx)
{
	struct guest_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->g = g;
	w->want = want;
	w->http_ok = http_ok;
	w->done = done;
	w->ctx = ctx;
	w->next = g->waiters;
	g->waiters = w;
	return w;
}

static int pending_cancel(struct shoald *d, struct shoald_wait *hw);

void shoald_wait_cancel(struct shoald *d, struct shoald_wait *hw)
{
	struct guest_waiter *w = (struct guest_waiter *)hw, **pp;
	struct guest *g;

	if (pending_cancel(d, hw))
		return;

	for (g = d->guests; g; g = g->next)
		for (pp = &g->waiters; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				free(w);
				return;
			}
}

/*
 * Answer the waiters a state change satisfies.  failure: a start that did
 * not happen, answered with that status and reason.
 */
static void wake_waiters(struct guest *g, int failure_http, const char *failure)
{
	struct guest_waiter **pp = &g->waiters, *w;

	while ((w = *pp)) {
		int fire = 0, http = w->http_ok;
		json_t *body = NULL;

		if (w->want == WANT_RUNNING && g->state == GS_RUNNING) {
			fire = 1;
		} else if (w->want == WANT_RUNNING && failure) {
			struct sd_err e;

			sd_err_set(&e, failure_http,
			           failure_http == 422 ? "bad_image" : "start_failed", "image",
			           "guest %s did not start: %s", g->name, failure);
			body = error_json(&e);
			http = failure_http;
			fire = 1;
		} else if (w->want == WANT_STOPPED &&
		           (state_is_down(g->state) || g->state == GS_BACKOFF)) {
			fire = 1;
		}
		if (!fire) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (!body)
			body = guest_json(g, 0);
		w->done(w->ctx, http, body);
		free(w);
	}
}

static void set_state(struct guest *g, enum guest_state s)
{
	if (g->state == s)
		return;
	log_debug("guest %s: %s -> %s", g->name, guest_state_str(g->state), guest_state_str(s));
	g->state = s;
	g->state_since_ns = now_mono_ns();
	/* Only a running guest is probed: one that boots or stops cannot answer. */
	if (s == GS_RUNNING)
		probe_guest_start(g);
	else
		probe_guest_stop(g);
}

static void persist(struct guest *g)
{
	if (store_guest_update(g->d->store, g) < 0)
		log_warnx("guest %s: could not record its state in the store", g->name);
}

/* ---- starting and stopping ---- */

static void host_start_failed(struct guest *g, int http, const char *reason);

static void start_now(struct guest *g);

/* Remove a guest's copies of its disks and their folder (the guest is deleted). */
static void disks_remove(struct shoald *d, const char *name)
{
	char dir[1200], path[1600];
	struct dirent *e;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/disks/%s", d->cfg.state_dir, name);
	dp = opendir(dir);
	if (!dp)
		return;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) < 0)
				log_warn("guest %s: cannot remove %s", name, path);
		}
	closedir(dp);
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_warn("guest %s: cannot remove %s", name, dir);
}

/* A copy of a writable disk was made, or could not be: go on with the start that waited. */
static void on_disk_copied(void *ctx, const struct sd_err *err)
{
	struct guest_disk_copy *c = ctx, **pp;
	struct guest *g = c->g;
	struct shoald *d = c->d;

	if (!g) {
		/* The guest was deleted meanwhile: its copy goes too, unless the name is taken
		 * again. */
		if (!guest_find(d, c->guest))
			disks_remove(d, c->guest);
		free(c);
		return;
	}
	for (pp = &g->disk_copies; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (err) {
		log_warnx("guest %s: %s", g->name, err->message);
		if (g->state == GS_PENDING)
			host_start_failed(g, err->http, err->message);
	} else if (store_disk_copy_add(d->store, g->name, c->disk, c->sha256, now_wall_ns()) < 0) {
		log_warnx("guest %s: could not record its copy of disk %s in the store", g->name,
		          c->disk);
		if (g->state == GS_PENDING)
			host_start_failed(
			    g, store_failed_full(d->store) ? 507 : 500,
			    store_failed_full(d->store)
			        ? "its disk copy could not be recorded in the store: its "
			          "file system is full"
			        : "its disk copy could not be recorded in the store");
	} else {
		event_emit(d, "disk_copied", g->name,
		           "guest %s: its own copy of disk %s made from image %.12s", g->name,
		           c->disk, c->sha256);
	}
	free(c);
	if (!g->disk_copies && g->state == GS_PENDING)
		start_now(g);
}

/*
 * The guest's writable disks must each have its copy before it starts.
 * A copy is made once, on the first start that names the disk, and kept
 * (across restarts, and across deploys that name the disk again, whatever
 * image they name: the guest's data is not thrown away by a deploy) until
 * the guest is deleted.  Returns 0 when every copy is there, 1 when the
 * start waits for copies being made, -1 when it has failed (reported).
 */
static int disks_ready(struct guest *g)
{
	struct shoald *d = g->d;
	struct guest_disk_copy *c;
	struct sd_err err;
	char from[65], path[1200], why[1400];
	unsigned i;
	int wait = 0, r;

	for (i = 0; i < g->spec.ndisks; i++) {
		const struct spec_disk *dk = &g->spec.disks[i];

		if (dk->readonly)
			continue;
		for (c = g->disk_copies; c && strcmp(c->disk, dk->name); c = c->next)
			;
		if (c) {
			wait = 1;
			continue;
		}
		disk_copy_path(d, g->name, dk->name, path, sizeof(path));
		r = store_disk_copy_get(d->store, g->name, dk->name, from);
		if (r == 1 && access(path, F_OK) == 0)
			continue;
		if (r != 0) {
			snprintf(why, sizeof(why),
			         r < 0
			             ? "cannot read its disk %s's copy from the store"
			             : "its copy of disk %s is missing (%s): delete and deploy the "
			               "guest again to start from the image",
			         dk->name, path);
			host_start_failed(g, 500, why);
			return -1;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			host_start_failed(g, 500, "out of memory");
			return -1;
		}
		c->d = d;
		c->g = g;
		snprintf(c->guest, sizeof(c->guest), "%s", g->name);
		snprintf(c->disk, sizeof(c->disk), "%s", dk->name);
		snprintf(c->sha256, sizeof(c->sha256), "%s", g->disk_sha256[i]);
		snprintf(c->path, sizeof(c->path), "%s", path);
		snprintf(why, sizeof(why), "disks[%u].image", i);
		if (disk_copy_start(d, c->sha256, path, why, on_disk_copied, c, &err) < 0) {
			free(c);
			host_start_failed(g, err.http, err.message);
			return -1;
		}
		c->next = g->disk_copies;
		g->disk_copies = c;
		wait = 1;
	}
	return wait;
}

static void start_now(struct guest *g)
{
	struct shoald *d = g->d;
	struct be_start req;
	char path[1200], err[512], dpath[SPEC_DISKS_MAX][1200];
	unsigned i;
	int r;

	if (!g->place.placed && d->cfg.placement) {
		struct sd_err perr;

		if (placement_admit(d, g->name, &g->spec, &g->place, &perr) < 0) {
			host_start_failed(g, perr.http, perr.message);
			return;
		}
	}
	if (g->nnics != g->spec.nnics) {
		host_start_failed(g, 409,
		                  "its NICs could not be given it on this host's bridges (see the "
		                  "log): deploy it again");
		return;
	}
	r = disks_ready(g);
	if (r < 0)
		return;
	if (r > 0) {
		set_state(g, GS_PENDING);
		return;
	}
	image_path(d, g->image_sha256, path, sizeof(path));
	g->instance = store_next_instance(d->store);
	g->stop_requested = 0;
	memset(&req, 0, sizeof(req));
	req.image_path = path;
	req.memory_mib = g->spec.memory_mib;
	req.vcpus = g->spec.vcpus;
	req.nargs = g->spec.nargs;
	req.args = g->spec.args;
	req.instance = g->instance;
	/* A read-only disk is the store's file, shared; a writable one the guest's own copy. */
	for (i = 0; i < g->spec.ndisks; i++) {
		const struct spec_disk *dk = &g->spec.disks[i];

		if (dk->readonly)
			image_path(d, g->disk_sha256[i], dpath[i], sizeof(dpath[i]));
		else
			disk_copy_path(d, g->name, dk->name, dpath[i], sizeof(dpath[i]));
		req.disks[i].name = dk->name;
		req.disks[i].path = dpath[i];
		req.disks[i].readonly = dk->readonly;
	}
	req.ndisks = g->spec.ndisks;
	for (i = 0; i < g->nnics; i++) {
		const struct guest_nic *n = &g->nics[i];

		req.nics[i].name = n->name;
		req.nics[i].bridge = n->bridge;
		req.nics[i].tap = n->tap;
		memcpy(req.nics[i].mac, n->mac, 6);
		req.nics[i].ipv4 = n->ipv4;
		req.nics[i].prefix_len = n->prefix_len;
		req.nics[i].gateway = n->gateway;
	}
	req.nnics = g->nnics;
	req.net_rate_pps = g->spec.has_net_rate ? g->spec.net_rate_pps : d->cfg.net_rate_pps;
	req.net_rate_bytes = g->spec.has_net_rate ? g->spec.net_rate_bytes : d->cfg.net_rate_bytes;
	set_state(g, GS_STARTING);
	persist(g);
	if (d->be_ops->start(d->be, g, &req, err, sizeof(err)) < 0) {
		log_warnx("guest %s: cannot start: %s", g->name, err);
		host_start_failed(g, 500, err);
	}
}

void guest_converge(struct guest *g)
{
	if (g->desired_running && state_is_down(g->state) && !g->be)
		start_now(g);
}

/* The backend's stop; exited() follows, or the reason it cannot is logged. */
static void backend_stop(struct guest *g)
{
	char err[256];

	if (g->d->be_ops->stop(g->d->be, g, err, sizeof(err)) < 0)
		log_warnx("guest %s: cannot stop it: %s", g->name, err);
}

/*
 * The guest stopped and nothing starts it again soon: the backend lets go
 * of what it kept for its next run (its taps: a tap a dense host keeps
 * for a stopped guest is a device and a queue for nothing).  An on-demand
 * guest keeps them: its next wake is a start soon, and the tap was most
 * of that start's cost.
 */
static void let_go_unless_woken(struct guest *g)
{
	if (!g->spec.on_demand && g->d->be_ops->let_go)
		g->d->be_ops->let_go(g->d->be, g->name);
}

static void stop_now(struct guest *g)
{
	g->stop_requested = 1;
	if (g->state == GS_BACKOFF) {
		ev_timer_stop(g->d->loop, &g->backoff);
		set_state(g, GS_STOPPED);
		let_go_unless_woken(g);
		return;
	}
	if (g->state == GS_PENDING) {
		/* Its disks' copies go on and are kept; the start that waited for them is off. */
		g->stop_requested = 0;
		set_state(g, GS_STOPPED);
		if (g->restart_after_stop) {
			g->restart_after_stop = 0;
			start_now(g);
		} else {
			placement_release(g);
			let_go_unless_woken(g);
			wake_waiters(g, 409, "it was stopped while its disks were being copied");
		}
		return;
	}
	if (g->be) {
		set_state(g, GS_STOPPING);
		backend_stop(g);
	}
}

static void on_backoff(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct guest *g = t->data;

	(void)loop;
	(void)revents;
	if (g->desired_running && g->state == GS_BACKOFF) {
		set_state(g, GS_STOPPED); /* start_now() moves it on */
		start_now(g);
	}
}

/* ---- what the backend reports ---- */

static void host_started(struct guest *g, int pid, int vcpu_tid, uint64_t boot_wall_ns)
{
	g->pid = pid;
	g->vcpu_tid = vcpu_tid;
	g->started_ns = boot_wall_ns;
	set_state(g, GS_RUNNING);
	placement_guest_running(g, 0);
	console_note(g->console, "instance %llu started", (unsigned long long)g->instance);
	event_emit(g->d, "started", g->name, "guest %s started (instance %llu, pid %d)", g->name,
	           (unsigned long long)g->instance, pid);
	wake_waiters(g, 0, NULL);
	if (g->stop_requested || !g->desired_running)
		stop_now(g);
}

/*
 * The guest stopped because shoald asked it to (event says so): its
 * waiters for the stop are answered, and what asked goes on (a restart or
 * a redeploy starts it again).
 */
static void stopped_as_asked(struct guest *g, const char *event)
{
	g->stop_requested = 0;
	g->hung_stop = 0;
	g->storm_stop = 0;
	set_state(g, GS_STOPPED);
	event_emit(g->d, "stopped", g->name, "%s", event);
	wake_waiters(g, 0, NULL);
	if (g->restart_after_stop) {
		g->restart_after_stop = 0;
		g->desired_running = 1;
		start_now(g);
	} else if (!g->desired_running) {
		placement_release(g);
		let_go_unless_woken(g);
	}
	persist(g);
}

static void host_start_failed(struct guest *g, int http, const char *reason)
{
	g->be = NULL;
	g->pid = 0;
	/*
	 * Stopped on purpose while it started (a redeploy or a restart came
	 * meanwhile: its tender was killed): a stop, not a failure, and what
	 * asked for it goes on.  Its waiters for a run wait for the next start.
	 */
	if (g->stop_requested && !g->delete_after_stop) {
		char why[sizeof(g->last_reason) + 40];

		snprintf(why, sizeof(why), "guest %s stopped while it started (%s)", g->name,
		         reason);
		stopped_as_asked(g, why);
		return;
	}
	snprintf(g->last_reason, sizeof(g->last_reason), "%s", reason);
	g->last_exit_ns = now_wall_ns();
	g->desired_running = 0;
	set_state(g, GS_FAILED);
	placement_release(g);
	let_go_unless_woken(g);
	persist(g);
	event_emit(g->d, "start_failed", g->name, "guest %s could not be started: %s", g->name,
	           reason);
	wake_waiters(g, http, reason);
	if (g->delete_after_stop)
		shoald_guest_delete(g->d, g->name, NULL);
}

static unsigned backoff_ms(const struct guest *g)
{
	const struct shoald_config *c = &g->d->cfg;
	uint64_t ms = c->restart_backoff_ms;
	unsigned i;

	for (i = 1; i < g->failures && ms < c->restart_backoff_max_ms; i++)
		ms *= 2;
	return ms > c->restart_backoff_max_ms ? c->restart_backoff_max_ms : (unsigned)ms;
}

static void host_exited(struct guest *g, int status, const char *reason)
{
	struct shoald *d = g->d;
	int failure, restart;
	uint64_t ran_s = g->started_ns ? (now_wall_ns() - g->started_ns) / 1000000000u : 0;

	g->be = NULL;
	g->pid = 0;
	g->last_status = status;
	if (g->hung_stop && !g->stop_requested)
		snprintf(g->last_reason, sizeof(g->last_reason),
		         "hung: %u probes in a row not answered within %u ms; stopped by shoald",
		         g->d->cfg.hung_misses, g->d->cfg.probe_timeout_ms);
	else if (g->storm_stop && !g->stop_requested)
		snprintf(g->last_reason, sizeof(g->last_reason), "%s; stopped by shoald",
		         g->storm_reason);
	else
		snprintf(g->last_reason, sizeof(g->last_reason), "%s", reason);
	reason = g->last_reason;
	g->last_exit_ns = now_wall_ns();
	console_note(g->console, "instance %llu ended: %s", (unsigned long long)g->instance,
	             reason);

	if (g->delete_after_stop) {
		set_state(g, GS_STOPPED);
		wake_waiters(g, 0, NULL);
		shoald_guest_delete(d, g->name, NULL);
		return;
	}
	if (g->stop_requested) {
		char why[160];

		snprintf(why, sizeof(why), "guest %s stopped", g->name);
		stopped_as_asked(g, why);
		return;
	}

	failure = status != 0 || g->hung_stop || g->storm_stop;
	g->hung_stop = 0;
	g->storm_stop = 0;
	if (ran_s >= d->cfg.restart_stable_s)
		g->failures = 0;
	if (failure)
		g->failures++;
	restart = g->desired_running && (g->spec.restart == RESTART_ALWAYS ||
	                                 (g->spec.restart == RESTART_ON_FAILURE && failure));
	if (restart) {
		unsigned ms = failure ? backoff_ms(g) : d->cfg.restart_backoff_ms;

		g->restarts++;
		set_state(g, GS_BACKOFF);
		event_emit(d, "exited", g->name,
		           "guest %s ended: %s (status %d, %s); restart %u in %u ms (policy %s)",
		           g->name, reason, status, guest_exit_str(status), g->restarts, ms,
		           restart_policy_str(g->spec.restart));
		ev_timer_set(&g->backoff, ms / 1000., 0.);
		ev_timer_start(d->loop, &g->backoff);
	} else {
		g->desired_running = 0;
		set_state(g, failure ? GS_EXITED : GS_STOPPED);
		placement_release(g);
		let_go_unless_woken(g);
		event_emit(d, "exited", g->name,
		           "guest %s ended: %s (status %d, %s); not restarted (policy %s)", g->name,
		           reason, status, guest_exit_str(status),
		           restart_policy_str(g->spec.restart));
	}
	persist(g);
	wake_waiters(g, 0, NULL);
}

static uint64_t host_console(struct guest *g, const char *data, size_t len)
{
	uint64_t now = now_mono_ns();

	console_feed(g->console, data, len, now);
	return console_hold_ns(g->console, now);
}

/*
 * Liveness: a guest that stopped answering its probes is stopped, and its
 * end counts as a failure, so the restart policy decides what follows
 * (on-failure and always restart it; never leaves it exited).
 */
void guest_hung(struct guest *g)
{
	struct shoald *d = g->d;
	double quiet_s = g->probe.last_answer_ns
	                     ? (double)(now_mono_ns() - g->probe.last_answer_ns) / 1e9
	                     : (double)(now_mono_ns() - g->state_since_ns) / 1e9;

	event_emit(d, "hung", g->name,
	           "guest %s is hung: %u probes in a row not answered within %u ms (no answer for "
	           "%.1f s); "
	           "stopping it (policy %s)",
	           g->name, g->probe.consecutive_misses, d->cfg.probe_timeout_ms, quiet_s,
	           restart_policy_str(g->spec.restart));
	if (!g->be || g->state != GS_RUNNING)
		return;
	g->hung_stop = 1;
	set_state(g, GS_STOPPING);
	backend_stop(g);
}

/*
 * Liveness too: a guest whose events storm for storm-restart-s is treated
 * as a hung one.  shoald has long stopped listening to it (probe.c), so
 * the storm costs shoald nothing; this is for the guest itself, which is
 * as useless as a hung one and burns its CPU.
 */
void guest_stormed(struct guest *g, double secs, double rate)
{
	struct shoald *d = g->d;

	snprintf(g->storm_reason, sizeof(g->storm_reason),
	         "its events stormed for %.0f s at %.0f/s (storm-rate %u, storm-restart-s %u)",
	         secs, rate, d->cfg.storm_rate, d->cfg.storm_restart_s);
	event_emit(d, "storm", g->name, "guest %s: %s; stopping it (policy %s)", g->name,
	           g->storm_reason, restart_policy_str(g->spec.restart));
	if (!g->be || g->state != GS_RUNNING)
		return;
	g->storm_stop = 1;
	set_state(g, GS_STOPPING);
	backend_stop(g);
}

static struct guest *host_found(void *ctx, const struct be_found *f)
{
	struct shoald *d = ctx;
	struct guest *g = guest_find(d, f->name);

	/* A store restored from a backup may be behind the instances handed out since. */
	store_instance_seen(d->store, f->instance);
	if (!g || g->instance != f->instance || g->be) {
		log_warnx("found a guest %s (instance %llu, pid %d) this daemon does not know: "
		          "stopping it",
		          f->name, (unsigned long long)f->instance, f->pid);
		return NULL;
	}
	g->pid = f->pid;
	g->vcpu_tid = f->vcpu_tid;
	g->started_ns = f->boot_wall_ns;
	/* Its placement is read back once adoption is over (main.c). */
	set_state(g, f->paused ? GS_PAUSED : GS_RUNNING);
	if (f->console_dropped)
		console_note(g->console, "%llu console bytes were lost while shoald was away",
		             (unsigned long long)f->console_dropped);
	event_emit(d, "adopted", g->name,
	           "guest %s re-adopted (instance %llu, pid %d, up %.0f s%s)", g->name,
	           (unsigned long long)f->instance, f->pid,
	           (double)(now_wall_ns() - f->boot_wall_ns) / 1e9, f->paused ? ", paused" : "");
	return g;
}

static void host_ended_while_away(void *ctx, const char *name, uint64_t instance, int status,
                                  const char *reason, const char *console, size_t console_len)
{
	struct shoald *d = ctx;
	struct guest *g = guest_find(d, name);

	if (!g || g->instance != instance)
		return;
	if (console_len)
		console_feed(g->console, console, console_len, now_mono_ns());
	/* As if it had just ended: the restart policy decides what comes next. */
	g->started_ns = 0;
	host_exited(g, status, reason);
}

void guest_lost_while_away(struct guest *g)
{
	if (!g->desired_running || !g->instance || g->be || !state_is_down(g->state))
		return;
	g->started_ns = 0;
	host_exited(g, -1,
	            "it ended while shoald was away, leaving no record (gone when shoald "
	            "started again)");
}

static int host_hurry(void *ctx)
{
	return dns_waiting(ctx) > 0;
}

const struct backend_host *guest_backend_host(struct shoald *d)
{
	static struct backend_host h = {
		.started = host_started,
		.start_failed = host_start_failed,
		.exited = host_exited,
		.console = host_console,
		.probe_answer = probe_answer,
		.found = host_found,
		.ended_while_away = host_ended_while_away,
		.hurry = host_hurry,
	};

	h.ctx = d;
	return &h;
}

/* ---- API entry points ---- */

/* The guests from the one after the last written, newest first, as one JSON array. */
static int guests_fill(struct shoald_pager *p, struct metrics_buf *b, size_t want)
{
	struct guest *g = p->d->guests;

	if (!p->begun) {
		p->begun = 1;
		p->serial = UINT64_MAX;
		if (metrics_buf_put(b, "[", 1) < 0)
			return -1;
	}
	while (g && g->serial >= p->serial)
		g = g->next;
	for (; g && b->len < want; g = g->next) {
		json_t *j = guest_json(g, 0);
		char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
		int rc;

		json_decref(j);
		if (!t)
			return -1;
		rc = (p->serial != UINT64_MAX ? metrics_buf_put(b, ",", 1) : 0) ||
		     metrics_buf_put(b, t, strlen(t));
		free(t);
		if (rc)
			return -1;
		p->serial = g->serial;
	}
	if (g)
		return 1;
	return metrics_buf_put(b, "]\n", 2) < 0 ? -1 : 0;
}

struct shoald_pager *shoald_guests_pager(struct shoald *d)
{
	struct shoald_pager *p = calloc(1, sizeof(*p));

	if (p) {
		p->d = d;
		p->fill = guests_fill;
	}
	return p;
}

int shoald_pager_fill(struct shoald_pager *p, struct metrics_buf *b, size_t want)
{
	return p->fill(p, b, want);
}

void shoald_pager_free(struct shoald_pager *p)
{
	free(p);
}

json_t *shoald_guest_json(struct shoald *d, const char *name, struct sd_err *err)
{
	struct guest *g = guest_find(d, name);

	if (!g) {
		sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s", name);
		return NULL;
	}
	return guest_json(g, 1);
}

json_t *shoald_guest_latency_json(struct shoald *d, const char *name, const char *buckets,
                                  struct sd_err *err)
{
	struct guest *g = guest_find(d, name);
	uint64_t win = 0;
	json_t *j;

	if (!g) {
		sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s", name);
		return NULL;
	}
	if (!strcmp(buckets, "10s"))
		win = METRICS_WINDOW_SHORT_NS;
	else if (!strcmp(buckets, "60s"))
		win = METRICS_WINDOW_LONG_NS;
	j = probe_latency_json(g, win);
	if (!j)
		sd_err_set(err, 500, "internal", "", "could not compute guest %s's latency", name);
	return j;
}

void spec_limits_of(const struct shoald *d, struct spec_limits *lim)
{
	lim->memory_min_mib = 2;
	lim->memory_max_mib = d->cfg.guest_mem_max_mib;
	lim->vcpus_max = 1;
	lim->host_cpus = d->host_cpus;
}

/* Refuse devices the backend cannot give guests (yet). */
static int devices_supported(struct shoald *d, const struct guest_spec *spec, struct sd_err *err)
{
	if (spec->ndisks > d->be_ops->max_disks)
		return sd_err_set(err, 400, "unsupported", "disks",
		                  "disks: the %s backend gives a guest at most %u disks",
		                  d->be_ops->name, d->be_ops->max_disks);
	if (spec->nnics > d->be_ops->max_nics)
		return sd_err_set(err, 400, "unsupported", "net",
		                  "net: the %s backend gives a guest at most %u NICs",
		                  d->be_ops->name, d->be_ops->max_nics);
	/* A limit the backend would not keep is refused, never silently dropped. */
	if (!d->be_ops->net_rate && spec->has_net_rate &&
	    (spec->net_rate_pps || spec->net_rate_bytes))
		return sd_err_set(
		    err, 400, "unsupported", "net_rate",
		    "net_rate: the %s backend cannot limit a guest's network rate%s%s",
		    d->be_ops->name, d->be_ops->net_rate_missing ? ": " : "",
		    d->be_ops->net_rate_missing ? d->be_ops->net_rate_missing : "");
	return 0;
}

/* Refuse a deploy that would go over the guest count or memory limits. */
static int check_limits(struct shoald *d, const struct guest *existing, unsigned memory_mib,
                        struct sd_err *err)
{
	uint64_t used = shoald_memory_used_mib(d), limit = shoald_memory_limit_mib(d);

	if (!existing && d->nguests >= d->cfg.max_guests)
		return sd_err_set(
		    err, 409, "guest_limit", "name",
		    "this host already has %u guests, the most it allows (max-guests)",
		    d->cfg.max_guests);
	if (existing && (!state_is_down(existing->state) || existing->desired_running))
		used -= existing->spec.memory_mib;
	if (used + memory_mib > limit)
		return sd_err_set(
		    err, 409, "memory_limit", "memory_mib",
		    "not enough memory: %u MiB asked, %llu MiB of %llu MiB free (max-memory-mib)",
		    memory_mib, (unsigned long long)(limit - (used < limit ? used : limit)),
		    (unsigned long long)limit);
	return 0;
}

/*
 * A deploy names a writable disk the guest has a copy of already, made
 * from another image: the copy is kept (it holds the guest's data), and
 * the event log says so.
 */
static void note_kept_copies(struct guest *g)
{
	char from[65];
	unsigned i;

	for (i = 0; i < g->spec.ndisks; i++) {
		const struct spec_disk *dk = &g->spec.disks[i];

		if (!dk->readonly &&
		    store_disk_copy_get(g->d->store, g->name, dk->name, from) == 1 &&
		    strcmp(from, g->disk_sha256[i]))
			event_emit(g->d, "disk_kept", g->name,
			           "guest %s keeps its own copy of disk %s, made from image %.12s; "
			           "the deploy names image %.12s, which is not copied over it",
			           g->name, dk->name, from, g->disk_sha256[i]);
	}
}

/* Make the guest run `spec` (taking it over), restarting it if it runs. */
static int apply_deploy(struct shoald *d, struct guest *g, struct guest_spec *spec, const char *sha,
                        const char (*disk_sha)[65], const struct guest_nic *nics, int64_t deploy_id)
{
	spec_free(&g->spec);
	g->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	g->nnics = g->spec.nnics;
	memcpy(g->nics, nics, g->nnics * sizeof(nics[0]));
	if (store_nics_set(d->store, g->name, g->nics, g->nnics) < 0)
		log_warnx("guest %s: could not record its NICs in the state store", g->name);
	memset(g->disk_sha256, 0, sizeof(g->disk_sha256));
	memcpy(g->disk_sha256, disk_sha, g->spec.ndisks * sizeof(disk_sha[0]));
	note_kept_copies(g);
	snprintf(g->image_sha256, sizeof(g->image_sha256), "%s", sha);
	g->deploy_id = deploy_id;
	/* An on-demand guest sleeps until a DNS query for one of its names (dns.c). */
	g->desired_running = !g->spec.on_demand;
	g->failures = 0;
	if (g->state == GS_BACKOFF) {
		ev_timer_stop(d->loop, &g->backoff);
		set_state(g, GS_STOPPED);
	}
	if (g->be) {
		g->restart_after_stop = g->desired_running;
		stop_now(g);
	} else if (g->desired_running) {
		start_now(g);
	} else {
		placement_release(g);
	}
	persist(g);
	return 0;
}

static int finish_request(struct guest *g, int wait, enum want want, int http_ok,
                          shoald_done_fn done, void *ctx, struct shoald_wait **w, int *http,
                          json_t **body, struct sd_err *err)
{
	if (wait && !(want == WANT_RUNNING && g->state == GS_RUNNING) &&
	    !(want == WANT_STOPPED && state_is_down(g->state))) {
		if (want == WANT_RUNNING && g->state == GS_FAILED) {
			sd_err_set(err, 500, "start_failed", "", "guest %s did not start: %s",
			           g->name, g->last_reason);
			return -1;
		}
		*w = (struct shoald_wait *)waiter_add(g, want, http_ok, done, ctx);
		if (*w)
			return 1;
	}
	*http = wait ? http_ok : 202;
	*body = guest_json(g, 0);
	return 0;
}

/* The stored images a spec's host paths were copied to (NULL: the spec names a sha256). */
struct deploy_images {
	const char *image;
	const char *disks[SPEC_DISKS_MAX];
};

/*
 * The deploy itself, once every host path of the spec is in the store
 * (imp: their sha256; NULL when the spec names only sha256s).
 */
static int deploy_now(struct shoald *d, const json_t *j, const struct deploy_images *imp, int wait,
                      shoald_done_fn done, void *ctx, struct shoald_wait **w, int *http,
                      json_t **body, struct sd_err *err)
{
	struct spec_limits lim;
	struct guest_spec spec;
	struct guest *g;
	struct guest_place place;
	struct guest_nic nics[SPEC_NICS_MAX];
	json_t *stored = NULL;
	char sha[65], disk_sha[SPEC_DISKS_MAX][65];
	int64_t id;
	unsigned i;
	int created = 0;

	spec_limits_of(d, &lim);
	if (spec_from_json(j, &lim, &spec, err) < 0)
		return -1;
	g = guest_find(d, spec.name);
	if (g && g->delete_after_stop) {
		sd_err_set(err, 409, "being_deleted", "name", "guest %s is being deleted",
		           spec.name);
		goto fail;
	}
	if (check_limits(d, g, spec.memory_mib, err) < 0 || devices_supported(d, &spec, err) < 0 ||
	    net_assign(d, spec.name, g, &spec, nics, err) < 0 ||
	    dns_check(d, spec.name, &spec, err) < 0)
		goto fail;
	if (image_resolve(d, &spec, imp ? imp->image : NULL, sha, err) < 0)
		goto fail;
	for (i = 0; i < spec.ndisks; i++)
		if (disk_resolve(d, &spec, i, imp ? imp->disks[i] : NULL, disk_sha[i], err) < 0)
			goto fail;
	if (placement_admit(d, spec.name, &spec, &place, err) < 0)
		goto fail;
	stored = spec_to_json(&spec);
	id = store_deploy(d->store, spec.name, stored, sha, (const char(*)[65])disk_sha,
	                  spec.ndisks, g ? g->deploy_id : 0, "deploy", now_wall_ns());
	json_decref(stored);
	if (id < 0) {
		if (store_failed_full(d->store))
			shoald_err_no_space(err, "", store_path(d->store));
		else
			sd_err_set(err, 500, "store_failed", "",
			           "could not record the deploy in the state store");
		goto fail;
	}
	if (!g) {
		g = guest_new(d, spec.name);
		if (!g) {
			sd_err_set(err, 500, "internal", "", "out of memory");
			goto fail;
		}
		created = 1;
	}
	event_emit(d, "deployed", g->name,
	           "guest %s deployed (deploy %lld, image %.12s, %u MiB, %u disks, %u NICs)",
	           g->name, (long long)id, sha, spec.memory_mib, spec.ndisks, spec.nnics);
	g->place = place;
	apply_deploy(d, g, &spec, sha, (const char(*)[65])disk_sha, nics, id);
	return finish_request(g, wait, g->spec.on_demand ? WANT_STOPPED : WANT_RUNNING,
	                      created ? 201 : 200, done, ctx, w, http, body, err);
fail:
	spec_free(&spec);
	return -1;
}

/*
 * A deploy that names host paths (its image, its disks) waits for each
 * one's copy into the store (worker threads, images.c, side by side),
 * then goes on as any deploy.  The first failure in the spec's order is
 * the answer, once every copy has ended.  Its handle is the request's for
 * its whole life: cancelling it (the client went away) drops the answer,
 * not the deploy.
 */
struct pending_import {
	struct pending_deploy *pd;
	int slot; /* 0: the image; 1 + i: disk i */
};

struct pending_deploy {
	struct shoald *d;
	json_t *spec;
	int wait;
	shoald_done_fn done; /* NULL once cancelled */
	void *ctx;
	struct shoald_wait *inner; /* the guest's waiter, once the deploy waits for it to run */
	unsigned imports;          /* copies still under way */
	int failed_slot;           /* the first failed slot in the spec's order; -1: none */
	struct sd_err err;
	struct pending_import slots[1 + SPEC_DISKS_MAX];
	char sha[1 + SPEC_DISKS_MAX][65]; /* each slot's stored image; "": none */
	struct pending_deploy *next;
};

static void pending_unlink(struct pending_deploy *pd)
{
	struct pending_deploy **pp;

	for (pp = &pd->d->pending_deploys; *pp; pp = &(*pp)->next)
		if (*pp == pd) {
			*pp = pd->next;
			break;
		}
	json_decref(pd->spec);
	free(pd);
}

/* The guest's waiter fired: answer, and the pending deploy is over. */
static void pending_done(void *ctx, int http, json_t *body)
{
	struct pending_deploy *pd = ctx;

	if (pd->done)
		pd->done(pd->ctx, http, body);
	else
		json_decref(body);
	pending_unlink(pd);
}

/* Every copy has ended: answer the first failure, or deploy. */
static void pending_go(struct pending_deploy *pd)
{
	struct deploy_images imp;
	struct sd_err err;
	json_t *body = NULL;
	int http = 0, r, i;

	if (pd->failed_slot >= 0) {
		if (pd->done)
			pd->done(pd->ctx, pd->err.http, error_json(&pd->err));
		pending_unlink(pd);
		return;
	}
	imp.image = pd->sha[0][0] ? pd->sha[0] : NULL;
	for (i = 0; i < SPEC_DISKS_MAX; i++)
		imp.disks[i] = pd->sha[1 + i][0] ? pd->sha[1 + i] : NULL;
	r = deploy_now(pd->d, pd->spec, &imp, pd->wait, pending_done, pd, &pd->inner, &http, &body,
	               &err);
	if (r == 1)
		return; /* pending_done() answers */
	if (pd->done)
		pd->done(pd->ctx, r < 0 ? err.http : http, r < 0 ? error_json(&err) : body);
	else if (r == 0)
		json_decref(body);
	pending_unlink(pd);
}

static void pending_failed(struct pending_deploy *pd, int slot, const struct sd_err *err)
{
	if (pd->failed_slot < 0 || slot < pd->failed_slot) {
		pd->failed_slot = slot;
		pd->err = *err;
	}
}

static void pending_imported(void *ctx, const char *sha256, struct sd_err *ierr)
{
	struct pending_import *pi = ctx;
	struct pending_deploy *pd = pi->pd;

	if (sha256)
		memcpy(pd->sha[pi->slot], sha256, 65);
	else
		pending_failed(pd, pi->slot, ierr);
	if (--pd->imports == 0)
		pending_go(pd);
}

/* A cancelled handle that is a pending deploy's: 1 when it was one. */
static int pending_cancel(struct shoald *d, struct shoald_wait *hw)
{
	struct pending_deploy *pd;

	for (pd = d->pending_deploys; pd; pd = pd->next)
		if ((struct shoald_wait *)pd == hw)
			break;
	if (!pd)
		return 0;
	pd->done = NULL;
	if (pd->inner) {
		shoald_wait_cancel(d, pd->inner);
		pending_unlink(pd);
	}
	return 1;
}

/* Does the spec name a host path anywhere (its image, a disk)? */
static int spec_has_paths(const struct guest_spec *spec)
{
	unsigned i;

	if (!spec_is_sha256(spec->image))
		return 1;
	for (i = 0; i < spec->ndisks; i++)
		if (!spec_is_sha256(spec->disks[i].image))
			return 1;
	return 0;
}

/* Start copying the slot's host path in; on failure the slot fails (no copy to wait for). */
static void pending_import_start(struct pending_deploy *pd, int slot, const char *path,
                                 enum image_kind kind, const char *field)
{
	struct sd_err err;

	pd->slots[slot].pd = pd;
	pd->slots[slot].slot = slot;
	pd->imports++;
	if (image_import_start(pd->d, path, kind, field, pending_imported, &pd->slots[slot], &err) <
	    0) {
		pd->imports--;
		pending_failed(pd, slot, &err);
	}
}

int shoald_deploy(struct shoald *d, const json_t *j, int wait, shoald_done_fn done, void *ctx,
                  struct shoald_wait **w, int *http, json_t **body, struct sd_err *err)
{
	struct spec_limits lim;
	struct guest_spec spec;
	struct guest *g;
	struct pending_deploy *pd;
	unsigned i;
	int r;

	spec_limits_of(d, &lim);
	if (spec_from_json(j, &lim, &spec, err) < 0)
		return -1;
	if (!spec_has_paths(&spec)) {
		spec_free(&spec);
		return deploy_now(d, j, NULL, wait, done, ctx, w, http, body, err);
	}
	/* Refuse what can be refused before the copies. */
	g = guest_find(d, spec.name);
	r = g && g->delete_after_stop ? sd_err_set(err, 409, "being_deleted", "name",
	                                           "guest %s is being deleted", spec.name)
	                              : check_limits(d, g, spec.memory_mib, err);
	if (r == 0)
		r = devices_supported(d, &spec, err);
	if (r == 0) {
		struct guest_nic nics[SPEC_NICS_MAX];

		r = net_assign(d, spec.name, g, &spec, nics, err);
	}
	if (r == 0)
		r = dns_check(d, spec.name, &spec, err);
	if (r < 0) {
		spec_free(&spec);
		return -1;
	}
	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		spec_free(&spec);
		return sd_err_set(err, 500, "internal", "", "out of memory");
	}
	pd->d = d;
	pd->spec = json_deep_copy(j);
	pd->wait = wait;
	pd->done = done;
	pd->ctx = ctx;
	pd->failed_slot = -1;
	if (!pd->spec) {
		free(pd);
		spec_free(&spec);
		return sd_err_set(err, 500, "internal", "", "out of memory");
	}
	if (!spec_is_sha256(spec.image))
		pending_import_start(pd, 0, spec.image, IMAGE_KIND_GUEST, "image");
	for (i = 0; i < spec.ndisks && pd->failed_slot < 0; i++) {
		char field[32];

		if (spec_is_sha256(spec.disks[i].image))
			continue;
		snprintf(field, sizeof(field), "disks[%u].image", i);
		pending_import_start(pd, (int)(1 + i), spec.disks[i].image, IMAGE_KIND_DISK, field);
	}
	spec_free(&spec);
	if (pd->imports == 0) { /* the first copy could not even begin */
		*err = pd->err;
		json_decref(pd->spec);
		free(pd);
		return -1;
	}
	pd->next = d->pending_deploys;
	d->pending_deploys = pd;
	*w = (struct shoald_wait *)pd;
	return 1;
}

static int do_rollback(struct shoald *d, struct guest *g, struct sd_err *err)
{
	struct spec_limits lim;
	struct guest_spec spec;
	struct guest_place place;
	struct guest_nic nics[SPEC_NICS_MAX];
	struct sd_err perr;
	json_t *old = NULL;
	char sha[65], disk_sha[SPEC_DISKS_MAX][65];
	unsigned ndisks = 0;
	int64_t target, parent, id;

	target =
	    store_rollback_target(d->store, g->deploy_id, &old, sha, disk_sha, &ndisks, &parent);
	if (target <= 0)
		return sd_err_set(err, 409, "no_previous_deploy", "name",
		                  "guest %s has no earlier deploy to roll back to", g->name);
	spec_limits_of(d, &lim);
	if (spec_from_json(old, &lim, &spec, &perr) < 0) {
		json_decref(old);
		return sd_err_set(err, 409, "previous_deploy_invalid", "name",
		                  "guest %s's earlier deploy %lld is no longer valid here: %s",
		                  g->name, (long long)target, perr.message);
	}
	if (spec.ndisks != ndisks) {
		spec_free(&spec);
		json_decref(old);
		return sd_err_set(
		    err, 409, "previous_deploy_invalid", "name",
		    "guest %s's earlier deploy %lld does not record its disks' images", g->name,
		    (long long)target);
	}
	if (check_limits(d, g, spec.memory_mib, err) < 0 || devices_supported(d, &spec, err) < 0 ||
	    net_assign(d, g->name, g, &spec, nics, err) < 0 ||
	    dns_check(d, g->name, &spec, err) < 0 ||
	    placement_admit(d, g->name, &spec, &place, err) < 0) {
		spec_free(&spec);
		json_decref(old);
		return -1;
	}
	id = store_deploy(d->store, g->name, old, sha, (const char(*)[65])disk_sha, ndisks, parent,
	                  "rollback", now_wall_ns());
	json_decref(old);
	if (id < 0) {
		spec_free(&spec);
		if (store_failed_full(d->store))
			return shoald_err_no_space(err, "", store_path(d->store));
		return sd_err_set(err, 500, "store_failed", "", "could not record the rollback");
	}
	event_emit(d, "rollback", g->name,
	           "guest %s rolled back from deploy %lld to the spec of deploy %lld", g->name,
	           (long long)g->deploy_id, (long long)target);
	g->place = place;
	apply_deploy(d, g, &spec, sha, (const char(*)[65])disk_sha, nics, id);
	return 0;
}

/*
 * Pause or resume a running guest, at once (the backend's op is
 * synchronous).  Asking for the state it is already in is a success.
 */
static int pause_guest(struct guest *g, int pause, int *http, json_t **body, struct sd_err *err)
{
	struct shoald *d = g->d;
	const char *verb = pause ? "paused" : "resumed";
	char why[256];

	if (!guest_state_live(g->state) || !g->be)
		return sd_err_set(err, 409, "not_running", "name",
		                  "guest %s is %s: only a running guest can be %s", g->name,
		                  guest_state_str(g->state), verb);
	if ((g->state == GS_PAUSED) != pause) {
		if (!d->be_ops->pause)
			return sd_err_set(err, 501, "not_supported", "action",
			                  "the %s backend cannot pause a guest", d->be_ops->name);
		why[0] = '\0';
		if (d->be_ops->pause(d->be, g, pause, why, sizeof(why)) < 0) {
			log_warnx("guest %s: could not be %s: %s", g->name, verb, why);
			return sd_err_set(err, 500, "backend_failed", "",
			                  "guest %s could not be %s: %s", g->name, verb, why);
		}
		/* Probing stops while it is held and starts afresh after (set_state). */
		set_state(g, pause ? GS_PAUSED : GS_RUNNING);
		event_emit(d, verb, g->name, "guest %s %s", g->name, verb);
	}
	*http = 200;
	*body = guest_json(g, 0);
	return 0;
}

int shoald_guest_action(struct shoald *d, const char *name, const char *action, int wait,
                        shoald_done_fn done, void *ctx, struct shoald_wait **w, int *http,
                        json_t **body, struct sd_err *err)
{
	struct guest *g = guest_find(d, name);

	if (!g)
		return sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s",
		                  name);
	if (g->delete_after_stop)
		return sd_err_set(err, 409, "being_deleted", "name", "guest %s is being deleted",
		                  name);
	if (!strcmp(action, "pause") || !strcmp(action, "resume"))
		return pause_guest(g, action[0] == 'p', http, body, err);
	if (!strcmp(action, "start")) {
		if (g->state == GS_PAUSED)
			return sd_err_set(err, 409, "paused", "name",
			                  "guest %s is paused: resume it (POST .../resume)", name);
		if (!g->desired_running && check_limits(d, g, g->spec.memory_mib, err) < 0)
			return -1;
		if (!g->place.placed && d->cfg.placement && !g->be &&
		    placement_admit(d, g->name, &g->spec, &g->place, err) < 0)
			return -1;
		g->desired_running = 1;
		g->failures = 0;
		if (g->state == GS_BACKOFF) {
			ev_timer_stop(d->loop, &g->backoff);
			set_state(g, GS_STOPPED);
		}
		if (g->state == GS_STOPPING)
			g->restart_after_stop = 1;
		guest_converge(g);
		persist(g);
		return finish_request(g, wait, WANT_RUNNING, 200, done, ctx, w, http, body, err);
	}
	if (!strcmp(action, "stop")) {
		g->desired_running = 0;
		g->restart_after_stop = 0;
		stop_now(g);
		persist(g);
		event_emit(d, "stop", g->name, "guest %s asked to stop", g->name);
		return finish_request(g, wait, WANT_STOPPED, 200, done, ctx, w, http, body, err);
	}
	if (!strcmp(action, "restart")) {
		g->desired_running = 1;
		g->failures = 0;
		if (g->be) {
			g->restart_after_stop = 1;
			stop_now(g);
		} else {
			if (g->state == GS_BACKOFF) {
				ev_timer_stop(d->loop, &g->backoff);
				set_state(g, GS_STOPPED);
			}
			guest_converge(g);
		}
		persist(g);
		event_emit(d, "restart", g->name, "guest %s asked to restart", g->name);
		return finish_request(g, wait, WANT_RUNNING, 200, done, ctx, w, http, body, err);
	}
	if (!strcmp(action, "rollback")) {
		if (do_rollback(d, g, err) < 0)
			return -1;
		return finish_request(g, wait, g->spec.on_demand ? WANT_STOPPED : WANT_RUNNING, 200,
		                      done, ctx, w, http, body, err);
	}
	return sd_err_set(err, 404, "no_such_action", "action",
	                  "unknown action %s (start, stop, restart, rollback, pause, resume)",
	                  action);
}

int shoald_guest_delete(struct shoald *d, const char *name, struct sd_err *err)
{
	struct guest *g = guest_find(d, name);
	struct guest_waiter *w;

	if (!g)
		return sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s",
		                  name);
	g->desired_running = 0;
	g->delete_after_stop = 1;
	if (g->be) {
		/*
		 * Marked in the store until the stop is done and the record goes:
		 * a shoald killed in between finishes the deletion when it starts
		 * again (main.c), rather than bringing the guest back.
		 */
		persist(g);
		stop_now(g);
		return 0;
	}
	ev_timer_stop(d->loop, &g->backoff);
	while ((w = g->waiters)) {
		struct sd_err e;

		g->waiters = w->next;
		sd_err_set(&e, 404, "no_such_guest", "name", "guest %s was deleted", g->name);
		w->done(w->ctx, 404, error_json(&e));
		free(w);
	}
	if (store_guest_delete(d->store, g->name) < 0)
		log_warnx("guest %s: could not remove it from the store", g->name);
	disks_remove(d, g->name);
	if (d->be_ops->let_go)
		d->be_ops->let_go(d->be, g->name);
	event_emit(d, "deleted", g->name, "guest %s deleted", g->name);
	guest_free(g);
	return 0;
}
