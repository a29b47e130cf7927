/*
 * fatcat: the FAT reader over a real disk, from inside a guest.
 *
 *   fatcat tree DISK        every file under / with its size and FNV-1a 64
 *                           hash ("fatcat: file PATH SIZE HASH"), every
 *                           directory ("fatcat: dir PATH")
 *   fatcat cat DISK PATH    the file's bytes on the console
 *
 * A disk that is not a sound FAT file system ends it with exit 1 and the
 * reader's sentence; a guest never faults on one.
 */
#include <shoal/blk.h>
#include <shoal/fat.h>
#include <shoal/rt.h>

#define DEPTH_MAX 16
#define PATH_MAX  1024

static int dev_read(void *ctx, uint64_t sector, uint32_t count, void *buf)
{
	return rt_blk_read(ctx, sector, buf, count) < 0 ? -1 : 0;
}

static uint8_t chunk[16384];

static int hash_file(struct rt_fat *fs, const struct rt_fat_node *n, uint64_t *h)
{
	uint64_t off = 0;

	*h = 0xcbf29ce484222325ull;
	while (off < n->size_bytes) {
		int64_t got = rt_fat_read(fs, n, off, chunk, sizeof(chunk));
		int64_t i;

		if (got <= 0)
			return got < 0 ? (int)got : RT_FAT_ECORRUPT;
		for (i = 0; i < got; i++) {
			*h ^= chunk[i];
			*h *= 0x100000001b3ull;
		}
		off += (uint64_t)got;
	}
	return 0;
}

/* Walk a directory, depth first; a loop in a hostile tree stops at DEPTH_MAX. */
static int walk(struct rt_fat *fs, const struct rt_fat_node *dir, char *path, size_t len, int depth)
{
	struct rt_fat_dirent *e = rt_malloc(sizeof(*e));
	struct rt_fat_dir it;
	int r;

	if (!e)
		return RT_FAT_ENOMEM;
	if (depth > DEPTH_MAX) {
		rt_printf("fatcat: %s is more than %d directories deep\n", path, DEPTH_MAX);
		rt_free(e);
		return RT_FAT_ECORRUPT;
	}
	r = rt_fat_dir_open(fs, dir, &it);
	while (r >= 0 && (r = rt_fat_dir_next(fs, &it, e)) > 0) {
		size_t n = strlen(e->name);

		if (len + 1 + n >= PATH_MAX) {
			r = RT_FAT_ENAMETOOLONG;
			break;
		}
		path[len] = '/';
		memcpy(path + len + 1, e->name, n + 1);
		if (e->node.is_dir) {
			rt_printf("fatcat: dir %s\n", path);
			r = walk(fs, &e->node, path, len + 1 + n, depth + 1);
		} else {
			uint64_t h;

			r = hash_file(fs, &e->node, &h);
			if (r == 0)
				rt_printf("fatcat: file %s %u %016llx\n", path, e->node.size_bytes,
				          (unsigned long long)h);
		}
		path[len] = '\0';
	}
	rt_free(e);
	return r;
}

int main(int argc, char **argv)
{
	struct rt_fat_dev dev;
	struct rt_fat_node node;
	struct rt_blk_info info;
	struct rt_blk *b;
	struct rt_fat *fs;
	static char path[PATH_MAX];
	char err[200];
	int r;

	if (argc < 3) {
		rt_puts("fatcat: tree DISK | cat DISK PATH\n");
		return 2;
	}
	if ((r = rt_blk_open(argv[2], &b)) < 0) {
		rt_printf("fatcat: disk %s: %s\n", argv[2], rt_blk_strerror(r));
		return 1;
	}
	rt_blk_info(b, &info);
	dev = (struct rt_fat_dev){ dev_read, b, info.sectors, RT_BLK_SECTOR };
	if (rt_fat_mount(&dev, &fs, err, sizeof(err)) < 0) {
		rt_printf("fatcat: disk %s: %s\n", argv[2], err);
		return 1;
	}
	if (!strcmp(argv[1], "tree")) {
		rt_fat_root(fs, &node);
		r = walk(fs, &node, path, 0, 0);
		if (r < 0) {
			rt_printf("fatcat: %s: %s\n", rt_fat_strerror(r), rt_fat_errmsg(fs));
			return 1;
		}
		rt_printf("fatcat: ok FAT%d\n", (int)rt_fat_type(fs));
		return 0;
	}
	if (!strcmp(argv[1], "cat") && argc > 3) {
		uint64_t off = 0;

		if ((r = rt_fat_lookup(fs, argv[3], &node)) < 0) {
			rt_printf("fatcat: %s: %s\n", argv[3], rt_fat_errmsg(fs));
			return 1;
		}
		while (off < node.size_bytes) {
			int64_t got = rt_fat_read(fs, &node, off, chunk, sizeof(chunk));

			if (got <= 0) {
				rt_printf("fatcat: %s: %s\n", argv[3], rt_fat_errmsg(fs));
				return 1;
			}
			rt_console_write((const char *)chunk, (size_t)got);
			off += (uint64_t)got;
		}
		return 0;
	}
	rt_puts("fatcat: tree DISK | cat DISK PATH\n");
	return 2;
}
