/*
 * The Xen backend: one domain per guest, made and ended through libxl,
 * its keys and watches through libxenstore, its probes through
 * libxenevtchn; everything on the daemon's libev loop but the direct
 * maker's builds (below).
 *
 * libxl on libev: libxl's fds and timeouts become ev_io and ev_timer
 * watchers (libxl_osevent_register_hooks).  libev owns SIGCHLD and reaps
 * every child, so libxl runs in libxl_sigchld_owner_mainloop and one
 * ev_child watcher for any pid hands each reaped child to
 * libxl_childproc_reaped (libxl says ERROR_UNKNOWN_CHILD for others').
 * libxl may call our event and completion callbacks from inside any libxl
 * call, so those only note what happened and arm `work`; every state
 * change of a domain happens in dom_step(), called from the loop, never
 * from inside libxl.
 *
 * A start: libxl_domain_create_new with an ao_how (libxl still makes and
 * builds the domain before the call returns; the waits after that, for
 * the console and the devices, are on the loop; the domain is left
 * paused; our tags shoal/name and shoal/instance, read-only to the guest,
 * are written with the domain's own keys) -> death events and the watches
 * on data/shoal/probe-port and console/tty -> the console pty that
 * xenconsoled offers, opened raw before the guest runs, so its first byte
 * is captured -> unpause -> started().  A shutdown: the guest's data/shoal/exit-code and
 * exit-reason are read while the domain is still there (on_poweroff and
 * on_crash are "preserve"), then it is destroyed and exited() follows.
 *
 * xen-create = direct: the build (xen_build.c: libxenctrl makes the
 * domain, libxenguest loads the ELF, one xenstore transaction) is
 * synchronous and takes tens of ms, so it runs on a worker thread of the
 * backend's, one build at a time and in order, with a libxenctrl handle,
 * a xenstore connection and a logger of its own: the loop and the worker
 * share no handle.  While a build is the worker's, its dom stays in
 * XD_CREATING and the loop leaves its devices alone (the worker reads
 * them); the domid, the result and the error come back to the loop
 * through an ev_async, and dom_step() goes on from there as after libxl's
 * create (a stop asked for meanwhile destroys the domain then).
 *
 * After a restart, adopt() takes back the domains with our tags: the
 * probe port is bound again (it fell back to unbound when the old daemon's
 * evtchn handle closed), the console pty reopened, death events re-armed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/worker.h"
#include "daemon/backend/xen_build.h"
#include "daemon/backend/xen_cpu.h"
#include "daemon/backend/xen_dev.h"
#include "daemon/backend/xen_parse.h"
#include "daemon/backend/xen_probe.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/spec.h"
#include "common/guest_exit.h"
#include "shoal/abi.h"

#define CONSOLE_TIMEOUT_S 10.0

enum dom_state {
	XD_CREATING, /* libxl_domain_create_new, or the worker's build, in flight */
	XD_CONSOLE,  /* made and paused; waiting for xenconsoled's pty */
	XD_RUNNING,
	XD_DYING, /* its end is known; destroy in flight */
	XD_ENDED, /* reported; freed once libxl holds nothing of it */
};

struct dom {
	struct backend *be;
	struct dom *next;
	enum dom_state state;
	struct guest *g; /* NULL once reported, or for a domain being cleared away */
	uint32_t domid;
	uint64_t instance;
	uint64_t boot_wall_ns;
	int adopted;
	uint64_t t_start_ns, t_made_ns; /* start() called; the domain made and paused (monotonic) */
	libxl_domain_config
	    cfg; /* xen-create = libxl: what libxl makes it from; outlives the create */
	int cfg_live;
	/* What libxl told us, for dom_step() (set from callbacks). */
	int create_inflight, create_done, create_rc;
	int destroy_inflight;
	int shutdown_seen, death_seen;
	libxl_shutdown_reason shutdown_reason;
	int stop_requested;
	libxl_evgen_domain_death *death;
	/* The guest's end, once known. */
	int end_status;
	char end_reason[512];
	int start_failed; /* the end is a failed start (http 500) */
	/* Console. */
	int console_fd;
	ev_io console_w;
	ev_timer console_timer;
	/* Probe (xen_probe.c); watching: its console/tty too. */
	int watching;
	struct xen_probe_port probe;
	/* Devices: loops held from the start; directories and hotplug per xen_dev.h. */
	struct xen_devs devs;
};

struct xfd {
	ev_io w;
	struct backend *be;
	void *for_libxl;
	short events;
};

struct xto {
	ev_timer w;
	struct backend *be;
	void *for_libxl;
};

struct xen_logger {
	xentoollog_logger vtable;
	struct backend *be;
};

/* The worker's: libxenctrl's and libxenguest's first warning of a build, into its job. */
struct build_logger {
	xentoollog_logger vtable;
	char *first; /* the running job's lib_err; NULL between jobs */
	size_t len;
};

/*
 * A job for the worker (xen-create = direct): a build, with its own
 * copies of what to make, or the destroy of a domain shoald made.
 */
enum xen_job_kind {
	JOB_BUILD,
	JOB_DESTROY,
};

struct xen_job {
	struct worker_job link;
	enum xen_job_kind kind;
	struct dom *d; /* held (create_inflight, destroy_inflight) until the loop has the result */
	char name[GUEST_NAME_MAX + 1];
	char *image_path;
	char cmdline[XEN_CMDLINE_MAX];
	unsigned memory_mib, vcpus;
	uint64_t instance;
	/* Results, read by the loop once done. */
	int rc; /* 0, or -1 with err */
	uint32_t domid;
	uint64_t ns; /* how long the build or destroy took */
	char err[300];
	char lib_err[300]; /* what libxenctrl or libxenguest warned of first */
};

struct backend {
	struct ev_loop *loop;
	const struct shoald_config *cfg;
	struct backend_host host;
	enum libxl_domain_type type;
	libxl_ctx *ctx;
	struct xen_logger logger;
	struct xs_handle *xs;
	ev_io xs_w;
	int nl_fd; /* rtnetlink link events: netback made a vif (xen-create = direct) */
	ev_io nl_w;
	struct xen_probes *probes;
	ev_child child_w;
	ev_timer work;
	struct dom *doms;
	struct xen_cpu *xc;
	/*
	 * xen-create = direct: the worker and what is its alone (the builder's
	 * libxenctrl handle, build_xs, build_logger); jobs in order, done ones
	 * back to the loop (worker.h).
	 */
	struct xen_builder *builder; /* NULL: libxl makes the domains */
	struct xs_handle *build_xs;
	struct build_logger build_logger;
	struct worker worker;
	uint64_t build_ns_max;       /* the longest build, off the loop */
	uint64_t destroy_ns_max;     /* the longest libxl_domain_destroy call, on the loop */
	uint64_t destroy_off_ns_max; /* the longest destroy of a domain shoald made, off the loop */
	char cpu_err[200];
	char mechanism[400];
	char last_err[300]; /* libxl's first error since the last create began, for its reason */
	char version[64];
	const char *scheduler;
	uint64_t creates, create_failures, adopted;
};

static void dom_step(struct dom *d);

static void work_soon(struct backend *be)
{
	if (!ev_is_active(&be->work)) {
		ev_timer_set(&be->work, 0., 0.);
		ev_timer_start(be->loop, &be->work);
	}
}

static struct dom *dom_by_id(struct backend *be, uint32_t domid)
{
	struct dom *d;

	for (d = be->doms; d; d = d->next)
		if (d->domid == domid && d->state != XD_ENDED)
			return d;
	return NULL;
}

static const char *dom_name(const struct dom *d)
{
	return d->g ? d->g->name : "(none)";
}

/*
 * A call on the loop that held it SLOW_CALL_NS or more is said at debug
 * level with its time, to find what holds every guest's probes (/v1/host's
 * loop counts the holds, not their cause).
 */
#define SLOW_CALL_NS 5000000ull

static void held(const char *what, const char *guest, uint64_t t0)
{
	uint64_t ns = now_mono_ns() - t0;

	if (ns >= SLOW_CALL_NS)
		log_debug("xen: %s%s%s held the loop %.1f ms", what, guest ? ", guest " : "",
		          guest ? guest : "", (double)ns / 1e6);
}

/* ---- libxl's log, into ours ---- */

static void xl_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                        const char *context, const char *format, va_list al)
{
	struct backend *be = ((struct xen_logger *)lg)->be;
	char msg[600], line[300];

	vsnprintf(msg, sizeof(msg), format, al);
	if (level < XTL_WARN) {
		log_debug("libxl: %s", msg);
		return;
	}
	if (errnoval >= 0)
		snprintf(line, sizeof(line), "%.200s: %s", msg, strerror(errnoval));
	else
		snprintf(line, sizeof(line), "%.280s", msg);
	/* The first error since a create began is what its failure says (later ones are its
	 * clean-up). */
	if (!be->last_err[0])
		snprintf(be->last_err, sizeof(be->last_err), "%s", line);
	log_warnx("libxl%s%s: %s", context ? " " : "", context ? context : "", line);
}

static void xl_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                        int percent, unsigned long done, unsigned long total)
{
	(void)lg, (void)context, (void)doing_what, (void)percent, (void)done, (void)total;
}

static void xl_destroy(xentoollog_logger *lg)
{
	(void)lg;
}

/* ---- libxl's fds, timeouts and children on the loop ---- */

static int ev_events(short events)
{
	return ((events & (POLLIN | POLLPRI)) ? EV_READ : 0) | ((events & POLLOUT) ? EV_WRITE : 0);
}

static void on_xfd(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xfd *x = (struct xfd *)w;
	short re = 0;

	(void)loop;
	if (revents & EV_READ)
		re |= x->events & (POLLIN | POLLPRI);
	if (revents & EV_WRITE)
		re |= x->events & POLLOUT;
	libxl_osevent_occurred_fd(x->be->ctx, x->for_libxl, w->fd, x->events, re);
}

static int hook_fd_register(void *user, int fd, void **reg, short events, void *for_libxl)
{
	struct backend *be = user;
	struct xfd *x = calloc(1, sizeof(*x));

	if (!x)
		return ERROR_OSEVENT_REG_FAIL;
	x->be = be;
	x->for_libxl = for_libxl;
	x->events = events;
	ev_io_init(&x->w, on_xfd, fd, ev_events(events));
	if (ev_events(events))
		ev_io_start(be->loop, &x->w);
	*reg = x;
	return 0;
}

static int hook_fd_modify(void *user, int fd, void **reg, short events)
{
	struct backend *be = user;
	struct xfd *x = *reg;

	ev_io_stop(be->loop, &x->w);
	x->events = events;
	ev_io_set(&x->w, fd, ev_events(events));
	if (ev_events(events))
		ev_io_start(be->loop, &x->w);
	return 0;
}

static void hook_fd_deregister(void *user, int fd, void *reg)
{
	struct backend *be = user;
	struct xfd *x = reg;

	(void)fd;
	ev_io_stop(be->loop, &x->w);
	free(x);
}

static void on_xto(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xto *t = (struct xto *)w;
	struct backend *be = t->be;
	void *for_libxl = t->for_libxl;

	(void)loop;
	(void)revents;
	/* libxl counts the timeout as deregistered once it occurs. */
	free(t);
	libxl_osevent_occurred_timeout(be->ctx, for_libxl);
}

/*
 * libxl's deadlines are wall-clock times.  An ev_timer counts from the
 * loop's cached time, which lags the clock by however long this loop
 * iteration has run (a create holds it for a while): measured from the
 * clock, a timeout would fire that much early (libxl's 10 s wait for the
 * console then ran out in under 5).  So the delay is taken from the same
 * cached time the timer counts from.
 */
static double after_s(struct backend *be, struct timeval abs)
{
	double s;

	if (abs.tv_sec == 0 && abs.tv_usec == 0)
		return 0.;
	s = (double)abs.tv_sec + (double)abs.tv_usec / 1e6 - ev_now(be->loop);
	return s > 0. ? s : 0.;
}

static int hook_timeout_register(void *user, void **reg, struct timeval abs, void *for_libxl)
{
	struct backend *be = user;
	struct xto *t = calloc(1, sizeof(*t));

	if (!t)
		return ERROR_OSEVENT_REG_FAIL;
	t->be = be;
	t->for_libxl = for_libxl;
	ev_timer_init(&t->w, on_xto, after_s(be, abs), 0.);
	ev_timer_start(be->loop, &t->w);
	*reg = t;
	return 0;
}

static int hook_timeout_modify(void *user, void **reg, struct timeval abs)
{
	struct backend *be = user;
	struct xto *t = *reg;

	ev_timer_stop(be->loop, &t->w);
	ev_timer_set(&t->w, after_s(be, abs), 0.);
	ev_timer_start(be->loop, &t->w);
	return 0;
}

static void hook_timeout_deregister(void *user, void *reg)
{
	struct backend *be = user;
	struct xto *t = reg;

	ev_timer_stop(be->loop, &t->w);
	free(t);
}

static const libxl_osevent_hooks osevent_hooks = {
	.fd_register = hook_fd_register,
	.fd_modify = hook_fd_modify,
	.fd_deregister = hook_fd_deregister,
	.timeout_register = hook_timeout_register,
	.timeout_modify = hook_timeout_modify,
	.timeout_deregister = hook_timeout_deregister,
};

static const libxl_childproc_hooks childproc_hooks = {
	.chldowner = libxl_sigchld_owner_mainloop,
};

/* libev reaped a child: libxl's (bootloader, save helper) or someone else's. */
static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct backend *be = w->data;

	(void)loop;
	(void)revents;
	libxl_childproc_reaped(be->ctx, w->rpid, w->rstatus);
}

/* ---- libxl's events: noted here, acted on in dom_step() ---- */

static void on_xl_event(void *user, libxl_event *ev)
{
	struct backend *be = user;
	struct dom *d = dom_by_id(be, ev->domid);

	if (d) {
		if (ev->type == LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN && !d->shutdown_seen) {
			d->shutdown_seen = 1;
			d->shutdown_reason = ev->u.domain_shutdown.shutdown_reason;
		} else if (ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH) {
			d->death_seen = 1;
		}
		work_soon(be);
	}
	libxl_event_free(be->ctx, ev);
}

static void on_xl_disaster(void *user, libxl_event_type type, const char *msg, int errnoval)
{
	(void)user;
	/* No libxl call is allowed here; the log says what is lost. */
	log_warnx("xen: libxl lost events (type %d): %s: %s; guests' ends may go unnoticed until "
	          "shoald restarts",
	          (int)type, msg, strerror(errnoval));
}

static const libxl_event_hooks event_hooks = {
	.event_occurs_mask = LIBXL_EVENTMASK_ALL,
	.event_occurs = on_xl_event,
	.disaster = on_xl_disaster,
};

static void on_created(libxl_ctx *ctx, int rc, void *arg)
{
	struct dom *d = arg;

	(void)ctx;
	d->create_inflight = 0;
	d->create_done = 1;
	d->create_rc = rc;
	work_soon(d->be);
}

static void on_destroyed(libxl_ctx *ctx, int rc, void *arg)
{
	struct dom *d = arg;

	(void)ctx;
	d->destroy_inflight = 0;
	if (rc && rc != ERROR_DOMAIN_NOTFOUND)
		log_warnx("xen: guest %s: destroying domain %u failed (libxl error %d)",
		          dom_name(d), d->domid, rc);
	work_soon(d->be);
}

/* ---- xenstore ---- */

static void *xs_get(struct backend *be, uint32_t domid, const char *key, unsigned *len)
{
	char path[128];

	snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, key);
	return xs_read(be->xs, XBT_NULL, path, len);
}

/* dom0's key under the domain's own directory, readable by the guest, not writable. */
static int xs_put_tag(struct backend *be, uint32_t domid, const char *key, const char *val)
{
	struct xs_permissions perms[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = domid, .perms = XS_PERM_READ },
	};
	char path[128];

	snprintf(path, sizeof(path), "/local/domain/%u/shoal/%s", domid, key);
	if (!xs_write(be->xs, XBT_NULL, path, val, strlen(val)) ||
	    !xs_set_permissions(be->xs, XBT_NULL, path, perms, 2))
		return -1;
	return 0;
}

static void dom_watch(struct dom *d, int on)
{
	struct backend *be = d->be;
	char path[128], token[32];

	if (on == d->watching)
		return;
	d->probe.domid = d->domid;
	snprintf(d->probe.name, sizeof(d->probe.name), "%s", dom_name(d));
	xen_probe_port_watch(&d->probe, be->xs, on);
	snprintf(token, sizeof(token), "c%u", d->domid);
	snprintf(path, sizeof(path), "/local/domain/%u/console/tty", d->domid);
	if (on ? !xs_watch(be->xs, path, token) : !xs_unwatch(be->xs, path, token))
		log_warn("xen: guest %s: cannot %s %s", dom_name(d), on ? "watch" : "unwatch",
		         path);
	d->watching = on;
}

/* ---- probes (xen_probe.c) ---- */

static void probe_port_changed(struct dom *d)
{
	d->probe.domid = d->domid;
	snprintf(d->probe.name, sizeof(d->probe.name), "%s", dom_name(d));
	xen_probe_port_changed(&d->probe);
}

static void on_probe_answer(void *owner, uint64_t now)
{
	struct dom *d = owner;

	if (d->g && d->state == XD_RUNNING)
		d->be->host.probe_answer(d->g, now, 1);
}

static long long xen_probe_listen(struct backend *be, struct guest *g, int on)
{
	struct dom *d = g->be;

	(void)be;
	if (!d)
		return -1;
	return xen_probe_port_listen(&d->probe, on);
}

/*
 * What waits on the fd when the engine drains: late answers, and also the
 * event Xen raises on a freshly bound port, which the engine then counts
 * as late instead of taking it for the first probe's answer.
 */
static void xen_probe_drain(struct backend *be)
{
	xen_probes_drain(be->probes);
}

static int xen_probe(struct backend *be, struct guest *g, char *err, size_t errlen)
{
	struct dom *d = g->be;

	(void)be;
	if (!d || d->state != XD_RUNNING)
		return be_fail(err, errlen, "its domain is not running");
	return xen_probe_port_notify(&d->probe, err, errlen);
}

/* ---- console ---- */

static void console_drain(struct dom *d)
{
	char buf[16384];
	ssize_t r;

	if (d->console_fd < 0)
		return;
	while ((r = read(d->console_fd, buf, sizeof(buf))) > 0)
		if (d->g)
			d->be->host.console(d->g, buf, (size_t)r);
}

static void on_console(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dom *d = w->data;
	char buf[16384];
	ssize_t r = read(d->console_fd, buf, sizeof(buf));

	(void)revents;
	if (r > 0) {
		if (d->g)
			d->be->host.console(d->g, buf, (size_t)r);
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EIO: xenconsoled closed its side (the domain is going). */
	ev_io_stop(loop, w);
}

static void console_close(struct dom *d)
{
	ev_io_stop(d->be->loop, &d->console_w);
	ev_timer_stop(d->be->loop, &d->console_timer);
	if (d->console_fd >= 0)
		close(d->console_fd);
	d->console_fd = -1;
}

/* A pty path as xenconsoled writes it; the key is not the guest's to write, but check anyway. */
static int tty_path_ok(const char *p, unsigned len)
{
	unsigned i;

	if (len < 10 || len > 20 || strncmp(p, "/dev/pts/", 9))
		return 0;
	for (i = 9; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* Open the pty xenconsoled offers for the domain, raw; 0, or -1 when it is not there (yet). */
static int console_open(struct dom *d)
{
	struct termios t;
	unsigned len = 0;
	char *path;
	int fd;

	if (d->console_fd >= 0)
		return 0;
	path = xs_get(d->be, d->domid, "console/tty", &len);
	if (!path)
		return -1;
	if (!tty_path_ok(path, len)) {
		log_warnx("xen: guest %s (domain %u): console/tty is not a pty path; no console",
		          dom_name(d), d->domid);
		free(path);
		return -1;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		log_warn("xen: guest %s: %s", dom_name(d), path);
		free(path);
		return -1;
	}
	free(path);
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	d->console_fd = fd;
	ev_io_init(&d->console_w, on_console, fd, EV_READ);
	d->console_w.data = d;
	ev_io_start(d->be->loop, &d->console_w);
	return 0;
}

static void on_console_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dom *d = w->data;

	(void)loop;
	(void)revents;
	if (d->state != XD_CONSOLE)
		return;
	d->start_failed = 1;
	d->end_status = GUEST_EXIT_SETUP;
	snprintf(
	    d->end_reason, sizeof(d->end_reason),
	    "xenconsoled offered no console for domain %u within %.0f s (is xenconsoled running?)",
	    d->domid, CONSOLE_TIMEOUT_S);
	d->stop_requested = 1;
	dom_step(d);
}

/* ---- xenstore watches ---- */

static void on_xs(struct ev_loop *loop, ev_io *w, int revents)
{
	struct backend *be = w->data;
	char **vec;

	(void)loop;
	(void)revents;
	while ((vec = xs_check_watch(be->xs))) {
		unsigned long id;
		int kind = xen_watch_token(vec[XS_WATCH_TOKEN], "pc", &id);
		struct dom *d = kind ? dom_by_id(be, (uint32_t)id) : NULL;
		uint64_t t0 = now_mono_ns();

		if (d && kind == 'p' && (d->state == XD_CONSOLE || d->state == XD_RUNNING))
			probe_port_changed(d);
		else if (d && kind == 'c' && d->state == XD_CONSOLE)
			dom_step(d);
		held(kind == 'p' ? "its probe port's watch" : "a watch", d ? dom_name(d) : NULL,
		     t0);
		free(vec);
	}
}

/* ---- vifs: netback made an interface ---- */

/*
 * Link events wake this; which link it was matters little (a handful of
 * domains wait at most), so every domain whose vifs wait looks again.
 */
static void on_netlink(struct ev_loop *loop, ev_io *w, int revents)
{
	struct backend *be = w->data;
	char buf[8192];
	struct dom *d;

	(void)loop;
	(void)revents;
	while (recv(be->nl_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	for (d = be->doms; d; d = d->next)
		if (d->state == XD_CONSOLE || d->state == XD_RUNNING)
			xen_devs_connect(be->xs, &d->devs, dom_name(d));
}

static void netlink_open(struct backend *be)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };

	be->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (be->nl_fd >= 0 && bind(be->nl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(be->nl_fd);
		be->nl_fd = -1;
	}
	if (be->nl_fd < 0) {
		log_warn("xen: no rtnetlink link events: vifs will not be put on their bridges");
		return;
	}
	ev_io_init(&be->nl_w, on_netlink, be->nl_fd, EV_READ);
	be->nl_w.data = be;
	ev_io_start(be->loop, &be->nl_w);
}

/* ---- the domain's life ---- */

static int direct_destroy(struct dom *d);

static void dom_destroy(struct dom *d)
{
	libxl_asyncop_how how = { .callback = on_destroyed, .u.for_callback = d };
	uint64_t t0, ns;
	int rc;

	if (d->destroy_inflight)
		return;
	d->destroy_inflight = 1;
	/* A domain shoald made has nothing of libxl's to undo: the worker destroys it. */
	if (d->be->builder && d->devs.own_dirs && direct_destroy(d) == 0)
		return;
	/* libxl's ao returns before the domain is gone; how long it holds the loop is measured. */
	t0 = now_mono_ns();
	rc = libxl_domain_destroy(d->be->ctx, d->domid, &how);
	ns = now_mono_ns() - t0;
	if (ns > d->be->destroy_ns_max)
		d->be->destroy_ns_max = ns;
	log_debug("xen: guest %s: libxl_domain_destroy of domain %u returned in %.1f ms",
	          dom_name(d), d->domid, (double)ns / 1e6);
	if (rc) {
		d->destroy_inflight = 0;
		log_warnx("xen: guest %s: cannot destroy domain %u (libxl error %d)", dom_name(d),
		          d->domid, rc);
	}
}

static enum xen_end end_of(libxl_shutdown_reason r)
{
	switch (r) {
	case LIBXL_SHUTDOWN_REASON_POWEROFF:
		return XEN_END_POWEROFF;
	case LIBXL_SHUTDOWN_REASON_REBOOT:
		return XEN_END_REBOOT;
	case LIBXL_SHUTDOWN_REASON_SUSPEND:
		return XEN_END_SUSPEND;
	case LIBXL_SHUTDOWN_REASON_CRASH:
		return XEN_END_CRASH;
	case LIBXL_SHUTDOWN_REASON_WATCHDOG:
		return XEN_END_WATCHDOG;
	case LIBXL_SHUTDOWN_REASON_SOFT_RESET:
		return XEN_END_SOFT_RESET;
	default:
		return XEN_END_UNKNOWN;
	}
}

/* The domain shut down: what the guest left in its exit keys, read before the destroy. */
static void read_end(struct dom *d)
{
	unsigned clen = 0, rlen = 0;
	char *code = xs_get(d->be, d->domid, "data/shoal/exit-code", &clen);
	char *reason = xs_get(d->be, d->domid, "data/shoal/exit-reason", &rlen);

	d->end_status =
	    xen_exit_map(end_of(d->shutdown_reason), code,
	                 clen < XEN_GUEST_VALUE_MAX ? clen : XEN_GUEST_VALUE_MAX, reason,
	                 rlen < XEN_GUEST_VALUE_MAX ? rlen : XEN_GUEST_VALUE_MAX, d->end_reason,
	                 sizeof(d->end_reason));
	free(code);
	free(reason);
}

/* Let go of everything the domain holds here; it stays in the list until libxl is done with it. */
static void dom_release(struct dom *d)
{
	if (d->death) {
		libxl_evdisable_domain_death(d->be->ctx, d->death);
		d->death = NULL;
	}
	if (d->watching)
		dom_watch(d, 0);
	xen_probe_port_unbind(&d->probe);
	console_close(d);
}

/* Tell the daemon once; the domain's own end (destroy) may still be under way. */
static void dom_report(struct dom *d)
{
	struct guest *g = d->g;

	console_drain(d);
	dom_release(d);
	d->g = NULL;
	if (!g)
		return;
	g->be = NULL;
	if (d->start_failed) {
		d->be->create_failures++;
		d->be->host.start_failed(g, 500, d->end_reason);
	} else {
		d->be->host.exited(g, d->end_status, d->end_reason);
	}
}

static void dom_free_if_done(struct dom *d)
{
	struct dom **pp;

	if (d->state != XD_ENDED || d->create_inflight || d->destroy_inflight)
		return;
	/* The domain is gone (or was never made): its devices go too. */
	xen_devs_teardown(d->be->xs, &d->devs);
	for (pp = &d->be->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	if (d->cfg_live)
		libxl_domain_config_dispose(&d->cfg);
	free(d);
}

/* Made and paused (its tags came with it, from xsdata): death events, watches; then the console. */
static int dom_setup(struct dom *d)
{
	struct backend *be = d->be;
	int rc;

	d->devs.domid = d->domid;
	rc = libxl_evenable_domain_death(be->ctx, d->domid, 0, &d->death);
	if (rc) {
		d->death = NULL;
		snprintf(d->end_reason, sizeof(d->end_reason),
		         "libxl cannot watch domain %u's death (error %d)", d->domid, rc);
		return -1;
	}
	dom_watch(d, 1);
	/* libxl made the device directories: shoal's keys in them, before the guest runs. */
	if (!d->devs.own_dirs && xen_devs_write_shoal_keys(be->xs, d->domid, &d->devs) < 0) {
		snprintf(d->end_reason, sizeof(d->end_reason),
		         "cannot write shoal's keys in domain %u's device directories: %s",
		         d->domid, strerror(errno));
		return -1;
	}
	xen_devs_connect(be->xs, &d->devs, dom_name(d));
	return 0;
}

/* The console is open: let the guest run. */
static int dom_unpause(struct dom *d)
{
	char num[32];
	int rc;

	d->boot_wall_ns = now_wall_ns();
	snprintf(num, sizeof(num), "%" PRIu64, d->boot_wall_ns);
	if (xs_put_tag(d->be, d->domid, "boot-wall-ns", num) < 0)
		log_warn("xen: guest %s: cannot write shoal/boot-wall-ns", dom_name(d));
	rc = libxl_domain_unpause(d->be->ctx, d->domid, NULL);
	if (rc) {
		snprintf(d->end_reason, sizeof(d->end_reason),
		         "libxl cannot unpause domain %u (error %d)", d->domid, rc);
		return -1;
	}
	return 0;
}

/*
 * Every state change of a domain happens here, from the loop: what
 * libxl's callbacks noted, a stop request, the console appearing.
 */
static void dom_step(struct dom *d)
{
	struct backend *be = d->be;
	uint64_t t0;
	int rc;

	switch (d->state) {
	case XD_CREATING:
		if (!d->create_done)
			return;
		if (d->create_rc) {
			d->start_failed = 1;
			if (!d->end_reason[0]) /* the worker's build says its own (job_done) */
				snprintf(d->end_reason, sizeof(d->end_reason),
				         "libxl could not create the domain: %s",
				         be->last_err[0] ? be->last_err
				                         : libxl_error_to_string(d->create_rc));
			/* libxl destroys what it made of a failed create; anything left goes here.
			 */
			if (d->domid != (uint32_t)INVALID_DOMID &&
			    libxl_domain_info(be->ctx, NULL, d->domid) == 0)
				dom_destroy(d);
			d->state = XD_ENDED;
			dom_report(d);
			break;
		}
		if (d->stop_requested) {
			d->start_failed = 1;
			snprintf(d->end_reason, sizeof(d->end_reason), "stopped while starting");
			goto fail_made;
		}
		d->t_made_ns = now_mono_ns();
		t0 = now_mono_ns();
		rc = dom_setup(d);
		held("the setup (death events, watches, devices)", dom_name(d), t0);
		if (rc < 0) {
			d->start_failed = 1;
			goto fail_made;
		}
		d->state = XD_CONSOLE;
		ev_timer_start(be->loop, &d->console_timer);
		/* The pty may be there already. */
		__attribute__((fallthrough));
	case XD_CONSOLE:
		if (d->stop_requested || d->shutdown_seen || d->death_seen) {
			d->start_failed = 1;
			if (!d->end_reason[0])
				snprintf(d->end_reason, sizeof(d->end_reason), "%s",
				         d->stop_requested ? "stopped while starting"
				                           : "the domain ended before it ran");
			goto fail_made;
		}
		t0 = now_mono_ns();
		rc = console_open(d);
		held("the console's opening", dom_name(d), t0);
		if (rc < 0)
			return; /* the console/tty watch or the timeout brings us back */
		ev_timer_stop(be->loop, &d->console_timer);
		probe_port_changed(d); /* a guest adopted while paused may have one */
		t0 = now_mono_ns();
		rc = dom_unpause(d);
		held("the unpause", dom_name(d), t0);
		if (rc < 0) {
			d->start_failed = 1;
			goto fail_made;
		}
		d->state = XD_RUNNING;
		if (d->adopted)
			return;
		{
			uint64_t now = now_mono_ns();

			log_info(
			    "xen: guest %s: domain %u made in %.1f ms (%s), its console after "
			    "%.1f ms more; running %.1f ms after the start",
			    dom_name(d), d->domid, (double)(d->t_made_ns - d->t_start_ns) / 1e6,
			    be->builder ? "shoald" : "libxl", (double)(now - d->t_made_ns) / 1e6,
			    (double)(now - d->t_start_ns) / 1e6);
		}
		be->creates++;
		be->host.started(d->g, (int)d->domid, 0, d->boot_wall_ns);
		return;
	case XD_RUNNING:
		if (d->shutdown_seen) {
			read_end(d); /* the guest's own end, even if a destroy came after it */
		} else if (d->death_seen) {
			d->end_status = -1;
			snprintf(d->end_reason, sizeof(d->end_reason),
			         "domain %u was destroyed outside shoald", d->domid);
			d->state = XD_ENDED;
			dom_report(d);
			break;
		} else if (d->stop_requested) {
			d->end_status = -1;
			snprintf(d->end_reason, sizeof(d->end_reason),
			         "domain %u was destroyed on request", d->domid);
		} else {
			return;
		}
		d->state = XD_DYING;
		console_drain(d);
		dom_destroy(d);
		__attribute__((fallthrough));
	case XD_DYING:
		/* Reported once the domain is gone, so that a restart can take its name again. */
		if (d->destroy_inflight && !d->death_seen)
			return;
		d->state = XD_ENDED;
		dom_report(d);
		break;
	case XD_ENDED:
		break;
	}
	dom_free_if_done(d);
	return;
fail_made:
	d->state = XD_DYING;
	dom_destroy(d);
	dom_step(d);
}

static void on_work(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct backend *be = w->data;
	struct dom *d, *next;

	(void)loop;
	(void)revents;
	for (d = be->doms; d; d = next) {
		next = d->next;
		dom_step(d);
	}
}

static struct dom *dom_new(struct backend *be, struct guest *g, uint32_t domid)
{
	struct dom *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->be = be;
	d->g = g;
	d->domid = domid;
	d->console_fd = -1;
	xen_probe_port_init(&d->probe, be->probes, d, domid, g ? g->name : NULL);
	xen_devs_init(&d->devs);
	ev_timer_init(&d->console_timer, on_console_timeout, CONSOLE_TIMEOUT_S, 0.);
	d->console_timer.data = d;
	d->next = be->doms;
	be->doms = d;
	return d;
}

/*
 * shoald's tags on a domain, key, value, ..., NULL, relative to
 * /local/domain/N; num holds the instance.  They go in with the domain's
 * own keys, in its first xenstore transaction (under the domain's
 * directory, so read-only to it): a daemon killed anywhere in a create
 * leaves no domain without them, and the next one adopts or clears it away.
 */
#define TAGS_LEN 5
static void shoal_tags(const char *name, uint64_t instance, char num[32], const char *kv[TAGS_LEN])
{
	snprintf(num, 32, "%" PRIu64, instance);
	kv[0] = "shoal/name";
	kv[1] = name;
	kv[2] = "shoal/instance";
	kv[3] = num;
	kv[4] = NULL;
}

/* ---- the direct maker's worker ---- */

/* On the worker: what libxenctrl and libxenguest warn of (their debug lines are dropped). */
static void build_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                           const char *context, const char *format, va_list al)
{
	struct build_logger *bl = (struct build_logger *)lg;
	char msg[240];

	(void)context;
	if (level < XTL_WARN || !bl->first || bl->first[0])
		return;
	vsnprintf(msg, sizeof(msg), format, al);
	if (errnoval >= 0)
		snprintf(bl->first, bl->len, "%s: %s", msg, strerror(errnoval));
	else
		snprintf(bl->first, bl->len, "%s", msg);
}

static void job_run(struct backend *be, struct xen_job *j)
{
	const char *tags[TAGS_LEN];
	struct xen_build_req r = {
		.name = j->name,
		.image_path = j->image_path,
		.cmdline = j->cmdline,
		.memory_mib = j->memory_mib,
		.vcpus = j->vcpus,
		.tags = tags,
		.devs = &j->d->devs, /* left alone by the loop while XD_CREATING */
	};
	uint64_t t0 = now_mono_ns();
	char num[32];

	shoal_tags(j->name, j->instance, num, tags);
	be->build_logger.first = j->lib_err;
	be->build_logger.len = sizeof(j->lib_err);
	j->rc = xen_build_pv(be->builder, be->build_xs, &r, &j->domid, j->err, sizeof(j->err));
	be->build_logger.first = NULL;
	j->ns = now_mono_ns() - t0;
}

/*
 * On the worker: one build.  Told to quit, it finishes the build under
 * way and makes none of those queued after it (shoald is going; their
 * guests were never made).
 */
static void job_work(struct worker *w, struct worker_job *wj, int quitting)
{
	struct xen_job *j = WORKER_JOB(wj, struct xen_job, link);
	struct backend *be = w->ctx;

	if (j->kind == JOB_DESTROY) {
		/* Owed even when shoald is ending: its guest was stopped or removed. */
		uint64_t t0 = now_mono_ns();

		j->rc =
		    xen_build_destroy(be->builder, be->build_xs, j->domid, j->err, sizeof(j->err));
		j->ns = now_mono_ns() - t0;
		return;
	}
	if (quitting) {
		j->rc = -1;
		snprintf(j->err, sizeof(j->err), "shoald stopped before domain %s was made",
		         j->name);
		return;
	}
	job_run(be, j);
}

static void job_free(struct xen_job *j)
{
	free(j->image_path);
	free(j);
}

/* On the loop: the build's result into its dom, which dom_step() takes from there. */
static void job_done(struct backend *be, struct xen_job *j)
{
	struct dom *d = j->d;

	if (j->kind == JOB_DESTROY) {
		if (j->ns > be->destroy_off_ns_max)
			be->destroy_off_ns_max = j->ns;
		log_debug("xen: guest %s: domain %u destroyed off the loop in %.1f ms", j->name,
		          j->domid, (double)j->ns / 1e6);
		if (j->rc < 0)
			log_warnx("xen: guest %s: %s", j->name, j->err);
		d->destroy_inflight = 0;
		return;
	}
	if (j->ns > be->build_ns_max)
		be->build_ns_max = j->ns;
	if (j->lib_err[0])
		log_warnx("xen: guest %s: libxenctrl: %s", j->name, j->lib_err);
	d->create_inflight = 0;
	d->create_done = 1;
	d->domid = j->domid;
	d->devs.domid = d->domid; /* what a failure leaves is cleared away with it */
	d->create_rc = j->rc < 0 ? ERROR_FAIL : 0;
	if (j->rc < 0)
		snprintf(d->end_reason, sizeof(d->end_reason),
		         "shoald could not create the domain: %s", j->err);
}

/* On the loop: a build's result, then the work it lets go on. */
static void on_job_done(struct worker *w, struct worker_job *wj)
{
	struct xen_job *j = WORKER_JOB(wj, struct xen_job, link);

	job_done(w->ctx, j);
	job_free(j);
}

static void after_jobs(struct worker *w)
{
	work_soon(w->ctx);
}

static int build_worker_start(struct backend *be, char *err, size_t errlen)
{
	int r;

	be->worker.loop = be->loop;
	be->worker.run = job_work;
	be->worker.done = on_job_done;
	be->worker.after = after_jobs;
	be->worker.ctx = be;
	r = worker_start(&be->worker);
	if (r) {
		errno = r;
		return be_fail_errno(err, errlen, "xen backend: cannot start its build thread");
	}
	return 0;
}

/*
 * shoald is ending: the build under way finishes, the queued ones are
 * not made.  A domain made is left paused with its tags (they came in its
 * first transaction): the next shoald adopts it and lets it run, or
 * clears it away if its guest is gone.  One whose build failed after Xen
 * made it may lack them, so it is destroyed here, as the loop would have.
 */
static void build_worker_stop(struct backend *be)
{
	struct worker_job *left;
	struct dom *d;

	if (!be->worker.up)
		return;
	left = worker_stop(&be->worker);
	while (left) {
		struct worker_job *wj = left;

		left = wj->next;
		on_job_done(&be->worker, wj);
	}
	for (d = be->doms; d; d = d->next) {
		char why[200];

		if (d->state == XD_CREATING && d->create_done && d->create_rc &&
		    d->domid != (uint32_t)INVALID_DOMID &&
		    xen_build_destroy(be->builder, be->build_xs, d->domid, why, sizeof(why)) < 0)
			log_warnx("xen: guest %s, whose build failed: %s", dom_name(d), why);
	}
}

/*
 * xen-create = direct: the build is the worker's; the loop goes on from
 * XD_CREATING once it comes back (job_done), as after libxl's create.
 */
static int direct_create(struct dom *d, const struct be_start *req, const char *cmdline, char *err,
                         size_t errlen)
{
	struct backend *be = d->be;
	struct xen_job *j = calloc(1, sizeof(*j));

	if (!j || !(j->image_path = strdup(req->image_path))) {
		free(j);
		return be_fail(err, errlen, "out of memory");
	}
	j->d = d;
	snprintf(j->name, sizeof(j->name), "%s", d->g->name);
	snprintf(j->cmdline, sizeof(j->cmdline), "%s", cmdline);
	j->memory_mib = req->memory_mib;
	j->vcpus = req->vcpus;
	j->instance = d->instance;
	j->domid = INVALID_DOMID;
	d->create_inflight = 1;
	worker_queue(&be->worker, &j->link);
	return 0;
}

/*
 * A domain shoald made (its directories are shoald's, no /libxl/D): Xen's
 * destroy and its directory's removal on the worker, after whatever is
 * queued before it (a restart's build of the same name comes after).
 * The loop learns of the end by libxl's death event or the job's result,
 * whichever comes first (dom_step()).  -1 when out of memory: libxl
 * destroys it then.
 */
static int direct_destroy(struct dom *d)
{
	struct xen_job *j;

	if (!d->be->worker.up || !(j = calloc(1, sizeof(*j))))
		return -1;
	j->kind = JOB_DESTROY;
	j->d = d;
	snprintf(j->name, sizeof(j->name), "%s", dom_name(d));
	j->domid = d->domid;
	worker_queue(&d->be->worker, &j->link);
	return 0;
}

/*
 * The devices for libxl: a vif per NIC on its bridge (libxl's vif-bridge
 * script puts it there), a phy vbd per disk on the loop device shoald
 * attached (libxl's block script only names it to blkback).
 */
static int libxl_devices(struct dom *d, libxl_domain_config *c)
{
	const struct xen_devs *x = &d->devs;
	char buf[32];
	unsigned i;

	if (x->nvifs) {
		c->nics = calloc(x->nvifs, sizeof(*c->nics));
		if (!c->nics)
			return -1;
		c->num_nics = (int)x->nvifs;
	}
	for (i = 0; i < x->nvifs; i++) {
		libxl_device_nic *n = &c->nics[i];

		libxl_device_nic_init(n);
		n->devid = (libxl_devid)i;
		n->nictype = LIBXL_NIC_TYPE_VIF;
		memcpy(n->mac, x->vif[i].mac, 6);
		n->bridge = strdup(x->vif[i].bridge);
		if (!n->bridge)
			return -1;
		if (x->rate_bytes) {
			n->rate_bytes_per_interval = x->rate_bytes;
			n->rate_interval_usecs = x->rate_us;
		}
	}
	if (x->nvbds) {
		c->disks = calloc(x->nvbds, sizeof(*c->disks));
		if (!c->disks)
			return -1;
		c->num_disks = (int)x->nvbds;
	}
	for (i = 0; i < x->nvbds; i++) {
		libxl_device_disk *k = &c->disks[i];

		libxl_device_disk_init(k);
		snprintf(buf, sizeof(buf), "/dev/loop%d", x->vbd[i].loop_nr);
		k->pdev_path = strdup(buf);
		snprintf(buf, sizeof(buf), "xvd%c", 'a' + (int)i);
		k->vdev = strdup(buf);
		if (!k->pdev_path || !k->vdev)
			return -1;
		k->backend = LIBXL_DISK_BACKEND_PHY;
		k->format = LIBXL_DISK_FORMAT_RAW;
		k->readwrite = !x->vbd[i].readonly;
	}
	return 0;
}

/* The config libxl makes the domain from (it must outlive the create); -1 when out of memory. */
static int libxl_config(struct dom *d, const struct be_start *req, const char *cmdline)
{
	libxl_domain_config *c = &d->cfg;
	const char *tags[TAGS_LEN];
	char num[32], **kv;
	unsigned i;

	libxl_domain_config_init(c);
	d->cfg_live = 1;
	c->c_info.type = d->be->type;
	c->c_info.name = strdup(d->g->name);
	libxl_uuid_generate(&c->c_info.uuid);
	libxl_domain_build_info_init_type(&c->b_info, d->be->type);
	c->b_info.max_vcpus = (int)req->vcpus;
	if (libxl_cpu_bitmap_alloc(d->be->ctx, &c->b_info.avail_vcpus, (int)req->vcpus))
		return -1;
	for (i = 0; i < req->vcpus; i++)
		libxl_bitmap_set(&c->b_info.avail_vcpus, (int)i);
	c->b_info.max_memkb = (uint64_t)req->memory_mib * 1024;
	c->b_info.target_memkb = c->b_info.max_memkb;
	c->b_info.kernel = strdup(req->image_path);
	c->b_info.cmdline = strdup(cmdline);
	/* libxl's xsdata, freed with the config. */
	shoal_tags(d->g->name, d->instance, num, tags);
	kv = calloc(TAGS_LEN, sizeof(*kv));
	c->c_info.xsdata = kv;
	for (i = 0; kv && tags[i]; i++)
		if (!(kv[i] = strdup(tags[i])))
			return -1; /* the config's dispose frees what came before */
	/* Kept after a shutdown, so that the exit keys can be read before the destroy. */
	c->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	c->on_crash = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	c->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	c->on_watchdog = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	c->on_soft_reset = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	if (libxl_devices(d, c) < 0)
		return -1;
	return kv && c->c_info.name && c->b_info.kernel && c->b_info.cmdline ? 0 : -1;
}

static int xen_start(struct backend *be, struct guest *g, const struct be_start *req, char *err,
                     size_t errlen)
{
	libxl_asyncop_how how = { .callback = on_created };
	char cmdline[XEN_CMDLINE_MAX], why[200];
	struct dom *d;
	int rc;

	if (xen_cmdline_build(cmdline, sizeof(cmdline), req->nargs, req->args, why, sizeof(why)) <
	    0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (req->vcpus < 1 || req->memory_mib < 1) {
		snprintf(err, errlen, "a domain needs at least one vCPU and 1 MiB");
		return -1;
	}
	d = dom_new(be, g, INVALID_DOMID);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->instance = req->instance;
	d->t_start_ns = now_mono_ns();
	if (xen_devs_prepare(&d->devs, req, err, errlen) < 0)
		goto fail;
	if (req->net_rate_pps && req->nnics)
		log_warnx("xen: guest %s: netback limits bytes, not packets: its packet rate limit "
		          "is not applied",
		          g->name);
	d->devs.own_dirs = be->builder != NULL;
	g->be = d;
	be->last_err[0] = '\0';
	if (be->builder) {
		if (direct_create(d, req, cmdline, err, errlen) < 0) {
			g->be = NULL;
			goto fail;
		}
		return 0;
	}
	if (libxl_config(d, req, cmdline) < 0) {
		g->be = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	how.u.for_callback = d;
	d->create_inflight = 1;
	rc = libxl_domain_create_new(be->ctx, &d->cfg, &d->domid, &how, NULL);
	if (rc) {
		d->create_inflight = 0;
		g->be = NULL;
		snprintf(err, errlen, "libxl cannot begin creating the domain: %s",
		         be->last_err[0] ? be->last_err : libxl_error_to_string(rc));
		if (d->domid != (uint32_t)INVALID_DOMID) {
			d->g = NULL;
			d->state = XD_DYING;
			dom_destroy(d);
			work_soon(be);
			return -1;
		}
		goto fail;
	}
	/* The callback may have come already; it is acted on from the loop either way. */
	return 0;
fail:
	d->g = NULL;
	d->state = XD_ENDED;
	dom_free_if_done(d);
	return -1;
}

static int xen_stop(struct backend *be, struct guest *g, char *err, size_t errlen)
{
	struct dom *d = g->be;

	if (!d)
		return be_fail(err, errlen, "it has no domain");
	d->stop_requested = 1;
	work_soon(be);
	return 0;
}

/* ---- placement (xen_cpu.c) ---- */

/* ---- pause ---- */

static int paused_tag(struct backend *be, uint32_t domid)
{
	unsigned len = 0;
	char *v = xs_get(be, domid, "shoal/paused", &len);
	int on = v && len == 1 && v[0] == '1';

	free(v);
	return on;
}

static void paused_tag_clear(struct backend *be, uint32_t domid)
{
	char path[128];

	snprintf(path, sizeof(path), "/local/domain/%u/shoal/paused", domid);
	xs_rm(be->xs, XBT_NULL, path);
}

/*
 * libxl_domain_pause or _unpause, synchronous.  shoal/paused says the
 * pause is the operator's, not a start cut short: it is written before
 * the pause and cleared after the unpause, and adopt() believes it only
 * of a domain that Xen has paused.
 */
static int xen_pause(struct backend *be, struct guest *g, int pause, char *err, size_t errlen)
{
	struct dom *d = g->be;
	int rc;

	if (!d || d->state != XD_RUNNING) {
		snprintf(err, errlen, "its domain is not running");
		return -1;
	}
	if (pause && xs_put_tag(be, d->domid, "paused", "1") < 0) {
		snprintf(err, errlen, "cannot write shoal/paused in xenstore: %s", strerror(errno));
		return -1;
	}
	be->last_err[0] = '\0';
	rc = pause ? libxl_domain_pause(be->ctx, d->domid, NULL)
	           : libxl_domain_unpause(be->ctx, d->domid, NULL);
	if (rc) {
		if (pause)
			paused_tag_clear(be, d->domid);
		snprintf(err, errlen, "libxl cannot %s domain %u: %s", pause ? "pause" : "unpause",
		         d->domid, be->last_err[0] ? be->last_err : libxl_error_to_string(rc));
		return -1;
	}
	if (!pause)
		paused_tag_clear(be, d->domid);
	return 0;
}

static struct dom *running_dom(struct backend *be, struct guest *g, char *err, size_t errlen)
{
	struct dom *d = g->be;

	if (!be->xc) {
		be_fail(err, errlen, "placement is not available on this host");
		return NULL;
	}
	if (!d || (d->state != XD_RUNNING && d->state != XD_CONSOLE)) {
		be_fail(err, errlen, "its domain is not running");
		return NULL;
	}
	return d;
}

static int xen_set_affinity(struct backend *be, struct guest *g, const cpu_set_t *cpus, char *err,
                            size_t errlen)
{
	struct dom *d = running_dom(be, g, err, errlen);
	uint64_t t0;
	int rc;

	if (!d)
		return -1;
	t0 = now_mono_ns();
	rc = xen_cpu_set_affinity(be->xc, d->domid, cpus);
	held("the hard affinity", g->name, t0);
	if (rc < 0)
		return be_fail_errno(err, errlen, "the hard affinity of domain %u", d->domid);
	return 0;
}

static int xen_set_weight(struct backend *be, struct guest *g, unsigned weight, char *err,
                          size_t errlen)
{
	struct dom *d = running_dom(be, g, err, errlen);
	uint64_t t0;
	int rc;

	if (!d)
		return -1;
	t0 = now_mono_ns();
	rc = xen_cpu_set_weight(be->xc, d->domid, weight);
	held("the weight", g->name, t0);
	if (rc < 0)
		return be_fail_errno(err, errlen, "the credit2 weight of domain %u", d->domid);
	return 0;
}

static int xen_set_batch(struct backend *be, struct guest *g, int batch, char *err, size_t errlen)
{
	struct dom *d = running_dom(be, g, err, errlen);
	uint64_t t0;
	int rc;

	if (!d)
		return -1;
	t0 = now_mono_ns();
	rc = xen_cpu_set_batch(be->xc, d->domid, batch);
	held("the batch class", g->name, t0);
	if (rc < 0)
		return be_fail_errno(err, errlen, "the batch class of domain %u", d->domid);
	return 0;
}

static int xen_placement_get(struct backend *be, struct guest *g, struct be_placement *out,
                             char *err, size_t errlen)
{
	struct dom *d = running_dom(be, g, err, errlen);

	if (!d)
		return -1;
	if (xen_cpu_get(be->xc, d->domid, out) < 0)
		return be_fail_errno(err, errlen, "the placement of domain %u", d->domid);
	return 0;
}

static int xen_cpu_time_op(struct backend *be, struct guest *g, uint64_t *ns, uint64_t *wait_ns,
                           char *err, size_t errlen)
{
	struct dom *d = running_dom(be, g, err, errlen);
	uint64_t t0;
	int rc;

	(void)wait_ns; /* a vCPU's runnable time is in its runstate, which only its domain reads */
	if (!d)
		return -1;
	t0 = now_mono_ns();
	rc = xen_cpu_time(be->xc, d->domid, ev_iteration(be->loop), ns);
	held("the CPU time", g->name, t0);
	if (rc < 0)
		return be_fail_errno(err, errlen, "the CPU time of domain %u", d->domid);
	return 0;
}

static const char *xen_placement_mechanism(struct backend *be)
{
	return be->mechanism;
}

static int xen_host_topology(struct backend *be, struct sched_host *h, char *err, size_t errlen)
{
	if (!be->xc) {
		snprintf(err, errlen, "%s", be->cpu_err);
		errno = ENOTSUP;
		return -1;
	}
	return xen_cpu_topology(be->xc, h, err, errlen);
}

static int xen_cpu_roles_op(struct backend *be, const cpu_set_t *latency, const cpu_set_t *batch,
                            char *err, size_t errlen)
{
	if (!be->xc) {
		snprintf(err, errlen, "%s", be->cpu_err);
		errno = ENOTSUP;
		return -1;
	}
	return xen_cpu_roles(be->xc, latency, batch, err, errlen);
}

static json_t *xen_stats(struct backend *be)
{
	unsigned ndom = 0, creating = 0, bound = 0;
	struct dom *d;

	for (d = be->doms; d; d = d->next) {
		ndom += d->state != XD_ENDED;
		creating += d->state == XD_CREATING || d->state == XD_CONSOLE;
		bound += d->probe.local_port >= 0;
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "xen",
	                 be->version, "scheduler", be->scheduler ? be->scheduler : "unknown",
	                 "domain_type", libxl_domain_type_to_string(be->type), "domains",
	                 (json_int_t)ndom, "creates_in_flight", (json_int_t)creating,
	                 "probe_ports_bound", (json_int_t)bound, "creates", (json_int_t)be->creates,
	                 "create_failures", (json_int_t)be->create_failures, "adopted",
	                 (json_int_t)be->adopted, "slowest_build_ms", be->build_ns_max / 1e6,
	                 "slowest_destroy_call_ms", be->destroy_ns_max / 1e6,
	                 "slowest_destroy_off_loop_ms", be->destroy_off_ns_max / 1e6);
}

static unsigned xen_dev_stats(struct backend *be, struct guest *g, struct be_dev_stats *out,
                              unsigned max)
{
	struct dom *d = g->be;

	(void)be;
	if (!d || (d->state != XD_RUNNING && d->state != XD_CONSOLE))
		return 0;
	return xen_devs_stats(&d->devs, out, max);
}

/* ---- adoption after a daemon restart ---- */

/* Our tags on a domain: its guest's name and instance; 0 if it has them and they are sound. */
static int read_tags(struct backend *be, uint32_t domid, char *name, size_t namelen,
                     uint64_t *instance, uint64_t *boot_wall_ns)
{
	char why[160];
	unsigned len = 0;
	char *v;
	int ok = 0;

	v = xs_get(be, domid, "shoal/name", &len);
	if (!v)
		return -1;
	if (len < namelen && memchr(v, '\0', len) == NULL) {
		memcpy(name, v, len);
		name[len] = '\0';
		ok = spec_name_ok(name);
	}
	free(v);
	if (!ok) {
		log_warnx("xen: domain %u has a shoal/name that is not a guest name; left alone",
		          domid);
		return -1;
	}
	v = xs_get(be, domid, "shoal/instance", &len);
	if (!v || xen_parse_u64(v, len, instance, why, sizeof(why)) < 0) {
		log_warnx("xen: domain %u (guest %s): bad shoal/instance%s%s; left alone", domid,
		          name, v ? ": " : "", v ? why : " (missing)");
		free(v);
		return -1;
	}
	free(v);
	*boot_wall_ns = 0;
	v = xs_get(be, domid, "shoal/boot-wall-ns", &len);
	if (v && xen_parse_u64(v, len, boot_wall_ns, why, sizeof(why)) < 0)
		*boot_wall_ns = 0;
	free(v);
	return 0;
}

/*
 * An adopted domain's devices, from xenstore: who made its directories
 * (libxl keeps its own record of a domain under /libxl/D; shoald's
 * domains have none), its loops held again, and a vif that netback made
 * while no shoald ran put on its bridge.
 */
static void adopt_devs(struct dom *d)
{
	struct backend *be = d->be;
	char path[64];
	unsigned len = 0;
	char *v;

	snprintf(path, sizeof(path), "/libxl/%u", d->domid);
	v = xs_read(be->xs, XBT_NULL, path, &len);
	xen_devs_find(be->xs, d->domid, &d->devs, v == NULL);
	free(v);
	if (d->devs.nvifs || d->devs.nvbds)
		log_info("xen: guest %s (domain %u): %u NICs and %u disks found again", dom_name(d),
		         d->domid, d->devs.nvifs, d->devs.nvbds);
	xen_devs_connect(be->xs, &d->devs, dom_name(d));
}

/* What domains that are gone left: back-end directories, loop devices over our files. */
static void sweep_devs(struct backend *be, const libxl_dominfo *info, int n)
{
	uint32_t *live = calloc((size_t)n + 1, sizeof(*live));
	unsigned nlive = 0, freed;
	int i;

	if (!live)
		return;
	for (i = 0; i < n; i++)
		live[nlive++] = info[i].domid;
	freed = xen_devs_sweep(be->xs, live, nlive, be->cfg->state_dir);
	if (freed)
		log_info("xen: %u devices left by domains that are gone were freed", freed);
	free(live);
}

static int xen_adopt(struct backend *be)
{
	libxl_dominfo *info;
	int n = 0, i, adopted = 0;

	info = libxl_list_domain(be->ctx, &n);
	if (!info) {
		log_warnx("xen: cannot list domains; none adopted");
		return 0;
	}
	for (i = 0; i < n; i++) {
		char name[GUEST_NAME_MAX + 1];
		uint64_t instance, boot_wall_ns;
		struct be_found f = { 0 };
		struct guest *g;
		struct dom *d;
		int rc;

		if (info[i].domid == 0 || info[i].dying || dom_by_id(be, info[i].domid))
			continue;
		if (read_tags(be, info[i].domid, name, sizeof(name), &instance, &boot_wall_ns) < 0)
			continue; /* not ours */
		f.name = name;
		f.instance = instance;
		f.pid = (int)info[i].domid;
		f.boot_wall_ns = boot_wall_ns ? boot_wall_ns : now_wall_ns();
		f.paused = info[i].paused && paused_tag(be, info[i].domid);
		g = be->host.found(be->host.ctx, &f);
		d = dom_new(be, g, info[i].domid);
		if (!d) {
			log_warnx("xen: out of memory adopting domain %u", info[i].domid);
			continue;
		}
		d->adopted = 1;
		d->instance = instance;
		d->boot_wall_ns = f.boot_wall_ns;
		adopt_devs(d);
		if (!g) {
			/* The daemon does not know it: it goes, as a KVM tender would. */
			d->state = XD_DYING;
			dom_destroy(d);
			continue;
		}
		g->be = d;
		rc = libxl_evenable_domain_death(be->ctx, d->domid, 0, &d->death);
		if (rc) {
			d->death = NULL;
			log_warnx(
			    "xen: guest %s (domain %u): libxl cannot watch its death (error %d)",
			    name, d->domid, rc);
		}
		dom_watch(d, 1); /* fires at once: binds the probe port again */
		if (info[i].paused && !f.paused) {
			/* The daemon before stopped between create and unpause: finish the start.
			 */
			d->state = XD_CONSOLE;
			ev_timer_start(be->loop, &d->console_timer);
		} else {
			if (!info[i].paused)
				paused_tag_clear(be, d->domid); /* a pause or resume cut short */
			d->state = XD_RUNNING;
			if (console_open(d) < 0)
				log_warnx(
				    "xen: guest %s (domain %u): its console could not be reopened",
				    name, d->domid);
		}
		adopted++;
	}
	sweep_devs(be, info, n);
	libxl_dominfo_list_free(info, n);
	be->adopted += (uint64_t)adopted;
	work_soon(be);
	return adopted;
}

/* ---- set-up ---- */

static int xen_init_type(struct backend **out, struct ev_loop *loop,
                         const struct shoald_config *cfg, const struct backend_host *host,
                         enum libxl_domain_type type, char *err, size_t errlen)
{
	const libxl_version_info *vi;
	struct backend *be;
	int rc;

	if (access("/dev/xen/privcmd", R_OK | W_OK) < 0 &&
	    access("/proc/xen/privcmd", R_OK | W_OK) < 0) {
		snprintf(err, errlen,
		         "xen backend: no /dev/xen/privcmd (%s): this is not a Xen Dom0",
		         strerror(errno));
		return -1;
	}
	if (access("/dev/xen/evtchn", R_OK | W_OK) < 0) {
		snprintf(err, errlen, "xen backend: no /dev/xen/evtchn (%s): load xen-evtchn",
		         strerror(errno));
		return -1;
	}
	be = calloc(1, sizeof(*be));
	if (!be) {
		snprintf(err, errlen, "xen backend: out of memory");
		return -1;
	}
	be->loop = loop;
	be->cfg = cfg;
	be->host = *host;
	be->nl_fd = -1;
	be->type = type;
	ev_timer_init(&be->work, on_work, 0., 0.);
	be->work.data = be;
	/* XS_UNWATCH_FILTER: no event of a watch arrives after its xs_unwatch. */
	be->xs = xs_open(XS_UNWATCH_FILTER);
	if (!be->xs) {
		snprintf(err, errlen,
		         "xen backend: cannot connect to xenstored: %s (is xenstored running?)",
		         strerror(errno));
		goto fail;
	}
	be->logger.vtable.vmessage = xl_vmessage;
	be->logger.vtable.progress = xl_progress;
	be->logger.vtable.destroy = xl_destroy;
	be->logger.be = be;
	rc = libxl_ctx_alloc(&be->ctx, LIBXL_VERSION, 0, &be->logger.vtable);
	if (rc) {
		snprintf(err, errlen, "xen backend: libxl_ctx_alloc failed: %s",
		         be->last_err[0] ? be->last_err : libxl_error_to_string(rc));
		be->ctx = NULL;
		goto fail;
	}
	libxl_osevent_register_hooks(be->ctx, &osevent_hooks, be);
	libxl_childproc_setmode(be->ctx, &childproc_hooks, be);
	libxl_event_register_callbacks(be->ctx, &event_hooks, be);
	ev_child_init(&be->child_w, on_child, 0, 0);
	be->child_w.data = be;
	ev_child_start(loop, &be->child_w);

	{
		char why[200];

		be->probes =
		    xen_probes_open(loop, be->xs, "xen", on_probe_answer, why, sizeof(why));
		if (!be->probes) {
			snprintf(err, errlen, "xen backend: %s", why);
			goto fail;
		}
	}
	ev_io_init(&be->xs_w, on_xs, xs_fileno(be->xs), EV_READ);
	be->xs_w.data = be;
	ev_io_start(loop, &be->xs_w);
	netlink_open(be);

	vi = libxl_get_version_info(be->ctx);
	if (vi)
		snprintf(be->version, sizeof(be->version), "%d.%d%s", vi->xen_version_major,
		         vi->xen_version_minor, vi->xen_version_extra ? vi->xen_version_extra : "");
	be->scheduler = libxl_scheduler_to_string(libxl_get_scheduler(be->ctx));
	be->xc = xen_cpu_new(be->ctx, be->cpu_err, sizeof(be->cpu_err));
	if (be->xc)
		snprintf(be->mechanism, sizeof(be->mechanism), "%s", xen_cpu_mechanism(be->xc));
	else {
		log_warnx("xen: no placement on this host: %s", be->cpu_err);
		snprintf(be->mechanism, sizeof(be->mechanism), "none: %s", be->cpu_err);
	}
	if (!strcmp(cfg->xen_create, "direct") ||
	    (!cfg->xen_create[0] && type == LIBXL_DOMAIN_TYPE_PV)) {
		if (type != LIBXL_DOMAIN_TYPE_PV) {
			snprintf(err, errlen,
			         "xen-create = direct makes PV domains only; backend %s needs "
			         "xen-create = libxl",
			         libxl_domain_type_to_string(type));
			goto fail;
		}
		/* The worker's own handles: libxenctrl's, xenstore's, a logger. */
		be->build_logger.vtable.vmessage = build_vmessage;
		be->build_logger.vtable.progress = xl_progress;
		be->build_logger.vtable.destroy = xl_destroy;
		be->builder = xen_builder_open(&be->build_logger.vtable, err, errlen);
		if (!be->builder)
			goto fail;
		be->build_xs = xs_open(0);
		if (!be->build_xs) {
			snprintf(err, errlen,
			         "xen backend: cannot connect to xenstored for the builds: %s",
			         strerror(errno));
			goto fail;
		}
		if (build_worker_start(be, err, errlen) < 0)
			goto fail;
	}
	log_info("xen backend: Xen %s, scheduler %s, %s guests, made by %s", be->version,
	         be->scheduler ? be->scheduler : "unknown", libxl_domain_type_to_string(type),
	         be->builder ? "shoald (libxenctrl, libxenguest)" : "libxl");
	*out = be;
	return 0;
fail:
	xen_builder_close(be->builder);
	if (be->build_xs)
		xs_close(be->build_xs);
	if (be->xc)
		xen_cpu_free(be->xc);
	if (be->nl_fd >= 0) {
		ev_io_stop(loop, &be->nl_w);
		close(be->nl_fd);
	}
	ev_io_stop(loop, &be->xs_w);
	xen_probes_close(be->probes);
	if (be->ctx) {
		ev_child_stop(loop, &be->child_w);
		libxl_ctx_free(be->ctx);
	}
	if (be->xs)
		xs_close(be->xs);
	free(be);
	return -1;
}

static int xen_init_pv(struct backend **out, struct ev_loop *loop, const struct shoald_config *cfg,
                       const struct backend_host *host, char *err, size_t errlen)
{
	return xen_init_type(out, loop, cfg, host, LIBXL_DOMAIN_TYPE_PV, err, errlen);
}

static int xen_init_pvh(struct backend **out, struct ev_loop *loop, const struct shoald_config *cfg,
                        const struct backend_host *host, char *err, size_t errlen)
{
	return xen_init_type(out, loop, cfg, host, LIBXL_DOMAIN_TYPE_PVH, err, errlen);
}

/*
 * Running guests keep running.  A direct build under way finishes, those
 * queued are not made (build_worker_stop); a libxl create in flight is left to
 * finish on its own (paused, tagged: the next shoald adopts it).
 */
static void xen_fini(struct backend *be)
{
	struct dom *d;

	build_worker_stop(be);
	ev_timer_stop(be->loop, &be->work);
	for (d = be->doms; d; d = d->next)
		dom_release(d);
	if (be->xc)
		xen_cpu_free(be->xc);
	xen_builder_close(be->builder);
	if (be->build_xs)
		xs_close(be->build_xs);
	ev_io_stop(be->loop, &be->xs_w);
	if (be->nl_fd >= 0) {
		ev_io_stop(be->loop, &be->nl_w);
		close(be->nl_fd);
	}
	ev_child_stop(be->loop, &be->child_w);
	xen_probes_close(be->probes);
	libxl_ctx_free(be->ctx);
	xs_close(be->xs);
	while ((d = be->doms)) {
		unsigned i;

		be->doms = d->next;
		/* Running guests keep their loops: blkback holds them (autoclear). */
		for (i = 0; i < d->devs.nvbds; i++)
			if (d->devs.vbd[i].loop_fd >= 0)
				close(d->devs.vbd[i].loop_fd);
		if (d->cfg_live)
			libxl_domain_config_dispose(&d->cfg);
		free(d);
	}
	free(be);
}

/* PV and PVH guests differ only in the domain type init() sets up and the images they take. */
#define XEN_BACKEND_OPS(NAME, PLATFORM, INIT)                                                      \
	{                                                                                          \
		.name = NAME, .platform = PLATFORM, .init = INIT, .fini = xen_fini,                \
		.adopt = xen_adopt, .start = xen_start, .stop = xen_stop, .pause = xen_pause,      \
		.set_affinity = xen_set_affinity, .set_weight = xen_set_weight,                    \
		.set_batch = xen_set_batch, .placement_get = xen_placement_get,                    \
		.cpu_time = xen_cpu_time_op, .placement_mechanism = xen_placement_mechanism,       \
		.probe_drain = xen_probe_drain, .probe = xen_probe,                                \
		.probe_listen = xen_probe_listen, .stats = xen_stats,                              \
		.host_topology = xen_host_topology, .cpu_roles = xen_cpu_roles_op,                 \
		.dev_stats = xen_dev_stats, .max_disks = BE_DISKS_MAX, .max_nics = BE_NICS_MAX,    \
		.net_rate = 1,                                                                     \
	}

const struct backend_ops backend_xen = XEN_BACKEND_OPS("xen", SHOAL_PLATFORM_XEN_PV, xen_init_pv);
const struct backend_ops backend_xen_pvh =
    XEN_BACKEND_OPS("xen-pvh", SHOAL_PLATFORM_XEN_PVH, xen_init_pvh);
