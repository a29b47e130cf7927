#!/bin/sh
# bench/soak: churn beside a standing fleet.  In a network namespace of
# its own (a bridge with a pool), shoald runs BACKGROUND idle guests, each
# with a NIC and a read-only disk; for MINUTES minutes a churn loop
# deploys a guest with a NIC, that disk and a writable disk of its own,
# waits until it runs, stops it and removes it, again and again.  Every
# SAMPLE seconds it writes down shoald's descriptors, RSS and state
# database, and what the host holds for guests (taps, loop devices,
# tenders, tender cgroups, disk copies), and prints the curves
# (tests/lib/soak.py).  What should show: the host's counts back where
# they were when the churn ends, shoald's own flat beside them.  Never
# pass/fail; tests/integration/test_soak.sh is the short run the suite
# judges.
#   bench/soak.sh [MINUTES] [BACKGROUND] [SAMPLE]   (default 10, 200, 30)
# SOAK_NO_NIC=1: the churn's guests have no NIC (the stop without a tap).
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
minutes=${1:-10}
background=${2:-200}
every=${3:-30}
for v in "$minutes" "$background" "$every"; do
	case $v in '' | *[!0-9]*)
		echo "bench/soak.sh: MINUTES, BACKGROUND and SAMPLE are whole numbers" >&2
		exit 2
		;;
	esac
done
PLATFORM=${PLATFORM:-$([ -c /dev/kvm ] && echo kvm || echo proc)}
. "$top/tests/lib/soakrun.sh"
soak_run "$((minutes * 60))" "$background" "$every" "$tmp/summary.json" || exit 1
