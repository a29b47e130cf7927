/*
 * A network device as an lwIP netif, beside lo (loopif.c): Ethernet with
 * ARP, the MAC, MTU, address, prefix and gateway the host gave the device
 * (shoal/netdev.h).  Frames go out through the device's transmit buffers
 * and come in from rt_net_poll(), a bounded batch at a time, so that a
 * flood of frames cannot keep the guest's loop from its other events.
 */
#include <shoal/net.h>
#include <shoal/netdev.h>
#include <shoal/rt.h>

#include "lwip/etharp.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "net_internal.h"

#define DEVIFS_MAX  4
#define POLL_BUDGET 16 /* frames handed in per rt_net_poll() and device */

struct devif {
	struct netif netif;
	struct rt_netdev *nd;
	uint64_t rx_nomem; /* frames dropped: no pbuf for them */
};

static struct devif devifs[DEVIFS_MAX];
static unsigned ndevifs;

static err_t devif_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct devif *d = netif->state;
	void *buf = rt_netdev_tx_buffer(d->nd);

	if (!buf)
		return ERR_MEM; /* every buffer in flight: lwIP's callers retry (TCP) or drop */
	if (p->tot_len > 4096 || pbuf_copy_partial(p, buf, p->tot_len, 0) != p->tot_len)
		return ERR_BUF;
	return rt_netdev_tx_commit(d->nd, p->tot_len) == 0 ? ERR_OK : ERR_BUF;
}

static err_t devif_init(struct netif *netif)
{
	struct devif *d = netif->state;
	struct rt_netdev_info info;

	rt_netdev_info(d->nd, &info);
	netif->name[0] = 'e';
	netif->name[1] = 'n';
	netif->output = etharp_output;
	netif->linkoutput = devif_linkoutput;
	netif->mtu = info.mtu;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	MEMCPY(netif->hwaddr, info.mac, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	/* The host sums TCP segments: lwIP leaves the checksum to it (a fifth of a 64 KiB
	 * response's work). */
	if (info.tx_tcp_csum)
		NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP);
	return ERR_OK;
}

static void devif_input(void *arg, const void *frame, size_t len)
{
	struct devif *d = arg;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);

	if (!p) {
		d->rx_nomem++;
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	if (d->netif.input(p, &d->netif) != ERR_OK)
		pbuf_free(p);
}

int rt_net__devs_poll(void)
{
	unsigned i;
	int more = 0;

	for (i = 0; i < ndevifs; i++)
		more |= rt_netdev_poll(devifs[i].nd, devif_input, &devifs[i], POLL_BUDGET);
	return more;
}

int rt_net_device_add(const char *name)
{
	struct rt_netdev_info info;
	struct devif *d;
	ip4_addr_t addr, mask, gw;
	unsigned i;

	if (!rt_net__started())
		return RT_NET_ESTATE;
	for (i = 0; i < ndevifs; i++) {
		rt_netdev_info(devifs[i].nd, &info);
		if (!strcmp(info.name, name))
			return RT_NET_ESTATE;
	}
	if (ndevifs == DEVIFS_MAX)
		return RT_NET_ENOMEM;
	d = &devifs[ndevifs];
	i = (unsigned)rt_netdev_open(name, &d->nd);
	if ((int)i < 0)
		return (int)i;
	rt_netdev_info(d->nd, &info);
	ip4_addr_set_u32(&addr, info.ipv4);
	ip4_addr_set_u32(&mask, info.prefix_len ? lwip_htonl(~0u << (32 - info.prefix_len)) : 0);
	ip4_addr_set_u32(&gw, info.gateway);
	if (!netif_add(&d->netif, &addr, &mask, &gw, d, devif_init, ethernet_input))
		return RT_NET_ENOMEM;
	ndevifs++;
	if (info.gateway)
		netif_set_default(&d->netif);
	netif_set_link_up(&d->netif);
	netif_set_up(&d->netif);
	return 0;
}
