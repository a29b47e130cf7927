#!/bin/sh
# The adaptive probe rate, on the platform SHOAL_TEST_PLATFORM names
# (doc/testing.md), with shoald's defaults (probe-hz 10, probe-hz-min 2):
# a guest is probed at the full rate for its first 10 s, then, where
# nothing happens, at probe-hz-min; when a hog comes beside it (a busy
# loop sharing its CPU time in a cgroup of the test's), the next slow
# probe's round trip shows the breach of its SLO within 2 s and it is
# probed at the full rate again, with the reason in its latency and the
# count in /metrics.  On a machine too busy for
# the guest to look quiet (round trips near its SLO), the slow rate
# cannot be reached: the checks that need it say so and skip.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
command -v python3 >/dev/null || tap_skip_all "python3 is not installed"
tap_timing_lock
tmp=$(mktemp -d /tmp/shoal-adaptive-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
hog=
cg=
trap 'hog_stop; shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
JSONQ=$top_builddir/tests/integration/jsonq
SLO=50000 # us: far over what an idle guest takes here, so that it looks quiet

lat() { "$CTL" --socket "$SOCK" --json latency "$1" 2>/dev/null | "$JSONQ" "$2"; }
field() { "$CTL" --socket "$SOCK" --json show "$1" 2>/dev/null | "$JSONQ" "$2"; }
metric() { shoald_get /metrics | sed -n "s/^$1 //p"; }

# hog_start PID CPU: PID's process and a busy loop on CPU in one CPU
# cgroup of this test's, 10 ms of CPU each 400 ms (cgroup v1's cpu
# controller, or v2's).
# hog_stop [PID]: the loop ended, PID back in its cgroup, the test's cgroup gone.
hog_start() {
	if [ -w /sys/fs/cgroup/cpu/cgroup.procs ]; then
		root=/sys/fs/cgroup/cpu cg=$root/shoal-adaptive-$$
		mkdir "$cg" && echo 400000 >"$cg/cpu.cfs_period_us" && echo 10000 >"$cg/cpu.cfs_quota_us"
	elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		root=/sys/fs/cgroup cg=$root/shoal-adaptive-$$
		echo +cpu >"$root/cgroup.subtree_control" 2>/dev/null
		mkdir "$cg" && echo "10000 400000" >"$cg/cpu.max"
	else
		echo "no cgroup CPU controller to share" >"$tmp/cg.err"
		return 1
	fi 2>"$tmp/cg.err" || return 1
	# The loop first (started outside, so that its start is not throttled;
	# it ends itself after 8 s), then PID: the hog is there from the moment
	# PID joins it.
	python3 - "$cg" "$tmp/hog.ready" "$2" <<'PY' &
import os, sys, time
# On the guest's CPU: the cgroup's CPU time is handed out per CPU, so a
# hog elsewhere would leave the guest's CPU its own share.
os.sched_setaffinity(0, {int(sys.argv[3])})
open(sys.argv[1] + "/cgroup.procs", "w").write(str(os.getpid()))
open(sys.argv[2], "w").close()
end = time.monotonic() + 8
while time.monotonic() < end:
    pass
PY
	hog=$!
	for i in $(seq 50); do
		[ -f "$tmp/hog.ready" ] && break
		sleep 0.1
	done
	# Where it was, to go back to (shoald's cgroup for its guests, if any).
	was=$root$(sed -n 's/^[0-9]*:\(cpu\|\):\(.*\)/\2/p' "/proc/$1/cgroup" | head -n 1)
	echo "$1" >"$cg/cgroup.procs" 2>"$tmp/cg.err"
}
hog_stop() {
	[ -n "$hog" ] && kill "$hog" 2>/dev/null && wait "$hog" 2>/dev/null
	hog=
	[ -n "$1" ] && [ -n "$cg" ] && echo "$1" >"$was/cgroup.procs" 2>/dev/null
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -z "$cg" ] || [ ! -d "$cg" ] || rmdir "$cg" 2>/dev/null && break
		sleep 0.2
	done
	cg=
}

tap_check "shoald starts" shoald_start
tap_check "an idle latency guest with a ${SLO} us SLO runs" "$CTL" --socket "$SOCK" deploy \
	--name lat --image "$GUESTS/idle.$PLATFORM" --memory 8 --class latency --slo-us $SLO
state_is lat running
tap_check "it is probed at the full rate first ($(lat lat probe_rate_hz) Hz: $(lat lat probe_fast.reason))" \
	sh -c "[ '$(lat lat probe_rate_hz)' = 10 ] && [ '$(lat lat probe_fast.reason)' = 'it started' ]"

# Quiet: at probe-hz-min once its 10 s are over, unless this machine is
# so busy that its round trips reach half its SLO.
slow=
for i in $(seq 100); do
	[ "$(lat lat probe_rate_hz)" = 2 ] && slow=1 && break
	sleep 0.25
done
if [ -z "$slow" ]; then
	why="this machine is too busy for the guest to look quiet: $(lat lat probe_fast.reason)"
	for c in "where nothing happens it is probed at probe-hz-min" "a breach shows within 2 s" \
		"then it is probed at the full rate, with the reason"; do
		tap_skip "$c" "$why"
	done
else
	s0=$(lat lat total.sent)
	sleep 5
	s1=$(lat lat total.sent)
	rate=$(lat lat probe_rate_hz)
	tap_check "where nothing happens it is probed at probe-hz-min: $((s1 - s0)) probes in 5 s (${rate} Hz now; 50 at the full rate)" \
		sh -c "[ $((s1 - s0)) -le 16 ] && [ $((s1 - s0)) -ge 4 ]"

	# A hog comes beside it: a busy loop that shares the guest's CPU
	# time (one cgroup, 10 ms of CPU each 400 ms: the hog takes it, and
	# the guest waits out the rest, as behind a hog on its CPU).
	pid=$(field lat pid)
	cpu=$(api GET /v1/placement | python3 -c 'import json,sys
print([g["cpu"] for g in json.load(sys.stdin)["guests"] if g["name"] == "lat"][0])')
	hog_start "$pid" "$cpu" || tap_diag "no hog: $(cat "$tmp/cg.err")"
	t0=$(date +%s.%N)
	r=$(py - "$SOCK" "$t0" $SLO <<'PY'
import json, sys, time
from shoalapi import UnixConnection
sock, t0, slo = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
while time.time() - t0 < 6:
    c = UnixConnection(sock, timeout=10)
    c.request("GET", "/v1/guests/lat/latency")
    w = json.loads(c.getresponse().read())["windows"]["10s"]
    if w["max_us"] > slo:
        print("%.2f %.0f" % (time.time() - t0, w["max_us"]))
        sys.exit(0)
    time.sleep(0.05)
print("none in 6 s")
sys.exit(1)
PY
	)
	if [ $? -eq 0 ] && python3 -c "import sys; sys.exit(0 if ${r%% *} <= 2.0 else 1)"; then
		tap_ok "a breach shows within 2 s: a round trip of ${r#* } us (SLO $SLO us) ${r%% *} s after a hog came beside it"
	else
		tap_not_ok "a breach shows within 2 s of a hog coming beside it ($r)"
		tap_diag "the cgroup $cg holds: $(cat "$cg/cgroup.procs" 2>&1 | tr '\n' ' ')" \
			"its CPU: $(cat "$cg/cpu.stat" 2>&1 | tr '\n' ' ')" "$(cat "$tmp/cg.err" 2>/dev/null)" \
			"the guest's latency: $("$CTL" --socket "$SOCK" --json latency lat | head -c 600)"
	fi
	rate=$(lat lat probe_rate_hz) why=$(lat lat probe_fast.reason)
	tap_check "then it is probed at the full rate, with the reason ($rate Hz: $why)" \
		sh -c "[ '$rate' = 10 ] && echo '$why' | grep -qE 'its SLO|late|missed'"
	hog_stop "$pid"
fi
tap_check "/metrics: probe-hz-min, the guests at the full rate, the times one went to it" \
	sh -c "[ '$(metric shoal_probe_hz_min)' = 2 ] && [ -n '$(metric shoal_probe_fast_guests)' ] && [ '$(metric shoal_probe_hastened_total)' -ge 1 ]"
tap_check "the guest is still running" sh -c "[ '$(field lat state)' = running ]"

# A fixed rate: probe-hz-min = probe-hz.
shoald_stop_all
rm -rf "$tmp/state" "$tmp/run"
tap_check "shoald starts with --probe-hz-min=10" shoald_start --probe-hz-min=10
"$CTL" --socket "$SOCK" deploy --name fixed --image "$GUESTS/idle.$PLATFORM" --memory 8 --class latency --slo-us $SLO >/dev/null
state_is fixed running
sleep 11
tap_check "every guest is probed at probe-hz, and says no reason ($(lat fixed probe_rate_hz) Hz, $(lat fixed probe_fast))" \
	sh -c "[ '$(lat fixed probe_rate_hz)' = 10 ] && [ '$(lat fixed probe_fast)' = null ]"
tap_done
