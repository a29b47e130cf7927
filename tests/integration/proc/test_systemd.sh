#!/bin/sh
# The test matrix's proc column (doc/testing.md):
# tests/integration/test_systemd.sh with shoald's backend proc from its
# first start and no /dev/kvm passed into the container.
SHOAL_TEST_PLATFORM=proc
export SHOAL_TEST_PLATFORM
exec sh "$top_srcdir/tests/integration/test_systemd.sh"
