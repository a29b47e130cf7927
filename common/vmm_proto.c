/*
 * Message framing for the tender's control socket (see vmm_proto.h):
 * one SOCK_SEQPACKET message per call, descriptors as SCM_RIGHTS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/vmm_proto.h"

int vmm_exit_record_parse(const char *buf, size_t len, int *status, char *reason, size_t reason_len,
                          size_t *console_off)
{
	const char *nl1, *nl2;
	char num[16];
	size_t n;
	char *end;
	long v;

	if (len < 9 || memcmp(buf, "status ", 7) != 0)
		return -1;
	nl1 = memchr(buf, '\n', len);
	if (!nl1 || nl1 - buf - 7 >= (long)sizeof(num))
		return -1;
	memcpy(num, buf + 7, (size_t)(nl1 - buf - 7));
	num[nl1 - buf - 7] = '\0';
	v = strtol(num, &end, 10);
	if (*end || end == num || v < 0 || v > 255)
		return -1;
	nl1++;
	if ((size_t)(nl1 - buf) + 7 > len || memcmp(nl1, "reason ", 7) != 0)
		return -1;
	nl2 = memchr(nl1, '\n', len - (size_t)(nl1 - buf));
	if (!nl2)
		return -1;
	n = (size_t)(nl2 - nl1 - 7);
	if (n >= reason_len)
		n = reason_len - 1;
	memcpy(reason, nl1 + 7, n);
	reason[n] = '\0';
	*status = (int)v;
	*console_off = (size_t)(nl2 + 1 - buf);
	return 0;
}

int vmm_msg_send(int sock, const void *msg, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VMM_FDS_MAX)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { 0 };
	ssize_t r;

	if (nfds > VMM_FDS_MAX)
		return -EINVAL;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

long vmm_msg_recv(int sock, void *buf, size_t cap, int *fds, unsigned *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VMM_FDS_MAX)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	unsigned want = nfds ? *nfds : 0, got = 0;
	ssize_t r;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		unsigned i, n;
		int *in;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		in = (int *)CMSG_DATA(c);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, &in[i], sizeof(fd));
			if (got < want)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (nfds)
		*nfds = got;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		while (got)
			close(fds[--got]);
		if (nfds)
			*nfds = 0;
		return -EMSGSIZE;
	}
	return (long)r;
}
