/*
 * The KVM backend's taps (kvm_net.c).
 */
#ifndef SHOALD_KVM_NET_H
#define SHOALD_KVM_NET_H

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

#endif
