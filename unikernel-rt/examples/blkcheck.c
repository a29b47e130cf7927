/*
 * blkcheck: the block front-end from a guest's side, for the tests.
 *
 *   blkcheck list                        every disk: name, sectors, ro|rw
 *   blkcheck sum NAME [odd|stay]         read the whole disk (through an
 *                                        unaligned buffer with odd) and
 *                                        print its FNV-1a 64 hash; with
 *                                        stay, then wait for ever (its
 *                                        counters are there to be read)
 *   blkcheck write NAME SECTOR N SEED    write N sectors of a pattern,
 *                                        flush, read them back, compare
 *   blkcheck verify NAME SECTOR N SEED   read N sectors, compare
 *   blkcheck persist NAME SECTOR N SEED  verify; when the pattern is not
 *                                        there yet, write it, flush and
 *                                        exit 3, so that the restart
 *                                        policy runs it again to find it
 *   blkcheck rowrite NAME                a write must be refused
 *   blkcheck idle                        open every disk, then wait for
 *                                        ever (an idle guest's cost)
 *   blkcheck bench NAME [N]              time a sequential read of the
 *                                        disk in 64 KiB requests and N
 *                                        random 4 KiB reads (bench/blk)
 *
 * Prints "blkcheck: ok ..." and exits 0, or says what went wrong and
 * exits 1.
 */
#include <shoal/blk.h>
#include <shoal/rt.h>

#define CHUNK (256u * 1024u)

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint8_t pattern(uint64_t seed, uint64_t byte)
{
	uint64_t x = (seed + byte / 8) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> (8 * (byte % 8)));
}

static int fail(const char *what, int r)
{
	rt_printf("blkcheck: %s: %s (%d)\n", what, rt_blk_strerror(r), r);
	return 1;
}

/* A buffer of n bytes at a 4 KiB boundary, or one byte past it with odd. */
static uint8_t *buffer(size_t n, int odd)
{
	uint8_t *p = rt_malloc(n + 8192);

	if (!p)
		return NULL;
	p = (uint8_t *)(((uintptr_t)p + 4095) & ~(uintptr_t)4095);
	return odd ? p + 1 : p;
}

static uint64_t arg(char **argv, int i)
{
	int ok;
	uint64_t v = rt_strtou64(argv[i], &ok);

	return ok ? v : UINT64_MAX;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "list";
	struct rt_blk *b = NULL;
	struct rt_blk_info info;
	uint64_t start = rt_clock_ns();
	int r;

	if (!strcmp(cmd, "list")) {
		unsigned i;

		for (i = 0; i < rt_blk_count(); i++) {
			if ((r = rt_blk_open(rt_blk_name(i), &b)) < 0)
				return fail(rt_blk_name(i), r);
			rt_blk_info(b, &info);
			rt_printf("blkcheck: disk %s %llu sectors %s port %u\n", info.name,
			          (unsigned long long)info.sectors, info.readonly ? "ro" : "rw",
			          info.port);
		}
		rt_printf("blkcheck: ok %u disks\n", rt_blk_count());
		return 0;
	}
	if (!strcmp(cmd, "idle")) {
		unsigned i;

		for (i = 0; i < rt_blk_count(); i++)
			if ((r = rt_blk_open(rt_blk_name(i), &b)) < 0)
				return fail(rt_blk_name(i), r);
		rt_printf("blkcheck: idle with %u disks open\n", rt_blk_count());
		for (;;) {
			rt_block(RT_FOREVER);
			rt_evtchn_dispatch();
		}
	}
	if (argc < 3) {
		rt_puts("blkcheck: which disk?\n");
		return 2;
	}
	if ((r = rt_blk_open(argv[2], &b)) < 0)
		return fail(argv[2], r);
	rt_blk_info(b, &info);
	if (!strcmp(cmd, "sum")) {
		int odd = argc > 3 && !strcmp(argv[3], "odd");
		uint8_t *buf = buffer(CHUNK, odd);
		uint64_t h = 0xcbf29ce484222325ull, s;

		if (!buf)
			return fail("buffer", RT_BLK_ENOMEM);
		for (s = 0; s < info.sectors;) {
			uint64_t n =
			    info.sectors - s < CHUNK / 512 ? info.sectors - s : CHUNK / 512;

			if ((r = rt_blk_read(b, s, buf, n)) < 0)
				return fail("read", r);
			h = fnv(h, buf, n * 512);
			s += n;
		}
		rt_printf("blkcheck: ok sum %s %llu sectors fnv %016llx in %llu us\n", info.name,
		          (unsigned long long)info.sectors, (unsigned long long)h,
		          (unsigned long long)((rt_clock_ns() - start) / 1000));
		while (argc > 3 && !strcmp(argv[3], "stay")) {
			rt_block(RT_FOREVER);
			rt_evtchn_dispatch();
		}
		return 0;
	}
	if (!strcmp(cmd, "write") || !strcmp(cmd, "verify") || !strcmp(cmd, "persist")) {
		uint64_t sector = argc > 5 ? arg(argv, 3) : UINT64_MAX,
		         n = argc > 5 ? arg(argv, 4) : 0, seed = argc > 5 ? arg(argv, 5) : 0, i;
		uint8_t *buf;

		if (sector == UINT64_MAX || n == 0 || n > 4096 || seed == UINT64_MAX) {
			rt_puts("blkcheck: want SECTOR N SEED (N at most 4096)\n");
			return 2;
		}
		buf = buffer(n * 512, 0);
		if (!buf)
			return fail("buffer", RT_BLK_ENOMEM);
		if (!strcmp(cmd, "write")) {
			for (i = 0; i < n * 512; i++)
				buf[i] = pattern(seed, i);
			if ((r = rt_blk_write(b, sector, buf, n)) < 0)
				return fail("write", r);
			if ((r = rt_blk_flush(b)) < 0)
				return fail("flush", r);
			memset(buf, 0, n * 512);
		}
		if ((r = rt_blk_read(b, sector, buf, n)) < 0)
			return fail("read", r);
		for (i = 0; !strcmp(cmd, "persist") && i < n * 512 && buf[i] == pattern(seed, i);
		     i++)
			;
		if (!strcmp(cmd, "persist") && i < n * 512) {
			for (i = 0; i < n * 512; i++)
				buf[i] = pattern(seed, i);
			if ((r = rt_blk_write(b, sector, buf, n)) < 0)
				return fail("write", r);
			if ((r = rt_blk_flush(b)) < 0)
				return fail("flush", r);
			rt_printf("blkcheck: wrote %s %llu sectors at %llu: run me again\n",
			          info.name, (unsigned long long)n, (unsigned long long)sector);
			return 3;
		}
		for (i = 0; i < n * 512; i++)
			if (buf[i] != pattern(seed, i)) {
				rt_printf("blkcheck: byte %llu of sector %llu is 0x%x, not 0x%x\n",
				          (unsigned long long)(i % 512),
				          (unsigned long long)(sector + i / 512), buf[i],
				          pattern(seed, i));
				return 1;
			}
		rt_printf("blkcheck: ok %s %s %llu sectors at %llu\n", cmd, info.name,
		          (unsigned long long)n, (unsigned long long)sector);
		return 0;
	}
	if (!strcmp(cmd, "bench")) {
		uint64_t n = argc > 3 ? arg(argv, 3) : 2000, s, t0, t1, x = 88172645463325252ull, i;
		uint8_t *buf = buffer(65536, 0);

		if (!buf || n == UINT64_MAX || info.sectors < 8)
			return fail("bench", RT_BLK_EINVAL);
		t0 = rt_clock_ns();
		for (s = 0; s + 128 <= info.sectors; s += 128)
			if ((r = rt_blk_read(b, s, buf, 128)) < 0)
				return fail("read", r);
		t1 = rt_clock_ns();
		rt_printf("blkcheck: bench seq %llu bytes in %llu us\n",
		          (unsigned long long)(s * 512), (unsigned long long)((t1 - t0) / 1000));
		t0 = rt_clock_ns();
		for (i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if ((r = rt_blk_read(b, (x % (info.sectors / 8)) * 8, buf, 8)) < 0)
				return fail("read", r);
		}
		t1 = rt_clock_ns();
		rt_printf("blkcheck: bench rand %llu reads in %llu us\n", (unsigned long long)n,
		          (unsigned long long)((t1 - t0) / 1000));
		return 0;
	}
	if (!strcmp(cmd, "rowrite")) {
		uint8_t *buf = buffer(512, 0);

		if (!buf)
			return fail("buffer", RT_BLK_ENOMEM);
		r = rt_blk_write(b, 0, buf, 1);
		if (r != RT_BLK_EROFS)
			return fail("a write to a read-only disk was not refused", r);
		rt_printf("blkcheck: ok rowrite %s refused: %s\n", info.name, rt_blk_strerror(r));
		return 0;
	}
	rt_printf("blkcheck: unknown command %s\n", cmd);
	return 2;
}
