/*
 * Guest image layout for xen-pvh: loaded at its physical addresses from
 * 1 MiB up, identity mapped by the page tables in entry.S.
 */
OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(_start32)

PHDRS
{
	text PT_LOAD FLAGS(5);
	rodata PT_LOAD FLAGS(4);
	data PT_LOAD FLAGS(6);
	note PT_NOTE FLAGS(4);
}

SECTIONS
{
	. = 0x100000;
	.text : {
		*(.text.entry)
		*(.text.hypercall)
		*(.text .text.*)
	} :text

	. = ALIGN(4096);
	.rodata : { *(.rodata .rodata.*) } :rodata
	.note : { KEEP(*(.note.shoal)) KEEP(*(.note.Xen)) } :rodata :note

	. = ALIGN(4096);
	.data : { *(.data.pagetables) *(.data .data.*) } :data
	.bss : {
		*(.bss .bss.*) *(COMMON)
		. = ALIGN(4096);
	} :data
	_end = .;

	/DISCARD/ : { *(.comment) *(.eh_frame*) *(.note.GNU-stack) *(.note.gnu.*) }
}
