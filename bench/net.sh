#!/bin/sh
# bench/net: the site guest beside nginx, and the echo guest beside a host
# UDP echo, on one bridge inside network namespaces of the bench's own.
#   - HTTP: request latency (p50, p99: one keep-alive connection, one
#     request at a time) and requests/s (ab -k, 4 connections) for a 1 KiB
#     and a 64 KiB file, from the site guest (a cold shoal-vmm, the files
#     on a FAT disk) and from nginx (Debian's nginx-light, its own config,
#     pid file and logs in a temp dir, serving the same files);
#   - UDP: the round trip of a 64-byte datagram to the echo guest and to a
#     Python echo on a veth in a namespace.
# Prints the figures with the baseline beside them; never pass/fail.
# Counts are bounded (a run takes about a minute); nothing leaves the
# machine.  Needs root (namespaces), /dev/kvm, python3, mkfs.fat and mcopy,
# ab (apache2-utils); nginx-light is installed with scripts/deps.sh when
# missing, and its column says n/a when it cannot be.
#
# Where ring-0 guest code is emulated (kvm_pvm: 0.2-0.8 us an instruction)
# the guest's figures are the emulator's: read the ratio as this
# machine's, not a VMX host's.
#   bench/net.sh [SCALE]   (counts times SCALE; default 1)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
scale=${1:-1}
case $scale in '' | *[!0-9]* | 0)
	echo "bench/net.sh: SCALE is a whole number above 0" >&2
	exit 2
	;;
esac
VMM=$build/vmm/shoal-vmm
GUESTS=$build/unikernel-rt/examples
die() {
	echo "bench/net: $*" >&2
	exit 1
}
[ -x "$VMM" ] && [ -f "$GUESTS/site.kvm" ] && [ -f "$GUESTS/echo.kvm" ] ||
	die "build first: no $VMM, site.kvm or echo.kvm (lwIP) under $build"
[ -c /dev/kvm ] || die "/dev/kvm does not exist"
for t in python3 ip mkfs.fat mcopy ab; do
	command -v $t >/dev/null 2>&1 || die "$t is not installed (scripts/deps.sh installs it)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if ! [ -x "$NGINX" ]; then
	"$top/scripts/deps.sh" nginx-light >/dev/null 2>&1
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi

ns=shoal-bnet-$$ nsh=shoal-bnet-h-$$
ip netns add "$ns" 2>/dev/null || die "cannot make a network namespace (needs root)"
ip netns add "$nsh" || die "cannot make a second network namespace"
tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	ip netns del "$nsh" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export MTOOLS_SKIP_CHECK=1

# The bridge, in the clients' namespace: the guests' taps and a veth to
# the baseline's namespace.
inns() { ip netns exec "$ns" "$@"; }
inh() { ip netns exec "$nsh" "$@"; }
ip -n "$ns" link set lo up
ip -n "$nsh" link set lo up
ip -n "$ns" link add br0 type bridge
for t in tap0 tap1; do
	ip -n "$ns" tuntap add dev $t mode tap
	ip -n "$ns" link set $t master br0 up
done
ip -n "$ns" link add vh0 type veth peer name vh1 netns "$nsh"
ip -n "$ns" link set vh0 master br0 up
inns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
inh sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n "$ns" addr add 10.80.0.1/24 dev br0
ip -n "$ns" link set br0 up
ip -n "$nsh" addr add 10.80.0.3/24 dev vh1
ip -n "$nsh" link set vh1 up

# The files, on a FAT disk for the guest and in a directory for nginx.
mkdir -p "$tmp/www" "$tmp/nginx"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
head -c 65536 /dev/urandom >"$tmp/www/64k.bin"
mkfs.fat -C "$tmp/site.img" 1024 >/dev/null 2>&1 && mcopy -i "$tmp/site.img" "$tmp/www"/* ::/ ||
	die "mkfs.fat and mcopy could not make the disk"

# wait_for FILE TEXT PID: until FILE has TEXT, or PID ends, or 30 s.
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$3" 2>/dev/null; then
			cat "$1" >&2
			die "not ready: $2"
		fi
		sleep 0.1
	done
}

ip netns exec "$ns" "$VMM" --disk www:"$tmp/site.img":ro --net lan:tap0:02:00:00:80:00:02 \
	--net-ip 10.80.0.2/24 "$GUESTS/site.kvm" lan stats=0 >"$tmp/site.out" 2>"$tmp/site.err" &
pids="$pids $!"
wait_for "$tmp/site.out" "site: ready" $!
ip netns exec "$ns" "$VMM" --net lan:tap1:02:00:00:80:00:04 --net-ip 10.80.0.4/24 "$GUESTS/echo.kvm" lan \
	>"$tmp/echo.out" 2>"$tmp/echo.err" &
pids="$pids $!"
wait_for "$tmp/echo.out" "echo: ready" $!

# The baselines in the second namespace: nginx on :80, a UDP echo on :7.
have_nginx=0
if [ -x "$NGINX" ]; then
	cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
	types { application/octet-stream bin; }
	sendfile on;
	keepalive_requests 100000;
	server { listen 10.80.0.3:80; root $tmp/www; }
}
EOF
	ip netns exec "$nsh" "$NGINX" -e "$tmp/nginx/error.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" \
		>"$tmp/nginx/out" 2>&1 &
	p=$!
	pids="$pids $p"
	i=0
	while [ $i -lt 50 ] && ! inns python3 -c "import socket; socket.create_connection(('10.80.0.3', 80), 1)" 2>/dev/null; do
		i=$((i + 1))
		sleep 0.1
	done
	[ $i -lt 50 ] && kill -0 $p 2>/dev/null && have_nginx=1
	[ $have_nginx -eq 1 ] || echo "bench/net: nginx did not start: $(cat "$tmp/nginx/out" "$tmp/nginx/error.log" 2>/dev/null)" >&2
else
	echo "bench/net: nginx is not installed and could not be (Debian: nginx-light)" >&2
fi
ip netns exec "$nsh" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.80.0.3", 7))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
' &
pids="$pids $!"

# The clients' side: latency of N requests one at a time on one
# keep-alive connection (every body read to its Content-Length), and of N
# UDP round trips; prints "P50_US P99_US".
cat >"$tmp/lat.py" <<'EOF'
import socket, sys, time
what, host, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lat = []
if what == "http":
    path = sys.argv[4]
    s = socket.create_connection((host, 80), timeout=30)
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    buf = b""
    for i in range(n + 2):
        t = time.perf_counter()
        s.sendall(req)
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, _, buf = buf.partition(b"\r\n\r\n")
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
        while len(buf) < length:
            buf += s.recv(65536)
        buf = buf[length:]
        if i >= 2:  # the first two warm the path (ARP, the disk's directory)
            lat.append(time.perf_counter() - t)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    d = b"x" * 64
    for i in range(n + 2):
        t = time.perf_counter()
        s.sendto(d, (host, 7))
        s.recvfrom(2048)
        if i >= 2:
            lat.append(time.perf_counter() - t)
lat.sort()
print("%.0f %.0f" % (lat[len(lat) // 2] * 1e6, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6))
EOF
lat() { inns python3 "$tmp/lat.py" "$@" 2>/dev/null || echo "- -"; }
rps() { # HOST PATH N: requests/s from ab -k -c 4, or "-" with what failed
	inns timeout 90 ab -q -k -c 4 -n "$3" "http://$1$2" >"$tmp/ab.out" 2>&1
	f=$(sed -n 's/^Failed requests: *//p' "$tmp/ab.out")
	r=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$tmp/ab.out")
	[ -n "$r" ] && [ "$f" = 0 ] && echo "$r" || echo "-"
}
fmt_us() { # microseconds, as ms with 2 decimals or us
	case $1 in -) echo "-" ;; *) awk -v u="$1" 'BEGIN { if (u >= 1000) printf "%.2f ms", u / 1000; else printf "%d us", u }' ;; esac
}
ratio() {
	case "$1$2" in *-* | '') echo "" ;; *) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b }' ;; esac
}
row() { # LABEL SITE BASE A B: the last column is A/B, how many times the guest is slower
	printf '  %-30s %14s %14s %10s\n' "$1" "$2" "$3" "$(ratio "$4" "$5")"
}

echo "bench/net: site guest (cold shoal-vmm on a tap) beside nginx-light (a veth), one bridge"
printf '  %-30s %14s %14s %10s\n' "" "site" "nginx" "site slower"
for f in 1k 64k; do
	case $f in
	1k) nl=$((100 * scale)) na=$((200 * scale)) bl=$((2000 * scale)) ba=$((5000 * scale)) ;;
	64k) nl=$((20 * scale)) na=$((40 * scale)) bl=$((1000 * scale)) ba=$((2000 * scale)) ;;
	esac
	set -- $(lat http 10.80.0.2 $nl /$f.bin)
	s50=$1 s99=$2
	b50=- b99=- brps=-
	if [ $have_nginx -eq 1 ]; then
		set -- $(lat http 10.80.0.3 $bl /$f.bin)
		b50=$1 b99=$2
		brps=$(rps 10.80.0.3 /$f.bin $ba)
	fi
	srps=$(rps 10.80.0.2 /$f.bin $na)
	row "$f: p50 latency ($nl/$bl reqs)" "$(fmt_us $s50)" "$(fmt_us $b50)" $s50 $b50
	row "$f: p99 latency" "$(fmt_us $s99)" "$(fmt_us $b99)" $s99 $b99
	row "$f: requests/s (ab -k -c 4)" "$srps" "$brps" "$brps" "$srps"
done
n=$((200 * scale))
set -- $(lat udp 10.80.0.4 $n)
e50=$1 e99=$2
set -- $(lat udp 10.80.0.3 $n)
h50=$1 h99=$2
printf '  %-30s %14s %14s %10s\n' "" "echo guest" "host echo" "guest slower"
row "UDP 64 B round trip p50 ($n)" "$(fmt_us $e50)" "$(fmt_us $h50)" $e50 $h50
row "UDP 64 B round trip p99" "$(fmt_us $e99)" "$(fmt_us $h99)" $e99 $h99
echo "  guest instructions per request: n/a on kvm (no guest instruction counter here;"
echo "  ring-0 guest code is emulated on this machine, so every ratio above is this"
echo "  machine's, not a VMX host's)"
