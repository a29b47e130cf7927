#!/bin/sh
# bench/xen-create, inside Dom0: the same idle.xen-pv guest created N times
# (shoal.n=N, default 10) by xl from an equivalent config, and by shoald
# through its API with each of its domain makers (xen-create = libxl, and
# direct: libxenctrl and libxenguest with one xenstore transaction), in
# alternating rounds of the same boot.  shoald: the deploy request until
# it answers "running", and until the guest's first probe is answered;
# xl: `xl create` until it returns, and until the guest's probe-port key
# is in xenstore.  With libvirtd and its Xen driver in Dom0 (mkdom0.sh)
# and shoald built with its libvirt backend, a third maker: backend =
# libvirt, the domain defined and started by libvirtd.  Medians, and
# shoald's over xl's (the goal is 0.5 or less); figures, never pass/fail.  Then a site guest with its disks and
# NIC, from the command to its first page answered (below).
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
# The makers: xen-create = libxl and direct, and libvirt when it can run here.
makers="libxl direct"
if command -v libvirtd >/dev/null && ! shoald --config=/dev/null --backend=libvirt -n 2>&1 | grep -q 'not built into'; then
	mkdir -p /run/libvirt /var/log/libvirt/libxl /var/lib/libvirt/libxl
	LIBVIRT_LOG_OUTPUTS="3:file:$LOGDIR/libvirtd.log" libvirtd --daemon >>"$LOGDIR/libvirtd.log" 2>&1
	if wait_for 60 virsh -q -c xen:///system version; then
		makers="$makers libvirt"
	else
		diag "xen-create: libvirtd did not start; no libvirt rounds ($(tail -n 3 "$LOGDIR/libvirtd.log" | tr '\n' ' '))"
	fi
fi
# sd_round MAKER I: one deploy by a shoald whose xen-create is MAKER (or backend = libvirt).
sd_round() {
	if [ "$1" = libvirt ]; then
		XEN_CREATE=
		start_shoald --backend=libvirt --libvirt-uri=xen:///system
	else
		XEN_CREATE=$1
		start_shoald
	fi || { errs="$errs $1:$2(shoald did not start)"; return; }
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
for m in $makers; do : >"/tmp/sd.$m.run"; : >"/tmp/sd.$m.probe"; : >"/tmp/sd.$m.server"; done
: >/tmp/ctl.floor
for i in $(seq 1 "$N"); do
	xl_cfg "xlb$i" "$IMG" "$MEM" /tmp/xlb.cfg
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
	for m in $makers; do sd_round "$m" "$i"; done
done

xr=$(median </tmp/xl.ret)
xk=$(median </tmp/xl.key)
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "nan" }'; }
figure "xl_create_returns_ms median=$xr n=$(wc -l </tmp/xl.ret) all=$(tr '\n' ' ' </tmp/xl.ret)"
figure "xl_create_probe_port_ms median=$xk n=$(wc -l </tmp/xl.key)"
lines=
for m in $makers; do
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
diag "xen-create: $N rounds of idle.xen-pv, $MEM MiB: xl, shoald with xen-create = libxl, = direct$(case $makers in *libvirt*) echo ", and backend = libvirt" ;; esac), alternating$lines" \
	"  (goal: ratio <= 0.5; emulated Xen under QEMU TCG: ratios only, never absolute speed)"
if [ -z "$errs" ]; then ok "xen-create benchmark: $N rounds"; else
	not_ok "xen-create benchmark: $N rounds; failed:$errs"
fi

# --- a site guest: deploy -> first HTTP answer, and requests -------------
# site.xen-pv with both FAT images as read-only disks and a NIC on xenbr0,
# made SN times (shoal.sn=SN, default 3) by xl (create -p with the same
# vif and vbds, libxl's hotplug scripts; shoal's keys written while it is
# paused, then unpause) and by shoald with each domain maker, alternating:
# from the command until the page is answered (its console's ready line
# polled every 20 ms, then wget).  Then 20 requests for the page to the
# guest and to Dom0's own httpd (busybox, the same files), alternating.
SITE=$GUESTS/site.xen-pv
SN=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.sn=//p')
SN=${SN:-3}
CONS=/var/log/xen/console
if [ ! -f "$SITE" ] || [ ! -f "$IMAGES/site-a.img" ]; then
	skip "site benchmark" "no site.xen-pv or FAT images in this build"
	exit 0
fi
BRIDGE_ARG="--bridge=xenbr0 10.77.0.0/24"
XEN_CREATE=direct
start_shoald "$BRIDGE_ARG" || { not_ok "site benchmark: shoald did not start"; exit 1; }
ctl upload "$SITE" && site_sha=$(cat /tmp/ctl.out) &&
	ctl upload --disk "$IMAGES/site-a.img" && a_sha=$(cat /tmp/ctl.out) &&
	ctl upload --disk "$IMAGES/site-b.img" && b_sha=$(cat /tmp/ctl.out) ||
	{ not_ok "site benchmark: upload: $(cat /tmp/ctl.err)"; exit 1; }
kill9_shoald
rm -rf /tmp/www && mkdir -p /tmp/www && cp -r "$IMAGES/a/." /tmp/www/
busybox httpd -p 10.77.0.1:8080 -h /tmp/www || { not_ok "site benchmark: Dom0's httpd did not start"; exit 1; }

# answered NAME IP T: the page answered, after NAME's console said it was ready; the ms since T.
answered() {
	if poll_for 90 grep -q 'site: ready on' "$CONS/guest-$1.log" &&
		poll_for 20 sh -c "timeout 5 wget -q -O /tmp/page http://$2/index.html && cmp -s /tmp/page $IMAGES/a/index.html"; then
		ms_since "$3"
		return 0
	fi
	diag "site benchmark: $1 at $2 did not answer: $(tail -n 3 "$CONS/guest-$1.log" | tr '\n' '|')" \
		"$(timeout 5 wget -O /tmp/page "http://$2/index.html" 2>&1 | tail -n 3 | tr '\n' '|')" \
		"$(ip neigh 2>&1 | tr '\n' '|') $(ip addr show xenbr0 2>&1 | tr '\n' '|')" \
		"$(brctl show 2>&1 | tr '\n' '|') $(dmesg | tail -n 5 | tr '\n' '|')"
	return 1
}
# requests IP: 20 GETs of the page, alternating with Dom0's httpd; the ms of each.
requests() {
	j=0
	while [ $j -lt 20 ]; do
		t=$(now_us)
		timeout 10 wget -q -O /dev/null "http://$1/index.html" && ms_since "$t" >>/tmp/req.guest
		t=$(now_us)
		timeout 10 wget -q -O /dev/null "http://10.77.0.1:8080/index.html" && ms_since "$t" >>/tmp/req.dom0
		j=$((j + 1))
	done
}
: >/tmp/site.xl
: >/tmp/req.guest
: >/tmp/req.dom0
for m in libxl direct; do : >"/tmp/site.$m"; done
serrs=
for i in $(seq 1 "$SN"); do
	ip neigh flush dev xenbr0 2>/dev/null
	xip=10.77.0.$((200 + i))
	cat >/tmp/xls.cfg <<CFG
name = "xls$i"
type = "pv"
kernel = "$SITE"
memory = 64
vcpus = 1
vif = [ "bridge=xenbr0,mac=00:16:3e:5b:00:0$i" ]
disk = [ "format=raw,vdev=xvda,access=ro,target=$IMAGES/site-a.img",
         "format=raw,vdev=xvdb,access=ro,target=$IMAGES/site-b.img" ]
on_poweroff = "destroy"
on_crash = "destroy"
CFG
	rm -f "$CONS/guest-xls$i.log"
	t=$(now_us)
	if xl create -p -q /tmp/xls.cfg >/tmp/xl.out 2>&1 && d=$(xl domid "xls$i") &&
		xenstore-write "/local/domain/$d/device/vbd/51712/shoal-name" a \
			"/local/domain/$d/device/vbd/51728/shoal-name" b \
			"/local/domain/$d/device/vif/0/shoal-name" lan \
			"/local/domain/$d/device/vif/0/shoal-ipv4" "$xip/24" \
			"/local/domain/$d/device/vif/0/shoal-gateway" 10.77.0.1 &&
		xl unpause "xls$i" && answered "xls$i" "$xip" "$t" >>/tmp/site.xl; then
		requests "$xip"
	else
		serrs="$serrs xls$i($(head -c 200 /tmp/xl.out))"
	fi
	xl destroy "xls$i" 2>/dev/null
	for m in libxl direct; do
		ip neigh flush dev xenbr0 2>/dev/null
		XEN_CREATE=$m
		start_shoald "$BRIDGE_ARG" || { serrs="$serrs $m:$i(shoald did not start)"; continue; }
		n=s$m$i
		rm -f "$CONS/guest-$n.log"
		t=$(now_us)
		if ctl deploy --name "$n" --image "$site_sha" --memory 64 --net lan=xenbr0 \
			--disk a="$a_sha" --disk b="$b_sha" && ctl --json show "$n" &&
			sip=$(jget /tmp/ctl.out net.0.ipv4) && answered "$n" "${sip%/*}" "$t" >>"/tmp/site.$m"; then
			:
		else
			serrs="$serrs $n($(cat /tmp/ctl.err))"
		fi
		ctl rm "$n"
		wait_for 30 sh -c "! xl list | grep -q '^$n ' && ! shoalctl --socket $SOCK --timeout 10 show $n"
		kill9_shoald
	done
done
sx=$(median </tmp/site.xl)
rg=$(median </tmp/req.guest)
rd=$(median </tmp/req.dom0)
figure "site_xl_create_first_answer_ms median=$sx n=$(wc -l </tmp/site.xl) all=$(tr '\n' ' ' </tmp/site.xl)"
lines=
for m in libxl direct; do
	sm=$(median <"/tmp/site.$m")
	figure "site_shoald_${m}_deploy_first_answer_ms median=$sm n=$(wc -l <"/tmp/site.$m") all=$(tr '\n' ' ' <"/tmp/site.$m")"
	figure "ratio_site_${m}_first_answer_vs_xl $(ratio "$sm" "$sx")"
	lines="$lines
  shoald ($m) deploy -> first page answered: median $sm ms   baseline xl create -p, keys, unpause -> first page: $sx ms   ratio $(ratio "$sm" "$sx")"
done
figure "site_request_guest_ms median=$rg n=$(wc -l </tmp/req.guest)"
figure "site_request_dom0_httpd_ms median=$rd n=$(wc -l </tmp/req.dom0)"
figure "ratio_site_request_guest_vs_dom0_httpd $(ratio "$rg" "$rd")"
diag "site: $SN rounds of site.xen-pv (two FAT disks, a NIC on xenbr0), 64 MiB: xl, shoald with xen-create = libxl, and = direct, alternating$lines
  a GET of the page from Dom0 (wget's exec included): the guest median $rg ms   baseline Dom0's own busybox httpd: $rd ms   ratio $(ratio "$rg" "$rd")" \
	"  (emulated Xen under QEMU TCG: ratios only, never absolute speed)"
if [ -z "$serrs" ]; then ok "site benchmark: $SN rounds"; else
	not_ok "site benchmark: $SN rounds; failed:$serrs"
fi
