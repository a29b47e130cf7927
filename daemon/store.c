/*
 * The state store: shoald's desired state in SQLite (WAL, one writer, the
 * daemon's loop).  Guests and their current deploy, the deploy history
 * (append-only: a rollback is a new deploy with an older spec), images,
 * the event log and a few counters.  Live state (pids, placement,
 * latency) is never stored: it is found again from the backend at start.
 *
 * Commits are durable against a shoald crash (WAL, synchronous=NORMAL);
 * against a power loss the newest commits may be lost, never corrupted.
 * A store is checked when it is opened and refused, with the steps to
 * recover, when it is damaged or newer than this shoald; the backups to
 * recover from are made here too.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

/*
 * Version 2 added the image kind (guest or disk), a deploy's disks (the
 * sha256 of each disk of its spec, in the spec's order) and the guests'
 * own copies of writable disks; a version 1 store is migrated in place
 * when it is opened (migrate_1_to_2).  Version 3 added NICs; version 4 the
 * guests' deleting mark (a DELETE begun, its stop not yet over).
 */
#define SCHEMA_VERSION 4

struct store {
	sqlite3 *db;
	char path[1100];
	int failed_rc;               /* the last failure's SQLite result code */
	struct store_backup *backup; /* one under way (store_backup_begin) */
};

#define BACKUPS_MAX 100

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS images("
    "  sha256 TEXT PRIMARY KEY, bytes INTEGER NOT NULL, added_ns INTEGER NOT NULL, source TEXT,"
    "  kind TEXT NOT NULL DEFAULT 'guest');"
    "CREATE TABLE IF NOT EXISTS deploys("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, spec TEXT NOT NULL,"
    "  image_sha256 TEXT NOT NULL, parent INTEGER NOT NULL DEFAULT 0, note TEXT NOT NULL,"
    "  time_ns INTEGER NOT NULL, disks TEXT NOT NULL DEFAULT '[]');"
    "CREATE INDEX IF NOT EXISTS deploys_name ON deploys(name);"
    "CREATE TABLE IF NOT EXISTS guests("
    "  name TEXT PRIMARY KEY, deploy_id INTEGER NOT NULL, desired_running INTEGER NOT NULL,"
    "  instance INTEGER NOT NULL DEFAULT 0, restarts INTEGER NOT NULL DEFAULT 0,"
    "  created_ns INTEGER NOT NULL, last_status INTEGER NOT NULL DEFAULT -1,"
    "  last_reason TEXT NOT NULL DEFAULT '', deleting INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS events("
    "  id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, type TEXT NOT NULL, guest TEXT NOT NULL,"
    "  message TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS disk_copies("
    "  guest TEXT NOT NULL, name TEXT NOT NULL, image_sha256 TEXT NOT NULL,"
    "  created_ns INTEGER NOT NULL, PRIMARY KEY(guest, name));"
    "CREATE TABLE IF NOT EXISTS nics("
    "  guest TEXT NOT NULL, name TEXT NOT NULL, slot INTEGER NOT NULL, bridge TEXT NOT NULL,"
    "  tap TEXT NOT NULL, mac TEXT NOT NULL, ipv4 INTEGER NOT NULL, prefix_len INTEGER NOT NULL,"
    "  gateway INTEGER NOT NULL, PRIMARY KEY(guest, name));"
    "INSERT OR IGNORE INTO meta VALUES('schema_version', 4);"
    "INSERT OR IGNORE INTO meta VALUES('next_instance', 1);";

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		s->failed_rc = sqlite3_errcode(s->db);
		log_warnx("state store: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * End a failed transaction, unless SQLite ended it already (a COMMIT that
 * failed on a full disk rolls back by itself); the failure that ended it
 * stays the one store_failed_full reads.
 */
static void rollback(struct store *s)
{
	int rc = s->failed_rc;

	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	s->failed_rc = rc;
}

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		s->failed_rc = sqlite3_errcode(s->db);
		log_warnx("state store: %s: %s", sql, sqlite3_errmsg(s->db));
		return NULL;
	}
	return st;
}

/* Run a statement that returns no rows; finalizes it. */
static int step_done(struct store *s, sqlite3_stmt *st)
{
	int r;

	if (!st)
		return -1;
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE && r != SQLITE_ROW) {
		s->failed_rc = r;
		log_warnx("state store: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/*
 * A store from before disks: its images are all guests, its deploys have
 * no disks.  The columns come with those defaults, in one transaction, so
 * that a crash half-way leaves a version 1 store to migrate again.  (Its
 * disk_copies table is made by the schema, which runs first.)
 */
static int migrate_1_to_2(struct store *s)
{
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (exec(s, "ALTER TABLE images ADD COLUMN kind TEXT NOT NULL DEFAULT 'guest';"
	            "ALTER TABLE deploys ADD COLUMN disks TEXT NOT NULL DEFAULT '[]';"
	            "UPDATE meta SET value = 2 WHERE key = 'schema_version';") < 0 ||
	    exec(s, "COMMIT") < 0) {
		rollback(s);
		return -1;
	}
	log_info("state store: migrated from schema version 1 to 2 (image kinds, disks)");
	return 0;
}

/* A store from before NICs: its guests have none (the schema made the table). */
static int migrate_2_to_3(struct store *s)
{
	if (exec(s, "UPDATE meta SET value = 3 WHERE key = 'schema_version'") < 0)
		return -1;
	log_info("state store: migrated from schema version 2 to 3 (NICs)");
	return 0;
}

/* A store from before the deleting mark: no guest was being deleted. */
static int migrate_3_to_4(struct store *s)
{
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (exec(s, "ALTER TABLE guests ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;"
	            "UPDATE meta SET value = 4 WHERE key = 'schema_version';") < 0 ||
	    exec(s, "COMMIT") < 0) {
		rollback(s);
		return -1;
	}
	log_info("state store: migrated from schema version 3 to 4 (the deleting mark)");
	return 0;
}

/* A deploy's disks column: the sha256 of each disk, as a JSON array; NULL when out of memory. */
static char *disks_text(const char (*disk_sha)[65], unsigned ndisks)
{
	json_t *a = json_array();
	char *text;
	unsigned i;

	for (i = 0; a && i < ndisks; i++)
		json_array_append_new(a, json_string(disk_sha[i]));
	text = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return text;
}

/* Read a disks column back; the number of disks, or -1 when it is not what disks_text wrote. */
static int disks_parse(const char *text, char (*disk_sha)[65])
{
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;
	size_t i;
	int n = -1;

	if (!json_is_array(a) || json_array_size(a) > SPEC_DISKS_MAX)
		goto out;
	for (i = 0; i < json_array_size(a); i++) {
		const char *v = json_string_value(json_array_get(a, i));

		if (!v || !spec_is_sha256(v))
			goto out;
		memcpy(disk_sha[i], v, 65);
	}
	n = (int)json_array_size(a);
out:
	json_decref(a);
	return n;
}

/* "2026-12-07 10:47 UTC, 3 h ago" for a file's mtime, into buf. */
static void file_age(const struct stat *st, char *buf, size_t len)
{
	time_t now = time(NULL);
	double age = difftime(now, st->st_mtime);
	struct tm tm;
	char when[40] = "?";

	if (gmtime_r(&st->st_mtime, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	if (age < 120)
		snprintf(buf, len, "made %s, %.0f s ago", when, age < 0 ? 0 : age);
	else if (age < 2 * 3600)
		snprintf(buf, len, "made %s, %.0f min ago", when, age / 60);
	else if (age < 2 * 86400)
		snprintf(buf, len, "made %s, %.0f h ago", when, age / 3600);
	else
		snprintf(buf, len, "made %s, %.0f days ago", when, age / 86400);
}

/* A backup's schema version (0 when it cannot be read). */
static int backup_version(const char *name)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int version = 0;

	if (sqlite3_open_v2(name, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return version;
}

/*
 * What an operator does about a store shoald will not open (why: 1
 * damaged, 2 of a newer schema, 3 its log damaged), appended to err: the
 * store kept aside, then the newest backup copied in (for a newer
 * schema's store, the newest this shoald reads), or no state at all.  The
 * -wal and -shm files go aside with it: SQLite would replay the old
 * store's log into the restored copy.
 */
static void recovery_advice(const char *path, int why, char *err, size_t errlen)
{
	static const char *const to[] = { "", "recover", "go back to a state this shoald reads",
		                          "recover from a backup instead" };
	int newer = why == 2;
	size_t n = strlen(err);
	char name[1200], age[80];
	struct stat st;
	unsigned i, found = 0;

	n += (size_t)snprintf(err + n, n < errlen ? errlen - n : 0,
	                      ".  To %s, with shoald stopped, keep the store aside: mv %s %s.%s "
	                      "(and %s-wal, %s-shm likewise, where they are)",
	                      to[why], path, path, newer ? "newer" : "damaged", path, path);
	for (i = 1; i <= BACKUPS_MAX && n < errlen; i++) {
		int version;

		snprintf(name, sizeof(name), "%s.%u", path, i);
		if (stat(name, &st) < 0)
			continue;
		version = backup_version(name);
		if (newer && version > SCHEMA_VERSION)
			continue;
		file_age(&st, age, sizeof(age));
		if (!found++)
			n += (size_t)snprintf(
			    err + n, errlen - n,
			    "; then restore the newest backup shoald kept%s: cp %s %s "
			    "(%s, schema version %d; older ones: ",
			    newer ? " from before the upgrade" : "", name, path, age, version);
		else
			n += (size_t)snprintf(err + n, n < errlen ? errlen - n : 0, "%s%s (%s)",
			                      found > 2 ? ", " : "", name, age);
	}
	if (found == 1 && n < errlen)
		n += (size_t)snprintf(err + n, errlen - n, "none");
	if (found && n < errlen)
		n += (size_t)snprintf(err + n, errlen - n,
		                      "); a running guest the backup does not know is stopped, and "
		                      "one restarted since the backup is started again");
	if (n < errlen)
		snprintf(
		    err + n, errlen - n,
		    "%s start with no state by leaving %s absent: shoald then knows no guest and "
		    "stops every one still running (shoald(8), THE STATE STORE)",
		    found ? "; or" : "; there is no backup to restore (state-backups); then", path);
}

/*
 * What the file's first 100 bytes say, before SQLite reads it: an empty
 * file, one that is not SQLite at all, and one shorter than the pages its
 * header counts (cut short: a full disk, a copy that did not finish) are
 * each named as such.  The size in the header is valid only when its two
 * change counters agree, and a log (-wal) may hold the pages the main file
 * lacks: then quick_check judges.  0 or -1 with err filled.
 */
static int check_header(const char *path, const struct stat *st, char *err, size_t errlen)
{
	static const char magic[16] = "SQLite format 3";
	unsigned char h[100];
	char wal[1200];
	struct stat ws;
	uint32_t page, pages;
	ssize_t r;
	int fd;

	if (st->st_size == 0) {
		snprintf(err, errlen,
		         "the state store %s is empty (0 bytes): it was cut short (a full disk, a "
		         "copy that did not finish), and shoald will not take it for a new one",
		         path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read the state store %s: %s", path, strerror(errno));
		return -1;
	}
	r = read(fd, h, sizeof(h));
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the state store %s: %s", path, strerror(errno));
		return -1;
	}
	if (r < (ssize_t)sizeof(h) || memcmp(h, magic, sizeof(magic))) {
		snprintf(
		    err, errlen,
		    "the state store %s is not an SQLite database (%lld bytes, without SQLite's "
		    "header)",
		    path, (long long)st->st_size);
		return -1;
	}
	page = (uint32_t)h[16] << 8 | h[17];
	if (page == 1)
		page = 65536;
	pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (!memcmp(h + 24, h + 92, 4) && pages && page >= 512 &&
	    (uint64_t)st->st_size < (uint64_t)pages * page &&
	    (stat(wal, &ws) < 0 || ws.st_size == 0)) {
		snprintf(err, errlen,
		         "the state store %s is cut short: %lld bytes, where its header counts %u "
		         "pages of %u bytes (%llu)",
		         path, (long long)st->st_size, pages, page,
		         (unsigned long long)pages * page);
		return -1;
	}
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* SQLite's WAL checksum over n bytes (a multiple of 8), going on from s[0], s[1]. */
static void wal_sum(int big, const unsigned char *p, size_t n, uint32_t s[2])
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint32_t x0 = big ? be32(p + i)
		                  : (uint32_t)p[i + 3] << 24 | (uint32_t)p[i + 2] << 16 |
		                        (uint32_t)p[i + 1] << 8 | p[i];
		uint32_t x1 = big ? be32(p + i + 4)
		                  : (uint32_t)p[i + 7] << 24 | (uint32_t)p[i + 6] << 16 |
		                        (uint32_t)p[i + 5] << 8 | p[i + 4];

		s[0] += x0 + s[1];
		s[1] += x1 + s[0];
	}
}

/*
 * The store's log (-wal) after a shoald that did not stop cleanly: SQLite
 * replays its frames up to the first that is not whole (a bad checksum)
 * and drops the rest, silently, as it must after a power loss cut the
 * last write short.  A whole commit of the same log after that frame
 * means the frame was damaged, not cut short, and commits would be lost
 * with it, the guests deployed since then among them (and stopped, as
 * guests shoald does not know): refused, as a damaged store is.  Frames
 * of an older generation of the log (other salts) are what a checkpoint
 * leaves and no sign of damage.  0, or -1 with err filled.
 */
static int wal_check(const char *path, char *err, size_t errlen)
{
	char wal[1200];
	unsigned char *buf = NULL, *h;
	unsigned frames = 0, later = 0, valid = 1;
	uint32_t page, sum[2] = { 0, 0 }, bad = 0;
	struct stat st;
	size_t off, n = 0;
	int fd, big;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* A log that large is no shoald's (checkpoints keep it near 4 MiB). */
	if (fstat(fd, &st) < 0 || st.st_size < 32 || st.st_size > (64 << 20))
		goto out;
	buf = malloc((size_t)st.st_size);
	while (buf && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (!buf || n < 32)
		goto out;
	h = buf;
	page = be32(h + 8);
	if ((be32(h) & ~1u) != 0x377f0682 || page < 512 || page > 65536 || (page & (page - 1)))
		goto out;
	big = be32(h) & 1;
	wal_sum(big, h, 24, sum);
	if (sum[0] != be32(h + 24) || sum[1] != be32(h + 28))
		goto out; /* a header cut short: SQLite ignores the log, and so does this */
	for (off = 32; off + 24 + page <= n; off += 24 + page) {
		const unsigned char *f = buf + off;
		int ours = !memcmp(f + 8, h + 16, 8);

		if (valid) {
			wal_sum(big, f, 8, sum);
			wal_sum(big, f + 24, page, sum);
			if (ours && sum[0] == be32(f + 16) && sum[1] == be32(f + 20)) {
				frames++;
				continue;
			}
			valid = 0;
			bad = frames + 1;
		} else if (ours && be32(f + 4)) {
			later++;
		}
	}
	if (!later)
		goto out;
	snprintf(err, errlen,
	         "the state store %s has its log %s damaged at frame %u: SQLite would drop that "
	         "frame and the %u commits after it, going back to the state before it without a "
	         "word.  To go on from that state, with shoald stopped, move the log aside: mv %s "
	         "%s.damaged (and %s-shm likewise)",
	         path, wal, bad, later, wal, wal, path);
out:
	free(buf);
	close(fd);
	return later ? -1 : 0;
}

/*
 * PRAGMA quick_check: every page of every table and index read and its
 * structure checked (a page of garbage, a page cut off, a broken free
 * list), in time linear in the store's size; integrity_check would also
 * match each index against its table, at n log n, for damage the
 * structure check already finds.  The store is small (guests, deploys, at
 * most 100000 events): doc/testing.md has what the check costs.
 */
static int quick_check(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r, rows = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(5)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "the state store %s cannot be read: %s", s->path,
		         sqlite3_errmsg(s->db));
		return -1;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (t && !strcmp(t, "ok"))
			continue;
		if (t && !strncmp(t, "*** in database ", 16) && strchr(t, '\n'))
			t = strchr(t, '\n') + 1;
		if (!rows++)
			n = (size_t)snprintf(
			    err, errlen, "the state store %s is damaged (quick_check: ", s->path);
		if (n < errlen)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s", rows > 1 ? "; " : "",
			                      t ? t : "?");
	}
	if (r != SQLITE_DONE && !rows) {
		n = (size_t)snprintf(err, errlen, "the state store %s is damaged (%s", s->path,
		                     sqlite3_errmsg(s->db));
		rows = 1;
	}
	sqlite3_finalize(st);
	if (rows && n < errlen)
		snprintf(err + n, errlen - n, ")");
	/* One line in the journal: SQLite puts each page's complaint on its own. */
	for (n = 0; rows && err[n]; n++)
		if (err[n] == '\n')
			err[n] = ';';
	return rows ? -1 : 0;
}

/* The store's schema version: 0 when it has none yet (a new store), -1 when it cannot be read. */
static int schema_version(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int version = -1;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
	                       " name = 'meta')",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0) ? -2 : 0;
	sqlite3_finalize(st);
	if (version != -2)
		return version;
	st = prep(s, "SELECT value FROM meta WHERE key = 'schema_version'");
	version = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	struct stat st;
	int version, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, damaged = 0;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	/* A missing store is a new one; one that is there must be whole before SQLite writes to it.
	 */
	if (stat(path, &st) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "cannot read the state store %s: %s", path,
			         strerror(errno));
			goto fail;
		}
		flags |= SQLITE_OPEN_CREATE;
	} else if (check_header(path, &st, err, errlen) < 0) {
		damaged = 1;
		goto fail;
	}
	if (!(flags & SQLITE_OPEN_CREATE) && wal_check(path, err, errlen) < 0) {
		damaged = 3;
		goto fail;
	}
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the state store %s: %s", path,
		         s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 2000);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;") <
	    0) {
		snprintf(err, errlen, "cannot set up the state store %s: %s", path,
		         sqlite3_errmsg(s->db));
		damaged = s->failed_rc == SQLITE_CORRUPT || s->failed_rc == SQLITE_NOTADB;
		goto fail;
	}
	if (!(flags & SQLITE_OPEN_CREATE)) {
		uint64_t t0 = now_mono_ns();

		if (quick_check(s, err, errlen) < 0) {
			damaged = 1;
			goto fail;
		}
		log_info("state store: %s checked (quick_check, %lld bytes in %.1f ms)", path,
		         (long long)st.st_size, (double)(now_mono_ns() - t0) / 1e6);
	}
	/* A newer shoald's store is refused before this one's schema touches it. */
	version = schema_version(s);
	if (version > SCHEMA_VERSION) {
		snprintf(
		    err, errlen,
		    "the state store %s has schema version %d, written by a newer shoald; this "
		    "one reads version %d and older.  Run the newer shoald again",
		    path, version, SCHEMA_VERSION);
		damaged = 2;
		goto fail;
	}
	if (exec(s, schema) < 0) {
		snprintf(err, errlen, "cannot set up the state store %s: %s", path,
		         sqlite3_errmsg(s->db));
		goto fail;
	}
	version = schema_version(s);
	if (version == 1 && migrate_1_to_2(s) < 0) {
		snprintf(err, errlen, "cannot migrate the state store %s from schema version 1: %s",
		         path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (version == 1)
		version = 2;
	if (version == 2 && migrate_2_to_3(s) < 0) {
		snprintf(err, errlen, "cannot migrate the state store %s from schema version 2: %s",
		         path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (version == 2)
		version = 3;
	if (version == 3 && migrate_3_to_4(s) < 0) {
		snprintf(err, errlen, "cannot migrate the state store %s from schema version 3: %s",
		         path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (version == 3)
		version = 4;
	if (version != SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "the state store %s has schema version %d; this shoald reads version %d",
		         path, version, SCHEMA_VERSION);
		goto fail;
	}
	return s;
fail:
	if (damaged)
		recovery_advice(path, damaged, err, errlen);
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

const char *store_path(const struct store *s)
{
	return s->path;
}

int store_failed_full(const struct store *s)
{
	return (s->failed_rc & 0xff) == SQLITE_FULL;
}

/* ---- backups ---- */

/*
 * A backup is one sqlite3_backup_step over the whole store, from a
 * connection of its own, read-only: in WAL mode it reads one snapshot
 * while the loop's connection goes on writing (a backup from the writing
 * connection in steps would hold the loop at each step, the last one with
 * an fsync of the whole copy).  So the periodic backup runs in a thread
 * and the loop only starts it and joins it once done; the one at start
 * runs before the loop, inline.  The copy is made into PATH.tmp, made a
 * plain (rollback-journal) store so that it is one file to copy back,
 * synced, and only then rotated in.
 */
struct store_backup {
	pthread_t thread;
	char path[1100];
	unsigned keep;
	atomic_int done;
};

/* The finished backup at path.tmp becomes path.1; path.1 becomes path.2 and so on, up to keep. */
static int backup_rotate(const char *path, unsigned keep)
{
	char from[1200], to[1200], dir[1200], *slash;
	unsigned i;
	int fd;

	for (i = keep + 1; i <= BACKUPS_MAX; i++) {
		snprintf(to, sizeof(to), "%s.%u", path, i);
		if (unlink(to) < 0 && errno == ENOENT)
			break;
	}
	for (i = keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", path, i);
		if (rename(from, to) < 0 && errno != ENOENT) {
			log_warn("state store: cannot rotate the backup %s to %s", from, to);
			return -1;
		}
	}
	snprintf(from, sizeof(from), "%s.tmp", path);
	snprintf(to, sizeof(to), "%s.1", path);
	if (rename(from, to) < 0) {
		log_warn("state store: cannot rename the backup %s to %s", from, to);
		return -1;
	}
	/* The renames are durable with the directory. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* Back path up into path.tmp and rotate it in; 0 or -1 (logged, the backups there kept). */
static int backup_run(const char *path, unsigned keep)
{
	uint64_t t0 = now_mono_ns();
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk = NULL;
	char tmp[1200];
	const char *why = NULL;
	int pages = 0, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		why = src ? sqlite3_errmsg(src) : "out of memory";
		goto out;
	}
	if (sqlite3_open_v2(tmp, &dst,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		why = dst ? sqlite3_errmsg(dst) : "out of memory";
		goto out;
	}
	sqlite3_busy_timeout(src, 2000);
	bk = sqlite3_backup_init(dst, "main", src, "main");
	if (!bk) {
		why = sqlite3_errmsg(dst);
		goto out;
	}
	r = sqlite3_backup_step(bk, -1);
	pages = sqlite3_backup_pagecount(bk);
	if (r != SQLITE_DONE) {
		why = sqlite3_errstr(r);
		goto out;
	}
	r = sqlite3_backup_finish(bk);
	bk = NULL;
	if (r != SQLITE_OK ||
	    sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		why = sqlite3_errmsg(dst);
		goto out;
	}
out:
	if (bk)
		sqlite3_backup_finish(bk);
	if (why) {
		log_warnx("state store: the backup %s failed: %s; the backups there are kept", tmp,
		          why);
		sqlite3_close(dst);
		sqlite3_close(src);
		unlink(tmp);
		snprintf(tmp, sizeof(tmp), "%s.tmp-journal", path);
		unlink(tmp);
		return -1;
	}
	sqlite3_close(dst);
	sqlite3_close(src);
	if (backup_rotate(path, keep) < 0) {
		unlink(tmp);
		return -1;
	}
	log_info("state store: backed up to %s.1 (%d pages in %.1f ms; %u kept)", path, pages,
	         (double)(now_mono_ns() - t0) / 1e6, keep);
	return 0;
}

static void *backup_thread(void *arg)
{
	struct store_backup *b = arg;

	backup_run(b->path, b->keep);
	atomic_store(&b->done, 1);
	return NULL;
}

int store_backup(struct store *s, unsigned keep)
{
	return backup_run(s->path, keep);
}

int store_backup_begin(struct store *s, unsigned keep)
{
	struct store_backup *b;
	int r;

	if (s->backup)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	snprintf(b->path, sizeof(b->path), "%s", s->path);
	b->keep = keep;
	atomic_init(&b->done, 0);
	r = pthread_create(&b->thread, NULL, backup_thread, b);
	if (r != 0) {
		log_warnx("state store: cannot start a backup: %s", strerror(r));
		free(b);
		return -1;
	}
	s->backup = b;
	return 0;
}

int store_backup_poll(struct store *s, int wait)
{
	if (!s->backup)
		return 0;
	if (!wait && !atomic_load(&s->backup->done))
		return 1;
	pthread_join(s->backup->thread, NULL);
	free(s->backup);
	s->backup = NULL;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_backup_poll(s, 1);
	sqlite3_close(s->db);
	free(s);
}

int store_load_guests(struct store *s, void (*fn)(void *ctx, struct store_guest *sg), void *ctx)
{
	sqlite3_stmt *st =
	    prep(s, "SELECT g.name, g.deploy_id, g.desired_running, g.instance, g.restarts,"
	            " g.created_ns, g.last_status, g.last_reason, d.spec, d.image_sha256, d.disks,"
	            " g.deleting"
	            " FROM guests g JOIN deploys d ON d.id = g.deploy_id ORDER BY g.name");
	int n = 0, r;

	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct store_guest sg;
		json_error_t jerr;

		memset(&sg, 0, sizeof(sg));
		snprintf(sg.name, sizeof(sg.name), "%s", (const char *)sqlite3_column_text(st, 0));
		sg.deploy_id = sqlite3_column_int64(st, 1);
		sg.desired_running = sqlite3_column_int(st, 2);
		sg.instance = (uint64_t)sqlite3_column_int64(st, 3);
		sg.restarts = (unsigned)sqlite3_column_int(st, 4);
		sg.created_ns = (uint64_t)sqlite3_column_int64(st, 5);
		sg.last_status = sqlite3_column_int(st, 6);
		snprintf(sg.last_reason, sizeof(sg.last_reason), "%s",
		         (const char *)sqlite3_column_text(st, 7));
		sg.spec = json_loads((const char *)sqlite3_column_text(st, 8), 0, &jerr);
		snprintf(sg.image_sha256, sizeof(sg.image_sha256), "%s",
		         (const char *)sqlite3_column_text(st, 9));
		r = disks_parse((const char *)sqlite3_column_text(st, 10), sg.disk_sha256);
		if (r < 0) {
			log_warnx("state store: guest %s: unreadable disks; its disks are left out",
			          sg.name);
			r = 0;
		}
		sg.ndisks = (unsigned)r;
		sg.deleting = sqlite3_column_int(st, 11);
		if (!sg.spec) {
			log_warnx("state store: guest %s: unreadable spec (%s); skipped", sg.name,
			          jerr.text);
			continue;
		}
		fn(ctx, &sg);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

int64_t store_deploy(struct store *s, const char *name, const json_t *spec, const char *sha256,
                     const char (*disk_sha)[65], unsigned ndisks, int64_t parent, const char *note,
                     uint64_t now_ns)
{
	char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	char *disks = disks_text(disk_sha, ndisks);
	sqlite3_stmt *st;
	int64_t id = -1;

	s->failed_rc = 0;

	if (!text || !disks || exec(s, "BEGIN IMMEDIATE") < 0) {
		free(text);
		free(disks);
		return -1;
	}
	st = prep(s, "INSERT INTO deploys(name, spec, image_sha256, parent, note, time_ns, disks) "
	             "VALUES(?,?,?,?,?,?,?)");
	if (!st)
		goto rollback;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, parent);
	sqlite3_bind_text(st, 5, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)now_ns);
	sqlite3_bind_text(st, 7, disks, -1, SQLITE_STATIC);
	if (step_done(s, st) < 0)
		goto rollback;
	id = sqlite3_last_insert_rowid(s->db);
	st = prep(
	    s,
	    "INSERT INTO guests(name, deploy_id, desired_running, created_ns) VALUES(?1, ?2, 1, ?3)"
	    " ON CONFLICT(name) DO UPDATE SET deploy_id = ?2, desired_running = 1");
	if (!st)
		goto rollback;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ns);
	if (step_done(s, st) < 0 || exec(s, "COMMIT") < 0)
		goto rollback;
	free(text);
	free(disks);
	return id;
rollback:
	rollback(s);
	free(text);
	free(disks);
	return -1;
}

int64_t store_rollback_target(struct store *s, int64_t current, json_t **spec, char *sha256,
                              char (*disk_sha)[65], unsigned *ndisks, int64_t *parent)
{
	sqlite3_stmt *st =
	    prep(s, "SELECT p.id, p.spec, p.image_sha256, p.parent, p.disks FROM deploys c"
	            " JOIN deploys p ON p.id = c.parent WHERE c.id = ?");
	int64_t id = 0;
	int n;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, current);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_error_t jerr;

		*spec = json_loads((const char *)sqlite3_column_text(st, 1), 0, &jerr);
		snprintf(sha256, 65, "%s", (const char *)sqlite3_column_text(st, 2));
		*parent = sqlite3_column_int64(st, 3);
		n = disks_parse((const char *)sqlite3_column_text(st, 4), disk_sha);
		*ndisks = n > 0 ? (unsigned)n : 0;
		id = *spec && n >= 0 ? sqlite3_column_int64(st, 0) : -1;
		if (id < 0) {
			json_decref(*spec);
			*spec = NULL;
		}
	}
	sqlite3_finalize(st);
	return id;
}

int store_guest_update(struct store *s, const struct guest *g)
{
	sqlite3_stmt *st =
	    prep(s, "UPDATE guests SET desired_running = ?, instance = ?, restarts = ?,"
	            " last_status = ?, last_reason = ?, deleting = ? WHERE name = ?");

	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, g->desired_running);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)g->instance);
	sqlite3_bind_int(st, 3, (int)g->restarts);
	sqlite3_bind_int(st, 4, g->last_status);
	sqlite3_bind_text(st, 5, g->last_reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, g->delete_after_stop);
	sqlite3_bind_text(st, 7, g->name, -1, SQLITE_STATIC);
	return step_done(s, st);
}

int store_deploy_set_spec(struct store *s, int64_t deploy_id, const json_t *spec)
{
	char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	sqlite3_stmt *st = text ? prep(s, "UPDATE deploys SET spec = ? WHERE id = ?") : NULL;
	int rc;

	if (!st) {
		free(text);
		return -1;
	}
	sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)deploy_id);
	rc = step_done(s, st);
	free(text);
	return rc;
}

int store_guest_delete(struct store *s, const char *name)
{
	sqlite3_stmt *st;

	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	st = prep(s, "DELETE FROM guests WHERE name = ?");
	if (st)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (step_done(s, st) < 0)
		goto rollback;
	st = prep(s, "DELETE FROM deploys WHERE name = ?");
	if (st)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (step_done(s, st) < 0)
		goto rollback;
	st = prep(s, "DELETE FROM disk_copies WHERE guest = ?");
	if (st)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (step_done(s, st) < 0)
		goto rollback;
	st = prep(s, "DELETE FROM nics WHERE guest = ?");
	if (st)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (step_done(s, st) < 0 || exec(s, "COMMIT") < 0)
		goto rollback;
	return 0;
rollback:
	rollback(s);
	return -1;
}

uint64_t store_next_instance(struct store *s)
{
	sqlite3_stmt *st = prep(s, "UPDATE meta SET value = value + 1 WHERE key = 'next_instance'"
	                           " RETURNING value - 1");
	uint64_t v = 0;

	if (!st)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void store_instance_seen(struct store *s, uint64_t instance)
{
	sqlite3_stmt *st = prep(s, "UPDATE meta SET value = ?1 + 1 WHERE key = 'next_instance'"
	                           " AND value <= ?1");

	if (!st)
		return;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)instance);
	step_done(s, st);
}

int store_event(struct store *s, uint64_t id, uint64_t time_ns, const char *type, const char *guest,
                const char *message)
{
	sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO events VALUES(?,?,?,?,?)");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time_ns);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, guest ? guest : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, message, -1, SQLITE_STATIC);
	return step_done(s, st);
}

uint64_t store_last_event_id(struct store *s)
{
	sqlite3_stmt *st = prep(s, "SELECT COALESCE(MAX(id), 0) FROM events");
	uint64_t id = 0;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		id = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int store_events(struct store *s, uint64_t since, unsigned limit,
                 void (*fn)(void *ctx, uint64_t id, uint64_t time_ns, const char *type,
                            const char *guest, const char *message),
                 void *ctx)
{
	sqlite3_stmt *st =
	    prep(s, "SELECT * FROM (SELECT id, time_ns, type, guest, message FROM events"
	            " WHERE id > ? ORDER BY id DESC LIMIT ?) ORDER BY id");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	sqlite3_bind_int(st, 2, (int)limit);
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(ctx, (uint64_t)sqlite3_column_int64(st, 0),
		   (uint64_t)sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2),
		   (const char *)sqlite3_column_text(st, 3),
		   (const char *)sqlite3_column_text(st, 4));
	sqlite3_finalize(st);
	return 0;
}

int store_prune_events(struct store *s, unsigned keep)
{
	sqlite3_stmt *st =
	    prep(s, "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?");

	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, (int)keep);
	return step_done(s, st);
}

int store_image_add(struct store *s, const char *sha256, uint64_t bytes, uint64_t now_ns,
                    const char *source, const char *kind)
{
	sqlite3_stmt *st;

	s->failed_rc = 0;
	st = prep(s, "INSERT OR IGNORE INTO images(sha256, bytes, added_ns, source, kind)"
	             " VALUES(?,?,?,?,?)");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)bytes);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ns);
	sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
	return step_done(s, st);
}

int store_image_kind(struct store *s, const char *sha256, char *kind, size_t len)
{
	sqlite3_stmt *st = prep(s, "SELECT kind FROM images WHERE sha256 = ?");
	int found = 0;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(kind, len, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

json_t *store_images_json(struct store *s)
{
	/* A disk's sha256 is in its deploys' disks column as a JSON string: 64 hex digits, which
	 * nothing else in that column can contain. */
	sqlite3_stmt *st =
	    prep(s, "SELECT i.sha256, i.bytes, i.added_ns, i.source, i.kind,"
	            " (SELECT COUNT(*) FROM guests g JOIN deploys d ON d.id = g.deploy_id"
	            "  WHERE d.image_sha256 = i.sha256 OR instr(d.disks, i.sha256) > 0)"
	            " FROM images i ORDER BY i.added_ns");
	json_t *a = json_array();

	if (!st)
		return a;
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a,
		                      json_pack("{s:s, s:s, s:I, s:I, s:s, s:I}", "sha256",
		                                (const char *)sqlite3_column_text(st, 0), "kind",
		                                (const char *)sqlite3_column_text(st, 4), "bytes",
		                                (json_int_t)sqlite3_column_int64(st, 1), "added_ns",
		                                (json_int_t)sqlite3_column_int64(st, 2), "source",
		                                sqlite3_column_text(st, 3)
		                                    ? (const char *)sqlite3_column_text(st, 3)
		                                    : "",
		                                "guests", (json_int_t)sqlite3_column_int64(st, 5)));
	sqlite3_finalize(st);
	return a;
}

int store_disk_copy_add(struct store *s, const char *guest, const char *name, const char *sha256,
                        uint64_t now_ns)
{
	sqlite3_stmt *st;

	s->failed_rc = 0;
	st = prep(s, "INSERT OR REPLACE INTO disk_copies VALUES(?,?,?,?)");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, guest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now_ns);
	return step_done(s, st);
}

int store_disk_copy_get(struct store *s, const char *guest, const char *name, char sha256[65])
{
	sqlite3_stmt *st =
	    prep(s, "SELECT image_sha256 FROM disk_copies WHERE guest = ? AND name = ?");
	int found = 0;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, guest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(sha256, 65, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

int store_nics_set(struct store *s, const char *guest, const struct guest_nic *nics, unsigned n)
{
	sqlite3_stmt *st;
	unsigned i;

	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	st = prep(s, "DELETE FROM nics WHERE guest = ?");
	if (st)
		sqlite3_bind_text(st, 1, guest, -1, SQLITE_STATIC);
	if (step_done(s, st) < 0)
		goto rollback;
	for (i = 0; i < n; i++) {
		char mac[18];

		st = prep(s, "INSERT INTO nics VALUES(?,?,?,?,?,?,?,?,?)");
		if (!st)
			goto rollback;
		sqlite3_bind_text(st, 1, guest, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, nics[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)i);
		sqlite3_bind_text(st, 4, nics[i].bridge, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, nics[i].tap, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, spec_mac_str(nics[i].mac, mac), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 7, nics[i].ipv4);
		sqlite3_bind_int(st, 8, (int)nics[i].prefix_len);
		sqlite3_bind_int64(st, 9, nics[i].gateway);
		if (step_done(s, st) < 0)
			goto rollback;
	}
	if (exec(s, "COMMIT") < 0)
		goto rollback;
	return 0;
rollback:
	rollback(s);
	return -1;
}

/* A column's text into out (len bytes); -1 when it is missing or too long. */
static int column_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	if (!t || strlen((const char *)t) >= len)
		return -1;
	memcpy(out, t, strlen((const char *)t) + 1);
	return 0;
}

int store_nics_get(struct store *s, const char *guest, struct guest_nic *out, unsigned max)
{
	sqlite3_stmt *st = prep(s, "SELECT name, bridge, tap, mac, ipv4, prefix_len, gateway FROM"
	                           " nics WHERE guest = ? ORDER BY slot");
	unsigned n = 0;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, guest, -1, SQLITE_STATIC);
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct guest_nic *g = &out[n];
		char mac[18];

		memset(g, 0, sizeof(*g));
		if (column_text(st, 0, g->name, sizeof(g->name)) < 0 ||
		    column_text(st, 1, g->bridge, sizeof(g->bridge)) < 0 ||
		    column_text(st, 2, g->tap, sizeof(g->tap)) < 0 ||
		    column_text(st, 3, mac, sizeof(mac)) < 0 || spec_mac_parse(mac, g->mac) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
		g->ipv4 = (uint32_t)sqlite3_column_int64(st, 4);
		g->prefix_len = (unsigned)sqlite3_column_int(st, 5);
		g->gateway = (uint32_t)sqlite3_column_int64(st, 6);
		n++;
	}
	sqlite3_finalize(st);
	return (int)n;
}

json_t *store_history_json(struct store *s, const char *name)
{
	sqlite3_stmt *st = prep(s, "SELECT id, image_sha256, parent, note, time_ns FROM deploys"
	                           " WHERE name = ? ORDER BY id DESC LIMIT 20");
	json_t *a = json_array();

	if (!st)
		return a;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
		    a, json_pack("{s:I, s:s, s:I, s:s, s:I}", "id",
		                 (json_int_t)sqlite3_column_int64(st, 0), "image_sha256",
		                 (const char *)sqlite3_column_text(st, 1), "parent",
		                 (json_int_t)sqlite3_column_int64(st, 2), "note",
		                 (const char *)sqlite3_column_text(st, 3), "time_ns",
		                 (json_int_t)sqlite3_column_int64(st, 4)));
	sqlite3_finalize(st);
	return a;
}
