#!/bin/sh
# deploy-fleet.sh: deploy a set of guests with shoalctl, one JSON spec file
# per guest named after it (web.json deploys the guest "web"), and act on
# shoalctl's exit codes as a deploy script should:
#
#   0  deployed and running          -> check it stays up, go on
#   1  refused (bad spec, host full) -> report the server's reason, go on
#   2  bad input (not JSON, no image file): nothing was sent -> report, go on
#   3  shoald out of reach           -> retry a few times, then give up on all
#   4  not found (an unknown image sha256) -> report, go on
#   5  the new deploy failed to start -> roll back to the previous one
#
#   deploy-fleet.sh [-s SOCKET] SPEC.json...
#
# Exits 0 when every guest was deployed, 1 when some were not, 3 when
# shoald could not be reached.  Needs only shoalctl and a POSIX shell.
set -u

usage() {
	echo "usage: $0 [-s SOCKET] SPEC.json..." >&2
	exit 2
}

ctl=${SHOALCTL:-shoalctl}
while getopts s: opt; do
	case $opt in
	s) SHOAL_SOCKET=$OPTARG && export SHOAL_SOCKET ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage

# shoalctl with retries while the daemon is out of reach (say, restarting).
ctl_retry() {
	tries=0
	while :; do
		"$ctl" "$@"
		rc=$?
		[ $rc -eq 3 ] && [ $tries -lt 5 ] || return $rc
		tries=$((tries + 1))
		echo "deploy-fleet: shoald not reachable, try $tries of 5 in 1 s" >&2
		sleep 1
	done
}

failed=0
for spec in "$@"; do
	name=$(basename "$spec" .json)
	ctl_retry deploy -f "$spec" --name "$name"
	rc=$?
	case $rc in
	0)
		# Running now; make sure it did not end straight away.
		sleep 1
		if ! "$ctl" show --json "$name" | grep -q '"state":"running"'; then
			echo "deploy-fleet: $name deployed but no longer runs:" >&2
			"$ctl" show "$name" | grep -E '^(state|last exit):' >&2
			failed=$((failed + 1))
		fi
		;;
	1 | 2 | 4)
		echo "deploy-fleet: $name not deployed (shoalctl exit $rc, reason above)" >&2
		failed=$((failed + 1))
		;;
	3)
		echo "deploy-fleet: shoald is out of reach; stopping here" >&2
		exit 3
		;;
	5)
		echo "deploy-fleet: $name did not start; rolling back" >&2
		"$ctl" rollback "$name" || echo "deploy-fleet: $name has nothing to roll back to" >&2
		failed=$((failed + 1))
		;;
	*)
		echo "deploy-fleet: shoalctl exit $rc for $name" >&2
		failed=$((failed + 1))
		;;
	esac
done
[ $failed -eq 0 ] || {
	echo "deploy-fleet: $failed of $# guests not deployed" >&2
	exit 1
}
echo "deploy-fleet: all $# guests deployed"
