/*
 * libFuzzer harness of the image check (common/image_elf.c): the input is
 * an image file, checked for every platform and two memory sizes, as
 * shoald checks an upload and the tenders check what they load.  What the
 * check takes must lie inside the file and inside guest memory; what it
 * refuses has a reason.  Seeds: the example guests of every platform and
 * the damaged copies of tests/data/bad-elf.txt (mkbadelf).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/image.h"

static const uint32_t platforms[] = { SHOAL_PLATFORM_KVM,
	                              SHOAL_PLATFORM_XEN_PV,
	                              SHOAL_PLATFORM_XEN_PVH,
	                              SHOAL_PLATFORM_PROC,
	                              0,
	                              99 };
static const uint64_t mems[] = { 4ull << 20, 64ull << 20 };

static void check_taken(const struct image_elf *e, uint64_t len, uint64_t mem)
{
	unsigned i;

	if (e->nseg == 0 || e->nseg > IMAGE_MAX_PHDRS || e->load_end > mem)
		abort();
	for (i = 0; i < e->nseg; i++) {
		const struct image_seg *s = &e->seg[i];

		if (s->filesz > s->memsz || s->offset > len || s->filesz > len - s->offset ||
		    s->gpa > mem || s->memsz > mem - s->gpa || s->gpa + s->memsz > e->load_end)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned p, m;

	for (p = 0; p < sizeof(platforms) / sizeof(platforms[0]); p++)
		for (m = 0; m < sizeof(mems) / sizeof(mems[0]); m++) {
			struct image_elf e;
			char err[200];

			memset(err, 0, sizeof(err));
			if (image_check(data, size, mems[m], platforms[p], &e, err, sizeof(err)) ==
			    0)
				check_taken(&e, size, mems[m]);
			else if (!err[0] || err[sizeof(err) - 1])
				abort();
		}
	return 0;
}
