/*
 * The probe floor's guest: no runtime at all.  It halts; the probe
 * port's interrupt notifies back, acknowledges the APIC and returns.
 * The least a guest can do on the notify/wake path, to measure the
 * runtime against.  Linked at SHOAL_GPA_IMAGE_MIN (see bench/local.mk).
 */
#include <shoal/abi.h>

#define VEC   (SHOAL_VEC_EVTCHN + SHOAL_PORT_PROBE)
#define ADDR(sym) ((sym) - _start + SHOAL_GPA_IMAGE_MIN)

	.section .note.shoal, "a", @note
	.balign 4
	.long 6, 16, SHOAL_NOTE_TYPE_ABI
	.asciz SHOAL_NOTE_NAME
	.balign 4
	.long SHOAL_ABI_VERSION, SHOAL_PLATFORM_KVM, 0, 0

	.text
	.globl _start
_start:
	lidt	idtr(%rip)
	sti
1:	hlt
	jmp	1b

probe:
	push	%rax
	push	%rcx
	push	%rdx
	mov	$SHOAL_PORT_PROBE, %eax
	mov	$SHOAL_IO_NOTIFY, %edx
	outl	%eax, %dx
	mov	$0x80b, %ecx
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq

	.balign 16
idtr:
	.word	256 * 16 - 1
	.quad	ADDR(idt)

	.balign 16
idt:
	.fill	VEC * 16, 1, 0
	.word	ADDR(probe) & 0xffff
	.word	SHOAL_SEL_CODE
	.byte	0, 0x8e
	.word	(ADDR(probe) >> 16) & 0xffff
	.long	0, 0
	.fill	(255 - VEC) * 16, 1, 0
