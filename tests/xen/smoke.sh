#!/bin/sh
# make check's Xen tests: a set of tests/xen/run.sh (Xen 4.17 under QEMU,
# shoald in Dom0) as TAP: the smoke set (shoald on its Xen backend), or
# the set SHOAL_XEN_SET names (tests/xen/libvirt.sh: the libvirt set).
# QEMU under TCG takes every CPU, so it holds the suite's timing lock
# (tap_timing_lock in tests/tap.sh): the tests whose checks are timed wait
# for it, and it for them.
build=${top_builddir:-$(pwd)}
run="${top_srcdir:-.}/tests/xen/run.sh"
set_name=${SHOAL_XEN_SET:-smoke}
if command -v flock >/dev/null && [ -d "$build/tests" ]; then
	exec flock "$build/tests/timing.lock" env SHOAL_BUILD="$build" "$run" "$set_name"
fi
exec env SHOAL_BUILD="$build" "$run" "$set_name"
