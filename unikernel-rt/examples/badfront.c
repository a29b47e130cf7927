/*
 * badfront: a hostile front-end on Xen, for Dom0's back-ends (blkback,
 * netback) and xenstore to withstand.  It connects through the runtime's
 * own handshake and grants, then writes into the rings what a front-end
 * never would; and it does one handshake itself with bad values.  Xen
 * only (xen-pv, xen-pvh): on KVM, badring and badnet do the same to the
 * tender.
 *
 *   badfront DISK-RO DISK-RW NIC
 *
 * DISK-RO (a read-only disk): a good read, then bad grants, sectors past
 * the disk, bad segment counts and bounds, an unknown operation and a
 * write, each answered with an error (blkback's statuses); a good read
 * again; then a producer index far ahead, after which blkback stops
 * serving that ring and nothing else.
 * DISK-RW: its handshake done by hand with a ring-ref never granted and an
 * event channel that is not ours: blkback gives up on the device (state
 * Closing or Closed); and writes where a guest may not (its back-end's
 * directory, Dom0's): refused by xenstore.
 * NIC: transmit requests too short and with a bad grant, answered with
 * errors; then one that crosses its page, after which netback disables
 * the interface.
 *
 * One line per case, then "badfront: ok" (or "badfront: FAILED"); it then
 * stays up, as a guest that did its worst, until it is stopped.
 */
#include <shoal/rt.h>
#include <shoal/xen_ring.h>
#include <xen/io/blkif.h>
#include <xen/io/netif.h>

#define HOSTILE_NAME "badfront"
#include "hostile.h"

#include "../platform/xen/xen.h"

#define PAGE 4096u

/* ---- the read-only disk ------------------------------------------------ */

static blkif_front_ring_t bring;
static const struct shoal_device *bdev;

static int blk_one(const blkif_request_t *rq)
{
	blkif_response_t r;

	*RING_GET_REQUEST(&bring, bring.req_prod_pvt) = *rq;
	bring.req_prod_pvt++;
	RING_PUSH_REQUESTS(&bring);
	rt_evtchn_notify(bdev->port);
	if (!WAIT_FOR(&bring, 3))
		return NO_ANSWER;
	r = *RING_GET_RESPONSE(&bring, bring.rsp_cons);
	bring.rsp_cons++;
	return r.status;
}

static int disk_ro(const char *name)
{
	blkif_request_t rq;
	blkif_sring_t *sring;
	uint32_t gref, stale;
	unsigned index;
	void *mem;
	uint8_t *buf;
	int ok = 1;

	if (!(bdev = rt__device_find(SHOAL_DEV_BLOCK, name, &index))) {
		rt_printf("badfront: no disk %s\n", name);
		return 0;
	}
	sring = rt_pages_alloc(1, &mem);
	buf = rt_pages_alloc(2, &mem);
	if (!sring || !buf)
		return 0;
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&bring, sring, PAGE);
	if (rt_evtchn_bind(bdev->port, nothing, NULL) < 0 || plat_dev_connect(index, sring) < 0) {
		rt_printf("badfront: disk %s did not connect\n", name);
		return 0;
	}
	gref = plat_grant(index, buf, 1);
	/* A reference that was granted once and taken back. */
	stale = plat_grant(index, buf + PAGE, 1);
	plat_grant_end(index, stale);
#define GOOD()                                                                                     \
	do {                                                                                       \
		memset(&rq, 0, sizeof(rq));                                                        \
		rq.operation = BLKIF_OP_READ;                                                      \
		rq.id = 7;                                                                         \
		rq.nr_segments = 1;                                                                \
		rq.seg[0].gref = gref;                                                             \
		rq.seg[0].first_sect = 0;                                                          \
		rq.seg[0].last_sect = 7;                                                           \
	} while (0)
	GOOD();
	ok &= expect("disk: a good read", blk_one(&rq), BLKIF_RSP_OKAY);
	GOOD();
	rq.seg[0].gref = stale;
	ok &= expect("disk: a grant taken back", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.seg[0].gref = 0xfffffff0u;
	ok &= expect("disk: a grant past the table", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.sector_number = bdev->u.blk.sectors;
	ok &= expect("disk: a sector past the disk", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.sector_number = bdev->u.blk.sectors - 4;
	ok &= expect("disk: a run that ends past the disk", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.sector_number = ~0ull - 2;
	ok &= expect("disk: a sector number that wraps", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.nr_segments = 0;
	ok &= expect("disk: no segments", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
	ok &= expect("disk: 12 segments", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.seg[0].first_sect = 5;
	rq.seg[0].last_sect = 2;
	ok &= expect("disk: first sector after the last", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.seg[0].last_sect = 8;
	ok &= expect("disk: a last sector past the page", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	rq.operation = 77;
	ok &= expect("disk: an operation that does not exist", blk_one(&rq), BLKIF_RSP_EOPNOTSUPP);
	GOOD();
	rq.operation = BLKIF_OP_WRITE;
	ok &= expect("disk: a write to a read-only disk", blk_one(&rq), BLKIF_RSP_ERROR);
	GOOD();
	ok &= expect("disk: a good read after all that", blk_one(&rq), BLKIF_RSP_OKAY);
	/* Far ahead: blkback halts this ring (and only this one). */
	sring->req_prod = bring.req_prod_pvt + 3 * RING_SIZE(&bring);
	rt_evtchn_notify(bdev->port);
	rt_block(rt_clock_ns() + 500000000ull);
	bring.sring->req_prod = bring.req_prod_pvt;
	GOOD();
	ok &= expect("disk: a read after a producer far ahead (the ring is halted)", blk_one(&rq),
	             NO_ANSWER);
	return ok;
}

/* ---- the writable disk, connected by hand with bad values --------------- */

/* The front directory (device/vbd/ID) of the disk named name, in dir. */
static int front_dir(const char *name, char *dir, size_t cap)
{
	char ids[512], path[96], val[64];
	long n = xen__xs_directory("device/vbd", ids, sizeof(ids));
	long i;

	for (i = 0; n > 0 && i < n; i += (long)strlen(ids + i) + 1) {
		rt_snprintf(path, sizeof(path), "device/vbd/%s/shoal-name", ids + i);
		if (xen__xs_read(0, path, val, sizeof(val)) >= 0 && !strcmp(val, name)) {
			rt_snprintf(dir, cap, "device/vbd/%s", ids + i);
			return 0;
		}
	}
	return -1;
}

static int disk_rw(const char *name)
{
	char dir[64], path[160], backend[128], val[16];
	uint64_t until;
	int ok = 1, st = -1, r;

	if (front_dir(name, dir, sizeof(dir)) < 0) {
		rt_printf("badfront: no disk %s in xenstore\n", name);
		return 0;
	}
	rt_snprintf(path, sizeof(path), "%s/backend", dir);
	if (xen__xs_read(0, path, backend, sizeof(backend)) <= 0) {
		rt_printf("badfront: %s has no back-end\n", dir);
		return 0;
	}
	/* Wait for blkback's InitWait, as a front-end must. */
	rt_snprintf(path, sizeof(path), "%s/state", backend);
	for (until = rt_clock_ns() + 10000000000ull; rt_clock_ns() < until;
	     rt_block(rt_clock_ns() + 20000000ull))
		if (xen__xs_read(0, path, val, sizeof(val)) > 0 && val[0] >= '2')
			break;
	rt_snprintf(path, sizeof(path), "%s/ring-ref", dir);
	r = xen__xs_write(0, path, "2047");
	rt_snprintf(path, sizeof(path), "%s/event-channel", dir);
	r |= xen__xs_write(0, path, "4095");
	rt_snprintf(path, sizeof(path), "%s/protocol", dir);
	r |= xen__xs_write(0, path, "x86_64-abi");
	rt_snprintf(path, sizeof(path), "%s/state", dir);
	r |= xen__xs_write(0, path, "3");
	ok &= expect("xenstore: a ring never granted and a port not ours written", r, 0);
	rt_snprintf(path, sizeof(path), "%s/state", backend);
	for (until = rt_clock_ns() + 10000000000ull; rt_clock_ns() < until;
	     rt_block(rt_clock_ns() + 20000000ull)) {
		st = xen__xs_read(0, path, val, sizeof(val)) > 0 ? val[0] - '0' : -1;
		if (st >= 5)
			break;
	}
	rt_printf("badfront: xenstore: blkback's state after them: %d\n", st);
	ok &= st >= 5;
	rt_snprintf(path, sizeof(path), "%s/mode", backend);
	ok &= expect("xenstore: a write to its back-end's directory", xen__xs_write(0, path, "w"),
	             -1);
	ok &= expect("xenstore: a write to Dom0's directory",
	             xen__xs_write(0, "/local/domain/0/name", "mine"), -1);
	ok &=
	    expect("xenstore: a write to the store's root", xen__xs_write(0, "/badfront", "1"), -1);
	return ok;
}

/* ---- the NIC ------------------------------------------------------------ */

static netif_tx_front_ring_t tx;
static const struct shoal_device *ndev;

static int send(const netif_tx_request_t *rq)
{
	netif_tx_response_t r;

	*RING_GET_REQUEST(&tx, tx.req_prod_pvt) = *rq;
	tx.req_prod_pvt++;
	RING_PUSH_REQUESTS(&tx);
	rt_evtchn_notify(ndev->port);
	if (!WAIT_FOR(&tx, 3))
		return NO_ANSWER;
	r = *RING_GET_RESPONSE(&tx, tx.rsp_cons);
	tx.rsp_cons++;
	return r.status;
}

static int nic(const char *name)
{
	netif_tx_request_t rq;
	netif_rx_front_ring_t rx;
	uint8_t *rings, *frame;
	uint32_t gref, stale;
	unsigned index;
	void *mem;
	int ok = 1;

	if (!(ndev = rt__device_find(SHOAL_DEV_NET, name, &index))) {
		rt_printf("badfront: no NIC %s\n", name);
		return 0;
	}
	rings = rt_pages_alloc(2, &mem);
	frame = rt_pages_alloc(2, &mem);
	if (!rings || !frame)
		return 0;
	SHARED_RING_INIT((netif_tx_sring_t *)rings);
	SHARED_RING_INIT((netif_rx_sring_t *)(rings + PAGE));
	FRONT_RING_INIT(&tx, (netif_tx_sring_t *)rings, PAGE);
	FRONT_RING_INIT(&rx, (netif_rx_sring_t *)(rings + PAGE), PAGE);
	if (rt_evtchn_bind(ndev->port, nothing, NULL) < 0 || plat_dev_connect(index, rings) < 0) {
		rt_printf("badfront: NIC %s did not connect\n", name);
		return 0;
	}
	/* A broadcast ARP request from its MAC: a frame netback takes. */
	memset(frame, 0xff, 6);
	memcpy(frame + 6, ndev->u.net.mac, 6);
	frame[12] = 0x08, frame[13] = 0x06;
	gref = plat_grant(index, frame, 0);
	stale = plat_grant(index, frame + PAGE, 0);
	plat_grant_end(index, stale);
#define TX(sz)                                                                                     \
	do {                                                                                       \
		memset(&rq, 0, sizeof(rq));                                                        \
		rq.gref = gref;                                                                    \
		rq.id = 3;                                                                         \
		rq.size = (sz);                                                                    \
	} while (0)
	TX(60);
	ok &= expect("nic: a good frame", send(&rq), NETIF_RSP_OKAY);
	TX(6);
	ok &= expect("nic: a frame shorter than its header", send(&rq), NETIF_RSP_ERROR);
	TX(60);
	rq.gref = stale;
	ok &= expect("nic: a grant taken back", send(&rq), NETIF_RSP_ERROR);
	TX(60);
	ok &= expect("nic: a good frame after those", send(&rq), NETIF_RSP_OKAY);
	/* Across its page: netback disables the interface, and answers no more. */
	TX(200);
	rq.offset = PAGE - 100;
	ok &=
	    expect("nic: a frame across its page (netback disables the NIC)", send(&rq), NO_ANSWER);
	TX(60);
	ok &= expect("nic: a good frame after that (no answer: disabled)", send(&rq), NO_ANSWER);
	return ok;
}

int main(int argc, char **argv)
{
	int ok;

	if (argc < 4) {
		rt_puts("badfront: usage: badfront DISK-RO DISK-RW NIC\n");
		return 2;
	}
	ok = disk_ro(argv[1]);
	ok &= disk_rw(argv[2]);
	ok &= nic(argv[3]);
	rt_puts(ok ? "badfront: ok\n" : "badfront: FAILED\n");
	for (;;)
		rt_block(rt_clock_ns() + 3600000000000ull);
}
