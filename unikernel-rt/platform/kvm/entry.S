/*
 * KVM platform entry and interrupt stubs.  The tender starts the guest in
 * 64-bit mode with its page tables and GDT in place; this file provides
 * everything the CPU jumps to.  The IDT itself is data built by the
 * linker script from the stub addresses below, so booting costs one lidt.
 *
 * Stubs for vector v sit at a fixed 16-byte stride from their table's
 * start (.org enforces it), which is what lets link.ld.S compute them.
 */
#include <shoal/abi.h>

#define PENDING  (SHOAL_GPA_SHARED + SHOAL_OFF_PENDING)
#define MASK     (SHOAL_GPA_SHARED + SHOAL_OFF_MASK)
#define PROBES   (SHOAL_GPA_SHARED + SHOAL_OFF_PROBES)
#define UPCALLS  (SHOAL_GPA_SHARED + SHOAL_OFF_UPCALLS)
#define MSR_X2APIC_EOI 0x80b

	.section .note.shoal, "a", @note
	.balign 4
	.long 6                         /* namesz */
	.long 16                        /* descsz */
	.long SHOAL_NOTE_TYPE_ABI
	.asciz SHOAL_NOTE_NAME
	.balign 4
	.long SHOAL_ABI_VERSION
	.long SHOAL_PLATFORM_KVM
	.long 0                         /* stack_kib: tender default */
	.long 0

	.section .rodata
	.balign 16
	.globl rt__idt_desc
rt__idt_desc:
	.word 256 * 16 - 1
	.quad rt__idt

	.section .text.isr, "ax", @progbits

/*
 * Event upcalls.  Port p's stub stores p and joins the common path, which
 * sets p's pending bit; the probe port's stub answers the probe at once
 * unless the port is masked (see core/evtchn.c).
 */
	.balign 16
	.globl rt__evt_stubs
rt__evt_stubs:
	.set port, 0
	.rept SHOAL_EVTCHN_NPORTS
	.org rt__evt_stubs + 16 * port
	.if port == SHOAL_PORT_PROBE
	jmp	probe_upcall
	.else
	push	%rax
	mov	$port, %eax
	jmp	evt_upcall
	.endif
	.set port, port + 1
	.endr
	.org rt__evt_stubs + 16 * SHOAL_EVTCHN_NPORTS

probe_upcall:
	btq	$SHOAL_PORT_PROBE, MASK
	jc	1f
	push	%rax
	push	%rcx
	push	%rdx
	mov	$SHOAL_PORT_PROBE, %eax
	mov	$SHOAL_IO_NOTIFY, %edx
	outl	%eax, %dx
	incq	PROBES
	jmp	eoi
1:	push	%rax
	mov	$SHOAL_PORT_PROBE, %eax
	/* fall through */
evt_upcall:				/* %rax saved, %eax = port */
	btsq	%rax, PENDING
	incq	UPCALLS
	push	%rcx
	push	%rdx
eoi:
	mov	$MSR_X2APIC_EOI, %ecx
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq

	.globl rt__timer_upcall
rt__timer_upcall:			/* only wakes a halted vCPU */
	push	%rax
	push	%rcx
	push	%rdx
	jmp	eoi

	.globl rt__spurious
rt__spurious:
	iretq

/*
 * Exceptions end the guest: the stub makes the frame uniform (vector and
 * error code on top), the common path turns it into struct shoal_hc_fault
 * in place (CR2 over the SS slot) and hands its address to the tender.
 */
	.balign 16
	.globl rt__exc_stubs
rt__exc_stubs:
	.set vec, 0
	.rept 32
	.org rt__exc_stubs + 16 * vec
	.if vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30
	push	$vec
	.else
	push	$0
	push	$vec
	.endif
	jmp	exc_common
	.set vec, vec + 1
	.endr
	.org rt__exc_stubs + 16 * 32

exc_common:
	mov	%cr2, %rax
	mov	%rax, 48(%rsp)
	mov	%esp, %eax
	mov	$(SHOAL_IO_HYPERCALL + SHOAL_HC_FAULT), %edx
	outl	%eax, %dx
1:	cli
	hlt
	jmp	1b
