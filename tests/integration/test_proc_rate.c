/*
 * The proc backend's rate limit program (daemon/backend/proc_rate.bpf.c)
 * on frames the kernel runs it on by BPF_PROG_TEST_RUN, without a tap:
 * its buckets' arithmetic, frame by frame.  Each case sets a bucket's
 * last refill in the future, so that no time passes for it and the counts
 * are exact whatever the machine's load; the refill cases set it in the
 * past.  Needs root (CAP_BPF, CAP_NET_ADMIN); SKIPs where the kernel will
 * not load the program.  Prints TAP.
 */
#include <errno.h>
#include <linux/pkt_cls.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/backend/proc_rate.bpf.inc"
#include "daemon/backend/proc_rate_bpf.h"
#include "tests/lib/tap.h"

static int rate_fd, drops_fd, tx_fd, rx_fd;

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		vfprintf(stderr, fmt, ap);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns's clock */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Both ways' buckets: pps and bytes_per_s, credit in seconds' worth, last refill at last_ns. */
static void set(uint64_t pps, uint64_t bytes_per_s, double credit_s, uint64_t last_ns)
{
	struct proc_rate_bucket b;
	struct proc_rate_drops zero = { 0, 0 };
	uint32_t k, lo = 1;

	memset(&b, 0, sizeof(b));
	b.pkt_cost = pps ? PROC_RATE_FULL / pps : 0;
	b.byte_cost = bytes_per_s ? PROC_RATE_FULL / bytes_per_s : 0;
	b.pkt_credit = b.byte_credit = (int64_t)(credit_s * (double)PROC_RATE_FULL);
	b.last_ns = last_ns;
	for (k = 0; k < 2; k++)
		bpf_map_update_elem(rate_fd, &k, &b, BPF_ANY);
	bpf_map_update_elem(drops_fd, &lo, &zero, BPF_ANY); /* test runs are on lo */
}

#define NEVER (~0ull >> 1) /* a last refill no clock reaches: no time passes */

/* Run prog_fd on n frames of len bytes (gso_segs each); how many it let go. */
static int run(int prog_fd, int n, unsigned len, unsigned gso_segs)
{
	static unsigned char frame[2048];
	struct __sk_buff ctx;
	int i, passed = 0;

	memset(frame, 0, sizeof(frame));
	frame[12] = 0x08; /* IPv4, for the kernel's frame check; the program reads no header */
	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		            .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

		memset(&ctx, 0, sizeof(ctx));
		ctx.gso_segs = gso_segs;
		if (bpf_prog_test_run_opts(prog_fd, &o) < 0) {
			printf("# test run: %s\n", strerror(errno));
			return -1;
		}
		passed += o.retval == TC_ACT_OK;
	}
	return passed;
}

static struct proc_rate_drops drops(void)
{
	struct proc_rate_drops d = { 0, 0 };
	uint32_t lo = 1;

	bpf_map_lookup_elem(drops_fd, &lo, &d);
	return d;
}

int main(void)
{
	struct bpf_object *obj;
	struct proc_rate_drops d;
	int r, p;

	libbpf_set_print(quiet);
	obj = bpf_object__open_mem(proc_rate_obj, sizeof(proc_rate_obj), NULL);
	if (!obj || (r = bpf_object__load(obj)) < 0) {
		char why[200];

		snprintf(
		    why, sizeof(why),
		    "the kernel did not load the rate limit's program (%s; it needs root: CAP_BPF)",
		    obj ? strerror(-r) : "cannot open it");
		tap_skip_all(why);
	}
	rate_fd = bpf_object__find_map_fd_by_name(obj, "rate");
	drops_fd = bpf_object__find_map_fd_by_name(obj, "drops");
	tx_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "shoal_tx"));
	rx_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "shoal_rx"));
	tap_ok(rate_fd >= 0 && drops_fd >= 0 && tx_fd >= 0 && rx_fd >= 0,
	       "the object has its maps and both programs");

	set(5, 0, 1.0, NEVER);
	p = run(tx_fd, 8, 60, 1);
	d = drops();
	tap_ok(p == 5, "5 packets/s: a full bucket lets a second's worth go at once (%d of 8)", p);
	tap_ok(d.tx == 3 && d.rx == 0,
	       "the rest are counted as dropped, out of the guest (tx %llu rx %llu)",
	       (unsigned long long)d.tx, (unsigned long long)d.rx);
	p = run(rx_fd, 8, 60, 1);
	d = drops();
	tap_ok(p == 5 && d.rx == 3 && d.tx == 3,
	       "the other way has a bucket of its own (%d of 8 in, rx drops %llu)", p,
	       (unsigned long long)d.rx);

	set(0, 1000, 1.0, NEVER);
	p = run(tx_fd, 4, 600, 1);
	tap_ok(p == 2,
	       "1000 bytes/s: frames of 600 go while a byte is left, each costing its whole "
	       "size (%d of 4)",
	       p);
	set(0, 1000, 1.0, NEVER);
	p = run(tx_fd, 3, 1500, 1);
	tap_ok(p == 1,
	       "a frame larger than the burst still goes once, then the bucket owes (%d of 3)", p);

	set(5, 0, 1.0, NEVER);
	p = run(tx_fd, 4, 60, 4);
	tap_ok(p == 2, "5 packets/s: a frame of 4 segments (the tap's offload) costs 4 (%d of 4)",
	       p);

	set(10, 100000, 1.0, NEVER);
	p = run(tx_fd, 20, 60, 1);
	tap_ok(p == 10,
	       "with both limits the tighter one counts: 10 packets/s of 60-byte frames (%d)", p);
	set(1000, 1000, 1.0, NEVER);
	p = run(tx_fd, 20, 400, 1);
	tap_ok(p == 3, "... and 1000 bytes/s of 400-byte frames (%d)", p);

	set(0, 0, 0.0, NEVER);
	p = run(tx_fd, 50, 1500, 64);
	tap_ok(p == 50, "no limit: everything goes (%d of 50)", p);

	/* Time passes: these count on the test not stalling half a second between frames. */
	set(2, 0, -3.0, now_ns() - 10000000000ull);
	p = run(tx_fd, 3, 60, 1);
	tap_ok(p == 2, "2 packets/s: a bucket 3 s in debt is full again after 10 s idle (%d of 3)",
	       p);
	set(2, 0, 0.0, now_ns() - 1000000000ull);
	p = run(tx_fd, 3, 60, 1);
	tap_ok(p == 2, "an empty one after a second (%d of 3)", p);
	set(2, 0, -1.0, now_ns() - 1000000000ull);
	p = run(tx_fd, 3, 60, 1);
	tap_ok(p == 0, "one a second in debt is empty after a second (%d of 3)", p);

	bpf_object__close(obj);
	return tap_done();
}
