/*
 * Guest image layout for the KVM platform: loaded from 1 MiB up, text,
 * read-only data (with the IDT, built here from the stub addresses so the
 * guest does not spend boot instructions on it), the ABI note, data, bss.
 * Preprocessed with cpp; see entry.S for the stub tables.
 */
#include <shoal/abi.h>

#define GATE(h) \
	SHORT((h) & 0xFFFF); SHORT(SHOAL_SEL_CODE); BYTE(0); BYTE(0x8E); \
	SHORT(((h) >> 16) & 0xFFFF); LONG((h) >> 32); LONG(0);
#define EXC(v) GATE(rt__exc_stubs + 16 * (v))
#define EVT(p) GATE(rt__evt_stubs + 16 * (p))
#define EXC4(v) EXC(v) EXC(v + 1) EXC(v + 2) EXC(v + 3)
#define EXC16(v) EXC4(v) EXC4(v + 4) EXC4(v + 8) EXC4(v + 12)
#define EVT4(p) EVT(p) EVT(p + 1) EVT(p + 2) EVT(p + 3)
#define EVT16(p) EVT4(p) EVT4(p + 4) EVT4(p + 8) EVT4(p + 12)

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(_start)

PHDRS
{
	text PT_LOAD FLAGS(5);
	rodata PT_LOAD FLAGS(4);
	data PT_LOAD FLAGS(6);
	note PT_NOTE FLAGS(4);
}

SECTIONS
{
	. = SHOAL_GPA_IMAGE_MIN;
	.text : {
		*(.text.entry)
		*(.text.isr)
		*(.text .text.*)
	} :text

	. = ALIGN(4096);
	.rodata : {
		*(.rodata .rodata.*)
		. = ALIGN(16);
		rt__idt = .;
		EXC16(0) EXC16(16)
		. = rt__idt + 16 * SHOAL_VEC_TIMER;
		GATE(rt__timer_upcall)
		. = rt__idt + 16 * SHOAL_VEC_EVTCHN;
		EVT16(0) EVT16(16) EVT16(32) EVT16(48)
		. = rt__idt + 16 * SHOAL_VEC_SPURIOUS;
		GATE(rt__spurious)
	} :rodata
	.note.shoal : { KEEP(*(.note.shoal)) } :rodata :note

	. = ALIGN(4096);
	.data : { *(.data .data.*) } :data
	.bss : { *(.bss .bss.*) *(COMMON) } :data

	/DISCARD/ : { *(.comment) *(.eh_frame*) *(.note.GNU-stack) *(.note.gnu.*) }
}
