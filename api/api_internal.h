/*
 * Between the API's transport (server.c) and its routes (routes.c).
 */
#ifndef SHOAL_API_INTERNAL_H
#define SHOAL_API_INTERNAL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>

#include "api/api.h"
#include "daemon/shoald.h"

#define API_STREAM_MAX (4u << 20) /* a stream's unsent bytes before the client is dropped */

struct api_listener;

struct api_req {
	struct api_req *next;
	struct api *api;
	struct api_listener *lis; /* the socket it came on */
	struct shoald *d;
	struct MHD_Connection *conn;
	char method[16];
	char *url;
	uint64_t t0_ns; /* when it came (monotonic), for the log */
	int route;      /* routes.c's choice, made when the request begins */
	char name[64];  /* the guest named in the path */
	char action[16];
	/* the body */
	char *body;
	size_t body_len, body_cap;
	struct sd_err body_error; /* set when the body is refused (too large, ...) */
	struct shoald_upload *upload;
	int dispatched;
	/* an answer that comes later */
	struct shoald_wait *wait;
	int suspended;
	int late_ready;
	int late_status;
	json_t *late_body;
	/* a stream */
	int streaming;
	int stream_closed;
	int sse;
	const char *ping; /* sent every 15 s to notice clients that left */
	char *out;
	size_t out_len, out_cap;
	struct shoald_sub *sub;
};

/* Answers (these take ownership of body/text). */
enum MHD_Result api_queue_json(struct MHD_Connection *c, unsigned status, json_t *body);
enum MHD_Result api_queue_plain(struct MHD_Connection *c, unsigned status, char *text, size_t len);
enum MHD_Result api_queue_error(struct MHD_Connection *c, const struct sd_err *e);
enum MHD_Result api_fail(struct MHD_Connection *c, int http, const char *code, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
json_t *api_error_json(const struct sd_err *e);

/* The callback for shoald's later answers (ctx is the struct api_req). */
shoald_done_fn api_done_fn(void);
/* Wait for the later answer (after shoald returned a wait handle). */
void api_suspend(struct api_req *q);

/* Streams: queue once, then push data; end closes it. */
enum MHD_Result api_queue_stream(struct api_req *q, const char *type);
/* A 200 made a piece at a time by pg (taken over, freed with the answer). */
enum MHD_Result api_queue_pager(struct MHD_Connection *c, struct shoald_pager *pg,
                                const char *type);
void api_stream_push(struct api_req *q, const char *data, size_t len);
void api_stream_end(struct api_req *q);

/*
 * routes.c: the first look at a request (before its body): choose the
 * route, refuse what is wrong in the path or query (the refusal is queued
 * at once and -1 returned), start an image upload.
 */
int api_route_begin(struct api_req *q);
/* The whole request is in: answer it. */
enum MHD_Result api_route(struct api_req *q);

/* The directory the dashboard's files are served from (ui-dir); "" for none. */
const char *api_ui_dir(const struct api *a);

/*
 * ui.c: the dashboard's static files.  A file name is 1 to 63 characters
 * of A-Z a-z 0-9 . _ -, starting with a letter or digit, without "..".
 */
int api_ui_name_ok(const char *name);
/* The 400 for a name that is not one. */
enum MHD_Result api_ui_bad_name(struct MHD_Connection *c, const char *name);
/* /ui: 301 to /ui/. */
enum MHD_Result api_ui_redirect(struct api_req *q);
/* One file of dir, with its type, ETag and Last-Modified (304 on If-None-Match). */
enum MHD_Result api_ui_file(struct api_req *q, const char *dir, const char *name);
/*
 * auth.c: who may use the API.
 */

/* A secret's file (fd open on path): regular, root's (or ours), no access for others, not
 * group-writable. */
int api_check_private_file(const char *path, const char *what, int fd, char *err, size_t errlen);

/*
 * The token file: one token a line (16 to 512 of RFC 6750's token
 * characters), then optionally a space and a name for the logs; blank
 * lines and # comments are skipped.  NULL with err (naming the file and
 * line) when it cannot be read, is readable by others, or is malformed.
 */
struct api_tokens;
struct api_tokens *api_tokens_load(const char *path, char *err, size_t errlen);
size_t api_tokens_count(const struct api_tokens *t);
void api_tokens_free(struct api_tokens *t);

enum { API_TOKEN_OK = 0, API_TOKEN_MISSING = -1, API_TOKEN_INVALID = -2 };
/* An Authorization header (NULL: none) against the tokens, in constant time; *name is the token's
 * name. */
int api_tokens_check(const struct api_tokens *t, const char *authorization, const char **name);

/*
 * The TLS certificate (chain) and its key, read and checked (PEM, the
 * key unencrypted, not readable by others, matching the certificate);
 * on success the PEM texts are malloc'd into *cert_pem and *key_pem and
 * note says what is odd but allowed (an expired certificate), else "".
 */
int api_tls_load(const char *cert_path, const char *key_path, char **cert_pem, char **key_pem,
                 char *note, size_t notelen, char *err, size_t errlen);

/*
 * The same, made into what gnutls serves (api_tls_retrieve, given to
 * MHD as its certificate callback, hands out the one api_tls_use chose).
 * An api_tls must outlive every TLS session that got it: free a replaced
 * one only once no connection is open.
 */
struct api_tls;
struct api_tls *api_tls_new(const char *cert_path, const char *key_path, char *note, size_t notelen,
                            char *err, size_t errlen);
void api_tls_free(struct api_tls *t);
void api_tls_use(const struct api_tls *t);
int api_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                     gnutls_pcert_st **pcert, unsigned int *pcert_length,
                     gnutls_privkey_t *privkey);

/* listen-tcp: "IPv4:PORT", "[IPv6]:PORT", "*:PORT". */
int api_parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                     size_t errlen);
/* "1.2.3.4:5" or "[::1]:5". */
void api_format_addr(const struct sockaddr *sa, char *buf, size_t len);

/* A unix-socket caller, as the kernel saw it at connect(). */
struct api_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int allowed; /* root, or in the group (primary or supplementary) */
	char who[96];
};
/* Fill *p for the connection fd; -1 when its credentials cannot be read (not allowed). */
int api_peer_check(int fd, int have_group, gid_t group, struct api_peer *p);

#endif
