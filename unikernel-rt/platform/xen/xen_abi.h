/*
 * The part of Xen's public guest ABI (xen/include/public/) the Xen
 * platforms use, written out here so that guests build without Xen's
 * headers: hypercall numbers, start-of-day structures, shared_info, the
 * console and xenstore rings, grant tables and the xenbus states.  x86-64 layouts only; every one
 * is pinned by a static assertion against the offsets of Xen's own headers.
 */
#ifndef RT_XEN_ABI_H
#define RT_XEN_ABI_H

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#endif

/* ELF notes (public/elfnote.h), name "Xen". */
#define XEN_ELFNOTE_ENTRY          1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE      3
#define XEN_ELFNOTE_PADDR_OFFSET   4
#define XEN_ELFNOTE_XEN_VERSION    5
#define XEN_ELFNOTE_GUEST_OS       6
#define XEN_ELFNOTE_GUEST_VERSION  7
#define XEN_ELFNOTE_LOADER         8
#define XEN_ELFNOTE_PAE_MODE       9
#define XEN_ELFNOTE_FEATURES       10
#define XEN_ELFNOTE_PHYS32_ENTRY   18

/* Hypercalls (public/xen.h): entry nr of the hypercall page, 32 bytes each. */
#define XEN_HC_set_trap_table    0
#define XEN_HC_mmu_update        1
#define XEN_HC_memory_op         12
#define XEN_HC_update_va_mapping 14
#define XEN_HC_grant_table_op    20
#define XEN_HC_sched_op          29
#define XEN_HC_event_channel_op  32
#define XEN_HC_hvm_op            34
#define XEN_HYPERCALL_STRIDE     32

#define XEN_SCHEDOP_block     1
#define XEN_SCHEDOP_shutdown  2
#define XEN_SCHEDOP_poll      3
#define XEN_SHUTDOWN_poweroff 0
#define XEN_SHUTDOWN_crash    3

#define XEN_EVTCHNOP_close         3
#define XEN_EVTCHNOP_send          4
#define XEN_EVTCHNOP_alloc_unbound 6

#define XEN_UVMF_INVLPG 2

#define XEN_HVMOP_get_param          1
#define XEN_HVM_PARAM_STORE_PFN      1
#define XEN_HVM_PARAM_STORE_EVTCHN   2
#define XEN_HVM_PARAM_CONSOLE_PFN    17
#define XEN_HVM_PARAM_CONSOLE_EVTCHN 18

#define XEN_XENMEM_add_to_physmap   7
#define XEN_XENMAPSPACE_shared_info 0
#define XEN_XENMAPSPACE_grant_table 1

/* Grant tables (public/grant_table.h), version 1 entries. */
#define XEN_GNTTABOP_setup_table 2
#define XEN_GNTTABOP_query_size  6
#define XEN_GNTTAB_NR_RESERVED   8 /* the toolstack's (console, xenstore) */
#define XEN_GTF_permit_access    0x1u
#define XEN_GTF_readonly         0x4u
#define XEN_GTF_reading          0x8u  /* set by Xen while the grantee maps it */
#define XEN_GTF_writing          0x10u /* likewise, mapped writable */

/* Device states in xenstore (public/io/xenbus.h). */
#define XEN_XENBUS_INITIALISING 1
#define XEN_XENBUS_INITWAIT     2
#define XEN_XENBUS_INITIALISED  3
#define XEN_XENBUS_CONNECTED    4
#define XEN_XENBUS_CLOSING      5
#define XEN_XENBUS_CLOSED       6

/* public/io/blkif.h: the "info" key's bits. */
#define XEN_VDISK_READONLY 0x4u

#define XEN_DOMID_SELF 0x7FF0u

/* x86-64 PV: the kernel's flat selectors and Xen's read-only M2P table. */
#define XEN_FLAT_KERNEL_CS 0xe033
#define XEN_M2P_VIRT       0xFFFF800000000000ull

/* CPUID leaves of the hypervisor (HVM and PVH guests). */
#define XEN_CPUID_FIRST 0x40000000u
#define XEN_CPUID_LAST  0x40010000u

#define XEN_HVM_START_MAGIC 0x336ec578u

#ifndef __ASSEMBLER__
struct xen_vcpu_time_info {
	uint32_t version; /* odd while Xen updates the record */
	uint32_t _pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time; /* ns since Xen booted, at tsc_timestamp */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t _pad1[2];
};

struct xen_vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint8_t _pad[6];
	uint64_t evtchn_pending_sel;
	uint64_t cr2; /* arch_vcpu_info: the PV page fault's address */
	uint64_t _arch_pad;
	struct xen_vcpu_time_info time;
};

struct xen_shared_info {
	struct xen_vcpu_info vcpu_info[32];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version;
	uint32_t wc_sec;
	uint32_t wc_nsec;
	uint32_t wc_sec_hi;
	/* arch_shared_info and padding to the page follow; unused here */
};

struct xen_start_info {
	char magic[32];
	uint64_t nr_pages;
	uint64_t shared_info; /* machine address */
	uint32_t flags;
	uint32_t _pad0;
	uint64_t store_mfn;
	uint32_t store_evtchn;
	uint32_t _pad1;
	uint64_t console_mfn;
	uint32_t console_evtchn;
	uint32_t _pad2;
	uint64_t pt_base; /* virtual address of the top-level page table */
	uint64_t nr_pt_frames;
	uint64_t mfn_list;
	uint64_t mod_start;
	uint64_t mod_len;
	char cmd_line[1024];
	uint64_t first_p2m_pfn;
	uint64_t nr_p2m_frames;
};

struct xen_hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct xen_hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1: RAM */
	uint32_t reserved;
};

struct xen_trap_info {
	uint8_t vector;
	uint8_t flags; /* DPL in bits 0-1 */
	uint16_t cs;
	uint32_t _pad;
	uint64_t address;
};

struct xen_sched_poll {
	uint32_t *ports;
	uint32_t nr_ports;
	uint32_t _pad;
	uint64_t timeout; /* Xen system time in ns; 0: none */
};

struct xen_evtchn_alloc_unbound {
	uint16_t dom;
	uint16_t remote_dom;
	uint32_t port; /* out */
};

struct xen_evtchn_close {
	uint32_t port;
};

struct xen_grant_entry_v1 {
	uint16_t flags; /* XEN_GTF_*; written last when granting */
	uint16_t domid; /* the grantee */
	uint32_t frame; /* PV: the machine frame; auto-translated (PVH): the guest frame */
};

struct xen_gnttab_setup_table {
	uint16_t dom;
	uint16_t _pad0;
	uint32_t nr_frames;
	int16_t status; /* out */
	uint16_t _pad1[3];
	uint64_t *frame_list; /* out: nr_frames machine frames */
};

struct xen_gnttab_query_size {
	uint16_t dom;
	uint16_t _pad0;
	uint32_t nr_frames;     /* out */
	uint32_t max_nr_frames; /* out */
	int16_t status;         /* out */
	uint16_t _pad1;
};

struct xen_hvm_param {
	uint16_t domid;
	uint16_t _pad;
	uint32_t index;
	uint64_t value;
};

struct xen_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};

/* public/io/console.h */
struct xen_cons_ring {
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

/* public/io/xs_wire.h */
#define XS_DIRECTORY         1
#define XS_READ              2
#define XS_TRANSACTION_START 6
#define XS_TRANSACTION_END   7
#define XS_WRITE             11
#define XS_ERROR             16
#define XS_RING_SIZE         1024
#define XS_PAYLOAD_MAX       4096

struct xs_msg_hdr {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len;
};

struct xs_ring {
	char req[XS_RING_SIZE];
	char rsp[XS_RING_SIZE];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
};

_Static_assert(sizeof(struct xen_vcpu_info) == 64, "vcpu_info layout");
_Static_assert(offsetof(struct xen_vcpu_info, time) == 32, "vcpu_info.time");
_Static_assert(sizeof(struct xen_vcpu_time_info) == 32, "vcpu_time_info layout");
_Static_assert(offsetof(struct xen_shared_info, evtchn_pending) == 2048, "shared_info pending");
_Static_assert(offsetof(struct xen_shared_info, evtchn_mask) == 2560, "shared_info mask");
_Static_assert(offsetof(struct xen_shared_info, wc_version) == 3072, "shared_info wallclock");
_Static_assert(offsetof(struct xen_shared_info, wc_sec_hi) == 3084, "shared_info wc_sec_hi");
_Static_assert(offsetof(struct xen_start_info, store_mfn) == 56, "start_info store");
_Static_assert(offsetof(struct xen_start_info, console_mfn) == 72, "start_info console");
_Static_assert(offsetof(struct xen_start_info, pt_base) == 88, "start_info pt_base");
_Static_assert(offsetof(struct xen_start_info, cmd_line) == 128, "start_info cmd_line");
_Static_assert(sizeof(struct xen_start_info) == 1168, "start_info layout");
_Static_assert(sizeof(struct xen_hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct xen_hvm_memmap_entry) == 24, "memmap entry layout");
_Static_assert(sizeof(struct xen_trap_info) == 16, "trap_info layout");
_Static_assert(sizeof(struct xen_sched_poll) == 24, "sched_poll layout");
_Static_assert(sizeof(struct xen_evtchn_alloc_unbound) == 8, "alloc_unbound layout");
_Static_assert(sizeof(struct xen_evtchn_close) == 4, "evtchn_close layout");
_Static_assert(sizeof(struct xen_grant_entry_v1) == 8, "grant entry layout");
_Static_assert(offsetof(struct xen_gnttab_setup_table, status) == 8, "setup_table status");
_Static_assert(offsetof(struct xen_gnttab_setup_table, frame_list) == 16, "setup_table frames");
_Static_assert(sizeof(struct xen_gnttab_query_size) == 16, "query_size layout");
_Static_assert(offsetof(struct xen_gnttab_query_size, status) == 12, "query_size status");
_Static_assert(sizeof(struct xen_hvm_param) == 16, "hvm_param layout");
_Static_assert(sizeof(struct xen_add_to_physmap) == 24, "add_to_physmap layout");
_Static_assert(offsetof(struct xen_cons_ring, out_prod) == 3084, "console ring layout");
_Static_assert(offsetof(struct xs_ring, rsp_prod) == 2060, "xenstore ring layout");
#endif

#endif /* RT_XEN_ABI_H */
