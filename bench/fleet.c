/*
 * See fleet.h.
 */
#include <stdlib.h>
#include <string.h>

#include "bench/benchlib.h"
#include "bench/fleet.h"
#include "tests/lib/httpc.h"

int fleet_latency(const char *sock, const char *prefix, unsigned slo_us, struct fleet_latency *out)
{
	struct http_answer a;
	double *p50 = NULL, *p99 = NULL;
	size_t i, n = 0;
	json_t *g;

	memset(out, 0, sizeof(*out));
	if (http_req(sock, "GET", "/v1/guests", NULL, &a) < 0 || !json_is_array(a.json)) {
		http_answer_free(&a);
		return -1;
	}
	p50 = calloc(json_array_size(a.json) + 1, sizeof(double));
	p99 = calloc(json_array_size(a.json) + 1, sizeof(double));
	json_array_foreach(a.json, i, g)
	{
		const char *name = json_string_value(json_object_get(g, "name"));
		json_t *l = json_object_get(g, "latency");

		if (!p50 || !p99 || !name || strncmp(name, prefix, strlen(prefix)) ||
		    !json_is_object(l))
			continue;
		p50[n] = json_number_value(json_object_get(l, "p50_us"));
		p99[n] = json_number_value(json_object_get(l, "p99_us"));
		out->misses += (long)json_integer_value(json_object_get(l, "misses"));
		out->over_slo += p99[n] > slo_us;
		n++;
	}
	http_answer_free(&a);
	out->guests = (int)n;
	if (n) {
		out->p50_med = bl_quantile(p50, n, 0.5);
		out->p99_med = bl_quantile(p99, n, 0.5);
		out->p99_worst = bl_quantile(p99, n, 1.0);
	}
	free(p50);
	free(p99);
	return 0;
}
