/*
 * Unit tests of the guest runtime's FAT reader, compiled for the host:
 * FAT12, FAT16 and FAT32 images made at test time with mkfs.fat and
 * mtools (never mounted), read back name by name and byte by byte, then a
 * corpus of images patched to be corrupt, each with the error it must
 * give, and random damage to the metadata that must never crash the reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include <shoal/fat.h>
#include <shoal/rt.h>

/* ---- What the runtime would provide ---- */

/* The host heap, so that valgrind sees every byte of the mount's block. */
static int malloc_fails;
static long live_blocks;

void *rt_malloc(size_t size)
{
	void *p;

	if (malloc_fails)
		return NULL;
	p = malloc(size);
	if (p)
		live_blocks++;
	return p;
}

void rt_free(void *p)
{
	if (p)
		live_blocks--;
	free(p);
}

void rt__abort(const char *file, unsigned line, const char *msg)
{
	fail_msg("rt_abort at %s:%u: %s", file, line, msg);
	abort();
}

void plat_console_writev(const struct rt_iov *iov, unsigned n);
void plat_console_writev(const struct rt_iov *iov, unsigned n)
{
	(void)iov;
	(void)n;
}

/* ---- A disk in memory ---- */

struct disk {
	uint8_t *p; /* the image, mapped copy-on-write so that cases can patch it */
	size_t bytes;
	uint32_t sector_bytes;
	unsigned calls;  /* read() calls so far */
	long fail_after; /* read() fails once this many more calls are made; -1 never */
	int img;
};

static int disk_read(void *ctx, uint64_t sector, uint32_t count, void *buf)
{
	struct disk *d = ctx;
	uint64_t sectors = d->bytes / d->sector_bytes;

	if (sector >= sectors || count > sectors - sector || count == 0)
		fail_msg("read of %u sectors at %llu is past the disk's %llu", count,
		         (unsigned long long)sector, (unsigned long long)sectors);
	d->calls++;
	if (d->fail_after >= 0 && d->fail_after-- == 0)
		return -5;
	memcpy(buf, d->p + sector * d->sector_bytes, (size_t)count * d->sector_bytes);
	return 0;
}

static char tmpdir[] = "/tmp/test_rt_fat.XXXXXX";
static char mkfs[512], mcopy[512], mmd[512], mdel[512], mshortname[512];

enum { IMG12, IMG16, IMG32, IMG16K, NIMG };
static const struct {
	const char *file;
	const char *mkfs_args;
	unsigned kib;
	enum rt_fat_type type;
} images[NIMG] = {
	[IMG12] = { "f12.img", "-F 12 -s 1", 1440, RT_FAT12 },
	[IMG16] = { "f16.img", "-F 16 -s 4", 32768, RT_FAT16 },
	[IMG32] = { "f32.img", "-F 32 -s 1", 40960, RT_FAT32 },
	[IMG16K] = { "f16k.img", "-F 16 -S 4096 -s 1", 40960, RT_FAT16 },
};
static char long_short_name[NIMG][256]; /* mshortname's answer for the long HTML name */

static void disk_open(struct disk *d, int img, uint32_t sector_bytes)
{
	char path[1024];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, images[img].file);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		fail_msg("cannot open %s", path);
	d->bytes = (size_t)st.st_size;
	d->p = mmap(NULL, d->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (d->p == MAP_FAILED)
		fail_msg("cannot map %s", path);
	d->sector_bytes = sector_bytes;
	d->calls = 0;
	d->fail_after = -1;
	d->img = img;
}

static void disk_close(struct disk *d)
{
	munmap(d->p, d->bytes);
}

static struct rt_fat_dev dev_of(struct disk *d)
{
	struct rt_fat_dev dev = { disk_read, d, d->bytes / d->sector_bytes, d->sector_bytes };

	return dev;
}

static struct rt_fat *mount_ok(struct disk *d)
{
	struct rt_fat_dev dev = dev_of(d);
	struct rt_fat *fs;
	char err[256];
	int rc;

	rc = rt_fat_mount(&dev, &fs, err, sizeof(err));
	if (rc != 0)
		fail_msg("mount: %d %s", rc, err);
	return fs;
}

/* ---- Making the images ---- */

/* Byte i of big.bin and contig.bin: no period a misplaced cluster could hide in. */
static uint8_t pattern(uint64_t i, unsigned seed)
{
	uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)seed * 0xBF58476D1CE4E5B9ull;

	x ^= x >> 29;
	return (uint8_t)(x ^ x >> 17);
}

#define BIG_BYTES    300001u
#define CONTIG_BYTES 100003u
#define FILLER_BYTES 20480u
#define MANY         100

static const char *const long_names[] = {
	"A long file name with spaces.html",
	"café-ñandú.txt",
	"Ωmega.txt",
	"日本語のファイル.txt",
};

static void write_file(const char *rel, const void *data, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		fail_msg("cannot write %s", path);
}

static void write_pattern(const char *rel, size_t n, unsigned seed)
{
	uint8_t *b = malloc(n);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < n; i++)
		b[i] = pattern(i, seed);
	write_file(rel, b, n);
	free(b);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("command failed (%d): %s", st, cmd);
}

/*
 * The tree every image holds.  f1, f2 and f3 go first and f2 is deleted,
 * so that big.bin fills f2's hole and goes on after f3: a chain of two
 * runs.
 */
static void make_sources(void)
{
	char rel[256];
	unsigned i;

	sh("mkdir -p '%s/src/papers/2024' '%s/src/a/b/c/d/e/f' '%s/src/many'", tmpdir, tmpdir,
	   tmpdir);
	write_pattern("f1", FILLER_BYTES, 1);
	write_pattern("f2", FILLER_BYTES, 2);
	write_pattern("f3", FILLER_BYTES, 3);
	write_pattern("big.bin", BIG_BYTES, 4);
	write_pattern("src/contig.bin", CONTIG_BYTES, 5);
	write_file("src/hello.txt", "Hello, shoal\n", 13);
	write_file("src/README.TXT", "readme\n", 7);
	write_file("src/empty.txt", "", 0);
	write_file("src/papers/2024/a.pdf", "%PDF-1.4\n", 9);
	write_file("src/a/b/c/d/e/f/deep.txt", "deep\n", 5);
	for (i = 0; i < sizeof(long_names) / sizeof(long_names[0]); i++) {
		snprintf(rel, sizeof(rel), "src/%s", long_names[i]);
		write_file(rel, long_names[i], strlen(long_names[i]));
	}
	for (i = 0; i < MANY; i++) {
		snprintf(rel, sizeof(rel), "src/many/entry %03u with a long name.txt", i);
		write_file(rel, rel + 9, strlen(rel + 9));
	}
}

static void make_image(int img)
{
	const char *f = images[img].file;
	char out[256] = "";
	FILE *p;
	char cmd[2048];

	sh("cd '%s' && '%s' %s -C %s %u >/dev/null", tmpdir, mkfs, images[img].mkfs_args, f,
	   images[img].kib);
	sh("cd '%s' && '%s' -i %s f1 f2 f3 ::/ && '%s' -i %s ::/f2 && '%s' -i %s big.bin ::/ && "
	   "'%s' -s -i %s src/* ::/",
	   tmpdir, mcopy, f, mdel, f, mcopy, f, mcopy, f);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' -i %s '::/%s'", tmpdir, mshortname, f,
	         long_names[0]);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
	if (strncmp(out, "::/", 3) != 0)
		fail_msg("mshortname said \"%s\"", out);
	snprintf(long_short_name[img], sizeof(long_short_name[img]), "%s", out + 2);
}

static bool find_tool(const char *name, char *path, size_t len)
{
	static const char *const extra[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	const char *env = getenv("PATH");
	char dirs[4096];
	char *save = NULL, *d;
	size_t i;

	snprintf(dirs, sizeof(dirs), "%s", env ? env : "");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/%s", d, name);
		if (access(path, X_OK) == 0)
			return true;
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(path, len, "%s/%s", extra[i], name);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

static bool find_tools(void)
{
	return find_tool("mkfs.fat", mkfs, sizeof(mkfs)) &&
	       find_tool("mcopy", mcopy, sizeof(mcopy)) && find_tool("mmd", mmd, sizeof(mmd)) &&
	       find_tool("mdel", mdel, sizeof(mdel)) &&
	       find_tool("mshortname", mshortname, sizeof(mshortname));
}

static int setup_images(void **state)
{
	int i;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	/* mtools converts names through the locale; mkfs.fat wants no terminal. */
	setenv("LC_ALL", "C.UTF-8", 1);
	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	make_sources();
	for (i = 0; i < NIMG; i++)
		make_image(i);
	return 0;
}

static int teardown_images(void **state)
{
	char cmd[1024];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- Good images ---- */

static int read_all(struct rt_fat *fs, const struct rt_fat_node *n, uint8_t **out)
{
	int64_t got;

	*out = malloc(n->size_bytes + 1);
	assert_non_null(*out);
	got = rt_fat_read(fs, n, 0, *out, n->size_bytes + 1);
	if (got != (int64_t)n->size_bytes)
		fail_msg("read of %u bytes gave %lld: %s", n->size_bytes, (long long)got,
		         rt_fat_errmsg(fs));
	return (int)got;
}

static void lookup_ok(struct rt_fat *fs, const char *path, struct rt_fat_node *n)
{
	int rc = rt_fat_lookup(fs, path, n);

	if (rc != 0)
		fail_msg("lookup \"%s\": %d %s", path, rc, rt_fat_errmsg(fs));
}

static void check_pattern(const uint8_t *b, size_t n, uint64_t from, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != pattern(from + i, seed))
			fail_msg("byte %llu is %02x, not %02x", (unsigned long long)(from + i),
			         b[i], pattern(from + i, seed));
}

static void types_by_cluster_count(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NIMG; i++) {
		struct disk d;
		struct rt_fat *fs;

		disk_open(&d, i, 512);
		fs = mount_ok(&d);
		assert_int_equal(rt_fat_type(fs), images[i].type);
		rt_fat_unmount(fs);
		disk_close(&d);
	}
	assert_int_equal(live_blocks, 0);
}

struct want {
	const char *name;
	bool is_dir;
	uint32_t size;
	bool seen;
};

static void root_lists_every_entry(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NIMG; i++) {
		struct want w[] = {
			{ "f1", false, FILLER_BYTES, false },
			{ "f3", false, FILLER_BYTES, false },
			{ "big.bin", false, BIG_BYTES, false },
			{ "contig.bin", false, CONTIG_BYTES, false },
			{ "hello.txt", false, 13, false },
			{ "README.TXT", false, 7, false },
			{ "empty.txt", false, 0, false },
			{ long_names[0], false, (uint32_t)strlen(long_names[0]), false },
			{ long_names[1], false, (uint32_t)strlen(long_names[1]), false },
			{ long_names[2], false, (uint32_t)strlen(long_names[2]), false },
			{ long_names[3], false, (uint32_t)strlen(long_names[3]), false },
			{ "papers", true, 0, false },
			{ "a", true, 0, false },
			{ "many", true, 0, false },
		};
		struct rt_fat_dirent ent;
		struct rt_fat_node root;
		struct rt_fat_dir it;
		struct rt_fat *fs;
		struct disk d;
		size_t k;
		int rc;

		disk_open(&d, i, 512);
		fs = mount_ok(&d);
		rt_fat_root(fs, &root);
		assert_int_equal(rt_fat_dir_open(fs, &root, &it), 0);
		while ((rc = rt_fat_dir_next(fs, &it, &ent)) == 1) {
			for (k = 0; k < sizeof(w) / sizeof(w[0]); k++)
				if (strcmp(w[k].name, ent.name) == 0)
					break;
			if (k == sizeof(w) / sizeof(w[0]))
				fail_msg("%s: unexpected entry \"%s\"", images[i].file, ent.name);
			if (w[k].seen)
				fail_msg("%s: \"%s\" listed twice", images[i].file, ent.name);
			w[k].seen = true;
			assert_int_equal(ent.node.is_dir, w[k].is_dir);
			assert_int_equal(ent.node.size_bytes, w[k].size);
			/* The images were made just now: a time within a day of now. */
			if (ent.node.mtime_s + 86400 < (uint64_t)time(NULL) ||
			    ent.node.mtime_s > (uint64_t)time(NULL) + 86400)
				fail_msg("%s: \"%s\" has mtime %llu", images[i].file, ent.name,
				         (unsigned long long)ent.node.mtime_s);
		}
		if (rc != 0)
			fail_msg("%s: listing: %d %s", images[i].file, rc, rt_fat_errmsg(fs));
		for (k = 0; k < sizeof(w) / sizeof(w[0]); k++)
			if (!w[k].seen)
				fail_msg("%s: \"%s\" not listed", images[i].file, w[k].name);
		/* The end stays the end. */
		assert_int_equal(rt_fat_dir_next(fs, &it, &ent), 0);
		rt_fat_unmount(fs);
		disk_close(&d);
	}
}

static void lookup_finds_names(void **state)
{
	static const struct {
		const char *path, *content;
	} c[] = {
		{ "/hello.txt", "Hello, shoal\n" },
		{ "/HELLO.TXT", "Hello, shoal\n" },
		{ "/readme.txt", "readme\n" },
		{ "/papers/2024/a.pdf", "%PDF-1.4\n" },
		{ "/PAPERS/2024/A.PDF", "%PDF-1.4\n" },
		{ "/a/b/c/d/e/f/deep.txt", "deep\n" },
		{ "/A/B/C/D/E/F/DEEP.TXT", "deep\n" },
		{ "/a long FILE name with SPACES.HTML", "A long file name with spaces.html" },
		{ "/café-ñandú.txt", "café-ñandú.txt" },
		{ "/CAFÉ-ÑANDÚ.TXT", "café-ñandú.txt" },
		{ "/ωMEGA.txt", "Ωmega.txt" },
		{ "/日本語のファイル.TXT", "日本語のファイル.txt" },
		{ "/many/entry 099 with a long name.txt", "entry 099 with a long name.txt" },
		{ "/many/ENTRY 000 WITH A LONG NAME.TXT", "entry 000 with a long name.txt" },
	};
	int i;

	(void)state;
	for (i = 0; i < NIMG; i++) {
		struct rt_fat_node n;
		struct rt_fat *fs;
		struct disk d;
		uint8_t *b;
		size_t k;

		disk_open(&d, i, 512);
		fs = mount_ok(&d);
		for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
			lookup_ok(fs, c[k].path, &n);
			assert_false(n.is_dir);
			read_all(fs, &n, &b);
			if (n.size_bytes != strlen(c[k].content) ||
			    memcmp(b, c[k].content, n.size_bytes) != 0)
				fail_msg("%s: %s: wrong content", images[i].file, c[k].path);
			free(b);
		}
		/* The 8.3 alias mtools gave the long name finds the same file. */
		lookup_ok(fs, long_short_name[i], &n);
		assert_int_equal(n.size_bytes, strlen(long_names[0]));
		lookup_ok(fs, "/", &n);
		assert_true(n.is_dir && n.is_root);
		lookup_ok(fs, "/papers/2024", &n);
		assert_true(n.is_dir && !n.is_root);
		rt_fat_unmount(fs);
		disk_close(&d);
	}
}

static void big_file_reads_byte_for_byte(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NIMG; i++) {
		static uint8_t buf[BIG_BYTES + 100];
		struct rt_fat_node n;
		struct rt_fat *fs;
		struct disk d;
		unsigned seed = 77, k;
		uint64_t off;
		int64_t got;

		disk_open(&d, i, 512);
		fs = mount_ok(&d);
		lookup_ok(fs, "/big.bin", &n);
		assert_int_equal(n.size_bytes, BIG_BYTES);
		assert_true(n.size_bytes / rt_fat_cluster_bytes(fs) > 20);
		/* All of it at once, asking for more than there is. */
		memset(buf, 0, sizeof(buf));
		got = rt_fat_read(fs, &n, 0, buf, sizeof(buf));
		assert_int_equal(got, BIG_BYTES);
		check_pattern(buf, BIG_BYTES, 0, 4);
		/* In odd chunks from the start, then from the end backwards. */
		for (off = 0; off < BIG_BYTES; off += (uint64_t)got) {
			got = rt_fat_read(fs, &n, off, buf, 1237);
			assert_true(got > 0);
			check_pattern(buf, (size_t)got, off, 4);
		}
		for (off = BIG_BYTES; off > 0;) {
			size_t want = off > 3001 ? 3001 : (size_t)off;

			off -= want;
			got = rt_fat_read(fs, &n, off, buf, want);
			assert_int_equal(got, (int64_t)want);
			check_pattern(buf, want, off, 4);
		}
		/* Random offsets and lengths: single bytes, sector and cluster edges. */
		for (k = 0; k < 400; k++) {
			size_t want;

			seed = seed * 1103515245u + 12345u;
			off = (seed >> 4) % (BIG_BYTES + 10);
			seed = seed * 1103515245u + 12345u;
			want = k % 4 == 0 ? 1 : (seed >> 4) % 20000;
			got = rt_fat_read(fs, &n, off, buf, want);
			if (off >= BIG_BYTES) {
				assert_int_equal(got, 0);
				continue;
			}
			assert_int_equal(
			    got, (int64_t)(want < BIG_BYTES - off ? want : BIG_BYTES - off));
			check_pattern(buf, (size_t)got, off, 4);
		}
		rt_fat_unmount(fs);
		disk_close(&d);
	}
}

static void big_directory_spans_clusters(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NIMG; i++) {
		bool seen[MANY] = { false };
		struct rt_fat_dirent ent;
		struct rt_fat_node n;
		struct rt_fat_dir it;
		struct rt_fat *fs;
		struct disk d;
		unsigned count = 0, k;
		int rc;

		disk_open(&d, i, 512);
		fs = mount_ok(&d);
		lookup_ok(fs, "/many", &n);
		assert_true(n.is_dir);
		/* 100 names of 3 entries each: more than one cluster on every image. */
		assert_true(MANY * 3 * 32 > rt_fat_cluster_bytes(fs));
		assert_int_equal(rt_fat_dir_open(fs, &n, &it), 0);
		while ((rc = rt_fat_dir_next(fs, &it, &ent)) == 1) {
			if (sscanf(ent.name, "entry %u with a long name.txt", &k) != 1 ||
			    k >= MANY || seen[k])
				fail_msg("%s: unexpected \"%s\"", images[i].file, ent.name);
			seen[k] = true;
			count++;
			assert_int_equal(ent.node.size_bytes, strlen(ent.name));
		}
		assert_int_equal(rc, 0);
		assert_int_equal(count, MANY);
		rt_fat_unmount(fs);
		disk_close(&d);
	}
}

static void empty_file_reads_nothing(void **state)
{
	struct rt_fat_node n;
	struct rt_fat *fs;
	struct disk d;
	char b[4];

	(void)state;
	disk_open(&d, IMG12, 512);
	fs = mount_ok(&d);
	lookup_ok(fs, "/empty.txt", &n);
	assert_int_equal(n.size_bytes, 0);
	assert_int_equal(n.first_cluster, 0);
	assert_int_equal(rt_fat_read(fs, &n, 0, b, sizeof(b)), 0);
	assert_int_equal(rt_fat_read(fs, &n, 5, b, sizeof(b)), 0);
	rt_fat_unmount(fs);
	disk_close(&d);
}

static void bad_paths_are_refused(void **state)
{
	static const struct {
		const char *path;
		int rc;
	} c[] = {
		{ "", RT_FAT_EINVAL },
		{ "hello.txt", RT_FAT_EINVAL },
		{ "//hello.txt", RT_FAT_EINVAL },
		{ "/papers//2024", RT_FAT_EINVAL },
		{ "/papers/", RT_FAT_EINVAL },
		{ "/..", RT_FAT_EINVAL },
		{ "/.", RT_FAT_EINVAL },
		{ "/papers/../hello.txt", RT_FAT_EINVAL },
		{ "/papers/./2024", RT_FAT_EINVAL },
		{ "/caf\xe9.txt", RT_FAT_EINVAL },      /* Latin-1, not UTF-8 */
		{ "/\xc0\xaf", RT_FAT_EINVAL },         /* an overlong '/' */
		{ "/\xed\xa0\x80.txt", RT_FAT_EINVAL }, /* a surrogate */
		{ "/nothere", RT_FAT_ENOENT },
		{ "/papers/2023/a.pdf", RT_FAT_ENOENT },
		{ "/hello.txt/x", RT_FAT_ENOTDIR },
		{ "/hello.txt ", RT_FAT_ENOENT },
	};
	char longname[600];
	struct rt_fat_node n, root;
	struct rt_fat_dir it;
	struct rt_fat *fs;
	struct disk d;
	char b[4];
	size_t k;

	(void)state;
	disk_open(&d, IMG16, 512);
	fs = mount_ok(&d);
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		int rc = rt_fat_lookup(fs, c[k].path, &n);

		if (rc != c[k].rc)
			fail_msg("lookup \"%s\": %d (%s), expected %d", c[k].path, rc,
			         rt_fat_errmsg(fs), c[k].rc);
		assert_true(rt_fat_errmsg(fs)[0] != '\0');
	}
	/* 255 characters may be looked up; 256 may not. */
	longname[0] = '/';
	memset(longname + 1, 'x', 256);
	longname[257] = '\0';
	assert_int_equal(rt_fat_lookup(fs, longname, &n), RT_FAT_ENAMETOOLONG);
	longname[256] = '\0';
	assert_int_equal(rt_fat_lookup(fs, longname, &n), RT_FAT_ENOENT);
	/* 128 two-unit characters are 256 UTF-16 units. */
	longname[0] = '/';
	for (k = 0; k < 128; k++)
		memcpy(longname + 1 + 4 * k, "\xf0\x9f\x90\x9f", 4);
	longname[1 + 4 * 128] = '\0';
	assert_int_equal(rt_fat_lookup(fs, longname, &n), RT_FAT_ENAMETOOLONG);

	/* A message cut to its buffer is cut between characters, wherever the cut falls. */
	for (k = 0; k < 2; k++) {
		const char *m;
		size_t len, j;

		memset(longname, 'x', 1 + k);
		longname[0] = '/';
		for (j = 0; j < 200; j++)
			memcpy(longname + 1 + k + 2 * j, "\xc3\xa9", 2);
		longname[1 + k + 2 * 200] = '\0';
		assert_int_equal(rt_fat_lookup(fs, longname, &n), RT_FAT_ENOENT);
		m = rt_fat_errmsg(fs);
		len = strlen(m);
		assert_true(len > 200);
		assert_true((unsigned char)m[len - 1] < 0x80 || (unsigned char)m[len - 2] == 0xc3);
	}

	rt_fat_root(fs, &root);
	assert_int_equal(rt_fat_read(fs, &root, 0, b, sizeof(b)), RT_FAT_EISDIR);
	lookup_ok(fs, "/hello.txt", &n);
	assert_int_equal(rt_fat_dir_open(fs, &n, &it), RT_FAT_ENOTDIR);
	assert_string_equal(rt_fat_strerror(RT_FAT_ENOENT), "no such file or directory");
	assert_string_equal(rt_fat_strerror(12345), "unknown error");
	rt_fat_unmount(fs);
	disk_close(&d);
}

/* FAT with 4 KiB sectors, on a device of 512-byte and of 4 KiB sectors. */
static void large_sectors(void **state)
{
	static const uint32_t ss[] = { 512, 4096 };
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		static uint8_t buf[BIG_BYTES];
		struct rt_fat_node n;
		struct rt_fat *fs;
		struct disk d;

		disk_open(&d, IMG16K, ss[k]);
		fs = mount_ok(&d);
		assert_int_equal(rt_fat_cluster_bytes(fs), 4096);
		lookup_ok(fs, "/big.bin", &n);
		assert_int_equal(rt_fat_read(fs, &n, 0, buf, sizeof(buf)), BIG_BYTES);
		check_pattern(buf, BIG_BYTES, 0, 4);
		assert_int_equal(rt_fat_read(fs, &n, 4095, buf, 4098), 4098);
		check_pattern(buf, 4098, 4095, 4);
		rt_fat_unmount(fs);
		disk_close(&d);
	}
}

/* ---- Corrupt images ---- */

/* The layout, read independently of the reader under test. */
struct geo {
	uint32_t bps, spc, rsvd, nfats, fatsz, root_ent, total, clusters, root_clus;
	uint64_t fat_off, root_off, data_off;
	int type;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static struct geo geo_of(const uint8_t *b)
{
	struct geo g;
	uint32_t root_sec;

	g.bps = get16(b + 11);
	g.spc = b[13];
	g.rsvd = get16(b + 14);
	g.nfats = b[16];
	g.root_ent = get16(b + 17);
	g.total = get16(b + 19) ? get16(b + 19) : get32(b + 32);
	g.fatsz = get16(b + 22) ? get16(b + 22) : get32(b + 36);
	root_sec = (g.root_ent * 32 + g.bps - 1) / g.bps;
	g.fat_off = (uint64_t)g.rsvd * g.bps;
	g.root_off = g.fat_off + (uint64_t)g.nfats * g.fatsz * g.bps;
	g.data_off = g.root_off + (uint64_t)root_sec * g.bps;
	g.clusters = (uint32_t)((g.total - g.data_off / g.bps) / g.spc);
	g.type = g.clusters < 4085 ? 12 : g.clusters < 65525 ? 16 : 32;
	g.root_clus = g.type == 32 ? get32(b + 44) : 0;
	return g;
}

static uint32_t fat_get(const uint8_t *img, const struct geo *g, uint32_t c)
{
	const uint8_t *f = img + g->fat_off;

	if (g->type == 12) {
		uint32_t v = get16(f + c + c / 2);

		return c & 1 ? v >> 4 : v & 0xFFF;
	}
	return g->type == 16 ? get16(f + 2 * c) : get32(f + 4 * c) & 0x0FFFFFFF;
}

static void fat_set(uint8_t *img, const struct geo *g, uint32_t c, uint32_t v)
{
	uint8_t *f = img + g->fat_off;

	if (g->type == 12) {
		uint32_t w = get16(f + c + c / 2);

		w = c & 1 ? (w & 0x000F) | v << 4 : (w & 0xF000) | (v & 0xFFF);
		put16(f + c + c / 2, w);
	} else if (g->type == 16) {
		put16(f + 2 * c, v);
	} else {
		put32(f + 4 * c, v);
	}
}

/* The directory entry whose 11-byte short name is name11 (not a long-name part). */
static uint8_t *find_short(const struct disk *d, const struct geo *g, const char *name11)
{
	uint64_t off;

	for (off = g->root_off; off + 32 <= d->bytes; off += 32) {
		uint8_t *e = d->p + off;

		if (memcmp(e, name11, 11) == 0 && (e[11] & 0x3F) != 0x0F)
			return e;
	}
	fail_msg("no entry \"%s\"", name11);
	return NULL;
}

/* The nth cluster of the chain that starts at c. */
static uint32_t nth_cluster(const uint8_t *img, const struct geo *g, uint32_t c, unsigned n)
{
	while (n--)
		c = fat_get(img, g, c);
	return c;
}

static uint32_t first_of(const struct geo *g, const uint8_t *e)
{
	return get16(e + 26) | (g->type == 32 ? (uint32_t)get16(e + 20) << 16 : 0);
}

static uint32_t eoc(const struct geo *g)
{
	return g->type == 12 ? 0xFFF : g->type == 16 ? 0xFFFF : 0x0FFFFFFF;
}

/* The long-name entries before short entry e: part k (1 = the name's start) is e - 32 * k. */
static uint8_t *lfn_part(uint8_t *e, unsigned k)
{
	return e - 32 * k;
}

/* The runs of contiguous clusters in the chain that starts at c. */
static unsigned runs_of(const uint8_t *img, const struct geo *g, uint32_t c)
{
	unsigned runs = 1;
	uint32_t next;

	while ((next = fat_get(img, g, c)) < eoc(g) - 8) {
		if (next != c + 1)
			runs++;
		c = next;
	}
	return runs;
}

/*
 * A run of contiguous clusters is one device call: a contiguous file takes
 * one for its whole sectors and one for its last part sector, beside the
 * FAT window; big.bin, which fills a hole first, takes one more per run.
 */
static void contiguous_clusters_are_one_call(void **state)
{
	unsigned most_runs = 0;
	int i;

	(void)state;
	for (i = 0; i < NIMG; i++) {
		static uint8_t buf[BIG_BYTES];
		struct rt_fat_node n;
		struct rt_fat *fs;
		unsigned before, calls, runs;
		struct disk d;
		struct geo g;

		disk_open(&d, i, 512);
		g = geo_of(d.p);
		fs = mount_ok(&d);
		lookup_ok(fs, "/contig.bin", &n);
		assert_int_equal(runs_of(d.p, &g, n.first_cluster), 1);
		before = d.calls;
		assert_int_equal(rt_fat_read(fs, &n, 0, buf, sizeof(buf)), CONTIG_BYTES);
		check_pattern(buf, CONTIG_BYTES, 0, 5);
		calls = d.calls - before;
		if (calls > 4)
			fail_msg("%s: %u device calls for a contiguous file of %u clusters",
			         images[i].file, calls,
			         CONTIG_BYTES / rt_fat_cluster_bytes(fs) + 1);

		lookup_ok(fs, "/big.bin", &n);
		runs = runs_of(d.p, &g, n.first_cluster);
		if (runs > most_runs)
			most_runs = runs;
		before = d.calls;
		assert_int_equal(rt_fat_read(fs, &n, 0, buf, sizeof(buf)), BIG_BYTES);
		calls = d.calls - before;
		if (calls < runs || calls > runs + 3)
			fail_msg("%s: %u device calls for a file in %u runs", images[i].file, calls,
			         runs);
		rt_fat_unmount(fs);
		disk_close(&d);
	}
	/* mtools fills the hole at least on one image (FAT32 may allocate past it). */
	assert_true(most_runs >= 2);
}

enum op { MOUNT, LIST_ROOT, LOOKUP, READ };

struct bad_case {
	const char *what;
	int img;
	void (*patch)(struct disk *d, const struct geo *g);
	enum op op;
	const char *path; /* LOOKUP: the path; READ: the file; LIST_ROOT: a directory to list */
	int rc;
	const char *msg; /* a piece of rt_fat_errmsg() */
	uint32_t sector_bytes;
};

static uint8_t *boot(struct disk *d)
{
	return d->p;
}

static void p_bps_513(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 11, 513);
}

static void p_bps_256(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 11, 256);
}

static void p_spc_3(struct disk *d, const struct geo *g)
{
	(void)g;
	boot(d)[13] = 3;
}

static void p_spc_0(struct disk *d, const struct geo *g)
{
	(void)g;
	boot(d)[13] = 0;
}

static void p_rsvd_0(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 14, 0);
}

static void p_nfats_0(struct disk *d, const struct geo *g)
{
	(void)g;
	boot(d)[16] = 0;
}

static void p_total_past_device(struct disk *d, const struct geo *g)
{
	if (get16(boot(d) + 19)) {
		put16(boot(d) + 19, 0);
		put32(boot(d) + 32, g->total + 1);
	} else {
		put32(boot(d) + 32, g->total + 1);
	}
}

static void p_total_0(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 19, 0);
	put32(boot(d) + 32, 0);
}

static void p_fat_past_end(struct disk *d, const struct geo *g)
{
	if (g->type == 32)
		put32(boot(d) + 36, g->total);
	else
		put16(boot(d) + 22, 0xFFFF);
}

static void p_fatsz_0(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 22, 0);
	put32(boot(d) + 36, 0); /* FAT32's field; on FAT12/16 the drive number and serial */
}

static void p_fat_too_small(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 22, 1);
}

static void p_no_signature(struct disk *d, const struct geo *g)
{
	(void)g;
	boot(d)[510] = 0;
}

static void p_no_jump(struct disk *d, const struct geo *g)
{
	(void)g;
	boot(d)[0] = 0;
}

static void p_root_ent_0(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 17, 0);
}

static void p_root_ent_fat32(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 17, 512);
}

static void p_root_clus_0(struct disk *d, const struct geo *g)
{
	(void)g;
	put32(boot(d) + 44, 0);
}

static void p_root_clus_1(struct disk *d, const struct geo *g)
{
	(void)g;
	put32(boot(d) + 44, 1);
}

static void p_root_clus_past(struct disk *d, const struct geo *g)
{
	put32(boot(d) + 44, g->clusters + 2);
}

static void p_active_fat(struct disk *d, const struct geo *g)
{
	(void)g;
	put16(boot(d) + 40, 0x80 | 5);
}

static void p_nothing(struct disk *d, const struct geo *g)
{
	(void)d;
	(void)g;
}

/* The label string says another type: the cluster count decides. */
static void p_label_lies(struct disk *d, const struct geo *g)
{
	memcpy(boot(d) + (g->type == 32 ? 82 : 54), g->type == 12 ? "FAT32   " : "FAT12   ", 8);
}

static uint32_t big_first(struct disk *d, const struct geo *g)
{
	return first_of(g, find_short(d, g, "BIG     BIN"));
}

static void p_chain_free(struct disk *d, const struct geo *g)
{
	fat_set(d->p, g, nth_cluster(d->p, g, big_first(d, g), 3), 0);
}

static void p_chain_reserved(struct disk *d, const struct geo *g)
{
	fat_set(d->p, g, nth_cluster(d->p, g, big_first(d, g), 3), 1);
}

static void p_chain_past(struct disk *d, const struct geo *g)
{
	fat_set(d->p, g, nth_cluster(d->p, g, big_first(d, g), 3), g->clusters + 2);
}

static void p_chain_bad(struct disk *d, const struct geo *g)
{
	fat_set(d->p, g, nth_cluster(d->p, g, big_first(d, g), 3), eoc(g) - 8);
}

static void p_chain_early(struct disk *d, const struct geo *g)
{
	fat_set(d->p, g, nth_cluster(d->p, g, big_first(d, g), 3), eoc(g));
}

/* The last cluster points back to the first. */
static void p_chain_loop_end(struct disk *d, const struct geo *g)
{
	uint32_t c = big_first(d, g);

	while (fat_get(d->p, g, c) < eoc(g) - 8)
		c = fat_get(d->p, g, c);
	fat_set(d->p, g, c, big_first(d, g));
}

/* A cluster in the middle points to itself. */
static void p_chain_loop_self(struct disk *d, const struct geo *g)
{
	uint32_t c = nth_cluster(d->p, g, big_first(d, g), 5);

	fat_set(d->p, g, c, c);
}

static void p_size_past_chain(struct disk *d, const struct geo *g)
{
	put32(find_short(d, g, "HELLO   TXT") + 28, 5000);
}

static void p_size_past_disk(struct disk *d, const struct geo *g)
{
	put32(find_short(d, g, "HELLO   TXT") + 28, 0xFFFFFFF0);
}

static void p_file_cluster_past(struct disk *d, const struct geo *g)
{
	put16(find_short(d, g, "HELLO   TXT") + 26, (g->clusters + 2) & 0xFFFF);
	if (g->type == 32)
		put16(find_short(d, g, "HELLO   TXT") + 20, (g->clusters + 2) >> 16);
}

static void p_file_cluster_1(struct disk *d, const struct geo *g)
{
	put16(find_short(d, g, "HELLO   TXT") + 26, 1);
	put16(find_short(d, g, "HELLO   TXT") + 20, 0);
}

static void p_file_cluster_high(struct disk *d, const struct geo *g)
{
	put16(find_short(d, g, "HELLO   TXT") + 20, 0x0FFF);
}

static void p_dir_cluster_0(struct disk *d, const struct geo *g)
{
	uint8_t *e = find_short(d, g, "PAPERS     ");

	put16(e + 26, 0);
	put16(e + 20, 0);
}

static void p_dir_cluster_past(struct disk *d, const struct geo *g)
{
	put16(find_short(d, g, "PAPERS     ") + 26, (g->clusters + 2) & 0xFFFF);
	if (g->type == 32)
		put16(find_short(d, g, "PAPERS     ") + 20, (g->clusters + 2) >> 16);
}

static uint32_t many_first(struct disk *d, const struct geo *g)
{
	return first_of(g, find_short(d, g, "MANY       "));
}

/*
 * The last cluster points back to the first; its unused entries become
 * deleted ones so that the listing goes on round the loop.
 */
static void p_dir_loop(struct disk *d, const struct geo *g)
{
	uint32_t c = many_first(d, g), k, bytes = g->spc * g->bps;
	uint8_t *e;

	while (fat_get(d->p, g, c) < eoc(g) - 8)
		c = fat_get(d->p, g, c);
	fat_set(d->p, g, c, many_first(d, g));
	e = d->p + g->data_off + (uint64_t)(c - 2) * bytes;
	for (k = 0; k < bytes; k += 32)
		if (e[k] == 0)
			e[k] = 0xE5;
}

static void p_dir_chain_free(struct disk *d, const struct geo *g)
{
	fat_set(d->p, g, many_first(d, g), 0);
}

/* The HTML file's short entry: three long-name parts before it. */
static uint8_t *html(struct disk *d, const struct geo *g)
{
	const char *s = strrchr(long_short_name[d->img], '/') + 1;
	char n11[12];
	size_t i, j = 0;

	memset(n11, ' ', 11);
	n11[11] = '\0';
	for (i = 0; s[i] && s[i] != '.'; i++)
		n11[j++] = s[i];
	if (s[i] == '.')
		for (i++, j = 8; s[i]; i++)
			n11[j++] = s[i];
	return find_short(d, g, n11);
}

static void p_lfn_checksum_one(struct disk *d, const struct geo *g)
{
	lfn_part(html(d, g), 2)[13] ^= 0x55;
}

static void p_lfn_checksum_short(struct disk *d, const struct geo *g)
{
	html(d, g)[7] ^= 0x01; /* the short name changes under its long name */
}

static void p_lfn_order(struct disk *d, const struct geo *g)
{
	uint8_t tmp[32], *e = html(d, g);

	memcpy(tmp, lfn_part(e, 1), 32);
	memcpy(lfn_part(e, 1), lfn_part(e, 2), 32);
	memcpy(lfn_part(e, 2), tmp, 32);
}

static void p_lfn_too_long(struct disk *d, const struct geo *g)
{
	lfn_part(html(d, g), 3)[0] = 0x40 | 21;
}

static void p_lfn_orphan(struct disk *d, const struct geo *g)
{
	lfn_part(html(d, g), 3)[0] &= ~0x40; /* part 3 no longer starts the name */
}

static void p_lfn_deleted_inside(struct disk *d, const struct geo *g)
{
	lfn_part(html(d, g), 2)[0] = 0xE5;
}

static void p_lfn_no_short(struct disk *d, const struct geo *g)
{
	html(d, g)[11] = 0x08; /* the short entry becomes a volume label */
}

static void p_lfn_slash(struct disk *d, const struct geo *g)
{
	put16(lfn_part(html(d, g), 1) + 3, '/'); /* "A/long..." */
}

static void p_lfn_surrogate(struct disk *d, const struct geo *g)
{
	put16(lfn_part(html(d, g), 1) + 3, 0xD800);
}

static void p_lfn_cluster(struct disk *d, const struct geo *g)
{
	put16(lfn_part(html(d, g), 1) + 26, 7);
}

static void p_lfn_short_fill(struct disk *d, const struct geo *g)
{
	put16(lfn_part(html(d, g), 3) + 1, 0); /* the name ends before its last part */
}

/* A pair that mtools cannot write: "A" becomes U+1F41F, in two units. */
static void p_lfn_pair(struct disk *d, const struct geo *g)
{
	uint8_t *p1 = lfn_part(html(d, g), 1);

	put16(p1 + 1, 0xD83D);
	put16(p1 + 3, 0xDC1F);
}

/*
 * "Ωmega.txt" has a one-part long name; it becomes "..", which would lead
 * out of its directory if it were taken as a name.
 */
static void p_lfn_dotdot(struct disk *d, const struct geo *g)
{
	static const uint16_t units[13] = { '.',    '.',    0,      0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF,
		                            0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF };
	static const unsigned at[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	uint64_t off;
	unsigned k;

	for (off = g->root_off; off + 32 <= d->bytes; off += 32) {
		uint8_t *e = d->p + off;

		if (e[0] == 0x41 && e[11] == 0x0F && get16(e + 1) == 0x3A9 && get16(e + 3) == 'm') {
			for (k = 0; k < 13; k++)
				put16(e + at[k], units[k]);
			return;
		}
	}
	fail_msg("no long name for the Omega file");
}

static void p_short_non_ascii(struct disk *d, const struct geo *g)
{
	find_short(d, g, "README  TXT")[1] = 0x90; /* code page 437's capital E acute */
}

static void p_short_forbidden(struct disk *d, const struct geo *g)
{
	find_short(d, g, "README  TXT")[1] = '*';
}

static void p_short_dot(struct disk *d, const struct geo *g)
{
	find_short(d, g, "README  TXT")[0] = '.';
}

static const struct bad_case bad[] = {
	/* The boot sector and BPB. */
	{ "bytes per sector 513", IMG12, p_bps_513, MOUNT, NULL, RT_FAT_EBADFS,
	  "bytes per sector 513", 0 },
	{ "bytes per sector 256", IMG16, p_bps_256, MOUNT, NULL, RT_FAT_EBADFS,
	  "bytes per sector 256", 0 },
	{ "sectors per cluster 3", IMG12, p_spc_3, MOUNT, NULL, RT_FAT_EBADFS, "not a power of two",
	  0 },
	{ "sectors per cluster 0", IMG32, p_spc_0, MOUNT, NULL, RT_FAT_EBADFS, "not a power of two",
	  0 },
	{ "reserved sectors 0", IMG16, p_rsvd_0, MOUNT, NULL, RT_FAT_EBADFS,
	  "reserved sectors is 0", 0 },
	{ "no FATs", IMG32, p_nfats_0, MOUNT, NULL, RT_FAT_EBADFS, "number of FATs is 0", 0 },
	{ "total sectors past the device (16-bit)", IMG12, p_total_past_device, MOUNT, NULL,
	  RT_FAT_EBADFS, "past the device", 0 },
	{ "total sectors past the device (32-bit)", IMG32, p_total_past_device, MOUNT, NULL,
	  RT_FAT_EBADFS, "past the device", 0 },
	{ "total sectors 0", IMG16, p_total_0, MOUNT, NULL, RT_FAT_EBADFS, "total sectors is 0",
	  0 },
	{ "FATs past the end of the disk", IMG16, p_fat_past_end, MOUNT, NULL, RT_FAT_EBADFS,
	  "past the", 0 },
	{ "FATs past the end of the disk (FAT32)", IMG32, p_fat_past_end, MOUNT, NULL,
	  RT_FAT_EBADFS, "past the", 0 },
	{ "FAT size 0", IMG12, p_fatsz_0, MOUNT, NULL, RT_FAT_EBADFS, "sectors per FAT is 0", 0 },
	{ "FAT too small for its clusters", IMG12, p_fat_too_small, MOUNT, NULL, RT_FAT_EBADFS,
	  "too small", 0 },
	{ "no 55 AA signature", IMG16, p_no_signature, MOUNT, NULL, RT_FAT_EBADFS, "signature", 0 },
	{ "no jump instruction", IMG12, p_no_jump, MOUNT, NULL, RT_FAT_EBADFS, "jump", 0 },
	{ "FAT12 without root entries", IMG12, p_root_ent_0, MOUNT, NULL, RT_FAT_EBADFS,
	  "root entries is 0", 0 },
	{ "FAT32 with root entries", IMG32, p_root_ent_fat32, MOUNT, NULL, RT_FAT_EBADFS,
	  "root entries", 0 },
	{ "FAT32 root cluster 0", IMG32, p_root_clus_0, MOUNT, NULL, RT_FAT_EBADFS,
	  "root cluster 0", 0 },
	{ "FAT32 root cluster 1", IMG32, p_root_clus_1, MOUNT, NULL, RT_FAT_EBADFS,
	  "root cluster 1", 0 },
	{ "FAT32 root cluster past the last", IMG32, p_root_clus_past, MOUNT, NULL, RT_FAT_EBADFS,
	  "root cluster", 0 },
	{ "FAT32 active FAT 5 of 2", IMG32, p_active_fat, MOUNT, NULL, RT_FAT_EBADFS,
	  "active FAT 5", 0 },
	{ "512-byte sectors on a 4 KiB device", IMG12, p_nothing, MOUNT, NULL, RT_FAT_EBADFS,
	  "below the device's sector size", 4096 },
	{ "FAT12 labelled FAT32 is FAT12", IMG12, p_label_lies, READ, "/big.bin", 0, NULL, 0 },
	{ "FAT32 labelled FAT12 is FAT32", IMG32, p_label_lies, READ, "/big.bin", 0, NULL, 0 },

	/* Cluster chains. */
	{ "free cluster inside a chain (FAT12)", IMG12, p_chain_free, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "is free in the middle", 0 },
	{ "free cluster inside a chain (FAT32)", IMG32, p_chain_free, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "is free in the middle", 0 },
	{ "reserved cluster 1 inside a chain", IMG16, p_chain_reserved, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "reserved (1)", 0 },
	{ "chain leads past the last cluster (FAT12)", IMG12, p_chain_past, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "past the last", 0 },
	{ "chain leads past the last cluster (FAT16)", IMG16, p_chain_past, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "past the last", 0 },
	{ "chain leads past the last cluster (FAT32)", IMG32, p_chain_past, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "past the last", 0 },
	{ "bad-cluster mark inside a chain", IMG32, p_chain_bad, READ, "/big.bin", RT_FAT_ECORRUPT,
	  "bad cluster", 0 },
	{ "chain ends before the file's size", IMG12, p_chain_early, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "ends after 4 clusters", 0 },
	{ "chain loops back to its start", IMG16, p_chain_loop_end, READ, "/big.bin",
	  RT_FAT_ECORRUPT, "goes on past cluster", 0 },
	{ "chain loops on one cluster", IMG32, p_chain_loop_self, READ, "/big.bin", RT_FAT_ECORRUPT,
	  "goes on past cluster", 0 },
	{ "file size longer than its chain", IMG12, p_size_past_chain, READ, "/hello.txt",
	  RT_FAT_ECORRUPT, "ends after 1 clusters", 0 },
	{ "directory chain loops (FAT12)", IMG12, p_dir_loop, LIST_ROOT, "/many", RT_FAT_ECORRUPT,
	  "(a loop", 0 },
	{ "directory chain loops (FAT32)", IMG32, p_dir_loop, LIST_ROOT, "/many", RT_FAT_ECORRUPT,
	  "(a loop", 0 },
	{ "free cluster inside a directory chain", IMG16, p_dir_chain_free, LIST_ROOT, "/many",
	  RT_FAT_ECORRUPT, "is free in the middle", 0 },

	/* Directory entries. */
	{ "file size past the disk", IMG16, p_size_past_disk, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "larger than the disk", 0 },
	{ "file's first cluster past the disk", IMG12, p_file_cluster_past, LOOKUP, "/hello.txt",
	  RT_FAT_ECORRUPT, "out of range", 0 },
	{ "file's first cluster 1", IMG16, p_file_cluster_1, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "first cluster 1", 0 },
	{ "file's first cluster high word (FAT32)", IMG32, p_file_cluster_high, LOOKUP,
	  "/hello.txt", RT_FAT_ECORRUPT, "out of range", 0 },
	{ "FAT16 ignores the high word", IMG16, p_file_cluster_high, READ, "/hello.txt", 0, NULL,
	  0 },
	{ "directory at cluster 0", IMG12, p_dir_cluster_0, LOOKUP, "/papers/2024", RT_FAT_ECORRUPT,
	  "past the disk", 0 },
	{ "directory past the disk", IMG32, p_dir_cluster_past, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "past the disk", 0 },
	{ "short name with a byte FAT forbids", IMG16, p_short_forbidden, LIST_ROOT, "/",
	  RT_FAT_ECORRUPT, "a byte FAT forbids", 0 },
	{ "short name outside ASCII reads as code page 437", IMG16, p_short_non_ascii, LOOKUP,
	  "/r\xc3\xa9"
	  "adme.txt",
	  0, NULL, 0 },
	{ "short name starting with '.'", IMG12, p_short_dot, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "starts with '.'", 0 },

	/* Long names. */
	{ "long-name parts disagree on the checksum", IMG12, p_lfn_checksum_one, LIST_ROOT, "/",
	  RT_FAT_ECORRUPT, "different checksums", 0 },
	{ "long-name checksum against a changed short name", IMG32, p_lfn_checksum_short, LIST_ROOT,
	  "/", RT_FAT_ECORRUPT, "does not match its short entry", 0 },
	{ "long-name parts out of order", IMG16, p_lfn_order, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "out of order", 0 },
	{ "long name of 21 parts", IMG12, p_lfn_too_long, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "longer than 255", 0 },
	{ "long-name part without its first", IMG32, p_lfn_orphan, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "out of order", 0 },
	{ "long name interrupted by a deleted entry", IMG16, p_lfn_deleted_inside, LIST_ROOT, "/",
	  RT_FAT_ECORRUPT, "deleted entry", 0 },
	{ "long name before a volume label", IMG12, p_lfn_no_short, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "volume label", 0 },
	{ "long name with '/'", IMG16, p_lfn_slash, LIST_ROOT, "/", RT_FAT_ECORRUPT, "forbids", 0 },
	{ "long name with a lone surrogate", IMG32, p_lfn_surrogate, LIST_ROOT, "/",
	  RT_FAT_ECORRUPT, "surrogate", 0 },
	{ "long-name entry with a cluster", IMG12, p_lfn_cluster, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "with a type or a cluster", 0 },
	{ "long name shorter than its parts", IMG16, p_lfn_short_fill, LIST_ROOT, "/",
	  RT_FAT_ECORRUPT, "does not fill", 0 },
	{ "long name \"..\"", IMG32, p_lfn_dotdot, LIST_ROOT, "/", RT_FAT_ECORRUPT,
	  "is not a file name", 0 },
	{ "long name with a surrogate pair", IMG12, p_lfn_pair, LOOKUP,
	  "/\xf0\x9f\x90\x9flong file name with spaces.html", 0, NULL, 0 },
};

/* Entries a walk may still visit: damage can make a tree huge, never endless. */
static unsigned long walk_budget;

/*
 * Every directory under dir (to depth levels) listed and every file's
 * start and end read; errors are allowed, but each must be a code of the
 * API with a sentence.
 */
static void walk(struct rt_fat *fs, const struct rt_fat_node *dir, int depth)
{
	static uint8_t buf[9001];
	struct rt_fat_dirent ent;
	struct rt_fat_dir it;
	int rc = 0;

	if (depth == 0 || rt_fat_dir_open(fs, dir, &it) != 0)
		return;
	while (walk_budget && (rc = rt_fat_dir_next(fs, &it, &ent)) == 1) {
		struct rt_fat_node n = ent.node;

		walk_budget--;
		if (n.is_dir) {
			walk(fs, &n, depth - 1);
		} else {
			uint64_t off = n.size_bytes > sizeof(buf) ? n.size_bytes - sizeof(buf) : 0;
			int64_t got = rt_fat_read(fs, &n, 0, buf, sizeof(buf));

			if (got >= 0)
				got = rt_fat_read(fs, &n, off, buf, sizeof(buf));
			if (got < 0)
				assert_true(got >= RT_FAT_ENOMEM && rt_fat_errmsg(fs)[0]);
		}
	}
	if (!walk_budget)
		return;
	assert_true(rc >= RT_FAT_ENOMEM && rc <= 0);
	if (rc < 0)
		assert_true(rt_fat_errmsg(fs)[0] != '\0');
}

static void corrupt_images_give_their_errors(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		const struct bad_case *c = &bad[k];
		struct rt_fat_dev dev;
		struct rt_fat_dirent ent;
		struct rt_fat_node n;
		struct rt_fat_dir it;
		struct rt_fat *fs = NULL;
		static uint8_t buf[BIG_BYTES];
		const char *msg;
		char err[256];
		struct disk d;
		struct geo g;
		int rc;

		disk_open(&d, c->img, c->sector_bytes ? c->sector_bytes : 512);
		g = geo_of(d.p);
		c->patch(&d, &g);
		dev = dev_of(&d);
		rc = rt_fat_mount(&dev, &fs, err, sizeof(err));
		msg = err;
		if (rc == 0 && c->op != MOUNT) {
			msg = rt_fat_errmsg(fs);
			rc = rt_fat_lookup(fs, c->path, &n);
			if (rc == 0 && c->op == READ) {
				int64_t got = rt_fat_read(fs, &n, 0, buf, sizeof(buf));

				rc = got < 0 ? (int)got : 0;
				if (got >= 0 && got != n.size_bytes)
					fail_msg("%s: read %lld of %u bytes", c->what,
					         (long long)got, n.size_bytes);
				if (got >= 0 && strcmp(c->path, "/big.bin") == 0)
					check_pattern(buf, (size_t)got, 0, 4);
			}
			if (rc == 0 && c->op == LIST_ROOT) {
				rc = rt_fat_dir_open(fs, &n, &it);
				while (rc == 0 && (rc = rt_fat_dir_next(fs, &it, &ent)) == 1)
					rc = 0;
				/* A cursor stays at its error. */
				if (rc < 0) {
					snprintf(err, sizeof(err), "%s", rt_fat_errmsg(fs));
					msg = err;
					assert_int_equal(rt_fat_dir_next(fs, &it, &ent), rc);
				}
			}
		}
		if (rc != c->rc)
			fail_msg("%s: got %d (%s), expected %d", c->what, rc, msg, c->rc);
		if (c->msg && !strstr(msg, c->msg))
			fail_msg("%s: message \"%s\" does not say \"%s\"", c->what, msg, c->msg);
		print_message("# %-50s %3d %s\n", c->what, rc, rc ? msg : "(accepted)");
		if (fs) {
			struct rt_fat_node root;

			/* Whatever else is on the disk, a full walk ends without a fault. */
			rt_fat_root(fs, &root);
			walk_budget = 100000;
			walk(fs, &root, 10);
			rt_fat_unmount(fs);
		}
		disk_close(&d);
	}
	assert_int_equal(live_blocks, 0);
}

/* Random bytes over the boot sector, FATs and first directories: errors, never a fault. */
static void random_damage_never_faults(void **state)
{
	int img;

	(void)state;
	for (img = 0; img < NIMG; img++) {
		unsigned seed = 4242 + (unsigned)img, round, mounted = 0;
		struct disk d;
		struct geo g;
		uint64_t span;

		disk_open(&d, img, 512);
		g = geo_of(d.p);
		/* Boot sector, FATs' start, root region and the first clusters. */
		span = g.data_off + 64 * 1024;
		for (round = 0; round < 150; round++) {
			struct {
				uint64_t off;
				uint8_t old;
			} undo[8];
			struct rt_fat_dev dev = dev_of(&d);
			struct rt_fat *fs;
			unsigned n, j;
			char err[256];
			int rc;

			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 8;
			for (j = 0; j < n; j++) {
				uint64_t off;

				seed = seed * 1103515245u + 12345u;
				off = (seed >> 3) % span;
				/* Half the damage lands where it hurts: the BPB and the FAT. */
				if (j % 2 == 0)
					off = (seed >> 3) % 64 + (j % 4 ? g.fat_off : 0);
				undo[j].off = off;
				undo[j].old = d.p[off];
				seed = seed * 1103515245u + 12345u;
				d.p[off] = (uint8_t)(seed >> 16);
			}
			rc = rt_fat_mount(&dev, &fs, err, sizeof(err));
			if (rc == 0) {
				struct rt_fat_node root;

				mounted++;
				rt_fat_root(fs, &root);
				walk_budget = 20000;
				walk(fs, &root, 6);
				rt_fat_unmount(fs);
			} else {
				assert_true(rc < 0 && err[0] != '\0');
			}
			while (n--)
				d.p[undo[n].off] = undo[n].old;
		}
		print_message("# %s: %u of 150 damaged images mounted\n", images[img].file,
		              mounted);
		disk_close(&d);
	}
	assert_int_equal(live_blocks, 0);
}

static void device_and_memory_failures(void **state)
{
	struct rt_fat_dev dev;
	struct rt_fat_node n;
	struct rt_fat *fs;
	struct disk d;
	char err[256];
	uint8_t buf[4096];

	(void)state;
	disk_open(&d, IMG16, 512);
	dev = dev_of(&d);
	malloc_fails = 1;
	assert_int_equal(rt_fat_mount(&dev, &fs, err, sizeof(err)), RT_FAT_ENOMEM);
	assert_null(fs);
	malloc_fails = 0;
	d.fail_after = 0;
	assert_int_equal(rt_fat_mount(&dev, &fs, err, sizeof(err)), RT_FAT_EIO);
	assert_non_null(strstr(err, "failed (-5)"));
	dev.sector_bytes = 3000;
	assert_int_equal(rt_fat_mount(&dev, &fs, err, sizeof(err)), RT_FAT_EINVAL);
	dev.sector_bytes = 512;
	dev.read = NULL;
	assert_int_equal(rt_fat_mount(&dev, &fs, err, sizeof(err)), RT_FAT_EINVAL);
	assert_int_equal(rt_fat_mount(NULL, &fs, NULL, 0), RT_FAT_EINVAL);

	d.fail_after = -1;
	fs = mount_ok(&d);
	lookup_ok(fs, "/big.bin", &n);
	d.fail_after = 0;
	assert_int_equal(rt_fat_read(fs, &n, 100000, buf, sizeof(buf)), RT_FAT_EIO);
	d.fail_after = -1;
	assert_int_equal(rt_fat_read(fs, &n, 100000, buf, sizeof(buf)), sizeof(buf));
	check_pattern(buf, sizeof(buf), 100000, 4);
	rt_fat_unmount(fs);
	disk_close(&d);
	assert_int_equal(live_blocks, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(types_by_cluster_count),
		cmocka_unit_test(root_lists_every_entry),
		cmocka_unit_test(lookup_finds_names),
		cmocka_unit_test(big_file_reads_byte_for_byte),
		cmocka_unit_test(contiguous_clusters_are_one_call),
		cmocka_unit_test(big_directory_spans_clusters),
		cmocka_unit_test(empty_file_reads_nothing),
		cmocka_unit_test(bad_paths_are_refused),
		cmocka_unit_test(large_sectors),
		cmocka_unit_test(corrupt_images_give_their_errors),
		cmocka_unit_test(random_damage_never_faults),
		cmocka_unit_test(device_and_memory_failures),
	};
	const char *top = getenv("top_srcdir");

	(void)argc;
	(void)argv;
	if (!find_tools() && top) {
		char cmd[1024];

		/* The project's installer knows the packages (dosfstools, mtools). */
		snprintf(cmd, sizeof(cmd), "'%s/scripts/deps.sh' >&2", top);
		if (system(cmd) != 0)
			fprintf(stderr, "scripts/deps.sh failed\n");
	}
	if (!find_tools()) {
		printf("1..0 # SKIP mkfs.fat or mtools not found and scripts/deps.sh could not "
		       "install them (Debian: apt-get install dosfstools mtools)\n");
		return 0;
	}
	return cmocka_run_group_tests_name("rt_fat", tests, setup_images, teardown_images);
}
