/*
 * What the hostile-ring guests (badring, badnet) share: they speak the
 * device hypercall and Xen's rings themselves, without the runtime's
 * front-ends, so as to write into the rings what a front-end never would.
 * KVM only.  Define HOSTILE_NAME (the guest's name, for its lines) first.
 */
#ifndef SHOAL_EXAMPLES_RAWDEV_H
#define SHOAL_EXAMPLES_RAWDEV_H

#include <shoal/abi.h>
#include <shoal/rt.h>
#include <shoal/xen_ring.h>

#include "hostile.h"

#define PAGE 4096u
#define BI   ((const volatile struct shoal_boot_info *)SHOAL_GPA_BOOT_INFO)

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

/* SHOAL_HC_DEVICE: device index's ring(s) at ring; the tender's status. */
static inline int32_t connect(uint32_t index, uint64_t ring)
{
	struct shoal_hc_device a = { index, 1, ring };

	outl(SHOAL_IO_HYPERCALL + SHOAL_HC_DEVICE, (uint32_t)(uintptr_t)&a);
	return *(volatile int32_t *)&a.status;
}

/* n zeroed pages at a page boundary (never freed: the guest is short-lived). */
static inline uint8_t *pages(unsigned n)
{
	void *block;

	return rt_pages_alloc(n, &block);
}

/* The device of that kind named name in the tender's table, read directly. */
static inline const struct shoal_device *find(uint32_t kind, const char *name, unsigned *index)
{
	const struct shoal_device *d = (const struct shoal_device *)(uintptr_t)SHOAL_GPA_DEVICES;
	unsigned i;

	for (i = 0; i < BI->ndevices && i < SHOAL_DEVICES_MAX; i++)
		if (d[i].kind == kind && !strcmp(d[i].name, name)) {
			*index = i;
			return &d[i];
		}
	return NULL;
}

#endif /* SHOAL_EXAMPLES_RAWDEV_H */
