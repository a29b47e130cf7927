/*
 * bench/placement: what placement does for latency guests that share a
 * host with CPU-bound batch guests.  The same fleet (idle latency-class
 * guests and spinning batch guests) runs twice in one run: first under
 * --placement=off (the host's scheduler puts every vCPU where it likes:
 * the naive default), then with placement on; each time the latency
 * guests' probe round trips are read over a 10 s window once the fleet
 * has settled.  Never pass/fail.
 *
 *   placement [--latency N] [--batch N] [--settle S]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "bench/fleet.h"
#include "tests/lib/httpc.h"
#include "tests/lib/shoald_run.h"

struct figures {
	struct fleet_latency lat;
	long moves;
};

static int deploy(struct shoald_run *sd, const char *spec)
{
	struct http_answer a;
	int ok = http_req(sd->sock, "POST", "/v1/guests", spec, &a) == 0 && a.status == 201;

	if (!ok)
		fprintf(stderr, "deploy: %d %s\n", a.status, a.body ? a.body : "");
	http_answer_free(&a);
	return ok ? 0 : -1;
}

static void measure(struct shoald_run *sd, unsigned slo_us, struct figures *f)
{
	struct http_answer a;

	memset(f, 0, sizeof(*f));
	fleet_latency(sd->sock, "lat-", slo_us, &f->lat);
	if (http_req(sd->sock, "GET", "/v1/placement", NULL, &a) == 0 && a.json)
		f->moves = (long)json_array_size(json_object_get(a.json, "moves"));
	http_answer_free(&a);
}

static int run(const char *mode, int nlat, int nbatch, unsigned slo_us, int settle_s,
               struct figures *f)
{
	char opt[32], spec[4400];
	const char *extra[] = { opt, "--log-level=warn", NULL };
	struct shoald_run sd;
	int i, rc = -1;

	snprintf(opt, sizeof(opt), "--placement=%s", mode);
	if (shoald_start(&sd, extra) < 0) {
		fprintf(stderr, "shoald did not start\n");
		shoald_dump_log(&sd);
		goto out;
	}
	for (i = 0; i < nbatch; i++) {
		snprintf(spec, sizeof(spec),
		         "{\"name\":\"batch-%d\",\"image\":\"%s\",\"memory_mib\":8,\"latency_"
		         "class\":\"batch\",\"args\":[\"60000\"]}",
		         i, shoald_guest_image(&sd, "spin"));
		if (deploy(&sd, spec) < 0)
			goto out;
	}
	for (i = 0; i < nlat; i++) {
		snprintf(spec, sizeof(spec),
		         "{\"name\":\"lat-%02d\",\"image\":\"%s\",\"memory_mib\":8,\"slo_us\":%u}",
		         i, shoald_guest_image(&sd, "idle"), slo_us);
		if (deploy(&sd, spec) < 0)
			goto out;
	}
	sleep(
	    (unsigned)
	        settle_s); /* the control loop acts, then the 10 s window fills with what it did */
	measure(&sd, slo_us, f);
	rc = 0;
out:
	shoald_cleanup(&sd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "latency", required_argument, NULL, 'l' },
		{ "batch", required_argument, NULL, 'b' },
		{ "settle", required_argument, NULL, 's' },
		{ "slo-us", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int nlat = 16, nbatch = 2, settle = 25, c;
	unsigned slo = 500;
	struct figures off, on;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'l')
			nlat = atoi(optarg) < 1 ? 1 : atoi(optarg);
		else if (c == 'b')
			nbatch = atoi(optarg) < 0 ? 0 : atoi(optarg);
		else if (c == 's')
			settle = atoi(optarg) < 12 ? 12 : atoi(optarg);
		else if (c == 'S')
			slo = (unsigned)(atoi(optarg) < 1 ? 1 : atoi(optarg));
		else {
			fprintf(stderr, "usage: placement [--latency N] [--batch N] [--settle S] "
			                "[--slo-us US]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	printf("bench/placement: %d idle latency guests (SLO %u us) beside %d spinning batch "
	       "guests, %ld CPUs;\n"
	       "probe RTT of the latency guests over the last 10 s, %d s after the fleet was "
	       "deployed\n\n",
	       nlat, slo, nbatch, sysconf(_SC_NPROCESSORS_ONLN), settle);
	if (run("off", nlat, nbatch, slo, settle, &off) < 0 ||
	    run("on", nlat, nbatch, slo, settle, &on) < 0)
		return 1;
	printf("%-26s %12s %12s %12s %10s %8s %7s\n", "", "p50 (median)", "p99 (median)",
	       "p99 (worst)", "over SLO", "misses", "moves");
	printf("%-26s %10.1fus %10.1fus %10.1fus %7d/%-2d %8ld %7s\n", "placement off (baseline)",
	       off.lat.p50_med, off.lat.p99_med, off.lat.p99_worst, off.lat.over_slo,
	       off.lat.guests, off.lat.misses, "-");
	printf("%-26s %10.1fus %10.1fus %10.1fus %7d/%-2d %8ld %7ld\n", "placement on",
	       on.lat.p50_med, on.lat.p99_med, on.lat.p99_worst, on.lat.over_slo, on.lat.guests,
	       on.lat.misses, on.moves);
	if (on.lat.p99_med > 0 && on.lat.p99_worst > 0)
		printf("\np99 off/on: median guest %.1fx, worst guest %.1fx\n",
		       off.lat.p99_med / on.lat.p99_med, off.lat.p99_worst / on.lat.p99_worst);
	return 0;
}
