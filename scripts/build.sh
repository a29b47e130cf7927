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
# lwIP, the guests' TCP/IP stack, into the build tree before configure
# looks for it there; without it the rest builds and its tests say SKIP.
lwip=$("$top/scripts/lwip.sh" "$build") ||
	echo "build: going on without lwIP: the guests' TCP/IP stack and its tests are left out" >&2
cd "$build"
# Configure again when lwIP came after the last configure.
if [ ! -f Makefile ] || [ "$top/configure" -nt config.status ] ||
	{ [ -n "$lwip" ] && grep -q '^LWIP_DIR = *$' Makefile; }; then
	"$top/configure" -q --enable-werror "$@"
fi
make -s -j"$(nproc)" >/dev/null
