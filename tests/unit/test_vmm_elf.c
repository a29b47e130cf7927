/*
 * Unit tests of the tender's ELF checker: a well-formed synthetic guest
 * is accepted and described; each way of breaking it is refused with a
 * message naming the problem.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/vmm/vmm.h"

#define MEM (32ull << 20)

/* A minimal image: header, two program headers (text, note), text, note. */
struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
	uint8_t text[64];
	struct {
		uint32_t namesz, descsz, type;
		char name[8];
		struct shoal_note_abi abi;
	} note;
};

static void make_image(struct image *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = EM_X86_64;
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = SHOAL_GPA_IMAGE_MIN;
	im->eh.e_phoff = offsetof(struct image, ph);
	im->eh.e_ehsize = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = 2;
	im->ph[0].p_type = PT_LOAD;
	im->ph[0].p_flags = PF_R | PF_X;
	im->ph[0].p_offset = offsetof(struct image, text);
	im->ph[0].p_vaddr = im->ph[0].p_paddr = SHOAL_GPA_IMAGE_MIN;
	im->ph[0].p_filesz = sizeof(im->text);
	im->ph[0].p_memsz = 4096;
	im->ph[1].p_type = PT_NOTE;
	im->ph[1].p_offset = offsetof(struct image, note);
	im->ph[1].p_filesz = sizeof(im->note);
	im->note.namesz = 6;
	im->note.descsz = sizeof(struct shoal_note_abi);
	im->note.type = SHOAL_NOTE_TYPE_ABI;
	memcpy(im->note.name, "Shoal", 6);
	im->note.abi.abi_version = SHOAL_ABI_VERSION;
	im->note.abi.platform = SHOAL_PLATFORM_KVM;
}

static const char *check(const struct image *im, size_t len)
{
	static char err[512];
	struct vmm_elf elf;

	if (vmm_elf_check((const uint8_t *)im, len, MEM, SHOAL_PLATFORM_KVM, &elf, err, sizeof(err)) == 0)
		return NULL;
	return err;
}

static void accepts_good_image(void **state)
{
	struct image im;
	struct vmm_elf elf;
	char err[256];

	(void)state;
	make_image(&im);
	assert_int_equal(vmm_elf_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_KVM, &elf, err,
	                               sizeof(err)),
	                 0);
	assert_int_equal(elf.nseg, 1);
	assert_int_equal(elf.entry, SHOAL_GPA_IMAGE_MIN);
	assert_int_equal(elf.load_end, SHOAL_GPA_IMAGE_MIN + 4096);
	assert_int_equal(elf.heap_start, SHOAL_GPA_IMAGE_MIN + 4096);
	assert_int_equal(elf.heap_end, MEM - VMM_STACK_DEFAULT);
	assert_int_equal(elf.stack_bytes, VMM_STACK_DEFAULT);
}

struct bad_case {
	const char *what;
	void (*mutate)(struct image *im, size_t *len);
	const char *expect; /* substring of the error */
};

static void m_magic(struct image *im, size_t *len) { im->eh.e_ident[1] = 'X'; (void)len; }
static void m_truncated(struct image *im, size_t *len) { (void)im; *len = 40; }
static void m_class(struct image *im, size_t *len) { im->eh.e_ident[EI_CLASS] = ELFCLASS32; (void)len; }
static void m_endian(struct image *im, size_t *len) { im->eh.e_ident[EI_DATA] = ELFDATA2MSB; (void)len; }
static void m_machine(struct image *im, size_t *len) { im->eh.e_machine = EM_AARCH64; (void)len; }
static void m_type(struct image *im, size_t *len) { im->eh.e_type = ET_DYN; (void)len; }
static void m_phentsize(struct image *im, size_t *len) { im->eh.e_phentsize = 32; (void)len; }
static void m_phnum(struct image *im, size_t *len) { im->eh.e_phnum = 200; (void)len; }
static void m_phoff(struct image *im, size_t *len) { im->eh.e_phoff = ~0ull - 10; (void)len; }
static void m_no_load(struct image *im, size_t *len) { im->ph[0].p_type = PT_NULL; (void)len; }
static void m_filesz(struct image *im, size_t *len) { im->ph[0].p_filesz = 8192; (void)len; }
static void m_offset(struct image *im, size_t *len) { im->ph[0].p_offset = 1ull << 40; (void)len; }
static void m_memsz_huge(struct image *im, size_t *len) { im->ph[0].p_memsz = 1ull << 62; (void)len; }
static void m_below(struct image *im, size_t *len)
{
	im->ph[0].p_vaddr = im->ph[0].p_paddr = 0x8000;
	im->eh.e_entry = 0x8000;
	(void)len;
}
static void m_outside(struct image *im, size_t *len)
{
	im->ph[0].p_vaddr = im->ph[0].p_paddr = MEM - 2048;
	im->eh.e_entry = MEM - 2048;
	(void)len;
}
static void m_wrap(struct image *im, size_t *len)
{
	im->ph[0].p_vaddr = im->ph[0].p_paddr = ~0ull - 100;
	(void)len;
}
static void m_vaddr(struct image *im, size_t *len) { im->ph[0].p_vaddr += 0x1000; (void)len; }
static void m_overlap(struct image *im, size_t *len)
{
	im->ph[2] = im->ph[0];
	im->ph[2].p_vaddr = im->ph[2].p_paddr = SHOAL_GPA_IMAGE_MIN + 2048;
	im->ph[2].p_flags = PF_R | PF_W;
	im->eh.e_phnum = 3;
	(void)len;
}
static void m_entry(struct image *im, size_t *len) { im->eh.e_entry = 0x5000000; (void)len; }
static void m_entry_nx(struct image *im, size_t *len) { im->ph[0].p_flags = PF_R; (void)len; }
static void m_no_note(struct image *im, size_t *len) { im->ph[1].p_type = PT_NULL; (void)len; }
static void m_note_name(struct image *im, size_t *len) { im->note.name[0] = 'X'; (void)len; }
static void m_note_size(struct image *im, size_t *len) { im->note.descsz = 1u << 30; (void)len; }
static void m_version(struct image *im, size_t *len) { im->note.abi.abi_version = 99; (void)len; }
static void m_platform(struct image *im, size_t *len) { im->note.abi.platform = SHOAL_PLATFORM_XEN_PV; (void)len; }
static void m_stack(struct image *im, size_t *len) { im->note.abi.stack_kib = 1u << 20; (void)len; }
static void m_interp(struct image *im, size_t *len) { im->ph[1].p_type = PT_INTERP; (void)len; }
static void m_tls(struct image *im, size_t *len) { im->ph[1].p_type = PT_TLS; (void)len; }
static void m_big(struct image *im, size_t *len)
{
	im->ph[0].p_memsz = MEM - SHOAL_GPA_IMAGE_MIN - 4096;
	(void)len;
}

static const struct bad_case bad_cases[] = {
	{ "bad magic", m_magic, "not an ELF file" },
	{ "truncated header", m_truncated, "truncated" },
	{ "32-bit", m_class, "ELFCLASS32" },
	{ "big-endian", m_endian, "byte order" },
	{ "wrong machine", m_machine, "wrong machine 183" },
	{ "shared object", m_type, "not an executable" },
	{ "bad phentsize", m_phentsize, "e_phentsize" },
	{ "too many phdrs", m_phnum, "too many program headers" },
	{ "phdrs past end", m_phoff, "program headers" },
	{ "no PT_LOAD", m_no_load, "no loadable segments" },
	{ "filesz > memsz", m_filesz, "p_filesz 8192 is larger than p_memsz" },
	{ "data past end", m_offset, "runs past the end of the file" },
	{ "huge p_memsz", m_memsz_huge, "larger than guest memory" },
	{ "below 1 MiB", m_below, "where the tender keeps boot structures" },
	{ "outside memory", m_outside, "outside guest memory" },
	{ "address wraps", m_wrap, "outside guest memory" },
	{ "vaddr != paddr", m_vaddr, "identity-mapped" },
	{ "overlapping segments", m_overlap, "segments overlap" },
	{ "entry outside", m_entry, "entry point 0x5000000" },
	{ "entry not executable", m_entry_nx, "not inside an executable segment" },
	{ "no ABI note", m_no_note, "not a shoal guest" },
	{ "foreign note", m_note_name, "not a shoal guest" },
	{ "note size lies", m_note_size, "malformed note" },
	{ "ABI version", m_version, "guest ABI version 99" },
	{ "platform", m_platform, "built for the xen-pv platform" },
	{ "stack too big", m_stack, "stack" },
	{ "dynamic", m_interp, "dynamically linked" },
	{ "TLS", m_tls, "thread-local storage" },
	{ "image into stack", m_big, "give the guest more memory" },
};

static void refuses_bad_image(void **state)
{
	const struct bad_case *c = *state;
	struct image im;
	size_t len = sizeof(im);
	const char *err;

	make_image(&im);
	c->mutate(&im, &len);
	err = check(&im, len);
	if (!err)
		fail_msg("%s: accepted", c->what);
	if (!strstr(err, c->expect))
		fail_msg("%s: error \"%s\" does not say \"%s\"", c->what, err, c->expect);
}

/* Every prefix of a good image is refused cleanly, never read past. */
static void refuses_every_truncation(void **state)
{
	struct image im;
	size_t len;

	(void)state;
	make_image(&im);
	for (len = 0; len < offsetof(struct image, note) + sizeof(im.note); len++)
		assert_non_null(check(&im, len));
}

/* A Xen PV image is linked from 0: only KVM keeps the low pages for its boot structures. */
static void low_image_is_xen_only(void **state)
{
	struct image im;
	struct vmm_elf elf;
	char err[256];

	(void)state;
	make_image(&im);
	im.note.abi.platform = SHOAL_PLATFORM_XEN_PV;
	im.eh.e_entry = 0x100;
	im.ph[0].p_vaddr = im.ph[0].p_paddr = 0;
	assert_int_equal(vmm_elf_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_XEN_PV, &elf, err,
	                               sizeof(err)),
	                 0);
	im.note.abi.platform = SHOAL_PLATFORM_KVM;
	assert_int_equal(vmm_elf_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_KVM, &elf, err,
	                               sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "boot structures"));
}

int main(void)
{
	enum { NBAD = sizeof(bad_cases) / sizeof(bad_cases[0]) };
	struct CMUnitTest tests[NBAD + 3];
	char names[NBAD][64];
	size_t i, n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(accepts_good_image);
	for (i = 0; i < NBAD; i++) {
		snprintf(names[i], sizeof(names[i]), "refuses %s", bad_cases[i].what);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(refuses_bad_image, (void *)&bad_cases[i]);
		tests[n++].name = names[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(refuses_every_truncation);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(low_image_is_xen_only);
	return _cmocka_run_group_tests("vmm_elf", tests, n, NULL, NULL);
}
