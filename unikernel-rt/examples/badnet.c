/*
 * badnet: a guest that writes hostile entries into its NIC's netif
 * rings, as the tender's back-end must expect.  KVM only: it speaks the
 * device hypercall and the rings itself, without the runtime's front-end.
 *
 *   badnet requests NAME    each bad transmit request in turn, every one
 *                           answered with an error status; then a good
 *                           frame (an ARP request for the tap's 10.77.0.1),
 *                           and receive buffers: one outside memory,
 *                           answered with an error, and a good one that
 *                           gets the ARP reply
 *   badnet connect NAME     rings whose second page is outside memory, or
 *                           unaligned: each refused
 *   badnet overrun NAME     a transmit producer far ahead: the tender ends
 *                           the guest
 *   badnet rxoverrun NAME   the same on the receive ring
 *
 * Prints one line per case and "badnet: ok" when all went as they must.
 */
#define HOSTILE_NAME "badnet"
#include "rawdev.h"
#include <xen/io/netif.h>

static netif_tx_front_ring_t tx;
static netif_rx_front_ring_t rx;
static const struct shoal_device *dev;

/* Push one transmit request and take its answer: its status, or NO_ANSWER for none. */
static int send(const netif_tx_request_t *rq)
{
	netif_tx_response_t r;

	*RING_GET_REQUEST(&tx, tx.req_prod_pvt) = *rq;
	tx.req_prod_pvt++;
	RING_PUSH_REQUESTS(&tx);
	rt_evtchn_notify(dev->port);
	if (!WAIT_FOR(&tx, 2))
		return NO_ANSWER;
	r = *RING_GET_RESPONSE(&tx, tx.rsp_cons);
	tx.rsp_cons++;
	return r.status;
}

/* Post one receive buffer. */
static void post(uint16_t id, grant_ref_t gref)
{
	netif_rx_request_t *rr = RING_GET_REQUEST(&rx, rx.req_prod_pvt);

	rr->id = id;
	rr->gref = gref;
	rx.req_prod_pvt++;
	RING_PUSH_REQUESTS(&rx);
	rt_evtchn_notify(dev->port);
}

/* An ARP request from 10.77.0.2 for 10.77.0.1, broadcast: 42 bytes. */
static unsigned arp_request(uint8_t *f)
{
	static const uint8_t body[] = { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 };
	static const uint8_t sender[] = { 10, 77, 0, 2 }, target[] = { 10, 77, 0, 1 };

	memset(f, 0xff, 6);
	memcpy(f + 6, dev->u.net.mac, 6);
	memcpy(f + 12, body, sizeof(body));
	memcpy(f + 22, dev->u.net.mac, 6);
	memcpy(f + 28, sender, 4);
	memset(f + 32, 0, 6);
	memcpy(f + 38, target, 4);
	return 42;
}

static int is_arp_reply(const netif_rx_response_t *r, const uint8_t *f)
{
	return r->id == 2 && r->status >= 42 && r->offset == 0 && f[12] == 0x08 && f[13] == 0x06 &&
	       f[21] == 2;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	netif_tx_request_t rq;
	netif_rx_response_t r;
	uint8_t *rings, *buf, *rxbuf;
	unsigned index = 0, len, tries;
	int ok = 1;

	if (argc < 3 || !(dev = find(SHOAL_DEV_NET, argv[2], &index))) {
		rt_puts("badnet: which NIC?\n");
		return 2;
	}
	rings = pages(2);
	buf = pages(1);
	rxbuf = pages(1);
	if (!rings || !buf || !rxbuf)
		return 3;
	SHARED_RING_INIT((netif_tx_sring_t *)rings);
	SHARED_RING_INIT((netif_rx_sring_t *)(rings + PAGE));
	FRONT_RING_INIT(&tx, (netif_tx_sring_t *)rings, PAGE);
	FRONT_RING_INIT(&rx, (netif_rx_sring_t *)(rings + PAGE), PAGE);
	rt_evtchn_bind(dev->port, nothing, NULL);
	if (!strcmp(cmd, "connect")) {
		ok &= expect("unaligned rings", connect(index, (uintptr_t)rings + 8),
		             SHOAL_DEV_EINVAL);
		ok &= expect("rings whose second page is past memory",
		             connect(index, BI->mem_bytes - PAGE), SHOAL_DEV_EINVAL);
		ok &= expect("the connect", connect(index, (uintptr_t)rings), 0);
		ok &= expect("a second connect", connect(index, (uintptr_t)rings), SHOAL_DEV_EBUSY);
		rt_puts(ok ? "badnet: ok\n" : "badnet: FAILED\n");
		return ok ? 0 : 1;
	}
	if (connect(index, (uintptr_t)rings) != 0) {
		rt_puts("badnet: the connect was refused\n");
		return 1;
	}
	if (!strcmp(cmd, "overrun") || !strcmp(cmd, "rxoverrun")) {
		if (!strcmp(cmd, "overrun"))
			tx.sring->req_prod = tx.req_prod_pvt + 3 * RING_SIZE(&tx);
		else
			rx.sring->req_prod = rx.req_prod_pvt + 3 * RING_SIZE(&rx);
		rt_evtchn_notify(dev->port);
		rt_block(rt_clock_ns() + 2000000000ull);
		rt_block(rt_clock_ns() + 2000000000ull);
		rt_puts("badnet: still running after the overrun\n");
		return 1;
	}
	if (strcmp(cmd, "requests")) {
		rt_printf("badnet: unknown command %s\n", cmd);
		return 2;
	}
	len = arp_request(buf);
#define GOOD()                                                                                     \
	do {                                                                                       \
		memset(&rq, 0, sizeof(rq));                                                        \
		rq.gref = (grant_ref_t)((uintptr_t)buf / PAGE);                                    \
		rq.size = (uint16_t)len;                                                           \
	} while (0)
	GOOD();
	rq.gref = (grant_ref_t)(BI->mem_bytes / PAGE);
	ok &= expect("a frame past guest memory", send(&rq), NETIF_RSP_ERROR);
	GOOD();
	rq.gref = 0xffffffffu;
	ok &= expect("frame 0xffffffff", send(&rq), NETIF_RSP_ERROR);
	GOOD();
	rq.offset = PAGE - 20;
	ok &= expect("a frame that runs past its page", send(&rq), NETIF_RSP_ERROR);
	GOOD();
	rq.offset = 0xffff;
	ok &= expect("an offset past the page", send(&rq), NETIF_RSP_ERROR);
	GOOD();
	rq.size = 13;
	ok &= expect("13 bytes, shorter than a header", send(&rq), NETIF_RSP_ERROR);
	GOOD();
	rq.size = (uint16_t)(dev->u.net.mtu + 19);
	ok &= expect("a frame longer than the MTU allows", send(&rq), NETIF_RSP_ERROR);
	GOOD();
	rq.flags = NETTXF_more_data;
	ok &= expect("a frame in two slots", send(&rq), NETIF_RSP_ERROR);
	GOOD();
	ok &= expect("  its second slot", send(&rq), NETIF_RSP_NULL);
	GOOD();
	ok &= expect("a good frame after all that", send(&rq), NETIF_RSP_OKAY);

	/* The host answers the ARP request: a bad buffer first, then a good one. */
	post(1, (grant_ref_t)(BI->mem_bytes / PAGE + 5));
	post(2, (grant_ref_t)((uintptr_t)rxbuf / PAGE));
	if (!WAIT_FOR(&rx, 2)) {
		rt_puts("badnet: no answer on the receive ring\n");
		return 1;
	}
	r = *RING_GET_RESPONSE(&rx, rx.rsp_cons);
	rx.rsp_cons++;
	ok &= expect("a receive buffer past guest memory", r.id == 1 ? r.status : 98,
	             NETIF_RSP_ERROR);
	/*
	 * The frame that found the bad buffer is lost with it, and may have
	 * been the reply itself (a host with no chatter of its own on the
	 * tap): ask again, for the good buffer.
	 */
	GOOD();
	ok &= expect("the request again", send(&rq), NETIF_RSP_OKAY);
	/* Other frames may come first (the host's own chatter): take up to 8. */
	for (tries = 0; tries < 8; tries++) {
		if (!WAIT_FOR(&rx, 2)) {
			rt_puts("badnet: no frame in the good buffer\n");
			return 1;
		}
		r = *RING_GET_RESPONSE(&rx, rx.rsp_cons);
		rx.rsp_cons++;
		if (is_arp_reply(&r, rxbuf))
			break;
		post(2, (grant_ref_t)((uintptr_t)rxbuf / PAGE));
	}
	ok &= expect("the ARP reply in a good buffer", tries < 8, 1);
	rt_puts(ok ? "badnet: ok\n" : "badnet: FAILED\n");
	return ok ? 0 : 1;
}
