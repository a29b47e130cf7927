/*
 * Network devices: the NICs the host gave this guest, each by the name
 * the operator gave it ("lan").  One front-end for every platform, on
 * Xen's netif rings (a transmit and a receive ring) with their event
 * suppression; the doorbell is an event port, so waiting for a frame is
 * waiting in rt_block() like for anything else.  This is the frame layer
 * only: whole Ethernet frames in and out.  A TCP/IP stack sits on it
 * (shoal/net.h's rt_net_device_add()).
 *
 * What the host writes into the rings is checked: an answer for a buffer
 * that is not posted, or a frame that does not fit its page, is counted
 * and dropped.
 */
#ifndef SHOAL_NETDEV_H
#define SHOAL_NETDEV_H

#include <stddef.h>
#include <stdint.h>

#define RT_NETDEV_ENOENT (-2)  /* no NIC of that name */
#define RT_NETDEV_ENOMEM (-12) /* no memory for the rings or the buffers */
#define RT_NETDEV_EBUSY  (-16) /* every transmit buffer is in flight */
#define RT_NETDEV_EINVAL (-22) /* a frame shorter than a header or longer than the MTU */
#define RT_NETDEV_EPROTO (-71) /* the host would not connect the rings */

struct rt_netdev;

struct rt_netdev_info {
	const char *name;
	uint8_t mac[6];
	uint16_t mtu;       /* of the IP packets; frames add 14 bytes (18 with a VLAN tag) */
	uint32_t ipv4;      /* network order, as the host configured it; 0: none */
	uint32_t gateway;   /* network order; 0: none */
	uint8_t prefix_len; /* of ipv4 */
	unsigned port;      /* its event port (bound by rt_netdev_open) */
	/*
	 * The host sums what the guest sends: an IPv4 TCP segment may go
	 * with its checksum 0 (the proc platform's tap with a virtio_net_hdr).
	 */
	int tx_tcp_csum;
};

struct rt_netdev_stats {
	uint64_t tx_frames, tx_bytes, tx_errors; /* errors: frames the host refused */
	uint64_t rx_frames, rx_bytes, rx_errors; /* errors: the host's error statuses */
	uint64_t stray;                          /* host answers that matched nothing posted */
};

/*
 * Open the NIC called name: connects its rings the first time and posts
 * its receive buffers (later opens return the same handle).  0 with
 * *out, or RT_NETDEV_ENOENT, RT_NETDEV_ENOMEM, RT_NETDEV_EPROTO.
 */
int rt_netdev_open(const char *name, struct rt_netdev **out);
/* How many NICs this guest has, and the name of NIC i (NULL past the end). */
unsigned rt_netdev_count(void);
const char *rt_netdev_name(unsigned i);
void rt_netdev_info(const struct rt_netdev *nd, struct rt_netdev_info *info);
void rt_netdev_stats(const struct rt_netdev *nd, struct rt_netdev_stats *st);

/*
 * Send one frame in two steps, without a copy of the caller's: take the
 * next transmit buffer (a page; NULL while all are in flight), write the
 * frame into it, and hand it over with its length.  Between the two no
 * other call here may be made.  rt_netdev_tx_commit returns 0, or
 * RT_NETDEV_EINVAL for a length out of range (the buffer is kept), or
 * RT_NETDEV_ENOMEM when the platform has no grant reference left (the
 * frame is dropped).
 */
void *rt_netdev_tx_buffer(struct rt_netdev *nd);
int rt_netdev_tx_commit(struct rt_netdev *nd, size_t len);

/*
 * Take up to budget received frames: fn(arg, frame, len) for each, the
 * frame valid only during the call; its buffer is posted again after.
 * Also takes the transmit ring's answers.  Returns 1 when frames remain
 * past the budget (call again without waiting), else 0: the host rings
 * the doorbell for the next one.
 */
typedef void (*rt_netdev_rx_fn)(void *arg, const void *frame, size_t len);
int rt_netdev_poll(struct rt_netdev *nd, rt_netdev_rx_fn fn, void *arg, unsigned budget);

#endif /* SHOAL_NETDEV_H */
