/*
 * The tender's block back-end: each disk is a file the tender was handed
 * (an fd), served on Xen's blkif shared ring in guest memory, by one I/O
 * thread for all of a guest's devices.  The thread blocks in epoll on
 * the doorbells (ioeventfds of the guest's notifies); it kicks the guest
 * back through an irqfd only when the ring's event suppression asks.
 *
 * The ring is the guest's memory and the guest may change it at any
 * moment: the producer index is read once per pass and checked against
 * what the ring can hold, and each request is copied out before it is
 * looked at, so that it cannot change between the check and the use.
 *
 * The same thread serves the NICs (net.c): their doorbells and taps are
 * in its epoll set beside the disks' doorbells.  What the back-ends share
 * is in devs.h.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vmm/devs.h"

#define SECTOR     512u
#define DISKS_MAX  VMM_DISKS_MAX
#define EVENTS_MAX (SHOAL_DEVICES_MAX + VMM_NICS_MAX)

int devs__fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

struct vmm_devs *vmm_devs_new(void)
{
	struct vmm_devs *dv = calloc(1, sizeof(*dv));

	if (dv)
		dv->ep = dv->stats_fd = -1;
	return dv;
}

int devs__name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= SHOAL_DEV_NAME_MAX || s[0] == '-' || s[0] == '_')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_'))
			return 0;
	return 1;
}

int vmm_devs_add_disk(struct vmm_devs *dv, const char *name, int fd, int readonly, char *err,
                      size_t errlen)
{
	struct disk *d;
	struct stat st;
	unsigned i;

	if (!devs__name_ok(name))
		return devs__fail(
		    err, errlen, "disk name \"%.40s\": 1 to %d characters of a-z, 0-9, '-' and '_'",
		    name, SHOAL_DEV_NAME_MAX - 1);
	for (i = 0; i < dv->ndisks; i++)
		if (!strcmp(dv->disk[i].name, name))
			return devs__fail(err, errlen, "two disks are named %s", name);
	for (i = 0; i < dv->nnics; i++)
		if (!strcmp(dv->nic[i].name, name))
			return devs__fail(err, errlen, "a disk and a NIC are named %s", name);
	if (dv->ndisks == DISKS_MAX || (dv->nslots && dv->ndisks == dv->nslots))
		return devs__fail(err, errlen, "more than %d disks",
		                  dv->nslots ? (int)dv->nslots : DISKS_MAX);
	if (fstat(fd, &st) < 0)
		return devs__fail(err, errlen, "disk %s: %s", name, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return devs__fail(err, errlen, "disk %s is not a file or a block device", name);
	if (S_ISREG(st.st_mode) && (st.st_size <= 0 || st.st_size % SECTOR))
		return devs__fail(err, errlen,
		                  "disk %s is %lld bytes, not a whole number of %u-byte sectors",
		                  name, (long long)st.st_size, SECTOR);
	if (S_ISBLK(st.st_mode))
		return devs__fail(err, errlen, "disk %s is a block device: not yet", name);
	/* A wired slot keeps its doorbell (vmm_devs_attach); the rest is the disk's. */
	d = &dv->disk[dv->ndisks];
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->fd = fd;
	d->readonly = readonly;
	d->sectors = (uint64_t)st.st_size / SECTOR;
	memset(d->own, 0, sizeof(d->own));
	d->c = d->own;
	dv->ndisks++;
	return 0;
}

int vmm_devs_attach(struct vmm_devs *dv, struct vmm_vm *vm, unsigned slots, char *err,
                    size_t errlen)
{
	unsigned i;

	if (slots < dv->ndisks || slots > DISKS_MAX)
		return devs__fail(err, errlen, "%u disk slots for %u disks", slots, dv->ndisks);
	dv->vm = vm;
	dv->ep = epoll_create1(EPOLL_CLOEXEC);
	if (dv->ep < 0)
		return devs__fail(err, errlen, "epoll_create1: %s", strerror(errno));
	for (i = 0; i < slots; i++) {
		struct disk *d = &dv->disk[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = DEVS_EV_DISK << 32 | i };

		d->index = i;
		d->port = SHOAL_DEV_PORT_FIRST + i;
		d->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		d->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->kick_fd < 0 || d->notify_fd < 0)
			return devs__fail(err, errlen, "disk %s: eventfd: %s", d->name,
			                  strerror(errno));
		if (vmm_vm_wire_internal(vm, d->port, d->kick_fd, d->notify_fd, err, errlen) < 0)
			return -1;
		if (epoll_ctl(dv->ep, EPOLL_CTL_ADD, d->notify_fd, &ev) < 0)
			return devs__fail(err, errlen, "disk %s: epoll_ctl: %s", d->name,
			                  strerror(errno));
	}
	dv->nslots = slots;
	return devs__nics_attach(dv, err, errlen);
}

void vmm_devs_table(const struct vmm_devs *dv, struct shoal_device *table, uint32_t *n)
{
	unsigned i;

	for (i = 0; i < dv->ndisks; i++) {
		const struct disk *d = &dv->disk[i];
		struct shoal_device *t = &table[i];

		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", d->name);
		t->kind = SHOAL_DEV_BLOCK;
		t->flags = d->readonly ? SHOAL_DEV_READONLY : 0;
		t->port = d->port;
		t->u.blk.sectors = d->sectors;
		t->u.blk.sector_size = SECTOR;
		t->u.blk.max_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
	}
	devs__nics_table(dv, table + dv->ndisks);
	*n = dv->ndisks + dv->nnics;
}

enum vmm_hc_outcome vmm_devs_connect(struct vmm_devs *dv, const struct vmm_guestmem *m,
                                     uint32_t arg, struct vmm_hc_result *res)
{
	struct shoal_hc_device *a;
	struct disk *d;

	if ((uint64_t)arg + sizeof(*a) > m->size || arg % 8) {
		res->status = GUEST_EXIT_BADCALL;
		snprintf(
		    res->reason, sizeof(res->reason),
		    "bad hypercall device: argument at 0x%x is outside guest memory or unaligned",
		    arg);
		return VMM_HC_STOP;
	}
	a = (struct shoal_hc_device *)(m->base + arg);
	if (dv && a->index >= dv->ndisks && a->index - dv->ndisks < dv->nnics) {
		a->status = devs__nic_connect(dv, a->index - dv->ndisks, m, a->ring);
		return VMM_HC_CONTINUE;
	}
	if (!dv || a->index >= dv->ndisks) {
		a->status = SHOAL_DEV_ENOENT;
		return VMM_HC_CONTINUE;
	}
	d = &dv->disk[a->index];
	if (__atomic_load_n(&d->connected, __ATOMIC_ACQUIRE)) {
		a->status = SHOAL_DEV_EBUSY;
		return VMM_HC_CONTINUE;
	}
	if (a->ring % SHOAL_PAGE_SIZE || a->ring < SHOAL_GPA_IMAGE_MIN || a->ring >= m->size ||
	    m->size - a->ring < SHOAL_PAGE_SIZE) {
		a->status = SHOAL_DEV_EINVAL;
		return VMM_HC_CONTINUE;
	}
	/* The guest has done SHARED_RING_INIT; the back half is the tender's own. */
	BACK_RING_INIT(&d->ring, (blkif_sring_t *)(m->base + a->ring), SHOAL_PAGE_SIZE);
	__atomic_store_n(&d->connected, 1, __ATOMIC_RELEASE);
	a->status = 0;
	/* Requests pushed before the connect wait for a notify; look at once. */
	{
		uint64_t one = 1;

		if (write(d->notify_fd, &one, sizeof(one)) < 0)
			(void)0; /* a full counter already wakes the thread */
	}
	return VMM_HC_CONTINUE;
}

/* Check one request against the disk and guest memory, and do it; a BLKIF_RSP_* status. */
static int16_t do_request(struct vmm_devs *dv, struct disk *d, const blkif_request_t *rq)
{
	struct iovec iov[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	uint64_t mem = dv->vm->mem_bytes, total = 0;
	unsigned i, n = rq->nr_segments;
	ssize_t r;

	switch (rq->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		return d->readonly || fdatasync(d->fd) == 0 ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
	default:
		return BLKIF_RSP_EOPNOTSUPP;
	}
	if (n == 0 || n > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	if (rq->operation == BLKIF_OP_WRITE && d->readonly)
		return BLKIF_RSP_ERROR;
	for (i = 0; i < n; i++) {
		const struct blkif_request_segment *sg = &rq->seg[i];
		uint64_t gpa = (uint64_t)sg->gref * SHOAL_PAGE_SIZE;

		/* A "grant reference" here is a guest frame number; its page must be guest memory.
		 */
		if (sg->gref >= mem / SHOAL_PAGE_SIZE || sg->first_sect > sg->last_sect ||
		    sg->last_sect >= SHOAL_PAGE_SIZE / SECTOR)
			return BLKIF_RSP_ERROR;
		iov[i].iov_base = dv->vm->mem + gpa + (uint64_t)sg->first_sect * SECTOR;
		iov[i].iov_len = (size_t)(sg->last_sect - sg->first_sect + 1) * SECTOR;
		total += (uint64_t)(sg->last_sect - sg->first_sect + 1);
	}
	if (rq->sector_number > d->sectors || total > d->sectors - rq->sector_number)
		return BLKIF_RSP_ERROR;
	if (rq->operation == BLKIF_OP_READ)
		r = preadv(d->fd, iov, (int)n, (off_t)(rq->sector_number * SECTOR));
	else
		r = pwritev(d->fd, iov, (int)n, (off_t)(rq->sector_number * SECTOR));
	/* A file shorter than it was when handed over, or an I/O error. */
	return r == (ssize_t)(total * SECTOR) ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
}

/* A request served: done by kind and its bytes, or an error. */
static void count(struct disk *d, const blkif_request_t *rq, int16_t st)
{
	uint64_t bytes = 0;
	unsigned i;

	if (st != BLKIF_RSP_OKAY) {
		DEVS_STAT_ADD(d, VMM_STAT_DISK_ERRORS, 1);
		return;
	}
	if (rq->operation == BLKIF_OP_FLUSH_DISKCACHE) {
		DEVS_STAT_ADD(d, VMM_STAT_DISK_FLUSHES, 1);
		return;
	}
	/* Done, so its segments were checked (do_request). */
	for (i = 0; i < rq->nr_segments; i++)
		bytes += (uint64_t)(rq->seg[i].last_sect - rq->seg[i].first_sect + 1) * SECTOR;
	if (rq->operation == BLKIF_OP_READ) {
		DEVS_STAT_ADD(d, VMM_STAT_DISK_READS, 1);
		DEVS_STAT_ADD(d, VMM_STAT_DISK_READ_BYTES, bytes);
	} else {
		DEVS_STAT_ADD(d, VMM_STAT_DISK_WRITES, 1);
		DEVS_STAT_ADD(d, VMM_STAT_DISK_WRITE_BYTES, bytes);
	}
}

/* Serve what the ring holds; 0, or -1 once the guest was failed for it. */
static int serve(struct vmm_devs *dv, struct disk *d)
{
	blkif_back_ring_t *ring = &d->ring;
	int more, notify;

	do {
		RING_IDX prod = ring->sring->req_prod;

		xen_rmb(); /* the requests up to prod are there once prod is seen */
		if (RING_REQUEST_PROD_OVERFLOW(ring, prod)) {
			devs__ring_overflow(dv, "disk", d->name, "", prod,
			                    prod - ring->rsp_prod_pvt, RING_SIZE(ring));
			return -1;
		}
		while (ring->req_cons != prod) {
			blkif_request_t rq;
			blkif_response_t *rsp;
			int16_t st;

			memcpy(&rq, RING_GET_REQUEST(ring, ring->req_cons), sizeof(rq));
			ring->req_cons++;
			st = do_request(dv, d, &rq);
			count(d, &rq, st);
			rsp = RING_GET_RESPONSE(ring, ring->rsp_prod_pvt);
			rsp->id = rq.id;
			rsp->operation = rq.operation;
			rsp->status = st;
			ring->rsp_prod_pvt++;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(ring, notify);
		if (notify) {
			uint64_t one = 1;

			if (write(d->kick_fd, &one, sizeof(one)) < 0)
				(void)0; /* a full counter still raises the interrupt */
		}
		RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
	} while (more);
	return 0;
}

uint64_t devs__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void devs__ring_overflow(struct vmm_devs *dv, const char *kind, const char *name, const char *ring,
                         unsigned prod, unsigned ahead, unsigned size)
{
	char why[sizeof(dv->vm->io_reason)];

	snprintf(
	    why, sizeof(why),
	    "bad ring: %s %s's %srequest producer %u is %u entries ahead of the responses, more "
	    "than its %u slots",
	    kind, name, ring, prod, ahead, size);
	vmm_vm_fail(dv->vm, why);
}

static int disk_event(struct vmm_devs *dv, unsigned i)
{
	struct disk *d = &dv->disk[i];
	uint64_t v;

	if (read(d->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	if (!__atomic_load_n(&d->connected, __ATOMIC_ACQUIRE))
		return 0; /* before the ring, or an empty slot: nothing to serve */
	return serve(dv, d);
}

static void *io_thread(void *arg)
{
	struct vmm_devs *dv = arg;
	struct epoll_event ev[EVENTS_MAX];
	uint64_t wake_ns = 0;
	int n, i, timeout_ms;

	/* Started: what the C library does for a new thread is behind it (see vmm_devs_start). */
	__atomic_store_n(&dv->running, 1, __ATOMIC_RELEASE);
	for (;;) {
		/* A NIC held back by its rate limit wakes the thread when it may go on. */
		timeout_ms = -1;
		if (wake_ns) {
			uint64_t now = devs__now_ns();

			timeout_ms = wake_ns <= now ? 0 : (int)((wake_ns - now + 999999) / 1000000);
		}
		n = epoll_wait(dv->ep, ev, EVENTS_MAX, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		for (i = 0; i < n; i++) {
			unsigned kind = (unsigned)(ev[i].data.u64 >> 32);
			unsigned slot = (unsigned)ev[i].data.u64;
			int r;

			if (kind == DEVS_EV_DISK)
				r = disk_event(dv, slot);
			else
				r = devs__nic_event(dv, slot, kind == DEVS_EV_TAP);
			if (r < 0)
				return NULL; /* the guest is ending */
		}
		wake_ns = __atomic_load_n(&dv->nnics, __ATOMIC_RELAXED)
		              ? devs__nics_timers(dv, devs__now_ns())
		              : 0;
		if (wake_ns == UINT64_MAX)
			return NULL;
	}
}

int vmm_devs_start(struct vmm_devs *dv, char *err, size_t errlen)
{
	pthread_attr_t at;
	sigset_t all, old;
	int r;

	if (!dv->nslots)
		return 0;
	/* The thread takes no signal but SIGSYS (a call the filter refuses is reported): SIGUSR1 is
	 * the vCPU's kick. */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 256 << 10);
	r = pthread_create(&dv->thread, &at, io_thread, dv);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return devs__fail(err, errlen, "cannot start the I/O thread: %s", strerror(r));
	/*
	 * Wait until it runs: a thread still being set up by the C library
	 * when the syscall filter lands would make calls the filter refuses.
	 */
	while (!__atomic_load_n(&dv->running, __ATOMIC_ACQUIRE))
		sched_yield();
	return 0;
}

void vmm_devs_counters(const struct vmm_devs *dv, uint64_t *requests, uint64_t *errors)
{
	unsigned i;

	*requests = *errors = 0;
	for (i = 0; dv && i < dv->ndisks; i++) {
		const struct disk *d = &dv->disk[i];

		*requests +=
		    DEVS_STAT(d, VMM_STAT_DISK_READS) + DEVS_STAT(d, VMM_STAT_DISK_WRITES) +
		    DEVS_STAT(d, VMM_STAT_DISK_FLUSHES) + DEVS_STAT(d, VMM_STAT_DISK_ERRORS);
		*errors += DEVS_STAT(d, VMM_STAT_DISK_ERRORS);
	}
}

/* ---- The counters' page ---- */

int vmm_devs_stats_open(struct vmm_devs *dv, char *err, size_t errlen)
{
	void *p;
	int fd;

	if (dv->stats_fd >= 0)
		return dv->stats_fd;
	fd = memfd_create("shoal-vmm-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return devs__fail(err, errlen, "the counters' page: memfd_create: %s",
		                  strerror(errno));
	/* Its size is part of the contract: a daemon maps VMM_STATS_BYTES, and no more is there. */
	if (ftruncate(fd, VMM_STATS_BYTES) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int e = errno;

		close(fd);
		return devs__fail(err, errlen, "the counters' page: %s", strerror(e));
	}
	p = mmap(NULL, VMM_STATS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		close(fd);
		return devs__fail(err, errlen, "the counters' page: mmap: %s", strerror(e));
	}
	dv->stats = p;
	dv->stats_fd = fd;
	return fd;
}

/*
 * The page's devices in the device table's order, disks then NICs, and
 * each device's counters moved there (with what they counted so far,
 * nothing before the guest runs).  magic goes last: a reader that sees it
 * sees the rest.
 */
void vmm_devs_stats_fill(struct vmm_devs *dv)
{
	struct vmm_stats *s = dv->stats;
	unsigned i, k = 0;

	if (!s)
		return;
	for (i = 0; i < dv->ndisks && k < VMM_STATS_DEVS; i++, k++) {
		struct disk *d = &dv->disk[i];

		snprintf(s->dev[k].name, sizeof(s->dev[k].name), "%s", d->name);
		s->dev[k].kind = VMM_STAT_KIND_DISK;
		memmove(s->dev[k].c, d->c, sizeof(s->dev[k].c));
		d->c = s->dev[k].c;
	}
	for (i = 0; i < dv->nnics && k < VMM_STATS_DEVS; i++, k++) {
		struct nic *n = &dv->nic[i];

		snprintf(s->dev[k].name, sizeof(s->dev[k].name), "%s", n->name);
		s->dev[k].kind = VMM_STAT_KIND_NIC;
		memmove(s->dev[k].c, n->c, sizeof(s->dev[k].c));
		n->c = s->dev[k].c;
	}
	s->version = VMM_STATS_VERSION;
	s->ndevs = k;
	__atomic_store_n(&s->magic, VMM_STATS_MAGIC, __ATOMIC_RELEASE);
}
