/*
 * libFuzzer harness of what shoald's KVM backend (daemon/backend/kvm.c)
 * reads from a tender, which runs a guest and so is not to be trusted:
 * its control messages (on_sock, with from none to eight descriptors, in
 * each state a tender can be in) and its device counters' page
 * (kvm_dev_stats, shared with the tender and, on proc, the guest).  The
 * first byte picks which, the rest is it.  A malformed message ends the
 * tender (no process here: pid 0 is never signalled); a page read takes
 * a device only under a name a spec could give.  Seeds: the messages
 * test_hostile_tender.sh's tender sends, and counters' pages, made by
 * tests/fuzz/seeds.py.
 *
 * The backend's file is included, not linked, to reach its static
 * handlers; the rest of the daemon comes from its library.
 */
#include "daemon/backend/kvm.c"

static struct backend be;
static int extra_fd = -1;

static void setup(void)
{
	be.name = "kvm";
	be.proc = 1; /* no re-attach socket to make for a READY tender */
	be.loop = ev_loop_new(EVFLAG_AUTO);
	extra_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!be.loop || extra_fd < 0)
		abort();
	/*
	 * The backend's warnings (one a malformed message) go to the daemon's
	 * log on stderr's stream; libFuzzer keeps its own copy of that stream
	 * and the sanitizers write to descriptor 2, so their words still show.
	 */
	stderr = fopen("/dev/null", "w");
	if (!stderr)
		abort();
}

static void page(const uint8_t *data, size_t size)
{
	static struct be_dev_stats out[VMM_STATS_DEVS + 1];
	static struct vmm_stats *p;
	struct shell sh;
	struct guest g;
	unsigned n, i, max;

	if (!p && !(p = aligned_alloc(4096, VMM_STATS_BYTES)))
		abort();
	memset(p, 0, VMM_STATS_BYTES);
	memcpy(p, data, size < VMM_STATS_BYTES ? size : VMM_STATS_BYTES);
	memset(&sh, 0, sizeof(sh));
	memset(&g, 0, sizeof(g));
	sh.stats = p;
	sh.state = SH_RUNNING;
	g.be = &sh;
	/* The caller's room, from none to more than the page can hold. */
	max = size ? data[size - 1] % (VMM_STATS_DEVS + 2) : VMM_STATS_DEVS;
	n = kvm_dev_stats(NULL, &g, out, max);
	if (n > max || n > VMM_STATS_DEVS)
		abort();
	for (i = 0; i < n; i++)
		if (!spec_disk_name_ok(out[i].name) ||
		    !memchr(out[i].name, '\0', sizeof(out[i].name)))
			abort();
}

/* The state (a byte), how many descriptors (a byte), then the message. */
static void message(const uint8_t *data, size_t size)
{
	static const enum shell_state states[] = { SH_SPAWNING, SH_READY, SH_BOOTING, SH_RUNNING,
		                                   SH_ENDED };
	int sp[2], fds[8], i;
	struct shell *sh;
	unsigned nfds;

	if (size < 2)
		return;
	sh = shell_new(&be);
	if (!sh || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	sh->state = states[data[0] % (sizeof(states) / sizeof(states[0]))];
	sh->be->spawning = sh->be->ready = 1;
	nfds = data[1] % 9;
	for (i = 0; i < (int)nfds; i++)
		fds[i] = extra_fd;
	data += 2, size -= 2;
	sh->sock = sp[1];
	ev_io_init(&sh->sock_w, on_sock, sh->sock, EV_READ);
	sh->sock_w.data = sh;
	ev_timer_init(&sh->boot_timer, on_boot_timeout, 1.0, 0.0);
	sh->boot_timer.data = sh;
	if (vmm_msg_send(sp[0], data, size < 4096 ? size : 4096, fds, nfds) == 0)
		on_sock(be.loop, &sh->sock_w, EV_READ);
	close(sp[0]);
	/* Whatever it kept (a READY's eventfds, the socket), as shoald would on its end. */
	shell_close(sh);
	free(sh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!be.loop)
		setup();
	if (size < 1)
		return 0;
	if (data[0] & 1)
		message(data + 1, size - 1);
	else
		page(data + 1, size - 1);
	return 0;
}
