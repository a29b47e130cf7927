/*
 * shoald's configuration: one table of options, each settable in the
 * config file ("name = value", # comments) and as --name=value on the
 * command line, which wins.  Values are checked as they are read; a bad
 * one names the option and where it came from.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

enum opt_type { T_STR, T_UINT, T_SIZE, T_U64, T_LEVEL, T_BOOL, T_BRIDGE, T_UIDS };

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t size;     /* T_STR: buffer size */
	uint64_t lo, hi; /* numbers */
	const char *help;
};

#define OFF(f) offsetof(struct shoald_config, f)
#define STR(f) T_STR, OFF(f), sizeof(((struct shoald_config *)0)->f), 0, 0

static const struct opt opts[] = {
	{ "state-dir", STR(state_dir),
	  "desired state, images and consoles (default /var/lib/shoal)" },
	{ "run-dir", STR(run_dir), "API socket and tender sockets (default /run/shoal)" },
	{ "socket", STR(socket_path), "API socket (default RUN-DIR/shoald.sock)" },
	{ "socket-group", STR(socket_group),
	  "group that owns the API socket and whose members may use it (default: root only)" },
	{ "listen-tcp", STR(listen_tcp),
	  "also serve the API on TCP with TLS and tokens: ADDRESS:PORT, [IPv6]:PORT (default: "
	  "none)" },
	{ "tls-cert", STR(tls_cert),
	  "listen-tcp's certificate (chain), PEM; read again on SIGHUP" },
	{ "tls-key", STR(tls_key),
	  "listen-tcp's private key, PEM, unencrypted, readable only by root; read again on "
	  "SIGHUP" },
	{ "token-file", STR(token_file),
	  "listen-tcp's bearer tokens, one a line, readable only by root; read again on SIGHUP" },
	{ "backend", STR(backend),
	  "hypervisor backend: kvm, proc, xen, xen-pvh or libvirt, as built (default kvm)" },
	{ "libvirt-uri", STR(libvirt_uri),
	  "the libvirt backend's connection: libvirt's Xen driver, or test:///default, its "
	  "in-process test driver whose domains run nothing (default xen:///system)" },
	{ "xen-create", STR(xen_create),
	  "how the Xen backend makes a domain: direct (libxenctrl and libxenguest, one xenstore "
	  "transaction; PV only) or libxl (default: direct for xen, libxl for xen-pvh)" },
	{ "vmm", STR(vmm_path), "the KVM tender, shoal-vmm (default " PKGLIBEXECDIR "/shoal-vmm)" },
	{ "proc-tender", STR(proc_path),
	  "the proc backend's tender, shoal-proc (default " PKGLIBEXECDIR "/shoal-proc)" },
	{ "ui-dir", STR(ui_dir),
	  "the web dashboard's files, served under /ui/; empty for none (default " PKGDATADIR
	  "/ui)" },
	{ "state-backups", T_UINT, OFF(state_backups), 0, 0, 100,
	  "backups of the state store kept beside it (shoald.db.1 the newest), one made at each "
	  "start once the store is checked and every state-backup-interval-s; 0: none (default "
	  "3)" },
	{ "state-backup-interval-s", T_UINT, OFF(state_backup_interval_s), 0, 1, 604800,
	  "how often the state store is backed up while shoald runs (default 3600)" },
	{ "log-level", T_LEVEL, OFF(log_level), 0, 0, 0, "warn, info or debug (default info)" },
	{ "tender-uid-range", T_UIDS, 0, 0, 0, 0,
	  "the uids (and gids, the same numbers) tenders run under, one of its own each: "
	  "FIRST-LAST (default " TENDER_UIDS_DEFAULT ")" },
	{ "pool-size", T_UINT, OFF(pool_size), 0, 0, 256, "warm tenders kept ready (default 4)" },
	{ "pool-mem-mib", T_UINT, OFF(pool_mem_mib), 0, 2, 4096,
	  "memory of warm tenders (default 64)" },
	{ "max-guests", T_UINT, OFF(max_guests), 0, 1, 100000,
	  "most guests this host takes (default 1024)" },
	{ "max-memory-mib", T_UINT, OFF(max_memory_mib), 0, 0, UINT_MAX,
	  "memory guests may have in all (default: host memory minus reserve-mib)" },
	{ "reserve-mib", T_UINT, OFF(reserve_mib), 0, 0, UINT_MAX,
	  "memory kept for the host (default 1024)" },
	{ "guest-mem-max-mib", T_UINT, OFF(guest_mem_max_mib), 0, 2, 4096,
	  "most memory one guest may have (default 1024)" },
	{ "max-body-bytes", T_SIZE, OFF(max_body_bytes), 0, 1024, 1u << 30,
	  "largest JSON request body (default 65536)" },
	{ "max-image-bytes", T_U64, OFF(max_image_bytes), 0, 4096, 1ull << 32,
	  "largest image upload (default 64 MiB)" },
	{ "restart-backoff-ms", T_UINT, OFF(restart_backoff_ms), 0, 1, 3600000,
	  "first restart delay (default 200)" },
	{ "restart-backoff-max-ms", T_UINT, OFF(restart_backoff_max_ms), 0, 1, 86400000,
	  "longest restart delay (default 30000)" },
	{ "restart-stable-s", T_UINT, OFF(restart_stable_s), 0, 1, 86400,
	  "a run this long resets the back-off (default 60)" },
	{ "console-ring-bytes", T_SIZE, OFF(console_ring_bytes), 0, 1024, 1u << 30,
	  "console kept in memory per guest (default 65536)" },
	{ "console-file-bytes", T_U64, OFF(console_file_bytes), 0, 4096, 1ull << 40,
	  "console file limit per guest (default 1 MiB)" },
	{ "console-rate-bytes", T_UINT, OFF(console_rate_bytes), 0, 64, UINT_MAX,
	  "console bytes/s a guest may write (default 65536)" },
	{ "console-burst-bytes", T_UINT, OFF(console_burst_bytes), 0, 64, UINT_MAX,
	  "console burst allowance (default 262144)" },
	{ "probe-hz", T_UINT, OFF(probe_hz), 0, 0, 100,
	  "latency probes per guest per second, 0 for none (default 10)" },
	{ "probe-hz-min", T_UINT, OFF(probe_hz_min), 0, 1, 100,
	  "probes per second of a guest where nothing happens: well under its SLO, answering, not "
	  "just started or moved, nothing new on its CPU; at most probe-hz, which it is probed at "
	  "for 10 s once something happens (default 2; probe-hz-min = probe-hz: a fixed rate)" },
	{ "probe-timeout-ms", T_UINT, OFF(probe_timeout_ms), 0, 1, 60000,
	  "a probe not answered this soon is missed (default 500)" },
	{ "hung-misses", T_UINT, OFF(hung_misses), 0, 1, 100000,
	  "missed probes in a row that make a guest hung (default 6)" },
	{ "storm-rate", T_UINT, OFF(storm_rate), 0, 0, 1000000,
	  "unsolicited probe-port notifications a second that make a guest's events a storm, "
	  "which shoald stops listening to for a while; 0: no check (default 200)" },
	{ "storm-restart-s", T_UINT, OFF(storm_restart_s), 0, 0, 86400,
	  "a storm that goes on this long stops the guest, and its restart policy decides; 0: "
	  "never (default 30)" },
	{ "placement", T_BOOL, OFF(placement), 0, 0, 1,
	  "latency-driven placement; off leaves guests wherever the host's scheduler puts them "
	  "(default on)" },
	{ "placement-period-ms", T_UINT, OFF(placement_period_ms), 0, 100, 60000,
	  "the re-placement control period; a latency guest over its SLO for 3 periods in a row "
	  "is acted on (default 500)" },
	{ "placement-window-s", T_UINT, OFF(placement_window_s), 0, 1, 60,
	  "the probe window placement judges a guest's p99 over; the cooldown after a move is "
	  "one second longer, so the window shows the move's effect first (default 5)" },
	{ "placement-moves-max", T_UINT, OFF(placement_moves_max), 0, 1, 1000,
	  "most moves in one period (default 16)" },
	{ "reserve-cpus", STR(reserve_cpus),
	  "CPUs kept for the host, no guest runs there: a list like 0,2-3 (default none)" },
	{ "latency-vcpus-per-cpu", T_UINT, OFF(latency_vcpus_per_cpu), 0, 1, 100000,
	  "most latency-class vCPUs on one CPU (default 128)" },
	{ "latency-cores-percent", T_UINT, OFF(latency_cores_percent), 0, 0, 100,
	  "share of the guests' cores that start as latency CPUs; the rest are batch CPUs (default "
	  "75)" },
	{ "batch-cores-min", T_UINT, OFF(batch_cores_min), 0, 0, 4096,
	  "cores always kept for batch guests; 0 on a host with none, so latency guests may have "
	  "them all (default 1)" },
	{ "batch-spill", T_BOOL, OFF(batch_spill), 0, 0, 1,
	  "batch guests run at the idle class policy and may use the latency CPUs' idle time, "
	  "giving it up the moment a latency guest wakes (KVM; Xen keeps batch guests in their "
	  "cpupool) (default off)" },
	{ "batch-vcpus-per-cpu", T_UINT, OFF(batch_vcpus_per_cpu), 0, 1, 100000,
	  "most batch-class vCPUs on one CPU (default 256)" },
	{ "bridge", T_BRIDGE, 0, 0, 0, 0,
	  "a bridge guests' NICs may be on, with its address pool: NAME [A.B.C.D/P] "
	  "[gateway=A.B.C.D|none]; once a bridge (the command line's replace the file's)" },
	{ "net-rate-pps", T_U64, OFF(net_rate_pps), 0, 0, 1ull << 40,
	  "a guest's network packets a second each way, unless its spec says (default 0: no "
	  "limit)" },
	{ "net-rate-bytes", T_U64, OFF(net_rate_bytes), 0, 0, 1ull << 40,
	  "a guest's network bytes a second each way, unless its spec says (default 0: no "
	  "limit)" },
	{ "dns-zone", STR(dns_zone),
	  "the DNS zone guests are named in, NAME.ZONE, served through PowerDNS's remote backend "
	  "on dns-socket (default: none, no DNS)" },
	{ "dns-socket", STR(dns_socket),
	  "the socket PowerDNS's remote backend connects to (default RUN-DIR/dns.sock)" },
	{ "dns-socket-group", STR(dns_socket_group),
	  "group that owns dns-socket, PowerDNS's (default: root only)" },
	{ "dns-ttl", T_UINT, OFF(dns_ttl), 0, 0, 86400,
	  "the TTL of the names' records, and the SOA's negative TTL (default 5)" },
	{ "dns-wake-timeout-ms", T_UINT, OFF(dns_wake_timeout_ms), 0, 10, 60000,
	  "how long a DNS query for an on-demand guest waits for it to start before SERVFAIL; "
	  "keep it below PowerDNS's remote backend timeout (default 1500)" },
	{ "dns-ns", STR(dns_ns), "the zone's name server, its NS and SOA (default ns.ZONE)" },
	{ "dns-hostmaster", STR(dns_hostmaster),
	  "the zone's SOA mailbox, as a name (default hostmaster.ZONE)" },
	{ "watchdog", T_BOOL, OFF(watchdog), 0, 0, 1,
	  "ping systemd's watchdog when asked to (default yes)" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void defaults(struct shoald_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->config_file, sizeof(c->config_file), "%s", SYSCONFDIR "/shoal/shoald.conf");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/shoal");
	snprintf(c->run_dir, sizeof(c->run_dir), "/run/shoal");
	snprintf(c->backend, sizeof(c->backend), "kvm");
	snprintf(c->libvirt_uri, sizeof(c->libvirt_uri), "xen:///system");
	snprintf(c->vmm_path, sizeof(c->vmm_path), "%s", PKGLIBEXECDIR "/shoal-vmm");
	snprintf(c->proc_path, sizeof(c->proc_path), "%s", PKGLIBEXECDIR "/shoal-proc");
	snprintf(c->ui_dir, sizeof(c->ui_dir), "%s", PKGDATADIR "/ui");
	c->log_level = LOG_LEVEL_INFO;
	c->pool_size = 4;
	tender_uids_parse(TENDER_UIDS_DEFAULT, &c->tender_uid_first, &c->tender_uid_last, NULL, 0);
	c->pool_mem_mib = 64;
	c->max_guests = 1024;
	c->reserve_mib = 1024;
	c->guest_mem_max_mib = 1024;
	c->max_body_bytes = 65536;
	c->max_image_bytes = 64ull << 20;
	c->restart_backoff_ms = 200;
	c->restart_backoff_max_ms = 30000;
	c->restart_stable_s = 60;
	c->console_ring_bytes = 65536;
	c->console_file_bytes = 1u << 20;
	c->console_rate_bytes = 65536;
	c->console_burst_bytes = 262144;
	c->watchdog = 1;
	c->state_backups = 3;
	c->state_backup_interval_s = 3600;
	c->probe_hz = 10;
	c->probe_hz_min = 2;
	c->probe_timeout_ms = 500;
	c->hung_misses = 6;
	c->storm_rate = 200;
	c->storm_restart_s = 30;
	c->placement = 1;
	c->placement_period_ms = 500;
	c->placement_window_s = 5;
	c->placement_moves_max = 16;
	c->latency_vcpus_per_cpu = 128;
	c->batch_vcpus_per_cpu = 256;
	c->latency_cores_percent = 75;
	c->batch_cores_min = 1;
	c->batch_spill = 0;
	c->dns_ttl = 5;
	c->dns_wake_timeout_ms = 1500;
}

/* A DNS setting's host name, in lower case without the final dot; -1 with err. */
static int dns_name_setting(char *v, const char *what, char *err, size_t errlen)
{
	size_t i, n = strlen(v);

	if (!spec_hostname_ok(v)) {
		snprintf(err, errlen,
		         "%s must be a host name like guests.example.org (labels of a-z, 0-9 and "
		         "'-', at least two), not \"%.80s\"",
		         what, v);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (v[i] >= 'A' && v[i] <= 'Z')
			v[i] = (char)(v[i] - 'A' + 'a');
	if (n && v[n - 1] == '.')
		v[n - 1] = '\0';
	return 0;
}

int tender_uids_parse(const char *v, uint32_t *first, uint32_t *last, char *err, size_t errlen)
{
	const char *given = v;
	unsigned long long a, b;
	char *end;

	errno = 0;
	a = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-' || *end != '-')
		goto bad;
	v = end + 1;
	b = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-' || *end)
		goto bad;
	/*
	 * 0 is root; 65534 is nobody, whom other programs share; 2^32-1 is
	 * (uid_t)-1, which set*id calls read as "leave it".
	 */
	if (a == 0 || b < a || b >= UINT32_MAX) {
		snprintf(err, errlen, "want FIRST-LAST with 0 < FIRST <= LAST < %u, not %llu-%llu",
		         UINT32_MAX, a, b);
		return -1;
	}
	if (a <= 65534 && b >= 65534) {
		snprintf(err, errlen,
		         "%llu-%llu holds 65534 (nobody, shared with other programs): a tender's "
		         "uid must be its own",
		         a, b);
		return -1;
	}
	if (b - a + 1 > TENDER_UIDS_MAX) {
		snprintf(err, errlen, "%llu-%llu holds %llu uids, more than the %u tenders may use",
		         a, b, b - a + 1, TENDER_UIDS_MAX);
		return -1;
	}
	*first = (uint32_t)a;
	*last = (uint32_t)b;
	return 0;
bad:
	snprintf(err, errlen, "want FIRST-LAST, two whole numbers, not \"%.80s\"", given);
	return -1;
}

static const struct opt *find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (!strcmp(opts[i].name, name))
			return &opts[i];
	return NULL;
}

static int set(struct shoald_config *c, const struct opt *o, const char *v, const char *where,
               char *err, size_t errlen)
{
	char *base = (char *)c + o->off, *end;
	unsigned long long x;
	int level;

	switch (o->type) {
	case T_BRIDGE: {
		struct bridge_conf b;
		char why[300];
		unsigned i;

		if (!strncmp(where, "--", 2) && !c->bridges_from_cli) {
			c->bridges_from_cli = 1;
			c->nbridges = 0;
		}
		if (bridge_conf_parse(v, &b, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: bridge: %s", where, why);
			return -1;
		}
		for (i = 0; i < c->nbridges; i++)
			if (!strcmp(c->bridges[i].name, b.name)) {
				snprintf(err, errlen, "%s: bridge %s is listed twice", where,
				         b.name);
				return -1;
			}
		if (c->nbridges == BRIDGES_MAX) {
			snprintf(err, errlen, "%s: more than %d bridges", where, BRIDGES_MAX);
			return -1;
		}
		c->bridges[c->nbridges++] = b;
		return 0;
	}
	case T_UIDS: {
		char why[300];

		if (tender_uids_parse(v, &c->tender_uid_first, &c->tender_uid_last, why,
		                      sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s: %s", where, o->name, why);
			return -1;
		}
		return 0;
	}
	case T_STR:
		if (strlen(v) >= o->size) {
			snprintf(err, errlen, "%s: %s is longer than %zu characters", where,
			         o->name, o->size - 1);
			return -1;
		}
		strcpy(base, v);
		return 0;
	case T_LEVEL:
		level = log_level_parse(v);
		if (level < 0) {
			snprintf(err, errlen, "%s: %s must be warn, info or debug, not \"%s\"",
			         where, o->name, v);
			return -1;
		}
		*(int *)base = level;
		return 0;
	case T_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
			*(unsigned *)base = 1;
		else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") ||
		         !strcmp(v, "off"))
			*(unsigned *)base = 0;
		else {
			snprintf(err, errlen, "%s: %s must be yes or no, not \"%s\"", where,
			         o->name, v);
			return -1;
		}
		return 0;
	default:
		errno = 0;
		x = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-' || x < o->lo || x > o->hi) {
			snprintf(err, errlen,
			         "%s: %s must be a whole number from %llu to %llu, not \"%s\"",
			         where, o->name, (unsigned long long)o->lo,
			         (unsigned long long)o->hi, v);
			return -1;
		}
		if (o->type == T_UINT)
			*(unsigned *)base = (unsigned)x;
		else if (o->type == T_SIZE)
			*(size_t *)base = (size_t)x;
		else
			*(uint64_t *)base = x;
		return 0;
	}
}

int bridge_conf_parse(const char *v, struct bridge_conf *b, char *err, size_t errlen)
{
	char buf[256], *tok, *save = NULL;
	int gateway_given = 0;
	unsigned n = 0;

	memset(b, 0, sizeof(*b));
	if (strlen(v) >= sizeof(buf)) {
		snprintf(err, errlen, "the value is longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), n++) {
		uint32_t a;
		unsigned p;

		if (n == 0) {
			if (!spec_ifname_ok(tok)) {
				snprintf(err, errlen,
				         "\"%.40s\" is not an interface name (1 to 15 of A-Z a-z "
				         "0-9 . _ "
				         "-)",
				         tok);
				return -1;
			}
			snprintf(b->name, sizeof(b->name), "%s", tok);
		} else if (!strncmp(tok, "gateway=", 8)) {
			gateway_given = 1;
			if (!strcmp(tok + 8, "none"))
				continue;
			if (spec_ipv4_parse(tok + 8, &a, &p) < 0 || p) {
				snprintf(err, errlen,
				         "%s: gateway must be A.B.C.D or none, not \"%.40s\"",
				         b->name, tok + 8);
				return -1;
			}
			b->gateway = a;
		} else if (n == 1) {
			if (spec_ipv4_parse(tok, &a, &p) < 0 || p < 8 || p > 30) {
				snprintf(
				    err, errlen,
				    "%s: the pool must be a network A.B.C.D/P with P from 8 to 30, "
				    "not \"%.40s\"",
				    b->name, tok);
				return -1;
			}
			if (a & ~(0xffffffffu << (32 - p))) {
				snprintf(
				    err, errlen,
				    "%s: %s has host bits set: the pool is a network, its first "
				    "address",
				    b->name, tok);
				return -1;
			}
			b->net = a;
			b->prefix_len = p;
		} else {
			snprintf(err, errlen,
			         "%s: unexpected \"%.40s\" (want NAME [A.B.C.D/P] "
			         "[gateway=A.B.C.D|none])",
			         b->name, tok);
			return -1;
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "want NAME [A.B.C.D/P] [gateway=A.B.C.D|none]");
		return -1;
	}
	if (b->prefix_len) {
		uint32_t mask = 0xffffffffu << (32 - b->prefix_len);

		if (!gateway_given)
			b->gateway = b->net + 1;
		else if (b->gateway && ((b->gateway & mask) != b->net || b->gateway == b->net ||
		                        b->gateway == (b->net | ~mask))) {
			snprintf(err, errlen, "%s: the gateway is not a host of the pool's network",
			         b->name);
			return -1;
		}
	} else if (gateway_given && b->gateway) {
		snprintf(err, errlen, "%s: a gateway goes with a pool (NAME A.B.C.D/P gateway=..)",
		         b->name);
		return -1;
	}
	return 0;
}

const struct bridge_conf *bridge_conf_find(const struct shoald_config *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->nbridges; i++)
		if (!strcmp(c->bridges[i].name, name))
			return &c->bridges[i];
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int load_file(struct shoald_config *c, const char *path, int must_exist, char *err,
                     size_t errlen)
{
	char line[2048], where[1100];
	unsigned n = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq, *key, *val;
		const struct opt *o;

		n++;
		snprintf(where, sizeof(where), "%s:%u", path, n);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s: expected \"name = value\"", where);
			fclose(f);
			return -1;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		o = find(key);
		if (!o) {
			snprintf(err, errlen, "%s: unknown option \"%s\"", where, key);
			fclose(f);
			return -1;
		}
		if (set(c, o, val, where, err, errlen) < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: shoald [-n] [-d] [-c FILE] [--OPTION=VALUE ...]\n"
	           "  -c, --config FILE   config file (default " SYSCONFDIR "/shoal/shoald.conf)\n"
	           "  -n, --check         check the configuration and exit\n"
	           "  -d, --debug         log-level=debug\n"
	           "  -f, --foreground    (shoald always runs in the foreground)\n"
	           "  -V, --version\n"
	           "Every option below is also a config file setting (name = value):\n");
	for (i = 0; i < NOPTS; i++)
		fprintf(f, "  --%-24s %s\n", opts[i].name, opts[i].help);
}

int config_load(struct shoald_config *c, int argc, char **argv, char *err, size_t errlen)
{
	struct option lo[NOPTS + 7];
	int i, ch, idx, config_given = 0, check = 0, debug = 0;
	const char *config = NULL;

	defaults(c);
	for (i = 0; i < (int)NOPTS; i++)
		lo[i] = (struct option){ opts[i].name, required_argument, NULL, 1000 + i };
	lo[NOPTS] = (struct option){ "config", required_argument, NULL, 'c' };
	lo[NOPTS + 1] = (struct option){ "check", no_argument, NULL, 'n' };
	lo[NOPTS + 2] = (struct option){ "debug", no_argument, NULL, 'd' };
	lo[NOPTS + 3] = (struct option){ "foreground", no_argument, NULL, 'f' };
	lo[NOPTS + 4] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[NOPTS + 5] = (struct option){ "version", no_argument, NULL, 'V' };
	lo[NOPTS + 6] = (struct option){ NULL, 0, NULL, 0 };

	/* First pass: where the config file is, and the flags that are not settings. */
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:ndfhV", lo, &idx)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			config_given = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("shoald %s\n", PACKAGE_VERSION);
			return 1;
		case '?':
			snprintf(err, errlen, "unknown or incomplete option %s (see shoald --help)",
			         argv[optind - 1]);
			return -1;
		default:
			break;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\" (see shoald --help)",
		         argv[optind]);
		return -1;
	}
	if (config)
		snprintf(c->config_file, sizeof(c->config_file), "%s", config);
	if (load_file(c, c->config_file, config_given, err, errlen) < 0)
		return -1;

	/* Second pass: the command line wins over the file. */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:ndfhV", lo, &idx)) != -1) {
		if (ch >= 1000) {
			char where[64];

			snprintf(where, sizeof(where), "--%s", opts[ch - 1000].name);
			if (set(c, &opts[ch - 1000], optarg, where, err, errlen) < 0)
				return -1;
		}
	}
	if (debug)
		c->log_level = LOG_LEVEL_DEBUG;
	c->check_only = check;
	if (!c->socket_path[0])
		snprintf(c->socket_path, sizeof(c->socket_path), "%.1000s/shoald.sock", c->run_dir);
	if (c->restart_backoff_max_ms < c->restart_backoff_ms) {
		snprintf(err, errlen,
		         "restart-backoff-max-ms (%u) is below restart-backoff-ms (%u)",
		         c->restart_backoff_max_ms, c->restart_backoff_ms);
		return -1;
	}
	{
		cpu_set_t set;
		char why[300];

		if (cpulist_parse(c->reserve_cpus, &set, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "reserve-cpus: %s", why);
			return -1;
		}
	}
	if (c->pool_mem_mib % 2 || c->guest_mem_max_mib % 2) {
		snprintf(err, errlen, "pool-mem-mib and guest-mem-max-mib must be even");
		return -1;
	}
	if (c->xen_create[0] && strcmp(c->xen_create, "libxl") && strcmp(c->xen_create, "direct")) {
		snprintf(err, errlen, "xen-create must be libxl or direct, not \"%s\"",
		         c->xen_create);
		return -1;
	}
	if (!c->dns_socket[0])
		snprintf(c->dns_socket, sizeof(c->dns_socket), "%.1000s/dns.sock", c->run_dir);
	if (c->dns_zone[0]) {
		if (dns_name_setting(c->dns_zone, "dns-zone", err, errlen) < 0)
			return -1;
		if (!c->dns_ns[0])
			snprintf(c->dns_ns, sizeof(c->dns_ns), "ns.%.250s", c->dns_zone);
		if (!c->dns_hostmaster[0])
			snprintf(c->dns_hostmaster, sizeof(c->dns_hostmaster), "hostmaster.%.242s",
			         c->dns_zone);
		if (dns_name_setting(c->dns_ns, "dns-ns", err, errlen) < 0 ||
		    dns_name_setting(c->dns_hostmaster, "dns-hostmaster", err, errlen) < 0)
			return -1;
	}
	if (c->state_dir[0] != '/' || c->run_dir[0] != '/') {
		snprintf(err, errlen, "state-dir and run-dir must be absolute paths");
		return -1;
	}
	return 0;
}
