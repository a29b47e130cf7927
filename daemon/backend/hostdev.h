/*
 * Host devices a back-end driver in the kernel serves to a guest: loop
 * devices over disk files and bridge ports (hostdev.c).  Nothing here
 * knows of a hypervisor; each call is quick and never waits on a guest.
 * The error convention is the backends' (be_fail): 0 or a descriptor, or
 * -1 with one line in err.
 */
#ifndef SHOALD_HOSTDEV_H
#define SHOALD_HOSTDEV_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Attach the file at path to a free loop device, read-only when readonly,
 * with autoclear: the device is freed when its last user closes it.
 * Returns the loop device's descriptor (close-on-exec), which the caller
 * holds for as long as the device is to stay (closing it first frees the
 * device at once), and its number in *nr and device number in *rdev.
 */
int hostdev_loop_attach(const char *path, int readonly, int *nr, dev_t *rdev, char *err,
                        size_t errlen);
/*
 * Detach the loop device open at fd (its users keep it until they close
 * it: autoclear) and close fd.  Never fails: there is nothing the caller
 * could do about it.
 */
void hostdev_loop_release(int fd);
/* Open loop device nr again (after a daemon restart); -1 with err. */
int hostdev_loop_open(int nr, char *err, size_t errlen);
/*
 * The file loop device nr is attached to, into buf; 0, or -1 when it is
 * not attached (or no such device).
 */
int hostdev_loop_backing(int nr, char *buf, size_t len);
/* Whether loop device nr is attached read-only: 1, 0, or -1 when it is not attached. */
int hostdev_loop_readonly(int nr);

/*
 * Put interface ifname on bridge (rtnetlink: IFLA_MASTER) and bring it
 * up; with no_ll, with no IPv6 address of its own on the host first (a
 * bridge port needs none; guests' taps).  0, or -1 with err (no such
 * interface, bridge not a bridge).
 */
int hostdev_enslave(const char *ifname, const char *bridge, int no_ll, char *err, size_t errlen);
/* The bridge ifname is on, into buf; 0, or -1 when it is on none (or gone). */
int hostdev_master(const char *ifname, char *buf, size_t len);
/* Whether ifname is a bridge. */
int hostdev_is_bridge(const char *ifname);

#endif
