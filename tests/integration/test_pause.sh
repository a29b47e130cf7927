#!/bin/sh
# pause and resume against a real shoald and real guests, on the platform
# SHOAL_TEST_PLATFORM names (doc/testing.md): a paused spin guest's tender
# uses no CPU (against what it used running, in the same run) and the
# paused guest is not probed, with no misses; on KVM it stays paused
# through a kill -9 of shoald and the re-adoption (on proc the next shoald
# starts it again, running); resume lets it run and answer again.  Bad
# requests: a guest that is not running, one that does not exist, start
# on a paused guest, an unknown action.
. "$top_srcdir/tests/tap.sh"
tap_require_platform

tmp=$(mktemp -d /tmp/shoal-pause-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
JSONQ=$top_builddir/tests/integration/jsonq

ctl() { "$CTL" --socket "$SOCK" --timeout 20 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; }
field() { "$CTL" --socket "$SOCK" --json show "$1" 2>/dev/null | "$JSONQ" "$2"; }
lat() { "$CTL" --socket "$SOCK" --json latency "$1" 2>/dev/null | "$JSONQ" "$2"; }
# CPU ticks (user + system) of a guest's tender, every thread.
ticks() { awk '{print $14 + $15}' "/proc/$(field "$1" pid)/stat" 2>/dev/null; }
wait_state() { # NAME STATE: up to 10 s
	for i in $(seq 100); do
		[ "$(field "$1" state)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
said() { # WHAT TEXT: the last shoalctl answer has TEXT
	grep -qF -- "$2" "$tmp/out" "$tmp/err" && return 0
	tap_diag "$1: no \"$2\" in:" "$(cat "$tmp/out" "$tmp/err")"
	return 1
}
refused() { # DESCRIPTION TEXT SHOALCTL-ARG...: it fails, saying TEXT
	desc=$1 text=$2
	shift 2
	ctl "$@"
	rc=$?
	if [ $rc -ne 0 ] && said "$desc" "$text"; then
		tap_ok "$desc ($(cat "$tmp/err"))"
	else
		tap_not_ok "$desc (exit $rc)"
	fi
}

if ! shoald_start; then
	tap_not_ok "shoald starts"
	tap_diag "$(tail -n 20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
tap_ok "shoald starts"

ctl deploy --name sp --image "$GUESTS/spin.$PLATFORM" --memory 16 --class batch --arg 1000
tap_check "a spin guest runs" wait_state sp running
ctl deploy --name id --image "$GUESTS/idle.$PLATFORM" --memory 16
tap_check "an idle guest runs" wait_state id running

# Running: what the spin guest's tender uses in 1.5 s.
t0=$(ticks sp)
sleep 1.5
run_ticks=$(($(ticks sp) - t0))

if ctl pause sp && said "shoalctl pause" "sp paused (state paused"; then
	tap_ok "shoalctl pause sp answers once it is paused ($(head -n 1 "$tmp/out"))"
else
	tap_not_ok "shoalctl pause sp (exit $?)"
fi
tap_check "its state is paused" test "$(field sp state)" = paused
t0=$(ticks sp)
sleep 1.5
paused_ticks=$(($(ticks sp) - t0))
if [ "$run_ticks" -ge 20 ] && [ $((paused_ticks * 20)) -le "$run_ticks" ]; then
	tap_ok "a paused guest uses no CPU: $paused_ticks ticks in 1.5 s, against $run_ticks running"
else
	tap_not_ok "a paused guest uses no CPU: $paused_ticks ticks in 1.5 s paused, $run_ticks running"
fi

ctl pause id
s0=$(lat id total.sent)
m0=$(lat id total.misses)
sleep 1.5
s1=$(lat id total.sent)
m1=$(lat id total.misses)
if [ $((s1 - s0)) -le 1 ] && [ "$m1" = "$m0" ]; then
	tap_ok "a paused guest is not probed: $((s1 - s0)) probes sent in 1.5 s, no misses"
else
	tap_not_ok "a paused guest is not probed: sent $s0 -> $s1, missed $m0 -> $m1"
fi
tap_check "pausing a paused guest again is a success" ctl pause id
refused "start on a paused guest is refused and says to resume it" "resume it" start id
if shoald_get /metrics | grep -q '^shoal_guests{state="paused"} 2$'; then
	tap_ok "/metrics counts the paused guests (shoal_guests{state=\"paused\"} 2)"
else
	tap_not_ok "/metrics counts the paused guests: $(shoald_get /metrics | grep '^shoal_guests{')"
fi
ctl --json events --limit 20
tap_check "the pauses are in the event log" grep -qE '"type": ?"paused"' "$tmp/out"

# kill -9 and restart: both stay paused, same tender, same instance.
pid=$(field sp pid)
inst=$(field sp instance)
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
shoald_start
if wait_state sp paused && wait_state id paused && [ "$(field sp pid)" = "$pid" ] &&
	[ "$(field sp instance)" = "$inst" ]; then
	tap_ok "after kill -9 of shoald the guests are re-adopted still paused (tender $pid, instance $inst)"
else
	tap_not_ok "after kill -9 of shoald: sp $(field sp state) pid $(field sp pid) (was $pid), id $(field id state)"
	tap_diag "$(grep -i 'adopt\|pause' "$tmp/shoald.log" | tail -n 10)"
fi
t0=$(ticks sp)
sleep 1
t1=$(ticks sp)
tap_check "a re-adopted paused guest still uses no CPU ($((t1 - t0)) ticks in 1 s)" test $((t1 - t0)) -le $((run_ticks / 15 + 1))

if ctl resume sp && said "shoalctl resume" "sp resumed (state running" && [ "$(field sp state)" = running ]; then
	tap_ok "shoalctl resume sp: running again"
else
	tap_not_ok "shoalctl resume sp: state $(field sp state)"
fi
t0=$(ticks sp)
sleep 1.5
again=$(($(ticks sp) - t0))
tap_check "a resumed guest uses CPU again ($again ticks in 1.5 s, $run_ticks before the pause)" \
	test $((again * 4)) -ge "$run_ticks"
ctl resume id
a0=$(lat id total.samples)
sleep 1.5
a1=$(lat id total.samples)
tap_check "a resumed guest answers its probes again ($((a1 - a0)) answers in 1.5 s)" test $((a1 - a0)) -ge 5
tap_check "and it never missed one" test "$(lat id total.misses)" = 0

# Bad requests.
ctl stop id
refused "pausing a stopped guest is refused" "only a running guest can be paused" pause id
refused "resuming a guest that does not exist is refused" "no guest named nosuch" resume nosuch
shoald_get /v1/guests/sp/pausez >"$tmp/out" 2>&1
tap_check "an unknown action is no route" grep -q 'no_such_route' "$tmp/out"

ctl pause sp
tap_check "a paused guest can be stopped" ctl stop sp
tap_check "and is stopped" test "$(field sp state)" = stopped

# A new deploy of a paused guest replaces it with a running instance.
ctl start id
ctl pause id
inst=$(field id instance)
ctl deploy --name id --image "$GUESTS/idle.$PLATFORM" --memory 16 --arg again
if wait_state id running && [ "$(field id instance)" != "$inst" ]; then
	tap_ok "a deploy over a paused guest runs a new instance ($inst, then $(field id instance))"
else
	tap_not_ok "a deploy over a paused guest: state $(field id state), instance $(field id instance) (was $inst)"
fi
ctl pause id
pid=$(field id pid)
tap_check "a paused guest can be removed outright" ctl rm id
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
tap_check "and its tender is gone" sh -c "! kill -0 $pid 2>/dev/null"
tap_check "and the stopped one too" ctl rm sp
tap_done
