/*
 * A small HTTP/1.1 client over a unix socket for the daemon tests: sends
 * exactly the bytes it is given (so tests can send malformed requests),
 * reads the answer to the end, undoes chunked encoding.
 */
#ifndef SHOAL_TEST_HTTPC_H
#define SHOAL_TEST_HTTPC_H

#include <stddef.h>

#include <jansson.h>

struct http_answer {
	int status;    /* 0: no answer */
	char *headers; /* raw header block */
	char *body;    /* NUL-terminated */
	size_t body_len;
	json_t *json; /* the body parsed as JSON, or NULL */
};

/* Send raw bytes, read the whole answer (timeout_ms for all of it). */
int http_raw(const char *sock, const char *req, size_t req_len, int timeout_ms,
             struct http_answer *a);
/* method path [body as JSON with Content-Type application/json] */
int http_req(const char *sock, const char *method, const char *path, const char *json_body,
             struct http_answer *a);
/* The error code / field of an error answer, or "". */
const char *http_err_code(const struct http_answer *a);
const char *http_err_field(const struct http_answer *a);
void http_answer_free(struct http_answer *a);

/* Wait until shoald answers on sock (up to timeout_ms); 0 or -1. */
int http_wait_ready(const char *sock, int timeout_ms);

#endif
