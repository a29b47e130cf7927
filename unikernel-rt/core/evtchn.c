/*
 * The event layer, shared by every platform: ports with pending and mask
 * bits in a page shared with the hypervisor (Xen's shared_info, or the
 * KVM tender's shared page), handlers per port, block and dispatch.
 *
 * The probe port is special.  A platform's upcall answers an unmasked
 * probe at once, before anything else runs, so the round trip the daemon
 * sees is the hypervisor's wake-up path and nothing of the application.
 * A probe that arrives while the port is masked only sets its pending bit;
 * dispatch answers it once the port is unmasked.
 */
#include "rt_internal.h"

struct binding {
	rt_evtchn_fn fn;
	void *arg;
};

static struct binding bindings[64];

static int port_ok(unsigned port)
{
	return port > 0 && port < plat_evtchn_nports() && port < 64;
}

int rt_evtchn_bind(unsigned port, rt_evtchn_fn fn, void *arg)
{
	if (!port_ok(port) || port == plat_probe_port())
		return -1;
	bindings[port].fn = fn;
	bindings[port].arg = arg;
	rt_evtchn_unmask(port);
	return 0;
}

void rt_evtchn_notify(unsigned port)
{
	if (port_ok(port))
		plat_notify(port);
}

void rt_evtchn_mask(unsigned port)
{
	if (port_ok(port))
		rt__bit_set(&plat_evtchn_mask()[port / 64], port % 64);
}

void rt_evtchn_unmask(unsigned port)
{
	if (port_ok(port))
		rt__bit_clear(&plat_evtchn_mask()[port / 64], port % 64);
}

int rt_evtchn_is_pending(unsigned port)
{
	if (!port_ok(port))
		return 0;
	return (int)((plat_evtchn_pending()[port / 64] >> (port % 64)) & 1);
}

int rt_evtchn_is_bound(unsigned port)
{
	return port_ok(port) && plat_port_bound(port);
}

uint64_t rt_probes_answered(void)
{
	return *(volatile uint64_t *)plat_probe_counter();
}

unsigned rt_evtchn_probe_port(void)
{
	return plat_probe_port();
}

static int any_pending(void)
{
	volatile uint64_t *pending = plat_evtchn_pending();
	volatile uint64_t *mask = plat_evtchn_mask();
	unsigned w, words = (plat_evtchn_nports() + 63) / 64;

	if (words > 1)
		words = 1;
	for (w = 0; w < words; w++)
		if (pending[w] & ~mask[w])
			return 1;
	return 0;
}

int rt_block(uint64_t deadline_ns)
{
	for (;;) {
		plat_irq_disable();
		if (any_pending()) {
			plat_irq_enable();
			return 1;
		}
		if (deadline_ns != RT_FOREVER && plat_clock_ns() >= deadline_ns) {
			plat_irq_enable();
			return 0;
		}
		plat_halt(deadline_ns);
		plat_irq_enable();
	}
}

unsigned rt_evtchn_dispatch(void)
{
	volatile uint64_t *pending = plat_evtchn_pending();
	volatile uint64_t *mask = plat_evtchn_mask();
	unsigned probe = plat_probe_port();
	unsigned handled = 0;
	uint64_t ready = pending[0] & ~mask[0];

	while (ready) {
		unsigned port = (unsigned)__builtin_ctzll(ready);

		ready &= ready - 1;
		if (!rt__bit_test_clear(&pending[0], port))
			continue;
		handled++;
		if (port == probe && probe) {
			plat_notify(port);
			plat_irq_disable();
			(*plat_probe_counter())++;
			plat_irq_enable();
		} else if (bindings[port].fn) {
			bindings[port].fn(port, bindings[port].arg);
		}
	}
	return handled;
}

void rt_run(void)
{
	for (;;) {
		rt_block(RT_FOREVER);
		rt_evtchn_dispatch();
	}
}
