/*
 * shoalctl host, events and images: the daemon's view of the machine,
 * its event log (a list, or followed as it grows: NDJSON from the
 * server, one line per event) and its image store.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoalctl/ctl.h"

static void print_scalar(const json_t *v)
{
	char *text;

	if (json_is_string(v)) {
		fputs(json_string_value(v), stdout);
		return;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	fputs(text ? text : "?", stdout);
	free(text);
}

static int show_host(const json_t *h, const char *unused)
{
	const json_t *mem = json_object_get(h, "memory_mib"), *gs = json_object_get(h, "guests"),
	             *lim = json_object_get(h, "limits"), *by = json_object_get(gs, "by_state"),
	             *stats = json_object_get(h, "backend_stats"), *v;
	char up[32] = "?", a[32], b[32], t[32], r[32];
	const char *key;
	double uptime;
	int first = 1;

	(void)unused;
	if (ctl_jnum(h, "uptime_s", &uptime) == 0)
		ctl_fmt_duration(uptime, up, sizeof(up));
	ctl_kv("hostname:", "%s", ctl_jstr(h, "hostname") ? ctl_jstr(h, "hostname") : "?");
	ctl_kv("shoald:", "%s, backend %s, up %s",
	       ctl_jstr(h, "version") ? ctl_jstr(h, "version") : "?",
	       ctl_jstr(h, "backend") ? ctl_jstr(h, "backend") : "?", up);
	ctl_kv("cpus:", "%lld", ctl_jint(h, "cpus", 0));
	ctl_kv("memory:", "%s promised of a %s limit (%s in all, %s kept for the host)",
	       ctl_fmt_mib((double)ctl_jint(mem, "promised", 0), a, sizeof(a)),
	       ctl_fmt_mib((double)ctl_jint(mem, "limit", 0), b, sizeof(b)),
	       ctl_fmt_mib((double)ctl_jint(mem, "total", 0), t, sizeof(t)),
	       ctl_fmt_mib((double)ctl_jint(mem, "reserved", 0), r, sizeof(r)));
	printf("%-12s%lld, %lld running", "guests:", ctl_jint(gs, "total", 0),
	       ctl_jint(gs, "running", 0));
	json_object_foreach((json_t *)by, key, v)
	{
		printf("%s%s %lld", first ? " (" : ", ", key, (long long)json_integer_value(v));
		first = 0;
	}
	printf("%s\n", first ? "" : ")");
	ctl_kv("limits:", "%lld guests, JSON bodies up to %s, images up to %s",
	       ctl_jint(lim, "max_guests", 0),
	       ctl_fmt_bytes((double)ctl_jint(lim, "max_body_bytes", 0), a, sizeof(a)),
	       ctl_fmt_bytes((double)ctl_jint(lim, "max_image_bytes", 0), b, sizeof(b)));
	if (json_object_size(stats)) {
		printf("backend stats:\n");
		json_object_foreach((json_t *)stats, key, v)
		{
			printf("  %-20s ", key);
			print_scalar(v);
			putchar('\n');
		}
	}
	return 0;
}

int ctl_cmd_host(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct ctl_simple req = { "GET", "/v1/host", 0, NULL, show_host };

	return ctl_simple(c, cmd, argc, argv, &req);
}

/* ---- metrics ---- */

/* /metrics as it is: the Prometheus text, for a host without an HTTP client of its own. */
int ctl_cmd_metrics(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct ctl_answer a;
	int rc;

	rc = ctl_opts_only(c, cmd, argc, argv);
	if (rc == 0)
		rc = ctl_want_args(cmd, argc, argv, 0, NULL);
	if (rc != 0)
		return rc;
	rc = ctl_http(c, "GET", "/metrics", NULL, &a);
	if (rc < 0)
		return rc;
	fwrite(a.body, 1, a.len, stdout);
	ctl_answer_free(&a);
	return 0;
}

/* ---- events ---- */

static void print_event(const json_t *e)
{
	printf("%s  #%lld  %-17s  %s\n", ctl_jstr(e, "time") ? ctl_jstr(e, "time") : "?",
	       ctl_jint(e, "id", 0), ctl_jstr(e, "type") ? ctl_jstr(e, "type") : "?",
	       ctl_jstr(e, "message") ? ctl_jstr(e, "message") : "");
}

/* A followed event stream: NDJSON, split into lines as it comes; blank lines are pings. */
struct event_stream {
	int json;
	char line[8192];
	size_t len;
};

static void event_line(struct event_stream *s)
{
	json_t *e;

	s->line[s->len] = '\0';
	if (s->len == 0)
		return;
	if (s->json) {
		puts(s->line);
	} else {
		e = json_loads(s->line, 0, NULL);
		if (e)
			print_event(e);
		json_decref(e);
	}
	fflush(stdout);
}

static void on_events(void *ctx, const char *data, size_t len)
{
	struct event_stream *s = ctx;
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n') {
			event_line(s);
			s->len = 0;
		} else if (s->len + 1 < sizeof(s->line)) {
			s->line[s->len++] = data[i];
		}
	}
}

int ctl_cmd_events(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_FOLLOW = 'f', OPT_SINCE = 's', OPT_LIMIT = 'l' };
	static const struct option lo[] = { CTL_GLOBAL_LONGOPTS,
		                            { "follow", no_argument, NULL, OPT_FOLLOW },
		                            { "since", required_argument, NULL, OPT_SINCE },
		                            { "limit", required_argument, NULL, OPT_LIMIT },
		                            { NULL, 0, NULL, 0 } };
	unsigned long long since = 0, limit = 0;
	struct event_stream *s = NULL;
	int ch, rc, follow = 0, have_since = 0;
	struct ctl_answer a = { 0 };
	const json_t *e;
	char path[128];
	size_t i;

	while ((ch = getopt_long(argc, argv, ":hfs:l:", lo, NULL)) != -1) {
		rc = 0;
		if (ch == OPT_FOLLOW)
			follow = 1;
		else if (ch == OPT_SINCE) {
			rc = ctl_parse_uint(cmd, "--since", optarg, 1ull << 62, &since);
			have_since = 1;
		} else if (ch == OPT_LIMIT)
			rc = ctl_parse_uint(cmd, "--limit", optarg, 10000, &limit);
		else
			rc = ctl_opt_common(c, cmd, ch, argv);
		if (rc != 0)
			return rc;
	}
	rc = ctl_want_args(cmd, argc, argv, 0, NULL);
	if (rc != 0)
		return rc;
	if (!limit)
		limit = follow ? 10 : 100;
	/* What is there already; when following, it says where the stream picks up. */
	if (!follow || !have_since) {
		snprintf(path, sizeof(path), "/v1/events?follow=0&since=%llu&limit=%llu", since,
		         limit);
		rc = ctl_http(c, "GET", path, NULL, &a);
		if (rc < 0)
			return rc;
		if (c->json && !follow)
			ctl_print_raw(&a);
		json_array_foreach(a.json, i, e)
		{
			if (!c->json)
				print_event(e);
			else if (follow) {
				char *text = json_dumps(e, JSON_COMPACT);

				puts(text ? text : "{}");
				free(text);
			}
			if ((unsigned long long)ctl_jint(e, "id", 0) > since)
				since = (unsigned long long)ctl_jint(e, "id", 0);
		}
		ctl_answer_free(&a);
		fflush(stdout);
	}
	if (!follow)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
	s->json = c->json;
	snprintf(path, sizeof(path), "/v1/events?follow=1&since=%llu", since);
	rc = ctl_http_stream(c, path, on_events, s);
	free(s);
	/* Only Ctrl-C ends a follow; a stream that ends is a daemon that stopped. */
	if (rc == 0 && !ctl_interrupted)
		rc = ctl_fail(CTL_EXIT_UNREACHABLE,
		              "shoald at %s ended the event stream (it stopped)", c->socket_path);
	return rc;
}

/* ---- images ---- */

static int show_images(const json_t *all, const char *unused)
{
	static const char *const heads[] = { "SHA256", "KIND",   "SIZE", "ADDED",
		                             "GUESTS", "SOURCE", NULL };
	struct ctl_table *t;
	const json_t *im;
	size_t i;

	(void)unused;
	t = ctl_table_new(heads, "SIZE GUESTS");
	json_array_foreach(all, i, im)
	{
		char sha[16], size[32], added[40], guests[16];

		snprintf(sha, sizeof(sha), "%.12s",
		         ctl_jstr(im, "sha256") ? ctl_jstr(im, "sha256") : "?");
		ctl_fmt_bytes((double)ctl_jint(im, "bytes", 0), size, sizeof(size));
		ctl_fmt_time_ns(ctl_jint(im, "added_ns", 0), added, sizeof(added));
		snprintf(guests, sizeof(guests), "%lld", ctl_jint(im, "guests", 0));
		ctl_table_row(t, sha, ctl_jstr(im, "kind") ? ctl_jstr(im, "kind") : "guest", size,
		              added, guests, ctl_jstr(im, "source"));
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	return 0;
}

int ctl_cmd_images(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct ctl_simple req = { "GET", "/v1/images", 0, NULL, show_images };

	return ctl_simple(c, cmd, argc, argv, &req);
}
