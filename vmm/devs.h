/*
 * What the tender's device back-ends share (blk.c, net.c): the guest's
 * device slots and the one I/O thread that serves them all, blocking in
 * epoll on the doorbells and the NICs' taps.  Not part of vmm.h's map:
 * only the back-ends include it.
 */
#ifndef SHOAL_VMM_DEVS_H
#define SHOAL_VMM_DEVS_H

#include <stdint.h>

#include "vmm/vmm.h"

/*
 * Xen's ring macros leave the barriers to the includer from interface
 * 0x00030208 on (before, they call mb() and friends); 4.14's is declared.
 */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#define xen_mb()                  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb()                 __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb()                 __atomic_thread_fence(__ATOMIC_RELEASE)
#include <xen/io/blkif.h>
#include <xen/io/netif.h>

struct disk {
	char name[SHOAL_DEV_NAME_MAX];
	int fd;
	int readonly;
	uint64_t sectors; /* 512-byte */
	unsigned index, port;
	int kick_fd, notify_fd;
	int connected; /* set by the vCPU thread (release) once the ring is known */
	blkif_back_ring_t ring;
	/*
	 * Its counters (enum vmm_stat_disk): own until vmm_devs_stats_fill
	 * points them into the counters' page.  Written by the I/O thread
	 * only, with relaxed atomics (DEVS_STAT_ADD), read by anyone.
	 */
	uint64_t *c;
	uint64_t own[VMM_STAT_COUNTERS];
};

/*
 * A token bucket (Firecracker's rate limiter): `rate` tokens a second,
 * at most a second's worth kept.  A frame is let through while the bucket
 * is not empty and takes what it costs, which may leave it in debt: the
 * next waits until the debt is paid back.  rate 0: no limit.
 */
struct bucket {
	uint64_t rate;
	double tokens;
	uint64_t last_ns;
};

struct nic {
	char name[SHOAL_DEV_NAME_MAX];
	char ifname[16];
	int tap_fd;
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t ipv4, gateway; /* network order */
	uint8_t prefix_len;
	unsigned slot, port;
	int kick_fd, notify_fd;
	int connected; /* as a disk's */
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	int tap_watched; /* the tap is in the epoll set (the guest posted buffers) */
	int tx_skip;     /* slots of a refused multi-slot frame follow */
	uint64_t *c;     /* its counters (enum vmm_stat_nic), as a disk's */
	uint64_t own[VMM_STAT_COUNTERS];
	/* Each way held back by the rate limit until then; 0: not held back. */
	uint64_t tx_resume_ns, rx_resume_ns;
};

#define DEVS_NICS_MAX VMM_NICS_MAX

struct vmm_devs {
	struct vmm_vm *vm;
	unsigned ndisks;
	unsigned nslots; /* disk slots wired by vmm_devs_attach; 0 before */
	struct disk disk[VMM_DISKS_MAX];
	unsigned nnics; /* published with a release store: the I/O thread runs as NICs come */
	struct nic nic[DEVS_NICS_MAX];
	/* The guest's rate limit, each way: packets and bytes a second (0: none). */
	struct bucket tx_pkts, tx_bytes, rx_pkts, rx_bytes;
	int ep;
	pthread_t thread;
	struct vmm_stats *stats; /* the counters' page (shared), NULL before vmm_devs_stats_open */
	int stats_fd;
	int running; /* set by the I/O thread once it runs */
};

/* Bump counter i of a device's by v: the I/O thread's, read meanwhile by a daemon. */
#define DEVS_STAT_ADD(dev, i, v) __atomic_fetch_add(&(dev)->c[(i)], (uint64_t)(v), __ATOMIC_RELAXED)
#define DEVS_STAT(dev, i)        __atomic_load_n(&(dev)->c[(i)], __ATOMIC_RELAXED)

/* What an epoll event's data names: kind << 32 | slot. */
#define DEVS_EV_DISK 1ull
#define DEVS_EV_NIC  2ull /* a NIC's doorbell */
#define DEVS_EV_TAP  3ull /* a NIC's tap is readable */

int devs__fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A device's name: 1 to 31 of a-z, 0-9, '-' and '_', starting with a letter or digit. */
int devs__name_ok(const char *s);
/* Wire every NIC slot's doorbell and put the taps given so far in the epoll set (net.c). */
int devs__nics_attach(struct vmm_devs *dv, char *err, size_t errlen);
/* SHOAL_HC_DEVICE for NIC slot j with the guest's two ring pages at gpa. */
int devs__nic_connect(struct vmm_devs *dv, unsigned j, const struct vmm_guestmem *m, uint64_t gpa);
/* On the I/O thread: what an event of the NIC's asks (doorbell or tap); -1: the guest failed. */
int devs__nic_event(struct vmm_devs *dv, unsigned j, int tap);
/* On the I/O thread: resume throttled NICs that are due; the next wake-up (ns) or 0 for none. */
uint64_t devs__nics_timers(struct vmm_devs *dv, uint64_t now_ns);
/* The device table entries of the NICs, from table[0]. */
void devs__nics_table(const struct vmm_devs *dv, struct shoal_device *table);
uint64_t devs__now_ns(void);
/*
 * A ring whose request producer runs more than its size ahead of the
 * responses: end the guest, naming the device ("disk www's", "NIC lan's
 * transmit") and the indices (the I/O thread's calls, then return -1).
 */
void devs__ring_overflow(struct vmm_devs *dv, const char *kind, const char *name, const char *ring,
                         unsigned prod, unsigned ahead, unsigned size);

#endif /* SHOAL_VMM_DEVS_H */
