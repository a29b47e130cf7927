/*
 * The corpora of the data-driven unit tests (tests/data/xen-values.txt, shoalctl-values.txt):
 * one case a line, "KIND | INPUT | EXPECTED", with '#' comments and blank
 * lines.  Include after <cmocka.h>.
 */
#ifndef SHOAL_CORPUS_TESTLIB_H
#define SHOAL_CORPUS_TESTLIB_H

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

#endif
