/*
 * Loading a proc guest into the tender's own address space: guest memory
 * at the image's linked addresses (the tender's mappings are all far
 * above SHOAL_MEM_MAX_BYTES; MAP_FIXED_NOREPLACE says so if not), each
 * segment with its own protection, and the boot page the runtime reads.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/vmm_proto.h"
#include "vmm/proc.h"
#include "common/fail.h"

#define PAGE SHOAL_PAGE_SIZE

/* The guest's counters are shoal-vmm's, in the same page the daemon reads for either. */
_Static_assert(VMM_STATS_BYTES == PAGE, "the counters' page is one page");
_Static_assert(SHOAL_PROC_STAT_COUNTERS == VMM_STAT_COUNTERS, "proc counters");
_Static_assert(SHOAL_DEVICES_MAX <= VMM_STATS_DEVS, "every device has its counters");
_Static_assert(SHOAL_PROC_STAT_DISK_READS == VMM_STAT_DISK_READS &&
                   SHOAL_PROC_STAT_DISK_WRITES == VMM_STAT_DISK_WRITES &&
                   SHOAL_PROC_STAT_DISK_FLUSHES == VMM_STAT_DISK_FLUSHES &&
                   SHOAL_PROC_STAT_DISK_READ_BYTES == VMM_STAT_DISK_READ_BYTES &&
                   SHOAL_PROC_STAT_DISK_WRITE_BYTES == VMM_STAT_DISK_WRITE_BYTES &&
                   SHOAL_PROC_STAT_DISK_ERRORS == VMM_STAT_DISK_ERRORS,
               "proc disk counters");
_Static_assert(SHOAL_PROC_STAT_NIC_TX_PACKETS == VMM_STAT_NIC_TX_PACKETS &&
                   SHOAL_PROC_STAT_NIC_TX_BYTES == VMM_STAT_NIC_TX_BYTES &&
                   SHOAL_PROC_STAT_NIC_TX_ERRORS == VMM_STAT_NIC_TX_ERRORS &&
                   SHOAL_PROC_STAT_NIC_TX_DROPPED == VMM_STAT_NIC_TX_DROPPED &&
                   SHOAL_PROC_STAT_NIC_RX_PACKETS == VMM_STAT_NIC_RX_PACKETS &&
                   SHOAL_PROC_STAT_NIC_RX_BYTES == VMM_STAT_NIC_RX_BYTES &&
                   SHOAL_PROC_STAT_NIC_RX_ERRORS == VMM_STAT_NIC_RX_ERRORS &&
                   SHOAL_PROC_STAT_NIC_RX_DROPPED == VMM_STAT_NIC_RX_DROPPED &&
                   SHOAL_PROC_STAT_NIC_UP == VMM_STAT_NIC_UP &&
                   VMM_STAT_NIC_UP < SHOAL_PROC_STAT_COUNTERS,
               "proc NIC counters");

int proc_stats_open(struct proc_guest *g, char *err, size_t errlen)
{
	int fd;

	errno = 0;
	fd = memfd_create("shoal-proc-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fail_text(err, errlen, "the counters' page: memfd_create");
	/* Its size is part of the contract: a daemon maps VMM_STATS_BYTES, and no more is there. */
	if (ftruncate(fd, VMM_STATS_BYTES) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return fail_text(err, errlen, "the counters' page");
	}
	g->stats_fd = fd;
	return 0;
}

/*
 * The counters' page at SHOAL_PROC_STATS, over the boot pages' anonymous
 * memory, with the devices in the table's order (disks, then NICs) and
 * each device's counters named in the boot page.  magic goes last.
 */
static int place_stats(const struct proc_guest *g, struct shoal_proc_fds *fds, char *err,
                       size_t errlen)
{
	struct vmm_stats *s = (struct vmm_stats *)(uintptr_t)SHOAL_PROC_STATS;
	unsigned i;
	void *p;

	fds->stats_fd = -1;
	if (g->stats_fd < 0)
		return 0;
	p = mmap(s, VMM_STATS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g->stats_fd,
	         0);
	if (p != (void *)s)
		return fail_text(err, errlen, "cannot map the counters' page");
	for (i = 0; i < g->ndevs; i++) {
		snprintf(s->dev[i].name, sizeof(s->dev[i].name), "%s", g->dev[i].name);
		s->dev[i].kind =
		    g->dev[i].kind == SHOAL_DEV_NET ? VMM_STAT_KIND_NIC : VMM_STAT_KIND_DISK;
		fds->counters[i] = (uint64_t)(uintptr_t)s->dev[i].c;
	}
	s->version = VMM_STATS_VERSION;
	s->ndevs = g->ndevs;
	s->magic = VMM_STATS_MAGIC;
	fds->stats_fd = g->stats_fd;
	return 0;
}

static int map_fixed(uint64_t addr, uint64_t len, char *err, size_t errlen)
{
	void *p = mmap((void *)(uintptr_t)addr, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return fail_text(err, errlen, "cannot map guest memory at [0x%llx, +0x%llx)",
		                 (unsigned long long)addr, (unsigned long long)len);
	if (p != (void *)(uintptr_t)addr) {
		munmap(p, len);
		errno = 0;
		return fail_text(err, errlen,
		                 "guest memory at 0x%llx is taken by the tender's own mappings",
		                 (unsigned long long)addr);
	}
	return 0;
}

/*
 * The vDSO's clock_gettime, so that the guest reads the clock without a
 * system call; 0 when it cannot be found (the runtime then makes the
 * call).  Walks the vDSO's dynamic symbols through DT_HASH, checking
 * every offset against what the kernel mapped.
 */
static uint64_t vdso_clock_gettime(void)
{
	const uint8_t *base = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	const Elf64_Sym *sym = NULL;
	const char *str = NULL;
	const uint32_t *hash = NULL;
	uint64_t bias = 0, size = 0;
	unsigned i;
	int have_load = 0;

	if (!base || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phentsize != sizeof(*ph))
		return 0;
	ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			bias = (uint64_t)(uintptr_t)base - ph[i].p_vaddr;
			size = ph[i].p_memsz;
			have_load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
		}
	}
	if (!have_load || !dyn)
		return 0;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		const void *p = (const void *)(uintptr_t)(bias + dyn->d_un.d_ptr);

		if (dyn->d_un.d_ptr >= size)
			continue;
		if (dyn->d_tag == DT_SYMTAB)
			sym = p;
		else if (dyn->d_tag == DT_STRTAB)
			str = p;
		else if (dyn->d_tag == DT_HASH)
			hash = p;
	}
	if (!sym || !str || !hash)
		return 0;
	for (i = 0; i < hash[1]; i++) {
		const char *name = str + sym[i].st_name;

		if ((const uint8_t *)name >= base + size ||
		    ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC || !sym[i].st_value)
			continue;
		if (!strcmp(name, "__vdso_clock_gettime"))
			return bias + sym[i].st_value;
	}
	return 0;
}

/* argv arrays and strings at SHOAL_PROC_ARGS: char *argv[argc+1], uint64_t len[argc], strings. */
static int place_args(int argc, char *const argv[], uint64_t *argv_at, uint64_t *arglen_at,
                      char *err, size_t errlen)
{
	uint64_t ptrs = SHOAL_PROC_ARGS;
	uint64_t lens = ptrs + 8 * ((uint64_t)argc + 1);
	uint64_t str = lens + 8 * (uint64_t)argc;
	uint64_t end = SHOAL_PROC_ARGS + SHOAL_PROC_ARGS_BYTES;
	int i;

	errno = 0;
	if (argc < 1 || argc > 4096 || str > end)
		return fail_text(err, errlen, "too many arguments (%d)", argc);
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		uint64_t at = str, len = n;

		if (n + 1 > end - str)
			return fail_text(err, errlen, "arguments are longer than %llu bytes in all",
			                 (unsigned long long)SHOAL_PROC_ARGS_BYTES);
		memcpy((void *)(uintptr_t)str, argv[i], n + 1);
		memcpy((void *)(uintptr_t)(ptrs + 8 * (uint64_t)i), &at, 8);
		memcpy((void *)(uintptr_t)(lens + 8 * (uint64_t)i), &len, 8);
		str += n + 1;
	}
	memset((void *)(uintptr_t)(ptrs + 8 * (uint64_t)argc), 0, 8);
	*argv_at = ptrs;
	*arglen_at = lens;
	return 0;
}

static int seg_prot(uint32_t flags)
{
	return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) |
	       ((flags & PF_X) ? PROT_EXEC : 0);
}

int proc_load(const struct proc_guest *g, const uint8_t *img, uint64_t len, int argc,
              char *const argv[], uint64_t *entry, int *status, char *err, size_t errlen)
{
	struct shoal_boot_info *bi = (struct shoal_boot_info *)(uintptr_t)SHOAL_PROC_BOOT_INFO;
	struct shoal_proc_fds *fds = (struct shoal_proc_fds *)(uintptr_t)SHOAL_PROC_FDS;
	struct image_elf elf;
	struct timespec ts;
	unsigned i;

	*status = GUEST_EXIT_IMAGE;
	errno = 0;
	if (image_check(img, len, g->mem_bytes, SHOAL_PLATFORM_PROC, &elf, err, errlen) < 0)
		return -1;
	*status = GUEST_EXIT_SETUP;
	if (map_fixed(SHOAL_PROC_BOOT_INFO, SHOAL_GPA_IMAGE_MIN - SHOAL_PROC_BOOT_INFO, err,
	              errlen) < 0 ||
	    map_fixed(SHOAL_GPA_IMAGE_MIN, g->mem_bytes - SHOAL_GPA_IMAGE_MIN, err, errlen) < 0)
		return -1;
	*status = GUEST_EXIT_USAGE;
	memset(bi, 0, sizeof(*bi));
	if (place_args(argc, argv, &bi->argv, &bi->arglen, err, errlen) < 0)
		return -1;

	/* Fresh anonymous memory is zero, so only file bytes are copied. */
	*status = GUEST_EXIT_SETUP;
	for (i = 0; i < elf.nseg; i++) {
		const struct image_seg *s = &elf.seg[i];
		uint64_t end = (s->gpa + s->memsz + PAGE - 1) & ~(PAGE - 1);

		memcpy((void *)(uintptr_t)s->gpa, img + s->offset, s->filesz);
		if (mprotect((void *)(uintptr_t)s->gpa, end - s->gpa, seg_prot(s->flags)) < 0)
			return fail_text(err, errlen, "segment at 0x%llx: mprotect",
			                 (unsigned long long)s->gpa);
	}

	bi->magic = SHOAL_BOOT_MAGIC;
	bi->abi_version = SHOAL_ABI_VERSION;
	bi->platform = SHOAL_PLATFORM_PROC;
	bi->mem_bytes = g->mem_bytes;
	bi->heap_start = elf.heap_start;
	bi->heap_end = elf.heap_end;
	bi->stack_top = g->mem_bytes;
	bi->argc = (uint32_t)argc;
	snprintf(bi->name, sizeof(bi->name), "%s", g->name);
	memset(fds, 0, sizeof(*fds));
	fds->nports = g->nports;
	for (i = 0; i < g->nports; i++) {
		fds->ports[i] = g->ports[i];
		bi->ports_bound |= 1ull << g->ports[i].port;
		if (g->ports[i].port == SHOAL_PORT_PROBE)
			bi->probe_port = SHOAL_PORT_PROBE;
	}
	for (i = 0; i < SHOAL_DEVICES_MAX; i++)
		fds->dev_fd[i] = i < g->ndevs ? g->dev_fd[i] : -1;
	memcpy((void *)(uintptr_t)SHOAL_PROC_DEVICES, g->dev, g->ndevs * sizeof(g->dev[0]));
	bi->devices = SHOAL_PROC_DEVICES;
	bi->ndevices = g->ndevs;
	for (i = 0; i < g->ndevs; i++)
		bi->ports_bound |= 1ull << g->dev[i].port;
	if (place_stats(g, fds, err, errlen) < 0)
		return -1;
	fds->vdso_clock_gettime = vdso_clock_gettime();
	clock_gettime(CLOCK_REALTIME, &ts);
	bi->boot_wall_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	/* The guest reads its boot page, never writes it. */
	if (mprotect(bi, PAGE, PROT_READ) < 0)
		return fail_text(err, errlen, "mprotect of the boot page");
	*entry = elf.entry;
	*status = 0;
	return 0;
}
