/*
 * shoal-vmm's outside contract: the control
 * protocol a daemon speaks with a pre-created ("warm") tender over a
 * SOCK_SEQPACKET socket.  Shared by the tender, shoald's KVM backend,
 * the tests and the benchmarks.
 *
 * Warm start, in order:
 *   tender -> daemon  READY    the VM and vCPU exist; carries, as
 *                              SCM_RIGHTS, two eventfds per wired port
 *                              (host->guest "kick", guest->host "notify")
 *   daemon -> tender  DISK     (none or more) a disk's name and file
 *   daemon -> tender  NIC      (none or more) a NIC's name, addresses and
 *                              tap (the daemon made the tap and put it on
 *                              its bridge: the tender gets only the fd)
 *   daemon -> tender  BOOT     image (an fd, SCM_RIGHTS), name, memory,
 *                              arguments
 *   tender -> daemon  STARTED  the image is loaded and the vCPU entered
 *                              (or ERROR with the reason, then exit);
 *                              carries the device counters' page (a
 *                              memfd, struct vmm_stats) as SCM_RIGHTS
 *   tender -> daemon  EXITED   the guest ended; then the tender exits
 *                              with the status in the message
 *
 * Surviving the daemon.  BOOT may carry a listening socket: once the guest
 * runs, a daemon that connects there (a restarted one) is sent ATTACHED,
 * with the port eventfds, the read end of a fresh console pipe and the
 * device counters' page, and
 * becomes the tender's daemon.  While no daemon is attached, console
 * output is kept in a bounded buffer and handed over on attach.  BOOT may
 * also carry an exit-record file: a guest that ends while no daemon is
 * attached leaves its status, reason and buffered console there (see
 * vmm_exit_record_parse()).
 */
#ifndef SHOAL_VMM_PROTO_H
#define SHOAL_VMM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/guest_exit.h"

#define VMM_PROTO_VERSION 1
#define VMM_MSG_MAX       (80 * 1024)
#define VMM_PORTS_MAX     8 /* wired ports per guest */
#define VMM_FDS_MAX       (2 * VMM_PORTS_MAX + 4)

enum vmm_msg_type {
	VMM_MSG_READY = 1,
	VMM_MSG_BOOT = 2,
	VMM_MSG_STARTED = 3,
	VMM_MSG_EXITED = 4,
	VMM_MSG_ERROR = 5,
	VMM_MSG_ATTACHED = 6,
	VMM_MSG_PAUSE = 7,  /* daemon -> tender: a bare header; PAUSED answers */
	VMM_MSG_RESUME = 8, /* daemon -> tender: a bare header; PAUSED answers */
	VMM_MSG_PAUSED = 9,
	VMM_MSG_DISK = 10, /* daemon -> tender, after READY and before BOOT: one disk and its fd */
	VMM_MSG_NIC = 11,  /* daemon -> tender, after READY and before BOOT: one NIC and its tap */
};

struct vmm_msg_hdr {
	uint32_t type;
	uint32_t version;
};

/*
 * pid and vcpu_tid (READY, ATTACHED) are as the tender sees them, in the
 * pid namespace of its own shoald starts it in (pid 1 there): shoald
 * knows the pid and finds the thread's host id from them.
 */
struct vmm_msg_ready {
	struct vmm_msg_hdr hdr;
	uint32_t pid;
	uint32_t vcpu_tid;
	uint64_t mem_max_bytes; /* BOOT may ask for at most this */
	uint32_t nports;        /* fds carried: 2 * nports, in port order */
	uint32_t ports[VMM_PORTS_MAX];
};

#define VMM_BOOT_LISTEN  1u /* an fd after the image: listening socket for re-attach */
#define VMM_BOOT_EXITREC 2u /* an fd after that: exit-record file */

struct vmm_msg_boot {
	struct vmm_msg_hdr hdr;
	char name[64];       /* NUL-terminated */
	uint64_t instance;   /* the daemon's id for this run of the guest */
	uint64_t mem_bytes;  /* 0: the shell's size */
	uint32_t flags;      /* VMM_BOOT_* */
	uint32_t argc;       /* argv[0] is the name; args holds argv[1..] */
	uint32_t args_bytes; /* NUL-separated strings, argc - 1 of them */
	uint32_t _pad;
	char args[];
};

struct vmm_msg_started {
	struct vmm_msg_hdr hdr;
	uint64_t boot_wall_ns;
	uint64_t entry;
	uint64_t image_bytes;
};

struct vmm_msg_exited {
	struct vmm_msg_hdr hdr;
	int32_t status; /* the tender's exit status */
	uint32_t _pad;
	char reason[512];
};

struct vmm_msg_attached {
	struct vmm_msg_hdr hdr;
	char name[64];
	uint64_t instance;
	uint32_t pid;
	uint32_t vcpu_tid;
	uint64_t boot_wall_ns;
	uint64_t mem_bytes;
	uint64_t console_dropped; /* bytes lost while no daemon was attached */
	uint32_t nports;          /* fds: 2 per port, the console's read end, the counters' page */
	uint32_t ports[VMM_PORTS_MAX];
	uint32_t paused; /* the vCPU is held (PAUSE) */
	uint32_t _pad;
};

/* The answer to PAUSE and RESUME, once the vCPU is held or let go. */
struct vmm_msg_paused {
	struct vmm_msg_hdr hdr;
	uint32_t paused; /* the vCPU's state now */
	int32_t status;  /* 0, or -1 with the reason */
	char reason[200];
};

/*
 * A disk for the guest about to boot, with its file as SCM_RIGHTS (opened
 * read-only for a read-only disk): at most 8, each sent before BOOT, in
 * the order the guest's device table lists them.
 */
struct vmm_msg_disk {
	struct vmm_msg_hdr hdr;
	char name[32]; /* NUL-terminated: 1 to 31 of a-z, 0-9, '-', '_' */
	uint32_t readonly;
	uint32_t _pad;
};

/*
 * A NIC for the guest about to boot, with its tap as SCM_RIGHTS (opened by
 * the daemon, IFF_TAP | IFF_NO_PI, already on its bridge): at most
 * VMM_NICS_MAX, each sent before BOOT, in the order the guest's device
 * table lists them (after the disks).  The rate limit is the guest's, each
 * way, across all its NICs: every NIC message carries the same one.
 */
struct vmm_msg_nic {
	struct vmm_msg_hdr hdr;
	char name[32];       /* NUL-terminated, as a disk's */
	char ifname[16];     /* the tap's name, NUL-terminated: for the tender's reports */
	uint8_t mac[6];      /* unicast */
	uint16_t mtu;        /* 0: 1500 */
	uint32_t ipv4;       /* network order; 0: none (the guest configures itself) */
	uint32_t gateway;    /* network order; 0: none */
	uint32_t prefix_len; /* 0 to 32 */
	uint32_t _pad;
	uint64_t rate_pps;   /* packets a second each way; 0: no limit */
	uint64_t rate_bytes; /* bytes a second each way; 0: no limit */
};

/*
 * The device counters' page.  The tender makes it (a memfd of
 * VMM_STATS_BYTES, sealed against growing and shrinking), fills in the
 * devices before the guest runs and sends it with STARTED and with
 * ATTACHED; its I/O thread then bumps the counters with relaxed atomic
 * stores, and a daemon maps it read-only and reads them when it likes.
 * A daemon checks magic, version and ndevs on every read: the page is the
 * tender's, and the tender runs a guest.  shoal-proc makes the same page
 * and maps it into the guest, which bumps its own counters with plain
 * stores (unikernel-rt's abi.h, SHOAL_PROC_STATS): there the page is the
 * guest's word.
 */
#define VMM_STATS_MAGIC    0x5441545348534d56ull /* "VMSHSTAT" */
#define VMM_STATS_VERSION  2                     /* 2: VMM_STAT_NIC_UP */
#define VMM_STATS_DEVS     16
#define VMM_STATS_BYTES    4096
#define VMM_STAT_KIND_DISK 1
#define VMM_STAT_KIND_NIC  2

enum vmm_stat_disk {
	VMM_STAT_DISK_READS,       /* read requests done */
	VMM_STAT_DISK_WRITES,      /* write requests done */
	VMM_STAT_DISK_FLUSHES,     /* flush requests done */
	VMM_STAT_DISK_READ_BYTES,  /* bytes read */
	VMM_STAT_DISK_WRITE_BYTES, /* bytes written */
	VMM_STAT_DISK_ERRORS,      /* requests answered with an error status */
};

enum vmm_stat_nic {
	VMM_STAT_NIC_TX_PACKETS, /* frames from the guest, written to the tap */
	VMM_STAT_NIC_TX_BYTES,
	VMM_STAT_NIC_TX_ERRORS,  /* refused requests (bad page, length, ...) */
	VMM_STAT_NIC_TX_DROPPED, /* frames the tap did not take */
	VMM_STAT_NIC_RX_PACKETS, /* frames from the tap, given to the guest */
	VMM_STAT_NIC_RX_BYTES,
	VMM_STAT_NIC_RX_ERRORS,
	VMM_STAT_NIC_RX_DROPPED, /* frames read from the tap with nowhere to put them */
	VMM_STAT_NIC_TX_HELD,    /* times the rate limit held the guest's frames back */
	VMM_STAT_NIC_RX_HELD,    /* times the rate limit held frames for the guest back */
	/*
	 * 1 once the guest has brought the NIC up (connected its rings; on
	 * proc, opened its tap): a frame for it from then on reaches its
	 * stack, where one sent before may wait for it (or, on Xen, where
	 * the vif is made only then, be lost).  shoald's DNS wake waits for it.
	 */
	VMM_STAT_NIC_UP,
};

#define VMM_STAT_COUNTERS 12

struct vmm_dev_stats {
	char name[32]; /* NUL-terminated */
	uint32_t kind; /* VMM_STAT_KIND_* */
	uint32_t _pad;
	uint64_t c[VMM_STAT_COUNTERS]; /* by enum vmm_stat_disk or vmm_stat_nic */
};

struct vmm_stats {
	uint64_t magic;
	uint32_t version;
	uint32_t ndevs; /* disks first, then NICs, as the device table */
	struct vmm_dev_stats dev[VMM_STATS_DEVS];
};

struct vmm_msg_error {
	struct vmm_msg_hdr hdr;
	int32_t status;
	uint32_t _pad;
	char reason[512];
};

/*
 * The layouts are the protocol: a tender and a shoald of one build speak
 * it, and a tender outlives the shoald that started it (re-attach), so
 * every size and the offsets after padding are pinned here.
 */
#define VMM_PROTO_LAYOUT(t, size)                                                                  \
	_Static_assert(sizeof(struct t) == (size), "struct " #t " changed size")
#define VMM_PROTO_AT(t, f, off)                                                                    \
	_Static_assert(offsetof(struct t, f) == (off), "struct " #t "." #f " moved")
VMM_PROTO_LAYOUT(vmm_msg_hdr, 8);
VMM_PROTO_LAYOUT(vmm_msg_ready, 64);
VMM_PROTO_AT(vmm_msg_ready, mem_max_bytes, 16);
VMM_PROTO_AT(vmm_msg_ready, ports, 28);
VMM_PROTO_LAYOUT(vmm_msg_boot, 104);
VMM_PROTO_AT(vmm_msg_boot, instance, 72);
VMM_PROTO_AT(vmm_msg_boot, args, 104);
VMM_PROTO_LAYOUT(vmm_msg_started, 32);
VMM_PROTO_LAYOUT(vmm_msg_exited, 528);
VMM_PROTO_AT(vmm_msg_exited, reason, 16);
VMM_PROTO_LAYOUT(vmm_msg_attached, 160);
VMM_PROTO_AT(vmm_msg_attached, instance, 72);
VMM_PROTO_AT(vmm_msg_attached, boot_wall_ns, 88);
VMM_PROTO_AT(vmm_msg_attached, ports, 116);
VMM_PROTO_AT(vmm_msg_attached, paused, 148);
VMM_PROTO_LAYOUT(vmm_msg_paused, 216);
VMM_PROTO_AT(vmm_msg_paused, reason, 16);
VMM_PROTO_LAYOUT(vmm_msg_disk, 48);
VMM_PROTO_AT(vmm_msg_disk, readonly, 40);
VMM_PROTO_LAYOUT(vmm_msg_nic, 96);
VMM_PROTO_AT(vmm_msg_nic, ifname, 40);
VMM_PROTO_AT(vmm_msg_nic, mac, 56);
VMM_PROTO_AT(vmm_msg_nic, ipv4, 64);
VMM_PROTO_AT(vmm_msg_nic, rate_pps, 80);
VMM_PROTO_LAYOUT(vmm_dev_stats, 136);
_Static_assert(VMM_STAT_NIC_UP < VMM_STAT_COUNTERS, "the NIC counters fit");
VMM_PROTO_AT(vmm_dev_stats, c, 40);
VMM_PROTO_LAYOUT(vmm_stats, 16 + VMM_STATS_DEVS * 136);
_Static_assert(sizeof(struct vmm_stats) <= VMM_STATS_BYTES, "the counters' page overflows");
VMM_PROTO_LAYOUT(vmm_msg_error, 528);
VMM_PROTO_AT(vmm_msg_error, reason, 16);
/* The daemon reads ERROR and EXITED alike: the same layout. */
_Static_assert(sizeof(struct vmm_msg_error) == sizeof(struct vmm_msg_exited),
               "ERROR and EXITED differ");
_Static_assert(VMM_PORTS_MAX == 8, "VMM_PORTS_MAX is part of READY's and ATTACHED's layouts");

/*
 * An exit record, as a tender leaves it: "status N\nreason TEXT\n" then
 * the console bytes it still held.  Parses buf[0, len); returns 0 and
 * sets status, reason (NUL-terminated, at most reason_len) and the
 * console's offset in buf, or -1 if buf is not an exit record.
 */
int vmm_exit_record_parse(const char *buf, size_t len, int *status, char *reason, size_t reason_len,
                          size_t *console_off);

/*
 * Send one message with up to nfds descriptors.  Returns 0 or -errno.
 */
int vmm_msg_send(int sock, const void *msg, size_t len, const int *fds, unsigned nfds);
/*
 * Receive one message into buf (capacity cap) and up to *nfds descriptors
 * (set to how many arrived; extra ones are closed).  Returns the message
 * length, 0 at end of stream, or -errno (-EMSGSIZE when truncated).
 */
long vmm_msg_recv(int sock, void *buf, size_t cap, int *fds, unsigned *nfds);

#endif /* SHOAL_VMM_PROTO_H */
