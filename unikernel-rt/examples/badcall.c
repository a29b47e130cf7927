/*
 * badcall: makes one bad hypercall and expects to be stopped by the
 * tender.  KVM only: it speaks the port-I/O hypercall ABI directly.
 *
 *   badcall [ptr|len|arg|count|nr]
 *     ptr   console write whose buffer lies outside guest memory (default)
 *     len   console write with a huge length
 *     arg   hypercall whose argument struct lies outside guest memory
 *     count console write with too many pieces
 *     nr    a hypercall number that does not exist
 */
#include <shoal/abi.h>
#include <shoal/rt.h>

#define BAD_ADDR 0xdeadbeef000ull

static void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static void console(const struct shoal_iov *iov, uint32_t n)
{
	struct shoal_hc_console a = { (uint64_t)(uintptr_t)iov, n, 0 };

	outl(SHOAL_IO_HYPERCALL + SHOAL_HC_CONSOLE, (uint32_t)(uintptr_t)&a);
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "ptr";
	struct shoal_iov iov = { (uint64_t)(uintptr_t) "x", 1 };

	rt_printf("badcall: %s\n", how);
	if (!strcmp(how, "ptr")) {
		iov.base = BAD_ADDR;
		console(&iov, 1);
	} else if (!strcmp(how, "len")) {
		iov.len = 1ull << 40;
		console(&iov, 1);
	} else if (!strcmp(how, "arg")) {
		outl(SHOAL_IO_HYPERCALL + SHOAL_HC_CONSOLE, 0xfffff000u);
	} else if (!strcmp(how, "count")) {
		console(&iov, SHOAL_CONSOLE_IOV_MAX + 1);
	} else if (!strcmp(how, "nr")) {
		outl(SHOAL_IO_HYPERCALL + 77, 0x1000);
	} else {
		rt_printf("badcall: unknown variant %s\n", how);
		return 2;
	}
	rt_puts("badcall: the bad hypercall returned\n");
	return 1;
}
