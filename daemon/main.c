/*
 * shoald: start-up, the event loop and shut-down.  Start-up reads the
 * configuration, opens the state store, starts the backend, takes back
 * the guests an earlier shoald left running, starts the ones that should
 * run, opens the API and tells systemd it is ready.  Shut-down leaves
 * every guest running for the next shoald.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "api/api.h"
#include "config.h"
#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

#define CRON_HZ 10

size_t shoald_max_body_bytes(const struct shoald *d)
{
	return d->cfg.max_body_bytes;
}

uint64_t shoald_max_image_bytes(const struct shoald *d)
{
	return d->cfg.max_image_bytes;
}

json_t *shoald_host_json(struct shoald *d)
{
	char host[256] = "";
	unsigned running = 0, by_state[GS__COUNT] = { 0 };
	const struct guest *g;
	json_t *states = json_object(), *j;
	int i;

	gethostname(host, sizeof(host) - 1);
	for (g = d->guests; g; g = g->next) {
		by_state[g->state]++;
		running += g->state == GS_RUNNING;
	}
	for (i = 0; i < GS__COUNT; i++)
		if (by_state[i])
			json_object_set_new(states, guest_state_str((enum guest_state)i),
			                    json_integer(by_state[i]));
	j = json_pack(
	    "{s:s, s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:o}, s:{s:I, s:I, s:I},"
	    " s:f}",
	    "hostname", host, "version", PACKAGE_VERSION, "backend", d->be_ops->name, "cpus",
	    (json_int_t)d->host_cpus, "memory_mib", "total", (json_int_t)d->host_mem_mib,
	    "reserved", (json_int_t)d->cfg.reserve_mib, "limit",
	    (json_int_t)shoald_memory_limit_mib(d), "promised",
	    (json_int_t)shoald_memory_used_mib(d), "guests", "total", (json_int_t)d->nguests,
	    "running", (json_int_t)running, "by_state", states, "limits", "max_guests",
	    (json_int_t)d->cfg.max_guests, "max_body_bytes", (json_int_t)d->cfg.max_body_bytes,
	    "max_image_bytes", (json_int_t)d->cfg.max_image_bytes, "uptime_s",
	    (double)(now_mono_ns() - d->start_ns) / 1e9);
	if (j)
		json_object_set_new(j, "loop",
		                    json_pack("{s:I, s:f, s:I, s:I, s:I}", "iterations",
		                              (json_int_t)d->probes.iterations, "longest_held_ms",
		                              (double)d->probes.held_max_ns / 1e6, "held_over_10ms",
		                              (json_int_t)d->probes.held_over[0], "held_over_50ms",
		                              (json_int_t)d->probes.held_over[1], "held_over_200ms",
		                              (json_int_t)d->probes.held_over[2]));
	if (j && d->dns)
		json_object_set_new(j, "dns", dns_stats_json(d));
	if (j && d->be_ops->stats)
		json_object_set_new(j, "backend_stats", d->be_ops->stats(d->be));
	return j;
}

void shoald_api_refused(struct shoald *d)
{
	d->api_refused++;
}

static void api_config_of(const struct shoald *d, struct api_config *ac)
{
	ac->socket_path = d->cfg.socket_path;
	ac->socket_group = d->cfg.socket_group;
	ac->ui_dir = d->cfg.ui_dir;
	ac->listen_tcp = d->cfg.listen_tcp;
	ac->tls_cert = d->cfg.tls_cert;
	ac->tls_key = d->cfg.tls_key;
	ac->token_file = d->cfg.token_file;
}

/*
 * Whether a sub-period of period_ms is due at this cron tick (Redis's
 * run_with_period): every ceil(period_ms / tick) ticks, at least every tick.
 */
static int run_with_period(const struct shoald *d, uint64_t period_ms)
{
	uint64_t every = (period_ms * CRON_HZ + 999) / 1000;

	return every <= 1 || d->cron_ticks % every == 0;
}

static void on_cron(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct shoald *d = t->data;

	(void)loop;
	(void)revents;
	d->cron_ticks++;
	/* Sub-periods of one timer, as Redis's serverCron does. */
	/* Every quarter of the watchdog's time (rounded up to a tick, so within half of it). */
	if (d->watchdog_usec_half && run_with_period(d, d->watchdog_usec_half / 2000))
		sd_notify(0, "WATCHDOG=1");
	if (run_with_period(d, 10 * 1000)) {
		unsigned running = 0;
		const struct guest *g;
		char status[128];

		for (g = d->guests; g; g = g->next)
			running += g->state == GS_RUNNING;
		snprintf(status, sizeof(status), "STATUS=%u guests, %u running", d->nguests,
		         running);
		sd_notify(0, status);
	}
	if (run_with_period(d, 600 * 1000))
		store_prune_events(d->store, 100000);
	/* The state store's backup runs in a thread: the loop starts it and joins it once done. */
	if (d->cfg.state_backups && !store_backup_poll(d->store, 0) &&
	    d->cron_ticks % ((uint64_t)d->cfg.state_backup_interval_s * CRON_HZ) == 0)
		store_backup_begin(d->store, d->cfg.state_backups);
	if (run_with_period(d, 1000))
		events_latency_summary(d);
	if (run_with_period(d, d->cfg.placement_period_ms))
		placement_period(d);
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct shoald *d = w->data;

	(void)revents;
	log_info("signal %d: shutting down; guests keep running", w->signum);
	d->stopping = 1;
	sd_notify(0, "STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct shoald *d = w->data;
	char msg[1200];
	int r;

	(void)loop;
	(void)revents;
	/* The API's token file, certificate and key are read again; the rest needs a restart
	 * (guests keep running). */
	r = api_reload(d->api, msg, sizeof(msg));
	if (r < 0)
		log_warnx("SIGHUP: %s", msg);
	else if (r == 0)
		log_info("SIGHUP: %s; the rest of the configuration changes with a restart (guests "
		         "keep running)",
		         msg);
	else
		log_info("SIGHUP: nothing to reload; restart shoald to change its configuration "
		         "(guests keep running)");
}

/* Each guest holds four descriptors here (control, console, two event channels): take what the hard
 * limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-file limit to %llu",
			         (unsigned long long)rl.rlim_max);
	}
}

static void make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0) {
		/* The mode meant, not what umask 027 leaves: socket-group's members must reach the
		 * socket. */
		if (chmod(path, mode) < 0)
			fatal("cannot set the mode of %s", path);
		return;
	}
	if (errno != EEXIST)
		fatal("cannot make %s", path);
}

struct load_ctx {
	struct shoald *d;
	unsigned loaded, skipped;
};

static void load_guest(void *ctx, struct store_guest *sg)
{
	struct load_ctx *lc = ctx;
	struct shoald *d = lc->d;
	struct spec_limits lim;
	struct sd_err err;
	struct guest *g;

	spec_limits_of(d, &lim);
	g = guest_new(d, sg->name);
	if (!g || spec_from_json(sg->spec, &lim, &g->spec, &err) < 0) {
		log_warnx("guest %s: its stored spec is not valid here (%s); left stopped",
		          sg->name, g ? err.message : "out of memory");
		if (g)
			g->desired_running = 0;
		json_decref(sg->spec);
		lc->skipped++;
		return;
	}
	json_decref(sg->spec);
	snprintf(g->image_sha256, sizeof(g->image_sha256), "%s", sg->image_sha256);
	if (sg->ndisks != g->spec.ndisks) {
		log_warnx("guest %s: its stored deploy has %u disks for the %u of its spec; left "
		          "stopped",
		          sg->name, sg->ndisks, g->spec.ndisks);
		g->spec.ndisks = 0;
		sg->desired_running = 0;
	}
	memcpy(g->disk_sha256, sg->disk_sha256, sizeof(g->disk_sha256));
	/*
	 * Its NICs as stored, checked again against this configuration (the
	 * bridge may be gone from the allow-list, the pool changed): what
	 * still holds is kept, the rest handed out anew.
	 */
	{
		struct guest_nic nics[SPEC_NICS_MAX];
		int n = store_nics_get(d->store, sg->name, g->nics, SPEC_NICS_MAX);

		g->nnics = n > 0 ? (unsigned)n : 0;
		if (net_assign(d, g->name, g, &g->spec, nics, &err) < 0) {
			log_warnx("guest %s: its NICs do not hold here (%s); left stopped",
			          sg->name, err.message);
			g->nnics = 0;
			sg->desired_running = 0;
		} else {
			if ((unsigned)n != g->spec.nnics ||
			    memcmp(nics, g->nics, g->spec.nnics * sizeof(nics[0])))
				store_nics_set(d->store, g->name, nics, g->spec.nnics);
			g->nnics = g->spec.nnics;
			memcpy(g->nics, nics, g->nnics * sizeof(nics[0]));
		}
	}
	g->deploy_id = sg->deploy_id;
	g->desired_running = sg->desired_running;
	g->delete_after_stop = sg->deleting;
	g->instance = sg->instance;
	g->restarts = sg->restarts;
	g->created_ns = sg->created_ns;
	g->last_status = sg->last_status;
	snprintf(g->last_reason, sizeof(g->last_reason), "%s", sg->last_reason);
	console_reload(g->console);
	lc->loaded++;
}

int main(int argc, char **argv)
{
	static struct shoald daemon;
	struct shoald *d = &daemon;
	struct load_ctx lc = { d, 0, 0 };
	char err[1200], path[1200];
	struct sysinfo si;
	struct guest *g, *next;
	uint64_t usec = 0;
	int r, adopted;
	long ncpu;

	r = config_load(&d->cfg, argc, argv, err, sizeof(err));
	if (r > 0)
		return 0;
	log_init(r == 0 ? (enum log_level)d->cfg.log_level : LOG_LEVEL_INFO);
	if (r < 0)
		fatalx("%s", err);
	d->be_ops = backend_lookup(d->cfg.backend);
	if (!d->be_ops) {
		const char *why = backend_missing(d->cfg.backend);

		fatalx("backend %s is not built into this shoald%s%s (it has: %s)", d->cfg.backend,
		       why ? ": " : "", why ? why : "", backend_names());
	}
	/* The API's settings are checked before anything is touched: a bad one stops shoald here.
	 */
	{
		struct api_config ac;
		char summary[1500], note[400];

		api_config_of(d, &ac);
		if (api_check_config(&ac, summary, sizeof(summary), note, sizeof(note), err,
		                     sizeof(err)) < 0)
			fatalx("%s", err);
		if (note[0])
			log_warnx("%s", note);
		if (d->cfg.check_only) {
			printf(
			    "shoald: configuration OK (backend %s, state %s, run %s; API on %s)\n",
			    d->be_ops->name, d->cfg.state_dir, d->cfg.run_dir, summary);
			return 0;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	umask(027);
	raise_fd_limit();
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	d->host_cpus = ncpu > 0 ? (unsigned)ncpu : 1;
	d->host_mem_mib = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit >> 20 : 0;
	d->start_ns = now_mono_ns();
	d->start_wall_ns = now_wall_ns();

	make_dir(d->cfg.state_dir, 0750);
	snprintf(path, sizeof(path), "%.1024s/images", d->cfg.state_dir);
	make_dir(path, 0750);
	snprintf(path, sizeof(path), "%.1024s/disks", d->cfg.state_dir);
	make_dir(path, 0750);
	snprintf(path, sizeof(path), "%.1024s/console", d->cfg.state_dir);
	make_dir(path, 0750);
	make_dir(d->cfg.run_dir, 0755);
	snprintf(path, sizeof(path), "%.1024s/shoald.db", d->cfg.state_dir);
	{
		/* Room for the recovery steps with their paths, and a list of backups. */
		char serr[6144];

		d->store = store_open(path, serr, sizeof(serr));
		if (!d->store)
			fatalx("%s", serr);
	}
	/* The store passed its check: the backup an operator restores if it is damaged later. */
	if (d->cfg.state_backups)
		store_backup(d->store, d->cfg.state_backups);

	d->loop = ev_default_loop(EVFLAG_AUTO);
	if (!d->loop)
		fatalx("cannot start the event loop");
	if (d->be_ops->init(&d->be, d->loop, &d->cfg, guest_backend_host(d), err, sizeof(err)) < 0)
		fatalx("%s", err);

	events_init(d);
	images_init(d);
	probe_init(d);
	if (placement_init(d, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (store_load_guests(d->store, load_guest, &lc) < 0)
		fatalx("cannot read guests from the state store");
	adopted = d->be_ops->adopt(d->be);
	/* Re-adopted guests first, with the placement they bring; then the rest are placed and
	 * started. */
	for (g = d->guests; g; g = g->next)
		if (guest_state_live(g->state))
			placement_guest_running(g, 1);
	for (g = d->guests; g; g = next) {
		next = g->next;
		/* A DELETE the last shoald began: its stop (if it still runs) and the removal. */
		if (g->delete_after_stop) {
			log_info("guest %s: finishing its deletion, begun before shoald stopped",
			         g->name);
			shoald_guest_delete(d, g->name, NULL);
			continue;
		}
		guest_lost_while_away(g);
		guest_converge(g);
	}
	log_info("shoald %s on %s: %u guests known, %d re-adopted, %u skipped", PACKAGE_VERSION,
	         d->be_ops->name, lc.loaded, adopted, lc.skipped);

	{
		struct api_config ac;

		api_config_of(d, &ac);
		d->api = api_start(d, d->loop, &ac, err, sizeof(err));
	}
	if (!d->api)
		fatalx("%s", err);
	if (dns_start(d, err, sizeof(err)) < 0)
		fatalx("%s", err);

	ev_timer_init(&d->cron, on_cron, 1. / CRON_HZ, 1. / CRON_HZ);
	d->cron.data = d;
	ev_timer_start(d->loop, &d->cron);
	ev_signal_init(&d->sig_term, on_stop_signal, SIGTERM);
	ev_signal_init(&d->sig_int, on_stop_signal, SIGINT);
	ev_signal_init(&d->sig_hup, on_hup, SIGHUP);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_hup);
	if (d->cfg.watchdog && sd_watchdog_enabled(0, &usec) > 0)
		d->watchdog_usec_half = (int)(usec / 2);
	sd_notifyf(0, "READY=1\nSTATUS=%u guests, %d re-adopted\nMAINPID=%d", d->nguests, adopted,
	           (int)getpid());
	if (d->cfg.listen_tcp[0])
		log_info("ready: API on %s and on TCP %s (TLS, bearer tokens)", d->cfg.socket_path,
		         d->cfg.listen_tcp);
	else
		log_info("ready: API on %s", d->cfg.socket_path);
	if (d->cfg.ui_dir[0] && access(d->cfg.ui_dir, R_OK | X_OK) < 0)
		log_warn("the dashboard (/ui/) is not served: cannot read ui-dir %s",
		         d->cfg.ui_dir);

	ev_run(d->loop, 0);

	api_stop(d->api);
	dns_stop(d);
	d->be_ops->fini(d->be);
	events_fini(d);
	while (d->guests)
		guest_free(d->guests);
	probe_fini(d);
	images_fini(d);
	placement_fini(d);
	store_close(d->store);
	return 0;
}
