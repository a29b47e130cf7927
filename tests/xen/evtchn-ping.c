/*
 * evtchn-ping: the shoal probe from Dom0, by hand.  Reads a guest's
 * data/shoal/probe-port from xenstore, binds it with libxenevtchn and
 * sends probes one at a time, each answered by the guest runtime's event
 * dispatch with a notify back; prints the round trips' quantiles.
 *
 *   evtchn-ping [-n COUNT] [-i INTERVAL_MS] [-t TIMEOUT_MS] [-w WAIT_S] DOMID|NAME
 *   evtchn-ping -L [-n COUNT] [-i INTERVAL_MS] [-t TIMEOUT_MS]
 *
 * -L is the baseline without a guest: a pair of ports bound to each
 * other inside Dom0, one event each way, so the same quantiles show what
 * Dom0 and Xen alone cost on this host.
 *
 * -w waits up to WAIT_S seconds for the domain and its probe-port key to
 * appear, and says how long that took (started beside `xl create`, the
 * time to the guest's probe port).  Exit status: 0 all probes answered, 1 some
 * missed, 2 could not probe at all.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xenstore.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A domain id, or the id of the domain whose /local/domain/N/name is arg. */
static int find_domid(struct xs_handle *xs, const char *arg, unsigned *domid)
{
	unsigned long v;
	char **ents, path[64];
	unsigned n, i;

	if (parse_uint(arg, 0x7fef, &v) == 0) {
		*domid = (unsigned)v;
		return 0;
	}
	ents = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	if (!ents)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned len;
		char *name;

		snprintf(path, sizeof(path), "/local/domain/%s/name", ents[i]);
		name = xs_read(xs, XBT_NULL, path, &len);
		if (name && !strcmp(name, arg) && parse_uint(ents[i], 0x7fef, &v) == 0) {
			free(name);
			free(ents);
			*domid = (unsigned)v;
			return 0;
		}
		free(name);
	}
	free(ents);
	return -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double q_us(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return (double)v[i] / 1000.0;
}

/* Wait for an event on port (others are acknowledged and dropped). */
static int wait_event(xenevtchn_handle *xce, int fd, evtchn_port_t port, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t t = now_ns();
		int r;

		if (t >= deadline)
			return 0;
		r = poll(&pfd, 1, (int)((deadline - t + 999999) / 1000000));
		if (r > 0) {
			xenevtchn_port_or_error_t p = xenevtchn_pending(xce);

			if (p >= 0)
				xenevtchn_unmask(xce, (evtchn_port_t)p);
			if (p >= 0 && (evtchn_port_t)p == port)
				return 1;
		} else if (r < 0 && errno != EINTR) {
			return 0;
		}
	}
}

/* Take and drop every event that comes within wait_ms of the one before. */
static void drain(xenevtchn_handle *xce, int fd, int wait_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	while (poll(&pfd, 1, wait_ms) > 0) {
		xenevtchn_port_or_error_t p = xenevtchn_pending(xce);

		if (p < 0)
			break;
		xenevtchn_unmask(xce, (evtchn_port_t)p);
	}
}

/* One round trip on ports, by deadline: 1 when it came back. */
typedef int (*trip_fn)(xenevtchn_handle *xce, int fd, const evtchn_port_t *ports,
                       uint64_t deadline);

/* A guest's probe port: an event there, and the guest's back on it. */
static int guest_trip(xenevtchn_handle *xce, int fd, const evtchn_port_t *ports, uint64_t deadline)
{
	xenevtchn_notify(xce, ports[0]);
	return wait_event(xce, fd, ports[0], deadline);
}

/* The loopback pair {a, b}: an event from b to a, then one from a to b. */
static int loop_trip(xenevtchn_handle *xce, int fd, const evtchn_port_t *ports, uint64_t deadline)
{
	xenevtchn_notify(xce, ports[1]);
	if (!wait_event(xce, fd, ports[0], deadline))
		return 0;
	xenevtchn_notify(xce, ports[0]);
	return wait_event(xce, fd, ports[1], deadline);
}

/*
 * count round trips, interval_ms apart, each missed after timeout_ms; the
 * answered ones' times into rtt.  An event carries no payload: an answer
 * that comes after its timeout would pass for the next probe's.  So after
 * a miss, wait one more timeout and throw away what arrived (and what
 * comes within late_ms of it).
 */
static void probe_rounds(xenevtchn_handle *xce, int fd, trip_fn trip, const evtchn_port_t *ports,
                         unsigned long count, unsigned long interval_ms, unsigned long timeout_ms,
                         int late_ms, uint64_t *rtt, size_t *answered, size_t *missed)
{
	unsigned long i;

	for (i = 0; i < count; i++) {
		uint64_t start = now_ns();
		int got = trip(xce, fd, ports, start + timeout_ms * 1000000ull);

		if (got)
			rtt[(*answered)++] = now_ns() - start;
		else
			(*missed)++;
		if (interval_ms)
			usleep((useconds_t)(interval_ms * 1000));
		if (!got) {
			usleep((useconds_t)(timeout_ms * 1000));
			drain(xce, fd, late_ms);
		}
	}
}

static void report(const char *what, uint64_t *rtt, size_t count, size_t answered, size_t missed,
                   unsigned long timeout_ms)
{
	printf("%s: %zu probes, %zu answered, %zu missed (timeout %lu ms)\n", what, count, answered,
	       missed, timeout_ms);
	if (answered) {
		qsort(rtt, answered, sizeof(*rtt), cmp_u64);
		printf("rtt_us min %.1f p50 %.1f p99 %.1f max %.1f\n", (double)rtt[0] / 1000.0,
		       q_us(rtt, answered, 0.50), q_us(rtt, answered, 0.99),
		       (double)rtt[answered - 1] / 1000.0);
	}
}

/* -L: two Dom0 ports bound to each other; one event there and one back. */
static int loopback(unsigned long count, unsigned long interval_ms, unsigned long timeout_ms)
{
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	xenevtchn_port_or_error_t a = -1, b = -1;
	size_t answered = 0, missed = 0;
	uint64_t *rtt = NULL;
	int fd, rc = 2;

	if (!xce) {
		fprintf(stderr, "evtchn-ping: cannot open /dev/xen/evtchn: %s\n", strerror(errno));
		return 2;
	}
	a = xenevtchn_bind_unbound_port(xce, 0);
	if (a >= 0)
		b = xenevtchn_bind_interdomain(xce, 0, (evtchn_port_t)a);
	if (a < 0 || b < 0) {
		fprintf(stderr, "evtchn-ping: cannot bind a loopback pair in Dom0: %s\n",
		        strerror(errno));
		goto out;
	}
	fd = xenevtchn_fd(xce);
	drain(xce, fd, 10);
	rtt = calloc(count, sizeof(*rtt));
	if (!rtt)
		goto out;
	{
		evtchn_port_t pair[2] = { (evtchn_port_t)a, (evtchn_port_t)b };

		probe_rounds(xce, fd, loop_trip, pair, count, interval_ms, timeout_ms, 10, rtt,
		             &answered, &missed);
	}
	report("loopback in Dom0 (no guest)", rtt, count, answered, missed, timeout_ms);
	rc = missed ? 1 : 0;
out:
	free(rtt);
	if (b >= 0)
		xenevtchn_unbind(xce, (evtchn_port_t)b);
	if (a >= 0)
		xenevtchn_unbind(xce, (evtchn_port_t)a);
	xenevtchn_close(xce);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: evtchn-ping [-n COUNT] [-i INTERVAL_MS] [-t TIMEOUT_MS] [-w "
	                "WAIT_S] DOMID|NAME\n"
	                "       evtchn-ping -L [-n COUNT] [-i INTERVAL_MS] [-t TIMEOUT_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long count = 100, interval_ms = 10, timeout_ms = 500, wait_s = 0, v;
	struct xs_handle *xs = NULL;
	xenevtchn_handle *xce = NULL;
	xenevtchn_port_or_error_t local = -1;
	unsigned domid, len;
	uint64_t *rtt = NULL, t0;
	size_t answered = 0, missed = 0;
	char path[96], *val = NULL;
	int opt, fd, rc = 2, loop = 0;

	while ((opt = getopt(argc, argv, "Ln:i:t:w:")) != -1) {
		unsigned long *dst;

		if (opt == 'L') {
			loop = 1;
			continue;
		}
		dst = opt == 'n'   ? &count
		      : opt == 'i' ? &interval_ms
		      : opt == 't' ? &timeout_ms
		      : opt == 'w' ? &wait_s
		                   : NULL;

		if (!dst || parse_uint(optarg, 1000000, dst) < 0) {
			if (dst)
				fprintf(stderr,
				        "evtchn-ping: -%c wants a number up to 1000000, not '%s'\n",
				        opt, optarg);
			usage();
		}
	}
	if (optind != argc - !loop || count == 0 || timeout_ms == 0)
		usage();

	/*
	 * Stay on one CPU: Dom0's clock comes from per-vCPU time records and
	 * the kernel clamps it to be monotonic, so read on two vCPUs it can
	 * stand still between the send and the answer.  (Under emulation it
	 * still can, now and then: the minimum may then read 0.)
	 */
	{
		cpu_set_t set;
		int cpu = sched_getcpu();

		CPU_ZERO(&set);
		if (cpu >= 0) {
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
	}
	if (loop)
		return loopback(count, interval_ms, timeout_ms);
	xs = xs_open(0);
	if (!xs) {
		fprintf(stderr, "evtchn-ping: cannot open xenstore: %s\n", strerror(errno));
		goto out;
	}
	/* With -w the domain, too, may not exist yet (xl create still running). */
	t0 = now_ns();
	while (find_domid(xs, argv[optind], &domid) < 0) {
		if (now_ns() - t0 >= wait_s * 1000000000ull) {
			fprintf(stderr, "evtchn-ping: no domain %s\n", argv[optind]);
			goto out;
		}
		usleep(2000);
	}
	snprintf(path, sizeof(path), "/local/domain/%u/data/shoal/probe-port", domid);
	for (;;) {
		val = xs_read(xs, XBT_NULL, path, &len);
		if (val || now_ns() - t0 >= wait_s * 1000000000ull)
			break;
		usleep(2000);
	}
	if (!val) {
		fprintf(stderr, "evtchn-ping: domain %u has no %s\n", domid, path);
		goto out;
	}
	if (parse_uint(val, 131071, &v) < 0 || v == 0) {
		fprintf(stderr,
		        "evtchn-ping: domain %u's probe-port is not a port number: '%.32s'\n",
		        domid, val);
		goto out;
	}
	if (wait_s)
		printf("probe-port %lu seen after %.1f ms\n", v, (double)(now_ns() - t0) / 1e6);

	xce = xenevtchn_open(NULL, 0);
	if (!xce) {
		fprintf(stderr, "evtchn-ping: cannot open /dev/xen/evtchn: %s\n", strerror(errno));
		goto out;
	}
	local = xenevtchn_bind_interdomain(xce, domid, (evtchn_port_t)v);
	if (local < 0) {
		fprintf(stderr, "evtchn-ping: cannot bind domain %u's port %lu: %s\n", domid, v,
		        strerror(errno));
		goto out;
	}
	fd = xenevtchn_fd(xce);
	/*
	 * Xen marks a freshly bound interdomain port pending on the binding
	 * side (for notifications the unbound port may have lost): take that
	 * event now, or the first probe would count it as its answer.
	 */
	drain(xce, fd, 10);
	rtt = calloc(count, sizeof(*rtt));
	if (!rtt)
		goto out;

	{
		evtchn_port_t port = (evtchn_port_t)local;

		probe_rounds(xce, fd, guest_trip, &port, count, interval_ms, timeout_ms, 0, rtt,
		             &answered, &missed);
	}

	{
		char what[64];

		snprintf(what, sizeof(what), "domain %u port %lu", domid, v);
		report(what, rtt, count, answered, missed, timeout_ms);
	}
	rc = missed ? 1 : 0;
out:
	free(rtt);
	free(val);
	if (xce) {
		if (local >= 0)
			xenevtchn_unbind(xce, (evtchn_port_t)local);
		xenevtchn_close(xce);
	}
	if (xs)
		xs_close(xs);
	return rc;
}
