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
 *   daemon -> tender  BOOT     image (an fd, SCM_RIGHTS), name, memory,
 *                              arguments
 *   tender -> daemon  STARTED  the image is loaded and the vCPU entered
 *                              (or ERROR with the reason, then exit)
 *   tender -> daemon  EXITED   the guest ended; then the tender exits
 *                              with the status in the message
 *
 * Surviving the daemon.  BOOT may carry a listening socket: once the guest
 * runs, a daemon that connects there (a restarted one) is sent ATTACHED,
 * with the port eventfds and the read end of a fresh console pipe, and
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
#define VMM_FDS_MAX       (2 * VMM_PORTS_MAX + 3)

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
};

struct vmm_msg_hdr {
	uint32_t type;
	uint32_t version;
};

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
	uint32_t nports;          /* fds: 2 per port, then the console's read end */
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
