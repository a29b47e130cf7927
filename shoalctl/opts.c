/*
 * What shoalctl says when the command line or a file it was given is
 * wrong, and the checks of values it can make itself (numbers, sizes,
 * CPU lists, guest names, disks) before anything is sent.  Kept apart from
 * main() so that the unit tests can feed them their corpus.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoalctl/ctl.h"

int ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("shoalctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -code;
}

int ctl_usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shoalctl: %s%s", cmd ? cmd->name : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see shoalctl %s%s--help)\n", cmd ? cmd->name : "", cmd ? " " : "");
	return -CTL_EXIT_USAGE;
}

int ctl_input_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shoalctl: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -CTL_EXIT_USAGE;
}

int ctl_parse_uint(const struct ctl_cmd *cmd, const char *opt, const char *s,
                   unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || *out > max)
		return ctl_usage_error(cmd, "%s must be a whole number from 0 to %llu, not \"%s\"",
		                       opt, max, s);
	return 0;
}

int ctl_parse_seconds(const struct ctl_cmd *cmd, const char *opt, const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(*out) || *out < 0 || *out > 86400 * 365)
		return ctl_usage_error(
		    cmd, "%s must be a number of seconds (like 1 or 0.5), not \"%s\"", opt, s);
	return 0;
}

int ctl_parse_size(const struct ctl_cmd *cmd, const char *opt, const char *s,
                   unsigned long long unit, unsigned long long max, unsigned long long *out)
{
	unsigned long long x, scale = unit;
	char *end;

	errno = 0;
	x = strtoull(s, &end, 10);
	switch (*end) {
	case 'k':
	case 'K':
		scale = 1ull << 10;
		break;
	case 'm':
	case 'M':
		scale = 1ull << 20;
		break;
	case 'g':
	case 'G':
		scale = 1ull << 30;
		break;
	default:
		break;
	}
	if (*end && strchr("kKmMgG", *end)) {
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (s[0] < '0' || s[0] > '9' || *end || errno || x > (ULLONG_MAX >> 31) ||
	    x * scale % unit || x * scale / unit > max)
		return ctl_usage_error(cmd, "%s must be a whole number up to %llu%s, not \"%s\"",
		                       opt, max,
		                       unit == 1 ? " (bytes; K, M and G are understood)"
		                                 : " (MiB; M and G are understood)",
		                       s);
	*out = x * scale / unit;
	return 0;
}

int ctl_check_name(const struct ctl_cmd *cmd, const char *name)
{
	size_t i, n = strlen(name);

	/* The API's pattern for a name in a path: ^[a-z0-9][a-z0-9-]{0,62}$ */
	for (i = 0; i < n && n <= 63; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      (name[i] == '-' && i > 0)))
			break;
	if (n == 0 || n > 63 || i < n)
		return ctl_usage_error(
		    cmd,
		    "\"%s\" is not a guest name (1 to 63 characters of a-z, 0-9 and '-', "
		    "not starting with '-')",
		    name);
	return 0;
}

int ctl_parse_cpus(const struct ctl_cmd *cmd, const char *s, json_t *cpus)
{
	const char *p = s;

	while (*p) {
		unsigned long lo, hi;
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		lo = hi = strtoul(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtoul(p, &end, 10);
		}
		if (lo > hi || hi > 65535)
			goto bad;
		for (; lo <= hi; lo++)
			json_array_append_new(cpus, json_integer((json_int_t)lo));
		p = end;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	return 0;
bad:
	return ctl_usage_error(cmd, "--cpus takes CPU numbers and ranges like 0,2-3, not \"%s\"",
	                       s);
}

int ctl_parse_disk(const struct ctl_cmd *cmd, const char *s, json_t *disks)
{
	const char *eq = strchr(s, '=');
	size_t n = strlen(s);
	int readonly = 1;
	char *image;
	json_t *d;

	if (!eq || eq == s || !eq[1])
		return ctl_usage_error(cmd,
		                       "--disk takes NAME=IMAGE, NAME=IMAGE:rw or NAME=IMAGE:ro, "
		                       "not \"%s\"",
		                       s);
	if (n > 3 && (!strcmp(s + n - 3, ":rw") || !strcmp(s + n - 3, ":ro"))) {
		readonly = s[n - 1] == 'o';
		n -= 3;
	}
	if (s + n <= eq + 1)
		return ctl_usage_error(cmd, "--disk %s: no IMAGE after '='", s);
	image = strndup(eq + 1, (size_t)(s + n - eq - 1));
	d = json_pack("{s:s%, s:s, s:b}", "name", s, (size_t)(eq - s), "image", image ? image : "",
	              "readonly", readonly);
	free(image);
	if (!d)
		return ctl_usage_error(cmd, "--disk %s: the name and image must be UTF-8 text", s);
	json_array_append_new(disks, d);
	return 0;
}

/* A.B.C.D/P, each part a decimal number in range. */
static int is_ipv4_prefix(const char *s)
{
	unsigned long v;
	char *end;
	int i;

	for (i = 0; i < 5; i++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = strtoul(s, &end, 10);
		if (end - s > 3 || v > (i < 4 ? 255u : 32u))
			return 0;
		s = end;
		if (i < 4 && *s++ != (i < 3 ? '.' : '/'))
			return 0;
	}
	return *s == '\0';
}

/* XX:XX:XX:XX:XX:XX in hex. */
static int is_mac(const char *s)
{
	int i;

	for (i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return 0;
	return s[17] == '\0';
}

int ctl_parse_net(const struct ctl_cmd *cmd, const char *s, json_t *nets)
{
	const char *eq = strchr(s, '='), *p, *comma;
	char *copy = NULL, *key, *val;
	json_t *n = NULL;
	int rc = 0;

	if (!eq || eq == s || !eq[1] || eq[1] == ',')
		return ctl_usage_error(
		    cmd,
		    "--net takes NAME=BRIDGE[,ipv4=A.B.C.D/P][,mac=XX:XX:XX:XX:XX:XX], "
		    "not \"%s\"",
		    s);
	comma = strchr(eq, ',');
	n = json_object();
	if (!n || json_object_set_new(n, "name", json_stringn(s, (size_t)(eq - s))) < 0 ||
	    json_object_set_new(
	        n, "bridge",
	        json_stringn(eq + 1, comma ? (size_t)(comma - eq - 1) : strlen(eq + 1))) < 0) {
		rc = ctl_usage_error(cmd, "--net %s: the name and bridge must be UTF-8 text", s);
		goto out;
	}
	for (p = comma; p && rc == 0; p = comma) {
		comma = strchr(p + 1, ',');
		free(copy);
		copy = strndup(p + 1, comma ? (size_t)(comma - p - 1) : strlen(p + 1));
		if (!copy) {
			rc = ctl_fail(CTL_EXIT_FAILED, "out of memory");
			break;
		}
		key = copy;
		val = strchr(copy, '=');
		if (val)
			*val++ = '\0';
		if (!val || (strcmp(key, "ipv4") && strcmp(key, "mac")))
			rc = ctl_usage_error(cmd,
			                     "--net %s: \"%s\" is not ipv4=A.B.C.D/P or "
			                     "mac=XX:XX:XX:XX:XX:XX",
			                     s, p + 1);
		else if (json_object_get(n, key))
			rc = ctl_usage_error(cmd, "--net %s: %s is given twice", s, key);
		else if (!strcmp(key, "ipv4") && !is_ipv4_prefix(val))
			rc = ctl_usage_error(cmd,
			                     "--net %s: ipv4 must be an address and prefix like "
			                     "10.0.0.5/24, not \"%s\"",
			                     s, val);
		else if (!strcmp(key, "mac") && !is_mac(val))
			rc = ctl_usage_error(cmd,
			                     "--net %s: mac must be six hex pairs like "
			                     "02:00:00:00:00:05, not \"%s\"",
			                     s, val);
		else
			json_object_set_new(n, key, json_string(val));
	}
	if (rc == 0) {
		json_array_append(nets, n);
	}
out:
	free(copy);
	json_decref(n);
	return rc;
}
