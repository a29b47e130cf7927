#!/bin/sh
# The smoke set, inside Dom0: xl creates the idle guest image by hand (the
# guest side of the Xen contract: console, probe-port key, destroy); the
# device front-ends on netback and blkback (fronts.sh); then
# shoald on its Xen backend, through shoalctl and the API: five idle PV
# guests deployed, their consoles, their probe latencies, one pinned by
# placement, shoald killed with -9 and restarted with every guest
# re-adopted, all removed and xl list agreeing; then guests' NICs and
# disks (devices.sh).
. /shoal/tests/lib.sh
N=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.n=//p')
N=${N:-5}
IMG=$GUESTS/idle.xen-pv

# --- the guest image under xl alone -----------------------------------------
if ! xl info xen_caps | grep -q 'xen-3.0-x86_64'; then
	not_ok "Xen offers 64-bit PV guests (xen_caps: $(xl info xen_caps))"
else
	ok "Xen offers 64-bit PV guests"
fi
if [ ! -f "$IMG" ]; then
	skip "xl create of idle.xen-pv" "no unikernel-rt/examples/idle.xen-pv in this build"
else
	cat >/tmp/xl-idle.cfg <<CFG
name = "xl-idle"
type = "pv"
kernel = "$IMG"
memory = 16
vcpus = 1
on_poweroff = "destroy"
on_crash = "preserve"
CFG
	t=$(now_us)
	if timeout 60 xl create -q /tmp/xl-idle.cfg >/tmp/xl.out 2>&1; then
		ok "xl create of idle.xen-pv ($(ms_since "$t") ms)"
		d=$(xl domid xl-idle)
		if wait_for 20 grep -q 'idle: xl-idle up' "$CONSOLES/guest-xl-idle.log"; then
			ok "idle.xen-pv under xl prints its name on the PV console"
		else
			not_ok "idle.xen-pv under xl prints its name on the PV console"
			diag "console: $(head -c 400 "$CONSOLES/guest-xl-idle.log" 2>/dev/null)" "$(xl list)"
		fi
		key=/local/domain/$d/data/shoal/probe-port
		if wait_for 20 sh -c "xenstore-read $key | grep -qE '^[0-9]+\$'"; then
			ok "idle.xen-pv writes its probe port to xenstore ($key = $(xenstore-read $key))"
		else
			not_ok "idle.xen-pv writes its probe port to xenstore ($key: $(xenstore-read $key 2>&1))"
			xenstore-ls -f /local/domain/$d 2>&1 | head -n 30 | while read -r l; do diag "$l"; done
		fi
		if [ -x /shoal/bin/evtchn-ping ]; then
			if timeout 120 evtchn-ping -n 50 -t "$PROBE_TIMEOUT_MS" -w 10 "$d" >/tmp/ping.out 2>&1; then
				ok "events from Dom0 on the probe port are answered (evtchn-ping: $(tail -n 1 /tmp/ping.out))"
				figure "evtchn_ping_xl_guest $(tr '\n' ' ' </tmp/ping.out)"
			else
				not_ok "events from Dom0 on the probe port are answered (evtchn-ping exit $?)"
				diag "$(cat /tmp/ping.out)"
			fi
			# The same round trips with no guest: a pair of ports in Dom0.
			if timeout 120 evtchn-ping -L -n 50 -t "$PROBE_TIMEOUT_MS" >/tmp/ping.out 2>&1; then
				ok "a loopback pair of ports in Dom0 answers too (the baseline: $(tail -n 1 /tmp/ping.out))"
				figure "evtchn_ping_dom0_loopback $(tr '\n' ' ' </tmp/ping.out)"
			else
				not_ok "a loopback pair of ports in Dom0 answers too (evtchn-ping -L exit $?)"
				diag "$(cat /tmp/ping.out)"
			fi
		fi
		xl destroy xl-idle
		if [ -z "$(domains)" ]; then ok "xl destroy leaves no domain but Domain-0"; else
			not_ok "xl destroy leaves no domain but Domain-0: $(domains | tr '\n' ' ')"
		fi
	else
		not_ok "xl create of idle.xen-pv"
		diag "$(cat /tmp/xl.out)"
		xl destroy xl-idle 2>/dev/null
	fi
fi

# --- the device front-ends on Dom0's back-ends ------------------------------
/shoal/tests/fronts.sh || failures=$((failures + 1))

# --- shoald on Xen ----------------------------------------------------------
steps="shoald starts with the Xen backend
a corrupt image is refused with its reason, and leaves no domain
a guest Xen has no memory for fails with the reason, and leaves no domain
$N idle guests deployed through the API run
xl list shows the $N guests
each domain carries shoald's tags, read-only to it
each guest's console comes through the API
each guest's probes are answered (/v1/guests/NAME/latency)
a guest pinned by placement has that affinity in Xen
a guest paused through the API is paused in Xen and not probed
shoald killed with -9: the guests keep running
a restarted shoald re-adopts every guest (same domain, same instance, probed again)
the pin survives the restart
the paused guest is still paused after the restart, and resumes
removing the guests through the API destroys their domains (xl list agrees)
shoald killed with -9 in the middle of a create: the next one leaves no domain it does not know
shoald stopped with creates queued: no domain left without its tags, and the next one leaves none it does not know
with xen-create = libxl, guests run, show their consoles and answer probes
the other maker's shoald adopts them, and removes them
with backend xen-pvh, a PVH guest runs, shows its console and answers probes
a guest that floods its console gets it through whole, many times the ring's size"
skip_rest() { # reason: one skip for the steps that cannot run
	skip "shoald on Xen ($(echo "$steps" | wc -l) tests: $(echo "$steps" | head -n 1), ...)" "$1"
	exit 0
}
have_xen_backend || skip_rest "shoald is built without the Xen backend (libxen-dev missing at configure, or no daemon/backend/xen.c)"
[ -f "$IMG" ] || skip_rest "no unikernel-rt/examples/idle.xen-pv in this build"

step() { steps=$(echo "$steps" | sed 1d); } # one step done
bail() { # the steps left cannot run
	echo "$steps" | while read -r s; do not_ok "$s (not run: $1)"; done
	kill9_shoald
	exit 1
}

if start_shoald; then
	ctl --json host
	ok "shoald starts with the Xen backend (backend: $(jget /tmp/ctl.out backend))"
	step
else
	not_ok "shoald starts with the Xen backend"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")"
	step
	bail "shoald did not start"
fi

# Bad images: cut short, and not an ELF at all.  Each deploy fails with
# the image check's reason; Xen never sees a domain for them.
head -c 3000 "$IMG" >/tmp/short.xen-pv
echo "not an image" >/tmp/junk.xen-pv
bad=
for b in short junk; do
	if ctl deploy --name "bad$b" --image "/tmp/$b.xen-pv" --memory 16; then
		bad="$bad bad$b(accepted)"
	elif ! grep -qi 'image' /tmp/ctl.err; then
		bad="$bad bad$b(the error does not name the image: $(cat /tmp/ctl.err))"
	else
		why="$why $b: $(head -c 120 /tmp/ctl.err);"
	fi
	ctl rm "bad$b"
done
if [ -z "$bad" ] && [ -z "$(domains)" ]; then
	ok "a corrupt image is refused with its reason, and leaves no domain ($why)"
else
	not_ok "a corrupt image is refused with its reason, and leaves no domain:$bad; xl list: $(domains | tr '\n' ' ')"
fi
step

# Xen out of memory: xl takes most of it first; shoald's deploy then fits
# shoald's own limits but not Xen's free memory.
free_mib=$(xl info free_memory)
hog=$((free_mib - 300))
sed -e 's/^name = .*/name = "xl-hog"/' -e "s/^memory = .*/memory = $hog/" /tmp/xl-idle.cfg >/tmp/xl-hog.cfg
if timeout 120 xl create -q /tmp/xl-hog.cfg >/tmp/xl.out 2>&1; then
	if ctl deploy --name big1 --image "$IMG" --memory 600 --restart never; then
		not_ok "a guest Xen has no memory for fails with the reason: the deploy of 600 MiB with $(xl info free_memory) MiB free succeeded"
	elif grep -qiE 'memory|allocate' /tmp/ctl.err && [ "$(domains)" = xl-hog ]; then
		ok "a guest Xen has no memory for fails with the reason, and leaves no domain ($(head -c 200 /tmp/ctl.err))"
	else
		not_ok "a guest Xen has no memory for fails with the reason, and leaves no domain: $(cat /tmp/ctl.err); xl list: $(domains | tr '\n' ' ')"
	fi
	ctl rm big1
	xl destroy xl-hog
else
	not_ok "a guest Xen has no memory for: xl could not take $hog of $free_mib MiB first: $(head -c 300 /tmp/xl.out)"
fi
step

bad=
running=
for i in $(seq 1 "$N"); do
	t=$(now_us)
	if ctl --json deploy --name "idle$i" --image "$IMG" --memory 16 --class latency; then
		figure "shoald_deploy_ms idle$i $(ms_since "$t") ms"
	else
		bad="$bad idle$i(exit $?: $(cat /tmp/ctl.err))"
	fi
done
for i in $(seq 1 "$N"); do
	wait_for 30 is_running "idle$i" || running="$running idle$i(state $(guest_state "idle$i"))"
done
if [ -z "$bad$running" ]; then ok "$N idle guests deployed through the API run"; else
	not_ok "$N idle guests deployed through the API run:$bad$running"
fi
step
# The builds ran on the backend's worker (xen-create = direct), off the loop.
ctl --json host && figure "shoald_slowest_build_ms $(jget /tmp/ctl.out backend_stats.slowest_build_ms) ms (xen-create = direct, off the loop)"
# A failed request is a failure above; guests that do not run stop the set.
[ -z "$running" ] || bail "the guests did not all start"

want=$(seq 1 "$N" | sed 's/^/idle/' | sort)
got=$(domains | sort)
if [ "$got" = "$want" ]; then ok "xl list shows the $N guests"; else
	not_ok "xl list shows the $N guests: it has $(echo "$got" | tr '\n' ' ')"
fi
step

# The tags that adoption goes by: Dom0 owns them, the guest may only read.
bad=
for i in $(seq 1 "$N"); do
	d=$(xl domid "idle$i" 2>/dev/null)
	for k in name instance boot-wall-ns; do
		l=$(xenstore-ls -p "/local/domain/$d/shoal" 2>&1 | grep "^$k ")
		case $l in
		*"(n0,r$d)") ;;
		*) bad="$bad idle$i:$k(${l:-missing})" ;;
		esac
	done
	[ "$(xenstore-read "/local/domain/$d/shoal/name" 2>&1)" = "idle$i" ] ||
		bad="$bad idle$i:name=$(xenstore-read "/local/domain/$d/shoal/name" 2>&1)"
done
if [ -z "$bad" ]; then ok "each domain carries shoald's tags, read-only to it (shoal/name, instance, boot-wall-ns: n0,rDOMID)"; else
	not_ok "each domain carries shoald's tags, read-only to it:$bad"
fi
step

bad=
for i in $(seq 1 "$N"); do
	wait_for 20 console_has idle$i "idle: idle$i up" ||
		bad="$bad idle$i($(shoalctl --socket "$SOCK" console "idle$i" 2>&1 | head -c 200))"
done
if [ -z "$bad" ]; then ok "each guest's console comes through the API"; else
	not_ok "each guest's console comes through the API:$bad"
fi
step

# Latency: every guest answered probes in its 10 s window, none missed.
sleep 3
bad=
for i in $(seq 1 "$N"); do
	if ! wait_for 20 probed idle$i windows.10s.samples 10; then
		bad="$bad idle$i($(head -c 300 /tmp/lat.json))"
		continue
	fi
	w=windows.10s
	figure "probe_rtt_us idle$i p50=$(jget /tmp/lat.json $w.p50_us) p90=$(jget /tmp/lat.json $w.p90_us)" \
		"p99=$(jget /tmp/lat.json $w.p99_us) max=$(jget /tmp/lat.json $w.max_us)" \
		"samples=$(jget /tmp/lat.json $w.samples) misses=$(jget /tmp/lat.json $w.misses)"
	[ "$(jget /tmp/lat.json $w.misses)" = 0 ] || bad="$bad idle$i(misses $(jget /tmp/lat.json $w.misses))"
done
if [ -z "$bad" ]; then ok "each guest's probes are answered (/v1/guests/NAME/latency)"; else
	not_ok "each guest's probes are answered (/v1/guests/NAME/latency):$bad"
fi
step

# Placement: pin idle1 to the last CPU; Xen must say the same.
cpu=$(($(xl info nr_cpus) - 1))
if ctl pin idle1 "$cpu" && wait_for 10 sh -c "[ \"\$(xl vcpu-list idle1 | awk 'NR == 2 {print \$7}')\" = $cpu ]"; then
	ok "a guest pinned by placement has that affinity in Xen (idle1 on CPU $cpu)"
else
	not_ok "a guest pinned by placement has that affinity in Xen: shoalctl pin: $(cat /tmp/ctl.err);" \
		"xl vcpu-list: $(xl vcpu-list idle1 | tail -n 1)"
fi
step

# Pause: the domain is paused in Xen ("p" in xl list) and not probed.
dstate() { xl list "$1" 2>/dev/null | awk 'NR == 2 {print $5}'; }
if ctl pause idle2 && [ "$(guest_state idle2)" = paused ] && dstate idle2 | grep -q p; then
	ctl --json latency idle2
	sent0=$(jget /tmp/ctl.out total.sent)
	sleep 2
	ctl --json latency idle2
	sent1=$(jget /tmp/ctl.out total.sent)
	if [ $((sent1 - sent0)) -le 1 ] && [ "$(jget /tmp/ctl.out total.misses)" = 0 ]; then
		ok "a guest paused through the API is paused in Xen and not probed (xl: $(dstate idle2); $((sent1 - sent0)) probes in 2 s)"
	else
		not_ok "a guest paused through the API is not probed: sent $sent0 -> $sent1, misses $(jget /tmp/ctl.out total.misses)"
	fi
else
	not_ok "a guest paused through the API is paused in Xen: shoalctl: $(cat /tmp/ctl.out /tmp/ctl.err); state $(guest_state idle2); xl: $(dstate idle2)"
fi
step

# kill -9 and restart: domains, domids and instances unchanged.
for i in $(seq 1 "$N"); do
	ctl --json show "idle$i"
	echo "idle$i $(xl domid "idle$i") $(jget /tmp/ctl.out instance)"
done >/tmp/before
ctl --json latency idle1
sent_before=$(jget /tmp/ctl.out total.sent)
kill9_shoald
sleep 2
got=$(domains | sort)
if [ "$got" = "$want" ] && [ "$(xl list | awk '$1 ~ /^idle/ && $5 !~ /[csd]/' | wc -l)" -eq "$N" ]; then
	ok "shoald killed with -9: the guests keep running"
else
	not_ok "shoald killed with -9: the guests keep running: $(xl list | tr '\n' ';')"
fi
step

t=$(now_us)
if ! start_shoald; then
	not_ok "a restarted shoald re-adopts every guest: shoald did not start again"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")"
	step
	bail "shoald did not restart"
fi
figure "shoald_restart_to_api_ms $(ms_since "$t") ms"
bad=
for i in $(seq 1 "$N"); do
	want_state=running
	[ "$i" != 2 ] || want_state=paused
	wait_for 20 sh -c "[ \"\$(shoalctl --socket $SOCK --timeout 10 --json show idle$i | jsonq state)\" = $want_state ]" ||
		bad="$bad idle$i(state $(guest_state "idle$i"), not $want_state)"
	ctl --json show "idle$i"
	now="idle$i $(xl domid "idle$i" 2>/dev/null) $(jget /tmp/ctl.out instance)"
	was=$(grep "^idle$i " /tmp/before)
	[ "$now" = "$was" ] || bad="$bad idle$i(was $was, now $now)"
done
sleep 2
ctl --json latency idle1
sent_after=$(jget /tmp/ctl.out total.sent)
samples_after=$(jget /tmp/ctl.out windows.10s.samples)
if [ -n "$bad" ]; then
	not_ok "a restarted shoald re-adopts every guest (same domain, same instance, probed again):$bad"
elif [ "${samples_after:-0}" -lt 5 ]; then
	not_ok "a restarted shoald re-adopts every guest: idle1 not probed after the restart (sent before $sent_before, total now $sent_after, 10 s samples $samples_after)"
else
	ok "a restarted shoald re-adopts every guest (same domain, same instance, probed again)"
fi
step

ctl --json show idle1
a=$(affinity idle1)
if [ "$a" = "$cpu" ] && ctl --json placement && grep -q . /tmp/ctl.out; then
	ok "the pin survives the restart (idle1 still on CPU $cpu)"
else
	not_ok "the pin survives the restart: xl says affinity $a, wanted $cpu"
fi
step

# The pause survived the restart (above: state paused); resume it.
was=$(dstate idle2)
if ctl resume idle2 && [ "$(guest_state idle2)" = running ] && ! dstate idle2 | grep -q p &&
	wait_for 20 probed idle2 windows.10s.samples 5; then
	ok "the paused guest is still paused after the restart, and resumes (xl: $was, then $(dstate idle2); probed again, $(jget /tmp/lat.json total.misses) misses)"
else
	not_ok "the paused guest resumes after the restart: shoalctl: $(cat /tmp/ctl.err); state $(guest_state idle2); xl: $(dstate idle2); latency: $(head -c 200 /tmp/lat.json)"
fi
step

bad=
for i in $(seq 1 "$N"); do
	ctl rm "idle$i" || bad="$bad idle$i(exit $?: $(cat /tmp/ctl.err))"
done
wait_for 20 no_domains
left=$(domains)
# How long a destroy held shoald's loop (libxl_domain_destroy's call, an
# ao: none for domains shoald made, whose destroys are its worker's), and
# the slowest of those off it.
ctl --json host &&
	figure "shoald_slowest_destroy_call_ms $(jget /tmp/ctl.out backend_stats.slowest_destroy_call_ms) ms (libxl_domain_destroy on the loop, $N guests)" &&
	figure "shoald_slowest_destroy_off_loop_ms $(jget /tmp/ctl.out backend_stats.slowest_destroy_off_loop_ms) ms (domains shoald made, on its worker, $N guests)"
if [ -z "$bad" ] && [ -z "$left" ]; then
	ok "removing the guests through the API destroys their domains (xl list agrees)"
else
	not_ok "removing the guests through the API destroys their domains:$bad; xl list still has: $(echo "$left" | tr '\n' ' ')"
fi
step

# kill -9 while libxl is making the domain (its create holds the loop for
# about half a second here); whatever state that leaves, the next shoald
# runs the guest or clears it away: xl list and shoald agree.
shoalctl --socket "$SOCK" --timeout 30 deploy --name mid1 --image "$IMG" --memory 16 >/dev/null 2>&1 &
poll_for 5 has_domain mid1
kill9_shoald
wait
sleep 1
was=$(xl list | awk '$1 == "mid1" {print "domain " $2 " state " $5}')
if ! start_shoald; then
	not_ok "shoald killed with -9 in the middle of a create: shoald did not start again"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")"
else
	# Known to the new shoald (it was stored): it runs; not known: no domain.
	if ctl --json show mid1; then
		wait_for 40 is_running mid1
		what="shoald has it, $(guest_state mid1)"
	else
		wait_for 20 domain_gone mid1
		what="shoald does not know it"
	fi
	ctl --json ls
	known=$(jsonq name </tmp/ctl.out | sort -u)
	got=$(domains | sort)
	if [ "$got" = "$known" ] && { [ -z "$got" ] || [ "$(guest_state mid1)" = running ]; }; then
		ok "shoald killed with -9 in the middle of a create: the next one leaves no domain it does not know (at the kill: ${was:-no domain yet}; after: $what)"
	else
		not_ok "shoald killed with -9 in the middle of a create: at the kill ${was:-no domain}; after: $what; xl list: $(echo "$got" | tr '\n' ' '); shoald: $(echo "$known" | tr '\n' ' ')"
		diag "$(grep -i 'mid1\|adopt' "$LOGDIR/shoald.log" | tail -n 15)"
	fi
	ctl rm mid1
	wait_for 20 domain_gone mid1
fi
step

# shoald stopped (SIGTERM) while creates are queued (with the direct
# maker, on its worker): the build under way finishes, the others are not
# made.  No domain is left without shoald's tags, and the next shoald runs
# or clears away every one: xl list and shoald agree.
for i in 1 2 3 4; do
	shoalctl --socket "$SOCK" --timeout 30 deploy --name "q$i" --image "$IMG" --memory 16 >/dev/null 2>&1 &
done
any_q() { domains | grep -q '^q[1-4]$'; }
shoald_gone() { ! kill -0 "$shoald_pid" 2>/dev/null; }
poll_for 10 any_q
kill -TERM "$shoald_pid" 2>/dev/null
stuck=
wait_for 30 shoald_gone || stuck=" (shoald still ran 30 s after SIGTERM: killed)"
kill9_shoald
wait
untagged=$stuck
was=
for dn in $(domains); do
	d=$(xl domid "$dn" 2>/dev/null)
	was="$was $dn($(xl list "$dn" 2>/dev/null | awk 'NR == 2 {print $5}'))"
	[ -n "$(xenstore-read "/local/domain/$d/shoal/name" 2>/dev/null)" ] || untagged="$untagged $dn"
done
if ! start_shoald; then
	not_ok "shoald stopped with creates queued: shoald did not start again"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")"
else
	for i in 1 2 3 4; do
		if ctl --json show "q$i"; then
			wait_for 40 is_running "q$i"
		else
			wait_for 20 domain_gone "q$i"
		fi
	done
	ctl --json ls
	known=$(jsonq name </tmp/ctl.out | sort -u)
	got=$(domains | sort)
	notrunning=
	for n in $known; do
		[ "$(guest_state "$n")" = running ] || notrunning="$notrunning $n($(guest_state "$n"))"
	done
	if [ -z "$untagged" ] && [ "$got" = "$known" ] && [ -z "$notrunning" ]; then
		ok "shoald stopped with creates queued: no domain left without its tags, and the next one leaves none it does not know (at the stop:${was:- no domain}; after: $(echo "$known" | tr '\n' ' '))"
	else
		not_ok "shoald stopped with creates queued: untagged:${untagged:- none}; at the stop:${was:- no domain}; xl list: $(echo "$got" | tr '\n' ' '); shoald: $(echo "$known" | tr '\n' ' '); not running:${notrunning:- none}"
		diag "$(grep -i 'q[1-4]\|adopt\|worker\|build' "$LOGDIR/shoald.log" | tail -n 20)"
	fi
	for i in 1 2 3 4; do ctl rm "q$i"; done
	wait_for 20 no_domains
fi
step

# The other domain maker (the set above ran with $XEN_CREATE; the default
# for PV is direct): two guests through libxl, then adopted by a shoald
# that makes domains the other way, which is all one to adoption.
kill9_shoald
first=${XEN_CREATE:-direct}
other=libxl
[ "$first" != libxl ] || other=direct
XEN_CREATE=$other
bad=
if start_shoald; then
	for i in 1 2; do
		ctl deploy --name "mk$i" --image "$IMG" --memory 16 || bad="$bad mk$i(deploy: $(cat /tmp/ctl.err))"
	done
	for i in 1 2; do
		wait_for 30 is_running "mk$i" || bad="$bad mk$i(state $(guest_state "mk$i"))"
		wait_for 20 console_has mk$i "idle: mk$i up" ||
			bad="$bad mk$i(no console)"
		wait_for 20 probed mk$i total.samples 5 ||
			bad="$bad mk$i(probes: $(head -c 200 /tmp/lat.json))"
	done
	made=$(grep -c "guest mk[12]: domain [0-9]* made in .* ($other)" "$LOGDIR/shoald.log" 2>/dev/null)
	[ "$other" = libxl ] && [ "$made" -ne 2 ] && bad="$bad (log: $made of 2 made by libxl)"
else
	bad=" shoald did not start with xen-create = $other"
fi
if [ -z "$bad" ]; then ok "with xen-create = $other, guests run, show their consoles and answer probes"; else
	not_ok "with xen-create = $other, guests run, show their consoles and answer probes:$bad"
	diag "$(tail -n 15 "$LOGDIR/shoald.log")"
fi
step
kill9_shoald
XEN_CREATE=$first
bad=
if start_shoald; then
	for i in 1 2; do
		wait_for 20 is_running "mk$i" || bad="$bad mk$i(state $(guest_state "mk$i"))"
		ctl rm "mk$i" || bad="$bad mk$i(rm: $(cat /tmp/ctl.err))"
	done
	wait_for 20 no_domains ||
		bad="$bad (xl list still has: $(domains | tr '\n' ' '))"
else
	bad=" shoald did not start again"
fi
if [ -z "$bad" ]; then ok "the other maker's shoald adopts them, and removes them"; else
	not_ok "the other maker's shoald adopts them, and removes them:$bad"
fi
step
kill9_shoald

# PVH: the same guest built for the PVH entry, through libxl's PVH create.
PVH=$GUESTS/idle.xen-pvh
bad=
if [ ! -f "$PVH" ]; then
	bad=" no $PVH in this build"
elif ! xl info xen_caps | grep -q hvm; then
	bad=" Xen offers no HVM/PVH guests here (xen_caps: $(xl info xen_caps))"
else
	XEN_CREATE=
	if start_shoald --backend=xen-pvh; then
		t=$(now_us)
		if ctl deploy --name pvh1 --image "$PVH" --memory 16; then
			wait_for 30 is_running pvh1 || bad="$bad state $(guest_state pvh1)"
			ms=$(ms_since "$t")
			wait_for 20 console_has pvh1 "idle: pvh1 up" ||
				bad="$bad no console ($(shoalctl --socket "$SOCK" console pvh1 2>&1 | head -c 200))"
			wait_for 20 probed pvh1 total.samples 5 ||
				bad="$bad probes: $(head -c 200 /tmp/lat.json)"
			xl list pvh1 >/dev/null 2>&1 || bad="$bad (not in xl list)"
			ctl rm pvh1
			wait_for 20 domain_gone pvh1 || bad="$bad (its domain stayed after rm)"
		else
			bad="$bad deploy: $(cat /tmp/ctl.err)"
		fi
	else
		bad=" shoald did not start with backend xen-pvh: $(tail -n 3 "$LOGDIR/shoald.log")"
	fi
fi
if [ -z "$bad" ]; then
	ok "with backend xen-pvh, a PVH guest runs, shows its console and answers probes (deploy -> running $ms ms; p50 $(jget /tmp/lat.json windows.10s.p50_us) us)"
else
	not_ok "with backend xen-pvh, a PVH guest runs, shows its console and answers probes:$bad"
fi
step
kill9_shoald

# The console ring wraps: flood writes 200-byte lines without pause, far
# more than the 2 KiB ring holds, so it waits on xenconsoled again and
# again; every line comes through the API whole.  (No rate limit here, so
# that shoald drops nothing; what the API keeps is the console's last 64
# KiB, so its first line may start in the middle, and the guest is still
# writing its last.)
XEN_CREATE=$first
bad=
FLOOD=$GUESTS/flood.xen-pv
if start_shoald --console-rate-bytes=4294967295 --console-burst-bytes=4294967295 &&
	ctl deploy --name flood1 --image "$FLOOD" --memory 16 --arg 200; then
	sleep 3
	shoalctl --socket "$SOCK" --timeout 10 console flood1 2>&1 | sed '1d;$d' >/tmp/flood.out
	bytes=$(wc -c </tmp/flood.out)
	lines=$(grep -cxE 'x{199}' /tmp/flood.out)
	other=$(grep -vxE 'x{199}' /tmp/flood.out | grep -v '^-- shoald' | head -n 3)
	[ "$lines" -ge 100 ] || bad="$bad only $lines whole lines ($bytes bytes)"
	[ -z "$other" ] || bad="$bad a line cut or mixed: $(echo "$other" | head -c 200)"
	ctl rm flood1
	wait_for 20 domain_gone flood1 || bad="$bad its domain outlived its removal"
else
	bad=" deploy: $(cat /tmp/ctl.err)"
fi
if [ -z "$bad" ]; then
	ok "a guest that floods its console gets it through whole, many times the ring's size ($lines lines of 200 bytes, $bytes bytes)"
else
	not_ok "a guest that floods its console gets it through whole:$bad"
fi
step
kill9_shoald

# Guests' NICs and disks, by each domain maker (devices.sh).
. /shoal/tests/devices.sh
[ $failures -eq 0 ]
