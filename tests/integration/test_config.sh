#!/bin/sh
# shoald's configuration, file and command line, checked with -n: a sound
# one is accepted and described; each bad one is refused (exit 1) with a
# line that names the option or the file's line, and starts nothing.
. "$top_srcdir/tests/tap.sh"
SHOALD=$top_builddir/daemon/shoald
tmp=$(mktemp -d /tmp/shoal-config-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# refused DESCRIPTION EXPECTED FILE-TEXT ARG...: -n exits 1 saying EXPECTED.
refused() {
	desc=$1 want=$2
	printf '%b' "$3" >"$tmp/c.conf"
	shift 3
	"$SHOALD" --config="$tmp/c.conf" "$@" -n >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "$want" "$tmp/out"; then
		tap_ok "$desc: $(sed 's/^[^ ]* shoald fatal: //' "$tmp/out" | head -n 1)"
	else
		tap_not_ok "$desc (exit $rc, wanted 1 and \"$want\")"
		tap_diag "$(cat "$tmp/out")"
	fi
}

printf 'pool-size = 2\n# a comment\n\nprobe-hz = 20\nxen-create = libxl\n' >"$tmp/good.conf"
if "$SHOALD" --config="$tmp/good.conf" --state-dir="$tmp/s" --run-dir="$tmp/r" -n >"$tmp/out" 2>&1 &&
	grep -q 'configuration OK' "$tmp/out"; then
	tap_ok "a sound configuration is accepted: $(cat "$tmp/out")"
else
	tap_not_ok "a sound configuration is accepted"
	tap_diag "$(cat "$tmp/out")"
fi
[ ! -e "$tmp/s" ] && [ ! -e "$tmp/r" ]
tap_check "-n makes no state or run directory" test $? -eq 0

refused "an unknown key in the file" 'c.conf:2: unknown option "bogus-key"' 'pool-size = 2\nbogus-key = 1\n'
refused "a line that is not name = value" 'c.conf:1: expected "name = value"' 'pool-size 2\n'
refused "a number that is not one" 'pool-size must be a whole number from 0 to 256, not "x"' '' --pool-size=x
refused "a number out of range" 'pool-size must be a whole number from 0 to 256, not "257"' '' --pool-size=257
refused "a negative number" 'probe-hz must be a whole number' 'probe-hz = -5\n'
refused "a probe-hz-min of 0 (a guest would never be probed)" 'probe-hz-min must be a whole number from 1 to 100, not "0"' '' --probe-hz-min=0
refused "a yes/no that is neither" 'placement must be yes or no, not "maybe"' '' --placement=maybe
refused "a log level that is none" 'log-level must be warn, info or debug, not "loud"' 'log-level = loud\n'
refused "an unknown domain maker" 'xen-create must be libxl or direct, not "bogus"' '' --xen-create=bogus
refused "a backend not built in" 'backend nosuch is not built into this shoald' '' --backend=nosuch
refused "a relative state directory" 'state-dir and run-dir must be absolute paths' '' --state-dir=var/lib
refused "an odd warm-pool size" 'pool-mem-mib and guest-mem-max-mib must be even' '' --pool-mem-mib=17
refused "a string longer than its field" 'xen-create is longer than 15 characters' '' --xen-create=directdirectdirect
refused "a tender uid range that is not FIRST-LAST" 'tender-uid-range: want FIRST-LAST, two whole numbers, not "1000"' '' --tender-uid-range=1000
refused "a tender uid range from root" 'tender-uid-range: want FIRST-LAST with 0 < FIRST <= LAST' 'tender-uid-range = 0-100\n'
refused "a tender uid range backwards" 'tender-uid-range: want FIRST-LAST with 0 < FIRST <= LAST' '' --tender-uid-range=2000-1000
refused "a tender uid range that holds nobody" 'holds 65534 (nobody' '' --tender-uid-range=60000-70000
refused "a tender uid range past the largest uid" 'tender-uid-range: want FIRST-LAST with 0 < FIRST <= LAST < 4294967295' '' --tender-uid-range=100000-4294967295
refused "a tender uid range too wide" 'more than the 1048576 tenders may use' '' --tender-uid-range=100000-2000000
refused "a tender uid range with a sign" 'tender-uid-range: want FIRST-LAST, two whole numbers' '' --tender-uid-range=-5-10
refused "an unknown command-line option" 'unknown or incomplete option --bogus' '' --bogus
"$SHOALD" --config="$tmp/nonexistent" -n >"$tmp/out" 2>&1
rc=$?
tap_check "a config file that is not there is refused ($(sed 's/^[^ ]* shoald fatal: //' "$tmp/out"))" \
	sh -c "[ $rc -eq 1 ] && grep -q 'cannot read config file' '$tmp/out'"
tap_done
