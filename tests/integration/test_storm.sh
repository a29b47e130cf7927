#!/bin/sh
# A guest whose events storm, on KVM, beside idle guests, against a real
# shoald: the storm guest notifies its probe port in a tight loop.  The
# storm is detected within a few seconds (event, metric, the guest's
# JSON); shoald's CPU during the storm stays bounded (the figure, and the
# same storm with detection off, are printed); the neighbours keep being
# probed and answered; a storm that stops ends (event) and the guest is
# probed again, with its notifications counted as the guest made them;
# with storm-restart-s a storm that goes on gets the guest restarted,
# with the reason in its last exit.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
tap_timing_lock

tmp=$(mktemp -d /tmp/shoal-storm-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
JSONQ=$top_builddir/tests/integration/jsonq
HZ=$(getconf CLK_TCK)

ctl() { "$CTL" --socket "$SOCK" --timeout 20 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; }
field() { "$CTL" --socket "$SOCK" --json show "$1" 2>/dev/null | "$JSONQ" "$2"; }
lat() { "$CTL" --socket "$SOCK" --json latency "$1" 2>/dev/null | "$JSONQ" "$2"; }
# shoald's CPU ticks (user + system).
ticks() { awk '{print $14 + $15}' "/proc/$shoald_pid/stat"; }
wait_for() { # SECONDS COMMAND...: until it succeeds
	n=$(($1 * 10))
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
storming() { [ "$(lat "$1" storm.storming)" = "$2" ]; }
event_has() { # TYPE TEXT: the event log has an event of TYPE whose message has TEXT
	"$CTL" --socket "$SOCK" --json events --limit 200 2>/dev/null |
		python3 -c 'import json, sys
t, text = sys.argv[1], sys.argv[2]
ev = json.load(sys.stdin)
ev = ev.get("events", ev) if isinstance(ev, dict) else ev
sys.exit(0 if any(e["type"] == t and text in e["message"] for e in ev) else 1)' "$1" "$2"
}
idle_samples() { # the idle guests' answered probes, summed
	s=0
	for n in id1 id2 id3; do s=$((s + $(lat $n total.samples))); done
	echo $s
}
start_idle() {
	for n in id1 id2 id3; do
		ctl deploy --name $n --image "$GUESTS/idle.$PLATFORM" --memory 16 || return 1
	done
}
# cpu_during NAME: shoald's ticks over 5 s, sampled with no API call in between.
cpu_during() {
	t0=$(ticks)
	sleep 5
	echo $(($(ticks) - t0))
}

# 1. The same storm with detection off (storm-rate 0): what it costs unbounded.
if ! shoald_start --storm-rate=0; then
	tap_not_ok "shoald starts"
	tap_diag "$(tail -n 20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
start_idle
ctl deploy --name st --image "$GUESTS/storm.$PLATFORM" --memory 16 --arg delay_ms=500
sleep 2
off_ticks=$(cpu_during)
tap_check "with storm-rate 0 the storm is only counted, not handled" storming st false
tap_diag "shoald's CPU with the storm and detection off: $off_ticks ticks in 5 s ($((off_ticks * 100 / (5 * HZ))) % of a core)"
shoald_stop_all
rm -rf "$tmp/state" "$tmp/run"

# 2. Detection on (the default storm-rate), no restart; this storm stops after 9 s.
shoald_start --storm-restart-s=0 || tap_not_ok "shoald starts again"
start_idle
ctl deploy --name st --image "$GUESTS/storm.$PLATFORM" --memory 16 --arg delay_ms=1000 --arg for_ms=9000
tap_check "the storm guest runs" test "$(field st state)" = running
if wait_for 6 storming st true; then
	tap_ok "the storm is detected within a few seconds (storm.rate $(lat st storm.rate)/s)"
else
	tap_not_ok "the storm is detected: storm $(lat st storm)"
fi
s0=$(idle_samples)
on_ticks=$(cpu_during)
s1=$(idle_samples)
tap_diag "shoald's CPU during the storm: $on_ticks ticks in 5 s ($((on_ticks * 1000 / (5 * HZ))) per mille of a core); with detection off: $off_ticks"
if [ $((on_ticks * 10)) -le $((5 * HZ)) ]; then
	tap_ok "shoald's CPU during the storm is bounded: $on_ticks ticks in 5 s (bound 10 % of a core)"
else
	tap_not_ok "shoald's CPU during the storm: $on_ticks ticks in 5 s, over 10 % of a core"
fi
# Three guests at 10 probes a second: 150 in 5 s; a third of that is plenty.
tap_check "the idle neighbours are probed and answer during the storm ($((s1 - s0)) answers in 5 s)" \
	test $((s1 - s0)) -ge 50
tap_check "and none of them missed a probe" \
	test "$(($(lat id1 total.misses) + $(lat id2 total.misses) + $(lat id3 total.misses)))" = 0
tap_check "the storm is an event with its rate" event_has storm "unsolicited notifications in"
shoald_get /metrics >"$tmp/metrics"
tap_check "/metrics: shoal_guest_storming{guest=\"st\"} 1" grep -q '^shoal_guest_storming{guest="st"} 1$' "$tmp/metrics"
tap_check "/metrics: shoal_guest_storms_total{guest=\"st\"} 1" grep -q '^shoal_guest_storms_total{guest="st"} 1$' "$tmp/metrics"
tap_check "/metrics: the idle guests are not storming" grep -q '^shoal_guest_storming{guest="id1"} 0$' "$tmp/metrics"
u=$(sed -n 's/^shoal_guest_unsolicited_events_total{guest="st"} //p' "$tmp/metrics")
tap_check "/metrics: its unsolicited notifications are counted ($u)" test "${u:-0}" -gt 1000
tap_check "the guest's JSON says it storms (latency.storming)" test "$(field st latency.storming)" = true

# The storm stops after for_ms: it ends at the next check (back-offs 1, 2, 4, 8 s).
if wait_for 30 storming st false; then
	tap_ok "a storm that stops ends"
else
	tap_not_ok "a storm that stops ends: storm $(lat st storm)"
fi
tap_check "its end is an event" event_has storm_end "storm is over"
a0=$(lat st total.samples)
sleep 2
a1=$(lat st total.samples)
tap_check "and the guest is probed and answers again ($((a1 - a0)) answers in 2 s)" test $((a1 - a0)) -ge 5
# What the guest says it did against what shoald counted: every
# notification of the storm but the few that answered a probe, and the
# answers that came after their probe was counted missed (late: shoald
# counts those as unsolicited too, daemon/probe.c).
made=$(api GET /v1/guests/st/console | sed -n 's/.*stopped after \([0-9]*\) notifications.*/\1/p' | tail -n 1)
u=$(lat st storm.unsolicited)
late=$(lat st total.late)
if [ -n "$made" ] && [ "$u" -le $((made + ${late:-0})) ] && [ $((u * 100)) -ge $((made * 95)) ]; then
	tap_ok "the unsolicited count is what the guest did: $u of its $made notifications and ${late:-0} late answers"
else
	tap_not_ok "the unsolicited count: $u, the guest made ${made:-?} and ${late:-?} answers came late"
fi
shoald_stop_all
rm -rf "$tmp/state" "$tmp/run"

# 3. A storm that goes on past storm-restart-s: the restart policy decides.
shoald_start --storm-restart-s=3 || tap_not_ok "shoald starts a third time"
ctl deploy --name sr --image "$GUESTS/storm.$PLATFORM" --memory 16 --restart on-failure --arg delay_ms=500
reason() { field sr last_exit.reason; }
restarted() { case "$(reason)" in *"events stormed for"*) return 0 ;; esac; return 1; }
if wait_for 20 restarted; then
	tap_ok "a storm past storm-restart-s stops the guest: \"$(reason)\""
else
	tap_not_ok "a storm past storm-restart-s: last exit \"$(reason)\", state $(field sr state)"
	tap_diag "$(grep -i storm "$tmp/shoald.log" | tail -n 5)"
fi
tap_check "and its restart policy restarts it" wait_for 10 sh -c "[ \"\$($CTL --socket $SOCK --json show sr | $JSONQ restarts)\" -ge 1 ]"
tap_check "the stop is an event that names the storm" event_has storm "stopping it"
ctl rm sr
tap_done
