#!/bin/sh
# The FAT reader over a real disk, inside a KVM guest: a tree of files
# (long and non-ASCII names, directories several deep, a file of many
# clusters) copied into FAT12, FAT16 and FAT32 images with mkfs.fat and
# mcopy (nothing is mounted), walked by the fatcat guest through its
# block device; every file's size and FNV-1a hash must match the host's.
# Corrupt images end the guest with the reader's sentence, never a fault.
. "$top_srcdir/tests/tap.sh"
tap_require_kvm
for t in mkfs.fat mcopy python3; do
	command -v $t >/dev/null 2>&1 && continue
	"$top_srcdir/scripts/deps.sh" dosfstools mtools >/dev/null 2>&1
	command -v $t >/dev/null 2>&1 || tap_skip_all "$t is not installed (Debian: dosfstools, mtools, python3)"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8

# The site: small files (the guest hashes at emulated speed).
site=$tmp/site
mkdir -p "$site/papers/2024/q3" "$site/media/photos" "$site/empty"
head -c 5000 /dev/urandom >"$site/index.html"
head -c 70001 /dev/urandom >"$site/papers/2024/A long name, with spaces.pdf"
head -c 1 /dev/urandom >"$site/papers/2024/q3/one byte"
printf 'hi\n' >"$site/media/café.txt"
printf 'κόσμε\n' >"$site/media/photos/Ωmega.txt"
: >"$site/media/zero"
i=0
while [ $i -lt 40 ]; do
	printf '%s\n' "$i" >"$site/media/photos/photo-$i-with-a-long-name.jpg"
	i=$((i + 1))
done

# What the guest must print, from the host's files.
python3 "$top_srcdir/tests/lib/fnv.py" -t "$site" >"$tmp/want.sorted"

make_image() { # FILE FAT-TYPE SECTORS(1 KiB blocks)
	rm -f "$1"
	mkfs.fat -C -F "$2" "$1" "$3" >/dev/null 2>&1 &&
		mcopy -s -i "$1" "$site"/* ::/ 2>"$tmp/mcopy.err"
}

for fat in 12 16 32; do
	case $fat in 12) kib=4096 ;; 16) kib=20480 ;; 32) kib=40960 ;; esac
	img=$tmp/fat$fat.img
	if ! make_image "$img" $fat $kib; then
		tap_not_ok "FAT$fat: mkfs.fat and mcopy make the image ($(cat "$tmp/mcopy.err"))"
		continue
	fi
	"$VMM" --mem 16 --disk www:"$img":ro "$GUESTS/fatcat.kvm" tree www >"$tmp/out$fat" 2>"$tmp/err$fat"
	rc=$?
	tap_check "FAT$fat: the guest walks the whole tree (exit $rc)" sh -c "[ $rc -eq 0 ] && grep -q 'fatcat: ok FAT$fat' '$tmp/out$fat'"
	sed -n 's/^fatcat: \(file\|dir\) /\1 /p' "$tmp/out$fat" | sort >"$tmp/got$fat"
	if cmp -s "$tmp/want.sorted" "$tmp/got$fat"; then
		tap_ok "FAT$fat: every file's size and bytes, and every directory, as on the host ($(wc -l <"$tmp/got$fat") entries)"
	else
		tap_not_ok "FAT$fat: every file's size and bytes, and every directory, as on the host"
		tap_diag "$(diff "$tmp/want.sorted" "$tmp/got$fat" | head -10)" "stderr: $(cat "$tmp/err$fat")"
	fi
done

"$VMM" --disk www:"$tmp/fat16.img":ro "$GUESTS/fatcat.kvm" cat www "/media/photos/Ωmega.txt" >"$tmp/cat" 2>&1
tap_check "a file by its non-ASCII long name, case-insensitively too" sh -c \
	"grep -q 'κόσμε' '$tmp/cat' && '$VMM' --disk www:'$tmp/fat16.img':ro '$GUESTS/fatcat.kvm' cat www /MEDIA/CAFÉ.TXT | grep -q '^hi$'"
"$VMM" --disk www:"$tmp/fat16.img":ro "$GUESTS/fatcat.kvm" cat www /nope.txt >"$tmp/nope" 2>&1
tap_check "a file that is not there is said so (exit $?)" grep -q "fatcat: /nope.txt:" "$tmp/nope"

# Corrupt images: the BPB, the FAT, a directory; exit 1 with a sentence.
corrupt() { # NAME PYTHON-PATCH
	cp "$tmp/fat16.img" "$tmp/bad-$1.img"
	python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); d = bytearray(f.read())
$2
f.seek(0); f.write(d)" "$tmp/bad-$1.img"
	"$VMM" --disk www:"$tmp/bad-$1.img":ro "$GUESTS/fatcat.kvm" tree www >"$tmp/bad-$1.out" 2>&1
}
corrupt bps 'd[11:13] = (513).to_bytes(2, "little")'
tap_check "bytes per sector 513: refused at mount, exit 1 ($?)" grep -q "bytes per sector 513" "$tmp/bad-bps.out"
corrupt zero 'd[0:512] = bytes(512)'
tap_check "a zeroed boot sector: refused at mount" sh -c "grep -q 'fatcat: disk www:' '$tmp/bad-zero.out' && ! grep -q 'guest fault' '$tmp/bad-zero.out'"
# The first FAT starts after the reserved sectors; point cluster 2's entry at itself (a loop).
corrupt loop '
rs = int.from_bytes(d[14:16], "little"); fat = rs * 512
for c in range(3, 4000):
    if int.from_bytes(d[fat + 2 * c:fat + 2 * c + 2], "little") not in (0, 0xffff, 0xfff8):
        d[fat + 2 * c:fat + 2 * c + 2] = c.to_bytes(2, "little"); break'
tap_check "a cluster chain that loops: a sentence, no fault" sh -c \
	"grep -q 'fatcat: corrupt' '$tmp/bad-loop.out' && ! grep -q 'guest fault' '$tmp/bad-loop.out'"
corrupt size '
import re, struct
i = re.search(rb"INDEX[ ~0-9A-Z]{3}HTM", d).start()
d[i + 28:i + 32] = struct.pack("<I", 0xfffffff0)'
tap_check "a file size past the disk: a sentence, no fault" sh -c \
	"grep -q 'fatcat: corrupt' '$tmp/bad-size.out' && ! grep -q 'guest fault' '$tmp/bad-size.out'"
tap_check "a disk that is not FAT at all" sh -c \
	"'$VMM' --disk www:'$tmp/fat16.img':ro --disk raw:'$tmp/bad-zero.img':ro '$GUESTS/fatcat.kvm' tree raw | grep -q 'fatcat: disk raw:'"
tap_done
