#!/bin/sh
# The soak, short (bench/soak.sh is the 10-minute run): 20 echo guests,
# each with a NIC and a read-only disk, run while for 40 s a churn loop
# deploys a guest with a NIC, that disk and a writable disk of its own,
# waits until it runs, stops it and removes it (tests/lib/soak.py, samples
# every 5 s).  When the churn ends, everything the host holds for guests
# is back where it was: taps, loop devices, tenders, tender cgroups, disk
# copies, the guests' rows in the state store; shoald's descriptors are
# no more than before it (the warm pool's refills aside), and its RSS grew by less than
# 8 KiB a cycle (a guest's record is 16 KiB and more: one leaked a cycle
# would show; SQLite's page cache, up to 2 MiB, follows the event log's
# growth).
. "$top_srcdir/tests/tap.sh"
tap_require_nic_guests
[ "$(id -u)" = 0 ] || tap_skip_all "network namespaces need root"
command -v mkfs.fat >/dev/null && command -v mcopy >/dev/null ||
	tap_skip_all "mkfs.fat and mcopy (dosfstools, mtools) are not installed"
top=$top_srcdir
build=$top_builddir
. "$top_srcdir/tests/lib/soakrun.sh"
if soak_run 40 20 5 "$tmp/summary.json" >"$tmp/soak.out" 2>&1; then
	tap_ok "20 guests with devices run while guests are deployed, run, stopped and removed for 40 s"
else
	tap_not_ok "20 guests with devices run while guests are deployed, run, stopped and removed for 40 s"
	sed 's/^/# /' "$tmp/soak.out"
	tap_done
	exit 0
fi
sed -n 's/^\(# [0-9]* cycles.*\)/\1/p; /^|/s/^/# /p' "$tmp/soak.out"
# judge WHAT: one check of the summary (python3 over $tmp/summary.json; first, last, s1: the
# sample after the first 5 s, c: cycles between s1 and last).
judge() {
	python3 - "$tmp/summary.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
first, last, s = d["first"], d["last"], d["samples"]
s1 = s[1] if len(s) > 2 else first
c = last["cycles"] - s1["cycles"]
ok, why = eval(sys.argv[2])
print(why)
sys.exit(0 if ok else 1)
PY
}
check() { # NAME EXPR: EXPR gives (ok, detail)
	if out=$(judge "$2"); then tap_ok "$1 ($out)"; else tap_not_ok "$1 ($out)"; fi
}
check "at least 50 cycles, none failed" \
	'(d["cycles"] >= 50 and d["failures"] == 0, "%d cycles, %d failed: %s" % (d["cycles"], d["failures"], d["reasons"]))'
for k in taps tenders loops cgroups disk_copies db_guests; do
	check "$k: as many after the churn as before it" \
		"(first['$k'] == last['$k'], '%s before, %s after' % (first['$k'], last['$k']))"
done
check "the background guests' taps are all there" '(last["taps"] == 20, "%d taps" % last["taps"])'
# The warm pool's refills come and go beside the churn (a pool tender's
# socket and pipes: 159 or 163 from one sample to the next here); one
# descriptor left behind a cycle would be thousands.
check "shoald's descriptors flat (within the warm pool's comings and goings)" \
	'(last["fds"] <= max(first["fds"], s1["fds"]) + 8, "%d before the churn, %d after its first 5 s, %d at the end, %s between" % (first["fds"], s1["fds"], last["fds"], sorted(set(x["fds"] for x in s))))'
# In the sanitized build (Makefile.am sets ASAN_OPTIONS) AddressSanitizer
# keeps freed memory in its quarantine, up to 256 MiB, so that RSS grows
# with every free whatever shoald does; LeakSanitizer judges leaks there.
case ${ASAN_OPTIONS:-} in
*exitcode=223*)
	tap_skip "shoald's RSS grew by less than 8 KiB a cycle" \
		"a sanitized shoald: AddressSanitizer's quarantine holds what is freed"
	;;
*)
	check "shoald's RSS grew by less than 8 KiB a cycle" \
		'(c > 0 and (last["rss_kib"] - s1["rss_kib"]) < 8 * c, "%d KiB after the first 5 s, %d at the end, %d cycles between: %.2f KiB a cycle" % (s1["rss_kib"], last["rss_kib"], c, (last["rss_kib"] - s1["rss_kib"]) / max(c, 1)))'
	;;
esac
check "the state store grew with its event log alone (under 2 KiB an event)" \
	'((last["db_bytes"] - s1["db_bytes"]) < 2048 * max(1, last["db_events"] - s1["db_events"]), "%d bytes for %d events" % (last["db_bytes"] - s1["db_bytes"], last["db_events"] - s1["db_events"]))'
tap_done
