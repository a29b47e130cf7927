#!/bin/sh
# bench/xen-create: guest creation on Xen, shoald against xl, in one boot of
# Xen under QEMU (tests/xen/run.sh bench; the work is done inside Dom0 by
# tests/xen/dom0/bench.sh).  Prints the medians with xl's beside
# them and the ratio (goal <= 0.5); never pass/fail.
#   bench/xen-create.sh [ROUNDS]        (default 10)
#   SHOAL_XEN_BENCH_LIBVIRT=1 bench/xen-create.sh: also shoald with backend =
#     libvirt (libvirtd's Xen driver), on the CPU model it needs (run.sh)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
rounds=${1:-10}
case $rounds in '' | *[!0-9]*)
	echo "bench/xen-create.sh: ROUNDS is a whole number" >&2
	exit 2
	;;
esac
SHOAL_BUILD=$build "$top/tests/xen/run.sh" bench -- "shoal.n=$rounds" | grep -E '^(not ok|# )' | grep -v '^# figure'
f=$build/tests/xen/bench/figures
[ -s "$f" ] || { echo "bench/xen-create: no figures (see $build/tests/xen/bench/serial.log)" >&2; exit 1; }
echo "figures ($f):"
sed 's/^/  /' "$f"
