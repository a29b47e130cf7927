/*
 * The KVM backend's taps: shoald makes each guest NIC's tap, puts it on
 * its bridge and brings it up, then hands the descriptor to the tender
 * (a NIC message), which is all the tender ever gets: no capability, no
 * path.  The tap is not persistent: it goes away with the last
 * descriptor, when the tender ends, however it ends; while the tender
 * runs, a restarted shoald finds it again by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/hostdev.h"
#include "daemon/backend/kvm_net.h"

int kvm_tap_open(const char *tap, const char *bridge, int vnet_hdr, char *why, size_t whylen)
{
	struct ifreq ifr;
	int fd, e;

	if (strlen(tap) >= IFNAMSIZ || strlen(bridge) >= IFNAMSIZ)
		return be_fail(why, whylen, "tap %s or bridge %s: the name is too long", tap,
		               bridge);
	if (!hostdev_is_bridge(bridge))
		return be_fail(why, whylen,
		               "bridge %s does not exist on this host (or is not a "
		               "bridge)",
		               bridge);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return be_fail_errno(why, whylen, "cannot open /dev/net/tun for tap %s", tap);
	memset(&ifr, 0, sizeof(ifr));
	/* A proc guest's frames carry a virtio_net_hdr (TCP segments of up to 64 KiB). */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		if (e == EBUSY)
			return be_fail(why, whylen,
			               "tap %s is held by another process (an earlier run of the "
			               "guest still ending?)",
			               tap);
		errno = e;
		return be_fail_errno(why, whylen, "cannot make tap %s", tap);
	}
	/* On the bridge and up in one request: a frame from the guest never finds the tap off the
	 * bridge. */
	if (hostdev_enslave(tap, bridge, why, whylen) < 0) {
		close(fd); /* not persistent: the tap goes with it */
		return -1;
	}
	return fd;
}

int kvm_tap_check(const char *tap, const char *bridge, char *why, size_t whylen)
{
	char master[IFNAMSIZ];

	if (if_nametoindex(tap) == 0)
		return be_fail(why, whylen, "tap %s is gone", tap);
	if (hostdev_master(tap, master, sizeof(master)) < 0)
		return be_fail(why, whylen, "tap %s is on no bridge", tap);
	if (strcmp(master, bridge))
		return be_fail(why, whylen, "tap %s is on %s, not on bridge %s", tap, master,
		               bridge);
	return 0;
}
