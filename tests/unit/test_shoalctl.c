/*
 * Unit tests of shoalctl's own checks and its output for people: the
 * corpus in tests/data/shoalctl-values.txt (sizes, numbers, seconds, CPU
 * lists, guest names, human sizes, durations and latencies, a guest's
 * disks and NICs as show prints them from their JSON), and the
 * alignment of its tables.  What the server says is tested against the
 * real shoald in tests/integration/test_shoalctl.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shoalctl/ctl.h"
#include "tests/unit/corpus_testlib.h"

static const struct ctl_cmd test_cmd = { "test", NULL, "test", "", "" };

/* What shoalctl makes of `in` as a value of `kind`: its result, or "error". */
static void evaluate(const char *kind, char *in, char *got, size_t len)
{
	unsigned long long x;
	double d;
	json_t *a;
	char *text;
	int rc = 0;

	if (!strcmp(kind, "size-mib"))
		rc = ctl_parse_size(&test_cmd, "--memory", in, 1ull << 20, 4096, &x);
	else if (!strcmp(kind, "size-bytes"))
		rc = ctl_parse_size(&test_cmd, "--tail", in, 1, 1ull << 30, &x);
	else if (!strcmp(kind, "uint"))
		rc = ctl_parse_uint(&test_cmd, "-n", in, 1000, &x);
	if (!strncmp(kind, "size-", 5) || !strcmp(kind, "uint")) {
		if (rc == 0)
			snprintf(got, len, "%llu", x);
	} else if (!strcmp(kind, "seconds")) {
		rc = ctl_parse_seconds(&test_cmd, "--interval", in, &d);
		if (rc == 0)
			snprintf(got, len, "%g", d);
	} else if (!strcmp(kind, "cpus")) {
		a = json_array();
		rc = ctl_parse_cpus(&test_cmd, in, a);
		text = json_dumps(a, JSON_COMPACT);
		if (rc == 0)
			snprintf(got, len, "%s", text);
		free(text);
		json_decref(a);
	} else if (!strcmp(kind, "disk")) {
		a = json_array();
		rc = ctl_parse_disk(&test_cmd, in, a);
		text = json_dumps(json_array_get(a, 0), JSON_COMPACT);
		if (rc == 0)
			snprintf(got, len, "%s", text);
		free(text);
		json_decref(a);
	} else if (!strcmp(kind, "name")) {
		rc = ctl_check_name(&test_cmd, in);
		snprintf(got, len, "ok");
	} else if (!strcmp(kind, "fmt-bytes")) {
		ctl_fmt_bytes(atof(in), got, len);
	} else if (!strcmp(kind, "fmt-mib")) {
		ctl_fmt_mib(atof(in), got, len);
	} else if (!strcmp(kind, "fmt-duration")) {
		ctl_fmt_duration(atof(in), got, len);
	} else if (!strcmp(kind, "fmt-us")) {
		ctl_fmt_us(atof(in), got, len);
	} else if (!strncmp(kind, "show-", 5)) {
		json_error_t jerr;

		a = json_loads(in, JSON_DECODE_ANY, &jerr);
		if (!a)
			fail_msg("%s: not JSON: %s", in, jerr.text);
		if (!strcmp(kind, "show-disk"))
			ctl_fmt_disk(a, got, len);
		else if (!strcmp(kind, "show-nic"))
			ctl_fmt_nic(a, got, len);
		else if (!strcmp(kind, "show-net-rate"))
			ctl_fmt_net_rate(a, got, len);
		else if (!strcmp(kind, "show-address"))
			ctl_first_ipv4(a, got, len);
		else
			fail_msg("unknown kind \"%s\"", kind);
		json_decref(a);
	} else {
		fail_msg("unknown kind \"%s\"", kind);
	}
	if (rc < 0) {
		assert_int_equal(rc, -CTL_EXIT_USAGE);
		snprintf(got, len, "error");
	}
}

static void test_corpus(void **state)
{
	int saved_stderr = dup(2);
	unsigned cases, bad;

	(void)state;
	/* The refusals' messages are for people; here only the results count. */
	freopen("/dev/null", "w", stderr);
	cases = corpus_run("shoalctl-values.txt", evaluate, NULL, &bad);
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	assert_true(cases > 50);
	assert_int_equal(bad, 0);
}

static void test_fmt_lat(void **state)
{
	json_t *w = json_pack("{s:f, s:i, s:n}", "p50_us", 24.3, "p99_us", 80, "max_us");
	char buf[32];

	(void)state;
	assert_string_equal(ctl_fmt_lat(w, "p50_us", buf, sizeof(buf)), "24.3 us");
	assert_string_equal(ctl_fmt_lat(w, "p99_us", buf, sizeof(buf)), "80 us");
	assert_string_equal(ctl_fmt_lat(w, "max_us", buf, sizeof(buf)), "-");    /* null */
	assert_string_equal(ctl_fmt_lat(w, "p999_us", buf, sizeof(buf)), "-");   /* absent */
	assert_string_equal(ctl_fmt_lat(NULL, "p50_us", buf, sizeof(buf)), "-"); /* no window */
	assert_string_equal(ctl_fmt_lat(json_null(), "p50_us", buf, sizeof(buf)), "-");
	json_decref(w);
}

static void test_table(void **state)
{
	static const char *const heads[] = { "NAME", "STATE", "MEM", "NOTE", NULL };
	struct ctl_table *t = ctl_table_new(heads, "MEM");
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(t);
	assert_non_null(f);
	ctl_table_row(t, "web", "running", "32 MiB", "x");
	ctl_table_row(t, "a-longer-name", "stopped", "2 MiB", NULL);
	ctl_table_print(t, f);
	fclose(f);
	assert_string_equal(out, "NAME           STATE       MEM  NOTE\n"
	                         "web            running  32 MiB  x\n"
	                         "a-longer-name  stopped   2 MiB  -\n");
	free(out);
	ctl_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_fmt_lat),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
