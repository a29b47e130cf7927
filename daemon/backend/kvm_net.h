/*
 * The KVM backend's taps (kvm_net.c).
 */
#ifndef SHOALD_KVM_NET_H
#define SHOALD_KVM_NET_H

#include <net/if.h>
#include <stddef.h>

/*
 * Make tap `tap` (IFF_TAP, no packet information, not persistent; with
 * vnet_hdr a virtio_net_hdr before each frame, for a proc guest), put it
 * on `bridge` and bring it up.  Returns its descriptor (non-blocking,
 * close-on-exec), or -1 with why (be_fail's convention).
 */
int kvm_tap_open(const char *tap, const char *bridge, int vnet_hdr, char *why, size_t whylen);
/* Is tap there, on bridge?  0, or -1 with why. */
int kvm_tap_check(const char *tap, const char *bridge, char *why, size_t whylen);

/*
 * The taps shoald holds itself (kvm_net.c's second comment): one per NIC
 * of a guest it started, in use while a tender has it, idle between that
 * guest's runs.
 */
struct kvm_tap {
	struct kvm_tap *next;
	char name[IFNAMSIZ], bridge[IFNAMSIZ];
	char guest[64]; /* whose NIC it is */
	int fd;         /* shoald's own descriptor: the tap lives as long as it is open */
	int in_use;     /* a tender has it */
	int limited;    /* proc: it carries a rate limit's filters (proc_rate.c) */
};

/*
 * The tap for guest's NIC tap on bridge: the one held for it (checked,
 * moved to bridge if the NIC moved, its stale frames dropped), else a new
 * one (kvm_tap_open), held from now on.  *out is the hold, in use; its
 * descriptor stays shoald's (send a copy).  0, or -1 with why.
 */
int kvm_tap_take(struct kvm_tap **taps, const char *guest, const char *tap, const char *bridge,
                 int vnet_hdr, struct kvm_tap **out, char *why, size_t whylen);
/* The tender that had t is gone (or going): t waits for its guest's next run. */
void kvm_tap_idle(struct kvm_tap *t);
/* Let go of t (unlinked from taps, closed off the loop: kvm_tap_close). */
void kvm_tap_drop(struct kvm_tap **taps, struct kvm_tap *t);
/*
 * Let go of guest's idle taps: all of them (keep NULL), or those not
 * named in keep[0, nkeep).  Returns how many.
 */
unsigned kvm_tap_let_go(struct kvm_tap **taps, const char *guest, const char *const *keep,
                        unsigned nkeep);
/*
 * Close a tap's last descriptor in a thread of its own: the kernel
 * unregisters the device then, which waits for RCU grace periods (20 ms
 * and more), never on shoald's loop.
 */
void kvm_tap_close(int fd);

#endif
