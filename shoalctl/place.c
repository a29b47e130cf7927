/*
 * shoalctl placement, pin and unpin: the CPU map shoald keeps (each CPU's
 * role and the guests on it), every guest's CPU beside its latency, the
 * control loop's last moves with their reasons; and the operator's pin.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoalctl/ctl.h"

#define MOVES_SHOWN 12

/* "web-1, web-2, ... (+40)" within about width characters. */
static void name_list(const json_t *names, char *buf, size_t len, size_t width)
{
	size_t i, n = json_array_size(names), used = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(names, i));
		size_t need = strlen(s ? s : "") + 2;

		if (used + need > width && i) {
			snprintf(buf + used, len - used, " (+%zu)", n - i);
			return;
		}
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", s ? s : "?");
		if (used >= len)
			return;
	}
}

static void cpu_table(const json_t *cpus)
{
	static const char *const heads[] = { "CPU",   "NODE", "CORE",   "ROLE",
		                             "VCPUS", "USE",  "GUESTS", NULL };
	struct ctl_table *t = ctl_table_new(heads, "CPU NODE CORE VCPUS USE");
	const json_t *c;
	size_t i;

	json_array_foreach(cpus, i, c)
	{
		char cpu[16], node[16], core[16], vcpus[16], use[16], names[256];
		double u = 0;

		snprintf(cpu, sizeof(cpu), "%lld", ctl_jint(c, "cpu", -1));
		snprintf(node, sizeof(node), "%lld", ctl_jint(c, "node", -1));
		snprintf(core, sizeof(core), "%lld", ctl_jint(c, "core", -1));
		snprintf(vcpus, sizeof(vcpus), "%lld", ctl_jint(c, "vcpus", 0));
		ctl_jnum(c, "use", &u);
		snprintf(use, sizeof(use), "%.0f%%", u * 100);
		name_list(json_object_get(c, "guests"), names, sizeof(names), 60);
		ctl_table_row(t, cpu, node, core, ctl_jstr(c, "role") ? ctl_jstr(c, "role") : "?",
		              vcpus, use, names[0] ? names : "-");
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
}

static void what_moved(const json_t *m, char *buf, size_t len)
{
	const char *kind = ctl_jstr(m, "kind") ? ctl_jstr(m, "kind") : "?";

	if (!strcmp(kind, "pin"))
		snprintf(buf, len, "CPU %lld -> %lld", ctl_jint(m, "from", -1),
		         ctl_jint(m, "to", -1));
	else if (!strcmp(kind, "weight"))
		snprintf(buf, len, "weight %lld", ctl_jint(m, "weight", 0));
	else if (!strcmp(kind, "policy"))
		snprintf(buf, len, "policy %s",
		         ctl_jstr(m, "policy") ? ctl_jstr(m, "policy") : "?");
	else
		snprintf(buf, len, "CPU %lld: %s", ctl_jint(m, "cpu", -1),
		         ctl_jstr(m, "role") ? ctl_jstr(m, "role") : "?");
}

static void moves_list(const json_t *moves)
{
	size_t i, n = json_array_size(moves);

	if (!n) {
		printf("no moves yet\n");
		return;
	}
	printf("last moves (%zu kept; newest last):\n", n);
	for (i = n > MOVES_SHOWN ? n - MOVES_SHOWN : 0; i < n; i++) {
		const json_t *m = json_array_get(moves, i);
		const char *time = ctl_jstr(m, "time"), *t = time ? strchr(time, 'T') : NULL;
		char what[64];

		what_moved(m, what, sizeof(what));
		printf("  %-12.12s %-14s %-20s %s%s\n", t ? t + 1 : "?",
		       ctl_jstr(m, "guest") ? ctl_jstr(m, "guest") : "", what,
		       json_is_true(json_object_get(m, "applied")) ? "" : "(not applied) ",
		       ctl_jstr(m, "reason") ? ctl_jstr(m, "reason") : "");
	}
}

static int show_placement(const json_t *p, const char *unused)
{
	const json_t *last = json_object_get(p, "last_period");

	(void)unused;
	if (json_is_true(json_object_get(p, "enabled")))
		printf("placement on: every %lld ms, %lld periods; %lld latency guests, %lld over "
		       "their SLO, %lld "
		       "violating\n",
		       ctl_jint(p, "period_ms", 0), ctl_jint(p, "periods", 0),
		       ctl_jint(last, "latency_guests", 0), ctl_jint(last, "over_slo", 0),
		       ctl_jint(last, "violating", 0));
	else
		printf("placement off: guests run wherever the host's scheduler puts them\n");
	printf("%s\n\n", ctl_jstr(p, "mechanism") ? ctl_jstr(p, "mechanism") : "");
	cpu_table(json_object_get(p, "cpus"));
	putchar('\n');
	moves_list(json_object_get(p, "moves"));
	return 0;
}

int ctl_cmd_placement(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct ctl_simple req = { "GET", "/v1/placement", 0, NULL, show_placement };

	return ctl_simple(c, cmd, argc, argv, &req);
}

static int show_pin(const json_t *g)
{
	const json_t *pin = json_object_get(g, "pinned");
	size_t i;

	printf("%s", ctl_jstr(g, "name") ? ctl_jstr(g, "name") : "?");
	if (json_array_size(pin)) {
		printf(" pinned to CPU%s", json_array_size(pin) > 1 ? "s" : "");
		for (i = 0; i < json_array_size(pin); i++)
			printf("%s%lld", i ? "," : " ",
			       (long long)json_integer_value(json_array_get(pin, i)));
	} else {
		printf(" unpinned: shoald places it");
	}
	if (json_is_integer(json_object_get(g, "cpu")))
		printf(" (now on CPU %lld)", ctl_jint(g, "cpu", -1));
	putchar('\n');
	return 0;
}

/* pin NAME CPUS, unpin NAME: PUT /v1/guests/NAME/placement. */
int ctl_cmd_pin(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	int unpin = !strcmp(cmd->name, "unpin"), rc;
	struct ctl_answer a;
	char path[160], *body;
	json_t *cpus, *j;

	rc = ctl_opts_only(c, cmd, argc, argv);
	if (rc == 0)
		rc =
		    ctl_want_args(cmd, argc, argv, unpin ? 1 : 2, unpin ? "NAME" : "NAME and CPUS");
	if (rc == 0)
		rc = ctl_check_name(cmd, argv[optind]);
	if (rc != 0)
		return rc;
	cpus = json_array();
	if (!unpin && (!argv[optind + 1][0] || ctl_parse_cpus(cmd, argv[optind + 1], cpus) < 0 ||
	               !json_array_size(cpus))) {
		json_decref(cpus);
		return argv[optind + 1][0]
		           ? -CTL_EXIT_USAGE
		           : ctl_usage_error(
		                 cmd,
		                 "CPUS is empty: give a list like 0,2-3 (unpin removes a pin)");
	}
	j = json_pack("{s:o}", "cpus", cpus);
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!body)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
	snprintf(path, sizeof(path), "/v1/guests/%s/placement", argv[optind]);
	rc = ctl_http(c, "PUT", path, body, &a);
	free(body);
	if (rc < 0)
		return rc;
	if (c->json)
		ctl_print_raw(&a);
	else
		show_pin(a.json);
	ctl_answer_free(&a);
	return 0;
}
