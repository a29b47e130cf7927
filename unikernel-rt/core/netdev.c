/*
 * The network front-end, one for every platform: Xen's netif transmit and
 * receive rings in two consecutive pages of the guest's own, "granted"
 * to the host through the platform as core/blk.c's ring is, their doorbell
 * an event port.  Every frame has a page of its own on either side, so
 * that a frame is always one ring slot (no NETTXF_more_data) and the host
 * writes only into pages posted for it.  Each request's page is granted
 * for it alone (writable only for the receive side) and taken back when
 * its answer comes; the feature keys the platform writes (Xen) keep the
 * host to whole frames with their checksums, one slot each, but a frame
 * split over several slots (NETRXF_more_data) is dropped whole.
 *
 * The doorbell's handler does nothing but wake rt_block(): the rings are
 * taken by rt_netdev_poll(), from the guest's loop.
 */
#include <shoal/netdev.h>

#include "rt_internal.h"

#include <shoal/xen_ring.h>
#include <xen/io/netif.h>

#define PAGE       4096u
#define TX_BUFS    32u /* frames in flight to the host */
#define RX_BUFS    32u /* buffers posted for frames from the host */
#define FRAME_MIN  14u
#define FRAME_VLAN 18u

_Static_assert(TX_BUFS <= __CONST_RING_SIZE(netif_tx, PAGE), "transmit buffers fit the ring");
_Static_assert(RX_BUFS <= __CONST_RING_SIZE(netif_rx, PAGE), "receive buffers fit the ring");

struct rt_netdev {
	const struct shoal_device *dev;
	unsigned index;
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	void *rings_mem, *tx_mem, *rx_mem; /* as allocated; each aligned to a page inside */
	uint8_t *tx_page, *rx_page;        /* TX_BUFS and RX_BUFS pages */
	uint8_t tx_busy[TX_BUFS];
	uint8_t rx_posted[RX_BUFS];
	uint32_t tx_gref[TX_BUFS], rx_gref[RX_BUFS];
	unsigned rx_unposted; /* buffers not posted for want of a grant */
	int rx_skip;          /* inside a frame split over slots: dropping it */
	int tx_open;          /* a buffer was handed out by rt_netdev_tx_buffer */
	unsigned tx_next;
	struct rt_netdev_stats st;
};

static struct rt_netdev *opened[SHOAL_DEVICES_MAX];

static void on_port(unsigned port, void *arg)
{
	(void)port;
	(void)arg; /* rt_block() has returned: the guest's loop polls the rings */
}

static int post_rx(struct rt_netdev *nd, unsigned id)
{
	netif_rx_request_t *rq = RING_GET_REQUEST(&nd->rx, nd->rx.req_prod_pvt);
	uint32_t ref = plat_grant(nd->index, nd->rx_page + (size_t)id * PAGE, 1);

	if (!ref) {
		nd->rx_unposted++;
		return 0;
	}
	rq->id = (uint16_t)id;
	rq->gref = ref;
	nd->rx_gref[id] = ref;
	nd->rx.req_prod_pvt++;
	nd->rx_posted[id] = 1;
	return 1;
}

/* Post again what could not be posted before; how many were. */
static unsigned repost_rx(struct rt_netdev *nd)
{
	unsigned id, n = 0;

	nd->rx_unposted = 0;
	for (id = 0; id < RX_BUFS; id++)
		if (!nd->rx_posted[id])
			n += (unsigned)post_rx(nd, id);
	return n;
}

static void push_rx(struct rt_netdev *nd)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nd->rx, notify);
	if (notify)
		rt_evtchn_notify(nd->dev->port);
}

static void free_all(struct rt_netdev *nd)
{
	unsigned id;

	for (id = 0; id < RX_BUFS; id++)
		if (nd->rx_posted[id])
			plat_grant_end(nd->index, nd->rx_gref[id]);
	rt_free(nd->rings_mem);
	rt_free(nd->tx_mem);
	rt_free(nd->rx_mem);
	rt_free(nd);
}

unsigned rt_netdev_count(void)
{
	return rt__device_count(SHOAL_DEV_NET);
}

const char *rt_netdev_name(unsigned i)
{
	return rt__device_name(SHOAL_DEV_NET, i);
}

int rt_netdev_open(const char *name, struct rt_netdev **out)
{
	const struct shoal_device *d;
	struct rt_netdev *nd;
	uint8_t *rings;
	unsigned n, i;

	d = rt__device_find(SHOAL_DEV_NET, name, &i);
	if (!d)
		return RT_NETDEV_ENOENT;
	if (opened[i]) {
		*out = opened[i];
		return 0;
	}
	nd = rt_calloc(1, sizeof(*nd));
	if (!nd)
		return RT_NETDEV_ENOMEM;
	nd->dev = d;
	nd->index = i;
	rings = rt_pages_alloc(2, &nd->rings_mem);
	/*
	 * The frames' pages are not zeroed: each is written (by the guest to
	 * send, by the host to receive) before it is read, only as far as the
	 * frame goes, and zeroing them was most of the time to the NIC's
	 * connect: 42 ms of an echo guest's 50 ms on the development host,
	 * whose KVM emulates each step of a ring-0 rep stosq (string.c).
	 */
	nd->tx_page = rt__pages_alloc_raw(TX_BUFS, &nd->tx_mem);
	nd->rx_page = rt__pages_alloc_raw(RX_BUFS, &nd->rx_mem);
	if (!rings || !nd->tx_page || !nd->rx_page) {
		free_all(nd);
		return RT_NETDEV_ENOMEM;
	}
	SHARED_RING_INIT((netif_tx_sring_t *)rings);
	SHARED_RING_INIT((netif_rx_sring_t *)(rings + PAGE));
	FRONT_RING_INIT(&nd->tx, (netif_tx_sring_t *)rings, PAGE);
	FRONT_RING_INIT(&nd->rx, (netif_rx_sring_t *)(rings + PAGE), PAGE);
	/* Every receive buffer is posted before the host sees the rings. */
	for (n = 0; n < RX_BUFS; n++)
		post_rx(nd, n);
	RING_PUSH_REQUESTS(&nd->rx);
	if (rt_evtchn_bind(d->port, on_port, nd) < 0 || plat_dev_connect(i, rings) < 0) {
		rt_evtchn_mask(d->port); /* its handler's argument is going */
		free_all(nd);
		return RT_NETDEV_EPROTO;
	}
	opened[i] = nd;
	*out = nd;
	return 0;
}

void rt_netdev_info(const struct rt_netdev *nd, struct rt_netdev_info *info)
{
	info->name = nd->dev->name;
	memcpy(info->mac, nd->dev->u.net.mac, 6);
	info->mtu = nd->dev->u.net.mtu;
	info->ipv4 = nd->dev->u.net.ipv4;
	info->gateway = nd->dev->u.net.gateway;
	info->prefix_len = nd->dev->u.net.prefix_len;
	info->port = nd->dev->port;
	info->tx_tcp_csum = 0;
}

void rt_netdev_stats(const struct rt_netdev *nd, struct rt_netdev_stats *st)
{
	*st = nd->st;
}

/* Take the transmit ring's answers: each frees its buffer. */
static void reap_tx(struct rt_netdev *nd)
{
	int more;

	do {
		RING_IDX prod = nd->tx.sring->rsp_prod;

		xen_rmb();
		if (prod - nd->tx.rsp_cons > nd->tx.req_prod_pvt - nd->tx.rsp_cons) {
			nd->st.stray++;
			return;
		}
		while (nd->tx.rsp_cons != prod) {
			netif_tx_response_t r = *RING_GET_RESPONSE(&nd->tx, nd->tx.rsp_cons);

			nd->tx.rsp_cons++;
			if (r.id >= TX_BUFS || !nd->tx_busy[r.id]) {
				nd->st.stray++;
				continue;
			}
			nd->tx_busy[r.id] = 0;
			plat_grant_end(nd->index, nd->tx_gref[r.id]);
			nd->st.tx_errors += r.status != NETIF_RSP_OKAY;
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&nd->tx, more);
	} while (more);
}

void *rt_netdev_tx_buffer(struct rt_netdev *nd)
{
	unsigned k;

	if (RING_FULL(&nd->tx))
		reap_tx(nd);
	for (k = 0; k < TX_BUFS; k++) {
		unsigned id = (nd->tx_next + k) % TX_BUFS;

		if (!nd->tx_busy[id]) {
			nd->tx_next = id;
			nd->tx_open = 1;
			return nd->tx_page + (size_t)id * PAGE;
		}
	}
	reap_tx(nd);
	return NULL;
}

int rt_netdev_tx_commit(struct rt_netdev *nd, size_t len)
{
	unsigned id = nd->tx_next;
	netif_tx_request_t *rq;
	uint32_t ref;
	int notify;

	if (!nd->tx_open || len < FRAME_MIN || len > (size_t)nd->dev->u.net.mtu + FRAME_VLAN ||
	    len > PAGE)
		return RT_NETDEV_EINVAL;
	nd->tx_open = 0;
	ref = plat_grant(nd->index, nd->tx_page + (size_t)id * PAGE, 0);
	if (!ref) {
		nd->st.tx_errors++;
		return RT_NETDEV_ENOMEM;
	}
	nd->tx_busy[id] = 1;
	nd->tx_gref[id] = ref;
	nd->tx_next = (id + 1) % TX_BUFS;
	rq = RING_GET_REQUEST(&nd->tx, nd->tx.req_prod_pvt);
	rq->gref = ref;
	rq->offset = 0;
	rq->flags = 0;
	rq->id = (uint16_t)id;
	rq->size = (uint16_t)len;
	nd->tx.req_prod_pvt++;
	nd->st.tx_frames++;
	nd->st.tx_bytes += len;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nd->tx, notify);
	if (notify)
		rt_evtchn_notify(nd->dev->port);
	return 0;
}

int rt_netdev_poll(struct rt_netdev *nd, rt_netdev_rx_fn fn, void *arg, unsigned budget)
{
	unsigned done = 0, reposted = 0;
	int more = 0;

	reap_tx(nd);
	do {
		RING_IDX prod = nd->rx.sring->rsp_prod;

		xen_rmb(); /* the answers up to prod are there once prod is seen */
		if (prod - nd->rx.rsp_cons > nd->rx.req_prod_pvt - nd->rx.rsp_cons) {
			nd->st.stray++;
			break;
		}
		while (nd->rx.rsp_cons != prod && done < budget) {
			netif_rx_response_t r = *RING_GET_RESPONSE(&nd->rx, nd->rx.rsp_cons);

			nd->rx.rsp_cons++;
			if (r.id >= RX_BUFS || !nd->rx_posted[r.id]) {
				nd->st.stray++;
				continue;
			}
			nd->rx_posted[r.id] = 0;
			plat_grant_end(nd->index, nd->rx_gref[r.id]);
			if (nd->rx_skip || (r.status >= 0 && (r.flags & NETRXF_more_data))) {
				/* A frame over several slots: none of it is taken. */
				nd->st.rx_errors += !nd->rx_skip;
				nd->rx_skip = r.status >= 0 && (r.flags & NETRXF_more_data);
			} else if (r.status < (int16_t)FRAME_MIN || r.offset >= PAGE ||
			           r.offset + (unsigned)r.status > PAGE) {
				nd->st.rx_errors += r.status < 0;
				nd->st.stray += r.status >= 0;
			} else {
				nd->st.rx_frames++;
				nd->st.rx_bytes += (unsigned)r.status;
				done++;
				fn(arg, nd->rx_page + (size_t)r.id * PAGE + r.offset,
				   (size_t)r.status);
			}
			reposted += (unsigned)post_rx(nd, r.id);
		}
		if (done == budget) {
			more = nd->rx.rsp_cons != nd->rx.sring->rsp_prod;
			break;
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&nd->rx, more);
	} while (more);
	if (nd->rx_unposted)
		reposted += repost_rx(nd);
	if (reposted)
		push_rx(nd);
	return more;
}
