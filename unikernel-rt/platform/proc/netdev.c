/*
 * The network device API on the proc platform: a NIC is a tap
 * (IFF_TAP | IFF_NO_PI, non-blocking) the tender left the guest, one
 * frame per read or write, no rings.  The tap joins what the guest
 * polls when it blocks: a frame waiting makes the NIC's port pending, and
 * the guest's loop takes the frames with rt_netdev_poll().
 */
#include <shoal/netdev.h>

#include "../../core/rt_internal.h"
#include "proc.h"

#define PAGE       4096u
#define FRAME_MIN  14u
#define FRAME_VLAN 18u

struct rt_netdev {
	const struct shoal_device *dev;
	int fd;
	void *mem;
	uint8_t *tx, *rx; /* a page each */
	int tx_open;
	struct rt_netdev_stats st;
	uint64_t *c; /* the host's counters (SHOAL_PROC_STAT_NIC_*) */
};

static struct rt_netdev *opened[SHOAL_DEVICES_MAX];

static void on_port(unsigned port, void *arg)
{
	(void)port;
	(void)arg; /* rt_block() has returned: the guest's loop polls the tap */
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
	unsigned i;

	d = rt__device_find(SHOAL_DEV_NET, name, &i);
	if (!d)
		return RT_NETDEV_ENOENT;
	if (opened[i]) {
		*out = opened[i];
		return 0;
	}
	if (proc__dev_fd(i) < 0)
		return RT_NETDEV_EPROTO;
	nd = rt_calloc(1, sizeof(*nd));
	if (!nd)
		return RT_NETDEV_ENOMEM;
	nd->tx = rt_pages_alloc(2, &nd->mem);
	if (!nd->tx) {
		rt_free(nd);
		return RT_NETDEV_ENOMEM;
	}
	nd->rx = nd->tx + PAGE;
	nd->dev = d;
	nd->fd = proc__dev_fd(i);
	nd->c = proc__dev_counters(i);
	if (rt_evtchn_bind(d->port, on_port, nd) < 0) {
		rt_free(nd->mem);
		rt_free(nd);
		return RT_NETDEV_EPROTO;
	}
	proc__watch_tap(nd->fd, d->port);
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
}

void rt_netdev_stats(const struct rt_netdev *nd, struct rt_netdev_stats *st)
{
	*st = nd->st;
}

/* A frame is written at once: the one buffer is always free again. */
void *rt_netdev_tx_buffer(struct rt_netdev *nd)
{
	nd->tx_open = 1;
	return nd->tx;
}

int rt_netdev_tx_commit(struct rt_netdev *nd, size_t len)
{
	long r;

	if (!nd->tx_open || len < FRAME_MIN || len > (size_t)nd->dev->u.net.mtu + FRAME_VLAN ||
	    len > PAGE) {
		nd->c[SHOAL_PROC_STAT_NIC_TX_ERRORS]++; /* refused, as shoal-vmm refuses it */
		return RT_NETDEV_EINVAL;
	}
	nd->tx_open = 0;
	do
		r = proc_sys3(SYS_write, nd->fd, (long)nd->tx, (long)len);
	while (r == -PROC_EINTR);
	if (r != (long)len) {
		nd->st.tx_errors++; /* the tap's queue is full, or the tap is gone */
		nd->c[SHOAL_PROC_STAT_NIC_TX_DROPPED]++;
		return 0;
	}
	nd->st.tx_frames++;
	nd->st.tx_bytes += len;
	nd->c[SHOAL_PROC_STAT_NIC_TX_PACKETS]++;
	nd->c[SHOAL_PROC_STAT_NIC_TX_BYTES] += len;
	return 0;
}

int rt_netdev_poll(struct rt_netdev *nd, rt_netdev_rx_fn fn, void *arg, unsigned budget)
{
	unsigned done = 0;

	while (done < budget) {
		long r = proc_sys3(SYS_read, nd->fd, (long)nd->rx, PAGE);

		if (r == -PROC_EINTR)
			continue;
		if (r <= 0)
			return 0; /* EAGAIN: the tap is empty; polled again when the guest blocks */
		if (r < (long)FRAME_MIN) {
			nd->st.rx_errors++;
			nd->c[SHOAL_PROC_STAT_NIC_RX_DROPPED]++;
			continue;
		}
		nd->st.rx_frames++;
		nd->st.rx_bytes += (uint64_t)r;
		nd->c[SHOAL_PROC_STAT_NIC_RX_PACKETS]++;
		nd->c[SHOAL_PROC_STAT_NIC_RX_BYTES] += (uint64_t)r;
		done++;
		fn(arg, nd->rx, (size_t)r);
	}
	return 1;
}
