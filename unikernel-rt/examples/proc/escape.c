/*
 * escape (proc platform only): a hostile guest.  It goes around the
 * runtime and asks the kernel directly for what a process could do but a
 * guest must not: open a host file, make a socket, run a program, signal
 * another process, map executable memory, make its own memory
 * executable, start a process.  Each attempt should end the guest with a
 * bad system call; one that returns is printed with its result and the
 * guest exits 1.  grow writes its first disk far past its end, which the
 * kernel must refuse (EFBIG): the guest exits 0 when it did.
 *
 *   escape open|socket|exec|kill|mmap-exec|mprotect-exec|fork|ptrace|grow
 */
#include <shoal/abi.h>
#include <shoal/rt.h>

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long r;

	__asm__ volatile("syscall"
	                 : "=a"(r)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return r;
}

int main(int argc, char **argv)
{
	static char page[8192] __attribute__((aligned(4096)));
	const char *how = argc > 1 ? argv[1] : "open";
	char *const sh_argv[] = { "/bin/sh", 0 };
	long r;

	rt_printf("escape: %s\n", how);
	if (!strcmp(how, "open"))
		r = sys6(257 /* openat */, -100 /* AT_FDCWD */, (long)"/etc/passwd", 0, 0, 0, 0);
	else if (!strcmp(how, "socket"))
		r = sys6(41 /* socket */, 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0, 0, 0, 0);
	else if (!strcmp(how, "exec"))
		r = sys6(59 /* execve */, (long)"/bin/sh", (long)sh_argv, 0, 0, 0, 0);
	else if (!strcmp(how, "kill"))
		r = sys6(62 /* kill */, 1, 9 /* SIGKILL */, 0, 0, 0, 0);
	else if (!strcmp(how, "mmap-exec"))
		r = sys6(9 /* mmap */, 0, 4096, 7 /* RWX */, 0x22 /* PRIVATE|ANON */, -1, 0);
	else if (!strcmp(how, "mprotect-exec"))
		r = sys6(10 /* mprotect */, (long)page, 4096, 7, 0, 0, 0);
	else if (!strcmp(how, "fork"))
		r = sys6(57 /* fork */, 0, 0, 0, 0, 0, 0);
	else if (!strcmp(how, "grow")) {
		int fd = ((const volatile struct shoal_proc_fds *)SHOAL_PROC_FDS)->dev_fd[0];

		r = sys6(18 /* pwrite64 */, fd, (long)page, 4096, 1l << 30, 0, 0);
		rt_printf("escape: grow: pwrite 1 GiB into disk fd %d returned %ld\n", fd, r);
		return r == -27 /* EFBIG */ ? 0 : 1;
	} else if (!strcmp(how, "ptrace"))
		r = sys6(101 /* ptrace */, 16 /* PTRACE_ATTACH */, 1, 0, 0, 0, 0);
	else {
		rt_printf("escape: unknown attempt %s\n", how);
		return 2;
	}
	rt_printf("escape: %s returned %ld: the guest was not stopped\n", how, r);
	return 1;
}
