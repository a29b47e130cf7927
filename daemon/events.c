/*
 * The event log: what happened to which guest and what shoald did about
 * it.  Recent events stay in a ring in memory for followers and quick
 * reads; all go to the state store (pruned to the newest ones) and to the
 * log.  Ids increase across daemon restarts, so a follower can resume.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

#define RING_EVENTS 2048

struct event_rec {
	uint64_t id;
	uint64_t time_ns;
	char type[24];
	char guest[GUEST_NAME_MAX + 1];
	char message[512];
};

static json_t *rec_json(const struct event_rec *e)
{
	time_t t = (time_t)(e->time_ns / 1000000000u);
	char when[40];
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	n = (int)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - (size_t)n, ".%03uZ",
	         (unsigned)(e->time_ns / 1000000u % 1000u));
	return json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)e->id, "time", when, "type",
	                 e->type, "guest", e->guest, "message", e->message);
}

static void ring_push(struct shoald *d, uint64_t id, uint64_t time_ns, const char *type,
                      const char *guest, const char *message)
{
	struct event_rec *e;

	if (d->ev_ring_len == d->ev_ring_cap) {
		d->ev_ring_head = (d->ev_ring_head + 1) % d->ev_ring_cap;
		d->ev_ring_len--;
	}
	e = &d->ev_ring[(d->ev_ring_head + d->ev_ring_len) % d->ev_ring_cap];
	d->ev_ring_len++;
	e->id = id;
	e->time_ns = time_ns;
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->guest, sizeof(e->guest), "%s", guest ? guest : "");
	snprintf(e->message, sizeof(e->message), "%s", message);
}

static void load_one(void *ctx, uint64_t id, uint64_t time_ns, const char *type, const char *guest,
                     const char *message)
{
	ring_push(ctx, id, time_ns, type, guest, message);
}

void events_init(struct shoald *d)
{
	d->ev_ring_cap = RING_EVENTS;
	d->ev_ring = calloc(d->ev_ring_cap, sizeof(*d->ev_ring));
	if (!d->ev_ring)
		fatalx("out of memory");
	d->next_event_id = store_last_event_id(d->store) + 1;
	store_events(d->store, 0, RING_EVENTS, load_one, d);
}

void events_fini(struct shoald *d)
{
	struct shoald_sub *s;

	while ((s = d->ev_subs)) {
		d->ev_subs = s->next;
		free(s);
	}
	free(d->ev_ring);
	d->ev_ring = NULL;
}

void event_emit(struct shoald *d, const char *type, const char *guest, const char *fmt, ...)
{
	struct shoald_sub *s, *next;
	const struct event_rec *e;
	char msg[512];
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s", msg);
	ring_push(d, d->next_event_id, now_wall_ns(), type, guest, msg);
	e = &d->ev_ring[(d->ev_ring_head + d->ev_ring_len - 1) % d->ev_ring_cap];
	d->next_event_id++;
	if (store_event(d->store, e->id, e->time_ns, e->type, e->guest, e->message) < 0)
		log_warnx("could not record event %llu in the store", (unsigned long long)e->id);
	if (!d->ev_subs)
		return;
	j = rec_json(e);
	for (s = d->ev_subs; s; s = next) {
		next = s->next;
		s->event_fn(s->ctx, j);
	}
	json_decref(j);
}

json_t *shoald_events_json(struct shoald *d, uint64_t since, unsigned limit)
{
	json_t *a = json_array();
	unsigned i, first = 0;

	if (!limit || limit > d->ev_ring_cap)
		limit = d->ev_ring_cap;
	if (!since && d->ev_ring_len > limit)
		first = d->ev_ring_len - limit;
	for (i = first; i < d->ev_ring_len && json_array_size(a) < limit; i++) {
		const struct event_rec *e = &d->ev_ring[(d->ev_ring_head + i) % d->ev_ring_cap];

		if (e->id > since)
			json_array_append_new(a, rec_json(e));
	}
	return a;
}

struct shoald_sub *shoald_events_follow(struct shoald *d, uint64_t since, int latency,
                                        void (*fn)(void *ctx, const json_t *ev), void *ctx)
{
	struct shoald_sub *s = calloc(1, sizeof(*s));
	unsigned i;

	if (!s)
		return NULL;
	for (i = 0; i < d->ev_ring_len; i++) {
		const struct event_rec *e = &d->ev_ring[(d->ev_ring_head + i) % d->ev_ring_cap];

		if (e->id > since) {
			json_t *j = rec_json(e);

			fn(ctx, j);
			json_decref(j);
		}
	}
	s->event_fn = fn;
	s->ctx = ctx;
	s->latency = latency;
	s->next = d->ev_subs;
	d->ev_subs = s;
	return s;
}

void shoald_unsubscribe(struct shoald *d, struct shoald_sub *s)
{
	struct shoald_sub **pp;

	if (!s)
		return;
	if (s->console) {
		console_unsubscribe(s->console, s);
		return;
	}
	for (pp = &d->ev_subs; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			free(s);
			return;
		}
}

int shoald_console_read(struct shoald *d, const char *name, size_t tail, char **buf, size_t *len,
                        struct sd_err *err)
{
	struct guest *g = guest_find(d, name);

	if (!g)
		return sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s",
		                  name);
	*buf = console_tail(g->console, tail, len);
	if (!*buf)
		return sd_err_set(err, 500, "internal", "", "out of memory");
	return 0;
}

struct shoald_sub *shoald_console_follow(struct shoald *d, const char *name,
                                         void (*fn)(void *ctx, const char *data, size_t len),
                                         void *ctx, struct sd_err *err)
{
	struct guest *g = guest_find(d, name);
	struct shoald_sub *s;

	if (!g) {
		sd_err_set(err, 404, "no_such_guest", "name", "there is no guest named %s", name);
		return NULL;
	}
	s = console_subscribe(g->console, fn, ctx);
	if (!s)
		sd_err_set(err, 500, "internal", "", "out of memory");
	return s;
}

/*
 * The latency summary: once a second, every guest's 10 s probe window, to
 * the followers that asked for it (/v1/events?latency=1).  A figure of the
 * moment rather than something that happened, so it has id 0 and is not
 * kept in the ring, the store or the log; a dashboard draws its series
 * from these without polling every guest's latency.
 */
void events_latency_summary(struct shoald *d)
{
	struct shoald_sub *s, *next;
	struct guest *g;
	json_t *guests, *j;
	uint64_t now = now_wall_ns();
	struct event_rec e = { .id = 0 };
	unsigned n = 0;

	for (s = d->ev_subs; s; s = s->next)
		if (s->latency)
			break;
	if (!s)
		return;
	guests = json_array();
	for (g = d->guests; g; g = g->next) {
		json_t *w = probe_summary_json(g), *one;

		one = json_pack("{s:s, s:s, s:s, s:I}", "name", g->name, "state",
		                guest_state_str(g->state), "class",
		                latency_class_str(g->spec.latency_class), "slo_us",
		                (json_int_t)g->spec.slo_us);
		if (one && json_is_object(w)) {
			static const char *const keys[] = { "samples", "misses",   "p50_us",
				                            "p90_us",  "p99_us",   "max_us",
				                            "hung",    "storming", NULL };
			unsigned i;

			for (i = 0; keys[i]; i++)
				json_object_set(one, keys[i], json_object_get(w, keys[i]));
		}
		json_decref(w);
		if (one) {
			json_array_append_new(guests, one);
			n++;
		}
	}
	e.time_ns = now;
	snprintf(e.type, sizeof(e.type), "latency");
	snprintf(e.message, sizeof(e.message), "latency of %u guest%s over the last 10 s", n,
	         n == 1 ? "" : "s");
	j = rec_json(&e);
	if (!j) {
		json_decref(guests);
		return;
	}
	json_object_set_new(j, "guests", guests);
	for (s = d->ev_subs; s; s = next) {
		next = s->next;
		if (s->latency)
			s->event_fn(s->ctx, j);
	}
	json_decref(j);
}
