#!/bin/sh
# Guests that misbehave in every way their ABI allows, all at once, beside
# idle latency guests, against one shoald, on the platform
# SHOAL_TEST_PLATFORM names (kvm, or proc: there a bad hypercall is a
# system call the guest's filter refuses, and the ring cases do not apply,
# since a proc guest does its own disk and NIC I/O): bad hypercalls (each
# kind), hostile disk and NIC ring entries (bad requests, bad connects, a
# producer run far ahead, a device argument outside memory), a console
# flood, an event storm, a guest that stops answering probes, one that
# crashes and is restarted for ever, a writable disk written to its end
# and then past it, and one that turns CPU-bound.  Each is contained:
# it ends with the reason its misbehaviour earns, or is rate-limited,
# deafened or restarted by policy, and its disk copy never grows.  The
# neighbours keep their instance and every probe answered (their p99
# beside it all is judged on proc, printed on kvm: see below); shoald's own CPU over
# the worst of it stays bounded; and once the
# hostile guests are removed nothing of them is left (tenders, taps, disk
# copies).  Nothing leaves the machine: the NICs' bridge is in a network
# namespace of the test's own, removed at the end.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
command -v mkfs.fat >/dev/null && command -v mcopy >/dev/null ||
	tap_skip_all "mkfs.fat and mcopy (dosfstools, mtools) are not installed"
tap_timing_lock
. "$top_srcdir/tests/lib/netns.sh"
netns_new shoal-hostile || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d /tmp/shoal-hostile-XXXXXX)
SHOALD_NETNS=$ns
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
HZ=$(getconf CLK_TCK)
SLO=2000
netns_bridge br0 10.93.0.1/24

# deploy NAME IMAGE CLASS EXTRA-JSON ARG...: POST /v1/guests, not waiting;
# EXTRA-JSON is more of the spec (",\"restart\":..."), or "".
deploy() {
	n=$1 img=$2 cls=$3 extra=$4
	shift 4
	args=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@")
	printf '{"name":"%s","image":"%s","memory_mib":16,"latency_class":"%s","slo_us":%s,"args":%s%s}' \
		"$n" "$GUESTS/$img.$PLATFORM" "$cls" "$SLO" "$args" "$extra" >"$tmp/spec.json"
	api POST "/v1/guests?wait=0" "$tmp/spec.json" >/dev/null
	case $(status) in 201 | 202) return 0 ;; esac
	tap_diag "deploy $n: HTTP $(status): $(cat "$tmp/body")"
	return 1
}
field() { api GET "/v1/guests/$1" | jq_ "$2"; } # GUEST FIELD
ticks() { awk '{print $14 + $15}' "/proc/$shoald_pid/stat"; }
# The neighbours' worst p99 over the placement window, and their misses.
worst_p99() {
	api GET /v1/placement | python3 -c 'import json,sys
print("%.0f" % max([g.get("p99_us", 0) for g in json.load(sys.stdin)["guests"] if g["name"].startswith("n-")] or [0]))'
}
misses() {
	m=0
	for g in n-1 n-2 n-3; do m=$((m + $(api GET "/v1/guests/$g/latency" | jq_ total.misses))); done
	echo $m
}
instances() { for g in n-1 n-2 n-3; do printf '%s ' "$(field $g instance)"; done; }
# ended GUEST STATUS TEXT: within 20 s its last exit has that status and a
# reason with TEXT.
ended() {
	for i in $(seq 100); do
		api GET "/v1/guests/$1" >"$tmp/g.json"
		st=$(jq_ last_exit.status <"$tmp/g.json")
		[ -n "$st" ] && break
		sleep 0.2
	done
	why=$(jq_ last_exit.reason <"$tmp/g.json")
	if [ "$st" = "$2" ] && case $why in *"$3"*) true ;; *) false ;; esac then
		return 0
	fi
	tap_diag "$1: last exit $st \"$why\", state $(jq_ state <"$tmp/g.json"); want $2 \"$3\""
	return 1
}

tap_check "shoald starts (placement on, a NIC bridge)" shoald_start --bridge="br0 10.93.0.0/24"

# The disks: a FAT image for the read-only cases, zeros (1 MiB, 2,048
# sectors) for the one written to its end.
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8
printf 'hello\n' >"$tmp/index.html"
mkfs.fat -C -F 12 "$tmp/www.img" 1024 >/dev/null && mcopy -i "$tmp/www.img" "$tmp/index.html" ::/
truncate -s 1M "$tmp/zero.img"
api POST "/v1/images?kind=disk" "$tmp/www.img" application/octet-stream >/dev/null
www=$(jq_ sha256 <"$tmp/body")
api POST "/v1/images?kind=disk" "$tmp/zero.img" application/octet-stream >/dev/null
zero=$(jq_ sha256 <"$tmp/body")
RO=",\"disks\":[{\"name\":\"www\",\"image\":\"$www\",\"readonly\":true}],\"restart\":\"never\""
RW=",\"disks\":[{\"name\":\"data\",\"image\":\"$zero\",\"readonly\":false}],\"restart\":\"never\""
NIC=',"net":[{"name":"lan","bridge":"br0"}],"restart":"never"'
NEVER=',"restart":"never"'

# ---- the neighbours, alone first ----
for g in n-1 n-2 n-3; do deploy $g idle latency "" || tap_not_ok "deploy $g"; done
for g in n-1 n-2 n-3; do state_is $g running || tap_diag "$g: $(field $g state)"; done
sleep 6
base=$(worst_p99)
inst0=$(instances)
miss0=$(misses)
tap_diag "the neighbours alone: worst p99 $base us (SLO $SLO us)"

# ---- every hostile guest at once ----
t0=$(date +%s.%N)
ok=1
rings=badring,badnet
[ "$PLATFORM" = proc ] && rings=
hostile=17
for v in ptr len arg count nr; do deploy bc-$v badcall latency "$NEVER" $v || ok=0; done
if [ -n "$rings" ]; then
	deploy br-req badring latency "$RO" requests www || ok=0
	deploy br-conn badring latency "$RO" connect www || ok=0
	deploy br-over badring latency "$RO" overrun www || ok=0
	deploy br-arg badring latency "$RO" arg || ok=0
	deploy bn-conn badnet latency "$NIC" connect lan || ok=0
	deploy bn-over badnet latency "$NIC" overrun lan || ok=0
	deploy bn-rx badnet latency "$NIC" rxoverrun lan || ok=0
else
	hostile=10
fi
deploy flood flood latency "$NEVER" 200 || ok=0
deploy storm storm latency ",\"restart\":\"never\"" delay_ms=500 || ok=0
deploy hang hang latency ',"restart":"on-failure"' 1 || ok=0
deploy crashy crash latency ',"restart":"always"' ud || ok=0
deploy fill blkcheck latency "$RW" write data 0 2048 7 || ok=0
deploy past blkcheck latency "$RW" write data 2040 16 7 || ok=0
deploy spin busy latency "$NEVER" percent=100 || ok=0
tap_check "$hostile hostile guests are deployed at once" test $ok = 1

# shoald's CPU over 10 s of the worst of it (flood, storm, crash loop,
# the spinner), sampled with no API call in between.
sleep 1
c0=$(ticks)
sleep 10
cpu=$(($(ticks) - c0))
tap_diag "shoald's CPU with every hostile guest: $cpu ticks in 10 s ($((cpu * 1000 / (10 * HZ))) per mille of a core)"
if [ $((cpu * 10)) -le $((10 * HZ)) ]; then
	tap_ok "shoald's CPU is bounded: $cpu ticks in 10 s (bound 10 % of a core)"
else
	tap_not_ok "shoald's CPU: $cpu ticks in 10 s, over 10 % of a core"
fi

# ---- the neighbours' latency ----
# The CPU-bound ones (the spinner, the flood, the storm) are classed batch
# and moved off the latency CPUs by the placement loop, each within its
# bound (2 periods of use, or of being runnable, on a crowded CPU); the
# neighbours' p99 over the placement window 15 s after the deploys is
# printed with the last moves, and on proc they must be back under their
# bound within 60 s of the deploys (24 s here, 29 s in a sanitized run
# beside other tests).  The bound is the SLO, or twice the neighbours' own
# p99 alone where that is already over it: a host that is itself a guest
# gave proc guests 4.4 ms tails with nothing else running.  On kvm, where the guests' ring-0 work is emulated here,
# the figure is printed only: there it was 29,941 us on a
# quiet run before a latency guest runnable all the time on a crowded
# CPU counted as CPU-bound (doc/testing.md).
now=$(date +%s.%N)
left=$(python3 -c "print(max(0.0, 15 - ($now - $t0)))")
sleep "$left"
tap_diag "the neighbours' worst p99 (placement window) 15 s after the deploys: $(worst_p99) us; alone $base us (SLO $SLO us)"
api GET /v1/placement | python3 -c 'import json,sys
for m in json.load(sys.stdin).get("moves", [])[-8:]: print("# move:", m.get("kind"), m.get("guest"), m.get("reason"))'
bound=$SLO
[ "${base:-0}" -gt $((SLO / 2)) ] && bound=$((base * 2))
under=
while :; do
	p99=$(worst_p99)
	el=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))")
	[ "${p99:-999999}" -le $bound ] && under=$el && break
	python3 -c "import sys; sys.exit(0 if $el < 60 else 1)" || break
	sleep 0.5
done
if [ "$PLATFORM" != proc ]; then
	tap_diag "the neighbours under $bound us: ${under:-not within 60} s after the deploys (p99 $p99 us)"
elif [ -n "$under" ]; then
	tap_ok "the neighbours are back under $bound us $under s after the deploys (p99 $p99 us; alone $base us, SLO $SLO us)"
else
	not_ok_unless_busy "the neighbours are back under $bound us within 60 s of the deploys" \
		"p99 $p99 us; alone $base us, SLO $SLO us"
fi

# ---- each misbehaviour met as it must be ----
if [ "$PLATFORM" = proc ]; then
	# The guest's filter refuses the system call; the report names it and its arguments.
	tap_check "badcall ptr: ended, the buffer named" ended bc-ptr 202 "(write) at rip"
	tap_check "badcall len: ended, the length named" ended bc-len 202 "0x10000000000"
	tap_check "badcall arg: ended, the argument named" ended bc-arg 202 "(writev) at rip"
	tap_check "badcall count: ended, the count named" ended bc-count 202 "0x41"
	tap_check "badcall nr: ended, the number named" ended bc-nr 202 "bad system call 777"
else
	tap_check "badcall ptr: ended, the buffer named" ended bc-ptr 202 "outside guest memory"
	tap_check "badcall len: ended, the length named" ended bc-len 202 "takes the write over"
	tap_check "badcall arg: ended, the argument named" ended bc-arg 202 "argument struct at"
	tap_check "badcall count: ended, the count named" ended bc-count 202 "more than 64 pieces"
	tap_check "badcall nr: ended, the number named" ended bc-nr 202 "does not exist"
fi
if [ -n "$rings" ]; then
	tap_check "bad disk requests are each answered with an error, and a good read still works" \
		console_has br-req "badring: ok"
	tap_check "bad disk ring connects are refused" console_has br-conn "badring: ok"
	tap_check "a disk request producer run ahead ends the guest, with the reason" \
		ended br-over 202 "request producer"
	tap_check "a device argument outside memory ends the guest" ended br-arg 202 ""
	tap_check "bad NIC ring connects are refused" console_has bn-conn "badnet: ok"
	tap_check "a transmit producer run ahead ends the guest, with the reason" \
		ended bn-over 202 "transmit request producer"
	tap_check "a receive producer run ahead ends the guest, with the reason" \
		ended bn-rx 202 "receive request producer"
else
	for c in "bad disk requests" "bad disk ring connects" "a disk request producer run ahead" \
		"a device argument outside memory" "bad NIC ring connects" "a transmit producer run ahead" \
		"a receive producer run ahead"; do
		tap_skip "$c" "not on proc: the guest does its own disk and NIC I/O, no tender reads its rings"
	done
fi
dropped=$(field flood console.dropped_bytes)
tap_check "the console flood is rate-limited (${dropped:-0} bytes dropped)" test "${dropped:-0}" -gt 0
storms=$(api GET /v1/guests/storm/latency | jq_ storm.storms)
tap_check "the event storm is detected and not listened to (storms ${storms:-0})" test "${storms:-0}" -ge 1
tap_check "the guest that stopped answering is hung and restarted by its policy" \
	sh -c "[ \"\$('$CTL' --socket '$SOCK' --json show hang | python3 -c 'import json,sys; print(json.load(sys.stdin).get(\"restarts\", 0))')\" -ge 1 ]"
# The most restarts the back-off allows since the deploy (200 ms, doubling
# up to 30 s: restart-backoff-ms and restart-backoff-max-ms); a restart is
# counted when its crash is, before its back-off.
r=$(field crashy restarts)
st=$(field crashy state)
now=$(date +%s.%N)
most=$(python3 -c "
t, b, n = $now - $t0, 0.2, 1
while t >= b: t -= b; b = min(2 * b, 30); n += 1
print(n)")
tap_check "the crash loop is restarted with back-off, not as fast as it crashes ($r restarts, at most $most by the back-off; now $st)" \
	test "${r:-0}" -ge 1 -a "${r:-0}" -le "$most"
tap_check "a writable disk is written to its last sector" console_has fill "blkcheck: ok write data 2048 sectors at 0"
tap_check "a write past its end is refused, and the guest ends with its own error" ended past 1 ""
tap_check "which the guest reports" console_has past "blkcheck: write"
sz=$(stat -c %s "$tmp/state/disks/past/data.img" 2>/dev/null)
tap_check "and its disk copy has not grown (${sz:-?} bytes)" test "${sz:-0}" = 1048576

# ---- the neighbours ----
tap_check "the neighbours still run, the same instances" test "$(instances)" = "$inst0"
miss1=$(misses)
tap_check "and missed no probe (misses $miss0, then $miss1)" test "$miss1" = "$miss0"
# ---- removed, nothing left ----
for g in bc-ptr bc-len bc-arg bc-count bc-nr ${rings:+br-req br-conn br-over br-arg bn-conn bn-over bn-rx} \
	flood storm hang crashy fill past spin; do
	"$CTL" --socket "$SOCK" rm "$g" >/dev/null 2>&1 || tap_diag "shoalctl rm $g failed"
done
left_guests() { api GET /v1/guests | python3 -c 'import json,sys
v = json.load(sys.stdin); v = v.get("guests", v) if isinstance(v, dict) else v
print(" ".join(sorted(g["name"] for g in v)))'; }
gone() { [ "$(left_guests)" = "n-1 n-2 n-3" ]; }
for i in $(seq 100); do gone && break; sleep 0.1; done
tap_check "every hostile guest is removed ($(left_guests))" gone
# The tenders: the three neighbours' and the warm pool's, nothing more.
for i in $(seq 50); do [ "$(shoald_tenders | wc -w)" -le 4 ] && break; sleep 0.1; done
tap_check "no tender of theirs is left ($(shoald_tenders | wc -w): the neighbours' and the pool's)" \
	test "$(shoald_tenders | wc -w)" -le 4
for i in $(seq 50); do [ -z "$(inns ip -o link show master br0)" ] && break; sleep 0.1; done
tap_check "no tap is left on the bridge" test -z "$(inns ip -o link show master br0)"
tap_check "no disk copy is left" sh -c "[ -z \"\$(ls '$tmp/state/disks' 2>/dev/null)\" ]"
tap_check "the neighbours still run, the same instances, after the removals" test "$(instances)" = "$inst0"
tap_done
