/*
 * Block devices: the disks the host gave this guest, each by the name the
 * operator gave it ("www", "media").  One front-end for every platform,
 * on Xen's blkif shared ring with its event suppression; the ring's
 * doorbell is an event port, so waiting for a disk is waiting in
 * rt_block() like for anything else.
 *
 * Sector numbers and counts are in 512-byte units whatever the disk's own
 * sector size.  Errors are negative RT_BLK_E* codes; rt_blk_strerror()
 * names them.
 */
#ifndef SHOAL_BLK_H
#define SHOAL_BLK_H

#include <stddef.h>
#include <stdint.h>

#define RT_BLK_ENOENT (-2)  /* no disk of that name */
#define RT_BLK_EIO    (-5)  /* the host refused or failed the request */
#define RT_BLK_ENOMEM (-12) /* no memory for the ring or the bounce pages, or no grant left */
#define RT_BLK_EBUSY  (-16) /* every ring slot is taken; wait for a completion */
#define RT_BLK_EINVAL (-22) /* outside the disk, a bad buffer, too long for one request */
#define RT_BLK_EROFS  (-30) /* a write to a read-only disk */
#define RT_BLK_EPROTO (-71) /* the host would not connect the ring */

#define RT_BLK_SECTOR 512u

struct rt_blk;

struct rt_blk_info {
	const char *name;
	uint64_t sectors;     /* 512-byte sectors */
	uint32_t sector_size; /* the disk's own */
	int readonly;
	unsigned port; /* its event port (handled by the runtime) */
};

/*
 * Open the disk called name: connects its ring the first time (later
 * opens return the same handle).  0 with *out, or RT_BLK_ENOENT,
 * RT_BLK_ENOMEM, RT_BLK_EPROTO.
 */
int rt_blk_open(const char *name, struct rt_blk **out);
void rt_blk_info(const struct rt_blk *b, struct rt_blk_info *info);
/* How many disks this guest has, and the name of disk i (NULL past the end). */
unsigned rt_blk_count(void);
const char *rt_blk_name(unsigned i);

/*
 * Asynchronous: one request of count sectors at sector, into or from buf,
 * which must be 512-byte aligned and touch at most 11 pages (one blkif
 * request; a page-aligned buffer takes 88 sectors).  fn(arg, status) runs
 * from rt_evtchn_dispatch() once the host answered: status 0 or
 * RT_BLK_EIO.  Returns 0 once queued, or an error at once (RT_BLK_EBUSY
 * when all 32 slots are in flight, RT_BLK_ENOMEM when the platform has
 * no grant reference left for a page).  buf must stay valid until fn runs.
 */
typedef void (*rt_blk_done_fn)(void *arg, int status);
int rt_blk_submit(struct rt_blk *b, int write, uint64_t sector, void *buf, uint32_t count,
                  rt_blk_done_fn fn, void *arg);
/* Ask for every write so far to be on stable storage; fn as above. */
int rt_blk_submit_flush(struct rt_blk *b, rt_blk_done_fn fn, void *arg);

/*
 * Synchronous: any buffer, any length.  Split into requests (several in
 * flight; through bounce pages when buf is not 512-byte aligned), and
 * waits in rt_block(), running other ports' handlers meanwhile.  0 or an
 * error; on an error some of the sectors may have been done.
 */
int rt_blk_read(struct rt_blk *b, uint64_t sector, void *buf, uint64_t count);
int rt_blk_write(struct rt_blk *b, uint64_t sector, const void *buf, uint64_t count);
int rt_blk_flush(struct rt_blk *b);

/* Requests answered and refused since the disk was opened. */
void rt_blk_counters(const struct rt_blk *b, uint64_t *requests, uint64_t *errors);

const char *rt_blk_strerror(int err);

#endif /* SHOAL_BLK_H */
