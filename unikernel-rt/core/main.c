/*
 * The runtime's start and end: the platform entry hands over argc/argv,
 * main() runs, its return value becomes the exit code.  Kept to a few
 * instructions: on emulated ring 0 every one of them is boot time.
 */
#include "rt_internal.h"

void rt__main(int argc, char **argv)
{
	rt_exit(main(argc, argv));
}

void rt_exit(int code)
{
	if (code < 0 || code > 199)
		code = 199;
	plat_exit(code);
}

void rt__abort(const char *file, unsigned line, const char *msg)
{
	plat_abort(file, strlen(file), line, msg, strlen(msg));
}

const char *rt_guest_name(void)
{
	return plat_guest_name();
}

size_t rt_arg_len(int i)
{
	return plat_arg_len(i);
}

uint64_t rt_mem_bytes(void)
{
	return plat_mem_bytes();
}

uint64_t rt_clock_ns(void)
{
	return plat_clock_ns();
}

uint64_t rt_wallclock_ns(void)
{
	return plat_wallclock_ns();
}
