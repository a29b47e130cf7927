#!/bin/sh
# The whole test suite: installs what it needs, builds, runs `make check`
# (unit tests, and integration tests: the kvm column where the machine has
# /dev/kvm, the proc column everywhere; doc/testing.md)
# and ends with one line: "N passed, N failed[, N skipped]".
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
"$top/scripts/deps.sh" prometheus # promtool checks the /metrics page
# Xen under QEMU (tests/xen): QEMU, Xen's tools, libxen-dev for shoald's Xen
# backend (before configure looks for it), the hypervisor and Dom0 kernel.
SHOAL_BUILD=$build "$top/tests/xen/deps.sh"
"$top/scripts/build.sh"
cd "$build"
set +e
make -s -j"$(nproc)" check >check.out 2>&1
rc=$?
set -e
grep -E '^(PASS|FAIL|XPASS|XFAIL|ERROR|SKIP):' check.out | grep -v '^PASS:' || true
if [ ! -f test-suite.log ]; then
	tail -40 check.out
	echo "0 passed, 1 failed"
	exit 1
fi
count() { sed -n "s/^# $1: *\\([0-9]*\\)/\\1/p" test-suite.log | head -n 1; }
pass=$(count PASS)
fail=$(($(count FAIL) + $(count XPASS) + $(count ERROR)))
skip=$(count SKIP)
if [ "$fail" -ne 0 ]; then
	# Each failed check with the diagnostics its test printed after it.
	echo "--- failures (each 'not ok' and the lines after it, from the tests' logs) ---"
	for log in "$build"/tests/*/*.log; do
		[ -f "$log" ] && [ "${log##*/}" != test-suite.log ] || continue
		awk -v f="${log#"$build"/}" '
			/^not ok / { show = 1; print f ": " $0; next }
			/^(Bail out!|ERROR)/ { print f ": " $0; next }
			show && /^#/ { print f ": " $0; next }
			{ show = 0 }' "$log"
	done | head -80 || true
fi
if [ -f "$build/tests/browser/dashboard.png" ]; then
	echo "the dashboard's screenshot: $build/tests/browser/dashboard.png"
fi
if [ "$skip" -ne 0 ]; then
	grep -h 'SKIP' "$build"/tests/*/*.log 2>/dev/null | sed 's/^/skipped: /' | sort -u | head -20 || true
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
