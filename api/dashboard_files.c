/*
 * The dashboard's static files under /ui/: read from the ui-dir (the
 * installed $(pkgdatadir)/ui, or api/dashboard/ of the source tree in tests),
 * one flat directory, never listed.  A file's name is checked before it
 * touches the file system, so "..", "%2e%2e", "a/b", absolute paths and
 * NUL (kept as "%00" by server.c's unescaping) are refused with 400; only
 * regular files of a known type and at most UI_FILE_MAX bytes are sent.
 * Every answer carries a Content-Security-Policy that allows scripts,
 * styles and connections from this origin only.  HEAD gets GET's answer:
 * libmicrohttpd sends its headers (Content-Length included) and no body.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_internal.h"

#define UI_FILE_MAX (1u << 20)

static const char ui_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static const struct {
	const char *ext;
	const char *type;
} ui_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

int api_ui_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	/* A letter or digit first: no ".", "..", hidden files or "-x". */
	if (n == 0 || n > 63 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return strstr(s, "..") == NULL;
}

enum MHD_Result api_ui_bad_name(struct MHD_Connection *c, const char *name)
{
	return api_fail(c, 400, "invalid_file", "file",
	                "\"%.64s\" is not a file of the dashboard (1 to 63 characters of A-Z, a-z, "
	                "0-9, '.', '_' "
	                "and '-', starting with a letter or digit, no \"..\", no '/')",
	                name);
}

static const char *ui_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (!dot)
		return NULL;
	for (i = 0; i < sizeof(ui_types) / sizeof(ui_types[0]); i++)
		if (!strcmp(dot, ui_types[i].ext))
			return ui_types[i].type;
	return NULL;
}

static void ui_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", ui_csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
}

static enum MHD_Result queue_empty(struct MHD_Connection *c, unsigned status, const char *hname,
                                   const char *hvalue)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	ui_headers(r);
	if (hname)
		MHD_add_response_header(r, hname, hvalue);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result api_ui_redirect(struct api_req *q)
{
	return queue_empty(q->conn, 301, MHD_HTTP_HEADER_LOCATION, "/ui/");
}

/* Does If-None-Match name this ETag (or "*")? */
static int etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p;

	if (!inm)
		return 0;
	if (!strcmp(inm, "*"))
		return 1;
	for (p = inm; (p = strstr(p, etag)); p += n)
		if ((p == inm || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

enum MHD_Result api_ui_file(struct api_req *q, const char *dir, const char *name)
{
	char path[1200], etag[64], modified[64];
	const char *type = ui_type(name), *inm;
	struct MHD_Response *r = NULL;
	enum MHD_Result ret;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	struct tm tm;
	int fd = -1;

	if (!api_ui_name_ok(name))
		return api_ui_bad_name(q->conn, name);
	if (!type)
		return api_fail(q->conn, 404, "no_such_file", "file",
		                "the dashboard has no file %s (only .html, .css, .js, .svg, .png, "
		                ".ico, .json and .txt "
		                "files are served)",
		                name);
	if (!dir || !dir[0])
		return api_fail(q->conn, 404, "no_ui", "file",
		                "this shoald serves no dashboard (ui-dir is empty)");
	snprintf(path, sizeof(path), "%.1000s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && access(dir, F_OK) < 0)
			return api_fail(q->conn, 404, "no_ui", "file",
			                "the dashboard's files are not installed: %.200s does not "
			                "exist (ui-dir)",
			                dir);
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return api_fail(q->conn, 404, "no_such_file", "file",
			                "the dashboard has no file %s", name);
		return api_fail(q->conn, 500, "internal", "file",
		                "cannot read the dashboard's %s: %s", name, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return api_fail(q->conn, 404, "no_such_file", "file",
		                "the dashboard has no file %s", name);
	}
	if ((uint64_t)st.st_size > UI_FILE_MAX) {
		close(fd);
		return api_fail(q->conn, 500, "internal", "file",
		                "the dashboard's %s is larger than %u bytes: not served", name,
		                UI_FILE_MAX);
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
	         (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	gmtime_r(&st.st_mtim.tv_sec, &tm);
	strftime(modified, sizeof(modified), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	inm = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (etag_matches(inm, etag)) {
		close(fd);
		return queue_empty(q->conn, 304, MHD_HTTP_HEADER_ETAG, etag);
	}
	/* Small files in one read each; the size was capped above. */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return api_fail(q->conn, 500, "internal", "file", "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return api_fail(q->conn, 500, "internal", "file",
		                "the dashboard's %s changed while it was read", name);
	}
	r = MHD_create_response_from_buffer(got, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	ui_headers(r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, modified);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	ret = MHD_queue_response(q->conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}
