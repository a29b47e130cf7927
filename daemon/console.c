/*
 * Guest consoles: a bounded ring in memory, readable after the guest has
 * stopped, and a bounded file on disk (path, then path.1 when it fills:
 * never more than twice the limit).  A token bucket limits how fast a
 * guest may write; what is over the limit is dropped and counted, and the
 * guest is marked as flooding until it has been quiet for a while, so a
 * noisy guest costs neither memory nor disk without bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

#define QUIET_NS                                                                                   \
	(5ull * 1000000000u) /* a flooding guest is cleared after this long under the limit */

struct console {
	struct console_limits lim;
	char *ring; /* grown as output comes, up to lim.ring_bytes: most guests say little */
	size_t cap; /* bytes ring holds now */
	size_t head, len;
	char *path;
	int fd;
	uint64_t file_bytes;
	/* token bucket */
	double tokens;
	uint64_t last_ns;
	uint64_t over_since_ns; /* last time output was dropped */
	int flooding;
	uint64_t dropped;
	uint64_t file_lost; /* bytes the file missed since its last write failed (a full disk) */
	console_flood_fn flood_fn;
	void *flood_ctx;
	struct shoald_sub *subs;
};

static void file_open(struct console *c)
{
	struct stat st;

	if (!c->path)
		return;
	c->fd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (c->fd < 0) {
		log_warn("console file %s", c->path);
		return;
	}
	c->file_bytes = fstat(c->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

struct console *console_new(const struct console_limits *lim, const char *path)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->lim = *lim;
	if (c->lim.ring_bytes < 1024)
		c->lim.ring_bytes = 1024;
	c->path = path ? strdup(path) : NULL;
	if (path && !c->path) {
		free(c);
		return NULL;
	}
	c->fd = -1;
	c->tokens = lim->burst_bytes;
	file_open(c);
	return c;
}

void console_free(struct console *c)
{
	if (!c)
		return;
	console_close_followers(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c->ring);
	free(c->path);
	free(c);
}

/* Room for n more bytes, up to the limit: the ring's content laid out from 0 in a larger one. */
static void ring_grow(struct console *c, size_t n)
{
	size_t want = c->len + n, cap = c->cap ? c->cap : 1024, i;
	char *r;

	if (want <= c->cap || c->cap >= c->lim.ring_bytes)
		return;
	while (cap < want && cap < c->lim.ring_bytes)
		cap *= 2;
	if (cap > c->lim.ring_bytes)
		cap = c->lim.ring_bytes;
	if (!(r = malloc(cap)))
		return; /* keep the ring it has */
	for (i = 0; i < c->len; i++)
		r[i] = c->ring[(c->head + i) % c->cap];
	free(c->ring);
	c->ring = r;
	c->cap = cap;
	c->head = 0;
}

static void ring_put(struct console *c, const char *p, size_t n)
{
	size_t cap;

	ring_grow(c, n);
	if (!(cap = c->cap))
		return;
	if (n >= cap) {
		p += n - cap;
		n = cap;
	}
	while (n) {
		size_t tail = (c->head + c->len) % cap;
		size_t chunk = cap - tail < n ? cap - tail : n;

		memcpy(c->ring + tail, p, chunk);
		p += chunk;
		n -= chunk;
		c->len += chunk;
		if (c->len > cap) {
			c->head = (c->head + (c->len - cap)) % cap;
			c->len = cap;
		}
	}
}

static void file_put(struct console *c, const char *p, size_t n)
{
	if (c->fd < 0)
		return;
	if (c->file_bytes + n > c->lim.file_bytes) {
		char old[1100];

		snprintf(old, sizeof(old), "%s.1", c->path);
		close(c->fd);
		if (rename(c->path, old) < 0)
			log_warn("console file %s", c->path);
		file_open(c);
		if (c->fd < 0)
			return;
		c->file_bytes = 0;
		if (n > c->lim.file_bytes)
			n = (size_t)c->lim.file_bytes;
	}
	while (n) {
		ssize_t r = write(c->fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Once until a write succeeds again: a full disk and a chatty guest must
			 * not flood the log with the same warning. */
			if (!c->file_lost)
				log_warn(
				    "console file %s: its output is kept in memory only until a "
				    "write succeeds",
				    c->path);
			c->file_lost += n;
			return;
		}
		if (c->file_lost) {
			log_info("console file %s: written again, %llu bytes missed", c->path,
			         (unsigned long long)c->file_lost);
			c->file_lost = 0;
		}
		p += r;
		n -= (size_t)r;
		c->file_bytes += (uint64_t)r;
	}
}

static void deliver(struct console *c, const char *p, size_t n)
{
	struct shoald_sub *s, *next;

	ring_put(c, p, n);
	file_put(c, p, n);
	for (s = c->subs; s; s = next) {
		next = s->next;
		s->console_fn(s->ctx, p, n);
	}
}

void console_feed(struct console *c, const char *data, size_t len, uint64_t now_ns)
{
	size_t take;

	if (c->last_ns) {
		c->tokens += (double)(now_ns - c->last_ns) / 1e9 * c->lim.rate_bytes;
		if (c->tokens > c->lim.burst_bytes)
			c->tokens = c->lim.burst_bytes;
	}
	c->last_ns = now_ns;
	take = c->tokens >= (double)len ? len : (size_t)c->tokens;
	c->tokens -= (double)take;
	if (take)
		deliver(c, data, take);
	if (take < len) {
		c->dropped += len - take;
		c->over_since_ns = now_ns;
		if (!c->flooding) {
			c->flooding = 1;
			console_note(c, "console over its rate limit (%u bytes/s): output dropped",
			             c->lim.rate_bytes);
			if (c->flood_fn)
				c->flood_fn(c->flood_ctx, 1, c->dropped);
		}
	} else if (c->flooding && now_ns - c->over_since_ns > QUIET_NS) {
		c->flooding = 0;
		console_note(c, "console back under its rate limit; %llu bytes were dropped",
		             (unsigned long long)c->dropped);
		if (c->flood_fn)
			c->flood_fn(c->flood_ctx, 0, c->dropped);
	}
}

void console_note(struct console *c, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "-- shoald: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* Start on a line of its own even if the guest's last line is unfinished. */
	if (c->len && c->ring[(c->head + c->len - 1) % c->cap] != '\n')
		deliver(c, "\n", 1);
	line[n++] = '\n';
	deliver(c, line, (size_t)n);
}

char *console_tail(struct console *c, size_t tail, size_t *len)
{
	size_t n = tail && tail < c->len ? tail : c->len, start, i;
	char *buf = malloc(n + 1);

	if (!buf)
		return NULL;
	start = n ? (c->head + c->len - n) % c->cap : 0;
	for (i = 0; i < n; i++)
		buf[i] = c->ring[(start + i) % c->cap];
	buf[n] = '\0';
	*len = n;
	return buf;
}

uint64_t console_dropped(const struct console *c)
{
	return c->dropped;
}

int console_flooding(const struct console *c)
{
	return c->flooding;
}

/*
 * Reading a flooding console costs shoald a read for output it then
 * drops: once a feed dropped some, leave the console unread until the
 * bucket holds HOLD_REFILL bytes again (within 1 ms .. 1 s).
 */
#define HOLD_REFILL 32768.0
uint64_t console_hold_ns(const struct console *c, uint64_t now_ns)
{
	double want, s;

	if (!c->flooding || c->over_since_ns != now_ns || !c->lim.rate_bytes)
		return 0;
	want = c->lim.burst_bytes < HOLD_REFILL ? c->lim.burst_bytes : HOLD_REFILL;
	s = (want - c->tokens) / c->lim.rate_bytes;
	return s < 0.001 ? 1000000u : s > 1.0 ? 1000000000u : (uint64_t)(s * 1e9);
}

void console_on_flood(struct console *c, console_flood_fn fn, void *ctx)
{
	c->flood_fn = fn;
	c->flood_ctx = ctx;
}

struct shoald_sub *console_subscribe(struct console *c,
                                     void (*fn)(void *ctx, const char *data, size_t len), void *ctx)
{
	struct shoald_sub *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->console_fn = fn;
	s->ctx = ctx;
	s->console = c;
	s->next = c->subs;
	c->subs = s;
	return s;
}

void console_unsubscribe(struct console *c, struct shoald_sub *s)
{
	struct shoald_sub **pp;

	for (pp = &c->subs; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			free(s);
			return;
		}
}

void console_close_followers(struct console *c)
{
	struct shoald_sub *s;

	while ((s = c->subs)) {
		c->subs = s->next;
		s->console_fn(s->ctx, NULL, 0);
		free(s);
	}
}

void console_reload(struct console *c)
{
	char *buf;
	int fd;
	off_t size, from;
	ssize_t r;

	if (!c->path)
		return;
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	from = size > (off_t)c->lim.ring_bytes ? size - (off_t)c->lim.ring_bytes : 0;
	buf = malloc(c->lim.ring_bytes);
	if (buf && size > 0) {
		r = pread(fd, buf, (size_t)(size - from), from);
		if (r > 0)
			ring_put(c, buf, (size_t)r);
	}
	free(buf);
	close(fd);
}
