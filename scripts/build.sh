#!/bin/sh
# Configures and builds shoal out of tree in ${SHOAL_BUILD:-_build}.
#   scripts/build.sh [configure-option...]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt config.status ]; then
	"$top/configure" -q --enable-werror "$@"
fi
make -s -j"$(nproc)" >/dev/null
