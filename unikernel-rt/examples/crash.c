/*
 * crash: misbehaves in a chosen way, for the tests of how a guest's end is
 * reported.  crash [null|write|ud|div|abort|assert|exit N]
 */
#include <shoal/rt.h>

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "null";
	volatile int zero = 0;

	if (!strcmp(how, "null"))
		return *(volatile int *)0;
	if (!strcmp(how, "write"))
		*(volatile uint64_t *)(uintptr_t)(rt_mem_bytes() + 0x200000) = 1;
	else if (!strcmp(how, "ud"))
		__asm__ volatile("ud2");
	else if (!strcmp(how, "div"))
		return 100 / zero;
	else if (!strcmp(how, "abort"))
		rt_abort("the guest gave up");
	else if (!strcmp(how, "assert"))
		RT_ASSERT(argc == 42);
	else if (!strcmp(how, "exit") && argc > 2) {
		int ok;

		return (int)rt_strtou64(argv[2], &ok);
	}
	rt_printf("crash: unknown way to crash: %s\n", how);
	return 2;
}
