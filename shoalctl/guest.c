/*
 * shoalctl's guest commands other than deploy: ls, show, start, stop,
 * restart, rollback, rm and console.  Each is one request (console -f a
 * stream); people get tables and aligned details, --json gets the
 * server's answer unchanged.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoalctl/ctl.h"

static int by_name(const void *a, const void *b)
{
	const char *x = ctl_jstr(*(json_t *const *)a, "name"),
	           *y = ctl_jstr(*(json_t *const *)b, "name");

	return strcmp(x ? x : "", y ? y : "");
}

/* The guests of a GET /v1/guests answer, sorted by name; free() the array only. */
static json_t **sorted_guests(const json_t *all, size_t *n)
{
	json_t **v;
	size_t i;

	*n = json_array_size(all);
	v = calloc(*n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < *n; i++)
		v[i] = json_array_get(all, i);
	qsort(v, *n, sizeof(*v), by_name);
	return v;
}

/*
 * The guests as a table.  The latency columns come once some guest has
 * been probed, ADDRESS (the first NIC's) once some guest has a NIC and
 * DNS (its first name, +N more) once some guest has a name, each after
 * the others, so that the columns before them keep their place.
 */
static int show_ls(const json_t *all, const char *unused)
{
	static const char *const base[] = { "NAME",  "STATE",    "CLASS",  "MEM",
		                            "VCPUS", "RESTARTS", "UPTIME", "PID" };
	enum { NBASE = sizeof(base) / sizeof(base[0]), NMAX = NBASE + 5 };
	const char *heads[NMAX + 1];
	struct ctl_table *t;
	json_t **gs;
	size_t i, n, nh;
	int with_latency = 0, with_net = 0, with_dns = 0;

	(void)unused;
	if (!json_is_array(all))
		return ctl_fail(CTL_EXIT_FAILED, "shoald's guest list is not a JSON array");
	gs = sorted_guests(all, &n);
	if (!gs)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
	for (i = 0; i < n; i++) {
		with_latency |= json_object_get(gs[i], "latency") != NULL;
		with_net |= json_array_size(json_object_get(gs[i], "net")) > 0;
		with_dns |= json_array_size(json_object_get(gs[i], "dns")) > 0;
	}
	for (nh = 0; nh < NBASE; nh++)
		heads[nh] = base[nh];
	if (with_latency) {
		heads[nh++] = "P50";
		heads[nh++] = "P99";
		heads[nh++] = "MISSES";
	}
	if (with_net)
		heads[nh++] = "ADDRESS";
	if (with_dns)
		heads[nh++] = "DNS";
	heads[nh] = NULL;
	t = ctl_table_new(heads, "MEM VCPUS RESTARTS UPTIME PID P50 P99 MISSES");
	for (i = 0; i < n; i++) {
		const json_t *g = gs[i], *spec = json_object_get(g, "spec"),
		             *lat = json_object_get(g, "latency");
		char mem[32], vcpus[16], restarts[16], up[32] = "-", pid[16] = "-", p50[32],
		                                       p99[32], misses[24] = "-", addr[48],
		                                       dns[300] = "-";
		const char *row[NMAX];
		size_t k = 0;
		double uptime;

		ctl_fmt_mib((double)ctl_jint(spec, "memory_mib", 0), mem, sizeof(mem));
		snprintf(vcpus, sizeof(vcpus), "%lld", ctl_jint(spec, "vcpus", 0));
		snprintf(restarts, sizeof(restarts), "%lld", ctl_jint(g, "restarts", 0));
		if (ctl_jnum(g, "uptime_s", &uptime) == 0)
			ctl_fmt_duration(uptime, up, sizeof(up));
		if (ctl_jint(g, "pid", 0) > 0)
			snprintf(pid, sizeof(pid), "%lld", ctl_jint(g, "pid", 0));
		ctl_fmt_lat(lat, "p50_us", p50, sizeof(p50));
		ctl_fmt_lat(lat, "p99_us", p99, sizeof(p99));
		if (ctl_jint(lat, "misses", -1) >= 0)
			snprintf(misses, sizeof(misses), "%lld", ctl_jint(lat, "misses", 0));
		row[k++] = ctl_jstr(g, "name");
		row[k++] = ctl_jstr(g, "state");
		row[k++] = ctl_jstr(spec, "latency_class");
		row[k++] = mem;
		row[k++] = vcpus;
		row[k++] = restarts;
		row[k++] = up;
		row[k++] = pid;
		if (with_latency) {
			row[k++] = p50;
			row[k++] = p99;
			row[k++] = misses;
		}
		if (with_net)
			row[k++] = ctl_first_ipv4(g, addr, sizeof(addr));
		if (with_dns) {
			const json_t *names = json_object_get(g, "dns");

			/* The first name, and how many more (show lists them all). */
			if (json_string_value(json_array_get(names, 0)) &&
			    json_array_size(names) > 1)
				snprintf(dns, sizeof(dns), "%.253s +%zu",
				         json_string_value(json_array_get(names, 0)),
				         json_array_size(names) - 1);
			else if (json_string_value(json_array_get(names, 0)))
				snprintf(dns, sizeof(dns), "%.253s",
				         json_string_value(json_array_get(names, 0)));
			row[k++] = dns;
		}
		ctl_table_rowv(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	free(gs);
	return 0;
}

int ctl_cmd_ls(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct ctl_simple req = { "GET", "/v1/guests", 0, NULL, show_ls };

	return ctl_simple(c, cmd, argc, argv, &req);
}

/* A guest's arguments as a shell would show them: quoted where they need it. */
static void print_args(const json_t *args)
{
	const json_t *v;
	size_t i;

	json_array_foreach(args, i, v)
	{
		const char *s = json_string_value(v);

		if (!s)
			continue;
		if (i)
			putchar(' ');
		if (*s && !strpbrk(s, " \t\n\"'\\$`"))
			fputs(s, stdout);
		else {
			putchar('\'');
			for (; *s; s++)
				if (*s == '\'')
					fputs("'\\''", stdout);
				else
					putchar(*s);
			putchar('\'');
		}
	}
	if (!json_array_size(args))
		fputs("(none)", stdout);
}

static void show_spec(const json_t *spec)
{
	const json_t *cpus = json_object_get(spec, "cpus"), *v;
	char mem[32], slo[32];
	size_t i;

	ctl_fmt_mib((double)ctl_jint(spec, "memory_mib", 0), mem, sizeof(mem));
	ctl_fmt_us((double)ctl_jint(spec, "slo_us", 0), slo, sizeof(slo));
	printf("%-12s%s, %lld vCPU, class %s, SLO %s, restart %s, ", "spec:", mem,
	       ctl_jint(spec, "vcpus", 0),
	       ctl_jstr(spec, "latency_class") ? ctl_jstr(spec, "latency_class") : "?", slo,
	       ctl_jstr(spec, "restart") ? ctl_jstr(spec, "restart") : "?");
	if (!json_array_size(cpus))
		fputs("CPUs chosen by shoald", stdout);
	else {
		fputs("pinned to CPU", stdout);
		json_array_foreach(cpus, i, v)
		    printf("%s%lld", i ? "," : " ", (long long)json_integer_value(v));
	}
	printf("\n%-12s", "args:");
	print_args(json_object_get(spec, "args"));
	putchar('\n');
	if (json_is_object(json_object_get(spec, "on_demand")))
		ctl_kv(
		    "on demand:", "started by a DNS query for its names, stopped after %lld s idle",
		    ctl_jint(json_object_get(spec, "on_demand"), "idle_stop_s", 0));
	if (json_is_object(json_object_get(spec, "net_rate"))) {
		char rate[96];

		ctl_kv("net rate:", "%s",
		       ctl_fmt_net_rate(json_object_get(spec, "net_rate"), rate, sizeof(rate)));
	}
}

/*
 * The guest's disks (name, image, read-only or its own copy) and NICs
 * (bridge, tap, address, MAC), a line each, with what each has done in
 * this run when shoald sends its counters (one running guest).
 */
static void show_devices(const json_t *disks, const json_t *nics)
{
	const json_t *d;
	char line[512];
	size_t i;

	json_array_foreach(disks, i, d)
	    ctl_kv(i ? "" : "disks:", "%s", ctl_fmt_disk(d, line, sizeof(line)));
	json_array_foreach(nics, i, d)
	    ctl_kv(i ? "" : "net:", "%s", ctl_fmt_nic(d, line, sizeof(line)));
}

/* The guest's names in DNS, a line each (NAME.ZONE first). */
static void show_dns(const json_t *names)
{
	const json_t *v;
	size_t i;

	json_array_foreach(names, i, v)
	{
		if (json_string_value(v))
			ctl_kv(i ? "" : "dns:", "%s", json_string_value(v));
	}
}

static void show_latency(const json_t *lat)
{
	char p50[32], p99[32], max[32];

	if (!json_is_object(lat)) {
		ctl_kv("latency:", "no data yet");
		return;
	}
	ctl_kv("latency:", "p50 %s, p99 %s, max %s; %lld misses of %lld probes in %lld s%s",
	       ctl_fmt_lat(lat, "p50_us", p50, sizeof(p50)),
	       ctl_fmt_lat(lat, "p99_us", p99, sizeof(p99)),
	       ctl_fmt_lat(lat, "max_us", max, sizeof(max)), ctl_jint(lat, "misses", 0),
	       ctl_jint(lat, "samples", 0), ctl_jint(lat, "window_s", 10),
	       json_is_true(json_object_get(lat, "hung")) ? "; HUNG" : "");
}

static void show_history(const json_t *hist)
{
	static const char *const heads[] = { "DEPLOY", "TIME", "NOTE", "IMAGE", "PARENT", NULL };
	struct ctl_table *t;
	const json_t *h;
	size_t i;

	if (!json_array_size(hist))
		return;
	printf("history:\n");
	t = ctl_table_new(heads, "DEPLOY PARENT");
	json_array_foreach(hist, i, h)
	{
		char id[24], when[40], parent[24] = "-", img[16];

		snprintf(id, sizeof(id), "%lld", ctl_jint(h, "id", 0));
		ctl_fmt_time_ns(ctl_jint(h, "time_ns", 0), when, sizeof(when));
		if (ctl_jint(h, "parent", 0) > 0)
			snprintf(parent, sizeof(parent), "%lld", ctl_jint(h, "parent", 0));
		snprintf(img, sizeof(img), "%.12s",
		         ctl_jstr(h, "image_sha256") ? ctl_jstr(h, "image_sha256") : "-");
		ctl_table_row(t, id, when, ctl_jstr(h, "note"), img, parent);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
}

static int show_guest(const json_t *g, const char *unused)
{
	const json_t *spec = json_object_get(g, "spec"), *le = json_object_get(g, "last_exit"),
	             *con = json_object_get(g, "console");
	const char *img = ctl_jstr(spec, "image"), *sha = ctl_jstr(g, "image_sha256");
	char up[32];
	double uptime;

	(void)unused;
	ctl_kv("name:", "%s", ctl_jstr(g, "name") ? ctl_jstr(g, "name") : "?");
	if (ctl_jnum(g, "uptime_s", &uptime) == 0)
		ctl_kv("state:", "%s (desired %s), up %s since %s", ctl_jstr(g, "state"),
		       ctl_jstr(g, "desired"), ctl_fmt_duration(uptime, up, sizeof(up)),
		       ctl_jstr(g, "started") ? ctl_jstr(g, "started") : "?");
	else
		ctl_kv("state:", "%s (desired %s)", ctl_jstr(g, "state"), ctl_jstr(g, "desired"));
	if (ctl_jint(g, "pid", 0) > 0)
		ctl_kv("pid:", "%lld (vCPU thread %lld)", ctl_jint(g, "pid", 0),
		       ctl_jint(g, "vcpu_tid", 0));
	if (img && sha && strcmp(img, sha) != 0)
		ctl_kv("image:", "%s (from %s)", sha, img);
	else
		ctl_kv("image:", "%s", sha ? sha : "?");
	ctl_kv("deploy:", "%lld, instance %lld, created %s", ctl_jint(g, "deploy_id", 0),
	       ctl_jint(g, "instance", 0), ctl_jstr(g, "created") ? ctl_jstr(g, "created") : "?");
	show_spec(spec);
	show_devices(json_object_get(g, "disks"), json_object_get(g, "net"));
	show_dns(json_object_get(g, "dns"));
	ctl_kv("restarts:", "%lld", ctl_jint(g, "restarts", 0));
	if (le)
		ctl_kv("last exit:", "status %lld: %s (%s)", ctl_jint(le, "status", -1),
		       ctl_jstr(le, "reason") ? ctl_jstr(le, "reason") : "",
		       ctl_jstr(le, "time") ? ctl_jstr(le, "time") : "");
	if (ctl_jint(con, "dropped_bytes", 0) > 0 ||
	    json_is_true(json_object_get(con, "flooding"))) {
		char dropped[32];

		ctl_kv("console:", "%s dropped%s",
		       ctl_fmt_bytes((double)ctl_jint(con, "dropped_bytes", 0), dropped,
		                     sizeof(dropped)),
		       json_is_true(json_object_get(con, "flooding")) ? ", flooding now" : "");
	}
	if (json_object_get(g, "latency"))
		show_latency(json_object_get(g, "latency"));
	show_history(json_object_get(g, "history"));
	return 0;
}

int ctl_cmd_show(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct ctl_simple req = { "GET", "/v1/guests/", 1, NULL, show_guest };

	return ctl_simple(c, cmd, argc, argv, &req);
}

/* start, stop, restart, rollback, pause and resume: POST /v1/guests/NAME/ACTION. */
int ctl_cmd_action(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_NO_WAIT = CTL_OPT_FIRST_LOCAL };
	static const struct option lo[] = { CTL_GLOBAL_LONGOPTS,
		                            { "no-wait", no_argument, NULL, OPT_NO_WAIT },
		                            { NULL, 0, NULL, 0 } };
	static const struct {
		const char *action, *done;
	} verbs[] = { { "start", "started" },     { "stop", "stopped" },
		      { "restart", "restarted" }, { "rollback", "rolled back" },
		      { "pause", "paused" },      { "resume", "resumed" } };
	struct ctl_answer a;
	const char *done = cmd->name;
	char path[160], verb[48];
	int ch, rc, wait = 1;
	size_t i;

	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (ch == OPT_NO_WAIT) {
			wait = 0;
			continue;
		}
		rc = ctl_opt_common(c, cmd, ch, argv);
		if (rc != 0)
			return rc;
	}
	rc = ctl_want_name(cmd, argc, argv);
	if (rc != 0)
		return rc;
	snprintf(path, sizeof(path), "/v1/guests/%s/%s%s", argv[optind], cmd->name,
	         wait ? "" : "?wait=0");
	rc = ctl_http(c, "POST", path, NULL, &a);
	if (rc < 0)
		return rc;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].action, cmd->name))
			done = verbs[i].done;
	snprintf(verb, sizeof(verb), wait ? "%s" : "asked to %s", wait ? done : cmd->name);
	if (c->json)
		ctl_print_raw(&a);
	else
		ctl_print_guest_line(verb, a.json);
	ctl_answer_free(&a);
	return 0;
}

static int show_rm(const json_t *answer, const char *name)
{
	(void)answer;
	printf("%s: deleted (it stops in the background)\n", name);
	return 0;
}

int ctl_cmd_rm(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct ctl_simple req = { "DELETE", "/v1/guests/", 1, NULL, show_rm };

	return ctl_simple(c, cmd, argc, argv, &req);
}

static void write_out(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	fwrite(data, 1, len, stdout);
	fflush(stdout);
}

int ctl_cmd_console(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_TAIL = 't', OPT_FOLLOW = 'f' };
	static const struct option lo[] = { CTL_GLOBAL_LONGOPTS,
		                            { "tail", required_argument, NULL, OPT_TAIL },
		                            { "follow", no_argument, NULL, OPT_FOLLOW },
		                            { NULL, 0, NULL, 0 } };
	unsigned long long tail = 0;
	struct ctl_answer a;
	int ch, rc, follow = 0;
	char path[160];

	while ((ch = getopt_long(argc, argv, ":ht:f", lo, NULL)) != -1) {
		rc = 0;
		if (ch == OPT_FOLLOW)
			follow = 1;
		else if (ch == OPT_TAIL)
			rc = ctl_parse_size(cmd, "--tail", optarg, 1, 1ull << 30, &tail);
		else
			rc = ctl_opt_common(c, cmd, ch, argv);
		if (rc != 0)
			return rc;
	}
	rc = ctl_want_name(cmd, argc, argv);
	if (rc != 0)
		return rc;
	snprintf(path, sizeof(path), "/v1/guests/%s/console?tail=%llu%s", argv[optind], tail,
	         follow ? "&follow=1" : "");
	if (follow)
		return ctl_http_stream(c, path, write_out, NULL);
	rc = ctl_http(c, "GET", path, NULL, &a);
	if (rc < 0)
		return rc;
	fwrite(a.body, 1, a.len, stdout);
	ctl_answer_free(&a);
	return 0;
}
