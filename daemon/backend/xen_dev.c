/*
 * A Xen guest's vifs and vbds (xen_dev.h).  With xen-create = direct,
 * shoald is the toolstack: it writes both ends' directories in the
 * domain's first transaction and does the hotplug scripts' work itself
 * (a loop device per disk file before, a vif onto its bridge once netback
 * has made it).  With xen-create = libxl, libxl writes the directories
 * and runs its scripts; shoald adds its own keys and holds the loops.
 *
 * The layout is Xen's (docs/misc/xenstore-paths, libxl's device code):
 *   /local/domain/D/device/{vif,vbd}/N       the front end, the guest's
 *   /local/domain/0/backend/{vif,vbd}/D/N    the back end, Dom0's
 * each readable by the other side.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/backend/hostdev.h"
#include "daemon/backend/xen_dev.h"
#include "daemon/log.h"

#define INVALID_DOMID_ 0x7ff4u
#define XVD_MAJOR      202u /* Linux's xvd numbering: 202 << 8 | disk << 4 */

unsigned xen_vdev(unsigned i)
{
	return XVD_MAJOR << 8 | i << 4;
}

void xen_devs_init(struct xen_devs *x)
{
	unsigned i;

	memset(x, 0, sizeof(*x));
	x->domid = INVALID_DOMID_;
	for (i = 0; i < BE_DISKS_MAX; i++)
		x->vbd[i].loop_fd = -1;
}

/*
 * What the devices need of Dom0, said before anything is made: otherwise
 * a back end that is not there leaves the device waiting with no word
 * (shoald) or fails after libxl's timeout.
 */
static int dom0_ready(const struct be_start *req, char *err, size_t errlen)
{
	unsigned i;

	if (req->nnics && access("/sys/bus/xen-backend/drivers/vif", F_OK) < 0)
		return be_fail(err, errlen,
		               "NICs need Dom0's netback, and it is not loaded "
		               "(modprobe xen-netback)");
	if (req->ndisks && access("/sys/bus/xen-backend/drivers/vbd", F_OK) < 0)
		return be_fail(err, errlen,
		               "disks need Dom0's blkback, and it is not loaded "
		               "(modprobe xen-blkback)");
	for (i = 0; i < req->nnics; i++)
		if (!hostdev_is_bridge(req->nics[i].bridge))
			return be_fail(err, errlen,
			               "NIC %s: bridge %s does not exist on this host (or is not a "
			               "bridge)",
			               req->nics[i].name, req->nics[i].bridge);
	return 0;
}

int xen_devs_prepare(struct xen_devs *x, const struct be_start *req, char *err, size_t errlen)
{
	unsigned i;

	xen_devs_init(x);
	if (dom0_ready(req, err, errlen) < 0)
		return -1;
	for (i = 0; i < req->nnics && i < BE_NICS_MAX; i++) {
		struct xen_vif *v = &x->vif[i];
		const struct be_nic *n = &req->nics[i];

		snprintf(v->name, sizeof(v->name), "%s", n->name);
		snprintf(v->bridge, sizeof(v->bridge), "%s", n->bridge);
		memcpy(v->mac, n->mac, 6);
		v->ipv4 = n->ipv4;
		v->prefix_len = n->prefix_len;
		v->gateway = n->gateway;
	}
	x->nvifs = i;
	/* netback limits what the guest sends, per vif, in bytes; it has no packet limit. */
	if (req->net_rate_bytes && x->nvifs) {
		x->rate_us = XEN_RATE_INTERVAL_US;
		x->rate_bytes = req->net_rate_bytes / x->nvifs * XEN_RATE_INTERVAL_US / 1000000u;
		if (x->rate_bytes == 0)
			x->rate_bytes = 1;
	}
	for (i = 0; i < req->ndisks && i < BE_DISKS_MAX; i++) {
		struct xen_vbd *b = &x->vbd[i];
		const struct be_disk *dk = &req->disks[i];
		char why[300];

		snprintf(b->name, sizeof(b->name), "%s", dk->name);
		snprintf(b->path, sizeof(b->path), "%s", dk->path);
		b->readonly = dk->readonly;
		b->vdev = xen_vdev(i);
		b->loop_fd = hostdev_loop_attach(dk->path, dk->readonly, &b->loop_nr, &b->rdev, why,
		                                 sizeof(why));
		x->nvbds = i + 1;
		if (b->loop_fd < 0) {
			be_fail(err, errlen, "disk %s: %s", dk->name, why);
			x->nvbds = i;
			xen_devs_teardown(NULL, x);
			return -1;
		}
	}
	return 0;
}

static void ipv4_str(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void mac_str(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* key=value under dir, inheriting dir's permissions. */
static int put(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
               const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(xs, t, path, val, (unsigned)strlen(val));
}

/* One of shoal's keys: Dom0's, read-only to the guest, in the guest's own directory. */
static int put_shoal(struct xs_handle *xs, xs_transaction_t t, uint32_t domid, const char *dir,
                     const char *key, const char *val)
{
	struct xs_permissions ro[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = domid, .perms = XS_PERM_READ },
	};
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(xs, t, path, val, (unsigned)strlen(val)) &&
	       xs_set_permissions(xs, t, path, ro, 2);
}

static int shoal_keys(struct xs_handle *xs, xs_transaction_t t, uint32_t domid,
                      const struct xen_devs *x)
{
	char dir[128], val[64], a[20];
	unsigned i;
	int ok = 1;

	for (i = 0; ok && i < x->nvifs; i++) {
		const struct xen_vif *v = &x->vif[i];

		snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif/%u", domid, i);
		ok = put_shoal(xs, t, domid, dir, "shoal-name", v->name);
		if (ok && v->ipv4) {
			ipv4_str(v->ipv4, a, sizeof(a));
			snprintf(val, sizeof(val), "%s/%u", a, v->prefix_len);
			ok = put_shoal(xs, t, domid, dir, "shoal-ipv4", val);
		}
		if (ok && v->gateway) {
			ipv4_str(v->gateway, val, sizeof(val));
			ok = put_shoal(xs, t, domid, dir, "shoal-gateway", val);
		}
	}
	for (i = 0; ok && i < x->nvbds; i++) {
		snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd/%u", domid, x->vbd[i].vdev);
		ok = put_shoal(xs, t, domid, dir, "shoal-name", x->vbd[i].name);
	}
	return ok;
}

/* A device's two directories: the front end the guest's, the back end Dom0's, each readable by
 * the other. */
static int mkdirs(struct xs_handle *xs, xs_transaction_t t, uint32_t domid, const char *front,
                  const char *back)
{
	struct xs_permissions fperm[2] = {
		{ .id = domid, .perms = XS_PERM_NONE },
		{ .id = 0, .perms = XS_PERM_READ },
	};
	struct xs_permissions bperm[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = domid, .perms = XS_PERM_READ },
	};

	return xs_mkdir(xs, t, front) && xs_set_permissions(xs, t, front, fperm, 2) &&
	       xs_mkdir(xs, t, back) && xs_set_permissions(xs, t, back, bperm, 2);
}

int xen_devs_write(struct xs_handle *xs, xs_transaction_t t, uint32_t domid,
                   const struct xen_devs *x)
{
	char front[128], back[128], val[64];
	unsigned i;
	int ok = 1;

	for (i = 0; ok && i < x->nvifs; i++) {
		const struct xen_vif *v = &x->vif[i];

		snprintf(front, sizeof(front), "/local/domain/%u/device/vif/%u", domid, i);
		snprintf(back, sizeof(back), "/local/domain/0/backend/vif/%u/%u", domid, i);
		ok = mkdirs(xs, t, domid, front, back);
		mac_str(v->mac, val, sizeof(val));
		ok = ok && put(xs, t, front, "backend", back) &&
		     put(xs, t, front, "backend-id", "0") && put(xs, t, front, "state", "1") &&
		     put(xs, t, front, "mac", val);
		ok = ok && put(xs, t, back, "mac", val) && put(xs, t, back, "frontend", front);
		snprintf(val, sizeof(val), "%u", i);
		ok = ok && put(xs, t, front, "handle", val) && put(xs, t, back, "handle", val);
		snprintf(val, sizeof(val), "%u", domid);
		ok = ok && put(xs, t, back, "frontend-id", val) &&
		     put(xs, t, back, "online", "1") && put(xs, t, back, "state", "1") &&
		     put(xs, t, back, "bridge", v->bridge) && put(xs, t, back, "type", "vif");
		/* netback reads script for its uevents; shoald is the script here. */
		ok = ok && put(xs, t, back, "script", "");
		if (ok && x->rate_bytes) {
			snprintf(val, sizeof(val), "%" PRIu64 ",%" PRIu32, x->rate_bytes,
			         x->rate_us);
			ok = put(xs, t, back, "rate", val);
		}
	}
	for (i = 0; ok && i < x->nvbds; i++) {
		const struct xen_vbd *b = &x->vbd[i];
		char dev[8];

		snprintf(front, sizeof(front), "/local/domain/%u/device/vbd/%u", domid, b->vdev);
		snprintf(back, sizeof(back), "/local/domain/0/backend/vbd/%u/%u", domid, b->vdev);
		snprintf(dev, sizeof(dev), "xvd%c", 'a' + (int)i);
		ok = mkdirs(xs, t, domid, front, back);
		ok = ok && put(xs, t, front, "backend", back) &&
		     put(xs, t, front, "backend-id", "0") && put(xs, t, front, "state", "1") &&
		     put(xs, t, front, "device-type", "disk");
		snprintf(val, sizeof(val), "%u", b->vdev);
		ok = ok && put(xs, t, front, "virtual-device", val);
		ok = ok && put(xs, t, back, "frontend", front);
		snprintf(val, sizeof(val), "%u", domid);
		ok = ok && put(xs, t, back, "frontend-id", val) &&
		     put(xs, t, back, "online", "1") && put(xs, t, back, "state", "1") &&
		     put(xs, t, back, "mode", b->readonly ? "r" : "w") &&
		     put(xs, t, back, "type", "phy") && put(xs, t, back, "device-type", "disk") &&
		     put(xs, t, back, "dev", dev) && put(xs, t, back, "removable", "0");
		/* As libxl says a phy disk: params is the device (the file is the loop's). */
		snprintf(val, sizeof(val), "/dev/loop%d", b->loop_nr);
		ok = ok && put(xs, t, back, "params", val) &&
		     put(xs, t, back, "physical-device-path", val);
		/* blkback opens the device once physical-device is there: the last key. */
		snprintf(val, sizeof(val), "%x:%x", major(b->rdev), minor(b->rdev));
		ok = ok && put(xs, t, back, "physical-device", val) &&
		     put(xs, t, back, "hotplug-status", "connected");
	}
	return ok && shoal_keys(xs, t, domid, x);
}

int xen_devs_write_shoal_keys(struct xs_handle *xs, uint32_t domid, const struct xen_devs *x)
{
	unsigned i;

	for (i = 0; i < 20; i++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL)
			return -1;
		if (!shoal_keys(xs, t, domid, x)) {
			xs_transaction_end(xs, t, 1);
			return -1;
		}
		if (xs_transaction_end(xs, t, 0))
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	return -1;
}

unsigned xen_devs_connect(struct xs_handle *xs, struct xen_devs *x, const char *guest)
{
	char ifname[IFNAMSIZ + 8], path[128], why[300];
	unsigned i, waiting = 0;

	if (!x->own_dirs || x->domid == INVALID_DOMID_)
		return 0;
	for (i = 0; i < x->nvifs; i++) {
		struct xen_vif *v = &x->vif[i];

		if (v->connected || v->refused)
			continue;
		snprintf(ifname, sizeof(ifname), "vif%u.%u", x->domid, i);
		if (if_nametoindex(ifname) == 0) {
			waiting++;
			continue;
		}
		if (hostdev_enslave(ifname, v->bridge, 0, why, sizeof(why)) < 0) {
			log_warnx("xen: guest %s: NIC %s: %s", guest, v->name, why);
			v->refused = 1;
			continue;
		}
		snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/%u/hotplug-status",
		         x->domid, i);
		if (!xs_write(xs, XBT_NULL, path, "connected", 9)) {
			log_warn("xen: guest %s: NIC %s: cannot write %s", guest, v->name, path);
			v->refused = 1;
			continue;
		}
		v->connected = 1;
		log_info("xen: guest %s: NIC %s is %s on bridge %s", guest, v->name, ifname,
		         v->bridge);
	}
	return waiting;
}

void xen_devs_teardown(struct xs_handle *xs, struct xen_devs *x)
{
	char path[128];
	unsigned i;

	if (xs && x->own_dirs && x->domid != INVALID_DOMID_) {
		/* The back ends go: netback and blkback unregister them, their vif and loop with
		 * them. */
		snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u", x->domid);
		xs_rm(xs, XBT_NULL, path);
		snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u", x->domid);
		xs_rm(xs, XBT_NULL, path);
		/* The front ends went with the domain's directory; a domain cut short may have left
		 * them. */
		snprintf(path, sizeof(path), "/local/domain/%u/device", x->domid);
		xs_rm(xs, XBT_NULL, path);
		x->own_dirs = 0;
	}
	for (i = 0; i < x->nvbds; i++) {
		hostdev_loop_release(x->vbd[i].loop_fd);
		x->vbd[i].loop_fd = -1;
	}
}

static char *read_key(struct xs_handle *xs, const char *dir, const char *key, unsigned *len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_read(xs, XBT_NULL, path, len);
}

/* A key's value as a short string, checked: 0, or -1 when missing, too long or not text. */
static int read_str(struct xs_handle *xs, const char *dir, const char *key, char *buf, size_t len)
{
	unsigned n = 0;
	char *v = read_key(xs, dir, key, &n);
	int rc = -1;

	if (v && n < len && !memchr(v, '\0', n)) {
		memcpy(buf, v, n);
		buf[n] = '\0';
		rc = 0;
	}
	free(v);
	return rc;
}

/* A directory entry that is a device number below max ("0", "51712"): 0, or -1. */
static int entry_num(const char *e, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	size_t i, n = strlen(e);

	if (n == 0 || n > 7 || (n > 1 && e[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (e[i] < '0' || e[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(e[i] - '0');
	}
	if (v >= max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* A directory's entries that are device numbers below max, sorted; how many. */
static unsigned list_nums(struct xs_handle *xs, const char *dir, unsigned *out, unsigned maxn,
                          unsigned max)
{
	unsigned n = 0, k = 0, i, j, v;
	char **e = xs_directory(xs, XBT_NULL, dir, &n);

	for (i = 0; e && i < n && k < maxn; i++) {
		if (entry_num(e[i], max, &v) < 0)
			continue;
		for (j = k; j > 0 && out[j - 1] > v; j--)
			out[j] = out[j - 1];
		out[j] = v;
		k++;
	}
	free(e);
	return k;
}

int xen_devs_find(struct xs_handle *xs, uint32_t domid, struct xen_devs *x, int own_dirs)
{
	unsigned ids[BE_DISKS_MAX], n, i;
	char back[128], front[128], val[64], why[300];

	xen_devs_init(x);
	x->domid = domid;
	x->own_dirs = own_dirs;
	snprintf(back, sizeof(back), "/local/domain/0/backend/vif/%u", domid);
	n = list_nums(xs, back, ids, BE_NICS_MAX, BE_NICS_MAX);
	for (i = 0; i < n; i++) {
		struct xen_vif *v = &x->vif[x->nvifs];
		char ifname[IFNAMSIZ + 8], master[IFNAMSIZ];

		snprintf(back, sizeof(back), "/local/domain/0/backend/vif/%u/%u", domid, ids[i]);
		snprintf(front, sizeof(front), "/local/domain/%u/device/vif/%u", domid, ids[i]);
		if (ids[i] != x->nvifs ||
		    read_str(xs, back, "bridge", v->bridge, sizeof(v->bridge)) < 0)
			continue; /* not one of ours: handles are 0, 1, ... */
		if (read_str(xs, front, "shoal-name", v->name, sizeof(v->name)) < 0)
			snprintf(v->name, sizeof(v->name), "vif%u", ids[i]);
		snprintf(ifname, sizeof(ifname), "vif%u.%u", domid, ids[i]);
		v->connected = hostdev_master(ifname, master, sizeof(master)) == 0 &&
		               !strcmp(master, v->bridge);
		x->nvifs++;
	}
	snprintf(back, sizeof(back), "/local/domain/0/backend/vbd/%u", domid);
	n = list_nums(xs, back, ids, BE_DISKS_MAX, 1u << 20);
	for (i = 0; i < n; i++) {
		struct xen_vbd *b = &x->vbd[x->nvbds];
		unsigned maj, min;
		char c;

		snprintf(back, sizeof(back), "/local/domain/0/backend/vbd/%u/%u", domid, ids[i]);
		snprintf(front, sizeof(front), "/local/domain/%u/device/vbd/%u", domid, ids[i]);
		b->vdev = ids[i];
		b->loop_fd = -1;
		if (read_str(xs, front, "shoal-name", b->name, sizeof(b->name)) < 0)
			snprintf(b->name, sizeof(b->name), "vbd%u", ids[i]);
		if (read_str(xs, back, "mode", val, sizeof(val)) == 0)
			b->readonly = strcmp(val, "w") != 0;
		x->nvbds++;
		if (read_str(xs, back, "physical-device", val, sizeof(val)) < 0 ||
		    sscanf(val, "%x:%x%c", &maj, &min, &c) != 2)
			continue;
		b->rdev = makedev(maj, min);
		/* A loop device of ours (minors without partitions are loop numbers): hold it
		 * again. */
		if (maj == 7) {
			b->loop_nr = (int)min;
			hostdev_loop_backing(b->loop_nr, b->path, sizeof(b->path));
			b->loop_fd = hostdev_loop_open(b->loop_nr, why, sizeof(why));
			if (b->loop_fd < 0)
				log_warnx("xen: domain %u: disk %s: %s", domid, b->name, why);
		}
	}
	return 0;
}

static int is_live(const uint32_t *live, unsigned nlive, unsigned long id)
{
	unsigned i;

	for (i = 0; i < nlive; i++)
		if (live[i] == id)
			return 1;
	return 0;
}

/* The loop numbers live domains' back ends use, from their physical-device keys. */
static unsigned live_loops(struct xs_handle *xs, const uint32_t *live, unsigned nlive, int *out,
                           unsigned max)
{
	unsigned i, j, k, n = 0, ids[BE_DISKS_MAX];
	char dir[128], val[64];

	for (i = 0; i < nlive; i++) {
		snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%u", live[i]);
		k = list_nums(xs, dir, ids, BE_DISKS_MAX, 1u << 20);
		for (j = 0; j < k && n < max; j++) {
			unsigned maj, min;
			char c;

			snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%u/%u", live[i],
			         ids[j]);
			if (read_str(xs, dir, "physical-device", val, sizeof(val)) == 0 &&
			    sscanf(val, "%x:%x%c", &maj, &min, &c) == 2 && maj == 7)
				out[n++] = (int)min;
		}
	}
	return n;
}

unsigned xen_devs_sweep(struct xs_handle *xs, const uint32_t *live, unsigned nlive,
                        const char *state_dir)
{
	static const char *const kinds[] = { "vif", "vbd" };
	unsigned freed = 0, k, i, n, nused;
	int used[256];
	size_t sdlen = strlen(state_dir);
	DIR *dir;
	struct dirent *de;

	for (k = 0; k < 2; k++) {
		char path[128];
		char **e;

		snprintf(path, sizeof(path), "/local/domain/0/backend/%s", kinds[k]);
		e = xs_directory(xs, XBT_NULL, path, &n);
		for (i = 0; e && i < n; i++) {
			char *end;
			unsigned long id;

			errno = 0;
			id = strtoul(e[i], &end, 10);
			if (errno || *end || end == e[i] || id == 0 || is_live(live, nlive, id))
				continue;
			snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%lu", kinds[k],
			         id);
			if (xs_rm(xs, XBT_NULL, path)) {
				log_info("xen: removed %s, left by domain %lu that is gone", path,
				         id);
				freed++;
			}
		}
		free(e);
	}
	/* Loops over our files that no live back end uses (autoclear frees a busy one later). */
	nused = live_loops(xs, live, nlive, used, sizeof(used) / sizeof(used[0]));
	dir = opendir("/sys/block");
	while (dir && (de = readdir(dir))) {
		char backing[1024], why[200];
		int nr, fd, j, inuse = 0;
		char c;

		if (sscanf(de->d_name, "loop%d%c", &nr, &c) != 1 ||
		    hostdev_loop_backing(nr, backing, sizeof(backing)) < 0)
			continue;
		if (strncmp(backing, state_dir, sdlen) || backing[sdlen] != '/')
			continue;
		for (j = 0; j < (int)nused; j++)
			inuse |= used[j] == nr;
		if (inuse)
			continue;
		fd = hostdev_loop_open(nr, why, sizeof(why));
		if (fd < 0)
			continue;
		hostdev_loop_release(fd);
		log_info("xen: freed loop%d (%s), which no domain uses", nr, backing);
		freed++;
	}
	if (dir)
		closedir(dir);
	return freed;
}

/* A counter file's value; 0 when it cannot be read. */
static uint64_t counter(const char *dir, const char *name)
{
	char path[256], buf[32];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	return strtoull(buf, NULL, 10);
}

/*
 * Is vif DOMID.I up: on its bridge (a port of one) and with carrier, which
 * netback turns on only once the guest's front end has connected its
 * rings?  Before that, a frame for the guest has nowhere to go.
 */
static int vif_up(uint32_t domid, unsigned i)
{
	char path[128], buf[16];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/vif%u.%u/brport", domid, i);
	if (access(path, F_OK) < 0)
		return 0;
	snprintf(path, sizeof(path), "/sys/class/net/vif%u.%u/operstate", domid, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return r >= 2 && !strncmp(buf, "up", 2);
}

unsigned xen_devs_stats(const struct xen_devs *x, struct be_dev_stats *out, unsigned max)
{
	char dir[128];
	unsigned i, n = 0;

	if (x->domid == INVALID_DOMID_)
		return 0;
	for (i = 0; i < x->nvbds && n < max; i++, n++) {
		struct be_dev_stats *s = &out[n];

		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", x->vbd[i].name);
		snprintf(dir, sizeof(dir), "/sys/bus/xen-backend/devices/vbd-%u-%u/statistics",
		         x->domid, x->vbd[i].vdev);
		s->reads = counter(dir, "rd_req");
		s->writes = counter(dir, "wr_req");
		s->flushes = counter(dir, "f_req");
		s->read_bytes = counter(dir, "rd_sect") * 512;
		s->write_bytes = counter(dir, "wr_sect") * 512;
	}
	for (i = 0; i < x->nvifs && n < max; i++, n++) {
		struct be_dev_stats *s = &out[n];

		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", x->vif[i].name);
		s->nic = 1;
		snprintf(dir, sizeof(dir), "/sys/class/net/vif%u.%u/statistics", x->domid, i);
		/* The guest's view: what it sends, the vif receives. */
		s->tx_packets = counter(dir, "rx_packets");
		s->tx_bytes = counter(dir, "rx_bytes");
		s->tx_errors = counter(dir, "rx_errors");
		s->tx_dropped = counter(dir, "rx_dropped");
		s->rx_packets = counter(dir, "tx_packets");
		s->rx_bytes = counter(dir, "tx_bytes");
		s->rx_errors = counter(dir, "tx_errors");
		s->rx_dropped = counter(dir, "tx_dropped");
		s->up = vif_up(x->domid, i);
	}
	return n;
}
