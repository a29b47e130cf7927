#!/bin/sh
# The whole test suite: installs what it needs, builds, runs `make check`
# (unit tests, and integration tests: the kvm column where the machine has
# /dev/kvm, the proc column everywhere; doc/testing.md)
# and ends with one line: "N passed, N failed[, N skipped]".
# The integration tests run in a second build,
# ${SHOAL_ASAN_BUILD:-_build-asan}, made with the address and
# undefined-behaviour sanitizers (--enable-sanitizers); the rest, the Xen
# sets among them, in the plain one.  A sanitizer's report fails its test,
# whichever process made it.  With SHOAL_TEST_SANITIZED=0 every test runs
# in the plain build (doc/testing.md).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
asan=${SHOAL_ASAN_BUILD:-$top/_build-asan}
sanitized=${SHOAL_TEST_SANITIZED:-1}
"$top/scripts/deps.sh" prometheus # promtool checks the /metrics page
# Xen under QEMU (tests/xen): QEMU, Xen's tools, libxen-dev for shoald's Xen
# backend (before configure looks for it), the hypervisor and Dom0 kernel.
SHOAL_BUILD=$build "$top/tests/xen/deps.sh"
"$top/scripts/build.sh"
if [ "$sanitized" = 1 ]; then
	# The sanitized build takes the plain one's lwIP rather than fetching it again.
	mkdir -p "$asan/deps"
	for d in "$build"/deps/lwip-*/; do
		[ -f "$d/src/core/tcp.c" ] && ln -sfn "${d%/}" "$asan/deps/"
	done
	SHOAL_BUILD=$asan "$top/scripts/build.sh" --enable-sanitizers
else
	asan=$build/no-sanitized-build
fi

# check DIR WHICH: make check in DIR of its half of TESTS (tests/local.mk's
# print-tests-WHICH); the summary is DIR/test-suite.log.
rc=0
check() {
	(cd "$1" && make -s -j"$(nproc)" check TESTS="$(make -s "print-tests-$2")") >"$1/check.out" 2>&1 || rc=1
	grep -E '^(PASS|FAIL|XPASS|XFAIL|ERROR|SKIP):' "$1/check.out" | grep -v '^PASS:' || true
	if [ ! -f "$1/test-suite.log" ]; then
		tail -40 "$1/check.out"
		echo "0 passed, 1 failed"
		exit 1
	fi
}
rm -rf "$build/test-suite.log" "$asan/test-suite.log" "$asan/sanitizer"
if [ "$sanitized" = 1 ]; then
	check "$build" rest
	# The plain build's programs that a sanitized build cannot have
	# (vmm/shoal-proc-vg, for valgrind), for the tests that run them.
	SHOAL_PLAIN_BUILDDIR=$build
	export SHOAL_PLAIN_BUILDDIR
	check "$asan" integration
else
	check "$build" all
fi
count() {
	for f in "$build/test-suite.log" "$asan/test-suite.log"; do
		[ -f "$f" ] || continue
		sed -n "s/^# $1: *\\([0-9]*\\)/\\1/p" "$f" | head -n 1
	done | awk '{ n += $1 } END { print n + 0 }'
}
pass=$(count PASS)
fail=$(($(count FAIL) + $(count XPASS) + $(count ERROR)))
skip=$(count SKIP)
# A sanitizer's report (Makefile.am: each test's reports in
# sanitizer/TEST/) fails its test even where the test did not see the
# process end: a test with one counts one failure more, unless it failed.
# A file of warnings alone (an allocation too big, refused) is no report.
reports=$(grep -rlE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$asan/sanitizer" 2>/dev/null | sort)
if [ -n "$reports" ]; then
	echo "--- sanitizer reports (the test, then the report's first lines) ---"
	for t in $(printf '%s\n' "$reports" | sed "s|^$asan/sanitizer/||; s|/[^/]*$||" | sort -u); do
		grep -q '^:global-test-result: \(FAIL\|ERROR\)' "$asan/$t.trs" 2>/dev/null ||
			fail=$((fail + 1))
		for f in $(printf '%s\n' "$reports" | grep "^$asan/sanitizer/$t/[^/]*$"); do
			echo "FAIL: $t: sanitizer report ${f#"$asan"/}"
			grep -m 12 -E 'ERROR|SUMMARY|runtime error|^ +#[0-9]' "$f" | sed "s|^|$t: |"
		done
	done
fi
if [ "$fail" -ne 0 ]; then
	# Each failed check with the diagnostics its test printed after it.
	echo "--- failures (each 'not ok' and the lines after it, from the tests' logs) ---"
	for log in "$build"/tests/*/*.log "$build"/tests/*/*/*.log "$asan"/tests/*/*.log "$asan"/tests/*/*/*.log; do
		[ -f "$log" ] && [ "${log##*/}" != test-suite.log ] || continue
		awk -v f="${log#"$top"/}" '
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
	# Each skip once: the driver's line (a log also holds the TAP line it read).
	grep -h '^SKIP:' "$build"/tests/*/*.log "$build"/tests/*/*/*.log "$asan"/tests/*/*.log \
		"$asan"/tests/*/*/*.log 2>/dev/null | sed 's/^SKIP: /skipped: /' | sort -u | head -20 || true
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ] && [ -z "$reports" ]
