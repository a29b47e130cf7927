#!/bin/sh
# shoal's main job on the built-in KVM backend: start shoald, deploy a
# fleet of example guests through its API with shoalctl, a few static
# sites served from FAT disks on a bridge, and show them serving and
# their event-channel latency.  Installs what it needs first.  Where
# /dev/kvm is not usable it says so and runs the same guests on the proc
# platform (each a sandboxed process: shoald --backend=proc).  The
# bridge and shoald's taps live in a network namespace of the demo's own
# (shoal-demo): nothing the sites serve leaves it.
#   scripts/demo.sh [--keep] [--fleet N]
#     --keep     leave shoald and the fleet running (the socket is printed)
#     --fleet N  how many latency-class guests (default 24)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
keep=0
fleet=24
while [ $# -gt 0 ]; do
	case $1 in
	--keep) keep=1 ;;
	--fleet) fleet=$2; shift ;;
	*) echo "usage: scripts/demo.sh [--keep] [--fleet N]" >&2; exit 2 ;;
	esac
	shift
done
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
plat=kvm
backend="--vmm=$build/vmm/shoal-vmm"
if [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "demo: /dev/kvm is not usable here: the same guests run on the proc platform," >&2
	echo "      each a sandboxed process (shoald --backend=proc)" >&2
	plat=proc
	backend="--backend=proc --proc-tender=$build/vmm/shoal-proc"
fi

demo=$build/demo
g=$build/unikernel-rt/examples
ctl() { "$build/shoalctl/shoalctl" --socket "$demo/run/shoald.sock" "$@"; }
# Every guest's name (a name may come twice: the spec has it too).
names() { ctl ls --json 2>/dev/null | tr ',{' '\n\n' | sed -n 's/^"name":"\([a-z0-9-]*\)"$/\1/p' | sort -u; }
remove_all() {
	for n in $(names); do
		ctl rm "$n" >/dev/null 2>&1 || true
	done
	sleep 0.3
}

# A demo of its own: state and sockets under _build/demo, nothing in /var or /run.
if [ -S "$demo/run/shoald.sock" ] && ctl host >/dev/null 2>&1; then
	echo "== a shoald from an earlier demo still runs; removing its guests"
	remove_all
	pkill -TERM -f "shoald --state-dir=$demo/state" 2>/dev/null || true
	sleep 0.5
fi
rm -rf "$demo"
mkdir -p "$demo"
ns=shoal-demo
inns() { ip netns exec "$ns" "$@"; }
ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
inns sysctl -qw net.ipv6.conf.br0.disable_ipv6=1 2>/dev/null || true
ip -n "$ns" addr add 10.99.0.1/24 dev br0
ip -n "$ns" link set br0 up
echo "== starting shoald ($plat platform; state in $demo; in network namespace $ns, bridge br0 with pool 10.99.0.0/24)"
# Not through inns: a function run in the background is a subshell of
# its own, and $! would be that shell's pid, not shoald's (ip netns exec
# becomes shoald), so the cleanup's kill would leave shoald running.
# shellcheck disable=SC2086
ip netns exec "$ns" "$build/daemon/shoald" --state-dir="$demo/state" --run-dir="$demo/run" \
	$backend --bridge="br0 10.99.0.0/24" >"$demo/shoald.log" 2>&1 &
pid=$!
i=0
until ctl host >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
		echo "demo: shoald did not start; its log:" >&2
		cat "$demo/shoald.log" >&2
		exit 1
	fi
	sleep 0.05
done

cleanup() {
	[ "$keep" = 1 ] && return
	remove_all
	kill $pid 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

echo "== deploying the fleet through the API"
t0=$(date +%s%N)
n=1
deploys=
while [ $n -le "$fleet" ]; do
	ctl deploy --name "$(printf 'web-%02d' $n)" --image "$g/idle.$plat" --memory 8 --class latency \
		--slo-us 500 >/dev/null &
	deploys="$deploys $!"
	n=$((n + 1))
done
# shellcheck disable=SC2086
wait $deploys
t1=$(date +%s%N)
echo "   $fleet idle services (latency class) deployed and running in $(( (t1 - t0) / 1000000 )) ms"
ctl deploy --name batch-1 --image "$g/spin.$plat" --memory 16 --class batch --arg 60000 --arg 5000 >/dev/null
ctl deploy --name batch-2 --image "$g/spin.$plat" --memory 16 --class batch --arg 60000 --arg 5000 >/dev/null
ctl deploy --name hello --image "$g/hello.$plat" --memory 8 --restart never --arg "from the shoal demo" >/dev/null
ctl deploy --name wedged --image "$g/hang.$plat" --memory 8 --restart on-failure --arg 2 >/dev/null
echo "   and 2 CPU-bound batch guests, a hello that exits, and a guest that wedges after 2 s"
echo "== a guest that passes its tender a bad pointer is stopped (see the events below); a non-ELF image is refused"
ctl deploy --name badcall --image "$g/badcall.$plat" --memory 8 --restart never --arg ptr >/dev/null 2>&1 || true
printf 'not an ELF image' >"$demo/junk.$plat"
ctl deploy --name junk --image "$demo/junk.$plat" || true

echo "== a site's files on a FAT disk (mkfs.fat and mcopy: nothing is mounted), read by a guest through its block device"
mkdir -p "$demo/site/papers/2026" "$demo/site/media"
printf '<h1>a shoal site</h1>\n' >"$demo/site/index.html"
head -c 40000 /dev/urandom >"$demo/site/papers/2026/A paper with a long name.pdf"
printf 'hello from a disk\n' >"$demo/site/media/café.txt"
rm -f "$demo/site.img"
mkfs.fat -C -F 16 -n SITE "$demo/site.img" 20480 >/dev/null
LC_ALL=C.UTF-8 MTOOLS_SKIP_CHECK=1 mcopy -s -i "$demo/site.img" "$demo/site"/* ::/
ctl deploy --name reader --image "$g/fatcat.$plat" --memory 16 --restart never --disk www="$demo/site.img" \
	--arg tree --arg www >/dev/null
echo "   the image went into the store as a read-only disk (its sha256: $(ctl upload --disk "$demo/site.img"))"

echo "== three static sites, each one command: shoalctl site deploy NAME DIR --net lan=br0"
echo "   (the files become FAT images, split across several when a site is too big for one,"
echo "   uploaded as disks and served by the site guest, which merges them into one tree)"
for s in docs papers media; do
	d=$demo/sites/$s
	mkdir -p "$d/about"
	printf '<!doctype html><title>%s</title><h1>%s, served by a shoal unikernel</h1>\n' "$s" "$s" >"$d/index.html"
	printf 'about %s\n' "$s" >"$d/about/index.html"
done
for i in 1 2 3 4 5 6; do head -c 30000 /dev/urandom >"$demo/sites/papers/paper-$i.pdf"; done
head -c 60000 /dev/urandom >"$demo/sites/media/clip.mp4"
ctl site deploy docs "$demo/sites/docs" --net lan=br0 --image "$g/site.$plat" | sed 's/^/   /'
ctl site deploy papers "$demo/sites/papers" --net lan=br0 --disk-size 128K --image "$g/site.$plat" | sed 's/^/   /'
ctl site deploy media "$demo/sites/media" --net lan=br0 --image "$g/site.$plat" | sed 's/^/   /'
echo "== a page fetched from each site, from inside the namespace"
for s in docs papers media; do
	addr=$(ctl ls --json | python3 -c 'import json,sys
for g in json.load(sys.stdin):
    if g["name"] == sys.argv[1] and g.get("net"):
        print(g["net"][0]["ipv4"].split("/")[0])' "$s")
	for i in $(seq 100); do
		ctl console "$s" 2>/dev/null | grep -q "site: ready" && break
		sleep 0.1
	done
	inns curl -s -o "$demo/page" -w "   http://$addr/ -> %{http_code}, %{size_download} bytes in %{time_total} s: " "http://$addr/" || true
	sed -n 's/.*<h1>\(.*\)<\/h1>.*/\1/p' "$demo/page"
done
addr=$(ctl ls --json | python3 -c 'import json,sys
print([g for g in json.load(sys.stdin) if g["name"] == "papers"][0]["net"][0]["ipv4"].split("/")[0])')
inns curl -s -o /dev/null -w "   http://$addr/paper-6.pdf -> %{http_code}, %{size_download} bytes (whichever disk holds it)\n" "http://$addr/paper-6.pdf" || true
inns curl -s -o /dev/null -w "   http://$addr/nothing-here -> %{http_code}\n" "http://$addr/nothing-here" || true

echo "== letting the probes run for 12 s (10 a second per guest), so the 10 s window is past the deploys"
sleep 12
echo
echo "== shoalctl ls"
ctl ls
echo
echo "== shoalctl top -n 1: guests by their 10 s p99 probe round trip"
ctl top -n 1
echo
echo "== shoalctl placement: latency guests on their CPUs, batch guests on theirs, and the loop's moves"
ctl placement
echo
echo "== shoalctl latency web-01"
ctl latency web-01
echo
echo "== hello's console, after it ended"
ctl console hello
echo
echo "== the reader's console: every file of its disk, with its size and FNV-1a hash"
ctl console reader
echo
echo "== the supervisor's events"
ctl events --limit 200 | grep -E 'hung|exited|start_failed|restart' | tail -6 || true
echo
echo "== /metrics (Prometheus text), a few lines"
curl -s --unix-socket "$demo/run/shoald.sock" http://localhost/metrics |
	grep -E '^shoal_(guests\{state="running"\}|probes_sent_total|probe_misses_total|daemon_cpu_seconds_total|placement_moves_total)|^shoal_guest_probe_rtt_p99_seconds\{guest="web-01"' || true
echo
echo "== the sites' NIC counters (/metrics), beside their probe latency above"
curl -s --unix-socket "$demo/run/shoald.sock" http://localhost/metrics |
	grep -E '^shoal_nic_(rx|tx)_packets_total\{guest="(docs|papers|media)"' || true
if [ "$keep" = 1 ]; then
	echo
	echo "shoald keeps running (pid $pid): $build/shoalctl/shoalctl --socket $demo/run/shoald.sock ls"
	echo "its sites answer inside the namespace: ip netns exec $ns curl http://ADDRESS/"
fi
