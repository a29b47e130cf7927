#!/bin/sh
# shoald under systemd for real: systemd as PID 1 in a container
# (systemd-nspawn on a Debian 12 root that scripts/debian-root.sh makes
# with debootstrap, and caches), /dev/kvm passed in, shoal put in with
# make install DESTDIR= and the unit as make install writes it.  Checks:
# Type=notify readiness, guests deployed with shoalctl (one with a NIC on
# a bridge, one with a disk) under the unit's device policy, the watchdog's
# pings, systemctl restart and stop leaving the guests running and the
# next shoald re-adopting them, systemctl reload reading the token file
# and the certificate again, and a hung shoald (SIGSTOP) restarted by the
# watchdog with its guests kept.  Nothing it starts outlives it: the
# container, its guests and its cgroups go in the trap.
#
# The test matrix's columns (doc/testing.md): on kvm, /dev/kvm is passed
# in and the guests are KVM guests until the last part, where shoald
# starts again on the proc backend; on proc (SHOAL_TEST_PLATFORM=proc,
# tests/integration/proc/test_systemd.sh) shoald's backend is proc from
# the first start and no /dev/kvm is passed in.
. "$top_srcdir/tests/tap.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (systemd-nspawn boots a container)"
tap_require_platform
for t in systemd-nspawn debootstrap nsenter openssl curl python3 mkfs.fat mcopy tc; do
	command -v $t >/dev/null ||
		tap_skip_all "$t is not installed (scripts/deps.sh installs it: systemd-container, debootstrap, util-linux, openssl, curl, python3, dosfstools, mtools, iproute2)"
done
# The unit's DevicePolicy= is enforced by a BPF program on cgroup v2: the
# container gets the unified hierarchy, which the host must have mounted.
cg2=
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
	cg2=/sys/fs/cgroup
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	cg2=/sys/fs/cgroup/unified
else
	tap_skip_all "the host has no cgroup v2 hierarchy (the container's systemd needs one to enforce DevicePolicy=)"
fi

B=$(cd "$top_builddir" && pwd)
S=$(cd "$top_srcdir" && pwd)
for f in daemon/shoald shoalctl/shoalctl vmm/shoal-vmm vmm/shoal-proc tests/integration/jsonq \
	unikernel-rt/examples/echo.$PLATFORM unikernel-rt/examples/fatcat.$PLATFORM unikernel-rt/examples/echo.proc; do
	[ -f "$B/$f" ] || tap_skip_all "$B/$f was not built"
done

# The container's root: Debian 12 with systemd and the packages of the
# libraries shoal's programs link, from the cache (made when missing).
t0=$(date +%s)
cache=${SHOAL_TEST_ROOT_CACHE:-/var/cache/shoal-test}
pkgs=$("$S/scripts/runtime-packages.sh" "$B/daemon/shoald" "$B/shoalctl/shoalctl" "$B/vmm/shoal-vmm" "$B/vmm/shoal-proc") ||
	tap_skip_all "the packages of shoal's libraries are not known (scripts/runtime-packages.sh)"
rootlog=$(mktemp /tmp/shoal-root-XXXXXX)
# shellcheck disable=SC2086
base=$("$S/scripts/debian-root.sh" "$cache" $pkgs 2>"$rootlog")
rc=$?
why=$(tail -n 5 "$rootlog")
rm -f "$rootlog"
case $rc in
0) ;;
2) tap_skip_all "no Debian root: $(echo "$why" | tail -n 1)" ;;
*)
	echo "Bail out! the Debian root could not be made: $(echo "$why" | tr '\n' ' ')"
	exit 1
	;;
esac
tap_diag "root: $base ($(($(date +%s) - t0)) s to name its packages and find or make it)"

tmp=$(mktemp -d /var/tmp/shoal-systemd-XXXXXX)
machine=shoal-test-$$
cg=shoal-test-$$
nspawn_pid=
# cgroups: the directories this test makes for the container, in each
# hierarchy where nspawn puts it (cgroup v2; and v1's name=systemd, when
# the host has it, which nspawn uses beside).
cgdirs="$cg2/$cg"
[ -d /sys/fs/cgroup/systemd ] && [ "$cg2" != /sys/fs/cgroup ] && cgdirs="$cgdirs /sys/fs/cgroup/systemd/$cg"

cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		# nspawn powers the container off on SIGTERM; a container that does
		# not go within 20 s is killed, every process of its pid namespace
		# with its PID 1.
		kill -TERM "$nspawn_pid" 2>/dev/null
		for i in $(seq 200); do
			kill -0 "$nspawn_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$nspawn_pid" 2>/dev/null
		[ -n "${leader:-}" ] && kill -KILL "$leader" 2>/dev/null
		wait "$nspawn_pid" 2>/dev/null
	fi
	# What is left in the test's cgroups (nothing, normally) is killed, and
	# the cgroups removed, deepest first.
	for d in $cgdirs; do
		[ -d "$d" ] || continue
		for i in 1 2 3 4 5; do
			left=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
			[ -z "$left" ] && break
			kill -KILL $left 2>/dev/null
			sleep 0.2
		done
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The container's root: a copy of the cached one (which stays as it was),
# with shoal installed as make install installs it.
cp -a "$base" "$tmp/root"
root=$tmp/root
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$B" install DESTDIR="$root" >"$tmp/install.out" 2>&1
tap_check "shoal is installed in the container's root (make install DESTDIR=)" test $? -eq 0 ||
	tap_diag "$(tail -20 "$tmp/install.out")"
# dir VAR: a make variable of the build, expanded (sbindir, ...).
dir() { printf 'print-dir:\n\t@echo $(%s)\n' "$1" | make -s --no-print-directory -C "$B" -f Makefile -f - print-dir; }
bindir=$(dir bindir) sysconfdir=$(dir sysconfdir) unitdir=$(dir systemdsystemunitdir) pkgdatadir=$(dir pkgdatadir)
guests=$pkgdatadir/guests
# The guests with a NIC and with a disk, which make install leaves out.
cp "$B/unikernel-rt/examples/echo.$PLATFORM" "$B/unikernel-rt/examples/fatcat.$PLATFORM" \
	"$B/unikernel-rt/examples/echo.proc" "$root$guests/"
case $unitdir in
/lib/systemd/system | /usr/lib/systemd/system | /usr/local/lib/systemd/system | /etc/systemd/system) ;;
*)
	# A prefix whose unit directory systemd does not read (make distcheck's).
	mkdir -p "$root/etc/systemd/system" && cp "$root$unitdir/shoald.service" "$root/etc/systemd/system/"
	;;
esac

# shoald's configuration: the TCP listener with a certificate and a token
# (made here), and a bridge for the NIC guest.
conf=$root$sysconfdir/shoal
(cd "$tmp" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
		-days 2 -subj /CN=shoal-test-ca >/dev/null 2>&1 &&
	printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
	for n in one two; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $n.key -out $n.csr \
			-subj "/CN=shoald-$n" >/dev/null 2>&1 &&
			openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2 \
				-extfile ext >/dev/null 2>&1 || exit 1
	done)
token_a=$(openssl rand -hex 24)
token_b=$(openssl rand -hex 24)
install -m 600 "$tmp/one.pem" "$conf/tls.pem"
install -m 600 "$tmp/one.key" "$conf/tls.key"
echo "$token_a first" >"$conf/tokens" && chmod 600 "$conf/tokens"
cat >"$conf/shoald.conf" <<EOF
listen-tcp = 127.0.0.1:8443
tls-cert = $sysconfdir/shoal/tls.pem
tls-key = $sysconfdir/shoal/tls.key
token-file = $sysconfdir/shoal/tokens
bridge = br0 10.77.0.0/24
EOF
[ "$PLATFORM" = proc ] && echo "backend = proc" >>"$conf/shoald.conf"
# The watchdog short enough to see a hang dealt with in seconds; the
# rest of the unit is make install's.
mkdir -p "$root/etc/systemd/system/shoald.service.d"
cat >"$root/etc/systemd/system/shoald.service.d/test.conf" <<EOF
[Service]
WatchdogSec=4s
TimeoutAbortSec=5s
EOF
# A FAT disk for the disk guest, with one file.
mkdir -p "$tmp/site" && echo "hello from the disk" >"$tmp/site/index.html"
mkfs.fat -C -F 16 "$root/root/site.img" 20480 >/dev/null && MTOOLS_SKIP_CHECK=1 mcopy -i "$root/root/site.img" "$tmp/site/index.html" ::/ ||
	tap_diag "the disk image could not be made (mtools?)"
echo "$machine" >"$root/etc/hostname"

# Boot: systemd as PID 1, the unified cgroup hierarchy (on which systemd
# enforces DevicePolicy= with BPF, which nspawn's filter lets through for
# it), a network namespace of its own with loopback alone, and on kvm
# /dev/kvm.  nspawn's system call filter lets bpf(2) through for it, and
# pidfd_getfd(2), with which a restarted shoald takes a proc guest's
# eventfds to re-attach it (systemd 252's nspawn refuses it with EPERM;
# a host's unit has no such filter).  nspawn runs in cgroups this test
# makes, so that the trap finds everything it started there.  Where the
# host runs systemd, the container is a scope of its own with /dev/kvm
# allowed to it.
for d in $cgdirs; do mkdir -p "$d"; done
if [ -d /run/systemd/system ]; then
	set -- --register=no --property="DeviceAllow=/dev/net/tun rw"
	[ "$PLATFORM" = kvm ] && set -- "$@" --property="DeviceAllow=/dev/kvm rw"
else
	set -- --register=no --keep-unit
fi
[ "$PLATFORM" = kvm ] && set -- "$@" --bind=/dev/kvm
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 sh -c 'for d in '"$cgdirs"'; do echo $$ >"$d/cgroup.procs" || exit 1; done
	exec "$@"' nspawn systemd-nspawn --quiet "$@" --directory="$root" --machine="$machine" \
	--private-network --system-call-filter="bpf pidfd_getfd" --boot --console=read-only \
	>"$tmp/console.log" 2>&1 </dev/null &
nspawn_pid=$!

# The container's PID 1, nspawn's child.
leader=
for i in $(seq 100); do
	leader=$(pgrep -P "$nspawn_pid" | head -n 1)
	[ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] && break
	leader=
	sleep 0.1
done
# ct COMMAND...: run in the container (its namespaces, root and PATH).
ct() { nsenter --target "$leader" --all env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
# net COMMAND...: a host program in the container's network namespace.
net() { nsenter --target "$leader" --net "$@"; }
# Its manager answers once it has set itself up; then --wait waits out the boot.
state=
for i in $(seq 300); do
	[ -n "$leader" ] || break
	state=$(ct timeout 60 systemctl is-system-running --wait 2>&1)
	case $state in running | degraded | stopping | maintenance | offline) break ;; esac
	sleep 0.1
done
if [ -n "$leader" ] && [ "$state" = running ] || [ "$state" = degraded ]; then
	tap_ok "systemd boots as PID 1 in the container ($state, $(($(date +%s) - t0)) s from the start)"
else
	tap_not_ok "systemd boots as PID 1 in the container (${state:-no PID 1 seen})"
	tap_diag "$(tail -n 30 "$tmp/console.log")"
	tap_done
	exit 0
fi
[ "$state" = degraded ] && tap_diag "failed units: $(ct systemctl --failed --no-legend --plain | tr '\n' ' ')"

# The device checks below mean something only where the container's
# systemd enforces DevicePolicy=: a unit with it closed must not open the
# tun device.
if ct timeout 30 systemd-run --quiet --wait --pipe -p DevicePolicy=closed \
	sh -c 'exec 3<>/dev/net/tun' >/dev/null 2>&1; then
	tap_not_ok "the container's systemd enforces DevicePolicy= (a unit with DevicePolicy=closed opened /dev/net/tun)"
else
	tap_ok "the container's systemd enforces DevicePolicy= (a unit with DevicePolicy=closed cannot open /dev/net/tun)"
fi

# show PROPERTY: systemctl show's value for shoald.
show() { ct systemctl show -p "$1" --value shoald; }
ctl() { ct timeout 30 "$bindir/shoalctl" "$@"; }
field() { ctl --json show "$1" 2>/dev/null | "$B/tests/integration/jsonq" "$2" 2>/dev/null; }
wait_state() { # NAME STATE: up to 20 s
	for i in $(seq 100); do
		[ "$(field "$1" state)" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
# udp_echo ADDRESS: a datagram to the echo guest's port 7, from the
# container's network; prints what came back.
udp_echo() {
	net python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for i in range(10):
    s.sendto(b"through the unit", (sys.argv[1], 7))
    try:
        print(s.recvfrom(100)[0].decode())
        break
    except socket.timeout:
        pass' "$1" 2>&1
}
journal() { tap_diag "$(ct journalctl -u shoald -b --no-pager -n "${1:-20}" -o cat)"; }
net ip link add br0 type bridge && net ip addr add 10.77.0.1/24 dev br0 && net ip link set br0 up && net ip link set lo up

# ---- Type=notify: systemctl start returns once shoald is ready ----
tap_check "the installed unit is Type=notify with a watchdog" \
	sh -c "[ '$(show Type)' = notify ] && [ '$(show NotifyAccess)' = main ]"
ct timeout 100 systemctl start shoald >"$tmp/start.out" 2>&1
rc=$?
# No wait and no retry: the API answers at the moment start returns.
ctl host >"$tmp/host.out" 2>&1
host_rc=$?
st="$(show ActiveState)/$(show SubState)"
tap_check "systemctl start shoald returns once shoald is ready: the API answers at once ($st)" \
	test $rc -eq 0 -a $host_rc -eq 0 -a "$st" = active/running ||
	{ tap_diag "$(cat "$tmp/start.out" "$tmp/host.out")" && journal; }
status=$(show StatusText)
tap_check "shoald's status line in systemctl show: \"$status\"" test -n "$status"
tap_check "WatchdogSec from the drop-in (WatchdogUSec=$(show WatchdogUSec))" test "$(show WatchdogUSec)" = 4s

# ---- guests: one plain, one with a NIC, one with a disk ----
ctl deploy -n idle -i "$guests/idle.$PLATFORM" -m 16 >"$tmp/deploy.out" 2>&1
tap_check "a guest deployed with shoalctl in the container runs" wait_state idle running ||
	{ tap_diag "$(cat "$tmp/deploy.out")" && journal; }
inst=$(field idle instance)
tpid=$(field idle pid)
tap_diag "idle: instance $inst, tender pid $tpid (in the container)"

ctl deploy -n lan -i "$guests/echo.$PLATFORM" -m 16 --net lan=br0 -a lan >"$tmp/lan.out" 2>&1
if wait_state lan running; then
	addr=$(field lan net.0.ipv4)
	tap_check "a guest with a NIC on a bridge (/dev/net/tun under the unit's DevicePolicy) answers UDP echo at ${addr%/*}" \
		test "$(udp_echo "${addr%/*}")" = "through the unit"
else
	tap_not_ok "a guest with a NIC on a bridge runs under the unit's DevicePolicy"
	tap_diag "$(cat "$tmp/lan.out")"
	journal
fi

ctl deploy -n disk -i "$guests/fatcat.$PLATFORM" -m 16 -d www=/root/site.img -a cat -a www -a /index.html --restart never \
	>"$tmp/disk.out" 2>&1
read_disk() {
	for i in $(seq 50); do
		ctl console disk 2>/dev/null | grep -q "hello from the disk" && return 0
		sleep 0.2
	done
	return 1
}
tap_check "a guest with a disk reads its file under the unit" read_disk ||
	{ tap_diag "$(cat "$tmp/disk.out")" "$(ctl console disk 2>&1 | tail -5)" && journal; }

# ---- the watchdog ----
w1=$(show WatchdogTimestampMonotonic)
sleep 3
w2=$(show WatchdogTimestampMonotonic)
tap_check "shoald pings the watchdog (WatchdogTimestamp $w1 then $w2 us, 3 s apart)" \
	test "${w1:-0}" -gt 0 -a "${w2:-0}" -gt "${w1:-0}"

same_guest() { # NAME: the guest re-adopted: running, the same instance and tender
	[ "$(field "$1" state)" = running ] && [ "$(field "$1" instance)" = "$inst" ] &&
		[ "$(field "$1" pid)" = "$tpid" ] && ct kill -0 "$tpid"
}

# ---- systemctl restart ----
pid1=$(show MainPID)
ct timeout 100 systemctl restart shoald
rc=$?
pid2=$(show MainPID)
tap_check "systemctl restart shoald: a new shoald ($pid1, then $pid2)" test $rc -eq 0 -a "$pid2" != "$pid1" -a "$pid2" != 0
tap_check "and the guest is re-adopted: running, the same instance ($inst) and tender ($tpid)" same_guest idle ||
	journal

# ---- systemctl stop, then start ----
ct timeout 100 systemctl stop shoald
tap_check "systemctl stop shoald: stopped ($(show ActiveState))" test "$(show ActiveState)" = inactive
tap_check "the guests' tenders run on without it (KillMode=process)" ct kill -0 "$tpid"
ct timeout 100 systemctl start shoald
tap_check "systemctl start again: the guest re-adopted, same instance and tender" same_guest idle || journal

# ---- systemctl reload: the token file and the certificate ----
# tcp TOKEN: the HTTP status of GET /v1/host on the TCP listener.
tcp() { net curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$tmp/ca.pem" \
	-H "Authorization: Bearer $1" https://127.0.0.1:8443/v1/host; }
subject() { net openssl s_client -connect 127.0.0.1:8443 </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null; }
tap_check "on TCP the first token gets 200 ($(tcp "$token_a")), and the certificate is the first ($(subject))" \
	sh -c "[ '$(tcp "$token_a")' = 200 ] && [ '$(tcp "$token_b")' = 401 ] && echo '$(subject)' | grep -q shoald-one"
echo "$token_b second" >"$conf/tokens"
install -m 600 "$tmp/two.pem" "$conf/tls.pem"
install -m 600 "$tmp/two.key" "$conf/tls.key"
pid1=$(show MainPID)
ct timeout 30 systemctl reload shoald
tap_check "systemctl reload shoald succeeds, the same shoald" test $? -eq 0 -a "$(show MainPID)" = "$pid1"
for i in $(seq 25); do
	[ "$(tcp "$token_b")" = 200 ] && break
	sleep 0.2
done
tap_check "after the reload the new token gets 200 ($(tcp "$token_b")) and the old one 401 ($(tcp "$token_a"))" \
	sh -c "[ '$(tcp "$token_b")' = 200 ] && [ '$(tcp "$token_a")' = 401 ]"
tap_check "and the listener serves the new certificate ($(subject))" sh -c "echo '$(subject)' | grep -q shoald-two"

# ---- a hung shoald: the watchdog restarts it ----
n1=$(show NRestarts)
pid1=$(show MainPID)
ct kill -STOP "$pid1"
for i in $(seq 300); do
	pid2=$(show MainPID)
	[ "$(show NRestarts)" -gt "$n1" ] && [ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] &&
		[ "$(show ActiveState)" = active ] && break
	sleep 0.1
done
tap_check "a shoald stopped with SIGSTOP is restarted by the watchdog (NRestarts $n1 then $(show NRestarts), MainPID $pid1 then $pid2)" \
	sh -c "[ '$(show NRestarts)' -gt '$n1' ] && [ '$pid2' != '$pid1' ] && [ '$(show ActiveState)' = active ]" ||
	journal 30
ct journalctl -u shoald -b --no-pager -o cat | grep -q "Watchdog timeout" &&
	tap_ok "systemd says it was the watchdog" || tap_not_ok "systemd says it was the watchdog"
wait_state idle running
tap_check "the guest survives that too: same instance and tender" same_guest idle || journal

# ---- the proc platform under the same unit ----
# systemctl kill --kill-whom=all ends shoald and every guest (the unit's
# comment says so); then shoald starts again on the proc backend (on the
# proc column, where it already was) with an empty state.
ct timeout 30 systemctl kill --kill-whom=all --signal=KILL shoald
for i in $(seq 50); do
	ct kill -0 "$tpid" 2>/dev/null || break
	sleep 0.1
done
tap_check "systemctl kill --kill-whom=all shoald ends the guests too" sh -c "! ct kill -0 '$tpid' 2>/dev/null" ||
	tap_diag "tender $tpid still runs"
ct timeout 30 systemctl stop shoald
rm -rf "$root/var/lib/shoal"
[ "$PLATFORM" = proc ] || echo "backend = proc" >>"$conf/shoald.conf"
ct timeout 100 systemctl start shoald
tap_check "shoald starts on the proc backend under the unit ($(show ActiveState))" \
	test "$(show ActiveState)" = active || journal
ctl deploy -n idle -i "$guests/idle.proc" -m 16 >"$tmp/deploy.out" 2>&1
tap_check "a proc guest runs under the unit" wait_state idle running || { tap_diag "$(cat "$tmp/deploy.out")" && journal; }
# Its jail: the tender in the empty mount namespace shoald makes for them.
tpid=$(field idle pid)
own_mntns() { [ -n "$tpid" ] && [ "$(ct readlink "/proc/$tpid/ns/mnt")" != "$(ct readlink /proc/1/ns/mnt)" ]; }
tap_check "its tender is in a mount namespace of its own (the unit lets shoald make it)" own_mntns || journal
printf '{"name":"lan","image":"%s","memory_mib":16,"args":["lan"],"net":[{"name":"lan","bridge":"br0"}],"net_rate":{"packets_per_s":1000,"bytes_per_s":1000000}}' \
	"$guests/echo.proc" >"$root/root/lan.json"
ctl deploy -f /root/lan.json >"$tmp/lan.out" 2>&1
if wait_state lan running; then
	addr=$(field lan net.0.ipv4)
	tap=$(field lan net.0.tap)
	tap_check "a proc guest with a NIC and a net_rate answers UDP echo at ${addr%/*}" \
		test "$(udp_echo "${addr%/*}")" = "through the unit"
	tap_check "with shoald's BPF program on its tap $tap (rtnetlink and bpf(2) under the unit)" \
		sh -c "nsenter --target '$leader' --net tc filter show dev '$tap' ingress | grep -q bpf"
else
	tap_not_ok "a proc guest with a NIC and a net_rate runs under the unit"
	tap_diag "$(cat "$tmp/lan.out")"
	journal
fi

# ---- nothing left ----
# The container powered off: every process in it ends with it, and the
# test's cgroups are empty.
kill -TERM "$nspawn_pid"
for i in $(seq 300); do
	kill -0 "$nspawn_pid" 2>/dev/null || break
	sleep 0.1
done
left=
for p in /proc/[0-9]*; do
	case $(readlink "$p/root" 2>/dev/null) in "$root" | "$root"/*) left="$left ${p#/proc/}" ;; esac
done
tap_check "the container powers off, and no process of it is left${left:+ (left:$left)}" \
	sh -c "! kill -0 $nspawn_pid 2>/dev/null && [ -z '$left' ]"
wait "$nspawn_pid" 2>/dev/null
nspawn_pid=
tap_diag "the test took $(($(date +%s) - t0)) s"
tap_done
