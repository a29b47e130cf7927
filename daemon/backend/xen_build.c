/*
 * shoald's own PV domain builder (xen_build.h).  libxl's create does far
 * more than a shoal guest needs: a config of a hundred fields set to
 * defaults, several xenstore transactions (the VM path, the platform
 * keys, the device directories), NUMA placement, a console device model
 * with its own waits.  A shoal guest needs a domain, its kernel, and the
 * xenstore keys it and xenconsoled read; that is what this makes.
 *
 * The order is libxl's for PV (libxl_dom.c: build_pre, build_pv,
 * build_post), cut to what applies: create the domain (paused) -> vCPUs
 * and the memory limit -> unbound ports for xenstored and xenconsoled ->
 * libxenguest loads the ELF, builds the page tables and start_info and
 * seeds the grant table -> one transaction with the domain's directory
 * (Dom0's, read-only to the guest), its name, data/ (the guest's), the
 * console and store rings, shoald's tags and both ends of its devices
 * (xen_dev.c) -> xs_introduce_domain, so
 * that xenstored serves it and xenconsoled picks its console up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <xenctrl.h>
#include <xenguest.h>
#include <xenstore.h>

#include "common/fail.h"
#include "daemon/backend/xen_build.h"
#include "daemon/backend/xen_dev.h"

#define MAXMEM_SLACK_KB 1024 /* libxl's LIBXL_MAXMEM_CONSTANT: room for the rings */
#define EVTCHN_PORTS    1023 /* libxl's default event_channels for a guest */

struct xen_builder {
	xc_interface *xch;
};

struct xen_builder *xen_builder_open(struct xentoollog_logger *lg, char *err, size_t errlen)
{
	struct xen_builder *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->xch = xc_interface_open(lg, lg, 0);
	if (!b->xch) {
		snprintf(err, errlen, "cannot open Xen's control interface: %s", strerror(errno));
		free(b);
		return NULL;
	}
	return b;
}

void xen_builder_close(struct xen_builder *b)
{
	if (!b)
		return;
	xc_interface_close(b->xch);
	free(b);
}

int xen_build_destroy(struct xen_builder *b, struct xs_handle *xs, uint32_t domid, char *err,
                      size_t errlen)
{
	char path[64];

	if (xc_domain_destroy(b->xch, domid) < 0 && errno != ESRCH)
		return fail_text(err, errlen, "Xen would not destroy domain %u", domid);
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	if (xs && !xs_rm(xs, XBT_NULL, path) && errno != ENOENT)
		return fail_text(err, errlen, "cannot remove %s from xenstore", path);
	return 0;
}

/* The kernel into the (paused) domain; the rings' frames and ports out. */
static int load_kernel(struct xen_builder *b, uint32_t domid, const struct xen_build_req *r,
                       unsigned store_port, unsigned console_port, xen_pfn_t *store_mfn,
                       xen_pfn_t *console_mfn, char *err, size_t errlen)
{
	/* After the layout, in this order, each on the image alone. */
	static const struct {
		const char *what;
		int (*fn)(struct xc_dom_image *);
	} steps[] = {
		{ "allocate the memory", xc_dom_boot_mem_init },
		{ "load the image", xc_dom_build_image },
		{ "set up the vCPU", xc_dom_boot_image },
		{ "seed the grant table", xc_dom_gnttab_init },
	};
	struct xc_dom_image *dom;
	const char *step;
	size_t i;
	int rc = -1;

	dom = xc_dom_allocate(b->xch, r->cmdline, NULL);
	if (!dom)
		return fail_text(err, errlen, "libxenguest cannot start a build");
	dom->container_type = XC_DOM_PV_CONTAINER;
	dom->max_vcpus = r->vcpus;
	dom->console_evtchn = console_port;
	dom->console_domid = 0;
	dom->xenstore_evtchn = store_port;
	dom->xenstore_domid = 0;
	step = "read the image";
	if (xc_dom_kernel_file(dom, r->image_path) != 0)
		goto out;
	step = "set up the build";
	if (xc_dom_boot_xen_init(dom, b->xch, domid) != 0)
		goto out;
	step = "parse the ELF";
	if (xc_dom_parse_image(dom) != 0)
		goto out;
	step = "lay out the memory";
	if (xc_dom_mem_init(dom, r->memory_mib) != 0)
		goto out;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		step = steps[i].what;
		if (steps[i].fn(dom) != 0)
			goto out;
	}
	*console_mfn = xc_dom_p2m(dom, dom->console_pfn);
	*store_mfn = xc_dom_p2m(dom, dom->xenstore_pfn);
	rc = 0;
out:
	if (rc)
		fail_text(err, errlen, "libxenguest could not %s of %s", step, r->image_path);
	xc_dom_release(dom);
	return rc;
}

/* Everything the guest and xenconsoled read, in one transaction. */
static int write_keys(struct xs_handle *xs, uint32_t domid, const struct xen_build_req *r,
                      xen_pfn_t store_mfn, unsigned store_port, xen_pfn_t console_mfn,
                      unsigned console_port, char *err, size_t errlen)
{
	struct xs_permissions ro[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = domid, .perms = XS_PERM_READ },
	};
	struct xs_permissions rw[1] = { { .id = domid, .perms = XS_PERM_NONE } };
	char dom_path[64], path[256], val[32];
	const char *const *kv;
	unsigned i;

	for (i = 0;; i++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int ok = t != XBT_NULL;

#define PUT(key, v)                                                                                \
	(snprintf(path, sizeof(path), "%s/%s", dom_path, key),                                     \
	 xs_write(xs, t, path, v, (unsigned)strlen(v)))
		snprintf(dom_path, sizeof(dom_path), "/local/domain/%u", domid);
		if (ok) {
			/* Stale directories of an earlier domain of that number, if any. */
			xs_rm(xs, t, dom_path);
			snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u", domid);
			xs_rm(xs, t, path);
			snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u", domid);
			xs_rm(xs, t, path);
		}
		ok = ok && xs_mkdir(xs, t, dom_path) && xs_set_permissions(xs, t, dom_path, ro, 2);
		ok = ok && PUT("name", r->name);
		snprintf(val, sizeof(val), "%u", domid);
		ok = ok && PUT("domid", val);
		snprintf(path, sizeof(path), "%s/data", dom_path);
		ok = ok && xs_mkdir(xs, t, path) && xs_set_permissions(xs, t, path, rw, 1);
		snprintf(val, sizeof(val), "%" PRIu64, (uint64_t)store_mfn);
		ok = ok && PUT("store/ring-ref", val);
		snprintf(val, sizeof(val), "%u", store_port);
		ok = ok && PUT("store/port", val);
		snprintf(val, sizeof(val), "%" PRIu64, (uint64_t)console_mfn);
		ok = ok && PUT("console/ring-ref", val);
		snprintf(val, sizeof(val), "%u", console_port);
		ok = ok && PUT("console/port", val);
		ok = ok && PUT("console/type", "xenconsoled") && PUT("console/output", "pty");
		snprintf(val, sizeof(val), "%u", r->memory_mib * 1024);
		ok = ok && PUT("memory/static-max", val) && PUT("memory/target", val);
		for (kv = r->tags; ok && kv && kv[0] && kv[1]; kv += 2)
			ok = PUT(kv[0], kv[1]);
		ok = ok && (!r->devs || xen_devs_write(xs, t, domid, r->devs));
#undef PUT
		if (!ok) {
			int e = errno;

			if (t != XBT_NULL)
				xs_transaction_end(xs, t, 1);
			errno = e;
			return fail_text(err, errlen, "cannot write domain %u's keys in xenstore",
			                 domid);
		}
		if (xs_transaction_end(xs, t, 0))
			break;
		if (errno != EAGAIN || i == 20)
			return fail_text(err, errlen, "cannot commit domain %u's keys in xenstore",
			                 domid);
	}
	if (!xs_introduce_domain(xs, domid, store_mfn, store_port))
		return fail_text(err, errlen, "xenstored would not take domain %u", domid);
	return 0;
}

int xen_build_pv(struct xen_builder *b, struct xs_handle *xs, const struct xen_build_req *r,
                 uint32_t *domid, char *err, size_t errlen)
{
	struct xen_domctl_createdomain cfg;
	libxl_uuid uuid;
	xen_pfn_t store_mfn = 0, console_mfn = 0;
	int store_port, console_port;

	*domid = INVALID_DOMID;
	memset(&cfg, 0, sizeof(cfg));
	libxl_uuid_generate(&uuid);
	memcpy(cfg.handle, libxl_uuid_bytearray(&uuid), sizeof(cfg.handle));
	cfg.max_vcpus = r->vcpus;
	cfg.max_evtchn_port = EVTCHN_PORTS;
	cfg.max_grant_frames = -1; /* Xen's defaults */
	cfg.max_maptrack_frames = -1;
	cfg.grant_opts = XEN_DOMCTL_GRANT_version(1);
	errno = 0;
	if (xc_domain_create(b->xch, domid, &cfg) != 0) {
		*domid = INVALID_DOMID;
		return fail_text(err, errlen, "Xen cannot create the domain");
	}
	if (xc_domain_max_vcpus(b->xch, *domid, r->vcpus) != 0)
		return fail_text(err, errlen, "Xen cannot give domain %u %u vCPUs", *domid,
		                 r->vcpus);
	if (xc_domain_setmaxmem(b->xch, *domid, (uint64_t)r->memory_mib * 1024 + MAXMEM_SLACK_KB) !=
	    0)
		return fail_text(err, errlen, "Xen cannot set domain %u's memory to %u MiB", *domid,
		                 r->memory_mib);
	store_port = xc_evtchn_alloc_unbound(b->xch, *domid, 0);
	console_port = xc_evtchn_alloc_unbound(b->xch, *domid, 0);
	if (store_port < 0 || console_port < 0)
		return fail_text(err, errlen,
		                 "Xen cannot open domain %u's xenstore and console ports", *domid);
	if (load_kernel(b, *domid, r, (unsigned)store_port, (unsigned)console_port, &store_mfn,
	                &console_mfn, err, errlen) < 0)
		return -1;
	return write_keys(xs, *domid, r, store_mfn, (unsigned)store_port, console_mfn,
	                  (unsigned)console_port, err, errlen);
}
