#!/bin/sh
# The proc column's network rate limit (doc/testing.md), end to end
# through shoald --backend=proc in a network namespace of the test's own:
# a proc guest reads and writes its tap itself, so the host kernel holds
# it to its spec's net_rate, with shoald's BPF program on the tap's clsact
# hooks (daemon/backend/proc_rate.h), dropping what is over the limit.
# Echo guests on br0: one limited to 20 packets a second, one to 20000
# bytes a second, one without a limit.  A burst of datagrams from the
# namespace is cut to about a second's worth on its way in (counted as
# rx_rate_dropped); datagrams that came in over three seconds while the
# guest was paused, echoed at once when it resumes, are cut on their way
# out (tx_rate_dropped); 64 KiB over TCP get through the bytes limit,
# backing off, in the limit's time; the guest without a limit echoes the
# whole burst; a bad rate is refused naming its field; /metrics has the drops;
# after a kill -9 of shoald the filters stay on the taps and the next
# shoald finds their counters; a restarted guest's new taps get the limit
# again; a deleted guest leaves no program or map.
SHOAL_TEST_PLATFORM=proc
export SHOAL_TEST_PLATFORM
. "$top_srcdir/tests/tap.sh"
tap_require_nic_guests
grep -q '^#define HAVE_PROC_RATE 1' "$top_builddir/config.h" 2>/dev/null ||
	tap_skip_all "shoald was built without the proc rate limit (configure found no clang bpf target or no libbpf: Debian's clang, libbpf-dev)"
command -v bpftool >/dev/null || tap_skip_all "bpftool is not installed (Debian: bpftool; scripts/deps.sh installs it)"
command -v tc >/dev/null || tap_skip_all "tc (iproute2) is not installed"
. "$top_srcdir/tests/lib/netns.sh"
netns_new shoal-rate || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d /tmp/shoal-rate-XXXXXX)
SHOALD_NETNS=$ns
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

netns_bridge br0 10.91.0.1/24
ECHO=$GUESTS/echo.proc
BURST=20 # a second of either rate, in datagrams (20000 bytes: 19 of 1000)

# deploy NAME [NET_RATE-JSON]: the echo guest with a NIC on br0.
deploy() {
	printf '{"name":"%s","image":"%s","memory_mib":16,"args":["lan"],"net":[{"name":"lan","bridge":"br0"}]%s}' \
		"$1" "$ECHO" "${2:+,\"net_rate\":$2}" >"$tmp/spec.json"
	api POST "/v1/guests?wait=1" "$tmp/spec.json" >/dev/null
}
field() { api GET "/v1/guests/$1" | jq_ "$2"; } # GUEST FIELD
# blast ADDR N SIZE: N datagrams of SIZE bytes to ADDR's echo port at
# once, then the echoes for 1.5 s; prints how many came back.
blast() {
	inns python3 - "$@" <<'PY'
import socket, sys, time
addr, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("10.91.0.1", 40000))
for i in range(n):
    s.sendto(bytes([i % 256]) * size, (addr, 7))
got, end = 0, time.time() + 1.5
s.settimeout(0.1)
while time.time() < end:
    try:
        s.recvfrom(65536)
        got += 1
    except socket.timeout:
        pass
print(got)
PY
}
# send_only ADDR N SIZE: N datagrams from port 40001, where late listens.
send_only() {
	inns python3 - "$@" <<'PY'
import socket, sys
addr, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.91.0.1", 40001))
for i in range(n):
    s.sendto(bytes([i % 256]) * size, (addr, 7))
PY
}
# late FILE: the echoes of what send_only sent, until 1.5 s after FILE
# appears (the guest resumed), or 30 s.
late() {
	inns python3 - "$@" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.91.0.1", 40001))
open(sys.argv[1] + ".listening", "w").close()
got, end, cap = 0, None, time.time() + 30
s.settimeout(0.1)
while time.time() < (end or cap):
    if end is None and os.path.exists(sys.argv[1]):
        end = time.time() + 1.5
    try:
        s.recvfrom(65536)
        got += 1
    except socket.timeout:
        pass
print(got)
PY
}
counter() { api GET "/v1/guests/$1" | jq_ "net.0.counters.$2"; } # GUEST COUNTER
# filters TAP: the BPF programs on TAP's hooks, as "ingress-name egress-name".
filters() {
	i=$(tc -n "$ns" filter show dev "$1" ingress 2>/dev/null | grep -o 'shoal_tx\|shoal_rx' | head -n 1)
	e=$(tc -n "$ns" filter show dev "$1" egress 2>/dev/null | grep -o 'shoal_tx\|shoal_rx' | head -n 1)
	echo "$i $e"
}
prog_ids() { tc -n "$ns" filter show dev "$1" ingress 2>/dev/null | sed -n 's/.* id \([0-9]*\).*/\1/p'; }

# shoald, and the first limited guest, before any result: where the kernel
# will not load or attach the program the whole test is skipped.
if ! shoald_start --bridge="br0 10.91.0.0/24"; then
	echo "Bail out! shoald --backend=proc did not start: $(tail -n 5 "$tmp/shoald.log" | tr '\n' ' ')"
	exit 1
fi
deploy pk '{"packets_per_s":20}'
s1=$(status)
if [ "$s1" != 201 ] && grep -q 'did not load the rate limit\|cannot attach the rate limit' "$tmp/body"; then
	tap_skip_all "this kernel or shoald's privileges do not let it run the rate limit's BPF program: $(jq_ error.message <"$tmp/body")"
fi
[ "$s1" = 201 ] || tap_diag "pk: $(cat "$tmp/body")"

# ---- refusals ----
deploy bad '{"packets_per_s":-5}'
tap_check "a negative rate is refused: 400 naming net_rate.packets_per_s" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'net_rate.packets_per_s' '$tmp/body'"
deploy bad '{"bytes_per_s":"fast"}'
tap_check "a rate that is no number is refused: 400 naming net_rate.bytes_per_s" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'net_rate.bytes_per_s' '$tmp/body'"
deploy bad '{"packets_per_s":2199023255553}'
tap_check "a rate past 2^40 is refused, naming the field" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'net_rate.packets_per_s must be a whole number from 0' '$tmp/body'"
deploy bad '{"frames_per_s":5}'
tap_check "an unknown field of net_rate is refused, naming it" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'net_rate.frames_per_s' '$tmp/body'"

# ---- three guests ----
deploy by '{"bytes_per_s":20000}'
s2=$(status)
deploy free
s3=$(status)
deploy hand '{"packets_per_s":1000}'
tap_check "guests limited to 20 packets/s, 20000 bytes/s and one without a limit are deployed ($s1 $s2 $s3)" \
	sh -c "[ '$s1 $s2 $s3' = '201 201 201' ]"
for g in pk by free; do console_has $g "echo: ready" >/dev/null; done
tap_check "the spec says the limit" sh -c "[ '$(field pk spec.net_rate.packets_per_s)' = 20 ]"
tap_check "the limited taps carry the program on both hooks (sh-pk.0: $(filters sh-pk.0))" \
	sh -c "[ '$(filters sh-pk.0)' = 'shoal_tx shoal_rx' ] && [ '$(filters sh-by.0)' = 'shoal_tx shoal_rx' ]"
tap_check "the one without a limit has none" sh -c "[ '$(filters sh-free.0)' = ' ' ]"
a_pk=$(field pk net.0.ipv4)
a_pk=${a_pk%/*}
a_by=$(field by net.0.ipv4)
a_by=${a_by%/*}
a_free=$(field free net.0.ipv4)
a_free=${a_free%/*}
# The namespace knows the guests' MACs for good: no ARP of its own
# competes with the datagrams for the buckets, or goes unanswered while a
# guest is paused (which would drop what waits on it).
for g in pk by free; do
	a=$(field $g net.0.ipv4)
	ip -n "$ns" neigh replace "${a%/*}" lladdr "$(field $g net.0.mac)" dev br0 nud permanent
done
for a in $a_pk $a_by $a_free; do udp_echo "$a" >/dev/null; done
sleep 1.2 # the buckets full again after the first datagrams and ARP

# ---- packets: in ----
N=100
g=$(blast "$a_pk" $N 64)
rx=$(counter pk rx_rate_dropped)
tx=$(counter pk tx_rate_dropped)
tap_diag "pk: $g of $N datagrams came back; dropped on the way in $rx, on the way out $tx"
tap_check "20 packets/s: of $N datagrams at once, $g come back (fewer than $N - $BURST; some do)" \
	sh -c "[ '$g' -ge 1 ] && [ '$g' -lt $((N - BURST)) ]"
tap_check "the guest's detail counts those dropped on the way in (rx_rate_dropped $rx)" \
	sh -c "[ '$rx' -ge $((N - 2 * BURST)) ]"
g=$(blast "$a_free" $N 64)
tap_check "the guest without a limit beside it echoes the burst ($g of $N)" \
	sh -c "[ '$g' -ge $((N * 9 / 10)) ]"
tap_check "and counts no drops (rx $(counter free rx_rate_dropped), tx $(counter free tx_rate_dropped))" \
	sh -c "[ '$(counter free rx_rate_dropped) $(counter free tx_rate_dropped)' = '0 0' ]"

# ---- out: what came in over three seconds, echoed at once ----
# tx_out GUEST ADDR SIZE COUNT: COUNT datagrams in while it is paused,
# three times a second apart (each within what the bucket in has
# regained), then echoed together when it resumes: the bucket out holds
# a second's worth; the margin below allows for half a second's refill
# while the guest echoes them on a busy machine.
tx_out() {
	rx0=$(counter "$1" rx_rate_dropped)
	tx0=$(counter "$1" tx_rate_dropped)
	sleep 1.2
	"$CTL" --socket "$SOCK" pause "$1" >/dev/null || return 1
	rm -f "$tmp/resumed" "$tmp/resumed.listening"
	late "$tmp/resumed" >"$tmp/late" &
	lp=$!
	for i in $(seq 100); do
		[ -e "$tmp/resumed.listening" ] && break
		sleep 0.1
	done
	send_only "$2" "$4" "$3"
	sleep 1.2
	send_only "$2" "$4" "$3"
	sleep 1.2
	send_only "$2" "$4" "$3"
	"$CTL" --socket "$SOCK" resume "$1" >/dev/null || return 1
	: >"$tmp/resumed"
	wait $lp
	got=$(tail -n 1 "$tmp/late")
	rx1=$(counter "$1" rx_rate_dropped)
	tx1=$(counter "$1" tx_rate_dropped)
	tap_diag "$1: $((3 * $4)) datagrams in while paused; $got echoed back; dropped in $((rx1 - rx0)), out $((tx1 - tx0))"
}
tx_out pk "$a_pk" 64 18
tap_check "20 packets/s: 54 datagrams taken in over three seconds, echoed at once: $got come back" \
	sh -c "[ '${got:-0}' -ge 1 ] && [ '${got:-0}' -lt $((54 - BURST)) ]"
tap_check "the rest counted as dropped on the way out (tx_rate_dropped +$((tx1 - tx0))), none on the way in" \
	sh -c "[ $((tx1 - tx0)) -ge $((54 - BURST - 10)) ] && [ $((rx1 - rx0)) -eq 0 ]"

# ---- bytes ----
N=60
sleep 1.2
g=$(blast "$a_by" $N 1000)
rx=$(counter by rx_rate_dropped)
tap_diag "by: $g of $N datagrams of 1000 bytes came back; dropped on the way in $rx, on the way out $(counter by tx_rate_dropped)"
tap_check "20000 bytes/s: of $N datagrams of 1000 bytes at once, $g come back (fewer than $N - 19)" \
	sh -c "[ '$g' -ge 1 ] && [ '$g' -lt $((N - 19)) ]"
tap_check "those dropped on the way in are counted (rx_rate_dropped $rx)" \
	sh -c "[ '$rx' -ge $((N - 2 * 19)) ]"
tx_out by "$a_by" 1000 17
tap_check "20000 bytes/s: 51 datagrams of 1000 bytes taken in over three seconds, echoed at once: $got come back" \
	sh -c "[ '${got:-0}' -ge 1 ] && [ '${got:-0}' -lt $((51 - 19)) ]"
tap_check "the rest counted as dropped on the way out (tx_rate_dropped +$((tx1 - tx0))), none on the way in" \
	sh -c "[ $((tx1 - tx0)) -ge $((51 - 20 - 10)) ] && [ $((rx1 - rx0)) -eq 0 ]"

# ---- TCP backs off and gets through ----
# tcp_echo ADDR BYTES: BYTES over TCP to ADDR's echo port and back, every
# byte compared, within 60 s; prints the time it took (ms).
tcp_echo() {
	inns python3 - "$@" <<'PY'
import socket, sys, time
data = bytes((i * 7) % 251 for i in range(int(sys.argv[2])))
t0 = time.time()
s = socket.create_connection((sys.argv[1], 7), timeout=60)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while len(got) < len(data):
    b = s.recv(65536)
    if not b:
        break
    got += b
print(int((time.time() - t0) * 1000))
sys.exit(0 if got == data else 1)
PY
}
sleep 1.2
rx0=$(counter by rx_rate_dropped)
tx0=$(counter by tx_rate_dropped)
if ms=$(tcp_echo "$a_by" 65536); then
	tap_ok "64 KiB over TCP through the 20000 bytes/s limit come back whole ($ms ms; dropped in +$(($(counter by rx_rate_dropped) - rx0)), out +$(($(counter by tx_rate_dropped) - tx0)))"
else
	tap_not_ok "64 KiB over TCP through the 20000 bytes/s limit come back whole"
fi
base=$(tcp_echo "$a_free" 65536)
# 64 KiB past a 20000-byte burst cannot take less than 2.2 s at 20000 bytes/s;
# the guest without a limit, the same run, takes milliseconds.
tap_check "they took the limit's time: over 5 times the unlimited guest's ($ms ms against $base ms)" \
	sh -c "[ '${ms:-0}' -gt $((5 * ${base:-0})) ] && [ '${base:-0}' -gt 0 ]"

# ---- /metrics ----
shoald_get /metrics >"$tmp/metrics"
tap_check "/metrics has the drops each way per NIC" \
	sh -c "grep -q '^shoal_nic_rx_rate_dropped_total{guest=\"pk\",nic=\"lan\"} [1-9]' '$tmp/metrics' && grep -q '^shoal_nic_tx_rate_dropped_total{guest=\"by\",nic=\"lan\"} [1-9]' '$tmp/metrics' && grep -q '^shoal_nic_rx_rate_dropped_total{guest=\"free\",nic=\"lan\"} 0' '$tmp/metrics'"

# ---- kill -9 of shoald: the limit stays on the tap ----
rx_before=$(counter pk rx_rate_dropped)
ids=$(prog_ids sh-pk.0)
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
tap_check "with shoald killed, the filters stay on the taps" \
	sh -c "[ '$(filters sh-pk.0)' = 'shoal_tx shoal_rx' ] && [ '$(prog_ids sh-pk.0)' = '$ids' ]"
# A limit taken off a tap by hand meanwhile: the next shoald says so.
tc -n "$ns" qdisc del dev sh-hand.0 clsact
tap_check "a new shoald starts" shoald_start --bridge="br0 10.91.0.0/24"
tap_check "it finds the limit again on pk's tap (its log says so)" \
	grep -q 'guest pk: its network rate limit found again on tap sh-pk.0' "$tmp/shoald.log"
tap_check "and warns of a limited guest whose tap lost its limit" \
	grep -q 'guest hand: its taps carry no network rate limit' "$tmp/shoald.log"
tap_check "pk is the same process (re-adopted, not restarted)" \
	sh -c "[ '$(field pk restarts)' = 0 ]"
tap_check "its counters carry on (rx_rate_dropped $(counter pk rx_rate_dropped), $rx_before before)" \
	sh -c "[ '$(counter pk rx_rate_dropped)' -ge '$rx_before' ] && [ '$rx_before' -gt 0 ]"
sleep 1.2
N=100
g=$(blast "$a_pk" $N 64)
rx=$(counter pk rx_rate_dropped)
tap_check "the re-adopted guest is held to its limit: $g of $N come back, rx_rate_dropped now $rx" \
	sh -c "[ '$g' -ge 1 ] && [ '$g' -lt $((N - BURST)) ] && [ '$rx' -ge $((rx_before + N - 2 * BURST)) ]"

# ---- a restart: new taps, the limit again, the old program gone ----
old=$(prog_ids sh-by.0)
"$CTL" --socket "$SOCK" restart by >/dev/null 2>&1
state_is by running
console_has by "echo: ready" >/dev/null
new=$(prog_ids sh-by.0)
tap_check "a restarted guest's new tap carries the limit again (program $old, now $new)" \
	sh -c "[ '$(filters sh-by.0)' = 'shoal_tx shoal_rx' ] && [ -n '$new' ] && [ '$new' != '$old' ]"
for i in $(seq 50); do
	bpftool prog show id "$old" >/dev/null 2>&1 || break
	sleep 0.1
done
tap_check "and the old program is gone" sh -c "! bpftool prog show id '$old' >/dev/null 2>&1"

# ---- removal leaves nothing ----
maps=$(bpftool prog show id "$ids" 2>/dev/null | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p')
# What one guest's limit costs the kernel, for doc/guests.md.
tap_diag "$(bpftool prog show id "$ids" 2>/dev/null | tr -s ' \n' ' ')"
for m in $(echo "$maps" | tr , ' '); do tap_diag "$(bpftool map show id "$m" 2>/dev/null | tr -s ' \n' ' ')"; done
tap_check "pk's program ($ids) and maps ($maps) are in the kernel" \
	sh -c "[ -n '$ids' ] && [ -n '$maps' ] && bpftool prog show id '$ids' >/dev/null 2>&1"
api DELETE /v1/guests/pk >/dev/null
tap_check "a deleted guest's tap is gone" tap_gone "$ns" sh-pk.0
gone=1
for i in $(seq 50); do
	gone=1
	bpftool prog show id "$ids" >/dev/null 2>&1 && gone=0
	for m in $(echo "$maps" | tr , ' '); do
		bpftool map show id "$m" >/dev/null 2>&1 && gone=0
	done
	[ $gone = 1 ] && break
	sleep 0.1
done
tap_check "and its program and maps are gone from the kernel" [ $gone = 1 ]
tap_check "the guest without a limit still answers" udp_echo "$a_free"

tap_done
