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

#include "vmm.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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
	default:
		return "unknown";
	}
}

/* Is [off, off + size) inside [0, len)?  Overflow-safe. */
static int in_file(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

/*
 * Find the shoal ABI note in a PT_NOTE segment.  Returns 1 when found
 * (abi filled), 0 when absent, -1 on a malformed note list.
 */
static int find_note(const uint8_t *img, uint64_t off, uint64_t size, struct shoal_note_abi *abi)
{
	uint64_t pos = 0;

	while (size - pos >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, next;

		memcpy(&namesz, img + off + pos, 4);
		memcpy(&descsz, img + off + pos + 4, 4);
		memcpy(&type, img + off + pos + 8, 4);
		name_off = pos + 12;
		desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
		next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (desc_off > size || next > size)
			return -1;
		if (namesz == sizeof(SHOAL_NOTE_NAME) &&
		    !memcmp(img + off + name_off, SHOAL_NOTE_NAME, sizeof(SHOAL_NOTE_NAME)) &&
		    type == SHOAL_NOTE_TYPE_ABI) {
			if (descsz != sizeof(*abi))
				return -1;
			memcpy(abi, img + off + desc_off, sizeof(*abi));
			return 1;
		}
		pos = next;
	}
	return 0;
}

int vmm_elf_check(const uint8_t *img, uint64_t len, uint64_t mem_bytes, uint32_t platform,
                  struct vmm_elf *out, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	struct shoal_note_abi abi;
	int have_note = 0, entry_ok = 0;
	unsigned i, j;
	uint64_t stack, load_max;

	memset(out, 0, sizeof(*out));
	if (len < 4 || memcmp(img, ELFMAG, SELFMAG) != 0)
		return fail(err, errlen, "not an ELF file (bad magic number)");
	if (len < sizeof(eh))
		return fail(err, errlen, "truncated: the file is %llu bytes, shorter than an ELF64 header (64)",
		            (unsigned long long)len);
	if (img[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "wrong ELF class %s: shoal guests are ELF64",
		            img[EI_CLASS] == ELFCLASS32 ? "ELFCLASS32 (32-bit)" : "(invalid)");
	if (img[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, "wrong byte order: shoal guests are little-endian (ELFDATA2LSB)");
	if (img[EI_VERSION] != EV_CURRENT)
		return fail(err, errlen, "bad ELF identification version %u", img[EI_VERSION]);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_machine != EM_X86_64)
		return fail(err, errlen, "wrong machine %u: shoal guests are x86-64 (EM_X86_64, 62)",
		            eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return fail(err, errlen, "e_type %u is not an executable (ET_EXEC): link the guest statically",
		            eh.e_type);
	if (eh.e_ehsize < sizeof(eh))
		return fail(err, errlen, "bad e_ehsize %u", eh.e_ehsize);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, errlen, "bad e_phentsize %u (expected %zu)", eh.e_phentsize,
		            sizeof(Elf64_Phdr));
	if (eh.e_phnum == 0)
		return fail(err, errlen, "no program headers");
	if (eh.e_phnum > VMM_ELF_MAX_PHDRS)
		return fail(err, errlen, "too many program headers (%u, at most %u)", eh.e_phnum,
		            VMM_ELF_MAX_PHDRS);
	if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return fail(err, errlen,
		            "truncated: program headers at offset %llu (%u of them) run past the end of the file (%llu bytes)",
		            (unsigned long long)eh.e_phoff, eh.e_phnum, (unsigned long long)len);

	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		switch (ph.p_type) {
		case PT_INTERP:
			return fail(err, errlen, "program header %u: PT_INTERP: the image is dynamically linked", i);
		case PT_DYNAMIC:
			return fail(err, errlen, "program header %u: PT_DYNAMIC: the image is dynamically linked", i);
		case PT_TLS:
			return fail(err, errlen, "program header %u: PT_TLS: thread-local storage is not supported", i);
		case PT_NOTE: {
			int r;

			if (!in_file(ph.p_offset, ph.p_filesz, len))
				return fail(err, errlen,
				            "truncated: note segment (program header %u) at offset %llu size %llu runs past the end of the file (%llu bytes)",
				            i, (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
				            (unsigned long long)len);
			r = find_note(img, ph.p_offset, ph.p_filesz, &abi);
			if (r < 0)
				return fail(err, errlen, "program header %u: malformed note", i);
			if (r > 0)
				have_note = 1;
			break;
		}
		case PT_LOAD: {
			struct vmm_elf_seg *s;

			if (ph.p_memsz == 0)
				break;
			if (ph.p_filesz > ph.p_memsz)
				return fail(err, errlen, "segment %u: p_filesz %llu is larger than p_memsz %llu", i,
				            (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
			if (!in_file(ph.p_offset, ph.p_filesz, len))
				return fail(err, errlen,
				            "truncated: segment %u's file data [%llu, +%llu) runs past the end of the file (%llu bytes)",
				            i, (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
				            (unsigned long long)len);
			if (ph.p_memsz > mem_bytes)
				return fail(err, errlen,
				            "segment %u: p_memsz 0x%llx is larger than guest memory (0x%llx bytes)", i,
				            (unsigned long long)ph.p_memsz, (unsigned long long)mem_bytes);
			if (ph.p_vaddr != ph.p_paddr)
				return fail(err, errlen,
				            "segment %u: virtual address 0x%llx differs from physical 0x%llx (guests are identity-mapped)",
				            i, (unsigned long long)ph.p_vaddr, (unsigned long long)ph.p_paddr);
			/* Only the KVM tender keeps boot structures below the image; Xen's builder puts them after it. */
			if (platform == SHOAL_PLATFORM_KVM && ph.p_paddr < SHOAL_GPA_IMAGE_MIN)
				return fail(err, errlen,
				            "segment %u at 0x%llx is below 0x%llx, where the tender keeps boot structures",
				            i, (unsigned long long)ph.p_paddr, (unsigned long long)SHOAL_GPA_IMAGE_MIN);
			if (ph.p_paddr > mem_bytes || ph.p_memsz > mem_bytes - ph.p_paddr)
				return fail(err, errlen,
				            "segment %u [0x%llx, +0x%llx) lies outside guest memory (0x%llx bytes)", i,
				            (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
				            (unsigned long long)mem_bytes);
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
			const struct vmm_elf_seg *a = &out->seg[i], *b = &out->seg[j];

			if (a->gpa < b->gpa + b->memsz && b->gpa < a->gpa + a->memsz)
				return fail(err, errlen,
				            "segments overlap: [0x%llx, +0x%llx) and [0x%llx, +0x%llx)",
				            (unsigned long long)a->gpa, (unsigned long long)a->memsz,
				            (unsigned long long)b->gpa, (unsigned long long)b->memsz);
		}
	if (!entry_ok)
		return fail(err, errlen, "entry point 0x%llx is not inside an executable segment",
		            (unsigned long long)eh.e_entry);
	if (!have_note)
		return fail(err, errlen,
		            "not a shoal guest: no Shoal ABI note (was it linked with unikernel-rt?)");
	if (abi.abi_version != SHOAL_ABI_VERSION)
		return fail(err, errlen, "image was built for guest ABI version %u; this tender speaks version %u",
		            abi.abi_version, SHOAL_ABI_VERSION);
	if (abi.platform != platform)
		return fail(err, errlen, "image was built for the %s platform, not %s",
		            platform_name(abi.platform), platform_name(platform));
	if (abi.flags != 0)
		return fail(err, errlen, "unknown ABI note flags 0x%x", abi.flags);

	stack = abi.stack_kib ? (uint64_t)abi.stack_kib << 10 : VMM_STACK_DEFAULT;
	if (stack > mem_bytes / 2)
		return fail(err, errlen, "the image asks for a %llu KiB stack, more than half of guest memory",
		            (unsigned long long)(stack >> 10));
	load_max = (mem_bytes - stack) & ~(SHOAL_PAGE_SIZE - 1);
	for (i = 0; i < out->nseg; i++) {
		uint64_t end = out->seg[i].gpa + out->seg[i].memsz;

		if (end > out->load_end)
			out->load_end = end;
	}
	if (out->load_end > load_max)
		return fail(err, errlen,
		            "image ends at 0x%llx, past 0x%llx where the %llu KiB stack starts: give the guest more memory",
		            (unsigned long long)out->load_end, (unsigned long long)load_max,
		            (unsigned long long)(stack >> 10));
	out->entry = eh.e_entry;
	out->stack_bytes = stack;
	out->heap_start = (out->load_end + SHOAL_PAGE_SIZE - 1) & ~(SHOAL_PAGE_SIZE - 1);
	out->heap_end = load_max;
	out->abi_version = abi.abi_version;
	out->platform = abi.platform;
	return 0;
}
