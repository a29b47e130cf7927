/*
 * The libvirt backend (daemon/backend/libvirt.c) against libvirt's test
 * driver (test:///default), which runs in this process: the domain XML
 * shoald writes, read back through libvirt (fields, shoald's metadata,
 * hostile arguments and paths escaped, control characters refused);
 * libvirt's events on libev (a domain destroyed from outside, through a
 * second connection as virsh would, reaches exited() through the lifecycle
 * event and is undefined); stop, pause and resume; pinning and weights
 * read back; adoption by metadata after the backend is set up again
 * (shoald's domains found, paused ones said so, others left alone, one
 * that ended meanwhile reported and undefined, one the daemon does not
 * know destroyed); refusals with libvirt's own error text; a create made
 * slow does not hold the loop (libvirt's slow calls are the backend's
 * worker thread's).
 *
 * What this cannot show: the test driver's domains run nothing (no
 * console, no event channel, no guest's own end), and it is not Xen
 * (tests/xen runs the backend on libvirt's Xen driver).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <ev.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/xen_parse.h"
#include "daemon/daemon.h"

#define NS "urn:x-shoal:guest:1"

static struct ev_loop *loop;
static struct shoald_config cfg;

/*
 * A create made slow: libvirt.c's calls of virDomainCreateWithFlags come
 * here (this program's definition comes before libvirt's), and while
 * slow.armed is set it waits until the loop lets it go (a timer of the
 * test), 5 s at most.  Were the create made on the loop, that timer could
 * not fire while it waits, and it would go on after the 5 s on its own.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int armed, let_go, waited, let_go_by_loop;
} slow = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

int virDomainCreateWithFlags(virDomainPtr dom, unsigned int flags)
{
	static int (*real)(virDomainPtr, unsigned int);

	if (!real) {
		void *p = dlsym(RTLD_NEXT, "virDomainCreateWithFlags");

		assert_non_null(p);
		memcpy(&real, &p, sizeof(real));
	}
	pthread_mutex_lock(&slow.mu);
	if (slow.armed) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		slow.waited = 1;
		while (!slow.let_go && pthread_cond_timedwait(&slow.cv, &slow.mu, &until) == 0)
			;
		slow.let_go_by_loop = slow.let_go;
		slow.armed = 0;
	}
	pthread_mutex_unlock(&slow.mu);
	return real(dom, flags);
}
static virConnectPtr outside; /* as virsh would be; also keeps the test driver's state */

/* What the backend told the daemon. */
static struct {
	struct guest *started, *exited, *failed;
	int status;
	char reason[512];
	unsigned nfound, naway;
	char found_name[8][64];
	uint64_t found_instance[8];
	int found_paused[8];
	char away_name[64];
} seen;

/* The guests the daemon knows, by name, for found(). */
static struct {
	const char *name;
	struct guest *g;
} known[4];

static void h_started(struct guest *g, int pid, int tid, uint64_t t)
{
	(void)pid;
	(void)tid;
	(void)t;
	seen.started = g;
}

static void h_start_failed(struct guest *g, int http, const char *reason)
{
	(void)http;
	seen.failed = g;
	snprintf(seen.reason, sizeof(seen.reason), "%s", reason);
}

static void h_exited(struct guest *g, int status, const char *reason)
{
	seen.exited = g;
	seen.status = status;
	snprintf(seen.reason, sizeof(seen.reason), "%s", reason);
}

static uint64_t h_console(struct guest *g, const char *data, size_t len)
{
	(void)g;
	(void)data;
	(void)len;
	return 0;
}

static uint64_t h_probe_answer(struct guest *g, uint64_t now, uint64_t n)
{
	(void)g;
	(void)now;
	(void)n;
	return 0;
}

static struct guest *h_found(void *ctx, const struct be_found *f)
{
	unsigned i = seen.nfound++;

	(void)ctx;
	print_message("found() %s\n", f->name);
	assert_true(i < 8);
	snprintf(seen.found_name[i], sizeof(seen.found_name[i]), "%s", f->name);
	seen.found_instance[i] = f->instance;
	seen.found_paused[i] = f->paused;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].name && !strcmp(known[i].name, f->name))
			return known[i].g;
	return NULL;
}

static void h_away(void *ctx, const char *name, uint64_t instance, int status, const char *reason,
                   const char *console, size_t len)
{
	(void)ctx;
	(void)instance;
	(void)status;
	(void)reason;
	(void)console;
	(void)len;
	seen.naway++;
	snprintf(seen.away_name, sizeof(seen.away_name), "%s", name);
}

static const struct backend_host host = {
	.started = h_started,
	.start_failed = h_start_failed,
	.exited = h_exited,
	.console = h_console,
	.probe_answer = h_probe_answer,
	.found = h_found,
	.ended_while_away = h_away,
};

static void on_deadline(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ONE);
}

/* Runs the loop until *what is set, or 10 s (a guard against a hang, not a measure). */
static int run_until(struct guest *const *what)
{
	ev_timer deadline;

	ev_timer_init(&deadline, on_deadline, 10., 0.);
	ev_timer_start(loop, &deadline);
	while (!*what && ev_is_active(&deadline))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &deadline);
	return *what != NULL;
}

static struct backend *be_up(void)
{
	struct backend *be = NULL;
	char err[512];

	if (backend_libvirt.init(&be, loop, &cfg, &host, err, sizeof(err)) < 0)
		fail_msg("init: %s", err);
	return be;
}

static struct guest *test_guest(const char *name)
{
	struct guest *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	snprintf(g->name, sizeof(g->name), "%s", name);
	return g;
}

static char *args_plain[] = { "x", "y z" };

static void req_init(struct be_start *r, uint64_t instance)
{
	memset(r, 0, sizeof(*r));
	r->image_path = "/var/lib/shoal/images/idle.xen-pv";
	r->memory_mib = 16;
	r->vcpus = 1;
	r->nargs = 2;
	r->args = args_plain;
	r->instance = instance;
}

/* Starts g; returns once started() came. */
static void start_ok(struct backend *be, struct guest *g, const struct be_start *r)
{
	char err[512];

	memset(&seen, 0, sizeof(seen));
	if (backend_libvirt.start(be, g, r, err, sizeof(err)) < 0)
		fail_msg("start %s: %s", g->name, err);
	assert_true(run_until(&seen.started));
	assert_ptr_equal(seen.started, g);
}

static int defined(const char *name)
{
	virDomainPtr d = virDomainLookupByName(outside, name);

	if (!d)
		return 0;
	virDomainFree(d);
	return 1;
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

/*
 * Runs the loop until libvirt has no domain of that name (its undefine
 * is the worker's, after the end was reported), or 10 s.
 */
static int undefined_soon(const char *name)
{
	ev_timer deadline, tick;

	ev_timer_init(&deadline, on_deadline, 10., 0.);
	ev_timer_start(loop, &deadline);
	ev_timer_init(&tick, on_tick, 0.005, 0.005);
	ev_timer_start(loop, &tick);
	while (defined(name) && ev_is_active(&deadline))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	ev_timer_stop(loop, &deadline);
	return !defined(name);
}

/* The text of the first <tag>...</tag> in xml, entities undone; malloc'd. */
static char *xml_text(const char *xml, const char *tag)
{
	char open[64], close[64], *out, *o;
	const char *p, *e;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	p = strstr(xml, open);
	assert_non_null(p);
	p += strlen(open);
	e = strstr(p, close);
	assert_non_null(e);
	out = o = calloc(1, (size_t)(e - p) + 1);
	while (p < e) {
		static const struct {
			const char *ent;
			char c;
		} ents[] = { { "&lt;", '<' },
			     { "&gt;", '>' },
			     { "&amp;", '&' },
			     { "&quot;", '"' },
			     { "&apos;", '\'' } };
		size_t i;

		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (!strncmp(p, ents[i].ent, strlen(ents[i].ent)))
				break;
		if (i < sizeof(ents) / sizeof(ents[0])) {
			*o++ = ents[i].c;
			p += strlen(ents[i].ent);
		} else {
			*o++ = *p++;
		}
	}
	return out;
}

static void xml_fields_and_escaping(void **state)
{
	static char *hostile[] = { "</cmdline><kernel>/evil</kernel>", "a&b", "'\"<>" };
	struct backend *be = be_up();
	struct guest *g = test_guest("xml-1");
	char want[XEN_CMDLINE_MAX], why[200], *xml, *t, err[512];
	struct be_start r;
	virDomainPtr d;

	(void)state;
	req_init(&r, 7);
	r.memory_mib = 24;
	r.vcpus = 2;
	r.nargs = 3;
	r.args = hostile;
	r.ndisks = 1;
	r.disks[0].name = "data";
	r.disks[0].path = "/var/lib/shoal/disks/it's<&>.img";
	r.disks[0].readonly = 1;
	r.nnics = 1;
	r.nics[0].name = "net0";
	r.nics[0].bridge = "br-shoal";
	memcpy(r.nics[0].mac, "\x02\x00\x5e\x10\x20\x30", 6);
	r.net_rate_bytes = 1000000; /* 976 whole KiB a second, on what the guest sends */
	start_ok(be, g, &r);

	d = virDomainLookupByName(outside, "xml-1");
	assert_non_null(d);
	xml = virDomainGetXMLDesc(d, 0);
	assert_non_null(xml);
	print_message("%s", xml);
	assert_non_null(strstr(xml, "<memory unit='KiB'>24576</memory>"));
	assert_non_null(strstr(xml, ">2</vcpu>"));
	t = xml_text(xml, "kernel");
	assert_string_equal(t, "/var/lib/shoal/images/idle.xen-pv");
	free(t);
	/* The arguments come back as they went in: no element of theirs got in. */
	assert_int_equal(xen_cmdline_build(want, sizeof(want), 3, hostile, why, sizeof(why)), 0);
	t = xml_text(xml, "cmdline");
	assert_string_equal(t, want);
	free(t);
	assert_null(strstr(xml, "/evil</kernel>"));
	assert_non_null(strstr(xml, "it&apos;s&lt;&amp;&gt;.img"));
	assert_non_null(strstr(xml, "<readonly/>"));
	assert_non_null(strstr(xml, "<source bridge='br-shoal'/>"));
	assert_non_null(strstr(xml, "<mac address='02:00:5e:10:20:30'/>"));
	assert_non_null(strstr(xml, "<outbound average='976'/>"));
	assert_null(strstr(xml, "<inbound"));
	free(xml);
	/* shoald's metadata, under its namespace. */
	xml = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, NS, 0);
	assert_non_null(xml);
	t = xml_text(xml, "name");
	assert_string_equal(t, "xml-1");
	free(t);
	t = xml_text(xml, "instance");
	assert_string_equal(t, "7");
	free(t);
	free(xml);
	virDomainFree(d);

	/* A control character has no place in the XML: refused, nothing defined. */
	{
		struct guest *g2 = test_guest("xml-2");

		req_init(&r, 8);
		r.ndisks = 1;
		r.disks[0].name = "data";
		r.disks[0].path = "/tmp/a\nb";
		assert_int_equal(backend_libvirt.start(be, g2, &r, err, sizeof(err)), -1);
		print_message("refused: %s\n", err);
		assert_non_null(strstr(err, "a disk's path holds control character 0x0a"));
		assert_false(defined("xml-2"));
		free(g2);
	}

	assert_int_equal(backend_libvirt.stop(be, g, err, sizeof(err)), 0);
	assert_true(run_until(&seen.exited));
	assert_true(undefined_soon("xml-1"));
	backend_libvirt.fini(be);
	free(g);
}

/* virsh destroy, as it were: the event reaches exited() and the domain is undefined. */
static void destroyed_outside(void **state)
{
	struct backend *be = be_up();
	struct guest *g = test_guest("ev-1");
	struct be_start r;
	virDomainPtr d;
	ev_tstamp t0;

	(void)state;
	req_init(&r, 3);
	start_ok(be, g, &r);
	d = virDomainLookupByName(outside, "ev-1");
	assert_non_null(d);
	t0 = ev_time();
	assert_int_equal(virDomainDestroy(d), 0);
	virDomainFree(d);
	assert_true(run_until(&seen.exited));
	print_message("exited() %.1f ms after the destroy: %s\n", (ev_time() - t0) * 1e3,
	              seen.reason);
	assert_ptr_equal(seen.exited, g);
	assert_int_equal(seen.status, -1);
	assert_non_null(strstr(seen.reason, "destroyed outside shoald"));
	assert_null(g->be);
	assert_true(undefined_soon("ev-1"));
	backend_libvirt.fini(be);
	free(g);
}

static void on_let_go(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&slow.mu);
	slow.let_go = 1;
	pthread_cond_signal(&slow.cv);
	pthread_mutex_unlock(&slow.mu);
}

/*
 * A create that waits (virDomainCreateWithFlags above) does not hold the
 * loop: start() returns at once, the loop's timer lets the create go,
 * and started() follows from the loop.
 */
static void slow_create_off_loop(void **state)
{
	struct backend *be = be_up();
	struct guest *g = test_guest("slow-1");
	struct be_start r;
	ev_timer let_go;
	char err[512];

	(void)state;
	req_init(&r, 21);
	memset(&seen, 0, sizeof(seen));
	pthread_mutex_lock(&slow.mu);
	slow.armed = 1;
	slow.let_go = slow.waited = slow.let_go_by_loop = 0;
	pthread_mutex_unlock(&slow.mu);
	ev_timer_init(&let_go, on_let_go, 0.05, 0.);
	ev_timer_start(loop, &let_go);
	assert_int_equal(backend_libvirt.start(be, g, &r, err, sizeof(err)), 0);
	assert_true(run_until(&seen.started));
	ev_timer_stop(loop, &let_go);
	pthread_mutex_lock(&slow.mu);
	print_message("the create waited: %d; let go by the loop's timer: %d\n", slow.waited,
	              slow.let_go_by_loop);
	assert_true(slow.waited);
	assert_true(slow.let_go_by_loop);
	pthread_mutex_unlock(&slow.mu);
	assert_ptr_equal(seen.started, g);
	assert_int_equal(backend_libvirt.stop(be, g, err, sizeof(err)), 0);
	assert_true(run_until(&seen.exited));
	assert_true(undefined_soon("slow-1"));
	backend_libvirt.fini(be);
	free(g);
}

static void stop_pause_place(void **state)
{
	struct backend *be = be_up();
	struct guest *g = test_guest("pp-1");
	struct be_placement pl;
	unsigned char map[1];
	char err[512];
	struct be_start r;
	virDomainPtr d;
	cpu_set_t cpus;
	int st, reason;

	(void)state;
	req_init(&r, 4);
	start_ok(be, g, &r);
	d = virDomainLookupByName(outside, "pp-1");
	assert_non_null(d);

	assert_int_equal(backend_libvirt.pause(be, g, 1, err, sizeof(err)), 0);
	assert_int_equal(virDomainGetState(d, &st, &reason, 0), 0);
	assert_int_equal(st, VIR_DOMAIN_PAUSED);
	assert_int_equal(backend_libvirt.pause(be, g, 0, err, sizeof(err)), 0);
	assert_int_equal(virDomainGetState(d, &st, &reason, 0), 0);
	assert_int_equal(st, VIR_DOMAIN_RUNNING);
	/* libvirt's own words for a resume of a running domain. */
	assert_int_equal(backend_libvirt.pause(be, g, 0, err, sizeof(err)), -1);
	print_message("refused: %s\n", err);
	assert_non_null(strstr(err, "libvirt cannot resume domain pp-1: "));
	assert_non_null(strstr(err, "not paused"));

	CPU_ZERO(&cpus);
	CPU_SET(1, &cpus);
	assert_int_equal(backend_libvirt.set_affinity(be, g, &cpus, err, sizeof(err)), 0);
	assert_int_equal(backend_libvirt.set_weight(be, g, 300, err, sizeof(err)), 0);
	assert_int_equal(backend_libvirt.placement_get(be, g, &pl, err, sizeof(err)), 0);
	assert_true(CPU_ISSET(1, &pl.cpus));
	assert_false(CPU_ISSET(0, &pl.cpus));
	/*
	 * The test driver takes a weight but keeps none: it always says 50,
	 * read back on the cgroup scale (Xen's 256 is 100).
	 */
	assert_int_equal(pl.weight, 20);
	/* As virsh vcpupin would show it. */
	assert_int_equal(virDomainGetVcpuPinInfo(d, 1, map, 1, 0), 1);
	assert_int_equal(map[0], 0x2);
	assert_int_equal(backend_libvirt.set_batch(be, g, 1, err, sizeof(err)), -1);

	assert_int_equal(backend_libvirt.stop(be, g, err, sizeof(err)), 0);
	assert_true(run_until(&seen.exited));
	assert_non_null(strstr(seen.reason, "destroyed on request"));
	assert_true(undefined_soon("pp-1"));
	/* No domain any more: a clear refusal, not a crash. */
	assert_int_equal(backend_libvirt.pause(be, g, 1, err, sizeof(err)), -1);
	virDomainFree(d);
	backend_libvirt.fini(be);
	free(g);
}

/* A name libvirt already has for a domain not shoald's: libvirt's refusal, its domain kept. */
static void refusal_text(void **state)
{
	struct backend *be = be_up();
	struct guest *g = test_guest("taken");
	virDomainPtr other;
	struct be_start r;
	char err[512], *m;

	(void)state;
	other = virDomainDefineXML(outside, "<domain type='test'><name>taken</name>"
	                                    "<memory>8192</memory><os><type>hvm</type></os>"
	                                    "</domain>");
	assert_non_null(other);
	req_init(&r, 5);
	memset(&seen, 0, sizeof(seen));
	/* The define is the worker's: its refusal comes as start_failed(). */
	assert_int_equal(backend_libvirt.start(be, g, &r, err, sizeof(err)), 0);
	assert_true(run_until(&seen.failed));
	print_message("refused: %s\n", seen.reason);
	assert_non_null(strstr(seen.reason, "libvirt cannot define domain taken: "));
	assert_non_null(strstr(seen.reason, "already exists"));
	assert_null(g->be);
	/* Still the other's, without shoald's metadata. */
	m = virDomainGetMetadata(other, VIR_DOMAIN_METADATA_ELEMENT, NS, 0);
	assert_null(m);
	assert_int_equal(virDomainUndefine(other), 0);
	virDomainFree(other);
	backend_libvirt.fini(be);
	free(g);
}

static void adoption(void **state)
{
	struct guest *a = test_guest("ad-a"), *b = test_guest("ad-b"), *c = test_guest("ad-c");
	struct guest *d = test_guest("ad-d"), *again = test_guest("ad-a");
	struct backend *be = be_up();
	struct be_start r;
	virDomainPtr other, dd;
	char err[512];
	unsigned i;
	int st, reason;

	(void)state;
	req_init(&r, 11);
	start_ok(be, a, &r);
	req_init(&r, 12);
	start_ok(be, b, &r);
	assert_int_equal(backend_libvirt.pause(be, b, 1, err, sizeof(err)), 0);
	req_init(&r, 13);
	start_ok(be, c, &r);
	req_init(&r, 14);
	start_ok(be, d, &r);
	/* shoald goes; its domains keep running. */
	backend_libvirt.fini(be);
	assert_true(defined("ad-a") && defined("ad-b") && defined("ad-c") && defined("ad-d"));
	/* Meanwhile: ad-c is destroyed, a domain not shoald's comes. */
	dd = virDomainLookupByName(outside, "ad-c");
	assert_int_equal(virDomainDestroy(dd), 0);
	virDomainFree(dd);
	other = virDomainDefineXML(outside, "<domain type='test'><name>someone</name>"
	                                    "<memory>8192</memory><os><type>hvm</type></os>"
	                                    "</domain>");
	assert_non_null(other);
	assert_int_equal(virDomainCreate(other), 0);

	memset(&seen, 0, sizeof(seen));
	/* The daemon knows ad-a and ad-b, not ad-d. */
	known[0].name = "ad-a";
	known[0].g = again;
	known[1].name = "ad-b";
	known[1].g = b;
	be = be_up();
	assert_int_equal(backend_libvirt.adopt(be), 2);
	assert_int_equal(seen.nfound, 3);
	for (i = 0; i < seen.nfound; i++) {
		print_message("found %s instance %llu paused %d\n", seen.found_name[i],
		              (unsigned long long)seen.found_instance[i], seen.found_paused[i]);
		assert_true(!strcmp(seen.found_name[i], "ad-a") ||
		            !strcmp(seen.found_name[i], "ad-b") ||
		            !strcmp(seen.found_name[i], "ad-d"));
		if (!strcmp(seen.found_name[i], "ad-a"))
			assert_int_equal(seen.found_instance[i], 11);
		if (!strcmp(seen.found_name[i], "ad-b"))
			assert_int_equal(seen.found_paused[i], 1);
		if (!strcmp(seen.found_name[i], "ad-a") || !strcmp(seen.found_name[i], "ad-d"))
			assert_int_equal(seen.found_paused[i], 0);
	}
	assert_int_equal(seen.naway, 1);
	assert_string_equal(seen.away_name, "ad-c");
	/* Both by the worker: adoption waits for no destroy or undefine. */
	assert_true(undefined_soon("ad-c"));
	assert_true(undefined_soon("ad-d")); /* not known to the daemon: it went */
	/* Others' domains are left alone. */
	assert_int_equal(virDomainGetState(other, &st, &reason, 0), 0);
	assert_int_equal(st, VIR_DOMAIN_RUNNING);
	assert_true(defined("test"));
	/* The adopted guests are driven as before. */
	assert_non_null(again->be);
	assert_int_equal(backend_libvirt.pause(be, b, 0, err, sizeof(err)), 0);
	memset(&seen, 0, sizeof(seen));
	dd = virDomainLookupByName(outside, "ad-a");
	assert_int_equal(virDomainDestroy(dd), 0);
	virDomainFree(dd);
	assert_true(run_until(&seen.exited));
	assert_ptr_equal(seen.exited, again);
	assert_true(undefined_soon("ad-a"));
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(backend_libvirt.stop(be, b, err, sizeof(err)), 0);
	assert_true(run_until(&seen.exited));
	assert_true(undefined_soon("ad-b"));

	virDomainDestroy(other);
	virDomainUndefine(other);
	virDomainFree(other);
	backend_libvirt.fini(be);
	free(a);
	free(b);
	free(c);
	free(d);
	free(again);
}

/* Set-up refusals say which connection and why, in libvirt's words. */
static void init_refusals(void **state)
{
	struct shoald_config bad = cfg;
	struct backend *be = NULL;
	char err[512];

	(void)state;
	snprintf(bad.libvirt_uri, sizeof(bad.libvirt_uri), "qemu:///system");
	assert_int_equal(backend_libvirt.init(&be, loop, &bad, &host, err, sizeof(err)), -1);
	print_message("refused: %s\n", err);
	assert_non_null(strstr(err, "qemu:///system is not libvirt's Xen driver"));
	snprintf(bad.libvirt_uri, sizeof(bad.libvirt_uri), "test:///nonexistent/shoal.xml");
	assert_int_equal(backend_libvirt.init(&be, loop, &bad, &host, err, sizeof(err)), -1);
	print_message("refused: %s\n", err);
	assert_non_null(strstr(err, "cannot connect to test:///nonexistent/shoal.xml: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xml_fields_and_escaping),
		cmocka_unit_test(destroyed_outside),
		cmocka_unit_test(stop_pause_place),
		cmocka_unit_test(refusal_text),
		cmocka_unit_test(adoption),
		cmocka_unit_test(init_refusals),
		cmocka_unit_test(slow_create_off_loop),
	};
	int rc;

	loop = EV_DEFAULT;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.libvirt_uri, sizeof(cfg.libvirt_uri), "test:///default");
	{
		/* The backend registers libvirt's events before any connection opens. */
		struct backend *be = be_up();

		outside = virConnectOpen("test:///default");
		assert_non_null(outside);
		backend_libvirt.fini(be);
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	virConnectClose(outside);
	return rc;
}
