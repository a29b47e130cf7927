/*
 * hang: answers probes for N seconds (default 5), then stops answering
 * them for ever, as a wedged service would.  For liveness tests.
 */
#include <shoal/rt.h>

int main(int argc, char **argv)
{
	uint64_t secs = 5, until;
	int ok = 1;

	if (argc > 1)
		secs = rt_strtou64(argv[1], &ok);
	if (!ok) {
		rt_printf("hang: argument (%s) is not a number of seconds\n", argv[1]);
		return 2;
	}
	rt_printf("hang: %s answering probes for %lu s\n", rt_guest_name(), (unsigned long)secs);
	until = rt_clock_ns() + secs * 1000000000ull;
	while (rt_clock_ns() < until) {
		rt_block(until);
		rt_evtchn_dispatch();
	}
	rt_evtchn_mask(rt_evtchn_probe_port());
	rt_printf("hang: %s stopped answering probes\n", rt_guest_name());
	for (;;)
		rt_block(RT_FOREVER);
}
