/*
 * libFuzzer harness of the KVM tender's device back-ends (vmm/blk.c,
 * vmm/net.c) serving what a guest wrote into its shared rings: the input
 * is the guest's side of one disk's blkif ring, or of one NIC's transmit
 * and receive rings, with the pages its requests point at, and (for a NIC)
 * the frames waiting in its tap.  The guest connects the ring by the
 * device hypercall and rings the doorbell; the I/O thread's handlers run
 * here on the caller's thread.  A bad ring ends the guest with a reason;
 * nothing is read or written outside guest memory, the disk or the tap.
 * Seeds: the request kinds of blk.sh's and net.sh's hostile guests
 * (badring, badnet), made by tests/fuzz/seeds.py.
 *
 * The back-ends' files are included, not linked, to reach the I/O
 * thread's handlers, which are static.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm/blk.c"
#include "vmm/net.c"

#define MEM       (2u << 20)
#define RING_GPA  SHOAL_GPA_IMAGE_MIN
#define ARG_GPA   0x1000u
#define DISK_SIZE (64u << 10)

static struct vmm_vm vm;
static struct vmm_devs *dv;
static int tap_peer = -1; /* the host's end of the NIC's "tap" (a datagram socket pair) */

static void setup(void)
{
	char err[300];
	int disk = memfd_create("fuzz-disk", MFD_CLOEXEC), sp[2];
	struct disk *d;
	struct nic *n;

	/* The I/O thread's failure signals the vCPU thread, which is this one here. */
	signal(SIGUSR1, SIG_IGN);
	vm.mem = calloc(1, MEM);
	vm.mem_bytes = vm.mem_max = MEM;
	vm.run = calloc(1, sizeof(*vm.run));
	vm.vcpu_tid = (int)syscall(SYS_gettid);
	dv = vmm_devs_new();
	if (!vm.mem || !vm.run || !dv || disk < 0 || ftruncate(disk, DISK_SIZE) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	dv->vm = &vm;
	dv->ep = epoll_create1(EPOLL_CLOEXEC);
	if (dv->ep < 0 || vmm_devs_add_disk(dv, "disk0", disk, 0, err, sizeof(err)) < 0 ||
	    nic_take(dv, "lan", "tap-fuzz", sp[0], NULL, err, sizeof(err)) < 0)
		abort();
	tap_peer = sp[1];
	d = &dv->disk[0];
	n = &dv->nic[0];
	d->index = 0;
	n->slot = 0;
	d->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->kick_fd < 0 || d->notify_fd < 0 || n->kick_fd < 0 || n->notify_fd < 0)
		abort();
	dv->nslots = 1;
	vm.devs = dv;
}

/* The guest's device hypercall for slot index with its ring at RING_GPA. */
static void dev_connect(uint32_t index)
{
	struct vmm_guestmem m = { vm.mem, vm.mem_bytes };
	struct shoal_hc_device a = { index, 0, RING_GPA };
	struct vmm_hc_result res;

	memcpy(vm.mem + ARG_GPA, &a, sizeof(a));
	if (vmm_devs_connect(dv, &m, ARG_GPA, &res) != VMM_HC_CONTINUE)
		abort();
	memcpy(&a, vm.mem + ARG_GPA, sizeof(a));
	if (a.status != 0)
		abort();
}

static void fill(const uint8_t *data, size_t size, size_t ring_bytes)
{
	memset(vm.mem + RING_GPA, 0, MEM - RING_GPA);
	memcpy(vm.mem + RING_GPA, data, size < ring_bytes ? size : ring_bytes);
	if (size > ring_bytes)
		memcpy(vm.mem + RING_GPA + ring_bytes, data + ring_bytes,
		       size - ring_bytes < MEM - RING_GPA - ring_bytes
		           ? size - ring_bytes
		           : MEM - RING_GPA - ring_bytes);
}

static void disk_case(const uint8_t *data, size_t size)
{
	struct disk *d = &dv->disk[0];

	d->connected = 0;
	d->readonly = size > 0 && (data[0] & 1);
	if (size)
		data++, size--;
	fill(data, size, SHOAL_PAGE_SIZE);
	dev_connect(0);
	disk_event(dv, 0);
}

/*
 * A NIC: the rate limit (packets and bytes a second, 0: none), the frames
 * waiting in its tap (a count, then each one's length and bytes), then its
 * two ring pages and what follows them.
 */
static void nic_case(const uint8_t *data, size_t size)
{
	struct nic *n = &dv->nic[0];
	uint8_t frame[2048];
	unsigned i, nframes;

	if (size < 3)
		return;
	n->connected = 0;
	n->tap_watched = -1; /* as unknown: watch_tap sets it */
	n->tx_skip = 0;
	n->tx_resume_ns = n->rx_resume_ns = 0;
	vmm_devs_set_rate(dv, data[0] ? data[0] : 0, data[1] ? (uint64_t)data[1] * 100 : 0);
	nframes = data[2] % 8;
	data += 3, size -= 3;
	for (i = 0; i < nframes && size >= 2; i++) {
		size_t len = (size_t)(data[0] | data[1] << 8) % sizeof(frame);

		data += 2, size -= 2;
		if (len > size)
			len = size;
		memcpy(frame, data, len);
		if (send(tap_peer, frame, len, MSG_DONTWAIT) < 0)
			break;
		data += len, size -= len;
	}
	fill(data, size, SHOAL_NET_RINGS_BYTES);
	dev_connect(dv->ndisks);
	if (devs__nic_event(dv, 0, 0) == 0 && devs__nic_event(dv, 0, 1) == 0)
		devs__nics_timers(dv, devs__now_ns() + 10000000000ull);
	/* What the guest sent, and what it did not take. */
	while (recv(tap_peer, frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
	while (recv(n->tap_fd, frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dv)
		setup();
	if (size < 1)
		return 0;
	vm.io_fatal = 0;
	vm.io_reason[0] = '\0';
	if (data[0] & 1)
		nic_case(data + 1, size - 1);
	else
		disk_case(data + 1, size - 1);
	/* A ring that ended the guest says why. */
	if (vm.io_fatal && !vm.io_reason[0])
		abort();
	return 0;
}
