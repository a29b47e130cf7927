/*
 * The libvirt backend: one libvirt domain per guest, so that the host's
 * other tools (virsh, virt-manager) see shoald's guests, while shoald
 * keeps its probes, placement and restart policy.  It drives libvirt's
 * Xen driver (libvirt-uri = xen:///system); libvirt's test driver
 * (test:///default, in-process, where domains run nothing) is its test
 * mode, named so in the log and in /v1/host.
 *
 * libvirt on libev: libvirt's handles and timeouts become ev_io and
 * ev_timer watchers (virEventRegisterImpl), registered once per process
 * before the first connection opens; libvirt frees what it gave us only
 * from the loop, after the call that removed it has returned (libvirt may
 * hold its locks inside a remove).  Lifecycle events come for every
 * domain; those not shoald's (by UUID) are ignored.
 *
 * A start: the domain XML (kernel = the guest's image, memory, vCPUs,
 * console, interfaces on the allowed bridges, disks; shoald's name,
 * instance and boot time in <metadata> under SHOAL_NS) -> virDomainDefineXML
 * (a domain of that name that is not shoald's is refused by libvirt) ->
 * virDomainCreate, paused on Xen while shoal's keys (the NICs' names and
 * addresses, the disks' names) go into the front-end directories libxl
 * made -> resumed -> the console stream -> started() from the loop.  On
 * Xen a disk is a loop device shoald attaches, given to libxl as phy, as
 * the Xen backend does with libxl (xen_dev.c).  An
 * end (the guest's own, a crash, virsh destroy, our stop): the lifecycle
 * event, then the domain is undefined and exited() follows, with the
 * guest's own exit code when it left one in xenstore (its exit keys,
 * watched while it runs, as the Xen backend reads them).  libvirt's
 * calls are synchronous: the slow ones (define and create, resume,
 * destroy, undefine) run on a worker thread of the backend's, one at a
 * time in order, and their results come back to the loop (ev_async), so
 * that a create never holds every other guest's probes.
 *
 * After a restart, adopt() lists every domain, takes back those whose
 * metadata is shoald's, undefines the ones that ended meanwhile
 * (ended_while_away) and leaves all others alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "config.h"

#include "daemon/backend/backend.h"
#include "daemon/backend/worker.h"
#include "daemon/backend/xen_parse.h"
#ifdef HAVE_XEN
#include "daemon/backend/xen_dev.h"
#include "daemon/backend/xen_probe.h"
#endif
#include "daemon/backend/xen_weight.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/spec.h"
#include "common/guest_exit.h"
#include "shoal/abi.h"

/* shoald's namespace in a domain's <metadata>: a URN, so that it names no host. */
#define SHOAL_NS        "urn:x-shoal:guest:1"
#define SHOAL_NS_PREFIX "shoal"

enum ldom_state {
	LD_CREATING, /* its create is the worker's */
	LD_STARTING, /* made (on Xen, paused until resumed); started() not yet reported */
	LD_RUNNING,
	LD_ENDED, /* reported, or to be reported from the loop */
};

struct ldom {
	struct backend *be;
	struct ldom *next;
	enum ldom_state state;
	struct guest *g; /* NULL once reported */
	virDomainPtr dom;
	unsigned char uuid[VIR_UUID_BUFLEN];
	uint64_t instance;
	uint64_t boot_wall_ns;
	int id;       /* libvirt's domain id (Xen's domid) */
	int jobs;     /* the worker's jobs that name it: it is freed only after them */
	int reported; /* told the daemon; freed once its jobs are done */
	int stop_requested;
	int end_status;
	char end_reason[512];
	ev_timer soon; /* reports from the loop, never from inside an op or a libvirt call */
	virStreamPtr console;
	int console_warned;
	/* The guest's exit keys (data/shoal/exit-code, exit-reason), caught before its end. */
	char exit_code[32], exit_reason[XEN_GUEST_VALUE_MAX];
	size_t exit_code_len, exit_reason_len;
	int have_exit_code, have_exit_reason;
#ifdef HAVE_XEN
	struct xen_probe_port probe; /* its event channel, as the Xen backend binds it */
	int probing;
	struct xen_devs devs; /* its loop devices and shoal's keys; libxl makes the rest */
	int exit_watch;
#endif
};

struct backend {
	struct ev_loop *loop;
	const struct shoald_config *cfg;
	struct backend_host host;
	virConnectPtr conn;
	int lifecycle_id; /* virConnectDomainEventRegisterAny's; -1: none */
	int test_mode;    /* libvirt's test driver: domains run nothing, no event channel */
	int closed;       /* libvirtd went away: no more events */
	const char *dom_type;
	char hv_type[32];
	char version[32];
	struct ldom *doms;
	uint64_t creates, create_failures, adopted, outside_ends;
	/*
	 * The worker: libvirt's slow calls (define and create, resume,
	 * destroy, undefine) off the loop, one at a time and in order (an
	 * undefine before the next define of its name); done jobs come back
	 * to the loop (worker.h).
	 */
	struct worker worker;
	uint64_t job_ns_max; /* the longest job, for /v1/host */
	ev_timer stuck_w;    /* a job that does not return is logged */
	int stuck_warned;
#ifdef HAVE_XEN
	/* Probes on Xen: libvirt has no event-channel API (xen_probe.c, as the Xen backend). */
	struct xs_handle *xs;
	ev_io xs_w;
	struct xen_probes *probes;
#endif
};

enum lv_job_kind {
	LJ_CREATE,   /* define xml, start (paused on Xen), shoal's keys */
	LJ_RESUME,   /* the new domain runs */
	LJ_DESTROY,  /* stop */
	LJ_UNDEFINE, /* after its end: the name is free */
	LJ_CONSOLE,  /* its console stream's abort and free */
};

struct lv_job {
	struct worker_job link;
	enum lv_job_kind kind;
	struct ldom *d;   /* CREATE, RESUME, DESTROY: held (d->jobs) until done */
	virDomainPtr dom; /* a reference of the job's own: CREATE's result, the others' domain */
	char *xml;        /* CREATE */
	virStreamPtr st;  /* CONSOLE: the stream, the job's own */
	int paused;       /* CREATE: started paused, to be resumed */
	char name[GUEST_NAME_MAX + 1];
	/* Results, read by the loop once done. */
	int rc;   /* 0, or -1 with err and libvirt's code */
	int code; /* virGetLastErrorCode() */
	int id;
	unsigned char uuid[VIR_UUID_BUFLEN];
	uint64_t ns; /* how long the calls took */
	char err[512];
};

/* ---- libvirt's events on libev ---- */

/*
 * One list each of handles and timeouts, owned by the process: libvirt
 * has one event implementation per process.  An entry removed by libvirt
 * stays until the reaper runs its free callback from the loop.
 *
 * libvirt calls these from any thread: from the worker's calls too (its
 * RPC client turns its socket's watch off while a call of that thread
 * waits for its reply; the test driver queues its events).  libev's
 * watchers are the loop's alone, so the lists are under lv_ev.mu and a
 * change made on another thread is marked and applied by the loop, woken
 * by lv_ev.wake.  libvirt's callbacks run without the lock: they call
 * back into these.
 */
struct lv_handle {
	struct lv_handle *next;
	int id, fd, removed;
	int events; /* libev's, as libvirt last asked */
	int dirty;  /* changed on another thread: the loop applies it */
	ev_io w;
	virEventHandleCallback cb;
	void *opaque;
	virFreeCallback ff;
};

struct lv_timeout {
	struct lv_timeout *next;
	int id, removed, dirty;
	int ms; /* -1: disabled; 0: at every loop iteration; else its period */
	ev_timer w;
	virEventTimeoutCallback cb;
	void *opaque;
	virFreeCallback ff;
};

static struct {
	struct ev_loop *loop;
	pthread_t loop_thread;
	pthread_mutex_t mu;
	int registered;
	int next_id;
	int reap; /* something was removed: the loop runs the free callbacks */
	struct lv_handle *handles;
	struct lv_timeout *timeouts;
	ev_async wake;
} lv_ev = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int ev_events_of(int vir)
{
	return (vir & VIR_EVENT_HANDLE_READABLE ? EV_READ : 0) |
	       (vir & VIR_EVENT_HANDLE_WRITABLE ? EV_WRITE : 0);
}

static int lv_on_loop(void)
{
	return pthread_equal(pthread_self(), lv_ev.loop_thread);
}

/* With lv_ev.mu held, on the loop: the watchers as libvirt last asked. */
static void lv_handle_apply(struct lv_handle *h)
{
	h->dirty = 0;
	ev_io_stop(lv_ev.loop, &h->w);
	if (h->removed || !h->events)
		return;
	ev_io_set(&h->w, h->fd, h->events);
	ev_io_start(lv_ev.loop, &h->w);
}

static void lv_timeout_apply(struct lv_timeout *t)
{
	t->dirty = 0;
	ev_timer_stop(lv_ev.loop, &t->w);
	if (t->ms < 0 || t->removed)
		return;
	ev_timer_set(&t->w, t->ms / 1000., 0.);
	ev_timer_start(lv_ev.loop, &t->w);
}

/* With lv_ev.mu held: applied now on the loop, or marked and the loop woken. */
static void lv_changed_handle(struct lv_handle *h)
{
	if (h->removed)
		lv_ev.reap = 1;
	if (lv_on_loop()) {
		lv_handle_apply(h);
		if (lv_ev.reap)
			ev_async_send(lv_ev.loop, &lv_ev.wake);
		return;
	}
	h->dirty = 1;
	ev_async_send(lv_ev.loop, &lv_ev.wake);
}

static void lv_changed_timeout(struct lv_timeout *t)
{
	if (t->removed)
		lv_ev.reap = 1;
	if (lv_on_loop()) {
		lv_timeout_apply(t);
		if (lv_ev.reap)
			ev_async_send(lv_ev.loop, &lv_ev.wake);
		return;
	}
	t->dirty = 1;
	ev_async_send(lv_ev.loop, &lv_ev.wake);
}

static void on_lv_handle(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lv_handle *h = w->data; /* freed only by the loop, after this */
	int vir = (revents & EV_READ ? VIR_EVENT_HANDLE_READABLE : 0) |
	          (revents & EV_WRITE ? VIR_EVENT_HANDLE_WRITABLE : 0);
	int removed;

	(void)loop;
	pthread_mutex_lock(&lv_ev.mu);
	removed = h->removed;
	pthread_mutex_unlock(&lv_ev.mu);
	if (!removed)
		h->cb(h->id, h->fd, vir, h->opaque);
}

static int lv_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
                         virFreeCallback ff)
{
	struct lv_handle *h = calloc(1, sizeof(*h));
	int id;

	if (!h)
		return -1;
	h->fd = fd;
	h->cb = cb;
	h->opaque = opaque;
	h->ff = ff;
	h->events = ev_events_of(events);
	ev_io_init(&h->w, on_lv_handle, fd, h->events);
	h->w.data = h;
	pthread_mutex_lock(&lv_ev.mu);
	id = h->id = ++lv_ev.next_id;
	h->next = lv_ev.handles;
	lv_ev.handles = h;
	lv_changed_handle(h);
	pthread_mutex_unlock(&lv_ev.mu);
	return id;
}

/* With lv_ev.mu held. */
static struct lv_handle *lv_handle_find(int id)
{
	struct lv_handle *h;

	for (h = lv_ev.handles; h; h = h->next)
		if (h->id == id && !h->removed)
			return h;
	return NULL;
}

static void lv_update_handle(int id, int events)
{
	struct lv_handle *h;

	pthread_mutex_lock(&lv_ev.mu);
	h = lv_handle_find(id);
	if (h) {
		h->events = ev_events_of(events);
		lv_changed_handle(h);
	}
	pthread_mutex_unlock(&lv_ev.mu);
}

static int lv_remove_handle(int id)
{
	struct lv_handle *h;

	pthread_mutex_lock(&lv_ev.mu);
	h = lv_handle_find(id);
	if (h) {
		h->removed = 1;
		lv_changed_handle(h);
	}
	pthread_mutex_unlock(&lv_ev.mu);
	return h ? 0 : -1;
}

static void on_lv_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lv_timeout *t = w->data; /* freed only by the loop, after this */
	int removed;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&lv_ev.mu);
	removed = t->removed;
	/* Armed again first: the callback may change or remove it. */
	if (!removed)
		lv_timeout_apply(t);
	pthread_mutex_unlock(&lv_ev.mu);
	if (!removed)
		t->cb(t->id, t->opaque);
}

static int lv_add_timeout(int ms, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
	struct lv_timeout *t = calloc(1, sizeof(*t));
	int id;

	if (!t)
		return -1;
	t->ms = ms;
	t->cb = cb;
	t->opaque = opaque;
	t->ff = ff;
	ev_timer_init(&t->w, on_lv_timeout, 0., 0.);
	t->w.data = t;
	pthread_mutex_lock(&lv_ev.mu);
	id = t->id = ++lv_ev.next_id;
	t->next = lv_ev.timeouts;
	lv_ev.timeouts = t;
	lv_changed_timeout(t);
	pthread_mutex_unlock(&lv_ev.mu);
	return id;
}

/* With lv_ev.mu held. */
static struct lv_timeout *lv_timeout_find(int id)
{
	struct lv_timeout *t;

	for (t = lv_ev.timeouts; t; t = t->next)
		if (t->id == id && !t->removed)
			return t;
	return NULL;
}

static void lv_update_timeout(int id, int ms)
{
	struct lv_timeout *t;

	pthread_mutex_lock(&lv_ev.mu);
	t = lv_timeout_find(id);
	if (t) {
		t->ms = ms;
		lv_changed_timeout(t);
	}
	pthread_mutex_unlock(&lv_ev.mu);
}

static int lv_remove_timeout(int id)
{
	struct lv_timeout *t;

	pthread_mutex_lock(&lv_ev.mu);
	t = lv_timeout_find(id);
	if (t) {
		t->removed = 1;
		lv_changed_timeout(t);
	}
	pthread_mutex_unlock(&lv_ev.mu);
	return t ? 0 : -1;
}

/*
 * On the loop: what other threads changed, applied; then the free
 * callbacks of what libvirt removed, without the lock (they may call
 * libvirt, which may call back into these).
 */
static void on_lv_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct lv_handle **hp, *hgone = NULL;
	struct lv_timeout **tp, *tgone = NULL;

	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&lv_ev.mu);
	for (hp = &lv_ev.handles; *hp;) {
		struct lv_handle *h = *hp;

		if (h->dirty)
			lv_handle_apply(h);
		if (!h->removed || !lv_ev.reap) {
			hp = &h->next;
			continue;
		}
		*hp = h->next;
		h->next = hgone;
		hgone = h;
	}
	for (tp = &lv_ev.timeouts; *tp;) {
		struct lv_timeout *t = *tp;

		if (t->dirty)
			lv_timeout_apply(t);
		if (!t->removed || !lv_ev.reap) {
			tp = &t->next;
			continue;
		}
		*tp = t->next;
		t->next = tgone;
		tgone = t;
	}
	lv_ev.reap = 0;
	pthread_mutex_unlock(&lv_ev.mu);
	while (hgone) {
		struct lv_handle *h = hgone;

		hgone = h->next;
		if (h->ff)
			h->ff(h->opaque);
		free(h);
	}
	while (tgone) {
		struct lv_timeout *t = tgone;

		tgone = t->next;
		if (t->ff)
			t->ff(t->opaque);
		free(t);
	}
}

/* libvirt's errors are taken with virGetLastErrorMessage where they happen, not printed. */
static void lv_quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

/* Once per process, before the first connection: libvirt keeps the first implementation. */
static int lv_events_register(struct ev_loop *loop, char *err, size_t errlen)
{
	if (lv_ev.registered) {
		if (lv_ev.loop != loop)
			return be_fail(err, errlen,
			               "libvirt's events are on another loop of this process");
		return 0;
	}
	if (virInitialize() < 0)
		return be_fail(err, errlen, "libvirt cannot initialize: %s",
		               virGetLastErrorMessage());
	virSetErrorFunc(NULL, lv_quiet);
	lv_ev.loop = loop;
	lv_ev.loop_thread = pthread_self();
	ev_async_init(&lv_ev.wake, on_lv_wake);
	ev_async_start(loop, &lv_ev.wake);
	/* Not a reason for the loop to keep running on its own. */
	ev_unref(loop);
	virEventRegisterImpl(lv_add_handle, lv_update_handle, lv_remove_handle, lv_add_timeout,
	                     lv_update_timeout, lv_remove_timeout);
	lv_ev.registered = 1;
	return 0;
}

/* libvirt's last error, copied before another libvirt call resets it. */
static const char *lv_why(char *buf, size_t len)
{
	snprintf(buf, len, "%s", virGetLastErrorMessage());
	return buf;
}

/* ---- domains ---- */

static const char *ldom_name(const struct ldom *d)
{
	return d->g ? d->g->name : "(gone)";
}

#ifdef HAVE_XEN
static void on_probe_answer(void *owner, uint64_t now)
{
	struct ldom *d = owner;

	if (d->g && d->state == LD_RUNNING && !d->end_reason[0])
		d->be->host.probe_answer(d->g, now, 1);
}

/* Its probe port from now on: the watch fires at once and binds what is there. */
static void probe_begin(struct ldom *d)
{
	struct backend *be = d->be;

	if (!be->probes || d->id < 0)
		return;
	xen_probe_port_init(&d->probe, be->probes, d, (uint32_t)d->id, ldom_name(d));
	xen_probe_port_watch(&d->probe, be->xs, 1);
	d->probing = 1;
}

static void probe_end(struct ldom *d)
{
	if (!d->probing)
		return;
	xen_probe_port_watch(&d->probe, d->be->xs, 0);
	xen_probe_port_unbind(&d->probe);
	d->probing = 0;
}

/*
 * The guest's exit keys, read while its domain is there: libvirt destroys
 * a domain that shut down (on_poweroff, on_crash) before its event
 * reaches us, and says only "shutdown" or "crashed".  The guest writes
 * exit-code (or exit-reason) before it shuts down, so a watch on its
 * data/shoal directory has them read before libvirt's turn comes.
 */
static void exit_keys_read(struct ldom *d)
{
	struct xs_handle *xs = d->be->xs;
	char path[96];
	unsigned len = 0;
	char *v;

	if (d->id < 0)
		return;
	snprintf(path, sizeof(path), "/local/domain/%d/data/shoal/exit-code", d->id);
	if (!d->have_exit_code && (v = xs_read(xs, XBT_NULL, path, &len))) {
		d->exit_code_len = len < sizeof(d->exit_code) ? len : sizeof(d->exit_code);
		memcpy(d->exit_code, v, d->exit_code_len);
		d->have_exit_code = 1;
		free(v);
	}
	snprintf(path, sizeof(path), "/local/domain/%d/data/shoal/exit-reason", d->id);
	if (!d->have_exit_reason && (v = xs_read(xs, XBT_NULL, path, &len))) {
		d->exit_reason_len = len < sizeof(d->exit_reason) ? len : sizeof(d->exit_reason);
		memcpy(d->exit_reason, v, d->exit_reason_len);
		d->have_exit_reason = 1;
		free(v);
	}
}

static void exit_watch(struct ldom *d, int on)
{
	char path[64], token[24];

	if (!d->be->xs || d->id < 0 || d->exit_watch == on)
		return;
	snprintf(path, sizeof(path), "/local/domain/%d/data/shoal", d->id);
	snprintf(token, sizeof(token), "x%d", d->id);
	if (on ? xs_watch(d->be->xs, path, token) : xs_unwatch(d->be->xs, path, token))
		d->exit_watch = on;
	else if (on)
		log_warn("libvirt: guest %s: cannot watch %s (its exit code will not be known)",
		         ldom_name(d), path);
}

static void on_xs(struct ev_loop *loop, ev_io *w, int revents)
{
	struct backend *be = w->data;
	char **vec;

	(void)loop;
	(void)revents;
	while ((vec = xs_check_watch(be->xs))) {
		unsigned long id;
		int kind = xen_watch_token(vec[XS_WATCH_TOKEN], "px", &id);
		struct ldom *d = NULL;

		if (kind)
			for (d = be->doms; d; d = d->next)
				if (d->id == (int)id && (kind == 'p' ? d->probing : d->exit_watch))
					break;
		if (d && !d->end_reason[0]) {
			if (kind == 'p')
				xen_probe_port_changed(&d->probe);
			else
				exit_keys_read(d);
		}
		free(vec);
	}
}

/* Watches that fired but are not read yet, and the keys if the domain is still there. */
static void exit_keys_catch_up(struct ldom *d)
{
	if (!d->be->xs)
		return;
	on_xs(d->be->loop, &d->be->xs_w, 0);
	exit_keys_read(d);
}

/*
 * On Xen, shoald attaches a disk's loop device itself (as for libxl in
 * the Xen backend: no hotplug script or QEMU in between), and libvirt
 * hands it to libxl as a phy disk; the NICs' and disks' names and
 * addresses are shoal's keys in the front-end directories, written while
 * the domain is paused before its first instruction.
 */
static int devs_prepare(struct ldom *d, const struct be_start *req,
                        const char *disk_dev[BE_DISKS_MAX], char path[][32], char *err,
                        size_t errlen)
{
	unsigned i;

	xen_devs_init(&d->devs);
	if (!d->be->xs)
		return 0;
	if (xen_devs_prepare(&d->devs, req, err, errlen) < 0)
		return -1;
	for (i = 0; i < d->devs.nvbds; i++) {
		snprintf(path[i], 32, "/dev/loop%d", d->devs.vbd[i].loop_nr);
		disk_dev[i] = path[i];
	}
	return 0;
}

/* On the worker, while the loop leaves d->devs alone (LD_CREATING); libxenstore is thread-safe. */
static int devs_keys(struct ldom *d, int id)
{
	d->devs.domid = (uint32_t)id;
	if (!d->be->xs || (!d->devs.nvifs && !d->devs.nvbds))
		return 0;
	return xen_devs_write_shoal_keys(d->be->xs, (uint32_t)id, &d->devs);
}

/* After a daemon restart: its loop devices open again, so that they stay while it runs. */
static void devs_find(struct ldom *d)
{
	xen_devs_init(&d->devs);
	if (!d->be->xs || d->id < 0)
		return;
	xen_devs_find(d->be->xs, (uint32_t)d->id, &d->devs, 0);
	if (d->devs.nvifs || d->devs.nvbds)
		log_info("libvirt: guest %s (domain %d): %u NICs and %u disks found again",
		         ldom_name(d), d->id, d->devs.nvifs, d->devs.nvbds);
}

/* The domain is gone: its loop devices go once blkback lets go of them. */
static void devs_release(struct ldom *d)
{
	xen_devs_teardown(NULL, &d->devs);
	xen_devs_init(&d->devs);
}

/* shoald ends, the domain runs on: its loop devices stay (autoclear), found again next time. */
static void devs_leave(struct ldom *d)
{
	unsigned i;

	for (i = 0; i < d->devs.nvbds; i++)
		if (d->devs.vbd[i].loop_fd >= 0)
			close(d->devs.vbd[i].loop_fd);
	xen_devs_init(&d->devs);
}

static unsigned devs_stats(struct ldom *d, struct be_dev_stats *out, unsigned max)
{
	return xen_devs_stats(&d->devs, out, max);
}
#else
static void probe_begin(struct ldom *d)
{
	(void)d;
}

static void probe_end(struct ldom *d)
{
	(void)d;
}

static void exit_watch(struct ldom *d, int on)
{
	(void)d;
	(void)on;
}

static void exit_keys_catch_up(struct ldom *d)
{
	(void)d;
}

static int devs_prepare(struct ldom *d, const struct be_start *req,
                        const char *disk_dev[BE_DISKS_MAX], char path[][32], char *err,
                        size_t errlen)
{
	(void)d;
	(void)req;
	(void)disk_dev;
	(void)path;
	(void)err;
	(void)errlen;
	return 0;
}

static int devs_keys(struct ldom *d, int id)
{
	(void)d;
	(void)id;
	return 0;
}

static void devs_find(struct ldom *d)
{
	(void)d;
}

static void devs_release(struct ldom *d)
{
	(void)d;
}

static void devs_leave(struct ldom *d)
{
	(void)d;
}

static unsigned devs_stats(struct ldom *d, struct be_dev_stats *out, unsigned max)
{
	(void)d;
	(void)out;
	(void)max;
	return 0;
}
#endif

/* ---- the worker ---- */

/* On the worker: libvirt's words for a failed call, read on this thread (libvirt's are per thread).
 */
static void job_fail(struct lv_job *j, const char *what)
{
	j->rc = -1;
	j->code = virGetLastErrorCode();
	snprintf(j->err, sizeof(j->err), "libvirt cannot %s %s: %s", what, j->name,
	         virGetLastErrorMessage());
}

static void job_run(struct backend *be, struct lv_job *j)
{
	uint64_t t0 = now_mono_ns();

	switch (j->kind) {
	case LJ_CREATE:
		j->dom = virDomainDefineXML(be->conn, j->xml);
		if (!j->dom) {
			job_fail(j, "define domain");
			break;
		}
		/*
		 * Paused until shoal's keys are in the front-end directories
		 * libxl made and the loop watches the exit keys: the guest reads
		 * the first as it starts, and may write the second at once.  (The
		 * test driver cannot start a domain paused, and has no xenstore.)
		 */
		if (virDomainCreateWithFlags(j->dom, j->paused ? VIR_DOMAIN_START_PAUSED : 0) < 0) {
			job_fail(j, "start domain");
			virDomainUndefine(j->dom);
			virDomainFree(j->dom);
			j->dom = NULL;
			break;
		}
		j->id = (int)virDomainGetID(j->dom);
		virDomainGetUUID(j->dom, j->uuid);
		if (devs_keys(j->d, j->id) < 0) {
			j->rc = -1;
			snprintf(j->err, sizeof(j->err),
			         "cannot write the devices' keys of domain %d in xenstore: %s",
			         j->id, strerror(errno));
			virDomainDestroy(j->dom);
			virDomainUndefine(j->dom);
			virDomainFree(j->dom);
			j->dom = NULL;
		}
		break;
	case LJ_RESUME:
		if (virDomainResume(j->dom) < 0)
			job_fail(j, "resume new domain");
		break;
	case LJ_DESTROY:
		if (virDomainDestroy(j->dom) < 0)
			job_fail(j, "destroy domain");
		break;
	case LJ_UNDEFINE:
		if (virDomainUndefine(j->dom) < 0)
			job_fail(j, "undefine domain");
		break;
	case LJ_CONSOLE:
		/* A stream the domain's end already closed refuses the abort: nothing lost. */
		virStreamAbort(j->st);
		virStreamFree(j->st);
		j->st = NULL;
		break;
	}
	j->ns = now_mono_ns() - t0;
}

/*
 * On the worker: one job.  Told to quit, it still runs all but a create
 * (shoald is going: a stop, an undefine or a resume asked for is still
 * owed; a guest not made yet is not).
 */
static void job_work(struct worker *w, struct worker_job *wj, int quitting)
{
	struct lv_job *j = WORKER_JOB(wj, struct lv_job, link);

	if (quitting && j->kind == LJ_CREATE) {
		j->rc = -1;
		snprintf(j->err, sizeof(j->err), "shoald stopped before domain %s was made",
		         j->name);
		return;
	}
	job_run(w->ctx, j);
}

/* A job for d (held until the job is done) or for a domain alone; NULL when out of memory. */
static struct lv_job *job_new(struct backend *be, enum lv_job_kind kind, struct ldom *d,
                              virDomainPtr dom, const char *name)
{
	struct lv_job *j = calloc(1, sizeof(*j));

	(void)be;
	if (!j)
		return NULL;
	j->kind = kind;
	j->d = d;
	if (d)
		d->jobs++;
	if (dom && virDomainRef(dom) == 0)
		j->dom = dom;
	snprintf(j->name, sizeof(j->name), "%s", name);
	return j;
}

static void job_free(struct lv_job *j)
{
	if (j->dom)
		virDomainFree(j->dom);
	if (j->st)
		virStreamFree(j->st);
	free(j->xml);
	free(j);
}

static void job_queue(struct backend *be, struct lv_job *j)
{
	worker_queue(&be->worker, &j->link);
}

/* A destroy or an undefine of dom for d (or none); done at once, on the loop, if out of memory. */
static void job_domain(struct backend *be, enum lv_job_kind kind, struct ldom *d, virDomainPtr dom,
                       const char *name)
{
	struct lv_job *j = job_new(be, kind, d, dom, name);

	if (j) {
		job_queue(be, j);
		return;
	}
	log_warnx("libvirt: out of memory for a job: domain %s's %s on the loop", name,
	          kind == LJ_DESTROY ? "destroy" : "undefine");
	if ((kind == LJ_DESTROY ? virDomainDestroy(dom) : virDomainUndefine(dom)) < 0)
		log_warnx("libvirt: cannot %s domain %s: %s",
		          kind == LJ_DESTROY ? "destroy" : "undefine", name,
		          virGetLastErrorMessage());
}

static void on_job_done(struct worker *w, struct worker_job *wj);

static const char *const job_kind_names[] = { "define and start", "resume", "destroy", "undefine",
	                                      "console close" };

/* "undefine lv1", for worker_busy(). */
static void job_describe(const struct worker_job *wj, char *buf, size_t len)
{
	const struct lv_job *j = WORKER_JOB(wj, const struct lv_job, link);

	snprintf(buf, len, "%s %s", job_kind_names[j->kind], j->name);
}

/* The worker's call under way for LV_STUCK_S or more: logged once a call. */
#define LV_STUCK_S 30

static void on_stuck_check(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct backend *be = w->data;
	char what[GUEST_NAME_MAX + 32];
	unsigned queued;
	uint64_t ns = worker_busy(&be->worker, what, sizeof(what), &queued);

	(void)loop;
	(void)revents;
	if (ns < (uint64_t)LV_STUCK_S * 1000000000u) {
		be->stuck_warned = 0;
		return;
	}
	if (be->stuck_warned)
		return;
	be->stuck_warned = 1;
	log_warnx("libvirt: the %s call has not returned for %.0f s; %u of libvirt's "
	          "creates, destroys, undefines and console closes wait behind it (is libvirtd "
	          "stuck?)",
	          what, ns / 1e9, queued);
}

static int lv_worker_start(struct backend *be, char *err, size_t errlen)
{
	int r;

	be->worker.loop = be->loop;
	be->worker.run = job_work;
	be->worker.done = on_job_done;
	be->worker.describe = job_describe;
	be->worker.ctx = be;
	r = worker_start(&be->worker);
	if (r) {
		errno = r;
		return be_fail_errno(err, errlen,
		                     "libvirt backend: cannot start its worker thread");
	}
	ev_timer_init(&be->stuck_w, on_stuck_check, 5., 5.);
	be->stuck_w.data = be;
	ev_timer_start(be->loop, &be->stuck_w);
	return 0;
}

static struct ldom *ldom_by_uuid(struct backend *be, const unsigned char *uuid)
{
	struct ldom *d;

	for (d = be->doms; d; d = d->next)
		if (!memcmp(d->uuid, uuid, VIR_UUID_BUFLEN))
			return d;
	return NULL;
}

static void ldom_free(struct ldom *d)
{
	struct ldom **pp;

	for (pp = &d->be->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	ev_timer_stop(d->be->loop, &d->soon);
	if (d->dom)
		virDomainFree(d->dom);
	free(d);
}

/*
 * The loop stops reading the stream at once; its abort, a call to
 * libvirtd, is the worker's, in order with the domains' other calls.  It
 * was the loop's: once, removing two re-adopted guests, the worker's
 * call for one never returned while the loop aborted the other's stream
 * (the cause is not proven; a stream's close beside another thread's
 * call is where libvirt's clients have deadlocked before).
 */
static void console_close(struct ldom *d)
{
	virStreamPtr st = d->console;
	struct lv_job *j;

	if (!st)
		return;
	d->console = NULL;
	virStreamEventRemoveCallback(st);
	j = d->be->worker.up ? job_new(d->be, LJ_CONSOLE, NULL, NULL, ldom_name(d)) : NULL;
	if (j) {
		j->st = st;
		job_queue(d->be, j);
		return;
	}
	virStreamAbort(st);
	virStreamFree(st);
}

static void on_console(virStreamPtr st, int events, void *opaque)
{
	struct ldom *d = opaque;
	char buf[16384], why[300];
	int r;

	(void)events;
	while ((r = virStreamRecv(st, buf, sizeof(buf))) > 0)
		if (d->g)
			d->be->host.console(d->g, buf, (size_t)r);
	if (r == -2)
		return; /* drained: more later */
	/* The end of the stream (the domain went) or an error: no more of it. */
	if (r < 0 && !d->console_warned)
		log_warnx("libvirt: guest %s: its console stream failed: %s", ldom_name(d),
		          lv_why(why, sizeof(why)));
	console_close(d);
}

/* The console through libvirt, or one line that says why not; the guest runs either way. */
static void console_open(struct ldom *d)
{
	struct backend *be = d->be;
	char why[300];

	d->console = virStreamNew(be->conn, VIR_STREAM_NONBLOCK);
	if (!d->console) {
		lv_why(why, sizeof(why));
		goto fail;
	}
	if (virDomainOpenConsole(d->dom, NULL, d->console, VIR_DOMAIN_CONSOLE_FORCE) < 0 ||
	    virStreamEventAddCallback(d->console,
	                              VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
	                                  VIR_STREAM_EVENT_HANGUP,
	                              on_console, d, NULL) < 0) {
		lv_why(why, sizeof(why));
		virStreamFree(d->console);
		d->console = NULL;
		goto fail;
	}
	return;
fail:
	if (!d->console_warned)
		log_warnx("libvirt: guest %s: no console: %s", ldom_name(d), why);
	d->console_warned = 1;
}

/*
 * Tell the daemon once, from the loop.  The domain's undefine is queued
 * first: the worker runs it before any define queued after it (a restart
 * of the same name).
 */
static void ldom_report(struct ldom *d)
{
	struct backend *be = d->be;
	struct guest *g = d->g;

	console_close(d);
	probe_end(d);
	exit_watch(d, 0);
	devs_release(d);
	if (d->dom)
		job_domain(be, LJ_UNDEFINE, NULL, d->dom, ldom_name(d));
	d->g = NULL;
	d->reported = 1;
	if (g) {
		g->be = NULL;
		if (d->state != LD_RUNNING) {
			be->create_failures++;
			be->host.start_failed(g, 500, d->end_reason);
		} else {
			be->host.exited(g, d->end_status, d->end_reason);
		}
	}
	if (!d->jobs)
		ldom_free(d);
}

static void on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ldom *d = w->data;

	(void)loop;
	(void)revents;
	if (d->end_reason[0]) {
		ldom_report(d);
		return;
	}
	if (d->state == LD_STARTING && d->g) {
		d->state = LD_RUNNING;
		d->be->creates++;
		log_info("libvirt: guest %s: domain %d running", ldom_name(d), d->id);
		d->be->host.started(d->g, d->id, 0, d->boot_wall_ns);
	}
}

/* The domain's end is known: reported from the loop (at most once). */
static void ldom_end(struct ldom *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ldom_end(struct ldom *d, int status, const char *fmt, ...)
{
	va_list ap;

	if (d->end_reason[0])
		return;
	d->end_status = status;
	va_start(ap, fmt);
	vsnprintf(d->end_reason, sizeof(d->end_reason), fmt, ap);
	va_end(ap);
	if (!d->end_reason[0])
		snprintf(d->end_reason, sizeof(d->end_reason), "the domain ended");
	ev_timer_stop(d->be->loop, &d->soon);
	ev_timer_set(&d->soon, 0., 0.);
	ev_timer_start(d->be->loop, &d->soon);
}

static struct ldom *ldom_new(struct backend *be, struct guest *g, virDomainPtr dom)
{
	struct ldom *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->be = be;
	d->g = g;
	d->dom = dom;
	d->id = -1;
	devs_release(d); /* none yet: no loop device taken */
	if (dom) {
		virDomainGetUUID(dom, d->uuid);
		d->id = (int)virDomainGetID(dom);
	}
	ev_timer_init(&d->soon, on_soon, 0., 0.);
	d->soon.data = d;
	d->next = be->doms;
	be->doms = d;
	return d;
}

/*
 * The guest's own end (a shutdown or a crash): its exit code and reason
 * from the exit keys caught on Xen, mapped as the Xen backend maps them;
 * without them on libvirt's test driver (no xenstore) libvirt's word alone.
 */
static void ldom_end_own(struct ldom *d, enum xen_end end)
{
	char text[300];
	int status;

	exit_keys_catch_up(d);
	if (!d->have_exit_code && !d->have_exit_reason && d->be->test_mode) {
		if (end == XEN_END_CRASH)
			ldom_end(d, GUEST_EXIT_FAULT, "domain %d crashed", d->id);
		else
			ldom_end(d, -1, "domain %d shut down (libvirt does not say its exit code)",
			         d->id);
		return;
	}
	status = xen_exit_map(end, d->have_exit_code ? d->exit_code : NULL, d->exit_code_len,
	                      d->have_exit_reason ? d->exit_reason : NULL, d->exit_reason_len, text,
	                      sizeof(text));
	ldom_end(d, status, "%s (domain %d)", text, d->id);
}

/* Lifecycle events of every domain; shoald's are known by UUID. */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct backend *be = opaque;
	unsigned char uuid[VIR_UUID_BUFLEN];
	struct ldom *d;

	(void)conn;
	if (virDomainGetUUID(dom, uuid) < 0 || !(d = ldom_by_uuid(be, uuid)) || d->end_reason[0])
		return 0;
	switch (event) {
	case VIR_DOMAIN_EVENT_STOPPED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
			ldom_end_own(d, XEN_END_POWEROFF);
			break;
		case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
			ldom_end_own(d, XEN_END_CRASH);
			break;
		case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
			if (d->stop_requested) {
				ldom_end(d, -1, "domain %d was destroyed on request", d->id);
			} else {
				be->outside_ends++;
				ldom_end(d, -1,
				         "domain %d was destroyed outside shoald (virsh destroy or "
				         "the like)",
				         d->id);
			}
			break;
		case VIR_DOMAIN_EVENT_STOPPED_FAILED:
			ldom_end(d, GUEST_EXIT_INTERNAL, "libvirt says domain %d failed", d->id);
			break;
		default:
			ldom_end(d, -1, "domain %d stopped (libvirt's detail %d)", d->id, detail);
			break;
		}
		break;
	case VIR_DOMAIN_EVENT_CRASHED:
		/* Kept crashed (on_crash preserve, set outside): it goes now. */
		ldom_end_own(d, XEN_END_CRASH);
		job_domain(be, LJ_DESTROY, d, dom, ldom_name(d));
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
	case VIR_DOMAIN_EVENT_RESUMED:
		log_debug("libvirt: guest %s: domain %d %s", ldom_name(d), d->id,
		          event == VIR_DOMAIN_EVENT_SUSPENDED ? "suspended" : "resumed");
		break;
	default:
		break;
	}
	return 0;
}

/* ---- the worker's results, on the loop ---- */

static void create_done(struct ldom *d, struct lv_job *j)
{
	struct backend *be = d->be;
	struct guest *g = d->g;

	if (j->rc < 0) {
		be->create_failures++;
		devs_release(d);
		d->g = NULL;
		d->reported = 1;
		if (g) {
			g->be = NULL;
			/* As the daemon logs a start() that fails at once. */
			log_warnx("guest %s: cannot start: %s", g->name, j->err);
			be->host.start_failed(g, 500, j->err);
		}
		return;
	}
	d->dom = j->dom;
	j->dom = NULL;
	d->id = j->id;
	memcpy(d->uuid, j->uuid, VIR_UUID_BUFLEN);
	d->state = LD_STARTING;
	exit_watch(d, 1);
	console_open(d);
	probe_begin(d);
	if (d->stop_requested) {
		/* Stopped while it was being made: it goes now, and start_failed() says so. */
		job_domain(be, LJ_DESTROY, d, d->dom, ldom_name(d));
		return;
	}
	if (j->paused) {
		struct lv_job *r = job_new(be, LJ_RESUME, d, d->dom, ldom_name(d));

		if (r) {
			job_queue(be, r);
			return;
		}
		if (virDomainResume(d->dom) < 0) {
			ldom_end(d, GUEST_EXIT_INTERNAL, "libvirt cannot resume new domain %s: %s",
			         ldom_name(d), virGetLastErrorMessage());
			job_domain(be, LJ_DESTROY, d, d->dom, ldom_name(d));
			return;
		}
	}
	ev_timer_start(be->loop, &d->soon); /* started() */
}

static void job_done(struct backend *be, struct lv_job *j)
{
	struct ldom *d = j->d;

	if (j->ns > be->job_ns_max)
		be->job_ns_max = j->ns;
	switch (j->kind) {
	case LJ_CREATE:
		create_done(d, j);
		break;
	case LJ_RESUME:
		if (d->end_reason[0])
			break;
		if (j->rc < 0) {
			ldom_end(d, GUEST_EXIT_INTERNAL, "%s", j->err);
			job_domain(be, LJ_DESTROY, d, d->dom, ldom_name(d));
			break;
		}
		ev_timer_start(be->loop, &d->soon); /* started() */
		break;
	case LJ_DESTROY:
		if (!d) {
			/* A domain no guest holds (adoption's): only a failure is news. */
			if (j->rc < 0 && j->code != VIR_ERR_NO_DOMAIN &&
			    j->code != VIR_ERR_OPERATION_INVALID)
				log_warnx("libvirt: %s", j->err);
		} else if (j->rc == 0) {
			ldom_end(d, -1, "domain %d was destroyed on request", d->id);
		} else if (j->code == VIR_ERR_NO_DOMAIN || j->code == VIR_ERR_OPERATION_INVALID) {
			/* Gone already: its event is on its way, or was missed; the end is the
			 * same. */
			ldom_end(d, -1, "domain %d was gone when asked to stop", d->id);
		} else if (!d->end_reason[0]) {
			log_warnx("libvirt: guest %s: %s", ldom_name(d), j->err);
			d->stop_requested = 0;
		}
		break;
	case LJ_UNDEFINE:
		/* A transient domain (virsh undefine while it ran) is gone with its end. */
		if (j->rc < 0 && j->code != VIR_ERR_NO_DOMAIN)
			log_warnx("libvirt: %s", j->err);
		break;
	case LJ_CONSOLE:
		break;
	}
	if (d && !--d->jobs && d->reported)
		ldom_free(d);
}

static void on_job_done(struct worker *w, struct worker_job *wj)
{
	struct lv_job *j = WORKER_JOB(wj, struct lv_job, link);

	job_done(w->ctx, j);
	job_free(j);
}

/* ---- the domain XML ---- */

struct xbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void xb_put(struct xbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 2048;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void xb_printf(struct xbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xb_printf(struct xbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = 1;
		return;
	}
	xb_put(b, tmp, (size_t)n);
}

/* Text or an attribute's value, escaped; a control character has no place in either. */
static int xb_text(struct xbuf *b, const char *what, const char *s, char *err, size_t errlen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			xb_put(b, "&amp;", 5);
			break;
		case '<':
			xb_put(b, "&lt;", 4);
			break;
		case '>':
			xb_put(b, "&gt;", 4);
			break;
		case '"':
			xb_put(b, "&quot;", 6);
			break;
		case '\'':
			xb_put(b, "&apos;", 6);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				return be_fail(
				    err, errlen,
				    "%s holds control character 0x%02x, which the domain "
				    "XML cannot carry",
				    what, *p);
			xb_put(b, (const char *)p, 1);
		}
	}
	return 0;
}

/*
 * The domain shoald defines for a guest; malloc'd, or NULL with err.
 * Every value from outside is escaped (the command line carries the
 * operator's arguments as they are).  A disk with disk_dev[i] is that
 * block device (its loop device on Xen), given to libxl as phy; one
 * without is its file.
 */
static char *domain_xml(struct backend *be, const struct guest *g, const struct be_start *req,
                        const char *const *disk_dev, const char *cmdline, uint64_t boot_wall_ns,
                        char *err, size_t errlen)
{
	struct xbuf b = { 0 };
	uint64_t rate_kib = 0;
	unsigned i;

	/*
	 * The bytes limit as on Xen without libvirt: split evenly over the
	 * NICs, on what the guest sends.  libvirt's libxl driver makes an
	 * interface's outbound average (KiB/s) netback's rate, in the same
	 * 50 ms credit: whole KiB here, at least one.
	 */
	if (req->net_rate_bytes && req->nnics) {
		rate_kib = req->net_rate_bytes / req->nnics / 1024;
		if (rate_kib == 0)
			rate_kib = 1;
	}
	xb_printf(&b, "<domain type='%s'>\n  <name>", be->dom_type);
	if (xb_text(&b, "the guest's name", g->name, err, errlen) < 0)
		goto fail;
	xb_printf(&b, "</name>\n  <metadata>\n    <" SHOAL_NS_PREFIX ":guest xmlns:" SHOAL_NS_PREFIX
	              "='" SHOAL_NS "'>\n      <" SHOAL_NS_PREFIX ":name>");
	if (xb_text(&b, "the guest's name", g->name, err, errlen) < 0)
		goto fail;
	xb_printf(&b,
	          "</" SHOAL_NS_PREFIX ":name>\n      <" SHOAL_NS_PREFIX ":instance>%" PRIu64
	          "</" SHOAL_NS_PREFIX ":instance>\n      <" SHOAL_NS_PREFIX
	          ":boot-wall-ns>%" PRIu64 "</" SHOAL_NS_PREFIX
	          ":boot-wall-ns>\n    </" SHOAL_NS_PREFIX ":guest>\n  </metadata>\n",
	          req->instance, boot_wall_ns);
	xb_printf(&b, "  <memory unit='MiB'>%u</memory>\n  <vcpu>%u</vcpu>\n", req->memory_mib,
	          req->vcpus);
	xb_printf(&b, "  <os>\n    <type arch='x86_64'>xen</type>\n    <kernel>");
	if (xb_text(&b, "the image's path", req->image_path, err, errlen) < 0)
		goto fail;
	xb_printf(&b, "</kernel>\n    <cmdline>");
	if (xb_text(&b, "the command line", cmdline, err, errlen) < 0)
		goto fail;
	xb_printf(&b, "</cmdline>\n  </os>\n"
	              "  <on_poweroff>destroy</on_poweroff>\n"
	              "  <on_reboot>destroy</on_reboot>\n"
	              "  <on_crash>destroy</on_crash>\n"
	              "  <devices>\n"
	              "    <console type='pty'>\n      <target type='xen' port='0'/>\n"
	              "    </console>\n");
	for (i = 0; i < req->ndisks; i++) {
		const struct be_disk *k = &req->disks[i];

		if (disk_dev[i])
			xb_printf(&b, "    <disk type='block' device='disk'>\n"
			              "      <driver name='phy'/>\n      <source dev='");
		else
			xb_printf(&b, "    <disk type='file' device='disk'>\n      <source file='");
		if (xb_text(&b, "a disk's path", disk_dev[i] ? disk_dev[i] : k->path, err, errlen) <
		    0)
			goto fail;
		xb_printf(&b, "'/>\n      <target dev='xvd%c' bus='xen'/>\n%s    </disk>\n",
		          'a' + (int)i, k->readonly ? "      <readonly/>\n" : "");
	}
	for (i = 0; i < req->nnics; i++) {
		const struct be_nic *n = &req->nics[i];

		xb_printf(&b, "    <interface type='bridge'>\n      <source bridge='");
		if (xb_text(&b, "a NIC's bridge", n->bridge, err, errlen) < 0)
			goto fail;
		xb_printf(&b, "'/>\n      <mac address='%02x:%02x:%02x:%02x:%02x:%02x'/>\n",
		          n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		if (rate_kib)
			xb_printf(&b,
			          "      <bandwidth>\n        <outbound average='%" PRIu64
			          "'/>\n      </bandwidth>\n",
			          rate_kib);
		xb_printf(&b, "    </interface>\n");
	}
	xb_printf(&b, "  </devices>\n</domain>\n");
	if (b.oom) {
		be_fail(err, errlen, "out of memory for the domain XML");
		goto fail;
	}
	return b.s;
fail:
	free(b.s);
	return NULL;
}

/* ---- ops ---- */

/*
 * libvirt's refusal in its own words.  Every libvirt call resets the last
 * error, so this is called right after the failed one, with names known
 * without asking libvirt (a domain's name is its guest's).
 */
static int lv_fail(char *err, size_t errlen, const char *what, const char *name)
{
	return be_fail(err, errlen, "libvirt cannot %s%s%s: %s", what, name ? " " : "",
	               name ? name : "", virGetLastErrorMessage());
}

/*
 * The XML and the disks' loop devices here; the define and the create on
 * the worker, whose result comes back to the loop (create_done): started()
 * or start_failed() from there, as the ops table allows.
 */
static int lv_start(struct backend *be, struct guest *g, const struct be_start *req, char *err,
                    size_t errlen)
{
	char cmdline[XEN_CMDLINE_MAX], why[200], loop_path[BE_DISKS_MAX][32];
	const char *disk_dev[BE_DISKS_MAX] = { NULL };
	uint64_t boot_wall_ns = now_wall_ns();
	struct lv_job *j = NULL;
	struct ldom *d;
	char *xml;

	if (xen_cmdline_build(cmdline, sizeof(cmdline), req->nargs, req->args, why, sizeof(why)) <
	    0)
		return be_fail(err, errlen, "%s", why);
	if (req->vcpus < 1 || req->memory_mib < 1)
		return be_fail(err, errlen, "a domain needs at least one vCPU and 1 MiB");
	d = ldom_new(be, g, NULL);
	if (!d)
		return be_fail(err, errlen, "out of memory");
	if (devs_prepare(d, req, disk_dev, loop_path, err, errlen) < 0)
		goto fail;
	xml = domain_xml(be, g, req, disk_dev, cmdline, boot_wall_ns, err, errlen);
	if (!xml)
		goto fail;
	if (req->net_rate_pps && req->nnics)
		log_warnx("libvirt: guest %s: netback limits bytes, not packets: its packet rate "
		          "limit is not applied",
		          g->name);
	j = job_new(be, LJ_CREATE, d, NULL, g->name);
	if (!j) {
		free(xml);
		be_fail(err, errlen, "out of memory");
		goto fail;
	}
	j->xml = xml;
	j->paused = !be->test_mode;
	d->instance = req->instance;
	d->boot_wall_ns = boot_wall_ns;
	g->be = d;
	job_queue(be, j);
	return 0;
fail:
	be->create_failures++;
	devs_release(d);
	d->g = NULL;
	ldom_free(d);
	return -1;
}

static int lv_stop(struct backend *be, struct guest *g, char *err, size_t errlen)
{
	struct ldom *d = g->be;

	if (!d)
		return be_fail(err, errlen, "it has no domain");
	if (d->end_reason[0] || d->stop_requested)
		return 0; /* its end is on its way */
	d->stop_requested = 1;
	/* One being made goes once it is (create_done). */
	if (d->state != LD_CREATING)
		job_domain(be, LJ_DESTROY, d, d->dom, g->name);
	return 0;
}

static struct ldom *running_dom(struct guest *g, char *err, size_t errlen)
{
	struct ldom *d = g->be;

	if (!d || d->end_reason[0] || !d->dom) {
		be_fail(err, errlen, "its domain is not running");
		return NULL;
	}
	return d;
}

static int lv_pause(struct backend *be, struct guest *g, int pause, char *err, size_t errlen)
{
	struct ldom *d = running_dom(g, err, errlen);

	(void)be;
	if (!d)
		return -1;
	if ((pause ? virDomainSuspend(d->dom) : virDomainResume(d->dom)) < 0)
		return lv_fail(err, errlen, pause ? "suspend domain" : "resume domain", g->name);
	return 0;
}

static int lv_vcpus(struct ldom *d, char *err, size_t errlen)
{
	virDomainInfo info;

	if (virDomainGetInfo(d->dom, &info) < 0)
		return lv_fail(err, errlen, "read the state of domain", ldom_name(d));
	return info.nrVirtCpu;
}

static int lv_set_affinity(struct backend *be, struct guest *g, const cpu_set_t *cpus, char *err,
                           size_t errlen)
{
	unsigned char map[CPU_SETSIZE / 8] = { 0 };
	struct ldom *d = running_dom(g, err, errlen);
	int n, v, c, maplen = 0;

	(void)be;
	if (!d || (n = lv_vcpus(d, err, errlen)) < 0)
		return -1;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, cpus)) {
			map[c / 8] |= (unsigned char)(1u << (c % 8));
			maplen = c / 8 + 1;
		}
	if (!maplen)
		return be_fail(err, errlen, "no CPU to pin it to");
	for (v = 0; v < n; v++)
		if (virDomainPinVcpu(d->dom, (unsigned)v, map, maplen) < 0)
			return be_fail(err, errlen, "libvirt cannot pin vCPU %d of domain %s: %s",
			               v, g->name, virGetLastErrorMessage());
	return 0;
}

static int lv_set_weight(struct backend *be, struct guest *g, unsigned weight, char *err,
                         size_t errlen)
{
	struct ldom *d = running_dom(g, err, errlen);
	virTypedParameter p;

	(void)be;
	if (!d)
		return -1;
	memset(&p, 0, sizeof(p));
	snprintf(p.field, sizeof(p.field), "%s", VIR_DOMAIN_SCHEDULER_WEIGHT);
	p.type = VIR_TYPED_PARAM_UINT;
	p.value.ui = xen_weight_to_credit(weight);
	if (virDomainSetSchedulerParameters(d->dom, &p, 1) < 0)
		return lv_fail(err, errlen, "set the scheduler weight of domain", g->name);
	return 0;
}

static int lv_set_batch(struct backend *be, struct guest *g, int batch, char *err, size_t errlen)
{
	(void)be;
	(void)g;
	if (!batch)
		return 0;
	return be_fail(err, errlen, "libvirt has no idle class or cpupool to put a domain in");
}

static int lv_placement_get(struct backend *be, struct guest *g, struct be_placement *out,
                            char *err, size_t errlen)
{
	struct ldom *d = running_dom(g, err, errlen);
	unsigned char map[CPU_SETSIZE / 8];
	virTypedParameterPtr params = NULL;
	int nparams = 0, i, c;
	char *type;

	(void)be;
	if (!d)
		return -1;
	memset(out, 0, sizeof(*out));
	memset(map, 0, sizeof(map));
	if (virDomainGetVcpuPinInfo(d->dom, 1, map, sizeof(map), 0) < 0)
		return lv_fail(err, errlen, "read the vCPU pinning of domain", g->name);
	CPU_ZERO(&out->cpus);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (map[c / 8] & (1u << (c % 8)))
			CPU_SET(c, &out->cpus);
	out->weight = 100;
	type = virDomainGetSchedulerType(d->dom, &nparams);
	free(type);
	if (nparams > 0 && (params = calloc((size_t)nparams, sizeof(*params))) &&
	    virDomainGetSchedulerParameters(d->dom, params, &nparams) == 0) {
		for (i = 0; i < nparams; i++)
			if (!strcmp(params[i].field, VIR_DOMAIN_SCHEDULER_WEIGHT) &&
			    params[i].type == VIR_TYPED_PARAM_UINT)
				out->weight = xen_weight_from_credit(params[i].value.ui);
	}
	free(params);
	return 0;
}

static int lv_cpu_time(struct backend *be, struct guest *g, uint64_t *ns, uint64_t *wait_ns,
                       char *err, size_t errlen)
{
	struct ldom *d = running_dom(g, err, errlen);
	virDomainInfo info;

	(void)be;
	(void)wait_ns; /* libvirt's Xen driver reports no wait time */
	if (!d)
		return -1;
	if (virDomainGetInfo(d->dom, &info) < 0)
		return lv_fail(err, errlen, "read the CPU time of domain", g->name);
	*ns = info.cpuTime;
	return 0;
}

static const char *lv_placement_mechanism(struct backend *be)
{
	(void)be;
	return "libvirt: virDomainPinVcpu for affinity, the scheduler's weight parameter for "
	       "weight, no idle class";
}

/*
 * Probes go through the guest's event channel, which libvirt has no API
 * for: on Xen, libxenevtchn as the Xen backend (xen_probe.c).  The test
 * driver's domains run nothing, so there is none to probe: a probe is not
 * sent and counts as a send error (never a miss).
 */
static void lv_probe_drain(struct backend *be)
{
#ifdef HAVE_XEN
	if (be->probes)
		xen_probes_drain(be->probes);
#else
	(void)be;
#endif
}

static int lv_probe(struct backend *be, struct guest *g, char *err, size_t errlen)
{
	struct ldom *d = g->be;

	if (be->test_mode)
		return be_fail(err, errlen,
		               "libvirt's test driver runs nothing: no event channel to probe");
	if (!d || d->end_reason[0] || d->state != LD_RUNNING)
		return be_fail(err, errlen, "its domain is not running");
#ifdef HAVE_XEN
	if (d->probing)
		return xen_probe_port_notify(&d->probe, err, errlen);
#endif
	return be_fail(err, errlen, "its domain has no probe channel here");
}

static long long lv_probe_listen(struct backend *be, struct guest *g, int on)
{
	(void)be;
#ifdef HAVE_XEN
	{
		struct ldom *d = g->be;

		if (d && d->probing)
			return xen_probe_port_listen(&d->probe, on);
	}
#else
	(void)g;
#endif
	return on ? -1 : 0;
}

/* Its disks' and NICs' counters, as the Xen backend reads them (blkback's and the vif's). */
static unsigned lv_dev_stats(struct backend *be, struct guest *g, struct be_dev_stats *out,
                             unsigned max)
{
	struct ldom *d = g->be;

	(void)be;
	if (!d || d->end_reason[0] || d->state != LD_RUNNING)
		return 0;
	return devs_stats(d, out, max);
}

/*
 * Its figures, and how many domains libvirt has in all (running or only
 * defined, shoald's or not): what the operator sees in virsh list --all.
 */
static json_t *lv_stats(struct backend *be)
{
	int active = virConnectNumOfDomains(be->conn);
	int inactive = virConnectNumOfDefinedDomains(be->conn);
	unsigned n = 0, bound = 0, queued;
	char what[GUEST_NAME_MAX + 32];
	uint64_t busy_ns = worker_busy(&be->worker, what, sizeof(what), &queued);
	struct ldom *d;
	json_t *o;

	for (d = be->doms; d; d = d->next) {
		n++;
#ifdef HAVE_XEN
		bound += d->probing && d->probe.local_port >= 0;
#endif
	}
	o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}",
	              "uri", be->cfg->libvirt_uri, "hypervisor", be->hv_type, "libvirt_version",
	              be->version, "test_mode", be->test_mode, "connected", !be->closed, "domains",
	              (json_int_t)n, "libvirt_domains",
	              (json_int_t)(active < 0 || inactive < 0 ? -1 : active + inactive),
	              "probe_ports_bound", (json_int_t)bound, "creates", (json_int_t)be->creates,
	              "create_failures", (json_int_t)be->create_failures, "adopted",
	              (json_int_t)be->adopted, "ended_outside", (json_int_t)be->outside_ends,
	              "slowest_call_ms", be->job_ns_max / 1e6, "calls_queued", (json_int_t)queued);
	/* The call under way on the worker, and for how long: one that never returns shows. */
	if (o && busy_ns)
		json_object_set_new(o, "call_under_way",
		                    json_pack("{s:s, s:f}", "call", what, "ms", busy_ns / 1e6));
	return o;
}

/* ---- adoption ---- */

/*
 * The text of <name>...</name> in libvirt's copy of our metadata (libvirt
 * writes it back with or without the prefix); 0, or -1 if it is missing or
 * does not fit.
 */
static int meta_field(const char *xml, const char *tag, char *out, size_t outlen)
{
	size_t tlen = strlen(tag);
	const char *p = xml;

	while ((p = strchr(p, '<'))) {
		const char *q = p + 1, *end;

		if (!strncmp(q, SHOAL_NS_PREFIX ":", strlen(SHOAL_NS_PREFIX ":")))
			q += strlen(SHOAL_NS_PREFIX ":");
		p++;
		if (strncmp(q, tag, tlen) || q[tlen] != '>')
			continue;
		q += tlen + 1;
		end = strchr(q, '<');
		if (!end || (size_t)(end - q) >= outlen)
			return -1;
		memcpy(out, q, (size_t)(end - q));
		out[end - q] = '\0';
		return 0;
	}
	return -1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char why[100];

	return xen_parse_u64(s, strlen(s), v, why, sizeof(why));
}

/* Our metadata on a domain: the guest's name and instance; 0 if it has it and it is sound. */
static int read_meta(virDomainPtr dom, char *name, size_t namelen, uint64_t *instance,
                     uint64_t *boot_wall_ns)
{
	char *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SHOAL_NS, 0);
	char num[32];
	int rc = -1;

	if (!xml)
		return -1; /* not ours */
	if (meta_field(xml, "name", name, namelen) < 0 || !spec_name_ok(name)) {
		log_warnx("libvirt: domain %s has shoald's metadata without a guest name; left "
		          "alone",
		          virDomainGetName(dom));
		goto out;
	}
	if (meta_field(xml, "instance", num, sizeof(num)) < 0 || parse_u64(num, instance) < 0) {
		log_warnx("libvirt: domain %s (guest %s) has no sound instance in its metadata; "
		          "left alone",
		          virDomainGetName(dom), name);
		goto out;
	}
	*boot_wall_ns = 0;
	if (meta_field(xml, "boot-wall-ns", num, sizeof(num)) < 0 ||
	    parse_u64(num, boot_wall_ns) < 0)
		*boot_wall_ns = 0;
	rc = 0;
out:
	free(xml);
	return rc;
}

static int lv_adopt(struct backend *be)
{
	virDomainPtr *doms = NULL;
	int n, i, adopted = 0;

	n = virConnectListAllDomains(be->conn, &doms, 0);
	if (n < 0) {
		log_warnx("libvirt: cannot list domains: %s; none adopted",
		          virGetLastErrorMessage());
		return 0;
	}
	for (i = 0; i < n; i++) {
		char name[GUEST_NAME_MAX + 1];
		unsigned char uuid[VIR_UUID_BUFLEN];
		uint64_t instance, boot_wall_ns;
		struct be_found f = { 0 };
		int state = 0, reason = 0;
		struct guest *g;
		struct ldom *d;

		if (virDomainGetUUID(doms[i], uuid) < 0 || ldom_by_uuid(be, uuid) ||
		    read_meta(doms[i], name, sizeof(name), &instance, &boot_wall_ns) < 0) {
			virDomainFree(doms[i]);
			continue; /* not ours, or ours already */
		}
		if (virDomainGetState(doms[i], &state, &reason, 0) < 0)
			state = VIR_DOMAIN_NOSTATE;
		if (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED ||
		    state == VIR_DOMAIN_SHUTDOWN) {
			/*
			 * It ended while no shoald ran: said so once, and
			 * undefined, by the worker (as every destroy and undefine:
			 * a start with many such domains does not wait for libxl).
			 */
			if (state != VIR_DOMAIN_SHUTOFF)
				job_domain(be, LJ_DESTROY, NULL, doms[i], name);
			be->host.ended_while_away(be->host.ctx, name, instance, -1,
			                          state == VIR_DOMAIN_CRASHED
			                              ? "its domain crashed while no shoald ran"
			                              : "its domain ended while no shoald ran",
			                          NULL, 0);
			job_domain(be, LJ_UNDEFINE, NULL, doms[i], name);
			virDomainFree(doms[i]);
			continue;
		}
		f.name = name;
		f.instance = instance;
		f.pid = (int)virDomainGetID(doms[i]);
		f.boot_wall_ns = boot_wall_ns ? boot_wall_ns : now_wall_ns();
		f.paused = state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_USER;
		g = be->host.found(be->host.ctx, &f);
		d = ldom_new(be, g, doms[i]);
		if (!d) {
			log_warnx("libvirt: out of memory adopting domain %s",
			          virDomainGetName(doms[i]));
			virDomainFree(doms[i]);
			continue;
		}
		d->state = LD_RUNNING;
		d->instance = instance;
		d->boot_wall_ns = f.boot_wall_ns;
		if (!g) {
			/* The daemon does not know it: it goes, as a KVM tender would. */
			d->stop_requested = 1;
			ldom_end(d, -1, "not known to shoald");
			job_domain(be, LJ_DESTROY, d, d->dom, name);
			continue;
		}
		g->be = d;
		devs_find(d);
		exit_watch(d, 1);
		console_open(d);
		probe_begin(d);
		adopted++;
	}
	free(doms);
	be->adopted += (uint64_t)adopted;
	return adopted;
}

/* ---- set-up ---- */

/*
 * libvirtd went away (restarted, killed): its events stop with the
 * connection.  Said loudly; the guests keep running, and a restarted
 * shoald adopts them again.
 */
static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct backend *be = opaque;
	static const char *const why[] = { "an error", "end of file", "keepalive timeout",
		                           "a client's request" };

	(void)conn;
	be->closed = 1;
	log_warnx("libvirt: the connection to %s closed (%s): no more domain events; restart "
	          "shoald to take its guests back",
	          be->cfg->libvirt_uri,
	          reason >= 0 && reason < (int)(sizeof(why) / sizeof(why[0])) ? why[reason]
	                                                                      : "unknown");
}

/*
 * The worker ends after what is queued but creates (job_work).  A
 * domain it made that the loop did not hear of yet is resumed, so that it
 * runs and the next shoald adopts it.
 */
static void lv_worker_stop(struct backend *be)
{
	struct worker_job *left;

	if (be->worker.up)
		ev_timer_stop(be->loop, &be->stuck_w);
	left = worker_stop(&be->worker);
	while (left) {
		struct lv_job *j = WORKER_JOB(left, struct lv_job, link);

		left = left->next;
		if (j->kind == LJ_CREATE && j->rc == 0 && j->paused && virDomainResume(j->dom) < 0)
			log_warnx("libvirt: guest %s: cannot resume its new domain %d: %s", j->name,
			          j->id, virGetLastErrorMessage());
		job_free(j);
	}
}

static void lv_fini(struct backend *be)
{
	struct ldom *d;

	lv_worker_stop(be);
	if (be->lifecycle_id >= 0)
		virConnectDomainEventDeregisterAny(be->conn, be->lifecycle_id);
	virConnectUnregisterCloseCallback(be->conn, on_close);
	while ((d = be->doms)) {
		console_close(d);
		probe_end(d);
		exit_watch(d, 0);
		devs_leave(d);
		d->g = NULL;
		ldom_free(d);
	}
	virConnectClose(be->conn);
#ifdef HAVE_XEN
	xen_probes_close(be->probes);
	if (be->xs) {
		ev_io_stop(be->loop, &be->xs_w);
		xs_close(be->xs);
	}
#endif
	free(be);
}

static int lv_init(struct backend **out, struct ev_loop *loop, const struct shoald_config *cfg,
                   const struct backend_host *host, char *err, size_t errlen)
{
	unsigned long ver = 0;
	struct backend *be;
	const char *type;

	if (strncmp(cfg->libvirt_uri, "xen:", 4) && strncmp(cfg->libvirt_uri, "test:", 5))
		return be_fail(err, errlen,
		               "libvirt backend: libvirt-uri %s is not libvirt's Xen driver (xen:) "
		               "or its test driver (test:)",
		               cfg->libvirt_uri);
	if (lv_events_register(loop, err, errlen) < 0)
		return -1;
	be = calloc(1, sizeof(*be));
	if (!be)
		return be_fail(err, errlen, "libvirt backend: out of memory");
	be->loop = loop;
	be->cfg = cfg;
	be->host = *host;
	be->lifecycle_id = -1;
	be->conn = virConnectOpen(cfg->libvirt_uri);
	if (!be->conn) {
		be_fail(err, errlen, "libvirt backend: cannot connect to %s: %s%s",
		        cfg->libvirt_uri, virGetLastErrorMessage(),
		        strncmp(cfg->libvirt_uri, "test:", 5) ? " (is libvirtd running?)" : "");
		free(be);
		return -1;
	}
	type = virConnectGetType(be->conn);
	snprintf(be->hv_type, sizeof(be->hv_type), "%s", type ? type : "unknown");
	be->test_mode = !strcasecmp(be->hv_type, "test");
	if (!be->test_mode && strcasecmp(be->hv_type, "xen")) {
		be_fail(err, errlen, "libvirt backend: %s is a %s host, not Xen", cfg->libvirt_uri,
		        be->hv_type);
		goto fail;
	}
	if (!be->test_mode) {
#ifdef HAVE_XEN
		char why[200];

		/* XS_UNWATCH_FILTER: no event of a watch arrives after its xs_unwatch. */
		be->xs = xs_open(XS_UNWATCH_FILTER);
		if (!be->xs) {
			be_fail_errno(
			    err, errlen,
			    "libvirt backend: cannot connect to xenstored for the guests' "
			    "probe ports");
			goto fail;
		}
		ev_io_init(&be->xs_w, on_xs, xs_fileno(be->xs), EV_READ);
		be->xs_w.data = be;
		ev_io_start(loop, &be->xs_w);
		be->probes =
		    xen_probes_open(loop, be->xs, "libvirt", on_probe_answer, why, sizeof(why));
		if (!be->probes) {
			be_fail(err, errlen,
			        "libvirt backend: %s (probes need Xen's event channels)", why);
			goto fail;
		}
#else
		/* Probes go through the guest's event channel, which libvirt has no API for. */
		be_fail(err, errlen,
		        "libvirt backend: probing Xen domains needs libxenevtchn and libxenstore, "
		        "not built into this shoald (configure found no libxen-dev); only "
		        "libvirt's test driver (test:) runs");
		goto fail;
#endif
	}
	be->dom_type = be->test_mode ? "test" : "xen";
	if (virConnectGetLibVersion(be->conn, &ver) == 0)
		snprintf(be->version, sizeof(be->version), "%lu.%lu.%lu", ver / 1000000,
		         ver / 1000 % 1000, ver % 1000);
	be->lifecycle_id =
	    virConnectDomainEventRegisterAny(be->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	                                     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), be, NULL);
	if (be->lifecycle_id < 0) {
		be_fail(err, errlen, "libvirt backend: cannot register for domain events: %s",
		        virGetLastErrorMessage());
		goto fail;
	}
	/* A remote connection (libvirtd) that dies unseen would stop the events unseen. */
	if (!be->test_mode && virConnectSetKeepAlive(be->conn, 5, 3) < 0)
		log_warnx("libvirt: no keepalive on %s: %s", cfg->libvirt_uri,
		          virGetLastErrorMessage());
	if (virConnectRegisterCloseCallback(be->conn, on_close, be, NULL) < 0)
		log_warnx("libvirt: cannot watch the connection to %s: %s", cfg->libvirt_uri,
		          virGetLastErrorMessage());
	if (be->test_mode)
		log_warnx("libvirt backend: TEST MODE on %s: libvirt's test driver, whose domains "
		          "run nothing and cannot be probed",
		          cfg->libvirt_uri);
	if (lv_worker_start(be, err, errlen) < 0)
		goto fail;
	log_info("libvirt backend: %s (%s), libvirt %s", cfg->libvirt_uri, be->hv_type,
	         be->version);
	*out = be;
	return 0;
fail:
	if (be->lifecycle_id >= 0)
		virConnectDomainEventDeregisterAny(be->conn, be->lifecycle_id);
	virConnectClose(be->conn);
#ifdef HAVE_XEN
	xen_probes_close(be->probes);
	if (be->xs) {
		ev_io_stop(loop, &be->xs_w);
		xs_close(be->xs);
	}
#endif
	free(be);
	return -1;
}

const struct backend_ops backend_libvirt = {
	.name = "libvirt",
	.platform = SHOAL_PLATFORM_XEN_PV,
	.max_disks = BE_DISKS_MAX,
	.max_nics = BE_NICS_MAX,
	.init = lv_init,
	.fini = lv_fini,
	.adopt = lv_adopt,
	.start = lv_start,
	.stop = lv_stop,
	.pause = lv_pause,
	.set_affinity = lv_set_affinity,
	.set_weight = lv_set_weight,
	.set_batch = lv_set_batch,
	.placement_get = lv_placement_get,
	.cpu_time = lv_cpu_time,
	.placement_mechanism = lv_placement_mechanism,
	.probe_drain = lv_probe_drain,
	.probe = lv_probe,
	.probe_listen = lv_probe_listen,
	.stats = lv_stats,
	.dev_stats = lv_dev_stats,
	.net_rate = 1,
};
