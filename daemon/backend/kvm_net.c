/*
 * The KVM backend's taps: shoald makes each guest NIC's tap, puts it on
 * its bridge and brings it up, then hands the descriptor to the tender
 * (a NIC message), which is all the tender ever gets: no capability, no
 * path.  The tap is not persistent: it goes away with the last
 * descriptor; while the tender runs, a restarted shoald finds it again by
 * name.
 *
 * shoald keeps a descriptor of its own to each tap it made (struct
 * kvm_tap), so that the last one is not the tender's: closing it
 * unregisters the device, which waits for RCU grace periods (20 to 28 ms
 * here), and a tender that held it took that long more to end, on every
 * stop, and the guest's next run had to wait for the name to be free.
 * Held, the tap outlives the tender: the guest's next run (a restart, a
 * redeploy, an on-demand wake) takes it as it is, on its bridge and up,
 * and a tap shoald no longer needs is closed in a thread of its own.  A
 * kill -9 of shoald closes its holds with it: a running guest's tap stays
 * with its tender, a stopped guest's goes.  A re-adopted guest's taps are
 * not held again (a second descriptor to an existing tap is only had
 * through a multi-queue tap's TUNSETIFF): they go with its tender, as
 * before.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/hostdev.h"
#include "daemon/backend/kvm_net.h"
#include "daemon/log.h"

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
	if (hostdev_enslave(tap, bridge, 1, why, whylen) < 0) {
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

static void *tap_closer(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

void kvm_tap_close(int fd)
{
	pthread_attr_t a;
	pthread_t t;
	int r;

	if (fd < 0)
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, tap_closer, (void *)(intptr_t)fd);
	pthread_attr_destroy(&a);
	if (r != 0) {
		log_warnx("cannot start a thread to close a tap in: %s; closing it here",
		          strerror(r));
		close(fd); /* the loop pays for it this once */
	}
}

/*
 * Frames that came to an idle tap (from the bridge, while no tender read
 * it) are a past run's: the next guest does not get them.  The kernel
 * keeps at most its queue's length (tx_queue_len, 500 for a tap) of them.
 */
static void tap_drain(int fd)
{
	char buf[2048]; /* a longer frame is dropped whole all the same */
	unsigned i;

	for (i = 0; i < 4096 && read(fd, buf, sizeof(buf)) >= 0; i++)
		;
}

int kvm_tap_take(struct kvm_tap **taps, const char *guest, const char *tap, const char *bridge,
                 int vnet_hdr, struct kvm_tap **out, char *why, size_t whylen)
{
	struct kvm_tap *t;
	char master[IFNAMSIZ], checkwhy[200];

	for (t = *taps; t; t = t->next)
		if (!strcmp(t->name, tap))
			break;
	if (t && (t->in_use || strcmp(t->guest, guest)))
		return be_fail(why, whylen, "tap %s is held for guest %s%s", tap, t->guest,
		               t->in_use ? "'s running tender" : "");
	if (t && hostdev_master(tap, master, sizeof(master)) == 0 && strcmp(master, bridge) &&
	    hostdev_is_bridge(bridge)) {
		/* The NIC moved to another bridge: the tap moves with it. */
		if (hostdev_enslave(tap, bridge, 1, why, whylen) == 0)
			snprintf(t->bridge, sizeof(t->bridge), "%s", bridge);
	}
	if (t && kvm_tap_check(tap, bridge, checkwhy, sizeof(checkwhy)) < 0) {
		/* Taken off its bridge or deleted by hand: let go, the next start makes it anew. */
		kvm_tap_drop(taps, t);
		return be_fail(why, whylen,
		               "%s (changed by hand?): let go of it, the next start makes it anew",
		               checkwhy);
	}
	if (t) {
		tap_drain(t->fd);
		t->in_use = 1;
		*out = t;
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return be_fail(why, whylen, "tap %s: out of memory", tap);
	t->fd = kvm_tap_open(tap, bridge, vnet_hdr, why, whylen);
	if (t->fd < 0) {
		free(t);
		return -1;
	}
	snprintf(t->name, sizeof(t->name), "%s", tap);
	snprintf(t->bridge, sizeof(t->bridge), "%s", bridge);
	snprintf(t->guest, sizeof(t->guest), "%s", guest);
	t->in_use = 1;
	t->next = *taps;
	*taps = t;
	*out = t;
	return 0;
}

void kvm_tap_idle(struct kvm_tap *t)
{
	t->in_use = 0;
}

void kvm_tap_drop(struct kvm_tap **taps, struct kvm_tap *t)
{
	struct kvm_tap **pp;

	for (pp = taps; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	kvm_tap_close(t->fd);
	free(t);
}

unsigned kvm_tap_let_go(struct kvm_tap **taps, const char *guest, const char *const *keep,
                        unsigned nkeep)
{
	struct kvm_tap **pp = taps, *t;
	unsigned n = 0, i;

	while ((t = *pp)) {
		int kept = t->in_use || strcmp(t->guest, guest);

		for (i = 0; !kept && keep && i < nkeep; i++)
			kept = !strcmp(keep[i], t->name);
		if (kept) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		kvm_tap_close(t->fd);
		free(t);
		n++;
	}
	return n;
}
