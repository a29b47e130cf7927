/*
 * mkbadelf: writes a damaged copy of a guest image for the bad-image
 * corpus (tests/data/bad-elf.txt).
 *
 *   mkbadelf IN OUT "MUTATION[; MUTATION...]"
 *
 * Mutations:
 *   empty | text               the whole file becomes empty / a shell script
 *   truncate N                 keep the first N bytes
 *   byte OFF VAL               set one byte
 *   ehdr FIELD VAL             e_type e_machine e_entry e_phoff e_phnum e_phentsize
 *   phdr I FIELD VAL           p_type p_flags p_offset p_vaddr p_paddr p_filesz
 *                              p_memsz, addr (both addresses), or end (p_memsz
 *                              such that the segment ends at VAL)
 *   note FIELD VAL             version platform stack_kib flags of the ABI note
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *img;
static size_t len;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "mkbadelf: %s: %s\n", what, arg);
	exit(1);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (!s[0] || *end)
		die("not a number", s);
	return v;
}

static Elf64_Phdr *phdr(unsigned i)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

	if (eh->e_phoff + (i + 1) * sizeof(Elf64_Phdr) > len)
		die("no such program header", "");
	return (Elf64_Phdr *)(img + eh->e_phoff + i * sizeof(Elf64_Phdr));
}

static uint32_t *note_field(const char *field)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	static const char *const names[] = { "version", "platform", "stack_kib", "flags" };
	unsigned i, f;

	for (f = 0; f < 4; f++)
		if (!strcmp(field, names[f]))
			break;
	if (f == 4)
		die("unknown note field", field);
	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr *p = phdr(i);

		if (p->p_type == PT_NOTE)
			return (uint32_t *)(img + p->p_offset + 12 + 8) + f;
	}
	die("no note segment", "");
	return NULL;
}

static void apply(char *m)
{
	char *w[4] = { 0 };
	int n = 0;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

	for (char *t = strtok(m, " \t"); t && n < 4; t = strtok(NULL, " \t"))
		w[n++] = t;
	if (n == 0)
		return;
	if (!strcmp(w[0], "empty")) {
		len = 0;
	} else if (!strcmp(w[0], "text")) {
		static const char sh[] = "#!/bin/sh\necho this is not a guest\n";

		memcpy(img, sh, sizeof(sh) - 1);
		len = sizeof(sh) - 1;
	} else if (!strcmp(w[0], "truncate") && n == 2) {
		if (num(w[1]) < len)
			len = num(w[1]);
	} else if (!strcmp(w[0], "byte") && n == 3) {
		if (num(w[1]) >= len)
			die("offset past the end", w[1]);
		img[num(w[1])] = (unsigned char)num(w[2]);
	} else if (!strcmp(w[0], "ehdr") && n == 3) {
		unsigned long long v = num(w[2]);

		if (!strcmp(w[1], "e_type"))
			eh->e_type = (Elf64_Half)v;
		else if (!strcmp(w[1], "e_machine"))
			eh->e_machine = (Elf64_Half)v;
		else if (!strcmp(w[1], "e_entry"))
			eh->e_entry = v;
		else if (!strcmp(w[1], "e_phoff"))
			eh->e_phoff = v;
		else if (!strcmp(w[1], "e_phnum"))
			eh->e_phnum = (Elf64_Half)v;
		else if (!strcmp(w[1], "e_phentsize"))
			eh->e_phentsize = (Elf64_Half)v;
		else
			die("unknown header field", w[1]);
	} else if (!strcmp(w[0], "phdr") && n == 4) {
		Elf64_Phdr *p = phdr((unsigned)num(w[1]));
		unsigned long long v = num(w[3]);

		if (!strcmp(w[2], "p_type"))
			p->p_type = (Elf64_Word)v;
		else if (!strcmp(w[2], "p_flags"))
			p->p_flags = (Elf64_Word)v;
		else if (!strcmp(w[2], "p_offset"))
			p->p_offset = v;
		else if (!strcmp(w[2], "p_vaddr"))
			p->p_vaddr = v;
		else if (!strcmp(w[2], "p_paddr"))
			p->p_paddr = v;
		else if (!strcmp(w[2], "addr"))
			p->p_vaddr = p->p_paddr = v;
		else if (!strcmp(w[2], "p_filesz"))
			p->p_filesz = v;
		else if (!strcmp(w[2], "p_memsz"))
			p->p_memsz = v;
		else if (!strcmp(w[2], "end") && v > p->p_paddr)
			p->p_memsz = v - p->p_paddr;
		else
			die("unknown program header field", w[2]);
	} else if (!strcmp(w[0], "note") && n == 3) {
		*note_field(w[1]) = (uint32_t)num(w[2]);
	} else {
		die("bad mutation", w[0]);
	}
}

int main(int argc, char **argv)
{
	FILE *f;
	long size;
	char *muts, *save = NULL;

	if (argc != 4) {
		fprintf(stderr, "usage: mkbadelf IN OUT \"MUTATION[; ...]\"\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < (long)sizeof(Elf64_Ehdr))
		die("cannot read", argv[1]);
	rewind(f);
	img = malloc((size_t)size + 64);
	if (!img || fread(img, 1, (size_t)size, f) != (size_t)size)
		die("cannot read", argv[1]);
	fclose(f);
	len = (size_t)size;
	muts = strdup(argv[3]);
	for (char *m = strtok_r(muts, ";", &save); m; m = strtok_r(NULL, ";", &save))
		apply(m);
	f = fopen(argv[2], "wb");
	if (!f || fwrite(img, 1, len, f) != len || fclose(f) != 0)
		die("cannot write", argv[2]);
	return 0;
}
