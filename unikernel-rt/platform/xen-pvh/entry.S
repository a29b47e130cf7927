/*
 * xen-pvh entry: Xen starts the guest at the PHYS32_ENTRY note in 32-bit
 * protected mode, paging off, EBX = the hvm_start_info's physical
 * address.  The page tables (4 GiB identity mapped, 2 MiB pages, page 0
 * left out) and the GDT are data in the image, so reaching long mode is
 * a dozen instructions.  Exception stubs sit at a 16-byte stride for the
 * IDT that pvh.c fills in.
 */
#include "../xen/notes.h"

#define STACK_BYTES (64 * 1024)
#define SEL_CODE 0x08
#define SEL_DATA 0x10

	.section .note.Xen, "a", @note
	XEN_NOTE(XEN_ELFNOTE_GUEST_OS, .asciz "shoal")
	XEN_NOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz "1")
	XEN_NOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
	XEN_NOTE(XEN_ELFNOTE_PHYS32_ENTRY, .long _start32)

	.section .note.shoal, "a", @note
	SHOAL_ABI_NOTE(SHOAL_PLATFORM_XEN_PVH)

	.section .text.entry, "ax", @progbits
	.code32
	.globl _start32
_start32:
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x620, %eax		/* PAE, OSFXSR, OSXMMEXCPT: the compiler uses SSE */
	mov	%eax, %cr4
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	and	$~0x4, %eax		/* no EM */
	or	$0x80010023, %eax	/* PG | WP | NE | MP | PE */
	mov	%eax, %cr0
	lgdt	gdt_desc
	ljmp	$SEL_CODE, $start64

	.code64
start64:
	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	lea	stack_top(%rip), %rsp
	mov	%ebx, %edi
	call	xen_pvh_start		/* does not return */
	ud2

	.section .text.hypercall, "ax", @progbits
	.balign 4096
	.globl xen__hypercall_page
xen__hypercall_page:
	.fill 4096, 1, 0xcc		/* int3 until Xen writes the stubs */

/* Exceptions: vector and error code (or 0) pushed, then C reports them. */
	.text
	.balign 16
	.globl xen_pvh_exc_stubs
xen_pvh_exc_stubs:
	.set vec, 0
	.rept 20
	.org xen_pvh_exc_stubs + 16 * vec
	.if vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17
	push	$vec
	.else
	push	$0
	push	$vec
	.endif
	jmp	exc_common
	.set vec, vec + 1
	.endr
	.org xen_pvh_exc_stubs + 16 * 20

exc_common:
	mov	%rsp, %rdi		/* vector, error, rip, cs, rflags, rsp, ss */
	and	$-16, %rsp
	call	xen_pvh_trap		/* does not return */
	ud2

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* SEL_CODE: 64-bit code */
	.quad 0x00cf92000000ffff	/* SEL_DATA */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .data.pagetables, "aw", @progbits
	.balign 4096
pml4:
	.quad pdpt + 3
	.fill 511, 8, 0
pdpt:
	.quad pd + 3, pd + 0x1000 + 3, pd + 0x2000 + 3, pd + 0x3000 + 3
	.fill 508, 8, 0
pd:
	.quad pt0 + 3
	.set i, 1
	.rept 2047
	.quad (i << 21) | 0x83
	.set i, i + 1
	.endr
pt0:
	.quad 0				/* page 0: NULL faults */
	.set i, 1
	.rept 511
	.quad (i << 12) | 3
	.set i, i + 1
	.endr

	.section .bss.stack, "aw", @nobits
	.balign 16
	.space STACK_BYTES
stack_top:
