/*
 * KVM platform (shoal-vmm): boot information at a fixed address, the
 * shared page for event bitmaps, port I/O hypercalls, the x2APIC's
 * TSC-deadline timer for block deadlines.  See include/shoal/abi.h.
 */
#include <shoal/abi.h>

#include "../../core/rt_internal.h"

#define BI     ((const volatile struct shoal_boot_info *)SHOAL_GPA_BOOT_INFO)
#define SHARED ((volatile struct shoal_shared *)SHOAL_GPA_SHARED)

#define MSR_TSC_DEADLINE 0x6e0

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void hypercall(unsigned nr, const void *arg)
{
	outl((uint16_t)(SHOAL_IO_HYPERCALL + nr), (uint32_t)(uintptr_t)arg);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
	                 :
	                 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	                 : "memory");
}

extern const char rt__idt_desc[];

/*
 * Entry (see abi.h for the machine state).  The tender has already split
 * and measured the arguments, so this is all the boot the guest does.
 */
__attribute__((noreturn, section(".text.entry"))) void _start(void);
void _start(void)
{
	__asm__ volatile("lidt %0; sti" : : "m"(*rt__idt_desc) : "memory");
	rt__main((int)BI->argc, (char **)(uintptr_t)BI->argv);
}

void plat_console_writev(const struct rt_iov *iov, unsigned n)
{
	struct shoal_hc_console a = { (uint64_t)(uintptr_t)iov, n, 0 };

	hypercall(SHOAL_HC_CONSOLE, &a);
}

void plat_exit(int code)
{
	struct shoal_hc_exit a = { code, 0 };

	for (;;)
		hypercall(SHOAL_HC_EXIT, &a);
}

void plat_abort(const char *file, size_t file_len, unsigned line, const char *msg, size_t msg_len)
{
	struct shoal_hc_abort a = {
		{ (uint64_t)(uintptr_t)file, file_len },
		{ (uint64_t)(uintptr_t)msg, msg_len },
		line,
		0,
	};

	for (;;)
		hypercall(SHOAL_HC_ABORT, &a);
}

void plat_notify(unsigned port)
{
	outl(SHOAL_IO_NOTIFY, port);
}

uint64_t plat_clock_ns(void)
{
	uint64_t d = rdtsc() - BI->boot_tsc;

	return (uint64_t)(((unsigned __int128)d * BI->tsc_to_ns_mul) >> 32);
}

uint64_t plat_wallclock_ns(void)
{
	return BI->boot_wall_ns + plat_clock_ns();
}

volatile uint64_t *plat_evtchn_pending(void)
{
	return SHARED->evtchn_pending;
}

volatile uint64_t *plat_evtchn_mask(void)
{
	return SHARED->evtchn_mask;
}

unsigned plat_evtchn_nports(void)
{
	return SHOAL_EVTCHN_NPORTS;
}

unsigned plat_probe_port(void)
{
	return BI->probe_port;
}

int plat_port_bound(unsigned port)
{
	return port < 64 && ((BI->ports_bound >> port) & 1);
}

uint64_t *plat_probe_counter(void)
{
	return (uint64_t *)&SHARED->probes_answered;
}

void plat_irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}

void plat_irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

void plat_halt(uint64_t deadline_ns)
{
	if (deadline_ns != RT_FOREVER) {
		uint64_t tsc =
		    BI->boot_tsc +
		    (uint64_t)(((unsigned __int128)deadline_ns * BI->ns_to_tsc_mul) >> 32);

		wrmsr(MSR_TSC_DEADLINE, tsc ? tsc : 1);
	}
	/* sti's one-instruction shadow makes "enable and halt" atomic. */
	__asm__ volatile("sti; hlt; cli" : : : "memory");
	if (deadline_ns != RT_FOREVER)
		wrmsr(MSR_TSC_DEADLINE, 0);
}

void plat_heap_range(uintptr_t *start, uintptr_t *end)
{
	*start = (uintptr_t)BI->heap_start;
	*end = (uintptr_t)BI->heap_end;
}

const char *plat_guest_name(void)
{
	return (const char *)BI->name;
}

size_t plat_arg_len(int i)
{
	if (i < 0 || (uint32_t)i >= BI->argc)
		return 0;
	return ((const uint64_t *)(uintptr_t)BI->arglen)[i];
}

uint64_t plat_mem_bytes(void)
{
	return BI->mem_bytes;
}

const struct shoal_device *plat_devices(unsigned *n)
{
	uint32_t k = BI->ndevices;

	/* The tender writes at most SHOAL_DEVICES_MAX; trust no more than that. */
	*n = k <= SHOAL_DEVICES_MAX && BI->devices == SHOAL_GPA_DEVICES ? k : 0;
	return (const struct shoal_device *)(uintptr_t)SHOAL_GPA_DEVICES;
}

int plat_dev_connect(unsigned i, void *ring_page)
{
	struct shoal_hc_device a = { i, 1, (uint64_t)(uintptr_t)ring_page };

	hypercall(SHOAL_HC_DEVICE, &a);
	return *(volatile int32_t *)&a.status;
}

/* The guest is identity-mapped: a page's address is its frame number times the page size. */
uint32_t plat_grant(unsigned i, const void *page, int host_writes)
{
	(void)i;
	(void)host_writes;
	return (uint32_t)((uintptr_t)page / SHOAL_PAGE_SIZE);
}

/* The tender checks every frame it is given: there is nothing to take back. */
void plat_grant_end(unsigned i, uint32_t ref)
{
	(void)i;
	(void)ref;
}
