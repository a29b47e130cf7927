#!/bin/sh
# The libvirt set, inside Dom0: libvirtd with its Xen driver (libxl), and
# shoald with backend = libvirt on xen:///system: two idle PV guests
# deployed through the API as libvirt domains; virsh list and xl list
# agree; shoald's metadata on each; consoles; probes answered (libxenevtchn
# beside libvirt); a pin through shoald seen by virsh vcpuinfo; virsh
# destroy of a guest noticed and the guest restarted by its policy; shoald
# killed with -9 and every guest re-adopted (same domain, same instance,
# probed again); removal leaving no domain in libvirt or Xen.
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
removing the guests leaves no domain in libvirt or Xen"
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

start_lv() { start_shoald --backend=libvirt --libvirt-uri=xen:///system "$@"; }
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
if wait_for 30 gone; then ok "removing the guests leaves no domain in libvirt or Xen"; else
	not_ok "removing the guests leaves no domain in libvirt or Xen: virsh --all $($V list --all --name | tr '\n' ' '); xl $(xnames | tr '\n' ' ')"
fi
step
kill9_shoald
[ "$failures" -eq 0 ]
