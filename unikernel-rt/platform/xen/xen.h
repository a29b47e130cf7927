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

/* Xen's system time: ns since Xen booted. */
uint64_t xen__system_ns(void);
/* Sleep ns (no port wakes it). */
void xen__sleep_ns(uint64_t ns);

/*
 * The xenstore client (xen.c), synchronous.  A path without a leading '/'
 * is relative to the guest's /local/domain/<domid>; tx is a transaction
 * (0: none).  Reads NUL-terminate what they return in buf (cap bytes) and
 * answer its length, or one of these:
 */
#define XEN_XS_EABSENT  (-1) /* no such key, or not readable */
#define XEN_XS_ETOOLONG (-2) /* longer than cap - 1 bytes */
#define XEN_XS_ENUL     (-3) /* a value with a NUL inside */
long xen__xs_read(uint32_t tx, const char *path, char *buf, size_t cap);
/* The names under path, each NUL-terminated, one after the other. */
long xen__xs_directory(const char *path, char *buf, size_t cap);
/* 0, or -1 when the store refused. */
int xen__xs_write(uint32_t tx, const char *path, const char *val);
int xen__xs_tx_start(uint32_t *tx);
/* 0 when it ended (committed or not), 1 when it must be tried again (EAGAIN), -1 otherwise. */
int xen__xs_tx_end(uint32_t tx, int commit);

/*
 * Device front-ends (front.c): whether port is a device's event channel.
 */
int xen__front_port(unsigned port);

/*
 * Provided by each Xen platform.  xen__gnttab_map() maps up to *frames
 * frames of this domain's grant table (version 1) where the guest can
 * write them and returns their address, with *frames set to how many;
 * NULL when it cannot (it has said why on the console).  xen__frame() is
 * the frame a grant entry names for the page at p (PV: the machine frame;
 * PVH: the guest frame), 0 for a page outside the guest's memory.
 */
volatile struct xen_grant_entry_v1 *xen__gnttab_map(unsigned *frames);
uint64_t xen__frame(const void *p);

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
