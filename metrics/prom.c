/*
 * Prometheus text exposition (format 0.0.4) as plain string building:
 * a small text buffer, name checks, escaping, and writers for families,
 * counters, gauges and histograms.  The daemon serves the result on
 * /metrics; nothing here does I/O.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define NS_PER_S UINT64_C(1000000000)

const uint64_t metrics_prom_rtt_bounds_ns[] = {
	10000ull,      25000ull,      50000ull,      100000ull,      250000ull,
	500000ull,     1000000ull,    2500000ull,    5000000ull,     10000000ull,
	25000000ull,   50000000ull,   100000000ull,  250000000ull,   500000000ull,
	1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull,
};
const size_t metrics_prom_rtt_nbounds =
    sizeof(metrics_prom_rtt_bounds_ns) / sizeof(metrics_prom_rtt_bounds_ns[0]);

/* ---- The buffer ---------------------------------------------------- */

void metrics_buf_init(struct metrics_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void metrics_buf_init_fixed(struct metrics_buf *b, char *mem, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->fixed = 1;
	b->data = mem;
	b->cap = size;
	if (size)
		mem[0] = '\0';
	else
		b->err = -ENOSPC;
}

void metrics_buf_reset(struct metrics_buf *b)
{
	b->len = 0;
	b->err = b->fixed && !b->cap ? -ENOSPC : 0;
	if (b->cap)
		b->data[0] = '\0';
}

void metrics_buf_free(struct metrics_buf *b)
{
	if (!b->fixed) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	metrics_buf_reset(b);
}

int metrics_buf_error(const struct metrics_buf *b)
{
	return b->err;
}

/* Room for n more bytes and the NUL. */
static int reserve(struct metrics_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return b->err;
	if (n > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	if (b->fixed)
		return -ENOSPC;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int put(struct metrics_buf *b, const char *s, size_t n)
{
	int rc;

	rc = reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int metrics_buf_put(struct metrics_buf *b, const char *s, size_t n)
{
	int rc = put(b, s, n);

	if (rc && !b->err)
		b->err = rc;
	return rc;
}

void metrics_buf_consume(struct metrics_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

static int put_str(struct metrics_buf *b, const char *s)
{
	return put(b, s, strlen(s));
}

static int put_u64(struct metrics_buf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

	return put(b, tmp, (size_t)n);
}

/* ns as exact decimal seconds: 10000 -> "0.00001", 2500000000 -> "2.5". */
static int put_seconds(struct metrics_buf *b, uint64_t ns)
{
	char tmp[40];
	uint64_t frac = ns % NS_PER_S;
	int n;

	if (!frac) {
		n = snprintf(tmp, sizeof(tmp), "%" PRIu64, ns / NS_PER_S);
	} else {
		n = snprintf(tmp, sizeof(tmp), "%" PRIu64 ".%09" PRIu64, ns / NS_PER_S, frac);
		while (tmp[n - 1] == '0')
			n--;
	}
	return put(b, tmp, (size_t)n);
}

/* The shortest of %.15g/%.17g that reads back as d. */
static int put_double(struct metrics_buf *b, double d)
{
	char tmp[40];
	int n;

	if (isnan(d))
		return put_str(b, "NaN");
	if (isinf(d))
		return put_str(b, d > 0 ? "+Inf" : "-Inf");
	n = snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	return put(b, tmp, (size_t)n);
}

/* Append s with \ and newline escaped, and " too when quote is set. */
static int put_escaped(struct metrics_buf *b, const char *s, int quote)
{
	int rc = 0;

	while (*s && !rc) {
		size_t n = strcspn(s, quote ? "\\\n\"" : "\\\n");

		rc = put(b, s, n);
		s += n;
		if (rc || !*s)
			break;
		rc = put(b, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\", 2);
		s++;
	}
	return rc;
}

/*
 * Writers append whole lines or nothing: remember where the call began
 * and go back there on failure.  Buffer failures stay (sticky).
 */
static int commit(struct metrics_buf *b, size_t mark, int rc)
{
	if (rc && b->len > mark) {
		b->len = mark;
		b->data[mark] = '\0';
	}
	if (rc == -ENOMEM || rc == -ENOSPC)
		b->err = rc;
	return rc;
}

/* ---- Names and escaping -------------------------------------------- */

static int is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int metrics_prom_name_ok(const char *name)
{
	const char *p;

	if (!name || !(is_alpha_(*name) || *name == ':'))
		return 0;
	for (p = name + 1; *p; p++)
		if (!is_alpha_(*p) && !is_digit(*p) && *p != ':')
			return 0;
	return 1;
}

int metrics_prom_label_name_ok(const char *name)
{
	const char *p;

	if (!name || !is_alpha_(*name) || (name[0] == '_' && name[1] == '_'))
		return 0;
	for (p = name + 1; *p; p++)
		if (!is_alpha_(*p) && !is_digit(*p))
			return 0;
	return 1;
}

int metrics_prom_escape_label_value(struct metrics_buf *b, const char *s)
{
	return commit(b, b->len, put_escaped(b, s, 1));
}

int metrics_prom_escape_help(struct metrics_buf *b, const char *s)
{
	return commit(b, b->len, put_escaped(b, s, 0));
}

/* ---- Lines --------------------------------------------------------- */

static const char *type_name(enum metrics_prom_type type)
{
	switch (type) {
	case METRICS_PROM_COUNTER:
		return "counter";
	case METRICS_PROM_GAUGE:
		return "gauge";
	case METRICS_PROM_HISTOGRAM:
		return "histogram";
	}
	return NULL;
}

int metrics_prom_family(struct metrics_buf *b, const char *name, enum metrics_prom_type type,
                        const char *help)
{
	const char *tn = type_name(type);
	size_t mark = b->len;
	int rc = 0;

	if (!metrics_prom_name_ok(name) || !tn)
		return -EINVAL;
	if (help) {
		rc = put_str(b, "# HELP ");
		if (!rc)
			rc = put_str(b, name);
		if (!rc)
			rc = put(b, " ", 1);
		if (!rc)
			rc = put_escaped(b, help, 0);
		if (!rc)
			rc = put(b, "\n", 1);
	}
	if (!rc)
		rc = put_str(b, "# TYPE ");
	if (!rc)
		rc = put_str(b, name);
	if (!rc)
		rc = put(b, " ", 1);
	if (!rc)
		rc = put_str(b, tn);
	if (!rc)
		rc = put(b, "\n", 1);
	return commit(b, mark, rc);
}

/* Labels must have valid, distinct names and a value; "le" is refused when reserved. */
static int check_labels(const struct metrics_label *labels, size_t n, int le_reserved)
{
	size_t i, j;

	if (n && !labels)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!metrics_prom_label_name_ok(labels[i].name) || !labels[i].value)
			return -EINVAL;
		if (le_reserved && !strcmp(labels[i].name, "le"))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (!strcmp(labels[i].name, labels[j].name))
				return -EINVAL;
	}
	return 0;
}

/*
 * "name[suffix]{labels[,le="..."]} " -- the line up to its value.  le_ns
 * is the le label's bound; UINT64_MAX means +Inf, and no le label is
 * written when has_le is 0.
 */
static int put_head(struct metrics_buf *b, const char *name, const char *suffix,
                    const struct metrics_label *labels, size_t n, int has_le, uint64_t le_ns)
{
	size_t i;
	int rc;

	rc = put_str(b, name);
	if (!rc && suffix)
		rc = put_str(b, suffix);
	if (!rc && (n || has_le))
		rc = put(b, "{", 1);
	for (i = 0; i < n && !rc; i++) {
		if (i)
			rc = put(b, ",", 1);
		if (!rc)
			rc = put_str(b, labels[i].name);
		if (!rc)
			rc = put(b, "=\"", 2);
		if (!rc)
			rc = put_escaped(b, labels[i].value, 1);
		if (!rc)
			rc = put(b, "\"", 1);
	}
	if (!rc && has_le) {
		rc = put_str(b, n ? ",le=\"" : "le=\"");
		if (!rc)
			rc = le_ns == UINT64_MAX ? put_str(b, "+Inf") : put_seconds(b, le_ns);
		if (!rc)
			rc = put(b, "\"", 1);
	}
	if (!rc && (n || has_le))
		rc = put(b, "}", 1);
	if (!rc)
		rc = put(b, " ", 1);
	return rc;
}

int metrics_prom_counter(struct metrics_buf *b, const char *name,
                         const struct metrics_label *labels, size_t nlabels, uint64_t value)
{
	size_t mark = b->len;
	int rc;

	if (!metrics_prom_name_ok(name) || check_labels(labels, nlabels, 0))
		return -EINVAL;
	rc = put_head(b, name, NULL, labels, nlabels, 0, 0);
	if (!rc)
		rc = put_u64(b, value);
	if (!rc)
		rc = put(b, "\n", 1);
	return commit(b, mark, rc);
}

int metrics_prom_gauge(struct metrics_buf *b, const char *name, const struct metrics_label *labels,
                       size_t nlabels, double value)
{
	size_t mark = b->len;
	int rc;

	if (!metrics_prom_name_ok(name) || check_labels(labels, nlabels, 0))
		return -EINVAL;
	rc = put_head(b, name, NULL, labels, nlabels, 0, 0);
	if (!rc)
		rc = put_double(b, value);
	if (!rc)
		rc = put(b, "\n", 1);
	return commit(b, mark, rc);
}

int metrics_prom_histogram(struct metrics_buf *b, const char *name,
                           const struct metrics_label *labels, size_t nlabels,
                           const struct metrics_hist *h, const uint64_t bounds_ns[], size_t nbounds)
{
	size_t mark = b->len, i;
	int rc = 0;

	if (!metrics_prom_name_ok(name) || check_labels(labels, nlabels, 1) ||
	    (nbounds && !bounds_ns))
		return -EINVAL;
	for (i = 0; i < nbounds; i++)
		if (bounds_ns[i] == UINT64_MAX || (i && bounds_ns[i] <= bounds_ns[i - 1]))
			return -EINVAL;
	for (i = 0; i <= nbounds && !rc; i++) {
		uint64_t le = i < nbounds ? bounds_ns[i] : UINT64_MAX;

		rc = put_head(b, name, "_bucket", labels, nlabels, 1, le);
		if (!rc)
			rc = put_u64(b, i < nbounds ? metrics_hist_count_le(h, le)
			                            : metrics_hist_count(h));
		if (!rc)
			rc = put(b, "\n", 1);
	}
	if (!rc)
		rc = put_head(b, name, "_sum", labels, nlabels, 0, 0);
	if (!rc)
		rc = put_seconds(b, metrics_hist_sum(h));
	if (!rc)
		rc = put(b, "\n", 1);
	if (!rc)
		rc = put_head(b, name, "_count", labels, nlabels, 0, 0);
	if (!rc)
		rc = put_u64(b, metrics_hist_count(h));
	if (!rc)
		rc = put(b, "\n", 1);
	return commit(b, mark, rc);
}
