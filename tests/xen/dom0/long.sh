#!/bin/sh
# The long set, inside Dom0 (on demand: tests/xen/run.sh long): shoald on
# Xen with 50 idle PV guests (shoal.n=N), placement of latency guests apart
# from a CPU-bound batch guest checked against what Xen says (vCPU hard
# affinity and cpupools), a hung guest stopped and restarted by shoald, and
# everything removed again; then 50 site guests (shoal.sites=S) on one
# bridge, each with a FAT disk and an address from the pool, each
# answering from Dom0, and removed leaving no vif, loop or domain.
. /shoal/tests/lib.sh
N=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.n=//p')
N=${N:-50}
IMG=$GUESTS/idle.xen-pv

steps="shoald starts with the Xen backend
$N idle guests deployed through the API run
xl list shows the $N guests
every guest's probes are answered
a batch guest is placed apart from the latency guests (xl vcpu-list, cpupools)
shoald's placement map agrees with Xen's vCPU affinity
a hung guest is stopped and restarted by shoald (a new domain)
removing every guest destroys its domain (xl list agrees)
site guests on one bridge each serve their page to Dom0
removing them leaves no domain, vif or loop device"
skip_rest() { # reason: one skip for the steps that cannot run
	skip "shoald on Xen ($(echo "$steps" | wc -l) tests: $(echo "$steps" | head -n 1), ...)" "$1"
	exit 0
}
have_xen_backend || skip_rest "shoald is built without the Xen backend"
for g in idle spin hang; do
	[ -f "$GUESTS/$g.xen-pv" ] || skip_rest "no unikernel-rt/examples/$g.xen-pv in this build"
done
step() { steps=$(echo "$steps" | sed 1d); }
bail() {
	echo "$steps" | while read -r s; do not_ok "$s (not run: $1)"; done
	kill9_shoald
	exit 1
}
# cpus LIST: a CPU list as xl prints it ("0-1,3", "all") one CPU a line.
cpus() {
	echo "$1" | awk -v n="$(xl info nr_cpus)" -F, '{
		for (i = 1; i <= NF; i++) {
			if ($i == "all") { for (c = 0; c < n; c++) print c; continue }
			split($i, r, "-"); hi = (r[2] == "") ? r[1] : r[2]
			for (c = r[1]; c <= hi; c++) print c
		} }' | sort -n | uniq
}
# where DOMAIN: the CPUs its vCPUs may run on (hard affinity within its cpupool).
where() {
	pool=$(xl list -c "$1" 2>/dev/null | awk 'NR == 2 {print $NF}')
	pcpus=$(xl cpupool-list -c 2>/dev/null | awk -v p="$pool" '$1 == p {print $2}')
	cpus "$(affinity "$1")" >/tmp/w.aff
	cpus "${pcpus:-all}" >/tmp/w.pool
	grep -xFf /tmp/w.pool /tmp/w.aff | tr '\n' ' '
}

if start_shoald; then ok "shoald starts with the Xen backend"; else
	not_ok "shoald starts with the Xen backend"
	diag "$(tail -n 20 "$LOGDIR/shoald.log")"
	step
	bail "shoald did not start"
fi
step

ctl upload "$IMG" || bail "shoalctl upload: $(cat /tmp/ctl.err)"
sha=$(cat /tmp/ctl.out)
bad=
: >/tmp/create.ms
for i in $(seq 1 "$N"); do
	t=$(now_us)
	if ctl --json deploy --name "idle$i" --image "$sha" --memory 8 --class latency; then
		ms_since "$t" >>/tmp/create.ms
	else
		bad="$bad idle$i(exit $?: $(cat /tmp/ctl.err))"
	fi
done
figure "shoald_deploy_to_running_ms median=$(median </tmp/create.ms) first=$(head -n 1 /tmp/create.ms)" \
	"last=$(tail -n 1 /tmp/create.ms) n=$(wc -l </tmp/create.ms)"
for i in $(seq 1 "$N"); do
	wait_for 30 is_running "idle$i" || bad="$bad idle$i(state $(guest_state "idle$i"))"
done
if [ -z "$bad" ]; then ok "$N idle guests deployed through the API run"; else
	not_ok "$N idle guests deployed through the API run:$bad"
fi
step

got=$(domains | grep -c '^idle')
if [ "$got" -eq "$N" ]; then ok "xl list shows the $N guests"; else
	not_ok "xl list shows the $N guests: it has $got"
fi
step

sleep 5
bad=
: >/tmp/p50
: >/tmp/p99
for i in $(seq 1 "$N"); do
	if ! wait_for 20 probed idle$i windows.10s.samples 5; then
		bad="$bad idle$i"
		continue
	fi
	jget /tmp/lat.json windows.10s.p50_us >>/tmp/p50
	jget /tmp/lat.json windows.10s.p99_us >>/tmp/p99
	[ "$(jget /tmp/lat.json hung)" = false ] || bad="$bad idle$i(hung)"
done
figure "probe_rtt_us_${N}_guests median_of_p50=$(median </tmp/p50) median_of_p99=$(median </tmp/p99)" \
	"worst_p99=$(sort -n /tmp/p99 | tail -n 1)"
if [ -z "$bad" ]; then ok "every guest's probes are answered"; else
	not_ok "every guest's probes are answered: not by$bad"
fi
step

diag "cpupools: $(xl cpupool-list -c | tr '\n' ';')"
if ctl --json deploy --name batch1 --image "$GUESTS/spin.xen-pv" --memory 8 --class batch; then
	sleep 3 # a control period or two
	b=$(where batch1)
	shared=
	for i in $(seq 1 "$N"); do
		for c in $(where "idle$i"); do
			case " $b" in *" $c "*) shared="$shared idle$i(CPU $c)" ;; esac
		done
	done
	if [ "$(xl info nr_cpus)" -lt 2 ]; then
		skip "a batch guest is placed apart from the latency guests (xl vcpu-list, cpupools)" "one CPU"
	elif [ -z "$shared" ]; then
		ok "a batch guest is placed apart from the latency guests (batch1 on CPUs $b)"
	else
		not_ok "a batch guest is placed apart from the latency guests: batch1 may run on $b, as may$shared"
		xl vcpu-list | while read -r l; do diag "$l"; done
	fi
else
	not_ok "a batch guest is placed apart from the latency guests: deploy of spin: $(cat /tmp/ctl.err)"
fi
step

bad=
ctl --json placement
jget /tmp/ctl.out guests >/tmp/pg.json
jsonq name </tmp/pg.json >/tmp/pg.names
jsonq cpu </tmp/pg.json >/tmp/pg.cpus
paste /tmp/pg.names /tmp/pg.cpus >/tmp/pg.map
for g in batch1 $(seq 1 "$N" | sed 's/^/idle/'); do
	c=$(awk -v g="$g" '$1 == g {print $2}' /tmp/pg.map)
	w=$(where "$g")
	case " $w" in *" $c "*) ;; *) bad="$bad $g(shoald CPU ${c:-none}, Xen $w)" ;; esac
done
if [ -z "$bad" ]; then ok "shoald's placement map agrees with Xen's vCPU affinity"; else
	not_ok "shoald's placement map agrees with Xen's vCPU affinity:$bad"
fi
step

ctl rm batch1
if ctl --json deploy --name hung1 --image "$GUESTS/hang.xen-pv" --memory 8 --arg 2 --restart on-failure; then
	d1=$(xl domid hung1)
	if wait_for 60 sh -c "shoalctl --socket $SOCK --timeout 10 --json show hung1 | jsonq restarts | grep -qv '^0\$'"; then
		wait_for 20 is_running hung1
		ctl --json show hung1
		reason=$(jget /tmp/ctl.out last_exit.reason)
		d2=$(xl domid hung1 2>/dev/null)
		if echo "$reason" | grep -q hung && [ -n "$d2" ] && [ "$d2" != "$d1" ]; then
			ok "a hung guest is stopped and restarted by shoald (domain $d1, then $d2: $reason)"
		else
			not_ok "a hung guest is stopped and restarted by shoald: domain $d1, then ${d2:-none}; last exit: $reason"
		fi
	else
		not_ok "a hung guest is stopped and restarted by shoald: no restart in 60 s ($(head -c 400 /tmp/ctl.out))"
	fi
	ctl rm hung1
else
	not_ok "a hung guest is stopped and restarted by shoald: deploy: $(cat /tmp/ctl.err)"
fi
step

bad=
for i in $(seq 1 "$N"); do
	ctl rm "idle$i" || bad="$bad idle$i(exit $?)"
done
wait_for 30 no_domains
left=$(domains)
if [ -z "$bad" ] && [ -z "$left" ]; then ok "removing every guest destroys its domain (xl list agrees)"; else
	not_ok "removing every guest destroys its domain:$bad; xl list still has: $(echo "$left" | tr '\n' ' ')"
fi
step
kill9_shoald

# Many sites on one bridge: each its own NIC on xenbr0 and the same
# read-only FAT image (a loop device each), its page fetched from Dom0.
S=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.sites=//p')
S=${S:-50}
if [ ! -f "$GUESTS/site.xen-pv" ] || [ ! -f "$IMAGES/site-a.img" ]; then
	skip "$S site guests on one bridge each serve their page to Dom0" "no site.xen-pv or FAT image in this build"
	skip "removing them leaves no domain, vif or loop device" "no site.xen-pv or FAT image in this build"
elif ! start_shoald "--bridge=xenbr0 10.77.0.0/24" --max-memory-mib=1800; then
	not_ok "$S site guests on one bridge: shoald did not start"
else
	t=$(now_us)
	bad=
	for i in $(seq 1 "$S"); do
		ctl deploy --name "web$i" --image "$GUESTS/site.xen-pv" --memory 32 --net lan=xenbr0 \
			--disk a="$IMAGES/site-a.img" || bad="$bad web$i($(head -c 80 /tmp/ctl.err))"
	done
	deployed_ms=$(ms_since "$t")
	served=0
	for i in $(seq 1 "$S"); do
		ctl --json show "web$i" || continue
		ip=$(jget /tmp/ctl.out net.0.ipv4)
		ip=${ip%/*}
		if wait_for 60 console_has "web$i" 'site: ready on' &&
			wget -q -O /tmp/page.got "http://$ip/" 2>/dev/null && cmp -s /tmp/page.got "$IMAGES/a/index.html"; then
			served=$((served + 1))
		else
			bad="$bad web$i(at ${ip:-no address})"
		fi
	done
	if [ -z "$bad" ] && [ "$served" -eq "$S" ]; then
		ok "$S site guests on one bridge each serve their page to Dom0 (deployed in $deployed_ms ms; all $served answered, $(ms_since "$t") ms in all)"
	else
		not_ok "$S site guests on one bridge each serve their page to Dom0: $served did;$(echo "$bad" | head -c 600)"
	fi
	for i in $(seq 1 "$S"); do ctl rm "web$i"; done
	if wait_for 60 no_domains && [ -z "$(ls /sys/class/net | grep '^vif')" ] &&
		[ "$(cat /sys/block/loop*/loop/backing_file 2>/dev/null | grep -c '^/var/lib/shoal/')" = 0 ]; then
		ok "removing them leaves no domain, vif or loop device"
	else
		not_ok "removing the sites leaves no domain, vif or loop device: xl list $(domains | tr '\n' ' '); vifs $(ls /sys/class/net | grep '^vif' | tr '\n' ' ')"
	fi
	kill9_shoald
fi
[ $failures -eq 0 ]
