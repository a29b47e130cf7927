/*
 * jsonq: a tiny JSON checker for the shell tests, so that they need no
 * jq.  Reads one JSON text from stdin; exits 1 (saying why) when it is not
 * valid JSON.  With a dotted path (spec.args, net.0.ipv4: a number picks an
 * array's element), prints what is there: for an array at the top, the
 * path of each element, one a line; strings bare, the rest as compact
 * JSON; nothing when absent.
 *   jsonq [PATH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void print_value(const json_t *v)
{
	char *text;

	if (!v)
		return;
	if (json_is_string(v)) {
		puts(json_string_value(v));
		return;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text)
		puts(text);
	free(text);
}

static const json_t *walk(const json_t *v, const char *path)
{
	char key[256];

	while (v && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (json_is_array(v) && n && strspn(key, "0123456789") == n)
			v = json_array_get(v, strtoul(key, NULL, 10));
		else
			v = json_object_get(v, key);
		path += n + (path[n] == '.');
	}
	return v;
}

int main(int argc, char **argv)
{
	json_error_t err;
	const json_t *e;
	json_t *j;
	size_t i;

	j = json_loadf(stdin, JSON_DECODE_ANY, &err);
	if (!j) {
		fprintf(stderr, "jsonq: not valid JSON: %s (line %d, column %d)\n", err.text,
		        err.line, err.column);
		return 1;
	}
	if (argc > 1) {
		if (json_is_array(j)) {
			json_array_foreach(j, i, e) print_value(walk(e, argv[1]));
		} else {
			print_value(walk(j, argv[1]));
		}
	}
	json_decref(j);
	return 0;
}
