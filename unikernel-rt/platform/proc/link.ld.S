/*
 * Guest image layout for the proc platform: as the KVM one (loaded from
 * 1 MiB up, at the same addresses of the guest process's address space),
 * text, read-only data with the ABI note, data and bss, each in segments
 * of their own so that the tender maps each with its own protection and
 * nothing is both writable and executable.  Preprocessed with cpp.
 */
#include <shoal/abi.h>

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
		*(.text .text.*)
	} :text

	. = ALIGN(4096);
	.rodata : { *(.rodata .rodata.*) } :rodata
	.note.shoal : { KEEP(*(.note.shoal)) } :rodata :note

	. = ALIGN(4096);
	.data : { *(.data .data.*) } :data
	.bss : { *(.bss .bss.*) *(COMMON) } :data

	/DISCARD/ : { *(.comment) *(.eh_frame*) *(.note.GNU-stack) *(.note.gnu.*) }
}
