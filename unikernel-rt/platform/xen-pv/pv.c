/*
 * xen-pv (64-bit PV): what only a PV guest does at boot.  Xen has mapped
 * the image, start_info, the console and xenstore pages and its bootstrap
 * page tables from virtual 0; the guest installs its trap table, maps
 * shared_info over a page of its own, unmaps page 0 and starts the
 * runtime.  Pages are found through Xen's machine-to-physical table.
 */
#include "../xen/xen.h"

#define PTE_PRESENT 0x1ull
#define PTE_RW      0x2ull
#define PTE_USER    0x4ull
#define PTE_ACCESSED 0x20ull
#define PTE_DIRTY   0x40ull
#define PTE_ADDR    0x000ffffffffff000ull

#define M2P ((const volatile uint64_t *)XEN_M2P_VIRT)

extern const struct xen_trap_info xen_pv_trap_table[];
extern char _end[];

static uint8_t shared_page[4096] __attribute__((aligned(4096)));
static const struct xen_start_info *si;
static uintptr_t boot_end; /* end of Xen's bootstrap area (its boot stack's top) */

__attribute__((noreturn)) void xen_pv_start(struct xen_start_info *start_info, uintptr_t boot_stack_top);
__attribute__((noreturn)) void xen_pv_trap(uint64_t vector, const uint64_t *frame, int has_err);

/* The virtual address of a bootstrap page, which Xen maps 1:1. */
static void *bootstrap_va(uint64_t mfn)
{
	return (void *)(uintptr_t)(M2P[mfn] << 12);
}

void xen_pv_start(struct xen_start_info *start_info, uintptr_t boot_stack_top)
{
	si = start_info;
	boot_end = boot_stack_top;
	xen__hc2(XEN_HC_set_trap_table, (uintptr_t)xen_pv_trap_table, 0);
	xen__hc3(XEN_HC_update_va_mapping, (uintptr_t)shared_page,
	         si->shared_info | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY, XEN_UVMF_INVLPG);
	xen__hc3(XEN_HC_update_va_mapping, 0, 0, XEN_UVMF_INVLPG);
	xen__p.shared = (volatile struct xen_shared_info *)shared_page;
	xen__p.cons = bootstrap_va(si->console_mfn);
	xen__p.cons_port = si->console_evtchn;
	xen__p.store = bootstrap_va(si->store_mfn);
	xen__p.store_port = si->store_evtchn;
	xen__p.mem_bytes = si->nr_pages << 12;
	xen__boot((char *)si->cmd_line);
}

void xen_pv_trap(uint64_t vector, const uint64_t *frame, int has_err)
{
	uint64_t err = 0, addr = 0;

	if (has_err)
		err = *frame++;
	if (vector == 14)
		addr = xen__p.shared->vcpu_info[0].cr2;
	/* frame: rip, cs, rflags, rsp, ss */
	xen__fault(vector, err, frame[0], frame[3], addr);
}

/* Is va mapped?  A walk of the bootstrap page tables, which are 1:1 too. */
static int mapped(uint64_t va)
{
	const volatile uint64_t *table = (const volatile uint64_t *)(uintptr_t)si->pt_base;
	int shift;

	for (shift = 39;; shift -= 9) {
		uint64_t e = table[(va >> shift) & 511];

		if (!(e & PTE_PRESENT))
			return 0;
		if (shift == 12)
			return 1;
		table = bootstrap_va((e & PTE_ADDR) >> 12);
	}
}

/*
 * The heap is what Xen mapped past its bootstrap area: at least 512 KiB,
 * up to the next 4 MiB boundary.  Found by walking the page tables once,
 * on the first allocation.
 */
void plat_heap_range(uintptr_t *start, uintptr_t *end)
{
	uintptr_t lo = boot_end > (uintptr_t)_end ? boot_end : (uintptr_t)_end, hi;

	lo = (lo + 4095) & ~(uintptr_t)4095;
	for (hi = lo; hi < xen__p.mem_bytes && mapped(hi); hi += 4096)
		;
	*start = lo;
	*end = hi;
}
