#!/bin/sh
# The runtime's own checks, run inside a real guest (rtcheck prints TAP),
# plus the wall clock compared with the host's.
. "$top_srcdir/tests/tap.sh"
tap_require_kvm
before=$(date +%s)
out=$("$VMM" --mem 16 "$GUESTS/rtcheck.kvm")
st=$?
after=$(date +%s)
echo "$out" | grep -E '^(not )?ok ' | sed 's/^\(not \)\{0,1\}ok [0-9]* - /&in the guest: /' |
	sed -E 's/^((not )?ok) [0-9]+ /\1 /'
n=$(echo "$out" | grep -cE '^(not )?ok ')
guest_wall=$(echo "$out" | sed -n 's/^# wall //p')
if [ "$st" -eq 0 ]; then echo "ok - rtcheck exits 0"; else echo "not ok - rtcheck exits 0 (status $st)"; fi
if [ "${guest_wall:-0}" -ge $((before - 1)) ] && [ "${guest_wall:-0}" -le $((after + 1)) ]; then
	echo "ok - the guest's wall clock agrees with the host's"
else
	echo "not ok - the guest's wall clock agrees with the host's (guest $guest_wall, host $before..$after)"
fi
echo "1..$((n + 2))"
