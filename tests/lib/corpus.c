/* Corpus fields for the integration tests (corpus.h). */
#include <string.h>

#include "tests/lib/corpus.h"

char *corpus_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* The placeholder of keys that s starts with, or NULL. */
static const struct corpus_key *key_at(const char *s, const struct corpus_key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len = strlen(keys[i].key);

		if (!strncmp(s, keys[i].key, len) && (!keys[i].word || s[len] == ' ' || !s[len]))
			return &keys[i];
	}
	return NULL;
}

void corpus_expand(const char *s, const struct corpus_key *keys, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	while (*s && o + 1 < cap) {
		const struct corpus_key *k = key_at(s, keys, n);

		if (k) {
			size_t len = strlen(k->val);

			if (len > cap - 1 - o)
				len = cap - 1 - o;
			memcpy(out + o, k->val, len);
			o += len;
			s += strlen(k->key);
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
}
