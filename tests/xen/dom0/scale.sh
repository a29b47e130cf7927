#!/bin/sh
# bench/xen-scale, inside Dom0: what creating domains costs as they pile
# up, and what a burst of creates costs the guests already running.
# Figures, never pass/fail; emulated Xen under QEMU TCG: ratios only.
#
# 1. A burst (shoal.burst=B, default 20) of deploys sent back to back
#    (shoalctl deploy --no-wait, one after another), to a shoald that runs 5 probed
#    latency guests (every guest with an SLO of 10 s, so that placement,
#    which would chase the emulation's stalls with moves and cpupool
#    changes of its own, leaves them where admission put them: the
#    creates alone are measured), with each domain maker (xen-create = direct: its
#    worker; = libxl: libxl's create inside the loop).  The 5 guests'
#    probe round trips during the burst (from the start of the first
#    deploy until every burst guest runs) against an equal stretch of
#    quiet just before it, from their since-start histograms
#    (shoalctl latency --buckets all) taken at each end: p99 of the 5
#    pooled, burst over quiet (the goal is 1.2 or less).
# 2. Growth: shoal.scale_n=N (default 100) idle.xen-pv guests of
#    shoal.scale_mem MiB (default 8) deployed one after another by
#    shoald (direct) and kept running and probed (SLO 10 s, as above), each deploy's time in
#    shoald (request in to "running" out, from its log); then all
#    removed, shoald ended, and N domains of the same image made by
#    `xl create` one after another and kept (until it returns).  The
#    median of the first 5 and of the last 5 of each, last over first
#    (the goal for shoald is 1.2 or less), xl's beside it.  scale_n=0
#    leaves this part out.
. /shoal/tests/lib.sh
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^shoal\.$1=//p"; }
B=$(arg burst)
B=${B:-20}
N=$(arg scale_n)
N=${N:-100}
MEM=$(arg scale_mem)
MEM=${MEM:-8}
# shoal.burst_par=1: the burst's shoalctl processes all at once (under
# the emulation their exec, 350 ms of CPU each, then crowds Dom0's two
# vCPUs, shoald and the probes with them); by default one after another,
# each returning once its deploy is accepted, as a deploy script sends
# them.
PAR=$(arg burst_par)
IMG=$GUESTS/idle.xen-pv
BASE=5

[ -f "$IMG" ] || { skip "xen-scale benchmark" "no unikernel-rt/examples/idle.xen-pv in this build"; exit 0; }
have_xen_backend || { skip "xen-scale benchmark" "shoald is built without the Xen backend"; exit 0; }
XEN_CREATE=direct
start_shoald || { not_ok "xen-scale benchmark: shoald did not start"; exit 1; }
ctl upload "$IMG" || { not_ok "xen-scale benchmark: upload: $(cat /tmp/ctl.err)"; exit 1; }
sha=$(cat /tmp/ctl.out)
kill9_shoald

ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "nan" }'; }
# snap FILE: every base guest's since-start histogram, "lo hi count" a line.
snap() {
	: >"$1"
	for k in $(seq 1 $BASE); do
		shoalctl --socket "$SOCK" --timeout 30 --json latency --buckets all "base$k" 2>/dev/null |
			jsonq buckets | tr '{' '\n' |
			sed -n 's/.*"lo_us": *\([-0-9.e+]*\), *"hi_us": *\([-0-9.e+]*\), *"count": *\([0-9]*\).*/\1 \2 \3/p' >>"$1"
	done
}
# between A B: the probes counted in B and not in A, pooled: "n p50 p99 max" (bucket tops, us).
between() {
	awk 'FNR == NR { a[$1] += $3; next }
	     { b[$1] += $3; hi[$1] = $2 }
	     END { for (k in b) { d = b[k] - a[k]; if (d > 0) print k, hi[k], d } }' "$1" "$2" |
		sort -n | awk '{ lo[NR] = $1; hi[NR] = $2; c[NR] = $3; n += $3 }
		END {
			if (n == 0) { print "0 nan nan nan"; exit }
			for (i = 1; i <= NR; i++) {
				s += c[i]
				if (!p50 && s >= 0.5 * n) p50 = hi[i]
				if (!p99 && s >= 0.99 * n) p99 = hi[i]
			}
			printf "%d %.0f %.0f %.0f\n", n, p50, p99, hi[NR]
		}'
}
# loop: shoald's loop figures now, "iterations held_over_50ms longest_held_ms".
loop() {
	ctl --json host && echo "$(jget /tmp/ctl.out loop.iterations) $(jget /tmp/ctl.out loop.held_over_50ms) $(jget /tmp/ctl.out loop.longest_held_ms)"
}
# burst_one I: the burst's deploy I, answered once it is accepted.
burst_one() {
	shoalctl --socket "$SOCK" --timeout 120 deploy --no-wait --name "burst$1" --image "$sha" \
		--memory "$MEM" --class latency --slo-us 10000000 >/dev/null 2>"/tmp/burst.$1.err" </dev/null
}
# nth WORDS I
nth() { echo "$1" | awk -v i="$2" '{ print $i }'; }

# --- 1. a burst of creates beside running guests -----------------------
errs=
lines=
for m in direct libxl; do
	XEN_CREATE=$m
	start_shoald || { errs="$errs $m(shoald did not start)"; continue; }
	for k in $(seq 1 $BASE); do
		ctl deploy --name "base$k" --image "$sha" --memory "$MEM" --class latency --slo-us 10000000 ||
			errs="$errs $m:base$k($(cat /tmp/ctl.err))"
	done
	for k in $(seq 1 $BASE); do
		wait_for 60 probed "base$k" windows.10s.samples 20 || errs="$errs $m:base$k(not probed)"
	done
	l0=$(loop)
	snap /tmp/snap.a
	t=$(now_us)
	sleep 10
	snap /tmp/snap.b
	quiet_ms=$(ms_since "$t")
	l1=$(loop)
	t=$(now_us)
	pids=
	for i in $(seq 1 "$B"); do
		if [ "$PAR" = 1 ]; then
			burst_one "$i" &
			pids="$pids $!"
		else
			burst_one "$i"
		fi
	done
	for p in $pids; do wait "$p"; done
	# Until none is still starting (running, or failed and said why).
	settled() {
		for i in $(seq 1 "$B"); do
			case $(guest_state "burst$i") in pending | starting | "") return 1 ;; esac
		done
	}
	wait_for 300 settled || errs="$errs $m(burst guests still starting after 300 s)"
	burst_ms=$(ms_since "$t")
	snap /tmp/snap.c
	l2=$(loop)
	build=$(jget /tmp/ctl.out backend_stats.slowest_build_ms) # loop's reading of /v1/host
	up=0
	for i in $(seq 1 "$B"); do
		if is_running "burst$i"; then up=$((up + 1)); else
			errs="$errs $m:burst$i($(jget /tmp/ctl.out state): $(jget /tmp/ctl.out last_exit.reason | head -c 150)$(head -c 150 "/tmp/burst.$i.err"))"
		fi
	done
	hq=$(($(nth "$l1" 2) - $(nth "$l0" 2)))
	hb=$(($(nth "$l2" 2) - $(nth "$l1" 2)))
	figure "burst_${m}_loop_held_over_50ms quiet=$hq burst=$hb longest_after_quiet=$(nth "$l1" 3)ms longest_after_burst=$(nth "$l2" 3)ms running=$up/$B"
	q=$(between /tmp/snap.a /tmp/snap.b)
	b=$(between /tmp/snap.b /tmp/snap.c)
	figure "burst_${m}_quiet_probe_p99_us $(nth "$q" 3) n=$(nth "$q" 1) p50=$(nth "$q" 2) max=$(nth "$q" 4) over=${quiet_ms}ms"
	figure "burst_${m}_burst_probe_p99_us $(nth "$b" 3) n=$(nth "$b" 1) p50=$(nth "$b" 2) max=$(nth "$b" 4) over=${burst_ms}ms creates=$B"
	figure "ratio_burst_${m}_probe_p99_vs_quiet $(ratio "$(nth "$b" 3)" "$(nth "$q" 3)") (goal <= 1.2)"
	lines="$lines
  xen-create = $m: $BASE running guests' probe p99 during $B creates ($burst_ms ms, $up running): $(nth "$b" 3) us (max $(nth "$b" 4) us, $(nth "$b" 1) probes)   baseline the $quiet_ms ms before: $(nth "$q" 3) us (max $(nth "$q" 4) us, $(nth "$q" 1) probes)   ratio $(ratio "$(nth "$b" 3)" "$(nth "$q" 3)")
    shoald's loop held over 50 ms: $hb times in the burst, $hq in the quiet; its longest hold since it started $(nth "$l2" 3) ms"
	[ "$m" = direct ] && lines="$lines (slowest build off the loop: $build ms)"
	for i in $(seq 1 "$B"); do ctl rm "burst$i" || errs="$errs $m:burst$i(rm: $(cat /tmp/ctl.err))"; done
	for k in $(seq 1 $BASE); do ctl rm "base$k"; done
	wait_for 120 no_domains || errs="$errs $m(domains left: $(domains | tr '\n' ' '))"
	kill9_shoald
done
diag "xen-scale: a burst of $B deploys $([ "$PAR" = 1 ] && echo "at once" || echo "back to back") beside $BASE probed guests, $MEM MiB each:$lines" \
	"  (goal: ratio <= 1.2; p99 is the top of its histogram bucket, 1 % wide; emulated Xen under QEMU TCG)"
if [ -z "$errs" ]; then ok "xen-scale burst: $B creates beside $BASE guests, both makers"; else
	not_ok "xen-scale burst: failed:$errs"
fi

# --- 2. the Nth create against the first, shoald and xl -----------------
[ "$N" -gt 0 ] || exit 0
# firstlast FILE: "first-5 median, last-5 median" of its lines in order.
firstlast() {
	f=$(head -n 5 "$1" | median)
	l=$(tail -n 5 "$1" | median)
	echo "$f $l"
}
gerrs=
: >/tmp/grow.sd
: >/tmp/grow.sdc
: >/tmp/grow.xl
XEN_CREATE=direct
if start_shoald; then
	for i in $(seq 1 "$N"); do
		t=$(now_us)
		if ctl deploy --name "g$i" --image "$sha" --memory "$MEM" --class latency --slo-us 10000000; then
			ms_since "$t" >>/tmp/grow.sdc
			grep -E 'api: POST /v1/guests(\?[^ ]*)? answered in' "$LOGDIR/shoald.log" | tail -n 1 |
				sed 's/.* in \([0-9.]*\) ms$/\1/' >>/tmp/grow.sd
		else
			gerrs="$gerrs g$i($(cat /tmp/ctl.err))"
			break
		fi
	done
	ctl --json host && running=$(jget /tmp/ctl.out backend_stats.domains)
	diag "xen-scale: $(wc -l </tmp/grow.sd) guests running under shoald; xl list has $(domains | wc -l); Dom0: $(free -m | awk 'NR == 2 {print $3 " MiB used"}'); xl info free_memory $(xl info 2>/dev/null | awk '$1 == "free_memory" {print $3}') MiB"
	for i in $(seq 1 "$N"); do ctl rm "g$i" 2>/dev/null; done
	wait_for 180 no_domains || gerrs="$gerrs (domains left after removal: $(domains | wc -l))"
	kill9_shoald
else
	gerrs="$gerrs (shoald did not start)"
fi
for i in $(seq 1 "$N"); do
	xl_cfg "xg$i" "$IMG" "$MEM" /tmp/xlg.cfg
	t=$(now_us)
	if xl create -q /tmp/xlg.cfg >/tmp/xl.out 2>&1; then
		ms_since "$t" >>/tmp/grow.xl
	else
		gerrs="$gerrs xg$i($(head -c 200 /tmp/xl.out))"
		break
	fi
done
for d in $(domains); do xl destroy "$d" 2>/dev/null; done
sd=$(firstlast /tmp/grow.sd)
sdc=$(firstlast /tmp/grow.sdc)
xl=$(firstlast /tmp/grow.xl)
figure "grow_shoald_server_ms first5=$(nth "$sd" 1) last5=$(nth "$sd" 2) n=$(wc -l </tmp/grow.sd) all=$(tr '\n' ' ' </tmp/grow.sd)"
figure "ratio_grow_shoald_last_vs_first $(ratio "$(nth "$sd" 2)" "$(nth "$sd" 1)") (goal <= 1.2)"
figure "grow_shoalctl_ms first5=$(nth "$sdc" 1) last5=$(nth "$sdc" 2) n=$(wc -l </tmp/grow.sdc)"
figure "grow_xl_create_ms first5=$(nth "$xl" 1) last5=$(nth "$xl" 2) n=$(wc -l </tmp/grow.xl) all=$(tr '\n' ' ' </tmp/grow.xl)"
figure "ratio_grow_xl_last_vs_first $(ratio "$(nth "$xl" 2)" "$(nth "$xl" 1)")"
diag "xen-scale: $N idle.xen-pv guests of $MEM MiB made one after another and kept
  shoald (direct), request in to \"running\" out: first 5 median $(nth "$sd" 1) ms, last 5 $(nth "$sd" 2) ms   ratio $(ratio "$(nth "$sd" 2)" "$(nth "$sd" 1)")
  the same through shoalctl (its exec included): first 5 $(nth "$sdc" 1) ms, last 5 $(nth "$sdc" 2) ms   ratio $(ratio "$(nth "$sdc" 2)" "$(nth "$sdc" 1)")
  baseline xl create until it returns: first 5 $(nth "$xl" 1) ms, last 5 $(nth "$xl" 2) ms   ratio $(ratio "$(nth "$xl" 2)" "$(nth "$xl" 1)")" \
	"  (goal: shoald's ratio <= 1.2; emulated Xen under QEMU TCG: ratios only)"
if [ -z "$gerrs" ]; then ok "xen-scale growth: $N creates each, shoald and xl"; else
	not_ok "xen-scale growth: failed:$gerrs"
fi
