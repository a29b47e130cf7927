/*
 * The loopback interface, lo (127.0.0.1/8): whatever it is asked to send,
 * lwIP's netif_loop_output() queues, and rt_net_poll() hands back in as
 * received.  A network interface in the runtime is a file like this one:
 * an init function for netif_add(), an output function, and an rt_net_*
 * call that adds it once the stack is started.
 */
#include <shoal/net.h>

#include "lwip/ip.h"
#include "lwip/netif.h"

#include "net_internal.h"

static struct netif lo;
static int lo_added;

static err_t lo_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *dest)
{
	(void)dest;
	return netif_loop_output(netif, p);
}

static err_t lo_init(struct netif *netif)
{
	netif->name[0] = 'l';
	netif->name[1] = 'o';
	netif->output = lo_output;
	/* No MTU: nothing is fragmented on lo, and TCP sends TCP_MSS. */
	netif->mtu = 0;
	/* Nothing between the two ends can corrupt a packet. */
	NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_DISABLE_ALL);
	return ERR_OK;
}

int rt_net_loopback_add(void)
{
	ip4_addr_t addr, mask;

	if (!rt_net__started() || lo_added)
		return -1;
	IP4_ADDR(&addr, 127, 0, 0, 1);
	IP4_ADDR(&mask, 255, 0, 0, 0);
	if (!netif_add(&lo, &addr, &mask, NULL, NULL, lo_init, ip_input))
		return -1;
	netif_set_link_up(&lo);
	netif_set_up(&lo);
	lo_added = 1;
	return 0;
}
