#!/bin/sh
# make check's Xen test: the smoke set of tests/xen/run.sh (Xen 4.17 under
# QEMU, shoald on its Xen backend in Dom0), as TAP.
exec env SHOAL_BUILD="${top_builddir:-$(pwd)}" "${top_srcdir:-.}/tests/xen/run.sh" smoke
