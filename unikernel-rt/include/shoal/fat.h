/*
 * unikernel-rt: a read-only FAT12/16/32 reader over any block device.
 * It reads through a sector callback (a block front-end in a guest, memory
 * in a unit test), treats every on-disk field as hostile, and answers a
 * corrupt disk with a negative code and a sentence, never a fault or an
 * endless walk.
 *
 * Memory: rt_fat_mount() takes one block from rt_malloc() (about 9 KiB,
 * whatever the disk's size: a 4 KiB window of the FAT, a 4 KiB window of
 * directory or file sectors, and a long-name buffer) and rt_fat_unmount()
 * gives it back.  Nothing else is allocated; handles and directory cursors
 * are the caller's.
 *
 * Self-contained C11; freestanding (only <stddef.h>, <stdint.h>,
 * <stdbool.h>).  Not thread-safe: one caller at a time per mount.
 */
#ifndef SHOAL_FAT_H
#define SHOAL_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Errors --------------------------------------------------------- */

/*
 * Every function that can fail returns one of these (negative) codes;
 * after a failure on a mounted file system rt_fat_errmsg() holds a
 * sentence that names the field or entry at fault.
 */
enum {
	RT_FAT_EIO = -1,          /* the device's read callback failed */
	RT_FAT_EBADFS = -2,       /* not a FAT file system: boot sector or BPB refused */
	RT_FAT_ECORRUPT = -3,     /* a FAT, a cluster chain or a directory entry is corrupt */
	RT_FAT_ENOENT = -4,       /* no such file or directory */
	RT_FAT_ENOTDIR = -5,      /* a path component is a file where a directory is needed */
	RT_FAT_EISDIR = -6,       /* a file operation on a directory */
	RT_FAT_EINVAL = -7,       /* a bad argument: a bad path, device or handle */
	RT_FAT_ENAMETOOLONG = -8, /* a path component longer than RT_FAT_NAME_MAX characters */
	RT_FAT_ENOMEM = -9,       /* rt_malloc() could not give the mount's block */
};

/* A fixed description of code rc ("unknown error" for others); never NULL. */
const char *rt_fat_strerror(int rc);

/* ---- Device and mount ----------------------------------------------- */

/*
 * The disk, as the caller gives it.  read() reads count whole device
 * sectors starting at sector into buf (count * sector_bytes bytes; buf has
 * no particular alignment) and returns 0, or a negative value on failure
 * (reported as RT_FAT_EIO).  The reader never asks for a sector at or past
 * sectors, and asks for as many sectors at once as it can (a run of
 * contiguous clusters is one call), since each call may be a device round
 * trip.  sector_bytes is 512, 1024, 2048 or 4096.
 */
struct rt_fat_dev {
	int (*read)(void *ctx, uint64_t sector, uint32_t count, void *buf);
	void *ctx;
	uint64_t sectors;
	uint32_t sector_bytes;
};

/* A mounted file system; opaque. */
struct rt_fat;

/* The FAT type, chosen by the cluster count as Microsoft's specification says. */
enum rt_fat_type { RT_FAT12 = 12, RT_FAT16 = 16, RT_FAT32 = 32 };

/*
 * Check the boot sector and BPB of the disk dev describes and mount it
 * read-only: 0 and *fsp set, or a negative code with *fsp NULL and a
 * sentence in err (err_len bytes, always terminated when err_len > 0; err
 * may be NULL).  The mount keeps a copy of *dev; dev->ctx must stay valid
 * until rt_fat_unmount().  Reads the first sector only.  RT_FAT_EBADFS
 * names the boot-sector or BPB field refused: no 55 AA signature or jump,
 * bytes per sector not 512/1024/2048/4096 or below the device's sector
 * size, sectors per cluster not a power of two, no reserved sectors, no
 * FATs, no FAT size, no total sectors, total sectors past the device, the
 * FATs and root region past the end of the disk, a FAT too small for the
 * clusters, fields that disagree with the type the cluster count gives,
 * a FAT32 root cluster or active FAT out of range.  RT_FAT_EINVAL: no
 * device, no read function, or a sector size or count that is not
 * sensible; RT_FAT_ENOMEM; RT_FAT_EIO.
 */
int rt_fat_mount(const struct rt_fat_dev *dev, struct rt_fat **fsp, char *err, size_t err_len);

/* Free the mount (NULL is allowed); its handles become meaningless. */
void rt_fat_unmount(struct rt_fat *fs);

/* The FAT type of a mount. */
enum rt_fat_type rt_fat_type(const struct rt_fat *fs);

/* Bytes per cluster of a mount. */
uint32_t rt_fat_cluster_bytes(const struct rt_fat *fs);

/*
 * The sentence that explains the last failure on fs (the empty string
 * before any); owned by fs, valid until the next call on fs.
 */
const char *rt_fat_errmsg(const struct rt_fat *fs);

/* ---- Files and directories ------------------------------------------ */

/* The longest name, in UTF-16 code units as FAT counts them. */
#define RT_FAT_NAME_MAX 255
/* A name's longest UTF-8 form, with its terminating NUL. */
#define RT_FAT_NAME_BYTES (3 * RT_FAT_NAME_MAX + 1)

/*
 * A file or directory: a value the caller owns and may copy, valid while
 * its mount is.  Filled by rt_fat_root(), rt_fat_lookup() and
 * rt_fat_dir_next(); its fields are for reading only.
 */
struct rt_fat_node {
	uint32_t first_cluster; /* 0 for an empty file and the FAT12/16 root */
	uint32_t size_bytes;    /* a file's size; 0 for a directory */
	uint64_t mtime_s;       /* modification time, seconds since 1970 (the disk's
	                         * local time read as UTC); 0 if unknown or invalid */
	bool is_dir;
	bool is_root;
};

/* The root directory of fs into *node. */
void rt_fat_root(const struct rt_fat *fs, struct rt_fat_node *node);

/*
 * Find path, an absolute UTF-8 path ("/", "/papers/2024/a.pdf"), and fill
 * *node.  Names compare case-insensitively as FAT does (ASCII, and the
 * Latin-1, Latin Extended-A, Greek and Cyrillic letters), against the long
 * name and against the 8.3 short name.  RT_FAT_EINVAL for a path that is
 * not absolute, has an empty component ("//", a trailing '/'), a "." or
 * ".." component, or is not UTF-8; RT_FAT_ENAMETOOLONG for a component
 * over RT_FAT_NAME_MAX; RT_FAT_ENOENT, RT_FAT_ENOTDIR; RT_FAT_ECORRUPT or
 * RT_FAT_EIO from the directories on the way.
 */
int rt_fat_lookup(struct rt_fat *fs, const char *path, struct rt_fat_node *node);

/*
 * Read up to len bytes of file at byte offset into buf: the number of bytes
 * read (0 at or past the end; less than len only at the end), or a negative
 * code: RT_FAT_EISDIR for a directory, RT_FAT_ECORRUPT for a cluster chain
 * that ends before the file's size, leads out of range, or goes on (or
 * loops) past the file's last cluster, RT_FAT_EIO.  Whole sectors go
 * straight into buf, one device call per run of contiguous clusters.
 * Reads that go on from where the last one ended do not walk the chain
 * again from its start.
 */
int64_t rt_fat_read(struct rt_fat *fs, const struct rt_fat_node *file, uint64_t offset, void *buf,
                    size_t len);

/*
 * A cursor over one directory's entries; the caller owns it (it may live
 * on the stack) and must not touch its fields.
 */
struct rt_fat_dir {
	uint32_t first_cluster; /* 0: the FAT12/16 fixed root region */
	uint32_t cluster;       /* the cluster the cursor is in */
	uint32_t index;         /* entries visited so far */
	uint32_t clusters;      /* clusters visited so far */
	int error;              /* the error the cursor stopped at, or 0 */
	bool done;
};

/* One entry as rt_fat_dir_next() gives it: its UTF-8 name and its node. */
struct rt_fat_dirent {
	char name[RT_FAT_NAME_BYTES];
	struct rt_fat_node node;
};

/*
 * Start a cursor over directory dir: 0, or RT_FAT_ENOTDIR for a file,
 * RT_FAT_EINVAL for a node that cannot be a directory of fs.
 */
int rt_fat_dir_open(const struct rt_fat *fs, const struct rt_fat_node *dir, struct rt_fat_dir *it);

/*
 * The next entry of it into *ent: 1, 0 at the end (and on every call
 * after), or a negative code.  Gives every file and subdirectory once, in
 * disk order, with its long name (or its short name when it has none);
 * skips ".", "..", deleted entries and the volume label.  RT_FAT_ECORRUPT
 * for an entry that points past the disk, a file size past the disk, a
 * long-name sequence that is broken (out of order, a checksum that does not
 * match its short entry, longer than RT_FAT_NAME_MAX, characters FAT
 * forbids), a short name FAT forbids (only non-ASCII short names are
 * refused, since no code page is assumed), a directory chain out of range
 * or longer than 65536 entries or than the disk (a loop); the cursor then
 * stays at its error.  A hostile disk can still make a directory its own
 * descendant (a subdirectory entry naming an ancestor's cluster): a caller
 * that walks a whole tree must bound its depth.
 */
int rt_fat_dir_next(struct rt_fat *fs, struct rt_fat_dir *it, struct rt_fat_dirent *ent);

#endif /* SHOAL_FAT_H */
