#!/bin/sh
# shoald with many guests, on the platform SHOAL_TEST_PLATFORM names.
# GET /v1/guests and GET /metrics are written a piece at a time (a guest,
# a metric family): with 120 guests each answer is chunked and whole
# (every guest once; a sample of each guest in each per-guest family);
# read slowly while guests are removed and deployed, every answer is
# still valid, names each guest at most once, holds every guest that was
# there throughout, and no guest that never existed.  And a guest placed
# on a CPU with more than 32 quiet guests hastens the probes of 32 of
# them, not all.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
N=120
tmp=$(mktemp -d /tmp/shoal-many-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
IDLE=$GUESTS/idle.$PLATFORM

# slow_get PATH OUT RATE: GET read at RATE bytes a second; the raw answer (head and body) in OUT.
slow_get() {
	python3 - "$SOCK" "$1" "$2" "$3" <<'PY'
import socket, sys, time
sock, path, out, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(30)
s.connect(sock)
s.sendall(("GET %s HTTP/1.1\r\nHost: shoald\r\nConnection: close\r\n\r\n" % path).encode())
data = b""
t0 = time.time()
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
    if len(data) > 8 << 20 or time.time() - t0 > 60:
        break  # an answer that does not end is cut here, and fails its check
    if rate:
        time.sleep(max(0.0, len(data) / rate - (time.time() - t0)))
open(out, "wb").write(data)
PY
}

# check_guests RAW ALWAYS-FILE EVER-FILE: the answer is a chunked 200 with a JSON array naming
# each guest once, every name of ALWAYS-FILE and none outside EVER-FILE.
check_guests() {
	python3 - "$@" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
always = set(open(sys.argv[2]).read().split())
ever = set(open(sys.argv[3]).read().split())
head, _, body = raw.partition(b"\r\n\r\n")
lines = head.decode().split("\r\n")
if not lines[0].startswith("HTTP/1.1 200"):
    sys.exit("status: " + lines[0])
if not any(l.lower() == "transfer-encoding: chunked" for l in lines):
    sys.exit("not chunked: " + " | ".join(lines))
text = b""
while True:
    size, _, rest = body.partition(b"\r\n")
    n = int(size.split(b";")[0], 16)
    if n == 0:
        break
    text += rest[:n]
    body = rest[n + 2:]
names = [g["name"] for g in json.loads(text)]
dup = {n for n in names if names.count(n) > 1}
if dup:
    sys.exit("named twice: %s" % sorted(dup))
if always - set(names):
    sys.exit("missing: %s" % sorted(always - set(names))[:5])
if set(names) - ever:
    sys.exit("never deployed: %s" % sorted(set(names) - ever)[:5])
import hashlib
print(len(names), len(text), hashlib.sha1(" ".join(sorted(names)).encode()).hexdigest()[:8])
PY
}

tap_check "shoald starts" shoald_start --max-guests=400 --latency-vcpus-per-cpu=400 --pool-size=4
# api_many METHOD PATH-FORMAT FIRST LAST [STEP [BODY-FORMAT]]: one request per number, on one
# connection; %d in the formats is the number; PACE seconds between them (0).
api_many() {
	py - "$SOCK" "$@" <<'PY'
import os, sys, time
from shoalapi import UnixConnection
method, path, first, last = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
step = int(sys.argv[6]) if len(sys.argv) > 6 else 1
body = sys.argv[7] if len(sys.argv) > 7 else None
c = UnixConnection(sys.argv[1])
for i in range(first, last, step):
    b = body.replace("%d", str(i)) if body else None
    c.request(method, path.replace("%d", str(i)), body=b,
              headers={"Content-Type": "application/json"} if b else {})
    r = c.getresponse()
    r.read()
    if r.status >= 300:
        sys.exit("%s %s: %d" % (method, path.replace("%d", str(i)), r.status))
    time.sleep(float(os.environ.get("PACE", "0")))
PY
}
SPEC='{"name":"%s%%d","image":"'$IDLE'","memory_mib":16,"slo_us":50000}'
api_many POST "/v1/guests?wait=0" 0 $N 1 "$(printf "$SPEC" p)"
seq 0 $((N - 1)) | sed 's/^/p/' >"$tmp/ever"
for t in $(seq 600); do
	n=$("$CTL" --socket "$SOCK" ls 2>/dev/null | grep -c ' running ')
	[ "$n" -ge $N ] && break
	sleep 0.1
done
tap_check "$N guests run ($n)" test "$n" -ge $N

cp "$tmp/ever" "$tmp/always"
slow_get /v1/guests "$tmp/g0" 0
out=$(check_guests "$tmp/g0" "$tmp/always" "$tmp/ever" 2>&1)
tap_check "GET /v1/guests: chunked, every guest once ($out)" sh -c "[ '${out%% *}' = $N ]"
slow_get /metrics "$tmp/m0" 0
tap_check "GET /metrics: chunked, a sample of each guest in each per-guest family" python3 - "$tmp/m0" $N <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
head, _, body = raw.partition(b"\r\n\r\n")
assert b"transfer-encoding: chunked" in head.lower(), head
text = b""
while True:
    size, _, rest = body.partition(b"\r\n")
    n = int(size, 16)
    if n == 0:
        break
    text += rest[:n]
    body = rest[n + 2:]
t = text.decode()
open(sys.argv[1] + ".txt", "w").write(t)
for fam in ("shoal_guest_hung", "shoal_guest_storms_total", "shoal_guest_probe_rtt_seconds_count"):
    got = sum(1 for l in t.splitlines() if l.startswith(fam + "{"))
    assert got == int(sys.argv[2]), (fam, got)
assert t.endswith("\n") and "# TYPE shoal_build_info gauge" in t.splitlines()[1] + t.splitlines()[0]
PY

# Slow readers while half the guests go and new ones come: the guests never touched are
# in every answer, the removed and new ones at most once each.
: >"$tmp/always"
i=0
while [ $i -lt $N ]; do
	[ $((i % 2)) -eq 1 ] && echo "p$i" >>"$tmp/always"
	i=$((i + 1))
done
seq 0 $((N / 2 - 1)) | sed 's/^/q/' >>"$tmp/ever"
(
	export PACE=0.05 # spread over the reads
	api_many DELETE "/v1/guests/p%d" 0 $N 2
	api_many POST "/v1/guests?wait=0" 0 $((N / 2)) 1 "$(printf "$SPEC" q)"
) &
churn=$!
bad=0
counts=""
for r in 1 2 3 4; do
	slow_get /v1/guests "$tmp/g$r" 40000
	out=$(check_guests "$tmp/g$r" "$tmp/always" "$tmp/ever" 2>&1) || {
		bad=$((bad + 1))
		tap_diag "read $r: $out"
	}
	counts="$counts ${out##* }"
	slow_get /metrics "$tmp/m$r" 200000
	python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(not d.endswith(b"\r\n0\r\n\r\n"))' "$tmp/m$r" || {
		bad=$((bad + 1))
		tap_diag "metrics read $r did not end its chunks: $(tail -c 100 "$tmp/m$r")"
	}
done
wait $churn
churned=$?
tap_check "the removals and deploys beside them went through" test $churned -eq 0
tap_check "4 slow reads of each beside them: every answer whole and valid (their sets:$counts)" test $bad -eq 0
# The reads overlapped the churn when they saw different sets.
tap_check "... and they saw the guests change under them" sh -c "[ \$(echo '$counts' | tr ' ' '\n' | sort -u | grep -c .) -gt 1 ]"
api GET /v1/host >/dev/null
tap_check "shoald answers after them ($(status))" test "$(status)" = 200

# A dense CPU: once every guest is quiet (10 s after its start, its round trips far under
# its 50 ms SLO), one more guest placed among them hastens at most 32 of its neighbours.
sleep 11
printf '{"name":"z","image":"%s","memory_mib":16,"slo_us":50000}' "$IDLE" >"$tmp/z.json"
api POST "/v1/guests?wait=1" "$tmp/z.json" >/dev/null
py - "$SOCK" >"$tmp/hasten" <<'PY'
import json, sys
from shoalapi import UnixConnection
c = UnixConnection(sys.argv[1])
def get(path):
    c.request("GET", path)
    return json.loads(c.getresponse().read())
cpu = {g["name"]: g.get("cpu") for g in get("/v1/placement")["guests"]}
beside = [n for n, k in cpu.items() if k == cpu["z"] and n != "z"]
hastened = sum(1 for n in beside
               if "guest z was placed" in ((get("/v1/guests/%s/latency" % n).get("probe_fast") or {}).get("reason") or ""))
print(len(beside), hastened)
PY
read beside hastened <"$tmp/hasten"
tap_check "a guest placed among $beside on its CPU hastens 1 to 32 of them ($hastened)" \
	sh -c "[ '$beside' -gt 32 ] && [ '$hastened' -ge 1 ] && [ '$hastened' -le 32 ]"
tap_done
