/*
 * The block API on the proc platform: a disk is a file descriptor the
 * tender left the guest, read and written with pread and pwrite, no
 * ring.  An asynchronous request is done at once and its completion
 * queued behind the disk's event port, so that its callback runs from
 * rt_evtchn_dispatch() as on every other platform, never from inside
 * rt_blk_submit().
 */
#include <shoal/blk.h>

#include "../../core/rt_internal.h"
#include "proc.h"

#define SLOTS   32u /* completions waiting for dispatch, as the ring's slots */
#define SEG_MAX 11u /* pages one request may touch, as blkif's */
#define PAGE    4096u

struct done {
	rt_blk_done_fn fn;
	void *arg;
	int status;
};

struct rt_blk {
	const struct shoal_device *dev;
	unsigned index;
	int fd;
	struct done q[SLOTS];
	unsigned head, len;
	uint64_t requests, errors;
	uint64_t *c; /* the host's counters (SHOAL_PROC_STAT_DISK_*) */
};

static struct rt_blk *opened[SHOAL_DEVICES_MAX];

static void on_port(unsigned port, void *arg)
{
	struct rt_blk *b = arg;

	(void)port;
	while (b->len) {
		struct done d = b->q[b->head];

		b->head = (b->head + 1) % SLOTS;
		b->len--;
		if (d.fn)
			d.fn(d.arg, d.status);
	}
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
	unsigned i;

	d = rt__device_find(SHOAL_DEV_BLOCK, name, &i);
	if (!d)
		return RT_BLK_ENOENT;
	if (opened[i]) {
		*out = opened[i];
		return 0;
	}
	if (proc__dev_fd(i) < 0 || d->u.blk.sector_size != RT_BLK_SECTOR)
		return RT_BLK_EPROTO;
	b = rt_calloc(1, sizeof(*b));
	if (!b)
		return RT_BLK_ENOMEM;
	b->dev = d;
	b->index = i;
	b->fd = proc__dev_fd(i);
	b->c = proc__dev_counters(i);
	if (rt_evtchn_bind(d->port, on_port, b) < 0) {
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
	info->sectors = b->dev->u.blk.sectors;
	info->sector_size = b->dev->u.blk.sector_size;
	info->readonly = !!(b->dev->flags & SHOAL_DEV_READONLY);
	info->port = b->dev->port;
}

static int in_disk(const struct rt_blk *b, uint64_t sector, uint64_t count)
{
	return sector <= b->dev->u.blk.sectors && count <= b->dev->u.blk.sectors - sector;
}

/* Sectors [sector, +count) to or from buf, whole: 0 or RT_BLK_EIO. */
static int transfer(struct rt_blk *b, int write, uint64_t sector, uint8_t *buf, uint64_t count)
{
	uint64_t off = sector * RT_BLK_SECTOR, left = count * RT_BLK_SECTOR;

	while (left) {
		long n = left > (1u << 20) ? (1u << 20) : (long)left;
		long r =
		    proc_sys4(write ? SYS_pwrite64 : SYS_pread64, b->fd, (long)buf, n, (long)off);

		if (r == -PROC_EINTR)
			continue;
		if (r <= 0) {
			b->errors++;
			b->c[SHOAL_PROC_STAT_DISK_ERRORS]++;
			return RT_BLK_EIO;
		}
		buf += r;
		off += (uint64_t)r;
		left -= (uint64_t)r;
	}
	b->requests++;
	b->c[write ? SHOAL_PROC_STAT_DISK_WRITES : SHOAL_PROC_STAT_DISK_READS]++;
	b->c[write ? SHOAL_PROC_STAT_DISK_WRITE_BYTES : SHOAL_PROC_STAT_DISK_READ_BYTES] +=
	    count * RT_BLK_SECTOR;
	return 0;
}

/* A flush: 0 or RT_BLK_EIO, counted as shoal-vmm counts one. */
static int flush(struct rt_blk *b)
{
	if (proc_sys3(SYS_fdatasync, b->fd, 0, 0) < 0) {
		b->errors++;
		b->c[SHOAL_PROC_STAT_DISK_ERRORS]++;
		return RT_BLK_EIO;
	}
	b->requests++;
	b->c[SHOAL_PROC_STAT_DISK_FLUSHES]++;
	return 0;
}

static int queue(struct rt_blk *b, rt_blk_done_fn fn, void *arg, int status)
{
	b->q[(b->head + b->len) % SLOTS] = (struct done){ fn, arg, status };
	b->len++;
	proc__raise(b->dev->port);
	return 0;
}

int rt_blk_submit(struct rt_blk *b, int write, uint64_t sector, void *buf, uint32_t count,
                  rt_blk_done_fn fn, void *arg)
{
	uintptr_t p = (uintptr_t)buf, end = p + (uintptr_t)count * RT_BLK_SECTOR;

	if (write && (b->dev->flags & SHOAL_DEV_READONLY))
		return RT_BLK_EROFS;
	if (!count || p % RT_BLK_SECTOR || !in_disk(b, sector, count) ||
	    (end - 1) / PAGE - p / PAGE + 1 > SEG_MAX)
		return RT_BLK_EINVAL;
	if (b->len == SLOTS)
		return RT_BLK_EBUSY;
	return queue(b, fn, arg, transfer(b, write, sector, buf, count));
}

int rt_blk_submit_flush(struct rt_blk *b, rt_blk_done_fn fn, void *arg)
{
	if (b->len == SLOTS)
		return RT_BLK_EBUSY;
	return queue(b, fn, arg, flush(b));
}

int rt_blk_read(struct rt_blk *b, uint64_t sector, void *buf, uint64_t count)
{
	if (!count)
		return 0;
	if (!in_disk(b, sector, count))
		return RT_BLK_EINVAL;
	return transfer(b, 0, sector, buf, count);
}

int rt_blk_write(struct rt_blk *b, uint64_t sector, const void *buf, uint64_t count)
{
	if (!count)
		return 0;
	if (b->dev->flags & SHOAL_DEV_READONLY)
		return RT_BLK_EROFS;
	if (!in_disk(b, sector, count))
		return RT_BLK_EINVAL;
	return transfer(b, 1, sector, (uint8_t *)(uintptr_t)buf, count);
}

int rt_blk_flush(struct rt_blk *b)
{
	return flush(b);
}

void rt_blk_counters(const struct rt_blk *b, uint64_t *requests, uint64_t *errors)
{
	*requests = b->requests;
	*errors = b->errors;
}
