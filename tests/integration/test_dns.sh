#!/bin/sh
# Names through PowerDNS, end to end on the platform SHOAL_TEST_PLATFORM
# names (doc/testing.md): the test starts its own pdns_server (Debian's
# pdns-server and pdns-backend-remote), with a private configuration,
# on loopback and a high port inside a network namespace of its own, with
# shoald (dns-zone guests.example) as its remote backend on shoald's
# socket.  Echo guests on a bridge of the namespace get addresses; dig
# (bind9-dnsutils) finds NAME.guests.example and the names a spec adds,
# gets NXDOMAIN for names nobody has, and nothing for a stopped guest;
# names that are not host names, the zone's own and names another guest
# holds are refused at deploy, naming dns[i]; the API and shoalctl show
# each guest's names; bad input on shoald's socket (not JSON, an unknown
# method, a line too long) gets an error answer and harms nothing; after
# a kill -9 of shoald PowerDNS answers SERVFAIL, never an address, until
# the next shoald is up, and then the names resolve again.  An on-demand
# guest is deployed asleep; 50 concurrent queries for it start it once
# and all get its address, which then answers; with its NIC still for
# idle_stop_s it sleeps again (events and /metrics say so), a query wakes
# it again, also while it is being stopped; one that cannot come up gets
# SERVFAIL.  Nothing leaves the machine: the namespace is removed at the
# end, and PowerDNS with it.
. "$top_srcdir/tests/tap.sh"
tap_require_nic_guests
. "$top_srcdir/tests/lib/pdns.sh"
[ -x "$PDNS" ] || tap_skip_all "pdns_server is not installed (scripts/deps.sh installs pdns-server)"
ls /usr/lib/*/pdns/libremotebackend.so >/dev/null 2>&1 ||
	tap_skip_all "PowerDNS's remote backend is not installed (scripts/deps.sh installs pdns-backend-remote)"
command -v dig >/dev/null || tap_skip_all "dig is not installed (scripts/deps.sh installs bind9-dnsutils)"
. "$top_srcdir/tests/lib/netns.sh"
netns_new shoal-dns || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d /tmp/shoal-dns-XXXXXX)
SHOALD_NETNS=$ns
. "$top_srcdir/tests/lib/shoald.sh"
hold_pid=
trap '[ -z "$hold_pid" ] || kill "$hold_pid"; pdns_stop; shoald_stop_all; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

netns_bridge br0 10.89.0.1/24
ECHO=$GUESTS/echo.$PLATFORM
PORT=15353
DNSSOCK=$tmp/run/dns.sock

# deploy NAME NET-JSON DNS-JSON: POST /v1/guests with the echo guest.
deploy() {
	printf '{"name":"%s","image":"%s","memory_mib":16,"args":["lan"],"net":%s,"dns":%s}' \
		"$1" "$ECHO" "$2" "$3" >"$tmp/spec.json"
	api POST "/v1/guests?wait=1" "$tmp/spec.json" >/dev/null
}
# q NAME [TYPE]: dig's answer section (+short), from inside the namespace.
q() { inns dig @127.0.0.1 -p $PORT +short +tries=1 +time=3 "$1" "${2:-A}" 2>/dev/null; }
# rcode NAME: the answer's status (NOERROR, NXDOMAIN, SERVFAIL, ...).
rcode() {
	inns dig @127.0.0.1 -p $PORT +tries=1 +time=3 "$1" A 2>/dev/null |
		sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
# resolves NAME ADDR: dig finds ADDR for NAME within 5 s (a TTL of 1 s).
resolves() {
	for i in $(seq 50); do
		[ "$(q "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	tap_diag "$1: dig says \"$(q "$1")\" (status $(rcode "$1")), expected $2"
	return 1
}
status_is() { # NAME RCODE, within 5 s
	for i in $(seq 50); do
		[ "$(rcode "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	tap_diag "$1: status $(rcode "$1"), expected $2; the answer: $(q "$1")"
	return 1
}
# backend LINE...: each LINE sent on shoald's DNS socket; the answers, a line each.
backend() {
	python3 - "$DNSSOCK" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
data = b""
for line in sys.argv[2:]:
    s.sendall(line.encode() + b"\n")
    while not data.endswith(b"\n"):
        b = s.recv(65536)
        if not b:
            break
        data += b
    sys.stdout.write(data.decode())
    data = b""
PY
}

# ---- the configuration ----
tap_check "shoald -n refuses a dns-zone that is not a host name, naming it" \
	sh -c "'$SHOALD' -n --config=/dev/null --dns-zone='guests..example' 2>&1 | grep -q 'dns-zone must be a host name'"
tap_check "and a dns-ns that is not one" \
	sh -c "'$SHOALD' -n --config=/dev/null --dns-zone=guests.example --dns-ns='ns 1' 2>&1 | grep -q 'dns-ns must be a host name'"
tap_check "shoald starts in the namespace with dns-zone guests.example." \
	shoald_start --bridge="br0 10.89.0.0/24" --dns-zone=guests.example. --dns-ttl=1 --dns-wake-timeout-ms=8000
tap_check "it serves PowerDNS's remote backend on its run directory's dns.sock" \
	sh -c "[ -S '$DNSSOCK' ] && grep -q 'DNS: zone guests.example, PowerDNS.s remote backend on $DNSSOCK' '$tmp/shoald.log'"

# ---- PowerDNS, the test's own: loopback of the namespace, a private configuration ----
pdns_start "$DNSSOCK" $PORT distributor-threads=1 receiver-threads=1
up=
for i in $(seq 100); do
	rc=$(rcode guests.example)
	[ -n "$rc" ] && up=$rc && break
	sleep 0.1
done
[ -n "$up" ] || {
	tap_diag "pdns_server's log:" "$(tail -20 "$tmp/pdns.log")"
	echo "Bail out! pdns_server does not answer on 127.0.0.1:$PORT in the namespace"
	exit 1
}
# ok DESCRIPTION SHELL-CONDITION: a check of several steps, with this script's functions.
ok() {
	if eval "$2"; then tap_ok "$1"; else tap_not_ok "$1"; fi
}
ok "PowerDNS answers for the zone: its SOA, from shoald's configuration" \
	'q guests.example SOA | grep -q "^ns.guests.example. hostmaster.guests.example. [0-9]* 60 30 3600 1\$"'
ok "and its NS" '[ "$(q guests.example NS)" = ns.guests.example. ]' 

# ---- refusals at deploy ----
deploy bad '[{"name":"lan","bridge":"br0"}]' '["not a host"]'
tap_check "a name that is not a host name is refused: 400 naming dns[0]" \
	sh -c "[ '$(status)' = 400 ] && grep -q '\"field\": *\"dns\\[0\\]\"' '$tmp/body' && grep -q 'must be a host name' '$tmp/body'"
deploy bad '[{"name":"lan","bridge":"br0"}]' '["ok.example.org","*.example.org"]'
tap_check "a wildcard is refused the same way, naming dns[1]" \
	sh -c "[ '$(status)' = 400 ] && grep -q '\"field\": *\"dns\\[1\\]\"' '$tmp/body'"
deploy bad '[{"name":"lan","bridge":"br0"}]' '["e1.guests.example"]'
tap_check "a name directly under the zone (a guest's own) is refused: 400 naming dns[0]" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'dns\\[0\\]' '$tmp/body' && grep -q 'directly under the zone' '$tmp/body'"
deploy bad '[{"name":"lan","bridge":"br0"}]' '["guests.example."]'
tap_check "and so is the zone itself" \
	sh -c "[ '$(status)' = 400 ] && grep -q 'the zone itself' '$tmp/body'"
tap_check "nothing was made of the refused deploys" \
	sh -c "! '$CTL' --socket '$SOCK' ls | grep -q bad"

# ---- guests with addresses, and names of their own ----
deploy e1 '[{"name":"lan","bridge":"br0"}]' '[]'
s1=$(status)
deploy e2 '[{"name":"lan","bridge":"br0"}]' '["www.example.org","Shop.Example.COM.","api.e1.guests.example"]'
s2=$(status)
tap_check "two echo guests with addresses are deployed ($s1 $s2)" sh -c "[ '$s1 $s2' = '201 201' ]"
a1=$(api GET /v1/guests/e1 | jq_ net.0.ipv4)
a2=$(api GET /v1/guests/e2 | jq_ net.0.ipv4)
a1=${a1%/*}
a2=${a2%/*}
tap_check "e1.guests.example resolves to e1's address ($a1)" resolves e1.guests.example "$a1"
tap_check "e2.guests.example to e2's ($a2)" resolves e2.guests.example "$a2"
tap_check "whatever the case of the question" resolves E2.Guests.EXAMPLE "$a2"
tap_check "e2's own name www.example.org resolves to its address" resolves www.example.org "$a2"
tap_check "and shop.example.com, given as Shop.Example.COM." resolves shop.example.com "$a2"
tap_check "and api.e1.guests.example, a name in the zone below another guest's" resolves api.e1.guests.example "$a2"
ok "www.example.org is an apex of its own: its SOA comes from shoald's configuration" \
	'q www.example.org SOA | grep -q "^ns.guests.example. "' 
tap_check "an unknown name in the zone gets NXDOMAIN" status_is nosuch.guests.example NXDOMAIN
tap_check "and so does one below a guest's name" status_is x.e1.guests.example NXDOMAIN
tap_check "a name outside every zone of shoald's is refused (REFUSED)" status_is other.example.net REFUSED
ok "an AAAA question about a guest gets no answer" '[ -z "$(q e1.guests.example AAAA)" ]' 
if udp_echo "$a2"; then
	tap_ok "the address the name gives answers (UDP echo from the namespace)"
else
	tap_not_ok "the address the name gives answers (UDP echo from the namespace)"
fi

deploy e3 '[{"name":"lan","bridge":"br0"}]' '["WWW.example.org"]'
tap_check "a name another guest holds is refused: 409 naming dns[0] and the guest" \
	sh -c "[ '$(status)' = 409 ] && grep -q 'dns\\[0\\]' '$tmp/body' && grep -q 'guest e2' '$tmp/body'"
deploy e2 '[{"name":"lan","bridge":"br0"}]' '["www.example.org","shop.example.com","api.e1.guests.example"]'
tap_check "a redeploy of e2 with its own names is no conflict" sh -c "[ '$(status)' = 200 ]"

# ---- the API and shoalctl ----
api GET /v1/guests/e2 >/dev/null
tap_check "GET /v1/guests/e2 lists its names, NAME.ZONE first" \
	sh -c "[ \"\$(python3 -c 'import json,sys; print(\" \".join(json.load(open(sys.argv[1]))[\"dns\"]))' '$tmp/body')\" = 'e2.guests.example www.example.org shop.example.com api.e1.guests.example' ]"
tap_check "and its spec keeps them in lower case" \
	sh -c "python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))[\"spec\"][\"dns\"][1] == \"shop.example.com\" else 1)' '$tmp/body'"
api GET /v1/guests >/dev/null
tap_check "the guest list has each guest's names" \
	sh -c "python3 -c 'import json,sys; g = {x[\"name\"]: x[\"dns\"] for x in json.load(open(sys.argv[1]))}; sys.exit(0 if g[\"e1\"] == [\"e1.guests.example\"] and len(g[\"e2\"]) == 4 else 1)' '$tmp/body'"
ok "shoalctl show e2 shows its names" \
	'run show 0 show e2 && says show out "dns:" && says show out www.example.org && says show out api.e1.guests.example'
ok "shoalctl ls has a DNS column (e2.guests.example +3)" \
	'run ls 0 ls && says ls out DNS && says ls out "e2.guests.example +3"'
ok "shoalctl host --json has the DNS backend's zone and counts" \
	'run host 0 --json host && says host out "\"zone\":\"guests.example\"" && says host out "\"bad_requests\":"' 

# ---- bad input on shoald's socket ----
backend 'this is not JSON' '{"method":"frobnicate","parameters":{}}' '[1,2]' \
	'{"method":"lookup","parameters":{"qname":7,"qtype":"A"}}' \
	'{"method":"lookup","parameters":{"qname":"e1.guests.example.","qtype":"A"}}' >"$tmp/bad.out"
tap_check "not JSON gets result false and why" \
	sh -c "sed -n 1p '$tmp/bad.out' | grep -q '\"result\":false.*not JSON'"
tap_check "an unknown method gets result false naming it" \
	sh -c "sed -n 2p '$tmp/bad.out' | grep -q 'unknown method .*frobnicate'"
tap_check "a request that is not an object, and a lookup without a good qname, the same" \
	sh -c "sed -n 3p '$tmp/bad.out' | grep -q '\"result\":false' && sed -n 4p '$tmp/bad.out' | grep -q 'lookup needs qname'"
tap_check "and the same connection still answers a good lookup" \
	sh -c "sed -n 5p '$tmp/bad.out' | grep -q '\"content\":\"$a1\"'"
python3 - "$DNSSOCK" >"$tmp/huge.out" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(b"x" * (1 << 20))
except OSError:
    pass
data = b""
while True:
    try:
        b = s.recv(65536)
    except OSError:
        break
    if not b:
        break
    data += b
print(data.decode().strip())
print("closed")
PY
tap_check "a request of 1 MiB with no end of line gets an error and the connection ends" \
	sh -c "grep -q 'longer than 65536 bytes' '$tmp/huge.out' && grep -q closed '$tmp/huge.out'"
python3 - "$DNSSOCK" <<'PY'
import socket, sys
# 300 connections at once, each leaving half a line: more than shoald takes.
socks = []
for i in range(300):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b'{"method":')
    socks.append(s)
for s in socks:
    s.close()
PY
ok "after the bad input and 300 idle connections, shoald's API answers" \
	'"$CTL" --socket "$SOCK" --timeout 5 host >/dev/null' 
tap_check "and the names still resolve" resolves e1.guests.example "$a1"

# ---- a stopped guest has no address in DNS ----
"$CTL" --socket "$SOCK" stop e1 >/dev/null 2>&1
tap_check "a stopped guest's name gets NXDOMAIN" status_is e1.guests.example NXDOMAIN
"$CTL" --socket "$SOCK" start e1 >/dev/null 2>&1
tap_check "started again, it resolves again" resolves e1.guests.example "$a1"

# ---- on demand: asleep until a query, woken once by many, asleep again when idle ----
# events_of GUEST TYPE [TEXT]: how many events of that type (with TEXT) the guest has had.
events_of() {
	api GET "/v1/events?limit=0" >/dev/null
	python3 -c 'import json,sys
g, t, text = sys.argv[2], sys.argv[3], sys.argv[4]
print(sum(1 for x in json.load(open(sys.argv[1])) if x["guest"] == g and x["type"] == t and text in x["message"]))' "$tmp/body" "$1" "$2" "${3:-}"
}
printf '{"name":"sleeper","image":"%s","memory_mib":16,"args":["lan"],"net":[{"name":"lan","bridge":"br0"}],"dns":["sleepy.example.org"],"on_demand":{"idle_stop_s":8}}' "$ECHO" >"$tmp/spec.json"
api POST "/v1/guests?wait=1" "$tmp/spec.json" >/dev/null
ok "an on-demand guest is deployed (201) but not started" \
	'[ "$(status)" = 201 ] && [ "$(jq_ state <"$tmp/body")" = stopped ] && [ "$(jq_ desired <"$tmp/body")" = stopped ]'
as=$(api GET /v1/guests/sleeper | jq_ net.0.ipv4)
as=${as%/*}
ok "it has its names and an address ($as) while it sleeps" \
	'[ -n "$as" ] && api GET /v1/guests/sleeper | grep -q sleepy.example.org'
ok "shoalctl show says it is on demand, and its idle time" \
	'run showod 0 show sleeper && says showod out "on demand:" && says showod out "after 8 s idle"'
i=0
digs=
while [ $i -lt 50 ]; do
	# Two tries of 5 s: 50 at once on a loaded machine may lose a datagram;
	# a SERVFAIL or a wrong address is not retried.  A retry comes 5 s
	# after the first: the guest's idle_stop_s (8 s) keeps it awake until
	# then, or the retry would wake it again (its taps carry no frame of
	# the host's own, so a guest nobody talks to is still from its start).
	inns dig @127.0.0.1 -p $PORT +short +tries=2 +time=5 sleeper.guests.example A >"$tmp/q.$i" 2>&1 &
	digs="$digs $!"
	i=$((i + 1))
done
# shellcheck disable=SC2086 # the digs' pids, not shoald's or PowerDNS's
wait $digs
n=$(cat "$tmp"/q.* | grep -cx "$as")
[ "$n" = 50 ] || tap_diag "the other answers:" "$(cat "$tmp"/q.* | grep -vx "$as" | sort | uniq -c)" \
	"shoald's log: $(grep -i 'dns\|sleeper' "$tmp/shoald.log" | tail -15)" "PowerDNS's log: $(tail -15 "$tmp/pdns.log")"
ok "50 concurrent queries for the sleeping guest all get its address ($n of 50)" '[ "$n" = 50 ]'
ok "it was started once for them (one woken event; it runs)" \
	'[ "$(events_of sleeper woken)" = 1 ] && state_is sleeper running'
ok "the woken guest answers at the address its name gave" 'udp_echo "$as"'
# A figure, not a check: how long the first query waited for the guest to come up.
tap_diag "wake: $(grep -o 'sleeper.guests.example answered [0-9.]* ms after its query' "$tmp/shoald.log" | head -1)"
ok "GET /v1/host counts the wake" 'api GET /v1/host | grep -q "\"wakes\": *1"'
for i in $(seq 200); do
	[ "$(api GET /v1/guests/sleeper | jq_ state)" = stopped ] && break
	sleep 0.1
done
ok "with its NIC still for idle_stop_s (8 s), it sleeps again (stopped; an asleep event says why)" \
	'[ "$(api GET /v1/guests/sleeper | jq_ state)" = stopped ] && [ "$(events_of sleeper asleep "its NICs were still for 8 s")" = 1 ]'
ok "/metrics has the wake and the sleep" \
	'shoald_get /metrics | grep -q "^shoal_dns_wakes_total 1\$" && shoald_get /metrics | grep -q "^shoal_dns_sleeps_total 1\$"'
if command -v promtool >/dev/null; then
	shoald_get /metrics >"$tmp/metrics"
	ok "and the page with the DNS counters passes promtool check metrics" \
		'promtool check metrics <"$tmp/metrics" >"$tmp/promtool" 2>&1 || { tap_diag "$(head -5 "$tmp/promtool")"; false; }'
else
	tap_skip "the page with the DNS counters passes promtool check metrics" "promtool is not installed (scripts/test.sh installs prometheus)"
fi
ifindex() { ip -n "$ns" -o link show dev "$1" 2>/dev/null | cut -d: -f1; }
sleep_if=$(ifindex sh-sleeper.0)
ok "asleep, it keeps its tap on br0 for its next wake (shoald holds it; ifindex $sleep_if)" \
	'[ -n "$sleep_if" ] && ip -n "$ns" -o link show master br0 | grep -q "sh-sleeper.0"'
ok "a query for its own name wakes it again" \
	'resolves sleepy.example.org "$as" && [ "$(events_of sleeper woken)" = 2 ] && state_is sleeper running'
ok "on the same tap (ifindex $sleep_if, now $(ifindex sh-sleeper.0))" \
	'[ "$(ifindex sh-sleeper.0)" = "$sleep_if" ]'

# ---- the answer waits for the guest's NIC, not only for its first probe ----
# wake_connect NAME: from the namespace, one query for NAME and, the moment
# its answer comes, a TCP connection to the echo port of the address it
# gave, which must echo.  Prints the address, how many times the
# connection's SYN (or anything after it) was sent again (a frame sent
# to a guest whose NIC is not up yet waits for it, on Xen is lost, and
# the SYN goes again after a second), what came back, and the query's
# time to its answer in ms.
wake_connect() {
	inns python3 - "$PORT" "$1" <<'PY'
import socket, struct, sys, time
port, name = int(sys.argv[1]), sys.argv[2]
q = struct.pack(">HHHHHH", 0x5348, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(15)
t0 = time.monotonic()
s.sendto(q, ("127.0.0.1", port))
a, _ = s.recvfrom(4096)
answer_ms = (time.monotonic() - t0) * 1e3
rcode, ancount = a[3] & 15, struct.unpack(">H", a[6:8])[0]
if rcode or not ancount:
    print("failed rcode=%d answers=%d" % (rcode, ancount))
    sys.exit(1)
addr = socket.inet_ntoa(a[-4:])
c = socket.create_connection((addr, 7), timeout=10)
c.sendall(b"first")
got = b""
while len(got) < 5:
    b = c.recv(16)
    if not b:
        break
    got += b
# struct tcp_info: 8 bytes, then u32s; tcpi_total_retrans is the 24th.
info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print(addr, struct.unpack_from("I", info, 100)[0], got.decode(errors="replace"), int(answer_ms))
PY
}
# rounds NAME N ADDR [MIN_MS]: N rounds of a put to sleep (through the API)
# and a wake_connect; the rounds that went wrong, with what they printed,
# in $bad.  With MIN_MS, an answer sooner than that after its query is
# wrong too: the guest's NIC comes up no sooner, and whatever the load
# the answer cannot come before it.
rounds() {
	bad=
	for r in $(seq "$2"); do
		api POST "/v1/guests/$1/stop?wait=1" >/dev/null
		out=$(wake_connect "$1.guests.example" 2>&1)
		ms=${out##* }
		if [ "${out% *}" != "$3 0 first" ] && [ -n "${4:-}" ] && [ "$ms" -lt "$4" ] 2>/dev/null; then
			bad="$bad [round $r: $out; answered $ms ms after the query, before the NIC came up]"
		elif [ "${out% *}" != "$3 0 first" ]; then
			bad="$bad [round $r: $out]"
		elif [ -n "${4:-}" ] && [ "$ms" -lt "$4" ]; then
			bad="$bad [round $r: answered $ms ms after the query, before the NIC came up]"
		fi
	done
	[ -z "$bad" ] || tap_diag "expected \"$3 0 first\"${4:+ and an answer $4 ms or more after the query}:$bad"
	[ -z "$bad" ]
}
# judge_rounds NAME N ADDR MIN_MS DESCRIPTION: rounds as a check.  A SYN sent
# twice is a second without an answer: on a machine busy with other work
# (a Xen run under QEMU takes every CPU) that may be the guest's wait for
# a CPU rather than for its NIC, so rounds that went wrong only so (the
# right address, the echo) are not judged there: not_ok_unless_busy.
judge_rounds() {
	if rounds "$1" "$2" "$3" "$4"; then
		tap_ok "$5"
	elif ! echo "$bad" | tr '[' '\n' | grep round | grep -qvE "^round [0-9]+: $3 [0-9]+ first [0-9]+\]"; then
		not_ok_unless_busy "$5" "a SYN sent again:$bad"
	else
		tap_not_ok "$5"
	fi
}
judge_rounds sleeper 10 "$as" "" \
	"10 times asleep and woken: the first TCP connection right after the answer is made at once (no SYN sent twice) and echoes"
printf '{"name":"slownic","image":"%s","memory_mib":16,"args":["lan","nic_delay_ms=1500"],"net":[{"name":"lan","bridge":"br0"}],"on_demand":{"idle_stop_s":600}}' "$ECHO" >"$tmp/spec.json"
api POST "/v1/guests?wait=1" "$tmp/spec.json" >/dev/null
asn=$(api GET /v1/guests/slownic | jq_ net.0.ipv4)
asn=${asn%/*}
judge_rounds slownic 3 "$asn" 1500 \
	"a guest that brings its NIC up 1.5 s after its start (probes answered meanwhile): 3 times, its answer waits for the NIC, and the connection right after it is made at once"
tap_diag "slow NIC: $(grep -o 'slownic.guests.example answered [0-9.]* ms after its query.*' "$tmp/shoald.log" | tail -1)"
api DELETE "/v1/guests/slownic?wait=1" >/dev/null

# ---- a query while the guest is being stopped: held there by holdreap ----
HOLDREAP=$top_builddir/tests/integration/holdreap
resolves sleeper.guests.example "$as" >/dev/null
inst0=$(api GET /v1/guests/sleeper | jq_ instance)
tpid=$(api GET /v1/guests/sleeper | jq_ pid)
"$HOLDREAP" "$tpid" >"$tmp/hold.out" 2>&1 &
hold_pid=$!
for i in $(seq 50); do
	grep -q held "$tmp/hold.out" && break
	grep -q cannot "$tmp/hold.out" && break
	sleep 0.1
done
if grep -q held "$tmp/hold.out"; then
	"$CTL" --socket "$SOCK" stop --no-wait sleeper >/dev/null 2>&1
	for i in $(seq 100); do
		grep -q ended "$tmp/hold.out" && break
		sleep 0.1
	done
	ok "its tender killed but not yet reaped (holdreap), the guest is held stopping" \
		'grep -q ended "$tmp/hold.out" && [ "$(api GET /v1/guests/sleeper | jq_ state)" = stopping ]'
	n_events=$(api GET "/v1/events?limit=0" >/dev/null; python3 -c 'import json,sys; print(max([x["id"] for x in json.load(open(sys.argv[1]))] or [0]))' "$tmp/body")
	inns dig @127.0.0.1 -p $PORT +tries=1 +time=15 sleeper.guests.example A >"$tmp/held.dig" 2>&1 &
	dig_pid=$!
	# Half a second, well within PowerDNS's 2 s for an answer from shoald
	# (tests/lib/pdns.sh); the look at dig is made of builtins and the stop
	# let go at once: on a loaded machine a python start alone may take a
	# good part of those 2 s.  That it was still stopping meanwhile, the
	# events' order says below.
	sleep 0.5
	quiet=
	kill -0 $dig_pid && [ ! -s "$tmp/held.dig" ] && quiet=yes
	kill "$hold_pid"
	wait "$hold_pid"
	hold_pid=
	ok "a query meanwhile gets no answer while the stop lasts (0.5 s), neither an address nor SERVFAIL" \
		'[ -n "$quiet" ]'
	wait "$dig_pid"
	ok "once the stop is over, it gets the guest's address (NOERROR, $as)" \
		'grep -q "status: NOERROR" "$tmp/held.dig" && [ "$(sed -n "/ANSWER SECTION/,/^\$/p" "$tmp/held.dig" | awk "/IN[[:space:]]+A[[:space:]]/ { print \$NF }")" = "$as" ] || { tap_diag "dig: $(cat "$tmp/held.dig")" "$(grep -i "sleeper\|dns" "$tmp/shoald.log" | tail -20)"; false; }'
	inst1=$(api GET /v1/guests/sleeper | jq_ instance)
	ok "from a new start: running, instance $inst0 then $inst1" \
		'state_is sleeper running && [ -n "$inst1" ] && [ "$inst1" -gt "$inst0" ]'
	api GET "/v1/events?limit=0" >/dev/null
	ok "the events after the query: woken, then the stop's end (stopped), then the new instance started" \
		'python3 -c "import json,sys
ev = [x for x in json.load(open(sys.argv[1])) if x[\"id\"] > int(sys.argv[2]) and x[\"guest\"] == \"sleeper\"]
t = [x[\"type\"] for x in ev]
ok = \"woken\" in t and \"stopped\" in t and \"started\" in t and t.index(\"woken\") < t.index(\"stopped\") < t.index(\"started\") and (\"instance %s\" % sys.argv[3]) in ev[t.index(\"started\")][\"message\"]
print(t) if not ok else None
sys.exit(0 if ok else 1)" "$tmp/body" "$n_events" "$inst1"'
else
	wait "$hold_pid"
	hold_pid=
	for c in "its tender killed but not yet reaped (holdreap), the guest is held stopping" \
		"a query meanwhile gets no answer while the stop lasts" "once the stop is over, it gets the guest's address" \
		"from a new start" "the events after the query: woken, stopped, started"; do
		tap_skip "$c" "holdreap cannot trace the tender: $(cat "$tmp/hold.out")"
	done
fi
# A sleeping site: woken by a query, then serving its page.
if [ -f "$GUESTS/site.$PLATFORM" ] && command -v mkfs.fat >/dev/null && command -v mcopy >/dev/null && command -v curl >/dev/null; then
	mkdir -p "$tmp/www"
	printf '<!doctype html><h1>asleep until asked</h1>\n' >"$tmp/www/index.html"
	MTOOLS_SKIP_CHECK=1 "$CTL" site build "$tmp/www" -o "$tmp/img" --disk-size 64K >/dev/null 2>&1
	printf '{"name":"blog","image":"%s","dns":["blog.example.org"],"on_demand":{"idle_stop_s":60}}' \
		"$GUESTS/site.$PLATFORM" >"$tmp/blog.json"
	run blog 0 deploy -f "$tmp/blog.json" -d site0="$tmp/img/site0.img" --net lan=br0
	ok "a site deployed on demand sleeps" '[ "$(api GET /v1/guests/blog | jq_ state)" = stopped ]'
	ab=$(api GET /v1/guests/blog | jq_ net.0.ipv4)
	ab=${ab%/*}
	t0=$(date +%s%N)
	got=$(q blog.example.org)
	t1=$(date +%s%N)
	inns curl -s --max-time 10 -w "%{time_starttransfer}" -o "$tmp/page" "http://$got/" >"$tmp/curl.t" 2>"$tmp/curl.err"
	t2=$(date +%s%N)
	ok "a query for blog.example.org wakes it ($got), and its page comes to curl at that address" \
		'[ "$got" = "$ab" ] && grep -q "asleep until asked" "$tmp/page"'
	tap_diag "site: the query's answer $(((t1 - t0) / 1000000)) ms, then the page $(((t2 - t1) / 1000000)) ms with dig's and curl's start (figures); curl's first byte after $(cat "$tmp/curl.t") s" \
		"$(grep -o 'blog.example.org answered [0-9.]* ms after its query' "$tmp/shoald.log")"
else
	tap_skip "a site deployed on demand sleeps" "no site.$PLATFORM, mkfs.fat, mcopy or curl"
	tap_skip "a query for blog.example.org wakes it, and its page comes to curl" "no site.$PLATFORM, mkfs.fat, mcopy or curl"
fi

printf '{"name":"broken","image":"%s","memory_mib":16,"restart":"never","net":[{"name":"lan","bridge":"br0"}],"on_demand":{"idle_stop_s":60}}' "$GUESTS/crash.$PLATFORM" >"$tmp/spec.json"
api POST "/v1/guests?wait=1" "$tmp/spec.json" >/dev/null
ok "an on-demand guest that cannot come up (crash) is deployed" '[ "$(status)" = 201 ]'
ok "a query for it gets SERVFAIL, never an address" \
	'[ "$(rcode broken.guests.example)" = SERVFAIL ] && [ -z "$(q broken.guests.example)" ]'
ok "its wake_failed event says why" '[ "$(events_of broken wake_failed)" -ge 1 ]'
ok "PowerDNS goes on answering for the others" resolves e1.guests.example "$a1"
printf '{"name":"nonic","image":"%s","on_demand":{}}' "$ECHO" >"$tmp/spec.json"
api POST "/v1/guests" "$tmp/spec.json" >/dev/null
ok "an on-demand guest without a NIC is refused: 400 naming on_demand" \
	'[ "$(status)" = 400 ] && grep -q "\"field\": *\"on_demand\"" "$tmp/body"'

# ---- kill -9 of shoald: SERVFAIL, never an address, until the next one ----
ok "the crashed on-demand guest's tap is kept for its next wake, held by shoald alone (no tender)" \
	'[ "$(api GET /v1/guests/broken | jq_ state)" != running ] && ip -n "$ns" link show sh-broken.0 >/dev/null 2>&1'
kill -9 "$shoald_pid"
wait "$shoald_pid" 2>/dev/null
shoald_pid=
for i in $(seq 50); do
	ip -n "$ns" link show sh-broken.0 >/dev/null 2>&1 || break
	sleep 0.1
done
ok "with shoald killed, that tap is gone within 5 s (nothing else held it)" \
	'! ip -n "$ns" link show sh-broken.0 >/dev/null 2>&1'
tap_check "with shoald killed, PowerDNS answers SERVFAIL for a guest's name" \
	status_is e2.guests.example SERVFAIL
tap_check "and for a name of its own" status_is www.example.org SERVFAIL
ok "never an address" '[ -z "$(q e2.guests.example)" ]' 
tap_check "a new shoald starts" shoald_start --bridge="br0 10.89.0.0/24" --dns-zone=guests.example. --dns-ttl=1 --dns-wake-timeout-ms=8000
tap_check "e2.guests.example resolves again, with nothing lost" resolves e2.guests.example "$a2"
if resolves www.example.org "$a2" && resolves e1.guests.example "$a1"; then
	tap_ok "and www.example.org and e1.guests.example"
else
	tap_not_ok "and www.example.org and e1.guests.example"
fi
tap_check "PowerDNS is still the one the test started" kill -0 "$pdns_pid"

tap_done
