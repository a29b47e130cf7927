/*
 * A Xen guest's vifs and vbds (xen_dev.c): the loop devices under its
 * disks, the xenstore directories of both ends, the hotplug work that
 * Xen's scripts would do (a vif onto its bridge), their removal, finding
 * them again after a daemon restart, and their counters.
 */
#ifndef SHOALD_XEN_DEV_H
#define SHOALD_XEN_DEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xenstore.h>

#include "daemon/backend/backend.h"

struct xen_vif {
	char name[32]; /* the operator's name for it */
	char bridge[16];
	uint8_t mac[6];
	uint32_t ipv4; /* host order; 0: none */
	unsigned prefix_len;
	uint32_t gateway; /* host order; 0: none */
	int connected;    /* on its bridge, hotplug-status written */
	int refused;      /* putting it there failed once (logged once) */
};

struct xen_vbd {
	char name[32];
	char path[1024]; /* the disk file (the loop's backing file) */
	int readonly;
	unsigned vdev; /* virtual-device: xvda, xvdb, ... as numbers */
	int loop_fd;   /* held while the domain lives; -1: none */
	int loop_nr;
	dev_t rdev;
};

/* One domain's devices. */
struct xen_devs {
	uint32_t domid; /* INVALID_DOMID (0x7ff4) until the domain exists */
	unsigned nvifs, nvbds;
	struct xen_vif vif[BE_NICS_MAX];
	struct xen_vbd vbd[BE_DISKS_MAX];
	uint64_t rate_bytes; /* netback's credit per interval, per vif; 0: no limit */
	uint32_t rate_us;
	int own_dirs; /* the directories are shoald's to write and remove (xen-create = direct) */
};

/* The interval of netback's credit scheduler a rate limit is given in. */
#define XEN_RATE_INTERVAL_US 50000u

/* No devices, nothing held (a domain's before prepare or find). */
void xen_devs_init(struct xen_devs *x);

/*
 * Take the start request's devices and attach a loop device to each
 * disk (read-only for a read-only disk).  0, or -1 with err (nothing
 * left attached): also when Dom0 lacks netback or blkback, or a NIC's
 * bridge.
 */
int xen_devs_prepare(struct xen_devs *x, const struct be_start *req, char *err, size_t errlen);

/*
 * Both ends' directories of every device, in transaction t of the
 * domain's making (xen-create = direct): the front-ends' (the guest's,
 * readable by Dom0) with shoal's keys, the back-ends' (Dom0's, readable
 * by the guest) with, for a vbd, the loop device as physical-device and
 * hotplug-status=connected.  1 when written, 0 with errno.
 */
int xen_devs_write(struct xs_handle *xs, xs_transaction_t t, uint32_t domid,
                   const struct xen_devs *x);
/*
 * shoal's keys alone (shoal-name, shoal-ipv4, shoal-gateway) in the
 * front-end directories libxl made, before the guest runs.  0, or -1.
 */
int xen_devs_write_shoal_keys(struct xs_handle *xs, uint32_t domid, const struct xen_devs *x);

/*
 * The vifs whose interface (vifD.N) netback has made by now: onto their
 * bridges and up, hotplug-status=connected.  Call after the domain is
 * made and whenever an interface appears; returns how many are still
 * waiting.  A vif that cannot be put on its bridge is logged once, named
 * after guest.
 */
unsigned xen_devs_connect(struct xs_handle *xs, struct xen_devs *x, const char *guest);

/*
 * The domain is gone: its directories (when they are shoald's) and its
 * loop devices (freed once blkback lets go).  Idempotent.
 */
void xen_devs_teardown(struct xs_handle *xs, struct xen_devs *x);

/*
 * After a daemon restart: the devices of domain domid as xenstore says
 * them, the loop devices opened again.  0, or -1 when its directories
 * cannot be read (then it has none here).
 */
int xen_devs_find(struct xs_handle *xs, uint32_t domid, struct xen_devs *x, int own_dirs);

/*
 * After adoption: the back-end directories of domains that are not in
 * live[0, nlive), and the loop devices over files under state_dir that no
 * back-end of a live domain uses.  Returns how many of both were freed.
 */
unsigned xen_devs_sweep(struct xs_handle *xs, const uint32_t *live, unsigned nlive,
                        const char *state_dir);

/* The devices' counters, disks then vifs, into out[0, max); how many. */
unsigned xen_devs_stats(const struct xen_devs *x, struct be_dev_stats *out, unsigned max);

/* The guest's name for virtual-device number i (xvda, ...) and its number. */
unsigned xen_vdev(unsigned i);

#endif
