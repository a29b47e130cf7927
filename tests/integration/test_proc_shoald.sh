#!/bin/sh
# shoald --backend=proc, end to end with real guests built for the proc
# platform (no /dev/kvm needed): hello's console and exit; idle running,
# probed (latency samples), paused (no probes) and resumed, stopped; a
# crash and a bad call ending with the tender's reason; a restart-on-failure
# guest restarted; a KVM image refused; a network rate taken (refused,
# saying why, when shoald was built without its BPF program); a guest with a
# disk; a kill -9 of shoald, after which the next one re-attaches every
# running guest (and reports one killed meanwhile), and a SIGTERM stop of
# shoald, after which it does too; bad set-ups refused; and an
# echo guest with a NIC on a bridge in a network namespace of the test's
# own (SKIP where one cannot be made).
. "$top_srcdir/tests/tap.sh"
PROC=$top_builddir/vmm/shoal-proc
[ -x "$PROC" ] || tap_skip_all "$PROC was not built"
[ -f "$GUESTS/idle.proc" ] || tap_skip_all "the proc guests were not built"
command -v python3 >/dev/null || tap_skip_all "python3 is not installed"

tmp=$(mktemp -d /tmp/shoal-procd-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
cp "$PROC" "$tmp/shoal-proc"

cleanup() {
	shoald_stop_all
	for p in $(shoald_tenders); do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start_proc() { shoald_start --backend=proc --proc-tender="$tmp/shoal-proc" "$@"; }
field() { api GET "/v1/guests/$1" | jq_ "$2"; }
# PID runs: not gone, nor a zombie that whoever inherited it has yet to reap.
# started PID: its start time (clock ticks since boot), empty if it is gone.
started() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }
# runs PID [START]: it is there and not a zombie, and (with START) the same
# process, not another given its pid again (pid_max is 32,768 here).
runs() {
	[ -e "/proc/$1" ] && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ exit $1 == "Z" ? 0 : 1 }' &&
		{ [ -z "${2:-}" ] || [ "$(started "$1")" = "$2" ]; }
}
lat() { api GET "/v1/guests/$1/latency" | jq_ "$2"; }
deploy() { # NAME JSON-SPEC-FIELDS: POST it, the answer in $tmp/body
	printf '{"name": "%s", "memory_mib": 8, %s}\n' "$1" "$2" >"$tmp/$1.json"
	api POST "/v1/guests?wait=0" "$tmp/$1.json" >/dev/null
}
deployed() { [ "$(status)" = 201 ] || [ "$(status)" = 202 ]; }
body_has() { # TEXT: the last answer's body has it
	grep -qF -- "$1" "$tmp/body" && return 0
	tap_diag "the answer (HTTP $(status)) lacks \"$1\": $(head -c 600 "$tmp/body")"
	return 1
}
field_has() { # GUEST FIELD TEXT, up to 10 s
	for i in $(seq 100); do
		field "$1" "$2" | grep -qF -- "$3" && return 0
		sleep 0.1
	done
	tap_diag "$1's $2 lacks \"$3\": $(field "$1" "$2")"
	return 1
}
field_is() { # GUEST FIELD VALUE, up to 10 s
	for i in $(seq 100); do
		[ "$(field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	tap_diag "$1's $2 is \"$(field "$1" "$2")\", not \"$3\""
	return 1
}
log_has() { # TEXT, up to 5 s
	for i in $(seq 50); do
		grep -qF -- "$1" "$tmp/shoald.log" && return 0
		sleep 0.1
	done
	tap_diag "shoald's log lacks \"$1\": $(tail -n 5 "$tmp/shoald.log")"
	return 1
}

# ---- bad set-ups: each refused with one clear line ----
refuses() { # DESCRIPTION TEXT OPTION...
	desc=$1 text=$2
	shift 2
	"$SHOALD" --config=/dev/null --state-dir="$tmp/bad-state" --run-dir="$tmp/bad-run" "$@" \
		>"$tmp/bad.out" 2>&1 </dev/null &
	bad=$!
	for i in $(seq 50); do kill -0 $bad 2>/dev/null || break; sleep 0.1; done
	if kill -0 $bad 2>/dev/null; then
		kill -9 $bad
		wait $bad 2>/dev/null
		tap_not_ok "$desc: shoald did not stop"
		return
	fi
	wait $bad
	rc=$?
	if [ $rc -ne 0 ] && grep -qF -- "$text" "$tmp/bad.out"; then
		tap_ok "$desc ($(grep -F -- "$text" "$tmp/bad.out" | head -n 1 | cut -c 1-160))"
	else
		tap_not_ok "$desc (exit $rc)"
		tap_diag "$(cat "$tmp/bad.out")"
	fi
}
refuses "an unknown backend is refused, naming the ones built in" \
	"backend nope is not built into this shoald (it has: kvm, proc" --backend=nope
refuses "a missing proc tender is refused, naming it" \
	"proc backend: the tender $tmp/nope cannot be run" --backend=proc --proc-tender="$tmp/nope"
# The host kernel limits a proc guest's rate when shoald was built with
# the BPF program (tests/integration/proc/test_net_rate.sh); else a limit
# is refused with the reason.
rate_built=
grep -q '^#define HAVE_PROC_RATE 1' "$top_builddir/config.h" 2>/dev/null && rate_built=1
if [ -n "$rate_built" ]; then
	"$SHOALD" --config=/dev/null --state-dir="$tmp/bad-state" --run-dir="$tmp/bad-run" \
		--backend=proc --proc-tender="$tmp/shoal-proc" --net-rate-pps=1000 >"$tmp/bad.out" 2>&1 </dev/null &
	bad=$!
	up=
	for i in $(seq 100); do
		"$CTL" --socket "$tmp/bad-run/shoald.sock" --timeout 1 host >/dev/null 2>&1 && up=1 && break
		kill -0 $bad 2>/dev/null || break
		sleep 0.1
	done
	kill $bad 2>/dev/null
	wait $bad 2>/dev/null
	tap_check "a default network rate limit with the proc backend is taken (the host kernel keeps it)" \
		[ -n "$up" ]
	[ -n "$up" ] || tap_diag "$(cat "$tmp/bad.out")"
else
	refuses "a network rate limit with the proc backend is refused, with the reason" \
		"net-rate-pps and net-rate-bytes must be 0: this shoald was built without" --backend=proc \
		--proc-tender="$tmp/shoal-proc" --net-rate-pps=1000
fi

if ! start_proc; then
	tap_not_ok "shoald --backend=proc starts"
	tap_diag "$(tail -n 20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
tap_ok "shoald --backend=proc starts"
tap_check "/v1/host names the proc backend" test "$(api GET /v1/host | jq_ backend)" = proc
tap_check "its figures name shoal-proc as the tender" \
	test "$(api GET /v1/host | jq_ backend_stats.tender)" = "$tmp/shoal-proc"

# ---- hello: console and exit ----
deploy hello "\"image\": \"$GUESTS/hello.proc\", \"restart\": \"never\", \"args\": [\"one\", \"two\"]"
tap_check "hello.proc is deployed (HTTP $(status))" deployed
tap_check "its console shows its output" console_has hello "hello from hello: one two"
tap_check "its end is recorded with status 0" field_is hello last_exit.status 0
tap_check "... and the reason" field_has hello last_exit.reason "guest exited with code 0"

# ---- a KVM image is refused; a rate limit is taken, or refused saying why ----
deploy kvmimg "\"image\": \"$GUESTS/hello.kvm\""
tap_check "a KVM image is refused with 422 ($(status))" test "$(status)" = 422
tap_check "... naming both platforms" body_has "built for the kvm platform, not proc"
deploy rated "\"image\": \"$GUESTS/idle.proc\", \"restart\": \"never\", \"net_rate\": {\"packets_per_s\": 1000}"
if [ -n "$rate_built" ]; then
	tap_check "a spec with a network rate is taken ($(status))" deployed
	tap_check "... and keeps it" test "$(field rated spec.net_rate.packets_per_s)" = 1000
	api DELETE /v1/guests/rated >/dev/null
else
	tap_check "a spec with a network rate is refused with 400 ($(status))" test "$(status)" = 400
	tap_check "... naming the field" test "$(jq_ error.field <"$tmp/body")" = net_rate
	tap_check "... and why" body_has "the proc backend cannot limit a guest's network rate: this shoald was built without"
fi

# ---- idle: probed, paused, resumed, stopped ----
deploy idle "\"image\": \"$GUESTS/idle.proc\", \"restart\": \"always\""
tap_check "idle.proc is deployed (HTTP $(status))" deployed
tap_check "it runs" state_is idle running
idle_pid=$(field idle pid)
idle_start=$(started "$idle_pid")
tap_check "its pid is a process of shoal-proc's" test -d "/proc/$idle_pid"
for i in $(seq 50); do
	[ "$(lat idle total.samples)" -gt 3 ] 2>/dev/null && break
	sleep 0.1
done
n=$(lat idle total.samples)
tap_check "/v1/guests/idle/latency shows probe samples ($n)" test "${n:-0}" -gt 3
tap_check "its probes are answered (no misses: $(lat idle total.misses))" \
	test "$(lat idle total.misses)" = 0
api POST /v1/guests/idle/pause >/dev/null
tap_check "pause answers 200 ($(status))" test "$(status)" = 200
tap_check "its state is paused" state_is idle paused
tap_check "its process is stopped" sh -c "awk '{print \$3}' /proc/$idle_pid/stat | grep -qx T"
s0=$(lat idle total.sent)
sleep 1
s1=$(lat idle total.sent)
tap_check "a paused guest is not probed ($s0 then $s1 sent)" test "$s0" = "$s1"
api POST /v1/guests/idle/resume >/dev/null
tap_check "resume answers 200 ($(status))" test "$(status)" = 200
tap_check "it runs again" state_is idle running
a0=$(lat idle total.samples)
sleep 1
a1=$(lat idle total.samples)
tap_check "probes are answered again ($a0 then $a1 samples)" test "$a1" -gt "$a0"
api GET /v1/guests/idle/placement >/dev/null
tap_check "its placement is read from its process (HTTP $(status))" test "$(status)" = 200

# ---- the end as the tender reports it ----
deploy crash "\"image\": \"$GUESTS/crash.proc\", \"restart\": \"never\", \"args\": [\"null\"]"
tap_check "a crashing guest ends with the tender's status (201)" field_is crash last_exit.status 201
tap_check "... and its reason, from its report" field_has crash last_exit.reason "page fault (#PF) at rip 0x"
reason=$(field crash last_exit.reason)
tap_check "... the report's prefix left out ($reason)" sh -c "! echo '$reason' | grep -q shoal-proc"
deploy badcall "\"image\": \"$GUESTS/badcall.proc\", \"restart\": \"never\", \"args\": [\"nr\"]"
tap_check "a bad call ends the guest with 202" field_is badcall last_exit.status 202
tap_check "... naming the call" field_has badcall last_exit.reason "bad system call 777 (unknown)"
deploy abort "\"image\": \"$GUESTS/crash.proc\", \"restart\": \"never\", \"args\": [\"abort\"]"
tap_check "rt_abort ends the guest with 200, its message the reason" \
	field_has abort last_exit.reason "guest aborted at unikernel-rt/examples/crash.c:"

# ---- a restart policy ----
deploy flaky "\"image\": \"$GUESTS/crash.proc\", \"restart\": \"on-failure\", \"args\": [\"exit\", \"3\"]"
for i in $(seq 100); do
	[ "$(field flaky restarts)" -ge 2 ] 2>/dev/null && break
	sleep 0.1
done
tap_check "a restart-on-failure guest that fails is restarted ($(field flaky restarts) restarts)" \
	test "$(field flaky restarts)" -ge 2
tap_check "... its last end recorded (status 3)" field_is flaky last_exit.status 3
api POST /v1/guests/flaky/stop >/dev/null

# ---- a disk ----
head -c 1048576 /dev/urandom >"$tmp/www.img"
deploy disk "\"image\": \"$GUESTS/blkcheck.proc\", \"restart\": \"never\", \"args\": [\"list\"], \"disks\": [{\"name\": \"www\", \"image\": \"$tmp/www.img\", \"readonly\": true}]"
tap_check "a guest with a disk is deployed (HTTP $(status))" deployed
tap_check "it sees its disk, read-only" console_has disk "blkcheck: disk www 2048 sectors ro"
tap_check "... and ends well" field_is disk last_exit.status 0
# The guest counts its own disk I/O in the counters' page shoald reads.
deploy reader "\"image\": \"$GUESTS/blkcheck.proc\", \"restart\": \"never\", \"args\": [\"sum\", \"www\", \"stay\"], \"disks\": [{\"name\": \"www\", \"image\": \"$tmp/www.img\", \"readonly\": true}]"
tap_check "a guest that reads its disk and stays runs" console_has reader "blkcheck: ok sum www 2048 sectors"
reads_shown() { # the detail's and /metrics' read counters of reader's disk are > 0
	r=$(field reader disks.0.counters.reads)
	b=$(field reader disks.0.counters.read_bytes)
	shoald_get /metrics >"$tmp/metrics"
	[ "${r:-0}" -gt 0 ] 2>/dev/null && [ "${b:-0}" -ge 1048576 ] 2>/dev/null &&
		grep -q '^shoal_disk_reads_total{guest="reader",disk="www"} [1-9]' "$tmp/metrics" &&
		grep -q '^shoal_disk_read_bytes_total{guest="reader",disk="www"} [1-9]' "$tmp/metrics" &&
		return 0
	tap_diag "reader's disk counters: reads ${r:-none}, read_bytes ${b:-none}; /metrics: $(grep 'guest="reader"' "$tmp/metrics" | tr '\n' ' ')"
	return 1
}
tap_check "its detail and /metrics count its disk's reads" reads_shown

# ---- stop ----
api POST /v1/guests/idle/stop >/dev/null
tap_check "stop answers 200 ($(status))" test "$(status)" = 200
tap_check "idle is stopped" state_is idle stopped
for i in $(seq 50); do runs "$idle_pid" "$idle_start" || break; sleep 0.1; done
tap_check "its process is gone" eval '! runs "$idle_pid" "$idle_start"'
tap_check "its record is removed" test ! -e "$tmp/run/tenders/t$idle_pid.proc"

# ---- a kill -9 of shoald: the next one re-attaches every proc tender ----
api POST /v1/guests/idle/start >/dev/null
tap_check "idle runs again" state_is idle running
deploy held "\"image\": \"$GUESTS/idle.proc\", \"restart\": \"never\""
tap_check "a second guest runs" state_is held running
api POST /v1/guests/held/pause >/dev/null
tap_check "... and is paused" state_is held paused
# spin idles 5 s, then works 300 ms, printing, and ends with 0; held paused
# across the restart, it does all that after it.
deploy later "\"image\": \"$GUESTS/spin.proc\", \"restart\": \"never\", \"args\": [\"100\", \"1000\", \"300\", \"5000\"]"
tap_check "a guest that prints and ends later runs" console_has later "idle for 5000 ms first"
api POST /v1/guests/later/pause >/dev/null
tap_check "... and is paused" state_is later paused
deploy gone-never "\"image\": \"$GUESTS/idle.proc\", \"restart\": \"never\""
deploy gone-always "\"image\": \"$GUESTS/idle.proc\", \"restart\": \"always\""
both_run() { state_is gone-never running && state_is gone-always running; }
tap_check "two guests to be killed while no shoald runs run" both_run
old=$(field idle pid)
old_start=$(started "$old")
old_instance=$(field idle instance)
old_restarts=$(field idle restarts)
held_pid=$(field held pid)
later_pid=$(field later pid)
gn_pid=$(field gone-never pid)
ga_pid=$(field gone-always pid)
gn_start=$(started "$gn_pid")
ga_start=$(started "$ga_pid")
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
tap_check "with shoald killed, its tender goes on (pid $old)" kill -0 "$old"
tap_check "... with a record and its console and report FIFOs in the run directory" \
	test -f "$tmp/run/tenders/t$old.proc" -a -p "$tmp/run/tenders/t$old.out" -a -p "$tmp/run/tenders/t$old.err"
kill -9 "$gn_pid" "$ga_pid"
both_ended() { ! runs "$gn_pid" "$gn_start" && ! runs "$ga_pid" "$ga_start"; }
for i in $(seq 50); do both_ended && break; sleep 0.1; done
tap_check "two guests' processes are killed while no shoald runs" both_ended
if start_proc; then tap_ok "shoald starts again"; else tap_not_ok "shoald starts again"; fi
tap_check "the next shoald re-attaches the tender" \
	log_has "guest idle: its proc tender (pid $old), left by an earlier shoald, is re-attached"
tap_check "idle runs" state_is idle running
tap_check "... the same process and instance ($(field idle pid), $(field idle instance))" \
	sh -c "[ '$(field idle pid)' = '$old' ] && [ '$(field idle instance)' = '$old_instance' ]"
tap_check "... not restarted (restarts $old_restarts, then $(field idle restarts))" \
	test "$(field idle restarts)" = "$old_restarts"
tap_check "... and restarts 0" test "$(field idle restarts)" = 0
tap_check "a re-attached guest's disk counters are found again" reads_shown
api POST /v1/guests/reader/stop >/dev/null
tap_check "... and it stops ($(status))" test "$(status)" = 200
for i in $(seq 50); do
	[ "$(lat idle total.samples)" -gt 3 ] 2>/dev/null && break
	sleep 0.1
done
a0=$(lat idle total.samples)
sleep 1
a1=$(lat idle total.samples)
tap_check "its probes are answered again ($a0 then $a1 samples)" test "${a1:-0}" -gt "${a0:-0}"
tap_check "... with no misses ($(lat idle total.misses))" test "$(lat idle total.misses)" = 0
api POST /v1/guests/idle/pause >/dev/null
tap_check "pause of the re-attached guest answers 200 ($(status))" test "$(status)" = 200
tap_check "... its state is paused" state_is idle paused
tap_check "... its process is stopped" sh -c "awk '{print \$3}' /proc/$old/stat | grep -qx T"
api POST /v1/guests/idle/resume >/dev/null
tap_check "resume answers 200 ($(status))" test "$(status)" = 200
tap_check "... it runs again" state_is idle running
tap_check "the paused guest is found paused, the same process" \
	sh -c "[ '$(field held state)' = paused ] && [ '$(field held pid)' = '$held_pid' ]"
api POST /v1/guests/held/resume >/dev/null
tap_check "... resumed, it runs" state_is held running
h0=$(lat held total.samples)
sleep 1
h1=$(lat held total.samples)
tap_check "... and answers probes ($h0 then $h1 samples)" test "${h1:-0}" -gt "${h0:-0}"
tap_check "another is found paused, the same process ($later_pid)" \
	sh -c "[ '$(field later state)' = paused ] && [ '$(field later pid)' = '$later_pid' ]"
api POST /v1/guests/later/resume >/dev/null
tap_check "... resumes ($(status))" test "$(status)" = 200
tap_check "console output written after the restart is captured" console_has later "spin: done work="
tap_check "its end after the restart is reported with its status (0)" \
	field_is later last_exit.status 0
tap_check "... and the reason" field_has later last_exit.reason "guest exited with code 0"
tap_check "a guest killed while no shoald ran is reported ended" state_is gone-never exited
tap_check "... with a reason saying so" \
	field_has gone-never last_exit.reason "ended while shoald was away"
tap_diag "its reason: $(field gone-never last_exit.reason)"
tap_check "... and restart never leaves it so" sh -c "sleep 0.5; [ '$(field gone-never state)' = exited ]"
tap_check "restart always starts the other again" state_is gone-always running
tap_check "... as a new process (restarts $(field gone-always restarts))" \
	sh -c "[ '$(field gone-always pid)' != '$ga_pid' ] && [ '$(field gone-always restarts)' = 1 ]"
tap_check "no record or FIFO is left of the killed ones" \
	sh -c "! ls '$tmp/run/tenders/' | grep -qE '^t($gn_pid|$ga_pid)\.'"
api POST /v1/guests/idle/stop >/dev/null
tap_check "stop of the re-attached guest answers 200 ($(status))" test "$(status)" = 200
tap_check "... it is stopped" state_is idle stopped
for i in $(seq 50); do runs "$old" "$old_start" || break; sleep 0.1; done
tap_check "... its process is gone" eval '! runs "$old" "$old_start"'
tap_check "... its record and FIFOs are removed" \
	sh -c "! ls '$tmp/run/tenders/' | grep -qE '^t$old\.'"

# ---- a stop of shoald (SIGTERM) leaves the guests running; the next one re-attaches them ----
kill -TERM "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
tap_check "shoald stopped by SIGTERM leaves its guests running (pid $held_pid)" kill -0 "$held_pid"
tap_check "... and says so in its log" log_has "guests left running, for the next shoald to re-attach"
if start_proc; then tap_ok "shoald starts again"; else tap_not_ok "shoald starts again"; fi
tap_check "the guest is re-attached" state_is held running
tap_check "... the same process" test "$(field held pid)" = "$held_pid"
for i in $(seq 50); do
	[ "$(lat held total.samples)" -gt 3 ] 2>/dev/null && break
	sleep 0.1
done
tap_check "... answering probes ($(lat held total.samples) samples)" test "$(lat held total.samples)" -gt 3
for g in held gone-always; do api POST "/v1/guests/$g/stop" >/dev/null; done
both_stopped() { state_is held stopped && state_is gone-always stopped; }
tap_check "the guests stop" both_stopped
tap_check "shoald ends" shoald_stop_all

# ---- a NIC: shoald in a network namespace of the test's own, its tap on a bridge there ----
. "$top_srcdir/tests/lib/netns.sh"
ns=
if [ ! -f "$GUESTS/echo.proc" ]; then
	tap_skip "a guest with a NIC" "echo.proc was not built (it needs lwIP)"
elif ! command -v ip >/dev/null || [ ! -c /dev/net/tun ]; then
	tap_skip "a guest with a NIC" "no ip(8) or no /dev/net/tun"
elif ! netns_new shoal-procd; then
	ns=
	tap_skip "a guest with a NIC" "cannot make a network namespace (ip netns add needs root)"
else
	trap 'cleanup; ip netns del "$ns" 2>/dev/null' EXIT
	netns_bridge br0 10.94.0.1/24
	SHOALD_NETNS=$ns
	tap_check "shoald --backend=proc starts in the namespace with br0 on the allow-list" \
		start_proc --bridge="br0 10.94.0.0/24"
	deploy echo "\"image\": \"$GUESTS/echo.proc\", \"args\": [\"lan\"], \"net\": [{\"name\": \"lan\", \"bridge\": \"br0\"}]"
	tap_check "an echo guest with a NIC on br0 is deployed (HTTP $(status))" deployed
	tap_check "it is up on its NIC" console_has echo "echo: ready"
	addr=$(field echo net.0.ipv4)
	addr=${addr%/*}
	tap_check "it answers UDP echo from the namespace ($addr)" udp_echo "$addr"
	tap_check "its tap is on the bridge" sh -c "ip -n '$ns' link show master br0 | grep -qF '$(field echo net.0.tap)'"
	api POST /v1/guests/echo/stop >/dev/null
	tap_check "it stops" state_is echo stopped
	tap_check "shoald ends again" shoald_stop_all
fi
# The pool's tender ends by itself when its control socket closes.
none_left() {
	for i in $(seq 50); do
		[ -z "$(shoald_tenders)" ] && return 0
		sleep 0.1
	done
	tap_diag "left: $(shoald_tenders)"
	return 1
}
tap_check "no proc tender is left" none_left
tap_done
