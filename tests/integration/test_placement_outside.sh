#!/bin/sh
# Placement against work that is no guest's, with real guests through the
# API: a CPU-bound process of the host's (not shoald's), pinned to the
# latency CPU that holds the most latency guests, shows as that CPU's
# other_use in /v1/placement and shoal_cpu_other_use in /metrics; the
# guests there that go over their SLO are moved to other latency CPUs
# (the latency set grown if it must be) with a reason that names the
# work; once it ends the CPU's other_use falls back, and no guest is
# moved back and forth.  Each delay is printed; the bounds are generous
# (timings here are noisy), the figures are the point.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
tap_timing_lock
command -v python3 >/dev/null || tap_skip_all "python3 is not installed"
command -v taskset >/dev/null || tap_skip_all "taskset (util-linux) is not installed"
[ "$(nproc)" -ge 2 ] || tap_skip_all "placement needs 2 CPUs at least (this host has $(nproc))"
tmp=$(mktemp -d /tmp/shoal-outside-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
hog=
trap '[ -n "$hog" ] && kill "$hog" 2>/dev/null; shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
N=6
SLO=2000

# place: /v1/placement into $tmp/place.
place() { api GET /v1/placement >"$tmp/place"; }
# other_of CPU: its other_use, from $tmp/place.
other_of() {
	python3 -c 'import json,sys
print("%.2f" % [c["other_use"] for c in json.load(open(sys.argv[1]))["cpus"] if c["cpu"] == int(sys.argv[2])][0])' "$tmp/place" "$1"
}
# on_cpu CPU: how many guests named lat-* are on it, from $tmp/place.
on_cpu() {
	python3 -c 'import json,sys
print(sum(1 for g in json.load(open(sys.argv[1]))["guests"] if g["name"].startswith("lat-") and g.get("cpu") == int(sys.argv[2])))' "$tmp/place" "$1"
}
# outside_move T0 LIMIT_S: a pin move whose reason names work that is no
# guest's; prints the seconds since T0 and its reason.
outside_move() {
	py - "$SOCK" "$@" <<'PY'
import json, sys, time
from shoalapi import UnixConnection
sock, t0, limit = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
while time.time() - t0 < limit:
    c = UnixConnection(sock, timeout=10)
    c.request("GET", "/v1/placement")
    p = json.loads(c.getresponse().read())
    for m in p.get("moves", []):
        if m.get("kind") == "pin" and "work that is no guest's" in m.get("reason", ""):
            print("%.1f %s" % (time.time() - t0, m["reason"]))
            sys.exit(0)
    time.sleep(0.25)
print("none in %.0f s; the last moves: %s" % (limit, [(m.get("kind"), m.get("guest"), m.get("reason")) for m in p.get("moves", [])][-4:]))
sys.exit(1)
PY
}
# worst_on CPU: the worst p99 (placement window) of lat-* guests on CPU, from $tmp/place.
worst_on() {
	python3 -c 'import json,sys
print("%.0f" % max([g.get("p99_us") or 0 for g in json.load(open(sys.argv[1]))["guests"] if g["name"].startswith("lat-") and g.get("cpu") == int(sys.argv[2])] or [0]))' "$tmp/place" "$1"
}
# other_until CPU CMP VALUE: poll (10 s at most) until CPU's other_use CMP
# VALUE (a Python comparison, ">=" or "<"); prints the seconds since
# $since, or nothing; $tmp/place keeps the last reading.
other_until() {
	for i in $(seq 1 40); do
		sleep 0.25
		place
		o=$(other_of "$1")
		if python3 -c "import sys; sys.exit(0 if $o $2 $3 else 1)"; then
			python3 -c "import time; print('%.1f' % (time.time() - $since))"
			return 0
		fi
	done
	return 1
}
# pin_moves: pin moves of lat-* guests so far, "guest:from>to" a line.
pin_moves() {
	api GET /v1/placement | python3 -c 'import json,sys
for m in json.load(sys.stdin)["moves"]:
    if m["kind"] == "pin" and m["guest"].startswith("lat-"): print("%s:%s>%s" % (m["guest"], m.get("from"), m.get("to")))'
}

tap_check "shoald starts (placement on)" shoald_start
for i in $(seq 1 $N); do
	printf '{"name":"lat-%s","image":"%s","memory_mib":8,"latency_class":"latency","slo_us":%s}' \
		"$i" "$GUESTS/idle.$PLATFORM" "$SLO" >"$tmp/spec.json"
	api POST "/v1/guests" "$tmp/spec.json" >/dev/null
done
sleep 4
place
# The latency CPU with the most of them.
X=$(python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))
n = {}
for g in p["guests"]:
    if g["name"].startswith("lat-") and g.get("cpu") is not None: n[g["cpu"]] = n.get(g["cpu"], 0) + 1
print(max(n, key=n.get) if n else "")' "$tmp/place")
if [ -z "$X" ]; then
	tap_not_ok "the latency guests are placed"
	tap_done
	exit 0
fi
before=$(other_of "$X")
tap_ok "the latency guests are placed: $(on_cpu "$X") of $N on cpu $X, whose work that is no guest's is $before of a CPU (roles $(python3 -c 'import json,sys
print(" ".join("%d:%s" % (c["cpu"], c["role"]) for c in json.load(open(sys.argv[1]))["cpus"]))' "$tmp/place"))"
moves0=$(pin_moves | wc -l)

# A CPU-bound process of the host's, pinned to cpu X.
t0=$(date +%s.%N)
taskset -c "$X" sh -c 'while :; do :; done' &
hog=$!
since=$t0
seen=$(other_until "$X" ">=" 0.5)
o=$(other_of "$X")
if [ -n "$seen" ]; then
	tap_ok "/v1/placement shows the process as cpu $X's other_use ($o of a CPU) ${seen} s after it began"
else
	tap_not_ok "/v1/placement shows the process as cpu $X's other_use (0.5 or more within 10 s; it says $o)"
fi
shoald_get /metrics >"$tmp/metrics"
m=$(sed -n "s/^shoal_cpu_other_use{cpu=\"$X\"} //p" "$tmp/metrics")
tap_check "/metrics has it: shoal_cpu_other_use{cpu=\"$X\"} ${m:-absent}" \
	python3 -c "import sys; sys.exit(0 if ${m:-0} >= 0.5 else 1)"
if r=$(outside_move "$t0" 20); then
	tap_ok "a latency guest over its SLO beside it is moved ${r%% *} s after it began: ${r#* }"
	sleep 6
	place
	left=$(on_cpu "$X")
	tap_ok "after 6 s more, $left of the $N latency guests are on cpu $X (worst p99 there $(worst_on "$X") us); $(($(pin_moves | wc -l) - moves0)) pin moves"
else
	place
	w=$(worst_on "$X")
	if [ "${w%.*}" -le "$SLO" ] 2>/dev/null; then
		# Nothing to remedy: the host's scheduler let them preempt it.
		tap_skip "a latency guest over its SLO beside it is moved" \
			"none of them went over its SLO beside it (worst p99 $w us, SLO $SLO us)"
	else
		tap_not_ok "a latency guest over its SLO beside it is moved (within 20 s; worst p99 there $w us)"
		tap_diag "$r"
	fi
fi

kill "$hog" 2>/dev/null
wait "$hog" 2>/dev/null
hog=
since=$(date +%s.%N)
back=$(other_until "$X" "<" 0.3)
o=$(other_of "$X")
if [ -n "$back" ]; then
	tap_ok "once it ends cpu $X's other_use falls back ($o) ${back} s after"
else
	tap_not_ok "once it ends cpu $X's other_use falls back (under 0.3 within 10 s; it says $o)"
fi
sleep 8
# No guest moved back to a CPU it left, nor twice the same way.
dups=$(pin_moves | sort | uniq -d | wc -l)
backs=$(pin_moves | python3 -c 'import sys
moves = [l.strip().split(":") for l in sys.stdin if l.strip()]
seen = set(); n = 0
for g, m in moves:
    a, b = m.split(">")
    if (g, b, a) in seen: n += 1
    seen.add((g, a, b))
print(n)')
tap_check "no guest moved back and forth ($backs back, $dups repeated; $(pin_moves | wc -l) pin moves in all)" \
	sh -c "[ $backs -eq 0 ] && [ $dups -eq 0 ]"
tap_done
