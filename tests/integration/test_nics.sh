#!/bin/sh
# NICs through shoald, end to end on the platform SHOAL_TEST_PLATFORM
# names (doc/testing.md), inside a network namespace of the test's own: a
# bridge on shoald's allow-list with an address pool (br0, 10.89.0.0/24)
# and one that is not (br1).  shoald runs in the namespace, makes each
# guest's tap there and puts it on br0; echo guests get the pool's
# addresses in order, MACs of their own, taps named after them; they
# answer UDP from the namespace and reach each other; a NIC on br1, an
# address outside the pool or held by another guest is refused, naming
# the field; addresses and MACs stay the guest's across a redeploy, a
# restart and a kill -9 of shoald, during which the guests go on
# answering (the data path does not pass through shoald; on proc the
# next shoald starts them again); a deleted guest's tap goes and its
# address is handed out again; /metrics and the guest's detail count its
# frames (KVM only: a proc tender has no counters).  Nothing leaves the
# machine: the bridges are the namespace's only links, and it is removed
# at the end.
. "$top_srcdir/tests/tap.sh"
tap_require_nic_guests
. "$top_srcdir/tests/lib/netns.sh"
netns_new shoal-nics || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d /tmp/shoal-nics-XXXXXX)
SHOALD_NETNS=$ns
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

netns_bridge br0 10.89.0.1/24
netns_bridge br1 10.90.0.1/24
ECHO=$GUESTS/echo.$PLATFORM

# deploy NAME NET-JSON [ARG...]: POST /v1/guests with the echo guest on that net.
deploy() {
	n=$1
	net=$2
	shift 2
	args=$(python3 -c 'import json,sys; print(json.dumps(["lan"] + sys.argv[1:]))' "$@")
	printf '{"name":"%s","image":"%s","memory_mib":16,"args":%s,"net":%s}' "$n" "$ECHO" "$args" "$net" >"$tmp/spec.json"
	api POST "/v1/guests?wait=1" "$tmp/spec.json" >/dev/null
}
field() { api GET "/v1/guests/$1" | jq_ "$2"; } # GUEST FIELD

# ---- the configuration ----
tap_check "shoald -n refuses a pool with host bits set, naming the setting" \
	sh -c "'$SHOALD' -n --config=/dev/null --bridge='br0 10.89.0.5/24' 2>&1 | grep -q 'bridge: br0: 10.89.0.5/24 has host bits set'"
tap_check "shoald -n refuses a gateway outside the pool" \
	sh -c "'$SHOALD' -n --config=/dev/null --bridge='br0 10.89.0.0/24 gateway=10.1.1.1' 2>&1 | grep -q 'not a host of the pool'"
tap_check "shoald -n refuses a bridge listed twice" \
	sh -c "'$SHOALD' -n --config=/dev/null --bridge=br0 --bridge='br0 10.0.0.0/8' 2>&1 | grep -q 'listed twice'"
tap_check "shoald starts in the namespace with br0 and its pool on the allow-list" \
	shoald_start --bridge="br0 10.89.0.0/24"

# ---- refusals ----
deploy bad '[{"name":"lan","bridge":"br1"}]'
tap_check "a NIC on a bridge not on the allow-list is refused: 400 naming net[0].bridge" \
	sh -c "[ '$(status)' = 400 ] && grep -q '\"field\": *\"net\\[0\\].bridge\"' '$tmp/body'"
deploy bad '[{"name":"lan","bridge":"br0","ipv4":"10.77.0.5/24"}]'
tap_check "an address outside the bridge's network is refused: 400 naming net[0].ipv4" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'net\\[0\\].ipv4' '$tmp/body' && grep -q 'not in bridge br0' '$tmp/body'"
deploy bad '[{"name":"lan","bridge":"br0","ipv4":"10.89.0.1"}]'
tap_check "the gateway's address is refused" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'gateway' '$tmp/body'"
deploy bad '[{"name":"lan","bridge":"nosuch0"}]'
tap_check "a bridge that is nowhere is refused the same way" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'net\\[0\\].bridge' '$tmp/body'"
tap_check "nothing was made of the refused deploys" \
	sh -c "! '$CTL' --socket '$SOCK' ls | grep -q bad"

# ---- three guests on br0 ----
deploy e1 '[{"name":"lan","bridge":"br0"}]'
s1=$(status)
deploy e2 '[{"name":"lan","bridge":"br0"}]'
s2=$(status)
deploy e3 '[{"name":"lan","bridge":"br0"}]' peer=10.89.0.2
s3=$(status)
tap_check "three echo guests with a NIC on br0 are deployed ($s1 $s2 $s3)" \
	sh -c "[ '$s1 $s2 $s3' = '201 201 201' ]"
for g in e1 e2 e3; do console_has $g "echo: ready" >/dev/null; done
a1=$(field e1 net.0.ipv4)
a2=$(field e2 net.0.ipv4)
a3=$(field e3 net.0.ipv4)
tap_check "they get the pool's first free addresses in order ($a1 $a2 $a3)" \
	sh -c "[ '$a1 $a2 $a3' = '10.89.0.2/24 10.89.0.3/24 10.89.0.4/24' ]"
tap_check "with the bridge's gateway" sh -c "[ '$(field e1 net.0.gateway)' = 10.89.0.1 ]"
m1=$(field e1 net.0.mac)
m2=$(field e2 net.0.mac)
m3=$(field e3 net.0.mac)
tap_check "and MACs of their own, locally administered unicast ($m1 $m2 $m3)" \
	python3 -c 'import sys
m = sys.argv[1:]
sys.exit(0 if len(set(m)) == 3 and all(int(x[:2], 16) & 3 == 2 for x in m) else 1)' "$m1" "$m2" "$m3"
if console_has e1 "ready on lan 10.89.0.2/24 mac $m1" && console_has e2 "ready on lan 10.89.0.3/24 mac $m2"; then
	tap_ok "each guest's console shows the address and MAC it was given"
else
	tap_not_ok "each guest's console shows the address and MAC it was given"
fi
t1=$(field e1 net.0.tap)
tap_check "the taps are named after the guests and are on br0 ($t1)" \
	sh -c "[ '$t1' = sh-e1.0 ] && ip -n '$ns' -o link show master br0 | grep -q 'sh-e1.0' && ip -n '$ns' -o link show master br0 | grep -q 'sh-e3.0'"
# A bridge port needs no address of the host's: none, so that no
# link-local route per tap slows the next tap down, and the host sends
# the guest no IPv6 frames of its own.
tap_check "the taps are up with no IPv6 address of the host's (address generation off)" \
	sh -c "ip -n '$ns' -o link show dev '$t1' | grep -q ',UP' && [ -z \"\$(ip -n '$ns' -6 -o addr show dev '$t1')\" ] && ip netns exec '$ns' cat /proc/sys/net/ipv6/conf/'$t1'/addr_gen_mode | grep -qx 1"
for a in 10.89.0.2 10.89.0.3 10.89.0.4; do
	tap_check "the guest at $a answers UDP echo from the namespace" udp_echo $a
done
tap_check "guests on one bridge reach each other (e3 hears e1's echo)" \
	console_has e3 "echo: peer 10.89.0.2 answered"
deploy dup '[{"name":"lan","bridge":"br0","ipv4":"10.89.0.3"}]'
tap_check "an address another guest holds is refused: 409 naming net[0].ipv4" \
	sh -c "[ '$(status)' = 409 ] && grep -q 'net\\[0\\].ipv4' '$tmp/body' && grep -q 'e2' '$tmp/body'"
deploy dup "[{\"name\":\"lan\",\"bridge\":\"br0\",\"mac\":\"$m1\"}]"
tap_check "a MAC another guest holds is refused: 409 naming net[0].mac" \
	sh -c "[ '$(status)' = 409 ] && grep -q 'net\\[0\\].mac' '$tmp/body'"

# ---- stable across a redeploy and a restart ----
# shoald holds each tap it made (kvm_net.c): the guest's next run takes
# the same device, on its bridge and up, rather than a new one.
ifindex() { ip -n "$ns" -o link show dev "$1" 2>/dev/null | cut -d: -f1; }
i1=$(ifindex sh-e1.0)
deploy e1 '[{"name":"lan","bridge":"br0"}]' idle_s=0
tap_check "a redeploy of e1 keeps its address and MAC" \
	sh -c "[ '$(status)' = 200 ] && [ '$(field e1 net.0.ipv4)' = '$a1' ] && [ '$(field e1 net.0.mac)' = '$m1' ]"
tap_check "and its tap: the same device, still on br0 (ifindex $i1, then $(ifindex sh-e1.0))" \
	sh -c "[ -n '$i1' ] && [ '$(ifindex sh-e1.0)' = '$i1' ] && ip -n '$ns' -o link show master br0 | grep -q 'sh-e1.0'"
i2=$(ifindex sh-e2.0)
"$CTL" --socket "$SOCK" restart e2 >/dev/null 2>&1
state_is e2 running
tap_check "a restart of e2 keeps its address and MAC" \
	sh -c "[ '$(field e2 net.0.ipv4)' = '$a2' ] && [ '$(field e2 net.0.mac)' = '$m2' ]"
tap_check "and its tap (ifindex $i2, then $(ifindex sh-e2.0))" \
	sh -c "[ -n '$i2' ] && [ '$(ifindex sh-e2.0)' = '$i2' ]"
console_has e2 "echo: ready" >/dev/null
tap_check "and it answers again once restarted" udp_echo 10.89.0.3
tap_check "a redeploy and a restart of guests with a NIC wait for no tap (its log has no 'held by another')" \
	sh -c "! grep -q 'held by another' '$tmp/shoald.log'"

# ---- a stopped guest's tap: let go of, off shoald's loop ----
deploy e5 '[{"name":"lan","bridge":"br0"}]'
console_has e5 "echo: ready" >/dev/null
api POST "/v1/guests/e5/stop?wait=1" >/dev/null
gone=0
tap_gone "$ns" sh-e5.0 && gone=1
tap_check "a stopped guest's tap is gone within 5 s (nothing restarts it)" \
	sh -c "[ '$(field e5 state)' = stopped ] && [ $gone = 1 ]"
"$CTL" --socket "$SOCK" start e5 >/dev/null 2>&1
state_is e5 running
tap_check "and it is made anew when the guest starts again" \
	sh -c "ip -n '$ns' -o link show master br0 | grep -q 'sh-e5.0'"
api DELETE /v1/guests/e5 >/dev/null
tap_check "a removed guest's tap is gone within 5 s" tap_gone "$ns" sh-e5.0

# ---- counters ----
udp_echo 10.89.0.2 >/dev/null
api GET /v1/guests/e1 >/dev/null
rx=$(jq_ net.0.counters.rx_packets <"$tmp/body")
tx=$(jq_ net.0.counters.tx_packets <"$tmp/body")
tap_check "the guest's detail counts its frames (rx $rx, tx $tx)" sh -c "[ '${rx:-0}' -gt 0 ] && [ '${tx:-0}' -gt 0 ]"
shoald_get /metrics >"$tmp/metrics"
tap_check "/metrics has per-NIC counters" \
	grep -q '^shoal_nic_rx_packets_total{guest="e1",nic="lan"} [1-9]' "$tmp/metrics"

# ---- kill -9 of shoald: the data path goes on, the next shoald finds the taps ----
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
tap_check "with shoald killed, the taps are still on br0" \
	sh -c "ip -n '$ns' -o link show master br0 | grep -c 'sh-e' | grep -qx 3"
if udp_echo 10.89.0.2 && udp_echo 10.89.0.4; then
	tap_ok "and the guests go on answering"
else
	tap_not_ok "and the guests go on answering"
fi
tap_check "a new shoald starts" shoald_start --bridge="br0 10.89.0.0/24"
tap_check "it finds each guest's tap again (its log says so)" \
	sh -c "grep -q 'guest e1: NIC lan found again: tap sh-e1.0 on bridge br0' '$tmp/shoald.log' && grep -q 'guest e3: NIC lan found again' '$tmp/shoald.log'"
tap_check "the guests keep their addresses and MACs" \
	sh -c "[ '$(field e1 net.0.ipv4) $(field e2 net.0.ipv4) $(field e3 net.0.ipv4)' = '$a1 $a2 $a3' ] && [ '$(field e3 net.0.mac)' = '$m3' ]"
tap_check "the re-adopted guest still answers" udp_echo 10.89.0.3

# ---- delete: the tap goes, the address is free again ----
api DELETE /v1/guests/e2 >/dev/null
tap_check "a deleted guest's tap is gone" tap_gone "$ns" sh-e2.0
deploy e4 '[{"name":"lan","bridge":"br0"}]'
tap_check "its address is handed out again ($(field e4 net.0.ipv4))" \
	sh -c "[ '$(field e4 net.0.ipv4)' = '10.89.0.3/24' ]"

tap_done
