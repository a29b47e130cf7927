#!/bin/sh
# bench/net: the site guest beside nginx, and the echo guest beside a host
# UDP echo, on one bridge inside network namespaces of the bench's own,
# for each platform asked: kvm (a cold shoal-vmm) and proc (a cold
# shoal-proc, the guest a sandboxed host process), each a block of rows.
#   - HTTP: request latency (p50, p99: one keep-alive connection, one
#     request at a time) and requests/s (ab -k, 4 connections) for a 1 KiB
#     and a 64 KiB file, from the site guest (its files on a FAT disk) and
#     from nginx (Debian's nginx-light, its own config, pid file and logs
#     in a temp dir, serving the same files);
#   - UDP: the round trip of a 64-byte datagram to the echo guest and to a
#     Python echo on a veth in a namespace;
#   - proc only: the guest's instructions per request, counted by callgrind
#     (valgrind) on vmm/shoal-proc-vg --no-jail (shoal-proc linked where
#     valgrind leaves the guest's addresses free, run without its jail and
#     filter, which valgrind cannot live in): a run with N keep-alive
#     requests less a run with only the two warm-up requests that idles as
#     long, over N.  User-space instructions only (the runtime, lwIP, the
#     site; the host kernel's work for the guest's ppoll, read and write
#     is not in them).  The functions they go to are written to a file
#     under the build tree;
#   - each guest process's CPU a request, user and system, over its ab run.
# nginx and the host echo are measured once, and printed beside every
# block with the ratios and the goals (site p99 <= 1.5x nginx's, requests/s
# >= 0.7x); figures never pass or fail.  Counts are bounded (a run takes
# one to two minutes); nothing leaves the machine.  Needs root
# (namespaces), python3, mkfs.fat and mcopy, ab (apache2-utils); kvm needs
# /dev/kvm (its block says why it is skipped without); nginx-light and
# valgrind are installed with scripts/deps.sh when missing, and what
# cannot be says n/a.
#
# Where ring-0 guest code is emulated (kvm_pvm: 0.2-0.8 us an instruction)
# the kvm guest's figures are the emulator's: read its ratios as this
# machine's, not a VMX host's.  The proc guest runs at native speed.
#   bench/net.sh [--platform kvm|proc|all] [SCALE]
#     --platform  default: all (kvm when /dev/kvm exists, and proc)
#     SCALE       counts times SCALE (default 1)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
platform=all
while [ $# -gt 0 ]; do
	case $1 in
	--platform)
		[ $# -ge 2 ] || set -- "$1" ""
		platform=$2
		shift 2
		;;
	--platform=*)
		platform=${1#--platform=}
		shift
		;;
	*) break ;;
	esac
done
case $platform in kvm | proc | all) ;; *)
	echo "bench/net.sh: --platform is kvm, proc or all" >&2
	exit 2
	;;
esac
scale=${1:-1}
case $scale in '' | *[!0-9]* | 0)
	echo "bench/net.sh: SCALE is a whole number above 0" >&2
	exit 2
	;;
esac
VMM=$build/vmm/shoal-vmm
PROC=$build/vmm/shoal-proc
PROC_VG=$build/vmm/shoal-proc-vg
GUESTS=$build/unikernel-rt/examples
die() {
	echo "bench/net: $*" >&2
	exit 1
}

# Which blocks run, and why one does not.
run_kvm=0 run_proc=0 why_kvm='' why_proc=''
if [ "$platform" != proc ]; then
	if ! [ -c /dev/kvm ]; then
		why_kvm="no /dev/kvm on this machine"
	elif ! [ -x "$VMM" ] || ! [ -f "$GUESTS/site.kvm" ] || ! [ -f "$GUESTS/echo.kvm" ]; then
		why_kvm="not built: no $VMM, site.kvm or echo.kvm (lwIP) under $build"
	else
		run_kvm=1
	fi
fi
if [ "$platform" != kvm ]; then
	if ! [ -x "$PROC" ] || ! [ -f "$GUESTS/site.proc" ] || ! [ -f "$GUESTS/echo.proc" ]; then
		why_proc="not built: no $PROC, site.proc or echo.proc (lwIP) under $build"
	else
		run_proc=1
	fi
fi
if [ $run_kvm -eq 0 ] && [ $run_proc -eq 0 ]; then
	[ -z "$why_kvm" ] || echo "bench/net [kvm]: skipped: $why_kvm"
	[ -z "$why_proc" ] || echo "bench/net [proc]: skipped: $why_proc"
	exit 0
fi
for t in python3 ip mkfs.fat mcopy ab; do
	command -v $t >/dev/null 2>&1 || die "$t is not installed (scripts/deps.sh installs it)"
done
[ -c /dev/net/tun ] || die "/dev/net/tun does not exist"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if ! [ -x "$NGINX" ]; then
	"$top/scripts/deps.sh" nginx-light >/dev/null 2>&1
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi

ns=shoal-bnet-$$ nsh=shoal-bnet-h-$$
ip netns add "$ns" 2>/dev/null || die "cannot make a network namespace (needs root)"
ip netns add "$nsh" || die "cannot make a second network namespace"
tmp=$(mktemp -d)
pids='' gpids=''
cleanup() {
	for p in $gpids $pids; do kill "$p" 2>/dev/null; done
	for p in $gpids $pids; do wait "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	ip netns del "$nsh" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE
export MTOOLS_SKIP_CHECK=1

# The bridge, in the clients' namespace: the guests' taps (the site's and
# the echo's, the same for every platform: one block at a time) and a veth
# to the baseline's namespace.
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
# UDP round trips; prints "P50_US P99_US" ("- -" for N = 0: the two
# warm-up requests alone, as the idle callgrind run makes).
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
    s.close()
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
if not lat:
    print("- -")
else:
    print("%.0f %.0f" % (lat[len(lat) // 2] * 1e6, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6))
EOF
lat() { inns python3 "$tmp/lat.py" "$@" 2>/dev/null || echo "- -"; }
rps() { # HOST PATH N: requests/s from ab -k -c 4, or "-" with what failed
	inns timeout 90 ab -q -k -c 4 -n "$3" "http://$1$2" >"$tmp/ab.out" 2>&1
	f=$(sed -n 's/^Failed requests: *//p' "$tmp/ab.out")
	r=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$tmp/ab.out")
	if [ -n "$r" ] && [ "$f" = 0 ]; then
		echo "$r"
	else
		echo "bench/net: ab -n $3 http://$1$2: $(grep -iE 'fail|error|timeout|refused|reset' "$tmp/ab.out" | tr '\n' ' ')" >&2
		echo "-"
	fi
}
fmt_us() { # microseconds, as ms with 2 decimals or us
	case $1 in -) echo "-" ;; *) awk -v u="$1" 'BEGIN { if (u >= 1000) printf "%.2f ms", u / 1000; else printf "%d us", u }' ;; esac
}
ratio() { # A/B with 2 significant decimals
	case "$1$2" in *-* | '') echo "" ;; *) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) { r = a / b; printf(r < 0.1 ? "%.3fx" : "%.2fx", r) } }' ;; esac
}
row() { # LABEL GUEST BASE A B GOAL: the ratio column is A/B
	printf '  %-32s %12s %12s %12s  %s\n' "$1" "$2" "$3" "$(ratio "$4" "$5")" "$6"
}
hdr() {
	printf '  %-32s %12s %12s %12s  %s\n' "" "$1" "$2" "$3" "$4"
}

# The baselines, once: nginx for both files, the host echo.  Counts as
# the proc guest's, below.
n_lat() { case $1 in 1k) echo $((2000 * scale)) ;; 64k) echo $((1000 * scale)) ;; esac }
n_ab() { case $1 in 1k) echo $((20000 * scale)) ;; 64k) echo $((5000 * scale)) ;; esac }
n_udp=$((200 * scale))
b50_1k=- b99_1k=- brps_1k=- b50_64k=- b99_64k=- brps_64k=-
if [ $have_nginx -eq 1 ]; then
	for f in 1k 64k; do
		set -- $(lat http 10.80.0.3 "$(n_lat $f)" /$f.bin)
		eval "b50_$f=\$1 b99_$f=\$2"
		eval "brps_$f=\$(rps 10.80.0.3 /$f.bin $(n_ab $f))"
	done
fi
set -- $(lat udp 10.80.0.3 $n_udp)
h50=$1 h99=$2
echo "bench/net: nginx-light (a veth in a namespace of its own) and a host UDP echo, measured"
echo "  once here, are the baseline beside every block; site/nginx is the guest's figure over"
echo "  nginx's (goals: p99 <= 1.5x, requests/s >= 0.7x); nothing passes or fails"

# start_guests TENDER EXT: the site guest on tap0 and the echo guest on
# tap1, each started cold, until both say ready.
start_guests() {
	ip netns exec "$ns" "$1" --disk www:"$tmp/site.img":ro --net lan:tap0:02:00:00:80:00:02 \
		--net-ip 10.80.0.2/24 "$GUESTS/site.$2" lan stats=0 >"$tmp/site.out" 2>"$tmp/site.err" &
	site_pid=$!
	gpids="$gpids $!"
	wait_for "$tmp/site.out" "site: ready" $!
	ip netns exec "$ns" "$1" --net lan:tap1:02:00:00:80:00:04 --net-ip 10.80.0.4/24 "$GUESTS/echo.$2" lan \
		>"$tmp/echo.out" 2>"$tmp/echo.err" &
	gpids="$gpids $!"
	wait_for "$tmp/echo.out" "echo: ready" $!
}
stop_guests() {
	for p in $gpids; do kill "$p" 2>/dev/null; done
	for p in $gpids; do wait "$p" 2>/dev/null; done
	gpids=
}

# cpu_ticks PID: its user and system time, in clock ticks.
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"; }

# block PLATFORM TITLE: the rows of one platform's guests, started with
# start_guests, beside the baselines measured above.
block() {
	plat=$1
	echo "bench/net [$plat]: $2"
	hdr "site" "nginx" "site/nginx" "goal"
	for f in 1k 64k; do
		nl=$(n_lat $f) na=$(n_ab $f)
		if [ "$plat" = kvm ]; then # emulated: fewer
			case $f in
			1k) nl=$((100 * scale)) na=$((200 * scale)) ;;
			64k) nl=$((20 * scale)) na=$((40 * scale)) ;;
			esac
		fi
		set -- $(lat http 10.80.0.2 $nl /$f.bin)
		s50=$1 s99=$2
		t0=$(cpu_ticks "$site_pid")
		srps=$(rps 10.80.0.2 /$f.bin $na)
		t1=$(cpu_ticks "$site_pid")
		eval "b50=\$b50_$f b99=\$b99_$f brps=\$brps_$f"
		row "$f: p50 latency ($nl/$(n_lat $f) reqs)" "$(fmt_us $s50)" "$(fmt_us $b50)" $s50 $b50 ""
		row "$f: p99 latency" "$(fmt_us $s99)" "$(fmt_us $b99)" $s99 $b99 "<= 1.5x"
		row "$f: requests/s (ab -k -c 4)" "$srps" "$brps" "$srps" "$brps" ">= 0.7x"
		echo "$t0 $t1" | awk -v n="$na" -v hz="$hz" '{ printf "  %-32s %12s\n", "  its CPU a request, user/sys", \
			sprintf("%.1f/%.1f us", ($3 - $1) * 1e6 / hz / n, ($4 - $2) * 1e6 / hz / n) }'
	done
	set -- $(lat udp 10.80.0.4 $n_udp)
	e50=$1 e99=$2
	hdr "echo guest" "host echo" "guest/host" ""
	row "UDP 64 B round trip p50 ($n_udp)" "$(fmt_us $e50)" "$(fmt_us $h50)" $e50 $h50 ""
	row "UDP 64 B round trip p99" "$(fmt_us $e99)" "$(fmt_us $h99)" $e99 $h99 ""
}

if [ $run_kvm -eq 1 ]; then
	start_guests "$VMM" kvm
	block kvm "site guest (cold shoal-vmm on a tap) beside nginx-light (a veth), one bridge"
	stop_guests
	echo "  guest instructions per request: n/a on kvm (no guest instruction counter here;"
	echo "  ring-0 guest code is emulated on this machine, so every ratio above is this"
	echo "  machine's, not a VMX host's)"
elif [ "$platform" != proc ]; then
	echo "bench/net [kvm]: skipped: $why_kvm"
fi
[ $run_proc -eq 1 ] || {
	[ "$platform" = kvm ] || echo "bench/net [proc]: skipped: $why_proc"
	exit 0
}
start_guests "$PROC" proc
block proc "site guest (cold shoal-proc, a sandboxed process, on a tap) beside nginx-light (a veth), one bridge"
stop_guests

# ---- Instructions per request: the site guest under callgrind ----
# cg_run NAME FILE N: a cold shoal-proc-vg --no-jail under callgrind; the
# two warm-up requests and N more on one keep-alive connection, or with
# N = 0 an idle wait of $idle_s seconds instead; then SIGTERM, on which
# valgrind writes its counts.  Sets cg_s, the seconds the requests took.
cg_run() {
	ip netns exec "$ns" valgrind -q --tool=callgrind --collect-systime=usec \
		--callgrind-out-file="$cgdir/callgrind.out.$1" "$PROC_VG" --no-jail \
		--disk www:"$tmp/site.img":ro --net lan:tap0:02:00:00:80:00:02 --net-ip 10.80.0.2/24 \
		"$GUESTS/site.proc" lan stats=0 >"$tmp/cg.out" 2>"$tmp/cg.err" &
	p=$!
	gpids=$p
	wait_for "$tmp/cg.out" "site: ready" $p
	t0=$(date +%s.%N)
	if [ "$3" -gt 0 ]; then
		inns python3 "$tmp/lat.py" http 10.80.0.2 "$3" "/$2" >/dev/null
	else
		inns python3 "$tmp/lat.py" http 10.80.0.2 0 "/$2" >/dev/null
		sleep "$idle_s"
	fi
	cg_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	kill -TERM $p 2>/dev/null
	wait $p 2>/dev/null
	gpids=
	[ -s "$cgdir/callgrind.out.$1" ] || {
		cat "$tmp/cg.err" >&2
		return 1
	}
}
command -v valgrind >/dev/null 2>&1 || "$top/scripts/deps.sh" valgrind >/dev/null 2>&1
if ! command -v valgrind >/dev/null 2>&1 || ! command -v callgrind_annotate >/dev/null 2>&1; then
	echo "  guest instructions per request: n/a (valgrind is not installed and could not be)"
	exit 0
fi
[ -x "$PROC_VG" ] || {
	echo "  guest instructions per request: n/a (no $PROC_VG: build first)"
	exit 0
}
cgdir=$build/bench/net-callgrind
rm -rf "$cgdir"
mkdir -p "$cgdir"
cat >"$tmp/cg.py" <<'EOF'
# cg.py IMAGE IDLE RUN N LABEL: prints "IR SYSCALLS TAP_WRITES" a request
# (RUN's counts less IDLE's, over N) and appends to the report, on
# descriptor 3, the functions the requests' instructions and system calls
# go to, the guest's addresses named from IMAGE's symbols and grouped by
# where their source lies.
import bisect, os, re, subprocess, sys
image, idle, run, n, label = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
EV = ("Ir", "sysCount", "sysTime")
CELL = r"[\d,]+ \(\s*[\d.]+%\)|\."
ROW = re.compile(r"^\s*((?:(?:" + CELL + r")\s+){3})(\S+)")
def costs(path):
    out = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", "--inclusive=no",
                          "--show=" + ",".join(EV), path], capture_output=True, text=True).stdout
    cost, table = {}, False
    for line in out.splitlines():
        if "file:function" in line:
            table = True
            continue
        m = ROW.match(line) if table else None
        if not m:
            continue
        vals = [0 if v == "." else int(v.split()[0].replace(",", "")) for v in re.findall(CELL, m.group(1))]
        c = cost.setdefault(m.group(2), [0, 0, 0])
        for i in range(3):
            c[i] += vals[i]
    return cost
syms = []
for line in subprocess.run(["nm", "-n", image], capture_output=True, text=True).stdout.splitlines():
    p = line.split()
    if len(p) == 3 and p[1] in "tTwW":
        syms.append((int(p[0], 16), p[2]))
addrs = [a for a, _ in syms]
def where(name):
    # "???:0x...": guest code, named from the image; the rest is the tender's
    m = re.match(r"\?\?\?:0x([0-9a-f]+)", name)
    if not m:
        return name.split(":", 1)[-1], "tender"
    a = int(m.group(1), 16)
    i = bisect.bisect_right(addrs, a) - 1
    if i < 0:
        return hex(a), "guest"
    src = subprocess.run(["addr2line", "-e", image, hex(syms[i][0])], capture_output=True, text=True).stdout
    if "lwip-" in src or "/lwip/src/" in src:
        part = "lwIP"
    elif "unikernel-rt/lwip/" in src:
        part = "lwIP port"
    elif "examples/" in src:
        part = "site"
    else:
        part = "runtime"
    return syms[i][1], part
ci, cr = costs(idle), costs(run)
per_fn, per_part, tot = {}, {}, [0, 0, 0]
for k in set(ci) | set(cr):
    d = [cr.get(k, [0, 0, 0])[i] - ci.get(k, [0, 0, 0])[i] for i in range(3)]
    key = where(k)
    f = per_fn.setdefault(key, [0, 0, 0])
    for i in range(3):
        f[i] += d[i]
        tot[i] += d[i]
    per_part[key[1]] = per_part.get(key[1], 0) + d[0]
# The clock is a system call under valgrind only (it hides the vDSO the
# guest reads the clock through): its calls are left out of the count.
CLOCK = ("rt_clock_ns", "plat_clock_ns")
ir = tot[0] / n
sc = sum(v[1] for (fn, _), v in per_fn.items() if fn not in CLOCK) / n
# The tap's writes: a frame, or on a tap with a virtio_net_hdr TCP segments joined (netdev.c).
TX = ("rt_netdev_tx_commit", "tap_write", "flush", "proc__netdev_flush")
tx = sum(per_fn.get((fn, "runtime"), [0, 0, 0])[1] for fn in TX)
print("%.0f %.1f %.1f" % (ir, sc, tx / n))
def pct(v):
    return 100.0 * v / n / ir if ir else 0
rep = os.fdopen(3, "w")
rep.write("%s: %d requests on one keep-alive connection (%s less %s, over %d)\n"
          % (label, n, os.path.basename(run), os.path.basename(idle), n))
rep.write("  instructions a request %.0f\n  by part (%s): %s\n" % (ir, label, ", ".join(
    "%s %.0f (%.0f%%)" % (p, v / n, pct(v))
    for p, v in sorted(per_part.items(), key=lambda x: -x[1]) if abs(pct(v)) >= 0.5)))
rep.write("  %12s  %6s  %-10s %s\n" % ("Ir/request", "share", "part", "function"))
for (fn, part), v in sorted(per_fn.items(), key=lambda x: -x[1][0])[:25]:
    rep.write("  %12.0f  %5.1f%%  %-10s %s\n" % (v[0] / n, pct(v[0]), part, fn))
rep.write("  system calls a request %.1f, the clock's left out (the time is as valgrind saw it: a call\n"
          "  costs more under it; poll_events' is the guest's wait, less the idle run's longer one)\n" % sc)
rep.write("  %12s  %12s  %-10s %s\n" % ("calls/request", "us/request", "part", "function"))
for (fn, part), v in sorted(per_fn.items(), key=lambda x: -x[1][1]):
    if v[1] > 0:
        t = "%.1f" % (v[2] / n) if v[2] >= 0 else "-"
        rep.write("  %12.1f  %12s  %-10s %s\n" % (v[1] / n, t, part, fn))
rep.write("\n")
EOF
report=$cgdir/top-functions.txt
: >"$report"
n1=$((200 * scale)) n64=$((50 * scale))
# Each file's run, then an idle run with the same two warm-up requests
# that waits as long as the requests took: the boot, the warm-up and the
# guest's timers come out with it.
for f in 1k 64k; do
	[ $f = 1k ] && n=$n1 || n=$n64
	cg_run $f $f.bin $n || die "callgrind: the $f run failed"
	eval "s_$f=\$cg_s"
	idle_s=$cg_s
	cg_run idle-$f $f.bin 0 || die "callgrind: the idle run for $f failed"
	set -- $(python3 "$tmp/cg.py" "$GUESTS/site.proc" "$cgdir/callgrind.out.idle-$f" \
		"$cgdir/callgrind.out.$f" $n "$f" 3>>"$report")
	eval "i_$f=\$1 c_$f=\$2 w_$f=\$3"
done
echo "  guest instructions per request (callgrind, user space; less an idle run as long;"
echo "  system calls without the clock's, which natively are the vDSO's):"
printf '    1k: %s instructions, %s system calls, %s of them tap writes (%s requests, %s s)\n' \
	"$i_1k" "$c_1k" "$w_1k" $n1 "$s_1k"
printf '    64k: %s instructions, %s system calls, %s of them tap writes (%s requests, %s s)\n' \
	"$i_64k" "$c_64k" "$w_64k" $n64 "$s_64k"
sed -n 's/^  by part (\(.*\)): /    \1 by part: /p' "$report"
echo "    where they go: $report"
