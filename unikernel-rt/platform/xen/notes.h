/*
 * ELF notes for the Xen platforms' entry files (assembly): Xen's own
 * notes, name "Xen", and the shoal ABI note every image carries.
 */
#ifndef RT_XEN_NOTES_H
#define RT_XEN_NOTES_H

#include <shoal/abi.h>

#include "xen_abi.h"

/* One note in the current section: XEN_NOTE(type, directive args). */
#define XEN_NOTE(type, desc...)                                                                    \
	.balign 4;                                                                                 \
	.long 4, 2f - 1f, type;                                                                    \
	.asciz "Xen";                                                                              \
	1 : desc;                                                                                  \
	2 :.balign 4

#define SHOAL_ABI_NOTE(platform)                                                                   \
	.balign 4;                                                                                 \
	.long 6, 16, SHOAL_NOTE_TYPE_ABI;                                                          \
	.asciz SHOAL_NOTE_NAME;                                                                    \
	.balign 4;                                                                                 \
	.long SHOAL_ABI_VERSION, platform, 0, 0

#endif
