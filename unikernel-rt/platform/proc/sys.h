/*
 * The few Linux system calls the proc platform makes, as inline
 * instructions: the runtime is freestanding and links no C library.
 * Each returns the kernel's value (a negative errno on failure).
 */
#ifndef RT_PROC_SYS_H
#define RT_PROC_SYS_H

#include <stddef.h>
#include <stdint.h>

#define SYS_read          0
#define SYS_write         1
#define SYS_pread64       17
#define SYS_pwrite64      18
#define SYS_writev        20
#define SYS_fdatasync     75
#define SYS_clock_gettime 228
#define SYS_exit_group    231
#define SYS_ppoll         271

#define PROC_EAGAIN 11
#define PROC_EINTR  4

#define PROC_POLLIN 0x001

struct proc_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

struct proc_pollfd {
	int32_t fd;
	int16_t events;
	int16_t revents;
};

static inline long proc_sys3(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
	                 : "=a"(r)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c)
	                 : "rcx", "r11", "memory");
	return r;
}

static inline long proc_sys5(long nr, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	long r;

	__asm__ volatile("syscall"
	                 : "=a"(r)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
	                 : "rcx", "r11", "memory");
	return r;
}

static inline long proc_sys4(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long r;

	__asm__ volatile("syscall"
	                 : "=a"(r)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
	                 : "rcx", "r11", "memory");
	return r;
}

__attribute__((noreturn)) static inline void proc_exit_group(int code)
{
	for (;;)
		proc_sys3(SYS_exit_group, code, 0, 0);
}

#endif /* RT_PROC_SYS_H */
