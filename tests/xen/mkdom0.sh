#!/bin/sh
# Builds the Dom0 initramfs the Xen-in-QEMU suite boots, from the build tree.
# Two layers, concatenated (the kernel unpacks one cpio after the other):
#   base.cpio.gz   busybox, the kernel's Xen modules and the device back-ends'
#                  (netback, blkback, bridge with stp and llc, loop),
#                  xenstored, xenconsoled, xl and the xenstore tools with
#                  their libraries, libxl's hotplug scripts with bash and
#                  flock; rebuilt only when the packages it comes from or
#                  this script change
#   libvirt.cpio.gz libvirtd with its Xen driver (libxl) and virsh, when the
#                  host has them (the libvirt set); rebuilt with them
#   shoal.cpio.gz  /init, shoald, shoalctl, jsonq, evtchn-ping, the .xen-pv
#                  and .xen-pvh guests, the Dom0 test scripts and the FAT
#                  images of the device tests (made here with mkfs.fat and
#                  mcopy: Dom0 never mounts them); rebuilt when one of them
#                  is newer than it
# Output: OUT/dom0.cpio.gz (OUT = $SHOAL_BUILD/tests/xen by default), and
# OUT/dom0-libvirt.cpio.gz with the libvirt layer when there is one.
#   tests/xen/mkdom0.sh          (run tests/xen/deps.sh first)
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
out=${SHOAL_XEN_OUT:-$build/tests/xen}
cache=${SHOAL_XEN_CACHE:-$build/tests/xen/cache}
xendir=/usr/lib/xen-4.17

die() {
	echo "tests/xen/mkdom0.sh: $*" >&2
	exit 1
}

[ -f "$cache/payload.env" ] || die "no $cache/payload.env: run tests/xen/deps.sh first"
. "$cache/payload.env"
mkdir -p "$out"

# copy_bin ROOT FILE [DEST]: FILE (as DEST, default its own path) and every
# library ldd names for it.
copy_bin() {
	root=$1 f=$2 dest=${3:-$2}
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$f" "$root$dest"
	ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

mkcpio() { # ROOT OUT
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) >"$2.tmp"
	mv "$2.tmp" "$2"
}

# --- the base layer ---------------------------------------------------------
stamp=$(
	cat "$cache/payload.env"
	dpkg-query -W -f='${Package} ${Version}\n' xen-utils-4.17 xen-utils-common libxenmisc4.17 libc6 libgcc-s1 \
		coreutils bash util-linux
	sha256sum "$0" | cut -d' ' -f1
)
if [ ! -f "$out/base.cpio.gz" ] || [ "$(cat "$out/base.stamp" 2>/dev/null)" != "$stamp" ]; then
	r=$out/base-root
	rm -rf "$r"
	mkdir -p "$r"/bin "$r"/sbin "$r"/etc/xen "$r"/proc "$r"/sys "$r"/dev "$r"/run "$r"/tmp "$r"/root \
		"$r"/usr/bin "$r"/usr/sbin "$r"/lib/modules "$r"/var/lib/xen "$r"/var/lib/xenstored \
		"$r"/var/log/xen/console "$r"/var/lib/shoal
	ln -s ../run "$r/var/run"
	ln -s ../run/lock "$r/var/lock" # xenconsole wants /var/lock
	cp "$BUSYBOX" "$r/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || [ "$a" = init ] || ln -sf busybox "$r/bin/$a"
	done
	for m in xen-privcmd xen-evtchn xen-gntdev xen-gntalloc; do
		cp "$KERNEL_XEN_MODULES/$m.ko" "$r/lib/modules/"
	done
	cp "$KERNEL_XEN_MODULES/xenfs/xenfs.ko" "$r/lib/modules/"
	# Guests' devices: the back ends, the bridge and loop devices (init.sh loads them).
	for m in drivers/net/xen-netback/xen-netback drivers/block/xen-blkback/xen-blkback \
		net/llc/llc net/802/stp net/bridge/bridge drivers/block/loop; do
		cp "$KERNEL_MODULES/$m.ko" "$r/lib/modules/"
	done
	for b in xl xenstored xenconsoled xenconsole xen-init-dom0 xenstore-control libxl-save-helper; do
		copy_bin "$r" "$xendir/bin/$b"
	done
	for b in xenstore xenstore-read xenstore-write xenstore-ls xenstore-list xenstore-rm \
		xenstore-exists xenstore-watch xenstore-chmod; do
		copy_bin "$r" "/usr/bin/$b"
	done
	# glibc dlopen()s libgcc_s for pthread_cancel (libxl uses it); ldd does
	# not list it, and without it xl aborts and leaves domains unreaped.
	cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$r/lib/x86_64-linux-gnu/"
	# Nanosecond timestamps for the benchmark (busybox date has none).
	copy_bin "$r" /usr/bin/date /usr/bin/gdate
	cp /etc/xen/xl.conf "$r/etc/xen/"
	# libxl's hotplug scripts (vif-bridge, block) for xen-create = libxl, and the
	# bash and flock they need.
	cp -a /etc/xen/scripts "$r/etc/xen/"
	copy_bin "$r" /bin/bash
	copy_bin "$r" /usr/bin/flock
	mkcpio "$r" "$out/base.cpio.gz"
	echo "$stamp" >"$out/base.stamp"
	rm -rf "$r"
fi

# --- the libvirt layer --------------------------------------------------------
# libvirtd with only its Xen driver (libxl), and virsh, for the libvirt set;
# when the host has them (tests/xen/deps.sh installs them), else that set
# says SKIP.  Polkit is not in Dom0: root's socket needs no authentication.
lvdrv=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_libxl.so
rm -f "$out/dom0-libvirt.cpio.gz"
if [ -x /usr/sbin/libvirtd ] && [ -x /usr/bin/virsh ] && [ -f "$lvdrv" ]; then
	lvstamp=$(
		dpkg-query -W -f='${Package} ${Version}\n' libvirt0 libvirt-daemon libvirt-daemon-driver-xen \
			libvirt-clients
		cat "$out/base.stamp"
	)
	if [ ! -f "$out/libvirt.cpio.gz" ] || [ "$(cat "$out/libvirt.stamp" 2>/dev/null)" != "$lvstamp" ]; then
		r=$out/libvirt-root
		rm -rf "$r"
		mkdir -p "$r/etc/libvirt" "$r/var/lib/libvirt/libxl" "$r/var/log/libvirt/libxl" \
			"$r/usr/share/libvirt"
		copy_bin "$r" /usr/sbin/libvirtd
		copy_bin "$r" /usr/bin/virsh
		copy_bin "$r" "$lvdrv"
		[ -d /usr/share/libvirt/cpu_map ] && cp -a /usr/share/libvirt/cpu_map "$r/usr/share/libvirt/"
		[ -d /usr/share/libvirt/schemas ] && cp -a /usr/share/libvirt/schemas "$r/usr/share/libvirt/"
		# (Libraries base.cpio.gz has too are the same files: the kernel
		# unpacks this layer over it.)
		cat >"$r/etc/libvirt/libvirtd.conf" <<'CONF'
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0700"
CONF
		echo 'autoballoon = 0' >"$r/etc/libvirt/libxl.conf"
		# libvirtd looks its clients' uid up: root's record.
		echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
		echo 'root:x:0:' >"$r/etc/group"
		mkcpio "$r" "$out/libvirt.cpio.gz"
		echo "$lvstamp" >"$out/libvirt.stamp"
		rm -rf "$r"
	fi
	have_libvirt=1
else
	echo "tests/xen/mkdom0.sh: no libvirtd, virsh or libvirt's Xen driver on the host: the libvirt set will say SKIP" >&2
fi

# --- the shoal layer --------------------------------------------------------
shoald=$build/daemon/shoald
ctl=$build/shoalctl/shoalctl
jsonq=$build/tests/integration/jsonq
for f in "$shoald" "$ctl" "$jsonq"; do
	[ -x "$f" ] || die "$f is not built (scripts/build.sh; make -C $build check builds jsonq)"
done
inputs="$shoald $ctl $jsonq $top/tests/xen/dom0/*.sh $top/tests/xen/mkdom0.sh $out/base.stamp"
for f in "$build/tests/xen/evtchn-ping" "$build"/unikernel-rt/examples/*.xen-pv \
	"$build"/unikernel-rt/examples/*.xen-pvh; do
	[ -f "$f" ] && inputs="$inputs $f"
done
fresh=
if [ -f "$out/shoal.cpio.gz" ] && [ "$(cat "$out/shoal.inputs" 2>/dev/null)" = "$inputs" ]; then
	fresh=1
	for f in $inputs; do
		[ "$f" -nt "$out/shoal.cpio.gz" ] && fresh= && break
	done
fi
if [ -z "$fresh" ]; then
	r=$out/shoal-root
	rm -rf "$r"
	mkdir -p "$r/shoal/bin" "$r/shoal/guests" "$r/shoal/tests"
	copy_bin "$r" "$shoald" /shoal/bin/shoald
	copy_bin "$r" "$ctl" /shoal/bin/shoalctl
	copy_bin "$r" "$jsonq" /shoal/bin/jsonq
	[ -x "$build/tests/xen/evtchn-ping" ] && copy_bin "$r" "$build/tests/xen/evtchn-ping" /shoal/bin/evtchn-ping
	for g in "$build"/unikernel-rt/examples/*.xen-pv "$build"/unikernel-rt/examples/*.xen-pvh; do
		[ -f "$g" ] && cp "$g" "$r/shoal/guests/"
	done
	cp "$top"/tests/xen/dom0/*.sh "$r/shoal/tests/"
	# The device tests' disks: two FAT images whose trees merge (dir/ on
	# both), with a copy of every file for Dom0 to compare what a guest
	# serves against.
	if command -v mkfs.fat >/dev/null && command -v mcopy >/dev/null; then
		img=$r/shoal/images
		mkdir -p "$img/a/dir" "$img/b/dir"
		echo '<h1>shoal on Xen</h1>' >"$img/a/index.html"
		head -c 204800 /dev/urandom >"$img/a/big.bin"
		echo 'from disk a' >"$img/a/dir/a.txt"
		head -c 70001 /dev/urandom >"$img/b/only-b.bin"
		echo 'from disk b' >"$img/b/dir/b.txt"
		for d in a b; do
			mkfs.fat -C "$img/site-$d.img" 2048 >/dev/null
			mcopy -s -i "$img/site-$d.img" "$img/$d"/* ::/
		done
	else
		echo "tests/xen/mkdom0.sh: no mkfs.fat or mcopy: the device tests will say SKIP" >&2
	fi
	mv "$r/shoal/tests/init.sh" "$r/init"
	chmod +x "$r/init" "$r"/shoal/tests/*.sh
	mkcpio "$r" "$out/shoal.cpio.gz"
	echo "$inputs" >"$out/shoal.inputs"
	rm -rf "$r"
fi

# Cheap enough to do every time (a few MiB).  The libvirt layer (some
# 30 MiB more for Dom0's kernel to unpack, tens of seconds under TCG) only
# in dom0-libvirt.cpio.gz, for the sets that use it (run.sh picks).
cat "$out/base.cpio.gz" "$out/shoal.cpio.gz" >"$out/dom0.cpio.gz.tmp"
mv "$out/dom0.cpio.gz.tmp" "$out/dom0.cpio.gz"
if [ -n "${have_libvirt:-}" ]; then
	cat "$out/base.cpio.gz" "$out/libvirt.cpio.gz" "$out/shoal.cpio.gz" >"$out/dom0-libvirt.cpio.gz.tmp"
	mv "$out/dom0-libvirt.cpio.gz.tmp" "$out/dom0-libvirt.cpio.gz"
fi
