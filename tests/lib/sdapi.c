/*
 * Test short-hands over tests/lib/httpc.c; see sdapi.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/httpc.h"
#include "tests/lib/sdapi.h"

static const char *sock;

void sdapi_use(const char *s)
{
	sock = s;
}

json_t *sd_get_json(const char *path)
{
	struct http_answer a;
	json_t *j = NULL;

	if (http_req(sock, "GET", path, NULL, &a) == 0 && a.status == 200 && a.json)
		j = json_incref(a.json);
	http_answer_free(&a);
	return j;
}

char *sd_get_text(const char *path)
{
	struct http_answer a;
	char *t = NULL;

	if (http_req(sock, "GET", path, NULL, &a) == 0 && a.status == 200)
		t = strdup(a.body);
	http_answer_free(&a);
	return t;
}

int sd_deploy(const char *spec_fmt, ...)
{
	struct http_answer a;
	char spec[2048];
	va_list ap;
	int st;

	va_start(ap, spec_fmt);
	vsnprintf(spec, sizeof(spec), spec_fmt, ap);
	va_end(ap);
	if (http_req(sock, "POST", "/v1/guests", spec, &a) < 0)
		return -1;
	st = a.status;
	if (st >= 300)
		printf("# deploy %s: %d %s\n", spec, st, a.body);
	http_answer_free(&a);
	return st;
}

int sd_action(const char *name, const char *act)
{
	struct http_answer a;
	char path[200];
	int st;

	snprintf(path, sizeof(path), "/v1/guests/%s/%s", name, act);
	if (http_req(sock, "POST", path, "", &a) < 0)
		return -1;
	st = a.status;
	http_answer_free(&a);
	return st;
}

char *sd_guest_field(const char *name, const char *field, char *buf, size_t len)
{
	char path[200];
	json_t *g, *v;

	snprintf(path, sizeof(path), "/v1/guests/%s", name);
	buf[0] = '\0';
	g = sd_get_json(path);
	v = g ? json_object_get(g, field) : NULL;
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	json_decref(g);
	return buf;
}

int sd_wait_field(const char *name, const char *field, const char *want, int ms)
{
	char buf[128];

	for (; ms > 0; ms -= 50) {
		if (!strcmp(sd_guest_field(name, field, buf, sizeof(buf)), want))
			return 1;
		usleep(50000);
	}
	printf("# %s.%s is \"%s\", wanted \"%s\"\n", name, field,
	       sd_guest_field(name, field, buf, sizeof(buf)), want);
	return 0;
}

int sd_wait_console(const char *name, const char *text, int ms)
{
	char path[200];

	snprintf(path, sizeof(path), "/v1/guests/%s/console", name);
	for (; ms > 0; ms -= 50) {
		char *c = sd_get_text(path);
		int found = c && strstr(c, text);

		free(c);
		if (found)
			return 1;
		usleep(50000);
	}
	return 0;
}
