#!/bin/sh
# The state store under faults, with real guests (the platform
# SHOAL_TEST_PLATFORM names).  A store cut short, one with pages of
# garbage in the middle, one that is not SQLite at all, one of a newer
# schema and an empty file: shoald refuses each at start with the file,
# what is wrong and the recovery steps, and touches neither the store nor
# the running guests; the backups it keeps (shoald.db.1 the newest,
# rotated, at most state-backups) restore by those steps, and the guests
# are there again, re-adopted; a guest deployed after the backup is
# stopped by the restore, and no instance id is handed out twice; a log
# (-wal) damaged in the middle, which SQLite would drop silently with the
# commits after it, is refused too.  Then
# the state directory on a small file system of the test's own (tmpfs,
# size=8m) filled to the last byte: deploys and uploads fail with 507 naming the file system and the
# path, running guests keep running and answering probes (a console
# writing into the full disk too), shoald warns once per console rather
# than per write, the periodic backups fail keeping the ones there, and
# nothing stored is lost; once there is room again, the same deploy works
# without a restart, and the backups are made again.
# The full disk is a tmpfs the test mounts: in a mount namespace of the
# test's own where one can be made, so that the mount goes with the test
# (and the guests it started) however the test ends.
if [ -z "${SHOAL_STATEF_NS:-}" ] && unshare -m --propagation private true 2>/dev/null; then
	SHOAL_STATEF_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
. "$top_srcdir/tests/tap.sh"
tap_require_platform
command -v python3 >/dev/null || tap_skip_all "python3 is not installed"

tmp=$(mktemp -d /tmp/shoal-statef-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
fs=
cleanup() {
	shoald_stop_all
	[ -n "$fs" ] && umount "$fs" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

DB=$tmp/state/shoald.db
field() { api GET "/v1/guests/$1" | jq_ "$2"; }
deploy() { # NAME IMAGE [MORE-SPEC-FIELDS]: POST it, waiting for it to run
	printf '{"name": "%s", "image": "%s", "memory_mib": 16%s}\n' "$1" "$2" "${3:+, $3}" >"$tmp/$1.json"
	api POST "/v1/guests" "$tmp/$1.json" >/dev/null
}
body_has() { # TEXT: the last answer's body has it
	grep -qF -- "$1" "$tmp/body" && return 0
	tap_diag "the answer (HTTP $(status)) lacks \"$1\": $(head -c 800 "$tmp/body")"
	return 1
}
log_has() { # FILE TEXT
	grep -qF -- "$2" "$1" && return 0
	tap_diag "$1 lacks \"$2\"; it ends:" "$(tail -c 2000 "$1")"
	return 1
}
# refused NAME: shoald, started on the test's directories, stops at once
# (not killed by the timeout) with its message in $tmp/NAME.err.
refused() {
	timeout 30 "$SHOALD" --config=/dev/null --state-dir="$tmp/state" --run-dir="$tmp/run" \
		--vmm="$tmp/shoal-vmm" --pool-size=1 >"$tmp/$1.err" 2>&1 </dev/null
	got=$?
	[ "$got" -ne 0 ] && [ "$got" -ne 124 ] && return 0
	tap_diag "shoald exited $got" "$(tail -c 1500 "$tmp/$1.err")"
	return 1
}
# PID runs: not gone, nor a zombie.
runs() { [ -e "/proc/$1" ] && ! awk '{ exit $3 == "Z" ? 0 : 1 }' "/proc/$1/stat" 2>/dev/null; }
db_check() { # FILE: PRAGMA quick_check says ok
	python3 - "$1" <<'PY'
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute("PRAGMA quick_check").fetchall()
sys.exit(0 if r == [("ok",)] else 1)
PY
}

# ---- backups at start, rotated ----
if ! shoald_start --state-backups=2; then
	tap_not_ok "shoald starts"
	tap_diag "$(tail -20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
tap_check "a new store is backed up once it is open: shoald.db.1" test -s "$DB.1"
deploy one "$GUESTS/idle.$PLATFORM"
deploy two "$GUESTS/idle.$PLATFORM" '"args": ["two"]'
tap_check "two guests run" test "$(field one state) $(field two state)" = "running running"
pid1=$(field one pid)
pid2=$(field two pid)
kill -TERM "$shoald_pid" && wait "$shoald_pid"
shoald_pid=
shoald_start --state-backups=2 && kill -TERM "$shoald_pid" && wait "$shoald_pid"
shoald_pid=
shoald_start --state-backups=2 && kill -TERM "$shoald_pid" && wait "$shoald_pid"
shoald_pid=
two_kept() { [ -s "$DB.1" ] && [ -s "$DB.2" ] && [ ! -e "$DB.3" ] && [ ! -e "$DB.tmp" ]; }
tap_check "after three starts, state-backups=2 keeps two: shoald.db.1 and .2, no .3" two_kept
tap_check "each start logged its backup" test "$(grep -c "state store: backed up to $DB.1" "$tmp/shoald.log")" -eq 3
tap_check "a backup is a whole store (quick_check)" db_check "$DB.1"
tap_check "a backup is one file, not a WAL store (journal_mode delete)" \
	python3 -c "import sqlite3, sys; sys.exit(sqlite3.connect('$DB.1').execute('PRAGMA journal_mode').fetchone()[0] != 'delete')"
both_run() { runs "$pid1" && runs "$pid2"; }
tap_check "the guests kept running through the restarts" both_run
cp "$DB" "$tmp/good.db"
pages=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/good.db').execute('PRAGMA page_count').fetchone()[0])")
tap_diag "the store: $pages pages"

# ---- each damage refused, with the recovery steps ----
# damaged NAME DESCRIPTION WHAT-IT-SAYS: the store as made by the caller
# in $DB is refused, saying so, and stays as it was.
damaged() {
	sum=$(sha256sum "$DB" | cut -d' ' -f1)
	tap_check "$2: shoald refuses to start" refused "$1"
	tap_check "$2: it names the file and what is wrong" log_has "$tmp/$1.err" "the state store $DB $3"
	tap_check "$2: it says to keep the store aside" log_has "$tmp/$1.err" "mv $DB $DB."
	tap_check "$2: and to restore the newest backup, with its age" \
		log_has "$tmp/$1.err" "cp $DB.1 $DB (made "
	tap_check "$2: naming the older one too" log_has "$tmp/$1.err" "older ones: $DB.2 (made"
	tap_check "$2: or to start with no state, saying what that does to the guests" \
		log_has "$tmp/$1.err" "stops every one still running"
	tap_check "$2: the store is left as it was" test "$(sha256sum "$DB" | cut -d' ' -f1)" = "$sum"
	tap_check "$2: the guests still run" both_run
}

cp "$tmp/good.db" "$DB"
truncate -s $(((pages / 2) * 4096)) "$DB"
damaged cut "a store cut short" "is cut short: $(((pages / 2) * 4096)) bytes, where its header counts $pages pages"

cp "$tmp/good.db" "$DB"
head -c 12288 /dev/urandom | dd of="$DB" bs=4096 seek=3 conv=notrunc 2>/dev/null
damaged garbage "a store with three pages of garbage in the middle" "is damaged (quick_check: "

printf 'this is not a database\n' >"$DB"
damaged notsqlite "a file that is not SQLite" "is not an SQLite database (23 bytes, without SQLite's header)"

: >"$DB"
damaged empty "an empty file" "is empty (0 bytes)"

cp "$tmp/good.db" "$DB"
python3 -c "import sqlite3; c = sqlite3.connect('$DB'); c.execute(\"UPDATE meta SET value = 9 WHERE key = 'schema_version'\"); c.commit()"
tap_check "a newer schema's store is refused" refused newer
tap_check "with its version and this shoald's" log_has "$tmp/newer.err" \
	"the state store $DB has schema version 9, written by a newer shoald; this one reads version 4 and older"
tap_check "with a backup from before the upgrade to go back to" \
	log_has "$tmp/newer.err" "restore the newest backup shoald kept from before the upgrade: cp $DB.1 $DB"
tap_check "and the store is not migrated or touched: still version 9" \
	test "$(python3 -c "import sqlite3; print(sqlite3.connect('$DB').execute(\"SELECT value FROM meta WHERE key = 'schema_version'\").fetchone()[0])")" = 9

# ---- the recovery, by the steps the message gave ----
printf 'garbage' >"$DB"
refused last >/dev/null
steps=$(grep -o "mv $DB $DB.damaged" "$tmp/last.err" | head -1)
restore=$(grep -o "cp $DB.1 $DB" "$tmp/last.err" | head -1)
tap_check "the message's steps are there to follow" test -n "$steps" -a -n "$restore"
$steps && rm -f "$DB-wal" "$DB-shm" && $restore
tap_check "shoald starts on the restored backup" shoald_start
guests() { api GET /v1/guests | python3 -c 'import json, sys; print(" ".join(sorted(g["name"] + ":" + g["state"] for g in json.load(sys.stdin))))'; }
tap_check "both guests are known again, running" test "$(guests)" = "one:running two:running"
tap_check "the running guests were re-adopted, not started again (same pids)" \
	test "$(field one pid) $(field two pid)" = "$pid1 $pid2"
tap_check "the damaged store was kept aside" test -s "$DB.damaged"

# A guest deployed after the backup this start made: a restore of that
# backup does not know it, stops it, and hands out no instance twice.
deploy three "$GUESTS/idle.$PLATFORM" '"args": ["three"]'
pid3=$(field three pid)
inst3=$(field three instance)
kill -TERM "$shoald_pid" && wait "$shoald_pid"
shoald_pid=
mv "$DB" "$DB.damaged2" && rm -f "$DB-wal" "$DB-shm" && cp "$DB.1" "$DB"
tap_check "shoald starts on a backup from before a deploy" shoald_start
gone() {
	for i in $(seq 100); do
		runs "$1" || return 0
		sleep 0.1
	done
	return 1
}
tap_check "the guest the backup does not know is stopped, saying so" \
	sh -c "grep -q 'found a guest three (instance $inst3, pid $pid3) this daemon does not know: stopping it' '$tmp/shoald.log'"
tap_check "its tender is gone" gone "$pid3"
tap_check "the guests the backup knows run on, re-adopted" \
	test "$(guests) $(field one pid) $(field two pid)" = "one:running two:running $pid1 $pid2"
deploy four "$GUESTS/idle.$PLATFORM" '"args": ["four"]'
tap_check "a new guest gets an instance above the stopped one's, not one handed out again" \
	test "$(field four instance)" -gt "$inst3"

# A log (-wal) damaged in the middle: SQLite alone would drop the commits
# after the damage without a word.
deploy five "$GUESTS/idle.$PLATFORM" '"args": ["five"]'
kill -9 "$shoald_pid" && wait "$shoald_pid" 2>/dev/null
shoald_pid=
tap_check "a shoald killed leaves the store's log" test -s "$DB-wal"
head -c 200 /dev/urandom | dd of="$DB-wal" bs=1 seek=156 conv=notrunc 2>/dev/null
sum=$(sha256sum "$DB-wal" | cut -d' ' -f1)
tap_check "a log damaged in its first frame: shoald refuses to start" refused wal
tap_check "naming the log, the frame and the commits after it" \
	sh -c "grep -q 'the state store $DB has its log $DB-wal damaged at frame 1: SQLite would drop that frame and the [1-9][0-9]* commits after it' '$tmp/wal.err'"
tap_check "saying how to go on without the log" log_has "$tmp/wal.err" "move the log aside: mv $DB-wal $DB-wal.damaged"
tap_check "or to restore a backup instead" log_has "$tmp/wal.err" "To recover from a backup instead"
tap_check "the log is left as it was" test "$(sha256sum "$DB-wal" | cut -d' ' -f1)" = "$sum"
mv "$DB-wal" "$DB-wal.damaged" && mv "$DB-shm" "$DB-shm.damaged"
tap_check "with the log aside, shoald starts" shoald_start
shoald_stop_all

# ---- a full disk ----
fs=$tmp/fs
mkdir "$fs"
if ! mount -t tmpfs -o size=8m,mode=0700 shoal-test "$fs" 2>"$tmp/mount.err"; then
	fs=
	tap_skip "a full disk" "cannot mount a tmpfs for the state directory: $(cat "$tmp/mount.err")"
	tap_done
	exit 0
fi
SD=$fs/state
# A backup every second: those made into the full disk fail, and the ones there are kept.
if ! shoald_start --state-dir="$SD" --state-backup-interval-s=1; then
	tap_not_ok "shoald starts with its state on an 8 MiB tmpfs"
	tap_diag "$(tail -20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
deploy calm "$GUESTS/idle.$PLATFORM"
deploy chatty "$GUESTS/flood.$PLATFORM" '"args": ["200"]'
tap_check "a quiet guest and one that floods its console run" \
	test "$(field calm state) $(field chatty state)" = "running running"
sha=$(sha256sum "$GUESTS/idle.$PLATFORM" | cut -d' ' -f1)
printf '{"name": "bysha", "image": "%s", "memory_mib": 16}\n' "$sha" >"$tmp/bysha.json"
pidc=$(field calm pid)
pidf=$(field chatty pid)
dd if=/dev/zero of="$SD/filler" bs=64k >/dev/null 2>&1
tap_check "the file system is full" test "$(stat -f -c %a "$fs")" -eq 0

printf '{"name": "new", "image": "%s", "memory_mib": 16, "args": ["new"]}\n' "$GUESTS/idle.$PLATFORM" >"$tmp/new.json"
api POST /v1/guests "$tmp/new.json" >/dev/null
tap_check "a deploy from a host path: 507" test "$(status)" = 507
tap_check "naming the full file system and the path" \
	body_has "\"code\":\"no_space\",\"message\":\"image: no space left for $SD/images/.incoming-"
tap_check "its mount point and the space left there" body_has "mounted on $fs, has 0 of 8388608 bytes free"
api POST /v1/images "$GUESTS/hello.$PLATFORM" application/octet-stream >/dev/null
tap_check "an upload: 507" test "$(status)" = 507
tap_check "naming the file system" body_has "mounted on $fs, has 0 of"
api POST /v1/guests "$tmp/bysha.json" >/dev/null
tap_check "a deploy of a stored image, its record not written to the store: 507" test "$(status)" = 507
tap_check "naming the store and its file system" body_has "no space left for $SD/shoald.db: its file system, mounted on $fs"
st_of() { api GET "/v1/guests/$1" >/dev/null; status; }
tap_check "the failed deploys left no guest behind" test "$(st_of new) $(st_of bysha)" = "404 404"
# The probe window (10 s) wholly after the disk filled.
sleep 11
still_run() { [ "$(field calm state) $(field chatty state)" = "running running" ] && runs "$pidc" && runs "$pidf"; }
tap_check "the running guests keep running (the same tenders)" still_run
api GET /v1/guests/calm/latency >/dev/null
tap_check "and answer their probes: samples over the last 10 s, none missed" \
	python3 -c "import json,sys; w = json.load(open('$tmp/body'))['windows']['10s']; print('# %s' % w); sys.exit(not (w['samples'] > 0 and w['misses'] == 0))"
tap_check "the console written into the full disk is warned of once, not per write" \
	test "$(grep -c "console file $SD/console/chatty.log: its output is kept in memory only" "$tmp/shoald.log")" -eq 1
console_tail() { api GET /v1/guests/chatty/console | tail -c 200 | grep -q xxxx; }
tap_check "and is still served from memory" console_tail
host_ok() { api GET /v1/host >/dev/null && [ "$(status)" = 200 ]; }
tap_check "shoald answers (host)" host_ok
tap_check "the periodic backups into the full disk failed, saying so" \
	log_has "$tmp/shoald.log" "state store: the backup $SD/shoald.db.tmp failed: database or disk is full; the backups there are kept"
tap_check "leaving no temporary file" test ! -e "$SD/shoald.db.tmp"
tap_check "and the last backup whole (quick_check)" db_check "$SD/shoald.db.1"
backups=$(grep -c "state store: backed up to $SD/shoald.db.1" "$tmp/shoald.log")

# ---- room again ----
rm -f "$SD/filler"
api POST /v1/guests "$tmp/new.json" >/dev/null
tap_check "with room again, the same deploy works without a restart: 201" test "$(status)" = 201
api POST /v1/guests "$tmp/bysha.json" >/dev/null
tap_check "and the one of a stored image: 201" test "$(status)" = 201
written_again() {
	for i in $(seq 50); do
		grep -q "console file $SD/console/chatty.log: written again, [0-9]* bytes missed" "$tmp/shoald.log" && return 0
		sleep 0.1
	done
	return 1
}
tap_check "the console file is written again, the bytes it missed counted" written_again
backed_up_again() {
	for i in $(seq 50); do
		[ "$(grep -c "state store: backed up to $SD/shoald.db.1" "$tmp/shoald.log")" -gt "$backups" ] && return 0
		sleep 0.1
	done
	return 1
}
tap_check "and the store is backed up again" backed_up_again
images_whole() {
	for f in "$SD"/images/*; do
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "${f##*/}" ] || return 1
	done
}
tap_check "the stored images are whole (each file's sha256 its name)" images_whole
kill -TERM "$shoald_pid" && wait "$shoald_pid"
shoald_pid=
tap_check "the store is whole (quick_check)" db_check "$SD/shoald.db"
tap_check "shoald starts again on it" shoald_start --state-dir="$SD"
tap_check "with every guest, running: calm, chatty, new and bysha" \
	test "$(guests)" = "bysha:running calm:running chatty:running new:running"
shoald_stop_all
tap_done
