/*
 * A tender that breaks the control protocol (common/vmm_proto.h), for
 * test_hostile_tender.sh: run by shoald in place of shoal-vmm, it sends a
 * sound READY, and after BOOT does what its guest's name says:
 *
 *   calm           STARTED, then answers every probe until killed
 *   started-short  a STARTED cut to its header
 *   started-long   a STARTED with 100 bytes too many
 *   exited-short   STARTED, then an EXITED cut in the middle of its reason
 *   error-short    an ERROR of 12 bytes
 *   error-huge     an ERROR larger than any message shoald takes
 *   exited-nonul   STARTED, then an EXITED whose reason has no NUL and an
 *                  exit status no tender uses
 *   bad-version    STARTED with a protocol version that does not exist
 *   unknown-type   a message of type 99, then a sound EXITED (status 7)
 *   fd-flood       STARTED carrying 8 descriptors nobody asked for
 *
 * Whatever it does, shoald must end that guest with a reason and go on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/vmm_proto.h"

#define CTL 3

static void hdr(struct vmm_msg_hdr *h, uint32_t type)
{
	h->type = type;
	h->version = VMM_PROTO_VERSION;
}

static void send_started(void)
{
	struct vmm_msg_started m = { 0 };

	hdr(&m.hdr, VMM_MSG_STARTED);
	vmm_msg_send(CTL, &m, sizeof(m), NULL, 0);
}

/* Answer probes (kick -> notify) until the daemon goes away or kills us. */
static int calm(int kick, int notify)
{
	struct pollfd pf[2] = { { .fd = kick, .events = POLLIN }, { .fd = CTL, .events = POLLIN } };
	uint64_t v, one = 1;

	send_started();
	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (pf[1].revents & (POLLIN | POLLHUP)) {
			char buf[VMM_MSG_MAX];

			if (recv(CTL, buf, sizeof(buf), MSG_DONTWAIT) == 0)
				return 0;
		}
		if ((pf[0].revents & POLLIN) && read(kick, &v, sizeof(v)) == sizeof(v) &&
		    write(notify, &one, sizeof(one)) != sizeof(one))
			return 1;
	}
}

int main(void)
{
	static union {
		struct vmm_msg_boot b;
		char raw[VMM_MSG_MAX];
	} boot;
	struct vmm_msg_ready ready = { 0 };
	struct vmm_msg_exited ex;
	int fds[2], bfds[8], junk[8];
	unsigned nfds = 8, i;
	const char *name;
	long r;

	fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* kick: daemon -> guest */
	fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* notify: guest -> daemon */
	hdr(&ready.hdr, VMM_MSG_READY);
	ready.pid = (uint32_t)getpid();
	ready.vcpu_tid = (uint32_t)getpid();
	ready.mem_max_bytes = 64ull << 20;
	ready.nports = 1;
	ready.ports[0] = 1;
	if (vmm_msg_send(CTL, &ready, sizeof(ready), fds, 2) < 0)
		return 1;
	r = vmm_msg_recv(CTL, &boot, sizeof(boot), bfds, &nfds);
	if (r < (long)sizeof(boot.b))
		return 1;
	boot.b.name[sizeof(boot.b.name) - 1] = '\0';
	name = boot.b.name;

	memset(&ex, 0, sizeof(ex));
	hdr(&ex.hdr, VMM_MSG_EXITED);
	ex.status = 7;
	snprintf(ex.reason, sizeof(ex.reason), "the hostile tender's guest %s ended", name);

	if (!strcmp(name, "calm"))
		return calm(fds[0], fds[1]);
	if (!strcmp(name, "started-short")) {
		struct vmm_msg_started m = { 0 };

		hdr(&m.hdr, VMM_MSG_STARTED);
		vmm_msg_send(CTL, &m, sizeof(m.hdr), NULL, 0);
	} else if (!strcmp(name, "started-long")) {
		char m[sizeof(struct vmm_msg_started) + 100] = { 0 };

		hdr((struct vmm_msg_hdr *)m, VMM_MSG_STARTED);
		vmm_msg_send(CTL, m, sizeof(m), NULL, 0);
	} else if (!strcmp(name, "exited-short")) {
		send_started();
		vmm_msg_send(CTL, &ex, 40, NULL, 0);
	} else if (!strcmp(name, "error-short")) {
		struct vmm_msg_error m = { 0 };

		hdr(&m.hdr, VMM_MSG_ERROR);
		m.status = 203;
		vmm_msg_send(CTL, &m, 12, NULL, 0);
	} else if (!strcmp(name, "error-huge")) {
		static char m[VMM_MSG_MAX];

		memset(m, 'A', sizeof(m));
		hdr((struct vmm_msg_hdr *)m, VMM_MSG_ERROR);
		vmm_msg_send(CTL, m, sizeof(m), NULL, 0);
	} else if (!strcmp(name, "exited-nonul")) {
		send_started();
		memset(ex.reason, 'R', sizeof(ex.reason));
		ex.status = -77;
		vmm_msg_send(CTL, &ex, sizeof(ex), NULL, 0);
	} else if (!strcmp(name, "bad-version")) {
		struct vmm_msg_started m = { 0 };

		hdr(&m.hdr, VMM_MSG_STARTED);
		m.hdr.version = 0xdead;
		vmm_msg_send(CTL, &m, sizeof(m), NULL, 0);
	} else if (!strcmp(name, "unknown-type")) {
		struct vmm_msg_started m = { 0 };

		hdr(&m.hdr, 99);
		vmm_msg_send(CTL, &m, sizeof(m), NULL, 0);
		send_started();
		vmm_msg_send(CTL, &ex, sizeof(ex), NULL, 0);
	} else if (!strcmp(name, "fd-flood")) {
		struct vmm_msg_started m = { 0 };

		for (i = 0; i < 8; i++)
			junk[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		hdr(&m.hdr, VMM_MSG_STARTED);
		vmm_msg_send(CTL, &m, sizeof(m), junk, 8);
		vmm_msg_send(CTL, &ex, sizeof(ex), NULL, 0);
	}
	/* Stay until shoald kills us or goes away, as a confused tender might. */
	for (i = 0; i < 300; i++) {
		char buf[64];

		if (recv(CTL, buf, sizeof(buf), MSG_DONTWAIT) == 0)
			break;
		usleep(100000);
	}
	return 9;
}
