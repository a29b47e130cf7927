/*
 * libFuzzer harness of guest specs (daemon/spec.c): a deploy's body as
 * the API reads it (duplicate keys refused, any value at the top) into
 * spec_from_json.  A refusal must name a field and say why in valid
 * UTF-8; a spec it takes must come back unchanged through spec_to_json,
 * spec_from_json and spec_copy.  Seeds: tests/data/spec-values.txt and
 * the bodies of tests/data/api-bad-input.txt.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/spec.h"

/* As the daemon's spec_limits_of would say on an 8-CPU host (the corpus's limits). */
static const struct spec_limits limits = {
	.memory_min_mib = 4,
	.memory_max_mib = 1024,
	.vcpus_max = 2,
	.host_cpus = 8,
};

/* Is s[0, n) valid UTF-8 (what jansson needs to put it in an answer)? */
static int utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	if (!j)
		return 0;
	json_decref(j);
	return 1;
}

static void same_spec(const struct guest_spec *a, const struct guest_spec *b)
{
	json_t *ja = spec_to_json(a), *jb = spec_to_json(b);

	if (ja && jb && !json_equal(ja, jb))
		abort();
	json_decref(ja);
	json_decref(jb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_spec spec, again, copy;
	struct sd_err err;
	json_error_t jerr;
	json_t *j, *out;

	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j)
		return 0;
	memset(&err, 0, sizeof(err));
	if (spec_from_json(j, &limits, &spec, &err) < 0) {
		/* A refusal goes into a JSON answer: a status, a code and a sentence in UTF-8. */
		if (err.http < 400 || err.http > 599 || !err.code[0] || !err.message[0] ||
		    !utf8_ok(err.field) || !utf8_ok(err.message))
			abort();
		json_decref(j);
		return 0;
	}
	json_decref(j);
	out = spec_to_json(&spec);
	if (out) {
		if (spec_from_json(out, &limits, &again, &err) < 0)
			abort(); /* what the store keeps must load again */
		same_spec(&spec, &again);
		spec_free(&again);
		json_decref(out);
	}
	if (spec_copy(&copy, &spec) == 0) {
		same_spec(&spec, &copy);
		spec_free(&copy);
	}
	spec_free(&spec);
	return 0;
}
