/*
 * proc platform (shoal-proc): the guest is a host process under a
 * syscall filter.  Its "hypercalls" are system calls on the descriptors
 * the tender left it (abi.h's end): the console is a write, an event
 * port's interrupt is an eventfd the guest polls, its notify a write to
 * another eventfd.  The pending and mask bitmaps are the guest's own.
 *
 * There are no interrupts: events are taken when the guest blocks
 * (ppoll in plat_halt) and, for a guest that never blocks, at most every
 * POLL_CYCLES TSC cycles when it looks at its pending bits, so that a
 * busy guest still answers probes (within ~100 us rather than at once).
 */
#include "../../core/rt_internal.h"
#include "proc.h"

#define POLL_CYCLES 200000u /* between two looks from a busy guest (~50-100 us) */
#define WATCH_MAX   (8 + 4)

static uint64_t pending[SHOAL_EVTCHN_WORDS], mask[SHOAL_EVTCHN_WORDS];
static uint64_t probes_answered, last_poll_tsc, boot_ns;
static int (*vdso_gettime)(long, struct proc_timespec *);

/* What ppoll watches: each port's kick eventfd, and the taps of NICs. */
static struct proc_pollfd watch[WATCH_MAX];
static unsigned watch_port[WATCH_MAX], nwatch_ports, nwatch;
static int notify_fd[SHOAL_EVTCHN_NPORTS];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t clock_raw(long clock)
{
	struct proc_timespec ts = { 0, 0 };

	if (vdso_gettime)
		vdso_gettime(clock, &ts);
	else
		proc_sys3(SYS_clock_gettime, clock, (long)&ts, 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wire the ports from the tender's table; the probe port answers itself. */
static void setup(void)
{
	uint32_t i, n = PROC_FDS->nports;

	for (i = 0; i < SHOAL_EVTCHN_NPORTS; i++)
		notify_fd[i] = -1;
	for (i = 0; i < n && i < 8; i++) {
		uint32_t port = PROC_FDS->ports[i].port;

		if (port == 0 || port >= SHOAL_EVTCHN_NPORTS)
			continue;
		notify_fd[port] = PROC_FDS->ports[i].notify_fd;
		if (PROC_FDS->ports[i].kick_fd >= 0 && nwatch < WATCH_MAX) {
			watch[nwatch] =
			    (struct proc_pollfd){ PROC_FDS->ports[i].kick_fd, PROC_POLLIN, 0 };
			watch_port[nwatch++] = port;
		}
	}
	nwatch_ports = nwatch;
	vdso_gettime =
	    (int (*)(long, struct proc_timespec *))(uintptr_t)PROC_FDS->vdso_clock_gettime;
}

/*
 * The image note (abi.h), in the entry's object so that linking the entry
 * links it: the tender refuses an image without it, or built for another
 * platform or ABI version.
 */
#define STR_(x) #x
#define STR(x)  STR_(x)
__asm__(".section .note.shoal, \"a\", @note\n"
        ".balign 4\n"
        ".long 6, 16, " STR(SHOAL_NOTE_TYPE_ABI) "\n"
                                                 ".asciz \"" SHOAL_NOTE_NAME "\"\n"
                                                 ".balign 4\n"
                                                 ".long " STR(SHOAL_ABI_VERSION) ", " STR(
                                                     SHOAL_PLATFORM_PROC) ", 0, 0\n"
                                                                          ".previous\n");

__attribute__((noreturn, section(".text.entry"))) void _start(void);
void _start(void)
{
	setup();
	boot_ns = clock_raw(1 /* CLOCK_MONOTONIC */);
	rt__main((int)PROC_BI->argc, (char **)(uintptr_t)PROC_BI->argv);
}

void plat_console_writev(const struct rt_iov *iov, unsigned n)
{
	/*
	 * struct rt_iov is struct iovec; the kernel checks every piece.  A
	 * failed write is dropped, not retried: under shoald the console is a
	 * FIFO whose reader is away while shoald restarts (EPIPE; the tender
	 * ignores SIGPIPE), and the guest goes on.
	 */
	proc_sys3(SYS_writev, SHOAL_PROC_CONSOLE_FD, (long)iov, n);
}

void plat_exit(int code)
{
	proc_exit_group(code);
}

void plat_abort(const char *file, size_t file_len, unsigned line, const char *msg, size_t msg_len)
{
	char head[96];
	int n =
	    rt_snprintf(head, sizeof(head), "shoal-proc: %s: guest aborted at ", plat_guest_name());
	char tail[16];
	int m = rt_snprintf(tail, sizeof(tail), ":%u: ", line);
	struct rt_iov iov[5] = {
		{ head, n < (int)sizeof(head) ? (size_t)n : sizeof(head) - 1 },
		{ file, file_len },
		{ tail, (size_t)m },
		{ msg, msg_len },
		{ "\n", 1 },
	};

	proc_sys3(SYS_writev, SHOAL_PROC_REPORT_FD, (long)iov, 5);
	proc_exit_group(SHOAL_PROC_EXIT_ABORT);
}

void plat_notify(unsigned port)
{
	uint64_t one = 1;

	if (port < SHOAL_EVTCHN_NPORTS && notify_fd[port] >= 0)
		proc_sys3(SYS_write, notify_fd[port], (long)&one, 8);
}

uint64_t plat_clock_ns(void)
{
	return clock_raw(1) - boot_ns;
}

uint64_t plat_wallclock_ns(void)
{
	return clock_raw(0 /* CLOCK_REALTIME */);
}

void proc__raise(unsigned port)
{
	rt__bit_set(&pending[port / 64], port % 64);
}

static int masked(unsigned port)
{
	return (int)((mask[port / 64] >> (port % 64)) & 1);
}

/*
 * One look at the descriptors, waiting up to timeout (NULL: for ever).
 * A kick is taken by reading its eventfd; an unmasked probe is answered
 * here at once, as KVM's upcall does.  A tap is only marked: the NIC's
 * poll reads it.
 */
static void poll_events(const struct proc_timespec *timeout)
{
	unsigned i, n = nwatch_ports;
	long r;

	proc__netdev_flush();
	/* A tap whose port is masked or pending already would only wake us again. */
	for (i = nwatch_ports; i < nwatch; i++)
		if (!masked(watch_port[i]) && !((pending[0] >> watch_port[i]) & 1)) {
			struct proc_pollfd t = watch[i];
			unsigned p = watch_port[i];

			watch[i] = watch[n];
			watch_port[i] = watch_port[n];
			watch[n] = t;
			watch_port[n++] = p;
		}
	last_poll_tsc = rdtsc();
	r = proc_sys4(SYS_ppoll, (long)watch, n, (long)timeout, 0);
	if (r <= 0)
		return;
	for (i = 0; i < n; i++) {
		unsigned port = watch_port[i];
		uint64_t count;

		if (!watch[i].revents)
			continue;
		watch[i].revents = 0;
		if (i >= nwatch_ports) {
			proc__raise(port);
			continue;
		}
		if (proc_sys3(SYS_read, watch[i].fd, (long)&count, 8) != 8)
			continue;
		if (port == PROC_BI->probe_port && !masked(port)) {
			plat_notify(port);
			probes_answered++;
		} else {
			proc__raise(port);
		}
	}
}

void proc__watch_tap(int fd, unsigned port)
{
	if (nwatch < WATCH_MAX && fd >= 0) {
		watch[nwatch] = (struct proc_pollfd){ fd, PROC_POLLIN, 0 };
		watch_port[nwatch++] = port;
	}
}

volatile uint64_t *plat_evtchn_pending(void)
{
	static const struct proc_timespec now = { 0, 0 };

	if (rdtsc() - last_poll_tsc > POLL_CYCLES)
		poll_events(&now);
	return pending;
}

volatile uint64_t *plat_evtchn_mask(void)
{
	return mask;
}

unsigned plat_evtchn_nports(void)
{
	return SHOAL_EVTCHN_NPORTS;
}

unsigned plat_probe_port(void)
{
	return PROC_BI->probe_port;
}

int plat_port_bound(unsigned port)
{
	return port < 64 && ((PROC_BI->ports_bound >> port) & 1);
}

uint64_t *plat_probe_counter(void)
{
	return &probes_answered;
}

/* Nothing interrupts the guest: events are only taken in poll_events(). */
void plat_irq_disable(void)
{
}

void plat_irq_enable(void)
{
}

void plat_halt(uint64_t deadline_ns)
{
	struct proc_timespec ts;

	if (deadline_ns == RT_FOREVER) {
		poll_events(NULL);
		return;
	}
	{
		uint64_t now = plat_clock_ns(), left = deadline_ns > now ? deadline_ns - now : 0;

		ts.tv_sec = (int64_t)(left / 1000000000u);
		ts.tv_nsec = (int64_t)(left % 1000000000u);
	}
	poll_events(&ts);
}

void plat_heap_range(uintptr_t *start, uintptr_t *end)
{
	*start = (uintptr_t)PROC_BI->heap_start;
	*end = (uintptr_t)PROC_BI->heap_end;
}

const char *plat_guest_name(void)
{
	return (const char *)PROC_BI->name;
}

size_t plat_arg_len(int i)
{
	if (i < 0 || (uint32_t)i >= PROC_BI->argc)
		return 0;
	return ((const uint64_t *)(uintptr_t)PROC_BI->arglen)[i];
}

uint64_t plat_mem_bytes(void)
{
	return PROC_BI->mem_bytes;
}

const struct shoal_device *plat_devices(unsigned *n)
{
	uint32_t k = PROC_BI->ndevices;

	*n = k <= SHOAL_DEVICES_MAX && PROC_BI->devices == SHOAL_PROC_DEVICES ? k : 0;
	return (const struct shoal_device *)(uintptr_t)SHOAL_PROC_DEVICES;
}

int proc__dev_fd(unsigned i)
{
	return i < SHOAL_DEVICES_MAX ? PROC_FDS->dev_fd[i] : -1;
}

uint64_t *proc__dev_counters(unsigned i)
{
	static uint64_t own[SHOAL_DEVICES_MAX][SHOAL_PROC_STAT_COUNTERS];

	if (i >= SHOAL_DEVICES_MAX)
		i = 0; /* callers pass a device's index; never past the table */
	if (PROC_FDS->counters[i])
		return (uint64_t *)(uintptr_t)PROC_FDS->counters[i];
	return own[i];
}
