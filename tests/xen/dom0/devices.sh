#!/bin/sh
# Guests' devices on Xen, inside Dom0 (a part of the smoke set, and a set
# of its own: run.sh devices): an idle guest (which ignores its devices)
# deployed through shoald with a NIC on xenbr0, a read-only and a writable
# disk, by each domain maker (direct, libxl) and as PVH.  Each time: both
# ends' directories with shoal's keys, the back ends in InitWait, the vif
# on xenbr0, the loop devices (read-only where asked); removal leaves no
# vif, no loop, no directory.  With the direct maker: kill -9 of shoald
# and a new one finds the devices again; a domain destroyed behind a
# killed shoald's back leaves directories and loops the next one frees;
# refusals (a bridge not allowed, a missing disk image, too many NICs) are
# 400s that say which, and an allowed bridge Dom0 does not have fails the
# start, naming it.  Then, by each maker, a site guest with both FAT
# images as disks and a NIC serves every file to Dom0 byte-exact; with the
# direct maker, shoald is killed with -9 during requests to it (each is
# answered, the devices found again), a writable disk keeps what a guest
# wrote across its restart, and a hostile front-end (badfront) hurts only
# itself while that site guest serves beside it.
[ -n "${GUESTS:-}" ] || . /shoal/tests/lib.sh
IMG=$GUESTS/idle.xen-pv
BRIDGE_ARG="--bridge=xenbr0 10.77.0.0/24"
dd if=/dev/zero of=/tmp/ro.img bs=1024 count=1024 2>/dev/null
dd if=/dev/zero of=/tmp/rw.img bs=1024 count=1024 2>/dev/null
# 1 MB/s: netback's credit of 50000 bytes every 50000 us.
echo '{"net_rate": {"bytes_per_s": 1000000}}' >/tmp/rate.json

# dev_deploy NAME IMAGE [OPTION...]: one NIC on xenbr0 limited to 1 MB/s, a
# read-only and a writable disk.
dev_deploy() {
	n=$1 i=$2
	shift 2
	ctl deploy -f /tmp/rate.json --name "$n" --image "$i" --memory 16 --net eth0=xenbr0 \
		--disk data=/tmp/ro.img --disk scratch=/tmp/rw.img:rw "$@"
}
xsr() { xenstore-read "$1" 2>/dev/null; }
# loop_of D VDEV: the loop number behind the domain's vbd (physical-device 7:N, hex).
loop_of() {
	pd=$(xsr "/local/domain/0/backend/vbd/$1/$2/physical-device")
	case $pd in 7:*) printf '%d\n' "0x${pd#7:}" ;; *) echo "none($pd)" ;; esac
}
backends_waiting() { # D: vif 0 and both vbds in InitWait (2) or later
	for p in vif/$1/0 vbd/$1/51712 vbd/$1/51728; do
		[ "$(xsr "/local/domain/0/backend/$p/state")" -ge 2 ] 2>/dev/null || return 1
	done
}
on_xenbr0() { [ "$(basename "$(readlink "/sys/class/net/vif$1.0/master" 2>/dev/null)")" = xenbr0 ]; }
loop_free() { [ -z "$(cat "/sys/block/loop$1/loop/backing_file" 2>/dev/null)" ]; }
# How many loop devices are over shoald's files.
shoal_loops() { cat /sys/block/loop*/loop/backing_file 2>/dev/null | grep -c '^/var/lib/shoal/'; }
no_loops() { [ "$(shoal_loops)" = 0 ]; }
is_exited() { [ "$(guest_state "$1")" = exited ]; }
dirs_gone() { ! xenstore-exists "/local/domain/0/backend/vif/$1" && ! xenstore-exists "/local/domain/0/backend/vbd/$1"; }
# What the hotplug left, for a failure's diagnostics.
dev_diag() {
	diag "$(xenstore-ls -f /local/domain/0/backend 2>&1 | head -n 40)" "$(ps w | grep -v ' \[' | tail -n 15)" \
		"$(tail -n 30 "$LOGDIR/shoald.log")"
}
devs_gone() { # D L1 L2: no vif, no back-end directory, both loops free
	[ ! -e "/sys/class/net/vif$1.0" ] && ! xenstore-exists "/local/domain/0/backend/vif/$1" &&
		! xenstore-exists "/local/domain/0/backend/vbd/$1" && loop_free "$2" && loop_free "$3"
}

# dev_check NAME WHAT: the running guest's devices; sets D, L1, L2; ok or not_ok.
dev_check() {
	bad=
	D=$(xl domid "$1" 2>/dev/null)
	fv=/local/domain/$D/device/vif/0
	[ "$(xsr $fv/shoal-name)" = eth0 ] || bad="$bad shoal-name=$(xsr $fv/shoal-name)"
	[ "$(xsr $fv/shoal-ipv4)" = 10.77.0.2/24 ] || bad="$bad shoal-ipv4=$(xsr $fv/shoal-ipv4)"
	[ "$(xsr $fv/shoal-gateway)" = 10.77.0.1 ] || bad="$bad shoal-gateway=$(xsr $fv/shoal-gateway)"
	[ "$(xsr /local/domain/$D/device/vbd/51712/shoal-name)" = data ] || bad="$bad vbd shoal-name"
	[ "$(xsr /local/domain/$D/device/vbd/51728/shoal-name)" = scratch ] || bad="$bad vbd 2 shoal-name"
	[ "$(xsr /local/domain/0/backend/vif/$D/0/bridge)" = xenbr0 ] || bad="$bad backend bridge"
	[ "$(xsr /local/domain/0/backend/vif/$D/0/rate)" = 50000,50000 ] ||
		bad="$bad rate=$(xsr /local/domain/0/backend/vif/$D/0/rate)"
	wait_for 20 backends_waiting "$D" || bad="$bad states vif=$(xsr /local/domain/0/backend/vif/$D/0/state)" \
		"vbd=$(xsr /local/domain/0/backend/vbd/$D/51712/state),$(xsr /local/domain/0/backend/vbd/$D/51728/state)"
	wait_for 20 on_xenbr0 "$D" || bad="$bad vif$D.0 not on xenbr0 ($(ls /sys/class/net | tr '\n' ' '))"
	L1=$(loop_of "$D" 51712)
	L2=$(loop_of "$D" 51728)
	[ "$(cat /sys/block/loop$L1/ro 2>/dev/null)" = 1 ] || bad="$bad loop$L1 (data) not read-only"
	[ "$(cat /sys/block/loop$L2/ro 2>/dev/null)" = 0 ] || bad="$bad loop$L2 (scratch) not writable"
	case $(cat /sys/block/loop$L1/loop/backing_file 2>/dev/null) in /var/lib/shoal/*) ;; *) bad="$bad loop$L1 backing" ;; esac
	# Each end's directory: its own side owns it, the other reads it.
	case $(xenstore-ls -p /local/domain/$D/device/vif 2>/dev/null | head -n 1) in
	*"(n$D,r0)") ;; *) bad="$bad front perms($(xenstore-ls -p /local/domain/$D/device/vif | head -n 1))" ;;
	esac
	case $(xenstore-ls -p /local/domain/0/backend/vif/$D 2>/dev/null | head -n 1) in
	*"(n0,r$D)") ;; *) bad="$bad back perms($(xenstore-ls -p /local/domain/0/backend/vif/$D | head -n 1))" ;;
	esac
	ctl --json show "$1"
	grep -q '"counters"' /tmp/ctl.out || bad="$bad no device counters in the guest's detail"
	if [ -z "$bad" ]; then
		ok "$2: directories with shoal's keys, netback's rate, back ends in InitWait, vif$D.0 on xenbr0, loop$L1 read-only, loop$L2 writable"
	else
		not_ok "$2:$bad"
		dev_diag
	fi
}

# dev_rm NAME WHAT: removal leaves no vif, loop or directory.
dev_rm() {
	ctl rm "$1"
	if wait_for 20 domain_gone "$1" && wait_for 20 devs_gone "$D" "$L1" "$L2"; then
		ok "$2: removing the guest leaves no vif, no loop device, no back-end directory"
	else
		not_ok "$2: after removal: vif $(ls /sys/class/net | tr '\n' ' '); loops" \
			"$(cat /sys/block/loop$L1/loop/backing_file /sys/block/loop$L2/loop/backing_file 2>&1 | tr '\n' ' ');" \
			"xenstore $(xenstore-ls -f /local/domain/0/backend 2>&1 | head -n 5 | tr '\n' ' ')"
	fi
}

# site_via NAME IMAGE WHAT: the site guest deployed through shoald with
# both FAT images as read-only disks and a NIC on xenbr0 (its address from
# the pool) serves every file to Dom0 byte-exact; then it is removed and
# leaves no domain.  Skips without the images or the guest.
site_via() {
	if [ ! -f "$IMAGES/site-a.img" ] || [ ! -f "$2" ]; then
		skip "$3: a site guest deployed through shoald serves its FAT disks to Dom0" \
			"no $([ -f "$2" ] && echo "FAT images" || echo "$2") in this build"
		return 0
	fi
	t=$(now_us)
	if ! ctl deploy --name "$1" --image "$2" --memory 64 --net lan=xenbr0 \
		--disk a="$IMAGES/site-a.img" --disk b="$IMAGES/site-b.img"; then
		not_ok "$3: a site guest deployed through shoald serves its FAT disks: $(cat /tmp/ctl.err)"
		return 0
	fi
	ctl --json show "$1"
	ip=$(jget /tmp/ctl.out net.0.ipv4)
	ip=${ip%/*}
	if ! wait_for 90 console_has "$1" 'site: ready on'; then
		not_ok "$3: a site guest deployed through shoald serves its FAT disks: no ready line in 90 s" \
			"(address ${ip:-none}; console: $(ctl console "$1"; tr '\n' '|' </tmp/ctl.out | tail -c 600))"
		dev_diag
	else
		up_ms=$(ms_since "$t")
		fetch_all "$ip"
		# What the back-ends counted, in /metrics.
		shoalctl --socket "$SOCK" --timeout 10 metrics >/tmp/metrics.txt 2>&1
		rb=$(sed -n "s/^shoal_disk_read_bytes_total{guest=\"$1\",disk=\"a\"} //p" /tmp/metrics.txt)
		tb=$(sed -n "s/^shoal_nic_tx_bytes_total{guest=\"$1\",nic=\"lan\"} //p" /tmp/metrics.txt)
		[ "${rb:-0}" -gt 0 ] 2>/dev/null && [ "${tb:-0}" -gt 0 ] 2>/dev/null ||
			bad="$bad /metrics: disk a read ${rb:-no} bytes, NIC lan sent ${tb:-no} bytes ($(grep -c '^shoal_' /tmp/metrics.txt) samples)"
		if [ -z "$bad" ]; then
			ok "$3: a site guest deployed through shoald serves its FAT disks to Dom0 byte-exact" \
				"(ready $up_ms ms after the deploy began, at $ip; $fetched; /metrics: disk a read $rb bytes, NIC lan sent $tb)"
		else
			not_ok "$3: a site guest deployed through shoald serves its FAT disks:$bad"
		fi
		[ "${4:-}" = kill ] && kill_during_requests "$1" "$ip"
	fi
	ctl rm "$1"
	wait_for 20 domain_gone "$1" || not_ok "$3: the site guest's domain outlives its removal"
}

# kill_during_requests NAME IP: 20 requests in a row to the site guest,
# shoald killed with -9 during them and started again: every one is
# answered whole, and the new shoald finds the guest's devices again.
kill_during_requests() {
	rm -f /tmp/kdr.bad
	(
		i=0
		while [ $i -lt 20 ]; do
			wget -q -O /tmp/kdr.got "http://$2/big.bin" 2>/dev/null &&
				cmp -s /tmp/kdr.got "$IMAGES/a/big.bin" || echo "$i" >>/tmp/kdr.bad
			i=$((i + 1))
		done
	) &
	loop=$!
	sleep 1
	kill9_shoald
	start_direct || echo "shoald did not start again" >>/tmp/kdr.bad
	wait $loop
	if [ ! -s /tmp/kdr.bad ] && wait_for 20 grep -q "guest $1 (domain [0-9]*): 1 NICs and 2 disks found again" "$LOGDIR/shoald.log"; then
		ok "devices: shoald killed with -9 during 20 requests to $1: every one answered whole, its NIC and disks found again"
	else
		not_ok "devices: shoald killed with -9 during requests to $1: failed: $(tr '\n' ' ' </tmp/kdr.bad 2>/dev/null)" \
			"$(grep "$1" "$LOGDIR/shoald.log" | tail -n 3)"
	fi
}

# persist_check WHAT: blkcheck with a writable disk, restart on-failure:
# its first run writes a pattern and exits 3, the restarted one finds it.
persist_check() {
	dd if=/dev/zero of=/tmp/pw.img bs=1024 count=1024 2>/dev/null
	if ctl deploy --name pw1 --image "$GUESTS/blkcheck.xen-pv" --memory 16 --restart on-failure \
		--disk w=/tmp/pw.img:rw --arg persist --arg w --arg 8 --arg 64 --arg 9 &&
		wait_for 60 console_has pw1 'blkcheck: ok persist w' && console_has pw1 'wrote w 64 sectors'; then
		ok "$1: a writable disk keeps what the guest wrote across its restart ($(ctl --json show pw1; jget /tmp/ctl.out restarts) restart)"
	else
		not_ok "$1: a writable disk keeps what the guest wrote across its restart: $(cat /tmp/ctl.err)" \
			"$(shoalctl --socket "$SOCK" --timeout 10 console pw1 2>&1 | tail -n 5 | tr '\n' '|')"
	fi
	ctl rm pw1
	wait_for 20 domain_gone pw1
}

# hostile_front: badfront (a read-only disk, a writable one, a NIC on
# xenbr0, deployed through shoald) does its worst to blkback, netback and
# xenstore: every bad request gets the back-end's error, the ring it
# overran is halted, the handshake with bad values is given up, writes
# outside its own directory are refused, the NIC it sent a frame across a
# page is disabled; Dom0's kernel says so.  It stays up while the site
# guest beside it serves (site_via), and hostile_gone removes it.
hostile_front() {
	BADFRONT=
	if [ ! -f "$GUESTS/badfront.xen-pv" ]; then
		skip "devices: a hostile front-end hurts only itself" "no badfront.xen-pv in this build"
		return 0
	fi
	dmesg -c >/dev/null 2>&1
	if ! dev_deploy bad1 "$GUESTS/badfront.xen-pv" --restart never --arg data --arg scratch \
		--arg eth0 || ! wait_for 90 console_has bad1 'badfront: \(ok\|FAILED\)'; then
		not_ok "devices: a hostile front-end hurts only itself: it did not report: $(cat /tmp/ctl.err)" \
			"$(shoalctl --socket "$SOCK" --timeout 10 console bad1 2>&1 | tail -n 8 | tr '\n' '|')"
		dev_diag
		return 0
	fi
	BADFRONT=$(xl domid bad1 2>/dev/null)
	BF_L1=$(loop_of "$BADFRONT" 51712)
	BF_L2=$(loop_of "$BADFRONT" 51728)
	shoalctl --socket "$SOCK" --timeout 10 console bad1 >/tmp/bad1.console 2>&1
	k=$(dmesg 2>/dev/null)
	miss=
	grep -q 'badfront: ok' /tmp/bad1.console || miss="$miss its cases:$(grep -E 'wrong|no |not|FAILED' /tmp/bad1.console | tr '\n' '|')"
	echo "$k" | grep -q 'bogus ring requests' || miss="$miss blkback's halt of the overrun ring;"
	echo "$k" | grep -q 'Cross page boundary' || miss="$miss netback's disabling of the NIC;"
	[ "$(guest_state bad1)" = running ] || miss="$miss bad1 is $(guest_state bad1), not running;"
	ctl ls >/dev/null || miss="$miss shoald does not answer;"
	if [ -z "$miss" ]; then
		ok "devices: a hostile front-end hurts only itself: $(grep -c 'badfront: .*: status' /tmp/bad1.console) bad requests and writes each refused (blkback halted the ring it overran, gave up the handshake with bad values; netback disabled its NIC); it runs on, shoald answers"
	else
		not_ok "devices: a hostile front-end:$miss" "$(echo "$k" | grep -iE 'blkback|vif|xen' | tail -n 6 | tr '\n' '|')"
	fi
}

# hostile_gone: removing badfront leaves no vif, loop or directory.
hostile_gone() {
	[ -n "$BADFRONT" ] || return 0
	D=$BADFRONT L1=$BF_L1 L2=$BF_L2
	dev_rm bad1 "devices, the hostile front-end"
}

# An on-demand guest with a NIC (echo, with shoald's dns-zone set): started
# as a DNS query starts one (shoalctl start), it is not put to sleep while
# Dom0 pings it for twice its idle_stop_s, and is once its vif's counters
# have been still that long.  shoal.devices=on_demand runs only this step.
is_stopped() { [ "$(guest_state "$1")" = stopped ]; }
on_demand_idle() {
	if [ ! -f "$GUESTS/echo.xen-pv" ]; then
		skip "devices, on demand: idle stop by the vif's counters" "no $GUESTS/echo.xen-pv in this build"
		return 0
	fi
	echo '{"on_demand": {"idle_stop_s": 4}}' >/tmp/od.json
	if ! start_shoald "$BRIDGE_ARG" --dns-zone=guests.example. ||
		! ctl deploy -f /tmp/od.json --name od1 --image "$GUESTS/echo.xen-pv" --memory 16 \
			--net eth0=xenbr0 --arg eth0 || ! is_stopped od1 ||
		! ctl start od1 || ! wait_for 60 is_running od1; then
		not_ok "devices, on demand: od1 did not come up: $(cat /tmp/ctl.err); $(tail -n 5 "$LOGDIR/shoald.log")"
		kill9_shoald
		return 0
	fi
	ctl --json show od1
	ip=$(jget /tmp/ctl.out net.0.ipv4)
	ip=${ip%/*}
	wait_for 30 ping -c 1 -W 1 "$ip" >/dev/null
	ping -c 16 -i 0.5 -W 1 "$ip" >/tmp/od.ping 2>&1
	busy=$(guest_state od1)
	if [ "$busy" = running ] && ! grep -q 'guest od1 asleep' "$LOGDIR/shoald.log" &&
		wait_for 20 is_stopped od1 &&
		grep -q 'guest od1 asleep: its NICs were still for 4 s' "$LOGDIR/shoald.log"; then
		ok "devices, on demand: od1 (echo, idle_stop_s 4) kept running while Dom0 pinged it for 8 s ($(grep -c 'bytes from' /tmp/od.ping) answers), and slept once its vif's counters were still for 4 s"
	else
		not_ok "devices, on demand: od1 after 8 s of pings: $busy, then $(guest_state od1)" \
			"$(grep 'od1' "$LOGDIR/shoald.log" | tail -n 4)" "$(tail -n 2 /tmp/od.ping)"
	fi
	ctl rm od1
	wait_for 20 no_domains
	kill9_shoald
}

kill9_shoald
if [ "$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.devices=//p')" = on_demand ]; then
	on_demand_idle
	[ $failures -eq 0 ]
	return $? 2>/dev/null || exit $?
fi
# --- direct --------------------------------------------------------------
XEN_CREATE=direct
# xenbr9 is allowed but not there: a NIC on it is refused at the start.
start_direct() { start_shoald "$BRIDGE_ARG" "--bridge=xenbr9 10.78.0.0/24"; }
if ! start_direct; then
	not_ok "devices: shoald starts with xenbr0 allowed: $(tail -n 3 "$LOGDIR/shoald.log")"
	return 1 2>/dev/null || exit 1
fi
if dev_deploy dev1 "$IMG" && wait_for 30 is_running dev1; then
	dev_check dev1 "devices, xen-create = direct"
else
	not_ok "devices, xen-create = direct: the guest did not run: $(cat /tmp/ctl.err); $(tail -n 5 "$LOGDIR/shoald.log")"
fi

# kill -9 and a new shoald: the same devices found again.
kill9_shoald
if start_direct && wait_for 20 is_running dev1 &&
	[ "$(xl domid dev1)" = "$D" ] && on_xenbr0 "$D" && ! loop_free "$L1" && ! loop_free "$L2" &&
	grep -q "guest dev1 (domain $D): 1 NICs and 2 disks found again" "$LOGDIR/shoald.log" &&
	ctl --json show dev1 && grep -q '"counters"' /tmp/ctl.out; then
	ok "devices: shoald killed with -9, the next one finds dev1's NIC and disks again"
else
	not_ok "devices: after kill -9, dev1's devices found again: $(grep 'dev1' "$LOGDIR/shoald.log" | tail -n 3)"
fi
dev_rm dev1 "devices, xen-create = direct"
kill9_shoald
on_demand_idle
start_direct || not_ok "devices: shoald starts again after the on-demand step"
hostile_front
site_via site1 "$GUESTS/site.xen-pv" "devices, xen-create = direct, beside the hostile front-end" kill
hostile_gone
persist_check "devices, xen-create = direct"

# Refusals: 400s (shoalctl's exit 1) that name what is wrong.
bad=
ctl deploy --name bad1 --image "$IMG" --memory 16 --net eth0=br9 && bad="$bad br9(accepted)"
[ $? -eq 1 ] && grep -q 'br9' /tmp/ctl.err || bad="$bad br9($(cat /tmp/ctl.err))"
why="$(head -c 100 /tmp/ctl.err);"
ctl deploy --no-upload --name bad2 --image "$IMG" --memory 16 --disk data=/tmp/missing.img &&
	bad="$bad missing(accepted)"
[ $? -eq 1 ] && grep -q 'missing.img' /tmp/ctl.err || bad="$bad missing($(cat /tmp/ctl.err))"
why="$why $(head -c 100 /tmp/ctl.err);"
ctl deploy --name bad3 --image "$IMG" --memory 16 --net a=xenbr0 --net b=xenbr0 --net c=xenbr0 \
	--net d=xenbr0 --net e=xenbr0 && bad="$bad 5nics(accepted)"
[ $? -eq 1 ] && grep -qi 'net' /tmp/ctl.err || bad="$bad 5nics($(cat /tmp/ctl.err))"
why="$why $(head -c 100 /tmp/ctl.err);"
ctl deploy --name bad4 --image "$IMG" --memory 16 --restart never --net eth0=xenbr9 && bad="$bad xenbr9(accepted)"
grep -q 'bridge xenbr9 does not exist' /tmp/ctl.err || bad="$bad xenbr9($(cat /tmp/ctl.err))"
why="$why $(head -c 120 /tmp/ctl.err)"
for g in bad1 bad2 bad3 bad4; do ctl rm $g; done
if [ -z "$bad" ] && [ -z "$(domains)" ]; then ok "devices: refusals name what is wrong ($why)"; else
	not_ok "devices: refusals:$bad; xl list: $(domains | tr '\n' ' ')"
fi

# A domain destroyed while no shoald ran: the next one frees what it left.
if dev_deploy dev2 "$IMG" --restart never && wait_for 30 is_running dev2; then
	D=$(xl domid dev2)
	L1=$(loop_of "$D" 51712)
	L2=$(loop_of "$D" 51728)
	kill9_shoald
	xl destroy dev2
	# The new shoald frees what the domain left, and dev2 (restart never) ended while it was
	# away: it stays down, holding no loop.
	if start_direct && wait_for 20 dirs_gone "$D" && wait_for 20 is_exited dev2 &&
		wait_for 20 no_loops &&
		grep -q "removed /local/domain/0/backend/vbd/$D, left by domain $D that is gone" "$LOGDIR/shoald.log"; then
		ok "devices: a domain destroyed behind a killed shoald's back: the next one frees its directories and loops, and its guest (restart never) stays ended"
	else
		not_ok "devices: what a domain destroyed behind shoald's back left stays: $(xenstore-ls -f /local/domain/0/backend 2>&1 | head -n 3 | tr '\n' ' ')" \
			"loops $(cat /sys/block/loop*/loop/backing_file 2>&1 | tr '\n' ' ')"
	fi
	ctl rm dev2
	wait_for 20 no_domains
else
	not_ok "devices: dev2 did not run: $(cat /tmp/ctl.err)"
fi
kill9_shoald

# --- libxl, PV and PVH ---------------------------------------------------
XEN_CREATE=libxl
if start_shoald "$BRIDGE_ARG" && dev_deploy dev3 "$IMG" && wait_for 30 is_running dev3; then
	dev_check dev3 "devices, xen-create = libxl"
	dev_rm dev3 "devices, xen-create = libxl"
	site_via site3 "$GUESTS/site.xen-pv" "devices, xen-create = libxl"
else
	not_ok "devices, xen-create = libxl: the guest did not run: $(cat /tmp/ctl.err)"
	dev_diag
fi
kill9_shoald
PVH=$GUESTS/idle.xen-pvh
XEN_CREATE=
if [ ! -f "$PVH" ]; then
	skip "devices, PVH" "no $PVH in this build"
elif start_shoald --backend=xen-pvh "$BRIDGE_ARG" && dev_deploy dev4 "$PVH" && wait_for 30 is_running dev4; then
	dev_check dev4 "devices, PVH"
	dev_rm dev4 "devices, PVH"
	site_via site4 "$GUESTS/site.xen-pvh" "devices, PVH"
else
	not_ok "devices, PVH: the guest did not run: $(cat /tmp/ctl.err)"
	dev_diag
fi
kill9_shoald
XEN_CREATE=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.xen_create=//p')
[ $failures -eq 0 ]
