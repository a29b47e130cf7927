/*
 * The runtime's side of lwIP: its clock (sys_now), its random numbers,
 * and rt_net_poll(), which runs lwIP's work from the guest's loop and says
 * when it next has some.  It knows no network interface by name: each
 * lives in a file of its own (loopif.c, devif.c) and is found
 * through lwIP's list of netifs.
 */
#include <shoal/net.h>
#include <shoal/rt.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

#include "lwip_hooks.h"
#include "net_internal.h"

static int started;
static uint64_t rand_state, isn_key;
static struct rt_net_stats stats;

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * The seed: both clocks (the wall clock differs from boot to boot, the
 * monotonic one by how long the boot took) and the guest's name, so that
 * guests started in the same nanosecond still differ.  Not a secret an
 * attacker who knows the name and the boot time to the microsecond could
 * not narrow down; good enough that ports and ISNs are not the same at
 * every boot, as a fixed seed would make them.
 */
static uint64_t seed(void)
{
	const char *name = rt_guest_name();
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the name */

	for (; name && *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return mix(h ^ mix(rt_wallclock_ns()) ^ mix(rt_clock_ns() + 0x9e3779b97f4a7c15ull));
}

uint32_t rt_net__rand(void)
{
	rand_state += 0x9e3779b97f4a7c15ull;
	return (uint32_t)(mix(rand_state ^ rt_clock_ns()) >> 32);
}

u32_t rt_net__tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
                      u16_t remote_port)
{
	uint64_t addrs = (uint64_t)ip4_addr_get_u32(ip_2_ip4(local_ip)) << 32 |
	                 ip4_addr_get_u32(ip_2_ip4(remote_ip));
	uint64_t ports = (uint64_t)local_port << 16 | remote_port;

	return (u32_t)(rt_clock_ns() / 4000) + (u32_t)mix(mix(isn_key ^ addrs) ^ ports);
}

/* lwIP's clock: milliseconds, wrapping after 49 days, which lwIP allows for. */
u32_t sys_now(void)
{
	return (u32_t)(rt_clock_ns() / 1000000);
}

int rt_net__started(void)
{
	return started;
}

int rt_net_init(void)
{
	if (started)
		return -1;
	rand_state = seed();
	isn_key = mix(rand_state ^ 0x6a09e667f3bcc908ull);
	/* lwip_init() draws the first local ports: the seed comes first. */
	lwip_init();
	started = 1;
	return 0;
}

/*
 * lwIP's netif_poll() hands in packets until the queue is empty, the ones
 * its own callbacks queue meanwhile included: two ends talking over lo
 * would keep it, and the guest's events, busy until they stop.  Here one
 * call hands in only what was queued when it began; what that queues
 * waits for the next rt_net_poll(), after the guest's loop has looked at
 * its events.
 *
 * The queue is lwIP's: packets in a row from netif->loop_first to
 * loop_last, each one a chain of pbufs whose last has len == tot_len.
 * Every packet on it is an IP packet, whatever the netif's link layer.
 */
#if LWIP_LOOPBACK_MAX_PBUFS
#error "loop_deliver() keeps no count of queued pbufs: LWIP_LOOPBACK_MAX_PBUFS must be 0"
#endif

static void loop_deliver(struct netif *n)
{
	struct pbuf *stop = n->loop_last;

	while (n->loop_first) {
		struct pbuf *p = n->loop_first, *end = p;
		int was_stop;

		while (end->len != end->tot_len)
			end = end->next;
		was_stop = end == stop;
		if (end == n->loop_last)
			n->loop_first = n->loop_last = NULL;
		else
			n->loop_first = end->next;
		end->next = NULL;
		p->if_idx = netif_get_index(n);
		if (ip_input(p, n) != ERR_OK)
			pbuf_free(p);
		if (was_stop)
			break;
	}
}

uint64_t rt_net_poll(void)
{
	struct netif *n;
	u32_t sleep_ms;
	int queued = 0;

	if (!started)
		return RT_FOREVER;
	stats.polls++;
	NETIF_FOREACH(n)
	{
		loop_deliver(n);
	}
	queued = rt_net__devs_poll();
	if (sys_timeouts_sleeptime() == 0) {
		stats.timer_runs++;
		sys_check_timeouts();
	}
	NETIF_FOREACH(n)
	{
		queued |= n->loop_first != NULL;
	}
	if (queued)
		return 0;
	sleep_ms = sys_timeouts_sleeptime();
	if (sleep_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
		return RT_FOREVER;
	/*
	 * Read after sys_now() was, inside sys_timeouts_sleeptime(): the
	 * deadline is never before the millisecond the timer is due in.
	 */
	return rt_clock_ns() + (uint64_t)sleep_ms * 1000000;
}

void rt_net_get_stats(struct rt_net_stats *st)
{
	*st = stats;
}
