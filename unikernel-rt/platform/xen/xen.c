/*
 * The Xen side of the runtime, shared by xen-pv and xen-pvh: event
 * channels in shared_info, blocking with SCHEDOP_poll, clocks from
 * vcpu_time_info, the PV console ring, a small synchronous xenstore
 * client (also for the device front-ends, front.c), the probe port and
 * the exit protocol of the shoal contract.
 *
 * No upcall is ever taken: the vCPU's upcall mask stays set, rt_block()
 * polls the unmasked ports with a timeout, and the probe is answered by
 * rt_evtchn_dispatch() (core/evtchn.c).  The console and xenstore ports
 * stay masked so that they never wake rt_block(); the ring code waits on
 * them itself.
 */
#include <shoal/abi.h>

#include "xen.h"

struct xen__plat xen__p;

static uint32_t probe_port;
static uint64_t probes_answered;
static uint64_t boot_system_ns, last_ns;

static char name[SHOAL_NAME_MAX];
static size_t name_len;

#define ARGV_MAX 513 /* a 1023-byte command line has at most 512 arguments */
static char *argv_tab[ARGV_MAX + 1];
static size_t arglen_tab[ARGV_MAX];
static int argc_val;

#define barrier() __asm__ volatile("" : : : "memory")

/* ---- hypercalls ----------------------------------------------------- */

void plat_notify(unsigned port)
{
	uint32_t p = port;

	xen__hc2(XEN_HC_event_channel_op, XEN_EVTCHNOP_send, (uintptr_t)&p);
}

static void poll_ports(uint32_t *ports, unsigned n, uint64_t timeout_system_ns)
{
	struct xen_sched_poll a = { ports, n, 0, timeout_system_ns };

	xen__hc2(XEN_HC_sched_op, XEN_SCHEDOP_poll, (uintptr_t)&a);
}

static __attribute__((noreturn)) void shutdown(unsigned reason)
{
	for (;;) {
		uint32_t r = reason;

		xen__hc2(XEN_HC_sched_op, XEN_SCHEDOP_shutdown, (uintptr_t)&r);
	}
}

/* ---- clocks ----------------------------------------------------------- */

/* Xen's system time (ns since Xen booted) from vCPU 0's time record. */
uint64_t xen__system_ns(void)
{
	volatile struct xen_vcpu_time_info *t = &xen__p.shared->vcpu_info[0].time;
	uint64_t delta, sys;
	uint32_t version, mul;
	int8_t shift;

	do {
		version = t->version;
		barrier();
		delta = xen__rdtsc() - t->tsc_timestamp;
		sys = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		barrier();
	} while ((version & 1) || version != t->version);
	if (shift >= 0)
		delta <<= shift;
	else
		delta >>= -shift;
	return sys + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t plat_clock_ns(void)
{
	uint64_t now = xen__system_ns() - boot_system_ns;

	/* Records are per vCPU and corrected by Xen: never step back. */
	if (now < last_ns)
		now = last_ns;
	last_ns = now;
	return now;
}

uint64_t plat_wallclock_ns(void)
{
	volatile struct xen_shared_info *s = xen__p.shared;
	uint64_t sec, nsec;
	uint32_t version;

	do {
		version = s->wc_version;
		barrier();
		sec = ((uint64_t)s->wc_sec_hi << 32) | s->wc_sec;
		nsec = s->wc_nsec;
		barrier();
	} while ((version & 1) || version != s->wc_version);
	return sec * 1000000000ull + nsec + xen__system_ns();
}

/* ---- event channels --------------------------------------------------- */

volatile uint64_t *plat_evtchn_pending(void)
{
	return xen__p.shared->evtchn_pending;
}

volatile uint64_t *plat_evtchn_mask(void)
{
	return xen__p.shared->evtchn_mask;
}

unsigned plat_evtchn_nports(void)
{
	return 64; /* the core's one bitmap word; a small guest's ports are all below */
}

unsigned plat_probe_port(void)
{
	return probe_port;
}

int plat_port_bound(unsigned port)
{
	return port && (port == probe_port || xen__front_port(port));
}

uint64_t *plat_probe_counter(void)
{
	return &probes_answered;
}

/* Upcalls stay masked for ever (see the top of the file). */
void plat_irq_disable(void)
{
}

void plat_irq_enable(void)
{
}

/*
 * Sleep until one of the unmasked ports is pending or the deadline.
 * SCHEDOP_poll returns at once if a listed port is already pending, so
 * the core's check-then-sleep loses no event.
 */
void plat_halt(uint64_t deadline_ns)
{
	uint64_t ready = ~xen__p.shared->evtchn_mask[0] & ~1ull;
	uint32_t ports[64];
	unsigned n = 0;

	while (ready) {
		ports[n++] = (uint32_t)__builtin_ctzll(ready);
		ready &= ready - 1;
	}
	poll_ports(ports, n, deadline_ns == RT_FOREVER ? 0 : deadline_ns + boot_system_ns + 1);
}

void xen__sleep_ns(uint64_t ns)
{
	poll_ports(NULL, 0, xen__system_ns() + ns);
}

/*
 * Wait for port to be pending, then clear it; 0 on reaching the Xen
 * system time deadline (0: none).  Callers re-check their ring after
 * every return, so a stale pending bit costs one extra look at most.
 */
static int wait_port(uint32_t port, uint64_t deadline_system_ns)
{
	volatile uint64_t *pending = &xen__p.shared->evtchn_pending[port / 64];

	for (;;) {
		if (rt__bit_test_clear(pending, port % 64))
			return 1;
		if (deadline_system_ns && xen__system_ns() >= deadline_system_ns)
			return 0;
		poll_ports(&port, 1, deadline_system_ns);
	}
}

/*
 * The producer side of a Xen byte ring (the console's output, xenstore's
 * requests): n bytes in, as they fit; while it is full, the other end is
 * notified on port and waited for.
 */
static void ring_put(volatile char *ring, uint32_t size, volatile uint32_t *prod_p,
                     volatile uint32_t *cons_p, uint32_t port, const char *p, size_t n)
{
	while (n) {
		uint32_t prod = *prod_p, space, i;

		barrier();
		space = size - (prod - *cons_p);
		if (space == 0) {
			plat_notify(port);
			wait_port(port, 0);
			continue;
		}
		if (space > n)
			space = (uint32_t)n;
		for (i = 0; i < space; i++)
			ring[(prod + i) % size] = p[i];
		barrier();
		*prod_p = prod + space;
		p += space;
		n -= space;
	}
}

/* ---- console ---------------------------------------------------------- */

static void cons_put(const char *p, size_t n)
{
	volatile struct xen_cons_ring *r = xen__p.cons;

	ring_put(r->out, sizeof(r->out), &r->out_prod, &r->out_cons, xen__p.cons_port, p, n);
}

void plat_console_writev(const struct rt_iov *iov, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		cons_put(iov[i].base, iov[i].len);
	plat_notify(xen__p.cons_port);
}

/* Give xenconsoled up to timeout_ns to take what is in the ring. */
static void cons_drain(uint64_t timeout_ns)
{
	volatile struct xen_cons_ring *r = xen__p.cons;
	uint64_t until = xen__system_ns() + timeout_ns;

	while (r->out_cons != r->out_prod)
		if (!wait_port(xen__p.cons_port, until))
			break;
}

/* ---- xenstore --------------------------------------------------------- */

/*
 * Requests are written whole and answered in order, one connection per
 * domain, so a request id is all the bookkeeping needed.  Paths without
 * a leading '/' are relative to the guest's /local/domain/<domid>.
 */
static uint32_t xs_req_id;

static void xs_write_bytes(const void *data, size_t n)
{
	volatile struct xs_ring *r = xen__p.store;

	ring_put(r->req, XS_RING_SIZE, &r->req_prod, &r->req_cons, xen__p.store_port, data, n);
}

static void xs_read_bytes(void *data, size_t n)
{
	volatile struct xs_ring *r = xen__p.store;
	char *p = data;

	while (n) {
		uint32_t cons = r->rsp_cons, avail, i;

		avail = r->rsp_prod - cons;
		barrier();
		if (avail == 0) {
			wait_port(xen__p.store_port, 0);
			continue;
		}
		if (avail > n)
			avail = (uint32_t)n;
		for (i = 0; i < avail; i++)
			if (p)
				p[i] = r->rsp[(cons + i) % XS_RING_SIZE];
		barrier();
		r->rsp_cons = cons + avail;
		plat_notify(xen__p.store_port);
		if (p)
			p += avail;
		n -= avail;
	}
}

/*
 * Queue one request (in transaction tx, 0: none); the caller collects its
 * answer with xs_recv().
 */
static void xs_send(uint32_t type, uint32_t tx, const char *path, const char *val, size_t val_len)
{
	size_t path_len = strlen(path) + 1;
	struct xs_msg_hdr h = { type, ++xs_req_id, tx, (uint32_t)(path_len + val_len) };

	xs_write_bytes(&h, sizeof(h));
	xs_write_bytes(path, path_len);
	if (val_len)
		xs_write_bytes(val, val_len);
	plat_notify(xen__p.store_port);
}

/*
 * Take the next answer: its payload's first cap bytes go to buf (the
 * rest is dropped).  Returns the whole payload's length (which may be
 * more than cap), or -1 for an error answer (its first cap bytes, the
 * error's name, in buf).
 */
static long xs_recv(char *buf, size_t cap)
{
	struct xs_msg_hdr h;
	size_t keep;

	xs_read_bytes(&h, sizeof(h));
	if (h.len > XS_PAYLOAD_MAX)
		h.len = XS_PAYLOAD_MAX; /* a broken store: resynchronising is hopeless anyway */
	keep = h.len < cap ? h.len : cap;
	xs_read_bytes(buf, keep);
	xs_read_bytes(NULL, h.len - keep);
	return h.type == XS_ERROR ? -1 : (long)h.len;
}

static void xs_write_key(const char *path, const char *val, size_t len)
{
	char ignored[16];

	xs_send(XS_WRITE, 0, path, val, len);
	xs_recv(ignored, sizeof(ignored));
}

/* An answer of n bytes in buf (cap) as a string: its length, or a negative XEN_XS_E*. */
static long xs_string(char *buf, size_t cap, long n)
{
	if (n < 0) {
		buf[0] = '\0';
		return XEN_XS_EABSENT;
	}
	if ((size_t)n >= cap) {
		buf[cap - 1] = '\0';
		return XEN_XS_ETOOLONG;
	}
	buf[n] = '\0';
	return n;
}

long xen__xs_read(uint32_t tx, const char *path, char *buf, size_t cap)
{
	long n;

	xs_send(XS_READ, tx, path, NULL, 0);
	n = xs_string(buf, cap, xs_recv(buf, cap));
	if (n >= 0 && strlen(buf) != (size_t)n)
		return XEN_XS_ENUL;
	return n;
}

long xen__xs_directory(const char *path, char *buf, size_t cap)
{
	xs_send(XS_DIRECTORY, 0, path, NULL, 0);
	return xs_string(buf, cap, xs_recv(buf, cap));
}

int xen__xs_write(uint32_t tx, const char *path, const char *val)
{
	char ignored[16];

	xs_send(XS_WRITE, tx, path, val, strlen(val));
	return xs_recv(ignored, sizeof(ignored)) < 0 ? -1 : 0;
}

int xen__xs_tx_start(uint32_t *tx)
{
	char buf[16];
	uint32_t id = 0;
	long n, i;

	xs_send(XS_TRANSACTION_START, 0, "", NULL, 0);
	n = xs_string(buf, sizeof(buf), xs_recv(buf, sizeof(buf)));
	if (n <= 0)
		return -1;
	n = (long)strlen(buf); /* the id comes with its NUL */
	for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9' && id < 100000000; i++)
		id = id * 10 + (uint32_t)(buf[i] - '0');
	if (i != n || id == 0)
		return -1;
	*tx = id;
	return 0;
}

int xen__xs_tx_end(uint32_t tx, int commit)
{
	char buf[16];
	long n;

	xs_send(XS_TRANSACTION_END, tx, commit ? "T" : "F", NULL, 0);
	n = xs_recv(buf, sizeof(buf) - 1);
	if (n >= 0)
		return 0;
	buf[sizeof(buf) - 1] = '\0';
	return !strncmp(buf, "EAGAIN", 6) ? 1 : -1;
}

/* ---- exit ------------------------------------------------------------- */

static size_t fmt_u64(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

void plat_exit(int code)
{
	char buf[24];
	size_t n = fmt_u64(buf, (uint64_t)code);

	xs_write_key("data/shoal/exit-code", buf, n);
	cons_drain(1000000000ull);
	shutdown(code ? XEN_SHUTDOWN_crash : XEN_SHUTDOWN_poweroff);
}

/* Console line, then exit-reason (the first line of text), then crash. */
static __attribute__((noreturn)) void die(const char *text, size_t len)
{
	struct rt_iov iov[2] = { { text, len }, { "\n", 1 } };

	plat_console_writev(iov, 2);
	xs_write_key("data/shoal/exit-reason", text, len);
	cons_drain(1000000000ull);
	shutdown(XEN_SHUTDOWN_crash);
}

void plat_abort(const char *file, size_t file_len, unsigned line, const char *msg, size_t msg_len)
{
	char buf[512];
	int n;

	(void)file_len;
	(void)msg_len;
	n = rt_snprintf(buf, sizeof(buf), "abort at %s:%u: %s", file, line, msg);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	die(buf, (size_t)n);
}

void xen__fault(uint64_t vector, uint64_t error, uint64_t rip, uint64_t rsp, uint64_t addr)
{
	const char *what = vector < 20 ? shoal_exc_name(vector) : "exception";
	char buf[256];
	int n;

	if (vector == 14)
		n = rt_snprintf(buf, sizeof(buf),
		                "fault: %s at rip 0x%lx: %s address 0x%lx%s (error code 0x%lx)",
		                what, (unsigned long)rip, (error & 2) ? "writing" : "reading",
		                (unsigned long)addr, addr < 4096 ? " (NULL pointer)" : "",
		                (unsigned long)error);
	else
		n = rt_snprintf(buf, sizeof(buf),
		                "fault: %s (vector %lu) at rip 0x%lx, rsp 0x%lx (error code 0x%lx)",
		                what, (unsigned long)vector, (unsigned long)rip, (unsigned long)rsp,
		                (unsigned long)error);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	die(buf, (size_t)n);
}

/* ---- boot ------------------------------------------------------------- */

/*
 * The contract's command line: arguments separated by single spaces;
 * inside one, "\ " is a space and "\\" a backslash.  Split in place.
 */
static void split_args(char *s)
{
	char *out = s;

	argc_val = 1;
	if (!*s)
		return;
	argv_tab[argc_val] = out;
	for (; *s; s++) {
		if (*s == '\\' && (s[1] == ' ' || s[1] == '\\')) {
			*out++ = *++s;
		} else if (*s == ' ') {
			arglen_tab[argc_val] = (size_t)(out - argv_tab[argc_val]);
			*out++ = '\0';
			if (argc_val == ARGV_MAX - 1)
				break;
			argv_tab[++argc_val] = out;
		} else {
			*out++ = *s;
		}
	}
	arglen_tab[argc_val] = (size_t)(out - argv_tab[argc_val]);
	*out = '\0';
	argc_val++;
}

void xen__boot(char *cmdline)
{
	struct xen_evtchn_alloc_unbound a = { XEN_DOMID_SELF, 0, 0 };
	char port_buf[24];
	size_t port_len;
	long r;

	boot_system_ns = xen__system_ns();
	/* Every port starts masked; binding a handler unmasks it. */
	xen__p.shared->evtchn_mask[0] = ~0ull;

	r = xen__hc2(XEN_HC_event_channel_op, XEN_EVTCHNOP_alloc_unbound, (uintptr_t)&a);
	if (r == 0 && a.port < 64)
		probe_port = a.port;

	/* Both requests in one go: the store answers them in order. */
	if (probe_port) {
		port_len = fmt_u64(port_buf, probe_port);
		xs_send(XS_WRITE, 0, "data/shoal/probe-port", port_buf, port_len);
	}
	xs_send(XS_READ, 0, "name", NULL, 0);
	if (probe_port) {
		xs_recv(port_buf, sizeof(port_buf));
		rt__bit_clear(&xen__p.shared->evtchn_mask[0], probe_port);
	}
	r = xs_recv(name, sizeof(name) - 1);
	name_len = r > 0 ? (size_t)r : 0;
	if (name_len > sizeof(name) - 1)
		name_len = sizeof(name) - 1;
	name[name_len] = '\0';

	argv_tab[0] = name;
	arglen_tab[0] = name_len;
	split_args(cmdline);
	rt__main(argc_val, argv_tab);
}

const char *plat_guest_name(void)
{
	return name;
}

size_t plat_arg_len(int i)
{
	if (i < 0 || i >= argc_val)
		return 0;
	return arglen_tab[i];
}

uint64_t plat_mem_bytes(void)
{
	return xen__p.mem_bytes;
}
