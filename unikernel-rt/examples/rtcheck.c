/*
 * rtcheck: the runtime checking itself inside a real guest.
 *
 *   rtcheck          prints TAP: clocks, block deadlines, heap, printf
 *   rtcheck echo     answers every notify on port 2 with a notify back;
 *                    after the third it masks port 2 for 300 ms, so the
 *                    host sees a late answer once it is unmasked
 */
#include <shoal/rt.h>

static int n_test;

static void ok(int cond, const char *what)
{
	rt_printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

static unsigned echoes;

static void echo(unsigned port, void *arg)
{
	(void)arg;
	echoes++;
	rt_evtchn_notify(port);
}

static int echo_main(void)
{
	if (!rt_evtchn_is_bound(2)) {
		rt_puts("rtcheck: port 2 is not wired\n");
		return 2;
	}
	if (rt_evtchn_bind(2, echo, NULL) < 0 ||
	    (rt_evtchn_is_bound(1) && rt_evtchn_bind(1, echo, NULL) == 0)) {
		rt_puts("rtcheck: binding ports misbehaves\n");
		return 3;
	}
	rt_puts("rtcheck: echo ready\n");
	for (;;) {
		rt_block(RT_FOREVER);
		rt_evtchn_dispatch();
		if (echoes == 3) {
			uint64_t until = rt_clock_ns() + 300000000ull;

			echoes++;
			rt_evtchn_mask(2);
			rt_puts("rtcheck: port 2 masked\n");
			/* A masked port's notify stays pending and does not wake us. */
			while (rt_clock_ns() < until)
				if (rt_block(until) == 1)
					rt_puts("rtcheck: woken by a masked port\n");
			rt_printf("rtcheck: unmasking, port 2 pending=%d\n",
			          rt_evtchn_is_pending(2));
			rt_evtchn_unmask(2);
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t t0, t1, wall;
	char buf[64];
	void *p[100];
	int i, r, good;

	if (argc > 1 && !strcmp(argv[1], "echo"))
		return echo_main();

	t0 = rt_clock_ns();
	t1 = rt_clock_ns();
	ok(t1 >= t0, "the monotonic clock does not go back");
	t0 = rt_clock_ns();
	r = rt_block(t0 + 20000000ull);
	t1 = rt_clock_ns();
	ok(r == 0, "rt_block with a deadline and no events returns 0");
	ok(t1 - t0 >= 20000000ull, "rt_block slept at least until its deadline");
	ok(t1 - t0 < 500000000ull, "rt_block woke soon after its deadline");
	r = rt_block(t1 - 1);
	ok(r == 0, "a deadline in the past returns at once");
	wall = rt_wallclock_ns();
	ok(wall > 1700000000ull * 1000000000ull, "the wall clock is past 2023");
	rt_printf("# wall %lu\n", (unsigned long)(wall / 1000000000ull));

	/*
	 * Only the ends of each block are written: every guest instruction in
	 * ring 0 may be emulated, and filling megabytes would take seconds.
	 */
	good = 1;
	for (i = 0; i < 100; i++) {
		size_t n = (size_t)(i + 1) * 1000;

		p[i] = rt_malloc(n);
		if (!p[i]) {
			good = 0;
			continue;
		}
		((unsigned char *)p[i])[0] = (unsigned char)i;
		((unsigned char *)p[i])[n - 1] = (unsigned char)~i;
	}
	for (i = 0; i < 100 && good; i++) {
		size_t n = (size_t)(i + 1) * 1000;

		if (((unsigned char *)p[i])[0] != (unsigned char)i ||
		    ((unsigned char *)p[i])[n - 1] != (unsigned char)~i)
			good = 0;
	}
	for (i = 0; i < 100; i++)
		rt_free(p[i]);
	ok(good, "the heap hands out 5 MB in 100 blocks that keep their contents");
	ok(rt_malloc(rt_mem_bytes()) == NULL, "an allocation larger than memory fails");

	rt_snprintf(buf, sizeof(buf), "%s-%d-%x", rt_guest_name(), -5, 255u);
	ok(!strcmp(buf, "rtcheck--5-ff"), "rt_snprintf formats in the guest");
	ok(rt_arg_len(0) == strlen(argv[0]), "argument lengths are given by the tender");
	ok(rt_evtchn_bind(0, NULL, NULL) < 0 && rt_evtchn_bind(64, NULL, NULL) < 0,
	   "binding ports out of range fails");
	ok(!rt_evtchn_is_bound(1), "the probe port is not wired when the tender was not told to");
	rt_printf("1..%d\n", n_test);
	return 0;
}
