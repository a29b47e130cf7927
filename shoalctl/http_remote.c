/*
 * shoalctl's transport for --url: HTTPS with a bearer token, through
 * libcurl.  libcurl and the TLS stack it brings (some 35 libraries) are
 * loaded with dlopen at the first request, not linked: a deploy script
 * runs shoalctl once a guest on the local socket, which needs none of
 * them, and loading them took longer than the request (bench/ctl-start.sh).
 * TLS itself (the CA, the host name, the handshake) stays libcurl's.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "shoalctl/http_internal.h"

/* The few entry points of libcurl shoalctl uses, from the library loaded. */
struct curl_api {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *curl);
	void (*easy_reset)(CURL *curl);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};

struct ctl_remote {
	void *lib;
	struct curl_api f;
	CURL *curl; /* one handle, so that `top` keeps its connection */
	struct curl_slist *hdrs;
	char err[CURL_ERROR_SIZE];
};

/* What a transfer's callbacks see. */
struct xfer {
	struct ctl_remote *rm;
	struct ctl_sink *s;
};

static int load(struct ctl *c)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(n, f) { "curl_" n, offsetof(struct curl_api, f) }
		SYM("global_init", global_init),   SYM("global_cleanup", global_cleanup),
		SYM("easy_init", easy_init),       SYM("easy_cleanup", easy_cleanup),
		SYM("easy_setopt", easy_setopt),   SYM("easy_getinfo", easy_getinfo),
		SYM("easy_perform", easy_perform), SYM("easy_strerror", easy_strerror),
		SYM("slist_append", slist_append), SYM("slist_free_all", slist_free_all),
		SYM("easy_reset", easy_reset),
#undef SYM
	};
	struct ctl_remote *rm;
	size_t i;

	if (c->remote)
		return 0;
	rm = calloc(1, sizeof(*rm));
	if (!rm)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
	rm->lib = dlopen(CTL_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!rm->lib) {
		free(rm);
		return ctl_fail(CTL_EXIT_FAILED,
		                "--url needs libcurl (%s), which cannot be loaded: %s",
		                CTL_CURL_SONAME, dlerror());
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *p = dlsym(rm->lib, syms[i].name);

		if (!p) {
			dlclose(rm->lib);
			free(rm);
			return ctl_fail(CTL_EXIT_FAILED,
			                "%s has no %s: it is not the libcurl shoalctl "
			                "was built for",
			                CTL_CURL_SONAME, syms[i].name);
		}
		memcpy((char *)&rm->f + syms[i].off, &p, sizeof(p));
	}
	if (rm->f.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(rm->curl = rm->f.easy_init())) {
		dlclose(rm->lib);
		free(rm);
		return ctl_fail(CTL_EXIT_FAILED, "cannot start libcurl");
	}
	c->remote = rm;
	return 0;
}

void ctl_remote_done(struct ctl *c)
{
	struct ctl_remote *rm = c->remote;

	if (!rm)
		return;
	rm->f.slist_free_all(rm->hdrs);
	rm->f.easy_cleanup(rm->curl);
	rm->f.global_cleanup();
	/* The library stays mapped: libcurl's TLS stack may keep atexit handlers. */
	free(rm);
	c->remote = NULL;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	long status = 0;

	x->rm->f.easy_getinfo(x->rm->curl, CURLINFO_RESPONSE_CODE, &status);
	return ctl_sink_put(x->s, status, p, len) < 0 ? 0 : len; /* 0 ends the transfer */
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
	size_t r = fread(p, 1, size * n, arg);

	if (r == 0 && ferror((FILE *)arg))
		return CURL_READFUNC_ABORT;
	return r;
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
	struct ctl_remote *rm = c->remote;
	const char *why = rm->err[0] ? rm->err : rm->f.easy_strerror(cc);
	long oserr = 0;
	char buf[600];

	rm->f.easy_getinfo(rm->curl, CURLINFO_OS_ERRNO, &oserr);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED)
			why = "nothing listens there (is shoald's listen-tcp set to it?)";
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
		    rm->err[0] ? rm->err : rm->f.easy_strerror(cc));
		why = buf;
		break;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(buf, sizeof(buf), "the TLS handshake failed: %s",
		         rm->err[0] ? rm->err : rm->f.easy_strerror(cc));
		why = buf;
		break;
	default:
		break;
	}
	return ctl_unreachable(c, stream && cc != CURLE_COULDNT_CONNECT, why);
}

static int add_header(struct ctl_remote *rm, const char *h)
{
	struct curl_slist *l = rm->f.slist_append(rm->hdrs, h);

	if (!l)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
	rm->hdrs = l;
	return 0;
}

int ctl_remote_perform(struct ctl *c, const struct ctl_req *r, struct ctl_sink *s, long *status)
{
	struct ctl_remote *rm;
	struct xfer x = { .s = s };
	char url[2048], ctype[128];
	long timeout_ms = (long)(c->timeout_s * 1000);
	CURLcode cc;
	int rc;

	rc = load(c);
	if (rc < 0)
		return rc;
	rm = x.rm = c->remote;
	rm->f.easy_reset(rm->curl); /* the options, not the connection */
	rm->f.slist_free_all(rm->hdrs);
	rm->hdrs = NULL;
	rm->err[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", c->url, r->path);
	if (c->cacert)
		rm->f.easy_setopt(rm->curl, CURLOPT_CAINFO, c->cacert);
	rm->f.easy_setopt(rm->curl, CURLOPT_PROTOCOLS_STR, "https");
	if (c->token) {
		char *h = malloc(strlen(c->token) + 32);

		if (!h)
			return ctl_fail(CTL_EXIT_FAILED, "out of memory");
		sprintf(h, "Authorization: Bearer %s", c->token);
		rc = add_header(rm, h);
		explicit_bzero(h, strlen(h));
		free(h);
		if (rc < 0)
			return rc;
	}
	rm->f.easy_setopt(rm->curl, CURLOPT_URL, url);
	rm->f.easy_setopt(rm->curl, CURLOPT_ERRORBUFFER, rm->err);
	rm->f.easy_setopt(rm->curl, CURLOPT_NOSIGNAL, 1L);
	rm->f.easy_setopt(rm->curl, CURLOPT_USERAGENT, "shoalctl/" PACKAGE_VERSION);
	rm->f.easy_setopt(rm->curl, CURLOPT_WRITEFUNCTION, on_data);
	rm->f.easy_setopt(rm->curl, CURLOPT_WRITEDATA, &x);
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
		rm->f.easy_setopt(rm->curl, CURLOPT_CUSTOMREQUEST, r->method);
	if (timeout_ms > 0) {
		rm->f.easy_setopt(rm->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
		if (!r->stream)
			rm->f.easy_setopt(rm->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	}
	if (r->stream) {
		rm->f.easy_setopt(rm->curl, CURLOPT_NOPROGRESS, 0L);
		rm->f.easy_setopt(rm->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	}
	if (r->ctype) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", r->ctype);
		rc = add_header(rm, ctype);
		if (rc < 0)
			return rc;
		if (r->file) {
			rm->f.easy_setopt(rm->curl, CURLOPT_POST, 1L);
			rm->f.easy_setopt(rm->curl, CURLOPT_READFUNCTION, on_read);
			rm->f.easy_setopt(rm->curl, CURLOPT_READDATA, r->file);
		} else {
			rm->f.easy_setopt(rm->curl, CURLOPT_POSTFIELDS, r->body);
		}
		rm->f.easy_setopt(rm->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	}
	rm->f.easy_setopt(rm->curl, CURLOPT_HTTPHEADER, rm->hdrs);
	cc = rm->f.easy_perform(rm->curl);
	rm->f.easy_getinfo(rm->curl, CURLINFO_RESPONSE_CODE, status);
	if (cc == CURLE_WRITE_ERROR && (s->too_big || s->no_memory))
		return 0;
	if (cc == CURLE_ABORTED_BY_CALLBACK && ctl_interrupted)
		return 1;
	if (cc != CURLE_OK)
		return lost(c, cc, r->stream && *status);
	return 0;
}
