/*
 * shoald's HTTP/JSON API (libmicrohttpd + jansson) on a unix socket,
 * served from the daemon's libev loop: no threads, nothing blocks.  The
 * routes and their answers are the contract in api/openapi.yaml; the
 * handlers call only what daemon/shoald.h offers.
 */
#ifndef SHOAL_API_H
#define SHOAL_API_H

#include <stddef.h>

struct ev_loop;
struct shoald;
struct api;

struct api_config {
	const char *socket_path;  /* created mode 0660, replacing a stale one */
	const char *socket_group; /* group owning the socket; NULL or "": root's */
	const char *ui_dir;       /* the dashboard's files, served under /ui/; NULL or "": none */
};

/* Open the socket and serve; NULL with err (one line) when it cannot. */
struct api *api_start(struct shoald *d, struct ev_loop *loop, const struct api_config *cfg, char *err,
                      size_t errlen);
/* Close every connection and the socket. */
void api_stop(struct api *a);

#endif
