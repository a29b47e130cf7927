/*
 * shoalctl's requests: what each command asks, and what the answer means.
 * Every way a request can end is turned into one of ctl.h's exit codes
 * here, in one place: the server's JSON error is shown as it was sent,
 * and a daemon out of reach is said in a sentence that names the socket
 * or the URL.  The bytes go through one of two transports
 * (http_internal.h): shoalctl's own HTTP/1.1 on the unix socket, which
 * loads no library, or libcurl with TLS for --url, loaded only then.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "shoalctl/http_internal.h"

volatile int ctl_interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	ctl_interrupted = 1;
}

void ctl_catch_interrupt(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: a sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int ctl_sink_put(struct ctl_sink *s, long status, const char *p, size_t len)
{
	if (s->fn && status / 100 == 2) {
		s->fn(s->ctx, p, len);
		return 0;
	}
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;

		while (cap < s->len + len + 1)
			cap *= 2;
		if (cap > CTL_BODY_MAX) {
			s->too_big = 1;
			return -1;
		}
		nb = realloc(s->buf, cap);
		if (!nb) {
			s->no_memory = 1;
			return -1;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return 0;
}

int ctl_unreachable(const struct ctl *c, int lost, const char *why)
{
	if (lost)
		fprintf(stderr, "shoalctl: lost the connection to shoald at %s: %s\n",
		        ctl_target(c), why);
	else
		fprintf(stderr, "shoalctl: cannot reach shoald at %s: %s\n", ctl_target(c), why);
	return -CTL_EXIT_UNREACHABLE;
}

/* The server's refusal, shown as it was sent: message, code, field. */
static int refused(const struct ctl_answer *a)
{
	const json_t *e = a->json ? json_object_get(a->json, "error") : NULL;
	const char *msg = ctl_jstr(e, "message"), *code = ctl_jstr(e, "code"),
	           *field = ctl_jstr(e, "field");
	int rc = -CTL_EXIT_FAILED;

	if (a->status == 404)
		rc = -CTL_EXIT_NOT_FOUND;
	else if (a->status >= 400 && a->status < 500)
		rc = -CTL_EXIT_REFUSED;
	if (msg && code && field && field[0])
		fprintf(stderr, "shoalctl: %s (%s, field %s)\n", msg, code, field);
	else if (msg && code)
		fprintf(stderr, "shoalctl: %s (%s)\n", msg, code);
	else
		fprintf(stderr, "shoalctl: shoald answered HTTP %ld: %.*s\n", a->status,
		        (int)(a->body ? strcspn(a->body, "\n") : 0), a->body ? a->body : "");
	return rc;
}

const char *ctl_target(const struct ctl *c)
{
	return c->url ? c->url : c->socket_path;
}

/* The first token of the token file (a line "TOKEN [NAME]"; blank lines and # comments skipped). */
static int read_token(struct ctl *c)
{
	char buf[4096], *p, *line, *save = NULL;
	struct stat st;
	ssize_t n;
	int fd = open(c->token_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ctl_fail(CTL_EXIT_USAGE, "cannot read the token file %s: %s", c->token_file,
		                strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ctl_fail(CTL_EXIT_USAGE, "the token file %s is not a regular file",
		                c->token_file);
	}
	if (st.st_mode & 0007) {
		close(fd);
		return ctl_fail(CTL_EXIT_USAGE,
		                "the token file %s is mode %04o: anyone may read it; it holds a "
		                "secret (chmod 600 %s)",
		                c->token_file, (unsigned)(st.st_mode & 07777), c->token_file);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return ctl_fail(CTL_EXIT_USAGE, "cannot read the token file %s: %s", c->token_file,
		                strerror(errno));
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		p = line + strspn(line, " \t");
		if (!*p || *p == '#' || *p == '\r')
			continue;
		p[strcspn(p, " \t\r")] = '\0';
		c->token = strdup(p);
		explicit_bzero(buf, sizeof(buf));
		return c->token ? 0 : ctl_fail(CTL_EXIT_FAILED, "out of memory");
	}
	explicit_bzero(buf, sizeof(buf));
	return ctl_fail(CTL_EXIT_USAGE, "the token file %s has no token", c->token_file);
}

void ctl_http_done(struct ctl *c)
{
	ctl_unix_done(c);
	ctl_remote_done(c);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
		c->token = NULL;
	}
}

/* Run the request; the answer into *a; 0 on 2xx, else the exit code (printed). */
static int perform(struct ctl *c, const struct ctl_req *r, struct ctl_sink *s, struct ctl_answer *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if (c->url) {
		rc = c->token_file && !c->token ? read_token(c) : 0;
		if (rc == 0)
			rc = ctl_remote_perform(c, r, s, &a->status);
	} else {
		rc = ctl_unix_perform(c, r, s, &a->status);
	}
	a->body = s->buf ? s->buf : strdup("");
	a->len = s->len;
	if (a->body && a->len)
		a->json = json_loadb(a->body, a->len, JSON_DECODE_ANY, NULL);
	if (s->too_big)
		rc = ctl_fail(CTL_EXIT_FAILED, "shoald's answer is larger than %u bytes",
		              CTL_BODY_MAX);
	else if (s->no_memory)
		rc = ctl_fail(CTL_EXIT_FAILED, "out of memory");
	else if (rc == 1) /* Ctrl-C: how a follow is meant to end */
		rc = 0;
	else if (rc == 0 && a->status / 100 != 2)
		rc = refused(a);
	if (rc < 0)
		ctl_answer_free(a);
	return rc;
}

int ctl_http(struct ctl *c, const char *method, const char *path, const char *json_body,
             struct ctl_answer *a)
{
	struct ctl_req r = { .method = method, .path = path };
	struct ctl_sink s = { 0 };

	if (!strcmp(method, "POST") || json_body) { /* PUT sends its body the same way */
		r.ctype = "application/json";
		r.body = json_body ? json_body : "";
		r.body_len = strlen(r.body);
	}
	return perform(c, &r, &s, a);
}

int ctl_http_upload(struct ctl *c, const char *path, const char *file, struct ctl_answer *a)
{
	struct ctl_req r = { .method = "POST", .path = path, .ctype = "application/octet-stream" };
	struct ctl_sink s = { 0 };
	struct stat st;
	int rc;

	memset(a, 0, sizeof(*a));
	r.file = fopen(file, "rbe");
	if (!r.file)
		return ctl_fail(CTL_EXIT_USAGE, "cannot read image %s: %s", file, strerror(errno));
	if (fstat(fileno(r.file), &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = ctl_fail(CTL_EXIT_USAGE, "image %s is not a regular file", file);
	} else {
		r.body_len = (unsigned long long)st.st_size;
		rc = perform(c, &r, &s, a);
	}
	fclose(r.file);
	return rc;
}

int ctl_http_stream(struct ctl *c, const char *path, ctl_stream_fn fn, void *ctx)
{
	struct ctl_req r = { .method = "GET", .path = path, .stream = 1 };
	struct ctl_sink s = { .fn = fn, .ctx = ctx };
	struct ctl_answer a;
	int rc;

	ctl_catch_interrupt();
	rc = perform(c, &r, &s, &a);
	if (rc == 0)
		ctl_answer_free(&a);
	return rc;
}

void ctl_answer_free(struct ctl_answer *a)
{
	free(a->body);
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

void ctl_print_raw(const struct ctl_answer *a)
{
	fwrite(a->body, 1, a->len, stdout);
	if (!a->len || a->body[a->len - 1] != '\n')
		putchar('\n');
}
