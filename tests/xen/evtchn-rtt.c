/*
 * evtchn-rtt: an event-channel round trip between Dom0 and a Linux PV
 * guest, the same path shoald's probe takes (Dom0 notifies, the guest's
 * vCPU is woken and scheduled, it notifies back), for measuring what
 * placement does to it.  Built static, so that it runs in a busybox
 * guest too.  Raw /dev/xen/evtchn ioctls, no library.
 *
 *   evtchn-rtt serve [busy]           (in the guest) allocates a port for
 *                                     Dom0, prints "EVTCHN_PORT=N", and
 *                                     answers every event on it; busy: a
 *                                     child spins at nice 19 beside it
 *   evtchn-rtt ping DOMID PORT COUNT GAP_US
 *                                     (in Dom0) COUNT round trips, GAP_US
 *                                     apart (the guest blocks between
 *                                     them); prints p50/p90/p99/max in us
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

typedef uint16_t domid_t; /* the ioctl header uses it and includes nothing that has it */
#include <xen/sys/evtchn.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int serve(int fd)
{
	struct ioctl_evtchn_bind_unbound_port ub = { .remote_domain = 0 };
	int port = ioctl(fd, IOCTL_EVTCHN_BIND_UNBOUND_PORT, &ub);

	if (port < 0) {
		perror("evtchn-rtt: bind an unbound port");
		return 1;
	}
	printf("EVTCHN_PORT=%d\n", port);
	fflush(stdout);
	for (;;) {
		unsigned int p;
		struct ioctl_evtchn_notify n;

		if (read(fd, &p, sizeof(p)) != sizeof(p)) {
			perror("evtchn-rtt: read");
			return 1;
		}
		n.port = p;
		if (ioctl(fd, IOCTL_EVTCHN_NOTIFY, &n) < 0 ||
		    write(fd, &p, sizeof(p)) != sizeof(p)) {
			perror("evtchn-rtt: answer");
			return 1;
		}
	}
}

static int ping(int fd, unsigned domid, unsigned port, unsigned count, unsigned gap_us)
{
	struct ioctl_evtchn_bind_interdomain bi = { .remote_domain = domid, .remote_port = port };
	uint64_t *rtt = calloc(count, sizeof(*rtt));
	unsigned i, lost = 0, n = 0;
	int local = ioctl(fd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bi);

	if (!count || count > 1000000 || gap_us > 10000000) {
		fprintf(stderr, "evtchn-rtt: COUNT is 1..1000000, GAP_US at most 10000000\n");
		return 2;
	}
	if (local < 0 || !rtt) {
		fprintf(stderr, "evtchn-rtt: bind domain %u port %u: %s\n", domid, port,
		        strerror(errno));
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct ioctl_evtchn_notify nt = { .port = (unsigned)local };
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec gap = { gap_us / 1000000, (long)(gap_us % 1000000) * 1000 };
		unsigned int p;
		uint64_t t0 = now_ns();

		if (ioctl(fd, IOCTL_EVTCHN_NOTIFY, &nt) < 0) {
			perror("evtchn-rtt: notify");
			return 1;
		}
		if (poll(&pfd, 1, 1000) != 1 || read(fd, &p, sizeof(p)) != sizeof(p)) {
			if (++lost >= 10 && lost > i / 2) {
				fprintf(stderr,
				        "evtchn-rtt: domain %u stopped answering (%u of %u lost)\n",
				        domid, lost, i + 1);
				break;
			}
		} else {
			rtt[n++] = now_ns() - t0;
			if (write(fd, &p, sizeof(p)) != sizeof(p)) {
				perror("evtchn-rtt: unmask");
				return 1;
			}
		}
		nanosleep(&gap, NULL);
	}
	if (!n) {
		printf("samples=0 lost=%u\n", lost);
		return 1;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	printf("samples=%u lost=%u p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n", n, lost,
	       rtt[n / 2] / 1e3, rtt[n * 9 / 10] / 1e3, rtt[n * 99 / 100] / 1e3, rtt[n - 1] / 1e3);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	int fd = open("/dev/xen/evtchn", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("evtchn-rtt: /dev/xen/evtchn");
		return 1;
	}
	if ((argc == 2 || (argc == 3 && !strcmp(argv[2], "busy"))) && !strcmp(argv[1], "serve")) {
		/* busy: the guest has work of its own, at the lowest priority, so its vCPU never
		 * idles. */
		if (argc == 3 && fork() == 0) {
			if (nice(19) < 0)
				perror("evtchn-rtt: nice");
			for (;;)
				__asm__ volatile("" ::: "memory");
		}
		return serve(fd);
	}
	if (argc == 6 && !strcmp(argv[1], "ping"))
		return ping(fd, (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]),
		            (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
	fprintf(stderr, "usage: evtchn-rtt serve [busy] | ping DOMID PORT COUNT GAP_US\n");
	return 2;
}
