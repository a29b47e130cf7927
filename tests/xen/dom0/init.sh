#!/bin/sh
# /init of the Dom0 that tests/xen boots: the Xen modules, xenfs,
# xenstored, xen-init-dom0 and xenconsoled, the device back-ends (netback,
# blkback, loop) and the bridge xenbr0 (10.77.0.1/24) guests' NICs join,
# then the test set named on the
# kernel command line (shoal.set=NAME runs /shoal/tests/NAME.sh, bounded by
# shoal.timeout=SECONDS), then the artefacts (xl dmesg, the kernel log,
# shoald's and the guests' logs) on the console, then power-off.  Every
# line the host reads starts with "@xenq " (see tests/xen/run.sh).
export PATH=/shoal/bin:/bin:/usr/bin:/sbin:/usr/sbin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
# What udev would make: libxl's hotplug scripts stat /dev/stdin.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mount -t tmpfs tmpfs /run
mkdir -p /run/xen /run/xenstored /run/lock /var/log/shoal

mark() { echo "@xenq $*"; }
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^shoal\\.$1=//p" | tail -n 1; }
finish() {
	for m in xl-dmesg dom0-dmesg; do
		mark "art-begin $m"
		case $m in
		xl-dmesg) xl dmesg 2>&1 ;;
		dom0-dmesg) dmesg 2>&1 ;;
		esac
		mark "art-end $m"
	done
	for f in /var/log/shoal/*.log /var/log/xen/*.log /var/log/xen/console/*.log; do
		[ -s "$f" ] || continue
		n=$(echo "${f#/var/log/}" | tr / -)
		mark "art-begin $n"
		tail -c 262144 "$f"
		echo
		mark "art-end $n"
	done
	mark "end"
	sync
	poweroff -f
}

mark "init uptime=$(cut -d' ' -f1 /proc/uptime)"
for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc; do
	insmod /lib/modules/$m.ko || { mark "fatal insmod $m failed"; finish; }
done
mount -t xenfs xenfs /proc/xen || { mark "fatal cannot mount xenfs"; finish; }
# The back-ends only the device tests need: a failure is theirs to report
# (/run/backends.err), not the whole set's.
for m in llc stp bridge loop xen-netback xen-blkback; do
	insmod /lib/modules/$m.ko 2>>/run/backends.err || echo "insmod $m failed" >>/run/backends.err
done
# Loopback up: Dom0's own addresses (xenbr0's too) are reached through it.
ip link set lo up
{ ip link add xenbr0 type bridge 2>/dev/null || brctl addbr xenbr0 2>>/run/backends.err; } &&
	ip addr add 10.77.0.1/24 dev xenbr0 && ip link set xenbr0 up ||
	echo "no bridge xenbr0" >>/run/backends.err
grep -q control_d /proc/xen/capabilities || { mark "fatal not Xen's control domain"; finish; }

export XENSTORED_ROOTDIR=/run/xenstored
xenstored --pid-file /run/xen/xenstored.pid || { mark "fatal xenstored did not start"; finish; }
i=0
until xenstore-read -s / >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 300 ] && { mark "fatal xenstored does not answer after 30 s"; finish; }
	sleep 0.1
done
xen-init-dom0 >/dev/null || { mark "fatal xen-init-dom0 failed"; finish; }
xenconsoled --pid-file /run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	{ mark "fatal xenconsoled did not start"; finish; }
mark "dom0-ready uptime=$(cut -d' ' -f1 /proc/uptime) xen=$(xl info xen_version 2>/dev/null)" \
	"cpus=$(xl info nr_cpus 2>/dev/null) xen_free_mib=$(xl info free_memory 2>/dev/null)" \
	"dom0_free_mib=$(free -m | awk '$1 == "Mem:" {print $7}')"

set=$(arg set)
budget=$(arg timeout)
if [ -z "$set" ]; then
	mark "set-done rc=0 (no test set named: a shell on the console)"
	exec setsid cttyhack sh
fi
if [ -x "/shoal/tests/$set.sh" ]; then
	# The set runs in its own session so that a hung set is ended whole.
	timeout -s KILL "${budget:-600}" setsid "/shoal/tests/$set.sh" </dev/null
	rc=$?
	[ $rc -eq 137 ] && mark "diag the set was killed after its ${budget:-600} s budget"
else
	mark "diag no test set $set in /shoal/tests"
	rc=2
fi
mark "set-done rc=$rc"
finish
