/*
 * busy: a service under steady load.  In every period of period_ms it
 * works for percent of the period and blocks for the rest, answering
 * probes all along; after for_ms (0: never) it goes quiet and only
 * blocks.  Many of them crowd a CPU the way busy latency guests do,
 * without any of them looking CPU-bound.
 *
 *   busy [percent=N] [period_ms=N] [for_ms=N]
 * defaults: 20 %, 10 ms, for ever.
 */
#include <shoal/rt.h>

int main(int argc, char **argv)
{
	uint64_t percent = 20, period_ms = 10, for_ms = 0, start, end, x = 88172645463325252ull;
	int i;

	for (i = 1; i < argc; i++)
		if (rt_arg_u64(argv[i], "percent", &percent) <= 0 &&
		    rt_arg_u64(argv[i], "period_ms", &period_ms) <= 0 &&
		    rt_arg_u64(argv[i], "for_ms", &for_ms) <= 0) {
			rt_printf(
			    "busy: unknown or bad argument %s (percent=N period_ms=N for_ms=N)\n",
			    argv[i]);
			rt_exit(2);
		}
	if (percent > 100 || period_ms == 0) {
		rt_printf("busy: percent is 0 to 100 and period_ms at least 1\n");
		rt_exit(2);
	}
	start = rt_clock_ns();
	end = for_ms ? start + for_ms * 1000000ull : UINT64_MAX;
	rt_printf("busy: %s up, %lu %% of every %lu ms\n", rt_guest_name(), (unsigned long)percent,
	          (unsigned long)period_ms);
	for (;;) {
		uint64_t p0 = rt_clock_ns(), work_until = p0 + period_ms * 10000ull * percent,
		         next = p0 + period_ms * 1000000ull;

		if (p0 >= end)
			break;
		while (rt_clock_ns() < work_until) {
			unsigned k;

			for (k = 0; k < 200; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
			}
			rt_evtchn_dispatch();
		}
		while (rt_clock_ns() < next)
			if (rt_block(next))
				rt_evtchn_dispatch();
	}
	rt_printf("busy: quiet now (x=%lx)\n", (unsigned long)(x & 0xff));
	rt_run();
}
