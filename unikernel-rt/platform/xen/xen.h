/*
 * What the two Xen platforms (xen-pv, xen-pvh) share: hypercalls through
 * the hypercall page, and the state their entries fill in before handing
 * over to xen__boot().  Each platform finds the same things (shared_info,
 * the console and xenstore rings and their ports, the command line) in
 * its own way; everything after that lives in platform/xen/xen.c.
 */
#ifndef RT_XEN_H
#define RT_XEN_H

#include "../../core/rt_internal.h"
#include "xen_abi.h"

/* Filled by the platform's entry before xen__boot(). */
struct xen__plat {
	volatile struct xen_shared_info *shared;
	volatile struct xen_cons_ring *cons;
	volatile struct xs_ring *store;
	uint32_t cons_port;
	uint32_t store_port;
	uint64_t mem_bytes;
};

extern struct xen__plat xen__p;

/* One page in the image's text, filled with hypercall stubs by Xen. */
extern char xen__hypercall_page[];

/*
 * Hypercall nr with up to three arguments.  Xen may clobber the argument
 * registers (debug builds do), so they are outputs too.
 */
static inline __attribute__((always_inline)) long xen__hc3(unsigned nr, uint64_t a1, uint64_t a2,
                                                           uint64_t a3)
{
	long r;

	__asm__ volatile("call xen__hypercall_page + %c[off]"
	                 : "=a"(r), "+D"(a1), "+S"(a2), "+d"(a3)
	                 : [off] "i"(nr * XEN_HYPERCALL_STRIDE)
	                 : "rcx", "r11", "r8", "r10", "memory");
	return r;
}

static inline __attribute__((always_inline)) long xen__hc4(unsigned nr, uint64_t a1, uint64_t a2,
                                                           uint64_t a3, uint64_t a4)
{
	register uint64_t r10 __asm__("r10") = a4;
	long r;

	__asm__ volatile("call xen__hypercall_page + %c[off]"
	                 : "=a"(r), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10)
	                 : [off] "i"(nr * XEN_HYPERCALL_STRIDE)
	                 : "rcx", "r11", "r8", "memory");
	return r;
}

static inline __attribute__((always_inline)) long xen__hc2(unsigned nr, uint64_t a1, uint64_t a2)
{
	return xen__hc3(nr, a1, a2, 0);
}

static inline uint64_t xen__rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * Start the runtime: take the boot clock, allocate and advertise the
 * probe port, read the guest's name, split cmdline (modified in place)
 * into argv[1..] and run main().  Needs xen__p filled and shared_info
 * mapped.
 */
__attribute__((noreturn)) void xen__boot(char *cmdline);

/*
 * End the guest for a CPU exception: report it on the console and in
 * data/shoal/exit-reason, then shut down as crashed.  addr is the fault
 * address of a page fault.
 */
__attribute__((noreturn)) void xen__fault(uint64_t vector, uint64_t error, uint64_t rip,
                                          uint64_t rsp, uint64_t addr);

#endif /* RT_XEN_H */
