/*
 * Who may use shoald's API, against a real shoald.  First the access
 * settings of tests/data/auth-config.txt, good and bad, through shoald -n
 * and a real start.  Then one shoald with the unix socket for root and
 * group nogroup and a TCP listener with TLS and tokens (certificates made
 * here with openssl): on TCP no token, a wrong token and plain HTTP are
 * refused, the right token deploys a KVM guest (with shoalctl --url), the
 * token file is read again on SIGHUP, refusals are logged with the
 * caller's address and never a token; on the unix socket a caller outside
 * the group is refused even when the socket's mode would let it in, and
 * callers in the group (primary or supplementary) get through.  TAP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tests/lib/corpus.h"
#include "tests/lib/httpc.h"
#include "tests/lib/sdapi.h"
#include "tests/lib/shoald_run.h"
#include "tests/lib/tap.h"

#define TOKEN_A     "a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define TOKEN_B     "Zm9vYmFyLWJhei1xdXV4LTEyMzQ1Ng=="
#define TOKEN_C     "cccccccccccccccccccccccccccccccc"
#define TOKEN_WRONG "a1b2c3d4e5f60718293a4b5c6d7e8f91"

static struct shoald_run sd;
static char dir[256]; /* certificates and token files */
static char builddir[600];
static int port;

/* ---- files ---- */

static int write_file(const char *name, const char *text, mode_t mode)
{
	char path[400];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return chmod(path, mode);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* What a command left in path, into out (terminated; "" when there is none). */
static void read_out(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(out, 1, outlen - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

/* The CA, the server's certificate and key, and the bad files the config cases name. */
static int make_files(void)
{
	char path[400];

	if (sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	       "-nodes -keyout ca.key "
	       "-out ca.pem -days 2 -subj /CN=shoal-test-ca 2>/dev/null >&2 && "
	       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	       "srv.key -out srv.csr "
	       "-subj /CN=localhost 2>/dev/null && "
	       "printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\\n' >ext && "
	       "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
	       "srv.pem -days 2 "
	       "-extfile ext 2>/dev/null && "
	       "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -out expired.pem -days 0 "
	       "-extfile ext 2>/dev/null && "
	       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	       "ca2.key "
	       "-out ca2.pem -days 2 -subj /CN=shoal-test-ca-2 2>/dev/null >&2 && "
	       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	       "srv2.key "
	       "-out srv2.csr -subj /CN=localhost 2>/dev/null && "
	       "openssl x509 -req -in srv2.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial -out "
	       "srv2.pem "
	       "-days 2 -extfile ext 2>/dev/null && chmod 600 srv2.key && "
	       "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out other.key "
	       "2>/dev/null && "
	       "openssl pkey -in srv.key -aes256 -passout pass:secret -out enc.key 2>/dev/null && "
	       "cp srv.key world.key && cp srv.pem cert-as.key && chmod 600 srv.key other.key "
	       "enc.key cert-as.key && "
	       "chmod 644 world.key",
	       dir) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/folder", dir);
	mkdir(path, 0700);
	if (write_file("tok", "# the test's tokens\n" TOKEN_A " first\n\n" TOKEN_B " second one\n",
	               0600) ||
	    write_file("tok-world", TOKEN_A "\n", 0644) ||
	    write_file("tok-gw", TOKEN_A "\n", 0620) ||
	    write_file("tok-nobody", TOKEN_A "\n", 0600) ||
	    write_file("tok-empty", "# nothing but comments\n\n", 0600) ||
	    write_file("tok-short", "# a comment\n\nshorttok\n", 0600) ||
	    write_file("tok-badchar", "abc\"defghijklmnopqrstuvwxyz\n", 0600) ||
	    write_file("tok-dup", TOKEN_A " first\n" TOKEN_A " again\n", 0600) ||
	    write_file("garbage.pem", "this is not a certificate\n", 0644) ||
	    write_file(
	        "garbage.key",
	        "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
	        0600))
		return -1;
	snprintf(path, sizeof(path), "%s/tok-nobody", dir);
	return chown(path, 65534, 65534);
}

/* ---- the config cases ---- */

/* s with @DIR@, @PORT@, TLS= and TOK= expanded. */
static void expand(const char *s, char *out, size_t cap)
{
	char num[16], tls[600], tok[450];
	const struct corpus_key keys[] = {
		{ "@DIR@", dir, 0 },
		{ "@PORT@", num, 0 },
		{ "TLS=", tls, 1 },
		{ "TOK=", tok, 1 },
	};

	snprintf(num, sizeof(num), "%d", port);
	snprintf(tls, sizeof(tls), "--tls-cert=%s/srv.pem --tls-key=%s/srv.key", dir, dir);
	snprintf(tok, sizeof(tok), "--token-file=%s/tok", dir);
	corpus_expand(s, keys, sizeof(keys) / sizeof(keys[0]), out, cap);
}

/* shoald with these options (-n when check); its output into out; the exit status. */
static int run_shoald(const char *opts, int check, const char *run_dir, char *out, size_t outlen)
{
	char cmd[4096], outfile[400];
	int st;

	snprintf(outfile, sizeof(outfile), "%s/case.out", dir);
	snprintf(cmd, sizeof(cmd),
	         "exec '%s/daemon/shoald' --config=/dev/null --state-dir=%s/state --run-dir=%s "
	         "--vmm=%s/vmm/shoal-vmm "
	         "--pool-size=0 %s %s >'%s' 2>&1 </dev/null",
	         builddir, run_dir, run_dir, builddir, check ? "-n" : "",
	         strcmp(opts, "-") ? opts : "", outfile);
	/* A real start that is wrongly accepted must not outlive its check. */
	if (!check) {
		char t[4200];

		snprintf(t, sizeof(t), "timeout -s KILL 20 sh -c \"%s\"", cmd);
		st = sh("%s", t);
	} else {
		st = sh("%s", cmd);
	}
	read_out(outfile, out, outlen);
	return st;
}

static void config_cases(const char *datafile)
{
	char line[2048], run_dir[400], sock[500];
	FILE *f = fopen(datafile, "r");

	if (!tap_ok(f != NULL, "the config cases can be read (%s)", datafile))
		return;
	snprintf(run_dir, sizeof(run_dir), "%s/case-run", dir);
	snprintf(sock, sizeof(sock), "%s/shoald.sock", run_dir);
	while (fgets(line, sizeof(line), f)) {
		char *fld[3], *rest = line, *p, opts[2048], want[1024], out[8192];
		int n = 0, st, fail;

		if (line[0] == '#' || !corpus_trim(line)[0])
			continue;
		while ((p = strsep(&rest, "|")) && n < 3)
			fld[n++] = corpus_trim(p);
		if (n != 3 || rest) {
			tap_ok(0, "malformed line in the data file: %s", line);
			continue;
		}
		expand(fld[1], opts, sizeof(opts));
		fail = !strncmp(fld[2], "fail: ", 6);
		expand(fail                          ? fld[2] + 6
		       : !strncmp(fld[2], "ok: ", 4) ? fld[2] + 4
		                                     : "",
		       want, sizeof(want));
		if (!fail && strncmp(fld[2], "ok", 2)) {
			tap_ok(0, "%s: expected is ok, ok: TEXT or fail: TEXT, not \"%s\"", fld[0],
			       fld[2]);
			continue;
		}
		st = run_shoald(opts, 1, run_dir, out, sizeof(out));
		if (!tap_ok(fail ? st != 0 && strstr(out, want)
		                 : st == 0 && strstr(out, "configuration OK") && strstr(out, want),
		            "shoald -n, %s: %s", fld[0],
		            fail ? "refused, saying why" : "accepted")) {
			tap_diag("options: %s", opts);
			tap_diag("exit %d, expected %s; wanted \"%s\" in:\n# %s", st,
			         fail ? "non-zero" : "0", want, out);
		}
		if (!fail)
			continue;
		st = run_shoald(opts, 0, run_dir, out, sizeof(out));
		if (!tap_ok(st != 0 && st != 137 && strstr(out, want) && access(sock, F_OK) != 0,
		            "shoald, %s: does not start, says why, leaves no socket", fld[0])) {
			tap_diag("exit %d; wanted \"%s\" in:\n# %s", st, want, out);
			unlink(sock);
		}
	}
	fclose(f);
}

/* ---- HTTPS ---- */

struct hs {
	long status;
	CURLcode cc;
	char body[16384];
	size_t len;
	char www[256];
	char err[CURL_ERROR_SIZE];
	json_t *json;
};

static size_t hs_body(char *p, size_t size, size_t n, void *arg)
{
	struct hs *h = arg;
	size_t len = size * n,
	       take = len < sizeof(h->body) - 1 - h->len ? len : sizeof(h->body) - 1 - h->len;

	memcpy(h->body + h->len, p, take);
	h->len += take;
	h->body[h->len] = '\0';
	return len;
}

static size_t hs_header(char *p, size_t size, size_t n, void *arg)
{
	struct hs *h = arg;
	size_t len = size * n;

	if (len > 17 && !strncasecmp(p, "WWW-Authenticate:", 17))
		snprintf(h->www, sizeof(h->www), "%.*s", (int)(len - 17), p + 17);
	return len;
}

/* One request to the TCP listener; token NULL: none; ca 0: without the test's CA, 2: the second CA.
 */
static void https(const char *scheme, const char *method, const char *path, const char *token,
                  int ca, const char *body, struct hs *h)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[300], auth[600], cafile[400];

	memset(h, 0, sizeof(*h));
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", scheme, port, path);
	snprintf(cafile, sizeof(cafile), "%s/%s", dir, ca == 2 ? "ca2.pem" : "ca.pem");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	                 !strncmp(path, "/v1/events?follow=1", 19) ? 1500L : 20000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hs_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hs_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: %s%s",
		         strncmp(token, "Basic ", 6) ? "Bearer " : "", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") && strcmp(method, "POST"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	h->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	h->json = json_loads(h->body, 0, NULL);
}

static const char *hs_code(const struct hs *h)
{
	const char *s =
	    json_string_value(json_object_get(json_object_get(h->json, "error"), "code"));

	return s ? s : "";
}

static void hs_free(struct hs *h)
{
	json_decref(h->json);
	h->json = NULL;
}

static int check_401(const char *what, const char *method, const char *path, const char *token,
                     const char *code)
{
	struct hs h;
	int ok;

	https("https", method, path, token, 1, !strcmp(method, "POST") ? "{}" : NULL, &h);
	ok = h.status == 401 && !strcmp(hs_code(&h), code) &&
	     !strncmp(h.www + strspn(h.www, " "), "Bearer", 6);
	if (!tap_ok(ok, "TCP %s %s, %s: 401 %s with WWW-Authenticate: Bearer", method, path, what,
	            code))
		tap_diag("status %ld (curl: %s), WWW-Authenticate \"%s\", body %s", h.status, h.err,
		         h.www, h.body);
	hs_free(&h);
	return ok;
}

static long status_with(const char *token, const char *path)
{
	struct hs h;
	long s;

	https("https", "GET", path, token, 1, NULL, &h);
	s = h.status;
	hs_free(&h);
	return s;
}

/* Plain HTTP to the TLS port: what comes back (no HTTP answer), and whether it was closed. */
static int plain_http(char *got, size_t cap, size_t *len, int *closed)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	const char req[] = "GET /v1/host HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timespec t0, t1;

	*len = 0;
	*closed = 0;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 10 || poll(&p, 1, 1000) < 0)
			break;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(fd, got + *len, cap - 1 - *len);
		if (r <= 0) {
			*closed = 1;
			break;
		}
		*len += (size_t)r;
	}
	got[*len] = '\0';
	close(fd);
	return 0;
}

/* ---- shoalctl over TCP ---- */

static int ctl(const char *token_file, int ca, const char *args, char *out, size_t outlen)
{
	char cmd[2048], cafile[420] = "", outfile[400];
	int st;

	if (ca)
		snprintf(cafile, sizeof(cafile), "--cacert=%s/ca.pem", dir);
	snprintf(outfile, sizeof(outfile), "%s/ctl.out", dir);
	snprintf(
	    cmd, sizeof(cmd),
	    "'%s/shoalctl/shoalctl' --url https://127.0.0.1:%d %s%s %s %s >'%s' 2>&1 </dev/null",
	    builddir, port, token_file ? "--token-file=" : "", token_file ? token_file : "", cafile,
	    args, outfile);
	st = sh("%s", cmd);
	read_out(outfile, out, outlen);
	return st;
}

/* ---- the unix socket as another user ---- */

/*
 * A child that becomes uid/gid with the supplementary groups given and
 * then asks GET /v1/host; "STATUS CODE MESSAGE" comes back, or "-ERRNO"
 * when it cannot connect.
 */
static void as_caller(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups, char *res,
                      size_t cap)
{
	int pfd[2];
	pid_t pid;
	ssize_t n;

	res[0] = '\0';
	if (pipe(pfd) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct http_answer a;
		char buf[600];
		int r;

		close(pfd[0]);
		if (setgroups(ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
			snprintf(buf, sizeof(buf), "cannot become uid %u: %s", (unsigned)uid,
			         strerror(errno));
		} else if ((r = http_req(sd.sock, "GET", "/v1/host", NULL, &a)) < 0) {
			snprintf(buf, sizeof(buf), "-%d", errno);
		} else {
			const json_t *e = json_object_get(a.json, "error");

			snprintf(buf, sizeof(buf), "%d %s %s", a.status, http_err_code(&a),
			         json_string_value(json_object_get(e, "message"))
			             ? json_string_value(json_object_get(e, "message"))
			             : "");
		}
		(void)!write(pfd[1], buf, strlen(buf));
		_exit(0);
	}
	close(pfd[1]);
	n = pid > 0 ? read(pfd[0], res, cap - 1) : 0;
	res[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void unix_checks(void)
{
	struct group *gr = getgrnam("nogroup");
	struct http_answer a;
	struct stat st;
	char res[700];
	gid_t g, other = 65533;

	if (!gr) {
		tap_skip("unix socket callers", "this machine has no group nogroup");
		return;
	}
	g = gr->gr_gid;
	tap_ok(stat(sd.sock, &st) == 0 && st.st_gid == g && (st.st_mode & 0777) == 0660 &&
	           st.st_uid == 0,
	       "the socket is root:nogroup, mode 0660");
	tap_ok(http_req(sd.sock, "GET", "/v1/host", NULL, &a) == 0 && a.status == 200,
	       "unix socket: root gets 200");
	http_answer_free(&a);
	/* The test's folder is 0700: let the other users reach the socket inside. */
	chmod(sd.dir, 0711);
	as_caller(65534, other, NULL, 0, res, sizeof(res));
	if (!tap_ok(atoi(res) == -EACCES,
	            "unix socket, uid 65534 outside the group: the socket's mode keeps it out"))
		tap_diag("got \"%s\"", res);
	/* The mode is one guard; shoald's own check of the caller is the other. */
	chmod(sd.sock, 0666);
	as_caller(65534, other, NULL, 0, res, sizeof(res));
	if (!tap_ok(!strncmp(res, "403 caller_not_allowed ", 23) && strstr(res, "uid 65534") &&
	                strstr(res, "nogroup"),
	            "unix socket, uid 65534 outside the group, socket mode 0666: 403 "
	            "caller_not_allowed naming the "
	            "uid and the group"))
		tap_diag("got \"%s\"", res);
	as_caller(65534, g, NULL, 0, res, sizeof(res));
	if (!tap_ok(!strncmp(res, "200 ", 4),
	            "unix socket, uid 65534 with nogroup as its group: 200"))
		tap_diag("got \"%s\"", res);
	as_caller(65534, other, &g, 1, res, sizeof(res));
	if (!tap_ok(!strncmp(res, "200 ", 4),
	            "unix socket, uid 65534 with nogroup as a supplementary group: 200"))
		tap_diag("got \"%s\"", res);
	chmod(sd.sock, 0660);
	as_caller(65534, g, NULL, 0, res, sizeof(res));
	if (!tap_ok(!strncmp(res, "200 ", 4),
	            "unix socket, mode 0660 again: the group member still gets 200"))
		tap_diag("got \"%s\"", res);
}

/* ---- the log ---- */

static char *read_log(void)
{
	FILE *f = fopen(sd.log, "r");
	char *buf;
	size_t n;

	if (!f)
		return strdup("");
	buf = malloc(8 << 20);
	n = fread(buf, 1, (8 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static int wait_status(const char *token, long want, int ms)
{
	for (; ms > 0; ms -= 100) {
		if (status_with(token, "/v1/host") == want)
			return 1;
		usleep(100000);
	}
	return 0;
}

static char srcdir[600] = ".";

static int start(void)
{
	char opts[6][500];
	const char *extra[9];
	char uidir[700];
	int i, t;

	for (t = 0; t < 5; t++) {
		port = 20000 + (int)((unsigned)rand() % 40000);
		snprintf(opts[0], sizeof(opts[0]), "--listen-tcp=127.0.0.1:%d", port);
		snprintf(opts[1], sizeof(opts[1]), "--tls-cert=%s/srv.pem", dir);
		snprintf(opts[2], sizeof(opts[2]), "--tls-key=%s/srv.key", dir);
		snprintf(opts[3], sizeof(opts[3]), "--token-file=%s/tok", dir);
		snprintf(opts[4], sizeof(opts[4]), "--socket-group=%s",
		         getgrnam("nogroup") ? "nogroup" : "");
		snprintf(opts[5], sizeof(opts[5]), "--pool-size=1");
		for (i = 0; i < 6; i++)
			extra[i] = opts[i];
		snprintf(uidir, sizeof(uidir), "--ui-dir=%s/api/dashboard", srcdir);
		extra[6] = uidir;
		extra[7] = NULL;
		if (shoald_start(&sd, extra) == 0)
			return 0;
		{
			char *log = read_log();
			int busy = strstr(log, "Address already in use") != NULL;

			free(log);
			if (!busy)
				return -1;
		}
		shoald_cleanup(&sd);
	}
	return -1;
}

int main(void)
{
	const char *src = getenv("top_srcdir"), *b = getenv("top_builddir");
	char datafile[600], out[8192], tokfile[400], *log;
	char got[4096];
	size_t got_len;
	struct hs h;
	int closed, r;
	unsigned before;

	if (!shoald_have_kvm())
		tap_skip_all("/dev/kvm is not available (or SHOAL_TEST_NO_KVM is set)");
	if (geteuid() != 0)
		tap_skip_all("needs root (callers of other users are made with setuid)");
	if (sh("command -v openssl >/dev/null") != 0)
		tap_skip_all(
		    "no openssl to make the test's certificates (scripts/deps.sh installs it)");
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (!realpath(b ? b : ".", builddir) || !realpath(src ? src : ".", srcdir))
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/shoal-auth-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!tap_ok(make_files() == 0, "the certificates and token files are made")) {
		sh("rm -rf '%s'", dir);
		return tap_done();
	}
	port = 20000 + (int)((unsigned)rand() % 40000);
	snprintf(datafile, sizeof(datafile), "%s/tests/data/auth-config.txt", src ? src : ".");
	/* expired.pem ends the second it was made: let that second pass. */
	sleep(1);
	config_cases(datafile);

	if (start() < 0) {
		tap_ok(0, "shoald starts with TCP, TLS and tokens");
		shoald_dump_log(&sd);
		goto out;
	}
	tap_ok(1, "shoald starts with the unix socket and TCP 127.0.0.1:%d with TLS and tokens",
	       port);
	sdapi_use(sd.sock);
	snprintf(tokfile, sizeof(tokfile), "%s/tok", dir);

	/* TCP: nothing is served without a token of the file. */
	check_401("no token", "GET", "/v1/host", NULL, "token_required");
	check_401("a wrong token", "GET", "/v1/host", TOKEN_WRONG, "token_invalid");
	check_401("a token that is too short", "GET", "/v1/host", "abc", "token_invalid");
	check_401("no token", "GET", "/metrics", NULL, "token_required");
	check_401("a wrong token", "GET", "/metrics", TOKEN_WRONG, "token_invalid");
	check_401("no token, a route that does not exist", "GET", "/v1/nosuch", NULL,
	          "token_required");
	tap_ok(status_with(NULL, "/ui/") == 200,
	       "TCP GET /ui/ without a token: 200 (the dashboard's files hold no data)");
	tap_ok(status_with(NULL, "/ui/app.js") == 200, "TCP GET /ui/app.js without a token: 200");
	https("https", "HEAD", "/ui/app.js", NULL, 1, NULL, &h);
	if (!tap_ok(h.status == 200 && h.len == 0,
	            "TCP HEAD /ui/app.js without a token: 200, headers only"))
		tap_diag("status %ld (curl: %s), %zu bytes of body", h.status, h.err, h.len);
	hs_free(&h);
	https("https", "HEAD", "/v1/host", NULL, 1, NULL, &h);
	if (!tap_ok(h.status == 401 && !strncmp(h.www + strspn(h.www, " "), "Bearer", 6),
	            "TCP HEAD /v1/host without a token: 401 with WWW-Authenticate: Bearer"))
		tap_diag("status %ld (curl: %s), WWW-Authenticate \"%s\"", h.status, h.err, h.www);
	hs_free(&h);
	check_401("no token, a path under the dashboard's", "GET", "/ui/x/../../v1/host", NULL,
	          "token_required");
	check_401("no token, POST to the dashboard's path", "POST", "/ui/", NULL, "token_required");
	check_401("no token", "POST", "/v1/guests", NULL, "token_required");
	check_401("Basic instead of Bearer", "GET", "/v1/host", "Basic " TOKEN_A, "token_required");
	tap_ok(status_with(TOKEN_A, "/v1/host") == 200,
	       "TCP GET /v1/host with the first token: 200");
	tap_ok(status_with(TOKEN_B, "/v1/host") == 200,
	       "TCP GET /v1/host with the second token (base64): 200");
	tap_ok(status_with(TOKEN_A, "/metrics") == 200, "TCP GET /metrics with a token: 200");
	https("https", "POST", "/v1/guests", NULL, 1,
	      "{\"name\":\"sneaky\",\"image\":\"/nonexistent\",\"memory_mib\":16}", &h);
	hs_free(&h);
	{
		struct http_answer a;

		tap_ok(http_req(sd.sock, "GET", "/v1/guests/sneaky", NULL, &a) == 0 &&
		           a.status == 404,
		       "a deploy without a token made no guest");
		http_answer_free(&a);
	}

	/* TLS is all there is on the port, and its certificate is the one configured. */
	r = plain_http(got, sizeof(got), &got_len, &closed);
	if (!tap_ok(r == 0 && closed && !strstr(got, "HTTP/"),
	            "plain HTTP to the TLS port: no HTTP answer, the connection is closed (%zu "
	            "bytes back)",
	            got_len))
		tap_diag("connect %d, closed %d, got: %.200s", r, closed, got);
	https("http", "GET", "/v1/host", TOKEN_A, 1, NULL, &h);
	if (!tap_ok(h.cc != CURLE_OK && h.status != 200,
	            "curl with http:// and the right token: refused (%s)", h.err))
		tap_diag("curl %d, status %ld", h.cc, h.status);
	hs_free(&h);
	https("https", "GET", "/v1/host", TOKEN_A, 0, NULL, &h);
	if (!tap_ok(h.cc == CURLE_PEER_FAILED_VERIFICATION,
	            "HTTPS without the test's CA: the certificate is not trusted (it is the test "
	            "CA's)"))
		tap_diag("curl %d (%s), status %ld", h.cc, h.err, h.status);
	hs_free(&h);

	/* A real request over TCP: shoalctl uploads and deploys a KVM guest, and reads its console.
	 */
	{
		char args[1200];

		snprintf(args, sizeof(args),
		         "deploy --name tcp-hello --image '%s' --memory 16 --arg over-tls "
		         "--restart never",
		         shoald_guest_image(&sd, "hello"));
		r = ctl(tokfile, 1, args, out, sizeof(out));
		if (!tap_ok(r == 0 && strstr(out, "tcp-hello deployed"),
		            "shoalctl --url --token-file --cacert deploy: the guest is uploaded "
		            "and deployed over TLS"))
			tap_diag("exit %d: %s", r, out);
		tap_ok(sd_wait_console("tcp-hello", "hello from tcp-hello: over-tls", 10000),
		       "the guest deployed over TCP ran (its console, read on the unix socket)");
		r = ctl(tokfile, 1, "console tcp-hello", out, sizeof(out));
		tap_ok(r == 0 && strstr(out, "over-tls"), "shoalctl console over TCP shows it");
		r = ctl(tokfile, 1, "--json ls", out, sizeof(out));
		tap_ok(r == 0 && strstr(out, "\"tcp-hello\""),
		       "shoalctl --json ls over TCP lists it");
		r = ctl(NULL, 1, "host", out, sizeof(out));
		if (!tap_ok(r == 1 && strstr(out, "token_required"),
		            "shoalctl --url without a token: exit 1, token_required"))
			tap_diag("exit %d: %s", r, out);
		write_file("tok-client-wrong", TOKEN_WRONG "\n", 0600);
		snprintf(args, sizeof(args), "%s/tok-client-wrong", dir);
		r = ctl(args, 1, "host", out, sizeof(out));
		if (!tap_ok(r == 1 && strstr(out, "token_invalid"),
		            "shoalctl --url with a wrong token: exit 1, token_invalid"))
			tap_diag("exit %d: %s", r, out);
		r = ctl(tokfile, 0, "host", out, sizeof(out));
		if (!tap_ok(r == 3 && strstr(out, "not trusted"),
		            "shoalctl --url without --cacert: exit 3, not trusted"))
			tap_diag("exit %d: %s", r, out);
		snprintf(args, sizeof(args), "%s/tok-world", dir);
		r = ctl(args, 1, "host", out, sizeof(out));
		if (!tap_ok(r == 2 && strstr(out, "anyone may read it"),
		            "shoalctl --token-file readable by anyone: exit 2, nothing sent"))
			tap_diag("exit %d: %s", r, out);
		snprintf(args, sizeof(args),
		         "'%s/shoalctl/shoalctl' --url http://127.0.0.1:%d host >/dev/null 2>&1",
		         builddir, port);
		tap_ok(sh("%s", args) == 2,
		       "shoalctl --url http://...: exit 2 (shoald serves TCP only with TLS)");
		/* A stream over TLS: the event log from the start, then it follows until curl gives
		 * up. */
		https("https", "GET", "/v1/events?follow=1&since=0", TOKEN_A, 1, NULL, &h);
		if (!tap_ok(h.status == 200 && h.cc == CURLE_OPERATION_TIMEDOUT &&
		                strstr(h.body, "guest tcp-hello started"),
		            "TCP GET /v1/events?follow=1: the stream sends the log and stays open"))
			tap_diag("status %ld, curl %d (%s), body %.300s", h.status, h.cc, h.err,
			         h.body);
		hs_free(&h);
		r = ctl(tokfile, 1, "rm tcp-hello", out, sizeof(out));
		tap_ok(r == 0, "shoalctl rm over TCP");
	}

	/* The unix socket: root, the group, and nobody else. */
	unix_checks();

	/* SIGHUP reads the token file again; a bad one leaves the old tokens in force. */
	write_file("tok", TOKEN_C " rotated\n", 0600);
	kill(sd.pid, SIGHUP);
	tap_ok(wait_status(TOKEN_C, 200, 5000),
	       "SIGHUP with a new token file: the new token gets 200");
	tap_ok(status_with(TOKEN_A, "/v1/host") == 401 && status_with(TOKEN_B, "/v1/host") == 401,
	       "and the tokens no longer in the file get 401");
	write_file("tok", TOKEN_A "\n", 0644);
	kill(sd.pid, SIGHUP);
	usleep(300000);
	log = read_log();
	tap_ok(wait_status(TOKEN_C, 200, 1000) && status_with(TOKEN_A, "/v1/host") == 401,
	       "SIGHUP with a token file readable by anyone: refused, the tokens in force stay");
	tap_ok(strstr(log, "is mode 0644: anyone may read it") && strstr(log, "stay in force"),
	       "and the log says why");
	free(log);

	/* SIGHUP reads the certificate and key again, and keeps the one in use when they are bad.
	 */
	sh("cd '%s' && cp srv2.pem srv.pem && cp srv2.key srv.key", dir);
	kill(sd.pid, SIGHUP);
	for (r = 0; r < 50; r++) {
		https("https", "GET", "/v1/host", TOKEN_C, 2, NULL, &h);
		hs_free(&h);
		if (h.status == 200)
			break;
		usleep(100000);
	}
	tap_ok(h.status == 200,
	       "SIGHUP with a new certificate and key: the new one is served (its CA verifies it)");
	https("https", "GET", "/v1/host", TOKEN_C, 1, NULL, &h);
	tap_ok(h.cc == CURLE_PEER_FAILED_VERIFICATION, "and the old CA no longer does");
	hs_free(&h);
	write_file("srv.pem", "not a certificate\n", 0644);
	kill(sd.pid, SIGHUP);
	usleep(300000);
	https("https", "GET", "/v1/host", TOKEN_C, 2, NULL, &h);
	tap_ok(h.status == 200, "SIGHUP with a certificate that is not PEM: the one in use stays");
	hs_free(&h);
	log = read_log();
	tap_ok(strstr(log, "srv.pem is not a PEM certificate") &&
	           strstr(log, "the certificate in use stays"),
	       "and the log says why");
	free(log);

	/* Refusals are logged with the caller's address, a limited number of lines, never a token.
	 */
	log = read_log();
	before = count(log, "refused ");
	free(log);
	for (r = 0; r < 40; r++)
		status_with(TOKEN_WRONG, "/v1/host");
	log = read_log();
	tap_ok(strstr(log, "API on tcp 127.0.0.1:") && strstr(log, "refused 127.0.0.1:"),
	       "a refused TCP caller is logged with its address");
	tap_ok(strstr(log, "refused uid 65534") != NULL,
	       "a refused unix caller is logged with its uid");
	if (!tap_ok(
	        count(log, "refused ") - before <= 20,
	        "a burst of 40 refusals adds at most 20 log lines (10 a listener per 10 s; %u now)",
	        count(log, "refused ") - before))
		tap_diag("before %u, after %u", before, count(log, "refused "));
	{
		char *m = sd_get_text("/metrics"),
		     *v = m ? strstr(m, "\nshoal_api_refused_total ") : NULL;

		tap_ok(v && atoi(v + 25) >= 50,
		       "/metrics counts the refused callers (shoal_api_refused_total %d)",
		       v ? atoi(v + 25) : -1);
		free(m);
	}
	tap_ok(!strstr(log, TOKEN_A) && !strstr(log, TOKEN_B) && !strstr(log, TOKEN_C) &&
	           !strstr(log, TOKEN_WRONG),
	       "no token, right or wrong, is in shoald's log");
	free(log);
	{
		struct http_answer a;

		tap_ok(http_req(sd.sock, "GET", "/v1/host", NULL, &a) == 0 && a.status == 200,
		       "shoald still answers on its unix socket");
		http_answer_free(&a);
	}
out:
	if (tap_failed)
		shoald_dump_log(&sd);
	shoald_cleanup(&sd);
	curl_global_cleanup();
	sh("rm -rf '%s'", dir);
	return tap_done();
}
