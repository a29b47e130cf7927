#!/bin/sh
# bench/xen-create, inside Dom0: the same idle.xen-pv guest created N times
# (shoal.n=N, default 10) by xl from an equivalent config, and by shoald
# through its API with each of its domain makers (xen-create = libxl, and
# direct: libxenctrl and libxenguest with one xenstore transaction), in
# alternating rounds of the same boot.  shoald: the deploy request until
# it answers "running", and until the guest's first probe is answered;
# xl: `xl create` until it returns, and until the guest's probe-port key
# is in xenstore.  Medians, and shoald's over xl's (the goal is 0.5 or
# less); figures, never pass/fail.
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
kill9_shoald

: >/tmp/xl.ret
: >/tmp/xl.key
errs=
# sd_round MAKER I: one deploy by a shoald whose xen-create is MAKER.
sd_round() {
	XEN_CREATE=$1
	start_shoald || { errs="$errs $1:$2(shoald did not start)"; return; }
	t=$(now_us)
	if ctl --json deploy --name "sd$1$2" --image "$sha" --memory $MEM --class latency; then
		[ "$(jget /tmp/ctl.out state)" = running ] || wait_for 30 is_running "sd$1$2"
		ms_since "$t" >>"/tmp/sd.$1.run"
		# The same deploy as shoald timed it: request in to "running" out.
		grep -E 'api: POST /v1/guests(\?[^ ]*)? answered in' "$LOGDIR/shoald.log" | tail -n 1 |
			sed 's/.* in \([0-9.]*\) ms$/\1/' >>"/tmp/sd.$1.server"
		if poll_for 30 sh -c "shoalctl --socket $SOCK --timeout 10 --json latency sd$1$2 | jsonq total.samples | grep -qv '^0\$'"; then
			ms_since "$t" >>"/tmp/sd.$1.probe"
		else
			errs="$errs sd$1$2(no probe answered)"
		fi
	else
		errs="$errs sd$1$2($(cat /tmp/ctl.err))"
	fi
	tf=$(now_us)
	ctl host
	ms_since "$tf" >>/tmp/ctl.floor
	ctl rm "sd$1$2"
	wait_for 20 sh -c "! xl list | grep -q '^sd$1$2 ' && ! shoalctl --socket $SOCK --timeout 10 show sd$1$2"
	kill9_shoald
}
for m in libxl direct; do : >"/tmp/sd.$m.run"; : >"/tmp/sd.$m.probe"; : >"/tmp/sd.$m.server"; done
: >/tmp/ctl.floor
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
	sd_round libxl "$i"
	sd_round direct "$i"
done

xr=$(median </tmp/xl.ret)
xk=$(median </tmp/xl.key)
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "nan" }'; }
figure "xl_create_returns_ms median=$xr n=$(wc -l </tmp/xl.ret) all=$(tr '\n' ' ' </tmp/xl.ret)"
figure "xl_create_probe_port_ms median=$xk n=$(wc -l </tmp/xl.key)"
lines=
for m in libxl direct; do
	sr=$(median <"/tmp/sd.$m.run")
	sp=$(median <"/tmp/sd.$m.probe")
	figure "shoald_${m}_deploy_running_ms median=$sr n=$(wc -l <"/tmp/sd.$m.run") all=$(tr '\n' ' ' <"/tmp/sd.$m.run")"
	figure "shoald_${m}_deploy_first_probe_ms median=$sp n=$(wc -l <"/tmp/sd.$m.probe")"
	figure "ratio_${m}_running_vs_xl_returns $(ratio "$sr" "$xr") (goal <= 0.5)"
	figure "ratio_${m}_first_probe_vs_probe_port $(ratio "$sp" "$xk") (goal <= 0.5)"
	ss=$(median <"/tmp/sd.$m.server")
	figure "shoald_${m}_server_request_to_running_ms median=$ss n=$(wc -l <"/tmp/sd.$m.server")"
	figure "ratio_${m}_server_vs_xl_returns $(ratio "$ss" "$xr") (goal <= 0.5)"
	lines="$lines
  shoald ($m) deploy -> running:             median $sr ms   baseline xl create -> xl returns:     $xr ms   ratio $(ratio "$sr" "$xr")
  shoald ($m) deploy -> first probe answered: median $sp ms   baseline xl create -> probe-port key: $xk ms   ratio $(ratio "$sp" "$xk")
  shoald ($m) in shoald, request -> running: median $ss ms   baseline xl create -> xl returns:     $xr ms   ratio $(ratio "$ss" "$xr")"
done
cf=$(median </tmp/ctl.floor)
figure "shoalctl_host_ms median=$cf n=$(wc -l </tmp/ctl.floor) (the client's own cost: a shoalctl that asks for nothing)"
lines="$lines
  shoalctl host (the client alone, exec to answer): median $cf ms"
diag "xen-create: $N rounds of idle.xen-pv, $MEM MiB: xl, shoald with xen-create = libxl, and = direct, alternating$lines" \
	"  (goal: ratio <= 0.5; emulated Xen under QEMU TCG: ratios only, never absolute speed)"
if [ -z "$errs" ]; then ok "xen-create benchmark: $N rounds"; else
	not_ok "xen-create benchmark: $N rounds; failed:$errs"
fi
