/*
 * A PV domain made by shoald itself, without libxl's create: libxenctrl
 * makes the domain, libxenguest loads the kernel, and one xenstore
 * transaction writes only what a shoal guest and xenconsoled read.  The
 * domain is left paused; the rest of its life (unpause, death events,
 * destroy, placement) is libxl's as for any other domain.
 */
#ifndef SHOAL_XEN_BUILD_H
#define SHOAL_XEN_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct xentoollog_logger;
struct xs_handle;
struct xen_devs;

struct xen_build_req {
	const char *name;       /* the domain's name (the guest's) */
	const char *image_path; /* a checked PV ELF */
	const char *cmdline;
	unsigned memory_mib, vcpus;
	const char *const
	    *tags; /* key, value, ..., NULL: under the domain's path, read-only to it */
	const struct xen_devs *devs; /* its vifs and vbds (xen_dev.h), loops attached; or NULL */
};

struct xen_builder;

/* An xc handle for the builds; NULL with err when Xen's control interface cannot be opened. */
struct xen_builder *xen_builder_open(struct xentoollog_logger *lg, char *err, size_t errlen);
void xen_builder_close(struct xen_builder *b);

/*
 * Make, load and describe the domain; *domid is set as soon as it exists
 * (so that a failure after that can be cleared away: the caller destroys
 * it), INVALID_DOMID (0x7ff4) before.  0, or -1 with err.
 */
int xen_build_pv(struct xen_builder *b, struct xs_handle *xs, const struct xen_build_req *r,
                 uint32_t *domid, char *err, size_t errlen);

/*
 * End a domain this builder made: Xen destroys it (its memory given back,
 * which can take a while for a large one), then its xenstore directory
 * goes, as libxl's destroy removes it; the back ends' directories are the
 * caller's (xen_devs_teardown()).  xs may be NULL.  0, or -1 with err.
 */
int xen_build_destroy(struct xen_builder *b, struct xs_handle *xs, uint32_t domid, char *err,
                      size_t errlen);

#endif
