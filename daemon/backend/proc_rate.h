/*
 * The proc backend's network rate limit.  A proc guest reads and writes
 * its tap itself, so no tender can meter it as shoal-vmm does (vmm/net.c):
 * the host kernel does, with a BPF program on each of the guest's taps
 * (cls_bpf, direct action, on the tap's clsact qdisc).  What the guest
 * sends comes in on the tap (ingress), what it receives goes out of it
 * (egress); a token bucket each way for packets and one for bytes, shared
 * by the guest's NICs, with a second of the rate as burst, as the KVM
 * tender's.  What is over the limit is dropped, not delayed (a tap has
 * no queue to hold it in), and counted per NIC and direction.
 *
 * The program and its maps belong to the taps' filters: a restarted
 * shoald finds them again through the tap (proc_rate_find), and they go
 * with the tap when the guest ends and shoald has let go of its map.
 */
#ifndef SHOALD_PROC_RATE_H
#define SHOALD_PROC_RATE_H

#include <stddef.h>
#include <stdint.h>

/* The filters' place on a tap's clsact hooks: shoald's, and no other's. */
#define PROC_RATE_HANDLE 0x5ea1
#define PROC_RATE_PRIO   1

/*
 * Nonzero when this shoald was built with the rate limit (configure found
 * clang's bpf target and libbpf); else why not in why, for the refusal.
 */
int proc_rate_built(char *why, size_t whylen);

/*
 * Load the limit for pps packets and bytes_per_s bytes a second each way
 * (0: that one unlimited) and attach it to both hooks of each of the n
 * taps.  Returns the counters' map (proc_rate_drops), or -1 with why:
 * then nothing is left on any tap.  ifindex[i] gets taps[i]'s.
 */
int proc_rate_attach(const char *const *taps, unsigned n, uint64_t pps, uint64_t bytes_per_s,
                     int *ifindex, char *why, size_t whylen);

/*
 * Take the limit off tap (both hooks' filters and the clsact qdisc made
 * for them), for a tap shoald keeps from one run of its guest to the
 * next (kvm_net.c): each run's limit is its own.
 */
void proc_rate_detach(const char *tap);

/* The counters' map of the limit on tap, found through its filter; -1: none there. */
int proc_rate_find(const char *tap, int *ifindex);

/* Frames the limit dropped on one tap (its ifindex): what the guest sent, what came for it. */
int proc_rate_drops(int map_fd, int ifindex, uint64_t *tx, uint64_t *rx);

#endif
