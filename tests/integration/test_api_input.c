/*
 * The API's bad-input suite (tests/data/api-bad-input.txt) against a real
 * shoald: each request gets the status, error code and field the data
 * file names, and the guests the daemon ran before keep running, same
 * instance, same process.  Plus what the data file cannot say: a body
 * announced as huge is refused before it is read, garbage instead of
 * HTTP, and a client that hangs up mid-request.  TAP.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/corpus.h"
#include "tests/lib/httpc.h"
#include "tests/lib/sdtest.h"

static struct shoald_run sd;
static char keep_pid[2][32], keep_inst[2][32];
static char idle_sha[65], odd_file[300];

/* The sha256 of a file, by sha256sum; "" when it cannot be had. */
static void file_sha256(const char *path, char out[65])
{
	char cmd[800];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	p = popen(cmd, "r");
	if (!p)
		return;
	if (!fgets(out, 65, p))
		out[0] = '\0';
	pclose(p);
}

/* Replace every @KEY@ in s (into out). */
static void expand(const char *s, char *out, size_t cap, const char *datafile)
{
	static const char zero[] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	const struct corpus_key keys[] = {
		{ "@HELLO@", shoald_guest_image(&sd, "hello"), 0 },
		{ "@DATAFILE@", datafile, 0 },
		{ "@ZEROSHA@", zero, 0 },
		{ "@IDLESHA@", idle_sha, 0 },
		{ "@ODDFILE@", odd_file, 0 },
	};

	corpus_expand(s, keys, sizeof(keys) / sizeof(keys[0]), out, cap);
}

static int spec_sha_ok(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static void guest_pid_instance(const char *name, char *pid, char *inst)
{
	char path[128];
	struct http_answer a;

	snprintf(path, sizeof(path), "/v1/guests/%s", name);
	pid[0] = inst[0] = '\0';
	if (http_req(sd.sock, "GET", path, NULL, &a) == 0 && a.json) {
		snprintf(pid, 32, "%lld",
		         (long long)json_integer_value(json_object_get(a.json, "pid")));
		snprintf(inst, 32, "%lld",
		         (long long)json_integer_value(json_object_get(a.json, "instance")));
	}
	http_answer_free(&a);
}

static int keepers_untouched(void)
{
	char pid[32], inst[32];
	int i;

	for (i = 0; i < 2; i++) {
		char name[16];

		snprintf(name, sizeof(name), "keep-%d", i + 1);
		guest_pid_instance(name, pid, inst);
		if (strcmp(pid, keep_pid[i]) || strcmp(inst, keep_inst[i]) || atoi(pid) <= 0 ||
		    kill(atoi(pid), 0))
			return 0;
	}
	return 1;
}

static void run_case(char *line, const char *datafile)
{
	char *f[8], *rest = line, *p;
	char body[4096], *big = NULL, *req;
	const char *b;
	size_t blen, cap;
	struct http_answer a;
	int n = 0, want, ok_status, ok_code, ok_field;

	while ((p = strsep(&rest, "|")) && n < 8)
		f[n++] = corpus_trim(p);
	if (n != 8) {
		tap_ok(0, "malformed line in the data file (%d fields)", n);
		return;
	}
	if (!strncmp(f[4], "@big:", 5)) {
		size_t want_len = (size_t)atol(f[4] + 5), i;

		big = malloc(want_len + 1);
		memcpy(big, "{\"name\":\"big\",\"image\":\"/x\",\"args\":[\"", 36);
		for (i = 36; i < want_len - 3; i++)
			big[i] = 'a';
		memcpy(big + want_len - 3, "\"]}", 3);
		big[want_len] = '\0';
		b = big;
	} else if (!strcmp(f[4], "-")) {
		b = "";
	} else {
		expand(f[4], body, sizeof(body), datafile);
		b = body;
	}
	blen = strlen(b);
	cap = blen + 1024;
	req = malloc(cap);
	n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: shoald\r\nConnection: close\r\n", f[1],
	             f[2]);
	if (strcmp(f[3], "-"))
		n += snprintf(req + n, cap - (size_t)n, "Content-Type: %s\r\n", f[3]);
	n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n\r\n", blen);
	memcpy(req + n, b, blen);
	if (http_raw(sd.sock, req, (size_t)n + blen, 10000, &a) < 0) {
		tap_ok(0, "%s: no answer", f[0]);
		free(req);
		free(big);
		return;
	}
	want = atoi(f[5]);
	ok_status = a.status == want;
	ok_code = !strcmp(f[6], "-") || !strcmp(http_err_code(&a), f[6]);
	ok_field = !strcmp(f[7], "-") || !strcmp(http_err_field(&a), f[7]) ||
	           (!f[7][0] && !*http_err_field(&a));
	if (!tap_ok(ok_status && ok_code && ok_field, "%s: %d %s%s%s", f[0], want, f[6],
	            f[7][0] ? ", field " : "", f[7]))
		tap_diag("got %d %s", a.status, a.body);
	else if (want >= 400 && !strstr(a.body, "\"message\":\""))
		tap_ok(0, "%s: the error has a message", f[0]);
	http_answer_free(&a);
	free(req);
	free(big);
}

/* What a data file cannot express. */
static void raw_cases(void)
{
	static const char huge[] =
	    "POST /v1/guests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{";
	static const char garbage[] =
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 this is not HTTP\r\n\r\n";
	static const char half[] =
	    "POST /v1/guests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 500\r\n\r\n{\"name\":";
	struct http_answer a;

	http_raw(sd.sock, huge, sizeof(huge) - 1, 5000, &a);
	tap_ok(a.status == 413 && !strcmp(http_err_code(&a), "body_too_large"),
	       "a body announced as 10 GB is refused with 413 before it is read (got %d)",
	       a.status);
	http_answer_free(&a);
	http_raw(sd.sock, garbage, sizeof(garbage) - 1, 3000, &a);
	tap_ok(a.status == 400 || a.status == 0,
	       "garbage instead of HTTP gets 400 or a closed connection (%d)", a.status);
	http_answer_free(&a);
	/* A client that sends half a body and gives up after 300 ms. */
	http_raw(sd.sock, half, sizeof(half) - 1, 300, &a);
	http_answer_free(&a);
	tap_ok(http_req(sd.sock, "GET", "/v1/host", NULL, &a) == 0 && a.status == 200,
	       "shoald keeps answering after a client left mid-request");
	http_answer_free(&a);
}

int main(void)
{
	static const char *const extra[] = { "--max-guests=3", "--max-memory-mib=512", NULL };
	const char *src = getenv("top_srcdir");
	char datafile[1024], line[8192], spec[1024];
	struct http_answer a;
	FILE *f, *odd;
	int i;

	sdtest_platform();
	signal(SIGPIPE, SIG_IGN);
	snprintf(datafile, sizeof(datafile), "%s/tests/data/api-bad-input.txt", src ? src : ".");
	if (!realpath(datafile, line) || strlen(line) >= sizeof(datafile)) {
		tap_ok(0, "the data file %s exists", datafile);
		return tap_done();
	}
	memcpy(datafile, line, strlen(line) + 1);
	f = fopen(datafile, "r");
	if (!f || shoald_start(&sd, extra) < 0) {
		tap_ok(0, "shoald starts");
		shoald_cleanup(&sd);
		return tap_done();
	}
	for (i = 0; i < 2; i++) {
		snprintf(spec, sizeof(spec), "{\"name\":\"keep-%d\",\"image\":\"%s\"}", i + 1,
		         shoald_guest_image(&sd, "idle"));
		http_req(sd.sock, "POST", "/v1/guests", spec, &a);
		http_answer_free(&a);
		snprintf(line, sizeof(line), "keep-%d", i + 1);
		guest_pid_instance(line, keep_pid[i], keep_inst[i]);
	}
	tap_ok(atoi(keep_pid[0]) > 0 && atoi(keep_pid[1]) > 0,
	       "two guests run before the bad input starts");
	file_sha256(shoald_guest_image(&sd, "idle"), idle_sha);
	tap_ok(spec_sha_ok(idle_sha), "the idle image's sha256 is known");
	snprintf(odd_file, sizeof(odd_file), "%s/odd.img", sd.dir);
	odd = fopen(odd_file, "w");
	for (i = 0; odd && i < 1000; i++)
		fputc('o', odd);
	tap_ok(odd && fclose(odd) == 0, "a file of 1000 bytes, not whole sectors, is made");
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !corpus_trim(line)[0])
			continue;
		run_case(line, datafile);
	}
	fclose(f);
	raw_cases();
	tap_ok(keepers_untouched(),
	       "after all of it the two guests still run: same process, same instance");
	if (tap_failed)
		shoald_dump_log(&sd);
	shoald_cleanup(&sd);
	return tap_done();
}
