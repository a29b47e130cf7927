/*
 * storm: answers probes normally for delay_ms, then notifies its probe
 * port in a tight loop, far beyond anything a probe asked for, for for_ms
 * (0: for ever), then behaves again.  For tests of the daemon's bound on
 * a guest whose events storm.
 *
 *   storm [delay_ms=N] [for_ms=N]     defaults: 2000 ms, for ever
 */
#include <shoal/rt.h>

int main(int argc, char **argv)
{
	uint64_t delay_ms = 2000, for_ms = 0, until, n = 0;
	unsigned port = rt_evtchn_probe_port();
	int i;

	for (i = 1; i < argc; i++) {
		if (rt_arg_u64(argv[i], "delay_ms", &delay_ms) == 1 ||
		    rt_arg_u64(argv[i], "for_ms", &for_ms) == 1)
			continue;
		rt_printf("storm: argument %d (%s) is not delay_ms=N or for_ms=N\n", i, argv[i]);
		return 2;
	}
	rt_printf("storm: %s answering probes for %lu ms\n", rt_guest_name(),
	          (unsigned long)delay_ms);
	until = rt_clock_ns() + delay_ms * 1000000ull;
	while (rt_clock_ns() < until) {
		rt_block(until);
		rt_evtchn_dispatch();
	}
	rt_printf("storm: %s storming its probe port %u%s\n", rt_guest_name(), port,
	          for_ms ? "" : " for ever");
	until = for_ms ? rt_clock_ns() + for_ms * 1000000ull : RT_FOREVER;
	while (!for_ms || rt_clock_ns() < until) {
		unsigned k;

		/* Probes still get their answer; the rest is unsolicited. */
		for (k = 0; k < 64; k++)
			rt_evtchn_notify(port);
		n += 64;
		rt_evtchn_dispatch();
	}
	rt_printf("storm: %s stopped after %lu notifications in %lu ms\n", rt_guest_name(),
	          (unsigned long)n, (unsigned long)for_ms);
	rt_run();
}
