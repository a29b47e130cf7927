/*
 * What a platform (platform/<name>/) provides to the runtime's shared core,
 * and what the core provides back.  Guest applications never include this.
 */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include <shoal/abi.h>
#include <shoal/rt.h>

/* ---- provided by the platform ---- */

void plat_console_writev(const struct rt_iov *iov, unsigned n);
__attribute__((noreturn)) void plat_exit(int code);
__attribute__((noreturn)) void plat_abort(const char *file, size_t file_len, unsigned line,
                                          const char *msg, size_t msg_len);
void plat_notify(unsigned port);
uint64_t plat_clock_ns(void);
uint64_t plat_wallclock_ns(void);

/* Event bitmaps: word w of the pending and mask bitmaps. */
volatile uint64_t *plat_evtchn_pending(void);
volatile uint64_t *plat_evtchn_mask(void);
unsigned plat_evtchn_nports(void);
unsigned plat_probe_port(void); /* 0 when not wired */
int plat_port_bound(unsigned port);
uint64_t *plat_probe_counter(void); /* probes answered, shared with the upcall */

void plat_irq_disable(void);
void plat_irq_enable(void);
/*
 * Called with interrupts disabled: enable them and sleep until an
 * interrupt arrives or the monotonic clock reaches deadline_ns, as one
 * atomic step (no wake-up lost between the check and the sleep); return
 * with interrupts disabled again.
 */
void plat_halt(uint64_t deadline_ns);

/*
 * Devices (blk.c, netdev.c): the table of what the host gives this guest
 * (KVM: the tender's, after the boot info; Xen: the front-end directories
 * in xenstore), and handing device i's ring page(s) to the host (0, or
 * negative when refused; the platform has said why on the console).
 * plat_grant() gives device i's host access to a page of the guest's and
 * returns the reference a ring entry names (KVM: the frame number; Xen: a
 * grant reference for the device's back-end domain), 0 when no reference
 * is left; plat_grant_end() takes it back once the host has answered the
 * request that named it.  Table entries may change (a disk's size) only
 * in plat_dev_connect().
 */
const struct shoal_device *plat_devices(unsigned *n);
int plat_dev_connect(unsigned i, void *ring_page);
uint32_t plat_grant(unsigned i, const void *page, int host_writes);
void plat_grant_end(unsigned i, uint32_t ref);

void plat_heap_range(uintptr_t *start, uintptr_t *end);
/*
 * rt_pages_alloc() without the zeroing, for buffers one side fills before
 * the other reads them (a NIC's frames): where ring-0 guest code is
 * emulated, each step of memset's rep stosq is emulated on its own
 * (string.c), and zeroing a NIC's 64 buffer pages was most of its
 * bring-up.
 */
void *rt__pages_alloc_raw(size_t pages, void **block);
const char *plat_guest_name(void);
size_t plat_arg_len(int i);
uint64_t plat_mem_bytes(void);

/* ---- provided by the core ---- */

/*
 * The device of that kind named name (exactly, NUL within its field) in
 * the platform's table, with its index in *index; NULL when there is none
 * (devices.c).
 */
const struct shoal_device *rt__device_find(uint32_t kind, const char *name, unsigned *index);
/* How many devices of that kind the table has, and the name of the i-th (NULL past the end). */
unsigned rt__device_count(uint32_t kind);
const char *rt__device_name(uint32_t kind, unsigned i);

/* The platform's entry calls this once the machine is usable. */
__attribute__((noreturn)) void rt__main(int argc, char **argv);

/* Single-CPU atomic bit operations on event bitmaps (one instruction each). */
static inline void rt__bit_set(volatile uint64_t *w, unsigned bit)
{
	__asm__ volatile("btsq %1, %0" : "+m"(*w) : "r"((uint64_t)bit) : "cc");
}

static inline int rt__bit_test_clear(volatile uint64_t *w, unsigned bit)
{
	unsigned char was;
	__asm__ volatile("btrq %2, %0; setc %1" : "+m"(*w), "=q"(was) : "r"((uint64_t)bit) : "cc");
	return was;
}

static inline void rt__bit_clear(volatile uint64_t *w, unsigned bit)
{
	__asm__ volatile("btrq %1, %0" : "+m"(*w) : "r"((uint64_t)bit) : "cc");
}

#endif /* RT_INTERNAL_H */
