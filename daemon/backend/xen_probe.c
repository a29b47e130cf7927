/*
 * The probe channel of Xen domains (see xen_probe.h): one libxenevtchn
 * handle, a map from our local ports to the domains', and the binding of
 * each port the guest advertises.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenevtchn.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/xen_parse.h"
#include "daemon/backend/xen_probe.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

struct xen_probes {
	struct ev_loop *loop;
	struct xs_handle *xs;
	const char *who;
	xen_probe_answer_fn answer;
	xenevtchn_handle *xce;
	ev_io w;
	struct xen_probe_port **map; /* local port -> its domain's */
	unsigned map_len;
};

static void on_evtchn(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	xen_probes_drain(w->data);
}

struct xen_probes *xen_probes_open(struct ev_loop *loop, struct xs_handle *xs, const char *who,
                                   xen_probe_answer_fn answer, char *err, size_t errlen)
{
	struct xen_probes *xp = calloc(1, sizeof(*xp));

	if (!xp) {
		be_fail(err, errlen, "out of memory");
		return NULL;
	}
	xp->loop = loop;
	xp->xs = xs;
	xp->who = who;
	xp->answer = answer;
	xp->xce = xenevtchn_open(NULL, 0);
	if (!xp->xce) {
		be_fail_errno(err, errlen, "cannot open the event channel device");
		free(xp);
		return NULL;
	}
	fcntl(xenevtchn_fd(xp->xce), F_SETFL, fcntl(xenevtchn_fd(xp->xce), F_GETFL) | O_NONBLOCK);
	ev_io_init(&xp->w, on_evtchn, xenevtchn_fd(xp->xce), EV_READ);
	xp->w.data = xp;
	ev_io_start(loop, &xp->w);
	return xp;
}

void xen_probes_close(struct xen_probes *xp)
{
	if (!xp)
		return;
	ev_io_stop(xp->loop, &xp->w);
	xenevtchn_close(xp->xce);
	free(xp->map);
	free(xp);
}

unsigned xen_probes_bound(const struct xen_probes *xp)
{
	unsigned i, n = 0;

	for (i = 0; i < xp->map_len; i++)
		n += xp->map[i] != NULL;
	return n;
}

void xen_probe_port_init(struct xen_probe_port *p, struct xen_probes *xp, void *owner,
                         uint32_t domid, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->xp = xp;
	p->owner = owner;
	p->domid = domid;
	p->local_port = -1;
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "(none)");
}

void xen_probe_port_watch(struct xen_probe_port *p, struct xs_handle *xs, int on)
{
	char path[128], token[32];

	if (on == p->watching)
		return;
	snprintf(token, sizeof(token), "p%u", p->domid);
	snprintf(path, sizeof(path), "/local/domain/%u/data/shoal/probe-port", p->domid);
	if (on ? !xs_watch(xs, path, token) : !xs_unwatch(xs, path, token))
		log_warn("%s: guest %s: cannot %s %s", p->xp->who, p->name,
		         on ? "watch" : "unwatch", path);
	p->watching = on;
}

void xen_probe_port_unbind(struct xen_probe_port *p)
{
	struct xen_probes *xp = p->xp;

	if (p->local_port < 0)
		return;
	if ((unsigned)p->local_port < xp->map_len)
		xp->map[p->local_port] = NULL;
	xenevtchn_unbind(xp->xce, (evtchn_port_t)p->local_port);
	p->local_port = -1;
	p->remote_port = 0;
}

static int map_set(struct xen_probes *xp, unsigned port, struct xen_probe_port *p)
{
	if (port >= xp->map_len) {
		unsigned n = xp->map_len ? xp->map_len : 256;
		struct xen_probe_port **m;

		while (n <= port)
			n *= 2;
		m = realloc(xp->map, n * sizeof(*m));
		if (!m)
			return -1;
		memset(m + xp->map_len, 0, (n - xp->map_len) * sizeof(*m));
		xp->map = m;
		xp->map_len = n;
	}
	xp->map[port] = p;
	return 0;
}

void xen_probe_port_changed(struct xen_probe_port *p)
{
	struct xen_probes *xp = p->xp;
	char why[200], path[128];
	unsigned len = 0, port;
	xenevtchn_port_or_error_t local;
	char *val;

	snprintf(path, sizeof(path), "/local/domain/%u/data/shoal/probe-port", p->domid);
	val = xs_read(xp->xs, XBT_NULL, path, &len);
	if (!val)
		return; /* not yet advertised (or just removed): probes go unanswered */
	if (len > XEN_GUEST_VALUE_MAX || xen_parse_port(val, len, &port, why, sizeof(why)) < 0) {
		char shown[64];

		if (len > XEN_GUEST_VALUE_MAX)
			snprintf(why, sizeof(why), "the probe port is %u bytes long", len);
		xen_reason_clean(val, len < 40 ? len : 40, shown, sizeof(shown));
		if (strcmp(shown, p->refused)) {
			log_warnx("%s: guest %s (domain %u): refused its data/shoal/probe-port "
			          "\"%s\": %s",
			          xp->who, p->name, p->domid, shown, why);
			snprintf(p->refused, sizeof(p->refused), "%s", shown);
		}
		free(val);
		return;
	}
	free(val);
	if (p->local_port >= 0 && p->remote_port == port)
		return;
	/* The new port first: a port that cannot be bound leaves the old one working. */
	local = xenevtchn_bind_interdomain(xp->xce, p->domid, port);
	if (local < 0) {
		snprintf(why, sizeof(why), "%u", port);
		if (strcmp(why, p->refused)) {
			log_warn("%s: guest %s (domain %u): cannot bind its probe port %u%s",
			         xp->who, p->name, p->domid, port,
			         p->local_port >= 0 ? "; probes keep the port bound before" : "");
			snprintf(p->refused, sizeof(p->refused), "%s", why);
		}
		return;
	}
	if (map_set(xp, (unsigned)local, p) < 0) {
		xenevtchn_unbind(xp->xce, (evtchn_port_t)local);
		log_warnx("%s: guest %s: out of memory for its probe port", xp->who, p->name);
		return;
	}
	if (p->local_port >= 0 && p->local_port != local) {
		xp->map[p->local_port] = NULL;
		xenevtchn_unbind(xp->xce, (evtchn_port_t)p->local_port);
	}
	p->local_port = local;
	p->remote_port = port;
	p->refused[0] = '\0';
	log_debug("%s: guest %s (domain %u): probe port %u bound as %d", xp->who, p->name, p->domid,
	          port, local);
}

/*
 * Answers.  The evtchn device queues every pending port once and masks
 * it; a wake-up takes them all (the fd is non-blocking) and unmasks each,
 * with one time stamp for the lot, as the KVM backend does.
 */
void xen_probes_drain(struct xen_probes *xp)
{
	uint64_t now = now_mono_ns();
	xenevtchn_port_or_error_t port;

	while ((port = xenevtchn_pending(xp->xce)) >= 0) {
		struct xen_probe_port *p = (unsigned)port < xp->map_len ? xp->map[port] : NULL;

		/* A deaf port stays masked: the guest's storm then wakes nobody. */
		if (p && p->deaf && p->local_port == port) {
			p->held = 1;
			continue;
		}
		xenevtchn_unmask(xp->xce, (evtchn_port_t)port);
		if (p)
			xp->answer(p->owner, now);
	}
}

int xen_probe_port_notify(struct xen_probe_port *p, char *err, size_t errlen)
{
	/*
	 * No port advertised (yet): the probe is "sent" and goes unanswered,
	 * so that a guest whose runtime never comes up is missed, and hung,
	 * as on KVM.
	 */
	if (p->local_port < 0)
		return 0;
	if (xenevtchn_notify(p->xp->xce, (evtchn_port_t)p->local_port) < 0)
		return be_fail_errno(err, errlen, "xenevtchn_notify on port %d", p->local_port);
	return 0;
}

/*
 * A storming guest: its port is left masked at its next event.  The
 * pending bit cannot say how many came meanwhile: -1, and the engine
 * listens to decide.
 */
long long xen_probe_port_listen(struct xen_probe_port *p, int on)
{
	p->deaf = !on;
	if (on && p->held) {
		p->held = 0;
		if (p->local_port >= 0)
			xenevtchn_unmask(p->xp->xce, (evtchn_port_t)p->local_port);
	}
	return on ? -1 : 0;
}
