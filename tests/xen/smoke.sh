#!/bin/sh
# make check's Xen test: the smoke set of tests/xen/run.sh (Xen 4.17 under
# QEMU, shoald on its Xen backend in Dom0), as TAP.  QEMU under TCG takes
# every CPU, so it holds the suite's timing lock (tap_timing_lock in
# tests/tap.sh): the tests whose checks are timed wait for it, and it for them.
build=${top_builddir:-$(pwd)}
run="${top_srcdir:-.}/tests/xen/run.sh"
if command -v flock >/dev/null && [ -d "$build/tests" ]; then
	exec flock "$build/tests/timing.lock" env SHOAL_BUILD="$build" "$run" smoke
fi
exec env SHOAL_BUILD="$build" "$run" smoke
