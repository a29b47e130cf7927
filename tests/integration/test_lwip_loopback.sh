#!/bin/sh
# lwIP inside a real guest on /dev/kvm: tcploop sends 1 MiB over TCP on
# 127.0.0.1 to its own server, which checks every byte, and a UDP datagram
# to its own echo server and back.  Then the check is shown to bite: a
# byte the client alters is caught and named, and a guest that runs out
# of time says so.  The transfer's time is printed (ring-0 guest code may
# be emulated, so the figure measures the emulator more than lwIP).
. "$top_srcdir/tests/tap.sh"
[ -f "$GUESTS/tcploop.kvm" ] ||
	tap_skip_all "lwIP was not built (no lwIP source tree when configure ran: scripts/lwip.sh fetches Debian's into the build directory, or configure --with-lwip=DIR)"
tap_require_kvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME EXPECTED_STATUS ARGS...: tcploop ARGS; says NAME TEXT: its output has TEXT.
run() {
	n=$1 w=$2
	shift 2
	tap_vmm "$n" "$w" --mem 16 "$GUESTS/tcploop.kvm" "$@"
}
says() { tap_said "$1" out "$2"; }

start=$(date +%s%N)
tap_check "tcploop (1 MiB over TCP, a UDP round trip, on 127.0.0.1) exits 0" run mib 0
end=$(date +%s%N)
tap_check "every byte of the 1 MiB arrived and was checked" \
	says mib "tcploop: tcp 1048576 bytes over 127.0.0.1 in"
tap_check "the UDP datagram came back and was checked" says mib "tcploop: udp 1200-byte datagram echoed and checked"
tap_check "lwIP's timers ran from the guest's loop" sh -c "grep -qE 'lwIP timers ran [1-9][0-9]* times' '$tmp/mib.out'"
tap_check "tcploop ends with its result line" says mib "tcploop: ok"
tap_check "nothing on stderr" test ! -s "$tmp/mib.err"
grep '^tcploop:' "$tmp/mib.out" | sed 's/^/# /'
tap_diag "the tender ran $(((end - start) / 1000000)) ms; ring-0 guest code may be emulated here, so the time is the emulator's more than lwIP's"

tap_check "a byte altered on the way is caught (exit 2)" run flip 2 bytes=20000 flip=12345
tap_check "the altered byte is named" says flip "tcploop: FAIL: server: byte 12345 is"
tap_check "a transfer that cannot end in time times out (exit 3)" run slow 3 bytes=4194304 timeout_s=1
tap_check "the timeout says how far it got" says slow "tcploop: FAIL: timed out after 1 s"
tap_check "checksums made and checked on lo too" run csum 0 bytes=20000 csum=1
tap_check "... and the 20000 bytes still check" says csum "tcploop: tcp 20000 bytes over 127.0.0.1 in"
tap_check "... with checksums on" says csum "checksums on)"
tap_check "a bad argument is refused (exit 4)" run bad 4 bytes=12x
tap_done
