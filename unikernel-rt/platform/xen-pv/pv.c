/*
 * xen-pv (64-bit PV): what only a PV guest does at boot.  Xen has mapped
 * the image, start_info, the console and xenstore pages and its bootstrap
 * page tables from virtual 0; the guest installs its trap table, maps
 * shared_info over a page of its own, unmaps page 0 and starts the
 * runtime.  Pages are found through Xen's machine-to-physical table;
 * the grant table's frames are mapped over pages of the guest's own, as
 * shared_info is.
 */
#include "../xen/xen.h"

#define PTE_PRESENT  0x1ull
#define PTE_RW       0x2ull
#define PTE_USER     0x4ull
#define PTE_ACCESSED 0x20ull
#define PTE_DIRTY    0x40ull
#define PTE_ADDR     0x000ffffffffff000ull

#define M2P ((const volatile uint64_t *)XEN_M2P_VIRT)

extern const struct xen_trap_info xen_pv_trap_table[];
extern char _end[];

#define GNT_FRAMES_MAX 4

static uint8_t shared_page[4096] __attribute__((aligned(4096)));
static uint8_t gnt_pages[GNT_FRAMES_MAX][4096] __attribute__((aligned(4096)));
static const struct xen_start_info *si;
static uintptr_t boot_end; /* end of Xen's bootstrap area (its boot stack's top) */

__attribute__((noreturn)) void xen_pv_start(struct xen_start_info *start_info,
                                            uintptr_t boot_stack_top);
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
	         si->shared_info | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY,
	         XEN_UVMF_INVLPG);
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
 * Map [va, end) (pseudo-physical == virtual) 2 MiB at a time, inside the
 * first GiB, whose L2 table Xen's bootstrap tables already have.  A
 * missing L1 table is made from the page at *steal (mapped and free,
 * below limit; *steal moves up past it), filled while writable, remapped read-only and
 * hooked into the L2 table; entries missing from an existing L1 table
 * are set with one batched mmu_update.  Returns where mapping stopped.
 */
#define GIB                  (1ull << 30)
#define MMU_NORMAL_PT_UPDATE 0
#define PTE_FLAGS            (PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY)

struct mmu_update {
	uint64_t ptr; /* machine address of the entry | MMU_NORMAL_PT_UPDATE */
	uint64_t val;
};

static struct mmu_update reqs[512];

static uint64_t table_mfn(const volatile uint64_t *table, unsigned idx)
{
	return (table[idx] & PTE_ADDR) >> 12;
}

static uintptr_t extend_map(uintptr_t va, uintptr_t end, uintptr_t *steal, uintptr_t limit)
{
	const volatile uint64_t *l4 = (const volatile uint64_t *)(uintptr_t)si->pt_base, *l3, *l2;
	const uint64_t *p2m = (const uint64_t *)(uintptr_t)si->mfn_list;
	uint64_t l2_mfn;

	if (end > GIB)
		end = GIB;
	if (!(l4[0] & PTE_PRESENT))
		return va;
	l3 = bootstrap_va(table_mfn(l4, 0));
	if (!(l3[0] & PTE_PRESENT))
		return va;
	l2_mfn = table_mfn(l3, 0);
	l2 = bootstrap_va(l2_mfn);

	while (va < end) {
		unsigned i2 = (unsigned)(va >> 21) & 511, i1, n = 0, done;
		uintptr_t chunk_end = (va | ((1ull << 21) - 1)) + 1;

		if (chunk_end > end)
			chunk_end = end;
		if (l2[i2] & PTE_PRESENT) {
			const volatile uint64_t *l1 = bootstrap_va(table_mfn(l2, i2));
			uint64_t l1_ma = table_mfn(l2, i2) << 12;

			for (; va < chunk_end; va += 4096) {
				i1 = (unsigned)(va >> 12) & 511;
				if (l1[i1] & PTE_PRESENT)
					continue;
				reqs[n].ptr = (l1_ma + 8 * i1) | MMU_NORMAL_PT_UPDATE;
				reqs[n++].val = (p2m[va >> 12] << 12) | PTE_FLAGS;
			}
			if (n && xen__hc4(XEN_HC_mmu_update, (uintptr_t)reqs, n, (uintptr_t)&done,
			                  XEN_DOMID_SELF) != 0)
				return va - 4096 * n;
			continue;
		} else {
			uint64_t *l1;
			uint64_t l1_mfn;

			if (*steal + 4096 > limit)
				return va;
			l1 = (uint64_t *)*steal;
			l1_mfn = p2m[*steal >> 12];
			for (i1 = 0; i1 < 512; i1++) {
				uint64_t page = (va & ~((1ull << 21) - 1)) + 4096ull * i1;

				l1[i1] = page >= va && page < chunk_end
				             ? (p2m[page >> 12] << 12) | PTE_FLAGS
				             : 0;
			}
			if (xen__hc3(XEN_HC_update_va_mapping, *steal,
			             (l1_mfn << 12) | PTE_PRESENT | PTE_USER | PTE_ACCESSED,
			             XEN_UVMF_INVLPG) != 0)
				return va;
			*steal += 4096;
			reqs[0].ptr = ((l2_mfn << 12) + 8 * i2) | MMU_NORMAL_PT_UPDATE;
			reqs[0].val = (l1_mfn << 12) | PTE_FLAGS;
			if (xen__hc4(XEN_HC_mmu_update, (uintptr_t)reqs, 1, (uintptr_t)&done,
			             XEN_DOMID_SELF) != 0)
				return va;
			va = chunk_end;
		}
	}
	return va;
}

/*
 * The heap: from the end of Xen's bootstrap area (Xen maps at least
 * 512 KiB more, up to a 4 MiB boundary) to the end of the guest's memory
 * within the first GiB, mapped on the first allocation.  The new L1
 * tables are the first pages of the already mapped part.
 */
void plat_heap_range(uintptr_t *start, uintptr_t *end)
{
	uintptr_t lo = boot_end > (uintptr_t)_end ? boot_end : (uintptr_t)_end, hi;

	lo = (lo + 4095) & ~(uintptr_t)4095;
	for (hi = lo; hi < xen__p.mem_bytes && mapped(hi); hi += 4096)
		;
	*end = extend_map(hi, xen__p.mem_bytes, &lo, hi);
	*start = lo;
}

/*
 * The grant table: Xen gives its frames' machine numbers
 * (GNTTABOP_setup_table) and the guest maps them, writable, over pages of
 * its own image.
 */
volatile struct xen_grant_entry_v1 *xen__gnttab_map(unsigned *frames)
{
	struct xen_gnttab_query_size q = { XEN_DOMID_SELF, 0, 0, 0, 0, 0 };
	struct xen_gnttab_setup_table st;
	uint64_t mfns[GNT_FRAMES_MAX];
	unsigned n = *frames < GNT_FRAMES_MAX ? *frames : GNT_FRAMES_MAX, k;
	long r;

	r = xen__hc3(XEN_HC_grant_table_op, XEN_GNTTABOP_query_size, (uintptr_t)&q, 1);
	if (r == 0 && q.status == 0 && q.max_nr_frames < n)
		n = q.max_nr_frames;
	memset(&st, 0, sizeof(st));
	st.dom = XEN_DOMID_SELF;
	st.nr_frames = n;
	st.frame_list = mfns;
	r = n ? xen__hc3(XEN_HC_grant_table_op, XEN_GNTTABOP_setup_table, (uintptr_t)&st, 1) : -1;
	if (r != 0 || st.status != 0) {
		rt_printf("xen: GNTTABOP_setup_table for %u frames failed (%ld, status %d)\n", n, r,
		          st.status);
		return NULL;
	}
	for (k = 0; k < n; k++) {
		r = xen__hc3(XEN_HC_update_va_mapping, (uintptr_t)gnt_pages[k],
		             (mfns[k] << 12) | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED |
		                 PTE_DIRTY,
		             XEN_UVMF_INVLPG);
		if (r != 0) {
			rt_printf("xen: mapping grant table frame %u failed (%ld)\n", k, r);
			return NULL;
		}
	}
	*frames = n;
	return (volatile struct xen_grant_entry_v1 *)gnt_pages;
}

/* The image and the heap are pseudo-physical == virtual: the P2M names the machine frame. */
uint64_t xen__frame(const void *p)
{
	uint64_t pfn = (uintptr_t)p >> 12;

	if (pfn >= si->nr_pages)
		return 0;
	return ((const uint64_t *)(uintptr_t)si->mfn_list)[pfn];
}
