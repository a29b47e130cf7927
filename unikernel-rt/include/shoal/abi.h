/*
 * shoal guest ABI: the contract between a guest linked with unikernel-rt
 * and the tender that runs it on KVM (shoal-vmm), or as a process
 * (shoal-proc, the proc platform at the end).  Self-contained C99,
 * included verbatim by both sides; every layout is pinned by a static
 * assertion.  Any change to a layout or a number bumps SHOAL_ABI_VERSION.
 *
 * The Xen platforms do not use this header's memory map, hypercalls or
 * probe port number (Xen defines its own, and the probe port is the one
 * the guest allocates for Dom0); they share only the ELF note.
 */
#ifndef SHOAL_ABI_H
#define SHOAL_ABI_H

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#endif

/* Constants below are also used from assembly and linker scripts. */
#ifdef __ASSEMBLER__
#define SHOAL_U64(x) x
#else
#define SHOAL_U64(x) x##ull
#endif

/* 2: the device table and SHOAL_HC_DEVICE; 3: SHOAL_PROC_STAT_NIC_UP */
#define SHOAL_ABI_VERSION 3

/*
 * Image identification.  Every guest carries one ELF note of this name
 * and type in a PT_NOTE segment; the tender refuses images without it,
 * built for another ABI version, or for another platform.
 */
#define SHOAL_NOTE_NAME     "Shoal" /* namesz 6, padded to 8 */
#define SHOAL_NOTE_TYPE_ABI 0x53480001

#define SHOAL_PLATFORM_KVM     1
#define SHOAL_PLATFORM_XEN_PV  2
#define SHOAL_PLATFORM_XEN_PVH 3
#define SHOAL_PLATFORM_PROC    4 /* a sandboxed host process (shoal-proc), see the end */

#ifndef __ASSEMBLER__
struct shoal_note_abi {
	uint32_t abi_version; /* SHOAL_ABI_VERSION the image was built for */
	uint32_t platform;    /* SHOAL_PLATFORM_* */
	uint32_t stack_kib;   /* stack the guest wants; 0: tender default */
	uint32_t flags;       /* none defined; must be 0 */
};
#endif

/*
 * Guest-physical memory map (KVM platform).  Guest RAM is one range
 * [0, mem_bytes), identity mapped by the tender's page tables; page 0 is
 * left unmapped so that a NULL dereference faults.  Everything below
 * SHOAL_GPA_IMAGE_MIN belongs to the tender; an image must load above it
 * and below the stack.
 */
#define SHOAL_PAGE_SIZE      SHOAL_U64(0x1000)
#define SHOAL_GPA_GDT        SHOAL_U64(0x1000) /* 3 descriptors */
#define SHOAL_GPA_PML4       SHOAL_U64(0x2000)
#define SHOAL_GPA_PDPT       SHOAL_U64(0x3000)
#define SHOAL_GPA_PD         SHOAL_U64(0x4000) /* 4 pages: 4 GiB of 2 MiB pages */
#define SHOAL_GPA_PT0        SHOAL_U64(0x8000) /* 4 KiB pages for the first 2 MiB */
#define SHOAL_GPA_BOOT_INFO  SHOAL_U64(0x9000)
#define SHOAL_GPA_SHARED     SHOAL_U64(0xA000)
#define SHOAL_GPA_ARGS       SHOAL_U64(0xB000) /* argv arrays and strings */
#define SHOAL_ARGS_MAX_BYTES SHOAL_U64(0x10000)
#define SHOAL_GPA_IMAGE_MIN  SHOAL_U64(0x100000)

#define SHOAL_MEM_MIN_BYTES (SHOAL_U64(2) << 20)
#define SHOAL_MEM_MAX_BYTES (SHOAL_U64(4) << 30) /* hypercall arguments are 32-bit GPAs */

#define SHOAL_SEL_CODE 0x08
#define SHOAL_SEL_DATA 0x10

/*
 * Entry: 64-bit mode, paging on, CS/DS as above, interrupts disabled,
 * RDI = SHOAL_GPA_BOOT_INFO, RSP = stack_top - 8 (as after a call),
 * all other general registers zero.  The local APIC is in x2APIC mode,
 * software-enabled, its timer in TSC-deadline mode on SHOAL_VEC_TIMER.
 */

/* Interrupt vectors. */
#define SHOAL_VEC_TIMER    0x30
#define SHOAL_VEC_EVTCHN   0x40 /* vector = SHOAL_VEC_EVTCHN + port */
#define SHOAL_VEC_SPURIOUS 0xFF

/*
 * Event channels.  Ports are numbered 1..SHOAL_EVTCHN_NPORTS-1 (0 is
 * never valid, as on Xen).  Port SHOAL_PORT_PROBE, when bound, is the
 * daemon's latency probe: the runtime answers it with a notify back.
 */
#define SHOAL_EVTCHN_NPORTS 64
#define SHOAL_EVTCHN_WORDS  (SHOAL_EVTCHN_NPORTS / 64)
#define SHOAL_PORT_PROBE    1

/*
 * Port I/O.  A 32-bit OUT to SHOAL_IO_NOTIFY with the port number as data
 * notifies the host side of that port (an ioeventfd when the port is
 * bound: the tender is not woken).  A 32-bit OUT to SHOAL_IO_HYPERCALL + nr
 * with the guest-physical address of the argument struct as data is a
 * hypercall; the tender checks every address and length it is given.
 */
#define SHOAL_IO_HYPERCALL 0x5000
#define SHOAL_IO_NOTIFY    0x5200

#define SHOAL_HC_CONSOLE 1 /* struct shoal_hc_console */
#define SHOAL_HC_EXIT    2 /* struct shoal_hc_exit; does not return */
#define SHOAL_HC_ABORT   3 /* struct shoal_hc_abort; does not return */
#define SHOAL_HC_FAULT   4 /* struct shoal_hc_fault; does not return */
#define SHOAL_HC_DEVICE  5 /* struct shoal_hc_device: connect a device's ring */
#define SHOAL_HC_MAX     5

#define SHOAL_CONSOLE_IOV_MAX   64
#define SHOAL_CONSOLE_MAX_BYTES 65536
#define SHOAL_EXIT_CODE_MAX     199 /* codes above are the tender's own */
#define SHOAL_ABORT_MSG_MAX     1024

#ifndef __ASSEMBLER__
struct shoal_iov {
	uint64_t base; /* guest-physical address */
	uint64_t len;
};

struct shoal_hc_console {
	uint64_t iov;    /* GPA of struct shoal_iov[iovcnt] */
	uint32_t iovcnt; /* <= SHOAL_CONSOLE_IOV_MAX */
	uint32_t _pad;
};

struct shoal_hc_exit {
	int32_t code; /* 0..SHOAL_EXIT_CODE_MAX */
	uint32_t _pad;
};

struct shoal_hc_abort {
	struct shoal_iov file;
	struct shoal_iov msg;
	uint32_t line;
	uint32_t _pad;
};

/*
 * Connect device `index` of the device table: ring is the guest-physical
 * address of the page the guest gave its shared ring (page-aligned, in
 * guest memory, SHARED_RING_INIT done; a NIC's two pages, see
 * SHOAL_NET_RINGS_BYTES).  The tender serves the ring from
 * then on; status is 0, or negative: SHOAL_DEV_ENOENT (no such device),
 * SHOAL_DEV_EINVAL (a bad ring address), SHOAL_DEV_EBUSY (connected
 * already).  As Xen's front-end writes ring-ref and goes Connected.
 */
struct shoal_hc_device {
	uint32_t index;
	int32_t status; /* written by the tender */
	uint64_t ring;
};
#define SHOAL_DEV_ENOENT (-2)
#define SHOAL_DEV_EINVAL (-22)
#define SHOAL_DEV_EBUSY  (-16)

/* Filled by the runtime's exception entry from the CPU's frame. */
struct shoal_hc_fault {
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t cr2;
};

/* An x86 exception vector's name ("page fault (#PF)"), or NULL for one without. */
static inline const char *shoal_exc_name(uint64_t vector)
{
	static const char *const names[] = {
		"divide error (#DE)",
		"debug (#DB)",
		"NMI",
		"breakpoint (#BP)",
		"overflow (#OF)",
		"bound range (#BR)",
		"invalid opcode (#UD)",
		"device not available (#NM)",
		"double fault (#DF)",
		"coprocessor segment overrun",
		"invalid TSS (#TS)",
		"segment not present (#NP)",
		"stack fault (#SS)",
		"general protection (#GP)",
		"page fault (#PF)",
		"reserved vector 15",
		"x87 floating point (#MF)",
		"alignment check (#AC)",
		"machine check (#MC)",
		"SIMD floating point (#XM)",
		"virtualisation (#VE)",
		"control protection (#CP)",
	};

	return vector < sizeof(names) / sizeof(names[0]) ? names[vector] : (const char *)0;
}
#endif

/*
 * Boot information, written by the tender at SHOAL_GPA_BOOT_INFO before
 * the guest runs; read-only for the guest.
 */
#define SHOAL_BOOT_MAGIC 0x4c414f48 /* "HOAL" */
#define SHOAL_NAME_MAX   64

#ifndef __ASSEMBLER__
struct shoal_boot_info {
	uint32_t magic;
	uint16_t abi_version;
	uint16_t platform;
	uint64_t mem_bytes;  /* guest RAM is [0, mem_bytes) */
	uint64_t heap_start; /* first free byte after the image */
	uint64_t heap_end;   /* the stack area starts here */
	uint64_t stack_top;
	uint64_t tsc_hz;
	uint64_t boot_tsc;      /* guest TSC when boot_wall_ns was taken */
	uint64_t boot_wall_ns;  /* CLOCK_REALTIME, ns since the epoch */
	uint64_t tsc_to_ns_mul; /* ns = (tsc_delta * mul) >> 32 */
	uint64_t ns_to_tsc_mul; /* tsc_delta = (ns * mul) >> 32 */
	uint64_t shared;        /* GPA of struct shoal_shared */
	uint64_t argv;          /* GPA of char *argv[argc + 1] */
	uint64_t arglen;        /* GPA of uint64_t arglen[argc] */
	uint32_t argc;
	uint32_t probe_port;  /* SHOAL_PORT_PROBE if wired, else 0 */
	uint64_t ports_bound; /* bit p: port p is wired to the host */
	char name[SHOAL_NAME_MAX];
	uint64_t devices;  /* GPA of struct shoal_device[ndevices] */
	uint32_t ndevices; /* <= SHOAL_DEVICES_MAX */
	uint32_t _pad;
};
#endif

/*
 * Devices.  The table lists each device the tender serves: its name (the
 * operator's pet name, "www", "lan"), kind and parameters, and the event
 * port that is its doorbell both ways.  The rings are Xen's own shared
 * rings (io/ring.h with io/blkif.h or io/netif.h), with their event
 * suppression; a "grant reference" in a ring entry is a guest frame
 * number (guest-physical address >> 12) that the tender bounds-checks.
 * The table follows the boot info in its page.
 */
#define SHOAL_DEVICES_MAX  12 /* 8 disks and 4 NICs */
#define SHOAL_DEV_NAME_MAX 32 /* with the NUL */
#define SHOAL_DEV_BLOCK    1
#define SHOAL_DEV_NET      2
#define SHOAL_DEV_READONLY 1u /* flags: a disk that refuses writes */
/*
 * flags, proc platform: a NIC whose tap carries a virtio_net_hdr (10
 * bytes, no offloads asked for) before each frame, both ways, so that
 * the guest may hand the host one TCP segment of up to 64 KiB for its
 * kernel to cut (GSO) instead of a write a frame.
 */
#define SHOAL_DEV_VNET_HDR 2u
#define SHOAL_VNET_HDR_LEN 10
#define SHOAL_GPA_DEVICES  (SHOAL_GPA_BOOT_INFO + SHOAL_U64(0x400))
/*
 * A device's doorbell is the port its table entry names.  The tender
 * numbers them by slot: disk slot i (0..7) is port SHOAL_DEV_PORT_FIRST + i
 * and NIC slot j (0..3) port SHOAL_DEV_PORT_FIRST + 8 + j, wherever the
 * device stands in the table.
 */
#define SHOAL_DEV_PORT_FIRST 2

/*
 * A network device (SHOAL_DEV_NET) has two rings, not one: the `ring` of
 * its SHOAL_HC_DEVICE is the guest-physical address of two consecutive
 * pages, the transmit ring (netif_tx_sring of io/netif.h) and then the
 * receive ring (netif_rx_sring), each SHARED_RING_INIT'd.  A transmit
 * request is one whole Ethernet frame (no FCS) of 14 bytes up to
 * mtu + 18 (the header and a VLAN tag) in one page: gref, offset and size
 * within it; NETTXF_more_data and NETTXF_extra_info are refused (status
 * NETIF_RSP_ERROR, a continuation slot NETIF_RSP_NULL), the checksum
 * flags ignored (frames carry their checksums).  A receive request
 * posts a whole page (id, gref); its response holds one frame at offset 0
 * (status = its length) or a negative NETIF_RSP_* status.  The tender
 * may hold frames back by its rate limit; none is ever split.
 */
#define SHOAL_NET_RINGS_BYTES (2 * SHOAL_PAGE_SIZE)
#define SHOAL_NET_FRAME_MIN   14

#ifndef __ASSEMBLER__
struct shoal_device {
	char name[SHOAL_DEV_NAME_MAX];
	uint32_t kind;  /* SHOAL_DEV_* */
	uint32_t flags; /* SHOAL_DEV_READONLY, SHOAL_DEV_VNET_HDR */
	uint32_t port;  /* its event port */
	uint32_t _pad;
	union {
		struct {
			uint64_t sectors;     /* in units of sector_size */
			uint32_t sector_size; /* 512 (ring sector numbers are 512-byte units) */
			uint32_t max_segments;
		} blk;
		struct {
			uint8_t mac[6];
			uint16_t mtu;
			uint32_t ipv4;      /* network order; 0: none */
			uint32_t gateway;   /* network order; 0: none */
			uint8_t prefix_len; /* of ipv4 */
			uint8_t _pad[3];
		} net;
		uint8_t _size[32];
	} u;
};
#endif

/*
 * The shared page, as Xen's shared_info: a port's pending bit is set when
 * a notification arrives, and its mask bit stops the upcall for it.  The
 * guest owns both bitmaps on KVM (its upcall entry sets pending bits);
 * the tender reads the counters for diagnostics.
 */
#ifndef __ASSEMBLER__
struct shoal_shared {
	uint64_t evtchn_pending[SHOAL_EVTCHN_WORDS];
	uint64_t evtchn_mask[SHOAL_EVTCHN_WORDS];
	uint64_t probes_answered;
	uint64_t upcalls;
	uint8_t _reserved[4096 - 8 * (2 * SHOAL_EVTCHN_WORDS + 2)];
};
#endif

#define SHOAL_OFF_PENDING 0
#define SHOAL_OFF_MASK    (8 * SHOAL_EVTCHN_WORDS)
#define SHOAL_OFF_PROBES  (16 * SHOAL_EVTCHN_WORDS)
#define SHOAL_OFF_UPCALLS (16 * SHOAL_EVTCHN_WORDS + 8)

#ifndef __ASSEMBLER__
_Static_assert(sizeof(struct shoal_note_abi) == 16, "note layout");
_Static_assert(sizeof(struct shoal_iov) == 16, "iov layout");
_Static_assert(sizeof(struct shoal_hc_console) == 16, "console layout");
_Static_assert(sizeof(struct shoal_hc_exit) == 8, "exit layout");
_Static_assert(sizeof(struct shoal_hc_abort) == 40, "abort layout");
_Static_assert(sizeof(struct shoal_hc_fault) == 56, "fault layout");
_Static_assert(sizeof(struct shoal_hc_device) == 16, "device hypercall layout");
_Static_assert(sizeof(struct shoal_boot_info) == 200, "boot info layout");
_Static_assert(sizeof(struct shoal_boot_info) <= 0x400, "boot info below the device table");
_Static_assert(sizeof(struct shoal_device) == 80, "device layout");
_Static_assert(offsetof(struct shoal_device, u) == 48, "device parameters offset");
_Static_assert(0x400 + SHOAL_DEVICES_MAX * sizeof(struct shoal_device) <= SHOAL_PAGE_SIZE,
               "the device table fits the boot info page");
_Static_assert(SHOAL_DEV_PORT_FIRST > SHOAL_PORT_PROBE &&
                   SHOAL_DEV_PORT_FIRST + SHOAL_DEVICES_MAX <= SHOAL_EVTCHN_NPORTS,
               "device ports fit");
_Static_assert(sizeof(struct shoal_boot_info) <= SHOAL_PAGE_SIZE, "boot info fits its page");
_Static_assert(sizeof(struct shoal_shared) == SHOAL_PAGE_SIZE, "shared page layout");
_Static_assert(offsetof(struct shoal_shared, evtchn_mask) == SHOAL_OFF_MASK, "mask offset");
_Static_assert(offsetof(struct shoal_shared, probes_answered) == SHOAL_OFF_PROBES, "probes offset");
_Static_assert(offsetof(struct shoal_shared, upcalls) == SHOAL_OFF_UPCALLS, "upcalls offset");
_Static_assert(SHOAL_VEC_EVTCHN + SHOAL_EVTCHN_NPORTS <= SHOAL_VEC_SPURIOUS, "vectors fit");
_Static_assert(SHOAL_GPA_ARGS + SHOAL_ARGS_MAX_BYTES <= SHOAL_GPA_IMAGE_MIN,
               "args below the image");
#endif

/*
 * The proc platform: the guest is a process of its own on the host, run
 * by shoal-proc under a syscall filter.  Its image is linked and checked
 * as a KVM one (loaded from SHOAL_GPA_IMAGE_MIN, guest "memory" ending at
 * mem_bytes, the stack at its top), at the same addresses of the
 * process's address space; the tender's own mappings lie far above
 * SHOAL_MEM_MAX_BYTES.  Entry: RDI = SHOAL_PROC_BOOT_INFO, RSP =
 * mem_bytes - 8, signals the tender's.  The boot info page holds the same
 * struct shoal_boot_info (shared and tsc fields 0: the guest keeps its
 * bitmaps, and reads the clock through the kernel), the device table at
 * +0x400, and struct shoal_proc_fds at +0x800: the descriptors standing
 * for what the hypercalls and rings are on KVM.  The page after it,
 * SHOAL_PROC_STATS, is the device counters' page the host reads (a memfd
 * shared with it); the guest does its own I/O, so it counts it there
 * itself, and the host takes those counters as the guest's word.  The
 * argument strings follow at SHOAL_PROC_ARGS.
 *
 * The guest's system calls are its hypercalls: the filter allows only
 * what the runtime makes (see vmm/proc_seccomp_gen.c) and only with
 * buffers below SHOAL_MEM_MAX_BYTES; anything else ends the guest as a
 * bad call.  Exit codes above SHOAL_EXIT_CODE_MAX are the tender's, as on
 * KVM; the runtime uses SHOAL_PROC_EXIT_ABORT for rt_abort itself.
 */
#define SHOAL_PROC_BOOT_INFO  SHOAL_U64(0xE0000)
#define SHOAL_PROC_DEVICES    (SHOAL_PROC_BOOT_INFO + SHOAL_U64(0x400))
#define SHOAL_PROC_FDS        (SHOAL_PROC_BOOT_INFO + SHOAL_U64(0x800))
#define SHOAL_PROC_STATS      (SHOAL_PROC_BOOT_INFO + SHOAL_U64(0x1000)) /* read-write, shared */
#define SHOAL_PROC_ARGS       SHOAL_U64(0xF0000)
#define SHOAL_PROC_ARGS_BYTES SHOAL_U64(0x10000)
#define SHOAL_PROC_CONSOLE_FD 1 /* the console: write and writev */
#define SHOAL_PROC_REPORT_FD  2 /* how the guest ended, one line (abort, faults) */
#define SHOAL_PROC_EXIT_ABORT 200

#ifndef __ASSEMBLER__
/*
 * A port wired to the host: kick_fd is an eventfd the host writes (the
 * guest polls it; its counter is the "interrupt"), notify_fd one the guest
 * writes (the host polls it).  -1: that way is not wired.
 */
struct shoal_proc_port {
	uint32_t port;
	int32_t kick_fd;
	int32_t notify_fd;
	uint32_t _pad;
};

struct shoal_proc_fds {
	uint32_t nports; /* <= 8 */
	uint32_t _pad;
	struct shoal_proc_port ports[8];
	/*
	 * Device i of the table: a disk's file (pread/pwrite, whole sectors)
	 * or a tap (IFF_TAP | IFF_NO_PI, non-blocking: one frame per read or
	 * write).
	 */
	int32_t dev_fd[SHOAL_DEVICES_MAX];
	/* The vDSO's clock_gettime (a function address), 0: use the system call. */
	uint64_t vdso_clock_gettime;
	/*
	 * The device counters' page, at SHOAL_PROC_STATS: the descriptor of
	 * its memfd, kept for the host (a restarted daemon takes it back;
	 * the guest has no use for it), -1 or 0 (an older tender): none.
	 */
	int32_t stats_fd;
	uint32_t _pad2;
	/*
	 * Device i's counters in that page, SHOAL_PROC_STAT_COUNTERS of
	 * uint64_t indexed by SHOAL_PROC_STAT_*, the guest's to bump with
	 * plain stores; 0: none (the guest keeps its own).
	 */
	uint64_t counters[SHOAL_DEVICES_MAX];
};

/*
 * The counters, as shoal-vmm counts them for a KVM guest (the tender
 * pins these to common/vmm_proto.h's).  A disk: requests done by kind,
 * the bytes they moved, requests that failed.  A NIC: frames written to
 * the tap (and their bytes), frames refused before the tap (errors) or
 * that the tap did not take (dropped); frames read from the tap and
 * given to the guest (and their bytes), or read with nowhere to go
 * (dropped: too short).  Rx errors stay 0 here.  NIC_UP is set to 1 by
 * the guest when it opens the NIC (its tap joins what it polls): the
 * host waits for it before it tells anyone the guest is reachable.
 */
#define SHOAL_PROC_STAT_DISK_READS       0
#define SHOAL_PROC_STAT_DISK_WRITES      1
#define SHOAL_PROC_STAT_DISK_FLUSHES     2
#define SHOAL_PROC_STAT_DISK_READ_BYTES  3
#define SHOAL_PROC_STAT_DISK_WRITE_BYTES 4
#define SHOAL_PROC_STAT_DISK_ERRORS      5
#define SHOAL_PROC_STAT_NIC_TX_PACKETS   0
#define SHOAL_PROC_STAT_NIC_TX_BYTES     1
#define SHOAL_PROC_STAT_NIC_TX_ERRORS    2
#define SHOAL_PROC_STAT_NIC_TX_DROPPED   3
#define SHOAL_PROC_STAT_NIC_RX_PACKETS   4
#define SHOAL_PROC_STAT_NIC_RX_BYTES     5
#define SHOAL_PROC_STAT_NIC_RX_ERRORS    6
#define SHOAL_PROC_STAT_NIC_RX_DROPPED   7
#define SHOAL_PROC_STAT_NIC_UP           10
#define SHOAL_PROC_STAT_COUNTERS         12

_Static_assert(sizeof(struct shoal_proc_fds) == 296, "proc fds layout");
_Static_assert(offsetof(struct shoal_proc_fds, stats_fd) == 192 &&
                   offsetof(struct shoal_proc_fds, counters) == 200,
               "proc fds: the counters after what was there before");
_Static_assert(0x400 + SHOAL_DEVICES_MAX * sizeof(struct shoal_device) <= 0x800,
               "the device table ends below the proc fds");
_Static_assert(0x800 + sizeof(struct shoal_proc_fds) <= SHOAL_PAGE_SIZE, "proc fds fit the page");
_Static_assert(SHOAL_PROC_STATS + SHOAL_PAGE_SIZE <= SHOAL_PROC_ARGS &&
                   SHOAL_PROC_ARGS + SHOAL_PROC_ARGS_BYTES <= SHOAL_GPA_IMAGE_MIN,
               "proc boot pages below the image");
#endif

#endif /* SHOAL_ABI_H */
