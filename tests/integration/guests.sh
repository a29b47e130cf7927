#!/bin/sh
# Example guests booted on /dev/kvm through shoal-vmm: output, exit codes,
# and how bad hypercalls and guest faults are reported.
. "$top_srcdir/tests/tap.sh"
tap_require_kvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { tap_vmm "$@"; }
says() { tap_said "$@"; }

tap_check "hello boots and exits 0" run hello 0 "$GUESTS/hello.kvm" one two "three four"
tap_check "hello prints its name and arguments" says hello out "hello from hello: one two three four"
tap_check "hello says nothing on stderr" test ! -s "$tmp/hello.err"
tap_check "hello runs in the smallest memory (2 MiB)" run hello2 0 --mem 2 "$GUESTS/hello.kvm"
tap_check "--name names the guest" run named 0 --name web-1 "$GUESTS/hello.kvm" x
tap_check "the guest sees its name as argv[0]" says named out "hello from web-1: x"
tap_check "the guest's exit code is the tender's status" run exit7 7 "$GUESTS/crash.kvm" exit 7
tap_check "exit codes above 199 are clamped to 199" run exit250 199 "$GUESTS/crash.kvm" exit 250

for v in ptr len arg count nr; do
	tap_check "badcall $v is stopped with status 202" run "bad-$v" 202 "$GUESTS/badcall.kvm" $v
done
tap_check "badcall ptr: message names the bad address" says bad-ptr err "iov[0] buffer 0xdeadbeef000 (+1 bytes) is outside guest memory"
tap_check "badcall len: message names the length" says bad-len err "iov[0] length 1099511627776 takes the write over 65536 bytes"
tap_check "badcall arg: message names the argument address" says bad-arg err "argument struct at 0xfffff000 (+16 bytes) is outside guest memory"
tap_check "badcall count: message names the count" says bad-count err "iovcnt 65 is more than 64 pieces"
tap_check "badcall nr: message names the number" says bad-nr err "number 77 does not exist"
tap_check "badcall's output before the bad call is kept" says bad-ptr out "badcall: ptr"

tap_check "NULL dereference ends the guest with status 201" run null 201 "$GUESTS/crash.kvm" null
tap_check "NULL dereference is reported as such" says null err "page fault (#PF) at rip 0x"
tap_check "NULL dereference names address 0" says null err "reading address 0x0 (NULL pointer)"
tap_check "a write outside memory is a page fault" run wild 201 "$GUESTS/crash.kvm" write
tap_check "the wild write names its address" says wild err "writing address 0x2200000"
tap_check "ud2 ends the guest with status 201" run ud 201 "$GUESTS/crash.kvm" ud
tap_check "ud2 is reported as an invalid opcode" says ud err "invalid opcode (#UD)"
tap_check "division by zero ends the guest with status 201" run div 201 "$GUESTS/crash.kvm" div
tap_check "division by zero is reported" says div err "divide error (#DE)"
tap_check "rt_abort ends the guest with status 200" run abort 200 "$GUESTS/crash.kvm" abort
tap_check "rt_abort reports file, line and message" says abort err "guest aborted at unikernel-rt/examples/crash.c:"
tap_check "RT_ASSERT reports the failed expression" run assert 200 "$GUESTS/crash.kvm" assert
tap_check "RT_ASSERT's message" says assert err "assertion failed: argc == 42"

tap_check "spin reports its work and ends after its duration" run spin 0 "$GUESTS/spin.kvm" 100 200 350
tap_check "spin's report" says spin out "spin: done work="

tap_check "a missing image is refused with status 203" run missing 203 "$tmp/nope.kvm"
tap_check "a missing image is named" says missing err "cannot open image $tmp/nope.kvm"
tap_check "an odd memory size is a usage error" run mem3 205 --mem 3 "$GUESTS/hello.kvm"
tap_check "memory below 2 MiB is a usage error" run mem-small 205 --mem 1 "$GUESTS/hello.kvm"
tap_check "an event port out of range is a usage error" run port99 205 --evtchn 99:-1:-1 "$GUESTS/hello.kvm"
tap_check "a bad descriptor for an event port fails set-up" run badfd 204 --evtchn 1:77:78 "$GUESTS/hello.kvm"
tap_check "the set-up failure names the port" says badfd err "event port 1: KVM_IRQFD on fd 77"

big=$(head -c 70000 /dev/zero | tr '\0' a)
tap_check "arguments over 64 KiB are refused" run bigargs 205 "$GUESTS/hello.kvm" "$big"
tap_check "the refusal says why" says bigargs err "arguments are longer than 65536 bytes"

# The tender confines itself once the guest runs.
"$VMM" "$GUESTS/idle.kvm" >"$tmp/idle.out" 2>&1 &
pid=$!
sleep 0.5
seccomp=$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
kill $pid 2>/dev/null
wait $pid 2>/dev/null
tap_check "a running tender is under a seccomp filter (mode 2)" test "$seccomp" = 2
tap_check "idle reports itself up" says idle out "idle: idle up, probe not wired"
tap_done
