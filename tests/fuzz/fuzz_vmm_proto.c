/*
 * libFuzzer harness of the KVM tender's control protocol both ways
 * (common/vmm_proto.h): what shoald reads from a tender (the exit record
 * a tender leaves when no daemon listens; a message with more descriptors
 * than it takes; a proc tender's report on stderr, read in pieces, and
 * the end told from it and a wait status) and what the tender reads from shoald (the DISK and NIC
 * messages of the warm start, the arguments of BOOT).  The first byte
 * picks the message, the rest is it.  Seeds: the malformed messages of
 * tests/integration/test_tender.c's kinds and test_hostile_tender.sh's,
 * made by tests/fuzz/seeds.py.
 *
 * The tender's program is included, not linked, to reach its message
 * checks, which are static; its main is renamed out of the way.
 */
#define main vmm_tender_main
#include "vmm/main.c"
#undef main

#include <sys/socket.h>

#include "daemon/backend/proc.h"
#include "vmm/devs.h"

enum kind { K_EXITREC, K_DISK, K_NIC, K_BOOT, K_RECV, K_REPORT, K_COUNT };

static struct opts o;
static struct vmm_vm vm;
static int memfd = -1;

static void setup(void)
{
	memset(&o, 0, sizeof(o));
	o.control_fd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* where ERROR goes */
	memfd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	vm.devs = vmm_devs_new();
	if (o.control_fd < 0 || memfd < 0 || ftruncate(memfd, 4096) < 0 || !vm.devs)
		abort();
	vm.devs->ep = -1;
}

static void exit_record(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), reason[300];
	size_t off;
	int status;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (vmm_exit_record_parse(buf, size, &status, reason, 1 + (size ? data[0] : 0) % 300,
	                          &off) == 0 &&
	    (status < 0 || status > 255 || off > size || !memchr(reason, '\0', sizeof(reason))))
		abort();
	free(buf);
}

/* The warm start's messages, in the buffer it reads them into. */
static void tender_side(enum kind k, const uint8_t *data, size_t size)
{
	static union {
		struct vmm_msg_boot boot;
		char raw[VMM_MSG_MAX];
	} msg;
	static char *argv[4097];
	int fds[1];

	if (size > sizeof(msg))
		size = sizeof(msg);
	memset(&msg, 0, sizeof(msg));
	memcpy(&msg, data, size);
	switch (k) {
	case K_DISK:
		fds[0] = dup(memfd);
		vm.devs->ndisks = 0;
		if (take_disk(&o, &vm, &msg, size, fds, 1) == 0)
			close(vm.devs->disk[0].fd);
		break;
	case K_NIC:
		/* Not a tap: refused after the message's own checks. */
		fds[0] = dup(o.control_fd);
		o.rate_given = 0;
		if (take_nic(&o, &vm, &msg, size, fds, 1) == 0)
			abort();
		break;
	case K_BOOT:
		if (size >= sizeof(msg.boot)) {
			int argc = split_args(&msg.boot, size, argv, 4096);

			if (argc >= 0 && (argc < 1 || (unsigned)argc != msg.boot.argc))
				abort();
		}
		break;
	default:
		break;
	}
}

/*
 * A message with n descriptors into a reader that takes fewer: the rest
 * are closed, none leaks (the leak shows as the process running out).
 */
static void recv_case(const uint8_t *data, size_t size)
{
	int sp[2], fds[8], got[4], i;
	unsigned n, nfds = 4;
	char buf[256];
	long r;

	if (size < 1)
		return;
	n = data[0] % 9;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	for (i = 0; i < (int)n; i++)
		fds[i] = memfd;
	if (vmm_msg_send(sp[0], data + 1, size - 1 < 4096 ? size - 1 : 4096, fds, n) == 0) {
		r = vmm_msg_recv(sp[1], buf, sizeof(buf), got, &nfds);
		if (r > 0 && nfds > 4)
			abort();
		for (i = 0; r >= 0 && i < (int)nfds; i++)
			close(got[i]);
	}
	close(sp[0]);
	close(sp[1]);
}

/* A wait status (4 bytes), then the report in pieces of the sizes its bytes say. */
static void proc_report(const uint8_t *data, size_t size)
{
	struct proc_report r;
	char reason[300];
	int ws, status;
	size_t piece;

	if (size < 4)
		return;
	memcpy(&ws, data, 4);
	data += 4, size -= 4;
	memset(&r, 0, sizeof(r));
	while (size) {
		piece = 1 + data[0] % 97;
		if (piece > size)
			piece = size;
		proc_tender_report_feed(&r, (const char *)data, piece);
		data += piece, size -= piece;
	}
	proc_tender_end(ws, &r, &status, reason, sizeof(reason));
	if (!reason[0] || strlen(proc_tender_report_line(&r)) >= PROC_REPORT_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum kind k;

	if (memfd < 0)
		setup();
	if (size < 1)
		return 0;
	k = (enum kind)(data[0] % K_COUNT);
	if (k == K_EXITREC)
		exit_record(data + 1, size - 1);
	else if (k == K_RECV)
		recv_case(data + 1, size - 1);
	else if (k == K_REPORT)
		proc_report(data + 1, size - 1);
	else
		tender_side(k, data + 1, size - 1);
	return 0;
}
