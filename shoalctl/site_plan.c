/*
 * A static site as FAT images, before anything is written: the walk of
 * DIR (what FAT can hold and what it cannot, said by name), the split of
 * its files across images of at most --disk-size, and each image's size.
 * The site guest merges its disks into one tree, so an image carries the
 * directories its own files need and nothing else.  No processes, no I/O
 * but reading DIR: site.c makes the images, the unit tests check the plan.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shoalctl/ctl.h"

#define CLUSTER_BYTES       (CTL_SITE_CLUSTER_SECTORS * 512ull)
#define DIRENT_BYTES        32u
#define SITE_DEPTH_MAX      64
#define FAT_FILE_MAX        0xffffffffull /* a FAT directory entry's size field */
#define FAT16_CLUSTERS_MAX  65000ull      /* under 65525, where a FAT is FAT32 */
#define FAT32_CLUSTERS_MIN  65600ull      /* over 65525, so that FAT32 is FAT32 */
#define FAT16_ROOT_ENTRIES  64u           /* the least root directory made (mkfs.fat: 512) */
#define IMAGE_MIN_BYTES     (64ull << 10)
#define LFN_CHARS_PER_ENTRY 13u

/* ---- names ---- */

/* One code point of UTF-8 s into *cp; its length, 0 when it is not UTF-8. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and what lies past Unicode are not UTF-8 */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

/*
 * Upper case as FAT compares names: ASCII, Latin-1, Greek and Cyrillic,
 * the letters a site's names use.  Two names of a directory that fold to
 * one are one file to FAT; the rarer letters are left as they are.
 */
static uint32_t fold(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 0x20;
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
		return c - 0x20;
	if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2)
		return c - 0x20;
	if (c >= 0x430 && c <= 0x44f)
		return c - 0x20;
	if (c >= 0x450 && c <= 0x45f)
		return c - 0x50;
	return c;
}

int ctl_site_name_check(const char *name, unsigned *entries, char *why, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t units = 0, n;
	uint32_t c = 0;

	if (!*p) {
		snprintf(why, len, "is an empty name");
		return -1;
	}
	for (; *p; p += n) {
		n = utf8_next(p, &c);
		if (!n) {
			snprintf(why, len,
			         "is not UTF-8 text, which FAT's long names are made from");
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(why, len,
			         "holds the control character U+%04X, which FAT names cannot",
			         (unsigned)c);
			return -1;
		}
		if (c < 0x80 && strchr("\"*/:<>?\\|", (int)c)) {
			snprintf(why, len, "holds '%c', which FAT names cannot", (char)c);
			return -1;
		}
		if (c > 0xffff) {
			snprintf(
			    why, len,
			    "holds U+%04X, past Unicode's basic plane, which mtools cannot write "
			    "in a FAT name",
			    (unsigned)c);
			return -1;
		}
		units++;
	}
	if (c == '.' || c == ' ') {
		snprintf(why, len, "ends in a %s, which FAT drops from names",
		         c == '.' ? "dot" : "space");
		return -1;
	}
	if (units > 255) {
		snprintf(why, len, "is %zu characters long, over FAT's 255", units);
		return -1;
	}
	*entries = 1 + (unsigned)((units + LFN_CHARS_PER_ENTRY - 1) / LFN_CHARS_PER_ENTRY);
	return 0;
}

/* The name as FAT compares it (folded), as UTF-8 into a new string; NULL when out of memory. */
static char *fold_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	char *out = malloc(strlen(name) * 2 + 1), *o = out;
	uint32_t c;
	size_t n;

	if (!out)
		return NULL;
	for (; *p; p += n) {
		n = utf8_next(p, &c);
		if (!n)
			break; /* checked before: not reached */
		c = fold(c);
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xe0 | c >> 12);
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = '\0';
	return out;
}

/* ---- the walk of DIR ---- */

struct walk {
	const struct ctl_cmd *cmd;
	struct ctl_site *s;
	const char *shown; /* DIR as the operator gave it, for messages */
	size_t root_len;   /* of s->root */
	dev_t dev[SITE_DEPTH_MAX + 1];
	ino_t ino[SITE_DEPTH_MAX + 1];
};

static int grow(void **p, size_t *cap, size_t have, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *np;

	if (have < *cap)
		return 0;
	np = realloc(*p, ncap * size);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static int oom(void)
{
	return ctl_fail(CTL_EXIT_FAILED, "out of memory");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* rel joined to name ("" is the root); NULL when out of memory. */
static char *join(const char *rel, const char *name)
{
	size_t a = strlen(rel), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	if (a) {
		memcpy(p, rel, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

/* The sorted names of directory abs (without . and ..) into *out. */
static int read_names(struct walk *w, const char *abs, const char *rel, char ***out, size_t *n)
{
	size_t cap = 0;
	char **names = NULL;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	*out = NULL;
	*n = 0;
	d = opendir(abs);
	if (!d)
		return ctl_input_error(w->cmd, "%s/%s: %s", w->shown, rel, strerror(errno));
	while ((errno = 0, e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (grow((void **)&names, &cap, *n, sizeof(*names)) < 0 ||
		    !(names[*n] = strdup(e->d_name))) {
			rc = oom();
			break;
		}
		(*n)++;
	}
	if (rc == 0 && errno)
		rc = ctl_input_error(w->cmd, "%s/%s: %s", w->shown, rel, strerror(errno));
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), cmp_str);
	*out = names;
	return rc;
}

/* Two names of one directory that FAT would take for one: refused, naming both. */
static int check_clash(struct walk *w, const char *rel, char **names, size_t n)
{
	char **folded = calloc(n ? n : 1, sizeof(*folded));
	size_t i, j;
	int rc = 0;

	if (!folded)
		return oom();
	for (i = 0; i < n && rc == 0; i++)
		if (!(folded[i] = fold_name(names[i])))
			rc = oom();
	/* a directory's names are few next to the files' bytes: pairs are cheap enough */
	for (i = 0; i < n && rc == 0; i++)
		for (j = i + 1; j < n && rc == 0; j++)
			if (!strcmp(folded[i], folded[j]))
				rc = ctl_input_error(
				    w->cmd,
				    "%s%s%s: \"%s\" and \"%s\" are one name to FAT, "
				    "which ignores case",
				    w->shown, rel[0] ? "/" : "", rel, names[i], names[j]);
	for (i = 0; i < n; i++)
		free(folded[i]);
	free(folded);
	return rc;
}

static int add_dir(struct walk *w, char *rel, int parent, unsigned entries)
{
	struct ctl_site *s = w->s;

	if (grow((void **)&s->dirs, &s->dirs_cap, s->ndirs, sizeof(*s->dirs)) < 0) {
		free(rel);
		return oom();
	}
	s->dirs[s->ndirs] = (struct ctl_site_dir){ rel, parent, entries, 0, -1 };
	return (int)s->ndirs++;
}

static int add_file(struct walk *w, char *rel, char *src, int dir, unsigned entries,
                    unsigned long long size)
{
	struct ctl_site *s = w->s;

	if (grow((void **)&s->files, &s->files_cap, s->nfiles, sizeof(*s->files)) < 0) {
		free(rel);
		free(src);
		return oom();
	}
	s->files[s->nfiles] = (struct ctl_site_file){ rel, src, size, dir, entries, -1 };
	s->nfiles++;
	s->dirs[dir].children++;
	return 0;
}

static int walk_dir(struct walk *w, const char *abs, int di, int depth);

/* One entry of a directory: a file, a directory to walk, or a refusal. */
static int walk_entry(struct walk *w, const char *dir_abs, int di, int depth, const char *name)
{
	const char *rel_dir = w->s->dirs[di].path;
	char *abs = NULL, *rel = NULL, *real = NULL, why[160];
	unsigned entries = 0;
	struct stat st;
	int rc = 0, sub, i;

	abs = join(dir_abs, name);
	rel = join(rel_dir, name);
	if (!abs || !rel) {
		rc = oom();
		goto out;
	}
	if (ctl_site_name_check(name, &entries, why, sizeof(why)) < 0) {
		rc = ctl_input_error(w->cmd, "%s/%s: the name %s", w->shown, rel, why);
		goto out;
	}
	if (lstat(abs, &st) < 0) {
		rc = ctl_input_error(w->cmd, "%s/%s: %s", w->shown, rel, strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		real = realpath(abs, NULL);
		if (!real) {
			rc = ctl_input_error(w->cmd, "%s/%s: a symbolic link to nothing (%s)",
			                     w->shown, rel, strerror(errno));
			goto out;
		}
		if (strncmp(real, w->s->root, w->root_len) != 0 ||
		    (real[w->root_len] != '/' && real[w->root_len] != '\0')) {
			rc = ctl_input_error(w->cmd,
			                     "%s/%s: a symbolic link that leaves %s (to %s); copy "
			                     "what it names into the site instead",
			                     w->shown, rel, w->shown, real);
			goto out;
		}
		if (stat(abs, &st) < 0) {
			rc = ctl_input_error(w->cmd, "%s/%s: %s", w->shown, rel, strerror(errno));
			goto out;
		}
	}
	if (S_ISREG(st.st_mode)) {
		if ((unsigned long long)st.st_size > FAT_FILE_MAX) {
			rc = ctl_input_error(w->cmd,
			                     "%s/%s: %lld bytes, over the 4 GiB - 1 a FAT file can "
			                     "hold",
			                     w->shown, rel, (long long)st.st_size);
			goto out;
		}
		rc = add_file(w, rel, abs, di, entries, (unsigned long long)st.st_size);
		rel = abs = NULL;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = ctl_input_error(
		    w->cmd, "%s/%s: a %s, not a file or directory: a site holds only those",
		    w->shown, rel,
		    S_ISFIFO(st.st_mode)   ? "named pipe"
		    : S_ISSOCK(st.st_mode) ? "socket"
		    : S_ISCHR(st.st_mode)  ? "character device"
		    : S_ISBLK(st.st_mode)  ? "block device"
		                           : "special file");
		goto out;
	}
	if (depth >= SITE_DEPTH_MAX) {
		rc = ctl_input_error(w->cmd, "%s/%s: more than %d directories deep", w->shown, rel,
		                     SITE_DEPTH_MAX);
		goto out;
	}
	/* a link to a directory inside DIR is walked, unless it leads back up (a loop) */
	for (i = 0; i <= depth; i++)
		if (w->dev[i] == st.st_dev && w->ino[i] == st.st_ino) {
			rc = ctl_input_error(w->cmd,
			                     "%s/%s: a symbolic link to a directory that holds it "
			                     "(a loop)",
			                     w->shown, rel);
			goto out;
		}
	w->dev[depth + 1] = st.st_dev;
	w->ino[depth + 1] = st.st_ino;
	sub = add_dir(w, rel, di, entries);
	rel = NULL;
	if (sub < 0) {
		rc = sub;
		goto out;
	}
	w->s->dirs[di].children++;
	rc = walk_dir(w, abs, sub, depth + 1);
out:
	free(abs);
	free(rel);
	free(real);
	return rc;
}

static int walk_dir(struct walk *w, const char *abs, int di, int depth)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	rc = read_names(w, abs, w->s->dirs[di].path, &names, &n);
	if (rc == 0)
		rc = check_clash(w, w->s->dirs[di].path, names, n);
	for (i = 0; i < n && rc == 0; i++)
		rc = walk_entry(w, abs, di, depth, names[i]);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int ctl_site_scan(const struct ctl_cmd *cmd, const char *dir, struct ctl_site *s)
{
	struct walk w = { .cmd = cmd, .s = s, .shown = dir };
	struct stat st;
	char *root_rel;
	int rc;

	memset(s, 0, sizeof(*s));
	s->shown = dir;
	if (stat(dir, &st) < 0)
		return ctl_input_error(cmd, "the site's directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ctl_input_error(cmd, "%s is not a directory", dir);
	s->root = realpath(dir, NULL);
	if (!s->root)
		return ctl_input_error(cmd, "the site's directory %s: %s", dir, strerror(errno));
	w.root_len = strlen(s->root);
	if (w.root_len == 1)
		w.root_len = 0; /* "/": every path is under it */
	w.dev[0] = st.st_dev;
	w.ino[0] = st.st_ino;
	root_rel = strdup("");
	if (!root_rel)
		return oom();
	rc = add_dir(&w, root_rel, -1, 0);
	if (rc >= 0)
		rc = walk_dir(&w, s->root, 0, 0);
	if (rc == 0 && s->nfiles == 0)
		rc = ctl_input_error(cmd, "%s holds no files: there is no site to serve", dir);
	return rc;
}

/* ---- the split ---- */

static unsigned long long div_up(unsigned long long a, unsigned long long b)
{
	return (a + b - 1) / b;
}

static unsigned long long dir_clusters(unsigned long long entries)
{
	return div_up(entries * DIRENT_BYTES, CLUSTER_BYTES);
}

int ctl_site_fat_bits(unsigned long long clusters, unsigned root_entries)
{
	(void)root_entries;
	return clusters <= FAT16_CLUSTERS_MAX ? 16 : 32;
}

unsigned ctl_site_root_entries(unsigned root_entries)
{
	/* the root's entries, the volume label's among them, in whole sectors */
	unsigned n = (root_entries + 1 + 15) & ~15u;

	return n < FAT16_ROOT_ENTRIES ? FAT16_ROOT_ENTRIES : n;
}

unsigned long long ctl_site_image_bytes(unsigned long long clusters, unsigned root_entries)
{
	unsigned long long sectors, b;

	/*
	 * Generous by a few sectors (reserved sectors, alignment): mkfs.fat's
	 * own layout is checked on the image it makes, which is grown when short.
	 * FAT12, which mkfs.fat picks for the smallest, has smaller FATs still.
	 */
	if (ctl_site_fat_bits(clusters, root_entries) == 16) {
		sectors = 8 + 2 * div_up((clusters + 2) * 2, 512) +
		          div_up(ctl_site_root_entries(root_entries) * DIRENT_BYTES, 512);
	} else {
		clusters += dir_clusters(root_entries + 1);
		if (clusters < FAT32_CLUSTERS_MIN)
			clusters = FAT32_CLUSTERS_MIN;
		sectors = 32 + 2 * div_up((clusters + 2) * 4, 512);
	}
	sectors += clusters * CTL_SITE_CLUSTER_SECTORS + 2 * CTL_SITE_CLUSTER_SECTORS;
	b = div_up(sectors, 2) << 10;
	return b < IMAGE_MIN_BYTES ? IMAGE_MIN_BYTES : b;
}

/*
 * What putting item it (a file, or a directory that holds nothing) into
 * image im adds: its clusters, and every directory on its way up that the
 * image lacks, each with its "." and ".." and its entry in its parent.
 * With apply, the image takes it.
 */
static void place(const struct ctl_site *s, struct ctl_site_image *im, int file, int dir,
                  unsigned long long *clusters, unsigned *root, int apply)
{
	unsigned long long c = im->clusters;
	unsigned r = im->root_entries, add = 0, old, now;
	int d = dir;

	if (file >= 0) {
		c += div_up(s->files[file].size_bytes, CLUSTER_BYTES);
		d = s->files[file].dir;
		add = s->files[file].name_entries;
	}
	for (;;) {
		if (d == 0) {
			r += add;
			break;
		}
		old = im->dir_entries[d];
		now = (old ? old : 2) + add;
		c += dir_clusters(now) - (old ? dir_clusters(old) : 0);
		if (apply)
			im->dir_entries[d] = now;
		if (old)
			break;
		add = s->dirs[d].name_entries;
		d = s->dirs[d].parent;
	}
	if (apply) {
		im->clusters = c;
		im->root_entries = r;
	}
	*clusters = c;
	*root = r;
}

struct item {
	int file, dir;
	unsigned long long size_bytes;
	size_t order;
};

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->size_bytes != y->size_bytes)
		return x->size_bytes > y->size_bytes ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int new_image(struct ctl_site *s)
{
	struct ctl_site_image *im;

	im = realloc(s->images, (s->nimages + 1) * sizeof(*im));
	if (!im)
		return -1;
	s->images = im;
	im += s->nimages;
	memset(im, 0, sizeof(*im));
	im->dir_entries = calloc(s->ndirs, sizeof(*im->dir_entries));
	if (!im->dir_entries)
		return -1;
	s->nimages++;
	return 0;
}

int ctl_site_plan(const struct ctl_cmd *cmd, struct ctl_site *s, unsigned long long image_max_bytes,
                  const char *size_shown)
{
	struct item *items;
	unsigned long long c;
	size_t n = 0, i, k;
	unsigned r;
	char b[32];
	int rc = 0;

	items = calloc(s->nfiles + s->ndirs, sizeof(*items));
	if (!items)
		return oom();
	for (i = 0; i < s->nfiles; i++, n++)
		items[n] = (struct item){ (int)i, -1, s->files[i].size_bytes, n };
	for (i = 1; i < s->ndirs; i++)
		if (s->dirs[i].children == 0) {
			items[n] = (struct item){ -1, (int)i, 0, n };
			n++;
		}
	/* first fit, largest first: few images, each nearly full */
	qsort(items, n, sizeof(*items), cmp_item);
	for (i = 0; i < n && rc == 0; i++) {
		for (k = 0; k < s->nimages; k++) {
			place(s, &s->images[k], items[i].file, items[i].dir, &c, &r, 0);
			if (ctl_site_image_bytes(c, r) <= image_max_bytes)
				break;
		}
		if (k == s->nimages) {
			if (new_image(s) < 0) {
				rc = oom();
				break;
			}
			place(s, &s->images[k], items[i].file, items[i].dir, &c, &r, 0);
			if (ctl_site_image_bytes(c, r) > image_max_bytes) {
				rc = ctl_input_error(
				    cmd,
				    "%s/%s: %llu bytes (%s with FAT's overhead) do not fit in one "
				    "image of %s (--disk-size)",
				    s->shown,
				    items[i].file >= 0 ? s->files[items[i].file].path
				                       : s->dirs[items[i].dir].path,
				    items[i].size_bytes,
				    ctl_fmt_bytes((double)ctl_site_image_bytes(c, r), b, sizeof(b)),
				    size_shown);
				break;
			}
		}
		place(s, &s->images[k], items[i].file, items[i].dir, &c, &r, 1);
		if (items[i].file >= 0) {
			s->files[items[i].file].image = (int)k;
			s->images[k].nfiles++;
			s->images[k].file_bytes += items[i].size_bytes;
		} else {
			s->dirs[items[i].dir].image = (int)k;
		}
	}
	for (k = 0; k < s->nimages; k++)
		s->images[k].size_bytes =
		    ctl_site_image_bytes(s->images[k].clusters, s->images[k].root_entries);
	free(items);
	return rc;
}

int ctl_site_image_has_dir(const struct ctl_site *s, size_t image, size_t dir)
{
	return dir == 0 || s->images[image].dir_entries[dir] != 0;
}

void ctl_site_free(struct ctl_site *s)
{
	size_t i;

	for (i = 0; i < s->ndirs; i++)
		free(s->dirs[i].path);
	for (i = 0; i < s->nfiles; i++) {
		free(s->files[i].path);
		free(s->files[i].src);
	}
	for (i = 0; i < s->nimages; i++)
		free(s->images[i].dir_entries);
	free(s->dirs);
	free(s->files);
	free(s->images);
	free(s->root);
	memset(s, 0, sizeof(*s));
}
