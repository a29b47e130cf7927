/*
 * The API server: libmicrohttpd in "external epoll" mode, driven by the
 * daemon's libev loop (one io watcher on MHD's epoll descriptor, one
 * timer for its timeouts).  This file does transport: the socket,
 * request bodies and their limits, JSON errors, answers that come later
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>
#include <microhttpd.h>

#include "api/api_internal.h"

#define STREAM_PING_S 15.0

struct api {
	struct shoald *d;
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	int listen_fd;
	char path[1100];
	char ui_dir[1024];
	ev_io io;
	ev_timer timer;
	ev_timer ping;
	struct api_req *reqs; /* every live request, for pings and shut-down */
};

static void api_kick(struct api *a);

/* ---- answers ---- */

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *type, char *body,
                                  size_t len)
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
		static const char fallback[] = "{\"error\":{\"code\":\"internal\","
		                               "\"message\":\"cannot encode the answer\",\"field\":\"\"}}\n";

		return queue_text(c, 500, "application/json", strdup(fallback), sizeof(fallback) - 1);
	}
	n = strlen(text);
	text = realloc(text, n + 2);
	text[n] = '\n';
	text[n + 1] = '\0';
	return queue_text(c, status, "application/json", text, n + 1);
}

json_t *api_error_json(const struct sd_err *e)
{
	return json_pack("{s:{s:s, s:s, s:s}}", "error", "code", e->code, "message", e->message, "field",
	                 e->field);
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
		api_kick(q->api);
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
		api_kick(q->api);
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
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, q, NULL);
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

static struct api_req *req_new(struct api *a, struct MHD_Connection *c, const char *method, const char *url)
{
	struct api_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->api = a;
	q->d = a->d;
	q->conn = c;
	snprintf(q->method, sizeof(q->method), "%s", method);
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

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
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
		           "the request body is larger than %zu bytes (max-body-bytes)", shoald_max_body_bytes(q->d));
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
	struct api *a = cls;
	struct api_req *q = *con_cls;

	(void)version;
	if (!q) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		q = req_new(a, c, method, url);
		if (!q)
			return MHD_NO;
		*con_cls = q;
		if (api_route_begin(q) < 0) {
			q->dispatched = 1; /* refused at once; the body, if any, is not read */
			return MHD_YES;
		}
		/* A body announced too large is refused before it is read. */
		if (cl && !q->upload && strtoull(cl, NULL, 10) > shoald_max_body_bytes(a->d))
			return api_fail(c, 413, "body_too_large", "body",
			                "the request body (%s bytes) is larger than %zu bytes (max-body-bytes)", cl,
			                shoald_max_body_bytes(a->d));
		if (cl && q->upload && strtoull(cl, NULL, 10) > shoald_max_image_bytes(a->d))
			return api_fail(c, 413, "image_too_large", "body",
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

		if (in[0] == '%' && (hi = hexval(in[1])) >= 0 && (lo = hexval(in[2])) >= 0 && (hi || lo)) {
			*out++ = (char)(hi * 16 + lo);
			in += 3;
		} else
			*out++ = *in++;
	}
	*out = '\0';
	return (size_t)(out - s);
}

/* ---- the loop ---- */

static void run_mhd(struct api *a)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	MHD_run(a->mhd);
	ev_timer_stop(a->loop, &a->timer);
	if (MHD_get_timeout(a->mhd, &ms) == MHD_YES) {
		ev_timer_set(&a->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(a->loop, &a->timer);
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
static void api_kick(struct api *a)
{
	ev_timer_stop(a->loop, &a->timer);
	ev_timer_set(&a->timer, 0., 0.);
	ev_timer_start(a->loop, &a->timer);
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
		snprintf(err, errlen, "cannot remove the old API socket %s: %s", cfg->socket_path, strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot bind the API socket %s: %s", cfg->socket_path, strerror(errno));
		goto fail;
	}
	if (cfg->socket_group && cfg->socket_group[0]) {
		struct group *gr = getgrnam(cfg->socket_group);

		if (!gr || chown(cfg->socket_path, 0, gr->gr_gid) < 0) {
			snprintf(err, errlen, "cannot give the API socket to group %s: %s", cfg->socket_group,
			         gr ? strerror(errno) : "no such group");
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

struct api *api_start(struct shoald *d, struct ev_loop *loop, const struct api_config *cfg, char *err,
                      size_t errlen)
{
	struct api *a = calloc(1, sizeof(*a));
	const union MHD_DaemonInfo *info;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->d = d;
	a->loop = loop;
	snprintf(a->path, sizeof(a->path), "%s", cfg->socket_path);
	snprintf(a->ui_dir, sizeof(a->ui_dir), "%s", cfg->ui_dir ? cfg->ui_dir : "");
	a->listen_fd = make_socket(cfg, err, errlen);
	if (a->listen_fd < 0) {
		free(a);
		return NULL;
	}
	a->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                          on_request, a, MHD_OPTION_LISTEN_SOCKET, a->listen_fd,
	                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_CONNECTION_LIMIT,
	                          (unsigned)4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	                          MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
	if (!a->mhd) {
		snprintf(err, errlen, "cannot start the HTTP server on %s", cfg->socket_path);
		close(a->listen_fd);
		unlink(cfg->socket_path);
		free(a);
		return NULL;
	}
	info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	ev_io_init(&a->io, on_io, info->epoll_fd, EV_READ);
	a->io.data = a;
	ev_io_start(loop, &a->io);
	ev_timer_init(&a->timer, on_timer, 0., 0.);
	a->timer.data = a;
	ev_timer_init(&a->ping, on_ping, STREAM_PING_S, STREAM_PING_S);
	a->ping.data = a;
	ev_timer_start(loop, &a->ping);
	return a;
}

void api_stop(struct api *a)
{
	struct api_req *q;

	if (!a)
		return;
	ev_io_stop(a->loop, &a->io);
	ev_timer_stop(a->loop, &a->timer);
	ev_timer_stop(a->loop, &a->ping);
	/* Suspended connections must be resumed before MHD can close them. */
	for (q = a->reqs; q; q = q->next)
		if (q->suspended) {
			q->suspended = 0;
			q->stream_closed = 1;
			MHD_resume_connection(q->conn);
		}
	MHD_stop_daemon(a->mhd);
	close(a->listen_fd);
	unlink(a->path);
	free(a);
}
