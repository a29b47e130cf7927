/*
 * xen-pv entry: Xen's ELF notes, the hypercall page, the boot stack and
 * the trap stubs.  Xen starts the guest in 64-bit mode with the image,
 * start_info (RSI) and its bootstrap page tables mapped from virtual 0.
 */
#include "../xen/notes.h"

#define STACK_BYTES (64 * 1024)

	.section .note.Xen, "a", @note
	XEN_NOTE(XEN_ELFNOTE_GUEST_OS, .asciz "shoal")
	XEN_NOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz "1")
	XEN_NOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
	XEN_NOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
	XEN_NOTE(XEN_ELFNOTE_VIRT_BASE, .quad 0)
	XEN_NOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad 0)
	XEN_NOTE(XEN_ELFNOTE_ENTRY, .quad _start)
	XEN_NOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad xen__hypercall_page)
	XEN_NOTE(XEN_ELFNOTE_FEATURES, .asciz "!writable_page_tables")
	XEN_NOTE(XEN_ELFNOTE_PAE_MODE, .asciz "yes")

	.section .note.shoal, "a", @note
	SHOAL_ABI_NOTE(SHOAL_PLATFORM_XEN_PV)

	.section .text.entry, "ax", @progbits
	.globl _start
_start:
	mov	%rsi, %rdi		/* start_info */
	mov	%rsp, %rsi		/* top of Xen's boot stack: the end of its bootstrap area */
	lea	stack_top(%rip), %rsp
	call	xen_pv_start		/* does not return */
	ud2

	.section .text.hypercall, "ax", @progbits
	.balign 4096
	.globl xen__hypercall_page
xen__hypercall_page:
	.fill 4096, 1, 0xcc		/* int3 until Xen writes the stubs */

/*
 * Exceptions.  Xen bounces them onto the current stack as the CPU would,
 * with RCX and R11 pushed on top; vectors with an error code have it
 * between those and RIP.  Each stub passes its vector and frame to C,
 * which reports the fault and ends the guest.
 */
	.text
	.macro trap vec, has_err
	.globl xen_pv_trap\vec
xen_pv_trap\vec:
	mov	$\vec, %edi
	lea	16(%rsp), %rsi
	mov	$\has_err, %edx
	jmp	trap_common
	.endm

	trap 0, 0
	trap 1, 0
	trap 3, 0
	trap 4, 0
	trap 5, 0
	trap 6, 0
	trap 7, 0
	trap 8, 1
	trap 9, 0
	trap 10, 1
	trap 11, 1
	trap 12, 1
	trap 13, 1
	trap 14, 1
	trap 16, 0
	trap 17, 1
	trap 18, 0
	trap 19, 0

trap_common:
	and	$-16, %rsp
	call	xen_pv_trap		/* does not return */
	ud2

	.section .rodata
	.balign 16
	.globl xen_pv_trap_table
xen_pv_trap_table:
	.irp vec, 0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19
	.byte \vec, 0
	.word XEN_FLAT_KERNEL_CS
	.long 0
	.quad xen_pv_trap\vec
	.endr
	.quad 0, 0			/* end of table */

	.section .bss.stack, "aw", @nobits
	.balign 16
	.space STACK_BYTES
stack_top:
