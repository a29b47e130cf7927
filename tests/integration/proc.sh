#!/bin/sh
# Example guests built for the proc platform, run by shoal-proc: the same
# output, exit codes and reports as their .kvm twins (guests.sh), the
# jail a running guest is in, and a hostile guest (escape) that tries to
# reach the host around the runtime and is stopped each time.
. "$top_srcdir/tests/tap.sh"
PROC=$top_builddir/vmm/shoal-proc
[ -x "$PROC" ] || tap_skip_all "$PROC was not built"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME EXPECTED_STATUS ARG...: as tap_vmm, through shoal-proc.
run() {
	name=$1 want=$2
	shift 2
	"$PROC" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	got=$?
	[ "$got" -eq "$want" ] && return 0
	tap_diag "$name: exit status $got, expected $want" \
		"stdout: $(cat "$tmp/$name.out")" "stderr: $(cat "$tmp/$name.err")"
	return 1
}
says() { tap_said "$@"; }

for g in $(cd "$GUESTS" && ls *.kvm | sed 's/\.kvm$//'); do
	tap_check "$g builds for proc too" test -f "$GUESTS/$g.proc"
done

tap_check "hello boots and exits 0" run hello 0 "$GUESTS/hello.proc" one two "three four"
tap_check "hello prints its name and arguments" says hello out "hello from hello: one two three four"
tap_check "hello says nothing on stderr" test ! -s "$tmp/hello.err"
tap_check "hello runs in the smallest memory (2 MiB)" run hello2 0 --mem 2 "$GUESTS/hello.proc"
tap_check "--name names the guest" run named 0 --name web-1 "$GUESTS/hello.proc" x
tap_check "the guest sees its name as argv[0]" says named out "hello from web-1: x"
tap_check "the guest's exit code is the tender's status" run exit7 7 "$GUESTS/crash.proc" exit 7
tap_check "exit codes above 199 are clamped to 199" run exit250 199 "$GUESTS/crash.proc" exit 250

for v in ptr len arg count nr; do
	tap_check "badcall $v is stopped with status 202" run "bad-$v" 202 "$GUESTS/badcall.proc" $v
done
tap_check "badcall ptr: the report names the call and the address" says bad-ptr err "bad system call 1 (write) at rip 0x"
tap_check "badcall ptr: ... the buffer outside guest memory" says bad-ptr err "arguments 0x1, 0xdeadbeef000, 0x1"
tap_check "badcall len: the report names the length" says bad-len err "0x10000000000"
tap_check "badcall arg: the report names writev and its iov array" says bad-arg err "bad system call 20 (writev) at rip 0x"
tap_check "badcall count: the report names the count" says bad-count err ", 0x41, "
tap_check "badcall nr: the report names the number" says bad-nr err "bad system call 777 (unknown)"
tap_check "badcall's output before the bad call is kept" says bad-ptr out "badcall: ptr"

tap_check "NULL dereference ends the guest with status 201" run null 201 "$GUESTS/crash.proc" null
tap_check "NULL dereference is reported as such" says null err "page fault (#PF) at rip 0x"
tap_check "NULL dereference names address 0" says null err "reading address 0x0 (NULL pointer)"
tap_check "a write outside memory is a page fault" run wild 201 "$GUESTS/crash.proc" write
tap_check "the wild write names its address" says wild err "writing address 0x2200000"
tap_check "ud2 ends the guest with status 201" run ud 201 "$GUESTS/crash.proc" ud
tap_check "ud2 is reported as an invalid opcode" says ud err "invalid opcode (#UD)"
tap_check "division by zero ends the guest with status 201" run div 201 "$GUESTS/crash.proc" div
tap_check "division by zero is reported" says div err "divide error (#DE)"
tap_check "rt_abort ends the guest with status 200" run abort 200 "$GUESTS/crash.proc" abort
tap_check "rt_abort reports file, line and message" says abort err "guest aborted at unikernel-rt/examples/crash.c:"
tap_check "RT_ASSERT reports the failed expression" run assert 200 "$GUESTS/crash.proc" assert
tap_check "RT_ASSERT's message" says assert err "assertion failed: argc == 42"

tap_check "spin reports its work and ends after its duration" run spin 0 "$GUESTS/spin.proc" 100 200 350
tap_check "spin's report" says spin out "spin: done work="
tap_check "rtcheck's runtime checks pass" run rtcheck 0 "$GUESTS/rtcheck.proc"

tap_check "a missing image is refused with status 203" run missing 203 "$tmp/nope.proc"
tap_check "a missing image is named" says missing err "cannot open image $tmp/nope.proc"
tap_check "a KVM image is refused with status 203" run kvm 203 "$GUESTS/hello.kvm"
tap_check "the refusal names both platforms" says kvm err "image was built for the kvm platform, not proc"
tap_check "an odd memory size is a usage error" run mem3 205 --mem 3 "$GUESTS/hello.proc"
tap_check "an event port out of range is a usage error" run port99 205 --evtchn 99:-1:-1 "$GUESTS/hello.proc"
tap_check "a descriptor that is not open fails set-up" run badfd 204 --evtchn 1:77:78 "$GUESTS/hello.proc"
tap_check "--no-jail runs the guest with neither jail nor filter" run nojail 0 --no-jail "$GUESTS/hello.proc"
tap_check "and says so on stderr, every time" says nojail err "no jail and no syscall filter (--no-jail: for profiling only)"
tap_check "--no-jail is refused to a warm tender (status 205)" run nojailwarm 205 --no-jail --control-fd 3
tap_check "the refusal says why" says nojailwarm err "a warm tender is always jailed"
# Not in a sanitized build (vmm/local.mk): scripts/test.sh names the plain one.
VG=$top_builddir/vmm/shoal-proc-vg
[ -x "$VG" ] || VG=${SHOAL_PLAIN_BUILDDIR:-$top_builddir}/vmm/shoal-proc-vg
if command -v valgrind >/dev/null 2>&1 && [ -x "$VG" ]; then
	run_vg() {
		valgrind -q --tool=none "$VG" "$@" >"$tmp/valgrind.out" 2>"$tmp/valgrind.err" && return 0
		tap_diag "valgrind: exit status $?" "stdout: $(cat "$tmp/valgrind.out")" \
			"stderr: $(cat "$tmp/valgrind.err")"
		return 1
	}
	tap_check "shoal-proc-vg --no-jail runs a guest under valgrind (bench/net.sh's callgrind)" \
		run_vg --no-jail "$GUESTS/hello.proc" vg
	tap_check "... which runs as it does alone" says valgrind out "hello from hello: vg"
else
	tap_skip "shoal-proc-vg --no-jail runs a guest under valgrind" "valgrind is not installed (Debian: valgrind) or $VG was not built"
	tap_skip "... which runs as it does alone" "valgrind is not installed or $VG was not built"
fi
big=$(head -c 70000 /dev/zero | tr '\0' a)
tap_check "arguments over 64 KiB are refused" run bigargs 205 "$GUESTS/hello.proc" "$big"
tap_check "the refusal says why" says bigargs err "arguments are longer than 65536 bytes"

# Disks are the files themselves, read and written with pread and pwrite.
head -c 1048576 /dev/urandom >"$tmp/www.img"
head -c 524288 /dev/zero >"$tmp/data.img"
tap_check "the guest lists its disks" \
	run list 0 --disk www:"$tmp/www.img":ro --disk data:"$tmp/data.img" "$GUESTS/blkcheck.proc" list
tap_check "with their sizes and modes" says list out "blkcheck: disk www 2048 sectors ro"
tap_check "the guest reads the whole disk" run sum 0 --disk www:"$tmp/www.img":ro "$GUESTS/blkcheck.proc" sum www
tap_check "through an unaligned buffer too" run sumodd 0 --disk www:"$tmp/www.img":ro "$GUESTS/blkcheck.proc" sum www odd
want=$(python3 "$top_srcdir/tests/lib/fnv.py" "$tmp/www.img" 2>/dev/null)
if [ -n "$want" ]; then
	tap_check "what it read is the file's bytes (FNV-1a $want)" says sum out "fnv $want"
	tap_check "... and through the unaligned buffer" says sumodd out "fnv $want"
else
	tap_skip "what it read is the file's bytes" "python3 is not installed"
	tap_skip "... and through the unaligned buffer" "python3 is not installed"
fi
tap_check "it writes, flushes and reads back" \
	run write 0 --disk data:"$tmp/data.img" "$GUESTS/blkcheck.proc" write data 100 300 7
tap_check "what it wrote is on the file (a read-only run verifies it)" \
	run verify 0 --disk data:"$tmp/data.img":ro "$GUESTS/blkcheck.proc" verify data 100 300 7
tap_check "a write to a read-only disk is refused" \
	run rowrite 0 --disk www:"$tmp/www.img":ro "$GUESTS/blkcheck.proc" rowrite www
tap_check "a disk that is not whole sectors is a usage error" \
	run oddsize 205 --disk bad:"$top_srcdir/README.md" "$GUESTS/blkcheck.proc" list

# The hostile guest: each way out ends it with a bad system call, named.
for how in open:openat socket:socket exec:execve kill:kill mmap-exec:mmap \
	mprotect-exec:mprotect fork:fork ptrace:ptrace; do
	v=${how%%:*} call=${how#*:}
	tap_check "escape $v is stopped with status 202" run "escape-$v" 202 "$GUESTS/escape.proc" $v
	tap_check "escape $v: the report names $call" says "escape-$v" err "($call)"
	tap_check "escape $v: the call never returned" test -z "$(grep 'was not stopped' "$tmp/escape-$v.out")"
done

size_before=$(stat -c %s "$tmp/data.img")
tap_check "escape grow: a write far past a writable disk's end is refused" \
	run escape-grow 0 --disk data:"$tmp/data.img" "$GUESTS/escape.proc" grow
tap_check "escape grow: the disk file kept its size" test "$(stat -c %s "$tmp/data.img")" = "$size_before"

# The jail of a running guest.
"$PROC" "$GUESTS/idle.proc" >"$tmp/idle.out" 2>"$tmp/idle.err" 3</dev/null &
pid=$!
sleep 0.3
status=$(cat "/proc/$pid/status" 2>/dev/null)
fds=$(ls "/proc/$pid/fd" 2>/dev/null | sort -n | tr '\n' ' ')
limits=$(cat "/proc/$pid/limits" 2>/dev/null)
mntns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)
root=$(ls -A "/proc/$pid/root/" 2>&1 | tr '\n' ' ')
kill $pid 2>/dev/null
wait $pid 2>/dev/null
tap_check "a running guest is under a seccomp filter (mode 2)" test "$(echo "$status" | awk '/^Seccomp:/ { print $2 }')" = 2
tap_check "it has no capabilities" test "$(echo "$status" | awk '/^CapEff:/ { print $2 }')" = 0000000000000000
tap_check "it cannot gain privileges (no_new_privs)" test "$(echo "$status" | awk '/^NoNewPrivs:/ { print $2 }')" = 1
if [ "$(id -u)" = 0 ]; then
	tap_check "started by root, it runs as nobody" test "$(echo "$status" | awk '/^Uid:/ { print $2 }')" = 65534
	tap_check "... in group nogroup" test "$(echo "$status" | awk '/^Gid:/ { print $2 }')" = 65534
	tap_check "it is in a mount namespace of its own" test -n "$mntns" -a "$(readlink /proc/$$/ns/mnt)" != "$mntns"
	tap_check "its root is empty (holds: $root)" test -z "$root"
else
	tap_skip "the guest runs as nobody" "the test does not run as root"
fi
tap_check "it holds only its console and report descriptors (holds: $fds)" test "$fds" = "1 2 "
limit() { echo "$limits" | awk -v n="$1" 'index($0, n) == 1 { print $(NF - 2) }'; }
tap_check "no core files" test "$(limit 'Max core file size')" = 0
tap_check "no new address space" test "$(limit 'Max address space')" = 0
tap_check "no processes" test "$(limit 'Max processes')" = 0
tap_check "no descriptors past its own" test "$(limit 'Max open files')" = 3
tap_check "idle reports itself up" says idle out "idle: idle up, probe not wired"
tap_done
