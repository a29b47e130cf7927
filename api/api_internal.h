/*
 * Between the API's transport (server.c) and its routes (routes.c).
 */
#ifndef SHOAL_API_INTERNAL_H
#define SHOAL_API_INTERNAL_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api/api.h"
#include "daemon/shoald.h"

#define API_STREAM_MAX (4u << 20) /* a stream's unsent bytes before the client is dropped */

struct api_req {
	struct api_req *next;
	struct api *api;
	struct shoald *d;
	struct MHD_Connection *conn;
	char method[16];
	char *url;
	int route;              /* routes.c's choice, made when the request begins */
	char name[64];          /* the guest named in the path */
	char action[16];
	/* the body */
	char *body;
	size_t body_len, body_cap;
	struct sd_err body_error; /* set when the body is refused (too large, ...) */
	struct shoald_upload *upload;
	int dispatched;
	/* an answer that comes later */
	struct shoald_wait *wait;
	int suspended;
	int late_ready;
	int late_status;
	json_t *late_body;
	/* a stream */
	int streaming;
	int stream_closed;
	int sse;
	const char *ping;       /* sent every 15 s to notice clients that left */
	char *out;
	size_t out_len, out_cap;
	struct shoald_sub *sub;
};

/* Answers (these take ownership of body/text). */
enum MHD_Result api_queue_json(struct MHD_Connection *c, unsigned status, json_t *body);
enum MHD_Result api_queue_plain(struct MHD_Connection *c, unsigned status, char *text, size_t len);
enum MHD_Result api_queue_error(struct MHD_Connection *c, const struct sd_err *e);
enum MHD_Result api_fail(struct MHD_Connection *c, int http, const char *code, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
json_t *api_error_json(const struct sd_err *e);

/* The callback for shoald's later answers (ctx is the struct api_req). */
shoald_done_fn api_done_fn(void);
/* Wait for the later answer (after shoald returned a wait handle). */
void api_suspend(struct api_req *q);

/* Streams: queue once, then push data; end closes it. */
enum MHD_Result api_queue_stream(struct api_req *q, const char *type);
void api_stream_push(struct api_req *q, const char *data, size_t len);
void api_stream_end(struct api_req *q);

/*
 * routes.c: the first look at a request (before its body): choose the
 * route, refuse what is wrong in the path or query (the refusal is queued
 * at once and -1 returned), start an image upload.
 */
int api_route_begin(struct api_req *q);
/* The whole request is in: answer it. */
enum MHD_Result api_route(struct api_req *q);

/* The directory the dashboard's files are served from (ui-dir); "" for none. */
const char *api_ui_dir(const struct api *a);

/*
 * ui.c: the dashboard's static files.  A file name is 1 to 63 characters
 * of A-Z a-z 0-9 . _ -, starting with a letter or digit, without "..".
 */
int api_ui_name_ok(const char *name);
/* The 400 for a name that is not one. */
enum MHD_Result api_ui_bad_name(struct MHD_Connection *c, const char *name);
/* /ui: 301 to /ui/. */
enum MHD_Result api_ui_redirect(struct api_req *q);
/* One file of dir, with its type, ETag and Last-Modified (304 on If-None-Match). */
enum MHD_Result api_ui_file(struct api_req *q, const char *dir, const char *name);

#endif
