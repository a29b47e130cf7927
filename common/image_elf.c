/*
 * The ELF checker: decides whether a file is a shoal guest that can be
 * loaded into a given amount of guest memory, and says exactly why not
 * otherwise.  It trusts nothing in the file: every offset, size and count
 * is checked against the file's length and the guest's memory before use.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/image.h"

/* Xen's ELF note types (public/elfnote.h), in notes named "Xen". */
#define XEN_ELFNOTE_ENTRY          1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE      3
#define XEN_ELFNOTE_XEN_VERSION    5
#define XEN_ELFNOTE_GUEST_OS       6
#define XEN_ELFNOTE_LOADER         8
#define XEN_ELFNOTE_PHYS32_ENTRY   18

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *platform_name(uint32_t p)
{
	switch (p) {
	case SHOAL_PLATFORM_KVM:
		return "kvm";
	case SHOAL_PLATFORM_XEN_PV:
		return "xen-pv";
	case SHOAL_PLATFORM_XEN_PVH:
		return "xen-pvh";
	case SHOAL_PLATFORM_PROC:
		return "proc";
	default:
		return "unknown";
	}
}

/* Is [off, off + size) inside [0, len)?  Overflow-safe. */
static int in_file(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

/* What the notes of an image say: the shoal ABI note and Xen's own. */
struct notes {
	int have_abi;
	struct shoal_note_abi abi;
	unsigned xen_notes; /* how many notes named "Xen" */
	int have_entry, have_hypercall_page, have_virt_base, have_phys32;
	uint64_t entry, hypercall_page, virt_base, phys32_entry;
	char loader[32], xen_version[32], guest_os[32];
};

/* Xen's numeric notes are 4 or 8 bytes; its string notes end in a NUL. */
static int xen_num(const uint8_t *desc, uint32_t descsz, uint64_t *v, int *have)
{
	uint32_t v32;

	if (descsz == 8) {
		memcpy(v, desc, 8);
	} else if (descsz == 4) {
		memcpy(&v32, desc, 4);
		*v = v32;
	} else {
		return -1;
	}
	*have = 1;
	return 0;
}

static int xen_str(const uint8_t *desc, uint32_t descsz, char *out, size_t outlen)
{
	if (descsz == 0 || descsz > outlen || desc[descsz - 1] != '\0')
		return -1;
	memcpy(out, desc, descsz);
	return 0;
}

/*
 * Read the notes of one PT_NOTE segment into n.  Returns 0, or -1 with
 * err set for a malformed note list or a malformed note we rely on.
 */
static int read_notes(const uint8_t *img, uint64_t off, uint64_t size, unsigned ph, struct notes *n,
                      char *err, size_t errlen)
{
	uint64_t pos = 0;

	while (size - pos >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, next;
		const uint8_t *desc;
		int r = 0;

		memcpy(&namesz, img + off + pos, 4);
		memcpy(&descsz, img + off + pos + 4, 4);
		memcpy(&type, img + off + pos + 8, 4);
		name_off = pos + 12;
		desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
		next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (desc_off > size || next > size)
			return fail(err, errlen, "program header %u: malformed note", ph);
		desc = img + off + desc_off;
		if (namesz == sizeof(SHOAL_NOTE_NAME) &&
		    !memcmp(img + off + name_off, SHOAL_NOTE_NAME, sizeof(SHOAL_NOTE_NAME)) &&
		    type == SHOAL_NOTE_TYPE_ABI) {
			if (descsz != sizeof(n->abi))
				return fail(err, errlen, "program header %u: malformed note", ph);
			memcpy(&n->abi, desc, sizeof(n->abi));
			n->have_abi = 1;
		} else if (namesz == 4 && !memcmp(img + off + name_off, "Xen", 4)) {
			n->xen_notes++;
			switch (type) {
			case XEN_ELFNOTE_ENTRY:
				r = xen_num(desc, descsz, &n->entry, &n->have_entry);
				break;
			case XEN_ELFNOTE_HYPERCALL_PAGE:
				r = xen_num(desc, descsz, &n->hypercall_page,
				            &n->have_hypercall_page);
				break;
			case XEN_ELFNOTE_VIRT_BASE:
				r = xen_num(desc, descsz, &n->virt_base, &n->have_virt_base);
				break;
			case XEN_ELFNOTE_PHYS32_ENTRY:
				r = xen_num(desc, descsz, &n->phys32_entry, &n->have_phys32);
				break;
			case XEN_ELFNOTE_LOADER:
				r = xen_str(desc, descsz, n->loader, sizeof(n->loader));
				break;
			case XEN_ELFNOTE_XEN_VERSION:
				r = xen_str(desc, descsz, n->xen_version, sizeof(n->xen_version));
				break;
			case XEN_ELFNOTE_GUEST_OS:
				r = xen_str(desc, descsz, n->guest_os, sizeof(n->guest_os));
				break;
			default:
				break;
			}
			if (r < 0)
				return fail(
				    err, errlen,
				    "program header %u: malformed Xen note of type %u (%u bytes)",
				    ph, type, descsz);
		}
		pos = next;
	}
	return 0;
}

/* Is [addr, addr + size) inside one loadable segment, executable if exec? */
static int in_segment(const struct image_elf *e, uint64_t addr, uint64_t size, int exec)
{
	unsigned i;

	for (i = 0; i < e->nseg; i++) {
		const struct image_seg *s = &e->seg[i];

		if (addr >= s->gpa && addr - s->gpa < s->memsz &&
		    size <= s->memsz - (addr - s->gpa) && (!exec || (s->flags & PF_X)))
			return 1;
	}
	return 0;
}

/*
 * What Xen's domain builder needs of a shoal guest, and what the xen-pv
 * and xen-pvh runtimes rely on: checked here so that a bad image is
 * refused at upload with a reason, not by libxl at deploy.
 */
static int check_xen(const struct notes *n, uint32_t platform, struct image_elf *out, char *err,
                     size_t errlen)
{
	if (n->xen_notes == 0)
		return fail(err, errlen, "no Xen ELF notes: the image cannot boot as a %s guest",
		            platform_name(platform));
	if (strcmp(n->xen_version, "xen-3.0") != 0)
		return fail(
		    err, errlen,
		    "the Xen note XEN_VERSION is %s%s%s, not \"xen-3.0\" (Xen refuses the image)",
		    n->xen_version[0] ? "\"" : "missing", n->xen_version,
		    n->xen_version[0] ? "\"" : "");
	if (platform == SHOAL_PLATFORM_XEN_PVH) {
		if (!n->have_phys32)
			return fail(err, errlen,
			            "no PHYS32_ENTRY Xen note: the image has no PVH entry point");
		if (n->phys32_entry > 0xffffffffull || !in_segment(out, n->phys32_entry, 1, 1))
			return fail(
			    err, errlen,
			    "the PVH entry point 0x%llx is not inside an executable segment",
			    (unsigned long long)n->phys32_entry);
		out->entry = n->phys32_entry;
		return 0;
	}
	if (strcmp(n->loader, "generic") != 0)
		return fail(
		    err, errlen,
		    "the Xen note LOADER is %s%s%s, not \"generic\" (Xen refuses the image)",
		    n->loader[0] ? "\"" : "missing", n->loader, n->loader[0] ? "\"" : "");
	if (n->have_virt_base && n->virt_base != 0)
		return fail(err, errlen,
		            "the Xen note VIRT_BASE is 0x%llx: shoal PV guests are linked at "
		            "virtual address 0",
		            (unsigned long long)n->virt_base);
	if (!n->have_hypercall_page)
		return fail(err, errlen,
		            "no HYPERCALL_PAGE Xen note: the runtime cannot make hypercalls");
	if ((n->hypercall_page & (SHOAL_PAGE_SIZE - 1)) ||
	    !in_segment(out, n->hypercall_page, SHOAL_PAGE_SIZE, 1))
		return fail(
		    err, errlen,
		    "the hypercall page 0x%llx is not a page-aligned page of an executable segment",
		    (unsigned long long)n->hypercall_page);
	if (n->have_entry) {
		if (!in_segment(out, n->entry, 1, 1))
			return fail(err, errlen,
			            "the Xen ENTRY note 0x%llx is not inside an executable segment",
			            (unsigned long long)n->entry);
		out->entry = n->entry;
	}
	return 0;
}

/* Where the highest loaded segment ends (its memory size, not its file size). */
static uint64_t segments_end(const struct image_elf *e)
{
	uint64_t end = 0;
	unsigned i;

	for (i = 0; i < e->nseg; i++)
		if (e->seg[i].gpa + e->seg[i].memsz > end)
			end = e->seg[i].gpa + e->seg[i].memsz;
	return end;
}

/*
 * A Xen guest's stack is in its image and its heap is what the domain
 * builder leaves: the image must leave room for the builder's own pages
 * (start_info, the page list, page tables, the rings) and some heap.
 */
static int check_xen_fit(const struct notes *n, uint32_t platform, uint64_t mem_bytes,
                         struct image_elf *out, char *err, size_t errlen)
{
	uint64_t limit =
	    mem_bytes > IMAGE_XEN_BOOT_RESERVE ? mem_bytes - IMAGE_XEN_BOOT_RESERVE : 0;

	if (check_xen(n, platform, out, err, errlen) < 0)
		return -1;
	out->load_end = segments_end(out);
	if (out->load_end > limit)
		return fail(err, errlen,
		            "image ends at 0x%llx, past 0x%llx: Xen needs %llu KiB above the "
		            "image; give the guest more memory",
		            (unsigned long long)out->load_end, (unsigned long long)limit,
		            (unsigned long long)(IMAGE_XEN_BOOT_RESERVE >> 10));
	out->heap_start = (out->load_end + SHOAL_PAGE_SIZE - 1) & ~(SHOAL_PAGE_SIZE - 1);
	out->heap_end = limit;
	out->abi_version = n->abi.abi_version;
	out->platform = n->abi.platform;
	return 0;
}

int image_check(const uint8_t *img, uint64_t len, uint64_t mem_bytes, uint32_t platform,
                struct image_elf *out, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	struct notes notes;
	struct shoal_note_abi abi;
	int xen = platform == SHOAL_PLATFORM_XEN_PV || platform == SHOAL_PLATFORM_XEN_PVH;
	int entry_ok = 0;
	unsigned i, j;
	uint64_t stack, load_max;

	memset(out, 0, sizeof(*out));
	memset(&notes, 0, sizeof(notes));
	if (len < 4 || memcmp(img, ELFMAG, SELFMAG) != 0)
		return fail(err, errlen, "not an ELF file (bad magic number)");
	if (len < sizeof(eh))
		return fail(err, errlen,
		            "truncated: the file is %llu bytes, shorter than an ELF64 header (64)",
		            (unsigned long long)len);
	if (img[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "wrong ELF class %s: shoal guests are ELF64",
		            img[EI_CLASS] == ELFCLASS32 ? "ELFCLASS32 (32-bit)" : "(invalid)");
	if (img[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen,
		            "wrong byte order: shoal guests are little-endian (ELFDATA2LSB)");
	if (img[EI_VERSION] != EV_CURRENT)
		return fail(err, errlen, "bad ELF identification version %u", img[EI_VERSION]);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_machine != EM_X86_64)
		return fail(err, errlen,
		            "wrong machine %u: shoal guests are x86-64 (EM_X86_64, 62)",
		            eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return fail(err, errlen,
		            "e_type %u is not an executable (ET_EXEC): link the guest statically",
		            eh.e_type);
	if (eh.e_ehsize < sizeof(eh))
		return fail(err, errlen, "bad e_ehsize %u", eh.e_ehsize);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, errlen, "bad e_phentsize %u (expected %zu)", eh.e_phentsize,
		            sizeof(Elf64_Phdr));
	if (eh.e_phnum == 0)
		return fail(err, errlen, "no program headers");
	if (eh.e_phnum > IMAGE_MAX_PHDRS)
		return fail(err, errlen, "too many program headers (%u, at most %u)", eh.e_phnum,
		            IMAGE_MAX_PHDRS);
	if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return fail(err, errlen,
		            "truncated: program headers at offset %llu (%u of them) run past the "
		            "end of the file (%llu bytes)",
		            (unsigned long long)eh.e_phoff, eh.e_phnum, (unsigned long long)len);

	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		switch (ph.p_type) {
		case PT_INTERP:
			return fail(err, errlen,
			            "program header %u: PT_INTERP: the image is dynamically linked",
			            i);
		case PT_DYNAMIC:
			return fail(
			    err, errlen,
			    "program header %u: PT_DYNAMIC: the image is dynamically linked", i);
		case PT_TLS:
			return fail(
			    err, errlen,
			    "program header %u: PT_TLS: thread-local storage is not supported", i);
		case PT_NOTE:
			if (!in_file(ph.p_offset, ph.p_filesz, len))
				return fail(
				    err, errlen,
				    "truncated: note segment (program header %u) at offset %llu "
				    "size %llu runs past the end of the file (%llu bytes)",
				    i, (unsigned long long)ph.p_offset,
				    (unsigned long long)ph.p_filesz, (unsigned long long)len);
			if (read_notes(img, ph.p_offset, ph.p_filesz, i, &notes, err, errlen) < 0)
				return -1;
			break;
		case PT_LOAD: {
			struct image_seg *s;

			if (ph.p_memsz == 0)
				break;
			if (ph.p_filesz > ph.p_memsz)
				return fail(err, errlen,
				            "segment %u: p_filesz %llu is larger than p_memsz %llu",
				            i, (unsigned long long)ph.p_filesz,
				            (unsigned long long)ph.p_memsz);
			if (!in_file(ph.p_offset, ph.p_filesz, len))
				return fail(err, errlen,
				            "truncated: segment %u's file data [%llu, +%llu) runs "
				            "past the end of the file (%llu bytes)",
				            i, (unsigned long long)ph.p_offset,
				            (unsigned long long)ph.p_filesz,
				            (unsigned long long)len);
			if (ph.p_memsz > mem_bytes)
				return fail(err, errlen,
				            "segment %u: p_memsz 0x%llx is larger than guest "
				            "memory (0x%llx bytes)",
				            i, (unsigned long long)ph.p_memsz,
				            (unsigned long long)mem_bytes);
			if (ph.p_vaddr != ph.p_paddr)
				return fail(err, errlen,
				            "segment %u: virtual address 0x%llx differs from "
				            "physical 0x%llx (guests are identity-mapped)",
				            i, (unsigned long long)ph.p_vaddr,
				            (unsigned long long)ph.p_paddr);
			if (!xen && ph.p_paddr < SHOAL_GPA_IMAGE_MIN)
				return fail(err, errlen,
				            "segment %u at 0x%llx is below 0x%llx, where the "
				            "tender keeps boot structures",
				            i, (unsigned long long)ph.p_paddr,
				            (unsigned long long)SHOAL_GPA_IMAGE_MIN);
			if (ph.p_paddr > mem_bytes || ph.p_memsz > mem_bytes - ph.p_paddr)
				return fail(err, errlen,
				            "segment %u [0x%llx, +0x%llx) lies outside guest "
				            "memory (0x%llx bytes)",
				            i, (unsigned long long)ph.p_paddr,
				            (unsigned long long)ph.p_memsz,
				            (unsigned long long)mem_bytes);
			/*
			 * A proc guest's segments are mapped in a host process, each with
			 * its own protection: whole pages, never writable and executable.
			 */
			if (platform == SHOAL_PLATFORM_PROC && (ph.p_flags & PF_W) &&
			    (ph.p_flags & PF_X))
				return fail(err, errlen,
				            "segment %u is both writable and executable", i);
			if (platform == SHOAL_PLATFORM_PROC && ph.p_paddr % SHOAL_PAGE_SIZE)
				return fail(err, errlen,
				            "segment %u at 0x%llx does not start a page", i,
				            (unsigned long long)ph.p_paddr);
			s = &out->seg[out->nseg++];
			s->gpa = ph.p_paddr;
			s->offset = ph.p_offset;
			s->filesz = ph.p_filesz;
			s->memsz = ph.p_memsz;
			s->flags = ph.p_flags;
			if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_paddr &&
			    eh.e_entry - ph.p_paddr < ph.p_memsz)
				entry_ok = 1;
			break;
		}
		default:
			break;
		}
	}

	if (out->nseg == 0)
		return fail(err, errlen, "no loadable segments");
	for (i = 0; i < out->nseg; i++)
		for (j = i + 1; j < out->nseg; j++) {
			const struct image_seg *a = &out->seg[i], *b = &out->seg[j];

			if (a->gpa < b->gpa + b->memsz && b->gpa < a->gpa + a->memsz)
				return fail(
				    err, errlen,
				    "segments overlap: [0x%llx, +0x%llx) and [0x%llx, +0x%llx)",
				    (unsigned long long)a->gpa, (unsigned long long)a->memsz,
				    (unsigned long long)b->gpa, (unsigned long long)b->memsz);
		}
	/* A PVH image enters at its PHYS32_ENTRY note instead (check_xen). */
	if (!entry_ok && platform != SHOAL_PLATFORM_XEN_PVH)
		return fail(err, errlen, "entry point 0x%llx is not inside an executable segment",
		            (unsigned long long)eh.e_entry);
	if (!notes.have_abi)
		return fail(
		    err, errlen,
		    "not a shoal guest: no Shoal ABI note (was it linked with unikernel-rt?)");
	abi = notes.abi;
	if (abi.abi_version != SHOAL_ABI_VERSION)
		return fail(
		    err, errlen,
		    "image was built for guest ABI version %u; this tender speaks version %u",
		    abi.abi_version, SHOAL_ABI_VERSION);
	if (abi.platform != platform)
		return fail(err, errlen, "image was built for the %s platform, not %s",
		            platform_name(abi.platform), platform_name(platform));
	if (abi.flags != 0)
		return fail(err, errlen, "unknown ABI note flags 0x%x", abi.flags);
	out->entry = eh.e_entry;
	if (xen)
		return check_xen_fit(&notes, platform, mem_bytes, out, err, errlen);

	stack = abi.stack_kib ? (uint64_t)abi.stack_kib << 10 : IMAGE_STACK_DEFAULT;
	if (stack > mem_bytes / 2)
		return fail(err, errlen,
		            "the image asks for a %llu KiB stack, more than half of guest memory",
		            (unsigned long long)(stack >> 10));
	load_max = (mem_bytes - stack) & ~(SHOAL_PAGE_SIZE - 1);
	out->load_end = segments_end(out);
	if (out->load_end > load_max)
		return fail(err, errlen,
		            "image ends at 0x%llx, past 0x%llx where the %llu KiB stack starts: "
		            "give the guest more memory",
		            (unsigned long long)out->load_end, (unsigned long long)load_max,
		            (unsigned long long)(stack >> 10));
	out->stack_bytes = stack;
	out->heap_start = (out->load_end + SHOAL_PAGE_SIZE - 1) & ~(SHOAL_PAGE_SIZE - 1);
	out->heap_end = load_max;
	out->abi_version = abi.abi_version;
	out->platform = abi.platform;
	return 0;
}
