/*
 * shoalctl's transport on shoald's unix socket: a small HTTP/1.1 client
 * of its own (a request out; the answer in by Content-Length, chunked or
 * to the end), so that the local socket loads no library at all.  Deploy
 * scripts run shoalctl once a guest; libcurl's start (its 35 libraries,
 * a TLS stack among them) cost more than the request, several times more
 * in an emulated Dom0 (bench/ctl-start.sh).  The connection is kept
 * between requests, as libcurl kept it, so that `top` holds one.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "shoalctl/http_internal.h"

#define HEAD_MAX  (64u << 10) /* an answer's status line and headers */
#define LINE_MAX_ 1024u       /* a chunk's size line, a trailer line */

/* One exchange on the connection: what is read and not yet used, the deadline. */
struct conn {
	int fd;
	char buf[16384];
	size_t off, len; /* unread bytes: buf[off, off + len) */
	double deadline; /* CLOCK_MONOTONIC seconds; 0: none (a stream) */
	int got;         /* any byte of the answer came */
	const char *bad; /* what was wrong, with IO_BAD */
};

/* Why an exchange ended early, for the message. */
enum { IO_OK = 0, IO_EOF = -1, IO_ERR = -2, IO_TIMEOUT = -3, IO_INTR = -4, IO_BAD = -5 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bad(struct conn *k, const char *why)
{
	k->bad = why;
	return IO_BAD;
}

/* Wait for events on the connection until its deadline: IO_OK or why not. */
static int wait_for(struct conn *k, short events)
{
	for (;;) {
		struct pollfd p = { k->fd, events, 0 };
		int ms = -1, n;

		if (k->deadline > 0) {
			double left = k->deadline - now_s();

			if (left <= 0)
				return IO_TIMEOUT;
			ms = left > 1e6 ? 1000000000
			                : (int)(left * 1000) + 1; /* --timeout: up to a year */
		}
		if (ctl_interrupted)
			return IO_INTR;
		n = poll(&p, 1, ms);
		if (n > 0)
			return IO_OK;
		if (n < 0 && errno != EINTR)
			return IO_ERR;
	}
}

/* More bytes into buf: IO_OK, or IO_EOF when shoald closed, or why not. */
static int fill(struct conn *k)
{
	ssize_t n;
	int rc;

	if (k->off > 0 && k->len > 0)
		memmove(k->buf, k->buf + k->off, k->len);
	k->off = 0;
	if (k->len == sizeof(k->buf))
		return bad(k, "a line of its answer is too long"); /* read_line keeps below */
	for (;;) {
		rc = wait_for(k, POLLIN);
		if (rc < 0)
			return rc;
		n = recv(k->fd, k->buf + k->len, sizeof(k->buf) - k->len, 0);
		if (n > 0) {
			k->len += (size_t)n;
			k->got = 1;
			return IO_OK;
		}
		if (n == 0)
			return IO_EOF;
		if (errno != EINTR && errno != EAGAIN)
			return IO_ERR;
	}
}

static int send_all(struct conn *k, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(k->fd, p, len, MSG_NOSIGNAL);
		int rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return IO_ERR;
		rc = wait_for(k, POLLOUT);
		if (rc < 0)
			return rc;
	}
	return IO_OK;
}

/* One line (CRLF or LF) into line, without its end. */
static int read_line(struct conn *k, char *line, size_t max)
{
	char *nl;
	size_t used;
	int rc;

	while (!(nl = memchr(k->buf + k->off, '\n', k->len))) {
		if (k->len >= max)
			return bad(k, "a line of its answer is too long");
		rc = fill(k);
		if (rc < 0)
			return rc;
	}
	used = (size_t)(nl - (k->buf + k->off)) + 1;
	if (used > max)
		return bad(k, "a line of its answer is too long");
	memcpy(line, k->buf + k->off, used - 1);
	line[used - 1] = '\0';
	if (used > 1 && line[used - 2] == '\r')
		line[used - 2] = '\0';
	k->off += used;
	k->len -= used;
	return IO_OK;
}

/* The request's line, headers and body. */
static int send_request(struct conn *k, const struct ctl_req *r)
{
	char head[4096], chunk[65536];
	unsigned long long left = r->body_len;
	int n, rc;

	n = snprintf(head, sizeof(head),
	             "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: shoalctl/" PACKAGE_VERSION
	             "\r\nAccept: */*\r\n",
	             r->method, r->path);
	if (r->ctype && n > 0 && (size_t)n < sizeof(head))
		n +=
		    snprintf(head + n, sizeof(head) - (size_t)n,
		             "Content-Type: %s\r\nContent-Length: %llu\r\n", r->ctype, r->body_len);
	if (n < 0 || (size_t)n + 2 >= sizeof(head))
		return bad(k, "the request's path is too long");
	memcpy(head + n, "\r\n", 3);
	rc = send_all(k, head, (size_t)n + 2);
	if (rc < 0 || !r->ctype)
		return rc;
	if (!r->file)
		return send_all(k, r->body, r->body_len);
	while (left > 0) {
		size_t want = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);
		size_t got = fread(chunk, 1, want, r->file);

		/* Content-Length was said: a file that shrank cannot be sent as it was. */
		if (got == 0)
			return bad(k, "the image shrank or could not be read while it was sent");
		rc = send_all(k, chunk, got);
		if (rc < 0)
			return rc;
		left -= got;
	}
	return IO_OK;
}

/* A header's value, when the line is that header ("Name: value"); else NULL. */
static const char *header_value(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	return line + n + 1 + strspn(line + n + 1, " \t");
}

/* Hand n body bytes from buf to the sink; IO_OK, or 1 when the sink wants no more. */
static int deliver(struct conn *k, struct ctl_sink *s, long status, size_t n)
{
	int rc = ctl_sink_put(s, status, k->buf + k->off, n);

	k->off += n;
	k->len -= n;
	return rc < 0 ? 1 : IO_OK;
}

/* A body of exactly left bytes. */
static int read_sized(struct conn *k, struct ctl_sink *s, long status, unsigned long long left)
{
	size_t n;
	int rc;

	while (left > 0) {
		if (k->len == 0 && (rc = fill(k)) < 0)
			return rc;
		n = k->len < left ? k->len : (size_t)left;
		rc = deliver(k, s, status, n);
		if (rc != IO_OK)
			return rc;
		left -= n;
	}
	return IO_OK;
}

/* A chunked body, each chunk handed on as it comes (a stream's events). */
static int read_chunked(struct conn *k, struct ctl_sink *s, long status)
{
	char line[LINE_MAX_], *end;
	unsigned long long size;
	int rc;

	for (;;) {
		rc = read_line(k, line, sizeof(line));
		if (rc < 0)
			return rc;
		errno = 0;
		size = strtoull(line, &end, 16);
		if (!isxdigit((unsigned char)line[0]) || errno ||
		    (*end && *end != ';' && *end != ' ' && *end != '\t'))
			return bad(k, "a chunk's size in its answer is not a hexadecimal number");
		if (size == 0)
			break;
		rc = read_sized(k, s, status, size);
		if (rc != IO_OK)
			return rc;
		rc = read_line(k, line, sizeof(line));
		if (rc < 0)
			return rc;
		if (line[0])
			return bad(k, "a chunk of its answer is longer than its size says");
	}
	do /* the trailer, up to its empty line */
		rc = read_line(k, line, sizeof(line));
	while (rc == IO_OK && line[0]);
	return rc;
}

/* A body that ends when shoald closes the connection. */
static int read_to_end(struct conn *k, struct ctl_sink *s, long status)
{
	for (;;) {
		int rc;

		if (k->len > 0) {
			rc = deliver(k, s, status, k->len);
			if (rc != IO_OK)
				return rc;
		}
		rc = fill(k);
		if (rc == IO_EOF)
			return IO_OK;
		if (rc < 0)
			return rc;
	}
}

/*
 * The answer: its status line and headers (1xx answers skipped), then its
 * body.  *keep: the connection may carry the next request.
 */
static int read_answer(struct conn *k, const struct ctl_req *r, struct ctl_sink *s, long *status,
                       int *keep)
{
	char line[8192], *end;
	const char *v;
	unsigned long long length = 0;
	int rc, have_length, chunked, close_after, minor;
	size_t head, n;

	do {
		have_length = chunked = close_after = 0;
		head = 0;
		rc = read_line(k, line, sizeof(line));
		if (rc < 0)
			return rc;
		if (sscanf(line, "HTTP/1.%d %3ld", &minor, status) != 2 || *status < 100 ||
		    *status > 999)
			return bad(k, "its answer does not start with an HTTP/1.x status line");
		close_after = minor == 0;
		for (;;) {
			rc = read_line(k, line, sizeof(line));
			if (rc < 0)
				return rc;
			n = strlen(line);
			head += n + 2;
			while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
				line[--n] = '\0';
			if (head > HEAD_MAX)
				return bad(k, "its answer's headers are larger than 64 KiB");
			if (!line[0])
				break;
			if ((v = header_value(line, "Content-Length"))) {
				errno = 0;
				length = strtoull(v, &end, 10);
				if (!isdigit((unsigned char)v[0]) || errno || *end)
					return bad(k,
					           "its answer's Content-Length is not a number");
				have_length = 1;
			} else if ((v = header_value(line, "Transfer-Encoding"))) {
				chunked = strcasestr(v, "chunked") != NULL;
			} else if ((v = header_value(line, "Connection"))) {
				if (strcasestr(v, "close"))
					close_after = 1;
				else if (strcasestr(v, "keep-alive"))
					close_after = 0;
			}
		}
	} while (*status < 200);
	if (!strcmp(r->method, "HEAD") || *status == 204 || *status == 304)
		rc = IO_OK;
	else if (chunked)
		rc = read_chunked(k, s, *status);
	else if (have_length)
		rc = read_sized(k, s, *status, length);
	else {
		close_after = 1;
		rc = read_to_end(k, s, *status);
	}
	*keep = rc == IO_OK && !close_after && k->len == 0;
	return rc;
}

/* Connect to the socket: the fd, or -1 with errno (EAGAIN: its backlog stayed full). */
static int dial(const struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 0, 0 };
	int fd, e;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket_path); /* set_socket checked */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A unix socket's connect waits while the listener's backlog is full, up to SO_SNDTIMEO. */
	if (c->timeout_s > 0) {
		tv.tv_sec = (time_t)c->timeout_s;
		tv.tv_usec = (suseconds_t)((c->timeout_s - (double)tv.tv_sec) * 1e6);
		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int dial_failed(struct ctl *c, int e)
{
	char buf[160];
	const char *why;

	switch (e) {
	case ENOENT:
		why = "there is no socket there (is shoald running? --socket or SHOAL_SOCKET names "
		      "another)";
		break;
	case ECONNREFUSED:
		why = "nothing listens on it (shoald is not running; the socket is stale)";
		break;
	case EACCES:
		why = "permission denied (the socket is mode 0660: run as root or in its group)";
		break;
	case EAGAIN:
		snprintf(buf, sizeof(buf), "no answer within %g s (--timeout)", c->timeout_s);
		why = buf;
		break;
	default:
		why = strerror(e);
		break;
	}
	return ctl_unreachable(c, 0, why);
}

/* Is the kept connection still open, with nothing unasked-for waiting on it? */
static int still_open(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 0;
}

void ctl_unix_done(struct ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int ctl_unix_perform(struct ctl *c, const struct ctl_req *r, struct ctl_sink *s, long *status)
{
	struct conn *k;
	char buf[200];
	const char *why, *bad_why;
	int rc, keep = 0, reused = 0, e;

	k = calloc(1, sizeof(*k));
	if (!k)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
again:
	*status = 0;
	k->off = k->len = 0;
	k->got = 0;
	k->bad = NULL;
	k->deadline = c->timeout_s > 0 && !r->stream ? now_s() + c->timeout_s : 0;
	if (c->fd >= 0 && still_open(c->fd)) {
		k->fd = c->fd;
		reused = 1;
	} else {
		ctl_unix_done(c);
		reused = 0;
		k->fd = dial(c);
		if (k->fd < 0) {
			e = errno;
			free(k);
			return dial_failed(c, e);
		}
	}
	c->fd = -1;
	rc = send_request(k, r);
	/* shoald may answer (a refusal) before it has read the whole body. */
	if (rc == IO_OK || (rc == IO_ERR && (errno == EPIPE || errno == ECONNRESET)))
		rc = read_answer(k, r, s, status, &keep);
	e = errno;
	if (reused && !k->got && (rc == IO_EOF || rc == IO_ERR) &&
	    (!r->file || fseek(r->file, 0, SEEK_SET) == 0)) {
		/* The kept connection was closed under the request: once more on a new one. */
		close(k->fd);
		goto again;
	}
	if (keep)
		c->fd = k->fd;
	else
		close(k->fd);
	bad_why = k->bad;
	free(k);
	switch (rc) {
	case IO_OK:
		return 0;
	case 1: /* the sink wants no more (too big): perform() says so */
		return 0;
	case IO_INTR:
		return 1;
	case IO_TIMEOUT:
		snprintf(buf, sizeof(buf), "no answer within %g s (--timeout)", c->timeout_s);
		why = buf;
		break;
	case IO_EOF:
		why = *status ? "it closed the connection before the answer was complete"
		              : "it closed the connection without answering";
		break;
	case IO_BAD:
		why = bad_why;
		break;
	default:
		why = strerror(e);
		break;
	}
	return ctl_unreachable(c, r->stream && *status, why);
}
