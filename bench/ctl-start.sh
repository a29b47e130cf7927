#!/bin/sh
# bench/ctl-start: what a deploy script pays to run shoalctl once.  With a
# shoald of the bench's own (no guests; the proc backend where there is
# no /dev/kvm), each round runs, one after the other: /bin/true (the
# baseline), `shoalctl ls` on the socket (the cheapest command that
# connects: start, one request, an empty table), `shoalctl --version`
# (start only) and `shoalctl --url https://127.0.0.1:1 host` (the TLS
# path's start: libcurl loaded, then refused at once), and any other
# shoalctl given (the same `ls`, e.g. an older build).  Each is fork, exec
# and wait, timed from a python3 loop; the medians and p90s are printed
# with the ratio to /bin/true of the same run, and beside them the shared
# libraries each loads (the dynamic loader's own count, LD_DEBUG=files).
# Never pass/fail.
#   bench/ctl-start.sh [ROUNDS] [OTHER-SHOALCTL]      (default 300 rounds)
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHOAL_BUILD:-$top/_build}
rounds=${1:-300}
other=${2:-}
case $rounds in '' | *[!0-9]* | 0)
	echo "bench/ctl-start.sh: ROUNDS is a whole number above 0" >&2
	exit 2
	;;
esac
[ -z "$other" ] || [ -x "$other" ] || {
	echo "bench/ctl-start.sh: $other is not an executable" >&2
	exit 2
}
command -v python3 >/dev/null || {
	echo "bench/ctl-start: python3 is not installed" >&2
	exit 1
}
tmp=$(mktemp -d /tmp/shoal-ctlstart-XXXXXX)
top_builddir=$build
VMM=$build/vmm/shoal-vmm
PLATFORM=kvm
tap_diag() { printf '# %s\n' "$@" >&2; }
. "$top/tests/tap.sh" >/dev/null
tap_have_kvm || PLATFORM=proc
. "$top/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
shoald_start --pool-size=0 >/dev/null || {
	echo "bench/ctl-start: shoald did not start ($PLATFORM backend); its log:" >&2
	tail -n 5 "$tmp/shoald.log" >&2
	exit 1
}

# libs CMD...: the shared objects the dynamic loader maps for it, vDSO aside.
libs() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'generating link map'; }

echo "bench/ctl-start: fork+exec+wait, $rounds rounds alternating, shoald with no guests ($PLATFORM backend)"
python3 - "$rounds" "$SOCK" "$CTL" "$other" \
	"$(libs /bin/true)" "$(libs "$CTL" --socket "$SOCK" ls)" "$(libs "$CTL" --version)" \
	"$(libs "$CTL" --url https://127.0.0.1:1 --timeout 2 host)" \
	"$(if [ -n "$other" ]; then libs "$other" --socket "$SOCK" ls; fi)" <<'PY'
import os, sys, time

rounds, sock, ctl, other = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
nlibs = sys.argv[5:10]
runs = [
    ("`/bin/true`", ["/bin/true"], 0),
    ("`shoalctl ls` on the socket", [ctl, "--socket", sock, "ls"], 0),
    ("`shoalctl --version`", [ctl, "--version"], 0),
    ("`shoalctl --url https://127.0.0.1:1 host` (libcurl loaded, refused)",
     [ctl, "--url", "https://127.0.0.1:1", "--timeout", "2", "host"], 3),
]
if other:
    runs.append(("`%s ls` on the socket" % other, [other, "--socket", sock, "ls"], 0))
devnull = os.open(os.devnull, os.O_WRONLY)
fa = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
env = dict(os.environ)

def once(argv, want):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=fa)
    _, st = os.waitpid(pid, 0)
    t = time.perf_counter_ns() - t0
    if os.waitstatus_to_exitcode(st) != want:
        sys.exit("bench/ctl-start: %s exited %d, not %d" % (" ".join(argv), os.waitstatus_to_exitcode(st), want))
    return t

for _, argv, want in runs:  # warm the page cache
    once(argv, want)
times = [[] for _ in runs]
for i in range(rounds):
    for j, (_, argv, want) in enumerate(runs):
        times[j].append(once(argv, want))

def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] / 1e6

base = q(times[0], 0.5)
print("| command | median | p90 | shared libraries loaded | ratio to `/bin/true` (median) |")
print("|---|---|---|---|---|")
for j, (name, _, _) in enumerate(runs):
    print("| %s | %.2f ms | %.2f ms | %s | %.2f× |" % (name, q(times[j], 0.5), q(times[j], 0.9), nlibs[j], q(times[j], 0.5) / base))
PY
