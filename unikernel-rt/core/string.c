/*
 * The few C library string functions the compiler may call on its own
 * (memcpy, memset, ...) and that guests and lwIP use; the guest is built
 * with -fno-builtin, so these are what runs.  memcpy and memset are string
 * instructions that move eight bytes a step, then the rest a byte a step;
 * the others are plain loops.
 */
#include "rt_internal.h"

/*
 * Eight bytes a step, not one: where ring-0 guest code is emulated, each
 * step of a rep string instruction is emulated on its own (a 1460-byte
 * rep movsb took 1.5 ms there), and on hardware rep movsq is as fast.
 */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	size_t words = n >> 3, bytes = n & 7;

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(words) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(bytes) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		d += n;
		s += n;
		while (n--)
			*--d = *--s;
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	size_t words = n >> 3, bytes = n & 7;
	uint64_t v = (uint8_t)c * 0x0101010101010101ull;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(v) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int atoi(const char *s)
{
	unsigned v = 0;
	int neg = 0;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	/* Wraps where C leaves the result undefined: never a trap. */
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (unsigned)(*s - '0');
	return (int)(neg ? 0u - v : v);
}

uint64_t rt_strtou64(const char *s, int *ok)
{
	uint64_t v = 0;
	int any = 0;

	*ok = 1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10) {
			*ok = 0;
			return UINT64_MAX;
		}
		v = v * 10 + d;
		any = 1;
	}
	if (!any)
		*ok = 0;
	return v;
}

int rt_arg_u64(const char *arg, const char *key, uint64_t *v)
{
	size_t n = strlen(key);
	const char *d;
	int ok;

	if (strncmp(arg, key, n) || arg[n] != '=')
		return 0;
	for (d = arg + n + 1; *d >= '0' && *d <= '9'; d++)
		;
	*v = rt_strtou64(arg + n + 1, &ok);
	return ok && !*d ? 1 : -1;
}
