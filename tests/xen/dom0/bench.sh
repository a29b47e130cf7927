#!/bin/sh
# bench/xen-create, inside Dom0: the same idle.xen-pv guest created N times
# (shoal.n=N, default 10) by shoald through its API and by xl from an
# equivalent config, in alternating rounds of the same boot.  shoald: the
# deploy request until it answers "running", and until the guest's first
# probe is answered; xl: `xl create` until it returns, and until the
# guest's probe-port key is in xenstore.  Medians, and shoald's over xl's
# (the goal is 0.5 or less); figures, never pass/fail.
. /shoal/tests/lib.sh
N=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.n=//p')
N=${N:-10}
IMG=$GUESTS/idle.xen-pv
MEM=16

[ -f "$IMG" ] || { skip "xen-create benchmark" "no unikernel-rt/examples/idle.xen-pv in this build"; exit 0; }
have_xen_backend || { skip "xen-create benchmark" "shoald is built without the Xen backend"; exit 0; }
start_shoald || { not_ok "xen-create benchmark: shoald did not start"; exit 1; }
ctl upload "$IMG" || { not_ok "xen-create benchmark: upload: $(cat /tmp/ctl.err)"; exit 1; }
sha=$(cat /tmp/ctl.out)

: >/tmp/xl.ret
: >/tmp/xl.key
: >/tmp/sd.run
: >/tmp/sd.probe
errs=
for i in $(seq 1 "$N"); do
	cat >/tmp/xlb.cfg <<CFG
name = "xlb$i"
type = "pv"
kernel = "$IMG"
memory = $MEM
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
CFG
	t=$(now_us)
	if xl create -q /tmp/xlb.cfg >/tmp/xl.out 2>&1; then
		ms_since "$t" >>/tmp/xl.ret
		d=$(xl domid "xlb$i")
		if poll_for 30 xenstore-read "/local/domain/$d/data/shoal/probe-port"; then
			ms_since "$t" >>/tmp/xl.key
		else
			errs="$errs xlb$i(no probe-port key)"
		fi
	else
		errs="$errs xlb$i($(head -c 200 /tmp/xl.out))"
	fi
	xl destroy "xlb$i" 2>/dev/null

	t=$(now_us)
	if ctl --json deploy --name "sdb$i" --image "$sha" --memory $MEM --class latency; then
		[ "$(jget /tmp/ctl.out state)" = running ] || wait_for 30 is_running "sdb$i"
		ms_since "$t" >>/tmp/sd.run
		if poll_for 30 sh -c "shoalctl --socket $SOCK --timeout 10 --json latency sdb$i | jsonq total.samples | grep -qv '^0\$'"; then
			ms_since "$t" >>/tmp/sd.probe
		else
			errs="$errs sdb$i(no probe answered)"
		fi
	else
		errs="$errs sdb$i($(cat /tmp/ctl.err))"
	fi
	ctl rm "sdb$i"
done
kill9_shoald

xr=$(median </tmp/xl.ret)
xk=$(median </tmp/xl.key)
sr=$(median </tmp/sd.run)
sp=$(median </tmp/sd.probe)
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "nan" }'; }
figure "xl_create_returns_ms median=$xr n=$(wc -l </tmp/xl.ret) all=$(tr '\n' ' ' </tmp/xl.ret)"
figure "xl_create_probe_port_ms median=$xk n=$(wc -l </tmp/xl.key)"
figure "shoald_deploy_running_ms median=$sr n=$(wc -l </tmp/sd.run) all=$(tr '\n' ' ' </tmp/sd.run)"
figure "shoald_deploy_first_probe_ms median=$sp n=$(wc -l </tmp/sd.probe)"
figure "ratio_running_vs_xl_returns $(ratio "$sr" "$xr") (goal <= 0.5)"
figure "ratio_first_probe_vs_probe_port $(ratio "$sp" "$xk") (goal <= 0.5)"
diag "xen-create: $N rounds of idle.xen-pv, $MEM MiB, shoald and xl alternating" \
	"  shoald deploy -> running:             median $sr ms   baseline xl create -> xl returns:        $xr ms   ratio $(ratio "$sr" "$xr")" \
	"  shoald deploy -> first probe answered: median $sp ms   baseline xl create -> probe-port key:    $xk ms   ratio $(ratio "$sp" "$xk")" \
	"  (goal: ratio <= 0.5; emulated Xen under QEMU TCG: ratios only, never absolute speed)"
if [ -z "$errs" ]; then ok "xen-create benchmark: $N rounds"; else
	not_ok "xen-create benchmark: $N rounds; failed:$errs"
fi
