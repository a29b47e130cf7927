#!/bin/sh
# bench/xen-scale: Xen domain creation at scale, in one boot of Xen under
# QEMU (tests/xen/run.sh scale; the work is done inside Dom0 by
# tests/xen/dom0/scale.sh): the probe p99 of 5 running guests during a
# burst of deploys against the quiet before it, with each domain maker,
# and the Nth create against the first, shoald beside `xl create`.
# Prints the figures with their baselines; never pass/fail.
#   bench/xen-scale.sh [N [BURST]]      (defaults 100 and 20)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
n=${1:-100}
burst=${2:-20}
case "$n$burst" in '' | *[!0-9]*)
	echo "bench/xen-scale.sh: N and BURST are whole numbers" >&2
	exit 2
	;;
esac
SHOAL_BUILD=$build "$top/tests/xen/run.sh" scale -- "shoal.scale_n=$n" "shoal.burst=$burst" |
	grep -E '^(not ok|# )' | grep -vE '^# figure|^#   /'
f=$build/tests/xen/scale/figures
[ -s "$f" ] || { echo "bench/xen-scale: no figures (see $build/tests/xen/scale/serial.log)" >&2; exit 1; }
echo "figures ($f):"
sed 's/^/  /' "$f"
