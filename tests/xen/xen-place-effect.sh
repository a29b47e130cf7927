#!/bin/sh
# What the batch class and the batch pool do to a latency guest, on real
# Xen, in Dom0: the event-channel round trip to an echo guest (evtchn-rtt)
# alone, beside a CPU-bound spinner, beside the spinner in the batch class,
# and with the spinner's CPUs in the batch pool, all in one run.  Prints the
# figures; checks only that every phase measured (timings are not asserted).
#
#   XEN_CPU_CHECK  the checker (default: beside this script)
#   EVTCHN_RTT     evtchn-rtt (default: beside this script)
#   ECHO_CFG       xl config of a guest that runs `evtchn-rtt serve` and prints
#                  EVTCHN_PORT=N on its console
#   SPIN_CFG       xl config of a guest that spins on its one vCPU
#   BUSY_ECHO_CFG  optional: an echo guest that also has work of its own
#                  (its vCPU never idles), measured the same way on one CPU
#   CONSOLE_DIR    where xenconsoled logs guest consoles (/var/log/xen/console)
#   PROBE          evtchn-rtt (the default: ECHO_CFG is a Linux guest running
#                  `evtchn-rtt serve`), or evtchn-ping: ECHO_CFG is a shoal
#                  guest (idle.xen-pv), probed through its runtime's probe
#                  port as shoald does (tests/xen/evtchn-ping)
#   PINGS, GAP_US  round trips per phase (2000) and the gap between them (1000)
here=$(cd "$(dirname "$0")" && pwd)
. "${TAP_SH:-$here/../tap.sh}"
CHK=${XEN_CPU_CHECK:-$here/xen-cpu-check}
RTT=${EVTCHN_RTT:-$here/evtchn-rtt}
CL=${CONSOLE_DIR:-/var/log/xen/console}
PINGS=${PINGS:-2000}
GAP_US=${GAP_US:-1000}

command -v xl >/dev/null 2>&1 && xl info >/dev/null 2>&1 || tap_skip_all "not Dom0 of a running Xen"
PROBE=${PROBE:-evtchn-rtt}
[ "$PROBE" = evtchn-ping ] && RTT=${EVTCHN_PING:-$here/evtchn-ping}
[ -x "$CHK" ] && [ -x "$RTT" ] || tap_skip_all "no xen-cpu-check or $PROBE beside this script"
[ -r "${ECHO_CFG:-}" ] && [ -r "${SPIN_CFG:-}" ] || tap_skip_all "ECHO_CFG and SPIN_CFG must name xl configs"
ncpus=$(xl info | sed -n 's/^nr_cpus *: *//p')
[ "${ncpus:-0}" -ge 4 ] || tap_skip_all "Xen has ${ncpus:-no} pCPUs; this needs 4"

cleanup() {
	for g in xpe-echo xpe-spin1 xpe-spin2; do xl destroy $g >/dev/null 2>&1; done
	"$CHK" roles 1-3 none >/dev/null 2>&1
	xl cpupool-destroy shoal-batch >/dev/null 2>&1
	xl vcpu-pin 0 all all >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

# echo_up CFG: create the echo guest, wait for its port; sets echo_id and port.
echo_up() {
	xl destroy xpe-echo >/dev/null 2>&1
	rm -f "$CL/guest-xpe-echo.log" # xenconsoled appends: an earlier guest's port is there
	xl create -q "$1" 'name="xpe-echo"' || return 1
	echo_id=$(xl domid xpe-echo)
	if [ "$PROBE" = evtchn-ping ]; then
		port=probe-port
		"$RTT" -w 120 -n 1 "$echo_id" >/dev/null
		return
	fi
	i=0
	port=
	while [ -z "$port" ]; do
		port=$(sed -n 's/.*EVTCHN_PORT=\([0-9]*\).*/\1/p' "$CL/guest-xpe-echo.log" 2>/dev/null | tail -n 1)
		i=$((i + 1))
		[ $i -gt 1200 ] && return 1
		[ -n "$port" ] || sleep 0.1
	done
}

# phase NAME: one measurement, its figures as a diagnostic line.
phase() {
	if [ "$PROBE" = evtchn-ping ]; then
		r=$("$RTT" -n "$PINGS" -i $(((GAP_US + 999) / 1000)) "$echo_id")
	else
		r=$("$RTT" ping "$echo_id" "$port" "$PINGS" "$GAP_US")
	fi
	rc=$?
	r=$(echo $r) # one line
	if [ $rc -eq 0 ]; then tap_ok "$1: $r"; else tap_not_ok "$1: $r"; fi
	echo "FIGURE $1: $r"
}

# share SECONDS: the echo guest's part of the CPU time it and spinner 1 used over SECONDS.
share() {
	e0=$("$CHK" time "$echo_id")
	s0=$("$CHK" time "$spin1")
	sleep "$1"
	e1=$("$CHK" time "$echo_id")
	s1=$("$CHK" time "$spin1")
	awk -v e=$((e1 - e0)) -v s=$((s1 - s0)) 'BEGIN { printf "%.1f%% (echo %.2f s, spinner %.2f s)", e + s ? 100 * e / (e + s) : 0, e / 1e9, s / 1e9 }'
}

# same_cpu KIND: the echo guest and a spinner share pCPU 3 (Dom0 kept on 0-1).
same_cpu() {
	"$CHK" affinity "$echo_id" 3
	xl vcpu-pin 0 all 0-1 >/dev/null
	sleep 2
	phase "$1 echo alone on pCPU 3"
	xl create -q "$SPIN_CFG" 'name="xpe-spin1"' || tap_not_ok "xl create of the spinner"
	spin1=$(xl domid xpe-spin1)
	"$CHK" affinity "$spin1" 3
	sleep 2
	tap_diag "credit2 weights: $(xl sched-credit2 | awk '$2 ~ /^[0-9]+$/ { printf "%s=%s ", $1, $3 }')"
	[ "$1" = busy ] && echo "FIGURE busy echo's CPU share beside the spinner, both weight 100: $(share 5)"
	phase "$1 echo beside a spinner on pCPU 3, both weight 100"
	"$CHK" batch "$spin1" 1
	sleep 2
	tap_diag "credit2 weights: $(xl sched-credit2 | awk '$2 ~ /^[0-9]+$/ { printf "%s=%s ", $1, $3 }')"
	[ "$1" = busy ] && echo "FIGURE busy echo's CPU share beside the batch-class spinner: $(share 5)"
	phase "$1 echo beside a spinner of the batch class (credit2 weight 1)"
	xl vcpu-pin 0 all all >/dev/null
}

if [ -n "${BUSY_ECHO_CFG:-}" ]; then
	if echo_up "$BUSY_ECHO_CFG"; then
		tap_ok "busy echo guest up (domain $echo_id, port $port)"
		same_cpu busy
	else
		tap_not_ok "busy echo guest up"
	fi
	xl destroy xpe-spin1 >/dev/null 2>&1
fi
echo_up "$ECHO_CFG" || tap_skip_all "the echo guest did not come up with an EVTCHN_PORT"
tap_ok "echo guest up (domain $echo_id, port $port)"
same_cpu idle
"$CHK" batch "$spin1" 0

# Separate CPUs: spinners on 2-3, the echo guest on 1, Dom0's vCPUs
# unpinned; twice each way, alternating: all CPUs in Pool-0 (Dom0 floats
# over 0-3), and 2-3 in the batch pool (Dom0 on 0-1).
pool_of() { xl list -c "$1" | awk 'NR > 1 { print $NF }'; }
xl create -q "$SPIN_CFG" 'name="xpe-spin2"' || tap_not_ok "xl create of the second spinner"
spin2=$(xl domid xpe-spin2)
"$CHK" affinity "$echo_id" 1
for round in 1 2; do
	"$CHK" roles 1-3 none
	"$CHK" affinity "$spin1" 2
	"$CHK" affinity "$spin2" 3
	sleep 2
	p1=$(pool_of xpe-spin1)
	p2=$(pool_of xpe-spin2)
	tap_check "round $round: spinners in Pool-0 ($p1 $p2)" test "$p1 $p2" = "Pool-0 Pool-0"
	phase "round $round: echo on 1, spinners on 2 and 3, Dom0 floats over 0-3"
	"$CHK" roles 1 2-3
	"$CHK" affinity "$spin1" 2
	"$CHK" affinity "$spin2" 3
	sleep 2
	p1=$(pool_of xpe-spin1)
	p2=$(pool_of xpe-spin2)
	tap_check "round $round: spinners in the batch pool ($p1 $p2)" test "$p1 $p2" = "shoal-batch shoal-batch"
	phase "round $round: echo on 1, spinners on 2-3 in the batch pool, Dom0 on 0-1"
done
xl vcpu-list | sed 's/^/# /'
tap_done
