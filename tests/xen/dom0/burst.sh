#!/bin/sh
# A burst of creates beside running guests, inside Dom0: with each domain
# maker in turn (shoal.makers=, default "direct libxl"), shoald runs K
# idle guests (shoal.k=, default 3) probed at a fixed 10 Hz, then is asked
# for B more at once (shoal.b=, default 20).  The probes' p99 of the
# running guests over the 10 s before the burst and over the 10 s that end
# when the burst's last guest runs (its window holds quiet time too when
# the burst is shorter: its length is printed), and their ratio (the goal
# is 1.2 or less: a create must not hold the other guests' probes).  The
# direct maker builds on a worker thread; libxl's create runs on the loop,
# the contrast in the same boot.  Figures, never pass/fail; what is
# checked is that every guest runs and that nothing is left.
. /shoal/tests/lib.sh
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^shoal\.$1=//p"; }
K=$(arg k)
K=${K:-3}
B=$(arg b)
B=${B:-20}
MAKERS=$(arg makers | tr , ' ')
MAKERS=${MAKERS:-direct libxl}
IMG=$GUESTS/idle.xen-pv

[ -f "$IMG" ] || { skip "create burst" "no unikernel-rt/examples/idle.xen-pv in this build"; exit 0; }
have_xen_backend || { skip "create burst" "shoald is built without the Xen backend"; exit 0; }

# p99 M: the highest of the running guests' 10 s p99, in us; their misses after it.
p99() {
	hi=0 miss=0
	for i in $(seq 1 "$K"); do
		shoalctl --socket "$SOCK" --timeout 10 --json latency "run$1$i" >/tmp/lat.json 2>/dev/null
		v=$(jsonq windows.10s.p99_us </tmp/lat.json)
		m=$(jsonq windows.10s.misses </tmp/lat.json)
		hi=$(echo "$hi ${v:-0}" | awk '{print ($2 > $1) ? $2 : $1}')
		miss=$((miss + ${m:-0}))
	done
	echo "$hi $miss"
}
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "nan" }'; }

for m in $MAKERS; do
	XEN_CREATE=$m
	if ! start_shoald --probe-hz=10 --probe-hz-min=10; then
		not_ok "create burst ($m): shoald did not start"
		diag "$(tail -n 20 "$LOGDIR/shoald.log")"
		continue
	fi
	bad=
	for i in $(seq 1 "$K"); do
		ctl deploy --name "run$m$i" --image "$IMG" --memory 16 --class latency ||
			bad="$bad run$m$i($(cat /tmp/ctl.err))"
	done
	for i in $(seq 1 "$K"); do
		wait_for 60 probed "run$m$i" windows.10s.samples 50 || bad="$bad run$m$i(not probed)"
	done
	if [ -n "$bad" ]; then
		not_ok "create burst ($m): the running guests:$bad"
	else
		# 10 s with nothing else: the baseline window.
		sleep 11
		set -- $(p99 "$m")
		quiet=$1 quiet_miss=$2
		t=$(now_us)
		for i in $(seq 1 "$B"); do
			shoalctl --socket "$SOCK" --timeout 120 deploy --name "b$m$i" --image "$IMG" --memory 16 \
				>/dev/null 2>"/tmp/burst.$i.err" &
		done
		wait
		for i in $(seq 1 "$B"); do
			wait_for 60 is_running "b$m$i" || bad="$bad b$m$i($(guest_state "b$m$i"): $(head -c 120 "/tmp/burst.$i.err"))"
		done
		burst_ms=$(ms_since "$t")
		set -- $(p99 "$m")
		during=$1 during_miss=$2
		ctl --json host
		build=$(jget /tmp/ctl.out backend_stats.slowest_build_ms)
		if [ -z "$bad" ]; then
			ok "create burst ($m): $B guests made beside $K running ones, all run ($burst_ms ms)"
		else
			not_ok "create burst ($m): $B guests made beside $K running ones:$bad"
		fi
		# The first and the last of the burst as shoald timed them (start to made and paused).
		made=$(grep "guest b$m[0-9]*: domain [0-9]* made in" "$LOGDIR/shoald.log" | sed 's/.* made in \([0-9.]*\) ms.*/\1/')
		figure "burst_${m}_ms $burst_ms ms ($B creates at once, to the last one running)"
		figure "burst_${m}_probe_p99_quiet_us $quiet us (misses $quiet_miss; highest of $K guests, 10 s)"
		figure "burst_${m}_probe_p99_during_us $during us (misses $during_miss)"
		figure "ratio_burst_${m}_p99_during_vs_quiet $(ratio "$during" "$quiet") (goal <= 1.2)"
		figure "burst_${m}_made_first_last_ms $(echo "$made" | head -n 1) $(echo "$made" | tail -n 1) (start to made, queued behind the others)"
		[ "$m" = direct ] && figure "burst_${m}_slowest_build_ms $build ms (on the worker)"
	fi
	for i in $(seq 1 "$K"); do ctl rm "run$m$i"; done
	for i in $(seq 1 "$B"); do ctl rm "b$m$i"; done
	wait_for 60 no_domains
	ctl --json host
	figure "burst_${m}_slowest_destroy_ms $(jget /tmp/ctl.out backend_stats.slowest_destroy_ms) ms off the loop, slowest libxl_domain_destroy call $(jget /tmp/ctl.out backend_stats.slowest_destroy_call_ms) ms on it"
	if no_domains; then
		ok "create burst ($m): removing every guest leaves no domain"
	else
		not_ok "create burst ($m): removing every guest leaves no domain: xl list has $(domains | tr '\n' ' ')"
	fi
	kill9_shoald
done
[ $failures -eq 0 ]
