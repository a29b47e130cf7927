/*
 * The Xen backend's pure pieces: command-line escaping, the checks on
 * what a guest writes into xenstore, and the mapping of a domain's end
 * onto the guest exit statuses (common/guest_exit.h), the backends' watch
 * tokens (see xen_parse.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend/xen_parse.h"
#include "common/guest_exit.h"

int xen_cmdline_build(char *out, size_t outlen, unsigned nargs, char *const *args, char *why,
                      size_t whylen)
{
	size_t pos = 0;
	unsigned i;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (i = 0; i < nargs; i++) {
		const unsigned char *p = (const unsigned char *)args[i];

		if (!*p) {
			snprintf(why, whylen,
			         "args[%u] is empty, which Xen's command line cannot carry", i);
			return -1;
		}
		if (i > 0) {
			if (pos + 1 >= outlen)
				goto too_long;
			out[pos++] = ' ';
		}
		for (; *p; p++) {
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(why, whylen,
				         "args[%u] holds control character 0x%02x, which Xen's "
				         "command line cannot carry",
				         i, *p);
				return -1;
			}
			if (*p == ' ' || *p == '\\') {
				if (pos + 2 >= outlen)
					goto too_long;
				out[pos++] = '\\';
			} else if (pos + 1 >= outlen) {
				goto too_long;
			}
			out[pos++] = (char)*p;
		}
	}
	out[pos] = '\0';
	return 0;
too_long:
	out[0] = '\0';
	snprintf(why, whylen,
	         "the arguments do not fit Xen's command line (at most %zu bytes once escaped)",
	         outlen - 1);
	return -1;
}

/* Strict decimal: digits only, no leading zero, at most max; 0 or -1 with why. */
static int parse_dec(const char *val, size_t len, uint64_t max, uint64_t *out, const char *what,
                     char *why, size_t whylen)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0) {
		snprintf(why, whylen, "%s is empty", what);
		return -1;
	}
	if (len > 20) {
		snprintf(why, whylen, "%s is %zu bytes long, not a number", what, len);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c < '0' || c > '9') {
			snprintf(why, whylen, "%s is not a decimal number (byte %zu is 0x%02x)",
			         what, i, c);
			return -1;
		}
		if (v > (max - (c - '0')) / 10) {
			snprintf(why, whylen, "%s is larger than %llu", what,
			         (unsigned long long)max);
			return -1;
		}
		v = v * 10 + (c - '0');
	}
	if (len > 1 && val[0] == '0') {
		snprintf(why, whylen, "%s has a leading zero", what);
		return -1;
	}
	*out = v;
	return 0;
}

int xen_parse_port(const char *val, size_t len, unsigned *port, char *why, size_t whylen)
{
	uint64_t v;

	if (parse_dec(val, len, XEN_PORT_MAX, &v, "the probe port", why, whylen) < 0)
		return -1;
	if (v == 0) {
		snprintf(why, whylen, "the probe port is 0, which is never a valid event channel");
		return -1;
	}
	*port = (unsigned)v;
	return 0;
}

int xen_parse_u64(const char *val, size_t len, uint64_t *out, char *why, size_t whylen)
{
	uint64_t v;

	if (parse_dec(val, len, INT64_MAX, &v, "the value", why, whylen) < 0)
		return -1;
	if (v == 0) {
		snprintf(why, whylen, "the value is 0");
		return -1;
	}
	*out = v;
	return 0;
}

size_t xen_reason_clean(const char *val, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0;

	if (outlen == 0)
		return 0;
	for (i = 0; i < len && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c == '\n' || c == '\0')
			break;
		if (c == '\r' && i + 1 == len)
			break;
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n;
}

static const char *end_str(enum xen_end end)
{
	switch (end) {
	case XEN_END_POWEROFF:
		return "powered off";
	case XEN_END_REBOOT:
		return "asked to reboot";
	case XEN_END_SUSPEND:
		return "suspended itself";
	case XEN_END_CRASH:
		return "crashed";
	case XEN_END_WATCHDOG:
		return "was stopped by Xen's watchdog";
	case XEN_END_SOFT_RESET:
		return "asked for a soft reset";
	case XEN_END_DESTROYED:
		return "was destroyed outside shoald";
	case XEN_END_UNKNOWN:
		break;
	}
	return "shut down for a reason Xen did not name";
}

int xen_exit_map(enum xen_end end, const char *code, size_t code_len, const char *reason,
                 size_t reason_len, char *text, size_t textlen)
{
	char line[256], bad[160] = "";
	uint64_t c = 0;
	int have_code = 0;

	if (code) {
		if (parse_dec(code, code_len, GUEST_EXIT_GUEST_MAX, &c, "its exit-code", bad,
		              sizeof(bad)) == 0)
			have_code = 1;
	}
	line[0] = '\0';
	if (reason)
		xen_reason_clean(reason, reason_len, line, sizeof(line));

	if (end == XEN_END_POWEROFF || end == XEN_END_CRASH) {
		if (line[0]) {
			int fault = !strncmp(line, "fault", 5);

			snprintf(text, textlen, "the guest %s: %s", fault ? "faulted" : "aborted",
			         line);
			return fault ? GUEST_EXIT_FAULT : GUEST_EXIT_ABORT;
		}
		if (have_code) {
			snprintf(text, textlen, "the guest exited with status %llu",
			         (unsigned long long)c);
			return (int)c;
		}
		if (bad[0]) {
			snprintf(text, textlen, "the domain %s, and %s", end_str(end), bad);
			return -1;
		}
		if (end == XEN_END_POWEROFF) {
			snprintf(text, textlen, "the domain powered off without an exit-code");
			return 0;
		}
		snprintf(text, textlen, "the domain crashed without an exit record");
		return GUEST_EXIT_FAULT;
	}
	snprintf(text, textlen, "the domain %s", end_str(end));
	return -1;
}

int xen_watch_token(const char *token, const char *kinds, unsigned long *id)
{
	unsigned long v;
	char *end;

	if (!*token || !strchr(kinds, *token))
		return 0;
	errno = 0;
	v = strtoul(token + 1, &end, 10);
	if (*end || errno)
		return 0;
	*id = v;
	return *token;
}
