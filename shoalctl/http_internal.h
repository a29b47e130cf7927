/*
 * Between http.c (the requests the commands make, and what their answers
 * mean) and the two transports that carry them: http_unix.c, shoalctl's
 * own HTTP/1.1 on shoald's unix socket, and http_remote.c, libcurl with
 * TLS for --url, loaded only then.
 */
#ifndef SHOAL_CTL_HTTP_INTERNAL_H
#define SHOAL_CTL_HTTP_INTERNAL_H

#include <stdio.h>

#include "shoalctl/ctl.h"

#define CTL_BODY_MAX (256u << 20) /* far more than any answer shoald gives */

/* One request. */
struct ctl_req {
	const char *method;
	const char *path;  /* with its query */
	const char *ctype; /* the body's Content-Type; NULL: the request has no body */
	const char *body;  /* the body in memory, body_len bytes, or */
	FILE *file;        /* the body streamed from a file of body_len bytes */
	unsigned long long body_len;
	int stream; /* the answer goes on until shoald or Ctrl-C ends it: only the connect is timed
	             */
};

/* Where an answer's body goes: kept, or handed to a stream as it comes. */
struct ctl_sink {
	char *buf;
	size_t len, cap;
	int too_big, no_memory;
	ctl_stream_fn fn;
	void *ctx;
};

/*
 * Take len bytes of the body of an answer with that status: only a 2xx
 * answer is the stream, an error's JSON is kept for the report.  0, or
 * -1 when the transfer must end (too big, out of memory: said by a flag).
 */
int ctl_sink_put(struct ctl_sink *s, long status, const char *p, size_t len);

/*
 * What each transport does with a request: the answer's status into
 * *status and its body into s.  0 once the answer is whole, or ended
 * because the sink said so; 1 when Ctrl-C ended a stream; otherwise a
 * negative exit code after one line on stderr saying why shoald could
 * not be reached or the answer was lost.
 */
int ctl_unix_perform(struct ctl *c, const struct ctl_req *r, struct ctl_sink *s, long *status);
void ctl_unix_done(struct ctl *c);
int ctl_remote_perform(struct ctl *c, const struct ctl_req *r, struct ctl_sink *s, long *status);
void ctl_remote_done(struct ctl *c);

/* "shoalctl: cannot reach shoald at TARGET: why", or "lost the connection" once a stream ran. */
int ctl_unreachable(const struct ctl *c, int lost, const char *why);

#endif
