/*
 * unikernel-rt: the runtime every shoal guest links.  This header is the
 * whole API a guest application sees; the platform underneath (KVM via
 * shoal-vmm, Xen PV, Xen PVH) is chosen at link time.
 *
 * The guest is single-threaded with one vCPU.  Event handlers run from
 * rt_evtchn_dispatch() (directly, or from rt_run()), never from interrupt
 * context, so they may use every function here.
 */
#ifndef SHOAL_RT_H
#define SHOAL_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A piece of memory to write: same layout as the ABI's struct shoal_iov. */
struct rt_iov {
	const void *base;
	size_t len;
};

/* ---- Console -------------------------------------------------------- */

/* Write bytes to the guest console; one hypercall per call. */
void rt_console_write(const char *buf, size_t len);
/* Write several pieces with one hypercall (at most 64 pieces). */
void rt_console_writev(const struct rt_iov *iov, unsigned n);
/* NUL-terminated string, no newline added. */
void rt_puts(const char *s);
/*
 * printf subset: %d %i %u %x %X %s %c %p %% with l/ll/z length,
 * width, zero-pad and left-justify (-); output is capped at 1 KiB per call.  Returns bytes written.
 */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- Clocks --------------------------------------------------------- */

#define RT_FOREVER UINT64_MAX

/* Monotonic nanoseconds since the guest booted. */
uint64_t rt_clock_ns(void);
/* Wall clock: nanoseconds since the UNIX epoch. */
uint64_t rt_wallclock_ns(void);

/* ---- Event channels ------------------------------------------------- */

typedef void (*rt_evtchn_fn)(unsigned port, void *arg);

/*
 * Call fn(port, arg) from rt_evtchn_dispatch() whenever port is pending.
 * Binding a handler unmasks the port.  Returns 0, or -1 if port is out of
 * range or is the probe port (the runtime answers that one itself).
 */
int rt_evtchn_bind(unsigned port, rt_evtchn_fn fn, void *arg);
/* Notify the host side of port. */
void rt_evtchn_notify(unsigned port);
/* A masked port still becomes pending but wakes nobody. */
void rt_evtchn_mask(unsigned port);
void rt_evtchn_unmask(unsigned port);
/* Is port pending (whether masked or not)? */
int rt_evtchn_is_pending(unsigned port);
/* Is port wired to the host by the tender? */
int rt_evtchn_is_bound(unsigned port);
/*
 * Sleep until an unmasked port is pending or the monotonic clock reaches
 * deadline_ns (RT_FOREVER: no deadline).  Returns 1 for events, 0 for
 * the deadline.
 */
int rt_block(uint64_t deadline_ns);
/*
 * Clear each pending unmasked port and run its handler (the probe port is
 * answered here when it was pending while masked).  Returns the number of
 * ports handled.
 */
unsigned rt_evtchn_dispatch(void);
/* Block and dispatch for ever. */
__attribute__((noreturn)) void rt_run(void);
/* Probes answered so far (by the upcall and by dispatch). */
uint64_t rt_probes_answered(void);
/*
 * The daemon's probe port, 0 when there is none: SHOAL_PORT_PROBE on
 * KVM; on Xen the port the runtime allocated for Dom0 at boot.
 */
unsigned rt_evtchn_probe_port(void);

/* ---- Memory --------------------------------------------------------- */

void *rt_malloc(size_t size);
void *rt_calloc(size_t n, size_t size);
void *rt_realloc(void *p, size_t size);
void rt_free(void *p);
/*
 * pages zeroed pages at a page boundary (what a device ring or a buffer
 * handed to the host must be); *block is what to rt_free() later.  NULL
 * when out of memory.
 */
void *rt_pages_alloc(size_t pages, void **block);
/* Bytes the heap could still hand out (largest free block). */
size_t rt_heap_free_bytes(void);

/* ---- Boot information and exit -------------------------------------- */

const char *rt_guest_name(void);
/* Length of argv[i] without computing it (the tender measured it). */
size_t rt_arg_len(int i);
uint64_t rt_mem_bytes(void);

/* End the guest; code is 0..199 (others are clamped to 199). */
__attribute__((noreturn)) void rt_exit(int code);
/* End the guest reporting file, line and message to the host. */
__attribute__((noreturn)) void rt__abort(const char *file, unsigned line, const char *msg);
#define rt_abort(msg) rt__abort(__FILE__, __LINE__, (msg))
#define RT_ASSERT(e)  ((e) ? (void)0 : rt__abort(__FILE__, __LINE__, "assertion failed: " #e))

/* ---- Freestanding C library subset ---------------------------------- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* C's atoi: optional blanks and sign, then decimal digits; no error report. */
int atoi(const char *s);
/* Decimal string to unsigned; stops at the first non-digit; *ok set 0 on none/overflow. */
uint64_t rt_strtou64(const char *s, int *ok);
/*
 * A KEY=VALUE argument: 1 with *v set when arg is key's and its value is
 * a whole decimal number; 0 when arg is not about key; -1 when it is but
 * its value is not a number, has more after the digits, or overflows.
 */
int rt_arg_u64(const char *arg, const char *key, uint64_t *v);

/* The application's entry point, as in C. */
int main(int argc, char **argv);

#endif /* SHOAL_RT_H */
