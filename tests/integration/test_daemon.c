/*
 * shoald with real guests, through its real API: deploys (50 at
 * once), consoles after a guest ended, restart policies, a kill -9 of
 * shoald with 50 guests running and its restart (nothing lost; on KVM
 * nothing restarted, on proc every guest started again by its policy),
 * rollback, stop/start/delete, a flooding console.  Runs on the platform
 * SHOAL_TEST_PLATFORM names (doc/testing.md).  TAP.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/httpc.h"
#include "tests/lib/sdtest.h"

#define FLEET 50

static struct shoald_run sd;

static void hello_and_console(void)
{
	int st = sd_deploy("{\"name\":\"hello-1\",\"image\":\"%s\",\"args\":[\"x\",\"y "
	                   "z\"],\"restart\":\"never\"}",
	                   shoald_guest_image(&sd, "hello"));
	char buf[64];

	tap_ok(st == 201, "deploying hello answers 201 once it runs (got %d)", st);
	tap_ok(sd_wait_field("hello-1", "state", "stopped", 3000),
	       "hello ends by itself: state stopped");
	tap_ok(sd_wait_console("hello-1", "hello from hello-1: x y z", 1000),
	       "hello's console is readable after it ended");
	tap_ok(!strcmp(sd_guest_field("hello-1", "restarts", buf, sizeof(buf)), "0"),
	       "a clean end is not restarted");
	st = sd_deploy(
	    "{\"name\":\"hello-1\",\"image\":\"%s\",\"args\":[\"again\"],\"restart\":\"never\"}",
	    shoald_guest_image(&sd, "hello"));
	tap_ok(st == 200, "deploying an existing name answers 200 (got %d)", st);
	tap_ok(sd_wait_console("hello-1", "hello from hello-1: again", 2000),
	       "and runs the new deploy");
}

struct deploy_job {
	int i;
	int status;
};

static void *deploy_thread(void *arg)
{
	struct deploy_job *j = arg;

	j->status = sd_deploy("{\"name\":\"fleet-%02d\",\"image\":\"%s\",\"memory_mib\":16}", j->i,
	                      shoald_guest_image(&sd, "idle"));
	return NULL;
}

static int count_running(const char *prefix)
{
	json_t *all = sd_get_json("/v1/guests"), *g;
	size_t i;
	int n = 0;

	json_array_foreach(all, i, g)
	{
		const char *name = json_string_value(json_object_get(g, "name"));
		const char *state = json_string_value(json_object_get(g, "state"));

		if (name && state && !strncmp(name, prefix, strlen(prefix)) &&
		    !strcmp(state, "running"))
			n++;
	}
	json_decref(all);
	return n;
}

/* Wait up to ms until n guests whose names start with prefix run; how many do. */
static int wait_running(const char *prefix, int n, int ms)
{
	int got = count_running(prefix);

	for (; got != n && ms > 0; ms -= 100) {
		usleep(100000);
		got = count_running(prefix);
	}
	return got;
}

static void fleet(void)
{
	struct deploy_job jobs[FLEET];
	pthread_t th[FLEET];
	int i, ok201 = 0;
	uint64_t t0 = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < FLEET; i++) {
		jobs[i].i = i;
		pthread_create(&th[i], NULL, deploy_thread, &jobs[i]);
	}
	for (i = 0; i < FLEET; i++) {
		pthread_join(th[i], NULL);
		ok201 += jobs[i].status == 201;
		if (jobs[i].status != 201)
			tap_diag("deploy of fleet-%02d answered %d", i, jobs[i].status);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	tap_ok(
	    ok201 == FLEET,
	    "%d concurrent deploys through the API all answer 201 (%d did, in %llu ms)", FLEET,
	    ok201,
	    (unsigned long long)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 - t0));
	tap_ok(count_running("fleet-") == FLEET, "all %d are running (%d)", FLEET,
	       count_running("fleet-"));
}

static void policies(void)
{
	char buf[64];
	int st;

	st = sd_deploy("{\"name\":\"fail-on\",\"image\":\"%s\",\"args\":[\"exit\",\"3\"],"
	               "\"restart\":\"on-failure\"}",
	               shoald_guest_image(&sd, "crash"));
	tap_ok(st == 201, "a failing guest deploys (it runs before it fails)");
	st = sd_deploy("{\"name\":\"fail-never\",\"image\":\"%s\",\"args\":[\"exit\",\"3\"],"
	               "\"restart\":\"never\"}",
	               shoald_guest_image(&sd, "crash"));
	st = sd_deploy("{\"name\":\"clean-always\",\"image\":\"%s\",\"restart\":\"always\"}",
	               shoald_guest_image(&sd, "hello"));
	usleep(1500000);
	tap_ok(atoi(sd_guest_field("fail-on", "restarts", buf, sizeof(buf))) >= 2,
	       "on-failure restarts a guest that exits 3 (restarts %s)", buf);
	tap_ok(atoi(sd_guest_field("fail-never", "restarts", buf, sizeof(buf))) == 0,
	       "never does not restart it");
	tap_ok(!strcmp(sd_guest_field("fail-never", "state", buf, sizeof(buf)), "exited"),
	       "and leaves it exited (%s)", buf);
	tap_ok(atoi(sd_guest_field("clean-always", "restarts", buf, sizeof(buf))) >= 2,
	       "always restarts even a clean end (restarts %s)", buf);
	{
		json_t *g = sd_get_json("/v1/guests/fail-on");
		json_t *le = json_object_get(g, "last_exit");

		tap_ok(le && json_integer_value(json_object_get(le, "status")) == 3 &&
		           strstr(json_string_value(json_object_get(le, "reason")), "code 3"),
		       "the exit code and reason are recorded");
		json_decref(g);
	}
	{
		json_t *ev = sd_get_json("/v1/events?follow=0&limit=1000");
		char *text = json_dumps(ev, 0);

		tap_ok(text && strstr(text, "guest fail-on ended: guest exited with code 3 (status "
		                            "3, guest exit); restart"),
		       "the event log says why and what was done");
		free(text);
		json_decref(ev);
	}
	tap_ok(sd_action("fail-on", "stop") == 200 &&
	           sd_wait_field("fail-on", "state", "stopped", 2000),
	       "stop ends the restart loop");
	sd_action("clean-always", "stop");
	st = sd_deploy("{\"name\":\"badcaller\",\"image\":\"%s\",\"restart\":\"never\"}",
	               shoald_guest_image(&sd, "badcall"));
	sd_wait_field("badcaller", "state", "exited", 2000);
	{
		json_t *g = sd_get_json("/v1/guests/badcaller");
		json_t *le = json_object_get(g, "last_exit");

		tap_ok(
		    le && json_integer_value(json_object_get(le, "status")) == 202 &&
		        strstr(json_string_value(json_object_get(le, "reason")), "0xdeadbeef000"),
		    "a bad hypercall is recorded with the tender's reason");
		json_decref(g);
	}
}

/* kill -9 shoald with the fleet running; start it again: same guests, not restarted. */
static void survive_kill(void)
{
	char pid_before[FLEET][16], inst_before[FLEET][16], name[32], buf[256];
	int i, same = 0, alive = 0, running, gone[2];
	double up_before = 0, up_after = 0;
	json_t *g;

	for (i = 0; i < FLEET; i++) {
		snprintf(name, sizeof(name), "fleet-%02d", i);
		sd_guest_field(name, "pid", pid_before[i], sizeof(pid_before[i]));
		sd_guest_field(name, "instance", inst_before[i], sizeof(inst_before[i]));
	}
	g = sd_get_json("/v1/guests/fleet-00");
	up_before = json_real_value(json_object_get(g, "uptime_s"));
	json_decref(g);
	/* Two more whose tenders are killed while no shoald runs: no exit record is left. */
	sd_deploy("{\"name\":\"gone-never\",\"image\":\"%s\",\"restart\":\"never\"}",
	          shoald_guest_image(&sd, "idle"));
	sd_deploy("{\"name\":\"gone-always\",\"image\":\"%s\",\"restart\":\"always\"}",
	          shoald_guest_image(&sd, "idle"));
	gone[0] = atoi(sd_guest_field("gone-never", "pid", buf, sizeof(buf)));
	gone[1] = atoi(sd_guest_field("gone-always", "pid", buf, sizeof(buf)));
	shoald_kill(&sd, SIGKILL);
	for (i = 0; i < FLEET; i++)
		alive += atoi(pid_before[i]) > 0 && kill(atoi(pid_before[i]), 0) == 0;
	tap_ok(alive == FLEET, "after kill -9 of shoald all %d tenders still run (%d)", FLEET,
	       alive);
	for (i = 0; i < 2; i++)
		if (gone[i] > 0)
			kill(gone[i], SIGKILL);
	usleep(300000);
	tap_ok(shoald_restart(&sd, NULL) == 0, "shoald starts again");
	{
		int ended = sd_wait_field("gone-never", "state", "exited", 5000);
		json_t *gn = sd_get_json("/v1/guests/gone-never");
		const char *why =
		    json_string_value(json_object_get(json_object_get(gn, "last_exit"), "reason"));

		tap_ok(
		    ended && why && strstr(why, "while shoald was away"),
		    "a guest whose tender died while no shoald ran is ended with the reason, and "
		    "restart never leaves it so (%s: %s)",
		    json_string_value(json_object_get(gn, "state")), why ? why : "(none)");
		json_decref(gn);
	}
	tap_ok(sd_wait_field("gone-always", "state", "running", 5000) &&
	           !strcmp(sd_guest_field("gone-always", "restarts", buf, sizeof(buf)), "1"),
	       "restart always starts it again (restarts %s)",
	       sd_guest_field("gone-always", "restarts", buf, sizeof(buf)));
	{
		struct http_answer a;

		http_req(sd.sock, "DELETE", "/v1/guests/gone-never", NULL, &a);
		http_answer_free(&a);
		http_req(sd.sock, "DELETE", "/v1/guests/gone-always", NULL, &a);
		http_answer_free(&a);
	}
	running = wait_running("fleet-", FLEET, 5000);
	tap_ok(running == FLEET, "the same %d guests are running (%d)", FLEET, running);
	for (i = 0; i < FLEET; i++) {
		snprintf(name, sizeof(name), "fleet-%02d", i);
		same +=
		    !strcmp(sd_guest_field(name, "pid", buf, sizeof(buf)), pid_before[i]) &&
		    !strcmp(sd_guest_field(name, "instance", buf, sizeof(buf)), inst_before[i]) &&
		    !strcmp(sd_guest_field(name, "restarts", buf, sizeof(buf)), "0");
	}
	tap_ok(same == FLEET, "none was restarted: same pid, same instance, no restarts (%d of %d)",
	       same, FLEET);
	g = sd_get_json("/v1/guests/fleet-00");
	up_after = json_real_value(json_object_get(g, "uptime_s"));
	json_decref(g);
	tap_ok(up_after > up_before, "uptime continues across the restart (%.2f s -> %.2f s)",
	       up_before, up_after);
	tap_ok(sd_wait_console("fleet-07", "idle: fleet-07 up", 1000),
	       "consoles are still readable after the restart");
	{
		json_t *ev = sd_get_json("/v1/events?follow=0&limit=1000");
		char *text = json_dumps(ev, 0);

		tap_ok(text && strstr(text, "guest fleet-00 re-adopted"),
		       "the event log records the re-adoption");
		free(text);
		json_decref(ev);
	}
	/* A graceful stop leaves them running too. */
	shoald_kill(&sd, SIGTERM);
	shoald_restart(&sd, NULL);
	tap_ok(wait_running("fleet-", FLEET, 5000) == FLEET,
	       "after SIGTERM and a restart the fleet still runs");
}

static void rollback(void)
{
	char buf[64];
	json_t *g;
	int st;

	sd_deploy("{\"name\":\"web\",\"image\":\"%s\",\"args\":[\"v1\"],\"restart\":\"never\"}",
	          shoald_guest_image(&sd, "hello"));
	/* v1's output first: a deploy answers once the guest runs, maybe before it printed. */
	sd_wait_console("web", "hello from web: v1", 2000);
	sd_deploy("{\"name\":\"web\",\"image\":\"%s\",\"args\":[\"v2\"],\"restart\":\"never\"}",
	          shoald_guest_image(&sd, "hello"));
	tap_ok(sd_wait_console("web", "hello from web: v2", 2000), "a second deploy runs v2");
	st = sd_action("web", "rollback");
	tap_ok(st == 200, "rollback answers 200 (got %d)", st);
	tap_ok(sd_wait_console("web", "hello from web: v2\n-- shoald: instance", 2000) &&
	           sd_wait_console("web", "v2\n", 100),
	       "the console keeps both runs");
	g = sd_get_json("/v1/guests/web");
	{
		json_t *args = json_object_get(json_object_get(g, "spec"), "args");

		tap_ok(json_array_size(args) == 1 &&
		           !strcmp(json_string_value(json_array_get(args, 0)), "v1"),
		       "rollback returns to the previous spec (args v1)");
		tap_ok(json_array_size(json_object_get(g, "history")) == 3,
		       "the history keeps all three deploys");
	}
	json_decref(g);
	{
		/* The rollback answers once v1 runs; its output comes a moment later. */
		int again = 0, ms;

		for (ms = 0; ms < 2000 && !again; ms += 50) {
			char *c = sd_get_text("/v1/guests/web/console");
			char *v1 = c ? strstr(c, "hello from web: v1") : NULL;

			again = v1 && strstr(v1 + 1, "hello from web: v1");
			free(c);
			if (!again)
				usleep(50000);
		}
		if (!tap_ok(again, "and v1 ran again after the rollback")) {
			char *c = sd_get_text("/v1/guests/web/console");

			tap_diag("web's console: %s", c ? c : "(none)");
			free(c);
		}
	}
	st = sd_action("web", "rollback");
	tap_ok(st == 409, "rolling back past the first deploy is refused with 409 (got %d)", st);
	(void)buf;
}

static void stop_start_delete(void)
{
	char buf[64], inst[16];
	struct http_answer a;
	int st;

	sd_guest_field("fleet-10", "instance", inst, sizeof(inst));
	st = sd_action("fleet-10", "stop");
	tap_ok(st == 200 &&
	           !strcmp(sd_guest_field("fleet-10", "state", buf, sizeof(buf)), "stopped"),
	       "stop answers once the guest has stopped (%d, %s)", st, buf);
	st = sd_action("fleet-10", "start");
	tap_ok(st == 200 &&
	           !strcmp(sd_guest_field("fleet-10", "state", buf, sizeof(buf)), "running"),
	       "start answers once it runs (%d, %s)", st, buf);
	tap_ok(strcmp(sd_guest_field("fleet-10", "instance", buf, sizeof(buf)), inst) != 0,
	       "a new start is a new instance");
	st = sd_action("fleet-11", "restart");
	tap_ok(st == 200 &&
	           !strcmp(sd_guest_field("fleet-11", "state", buf, sizeof(buf)), "running"),
	       "restart answers once it runs again");
	http_req(sd.sock, "DELETE", "/v1/guests/fleet-12", NULL, &a);
	tap_ok(a.status == 200, "DELETE answers 200");
	http_answer_free(&a);
	usleep(300000);
	http_req(sd.sock, "GET", "/v1/guests/fleet-12", NULL, &a);
	tap_ok(a.status == 404 && !strcmp(http_err_code(&a), "no_such_guest"),
	       "a deleted guest is gone (404)");
	http_answer_free(&a);
}

/* shoald's CPU time so far, in clock ticks (utime + stime of /proc/PID/stat); -1 unknown. */
static long shoald_ticks(void)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)sd.pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* After the command's closing parenthesis: state, then fields 4 .. 13, then utime, stime.
	 */
	p = p ? strrchr(buf, ')') : NULL;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static void flood(void)
{
	struct stat st;
	char path[400];
	json_t *g, *c;
	int i;

	sd_deploy("{\"name\":\"flooder\",\"image\":\"%s\",\"args\":[\"200\"]}",
	          shoald_guest_image(&sd, "flood"));
	/*
	 * Marked once it has written more than the rate allows: within 2.5 s
	 * on a quiet host, later on a loaded one, where its emulated writes
	 * come slower.  Up to 15 s.
	 */
	for (i = 0;; i++) {
		g = sd_get_json("/v1/guests/flooder");
		c = json_object_get(g, "console");
		if (i == 150 || (json_integer_value(json_object_get(c, "dropped_bytes")) > 0 &&
		                 json_is_true(json_object_get(c, "flooding"))))
			break;
		json_decref(g);
		usleep(100000);
	}
	tap_ok(json_integer_value(json_object_get(c, "dropped_bytes")) > 0 &&
	           json_is_true(json_object_get(c, "flooding")),
	       "a flooding guest is rate-limited and marked (%lld bytes dropped)",
	       (long long)json_integer_value(json_object_get(c, "dropped_bytes")));
	tap_ok(json_is_string(json_object_get(g, "state")) &&
	           !strcmp(json_string_value(json_object_get(g, "state")), "running"),
	       "and keeps running");
	json_decref(g);
	{
		/*
		 * On proc shoald leaves a flooding console unread while the
		 * limit has no room, so the flood costs the guest, not shoald:
		 * under 10 % of a core over 3 s (it cost shoald 37 % when every
		 * byte was read and dropped).  A KVM tender's console is read
		 * on (its pipe blocks the vCPU when full): printed only.
		 */
		long hz = sysconf(_SC_CLK_TCK), t0 = shoald_ticks(), t1;

		sleep(3);
		t1 = shoald_ticks();
		if (shoald_on_proc())
			tap_ok(
			    t0 >= 0 && t1 >= 0 && (t1 - t0) * 100 < 10 * 3 * hz,
			    "shoald's CPU stays bounded while it floods (%ld ticks in 3 s, %ld a "
			    "second)",
			    t1 - t0, hz);
		else
			tap_diag("shoald's CPU while it floods: %ld ticks in 3 s (%ld a second)",
			         t1 - t0, hz);
	}
	snprintf(path, sizeof(path), "%s/state/console/flooder.log", sd.dir);
	memset(&st, 0, sizeof(st));
	stat(path, &st);
	tap_ok(st.st_size > 0 && st.st_size <= (1 << 20),
	       "its console file stays within its limit (%s: %lld bytes)", path,
	       (long long)st.st_size);
	{
		json_t *ev = sd_get_json("/v1/events?follow=0&limit=1000");
		char *text = json_dumps(ev, 0);

		tap_ok(text && strstr(text, "guest flooder floods its console"),
		       "the event log says so");
		free(text);
		json_decref(ev);
	}
	sd_action("flooder", "stop");
}

int main(void)
{
	sdtest_begin(&sd, NULL);
	hello_and_console();
	fleet();
	policies();
	survive_kill();
	rollback();
	stop_start_delete();
	flood();
	return sdtest_end(&sd);
}
