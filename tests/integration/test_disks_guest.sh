#!/bin/sh
# Disks through shoald, end to end on the platform SHOAL_TEST_PLATFORM
# names (doc/testing.md): a FAT image uploaded as a disk
# (POST /v1/images?kind=disk) and one named by its host path, deployed
# read-only with the fatcat guest, which walks it through its block
# device and prints every file's size and hash (compared with the host's);
# a writable disk that is the guest's own copy, kept across a redeploy,
# its image untouched, removed with the guest; and a guest with disks that
# lives through a kill -9 of shoald (on KVM; on proc the next shoald ends
# its tender and says why).
. "$top_srcdir/tests/tap.sh"
tap_require_platform
for t in mkfs.fat mcopy python3; do
	command -v $t >/dev/null 2>&1 && continue
	"$top_srcdir/scripts/deps.sh" dosfstools mtools >/dev/null 2>&1
	command -v $t >/dev/null 2>&1 || tap_skip_all "$t is not installed (Debian: dosfstools, mtools, python3)"
done

tmp=$(mktemp -d /tmp/shoal-disks-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8

fnv_tree() { python3 "$top_srcdir/tests/lib/fnv.py" -t "$1"; } # DIR: what fatcat prints for it

site=$tmp/site
mkdir -p "$site/papers/2024" "$site/media"
head -c 3000 /dev/urandom >"$site/index.html"
head -c 20000 /dev/urandom >"$site/papers/2024/A long name.pdf"
printf 'hi\n' >"$site/media/café.txt"
mkfs.fat -C -F 16 "$tmp/site.img" 20480 >/dev/null && mcopy -s -i "$tmp/site.img" "$site"/* ::/
fnv_tree "$site" >"$tmp/want"
truncate -s 1M "$tmp/zero.img"

tap_check "shoald starts" shoald_start

api POST "/v1/images?kind=disk" "$tmp/site.img" application/octet-stream >/dev/null
sha=$(jq_ sha256 <"$tmp/body")
tap_check "a FAT image is uploaded as a disk (HTTP $(status))" sh -c "[ '$(status)' = 201 ] && [ -n '$sha' ]"
api GET /v1/images | python3 -c 'import json,sys
sys.exit(0 if any(i.get("sha256") == sys.argv[1] and i.get("kind") == "disk" for i in json.load(sys.stdin)) else 1)' "$sha" &&
	tap_ok "GET /v1/images lists it with kind disk" || tap_not_ok "GET /v1/images lists it with kind disk"

cat >"$tmp/reader.json" <<EOF
{"name": "reader", "image": "$GUESTS/fatcat.$PLATFORM", "memory_mib": 16, "restart": "never",
 "args": ["tree", "www"], "disks": [{"name": "www", "image": "$sha", "readonly": true}]}
EOF
api POST "/v1/guests?wait=0" "$tmp/reader.json" >/dev/null
tap_check "a guest with a read-only disk is deployed (HTTP $(status))" sh -c "[ '$(status)' = 201 ] || [ '$(status)' = 202 ]"
tap_check "it walks its disk" console_has reader "fatcat: ok FAT16"
api GET /v1/guests/reader/console | sed -n 's/^fatcat: \(file\|dir\) /\1 /p' | sort >"$tmp/got"
tap_check "every file's size and bytes as on the host" cmp -s "$tmp/want" "$tmp/got"
tap_check "its JSON lists the disk" test "$(api GET /v1/guests/reader | jq_ disks.0.name)" = www

sed -e 's/"reader"/"bypath"/' -e "s|\"$sha\"|\"$tmp/site.img\"|" "$tmp/reader.json" >"$tmp/bypath.json"
api POST "/v1/guests?wait=0" "$tmp/bypath.json" >/dev/null
tap_check "a disk named by its host path is copied in and served (HTTP $(status))" console_has bypath "fatcat: ok FAT16"

api POST "/v1/images?kind=disk" "$tmp/zero.img" application/octet-stream >/dev/null
zsha=$(jq_ sha256 <"$tmp/body")
cat >"$tmp/writer.json" <<EOF
{"name": "writer", "image": "$GUESTS/blkcheck.$PLATFORM", "memory_mib": 16, "restart": "never",
 "args": ["write", "data", "8", "64", "3"], "disks": [{"name": "data", "image": "$zsha", "readonly": false}]}
EOF
api POST "/v1/guests?wait=0" "$tmp/writer.json" >/dev/null
tap_check "a guest writes its writable disk" console_has writer "blkcheck: ok write data 64 sectors at 8"
sed 's/"write"/"verify"/' "$tmp/writer.json" >"$tmp/verify.json"
tap_check "and ends by itself (stopped)" state_is writer stopped
api POST "/v1/guests?wait=0" "$tmp/verify.json" >/dev/null
tap_check "a redeploy of the guest finds what it wrote (its own copy is kept)" console_has writer "blkcheck: ok verify data 64 sectors at 8"
copies=$(find "$tmp/state" -path '*writer*' -name 'data*' -type f | head -1)
tap_check "the copy is under the state directory (${copies#"$tmp"/})" test -n "$copies"
tap_check "the uploaded image itself is untouched (still zeros)" sh -c \
	"cmp -s '$tmp/zero.img' '$tmp/state/images/$zsha'"
api DELETE /v1/guests/writer >/dev/null
for i in $(seq 50); do [ -e "$copies" ] || break; sleep 0.1; done
tap_check "deleting the guest removes its copy" test ! -e "$copies"

cat >"$tmp/idle.json" <<EOF
{"name": "holder", "image": "$GUESTS/blkcheck.$PLATFORM", "memory_mib": 16, "restart": "never",
 "args": ["idle"], "disks": [{"name": "www", "image": "$sha", "readonly": true}]}
EOF
api POST "/v1/guests?wait=0" "$tmp/idle.json" >/dev/null
console_has holder "idle with 1 disks open" >/dev/null
pid=$(api GET /v1/guests/holder | jq_ pid)
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
tap_check "after kill -9, a new shoald starts" shoald_start
tap_check "and adopts the guest with its disk, same tender (pid $pid)" test \
	"$(api GET /v1/guests/holder | jq_ state) $(api GET /v1/guests/holder | jq_ pid)" = "running $pid"
tap_done
