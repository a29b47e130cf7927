/*
 * Unit tests of the runtime's Xen front-end values
 * (unikernel-rt/platform/xen/front_parse.c) over the corpus in
 * tests/data/xen-front-values.txt: what a guest accepts and refuses in
 * the device keys a toolstack writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/corpus_testlib.h"
#include "unikernel-rt/platform/xen/front_parse.h"

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

/* INPUT's \xHH escapes, in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
			*out++ = (char)(hexval(s[2]) << 4 | hexval(s[3]));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static void evaluate(const char *kind, char *in, char *got, size_t len)
{
	uint8_t a[6], prefix;
	uint64_t v;
	int r;

	unescape(in);
	snprintf(got, len, "error");
	if (!strncmp(kind, "u64:", 4)) {
		if (xen__parse_u64(in, strtoull(kind + 4, NULL, 10), &v) == 0)
			snprintf(got, len, "%llu", (unsigned long long)v);
	} else if (!strcmp(kind, "ipv4p")) {
		if (xen__parse_ipv4_prefix(in, a, &prefix) == 0)
			snprintf(got, len, "%u.%u.%u.%u/%u", a[0], a[1], a[2], a[3], prefix);
	} else if (!strcmp(kind, "ipv4")) {
		if (xen__parse_ipv4(in, a) == 0)
			snprintf(got, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	} else if (!strcmp(kind, "mac")) {
		if (xen__parse_mac(in, a) == 0)
			snprintf(got, len, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3],
			         a[4], a[5]);
	} else if (!strcmp(kind, "path") || !strcmp(kind, "name")) {
		r = !strcmp(kind, "path") ? xen__parse_path(in) : xen__parse_name(in);
		if (r == 0)
			snprintf(got, len, "ok");
	} else {
		fail_msg("unknown kind %s", kind);
	}
}

static void test_corpus(void **state)
{
	unsigned bad, cases = corpus_run("xen-front-values.txt", evaluate, NULL, &bad);

	(void)state;
	assert_true(cases > 60);
	assert_int_equal(bad, 0);
}

/* An address is kept in network order: the bytes as written. */
static void test_network_order(void **state)
{
	uint8_t a[4], prefix;
	uint32_t ipv4;

	(void)state;
	assert_int_equal(xen__parse_ipv4_prefix("10.77.0.2/24", a, &prefix), 0);
	memcpy(&ipv4, a, 4);
	assert_memory_equal(&ipv4, "\x0a\x4d\x00\x02", 4);
	assert_int_equal(prefix, 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_network_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
