#!/bin/sh
# make distcheck: the tarball is made, unpacked read-only, configured and
# built out of tree, `make check` runs in it (the whole suite, integration
# tests on /dev/kvm included), then install, uninstall (leaving nothing)
# and distclean are checked.  Then a Debian-style install from that
# tarball (--prefix=/usr --sysconfdir=/etc) into a DESTDIR, listed, with
# systemd-analyze verify on its unit.  Slow (a second full build and
# suite), so it is not part of scripts/test.sh.
#   scripts/distcheck.sh     last line: "distcheck: passed in N s"
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
"$top/scripts/deps.sh" prometheus
"$top/scripts/build.sh"
start=$(date +%s)
cd "$build"
if ! make -j"$(nproc)" distcheck >distcheck.out 2>&1; then
	grep -E '^(FAIL|ERROR|XPASS):' distcheck.out || true
	tail -40 distcheck.out
	echo "distcheck: FAILED after $(($(date +%s) - start)) s (log: $build/distcheck.out)"
	exit 1
fi
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' distcheck.out | sed 's/^/distcheck: make check: /' || true
grep -A3 'archives ready for distribution' distcheck.out || true
tarball=$(ls -t "$build"/shoal-*.tar.gz | head -n 1)
mid=$(date +%s)

# A Debian admin's install from the tarball.
deb=$(mktemp -d /tmp/shoal-debian-XXXXXX)
trap 'rm -rf "$deb"' EXIT
tar -C "$deb" -xzf "$tarball"
src=$(ls -d "$deb"/shoal-*)
mkdir "$deb/build"
(cd "$deb/build" && "$src/configure" -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--libexecdir=/usr/libexec && make -s -j"$(nproc)" >/dev/null && make -s install DESTDIR="$deb/dest" >/dev/null)
echo "distcheck: a Debian-style install (--prefix=/usr --sysconfdir=/etc):"
(cd "$deb/dest" && find . ! -type d | sed 's|^\.|    |' | sort)
mkdir -p "$deb/root/usr/lib/systemd"
cp -a "$deb/dest/." "$deb/root/" && cp -a /usr/lib/systemd/system "$deb/root/usr/lib/systemd/"
unit=$(cd "$deb/dest" && find . -name shoald.service | sed 's|^\.||')
# The host's own programs the unit runs (ExecReload=/bin/kill ...).
for p in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\(\/[^ ]*\).*/\1/p' "$deb/root$unit"); do
	case $p in /usr/sbin/shoald) continue ;; esac
	[ -e "$deb/root$p" ] || [ ! -x "$p" ] || { mkdir -p "$deb/root${p%/*}" && cp "$p" "$deb/root$p"; }
done
echo "distcheck: systemd-analyze verify --root=DESTDIR $unit:"
verify=$(MANPATH=$deb/root/usr/share/man systemd-analyze verify --root="$deb/root" "$unit" 2>&1) || true
if [ -n "$verify" ]; then
	echo "$verify" | sed 's/^/    /'
	echo "distcheck: FAILED: systemd-analyze verify complained"
	exit 1
fi
echo "    (nothing to say: the unit, its ExecStart= and its man pages are all there)"
end=$(date +%s)
echo "distcheck: passed in $((mid - start)) s (make distcheck), $((end - mid)) s (the Debian-style install)"
