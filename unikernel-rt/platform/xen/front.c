/*
 * Device front-ends on Xen, shared by xen-pv and xen-pvh: the device
 * table from xenstore (device/vif/N, device/vbd/N and the keys the
 * toolstack writes there), the grant table through which the rings and
 * the buffers are shared, and the xenbus handshake with each device's
 * back-end (netback, blkback) when the core opens it (core/netdev.c,
 * core/blk.c drive the rings themselves, as on KVM).
 *
 * Everything read from xenstore is checked (length, number, state); a
 * bad value leaves that device out, with a console line naming the key,
 * and the guest goes on without it.  The table is read on first use, so
 * a guest that never looks for a device never pays for the look-up.
 */
#include "front_parse.h"
#include "xen.h"

#define PAGE          4096u
#define GNT_FRAMES    4u /* 2048 entries: 4 NICs (66 each) and 8 disks (353 each) in flight */
#define GNT_PER_FRAME (PAGE / sizeof(struct xen_grant_entry_v1))
#define GNT_MAX       (GNT_FRAMES * GNT_PER_FRAME)
#define SECTOR        512u /* a blkif sector number's unit */
#define VBD_MAX       8u
#define VIF_MAX       4u
#define VAL_MAX       128u
#define XS_PATH_MAX   192u
#define CONNECT_NS    (10 * 1000000000ull) /* a back-end's time to reach Connected */
#define POLL_NS       (20 * 1000000ull)
#define TX_TRIES      8
#define NET_MTU       1500

/* What the table entry does not say about a device: where its peer is. */
struct front {
	char dir[32];          /* "device/vif/0" */
	char backend[VAL_MAX]; /* the back-end's directory */
	uint16_t backend_id;   /* its domain */
	uint32_t ring_ref[2];  /* granted while connected */
};

static struct shoal_device table[SHOAL_DEVICES_MAX];
static struct front fronts[SHOAL_DEVICES_MAX];
static unsigned ndevices;
static int discovered;

static volatile struct xen_grant_entry_v1 *gnt;
static uint32_t gnt_entries;
static uint16_t gnt_free[GNT_MAX];
static unsigned gnt_nfree;
static uint8_t gnt_used[GNT_MAX];
static uint64_t gnt_stuck;

/* ---- console lines ---------------------------------------------------- */

/* At most 40 bytes of a value from outside, printable ASCII only. */
static const char *shown(const char *v, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; v[i] && i < cap - 4 && i < 40; i++)
		buf[i] = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' ? v[i] : '?';
	if (v[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* "xen: device/vif/0: left out: KEY "VALUE" WHY". */
static void bad_value(const struct front *f, const char *key, const char *val, const char *why)
{
	char v[48];

	rt_printf("xen: %s: left out: %s \"%s\" %s\n", f->dir, key, shown(val, v, sizeof(v)), why);
}

/* ---- xenstore values ---------------------------------------------------- */

/*
 * dir/key into val (cap bytes): its length, or -1 with the console line
 * (absent, too long, a NUL inside).  absent_ok: an absent key is 0 with
 * val empty, and no line.
 */
static long read_key(const struct front *f, const char *dir, const char *key, char *val, size_t cap,
                     int absent_ok)
{
	char path[XS_PATH_MAX];
	long n;

	rt_snprintf(path, sizeof(path), "%s/%s", dir, key);
	n = xen__xs_read(0, path, val, cap);
	if (n >= 0 || (n == XEN_XS_EABSENT && absent_ok)) {
		if (n < 0)
			val[0] = '\0';
		return n < 0 ? 0 : n;
	}
	if (n == XEN_XS_EABSENT)
		rt_printf("xen: %s: left out: %s is missing (or not readable)\n", f->dir, path);
	else if (n == XEN_XS_ETOOLONG)
		rt_printf("xen: %s: left out: %s is longer than %u bytes\n", f->dir, path,
		          (unsigned)cap - 1);
	else
		rt_printf("xen: %s: left out: %s holds a NUL byte\n", f->dir, path);
	return -1;
}

/* A back-end's state (0..8); -1 with the console line when it is not one. */
static int backend_state(const struct front *f)
{
	char val[16];
	uint64_t v;

	if (read_key(f, f->backend, "state", val, sizeof(val), 0) < 0)
		return -1;
	if (xen__parse_u64(val, 8, &v) < 0) {
		bad_value(f, "the back-end's state", val, "is not a xenbus state");
		return -1;
	}
	return (int)v;
}

/* ---- the grant table ---------------------------------------------------- */

static int gnt_init(void)
{
	unsigned frames = GNT_FRAMES, k;

	if (gnt)
		return 0;
	gnt = xen__gnttab_map(&frames);
	if (!gnt)
		return -1;
	gnt_entries = frames * GNT_PER_FRAME;
	for (k = gnt_entries; k-- > XEN_GNTTAB_NR_RESERVED;)
		gnt_free[gnt_nfree++] = (uint16_t)k;
	return 0;
}

/* A reference that lets domain dom at page (read-only unless writable); 0 when none is left. */
static uint32_t gnt_grant(uint16_t dom, const void *page, int writable)
{
	uint64_t frame = xen__frame(page);
	uint32_t ref;

	if (!gnt_nfree || !frame || frame > UINT32_MAX)
		return 0;
	ref = gnt_free[--gnt_nfree];
	gnt_used[ref] = 1;
	gnt[ref].frame = (uint32_t)frame;
	gnt[ref].domid = dom;
	__asm__ volatile("" ::: "memory"); /* Xen reads flags first: they go last */
	gnt[ref].flags = (uint16_t)(XEN_GTF_permit_access | (writable ? 0 : XEN_GTF_readonly));
	return ref;
}

/*
 * End the grant: only once Xen says the grantee has no mapping of it
 * (GTF_reading, GTF_writing), atomically against Xen setting them.  A
 * page still mapped stays granted (and out of use) for good: a back-end
 * that answers before it unmaps is not one Linux ships.
 */
static void gnt_end(uint32_t ref)
{
	volatile uint16_t *flags;
	uint16_t old;

	if (ref < XEN_GNTTAB_NR_RESERVED || ref >= gnt_entries || !gnt_used[ref])
		return;
	flags = &gnt[ref].flags;
	old = *flags;
	do {
		if (old & (XEN_GTF_reading | XEN_GTF_writing)) {
			if (gnt_stuck++ == 0)
				rt_printf("xen: grant %u is still mapped by domain %u after its "
				          "answer: left granted\n",
				          (unsigned)ref, (unsigned)gnt[ref].domid);
			return;
		}
	} while (
	    !__atomic_compare_exchange_n(flags, &old, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	gnt_used[ref] = 0;
	gnt_free[gnt_nfree++] = (uint16_t)ref;
}

uint32_t plat_grant(unsigned i, const void *page, int host_writes)
{
	if (i >= ndevices)
		return 0;
	return gnt_grant(fronts[i].backend_id, page, host_writes);
}

void plat_grant_end(unsigned i, uint32_t ref)
{
	(void)i;
	gnt_end(ref);
}

/* ---- discovery ---------------------------------------------------------- */

static int name_taken(uint32_t kind, const char *name)
{
	unsigned k;

	for (k = 0; k < ndevices; k++)
		if (table[k].kind == kind && !strcmp(table[k].name, name))
			return 1;
	return 0;
}

/* vif: mac, shoal-ipv4 ("A.B.C.D/P", optional), shoal-gateway ("A.B.C.D", optional). */
static int read_net(const struct front *f, struct shoal_device *d)
{
	char val[VAL_MAX];
	uint8_t a[4];

	if (read_key(f, f->dir, "mac", val, sizeof(val), 0) < 0)
		return -1;
	if (xen__parse_mac(val, d->u.net.mac) < 0) {
		bad_value(f, "mac", val, "is not a unicast aa:bb:cc:dd:ee:ff");
		return -1;
	}
	d->u.net.mtu = NET_MTU;
	if (read_key(f, f->dir, "shoal-ipv4", val, sizeof(val), 1) < 0)
		return -1;
	if (val[0]) {
		if (xen__parse_ipv4_prefix(val, a, &d->u.net.prefix_len) < 0) {
			bad_value(f, "shoal-ipv4", val, "is not A.B.C.D/P");
			return -1;
		}
		memcpy(&d->u.net.ipv4, a, 4);
	}
	if (read_key(f, f->dir, "shoal-gateway", val, sizeof(val), 1) < 0)
		return -1;
	if (val[0]) {
		if (xen__parse_ipv4(val, a) < 0) {
			bad_value(f, "shoal-gateway", val, "is not A.B.C.D");
			return -1;
		}
		memcpy(&d->u.net.gateway, a, 4);
	}
	return 0;
}

/* Device id of kind ("vif", "vbd") into the next table entry, or left out with its reason. */
static void add_device(const char *kind, uint32_t shoal_kind, uint32_t id)
{
	struct shoal_device *d = &table[ndevices];
	struct front *f = &fronts[ndevices];
	struct xen_evtchn_alloc_unbound a;
	char val[VAL_MAX];
	uint64_t v;
	long r;

	memset(d, 0, sizeof(*d));
	memset(f, 0, sizeof(*f));
	rt_snprintf(f->dir, sizeof(f->dir), "device/%s/%u", kind, (unsigned)id);
	if (read_key(f, f->dir, "backend", f->backend, sizeof(f->backend), 0) < 0)
		return;
	if (xen__parse_path(f->backend) < 0) {
		bad_value(f, "backend", f->backend, "is not an absolute xenstore path");
		return;
	}
	if (read_key(f, f->dir, "backend-id", val, sizeof(val), 0) < 0)
		return;
	if (xen__parse_u64(val, XEN_DOMID_SELF - 1, &v) < 0) {
		bad_value(f, "backend-id", val, "is not a domain id");
		return;
	}
	f->backend_id = (uint16_t)v;
	if (read_key(f, f->dir, "shoal-name", d->name, sizeof(d->name), 0) < 0)
		return;
	if (xen__parse_name(d->name) < 0) {
		bad_value(f, "shoal-name", d->name, "is not a name (printable, no spaces)");
		return;
	}
	if (name_taken(shoal_kind, d->name)) {
		bad_value(f, "shoal-name", d->name, "is another device's name already");
		return;
	}
	d->kind = shoal_kind;
	if (shoal_kind == SHOAL_DEV_NET && read_net(f, d) < 0)
		return;
	if (shoal_kind == SHOAL_DEV_BLOCK)
		d->u.blk.sector_size = SECTOR; /* the size comes with Connected */

	a = (struct xen_evtchn_alloc_unbound){ XEN_DOMID_SELF, f->backend_id, 0 };
	r = xen__hc2(XEN_HC_event_channel_op, XEN_EVTCHNOP_alloc_unbound, (uintptr_t)&a);
	if (r != 0 || a.port == 0 || a.port >= 64) {
		struct xen_evtchn_close c = { a.port };

		if (r == 0)
			xen__hc2(XEN_HC_event_channel_op, XEN_EVTCHNOP_close, (uintptr_t)&c);
		rt_printf("xen: %s: left out: no event channel to domain %u (%ld, port %u)\n",
		          f->dir, (unsigned)f->backend_id, r, (unsigned)a.port);
		return;
	}
	d->port = a.port;
	ndevices++;
}

/* device/KIND/N for every N, in number order, at most max of them. */
static void discover_kind(const char *kind, uint32_t shoal_kind, unsigned max)
{
	char list[1024], path[32], v[48];
	uint32_t ids[VBD_MAX];
	unsigned nid = 0, k;
	const char *p;
	long n;

	rt_snprintf(path, sizeof(path), "device/%s", kind);
	n = xen__xs_directory(path, list, sizeof(list));
	if (n == XEN_XS_EABSENT)
		return;
	if (n < 0) {
		rt_printf("xen: %s: the list of devices is longer than %u bytes: none used\n", path,
		          (unsigned)sizeof(list) - 1);
		return;
	}
	for (p = list; p < list + n; p += strlen(p) + 1) {
		uint64_t id;

		if (!*p)
			continue;
		if (xen__parse_u64(p, UINT32_MAX, &id) < 0) {
			rt_printf("xen: %s/%s: left out: not a device number\n", path,
			          shown(p, v, sizeof(v)));
			continue;
		}
		if (nid == max) {
			rt_printf("xen: %s/%u: left out: a guest has at most %u of these\n", path,
			          (unsigned)id, max);
			continue;
		}
		for (k = nid++; k > 0 && ids[k - 1] > id; k--)
			ids[k] = ids[k - 1];
		ids[k] = (uint32_t)id;
	}
	for (k = 0; k < nid && ndevices < SHOAL_DEVICES_MAX; k++)
		add_device(kind, shoal_kind, ids[k]);
}

const struct shoal_device *plat_devices(unsigned *n)
{
	char probe[8];

	if (!discovered) {
		discovered = 1;
		/* One look for the common case, a guest with no devices at all. */
		if (xen__xs_directory("device", probe, sizeof(probe)) != XEN_XS_EABSENT) {
			if (gnt_init() == 0) {
				discover_kind("vbd", SHOAL_DEV_BLOCK, VBD_MAX);
				discover_kind("vif", SHOAL_DEV_NET, VIF_MAX);
			} else {
				rt_printf("xen: no grant table: every device left out\n");
			}
		}
	}
	*n = ndevices;
	return table;
}

int xen__front_port(unsigned port)
{
	unsigned k;

	for (k = 0; k < ndevices; k++)
		if (table[k].port == port)
			return 1;
	return 0;
}

/* ---- the handshake ------------------------------------------------------- */

static const char *state_name(int s)
{
	static const char *const names[] = { "Unknown",     "Initialising",  "InitWait",
		                             "Initialised", "Connected",     "Closing",
		                             "Closed",      "Reconfiguring", "Reconfigured" };

	return s >= 0 && s <= 8 ? names[s] : "?";
}

/*
 * Poll the back-end's state until it is want (0), a state past Connected
 * or the deadline (-1, with the console line).
 */
static int wait_backend(const struct front *f, int want, uint64_t deadline)
{
	int s;

	for (;;) {
		s = backend_state(f);
		if (s < 0)
			return -1;
		if (s == want)
			return 0;
		if (s > XEN_XENBUS_CONNECTED) {
			rt_printf("xen: %s: left out: the back-end (%s) is %s\n", f->dir,
			          f->backend, state_name(s));
			return -1;
		}
		if (xen__system_ns() >= deadline) {
			rt_printf("xen: %s: left out: the back-end (%s) is still %s, not %s, after "
			          "%u s\n",
			          f->dir, f->backend, state_name(s), state_name(want),
			          (unsigned)(CONNECT_NS / 1000000000ull));
			return -1;
		}
		xen__sleep_ns(POLL_NS);
	}
}

struct kv {
	const char *key;
	char val[16];
};

/* The front-end's keys, all or none (a transaction, tried again on EAGAIN). */
static int write_keys(const struct front *f, const struct kv *kv, unsigned n)
{
	char path[XS_PATH_MAX];
	unsigned k;
	int tries, r;
	uint32_t tx;

	for (tries = 0; tries < TX_TRIES; tries++) {
		if (xen__xs_tx_start(&tx) < 0)
			break;
		for (k = 0; k < n; k++) {
			rt_snprintf(path, sizeof(path), "%s/%s", f->dir, kv[k].key);
			if (xen__xs_write(tx, path, kv[k].val) < 0)
				break;
		}
		r = xen__xs_tx_end(tx, k == n);
		if (k < n) {
			rt_printf("xen: %s: left out: xenstore refused to write %s\n", f->dir,
			          path);
			return -1;
		}
		if (r == 0)
			return 0;
		if (r < 0)
			break;
	}
	rt_printf("xen: %s: left out: xenstore refused the front-end's transaction\n", f->dir);
	return -1;
}

/* vbd, once Connected: the back-end's sectors (512-byte units), sector-size and info. */
static int read_disk(const struct front *f, struct shoal_device *d)
{
	char val[VAL_MAX];
	uint64_t sectors, size, info;

	if (read_key(f, f->backend, "sectors", val, sizeof(val), 0) < 0)
		return -1;
	if (xen__parse_u64(val, UINT64_MAX / SECTOR, &sectors) < 0) {
		bad_value(f, "the back-end's sectors", val, "is not a number of sectors");
		return -1;
	}
	if (read_key(f, f->backend, "sector-size", val, sizeof(val), 1) < 0)
		return -1;
	size = SECTOR;
	if (val[0] && (xen__parse_u64(val, 4096, &size) < 0 || size < SECTOR ||
	               (size & (size - 1)) || sectors % (size / SECTOR))) {
		bad_value(f, "the back-end's sector-size", val,
		          "is not a power of two from 512 to 4096 dividing the disk");
		return -1;
	}
	if (read_key(f, f->backend, "info", val, sizeof(val), 1) < 0)
		return -1;
	info = 0;
	if (val[0] && xen__parse_u64(val, UINT32_MAX, &info) < 0) {
		bad_value(f, "the back-end's info", val, "is not a number");
		return -1;
	}
	d->u.blk.sector_size = (uint32_t)size;
	d->u.blk.sectors = sectors / (size / SECTOR);
	d->u.blk.max_segments = 11;
	if (info & XEN_VDISK_READONLY)
		d->flags |= SHOAL_DEV_READONLY;
	return 0;
}

/*
 * Xen's front-end handshake: wait for the back-end's InitWait, grant the
 * ring page(s), write their references, the event channel and the
 * features in one transaction with our state (a vif goes Connected at
 * once, a vbd Initialised), wait for the back-end's Connected (a vbd then
 * reads its size and goes Connected too).  Bounded by CONNECT_NS in all.
 */
int plat_dev_connect(unsigned i, void *ring_page)
{
	struct kv kv[8];
	struct shoal_device *d;
	struct front *f;
	uint64_t deadline;
	unsigned n = 0, rings, k;
	char path[XS_PATH_MAX];

	if (i >= ndevices)
		return -1;
	d = &table[i];
	f = &fronts[i];
	rings = d->kind == SHOAL_DEV_NET ? 2 : 1;
	deadline = xen__system_ns() + CONNECT_NS;
	if (wait_backend(f, XEN_XENBUS_INITWAIT, deadline) < 0)
		goto fail;
	for (k = 0; k < rings; k++) {
		f->ring_ref[k] = gnt_grant(f->backend_id, (uint8_t *)ring_page + k * PAGE, 1);
		if (!f->ring_ref[k]) {
			rt_printf("xen: %s: left out: no grant reference left for its ring\n",
			          f->dir);
			goto fail;
		}
	}
	if (d->kind == SHOAL_DEV_NET) {
		kv[n].key = "tx-ring-ref";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "%u", (unsigned)f->ring_ref[0]);
		kv[n].key = "rx-ring-ref";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "%u", (unsigned)f->ring_ref[1]);
	} else {
		kv[n].key = "ring-ref";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "%u", (unsigned)f->ring_ref[0]);
	}
	kv[n].key = "event-channel";
	rt_snprintf(kv[n++].val, sizeof(kv[0].val), "%u", (unsigned)d->port);
	if (d->kind == SHOAL_DEV_NET) {
		/*
		 * Copying receive (the only kind netback has), its doorbell, and
		 * whole checksums both ways: frames from Dom0's own stack would
		 * otherwise arrive with the checksum left for the guest to fill.
		 */
		kv[n].key = "request-rx-copy";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "1");
		kv[n].key = "feature-rx-notify";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "1");
		kv[n].key = "feature-no-csum-offload";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "1");
		kv[n].key = "state";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "%d", XEN_XENBUS_CONNECTED);
	} else {
		kv[n].key = "protocol";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "x86_64-abi");
		kv[n].key = "state";
		rt_snprintf(kv[n++].val, sizeof(kv[0].val), "%d", XEN_XENBUS_INITIALISED);
	}
	if (write_keys(f, kv, n) < 0)
		goto fail;
	if (wait_backend(f, XEN_XENBUS_CONNECTED, deadline) < 0)
		goto fail;
	if (d->kind == SHOAL_DEV_BLOCK) {
		if (read_disk(f, d) < 0)
			goto fail;
		rt_snprintf(path, sizeof(path), "%s/state", f->dir);
		if (xen__xs_write(0, path, "4") < 0)
			goto fail;
		rt_printf("xen: %s: disk %s connected: %lu sectors of %u bytes%s\n", f->dir,
		          d->name, (unsigned long)d->u.blk.sectors, (unsigned)d->u.blk.sector_size,
		          (d->flags & SHOAL_DEV_READONLY) ? ", read-only" : "");
	} else {
		rt_printf("xen: %s: NIC %s connected\n", f->dir, d->name);
	}
	return 0;

fail:
	for (k = 0; k < rings; k++) {
		gnt_end(f->ring_ref[k]);
		f->ring_ref[k] = 0;
	}
	rt_snprintf(path, sizeof(path), "%s/state", f->dir);
	xen__xs_write(0, path, "6"); /* Closed: the back-end lets go too */
	return -1;
}
