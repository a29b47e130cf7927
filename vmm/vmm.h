/*
 * shoal-vmm, the KVM tender: one process runs one guest.  This header is
 * the map of its pieces: the hypercall handlers (hypercall.c), the VM
 * itself (kvm.c), the control thread (control.c) and the syscall filter
 * (seccomp.c).  The hypercall handlers are pure functions over memory, so
 * the unit tests drive them directly.  The image check it loads with
 * (common/image.h) and its control protocol (common/vmm_proto.h) are
 * contracts shared with shoald, so they live outside this folder.
 */
#ifndef SHOAL_VMM_H
#define SHOAL_VMM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <shoal/abi.h>

#include "common/guest_exit.h"
#include "common/image.h"
#include "common/vmm_proto.h"

/* ---- Hypercalls (hypercall.c) --------------------------------------- */

struct vmm_guestmem {
	uint8_t *base;
	uint64_t size;
};

enum vmm_hc_outcome {
	VMM_HC_CONTINUE = 0, /* resume the guest */
	VMM_HC_STOP = 1,     /* the guest is over: see status and reason */
};

struct vmm_hc_result {
	int status; /* a GUEST_EXIT_* or the guest's exit code */
	char reason[512];
};

/* Where guest console output goes: called on the vCPU thread. */
struct iovec;
struct vmm_console_sink {
	void (*write)(void *ctx, const struct iovec *iov, int n);
	void *ctx;
};

/* A sink writing to a file descriptor (whole writes, EINTR retried, errors dropped). */
void vmm_console_to_fd(void *fd_as_ptr, const struct iovec *iov, int n);

/*
 * Run hypercall nr with its argument struct at guest-physical address
 * arg.  Console output goes to the sink.  Every address and length is
 * checked against m; a bad one stops the guest with GUEST_EXIT_BADCALL and
 * a reason naming the field and the value.
 */
enum vmm_hc_outcome vmm_hypercall(const struct vmm_guestmem *m, unsigned nr, uint32_t arg,
                                  const struct vmm_console_sink *console,
                                  struct vmm_hc_result *res);

/* Describe a CPU exception (a struct shoal_hc_fault) in one sentence. */
void vmm_describe_fault(const struct shoal_hc_fault *f, char *buf, size_t len);

/* ---- The VM (kvm.c) -------------------------------------------------- */

struct vmm_devs;

struct vmm_port {
	unsigned port;
	int kick_fd;   /* host -> guest: written by the daemon, irqfd in the VM */
	int notify_fd; /* guest -> host: ioeventfd, read by the daemon */
};

/*
 * Holding the vCPU from another thread: the control thread sets
 * want_pause and kicks the vCPU out of KVM_RUN; the vCPU thread, at the
 * top of its loop, parks on cv until want_pause is clear again.
 */
struct vmm_gate {
	pthread_mutex_t lock;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	int want_pause;    /* also read without the lock by the vCPU loop */
	int parked;        /* the vCPU thread waits in the gate */
	int done;          /* vmm_vm_run() has returned */
};

struct vmm_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	uint64_t mem_max;   /* size of the memory slot */
	uint64_t mem_bytes; /* what the guest is given */
	uint64_t tsc_hz;
	unsigned nports;
	struct vmm_port ports[VMM_PORTS_MAX];
	uint64_t entry, image_bytes, boot_wall_ns;
	uint64_t unbound_notifies;
	int vcpu_tid; /* the thread running the vCPU (set by vmm_vm_create, then vmm_vm_run) */
	struct vmm_gate gate;
	struct vmm_devs *devs;   /* the devices it serves (blk.c, net.c); NULL: none */
	uint64_t internal_ports; /* bit p: port p is a device's doorbell */
	/* Set once by the I/O thread: a ring broke the protocol; the guest ends with it. */
	int io_fatal;
	char io_reason[400];
};

/*
 * Create the VM shell: memory slot of mem_max bytes, in-kernel irqchip,
 * one vCPU in 64-bit mode with its CPUID, APIC and interrupt routes.  No
 * image yet.  Returns 0 or -1 with err set.
 */
int vmm_vm_create(struct vmm_vm *vm, uint64_t mem_max, char *err, size_t errlen);
/* The same on kvm_fd, an open /dev/kvm the VM then owns (-1: open it here). */
int vmm_vm_create_on(struct vmm_vm *vm, int kvm_fd, uint64_t mem_max, char *err, size_t errlen);
/*
 * Wire an event port: kick_fd becomes an irqfd raising the port's vector,
 * notify_fd an ioeventfd on the guest's notify of that port.  Either fd
 * may be -1 for a one-way port.  Call before vmm_vm_run().
 */
int vmm_vm_wire_port(struct vmm_vm *vm, unsigned port, int kick_fd, int notify_fd, char *err,
                     size_t errlen);
/*
 * Load a checked image and set up boot information and registers.
 * argv[0] is the guest's name.  mem_bytes <= mem_max.
 */
int vmm_vm_load(struct vmm_vm *vm, const uint8_t *img, uint64_t len, uint64_t mem_bytes, int argc,
                char *const argv[], int *status, char *err, size_t errlen);
/*
 * Run the guest until it ends.  Returns its status (GUEST_EXIT_* or the
 * guest's code) with the reason in res.
 */
int vmm_vm_run(struct vmm_vm *vm, const struct vmm_console_sink *console,
               struct vmm_hc_result *res);
/*
 * From any thread but the vCPU's: hold the vCPU (pause 1; returns once it
 * is out of the guest and waiting) or let it go on (pause 0).  0, or -1
 * with err when the guest has ended or the vCPU did not stop in 2 s.
 */
int vmm_vm_pause(struct vmm_vm *vm, int pause, char *err, size_t errlen);
/* Whether the vCPU is held now. */
int vmm_vm_paused(struct vmm_vm *vm);
/* The vCPU's thread id (the thread that called vmm_vm_run). */
int vmm_vcpu_tid(void);

/*
 * Wire a port for the tender's own use (a device's doorbell): as
 * vmm_vm_wire_port, but not one of the ports handed to the daemon.
 */
int vmm_vm_wire_internal(struct vmm_vm *vm, unsigned port, int kick_fd, int notify_fd, char *err,
                         size_t errlen);
/*
 * From the I/O thread: end the guest with GUEST_EXIT_BADCALL and reason
 * (the first call wins); the vCPU is kicked out of the guest to see it.
 */
void vmm_vm_fail(struct vmm_vm *vm, const char *reason);

/* ---- Devices: the block back-end and its I/O thread (blk.c) ----------- */

/*
 * The disks a guest is given, served on Xen's blkif ring protocol by one
 * I/O thread that blocks in epoll on the doorbells: an idle guest costs
 * nothing.  Every field the guest writes into a ring is checked: a bad
 * request (a frame outside guest memory, sectors past the disk, a write
 * to a read-only disk, a bad segment) gets an error status; a ring whose
 * producer runs ahead of what it may ends the guest (vmm_vm_fail).
 *
 * Order: vmm_devs_new, vm->devs = devs, vmm_devs_add_disk for each and
 * vmm_devs_attach (in either order; both before vmm_vm_load, which writes
 * the device table), vmm_devs_start (before the syscall filter), then
 * vmm_vm_run.
 */
struct vmm_devs *vmm_devs_new(void);
/* A disk: fd open read-only or read-write as readonly says, whole sectors; fills the next slot. */
int vmm_devs_add_disk(struct vmm_devs *dv, const char *name, int fd, int readonly, char *err,
                      size_t errlen);
/*
 * Wire the doorbell ports (eventfds, irqfd and ioeventfd) of `slots` disk
 * slots into vm: those of the disks added so far, and room for more (a
 * warm tender wires every slot before its syscall filter and is given its
 * disks after READY, when it may make no such calls).
 */
#define VMM_DISKS_MAX 8
int vmm_devs_attach(struct vmm_devs *dv, struct vmm_vm *vm, unsigned slots, char *err,
                    size_t errlen);
/* Write the device table the boot info points at; sets *n. */
void vmm_devs_table(const struct vmm_devs *dv, struct shoal_device *table, uint32_t *n);
/* Start the I/O thread. */
int vmm_devs_start(struct vmm_devs *dv, char *err, size_t errlen);
/* SHOAL_HC_DEVICE on the vCPU thread: connect a device's ring. */
enum vmm_hc_outcome vmm_devs_connect(struct vmm_devs *dv, const struct vmm_guestmem *m,
                                     uint32_t arg, struct vmm_hc_result *res);
/* Requests served and refused, for the tender's report. */
void vmm_devs_counters(const struct vmm_devs *dv, uint64_t *requests, uint64_t *errors);
/*
 * The device counters' page (vmm_proto.h's struct vmm_stats): make the
 * memfd, sealed at VMM_STATS_BYTES, and map it.  Before the syscall
 * filter.  Returns the fd (the devices keep it; the same on a second
 * call) or -1 with err set.
 */
int vmm_devs_stats_open(struct vmm_devs *dv, char *err, size_t errlen);
/*
 * Once every device is given and before the guest runs: list them on the
 * page (disks then NICs, as the device table) and keep their counters
 * there from now on.  Nothing without a page.
 */
void vmm_devs_stats_fill(struct vmm_devs *dv);

/* ---- Devices: the network back-end (net.c) ---------------------------- */

/*
 * A NIC is an existing tap (IFF_TAP | IFF_NO_PI) served on Xen's netif
 * rings by the same I/O thread: the tap's fd sits in its epoll set beside
 * the doorbells, and leaves it while the guest has posted no receive
 * buffer (frames wait in the tap's queue, the thread does not spin).
 * Transmit requests are checked (the frame's page in guest memory, offset
 * and size within it, the size within the MTU, no multi-slot frames) and
 * refused one by one with an error status; a producer that runs ahead
 * ends the guest (vmm_vm_fail).
 *
 * Order: as disks.  vmm_devs_attach wires the doorbells of every NIC slot
 * and puts the taps given so far in the epoll set; a NIC given after it
 * (a warm tender's, by a message, under its syscall filter) takes the
 * next slot and its tap joins the set then.  vmm_devs_set_ipv4 follows
 * the NIC it is for.
 */
#define VMM_NICS_MAX 4
/* A NIC named name on the tap ifname (opened here); mac NULL: one made from both names. */
int vmm_devs_add_nic(struct vmm_devs *dv, const char *name, const char *ifname, const uint8_t *mac,
                     char *err, size_t errlen);
/*
 * A NIC on a tap the caller opened: fd must be /dev/net/tun attached
 * (IFF_TAP | IFF_NO_PI, no IFF_VNET_HDR) to the tap named ifname; it is
 * made non-blocking.  mac unicast and not zero; mtu 0 or 1500 (the only
 * one served).  On success the devices own fd; on failure the caller
 * still does (-1, err names what was wrong).
 */
int vmm_devs_add_nic_fd(struct vmm_devs *dv, const char *name, const char *ifname, int fd,
                        const uint8_t *mac, unsigned mtu, char *err, size_t errlen);
/* The last NIC's IPv4 address, prefix length and gateway (network order; gateway 0: none). */
int vmm_devs_set_ipv4(struct vmm_devs *dv, uint32_t addr, unsigned prefix_len, uint32_t gateway,
                      char *err, size_t errlen);
/*
 * The guest's rate limit, the same each way (what it sends, what it is
 * given): packets and bytes a second, 0 for no limit.  Frames beyond it
 * wait (in the ring, in the tap's queue), counted as held back.
 */
void vmm_devs_set_rate(struct vmm_devs *dv, uint64_t pps, uint64_t bytes_per_s);
/* One line per NIC on fd: frames and bytes each way, errors, what was held back. */
void vmm_devs_report(const struct vmm_devs *dv, int fd);

/* ---- The daemon's side, after boot (control.c) ------------------------ */

/*
 * The control thread: watches the daemon's connection, accepts a new
 * daemon on the listening socket (re-attach), and routes console output
 * to the attached daemon or a bounded buffer.  See vmm_proto.h.
 */
struct vmm_ctl;

/* Create the (waiting) control thread; before the syscall filter.  NULL on error. */
struct vmm_ctl *vmm_ctl_create(struct vmm_vm *vm, char *err, size_t errlen);
/*
 * Start serving, once the guest is loaded: conn is the daemon's
 * connection, console_fd the pipe to it (the tender's stdout), listen_fd
 * and exit_fd as BOOT gave them (-1 for none), stats_fd the device
 * counters' page, sent last with every ATTACHED (kept open: not closed here).
 */
void vmm_ctl_start(struct vmm_ctl *c, int conn, int console_fd, int listen_fd, int exit_fd,
                   int stats_fd, const char *name, uint64_t instance);
/* The console sink that follows the attached daemon. */
void vmm_ctl_console(void *ctl, const struct iovec *iov, int n);
/* Report the guest's end: EXITED to the daemon, or the exit record. */
void vmm_ctl_exited(struct vmm_ctl *c, int status, const char *reason);

/* ---- Syscall filter (seccomp.c) -------------------------------------- */

/*
 * Confine the process to what a running tender needs (a filter compiled
 * at build time from seccomp_gen.c).  Disallowed calls end the tender
 * with GUEST_EXIT_INTERNAL naming the syscall.
 */
int vmm_seccomp_apply(char *err, size_t errlen);

#endif /* SHOAL_VMM_H */
