#!/bin/sh
# shoalctl site, end to end: site build of a generated tree with a small
# --disk-size makes several FAT images, read back with mtools (every file
# in exactly one image with its bytes, every directory there); bad input
# is refused by name; then site deploy against a real shoald with the
# fatcat guest standing in for the site guest (--image), one guest per
# disk since fatcat walks one, and a redeploy of a changed tree.
. "$top_srcdir/tests/tap.sh"
for t in mkfs.fat mcopy mdir python3; do
	command -v $t >/dev/null 2>&1 && continue
	"$top_srcdir/scripts/deps.sh" dosfstools mtools >/dev/null 2>&1
	command -v $t >/dev/null 2>&1 || tap_skip_all "$t is not installed (Debian: dosfstools, mtools, python3)"
done

tmp=$(mktemp -d /tmp/shoal-site-XXXXXX)
. "$top_srcdir/tests/lib/shoald.sh"
trap 'shoald_stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8
# where site deploy makes its temporary images, to see that it removes them
mkdir "$tmp/tmpdir"
export TMPDIR="$tmp/tmpdir"

# The site: small files (the guest hashes at emulated speed), long and
# non-ASCII names, names with spaces, an empty directory, a link inside.
site=$tmp/site
mkdir -p "$site/papers/2024" "$site/media/photos" "$site/empty/inner"
head -c 30000 /dev/urandom >"$site/index.html"
head -c 45000 /dev/urandom >"$site/papers/2024/A long name, with spaces.pdf"
printf 'hi\n' >"$site/media/café.txt"
printf 'κόσμε\n' >"$site/media/photos/Ωmega.txt"
: >"$site/media/zero"
i=0
while [ $i -lt 12 ]; do
	head -c $((i * 1500)) /dev/urandom >"$site/media/photos/photo $i with a long name.jpg"
	i=$((i + 1))
done
ln -s ../index.html "$site/media/home.html"

# ---- site build ----
tap_check "site build splits the tree across images of 100K" run build 0 site build "$site" -o "$tmp/out" --disk-size 100K
n=$(ls "$tmp/out" | grep -c '^site[0-9]*\.img$')
tap_check "into 2 or 3 images ($n)" sh -c "[ $n -ge 2 ] && [ $n -le 3 ]"
tap_check "it prints each image with its files and bytes" says build out "$tmp/out/site1.img"
big=$(ls -l "$tmp/out"/site*.img | awk '$5 > 102400' | wc -l)
tap_check "no image over 100K" test "$big" -eq 0

# Every image read back with mcopy into a folder of its own.
mkdir "$tmp/back"
for img in "$tmp/out"/site*.img; do
	d=$tmp/back/$(basename "$img" .img)
	mkdir "$d" && mcopy -s -n -m -i "$img" '::/*' "$d/" 2>>"$tmp/mcopy.err"
done
# Each file of the site in exactly one image, with its bytes; each image's
# directories those its files need (and the empty ones, in one image).
# mtools reads back a short name with a lower-case non-ASCII letter in
# upper case (the guest reads it right): names are compared folded.
python3 - "$site" "$tmp/back" >"$tmp/check" 2>&1 <<'PY'
import hashlib, os, sys
site, back = sys.argv[1], sys.argv[2]
def tree(root):
    files, dirs = {}, set()
    for d, ds, fs in os.walk(root):
        for n in ds:
            dirs.add(os.path.relpath(os.path.join(d, n), root).upper())
        for n in fs:
            p = os.path.join(d, n)
            files[os.path.relpath(p, root).upper()] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return files, dirs
want, want_dirs = tree(site)
# the directories with no file under them, and those up from them: one image holds them
empty_side = set()
for d in want_dirs:
    if not any(f.startswith(d + "/") for f in want):
        parts = d.split("/")
        empty_side.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
seen, bad = {}, []
for img in sorted(os.listdir(back)):
    files, dirs = tree(os.path.join(back, img))
    for f, h in files.items():
        if f in seen:
            bad.append("%s in %s and %s" % (f, seen[f], img))
        seen[f] = img
        if want.get(f) != h:
            bad.append("%s in %s: not the site's bytes" % (f, img))
    need = set()
    for f in files:
        parts = f.split("/")[:-1]
        need.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    extra = dirs - need - empty_side
    if extra:
        bad.append("%s holds directories none of its files needs: %s" % (img, sorted(extra)))
    if need - dirs:
        bad.append("%s lacks %s" % (img, sorted(need - dirs)))
    want_dirs -= dirs
missing = set(want) - set(seen)
if missing:
    bad.append("in no image: %s" % sorted(missing))
if want_dirs:
    bad.append("directories in no image: %s" % sorted(want_dirs))
print("\n".join(bad) if bad else "%d files, each once" % len(seen))
sys.exit(1 if bad else 0)
PY
tap_check "every file in exactly one image with its exact bytes, every directory there ($(tail -1 "$tmp/check"))" test $? -eq 0
[ -s "$tmp/mcopy.err" ] && tap_diag "mcopy: $(cat "$tmp/mcopy.err")"

tap_check "a second build, into one image, removes the images of the first" run build1 0 site build "$site" -o "$tmp/out"
tap_check "(only site0.img is left)" test "$(ls "$tmp/out")" = site0.img

# ---- bad input ----
tap_check "a missing DIR is refused (exit 2)" run nodir 2 site build "$tmp/nope" -o "$tmp/o"
tap_check "and named" says nodir err "$tmp/nope: No such file or directory"
mkdir -p "$tmp/huge/media" && printf 'x\n' >"$tmp/huge/index.html" && head -c 100000 /dev/zero >"$tmp/huge/media/film.mp4"
tap_check "a file larger than an image is refused (exit 2)" run huge 2 site build "$tmp/huge" -o "$tmp/o" --disk-size 64K
tap_check "and named" says huge err "huge/media/film.mp4: 100000 bytes"
mkdir "$tmp/escape" && printf 'x\n' >"$tmp/escape/a.html" && ln -s /etc/passwd "$tmp/escape/passwd"
tap_check "a symbolic link out of DIR is refused (exit 2)" run escape 2 site build "$tmp/escape" -o "$tmp/o"
tap_check "and named" says escape err "escape/passwd: a symbolic link that leaves"
mkdir "$tmp/badname" && printf 'x\n' >"$tmp/badname/a:b.html"
tap_check "a name FAT cannot hold is refused, saying why" run badname 2 site build "$tmp/badname" -o "$tmp/o"
tap_check "(its character)" says badname err "holds ':'"
mkdir "$tmp/empty"
tap_check "an empty DIR is refused" run emptydir 2 site build "$tmp/empty" -o "$tmp/o"
tap_check "nothing was made for them" test ! -e "$tmp/o"
mkdir "$tmp/bin" && ln -s "$(command -v mcopy)" "$tmp/bin/mcopy" && ln -s "$(command -v mmd)" "$tmp/bin/mmd"
PATH=$tmp/bin "$CTL" site build "$site" -o "$tmp/o" >/dev/null 2>"$tmp/nomkfs.err"
tap_check "without mkfs.fat, the package to install is named (exit $?)" grep -q "mkfs.fat is not installed.*dosfstools" "$tmp/nomkfs.err"

# ---- site deploy against a real shoald ----
if ! tap_have_kvm; then
	tap_skip "site deploy" "/dev/kvm is missing or not readable and writable by $(id -un) (or SHOAL_TEST_NO_KVM is set)"
	tap_done
	exit 0
fi
if ! shoald_start; then
	tap_not_ok "shoald starts"
	tap_diag "$(tail -20 "$tmp/shoald.log")"
	tap_done
	exit 0
fi
tap_ok "shoald starts"

SHOAL_GUESTS=$tmp/nothing-here run noguest 2 site deploy web "$site"
tap_check "site deploy without a site guest says where it looked (exit 2)" says noguest err "$tmp/nothing-here/site.kvm"

console_has() { # GUEST TEXT, up to 30 s
	for i in $(seq 300); do
		"$CTL" --socket "$SOCK" console "$1" 2>/dev/null | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	tap_diag "$1's console lacks \"$2\": $("$CTL" --socket "$SOCK" console "$1" 2>&1 | tail -5)"
	return 1
}

# fatcat walks one disk: a guest per disk, each walking its own.
k=0
: >"$tmp/got"
while [ $k -lt "$n" ]; do
	run deploy$k 0 site deploy "web-$k" "$site" --disk-size 100K --image "$GUESTS/fatcat.kvm" \
		--memory 16 --arg tree --arg site$k --no-wait
	tap_check "site deploy web-$k ($n disks, fatcat walking site$k)" says deploy$k out "web-$k deploy accepted"
	if console_has "web-$k" "fatcat: ok FAT"; then
		"$CTL" --socket "$SOCK" console "web-$k" | sed -n 's/^fatcat: \(file\|dir\) /\1 /p' >>"$tmp/got"
	fi
	k=$((k + 1))
done
tap_check "it lists the disks site0..site$((n - 1)) with their files" says deploy0 out "site$((n - 1))"
grep '^file ' "$tmp/got" | sort >"$tmp/got.files"
grep '^dir ' "$tmp/got" | sort -u >"$tmp/got.dirs"
python3 "$top_srcdir/tests/lib/fnv.py" -t "$site" >"$tmp/want"
grep '^file ' "$tmp/want" >"$tmp/want.files"
grep '^dir ' "$tmp/want" >"$tmp/want.dirs"
if cmp -s "$tmp/want.files" "$tmp/got.files"; then
	tap_ok "the guests' consoles show every file once, with its size and bytes ($(wc -l <"$tmp/got.files"))"
else
	tap_not_ok "the guests' consoles show every file once, with its size and bytes"
	tap_diag "$(diff "$tmp/want.files" "$tmp/got.files" | head -10)"
fi
tap_check "and every directory" cmp -s "$tmp/want.dirs" "$tmp/got.dirs"
tap_check "the disks are read-only" sh -c "'$CTL' --socket '$SOCK' show --json web-0 | grep -q '\"readonly\": *true'"

# A changed site deployed again: the guest is updated.
printf 'new page\n' >"$site/new.html"
run redeploy 0 site deploy web-0 "$site" --image "$GUESTS/fatcat.kvm" --memory 16 --arg tree --arg site0 --no-wait
tap_check "site deploy of a changed tree updates the guest" says redeploy out "web-0 deploy accepted"
tap_check "which serves the new file" console_has web-0 "fatcat: file /new.html 9 "
tap_check "no temporary images are left" test -z "$(ls "$TMPDIR")"

# The site guest itself, found in $SHOAL_GUESTS, when it is built.
if [ -f "$GUESTS/site.kvm" ]; then
	SHOAL_GUESTS=$GUESTS run siteguest 0 site deploy site "$site" --memory 32
	tap_check "site deploy with the site guest from \$SHOAL_GUESTS" says siteguest out "site deployed"
else
	tap_skip "site deploy with the site guest from \$SHOAL_GUESTS" "site.kvm is not built here"
fi

# A refusal from shoald is shown with its reason.
run refused 1 site deploy web-0 "$site" --image "$GUESTS/fatcat.kvm" --memory 3
tap_check "shoald's refusal is shown with its reason (exit 1)" says refused err "memory_mib"
tap_done
