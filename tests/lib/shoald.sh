# A real shoald for the shell tests: source it after tests/tap.sh, with
# $tmp set to the test's own scratch directory.  shoald_start runs one on
# $tmp/run/shoald.sock with a copy of the tender ($tmp/shoal-vmm), so that
# this test's processes are known by their executable whatever else runs
# on the machine; shoald_stop_all ends shoald and every tender it started.
SHOALD=$top_builddir/daemon/shoald
CTL=$top_builddir/shoalctl/shoalctl
SOCK=$tmp/run/shoald.sock
shoald_pid=

shoald_tenders() {
	for exe in /proc/[0-9]*/exe; do
		[ "$(readlink "$exe" 2>/dev/null)" = "$tmp/shoal-vmm" ] || continue
		p=${exe#/proc/}
		echo "${p%/exe}"
	done
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

# shoald_start [OPTION...]: ok once shoalctl host answers.
shoald_start() {
	[ -x "$tmp/shoal-vmm" ] || cp "$VMM" "$tmp/shoal-vmm"
	"$SHOALD" --config=/dev/null --state-dir="$tmp/state" --run-dir="$tmp/run" --vmm="$tmp/shoal-vmm" \
		--pool-size=1 --log-level=debug "$@" >>"$tmp/shoald.log" 2>&1 &
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
