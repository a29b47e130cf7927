/*
 * spin: a CPU-bound (batch) guest.  Works in short slices, dispatches
 * events between slices, and reports the work done so far at a fixed
 * interval, so that a benchmark can tell how much CPU it was given.
 *
 *   spin [report_ms [slice_iters [duration_ms [idle_ms]]]]
 * defaults: 1000 ms, 1000 iterations a slice, run for ever, start at once.
 * With idle_ms it first waits that long as an idle guest does (answering
 * probes), then turns CPU-bound: a latency guest that starts behaving like
 * a batch guest.
 */
#include <shoal/rt.h>

static uint64_t arg(char **argv, int argc, int i, uint64_t dflt)
{
	int ok;
	uint64_t v;

	if (i >= argc)
		return dflt;
	v = rt_strtou64(argv[i], &ok);
	if (!ok) {
		rt_printf("spin: argument %d (%s) is not a number\n", i, argv[i]);
		rt_exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t report_ns = arg(argv, argc, 1, 1000) * 1000000ull;
	uint64_t slice = arg(argv, argc, 2, 1000);
	uint64_t duration_ns = arg(argv, argc, 3, 0) * 1000000ull;
	uint64_t idle_ns = arg(argv, argc, 4, 0) * 1000000ull;
	uint64_t x = 88172645463325252ull, work = 0, slices = 0;
	uint64_t start, next_report;

	if (idle_ns) {
		uint64_t until = rt_clock_ns() + idle_ns;

		rt_printf("spin: %s idle for %lu ms first\n", rt_guest_name(),
		          (unsigned long)(idle_ns / 1000000));
		while (rt_clock_ns() < until)
			if (rt_block(until))
				rt_evtchn_dispatch();
	}
	start = rt_clock_ns();
	next_report = start + report_ns;
	rt_printf("spin: %s up, slice %lu iterations\n", rt_guest_name(), (unsigned long)slice);
	for (;;) {
		uint64_t i, now;

		for (i = 0; i < slice; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		work += slice;
		slices++;
		rt_evtchn_dispatch();
		now = rt_clock_ns();
		if (now >= next_report) {
			rt_printf("spin: work=%lu slices=%lu elapsed_ms=%lu x=%lx\n",
			          (unsigned long)work, (unsigned long)slices,
			          (unsigned long)((now - start) / 1000000),
			          (unsigned long)(x & 0xff));
			next_report += report_ns;
		}
		if (duration_ns && now - start >= duration_ns)
			break;
	}
	rt_printf("spin: done work=%lu\n", (unsigned long)work);
	return 0;
}
