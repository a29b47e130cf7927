/*
 * The image check: whether a file is a shoal guest for a platform that
 * fits in a given amount of guest memory, and how to load it.  Shared by
 * the KVM tender (which loads what it checks) and shoald (which checks an
 * image when it is stored or deployed, for every backend), so it lives
 * outside both.  Pure: reads only the bytes it is given.
 */
#ifndef SHOAL_COMMON_IMAGE_H
#define SHOAL_COMMON_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <shoal/abi.h>

#define IMAGE_MAX_PHDRS     16
#define IMAGE_MAX_BYTES     (256ull << 20) /* images larger than this are refused */
#define IMAGE_STACK_DEFAULT (256ull << 10)
/* What a Xen guest leaves above its image for the domain builder and its heap. */
#define IMAGE_XEN_BOOT_RESERVE (1ull << 20)

struct image_seg {
	uint64_t gpa;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags; /* PF_R/PF_W/PF_X */
};

struct image_elf {
	uint64_t entry;
	unsigned nseg;
	struct image_seg seg[IMAGE_MAX_PHDRS];
	uint64_t load_end;    /* highest byte loaded, exclusive */
	uint64_t stack_bytes; /* from the ABI note, or the default */
	uint64_t heap_start;  /* page above load_end */
	uint64_t heap_end;    /* bottom of the stack */
	uint32_t abi_version;
	uint32_t platform;
};

/*
 * Check that img[0, len) is a shoal guest for `platform` that fits in
 * mem_bytes of guest memory, and describe how to load it.  For the Xen
 * platforms it also checks Xen's own notes (the PV entry and hypercall
 * page, the PVH entry); entry is then the one Xen will use, and the
 * stack and heap fields describe only what the image leaves free.  Returns 0, or
 * -1 with a sentence naming the problem in err (never past errlen).
 * Reads nothing outside img.
 */
int image_check(const uint8_t *img, uint64_t len, uint64_t mem_bytes, uint32_t platform,
                struct image_elf *out, char *err, size_t errlen);

#endif /* SHOAL_COMMON_IMAGE_H */
