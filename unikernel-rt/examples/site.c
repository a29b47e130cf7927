/*
 * site: a static web site over HTTP/1.1 from the guest's FAT disks.  Every
 * disk in the device table that holds a sound FAT file system is served,
 * the disks merged into one tree in table order: a path found on an
 * earlier disk wins and directories merge, so a site split over several
 * disks (keeping its directory structure) reads as one.  GET and HEAD,
 * keep-alive and pipelining, files streamed from disk as the send buffer
 * frees.  A file of at most 1 MiB is read whole on its first request and
 * kept in memory (up to cache_kib in all; the disks are read-only to the
 * site), and its later responses are sent from there with no copy and no
 * disk read: a guest has no page cache but this one.  Past the budget, and
 * for larger files, every response reads the disk.
 *
 *   site [NIC] [port=N] [conns=N] [idle_s=N] [header_s=N] [stats=N] [cache_kib=N]
 *     NIC       the network device to listen on (default: the first)
 *     port      the TCP port (default 80)
 *     conns     connections served at once; more are refused (default 64)
 *     idle_s    a keep-alive connection with no request, or a response
 *               whose client reads nothing, is closed after this long
 *               (default 15)
 *     header_s  a request's headers must all be in within this long
 *               (default 10), or it is answered 408 and closed
 *     stats     print the counters every N requests (default 1000; 0:
 *               never), and once a minute when they changed
 *     cache_kib file bytes kept in memory, in KiB (default: a quarter of
 *               the heap free at start, at most 8192; 0: none)
 *
 * A disk that is not a sound FAT file system (its boot sector or a
 * directory is refused by the reader) is named on the console with the
 * reader's sentence and left out: the rest of the site stays up, and the
 * operator reads why part of it is missing.  A guest with no sound disk
 * at all ends with status 1.
 *
 * Exit status: 1 no disk or the network refused, 4 a bad argument.
 */
#include <shoal/blk.h>
#include <shoal/fat.h>
#include <shoal/net.h>
#include <shoal/netdev.h>
#include <shoal/rt.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#define DISKS_MAX      8
#define DEPTH_MAX      16
#define REQ_MAX        8192 /* a request's line and headers; more is 431 */
#define URI_MAX        1024 /* a request target; longer is 414 */
#define HEAD_MAX       (URI_MAX + 512)
#define CHUNK          16384          /* file bytes read from disk at once */
#define FILL_MIN       4096           /* file bytes worth a read, unless fewer are left */
#define BODY_MAX       (1u << 20)     /* a request body (discarded) may not be longer */
#define CACHE_FILE_MAX (1u << 20)     /* a file kept in memory may not be longer */
#define WRITE_REF_MAX  (16 * TCP_MSS) /* cached bytes handed to lwIP at once */

__attribute__((noreturn, format(printf, 2, 3))) static void fail(int code, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt_printf("site: FAIL: %s\n", buf);
	rt_exit(code);
}

/* ---- The disks, merged ---- */

struct disk {
	const char *name;
	struct rt_fat *fs;
};

static struct disk disks[DISKS_MAX];
static unsigned ndisks;

static int dev_read(void *ctx, uint64_t sector, uint32_t count, void *buf)
{
	return rt_blk_read(ctx, sector, buf, count) < 0 ? -1 : 0;
}

/* Count the files under dir; a loop in a hostile tree stops at DEPTH_MAX. */
static int count_files(struct rt_fat *fs, const struct rt_fat_node *dir, int depth, uint64_t *n)
{
	struct rt_fat_dirent *e;
	struct rt_fat_dir it;
	int r;

	if (depth > DEPTH_MAX)
		return RT_FAT_ECORRUPT;
	e = rt_malloc(sizeof(*e));
	if (!e)
		return RT_FAT_ENOMEM;
	r = rt_fat_dir_open(fs, dir, &it);
	while (r >= 0 && (r = rt_fat_dir_next(fs, &it, e)) > 0) {
		if (e->node.is_dir)
			r = count_files(fs, &e->node, depth + 1, n);
		else
			(*n)++;
	}
	rt_free(e);
	return r;
}

/*
 * Mount every disk and walk its tree once: a disk whose boot sector or
 * any directory the reader refuses is left out whole, at start, rather
 * than failing requests one by one later.
 */
static uint64_t disks_open(void)
{
	unsigned i, n = rt_blk_count();
	uint64_t files = 0;

	for (i = 0; i < n; i++) {
		const char *name = rt_blk_name(i);
		struct rt_fat_node root;
		struct rt_blk_info info;
		struct rt_fat_dev dev;
		struct rt_blk *b;
		struct rt_fat *fs;
		uint64_t nf = 0;
		char err[200];
		int r;

		if (ndisks == DISKS_MAX) {
			rt_printf("site: disk %s: left out, only %d disks are served\n", name,
			          DISKS_MAX);
			continue;
		}
		r = rt_blk_open(name, &b);
		if (r < 0) {
			rt_printf("site: disk %s: left out: %s\n", name, rt_blk_strerror(r));
			continue;
		}
		rt_blk_info(b, &info);
		dev = (struct rt_fat_dev){ dev_read, b, info.sectors, RT_BLK_SECTOR };
		if (rt_fat_mount(&dev, &fs, err, sizeof(err)) < 0) {
			rt_printf("site: disk %s: left out: %s\n", name, err);
			continue;
		}
		rt_fat_root(fs, &root);
		r = count_files(fs, &root, 0, &nf);
		if (r < 0) {
			rt_printf("site: disk %s: left out: %s: %s\n", name, rt_fat_strerror(r),
			          rt_fat_errmsg(fs));
			rt_fat_unmount(fs);
			continue;
		}
		disks[ndisks].name = name;
		disks[ndisks].fs = fs;
		ndisks++;
		files += nf;
	}
	return files;
}

static uint64_t disk_errors;

/*
 * Find path (normalised: absolute, no empty, "." or ".." component) on
 * the first disk that has it: 0 with *disk and *node, 404, or 500 when a
 * disk failed on the way and no later one had it.
 */
static int site_find(const char *path, unsigned *disk, struct rt_fat_node *node)
{
	int failed = 0;
	unsigned i;

	for (i = 0; i < ndisks; i++) {
		int r = rt_fat_lookup(disks[i].fs, path, node);

		if (r == 0) {
			*disk = i;
			return 0;
		}
		if (r == RT_FAT_ECORRUPT || r == RT_FAT_EIO) {
			disk_errors++;
			failed = 1;
		}
	}
	return failed ? 500 : 404;
}

/*
 * What site_find() answered, by path: the disks never change, so an
 * answer (a node or 404) stays true, and a lookup walks directories
 * entry by entry, long names and all.  Direct-mapped on the path's
 * FNV-1a hash; a longer path is looked up every time.
 */
#define CACHE_SLOTS    256
#define CACHE_PATH_MAX 200

struct cache_slot {
	uint64_t hash;
	int result; /* 0 or 404 */
	unsigned disk;
	struct rt_fat_node node;
	const uint8_t *data; /* the file's bytes, once kept in memory; NULL: read from disk */
	char path[CACHE_PATH_MAX];
};

static struct cache_slot cache[CACHE_SLOTS];
static uint64_t cache_hits;
/*
 * Memory the file cache may still take.  A file's bytes are never freed:
 * a response in flight may point at them (lwIP sends them without a
 * copy).  A slot taken over by another path drops its pointer, and the
 * file is read again later, from this same budget.
 */
static uint64_t cache_left;

/* The file's bytes in memory, read whole now if it fits what is left; NULL: stream it. */
static const uint8_t *file_data(struct cache_slot *s, unsigned disk, const struct rt_fat_node *node)
{
	uint8_t *d;

	if (!s)
		return NULL;
	if (s->data || !node->size_bytes || node->size_bytes > CACHE_FILE_MAX ||
	    node->size_bytes > cache_left)
		return s->data;
	d = rt_malloc(node->size_bytes);
	if (!d) {
		cache_left = 0; /* the heap is short: stream from now on */
		return NULL;
	}
	if (rt_fat_read(disks[disk].fs, node, 0, d, node->size_bytes) !=
	    (int64_t)node->size_bytes) {
		rt_free(d);
		return NULL; /* the streaming path meets the error and says so */
	}
	cache_left -= node->size_bytes;
	s->data = d;
	return d;
}

/* The path's disk and node, and its slot of the lookup cache (NULL: not kept). */
static int site_lookup(const char *path, unsigned *disk, struct rt_fat_node *node,
                       struct cache_slot **slot)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t len = strlen(path), i;
	struct cache_slot *s;
	int r;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)path[i]) * 0x100000001b3ull;
	s = &cache[h % CACHE_SLOTS];
	*slot = NULL;
	if (s->path[0] && s->hash == h && !strcmp(s->path, path)) {
		cache_hits++;
		*disk = s->disk;
		*node = s->node;
		*slot = s;
		return s->result;
	}
	r = site_find(path, disk, node);
	if ((r == 0 || r == 404) && len < CACHE_PATH_MAX) {
		s->hash = h;
		s->result = r;
		s->disk = r == 0 ? *disk : 0;
		if (r == 0)
			s->node = *node;
		s->data = NULL;
		memcpy(s->path, path, len + 1);
		*slot = s;
	}
	return r;
}

/* ---- Content types ---- */

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Does a (len bytes) equal the lower-case b, ignoring case? */
static int eq_nocase(const char *a, size_t len, const char *b)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!b[i] || lower((unsigned char)a[i]) != b[i])
			return 0;
	return b[len] == '\0';
}

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "css", "text/css" },
		{ "js", "text/javascript" },
		{ "json", "application/json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "xml", "application/xml" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "ico", "image/x-icon" },
		{ "webp", "image/webp" },
		{ "pdf", "application/pdf" },
		{ "wasm", "application/wasm" },
		{ "woff2", "font/woff2" },
		{ "mp4", "video/mp4" },
		{ "mp3", "audio/mpeg" },
	};
	const char *dot = NULL, *p;
	size_t i;

	for (p = path; *p; p++)
		if (*p == '.')
			dot = p + 1;
		else if (*p == '/')
			dot = NULL;
	if (dot)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (eq_nocase(dot, strlen(dot), types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/* ---- Connections ---- */

enum conn_state {
	READING, /* waiting for (the rest of) a request */
	SENDING, /* a response is being written */
	LINGER,  /* the last response is written and the send side shut: input is dropped */
};

struct conn {
	struct tcp_pcb *pcb;
	enum conn_state state;
	struct pbuf *inq; /* received, not yet in req (acknowledged to the peer's window later) */
	uint32_t req_len; /* bytes in req */
	uint32_t scan;    /* req is searched for the headers' end from here */
	uint64_t discard; /* body bytes of the last request still to drop */
	uint64_t last_ns; /* the last progress: a request's byte, an acknowledgement */
	uint64_t req_ns;  /* when the request being read began */
	int peer_closed;  /* the peer sent FIN: answer what is in, then close */
	int close_after;  /* close once this response is written */
	int iw_set;       /* the first flight is widened */
	/* The response: head[] (status, headers, maybe a short body), then a file. */
	uint32_t head_len, head_off;
	unsigned disk;
	struct rt_fat_node file;
	const uint8_t *file_data; /* its bytes in memory (the file cache), or NULL */
	uint64_t file_off, file_left;
	char req[REQ_MAX];
	char head[HEAD_MAX];
};

static struct {
	uint64_t requests, ok, not_found, bad, server_errors, head_timeouts;
	uint64_t conns, refused, idle_closed, stalled_aborts, resets, sent_bytes;
} st;
static unsigned nconns, max_conns = 64;
static uint64_t idle_ns = 15000000000ull, header_ns = 10000000000ull;
static uint8_t chunk[CHUNK] __attribute__((aligned(4096)));

static void conn_free(struct conn *c)
{
	if (c->inq)
		pbuf_free(c->inq);
	rt_free(c);
	nconns--;
}

/*
 * Close: detach, give back the window for what is queued (a close with
 * unread data would be a reset), close.  ERR_ABRT when the pcb had to be
 * aborted: the callback that called this must return it.
 */
static err_t conn_close(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	if (c->inq)
		tcp_recved(pcb, c->inq->tot_len);
	conn_free(c);
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	return ERR_OK;
}

static err_t conn_abort(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	tcp_arg(pcb, NULL);
	tcp_err(pcb, NULL);
	conn_free(c);
	tcp_abort(pcb);
	return ERR_ABRT;
}

/*
 * The response is written: a closing connection shuts its send side (FIN
 * after the data) and drops what still comes in until the peer closes
 * too or the idle time passes, so that a client still sending does not
 * make a reset that could destroy the response before it is read.
 */
static err_t conn_linger(struct conn *c)
{
	if (c->peer_closed)
		return conn_close(c);
	c->state = LINGER;
	c->last_ns = rt_clock_ns();
	if (c->inq) {
		tcp_recved(c->pcb, c->inq->tot_len);
		pbuf_free(c->inq);
		c->inq = NULL;
	}
	if (tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
		return conn_abort(c);
	return ERR_OK;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 301:
		return "Moved Permanently";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

/*
 * Start a response: the head (and for anything but a file, a one-line
 * body naming the status), then file_left bytes of the file set before.
 * extra is more header lines, each ending in CRLF, or "".
 */
/*
 * Append s to the head being built at *o, within end (cut there: the
 * head's room is more than its longest form, a Location of URI_MAX).
 * The head is made by copies, not rt_snprintf: where ring-0 code is
 * emulated every instruction of a formatter's per-byte loop shows in the
 * latency, and a copy is one instruction.
 */
static void put(char **o, const char *end, const char *s)
{
	size_t n = strlen(s);

	if (n > (size_t)(end - *o))
		n = (size_t)(end - *o);
	memcpy(*o, s, n);
	*o += n;
}

static void put_u64(char **o, const char *end, uint64_t v)
{
	char digits[21], *d = digits + sizeof(digits) - 1;

	*d = '\0';
	do
		*--d = (char)('0' + v % 10);
	while (v /= 10);
	put(o, end, d);
}

static void respond(struct conn *c, int status, int head_only, const char *type, uint64_t len,
                    const char *extra)
{
	int file = c->file_left > 0 || status == 200;
	char *o = c->head, *end = c->head + sizeof(c->head);
	const char *why = reason(status);

	if (!file) {
		type = "text/plain; charset=utf-8";
		len = 3 + 1 + strlen(why) + 1; /* the body: "404 Not Found\n" */
	}
	put(&o, end, "HTTP/1.1 ");
	put_u64(&o, end, (uint64_t)status);
	put(&o, end, " ");
	put(&o, end, why);
	put(&o, end, "\r\nServer: shoal-site\r\nContent-Type: ");
	put(&o, end, type);
	put(&o, end, "\r\nContent-Length: ");
	put_u64(&o, end, len);
	put(&o, end, "\r\n");
	put(&o, end, extra);
	put(&o, end,
	    c->close_after ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
	if (!file && !head_only) {
		put_u64(&o, end, (uint64_t)status);
		put(&o, end, " ");
		put(&o, end, why);
		put(&o, end, "\n");
	}
	c->head_len = (uint32_t)(o - c->head);
	c->head_off = 0;
	if (head_only)
		c->file_left = 0;
	c->state = SENDING;
	st.requests++;
	if (status < 400)
		st.ok++;
	else if (status == 404)
		st.not_found++;
	else if (status >= 500)
		st.server_errors++;
	else
		st.bad++;
}

static void respond_error(struct conn *c, int status, int head_only)
{
	c->file_left = 0;
	if (status != 404)
		c->close_after = 1; /* what follows a refused request is not to be trusted */
	respond(c, status, head_only, NULL, 0, status == 405 ? "Allow: GET, HEAD\r\n" : "");
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = lower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/*
 * The request target (len bytes) to a path the FAT reader takes: the
 * scheme and host of an absolute form, the query and fragment dropped,
 * percent-decoded, empty and "." components removed.  *slash: the path
 * ended with '/'; *raw, *raw_len: the path as sent, for a redirect.  0, or 400: not a path, a bad
 * escape, a NUL or control byte, or a ".." component (nothing above the root is served).
 */
static int target_path(const char *t, size_t len, char *out, size_t out_len, int *slash,
                       const char **raw, size_t *raw_len)
{
	char dec[URI_MAX + 1];
	size_t i = 0, n = 0, o = 0, s;

	if (len > 7 && eq_nocase(t, 7, "http://")) {
		for (i = 7; i < len && t[i] != '/' && t[i] != '?'; i++)
			;
		if (i == len || t[i] == '?') {
			t = "/"; /* "http://host" alone is the root */
			len = 1;
			i = 0;
		}
	}
	if (i >= len || t[i] != '/')
		return 400;
	t += i;
	len -= i;
	for (i = 0; i < len && t[i] != '?' && t[i] != '#'; i++) {
		int ch = (unsigned char)t[i];

		if (ch == '%') {
			int hi = i + 2 < len ? hexval(t[i + 1]) : -1,
			    lo = hi >= 0 ? hexval(t[i + 2]) : -1;

			if (lo < 0)
				return 400;
			ch = hi << 4 | lo;
			i += 2;
		}
		if (ch < 0x20 || ch == 0x7f)
			return 400;
		dec[n++] = (char)ch;
	}
	*raw = t;
	*raw_len = i;
	*slash = dec[n - 1] == '/';
	for (i = 0; i < n; i = s + 1) {
		size_t clen;

		for (s = i; s < n && dec[s] != '/'; s++)
			;
		clen = s - i;
		if (clen == 0 || (clen == 1 && dec[i] == '.'))
			continue;
		if (clen == 2 && dec[i] == '.' && dec[i + 1] == '.')
			return 400;
		if (o + 1 + clen + 1 > out_len)
			return 400;
		out[o++] = '/';
		memcpy(out + o, dec + i, clen);
		o += clen;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* Serve GET or HEAD of target (len bytes, raw). */
static void serve(struct conn *c, const char *t, size_t len, int head_only)
{
	char path[URI_MAX + 16], extra[URI_MAX + 32];
	struct rt_fat_node node;
	struct cache_slot *slot;
	unsigned disk;
	const char *raw;
	size_t raw_len;
	int slash, r;

	r = target_path(t, len, path, URI_MAX + 1, &slash, &raw, &raw_len);
	if (r) {
		respond_error(c, r, head_only);
		return;
	}
	r = site_lookup(path, &disk, &node, &slot);
	if (r == 0 && node.is_dir) {
		if (!slash) {
			/* A directory named without its '/': relative links in its index need one.
			 */
			memcpy(extra, "Location: ", 10);
			memcpy(extra + 10, raw, raw_len);
			memcpy(extra + 10 + raw_len, "/\r\n", 4);
			c->file_left = 0;
			respond(c, 301, head_only, NULL, 0, extra);
			return;
		}
		const char *index = path[1] ? "/index.html" : "index.html";

		memcpy(path + strlen(path), index, strlen(index) + 1);
		r = site_lookup(path, &disk, &node, &slot);
	} else if (r == 0 && slash) {
		r = 404; /* a file named as a directory */
	}
	if (r == 0 && node.is_dir)
		r = 404;
	if (r) {
		respond_error(c, r, head_only);
		return;
	}
	c->disk = disk;
	c->file = node;
	c->file_data = head_only ? NULL : file_data(slot, disk, &node);
	c->file_off = 0;
	c->file_left = node.size_bytes;
	respond(c, 200, head_only, content_type(path), node.size_bytes, "");
}

/* Is byte ch a tchar of RFC 9110's token? */
static int tchar(int ch)
{
	/* A bit per byte: ! # $ % & ' * + - . ^ _ ` | ~, digits, letters. */
	static const uint32_t set[8] = { 0, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff };

	return (set[(ch >> 5) & 7] >> (ch & 31)) & 1;
}

/* The first ch in p[0..n), or p + n. */
static const char *find_byte(const char *p, int ch, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i] != ch; i++)
		;
	return p + i;
}

/*
 * The request in req[0..end) (line, headers, the empty line): answer it.
 * Lines end in LF, with or without CR before it.
 */
static void request(struct conn *c, size_t end)
{
	const char *p = c->req, *line_end, *method, *target, *version;
	size_t mlen, tlen, i;
	int minor, keep_alive = 0, close = 0, hosts = 0, head_only, has_cl = 0;
	uint64_t cl = 0;

	line_end = find_byte(p, '\n', end);
	/* method SP target SP HTTP/1.x */
	method = p;
	for (i = 0; p + i < line_end && tchar((unsigned char)p[i]); i++)
		;
	mlen = i;
	if (mlen == 0 || p[i] != ' ') {
		respond_error(c, 400, 0);
		return;
	}
	target = p + i + 1;
	for (tlen = 0; target + tlen < line_end && target[tlen] > ' ' && target[tlen] < 127; tlen++)
		;
	version = target + tlen + 1;
	if (tlen == 0 || target[tlen] != ' ' || line_end - version < 8 ||
	    memcmp(version, "HTTP/1.", 7) || version[7] < '0' || version[7] > '9' ||
	    (line_end - version > 8 && !(line_end - version == 9 && version[8] == '\r'))) {
		respond_error(c, tlen > URI_MAX ? 414 : 400, 0);
		return;
	}
	if (tlen > URI_MAX) {
		respond_error(c, 414, 0);
		return;
	}
	minor = version[7] - '0';
	head_only = mlen == 4 && !memcmp(method, "HEAD", 4);
	/* The headers: name ":" value; only a few matter here. */
	for (p = line_end + 1; p < c->req + end;) {
		const char *le = find_byte(p, '\n', (size_t)(c->req + end - p)), *name = p, *v, *ve;
		size_t nlen;

		ve = le > p && le[-1] == '\r' ? le - 1 : le;
		if (ve == p)
			break; /* the empty line */
		for (nlen = 0; name + nlen < ve && tchar((unsigned char)name[nlen]); nlen++)
			;
		if (nlen == 0 || name[nlen] != ':') {
			respond_error(c, 400, head_only); /* obsolete folding, spaces, no colon */
			return;
		}
		for (v = name + nlen + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
			;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (eq_nocase(name, nlen, "host")) {
			hosts++;
		} else if (eq_nocase(name, nlen, "connection")) {
			/* A list of tokens: close, keep-alive, others ignored. */
			const char *tok = v;

			while (tok < ve) {
				const char *te = tok;

				while (te < ve && *te != ',')
					te++;
				while (tok < te && (*tok == ' ' || *tok == '\t'))
					tok++;
				for (i = (size_t)(te - tok);
				     i && (tok[i - 1] == ' ' || tok[i - 1] == '\t'); i--)
					;
				if (eq_nocase(tok, i, "close"))
					close = 1;
				else if (eq_nocase(tok, i, "keep-alive"))
					keep_alive = 1;
				tok = te + 1;
			}
		} else if (eq_nocase(name, nlen, "content-length")) {
			uint64_t n = 0;

			for (i = 0; v + i < ve && v[i] >= '0' && v[i] <= '9' && n <= BODY_MAX; i++)
				n = n * 10 + (uint64_t)(v[i] - '0');
			if (i == 0 || v + i != ve || n > BODY_MAX || (has_cl && n != cl)) {
				respond_error(c, 400, head_only);
				return;
			}
			has_cl = 1;
			cl = n;
		} else if (eq_nocase(name, nlen, "transfer-encoding")) {
			/* A GET has no body to chunk; one that says so is not to be guessed at. */
			respond_error(c, 400, head_only);
			return;
		}
		p = le + 1;
	}
	c->discard = cl;
	c->close_after = close || (minor == 0 && !keep_alive);
	if (minor >= 1 && hosts != 1) {
		respond_error(c, 400, head_only); /* HTTP/1.1 needs exactly one Host */
		return;
	}
	if (!(mlen == 3 && !memcmp(method, "GET", 3)) && !head_only) {
		respond_error(c, 405, 0);
		return;
	}
	serve(c, target, tlen, head_only);
}

/* ---- Reading requests, writing responses ---- */

static void req_drop(struct conn *c, uint32_t n)
{
	memmove(c->req, c->req + n, c->req_len - n);
	c->req_len -= n;
	c->scan = c->scan > n ? c->scan - n : 0;
}

/*
 * Move what was received into req as far as it has room, and open the
 * window for it: a client that sends more than req holds (pipelining far
 * ahead) is held back by its window, not by the guest's memory.
 */
static void pull(struct conn *c)
{
	while (c->inq && c->req_len < REQ_MAX) {
		u16_t n = c->inq->tot_len;

		if (n > REQ_MAX - c->req_len)
			n = (u16_t)(REQ_MAX - c->req_len);
		pbuf_copy_partial(c->inq, c->req + c->req_len, n, 0);
		c->inq = pbuf_free_header(c->inq, n);
		c->req_len += n;
		tcp_recved(c->pcb, n);
	}
}

/* Answer the next whole request in req: 1 when a response began, 0 when more is needed. */
static int next_request(struct conn *c)
{
	uint32_t i, end = 0;

	if (c->discard) {
		uint32_t n = c->discard < c->req_len ? (uint32_t)c->discard : c->req_len;

		req_drop(c, n);
		c->discard -= n;
		if (c->discard)
			return 0;
	}
	/* Empty lines between requests are allowed (RFC 9112, 2.2). */
	for (i = 0; i < c->req_len && (c->req[i] == '\r' || c->req[i] == '\n'); i++)
		;
	req_drop(c, i);
	if (c->req_len == 0)
		return 0;
	if (!c->req_ns)
		c->req_ns = rt_clock_ns();
	for (i = c->scan; i < c->req_len && !end; i++) {
		if (c->req[i] != '\n')
			continue;
		if (i + 1 < c->req_len && c->req[i + 1] == '\n')
			end = i + 2;
		else if (i + 2 < c->req_len && c->req[i + 1] == '\r' && c->req[i + 2] == '\n')
			end = i + 3;
	}
	if (!end) {
		c->scan = c->req_len > 2 ? c->req_len - 2 : 0;
		if (c->req_len > URI_MAX + 32 &&
		    find_byte(c->req, '\n', c->req_len) == c->req + c->req_len)
			respond_error(c, 414, 0);
		else if (c->req_len == REQ_MAX)
			respond_error(c, 431, 0);
		else
			return 0;
		return 1;
	}
	request(c, end);
	req_drop(c, end);
	c->scan = 0;
	c->req_ns = 0;
	return 1;
}

/*
 * Write what the send buffer takes: the head, then the file, read from
 * disk in pieces of whole sectors (a read is worth making only for
 * FILL_MIN bytes or the file's rest).  ERR_ABRT when the connection had
 * to be aborted (a disk that fails mid-file: its length is promised).
 */
static err_t fill(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;
	int wrote = 0;
	err_t r;

	while (c->head_off < c->head_len) {
		u16_t n = tcp_sndbuf(pcb);

		if (n > c->head_len - c->head_off)
			n = (u16_t)(c->head_len - c->head_off);
		if (n == 0)
			break;
		r = tcp_write(pcb, c->head + c->head_off, n,
		              TCP_WRITE_FLAG_COPY | (c->file_left ? TCP_WRITE_FLAG_MORE : 0));
		if (r == ERR_MEM)
			break; /* a sent callback, or the poll, tries again */
		if (r != ERR_OK)
			return conn_abort(c);
		c->head_off += n;
		wrote = 1;
	}
	while (c->head_off == c->head_len && c->file_left) {
		uint64_t room = tcp_sndbuf(pcb), n = c->file_left;
		const uint8_t *from = chunk;
		u8_t copy = TCP_WRITE_FLAG_COPY;

		if (room < (n < FILL_MIN ? n : FILL_MIN) ||
		    tcp_sndqueuelen(pcb) + room / TCP_MSS + 2 > TCP_SND_QUEUELEN)
			break;
		if (n > room)
			n = room;
		if (c->file_data) {
			/* From memory: lwIP points at the cached bytes (they are never freed),
			 * one pbuf of a shared pool a segment: a few segments at a time. */
			if (n > WRITE_REF_MAX)
				n = WRITE_REF_MAX;
			from = c->file_data + c->file_off;
			copy = 0;
		} else {
			int64_t got;

			if (n > CHUNK)
				n = CHUNK;
			if (n < c->file_left)
				n &= ~(uint64_t)511;
			got = rt_fat_read(disks[c->disk].fs, &c->file, c->file_off, chunk, n);
			if (got != (int64_t)n) {
				disk_errors++;
				st.server_errors++;
				return conn_abort(c);
			}
		}
		r = tcp_write(pcb, from, (u16_t)n,
		              copy | (n < c->file_left ? TCP_WRITE_FLAG_MORE : 0));
		if (r == ERR_MEM)
			break;
		if (r != ERR_OK)
			return conn_abort(c);
		c->file_off += n;
		c->file_left -= n;
		st.sent_bytes += n;
		wrote = 1;
	}
	if (wrote)
		tcp_output(pcb);
	return ERR_OK;
}

/*
 * Move the connection on as far as it goes: finish writing the response,
 * then answer the next request already in, in order, one at a time.
 * ERR_ABRT when the pcb was aborted.
 */
static err_t conn_run(struct conn *c)
{
	for (;;) {
		if (c->state == SENDING) {
			err_t r = fill(c);

			if (r != ERR_OK)
				return r;
			if (c->head_off < c->head_len || c->file_left)
				return ERR_OK;
			c->state = READING;
			c->last_ns = rt_clock_ns();
			if (c->close_after)
				return conn_linger(c);
		}
		if (c->state != READING)
			return ERR_OK;
		pull(c);
		if (!next_request(c))
			return c->peer_closed ? conn_close(c) : ERR_OK;
	}
}

static err_t conn_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;

	if (!c || err != ERR_OK) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		c->peer_closed = 1;
		return c->state == LINGER ? conn_close(c) : conn_run(c);
	}
	if (c->state == LINGER) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	c->last_ns = rt_clock_ns();
	if (!c->iw_set) {
		/*
		 * RFC 6928's first flight (ten segments, 14,600 bytes) rather
		 * than the three lwIP 2.1.3 fixes when the connection is
		 * established: a 64 KiB file takes three round trips, not five.
		 */
		c->iw_set = 1;
		if (pcb->cwnd < 14600 && pcb->snd_nxt == pcb->lastack)
			pcb->cwnd = 14600;
	}
	if (c->inq)
		pbuf_cat(c->inq, p);
	else
		c->inq = p;
	return conn_run(c);
}

static err_t conn_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;

	(void)pcb;
	(void)len;
	if (!c || c->state != SENDING)
		return ERR_OK;
	c->last_ns = rt_clock_ns();
	return conn_run(c);
}

static void conn_err(void *arg, err_t err)
{
	struct conn *c = arg;

	if (!c)
		return; /* the pcb is gone already */
	if (err == ERR_RST)
		st.resets++;
	conn_free(c);
}

/* Every 500 ms: the time-outs, and a write that found no memory tried again. */
static err_t conn_poll(void *arg, struct tcp_pcb *pcb)
{
	struct conn *c = arg;
	uint64_t now = rt_clock_ns();

	(void)pcb;
	if (!c)
		return ERR_OK;
	switch (c->state) {
	case READING:
		if (c->req_ns && now - c->req_ns > header_ns) {
			st.head_timeouts++;
			respond_error(c, 408, 0);
			return conn_run(c);
		}
		if (!c->req_len && now - c->last_ns > idle_ns) {
			st.idle_closed++;
			return conn_close(c);
		}
		return ERR_OK;
	case SENDING:
		if (now - c->last_ns > idle_ns) {
			st.stalled_aborts++;
			return conn_abort(c);
		}
		return conn_run(c);
	case LINGER:
		if (now - c->last_ns > idle_ns)
			return conn_abort(c);
		return ERR_OK;
	}
	return ERR_OK;
}

static err_t conn_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct conn *c;

	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	if (nconns >= max_conns) {
		st.refused++;
		return ERR_MEM; /* lwIP resets it */
	}
	c = rt_malloc(sizeof(*c));
	if (!c) {
		st.refused++;
		return ERR_MEM;
	}
	memset(c, 0, offsetof(struct conn, req));
	c->pcb = pcb;
	c->state = READING;
	c->last_ns = rt_clock_ns();
	nconns++;
	st.conns++;
	tcp_nagle_disable(pcb);
	tcp_arg(pcb, c);
	tcp_recv(pcb, conn_recv);
	tcp_sent(pcb, conn_sent);
	tcp_err(pcb, conn_err);
	tcp_poll(pcb, conn_poll, 1);
	return ERR_OK;
}

/* ---- Arguments, the loop ---- */

static void print_stats(void)
{
	rt_printf("site: %lu requests: %lu ok, %lu not found, %lu refused as bad, %lu failed, "
	          "%lu header time-outs; %lu connections: %u open, %lu refused, %lu idle closed, "
	          "%lu stalled and aborted, %lu reset; %lu disk errors; %lu KiB of files sent\n",
	          (unsigned long)st.requests, (unsigned long)st.ok, (unsigned long)st.not_found,
	          (unsigned long)st.bad, (unsigned long)st.server_errors,
	          (unsigned long)st.head_timeouts, (unsigned long)st.conns, nconns,
	          (unsigned long)st.refused, (unsigned long)st.idle_closed,
	          (unsigned long)st.stalled_aborts, (unsigned long)st.resets,
	          (unsigned long)disk_errors, (unsigned long)(st.sent_bytes / 1024));
}

static int arg_value(const char *arg, const char *key, uint64_t *v, uint64_t min, uint64_t max)
{
	int r = rt_arg_u64(arg, key, v);

	if (r < 0 || (r > 0 && (*v < min || *v > max)))
		fail(4, "bad value in %s (%lu to %lu)", arg, (unsigned long)min,
		     (unsigned long)max);
	return r;
}

int main(int argc, char **argv)
{
	uint64_t port = 80, conns = 64, idle_s = 15, header_s = 10, stats_every = 1000, files;
	uint64_t cache_kib = UINT64_MAX; /* not given */
	uint64_t printed_at = 0, printed_ns, changed = 0;
	const char *nic = NULL;
	struct rt_netdev_info info;
	struct rt_netdev *nd;
	struct tcp_pcb *t, *l;
	int i, r, moved;

	for (i = 1; i < argc; i++) {
		if (arg_value(argv[i], "port", &port, 1, 65535) ||
		    arg_value(argv[i], "conns", &conns, 1, 1024) ||
		    arg_value(argv[i], "idle_s", &idle_s, 1, 86400) ||
		    arg_value(argv[i], "header_s", &header_s, 1, 3600) ||
		    arg_value(argv[i], "stats", &stats_every, 0, UINT32_MAX) ||
		    arg_value(argv[i], "cache_kib", &cache_kib, 0, 1u << 22))
			continue;
		if (i == 1 && !find_byte(argv[i], '=', strlen(argv[i]))[0])
			nic = argv[i];
		else
			fail(4,
			     "unknown argument %s (NIC port=N conns=N idle_s=N header_s=N stats=N "
			     "cache_kib=N)",
			     argv[i]);
	}
	max_conns = (unsigned)conns;
	if (cache_kib == UINT64_MAX) {
		cache_left = rt_heap_free_bytes() / 4;
		if (cache_left > 8192u * 1024)
			cache_left = 8192u * 1024;
	} else {
		cache_left = cache_kib * 1024;
	}
	idle_ns = idle_s * 1000000000ull;
	header_ns = header_s * 1000000000ull;

	files = disks_open();
	if (ndisks == 0)
		fail(1, "none of the %u disks holds a sound FAT file system", rt_blk_count());
	if (!nic)
		nic = rt_netdev_name(0);
	if (!nic)
		fail(1, "the guest has no network device");
	if (rt_net_init() < 0)
		fail(1, "the network stack did not start");
	r = rt_net_device_add(nic);
	if (r < 0)
		fail(1, "NIC %s: cannot add it (%d)", nic, r);
	if (rt_netdev_open(nic, &nd) < 0)
		fail(1, "NIC %s: cannot open it", nic);
	rt_netdev_info(nd, &info);
	t = tcp_new();
	if (!t || tcp_bind(t, IP_ANY_TYPE, (u16_t)port) != ERR_OK)
		fail(1, "tcp port %lu: cannot bind", (unsigned long)port);
	l = tcp_listen(t);
	if (!l)
		fail(1, "tcp port %lu: cannot listen", (unsigned long)port);
	tcp_accept(l, conn_accept);
	rt_printf("site: ready on %u.%u.%u.%u:%lu, %u disk%s, %lu files\n", info.ipv4 & 0xff,
	          (info.ipv4 >> 8) & 0xff, (info.ipv4 >> 16) & 0xff, info.ipv4 >> 24,
	          (unsigned long)port, ndisks, ndisks == 1 ? "" : "s", (unsigned long)files);

	printed_ns = rt_clock_ns();
	for (;;) {
		uint64_t deadline = rt_net_poll(), now = rt_clock_ns();

		/*
		 * The counters: every stats_every requests, and a minute after
		 * the last line when they moved since; unmoved, they set no
		 * deadline (a past one would never let the guest sleep).
		 */
		moved = st.requests + st.conns + disk_errors != changed;
		if (moved && ((stats_every && st.requests - printed_at >= stats_every) ||
		              now - printed_ns >= 60000000000ull)) {
			print_stats();
			printed_at = st.requests;
			printed_ns = now;
			changed = st.requests + st.conns + disk_errors;
			moved = 0;
		}
		if (moved && deadline > printed_ns + 60000000000ull)
			deadline = printed_ns + 60000000000ull;
		if (rt_block(deadline))
			rt_evtchn_dispatch();
	}
}
