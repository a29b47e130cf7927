/*
 * The device front-ends' xenstore values, parsed and checked (see
 * front_parse.h).  Nothing here but the C the host and the guest share.
 */
#include "front_parse.h"

int xen__parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9' || d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* "A.B.C.D" at s into a; where it ends in *end. */
static int ipv4_at(const char *s, const char **end, uint8_t a[4])
{
	unsigned k;

	for (k = 0; k < 4; k++) {
		unsigned v = 0, digits = 0;

		if (k && *s++ != '.')
			return -1;
		for (; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
			v = v * 10 + (unsigned)(*s - '0');
		if (!digits || v > 255 || (*s >= '0' && *s <= '9'))
			return -1;
		a[k] = (uint8_t)v;
	}
	*end = s;
	return 0;
}

int xen__parse_ipv4(const char *s, uint8_t a[4])
{
	const char *end;

	return ipv4_at(s, &end, a) < 0 || *end ? -1 : 0;
}

int xen__parse_ipv4_prefix(const char *s, uint8_t a[4], uint8_t *prefix)
{
	const char *end;
	uint64_t p;

	if (ipv4_at(s, &end, a) < 0 || *end != '/' || xen__parse_u64(end + 1, 32, &p) < 0 || !p)
		return -1;
	*prefix = (uint8_t)p;
	return 0;
}

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

int xen__parse_mac(const char *s, uint8_t mac[6])
{
	unsigned k;

	for (k = 0; k < 6; k++, s += 3) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (lo < 0 || s[2] != (k == 5 ? '\0' : ':'))
			return -1;
		mac[k] = (uint8_t)(hi << 4 | lo);
	}
	return mac[0] & 1 ? -1 : 0;
}

int xen__parse_path(const char *s)
{
	if (s[0] != '/' || !s[1])
		return -1;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '/' || *s == '-' || *s == '_' || *s == '.'))
			return -1;
	return 0;
}

int xen__parse_name(const char *s)
{
	if (!*s)
		return -1;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return -1;
	return 0;
}
