/*
 * libFuzzer harness of the KVM tender's hypercall handlers (vmm/hypercall.c,
 * and the device connect of vmm/blk.c with no device): the input is a
 * hypercall number, its argument (a guest address) and the guest's
 * memory, 64 KiB of which the input's bytes fill from address 0.  Each
 * call goes on or stops the guest with a status and a reason.  Seeds:
 * the calls of tests/unit/test_vmm_hypercall.c's kinds, made by
 * tests/fuzz/seeds.py.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vmm.h"

#define MEM (64u << 10)

static uint8_t *mem;
static int devnull = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_guestmem m;
	struct vmm_console_sink sink;
	struct vmm_hc_result res;
	enum vmm_hc_outcome out;
	uint32_t arg;
	unsigned nr;

	if (!mem) {
		mem = malloc(MEM);
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (!mem || devnull < 0)
			abort();
	}
	if (size < 5)
		return 0;
	nr = data[0];
	memcpy(&arg, data + 1, 4);
	memset(mem, 0, MEM);
	memcpy(mem, data + 5, size - 5 < MEM ? size - 5 : MEM);
	m.base = mem;
	m.size = MEM;
	sink = (struct vmm_console_sink){ vmm_console_to_fd, (void *)(intptr_t)devnull };
	memset(&res, 0, sizeof(res));
	if (nr == SHOAL_HC_DEVICE)
		out = vmm_devs_connect(NULL, &m, arg, &res);
	else
		out = vmm_hypercall(&m, nr, arg, &sink, &res);
	if (out == VMM_HC_STOP && (!res.reason[0] || !memchr(res.reason, '\0', sizeof(res.reason))))
		abort();
	return 0;
}
