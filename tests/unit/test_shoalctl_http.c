/*
 * Unit tests of shoalctl's own HTTP/1.1 client on the unix socket
 * (shoalctl/http_unix.c, through http.c's requests): a scripted server in
 * a child process answers each case of tests/data/shoalctl-answers.txt
 * (bodies by length, chunked and to the end, 1xx answers, the connection
 * kept or not, shoald's refusals, and broken answers, each with the
 * sentence that names what was wrong), and echoes back the requests
 * shoalctl sends (a JSON body, a PUT, an image streamed from a file).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "shoalctl/ctl.h"
#include "tests/unit/corpus_testlib.h"

static char sock_path[108];

/* The server's side: a listening socket, the connection of the moment. */
struct server {
	int lfd, fd, conns;
	char req[1 << 20]; /* the last request, head and body */
	size_t req_len;
};

/* Wait for a request (on a new connection when the last one ended): 0, or -1 at its end. */
static int next_request(struct server *s)
{
	size_t want = 0;
	char *end;

	s->req_len = 0;
	for (;;) {
		ssize_t n;

		if (s->fd < 0) {
			s->fd = accept(s->lfd, NULL, NULL);
			if (s->fd < 0)
				return -1;
			s->conns++;
		}
		n = read(s->fd, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len);
		if (n <= 0) {
			close(s->fd);
			s->fd = -1;
			if (s->req_len)
				return -1;
			continue;
		}
		s->req_len += (size_t)n;
		s->req[s->req_len] = '\0';
		end = strstr(s->req, "\r\n\r\n");
		if (!end)
			continue;
		if (!want) {
			const char *cl = strstr(s->req, "Content-Length: ");

			want = (size_t)(end + 4 - s->req) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
		}
		if (s->req_len >= want)
			return 0;
	}
}

static void put(struct server *s, const char *p, size_t n)
{
	while (n > 0 && s->fd >= 0) {
		ssize_t w = write(s->fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void put_as(struct server *s, int c, size_t n)
{
	char buf[1024];

	memset(buf, c, sizeof(buf));
	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		put(s, buf, k);
		n -= k;
	}
}

/* Decode the corpus's escapes in place; returns the length. */
static size_t unescape(char *p)
{
	char *o = p, *i = p;

	while (*i) {
		if (*i != '\\' || !i[1]) {
			*o++ = *i++;
			continue;
		}
		i++;
		switch (*i) {
		case 'r':
			*o++ = '\r';
			i++;
			break;
		case 'n':
			*o++ = '\n';
			i++;
			break;
		case 't':
			*o++ = '\t';
			i++;
			break;
		case 'x': {
			char hex[3] = { i[1], i[1] ? i[2] : 0, 0 };

			*o++ = (char)strtoul(hex, NULL, 16);
			i += 3;
			break;
		}
		default:
			*o++ = *i++;
			break;
		}
	}
	*o = '\0';
	return (size_t)(o - p);
}

/* The child: play the script (the corpus's BYTES) to whoever connects; exit with the count. */
static void serve(int lfd, char *script)
{
	static struct server s;
	char *p = script, *mark;

	signal(SIGPIPE, SIG_IGN); /* shoalctl may be gone: that is a case too */
	s.lfd = lfd;
	s.fd = -1;
	if (next_request(&s) < 0)
		_exit(100);
	while (*p) {
		mark = strchr(p, '<');
		if (mark != p) {
			char *next = mark ? mark : p + strlen(p), save = *next;

			*next = '\0';
			put(&s, p, unescape(p));
			*next = save;
			p = next;
			continue;
		}
		if (!strncmp(p, "<next>", 6)) {
			if (next_request(&s) < 0)
				_exit(101);
		} else if (!strncmp(p, "<close>", 7)) {
			close(s.fd);
			s.fd = -1;
		} else if (!strncmp(p, "<pause>", 7)) {
			usleep(50000);
		} else if (!strncmp(p, "<hang>", 6)) {
			char b[256];

			while (s.fd >= 0 && read(s.fd, b, sizeof(b)) > 0)
				;
		} else if (!strncmp(p, "<big ", 5)) {
			put_as(&s, 'a', strtoul(p + 5, NULL, 10) * 1024);
		} else if (!strncmp(p, "<fill ", 6)) {
			unsigned long i, n = strtoul(p + 6, NULL, 10);

			for (i = 0; i < n; i++) {
				put(&s, "X-Fill: ", 8);
				put_as(&s, 'f', 7 * 1024);
				put(&s, "\r\n", 2);
			}
		} else if (!strncmp(p, "<echo>", 6)) {
			char head[128];
			int n =
			    snprintf(head, sizeof(head),
			             "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", s.req_len);

			put(&s, head, (size_t)n);
			put(&s, s.req, s.req_len);
		} else {
			_exit(102);
		}
		p = strchr(p, '>') + 1;
	}
	if (s.fd >= 0)
		close(s.fd);
	_exit(s.conns);
}

/* A listening socket and the child that plays script on it. */
static pid_t start_server(const char *script)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *copy = strdup(script);
	int lfd;
	pid_t pid;

	assert_non_null(copy);
	unlink(sock_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		serve(lfd, copy);
	close(lfd);
	free(copy);
	return pid;
}

/* The connections the server saw, once it is done. */
static int server_conns(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* stderr into a file while a request runs. */
struct capture {
	int saved;
	char path[64];
};

static void capture_start(struct capture *cp)
{
	int fd;

	snprintf(cp->path, sizeof(cp->path), "/tmp/shoalctl-http-err-XXXXXX");
	fd = mkstemp(cp->path);
	assert_true(fd >= 0);
	fflush(stderr);
	cp->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* The first line that was written, without "shoalctl: " and with the socket as SOCK. */
static void capture_end(struct capture *cp, char *out, size_t len)
{
	char line[1024] = "", *at;
	FILE *f;

	fflush(stderr);
	dup2(cp->saved, 2);
	close(cp->saved);
	f = fopen(cp->path, "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	unlink(cp->path);
	line[strcspn(line, "\n")] = '\0';
	at = strstr(line, sock_path);
	if (at) {
		size_t n = strlen(sock_path);

		memmove(at + 4, at + n, strlen(at + n) + 1);
		memcpy(at, "SOCK", 4);
	}
	snprintf(out, len, "%s", strncmp(line, "shoalctl: ", 10) ? line : line + 10);
}

/* One request's result: "CODE TEXT" (the body on 0, a long body of one byte summed up). */
static void one(struct ctl *c, char *out, size_t len)
{
	struct ctl_answer a;
	struct capture cp;
	char text[1024];
	size_t i;
	int rc;

	capture_start(&cp);
	rc = ctl_http(c, "GET", "/v1/x", NULL, &a);
	capture_end(&cp, text, sizeof(text));
	if (rc == 0) {
		for (i = 1; i < a.len && a.body[i] == a.body[0]; i++)
			;
		if (a.len > 200 && i == a.len)
			snprintf(text, sizeof(text), "%zu bytes of %c", a.len, a.body[0]);
		else
			snprintf(text, sizeof(text), "%s", a.body);
		ctl_answer_free(&a);
	}
	snprintf(out, len, "%d%s%s", -rc, text[0] ? " " : "", text);
}

static void evaluate(const char *kind, char *in, char *got, size_t len)
{
	struct ctl c = { .socket_path = sock_path, .timeout_s = 1, .fd = -1 };
	char res[1200] = "", part[1100];
	const char *p;
	unsigned requests = 1;
	pid_t pid;

	if (strcmp(kind, "answer") != 0) {
		snprintf(got, len, "unknown kind %s", kind);
		return;
	}
	for (p = in; (p = strstr(p, "<next>")); p++)
		requests++;
	pid = start_server(in);
	while (requests-- > 0) {
		one(&c, part, sizeof(part));
		snprintf(res + strlen(res), sizeof(res) - strlen(res), "%s%s", res[0] ? " / " : "",
		         part);
	}
	ctl_http_done(&c);
	snprintf(got, len, "conns=%d; %s", server_conns(pid), res);
}

static void test_answers(void **state)
{
	unsigned bad, n;

	(void)state;
	n = corpus_run("shoalctl-answers.txt", evaluate, NULL, &bad);
	assert_true(n >= 40);
	assert_int_equal(bad, 0);
}

/* What shoalctl sends, as the echoing server got it. */
static void test_requests(void **state)
{
	struct ctl c = { .socket_path = sock_path, .timeout_s = 5, .fd = -1 };
	struct ctl_answer a;
	char file[] = "/tmp/shoalctl-http-img-XXXXXX", *blob;
	size_t blob_len = 300000, i;
	pid_t pid;
	int fd;

	(void)state;
	pid = start_server("<echo><next><echo><next><echo><next><echo>");
	assert_int_equal(ctl_http(&c, "POST", "/v1/guests?wait=0", "{\"x\":1}", &a), 0);
	assert_non_null(strstr(a.body, "POST /v1/guests?wait=0 HTTP/1.1\r\n"));
	assert_non_null(strstr(a.body, "\r\nHost: localhost\r\n"));
	assert_non_null(strstr(a.body, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(a.body, "\r\nContent-Length: 7\r\n"));
	assert_int_equal(strcmp(a.body + a.len - 11, "\r\n\r\n{\"x\":1}"), 0);
	ctl_answer_free(&a);

	/* A POST with no body still says so (shoald wants a length). */
	assert_int_equal(ctl_http(&c, "POST", "/v1/guests/web/stop", NULL, &a), 0);
	assert_non_null(strstr(a.body, "POST /v1/guests/web/stop HTTP/1.1\r\n"));
	assert_non_null(strstr(a.body, "\r\nContent-Length: 0\r\n"));
	ctl_answer_free(&a);

	assert_int_equal(ctl_http(&c, "DELETE", "/v1/guests/web", NULL, &a), 0);
	assert_non_null(strstr(a.body, "DELETE /v1/guests/web HTTP/1.1\r\n"));
	assert_null(strstr(a.body, "Content-Length"));
	ctl_answer_free(&a);

	/* An image streamed from its file, every byte of it. */
	blob = malloc(blob_len);
	assert_non_null(blob);
	for (i = 0; i < blob_len; i++)
		blob[i] = (char)(i * 7 + i / 251);
	fd = mkstemp(file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, blob, blob_len), (ssize_t)blob_len);
	close(fd);
	assert_int_equal(ctl_http_upload(&c, "/v1/images?kind=guest", file, &a), 0);
	assert_non_null(strstr(a.body, "POST /v1/images?kind=guest HTTP/1.1\r\n"));
	assert_non_null(strstr(a.body, "\r\nContent-Type: application/octet-stream\r\n"));
	assert_non_null(strstr(a.body, "\r\nContent-Length: 300000\r\n"));
	assert_true(a.len > blob_len);
	assert_memory_equal(a.body + a.len - blob_len, blob, blob_len);
	ctl_answer_free(&a);
	unlink(file);
	free(blob);
	ctl_http_done(&c);
	assert_int_equal(server_conns(pid), 1); /* all four on one connection */
}

/* No socket, a stale one: the sentences test_shoalctl.sh also checks on a real shoald. */
static void test_unreachable(void **state)
{
	struct ctl c = { .socket_path = sock_path, .timeout_s = 1, .fd = -1 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char out[1200];
	int lfd;

	(void)state;
	unlink(sock_path);
	one(&c, out, sizeof(out));
	assert_string_equal(out,
	                    "3 cannot reach shoald at SOCK: there is no socket there (is shoald "
	                    "running? --socket or SHOAL_SOCKET names another)");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(lfd); /* bound, never listened: connect is refused */
	one(&c, out, sizeof(out));
	assert_string_equal(out, "3 cannot reach shoald at SOCK: nothing listens on it (shoald is "
	                         "not running; the socket "
	                         "is stale)");
	unlink(sock_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_unreachable),
	};
	char dir[] = "/tmp/shoalctl-http-XXXXXX";
	int rc;

	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(sock_path);
	rmdir(dir);
	return rc;
}
