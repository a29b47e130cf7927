#!/bin/sh
# shoal's main job, on the built-in KVM backend: boots the example guests
# through the shoal-vmm tender, shows their output, boot times and probe
# latency.  Installs what it needs first.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
cd "$build"
vmm=daemon/vmm/shoal-vmm
g=unikernel-rt/examples
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "demo: /dev/kvm is not usable here; guests need KVM" >&2
	exit 1
fi

ms() { echo "$1 $2" | awk '{ printf "%.2f ms", ($2 - $1) / 1e6 }'; }

echo "== hello, booted cold through shoal-vmm"
t0=$(date +%s%N)
$vmm $g/hello.kvm from the shoal demo
t1=$(date +%s%N)
echo "   (start to exit, including the shell's fork: $(ms "$t0" "$t1"))"

echo "== spin, a batch guest, for 600 ms"
$vmm $g/spin.kvm 200 1000 600

echo "== badcall, a guest passing a pointer outside its memory"
$vmm $g/badcall.kvm ptr || echo "   (shoal-vmm exit status $?: bad hypercall)"

echo "== crash, a guest dereferencing NULL"
$vmm $g/crash.kvm null || echo "   (shoal-vmm exit status $?: guest fault)"

echo
echo "== boot times: hello, cold and warm, beside fork+exec+wait of /bin/true"
bench/boot -n 100
echo
echo "== probe round trips: idle through shoal-vmm beside a bare vCPU"
bench/probe-floor -n 1000
