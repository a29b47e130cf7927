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

/* ---- a guest's devices ---- */

/* printf at buf + *off, never past len; *off keeps counting when it is cut short. */
static void __attribute__((format(printf, 4, 5)))
appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + (*off < len ? *off : len), *off < len ? len - *off : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		*off += (size_t)r;
}

static const char *plural(long long n)
{
	return n == 1 ? "" : "s";
}

char *ctl_fmt_disk(const json_t *d, char *buf, size_t len)
{
	const char *from = ctl_jstr(d, "copy_of"), *sha = ctl_jstr(d, "image_sha256");
	const json_t *c = json_object_get(d, "counters");
	char b1[32], b2[32];
	size_t off = 0;

	buf[0] = '\0';
	appendf(buf, len, &off, "%s: image %.12s, ",
	        ctl_jstr(d, "name") ? ctl_jstr(d, "name") : "?", sha ? sha : "?");
	if (json_is_true(json_object_get(d, "readonly")))
		appendf(buf, len, &off, "read-only (shared)");
	else if (!from)
		appendf(buf, len, &off, "writable, its own copy (not made yet)");
	else {
		appendf(buf, len, &off, "writable, its own copy (%s",
		        ctl_fmt_bytes((double)ctl_jint(d, "copy_bytes", 0), b1, sizeof(b1)));
		if (sha && strcmp(from, sha))
			appendf(buf, len, &off, ", made from image %.12s", from);
		appendf(buf, len, &off, ")");
	}
	if (json_is_object(c)) {
		long long reads = ctl_jint(c, "reads", 0), writes = ctl_jint(c, "writes", 0),
		          flushes = ctl_jint(c, "flushes", 0), errors = ctl_jint(c, "errors", 0);

		appendf(buf, len, &off,
		        "; %lld read%s %s, %lld write%s %s, %lld flush%s, %lld error%s", reads,
		        plural(reads),
		        ctl_fmt_bytes((double)ctl_jint(c, "read_bytes", 0), b1, sizeof(b1)), writes,
		        plural(writes),
		        ctl_fmt_bytes((double)ctl_jint(c, "written_bytes", 0), b2, sizeof(b2)),
		        flushes, flushes == 1 ? "" : "es", errors, plural(errors));
	}
	return buf;
}

char *ctl_fmt_nic(const json_t *n, char *buf, size_t len)
{
	const char *tap = ctl_jstr(n, "tap"), *ip = ctl_jstr(n, "ipv4"),
	           *gw = ctl_jstr(n, "gateway"), *mac = ctl_jstr(n, "mac");
	const json_t *c = json_object_get(n, "counters");
	size_t off = 0;

	buf[0] = '\0';
	appendf(buf, len, &off, "%s on %s", ctl_jstr(n, "name") ? ctl_jstr(n, "name") : "?",
	        ctl_jstr(n, "bridge") ? ctl_jstr(n, "bridge") : "?");
	if (tap && *tap)
		appendf(buf, len, &off, " (tap %s)", tap);
	appendf(buf, len, &off, ": %s", ip ? ip : "no address");
	if (ip && gw)
		appendf(buf, len, &off, " via %s", gw);
	appendf(buf, len, &off, ", mac %s", mac ? mac : "?");
	if (json_is_object(c)) {
		long long rx = ctl_jint(c, "rx_packets", 0), tx = ctl_jint(c, "tx_packets", 0);
		long long dropped = ctl_jint(c, "rx_dropped", 0) + ctl_jint(c, "tx_dropped", 0);
		long long errors = ctl_jint(c, "rx_errors", 0) + ctl_jint(c, "tx_errors", 0);
		char b1[32], b2[32];

		appendf(buf, len, &off,
		        "; rx %lld frame%s %s, tx %lld frame%s %s, %lld dropped, %lld error%s, "
		        "rate-limited %lld/%lld",
		        rx, plural(rx),
		        ctl_fmt_bytes((double)ctl_jint(c, "rx_bytes", 0), b1, sizeof(b1)), tx,
		        plural(tx),
		        ctl_fmt_bytes((double)ctl_jint(c, "tx_bytes", 0), b2, sizeof(b2)), dropped,
		        errors, plural(errors), ctl_jint(c, "rx_rate_limited", 0),
		        ctl_jint(c, "tx_rate_limited", 0));
		/* On proc the host kernel keeps the limit and drops what is over it. */
		if (ctl_jint(c, "rx_rate_dropped", 0) || ctl_jint(c, "tx_rate_dropped", 0))
			appendf(buf, len, &off, ", rate-dropped %lld/%lld",
			        ctl_jint(c, "rx_rate_dropped", 0),
			        ctl_jint(c, "tx_rate_dropped", 0));
	}
	return buf;
}

char *ctl_fmt_net_rate(const json_t *rate, char *buf, size_t len)
{
	long long pps = ctl_jint(rate, "packets_per_s", 0), bps = ctl_jint(rate, "bytes_per_s", 0);
	char b[32];
	size_t off = 0;

	buf[0] = '\0';
	if (!json_is_object(rate))
		appendf(buf, len, &off, "the host's default");
	else if (pps <= 0 && bps <= 0)
		appendf(buf, len, &off, "none");
	else {
		if (pps > 0)
			appendf(buf, len, &off, "%lld packets/s", pps);
		if (bps > 0)
			appendf(buf, len, &off, "%s%s/s", pps > 0 ? ", " : "",
			        ctl_fmt_bytes((double)bps, b, sizeof(b)));
		appendf(buf, len, &off, " each way");
	}
	return buf;
}

char *ctl_first_ipv4(const json_t *g, char *buf, size_t len)
{
	const char *ip = ctl_jstr(json_array_get(json_object_get(g, "net"), 0), "ipv4");

	if (!ip)
		return strcpy(buf, "-");
	snprintf(buf, len, "%.*s", (int)strcspn(ip, "/"), ip);
	return buf;
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

void ctl_table_rowv(struct ctl_table *t, const char *const *cells)
{
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
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

void ctl_table_row(struct ctl_table *t, ...)
{
	const char *cells[32];
	va_list ap;
	size_t i;

	if (!t || t->ncols > sizeof(cells) / sizeof(cells[0]))
		return;
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	ctl_table_rowv(t, cells);
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
