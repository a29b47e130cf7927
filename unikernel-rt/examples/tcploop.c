/*
 * tcploop: lwIP inside one guest, over the loopback interface.  A TCP
 * server and a TCP client on 127.0.0.1 (the raw API): the client sends a
 * known pattern in pieces of changing sizes, the server checks every
 * byte; then a UDP datagram goes to an echo server and back and is
 * checked.  Prints what it measured and "tcploop: ok", and exits 0; or
 * names what went wrong and exits non-zero.
 *
 *   tcploop [bytes=N] [timeout_s=N] [flip=OFFSET] [csum=1]
 *     bytes      what TCP carries (default 1048576, 1 MiB)
 *     timeout_s  the guest gives up after this long (default 600)
 *     flip       the client sends the byte at OFFSET altered, so that a
 *                test can see the server's check fail
 *     csum       lo makes and checks checksums, as a device's netif does
 *
 * Exit status: 0 all checked, 1 lwIP refused a call, 2 the data differ,
 * 3 timeout, 4 a bad argument.
 */
#include <shoal/net.h>
#include <shoal/rt.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#define TCP_PORT  7000
#define UDP_PORT  7001
#define UDP_BYTES 1200

static uint64_t total = 1024 * 1024, flip_at = UINT64_MAX;
static uint64_t sent, acked, received, pieces;
static uint64_t t_connect, t_checked, t_udp_sent, t_udp_back;
static int tcp_done, udp_done;
static struct tcp_pcb *server_conn;
static ip4_addr_t lo_addr;

__attribute__((noreturn, format(printf, 2, 3))) static void fail(int code, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt_printf("tcploop: FAIL: %s\n", buf);
	rt_exit(code);
}

/*
 * The byte at offset i of the stream: a multiplicative hash of the offset,
 * so that a piece lost, repeated or put in the wrong place shows.
 */
static inline uint8_t pattern(uint64_t i)
{
	return (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
}

/* ---- The server: checks every byte, in whatever pieces they come ---- */

static err_t server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct pbuf *q;

	(void)arg;
	if (err != ERR_OK)
		fail(1, "server: receive error %d", err);
	if (!p) {
		/* The client closed: everything must be there. */
		if (received != total)
			fail(2, "server: the client closed after %lu of %lu bytes",
			     (unsigned long)received, (unsigned long)total);
		tcp_recv(pcb, NULL);
		if (tcp_close(pcb) != ERR_OK)
			fail(1, "server: tcp_close failed");
		server_conn = NULL;
		tcp_done = 1;
		return ERR_OK;
	}
	if (received + p->tot_len > total)
		fail(2, "server: %lu bytes received, more than the %lu sent",
		     (unsigned long)(received + p->tot_len), (unsigned long)total);
	for (q = p; q; q = q->next) {
		const uint8_t *b = q->payload;
		u16_t i;

		for (i = 0; i < q->len; i++)
			if (b[i] != pattern(received + i))
				fail(2, "server: byte %lu is 0x%02x, expected 0x%02x",
				     (unsigned long)(received + i), b[i], pattern(received + i));
		received += q->len;
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	if (received == total)
		t_checked = rt_clock_ns();
	return ERR_OK;
}

static void server_err(void *arg, err_t err)
{
	(void)arg;
	fail(1, "server: connection lost (lwIP error %d) after %lu bytes", err,
	     (unsigned long)received);
}

static err_t server_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		fail(1, "server: accept error %d", err);
	if (server_conn)
		fail(1, "server: a second connection");
	server_conn = pcb;
	tcp_recv(pcb, server_recv);
	tcp_err(pcb, server_err);
	return ERR_OK;
}

/* ---- The client: the pattern in pieces of changing sizes ---- */

static void client_send(struct tcp_pcb *pcb)
{
	static const u16_t sizes[] = { 1, 1000, 1460, 4096, 77, 2920, 8000, 536, 3 };
	static uint8_t buf[8000];

	while (sent < total && tcp_sndqueuelen(pcb) < TCP_SND_QUEUELEN - 4) {
		uint64_t n = sizes[pieces % (sizeof(sizes) / sizeof(sizes[0]))];
		uint64_t j;
		err_t r;

		if (n > total - sent)
			n = total - sent;
		if (n > tcp_sndbuf(pcb))
			n = tcp_sndbuf(pcb);
		if (n == 0)
			break;
		for (j = 0; j < n; j++)
			buf[j] = pattern(sent + j);
		if (flip_at >= sent && flip_at < sent + n)
			buf[flip_at - sent] ^= 0x5a;
		r = tcp_write(pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
		if (r == ERR_MEM)
			break;
		if (r != ERR_OK)
			fail(1, "client: tcp_write of %lu bytes: error %d", (unsigned long)n, r);
		sent += n;
		pieces++;
	}
	if (tcp_output(pcb) != ERR_OK)
		fail(1, "client: tcp_output failed");
}

static err_t client_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg;
	acked += len;
	if (acked < total) {
		client_send(pcb);
		return ERR_OK;
	}
	/* All of it acknowledged: close; the server checks it had it all. */
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (tcp_close(pcb) != ERR_OK)
		fail(1, "client: tcp_close failed");
	return ERR_OK;
}

static void client_err(void *arg, err_t err)
{
	(void)arg;
	fail(1, "client: connection lost (lwIP error %d) after %lu bytes sent", err,
	     (unsigned long)sent);
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK)
		fail(1, "client: connect error %d", err);
	tcp_nagle_disable(pcb);
	tcp_sent(pcb, client_sent);
	client_send(pcb);
	return ERR_OK;
}

static void tcp_start(void)
{
	struct tcp_pcb *listener, *client;

	listener = tcp_new();
	if (!listener || tcp_bind(listener, &lo_addr, TCP_PORT) != ERR_OK)
		fail(1, "server: cannot bind 127.0.0.1:%d", TCP_PORT);
	listener = tcp_listen_with_backlog(listener, 1);
	if (!listener)
		fail(1, "server: tcp_listen failed");
	tcp_accept(listener, server_accept);

	client = tcp_new();
	if (!client)
		fail(1, "client: tcp_new failed");
	tcp_err(client, client_err);
	t_connect = rt_clock_ns();
	if (tcp_connect(client, &lo_addr, TCP_PORT, client_connected) != ERR_OK)
		fail(1, "client: tcp_connect failed");
}

/* ---- UDP: one datagram to an echo server and back ---- */

static void udp_echo(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                     u16_t port)
{
	(void)arg;
	if (udp_sendto(pcb, p, addr, port) != ERR_OK)
		fail(1, "udp echo: udp_sendto failed");
	pbuf_free(p);
}

static void udp_reply(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                      u16_t port)
{
	uint8_t got[UDP_BYTES];
	u16_t i;

	(void)arg;
	(void)addr;
	if (port != UDP_PORT)
		fail(2, "udp: the reply came from port %u, not %u", port, UDP_PORT);
	if (p->tot_len != UDP_BYTES)
		fail(2, "udp: the reply has %u bytes, not %u", p->tot_len, UDP_BYTES);
	pbuf_copy_partial(p, got, UDP_BYTES, 0);
	for (i = 0; i < UDP_BYTES; i++)
		if (got[i] != pattern(i + 7))
			fail(2, "udp: reply byte %u is 0x%02x, expected 0x%02x", i, got[i],
			     pattern(i + 7));
	pbuf_free(p);
	udp_remove(pcb);
	t_udp_back = rt_clock_ns();
	udp_done = 1;
}

static void udp_start(void)
{
	struct udp_pcb *echo = udp_new(), *client = udp_new();
	struct pbuf *p;
	u16_t i;

	if (!echo || !client || udp_bind(echo, &lo_addr, UDP_PORT) != ERR_OK ||
	    udp_bind(client, &lo_addr, 0) != ERR_OK)
		fail(1, "udp: cannot bind on 127.0.0.1");
	udp_recv(echo, udp_echo, NULL);
	udp_recv(client, udp_reply, NULL);
	p = pbuf_alloc(PBUF_TRANSPORT, UDP_BYTES, PBUF_RAM);
	if (!p)
		fail(1, "udp: pbuf_alloc failed");
	for (i = 0; i < UDP_BYTES; i++)
		((uint8_t *)p->payload)[i] = pattern(i + 7);
	t_udp_sent = rt_clock_ns();
	if (udp_sendto(client, p, &lo_addr, UDP_PORT) != ERR_OK)
		fail(1, "udp: udp_sendto failed");
	pbuf_free(p);
}

/* ---- Arguments, the loop, the report ---- */

/* If arg is KEY=DIGITS, its value into *v; 0 when arg is not about key. */
static int arg_value(const char *arg, const char *key, uint64_t *v)
{
	int r = rt_arg_u64(arg, key, v);

	if (r < 0)
		fail(4, "bad value in %s", arg);
	return r;
}

int main(int argc, char **argv)
{
	uint64_t timeout_s = 600, end, t0, ms, kib_s;
	struct rt_net_stats st;
	int csum = 0, i;

	for (i = 1; i < argc; i++) {
		uint64_t v;

		if (arg_value(argv[i], "bytes", &total) ||
		    arg_value(argv[i], "timeout_s", &timeout_s) ||
		    arg_value(argv[i], "flip", &flip_at))
			continue;
		if (arg_value(argv[i], "csum", &v))
			csum = v != 0;
		else
			fail(4, "unknown argument %s (bytes=N timeout_s=N flip=OFFSET csum=1)",
			     argv[i]);
	}
	if (total == 0 || total > ((uint64_t)1 << 32))
		fail(4, "bytes=%lu: from 1 to 4 GiB", (unsigned long)total);

	t0 = rt_clock_ns();
	end = t0 + timeout_s * 1000000000ull;
	if (rt_net_init() < 0 || rt_net_loopback_add() < 0)
		fail(1, "the network stack did not start");
	if (csum)
		NETIF_SET_CHECKSUM_CTRL(netif_find("lo0"), NETIF_CHECKSUM_ENABLE_ALL);
	IP4_ADDR(&lo_addr, 127, 0, 0, 1);
	tcp_start();

	while (!udp_done) {
		uint64_t deadline = rt_net_poll();

		if (tcp_done && !t_udp_sent) {
			udp_start();
			continue;
		}
		if (udp_done)
			break;
		if (rt_clock_ns() >= end)
			fail(3, "timed out after %lu s: %lu of %lu bytes sent, %lu checked%s",
			     (unsigned long)timeout_s, (unsigned long)sent, (unsigned long)total,
			     (unsigned long)received,
			     tcp_done ? "; the UDP reply did not come" : "");
		if (deadline > end)
			deadline = end;
		if (rt_block(deadline))
			rt_evtchn_dispatch();
	}

	rt_net_get_stats(&st);
	ms = (t_checked - t_connect) / 1000000;
	kib_s =
	    (t_checked - t_connect) ? total * 1000000000ull / 1024 / (t_checked - t_connect) : 0;
	rt_printf("tcploop: tcp %lu bytes over 127.0.0.1 in %lu pieces, every byte checked, "
	          "in %lu ms (%lu KiB/s; checksums %s)\n",
	          (unsigned long)total, (unsigned long)pieces, (unsigned long)ms,
	          (unsigned long)kib_s, csum ? "on" : "off");
	rt_printf("tcploop: udp %u-byte datagram echoed and checked in %lu us\n", UDP_BYTES,
	          (unsigned long)((t_udp_back - t_udp_sent) / 1000));
	rt_printf("tcploop: lwIP timers ran %lu times in %lu polls; %lu ms in all\n",
	          (unsigned long)st.timer_runs, (unsigned long)st.polls,
	          (unsigned long)((rt_clock_ns() - t0) / 1000000));
	rt_puts("tcploop: ok\n");
	return 0;
}
