#!/bin/sh
# Brings lwIP, the guests' TCP/IP stack, into the build tree as Debian's
# `lwip` source package: BUILD/deps/lwip-VERSION/, with Debian's patches
# applied.  apt-get source does the work, through a private list that has
# a deb-src line for every archive this machine's apt already uses, so no
# archive is named here and apt checks the archive's signature and every
# file's hash as it does for any package.  Idempotent: when a tree is
# unpacked there, nothing is fetched.  The source tree is never written.
#   scripts/lwip.sh [BUILD]     default BUILD: ${SHOAL_BUILD:-_build}
# Prints the tree's absolute path; exits non-zero, saying why, when it
# cannot get it (the build then goes on without lwIP).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${SHOAL_BUILD:-$top/_build}}
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ "$build" = "$top" ]; then
	echo "lwip.sh: $build is the source tree; lwIP's sources are kept in a build directory" >&2
	exit 2
fi
deps=$build/deps

# The newest complete tree: one is moved into deps/ only once unpacked.
newest() {
	for d in "$deps"/lwip-*/; do
		[ -f "$d/src/core/tcp.c" ] && echo "${d%/}"
	done | sort -V | tail -n 1
}
have=$(newest)
if [ -n "$have" ]; then
	echo "$have"
	exit 0
fi

# dpkg-source unpacks the package; scripts/deps.sh installs it (dpkg-dev).
command -v dpkg-source >/dev/null || "$top/scripts/deps.sh" dpkg-dev
mkdir -p "$deps"
work=$(mktemp -d "$deps/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sources.list.d" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"

# Only source indices are wanted, so the private list has deb-src entries
# alone, one for each deb entry: deb822 stanzas keep their Signed-By and
# other fields, and one-line entries their options.
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	sed 's/^Types:[[:space:]]*deb\([[:space:]].*\)\{0,1\}$/Types: deb-src/' "$f" \
		>"$work/sources.list.d/${f##*/}"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}/deb-src /p' "$f" >"$work/sources.list.d/${f##*/}.list"
done

# The machine's apt.conf.d still applies (a proxy, say); only where the
# lists and the cache live changes.  Unsigned or insecure archives are
# refused whatever the machine's configuration says.
set -- -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources.list.d" \
	-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" \
	-o Acquire::AllowInsecureRepositories=false \
	-o Acquire::AllowDowngradeToInsecureRepositories=false \
	-o APT::Get::AllowUnauthenticated=false
# As root apt would download as the _apt user, who cannot write here.
[ "$(id -u)" -ne 0 ] || set -- "$@" -o APT::Sandbox::User=root
if ! apt-get "$@" update -qq >"$work/apt.log" 2>&1 ||
	! (cd "$work/src" && apt-get "$@" source -qq lwip) >>"$work/apt.log" 2>&1; then
	echo "lwip.sh: apt-get could not fetch the lwip source package:" >&2
	grep -E '^(E|W):' "$work/apt.log" >&2 || tail -n 5 "$work/apt.log" >&2
	exit 1
fi
tree=$(ls -d "$work/src"/lwip-*/ 2>/dev/null | head -n 1)
if [ -z "$tree" ] || [ ! -f "$tree/src/core/tcp.c" ]; then
	echo "lwip.sh: the lwip source package unpacked to no lwIP tree" >&2
	exit 1
fi
tree=${tree%/}
# The .dsc stays beside the tree: the version and the hashes apt checked.
mv "$work/src"/lwip_*.dsc "$deps/" 2>/dev/null || true
mv "$tree" "$deps/"
echo "$deps/${tree##*/}"
