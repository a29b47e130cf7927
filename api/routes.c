/*
 * The API's routes: which path and method mean what, what query
 * parameters each takes, which take a body, and how each request becomes
 * a call into shoald.  api/openapi.yaml is the contract these follow.
 * Everything the client sends is checked here or in shoald before use, and
 * refused with a JSON error naming what was wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"

enum route {
	R_NONE,
	R_HOST,
	R_GUESTS,
	R_GUEST,
	R_ACTION,
	R_CONSOLE,
	R_IMAGES,
	R_EVENTS,
	R_LATENCY,
	R_METRICS,
	R_PLACEMENT,
	R_GUEST_PLACEMENT,
	R_UI,
	R_UI_INDEX,
	R_UI_FILE,
};

struct route_def {
	enum route r;
	const char *methods; /* the Allow header */
	const char *const *params;
	const char *const *get_params; /* GET's, when they differ */
	const char *body_methods; /* the methods that take a request body; the others refuse one */
};

static const char *const p_none[] = { NULL };
static const char *const p_wait[] = { "wait", NULL };
static const char *const p_console[] = { "tail", "follow", NULL };
static const char *const p_events[] = { "since", "limit", "follow", "latency", NULL };
static const char *const p_latency[] = { "buckets", NULL };
static const char *const p_upload[] = { "kind", NULL };

static const struct route_def routes[] = {
	[R_HOST] = { R_HOST, "GET", p_none },
	[R_GUESTS] = { R_GUESTS, "GET, POST", p_wait, p_none, "POST" },
	[R_GUEST] = { R_GUEST, "GET, DELETE", p_none },
	[R_ACTION] = { R_ACTION, "POST", p_wait },
	[R_CONSOLE] = { R_CONSOLE, "GET", p_console },
	[R_IMAGES] = { R_IMAGES, "GET, POST", p_upload, p_none, "POST" },
	[R_EVENTS] = { R_EVENTS, "GET", p_events },
	[R_LATENCY] = { R_LATENCY, "GET", p_latency },
	[R_METRICS] = { R_METRICS, "GET", p_none },
	[R_PLACEMENT] = { R_PLACEMENT, "GET", p_none },
	[R_GUEST_PLACEMENT] = { R_GUEST_PLACEMENT, "GET, PUT", p_none, NULL, "PUT" },
	[R_UI] = { R_UI, "GET, HEAD", p_none },
	[R_UI_INDEX] = { R_UI_INDEX, "GET, HEAD", p_none },
	[R_UI_FILE] = { R_UI_FILE, "GET, HEAD", p_none },
};

static int method_allowed(const char *allow, const char *method)
{
	size_t n = strlen(method);
	const char *p = allow;

	if (!allow)
		return 0;
	while ((p = strstr(p, method))) {
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

static enum MHD_Result fail_method(struct api_req *q, const char *allow)
{
	struct MHD_Response *r;
	struct sd_err e;
	char *text;
	json_t *j;
	enum MHD_Result ret;

	sd_err_set(&e, 405, "method_not_allowed", "method", "%s is not allowed on %s (allowed: %s)",
	           q->method, q->url, allow);
	j = api_error_json(&e);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(q->conn, 405, r);
	MHD_destroy_response(r);
	return ret;
}

/* Split the path into at most 4 segments after /v1; -1 if it has more or empty ones. */
static int split(const char *url, char seg[4][72], int *n)
{
	const char *p = url;

	*n = 0;
	if (strncmp(p, "/v1/", 4) != 0)
		return -1;
	p += 4;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (*n == 4 || len == 0 || len >= sizeof(seg[0]))
			return -1;
		memcpy(seg[*n], p, len);
		seg[*n][len] = '\0';
		(*n)++;
		if (!e)
			break;
		p = e + 1;
		if (!*p)
			return -1; /* trailing slash */
	}
	return 0;
}

struct param_check {
	const char *const *allowed;
	char bad[80];
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	struct param_check *pc = cls;
	int i;

	(void)kind;
	(void)value;
	for (i = 0; pc->allowed[i]; i++)
		if (!strcmp(pc->allowed[i], key))
			return MHD_YES;
	snprintf(pc->bad, sizeof(pc->bad), "%.60s", key);
	return MHD_NO;
}

/* A query parameter's value; NULL when not given, "" when given without one ("?follow"). */
static const char *param(struct api_req *q, const char *key)
{
	const char *v = NULL;

	if (MHD_lookup_connection_value_n(q->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v,
	                                  NULL) != MHD_YES)
		return NULL;
	return v ? v : "";
}

/* A yes-or-no query parameter (1 or true, 0 or false): 1, 0, or -1 (bad, already answered). */
static int param_bool(struct api_req *q, const char *key, int dflt)
{
	const char *v = param(q, key);

	if (!v)
		return dflt;
	if (!strcmp(v, "1") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "0") || !strcmp(v, "false"))
		return 0;
	api_fail(q->conn, 400, "invalid_parameter", key,
	         "query parameter %s must be 1 or 0 (or true or false), not \"%.40s\"", key, v);
	return -1;
}

/* An unsigned query parameter; -1 when bad (answered). */
static int param_u64(struct api_req *q, const char *key, uint64_t max, uint64_t *out)
{
	const char *v = param(q, key);
	char *end;

	if (!v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || *out > max) {
		api_fail(q->conn, 400, "invalid_parameter", key,
		         "query parameter %s must be a whole number from 0 to %llu, not \"%.40s\"",
		         key, (unsigned long long)max, v);
		return -1;
	}
	return 0;
}

static int name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* Is a Content-Type header's media type `type` (parameters after ';' allowed)? */
static int media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	return !strncasecmp(ct, type, n) &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

static const char *header(struct api_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

/* Does the request announce a body (a Content-Length above 0, or one sent in chunks)?  HTTP/1.1 has
 * no other way. */
static int announces_body(struct api_req *q)
{
	const char *cl = header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return header(q, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	       (cl && strspn(cl, "0") != strlen(cl));
}

int api_route_begin(struct api_req *q)
{
	char seg[4][72];
	struct param_check pc;
	const struct route_def *def;
	int n;

	q->route = R_NONE;
	n = -1;
	if (!strcmp(q->url, "/metrics"))
		q->route = R_METRICS; /* where Prometheus looks, outside /v1 */
	else if (!strcmp(q->url, "/ui"))
		q->route = R_UI; /* the dashboard, outside /v1 too */
	else if (!strcmp(q->url, "/ui/"))
		q->route = R_UI_INDEX;
	else if (!strncmp(q->url, "/ui/", 4)) {
		if (!api_ui_name_ok(q->url + 4)) {
			api_ui_bad_name(q->conn, q->url + 4);
			return -1;
		}
		snprintf(q->name, sizeof(q->name), "%s", q->url + 4);
		q->route = R_UI_FILE;
	} else if (split(q->url, seg, &n) < 0 || n == 0) {
		api_fail(q->conn, 404, "no_such_route", "path",
		         "there is no %s (the API lives under /v1/)", q->url);
		return -1;
	} else if (n == 1 && !strcmp(seg[0], "host"))
		q->route = R_HOST;
	else if (n == 1 && !strcmp(seg[0], "guests"))
		q->route = R_GUESTS;
	else if (n == 1 && !strcmp(seg[0], "images"))
		q->route = R_IMAGES;
	else if (n == 1 && !strcmp(seg[0], "events"))
		q->route = R_EVENTS;
	else if (n == 1 && !strcmp(seg[0], "placement"))
		q->route = R_PLACEMENT;
	else if (n >= 2 && !strcmp(seg[0], "guests")) {
		if (!name_ok(seg[1])) {
			api_fail(q->conn, 400, "invalid_name", "name",
			         "\"%.64s\" is not a guest name (1 to 63 characters of a-z, 0-9 "
			         "and '-', not starting with '-')",
			         seg[1]);
			return -1;
		}
		snprintf(q->name, sizeof(q->name), "%s", seg[1]);
		if (n == 2)
			q->route = R_GUEST;
		else if (n == 3 && !strcmp(seg[2], "console"))
			q->route = R_CONSOLE;
		else if (n == 3 && !strcmp(seg[2], "latency"))
			q->route = R_LATENCY;
		else if (n == 3 && !strcmp(seg[2], "placement"))
			q->route = R_GUEST_PLACEMENT;
		else if (n == 3 && (!strcmp(seg[2], "start") || !strcmp(seg[2], "stop") ||
		                    !strcmp(seg[2], "restart") || !strcmp(seg[2], "rollback") ||
		                    !strcmp(seg[2], "pause") || !strcmp(seg[2], "resume"))) {
			q->route = R_ACTION;
			snprintf(q->action, sizeof(q->action), "%.15s", seg[2]);
		}
	}
	if (q->route == R_NONE) {
		api_fail(q->conn, 404, "no_such_route", "path", "there is no %.200s", q->url);
		return -1;
	}
	def = &routes[q->route];
	if (!method_allowed(def->methods, q->method)) {
		fail_method(q, def->methods);
		return -1;
	}
	pc.allowed = def->get_params && !strcmp(q->method, "GET") ? def->get_params : def->params;
	pc.bad[0] = '\0';
	MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
	if (pc.bad[0]) {
		api_fail(q->conn, 400, "unknown_parameter", pc.bad,
		         "unknown query parameter \"%s\" for %s %s", pc.bad, q->method, q->url);
		return -1;
	}
	if (!method_allowed(def->body_methods, q->method) && announces_body(q)) {
		api_fail(q->conn, 400, "body_not_allowed", "body",
		         "%s %.200s takes no request body: what it needs goes in the path and the "
		         "query string",
		         q->method, q->url);
		return -1;
	}
	if (q->route == R_IMAGES && !strcmp(q->method, "POST")) {
		const char *ct = header(q, MHD_HTTP_HEADER_CONTENT_TYPE);
		const char *kind = param(q, "kind");
		enum image_kind k = IMAGE_KIND_GUEST;
		struct sd_err e;

		if (kind && !strcmp(kind, "disk")) {
			k = IMAGE_KIND_DISK;
		} else if (kind && strcmp(kind, "guest")) {
			api_fail(q->conn, 400, "invalid_parameter", "kind",
			         "query parameter kind must be guest or disk, not \"%.40s\"", kind);
			return -1;
		}
		/* An image is raw bytes: a body that says it is something else is a mistake, not an
		 * image. */
		if (ct && !media_type_is(ct, "application/octet-stream")) {
			api_fail(q->conn, 415, "unsupported_media_type", "Content-Type",
			         "an image is uploaded as its raw bytes (Content-Type: "
			         "application/octet-stream), not as %.60s",
			         ct);
			return -1;
		}
		q->upload = shoald_image_upload_begin(q->d, k, &e);
		if (!q->upload) {
			api_queue_error(q->conn, &e);
			return -1;
		}
	}
	return 0;
}

/* Answer now, or suspend for shoald's later answer. */
static enum MHD_Result answer(struct api_req *q, int r, int http, json_t *body,
                              const struct sd_err *e)
{
	if (r < 0)
		return api_queue_error(q->conn, e);
	if (r > 0) {
		if (q->late_ready) { /* answered already, before we could wait */
			json_t *b = q->late_body;

			q->late_ready = 0;
			q->late_body = NULL;
			return api_queue_json(q->conn, (unsigned)q->late_status, b);
		}
		api_suspend(q);
		return MHD_YES;
	}
	return api_queue_json(q->conn, (unsigned)http, body);
}

static json_t *parse_body(struct api_req *q, struct sd_err *e)
{
	const char *ct = header(q, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t jerr;
	json_t *j;

	if (ct && !media_type_is(ct, "application/json")) {
		sd_err_set(e, 415, "unsupported_media_type", "Content-Type",
		           "the body must be JSON (Content-Type: application/json), not %.60s", ct);
		return NULL;
	}
	if (!q->body_len) {
		sd_err_set(e, 400, "empty_body", "body", "the request has no body: send %s as JSON",
		           q->route == R_GUEST_PLACEMENT ? "the CPUs ({\"cpus\": [..]})"
		                                         : "the guest spec");
		return NULL;
	}
	j = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j)
		sd_err_set(e, 400, "malformed_json", "body",
		           "the body is not valid JSON: %s (line %d, column %d)", jerr.text,
		           jerr.line, jerr.column);
	return j;
}

static void console_data(void *ctx, const char *data, size_t len)
{
	struct api_req *q = ctx;

	if (!data) {
		q->sub = NULL; /* the console is going away with its guest */
		api_stream_end(q);
		return;
	}
	api_stream_push(q, data, len);
}

static enum MHD_Result route_console(struct api_req *q)
{
	uint64_t tail = 0;
	int follow = param_bool(q, "follow", 0);
	struct sd_err e;
	size_t len;
	char *buf;

	if (follow < 0 || param_u64(q, "tail", 1ull << 30, &tail) < 0)
		return MHD_YES;
	if (shoald_console_read(q->d, q->name, (size_t)tail, &buf, &len, &e) < 0)
		return api_queue_error(q->conn, &e);
	if (!follow)
		return api_queue_plain(q->conn, 200, buf, len);
	q->sub = shoald_console_follow(q->d, q->name, console_data, q, &e);
	if (!q->sub) {
		free(buf);
		return api_queue_error(q->conn, &e);
	}
	api_stream_push(q, buf, len);
	free(buf);
	return api_queue_stream(q, "text/plain; charset=utf-8");
}

static void event_data(void *ctx, const json_t *ev)
{
	struct api_req *q = ctx;
	char *text = json_dumps(ev, JSON_COMPACT);

	if (!text)
		return;
	if (q->sse) {
		api_stream_push(q, "data: ", 6);
		api_stream_push(q, text, strlen(text));
		api_stream_push(q, "\n\n", 2);
	} else {
		api_stream_push(q, text, strlen(text));
		api_stream_push(q, "\n", 1);
	}
	free(text);
}

/*
 * The event log: a plain GET answers with what is kept (the newest `limit`,
 * or the first `limit` after `since`) and ends; follow=1 streams, replaying
 * what came after `since` first.
 */
static enum MHD_Result route_events(struct api_req *q)
{
	const char *accept =
	    MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	uint64_t since = UINT64_MAX, limit = 100; /* no since: a follower gets only new events */
	int follow = param_bool(q, "follow", 0), latency;

	if (follow < 0 || (latency = param_bool(q, "latency", 0)) < 0 ||
	    param_u64(q, "since", UINT64_MAX >> 1, &since) < 0 ||
	    param_u64(q, "limit", 10000, &limit) < 0)
		return MHD_YES;
	if (!follow)
		return api_queue_json(
		    q->conn, 200,
		    shoald_events_json(q->d, since == UINT64_MAX ? 0 : since, (unsigned)limit));
	q->sse = accept && strstr(accept, "text/event-stream") != NULL;
	q->ping = q->sse ? ": ping\n\n" : "\n";
	q->sub = shoald_events_follow(q->d, since, latency, event_data, q);
	if (!q->sub)
		return api_fail(q->conn, 500, "internal", "", "out of memory");
	return api_queue_stream(q, q->sse ? "text/event-stream" : "application/x-ndjson");
}

static enum MHD_Result route_latency(struct api_req *q)
{
	const char *b = param(q, "buckets");
	struct sd_err e;
	json_t *j;

	if (b && strcmp(b, "10s") && strcmp(b, "60s") && strcmp(b, "all"))
		return api_fail(q->conn, 400, "invalid_parameter", "buckets",
		                "query parameter buckets must be 10s, 60s or all, not \"%.40s\"",
		                b);
	j = shoald_guest_latency_json(q->d, q->name, b ? b : "60s", &e);
	return j ? api_queue_json(q->conn, 200, j) : api_queue_error(q->conn, &e);
}

/* GET: the guest's placement, as in /v1/placement; PUT {"cpus": [..]}: the operator pins it. */
static enum MHD_Result route_guest_placement(struct api_req *q, int is_get)
{
	struct sd_err e;
	json_t *j, *g;

	if (is_get) {
		g = shoald_guest_placement_json(q->d, q->name, &e);
		return g ? api_queue_json(q->conn, 200, g) : api_queue_error(q->conn, &e);
	}
	j = parse_body(q, &e);
	if (!j)
		return api_queue_error(q->conn, &e);
	if (shoald_guest_pin(q->d, q->name, j, &g, &e) < 0) {
		json_decref(j);
		return api_queue_error(q->conn, &e);
	}
	json_decref(j);
	return api_queue_json(q->conn, 200, g);
}

static enum MHD_Result route_metrics(struct api_req *q)
{
	return api_queue_pager(q->conn, shoald_metrics_pager(q->d),
	                       "text/plain; version=0.0.4; charset=utf-8");
}

enum MHD_Result api_route(struct api_req *q)
{
	int is_get = !strcmp(q->method, "GET"), wait, http = 0, r;
	json_t *body = NULL, *j;
	struct sd_err e;

	switch (q->route) {
	case R_HOST:
		return api_queue_json(q->conn, 200, shoald_host_json(q->d));
	case R_GUESTS:
		if (is_get)
			return api_queue_pager(q->conn, shoald_guests_pager(q->d),
			                       "application/json");
		wait = param_bool(q, "wait", 1);
		if (wait < 0)
			return MHD_YES;
		j = parse_body(q, &e);
		if (!j)
			return api_queue_error(q->conn, &e);
		r = shoald_deploy(q->d, j, wait, api_done_fn(), q, &q->wait, &http, &body, &e);
		json_decref(j);
		return answer(q, r, http, body, &e);
	case R_GUEST:
		if (is_get) {
			body = shoald_guest_json(q->d, q->name, &e);
			return body ? api_queue_json(q->conn, 200, body)
			            : api_queue_error(q->conn, &e);
		}
		if (shoald_guest_delete(q->d, q->name, &e) < 0)
			return api_queue_error(q->conn, &e);
		return api_queue_json(q->conn, 200,
		                      json_pack("{s:s, s:b}", "name", q->name, "deleted", 1));
	case R_ACTION:
		wait = param_bool(q, "wait", 1);
		if (wait < 0)
			return MHD_YES;
		r = shoald_guest_action(q->d, q->name, q->action, wait, api_done_fn(), q, &q->wait,
		                        &http, &body, &e);
		return answer(q, r, http, body, &e);
	case R_CONSOLE:
		return route_console(q);
	case R_IMAGES:
		if (is_get)
			return api_queue_json(q->conn, 200, shoald_images_json(q->d));
		body = shoald_image_upload_end(q->upload, &http, &e);
		q->upload = NULL;
		return body ? api_queue_json(q->conn, (unsigned)http, body)
		            : api_queue_error(q->conn, &e);
	case R_EVENTS:
		return route_events(q);
	case R_LATENCY:
		return route_latency(q);
	case R_METRICS:
		return route_metrics(q);
	case R_PLACEMENT:
		body = shoald_placement_json(q->d);
		return body ? api_queue_json(q->conn, 200, body)
		            : api_fail(q->conn, 500, "internal", "",
		                       "out of memory while describing the placement");
	case R_GUEST_PLACEMENT:
		return route_guest_placement(q, is_get);
	case R_UI:
		return api_ui_redirect(q);
	case R_UI_INDEX:
		return api_ui_file(q, api_ui_dir(q->api), "index.html");
	case R_UI_FILE:
		return api_ui_file(q, api_ui_dir(q->api), q->name);
	default:
		return api_fail(q->conn, 404, "no_such_route", "path", "there is no %.200s",
		                q->url);
	}
}
