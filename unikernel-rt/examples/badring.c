/*
 * badring: a guest that writes hostile entries into its disk's blkif
 * ring, as the tender's back-end must expect.  KVM only: it speaks the
 * device hypercall and the ring itself, without the runtime's front-end.
 *
 *   badring requests NAME   each bad request in turn; every one must be
 *                           answered with an error status, and a good
 *                           read after them must still work
 *   badring connect NAME    bad connects: an unaligned ring, one outside
 *                           memory, a device that does not exist, a
 *                           second connect; each refused with its status
 *   badring overrun NAME    a producer index far ahead of the ring: the
 *                           tender must end the guest
 *   badring arg             a device hypercall whose argument lies
 *                           outside memory: the tender must end the guest
 *
 * Prints one line per case and "badring: ok" when all went as they must.
 */
#define HOSTILE_NAME "badring"
#include "rawdev.h"
#include <xen/io/blkif.h>

static blkif_front_ring_t ring;
static const struct shoal_device *dev;

/* Push one request and wait up to 2 s for its answer; its status, or NO_ANSWER for none. */
static int one(const blkif_request_t *rq)
{
	blkif_response_t r;

	*RING_GET_REQUEST(&ring, ring.req_prod_pvt) = *rq;
	ring.req_prod_pvt++;
	RING_PUSH_REQUESTS(&ring);
	rt_evtchn_notify(dev->port);
	if (!WAIT_FOR(&ring, 2))
		return NO_ANSWER;
	r = *RING_GET_RESPONSE(&ring, ring.rsp_cons);
	ring.rsp_cons++;
	return r.status;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	blkif_sring_t *sring;
	blkif_request_t rq;
	uint8_t *buf;
	unsigned index = 0;
	int ok = 1;

	if (!strcmp(cmd, "arg")) {
		outl(SHOAL_IO_HYPERCALL + SHOAL_HC_DEVICE, 0xfffff000u);
		rt_puts("badring: the bad hypercall returned\n");
		return 1;
	}
	if (argc < 3 || !(dev = find(SHOAL_DEV_BLOCK, argv[2], &index))) {
		rt_puts("badring: which disk?\n");
		return 2;
	}
	sring = (blkif_sring_t *)pages(1);
	buf = pages(1);
	if (!sring || !buf)
		return 3;
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&ring, sring, PAGE);
	rt_evtchn_bind(dev->port, nothing, NULL);
	if (!strcmp(cmd, "connect")) {
		ok &= expect("an unaligned ring", connect(index, (uintptr_t)sring + 8),
		             SHOAL_DEV_EINVAL);
		ok &= expect("a ring outside memory", connect(index, BI->mem_bytes),
		             SHOAL_DEV_EINVAL);
		ok &= expect("a ring in the tender's pages", connect(index, SHOAL_GPA_BOOT_INFO),
		             SHOAL_DEV_EINVAL);
		ok &= expect("a device that does not exist",
		             connect(SHOAL_DEVICES_MAX + 3, (uintptr_t)sring), SHOAL_DEV_ENOENT);
		ok &= expect("the connect", connect(index, (uintptr_t)sring), 0);
		ok &= expect("a second connect", connect(index, (uintptr_t)sring), SHOAL_DEV_EBUSY);
		rt_puts(ok ? "badring: ok\n" : "badring: FAILED\n");
		return ok ? 0 : 1;
	}
	if (connect(index, (uintptr_t)sring) != 0) {
		rt_puts("badring: the connect was refused\n");
		return 1;
	}
	if (!strcmp(cmd, "overrun")) {
		sring->req_prod = ring.req_prod_pvt + 3 * RING_SIZE(&ring);
		rt_evtchn_notify(dev->port);
		rt_block(rt_clock_ns() + 2000000000ull);
		rt_block(rt_clock_ns() + 2000000000ull);
		rt_puts("badring: still running after the overrun\n");
		return 1;
	}
	if (strcmp(cmd, "requests")) {
		rt_printf("badring: unknown command %s\n", cmd);
		return 2;
	}
	/* A good read first, the pattern of every case below. */
#define GOOD()                                                                                     \
	do {                                                                                       \
		memset(&rq, 0, sizeof(rq));                                                        \
		rq.operation = BLKIF_OP_READ;                                                      \
		rq.nr_segments = 1;                                                                \
		rq.seg[0].gref = (grant_ref_t)((uintptr_t)buf / PAGE);                             \
		rq.seg[0].first_sect = 0;                                                          \
		rq.seg[0].last_sect = 7;                                                           \
	} while (0)
	GOOD();
	ok &= expect("a good read", one(&rq), BLKIF_RSP_OKAY);
	GOOD();
	rq.seg[0].gref = (grant_ref_t)(BI->mem_bytes / PAGE);
	ok &= expect("a frame past guest memory", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.seg[0].gref = 0xffffffffu;
	ok &= expect("frame 0xffffffff", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.sector_number = dev->u.blk.sectors;
	ok &= expect("a sector past the disk", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.sector_number = dev->u.blk.sectors - 4;
	ok &= expect("a run that ends past the disk", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.sector_number = ~0ull - 2;
	ok &= expect("a sector number that wraps", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.nr_segments = 0;
	ok &= expect("no segments", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
	ok &= expect("12 segments", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.nr_segments = 255;
	ok &= expect("255 segments", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.seg[0].first_sect = 5;
	rq.seg[0].last_sect = 2;
	ok &= expect("first sector after the last", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.seg[0].last_sect = 8;
	ok &= expect("a last sector past the page", one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.operation = 77;
	ok &= expect("an operation that does not exist", one(&rq), BLKIF_RSP_EOPNOTSUPP);
	GOOD();
	rq.operation = BLKIF_OP_INDIRECT;
	ok &= expect("an indirect request", one(&rq), BLKIF_RSP_EOPNOTSUPP);
	if (dev->flags & SHOAL_DEV_READONLY) {
		GOOD();
		rq.operation = BLKIF_OP_WRITE;
		ok &= expect("a write to a read-only disk", one(&rq), BLKIF_RSP_ERROR);
	}
	GOOD();
	ok &= expect("a good read after all that", one(&rq), BLKIF_RSP_OKAY);
	rt_puts(ok ? "badring: ok\n" : "badring: FAILED\n");
	return ok ? 0 : 1;
}
