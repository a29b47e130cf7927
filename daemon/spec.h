/*
 * Guest specs: what a deploy asks for, checked field by field.  A pure
 * module (jansson only) shared by the API, the state store and the tests.
 * Every refusal names the field and says what was wrong in one sentence.
 */
#ifndef SHOALD_SPEC_H
#define SHOALD_SPEC_H

#include <stdint.h>

#include <jansson.h>

/* An error for an API answer: HTTP status, stable code, field, sentence. */
struct sd_err {
	int http;
	char code[40];
	char field[64];
	char message[512];
};

/*
 * Copy at most max bytes of s into out (outlen bytes, NUL-terminated),
 * cutting between UTF-8 characters, never inside one.
 */
void sd_cut(char *out, size_t outlen, const char *s, size_t max);
/*
 * Fill e and return -1 (so callers can `return sd_err_set(...)`).  The
 * field and the message are cut to their buffers between characters.
 */
int sd_err_set(struct sd_err *e, int http, const char *code, const char *field, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

enum restart_policy { RESTART_NEVER = 0, RESTART_ON_FAILURE = 1, RESTART_ALWAYS = 2 };
enum latency_class { CLASS_LATENCY = 0, CLASS_BATCH = 1 };

#define GUEST_NAME_MAX   63
#define GUEST_ARGS_MAX   256
#define GUEST_ARG_BYTES  4096
#define GUEST_ARGS_BYTES 60000 /* all arguments together, NULs included */
#define GUEST_CPUS_MAX   256
#define IMAGE_PATH_MAX   1024
#define SPEC_DISKS_MAX   8
#define DISK_NAME_MAX    31 /* as the tender takes it (SHOAL_DEV_NAME_MAX - 1) */
#define SPEC_NICS_MAX    4
#define BRIDGE_NAME_MAX  15 /* IFNAMSIZ - 1 */
#define SPEC_DNS_MAX     8
#define HOSTNAME_MAX     253 /* a DNS name's text, without its final dot */

/* Limits the daemon imposes on specs (from its configuration). */
struct spec_limits {
	unsigned memory_min_mib;
	unsigned memory_max_mib;
	unsigned vcpus_max;
	unsigned host_cpus; /* CPU numbers must be below this */
};

/* A disk the guest opens by name: an image of the store, shared or the guest's own copy. */
struct spec_disk {
	char name[DISK_NAME_MAX + 1];   /* [a-z0-9][a-z0-9_-]{0,30} */
	char image[IMAGE_PATH_MAX + 1]; /* a sha256 in the image store, or an absolute host path */
	int readonly;                   /* 1: the store's file, shared; 0: the guest's own copy */
};

/*
 * A NIC on a bridge of the host's allow-list (checked by the daemon, not
 * here: the list is its configuration).  The address and the MAC are the
 * operator's when given; otherwise the daemon hands them out, once, and
 * keeps them with the guest.
 */
struct spec_nic {
	char name[DISK_NAME_MAX + 1];     /* as a disk's, and no disk has it */
	char bridge[BRIDGE_NAME_MAX + 1]; /* an interface name */
	uint32_t ipv4;                    /* host order; 0: from the bridge's pool */
	unsigned prefix_len;              /* with ipv4; 0: the bridge's */
	uint8_t mac[6];                   /* all zero: the daemon's */
};

struct guest_spec {
	char name[GUEST_NAME_MAX + 1];
	char image[IMAGE_PATH_MAX + 1]; /* a sha256 in the image store, or an absolute host path */
	unsigned memory_mib;
	unsigned vcpus;
	unsigned nargs;
	char **args;
	enum latency_class latency_class;
	unsigned slo_us;
	enum restart_policy restart;
	unsigned ncpus; /* operator pinning; 0: the daemon places the guest */
	int cpus[GUEST_CPUS_MAX];
	unsigned ndisks;
	struct spec_disk
	    *disks; /* ndisks of them (allocated: a guest's memory is mostly its spec) */
	unsigned nnics;
	struct spec_nic nics[SPEC_NICS_MAX];
	/* The guest's network rate limit, each way across its NICs (0: none). */
	int has_net_rate; /* 0: the host's default (net_rate null or absent) */
	uint64_t net_rate_pps, net_rate_bytes;
	/* Names of its own besides NAME.ZONE, host names in lower case without the final dot. */
	unsigned ndns;
	char (*dns)[HOSTNAME_MAX + 1]; /* ndns of them (allocated) */
	/*
	 * On demand: deployed but not started; a DNS query for one of its
	 * names starts it, and idle_stop_s seconds with its NICs' counters
	 * still stop it again.
	 */
	int on_demand;
	unsigned idle_stop_s;
};

/* Is s a valid guest name ([a-z0-9][a-z0-9-]{0,62})? */
int spec_name_ok(const char *s);
/* Is s a valid disk name ([a-z0-9][a-z0-9_-]{0,30}, as the tender takes it)? */
int spec_disk_name_ok(const char *s);
/* Is s an interface name a bridge may have (1 to 15 of A-Z a-z 0-9 . _ -, not . or ..)? */
int spec_ifname_ok(const char *s);
/*
 * Is s a host name: dot-separated labels of 1 to 63 of a-z A-Z 0-9 and
 * '-' (not first or last in a label), at least two of them, at most 253
 * characters in all, one final dot allowed?
 */
int spec_hostname_ok(const char *s);
/* Parse "A.B.C.D" or "A.B.C.D/P" (*prefix_len 0 when there is no /P); 0 or -1. */
int spec_ipv4_parse(const char *s, uint32_t *addr, unsigned *prefix_len);
/* Parse a MAC "xx:xx:xx:xx:xx:xx"; 0 or -1. */
int spec_mac_parse(const char *s, uint8_t mac[6]);
/* Format addr (host order) as dotted quad into buf (16 bytes). */
const char *spec_ipv4_str(uint32_t addr, char buf[16]);
/* Format a MAC into buf (18 bytes). */
const char *spec_mac_str(const uint8_t mac[6], char buf[18]);
/* Is s 64 lowercase hex digits? */
int spec_is_sha256(const char *s);

/*
 * Build a spec from a JSON object.  Unknown fields, wrong types, values
 * out of range and missing required fields (name, image) are refused with
 * a 400 naming the field.  On success *out owns its arguments: release
 * with spec_free().
 */
int spec_from_json(const json_t *j, const struct spec_limits *lim, struct guest_spec *out,
                   struct sd_err *err);
/* The spec as JSON, every field present.  NULL only on allocation failure. */
json_t *spec_to_json(const struct guest_spec *s);
/* Deep copy; 0 or -1 on allocation failure. */
int spec_copy(struct guest_spec *dst, const struct guest_spec *src);
void spec_free(struct guest_spec *s);

const char *restart_policy_str(enum restart_policy p);
const char *latency_class_str(enum latency_class c);

#endif
