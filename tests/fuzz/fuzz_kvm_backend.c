/*
 * libFuzzer harness of what shoald's KVM backend (daemon/backend/kvm.c)
 * reads from a tender, which runs a guest and so is not to be trusted:
 * its control messages (on_sock, with from none to eight descriptors, in
 * each state a tender can be in) and its device counters' page
 * (kvm_dev_stats, shared with the tender and, on proc, the guest).  The
 * first byte picks which, the rest is it.  The tender is a stand-in
 * child that only waits: a malformed message ends it (SIGKILL), and the
 * next input gets a new one.  A READY names its vCPU's thread, which
 * shoald looks for among the tender's own; the state byte's high bit
 * makes it the stand-in's (its one thread), so that a READY can get past
 * that check to what follows it.  A page read takes a device only under a
 * name a spec could give.  Seeds: the messages
 * test_hostile_tender.sh's tender sends, and counters' pages, made by
 * tests/fuzz/seeds.py.
 *
 * The backend's file is included, not linked, to reach its static
 * handlers; the rest of the daemon comes from its library.
 */
#include "daemon/backend/kvm.c"

#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static struct backend be;
static int extra_fd = -1;
static pid_t tender = -1;

/* The stand-in tender, alive: made again once a malformed message killed it. */
static pid_t stand_in(void)
{
	if (tender > 0 && waitpid(tender, NULL, WNOHANG) == 0)
		return tender;
	tender = fork();
	if (tender < 0)
		abort();
	if (tender == 0) {
		/* Gone with the fuzzer, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		for (;;)
			pause();
	}
	return tender;
}

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

/*
 * The state (a byte; its high bit: a READY's vCPU thread made the
 * stand-in's), how many descriptors (a byte), then the message.
 */
static void message(const uint8_t *data, size_t size)
{
	static const enum shell_state states[] = { SH_SPAWNING, SH_READY, SH_BOOTING, SH_RUNNING,
		                                   SH_ENDED };
	static uint8_t msg[4096];
	const size_t tid_at = offsetof(struct vmm_msg_ready, vcpu_tid);
	int sp[2], fds[8], i, own_tid;
	struct shell *sh;
	unsigned nfds;

	if (size < 2)
		return;
	sh = shell_new(&be);
	if (!sh || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	own_tid = data[0] & 0x80;
	sh->pid = stand_in();
	sh->state = states[(data[0] & 0x7f) % (sizeof(states) / sizeof(states[0]))];
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
	size = size < sizeof(msg) ? size : sizeof(msg);
	memcpy(msg, data, size);
	if (own_tid && size >= tid_at + sizeof(uint32_t)) {
		uint32_t tid = (uint32_t)sh->pid;

		memcpy(msg + tid_at, &tid, sizeof(tid));
	}
	if (vmm_msg_send(sp[0], msg, size, fds, nfds) == 0)
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
