/*
 * See spec.h.  Parsing is strict on purpose: a deploy script that sends
 * "memroy_mib" should hear about it, not get the default.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/spec.h"

void sd_cut(char *out, size_t outlen, const char *s, size_t max)
{
	size_t len = strlen(s), n = len < max ? len : max;

	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	/* Cut between characters: what is cut goes into a JSON answer, which must be UTF-8. */
	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

int sd_err_set(struct sd_err *e, int http, const char *code, const char *field, const char *fmt,
               ...)
{
	va_list ap;
	char msg[sizeof(e->message) + 1];

	if (!e)
		return -1;
	e->http = http;
	snprintf(e->code, sizeof(e->code), "%s", code);
	sd_cut(e->field, sizeof(e->field), field ? field : "", sizeof(e->field) - 1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd_cut(e->message, sizeof(e->message), msg, sizeof(e->message) - 1);
	return -1;
}

int spec_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > GUEST_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '-' && i > 0)
			continue;
		return 0;
	}
	return 1;
}

int spec_disk_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > DISK_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if ((c == '-' || c == '_') && i > 0)
			continue;
		return 0;
	}
	return 1;
}

int spec_is_sha256(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

const char *restart_policy_str(enum restart_policy p)
{
	return p == RESTART_NEVER ? "never" : p == RESTART_ALWAYS ? "always" : "on-failure";
}

const char *latency_class_str(enum latency_class c)
{
	return c == CLASS_BATCH ? "batch" : "latency";
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int want_uint(const json_t *v, const char *field, long long lo, long long hi, unsigned *out,
                     struct sd_err *err)
{
	long long x;

	if (!json_is_integer(v))
		return sd_err_set(err, 400, "invalid_field", field, "%s must be an integer, not %s",
		                  field, json_type_name(v));
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s must be between %lld and %lld, not %lld", field, lo, hi, x);
	*out = (unsigned)x;
	return 0;
}

static int want_enum(const json_t *v, const char *field, const char *const names[], int n, int *out,
                     struct sd_err *err)
{
	int i;

	if (!json_is_string(v))
		return sd_err_set(err, 400, "invalid_field", field, "%s must be a string, not %s",
		                  field, json_type_name(v));
	for (i = 0; i < n; i++)
		if (json_string_length(v) == strlen(names[i]) &&
		    !strcmp(json_string_value(v), names[i])) {
			*out = i;
			return 0;
		}
	if (n == 2)
		return sd_err_set(err, 400, "invalid_field", field, "%s must be \"%s\" or \"%s\"",
		                  field, names[0], names[1]);
	return sd_err_set(err, 400, "invalid_field", field, "%s must be \"%s\", \"%s\" or \"%s\"",
	                  field, names[0], names[1], names[2]);
}

/* An image reference (the spec's or a disk's): a sha256 of the store or an absolute host path. */
static int parse_image_ref(const json_t *v, const char *field, char out[IMAGE_PATH_MAX + 1],
                           struct sd_err *err)
{
	const char *img;
	size_t n;

	if (!json_is_string(v))
		return sd_err_set(err, 400, "invalid_field", field, "%s must be a string, not %s",
		                  field, json_type_name(v));
	img = json_string_value(v);
	n = json_string_length(v);
	if (n != strlen(img))
		return sd_err_set(err, 400, "invalid_field", field, "%s contains a NUL byte",
		                  field);
	if (spec_is_sha256(img)) {
		memcpy(out, img, n + 1);
		return 0;
	}
	if (img[0] != '/')
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s must be the sha256 of an uploaded image (64 hex digits) "
		                  "or an absolute host path",
		                  field);
	if (n > IMAGE_PATH_MAX)
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s: the path is longer than %d bytes", field, IMAGE_PATH_MAX);
	memcpy(out, img, n + 1);
	return 0;
}

/* One item of disks: {"name": .., "image": .., "readonly": true}. */
static int parse_disk(const json_t *v, size_t i, struct guest_spec *s, struct sd_err *err)
{
	struct spec_disk *dk = &s->disks[i];
	char field[80];
	const char *key;
	json_t *m;
	unsigned j;

	snprintf(field, sizeof(field), "disks[%zu]", i);
	if (!json_is_object(v))
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s must be an object ({\"name\": .., \"image\": ..}), not %s",
		                  field, json_type_name(v));
	dk->readonly = 1;
	json_object_foreach((json_t *)v, key, m)
	{
		if (!strcmp(key, "name")) {
			snprintf(field, sizeof(field), "disks[%zu].name", i);
			if (!json_is_string(m))
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s must be a string, not %s", field,
				                  json_type_name(m));
			if (json_string_length(m) != strlen(json_string_value(m)) ||
			    !spec_disk_name_ok(json_string_value(m)))
				return sd_err_set(
				    err, 400, "invalid_field", field,
				    "%s must be 1 to %d characters of a-z, 0-9, '-' and "
				    "'_', starting with a letter or a digit",
				    field, DISK_NAME_MAX);
			snprintf(dk->name, sizeof(dk->name), "%s", json_string_value(m));
		} else if (!strcmp(key, "image")) {
			snprintf(field, sizeof(field), "disks[%zu].image", i);
			if (parse_image_ref(m, field, dk->image, err) < 0)
				return -1;
		} else if (!strcmp(key, "readonly")) {
			snprintf(field, sizeof(field), "disks[%zu].readonly", i);
			if (!json_is_boolean(m))
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s must be true or false, not %s", field,
				                  json_type_name(m));
			dk->readonly = json_is_true(m);
		} else {
			char shown[48];

			sd_cut(shown, sizeof(shown), key, 40);
			snprintf(field, sizeof(field), "disks[%u].%.40s", (unsigned)i, shown);
			return sd_err_set(err, 400, "unknown_field", field,
			                  "unknown field %s (a disk has name, image and readonly)",
			                  field);
		}
	}
	if (!dk->name[0]) {
		snprintf(field, sizeof(field), "disks[%zu].name", i);
		return sd_err_set(err, 400, "missing_field", field, "%s is missing", field);
	}
	if (!dk->image[0]) {
		snprintf(field, sizeof(field), "disks[%zu].image", i);
		return sd_err_set(err, 400, "missing_field", field, "%s is missing", field);
	}
	for (j = 0; j < i; j++)
		if (!strcmp(s->disks[j].name, dk->name)) {
			snprintf(field, sizeof(field), "disks[%zu].name", i);
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s: disks[%u] is named %s already", field, j, dk->name);
		}
	return 0;
}

static int parse_disks(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	size_t i;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "disks",
		                  "disks must be an array of disks, not %s", json_type_name(v));
	if (json_array_size(v) > SPEC_DISKS_MAX)
		return sd_err_set(err, 400, "invalid_field", "disks",
		                  "disks has %zu items, at most %d are allowed", json_array_size(v),
		                  SPEC_DISKS_MAX);
	for (i = 0; i < json_array_size(v); i++) {
		if (parse_disk(json_array_get(v, i), i, s, err) < 0) {
			s->ndisks = 0;
			return -1;
		}
		s->ndisks++;
	}
	return 0;
}

static int parse_args(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	size_t i, total = 0;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "args",
		                  "args must be an array of strings, not %s", json_type_name(v));
	if (json_array_size(v) > GUEST_ARGS_MAX)
		return sd_err_set(err, 400, "invalid_field", "args",
		                  "args has %zu items, at most %d are allowed", json_array_size(v),
		                  GUEST_ARGS_MAX);
	s->args = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!s->args)
		return sd_err_set(err, 500, "internal", "args", "out of memory");
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *a = json_array_get(v, i);
		char field[32];
		size_t n;

		snprintf(field, sizeof(field), "args[%zu]", i);
		if (!json_is_string(a))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s must be a string, not %s", field, json_type_name(a));
		n = json_string_length(a);
		if (n != strlen(json_string_value(a)))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s contains a NUL byte", field);
		if (n > GUEST_ARG_BYTES)
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s is longer than %d bytes", field, GUEST_ARG_BYTES);
		total += n + 1;
		if (total > GUEST_ARGS_BYTES)
			return sd_err_set(err, 400, "invalid_field", "args",
			                  "args are longer than %d bytes in all", GUEST_ARGS_BYTES);
		s->args[i] = strdup(json_string_value(a));
		if (!s->args[i])
			return sd_err_set(err, 500, "internal", "args", "out of memory");
		s->nargs++;
	}
	return 0;
}

static int parse_cpus(const json_t *v, const struct spec_limits *lim, struct guest_spec *s,
                      struct sd_err *err)
{
	size_t i, j;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "cpus",
		                  "cpus must be an array of CPU numbers, not %s",
		                  json_type_name(v));
	if (json_array_size(v) > GUEST_CPUS_MAX)
		return sd_err_set(err, 400, "invalid_field", "cpus", "cpus lists more than %d CPUs",
		                  GUEST_CPUS_MAX);
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *c = json_array_get(v, i);
		char field[32];
		unsigned cpu;

		snprintf(field, sizeof(field), "cpus[%zu]", i);
		if (!json_is_integer(c))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s must be an integer, not %s", field,
			                  json_type_name(c));
		if (json_integer_value(c) < 0 ||
		    json_integer_value(c) >= (json_int_t)lim->host_cpus)
			return sd_err_set(
			    err, 400, "invalid_field", field,
			    "%s: CPU %lld does not exist (this host has CPUs 0 to %u)", field,
			    (long long)json_integer_value(c), lim->host_cpus - 1);
		cpu = (unsigned)json_integer_value(c);
		for (j = 0; j < s->ncpus; j++)
			if (s->cpus[j] == (int)cpu)
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s: CPU %u is listed twice", field, cpu);
		s->cpus[s->ncpus++] = (int)cpu;
	}
	return 0;
}

int spec_from_json(const json_t *j, const struct spec_limits *lim, struct guest_spec *s,
                   struct sd_err *err)
{
	static const char *const restarts[] = { "never", "on-failure", "always" };
	static const char *const classes[] = { "latency", "batch" };
	const char *key;
	json_t *v;
	int rc = -1, e;

	memset(s, 0, sizeof(*s));
	s->memory_mib = 32;
	s->vcpus = 1;
	s->latency_class = CLASS_LATENCY;
	s->slo_us = 1000;
	s->restart = RESTART_ON_FAILURE;
	if (!json_is_object(j)) {
		sd_err_set(err, 400, "invalid_body", "",
		           "the guest spec must be a JSON object, not %s",
		           j ? json_type_name(j) : "nothing");
		goto out;
	}
	json_object_foreach((json_t *)j, key, v)
	{
		if (!strcmp(key, "name")) {
			if (!json_is_string(v)) {
				sd_err_set(err, 400, "invalid_field", "name",
				           "name must be a string, not %s", json_type_name(v));
				goto out;
			}
			if (!spec_name_ok(json_string_value(v)) ||
			    json_string_length(v) != strlen(json_string_value(v))) {
				sd_err_set(err, 400, "invalid_field", "name",
				           "name must be 1 to %d characters of a-z, 0-9 and '-', "
				           "not starting with '-'",
				           GUEST_NAME_MAX);
				goto out;
			}
			snprintf(s->name, sizeof(s->name), "%s", json_string_value(v));
		} else if (!strcmp(key, "image")) {
			if (parse_image_ref(v, "image", s->image, err) < 0)
				goto out;
		} else if (!strcmp(key, "memory_mib")) {
			if (want_uint(v, "memory_mib", lim->memory_min_mib, lim->memory_max_mib,
			              &s->memory_mib, err) < 0)
				goto out;
			if (s->memory_mib % 2) {
				sd_err_set(err, 400, "invalid_field", "memory_mib",
				           "memory_mib must be even (guest memory comes in 2 MiB "
				           "pages), not %u",
				           s->memory_mib);
				goto out;
			}
		} else if (!strcmp(key, "vcpus")) {
			if (want_uint(v, "vcpus", 1, lim->vcpus_max, &s->vcpus, err) < 0)
				goto out;
		} else if (!strcmp(key, "args")) {
			if (parse_args(v, s, err) < 0)
				goto out;
		} else if (!strcmp(key, "latency_class")) {
			if (want_enum(v, "latency_class", classes, 2, &e, err) < 0)
				goto out;
			s->latency_class = (enum latency_class)e;
		} else if (!strcmp(key, "slo_us")) {
			if (want_uint(v, "slo_us", 1, 10000000, &s->slo_us, err) < 0)
				goto out;
		} else if (!strcmp(key, "restart")) {
			if (want_enum(v, "restart", restarts, 3, &e, err) < 0)
				goto out;
			s->restart = (enum restart_policy)e;
		} else if (!strcmp(key, "cpus")) {
			if (parse_cpus(v, lim, s, err) < 0)
				goto out;
		} else if (!strcmp(key, "disks")) {
			if (parse_disks(v, s, err) < 0)
				goto out;
		} else {
			char shown[48];

			sd_cut(shown, sizeof(shown), key, 40);
			sd_err_set(err, 400, "unknown_field", shown,
			           "unknown field \"%s\" (known: name, image, memory_mib, vcpus, "
			           "args, latency_class, slo_us, restart, cpus, disks)",
			           shown);
			goto out;
		}
	}
	if (!s->name[0]) {
		sd_err_set(err, 400, "missing_field", "name", "the spec has no name");
		goto out;
	}
	if (!s->image[0]) {
		sd_err_set(err, 400, "missing_field", "image", "the spec has no image");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		spec_free(s);
	return rc;
}

json_t *spec_to_json(const struct guest_spec *s)
{
	json_t *args = json_array(), *cpus = json_array(), *disks = json_array();
	unsigned i;

	if (!args || !cpus || !disks) {
		json_decref(args);
		json_decref(cpus);
		json_decref(disks);
		return NULL;
	}
	for (i = 0; i < s->nargs; i++)
		json_array_append_new(args, json_string(s->args[i]));
	for (i = 0; i < s->ncpus; i++)
		json_array_append_new(cpus, json_integer(s->cpus[i]));
	for (i = 0; i < s->ndisks; i++)
		json_array_append_new(disks, json_pack("{s:s, s:s, s:b}", "name", s->disks[i].name,
		                                       "image", s->disks[i].image, "readonly",
		                                       s->disks[i].readonly));
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:s, s:I, s:s, s:o, s:o}", "name", s->name,
	                 "image", s->image, "memory_mib", (json_int_t)s->memory_mib, "vcpus",
	                 (json_int_t)s->vcpus, "args", args, "latency_class",
	                 latency_class_str(s->latency_class), "slo_us", (json_int_t)s->slo_us,
	                 "restart", restart_policy_str(s->restart), "cpus", cpus, "disks", disks);
}

int spec_copy(struct guest_spec *dst, const struct guest_spec *src)
{
	unsigned i;

	*dst = *src;
	dst->args = NULL;
	dst->nargs = 0;
	if (!src->nargs)
		return 0;
	dst->args = calloc(src->nargs + 1, sizeof(char *));
	if (!dst->args)
		return -1;
	for (i = 0; i < src->nargs; i++) {
		dst->args[i] = strdup(src->args[i]);
		if (!dst->args[i]) {
			spec_free(dst);
			return -1;
		}
		dst->nargs++;
	}
	return 0;
}

void spec_free(struct guest_spec *s)
{
	unsigned i;

	for (i = 0; i < s->nargs; i++)
		free(s->args[i]);
	free(s->args);
	s->args = NULL;
	s->nargs = 0;
}
