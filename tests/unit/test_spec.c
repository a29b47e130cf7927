/*
 * Unit tests of guest specs (daemon/spec.c) over the corpus in
 * tests/data/spec-values.txt: every check spec_from_json makes, good and
 * bad, with what a refusal must look like, and the names and digests the
 * API checks with the same functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/spec.h"
#include "tests/unit/corpus_testlib.h"

/* The limits of every corpus case (see the corpus's head). */
static const struct spec_limits corpus_limits = {
	.memory_min_mib = 4,
	.memory_max_mib = 1024,
	.vcpus_max = 2,
	.host_cpus = 8,
};

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = 2 * (b->len + n + 1);
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * INPUT with its <rep N TEXT> expanded into b, up to its end or, when
 * nested, up to the '>' that closes the rep it is in; returns where it
 * stopped.
 */
static const char *expand(const char *in, struct buf *b, int nested)
{
	put(b, "", 0);
	while (*in && !(nested && *in == '>')) {
		struct buf body = { 0 };
		unsigned long n, i;
		char *end;

		if (strncmp(in, "<rep ", 5) != 0) {
			put(b, in++, 1);
			continue;
		}
		n = strtoul(in + 5, &end, 10);
		if (end == in + 5 || *end != ' ')
			fail_msg("bad <rep N TEXT> in \"%s\"", in);
		in = expand(end + 1, &body, 1);
		if (*in != '>')
			fail_msg("<rep N TEXT> without its '>'");
		in++;
		for (i = 0; i < n; i++)
			put(b, body.p, body.len);
		free(body.p);
	}
	return in;
}

/* Is s valid UTF-8?  (It goes into a JSON answer, and jansson refuses what is not.) */
static int utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

static json_t *dumpable(const struct guest_spec *s)
{
	json_t *j = spec_to_json(s);

	assert_non_null(j);
	return j;
}

/*
 * A good spec: within the limits, its arguments a NULL-ended array, and
 * unchanged through spec_to_json and spec_from_json, and through spec_copy
 * (a deep copy).
 */
static void check_good(struct guest_spec *s, const struct spec_limits *lim)
{
	struct guest_spec back, copy;
	struct sd_err err;
	json_t *j, *jb, *jc;
	unsigned i;

	assert_true(spec_name_ok(s->name));
	assert_true(s->image[0] == '/' || spec_is_sha256(s->image));
	assert_true(s->memory_mib >= lim->memory_min_mib && s->memory_mib <= lim->memory_max_mib);
	assert_int_equal(s->memory_mib % 2, 0);
	assert_true(s->vcpus >= 1 && s->vcpus <= lim->vcpus_max);
	assert_true(s->nargs <= GUEST_ARGS_MAX);
	if (s->args)
		assert_null(s->args[s->nargs]);
	else
		assert_int_equal(s->nargs, 0);
	assert_true(s->ncpus <= GUEST_CPUS_MAX);
	for (i = 0; i < s->ncpus; i++)
		assert_true(s->cpus[i] >= 0 && (unsigned)s->cpus[i] < lim->host_cpus);
	assert_true(s->ndisks <= SPEC_DISKS_MAX);
	for (i = 0; i < s->ndisks; i++) {
		unsigned k;

		assert_true(spec_disk_name_ok(s->disks[i].name));
		assert_true(s->disks[i].image[0] == '/' || spec_is_sha256(s->disks[i].image));
		assert_true(s->disks[i].readonly == 0 || s->disks[i].readonly == 1);
		for (k = 0; k < i; k++)
			assert_string_not_equal(s->disks[k].name, s->disks[i].name);
	}

	j = dumpable(s);
	assert_int_equal(spec_from_json(j, lim, &back, &err), 0);
	jb = dumpable(&back);
	assert_true(json_equal(j, jb));

	assert_int_equal(spec_copy(&copy, s), 0);
	jc = dumpable(&copy);
	assert_true(json_equal(j, jc));
	assert_int_equal(copy.nargs, s->nargs);
	for (i = 0; i < s->nargs; i++) {
		assert_ptr_not_equal(copy.args[i], s->args[i]);
		assert_string_equal(copy.args[i], s->args[i]);
	}
	if (copy.args)
		assert_null(copy.args[copy.nargs]);

	json_decref(j);
	json_decref(jb);
	json_decref(jc);
	spec_free(&back);
	spec_free(&copy);
	assert_null(copy.args);
	assert_int_equal(copy.nargs, 0);
}

/*
 * A refusal: a 400 whose field and message can go into a JSON answer,
 * the message a one-line sentence naming the field; the spec holds
 * nothing to free.
 */
static void check_refusal(const struct guest_spec *s, const struct sd_err *err)
{
	assert_int_equal(err->http, 400);
	assert_true(err->code[0] != '\0');
	assert_true(err->message[0] != '\0');
	assert_null(strchr(err->message, '\n'));
	assert_true(utf8_ok(err->field));
	assert_true(utf8_ok(err->message));
	if (err->field[0])
		assert_non_null(strstr(err->message, err->field));
	assert_null(s->args);
	assert_int_equal(s->nargs, 0);
}

/* A case's JSON as the API parses a body (NULL for "(none)", or "malformed"). */
static int load(const char *text, json_t **j)
{
	*j = NULL;
	if (!strcmp(text, "(none)"))
		return 0;
	*j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	return *j ? 0 : -1;
}

static void eval_spec(const char *kind, const char *text, char *got, size_t len)
{
	struct guest_spec s;
	struct sd_err err;
	json_t *j;
	int rc;

	if (load(text, &j) < 0) {
		snprintf(got, len, "malformed");
		return;
	}
	memset(&err, 0, sizeof(err));
	rc = spec_from_json(j, &corpus_limits, &s, &err);
	if (rc == 0) {
		check_good(&s, &corpus_limits);
		if (!strcmp(kind, "parsed")) {
			json_t *out = dumpable(&s);
			char *dump = json_dumps(out, JSON_COMPACT);

			assert_non_null(dump);
			snprintf(got, len, "%s", dump);
			free(dump);
			json_decref(out);
		} else {
			snprintf(got, len, "ok");
		}
		spec_free(&s);
	} else {
		assert_int_equal(rc, -1);
		check_refusal(&s, &err);
		snprintf(got, len, "%d %s %s", err.http, err.code, err.field[0] ? err.field : "-");
	}
	json_decref(j);
}

/* The case being checked, for the message when one of its checks fails. */
static const char *current_kind, *current_in;

static void evaluate(const char *kind, char *in, char *got, size_t len)
{
	struct buf text = { 0 };

	current_kind = kind;
	current_in = in;
	expand(in, &text, 0);
	if (!strcmp(kind, "spec") || !strcmp(kind, "parsed"))
		eval_spec(kind, text.p, got, len);
	else if (!strcmp(kind, "name"))
		snprintf(got, len, "%s", spec_name_ok(text.p) ? "ok" : "bad");
	else if (!strcmp(kind, "diskname"))
		snprintf(got, len, "%s", spec_disk_name_ok(text.p) ? "ok" : "bad");
	else if (!strcmp(kind, "sha256"))
		snprintf(got, len, "%s", spec_is_sha256(text.p) ? "ok" : "bad");
	else
		fail_msg("unknown kind \"%s\"", kind);
	free(text.p);
	current_in = NULL;
}

static int name_failed_case(void **state)
{
	(void)state;
	if (current_in)
		print_message("a check failed on %s | %s\n", current_kind, current_in);
	current_in = NULL;
	return 0;
}

static void test_corpus(void **state)
{
	unsigned bad, cases = corpus_run("spec-values.txt", evaluate, NULL, &bad);

	(void)state;
	print_message("%u cases\n", cases);
	assert_true(cases > 200);
	assert_int_equal(bad, 0);
}

/* A spec of name "a", image "/x" and the fields in extra (JSON members, or ""). */
static int deploy(const char *extra, const struct spec_limits *lim, struct guest_spec *s,
                  struct sd_err *err)
{
	char text[512];
	json_t *j;
	int rc;

	snprintf(text, sizeof(text), "{\"name\":\"a\",\"image\":\"/x\"%s%s}", *extra ? "," : "",
	         extra);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	memset(err, 0, sizeof(*err));
	rc = spec_from_json(j, lim, s, err);
	json_decref(j);
	return rc;
}

/* The limits are the caller's, read afresh for each spec. */
static void test_limits_are_the_callers(void **state)
{
	struct spec_limits lim = {
		.memory_min_mib = 64, .memory_max_mib = 128, .vcpus_max = 1, .host_cpus = 1
	};
	struct guest_spec s;
	struct sd_err err;

	(void)state;
	assert_int_equal(deploy("\"memory_mib\":128,\"cpus\":[0]", &lim, &s, &err), 0);
	assert_int_equal(s.memory_mib, 128);
	spec_free(&s);
	assert_int_equal(deploy("\"memory_mib\":130", &lim, &s, &err), -1);
	assert_string_equal(err.field, "memory_mib");
	assert_non_null(strstr(err.message, "between 64 and 128"));
	assert_int_equal(deploy("\"memory_mib\":62", &lim, &s, &err), -1);
	assert_string_equal(err.field, "memory_mib");
	assert_int_equal(deploy("\"vcpus\":2", &lim, &s, &err), -1);
	assert_string_equal(err.field, "vcpus");
	assert_int_equal(deploy("\"cpus\":[1]", &lim, &s, &err), -1);
	assert_string_equal(err.field, "cpus[0]");
	assert_non_null(strstr(err.message, "CPUs 0 to 0"));

	lim.vcpus_max = 4;
	lim.host_cpus = 64;
	assert_int_equal(deploy("\"memory_mib\":64,\"vcpus\":4,\"cpus\":[63]", &lim, &s, &err), 0);
	assert_int_equal(s.vcpus, 4);
	assert_int_equal(s.ncpus, 1);
	assert_int_equal(s.cpus[0], 63);
	spec_free(&s);
}

/* What a spec holds when the body gives only the required fields. */
static void test_defaults(void **state)
{
	struct guest_spec s;
	struct sd_err err;

	(void)state;
	assert_int_equal(deploy("", &corpus_limits, &s, &err), 0);
	assert_string_equal(s.name, "a");
	assert_string_equal(s.image, "/x");
	assert_int_equal(s.memory_mib, 32);
	assert_int_equal(s.vcpus, 1);
	assert_int_equal(s.nargs, 0);
	assert_int_equal(s.latency_class, CLASS_LATENCY);
	assert_int_equal(s.slo_us, 1000);
	assert_int_equal(s.restart, RESTART_ON_FAILURE);
	assert_int_equal(s.ncpus, 0);
	assert_int_equal(s.ndisks, 0);
	spec_free(&s);
	spec_free(&s); /* twice is harmless */
	/* A disk is read-only unless it says otherwise. */
	assert_int_equal(deploy("\"disks\":[{\"name\":\"www\",\"image\":\"/w\"},"
	                        "{\"name\":\"db\",\"image\":\"/d\",\"readonly\":false}]",
	                        &corpus_limits, &s, &err),
	                 0);
	assert_int_equal(s.ndisks, 2);
	assert_string_equal(s.disks[0].name, "www");
	assert_string_equal(s.disks[0].image, "/w");
	assert_int_equal(s.disks[0].readonly, 1);
	assert_string_equal(s.disks[1].name, "db");
	assert_int_equal(s.disks[1].readonly, 0);
	spec_free(&s);
}

/* With no error to fill, a refusal is still a plain -1. */
static void test_no_error_record(void **state)
{
	json_t *j = json_loads("{\"name\":\"a\",\"image\":\"/x\",\"args\":[\"a\",1]}", 0, NULL);
	struct guest_spec s;

	(void)state;
	assert_non_null(j);
	assert_int_equal(spec_from_json(j, &corpus_limits, &s, NULL), -1);
	assert_null(s.args);
	assert_int_equal(spec_from_json(NULL, &corpus_limits, &s, NULL), -1);
	assert_int_equal(sd_err_set(NULL, 400, "x", "y", "z"), -1);
	json_decref(j);
}

/* A copy owns its arguments: it outlives its source. */
static void test_copy_is_deep(void **state)
{
	struct guest_spec s, copy;
	struct sd_err err;

	(void)state;
	assert_int_equal(deploy("\"args\":[\"one\",\"two\"]", &corpus_limits, &s, &err), 0);
	assert_int_equal(spec_copy(&copy, &s), 0);
	spec_free(&s);
	assert_int_equal(copy.nargs, 2);
	assert_string_equal(copy.args[0], "one");
	assert_string_equal(copy.args[1], "two");
	spec_free(&copy);

	/* Disks and names are the spec's own too: the copy outlives the original. */
	assert_int_equal(deploy("\"disks\":[{\"name\":\"a\",\"image\":\"/x/a.img\"},"
	                        "{\"name\":\"b\",\"image\":\"/x/b.img\",\"readonly\":false}],"
	                        "\"dns\":[\"WWW.Example.org.\",\"b.example.org\"]",
	                        &corpus_limits, &s, &err),
	                 0);
	assert_int_equal(spec_copy(&copy, &s), 0);
	assert_ptr_not_equal(copy.disks, s.disks);
	assert_ptr_not_equal(copy.dns, s.dns);
	spec_free(&s);
	assert_null(s.disks);
	assert_int_equal(s.ndisks, 0);
	assert_int_equal(copy.ndisks, 2);
	assert_string_equal(copy.disks[1].name, "b");
	assert_string_equal(copy.disks[1].image, "/x/b.img");
	assert_int_equal(copy.disks[1].readonly, 0);
	assert_int_equal(copy.ndns, 2);
	assert_string_equal(copy.dns[0], "www.example.org");
	assert_string_equal(copy.dns[1], "b.example.org");
	spec_free(&copy);

	assert_int_equal(deploy("", &corpus_limits, &s, &err), 0);
	assert_int_equal(spec_copy(&copy, &s), 0);
	assert_int_equal(copy.nargs, 0);
	assert_null(copy.args);
	assert_null(copy.disks);
	assert_null(copy.dns);
	spec_free(&s);
	spec_free(&copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_corpus, name_failed_case),
		cmocka_unit_test(test_limits_are_the_callers),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_error_record),
		cmocka_unit_test(test_copy_is_deep),
	};

	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
