#!/bin/sh
# site.sh on the proc platform: the site guest as a sandboxed process
# (shoal-proc) reading its FAT disks and its tap through the descriptors
# themselves.
SHOAL_TEST_PLATFORM=proc
export SHOAL_TEST_PLATFORM
exec sh "$top_srcdir/tests/integration/site.sh"
