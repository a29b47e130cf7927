/*
 * The probe engine with real guests, through the real API, on the
 * platform SHOAL_TEST_PLATFORM names (doc/testing.md): 20 idle guests are
 * probed at 10 Hz and their latency endpoint gives sane quantiles; a guest
 * that stops answering is found hung and handled by its restart policy
 * (on-failure restarts it, never leaves it exited); /metrics passes
 * promtool; probing goes on after shoald is killed and re-adopts its
 * guests (on proc: starts them again).  TAP.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/httpc.h"
#include "tests/lib/sdtest.h"

#define IDLE 20

static struct shoald_run sd;

static double num(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	const json_t *v = o;

	while (v && (dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		v = json_object_get(v, key);
		path = dot + 1;
	}
	v = v ? json_object_get(v, path) : NULL;
	return json_is_number(v) ? json_number_value(v) : -1;
}

static json_t *latency(const char *name, const char *query)
{
	char path[200];

	snprintf(path, sizeof(path), "/v1/guests/%s/latency%s", name, query);
	return sd_get_json(path);
}

static void idle_fleet(void)
{
	int i, deployed = 0, sane = 0, no_miss = 0, rate_ok = 0, listed = 0;
	json_t *all, *g;
	size_t k;

	for (i = 0; i < IDLE; i++)
		deployed += sd_deploy("{\"name\":\"idle-%02d\",\"image\":\"%s\",\"memory_mib\":8}",
		                      i, shoald_guest_image(&sd, "idle")) == 201;
	tap_ok(deployed == IDLE, "%d idle guests deployed (%d)", IDLE, deployed);
	sleep(4);
	for (i = 0; i < IDLE; i++) {
		char name[32];
		char path[64];
		json_t *l, *gj;
		double n, p50, p90, p99, max, min, sent, up;

		snprintf(name, sizeof(name), "idle-%02d", i);
		l = latency(name, "");
		n = num(l, "windows.10s.samples");
		min = num(l, "windows.10s.min_us");
		p50 = num(l, "windows.10s.p50_us");
		p90 = num(l, "windows.10s.p90_us");
		p99 = num(l, "windows.10s.p99_us");
		max = num(l, "windows.10s.max_us");
		sent = num(l, "total.sent");
		snprintf(path, sizeof(path), "/v1/guests/%s", name);
		gj = sd_get_json(path);
		up = num(gj, "uptime_s");
		json_decref(gj);
		if (n >= 20 && min > 0 && min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= max &&
		    max < 500000)
			sane++;
		else
			tap_diag("%s: samples %.0f min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f us",
			         name, n, min, p50, p90, p99, max);
		no_miss += num(l, "windows.10s.misses") == 0 && num(l, "total.misses") == 0;
		/*
		 * 10 Hz, jittered, over the guest's own uptime: the fleet's
		 * deploys take their time too (2 s and more on a loaded machine
		 * or a sanitized build), so the first guests have run longer
		 * than the 4 s slept since the last.
		 */
		if (up > 0 && sent >= 7 * up && sent <= 13 * up + 1)
			rate_ok++;
		else
			tap_diag("%s: %.0f probes sent in its %.1f s up", name, sent, up);
		json_decref(l);
	}
	tap_ok(
	    sane == IDLE,
	    "every idle guest has sane quantiles: 0 < min <= p50 <= p90 <= p99 <= max (%d of %d)",
	    sane, IDLE);
	tap_ok(no_miss == IDLE, "no idle guest missed a probe (%d of %d)", no_miss, IDLE);
	tap_ok(rate_ok == IDLE, "each is probed at about 10 Hz (%d of %d)", rate_ok, IDLE);
	{
		json_t *l = latency("idle-00", "?buckets=10s");
		json_t *b = json_object_get(l, "buckets");
		double sum = 0;

		json_array_foreach(b, k, g) sum += num(g, "count");
		tap_ok(json_array_size(b) > 0 && sum == num(l, "windows.10s.samples"),
		       "the 10 s buckets hold the window's samples (%.0f in %zu buckets)", sum,
		       json_array_size(b));
		json_decref(l);
	}
	all = sd_get_json("/v1/guests");
	json_array_foreach(all, k, g) listed +=
	    !strncmp(json_string_value(json_object_get(g, "name")), "idle-", 5) &&
	    num(g, "latency.p99_us") > 0 && num(g, "latency.p50_us") <= num(g, "latency.p99_us");
	json_decref(all);
	tap_ok(listed == IDLE, "GET /v1/guests carries each guest's 10 s latency summary (%d)",
	       listed);
}

static void bad_requests(void)
{
	struct http_answer a;

	http_req(sd.sock, "GET", "/v1/guests/nobody/latency", NULL, &a);
	tap_ok(a.status == 404 && !strcmp(http_err_field(&a), "name"),
	       "latency of an unknown guest: 404 naming name (%d)", a.status);
	http_answer_free(&a);
	http_req(sd.sock, "GET", "/v1/guests/idle-00/latency?buckets=1h", NULL, &a);
	tap_ok(a.status == 400 && !strcmp(http_err_field(&a), "buckets"),
	       "a bad buckets window: 400 naming buckets (%d)", a.status);
	http_answer_free(&a);
	http_req(sd.sock, "GET", "/v1/guests/idle-00/latency?window=10s", NULL, &a);
	tap_ok(a.status == 400 && !strcmp(http_err_code(&a), "unknown_parameter"),
	       "an unknown query parameter: 400 (%d %s)", a.status, http_err_code(&a));
	http_answer_free(&a);
	http_req(sd.sock, "POST", "/v1/guests/idle-00/latency", "{}", &a);
	tap_ok(a.status == 405, "POST on latency: 405 (%d)", a.status);
	http_answer_free(&a);
	http_req(sd.sock, "DELETE", "/metrics", NULL, &a);
	tap_ok(a.status == 405, "DELETE on /metrics: 405 (%d)", a.status);
	http_answer_free(&a);
}

/* Events of a type for a guest, newest last; how many. */
static int count_events(const char *type, const char *guest, char *last_msg, size_t len)
{
	json_t *ev = sd_get_json("/v1/events?follow=0&limit=10000"), *e;
	size_t i;
	int n = 0;

	json_array_foreach(ev, i,
	                   e) if (!strcmp(json_string_value(json_object_get(e, "type")), type) &&
	                          json_object_get(e, "guest") &&
	                          !strcmp(json_string_value(json_object_get(e, "guest")), guest))
	{
		n++;
		if (last_msg)
			snprintf(last_msg, len, "%s",
			         json_string_value(json_object_get(e, "message")));
	}
	json_decref(ev);
	return n;
}

static void liveness(void)
{
	char msg[512] = "", buf[512];
	json_t *g;
	int i, hung = 0;

	/* hang answers for 1 s, then never again. */
	tap_ok(sd_deploy("{\"name\":\"hang-on\",\"image\":\"%s\",\"args\":[\"1\"],\"restart\":\"on-"
	                 "failure\"}",
	                 shoald_guest_image(&sd, "hang")) == 201 &&
	           sd_deploy("{\"name\":\"hang-never\",\"image\":\"%s\",\"args\":[\"1\"],"
	                     "\"restart\":\"never\"}",
	                     shoald_guest_image(&sd, "hang")) == 201,
	       "two hang guests deployed (on-failure, never)");
	for (i = 0; i < 200 && !hung; i++) {
		usleep(100000);
		hung = count_events("hung", "hang-on", msg, sizeof(msg)) > 0;
	}
	tap_ok(hung, "a guest that stops answering is found hung within 20 s (%.1f s): %s",
	       i / 10.0, msg);
	tap_ok(sd_wait_field("hang-on", "restarts", "1", 5000) ||
	           atoi(sd_guest_field("hang-on", "restarts", buf, 16)) >= 1,
	       "on-failure restarts the hung guest");
	tap_ok(sd_wait_field("hang-on", "state", "running", 5000), "and it runs again");
	g = sd_get_json("/v1/guests/hang-on");
	tap_ok(g && strstr(json_string_value(
	                       json_object_get(json_object_get(g, "last_exit"), "reason"))
	                       ?: "",
	                   "hung"),
	       "its last exit records why: %s",
	       g ? json_string_value(json_object_get(json_object_get(g, "last_exit"), "reason"))
	         : "?");
	json_decref(g);
	tap_ok(sd_wait_field("hang-never", "state", "exited", 20000),
	       "never leaves the hung guest exited");
	tap_ok(!strcmp(sd_guest_field("hang-never", "restarts", buf, sizeof(buf)), "0"),
	       "and does not restart it");
	tap_ok(count_events("hung", "hang-never", NULL, 0) == 1,
	       "the event log records the hung guest once");
	g = latency("hang-never", "");
	tap_ok(num(g, "total.misses") >= 6, "its misses are counted (%.0f)",
	       num(g, "total.misses"));
	json_decref(g);
	sd_action("hang-on", "stop");
}

static int promtool_ok(const char *page, char *why, size_t len)
{
	FILE *p = popen("promtool check metrics 2>&1 | sed 's/^/# promtool: /'", "w");
	int st;

	if (!p)
		return 0;
	fputs(page, p);
	st = pclose(p);
	snprintf(why, len, "promtool exit status %d", WEXITSTATUS(st));
	return st == 0;
}

static void metrics_page(void)
{
	struct http_answer a;
	char why[128], want[128];
	int i, have = 0;

	http_req(sd.sock, "GET", "/metrics", NULL, &a);
	tap_ok(a.status == 200 && a.headers && strstr(a.headers, "text/plain; version=0.0.4"),
	       "GET /metrics answers 200 in Prometheus text format (%d)", a.status);
	for (i = 0; i < IDLE; i++) {
		snprintf(want, sizeof(want),
		         "shoal_guest_probe_rtt_seconds_count{guest=\"idle-%02d\"} ", i);
		have += a.body && strstr(a.body, want) != NULL;
	}
	tap_ok(have == IDLE, "it has the RTT histogram of every idle guest (%d)", have);
	tap_ok(a.body && strstr(a.body, "shoal_probes_sent_total ") &&
	           strstr(a.body, "shoal_daemon_cpu_seconds_total{") &&
	           strstr(a.body, "shoal_host_cpu_seconds_total{") &&
	           strstr(a.body, "shoal_host_memory_bytes{") &&
	           strstr(a.body, "shoal_guest_restarts_total{guest=\"hang-on\"} ") &&
	           strstr(a.body, "shoal_guest_state{guest=\"hang-never\",state=\"exited\""),
	       "and host, daemon, probe, restart and state figures");
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		tap_skip("promtool check metrics",
		         "promtool not found (Debian: apt-get install prometheus)");
	else
		tap_ok(a.body && promtool_ok(a.body, why, sizeof(why)),
		       "promtool check metrics passes (%s)", why);
	http_answer_free(&a);
}

static void after_restart(void)
{
	const char *const extra[] = { NULL };
	double before, after;
	json_t *l;

	l = latency("idle-05", "");
	before = num(l, "windows.60s.samples");
	json_decref(l);
	shoald_kill(&sd, SIGKILL);
	if (shoald_restart(&sd, extra) < 0) {
		tap_ok(0, "shoald starts again after kill -9");
		return;
	}
	sleep(2);
	l = latency("idle-05", "");
	after = num(l, "windows.60s.samples");
	tap_ok(after >= 10 && num(l, "windows.10s.p50_us") > 0,
	       "after kill -9 and a restart the re-adopted guests are probed again (%.0f samples "
	       "in 2 s; %.0f before)",
	       after, before);
	json_decref(l);
}

int main(void)
{
	sdtest_begin(&sd, NULL);
	idle_fleet();
	bad_requests();
	liveness();
	metrics_page();
	after_restart();
	return sdtest_end(&sd);
}
