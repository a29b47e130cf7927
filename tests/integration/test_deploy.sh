#!/bin/sh
# contrib/deploy/ against a real shoald with real guests (on the platform
# SHOAL_TEST_PLATFORM names, doc/testing.md): an upload; a
# first deploy that meets its SLO (exit 0); an update whose p99 stays over
# an impossible SLO and one that crashes, each rolled back to the version
# before (exit 1, the old version running); a first deploy that crashes
# (exit 5, nothing to roll back to); bad input, a refused spec and an
# unreachable shoald, each with its own exit code and nothing changed.
. "$top_srcdir/tests/tap.sh"
tap_require_platform
command -v jq >/dev/null || tap_skip_all "jq is not installed (Debian: jq)"

D=$top_srcdir/contrib/deploy
tmp=$(mktemp -d /tmp/shoal-deploy-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
export SHOALCTL="$CTL" SHOAL_SOCKET="$SOCK" CTL_RETRIES=1

# script ID WANT SCRIPT ARG...: ok when it exits WANT; output in $tmp/ID.out.
script() {
	id=$1 want=$2 s=$3
	shift 3
	"$D/$s" "$@" >"$tmp/$id.out" 2>&1 </dev/null
	got=$?
	[ "$got" -eq "$want" ] && return 0
	tap_diag "$s $*: exit $got, expected $want" "$(tail -c 1500 "$tmp/$id.out")"
	return 1
}
says() {
	grep -qF -- "$2" "$tmp/$1.out" && return 0
	tap_diag "$1 lacks \"$2\"; it said:" "$(cat "$tmp/$1.out")"
	return 1
}
field() { "$CTL" show --json "$1" 2>/dev/null | jq -r ".$2"; }
spec() { # spec FILE IMAGE SLO_US [ARG]
	printf '{"image": "%s", "memory_mib": 16, "slo_us": %s, "restart": "on-failure", "args": [%s]}\n' \
		"$2" "$3" "${4:+\"$4\"}" >"$tmp/$1"
}

# Only shoalctl --json and exit codes: every call goes through lib.sh's ctl.
tap_check "the scripts call shoalctl only through ctl (--json)" \
	sh -c "! grep -n 'SHOALCTL\"* ' '$D/deploy.sh' '$D/upload.sh' '$D/wait-slo.sh' && grep -q '\"\$SHOALCTL\" --json \"\$@\"' '$D/lib.sh'"
tap_check "they are POSIX sh (sh -n)" sh -c "for f in '$D'/*.sh; do sh -n \"\$f\" || exit 1; done"
if command -v checkbashisms >/dev/null; then
	tap_check "checkbashisms finds nothing" checkbashisms "$D"/*.sh
fi

if ! shoald_start; then
	tap_not_ok "shoald starts"
	tap_diag "$(tail -20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi

# ---- upload ----
tap_check "upload.sh uploads an image and prints its sha256" script up 0 upload.sh "$GUESTS/idle.$PLATFORM"
sha=$(tail -n 1 "$tmp/up.out")
tap_check "the sha256 is the file's" test "$sha" = "$(sha256sum "$GUESTS/idle.$PLATFORM" | cut -d' ' -f1)"
echo "not an image" >"$tmp/junk.kvm"
tap_check "an upload shoald refuses: exit 1" script up-bad 1 upload.sh "$tmp/junk.kvm"
tap_check "a missing file: exit 2" script up-none 2 upload.sh "$tmp/none.kvm"

# ---- a good first deploy ----
spec good.json "$GUESTS/idle.$PLATFORM" 500000
tap_check "a first deploy that meets its SLO: exit 0" script good 0 deploy.sh -t 60 -n web "$tmp/good.json"
tap_check "it says so, with the p99 it saw" says good "web meets its SLO: p99"
tap_check "the guest runs" test "$(field web state)" = running
first=$(field web deploy_id)

# ---- an update whose p99 stays over an impossible SLO ----
spec slow.json "$GUESTS/idle.$PLATFORM" 1 v2
tap_check "an update over an impossible SLO is rolled back: exit 1" script slow 1 deploy.sh -t 15 -n web "$tmp/slow.json"
tap_check "saying why" says slow "over its SLO of 1 us"
tap_check "and that the previous version runs again" says slow "web rolled back to the previous version"
tap_check "the old version runs: its spec is back" \
	sh -c "[ \"\$(\"$CTL\" show --json web | jq -c '[.state, .spec.slo_us, .spec.args]')\" = '[\"running\",500000,[]]' ]"
tap_check "the history records the rollback" \
	sh -c "\"$CTL\" show --json web | jq -e '.history[0].note == \"rollback\"' >/dev/null"

# ---- an update that crashes ----
spec crash.json "$GUESTS/crash.$PLATFORM" 500000 null
tap_check "an update that crashes is rolled back: exit 1" script crash 1 deploy.sh -t 30 -n web "$tmp/crash.json"
tap_check "saying it crashed" sh -c "grep -Eq 'web is (backoff|exited|failed)|web restarted' '$tmp/crash.out'"
tap_check "the old version runs again" \
	sh -c "[ \"\$(\"$CTL\" show --json web | jq -r '.state + \" \" + .image_sha256')\" = 'running $sha' ]"
tap_check "as a deploy of its own" test "$(field web deploy_id)" -gt "$first"

# ---- a first deploy that crashes: nothing to roll back to ----
tap_check "a first deploy that crashes: exit 5" script crash-new 5 deploy.sh -t 30 -n boom "$tmp/crash.json"
tap_check "saying there is nothing to roll back to" says crash-new "nothing to roll back to"

# ---- refused, bad input, unreachable: nothing changed ----
before=$("$CTL" show --json web | jq -c '[.deploy_id, .state]')
printf '{"image": "%s", "memory_mib": 3}\n' "$GUESTS/idle.$PLATFORM" >"$tmp/odd.json"
tap_check "a spec shoald refuses: exit 4" script odd 4 deploy.sh -n web "$tmp/odd.json"
tap_check "with shoald's reason" says odd "memory_mib"
echo '{"image": ' >"$tmp/broken.json"
tap_check "a spec that is not JSON: exit 2" script broken 2 deploy.sh -n web "$tmp/broken.json"
tap_check "a spec without a name and no -n: exit 2" script noname 2 deploy.sh "$tmp/good.json"
tap_check "a bad timeout: exit 2" script badt 2 deploy.sh -t soon -n web "$tmp/good.json"
tap_check "wait-slo.sh with no guest named: exit 2" script ws-usage 2 wait-slo.sh
tap_check "wait-slo.sh on a guest that does not exist: exit 4" script ws-none 4 wait-slo.sh nosuch
tap_check "nothing changed on web" test "$("$CTL" show --json web | jq -c '[.deploy_id, .state]')" = "$before"
SHOAL_SOCKET=$tmp/nothing.sock script gone 3 deploy.sh -n web "$tmp/good.json"
tap_check "shoald out of reach: exit 3" test $? -eq 0

tap_check "nothing this test started is left running" shoald_stop_all
tap_done
