/*
 * shoald's public interface: what the API (api/) may call.  Everything
 * here runs on the daemon's one event loop; nothing blocks.  Functions
 * that answer with JSON return a new reference the caller owns.  Errors
 * come back in a struct sd_err (HTTP status, stable code, field, sentence).
 *
 * Requests that finish later (a deploy that waits until its guest runs,
 * a stop that waits until it has stopped) take a callback and return a
 * handle; the callback runs once, from the loop, unless the handle is
 * cancelled first (the client went away).
 */
#ifndef SHOALD_SHOALD_H
#define SHOALD_SHOALD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/spec.h"

struct shoald;
struct shoald_wait;
struct shoald_sub;
struct shoald_upload;

/* A finished request: HTTP status and body (ownership passes to the callee). */
typedef void (*shoald_done_fn)(void *ctx, int http, json_t *body);

/* ---- host and limits ---- */

json_t *shoald_host_json(struct shoald *d);
size_t shoald_max_body_bytes(const struct shoald *d);
uint64_t shoald_max_image_bytes(const struct shoald *d);

/* ---- guests ---- */

/*
 * A long answer made a piece at a time, so that its first bytes go out
 * at once and the loop is never held for the whole of it: the list of
 * guests (GET /v1/guests) and the /metrics page.  Each fill appends
 * whole pieces (a guest, a metric family) to b until b holds at least
 * want bytes or the answer is done; guests made or removed between two
 * fills are in the answer or not, as with two requests.
 */
struct metrics_buf;
struct shoald_pager;
struct shoald_pager *shoald_guests_pager(struct shoald *d);
struct shoald_pager *shoald_metrics_pager(struct shoald *d);
/* 1: more to come; 0: the answer is whole; -1: out of memory. */
int shoald_pager_fill(struct shoald_pager *p, struct metrics_buf *b, size_t want);
void shoald_pager_free(struct shoald_pager *p);
/* NULL with a 404 when there is no such guest. */
json_t *shoald_guest_json(struct shoald *d, const char *name, struct sd_err *err);

/*
 * Deploy a spec: a new guest (201) or a new deploy of an existing one
 * (200: the guest restarts on the new spec; the previous one stays in the
 * history for rollback).  With wait, done() is called once the guest runs
 * or has failed to start, and the return value is 1 with *w set;
 * otherwise 0 with *http and *body set at once.  -1 on a refusal.
 */
int shoald_deploy(struct shoald *d, const json_t *spec, int wait, shoald_done_fn done, void *ctx,
                  struct shoald_wait **w, int *http, json_t **body, struct sd_err *err);

/* "start", "stop", "restart" or "rollback"; same conventions as shoald_deploy. */
int shoald_guest_action(struct shoald *d, const char *name, const char *action, int wait,
                        shoald_done_fn done, void *ctx, struct shoald_wait **w, int *http,
                        json_t **body, struct sd_err *err);

/* Stop and forget a guest (its deploy history goes with it). */
int shoald_guest_delete(struct shoald *d, const char *name, struct sd_err *err);

/* The client went away: done() will not be called. */
void shoald_wait_cancel(struct shoald *d, struct shoald_wait *w);

/*
 * A guest's probe latency: the 10 s and 60 s windows, totals since it
 * was registered, and the histogram buckets of one window ("10s", "60s")
 * or of all time ("all").  NULL with a 404 when there is no such guest.
 */
json_t *shoald_guest_latency_json(struct shoald *d, const char *name, const char *buckets,
                                  struct sd_err *err);

/* ---- placement ---- */

/* The CPU map (roles, guests on each CPU), every guest's placement, the last moves with their
 * reasons. */
json_t *shoald_placement_json(struct shoald *d);
/* One guest's entry of it; NULL with a 404 when there is no such guest. */
json_t *shoald_guest_placement_json(struct shoald *d, const char *name, struct sd_err *err);
/*
 * The operator pins a guest: body {"cpus": [2, 3]} ([] unpins it).  The
 * pin is kept with the guest's current deploy and applied at once; shoald
 * never moves a pinned guest.  0 with *out (the guest's placement) or -1.
 */
int shoald_guest_pin(struct shoald *d, const char *name, const json_t *body, json_t **out,
                     struct sd_err *err);

/* ---- the daemon's log and counters, for the API ---- */

enum shoald_log_level { SHOALD_LOG_WARN, SHOALD_LOG_INFO, SHOALD_LOG_DEBUG };

/*
 * One line in shoald's log (stderr, with journald's priorities under
 * systemd), written only when shoald's log-level lets that level through.
 */
void shoald_log(enum shoald_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The API refused a caller (no or a wrong token, no TLS, a unix caller
 * outside socket-group): counted for /metrics (shoal_api_refused_total).
 * This only counts; the API logs its refusals itself, with a rate limit.
 */
void shoald_api_refused(struct shoald *d);

/* ---- metrics ---- */

/* ---- console ---- */

/* The last `tail` bytes (0: all kept) of a guest's console; *buf is malloc'd. */
int shoald_console_read(struct shoald *d, const char *name, size_t tail, char **buf, size_t *len,
                        struct sd_err *err);
/*
 * Follow a console: fn(ctx, data, len) for new output; fn(ctx, NULL, 0)
 * once if the guest is deleted (the subscription is then over).
 */
struct shoald_sub *shoald_console_follow(struct shoald *d, const char *name,
                                         void (*fn)(void *ctx, const char *data, size_t len),
                                         void *ctx, struct sd_err *err);

/* ---- events ---- */

/* Events after id `since` (0: the most recent `limit`). */
json_t *shoald_events_json(struct shoald *d, uint64_t since, unsigned limit);
/*
 * fn(ctx, event) for every event after `since` (replayed first; UINT64_MAX:
 * none), then live ones; with latency, also the once-a-second "latency"
 * summary of every guest (id 0, never replayed).
 */
struct shoald_sub *shoald_events_follow(struct shoald *d, uint64_t since, int latency,
                                        void (*fn)(void *ctx, const json_t *ev), void *ctx);

void shoald_unsubscribe(struct shoald *d, struct shoald_sub *s);

/* ---- images ---- */

/* What an image is: a guest (an ELF the backend boots) or a disk (raw 512-byte sectors). */
enum image_kind { IMAGE_KIND_GUEST, IMAGE_KIND_DISK };

json_t *shoald_images_json(struct shoald *d);
/*
 * An upload streamed in pieces, hashed as it comes; refused over the size
 * limit.  It is checked as its kind says at the end.
 */
struct shoald_upload *shoald_image_upload_begin(struct shoald *d, enum image_kind kind,
                                                struct sd_err *err);
int shoald_image_upload_data(struct shoald_upload *u, const void *data, size_t len,
                             struct sd_err *err);
/*
 * Check and store the image; 201 (new) or 200 (known); NULL with err on
 * refusal (422 not a usable guest or disk; 409 the same bytes are stored
 * as the other kind).
 */
json_t *shoald_image_upload_end(struct shoald_upload *u, int *http, struct sd_err *err);
void shoald_image_upload_abort(struct shoald_upload *u);

#endif
