/*
 * The tender's network back-end: each NIC is a tap the operator made,
 * served on Xen's netif rings (a transmit and a receive ring, two pages
 * of guest memory) by the devices' I/O thread (blk.c), with the guest's
 * rate limit each way.
 *
 * As for disks, the rings are the guest's memory: each producer index is
 * read once per pass and checked against what the ring can hold, each
 * request copied out before it is looked at.  A frame is copied between
 * the tap and the guest's page by read and write on the tap, so that the
 * guest never sees the tender's memory and the tender only the page the
 * request names, once it is checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vmm/devs.h"

#define PAGE        SHOAL_PAGE_SIZE
#define MTU         1500u
#define FRAME_EXTRA 18u /* Ethernet header and a VLAN tag */

/* What a NIC's name, MAC, MTU and tap name must be, and room for it; 0 or -1 with err. */
static int nic_check(struct vmm_devs *dv, const char *name, const char *ifname, const uint8_t *mac,
                     unsigned mtu, char *err, size_t errlen)
{
	static const uint8_t zero[6];
	unsigned i;

	if (!devs__name_ok(name))
		return devs__fail(err, errlen,
		                  "NIC name \"%.40s\": 1 to %d characters of a-z, 0-9, '-' and '_'",
		                  name, SHOAL_DEV_NAME_MAX - 1);
	for (i = 0; ifname[i]; i++)
		if ((unsigned char)ifname[i] <= ' ' || (unsigned char)ifname[i] > '~')
			return devs__fail(err, errlen, "NIC %s: its tap's name is not printable",
			                  name);
	if (strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return devs__fail(err, errlen, "NIC %s: \"%.40s\" is not an interface name", name,
		                  ifname);
	for (i = 0; i < dv->ndisks; i++)
		if (!strcmp(dv->disk[i].name, name))
			return devs__fail(err, errlen, "a disk and a NIC are named %s", name);
	for (i = 0; i < dv->nnics; i++) {
		if (!strcmp(dv->nic[i].name, name))
			return devs__fail(err, errlen, "two NICs are named %s", name);
		if (!strcmp(dv->nic[i].ifname, ifname))
			return devs__fail(err, errlen, "NICs %s and %s are both on tap %s",
			                  dv->nic[i].name, name, ifname);
	}
	if (dv->nnics == DEVS_NICS_MAX)
		return devs__fail(err, errlen, "more than %d NICs", DEVS_NICS_MAX);
	if (mac && ((mac[0] & 1) || !memcmp(mac, zero, 6)))
		return devs__fail(
		    err, errlen,
		    "NIC %s: MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast address", name,
		    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	/* A frame is one page each way (no multi-slot frames): the MTU is fixed. */
	if (mtu != 0 && mtu != MTU)
		return devs__fail(err, errlen, "NIC %s: MTU %u: this tender serves %u only (0: %u)",
		                  name, mtu, MTU, MTU);
	return 0;
}

/*
 * The next slot takes the NIC, checked by nic_check, and its non-blocking
 * tap.  Wired already (a warm tender), the slot keeps its doorbell and the
 * tap joins the I/O thread's epoll set, without events until the guest
 * posts buffers.
 */
static int nic_take(struct vmm_devs *dv, const char *name, const char *ifname, int fd,
                    const uint8_t *mac, char *err, size_t errlen)
{
	struct nic *n = &dv->nic[dv->nnics];
	unsigned i;

	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	n->mtu = MTU;
	n->ipv4 = n->gateway = 0;
	n->prefix_len = 0;
	n->tap_watched = n->tx_skip = 0;
	n->tx_resume_ns = n->rx_resume_ns = 0;
	memset(n->own, 0, sizeof(n->own));
	n->c = n->own;
	if (mac) {
		memcpy(n->mac, mac, 6);
	} else {
		/* Locally administered, unicast, from both names (FNV-1a). */
		uint64_t h = 0xcbf29ce484222325ull;
		const char *s;

		for (s = name; *s; s++)
			h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
		for (s = ifname; *s; s++)
			h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
		n->mac[0] = 0x02;
		for (i = 1; i < 6; i++)
			n->mac[i] = (uint8_t)(h >> (8 * i));
	}
	if (dv->ep >= 0) {
		struct epoll_event ev = { .events = 0, .data.u64 = DEVS_EV_TAP << 32 | dv->nnics };

		if (epoll_ctl(dv->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			return devs__fail(err, errlen, "NIC %s: epoll_ctl: %s", name,
			                  strerror(errno));
	}
	n->tap_fd = fd;
	__atomic_store_n(&dv->nnics, dv->nnics + 1, __ATOMIC_RELEASE);
	return 0;
}

int vmm_devs_add_nic(struct vmm_devs *dv, const char *name, const char *ifname, const uint8_t *mac,
                     char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd;

	if (nic_check(dv, name, ifname, mac, 0, err, errlen) < 0)
		return -1;
	/* TUNSETIFF would make a tap of a name that is free: the tap must be there already. */
	if (if_nametoindex(ifname) == 0)
		return devs__fail(err, errlen,
		                  "NIC %s: there is no interface %s (make the tap first)", name,
		                  ifname);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return devs__fail(err, errlen, "NIC %s: /dev/net/tun: %s", name, strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return devs__fail(err, errlen, "NIC %s: cannot attach to tap %s: %s", name, ifname,
		                  strerror(e));
	}
	if (nic_take(dv, name, ifname, fd, mac, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

int vmm_devs_add_nic_fd(struct vmm_devs *dv, const char *name, const char *ifname, int fd,
                        const uint8_t *mac, unsigned mtu, char *err, size_t errlen)
{
	struct ifreq ifr;
	struct stat st;
	int fl;

	if (nic_check(dv, name, ifname, mac, mtu, err, errlen) < 0)
		return -1;
	/* The tun device itself (misc 10:200), then what TUNGETIFF says it is attached to. */
	if (fstat(fd, &st) < 0)
		return devs__fail(err, errlen, "NIC %s: %s", name, strerror(errno));
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 200)
		return devs__fail(err, errlen,
		                  "NIC %s: its descriptor is not a tap (not /dev/net/tun)", name);
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return devs__fail(err, errlen,
		                  "NIC %s: its descriptor is not attached to a tap: %s", name,
		                  strerror(errno));
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP)
		return devs__fail(err, errlen, "NIC %s: %.16s is a tun, not a tap (IFF_TAP)", name,
		                  ifr.ifr_name);
	/*
	 * TUNGETIFF reports IFF_NOFILTER (no socket filter on the queue, as a
	 * daemon's tap has) in IFF_NO_PI's bit: a clear bit is a tap with
	 * packet information for sure, a set one may still be.  The daemon
	 * makes its taps IFF_NO_PI; this catches what can be caught from here.
	 */
	if (!(ifr.ifr_flags & IFF_NO_PI) || (ifr.ifr_flags & IFF_VNET_HDR))
		return devs__fail(
		    err, errlen,
		    "NIC %s: tap %.16s puts a header before its frames (want IFF_NO_PI, "
		    "no IFF_VNET_HDR)",
		    name, ifr.ifr_name);
	if (strncmp(ifr.ifr_name, ifname, sizeof(ifr.ifr_name)))
		return devs__fail(err, errlen, "NIC %s: its tap is %.16s, not %s", name,
		                  ifr.ifr_name, ifname);
	/* The I/O thread reads until the tap is empty: a blocking read would stop it. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return devs__fail(err, errlen, "NIC %s: cannot make its tap non-blocking: %s", name,
		                  strerror(errno));
	return nic_take(dv, name, ifname, fd, mac, err, errlen);
}

int vmm_devs_set_ipv4(struct vmm_devs *dv, uint32_t addr, unsigned prefix_len, uint32_t gateway,
                      char *err, size_t errlen)
{
	struct nic *n;

	if (!dv->nnics)
		return devs__fail(err, errlen, "an address goes with a NIC: none given before it");
	if (prefix_len < 1 || prefix_len > 32)
		return devs__fail(err, errlen, "prefix length %u: want 1 to 32", prefix_len);
	n = &dv->nic[dv->nnics - 1];
	n->ipv4 = addr;
	n->prefix_len = (uint8_t)prefix_len;
	n->gateway = gateway;
	return 0;
}

void vmm_devs_set_rate(struct vmm_devs *dv, uint64_t pps, uint64_t bytes_per_s)
{
	struct bucket *b[] = { &dv->tx_pkts, &dv->tx_bytes, &dv->rx_pkts, &dv->rx_bytes };
	uint64_t now = devs__now_ns();
	unsigned j;

	dv->tx_pkts.rate = dv->rx_pkts.rate = pps;
	dv->tx_bytes.rate = dv->rx_bytes.rate = bytes_per_s;
	/* A second's worth to start with. */
	for (j = 0; j < 4; j++) {
		b[j]->tokens = (double)b[j]->rate;
		b[j]->last_ns = now;
	}
}

int devs__nics_attach(struct vmm_devs *dv, char *err, size_t errlen)
{
	unsigned j;

	vmm_devs_set_rate(dv, dv->tx_pkts.rate, dv->tx_bytes.rate);
	for (j = 0; j < DEVS_NICS_MAX; j++) {
		struct nic *n = &dv->nic[j];
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = DEVS_EV_NIC << 32 | j };

		n->slot = j;
		n->port = SHOAL_DEV_PORT_FIRST + VMM_DISKS_MAX + j;
		n->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		n->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->kick_fd < 0 || n->notify_fd < 0)
			return devs__fail(err, errlen, "NIC slot %u: eventfd: %s", j,
			                  strerror(errno));
		if (vmm_vm_wire_internal(dv->vm, n->port, n->kick_fd, n->notify_fd, err, errlen) <
		    0)
			return -1;
		if (epoll_ctl(dv->ep, EPOLL_CTL_ADD, n->notify_fd, &ev) < 0)
			return devs__fail(err, errlen, "NIC slot %u: epoll_ctl: %s", j,
			                  strerror(errno));
		if (j >= dv->nnics)
			continue;
		/* The tap is in the set from the start, without events until buffers are posted. */
		ev.events = 0;
		ev.data.u64 = DEVS_EV_TAP << 32 | j;
		if (epoll_ctl(dv->ep, EPOLL_CTL_ADD, n->tap_fd, &ev) < 0)
			return devs__fail(err, errlen, "NIC %s: epoll_ctl: %s", n->name,
			                  strerror(errno));
	}
	return 0;
}

void devs__nics_table(const struct vmm_devs *dv, struct shoal_device *table)
{
	unsigned j;

	for (j = 0; j < dv->nnics; j++) {
		const struct nic *n = &dv->nic[j];
		struct shoal_device *t = &table[j];

		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", n->name);
		t->kind = SHOAL_DEV_NET;
		t->port = n->port;
		memcpy(t->u.net.mac, n->mac, 6);
		t->u.net.mtu = n->mtu;
		t->u.net.ipv4 = n->ipv4;
		t->u.net.gateway = n->gateway;
		t->u.net.prefix_len = n->prefix_len;
	}
}

int devs__nic_connect(struct vmm_devs *dv, unsigned j, const struct vmm_guestmem *m, uint64_t gpa)
{
	struct nic *n = &dv->nic[j];
	uint64_t one = 1;

	if (__atomic_load_n(&n->connected, __ATOMIC_ACQUIRE))
		return SHOAL_DEV_EBUSY;
	if (gpa % PAGE || gpa < SHOAL_GPA_IMAGE_MIN || gpa >= m->size ||
	    m->size - gpa < SHOAL_NET_RINGS_BYTES)
		return SHOAL_DEV_EINVAL;
	BACK_RING_INIT(&n->tx, (netif_tx_sring_t *)(m->base + gpa), PAGE);
	BACK_RING_INIT(&n->rx, (netif_rx_sring_t *)(m->base + gpa + PAGE), PAGE);
	__atomic_store_n(&n->connected, 1, __ATOMIC_RELEASE);
	/*
	 * Up, for whoever reads the counters: from now on the tap's frames
	 * reach the guest.  The one counter this thread writes, and only once.
	 */
	__atomic_store_n(&n->c[VMM_STAT_NIC_UP], 1, __ATOMIC_RELAXED);
	/* Requests pushed before the connect wait for a notify; look at once. */
	if (write(n->notify_fd, &one, sizeof(one)) < 0)
		(void)0; /* a full counter already wakes the thread */
	return 0;
}

/* ---- The rate limit ---- */

static void refill(struct bucket *b, uint64_t now)
{
	if (!b->rate)
		return;
	b->tokens += (double)(now - b->last_ns) * (double)b->rate / 1e9;
	if (b->tokens > (double)b->rate)
		b->tokens = (double)b->rate;
	b->last_ns = now;
}

/* 0 when both buckets let a frame go now; else when they will (ns). */
static uint64_t blocked_until(struct bucket *pk, struct bucket *by, uint64_t now)
{
	uint64_t until = 0;
	struct bucket *b[2] = { pk, by };
	unsigned i;

	for (i = 0; i < 2; i++) {
		refill(b[i], now);
		if (b[i]->rate && b[i]->tokens < 1.0) {
			uint64_t t =
			    now + (uint64_t)((1.0 - b[i]->tokens) * 1e9 / (double)b[i]->rate) + 1;

			if (t > until)
				until = t;
		}
	}
	return until;
}

static void take(struct bucket *pk, struct bucket *by, size_t bytes)
{
	if (pk->rate)
		pk->tokens -= 1.0;
	if (by->rate)
		by->tokens -= (double)bytes;
}

/* ---- Transmit: the guest's frames to the tap ---- */

static void kick(struct nic *n)
{
	uint64_t one = 1;

	if (write(n->kick_fd, &one, sizeof(one)) < 0)
		(void)0; /* a full counter still raises the interrupt */
}

/* Check one transmit request and send its frame; a NETIF_RSP_* status. */
static int16_t transmit(struct vmm_devs *dv, struct nic *n, const netif_tx_request_t *rq)
{
	uint64_t mem = dv->vm->mem_bytes;
	ssize_t r;

	if (rq->flags & (NETTXF_more_data | NETTXF_extra_info))
		return NETIF_RSP_ERROR;
	if (rq->gref >= mem / PAGE || rq->offset >= PAGE || rq->size < SHOAL_NET_FRAME_MIN ||
	    rq->size > n->mtu + FRAME_EXTRA || rq->offset + (unsigned)rq->size > PAGE)
		return NETIF_RSP_ERROR;
	r = write(n->tap_fd, dv->vm->mem + (uint64_t)rq->gref * PAGE + rq->offset, rq->size);
	if (r != (ssize_t)rq->size) {
		/* The tap's queue is full or the link is down: the frame is lost, as on a wire. */
		DEVS_STAT_ADD(n, VMM_STAT_NIC_TX_DROPPED, 1);
		return NETIF_RSP_DROPPED;
	}
	DEVS_STAT_ADD(n, VMM_STAT_NIC_TX_PACKETS, 1);
	DEVS_STAT_ADD(n, VMM_STAT_NIC_TX_BYTES, rq->size);
	return NETIF_RSP_OKAY;
}

/* Serve the transmit ring until it is empty or the rate limit stops it; -1: the guest failed. */
static int serve_tx(struct vmm_devs *dv, struct nic *n, uint64_t now)
{
	netif_tx_back_ring_t *ring = &n->tx;
	int more, notify;

	do {
		RING_IDX prod = ring->sring->req_prod;

		xen_rmb(); /* the requests up to prod are there once prod is seen */
		if (RING_REQUEST_PROD_OVERFLOW(ring, prod)) {
			devs__ring_overflow(dv, "NIC", n->name, "transmit ", prod,
			                    prod - ring->rsp_prod_pvt, RING_SIZE(ring));
			return -1;
		}
		while (ring->req_cons != prod) {
			netif_tx_request_t rq;
			netif_tx_response_t *rsp;
			int16_t st;

			memcpy(&rq, RING_GET_REQUEST(ring, ring->req_cons), sizeof(rq));
			if (n->tx_skip) {
				/* A slot of a frame refused already: no frame of its own. */
				st = NETIF_RSP_NULL;
				n->tx_skip = !!(rq.flags & NETTXF_more_data);
			} else {
				uint64_t until = blocked_until(&dv->tx_pkts, &dv->tx_bytes, now);

				if (until) {
					DEVS_STAT_ADD(n, VMM_STAT_NIC_TX_HELD, 1);
					n->tx_resume_ns = until;
					break;
				}
				st = transmit(dv, n, &rq);
				if (st == NETIF_RSP_OKAY)
					take(&dv->tx_pkts, &dv->tx_bytes, rq.size);
				else if (st == NETIF_RSP_ERROR)
					DEVS_STAT_ADD(n, VMM_STAT_NIC_TX_ERRORS, 1);
				/* The rest of a multi-slot frame, or the extra-info slot, follow.
				 */
				n->tx_skip = !!(rq.flags & (NETTXF_more_data | NETTXF_extra_info));
			}
			ring->req_cons++;
			rsp = RING_GET_RESPONSE(ring, ring->rsp_prod_pvt);
			rsp->id = rq.id;
			rsp->status = st;
			ring->rsp_prod_pvt++;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(ring, notify);
		if (notify)
			kick(n);
		if (n->tx_resume_ns)
			return 0; /* the timer comes back for the rest */
		RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
	} while (more);
	return 0;
}

/* ---- Receive: the tap's frames into the guest's posted pages ---- */

static void watch_tap(struct vmm_devs *dv, struct nic *n, int on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0,
		                  .data.u64 = DEVS_EV_TAP << 32 | n->slot };

	if (n->tap_watched == on)
		return;
	if (epoll_ctl(dv->ep, EPOLL_CTL_MOD, n->tap_fd, &ev) == 0)
		n->tap_watched = on;
}

/*
 * Move frames from the tap into posted buffers until either runs out or
 * the rate limit stops it.  With no buffer posted the tap leaves the
 * epoll set (its frames wait in its queue) and the ring's req_event asks
 * the guest to ring the doorbell when it posts more.  -1: the guest failed.
 */
static int serve_rx(struct vmm_devs *dv, struct nic *n, uint64_t now)
{
	netif_rx_back_ring_t *ring = &n->rx;
	uint64_t mem = dv->vm->mem_bytes;
	int notify = 0, more, tap_empty = 0, pushed;

	for (;;) {
		RING_IDX prod = ring->sring->req_prod;

		xen_rmb();
		if (RING_REQUEST_PROD_OVERFLOW(ring, prod)) {
			devs__ring_overflow(dv, "NIC", n->name, "receive ", prod,
			                    prod - ring->rsp_prod_pvt, RING_SIZE(ring));
			return -1;
		}
		while (ring->req_cons != prod) {
			netif_rx_request_t rq;
			netif_rx_response_t *rsp;
			uint64_t until = blocked_until(&dv->rx_pkts, &dv->rx_bytes, now);
			int16_t st;
			ssize_t r;

			if (until) {
				DEVS_STAT_ADD(n, VMM_STAT_NIC_RX_HELD, 1);
				n->rx_resume_ns = until;
				break;
			}
			memcpy(&rq, RING_GET_REQUEST(ring, ring->req_cons), sizeof(rq));
			if (rq.gref >= mem / PAGE) {
				/* A page outside guest memory: answered, and the frame stays in the
				 * tap. */
				st = NETIF_RSP_ERROR;
				DEVS_STAT_ADD(n, VMM_STAT_NIC_RX_ERRORS, 1);
			} else {
				r = read(n->tap_fd, dv->vm->mem + (uint64_t)rq.gref * PAGE, PAGE);
				if (r < 0) {
					tap_empty = 1;
					break;
				}
				if (r < SHOAL_NET_FRAME_MIN || (size_t)r > n->mtu + FRAME_EXTRA) {
					/* Read, and nowhere to go: the buffer stays posted. */
					DEVS_STAT_ADD(n, VMM_STAT_NIC_RX_DROPPED, 1);
					continue;
				}
				st = (int16_t)r;
				DEVS_STAT_ADD(n, VMM_STAT_NIC_RX_PACKETS, 1);
				DEVS_STAT_ADD(n, VMM_STAT_NIC_RX_BYTES, r);
				take(&dv->rx_pkts, &dv->rx_bytes, (size_t)r);
			}
			ring->req_cons++;
			rsp = RING_GET_RESPONSE(ring, ring->rsp_prod_pvt);
			rsp->id = rq.id;
			rsp->offset = 0;
			rsp->flags = 0;
			rsp->status = st;
			ring->rsp_prod_pvt++;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(ring, pushed);
		notify |= pushed;
		if (tap_empty || n->rx_resume_ns) {
			/* Nothing waits in the tap, or the limit holds it: wait for either. */
			watch_tap(dv, n, !n->rx_resume_ns);
			break;
		}
		RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
		if (!more) {
			watch_tap(dv, n, 0); /* no buffer: frames wait in the tap */
			break;
		}
	}
	if (notify)
		kick(n);
	return 0;
}

int devs__nic_event(struct vmm_devs *dv, unsigned j, int tap)
{
	struct nic *n = &dv->nic[j];
	uint64_t now = devs__now_ns(), v;

	if (!tap && read(n->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	if (!__atomic_load_n(&n->connected, __ATOMIC_ACQUIRE))
		return 0;
	/* Each way held back by the rate limit waits for the timer, not for events. */
	if (!tap && !n->tx_resume_ns && serve_tx(dv, n, now) < 0)
		return -1;
	if (n->rx_resume_ns) {
		watch_tap(dv, n, 0);
		return 0;
	}
	return serve_rx(dv, n, now);
}

uint64_t devs__nics_timers(struct vmm_devs *dv, uint64_t now_ns)
{
	unsigned j, nnics = __atomic_load_n(&dv->nnics, __ATOMIC_ACQUIRE);
	uint64_t next = 0;

	for (j = 0; j < nnics; j++) {
		struct nic *n = &dv->nic[j];

		if (n->tx_resume_ns && n->tx_resume_ns <= now_ns) {
			n->tx_resume_ns = 0;
			if (serve_tx(dv, n, now_ns) < 0)
				return UINT64_MAX;
		}
		if (n->rx_resume_ns && n->rx_resume_ns <= now_ns) {
			n->rx_resume_ns = 0;
			if (serve_rx(dv, n, now_ns) < 0)
				return UINT64_MAX;
		}
		if (n->tx_resume_ns && (!next || n->tx_resume_ns < next))
			next = n->tx_resume_ns;
		if (n->rx_resume_ns && (!next || n->rx_resume_ns < next))
			next = n->rx_resume_ns;
	}
	return next;
}

void vmm_devs_report(const struct vmm_devs *dv, int fd)
{
	unsigned j;

	for (j = 0; dv && j < dv->nnics; j++) {
		const struct nic *n = &dv->nic[j];
		char line[400];
		int len;

		/* snprintf and write: a stdio stream on fd would seek, which the filter refuses. */
		len = snprintf(
		    line, sizeof(line),
		    "net %s: tx %llu frames %llu bytes %llu errors %llu dropped, rx %llu "
		    "frames %llu bytes %llu errors %llu dropped, held back tx %llu rx %llu\n",
		    n->name, (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_TX_PACKETS),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_TX_BYTES),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_TX_ERRORS),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_TX_DROPPED),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_RX_PACKETS),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_RX_BYTES),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_RX_ERRORS),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_RX_DROPPED),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_TX_HELD),
		    (unsigned long long)DEVS_STAT(n, VMM_STAT_NIC_RX_HELD));
		if (len > 0 && write(fd, line, (size_t)len) < 0)
			(void)0; /* the report is best effort */
	}
}
