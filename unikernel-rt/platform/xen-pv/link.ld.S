/*
 * Guest image layout for xen-pv: linked from virtual address 0 (the
 * VIRT_BASE note), where Xen maps the image 1:1 onto the first
 * pseudo-physical pages.  Page 0 holds nothing and is unmapped at boot,
 * so that a NULL dereference faults; the hypercall page follows.
 */
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
	. = 0;
	.text : {
		. = 4096;
		*(.text.hypercall)
		*(.text.entry)
		*(.text .text.*)
	} :text

	. = ALIGN(4096);
	.rodata : { *(.rodata .rodata.*) } :rodata
	.note : { KEEP(*(.note.shoal)) KEEP(*(.note.Xen)) } :rodata :note

	. = ALIGN(4096);
	.data : { *(.data .data.*) } :data
	.bss : {
		*(.bss .bss.*) *(COMMON)
		. = ALIGN(4096);
	} :data
	_end = .;

	/DISCARD/ : { *(.comment) *(.eh_frame*) *(.note.GNU-stack) *(.note.gnu.*) }
}
