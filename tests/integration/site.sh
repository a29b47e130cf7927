#!/bin/sh
# The site guest end to end: a small site split over two FAT images
# (mkfs.fat and mcopy; nothing is mounted), a directory on both with
# different files, paths on both where the first disk must win, and a
# third disk with a garbage BPB that must be named and left out.  The
# guest runs in shoal-vmm inside a network namespace of the test's own on
# a tap; from the namespace a Python client fetches every file (bytes,
# Content-Length, Content-Type), checks 404, HEAD, keep-alive, pipelining,
# the refused requests (400, 405, 414, 431), a slow client's 408, a client
# that vanishes mid-response and a half-closed one, with a connection
# beside them that must not notice, the limit of 64 connections; then ab
# makes a bounded load.
# Transfers are small: ring-0 guest code may be emulated.
# One test for every platform: SHOAL_TEST_PLATFORM=proc (site-proc.sh)
# runs the same checks on site.proc through shoal-proc.
. "$top_srcdir/tests/tap.sh"
platform=${SHOAL_TEST_PLATFORM:-kvm}
[ -f "$GUESTS/site.$platform" ] ||
	tap_skip_all "lwIP was not built (no lwIP source tree when configure ran: scripts/lwip.sh fetches Debian's into the build directory, or configure --with-lwip=DIR)"
if [ "$platform" = proc ]; then
	VMM=$top_builddir/vmm/shoal-proc
else
	tap_require_kvm
fi
for t in python3 ip mkfs.fat mcopy; do
	command -v $t >/dev/null 2>&1 || tap_skip_all "$t is not installed (Debian: python3, iproute2, dosfstools, mtools)"
done
[ -c /dev/net/tun ] || tap_skip_all "/dev/net/tun does not exist"
ns=shoal-site-$$
ip netns add "$ns" 2>/dev/null || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d)
vmm_pid=
cleanup() {
	[ -n "$vmm_pid" ] && kill "$vmm_pid" 2>/dev/null && wait "$vmm_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip netns del "$ns-b" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8

inns() { ip netns exec "$ns" "$@"; }
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev tap0 mode tap
inns sysctl -qw net.ipv6.conf.tap0.disable_ipv6=1 2>/dev/null
ip -n "$ns" addr add 10.79.0.1/24 dev tap0
ip -n "$ns" link set tap0 up
MAC=02:00:00:79:00:02

# ---- The site, split over two disks ----
d1=$tmp/d1 d2=$tmp/d2
mkdir -p "$d1/papers" "$d2/papers" "$d2/docs/deeper"
printf '<!doctype html><title>shoal</title><p>first disk\n' >"$d1/index.html"
printf '<p>second disk: must not be served\n' >"$d2/index.html"
head -c 65536 /dev/urandom >"$d1/big.bin"
head -c 1024 /dev/urandom >"$d2/small.png"
head -c 3000 /dev/urandom >"$d1/papers/a.pdf"
head -c 2000 /dev/urandom >"$d2/papers/a.pdf" # shadowed by the first disk's
head -c 1500 /dev/urandom >"$d2/papers/b.pdf"
printf 'body { color: black }\n' >"$d1/style.css"
printf '{"a": 1}\n' >"$d2/docs/data.json"
head -c 700 /dev/urandom >"$d2/docs/A rather long file name, with spaces.txt"
head -c 300 /dev/urandom >"$d2/docs/deeper/module.wasm"
: >"$d2/docs/empty.txt"
printf '<p>docs\n' >"$d2/docs/index.html"
for d in 1 2; do
	mkfs.fat -C "$tmp/disk$d.img" 2048 >/dev/null 2>&1 &&
		mcopy -s -i "$tmp/disk$d.img" "$tmp/d$d"/* ::/ 2>"$tmp/mcopy.err" ||
		tap_skip_all "mkfs.fat and mcopy could not make disk $d: $(cat "$tmp/mcopy.err")"
done
# The third: a FAT image whose BPB says 513 bytes per sector.
cp "$tmp/disk2.img" "$tmp/bad.img"
printf '\001\002' | dd of="$tmp/bad.img" bs=1 seek=11 conv=notrunc 2>/dev/null

start() {
	ip netns exec "$ns" "$VMM" --disk www:"$tmp/disk1.img":ro --disk more:"$tmp/disk2.img":ro \
		--disk broken:"$tmp/bad.img":ro --net lan:tap0:$MAC --net-ip 10.79.0.2/24:10.79.0.1 \
		"$GUESTS/site.$platform" lan idle_s=3 header_s=2 stats=100 >"$tmp/site.out" 2>"$tmp/site.err" &
	vmm_pid=$!
	i=0
	while ! grep -q "site: ready" "$tmp/site.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$vmm_pid" 2>/dev/null; then
			tap_diag "site did not get ready" "stdout: $(cat "$tmp/site.out")" \
				"stderr: $(cat "$tmp/site.err")"
			return 1
		fi
		sleep 0.1
	done
}
tap_check "the site guest starts with three disks and a NIC" start
tap_check "it serves the two sound disks, on its address and port 80" \
	grep -q "site: ready on 10.79.0.2:80, 2 disks, 13 files" "$tmp/site.out"
tap_check "the corrupt disk is named with the FAT reader's sentence and left out" \
	sh -c "grep 'site: disk broken: left out:' '$tmp/site.out' | grep -q 'bytes per sector 513'"

# ---- The client, in the namespace: one line per check, "ok ..." or "bad ..." ----
cat >"$tmp/client.py" <<'EOF'
import http.client, os, select, socket, sys, time
sys.path.insert(0, sys.argv[1])
from fnv import fnv

GUEST, D1, D2 = "10.79.0.2", sys.argv[2], sys.argv[3]
TYPES = {"html": "text/html; charset=utf-8", "css": "text/css", "png": "image/png",
         "pdf": "application/pdf", "json": "application/json", "bin": "application/octet-stream",
         "txt": "text/plain; charset=utf-8", "wasm": "application/wasm"}

def check(ok, what, why=""):
    # The shell's echo reads backslashes: none go through.
    print(("%s %s%s" % ("ok" if ok else "bad", what, "" if ok else " " + why)).replace("\\", "/"))
    sys.stdout.flush()

def files(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out["/" + os.path.relpath(p, root)] = p
    return out

# The merged tree: the first disk's paths win.
want = files(D2)
want.update(files(D1))

def raw(data, timeout=10):
    s = socket.create_connection((GUEST, 80), timeout=timeout)
    s.sendall(data)
    return s

def read_all(s):
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        got += b"<timeout>"
    return got

def response(s):
    """One response off s: (status, headers dict, body), or None at EOF."""
    f = s.makefile("rb")
    line = f.readline()
    if not line:
        return None
    status = int(line.split()[1])
    hdrs = {}
    while True:
        l = f.readline().rstrip(b"\r\n")
        if not l:
            break
        k, _, v = l.partition(b":")
        hdrs[k.decode().lower()] = v.strip().decode()
    return status, hdrs, f

def fetch_all():
    c = http.client.HTTPConnection(GUEST, 80, timeout=10)
    bad = []
    for path, host in sorted(want.items()):
        c.request("GET", path.replace(" ", "%20"))
        r = c.getresponse()
        body = r.read()
        ext = path.rsplit(".", 1)[-1]
        h = "%016x" % 0xcbf29ce484222325
        if body:
            tmp = "/tmp/site-body-%d" % os.getpid()
            open(tmp, "wb").write(body)
            h = fnv(tmp)
            os.unlink(tmp)
        if (r.status != 200 or h != fnv(host) or len(body) != os.path.getsize(host) or
                r.getheader("Content-Length") != str(len(body)) or
                r.getheader("Content-Type") != TYPES[ext]):
            bad.append("%s: %d %s %s %s" % (path, r.status, r.getheader("Content-Length"),
                                            r.getheader("Content-Type"), h))
    c.close()
    check(not bad, "every file of the merged tree: bytes (FNV-1a), Content-Length, Content-Type "
          "(%d files; first disk wins)" % len(want), "; ".join(bad))

def get(path, method="GET", headers=None):
    c = http.client.HTTPConnection(GUEST, 80, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body

def small_checks():
    r, body = get("/")
    check(r.status == 200 and body == open(D1 + "/index.html", "rb").read(), "/ serves the first disk's index.html")
    r, body = get("/docs/")
    check(r.status == 200 and body == b"<p>docs\n", "a directory/ serves its index.html")
    r, body = get("/docs")
    check(r.status == 301 and r.getheader("Location") == "/docs/", "a directory without '/' is redirected to it", "%d %s" % (r.status, r.getheader("Location")))
    r, body = get("/papers/")
    check(r.status == 404, "a directory with no index.html: 404 (%d)" % r.status)
    r, body = get("/nothing/here.html")
    check(r.status == 404 and r.getheader("Content-Length") == str(len(body)), "a missing file: 404 with its Content-Length (%d)" % r.status)
    r, body = get("/?q=1&x=%zz")
    check(r.status == 200 and b"first disk" in body, "a query string is ignored")
    r, body = get("/d%6fcs/A%20rather%20long%20file%20name%2C%20with%20spaces.txt")
    check(r.status == 200 and len(body) == 700, "percent-encoded path, long name with spaces")
    r, body = get("/DOCS/DATA.JSON")
    check(r.status == 200 and body == b'{"a": 1}\n', "names are found case-insensitively (FAT's way)")
    r, body = get("/big.bin", "HEAD")
    check(r.status == 200 and r.getheader("Content-Length") == "65536" and body == b"", "HEAD: the headers, no body")
    r, body = get("/", "POST", {"Content-Length": "0"})
    check(r.status == 405 and r.getheader("Allow") == "GET, HEAD", "POST: 405 with Allow (%d)" % r.status)

def keepalive():
    c = http.client.HTTPConnection(GUEST, 80, timeout=10)
    c.connect()
    sock = c.sock
    ok = True
    for p in ["/small.png", "/nope", "/style.css", "/papers/b.pdf", "/docs/empty.txt", "/big.bin"]:
        c.request("GET", p)
        r = c.getresponse()
        r.read()
        ok = ok and c.sock is sock and r.getheader("Connection") == "keep-alive"
    c.close()
    check(ok, "keep-alive: six requests (a 404 among them) on one connection")

def pipelined():
    reqs = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p for p in
                    (b"/papers/b.pdf", b"/style.css", b"/docs/empty.txt"))
    s = raw(reqs + b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /small.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = read_all(s)
    s.close()
    want_body = [open(want[p], "rb").read() for p in ("/papers/b.pdf", "/style.css", "/docs/empty.txt")]
    ok, rest = True, got
    for i, p in enumerate(want_body + [None, open(want["/small.png"], "rb").read()]):
        head, sep, rest = rest.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            ok = False
            break
        if p is None:
            continue  # HEAD: no body follows its headers
        body, rest = rest[:len(p)], rest[len(p):]
        ok = ok and body == p
    check(ok and rest == b"", "five pipelined requests (one HEAD) answered in order, bodies whole, closed after the last")

def refused():
    cases = [
        (b"GARBAGE\r\n\r\n", 400, "a request line with no target"),
        (b"GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host"),
        (b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a .. path"),
        (b"GET /docs/%2e%2e/%2E%2E/x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a percent-encoded .. path"),
        (b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a bad percent escape"),
        (b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "an encoded NUL"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "a folded header"),
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, "a header with no colon"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1z\r\n\r\n", 400, "a bad Content-Length"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400, "HTTP/2.0 in a request line"),
        (b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, "DELETE"),
        (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "a 2000-byte target"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"p" * 9000 + b"\r\n\r\n", 431, "9 KiB of headers"),
    ]
    # A neighbour, mid keep-alive, must not notice any of them.
    n = http.client.HTTPConnection(GUEST, 80, timeout=10)
    n.request("GET", "/style.css")
    n.getresponse().read()
    bad = []
    for data, status, what in cases:
        s = raw(data)
        got = read_all(s)
        s.close()
        if not got.startswith(b"HTTP/1.1 %d " % status) or b"Connection: close" not in got:
            bad.append("%s: %r" % (what, got[:60]))
    n.request("GET", "/style.css")
    r = n.getresponse()
    ok = r.status == 200 and r.read() == open(want["/style.css"], "rb").read()
    n.close()
    check(not bad, "malformed requests get their 4xx and the connection is closed (%d cases)" % len(cases), "; ".join(bad))
    check(ok, "a keep-alive neighbour is served unaffected")

def closes():
    s = raw(b"GET /style.css HTTP/1.0\r\n\r\n")
    got = read_all(s)
    s.close()
    check(got.startswith(b"HTTP/1.1 200") and got.endswith(b"black }\n"), "HTTP/1.0 without keep-alive: one response, then closed")
    s = raw(b"GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /nope HTTP/1.0\r\n\r\n")
    got = read_all(s)
    s.close()
    check(got.count(b"HTTP/1.1 ") == 2 and b"Connection: keep-alive" in got, "HTTP/1.0 with keep-alive: kept open")
    s = raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
    got = read_all(s)
    s.close()
    check(got.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in got, "Connection: close is honoured (the next request is not answered)")

def hostile():
    # Slowloris: a header a byte at a time; the guest gives it header_s=2 s.
    t = time.time()
    s = raw(b"G")
    try:
        for ch in b"ET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 60:
            if select.select([s], [], [], 0.1)[0]:
                break
            s.send(bytes([ch]))
    except OSError:
        pass
    got = read_all(s)
    dt = time.time() - t
    s.close()
    check(got.startswith(b"HTTP/1.1 408 ") and 2 <= dt < 4.5,
          "a header dribbled a byte every 0.1 s: 408 after the header time (%.1f s)" % dt, repr(got[:40]))
    # A client that vanishes mid-response: reads 100 bytes of 64 KiB, resets.
    for i in range(3):
        s = raw(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        s.close()
    # Half-closed: the request, then our FIN; the whole response must still come.
    s = raw(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    got = read_all(s)
    s.close()
    check(got.endswith(open(want["/big.bin"], "rb").read()), "half-closed after its request: the whole 64 KiB come, then the close")
    # An idle keep-alive connection is closed after idle_s=3.
    s = raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n", timeout=8)
    t = time.time()
    got = read_all(s)
    s.close()
    check(got.startswith(b"HTTP/1.1 200") and 2 < time.time() - t < 7, "an idle keep-alive connection is closed after the idle time (%.1f s)" % (time.time() - t))
    r, body = get("/big.bin")
    check(r.status == 200 and len(body) == 65536, "and after all of them the guest serves on")

def limit():
    # 64 connections are served at once (conns=64): the 65th is reset
    # without an answer; once some close, new ones are served again.
    # A SYN the guest's listen backlog dropped is sent again after 1, 3,
    # 7 and 15 s: 30 s lets a loaded machine's connections all come up.
    held = [socket.create_connection((GUEST, 80), timeout=30) for i in range(64)]
    time.sleep(0.5)
    # Refused: reset before the request is sent, or with no answer to it.
    try:
        s = raw(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            got = s.recv(100)
        finally:
            s.close()
    except OSError:
        got = b""
    for h in held[:8]:
        h.close()
    time.sleep(0.5)
    r, body = get("/style.css")
    for h in held[8:]:
        h.close()
    check(got == b"", "the 65th connection at once is refused", repr(got[:40]))
    check(r.status == 200, "and once some close, new ones are served")

# A step that raises fails by name, rather than its checks going unsaid.
for what in sys.argv[4:]:
    try:
        {"fetch": fetch_all, "small": small_checks, "keepalive": keepalive, "pipelined": pipelined,
         "refused": refused, "closes": closes, "hostile": hostile, "limit": limit}[what]()
    except Exception as e:
        check(False, "the client's %s step ran to its end" % what, "(it raised %r)" % e)
EOF
client() {
	inns python3 "$tmp/client.py" "$top_srcdir/tests/lib" "$d1" "$d2" "$@" >"$tmp/client.out" 2>&1
	if ! grep -q '^\(ok\|bad\) ' "$tmp/client.out"; then
		tap_not_ok "the client ran ($*)"
		tap_diag "$(cat "$tmp/client.out")"
		return
	fi
	while IFS= read -r line; do
		case $line in
		"ok "*) tap_ok "${line#ok }" ;;
		"bad "*) tap_not_ok "${line#bad }" ;;
		*) tap_diag "$line" ;;
		esac
	done <"$tmp/client.out"
}
client fetch small keepalive pipelined refused closes hostile limit

# ---- A bounded load ----
if command -v ab >/dev/null 2>&1; then
	inns timeout 60 ab -q -n 200 -c 4 -k http://10.79.0.2/small.png >"$tmp/ab.out" 2>&1
	tap_check "ab -n 200 -c 4 -k: all 200 complete, 0 failed" \
		sh -c "grep -q '^Complete requests: *200$' '$tmp/ab.out' && grep -q '^Failed requests: *0$' '$tmp/ab.out' && ! grep -q '^Non-2xx' '$tmp/ab.out'"
	grep -E '^(Requests per second|Time per request|Keep-Alive)' "$tmp/ab.out" | sed 's/^/# ab: /'
else
	tap_skip "ab -n 200 -c 4 -k" "ab is not installed (Debian: apache2-utils; scripts/deps.sh installs it)"
fi

# ---- Through a router, its checksums made by the host ----
# On the proc platform the guest hands its tap TCP segments of up to
# 64 KiB for the host to cut (a virtio_net_hdr asking for GSO, the TCP
# checksum holding the pseudo-header's sum); delivered on this host they
# are taken whole, unchecked.  Routed on over a veth without checksum
# offload, the host cuts them and sums every piece, and the client in a
# second namespace checks each: the file comes whole, no segment is
# dropped as a bad sum (its TcpInCsumErrors stay 0).
routed() {
	ns2=$ns-b
	ip netns add "$ns2" || return 1
	ip -n "$ns" link add v0 type veth peer name v1 netns "$ns2" &&
		ip -n "$ns" addr add 10.80.0.1/24 dev v0 && ip -n "$ns" link set v0 up &&
		ip -n "$ns2" addr add 10.80.0.2/24 dev v1 && ip -n "$ns2" link set v1 up &&
		ip -n "$ns2" link set lo up &&
		ip -n "$ns2" route add 10.79.0.0/24 via 10.80.0.1 &&
		inns sysctl -qw net.ipv4.ip_forward=1 &&
		inns ethtool -K v0 tx off tso off gso off >/dev/null 2>&1 || return 1
	ip netns exec "$ns2" python3 - "$tmp/d1/big.bin" <<'PY'
import socket, sys
want = open(sys.argv[1], "rb").read()
for i in range(20):
    s = socket.create_connection(("10.79.0.2", 80), timeout=10)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    if not got.endswith(want):
        print("# request %d: %d bytes, not the file's %d" % (i, len(got), len(want)))
        sys.exit(1)
errs = [l.split() for l in open("/proc/net/snmp") if l.startswith("Tcp:")]
bad = int(errs[1][errs[0].index("InCsumErrors")])
print("# 20 requests of 64 KiB routed, %d segments with a bad checksum" % bad)
sys.exit(1 if bad else 0)
PY
}
if [ "$platform" = proc ] && command -v ethtool >/dev/null 2>&1; then
	tap_check "routed on over a veth that sums in software: the 64 KiB file comes whole 20 times, no bad checksum" routed
	ip netns del "$ns-b" 2>/dev/null
elif [ "$platform" = proc ]; then
	tap_skip "routed on over a veth that sums in software" "ethtool is not installed (Debian: ethtool; scripts/deps.sh installs it)"
fi

tap_check "the guest is still running" kill -0 "$vmm_pid"
tap_check "its counters are on the console, the refused requests, time-outs and connections among them" \
	sh -c "grep -qE 'site: [0-9]+ requests: .* [1-9][0-9]* refused as bad, 0 failed, [1-9][0-9]* header time-outs; [0-9]+ connections: [0-9]+ open, [1-9][0-9]* refused' '$tmp/site.out'"
kill "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null
vmm_pid=
sed 's/^/# /' "$tmp/site.out" | tail -4

# ---- A guest whose only disk is corrupt refuses to start ----
tap_check "with no sound disk the guest ends with status 1" \
	tap_vmm nodisk 1 --disk broken:"$tmp/bad.img":ro "$GUESTS/site.$platform"
tap_check "  and says why" tap_said nodisk out "site: FAIL: none of the 1 disks holds a sound FAT file system"

tap_done
