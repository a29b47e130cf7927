#!/bin/sh
# A tender's words are outside input to shoald: tests/integration/
# hostile-tender stands in for shoal-vmm and breaks the control protocol
# in each way its guest's name says (a message cut short or too long, a
# reason with no NUL, an exit status no tender uses, a version or type
# that does not exist, descriptors nobody asked for).  Each such guest
# ends with a reason (or is killed as untrustworthy), shoald goes on
# answering, and a calm neighbour on the same shoald answers its probes
# throughout with no miss.
. "$top_srcdir/tests/tap.sh"
tap_require_kvm

tmp=$(mktemp -d /tmp/shoal-hostile-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
JSONQ=$top_builddir/tests/integration/jsonq
IMAGE=$top_builddir/unikernel-rt/examples/idle.kvm

# shoald_start runs whatever is at $tmp/shoal-vmm.
cp "$top_builddir/tests/integration/hostile-tender" "$tmp/shoal-vmm"
field() { "$CTL" --socket "$SOCK" --json show "$1" 2>/dev/null | "$JSONQ" "$2"; }
lat() { "$CTL" --socket "$SOCK" --json latency "$1" 2>/dev/null | "$JSONQ" "$2"; }
wait_field() { # NAME FIELD VALUE: up to 10 s
	for i in $(seq 100); do
		[ "$(field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_ended() { # NAME: exited or failed, up to 10 s
	for i in $(seq 100); do
		case $(field "$1" state) in exited | failed) return 0 ;; esac
		sleep 0.1
	done
	return 1
}
deploy() {
	"$CTL" --socket "$SOCK" --timeout 20 deploy -n "$1" -i "$IMAGE" --restart never --no-upload --no-wait \
		>"$tmp/out" 2>&1 </dev/null
}

tap_check "shoald starts with the hostile tender as its tender" shoald_start --pool-size=0 --probe-hz=20
deploy calm
tap_check "the calm guest runs" wait_field calm state running

for name in started-short started-long exited-short error-short error-huge exited-nonul bad-version \
	unknown-type fd-flood; do
	deploy "$name"
	if wait_ended "$name"; then
		tap_ok "$name: the guest ends ($(field "$name" state): $(field "$name" last_exit.reason))"
	else
		tap_not_ok "$name: the guest ends (state $(field "$name" state))"
	fi
	tap_check "$name: shoald still answers" sh -c "'$CTL' --socket '$SOCK' --timeout 5 host >/dev/null"
done

grep -q 'malformed STARTED message' "$tmp/shoald.log" &&
	tap_ok "a STARTED of the wrong length is named in the log" ||
	tap_not_ok "a STARTED of the wrong length is named in the log"
grep -q 'malformed EXITED message' "$tmp/shoald.log" &&
	tap_ok "an EXITED cut short is named in the log" ||
	tap_not_ok "an EXITED cut short is named in the log"
grep -q 'malformed ERROR message' "$tmp/shoald.log" &&
	tap_ok "an ERROR cut short is named in the log" ||
	tap_not_ok "an ERROR cut short is named in the log"
grep -q 'malformed oversized message' "$tmp/shoald.log" &&
	tap_ok "a message larger than any the protocol has is named in the log" ||
	tap_not_ok "a message larger than any the protocol has is named in the log"
grep -q 'malformed wrong-version message' "$tmp/shoald.log" &&
	tap_ok "a version that does not exist is named in the log" ||
	tap_not_ok "a version that does not exist is named in the log"
reason=$(field exited-nonul last_exit.reason)
tap_check "a reason with no NUL is cut at its buffer (${#reason} characters)" test "${#reason}" -le 511
tap_check "the unknown type was ignored and the sound EXITED after it taken (exit 7)" \
	sh -c "'$CTL' --socket '$SOCK' --json show unknown-type | '$JSONQ' last_exit.reason | grep -q 'guest unknown-type ended'"

tap_check "the calm neighbour still runs" test "$(field calm state)" = running
sleep 1
answered=$(lat calm total.samples)
missed=$(lat calm total.misses)
tap_check "and answered its probes throughout (${answered:-?} answered, ${missed:-?} missed)" \
	sh -c "[ '${answered:-0}' -gt 10 ] && [ '${missed:-1}' -eq 0 ]"
[ -n "$(grep -E 'segfault|Assertion|AddressSanitizer' "$tmp/shoald.log")" ] &&
	tap_not_ok "shoald's log has no crash" || tap_ok "shoald's log has no crash"
tap_done
