/*
 * Short-hands for tests that drive a real shoald through its API: GET as
 * JSON or text, deploy, guest actions, a guest's field, and waiting for a
 * field or for console text.  They talk to the socket given to
 * sdapi_use(); failures print TAP diagnostics ("# ...").
 */
#ifndef SHOAL_TEST_SDAPI_H
#define SHOAL_TEST_SDAPI_H

#include <stddef.h>

#include <jansson.h>

/* The daemon socket every call below talks to. */
void sdapi_use(const char *sock);

/* A 200 answer's JSON (a new reference) or text (malloc'd); NULL otherwise. */
json_t *sd_get_json(const char *path);
char *sd_get_text(const char *path);
/* POST /v1/guests with a printf-made spec; the HTTP status, -1 without an answer. */
int sd_deploy(const char *spec_fmt, ...) __attribute__((format(printf, 1, 2)));
/* POST /v1/guests/NAME/ACT; the HTTP status. */
int sd_action(const char *name, const char *act);
/* A top-level field of the guest's JSON as a string into buf ("" when absent); returns buf. */
char *sd_guest_field(const char *name, const char *field, char *buf, size_t len);
/* Wait up to ms until the field equals want; 1 when it does. */
int sd_wait_field(const char *name, const char *field, const char *want, int ms);
/* Wait up to ms until the guest's console holds text; 1 when it does. */
int sd_wait_console(const char *name, const char *text, int ms);

#endif
