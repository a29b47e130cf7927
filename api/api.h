/*
 * shoald's HTTP/JSON API (libmicrohttpd + jansson) on a unix socket and,
 * optionally, on TCP with TLS and bearer tokens, served from the
 * daemon's libev loop: no threads, nothing blocks.  The routes and their
 * answers are the contract in api/openapi.yaml; the handlers call only
 * what daemon/shoald.h offers.
 *
 * Who may call: on the unix socket root and the members of socket_group
 * (checked on each connection with SO_PEERCRED, whatever the socket
 * file's mode); on TCP whoever presents a token of token_file.  Every
 * request passes that check before any route sees it.
 */
#ifndef SHOAL_API_H
#define SHOAL_API_H

#include <stddef.h>

struct ev_loop;
struct shoald;
struct api;

struct api_config {
	const char *socket_path; /* created mode 0660, replacing a stale one */
	const char
	    *socket_group;  /* group owning the socket and allowed on it; NULL or "": root only */
	const char *ui_dir; /* the dashboard's files, served under /ui/; NULL or "": none */
	/* TCP: all four, or listen_tcp NULL/"" for none */
	const char *listen_tcp; /* "127.0.0.1:8443", "[::1]:8443", "*:8443" */
	const char *tls_cert;   /* PEM certificate (chain) */
	const char *tls_key;    /* PEM key, unencrypted, not readable by others */
	const char *token_file; /* bearer tokens, not readable by others */
};

/*
 * Check a configuration without opening anything: the group exists, the
 * TCP settings come together, the address parses, libmicrohttpd has TLS,
 * the certificate, key and token file are sound.  0, or -1 with err (one
 * line naming the option and file).  note gets what is odd but allowed
 * (an expired certificate), else "".  summary says what would be served.
 */
int api_check_config(const struct api_config *cfg, char *summary, size_t sumlen, char *note,
                     size_t notelen, char *err, size_t errlen);

/* Open the sockets and serve; NULL with err (one line) when it cannot. */
struct api *api_start(struct shoald *d, struct ev_loop *loop, const struct api_config *cfg,
                      char *err, size_t errlen);
/*
 * Read the token file, the certificate and its key again (SIGHUP); what
 * is bad is refused and what was in force stays.  0 with msg saying what
 * is now in force; -1 with msg saying what was refused and why; 1 when
 * there is nothing to reload (no TCP listener).
 */
int api_reload(struct api *a, char *msg, size_t msglen);
/* Close every connection and the sockets. */
void api_stop(struct api *a);

#endif
