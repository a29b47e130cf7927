#!/bin/sh
# bench/dns: names through PowerDNS with shoald as its remote backend.
# In a network namespace of its own (a bridge with a pool, PowerDNS on
# its loopback, private configuration, caches off, as tests/integration/
# test_dns.sh runs it), the time from a query to its answer, measured in
# one client process (no dig start-up in the figure): for the zone's SOA
# (PowerDNS and shoald answering a static record: the baseline), for a
# running guest's name, and for a sleeping on-demand guest's (woken by
# the query; it is put back to sleep through the API before each round),
# with shoald's own wait for the guest (start on a warm tender, first
# probe and NIC up, from its log, and each phase's median); and from a query for a sleeping `site` guest's
# name to the first byte of its page.  The goal: a guest woken by its
# name's query serves (its first UDP echo) no later than a running one
# does plus a warm boot of it through the API (start to first echo) plus
# 2 ms.  Never pass/fail.
#   bench/dns.sh [ROUNDS] [kvm|proc]     (default 20, kvm where /dev/kvm is)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
rounds=${1:-20}
case $rounds in '' | *[!0-9]*)
	echo "bench/dns.sh: ROUNDS is a whole number" >&2
	exit 2
	;;
esac
PLATFORM=${2:-$([ -c /dev/kvm ] && echo kvm || echo proc)}
case $PLATFORM in kvm | proc) ;; *)
	echo "bench/dns.sh: the platform is kvm or proc, not $PLATFORM" >&2
	exit 2
	;;
esac
GUESTS=$build/unikernel-rt/examples
for f in echo site; do
	[ -f "$GUESTS/$f.$PLATFORM" ] || {
		echo "bench/dns: no $f.$PLATFORM (lwIP was not built)" >&2
		exit 1
	}
done
for t in pdns_server mkfs.fat mcopy python3; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || {
		echo "bench/dns: $t is not installed (scripts/deps.sh installs it)" >&2
		exit 1
	}
done
. "$top/tests/lib/netns.sh"
. "$top/tests/lib/pdns.sh"
netns_new shoal-dnsb || {
	echo "bench/dns: cannot make a network namespace (needs root)" >&2
	exit 1
}
tmp=$(mktemp -d /tmp/shoal-dnsb-XXXXXX)
top_builddir=$build
VMM=$build/vmm/shoal-vmm
SHOALD_NETNS=$ns
tap_diag() { printf '# %s\n' "$@" >&2; }
. "$top/tests/lib/shoald.sh"
trap 'pdns_stop; shoald_stop_all; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
netns_bridge br0 10.92.0.1/24
PORT=15354

shoald_start --bridge="br0 10.92.0.0/24" --dns-zone=guests.example. --dns-ttl=1 >/dev/null || {
	echo "bench/dns: shoald did not start" >&2
	exit 1
}
pdns_start "$tmp/run/dns.sock" $PORT

printf '{"name":"awake","image":"%s","memory_mib":16,"args":["lan"],"net":[{"name":"lan","bridge":"br0","ipv4":"10.92.0.40/24","mac":"02:5e:00:00:00:40"}]}' \
	"$GUESTS/echo.$PLATFORM" >"$tmp/a.json"
printf '{"name":"sleeper","image":"%s","memory_mib":16,"args":["lan"],"net":[{"name":"lan","bridge":"br0","ipv4":"10.92.0.41/24","mac":"02:5e:00:00:00:41"}],"on_demand":{"idle_stop_s":3600}}' \
	"$GUESTS/echo.$PLATFORM" >"$tmp/s.json"
# Their addresses' neighbour entries fixed: a datagram sent before a
# guest's NIC is up would otherwise wait for the kernel's next ARP try
# (a second later), and each echo would pay an ARP round trip.
ip -n "$ns" neigh replace 10.92.0.40 lladdr 02:5e:00:00:00:40 dev br0 nud permanent
ip -n "$ns" neigh replace 10.92.0.41 lladdr 02:5e:00:00:00:41 dev br0 nud permanent
api POST "/v1/guests?wait=1" "$tmp/a.json" >/dev/null
api POST "/v1/guests?wait=1" "$tmp/s.json" >/dev/null
mkdir -p "$tmp/www"
printf '<!doctype html><h1>asleep until asked</h1>\n' >"$tmp/www/index.html"
MTOOLS_SKIP_CHECK=1 "$CTL" site build "$tmp/www" -o "$tmp/img" --disk-size 64K >/dev/null 2>&1
printf '{"name":"blog","image":"%s","dns":["blog.example.org"],"on_demand":{"idle_stop_s":3600}}' \
	"$GUESTS/site.$PLATFORM" >"$tmp/blog.json"
"$CTL" --socket "$SOCK" deploy -f "$tmp/blog.json" -d site0="$tmp/img/site0.img" --net lan=br0 >/dev/null

# measure KIND NAME: one timed query, in ms; for echo, the query and its
# guest's first UDP echo after it; for site, the query and its page's
# first byte; for boot, no query: the guest NAME started through the API
# (a warm boot), to its first UDP echo at its address.
measure() {
	ip netns exec "$ns" python3 - "$PORT" "$1" "$2" "$SOCK" <<'PY'
import socket, struct, sys, time
port, kind, name, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def first_echo(addr, t0):
    # A datagram each half millisecond until one comes back (at most 5 s).
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.0005)
    while time.perf_counter() - t0 < 5:
        u.sendto(b"shoal", (addr, 7))
        try:
            if u.recv(64) == b"shoal":
                return time.perf_counter()
        except socket.timeout:
            pass
    print("failed: no echo from %s" % addr)
    sys.exit(1)
if kind == "boot":
    addr = {"sleeper": "10.92.0.41"}[name]
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock)
    req = "POST /v1/guests/%s/start HTTP/1.1\r\nHost: shoald\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % name
    t0 = time.perf_counter()
    c.sendall(req.encode())
    status = c.recv(4096).split(b" ", 2)[1]
    if status not in (b"200", b"202"):
        print("failed: start answered %s" % status.decode())
        sys.exit(1)
    t1 = first_echo(addr, t0)
    print("%.3f" % ((t1 - t0) * 1e3))
    sys.exit(0)
qtype = 6 if kind == "soa" else 1
q = struct.pack(">HHHHHH", 0x5348, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
q += struct.pack(">HH", qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
t0 = time.perf_counter()
s.sendto(q, ("127.0.0.1", port))
a, _ = s.recvfrom(4096)
t1 = time.perf_counter()
rcode, ancount = a[3] & 15, struct.unpack(">H", a[6:8])[0]
if rcode or not ancount:
    print("failed rcode=%d answers=%d" % (rcode, ancount))
    sys.exit(1)
if kind in ("soa", "a"):
    print("%.3f" % ((t1 - t0) * 1e3))
    sys.exit(0)
addr = socket.inet_ntoa(a[-4:])  # the last answer is the A record
if kind == "echo":
    t2 = first_echo(addr, t0)
    print("%.3f %.3f" % ((t1 - t0) * 1e3, (t2 - t0) * 1e3))
    sys.exit(0)
c = socket.create_connection((addr, 80), timeout=10)
c.sendall(b"GET / HTTP/1.1\r\nHost: " + name.encode() + b"\r\nConnection: close\r\n\r\n")
c.recv(1)
t2 = time.perf_counter()
print("%.3f %.3f" % ((t1 - t0) * 1e3, (t2 - t0) * 1e3))
PY
}
# A guest put to sleep, then left so for half a second: a sleeping guest's
# last tender is gone when its query comes (its teardown would share the
# wake's CPU otherwise).
sleep_guest() {
	api POST "/v1/guests/$1/stop?wait=1" >/dev/null
	sleep 0.5
}

: >"$tmp/t.soa"
: >"$tmp/t.run"
: >"$tmp/t.wake"
: >"$tmp/t.boot"
: >"$tmp/t.site"
measure soa guests.example >/dev/null # PowerDNS's first connection to shoald
i=0
while [ $i -lt "$rounds" ]; do
	measure soa guests.example >>"$tmp/t.soa"
	measure echo awake.guests.example >>"$tmp/t.run"
	sleep_guest sleeper
	measure echo sleeper.guests.example >>"$tmp/t.wake"
	sleep_guest sleeper
	measure boot sleeper >>"$tmp/t.boot"
	sleep_guest blog
	measure site blog.example.org >>"$tmp/t.site"
	i=$((i + 1))
done
grep -o 'sleeper.guests.example answered [0-9.]* ms after its query' "$tmp/shoald.log" | awk '{ print $3 }' >"$tmp/t.waits"
# Its phases, from the query's arrival: the guest running (the start on a
# warm tender: STARTED read), its first probe's answer seen, its NIC up.
sed -n 's/.*sleeper.guests.example answered .*(running at \([0-9.]*\) ms, its first probe.s answer seen at \([0-9.]*\) ms, its NIC up at \([0-9.]*\) ms).*/\1 \2 \3/p' \
	"$tmp/shoald.log" >"$tmp/t.phases"
grep -h failed "$tmp/t.soa" "$tmp/t.run" "$tmp/t.wake" "$tmp/t.boot" "$tmp/t.site" | sort | uniq -c | sed 's/^/bench\/dns: /' >&2

python3 - "$tmp" "$PLATFORM" "$rounds" <<'PY'
import statistics, sys
d, plat, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
def col(f, k=0):
    v = []
    for line in open(d + "/t." + f):
        p = line.split()
        try:
            v.append(float(p[k]))
        except (IndexError, ValueError):
            pass
    return sorted(v)
def show(v):
    if not v:
        return "none"
    return "median %.2f ms, max %.2f ms (%d)" % (statistics.median(v), v[-1], len(v))
soa, run, wake, waits = col("soa"), col("run"), col("wake"), col("waits")
run_echo, wake_echo, boot = col("run", 1), col("wake", 1), col("boot")
ph_run, ph_probe, ph_nic = col("phases", 0), col("phases", 1), col("phases", 2)
site_a, site_b = col("site", 0), col("site", 1)
print("bench/dns (%s, %s rounds): a query's answer from PowerDNS with shoald as its remote backend, on loopback" % (plat, rounds))
print("| query | figure | baseline | ratio |")
print("|---|---|---|---|")
if soa and run:
    print("| running guest's name | %s | the zone's SOA: %s | %.2f× |" % (show(run), show(soa), statistics.median(run) / statistics.median(soa)))
if wake and run and waits:
    extra = statistics.median(wake) - statistics.median(run) - statistics.median(waits)
    print("| sleeping on-demand guest's name (woken) | %s; shoald's part, from the query's arrival to its answer (the start on a warm tender, the first probe, the guest's NIC up) %s | the running guest's | %.2f×; PowerDNS and the client add %.2f ms beyond shoald's part |" % (show(wake), show(waits), statistics.median(wake) / statistics.median(run), extra))
if ph_run and ph_probe and ph_nic:
    print("| shoald's part, its phases from the query's arrival (medians) | running (the start on a warm tender) %.2f ms, the first probe's answer seen %.2f ms, the NIC up %.2f ms | — | — |" % (statistics.median(ph_run), statistics.median(ph_probe), statistics.median(ph_nic)))
if run_echo and wake_echo and boot:
    added = statistics.median(wake_echo) - statistics.median(run_echo)
    goal = statistics.median(boot) + 2
    print("| the guest serving: query to its first UDP echo, sleeping (woken) vs running | woken %s; running %s: the wake adds %.2f ms | a warm boot of the same guest through the API (start to its first UDP echo) %s; the goal, warm boot + 2 ms: %.2f ms | the wake adds %.2f× the goal (%s) |" % (show(wake_echo), show(run_echo), added, show(boot), goal, added / goal, "met" if added <= goal else "missed"))
if site_b and site_a:
    print("| sleeping `site` guest: query to the page's first byte | %s (its answer %s) | the running guest's answer | — |" % (show(site_b), show(site_a)))
PY
