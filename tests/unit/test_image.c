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
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/image.h"

#define MEM (32ull << 20)

/* The shoal ABI note every image carries. */
struct shoal_note {
	uint32_t namesz, descsz, type;
	char name[8];
	struct shoal_note_abi abi;
};

/* A minimal image: header, two program headers (text, note), text, note. */
struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
	uint8_t text[64];
	struct shoal_note note;
};

/*
 * What both kinds of test image share: the ELF header (phnum 2, entry),
 * ph[0] loading the text (vaddr = paddr) and ph[1] the notes, at these
 * offsets into the image, and the shoal note for platform.
 */
static void elf_frame(Elf64_Ehdr *eh, Elf64_Phdr *ph, uint64_t entry, size_t text_off,
                      size_t text_len, uint64_t vaddr, uint64_t memsz, size_t note_off,
                      size_t note_len, struct shoal_note *note, uint32_t platform)
{
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = (uint64_t)((const uint8_t *)ph - (const uint8_t *)eh);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R | PF_X;
	ph[0].p_offset = text_off;
	ph[0].p_vaddr = ph[0].p_paddr = vaddr;
	ph[0].p_filesz = text_len;
	ph[0].p_memsz = memsz;
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = note_off;
	ph[1].p_filesz = note_len;
	note->namesz = 6;
	note->descsz = sizeof(struct shoal_note_abi);
	note->type = SHOAL_NOTE_TYPE_ABI;
	memcpy(note->name, "Shoal", 6);
	note->abi.abi_version = SHOAL_ABI_VERSION;
	note->abi.platform = platform;
}

static void make_image(struct image *im)
{
	memset(im, 0, sizeof(*im));
	elf_frame(&im->eh, im->ph, SHOAL_GPA_IMAGE_MIN, offsetof(struct image, text),
	          sizeof(im->text), SHOAL_GPA_IMAGE_MIN, 4096, offsetof(struct image, note),
	          sizeof(im->note), &im->note, SHOAL_PLATFORM_KVM);
}

static const char *check(const struct image *im, size_t len)
{
	static char err[512];
	struct image_elf elf;

	if (image_check((const uint8_t *)im, len, MEM, SHOAL_PLATFORM_KVM, &elf, err,
	                sizeof(err)) == 0)
		return NULL;
	return err;
}

static void accepts_good_image(void **state)
{
	struct image im;
	struct image_elf elf;
	char err[256];

	(void)state;
	make_image(&im);
	assert_int_equal(image_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_KVM,
	                             &elf, err, sizeof(err)),
	                 0);
	assert_int_equal(elf.nseg, 1);
	assert_int_equal(elf.entry, SHOAL_GPA_IMAGE_MIN);
	assert_int_equal(elf.load_end, SHOAL_GPA_IMAGE_MIN + 4096);
	assert_int_equal(elf.heap_start, SHOAL_GPA_IMAGE_MIN + 4096);
	assert_int_equal(elf.heap_end, MEM - IMAGE_STACK_DEFAULT);
	assert_int_equal(elf.stack_bytes, IMAGE_STACK_DEFAULT);
}

struct bad_case {
	const char *what;
	void (*mutate)(struct image *im, size_t *len);
	const char *expect; /* substring of the error */
};

static void m_magic(struct image *im, size_t *len)
{
	im->eh.e_ident[1] = 'X';
	(void)len;
}
static void m_truncated(struct image *im, size_t *len)
{
	(void)im;
	*len = 40;
}
static void m_class(struct image *im, size_t *len)
{
	im->eh.e_ident[EI_CLASS] = ELFCLASS32;
	(void)len;
}
static void m_endian(struct image *im, size_t *len)
{
	im->eh.e_ident[EI_DATA] = ELFDATA2MSB;
	(void)len;
}
static void m_machine(struct image *im, size_t *len)
{
	im->eh.e_machine = EM_AARCH64;
	(void)len;
}
static void m_type(struct image *im, size_t *len)
{
	im->eh.e_type = ET_DYN;
	(void)len;
}
static void m_phentsize(struct image *im, size_t *len)
{
	im->eh.e_phentsize = 32;
	(void)len;
}
static void m_phnum(struct image *im, size_t *len)
{
	im->eh.e_phnum = 200;
	(void)len;
}
static void m_phoff(struct image *im, size_t *len)
{
	im->eh.e_phoff = ~0ull - 10;
	(void)len;
}
static void m_no_load(struct image *im, size_t *len)
{
	im->ph[0].p_type = PT_NULL;
	(void)len;
}
static void m_filesz(struct image *im, size_t *len)
{
	im->ph[0].p_filesz = 8192;
	(void)len;
}
static void m_offset(struct image *im, size_t *len)
{
	im->ph[0].p_offset = 1ull << 40;
	(void)len;
}
static void m_memsz_huge(struct image *im, size_t *len)
{
	im->ph[0].p_memsz = 1ull << 62;
	(void)len;
}
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
static void m_vaddr(struct image *im, size_t *len)
{
	im->ph[0].p_vaddr += 0x1000;
	(void)len;
}
static void m_overlap(struct image *im, size_t *len)
{
	im->ph[2] = im->ph[0];
	im->ph[2].p_vaddr = im->ph[2].p_paddr = SHOAL_GPA_IMAGE_MIN + 2048;
	im->ph[2].p_flags = PF_R | PF_W;
	im->eh.e_phnum = 3;
	(void)len;
}
static void m_entry(struct image *im, size_t *len)
{
	im->eh.e_entry = 0x5000000;
	(void)len;
}
static void m_entry_nx(struct image *im, size_t *len)
{
	im->ph[0].p_flags = PF_R;
	(void)len;
}
static void m_no_note(struct image *im, size_t *len)
{
	im->ph[1].p_type = PT_NULL;
	(void)len;
}
static void m_note_name(struct image *im, size_t *len)
{
	im->note.name[0] = 'X';
	(void)len;
}
static void m_note_size(struct image *im, size_t *len)
{
	im->note.descsz = 1u << 30;
	(void)len;
}
static void m_version(struct image *im, size_t *len)
{
	im->note.abi.abi_version = 99;
	(void)len;
}
static void m_platform(struct image *im, size_t *len)
{
	im->note.abi.platform = SHOAL_PLATFORM_XEN_PV;
	(void)len;
}
static void m_stack(struct image *im, size_t *len)
{
	im->note.abi.stack_kib = 1u << 20;
	(void)len;
}
static void m_interp(struct image *im, size_t *len)
{
	im->ph[1].p_type = PT_INTERP;
	(void)len;
}
static void m_tls(struct image *im, size_t *len)
{
	im->ph[1].p_type = PT_TLS;
	(void)len;
}
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

/* ---- The Xen platforms ------------------------------------------------ */

/* A Xen guest: the shoal note and Xen's, and one text segment holding the hypercall page. */
struct xnote {
	uint32_t namesz, descsz, type;
	char name[4];
	union {
		uint64_t num;
		char str[8];
	} desc;
} __attribute__((packed, aligned(4))); /* notes are 4-byte aligned, packed back to back */

struct ximage {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	struct shoal_note shoal;
	struct xnote version, loader, entry, hcpage, virt_base, phys32;
	uint8_t text[64];
};

#define XEN_TEXT_PV  0x0ull
#define XEN_TEXT_PVH 0x100000ull
#define XN_IGNORED   7 /* GUEST_VERSION: a note the checker skips */

static void xnote_num(struct xnote *n, uint32_t type, uint64_t v)
{
	n->namesz = 4;
	n->descsz = 8;
	n->type = type;
	memcpy(n->name, "Xen", 4);
	n->desc.num = v;
}

static void xnote_str(struct xnote *n, uint32_t type, const char *v)
{
	n->namesz = 4;
	n->descsz = 8;
	n->type = type;
	memcpy(n->name, "Xen", 4);
	memset(n->desc.str, 0, 8);
	memcpy(n->desc.str, v, strlen(v) < 7 ? strlen(v) : 7);
}

static void make_ximage(struct ximage *im, uint32_t platform)
{
	uint64_t text = platform == SHOAL_PLATFORM_XEN_PVH ? XEN_TEXT_PVH : XEN_TEXT_PV;

	memset(im, 0, sizeof(*im));
	/* One PT_NOTE covers the shoal note and all of Xen's, back to back. */
	elf_frame(&im->eh, im->ph, text + 0x2000, offsetof(struct ximage, text), sizeof(im->text),
	          text, 0x3000, offsetof(struct ximage, shoal),
	          offsetof(struct ximage, text) - offsetof(struct ximage, shoal), &im->shoal,
	          platform);
	xnote_str(&im->version, 5, "xen-3.0");
	if (platform == SHOAL_PLATFORM_XEN_PV) {
		xnote_str(&im->loader, 8, "generic");
		xnote_num(&im->entry, 1, text + 0x2000);
		xnote_num(&im->hcpage, 2, text + 0x1000);
		xnote_num(&im->virt_base, 3, 0);
		xnote_num(&im->phys32, XN_IGNORED, 0);
	} else {
		xnote_str(&im->loader, XN_IGNORED, "");
		xnote_num(&im->entry, XN_IGNORED, 0);
		xnote_num(&im->hcpage, XN_IGNORED, 0);
		xnote_num(&im->virt_base, XN_IGNORED, 0);
		xnote_num(&im->phys32, 18, text);
	}
}

struct xen_case {
	const char *what;
	uint32_t built_for; /* the image's platform */
	uint32_t check_as;  /* the platform it is checked for */
	uint64_t mem;
	void (*mutate)(struct ximage *im);
	const char *expect; /* substring of the error; NULL: accepted */
	uint64_t entry;     /* when accepted: the entry Xen uses */
};

static void x_none(struct ximage *im)
{
	(void)im;
}
static void x_no_xen_notes(struct ximage *im)
{
	im->version.name[0] = im->loader.name[0] = im->entry.name[0] = 'Y';
	im->hcpage.name[0] = im->virt_base.name[0] = im->phys32.name[0] = 'Y';
}
static void x_version(struct ximage *im)
{
	xnote_str(&im->version, 5, "xen-2.0");
}
static void x_no_version(struct ximage *im)
{
	im->version.type = XN_IGNORED;
}
static void x_loader(struct ximage *im)
{
	xnote_str(&im->loader, 8, "linux");
}
static void x_no_loader(struct ximage *im)
{
	im->loader.type = XN_IGNORED;
}
static void x_virt_base(struct ximage *im)
{
	im->virt_base.desc.num = 0xffffffff80000000ull;
}
static void x_no_hcpage(struct ximage *im)
{
	im->hcpage.type = XN_IGNORED;
}
static void x_hcpage_odd(struct ximage *im)
{
	im->hcpage.desc.num += 8;
}
static void x_hcpage_out(struct ximage *im)
{
	im->hcpage.desc.num = 0x10000;
}
static void x_hcpage_short(struct ximage *im)
{
	im->ph[0].p_memsz = 0x1800;
	im->eh.e_entry = im->entry.desc.num = 0x10;
}
static void x_entry_out(struct ximage *im)
{
	im->entry.desc.num = 0x50000;
}
static void x_entry_bad_size(struct ximage *im)
{
	im->entry.descsz = 3;
}
static void x_version_unterminated(struct ximage *im)
{
	memset(im->version.desc.str, 'x', 8);
}
static void x_no_phys32(struct ximage *im)
{
	im->phys32.type = XN_IGNORED;
}
static void x_phys32_out(struct ximage *im)
{
	im->phys32.desc.num = 0x90000;
}
static void x_phys32_high(struct ximage *im)
{
	im->phys32.desc.num = 0x100000100000ull;
}
static void x_e_entry_junk(struct ximage *im)
{
	im->eh.e_entry = 0xdead0000;
}
static void x_below_1mib(struct ximage *im)
{
	(void)im;
}
static void x_big(struct ximage *im)
{
	im->ph[0].p_memsz = MEM - 0x80000;
}

#define PV  SHOAL_PLATFORM_XEN_PV
#define PVH SHOAL_PLATFORM_XEN_PVH
#define KVM SHOAL_PLATFORM_KVM

static const struct xen_case xen_cases[] = {
	{ "a good xen-pv image", PV, PV, MEM, x_none, NULL, 0x2000 },
	{ "a good xen-pvh image", PVH, PVH, MEM, x_none, NULL, XEN_TEXT_PVH },
	{ "xen-pvh with e_entry outside (PHYS32_ENTRY counts)", PVH, PVH, MEM, x_e_entry_junk, NULL,
	  XEN_TEXT_PVH },
	{ "xen-pv linked at 0 (below 1 MiB)", PV, PV, MEM, x_below_1mib, NULL, 0x2000 },
	{ "xen-pv image as kvm", PV, KVM, MEM, x_none, "below 0x100000", 0 },
	{ "xen-pvh image as kvm", PVH, KVM, MEM, x_none, "built for the xen-pvh platform, not kvm",
	  0 },
	{ "xen-pvh image as xen-pv", PVH, PV, MEM, x_none,
	  "built for the xen-pvh platform, not xen-pv", 0 },
	{ "xen-pv image as xen-pvh", PV, PVH, MEM, x_none,
	  "built for the xen-pv platform, not xen-pvh", 0 },
	{ "no Xen notes", PV, PV, MEM, x_no_xen_notes, "no Xen ELF notes", 0 },
	{ "no Xen notes (pvh)", PVH, PVH, MEM, x_no_xen_notes, "no Xen ELF notes", 0 },
	{ "wrong XEN_VERSION", PV, PV, MEM, x_version, "XEN_VERSION is \"xen-2.0\"", 0 },
	{ "no XEN_VERSION", PV, PV, MEM, x_no_version, "XEN_VERSION is missing", 0 },
	{ "unterminated XEN_VERSION", PV, PV, MEM, x_version_unterminated,
	  "malformed Xen note of type 5", 0 },
	{ "LOADER linux", PV, PV, MEM, x_loader, "LOADER is \"linux\"", 0 },
	{ "no LOADER", PV, PV, MEM, x_no_loader, "LOADER is missing", 0 },
	{ "VIRT_BASE not 0", PV, PV, MEM, x_virt_base, "VIRT_BASE is 0xffffffff80000000", 0 },
	{ "no HYPERCALL_PAGE", PV, PV, MEM, x_no_hcpage, "no HYPERCALL_PAGE", 0 },
	{ "hypercall page misaligned", PV, PV, MEM, x_hcpage_odd, "hypercall page 0x1008", 0 },
	{ "hypercall page outside", PV, PV, MEM, x_hcpage_out, "hypercall page 0x10000", 0 },
	{ "hypercall page past its segment", PV, PV, MEM, x_hcpage_short,
	  "hypercall page 0x1000 is not", 0 },
	{ "ENTRY note outside", PV, PV, MEM, x_entry_out, "ENTRY note 0x50000", 0 },
	{ "ENTRY note of 3 bytes", PV, PV, MEM, x_entry_bad_size,
	  "malformed Xen note of type 1 (3 bytes)", 0 },
	{ "no PHYS32_ENTRY", PVH, PVH, MEM, x_no_phys32, "no PHYS32_ENTRY", 0 },
	{ "PHYS32_ENTRY outside", PVH, PVH, MEM, x_phys32_out, "PVH entry point 0x90000", 0 },
	{ "PHYS32_ENTRY above 4 GiB", PVH, PVH, MEM, x_phys32_high,
	  "PVH entry point 0x100000100000", 0 },
	{ "xen-pv too big for its memory", PV, PV, MEM, x_big, "give the guest more memory", 0 },
	{ "xen-pv in 1 MiB", PV, PV, 1ull << 20, x_none, "Xen needs 1024 KiB above the image", 0 },
};

static void xen_image_case(void **state)
{
	const struct xen_case *c = *state;
	struct ximage im;
	struct image_elf elf;
	char err[512];
	int r;

	make_ximage(&im, c->built_for);
	c->mutate(&im);
	r = image_check((const uint8_t *)&im, sizeof(im), c->mem, c->check_as, &elf, err,
	                sizeof(err));
	if (!c->expect) {
		if (r != 0)
			fail_msg("%s: refused: %s", c->what, err);
		assert_int_equal(elf.entry, c->entry);
		assert_int_equal(elf.platform, c->built_for);
		return;
	}
	if (r == 0)
		fail_msg("%s: accepted", c->what);
	if (!strstr(err, c->expect))
		fail_msg("%s: error \"%s\" does not say \"%s\"", c->what, err, c->expect);
}

/* The built example guests, each checked for every platform: only its own accepts it. */
static void real_images(void **state)
{
	static const struct {
		const char *suffix;
		uint32_t platform;
	} plats[] = { { "kvm", KVM },
		      { "xen-pv", PV },
		      { "xen-pvh", PVH },
		      { "proc", SHOAL_PLATFORM_PROC } };
	const char *top = getenv("top_builddir");
	unsigned i, j;

	(void)state;
	if (!top)
		skip();
	for (i = 0; i < 4; i++) {
		static uint8_t buf[4 << 20];
		char path[4096], err[512];
		struct image_elf elf;
		size_t len;
		FILE *f;

		snprintf(path, sizeof(path), "%s/unikernel-rt/examples/hello.%s", top,
		         plats[i].suffix);
		f = fopen(path, "rb");
		if (!f)
			fail_msg("cannot open %s", path);
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		for (j = 0; j < 4; j++) {
			int r =
			    image_check(buf, len, MEM, plats[j].platform, &elf, err, sizeof(err));

			if (i == j && r != 0)
				fail_msg("hello.%s refused for %s: %s", plats[i].suffix,
				         plats[j].suffix, err);
			if (i != j && r == 0)
				fail_msg("hello.%s accepted for %s", plats[i].suffix,
				         plats[j].suffix);
		}
	}
}

/*
 * The proc platform loads into a host process, each segment with its own
 * protection: the KVM image rules, and no writable and executable
 * segment, none that does not start a page.
 */
static void proc_images(void **state)
{
	struct image im;
	struct image_elf elf;
	char err[512];

	(void)state;
	make_image(&im);
	im.note.abi.platform = SHOAL_PLATFORM_PROC;
	assert_int_equal(image_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_PROC,
	                             &elf, err, sizeof(err)),
	                 0);
	assert_int_not_equal(image_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_KVM,
	                                 &elf, err, sizeof(err)),
	                     0);
	assert_non_null(strstr(err, "built for the proc platform, not kvm"));
	im.ph[0].p_flags = PF_R | PF_W | PF_X;
	assert_int_not_equal(image_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_PROC,
	                                 &elf, err, sizeof(err)),
	                     0);
	assert_non_null(strstr(err, "segment 0 is both writable and executable"));
	im.ph[0].p_flags = PF_R | PF_X;
	im.ph[0].p_vaddr = im.ph[0].p_paddr = SHOAL_GPA_IMAGE_MIN + 0x10;
	im.eh.e_entry = SHOAL_GPA_IMAGE_MIN + 0x10;
	assert_int_not_equal(image_check((const uint8_t *)&im, sizeof(im), MEM, SHOAL_PLATFORM_PROC,
	                                 &elf, err, sizeof(err)),
	                     0);
	assert_non_null(strstr(err, "segment 0 at 0x100010 does not start a page"));
}

int main(void)
{
	enum { NBAD = sizeof(bad_cases) / sizeof(bad_cases[0]) };
	enum { NXEN = sizeof(xen_cases) / sizeof(xen_cases[0]) };
	struct CMUnitTest tests[NBAD + NXEN + 4];
	char names[NBAD][64], xnames[NXEN][96];
	size_t i, n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(accepts_good_image);
	for (i = 0; i < NBAD; i++) {
		snprintf(names[i], sizeof(names[i]), "refuses %s", bad_cases[i].what);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(refuses_bad_image,
		                                                        (void *)&bad_cases[i]);
		tests[n++].name = names[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(refuses_every_truncation);
	for (i = 0; i < NXEN; i++) {
		snprintf(xnames[i], sizeof(xnames[i]), "%s %s",
		         xen_cases[i].expect ? "refuses" : "accepts", xen_cases[i].what);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(xen_image_case,
		                                                        (void *)&xen_cases[i]);
		tests[n++].name = xnames[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(proc_images);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(real_images);
	return _cmocka_run_group_tests("image", tests, n, NULL, NULL);
}
