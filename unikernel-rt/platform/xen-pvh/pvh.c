/*
 * xen-pvh: what only a PVH guest does at boot.  It finds Xen through
 * CPUID and has it fill the hypercall page (an MSR write), maps
 * shared_info into its own physical space (XENMEM_add_to_physmap), asks
 * for the console and xenstore rings through HVM parameters, and takes
 * its command line and memory map from hvm_start_info.  Exceptions go
 * through its own IDT.  The grant table's frames go into guest-physical
 * space past the end of RAM, where the memory map has nothing.
 */
#include "../xen/xen.h"

#define MAPPED_LIMIT   (4ull << 30) /* what entry.S's page tables map */
#define E820_RAM       1
#define GNT_FRAMES_MAX 4
#define GNT_GPA_LIMIT  0xF0000000ull /* below the MMIO hole (the local APIC, ...) */

extern const char xen_pvh_exc_stubs[];
extern char _end[];

struct gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t _zero;
};

static struct gate idt[20] __attribute__((aligned(16)));
static uint8_t shared_page[4096] __attribute__((aligned(4096)));
static char cmdline[1024];
static uintptr_t heap_lo, heap_hi;
static const struct xen_hvm_memmap_entry *memmap;
static uint32_t memmap_n;
static uint64_t ram_top; /* the end of the highest RAM range below GNT_GPA_LIMIT */
/*
 * Where the grant table goes when the memory map shows no free range below
 * the MMIO hole (RAM up to it) or there is no map: over pages of the
 * image, whose RAM Xen then takes back, as with shared_info.
 */
static uint8_t gnt_pages[GNT_FRAMES_MAX][4096] __attribute__((aligned(4096)));

__attribute__((noreturn)) void xen_pvh_start(uint32_t start_info_paddr);
__attribute__((noreturn)) void xen_pvh_trap(const uint64_t *frame);

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
	                 :
	                 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	                 : "memory");
}

static void load_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uintptr_t)idt };
	unsigned v;

	for (v = 0; v < 20; v++) {
		uint64_t h = (uintptr_t)xen_pvh_exc_stubs + 16 * v;

		idt[v] = (struct gate){ (uint16_t)h,         0x08, 0, 0x8e, (uint16_t)(h >> 16),
			                (uint32_t)(h >> 32), 0 };
	}
	__asm__ volatile("lidt %0" : : "m"(desc) : "memory");
}

/* Xen's CPUID leaves may sit above another hypervisor's (Viridian). */
static int hypercall_page_setup(void)
{
	uint32_t base, a, b, c, d;

	for (base = XEN_CPUID_FIRST; base < XEN_CPUID_LAST; base += 0x100) {
		cpuid(base, &a, &b, &c, &d);
		/* "XenVMMXenVMM" */
		if (b == 0x566e6558 && c == 0x65584d4d && d == 0x4d4d566e && a - base >= 2) {
			cpuid(base + 2, &a, &b, &c, &d);
			wrmsr(b, (uintptr_t)xen__hypercall_page);
			return 0;
		}
	}
	return -1;
}

static uint64_t hvm_param(uint32_t index)
{
	struct xen_hvm_param p = { XEN_DOMID_SELF, 0, index, 0 };

	xen__hc2(XEN_HC_hvm_op, XEN_HVMOP_get_param, (uintptr_t)&p);
	return p.value;
}

static uintptr_t max_ptr(uintptr_t a, uintptr_t b)
{
	return a > b ? a : b;
}

void xen_pvh_start(uint32_t start_info_paddr)
{
	const struct xen_hvm_start_info *si = (const void *)(uintptr_t)start_info_paddr;
	struct xen_add_to_physmap atp = { XEN_DOMID_SELF, 0, XEN_XENMAPSPACE_shared_info, 0,
		                          (uintptr_t)shared_page >> 12 };
	uintptr_t lo = max_ptr((uintptr_t)_end, start_info_paddr + sizeof(*si));
	uint64_t mem = 0;
	uint32_t i;

	load_idt();
	if (hypercall_page_setup() < 0)
		__asm__ volatile("ud2"); /* not on Xen: nothing to report to */
	xen__hc2(XEN_HC_memory_op, XEN_XENMEM_add_to_physmap, (uintptr_t)&atp);
	xen__p.shared = (volatile struct xen_shared_info *)shared_page;
	xen__p.cons = (void *)(uintptr_t)(hvm_param(XEN_HVM_PARAM_CONSOLE_PFN) << 12);
	xen__p.cons_port = (uint32_t)hvm_param(XEN_HVM_PARAM_CONSOLE_EVTCHN);
	xen__p.store = (void *)(uintptr_t)(hvm_param(XEN_HVM_PARAM_STORE_PFN) << 12);
	xen__p.store_port = (uint32_t)hvm_param(XEN_HVM_PARAM_STORE_EVTCHN);

	if (si->cmdline_paddr) {
		const char *s = (const char *)(uintptr_t)si->cmdline_paddr;

		for (i = 0; i < sizeof(cmdline) - 1 && s[i]; i++)
			cmdline[i] = s[i];
		lo = max_ptr(lo, (uintptr_t)si->cmdline_paddr + i + 1);
	}
	/* The heap: the rest of the RAM range the image sits in, past what Xen put after it. */
	if (si->version >= 1 && si->memmap_paddr) {
		const struct xen_hvm_memmap_entry *m = (const void *)(uintptr_t)si->memmap_paddr;

		lo = max_ptr(lo, (uintptr_t)(m + si->memmap_entries));
		lo = (lo + 4095) & ~(uintptr_t)4095;
		memmap = m;
		memmap_n = si->memmap_entries;
		for (i = 0; i < si->memmap_entries; i++) {
			if (m[i].type != E820_RAM)
				continue;
			mem += m[i].size;
			if (m[i].addr < GNT_GPA_LIMIT && m[i].addr + m[i].size > ram_top)
				ram_top = m[i].addr + m[i].size;
			if (m[i].addr <= lo && lo < m[i].addr + m[i].size) {
				uint64_t end = m[i].addr + m[i].size;

				heap_hi =
				    end < MAPPED_LIMIT ? (uintptr_t)end : (uintptr_t)MAPPED_LIMIT;
			}
		}
	}
	heap_lo = (lo + 4095) & ~(uintptr_t)4095;
	if (heap_hi < heap_lo)
		heap_hi = heap_lo;
	xen__p.mem_bytes = mem;
	xen__boot(cmdline);
}

/* Xen's HVM debug port: bytes written there appear in Xen's log as (dN). */
static void debug_put(const char *s, uint64_t hex, int with_hex)
{
	int i;

	for (; *s; s++)
		__asm__ volatile("outb %b0, $0xe9" : : "a"(*s));
	for (i = 60; with_hex && i >= 0; i -= 4)
		__asm__ volatile("outb %b0, $0xe9" : : "a"("0123456789abcdef"[(hex >> i) & 15]));
}

void xen_pvh_trap(const uint64_t *frame)
{
	static int faulting;
	uint64_t cr2 = 0;

	if (frame[0] == 14)
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	/*
	 * A fault before the console and xenstore rings are known (or while
	 * reporting one) can only be told on the debug port; then the vCPU
	 * stops for good rather than triple-faulting into a reboot.
	 */
	if (faulting++ || !xen__p.cons || !xen__p.store) {
		debug_put("shoal: early fault, vector ", frame[0], 1);
		debug_put(" rip ", frame[2], 1);
		debug_put(" cr2 ", cr2, 1);
		debug_put("\n", 0, 0);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	/* frame: vector, error, rip, cs, rflags, rsp, ss */
	xen__fault(frame[0], frame[1], frame[2], frame[5], cr2);
}

void plat_heap_range(uintptr_t *start, uintptr_t *end)
{
	*start = heap_lo;
	*end = heap_hi;
}

/*
 * A free guest-physical range of n pages: from the end of RAM up, past
 * every range the memory map names; 0 when there is none below the MMIO
 * hole.
 */
static uint64_t free_range(unsigned n)
{
	uint64_t gpa = (ram_top + 4095) & ~4095ull, len = (uint64_t)n << 12;
	uint32_t i;
	int moved = 1;

	while (moved && gpa + len <= GNT_GPA_LIMIT) {
		moved = 0;
		for (i = 0; i < memmap_n; i++)
			if (memmap[i].addr < gpa + len && gpa < memmap[i].addr + memmap[i].size) {
				gpa = (memmap[i].addr + memmap[i].size + 4095) & ~4095ull;
				moved = 1;
			}
	}
	return gpa && gpa + len <= GNT_GPA_LIMIT ? gpa : 0;
}

/*
 * The grant table: Xen puts its frames at guest frames the guest names
 * (XENMEM_add_to_physmap, XENMAPSPACE_grant_table); entry.S's page tables
 * map all of the first 4 GiB already.
 */
volatile struct xen_grant_entry_v1 *xen__gnttab_map(unsigned *frames)
{
	struct xen_gnttab_query_size q = { XEN_DOMID_SELF, 0, 0, 0, 0, 0 };
	unsigned n = *frames < GNT_FRAMES_MAX ? *frames : GNT_FRAMES_MAX, k;
	uint64_t gpa;
	long r;

	r = xen__hc3(XEN_HC_grant_table_op, XEN_GNTTABOP_query_size, (uintptr_t)&q, 1);
	if (r == 0 && q.status == 0 && q.max_nr_frames < n)
		n = q.max_nr_frames;
	gpa = memmap ? free_range(n) : 0;
	if (!gpa)
		gpa = (uintptr_t)gnt_pages;
	if (!n) {
		rt_printf("xen: the grant table has no frames for this domain\n");
		return NULL;
	}
	for (k = 0; k < n; k++) {
		struct xen_add_to_physmap atp = { XEN_DOMID_SELF, 0, XEN_XENMAPSPACE_grant_table, k,
			                          (gpa >> 12) + k };

		r = xen__hc2(XEN_HC_memory_op, XEN_XENMEM_add_to_physmap, (uintptr_t)&atp);
		if (r != 0) {
			rt_printf("xen: mapping grant table frame %u at 0x%lx failed (%ld)\n", k,
			          (unsigned long)(gpa + ((uint64_t)k << 12)), r);
			return NULL;
		}
	}
	*frames = n;
	return (volatile struct xen_grant_entry_v1 *)(uintptr_t)gpa;
}

/* Identity mapped: the guest frame is the address's. */
uint64_t xen__frame(const void *p)
{
	return (uintptr_t)p < MAPPED_LIMIT ? (uintptr_t)p >> 12 : 0;
}
