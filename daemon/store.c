/*
 * The state store: shoald's desired state in SQLite (WAL, one writer, the
 * daemon's loop).  Guests and their current deploy, the deploy history
 * (append-only: a rollback is a new deploy with an older spec), images,
 * the event log and a few counters.  Live state (pids, placement,
 * latency) is never stored: it is found again from the backend at start.
 *
 * Commits are durable against a shoald crash (WAL, synchronous=NORMAL);
 * against a power loss the newest commits may be lost, never corrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

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
		log_warnx("state store: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
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
		exec(s, "ROLLBACK");
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
		exec(s, "ROLLBACK");
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

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	sqlite3_stmt *st;
	int version = 0;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the state store %s: %s", path,
		         s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 2000);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;") <
	        0 ||
	    exec(s, schema) < 0) {
		snprintf(err, errlen, "cannot set up the state store %s: %s", path,
		         sqlite3_errmsg(s->db));
		goto fail;
	}
	st = prep(s, "SELECT value FROM meta WHERE key = 'schema_version'");
	if (st && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
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
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
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
	exec(s, "ROLLBACK");
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
	exec(s, "ROLLBACK");
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
	sqlite3_stmt *st =
	    prep(s, "INSERT OR IGNORE INTO images(sha256, bytes, added_ns, source, kind)"
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
	sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO disk_copies VALUES(?,?,?,?)");

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
	exec(s, "ROLLBACK");
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
