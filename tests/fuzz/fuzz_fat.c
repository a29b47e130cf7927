/*
 * libFuzzer harness of the runtime's FAT reader (unikernel-rt/core/fat.c):
 * the input is the start of a disk of 64 MiB whose other sectors read as
 * zeros (so that a seed made by mkfs.fat needs only its bytes up to the
 * last one that is not zero).  The disk is mounted with 512-byte and
 * 4096-byte sectors, its tree walked (every entry looked up by its path,
 * every file read whole and at odd offsets), within a budget.  Reads stay
 * on the disk, errors have a message.  Seeds: FAT12, FAT16 and FAT32
 * images made by mkfs.fat and mcopy (tests/fuzz/seeds.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/fat.h>
#include <shoal/rt.h>

#define DISK_BYTES (64ull << 20)

/* ---- What the runtime would provide ---- */

void *rt_malloc(size_t size)
{
	return malloc(size);
}

void rt_free(void *p)
{
	free(p);
}

void rt__abort(const char *file, unsigned line, const char *msg)
{
	fprintf(stderr, "rt_abort at %s:%u: %s\n", file, line, msg);
	abort();
}

void plat_console_writev(const struct rt_iov *iov, unsigned n);
void plat_console_writev(const struct rt_iov *iov, unsigned n)
{
	(void)iov;
	(void)n;
}

struct disk {
	const uint8_t *p;
	size_t len;
	uint32_t sector_bytes;
};

static int disk_read(void *ctx, uint64_t sector, uint32_t count, void *buf)
{
	const struct disk *d = ctx;
	uint64_t sectors = DISK_BYTES / d->sector_bytes, off, n;

	if (sector >= sectors || count == 0 || count > sectors - sector)
		abort(); /* the reader asked for what the disk does not have */
	off = sector * d->sector_bytes;
	n = (uint64_t)count * d->sector_bytes;
	memset(buf, 0, n);
	if (off < d->len)
		memcpy(buf, d->p + off, d->len - off < n ? d->len - off : n);
	return 0;
}

static unsigned budget;
static uint8_t file_buf[1 << 16];

static void walk(struct rt_fat *fs, const struct rt_fat_node *dir, char *path, size_t plen,
                 unsigned depth)
{
	struct rt_fat_dirent ent;
	struct rt_fat_dir it;
	int rc;

	if (depth > 8 || rt_fat_dir_open(fs, dir, &it) < 0)
		return;
	while (budget && (rc = rt_fat_dir_next(fs, &it, &ent)) == 1) {
		struct rt_fat_node n;
		size_t len = strlen(ent.name);

		budget--;
		if (plen + 1 + len >= 4096)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, ent.name, len + 1);
		if (rt_fat_lookup(fs, path, &n) < 0 && !rt_fat_errmsg(fs)[0])
			abort();
		if (ent.node.is_dir) {
			if (strcmp(ent.name, ".") && strcmp(ent.name, ".."))
				walk(fs, &ent.node, path, plen + 1 + len, depth + 1);
		} else {
			int64_t got = rt_fat_read(fs, &ent.node, 0, file_buf, sizeof(file_buf));

			if (got > (int64_t)sizeof(file_buf) ||
			    (got >= 0 && got > (int64_t)ent.node.size_bytes))
				abort();
			rt_fat_read(fs, &ent.node, ent.node.size_bytes / 2 + 1, file_buf, 777);
			rt_fat_read(fs, &ent.node, (uint64_t)ent.node.size_bytes + 1, file_buf, 1);
		}
		path[plen] = '\0';
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t sector_sizes[] = { 512, 4096 };
	static char path[4096];
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct disk d = { data, size, sector_sizes[i] };
		struct rt_fat_dev dev = { disk_read, &d, DISK_BYTES / sector_sizes[i],
			                  sector_sizes[i] };
		struct rt_fat_node root, n;
		struct rt_fat *fs = NULL;
		char err[256];

		err[0] = '\0';
		if (rt_fat_mount(&dev, &fs, err, sizeof(err)) < 0) {
			if (!err[0])
				abort();
			continue;
		}
		budget = 256;
		rt_fat_root(fs, &root);
		path[0] = '\0';
		walk(fs, &root, path, 0, 0);
		rt_fat_lookup(fs, "/index.html", &n);
		rt_fat_lookup(fs, "/a/b/../c", &n);
		rt_fat_unmount(fs);
	}
	return 0;
}
