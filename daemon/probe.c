/*
 * The probe engine: every running guest is sent a latency probe on its
 * event channel probe-hz times a second, one at a time, and the round
 * trip goes into the guest's metrics record.  A probe not answered within
 * probe-timeout-ms is a miss; hung-misses of them in a row make the guest
 * hung, and the supervisor acts on its restart policy (guest.c).
 *
 * The rate adapts.  A guest where nothing happens (its round trips well
 * under its SLO, its probes answered, not just started or moved, nothing
 * new on its CPU) is probed probe-hz-min times a second; one where
 * something happens is probed probe-hz times for the next 10 s (the
 * short window, so that it holds what happened at the full rate), its
 * next probe pulled in to within a period of that (probe_hasten): a
 * start or resume, a round trip over its SLO or two in a row over half
 * of it, a miss or a late answer, the end of its storm, and from
 * placement a move of it or of a guest on its CPU, a guest placed beside
 * it, its CPU's new role.  A cause placement cannot
 * see (a host process taking the CPU) shows in the next slow probe's
 * round trip, at most a slow period and its jitter later.
 *
 * One timer serves every guest: guests wait in a binary min-heap ordered
 * by their next deadline (the next probe to send, or the timeout of the
 * one outstanding), and the timer is armed for the heap's top.  Deadlines
 * that fall within PROBE_SLACK_NS of each other are served by one wake-up,
 * and whenever the loop is awake anyway (answers came, a request) it sends
 * what falls due within the slack before it sleeps again (an ev_prepare
 * watcher), so the timer itself seldom has to wake shoald: on these hosts
 * a wake-up costs more than the probes it serves.
 *
 * Whenever it sends, it also sends every probe that may go early: the
 * next probe of a guest at probe-hz-min may go up to a fiftieth of its
 * period ahead (PROBE_AHEAD_DIV: 10 ms at 2 Hz), found in the heap
 * without walking the rest of it (probe_heap_collect); a guest at
 * probe-hz, whose latency matters now, keeps the slack alone.  A probe some ms early is harmless
 * next to the period's own jitter, and the wake-up it saves was most of what it cost: at 2 Hz,
 * 1,000 guests' probes came one or two a wake-up (a wake-up to send, another for the answer), and
 * now come some twenty.  Timeouts are never taken early.
 *
 * Why a share of the period and not a fixed grid: the probes must not
 * line up.  The first probe of a guest goes at a random phase and each
 * period is jittered by +-20 %, so the guests in one wake-up's batch are
 * a random few of them, a different few each time, and no two batches
 * hold the same guests; a batch is the guests due within a fiftieth of a
 * period, so it holds a fiftieth of one period's probes (20 of 1,000
 * guests at any rate), not all of them.  A batch's probes go one write
 * after the other, a few us apart, to tenders spread over the CPUs; their
 * answers come back over some hundreds of us, while shoald still sends or
 * just after, and one epoll_wait of the answer set takes all that came
 * with one time stamp.  What the batch adds to a round trip is the wake-up
 * of the tenders sent before it on its CPU (some tens of us at 20), well
 * under any SLO, and the same for every guest, so that it does not shift
 * one guest against the others.  A batch waiting for its answers to
 * gather first would save wake-ups too, but would add its wait to every
 * round trip: each answer is stamped when the loop sees it.
 *
 * The protocol is one notification each way with no payload, so an answer
 * cannot say which probe it answers.  Only the outstanding probe can be
 * answered: an answer that comes when none is outstanding (the one that
 * timed out, answered late) is counted as late and dropped, and the next
 * probe is sent only after the outstanding one was answered or timed out.
 *
 * Storms.  Every notification that no probe asked for (an answer with no
 * probe outstanding, or more than one for a probe) is counted as
 * unsolicited.  A legitimate guest makes at most one a probe, and only
 * late answers, so at most probe-hz (<= 100) a second; more than
 * storm-rate of them within one second is a storm.  The engine then stops
 * listening to the guest (the backend's probe_listen op: on KVM its
 * eventfd leaves the answer set), so that the storm no longer wakes
 * shoald, and does not probe it: the outstanding probe is dropped, counted
 * neither as answered nor as missed.  After a back-off (1 s, doubling
 * while the storm goes on, at most 16 s) it asks the backend how many
 * notifications came meanwhile: still over storm-rate, it stays deaf for
 * the next back-off; under it, the storm is over and probing resumes.  A
 * backend that cannot count (Xen) is listened to again and the detector
 * decides within a second.  A storm that lasts storm-restart-s stops the
 * guest, and its restart policy decides (guest_stormed()).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "metrics/metrics.h"

#define PROBE_SLACK_NS  500000ull /* deadlines this close are served together */
#define PROBE_AHEAD_DIV 50        /* a timer wake-up sends probes up to 1/50 period early */
#define HEAP_NONE       PROBE_HEAP_NONE

#define STORM_WINDOW_NS      1000000000ull  /* unsolicited notifications counted per window */
#define STORM_BACKOFF_NS     1000000000ull  /* not listened to, first */
#define STORM_BACKOFF_MAX_NS 16000000000ull /* ... and at most, doubling in between */

#define FAST_HOLD_NS 10000000000ull /* probed at probe-hz this long after something happened */

static uint64_t period_ns(const struct shoald *d)
{
	return 1000000000ull / d->cfg.probe_hz;
}

static int adaptive(const struct shoald *d)
{
	return d->cfg.probe_hz_min && d->cfg.probe_hz_min < d->cfg.probe_hz;
}

int probe_is_fast(const struct guest *g, uint64_t now)
{
	return !adaptive(g->d) || now < g->probe.fast_until_ns;
}

/* The guest's period now: probe-hz's, or probe-hz-min's when nothing happened lately. */
static uint64_t guest_period_ns(const struct guest *g, uint64_t now)
{
	return probe_is_fast(g, now) ? period_ns(g->d) : 1000000000ull / g->d->cfg.probe_hz_min;
}

/* xorshift64*: jitter needs no quality, only to differ between guests. */
static uint64_t rnd(struct shoald *d)
{
	uint64_t x = d->probes.rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->probes.rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A uniform fraction of span_ns. */
static uint64_t rnd_below(struct shoald *d, uint64_t span_ns)
{
	return span_ns ? (rnd(d) >> 11) % span_ns : 0;
}

static uint64_t deadline(const struct guest *g)
{
	if (g->probe.muted)
		return g->probe.storm_until_ns;
	return g->probe.sent_ns ? g->probe.sent_ns + g->d->cfg.probe_timeout_ms * 1000000ull
	                        : g->probe.due_ns;
}

/* ---- the heap (probe_heap.c), keyed on each guest's deadline ---- */

/* The guest's deadline changed: store the new key and restore the order. */
static void heap_fix(struct probe_engine *e, struct guest *g)
{
	probe_heap_update(&e->heap, g->probe.heap_idx, deadline(g));
}

static int heap_push(struct probe_engine *e, struct guest *g)
{
	return probe_heap_insert(&e->heap, deadline(g), g);
}

static void heap_remove(struct probe_engine *e, struct guest *g)
{
	probe_heap_remove(&e->heap, g->probe.heap_idx);
}

/* ---- the timer ---- */

static void arm(struct shoald *d)
{
	struct probe_engine *e = &d->probes;
	uint64_t top, now;
	double after;

	if (!e->heap.len) {
		ev_timer_stop(d->loop, &e->timer);
		e->armed_ns = 0;
		return;
	}
	top = e->heap.slot[0].key;
	if (ev_is_active(&e->timer) && e->armed_ns <= top)
		return; /* it fires early enough; it re-arms then */
	now = now_mono_ns();
	after = top > now ? (double)(top - now) / 1e9 : 0.;
	ev_timer_stop(d->loop, &e->timer);
	ev_timer_set(&e->timer, after, 0.);
	ev_timer_start(d->loop, &e->timer);
	e->armed_ns = top;
}

static void probe_send(struct guest *g, uint64_t now)
{
	struct shoald *d = g->d;
	uint64_t period = guest_period_ns(g, now);
	char err[256];

	/* The next one is due a jittered period after this one was due. */
	g->probe.due_ns += period - period / 5 + rnd_below(d, 2 * (period / 5));
	if (g->probe.due_ns < now)
		g->probe.due_ns = now + rnd_below(d, period / 5);
	/*
	 * Take the answers already waiting first, once in each loop iteration
	 * that sends (the probe op's contract, backend.h): one that came after
	 * its probe timed out would pass for this probe's answer at once.
	 * Taken now, it answers an outstanding probe or counts as late (this
	 * guest's own is late: its probe is not sent yet).
	 */
	if (d->probes.drained_iter != ev_iteration(d->loop)) {
		d->probes.drained_iter = ev_iteration(d->loop);
		d->be_ops->probe_drain(d->be);
	}
	g->probe.sent_ns = now_mono_ns();
	if (d->be_ops->probe(d->be, g, err, sizeof(err)) < 0) {
		g->probe.sent_ns = 0;
		g->probe.send_errors++;
		d->probes.send_errors++;
		log_debug("guest %s: probe not sent: %s", g->name, err);
		return;
	}
	g->probe.sent++;
	d->probes.sent++;
}

static void probe_timed_out(struct guest *g, uint64_t now)
{
	struct shoald *d = g->d;

	g->probe.sent_ns = 0;
	g->probe.missed++;
	g->probe.consecutive_misses++;
	d->probes.missed++;
	metrics_guest_miss(g->probe.lat, now);
	probe_hasten(g, "a probe was missed");
	if (g->probe.consecutive_misses == d->cfg.hung_misses && !g->probe.hung) {
		g->probe.hung = 1;
		guest_hung(g); /* may stop probing it */
	}
}

/* ---- storms ---- */

static void listen_to(struct guest *g, int on, long long *count)
{
	struct shoald *d = g->d;
	long long n = -1;

	if (d->be_ops->probe_listen)
		n = d->be_ops->probe_listen(d->be, g, on);
	g->probe.deaf = !on;
	if (count)
		*count = n;
}

static void storm_flag(struct guest *g, int on)
{
	if (g->probe.storming == on)
		return;
	g->probe.storming = on;
	if (on)
		g->d->probes.storming++;
	else
		g->d->probes.storming--;
}

/*
 * Stop listening to the guest for its back-off, never past the moment
 * storm-restart-s is reached (it is stopped then).  Called from the
 * backend's answer path too: it only changes the guest's deadline.
 */
static void storm_mute(struct guest *g, uint64_t now)
{
	struct shoald *d = g->d;
	uint64_t until = now + g->probe.storm_backoff_ns;
	uint64_t limit = d->cfg.storm_restart_s * 1000000000ull;

	if (limit && g->probe.storm_since_ns + limit > now &&
	    g->probe.storm_since_ns + limit < until)
		until = g->probe.storm_since_ns + limit;
	else if (limit && g->probe.storm_since_ns + limit <= now)
		g->probe.storm_ending = 1;
	listen_to(g, 0, NULL);
	g->probe.muted = 1;
	g->probe.sent_ns = 0; /* neither answered nor missed */
	g->probe.storm_muted_ns = now;
	g->probe.storm_until_ns = g->probe.storm_ending ? now : until;
	if (g->probe.heap_idx != HEAP_NONE)
		heap_fix(&d->probes, g);
	arm(d);
}

static void storm_end(struct guest *g, uint64_t now, double rate)
{
	struct shoald *d = g->d;

	storm_flag(g, 0);
	g->probe.storm_rate = rate;
	g->probe.win_start_ns = now;
	g->probe.win_unsolicited = 0;
	probe_hasten(g, "its storm is over");
	event_emit(d, "storm_end", g->name,
	           "guest %s: its storm is over after %.1f s (%.0f unsolicited notifications/s "
	           "now, storm-rate %u); probing it again",
	           g->name, (double)(now - g->probe.storm_since_ns) / 1e9, rate, d->cfg.storm_rate);
}

/* n unsolicited notifications at now: count them, and see whether they make a storm. */
static void unsolicited(struct guest *g, uint64_t now, uint64_t n)
{
	struct shoald *d = g->d;
	uint64_t el, n_win, win_start;
	double rate;

	g->probe.unsolicited += n;
	d->probes.unsolicited += n;
	if (!d->cfg.storm_rate || g->probe.muted || g->probe.heap_idx == HEAP_NONE)
		return;
	if (now - g->probe.win_start_ns >= STORM_WINDOW_NS) {
		g->probe.win_start_ns = now;
		g->probe.win_unsolicited = 0;
	}
	g->probe.win_unsolicited += n;
	if (g->probe.win_unsolicited <=
	    (uint64_t)d->cfg.storm_rate * STORM_WINDOW_NS / 1000000000ull)
		return;
	/* The window's rate so far (a fast storm is caught within milliseconds). */
	el = now - g->probe.win_start_ns;
	if (el < 1000000ull)
		el = 1000000ull;
	rate = (double)g->probe.win_unsolicited * 1e9 / (double)el;
	g->probe.storm_rate = rate;
	n_win = g->probe.win_unsolicited;
	win_start = g->probe.win_start_ns;
	g->probe.win_unsolicited = 0;
	g->probe.win_start_ns = now;
	if (!g->probe.storming) {
		storm_flag(g, 1);
		g->probe.storms++;
		d->probes.storms++;
		g->probe.storm_since_ns = now;
		g->probe.storm_backoff_ns = STORM_BACKOFF_NS;
		g->probe.storm_ending = 0;
		event_emit(
		    d, "storm", g->name,
		    "guest %s: its probe port storms: %llu unsolicited notifications in %.1f "
		    "ms (%.0f/s, storm-rate %u); not listening to it for %.1f s",
		    g->name, (unsigned long long)n_win, (double)(now - win_start) / 1e6, rate,
		    d->cfg.storm_rate, (double)g->probe.storm_backoff_ns / 1e9);
	} else {
		/* Listened to again (the backend could not count) and it still storms. */
		g->probe.storm_backoff_ns *= 2;
		if (g->probe.storm_backoff_ns > STORM_BACKOFF_MAX_NS)
			g->probe.storm_backoff_ns = STORM_BACKOFF_MAX_NS;
		log_info("guest %s: still storming at %.0f notifications/s; not listening to it "
		         "for %.1f s",
		         g->name, rate, (double)g->probe.storm_backoff_ns / 1e9);
	}
	storm_mute(g, now);
}

/* Past storm-restart-s: the supervisor stops it, deaf to it meanwhile. */
static void storm_stop(struct guest *g, uint64_t now, double lasted_s, double rate)
{
	g->probe.storm_ending = 0;
	g->probe.muted = 1;
	guest_stormed(g, lasted_s, rate); /* stops probing it */
	/* Not stopped (it was not running after all): check again a back-off later. */
	g->probe.storm_until_ns = now + g->probe.storm_backoff_ns;
	g->probe.storm_muted_ns = now;
}

/*
 * The guest's back-off is over: how many notifications came while it was
 * not listened to decides whether the storm goes on.
 */
static void storm_check(struct guest *g, uint64_t now)
{
	struct shoald *d = g->d;
	double muted_s = (double)(now - g->probe.storm_muted_ns) / 1e9;
	double lasted_s = (double)(now - g->probe.storm_since_ns) / 1e9;
	long long n = -1;
	double rate;

	if (g->probe.storm_ending) {
		/* Re-detected while listened to again, past storm-restart-s. */
		storm_stop(g, now, lasted_s, g->probe.storm_rate);
		return;
	}
	listen_to(g, 1, &n);
	g->probe.muted = 0;
	if (n > 0) {
		g->probe.unsolicited += (uint64_t)n;
		d->probes.unsolicited += (uint64_t)n;
	}
	rate = n >= 0 && muted_s > 0 ? (double)n / muted_s : 0.;
	if (n >= 0 && rate > (double)d->cfg.storm_rate) {
		g->probe.storm_rate = rate;
		if (d->cfg.storm_restart_s && lasted_s + 0.001 >= (double)d->cfg.storm_restart_s) {
			listen_to(g, 0, NULL);
			storm_stop(g, now, lasted_s, rate);
			return;
		}
		g->probe.storm_backoff_ns *= 2;
		if (g->probe.storm_backoff_ns > STORM_BACKOFF_MAX_NS)
			g->probe.storm_backoff_ns = STORM_BACKOFF_MAX_NS;
		log_debug("guest %s: still storming: %lld notifications in %.1f s (%.0f/s); not "
		          "listening to it for %.1f s",
		          g->name, n, muted_s, rate, (double)g->probe.storm_backoff_ns / 1e9);
		storm_mute(g, now);
		return;
	}
	/* Probe it again, at a random phase, as a guest that just started. */
	g->probe.sent_ns = 0;
	g->probe.due_ns = now + rnd_below(d, period_ns(d));
	g->probe.win_start_ns = now;
	g->probe.win_unsolicited = 0;
	if (n >= 0)
		storm_end(g, now, rate);
	else
		g->probe.storm_check_until_ns = now + STORM_WINDOW_NS;
}

/*
 * How early a wake-up may send the guest's next probe: PROBE_AHEAD_DIV of
 * its period for a guest at probe-hz-min, the slack alone for one at
 * probe-hz.  A guest probed at the full rate is one whose latency
 * matters now (near or over its SLO, just placed or moved, its CPU
 * changed): its round trips are kept free of what a batch's other
 * wake-ups on its CPU add.
 */
static uint64_t ahead_ns(const struct guest *g, uint64_t now)
{
	uint64_t a;

	if (probe_is_fast(g, now))
		return PROBE_SLACK_NS;
	a = guest_period_ns(g, now) / PROBE_AHEAD_DIV;
	return a > PROBE_SLACK_NS ? a : PROBE_SLACK_NS;
}

/*
 * Probes go now (a wake-up is paid for): with them, every probe that may
 * go early (ahead_ns), so that the next wake-up is that much later.  The
 * heap holds them all under the slowest guest's reach; those within their
 * own reach go, the others (a fast guest due beyond its own) wait.
 */
static void send_ahead(struct shoald *d, uint64_t now)
{
	struct probe_engine *e = &d->probes;
	uint32_t n, i, want;
	uint64_t reach = 1000000000ull / d->cfg.probe_hz_min / PROBE_AHEAD_DIV;

	/* Only guests at probe-hz-min go early (ahead_ns): none at a fixed rate. */
	if (!adaptive(d) || reach <= PROBE_SLACK_NS || !e->heap.len ||
	    e->heap.slot[0].key > now + reach)
		return;
	want = e->heap.len;
	if (want > e->batch_cap) {
		void **b = realloc(e->batch, want * sizeof(*b));

		if (b) {
			e->batch = b;
			e->batch_cap = want;
		}
	}
	n = probe_heap_collect(&e->heap, now + reach, e->batch, e->batch_cap);
	for (i = 0; i < n; i++) {
		struct guest *g = e->batch[i];

		/* Sending one may take answers (probe_drain): look at each as it is now. */
		if (g->probe.heap_idx == HEAP_NONE || g->probe.muted || g->probe.sent_ns ||
		    g->probe.storming || g->probe.due_ns > now + ahead_ns(g, now))
			continue;
		probe_send(g, now);
		if (g->probe.heap_idx != HEAP_NONE)
			heap_fix(e, g);
	}
}

/*
 * Send and time out what falls due within the slack, send what may go
 * early with it (send_ahead), then arm the timer.
 */
static void run_due(struct shoald *d)
{
	struct probe_engine *e = &d->probes;
	uint64_t now = now_mono_ns();

	while (e->heap.len && e->heap.slot[0].key <= now + PROBE_SLACK_NS) {
		struct guest *g = e->heap.slot[0].item;

		if (g->probe.muted) {
			storm_check(g, now);
		} else if (g->probe.sent_ns) {
			probe_timed_out(g, now);
		} else {
			/* Listened to again for a second (uncounted) and it stayed calm. */
			if (g->probe.storming && now >= g->probe.storm_check_until_ns)
				storm_end(g, now,
				          (double)g->probe.win_unsolicited * 1e9 /
				              (double)(now > g->probe.win_start_ns
				                           ? now - g->probe.win_start_ns
				                           : 1));
			probe_send(g, now);
		}
		if (g->probe.heap_idx != HEAP_NONE)
			heap_fix(e, g);
	}
	send_ahead(d, now);
	arm(d);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct shoald *d = t->data;

	(void)loop;
	(void)revents;
	d->probes.armed_ns = 0;
	d->probes.wakeups++;
	run_due(d);
}

const unsigned LOOP_HELD_MS[LOOP_HELD_BOUNDS] = { 10, 50, 200 };

/* The loop woke: its work starts now. */
static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
	struct shoald *d = w->data;

	(void)loop;
	(void)revents;
	d->probes.woke_ns = now_mono_ns();
}

/* The loop is about to sleep: serve what is nearly due now rather than wake for it. */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct shoald *d = w->data;
	struct probe_engine *e = &d->probes;
	uint64_t now = now_mono_ns();
	unsigned i;

	(void)loop;
	(void)revents;
	if (e->heap.len && e->heap.slot[0].key <= now + PROBE_SLACK_NS) {
		run_due(d);
		now = now_mono_ns();
	}
	if (e->woke_ns && now >= e->woke_ns) {
		uint64_t held = now - e->woke_ns;

		e->iterations++;
		if (held > e->held_max_ns)
			e->held_max_ns = held;
		for (i = 0; i < LOOP_HELD_BOUNDS; i++)
			e->held_over[i] += held > LOOP_HELD_MS[i] * 1000000ull;
	}
	e->woke_ns = 0;
}

/* ---- what the rest of the daemon calls ---- */

void probe_init(struct shoald *d)
{
	struct probe_engine *e = &d->probes;

	memset(e, 0, sizeof(*e));
	probe_heap_init(&e->heap, offsetof(struct guest, probe.heap_idx));
	e->rng = now_mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	if (!e->rng)
		e->rng = 1;
	ev_timer_init(&e->timer, on_timer, 0., 0.);
	e->timer.data = d;
	ev_prepare_init(&e->prepare, on_prepare);
	e->prepare.data = d;
	ev_prepare_start(d->loop, &e->prepare);
	ev_check_init(&e->check, on_check);
	e->check.data = d;
	ev_check_start(d->loop, &e->check);
}

void probe_fini(struct shoald *d)
{
	ev_timer_stop(d->loop, &d->probes.timer);
	ev_prepare_stop(d->loop, &d->probes.prepare);
	ev_check_stop(d->loop, &d->probes.check);
	probe_heap_free(&d->probes.heap);
	free(d->probes.batch);
	d->probes.batch = NULL;
	d->probes.batch_cap = 0;
}

int probe_guest_init(struct guest *g)
{
	g->probe.heap_idx = HEAP_NONE;
	/* Room for the jitter: a second may hold a few more probes than probe-hz. */
	return metrics_guest_new(g->d->cfg.probe_hz + g->d->cfg.probe_hz / 4 + 1, &g->probe.lat);
}

void probe_guest_free(struct guest *g)
{
	probe_guest_stop(g);
	metrics_guest_free(g->probe.lat);
	g->probe.lat = NULL;
}

void probe_guest_start(struct guest *g)
{
	struct shoald *d = g->d;
	uint64_t now;

	if (!d->cfg.probe_hz || g->probe.heap_idx != HEAP_NONE)
		return;
	now = now_mono_ns();
	g->probe.sent_ns = 0;
	g->probe.consecutive_misses = 0;
	g->probe.near = 0;
	g->probe.hung = 0;
	g->probe.win_start_ns = now;
	g->probe.win_unsolicited = 0;
	/* Stopped while it stormed (paused, or a new instance): listen to it again. */
	if (g->probe.deaf)
		listen_to(g, 1, NULL);
	/* A random phase within the first period; the full rate while its windows fill. */
	g->probe.due_ns = now + rnd_below(d, period_ns(d));
	g->probe.fast_until_ns = now + FAST_HOLD_NS;
	snprintf(g->probe.fast_why, sizeof(g->probe.fast_why), "it started");
	if (heap_push(&d->probes, g) < 0) {
		log_warnx("guest %s: out of memory: it will not be probed", g->name);
		return;
	}
	arm(d);
}

void probe_guest_soon(struct guest *g)
{
	if (g->probe.heap_idx == HEAP_NONE || g->probe.sent_ns || g->probe.muted ||
	    g->probe.storm_check_until_ns)
		return;
	g->probe.due_ns = now_mono_ns();
	heap_fix(&g->d->probes, g);
	arm(g->d);
}

void probe_guest_stop(struct guest *g)
{
	if (g->probe.heap_idx == HEAP_NONE)
		return;
	heap_remove(&g->d->probes, g);
	g->probe.sent_ns = 0;
	/*
	 * A storm ends with the run (or the pause); the backend stays deaf to
	 * it until probing starts again, so that a storming guest being
	 * stopped costs nothing meanwhile.
	 */
	if (g->probe.storming)
		log_info("guest %s: no longer probed while its events storm", g->name);
	storm_flag(g, 0);
	g->probe.muted = 0;
	g->probe.storm_ending = 0;
	/* The timer may now fire for nothing; it re-arms itself then. */
}

uint64_t probe_answer(struct guest *g, uint64_t now_ns, uint64_t n)
{
	struct shoald *d = g->d;
	uint64_t rtt;

	if (!n)
		return 0;
	if (g->probe.muted || !g->probe.sent_ns || g->probe.heap_idx == HEAP_NONE) {
		if (!g->probe.muted) {
			g->probe.late++;
			d->probes.late++;
			if (!g->probe.storming && g->probe.heap_idx != HEAP_NONE &&
			    !probe_is_fast(g, now_ns))
				probe_hasten(g, "an answer came late");
		}
		unsolicited(g, now_ns, n);
		return n;
	}
	rtt = now_ns > g->probe.sent_ns ? now_ns - g->probe.sent_ns : 0;
	metrics_guest_rtt(g->probe.lat, now_ns, rtt);
	g->probe.last_rtt_ns = rtt;
	g->probe.sent_ns = 0;
	g->probe.answered++;
	g->probe.consecutive_misses = 0;
	g->probe.last_answer_ns = now_ns;
	d->probes.answered++;
	if (g->probe.hung) {
		g->probe.hung = 0;
		event_emit(d, "responsive", g->name, "guest %s answers its probes again", g->name);
	}
	/*
	 * Over its SLO, or near it (half of it or more) twice in a row (one
	 * such round trip now and then is a host's noise): watched closely
	 * while it is.
	 */
	if (g->spec.slo_us) {
		uint64_t slo = (uint64_t)g->spec.slo_us * 1000ull;

		g->probe.near = rtt * 2 >= slo ? g->probe.near + 1 : 0;
		if (rtt >= slo || g->probe.near >= 2) {
			char why[112];

			snprintf(why, sizeof(why), "a round trip of %.0f us, %s its SLO of %u us",
			         (double)rtt / 1e3,
			         rtt >= slo ? "over" : "the second in a row near", g->spec.slo_us);
			probe_hasten(g, why);
		}
	}
	heap_fix(&d->probes, g);
	arm(d);
	if (n > 1)
		unsolicited(g, now_ns, n - 1);
	return n - 1;
}

void probe_hasten(struct guest *g, const char *why)
{
	struct shoald *d = g->d;
	uint64_t now = now_mono_ns(), fast = period_ns(d);

	if (!adaptive(d))
		return;
	if (now >= g->probe.fast_until_ns) {
		d->probes.hastened++;
		log_debug("guest %s: probed %u times a second for %.0f s: %s", g->name,
		          d->cfg.probe_hz, (double)FAST_HOLD_NS / 1e9, why);
	}
	g->probe.fast_until_ns = now + FAST_HOLD_NS;
	snprintf(g->probe.fast_why, sizeof(g->probe.fast_why), "%s", why);
	/* Its next probe within a full-rate period, not the slow one's. */
	if (g->probe.heap_idx != HEAP_NONE && !g->probe.sent_ns && !g->probe.muted &&
	    g->probe.due_ns > now + fast) {
		g->probe.due_ns = now + rnd_below(d, fast);
		heap_fix(&d->probes, g);
		arm(d);
	}
}

/* ---- JSON ---- */

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static json_t *window_json(const struct metrics_window *w)
{
	return json_pack("{s:f, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:b}", "window_s",
	                 (double)w->window_ns / 1e9, "samples", (json_int_t)w->samples, "misses",
	                 (json_int_t)w->misses, "min_us", us(w->min_ns), "p50_us", us(w->p50_ns),
	                 "p90_us", us(w->p90_ns), "p99_us", us(w->p99_ns), "p999_us",
	                 us(w->p999_ns), "max_us", us(w->max_ns), "truncated", w->truncated);
}

/* The guest's unsolicited notifications and storms, for its latency. */
static json_t *storm_json(const struct guest *g, uint64_t now)
{
	json_t *j = json_pack("{s:b, s:I, s:I, s:f}", "storming", g->probe.storming, "unsolicited",
	                      (json_int_t)g->probe.unsolicited, "storms",
	                      (json_int_t)g->probe.storms, "rate", g->probe.storm_rate);

	if (j && g->probe.storming) {
		json_object_set_new(j, "since_s",
		                    json_real((double)(now - g->probe.storm_since_ns) / 1e9));
		json_object_set_new(j, "listening", json_boolean(!g->probe.muted));
		if (g->probe.muted)
			json_object_set_new(
			    j, "deaf_for_s",
			    json_real(g->probe.storm_until_ns > now
			                  ? (double)(g->probe.storm_until_ns - now) / 1e9
			                  : 0.));
	}
	return j ? j : json_null();
}

json_t *probe_summary_json(struct guest *g)
{
	struct metrics_window w;
	json_t *j;

	if (!g->probe.lat ||
	    metrics_guest_window(g->probe.lat, now_mono_ns(), METRICS_WINDOW_SHORT_NS, &w) < 0 ||
	    (!w.samples && !w.misses && !g->probe.storming))
		return json_null();
	j = window_json(&w);
	if (j) {
		json_object_set_new(j, "hung", json_boolean(g->probe.hung));
		json_object_set_new(j, "storming", json_boolean(g->probe.storming));
	}
	return j ? j : json_null();
}

json_t *probe_latency_json(struct guest *g, uint64_t bucket_window_ns)
{
	static const uint64_t win[2] = { METRICS_WINDOW_SHORT_NS, METRICS_WINDOW_LONG_NS };
	struct shoald *d = g->d;
	struct metrics_window w[2];
	struct metrics_guest_counters c;
	struct metrics_hist *h;
	struct metrics_bucket b;
	uint64_t now = now_mono_ns();
	unsigned pos = 0;
	json_t *j, *buckets;

	if (metrics_guest_windows(g->probe.lat, now, 2, win, w) < 0)
		return NULL;
	metrics_guest_counters(g->probe.lat, &c);
	h = malloc(sizeof(*h));
	buckets = json_array();
	if (h && buckets) {
		metrics_hist_init(h);
		if (bucket_window_ns)
			metrics_guest_window_hist(g->probe.lat, now, bucket_window_ns, h);
		else
			metrics_guest_hist(g->probe.lat, h);
		while (metrics_hist_next(h, &pos, &b))
			json_array_append_new(buckets, json_pack("{s:f, s:f, s:I}", "lo_us",
			                                         us(b.lo_ns), "hi_us", us(b.hi_ns),
			                                         "count", (json_int_t)b.count));
	}
	free(h);
	j = json_pack(
	    "{s:s, s:s, s:I, s:I, s:b, s:I, s:{s:o, s:o}, s:{s:I, s:I, s:I, s:I, s:f}, s:s, s:o}",
	    "name", g->name, "state", guest_state_str(g->state), "probe_hz",
	    (json_int_t)d->cfg.probe_hz, "probe_timeout_ms", (json_int_t)d->cfg.probe_timeout_ms,
	    "hung", g->probe.hung, "consecutive_misses", (json_int_t)g->probe.consecutive_misses,
	    "windows", "10s", window_json(&w[0]), "60s", window_json(&w[1]), "total", "sent",
	    (json_int_t)g->probe.sent, "samples", (json_int_t)c.samples, "misses",
	    (json_int_t)c.misses, "late", (json_int_t)g->probe.late, "mean_us",
	    c.samples ? us(c.sum_ns) / (double)c.samples : 0., "buckets_window",
	    bucket_window_ns == METRICS_WINDOW_SHORT_NS ? "10s"
	    : bucket_window_ns                          ? "60s"
	                                                : "all",
	    "buckets", buckets ? buckets : json_array());
	if (j) {
		int fast = probe_is_fast(g, now);

		json_object_set_new(j, "storm", storm_json(g, now));
		json_object_set_new(j, "probe_rate_hz",
		                    json_integer(fast ? (json_int_t)d->cfg.probe_hz
		                                      : (json_int_t)d->cfg.probe_hz_min));
		json_object_set_new(j, "probe_fast",
		                    fast && adaptive(d)
		                        ? json_pack("{s:s, s:f}", "reason", g->probe.fast_why,
		                                    "for_s",
		                                    (double)(g->probe.fast_until_ns - now) / 1e9)
		                        : json_null());
	}
	return j;
}
