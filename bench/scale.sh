#!/bin/sh
# bench/scale: the 2,000-guest run, from a fresh clone in one command
# (as root):
#   bench/scale.sh [SAMPLES]          (default 60 a level)
# installs what the build needs, builds, and runs bench/deploy with every
# guest holding a NIC (two bridges of its own, in a network namespace of
# its own: a Linux bridge holds at most 1,024 ports) and a read-only
# disk, at 1, 500, 1,000 and 2,000 idle guests: deploy -> running and
# stop -> tender gone, GET /v1/guests and /metrics to their first and
# last byte, host memory and shoald's RSS per guest.  Never pass/fail.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
samples=${1:-60}
case $samples in '' | *[!0-9]*)
	echo "bench/scale.sh: SAMPLES is a whole number" >&2
	exit 2
	;;
esac
[ "$(id -u)" = 0 ] || {
	echo "bench/scale.sh: run it as root (it makes a network namespace, bridges and taps)" >&2
	exit 2
}
# Without /dev/kvm the guests run on the proc platform: the same guests
# as sandboxed processes, natively (SHOAL_TEST_PLATFORM=proc says so
# anywhere).
if [ -z "${SHOAL_TEST_PLATFORM:-}" ] && [ ! -c /dev/kvm ]; then
	echo "bench/scale.sh: no /dev/kvm here: the guests run on the proc platform" >&2
	SHOAL_TEST_PLATFORM=proc
	export SHOAL_TEST_PLATFORM
fi
"$top/scripts/deps.sh" >&2
"$top/scripts/build.sh" >&2
# 8 MiB a guest: shoald admits guests by the memory they are given, and
# 2,000 of 16 MiB would ask more than this machine's 24 GiB.
# The bench finds shoald, the tenders and the guests in top_builddir.
top_builddir=$build exec "$build/bench/deploy" --devices --memory-mib 8 --levels 1,500,1000,2000 -n "$samples"
