/*
 * libFuzzer harness of the values that cross xenstore: what shoald's Xen
 * backend reads from a guest's keys (daemon/backend/xen_parse.c: the
 * probe port, its own tags, the exit code and reason, and the command
 * line it writes) and what a guest's front-ends read from the toolstack's
 * (unikernel-rt/platform/xen/front_parse.c).  The first byte picks the
 * value, the rest is the value; a value read with its length gets a heap
 * copy of exactly that many bytes, so that a read past it is caught.
 * Seeds: tests/data/xen-values.txt and tests/data/xen-front-values.txt.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend/xen_parse.h"
#include "unikernel-rt/platform/xen/front_parse.h"

enum kind {
	K_PORT,
	K_U64,
	K_REASON,
	K_EXIT,
	K_CMDLINE,
	K_FRONT_U64,
	K_FRONT_IPV4,
	K_FRONT_IPV4P,
	K_FRONT_MAC,
	K_FRONT_PATH,
	K_FRONT_NAME,
	K_COUNT
};

/* why or text must be a terminated sentence within its buffer. */
static void terminated(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

static void daemon_side(enum kind k, const uint8_t *v, size_t n)
{
	char *val = malloc(n ? n : 1), why[200], out[XEN_CMDLINE_MAX];
	uint64_t u;
	unsigned port;

	if (!val)
		abort();
	memcpy(val, v, n);
	why[0] = '\0';
	switch (k) {
	case K_PORT:
		if (xen_parse_port(val, n, &port, why, sizeof(why)) == 0 &&
		    (port < 1 || port > XEN_PORT_MAX))
			abort();
		terminated(why, sizeof(why));
		break;
	case K_U64:
		if (xen_parse_u64(val, n, &u, why, sizeof(why)) == 0 && (u < 1 || u >> 63))
			abort();
		terminated(why, sizeof(why));
		break;
	case K_REASON: {
		/* Every output size, the smallest ones too. */
		size_t cap = n ? v[0] % 64 + 1 : 1, len = xen_reason_clean(val, n, out, cap);

		if (len >= cap || out[len] || strlen(out) != len)
			abort();
		break;
	}
	case K_EXIT: {
		/* end, the code's length, then the code and the reason. */
		size_t clen = n > 1 ? v[1] : 0;

		if (n < 2)
			break;
		if (clen > n - 2)
			clen = n - 2;
		xen_exit_map((enum xen_end)(v[0] % (XEN_END_DESTROYED + 1)),
		             v[1] == 0xff ? NULL : val + 2, v[1] == 0xff ? 0 : clen, val + 2 + clen,
		             n - 2 - clen, out, sizeof(out));
		terminated(out, sizeof(out));
		break;
	}
	default:
		break;
	}
	free(val);
}

/* Arguments separated by NULs, as a spec holds them. */
static void cmdline(const uint8_t *v, size_t n)
{
	char *buf = malloc(n + 1), *args[64], out[XEN_CMDLINE_MAX], why[200];
	unsigned nargs = 0;
	size_t i, start = 0;

	if (!buf)
		abort();
	memcpy(buf, v, n);
	buf[n] = '\0';
	for (i = 0; i <= n && nargs < 64; i++)
		if (buf[i] == '\0') {
			args[nargs++] = buf + start;
			start = i + 1;
		}
	why[0] = '\0';
	if (xen_cmdline_build(out, sizeof(out), nargs, args, why, sizeof(why)) == 0) {
		if (!memchr(out, '\0', sizeof(out)))
			abort();
	} else {
		terminated(why, sizeof(why));
	}
	free(buf);
}

/* The guest's side: NUL-terminated values as its xenstore client gives them. */
static void front_side(enum kind k, const uint8_t *v, size_t n)
{
	char *s = malloc(n + 1);
	uint8_t a[6], prefix;
	uint64_t u, max = 0;
	size_t i;

	if (!s)
		abort();
	memcpy(s, v, n);
	s[n] = '\0';
	switch (k) {
	case K_FRONT_U64:
		/* The first 8 bytes the limit (big-endian), the rest the value. */
		for (i = 0; i < n && i < 8; i++)
			max = max << 8 | v[i];
		if (xen__parse_u64(s + (n > 8 ? 8 : n), max, &u) == 0 && u > max)
			abort();
		break;
	case K_FRONT_IPV4:
		xen__parse_ipv4(s, a);
		break;
	case K_FRONT_IPV4P:
		if (xen__parse_ipv4_prefix(s, a, &prefix) == 0 && prefix > 32)
			abort();
		break;
	case K_FRONT_MAC:
		xen__parse_mac(s, a);
		break;
	case K_FRONT_PATH:
		xen__parse_path(s);
		break;
	case K_FRONT_NAME:
		xen__parse_name(s);
		break;
	default:
		break;
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum kind k;

	if (size < 1)
		return 0;
	k = (enum kind)(data[0] % K_COUNT);
	if (k == K_CMDLINE)
		cmdline(data + 1, size - 1);
	else if (k >= K_FRONT_U64)
		front_side(k, data + 1, size - 1);
	else
		daemon_side(k, data + 1, size - 1);
	return 0;
}
