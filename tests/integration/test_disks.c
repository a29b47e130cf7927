/*
 * Guests' disks above the backend, with a real shoald: disk images in the
 * image store (uploads with kind=disk, the kind refused the other way),
 * a deploy with a shared read-only disk and a writable one, the guest's
 * own copy made under state-dir/disks and kept across a restart, a
 * redeploy that names another image and a restart of shoald, and removed
 * with the guest; then a state store of schema version 1 migrated with
 * its guests intact.  Before that, deletions a stopped shoald left marked
 * in its store are finished by the next one.  What the guest sees of its disks is the backend's
 * (tested with the tender).  Runs on the platform SHOAL_TEST_PLATFORM
 * names (doc/testing.md).  TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/lib/httpc.h"
#include "tests/lib/sdtest.h"

static struct shoald_run sd;

/* Write len bytes of a pattern to path (a first sector of seed, then zeros, then seed again). */
static int make_disk(const char *path, size_t len, int seed)
{
	char *buf = calloc(1, len);
	int fd, ok;

	if (!buf)
		return -1;
	memset(buf, seed, 512);
	memset(buf + len - 512, seed, 512);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? 0 : -1;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* POST /v1/images?kind=KIND with the bytes of path; the answer in a. */
static void upload(const char *kind, const char *path, struct http_answer *a)
{
	size_t len = 0, n;
	char *data = read_file(path, &len), *req;

	memset(a, 0, sizeof(*a));
	if (!data)
		return;
	req = malloc(len + 512);
	n = (size_t)snprintf(
	    req, 512,
	    "POST /v1/images?kind=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n\r\n",
	    kind, len);
	memcpy(req + n, data, len);
	http_raw(sd.sock, req, n + len, 10000, a);
	free(req);
	free(data);
}

static const char *jstr(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s ? s : "";
}

/* The guest's disk named name in its JSON (borrowed from g), or NULL. */
static json_t *guest_disk(json_t *g, const char *name)
{
	json_t *disks = json_object_get(g, "disks"), *d;
	size_t i;

	json_array_foreach(disks, i, d) if (!strcmp(jstr(d, "name"), name)) return d;
	return NULL;
}

/* The image of the store with this sha256 (a new reference), or NULL. */
static json_t *stored_image(const char *sha)
{
	json_t *a = sd_get_json("/v1/images"), *im, *found = NULL;
	size_t i;

	json_array_foreach(a, i, im) if (!strcmp(jstr(im, "sha256"), sha)) found = json_incref(im);
	json_decref(a);
	return found;
}

static int first_byte(const char *path)
{
	unsigned char c;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = read(fd, &c, 1) == 1 ? c : -1;
	close(fd);
	return r;
}

static int set_first_byte(const char *path, int v)
{
	unsigned char c = (unsigned char)v;
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = pwrite(fd, &c, 1, 0) == 1 ? 0 : -1;
	close(fd);
	return r;
}

static int events_have(const char *type)
{
	json_t *a = sd_get_json("/v1/events?limit=1000"), *e;
	size_t i;
	int found = 0;

	json_array_foreach(a, i, e) if (!strcmp(jstr(e, "type"), type)) found = 1;
	json_decref(a);
	return found;
}

static char sha_www[65], sha_other[65];

static void disk_images(void)
{
	char path[400], padded[400];
	struct http_answer a;
	json_t *im;
	size_t len;
	char *elf;
	int fd;

	snprintf(path, sizeof(path), "%s/www.img", sd.dir);
	tap_ok(make_disk(path, 65536, 0x5a) == 0, "a disk image of 64 KiB is made");
	upload("disk", path, &a);
	tap_ok(a.status == 201 && !strcmp(jstr(a.json, "kind"), "disk") &&
	           json_integer_value(json_object_get(a.json, "bytes")) == 65536,
	       "it uploads with kind=disk: 201, kind disk, 65536 bytes (%d)", a.status);
	snprintf(sha_www, sizeof(sha_www), "%s", jstr(a.json, "sha256"));
	http_answer_free(&a);
	upload("guest", path, &a);
	tap_ok(a.status == 422 && !strcmp(http_err_code(&a), "bad_image"),
	       "the same bytes as a guest are refused: not a usable guest (%d %s)", a.status,
	       http_err_code(&a));
	http_answer_free(&a);
	im = stored_image(sha_www);
	tap_ok(im && !strcmp(jstr(im, "kind"), "disk"), "GET /v1/images shows it as a disk");
	json_decref(im);

	/* A guest's bytes, padded to whole sectors: a usable guest, and a disk by its size. */
	elf = read_file(shoald_guest_image(&sd, "hello"), &len);
	snprintf(padded, sizeof(padded), "%s/hello-padded.kvm", sd.dir);
	fd = open(padded, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (elf && fd >= 0 && write(fd, elf, len) == (ssize_t)len)
		(void)!ftruncate(fd, (off_t)((len + 511) / 512 * 512));
	if (fd >= 0)
		close(fd);
	free(elf);
	upload("guest", padded, &a);
	tap_ok(a.status == 201, "a guest padded to whole sectors uploads as a guest (%d)",
	       a.status);
	http_answer_free(&a);
	upload("disk", padded, &a);
	tap_ok(a.status == 409 && !strcmp(http_err_code(&a), "image_kind_conflict"),
	       "and the same bytes as a disk are refused with 409 image_kind_conflict (%d %s)",
	       a.status, http_err_code(&a));
	http_answer_free(&a);
}

static void writable_copy(void)
{
	char copy[400], www_copy[400], other[400], dir[400];
	struct http_answer a;
	struct stat st;
	json_t *g, *dk;
	int st_http;

	snprintf(copy, sizeof(copy), "%s/state/disks/disky/data.img", sd.dir);
	snprintf(www_copy, sizeof(www_copy), "%s/state/disks/disky/www.img", sd.dir);
	snprintf(dir, sizeof(dir), "%s/state/disks/disky", sd.dir);
	st_http = sd_deploy("{\"name\":\"disky\",\"image\":\"%s\",\"memory_mib\":16,\"disks\":["
	                    "{\"name\":\"www\",\"image\":\"%s\"},"
	                    "{\"name\":\"data\",\"image\":\"%s\",\"readonly\":false}]}",
	                    shoald_guest_image(&sd, "idle"), sha_www, sha_www);
	tap_ok(st_http == 201, "a guest with a read-only and a writable disk deploys (%d)",
	       st_http);
	tap_ok(sd_wait_field("disky", "state", "running", 5000), "and runs");
	tap_ok(stat(copy, &st) == 0 && st.st_size == 65536 && first_byte(copy) == 0x5a,
	       "its own copy of the writable disk is state-dir/disks/disky/data.img, the image's "
	       "bytes");
	if (st.st_blocks * 512 < st.st_size)
		tap_diag("the copy is sparse: %lld of %lld bytes allocated",
		         (long long)st.st_blocks * 512, (long long)st.st_size);
	tap_ok(access(www_copy, F_OK) != 0, "the read-only disk has no copy: it is shared");
	g = sd_get_json("/v1/guests/disky");
	dk = guest_disk(g, "data");
	tap_ok(dk && !strcmp(jstr(dk, "image_sha256"), sha_www) &&
	           !strcmp(jstr(dk, "copy_of"), sha_www) &&
	           json_integer_value(json_object_get(dk, "copy_bytes")) == 65536 &&
	           json_is_false(json_object_get(dk, "readonly")),
	       "the guest's JSON lists the writable disk with its copy (copy_of, copy_bytes)");
	dk = guest_disk(g, "www");
	tap_ok(dk && json_is_true(json_object_get(dk, "readonly")) &&
	           !json_object_get(dk, "copy_bytes"),
	       "and the read-only one without a copy");
	json_decref(g);
	{
		json_t *im = stored_image(sha_www);

		tap_ok(im && json_integer_value(json_object_get(im, "guests")) == 1,
		       "GET /v1/images counts the guest as using the disk image");
		json_decref(im);
	}

	/* What the guest wrote stays: across a restart, a redeploy, a restart of shoald. */
	tap_ok(set_first_byte(copy, 0x77) == 0, "the copy is written to (as the guest would)");
	tap_ok(sd_action("disky", "restart") == 200, "the guest restarts");
	tap_ok(first_byte(copy) == 0x77, "its copy is kept across the restart");
	snprintf(other, sizeof(other), "%s/other.img", sd.dir);
	make_disk(other, 8192, 0x33);
	st_http = sd_deploy("{\"name\":\"disky\",\"image\":\"%s\",\"memory_mib\":16,\"disks\":["
	                    "{\"name\":\"www\",\"image\":\"%s\"},"
	                    "{\"name\":\"data\",\"image\":\"%s\",\"readonly\":false}]}",
	                    shoald_guest_image(&sd, "idle"), sha_www, other);
	tap_ok(st_http == 200,
	       "a redeploy names another image (a host path) for the writable disk");
	tap_ok(first_byte(copy) == 0x77 && stat(copy, &st) == 0 && st.st_size == 65536,
	       "the guest keeps its copy: a deploy does not throw the guest's data away");
	g = sd_get_json("/v1/guests/disky");
	dk = guest_disk(g, "data");
	snprintf(sha_other, sizeof(sha_other), "%s", dk ? jstr(dk, "image_sha256") : "");
	tap_ok(dk && strlen(sha_other) == 64 && strcmp(sha_other, sha_www) &&
	           !strcmp(jstr(dk, "copy_of"), sha_www),
	       "its JSON says so: image_sha256 is the new image, copy_of the one it was made from");
	json_decref(g);
	tap_ok(events_have("disk_kept"), "and a disk_kept event tells");
	{
		json_t *im = stored_image(sha_other);

		tap_ok(im && !strcmp(jstr(im, "kind"), "disk"),
		       "the host path was copied into the store as a disk");
		json_decref(im);
	}
	tap_ok(shoald_kill(&sd, SIGKILL) == 0 && shoald_restart(&sd, NULL) == 0,
	       "shoald is killed and starts again");
	tap_ok(sd_wait_field("disky", "state", "running", 5000) && first_byte(copy) == 0x77,
	       "the guest runs on, with its copy");

	http_req(sd.sock, "DELETE", "/v1/guests/disky", NULL, &a);
	tap_ok(a.status == 200, "the guest is deleted (%d)", a.status);
	http_answer_free(&a);
	{
		int ms;

		for (ms = 0; ms < 3000 && access(dir, F_OK) == 0; ms += 50)
			usleep(50000);
	}
	tap_ok(access(dir, F_OK) != 0 && errno == ENOENT,
	       "its copies go with it (state-dir/disks/disky is removed)");
	tap_ok(access(other, F_OK) == 0, "the host file it was imported from is left alone");
}

/* Turn the store back into schema version 1 (no kinds, no disks), as an older shoald left it. */
static const char to_v1[] =
    "BEGIN;"
    "CREATE TABLE images1(sha256 TEXT PRIMARY KEY, bytes INTEGER NOT NULL,"
    "  added_ns INTEGER NOT NULL, source TEXT);"
    "INSERT INTO images1 SELECT sha256, bytes, added_ns, source FROM images;"
    "DROP TABLE images; ALTER TABLE images1 RENAME TO images;"
    "CREATE TABLE deploys1(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    "  spec TEXT NOT NULL, image_sha256 TEXT NOT NULL, parent INTEGER NOT NULL DEFAULT 0,"
    "  note TEXT NOT NULL, time_ns INTEGER NOT NULL);"
    "INSERT INTO deploys1 SELECT id, name, spec, image_sha256, parent, note, time_ns FROM deploys;"
    "DROP TABLE deploys; ALTER TABLE deploys1 RENAME TO deploys;"
    "CREATE INDEX deploys_name ON deploys(name);"
    "DROP TABLE disk_copies;"
    "ALTER TABLE guests DROP COLUMN deleting;"
    "UPDATE meta SET value = 1 WHERE key = 'schema_version';"
    "COMMIT;";

static int db_int(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Run sql on the store at db_path (no shoald on it); 0, or -1 with a diagnostic. */
static int db_exec(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int r = 0;

	if (sqlite3_open(db_path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		tap_diag("sqlite: %s", msg ? msg : sqlite3_errmsg(db));
		r = -1;
	}
	sqlite3_free(msg);
	sqlite3_close(db);
	return r;
}

static void migration(void)
{
	char db_path[400], pid[32], pid2[32];
	json_t *a, *im;
	size_t i;
	int ok = 1;

	snprintf(db_path, sizeof(db_path), "%s/state/shoald.db", sd.dir);
	tap_ok(sd_deploy("{\"name\":\"plain\",\"image\":\"%s\",\"memory_mib\":16}",
	                 shoald_guest_image(&sd, "idle")) == 201,
	       "a guest without disks is deployed");
	sd_guest_field("plain", "pid", pid, sizeof(pid));
	tap_ok(shoald_kill(&sd, SIGTERM) == 0, "shoald stops (its guest runs on)");
	if (db_exec(db_path, to_v1) < 0)
		ok = 0;
	tap_ok(ok && db_int(db_path, "SELECT value FROM meta WHERE key = 'schema_version'") == 1,
	       "its state store is made a schema version 1 store");
	tap_ok(shoald_restart(&sd, NULL) == 0, "shoald starts on it");
	tap_ok(db_int(db_path, "SELECT value FROM meta WHERE key = 'schema_version'") == 4 &&
	           db_int(db_path, "SELECT COUNT(*) FROM deploys WHERE disks = '[]'") > 0 &&
	           db_int(db_path, "SELECT COUNT(*) FROM disk_copies") == 0 &&
	           db_int(db_path, "SELECT COUNT(*) FROM nics") == 0,
	       "the store is migrated to version 4 (deploys without disks, guests without NICs, "
	       "none being deleted)");
	tap_ok(sd_wait_field("plain", "state", "running", 5000) &&
	           !strcmp(sd_guest_field("plain", "pid", pid2, sizeof(pid2)), pid),
	       "the guest is still there and runs on, re-adopted (pid %s)", pid);
	a = sd_get_json("/v1/images");
	ok = json_array_size(a) > 0;
	json_array_foreach(a, i, im) if (strcmp(jstr(im, "kind"), "guest")) ok = 0;
	tap_ok(ok, "every image of the old store is a guest image (%zu)", json_array_size(a));
	json_decref(a);
}

/* Whether process pid runs (a zombie left to this test's reaping does not). */
static int proc_runs(int pid)
{
	char path[64], buf[256], *rp;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* GET path answers 404 (the guest is gone) within ms. */
static int wait_gone(const char *path, int ms)
{
	struct http_answer a;
	int st;

	for (; ms > 0; ms -= 50) {
		st = http_req(sd.sock, "GET", path, NULL, &a) < 0 ? -1 : a.status;
		http_answer_free(&a);
		if (st == 404)
			return 1;
		usleep(50000);
	}
	return 0;
}

/*
 * A DELETE marks the guest in the store before its stop; a shoald that
 * stopped before the stop was over leaves the mark, and the next one
 * finishes the deletion: a guest still running is stopped and removed
 * with its own disk copy, one already ended is removed, neither comes back.
 */
static void deletion_resumed(void)
{
	char db_path[400], copies[400], pid[32];
	struct stat stb;
	int ok = 1, p, ms;

	snprintf(db_path, sizeof(db_path), "%s/state/shoald.db", sd.dir);
	snprintf(copies, sizeof(copies), "%s/state/disks/del-live", sd.dir);
	ok = sd_deploy("{\"name\":\"del-live\",\"image\":\"%s\",\"memory_mib\":16,"
	               "\"restart\":\"always\",\"disks\":[{\"name\":\"w\",\"image\":\"%s\","
	               "\"readonly\":false}]}",
	               shoald_guest_image(&sd, "idle"), sha_www) == 201 &&
	     sd_deploy("{\"name\":\"del-down\",\"image\":\"%s\",\"restart\":\"never\"}",
	               shoald_guest_image(&sd, "hello")) == 201 &&
	     sd_wait_field("del-down", "state", "stopped", 3000);
	p = atoi(sd_guest_field("del-live", "pid", pid, sizeof(pid)));
	tap_ok(ok && p > 0 && stat(copies, &stb) == 0,
	       "a running guest with its own disk copy and an ended one are deployed (pid %d)", p);
	tap_ok(shoald_kill(&sd, SIGTERM) == 0, "shoald stops (its guest runs on)");
	if (db_exec(db_path, "UPDATE guests SET deleting = 1, desired_running = 0"
	                     " WHERE name IN ('del-live', 'del-down')") < 0)
		ok = 0;
	tap_ok(ok && db_int(db_path, "SELECT COUNT(*) FROM guests WHERE deleting = 1") == 2,
	       "both are marked as being deleted, as a DELETE leaves them before the stop is over");
	tap_ok(shoald_restart(&sd, NULL) == 0, "shoald starts on that store");
	for (ms = 0; ms < 5000 && p > 0 && proc_runs(p); ms += 50)
		usleep(50000);
	tap_ok(wait_gone("/v1/guests/del-live", 5000) && wait_gone("/v1/guests/del-down", 1000) &&
	           p > 0 && !proc_runs(p),
	       "the next shoald finishes both deletions: the running one is stopped, neither is "
	       "listed");
	tap_ok(db_int(db_path, "SELECT COUNT(*) FROM guests WHERE name LIKE 'del-%'") == 0 &&
	           stat(copies, &stb) < 0,
	       "their records and the running one's disk copy are gone from the store");
}

int main(void)
{
	sdtest_begin(&sd, NULL);
	disk_images();
	writable_copy();
	deletion_resumed();
	migration();
	return sdtest_end(&sd);
}
