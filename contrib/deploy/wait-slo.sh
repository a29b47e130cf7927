#!/bin/sh
# wait-slo.sh: wait until a guest runs and its probe latency is under its
# objective: the p99 of its 10 s probe window at or under slo_us (the
# guest's own, or --slo-us).  The window is judged only once it holds
# nothing but this instance's probes (the instance has run a whole window)
# and enough of them; the guest must not restart meanwhile.
#
#   wait-slo.sh [-s SOCKET] [-t TIMEOUT_S] [-u SLO_US] [-m MIN_SAMPLES] NAME
#
# Exits 0 when the guest meets its SLO; 1 when the timeout passed first
# (still over the SLO, or not running); 6 when the guest stopped, crashed
# or restarted; 2 usage; 3 shoald out of reach; 4 no such guest.
set -u
. "$(dirname "$0")/lib.sh"

usage() { die 2 "usage: $prog [-s SOCKET] [-t TIMEOUT_S] [-u SLO_US] [-m MIN_SAMPLES] NAME"; }
timeout=60 slo= min=20
while getopts s:t:u:m: opt; do
	case $opt in
	s) SHOAL_SOCKET=$OPTARG && export SHOAL_SOCKET ;;
	t) timeout=$OPTARG ;;
	u) slo=$OPTARG ;;
	m) min=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
name=$1
is_uint "$timeout" || die 2 "-t must be a whole number of seconds, not \"$timeout\""
[ -z "$slo" ] || is_uint "$slo" || die 2 "-u must be a whole number of microseconds, not \"$slo\""
is_uint "$min" || die 2 "-m must be a whole number, not \"$min\""
need_tools

deadline=$(($(now_s) + timeout))
instance= why="no answer yet"
while :; do
	g=$(ctl show "$name")
	rc=$?
	[ "$rc" -eq 0 ] || die "$rc" "$name: cannot read the guest (shoalctl exit $rc)"
	state=$(printf '%s' "$g" | jget .state)
	inst=$(printf '%s' "$g" | jget .instance)
	[ -n "$slo" ] || slo=$(printf '%s' "$g" | jget .spec.slo_us)
	case $state in
	running)
		[ -z "$instance" ] && instance=$inst
		[ "$inst" = "$instance" ] || die 6 "$name restarted (instance $instance, now $inst): $(printf '%s' "$g" | jget .last_exit.reason)"
		l=$(ctl latency "$name")
		rc=$?
		[ "$rc" -eq 0 ] || die "$rc" "$name: cannot read its latency (shoalctl exit $rc)"
		# One jq call: window length, samples, p99, misses.
		set -- $(printf '%s' "$l" | "$JQ" -r '.windows["10s"] | "\(.window_s) \(.samples) \(.p99_us) \(.misses)"')
		window=${1%.*} samples=$2 p99=$3 misses=$4
		up=$(printf '%s' "$g" | jget '.uptime_s | floor')
		if [ "${up:-0}" -lt "$window" ]; then
			why="running for ${up:-0} s, less than its ${window} s window"
		elif [ "$samples" -lt "$min" ]; then
			why="only $samples probes in its ${window} s window (want $min)"
		elif "$JQ" -en --argjson p "$p99" --argjson s "$slo" '$p <= $s' >/dev/null; then
			say "$name meets its SLO: p99 $p99 us <= $slo us over $samples probes in ${window} s, $misses missed"
			exit 0
		else
			why="p99 $p99 us over its SLO of $slo us ($samples probes, $misses missed)"
		fi
		;;
	exited | failed | backoff)
		die 6 "$name is $state: $(printf '%s' "$g" | jget .last_exit.reason)"
		;;
	stopped)
		[ -n "$instance" ] && die 6 "$name stopped"
		why="stopped"
		;;
	*)
		why="state $state"
		;;
	esac
	[ "$(now_s)" -lt "$deadline" ] || die 1 "$name did not meet its SLO within $timeout s: $why"
	sleep 1
done
