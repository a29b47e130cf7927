/*
 * Placement with real KVM guests, through the real API: latency guests
 * and batch guests land on different CPUs and their vCPU threads are
 * pinned there; an operator's pin is applied and never moved, while the
 * control loop lowers a pinned batch guest's weight; batch guests run at
 * the idle class policy and may also use the latency CPUs (batch-spill);
 * once unpinned, the loop moves it off the latency guests' CPU, saying why; a
 * restarted shoald keeps the placement it finds; admission refuses what
 * does not fit with the reason; --placement=off leaves guests floating.
 * Bad PUT bodies are refused naming what is wrong.  TAP.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/httpc.h"
#include "tests/lib/sdtest.h"

static struct shoald_run sd;

/* The guest's entry in /v1/placement (a new reference), or NULL. */
static json_t *placement_of(const char *name)
{
	json_t *all = sd_get_json("/v1/placement"), *g, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(all, "guests"), i,
	                   g) if (!strcmp(json_string_value(json_object_get(g, "name")), name))
	    found = json_incref(g);
	json_decref(all);
	return found;
}

static int cpu_of(const char *name)
{
	json_t *g = placement_of(name);
	int cpu = json_is_integer(json_object_get(g, "cpu"))
	              ? (int)json_integer_value(json_object_get(g, "cpu"))
	              : -1;

	json_decref(g);
	return cpu;
}

/* Cpus_allowed_list of the guest's vCPU thread ("" when unknown). */
static const char *affinity_of(const char *name)
{
	static char list[64];
	char path[128], line[256], pid[16], tid[16];
	FILE *f;

	list[0] = '\0';
	sd_guest_field(name, "pid", pid, sizeof(pid));
	sd_guest_field(name, "vcpu_tid", tid, sizeof(tid));
	snprintf(path, sizeof(path), "/proc/%s/task/%s/status", pid, tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Cpus_allowed_list: %63s", list) == 1)
			break;
	if (f)
		fclose(f);
	return list;
}

/*
 * The CPU list a batch guest on CPU `own` may run on under batch-spill:
 * its CPU and every latency CPU, as the kernel writes it ("0-1", "1,3").
 */
static const char *spill_list(int own)
{
	static char list[128];
	json_t *all = sd_get_json("/v1/placement"), *c;
	int in[256] = { 0 }, n = 0, i, j;
	size_t k;

	if (own >= 0 && own < 256)
		in[own] = 1;
	json_array_foreach(json_object_get(all, "cpus"), k, c)
	{
		int cpu = (int)json_integer_value(json_object_get(c, "cpu"));

		if (cpu >= 0 && cpu < 256 &&
		    !strcmp(json_string_value(json_object_get(c, "role")) ?: "", "latency"))
			in[cpu] = 1;
	}
	json_decref(all);
	list[0] = '\0';
	for (i = 0; i < 256; i = j) {
		if (!in[i]) {
			j = i + 1;
			continue;
		}
		for (j = i; j < 256 && in[j]; j++)
			;
		n += snprintf(list + n, sizeof(list) - (size_t)n, "%s%d", n ? "," : "", i);
		if (j - 1 > i)
			n += snprintf(list + n, sizeof(list) - (size_t)n, "-%d", j - 1);
	}
	return list;
}

static int role_cpu(const char *role)
{
	json_t *all = sd_get_json("/v1/placement"), *c;
	size_t i;
	int cpu = -1;

	json_array_foreach(json_object_get(all, "cpus"), i,
	                   c) if (cpu < 0 &&
	                          !strcmp(json_string_value(json_object_get(c, "role")), role))
	    cpu = (int)json_integer_value(json_object_get(c, "cpu"));
	json_decref(all);
	return cpu;
}

/* The newest move of a kind for a guest, waited for up to ms; a new reference or NULL. */
static json_t *wait_move(const char *guest, const char *kind, int ms)
{
	for (; ms > 0; ms -= 250) {
		json_t *all = sd_get_json("/v1/placement"), *m, *found = NULL;
		size_t i;

		json_array_foreach(
		    json_object_get(all, "moves"), i,
		    m) if (!strcmp(json_string_value(json_object_get(m, "guest")), guest) &&
		           !strcmp(json_string_value(json_object_get(m, "kind")), kind))
		{
			json_decref(found);
			found = json_incref(m);
		}
		json_decref(all);
		if (found)
			return found;
		usleep(250000);
	}
	return NULL;
}

static int put_pin(const char *name, const char *body, struct http_answer *a)
{
	char path[128];

	snprintf(path, sizeof(path), "/v1/guests/%s/placement", name);
	return http_req(sd.sock, "PUT", path, body, a);
}

static int lat, bat;
/* The main shoald's options: a short period, so the loop acts within seconds; batch-spill on. */
static const char *const sd_extra[] = { "--placement-period-ms=500", "--batch-spill=on", NULL };

static void initial(void)
{
	json_t *all = sd_get_json("/v1/placement");
	int i, apart = 1;
	char want[16];

	tap_ok(json_is_true(json_object_get(all, "enabled")) &&
	           json_array_size(json_object_get(all, "cpus")) >= 2,
	       "GET /v1/placement: placement on, the CPU map");
	tap_ok(strstr(json_string_value(json_object_get(all, "mechanism")) ?: "", "weight:") !=
	           NULL,
	       "it says how this host places: %s",
	       json_string_value(json_object_get(all, "mechanism")));
	json_decref(all);
	lat = role_cpu("latency");
	bat = role_cpu("batch");
	tap_ok(lat >= 0 && bat >= 0 && lat != bat, "a latency CPU (%d) and a batch CPU (%d)", lat,
	       bat);
	/* An SLO no guest meets here: the loop will want a remedy for them all. */
	for (i = 0; i < 3; i++)
		sd_deploy("{\"name\":\"web-%d\",\"image\":\"%s\",\"memory_mib\":8,\"slo_us\":20}",
		          i, shoald_guest_image(&sd, "idle"));
	tap_ok(sd_deploy("{\"name\":\"crunch\",\"image\":\"%s\",\"memory_mib\":8,\"latency_class\":"
	                 "\"batch\",\"args\":[\"60000\"]}",
	                 shoald_guest_image(&sd, "spin")) == 201,
	       "three latency guests and a batch guest deployed");
	snprintf(want, sizeof(want), "%d", lat);
	for (i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "web-%d", i);
		apart &= cpu_of(name) == lat && !strcmp(affinity_of(name), want);
	}
	tap_ok(apart,
	       "the latency guests are on the latency CPU, their vCPU threads pinned there (%s)",
	       affinity_of("web-0"));
	{
		json_t *g = placement_of("crunch");

		tap_ok(cpu_of("crunch") == bat && !strcmp(affinity_of("crunch"), spill_list(bat)) &&
		           !strcmp(json_string_value(json_object_get(g, "policy")) ?: "", "idle"),
		       "the batch guest is on the batch CPU at the idle policy, free to use the "
		       "latency CPUs' idle time (%s; policy %s)",
		       affinity_of("crunch"), json_string_value(json_object_get(g, "policy")));
		json_decref(g);
	}
}

static void operator_pin(void)
{
	struct http_answer a;
	char body[64], want[16];
	json_t *m, *g;

	snprintf(body, sizeof(body), "{\"cpus\":[%d]}", lat);
	put_pin("crunch", body, &a);
	tap_ok(a.status == 200 && json_integer_value(json_object_get(a.json, "cpu")) == lat,
	       "PUT placement pins the batch guest onto the latency CPU (%d)", a.status);
	http_answer_free(&a);
	snprintf(want, sizeof(want), "%d", lat);
	tap_ok(!strcmp(affinity_of("crunch"), want), "its vCPU thread moved there at once (%s)",
	       affinity_of("crunch"));
	m = wait_move("crunch", "weight", 30000);
	tap_ok(m && json_integer_value(json_object_get(m, "weight")) < 100 &&
	           json_is_true(json_object_get(m, "applied")),
	       "the loop cannot move a pinned guest: it lowers its weight: %s",
	       m ? json_string_value(json_object_get(m, "reason")) : "(no move)");
	json_decref(m);
	g = placement_of("crunch");
	tap_ok(!strcmp(json_string_value(json_object_get(g, "policy")) ?: "", "idle"),
	       "and it keeps the idle class policy, the last remedy (%s)",
	       json_string_value(json_object_get(g, "policy")));
	tap_ok(json_integer_value(json_object_get(g, "cpu")) == lat &&
	           wait_move("crunch", "pin", 1) == NULL,
	       "and never moves it");
	json_decref(g);
}

static void unpin(void)
{
	struct http_answer a;
	json_t *m;

	put_pin("crunch", "{\"cpus\":[]}", &a);
	tap_ok(a.status == 200 && json_integer_value(json_object_get(a.json, "cpu")) == lat,
	       "unpinned, it stays where it is for now (%d)", a.status);
	http_answer_free(&a);
	m = wait_move("crunch", "pin", 40000);
	tap_ok(m && json_integer_value(json_object_get(m, "from")) == lat &&
	           json_integer_value(json_object_get(m, "to")) == bat,
	       "the loop moves it off the latency CPU: %s",
	       m ? json_string_value(json_object_get(m, "reason")) : "(no move)");
	json_decref(m);
	tap_ok(!strcmp(affinity_of("crunch"), spill_list(bat)),
	       "its vCPU thread is on the batch CPU, and may use the latency CPUs (%s)",
	       affinity_of("crunch"));
	{
		char *ev = sd_get_text("/v1/events?follow=0&limit=1000"),
		     *met = sd_get_text("/metrics");

		tap_ok(ev && strstr(ev, "\"type\":\"placement\"") &&
		           strstr(ev, "guest crunch vCPU 0 from CPU"),
		       "the moves are in the event log with their reasons");
		tap_ok(met && strstr(met, "shoal_placement_moves_total{kind=\"pin\"} ") &&
		           strstr(met, "shoal_cpu_role{cpu=\"") &&
		           strstr(met, "shoal_guest_cpu{guest=\"crunch\"} "),
		       "and in /metrics");
		free(ev);
		free(met);
	}
}

static void survive_restart(void)
{
	char want[16];
	json_t *g;

	shoald_kill(&sd, SIGKILL);
	tap_ok(shoald_restart(&sd, sd_extra) == 0, "shoald restarts after kill -9");
	g = placement_of("crunch");
	tap_ok(json_integer_value(json_object_get(g, "cpu")) == bat &&
	           !strcmp(affinity_of("crunch"), spill_list(bat)) &&
	           !strcmp(json_string_value(json_object_get(g, "policy")) ?: "", "idle") &&
	           json_integer_value(json_object_get(g, "weight")) < 100,
	       "the re-adopted batch guest keeps its CPU, weight and class policy (cpu %lld, "
	       "weight %lld, %s)",
	       (long long)json_integer_value(json_object_get(g, "cpu")),
	       (long long)json_integer_value(json_object_get(g, "weight")),
	       json_string_value(json_object_get(g, "policy")));
	json_decref(g);
	snprintf(want, sizeof(want), "%d", lat);
	tap_ok(cpu_of("web-1") == lat && !strcmp(affinity_of("web-1"), want),
	       "and the latency guests theirs");
}

static void bad_pins(void)
{
	static const struct {
		const char *body, *code, *field;
		int status;
	} cases[] = {
		{ "{", "malformed_json", "body", 400 },
		{ "[0]", "invalid_body", "body", 400 },
		{ "{}", "missing_field", "cpus", 400 },
		{ "{\"cpus\":[0],\"weight\":5}", "unknown_field", "weight", 400 },
		{ "{\"cpus\":\"0-1\"}", "invalid_field", "cpus", 400 },
		{ "{\"cpus\":[\"0\"]}", "invalid_field", "cpus[0]", 400 },
		{ "{\"cpus\":[99]}", "invalid_field", "cpus[0]", 400 },
		{ "{\"cpus\":[-1]}", "invalid_field", "cpus[0]", 400 },
		{ "{\"cpus\":[0,0]}", "invalid_field", "cpus[1]", 400 },
	};
	struct http_answer a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put_pin("web-2", cases[i].body, &a);
		tap_ok(a.status == cases[i].status && !strcmp(http_err_code(&a), cases[i].code) &&
		           !strcmp(http_err_field(&a), cases[i].field),
		       "PUT placement %s: %d %s naming %s (got %d %s %s)", cases[i].body,
		       cases[i].status, cases[i].code, cases[i].field, a.status, http_err_code(&a),
		       http_err_field(&a));
		http_answer_free(&a);
	}
	put_pin("nobody", "{\"cpus\":[0]}", &a);
	tap_ok(a.status == 404 && !strcmp(http_err_field(&a), "name"),
	       "PUT placement of an unknown guest: 404 (%d)", a.status);
	http_answer_free(&a);
	tap_ok(cpu_of("web-2") == lat, "web-2 was not moved by any of it");
}

/*
 * A second shoald with tight limits: what admission refuses, and why.  One
 * latency vCPU per CPU, and memory for guests is what the host has less a
 * reserve that leaves about 1 GiB (max-memory-mib is lifted, so that the
 * refusal is the placement's, from the host's own memory).
 */
static void admission(void)
{
	static const char *const extra[] = { "--latency-vcpus-per-cpu=1", "--batch-vcpus-per-cpu=1",
		                             "--reserve-mib=23000", "--max-memory-mib=100000000",
		                             NULL };
	static const struct {
		const char *name, *cls, *code, *field;
		unsigned mib;
		int status;
	} steps[] = {
		{ "m-1", "latency", "", "", 1024, 201 },
		{ "m-2", "latency", "memory_exhausted", "memory_mib", 1024, 409 },
		/* The latency CPU holds m-1; the one batch core is kept for batch guests. */
		{ "l-1", "latency", "cpu_overcommit", "latency_class", 8, 409 },
		{ "b-1", "batch", "", "", 8, 201 },
		{ "b-2", "batch", "cpu_overcommit", "latency_class", 8, 409 },
	};
	struct shoald_run s2;
	struct http_answer a;
	char spec[1024];
	size_t i;

	if (shoald_start(&s2, extra) < 0) {
		tap_ok(0, "a second shoald with tight limits starts");
		shoald_cleanup(&s2);
		return;
	}
	if (sysconf(_SC_PHYS_PAGES) / 256 < 23000 + 1100) {
		tap_skip("admission refusals", "this host has too little memory for the scenario");
		shoald_cleanup(&s2);
		return;
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(
		    spec, sizeof(spec),
		    "{\"name\":\"%s\",\"image\":\"%s\",\"memory_mib\":%u,\"latency_class\":\"%s\"}",
		    steps[i].name, shoald_guest_image(&s2, "idle"), steps[i].mib, steps[i].cls);
		http_req(s2.sock, "POST", "/v1/guests", spec, &a);
		tap_ok(a.status == steps[i].status && !strcmp(http_err_code(&a), steps[i].code) &&
		           !strcmp(http_err_field(&a), steps[i].field),
		       "%s (%s, %u MiB): %d %s%s%s", steps[i].name, steps[i].cls, steps[i].mib,
		       a.status, http_err_code(&a), a.status >= 400 ? ": " : "",
		       a.status >= 400 ? json_string_value(json_object_get(
		                             json_object_get(a.json, "error"), "message"))
		                       : "");
		http_answer_free(&a);
	}
	shoald_cleanup(&s2);
}

static void reserved_and_off(void)
{
	static const char *const reserved[] = { "--reserve-cpus=0", NULL };
	static const char *const off[] = { "--placement=off", NULL };
	struct shoald_run s3;
	struct http_answer a;
	char spec[1024];
	json_t *all;

	if (shoald_start(&s3, reserved) == 0) {
		snprintf(spec, sizeof(spec),
		         "{\"name\":\"on-0\",\"image\":\"%s\",\"memory_mib\":8,\"cpus\":[0]}",
		         shoald_guest_image(&s3, "idle"));
		http_req(s3.sock, "POST", "/v1/guests", spec, &a);
		tap_ok(a.status == 409 && !strcmp(http_err_code(&a), "reserved_cpu") &&
		           !strcmp(http_err_field(&a), "cpus"),
		       "--reserve-cpus=0: a guest asking for CPU 0 is refused (%d %s)", a.status,
		       http_err_code(&a));
		http_answer_free(&a);
		sdapi_use(s3.sock);
		sd_deploy("{\"name\":\"free\",\"image\":\"%s\",\"memory_mib\":8}",
		          shoald_guest_image(&s3, "idle"));
		tap_ok(!strcmp(affinity_of("free"), "1"), "and guests go to the other CPUs (%s)",
		       affinity_of("free"));
	} else {
		tap_ok(0, "a shoald with --reserve-cpus=0 starts");
	}
	shoald_cleanup(&s3);
	if (shoald_start(&s3, off) < 0) {
		tap_ok(0, "a shoald with --placement=off starts");
		shoald_cleanup(&s3);
		sdapi_use(sd.sock);
		return;
	}
	sdapi_use(s3.sock);
	sd_deploy("{\"name\":\"float\",\"image\":\"%s\",\"memory_mib\":8}",
	          shoald_guest_image(&s3, "idle"));
	sd_deploy("{\"name\":\"held\",\"image\":\"%s\",\"memory_mib\":8,\"cpus\":[1]}",
	          shoald_guest_image(&s3, "idle"));
	sleep(3);
	all = sd_get_json("/v1/placement");
	tap_ok(json_is_false(json_object_get(all, "enabled")) &&
	           json_array_size(json_object_get(all, "moves")) == 0 &&
	           json_integer_value(json_object_get(all, "periods")) == 0,
	       "--placement=off: no control loop, no moves");
	json_decref(all);
	tap_ok(!strcmp(affinity_of("float"), "0-1") && cpu_of("float") == -1,
	       "a guest floats over every CPU (%s)", affinity_of("float"));
	tap_ok(!strcmp(affinity_of("held"), "1"), "an operator's pin still holds (%s)",
	       affinity_of("held"));
	shoald_cleanup(&s3);
	sdapi_use(sd.sock);
}

int main(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("1..0 # SKIP placement needs at least 2 CPUs\n");
		return 0;
	}
	sdtest_begin(&sd, sd_extra);
	initial();
	operator_pin();
	unpin();
	bad_pins();
	survive_restart();
	admission();
	reserved_and_off();
	return sdtest_end(&sd);
}
