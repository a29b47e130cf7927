#!/bin/sh
# The test matrix's proc column (doc/testing.md):
# tests/integration/test_latency with guests built for proc and shoald
# --backend=proc.
SHOAL_TEST_PLATFORM=proc
export SHOAL_TEST_PLATFORM
exec "$top_builddir/tests/integration/test_latency"
