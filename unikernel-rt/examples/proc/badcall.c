/*
 * badcall, proc platform: makes one bad call and expects to be stopped,
 * as examples/badcall.c does on KVM.  A proc guest's calls are system
 * calls, so its bad ones are what the tender's filter refuses: a buffer
 * outside guest memory, a length or count over the console's limits, a
 * call that is not on the list.
 *
 *   badcall [ptr|len|arg|count|nr]
 *     ptr   console write whose buffer lies outside guest memory (default)
 *     len   console write with a huge length
 *     arg   console writev whose iov array lies outside guest memory
 *     count console writev with too many pieces
 *     nr    a system call number that does not exist
 */
#include <shoal/abi.h>
#include <shoal/rt.h>

#define BAD_ADDR 0xdeadbeef000ull

static long sys3(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
	                 : "=a"(r)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c)
	                 : "rcx", "r11", "memory");
	return r;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "ptr";
	struct rt_iov iov[SHOAL_CONSOLE_IOV_MAX + 1];
	unsigned i;

	rt_printf("badcall: %s\n", how);
	for (i = 0; i <= SHOAL_CONSOLE_IOV_MAX; i++)
		iov[i] = (struct rt_iov){ "x", 1 };
	if (!strcmp(how, "ptr"))
		sys3(1 /* write */, SHOAL_PROC_CONSOLE_FD, (long)BAD_ADDR, 1);
	else if (!strcmp(how, "len"))
		sys3(1, SHOAL_PROC_CONSOLE_FD, (long)"x", 1l << 40);
	else if (!strcmp(how, "arg"))
		sys3(20 /* writev */, SHOAL_PROC_CONSOLE_FD, (long)BAD_ADDR, 1);
	else if (!strcmp(how, "count"))
		sys3(20, SHOAL_PROC_CONSOLE_FD, (long)iov, SHOAL_CONSOLE_IOV_MAX + 1);
	else if (!strcmp(how, "nr"))
		sys3(777, 0, 0, 0);
	else {
		rt_printf("badcall: unknown variant %s\n", how);
		return 2;
	}
	rt_puts("badcall: the bad call returned\n");
	return 1;
}
