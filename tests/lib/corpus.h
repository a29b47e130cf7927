/*
 * What the data-driven integration tests (test_api_input, test_auth) do
 * to each field of their corpus lines: trim it, and put the run's own
 * values in for its placeholders.
 */
#ifndef SHOAL_TEST_CORPUS_H
#define SHOAL_TEST_CORPUS_H

#include <stddef.h>

/* s without its leading blanks and tabs and its trailing ones and newline (in place). */
char *corpus_trim(char *s);

/*
 * A placeholder and what stands for it.  A word placeholder (word 1)
 * counts only where a blank or the end follows it ("TLS=" in "TLS= TOK=").
 */
struct corpus_key {
	const char *key;
	const char *val;
	int word;
};

/* s into out (cap bytes, always terminated), each placeholder of keys[0, n) replaced. */
void corpus_expand(const char *s, const struct corpus_key *keys, size_t n, char *out, size_t cap);

#endif
