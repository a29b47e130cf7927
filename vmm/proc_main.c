/*
 * shoal-proc: runs one guest built for the proc platform as this process
 * (see proc.h).  Two ways to start, as shoal-vmm:
 *
 *   shoal-proc [options] IMAGE [ARG...]    cold: load, jail, run
 *   shoal-proc [options] --control-fd FD   warm: READY now, then DISK,
 *                                          NIC and BOOT (vmm_proto.h)
 *
 * The guest's console is this process's stdout; a guest that ends badly
 * is reported on stderr in one line, and the exit status says how it
 * ended, with shoal-vmm's statuses (common/guest_exit.h).
 *
 * Warm start speaks shoal-vmm's protocol up to STARTED, which carries the
 * device counters' page as shoal-vmm's does; the guest does its own I/O,
 * so the guest counts it there itself.  Then the control socket
 * is closed: the process is the guest from there on, and a guest gets no
 * channel to the daemon.  The daemon, its parent, learns the end from
 * the exit status and the report line on stderr instead of EXITED; it
 * pauses the guest with SIGSTOP rather than PAUSE.  BOOT's re-attach
 * socket and exit record are refused: nothing of the tender outlives the
 * jump to serve them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/vmm_proto.h"
#include "vmm/proc.h"
#include "vmm/util.h"

static char guest_name[SHOAL_NAME_MAX] = "?";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: shoal-proc [options] IMAGE [ARG...]\n"
	        "  -m, --mem MIB             guest memory (default 32)\n"
	        "  -n, --name NAME           guest name (default: the image's file name)\n"
	        "  -e, --evtchn P:KICK:NOTE  wire event port P to eventfds KICK (host->guest)\n"
	        "                            and NOTE (guest->host); -1 for none (repeatable)\n"
	        "  -d, --disk NAME:PATH[:ro] give the guest a disk (a file of whole 512-byte\n"
	        "                            sectors), read-only with :ro (repeatable)\n"
	        "  -N, --net NAME:IFNAME[:MAC] give the guest a NIC on the existing tap IFNAME\n"
	        "      --net-ip A.B.C.D/P[:GW] the last NIC's IPv4 address and gateway\n"
	        "      --mntns-fd FD         enter this mount namespace (its root empty) rather\n"
	        "                            than make one\n"
	        "      --netns-fd FD         enter this network namespace\n"
	        "  -u, --user UID:GID        who the guest runs as when started by root\n"
	        "                            (default 65534:65534)\n"
	        "      --no-seccomp          do not filter the guest's calls (debugging)\n"
	        "      --no-jail             neither jail nor filter the guest: profiling under\n"
	        "                            valgrind only (cold start only)\n"
	        "  -v, --verbose             say which parts of the jail were left out\n");
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[768];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "shoal-proc: %s: ", guest_name);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	if (n < (int)sizeof(buf) - 1)
		buf[n++] = '\n';
	(void)!write(2, buf, (size_t)n);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

/* --evtchn P:KICK:NOTE; the descriptors must be open (the guest gets them as they are). */
static int add_port(struct proc_guest *g, const char *s)
{
	long port, kick, note;
	char buf[64], *a, *b;
	unsigned i;

	if (g->nports == PROC_PORTS_MAX || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	a = strchr(buf, ':');
	b = a ? strchr(a + 1, ':') : NULL;
	if (!a || !b)
		return -1;
	*a++ = '\0';
	*b++ = '\0';
	if (parse_int(buf, 1, SHOAL_EVTCHN_NPORTS - 1, &port) < 0 ||
	    parse_int(a, -1, 1 << 20, &kick) < 0 || parse_int(b, -1, 1 << 20, &note) < 0)
		return -1;
	for (i = 0; i < g->nports; i++)
		if (g->ports[i].port == (uint32_t)port)
			return -1;
	g->ports[g->nports++] =
	    (struct shoal_proc_port){ (uint32_t)port, (int32_t)kick, (int32_t)note, 0 };
	return 0;
}

static int name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= SHOAL_DEV_NAME_MAX || s[0] == '-' || s[0] == '_')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_'))
			return 0;
	return 1;
}

/*
 * A disk on fd (open read-only for ro): the next slot of the device
 * table.  On failure err says why and the caller still owns fd.
 */
static int give_disk(struct proc_guest *g, const char *name, int fd, int ro, char *err,
                     size_t errlen)
{
	struct shoal_device *d;
	struct stat st;

	if (!name_ok(name)) {
		snprintf(err, errlen,
		         "disk name \"%.40s\": 1 to %d characters of a-z, 0-9, '-' and '_'", name,
		         SHOAL_DEV_NAME_MAX - 1);
		return -1;
	}
	if (g->nnics || g->ndisks == PROC_DISKS_MAX) {
		snprintf(err, errlen, "disk %s: at most %d disks, all given before the NICs", name,
		         PROC_DISKS_MAX);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % 512) {
		snprintf(err, errlen, "disk %s: not a regular file of whole 512-byte sectors",
		         name);
		return -1;
	}
	d = &g->dev[g->ndevs];
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, strlen(name) + 1); /* name_ok: it fits */
	d->kind = SHOAL_DEV_BLOCK;
	d->flags = ro ? SHOAL_DEV_READONLY : 0;
	d->port = SHOAL_DEV_PORT_FIRST + g->ndisks;
	d->u.blk.sectors = (uint64_t)st.st_size / 512;
	d->u.blk.sector_size = 512;
	d->u.blk.max_segments = 11;
	g->dev_fd[g->ndevs++] = fd;
	g->ndisks++;
	if (!ro && (uint64_t)st.st_size > g->max_disk_bytes)
		g->max_disk_bytes = (uint64_t)st.st_size;
	return 0;
}

/* --disk NAME:PATH[:ro]: the file is opened here, read-only for :ro. */
static int add_disk(struct proc_guest *g, const char *arg)
{
	char name[SHOAL_DEV_NAME_MAX + 1], path[4096], err[300];
	const char *colon = strchr(arg, ':');
	size_t n, plen;
	int ro = 0, fd;

	if (!colon || (n = (size_t)(colon - arg)) == 0 || n >= sizeof(name))
		goto bad;
	memcpy(name, arg, n);
	name[n] = '\0';
	plen = strlen(colon + 1);
	if (plen > 3 && !strcmp(colon + 1 + plen - 3, ":ro")) {
		ro = 1;
		plen -= 3;
	}
	if (plen == 0 || plen >= sizeof(path))
		goto bad;
	memcpy(path, colon + 1, plen);
	path[plen] = '\0';
	fd = open(path, ro ? O_RDONLY : O_RDWR);
	if (fd < 0) {
		say("--disk %.40s: cannot open %s: %s", name, path, strerror(errno));
		return -1;
	}
	if (give_disk(g, name, fd, ro, err, sizeof(err)) < 0) {
		say("--disk: %s", err);
		close(fd);
		return -1;
	}
	return 0;
bad:
	say("--disk %.100s: want NAME:PATH or NAME:PATH:ro", arg);
	return -1;
}

/*
 * A NIC on fd, a tap attached with IFF_TAP | IFF_NO_PI, and IFF_VNET_HDR or not (made
 * non-blocking here): the next slot.  mac NULL: one made from both names,
 * as shoal-vmm makes it.  On failure err says why and the caller still
 * owns fd.
 */
static int give_nic(struct proc_guest *g, const char *name, const char *ifname, int fd,
                    const uint8_t *mac, char *err, size_t errlen)
{
	static const uint8_t zero[6];
	struct shoal_device *d;
	struct ifreq ifr;
	struct stat st;
	unsigned i;
	int fl, hdr = 0;

	if (!name_ok(name) || g->nnics == PROC_NICS_MAX) {
		snprintf(err, errlen,
		         "NIC name \"%.40s\": 1 to %d characters of a-z, 0-9, '-' and '_', at most "
		         "%d NICs",
		         name, SHOAL_DEV_NAME_MAX - 1, PROC_NICS_MAX);
		return -1;
	}
	if (mac && ((mac[0] & 1) || !memcmp(mac, zero, 6))) {
		snprintf(err, errlen, "NIC %s: the MAC is a group address or zero", name);
		return -1;
	}
	/*
	 * The tun device itself (misc 10:200), attached to a tap without
	 * packet information, with or without a virtio_net_hdr of 10 bytes
	 * (the guest writes TCP segments of up to 64 KiB through one).
	 */
	memset(&ifr, 0, sizeof(ifr));
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 ||
	    minor(st.st_rdev) != 200 || ioctl(fd, TUNGETIFF, &ifr) < 0 ||
	    (ifr.ifr_flags & (IFF_TAP | IFF_TUN | IFF_NO_PI)) != (IFF_TAP | IFF_NO_PI) ||
	    ((ifr.ifr_flags & IFF_VNET_HDR) &&
	     (ioctl(fd, TUNGETVNETHDRSZ, &hdr) < 0 || hdr != SHOAL_VNET_HDR_LEN))) {
		snprintf(err, errlen,
		         "NIC %s: its descriptor is not a tap attached with IFF_TAP | IFF_NO_PI "
		         "(and IFF_VNET_HDR of %d bytes, or none)",
		         name, SHOAL_VNET_HDR_LEN);
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "NIC %s: cannot make its tap non-blocking: %s", name,
		         strerror(errno));
		return -1;
	}
	d = &g->dev[g->ndevs];
	memset(d, 0, sizeof(*d));
	if (mac) {
		memcpy(d->u.net.mac, mac, 6);
	} else {
		/* Locally administered, unicast, from both names (FNV-1a). */
		uint64_t h = 0xcbf29ce484222325ull;
		const char *s;

		for (s = name; *s; s++)
			h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
		for (s = ifname; *s; s++)
			h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
		d->u.net.mac[0] = 0x02;
		for (i = 1; i < 6; i++)
			d->u.net.mac[i] = (uint8_t)(h >> (8 * i));
	}
	memcpy(d->name, name, strlen(name) + 1); /* name_ok: it fits */
	d->kind = SHOAL_DEV_NET;
	d->flags = (ifr.ifr_flags & IFF_VNET_HDR) ? SHOAL_DEV_VNET_HDR : 0;
	d->port = SHOAL_DEV_PORT_FIRST + PROC_DISKS_MAX + g->nnics;
	d->u.net.mtu = 1500;
	g->dev_fd[g->ndevs++] = fd;
	g->nnics++;
	return 0;
}

/* --net NAME:IFNAME[:MAC]: the tap must exist; it is attached here. */
static int add_net(struct proc_guest *g, const char *arg)
{
	char name[SHOAL_DEV_NAME_MAX + 1], ifname[IFNAMSIZ + 1], err[300];
	const char *c1 = strchr(arg, ':'), *c2;
	uint8_t mac[6];
	struct ifreq ifr;
	unsigned m[6], i;
	int used = 0, fd;
	size_t n;

	if (!c1 || (n = (size_t)(c1 - arg)) == 0 || n >= sizeof(name))
		goto bad;
	memcpy(name, arg, n);
	name[n] = '\0';
	c2 = strchr(c1 + 1, ':');
	n = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (n == 0 || n >= IFNAMSIZ)
		goto bad;
	memcpy(ifname, c1 + 1, n);
	ifname[n] = '\0';
	if (c2) {
		if (sscanf(c2 + 1, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4],
		           &m[5], &used) != 6 ||
		    c2[1 + used] != '\0') {
			say("--net %.100s: the MAC is six hex bytes (02:00:00:00:00:01)", arg);
			return -1;
		}
		for (i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
	}
	/* TUNSETIFF would make a tap of a name that is free: the tap must be there already. */
	if (if_nametoindex(ifname) == 0) {
		say("--net %.40s: there is no interface %s (make the tap first)", name, ifname);
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR; /* the header's default size, 10 */
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		say("--net %.40s: cannot attach to tap %s: %s", name, ifname, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (give_nic(g, name, ifname, fd, c2 ? mac : NULL, err, sizeof(err)) < 0) {
		say("--net: %s", err);
		close(fd);
		return -1;
	}
	return 0;
bad:
	say("--net %.100s: want NAME:IFNAME or NAME:IFNAME:MAC", arg);
	return -1;
}

/* --net-ip A.B.C.D/P[:GW], for the NIC given last. */
static int add_net_ip(struct proc_guest *g, const char *arg)
{
	unsigned a[4], gw[4] = { 0, 0, 0, 0 }, p;
	struct shoal_device *d = g->nnics ? &g->dev[g->ndevs - 1] : NULL;
	int used = 0, i;

	if (!d) {
		say("--net-ip %.100s: give --net first", arg);
		return -1;
	}
	if (sscanf(arg, "%3u.%3u.%3u.%3u/%2u%n", &a[0], &a[1], &a[2], &a[3], &p, &used) != 5 ||
	    p < 1 || p > 32)
		goto bad;
	if (arg[used] == ':') {
		int used2 = 0;

		if (sscanf(arg + used + 1, "%3u.%3u.%3u.%3u%n", &gw[0], &gw[1], &gw[2], &gw[3],
		           &used2) != 4 ||
		    arg[used + 1 + used2] != '\0')
			goto bad;
	} else if (arg[used] != '\0') {
		goto bad;
	}
	for (i = 0; i < 4; i++)
		if (a[i] > 255 || gw[i] > 255)
			goto bad;
	d->u.net.ipv4 = htonl(a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]);
	d->u.net.gateway = htonl(gw[0] << 24 | gw[1] << 16 | gw[2] << 8 | gw[3]);
	d->u.net.prefix_len = (uint8_t)p;
	return 0;
bad:
	say("--net-ip %.100s: want A.B.C.D/PREFIX or A.B.C.D/PREFIX:GATEWAY", arg);
	return -1;
}

/* Map an image descriptor read-only.  Returns NULL with err set. */
static const uint8_t *map_image(int fd, uint64_t *len, char *err, size_t errlen)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > IMAGE_MAX_BYTES) {
		snprintf(err, errlen, "the image is not a regular file of 1 byte to %llu MiB",
		         IMAGE_MAX_BYTES >> 20);
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the image: %s", strerror(errno));
		return NULL;
	}
	*len = (uint64_t)st.st_size;
	return p;
}

/* ---- warm start: shoal-vmm's protocol up to STARTED ---- */

static void send_error(int sock, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void send_error(int sock, int status, const char *fmt, ...)
{
	struct vmm_msg_error m;
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMM_MSG_ERROR;
	m.hdr.version = VMM_PROTO_VERSION;
	m.status = status;
	va_start(ap, fmt);
	vsnprintf(m.reason, sizeof(m.reason), fmt, ap);
	va_end(ap);
	vmm_msg_send(sock, &m, sizeof(m), NULL, 0);
	say("%s", m.reason);
}

static void close_fds(const int *fds, unsigned n)
{
	while (n)
		close(fds[--n]);
}

/* A DISK message, checked whole.  -1 after an ERROR. */
static int take_disk(struct proc_guest *g, int sock, const void *buf, size_t len, int *fds,
                     unsigned nfds)
{
	const struct vmm_msg_disk *m = buf;
	char err[300];

	if (len != sizeof(*m) || m->hdr.version != VMM_PROTO_VERSION || nfds != 1 ||
	    !memchr(m->name, '\0', sizeof(m->name)) || m->readonly > 1) {
		close_fds(fds, nfds);
		send_error(sock, GUEST_EXIT_USAGE, "malformed DISK message");
		return -1;
	}
	if (give_disk(g, m->name, fds[0], (int)m->readonly, err, sizeof(err)) < 0) {
		close(fds[0]);
		send_error(sock, GUEST_EXIT_USAGE, "DISK message: %s", err);
		return -1;
	}
	return 0;
}

/* A NIC message, checked whole; no rate limit (shoal-proc has none yet).  -1 after an ERROR. */
static int take_nic(struct proc_guest *g, int sock, const void *buf, size_t len, int *fds,
                    unsigned nfds)
{
	const struct vmm_msg_nic *m = buf;
	struct shoal_device *d;
	char err[300];

	if (len != sizeof(*m) || m->hdr.version != VMM_PROTO_VERSION || nfds != 1 ||
	    !memchr(m->name, '\0', sizeof(m->name)) ||
	    !memchr(m->ifname, '\0', sizeof(m->ifname)) || (m->mtu && m->mtu != 1500) ||
	    m->prefix_len > 32 || (!m->ipv4 && (m->prefix_len || m->gateway)) ||
	    (m->ipv4 && !m->prefix_len)) {
		close_fds(fds, nfds);
		send_error(sock, GUEST_EXIT_USAGE, "malformed NIC message");
		return -1;
	}
	if (m->rate_pps || m->rate_bytes) {
		close_fds(fds, nfds);
		send_error(sock, GUEST_EXIT_USAGE,
		           "NIC message: shoal-proc does not limit a guest's rate");
		return -1;
	}
	if (give_nic(g, m->name, m->ifname, fds[0], m->mac, err, sizeof(err)) < 0) {
		close(fds[0]);
		send_error(sock, GUEST_EXIT_USAGE, "NIC message: %s", err);
		return -1;
	}
	d = &g->dev[g->ndevs - 1];
	d->u.net.ipv4 = m->ipv4;
	d->u.net.gateway = m->gateway;
	d->u.net.prefix_len = (uint8_t)m->prefix_len;
	return 0;
}

/* BOOT's arguments into argv[1..]: exactly argc - 1 strings filling args_bytes.  argc or -1. */
static int split_args(struct vmm_msg_boot *b, size_t msg_len, char **argv, int max)
{
	size_t have = msg_len - sizeof(*b), pos = 0;
	int n = 1;

	if (b->args_bytes != have || b->argc < 1 || b->argc > (uint32_t)max)
		return -1;
	while (pos < have) {
		char *s = b->args + pos;
		char *nul = memchr(s, '\0', have - pos);

		if (!nul || n >= (int)b->argc)
			return -1;
		argv[n++] = s;
		pos += (size_t)(nul - s) + 1;
	}
	return n == (int)b->argc ? n : -1;
}

static int warm_start(struct proc_guest *g, struct proc_jail *j, int sock, unsigned nports,
                      const unsigned *ports)
{
	static union {
		struct vmm_msg_boot boot;
		char raw[VMM_MSG_MAX];
	} msg;
	static char *argv[4097];
	struct vmm_msg_ready ready;
	struct vmm_msg_started started;
	int fds[2 * PROC_PORTS_MAX], bfds[3], argc, status;
	const uint8_t *img;
	uint64_t len, entry, max = g->mem_bytes;
	unsigned i, nfds;
	char err[512];
	long r;

	vmm_set_name(guest_name, sizeof(guest_name), "(warm)");
	/* A daemon's tender waits for its guest jailed already (proc_jail_early). */
	if (proc_jail_early(j, err, sizeof(err)) < 0) {
		send_error(sock, GUEST_EXIT_SETUP, "%s", err);
		return GUEST_EXIT_SETUP;
	}
	memset(&ready, 0, sizeof(ready));
	for (i = 0; i < nports; i++) {
		int kick = eventfd(0, EFD_NONBLOCK), note = eventfd(0, EFD_NONBLOCK);

		if (kick < 0 || note < 0) {
			send_error(sock, GUEST_EXIT_SETUP, "eventfd: %s", strerror(errno));
			return GUEST_EXIT_SETUP;
		}
		g->ports[g->nports++] = (struct shoal_proc_port){ ports[i], kick, note, 0 };
		ready.ports[i] = ports[i];
		fds[2 * i] = kick;
		fds[2 * i + 1] = note;
	}
	ready.hdr.type = VMM_MSG_READY;
	ready.hdr.version = VMM_PROTO_VERSION;
	ready.pid = (uint32_t)getpid();
	ready.vcpu_tid = (uint32_t)getpid(); /* the guest is this process's only thread */
	ready.mem_max_bytes = max;
	ready.nports = nports;
	if (vmm_msg_send(sock, &ready, sizeof(ready), fds, 2 * nports) < 0)
		return GUEST_EXIT_USAGE; /* nobody is listening */

	/* The disks and the NICs, if any, then BOOT. */
	for (;;) {
		nfds = 3;
		r = vmm_msg_recv(sock, &msg, sizeof(msg), bfds, &nfds);
		if (r <= 0)
			return GUEST_EXIT_USAGE; /* the daemon went away: nothing to run */
		if ((size_t)r < sizeof(struct vmm_msg_hdr) ||
		    (msg.boot.hdr.type != VMM_MSG_DISK && msg.boot.hdr.type != VMM_MSG_NIC))
			break;
		if (msg.boot.hdr.type == VMM_MSG_DISK
		        ? take_disk(g, sock, &msg, (size_t)r, bfds, nfds) < 0
		        : take_nic(g, sock, &msg, (size_t)r, bfds, nfds) < 0)
			return GUEST_EXIT_USAGE;
	}
	if ((size_t)r < sizeof(msg.boot) || msg.boot.hdr.type != VMM_MSG_BOOT ||
	    msg.boot.hdr.version != VMM_PROTO_VERSION || nfds < 1) {
		close_fds(bfds, nfds);
		send_error(sock, GUEST_EXIT_USAGE, "malformed BOOT message");
		return GUEST_EXIT_USAGE;
	}
	if (msg.boot.flags || nfds != 1) {
		close_fds(bfds, nfds);
		send_error(sock, GUEST_EXIT_USAGE,
		           "BOOT message: shoal-proc takes no re-attach socket or exit record "
		           "(flags 0x%x)",
		           msg.boot.flags);
		return GUEST_EXIT_USAGE;
	}
	if (!memchr(msg.boot.name, '\0', sizeof(msg.boot.name)) || !msg.boot.name[0]) {
		close(bfds[0]);
		send_error(sock, GUEST_EXIT_USAGE, "BOOT message: bad guest name");
		return GUEST_EXIT_USAGE;
	}
	vmm_set_name(guest_name, sizeof(guest_name), msg.boot.name);
	argv[0] = guest_name;
	argc = split_args(&msg.boot, (size_t)r, argv, 4096);
	if (argc < 0) {
		close(bfds[0]);
		send_error(sock, GUEST_EXIT_USAGE,
		           "BOOT message: argc does not match the argument strings");
		return GUEST_EXIT_USAGE;
	}
	argv[argc] = NULL;
	if (msg.boot.mem_bytes &&
	    (msg.boot.mem_bytes > max || msg.boot.mem_bytes < SHOAL_MEM_MIN_BYTES ||
	     msg.boot.mem_bytes % (2u << 20))) {
		close(bfds[0]);
		send_error(
		    sock, GUEST_EXIT_USAGE,
		    "BOOT message: guest memory %llu MiB: must be a multiple of 2 MiB between "
		    "%llu and %llu MiB",
		    (unsigned long long)(msg.boot.mem_bytes >> 20), SHOAL_MEM_MIN_BYTES >> 20,
		    (unsigned long long)(max >> 20));
		return GUEST_EXIT_USAGE;
	}
	if (msg.boot.mem_bytes)
		g->mem_bytes = msg.boot.mem_bytes;
	snprintf(g->name, sizeof(g->name), "%s", guest_name);
	img = map_image(bfds[0], &len, err, sizeof(err));
	close(bfds[0]);
	if (!img) {
		send_error(sock, GUEST_EXIT_IMAGE, "%s", err);
		return GUEST_EXIT_IMAGE;
	}
	if (proc_stats_open(g, err, sizeof(err)) < 0) {
		send_error(sock, GUEST_EXIT_SETUP, "%s", err);
		return GUEST_EXIT_SETUP;
	}
	if (proc_load(g, img, len, argc, argv, &entry, &status, err, sizeof(err)) < 0) {
		send_error(sock, status, "%s%s",
		           status == GUEST_EXIT_IMAGE ? "image refused: " : "", err);
		return status;
	}
	munmap((void *)img, (size_t)len);
	memset(&started, 0, sizeof(started));
	started.hdr.type = VMM_MSG_STARTED;
	started.hdr.version = VMM_PROTO_VERSION;
	started.boot_wall_ns = ((const struct shoal_boot_info *)SHOAL_PROC_BOOT_INFO)->boot_wall_ns;
	started.entry = entry;
	started.image_bytes = len;
	vmm_msg_send(sock, &started, sizeof(started), &g->stats_fd, g->stats_fd >= 0 ? 1 : 0);
	/* The control socket is not the guest's: proc_enter closes it with the rest. */
	proc_enter(g, j, entry, err, sizeof(err));
	say("%s", err);
	return GUEST_EXIT_SETUP;
}

/* --ports P[,P...] for a warm start. */
static int parse_ports(const char *s, unsigned *ports, unsigned *n)
{
	char buf[128], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long p;
		unsigned i;

		if (*n == PROC_PORTS_MAX || parse_int(tok, 1, SHOAL_DEV_PORT_FIRST - 1, &p) < 0)
			return -1;
		for (i = 0; i < *n; i++)
			if (ports[i] == (unsigned)p)
				return -1;
		ports[(*n)++] = (unsigned)p;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "name", required_argument, NULL, 'n' },
		{ "evtchn", required_argument, NULL, 'e' },
		{ "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'N' },
		{ "net-ip", required_argument, NULL, 'I' },
		{ "user", required_argument, NULL, 'u' },
		{ "ports", required_argument, NULL, 'p' },
		{ "control-fd", required_argument, NULL, 'c' },
		{ "mntns-fd", required_argument, NULL, 'M' },
		{ "netns-fd", required_argument, NULL, 'T' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ "no-jail", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct proc_guest g;
	struct proc_jail j = {
		.uid = 65534,
		.gid = 65534,
		.seccomp = 1,
		.jail = 1,
		.guest_name = guest_name,
		.mntns_fd = -1,
		.netns_fd = -1,
	};
	const uint8_t *img;
	uint64_t len, entry;
	char err[512];
	int c, status, named = 0, control_fd = -1, fd;
	unsigned i, uid, gid, ports[PROC_PORTS_MAX] = { 1 }, nports = 1;
	long v;

	/*
	 * The console and the report are descriptors 1 and 2 whatever else
	 * the guest holds: a tender started without them would give those
	 * numbers to a disk or a port.
	 */
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return GUEST_EXIT_SETUP;
	g.mem_bytes = 32ull << 20;
	g.stats_fd = -1;
	while ((c = getopt_long(argc, argv, "+m:n:e:d:N:u:p:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_int(optarg, 2, 4096, &v) < 0 || v % 2) {
				say("--mem %s: want an even number of MiB from 2 to 4096", optarg);
				return GUEST_EXIT_USAGE;
			}
			g.mem_bytes = (uint64_t)v << 20;
			break;
		case 'n':
			vmm_set_name(guest_name, sizeof(guest_name), optarg);
			named = 1;
			break;
		case 'e':
			if (add_port(&g, optarg) < 0) {
				say("--evtchn %s: want PORT:KICK_FD:NOTIFY_FD, port 1..%u once "
				    "each, "
				    "at most %u ports",
				    optarg, SHOAL_EVTCHN_NPORTS - 1, PROC_PORTS_MAX);
				return GUEST_EXIT_USAGE;
			}
			break;
		case 'd':
			if (add_disk(&g, optarg) < 0)
				return GUEST_EXIT_USAGE;
			break;
		case 'N':
			if (add_net(&g, optarg) < 0)
				return GUEST_EXIT_USAGE;
			break;
		case 'I':
			if (add_net_ip(&g, optarg) < 0)
				return GUEST_EXIT_USAGE;
			break;
		case 'u':
			if (sscanf(optarg, "%u:%u", &uid, &gid) != 2 || uid == 0 || gid == 0) {
				say("--user %s: want UID:GID, neither of them 0", optarg);
				return GUEST_EXIT_USAGE;
			}
			j.uid = uid;
			j.gid = gid;
			break;
		case 'p':
			if (parse_ports(optarg, ports, &nports) < 0) {
				say("--ports %s: want a comma-separated list of ports 1..%u",
				    optarg, SHOAL_DEV_PORT_FIRST - 1);
				return GUEST_EXIT_USAGE;
			}
			break;
		case 'c':
			if (parse_int(optarg, 3, 1 << 20, &v) < 0) {
				say("--control-fd %s: not a descriptor number", optarg);
				return GUEST_EXIT_USAGE;
			}
			control_fd = (int)v;
			break;
		case 'M':
			if (parse_int(optarg, 3, 1 << 20, &v) < 0 || !fd_open((int)v)) {
				say("--mntns-fd %s: not an open descriptor", optarg);
				return GUEST_EXIT_USAGE;
			}
			j.mntns_fd = (int)v;
			break;
		case 'T':
			if (parse_int(optarg, 3, 1 << 20, &v) < 0 || !fd_open((int)v)) {
				say("--netns-fd %s: not an open descriptor", optarg);
				return GUEST_EXIT_USAGE;
			}
			j.netns_fd = (int)v;
			break;
		case 'S':
			j.seccomp = 0;
			break;
		case 'J':
			j.jail = 0;
			j.seccomp = 0;
			break;
		case 'v':
			j.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return GUEST_EXIT_USAGE;
		}
	}
	if (control_fd >= 0) {
		/* A warm tender is a daemon's, for guests it runs in earnest. */
		if (!j.jail) {
			say("--no-jail is for a cold start only (profiling): a warm tender is "
			    "always jailed");
			return GUEST_EXIT_USAGE;
		}
		if (g.ndevs || g.nports || optind != argc) {
			say("--control-fd takes no image, --evtchn, --disk or --net: a warm tender "
			    "is "
			    "given them by messages");
			return GUEST_EXIT_USAGE;
		}
		return warm_start(&g, &j, control_fd, nports, ports);
	}
	if (optind >= argc) {
		usage(stderr);
		return GUEST_EXIT_USAGE;
	}
	if (!named)
		vmm_name_from_path(guest_name, sizeof(guest_name), argv[optind], ".proc");
	for (i = 0; i < g.nports; i++)
		if ((g.ports[i].kick_fd >= 0 && !fd_open(g.ports[i].kick_fd)) ||
		    (g.ports[i].notify_fd >= 0 && !fd_open(g.ports[i].notify_fd))) {
			say("event port %u: descriptor %d or %d is not open", g.ports[i].port,
			    g.ports[i].kick_fd, g.ports[i].notify_fd);
			return GUEST_EXIT_SETUP;
		}
	for (i = 0; i < g.nports; i++)
		for (unsigned d = 0; d < g.ndevs; d++)
			if (g.ports[i].port == g.dev[d].port) {
				say("event port %u is device %s's doorbell", g.ports[i].port,
				    g.dev[d].name);
				return GUEST_EXIT_USAGE;
			}
	snprintf(g.name, sizeof(g.name), "%s", guest_name);
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say("cannot open image %s: %s", argv[optind], strerror(errno));
		return GUEST_EXIT_IMAGE;
	}
	img = map_image(fd, &len, err, sizeof(err));
	close(fd);
	if (!img) {
		say("image %s: %s", argv[optind], err);
		return GUEST_EXIT_IMAGE;
	}
	/* argv[optind] is the image; the guest's argv[0] is its name. */
	argv[optind] = guest_name;
	if (proc_load(&g, img, len, argc - optind, argv + optind, &entry, &status, err,
	              sizeof(err)) < 0) {
		say("%s%s", status == GUEST_EXIT_IMAGE ? "image refused: " : "", err);
		return status;
	}
	munmap((void *)img, (size_t)len);
	proc_enter(&g, &j, entry, err, sizeof(err));
	say("%s", err);
	return GUEST_EXIT_SETUP;
}
