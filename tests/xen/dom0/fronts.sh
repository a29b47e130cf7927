#!/bin/sh
# The runtime's device front-ends on Dom0's real back-ends, inside Dom0 (a
# set of its own, and part of the smoke set): a guest made with `xl create
# -p`, its vif and vbd directories written by hand as a toolstack would
# (the front-end's owned by the guest and readable by Dom0, the
# back-end's owned by Dom0 and readable by the guest), FAT images on loop
# devices for blkback, the NIC's vifD.N on xenbr0 for netback, then
# unpaused.  blkcheck writes, flushes and reads back a writable disk and
# is refused a write to a read-only one.  The site guest, xen-pv and
# xen-pvh, serves both disks' files
# to Dom0 byte-exact; the xen-pvh one also has a NIC with a bad shoal-ipv4
# and a disk whose back-end never connects, says so on its console and
# serves the rest.
. /shoal/tests/lib.sh
BR_NET=10.77.0
loops=

steps="blkcheck.xen-pv writes a writable disk, flushes it and reads it back; a read-only one refuses writes
site.xen-pv with two FAT disks and a NIC on xenbr0 serves their files to Dom0 byte-exact
site.xen-pvh does the same
a bad shoal-ipv4 and a disk whose back-end never connects are named on the console and left out"
skip_all() {
	echo "$steps" | while read -r s; do skip "$s" "$1"; done
	exit 0
}
[ -f "$IMAGES/site-a.img" ] || skip_all "no FAT images in the initramfs (mkfs.fat or mcopy missing when it was made)"
[ -f "$GUESTS/site.xen-pv" ] || skip_all "no site.xen-pv in this build (lwIP missing?)"
if [ -s /run/backends.err ]; then
	echo "$steps" | while read -r s; do not_ok "$s (not run: the back-ends: $(cat /run/backends.err))"; done
	exit 1
fi

# mkdir_perm PATH PERM...: an empty node with those permissions, so that
# whatever is written under it later inherits them.
mkdir_perm() {
	p=$1
	shift
	xenstore-write "$p" "" && xenstore-chmod "$p" "$@"
}

# add_vbd DOMID DEVID NAME IMAGE r|w [dead]: a read-only or writable
# disk on a loop device; dead: a back-end that never gets its physical
# device, so blkback waits in InitWait for ever.  (blkback needs dev, the disk's
# name, or it connects and then serves nothing.)
add_vbd() {
	d=$1 dev=$2 fe=/local/domain/$1/device/vbd/$2 be=/local/domain/0/backend/vbd/$1/$2
	mkdir_perm "$fe" "n$d" r0 && mkdir_perm "$be" n0 "r$d" || return 1
	xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" 1 \
		"$fe/virtual-device" "$dev" "$fe/device-type" disk "$fe/shoal-name" "$3" || return 1
	xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$d" "$be/online" 1 "$be/state" 1 \
		"$be/mode" "$5" "$be/type" phy "$be/device-type" disk "$be/removable" 0 "$be/params" "$4" \
		"$be/dev" "xvd$(echo "$2" | awk '{printf "%c", 97 + ($1 - 51712) / 16}')" ||
		return 1
	[ "${6:-}" = dead ] && return 0
	ro=
	[ "$5" = r ] && ro=-r
	loop=$(losetup -f) && losetup $ro "$loop" "$4" || return 1
	loops="$loops $loop"
	xenstore-write "$be/physical-device" "$(stat -L -c '%t:%T' "$loop")" \
		"$be/hotplug-status" connected
}

# add_vif DOMID HANDLE NAME MAC [KEY VALUE]...: a NIC on xenbr0 with more
# front-end keys (shoal-ipv4, shoal-gateway).
add_vif() {
	d=$1 h=$2 nic=$3 mac=$4 fe=/local/domain/$1/device/vif/$2 be=/local/domain/0/backend/vif/$1/$2
	shift 4
	mkdir_perm "$fe" "n$d" r0 && mkdir_perm "$be" n0 "r$d" || return 1
	xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" 1 "$fe/handle" "$h" \
		"$fe/mac" "$mac" "$fe/shoal-name" "$nic" || return 1
	while [ $# -ge 2 ]; do
		xenstore-write "$fe/$1" "$2" || return 1
		shift 2
	done
	xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$d" "$be/online" 1 "$be/state" 1 \
		"$be/handle" "$h" "$be/mac" "$mac" "$be/bridge" xenbr0 "$be/type" vif \
		"$be/script" /bin/true || return 1
	# netback makes vifD.N as soon as it sees the directory (it needs
	# handle, mac and script there); the hotplug script's work (the
	# bridge) is done here, then it may connect.
	wait_for 20 test -e "/sys/class/net/vif$d.$h" || return 1
	{ ip link set "vif$d.$h" master xenbr0 2>/dev/null || brctl addif xenbr0 "vif$d.$h"; } &&
		ip link set "vif$d.$h" up && xenstore-write "$be/hotplug-status" connected
}

# remove NAME DOMID: the domain, its back-end directories, the loop devices.
remove() {
	xl destroy "$1" 2>/dev/null
	xenstore-rm "/local/domain/0/backend/vbd/$2" 2>/dev/null
	xenstore-rm "/local/domain/0/backend/vif/$2" 2>/dev/null
	for l in $loops; do
		wait_for 10 losetup -d "$l"
	done
	loops=
}

# site TYPE NAME IP LAST-MAC-BYTE [bad]: the site guest with disks a and b
# and a NIC; bad adds a second NIC with a bad shoal-ipv4 and a dead disk.
# Leaves its console in /tmp/NAME.console; 0 when it served everything.
# (Shell functions share their variables: the guest's are g_*.)
site() {
	g_type=$1 g_name=$2 g_ip=$3
	cat >"/tmp/$g_name.cfg" <<CFG
name = "$g_name"
type = "$g_type"
kernel = "$GUESTS/site.xen-$g_type"
memory = 64
vcpus = 1
on_poweroff = "destroy"
on_crash = "preserve"
CFG
	why=
	if ! timeout 60 xl create -p -q "/tmp/$g_name.cfg" >/tmp/xl.out 2>&1; then
		why="xl create -p: $(cat /tmp/xl.out)"
		xl destroy "$g_name" 2>/dev/null
		return 1
	fi
	d=$(xl domid "$g_name")
	add_vbd "$d" 51712 a "$IMAGES/site-a.img" r && add_vbd "$d" 51728 b "$IMAGES/site-b.img" r &&
		add_vif "$d" 0 lan "00:16:3e:4d:00:$4" shoal-ipv4 "$g_ip/24" shoal-gateway "$BR_NET.1" ||
		why="setting up the back-ends failed"
	if [ -z "$why" ] && [ "${5:-}" = bad ]; then
		add_vbd "$d" 51744 dead "$IMAGES/site-b.img" r dead &&
			add_vif "$d" 1 lan2 "00:16:3e:4d:01:$4" shoal-ipv4 "10.77.0.300/24" ||
			why="setting up the bad devices failed"
	fi
	t=$(now_us)
	if [ -z "$why" ]; then
		xl unpause "$g_name"
		if wait_for 90 grep -q 'site: ready on' "$CONSOLES/guest-$g_name.log"; then
			up_ms=$(ms_since "$t")
			fetch_all "$g_ip"
			[ -z "$bad" ] || why="$bad"
		else
			why="no ready line on its console in 90 s"
		fi
	fi
	cp "$CONSOLES/guest-$g_name.log" "/tmp/$g_name.console" 2>/dev/null
	[ -z "$why" ] || xenstore-ls -f "/local/domain/$d/device" 2>&1 | head -n 40 >"/tmp/$g_name.xs"
	remove "$g_name" "$d"
	[ -z "$why" ]
}

console_diag() {
	diag "console: $(tr '\n' '|' <"/tmp/$1.console" 2>/dev/null | head -c 1500)"
	[ -f "/tmp/$1.xs" ] && diag "$(cat "/tmp/$1.xs")"
}

# blkcheck ARGS: blkcheck.xen-pv with a writable disk w (a zeroed image)
# and a read-only one r, running ARGS to its end; its console in
# /tmp/dev-blk.console, 0 when it said ok.
blkcheck() {
	cat >/tmp/dev-blk.cfg <<CFG
name = "dev-blk"
type = "pv"
kernel = "$GUESTS/blkcheck.xen-pv"
cmdline = "$*"
memory = 32
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
CFG
	why=
	rm -f "$CONSOLES/guest-dev-blk.log"
	if ! timeout 60 xl create -p -q /tmp/dev-blk.cfg >/tmp/xl.out 2>&1; then
		why="xl create -p: $(cat /tmp/xl.out)"
		xl destroy dev-blk 2>/dev/null
		return 1
	fi
	d=$(xl domid dev-blk)
	add_vbd "$d" 51712 w /tmp/rw.img w && add_vbd "$d" 51728 r "$IMAGES/site-a.img" r ||
		why="setting up the back-ends failed"
	if [ -z "$why" ]; then
		xl unpause dev-blk
		wait_for 60 domain_gone dev-blk # it ends when done, either way
		grep -q '^blkcheck: ok' "$CONSOLES/guest-dev-blk.log" ||
			why="no ok line: $(tr '\n' '|' <"$CONSOLES/guest-dev-blk.log" | head -c 600)"
	fi
	cp "$CONSOLES/guest-dev-blk.log" /tmp/dev-blk.console 2>/dev/null
	remove dev-blk "$d"
	[ -z "$why" ]
}

if [ ! -f "$GUESTS/blkcheck.xen-pv" ]; then
	skip "blkcheck.xen-pv writes a writable disk, flushes it and reads it back; a read-only one refuses writes" \
		"no blkcheck.xen-pv in this build"
else
	dd if=/dev/zero of=/tmp/rw.img bs=1024 count=1024 2>/dev/null
	t=$(now_us)
	if blkcheck write w 8 300 7 && w_out=$(grep '^blkcheck: ok' /tmp/dev-blk.console) &&
		[ -n "$(tr -d '\000' </tmp/rw.img | head -c 1)" ] && blkcheck rowrite r; then
		ok "blkcheck.xen-pv writes a writable disk, flushes it and reads it back; a read-only one refuses writes" \
			"($w_out; $(grep '^blkcheck: ok' /tmp/dev-blk.console); $(ms_since "$t") ms for both)"
	else
		not_ok "blkcheck.xen-pv writes a writable disk, flushes it and reads it back; a read-only one refuses writes: ${why:-the image is still zeroes}"
		console_diag dev-blk
	fi
fi

if site pv dev-pv "$BR_NET.2" 02; then
	ok "site.xen-pv with two FAT disks and a NIC on xenbr0 serves their files to Dom0 byte-exact" \
		"(ready $up_ms ms after unpause; $fetched)"
	figure "devices_pv_ready_ms $up_ms ms"
else
	not_ok "site.xen-pv with two FAT disks and a NIC on xenbr0 serves their files to Dom0 byte-exact: $why"
	console_diag dev-pv
fi

if [ ! -f "$GUESTS/site.xen-pvh" ]; then
	skip "site.xen-pvh does the same" "no site.xen-pvh in this build"
	skip "a bad shoal-ipv4 and a disk whose back-end never connects are named on the console and left out" \
		"no site.xen-pvh in this build"
else
	if site pvh dev-pvh "$BR_NET.3" 03 bad; then
		ok "site.xen-pvh does the same, beside a bad NIC and a dead disk" \
			"(ready $up_ms ms after unpause, the dead disk's wait included; $fetched)"
		figure "devices_pvh_ready_ms $up_ms ms"
	else
		not_ok "site.xen-pvh does the same: $why"
		console_diag dev-pvh
	fi
	c=/tmp/dev-pvh.console
	miss=
	grep -q 'device/vif/1: left out: shoal-ipv4 "10.77.0.300/24" is not A.B.C.D/P' "$c" ||
		miss="$miss the bad shoal-ipv4;"
	grep -q 'device/vbd/51744: left out: the back-end .* is still InitWait, not Connected' "$c" ||
		miss="$miss the dead disk's back-end;"
	grep -q 'site: disk dead: left out' "$c" || miss="$miss site leaving the dead disk out;"
	if [ -z "$miss" ]; then
		ok "a bad shoal-ipv4 and a disk whose back-end never connects are named on the console and left out" \
			"($(grep -h 'left out' "$c" | tr '\n' '|' | head -c 400))"
	else
		not_ok "a bad shoal-ipv4 and a disk whose back-end never connects are named on the console and left out: missing$miss"
		console_diag dev-pvh
	fi
fi
[ $failures -eq 0 ]
