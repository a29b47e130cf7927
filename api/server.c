/*
 * The API server: libmicrohttpd in "external epoll" mode, driven by the
 * daemon's libev loop (one io watcher on each MHD daemon's epoll
 * descriptor, one timer for its timeouts).  There are one or two MHD
 * daemons on the loop: the unix socket, and TCP with TLS when
 * listen-tcp is set.  This file does transport: the sockets, who may
 * call (each request is checked before any route sees it), request
 * bodies and their limits, JSON errors, answers that come later
 * (suspended connections) and streams.  routes.c decides what each
 * request means.
 *
 * Answers that come later: the handler suspends the connection and keeps
 * what it needs in struct api_req; the daemon's callback stores the
 * answer and resumes it; MHD then calls the handler once more, which
 * queues the stored answer.  Streams work the same way chunk by chunk:
 * the content reader suspends when it has nothing to send, and new data
 * resumes it.  A ping every 15 s lets a stream notice a client that left.
 */
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <microhttpd.h>

#include "api/api_internal.h"
#include "metrics/metrics.h"

#define STREAM_PING_S     15.0
#define REFUSED_WINDOW_NS (10ull * 1000000000u)
#define REFUSED_LOG_MAX   10 /* lines a window, per listener */
/*
 * Mozilla's "intermediate" profile: TLS 1.3 and 1.2, and in 1.2 only
 * forward-secret key exchanges (ECDHE, DHE) with AEAD ciphers (AES-GCM,
 * ChaCha20-Poly1305); its groups X25519, P-256, P-384 and ffdhe2048 for
 * DHE.  GnuTLS's NORMAL alone also offers CBC with SHA-1, CCM and, with
 * an RSA certificate, the static RSA key exchange (no forward secrecy).
 * tests/integration/test_tls_scan.sh scans the listener for it.
 */
#define TLS_PRIORITIES                                                                             \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:-GROUP-ALL:"   \
	"+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-FFDHE2048"

/* One MHD daemon on the loop. */
struct api_listener {
	struct api *a;
	int tcp;
	struct MHD_Daemon *mhd; /* NULL: not serving */
	int listen_fd;
	ev_io io;
	ev_timer timer;
	char where[160]; /* for the logs: "unix socket PATH", "tcp ADDR" */
	/* the log's rate limit of refused callers, per listener: a flood on TCP hides nothing of
	 * the unix socket */
	uint64_t refused_window_ns;
	unsigned refused_logged, refused_unlogged;
};

/* What is known of a connection before its first request (MHD's socket context). */
struct api_conn {
	struct api_peer peer; /* unix */
	char addr[80];        /* tcp: the client's address */
	unsigned requests;
	int refusal_logged;
	int token_logged; /* tcp: which token the connection uses, said once (debug) */
};

struct api {
	struct shoald *d;
	struct ev_loop *loop;
	struct api_listener lu, lt; /* the unix socket; TCP (lt.mhd NULL without it) */
	char path[1100];
	char ui_dir[1024];
	int have_group;
	gid_t group;
	char group_name[64];
	struct api_tokens *tokens;
	char token_file[1100];
	/* TLS: the identity served, and those replaced while connections were open */
	struct api_tls *tls;
	struct api_tls *retired[8];
	unsigned nretired;
	unsigned tcp_conns;
	char tls_cert[1100], tls_key[1100];
	ev_timer ping;
	struct api_req *reqs; /* every live request, for pings and shut-down */
};

static void api_kick(struct api_listener *l);

/* ---- answers ---- */

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *type,
                                  char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result api_queue_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	size_t n;

	json_decref(body);
	if (!text) {
		static const char fallback[] =
		    "{\"error\":{\"code\":\"internal\","
		    "\"message\":\"cannot encode the answer\",\"field\":\"\"}}\n";

		return queue_text(c, 500, "application/json", strdup(fallback),
		                  sizeof(fallback) - 1);
	}
	n = strlen(text);
	text = realloc(text, n + 2);
	text[n] = '\n';
	text[n + 1] = '\0';
	return queue_text(c, status, "application/json", text, n + 1);
}

json_t *api_error_json(const struct sd_err *e)
{
	return json_pack("{s:{s:s, s:s, s:s}}", "error", "code", e->code, "message", e->message,
	                 "field", e->field);
}

enum MHD_Result api_queue_error(struct MHD_Connection *c, const struct sd_err *e)
{
	return api_queue_json(c, (unsigned)e->http, api_error_json(e));
}

enum MHD_Result api_fail(struct MHD_Connection *c, int http, const char *code, const char *field,
                         const char *fmt, ...)
{
	struct sd_err e;
	va_list ap;

	e.http = http;
	snprintf(e.code, sizeof(e.code), "%s", code);
	snprintf(e.field, sizeof(e.field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof(e.message), fmt, ap);
	va_end(ap);
	return api_queue_error(c, &e);
}

enum MHD_Result api_queue_plain(struct MHD_Connection *c, unsigned status, char *text, size_t len)
{
	return queue_text(c, status, "text/plain; charset=utf-8", text, len);
}

/* ---- answers that come later ---- */

static void on_done(void *ctx, int http, json_t *body)
{
	struct api_req *q = ctx;

	q->wait = NULL;
	q->late_status = http;
	q->late_body = body;
	q->late_ready = 1;
	if (q->suspended) {
		q->suspended = 0;
		MHD_resume_connection(q->conn);
		api_kick(q->lis);
	}
}

shoald_done_fn api_done_fn(void)
{
	return on_done;
}

void api_suspend(struct api_req *q)
{
	q->suspended = 1;
	MHD_suspend_connection(q->conn);
}

/* ---- streams ---- */

void api_stream_push(struct api_req *q, const char *data, size_t len)
{
	if (q->stream_closed)
		return;
	if (q->out_len + len > API_STREAM_MAX) {
		/* A client that does not keep up loses its stream, not our memory. */
		q->stream_closed = 1;
	} else {
		if (q->out_len + len > q->out_cap) {
			size_t cap = q->out_cap ? q->out_cap : 4096;
			char *n;

			while (cap < q->out_len + len)
				cap *= 2;
			n = realloc(q->out, cap);
			if (!n) {
				q->stream_closed = 1;
				goto wake;
			}
			q->out = n;
			q->out_cap = cap;
		}
		memcpy(q->out + q->out_len, data, len);
		q->out_len += len;
	}
wake:
	if (q->suspended) {
		q->suspended = 0;
		MHD_resume_connection(q->conn);
		api_kick(q->lis);
	}
}

void api_stream_end(struct api_req *q)
{
	api_stream_push(q, "", 0);
	q->stream_closed = 1;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_req *q = cls;
	size_t n;

	(void)pos;
	if (q->out_len == 0) {
		if (q->stream_closed)
			return MHD_CONTENT_READER_END_OF_STREAM;
		q->suspended = 1;
		MHD_suspend_connection(q->conn);
		return 0;
	}
	n = q->out_len < max ? q->out_len : max;
	memcpy(buf, q->out, n);
	memmove(q->out, q->out + n, q->out_len - n);
	q->out_len -= n;
	return (ssize_t)n;
}

enum MHD_Result api_queue_stream(struct api_req *q, const char *type)
{
	struct MHD_Response *r =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, q, NULL);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	q->streaming = 1;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_set_connection_option(q->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
	ret = MHD_queue_response(q->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * A long answer from a pager (shoald.h): each time the socket can take
 * more, whole pieces are made until there is at least a block to send.
 * The first block goes out as soon as it is made, and the loop serves
 * everything else between blocks.  A pager out of memory mid-answer
 * ends the connection: the status line has gone already.
 */
#define PAGER_BLOCK (64 * 1024)
#define PAGER_FIRST 4096 /* the first block: small, so that the answer starts at once */

struct pager_answer {
	struct shoald_pager *pg;
	struct metrics_buf b;
	int begun;
	int done;
};

static ssize_t pager_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct pager_answer *pa = cls;
	size_t n;

	(void)pos;
	if (!pa->begun && max > PAGER_FIRST)
		max = PAGER_FIRST;
	pa->begun = 1;
	if (!pa->done && pa->b.len < max) {
		int rc = shoald_pager_fill(pa->pg, &pa->b, max);

		if (rc < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		pa->done = rc == 0;
	}
	if (!pa->b.len)
		return pa->done ? MHD_CONTENT_READER_END_OF_STREAM : 0;
	n = pa->b.len < max ? pa->b.len : max;
	memcpy(buf, pa->b.data, n);
	metrics_buf_consume(&pa->b, n);
	return (ssize_t)n;
}

static void pager_free(void *cls)
{
	struct pager_answer *pa = cls;

	shoald_pager_free(pa->pg);
	metrics_buf_free(&pa->b);
	free(pa);
}

enum MHD_Result api_queue_pager(struct MHD_Connection *c, struct shoald_pager *pg, const char *type)
{
	struct pager_answer *pa = pg ? calloc(1, sizeof(*pa)) : NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!pa) {
		if (pg)
			shoald_pager_free(pg);
		return api_fail(c, 500, "internal", "", "out of memory");
	}
	pa->pg = pg;
	metrics_buf_init(&pa->b);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, PAGER_BLOCK, pager_read, pa,
	                                      pager_free);
	if (!r) {
		pager_free(pa);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_ping(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct api *a = t->data;
	struct api_req *q;

	(void)loop;
	(void)revents;
	for (q = a->reqs; q; q = q->next)
		if (q->streaming && !q->stream_closed && q->ping)
			api_stream_push(q, q->ping, strlen(q->ping));
}

/* ---- requests ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct api_req *req_new(struct api *a, struct api_listener *l, struct MHD_Connection *c,
                               const char *method, const char *url)
{
	struct api_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->api = a;
	q->lis = l;
	q->d = a->d;
	q->conn = c;
	snprintf(q->method, sizeof(q->method), "%s", method);
	q->t0_ns = mono_ns();
	q->url = strdup(url);
	if (!q->url) {
		free(q);
		return NULL;
	}
	q->next = a->reqs;
	a->reqs = q;
	return q;
}

static void req_free(struct api_req *q)
{
	struct api_req **pp;

	for (pp = &q->api->reqs; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	if (q->wait)
		shoald_wait_cancel(q->d, q->wait);
	if (q->sub)
		shoald_unsubscribe(q->d, q->sub);
	if (q->upload)
		shoald_image_upload_abort(q->upload);
	json_decref(q->late_body);
	free(q->body);
	free(q->out);
	free(q->url);
	free(q);
}

/*
 * The log of requests: what changes something (every method but GET and
 * HEAD) at info, the rest at debug; with the time from its first byte to
 * its last.
 */
static void log_request(const struct api_req *q, enum MHD_RequestTerminationCode toe)
{
	double ms = (double)(mono_ns() - q->t0_ns) / 1e6;
	const char *how =
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "answered" : "ended unanswered";

	if (q->streaming)
		return; /* a stream's length is the client's */
	if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD"))
		shoald_log(SHOALD_LOG_INFO, "api: %s %.200s %s in %.1f ms", q->method, q->url, how,
		           ms);
	else
		shoald_log(SHOALD_LOG_DEBUG, "api: %s %.200s %s in %.1f ms", q->method, q->url, how,
		           ms);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	if (*con_cls)
		log_request(*con_cls, toe);
	if (*con_cls)
		req_free(*con_cls);
	*con_cls = NULL;
}

/* Take a piece of the request body: streamed for image uploads, kept otherwise. */
static void take_body(struct api_req *q, const char *data, size_t len)
{
	if (q->body_error.http)
		return;
	if (q->upload) {
		shoald_image_upload_data(q->upload, data, len, &q->body_error);
		return;
	}
	if (q->body_len + len > shoald_max_body_bytes(q->d)) {
		sd_err_set(&q->body_error, 413, "body_too_large", "body",
		           "the request body is larger than %zu bytes (max-body-bytes)",
		           shoald_max_body_bytes(q->d));
		return;
	}
	if (q->body_len + len + 1 > q->body_cap) {
		size_t cap = q->body_cap ? q->body_cap : 1024;
		char *n;

		while (cap < q->body_len + len + 1)
			cap *= 2;
		n = realloc(q->body, cap);
		if (!n) {
			sd_err_set(&q->body_error, 500, "internal", "body", "out of memory");
			return;
		}
		q->body = n;
		q->body_cap = cap;
	}
	memcpy(q->body + q->body_len, data, len);
	q->body_len += len;
	q->body[q->body_len] = '\0';
}

/* ---- who may call ---- */

/*
 * A refused caller (who: its address or uid; why: a few words, never a
 * token): counted by shoald for /metrics, and logged at most
 * REFUSED_LOG_MAX times every REFUSED_WINDOW_NS on each listener, so that
 * a flood of bad callers cannot flood the log; what was left out is
 * counted in the first line of the next window.
 */
static void note_refused(struct api_listener *l, const char *who, const char *why)
{
	uint64_t now = mono_ns();

	shoald_api_refused(l->a->d);
	if (!l->refused_window_ns || now - l->refused_window_ns >= REFUSED_WINDOW_NS) {
		if (l->refused_unlogged)
			shoald_log(
			    SHOALD_LOG_WARN,
			    "API on %s: %u more refused callers were not logged in the last %llu s",
			    l->where, l->refused_unlogged, REFUSED_WINDOW_NS / 1000000000u);
		l->refused_window_ns = now;
		l->refused_logged = l->refused_unlogged = 0;
	}
	if (l->refused_logged >= REFUSED_LOG_MAX) {
		l->refused_unlogged++;
		return;
	}
	l->refused_logged++;
	shoald_log(SHOALD_LOG_WARN, "API on %s: refused %s: %s", l->where, who, why);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct api_listener *l = cls;
	struct api_conn *k;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		k = *socket_context;
		if (k && l->tcp && k->requests == 0)
			note_refused(l, k->addr,
			             "no request came (not TLS, or the TLS handshake failed)");
		free(k);
		*socket_context = NULL;
		if (l->tcp && --l->a->tcp_conns == 0)
			while (l->a->nretired)
				api_tls_free(l->a->retired[--l->a->nretired]);
		return;
	}
	if (l->tcp)
		l->a->tcp_conns++;
	k = calloc(1, sizeof(*k));
	*socket_context = k;
	if (!k)
		return; /* refused at its first request: no context, no caller */
	if (l->tcp) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		api_format_addr(ci ? ci->client_addr : NULL, k->addr, sizeof(k->addr));
	} else {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (ci)
			api_peer_check(ci->connect_fd, l->a->have_group, l->a->group, &k->peer);
		else
			snprintf(k->peer.who, sizeof(k->peer.who),
			         "a caller whose socket cannot be read");
	}
}

static enum MHD_Result refuse(struct api_listener *l, struct api_conn *k, struct MHD_Connection *c,
                              int http, const char *code, const char *authenticate, const char *why,
                              const char *msg)
{
	struct MHD_Response *r;
	struct sd_err e;
	char *text;
	json_t *j;
	enum MHD_Result ret;

	if (!k || !k->refusal_logged)
		note_refused(l, k ? (l->tcp ? k->addr : k->peer.who) : "?", why);
	if (k && !l->tcp)
		k->refusal_logged = 1; /* a unix caller is who it is for the whole connection */
	sd_err_set(&e, http, code, authenticate ? "Authorization" : "", "%s", msg);
	j = api_error_json(&e);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (authenticate)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, authenticate);
	ret = MHD_queue_response(c, (unsigned)http, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * The gate in front of every route: MHD_YES when the caller may go on
 * (*refused 0), else the refusal is queued and *refused set.
 */
/* GET or HEAD of /ui, /ui/ or a file in it (no further '/'; the file name is checked when served).
 */
static int dashboard_file(const char *method, const char *url)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return 0;
	if (strncmp(url, "/ui", 3))
		return 0;
	url += 3;
	if (!*url)
		return 1;
	return *url == '/' && !strchr(url + 1, '/');
}

static enum MHD_Result gate(struct api_listener *l, struct MHD_Connection *c, const char *method,
                            const char *url, int *refused)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct api_conn *k = ci ? ci->socket_context : NULL;
	struct api *a = l->a;
	const char *name;
	char msg[300];
	int r;

	*refused = 1;
	if (k)
		k->requests++;
	if (!l->tcp) {
		if (k && k->peer.allowed) {
			*refused = 0;
			return MHD_YES;
		}
		if (a->have_group)
			snprintf(msg, sizeof(msg),
			         "%s may not use the API: only root and members of group %s may "
			         "(socket-group)",
			         k ? k->peer.who : "this caller", a->group_name);
		else
			snprintf(msg, sizeof(msg),
			         "%s may not use the API: only root may (socket-group names a "
			         "group to let in)",
			         k ? k->peer.who : "this caller");
		return refuse(l, k, c, 403, "caller_not_allowed", NULL,
		              a->have_group ? "neither root nor in the socket's group" : "not root",
		              msg);
	}
	/*
	 * The dashboard's own files hold no data and a browser cannot send a
	 * bearer token when it opens a page: they are served without one, and
	 * the page then sends the token the user gives it on every API call.
	 */
	if (dashboard_file(method, url)) {
		*refused = 0;
		return MHD_YES;
	}
	r = api_tokens_check(
	    a->tokens,
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), &name);
	if (r == API_TOKEN_OK) {
		if (k && !k->token_logged) {
			k->token_logged = 1;
			shoald_log(SHOALD_LOG_DEBUG, "API on %s: %s uses the token named \"%.64s\"",
			           l->where, k->addr, name);
		}
		*refused = 0;
		return MHD_YES;
	}
	if (r == API_TOKEN_MISSING)
		return refuse(
		    l, k, c, 401, "token_required", "Bearer realm=\"shoald\"", "no bearer token",
		    "this API needs a bearer token: send Authorization: Bearer TOKEN (a token of "
		    "shoald's token-file)");
	return refuse(l, k, c, 401, "token_invalid",
	              "Bearer realm=\"shoald\", error=\"invalid_token\"",
	              "a bearer token that is not in the token file",
	              "the bearer token is not one of shoald's (token-file)");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
	struct api_listener *l = cls;
	struct api *a = l->a;
	struct api_req *q = *con_cls;

	(void)version;
	if (!q) {
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		enum MHD_Result ret;
		int refused;

		q = req_new(a, l, c, method, url);
		if (!q)
			return MHD_NO;
		*con_cls = q;
		/* Nothing of the request (route, query, body) is looked at before this. */
		ret = gate(l, c, method, url, &refused);
		if (refused) {
			q->dispatched = 1;
			return ret;
		}
		if (api_route_begin(q) < 0) {
			q->dispatched = 1; /* refused at once; the body, if any, is not read */
			return MHD_YES;
		}
		/* A body announced too large is refused before it is read. */
		if (cl && !q->upload && strtoull(cl, NULL, 10) > shoald_max_body_bytes(a->d))
			return api_fail(
			    c, 413, "body_too_large", "body",
			    "the request body (%s bytes) is larger than %zu bytes (max-body-bytes)",
			    cl, shoald_max_body_bytes(a->d));
		if (cl && q->upload && strtoull(cl, NULL, 10) > shoald_max_image_bytes(a->d))
			return api_fail(
			    c, 413, "image_too_large", "body",
			    "the image (%s bytes) is larger than %llu bytes (max-image-bytes)", cl,
			    (unsigned long long)shoald_max_image_bytes(a->d));
		return MHD_YES;
	}
	if (*upload_size) {
		take_body(q, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->late_ready) {
		json_t *b = q->late_body;

		q->late_ready = 0;
		q->late_body = NULL;
		return api_queue_json(c, (unsigned)q->late_status, b);
	}
	if (q->suspended || q->dispatched)
		return MHD_YES;
	q->dispatched = 1;
	if (q->body_error.http)
		return api_queue_error(c, &q->body_error);
	return api_route(q);
}

const char *api_ui_dir(const struct api *a)
{
	return a->ui_dir;
}

/*
 * MHD's own unescaping of the path and query, except that "%00" stays as
 * it is: a NUL would cut a name short ("web%00x" would be "web"), so the
 * name keeps its '%' and is refused by the check of what it names.
 */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *in = s, *out = s;

	(void)cls;
	(void)c;
	while (*in) {
		int hi, lo;

		if (in[0] == '%' && (hi = hexval(in[1])) >= 0 && (lo = hexval(in[2])) >= 0 &&
		    (hi || lo)) {
			*out++ = (char)(hi * 16 + lo);
			in += 3;
		} else
			*out++ = *in++;
	}
	*out = '\0';
	return (size_t)(out - s);
}

/* ---- the loop ---- */

static void run_mhd(struct api_listener *l)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	MHD_run(l->mhd);
	ev_timer_stop(l->a->loop, &l->timer);
	if (MHD_get_timeout(l->mhd, &ms) == MHD_YES) {
		ev_timer_set(&l->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(l->a->loop, &l->timer);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	run_mhd(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	run_mhd(t->data);
}

/* Something was resumed: let MHD look at it on the next loop turn. */
static void api_kick(struct api_listener *l)
{
	ev_timer_stop(l->a->loop, &l->timer);
	ev_timer_set(&l->timer, 0., 0.);
	ev_timer_start(l->a->loop, &l->timer);
}

/* libmicrohttpd's own messages about the TCP listener (TLS failures, mostly). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct api_listener *l = cls;
	char msg[300];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	shoald_log(SHOALD_LOG_DEBUG, "API on %s: %s", l->where, msg);
}

static int make_socket(const struct api_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(cfg->socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "API socket path %s is too long", cfg->socket_path);
		return -1;
	}
	strcpy(sa.sun_path, cfg->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "API socket: %s", strerror(errno));
		return -1;
	}
	if (unlink(cfg->socket_path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the old API socket %s: %s", cfg->socket_path,
		         strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot bind the API socket %s: %s", cfg->socket_path,
		         strerror(errno));
		goto fail;
	}
	if (cfg->socket_group && cfg->socket_group[0]) {
		struct group *gr = getgrnam(cfg->socket_group);

		if (!gr || chown(cfg->socket_path, 0, gr->gr_gid) < 0) {
			snprintf(err, errlen, "cannot give the API socket to group %s: %s",
			         cfg->socket_group, gr ? strerror(errno) : "no such group");
			goto fail;
		}
	}
	if (chmod(cfg->socket_path, 0660) < 0 || listen(fd, 512) < 0) {
		snprintf(err, errlen, "API socket %s: %s", cfg->socket_path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int make_tcp_socket(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	int fd, one = 1;

	if (api_parse_listen(addr, &sa, &salen, err, errlen) < 0)
		return -1;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen-tcp %s: %s", addr, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		           sizeof(one)); /* [::] is IPv6's; * is IPv4's */
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, 512) < 0) {
		snprintf(err, errlen, "cannot listen on %s (listen-tcp): %s", addr,
		         strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_wanted(const struct api_config *cfg)
{
	return cfg->listen_tcp && cfg->listen_tcp[0];
}

/* The TCP settings that must come together, and what the libmicrohttpd here can do. */
static int check_tcp_settings(const struct api_config *cfg, char *note, size_t notelen, char *err,
                              size_t errlen)
{
	char missing[64] = "";

	if (!tcp_wanted(cfg)) {
		if ((cfg->tls_cert && cfg->tls_cert[0]) || (cfg->tls_key && cfg->tls_key[0]) ||
		    (cfg->token_file && cfg->token_file[0]))
			snprintf(note, notelen,
			         "tls-cert, tls-key and token-file are set but listen-tcp is not: "
			         "the API is on the unix socket only");
		return 0;
	}
	if (!cfg->tls_cert || !cfg->tls_cert[0])
		strcat(missing, ", tls-cert");
	if (!cfg->tls_key || !cfg->tls_key[0])
		strcat(missing, ", tls-key");
	if (!cfg->token_file || !cfg->token_file[0])
		strcat(missing, ", token-file");
	if (missing[0]) {
		snprintf(err, errlen,
		         "listen-tcp %s needs tls-cert, tls-key and token-file: shoald serves TCP "
		         "only with TLS and "
		         "bearer tokens (missing: %s)",
		         cfg->listen_tcp, missing + 2);
		return -1;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
	    MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
		snprintf(err, errlen,
		         "listen-tcp %s: this libmicrohttpd is built without TLS (or its "
		         "certificate callback)",
		         cfg->listen_tcp);
		return -1;
	}
	return 0;
}

static int lookup_group(const struct api_config *cfg, gid_t *gid, char *err, size_t errlen)
{
	struct group *gr;

	if (!cfg->socket_group || !cfg->socket_group[0])
		return 0;
	gr = getgrnam(cfg->socket_group);
	if (!gr) {
		snprintf(err, errlen, "socket-group %s: no such group", cfg->socket_group);
		return -1;
	}
	*gid = gr->gr_gid;
	return 1;
}

int api_check_config(const struct api_config *cfg, char *summary, size_t sumlen, char *note,
                     size_t notelen, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	struct api_tokens *t;
	struct api_tls *tls;
	char tls_note[300] = "";
	socklen_t salen;
	gid_t gid;
	int g;

	note[0] = '\0';
	g = lookup_group(cfg, &gid, err, errlen);
	if (g < 0 || check_tcp_settings(cfg, note, notelen, err, errlen) < 0)
		return -1;
	snprintf(summary, sumlen, "unix socket %s for root%s%s", cfg->socket_path,
	         g ? " and group " : "", g ? cfg->socket_group : "");
	if (!tcp_wanted(cfg))
		return 0;
	if (api_parse_listen(cfg->listen_tcp, &sa, &salen, err, errlen) < 0)
		return -1;
	tls = api_tls_new(cfg->tls_cert, cfg->tls_key, tls_note, sizeof(tls_note), err, errlen);
	if (!tls)
		return -1;
	api_tls_free(tls);
	t = api_tokens_load(cfg->token_file, err, errlen);
	if (!t)
		return -1;
	snprintf(summary + strlen(summary), sumlen - strlen(summary),
	         "; TCP %s with TLS and %zu token%s", cfg->listen_tcp, api_tokens_count(t),
	         api_tokens_count(t) == 1 ? "" : "s");
	api_tokens_free(t);
	if (tls_note[0])
		snprintf(note, notelen, "%s", tls_note);
	return 0;
}

static int listener_watch(struct api_listener *l, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	if (!info) {
		snprintf(err, errlen, "the HTTP server on %s has no epoll descriptor", l->where);
		return -1;
	}
	ev_io_init(&l->io, on_io, info->epoll_fd, EV_READ);
	l->io.data = l;
	ev_io_start(l->a->loop, &l->io);
	ev_timer_init(&l->timer, on_timer, 0., 0.);
	l->timer.data = l;
	return 0;
}

static void listener_stop(struct api_listener *l)
{
	if (!l->mhd)
		return;
	ev_io_stop(l->a->loop, &l->io);
	ev_timer_stop(l->a->loop, &l->timer);
	MHD_stop_daemon(l->mhd);
	l->mhd = NULL;
	close(l->listen_fd);
	l->listen_fd = -1;
}

static int start_tcp(struct api *a, const struct api_config *cfg, char *err, size_t errlen)
{
	struct api_listener *l = &a->lt;
	char note[300];

	l->a = a;
	l->tcp = 1;
	snprintf(l->where, sizeof(l->where), "tcp %s", cfg->listen_tcp);
	snprintf(a->token_file, sizeof(a->token_file), "%s", cfg->token_file);
	snprintf(a->tls_cert, sizeof(a->tls_cert), "%s", cfg->tls_cert);
	snprintf(a->tls_key, sizeof(a->tls_key), "%s", cfg->tls_key);
	a->tls = api_tls_new(cfg->tls_cert, cfg->tls_key, note, sizeof(note), err, errlen);
	if (!a->tls)
		return -1;
	api_tls_use(a->tls);
	a->tokens = api_tokens_load(cfg->token_file, err, errlen);
	if (!a->tokens)
		return -1;
	l->listen_fd = make_tcp_socket(cfg->listen_tcp, err, errlen);
	if (l->listen_fd < 0)
		return -1;
	l->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TLS, 0, NULL,
	    NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l,
	    MHD_OPTION_LISTEN_SOCKET, l->listen_fd, MHD_OPTION_HTTPS_CERT_CALLBACK,
	    api_tls_retrieve, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, l, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)60, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
	if (!l->mhd) {
		snprintf(err, errlen,
		         "cannot start the HTTPS server on %s (listen-tcp, tls-cert, tls-key)",
		         cfg->listen_tcp);
		close(l->listen_fd);
		l->listen_fd = -1;
		return -1;
	}
	return listener_watch(l, err, errlen);
}

/* After the listeners stopped. */
static void api_free(struct api *a)
{
	api_tokens_free(a->tokens);
	api_tls_use(NULL);
	api_tls_free(a->tls);
	while (a->nretired)
		api_tls_free(a->retired[--a->nretired]);
	free(a);
}

struct api *api_start(struct shoald *d, struct ev_loop *loop, const struct api_config *cfg,
                      char *err, size_t errlen)
{
	struct api *a = calloc(1, sizeof(*a));
	struct api_listener *l;
	char note[300];
	int g;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->d = d;
	a->loop = loop;
	a->lu.listen_fd = a->lt.listen_fd = -1;
	g = lookup_group(cfg, &a->group, err, errlen);
	if (g < 0 || check_tcp_settings(cfg, note, sizeof(note), err, errlen) < 0) {
		free(a);
		return NULL;
	}
	a->have_group = g;
	snprintf(a->group_name, sizeof(a->group_name), "%s", g ? cfg->socket_group : "");
	snprintf(a->path, sizeof(a->path), "%s", cfg->socket_path);
	snprintf(a->ui_dir, sizeof(a->ui_dir), "%s", cfg->ui_dir ? cfg->ui_dir : "");
	/* TCP first: a bad certificate or a busy port leaves no socket file behind. */
	if (tcp_wanted(cfg) && start_tcp(a, cfg, err, errlen) < 0) {
		api_free(a);
		return NULL;
	}
	l = &a->lu;
	l->a = a;
	snprintf(l->where, sizeof(l->where), "unix socket %.140s", cfg->socket_path);
	l->listen_fd = make_socket(cfg, err, errlen);
	if (l->listen_fd < 0) {
		listener_stop(&a->lt);
		api_free(a);
		return NULL;
	}
	l->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
	    l, MHD_OPTION_LISTEN_SOCKET, l->listen_fd, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
	    l, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_UNESCAPE_CALLBACK,
	    unescape, NULL, MHD_OPTION_END);
	if (!l->mhd || listener_watch(l, err, errlen) < 0) {
		if (!l->mhd)
			snprintf(err, errlen, "cannot start the HTTP server on %s",
			         cfg->socket_path);
		listener_stop(l);
		listener_stop(&a->lt);
		unlink(cfg->socket_path);
		api_free(a);
		return NULL;
	}
	ev_timer_init(&a->ping, on_ping, STREAM_PING_S, STREAM_PING_S);
	a->ping.data = a;
	ev_timer_start(loop, &a->ping);
	return a;
}

/* The certificate and key read again; the one in use stays when they are bad. */
static int reload_tls(struct api *a, char *msg, size_t msglen)
{
	struct api_tls *t;
	char err[600], note[300];

	if (a->nretired == sizeof(a->retired) / sizeof(a->retired[0])) {
		snprintf(msg, msglen,
		         "tls-cert not read again: connections still open hold the %u certificates "
		         "replaced before; "
		         "the one in use stays",
		         a->nretired);
		return -1;
	}
	t = api_tls_new(a->tls_cert, a->tls_key, note, sizeof(note), err, sizeof(err));
	if (!t) {
		snprintf(msg, msglen, "%s; the certificate in use stays", err);
		return -1;
	}
	/* Sessions under way keep what gnutls gave them: the old one goes once no connection is
	 * open. */
	if (a->tcp_conns)
		a->retired[a->nretired++] = a->tls;
	else
		api_tls_free(a->tls);
	a->tls = t;
	api_tls_use(t);
	snprintf(msg, msglen, "tls-cert %.400s and tls-key read again%s%.300s", a->tls_cert,
	         note[0] ? ": " : "", note);
	return 0;
}

int api_reload(struct api *a, char *msg, size_t msglen)
{
	struct api_tokens *t;
	char err[600], part[1000];
	int rc = 0;

	if (!a || !a->lt.mhd) {
		snprintf(msg, msglen, "no TCP listener: nothing of the API to reload");
		return 1;
	}
	t = api_tokens_load(a->token_file, err, sizeof(err));
	if (!t) {
		snprintf(msg, msglen, "%s; the tokens read before (%zu) stay in force", err,
		         api_tokens_count(a->tokens));
		rc = -1;
	} else {
		api_tokens_free(a->tokens);
		a->tokens = t;
		snprintf(msg, msglen, "token-file %s read again: %zu token%s in force",
		         a->token_file, api_tokens_count(t), api_tokens_count(t) == 1 ? "" : "s");
	}
	if (reload_tls(a, part, sizeof(part)) < 0)
		rc = -1;
	snprintf(msg + strlen(msg), msglen - strlen(msg), "; %s", part);
	return rc;
}

void api_stop(struct api *a)
{
	struct api_req *q;

	if (!a)
		return;
	ev_timer_stop(a->loop, &a->ping);
	/* Suspended connections must be resumed before MHD can close them. */
	for (q = a->reqs; q; q = q->next)
		if (q->suspended) {
			q->suspended = 0;
			q->stream_closed = 1;
			MHD_resume_connection(q->conn);
		}
	listener_stop(&a->lu);
	listener_stop(&a->lt);
	unlink(a->path);
	api_free(a);
}
