/*
 * libFuzzer harness of shoald's reading of a tender's device counters
 * (daemon/backend/kvm.c's kvm_dev_stats): the page is shared with the
 * tender, which runs a guest (and on proc is the guest), so each read
 * checks its magic, version and count, and takes a device only under a
 * name a spec could give.  The input is the page.  Seeds: pages as
 * shoal-vmm fills them (tests/fuzz/seeds.py).
 *
 * The backend's file is included, not linked, to reach its static
 * reader; the rest of the daemon comes from its library.
 */
#include "daemon/backend/kvm.c"

/* The daemon's clocks live in its main.c, which a harness cannot link. */
uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t now_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct be_dev_stats out[VMM_STATS_DEVS + 1];
	static struct vmm_stats *page;
	static struct shell sh;
	static struct guest g;
	unsigned n, i, max;

	if (!page && !(page = aligned_alloc(4096, VMM_STATS_BYTES)))
		abort();
	memset(page, 0, VMM_STATS_BYTES);
	memcpy(page, data, size < VMM_STATS_BYTES ? size : VMM_STATS_BYTES);
	sh.stats = page;
	sh.state = SH_RUNNING;
	g.be = &sh;
	/* The caller's room, from none to more than the page can hold. */
	max = size ? data[size - 1] % (VMM_STATS_DEVS + 2) : VMM_STATS_DEVS;
	n = kvm_dev_stats(NULL, &g, out, max);
	if (n > max || n > VMM_STATS_DEVS)
		abort();
	for (i = 0; i < n; i++)
		if (!spec_disk_name_ok(out[i].name) ||
		    !memchr(out[i].name, '\0', sizeof(out[i].name)))
			abort();
	return 0;
}
