/*
 * xen-cpu-check: drives daemon/backend/xen_cpu.c from Dom0 against real
 * domains, one call per command, so that a script can check each effect
 * with xl (tests/xen/xen-cpu-check.sh).  Prints what the call returned;
 * exits 0 on success, 1 when the call failed (with why on stderr), 2 on
 * a bad command line.
 *
 *   xen-cpu-check topology
 *   xen-cpu-check mechanism
 *   xen-cpu-check roles LATENCY-CPUS BATCH-CPUS     (lists like 1-2,4; "none")
 *   xen-cpu-check affinity DOMID CPUS
 *   xen-cpu-check weight DOMID WEIGHT               (cgroup scale, 1..10000)
 *   xen-cpu-check batch DOMID 0|1
 *   xen-cpu-check get DOMID                         (cpus=... weight=N batch=B)
 *   xen-cpu-check time DOMID
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xentoollog.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/xen_cpu.h"
#include "scheduler/scheduler.h"

static int usage(void)
{
	fprintf(stderr, "usage: xen-cpu-check topology | mechanism | roles LATENCY BATCH | "
	                "affinity DOMID CPUS |\n"
	                "       weight DOMID WEIGHT | batch DOMID 0|1 | get DOMID | time DOMID\n");
	return 2;
}

static int parse_cpus(const char *s, cpu_set_t *set)
{
	const char *p = s;

	CPU_ZERO(set);
	if (!strcmp(s, "none"))
		return 0;
	while (*p) {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*p))
			return -1;
		lo = hi = strtoul(p, &end, 10);
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (lo > hi || hi >= CPU_SETSIZE)
			return -1;
		for (; lo <= hi; lo++)
			CPU_SET(lo, set);
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return !*s || *end || errno || *v > max ? -1 : 0;
}

static void print_cpus(const cpu_set_t *set)
{
	int c, first = 1;

	for (c = 0; c < CPU_SETSIZE; c++) {
		int e = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
			e++;
		printf(e > c ? "%s%d-%d" : "%s%d", first ? "" : ",", c, e);
		first = 0;
		c = e;
	}
	if (first)
		printf("none");
}

static struct sched_host host;

int main(int argc, char **argv)
{
	xentoollog_logger_stdiostream *lg;
	libxl_ctx *ctx = NULL;
	struct xen_cpu *xc;
	char err[320] = "";
	unsigned long domid = 0, v = 0;
	int rc = 1;

	if (argc < 2)
		return usage();
	if (argc >= 3 && strcmp(argv[1], "roles") && parse_uint(argv[2], 0x7fef, &domid) < 0) {
		fprintf(stderr, "xen-cpu-check: \"%s\" is not a domain id\n", argv[2]);
		return 2;
	}
	lg = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
	if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg)) {
		fprintf(stderr, "xen-cpu-check: cannot open libxl (is this Dom0 of a Xen host?)\n");
		return 1;
	}
	xc = xen_cpu_new(ctx, err, sizeof(err));
	if (!xc) {
		fprintf(stderr, "xen-cpu-check: %s\n", err);
		goto out;
	}
	if (!strcmp(argv[1], "topology") && argc == 2) {
		unsigned c, n;

		if (xen_cpu_topology(xc, &host, err, sizeof(err)) < 0) {
			fprintf(stderr, "xen-cpu-check: %s\n", err);
			goto out;
		}
		printf("cpus=%u nodes=%u\n", host.ncpus, host.nnodes);
		for (n = 0; n < host.nnodes; n++)
			printf("node %u memory_mib=%llu dom0_mib=%llu\n", n,
			       (unsigned long long)host.node_memory_mib[n],
			       (unsigned long long)host.dom0_memory_mib[n]);
		for (c = 0; c < host.ncpus; c++)
			printf("cpu %u core=%u node=%u%s\n", c, host.cpu[c].core, host.cpu[c].node,
			       host.cpu[c].dom0 ? " unusable" : "");
		rc = 0;
	} else if (!strcmp(argv[1], "mechanism") && argc == 2) {
		printf("%s\n", xen_cpu_mechanism(xc));
		rc = 0;
	} else if (!strcmp(argv[1], "roles") && argc == 4) {
		cpu_set_t lat, bat;

		if (parse_cpus(argv[2], &lat) < 0 || parse_cpus(argv[3], &bat) < 0) {
			rc = usage();
			goto out;
		}
		rc = xen_cpu_roles(xc, &lat, &bat, err, sizeof(err)) < 0;
		if (rc)
			fprintf(stderr, "xen-cpu-check: roles: %s\n", err);
	} else if (!strcmp(argv[1], "affinity") && argc == 4) {
		cpu_set_t set;

		if (parse_cpus(argv[3], &set) < 0) {
			rc = usage();
			goto out;
		}
		rc = xen_cpu_set_affinity(xc, (uint32_t)domid, &set) < 0;
		if (rc)
			fprintf(stderr, "xen-cpu-check: affinity of domain %lu: %s\n", domid,
			        strerror(errno));
	} else if (!strcmp(argv[1], "weight") && argc == 4) {
		if (parse_uint(argv[3], 4000000000ul, &v) < 0) {
			rc = usage();
			goto out;
		}
		rc = xen_cpu_set_weight(xc, (uint32_t)domid, (unsigned)v) < 0;
		if (rc)
			fprintf(stderr, "xen-cpu-check: weight %lu of domain %lu: %s\n", v, domid,
			        strerror(errno));
	} else if (!strcmp(argv[1], "batch") && argc == 4) {
		if (parse_uint(argv[3], 1, &v) < 0) {
			rc = usage();
			goto out;
		}
		rc = xen_cpu_set_batch(xc, (uint32_t)domid, (int)v) < 0;
		if (rc)
			fprintf(stderr, "xen-cpu-check: batch %lu of domain %lu: %s\n", v, domid,
			        strerror(errno));
	} else if (!strcmp(argv[1], "get") && argc == 3) {
		struct be_placement p;

		rc = xen_cpu_get(xc, (uint32_t)domid, &p) < 0;
		if (rc) {
			fprintf(stderr, "xen-cpu-check: placement of domain %lu: %s\n", domid,
			        strerror(errno));
			goto out;
		}
		printf("cpus=");
		print_cpus(&p.cpus);
		printf(" weight=%u batch=%d\n", p.weight, p.batch);
	} else if (!strcmp(argv[1], "time") && argc == 3) {
		uint64_t ns;

		rc = xen_cpu_time(xc, (uint32_t)domid, 1, &ns) < 0;
		if (rc)
			fprintf(stderr, "xen-cpu-check: CPU time of domain %lu: %s\n", domid,
			        strerror(errno));
		else
			printf("%llu\n", (unsigned long long)ns);
	} else {
		rc = usage();
	}
out:
	xen_cpu_free(xc);
	libxl_ctx_free(ctx);
	xtl_logger_destroy((xentoollog_logger *)lg);
	return rc;
}
