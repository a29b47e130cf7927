#!/bin/sh
# A static site through shoald, end to end on KVM: one command (shoalctl
# site deploy) turns a directory into FAT images split across two disks,
# uploads them and deploys the site guest with a NIC on a bridge of
# shoald's allow-list, in a network namespace of the test's own.  From
# the namespace every file comes back with its exact bytes and a missing
# one is a 404; then a fixed-count load (ab) runs while shoald is killed
# with SIGKILL half-way: every request is still answered (the data path
# does not pass through shoald), and the next shoald finds the guest, its
# tap and its disks again.  Files are small: ring-0 guest code may be
# emulated here.
. "$top_srcdir/tests/tap.sh"
[ -f "$GUESTS/site.kvm" ] ||
	tap_skip_all "the site guest was not built (it needs lwIP: scripts/lwip.sh fetches Debian's source into the build directory)"
tap_require_kvm
for t in python3 ip mkfs.fat mcopy; do
	command -v $t >/dev/null 2>&1 || tap_skip_all "$t is not installed (Debian: python3, iproute2, dosfstools, mtools)"
done
[ -c /dev/net/tun ] || tap_skip_all "/dev/net/tun does not exist"
. "$top_srcdir/tests/lib/netns.sh"
netns_new shoal-site || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d /tmp/shoal-site-XXXXXX)
SHOALD_NETNS=$ns
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
export SHOAL_GUESTS=$GUESTS MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8
netns_bridge br0 10.93.0.1/24

site=$tmp/site
mkdir -p "$site/papers/2026" "$site/css"
printf '<!doctype html><h1>shoal</h1>\n' >"$site/index.html"
printf 'body { margin: 0 }\n' >"$site/css/site.css"
head -c 1024 /dev/urandom >"$site/one-k.bin"
for i in 1 2 3; do head -c 40000 /dev/urandom >"$site/papers/2026/paper $i.pdf"; done

# fetch ADDR: every file of $site over HTTP from the namespace, bytes compared; and a 404.
fetch_all() {
	inns python3 - "$1" "$site" <<'PY'
import http.client, os, sys, urllib.parse
addr, root = sys.argv[1], sys.argv[2]
c = http.client.HTTPConnection(addr, 80, timeout=10)
bad = []
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        url = "/" + urllib.parse.quote(os.path.relpath(p, root))
        c.request("GET", url)
        r = c.getresponse()
        body = r.read()
        if r.status != 200 or body != open(p, "rb").read():
            bad.append("%s: %d, %d bytes" % (url, r.status, len(body)))
c.request("GET", "/no/such/file.html")
r = c.getresponse()
r.read()
if r.status != 404:
    bad.append("missing file: %d" % r.status)
if bad:
    print("# " + "; ".join(bad))
sys.exit(1 if bad else 0)
PY
}

tap_check "shoald starts in the namespace with br0 on the allow-list" shoald_start --bridge="br0 10.93.0.0/24"
"$CTL" --socket "$SOCK" site deploy web "$site" --net lan=br0 --disk-size 64K >"$tmp/deploy.out" 2>&1
rc=$?
tap_check "shoalctl site deploy builds, uploads and deploys the site in one command (rc $rc)" \
	sh -c "[ $rc = 0 ]"
ndisks=$(api GET /v1/guests/web | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["disks"]))')
tap_check "the site is split across disks ($ndisks)" sh -c "[ '${ndisks:-0}' -ge 2 ]"
addr=$(api GET /v1/guests/web | jq_ net.0.ipv4)
addr=${addr%/*}
tap_check "the site guest is ready on its NIC ($addr)" console_has web "site: ready"
tap_check "every file comes back with its exact bytes, and a missing one is a 404" fetch_all "$addr"

if command -v ab >/dev/null 2>&1; then
	inns ab -q -n 300 -c 4 -k -s 20 "http://$addr/one-k.bin" >"$tmp/ab.out" 2>&1 &
	ab_pid=$!
	sleep 1
	kill -9 "$shoald_pid"
	wait "$shoald_pid" 2>/dev/null
	shoald_pid=
	wait "$ab_pid"
	ab_rc=$?
	complete=$(sed -n 's/^Complete requests: *//p' "$tmp/ab.out")
	failed=$(sed -n 's/^Failed requests: *//p' "$tmp/ab.out")
	non2xx=$(sed -n 's/^Non-2xx responses: *//p' "$tmp/ab.out")
	tap_check "300 requests under load with shoald killed half-way: all answered (complete ${complete:-?}, failed ${failed:-?}, non-2xx ${non2xx:-0})" \
		sh -c "[ $ab_rc = 0 ] && [ '$complete' = 300 ] && [ '$failed' = 0 ] && [ -z '$non2xx' ]"
	tap_diag "ab: $(grep -E '^(Requests per second|Time per request)' "$tmp/ab.out" | head -2 | tr -s ' \n' ' ')"
else
	tap_skip "a load with shoald killed half-way" "ab is not installed (Debian: apache2-utils)"
	kill -9 "$shoald_pid"
	wait "$shoald_pid" 2>/dev/null
	shoald_pid=
fi
tap_check "the next shoald starts" shoald_start --bridge="br0 10.93.0.0/24"
tap_check "it finds the site's tap again" \
	grep -q "guest web: NIC lan found again: tap sh-web.0 on bridge br0" "$tmp/shoald.log"
tap_check "and the guest runs on, with its disks" \
	sh -c "[ '$(api GET /v1/guests/web | jq_ state)' = running ] && [ '$(api GET /v1/guests/web | jq_ disks.1.name)' = site1 ]"
tap_check "the site still serves every file" fetch_all "$addr"
api GET /v1/guests/web >/dev/null
reads=$(jq_ disks.0.counters.reads <"$tmp/body")
tap_check "the re-adopted guest's disk counters come from its tender ($reads reads of site0)" \
	sh -c "[ '${reads:-0}' -gt 0 ]"

tap_done
