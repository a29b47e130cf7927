#!/bin/sh
# What the Xen backend's hotplug does on the host, without Xen
# (daemon/backend/hostdev.c, through tests/integration/hostdev-check): a
# disk file on a loop device, read-only when asked, freed when its holder
# lets go (autoclear); an interface put on a bridge and up with one
# rtnetlink request, and a refusal for a bridge that is not one.  The
# network part runs in a namespace the test makes and removes.
. "$top_srcdir/tests/tap.sh"
CHECK=$top_builddir/tests/integration/hostdev-check
[ "$(id -u)" = 0 ] || tap_skip_all "loop devices and namespaces need root"
[ -c /dev/loop-control ] || tap_skip_all "no /dev/loop-control (the loop module is not loaded)"
command -v ip >/dev/null || tap_skip_all "ip (iproute2) is not installed"
. "$top_srcdir/tests/lib/netns.sh"
netns_new shoal-hostdev || tap_skip_all "cannot make a network namespace (ip netns add needs root)"
tmp=$(mktemp -d /tmp/shoal-hostdev-XXXXXX)
trap 'exec 3>&- 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

dd if=/dev/zero of="$tmp/disk.img" bs=512 count=2048 2>/dev/null
printf 'shoal' | dd of="$tmp/disk.img" conv=notrunc 2>/dev/null

# loop_case ro|rw: attach, check it while held, let go, check it is freed.
loop_case() {
	mode=$1 want_ro=0
	[ "$mode" = ro ] && want_ro=1
	mkfifo "$tmp/hold.$mode"
	"$CHECK" loop "$tmp/disk.img" "$mode" <"$tmp/hold.$mode" >"$tmp/loop.$mode" 2>"$tmp/loop.$mode.err" &
	pid=$!
	exec 3>"$tmp/hold.$mode"
	i=0
	while [ ! -s "$tmp/loop.$mode" ] && kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	read -r dev ro maj_min <"$tmp/loop.$mode"
	if [ -z "$dev" ]; then
		tap_not_ok "a $mode disk file gets a loop device: $(cat "$tmp/loop.$mode.err")"
		exec 3>&-
		return
	fi
	back=$(cat "/sys/block/$dev/loop/backing_file" 2>/dev/null)
	auto=$(cat "/sys/block/$dev/loop/autoclear" 2>/dev/null)
	if [ "$back" = "$tmp/disk.img" ] && [ "$ro" = "ro=$want_ro" ] && [ "$auto" = 1 ] &&
		[ "$(cat "/sys/block/$dev/ro")" = $want_ro ] && [ "$maj_min" = "dev=$(cat "/sys/block/$dev/dev")" ]; then
		tap_ok "a $mode disk file gets $dev ($ro, autoclear, $maj_min)"
	else
		tap_not_ok "a $mode disk file gets a loop device: $dev $ro $maj_min backing '$back' autoclear '$auto'"
	fi
	if [ "$mode" = ro ]; then
		if dd if=/dev/zero of="/dev/$dev" bs=512 count=1 conv=notrunc 2>/dev/null; then
			tap_not_ok "a read-only disk's loop device refuses writes"
		else
			tap_ok "a read-only disk's loop device refuses writes"
		fi
	else
		head -c 5 "/dev/$dev" >"$tmp/first"
		tap_check "the writable disk's loop device reads the file" [ "$(cat "$tmp/first")" = shoal ]
	fi
	exec 3>&-
	wait $pid
	i=0
	while [ -n "$(cat "/sys/block/$dev/loop/backing_file" 2>/dev/null)" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	tap_check "$dev is free once its holder lets go" [ -z "$(cat "/sys/block/$dev/loop/backing_file" 2>/dev/null)" ]
}
loop_case ro
loop_case rw
if "$CHECK" loop "$tmp/missing.img" ro </dev/null >/dev/null 2>"$tmp/missing.err"; then
	tap_not_ok "a missing disk file is refused"
else
	tap_check "a missing disk file is refused, named: $(cat "$tmp/missing.err")" grep -q missing.img "$tmp/missing.err"
fi

netns_bridge xenbr0 10.77.0.1/24
inns ip link add vif7.0 type veth peer name peer7 || tap_skip_all "cannot make a veth pair"
out=$(inns "$CHECK" enslave vif7.0 xenbr0 2>&1)
tap_check "rtnetlink puts vif7.0 on xenbr0 ($out)" [ "$out" = xenbr0 ]
tap_check "and brings it up" sh -c "ip -n '$ns' link show vif7.0 | grep -q '[<,]UP[,>]'"
out=$(inns "$CHECK" enslave vif7.0 peer7 2>&1)
tap_check "a bridge that is not one is refused ($out)" sh -c "echo '$out' | grep -q 'peer7.*not a bridge'"
out=$(inns "$CHECK" enslave vif9.0 xenbr0 2>&1)
tap_check "a missing interface is refused ($out)" sh -c "echo '$out' | grep -q 'vif9.0 does not exist'"
tap_done
