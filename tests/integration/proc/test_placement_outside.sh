#!/bin/sh
# The test matrix's proc column (doc/testing.md):
# tests/integration/test_placement_outside.sh with guests built for proc
# and shoald --backend=proc.
SHOAL_TEST_PLATFORM=proc
export SHOAL_TEST_PLATFORM
exec sh "$top_srcdir/tests/integration/test_placement_outside.sh"
