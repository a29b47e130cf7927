/*
 * echo: the echo service (RFC 862) on port 7 over a network device, UDP
 * and TCP, with lwIP.  Prints "echo: ready on NIC A.B.C.D" once it
 * listens, and its counters when it ends: after idle_s seconds without
 * a frame, or never.  lwIP answers pings and ARP on its own.
 *
 *   echo NIC [idle_s=N] [peer=A.B.C.D] [nic_delay_ms=N]
 *     NIC     the device's name (shoal-vmm --net NIC:TAP)
 *     idle_s  end after this many seconds with no frame in or out
 *             (default 0: never)
 *     nic_delay_ms  bring the NIC up only this long after the start, as
 *             a guest that reads its configuration first would (its
 *             probes are answered meanwhile; for tests of who waits for
 *             the NIC)
 *     peer    another echo service to reach: a datagram to its port 7
 *             each second until it comes back, then "echo: peer
 *             A.B.C.D answered" (for tests of guests on one bridge)
 *
 * Exit status: 0 ended idle, 1 lwIP or the device refused, 4 a bad argument.
 */
#include <shoal/net.h>
#include <shoal/netdev.h>
#include <shoal/rt.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#define ECHO_PORT 7

static uint64_t udp_datagrams, udp_bytes, tcp_conns, tcp_bytes;

__attribute__((noreturn, format(printf, 2, 3))) static void fail(int code, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt_printf("echo: FAIL: %s\n", buf);
	rt_exit(code);
}

/* ---- UDP: each datagram back to where it came from ---- */

static void udp_echo(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                     u16_t port)
{
	(void)arg;
	udp_datagrams++;
	udp_bytes += p->tot_len;
	udp_sendto(pcb, p, addr, port);
	pbuf_free(p);
}

/*
 * ---- TCP: what comes in goes back out, as the send buffer allows ----
 *
 * What does not fit the send buffer waits in the connection's queue and
 * goes when the peer acknowledges (the sent callback); the receive
 * window is opened (tcp_recved) only for what was sent on, so a peer
 * that does not read its echo is slowed down, not dropped.
 */
struct conn {
	struct pbuf *queue; /* received, not yet written back */
	int peer_closed;    /* close once the queue is written back */
};

static err_t conn_close(struct tcp_pcb *pcb, struct conn *c)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (c) {
		if (c->queue)
			pbuf_free(c->queue);
		rt_free(c);
	}
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	return ERR_OK;
}

/* Write back as much of the queue as the send buffer takes. */
static void drain(struct tcp_pcb *pcb, struct conn *c)
{
	u16_t sent = 0;

	while (c->queue) {
		u16_t room = tcp_sndbuf(pcb), n = c->queue->len;

		if (n > room)
			n = room;
		if (n == 0 || tcp_write(pcb, c->queue->payload, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		c->queue = pbuf_free_header(c->queue, n);
		sent += n;
	}
	if (sent) {
		tcp_output(pcb);
		tcp_recved(pcb, sent);
		tcp_bytes += sent;
	}
}

static err_t tcp_echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;

	if (err != ERR_OK) {
		if (p)
			pbuf_free(p);
		return conn_close(pcb, c);
	}
	if (!p) {
		/*
		 * The peer is done sending: close once all of it is echoed.
		 * Closing with received data not yet taken would send a reset.
		 */
		c->peer_closed = 1;
		return c->queue ? ERR_OK : conn_close(pcb, c);
	}
	if (c->queue)
		pbuf_cat(c->queue, p);
	else
		c->queue = p;
	drain(pcb, c);
	return ERR_OK;
}

static err_t tcp_echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;

	(void)len;
	drain(pcb, c);
	if (c->peer_closed && !c->queue)
		return conn_close(pcb, c);
	return ERR_OK;
}

static void tcp_echo_err(void *arg, err_t err)
{
	struct conn *c = arg;

	(void)err; /* the pcb is gone; what was queued for it goes too */
	if (c) {
		if (c->queue)
			pbuf_free(c->queue);
		rt_free(c);
	}
}

static err_t tcp_echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct conn *c;

	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	c = rt_calloc(1, sizeof(*c));
	if (!c)
		return ERR_MEM;
	tcp_conns++;
	tcp_nagle_disable(pcb);
	tcp_arg(pcb, c);
	tcp_recv(pcb, tcp_echo_recv);
	tcp_sent(pcb, tcp_echo_sent);
	tcp_err(pcb, tcp_echo_err);
	return ERR_OK;
}

/* ---- the peer: a datagram each second until its echo comes back ---- */

static ip_addr_t peer_addr;
static int peer_answered;

static void peer_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                      u16_t port)
{
	(void)arg;
	(void)pcb;
	if (!peer_answered && port == ECHO_PORT && ip_addr_cmp(addr, &peer_addr) &&
	    p->tot_len == 9 && pbuf_memcmp(p, 0, "echo peer", 9) == 0) {
		peer_answered = 1;
		rt_printf("echo: peer %s answered\n", ipaddr_ntoa(&peer_addr));
	}
	pbuf_free(p);
}

static void peer_send(struct udp_pcb *pcb)
{
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, 9, PBUF_RAM);

	if (!p)
		return;
	pbuf_take(p, "echo peer", 9);
	udp_sendto(pcb, p, &peer_addr, ECHO_PORT);
	pbuf_free(p);
}

/* "peer=A.B.C.D": 1 and the address, 0 for another argument; fails on a bad address. */
static int arg_peer(const char *arg)
{
	if (strncmp(arg, "peer=", 5))
		return 0;
	if (!ipaddr_aton(arg + 5, &peer_addr) || !IP_IS_V4(&peer_addr))
		fail(4, "bad address in %s", arg);
	return 1;
}

static int arg_value(const char *arg, const char *key, uint64_t *v)
{
	int r = rt_arg_u64(arg, key, v);

	if (r < 0)
		fail(4, "bad value in %s", arg);
	return r;
}

int main(int argc, char **argv)
{
	uint64_t idle_s = 0, last_frames = 0, last_ns, peer_next = 0, nic_delay_ms = 0;
	struct rt_netdev_stats st;
	struct rt_netdev_info info;
	struct rt_netdev *nd;
	struct udp_pcb *u, *pu = NULL;
	int has_peer = 0;
	struct tcp_pcb *t, *l;
	int i, r;

	if (argc < 2)
		fail(4, "usage: echo NIC [idle_s=N] [peer=A.B.C.D] [nic_delay_ms=N]");
	for (i = 2; i < argc; i++) {
		if (arg_peer(argv[i])) {
			has_peer = 1;
			continue;
		}
		if (!arg_value(argv[i], "idle_s", &idle_s) &&
		    !arg_value(argv[i], "nic_delay_ms", &nic_delay_ms))
			fail(4, "unknown argument %s (idle_s=N, peer=A.B.C.D, nic_delay_ms=N)",
			     argv[i]);
	}
	if (rt_net_init() < 0)
		fail(1, "the network stack did not start");
	if (nic_delay_ms) {
		uint64_t until = rt_clock_ns() + nic_delay_ms * 1000000ull;

		while (rt_clock_ns() < until)
			if (rt_block(until))
				rt_evtchn_dispatch();
	}
	r = rt_net_device_add(argv[1]);
	if (r < 0)
		fail(1, "NIC %s: cannot add it (%d)", argv[1], r);
	if (rt_netdev_open(argv[1], &nd) < 0)
		fail(1, "NIC %s: cannot open it", argv[1]);
	rt_netdev_info(nd, &info);

	u = udp_new();
	if (!u || udp_bind(u, IP_ANY_TYPE, ECHO_PORT) != ERR_OK)
		fail(1, "udp port %d: cannot bind", ECHO_PORT);
	udp_recv(u, udp_echo, NULL);
	t = tcp_new();
	if (!t || tcp_bind(t, IP_ANY_TYPE, ECHO_PORT) != ERR_OK)
		fail(1, "tcp port %d: cannot bind", ECHO_PORT);
	l = tcp_listen(t);
	if (!l)
		fail(1, "tcp port %d: cannot listen", ECHO_PORT);
	tcp_accept(l, tcp_echo_accept);
	if (has_peer) {
		pu = udp_new();
		if (!pu || udp_bind(pu, IP_ANY_TYPE, 0) != ERR_OK)
			fail(1, "udp: cannot bind a port for the peer");
		udp_recv(pu, peer_recv, NULL);
	}
	rt_printf("echo: ready on %s %u.%u.%u.%u/%u mac %02x:%02x:%02x:%02x:%02x:%02x\n", info.name,
	          info.ipv4 & 0xff, (info.ipv4 >> 8) & 0xff, (info.ipv4 >> 16) & 0xff,
	          info.ipv4 >> 24, info.prefix_len, info.mac[0], info.mac[1], info.mac[2],
	          info.mac[3], info.mac[4], info.mac[5]);

	last_ns = rt_clock_ns();
	for (;;) {
		uint64_t deadline = rt_net_poll(), now = rt_clock_ns();

		if (pu && !peer_answered && now >= peer_next) {
			peer_send(pu);
			peer_next = now + 1000000000ull;
		}
		if (pu && !peer_answered && deadline > peer_next)
			deadline = peer_next;

		rt_netdev_stats(nd, &st);
		if (st.rx_frames + st.tx_frames != last_frames) {
			last_frames = st.rx_frames + st.tx_frames;
			last_ns = now;
		}
		if (idle_s) {
			uint64_t end = last_ns + idle_s * 1000000000ull;

			if (now >= end)
				break;
			if (deadline > end)
				deadline = end;
		}
		if (rt_block(deadline))
			rt_evtchn_dispatch();
	}
	rt_printf("echo: udp %lu datagrams %lu bytes, tcp %lu connections %lu bytes; "
	          "frames rx %lu tx %lu, errors rx %lu tx %lu, stray %lu\n",
	          (unsigned long)udp_datagrams, (unsigned long)udp_bytes, (unsigned long)tcp_conns,
	          (unsigned long)tcp_bytes, (unsigned long)st.rx_frames,
	          (unsigned long)st.tx_frames, (unsigned long)st.rx_errors,
	          (unsigned long)st.tx_errors, (unsigned long)st.stray);
	rt_printf("echo: idle for %lu s, ending\n", (unsigned long)idle_s);
	return 0;
}
