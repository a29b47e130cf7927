# A real shoald for the shell tests: source it after tests/tap.sh, with
# $tmp set to the test's own scratch directory.  shoald_start runs one on
# $tmp/run/shoald.sock with a copy of the tender ($tmp/shoal-vmm, or on
# the proc platform $tmp/shoal-proc with --backend=proc), so that this
# test's processes are known by their executable whatever else runs on
# the machine; shoald_stop_all ends shoald and every tender it started.
SHOALD=$top_builddir/daemon/shoald
CTL=$top_builddir/shoalctl/shoalctl
SOCK=$tmp/run/shoald.sock
shoald_pid=

# This test's tenders: by their executable, and (proc tenders, whose
# executable may not read back from their jail) by the records shoald
# keeps of them in the run directory.
shoald_tenders() {
	{
		for exe in /proc/[0-9]*/exe; do
			case $(readlink "$exe" 2>/dev/null) in "$tmp/shoal-vmm" | "$tmp/shoal-proc") ;; *) continue ;; esac
			p=${exe#/proc/}
			echo "${p%/exe}"
		done
		for rec in "$tmp"/run/tenders/t*.proc; do
			[ -f "$rec" ] || continue
			p=${rec##*/t}
			p=${p%.proc}
			[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$tmp/shoal-proc" ] && echo "$p"
		done
	} | sort -un # a proc tender with a record is found both ways
}

shoald_stop_all() {
	[ -n "$shoald_pid" ] && kill -9 "$shoald_pid" 2>/dev/null && wait "$shoald_pid" 2>/dev/null
	shoald_pid=
	for round in 1 2 3 4 5; do
		left=$(shoald_tenders)
		[ -z "$left" ] && return 0
		for p in $left; do kill -9 "$p" 2>/dev/null; done
		sleep 0.1
	done
	[ -z "$(shoald_tenders)" ]
}

# outside_cpu SECS: how many CPUs' worth of work this machine did over
# SECS besides this test's shoald and tenders (other tests, a build, a Xen
# run beside it), as "0.42": what a timed check that missed its bound
# measures before it says the machine was too busy to judge it.
outside_cpu() {
	python3 - "$1" "$shoald_pid" $(shoald_tenders) <<'PY'
import os, sys, time
hz = os.sysconf("SC_CLK_TCK")
def host():
    # user nice system idle iowait irq softirq steal (guest time is in user)
    f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
def ours():
    t = 0
    for p in sys.argv[2:]:
        try:
            f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            pass
    return t
h0, o0, t0 = host(), ours(), time.time()
time.sleep(float(sys.argv[1]))
h1, o1, t1 = host(), ours(), time.time()
print("%.2f" % max(0.0, ((h1 - h0) - (o1 - o0)) / hz / (t1 - t0)))
PY
}

# Work beside this test's guests (other tests, a build), in CPUs, from
# which a timed check that missed its bound is not judged: it says so.
BUSY=0.25

# not_ok_unless_busy NAME DETAIL: a timed check that missed its bound:
# not ok (1), or skipped with the measure when the machine was busy (0;
# $busy_why says so, for the checks that depend on it).
not_ok_unless_busy() {
	b=$(outside_cpu 3)
	if python3 -c "import sys; sys.exit(0 if $b >= $BUSY else 1)"; then
		busy_why="this machine is busy: $b CPUs of other work beside this test's guests"
		tap_skip "$1" "$busy_why ($2)"
		return 0
	fi
	tap_not_ok "$1 ($2; $b CPUs of other work)"
	return 1
}

# shoald_start [OPTION...]: ok once shoalctl host answers; on the proc
# platform shoald's backend is proc (an OPTION may say otherwise).  With
# SHOALD_NETNS set, shoald runs in that network namespace (its taps and
# bridges are there; the API socket is a file, reached from anywhere).
# Each test's shoald hands its tenders uids from a slice of the default
# range of its own (by the test's pid): tests run side by side, and two
# shoalds on one range may pick the same uid (an OPTION may say otherwise).
SHOALD_UIDS=$((1879048192 + $$ % 64 * 1024))-$((1879048192 + $$ % 64 * 1024 + 1023))
shoald_start() {
	[ -x "$tmp/shoal-vmm" ] || cp "$VMM" "$tmp/shoal-vmm"
	if [ "$PLATFORM" = proc ]; then
		[ -x "$tmp/shoal-proc" ] || cp "$top_builddir/vmm/shoal-proc" "$tmp/shoal-proc"
		set -- --backend=proc --proc-tender="$tmp/shoal-proc" "$@"
	fi
	${SHOALD_NETNS:+ip netns exec "$SHOALD_NETNS"} "$SHOALD" --config=/dev/null --state-dir="$tmp/state" --run-dir="$tmp/run" --vmm="$tmp/shoal-vmm" \
		--pool-size=1 --log-level=debug --tender-uid-range="$SHOALD_UIDS" "$@" >>"$tmp/shoald.log" 2>&1 &
	shoald_pid=$!
	for i in $(seq 100); do
		"$CTL" --socket "$SOCK" --timeout 1 host >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# shoald_get PATH: a GET on the API socket, the body on stdout (python3).
shoald_get() {
	python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" % sys.argv[2]).encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, body = data.partition(b"\r\n\r\n")
status = head.split(b"\r\n")[0].split()
sys.stdout.write(body.decode())
sys.exit(0 if len(status) > 1 and status[1] == b"200" else 1)
PY
}

# The API from the shell tests (python3), with $SOCK and $tmp as above.
# api METHOD PATH [BODY-FILE [CONTENT-TYPE]]: the answer's body on stdout, its status in $tmp/status.
# py ARG...: python3 with tests/lib's modules (shoalapi.py) importable,
# writing no bytecode into the source tree.
py() {
	PYTHONPATH="$top_srcdir/tests/lib${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 \
		python3 "$@"
}
api() {
	py - "$SOCK" "$@" >"$tmp/body" <<'PY'
import sys
from shoalapi import UnixConnection
c = UnixConnection(sys.argv[1])
body = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else None
hdr = {"Content-Type": sys.argv[5]} if len(sys.argv) > 5 else ({"Content-Type": "application/json"} if body is not None else {})
c.request(sys.argv[2], sys.argv[3], body=body, headers=hdr)
r = c.getresponse()
sys.stdout.write(r.read().decode())
open(sys.argv[1].rsplit("/run/", 1)[0] + "/status", "w").write(str(r.status))
PY
	cat "$tmp/body"
}
status() { cat "$tmp/status"; }
jq_() { python3 -c 'import json,sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$1"; }
console_has() { # GUEST TEXT, up to 20 s
	for i in $(seq 200); do
		api GET "/v1/guests/$1/console" | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	tap_diag "$1's console lacks \"$2\": $(api GET "/v1/guests/$1/console" | tail -5)"
	return 1
}
state_is() { # GUEST STATE, up to 20 s
	for i in $(seq 200); do
		[ "$(api GET "/v1/guests/$1" | jq_ state)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# shoalctl from the shell tests, on $SOCK, its output kept in $tmp.
# run ID WANT ARGS...: shoalctl on the test's socket; stdout and stderr kept
# in $tmp/ID.out and $tmp/ID.err; ok when it exits WANT.
run() {
	id=$1 want=$2
	shift 2
	"$CTL" --socket "$SOCK" "$@" >"$tmp/$id.out" 2>"$tmp/$id.err" </dev/null
	got=$?
	[ "$got" -eq "$want" ] && return 0
	tap_diag "shoalctl $*: exit $got, expected $want" "stdout: $(head -c 800 "$tmp/$id.out")" \
		"stderr: $(cat "$tmp/$id.err")"
	return 1
}

# says ID out|err TEXT: that output of run ID contains TEXT.
says() {
	grep -qF -- "$3" "$tmp/$1.$2" && return 0
	tap_diag "$1: $2 lacks \"$3\"; it was:" "$(head -c 1500 "$tmp/$1.$2")"
	return 1
}

lacks() {
	grep -qF -- "$3" "$tmp/$1.$2" || return 0
	tap_diag "$1: $2 has \"$3\" and should not"
	return 1
}
