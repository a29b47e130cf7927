/*
 * The probe channel of Xen domains, for every backend that runs them
 * (xen.c through libxl or its own maker, libvirt.c through libvirt, which
 * has no event-channel API): one libxenevtchn handle for all domains; each
 * domain's port is the one its guest writes to data/shoal/probe-port,
 * bound interdomain from Dom0.  The backend watches that key (its token
 * "p<domid>", xen_probe_port_watch) and calls xen_probe_port_changed when
 * the watch fires; answers come through the answer callback, from the loop.
 */
#ifndef SHOALD_XEN_PROBE_H
#define SHOALD_XEN_PROBE_H

#include <stdint.h>

#include <ev.h>
#include <xenstore.h>

struct xen_probes;

/* One domain's port. */
struct xen_probe_port {
	struct xen_probes *xp;
	void *owner; /* handed to the answer callback */
	uint32_t domid;
	char name[64];        /* the guest's, for the log */
	int local_port;       /* our end; -1: unbound */
	unsigned remote_port; /* the guest's advertised one */
	int deaf;             /* its events storm: leave its port masked (xen_probe_port_listen) */
	int held;             /* ... and it is: unmask it when listening again */
	int watching;
	char refused[220]; /* the last refused value, so that it is logged once */
};

/* A notification on owner's port arrived at now_ns (monotonic). */
typedef void (*xen_probe_answer_fn)(void *owner, uint64_t now_ns);

/*
 * The event channel device, on loop; xs is the backend's xenstore
 * connection (its watches stay the backend's), who ("xen", "libvirt")
 * starts the log lines.  NULL with err.
 */
struct xen_probes *xen_probes_open(struct ev_loop *loop, struct xs_handle *xs, const char *who,
                                   xen_probe_answer_fn answer, char *err, size_t errlen);
void xen_probes_close(struct xen_probes *xp);
/* How many ports are bound now (for the backend's stats). */
unsigned xen_probes_bound(const struct xen_probes *xp);

void xen_probe_port_init(struct xen_probe_port *p, struct xen_probes *xp, void *owner,
                         uint32_t domid, const char *name);
/* Watch (on 1) or stop watching the domain's data/shoal/probe-port; token "p<domid>". */
void xen_probe_port_watch(struct xen_probe_port *p, struct xs_handle *xs, int on);
/* The guest (re)wrote data/shoal/probe-port: bind it, or log once why not. */
void xen_probe_port_changed(struct xen_probe_port *p);
void xen_probe_port_unbind(struct xen_probe_port *p);
/* Every answer already waiting, now (the ops' probe_drain). */
void xen_probes_drain(struct xen_probes *xp);
/* Notify the guest's port; 0 also when it has none yet (the probe goes unanswered). */
int xen_probe_port_notify(struct xen_probe_port *p, char *err, size_t errlen);
/* The ops' probe_listen for this port. */
long long xen_probe_port_listen(struct xen_probe_port *p, int on);

#endif
