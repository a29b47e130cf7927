#!/bin/bash
# Boots real Xen under QEMU (TCG) with the Dom0 of tests/xen/mkdom0.sh,
# runs one test set inside Dom0 and reports it as TAP on the host: one test
# point for the boot, one per Dom0 test, one for the set's end.  Bounded:
# a boot that hangs or panics, or a set that overruns, is a failure with
# its reason, never a hang.  Keeps the serial log (Xen, the Dom0 kernel and
# Dom0's console), xl dmesg, shoald's log and the guests' consoles under
# OUT/SET/ and prints their paths and a tail when something failed.
#   tests/xen/run.sh [smoke|devices|fronts|long|bench|scale|libvirt] [-- DOM0-ARG...]
#     (devices: only the smoke set's steps of shoald's device back-ends;
#      fronts: only those of the runtime's device front-ends;
#      scale: creates as domains pile up, and a burst's cost to running guests;
#      libvirt: shoald with backend = libvirt on libvirtd's Xen driver)
#     DOM0-ARG: shoal.KEY=VALUE, read by the set (e.g. shoal.n=20)
#   env: SHOAL_BUILD, SHOAL_XEN_CACHE, SHOAL_XEN_OUT, SHOAL_XEN_TIMEOUT (the set's budget in s),
#        SHOAL_XEN_BENCH_LIBVIRT=1 (bench: libvirt's rounds too),
#        SHOAL_XEN_BOOT_TIMEOUT (QEMU start to Dom0 ready, s), SHOAL_XEN_CPUS,
#        SHOAL_XEN_CPU_MODEL (QEMU -cpu), SHOAL_XEN_TCG_THREAD (multi, the default, or single)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
out=${SHOAL_XEN_OUT:-$build/tests/xen}
cache=${SHOAL_XEN_CACHE:-$build/tests/xen/cache}
set_name=${1:-smoke}
shift || true
[ "${1:-}" = -- ] && shift
dom0_args="$*"
case $set_name in
smoke) budget_def=480 ;;
devices) budget_def=300 ;;
fronts) budget_def=240 ;;
long) budget_def=1500 ;;
bench) budget_def=900 ;;
scale) budget_def=1800 ;;
libvirt) budget_def=540 ;;
*)
	echo "tests/xen/run.sh: no test set \"$set_name\" (smoke, devices, fronts, long, bench, scale, libvirt)" >&2
	exit 2
	;;
esac
budget=${SHOAL_XEN_TIMEOUT:-$budget_def}
boot_budget=${SHOAL_XEN_BOOT_TIMEOUT:-180}
case "$budget$boot_budget" in *[!0-9]*)
	echo "tests/xen/run.sh: SHOAL_XEN_TIMEOUT and SHOAL_XEN_BOOT_TIMEOUT are whole seconds" >&2
	exit 2
	;;
esac
case $dom0_args in *,*)
	echo "tests/xen/run.sh: Dom0 arguments may not hold a comma (QEMU splits modules on it)" >&2
	exit 2
	;;
esac

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# The host's tools; scripts/test.sh installs them (tests/xen/deps.sh).
command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64 (tests/xen/deps.sh installs it)"
for t in xl xenstored xenconsoled xen-init-dom0; do
	[ -x "/usr/lib/xen-4.17/bin/$t" ] || skip_all "no /usr/lib/xen-4.17/bin/$t (tests/xen/deps.sh installs xen-utils-4.17)"
done
command -v cpio >/dev/null || skip_all "no cpio (tests/xen/deps.sh installs it)"
if ! "$top/tests/xen/deps.sh" >&2; then
	echo "Bail out! tests/xen/deps.sh failed"
	exit 1
fi
if ! "$top/tests/xen/mkdom0.sh" >&2; then
	echo "Bail out! the Dom0 initramfs could not be built (tests/xen/mkdom0.sh)"
	exit 1
fi
. "$cache/payload.env"

dir=$out/$set_name
rm -rf "$dir"
mkdir -p "$dir/art"
log=$dir/serial.log
fifo=$dir/serial.fifo
fifo_in=$dir/serial.in

# The host CPU time (clock ticks) of QEMU under timeout(1), pid $1.
qemu_ticks() {
	local c t=0 v
	for c in $(pgrep -P "$1"); do
		v=$(sed 's/.*) //' "/proc/$c/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		t=$((t + ${v:-0}))
	done
	echo $t
}

# At a freeze, what Xen holds: the serial line's input switched to Xen
# (CTRL-a three times) and its debug keys sent: the scheduler's run
# queues, the timer queues, the time, the interrupts, each CPU's registers
# and every domain's vCPUs and event channels.  A serial interrupt wakes
# CPU 0; whether the rest wake too is on the console after it.
xen_keys() {
	local k
	printf '\001\001\001' >&7
	sleep 2
	for k in r a t i d q e; do
		printf '%s' "$k" >&7
		sleep 3
	done
	sleep 20
}

# One boot of Xen and the set, its console in $log; $reason says why it
# ended early, $frozen that it was the freeze below.
run_once() {
mkfifo "$fifo"
# The serial line's input: held open here, so that Xen's debug keys can be
# sent when the machine freezes (below).
rm -f "$fifo_in"
mkfifo "$fifo_in"
exec 7<>"$fifo_in"

# Every console line gets the host's seconds since QEMU started.
t0=${EPOCHREALTIME/./}
(
	while IFS= read -r l || [ -n "$l" ]; do
		rel=$((${EPOCHREALTIME/./} - t0))
		printf '[%4d.%03d] %s\n' $((rel / 1000000)) $((rel % 1000000 / 1000)) "${l%$'\r'}"
	done <"$fifo" >"$log"
) &
stamper=$!

hard=$((boot_budget + budget + 90))
# -cpu: with SMAP the PV Dom0 faults at once; with RDTSCP PVH guests hang;
# with XSAVE, Dom0's programs die now and then (segfaults, heaps found
# corrupted, in libcrypto and glibc's string functions), more often the
# more Xen switches vCPUs (many guests, a batch cpupool): their SSE state
# does not survive Xen's XSAVE-based switch under TCG.  Without XSAVE Xen
# and Dom0 use FXSAVE, and AVX (which needs XSAVE) goes too.  20 guests
# with a batch pool: 7 crashes in a run with XSAVE, none without.
cpu_model=${SHOAL_XEN_CPU_MODEL:-max,-smap,-rdtscp,-xsave,-avx,-avx2,-fma,-f16c,-vaes,-vpclmulqdq}
# The libvirt set: libvirt's Xen driver decodes the host CPU from Xen's
# hw_caps into a named model of its CPU map and will not start without one;
# under "max" (AMD-like, no VME) Xen reports neither vme nor sep, which
# every model has.  An Intel model of QEMU's without XSAVE passes.  Its
# Dom0 also carries libvirtd (dom0-libvirt.cpio.gz, mkdom0.sh).
#
# The whole machine freezes now and then (every set, every CPU model):
# QEMU idle, every vCPU halted, nothing more on the console.  Xen's debug
# keys at such a freeze (xen_keys below) showed credit2 with both of
# Dom0's vCPUs runnable on its run queue (pending upcalls, credit at its
# floor) while both pCPUs ran idle, neither tickled, and no timer of
# Xen's that would reschedule: a wake-up that never comes.  It is Xen's
# scheduler under TCG, not shoald's; the set's second boot (below) is the
# way round it.
initrd=$out/dom0.cpio.gz
# bench with SHOAL_XEN_BENCH_LIBVIRT=1 too (libvirt's rounds beside the
# others; every maker then runs on that CPU model).
if [ "$set_name" = libvirt ] || { [ "$set_name" = bench ] && [ "${SHOAL_XEN_BENCH_LIBVIRT:-}" = 1 ]; }; then
	cpu_model=${SHOAL_XEN_CPU_MODEL:-Nehalem,-rdtscp}
	[ -f "$out/dom0-libvirt.cpio.gz" ] && initrd=$out/dom0-libvirt.cpio.gz
fi
timeout -s KILL "$hard" qemu-system-x86_64 -accel "tcg,thread=${SHOAL_XEN_TCG_THREAD:-multi}" -cpu "$cpu_model" \
	-m 3G -smp "${SHOAL_XEN_CPUS:-2}" -nodefaults -display none -no-reboot -monitor none -serial stdio \
	-kernel "$XEN_ELF" \
	-append "dom0_mem=1G,max:1G dom0_max_vcpus=${SHOAL_XEN_CPUS:-2} console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all console_timestamps=boot" \
	-initrd "$KERNEL console=hvc0 earlyprintk=xen loglevel=4 shoal.set=$set_name shoal.timeout=$budget $dom0_args,$initrd" \
	<"$fifo_in" >"$fifo" 2>"$dir/qemu.err" &
qemu=$!
trap 'kill "$qemu" 2>/dev/null' EXIT
trap 'exit 1' INT TERM

# Watch the console: a boot that does not reach Dom0, a panic, or a set
# that overruns ends the run with its reason.
reason=
frozen=
seen_ready=
seen_end=
start=$SECONDS
end_at=
quiet_since=$SECONDS
last_size=0
ticks_at=$SECONDS
ticks0=$(qemu_ticks "$qemu")
while kill -0 "$qemu" 2>/dev/null; do
	sleep 0.5
	el=$((SECONDS - start))
	# The freeze (see the CPU model above): no console line for FREEZE_S
	# and QEMU idle (under 2 % of a CPU) over the last 30 s of it.
	size=$(stat -c %s "$log" 2>/dev/null || echo 0)
	if [ "$size" != "$last_size" ]; then
		last_size=$size
		quiet_since=$SECONDS
		ticks_at=$SECONDS
		ticks0=$(qemu_ticks "$qemu")
	elif [ $((SECONDS - ticks_at)) -ge 30 ]; then
		ticks=$(qemu_ticks "$qemu")
		if [ -z "$seen_end" ] && [ $((SECONDS - quiet_since)) -ge "$FREEZE_S" ] &&
			[ $(((ticks - ticks0) * 100)) -lt $((2 * HZ * (SECONDS - ticks_at))) ]; then
			frozen=1
			reason="Xen froze under QEMU: no console line for $((SECONDS - quiet_since)) s, QEMU idle"
			xen_keys
			break
		fi
		ticks_at=$SECONDS
		ticks0=$ticks
	fi
	if [ -z "$seen_ready" ]; then
		grep -q '@xenq dom0-ready' "$log" && seen_ready=1
		if [ -z "$seen_ready" ] && [ $el -ge "$boot_budget" ]; then
			reason="Dom0 was not ready $boot_budget s after QEMU started"
			break
		fi
	fi
	p=$(sed '/@xenq art-begin/q' "$log" | grep -m 1 -E 'Kernel panic|Panic on CPU|FATAL TRAP|@xenq fatal')
	if [ -n "$p" ]; then
		sleep 3 # what follows a panic says why
		reason="crash on the console: ${p#*] }"
		break
	fi
	if [ -z "$seen_end" ] && grep -q '@xenq end' "$log"; then
		seen_end=1
		end_at=$el
	fi
	if [ -n "$seen_end" ] && [ $((el - end_at)) -ge 20 ]; then
		break # powered off, but QEMU lingers; all is on the console
	fi
	if [ $el -ge $((boot_budget + budget + 60)) ]; then
		reason="no end of the $set_name set after $el s"
		break
	fi
done
kill "$qemu" 2>/dev/null
wait "$qemu" 2>/dev/null
qrc=$?
wait "$stamper" 2>/dev/null
exec 7>&-
rm -f "$fifo" "$fifo_in"
trap - EXIT
if [ -z "$reason" ] && [ -z "$seen_end" ]; then
	if [ -s "$dir/qemu.err" ]; then
		reason="QEMU ended (status $qrc) before the set did: $(tail -n 3 "$dir/qemu.err" | tr '\n' ' ')"
	else
		reason="QEMU ended (status $qrc) before the set did"
	fi
fi
}

# A freeze of the whole machine under TCG (above) is Xen's, not the
# set's: the set runs once more from a new boot, and says so; a second
# freeze fails it.
HZ=$(getconf CLK_TCK)
FREEZE_S=${SHOAL_XEN_FREEZE_S:-150}
run_once
froze_first=
if [ -n "$frozen" ]; then
	froze_first=$reason
	mv "$log" "$dir/serial-frozen.log"
	rm -rf "$dir/art"
	mkdir -p "$dir/art"
	run_once
fi

# Dom0's lines: TAP, diagnostics, figures and artefacts.
awk -v dir="$dir" '
	{ line = $0; gsub(/\r/, "", line); i = index(line, "@xenq "); }
	art != "" {
		if (i && substr(line, i + 6) == "art-end " art) { close(dir "/art/" art); art = ""; next }
		sub(/^\[[ 0-9.]*\] /, "", line); print line > (dir "/art/" art); next
	}
	!i { next }
	{ host_s = substr(line, 2, index(line, "]") - 2) + 0; m = substr(line, i + 6) }
	m ~ /^art-begin / { art = substr(m, 11); gsub(/[^A-Za-z0-9._-]/, "_", art); next }
	m ~ /^dom0-ready / { printf "ready %s %s\n", host_s, m > (dir "/events"); next }
	m ~ /^set-done / { printf "done %s %s\n", host_s, m > (dir "/events"); next }
	m ~ /^end$/ { next }
	m ~ /^fatal / { printf "fatal %s %s\n", host_s, substr(m, 7) > (dir "/events"); next }
	m ~ /^tap / { print substr(m, 5) > (dir "/tap"); next }
	m ~ /^diag / { print "#  " substr(m, 6) > (dir "/tap"); next }
	m ~ /^figure / { print substr(m, 8) > (dir "/figures"); print "# figure: " substr(m, 8) > (dir "/tap"); next }
' "$log"

fail=0
ready=$(sed -n 's/^ready //p' "$dir/events" 2>/dev/null)
if [ -n "$ready" ]; then
	boot_s=${ready%% *}
	ok "Xen and Dom0 boot under QEMU (Dom0 ready ${boot_s} s after QEMU started)"
	echo "# Dom0 boot: ${boot_s} s host wall clock, QEMU start to Dom0 ready;" \
		"Dom0's own uptime then $(echo "$ready" | sed -n 's/.*uptime=\([0-9.]*\).*/\1/p') s"
	echo "dom0_boot_s $boot_s s" >>"$dir/figures"
	[ -n "$froze_first" ] &&
		echo "# the first boot froze ($froze_first; its console: $dir/serial-frozen.log); this is the second"
else
	not_ok "Xen and Dom0 boot under QEMU: ${reason:-no Dom0 ready line}"
	fail=1
fi
if [ -f "$dir/tap" ]; then
	while IFS= read -r l; do
		case $l in
		"ok - "*) ok "${l#ok - }" ;;
		"not ok - "*)
			not_ok "${l#not ok - }"
			fail=1
			;;
		*) echo "$l" ;;
		esac
	done <"$dir/tap"
fi
if [ -n "$ready" ]; then
	done_line=$(sed -n 's/^done //p' "$dir/events" 2>/dev/null)
	if [ -z "$reason" ] && echo "$done_line" | grep -q 'rc=0'; then
		ok "the $set_name set ran to its end in Dom0"
	elif [ -n "$reason" ]; then
		not_ok "the $set_name set ran to its end in Dom0: $reason"
		fail=1
	elif [ -n "$done_line" ]; then
		not_ok "the $set_name set ran to its end in Dom0: ${done_line#* }"
		fail=1
	else
		not_ok "the $set_name set ran to its end in Dom0: no end line"
		fail=1
	fi
fi
echo "1..$n"

if [ $fail -ne 0 ]; then
	echo "# artefacts in $dir:"
	echo "#   $log (Xen, the Dom0 kernel and Dom0's console)"
	for f in "$dir"/art/*; do [ -f "$f" ] && echo "#   $f"; done
	echo "# --- the last 40 lines of the serial log ---"
	tail -n 40 "$log" | sed 's/^/# /'
	if [ -f "$dir/art/shoal-shoald.log" ]; then
		echo "# --- the last 30 lines of shoald's log ---"
		tail -n 30 "$dir/art/shoal-shoald.log" | sed 's/^/# /'
	fi
fi
exit 0
