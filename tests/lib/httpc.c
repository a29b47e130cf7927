/*
 * See httpc.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/httpc.h"

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Decode a chunked body in place; returns the new length. */
static size_t unchunk(char *b, size_t n)
{
	size_t in = 0, out = 0;

	while (in < n) {
		char *end;
		unsigned long len = strtoul(b + in, &end, 16);
		char *nl = memchr(b + in, '\n', n - in);

		if (!nl || end == b + in)
			break;
		in = (size_t)(nl - b) + 1;
		if (len == 0 || in + len > n)
			break;
		memmove(b + out, b + in, len);
		out += len;
		in += len + 2;
	}
	b[out] = '\0';
	return out;
}

int http_raw(const char *sock, const char *req, size_t req_len, int timeout_ms,
             struct http_answer *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t cap = 8192, len = 0, off = 0;
	long long deadline = ms_now() + timeout_ms;
	char *buf = malloc(cap), *hdr_end;
	int fd;

	memset(a, 0, sizeof(*a));
	if (!buf)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return -1;
	}
	while (off < req_len) {
		ssize_t r = send(fd, req + off, req_len - off, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break; /* the server may answer before reading everything */
		}
		off += (size_t)r;
	}
	/* No half-close: the server would take it for a client that left. */
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = deadline - ms_now();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (len + 4096 > cap) {
			char *n = realloc(buf, cap * 2);

			if (!n)
				break;
			buf = n;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &a->status) != 1) {
		free(buf);
		return -1;
	}
	hdr_end = strstr(buf, "\r\n\r\n");
	if (!hdr_end) {
		a->headers = buf;
		a->body = strdup("");
		return 0;
	}
	*hdr_end = '\0';
	a->headers = buf;
	a->body_len = len - (size_t)(hdr_end + 4 - buf);
	a->body = malloc(a->body_len + 1);
	memcpy(a->body, hdr_end + 4, a->body_len);
	a->body[a->body_len] = '\0';
	if (strcasestr(a->headers, "Transfer-Encoding: chunked"))
		a->body_len = unchunk(a->body, a->body_len);
	a->json = json_loadb(a->body, a->body_len, 0, NULL);
	return 0;
}

int http_req(const char *sock, const char *method, const char *path, const char *json_body,
             struct http_answer *a)
{
	size_t blen = json_body ? strlen(json_body) : 0;
	size_t cap = strlen(method) + strlen(path) + blen + 256;
	char *req = malloc(cap);
	int n, r;

	if (!req)
		return -1;
	if (json_body)
		n = snprintf(req, cap,
		             "%s %s HTTP/1.1\r\nHost: shoald\r\nConnection: close\r\nContent-Type: "
		             "application/json\r\n"
		             "Content-Length: %zu\r\n\r\n%s",
		             method, path, blen, json_body);
	else
		n = snprintf(req, cap,
		             "%s %s HTTP/1.1\r\nHost: shoald\r\nConnection: close\r\n\r\n", method,
		             path);
	r = http_raw(sock, req, (size_t)n, 30000, a);
	free(req);
	return r;
}

static const char *err_part(const struct http_answer *a, const char *key)
{
	json_t *e = a->json ? json_object_get(a->json, "error") : NULL;
	const char *s = e ? json_string_value(json_object_get(e, key)) : NULL;

	return s ? s : "";
}

const char *http_err_code(const struct http_answer *a)
{
	return err_part(a, "code");
}

const char *http_err_field(const struct http_answer *a)
{
	return err_part(a, "field");
}

void http_answer_free(struct http_answer *a)
{
	free(a->headers);
	free(a->body);
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

int http_wait_ready(const char *sock, int timeout_ms)
{
	long long deadline = ms_now() + timeout_ms;

	while (ms_now() < deadline) {
		struct http_answer a;

		if (http_req(sock, "GET", "/v1/host", NULL, &a) == 0 && a.status == 200) {
			http_answer_free(&a);
			return 0;
		}
		http_answer_free(&a);
		usleep(20000);
	}
	return -1;
}
