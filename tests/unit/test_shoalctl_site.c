/*
 * Unit tests of shoalctl site's plan (shoalctl/site_plan.c): the walk of a
 * real directory tree made here, its split across images of a size (every
 * file in exactly one image, each image with the directories it needs,
 * none over the size), what is refused (a file no image holds, names FAT
 * cannot hold, links out of the tree, special files, an empty tree), and
 * --net's parser.  The images themselves are checked by
 * tests/integration/test_shoalctl_site.sh.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "shoalctl/ctl.h"

static const struct ctl_cmd test_cmd = { "test", NULL, "test", "", "" };

/* A scratch tree under /tmp, removed by each test's teardown. */
static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/shoal-site-unit-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown(void **state)
{
	(void)state;
	/* the test's own scratch tree, depth first, links not followed */
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(const char *rel)
{
	char p[512], *s;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

/* A file of `bytes` bytes at root/rel, its directories made. */
static void mkfile(const char *rel, size_t bytes)
{
	char p[512], dir[512], *slash;
	FILE *f;
	size_t i;

	snprintf(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(dir);
	}
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	for (i = 0; i < bytes; i++)
		fputc((int)(i * 7 % 251), f);
	fclose(f);
}

static int find_file(const struct ctl_site *s, const char *rel)
{
	size_t i;

	for (i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].path, rel))
			return (int)i;
	return -1;
}

/*
 * What every plan must be: each file in one image, each image holding
 * the directories up from each of its files, sizes within max, the
 * images' counts and bytes their files'.
 */
static void check_plan(const struct ctl_site *s, unsigned long long max)
{
	unsigned long long bytes = 0;
	unsigned files = 0;
	size_t i, k;
	int d;

	for (i = 0; i < s->nfiles; i++) {
		assert_true(s->files[i].image >= 0 && (size_t)s->files[i].image < s->nimages);
		for (d = s->files[i].dir; d >= 0; d = s->dirs[d].parent)
			assert_true(
			    ctl_site_image_has_dir(s, (size_t)s->files[i].image, (size_t)d));
	}
	for (i = 1; i < s->ndirs; i++) {
		if (s->dirs[i].children)
			continue;
		assert_true(s->dirs[i].image >= 0 && (size_t)s->dirs[i].image < s->nimages);
		for (d = (int)i; d >= 0; d = s->dirs[d].parent)
			assert_true(ctl_site_image_has_dir(s, (size_t)s->dirs[i].image, (size_t)d));
	}
	for (k = 0; k < s->nimages; k++) {
		unsigned n = 0;
		unsigned long long b = 0;

		assert_true(s->images[k].size_bytes <= max);
		assert_true(s->images[k].nfiles > 0 || k == s->nimages - 1);
		for (i = 0; i < s->nfiles; i++)
			if (s->files[i].image == (int)k) {
				n++;
				b += s->files[i].size_bytes;
			}
		assert_int_equal(n, s->images[k].nfiles);
		assert_int_equal(b, s->images[k].file_bytes);
		files += n;
		bytes += b;
		/* a directory only where a file or an empty directory needs it */
		for (i = 1; i < s->ndirs; i++) {
			size_t j;
			int needed = 0;

			if (!ctl_site_image_has_dir(s, k, i))
				continue;
			for (j = 0; j < s->nfiles && !needed; j++)
				for (d = s->files[j].dir; d >= 0 && s->files[j].image == (int)k;
				     d = s->dirs[d].parent)
					if (d == (int)i)
						needed = 1;
			for (j = 1; j < s->ndirs && !needed; j++)
				for (d = (int)j;
				     d >= 0 && !s->dirs[j].children && s->dirs[j].image == (int)k;
				     d = s->dirs[d].parent)
					if (d == (int)i)
						needed = 1;
			assert_true(needed);
		}
	}
	assert_int_equal(files, s->nfiles);
}

/* Four 100000-byte files (49 clusters each) and small ones, in images of 256 KiB: two a piece. */
static void test_split(void **state)
{
	struct ctl_site s;
	unsigned long long max = 256 << 10;
	char rel[64];
	int i;

	(void)state;
	mkfile("index.html", 100000);
	mkfile("a/big one.bin", 100000);
	mkfile("b/c/deep.bin", 100000);
	mkfile("b/c/d/deeper.bin", 100000);
	for (i = 0; i < 10; i++) {
		snprintf(rel, sizeof(rel), "%s/small %d.txt", i % 2 ? "a" : "b/c", i);
		mkfile(rel, 1000);
	}
	mkfile("zero", 0);
	mkdirs("empty/inner");
	assert_int_equal(ctl_site_scan(&test_cmd, root, &s), 0);
	assert_int_equal(s.nfiles, 15);
	assert_int_equal(ctl_site_plan(&test_cmd, &s, max, "256K"), 0);
	assert_int_equal(s.nimages, 2);
	check_plan(&s, max);
	/* largest first: no image holds more than two of the big ones */
	for (i = 0; i < 2; i++) {
		int n = (s.files[find_file(&s, "index.html")].image == i) +
		        (s.files[find_file(&s, "a/big one.bin")].image == i) +
		        (s.files[find_file(&s, "b/c/deep.bin")].image == i) +
		        (s.files[find_file(&s, "b/c/d/deeper.bin")].image == i);
		assert_int_equal(n, 2);
	}
	ctl_site_free(&s);

	/* a fifth: a third image */
	mkfile("e/fifth.bin", 100000);
	assert_int_equal(ctl_site_scan(&test_cmd, root, &s), 0);
	assert_int_equal(ctl_site_plan(&test_cmd, &s, max, "256K"), 0);
	assert_int_equal(s.nimages, 3);
	check_plan(&s, max);
	ctl_site_free(&s);

	/* one large image holds it all */
	assert_int_equal(ctl_site_scan(&test_cmd, root, &s), 0);
	assert_int_equal(ctl_site_plan(&test_cmd, &s, 1ull << 30, "1G"), 0);
	assert_int_equal(s.nimages, 1);
	check_plan(&s, 1ull << 30);
	/* sized to what it holds, not to 1 GiB */
	assert_true(s.images[0].size_bytes < 700 << 10);
	ctl_site_free(&s);
}

/* Many files of many sizes in many directories: the invariants hold. */
static void test_split_many(void **state)
{
	unsigned long long max = 200 << 10;
	struct ctl_site s;
	unsigned long long total = 0;
	char rel[96];
	int i;

	(void)state;
	for (i = 0; i < 120; i++) {
		size_t bytes = (size_t)(i * 977 % 40000);

		snprintf(rel, sizeof(rel), "d%d/e%d/a file with a long name number %d.html", i % 5,
		         i % 3, i);
		mkfile(rel, bytes);
		total += bytes;
	}
	assert_int_equal(ctl_site_scan(&test_cmd, root, &s), 0);
	assert_int_equal(ctl_site_plan(&test_cmd, &s, max, "200K"), 0);
	check_plan(&s, max);
	assert_true(s.nimages >= total / max + 1);
	/* first fit packs: not more than half again the least */
	assert_true(s.nimages <= (total / max + 1) * 3 / 2 + 1);
	ctl_site_free(&s);
}

static void test_too_big(void **state)
{
	struct ctl_site s;

	(void)state;
	mkfile("ok.html", 100);
	mkfile("media/huge.mp4", 300000);
	assert_int_equal(ctl_site_scan(&test_cmd, root, &s), 0);
	assert_int_equal(ctl_site_plan(&test_cmd, &s, 256 << 10, "256K"), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
}

static void test_refused(void **state)
{
	struct ctl_site s;
	char p[512], q[512];

	(void)state;
	/* empty, then missing */
	mkdirs("only/dirs");
	assert_int_equal(ctl_site_scan(&test_cmd, root, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
	snprintf(p, sizeof(p), "%s/nope", root);
	assert_int_equal(ctl_site_scan(&test_cmd, p, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);

	/* a link inside is a file; one out of the tree is refused */
	mkfile("site/index.html", 10);
	snprintf(p, sizeof(p), "%s/site/alias.html", root);
	assert_int_equal(symlink("index.html", p), 0);
	snprintf(q, sizeof(q), "%s/site", root);
	assert_int_equal(ctl_site_scan(&test_cmd, q, &s), 0);
	assert_int_equal(s.nfiles, 2);
	ctl_site_free(&s);
	snprintf(p, sizeof(p), "%s/site/passwd", root);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(ctl_site_scan(&test_cmd, q, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
	unlink(p);
	snprintf(p, sizeof(p), "%s/site/up", root);
	assert_int_equal(symlink("../only", p), 0);
	assert_int_equal(ctl_site_scan(&test_cmd, q, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
	unlink(p);
	assert_int_equal(symlink("nothing", p), 0);
	assert_int_equal(ctl_site_scan(&test_cmd, q, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
	unlink(p);

	/* a named pipe */
	snprintf(p, sizeof(p), "%s/site/pipe", root);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(ctl_site_scan(&test_cmd, q, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
	unlink(p);

	/* two names FAT takes for one */
	mkfile("site/INDEX.html", 10);
	assert_int_equal(ctl_site_scan(&test_cmd, q, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
	snprintf(p, sizeof(p), "%s/site/INDEX.html", root);
	unlink(p);

	/* a name FAT cannot hold */
	mkfile("site/what?.html", 10);
	assert_int_equal(ctl_site_scan(&test_cmd, q, &s), -CTL_EXIT_USAGE);
	ctl_site_free(&s);
}

/* Names: what FAT holds, and the directory entries each takes. */
static void test_names(void **state)
{
	static const struct {
		const char *name;
		int ok;
		unsigned entries;
	} cases[] = {
		{ "index.html", 1, 2 },
		{ "A long name, with spaces.pdf", 1, 4 },
		{ "thirteen char", 1, 2 },
		{ "fourteen chars", 1, 3 },
		{ "café.txt", 1, 2 },
		{ "Ωmega κόσμε", 1, 2 },
		{ ".htaccess", 1, 2 },
		{ "a:b", 0, 0 },
		{ "a\\b", 0, 0 },
		{ "what?", 0, 0 },
		{ "star*", 0, 0 },
		{ "pipe|", 0, 0 },
		{ "q\"uote", 0, 0 },
		{ "lt<", 0, 0 },
		{ "tab\there", 0, 0 },
		{ "del\x7f", 0, 0 },
		{ "dot.", 0, 0 },
		{ "space ", 0, 0 },
		{ "smile \xf0\x9f\x98\x80", 0, 0 },
		{ "latin1 \xe9", 0, 0 },
		{ "overlong \xc0\xaf", 0, 0 },
		{ "surrogate \xed\xa0\x80", 0, 0 },
		{ "", 0, 0 },
	};
	char why[160], name[300];
	unsigned entries;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = ctl_site_name_check(cases[i].name, &entries, why, sizeof(why));

		if (cases[i].ok != (r == 0))
			fail_msg("\"%s\": %s, expected %s (%s)", cases[i].name,
			         r == 0 ? "ok" : "refused", cases[i].ok ? "ok" : "refused",
			         r == 0 ? "" : why);
		if (r == 0 && entries != cases[i].entries)
			fail_msg("\"%s\": %u entries, expected %u", cases[i].name, entries,
			         cases[i].entries);
	}
	memset(name, 'x', 255);
	name[255] = '\0';
	assert_int_equal(ctl_site_name_check(name, &entries, why, sizeof(why)), 0);
	assert_int_equal(entries, 1 + 20);
	name[255] = 'x';
	name[256] = '\0';
	assert_int_equal(ctl_site_name_check(name, &entries, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "255"));
}

/* FAT12/16 below 65000 clusters, FAT32 above, each image big enough for its type. */
static void test_sizes(void **state)
{
	unsigned long long c;

	(void)state;
	assert_int_equal(ctl_site_fat_bits(65000, 10), 16);
	assert_int_equal(ctl_site_fat_bits(65001, 10), 32);
	assert_true(ctl_site_image_bytes(65001, 10) >= 65600ull * 2048);
	assert_true(ctl_site_image_bytes(0, 0) >= 64 << 10);
	for (c = 0; c < 200000; c += 997)
		assert_true(ctl_site_image_bytes(c + 997, 5) >= ctl_site_image_bytes(c, 5));
	assert_int_equal(ctl_site_root_entries(0), 64);
	assert_int_equal(ctl_site_root_entries(63), 64);
	assert_int_equal(ctl_site_root_entries(64), 80);
	assert_int_equal(ctl_site_root_entries(600), 608);
}

/* --net NAME=BRIDGE[,ipv4=A.B.C.D/P][,mac=...] */
static void test_net(void **state)
{
	static const struct {
		const char *in, *want; /* NULL: refused */
	} cases[] = {
		{ "lan=br0", "{\"name\":\"lan\",\"bridge\":\"br0\"}" },
		{ "lan=br0,ipv4=10.0.0.5/24",
		  "{\"name\":\"lan\",\"bridge\":\"br0\",\"ipv4\":\"10.0.0.5/24\"}" },
		{ "lan=br0,mac=02:00:00:aa:BB:05,ipv4=10.0.0.5/32",
		  "{\"name\":\"lan\",\"bridge\":\"br0\",\"mac\":\"02:00:00:aa:BB:05\",\"ipv4\":"
		  "\"10.0.0.5/32\"}" },
		{ "lan", NULL },
		{ "=br0", NULL },
		{ "lan=", NULL },
		{ "lan=,ipv4=10.0.0.5/24", NULL },
		{ "lan=br0,", NULL },
		{ "lan=br0,ipv4=10.0.0.5", NULL },
		{ "lan=br0,ipv4=10.0.0.256/24", NULL },
		{ "lan=br0,ipv4=10.0.0.5/33", NULL },
		{ "lan=br0,ipv4=10.0.0/24", NULL },
		{ "lan=br0,ipv4=10.0.0.5/24,ipv4=10.0.0.6/24", NULL },
		{ "lan=br0,mac=02:00:00:00:00", NULL },
		{ "lan=br0,mac=02:00:00:00:00:0g", NULL },
		{ "lan=br0,mac=02-00-00-00-00-05", NULL },
		{ "lan=br0,speed=10", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *a = json_array();
		char *got;
		int r = ctl_parse_net(&test_cmd, cases[i].in, a);

		if (!cases[i].want) {
			if (r != -CTL_EXIT_USAGE || json_array_size(a))
				fail_msg("--net %s: taken, expected refused", cases[i].in);
		} else {
			if (r != 0)
				fail_msg("--net %s: refused", cases[i].in);
			got = json_dumps(json_array_get(a, 0), JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (strcmp(got, cases[i].want))
				fail_msg("--net %s: %s, expected %s", cases[i].in, got,
				         cases[i].want);
			free(got);
		}
		json_decref(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_net),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
