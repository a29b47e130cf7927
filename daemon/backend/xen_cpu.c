/*
 * Placement on Xen, not done on this build: every call says ENOTSUP, so
 * that the Xen backend links and runs without placement (xen_cpu.h).
 */
#include <errno.h>
#include <stdio.h>

#include "daemon/backend/xen_cpu.h"

struct xen_cpu *xen_cpu_new(libxl_ctx *ctx, char *err, size_t errlen)
{
	(void)ctx;
	snprintf(err, errlen, "placement on Xen is not built into this shoald");
	errno = ENOTSUP;
	return NULL;
}

void xen_cpu_free(struct xen_cpu *xc)
{
	(void)xc;
}

int xen_cpu_topology(struct xen_cpu *xc, struct sched_host *h, char *err, size_t errlen)
{
	(void)xc, (void)h;
	snprintf(err, errlen, "placement on Xen is not built into this shoald");
	errno = ENOTSUP;
	return -1;
}

int xen_cpu_roles(struct xen_cpu *xc, const cpu_set_t *latency, const cpu_set_t *batch, char *err,
                  size_t errlen)
{
	(void)xc, (void)latency, (void)batch;
	snprintf(err, errlen, "placement on Xen is not built into this shoald");
	errno = ENOTSUP;
	return -1;
}

int xen_cpu_set_affinity(struct xen_cpu *xc, uint32_t domid, const cpu_set_t *cpus)
{
	(void)xc, (void)domid, (void)cpus;
	errno = ENOTSUP;
	return -1;
}

int xen_cpu_set_weight(struct xen_cpu *xc, uint32_t domid, unsigned weight)
{
	(void)xc, (void)domid, (void)weight;
	errno = ENOTSUP;
	return -1;
}

int xen_cpu_set_batch(struct xen_cpu *xc, uint32_t domid, int batch)
{
	(void)xc, (void)domid, (void)batch;
	errno = ENOTSUP;
	return -1;
}

int xen_cpu_get(struct xen_cpu *xc, uint32_t domid, struct be_placement *out)
{
	(void)xc, (void)domid, (void)out;
	errno = ENOTSUP;
	return -1;
}

int xen_cpu_time(struct xen_cpu *xc, uint32_t domid, uint64_t *ns)
{
	(void)xc, (void)domid, (void)ns;
	errno = ENOTSUP;
	return -1;
}

const char *xen_cpu_mechanism(struct xen_cpu *xc)
{
	(void)xc;
	return "none: placement on Xen is not built into this shoald";
}
