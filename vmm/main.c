/*
 * shoal-vmm: runs one guest on /dev/kvm.  Two ways to start:
 *
 *   shoal-vmm [options] IMAGE [ARG...]    cold: make the VM, load, run
 *   shoal-vmm [options] --control-fd FD   warm: make the VM now, then wait
 *                                         for an image (vmm_proto.h)
 *
 * The guest's console is this process's stdout; a guest that ends badly
 * is reported on stderr in one line, and the exit status says how it
 * ended (vmm_proto.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/jail.h"
#include "vmm/vmm.h"
#include "vmm/util.h"

/*
 * A jailed tender's address space: the guest's memory, the image mapped
 * at boot (no larger: it must fit there) and the tender's own (its
 * threads' stacks, libc), which this leaves room for.
 */
#define JAIL_OWN_BYTES (64ull << 20)
/* The descriptors a warm tender still receives once jailed: disks, NICs, BOOT's. */
#define JAIL_MORE_FDS (VMM_DISKS_MAX + VMM_NICS_MAX + 3 + 2)
/*
 * Its tasks: the vCPU's (the main thread), the devices' I/O thread, the
 * control thread, and the worker KVM makes at the first KVM_RUN (its
 * huge-page recovery, counted as the tender's: at 0 more, KVM_RUN fails
 * with EAGAIN).
 */
#define JAIL_TASKS 4

struct opts {
	uint64_t mem_bytes;
	const char *name;
	int control_fd;
	int seccomp;
	int verbose;
	int jailed; /* --user given: shoald's warm tender, jailed before the VM is made */
	int kvm_fd; /* --kvm-fd: /dev/kvm, opened by shoald; -1: open it here */
	struct vmm_jail jail;
	unsigned nports;
	struct vmm_port ports[VMM_PORTS_MAX];
	struct vmm_devs *devs; /* --disk, --net: cold start only (a warm one's come by messages) */
	int nics;              /* --net given: cold start only */
	/* Warm: the rate limit the first NIC message gave; every other must give the same. */
	int rate_given;
	uint64_t rate_pps, rate_bytes;
};

static const char *prog_name = "shoal-vmm";
static char guest_name[SHOAL_NAME_MAX] = "?";

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: %s [options] IMAGE [ARG...]\n"
	    "       %s [options] --control-fd FD\n"
	    "  -m, --mem MIB            guest memory (default 32; warm: the most a guest may get)\n"
	    "  -n, --name NAME          guest name (default: the image's file name)\n"
	    "  -e, --evtchn P:KICK:NOTE wire event port P to eventfds KICK (host->guest)\n"
	    "                           and NOTE (guest->host); -1 for none (repeatable)\n"
	    "  -p, --ports P[,P...]     warm: ports to wire with eventfds of our own (default 1)\n"
	    "  -d, --disk NAME:PATH[:ro] give the guest a disk (a file of whole 512-byte "
	    "sectors),\n"
	    "                           read-only with :ro (repeatable; cold start)\n"
	    "  -N, --net NAME:IFNAME[:MAC] give the guest a NIC on the existing tap IFNAME\n"
	    "      --net-ip A.B.C.D/P[:GW] the last NIC's IPv4 address and gateway\n"
	    "      --net-rate PPS:BYTES  rate limit each way, packets and bytes a second "
	    "(0: none)\n"
	    "  -c, --control-fd FD      warm start over this SOCK_SEQPACKET socket\n"
	    "      --user UID:GID       warm: jail the tender as UID:GID (both not 0), in new\n"
	    "                           ipc and uts namespaces, with no capability\n"
	    "      --kvm-fd FD          warm: /dev/kvm, open on FD\n"
	    "      --mntns-fd FD        warm, jailed: enter this mount namespace (its root "
	    "empty)\n"
	    "      --netns-fd FD        warm, jailed: enter this network namespace\n"
	    "      --no-seccomp         do not confine the tender (debugging)\n"
	    "  -v, --verbose            report set-up timings on stderr\n",
	    prog_name, prog_name);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[768];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "%s: %s: ", prog_name, guest_name);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	if (n < (int)sizeof(buf) - 1)
		buf[n++] = '\n';
	(void)!write(2, buf, (size_t)n);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
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

static int parse_evtchn(const char *s, struct vmm_port *p)
{
	long port, kick, note;
	char buf[64], *a, *b;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	a = strchr(buf, ':');
	if (!a)
		return -1;
	*a++ = '\0';
	b = strchr(a, ':');
	if (!b)
		return -1;
	*b++ = '\0';
	if (parse_int(buf, 1, SHOAL_EVTCHN_NPORTS - 1, &port) < 0 ||
	    parse_int(a, -1, 1 << 20, &kick) < 0 || parse_int(b, -1, 1 << 20, &note) < 0)
		return -1;
	p->port = (unsigned)port;
	p->kick_fd = (int)kick;
	p->notify_fd = (int)note;
	return 0;
}

/* Map an image descriptor read-only.  Returns NULL with err set. */
static const uint8_t *map_image(int fd, uint64_t *len, char *err, size_t errlen)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat the image: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the image is not a regular file");
		return NULL;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "the image is empty");
		return NULL;
	}
	if ((uint64_t)st.st_size > IMAGE_MAX_BYTES) {
		snprintf(err, errlen, "the image is %llu MiB, larger than %llu MiB",
		         (unsigned long long)st.st_size >> 20, IMAGE_MAX_BYTES >> 20);
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

static int run_cold(struct vmm_vm *vm)
{
	struct vmm_console_sink out = { vmm_console_to_fd, (void *)(intptr_t)1 };
	struct vmm_hc_result res;
	int status;

	memset(&res, 0, sizeof(res));
	status = vmm_vm_run(vm, &out, &res);
	if (status > GUEST_EXIT_GUEST_MAX)
		say("%s", res.reason);
	vmm_devs_report(vm->devs, 2);
	return status;
}

static int cold_start(struct opts *o, const char *path, int argc, char **argv)
{
	struct vmm_vm vm;
	const uint8_t *img;
	uint64_t len, t0 = now_us(), t1, t2;
	char err[512];
	int fd, status;
	unsigned i;

	if (!o->name)
		vmm_name_from_path(guest_name, sizeof(guest_name), path, ".kvm");
	argv[0] = guest_name;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say("cannot open image %s: %s", path, strerror(errno));
		return GUEST_EXIT_IMAGE;
	}
	img = map_image(fd, &len, err, sizeof(err));
	close(fd);
	if (!img) {
		say("image %s: %s", path, err);
		return GUEST_EXIT_IMAGE;
	}
	if (vmm_vm_create(&vm, o->mem_bytes, err, sizeof(err)) < 0) {
		say("%s", err);
		return GUEST_EXIT_SETUP;
	}
	for (i = 0; i < o->nports; i++)
		if (vmm_vm_wire_port(&vm, o->ports[i].port, o->ports[i].kick_fd,
		                     o->ports[i].notify_fd, err, sizeof(err)) < 0) {
			say("%s", err);
			return GUEST_EXIT_SETUP;
		}
	vm.devs = o->devs;
	if (o->devs && (vmm_devs_attach(o->devs, &vm, VMM_DISKS_MAX, err, sizeof(err)) < 0 ||
	                vmm_devs_stats_open(o->devs, err, sizeof(err)) < 0)) {
		say("%s", err);
		return GUEST_EXIT_SETUP;
	}
	if (o->devs)
		vmm_devs_stats_fill(o->devs);
	t1 = now_us();
	if (vmm_vm_load(&vm, img, len, o->mem_bytes, argc, argv, &status, err, sizeof(err)) < 0) {
		say("%s%s", status == GUEST_EXIT_IMAGE ? "image refused: " : "", err);
		return status;
	}
	munmap((void *)img, (size_t)len);
	if (o->devs && vmm_devs_start(o->devs, err, sizeof(err)) < 0) {
		say("%s", err);
		return GUEST_EXIT_SETUP;
	}
	if (o->seccomp && vmm_seccomp_apply(err, sizeof(err)) < 0) {
		say("%s", err);
		return GUEST_EXIT_SETUP;
	}
	t2 = now_us();
	if (o->verbose)
		say("VM created in %llu us, image loaded in %llu us", (unsigned long long)(t1 - t0),
		    (unsigned long long)(t2 - t1));
	return run_cold(&vm);
}

static void send_error(int control_fd, int status, const char *reason)
{
	struct vmm_msg_error m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMM_MSG_ERROR;
	m.hdr.version = VMM_PROTO_VERSION;
	m.status = status;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	vmm_msg_send(control_fd, &m, sizeof(m), NULL, 0);
	say("%s", reason);
}

/*
 * Split a BOOT message's arguments into argv[1..]: exactly argc - 1
 * NUL-terminated strings filling args_bytes.  Returns argc or -1.
 */
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

/* How many descriptors a BOOT message with these flags carries. */
static unsigned boot_fds(uint32_t flags)
{
	return 1u + !!(flags & VMM_BOOT_LISTEN) + !!(flags & VMM_BOOT_EXITREC);
}

static void close_fds(int *fds, unsigned n)
{
	while (n)
		close(fds[--n]);
}

/* A DISK message: checked whole, its file given to the next slot.  -1 after an ERROR. */
static int take_disk(struct opts *o, struct vmm_vm *vm, const void *buf, size_t len, int *fds,
                     unsigned nfds)
{
	const struct vmm_msg_disk *m = buf;
	char err[300];

	if (len != sizeof(*m) || m->hdr.version != VMM_PROTO_VERSION || nfds != 1 ||
	    !memchr(m->name, '\0', sizeof(m->name)) || m->readonly > 1) {
		close_fds(fds, nfds);
		send_error(o->control_fd, GUEST_EXIT_USAGE, "malformed DISK message");
		return -1;
	}
	if (vmm_devs_add_disk(vm->devs, m->name, fds[0], (int)m->readonly, err, sizeof(err)) < 0) {
		char why[400];

		close(fds[0]);
		snprintf(why, sizeof(why), "DISK message: %s", err);
		send_error(o->control_fd, GUEST_EXIT_USAGE, why);
		return -1;
	}
	return 0;
}

/* A NIC message's fault: ERROR naming it, the descriptors closed.  Returns -1. */
static int refuse_nic(struct opts *o, int *fds, unsigned nfds, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse_nic(struct opts *o, int *fds, unsigned nfds, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	int n;

	close_fds(fds, nfds);
	n = snprintf(why, sizeof(why), "NIC message: ");
	va_start(ap, fmt);
	vsnprintf(why + n, sizeof(why) - (size_t)n, fmt, ap);
	va_end(ap);
	send_error(o->control_fd, GUEST_EXIT_USAGE, why);
	return -1;
}

/* The addresses of a NIC message, network order: none, or an address, its prefix and a gateway. */
static const char *nic_ipv4_fault(const struct vmm_msg_nic *m)
{
	uint32_t a = ntohl(m->ipv4), g = ntohl(m->gateway), mask;

	if (m->prefix_len > 32)
		return "prefix_len is over 32";
	if (!m->ipv4)
		return m->prefix_len || m->gateway ? "a prefix or a gateway without an address"
		                                   : NULL;
	if (m->prefix_len == 0)
		return "an address without a prefix length";
	if (a >> 24 == 0 || a >> 24 == 127 || a >> 28 >= 14)
		return "the address is not one a host may have";
	if (!m->gateway)
		return NULL;
	mask = m->prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> m->prefix_len);
	if (g == a || (g & mask) != (a & mask))
		return "the gateway is not another address on the NIC's network";
	return NULL;
}

/*
 * A NIC message: checked whole (its name and tap by the devices), the NIC
 * given to the next slot with its addresses and the guest's rate limit.
 * No reason echoes the name before it is checked.  -1 after an ERROR.
 */
static int take_nic(struct opts *o, struct vmm_vm *vm, const void *buf, size_t len, int *fds,
                    unsigned nfds)
{
	const struct vmm_msg_nic *m = buf;
	const char *fault;
	char err[300];

	if (len != sizeof(*m))
		return refuse_nic(o, fds, nfds, "%zu bytes, want %zu", len, sizeof(*m));
	if (m->hdr.version != VMM_PROTO_VERSION)
		return refuse_nic(o, fds, nfds, "version %u, want %u", m->hdr.version,
		                  VMM_PROTO_VERSION);
	if (nfds != 1)
		return refuse_nic(o, fds, nfds, "%u descriptors, want 1 (the tap)", nfds);
	if (!memchr(m->name, '\0', sizeof(m->name)))
		return refuse_nic(o, fds, nfds, "the name has no NUL");
	if (!memchr(m->ifname, '\0', sizeof(m->ifname)))
		return refuse_nic(o, fds, nfds, "ifname has no NUL");
	if (m->mtu && (m->mtu < 576 || m->mtu > 9000))
		return refuse_nic(o, fds, nfds, "MTU %u: want 0 or 576 to 9000", m->mtu);
	fault = nic_ipv4_fault(m);
	if (fault)
		return refuse_nic(o, fds, nfds, "%s", fault);
	if (m->rate_pps > 100000000ull || m->rate_bytes > 100000000000ull)
		return refuse_nic(o, fds, nfds,
		                  "a rate limit past 1e8 packets or 1e11 bytes a second");
	if (o->rate_given && (m->rate_pps != o->rate_pps || m->rate_bytes != o->rate_bytes))
		return refuse_nic(o, fds, nfds,
		                  "a rate limit other than the first NIC's (the guest has one)");
	if (vmm_devs_add_nic_fd(vm->devs, m->name, m->ifname, fds[0], m->mac, m->mtu, err,
	                        sizeof(err)) < 0)
		return refuse_nic(o, fds, nfds, "%s", err);
	/* The devices own the tap from here. */
	if (m->ipv4 &&
	    vmm_devs_set_ipv4(vm->devs, m->ipv4, m->prefix_len, m->gateway, err, sizeof(err)) < 0)
		return refuse_nic(o, NULL, 0, "%s", err);
	if (!o->rate_given)
		vmm_devs_set_rate(vm->devs, m->rate_pps, m->rate_bytes);
	o->rate_given = 1;
	o->rate_pps = m->rate_pps;
	o->rate_bytes = m->rate_bytes;
	return 0;
}

static int warm_start(struct opts *o)
{
	static union {
		struct vmm_msg_boot boot;
		char raw[VMM_MSG_MAX];
	} msg;
	struct vmm_msg_ready ready;
	struct vmm_msg_started started;
	struct vmm_console_sink console;
	struct vmm_hc_result res;
	struct vmm_vm vm;
	struct vmm_ctl *ctl;
	char err[512];
	char *argv[4097];
	int fds[2 * VMM_PORTS_MAX], bfds[3], argc, status;
	int listen_fd = -1, exit_fd = -1, stats_fd;
	unsigned i, nfds = 3;
	const uint8_t *img;
	uint64_t len;
	long r;

	vmm_set_name(guest_name, sizeof(guest_name), "(warm)");
	/*
	 * The jail comes first, while this is the one thread (a namespace is
	 * a thread's); from here on the tender opens nothing by name.
	 */
	if (o->jailed && (vmm_jail_namespaces(&o->jail, err, sizeof(err)) < 0 ||
	                  vmm_jail_drop(&o->jail, err, sizeof(err)) < 0)) {
		send_error(o->control_fd, GUEST_EXIT_SETUP, err);
		return GUEST_EXIT_SETUP;
	}
	/* Entered: their descriptors are no use to the guest's side. */
	if (o->jail.mntns_fd >= 0)
		close(o->jail.mntns_fd);
	if (o->jail.netns_fd >= 0)
		close(o->jail.netns_fd);
	if (vmm_vm_create_on(&vm, o->kvm_fd, o->mem_bytes, err, sizeof(err)) < 0) {
		send_error(o->control_fd, GUEST_EXIT_SETUP, err);
		return GUEST_EXIT_SETUP;
	}
	memset(&ready, 0, sizeof(ready));
	for (i = 0; i < o->nports; i++) {
		int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int note = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (kick < 0 || note < 0 ||
		    vmm_vm_wire_port(&vm, o->ports[i].port, kick, note, err, sizeof(err)) < 0) {
			if (kick < 0 || note < 0)
				snprintf(err, sizeof(err), "eventfd: %s", strerror(errno));
			send_error(o->control_fd, GUEST_EXIT_SETUP, err);
			return GUEST_EXIT_SETUP;
		}
		ready.ports[i] = o->ports[i].port;
		fds[2 * i] = kick;
		fds[2 * i + 1] = note;
	}
	/*
	 * Threads are made before the filter, which then covers them all; so
	 * are the devices' doorbells, every disk and NIC slot of them, and the
	 * counters' page: the devices come after READY, when the tender may no
	 * longer make them.
	 */
	vm.devs = vmm_devs_new();
	if (!vm.devs || vmm_devs_attach(vm.devs, &vm, VMM_DISKS_MAX, err, sizeof(err)) < 0 ||
	    (stats_fd = vmm_devs_stats_open(vm.devs, err, sizeof(err))) < 0 ||
	    vmm_devs_start(vm.devs, err, sizeof(err)) < 0) {
		if (!vm.devs)
			snprintf(err, sizeof(err), "out of memory");
		send_error(o->control_fd, GUEST_EXIT_SETUP, err);
		return GUEST_EXIT_SETUP;
	}
	ctl = vmm_ctl_create(&vm, err, sizeof(err));
	if (!ctl ||
	    (o->jailed && vmm_jail_limits(2 * o->mem_bytes + JAIL_OWN_BYTES, JAIL_MORE_FDS,
	                                  JAIL_TASKS, err, sizeof(err)) < 0) ||
	    (o->seccomp && vmm_seccomp_apply(err, sizeof(err)) < 0)) {
		send_error(o->control_fd, GUEST_EXIT_SETUP, err);
		return GUEST_EXIT_SETUP;
	}
	ready.hdr.type = VMM_MSG_READY;
	ready.hdr.version = VMM_PROTO_VERSION;
	ready.pid = (uint32_t)getpid();
	ready.vcpu_tid = (uint32_t)vm.vcpu_tid;
	ready.mem_max_bytes = vm.mem_max;
	ready.nports = o->nports;
	/* The eventfds stay open here too: a daemon that re-attaches gets them again. */
	if (vmm_msg_send(o->control_fd, &ready, sizeof(ready), fds, 2 * o->nports) < 0)
		return GUEST_EXIT_USAGE; /* nobody is listening */

	/* The disks and the NICs, if any, then BOOT. */
	for (;;) {
		nfds = 3;
		r = vmm_msg_recv(o->control_fd, &msg, sizeof(msg), bfds, &nfds);
		if (r <= 0)
			return GUEST_EXIT_USAGE; /* the daemon went away: nothing to run */
		if ((size_t)r < sizeof(struct vmm_msg_hdr) ||
		    (msg.boot.hdr.type != VMM_MSG_DISK && msg.boot.hdr.type != VMM_MSG_NIC))
			break;
		if (msg.boot.hdr.type == VMM_MSG_DISK
		        ? take_disk(o, &vm, &msg, (size_t)r, bfds, nfds) < 0
		        : take_nic(o, &vm, &msg, (size_t)r, bfds, nfds) < 0)
			return GUEST_EXIT_USAGE;
	}
	if ((size_t)r < sizeof(msg.boot) || msg.boot.hdr.type != VMM_MSG_BOOT ||
	    msg.boot.hdr.version != VMM_PROTO_VERSION ||
	    (msg.boot.flags & ~(VMM_BOOT_LISTEN | VMM_BOOT_EXITREC)) ||
	    nfds != boot_fds(msg.boot.flags)) {
		close_fds(bfds, nfds);
		send_error(o->control_fd, GUEST_EXIT_USAGE, "malformed BOOT message");
		return GUEST_EXIT_USAGE;
	}
	if (msg.boot.flags & VMM_BOOT_LISTEN)
		listen_fd = bfds[1];
	if (msg.boot.flags & VMM_BOOT_EXITREC)
		exit_fd = bfds[nfds - 1];
	if (!memchr(msg.boot.name, '\0', sizeof(msg.boot.name)) || !msg.boot.name[0]) {
		send_error(o->control_fd, GUEST_EXIT_USAGE, "BOOT message: bad guest name");
		return GUEST_EXIT_USAGE;
	}
	vmm_set_name(guest_name, sizeof(guest_name), msg.boot.name);
	argv[0] = guest_name;
	argc = split_args(&msg.boot, (size_t)r, argv, 4096);
	if (argc < 0) {
		send_error(o->control_fd, GUEST_EXIT_USAGE,
		           "BOOT message: argc does not match the argument strings");
		return GUEST_EXIT_USAGE;
	}
	argv[argc] = NULL;
	vmm_devs_stats_fill(vm.devs);
	img = map_image(bfds[0], &len, err, sizeof(err));
	close(bfds[0]);
	if (!img) {
		send_error(o->control_fd, GUEST_EXIT_IMAGE, err);
		return GUEST_EXIT_IMAGE;
	}
	if (vmm_vm_load(&vm, img, len, msg.boot.mem_bytes, argc, argv, &status, err, sizeof(err)) <
	    0) {
		char reason[600];

		snprintf(reason, sizeof(reason), "%s%s",
		         status == GUEST_EXIT_IMAGE ? "image refused: " : "", err);
		send_error(o->control_fd, status, reason);
		return status;
	}
	munmap((void *)img, (size_t)len);
	memset(&started, 0, sizeof(started));
	started.hdr.type = VMM_MSG_STARTED;
	started.hdr.version = VMM_PROTO_VERSION;
	started.boot_wall_ns = vm.boot_wall_ns;
	started.entry = vm.entry;
	started.image_bytes = vm.image_bytes;
	vmm_msg_send(o->control_fd, &started, sizeof(started), &stats_fd, 1);

	vmm_ctl_start(ctl, o->control_fd, 1, listen_fd, exit_fd, stats_fd, guest_name,
	              msg.boot.instance);
	console = (struct vmm_console_sink){ vmm_ctl_console, ctl };
	memset(&res, 0, sizeof(res));
	status = vmm_vm_run(&vm, &console, &res);
	vmm_ctl_exited(ctl, status, res.reason);
	if (status > GUEST_EXIT_GUEST_MAX)
		say("%s", res.reason);
	return status;
}

static int parse_ports(const char *s, struct opts *o)
{
	char buf[128], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	o->nports = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long p;

		if (o->nports == VMM_PORTS_MAX ||
		    parse_int(tok, 1, SHOAL_EVTCHN_NPORTS - 1, &p) < 0)
			return -1;
		o->ports[o->nports].port = (unsigned)p;
		o->ports[o->nports].kick_fd = o->ports[o->nports].notify_fd = -1;
		o->nports++;
	}
	return 0;
}

/* The devices, made by the first option that gives one. */
static int devs_of(struct opts *o)
{
	if (!o->devs && !(o->devs = vmm_devs_new())) {
		say("out of memory");
		return -1;
	}
	return 0;
}

/* --disk NAME:PATH[:ro]: the file is opened here, read-only for :ro. */
static int add_disk(struct opts *o, const char *arg)
{
	char name[SHOAL_DEV_NAME_MAX + 1], path[4096], err[300];
	const char *colon = strchr(arg, ':');
	size_t n, plen;
	int ro = 0, fd;

	if (!colon || (n = (size_t)(colon - arg)) == 0 || n >= sizeof(name)) {
		say("--disk %.100s: want NAME:PATH or NAME:PATH:ro", arg);
		return -1;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	plen = strlen(colon + 1);
	if (plen > 3 && !strcmp(colon + 1 + plen - 3, ":ro")) {
		ro = 1;
		plen -= 3;
	}
	if (plen == 0 || plen >= sizeof(path)) {
		say("--disk %.100s: want NAME:PATH or NAME:PATH:ro", arg);
		return -1;
	}
	memcpy(path, colon + 1, plen);
	path[plen] = '\0';
	if (devs_of(o) < 0)
		return -1;
	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		say("--disk %s: cannot open %s: %s", name, path, strerror(errno));
		return -1;
	}
	if (vmm_devs_add_disk(o->devs, name, fd, ro, err, sizeof(err)) < 0) {
		say("--disk: %s", err);
		close(fd);
		return -1;
	}
	return 0;
}

static int parse_ipv4(const char *s, const char *end, uint32_t *out)
{
	unsigned b[4], i;
	char buf[20];
	int used = 0;

	if (end - s <= 0 || end - s >= (long)sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(end - s));
	buf[end - s] = '\0';
	if (sscanf(buf, "%3u.%3u.%3u.%3u%n", &b[0], &b[1], &b[2], &b[3], &used) != 4 ||
	    buf[used] != '\0')
		return -1;
	for (i = 0; i < 4; i++)
		if (b[i] > 255)
			return -1;
	/* Network order: the first byte first in memory. */
	*out = htonl(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
	return 0;
}

/* --net NAME:IFNAME[:MAC] */
static int add_net(struct opts *o, const char *arg)
{
	char name[SHOAL_DEV_NAME_MAX + 1], ifname[IFNAMSIZ + 1], err[300];
	const char *c1 = strchr(arg, ':'), *c2;
	uint8_t mac[6];
	unsigned m[6], i;
	int used = 0, has_mac = 0;
	size_t n;

	if (!c1 || (n = (size_t)(c1 - arg)) == 0 || n >= sizeof(name))
		goto bad;
	memcpy(name, arg, n);
	name[n] = '\0';
	c2 = strchr(c1 + 1, ':');
	n = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (n == 0 || n >= sizeof(ifname))
		goto bad;
	memcpy(ifname, c1 + 1, n);
	ifname[n] = '\0';
	if (c2) {
		if (sscanf(c2 + 1, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4],
		           &m[5], &used) != 6 ||
		    c2[1 + used] != '\0' || (m[0] & 1)) {
			say("--net %.100s: the MAC is six hex bytes, unicast (02:00:00:00:00:01)",
			    arg);
			return -1;
		}
		for (i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
		has_mac = 1;
	}
	if (devs_of(o) < 0)
		return -1;
	if (vmm_devs_add_nic(o->devs, name, ifname, has_mac ? mac : NULL, err, sizeof(err)) < 0) {
		say("--net: %s", err);
		return -1;
	}
	o->nics = 1;
	return 0;
bad:
	say("--net %.100s: want NAME:IFNAME or NAME:IFNAME:MAC", arg);
	return -1;
}

/* --net-ip A.B.C.D/P[:GW], for the NIC given last. */
static int add_net_ip(struct opts *o, const char *arg)
{
	const char *slash = strchr(arg, '/'), *colon;
	uint32_t addr, gw = 0;
	char err[300];
	long p;

	colon = slash ? strchr(slash, ':') : NULL;
	if (!slash || parse_ipv4(arg, slash, &addr) < 0)
		goto bad;
	{
		char pbuf[4];
		size_t n = colon ? (size_t)(colon - slash - 1) : strlen(slash + 1);

		if (n == 0 || n >= sizeof(pbuf))
			goto bad;
		memcpy(pbuf, slash + 1, n);
		pbuf[n] = '\0';
		if (parse_int(pbuf, 1, 32, &p) < 0)
			goto bad;
	}
	if (colon && parse_ipv4(colon + 1, colon + 1 + strlen(colon + 1), &gw) < 0)
		goto bad;
	if (!o->devs || vmm_devs_set_ipv4(o->devs, addr, (unsigned)p, gw, err, sizeof(err)) < 0) {
		say("--net-ip %.100s: %s", arg, o->devs ? err : "give --net first");
		return -1;
	}
	return 0;
bad:
	say("--net-ip %.100s: want A.B.C.D/PREFIX or A.B.C.D/PREFIX:GATEWAY", arg);
	return -1;
}

/* --net-rate PPS:BYTES_PER_S */
static int add_net_rate(struct opts *o, const char *arg)
{
	unsigned long long pps, bps;
	int used = 0;

	if (sscanf(arg, "%llu:%llu%n", &pps, &bps, &used) != 2 || arg[used] != '\0' ||
	    pps > 100000000ull || bps > 100000000000ull) {
		say("--net-rate %.100s: want PACKETS_PER_S:BYTES_PER_S, 0 for no limit", arg);
		return -1;
	}
	if (devs_of(o) < 0)
		return -1;
	vmm_devs_set_rate(o->devs, pps, bps);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "name", required_argument, NULL, 'n' },
		{ "evtchn", required_argument, NULL, 'e' },
		{ "ports", required_argument, NULL, 'p' },
		{ "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'N' },
		{ "net-ip", required_argument, NULL, 'I' },
		{ "net-rate", required_argument, NULL, 'R' },
		{ "control-fd", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "kvm-fd", required_argument, NULL, 'K' },
		{ "mntns-fd", required_argument, NULL, 'M' },
		{ "netns-fd", required_argument, NULL, 'T' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	int c, ports_given = 0;
	long v;

	memset(&o, 0, sizeof(o));
	o.mem_bytes = 32ull << 20;
	o.control_fd = -1;
	o.kvm_fd = -1;
	o.jail.mntns_fd = o.jail.netns_fd = -1;
	o.seccomp = 1;
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "+m:n:e:p:d:N:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_int(optarg, 2, 4096, &v) < 0 || v % 2) {
				say("--mem %s: want an even number of MiB from 2 to 4096", optarg);
				return GUEST_EXIT_USAGE;
			}
			o.mem_bytes = (uint64_t)v << 20;
			break;
		case 'n':
			o.name = optarg;
			vmm_set_name(guest_name, sizeof(guest_name), optarg);
			break;
		case 'e':
			if (o.nports == VMM_PORTS_MAX ||
			    parse_evtchn(optarg, &o.ports[o.nports]) < 0) {
				say("--evtchn %s: want PORT:KICK_FD:NOTIFY_FD, port 1..%u, at most "
				    "%u ports",
				    optarg, SHOAL_EVTCHN_NPORTS - 1, VMM_PORTS_MAX);
				return GUEST_EXIT_USAGE;
			}
			o.nports++;
			break;
		case 'p':
			if (parse_ports(optarg, &o) < 0) {
				say("--ports %s: want a comma-separated list of ports 1..%u",
				    optarg, SHOAL_EVTCHN_NPORTS - 1);
				return GUEST_EXIT_USAGE;
			}
			ports_given = 1;
			break;
		case 'd':
			if (add_disk(&o, optarg) < 0)
				return GUEST_EXIT_USAGE;
			break;
		case 'N':
			if (add_net(&o, optarg) < 0)
				return GUEST_EXIT_USAGE;
			break;
		case 'I':
			if (add_net_ip(&o, optarg) < 0)
				return GUEST_EXIT_USAGE;
			break;
		case 'R':
			if (add_net_rate(&o, optarg) < 0)
				return GUEST_EXIT_USAGE;
			break;
		case 'c':
			if (parse_int(optarg, 0, 1 << 20, &v) < 0) {
				say("--control-fd %s: not a descriptor number", optarg);
				return GUEST_EXIT_USAGE;
			}
			o.control_fd = (int)v;
			break;
		case 'u': {
			unsigned uid, gid;
			int used = 0;

			if (sscanf(optarg, "%u:%u%n", &uid, &gid, &used) != 2 || optarg[used] ||
			    uid == 0 || gid == 0 || uid == UINT32_MAX || gid == UINT32_MAX) {
				say("--user %s: want UID:GID, neither of them 0", optarg);
				return GUEST_EXIT_USAGE;
			}
			o.jail.uid = uid;
			o.jail.gid = gid;
			o.jailed = 1;
			break;
		}
		case 'K':
		case 'M':
		case 'T':
			if (parse_int(optarg, 3, 1 << 20, &v) < 0 || fcntl((int)v, F_GETFD) < 0) {
				say("--%s %s: not an open descriptor",
				    c == 'K'   ? "kvm-fd"
				    : c == 'M' ? "mntns-fd"
				               : "netns-fd",
				    optarg);
				return GUEST_EXIT_USAGE;
			}
			if (c == 'K')
				o.kvm_fd = (int)v;
			else if (c == 'M')
				o.jail.mntns_fd = (int)v;
			else
				o.jail.netns_fd = (int)v;
			break;
		case 'S':
			o.seccomp = 0;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return GUEST_EXIT_USAGE;
		}
	}
	if (o.control_fd >= 0) {
		if (o.nics) {
			say("--net goes with a cold start: a warm tender is given its NICs by "
			    "messages");
			return GUEST_EXIT_USAGE;
		}
		if (o.devs) {
			say("--disk and --net-rate go with a cold start: a warm tender is given "
			    "its devices by messages");
			return GUEST_EXIT_USAGE;
		}
		if (optind != argc) {
			say("--control-fd takes no image on the command line");
			return GUEST_EXIT_USAGE;
		}
		if (!o.jailed && (o.jail.mntns_fd >= 0 || o.jail.netns_fd >= 0)) {
			say("--mntns-fd and --netns-fd go with --user (the jail)");
			return GUEST_EXIT_USAGE;
		}
		if (!ports_given)
			parse_ports("1", &o);
		return warm_start(&o);
	}
	if (o.jailed || o.kvm_fd >= 0 || o.jail.mntns_fd >= 0 || o.jail.netns_fd >= 0) {
		say("--user, --kvm-fd, --mntns-fd and --netns-fd go with --control-fd (a warm "
		    "start): a cold start opens its image, disks and taps by name");
		return GUEST_EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return GUEST_EXIT_USAGE;
	}
	/* argv[optind] is the image; it becomes the guest's argv[0] (its name). */
	return cold_start(&o, argv[optind], argc - optind, argv + optind);
}
