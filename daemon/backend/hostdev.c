/*
 * Loop devices and bridge ports for back-end drivers in the kernel
 * (hostdev.h): what Xen's hotplug scripts "block" and "vif-bridge" do
 * for a disk file and a vif, done with ioctls and one rtnetlink request
 * instead of a shell and losetup, ip and xenstore-write.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/hostdev.h"

/* A free loop device taken by someone else between GET_FREE and ours: try again, this often. */
#define LOOP_TRIES 16

/* LOOP_CONFIGURE (Linux 5.8) in one step, else LOOP_SET_FD and LOOP_SET_STATUS64. */
static int loop_bind(int lfd, int ffd, const char *path, int readonly)
{
	struct loop_config c;
	int e;

	memset(&c, 0, sizeof(c));
	c.fd = (uint32_t)ffd;
	c.info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0);
	snprintf((char *)c.info.lo_file_name, sizeof(c.info.lo_file_name), "%s", path);
	if (ioctl(lfd, LOOP_CONFIGURE, &c) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -1;
	/* The old way: read-only follows the file's open mode. */
	if (ioctl(lfd, LOOP_SET_FD, ffd) < 0)
		return -1;
	if (ioctl(lfd, LOOP_SET_STATUS64, &c.info) < 0) {
		e = errno;
		ioctl(lfd, LOOP_CLR_FD, 0);
		errno = e;
		return -1;
	}
	return 0;
}

int hostdev_loop_attach(const char *path, int readonly, int *nr, dev_t *rdev, char *err,
                        size_t errlen)
{
	char dev[32];
	struct stat st;
	int ctl = -1, ffd = -1, lfd = -1, n, tries;

	ffd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (ffd < 0)
		return be_fail_errno(err, errlen, "cannot open %s", path);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		be_fail_errno(err, errlen,
		              "cannot open /dev/loop-control (is the loop module loaded?)");
		goto fail;
	}
	for (tries = 0; tries < LOOP_TRIES; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			be_fail_errno(err, errlen, "no free loop device");
			goto fail;
		}
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		lfd = open(dev, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0) {
			be_fail_errno(err, errlen, "cannot open %s", dev);
			goto fail;
		}
		if (loop_bind(lfd, ffd, path, readonly) == 0)
			break;
		if (errno != EBUSY) {
			be_fail_errno(err, errlen, "cannot attach %s to %s", path, dev);
			goto fail;
		}
		close(lfd);
		lfd = -1;
	}
	if (lfd < 0) {
		be_fail(err, errlen, "every free loop device was taken before %s could have one",
		        path);
		goto fail;
	}
	if (fstat(lfd, &st) < 0) {
		be_fail_errno(err, errlen, "cannot stat %s", dev);
		goto fail;
	}
	close(ctl);
	close(ffd); /* the loop device holds the file now */
	*nr = n;
	*rdev = st.st_rdev;
	return lfd;
fail:
	if (lfd >= 0)
		close(lfd); /* autoclear, if it was bound: freed with it */
	if (ctl >= 0)
		close(ctl);
	close(ffd);
	return -1;
}

void hostdev_loop_release(int fd)
{
	if (fd < 0)
		return;
	/* With users left (blkback), this only marks it autoclear, which it is already. */
	ioctl(fd, LOOP_CLR_FD, 0);
	close(fd);
}

int hostdev_loop_open(int nr, char *err, size_t errlen)
{
	char dev[32];
	int fd;

	snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return be_fail_errno(err, errlen, "cannot open %s", dev);
	return fd;
}

static int read_sys(const char *path, char *buf, size_t len)
{
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int hostdev_loop_backing(int nr, char *buf, size_t len)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/block/loop%d/loop/backing_file", nr);
	return read_sys(path, buf, len);
}

int hostdev_loop_readonly(int nr)
{
	char path[96], v[16];

	snprintf(path, sizeof(path), "/sys/block/loop%d/loop/backing_file", nr);
	if (read_sys(path, v, sizeof(v)) < 0)
		return -1;
	snprintf(path, sizeof(path), "/sys/block/loop%d/ro", nr);
	if (read_sys(path, v, sizeof(v)) < 0)
		return -1;
	return v[0] == '1';
}

int hostdev_is_bridge(const char *ifname)
{
	char path[128];
	struct stat st;

	if (strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return 0;
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", ifname);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int hostdev_master(const char *ifname, char *buf, size_t len)
{
	char path[128], link[256];
	const char *m;
	ssize_t n;

	if (strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/master", ifname);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	m = strrchr(link, '/');
	snprintf(buf, len, "%s", m ? m + 1 : link);
	return 0;
}

/*
 * One RTM_NEWLINK request for interface idx: with master, onto the
 * bridge of that index and up; without, only its IPv6 address
 * generation off (no address of its own).  The kernel answers before
 * send() returns: 0, or -1 with errno.
 */
static int newlink(int sock, unsigned idx, uint32_t master)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[3 * RTA_SPACE(0) + RTA_SPACE(sizeof(uint32_t))];
	} req;
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} ans;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct rtattr *rta, *af, *inet6;
	size_t len;
	ssize_t r;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)idx;
	if (master) {
		req.ifi.ifi_flags = IFF_UP;
		req.ifi.ifi_change = IFF_UP;
		rta = (struct rtattr *)req.attrs;
		rta->rta_type = IFLA_MASTER;
		rta->rta_len = RTA_LENGTH(sizeof(uint32_t));
		memcpy(RTA_DATA(rta), &master, sizeof(master));
		len = RTA_SPACE(sizeof(uint32_t));
	} else {
		/* IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: none } } */
		af = (struct rtattr *)req.attrs;
		af->rta_type = IFLA_AF_SPEC;
		inet6 = (struct rtattr *)RTA_DATA(af);
		inet6->rta_type = AF_INET6;
		rta = (struct rtattr *)RTA_DATA(inet6);
		rta->rta_type = IFLA_INET6_ADDR_GEN_MODE;
		rta->rta_len = RTA_LENGTH(1);
		*(uint8_t *)RTA_DATA(rta) = IN6_ADDR_GEN_MODE_NONE;
		inet6->rta_len = (unsigned short)(RTA_LENGTH(0) + RTA_ALIGN(rta->rta_len));
		af->rta_len = (unsigned short)(RTA_LENGTH(0) + inet6->rta_len);
		len = RTA_ALIGN(af->rta_len);
	}
	req.nh.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof(req.ifi)) + len);
	if (sendto(sock, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	r = recv(sock, &ans, sizeof(ans), 0);
	if (r < 0)
		return -1;
	if ((size_t)r < NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ans.nh.nlmsg_type != NLMSG_ERROR) {
		errno = EPROTO;
		return -1;
	}
	errno = -((struct nlmsgerr *)NLMSG_DATA(&ans.nh))->error;
	return errno ? -1 : 0;
}

/*
 * A guest's interface needs no IPv6 address on the host: it is a bridge
 * port, and the bridge forwards the guests' IPv6 frames all the same.
 * Without one, bringing it up adds no link-local address and no route
 * to the kernel's per-device lists, which made each new tap slower as
 * the host filled (1.3 to 1.7 ms at 250 taps, 3 to 10 ms at 1,000 on one
 * bridge; 0.7 to 1.3 and 1.9 to 2.9 ms without).  A kernel with no IPv6
 * refuses the attribute (EAFNOSUPPORT): then it has none to make.
 */
int hostdev_enslave(const char *ifname, const char *bridge, int no_ll, char *err, size_t errlen)
{
	unsigned idx, bidx;
	int sock, rc;

	if (!hostdev_is_bridge(bridge))
		return be_fail(err, errlen,
		               "bridge %s does not exist on this host (or is not a bridge)",
		               bridge);
	idx = if_nametoindex(ifname);
	bidx = if_nametoindex(bridge);
	if (idx == 0)
		return be_fail(err, errlen, "interface %s does not exist", ifname);
	if (bidx == 0)
		return be_fail(err, errlen, "bridge %s is gone", bridge);
	sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (sock < 0)
		return be_fail_errno(err, errlen, "cannot open an rtnetlink socket");
	/* Before it is up: the kernel makes the link-local address as it comes up. */
	rc = no_ll ? newlink(sock, idx, 0) : 0;
	if (rc == 0 || errno == EAFNOSUPPORT)
		rc = newlink(sock, idx, bidx);
	if (rc < 0) {
		if (errno == EPROTO)
			be_fail(err, errlen,
			        "rtnetlink: an answer about %s that is not an acknowledgement",
			        ifname);
		else
			be_fail_errno(err, errlen, "cannot put %s on bridge %s", ifname, bridge);
	}
	close(sock);
	return rc;
}
