/*
 * The read-only FAT reader (shoal/fat.h): the BPB check at mount, cluster
 * chains through a window of the FAT, directories through a window of
 * sectors, long names assembled and checked against their short entry.
 * Every number that comes from the disk is range-checked where it is read.
 */
#include <shoal/fat.h>
#include <shoal/rt.h>

#include <stdarg.h>

/* Both windows are this big: the largest sector size FAT allows. */
#define WIN_BYTES 4096u

#define DIRENT_BYTES     32u
#define SHORT_NAME_BYTES (11 * 3 + 2) /* 11 characters of up to 3 UTF-8 bytes, the dot, the NUL */
#define DIR_MAX_ENTS     65536u       /* the specification's limit for one directory */
#define LFN_MAX_PARTS    20u          /* 20 * 13 units hold RT_FAT_NAME_MAX */
#define LFN_UNITS        13u

#define ATTR_VOLUME 0x08u
#define ATTR_DIR    0x10u
#define ATTR_LFN    0x0Fu /* read-only | hidden | system | volume */
#define ATTR_MASK   0x3Fu

#define ENT_END     0x00u
#define ENT_DELETED 0xE5u
#define LFN_LAST    0x40u

struct rt_fat {
	uint8_t fat_win[WIN_BYTES];  /* a window of the active FAT */
	uint8_t data_win[WIN_BYTES]; /* a window of directory or file sectors */
	struct rt_fat_dev dev;
	enum rt_fat_type type;
	uint32_t cluster_bytes;
	uint32_t dev_per_cluster; /* device sectors per cluster */
	uint32_t clusters;        /* data clusters: valid numbers are 2 .. clusters + 1 */
	uint32_t root_cluster;    /* FAT32 */
	uint32_t root_entries;    /* FAT12/16: entries of the fixed root region */
	uint64_t root_dev;        /* FAT12/16: its first device sector */
	uint64_t root_bytes;      /* FAT12/16: its size, whole sectors */
	uint64_t fat_dev;         /* first device sector of the active FAT */
	uint64_t fat_bytes;       /* size of one FAT */
	uint64_t data_dev;        /* first device sector of cluster 2 */
	uint64_t fat_win_off;     /* FAT byte offset the FAT window holds, if fat_win_len */
	uint32_t fat_win_len;
	uint64_t data_win_sector; /* device sectors the data window holds, if data_win_count */
	uint32_t data_win_count;
	struct {
		uint32_t first, index, cluster; /* cluster number index of the chain at first */
		bool valid;
	} hint;
	uint16_t lfn[LFN_MAX_PARTS * LFN_UNITS];
	char err[256];
};

static const struct {
	int rc;
	const char *msg;
} errors[] = {
	{ RT_FAT_EIO, "device read failed" },
	{ RT_FAT_EBADFS, "not a valid FAT file system" },
	{ RT_FAT_ECORRUPT, "corrupt FAT file system" },
	{ RT_FAT_ENOENT, "no such file or directory" },
	{ RT_FAT_ENOTDIR, "not a directory" },
	{ RT_FAT_EISDIR, "is a directory" },
	{ RT_FAT_EINVAL, "invalid argument" },
	{ RT_FAT_ENAMETOOLONG, "name too long" },
	{ RT_FAT_ENOMEM, "out of memory" },
};

const char *rt_fat_strerror(int rc)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].rc == rc)
			return errors[i].msg;
	return "unknown error";
}

/*
 * A message cut at the end of fs->err may end inside a UTF-8 character (a
 * long name, a path): drop the partial character.
 */
static void cut_partial_utf8(char *s)
{
	size_t n = strlen(s), k = 0;
	const uint8_t *u = (const uint8_t *)s;

	while (k < 3 && k < n && (u[n - 1 - k] & 0xC0) == 0x80)
		k++;
	if (k < n && u[n - 1 - k] >= 0xC0) {
		size_t need = u[n - 1 - k] >= 0xF0 ? 4 : u[n - 1 - k] >= 0xE0 ? 3 : 2;

		if (k + 1 < need)
			s[n - 1 - k] = '\0';
	}
}

__attribute__((format(printf, 3, 4))) static int fail(struct rt_fat *fs, int rc, const char *fmt,
                                                      ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_vsnprintf(fs->err, sizeof(fs->err), fmt, ap);
	va_end(ap);
	cut_partial_utf8(fs->err);
	return rc;
}

/* "root directory" or "directory at cluster N", for messages. */
static const char *dir_label(const struct rt_fat *fs, const struct rt_fat_dir *it, char *buf,
                             size_t len)
{
	if (it->first_cluster == 0 ||
	    (fs->type == RT_FAT32 && it->first_cluster == fs->root_cluster))
		return "root directory";
	rt_snprintf(buf, len, "directory at cluster %u", it->first_cluster);
	return buf;
}

/* Corruption in the entry the cursor last took: the sentence names the directory and entry. */
__attribute__((format(printf, 3, 4))) static int
bad_entry(struct rt_fat *fs, const struct rt_fat_dir *it, const char *fmt, ...)
{
	char label[40];
	va_list ap;
	size_t n;

	rt_snprintf(fs->err, sizeof(fs->err),
	            "%s, entry %u: ", dir_label(fs, it, label, sizeof(label)), it->index - 1);
	n = strlen(fs->err);
	va_start(ap, fmt);
	rt_vsnprintf(fs->err + n, sizeof(fs->err) - n, fmt, ap);
	va_end(ap);
	cut_partial_utf8(fs->err);
	return RT_FAT_ECORRUPT;
}

const char *rt_fat_errmsg(const struct rt_fat *fs)
{
	return fs ? fs->err : "no file system";
}

enum rt_fat_type rt_fat_type(const struct rt_fat *fs)
{
	return fs->type;
}

uint32_t rt_fat_cluster_bytes(const struct rt_fat *fs)
{
	return fs->cluster_bytes;
}

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline bool cluster_ok(const struct rt_fat *fs, uint32_t c)
{
	return c >= 2 && c - 2 < fs->clusters;
}

/* ---- Device access ---- */

static int dev_read(struct rt_fat *fs, uint64_t sector, uint32_t count, void *buf)
{
	int r;

	/* Every caller's range comes from checked numbers; this is the last guard. */
	if (count == 0 || sector >= fs->dev.sectors || count > fs->dev.sectors - sector)
		return fail(fs, RT_FAT_ECORRUPT,
		            "read of %u sectors at sector %llu is past the device", count,
		            (unsigned long long)sector);
	r = fs->dev.read(fs->dev.ctx, sector, count, buf);
	if (r < 0)
		return fail(fs, RT_FAT_EIO, "device read of %u sectors at sector %llu failed (%d)",
		            count, (unsigned long long)sector, r);
	return 0;
}

/* The data window holding device sectors [sector, sector + count). */
static int load_data(struct rt_fat *fs, uint64_t sector, uint32_t count, const uint8_t **p)
{
	int rc;

	if (fs->data_win_count == 0 || sector != fs->data_win_sector ||
	    count > fs->data_win_count) {
		fs->data_win_count = 0;
		rc = dev_read(fs, sector, count, fs->data_win);
		if (rc < 0)
			return rc;
		fs->data_win_sector = sector;
		fs->data_win_count = count;
	}
	*p = fs->data_win;
	return 0;
}

/* Byte off of the active FAT (below fat_bytes, which the mount checked). */
static int fat_byte(struct rt_fat *fs, uint64_t off, uint8_t *b)
{
	int rc;

	if (fs->fat_win_len == 0 || off < fs->fat_win_off ||
	    off - fs->fat_win_off >= fs->fat_win_len) {
		uint64_t w = off - off % WIN_BYTES;
		uint64_t len = fs->fat_bytes - w < WIN_BYTES ? fs->fat_bytes - w : WIN_BYTES;

		fs->fat_win_len = 0;
		rc = dev_read(fs, fs->fat_dev + w / fs->dev.sector_bytes,
		              (uint32_t)(len / fs->dev.sector_bytes), fs->fat_win);
		if (rc < 0)
			return rc;
		fs->fat_win_off = w;
		fs->fat_win_len = (uint32_t)len;
	}
	*b = fs->fat_win[off - fs->fat_win_off];
	return 0;
}

/*
 * The cluster after c (which must be valid) into *next, or 0 in *next at
 * the end of the chain.  A free, reserved, bad or out-of-range entry in
 * the middle of a chain is corruption.
 */
static int chain_next(struct rt_fat *fs, uint32_t c, uint32_t *next)
{
	uint8_t b[4] = { 0 };
	uint64_t off;
	uint32_t v, eoc, n, i;
	int rc;

	if (!cluster_ok(fs, c))
		return fail(fs, RT_FAT_ECORRUPT, "cluster %u is out of range (2..%u)", c,
		            fs->clusters + 1);
	switch (fs->type) {
	case RT_FAT12:
		off = (uint64_t)c + c / 2;
		n = 2;
		eoc = 0xFF8;
		break;
	case RT_FAT16:
		off = (uint64_t)c * 2;
		n = 2;
		eoc = 0xFFF8;
		break;
	default:
		off = (uint64_t)c * 4;
		n = 4;
		eoc = 0x0FFFFFF8;
		break;
	}
	for (i = 0; i < n; i++) {
		rc = fat_byte(fs, off + i, &b[i]);
		if (rc < 0)
			return rc;
	}
	if (fs->type == RT_FAT12)
		v = c & 1 ? (uint32_t)(b[0] >> 4 | b[1] << 4)
		          : (uint32_t)(b[0] | (b[1] & 0x0F) << 8);
	else if (fs->type == RT_FAT16)
		v = le16(b);
	else
		v = le32(b) & 0x0FFFFFFF;
	if (v >= eoc) {
		*next = 0;
		return 0;
	}
	if (v == eoc - 1)
		return fail(fs, RT_FAT_ECORRUPT, "the FAT entry of cluster %u marks a bad cluster",
		            c);
	if (v < 2)
		return fail(fs, RT_FAT_ECORRUPT,
		            "the FAT entry of cluster %u is %s in the middle of a chain", c,
		            v == 0 ? "free" : "reserved (1)");
	if (!cluster_ok(fs, v))
		return fail(fs, RT_FAT_ECORRUPT,
		            "the FAT entry of cluster %u points to cluster %u, past the last (%u)",
		            c, v, fs->clusters + 1);
	*next = v;
	return 0;
}

/* ---- Mount ---- */

static void copy_err(char *err, size_t err_len, const char *msg)
{
	size_t n;

	if (!err || err_len == 0)
		return;
	n = strlen(msg);
	if (n >= err_len)
		n = err_len - 1;
	memcpy(err, msg, n);
	err[n] = '\0';
	cut_partial_utf8(err);
}

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* The boot sector in fs->data_win: check every BPB field and fill fs. */
static int parse_bpb(struct rt_fat *fs)
{
	const uint8_t *b = fs->data_win;
	uint32_t bps, spc, rsvd, nfats, root_ent, tot16, fatsz16, total, fatsz, ss;
	uint64_t root_sectors, fat_start, data_start, dev_bytes, need, clusters, per;

	ss = fs->dev.sector_bytes;
	if (b[510] != 0x55 || b[511] != 0xAA)
		return fail(fs, RT_FAT_EBADFS,
		            "boot sector: no signature 55 AA at byte 510 (found %02x %02x)", b[510],
		            b[511]);
	if (!((b[0] == 0xEB && b[2] == 0x90) || b[0] == 0xE9))
		return fail(fs, RT_FAT_EBADFS,
		            "boot sector: does not start with a jump instruction (%02x)", b[0]);
	bps = le16(b + 11);
	if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096)
		return fail(fs, RT_FAT_EBADFS,
		            "BPB: bytes per sector %u is not 512, 1024, 2048 or 4096", bps);
	if (bps < ss)
		return fail(fs, RT_FAT_EBADFS,
		            "BPB: bytes per sector %u is below the device's sector size %u", bps,
		            ss);
	spc = b[13];
	if (!pow2(spc))
		return fail(fs, RT_FAT_EBADFS, "BPB: sectors per cluster %u is not a power of two",
		            spc);
	rsvd = le16(b + 14);
	if (rsvd == 0)
		return fail(fs, RT_FAT_EBADFS, "BPB: reserved sectors is 0");
	nfats = b[16];
	if (nfats == 0)
		return fail(fs, RT_FAT_EBADFS, "BPB: number of FATs is 0");
	root_ent = le16(b + 17);
	tot16 = le16(b + 19);
	fatsz16 = le16(b + 22);
	total = tot16 ? tot16 : le32(b + 32);
	fatsz = fatsz16 ? fatsz16 : le32(b + 36);
	if (total == 0)
		return fail(fs, RT_FAT_EBADFS, "BPB: total sectors is 0");
	if (fatsz == 0)
		return fail(fs, RT_FAT_EBADFS, "BPB: sectors per FAT is 0");
	dev_bytes = fs->dev.sectors * ss;
	if ((uint64_t)total * bps > dev_bytes)
		return fail(fs, RT_FAT_EBADFS,
		            "BPB: total sectors %u of %u bytes go past the device's %llu bytes",
		            total, bps, (unsigned long long)dev_bytes);
	root_sectors = ((uint64_t)root_ent * DIRENT_BYTES + bps - 1) / bps;
	fat_start = rsvd;
	data_start = fat_start + (uint64_t)nfats * fatsz + root_sectors;
	if (data_start >= total)
		return fail(fs, RT_FAT_EBADFS,
		            "BPB: reserved sectors, FATs and root directory (%llu sectors) reach "
		            "past the %u sectors of the disk",
		            (unsigned long long)data_start, total);
	clusters = (total - data_start) / spc;
	if (clusters == 0)
		return fail(fs, RT_FAT_EBADFS, "BPB: the data region holds no whole cluster");

	/* The type follows from the cluster count alone (the specification's rule). */
	if (clusters < 4085)
		fs->type = RT_FAT12;
	else if (clusters < 65525)
		fs->type = RT_FAT16;
	else
		fs->type = RT_FAT32;
	if (fs->type == RT_FAT32) {
		uint32_t flags = le16(b + 40);

		if (clusters > 0x0FFFFFF5)
			return fail(fs, RT_FAT_EBADFS,
			            "BPB: %llu clusters is more than FAT32 allows",
			            (unsigned long long)clusters);
		if (fatsz16 != 0 || root_ent != 0)
			return fail(
			    fs, RT_FAT_EBADFS,
			    "BPB: %llu clusters make FAT32, but the 16-bit FAT size (%u) or "
			    "root entries (%u) is not 0",
			    (unsigned long long)clusters, fatsz16, root_ent);
		if (flags & 0x80) {
			if ((flags & 0x0F) >= nfats)
				return fail(fs, RT_FAT_EBADFS, "BPB: active FAT %u of only %u FATs",
				            flags & 0x0F, nfats);
			fat_start += (uint64_t)(flags & 0x0F) * fatsz;
		}
	} else {
		if (root_ent == 0)
			return fail(fs, RT_FAT_EBADFS,
			            "BPB: %llu clusters make FAT%d, but root entries is 0",
			            (unsigned long long)clusters, (int)fs->type);
		if (fatsz16 == 0)
			return fail(fs, RT_FAT_EBADFS,
			            "BPB: %llu clusters make FAT%d, but the 16-bit FAT size is 0",
			            (unsigned long long)clusters, (int)fs->type);
	}
	fs->clusters = (uint32_t)clusters;
	if (fs->type == RT_FAT12)
		need = ((clusters + 2) * 3 + 1) / 2;
	else
		need = (clusters + 2) * (fs->type == RT_FAT16 ? 2 : 4);
	if ((uint64_t)fatsz * bps < need)
		return fail(fs, RT_FAT_EBADFS,
		            "BPB: a FAT of %u sectors is too small for %llu clusters", fatsz,
		            (unsigned long long)clusters);
	if (fs->type == RT_FAT32) {
		fs->root_cluster = le32(b + 44);
		if (!cluster_ok(fs, fs->root_cluster))
			return fail(fs, RT_FAT_EBADFS,
			            "BPB: root cluster %u is out of range (2..%u)",
			            fs->root_cluster, fs->clusters + 1);
	}

	per = bps / ss;
	fs->cluster_bytes = bps * spc;
	fs->dev_per_cluster = (uint32_t)(spc * per);
	fs->fat_dev = fat_start * per;
	fs->fat_bytes = (uint64_t)fatsz * bps;
	fs->root_entries = fs->type == RT_FAT32 ? 0 : root_ent;
	fs->root_dev = (rsvd + (uint64_t)nfats * fatsz) * per;
	fs->root_bytes = root_sectors * bps;
	fs->data_dev = data_start * per;
	return 0;
}

int rt_fat_mount(const struct rt_fat_dev *dev, struct rt_fat **fsp, char *err, size_t err_len)
{
	struct rt_fat *fs = NULL;
	uint32_t ss;
	int rc;

	if (fsp)
		*fsp = NULL;
	copy_err(err, err_len, "");
	if (!dev || !fsp || !dev->read) {
		copy_err(err, err_len, "mount: no device or no read function");
		return RT_FAT_EINVAL;
	}
	ss = dev->sector_bytes;
	if ((ss != 512 && ss != 1024 && ss != 2048 && ss != 4096) || dev->sectors == 0 ||
	    dev->sectors > UINT64_MAX / ss) {
		copy_err(err, err_len,
		         "mount: the device's sector size is not 512, 1024, 2048 or 4096, "
		         "or its size is not sensible");
		return RT_FAT_EINVAL;
	}
	fs = rt_malloc(sizeof(*fs));
	if (!fs) {
		copy_err(err, err_len, "mount: out of memory for the mount's buffers");
		return RT_FAT_ENOMEM;
	}
	memset(fs, 0, sizeof(*fs));
	fs->dev = *dev;
	rc = dev_read(fs, 0, 1, fs->data_win);
	if (rc < 0)
		goto out;
	rc = parse_bpb(fs);
	if (rc < 0)
		goto out;
	*fsp = fs;
	fs = NULL;
	rc = 0;
out:
	if (fs) {
		copy_err(err, err_len, fs->err);
		rt_free(fs);
	}
	return rc;
}

void rt_fat_unmount(struct rt_fat *fs)
{
	rt_free(fs);
}

void rt_fat_root(const struct rt_fat *fs, struct rt_fat_node *node)
{
	memset(node, 0, sizeof(*node));
	node->is_dir = true;
	node->is_root = true;
	node->first_cluster = fs->type == RT_FAT32 ? fs->root_cluster : 0;
}

/* ---- Names ---- */

/* Append code point cp to s (which has room) as UTF-8; the new length. */
static size_t put_utf8(char *s, size_t n, uint32_t cp)
{
	if (cp < 0x80) {
		s[n++] = (char)cp;
	} else if (cp < 0x800) {
		s[n++] = (char)(0xC0 | cp >> 6);
		s[n++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		s[n++] = (char)(0xE0 | cp >> 12);
		s[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[n++] = (char)(0x80 | (cp & 0x3F));
	} else {
		s[n++] = (char)(0xF0 | cp >> 18);
		s[n++] = (char)(0x80 | (cp >> 12 & 0x3F));
		s[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[n++] = (char)(0x80 | (cp & 0x3F));
	}
	return n;
}

/*
 * One code point of the UTF-8 string s (len bytes left) into *cp: its
 * length in bytes, or 0 for a malformed, overlong or surrogate sequence.
 */
static size_t get_utf8(const char *s, size_t len, uint32_t *cp)
{
	const uint8_t *u = (const uint8_t *)s;
	uint32_t v, min;
	size_t n, i;

	if (len == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xE0) == 0xC0) {
		n = 2;
		v = u[0] & 0x1F;
		min = 0x80;
	} else if ((u[0] & 0xF0) == 0xE0) {
		n = 3;
		v = u[0] & 0x0F;
		min = 0x800;
	} else if ((u[0] & 0xF8) == 0xF0) {
		n = 4;
		v = u[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (u[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

/*
 * The upper case FAT compares names in: ASCII, Latin-1, Latin Extended-A,
 * Greek and Cyrillic, which covers what a site's file names use; other
 * code points compare as they are.
 */
static uint32_t fold(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 32;
	if (c < 0xE0)
		return c;
	if (c <= 0xFE)
		return c == 0xF7 ? c : c - 0x20;
	if (c == 0xFF)
		return 0x178;
	if (c >= 0x100 && c <= 0x17F) {
		if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F)
			return c;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
			return (c & 1) ? c : c - 1;
		return c & ~1u;
	}
	if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2)
		return c - 0x20;
	if (c == 0x3C2)
		return 0x3A3;
	if (c >= 0x430 && c <= 0x44F)
		return c - 0x20;
	if (c >= 0x450 && c <= 0x45F)
		return c - 0x50;
	return c;
}

/* Does the path component a (alen bytes, checked UTF-8) name name (NUL-terminated)? */
static bool name_eq(const char *a, size_t alen, const char *name)
{
	size_t blen = strlen(name);

	while (alen && blen) {
		uint32_t ca = 0, cb = 0;
		size_t na = get_utf8(a, alen, &ca), nb = get_utf8(name, blen, &cb);

		if (!na || !nb || fold(ca) != fold(cb))
			return false;
		a += na;
		alen -= na;
		name += nb;
		blen -= nb;
	}
	return alen == 0 && blen == 0;
}

/* Characters no FAT name may hold (besides control characters). */
static bool forbidden(uint32_t c)
{
	return c < 0x20 || c == '"' || c == '*' || c == '/' || c == ':' || c == '<' || c == '>' ||
	       c == '?' || c == '\\' || c == '|' || c == 0x7F;
}

/*
 * The long name in fs->lfn (parts entries) as UTF-8 into name
 * (RT_FAT_NAME_BYTES): its length must match its parts, its UTF-16 be
 * well formed, and it may hold no character FAT forbids.
 */
static int lfn_to_utf8(struct rt_fat *fs, const struct rt_fat_dir *it, uint32_t parts, char *name)
{
	uint32_t units = parts * LFN_UNITS, len, i;
	size_t n = 0;

	for (len = 0; len < units && fs->lfn[len] != 0; len++)
		;
	if (len > RT_FAT_NAME_MAX)
		return bad_entry(fs, it, "long name of %u characters is longer than %u", len,
		                 RT_FAT_NAME_MAX);
	if (len == 0 || len <= (parts - 1) * LFN_UNITS)
		return bad_entry(fs, it, "long name of %u characters does not fill its %u parts",
		                 len, parts);
	for (i = 0; i < len; i++) {
		uint32_t c = fs->lfn[i];

		if (c >= 0xD800 && c <= 0xDBFF && i + 1 < len && fs->lfn[i + 1] >= 0xDC00 &&
		    fs->lfn[i + 1] <= 0xDFFF) {
			c = 0x10000 + ((c - 0xD800) << 10) + (fs->lfn[i + 1] - 0xDC00);
			i++;
		} else if (c >= 0xD800 && c <= 0xDFFF) {
			return bad_entry(fs, it, "long name has an unpaired UTF-16 surrogate %04x",
			                 c);
		}
		if (forbidden(c))
			return bad_entry(fs, it, "long name has character %04x, which FAT forbids",
			                 c);
		n = put_utf8(name, n, c);
	}
	name[n] = '\0';
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return bad_entry(fs, it, "long name \"%s\" is not a file name", name);
	return 0;
}

/*
 * Short names are in an OEM code page, which the disk does not name; the
 * upper half is read as code page 437 (DOS's, and Linux's vfat default),
 * so that a name such as "CAFé.TXT" written without a long name still
 * reads, as UTF-8.
 */
static const uint16_t cp437[128] = {
	0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8,
	0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2,
	0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1,
	0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD,
	0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562,
	0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, 0x2514, 0x2534,
	0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560,
	0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
	0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580, 0x03B1, 0x00DF, 0x0393,
	0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6,
	0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, 0x00B0,
	0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

/*
 * The 8.3 name of entry e as "NAME.EXT" into out (SHORT_NAME_BYTES),
 * lower-cased where the entry's case bits say so, its upper half as code
 * page 437 in UTF-8; false when it holds a byte FAT forbids.
 */
static bool short_name(const uint8_t *e, char *out)
{
	size_t n = 0, i, base = 8, ext = 3;

	while (base && e[base - 1] == ' ')
		base--;
	while (ext && e[8 + ext - 1] == ' ')
		ext--;
	if (base == 0)
		return false;
	for (i = 0; i < base + ext; i++) {
		uint8_t c = i < base ? e[i] : e[8 + i - base];

		if (i == 0 && c == 0x05)
			c = 0xE5; /* a name that begins with 0xE5 (0xE5 itself marks a deleted
			             entry) */
		if (c < 0x80 && (forbidden(c) || c == '+' || c == ',' || c == '.' || c == ';' ||
		                 c == '=' || c == '[' || c == ']'))
			return false;
		if (i == base)
			out[n++] = '.';
		if (c >= 0x80) {
			uint32_t cp = cp437[c - 0x80];

			/* The case bits lower-case Latin-1's capitals too (CAF\x90 is "café"). */
			if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7 &&
			    (e[12] & (i < base ? 0x08 : 0x10)))
				cp += 0x20;
			n = put_utf8(out, n, cp);
			continue;
		}
		if (c >= 'A' && c <= 'Z' && (e[12] & (i < base ? 0x08 : 0x10)))
			c = (uint8_t)(c + 32);
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return true;
}

static uint8_t short_checksum(const uint8_t *e)
{
	uint8_t sum = 0;
	unsigned i;

	for (i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + e[i]);
	return sum;
}

static bool leap(uint32_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static uint32_t month_days(uint32_t y, uint32_t m)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* A FAT date and time as seconds since 1970, 0 when either is invalid. */
static uint64_t fat_time(uint16_t date, uint16_t time)
{
	uint32_t y = 1980 + (date >> 9), mon = date >> 5 & 15, day = date & 31;
	uint32_t h = time >> 11, min = time >> 5 & 63, s = (time & 31) * 2u, i;
	uint64_t days = 0;

	if (date == 0 || mon < 1 || mon > 12 || day < 1 || day > month_days(y, mon) || h > 23 ||
	    min > 59 || s > 59)
		return 0;
	for (i = 1970; i < y; i++)
		days += leap(i) ? 366 : 365;
	for (i = 1; i < mon; i++)
		days += month_days(y, i);
	days += day - 1;
	return days * 86400 + h * 3600u + min * 60u + s;
}

/* ---- Directories ---- */

int rt_fat_dir_open(const struct rt_fat *fs, const struct rt_fat_node *dir, struct rt_fat_dir *it)
{
	if (!fs || !dir || !it)
		return RT_FAT_EINVAL;
	if (!dir->is_dir)
		return RT_FAT_ENOTDIR;
	memset(it, 0, sizeof(*it));
	if (dir->is_root) {
		it->first_cluster = fs->type == RT_FAT32 ? fs->root_cluster : 0;
	} else {
		if (!cluster_ok(fs, dir->first_cluster))
			return RT_FAT_EINVAL;
		it->first_cluster = dir->first_cluster;
	}
	it->cluster = it->first_cluster;
	return 0;
}

/*
 * The 32 bytes of the entry at the cursor into e, and the cursor moved on:
 * 1, 0 at the end of the directory's space, or a negative code.
 */
static int dir_take(struct rt_fat *fs, struct rt_fat_dir *it, uint8_t *e)
{
	uint32_t ss = fs->dev.sector_bytes, epc = fs->cluster_bytes / DIRENT_BYTES;
	uint64_t pos, w, len, start;
	const uint8_t *p;
	char label[40];
	int rc;

	if (it->done)
		return 0;
	if (it->first_cluster == 0) {
		if (it->index >= fs->root_entries) {
			it->done = true;
			return 0;
		}
		pos = (uint64_t)it->index * DIRENT_BYTES;
		start = fs->root_dev;
		len = fs->root_bytes;
	} else {
		if (it->index >= DIR_MAX_ENTS)
			return fail(fs, RT_FAT_ECORRUPT,
			            "%s has more than %u entries (a loop in its chain?)",
			            dir_label(fs, it, label, sizeof(label)), DIR_MAX_ENTS);
		if (!cluster_ok(fs, it->cluster))
			return fail(fs, RT_FAT_ECORRUPT, "%s: cluster %u is out of range (2..%u)",
			            dir_label(fs, it, label, sizeof(label)), it->cluster,
			            fs->clusters + 1);
		pos = (uint64_t)(it->index % epc) * DIRENT_BYTES;
		start = fs->data_dev + (uint64_t)(it->cluster - 2) * fs->dev_per_cluster;
		len = fs->cluster_bytes;
	}
	/* The window of sectors around the entry; a listing reads 4 KiB per call. */
	w = pos - pos % WIN_BYTES;
	len = len - w < WIN_BYTES ? len - w : WIN_BYTES;
	rc = load_data(fs, start + w / ss, (uint32_t)(len / ss), &p);
	if (rc < 0)
		return rc;
	memcpy(e, p + (pos - w), DIRENT_BYTES);

	it->index++;
	if (it->first_cluster != 0 && it->index % epc == 0) {
		uint32_t next;

		rc = chain_next(fs, it->cluster, &next);
		if (rc < 0)
			return rc;
		if (next == 0) {
			it->done = true;
		} else {
			/* More clusters than the disk has: the chain must loop. */
			it->clusters++;
			if (it->clusters >= fs->clusters)
				return fail(fs, RT_FAT_ECORRUPT,
				            "%s: its chain is longer than the disk (a loop)",
				            dir_label(fs, it, label, sizeof(label)));
			it->cluster = next;
		}
	}
	return 1;
}

/* Part ord (1..20) of a long name: its 13 UTF-16 units into fs->lfn. */
static void lfn_store(struct rt_fat *fs, uint32_t ord, const uint8_t *e)
{
	uint16_t *u = &fs->lfn[(ord - 1) * LFN_UNITS];
	unsigned k;

	for (k = 0; k < 5; k++)
		u[k] = le16(e + 1 + 2 * k);
	for (k = 0; k < 6; k++)
		u[5 + k] = le16(e + 14 + 2 * k);
	for (k = 0; k < 2; k++)
		u[11 + k] = le16(e + 28 + 2 * k);
}

/*
 * The next entry, as rt_fat_dir_next(), with its 8.3 name into sname (SHORT_NAME_BYTES
 * bytes; empty when the short name is not usable for a lookup).
 *
 * A long name is stored as parts N (flagged last) .. 1 before its short
 * entry, each carrying the short name's checksum; anything else in
 * between (a deleted entry, a part out of order, the directory's end)
 * breaks it, and that is reported rather than guessed around.
 */
static int dir_next(struct rt_fat *fs, struct rt_fat_dir *it, struct rt_fat_dirent *ent,
                    char *sname)
{
	uint32_t parts = 0, expect = 0;
	uint8_t sum = 0, e[DIRENT_BYTES];
	char label[40];
	int rc;

	if (it->error)
		return fail(fs, it->error, "%s: the listing stopped at an earlier error",
		            dir_label(fs, it, label, sizeof(label)));
	for (;;) {
		uint32_t attr, first, size;
		bool have_short;

		rc = dir_take(fs, it, e);
		if (rc < 0)
			goto out;
		if (rc == 0 || e[0] == ENT_END) {
			it->done = true;
			if (parts) {
				rc = bad_entry(fs, it,
				               "long name without its short entry at the "
				               "end of the directory");
				goto out;
			}
			return 0;
		}
		attr = e[11];
		if (e[0] == ENT_DELETED) {
			if (parts) {
				rc = bad_entry(fs, it, "long name interrupted by a deleted entry");
				goto out;
			}
			continue;
		}
		if ((attr & ATTR_MASK) == ATTR_LFN) {
			uint32_t ord = e[0] & 0x3F;

			if (e[0] & LFN_LAST) {
				if (parts) {
					rc = bad_entry(fs, it,
					               "long name restarts before its "
					               "short entry");
					goto out;
				}
				if (e[0] & 0x80 || ord == 0 || ord > LFN_MAX_PARTS) {
					rc = bad_entry(fs, it,
					               "long name of %u parts is empty or longer "
					               "than %u characters",
					               ord, RT_FAT_NAME_MAX);
					goto out;
				}
				parts = ord;
				sum = e[13];
			} else if (!parts || expect == 0 || ord != expect || e[0] & 0x80) {
				rc = bad_entry(fs, it,
				               "long-name part %u out of order (expected %u)", e[0],
				               expect);
				goto out;
			} else if (e[13] != sum) {
				rc = bad_entry(fs, it, "long-name parts have different checksums");
				goto out;
			}
			if (e[12] != 0 || le16(e + 26) != 0) {
				rc = bad_entry(fs, it, "long-name part with a type or a cluster");
				goto out;
			}
			lfn_store(fs, ord, e);
			expect = ord - 1;
			continue;
		}
		if (attr & ATTR_VOLUME || e[0] == '.') {
			bool dot = e[0] == '.' && !(attr & ATTR_VOLUME) &&
			           (memcmp(e, ".          ", 11) == 0 ||
			            memcmp(e, "..         ", 11) == 0);

			if (parts || (e[0] == '.' && !dot)) {
				rc =
				    bad_entry(fs, it, "%s",
				              parts ? "long name before a volume label or dot entry"
				                    : "short name starts with '.'");
				goto out;
			}
			continue;
		}

		have_short = short_name(e, sname);
		if (parts) {
			if (expect != 0) {
				rc = bad_entry(fs, it, "long name ends before its part 1");
				goto out;
			}
			if (short_checksum(e) != sum) {
				rc = bad_entry(fs, it,
				               "long-name checksum %02x does not match its short "
				               "entry's %02x",
				               sum, short_checksum(e));
				goto out;
			}
			rc = lfn_to_utf8(fs, it, parts, ent->name);
			if (rc < 0)
				goto out;
		} else if (have_short) {
			memcpy(ent->name, sname, strlen(sname) + 1);
		} else {
			rc = bad_entry(fs, it, "short name has a byte FAT forbids");
			goto out;
		}
		if (!have_short)
			sname[0] = '\0';

		first = le16(e + 26);
		if (fs->type == RT_FAT32)
			first |= (uint32_t)le16(e + 20) << 16;
		size = le32(e + 28);
		memset(&ent->node, 0, sizeof(ent->node));
		ent->node.is_dir = attr & ATTR_DIR;
		ent->node.first_cluster = first;
		ent->node.mtime_s = fat_time(le16(e + 24), le16(e + 22));
		if (ent->node.is_dir) {
			if (!cluster_ok(fs, first)) {
				rc = bad_entry(
				    fs, it,
				    "\"%s\": directory at cluster %u, past the disk (2..%u)",
				    ent->name, first, fs->clusters + 1);
				goto out;
			}
		} else {
			if (size > (uint64_t)fs->clusters * fs->cluster_bytes) {
				rc = bad_entry(
				    fs, it,
				    "\"%s\": size %u bytes is larger than the disk's data "
				    "region",
				    ent->name, size);
				goto out;
			}
			if ((size > 0 || first != 0) && !cluster_ok(fs, first)) {
				rc = bad_entry(fs, it,
				               "\"%s\": first cluster %u is out of range (2..%u)",
				               ent->name, first, fs->clusters + 1);
				goto out;
			}
			ent->node.size_bytes = size;
		}
		return 1;
	}
out:
	it->error = rc;
	return rc;
}

int rt_fat_dir_next(struct rt_fat *fs, struct rt_fat_dir *it, struct rt_fat_dirent *ent)
{
	char sname[SHORT_NAME_BYTES];

	if (!fs || !it || !ent)
		return RT_FAT_EINVAL;
	return dir_next(fs, it, ent, sname);
}

/* ---- Lookup ---- */

int rt_fat_lookup(struct rt_fat *fs, const char *path, struct rt_fat_node *node)
{
	struct rt_fat_dirent ent;
	struct rt_fat_node cur;
	const char *p;

	if (!fs || !path || !node)
		return RT_FAT_EINVAL;
	if (path[0] != '/')
		return fail(fs, RT_FAT_EINVAL, "path \"%s\" is not absolute", path);
	rt_fat_root(fs, &cur);
	/* "/" is the root; every other path is "/" and components joined by "/". */
	for (p = path[1] ? path + 1 : NULL; p;) {
		char comp[RT_FAT_NAME_BYTES], sname[SHORT_NAME_BYTES];
		struct rt_fat_dir it;
		size_t len, units = 0, i;
		const char *q;
		int rc;

		for (q = p; *q && *q != '/'; q++)
			;
		len = (size_t)(q - p);
		if (len == 0 || (*q == '/' && !q[1]))
			return fail(fs, RT_FAT_EINVAL, "path \"%s\" has an empty component", path);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return fail(fs, RT_FAT_EINVAL,
			            "path \"%s\" has a \".\" or \"..\" component", path);
		for (i = 0; i < len;) {
			uint32_t cp;
			size_t n = get_utf8(p + i, len - i, &cp);

			if (!n)
				return fail(fs, RT_FAT_EINVAL, "path is not UTF-8 at byte %zu",
				            (size_t)(p - path) + i);
			units += cp >= 0x10000 ? 2 : 1;
			i += n;
		}
		if (units > RT_FAT_NAME_MAX)
			return fail(fs, RT_FAT_ENAMETOOLONG,
			            "path component of %zu characters is longer than %u", units,
			            RT_FAT_NAME_MAX);
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (!cur.is_dir)
			return fail(fs, RT_FAT_ENOTDIR,
			            "path \"%s\": a component before \"%s\" is a file", path, comp);
		rc = rt_fat_dir_open(fs, &cur, &it);
		if (rc < 0)
			return fail(fs, rc, "path \"%s\": the directory before \"%s\" is invalid",
			            path, comp);
		for (;;) {
			rc = dir_next(fs, &it, &ent, sname);
			if (rc < 0)
				return rc;
			if (rc == 0)
				return fail(fs, RT_FAT_ENOENT, "path \"%s\": \"%s\" not found",
				            path, comp);
			if (name_eq(p, len, ent.name) || (sname[0] && name_eq(p, len, sname)))
				break;
		}
		cur = ent.node;
		p = *q ? q + 1 : NULL;
	}
	*node = cur;
	return 0;
}

/* ---- File data ---- */

/*
 * n bytes at byte off of the run of nclus contiguous clusters from c into
 * dst: whole device sectors straight into dst in one call, partial ones
 * through the data window.
 */
static int read_run(struct rt_fat *fs, uint32_t c, uint32_t nclus, uint64_t off, uint8_t *dst,
                    uint64_t n)
{
	uint32_t ss = fs->dev.sector_bytes;
	uint64_t start = fs->data_dev + (uint64_t)(c - 2) * fs->dev_per_cluster;
	uint64_t run = (uint64_t)nclus * fs->dev_per_cluster;
	int rc;

	while (n) {
		uint64_t s = off / ss, within = off % ss, k;

		if (within == 0 && n >= ss) {
			uint64_t m = n / ss;

			if (m > UINT32_MAX)
				m = UINT32_MAX;
			rc = dev_read(fs, start + s, (uint32_t)m, dst);
			if (rc < 0)
				return rc;
			k = m * ss;
		} else {
			uint64_t count = run - s < WIN_BYTES / ss ? run - s : WIN_BYTES / ss;
			const uint8_t *p;

			rc = load_data(fs, start + s, (uint32_t)count, &p);
			if (rc < 0)
				return rc;
			k = count * ss - within;
			if (k > n)
				k = n;
			memcpy(dst, p + within, (size_t)k);
		}
		dst += k;
		off += k;
		n -= k;
	}
	return 0;
}

int64_t rt_fat_read(struct rt_fat *fs, const struct rt_fat_node *file, uint64_t offset, void *buf,
                    size_t len)
{
	uint32_t cb, first, c, i, idx, end_idx, last_idx, next;
	uint64_t size, pos, end;
	uint8_t *dst = buf;
	int rc;

	if (!fs || !file || (!buf && len))
		return RT_FAT_EINVAL;
	if (file->is_dir)
		return fail(fs, RT_FAT_EISDIR, "read of a directory");
	size = file->size_bytes;
	cb = fs->cluster_bytes;
	first = file->first_cluster;
	if (offset >= size || len == 0)
		return 0;
	if (size > (uint64_t)fs->clusters * cb || !cluster_ok(fs, first))
		return fail(fs, RT_FAT_ECORRUPT,
		            "file at cluster %u of %llu bytes does not fit the disk", first,
		            (unsigned long long)size);
	if (len > size - offset)
		len = (size_t)(size - offset);
	pos = offset;
	end = offset + len;
	idx = (uint32_t)(pos / cb);
	end_idx = (uint32_t)((end - 1) / cb);
	last_idx = (uint32_t)((size - 1) / cb);

	/* Walk to the cluster that holds offset, from the last read's place if it can. */
	if (fs->hint.valid && fs->hint.first == first && fs->hint.index <= idx) {
		c = fs->hint.cluster;
		i = fs->hint.index;
	} else {
		c = first;
		i = 0;
	}
	while (i < idx) {
		rc = chain_next(fs, c, &next);
		if (rc < 0)
			return rc;
		if (next == 0)
			goto short_chain;
		c = next;
		i++;
	}

	while (pos < end) {
		uint32_t run = 1;
		uint64_t upto, run_off;

		/* Grow the run while the chain goes on to the next cluster number. */
		next = 0;
		while (i + run - 1 < end_idx) {
			rc = chain_next(fs, c + run - 1, &next);
			if (rc < 0)
				return rc;
			if (next == 0) {
				i += run - 1;
				goto short_chain;
			}
			if (next != c + run)
				break;
			run++;
			next = 0;
		}
		upto = (uint64_t)(i + run) * cb;
		if (upto > end)
			upto = end;
		run_off = pos - (uint64_t)i * cb;
		rc = read_run(fs, c, run, run_off, dst, upto - pos);
		if (rc < 0)
			return rc;
		dst += upto - pos;
		pos = upto;
		fs->hint.valid = true;
		fs->hint.first = first;
		fs->hint.index = i + run - 1;
		fs->hint.cluster = c + run - 1;
		if (i + run - 1 == last_idx) {
			uint32_t after;

			rc = chain_next(fs, c + run - 1, &after);
			if (rc < 0)
				return rc;
			if (after != 0)
				return fail(
				    fs, RT_FAT_ECORRUPT,
				    "file at cluster %u: its chain goes on past cluster %u, "
				    "the last its %u bytes need (a loop?)",
				    first, last_idx + 1, (uint32_t)size);
		}
		if (pos < end) {
			c = next;
			i += run;
		}
	}
	return (int64_t)len;

short_chain:
	return fail(fs, RT_FAT_ECORRUPT,
	            "file at cluster %u: its chain ends after %u clusters, its size (%llu bytes) "
	            "needs %u",
	            first, i + 1, (unsigned long long)size, last_idx + 1);
}
