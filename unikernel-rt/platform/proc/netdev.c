/*
 * The network device API on the proc platform: a NIC is a tap
 * (IFF_TAP | IFF_NO_PI, non-blocking) the tender left the guest, one
 * frame per read or write, no rings.  The tap joins what the guest
 * polls when it blocks: a frame waiting makes the NIC's port pending, and
 * the guest's loop takes the frames with rt_netdev_poll().
 *
 * A tap with a virtio_net_hdr (SHOAL_DEV_VNET_HDR, as shoald makes them)
 * takes a TCP segment of up to 64 KiB in one write, for the host's
 * kernel to cut into frames (GSO) or, to a socket on this host, to take
 * whole: lwIP's back-to-back data segments of one connection are joined
 * here until one that does not continue them, a frame of another kind,
 * or the guest's next look at its events (proc__netdev_flush), so that a
 * 64 KiB response is a write or two, not 45.  Every TCP segment goes
 * with the header asking the host to sum it (lwIP leaves the sum to it:
 * rt_netdev_info's tx_tcp_csum), which the host does only where the
 * segment leaves it, not for a socket on this host.  Each frame read
 * carries the header too; no offload was asked for, so it says nothing.
 */
#include <shoal/netdev.h>

#include "../../core/rt_internal.h"
#include "proc.h"

#define PAGE       4096u
#define FRAME_MIN  14u
#define FRAME_VLAN 18u
#define HDR        SHOAL_VNET_HDR_LEN

/* struct virtio_net_hdr's fields (little-endian), and the TCP segment's layout. */
#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_TCPV4    1
#define ETH_LEN           14u
#define IP_LEN            20u    /* lwIP sends no IP options */
#define SEG_MAX           65535u /* the IP total length */
#define GSO_PAGES         17u    /* HDR + ETH_LEN + SEG_MAX */

struct gso {
	uint8_t *buf; /* HDR, then the first frame's headers, then every segment's data */
	size_t len;   /* of the frame in buf + HDR */
	unsigned segs;
	uint32_t next_seq; /* the sequence number that continues it */
	uint16_t mss;      /* the first segment's data: every one but the last has as much */
	uint16_t last;     /* the last segment's data */
	uint16_t hlen;     /* Ethernet, IP and TCP headers */
	uint64_t bytes;    /* the frames it stands for, for the counters */
};

struct rt_netdev {
	const struct shoal_device *dev;
	int fd;
	unsigned hdr; /* HDR with SHOAL_DEV_VNET_HDR, else 0 */
	void *mem, *gso_mem;
	uint8_t *tx, *rx; /* each hdr bytes into its pages, a frame of up to a page after */
	int tx_open;
	struct gso gso;
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
	nd->hdr = (d->flags & SHOAL_DEV_VNET_HDR) ? HDR : 0;
	nd->tx = rt_pages_alloc(4, &nd->mem);
	nd->gso.buf = nd->hdr ? rt_pages_alloc(GSO_PAGES, &nd->gso_mem) : NULL;
	if (!nd->tx || (nd->hdr && !nd->gso.buf)) {
		rt_free(nd->mem);
		rt_free(nd);
		return RT_NETDEV_ENOMEM;
	}
	nd->rx = nd->tx + 2 * PAGE + nd->hdr;
	nd->tx += nd->hdr;
	nd->dev = d;
	nd->fd = proc__dev_fd(i);
	nd->c = proc__dev_counters(i);
	if (rt_evtchn_bind(d->port, on_port, nd) < 0) {
		rt_free(nd->gso_mem);
		rt_free(nd->mem);
		rt_free(nd);
		return RT_NETDEV_EPROTO;
	}
	proc__watch_tap(nd->fd, d->port);
	/* Up: the host tells no one the guest is reachable before (abi.h). */
	nd->c[SHOAL_PROC_STAT_NIC_UP] = 1;
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
	info->tx_tcp_csum = nd->hdr != 0;
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

/* One write of len bytes at buf (the header first, on a tap with one): 0, or -1 if dropped. */
static int tap_write(struct rt_netdev *nd, const uint8_t *buf, size_t len)
{
	long r;

	do
		r = proc_sys3(SYS_write, nd->fd, (long)buf, (long)len);
	while (r == -PROC_EINTR);
	return r == (long)len ? 0 : -1;
}

static void count_tx(struct rt_netdev *nd, int dropped, unsigned frames, uint64_t bytes)
{
	if (dropped) {
		nd->st.tx_errors += frames; /* the tap's queue is full, or the tap is gone */
		nd->c[SHOAL_PROC_STAT_NIC_TX_DROPPED] += frames;
		return;
	}
	nd->st.tx_frames += frames;
	nd->st.tx_bytes += bytes;
	nd->c[SHOAL_PROC_STAT_NIC_TX_PACKETS] += frames;
	nd->c[SHOAL_PROC_STAT_NIC_TX_BYTES] += bytes;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The ones' complement sum of n bytes at p, unfolded, added to sum. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += be16(p);
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Is frame f an IPv4 TCP segment (no IP options, not a fragment), whole? */
static int is_tcp(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH_LEN;

	return len >= ETH_LEN + IP_LEN + 20 && be16(f + 12) == 0x0800 && ip[0] == 0x45 &&
	       ip[9] == 6 && !(be16(ip + 6) & 0x3fff) && be16(ip + 2) == len - ETH_LEN;
}

/*
 * The length of the headers of frame f if it is a TCP segment that GSO
 * may carry (IPv4 without options or fragments, data, only ACK and PSH
 * set), else 0.
 */
static unsigned tcp_data_headers(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH_LEN, *tcp = ip + IP_LEN;
	unsigned thl;

	if (!is_tcp(f, len))
		return 0;
	thl = (unsigned)(tcp[12] >> 4) * 4;
	if (thl < 20 || ETH_LEN + IP_LEN + thl >= len || (tcp[13] & ~0x18) || !(tcp[13] & 0x10))
		return 0;
	return ETH_LEN + IP_LEN + thl;
}

typedef uint32_t u32_unaligned __attribute__((may_alias, aligned(1)));

/* Are n bytes at a and b the same?  Four at a time: it runs for every segment sent. */
static int same(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (; n >= 4; n -= 4, a += 4, b += 4)
		if (*(const u32_unaligned *)a != *(const u32_unaligned *)b)
			return 0;
	for (; n; n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

/*
 * Does segment f (headers hl) continue what is held: the same addresses,
 * ports, headers but for the sequence number and checksums, its data
 * right after, no more than the first's, and room for it?
 */
static int continues(const struct gso *g, const uint8_t *f, size_t len, unsigned hl)
{
	const uint8_t *h = g->buf + HDR, *ip = f + ETH_LEN, *tcp = ip + IP_LEN;
	const uint8_t *hip = h + ETH_LEN, *htcp = hip + IP_LEN;

	return g->segs && hl == g->hlen && g->last == g->mss && len - hl <= g->mss &&
	       g->len + (len - hl) <= ETH_LEN + SEG_MAX && be32(tcp + 4) == g->next_seq &&
	       same(f, h, ETH_LEN) && ip[1] == hip[1] && ip[8] == hip[8] &&
	       same(ip + 12, hip + 12, 8) && same(tcp, htcp, 4) && same(tcp + 8, htcp + 8, 4) &&
	       same(tcp + 14, htcp + 14, 2) &&
	       same(tcp + 20, htcp + 20, hl - ETH_LEN - IP_LEN - 20);
}

/*
 * The header before frame h + HDR, an IPv4 TCP segment whose checksum
 * lwIP left to the host: the host is to sum the segment from its TCP
 * header (the checksum field holding the pseudo-header's sum, as it
 * must), and with gso_hlen (its headers' length) to cut it into pieces
 * of mss first.
 */
static void ask_sum(uint8_t *h, unsigned gso_hlen, unsigned mss)
{
	uint8_t *ip = h + HDR + ETH_LEN, *tcp = ip + IP_LEN;

	memset(h, 0, HDR);
	h[0] = VNET_F_NEEDS_CSUM;
	if (gso_hlen) {
		h[1] = VNET_GSO_TCPV4;
		h[2] = (uint8_t)gso_hlen; /* hdr_len */
		h[3] = (uint8_t)(gso_hlen >> 8);
		h[4] = (uint8_t)mss; /* gso_size */
		h[5] = (uint8_t)(mss >> 8);
	}
	h[6] = ETH_LEN + IP_LEN; /* csum_start */
	h[8] = 16;               /* csum_offset: the TCP checksum */
	put16(tcp + 16, fold(sum16(0, ip + 12, 8) + 6 + be16(ip + 2) - IP_LEN));
}

/*
 * Write what is held: one segment as it came (lwIP's checksums), more
 * as one with the header asking the host to cut it at mss and sum each
 * piece (the TCP checksum holds the pseudo-header's sum, as it must).
 */
static void flush(struct rt_netdev *nd)
{
	struct gso *g = &nd->gso;
	uint8_t *h = g->buf, *ip = h + HDR + ETH_LEN;

	if (!g->segs)
		return;
	if (g->segs > 1) {
		put16(ip + 2, (unsigned)(g->len - ETH_LEN));
		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~fold(sum16(0, ip, IP_LEN)));
	}
	ask_sum(h, g->segs > 1 ? g->hlen : 0, g->mss);
	count_tx(nd, tap_write(nd, h, HDR + g->len) < 0, g->segs, g->bytes);
	g->segs = 0;
}

int rt_netdev_tx_commit(struct rt_netdev *nd, size_t len)
{
	struct gso *g = &nd->gso;
	unsigned hl;
	int dropped;

	if (!nd->tx_open || len < FRAME_MIN || len > (size_t)nd->dev->u.net.mtu + FRAME_VLAN ||
	    len > PAGE) {
		nd->c[SHOAL_PROC_STAT_NIC_TX_ERRORS]++; /* refused, as shoal-vmm refuses it */
		return RT_NETDEV_EINVAL;
	}
	nd->tx_open = 0;
	if (!nd->hdr) {
		count_tx(nd, tap_write(nd, nd->tx, len) < 0, 1, len);
		return 0;
	}
	hl = tcp_data_headers(nd->tx, len);
	if (hl && continues(g, nd->tx, len, hl)) {
		memcpy(g->buf + HDR + g->len, nd->tx + hl, len - hl);
		g->len += len - hl;
		g->segs++;
		g->bytes += len;
		g->last = (uint16_t)(len - hl);
		g->next_seq += (uint32_t)(len - hl);
		/* Its flags (PSH or not) go on the last piece the host cuts. */
		g->buf[HDR + ETH_LEN + IP_LEN + 13] = nd->tx[ETH_LEN + IP_LEN + 13];
		return 0;
	}
	flush(nd);
	if (hl) { /* held: the next may continue it */
		memcpy(g->buf + HDR, nd->tx, len);
		g->len = len;
		g->segs = 1;
		g->bytes = len;
		g->hlen = (uint16_t)hl;
		g->mss = g->last = (uint16_t)(len - hl);
		g->next_seq = be32(nd->tx + ETH_LEN + IP_LEN + 4) + (uint32_t)(len - hl);
		return 0;
	}
	/* A frame as it is; a TCP segment lwIP did not sum, with the header that asks for it. */
	memset(nd->tx - HDR, 0, HDR);
	if (is_tcp(nd->tx, len))
		ask_sum(nd->tx - HDR, 0, 0);
	dropped = tap_write(nd, nd->tx - HDR, HDR + len) < 0;
	count_tx(nd, dropped, 1, len);
	return 0;
}

int rt_netdev_poll(struct rt_netdev *nd, rt_netdev_rx_fn fn, void *arg, unsigned budget)
{
	unsigned done = 0;

	while (done < budget) {
		long r = proc_sys3(SYS_read, nd->fd, (long)(nd->rx - nd->hdr), PAGE + nd->hdr);

		if (r == -PROC_EINTR)
			continue;
		if (r <= 0)
			return 0; /* EAGAIN: the tap is empty; polled again when the guest blocks */
		r -= (long)nd->hdr; /* what it says is nothing: no offload was asked for */
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

void proc__netdev_flush(void)
{
	unsigned i;

	for (i = 0; i < SHOAL_DEVICES_MAX; i++)
		if (opened[i] && opened[i]->gso.segs)
			flush(opened[i]);
}
