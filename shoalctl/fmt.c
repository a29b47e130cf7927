/*
 * shoalctl's output for people: human sizes, durations and latencies,
 * aligned tables, and JSON getters that let a field the server does not
 * send (yet) show as "-" instead of failing.  Nothing here is used for
 * --json output, which is always the server's own bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shoalctl/ctl.h"

char *ctl_fmt_bytes(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", bytes);
	else
		snprintf(buf, len,
		         bytes < 10 && bytes != (double)(long long)bytes ? "%.1f %s" : "%.0f %s",
		         bytes, units[u]);
	return buf;
}

char *ctl_fmt_mib(double mib, char *buf, size_t len)
{
	return ctl_fmt_bytes(mib * 1024 * 1024, buf, len);
}

char *ctl_fmt_duration(double s, char *buf, size_t len)
{
	unsigned long long t = (unsigned long long)s;

	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1f s", s);
	else if (t < 3600)
		snprintf(buf, len, "%llu m %llu s", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%llu h %llu m", t / 3600, t / 60 % 60);
	else
		snprintf(buf, len, "%llu d %llu h", t / 86400, t / 3600 % 24);
	return buf;
}

char *ctl_fmt_us(double us, char *buf, size_t len)
{
	if (us == (double)(long long)us && us < 1000)
		snprintf(buf, len, "%.0f us", us); /* an SLO, say */
	else if (us < 10)
		snprintf(buf, len, "%.2f us", us);
	else if (us < 1000)
		snprintf(buf, len, "%.1f us", us);
	else if (us < 1e6)
		snprintf(buf, len, "%.2f ms", us / 1e3);
	else
		snprintf(buf, len, "%.2f s", us / 1e6);
	return buf;
}

char *ctl_fmt_time_ns(long long wall_ns, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ns / 1000000000);
	struct tm tm;

	if (wall_ns <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
	return buf;
}

const char *ctl_jstr(const json_t *o, const char *key)
{
	return json_string_value(o ? json_object_get(o, key) : NULL);
}

long long ctl_jint(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int ctl_jnum(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

char *ctl_fmt_lat(const json_t *window, const char *key, char *buf, size_t len)
{
	double us;

	if (ctl_jnum(window, key, &us) < 0)
		return strcpy(buf, "-");
	return ctl_fmt_us(us, buf, len);
}

/* ---- tables ---- */

struct ctl_table {
	size_t ncols, nrows, cap;
	char **cells; /* row-major, the heads are row 0 */
	int *right;
};

struct ctl_table *ctl_table_new(const char *const *heads, const char *right_aligned)
{
	struct ctl_table *t = calloc(1, sizeof(*t));
	char all[512];
	size_t i;

	if (!t)
		return NULL;
	while (heads[t->ncols])
		t->ncols++;
	t->right = calloc(t->ncols, sizeof(int));
	t->cap = 16;
	t->cells = calloc(t->cap * t->ncols, sizeof(char *));
	if (!t->right || !t->cells) {
		ctl_table_free(t);
		return NULL;
	}
	/* right_aligned: the heads of the number columns, space-separated */
	snprintf(all, sizeof(all), " %s ", right_aligned ? right_aligned : "");
	for (i = 0; i < t->ncols; i++) {
		char pattern[64];

		t->cells[i] = strdup(heads[i]);
		snprintf(pattern, sizeof(pattern), " %s ", heads[i]);
		t->right[i] = strstr(all, pattern) != NULL;
	}
	t->nrows = 1;
	return t;
}

void ctl_table_row(struct ctl_table *t, ...)
{
	va_list ap;
	size_t i;

	if (!t)
		return;
	if (t->nrows == t->cap) {
		char **n = realloc(t->cells, t->cap * 2 * t->ncols * sizeof(char *));

		if (!n)
			return;
		t->cells = n;
		t->cap *= 2;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

void ctl_table_print(const struct ctl_table *t, FILE *f)
{
	size_t r, i, *w;

	if (!t)
		return;
	w = calloc(t->ncols, sizeof(*w));
	if (!w)
		return;
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			size_t n = s ? strlen(s) : 0;

			if (n > w[i])
				w[i] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			int last = i + 1 == t->ncols;

			if (!s)
				s = "";
			if (t->right[i])
				fprintf(f, "%*s", (int)w[i], s);
			else if (last)
				fputs(s, f); /* no trailing blanks */
			else
				fprintf(f, "%-*s", (int)w[i], s);
			fputs(last ? "\n" : "  ", f);
		}
	}
	free(w);
}

void ctl_table_free(struct ctl_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->cells && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t);
}

void ctl_kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-12s", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void ctl_print_guest_line(const char *verb, const json_t *g)
{
	const char *sha = ctl_jstr(g, "image_sha256");
	long long pid = ctl_jint(g, "pid", 0);

	printf("%s %s (state %s, instance %lld", ctl_jstr(g, "name") ? ctl_jstr(g, "name") : "?",
	       verb, ctl_jstr(g, "state") ? ctl_jstr(g, "state") : "?", ctl_jint(g, "instance", 0));
	if (pid > 0)
		printf(", pid %lld", pid);
	printf(", deploy %lld, image %.12s)\n", ctl_jint(g, "deploy_id", 0), sha ? sha : "?");
}
