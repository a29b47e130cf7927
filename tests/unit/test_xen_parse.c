/*
 * Unit tests of the Xen backend's pure pieces (daemon/backend/xen_parse.c)
 * over the corpus in tests/data/xen-values.txt: the guest's command line,
 * the values a guest writes into xenstore, and the exit mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/backend/xen_parse.h"
#include "tests/unit/corpus_testlib.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \xHH always, and \\ when backslashes are escaped too; returns the length. */
static size_t unescape(const char *in, char *out, int backslashes)
{
	size_t n = 0;

	while (*in) {
		if (in[0] == '\\' && in[1] == 'x' && hexval(in[2]) >= 0 && hexval(in[3]) >= 0) {
			out[n++] = (char)(hexval(in[2]) * 16 + hexval(in[3]));
			in += 4;
		} else if (backslashes && in[0] == '\\' && in[1] == '\\') {
			out[n++] = '\\';
			in += 2;
		} else {
			out[n++] = *in++;
		}
	}
	out[n] = '\0';
	return n;
}

static const struct {
	const char *name;
	enum xen_end end;
} ends[] = {
	{ "poweroff", XEN_END_POWEROFF }, { "reboot", XEN_END_REBOOT },
	{ "suspend", XEN_END_SUSPEND },   { "crash", XEN_END_CRASH },
	{ "watchdog", XEN_END_WATCHDOG }, { "soft-reset", XEN_END_SOFT_RESET },
	{ "unknown", XEN_END_UNKNOWN },   { "destroyed", XEN_END_DESTROYED },
};

static void eval_cmdline(char *in, char *got, size_t len)
{
	static char bufs[8][8192];
	char *args[8], out[XEN_CMDLINE_MAX], why[200];
	unsigned nargs = 0, n;
	char *p = in, *sep;

	if (!strncmp(in, "long:", 5) || !strncmp(in, "spaces:", 7)) {
		n = (unsigned)atoi(strchr(in, ':') + 1);
		memset(bufs[0], in[0] == 'l' ? 'a' : ' ', n);
		bufs[0][n] = '\0';
		args[nargs++] = bufs[0];
	} else if (*in) {
		for (;;) {
			sep = strstr(p, " ^ ");
			if (sep)
				*sep = '\0';
			assert_true(nargs < 8);
			unescape(p, bufs[nargs], 1);
			args[nargs] = bufs[nargs];
			nargs++;
			if (!sep)
				break;
			p = sep + 3;
		}
	}
	if (xen_cmdline_build(out, sizeof(out), nargs, args, why, sizeof(why)) < 0) {
		assert_true(why[0] != '\0');
		snprintf(got, len, "error");
	} else if (!strncmp(in, "long:", 5) || !strncmp(in, "spaces:", 7)) {
		snprintf(got, len, "ok:%zu", strlen(out));
	} else {
		snprintf(got, len, "%s", out);
	}
}

static void eval_exit(char *in, char *got, size_t len)
{
	char *f[3], code[600], reason[600], text[512];
	size_t clen = 0, rlen = 0, i;
	int status = 0, found = 0;

	f[0] = in;
	f[1] = strchr(f[0], ';');
	assert_non_null(f[1]);
	*f[1]++ = '\0';
	f[2] = strchr(f[1], ';');
	assert_non_null(f[2]);
	*f[2]++ = '\0';
	for (i = 0; i < 3; i++)
		f[i] = corpus_trim(f[i]);
	if (strcmp(f[1], "-"))
		clen = unescape(f[1], code, 1);
	if (strcmp(f[2], "-"))
		rlen = unescape(f[2], reason, 1);
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (!strcmp(ends[i].name, f[0])) {
			status = xen_exit_map(ends[i].end, strcmp(f[1], "-") ? code : NULL, clen,
			                      strcmp(f[2], "-") ? reason : NULL, rlen, text,
			                      sizeof(text));
			found = 1;
		}
	if (!found)
		fail_msg("unknown end \"%s\"", f[0]);
	snprintf(got, len, "%d %s", status, text);
}

static void evaluate(const char *kind, char *in, char *got, size_t len)
{
	char raw[600], why[200];
	size_t n;

	why[0] = '\0';
	if (!strcmp(kind, "cmdline")) {
		eval_cmdline(in, got, len);
	} else if (!strcmp(kind, "port")) {
		unsigned port;

		n = unescape(in, raw, 1);
		if (xen_parse_port(raw, n, &port, why, sizeof(why)) == 0)
			snprintf(got, len, "%u", port);
		else
			snprintf(got, len, "error");
	} else if (!strcmp(kind, "u64")) {
		uint64_t v;

		n = unescape(in, raw, 1);
		if (xen_parse_u64(raw, n, &v, why, sizeof(why)) == 0)
			snprintf(got, len, "%llu", (unsigned long long)v);
		else
			snprintf(got, len, "error");
	} else if (!strcmp(kind, "reason")) {
		n = unescape(in, raw, 1);
		xen_reason_clean(raw, n, got, len);
	} else if (!strcmp(kind, "exit")) {
		eval_exit(in, got, len);
	} else if (!strcmp(kind, "token")) {
		unsigned long id;
		int k;

		unescape(in, raw, 1);
		k = xen_watch_token(raw, "pc", &id);
		if (k)
			snprintf(got, len, "%c %lu", k, id);
		else
			snprintf(got, len, "none");
	} else {
		fail_msg("unknown kind \"%s\"", kind);
	}
	if (!strcmp(got, "error"))
		assert_true(why[0] != '\0' || !strcmp(kind, "cmdline"));
}

/* EXPECTED's \xHH escapes (its backslashes are literal). */
static void decode_want(char *want)
{
	unescape(want, want, 0);
}

static void test_corpus(void **state)
{
	unsigned bad, cases = corpus_run("xen-values.txt", evaluate, decode_want, &bad);

	(void)state;
	assert_true(cases > 60);
	assert_int_equal(bad, 0);
}

/* A value cut short (not NUL-terminated) is read only as far as its length. */
static void test_unterminated(void **state)
{
	char why[200];
	unsigned port = 0;
	uint64_t v = 0;

	(void)state;
	assert_int_equal(xen_parse_port("4242", 2, &port, why, sizeof(why)), 0);
	assert_int_equal(port, 42);
	assert_int_equal(xen_parse_u64("123456", 3, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 123);
}

/* Every refusal of an argument names it. */
static void test_cmdline_names_argument(void **state)
{
	char *args[] = { "ok", "bad\tone" }, out[64], why[200];

	(void)state;
	assert_int_equal(xen_cmdline_build(out, sizeof(out), 2, args, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "args[1]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_cmdline_names_argument),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
