# Helpers for the Dom0 test sets (sourced).  Results go to the console as
# "@xenq tap ok - ..." / "@xenq tap not ok - ..." lines, one per test;
# tests/xen/run.sh turns them into TAP on the host.  Figures go out as
# "@xenq figure NAME VALUE UNIT" and are summarised there.
export PATH=/shoal/bin:/bin:/usr/bin:/sbin:/usr/sbin:/usr/lib/xen-4.17/bin
GUESTS=/shoal/guests
SOCK=/run/shoal/shoald.sock
LOGDIR=/var/log/shoal
CONSOLES=/var/log/xen/console
failures=0
shoald_pid=

# One line each: a message that holds newlines is joined with spaces.
ok() { echo "@xenq tap ok - $(printf '%s' "$*" | tr '\n' ' ')"; }
not_ok() {
	echo "@xenq tap not ok - $(printf '%s' "$*" | tr '\n' ' ')"
	failures=$((failures + 1))
}
skip() { echo "@xenq tap ok - $1 # SKIP $(printf '%s' "$2" | tr '\n' ' ')"; }
diag() { for l in "$@"; do echo "$l" | sed 's/^/@xenq diag /'; done; }
figure() { echo "@xenq figure $(printf '%s' "$*" | tr '\n' ' ')"; }

# Milliseconds since boot, to 1 us (GNU date: busybox's has no %N).
now_us() { gdate +%s%6N; }
ms_since() { echo "$(now_us) $1" | awk '{printf "%.1f\n", ($1 - $2) / 1000}'; }

# median: of the numbers on stdin.
median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }

# Whole seconds since boot, without a fork (busy Dom0s fork slowly).
uptime_s() {
	read -r up _ </proc/uptime
	echo "${up%.*}"
}
# wait_for SECONDS COMMAND...: until the command succeeds, every 0.1 s.
wait_for() {
	end=$(($(uptime_s) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(uptime_s)" -lt $end ] || return 1
		sleep 0.1
	done
}

# poll_for SECONDS COMMAND...: the same, every 5 ms, for timing.
poll_for() {
	end=$(($(now_us) + $1 * 1000000))
	shift
	while [ "$(now_us)" -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		usleep 5000
	done
	return 1
}

# ctl ARGS...: shoalctl on the test's socket, output in /tmp/ctl.out,
# errors in /tmp/ctl.err; its exit status.
ctl() { shoalctl --socket "$SOCK" --timeout 30 "$@" >/tmp/ctl.out 2>/tmp/ctl.err </dev/null; }
# jget JSON-FILE PATH
jget() { jsonq "$2" <"$1"; }

have_xen_backend() {
	! shoald --config=/dev/null --backend=xen -n 2>&1 | grep -q 'not built into'
}

# start_shoald [OPTION...]: shoald on Xen, as a Dom0 of 1 GiB can hold it;
# 0 once its API answers, 1 if it ended or did not answer in 60 s.
# Under QEMU's emulation, with the rest of the suite on the same two host
# cores, Dom0 and the guests stall now and then for hundreds of ms (round
# trips of 340 ms are seen): a probe counts as missed only after
# $PROBE_TIMEOUT_MS, so that a miss here means a probe that was lost.
PROBE_TIMEOUT_MS=3000
# shoal.xen_create=direct on the kernel command line (run.sh SET -- ...):
# shoald makes the domains itself (the default for PV), =libxl through libxl.
XEN_CREATE=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.xen_create=//p')
# shoal.log_level=debug on the kernel command line: shoald's log level (info).
LOG_LEVEL=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^shoal\.log_level=//p')
LOG_LEVEL=${LOG_LEVEL:-info}
start_shoald() {
	mkdir -p /var/lib/shoal /run/shoal "$LOGDIR"
	shoald --config=/dev/null --backend=xen --state-dir=/var/lib/shoal --run-dir=/run/shoal \
		--reserve-mib=256 --max-memory-mib=1536 --probe-timeout-ms="$PROBE_TIMEOUT_MS" \
		--xen-create="$XEN_CREATE" \
		--log-level="$LOG_LEVEL" "$@" >>"$LOGDIR/shoald.log" 2>&1 &
	shoald_pid=$!
	wait_for 60 shoald_answers && kill -0 "$shoald_pid" 2>/dev/null
}
shoald_answers() {
	kill -0 "$shoald_pid" 2>/dev/null || return 0 # ended: stop waiting
	shoalctl --socket "$SOCK" --timeout 2 host >/dev/null 2>&1 || return 1
}
kill9_shoald() {
	[ -n "$shoald_pid" ] || return 0
	kill -9 "$shoald_pid" 2>/dev/null
	wait "$shoald_pid" 2>/dev/null
	shoald_pid=
}

# xl_cfg NAME IMAGE MEM FILE: an xl config for a PV domain of IMAGE
# (MEM MiB, one vCPU, destroyed when it ends), into FILE.
xl_cfg() {
	cat >"$4" <<CFG
name = "$1"
type = "pv"
kernel = "$2"
memory = $3
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
CFG
}

# Domains other than Domain-0, by name, one a line.
domains() { xl list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0" {print $1}'; }
# Whether Xen has no domain but Domain-0; whether xl list has one named
# NAME (a dying one too); whether it has none.
no_domains() { [ -z "$(domains)" ]; }
has_domain() { domains | grep -qxF "$1"; }
domain_gone() { ! has_domain "$1"; }
# hard affinity of a domain's vCPU 0 as xl prints it (like "1" or "all").
affinity() { xl vcpu-list "$1" 2>/dev/null | awk 'NR == 2 {print $7}'; }

# console_has NAME TEXT: the guest's console, through the API, has TEXT (a grep pattern).
console_has() { shoalctl --socket "$SOCK" --timeout 10 console "$1" 2>/dev/null | grep -q "$2"; }
# probed NAME FIELD MIN: the guest's latency, through the API, into
# /tmp/lat.json; whether its FIELD (windows.10s.samples, ...) is MIN or more.
probed() {
	shoalctl --socket "$SOCK" --timeout 10 --json latency "$1" >/tmp/lat.json 2>/dev/null &&
		[ "$(jsonq "$2" </tmp/lat.json)" -ge "$3" ] 2>/dev/null
}

# guest_state NAME: its state as shoald reports it.
guest_state() { ctl --json show "$1" && jget /tmp/ctl.out state; }
is_running() { [ "$(guest_state "$1")" = running ]; }

# The device tests' FAT images (mkdom0.sh), and a copy of each file on them.
IMAGES=/shoal/images
# fetch_all IP: every file of both disks over HTTP, compared with its
# copy; the sizes and times into $fetched, what differs into $bad.
fetch_all() {
	bad= fetched= t=$(now_us) bytes=0 each=
	for f in a/index.html a/big.bin a/dir/a.txt b/only-b.bin b/dir/b.txt; do
		url=http://$1/${f#?/}
		rm -f /tmp/got
		[ -n "$each" ] && each="$each, "
		each="$each$(ms_since "$t")"
		# (No -T: Debian 12's static busybox wget crashes with it.)
		if ! timeout 60 wget -q -O /tmp/got "$url" 2>/tmp/wget.err; then
			bad="$bad $url: $(head -c 200 /tmp/wget.err);"
		elif ! cmp -s /tmp/got "$IMAGES/$f"; then
			bad="$bad $url: $(wc -c </tmp/got) bytes differ from the $(wc -c <"$IMAGES/$f") on disk;"
		else
			bytes=$((bytes + $(wc -c </tmp/got)))
		fi
	done
	fetched="5 files, $bytes bytes in $(ms_since "$t") ms (each started at $each ms)"
}
