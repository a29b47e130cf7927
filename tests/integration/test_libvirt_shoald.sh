#!/bin/sh
# shoald --backend=libvirt on libvirt's test driver (test:///default, in
# shoald's own process; its domains run nothing): guests deployed as
# libvirt domains, pinned, paused and resumed, removed (no domain left);
# a name libvirt already has refused in libvirt's own words; probes not
# sent (no event channel) and the guest never taken for hung; a URI that
# is not Xen's or the test driver's refused at start.  What it cannot
# show (a domain destroyed from outside, adoption after a restart: the
# test driver's state lives and dies with shoald's process) is in
# tests/unit/test_libvirt, and on Xen in tests/xen.
. "$top_srcdir/tests/tap.sh"
grep -q '^#define HAVE_LIBVIRT 1' "$top_builddir/config.h" ||
	tap_skip_all "shoald was built without the libvirt backend (no libvirt-dev)"
IMG=$top_builddir/unikernel-rt/examples/idle.xen-pv
[ -f "$IMG" ] || tap_skip_all "the Xen PV guests were not built"
command -v python3 >/dev/null || tap_skip_all "python3 is not installed"

tmp=$(mktemp -d /tmp/shoal-libvirtd-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

stat_is() { # BACKEND-STAT VALUE
	v=$(api GET /v1/host | jq_ "backend_stats.$1")
	[ "$v" = "$2" ] && return 0
	tap_diag "backend_stats.$1 is \"$v\", not \"$2\""
	return 1
}

# A connection that is neither Xen's nor the test driver's: refused at start, saying so.
"$SHOALD" --config=/dev/null --state-dir="$tmp/bad" --run-dir="$tmp/bad" --backend=libvirt \
	--libvirt-uri=qemu:///system >"$tmp/bad.log" 2>&1
tap_check "a qemu:// connection is refused at start" test $? -ne 0
tap_check "... saying it is not libvirt's Xen driver" \
	grep -q "libvirt-uri qemu:///system is not libvirt's Xen driver" "$tmp/bad.log"

# The default, libvirt's Xen driver, on a host that is no Xen Dom0: refused, in libvirt's words.
if [ -e /proc/xen/capabilities ]; then
	tap_skip "xen:///system is refused where there is no Xen" "this host is a Xen Dom0"
else
	"$SHOALD" --config=/dev/null --state-dir="$tmp/bad" --run-dir="$tmp/bad" --backend=libvirt \
		>"$tmp/bad.log" 2>&1
	tap_check "xen:///system (the default) is refused where there is no Xen, in libvirt's words" \
		grep -q "libvirt backend: cannot connect to xen:///system: " "$tmp/bad.log"
	tap_diag "$(tail -n 1 "$tmp/bad.log")"
fi

tap_check "shoald starts with backend = libvirt on test:///default" \
	shoald_start --backend=libvirt --libvirt-uri=test:///default --hung-misses=3 \
	--probe-timeout-ms=50
tap_check "its log says it runs in test mode" grep -q "TEST MODE on test:///default" "$tmp/shoald.log"
tap_check "/v1/host says test mode" stat_is test_mode True
# The test driver starts with one domain of its own, "test".
tap_check "the test driver's own domain is there" stat_is libvirt_domains 1

tap_check "deploying idle as a libvirt domain" \
	run d1 0 deploy -n lv-1 -i "$IMG" -m 16 -a '</cmdline><x>' -a 'a&b' --restart always
tap_check "... it runs" state_is lv-1 running
tap_check "... shoald has one domain" stat_is domains 1
tap_check "... libvirt has two" stat_is libvirt_domains 2
tap_check "... and no call of libvirt's waits on the worker" stat_is calls_queued 0

# A name libvirt has for a domain not shoald's: libvirt's own words.
tap_check "deploying a guest named as the test driver's own domain is refused" \
	run d2 5 deploy -n test -i "$IMG" -m 16 --restart never
tap_check "... in libvirt's words" says d2 err "already exists"
tap_check "... and the other domain is left" stat_is libvirt_domains 2
run rmt 0 rm test

tap_check "pinning lv-1 to CPU 1 (virDomainPinVcpu)" run pin 0 pin lv-1 1
tap_check "... shoald reads it back from libvirt" says pin out "now on CPU 1"
tap_check "pausing lv-1 (virDomainSuspend)" run p 0 pause lv-1
tap_check "... paused" state_is lv-1 paused
tap_check "resuming it (virDomainResume)" run r 0 resume lv-1
tap_check "... running" state_is lv-1 running

# No event channel: no probe is sent, none missed, and the guest is not hung.
sleep 1
lat=$(api GET /v1/guests/lv-1/latency)
tap_check "no probe sent to a test domain" sh -c "[ \"\$(echo '$lat' | $(command -v python3) -c 'import json,sys; print(json.load(sys.stdin)[\"total\"][\"sent\"])')\" = 0 ]"
tap_check "... none missed, not hung" sh -c "echo '$lat' | $(command -v python3) -c 'import json,sys; j = json.load(sys.stdin); sys.exit(0 if j[\"total\"][\"misses\"] == 0 and not j[\"hung\"] else 1)'"
tap_check "... still running" state_is lv-1 running

tap_check "removing lv-1" run rm 0 rm lv-1
for i in $(seq 50); do
	[ "$(api GET /v1/host | jq_ backend_stats.libvirt_domains)" = 1 ] && break
	sleep 0.1
done
tap_check "... leaves no domain of shoald's" stat_is domains 0
tap_check "... and only the test driver's own in libvirt" stat_is libvirt_domains 1
tap_check "shoald logged no libvirt error" sh -c "! grep -E 'libvirt: .*(cannot|failed)' '$tmp/shoald.log'"
tap_done
