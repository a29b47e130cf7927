/*
 * The corpora of the data-driven unit tests (tests/data/xen-values.txt,
 * shoalctl-values.txt, spec-values.txt):
 * one case a line, "KIND | INPUT | EXPECTED", with '#' comments and blank
 * lines, read and checked by corpus_run().  Include after <cmocka.h>.
 */
#ifndef SHOAL_CORPUS_TESTLIB_H
#define SHOAL_CORPUS_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s without its leading blanks and its trailing blanks and newline (in place). */
static inline char *corpus_trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * Line n of path, split in place into its three trimmed fields: 1, or 0
 * for a comment or a blank line.  A line of another shape fails the test.
 */
static inline int corpus_case(char *line, const char *path, unsigned n, char **kind, char **in,
                              char **want)
{
	char *bar1, *bar2;

	if (line[0] == '#' || line[0] == '\n')
		return 0;
	bar1 = strchr(line, '|');
	bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
	if (!bar1 || !bar2)
		fail_msg("%s:%u: expected KIND | INPUT | EXPECTED", path, n);
	*bar1++ = '\0';
	*bar2++ = '\0';
	*kind = corpus_trim(line);
	*in = corpus_trim(bar1);
	*want = corpus_trim(bar2);
	return 1;
}

/* What the code under test makes of INPUT as a KIND: its answer, into got. */
typedef void (*corpus_eval_fn)(const char *kind, char *in, char *got, size_t len);

/*
 * Every case of $top_srcdir/tests/data/NAME through eval, each answer
 * compared with EXPECTED (decoded in place first by decode_want, when it
 * is not NULL); each mismatch is printed and counted in *bad.  Returns
 * how many cases there were; the caller asserts on both.
 */
static inline unsigned corpus_run(const char *name, corpus_eval_fn eval,
                                  void (*decode_want)(char *), unsigned *bad)
{
	const char *top = getenv("top_srcdir");
	char path[1024], line[4096], got[1200];
	unsigned n = 0, cases = 0;
	FILE *f;

	*bad = 0;
	snprintf(path, sizeof(path), "%s/tests/data/%s", top ? top : ".", name);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *kind, *in, *want;

		if (!corpus_case(line, path, ++n, &kind, &in, &want))
			continue;
		if (decode_want)
			decode_want(want);
		eval(kind, in, got, sizeof(got));
		cases++;
		if (strcmp(got, want) != 0) {
			print_message("%s:%u: %s \"%s\" gave \"%s\", expected \"%s\"\n", path, n,
			              kind, in, got, want);
			(*bad)++;
		}
	}
	fclose(f);
	return cases;
}

#endif
