#!/bin/sh
# deploy.sh: what a CI pipeline runs to ship a guest.  Deploys a spec (a
# new guest, or an update of one that exists), waits until it runs with
# its p99 probe latency under its SLO (wait-slo.sh), and rolls an update
# back to the version that ran before when it does not get there in time,
# crashes or restarts.
#
#   deploy.sh [-s SOCKET] [-t TIMEOUT_S] [-u SLO_US] [-n NAME] SPEC.json
#
# SPEC.json is a guest spec as shoalctl deploy -f takes it; a local image
# path in it is uploaded first.  -n names the guest when the spec does not.
#
# Exit codes:
#   0  deployed: running, p99 under its SLO
#   1  the new version failed its check and was rolled back: the previous
#      version runs again
#   2  usage or bad input (not JSON, no image file): nothing changed
#   3  shoald out of reach: nothing changed, or the state is unknown
#   4  refused by shoald (bad spec, host full, unknown image): nothing changed
#   5  the new version failed and could not be rolled back (a first deploy
#      has nothing to roll back to; it is left as it is, for a look:
#      shoalctl show NAME, shoalctl console NAME)
set -u
here=$(dirname "$0")
. "$here/lib.sh"

usage() { die 2 "usage: $prog [-s SOCKET] [-t TIMEOUT_S] [-u SLO_US] [-n NAME] SPEC.json"; }
timeout=60 slo= name=
while getopts s:t:u:n: opt; do
	case $opt in
	s) SHOAL_SOCKET=$OPTARG && export SHOAL_SOCKET ;;
	t) timeout=$OPTARG ;;
	u) slo=$OPTARG ;;
	n) name=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
spec=$1
need_tools
is_uint "$timeout" || die 2 "-t must be a whole number of seconds, not \"$timeout\""
[ -r "$spec" ] || die 2 "$spec: cannot read it"
"$JQ" -e 'type == "object"' "$spec" >/dev/null 2>&1 || die 2 "$spec is not a JSON object"
[ -n "$name" ] || name=$("$JQ" -r '.name // empty' "$spec")
[ -n "$name" ] || die 2 "$spec names no guest: give -n NAME"

# What runs now, to roll back to.
cur=$(ctl show "$name" 2>/dev/null)
rc=$?
case $rc in
0)
	prev_deploy=$(printf '%s' "$cur" | jget .deploy_id)
	prev_image=$(printf '%s' "$cur" | jget .image_sha256)
	prev_spec=$(printf '%s' "$cur" | "$JQ" -cS .spec)
	say "updating $name (now deploy $prev_deploy, image $prev_image, $(printf '%s' "$cur" | jget .state))"
	;;
4)
	prev_deploy=
	say "deploying $name (new)"
	;;
*) die "$rc" "cannot read guest $name (shoalctl exit $rc)" ;;
esac

out=$(ctl deploy -f "$spec" --name "$name")
rc=$?
case $rc in
0) ;;
1 | 4) die 4 "shoald refused to deploy $name (shoalctl exit $rc, reason above); nothing changed" ;;
2) die 2 "$spec: bad input (reason above); nothing was sent" ;;
3) die 3 "shoald is out of reach" ;;
5) say "$name did not start" ;;
*) die 5 "shoalctl deploy exited $rc" ;;
esac
new_deploy=$(printf '%s' "$out" | jget .deploy_id)

check=0
if [ "$rc" -eq 0 ]; then
	say "$name runs as deploy $new_deploy (image $(printf '%s' "$out" | jget .image_sha256)); waiting for its SLO"
	"$here/wait-slo.sh" -t "$timeout" ${slo:+-u "$slo"} "$name"
	check=$?
	[ "$check" -eq 0 ] && {
		say "deployed $name (deploy $new_deploy)"
		exit 0
	}
	[ "$check" -eq 3 ] && die 3 "shoald went out of reach while $name was checked"
fi

# The new version failed: back to the one before.
[ -n "$prev_deploy" ] || die 5 "$name failed its first deploy: nothing to roll back to; left as it is"
say "rolling $name back from deploy ${new_deploy:-?} to the spec of deploy $prev_deploy"
ctl rollback "$name" >/dev/null
rc=$?
[ "$rc" -eq 0 ] || die 5 "rollback of $name failed (shoalctl exit $rc): a person must look"
now=$(ctl show "$name")
state=$(printf '%s' "$now" | jget .state)
image=$(printf '%s' "$now" | jget .image_sha256)
nspec=$(printf '%s' "$now" | "$JQ" -cS .spec)
if [ "$state" != running ] || [ "$image" != "$prev_image" ] || [ "$nspec" != "$prev_spec" ]; then
	die 5 "$name rolled back but is $state with image $image, not the previous version"
fi
die 1 "$name rolled back to the previous version (image $prev_image), which runs as deploy $(printf '%s' "$now" | jget .deploy_id)"
