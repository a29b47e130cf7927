/*
 * shoalctl's HTTP client: libcurl on shoald's unix socket, or on its TCP
 * listener with TLS and a bearer token (--url).  Every way a request can
 * end is turned into one of ctl.h's exit codes here, in one place: the
 * server's JSON error is shown as it was sent, and a daemon out of reach
 * is said in a sentence that names the socket or the URL.
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
#include "shoalctl/ctl.h"

#define BODY_MAX (256u << 20) /* far more than any answer shoald gives */

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

/* Where an answer's body goes: kept, or handed to a stream as it comes. */
struct sink {
	struct ctl *c;
	char *buf;
	size_t len, cap;
	int too_big;
	ctl_stream_fn fn;
	void *ctx;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	long status = 0;

	if (s->fn) {
		/* Only a 2xx answer is the stream; an error's JSON is kept for the report. */
		curl_easy_getinfo(s->c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status / 100 == 2) {
			s->fn(s->ctx, p, len);
			return len;
		}
	}
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;

		while (cap < s->len + len + 1)
			cap *= 2;
		if (cap > BODY_MAX) {
			s->too_big = 1;
			return 0; /* ends the transfer */
		}
		nb = realloc(s->buf, cap);
		if (!nb)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return ctl_interrupted ? 1 : 0;
}

static int lost(struct ctl *c, CURLcode cc, int stream)
{
	const char *why = c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc);
	long oserr = 0;
	char buf[600];

	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &oserr);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		if (c->url && oserr == ECONNREFUSED)
			why = "nothing listens there (is shoald's listen-tcp set to it?)";
		else if (c->url)
			break;
		else if (oserr == ENOENT)
			why = "there is no socket there (is shoald running? --socket or "
			      "SHOAL_SOCKET names "
			      "another)";
		else if (oserr == ECONNREFUSED)
			why = "nothing listens on it (shoald is not running; the socket is stale)";
		else if (oserr == EACCES)
			why = "permission denied (the socket is mode 0660: run as root or in its "
			      "group)";
		else if (oserr) {
			snprintf(buf, sizeof(buf), "%s", strerror((int)oserr));
			why = buf;
		}
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(buf, sizeof(buf), "no answer within %g s (--timeout)", c->timeout_s);
		why = buf;
		break;
	case CURLE_GOT_NOTHING:
		why = "it closed the connection without answering";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(
		    buf, sizeof(buf),
		    "its TLS certificate is not trusted (--cacert names the CA that signed it): %s",
		    c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
		why = buf;
		break;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(buf, sizeof(buf), "the TLS handshake failed: %s",
		         c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
		why = buf;
		break;
	default:
		break;
	}
	if (stream && cc != CURLE_COULDNT_CONNECT)
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

static int setup(struct ctl *c, const char *method, const char *path, int stream)
{
	char url[2048];
	long timeout_ms = (long)(c->timeout_s * 1000);
	int rc;

	curl_easy_reset(c->curl);
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	c->curl_err[0] = '\0';
	if (c->url) {
		if (c->token_file && !c->token) {
			rc = read_token(c);
			if (rc < 0)
				return rc;
		}
		snprintf(url, sizeof(url), "%s%s", c->url, path);
		if (c->cacert)
			curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->cacert);
		curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https");
		if (c->token) {
			char *h = malloc(strlen(c->token) + 32);

			if (!h)
				return ctl_fail(CTL_EXIT_FAILED, "out of memory");
			sprintf(h, "Authorization: Bearer %s", c->token);
			c->hdrs = curl_slist_append(c->hdrs, h);
			explicit_bzero(h, strlen(h));
			free(h);
		}
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "shoalctl/" PACKAGE_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (timeout_ms > 0) {
		curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
		if (!stream)
			curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	}
	if (stream) {
		curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	}
	return 0;
}

void ctl_http_done(struct ctl *c)
{
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
		c->token = NULL;
	}
}

/* Run the request set up; the answer into *a; 0 on 2xx, else the exit code (printed). */
static int perform(struct ctl *c, struct sink *s, int stream, struct ctl_answer *a)
{
	CURLcode cc;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, s);
	if (c->hdrs)
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->hdrs);
	cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->status);
	a->body = s->buf ? s->buf : strdup("");
	a->len = s->len;
	if (a->body && a->len)
		a->json = json_loadb(a->body, a->len, JSON_DECODE_ANY, NULL);
	if (s->too_big) {
		rc = ctl_fail(CTL_EXIT_FAILED, "shoald's answer is larger than %u bytes", BODY_MAX);
	} else if (cc == CURLE_ABORTED_BY_CALLBACK && ctl_interrupted) {
		rc = 0;
	} else if (cc != CURLE_OK) {
		rc = lost(c, cc, stream && a->status);
	} else if (a->status / 100 != 2) {
		rc = refused(a);
	}
	if (rc < 0)
		ctl_answer_free(a);
	return rc;
}

int ctl_http(struct ctl *c, const char *method, const char *path, const char *json_body,
             struct ctl_answer *a)
{
	struct sink s = { .c = c };
	int rc;

	memset(a, 0, sizeof(*a));
	rc = setup(c, method, path, 0);
	if (rc < 0)
		return rc;
	if (!strcmp(method, "POST") || json_body) { /* PUT sends its body the same way */
		c->hdrs = curl_slist_append(c->hdrs, "Content-Type: application/json");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, json_body ? json_body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(json_body ? strlen(json_body) : 0));
	}
	return perform(c, &s, 0, a);
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
	size_t r = fread(p, 1, size * n, arg);

	if (r == 0 && ferror((FILE *)arg))
		return CURL_READFUNC_ABORT;
	return r;
}

int ctl_http_upload(struct ctl *c, const char *path, const char *file, struct ctl_answer *a)
{
	struct sink s = { .c = c };
	struct stat st;
	FILE *f = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	f = fopen(file, "rbe");
	if (!f) {
		rc = ctl_fail(CTL_EXIT_USAGE, "cannot read image %s: %s", file, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = ctl_fail(CTL_EXIT_USAGE, "image %s is not a regular file", file);
		goto out;
	}
	rc = setup(c, "POST", path, 0);
	if (rc < 0)
		goto out;
	c->hdrs = curl_slist_append(c->hdrs, "Content-Type: application/octet-stream");
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c->curl, CURLOPT_READDATA, f);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
	rc = perform(c, &s, 0, a);
out:
	if (f)
		fclose(f);
	return rc;
}

int ctl_http_stream(struct ctl *c, const char *path, ctl_stream_fn fn, void *ctx)
{
	struct sink s = { .c = c, .fn = fn, .ctx = ctx };
	struct ctl_answer a;
	int rc;

	ctl_catch_interrupt();
	rc = setup(c, "GET", path, 1);
	if (rc < 0)
		return rc;
	rc = perform(c, &s, 1, &a);
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
