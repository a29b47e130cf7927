/*
 * See spec.h.  Parsing is strict on purpose: a deploy script that sends
 * "memroy_mib" should hear about it, not get the default.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/spec.h"

void sd_cut(char *out, size_t outlen, const char *s, size_t max)
{
	size_t len = strlen(s), n = len < max ? len : max;

	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	/* Cut between characters: what is cut goes into a JSON answer, which must be UTF-8. */
	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

int sd_err_set(struct sd_err *e, int http, const char *code, const char *field, const char *fmt,
               ...)
{
	va_list ap;
	char msg[sizeof(e->message) + 1];

	if (!e)
		return -1;
	e->http = http;
	snprintf(e->code, sizeof(e->code), "%s", code);
	sd_cut(e->field, sizeof(e->field), field ? field : "", sizeof(e->field) - 1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd_cut(e->message, sizeof(e->message), msg, sizeof(e->message) - 1);
	return -1;
}

int spec_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > GUEST_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '-' && i > 0)
			continue;
		return 0;
	}
	return 1;
}

int spec_hostname_ok(const char *s)
{
	size_t i, n = strlen(s), label = 0;
	unsigned labels = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > HOSTNAME_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			labels++;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0)))
			return 0;
		label++;
	}
	return labels >= 2;
}

int spec_ifname_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > BRIDGE_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int spec_ipv4_parse(const char *s, uint32_t *addr, unsigned *prefix_len)
{
	char buf[20];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr a;

	*prefix_len = 0;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*addr = ntohl(a.s_addr);
	if (slash) {
		const char *p = slash + 1;
		unsigned v = 0;

		if (!*p || strlen(p) > 2 || (p[0] == '0' && p[1]))
			return -1;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v < 1 || v > 32)
			return -1;
		*prefix_len = v;
	}
	return 0;
}

int spec_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned i;

	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi, lo;

		if (i < 5 && p[2] != ':')
			return -1;
		hi = p[0] >= '0' && p[0] <= '9'   ? p[0] - '0'
		     : p[0] >= 'a' && p[0] <= 'f' ? p[0] - 'a' + 10
		     : p[0] >= 'A' && p[0] <= 'F' ? p[0] - 'A' + 10
		                                  : -1;
		lo = p[1] >= '0' && p[1] <= '9'   ? p[1] - '0'
		     : p[1] >= 'a' && p[1] <= 'f' ? p[1] - 'a' + 10
		     : p[1] >= 'A' && p[1] <= 'F' ? p[1] - 'A' + 10
		                                  : -1;
		if (hi < 0 || lo < 0)
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

const char *spec_ipv4_str(uint32_t addr, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
	         addr & 255);
	return buf;
}

const char *spec_mac_str(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
	         mac[5]);
	return buf;
}

int spec_disk_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > DISK_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if ((c == '-' || c == '_') && i > 0)
			continue;
		return 0;
	}
	return 1;
}

int spec_is_sha256(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

const char *restart_policy_str(enum restart_policy p)
{
	return p == RESTART_NEVER ? "never" : p == RESTART_ALWAYS ? "always" : "on-failure";
}

const char *latency_class_str(enum latency_class c)
{
	return c == CLASS_BATCH ? "batch" : "latency";
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int want_uint(const json_t *v, const char *field, long long lo, long long hi, unsigned *out,
                     struct sd_err *err)
{
	long long x;

	if (!json_is_integer(v))
		return sd_err_set(err, 400, "invalid_field", field, "%s must be an integer, not %s",
		                  field, json_type_name(v));
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s must be between %lld and %lld, not %lld", field, lo, hi, x);
	*out = (unsigned)x;
	return 0;
}

static int want_enum(const json_t *v, const char *field, const char *const names[], int n, int *out,
                     struct sd_err *err)
{
	int i;

	if (!json_is_string(v))
		return sd_err_set(err, 400, "invalid_field", field, "%s must be a string, not %s",
		                  field, json_type_name(v));
	for (i = 0; i < n; i++)
		if (json_string_length(v) == strlen(names[i]) &&
		    !strcmp(json_string_value(v), names[i])) {
			*out = i;
			return 0;
		}
	if (n == 2)
		return sd_err_set(err, 400, "invalid_field", field, "%s must be \"%s\" or \"%s\"",
		                  field, names[0], names[1]);
	return sd_err_set(err, 400, "invalid_field", field, "%s must be \"%s\", \"%s\" or \"%s\"",
	                  field, names[0], names[1], names[2]);
}

/* An image reference (the spec's or a disk's): a sha256 of the store or an absolute host path. */
static int parse_image_ref(const json_t *v, const char *field, char out[IMAGE_PATH_MAX + 1],
                           struct sd_err *err)
{
	const char *img;
	size_t n;

	if (!json_is_string(v))
		return sd_err_set(err, 400, "invalid_field", field, "%s must be a string, not %s",
		                  field, json_type_name(v));
	img = json_string_value(v);
	n = json_string_length(v);
	if (n != strlen(img))
		return sd_err_set(err, 400, "invalid_field", field, "%s contains a NUL byte",
		                  field);
	if (spec_is_sha256(img)) {
		memcpy(out, img, n + 1);
		return 0;
	}
	if (img[0] != '/')
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s must be the sha256 of an uploaded image (64 hex digits) "
		                  "or an absolute host path",
		                  field);
	if (n > IMAGE_PATH_MAX)
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s: the path is longer than %d bytes", field, IMAGE_PATH_MAX);
	memcpy(out, img, n + 1);
	return 0;
}

/* One item of disks: {"name": .., "image": .., "readonly": true}. */
static int parse_disk(const json_t *v, size_t i, struct guest_spec *s, struct sd_err *err)
{
	struct spec_disk *dk = &s->disks[i];
	char field[80];
	const char *key;
	json_t *m;
	unsigned j;

	snprintf(field, sizeof(field), "disks[%zu]", i);
	if (!json_is_object(v))
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s must be an object ({\"name\": .., \"image\": ..}), not %s",
		                  field, json_type_name(v));
	dk->readonly = 1;
	json_object_foreach((json_t *)v, key, m)
	{
		if (!strcmp(key, "name")) {
			snprintf(field, sizeof(field), "disks[%zu].name", i);
			if (!json_is_string(m))
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s must be a string, not %s", field,
				                  json_type_name(m));
			if (json_string_length(m) != strlen(json_string_value(m)) ||
			    !spec_disk_name_ok(json_string_value(m)))
				return sd_err_set(
				    err, 400, "invalid_field", field,
				    "%s must be 1 to %d characters of a-z, 0-9, '-' and "
				    "'_', starting with a letter or a digit",
				    field, DISK_NAME_MAX);
			snprintf(dk->name, sizeof(dk->name), "%s", json_string_value(m));
		} else if (!strcmp(key, "image")) {
			snprintf(field, sizeof(field), "disks[%zu].image", i);
			if (parse_image_ref(m, field, dk->image, err) < 0)
				return -1;
		} else if (!strcmp(key, "readonly")) {
			snprintf(field, sizeof(field), "disks[%zu].readonly", i);
			if (!json_is_boolean(m))
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s must be true or false, not %s", field,
				                  json_type_name(m));
			dk->readonly = json_is_true(m);
		} else {
			char shown[48];

			sd_cut(shown, sizeof(shown), key, 40);
			snprintf(field, sizeof(field), "disks[%u].%.40s", (unsigned)i, shown);
			return sd_err_set(err, 400, "unknown_field", field,
			                  "unknown field %s (a disk has name, image and readonly)",
			                  field);
		}
	}
	if (!dk->name[0]) {
		snprintf(field, sizeof(field), "disks[%zu].name", i);
		return sd_err_set(err, 400, "missing_field", field, "%s is missing", field);
	}
	if (!dk->image[0]) {
		snprintf(field, sizeof(field), "disks[%zu].image", i);
		return sd_err_set(err, 400, "missing_field", field, "%s is missing", field);
	}
	for (j = 0; j < i; j++)
		if (!strcmp(s->disks[j].name, dk->name)) {
			snprintf(field, sizeof(field), "disks[%zu].name", i);
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s: disks[%u] is named %s already", field, j, dk->name);
		}
	return 0;
}

static int parse_disks(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	size_t i;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "disks",
		                  "disks must be an array of disks, not %s", json_type_name(v));
	if (json_array_size(v) > SPEC_DISKS_MAX)
		return sd_err_set(err, 400, "invalid_field", "disks",
		                  "disks has %zu items, at most %d are allowed", json_array_size(v),
		                  SPEC_DISKS_MAX);
	free(s->disks);
	s->disks = NULL;
	s->ndisks = 0;
	if (!json_array_size(v))
		return 0;
	if (!(s->disks = calloc(json_array_size(v), sizeof(*s->disks))))
		return sd_err_set(err, 500, "internal", "disks", "out of memory");
	for (i = 0; i < json_array_size(v); i++) {
		if (parse_disk(json_array_get(v, i), i, s, err) < 0)
			return -1;
		s->ndisks++;
	}
	return 0;
}

/* A string member of a device: the value, or NULL with err set. */
static const char *want_string(const json_t *m, const char *field, struct sd_err *err)
{
	if (!json_is_string(m)) {
		sd_err_set(err, 400, "invalid_field", field, "%s must be a string, not %s", field,
		           json_type_name(m));
		return NULL;
	}
	if (json_string_length(m) != strlen(json_string_value(m))) {
		sd_err_set(err, 400, "invalid_field", field, "%s contains a NUL byte", field);
		return NULL;
	}
	return json_string_value(m);
}

/* One item of net: {"name": .., "bridge": .., "ipv4": "A.B.C.D/P", "mac": ".."}. */
static int parse_nic(const json_t *v, size_t i, struct guest_spec *s, struct sd_err *err)
{
	struct spec_nic *n = &s->nics[i];
	char field[80];
	const char *key, *str;
	json_t *m;
	unsigned j;

	snprintf(field, sizeof(field), "net[%zu]", i);
	if (!json_is_object(v))
		return sd_err_set(err, 400, "invalid_field", field,
		                  "%s must be an object ({\"name\": .., \"bridge\": ..}), not %s",
		                  field, json_type_name(v));
	json_object_foreach((json_t *)v, key, m)
	{
		if (!strcmp(key, "name")) {
			snprintf(field, sizeof(field), "net[%zu].name", i);
			if (!(str = want_string(m, field, err)))
				return -1;
			if (!spec_disk_name_ok(str))
				return sd_err_set(
				    err, 400, "invalid_field", field,
				    "%s must be 1 to %d characters of a-z, 0-9, '-' and "
				    "'_', starting with a letter or a digit",
				    field, DISK_NAME_MAX);
			snprintf(n->name, sizeof(n->name), "%s", str);
		} else if (!strcmp(key, "bridge")) {
			snprintf(field, sizeof(field), "net[%zu].bridge", i);
			if (!(str = want_string(m, field, err)))
				return -1;
			if (!spec_ifname_ok(str))
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s must be an interface name: 1 to %d of a-z, "
				                  "A-Z, 0-9, '.', '_' and '-'",
				                  field, BRIDGE_NAME_MAX);
			snprintf(n->bridge, sizeof(n->bridge), "%s", str);
		} else if (!strcmp(key, "ipv4")) {
			snprintf(field, sizeof(field), "net[%zu].ipv4", i);
			if (json_is_null(m))
				continue;
			if (!(str = want_string(m, field, err)))
				return -1;
			if (spec_ipv4_parse(str, &n->ipv4, &n->prefix_len) < 0)
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s must be an IPv4 address, A.B.C.D or "
				                  "A.B.C.D/PREFIX (1 to 32)",
				                  field);
			if (n->ipv4 == 0 || n->ipv4 >> 24 == 127 || n->ipv4 >> 28 >= 14)
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s: %.20s is not an address a guest may have "
				                  "(unspecified, loopback, multicast or reserved)",
				                  field, str);
		} else if (!strcmp(key, "mac")) {
			snprintf(field, sizeof(field), "net[%zu].mac", i);
			if (json_is_null(m))
				continue;
			if (!(str = want_string(m, field, err)))
				return -1;
			if (spec_mac_parse(str, n->mac) < 0)
				return sd_err_set(
				    err, 400, "invalid_field", field,
				    "%s must be a MAC address, six hex bytes with colons "
				    "(02:00:00:00:00:01)",
				    field);
			if ((n->mac[0] & 1) || !memcmp(n->mac, "\0\0\0\0\0\0", 6))
				return sd_err_set(
				    err, 400, "invalid_field", field,
				    "%s must be a unicast address, not zero, multicast "
				    "or broadcast",
				    field);
		} else {
			char shown[48];

			sd_cut(shown, sizeof(shown), key, 40);
			snprintf(field, sizeof(field), "net[%u].%.40s", (unsigned)i, shown);
			return sd_err_set(err, 400, "unknown_field", field,
			                  "unknown field %s (a NIC has name, bridge, ipv4 and mac)",
			                  field);
		}
	}
	if (!n->name[0]) {
		snprintf(field, sizeof(field), "net[%zu].name", i);
		return sd_err_set(err, 400, "missing_field", field, "%s is missing", field);
	}
	if (!n->bridge[0]) {
		snprintf(field, sizeof(field), "net[%zu].bridge", i);
		return sd_err_set(err, 400, "missing_field", field, "%s is missing", field);
	}
	snprintf(field, sizeof(field), "net[%zu].name", i);
	for (j = 0; j < i; j++)
		if (!strcmp(s->nics[j].name, n->name))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s: net[%u] is named %s already", field, j, n->name);
	for (j = 0; j < s->ndisks; j++)
		if (!strcmp(s->disks[j].name, n->name))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s: disks[%u] is named %s already (a guest opens its "
			                  "devices by name)",
			                  field, j, n->name);
	snprintf(field, sizeof(field), "net[%zu].mac", i);
	for (j = 0; j < i; j++)
		if (memcmp(n->mac, "\0\0\0\0\0\0", 6) && !memcmp(s->nics[j].mac, n->mac, 6))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s: net[%u] has this MAC already", field, j);
	return 0;
}

static int parse_net(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	size_t i;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "net",
		                  "net must be an array of NICs, not %s", json_type_name(v));
	if (json_array_size(v) > SPEC_NICS_MAX)
		return sd_err_set(err, 400, "invalid_field", "net",
		                  "net has %zu items, at most %d are allowed", json_array_size(v),
		                  SPEC_NICS_MAX);
	for (i = 0; i < json_array_size(v); i++) {
		if (parse_nic(json_array_get(v, i), i, s, err) < 0) {
			s->nnics = 0;
			return -1;
		}
		s->nnics++;
	}
	return 0;
}

/* {"packets_per_s": N, "bytes_per_s": N}, or null for the host's default. */
static int parse_net_rate(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	const char *key;
	json_t *m;

	s->has_net_rate = 0;
	s->net_rate_pps = s->net_rate_bytes = 0;
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return sd_err_set(err, 400, "invalid_field", "net_rate",
		                  "net_rate must be an object ({\"packets_per_s\": .., "
		                  "\"bytes_per_s\": ..}) or null, not %s",
		                  json_type_name(v));
	json_object_foreach((json_t *)v, key, m)
	{
		uint64_t *out;
		char field[64];

		if (!strcmp(key, "packets_per_s"))
			out = &s->net_rate_pps;
		else if (!strcmp(key, "bytes_per_s"))
			out = &s->net_rate_bytes;
		else {
			char shown[48];

			sd_cut(shown, sizeof(shown), key, 40);
			snprintf(field, sizeof(field), "net_rate.%s", shown);
			return sd_err_set(err, 400, "unknown_field", field,
			                  "unknown field %s (net_rate has packets_per_s and "
			                  "bytes_per_s)",
			                  field);
		}
		snprintf(field, sizeof(field), "net_rate.%s", key);
		if (!json_is_integer(m) || json_integer_value(m) < 0 ||
		    json_integer_value(m) > (json_int_t)1 << 40)
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s must be a whole number from 0 (no limit) to 2^40",
			                  field);
		*out = (uint64_t)json_integer_value(m);
	}
	s->has_net_rate = 1;
	return 0;
}

/* ["www.example.org", ...]: host names, kept in lower case without the final dot. */
static int parse_dns(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	size_t i, k;
	unsigned j;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "dns",
		                  "dns must be an array of host names, not %s", json_type_name(v));
	if (json_array_size(v) > SPEC_DNS_MAX)
		return sd_err_set(err, 400, "invalid_field", "dns",
		                  "dns has %zu items, at most %d are allowed", json_array_size(v),
		                  SPEC_DNS_MAX);
	free(s->dns);
	s->dns = NULL;
	s->ndns = 0;
	if (!json_array_size(v))
		return 0;
	if (!(s->dns = calloc(json_array_size(v), sizeof(*s->dns))))
		return sd_err_set(err, 500, "internal", "dns", "out of memory");
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *a = json_array_get(v, i);
		char field[32], *name = s->dns[i];
		const char *t;
		size_t n;

		snprintf(field, sizeof(field), "dns[%zu]", i);
		if (!json_is_string(a))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s must be a host name (a string), not %s", field,
			                  json_type_name(a));
		t = json_string_value(a);
		n = json_string_length(a);
		if (n != strlen(t) || !spec_hostname_ok(t)) {
			char shown[48];

			sd_cut(shown, sizeof(shown), n == strlen(t) ? t : "(it has a NUL byte)",
			       40);
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s must be a host name like www.example.org (labels of "
			                  "a-z, 0-9 and '-', at most %d characters), not \"%s\"",
			                  field, HOSTNAME_MAX, shown);
		}
		for (k = 0; k < n && t[k] != '\0'; k++)
			name[k] = (t[k] >= 'A' && t[k] <= 'Z') ? (char)(t[k] - 'A' + 'a') : t[k];
		if (k > 0 && name[k - 1] == '.')
			k--;
		name[k] = '\0';
		for (j = 0; j < s->ndns; j++)
			if (!strcmp(s->dns[j], name))
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s: dns[%u] is %s already", field, j, name);
		s->ndns++;
	}
	return 0;
}

/* {"idle_stop_s": N}, or null for a guest that runs when deployed. */
static int parse_on_demand(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	const char *key;
	json_t *m;

	s->on_demand = 0;
	s->idle_stop_s = 0;
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return sd_err_set(
		    err, 400, "invalid_field", "on_demand",
		    "on_demand must be an object ({\"idle_stop_s\": N}) or null, not %s",
		    json_type_name(v));
	s->idle_stop_s = 300;
	json_object_foreach((json_t *)v, key, m)
	{
		if (strcmp(key, "idle_stop_s")) {
			char shown[48], field[64];

			sd_cut(shown, sizeof(shown), key, 40);
			snprintf(field, sizeof(field), "on_demand.%s", shown);
			return sd_err_set(err, 400, "unknown_field", field,
			                  "unknown field %s (on_demand has idle_stop_s)", field);
		}
		if (want_uint(m, "on_demand.idle_stop_s", 1, 604800, &s->idle_stop_s, err) < 0)
			return -1;
	}
	s->on_demand = 1;
	return 0;
}

static int parse_args(const json_t *v, struct guest_spec *s, struct sd_err *err)
{
	size_t i, total = 0;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "args",
		                  "args must be an array of strings, not %s", json_type_name(v));
	if (json_array_size(v) > GUEST_ARGS_MAX)
		return sd_err_set(err, 400, "invalid_field", "args",
		                  "args has %zu items, at most %d are allowed", json_array_size(v),
		                  GUEST_ARGS_MAX);
	s->args = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!s->args)
		return sd_err_set(err, 500, "internal", "args", "out of memory");
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *a = json_array_get(v, i);
		char field[32];
		size_t n;

		snprintf(field, sizeof(field), "args[%zu]", i);
		if (!json_is_string(a))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s must be a string, not %s", field, json_type_name(a));
		n = json_string_length(a);
		if (n != strlen(json_string_value(a)))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s contains a NUL byte", field);
		if (n > GUEST_ARG_BYTES)
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s is longer than %d bytes", field, GUEST_ARG_BYTES);
		total += n + 1;
		if (total > GUEST_ARGS_BYTES)
			return sd_err_set(err, 400, "invalid_field", "args",
			                  "args are longer than %d bytes in all", GUEST_ARGS_BYTES);
		s->args[i] = strdup(json_string_value(a));
		if (!s->args[i])
			return sd_err_set(err, 500, "internal", "args", "out of memory");
		s->nargs++;
	}
	return 0;
}

static int parse_cpus(const json_t *v, const struct spec_limits *lim, struct guest_spec *s,
                      struct sd_err *err)
{
	size_t i, j;

	if (!json_is_array(v))
		return sd_err_set(err, 400, "invalid_field", "cpus",
		                  "cpus must be an array of CPU numbers, not %s",
		                  json_type_name(v));
	if (json_array_size(v) > GUEST_CPUS_MAX)
		return sd_err_set(err, 400, "invalid_field", "cpus", "cpus lists more than %d CPUs",
		                  GUEST_CPUS_MAX);
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *c = json_array_get(v, i);
		char field[32];
		unsigned cpu;

		snprintf(field, sizeof(field), "cpus[%zu]", i);
		if (!json_is_integer(c))
			return sd_err_set(err, 400, "invalid_field", field,
			                  "%s must be an integer, not %s", field,
			                  json_type_name(c));
		if (json_integer_value(c) < 0 ||
		    json_integer_value(c) >= (json_int_t)lim->host_cpus)
			return sd_err_set(
			    err, 400, "invalid_field", field,
			    "%s: CPU %lld does not exist (this host has CPUs 0 to %u)", field,
			    (long long)json_integer_value(c), lim->host_cpus - 1);
		cpu = (unsigned)json_integer_value(c);
		for (j = 0; j < s->ncpus; j++)
			if (s->cpus[j] == (int)cpu)
				return sd_err_set(err, 400, "invalid_field", field,
				                  "%s: CPU %u is listed twice", field, cpu);
		s->cpus[s->ncpus++] = (int)cpu;
	}
	return 0;
}

int spec_from_json(const json_t *j, const struct spec_limits *lim, struct guest_spec *s,
                   struct sd_err *err)
{
	static const char *const restarts[] = { "never", "on-failure", "always" };
	static const char *const classes[] = { "latency", "batch" };
	const char *key;
	json_t *v, *net = NULL;
	int rc = -1, e;

	memset(s, 0, sizeof(*s));
	s->memory_mib = 32;
	s->vcpus = 1;
	s->latency_class = CLASS_LATENCY;
	s->slo_us = 1000;
	s->restart = RESTART_ON_FAILURE;
	if (!json_is_object(j)) {
		sd_err_set(err, 400, "invalid_body", "",
		           "the guest spec must be a JSON object, not %s",
		           j ? json_type_name(j) : "nothing");
		goto out;
	}
	json_object_foreach((json_t *)j, key, v)
	{
		if (!strcmp(key, "name")) {
			if (!json_is_string(v)) {
				sd_err_set(err, 400, "invalid_field", "name",
				           "name must be a string, not %s", json_type_name(v));
				goto out;
			}
			if (!spec_name_ok(json_string_value(v)) ||
			    json_string_length(v) != strlen(json_string_value(v))) {
				sd_err_set(err, 400, "invalid_field", "name",
				           "name must be 1 to %d characters of a-z, 0-9 and '-', "
				           "not starting with '-'",
				           GUEST_NAME_MAX);
				goto out;
			}
			snprintf(s->name, sizeof(s->name), "%s", json_string_value(v));
		} else if (!strcmp(key, "image")) {
			if (parse_image_ref(v, "image", s->image, err) < 0)
				goto out;
		} else if (!strcmp(key, "memory_mib")) {
			if (want_uint(v, "memory_mib", lim->memory_min_mib, lim->memory_max_mib,
			              &s->memory_mib, err) < 0)
				goto out;
			if (s->memory_mib % 2) {
				sd_err_set(err, 400, "invalid_field", "memory_mib",
				           "memory_mib must be even (guest memory comes in 2 MiB "
				           "pages), not %u",
				           s->memory_mib);
				goto out;
			}
		} else if (!strcmp(key, "vcpus")) {
			if (want_uint(v, "vcpus", 1, lim->vcpus_max, &s->vcpus, err) < 0)
				goto out;
		} else if (!strcmp(key, "args")) {
			if (parse_args(v, s, err) < 0)
				goto out;
		} else if (!strcmp(key, "latency_class")) {
			if (want_enum(v, "latency_class", classes, 2, &e, err) < 0)
				goto out;
			s->latency_class = (enum latency_class)e;
		} else if (!strcmp(key, "slo_us")) {
			if (want_uint(v, "slo_us", 1, 10000000, &s->slo_us, err) < 0)
				goto out;
		} else if (!strcmp(key, "restart")) {
			if (want_enum(v, "restart", restarts, 3, &e, err) < 0)
				goto out;
			s->restart = (enum restart_policy)e;
		} else if (!strcmp(key, "cpus")) {
			if (parse_cpus(v, lim, s, err) < 0)
				goto out;
		} else if (!strcmp(key, "disks")) {
			if (parse_disks(v, s, err) < 0)
				goto out;
		} else if (!strcmp(key, "net")) {
			net = v;
		} else if (!strcmp(key, "net_rate")) {
			if (parse_net_rate(v, s, err) < 0)
				goto out;
		} else if (!strcmp(key, "dns")) {
			if (parse_dns(v, s, err) < 0)
				goto out;
		} else if (!strcmp(key, "on_demand")) {
			if (parse_on_demand(v, s, err) < 0)
				goto out;
		} else {
			char shown[48];

			sd_cut(shown, sizeof(shown), key, 40);
			sd_err_set(err, 400, "unknown_field", shown,
			           "unknown field \"%s\" (known: name, image, memory_mib, vcpus, "
			           "args, latency_class, slo_us, restart, cpus, disks, net, "
			           "net_rate, dns, on_demand)",
			           shown);
			goto out;
		}
	}
	/* After the disks, whatever the order of the keys: a NIC's name may not be a disk's. */
	if (net && parse_net(net, s, err) < 0)
		goto out;
	if (!s->name[0]) {
		sd_err_set(err, 400, "missing_field", "name", "the spec has no name");
		goto out;
	}
	if (!s->image[0]) {
		sd_err_set(err, 400, "missing_field", "image", "the spec has no image");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		spec_free(s);
	return rc;
}

json_t *spec_to_json(const struct guest_spec *s)
{
	json_t *args = json_array(), *cpus = json_array(), *disks = json_array(),
	       *net = json_array();
	json_t *j;
	unsigned i;

	if (!args || !cpus || !disks || !net) {
		json_decref(args);
		json_decref(cpus);
		json_decref(disks);
		json_decref(net);
		return NULL;
	}
	for (i = 0; i < s->nargs; i++)
		json_array_append_new(args, json_string(s->args[i]));
	for (i = 0; i < s->ncpus; i++)
		json_array_append_new(cpus, json_integer(s->cpus[i]));
	for (i = 0; i < s->ndisks; i++)
		json_array_append_new(disks, json_pack("{s:s, s:s, s:b}", "name", s->disks[i].name,
		                                       "image", s->disks[i].image, "readonly",
		                                       s->disks[i].readonly));
	/* A NIC's ipv4 and mac are null when the daemon hands them out. */
	for (i = 0; i < s->nnics; i++) {
		const struct spec_nic *n = &s->nics[i];
		char a[16], m[18], ip[32];
		json_t *o;

		if (n->prefix_len)
			snprintf(ip, sizeof(ip), "%s/%u", spec_ipv4_str(n->ipv4, a), n->prefix_len);
		else
			snprintf(ip, sizeof(ip), "%s", spec_ipv4_str(n->ipv4, a));
		o = json_pack("{s:s, s:s}", "name", n->name, "bridge", n->bridge);
		if (!o)
			continue;
		json_object_set_new(o, "ipv4", n->ipv4 ? json_string(ip) : json_null());
		json_object_set_new(o, "mac",
		                    memcmp(n->mac, "\0\0\0\0\0\0", 6)
		                        ? json_string(spec_mac_str(n->mac, m))
		                        : json_null());
		json_array_append_new(net, o);
	}
	j = json_pack("{s:s, s:s, s:I, s:I, s:o, s:s, s:I, s:s, s:o, s:o, s:o}", "name", s->name,
	              "image", s->image, "memory_mib", (json_int_t)s->memory_mib, "vcpus",
	              (json_int_t)s->vcpus, "args", args, "latency_class",
	              latency_class_str(s->latency_class), "slo_us", (json_int_t)s->slo_us,
	              "restart", restart_policy_str(s->restart), "cpus", cpus, "disks", disks,
	              "net", net);
	if (j) {
		json_t *dns = json_array();

		for (i = 0; dns && i < s->ndns; i++)
			json_array_append_new(dns, json_string(s->dns[i]));
		json_object_set_new(j, "dns", dns ? dns : json_null());
		json_object_set_new(
		    j, "on_demand",
		    s->on_demand ? json_pack("{s:I}", "idle_stop_s", (json_int_t)s->idle_stop_s)
		                 : json_null());
	}
	if (j)
		json_object_set_new(j, "net_rate",
		                    s->has_net_rate
		                        ? json_pack("{s:I, s:I}", "packets_per_s",
		                                    (json_int_t)s->net_rate_pps, "bytes_per_s",
		                                    (json_int_t)s->net_rate_bytes)
		                        : json_null());
	return j;
}

int spec_copy(struct guest_spec *dst, const struct guest_spec *src)
{
	unsigned i;

	*dst = *src;
	dst->args = NULL;
	dst->nargs = 0;
	dst->disks = NULL;
	dst->dns = NULL;
	if (src->ndisks) {
		dst->disks = malloc(src->ndisks * sizeof(*src->disks));
		if (!dst->disks) {
			spec_free(dst);
			return -1;
		}
		memcpy(dst->disks, src->disks, src->ndisks * sizeof(*src->disks));
	}
	if (src->ndns) {
		dst->dns = malloc(src->ndns * sizeof(*src->dns));
		if (!dst->dns) {
			spec_free(dst);
			return -1;
		}
		memcpy(dst->dns, src->dns, src->ndns * sizeof(*src->dns));
	}
	if (!src->nargs)
		return 0;
	dst->args = calloc(src->nargs + 1, sizeof(char *));
	if (!dst->args) {
		spec_free(dst);
		return -1;
	}
	for (i = 0; i < src->nargs; i++) {
		dst->args[i] = strdup(src->args[i]);
		if (!dst->args[i]) {
			spec_free(dst);
			return -1;
		}
		dst->nargs++;
	}
	return 0;
}

void spec_free(struct guest_spec *s)
{
	unsigned i;

	for (i = 0; i < s->nargs; i++)
		free(s->args[i]);
	free(s->args);
	s->args = NULL;
	s->nargs = 0;
	free(s->disks);
	s->disks = NULL;
	s->ndisks = 0;
	free(s->dns);
	s->dns = NULL;
	s->ndns = 0;
}
