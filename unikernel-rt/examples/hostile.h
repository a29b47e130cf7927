/*
 * What the hostile guests (badring, badnet on KVM; badfront on Xen)
 * share, whatever their platform: a port handler that does nothing,
 * the line each case prints, and the wait for a ring's answer.  Define
 * HOSTILE_NAME (the guest's name, for its lines) first.
 */
#ifndef SHOAL_EXAMPLES_HOSTILE_H
#define SHOAL_EXAMPLES_HOSTILE_H

#include <shoal/rt.h>
#include <shoal/xen_ring.h>

/* The status a case reports when its ring gave no answer in time. */
#define NO_ANSWER 99

/* A handler that does nothing: binding the port unmasks it, so that it wakes rt_block. */
static inline void nothing(unsigned port, void *arg)
{
	(void)port;
	(void)arg;
}

/* Say what a case got, and whether it is what it must be. */
static inline int expect(const char *what, int got, int want)
{
	rt_printf(HOSTILE_NAME ": %s: status %d%s\n", what, got, got == want ? "" : " (wrong)");
	return got == want;
}

/* Wait up to secs seconds for an answer on a ring; 1 when there is one. */
#define WAIT_FOR(ring, secs)                                                                       \
	({                                                                                         \
		uint64_t until_ = rt_clock_ns() + (secs)*1000000000ull;                            \
		int got_ = 0;                                                                      \
		while (!(got_ = RING_HAS_UNCONSUMED_RESPONSES(ring)) && rt_clock_ns() < until_) {  \
			rt_block(rt_clock_ns() + 1000000);                                         \
			rt_evtchn_dispatch();                                                      \
		}                                                                                  \
		got_;                                                                              \
	})

#endif /* SHOAL_EXAMPLES_HOSTILE_H */
