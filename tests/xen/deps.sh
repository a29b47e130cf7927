#!/bin/sh
# What the Xen-in-QEMU suite needs on Debian 12.  Host tools are installed
# with apt-get (scripts/deps.sh): QEMU, cpio, Xen's Dom0 tools (copied into
# the Dom0 initramfs) and libxen-dev (shoald's Xen backend).  What only runs
# inside QEMU (the hypervisor, the Dom0 kernel and its Xen modules,
# busybox) is fetched as Debian packages and unpacked into a cache under
# the build tree, so the host's /boot, boot loader and initramfs are never
# touched.  Idempotent and quiet; prints how long it took when it did work.
#   tests/xen/deps.sh            (env: SHOAL_BUILD, SHOAL_XEN_CACHE)
# Writes CACHE/payload.env, which tests/xen/mkdom0.sh reads.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
cache=${SHOAL_XEN_CACHE:-$build/tests/xen/cache}
t0=$(date +%s.%N)
did=

die() {
	echo "tests/xen/deps.sh: $*" >&2
	exit 1
}

# libvirt-daemon, its Xen driver and virsh: copied into Dom0 for the libvirt set.
"$top/scripts/deps.sh" qemu-system-x86 xen-utils-4.17 libxen-dev cpio libvirt-daemon \
	libvirt-daemon-driver-xen libvirt-clients

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return 0
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
	apt_updated=1
}

# candidate PKG: the version apt would fetch (after one update if unknown).
candidate() {
	v=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		apt_update
		v=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	fi
	[ -n "$v" ] && [ "$v" != "(none)" ] || die "no package $1 in the apt sources"
	echo "$v"
}

# unpack PKG VERSION DEST MEMBER...: the members of the package's data,
# unpacked into DEST once (DEST/.done marks a complete unpack and names
# its members: a different list unpacks again).
unpack() {
	pkg=$1 ver=$2 dest=$3
	shift 3
	[ "$(cat "$dest/.done" 2>/dev/null)" = "$*" ] && return 0
	did=1
	mkdir -p "$cache/debs"
	deb=$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | grep -F "_$(echo "$ver" | sed 's/:/%3a/')_" | head -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$cache/debs" && apt-get download -qq "$pkg=$ver" >/dev/null 2>&1) ||
			{ apt_update && (cd "$cache/debs" && apt-get download -qq "$pkg=$ver" >/dev/null); } ||
			die "apt-get download $pkg=$ver failed"
		deb=$(ls "$cache/debs/${pkg}_"*.deb | head -n 1)
	fi
	rm -rf "$dest"
	mkdir -p "$dest"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest" --wildcards "$@" ||
		die "unpacking $deb failed"
	echo "$*" >"$dest/.done"
	# Only the newest of each package is kept.
	for old in "$cache/debs/${pkg}_"*.deb; do [ "$old" = "$deb" ] || rm -f "$old"; done
}

# The hypervisor must be the release the installed Dom0 tools speak to.
xen_ver=$(dpkg-query -W -f='${Version}' xen-utils-4.17)
xen_dir=$cache/xen-$xen_ver
unpack xen-hypervisor-4.17-amd64 "$xen_ver" "$xen_dir" './boot/xen-4.17-amd64.gz'
# QEMU's multiboot loader takes the plain ELF only.
if [ ! -s "$xen_dir/xen" ]; then
	zcat "$xen_dir/boot/xen-4.17-amd64.gz" >"$xen_dir/xen.tmp"
	mv "$xen_dir/xen.tmp" "$xen_dir/xen"
fi

# Debian's standard kernel (the package linux-image-amd64 points at).
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
if [ -z "$kpkg" ]; then
	apt_update
	kpkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
fi
[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 means"
kver=${kpkg#linux-image-}
kpver=$(candidate "$kpkg")
k_dir=$cache/$kpkg-$kpver
# The Xen modules, and for guests' devices the back ends (netback,
# blkback), the bridge (with stp and llc) and loop devices.
km=./lib/modules/$kver/kernel
unpack "$kpkg" "$kpver" "$k_dir" "./boot/vmlinuz-$kver" "$km/drivers/xen/*" \
	"$km/drivers/net/xen-netback/xen-netback.ko" "$km/drivers/block/xen-blkback/xen-blkback.ko" \
	"$km/net/bridge/bridge.ko" "$km/net/802/stp.ko" "$km/net/llc/llc.ko" "$km/drivers/block/loop.ko"

bb_ver=$(candidate busybox-static)
bb_dir=$cache/busybox-static-$bb_ver
unpack busybox-static "$bb_ver" "$bb_dir" './bin/busybox'

cat >"$cache/payload.env.tmp" <<EOF
XEN_VERSION='$xen_ver'
XEN_ELF='$xen_dir/xen'
KERNEL_VERSION='$kver'
KERNEL_PACKAGE='$kpkg $kpver'
KERNEL='$k_dir/boot/vmlinuz-$kver'
KERNEL_XEN_MODULES='$k_dir/lib/modules/$kver/kernel/drivers/xen'
KERNEL_MODULES='$k_dir/lib/modules/$kver/kernel'
BUSYBOX_VERSION='$bb_ver'
BUSYBOX='$bb_dir/bin/busybox'
EOF
mv "$cache/payload.env.tmp" "$cache/payload.env"

# Old unpacks of packages that moved on.
for d in "$cache"/xen-[0-9]* "$cache"/linux-image-* "$cache"/busybox-static-*; do
	[ -d "$d" ] || continue
	case $d in "$xen_dir" | "$k_dir" | "$bb_dir") ;; *) rm -rf "$d" ;; esac
done

if [ -n "$did" ]; then
	echo "tests/xen/deps.sh: fetched Xen $xen_ver, $kpkg $kpver, busybox $bb_ver into $cache" \
		"in $(echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}') s" >&2
fi
exit 0
