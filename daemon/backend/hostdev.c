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

/* One request, one acknowledgement: the kernel answers before send() returns. */
int hostdev_enslave(const char *ifname, const char *bridge, char *err, size_t errlen)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[RTA_SPACE(sizeof(uint32_t))];
	} req;
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} ans;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct rtattr *rta;
	unsigned idx, bidx;
	uint32_t master;
	ssize_t r;
	int sock, rc = -1;

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
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi)) + RTA_SPACE(sizeof(uint32_t));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)idx;
	req.ifi.ifi_flags = IFF_UP;
	req.ifi.ifi_change = IFF_UP;
	rta = (struct rtattr *)req.attrs;
	rta->rta_type = IFLA_MASTER;
	rta->rta_len = RTA_LENGTH(sizeof(uint32_t));
	master = bidx;
	memcpy(RTA_DATA(rta), &master, sizeof(master));
	if (sendto(sock, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) <
	    0) {
		be_fail_errno(err, errlen, "rtnetlink: cannot ask for %s on bridge %s", ifname,
		              bridge);
		goto out;
	}
	r = recv(sock, &ans, sizeof(ans), 0);
	if (r < 0) {
		be_fail_errno(err, errlen, "rtnetlink: no answer about %s on bridge %s", ifname,
		              bridge);
		goto out;
	}
	if ((size_t)r < NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ans.nh.nlmsg_type != NLMSG_ERROR) {
		be_fail(err, errlen, "rtnetlink: an answer about %s that is not an acknowledgement",
		        ifname);
		goto out;
	}
	errno = -((struct nlmsgerr *)NLMSG_DATA(&ans.nh))->error;
	if (errno) {
		be_fail_errno(err, errlen, "cannot put %s on bridge %s", ifname, bridge);
		goto out;
	}
	rc = 0;
out:
	close(sock);
	return rc;
}
