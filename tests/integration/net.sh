#!/bin/sh
# Network devices on KVM, end to end: a tap inside a network namespace of
# the test's own (10.77.0.1/24), shoal-vmm in it with the echo guest on
# 10.77.0.2 (--net, --net-ip), and from the namespace: ARP and a ping
# (lwIP answers), UDP datagrams echoed, a TCP connection that echoes
# 64 KiB with every byte compared; rate-limited runs (frames, bytes)
# that hold frames back and still deliver them all; badnet's hostile ring
# entries, each refused with an error status or the guest ended, never
# the tender.  Nothing leaves the machine: the tap is the namespace's only
# link, and the namespace is removed at the end.  Transfers are small:
# ring-0 guest code may be emulated, so the figures measure the emulator.
. "$top_srcdir/tests/tap.sh"
[ -f "$GUESTS/echo.kvm" ] ||
	tap_skip_all "lwIP was not built (no lwIP source tree when configure ran: scripts/lwip.sh fetches Debian's into the build directory, or configure --with-lwip=DIR)"
tap_require_kvm
command -v python3 >/dev/null || tap_skip_all "python3 is not installed (it talks to the guest)"
command -v ip >/dev/null || tap_skip_all "ip (iproute2) is not installed"
[ -c /dev/net/tun ] || tap_skip_all "/dev/net/tun does not exist"
ns=shoal-net-$$
ip netns add "$ns" 2>/dev/null || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d)
vmm_pid=
cleanup() {
	[ -n "$vmm_pid" ] && kill "$vmm_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

inns() { ip netns exec "$ns" "$@"; }
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev tap0 mode tap
# No IPv6 on the tap: the kernel's router and neighbour solicitations are
# not what the guests are asked about.
inns sysctl -qw net.ipv6.conf.tap0.disable_ipv6=1 2>/dev/null
ip -n "$ns" addr add 10.77.0.1/24 dev tap0
ip -n "$ns" link set tap0 up
MAC=02:00:00:77:00:02

# start NAME ARGS...: shoal-vmm ARGS in the namespace, in the background,
# until the echo guest says it is ready; finish NAME STATUS waits for it.
start() {
	n=$1
	shift
	inns "$VMM" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err" &
	vmm_pid=$!
	i=0
	while ! grep -q "echo: ready" "$tmp/$n.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$vmm_pid" 2>/dev/null; then
			tap_diag "$n did not get ready" "stdout: $(cat "$tmp/$n.out")" \
				"stderr: $(cat "$tmp/$n.err")"
			return 1
		fi
		sleep 0.1
	done
}
finish() {
	wait "$vmm_pid"
	got=$?
	vmm_pid=
	[ "$got" -eq "$2" ] && return 0
	tap_diag "$1: exit status $got, expected $2" "stdout: $(cat "$tmp/$1.out")" \
		"stderr: $(cat "$tmp/$1.err")"
	return 1
}

# The client's side, in the namespace: one line per check, "ok ..." or "bad ...".
cat >"$tmp/client.py" <<'EOF'
import os, socket, struct, sys, threading, time

GUEST = "10.77.0.2"

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

def ping():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(5)
    payload = os.urandom(56)
    ident = os.getpid() & 0xFFFF
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, 1) + payload
    t = time.time()
    s.sendto(pkt, (GUEST, 0))
    while True:
        data, addr = s.recvfrom(2048)
        ihl = (data[0] & 15) * 4
        icmp = data[ihl:]
        if addr[0] == GUEST and icmp[0] == 0:
            break
    rtt = (time.time() - t) * 1e6
    ok = struct.unpack("!HH", icmp[4:8]) == (ident, 1) and icmp[8:] == payload
    print("%s ping: echo reply with the payload in %.0f us" % ("ok" if ok else "bad", rtt))

def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    rtts = []
    for size in (1, 100, 512, 1472):
        data = os.urandom(size)
        t = time.time()
        s.sendto(data, (GUEST, 7))
        back, addr = s.recvfrom(2048)
        rtts.append((time.time() - t) * 1e6)
        if back != data or addr != (GUEST, 7):
            print("bad udp: the %d-byte datagram came back changed" % size)
            return
    print("ok udp: 1, 100, 512 and 1472-byte datagrams echoed, round trips %s us"
          % ", ".join("%.0f" % r for r in rtts))

def tcp(n):
    # Read while writing: an echo peer that is not read stops reading too.
    data = os.urandom(n)
    c = socket.create_connection((GUEST, 7), timeout=20)
    pieces = []
    def reader():
        while True:
            b = c.recv(65536)
            if not b:
                break
            pieces.append(b)
    th = threading.Thread(target=reader)
    t = time.time()
    th.start()
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    th.join()
    dt = time.time() - t
    got = b"".join(pieces)
    c.close()
    print("%s tcp: %d bytes echoed, %d came back%s, in %.0f ms (%.0f KiB/s)"
          % ("ok" if got == data else "bad", n, len(got),
             " every byte equal" if got == data else " DIFFERENT", dt * 1e3, n / 1024 / dt))

def burst(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    t = time.time()
    sent = [os.urandom(64) for _ in range(n)]
    for d in sent:
        s.sendto(d, (GUEST, 7))
    got = []
    try:
        while len(got) < n:
            got.append(s.recvfrom(2048)[0])
    except socket.timeout:
        pass
    dt = time.time() - t
    ok = sorted(got) == sorted(sent)
    print("%s burst: %d of %d datagrams echoed in %.0f ms"
          % ("ok" if ok else "bad", len(got), n, dt * 1e3))

for arg in sys.argv[1:]:
    what, _, n = arg.partition("=")
    {"ping": lambda: ping(), "udp": lambda: udp(), "tcp": lambda: tcp(int(n)),
     "burst": lambda: burst(int(n))}[what]()
EOF
client() { inns python3 "$tmp/client.py" "$@" >>"$tmp/client.out" 2>&1; }
client_said() {
	grep -q "^ok $1" "$tmp/client.out" && return 0
	tap_diag "the client's $1 check: $(cat "$tmp/client.out")"
	return 1
}

# ---- The echo guest, unlimited ----
tap_check "the echo guest starts with a NIC in the namespace" \
	start echo --net lan:tap0:$MAC --net-ip 10.77.0.2/24:10.77.0.1 "$GUESTS/echo.kvm" lan idle_s=4
tap_check "with the address and MAC it was given" \
	grep -q "echo: ready on lan 10.77.0.2/24 mac $MAC" "$tmp/echo.out"
client ping
tap_check "it answers a ping (ARP first)" client_said ping
tap_check "its MAC is in the namespace's neighbour table" \
	sh -c "ip -n '$ns' neigh show 10.77.0.2 | grep -q 'lladdr $MAC'"
client udp
tap_check "UDP datagrams come back unchanged" client_said udp
client tcp=65536
tap_check "64 KiB over TCP (past the guest's window) come back, every byte compared" client_said tcp
tap_check "the guest ends after 4 s idle, exit 0" finish echo 0
tap_check "and counts what it echoed" \
	grep -q "echo: udp 4 datagrams 2085 bytes, tcp 1 connections 65536 bytes" "$tmp/echo.out"
tap_check "the tender reports the NIC's frames, nothing held back" \
	sh -c "grep -qE 'net lan: tx [1-9][0-9]* frames .* 0 errors 0 dropped, rx [1-9][0-9]* frames .* 0 errors 0 dropped, held back tx 0 rx 0' '$tmp/echo.err'"
sed 's/^/# /' "$tmp/client.out" "$tmp/echo.err"

# ---- Rate-limited: 20 frames a second each way ----
: >"$tmp/client.out"
tap_check "a guest limited to 20 frames a second starts" \
	start slow --net lan:tap0:$MAC --net-ip 10.77.0.2/24 --net-rate 20:0 "$GUESTS/echo.kvm" lan idle_s=3
client burst=40
tap_check "a burst of 40 datagrams still comes back whole" client_said burst
tap_check "the limited guest ends, exit 0" finish slow 0
tap_check "the tender held frames back" \
	sh -c "grep -qE 'held back tx [0-9]+ rx [0-9]+' '$tmp/slow.err' && ! grep -q 'held back tx 0 rx 0' '$tmp/slow.err'"
sed 's/^/# /' "$tmp/client.out" "$tmp/slow.err"
tap_check "the burst took the limit's time (40 frames each way at 20/s: over 1 s)" \
	sh -c "grep -qE 'echoed in ([1-9][0-9]{3,}) ms' '$tmp/client.out'"

# ---- Rate-limited: 8000 bytes a second each way ----
: >"$tmp/client.out"
tap_check "a guest limited to 8000 bytes a second starts" \
	start bytes --net lan:tap0:$MAC --net-ip 10.77.0.2/24 --net-rate 0:8000 "$GUESTS/echo.kvm" lan idle_s=3
client tcp=16384
tap_check "16 KiB over TCP still come back, every byte compared" client_said tcp
tap_check "the byte-limited guest ends, exit 0" finish bytes 0
tap_check "the tender held frames back for their bytes" \
	sh -c "! grep -q 'held back tx 0 rx 0' '$tmp/bytes.err'"
sed 's/^/# /' "$tmp/client.out" "$tmp/bytes.err"
tap_check "the transfer took the limit's time (16 KiB past an 8000-byte burst: over 1 s)" \
	sh -c "grep -qE 'in ([1-9][0-9]{3,}) ms' '$tmp/client.out'"

# ---- Hostile rings ----
run() { n=$1 w=$2; shift 2; tap_vmm "$n" "$w" "$@"; }
# run_ns: as run, with shoal-vmm inside the namespace.
VMM_HOST=$VMM
run_ns() {
	n=$1 w=$2
	shift 2
	VMM=ip
	tap_vmm "$n" "$w" netns exec "$ns" "$VMM_HOST" "$@"
	r=$?
	VMM=$VMM_HOST
	return $r
}
tap_check "badnet's bad transmit requests" \
	run_ns requests 0 --net lan:tap0:$MAC "$GUESTS/badnet.kvm" requests lan
for c in "a frame past guest memory" "frame 0xffffffff" "a frame that runs past its page" \
	"an offset past the page" "13 bytes, shorter than a header" \
	"a frame longer than the MTU allows" "a frame in two slots" \
	"a receive buffer past guest memory"; do
	tap_check "  $c: refused" tap_said requests out "badnet: $c: status -1"
done
tap_check "  a two-slot frame's second slot: no frame of its own" tap_said requests out "badnet:   its second slot: status 1"
tap_check "  a good frame after them goes out, and the reply comes in" tap_said requests out "badnet: ok"
tap_check "bad ring addresses are refused" run_ns connect 0 --net lan:tap0 "$GUESTS/badnet.kvm" connect lan
tap_check "a transmit producer running ahead ends the guest (202)" \
	run_ns overrun 202 --net lan:tap0 "$GUESTS/badnet.kvm" overrun lan
tap_check "  with the reason" tap_said overrun err "NIC lan's transmit request producer"
tap_check "so does a receive producer running ahead" \
	run_ns rxoverrun 202 --net lan:tap0 "$GUESTS/badnet.kvm" rxoverrun lan
tap_check "  with the reason" tap_said rxoverrun err "NIC lan's receive request producer"

# ---- The command line ----
tap_check "a tap that does not exist is refused" run notap 205 --net lan:nosuchtap0 "$GUESTS/hello.kvm"
tap_check "  by name" tap_said notap err "there is no interface nosuchtap0"
tap_check "a multicast MAC is refused" run_ns mcast 205 --net lan:tap0:03:00:00:00:00:01 "$GUESTS/hello.kvm"
tap_check "--net-ip before --net is refused" run_ns noip 205 --net-ip 10.77.0.2/24 "$GUESTS/hello.kvm"
tap_check "a prefix of 33 is refused" run_ns pfx 205 --net lan:tap0 --net-ip 10.77.0.2/33 "$GUESTS/hello.kvm"
tap_check "a warm tender takes no --net" run_ns warm 205 --net lan:tap0 --control-fd 0

tap_done
