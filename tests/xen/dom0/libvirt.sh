#!/bin/sh
# The libvirt set, inside Dom0: libvirtd with its Xen driver (libxl), and
# shoald with backend = libvirt on xen:///system: two idle PV guests
# deployed through the API as libvirt domains; virsh list and xl list
# agree; shoald's metadata on each; consoles; probes answered (libxenevtchn
# beside libvirt); a pin through shoald seen by virsh vcpuinfo; virsh
# destroy of a guest noticed and the guest restarted by its policy; shoald
# killed with -9 and every guest re-adopted (same domain, same instance,
# probed again); removal leaving no domain in libvirt or Xen.  Then
# devices in the domain XML: an echo guest's NIC on xenbr0 with shoald's
# MAC and address answers Dom0's ping, its 1 MB/s limit in the domain's
# XML and netback's rate; fatcat reads a read-only FAT disk
# whole; blkcheck writes a writable disk, exits 3 (its own code, in the
# API) and finds what it wrote once restarted.  Then a create off the
# loop: the API answers, again and again, while libvirt makes a domain.
. /shoal/tests/lib.sh
IMG=$GUESTS/idle.xen-pv
V="virsh -q -c xen:///system"
NS=urn:x-shoal:guest:1

steps="libvirtd starts with its Xen driver
shoald starts with backend = libvirt
two idle guests deployed through the API run as libvirt domains
virsh list and xl list agree
each domain carries shoald's metadata
each guest's console comes through the API (virDomainOpenConsole)
each guest's probes are answered (libxenevtchn beside libvirt)
a pin through shoald shows in virsh vcpuinfo
virsh destroy of a guest is noticed and the guest restarted by its policy
shoald killed with -9: the domains keep running
a restarted shoald re-adopts every guest (same domain, same instance, probed again)
removing the guests leaves no domain in libvirt or Xen
a NIC through libvirt on xenbr0 has shoald's MAC and address and answers Dom0's ping, its rate limit applied
a read-only disk through libvirt: fatcat reads a FAT image whole and exits 0
a writable disk through libvirt keeps what blkcheck wrote across its restart; its exit status 3 shows in the API
the API answers while libvirt makes a domain"
step() { steps=$(echo "$steps" | sed 1d); }
bail() {
	echo "$steps" | while read -r s; do not_ok "$s (not run: $1)"; done
	kill9_shoald
	exit 1
}
skip_rest() {
	skip "shoald on libvirt ($(echo "$steps" | wc -l) tests: $(echo "$steps" | head -n 1), ...)" "$1"
	exit 0
}
command -v libvirtd >/dev/null && command -v virsh >/dev/null ||
	skip_rest "no libvirtd in this Dom0 (the host has no libvirt-daemon-driver-xen for mkdom0.sh)"
shoald --config=/dev/null --backend=libvirt -n 2>&1 | grep -q 'not built into' &&
	skip_rest "shoald is built without the libvirt backend (no libvirt-dev at configure)"
[ -f "$IMG" ] || skip_rest "no unikernel-rt/examples/idle.xen-pv in this build"

# virsh's names of running domains, and xl's (without Domain-0), sorted.
vnames() { $V list --name 2>/dev/null | grep -v '^$' | grep -vxF Domain-0 | sort; }
xnames() { domains | sort; }
vid() { $V domid "$1" 2>/dev/null | head -n 1; }

mkdir -p /run/libvirt /var/log/libvirt/libxl /var/lib/libvirt/libxl
t=$(now_us)
LIBVIRT_LOG_OUTPUTS="3:file:$LOGDIR/libvirtd.log" libvirtd --daemon >>"$LOGDIR/libvirtd.log" 2>&1
if wait_for 60 $V version; then
	ok "libvirtd starts with its Xen driver ($(ms_since "$t") ms; $($V version 2>/dev/null | grep -i hypervisor | head -n 1))"
	step
else
	not_ok "libvirtd starts with its Xen driver: $($V version 2>&1 | head -c 300)"
	diag "$(tail -n 20 "$LOGDIR/libvirtd.log" 2>/dev/null)" \
		"Xen's hw_caps (what libvirt decodes the host CPU from): $(xl info | grep hw_caps)" \
		"$(tail -n 20 /var/log/libvirt/libxl/libxl-driver.log 2>/dev/null)"
	step
	bail "libvirtd did not start"
fi

start_lv() { start_shoald --backend=libvirt --libvirt-uri=xen:///system "--bridge=xenbr0 10.77.0.0/24" "$@"; }
if start_lv; then
	ok "shoald starts with backend = libvirt"
	step
else
	not_ok "shoald starts with backend = libvirt"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")"
	step
	bail "shoald did not start"
fi

bad=
for g in lv1 lv2; do
	t=$(now_us)
	if ctl --json deploy --name "$g" --image "$IMG" --memory 16 --restart always; then
		figure "libvirt_deploy_ms $g $(ms_since "$t") ms"
	else
		bad="$bad $g(exit $?: $(cat /tmp/ctl.err))"
	fi
done
for g in lv1 lv2; do
	wait_for 30 is_running "$g" || bad="$bad $g(state $(guest_state "$g"))"
done
if [ -z "$bad" ]; then ok "two idle guests deployed through the API run as libvirt domains"; else
	not_ok "two idle guests deployed through the API run as libvirt domains:$bad"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")" "$(tail -n 20 /var/log/libvirt/libxl/libxl-driver.log 2>/dev/null)"
	step
	bail "the guests did not start"
fi
step

if [ "$(vnames)" = "$(printf 'lv1\nlv2')" ] && [ "$(vnames)" = "$(xnames)" ]; then
	ok "virsh list and xl list agree (lv1 lv2)"
else
	not_ok "virsh list and xl list agree: virsh $(vnames | tr '\n' ' '), xl $(xnames | tr '\n' ' ')"
fi
step

bad=
for g in lv1 lv2; do
	m=$($V metadata "$g" "$NS" 2>&1)
	echo "$m" | grep -q "<name>$g</name>" && echo "$m" | grep -q '<instance>[0-9]' ||
		bad="$bad $g($(echo "$m" | tr '\n' ' ' | head -c 200))"
done
if [ -z "$bad" ]; then ok "each domain carries shoald's metadata ($NS)"; else
	not_ok "each domain carries shoald's metadata:$bad"
fi
step

bad=
for g in lv1 lv2; do
	wait_for 20 console_has "$g" "idle: $g up" ||
		bad="$bad $g($(shoalctl --socket "$SOCK" console "$g" 2>&1 | head -c 200))"
done
if [ -z "$bad" ]; then ok "each guest's console comes through the API (virDomainOpenConsole)"; else
	not_ok "each guest's console comes through the API:$bad"
	diag "$(grep -i console "$LOGDIR/shoald.log" | tail -n 5)"
fi
step

bad=
for g in lv1 lv2; do
	if ! wait_for 30 probed "$g" windows.10s.samples 10; then
		bad="$bad $g($(head -c 300 /tmp/lat.json))"
		continue
	fi
	w=windows.10s
	figure "libvirt_probe_rtt_us $g p50=$(jget /tmp/lat.json $w.p50_us) p99=$(jget /tmp/lat.json $w.p99_us)" \
		"samples=$(jget /tmp/lat.json $w.samples) misses=$(jget /tmp/lat.json $w.misses)"
done
if [ -z "$bad" ]; then ok "each guest's probes are answered (libxenevtchn beside libvirt)"; else
	not_ok "each guest's probes are answered:$bad"
	diag "$(grep -i probe "$LOGDIR/shoald.log" | tail -n 5)"
fi
step

# virsh vcpuinfo's "CPU Affinity" has one y per allowed CPU: only CPU $cpu.
cpu=$(($(xl info nr_cpus) - 1))
want=$(awk -v n="$((cpu + 1))" -v c="$cpu" 'BEGIN { for (i = 0; i < n; i++) printf "%s", i == c ? "y" : "-" }')
aff() { $V vcpuinfo lv1 2>/dev/null | awk '/^CPU Affinity/ {print $3}'; }
if ctl pin lv1 "$cpu" && wait_for 10 sh -c "[ \"\$($V vcpuinfo lv1 | awk '/^CPU Affinity/ {print \$3}')\" = '$want' ]"; then
	ok "a pin through shoald shows in virsh vcpuinfo (lv1 on CPU $cpu: $(aff))"
else
	not_ok "a pin through shoald shows in virsh vcpuinfo: shoalctl pin: $(cat /tmp/ctl.err); virsh: $(aff), wanted $want"
fi
step

# virsh destroy: libvirt's lifecycle event; the policy (always) starts it again.
# The times: virsh destroy returned (Dom0's wall clock), and shoald's log
# lines for the end and the next start (the same clock), so that the slow
# tools under TCG (virsh, shoalctl: seconds each) do not count.
d0=$(vid lv2)
t=$(now_us)
$V destroy lv2 >/dev/null 2>&1
t_destroyed=$(gdate +%s%6N)
# log_us TEXT: the time of shoald's last log line with TEXT, in us since the epoch.
log_us() { gdate -d "$(grep -F "$1" "$LOGDIR/shoald.log" | tail -n 1 | cut -d' ' -f1)" +%s%6N 2>/dev/null; }
restarted() {
	ctl --json show lv2 && [ "$(jget /tmp/ctl.out restarts)" -ge 1 ] 2>/dev/null &&
		[ "$(jget /tmp/ctl.out state)" = running ]
}
if wait_for 60 restarted && [ -n "$(vid lv2)" ] && [ "$(vid lv2)" != "$d0" ]; then
	t_end=$(log_us "guest lv2 ended: domain $d0 was destroyed outside shoald")
	t_run=$(log_us "guest lv2 started (instance $(jget /tmp/ctl.out instance),")
	noticed=$(echo "$t_end $t_destroyed" | awk '{printf "%.1f", ($1 - $2) / 1000}')
	again=$(echo "$t_run $t_end" | awk '{printf "%.1f", ($1 - $2) / 1000}')
	ok "virsh destroy of a guest is noticed and the guest restarted by its policy (domain $d0, then $(vid lv2); virsh destroy took $(echo "$t_destroyed $t" | awk '{printf "%.0f", ($1 - $2) / 1000}') ms, shoald's end $noticed ms after it returned, running again $again ms later; last exit: $(jget /tmp/ctl.out last_exit.reason))"
	figure "libvirt_destroy_returned_to_noticed_ms $noticed ms (negative: the event came before virsh returned)"
	figure "libvirt_noticed_to_running_again_ms $again ms (the policy's back-off and a create)"
else
	not_ok "virsh destroy of a guest is noticed and the guest restarted by its policy: $(head -c 400 /tmp/ctl.out); domain $d0, now $(vid lv2)"
	diag "$(grep lv2 "$LOGDIR/shoald.log" | tail -n 8)"
fi
step

before=
for g in lv1 lv2; do
	ctl --json show "$g"
	before="$before $g:$(vid "$g"):$(jget /tmp/ctl.out instance)"
done
kill9_shoald
sleep 1
if [ "$(vnames)" = "$(printf 'lv1\nlv2')" ]; then ok "shoald killed with -9: the domains keep running"; else
	not_ok "shoald killed with -9: the domains keep running: virsh $(vnames | tr '\n' ' ')"
fi
step

if ! start_lv; then
	not_ok "a restarted shoald re-adopts every guest: shoald did not start again"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")"
	step
	bail "shoald did not restart"
fi
after=
for g in lv1 lv2; do
	wait_for 20 is_running "$g"
	ctl --json show "$g"
	after="$after $g:$(vid "$g"):$(jget /tmp/ctl.out instance)"
done
# The counters are the new shoald's: samples in its 10 s window are answers to it.
if [ "$after" = "$before" ] && wait_for 30 probed lv1 windows.10s.samples 5 &&
	wait_for 30 probed lv2 windows.10s.samples 5; then
	ok "a restarted shoald re-adopts every guest (same domain, same instance, probed again:$after)"
else
	not_ok "a restarted shoald re-adopts every guest: before$before, after$after; latency: $(head -c 300 /tmp/lat.json)"
	diag "$(grep -i 'adopt\|libvirt' "$LOGDIR/shoald.log" | tail -n 8)"
fi
step

for g in lv1 lv2; do ctl rm "$g"; done
gone() { [ -z "$(vnames)" ] && [ -z "$($V list --all --name 2>/dev/null | grep -v '^$' | grep -vxF Domain-0)" ] && [ -z "$(xnames)" ]; }
# When a libvirt call does not return: shoald's worker (the call under
# way), what each thread of shoald and libvirtd waits in, and whether
# libvirtd still answers for the domain.
stuck_diag() {
	shoalctl --socket "$SOCK" --timeout 10 --json host >/tmp/host.json 2>/dev/null
	diag "shoald's worker: $(jget /tmp/host.json backend_stats.call_under_way) queued $(jget /tmp/host.json backend_stats.calls_queued)"
	for p in $(pidof shoald libvirtd); do
		for t in /proc/$p/task/*; do
			diag "$(cat $t/comm 2>/dev/null) ${t##*/}: wchan $(cat $t/wchan 2>/dev/null), syscall $(cut -d' ' -f1-2 $t/syscall 2>/dev/null)"
		done
	done
	for g in "$@"; do
		diag "virsh domstate $g: $(timeout 20 $V domstate "$g" --reason 2>&1 | tr '\n' ' ')"
	done
}
if wait_for 30 gone; then ok "removing the guests leaves no domain in libvirt or Xen"; else
	not_ok "removing the guests leaves no domain in libvirt or Xen: virsh --all $($V list --all --name | tr '\n' ' '); xl $(xnames | tr '\n' ' ')"
	stuck_diag lv1 lv2
fi
step

# Devices.  xsr PATH: a xenstore value, or nothing.  ctl_make: ctl with
# time for a deploy, whose answer waits for the domain (tens of seconds
# under TCG on a busy host).
xsr() { xenstore-read "$1" 2>/dev/null; }
ctl_make() { shoalctl --socket "$SOCK" --timeout 120 "$@" >/tmp/ctl.out 2>/tmp/ctl.err </dev/null; }
lv_diag() {
	diag "$(grep "$1" "$LOGDIR/shoald.log" | tail -n 5)" "$(tail -n 10 /var/log/libvirt/libxl/libxl-driver.log 2>/dev/null)" \
		"$(shoalctl --socket "$SOCK" --timeout 10 console "$1" 2>&1 | tail -n 5 | tr '\n' '|')"
	stuck_diag "$1"
}
ended() { case $(guest_state "$1") in stopped | exited) return 0 ;; esac; return 1; }

# 1 MB/s on what the guest sends: 976 KiB/s in the interface's outbound
# average, which libvirt's libxl driver gives netback as its credit in
# 50 ms (976 KiB/s is 49,971 bytes in 50 ms).
echo '{"net_rate": {"bytes_per_s": 1000000}}' >/tmp/lvrate.json
if [ ! -f "$GUESTS/echo.xen-pv" ]; then
	skip "a NIC through libvirt answers Dom0's ping" "no echo.xen-pv in this build"
elif ctl_make deploy -f /tmp/lvrate.json --name ec1 --image "$GUESTS/echo.xen-pv" --memory 16 --net eth0=xenbr0 --arg eth0 &&
	wait_for 30 is_running ec1; then
	ctl --json show ec1
	ip=$(jget /tmp/ctl.out net.0.ipv4)
	mac=$(jget /tmp/ctl.out net.0.mac)
	D=$(vid ec1)
	bk=/local/domain/0/backend/vif/$D/0
	fr=/local/domain/$D/device/vif/0
	bad=
	[ "$(xsr $bk/bridge)" = xenbr0 ] || bad="$bad bridge=$(xsr $bk/bridge)"
	[ "$(xsr $bk/mac)" = "$mac" ] || bad="$bad mac=$(xsr $bk/mac), shoald's $mac"
	[ "$(xsr $fr/shoal-ipv4)" = "$ip" ] || bad="$bad shoal-ipv4=$(xsr $fr/shoal-ipv4), shoald's $ip"
	[ "$(xsr $fr/shoal-name)" = eth0 ] || bad="$bad shoal-name=$(xsr $fr/shoal-name)"
	$V domiflist ec1 2>/dev/null | grep -q "$mac" || bad="$bad virsh domiflist: $($V domiflist ec1 2>&1 | tr '\n' ' ')"
	rate=$(xsr $bk/rate)
	case $rate in 499[0-9][0-9],50000) ;; *) bad="$bad netback's rate=$rate" ;; esac
	tune=$($V dumpxml ec1 2>/dev/null | sed -n "s/.*<outbound average='\([0-9]*\)'.*/\1/p")
	[ "$tune" = 976 ] || bad="$bad virsh dumpxml: outbound average ${tune:-none}"
	if [ -z "$bad" ] && wait_for 60 ping -c 1 -W 1 "${ip%/*}" &&
		ping -c 5 -i 0.5 -W 2 "${ip%/*}" >/tmp/ec.ping 2>&1; then
		ok "a NIC through libvirt on xenbr0 has shoald's MAC and address and answers Dom0's ping, its 1 MB/s limit in libvirt and netback (domain $D, $mac, $ip, rate $rate, outbound $tune KiB/s; $(grep -c 'bytes from' /tmp/ec.ping) of 5 answered; $(tail -n 1 /tmp/ec.ping))"
	else
		not_ok "a NIC through libvirt on xenbr0 answers Dom0's ping:$bad; $(tail -n 2 /tmp/ec.ping 2>/dev/null | tr '\n' ' ')"
		lv_diag ec1
	fi
	ctl rm ec1
else
	not_ok "a NIC through libvirt on xenbr0 answers Dom0's ping: the guest did not run: $(cat /tmp/ctl.err)"
	lv_diag ec1
	ctl rm ec1
fi
step

if [ ! -f "$GUESTS/fatcat.xen-pv" ] || [ ! -f "$IMAGES/site-a.img" ]; then
	skip "a read-only disk through libvirt: fatcat reads a FAT image whole" "no fatcat.xen-pv or FAT image in this build"
elif ctl_make deploy --name fc1 --image "$GUESTS/fatcat.xen-pv" --memory 16 --restart never \
	--disk a="$IMAGES/site-a.img" --arg tree --arg a && wait_for 60 ended fc1; then
	ctl --json show fc1
	st=$(jget /tmp/ctl.out last_exit.status)
	shoalctl --socket "$SOCK" --timeout 10 console fc1 >/tmp/fc1.console 2>&1
	if [ "$st" = 0 ] && grep -q 'fatcat: ok FAT' /tmp/fc1.console &&
		grep -q 'fatcat: file /big.bin 204800 ' /tmp/fc1.console; then
		ok "a read-only disk through libvirt: fatcat reads a FAT image whole and exits 0 ($(grep -c 'fatcat: file' /tmp/fc1.console) files; last exit: $(jget /tmp/ctl.out last_exit.reason))"
	else
		not_ok "a read-only disk through libvirt: fatcat: status $st ($(jget /tmp/ctl.out last_exit.reason)); $(tail -n 4 /tmp/fc1.console | tr '\n' '|')"
		lv_diag fc1
	fi
	ctl rm fc1
else
	not_ok "a read-only disk through libvirt: fatcat did not end: $(cat /tmp/ctl.err); state $(guest_state fc1)"
	lv_diag fc1
	ctl rm fc1
fi
step

# blkcheck persist: its first run writes a pattern and exits 3; the policy
# (on-failure) runs it again, and that run finds the pattern and exits 0.
dd if=/dev/zero of=/tmp/lvw.img bs=1024 count=1024 2>/dev/null
if [ ! -f "$GUESTS/blkcheck.xen-pv" ]; then
	skip "a writable disk through libvirt keeps what blkcheck wrote" "no blkcheck.xen-pv in this build"
elif ctl_make deploy --name pw1 --image "$GUESTS/blkcheck.xen-pv" --memory 16 --restart on-failure \
	--disk w=/tmp/lvw.img:rw --arg persist --arg w --arg 8 --arg 64 --arg 9 &&
	wait_for 90 console_has pw1 'blkcheck: ok persist w'; then
	ctl --json show pw1
	st=$(jget /tmp/ctl.out last_exit.status)
	if [ "$st" = 3 ] && [ "$(jget /tmp/ctl.out restarts)" -ge 1 ] 2>/dev/null && console_has pw1 'wrote w 64 sectors'; then
		ok "a writable disk through libvirt keeps what blkcheck wrote across its restart; its exit status 3 shows in the API ($(jget /tmp/ctl.out restarts) restart; last exit: $(jget /tmp/ctl.out last_exit.reason))"
	else
		not_ok "a writable disk through libvirt, and blkcheck's exit status: status ${st:-none} ($(jget /tmp/ctl.out last_exit.reason)), $(jget /tmp/ctl.out restarts) restarts"
		lv_diag pw1
	fi
else
	not_ok "a writable disk through libvirt keeps what blkcheck wrote: $(cat /tmp/ctl.err); state $(guest_state pw1)"
	lv_diag pw1
fi
ctl rm pw1
wait_for 30 gone || not_ok "the device guests leave no domain in libvirt or Xen: virsh --all $($V list --all --name | tr '\n' ' '); xl $(xnames | tr '\n' ' ')"
step

# Creates off the loop: while libvirt makes lv3's domain (with a disk:
# tens of seconds under TCG), shoald's API answers and reads it as
# starting, again and again.  Were the create on the loop, nothing would
# be answered until it was made (at most one answer could still say
# starting, the one waiting as the create returned).
t=$(now_us)
shoalctl --socket "$SOCK" --timeout 120 deploy --name lv3 --image "$IMG" --memory 16 --disk d=/tmp/lvw.img >/tmp/lv3.out 2>&1 </dev/null &
dep=$!
starting=0 polls=0
while kill -0 "$dep" 2>/dev/null && [ $polls -lt 200 ]; do
	polls=$((polls + 1))
	[ "$(guest_state lv3)" = starting ] && starting=$((starting + 1))
done
wait "$dep"
drc=$?
if [ $drc -eq 0 ] && [ $starting -ge 2 ] && wait_for 30 is_running lv3; then
	ok "the API answers while libvirt makes a domain: lv3 read as starting in $starting answers of $polls during its deploy ($(ms_since "$t") ms; slowest libvirt call $(shoalctl --socket "$SOCK" --json host 2>/dev/null | jsonq backend_stats.slowest_call_ms | awk '{printf "%.0f", $1}') ms)"
else
	not_ok "the API answers while libvirt makes a domain: deploy exit $drc ($(head -c 200 /tmp/lv3.out)); lv3 read as starting in $starting answers of $polls"
	lv_diag lv3
fi
ctl rm lv3
wait_for 30 gone || not_ok "lv3 leaves no domain in libvirt or Xen: virsh --all $($V list --all --name | tr '\n' ' ')"
step
kill9_shoald
[ "$failures" -eq 0 ]
