#!/bin/sh
# Block devices on KVM, end to end through shoal-vmm: the device table in
# the boot info, the runtime's blkif front-end and the tender's back-end
# and I/O thread.  A disk's bytes as the guest reads them (its FNV-1a hash
# beside the host's, through aligned and unaligned buffers), a pattern
# written, flushed and read back by a second run, a read-only disk that
# refuses writes in the guest and in the tender, and the hostile ring
# entries of badring: each answered with an error status, or the guest
# ended with the reason, never the tender by a crash.
. "$top_srcdir/tests/tap.sh"
tap_require_kvm
command -v python3 >/dev/null || tap_skip_all "python3 is not installed (it hashes the disks on the host)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { tap_vmm "$@"; }
says() { tap_said "$@"; }
fnv() { python3 "$top_srcdir/tests/lib/fnv.py" "$1"; }

# 192 KiB of random bytes, read-only; 1 MiB of zeros, writable.
head -c 196608 /dev/urandom >"$tmp/www.img"
truncate -s 1M "$tmp/data.img"
head -c 1000 /dev/urandom >"$tmp/odd.img"

tap_check "a guest sees its disks in the device table" \
	run list 0 --disk www:"$tmp/www.img":ro --disk data:"$tmp/data.img" "$GUESTS/blkcheck.kvm" list
tap_check "by name, size and mode" sh -c "grep -q 'disk www 384 sectors ro' '$tmp/list.out' &&
	grep -q 'disk data 2048 sectors rw' '$tmp/list.out'"
tap_check "a guest with no disk has none" run none 0 "$GUESTS/blkcheck.kvm" list
tap_check "and says so" says none out "ok 0 disks"

www_fnv=$(fnv "$tmp/www.img")
tap_check "the guest reads the whole disk" run sum 0 --disk www:"$tmp/www.img":ro "$GUESTS/blkcheck.kvm" sum www
tap_check "with the bytes the host has (fnv $www_fnv)" says sum out "fnv $www_fnv"
tap_check "through an unaligned buffer too (bounce pages)" \
	run sumodd 0 --disk www:"$tmp/www.img":ro "$GUESTS/blkcheck.kvm" sum www odd
tap_check "with the same bytes" says sumodd out "fnv $www_fnv"

tap_check "a written pattern reads back in the same run" \
	run write 0 --disk data:"$tmp/data.img" "$GUESTS/blkcheck.kvm" write data 100 300 7
tap_check "and in the next run (it is on the file)" \
	run verify 0 --disk data:"$tmp/data.img":ro "$GUESTS/blkcheck.kvm" verify data 100 300 7
tap_check "the host sees it where it was written, and nothing else changed" python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
def pat(seed, i):
    x = ((seed + i // 8) * 0x9e3779b97f4a7c15) & 0xffffffffffffffff
    return (x >> (8 * (i % 8))) & 0xff
ok = all(d[100 * 512 + i] == pat(7, i) for i in range(300 * 512))
sys.exit(0 if ok and d[:100 * 512] == bytes(100 * 512) and d[400 * 512:] == bytes(len(d) - 400 * 512) else 1)' \
	"$tmp/data.img"
tap_check "another pattern does not verify" \
	run wrong 1 --disk data:"$tmp/data.img":ro "$GUESTS/blkcheck.kvm" verify data 100 300 8
tap_check "a write to a read-only disk is refused in the guest" \
	run rowrite 0 --disk www:"$tmp/www.img":ro "$GUESTS/blkcheck.kvm" rowrite www

tap_check "hostile requests: each gets an error status, the disk goes on" \
	run requests 0 --disk www:"$tmp/www.img":ro "$GUESTS/badring.kvm" requests www
for c in "a frame past guest memory" "frame 0xffffffff" "a sector past the disk" \
	"a run that ends past the disk" "a sector number that wraps" "no segments" "12 segments" \
	"255 segments" "first sector after the last" "a last sector past the page" \
	"a write to a read-only disk"; do
	tap_check "  $c: refused" says requests out "badring: $c: status -1"
done
for c in "an operation that does not exist" "an indirect request"; do
	tap_check "  $c: not supported" says requests out "badring: $c: status -2"
done
tap_check "  and a good read after them works" says requests out "badring: a good read after all that: status 0"
tap_check "the read-only disk's file is unchanged" test "$(fnv "$tmp/www.img")" = "$www_fnv"
tap_check "hostile connects: each refused with its status" \
	run connect 0 --disk www:"$tmp/www.img" "$GUESTS/badring.kvm" connect www
tap_check "a producer far ahead of the ring ends the guest (202)" \
	run overrun 202 --disk www:"$tmp/www.img" "$GUESTS/badring.kvm" overrun www
tap_check "  with the reason" says overrun err "bad ring: disk www's request producer"
tap_check "a device hypercall outside memory ends the guest (202)" \
	run arg 202 --disk www:"$tmp/www.img" "$GUESTS/badring.kvm" arg
tap_check "  with the reason" says arg err "bad hypercall device: argument at 0xfffff000"

# An idle guest with two open disks: its tender's CPU over 2 s (the I/O
# thread blocks in epoll, the vCPU in HLT).
"$VMM" --disk www:"$tmp/www.img":ro --disk data:"$tmp/data.img" "$GUESTS/blkcheck.kvm" idle \
	>"$tmp/idle.out" 2>&1 &
idle=$!
for i in $(seq 50); do grep -q 'idle with 2 disks open' "$tmp/idle.out" && break; sleep 0.1; done
t0=$(awk '{print $14 + $15}' /proc/$idle/stat 2>/dev/null)
sleep 2
t1=$(awk '{print $14 + $15}' /proc/$idle/stat 2>/dev/null)
kill $idle 2>/dev/null
wait $idle 2>/dev/null
tap_check "an idle guest with two open disks costs no CPU (${t0:-?} -> ${t1:-?} ticks in 2 s)" \
	sh -c "[ -n '$t0' ] && [ -n '$t1' ] && [ \$(($t1 - $t0)) -le 2 ]"
tap_check "a disk that is not whole sectors is refused (205)" \
	run odd 205 --disk www:"$tmp/odd.img" "$GUESTS/hello.kvm"
tap_check "  naming it" says odd err "disk www is 1000 bytes, not a whole number of 512-byte sectors"
tap_check "a file that is not there is refused" run nofile 205 --disk www:"$tmp/nope.img" "$GUESTS/hello.kvm"
tap_check "  naming it" says nofile err "cannot open $tmp/nope.img"
tap_check "a bad name is refused" run badname 205 --disk ../x:"$tmp/www.img" "$GUESTS/hello.kvm"
tap_check "  naming it" says badname err "disk name \"../x\""
tap_check "two disks of one name are refused" \
	run twice 205 --disk a:"$tmp/www.img":ro --disk a:"$tmp/www.img":ro "$GUESTS/hello.kvm"
nine=
for i in 1 2 3 4 5 6 7 8 9; do nine="$nine --disk d$i:$tmp/www.img:ro"; done
# shellcheck disable=SC2086
tap_check "a ninth disk is refused" run nine 205 $nine "$GUESTS/hello.kvm"
tap_check "  saying how many may be" says nine err "more than 8 disks"
tap_check "a warm tender refuses disks" run warm 205 --disk www:"$tmp/www.img" --control-fd 0
tap_done
