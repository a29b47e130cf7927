#!/bin/sh
# bench/idle: what an idle guest with devices costs the host.  In a
# network namespace of its own (a bridge with a pool, nothing else),
# shoald runs an echo guest with a NIC on the bridge and two disks (one
# shared read-only, one its own writable copy) beside an idle guest with
# no devices, both probed at 10 Hz, then both with probes off; for each,
# its tender's CPU time (every thread's, /proc/PID/task/*/schedstat) over SECONDS
# seconds.  The baseline is the device-less idle guest of the same run.
# Never pass/fail.
#   bench/idle.sh [SECONDS]       (default 10)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
secs=${1:-10}
case $secs in '' | *[!0-9]*)
	echo "bench/idle.sh: SECONDS is a whole number" >&2
	exit 2
	;;
esac
[ -f "$build/unikernel-rt/examples/echo.kvm" ] || {
	echo "bench/idle: no echo.kvm (lwIP was not built)" >&2
	exit 1
}
command -v mkfs.fat >/dev/null || {
	echo "bench/idle: mkfs.fat is not installed (Debian: dosfstools)" >&2
	exit 1
}
. "$top/tests/lib/netns.sh"
netns_new shoal-idle || {
	echo "bench/idle: cannot make a network namespace (needs root)" >&2
	exit 1
}
tmp=$(mktemp -d /tmp/shoal-idle-XXXXXX)
top_builddir=$build
VMM=$build/vmm/shoal-vmm
SHOALD_NETNS=$ns
tap_diag() { printf '# %s\n' "$@" >&2; }
. "$top/tests/lib/shoald.sh"
trap 'shoald_stop_all; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
netns_bridge br0 10.91.0.1/24
mkfs.fat -C -F 12 "$tmp/ro.img" 4096 >/dev/null
truncate -s 4M "$tmp/rw.img"
# cpu_ns PID: the CPU time of every thread of the process so far, in ns.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f\n", t }'; }
# pid_of GUEST: its tender's pid.
pid_of() { api GET "/v1/guests/$1" | jq_ pid; }

run() { # PROBE_HZ
	shoald_start --bridge="br0 10.91.0.0/24" --probe-hz="$1" >/dev/null || {
		echo "bench/idle: shoald did not start" >&2
		exit 1
	}
	printf '{"name":"dev","image":"%s","memory_mib":16,"args":["lan"],"net":[{"name":"lan","bridge":"br0"}],"disks":[{"name":"www","image":"%s"},{"name":"data","image":"%s","readonly":false}]}' \
		"$build/unikernel-rt/examples/echo.kvm" "$tmp/ro.img" "$tmp/rw.img" >"$tmp/dev.json"
	printf '{"name":"plain","image":"%s","memory_mib":16}' "$build/unikernel-rt/examples/idle.kvm" >"$tmp/plain.json"
	api POST "/v1/guests?wait=1" "$tmp/dev.json" >/dev/null
	api POST "/v1/guests?wait=1" "$tmp/plain.json" >/dev/null
	console_has dev "echo: ready" >/dev/null
	sleep 2 # past the boots
	pd=$(pid_of dev)
	pp=$(pid_of plain)
	d0=$(cpu_ns "$pd")
	p0=$(cpu_ns "$pp")
	sleep "$secs"
	d1=$(cpu_ns "$pd")
	p1=$(cpu_ns "$pp")
	awk -v d=$((d1 - d0)) -v p=$((p1 - p0)) -v s="$secs" -v probe="$1" 'BEGIN {
		printf "| probes at %s Hz | NIC + 2 disks (echo, lwIP): %.1f ms CPU in %d s, %.3f %% of a core | no devices (idle): %.1f ms, %.3f %% | %s |\n",
			probe, d / 1e6, s, 100 * d / 1e9 / s, p / 1e6, 100 * p / 1e9 / s,
			(p > 0 ? sprintf("%.1f×", d / p) : (d == 0 ? "both 0" : "baseline 0")) }'
	shoald_stop_all
	rm -rf "$tmp/state" "$tmp/run"
}

echo "bench/idle: each tender's CPU over $secs s; ring-0 guest code is emulated here, so a wake-up costs more than on a VMX host"
echo "| probes | guest with devices | baseline: guest without | ratio |"
echo "|---|---|---|---|"
run 10
run 0
