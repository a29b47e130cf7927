/*
 * The block front-end, one for every platform: Xen's blkif shared ring in
 * a page of the guest's own, "granted" to the host through the platform
 * (KVM: a guest frame number; Xen: a grant reference), its doorbell an
 * event port.  Requests are pushed with RING_PUSH_REQUESTS_AND_CHECK_NOTIFY
 * and answers taken with RING_FINAL_CHECK_FOR_RESPONSES, so a busy disk
 * costs one notify and one interrupt per batch, not per request.
 *
 * What the host writes into the ring is checked too: an answer for a slot
 * that is not in flight is counted and dropped.
 */
#include <shoal/blk.h>

#include "rt_internal.h"

#include <shoal/xen_ring.h>
#include <xen/io/blkif.h>

#define PAGE      4096u
#define SEG_MAX   BLKIF_MAX_SEGMENTS_PER_REQUEST
#define SLOTS     __CONST_RING_SIZE(blkif, PAGE)
#define SECT_PAGE (PAGE / RT_BLK_SECTOR)

struct slot {
	int busy;
	rt_blk_done_fn fn;
	void *arg;
	unsigned nseg;          /* pages granted for the request */
	uint32_t gref[SEG_MAX]; /* given back when it is answered */
};

struct rt_blk {
	const struct shoal_device *dev;
	unsigned index;
	blkif_front_ring_t ring;
	void *ring_mem;  /* as allocated; the ring is its aligned page */
	uint8_t *bounce; /* SEG_MAX pages, page-aligned, made when first needed */
	void *bounce_mem;
	struct slot slot[SLOTS];
	unsigned inflight;
	uint64_t requests, errors, stray;
};

static struct rt_blk *opened[SHOAL_DEVICES_MAX];

static void slot_free(struct rt_blk *b, struct slot *s)
{
	unsigned k;

	for (k = 0; k < s->nseg; k++)
		plat_grant_end(b->index, s->gref[k]);
	s->nseg = 0;
	s->busy = 0;
	b->inflight--;
}

/* Take the answers: each finishes its slot; runs from rt_evtchn_dispatch(). */
static void on_port(unsigned port, void *arg)
{
	struct rt_blk *b = arg;
	int more;

	(void)port;
	do {
		RING_IDX prod = b->ring.sring->rsp_prod;

		xen_rmb(); /* the answers up to prod are there once prod is seen */
		/* A producer that runs ahead of what was asked is the host's fault: take nothing.
		 */
		if (prod - b->ring.rsp_cons > b->ring.req_prod_pvt - b->ring.rsp_cons) {
			b->stray++;
			return;
		}
		while (b->ring.rsp_cons != prod) {
			blkif_response_t r = *RING_GET_RESPONSE(&b->ring, b->ring.rsp_cons);
			struct slot *s;

			b->ring.rsp_cons++;
			if (r.id >= SLOTS || !b->slot[r.id].busy) {
				b->stray++;
				continue;
			}
			s = &b->slot[r.id];
			slot_free(b, s);
			b->requests++;
			b->errors += r.status != BLKIF_RSP_OKAY;
			if (s->fn)
				s->fn(s->arg, r.status == BLKIF_RSP_OKAY ? 0 : RT_BLK_EIO);
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&b->ring, more);
	} while (more);
}

unsigned rt_blk_count(void)
{
	return rt__device_count(SHOAL_DEV_BLOCK);
}

const char *rt_blk_name(unsigned i)
{
	return rt__device_name(SHOAL_DEV_BLOCK, i);
}

int rt_blk_open(const char *name, struct rt_blk **out)
{
	const struct shoal_device *d;
	struct rt_blk *b;
	blkif_sring_t *sring;
	unsigned i;
	int r;

	d = rt__device_find(SHOAL_DEV_BLOCK, name, &i);
	if (!d)
		return RT_BLK_ENOENT;
	if (opened[i]) {
		*out = opened[i];
		return 0;
	}
	b = rt_calloc(1, sizeof(*b));
	if (!b)
		return RT_BLK_ENOMEM;
	b->dev = d;
	b->index = i;
	sring = rt_pages_alloc(1, &b->ring_mem);
	if (!sring) {
		rt_free(b);
		return RT_BLK_ENOMEM;
	}
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&b->ring, sring, PAGE);
	if (rt_evtchn_bind(d->port, on_port, b) < 0) {
		rt_free(b->ring_mem);
		rt_free(b);
		return RT_BLK_EPROTO;
	}
	r = plat_dev_connect(i, sring);
	if (r < 0) {
		rt_evtchn_mask(d->port); /* its handler's argument is going */
		rt_free(b->ring_mem);
		rt_free(b);
		return RT_BLK_EPROTO;
	}
	opened[i] = b;
	*out = b;
	return 0;
}

void rt_blk_info(const struct rt_blk *b, struct rt_blk_info *info)
{
	info->name = b->dev->name;
	info->sectors = b->dev->u.blk.sectors * (b->dev->u.blk.sector_size / RT_BLK_SECTOR);
	info->sector_size = b->dev->u.blk.sector_size;
	info->readonly = !!(b->dev->flags & SHOAL_DEV_READONLY);
	info->port = b->dev->port;
}

static uint64_t sectors_of(const struct rt_blk *b)
{
	return b->dev->u.blk.sectors * (b->dev->u.blk.sector_size / RT_BLK_SECTOR);
}

/* A free slot and its ring entry; NULL when all are in flight. */
static blkif_request_t *take(struct rt_blk *b, rt_blk_done_fn fn, void *arg)
{
	blkif_request_t *rq;
	unsigned id;

	if (RING_FULL(&b->ring))
		return NULL;
	for (id = 0; id < SLOTS && b->slot[id].busy; id++)
		;
	if (id == SLOTS)
		return NULL;
	b->slot[id] = (struct slot){ 1, fn, arg, 0, { 0 } };
	b->inflight++;
	rq = RING_GET_REQUEST(&b->ring, b->ring.req_prod_pvt);
	memset(rq, 0, sizeof(*rq));
	rq->id = id;
	rq->handle = (blkif_vdev_t)b->index;
	return rq;
}

static void push(struct rt_blk *b)
{
	int notify;

	b->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&b->ring, notify);
	if (notify)
		rt_evtchn_notify(b->dev->port);
}

int rt_blk_submit(struct rt_blk *b, int write, uint64_t sector, void *buf, uint32_t count,
                  rt_blk_done_fn fn, void *arg)
{
	uintptr_t p = (uintptr_t)buf, end = p + (uintptr_t)count * RT_BLK_SECTOR;
	blkif_request_t *rq;
	struct slot *s;
	unsigned seg = 0;

	if (write && (b->dev->flags & SHOAL_DEV_READONLY))
		return RT_BLK_EROFS;
	if (!count || p % RT_BLK_SECTOR || sector > sectors_of(b) ||
	    count > sectors_of(b) - sector || (end - 1) / PAGE - p / PAGE + 1 > SEG_MAX)
		return RT_BLK_EINVAL;
	rq = take(b, fn, arg);
	if (!rq)
		return RT_BLK_EBUSY;
	rq->operation = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
	rq->sector_number = sector;
	s = &b->slot[rq->id];
	while (p < end) {
		uintptr_t page_end = (p / PAGE + 1) * PAGE, stop = end < page_end ? end : page_end;
		uint32_t ref =
		    plat_grant(b->index, (const void *)(p & ~(uintptr_t)(PAGE - 1)), !write);

		if (!ref) {
			slot_free(b, s); /* the entry is not pushed: the ring is unchanged */
			return RT_BLK_ENOMEM;
		}
		s->gref[s->nseg++] = ref;
		rq->seg[seg].gref = ref;
		rq->seg[seg].first_sect = (uint8_t)((p % PAGE) / RT_BLK_SECTOR);
		rq->seg[seg].last_sect = (uint8_t)(((stop - 1) % PAGE) / RT_BLK_SECTOR);
		seg++;
		p = stop;
	}
	rq->nr_segments = (uint8_t)seg;
	push(b);
	return 0;
}

int rt_blk_submit_flush(struct rt_blk *b, rt_blk_done_fn fn, void *arg)
{
	blkif_request_t *rq = take(b, fn, arg);

	if (!rq)
		return RT_BLK_EBUSY;
	rq->operation = BLKIF_OP_FLUSH_DISKCACHE;
	rq->sector_number = 0;
	rq->nr_segments = 0;
	push(b);
	return 0;
}

/* ---- synchronous ---- */

struct sync {
	unsigned left;
	int status;
};

static void sync_done(void *arg, int status)
{
	struct sync *s = arg;

	s->left--;
	if (status && !s->status)
		s->status = status;
}

static void wait_for(struct sync *s)
{
	while (s->left) {
		rt_block(RT_FOREVER);
		rt_evtchn_dispatch();
	}
}

/* As many sectors from p as one request takes (11 pages). */
static uint64_t chunk(uintptr_t p, uint64_t left)
{
	uint64_t room = ((uint64_t)SEG_MAX * PAGE - p % PAGE) / RT_BLK_SECTOR;

	return left < room ? left : room;
}

static int bounce(struct rt_blk *b)
{
	if (!b->bounce)
		b->bounce = rt_pages_alloc(SEG_MAX, &b->bounce_mem);
	return b->bounce ? 0 : RT_BLK_ENOMEM;
}

static int rw(struct rt_blk *b, int write, uint64_t sector, uint8_t *buf, uint64_t count)
{
	struct sync s = { 0, 0 };
	int r;

	if (write && (b->dev->flags & SHOAL_DEV_READONLY))
		return RT_BLK_EROFS;
	if (sector > sectors_of(b) || count > sectors_of(b) - sector)
		return RT_BLK_EINVAL;
	if ((uintptr_t)buf % RT_BLK_SECTOR) {
		/* Through the bounce pages, a request at a time. */
		r = bounce(b);
		while (!r && count) {
			uint64_t n = count < SEG_MAX * SECT_PAGE ? count : SEG_MAX * SECT_PAGE;

			if (write)
				memcpy(b->bounce, buf, n * RT_BLK_SECTOR);
			s.left = 1;
			r = rt_blk_submit(b, write, sector, b->bounce, (uint32_t)n, sync_done, &s);
			if (r)
				break;
			wait_for(&s);
			r = s.status;
			if (!r && !write)
				memcpy(buf, b->bounce, n * RT_BLK_SECTOR);
			buf += n * RT_BLK_SECTOR;
			sector += n;
			count -= n;
		}
		return r;
	}
	/* Zero-copy: the buffer's own pages, as many requests in flight as the ring takes. */
	while (count) {
		uint64_t n = chunk((uintptr_t)buf, count);

		s.left++;
		r = rt_blk_submit(b, write, sector, buf, (uint32_t)n, sync_done, &s);
		if (r == RT_BLK_EBUSY) {
			s.left--;
			rt_block(RT_FOREVER);
			rt_evtchn_dispatch();
			continue;
		}
		if (r) {
			s.left--;
			wait_for(&s);
			return r;
		}
		buf += n * RT_BLK_SECTOR;
		sector += n;
		count -= n;
	}
	wait_for(&s);
	return s.status;
}

int rt_blk_read(struct rt_blk *b, uint64_t sector, void *buf, uint64_t count)
{
	return count ? rw(b, 0, sector, buf, count) : 0;
}

int rt_blk_write(struct rt_blk *b, uint64_t sector, const void *buf, uint64_t count)
{
	return count ? rw(b, 1, sector, (uint8_t *)(uintptr_t)buf, count) : 0;
}

int rt_blk_flush(struct rt_blk *b)
{
	struct sync s = { 1, 0 };
	int r;

	while ((r = rt_blk_submit_flush(b, sync_done, &s)) == RT_BLK_EBUSY) {
		rt_block(RT_FOREVER);
		rt_evtchn_dispatch();
	}
	if (r)
		return r;
	wait_for(&s);
	return s.status;
}

void rt_blk_counters(const struct rt_blk *b, uint64_t *requests, uint64_t *errors)
{
	*requests = b->requests;
	*errors = b->errors;
}
