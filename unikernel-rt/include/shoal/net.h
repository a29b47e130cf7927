/*
 * unikernel-rt's TCP/IP stack: lwIP, built without an OS (NO_SYS=1) and
 * used through its raw, callback API (lwip/tcp.h, lwip/udp.h).  This
 * header is the runtime's side: starting the stack, its network
 * interfaces, and the one call that keeps it going from the guest's loop.
 * Guests that use it link unikernel-rt/libshoalnet-PLATFORM.a and
 * liblwip-PLATFORM.a beside the runtime.
 *
 * lwIP is not reentrant and here nothing needs it to be: the guest is one
 * thread, and lwIP's callbacks run inside rt_net_poll() or inside the
 * lwIP calls the guest makes, never from an interrupt.
 *
 * A guest's loop, waiting for everything (its events, lwIP's timers,
 * queued packets) in one rt_block():
 *
 *	rt_net_init();
 *	rt_net_loopback_add();
 *	rt_net_device_add("lan");
 *	... tcp_new(), tcp_bind(), tcp_listen(), udp_new() ...
 *	for (;;) {
 *		uint64_t deadline = rt_net_poll();
 *
 *		if (rt_block(deadline))
 *			rt_evtchn_dispatch();
 *	}
 */
#ifndef SHOAL_NET_H
#define SHOAL_NET_H

#include <stdint.h>

/*
 * Start lwIP: its memory pools, protocols and timers, and the seed of the
 * random numbers it draws local ports and TCP sequence numbers from (the
 * clocks mixed with the guest's name).  Call once, before any other call
 * here or into lwIP.  Returns 0, or -1 when it was called before.
 */
int rt_net_init(void);

/*
 * Add the loopback interface "lo", 127.0.0.1/8, up: what is sent to a
 * 127.x.x.x address comes back in through rt_net_poll().  It does not make
 * or check checksums (nothing on the way can corrupt a packet).  Call
 * after rt_net_init(), once.  Returns 0, or -1 when the stack is not
 * started or lo is there already.
 */
int rt_net_loopback_add(void);

#define RT_NET_ESTATE (-1)  /* the stack is not started, or the NIC is added already */
#define RT_NET_ENOMEM (-12) /* more than 4 NICs, or no memory for one */
/* (and the RT_NETDEV_E* codes of shoal/netdev.h) */

/*
 * Add the network device called name (shoal/netdev.h) as an interface,
 * up, with the MAC, MTU, IPv4 address and prefix and the gateway that
 * the host gave it in the device table; with a gateway it becomes the
 * default route.  Its receive buffers are posted now; its frames are
 * handed to lwIP by rt_net_poll(), and its doorbell wakes rt_block().
 * Call after rt_net_init(), once per NIC.  Returns 0, RT_NET_ESTATE,
 * RT_NET_ENOMEM, or an RT_NETDEV_E* code of rt_netdev_open().
 */
int rt_net_device_add(const char *name);

/*
 * Run the stack's pending work: hand lwIP the packets that were queued on
 * every interface's loopback path when the call began (its callbacks run
 * here; what they queue waits for the next call), a batch of each
 * device's received frames, then run lwIP's timers that are due.  Returns
 * the monotonic time (rt_clock_ns()) by which it must be called again: 0
 * when packets are queued already or frames wait past the batch, RT_FOREVER
 * when no timer is set.  Call it after anything that may have given lwIP
 * work: every rt_evtchn_dispatch(), every lwIP call of the guest's own.
 */
uint64_t rt_net_poll(void);

/* What rt_net_poll() has done since rt_net_init(). */
struct rt_net_stats {
	uint64_t polls;      /* calls of rt_net_poll() */
	uint64_t timer_runs; /* of those, the ones in which lwIP timers were due and ran */
};
void rt_net_get_stats(struct rt_net_stats *st);

#endif /* SHOAL_NET_H */
